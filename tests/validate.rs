//! `logfusion validate` over a corpus of broken inputs: every line accounted for, every problem
//! reported where it is, nothing panics, and log text cannot drive the terminal.

use std::path::Path;

use crate::common::{gzip, logfusion, query_csv, samples};
use serde_json::Value;

const GOOD: &str = r#"10.0.0.1 - - [01/Oct/2026:00:00:0S +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8" 0.001"#;

fn good(second: u32) -> String {
    GOOD.replace("0S", &format!("{second:02}"))
}

/// Writes the corpus into `dir`; returns the lines each text file holds.
fn corpus(dir: &Path) {
    let w = |name: &str, data: &[u8]| std::fs::write(dir.join(name), data).unwrap();
    let mut bad = format!("{}\nGET ", good(1)).into_bytes();
    bad.extend(b"\xff\xfe oops\n");
    bad.extend(format!("{}\n", good(2)).as_bytes());
    w("invalid_utf8.log", &bad);
    w("nul.log", format!("{}\nabc\0def\n", good(1)).as_bytes());
    w("long_line.log", format!("{}\n{} {}\n{}\n", good(1), good(2), "x".repeat(10 << 20), good(3)).as_bytes());
    w("crlf.log", format!("{}\r\n\r\n{}\r\n\r\n", good(1), good(2)).as_bytes());
    w("no_final_newline.log", format!("{}\n{}", good(1), good(2)).as_bytes());
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(good(1).encode_utf16().flat_map(|u| u.to_le_bytes()));
    w("utf16.log", &utf16);
    w("binary.bin", &(0..4096u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<_>>());
    w("empty.log", b"");
    std::os::unix::fs::symlink("/no/such/file.log", dir.join("unreadable.log")).unwrap();
    let many: String = (0..2000).map(|i| good(i % 60) + "\n").collect();
    let gz = gzip(many.as_bytes());
    w("truncated.log.gz", &gz[..gz.len() * 2 / 3]);
    let mut two = gzip(format!("{}\n{}\n", good(1), good(2)).as_bytes());
    two.extend(gzip(format!("{}\n", good(3)).as_bytes()));
    w("two_members.log.gz", &two);
    w("out_of_order.log", format!("{}\n{}\n{}\n{}\n", good(5), good(3), good(4), good(1)).as_bytes());
}

fn run_json(cwd: &Path, dir: &Path, extra: &[&str]) -> (i32, Value) {
    let out = logfusion(cwd)
        .args(["validate", "--json", "--format", "access", "--directory"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap(), serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}")))
}

fn file<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["files"].as_array().unwrap().iter().find(|f| f["file"].as_str().unwrap().ends_with(name)).unwrap()
}

#[test]
fn the_corpus_is_reported_file_by_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    corpus(&dir);
    let (code, r) = run_json(tmp.path(), &dir, &["--examples", "2"]);
    assert_eq!(code, 1, "broken corpus fails");

    let f = file(&r, "invalid_utf8.log");
    assert_eq!((f["lines"].as_u64(), f["rows"].as_u64()), (Some(3), Some(2)));
    assert_eq!(f["rejects_by_reason"]["invalid_utf8"], 1);
    assert_eq!(f["examples"][0]["line"], 2);
    assert_eq!(f["examples"][0]["excerpt"], "GET \\xFF\\xFE oops");

    let f = file(&r, "nul.log");
    assert_eq!((f["lines"].as_u64(), f["nul_lines"].as_u64(), f["rejects"].as_u64()), (Some(2), Some(1), Some(1)));
    assert_eq!(f["examples"][0]["excerpt"], "abc\\x00def");

    let f = file(&r, "long_line.log");
    assert_eq!((f["lines"].as_u64(), f["rows"].as_u64()), (Some(3), Some(2)));
    assert_eq!(f["rejects_by_reason"]["line_too_long"], 1);
    assert!(f["longest_line"].as_u64().unwrap() > 10 << 20);
    assert!(f["examples"][0]["excerpt"].as_str().unwrap().len() <= 4 * 200, "excerpt is capped");

    let f = file(&r, "crlf.log");
    assert_eq!((f["lines"].as_u64(), f["rows"].as_u64(), f["crlf_lines"].as_u64()), (Some(4), Some(2), Some(4)));
    assert_eq!(f["rejects_by_reason"]["empty_line"], 2);

    let f = file(&r, "no_final_newline.log");
    assert_eq!((f["lines"].as_u64(), f["rows"].as_u64()), (Some(2), Some(2)));
    assert_eq!(f["ends_without_newline"], true);

    let f = file(&r, "utf16.log");
    assert_eq!((f["lines"].as_u64(), f["rows"].as_u64()), (Some(1), Some(1)), "UTF-16 is transcoded: {f}");
    assert_eq!(f["compression"], "utf-16le");

    for (name, needle) in [("binary.bin", "not a text file"), ("empty.log", "empty"), ("unreadable.log", "unreadable")]
    {
        let f = file(&r, name);
        assert!(f["problem"].as_str().unwrap().contains(needle), "{name}: {f}");
        assert_eq!(f["lines"], 0);
    }

    let f = file(&r, "truncated.log.gz");
    assert!(f["read_error"].as_str().unwrap().contains("truncated.log.gz"), "{f}");
    let counted = f["lines"].as_u64().unwrap();
    assert!(counted > 100 && counted < 2000, "lines before the damage are counted: {counted}");
    assert_eq!(f["rows"].as_u64().unwrap() + f["rejects"].as_u64().unwrap(), counted);

    let f = file(&r, "two_members.log.gz");
    assert_eq!((f["lines"].as_u64(), f["rows"].as_u64(), f["compression"].as_str()), (Some(3), Some(3), Some("gzip")));

    let f = file(&r, "out_of_order.log");
    assert_eq!(f["ts_out_of_order"], 2);

    // Every line is accounted for, over the whole corpus.
    let files = r["files"].as_array().unwrap();
    for f in files {
        assert_eq!(f["rows"].as_u64().unwrap() + f["rejects"].as_u64().unwrap(), f["lines"].as_u64().unwrap(), "{f}");
    }
    assert_eq!(r["problem_files"], 2, "binary, unreadable (empty files are not problems)");
}

/// RFC 3164 lines have no year: a file written on 1 January 2027 holding lines of 31 December
/// and 1 January is in order only if December is taken as 2026.
#[test]
fn syslog_across_new_year_stays_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    let log = dir.join("messages");
    std::fs::write(
        &log,
        "<13>Dec 31 23:59:58 web-1 app[1]: last of the year\n<13>Jan  1 00:00:01 web-1 app[1]: first\n",
    )
    .unwrap();
    let touched = std::process::Command::new("touch").args(["-d", "2027-01-01T00:05:00Z"]).arg(&log).status().unwrap();
    assert!(touched.success());
    let out = logfusion(tmp.path())
        .args(["validate", "--json", "--format", "syslog", "--directory"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = file(&r, "messages");
    assert_eq!((f["lines"].as_u64(), f["rows"].as_u64(), f["ts_out_of_order"].as_u64()), (Some(2), Some(2), Some(0)));
    let years = crate::common::query_csv(
        tmp.path(),
        &["--log-dir", dir.to_str().unwrap(), "--format", "syslog"],
        "SELECT CAST(date_part('year', ts) AS INT) FROM syslog ORDER BY _line",
    );
    assert_eq!(years, [["2026".to_string()], ["2027".to_string()]]);
}

#[test]
fn exit_codes_follow_the_error_ratio() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a.log"), format!("{}\n{}\n{}\nbroken\n", good(1), good(2), good(3))).unwrap();
    assert_eq!(run_json(tmp.path(), &dir, &[]).0, 1);
    assert_eq!(run_json(tmp.path(), &dir, &["--max-error-ratio", "0.25"]).0, 0);
    assert_eq!(run_json(tmp.path(), &dir, &["--max-error-ratio", "0.2"]).0, 1);
    let usage = logfusion(tmp.path())
        .args(["validate", "--directory"])
        .arg(&dir)
        .args(["--max-error-ratio", "7"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let usage = logfusion(tmp.path()).args(["validate", "--bogus"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
    // Rejects go to NDJSON for quarantine.
    let out = tmp.path().join("rejects.ndjson");
    let run =
        logfusion(tmp.path()).args(["validate", "--directory"]).arg(&dir).arg("--rejects").arg(&out).output().unwrap();
    assert_eq!(run.status.code(), Some(1));
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0]["line"].as_u64(), rows[0]["reason"].as_str()), (Some(4), Some("bad_syntax")));
}

#[test]
fn log_text_cannot_drive_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("evil\x1b[31mname.log"), format!("{}\n", good(1))).unwrap();
    let bad_status = good(2).replace(" 200 ", " 2\x1b0 ");
    std::fs::write(dir.join("content.log"), format!("{}\n\x1b]0;pwned\x07 \x1b[2J\n{bad_status}\n", good(1))).unwrap();
    let out = logfusion(tmp.path()).args(["validate", "--format", "access", "--directory"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
    assert!(!text.contains(&0x1b) && !text.contains(&0x07), "raw control bytes reached the terminal");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("evil\\x1B[31mname.log"), "{shown}");
    assert!(shown.contains("cannot be addressed"), "{shown}");
    assert!(shown.contains("\\x1B]0;pwned\\x07"), "{shown}");
    // The reject's detail quotes the field escaped, and shows it escaped once.
    assert!(shown.contains(r#"bad_field: status "2\x1B0" is not a number"#), "{shown}");
}

#[test]
fn config_rules_are_checked_per_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let access = samples().join("access");
    let config = "rules:\n  access:\n    small_responses: \"bytes < 5000\"\n    get_only: \"method = 'GET'\"\n  nginx:\n    x: \"1 = 1\"\n";
    std::fs::write(dir.join("config.yaml"), config).unwrap();
    let out = logfusion(dir).args(["validate", "--json", "--directory"]).arg(&access).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rules.nginx: there is no table nginx"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The same counts by an independent query over the table.
    let expected = query_csv(
        dir,
        &["--log-dir", access.to_str().unwrap()],
        "SELECT _file, count(*) FILTER (WHERE bytes >= 5000), min(_line) FILTER (WHERE bytes >= 5000), \
         count(*) FILTER (WHERE method <> 'GET'), min(_line) FILTER (WHERE method <> 'GET') FROM access GROUP BY 1 ORDER BY 1",
    );
    assert_eq!(expected.len(), 2);
    for row in expected {
        let file = report["files"].as_array().unwrap().iter().find(|f| f["file"] == row[0].as_str()).unwrap();
        let rules = &file["rule_violations"];
        let got = [
            &rules["small_responses"]["count"],
            &rules["small_responses"]["first_line"],
            &rules["get_only"]["count"],
            &rules["get_only"]["first_line"],
        ]
        .map(|v| v.as_u64().unwrap().to_string());
        assert_eq!(got.as_slice(), &row[1..], "{}", row[0]);
    }
    for (condition, needle) in [("nosuchcol > 1", "No field named nosuchcol"), ("bytes + 1", "is not a condition")] {
        std::fs::write(dir.join("config.yaml"), format!("rules:\n  access:\n    bad: \"{condition}\"\n")).unwrap();
        let out = logfusion(dir).args(["validate", "--directory"]).arg(&access).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1));
        assert!(err.starts_with("error: rules.access.bad: ") && err.contains(needle), "{err}");
    }
}
