//! `logfusion export`: hive-partitioned Parquet that round-trips, and that DuckDB, pyarrow and
//! Polars read with the same rows and types.

use crate::common::{logfusion, query_csv, samples};

fn export(cwd: &std::path::Path, partition_by: &str) -> std::path::PathBuf {
    let out = cwd.join("export");
    let run = logfusion(cwd)
        .args(["export", "--log-dir"])
        .arg(samples())
        .args(["--partition-by", partition_by, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    out
}

#[test]
fn export_round_trips_with_types() {
    let tmp = tempfile::tempdir().unwrap();
    let out = export(tmp.path(), "date,source");
    let d = samples();
    let args = ["--log-dir", d.to_str().unwrap()];
    for table in ["access", "syslog", "json", "logfmt"] {
        let source = query_csv(tmp.path(), &args, &format!("SELECT count(*) FROM {table}"));
        let dir = out.join(format!("source={table}"));
        assert!(dir.join("date=2026-10-01").is_dir(), "hive folder for {table}");
        let back = query_csv(tmp.path(), &args, &format!("SELECT count(*) FROM '{}/'", dir.display()));
        assert_eq!(source, back, "{table}");
    }
    let types = query_csv(
        tmp.path(),
        &args,
        &format!(
            "SELECT arrow_typeof(ts) = 'Timestamp(µs, \"UTC\")', arrow_typeof(status), arrow_typeof(bytes) \
             FROM '{}/source=access/' LIMIT 1",
            out.display()
        ),
    );
    assert_eq!(types, [["true", "UInt16", "UInt64"].map(String::from).to_vec()]);
}

const READERS: &str = r#"
import json, sys
import duckdb, pyarrow.dataset as ds, polars as pl
root = sys.argv[1]
t = ds.dataset(root, format="parquet", partitioning="hive").to_table()
pa_ts = str(t.schema.field("ts").type)
con = duckdb.connect()
dd = con.sql(f"SELECT count(*), any_value(typeof(ts)), any_value(typeof(status)) FROM read_parquet('{root}/**/*.parquet', hive_partitioning=true)").fetchall()[0]
pf = pl.scan_parquet(f"{root}/**/*.parquet", hive_partitioning=True).collect()
print(json.dumps({"pyarrow": [t.num_rows, pa_ts, str(t.schema.field("status").type)],
                  "duckdb": [dd[0], dd[1], dd[2]],
                  "polars": [pf.height, str(pf.schema["ts"]), str(pf.schema["status"])]}))
"#;

/// DuckDB, pyarrow and Polars read the export. Needs Python with those modules: `.ci/run`
/// installs them and sets LOGFUSION_REQUIRE_INTEROP=1, which turns a missing module into a
/// failure instead of a skip.
#[test]
fn duckdb_pyarrow_and_polars_read_the_export() {
    let python = std::env::var("LOGFUSION_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let required = std::env::var_os("LOGFUSION_REQUIRE_INTEROP").is_some();
    let probe = std::process::Command::new(&python).args(["-c", "import duckdb, pyarrow, polars"]).output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        assert!(!required, "LOGFUSION_REQUIRE_INTEROP is set but {python} lacks duckdb/pyarrow/polars");
        eprintln!("skipping: {python} has no duckdb/pyarrow/polars (set LOGFUSION_PYTHON)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = export(tmp.path(), "date,source");
    let access = out.join("source=access");
    let run = std::process::Command::new(&python).args(["-c", READERS]).arg(&access).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let got: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(got["pyarrow"], serde_json::json!([99, "timestamp[us, tz=UTC]", "uint16"]));
    assert_eq!(got["duckdb"], serde_json::json!([99, "TIMESTAMP WITH TIME ZONE", "USMALLINT"]));
    assert_eq!(got["polars"], serde_json::json!([99, "Datetime(time_unit='us', time_zone='UTC')", "UInt16"]));
}
