//! Format detection: which format the first lines of a file are in, how sure, and why.
//!
//! Every built-in format and every format of the [`library`](crate::library) scores a sample
//! of the file: the share of its non-empty lines the format reads. The best score of at least
//! one half wins; equal scores go to the more specific format (access, JSON, logfmt, then the
//! library's by their number of columns, then syslog, whose header many formats carry).

use crate::access::{AccessLogParser, AccessOptions};
use crate::columns::BatchBuilder;
use crate::logfmt::looks_like_logfmt;
use crate::syslog::looks_like_syslog;
use crate::{FormatError, FormatKind, LineParser};

/// The outcome of sniffing a file's first lines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// The most likely format's family (`regex` for a library format).
    pub kind: FormatKind,
    /// The format's name: a built-in name or a library definition's; the table name of the
    /// files detected in it.
    pub name: &'static str,
    /// Share of the sampled non-empty lines that parse in that format, 0.0–1.0.
    pub confidence: f64,
}

/// How well one format reads a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The format's family (`regex` for a library format).
    pub kind: FormatKind,
    /// The format's name.
    pub name: &'static str,
    /// Sampled non-empty lines the format reads.
    pub matched: usize,
    /// Sampled non-empty lines.
    pub total: usize,
    /// The first sampled line (1-based, counting non-empty lines) the format does not read.
    pub first_miss: Option<usize>,
}

impl Score {
    /// `matched / total`.
    pub fn ratio(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.matched as f64 / self.total as f64 }
    }
}

/// Every format's score on `lines`, best first (ties: the order of the module doc).
pub fn rank_formats(lines: &[&str]) -> Result<Vec<Score>, FormatError> {
    rank(lines, true)
}

/// The scores of the built-in formats on `lines`, and of the library's when `with_library`,
/// best first.
fn rank(lines: &[&str], with_library: bool) -> Result<Vec<Score>, FormatError> {
    let lines: Vec<&str> = lines.iter().copied().filter(|l| !l.trim().is_empty()).collect();
    // Fields after the user agent are whatever the server was configured to write: not checked.
    let any_trailing = AccessOptions::with_trailing(Vec::new());
    let mut access = AccessLogParser::new(&any_trailing);
    let mut sink = BatchBuilder::new(&crate::access::access_columns(&any_trailing), &[], 1);
    // The parser lets a user name hold spaces; detection wants the plain `host ident user [`
    // head, so that layouts with a field before the client (Apache `vhost_combined`) are not
    // read as access logs with shifted fields.
    let clf_head = |l: &str| l.splitn(4, ' ').nth(3).is_some_and(|rest| rest.starts_with('['));
    let mut access_line = |l: &str| clf_head(l) && access.parse(l, &mut sink).is_ok();
    let json_line = |l: &str| {
        l.trim_start().starts_with('{') && serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(l).is_ok()
    };
    let score = |kind, name, reads: &mut dyn FnMut(&str) -> bool| {
        let mut matched = 0;
        let mut first_miss = None;
        for (i, l) in lines.iter().enumerate() {
            if reads(l) {
                matched += 1;
            } else if first_miss.is_none() {
                first_miss = Some(i + 1);
            }
        }
        Score { kind, name, matched, total: lines.len(), first_miss }
    };
    // Each score with how specific its format is: the built-ins above the library, whose
    // formats rank by their number of columns (a pattern with more fields says more about a
    // line), syslog last.
    // W3C: the directives, and lines with as many fields as the first `#Fields:` names.
    let w3c_fields = crate::w3c::fields_of(&lines).map(|f| f.len());
    let mut w3c_line = |l: &str| match w3c_fields {
        Some(n) => l.starts_with('#') || l.trim_end_matches('\r').split(' ').count() == n,
        None => false,
    };
    let mut scores = vec![
        (usize::MAX, score(FormatKind::Access, "access", &mut access_line)),
        (usize::MAX - 3, score(FormatKind::W3c, "w3c", &mut w3c_line)),
        (usize::MAX - 1, score(FormatKind::Json, "json", &mut { json_line })),
        (usize::MAX - 2, score(FormatKind::Logfmt, "logfmt", &mut looks_like_logfmt)),
    ];
    let library = if with_library { crate::library::library()? } else { Vec::new() };
    for format in library {
        let columns = format.regex.capture_names().flatten().count();
        // A format with multi-line records also reads the lines that continue a record it
        // started (the frames of a stack trace).
        // Compiled once, when the library loads: detection runs for every file.
        let rule = format.multiline.as_ref();
        let mut in_record = false;
        let mut reads = |l: &str| {
            in_record = format.regex.is_match(l) || (in_record && rule.is_some_and(|r| r.continues(l.as_bytes())));
            in_record
        };
        scores.push((columns, score(FormatKind::Regex, &format.definition.name, &mut reads)));
    }
    scores.push((0, score(FormatKind::Syslog, "syslog", &mut looks_like_syslog)));
    scores.sort_by_key(|(specific, s)| (std::cmp::Reverse(s.matched), std::cmp::Reverse(*specific)));
    Ok(scores.into_iter().map(|(_, s)| s).collect())
}

/// Detects the format of `lines` (a sample from the start of a file). Returns `None` when no
/// format reads at least half of the non-empty lines.
pub fn detect_format(lines: &[&str]) -> Result<Option<Detection>, FormatError> {
    // A built-in format ranked above the library (all but syslog) that reads every line
    // outranks every library format, whatever they score: the library, whose patterns take
    // tens of milliseconds to compile, is then not needed.
    let built_in = rank(lines, false)?;
    let complete =
        built_in.first().is_some_and(|s| s.kind != FormatKind::Syslog && s.total > 0 && s.matched == s.total);
    let scores = if complete { built_in } else { rank_formats(lines)? };
    Ok(scores.first().filter(|s| s.matched > 0 && s.ratio() >= 0.5).map(|best| Detection {
        kind: best.kind,
        name: best.name,
        confidence: best.ratio(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_builtin_format() {
        let access = r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "ua""#;
        let syslog = "Oct 11 22:14:15 host app[1]: hello";
        let json = r#"{"level":"info","msg":"x"}"#;
        let logfmt = "level=info msg=x n=1";
        for (line, kind) in [
            (access, FormatKind::Access),
            (syslog, FormatKind::Syslog),
            (json, FormatKind::Json),
            (logfmt, FormatKind::Logfmt),
        ] {
            let d = detect_format(&[line, line, "garbage"]).unwrap().unwrap();
            assert_eq!(d.kind, kind, "{line}");
            assert_eq!(d.name, kind.name());
            assert!((d.confidence - 2.0 / 3.0).abs() < 1e-9);
        }
        assert_eq!(detect_format(&["hello world", "no format here"]), Ok(None));
    }

    /// Stack frames continue the records of a Java or Python layout: a file of mostly frames
    /// is still that format, frames counted as read; without a record before them they are not.
    #[test]
    fn stack_traces_count_for_the_formats_with_multi_line_records() {
        let java = [
            "2026-10-01 12:00:01,000 ERROR [main] kafka.server.KafkaServer: Fatal error",
            "java.lang.IllegalStateException: boom",
            "\tat kafka.server.KafkaServer.startup(KafkaServer.scala:42)",
            "\tat kafka.Kafka$.main(Kafka.scala:109)",
            "Caused by: java.io.IOException: disk",
            "\t... 2 more",
            "2026-10-01 12:00:02,000 INFO [main] kafka.server.KafkaServer: started",
        ];
        let d = detect_format(&java).unwrap().unwrap();
        assert_eq!((d.name, d.confidence), ("log4j", 1.0));
        let python = [
            "2026-10-01 12:00:00,123 ERROR app.worker: failed",
            "Traceback (most recent call last):",
            "  File \"app.py\", line 3, in <module>",
            "    run()",
            "ValueError: bad value",
        ];
        assert_eq!(detect_format(&python).unwrap().unwrap().name, "python_logging");
        let orphans = ["\tat a.B.c(B.java:1)", "\tat a.B.d(B.java:2)", "2026-10-01 12:00:01,000 INFO [main] x.Y: ok"];
        assert_eq!(detect_format(&orphans).unwrap(), None, "frames with no record before them are not read");
    }

    /// Each library format's samples are detected as that format, and the built-in formats'
    /// as theirs.
    #[test]
    fn detects_every_library_format_by_its_samples() {
        for format in crate::library::library().unwrap() {
            let lines: Vec<&str> = format.definition.samples.iter().map(|s| s.line.as_str()).collect();
            let d = detect_format(&lines).unwrap().unwrap();
            assert_eq!(d.name, format.definition.name, "{lines:?} ranked {:?}", rank_formats(&lines).unwrap());
            assert_eq!(d.confidence, 1.0);
        }
    }

    /// Detection, which skips the library when a built-in format reads every line, picks what
    /// the whole ranking puts first, on samples of every format and mixes of them.
    #[test]
    fn detection_agrees_with_the_whole_ranking() {
        let built_in = [
            r#"1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "ua""#,
            "Oct 11 22:14:15 host app[1]: hello",
            r#"{"level":"info","msg":"x"}"#,
            "level=info msg=x n=1",
            "#Fields: date time cs-method",
        ];
        let mut samples: Vec<Vec<&str>> = built_in.iter().map(|l| vec![*l, *l]).collect();
        for format in crate::library::library().unwrap() {
            let lines: Vec<&str> = format.definition.samples.iter().map(|s| s.line.as_str()).collect();
            samples.push(lines.iter().copied().chain([built_in[0]]).collect());
            samples.push(lines);
        }
        // Syslog reads these lines too, but the library's CEF format says more about them.
        let cef = r"Oct  1 12:00:00 fw01 CEF:0|Vendor\|Inc|Firewall|7.2|block|Blocked connection|High|src=203.0.113.9 dpt=443";
        assert_eq!(detect_format(&[cef, cef]).unwrap().map(|d| d.name), Some("cef"));
        for lines in &samples {
            let ranking = rank_formats(lines).unwrap();
            let whole =
                ranking.first().filter(|s| s.matched > 0 && s.ratio() >= 0.5).map(|s| (s.kind, s.name, s.ratio()));
            let detected = detect_format(lines).unwrap().map(|d| (d.kind, d.name, d.confidence));
            assert_eq!(detected, whole, "{lines:?}");
        }
    }

    #[test]
    fn the_ranking_says_which_line_a_format_misses() {
        let lines = ["Oct 11 22:14:15 host app[1]: hello", "not syslog", "Oct 11 22:14:16 host app[1]: bye"];
        let ranking = rank_formats(&lines).unwrap();
        let syslog = &ranking[0];
        assert_eq!((syslog.name, syslog.matched, syslog.total, syslog.first_miss), ("syslog", 2, 3, Some(2)));
        assert!(ranking[1..].iter().all(|s| s.matched < 2));
    }
}
