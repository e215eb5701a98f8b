//! Every line is accounted for: rows + rejects = lines, per file, whatever the compression,
//! line endings, encoding errors, line lengths, worker count or byte-range split; and the
//! parser builds only the columns a query needs.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::common::{count_lines, logfusion, query_csv, read_plain, samples};

/// Rows and rejects per file name (last path component) of `table` under `dir`.
fn per_file(cwd: &Path, args: &[&str], table: &str) -> BTreeMap<String, (u64, u64)> {
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    for row in query_csv(cwd, args, &format!("SELECT _file, count(*) FROM {table} GROUP BY _file")) {
        out.entry(name(&row[0])).or_default().0 = row[1].parse().unwrap();
    }
    for row in query_csv(cwd, args, &format!("SELECT file, count(*) FROM {table}_rejects GROUP BY file")) {
        out.entry(name(&row[0])).or_default().1 = row[1].parse().unwrap();
    }
    out
}

/// Checks rows + rejects = lines for every file of every table in `dir`.
fn assert_all_lines_accounted(cwd: &Path, dir: &Path, tables: &[&str], expect_rejects: bool) {
    let d = dir.to_str().unwrap();
    let mut seen = 0;
    let mut rejects = 0;
    for table in tables {
        for (file, (rows, rej)) in per_file(cwd, &["--log-dir", d], table) {
            let path = walk(dir).into_iter().find(|p| p.file_name().unwrap().to_string_lossy() == file).unwrap();
            let lines = count_lines(&read_plain_any(&path));
            assert_eq!(rows + rej, lines, "{file}: {rows} rows + {rej} rejects != {lines} lines");
            seen += 1;
            rejects += rej;
        }
    }
    assert_eq!(seen, walk(dir).len(), "every file is in a table");
    assert_eq!(rejects > 0, expect_rejects);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn read_plain_any(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    if raw.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return zstd::decode_all(&raw[..]).unwrap();
    }
    read_plain(path)
}

#[test]
fn every_sample_line_is_a_row_or_a_reject() {
    let tmp = tempfile::tempdir().unwrap();
    assert_all_lines_accounted(tmp.path(), &samples(), &["access", "syslog", "json", "logfmt"], true);
}

#[test]
fn gzip_and_zstd_copies_account_for_the_same_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    let plain = read_plain(&samples().join("access/access.log"));
    // Two gzip members concatenated, as logrotate + cat produce.
    let mut gz = Vec::new();
    for half in [&plain[..plain.len() / 2], &plain[plain.len() / 2..]] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(half).unwrap();
        gz.extend(e.finish().unwrap());
    }
    std::fs::write(dir.join("access.log.gz"), gz).unwrap();
    std::fs::write(dir.join("access.log.zst"), zstd::encode_all(&plain[..], 3).unwrap()).unwrap();
    // A gzip file without the extension is found by its magic bytes.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&plain).unwrap();
    std::fs::write(dir.join("access.log.1"), e.finish().unwrap()).unwrap();
    assert_all_lines_accounted(tmp.path(), &dir, &["access"], true);
    let counts = per_file(tmp.path(), &["--log-dir", dir.to_str().unwrap()], "access");
    let first = counts.values().next().copied().unwrap();
    assert!(counts.values().all(|c| *c == first), "{counts:?}");
}

#[test]
fn crlf_empty_invalid_utf8_long_and_unterminated_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    let good = r#"10.0.0.1 - - [01/Oct/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8" 0.001"#;
    let mut data = Vec::new();
    data.extend(format!("{good}\r\n\r\n{good}\n\n").as_bytes());
    data.extend(b"10.0.0.1 - - [01/Oct/2026:00:00:00 +0000] \"GET /\xff\xfe HTTP/1.1\" 200 5 \"-\" \"x\"\n");
    data.extend(format!("{good} {}\n", "x".repeat(5000)).as_bytes());
    data.extend(good.as_bytes()); // no final newline
    std::fs::write(dir.join("edge.log"), &data).unwrap();
    std::fs::write(tmp.path().join("config.yaml"), "max_line_bytes: 1KiB\n").unwrap();
    let args = ["--log-dir", dir.to_str().unwrap()];
    let rows = query_csv(tmp.path(), &args, "SELECT _line, status FROM access ORDER BY _line");
    assert_eq!(rows, [["1", "200"], ["3", "200"], ["7", "200"]].map(|r| r.map(String::from).to_vec()));
    let rejects = query_csv(tmp.path(), &args, "SELECT line, reason FROM access_rejects ORDER BY line");
    let expected = [["2", "empty_line"], ["4", "empty_line"], ["5", "invalid_utf8"], ["6", "line_too_long"]];
    assert_eq!(rejects, expected.map(|r| r.map(String::from).to_vec()));
    assert_eq!(count_lines(&data), 7);
}

#[test]
fn byte_range_splits_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    let generated = logfusion(tmp.path())
        .args(["gen", "--size", "300KiB", "--malformed-every", "7", "--seed", "9", "--out"])
        .arg(dir.join("a.log"))
        .output()
        .unwrap();
    assert!(generated.status.success());
    std::fs::write(dir.join("b.log"), std::fs::read(samples().join("access/access.log")).unwrap()).unwrap();
    // Force splitting small files: ranges start and end mid-line at arbitrary offsets.
    std::fs::write(
        tmp.path().join("config.yaml"),
        "datafusion:\n  datafusion.optimizer.repartition_file_min_size: 1\n",
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let rows_sql = "SELECT _file, _line, status, path FROM access ORDER BY _file, _line";
    let rejects_sql = "SELECT file, line, byte_offset, reason FROM access_rejects ORDER BY file, line";
    let mut baseline = None;
    for workers in ["1", "2", "3", "5", "8"] {
        let args = ["--log-dir", d, "--max-workers", workers];
        let plan = query_csv(tmp.path(), &args, "EXPLAIN SELECT status FROM access");
        let plan = plan.concat().join(",");
        assert!(plan.contains(&format!("{{{workers} group")), "not split in {workers}: {plan}");
        let got = (query_csv(tmp.path(), &args, rows_sql), query_csv(tmp.path(), &args, rejects_sql));
        assert!(got.0.len() > 1000 && got.1.len() > 100);
        match &baseline {
            None => baseline = Some(got),
            Some(b) => assert!(*b == got, "results differ with {workers} workers"),
        }
    }
    // Line numbers are those of the file: every line is present exactly once.
    let (rows, rejects) = baseline.unwrap();
    let a_lines = count_lines(&std::fs::read(dir.join("a.log")).unwrap());
    let mut numbers: Vec<u64> = rows
        .iter()
        .filter(|r| r[0].ends_with("a.log"))
        .map(|r| r[1].parse().unwrap())
        .chain(rejects.iter().filter(|r| r[0].ends_with("a.log")).map(|r| r[1].parse().unwrap()))
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=a_lines).collect::<Vec<_>>());
}

/// The `values_built` metric of the scan in an `EXPLAIN ANALYZE` of `sql`.
fn values_built(cwd: &Path, dir: &str, sql: &str) -> (u64, u64) {
    let out = logfusion(cwd)
        .args(["query", "--log-dir", dir, "--output", "csv"])
        .arg(format!("EXPLAIN ANALYZE {sql}"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let metric = |name: &str| -> u64 {
        let at = text.find(&format!("{name}=")).unwrap_or_else(|| panic!("{name} not in {text}"));
        text[at + name.len() + 1..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
    };
    (metric("values_built"), metric("rows_parsed"))
}

#[test]
fn the_parser_builds_only_projected_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = samples().join("access");
    let d = dir.to_str().unwrap();
    let (one, rows) = values_built(tmp.path(), d, "SELECT count(status) FROM access");
    assert_eq!((one, rows), (99, 99));
    let (two, _) = values_built(tmp.path(), d, "SELECT max(path), count(status) FROM access");
    assert_eq!(two, 2 * 99);
    let (none, _) = values_built(tmp.path(), d, "SELECT count(*) FROM access");
    assert_eq!(none, 0);
    // EXPLAIN ANALYZE abbreviates counts from 1000 (1.29 K): use the 32-line file here.
    let small = dir.join("access-old.log.gz");
    let (all, rows) = values_built(tmp.path(), small.to_str().unwrap(), "SELECT * FROM access");
    assert_eq!((all, rows), (12 * 32, 32), "11 fixed columns + the one trailing field this file has");
}

#[test]
fn projection_pushdown_can_be_turned_off_to_measure_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("config.yaml"), "datafusion:\n  logfusion.projection_pushdown: false\n").unwrap();
    let small = samples().join("access/access-old.log.gz");
    let (all, rows) = values_built(tmp.path(), small.to_str().unwrap(), "SELECT count(status) FROM access");
    assert_eq!((all, rows), (12 * 32, 32), "every column is built without pushdown");
    let with = query_csv(
        tmp.path(),
        &["--log-dir", small.to_str().unwrap()],
        "SELECT status, count(*) FROM access GROUP BY status ORDER BY status",
    );
    let plain = tempfile::tempdir().unwrap();
    let without = query_csv(
        plain.path(),
        &["--log-dir", small.to_str().unwrap()],
        "SELECT status, count(*) FROM access GROUP BY status ORDER BY status",
    );
    assert_eq!(with, without, "the same answer either way");
    assert!(!with.is_empty());
}
