//! Files that change between listing and scan, or during it: each test lists a folder (an
//! [`Environment`] is built), changes a file on disk at that moment, and then queries. The
//! scan must read each file as it was listed, report what it cannot read as a `read_error`
//! reject, and finish the query; in strict mode the damage is the query's error.

use std::io::Write;
use std::path::Path;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use futures::StreamExt;

use crate::{Environment, EnvironmentOptions, ValidateOptions, validate};

fn line(i: usize) -> String {
    format!("10.0.0.{} - - [01/Oct/2026:00:00:{:02} +0000] \"GET /p{i} HTTP/1.1\" 200 5 \"-\" \"t\"\n", i % 250, i % 60)
}

fn write_lines(path: &Path, n: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        f.write_all(line(i).as_bytes()).unwrap();
    }
    f.flush().unwrap();
}

fn environment(dir: &Path, config: &str) -> Environment {
    let config_path = dir.join("config.yaml");
    std::fs::write(&config_path, config).unwrap();
    Environment::load(&EnvironmentOptions {
        config: Some(config_path),
        log_dir: Some(dir.join("logs").to_string_lossy().into_owned()),
        format: Some("access".into()),
        ..Default::default()
    })
    .unwrap()
}

/// The single number `sql` answers.
fn number(env: &Environment, sql: &str) -> i64 {
    let session = env.session().unwrap();
    let batches = env.runtime().block_on(async { session.ctx.sql(sql).await?.collect().await }).unwrap();
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

/// `(file, detail)` of every `read_error` reject.
fn read_errors(env: &Environment) -> Vec<(String, String)> {
    let session = env.session().unwrap();
    let sql = "SELECT file, detail FROM access_rejects WHERE reason = 'read_error' ORDER BY file";
    let batches = env.runtime().block_on(async { session.ctx.sql(sql).await?.collect().await }).unwrap();
    let mut out = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            out.push((
                b.column(0).as_string::<i32>().value(r).to_string(),
                b.column(1).as_string::<i32>().value(r).to_string(),
            ));
        }
    }
    out
}

fn folder(lines: &[(&str, usize)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    for (name, n) in lines {
        write_lines(&dir.path().join("logs").join(name), *n);
    }
    dir
}

#[test]
fn appended_lines_wait_for_the_next_query_and_a_half_written_line_is_no_reject() {
    let dir = folder(&[("a.log", 100)]);
    let log = dir.path().join("logs/a.log");
    let partial = line(100);
    std::fs::OpenOptions::new().append(true).open(&log).unwrap().write_all(&partial.as_bytes()[..20]).unwrap();
    let env = environment(dir.path(), "");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&partial.as_bytes()[20..]).unwrap();
    for i in 101..150 {
        f.write_all(line(i).as_bytes()).unwrap();
    }
    assert_eq!(number(&env, "SELECT count(*) FROM access"), 100, "the lines complete at listing");
    assert_eq!(number(&env, "SELECT count(*) FROM access_rejects"), 0, "the unfinished line is not a reject");
    let again = environment(dir.path(), "");
    assert_eq!(number(&again, "SELECT count(*) FROM access"), 150, "the next listing reads them all");
}

#[test]
fn truncated_deleted_and_replaced_files_are_read_errors_and_the_query_completes() {
    let dir = folder(&[
        ("deleted.log", 10),
        ("good.log", 30),
        ("replaced.log", 10),
        ("shrunk.log", 1000),
        ("unreadable.log", 10),
    ]);
    let logs = dir.path().join("logs");
    let env = environment(dir.path(), "");
    std::fs::remove_file(logs.join("deleted.log")).unwrap();
    let shrunk = std::fs::OpenOptions::new().write(true).open(logs.join("shrunk.log")).unwrap();
    shrunk.set_len(5000).unwrap();
    std::fs::remove_file(logs.join("replaced.log")).unwrap();
    write_lines(&logs.join("replaced.log"), 10);
    std::fs::remove_file(logs.join("unreadable.log")).unwrap();
    std::fs::create_dir(logs.join("unreadable.log")).unwrap();

    let rows = number(&env, "SELECT count(*) FROM access");
    assert_eq!(rows, 30, "only the file that did not change is read");
    let errors = read_errors(&env);
    let names: Vec<&str> = errors.iter().map(|(f, _)| f.rsplit('/').next().unwrap_or_default()).collect();
    assert_eq!(names, ["deleted.log", "replaced.log", "shrunk.log", "unreadable.log"], "{errors:?}");
    assert!(errors[1].1.contains("replaced"), "{errors:?}");
    assert!(errors[2].1.contains("shrank from"), "{errors:?}");

    // validate says so: a read error is never a PASS.
    let report = env.runtime().block_on(validate(&env, &ValidateOptions { examples: 3 })).unwrap();
    assert_eq!(report.read_errors, 4);
    assert!(!report.passes(1.0));
}

#[test]
fn a_file_that_shrinks_mid_scan_is_a_read_error_or_in_strict_mode_the_query_error() {
    for strict in [false, true] {
        let dir = folder(&[("big.log", 200_000)]);
        let config = format!("batch_size: 1024\nmax_workers: 1\ndatafusion:\n  logfusion.strict: {strict}\n");
        let env = environment(dir.path(), &config);
        let session = env.session().unwrap();
        let log = dir.path().join("logs/big.log");
        let outcome = env.runtime().block_on(async {
            let mut stream = session.ctx.sql("SELECT status FROM access").await?.execute_stream().await?;
            let mut rows = stream.next().await.expect("a first batch")?.num_rows();
            // The scan has read at most a few batches ahead: cut the file well past them.
            std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(4 << 20).unwrap();
            while let Some(batch) = stream.next().await {
                rows += batch?.num_rows();
            }
            Ok::<_, datafusion::error::DataFusionError>(rows)
        });
        match (strict, outcome) {
            (false, Ok(rows)) => assert!(rows > 1024 && rows < 200_000, "the lines before the damage: {rows}"),
            (true, Err(e)) => assert!(crate::one_line(&e).contains("shrank while it was read"), "{e}"),
            (strict, other) => panic!("strict={strict}: {other:?}"),
        }
    }
}

/// A file made unreadable after listing. Root reads files whatever their mode, so as root the
/// test runs itself again as `nobody` (with `setpriv`).
#[cfg(unix)]
#[test]
fn a_file_made_unreadable_after_listing_is_a_read_error() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no preconditions and only reads the process's credentials.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        if std::env::var_os("LOGFUSION_TEST_AS_NOBODY").is_some() {
            panic!("still root after setpriv");
        }
        let exe = std::env::current_exe().unwrap();
        let Ok(status) = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&exe)
            .args(["--exact", "changing_files_tests::a_file_made_unreadable_after_listing_is_a_read_error"])
            .env("LOGFUSION_TEST_AS_NOBODY", "1")
            .env("HOME", std::env::temp_dir())
            .status()
        else {
            eprintln!("skipping: no setpriv to run as nobody");
            return;
        };
        assert!(status.success(), "the test as nobody failed");
        return;
    }
    let dir = folder(&[("a.log", 10), ("b.log", 20)]);
    let env = environment(dir.path(), "");
    let b = dir.path().join("logs/b.log");
    std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o000)).unwrap();
    assert_eq!(number(&env, "SELECT count(*) FROM access"), 10);
    let errors = read_errors(&env);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].0.ends_with("b.log") && errors[0].1.contains("ermission denied"), "{errors:?}");
}
