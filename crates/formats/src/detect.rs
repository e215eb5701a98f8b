//! Format detection: which built-in format the first lines of a file are in, and how sure.

use crate::access::{AccessLogParser, AccessOptions};
use crate::columns::BatchBuilder;
use crate::logfmt::looks_like_logfmt;
use crate::syslog::looks_like_syslog;
use crate::{FormatKind, LineParser};

/// The outcome of sniffing a file's first lines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// The most likely format.
    pub kind: FormatKind,
    /// Share of the sampled non-empty lines that parse in that format, 0.0–1.0.
    pub confidence: f64,
}

/// Detects the format of `lines` (a sample from the start of a file). Returns `None` when no
/// built-in format explains at least half of the non-empty lines.
pub fn detect_format(lines: &[&str]) -> Option<Detection> {
    let lines: Vec<&str> = lines.iter().copied().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return None;
    }
    let mut access = AccessLogParser::new(&AccessOptions::default());
    let mut sink = BatchBuilder::new(&crate::access::access_columns(&AccessOptions::default()), &[], 1);
    let mut counts =
        [(FormatKind::Access, 0usize), (FormatKind::Syslog, 0), (FormatKind::Json, 0), (FormatKind::Logfmt, 0)];
    for l in &lines {
        if access.parse(l, &mut sink).is_ok() {
            counts[0].1 += 1;
        }
        if looks_like_syslog(l) {
            counts[1].1 += 1;
        }
        if l.trim_start().starts_with('{')
            && serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(l).is_ok()
        {
            counts[2].1 += 1;
        }
        if looks_like_logfmt(l) {
            counts[3].1 += 1;
        }
    }
    // First maximum wins: the order above breaks ties towards the stricter format.
    let (kind, n) = counts.iter().copied().fold((FormatKind::Access, 0), |best, c| if c.1 > best.1 { c } else { best });
    let confidence = n as f64 / lines.len() as f64;
    (confidence >= 0.5).then_some(Detection { kind, confidence })
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
            let d = detect_format(&[line, line, "garbage"]).unwrap();
            assert_eq!(d.kind, kind, "{line}");
            assert!((d.confidence - 2.0 / 3.0).abs() < 1e-9);
        }
        assert_eq!(detect_format(&["hello world", "no format here"]), None);
    }
}
