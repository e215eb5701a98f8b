//! End-to-end scan throughput (MB/s of log read): file → line reader → parser → record
//! batches → DataFusion, through the real session, for `count(*)` (lines validated, no values
//! built), one column, and every column. The input is the bundled sample access log (with
//! its rejects) repeated to 16 MiB. Run: `cargo bench -p logfusion-engine --bench scan`.

#![expect(missing_docs, reason = "criterion's macros generate undocumented entry points")]

use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logfusion_engine::{Environment, EnvironmentOptions, SessionSettings};

const TARGET_BYTES: usize = 16 << 20;

fn scan(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sample = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples/access/access.log"))
        .expect("bundled sample");
    let path = dir.path().join("access.log");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut written = 0;
    while written < TARGET_BYTES {
        file.write_all(&sample).expect("write");
        written += sample.len();
    }
    file.flush().expect("flush");
    drop(file);

    let options = EnvironmentOptions { log_dir: Some(path.to_string_lossy().into_owned()), ..Default::default() };
    let env = Environment::load(&options).expect("environment");
    let mut group = c.benchmark_group("scan_access_16MiB");
    group.throughput(Throughput::Bytes(written as u64)).sample_size(20);
    for workers in [1, 2] {
        let settings = SessionSettings { partitions: workers, ..env.settings.clone() };
        let ctx = env.session_with(&settings).expect("session").ctx;
        for (label, sql) in [
            ("count", "SELECT count(*) FROM access"),
            ("one_column", "SELECT status, count(*) FROM access GROUP BY status"),
            ("all_columns", "SELECT * FROM access"),
        ] {
            group.bench_function(format!("{label}/{workers}_workers"), |b| {
                b.iter(|| {
                    env.runtime().block_on(async {
                        let mut rows = 0;
                        let mut stream = ctx.sql(sql).await.expect("plans").execute_stream().await.expect("runs");
                        while let Some(batch) = futures::StreamExt::next(&mut stream).await {
                            rows += batch.expect("batch").num_rows();
                        }
                        rows
                    })
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
