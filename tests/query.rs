//! The `query`, `tables` and `formats` commands end to end, and the errors users can make.

use crate::common::{logfusion, query_csv, samples};

const STATUS_SQL: &str = "SELECT status, count(*) AS n FROM access GROUP BY status ORDER BY status";

#[test]
fn status_counts_on_the_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = samples();
    let rows = query_csv(tmp.path(), &["--log-dir", dir.to_str().unwrap()], STATUS_SQL);
    // Hand-checked against the sample files: 71 + 32 lines, 4 of them rejects.
    let expected = [["200", "89"], ["304", "5"], ["404", "4"], ["500", "1"]];
    assert_eq!(rows, expected.map(|r| r.map(String::from).to_vec()));
}

#[test]
fn results_do_not_depend_on_the_worker_count() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = samples();
    let sql =
        "SELECT status, method, count(*), sum(bytes), min(_line), max(_line) FROM access GROUP BY 1, 2 ORDER BY 1, 2";
    let one = query_csv(tmp.path(), &["--log-dir", dir.to_str().unwrap(), "--max-workers", "1"], sql);
    let two = query_csv(tmp.path(), &["--log-dir", dir.to_str().unwrap(), "--max-workers", "2"], sql);
    assert!(!one.is_empty());
    assert_eq!(one, two);
}

#[test]
fn tables_and_formats_list_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let out = logfusion(tmp.path()).args(["tables", "--log-dir"]).arg(samples()).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for table in ["access (detected format access, 2 files", "syslog (", "json (", "logfmt ("] {
        assert!(text.contains(table), "{table} missing in:\n{text}");
    }
    assert!(text.contains("access-old.log.gz (gzip"));
    let out = logfusion(tmp.path()).arg("formats").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in
        ["access:", "syslog:", "json:", "logfmt:", "regex:", "request_time", "structured_data", "bad_timestamp"]
    {
        assert!(text.contains(needle), "{needle} missing in:\n{text}");
    }
}

#[test]
fn output_formats_carry_the_same_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = samples();
    let sql = "SELECT status, count(*) AS n FROM access GROUP BY status ORDER BY status";
    let ndjson = logfusion(tmp.path())
        .args(["query", "--log-dir", dir.to_str().unwrap(), "--output", "ndjson", sql])
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> =
        String::from_utf8(ndjson.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["n"], 89);
    let parquet = tmp.path().join("out.parquet");
    let ok = logfusion(tmp.path())
        .args(["query", "--log-dir", dir.to_str().unwrap(), "--output", "parquet", "--out"])
        .arg(&parquet)
        .arg(sql)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let back = query_csv(
        tmp.path(),
        &["--log-dir", dir.to_str().unwrap()],
        &format!("SELECT sum(n) FROM '{}'", parquet.display()),
    );
    assert_eq!(back, [["99".to_string()]]);
}

/// Runs a failing command and returns its stderr, checking it is one `error:` line.
fn one_line_error(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "exit status of {cmd:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("note:") && !l.contains("WARN")).collect();
    assert_eq!(lines.len(), 1, "not one line: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    lines[0].to_string()
}

/// Runs a command with bad arguments and returns its stderr, checking the usage exit status.
fn usage_error(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "exit status of {cmd:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: ") && !err.contains("panicked"), "{err}");
    err
}

#[test]
fn user_mistakes_give_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = samples();
    let d = dir.to_str().unwrap();
    let e = one_line_error(logfusion(tmp.path()).args(["query", "--log-dir", "/no/such/dir", "SELECT 1"]));
    assert!(e.contains("/no/such/dir") && e.contains("No such file"), "{e}");
    let e = usage_error(logfusion(tmp.path()).args(["query", "--log-dir", d, "--format", "klingon", "SELECT 1"]));
    assert!(e.contains("klingon"), "{e}");
    std::fs::write(tmp.path().join("bad.yaml"), "max_wrokers: 2\n").unwrap();
    let e = one_line_error(logfusion(tmp.path()).args(["query", "--config", "bad.yaml", "--log-dir", d, "SELECT 1"]));
    assert!(e.contains("bad.yaml") && e.contains("max_wrokers"), "{e}");
    let e = one_line_error(logfusion(tmp.path()).args(["query", "--log-dir", d, "SELEC status FROM access"]));
    assert!(e.contains("SELEC"), "{e}");
    let e = one_line_error(logfusion(tmp.path()).args(["query", "--log-dir", d, "SELECT nope FROM access"]));
    assert!(e.contains("nope"), "{e}");
    let e = one_line_error(logfusion(tmp.path()).args(["query", "--config", "missing.yaml", "SELECT 1"]));
    assert!(e.contains("missing.yaml"), "{e}");
    let e = one_line_error(logfusion(tmp.path()).args(["query", "SELECT 1"]));
    assert!(e.contains("--log-dir"), "{e}");
    // An unreadable file: a dangling symlink is the one thing root cannot read.
    let broken = tmp.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::os::unix::fs::symlink("/no/such/target.log", broken.join("app.log")).unwrap();
    let e = one_line_error(logfusion(tmp.path()).args(["query", "--log-dir"]).arg(&broken).arg("SELECT 1"));
    assert!(e.contains("app.log") && e.contains("unreadable"), "{e}");
    let e = usage_error(logfusion(tmp.path()).args(["query", "--log-dir", d, "--output", "parquet", "SELECT 1"]));
    assert!(e.contains("--out"), "{e}");
    let e = usage_error(logfusion(tmp.path()).args(["query", "--log-dir", d, "--max-workers", "0", "SELECT 1"]));
    assert!(e.contains("--max-workers"), "{e}");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::BufRead;
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("access.log");
    assert!(
        logfusion(tmp.path()).args(["gen", "--size", "2MiB", "--out"]).arg(&log).output().unwrap().status.success()
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("logfusion"))
        .current_dir(tmp.path())
        .env("XDG_STATE_HOME", tmp.path().join(".state"))
        .args(["query", "--output", "csv", "--log-dir"])
        .arg(&log)
        .arg("SELECT * FROM access")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("ts,client_ip"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.signal(), Some(SIGPIPE), "ended by SIGPIPE like other tools");
    assert!(out.stderr.is_empty(), "nothing on stderr: {}", String::from_utf8_lossy(&out.stderr));
}

/// SIGPIPE's number on Linux and the BSDs.
const SIGPIPE: i32 = 13;

/// A stock nginx `main` log (its default `log_format` ends with `"$http_x_forwarded_for"`),
/// with proxies' addresses in that field: every line is a row, the field text.
#[test]
fn a_stock_nginx_main_log_keeps_every_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    let forwarded = ["-", "198.51.100.7", "198.51.100.7, 10.0.0.2", "2001:db8::1", "-"];
    let mut text = String::new();
    for i in 0..200 {
        let xff = forwarded[i % forwarded.len()];
        text.push_str(&format!(
            "203.0.113.{} - - [10/Oct/2026:13:{:02}:{:02} +0000] \"GET /p/{i} HTTP/1.1\" 200 {} \"-\" \"Mozilla/5.0\" \"{xff}\"\n",
            i % 250,
            i / 60,
            i % 60,
            100 + i
        ));
    }
    std::fs::write(dir.join("access.log"), text).unwrap();
    let args = ["--log-dir", dir.to_str().unwrap()];
    let rows = query_csv(
        tmp.path(),
        &args,
        "SELECT count(*), count(x_forwarded_for), arrow_typeof(max(x_forwarded_for)), \
         (SELECT count(*) FROM access_rejects) AS rejects FROM access",
    );
    assert_eq!(rows, [["200", "120", "Utf8", "0"]]);
    let rows = query_csv(tmp.path(), &args, "SELECT replace(x_forwarded_for, ',', ';') FROM access WHERE _line = 3");
    assert_eq!(rows, [["198.51.100.7; 10.0.0.2"]]);
}

/// Formats of the library are detected, named in `detect`'s ranking with the first line each
/// misses, and become tables named after them; a file no format reads fails `detect`.
#[test]
fn library_formats_are_detected_and_queried() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    let mut postgres = String::new();
    let mut spark = String::new();
    for i in 0..30 {
        postgres.push_str(&format!("2026-10-01 12:00:{i:02}.000 UTC [{}] LOG:  checkpoint starting: time\n", 100 + i));
        spark.push_str(&format!("26/10/01 12:00:{i:02} INFO SparkContext: job {i} finished\n"));
    }
    postgres.push_str("\tcontinued statement text\n");
    std::fs::write(dir.join("postgresql.log"), postgres).unwrap();
    std::fs::write(dir.join("spark.log"), spark).unwrap();
    let out = logfusion(tmp.path()).arg("detect").arg(&dir).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("postgresql.log: postgres (97% of the first 31 lines)"), "{text}");
    assert!(
        text.contains("postgres            30/31      97%; first line it does not read: 31: \\tcontinued"),
        "{text}"
    );
    assert!(text.contains("spark.log: spark (100% of the first 30 lines)"), "{text}");
    let args = ["--log-dir", dir.to_str().unwrap()];
    let rows = query_csv(
        tmp.path(),
        &args,
        "SELECT (SELECT count(*) FROM postgres) AS a, (SELECT max(pid) FROM postgres) AS b, \
         (SELECT count(*) FROM postgres_rejects) AS c, (SELECT count(*) FROM spark WHERE level = 'INFO') AS d",
    );
    assert_eq!(rows, [["30", "129", "1", "30"]]);
    std::fs::write(dir.join("notes.txt"), "nothing\nto see\n").unwrap();
    let out = logfusion(tmp.path()).arg("detect").arg(dir.join("notes.txt")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout).unwrap().contains("no format reads any of them"));
}

/// UTF-16 files (little- and big-endian, with their byte-order mark, as Windows tools write
/// them) give the rows of their UTF-8 twin: transcoded as a stream, not skipped.
#[test]
fn utf16_logs_read_as_their_utf8_twins() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!(
            "203.0.113.{i} - - [01/Oct/2026:12:00:{i:02} +0000] \"GET /caf\u{e9}/{i} HTTP/1.1\" 200 {i} \"-\" \"T\u{e9}st \u{1d11e}\"\r\n"
        ));
    }
    let units: Vec<u16> = text.encode_utf16().collect();
    let twins: [(&str, Vec<u8>); 3] = [
        ("utf8", text.clone().into_bytes()),
        ("le", [0xff, 0xfe].into_iter().chain(units.iter().flat_map(|u| u.to_le_bytes())).collect()),
        ("be", [0xfe, 0xff].into_iter().chain(units.iter().flat_map(|u| u.to_be_bytes())).collect()),
    ];
    let sql = "SELECT _line, client_ip, ts, path, status, user_agent, (SELECT count(*) FROM access_rejects) AS rejects \
               FROM access ORDER BY _line";
    let mut answers = Vec::new();
    for (name, bytes) in twins {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("access.log"), bytes).unwrap();
        answers.push(query_csv(tmp.path(), &["--log-dir", dir.to_str().unwrap()], sql));
    }
    assert_eq!(answers[0].len(), 40);
    assert_eq!(answers[0][3][3], "/caf\u{e9}/3");
    assert_eq!(answers[0][0][6], "0", "no rejects");
    assert_eq!(answers[1], answers[0], "UTF-16LE");
    assert_eq!(answers[2], answers[0], "UTF-16BE");
}

/// `text` in a legacy single- or double-byte encoding, by a table of the characters used (the
/// test's own oracle, independent of the decoder under test).
fn encode_legacy(text: &str, table: &[(char, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in text.chars() {
        match table.iter().find(|(k, _)| *k == c) {
            Some((_, bytes)) => out.extend_from_slice(bytes),
            None if c.is_ascii() => out.push(c as u8),
            None => panic!("no legacy bytes for {c:?}"),
        }
    }
    out
}

/// Logs in a legacy encoding give the rows of their UTF-8 twin: windows-1252 (also by its
/// `latin1` label, gzip-compressed) and Shift_JIS, through `--encoding`. Without it such a
/// file is not text and nothing is read.
#[test]
fn legacy_encodings_read_as_their_utf8_twins() {
    let tmp = tempfile::tempdir().unwrap();
    let log = |agent: &str| -> String {
        (0..40)
            .map(|i| {
                format!(
                    "203.0.113.{i} - - [01/Oct/2026:12:00:{i:02} +0000] \"GET /caf\u{e9}/{i} HTTP/1.1\" 200 {i} \"-\" \"{agent}\"\n"
                )
            })
            .collect()
    };
    let western = log("Caf\u{e9} \u{2013} 5 \u{20ac}");
    // Shift_JIS has no é: the Japanese twin's paths are ASCII.
    let japanese = log("\u{65e5}\u{672c}\u{8a9e}").replace("caf\u{e9}", "cafe");
    let cp1252: &[(char, &[u8])] = &[('\u{e9}', b"\xe9"), ('\u{2013}', b"\x96"), ('\u{20ac}', b"\x80")];
    let sjis: &[(char, &[u8])] = &[('\u{65e5}', b"\x93\xfa"), ('\u{672c}', b"\x96\x7b"), ('\u{8a9e}', b"\x8c\xea")];
    let cases: [(&str, &str, Vec<u8>, Option<&str>); 5] = [
        ("utf8", "access.log", western.clone().into_bytes(), None),
        ("cp1252", "access.log", encode_legacy(&western, cp1252), Some("windows-1252")),
        ("latin1_gz", "access.log.gz", crate::common::gzip(&encode_legacy(&western, cp1252)), Some("latin1")),
        ("sjis_utf8", "access.log", japanese.clone().into_bytes(), None),
        ("sjis", "access.log", encode_legacy(&japanese, sjis), Some("shift_jis")),
    ];
    let sql = "SELECT _line, client_ip, ts, path, user_agent, (SELECT count(*) FROM access_rejects) AS rejects \
               FROM access ORDER BY _line";
    let mut answers = Vec::new();
    for (name, file, bytes, encoding) in cases {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(file), bytes).unwrap();
        let mut args = vec!["--log-dir", dir.to_str().unwrap()];
        args.extend(encoding.iter().flat_map(|e| ["--encoding", e]));
        answers.push(query_csv(tmp.path(), &args, sql));
    }
    assert_eq!(answers[0].len(), 40);
    assert_eq!(answers[0][2][4], "Caf\u{e9} \u{2013} 5 \u{20ac}");
    assert_eq!(answers[0][0][5], "0", "no rejects");
    assert_eq!(answers[1], answers[0], "windows-1252");
    assert_eq!(answers[2], answers[0], "latin1, gzip");
    assert_eq!(answers[3][7][4], "\u{65e5}\u{672c}\u{8a9e}");
    assert_eq!(answers[4], answers[3], "Shift_JIS");
    // Without the encoding the windows-1252 file is not UTF-8 text: skipped, nothing to query.
    let out = logfusion(tmp.path())
        .args(["query", "--log-dir", tmp.path().join("cp1252").to_str().unwrap(), "SELECT 1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("not UTF-8"), "{stderr}");
    let out = logfusion(tmp.path()).args(["query", "--encoding", "ebcdic", "SELECT 1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown label is a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown text encoding `ebcdic`"));
}

/// A source's `invalid_utf8: replace` turns lines with invalid bytes into rows (the bytes
/// become U+FFFD) instead of `invalid_utf8` rejects; either way lines = rows + rejects.
#[test]
fn invalid_utf8_is_a_reject_unless_the_source_replaces_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    for i in 0..10 {
        let agent: &[u8] = if i % 4 == 1 { b"bad \xff\xfe agent" } else { b"good agent" };
        bytes.extend(
            format!("192.0.2.{i} - - [01/Oct/2026:12:00:{i:02} +0000] \"GET /{i} HTTP/1.1\" 200 {i} \"-\" \"").bytes(),
        );
        bytes.extend_from_slice(agent);
        bytes.extend_from_slice(b"\"\n");
    }
    std::fs::write(tmp.path().join("mixed.log"), &bytes).unwrap();
    let config = tmp.path().join("config.yaml");
    let path = tmp.path().join("mixed.log");
    std::fs::write(
        &config,
        format!(
            "sources:\n  - {{name: strict, path: '{0}', format: access}}\n  \
             - {{name: lenient, path: '{0}', format: access, invalid_utf8: replace}}\n",
            path.display()
        ),
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap()];
    let rows = query_csv(
        tmp.path(),
        &args,
        "SELECT (SELECT count(*) FROM strict) AS a, \
         (SELECT count(*) FROM strict_rejects WHERE reason = 'invalid_utf8') AS b, \
         (SELECT count(*) FROM lenient) AS c, (SELECT count(*) FROM lenient_rejects) AS d, \
         (SELECT user_agent FROM lenient WHERE _line = 2) AS e, \
         (SELECT sum(lines) - sum(rows) - sum(rejects) FROM strict_profile) AS f, \
         (SELECT sum(lines) - sum(rows) - sum(rejects) FROM lenient_profile) AS g",
    );
    assert_eq!(rows, [["7", "3", "10", "0", "bad \u{fffd}\u{fffd} agent", "0", "0"]]);
}

/// A named source keeps its one table when some of its files are read by no format: those
/// are skipped with a warning there (the generic `text` table is for unnamed discovery).
#[test]
fn a_named_source_skips_unreadable_files_instead_of_mixing_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::copy(samples().join("access/access.log"), logs.join("a.log")).unwrap();
    std::fs::write(logs.join("notes.txt"), "junk\nmore junk\n").unwrap();
    std::fs::write(tmp.path().join("config.yaml"), "sources:\n  - name: web\n    path: logs/\n").unwrap();
    let out = logfusion(tmp.path()).args(["query", "SELECT count(*) FROM web"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("notes.txt") && stderr.contains("no known log format"), "{stderr}");
}

/// A Java application log with stack traces: detected as `log4j`, each trace a part of its
/// record's message, `_line` the record's first line, and lines = lines in rows + lines in
/// rejects. A syslog source with `multiline: indented` joins its continuation lines, read in
/// several byte ranges exactly as in one.
#[test]
fn multi_line_records_through_detection_config_and_split_scans() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("java");
    std::fs::create_dir(&dir).unwrap();
    let mut java = String::new();
    for i in 0..200 {
        java.push_str(&format!(
            "2026-10-01 12:{:02}:{:02},000 INFO [main] com.example.App: request {i}\n",
            i / 60,
            i % 60
        ));
        if i % 10 == 3 {
            java.push_str("java.lang.IllegalStateException: boom\n\tat com.example.App.handle(App.java:42)\n");
            java.push_str("Caused by: java.io.IOException: disk\n\t... 1 more\n");
        }
    }
    std::fs::write(dir.join("app.log"), &java).unwrap();
    let out = logfusion(tmp.path()).arg("detect").arg(&dir).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("app.log: log4j (100% of"), "{text}");
    let rows = query_csv(
        tmp.path(),
        &["--log-dir", dir.to_str().unwrap()],
        "SELECT count(*) AS records, \
         (SELECT count(*) FROM log4j_rejects) AS rejects, \
         (SELECT _line FROM log4j WHERE message LIKE 'request 13' || chr(10) || '%') AS line_13, \
         (SELECT _line FROM log4j WHERE message = 'request 14') AS line_14, \
         (SELECT length(message) - length(replace(message, chr(10), '')) FROM log4j WHERE message LIKE 'request 13' || chr(10) || '%') AS newlines, \
         (SELECT sum(lines) FROM log4j_profile) AS lines, \
         (SELECT sum(rows) FROM log4j_profile) AS row_lines \
         FROM log4j",
    );
    // 200 records; 20 of them carry 4 more lines each: 280 lines, all in rows.
    assert_eq!(rows, [["200", "0", "18", "23", "4", "280", "280"]]);

    let mut syslog = String::new();
    for i in 0..3000 {
        syslog.push_str(&format!("Oct 11 22:{:02}:{:02} host app[{i}]: event {i}\n", i / 60 % 60, i % 60));
        if i % 7 == 0 {
            syslog.push_str(&format!("    detail {i}\n\tmore {i}\n"));
        }
    }
    std::fs::write(tmp.path().join("messages"), &syslog).unwrap();
    let config = tmp.path().join("config.yaml");
    let path = tmp.path().join("messages");
    std::fs::write(
        &config,
        format!(
            "datafusion:\n  datafusion.optimizer.repartition_file_min_size: 1\n\
             sources:\n  - {{name: sys, path: '{}', format: syslog, options: {{multiline: indented}}}}\n",
            path.display()
        ),
    )
    .unwrap();
    let sql = "SELECT count(*), sum(_line), sum(length(message)), \
               (SELECT sum(lines) - sum(rows) - sum(rejects) FROM sys_profile) AS unaccounted, \
               (SELECT message FROM sys WHERE proc_id = '7') AS seventh FROM sys";
    let mut answers = Vec::new();
    for workers in ["1", "2"] {
        let out = logfusion(tmp.path())
            .args(["--config", config.to_str().unwrap(), "query", "--max-workers", workers, "--output", "csv", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        answers.push(String::from_utf8(out.stdout).unwrap());
    }
    assert_eq!(answers[0], answers[1], "one range and two give the same records");
    let first_lines: u64 = {
        let mut line = 1u64;
        let mut sum = 0;
        for i in 0..3000u64 {
            sum += line;
            line += if i % 7 == 0 { 3 } else { 1 };
        }
        sum
    };
    assert!(answers[0].contains(&format!("3000,{first_lines},")), "{}", answers[0]);
    assert!(answers[0].contains(",0,\"event 7\n    detail 7\n\tmore 7\""), "{}", answers[0]);
}

/// A config's `formats_dir` adds the user's definitions: named in a source, detected in a log
/// folder, listed by `formats` and `detect`; a definition whose sample does not read as it
/// says fails the config, naming the file.
#[test]
fn user_format_definitions_from_the_config_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let formats = tmp.path().join("formats");
    std::fs::create_dir(&formats).unwrap();
    let definition = r#"name: acme_gateway
description: ACME gateway log (`GW|time|level|route|ms|message`)
pattern: '^GW\|(?P<ts>[^|]+)\|(?P<level>[A-Z]+)\|(?P<route>[^|]*)\|(?P<ms>\d+)\|(?P<message>.*)$'
columns: {ts: timestamp, ms: int64}
samples:
  - line: 'GW|2026-10-01T12:00:00Z|INFO|/pay|12|ok'
    values: {ts: '2026-10-01T12:00:00Z', level: INFO, route: /pay, ms: 12, message: ok}
"#;
    std::fs::write(formats.join("acme_gateway.yaml"), definition).unwrap();
    let logs = tmp.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let mut text = String::new();
    for i in 0..50 {
        text.push_str(&format!("GW|2026-10-01T12:00:{:02}Z|{}|/r{}|{i}|m {i}\n", i, ["INFO", "WARN"][i % 2], i % 3));
    }
    text.push_str("GW|broken\n");
    std::fs::write(logs.join("gw.log"), &text).unwrap();
    let config = tmp.path().join("config.yaml");
    std::fs::write(&config, "formats_dir: formats\nsources:\n  - {name: gw, path: logs, format: acme_gateway}\n")
        .unwrap();
    let args = ["--config", config.to_str().unwrap()];
    let rows = query_csv(
        tmp.path(),
        &args,
        "SELECT count(*) AS n, sum(ms) AS ms, (SELECT count(*) FROM gw_rejects) AS rejects FROM gw WHERE level = 'WARN'",
    );
    assert_eq!(rows, [["25", "625", "1"]]);
    // Detection knows it too, with the config loaded.
    let rows = query_csv(
        tmp.path(),
        &["--config", config.to_str().unwrap(), "--log-dir", logs.to_str().unwrap()],
        "SELECT count(*) FROM acme_gateway",
    );
    assert_eq!(rows, [["50"]]);
    let out = logfusion(tmp.path()).args(["--config", config.to_str().unwrap(), "formats"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("acme_gateway: ACME gateway log"));
    let out = logfusion(tmp.path()).args(["--config", config.to_str().unwrap(), "detect"]).arg(&logs).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("gw.log: acme_gateway (98% of the first 51 lines)"));
    // A sample that says what the line does not give is refused with its file.
    std::fs::write(formats.join("acme_gateway.yaml"), definition.replace("ms: 12,", "ms: 13,")).unwrap();
    let out = logfusion(tmp.path()).args(["--config", config.to_str().unwrap(), "query", "SELECT 1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("formats_dir") && stderr.contains("acme_gateway.yaml") && stderr.contains("column ms is 12"),
        "{stderr}"
    );
}

/// An IIS log with fields beyond the default set: detected as `w3c`, the columns following
/// its `#Fields:` directive, the directive lines counted as `directive` rejects that do not
/// fail `validate`.
#[test]
fn w3c_logs_take_their_columns_from_the_fields_directive() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("iis");
    std::fs::create_dir(&dir).unwrap();
    let header = "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n\
                  #Date: 2026-10-01 00:00:00\r\n\
                  #Fields: date time s-sitename s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip \
                  cs(User-Agent) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken\r\n";
    let mut log = String::from(header);
    for i in 0..120 {
        if i == 60 {
            log.push_str(header); // the server restarted: a new header block
        }
        let status = if i % 10 == 0 { 500 } else { 200 };
        log.push_str(&format!(
            "2026-10-01 00:{:02}:{:02} W3SVC1 10.0.0.1 GET /api/{} id={i} 443 - 203.0.113.{} \
             Mozilla/5.0+(Windows+NT+10.0) - www.example.com {status} 0 0 {} 310 {}\r\n",
            i / 60,
            i % 60,
            i % 4,
            i % 250,
            1000 + i,
            i * 2
        ));
    }
    std::fs::write(dir.join("u_ex261001.log"), &log).unwrap();
    let rows = query_csv(
        tmp.path(),
        &["--log-dir", dir.to_str().unwrap()],
        "SELECT count(*) AS n, sum(sc_bytes) AS bytes, max(time_taken) AS slowest, min(ts) AS first, \
         count(*) FILTER (WHERE sc_status = 500) AS errors, max(cs_host) AS host, max(cs_user_agent) AS ua, \
         (SELECT count(*) FROM w3c_rejects WHERE reason = 'directive') AS directives FROM w3c",
    );
    let bytes: u64 = (0..120).map(|i| 1000 + i).sum();
    assert_eq!(
        rows,
        [[
            "120",
            bytes.to_string().as_str(),
            "238",
            "2026-10-01T00:00:00Z",
            "12",
            "www.example.com",
            "Mozilla/5.0+(Windows+NT+10.0)",
            "8"
        ]]
    );
    let out = logfusion(tmp.path()).args(["validate", "--directory", dir.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "directives are no errors: {}", String::from_utf8_lossy(&out.stdout));
}

/// A source declared `sorted_by: ts`: ordering by time merges the files' (and ranges') order
/// instead of sorting, with the same answer as the undeclared source; a file out of order fails
/// the query with the file and line instead of answering wrongly.
#[test]
fn declared_time_order_replaces_the_sort_and_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let line = |second: u32, file: &str| {
        format!(
            "10.0.0.1 - - [01/Oct/2026:{:02}:{:02}:{:02} +0000] \"GET /{file}/{second} HTTP/1.1\" 200 {second} \"-\" \"t\"\n",
            second / 3600,
            second / 60 % 60,
            second % 60
        )
    };
    // Two files in time order whose times interleave.
    for (file, parity) in [("a.log", 0), ("b.log", 1)] {
        let text: String = (0..3000).filter(|s| s % 2 == parity).map(|s| line(s, file)).collect();
        std::fs::write(logs.join(file), text).unwrap();
    }
    let config = tmp.path().join("config.yaml");
    let write_config = |sorted: &str| {
        std::fs::write(
            &config,
            format!(
                "datafusion:\n  datafusion.optimizer.repartition_file_min_size: 1\n\
                 sources:\n  - {{name: web, path: '{}', format: access{sorted}}}\n",
                logs.display()
            ),
        )
        .unwrap();
    };
    let run = |sql: &str| {
        let out = logfusion(tmp.path())
            .args(["--config", config.to_str().unwrap(), "query", "--max-workers", "2", "--output", "csv", sql])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let ordered = "SELECT ts, path FROM web ORDER BY ts";
    let top = "SELECT path FROM web ORDER BY ts LIMIT 5";
    write_config("");
    let (_, plain_plan, _) = run(&format!("EXPLAIN {ordered}"));
    let (_, plain_rows, _) = run(ordered);
    let (_, plain_top, _) = run(top);
    assert!(plain_plan.contains("SortExec"), "{plain_plan}");
    write_config(", sorted_by: ts");
    let (_, plan, _) = run(&format!("EXPLAIN {ordered}"));
    assert!(!plan.contains("SortExec") && plan.contains("SortPreservingMergeExec"), "{plan}");
    let (ok, rows, stderr) = run(ordered);
    assert!(ok, "{stderr}");
    assert_eq!(rows, plain_rows);
    assert_eq!(rows.lines().count(), 3001);
    assert_eq!(run(top).1, plain_top);
    // One file split into byte ranges keeps the order: each range is a sorted partition.
    std::fs::write(
        &config,
        format!(
            "datafusion:\n  datafusion.optimizer.repartition_file_min_size: 1\n\
             sources:\n  - {{name: web, path: '{}', format: access, sorted_by: ts}}\n",
            logs.join("a.log").display()
        ),
    )
    .unwrap();
    let (_, plan, _) = run(&format!("EXPLAIN {ordered}"));
    assert!(plan.contains("a.log:0..") && !plan.contains("SortExec"), "{plan}");
    let (ok, rows, stderr) =
        run("SELECT count(*) FROM (SELECT ts, lag(ts) OVER (ORDER BY ts) AS prev FROM web) WHERE prev < ts");
    assert!(ok && rows.ends_with("1499\n"), "{rows} {stderr}");
    write_config(", sorted_by: ts");
    assert!(plain_top.contains("/a.log/0\n/b.log/1\n/a.log/2\n/b.log/3\n/a.log/4"), "{plain_top}");
    // b.log goes back in time at its line 11: the scan says so.
    let mut lines: Vec<String> = (0..3000).filter(|s| s % 2 == 1).map(|s| line(s, "b.log")).collect();
    lines.insert(10, line(0, "b.log"));
    std::fs::write(logs.join("b.log"), lines.concat()).unwrap();
    let (ok, _, stderr) = run("SELECT _line, ts FROM web ORDER BY ts");
    assert!(!ok, "an out-of-order file must not answer");
    assert!(stderr.contains("b.log:11: 2026-10-01T00:00:00+00:00 after 2026-10-01T00:00:19+00:00"), "{stderr}");
    assert!(stderr.contains("sorted_by"), "{stderr}");
    // Naming a column that is not a timestamp is a config error.
    std::fs::write(
        &config,
        format!("sources:\n  - {{name: web, path: '{}', format: access, sorted_by: path}}\n", logs.display()),
    )
    .unwrap();
    let (ok, _, stderr) = run("SELECT 1");
    assert!(!ok && stderr.contains("sorted_by") && stderr.contains("not a timestamp column"), "{stderr}");
}
