//! Helpers shared by the integration tests: running the real `logfusion` binary and reading
//! its CSV output.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A free TCP port on loopback (free when asked; the processes bind it right after), never
/// one this test binary handed out before: a released port can come back from the next
/// `bind(0)`, and two executors given the same port fail with "Address already in use".
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// The bundled sample data.
pub fn samples() -> PathBuf {
    repo().join("data/samples")
}

/// The `logfusion` binary, run in an empty temporary directory (no stray config.yaml), with
/// its state folder (the logs written without a config file) in `cwd/.state`.
pub fn logfusion(cwd: &Path) -> Command {
    let mut cmd = Command::cargo_bin("logfusion").expect("binary built");
    cmd.current_dir(cwd).env_remove("RUST_LOG").env("RUST_BACKTRACE", "0").env("XDG_STATE_HOME", cwd.join(".state"));
    cmd
}

/// The repository's config.yaml with its paths made absolute, written to `dir/config.yaml`:
/// the sample sources from anywhere, with the logs beside the copy.
pub fn sample_config(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("config.yaml")).expect("config.yaml");
    let data = repo().join("data");
    let text = text.replace("path: data/", &format!("path: {}/", data.display()));
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Runs a query with `--output csv` and returns the rows (header dropped), failing with the
/// command's stderr if it does not succeed.
pub fn query_csv(cwd: &Path, args: &[&str], sql: &str) -> Vec<Vec<String>> {
    let out = logfusion(cwd).arg("query").args(args).args(["--output", "csv", sql]).output().expect("runs");
    assert!(out.status.success(), "query failed: {sql}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8 output");
    text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// Lines as `wc -l` would count them, plus a final line without `\n`.
pub fn count_lines(bytes: &[u8]) -> u64 {
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    newlines + u64::from(bytes.last().is_some_and(|&b| b != b'\n'))
}

/// Decompressed bytes of a sample file (gzip by magic), for counting its lines.
pub fn read_plain(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).expect("readable sample");
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&raw[..]), &mut out).expect("gzip");
        out
    } else {
        raw
    }
}

/// `data` gzip-compressed.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut e, data).expect("gzip");
    e.finish().expect("gzip")
}
