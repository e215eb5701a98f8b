//! The scan in-process, as ripgrep's `SearcherTester` tests its searcher: small samples of
//! every format, plain and in every compression, put in an in-memory object store and read
//! through the real `DataSourceExec` → `LogSource` → `LogOpener` → line loop, unsplit and then
//! split at every byte offset, at several line-reader block sizes and batch sizes. Every way of
//! reading must give the same rows, the same rejects and the same line numbers.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::physical_plan::FileScanConfigBuilder;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use datafusion_datasource::file_groups::FileGroup;
use datafusion_datasource::{PartitionedFile, TableSchema};
use futures::StreamExt;
use logfusion_formats::{FormatSpec, ResolvedFormat, TimeRules};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt, PutPayload};

use crate::file_format::LogFormat;
use crate::scan::health::FileHealth;
use crate::table::{LogTableOptions, TableKind};

/// Longest line of the samples' tables: one sample line is longer, to be a `line_too_long`.
const MAX_LINE: usize = 160;

const ACCESS: &str = concat!(
    "10.0.0.1 - - [01/Oct/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl/8\" 0.001\n",
    "10.0.0.2 - bob [01/Oct/2026:00:00:01 +0200] \"POST /a?b=1 HTTP/2.0\" 404 - \"https://r/\" \"x \\\"y\\\"\"\r\n",
    "\n",
    "garbage line\n",
    "10.0.0.3 - - [99/Oct/2026:00:00:02 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"z\"\n",
    "::1 - - [01/Oct/2026:00:00:03 +0000] \"-\" 400 0\n",
    "10.0.0.4 - - [01/Oct/2026:00:00:04 +0000] \"GET /long HTTP/1.1\" 200 5 \"-\" \"",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n",
    "10.0.0.5 - - [01/Oct/2026:00:00:05 +0000] \"GET /x HTTP/1.1\" 2x0 5\n",
    "10.0.0.6 - - [01/Oct/2026:00:00:06 +0000] \"GET /\u{e9} HTTP/1.1\" 301 7 \"-\" \"caf\u{e9}\"\n",
    "10.0.0.7 - - [01/Oct/2026:00:00:07 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"last, no newline\"",
);

const SYSLOG: &str = concat!(
    "<34>Oct 11 22:14:15 host su[123]: 'su root' failed\n",
    "Oct 11 22:14:16 host cron: tick\r\n",
    "<165>1 2026-10-11T22:14:15.003Z host app 77 ID47 [x@1 a=\"b\"] event\n",
    "Foo 11 22:14:15 h a: bad month\n",
    "<13>1 - - - - - -\n",
    "\n",
    "<999>Oct 11 22:14:15 h a: bad priority\n",
    "Oct 12 01:00:00 host kernel: \u{43e}\u{448}\u{438}\u{431}\u{43a}\u{430}\n",
);

const JSON: &str = concat!(
    "{\"ts\":\"2026-10-01T00:00:00Z\",\"level\":\"info\",\"n\":1,\"msg\":\"a; b\"}\n",
    "{\"ts\":\"2026-10-01T00:00:01Z\",\"level\":\"warn\",\"n\":2,\"ctx\":{\"k\":[1,2]}}\n",
    "not json\n",
    "[1,2]\n",
    "{\"ts\":\"2026-10-01T00:00:02Z\",\"level\":\"error\",\"n\":\"three\"}\n",
    "{\"ts\":\"2026-10-01T00:00:03Z\",\"level\":null,\"n\":4,\"extra\":true}\r\n",
    "\n",
    "{\"ts\":\"2026-10-01T00:00:04Z\",\"level\":\"info\",\"n\":5}",
);

const LOGFMT: &str = concat!(
    "ts=2026-10-01T00:00:00Z level=info n=1 msg=\"hello world\"\n",
    "ts=2026-10-01T00:00:01Z level=warn n=2 msg=\"esc \\\"q\\\"\" flag\n",
    "just words here\n",
    "ts=2026-10-01T00:00:02Z level=error n=x3 msg=oops\n",
    "ts=2026-10-01T00:00:03Z level=info msg=\"unclosed\n",
    "ts=2026-10-01T00:00:04Z level=info n=5 new=key\n",
);

const REGEX_LINES: &str = concat!(
    "2026-10-01 00:00:01.120 [INFO] auth: login ok user=alice\n",
    "2026-10-01 00:00:02.480 [WARN] billing: retrying charge attempt=2\n",
    "not matching\n",
    "2026-13-01 00:00:03.005 [ERROR] billing: bad month\n",
    "2026-10-01 00:00:04.000 [INFO] auth: logout\n",
);

/// One format and a sample of it.
struct Sample {
    name: &'static str,
    spec: FormatSpec,
    text: &'static str,
}

fn samples() -> Vec<Sample> {
    let regex: FormatSpec = serde_json::from_value(serde_json::json!({
        "format": "regex",
        "pattern": r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \[(?P<level>[A-Z]+)\] (?P<component>\w+): (?P<message>.*)$",
        "timestamp_format": "%Y-%m-%d %H:%M:%S%.3f",
        "columns": {"ts": "timestamp"}
    }))
    .expect("regex spec");
    let spec = |name| FormatSpec::parse_name(name).expect("built-in format");
    vec![
        Sample { name: "access", spec: spec("access"), text: ACCESS },
        Sample { name: "syslog", spec: spec("syslog"), text: SYSLOG },
        Sample { name: "json", spec: spec("json"), text: JSON },
        Sample { name: "logfmt", spec: spec("logfmt"), text: LOGFMT },
        Sample { name: "regex", spec: regex, text: REGEX_LINES },
    ]
}

fn resolve(sample: &Sample) -> Arc<ResolvedFormat> {
    let lines: Vec<&str> = sample.text.lines().collect();
    Arc::new(ResolvedFormat::resolve(sample.spec.clone(), TimeRules::default(), &lines).expect("resolves"))
}

/// An in-memory store and a runtime to scan it with.
struct Harness {
    runtime: tokio::runtime::Runtime,
    store: Arc<InMemory>,
    ctx: SessionContext,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_config(datafusion::prelude::SessionConfig::new())
    }

    /// A harness whose scans read only their own partitions' ranges (no work stealing), as
    /// the tasks of a cluster do.
    fn without_stealing() -> Harness {
        let config = datafusion::prelude::SessionConfig::new()
            .set_bool("datafusion.execution.enable_file_stream_work_stealing", false);
        Harness::with_config(config)
    }

    fn with_config(config: datafusion::prelude::SessionConfig) -> Harness {
        let store = Arc::new(InMemory::new());
        let ctx = SessionContext::new_with_config(config);
        let url = ObjectStoreUrl::parse("memory://").expect("url");
        ctx.register_object_store(url.as_ref(), store.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
        Harness { runtime, store, ctx }
    }

    /// Stores `bytes` at a fresh path and returns its metadata (with the store's ETag, so that
    /// line indexes of different contents never meet).
    fn put(&self, name: &str, bytes: Vec<u8>) -> ObjectMeta {
        let path = Path::from(name);
        self.runtime.block_on(async {
            self.store.put(&path, PutPayload::from(bytes)).await.expect("put");
            self.store.head(&path).await.expect("head")
        })
    }

    /// The scan of `meta` split at `cuts` (byte offsets; none: the whole file), one partition
    /// per range.
    fn exec(
        &self,
        format: &Arc<ResolvedFormat>,
        kind: TableKind,
        meta: &ObjectMeta,
        cuts: &[u64],
        read: Read,
    ) -> Arc<dyn ExecutionPlan> {
        let compressed: HashSet<String> =
            if read.compressed { [meta.location.to_string()].into() } else { HashSet::new() };
        let options = LogTableOptions {
            table: "t".into(),
            format: format.clone(),
            kind,
            max_line_bytes: MAX_LINE,
            compressed: Arc::new(compressed),
            decoding: logfusion_lines::Decoding::Utf8,
            sorted_by: None,
            read_block: read.block,
        };
        let log_format = LogFormat::new(options);
        let schema = log_format.table_schema();
        let mut bounds = vec![0];
        bounds.extend(cuts.iter().copied());
        bounds.push(meta.size);
        let groups: Vec<FileGroup> = if cuts.is_empty() {
            vec![FileGroup::new(vec![PartitionedFile::from(meta.clone())])]
        } else {
            bounds
                .windows(2)
                .map(|w| FileGroup::new(vec![PartitionedFile::from(meta.clone()).with_range(w[0] as i64, w[1] as i64)]))
                .collect()
        };
        let source = log_format.file_source(TableSchema::from(schema));
        let url = ObjectStoreUrl::parse("memory://").expect("url");
        let config =
            FileScanConfigBuilder::new(url, source).with_file_groups(groups).with_batch_size(Some(read.batch)).build();
        DataSourceExec::from_data_source(config)
    }

    /// The batches of every partition of `exec`, in partition (that is, range) order.
    fn run(&self, exec: &Arc<dyn ExecutionPlan>) -> Vec<RecordBatch> {
        let partitions = exec.properties().output_partitioning().partition_count();
        self.run_partitions(exec, 0..partitions)
    }

    /// The batches of `partitions` of `exec`, run one after the other in that order.
    fn run_partitions(
        &self,
        exec: &Arc<dyn ExecutionPlan>,
        partitions: impl Iterator<Item = usize>,
    ) -> Vec<RecordBatch> {
        partitions
            .flat_map(|p| {
                self.runtime.block_on(async {
                    let stream = exec.execute(p, self.ctx.task_ctx()).expect("executes");
                    stream.map(|b| b.expect("batch")).collect::<Vec<_>>().await
                })
            })
            .collect()
    }

    /// The rows of `meta` split at `cuts`, in range order, as text.
    fn scan(
        &self,
        format: &Arc<ResolvedFormat>,
        kind: TableKind,
        meta: &ObjectMeta,
        cuts: &[u64],
        read: Read,
    ) -> Vec<String> {
        let batches = self.run(&self.exec(format, kind, meta, cuts, read));
        assert!(batches.iter().all(|b| b.num_rows() <= read.batch), "batches hold at most batch_size rows");
        batches.iter().flat_map(text_rows).collect()
    }
}

/// How a scan reads: line-reader block size, rows per batch, whether the file is compressed.
#[derive(Debug, Clone, Copy)]
struct Read {
    block: usize,
    batch: usize,
    compressed: bool,
}

fn text_rows(batch: &RecordBatch) -> Vec<String> {
    (0..batch.num_rows())
        .map(|r| {
            (0..batch.num_columns())
                .map(|c| array_value_to_string(batch.column(c), r).expect("displays"))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// The reads every split is tried with: tiny blocks cross every buffer boundary.
const READS: [Read; 3] = [
    Read { block: 1, batch: 3, compressed: false },
    Read { block: 7, batch: 1, compressed: false },
    Read { block: 4096, batch: 8192, compressed: false },
];

#[test]
fn every_split_gives_the_same_rows_rejects_and_line_numbers() {
    let harness = Harness::new();
    for (n, sample) in samples().into_iter().enumerate() {
        let format = resolve(&sample);
        let meta = harness.put(&format!("plain/{n}-{}.log", sample.name), sample.text.as_bytes().to_vec());
        let size = meta.size;
        for kind in [TableKind::Rows, TableKind::Rejects] {
            let whole = harness.scan(&format, kind, &meta, &[], READS[2]);
            let lines = sample.text.lines().count();
            match kind {
                TableKind::Rows => assert!(whole.len() >= 3 && whole.len() < lines, "{}: {whole:?}", sample.name),
                _ => assert!(!whole.is_empty(), "{}: the sample has rejects", sample.name),
            }
            for (i, read) in READS.iter().enumerate() {
                // Every offset with the first read; every third with the others.
                let step = if i == 0 { 1 } else { 3 };
                for cut in (1..size).step_by(step) {
                    let got = harness.scan(&format, kind, &meta, &[cut], *read);
                    assert_eq!(got, whole, "{} {kind:?} split at {cut} with {read:?}", sample.name);
                }
                let three = [size / 3, size / 3 + 1 + size / 5];
                assert_eq!(harness.scan(&format, kind, &meta, &three, *read), whole, "{} three ranges", sample.name);
            }
        }
    }
}

#[test]
fn rows_and_rejects_add_up_to_the_lines() {
    let harness = Harness::new();
    for (n, sample) in samples().into_iter().enumerate() {
        let format = resolve(&sample);
        let meta = harness.put(&format!("count/{n}.log"), sample.text.as_bytes().to_vec());
        let rows = harness.scan(&format, TableKind::Rows, &meta, &[], READS[2]);
        let rejects = harness.scan(&format, TableKind::Rejects, &meta, &[], READS[2]);
        let lines = sample.text.split('\n').count() - usize::from(sample.text.ends_with('\n'));
        assert_eq!(rows.len() + rejects.len(), lines, "{}", sample.name);
        // Line numbers are those of the file: each from 1 to the last exactly once.
        let number = |row: &String, column: usize| row.split('|').nth(column).and_then(|v| v.parse::<usize>().ok());
        let line_column = format.columns().len() + 1;
        let mut numbers: Vec<usize> = rows.iter().filter_map(|r| number(r, line_column)).collect();
        numbers.extend(rejects.iter().filter_map(|r| number(r, 1)));
        numbers.sort();
        assert_eq!(numbers, (1..=lines).collect::<Vec<_>>(), "{}", sample.name);
    }
}

fn compress(kind: &str, data: &[u8]) -> Vec<u8> {
    match kind {
        "gzip" => {
            // Two members, as logrotate and `cat` produce.
            let mut out = Vec::new();
            for half in [&data[..data.len() / 2], &data[data.len() / 2..]] {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(half).expect("gzip");
                out.extend(e.finish().expect("gzip"));
            }
            out
        }
        "zstd" => zstd::encode_all(data, 3).expect("zstd"),
        "bzip2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(data).expect("bzip2");
            e.finish().expect("bzip2")
        }
        "xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(data).expect("xz");
            e.finish().expect("xz")
        }
        other => panic!("no {other}"),
    }
}

#[test]
fn every_compression_reads_like_the_plain_file() {
    let harness = Harness::new();
    for (n, sample) in samples().into_iter().enumerate() {
        let format = resolve(&sample);
        let plain = harness.put(&format!("c/{n}.log"), sample.text.as_bytes().to_vec());
        for kind in [TableKind::Rows, TableKind::Rejects] {
            let want = harness.scan(&format, kind, &plain, &[], READS[2]);
            for compression in ["gzip", "zstd", "bzip2", "xz"] {
                let packed =
                    harness.put(&format!("c/{n}.log.{compression}"), compress(compression, sample.text.as_bytes()));
                for read in READS {
                    let read = Read { compressed: true, ..read };
                    let got = harness.scan(&format, kind, &packed, &[], read);
                    let want: Vec<String> =
                        want.iter().map(|r| r.replace(plain.location.as_ref(), packed.location.as_ref())).collect();
                    assert_eq!(got, want, "{} {compression} {kind:?} {read:?}", sample.name);
                }
            }
        }
    }
}

#[test]
fn the_health_of_ranges_adds_up_to_the_whole_file() {
    let harness = Harness::new();
    let total = |parts: Vec<FileHealth>| {
        let mut sum = FileHealth::default();
        for part in &parts {
            sum += part;
        }
        sum.examples.sort_by_key(|e| e.line);
        sum.file.clone_from(&parts[0].file);
        sum.range_start = 0;
        sum
    };
    for (n, sample) in samples().into_iter().enumerate() {
        let format = resolve(&sample);
        let meta = harness.put(&format!("h/{n}.log"), sample.text.as_bytes().to_vec());
        let whole = total(health_rows(&harness, &format, &meta, &[]));
        assert_eq!(whole.lines, whole.rows + whole.rejects, "{}", sample.name);
        assert_eq!(whole.lines as usize, sample.text.lines().count(), "{}", sample.name);
        for cut in (1..meta.size).step_by(5) {
            let parts = health_rows(&harness, &format, &meta, &[cut]);
            assert_eq!(parts.len(), 2, "one summary per range");
            assert_eq!(total(parts), whole, "{} at {cut}", sample.name);
        }
    }
}

/// The health rows of `meta` split at `cuts`, typed.
fn health_rows(harness: &Harness, format: &Arc<ResolvedFormat>, meta: &ObjectMeta, cuts: &[u64]) -> Vec<FileHealth> {
    let exec = harness.exec(format, TableKind::Profile, meta, cuts, READS[2]);
    harness.run(&exec).iter().flat_map(|b| FileHealth::from_batch(b).expect("typed")).collect()
}

/// A log scan numbered by a counting stage, as a cluster runs it: the block counts of the
/// file (counted in `count_groups` partitions) fill the line index before the ranges scan.
fn indexed(
    harness: &Harness,
    scan: Arc<dyn ExecutionPlan>,
    meta: &ObjectMeta,
    count_groups: usize,
) -> Arc<dyn ExecutionPlan> {
    use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
    let url = ObjectStoreUrl::parse("memory://").expect("url");
    let groups = crate::block_counts::block_count_groups(&[PartitionedFile::from(meta.clone())], count_groups);
    let source = Arc::new(crate::block_counts::BlockCountSource::new("t"));
    let counts =
        DataSourceExec::from_data_source(FileScanConfigBuilder::new(url, source).with_file_groups(groups).build());
    let _ = harness;
    Arc::new(crate::block_counts::IndexedScanExec::new(scan, Arc::new(CoalescePartitionsExec::new(counts))))
}

/// The first line number of a batch of `kind` rows.
fn first_line(batch: &RecordBatch, kind: TableKind, format: &ResolvedFormat) -> u64 {
    let column = match kind {
        TableKind::Rows => format.columns().len() + 1,
        _ => 1,
    };
    array_value_to_string(batch.column(column), 0).expect("displays").parse().expect("a line number")
}

/// Bytes the log scans under `plan` read to count the lines before their ranges.
fn line_index_bytes(plan: &Arc<dyn ExecutionPlan>) -> usize {
    let mut total = 0;
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>()
        && exec.downcast_to_file_source::<crate::source::LogSource>().is_some()
    {
        let metric = crate::accounting::metric::LINE_INDEX_BYTES;
        total += exec.metrics().and_then(|m| m.sum_by_name(metric)).map_or(0, |v| v.as_usize());
    }
    total + plan.children().into_iter().map(line_index_bytes).sum::<usize>()
}

#[test]
fn line_numbers_from_a_counting_stage_match_and_no_range_reads_another() {
    let harness = Harness::without_stealing();
    for (n, sample) in samples().into_iter().enumerate() {
        let format = resolve(&sample);
        let text = sample.text.repeat(8);
        let reference = harness.put(&format!("idx/{n}-whole.log"), text.as_bytes().to_vec());
        for kind in [TableKind::Rows, TableKind::Rejects] {
            let whole = harness.scan(&format, kind, &reference, &[], READS[2]);
            for (i, cut) in (1..reference.size).step_by(37).enumerate() {
                // A file of its own each time: its line index starts empty.
                let meta = harness.put(&format!("idx/{n}-{kind:?}-{i}.log"), text.as_bytes().to_vec());
                let cuts = [cut, (cut + meta.size) / 2, (cut + 3 * meta.size) / 4];
                let plan = indexed(&harness, harness.exec(&format, kind, &meta, &cuts, READS[2]), &meta, 1 + i % 3);
                // The last range first: nothing before it has been read by a scan.
                let mut batches = harness.run_partitions(&plan, (0..cuts.len() + 1).rev());
                batches.sort_by_key(|b| first_line(b, kind, &format));
                let got: Vec<String> = batches.iter().flat_map(text_rows).collect();
                let want: Vec<String> =
                    whole.iter().map(|r| r.replace(reference.location.as_ref(), meta.location.as_ref())).collect();
                assert_eq!(got, want, "{} {kind:?} cut at {cuts:?}", sample.name);
                // No range read the blocks before it to number its lines, as each range of a
                // fresh file does without the counting stage.
                assert_eq!(line_index_bytes(&plan), 0, "{} {kind:?}: a range read blocks before it", sample.name);
                let fresh = harness.put(&format!("idx/{n}-{kind:?}-{i}-plain.log"), text.as_bytes().to_vec());
                let plain = harness.exec(&format, kind, &fresh, &cuts, READS[2]);
                harness.run_partitions(&plain, (0..cuts.len() + 1).rev());
                assert!(
                    line_index_bytes(&plain) > 0,
                    "{}: without the counting stage ranges read blocks before them",
                    sample.name
                );
            }
        }
    }
}

/// A Java application log: stack traces continue their record; a file starting with a stack
/// frame, an empty line, a line that is no record, and a record longer than `MAX_LINE`.
const JAVA: &str = concat!(
    "\tat leading.Orphan(Orphan.java:1)\n",
    "2026-10-01 12:00:00,123 INFO  [main] com.example.App - started\n",
    "2026-10-01 12:00:01,000 ERROR [worker-1] com.example.Job - failed\n",
    "java.lang.IllegalStateException: boom\n",
    "\tat com.example.Job.run(Job.java:42)\r\n",
    "2026-10-01 12:00:02,500 WARN  [main] com.example.App - slow\n",
    "\n",
    "not a log line\n",
    "\tat orphan.Frame(Frame.java:1)\n",
    "2026-10-01 12:00:03,000 ERROR [main] com.example.App - too long\n",
    "\tat a.very.long.package.name.Klass.method(Klass.java:100)\n",
    "\tat a.very.long.package.name.Klass.other(Klass.java:200)\n",
    "\t... 7 more\n",
    "2026-10-01 12:00:04,000 INFO  [main] com.example.App - last\n",
    "Caused by: java.io.IOException: no newline",
);

/// Syslog whose messages continue on indented lines (RFC 3164 and 5424 alike).
const SYSLOG_CONTINUED: &str = concat!(
    "Oct 11 22:14:15 host app[1]: first\n",
    "    continued one\n",
    "\tcontinued two\r\n",
    "Oct 11 22:14:16 host app[1]: second\n",
    "<13>1 2026-10-11T22:14:17Z host app 1 - - third\n",
    "  more of third\n",
    "Foo 11 22:14:15 h a: bad month\n",
    "  continuation of a reject\n",
    "Oct 11 22:14:18 host app: last\n",
    "  tail without newline",
);

/// The multi-line samples, with the first line of each row's record and of each reject's.
fn multiline_samples() -> Vec<(Sample, Vec<usize>, Vec<usize>)> {
    let java: FormatSpec = serde_json::from_value(serde_json::json!({
        "format": "regex",
        "pattern": r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?P<level>[A-Z]+) +\[(?P<thread>[^\]]+)\] (?P<logger>\S+) - (?P<message>.*)$",
        "timestamp_format": "%Y-%m-%d %H:%M:%S,%3f",
        "columns": {"ts": "timestamp"},
        "multiline": "java"
    }))
    .expect("java spec");
    let syslog: FormatSpec =
        serde_json::from_value(serde_json::json!({"format": "syslog", "multiline": "indented"})).expect("syslog spec");
    vec![
        (Sample { name: "java", spec: java, text: JAVA }, vec![2, 3, 6, 14], vec![1, 7, 8, 10]),
        (Sample { name: "syslog_continued", spec: syslog, text: SYSLOG_CONTINUED }, vec![1, 4, 5, 9], vec![7]),
    ]
}

/// The value of `column` in each text row.
fn column_of(rows: &[String], column: usize) -> Vec<String> {
    rows.iter().map(|r| r.split('|').nth(column).unwrap_or_default().to_string()).collect()
}

#[test]
fn multi_line_records_join_their_lines_and_number_them_by_the_first() {
    let harness = Harness::new();
    for (n, (sample, row_lines, reject_lines)) in multiline_samples().into_iter().enumerate() {
        let format = resolve(&sample);
        let meta = harness.put(&format!("records/{n}.log"), sample.text.as_bytes().to_vec());
        let rows = harness.scan(&format, TableKind::Rows, &meta, &[], READS[2]);
        let rejects = harness.scan(&format, TableKind::Rejects, &meta, &[], READS[2]);
        let line_column = format.columns().len() + 1;
        let numbers = |rows: &[String], column| -> Vec<usize> {
            column_of(rows, column).iter().map(|v| v.parse().expect("a line number")).collect()
        };
        assert_eq!(numbers(&rows, line_column), row_lines, "{}: {rows:#?}", sample.name);
        assert_eq!(numbers(&rejects, 1), reject_lines, "{}: {rejects:#?}", sample.name);
        // Lines in rows plus lines in rejects are the lines of the file.
        let health = health_rows(&harness, &format, &meta, &[]);
        assert_eq!(
            (health[0].lines, health[0].rows, health[0].rejects),
            (
                sample.text.lines().count() as u64,
                health[0].lines - reject_line_count(&reject_lines, &row_lines, sample.text),
                reject_line_count(&reject_lines, &row_lines, sample.text)
            )
        );
    }
    let (java, ..) = &multiline_samples()[0];
    let format = resolve(java);
    let meta = harness.put("records/java-values.log", JAVA.as_bytes().to_vec());
    let rows = harness.scan(&format, TableKind::Rows, &meta, &[], READS[2]);
    assert_eq!(
        column_of(&rows, 4),
        [
            "started",
            "failed\njava.lang.IllegalStateException: boom\n\tat com.example.Job.run(Job.java:42)",
            "slow",
            "last\nCaused by: java.io.IOException: no newline",
        ]
    );
    let rejects = harness.scan(&format, TableKind::Rejects, &meta, &[], READS[2]);
    assert_eq!(column_of(&rejects, 3), ["regex_mismatch", "empty_line", "regex_mismatch", "line_too_long"]);
    let (syslog, ..) = &multiline_samples()[1];
    let format = resolve(syslog);
    let meta = harness.put("records/syslog-values.log", SYSLOG_CONTINUED.as_bytes().to_vec());
    let rows = harness.scan(&format, TableKind::Rows, &meta, &[], READS[2]);
    assert_eq!(
        column_of(&rows, 8),
        [
            "first\n    continued one\n\tcontinued two",
            "second",
            "third\n  more of third",
            "last\n  tail without newline"
        ]
    );
}

/// The lines of the records that became rejects: from each reject's first line to the next
/// record's first line (or the end of `text`).
fn reject_line_count(rejects: &[usize], rows: &[usize], text: &str) -> u64 {
    let total = text.lines().count() + 1;
    let mut starts: Vec<usize> = rejects.iter().chain(rows).copied().collect();
    starts.sort();
    rejects
        .iter()
        .map(|r| {
            let next = starts.iter().find(|s| *s > r).copied().unwrap_or(total);
            (next - r) as u64
        })
        .sum()
}

#[test]
fn multi_line_records_read_the_same_at_every_split_and_compressed() {
    let harness = Harness::new();
    for (n, (sample, ..)) in multiline_samples().into_iter().enumerate() {
        let format = resolve(&sample);
        let meta = harness.put(&format!("split-records/{n}.log"), sample.text.as_bytes().to_vec());
        let packed = harness.put(&format!("split-records/{n}.log.gz"), compress("gzip", sample.text.as_bytes()));
        for kind in [TableKind::Rows, TableKind::Rejects] {
            let whole = harness.scan(&format, kind, &meta, &[], READS[2]);
            for (i, read) in READS.iter().enumerate() {
                let step = if i == 0 { 1 } else { 3 };
                for cut in (1..meta.size).step_by(step) {
                    let got = harness.scan(&format, kind, &meta, &[cut], *read);
                    assert_eq!(got, whole, "{} {kind:?} split at {cut} with {read:?}", sample.name);
                }
                for cuts in [[meta.size / 3, meta.size / 2], [meta.size / 4, meta.size - 2]] {
                    let got = harness.scan(&format, kind, &meta, &cuts, *read);
                    assert_eq!(got, whole, "{} {kind:?} split at {cuts:?}", sample.name);
                }
                let got = harness.scan(&format, kind, &packed, &[], Read { compressed: true, ..*read });
                let want: Vec<String> =
                    whole.iter().map(|r| r.replace(meta.location.as_ref(), packed.location.as_ref())).collect();
                assert_eq!(got, want, "{} gzip {kind:?} {read:?}", sample.name);
            }
        }
        let whole = health_rows(&harness, &format, &meta, &[]);
        for cut in (1..meta.size).step_by(4) {
            let parts = health_rows(&harness, &format, &meta, &[cut]);
            let lines: u64 = parts.iter().map(|p| p.lines).sum();
            let rows: u64 = parts.iter().map(|p| p.rows).sum();
            let rejects: u64 = parts.iter().map(|p| p.rejects).sum();
            assert_eq!(
                (lines, rows, rejects),
                (whole[0].lines, whole[0].rows, whole[0].rejects),
                "{} at {cut}",
                sample.name
            );
        }
    }
}
