//! Throughput of each format's line parser (MB/s of input), full row and projected to one
//! column. Run: `cargo bench -p logfusion-formats --bench parsers`.

#![expect(missing_docs, reason = "criterion's macros generate undocumented entry points")]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logfusion_formats::{
    BatchBuilder, ColumnType, FileContext, FormatSpec, RegexOptions, ResolvedFormat, prepare_line,
};

const SYSLOG: &str =
    "<28>Oct  1 13:55:36 web-1 sshd[4242]: Failed password for invalid user admin from 10.0.0.7 port 52311 ssh2";
const JSON: &str = r#"{"ts":"2026-10-01T13:55:36.123Z","level":"info","service":"api","status":200,"duration_ms":12.5,"msg":"request finished"}"#;
const LOGFMT: &str =
    r#"ts=2026-10-01T13:55:36.123Z level=info service=api status=200 duration_ms=12.5 msg="request finished""#;

fn bench_format(c: &mut Criterion, name: &str, line: &str, one_column: &str) {
    let spec = FormatSpec::parse_name(name).expect("built-in format");
    let lines: Vec<String> = (0..4096).map(|_| line.to_string()).collect();
    bench_lines(c, name, spec, lines, one_column);
}

/// The regex format of `benches/regex_peers.sh` on lines like `gen --format app` writes,
/// `per_second` of them each second (0: one every three seconds, a quiet log), the levels and
/// components taking turns.
fn bench_regex(c: &mut Criterion, name: &str, per_second: usize) {
    let spec = FormatSpec::Regex(RegexOptions {
        pattern:
            r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \[(?P<level>[A-Z]+)\] (?P<component>\w+): (?P<message>.*)$"
                .into(),
        columns: [("ts".to_string(), ColumnType::Timestamp)].into(),
        timestamp_format: "%Y-%m-%d %H:%M:%S%.3f".to_string().into(),
        ..RegexOptions::default()
    });
    let (levels, components) = (["INFO", "WARN", "DEBUG", "ERROR"], ["auth", "db", "scheduler", "api"]);
    let lines = (0..4096)
        .map(|i| {
            let second_of_day = usize::checked_div(i, per_second).unwrap_or(3 * i);
            let (hour, minute, second) = (second_of_day / 3600, (second_of_day / 60) % 60, second_of_day % 60);
            format!(
                "2026-10-01 {hour:02}:{minute:02}:{second:02}.{:03} [{}] {}: request {i} finished in {}ms",
                (i * 37) % 1000,
                levels[i % 4],
                components[(i / 3) % 4],
                i % 97
            )
        })
        .collect();
    bench_lines(c, name, spec, lines, "level");
}

fn bench_lines(c: &mut Criterion, name: &str, spec: FormatSpec, lines: Vec<String>, one_column: &str) {
    let sample: Vec<&str> = lines.iter().take(50).map(String::as_str).collect();
    let format = ResolvedFormat::resolve(spec, Default::default(), &sample).expect("resolves");
    let all: Vec<usize> = (0..format.columns().len()).collect();
    let one = vec![format.columns().iter().position(|c| c.name == one_column).expect("column exists")];
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(bytes as u64));
    for (label, projection) in [("all_columns", &all), ("one_column", &one)] {
        group.bench_function(label, |b| {
            b.iter(|| {
                let mut parser = format.parser(&FileContext::default());
                let mut out = BatchBuilder::new(format.columns(), projection, lines.len());
                for l in &lines {
                    let text = prepare_line(l.as_bytes()).expect("valid line");
                    parser.parse(text, &mut out).expect("parses");
                    out.commit_row();
                }
                black_box(out.finish())
            })
        });
    }
    group.finish();
}

/// Access lines whose fields vary in length from line to line (addresses, paths, agents,
/// statuses), as in a real log, so that no scan learns one line's shape.
fn bench_access(c: &mut Criterion) {
    let spec = FormatSpec::parse_name("access").expect("built-in format");
    let agents = [
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "curl/8.7.1",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
        "Go-http-client/1.1",
        "-",
    ];
    let paths = ["/", "/api/v1/users/42?page=3", "/static/js/app.12ab.js", "/healthz", "/api/v1/orders/1234/items"];
    let referers = ["-", "https://example.com/", "https://www.google.com/search?q=logs"];
    let statuses = [200, 200, 304, 404, 200, 500, 201, 200, 302];
    let lines = (0..4096)
        .map(|i| {
            let ip = format!("10.{}.{}.{}", i % 7, (i * 13) % 256, (i * 101) % 256);
            format!(
                r#"{ip} - - [01/Oct/2026:13:{:02}:{:02} +0000] "GET {} HTTP/1.1" {} {} "{}" "{}" 0.{:03}"#,
                (i / 240) % 60,
                (i / 4) % 60,
                paths[i % 5],
                statuses[i % 9],
                (i * 7919) % 60000,
                referers[i % 3],
                agents[(i / 2) % 5],
                i % 1000
            )
        })
        .collect();
    bench_lines(c, "access", spec, lines, "status");
}

fn parsers(c: &mut Criterion) {
    bench_access(c);
    bench_format(c, "syslog", SYSLOG, "severity");
    bench_format(c, "json", JSON, "status");
    bench_format(c, "logfmt", LOGFMT, "status");
    bench_regex(c, "regex", 4);
    bench_regex(c, "regex_quiet", 0);
}

criterion_group!(benches, parsers);
criterion_main!(benches);
