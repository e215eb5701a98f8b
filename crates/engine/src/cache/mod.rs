//! The cache of `logfusion run`: parse once, query many.
//!
//! - **Tables** ([`tables`]): before a suite runs, the columns its statements read are worked
//!   out per log table, and each table is parsed once with those columns; each file's rows go
//!   to an Arrow IPC entry (LZ4) of the cache folder, keyed by the file's identity (store, path,
//!   size, modification time, ETag, archive member) and the table's format, and the suite's
//!   statements read the parsed columns (from memory when they fit `cache.memory`, else from
//!   the entries). A later run reads the entries of unchanged files instead of parsing them;
//!   a file that grew since (same inode, same bytes where it used to end) keeps its entry and
//!   only its new lines are parsed. A changed file is a different key: a stale entry is never
//!   read.
//! - **Results** ([`results`]): a statement whose SQL, settings and tables (every file's
//!   identity) are those of a stored result is answered from it; statements calling volatile
//!   functions (`now()`, `random()`) are never stored.
//!
//! Entries are written to a temporary file and renamed, so a killed run leaves no half entry;
//! an entry that cannot be read is dropped and rebuilt. The folder is kept under
//! `cache.max_bytes` by removing the least recently used entries.

pub(crate) mod results;
pub(crate) mod tables;

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use datafusion::common::tree_node::TreeNode;
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};

use crate::config::CacheConfig;
use crate::error::{EngineError, Result};
use crate::session::Session;

/// The cache folder of a run and its budgets.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
    memory: u64,
    results: bool,
}

impl Cache {
    /// The cache `config` describes, or `None` when it is off or has no folder.
    pub fn open(config: &CacheConfig) -> Result<Option<Cache>> {
        if !config.enabled {
            return Ok(None);
        }
        let Some(dir) = config.folder() else { return Ok(None) };
        for sub in ["tables", "results"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| EngineError::write(dir.join(sub), e))?;
        }
        Ok(Some(Cache { dir, max_bytes: config.max_bytes.0, memory: config.memory.0, results: config.results }))
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether results are cached.
    pub fn caches_results(&self) -> bool {
        self.results
    }

    /// Memory a run may keep parsed columns in.
    pub fn memory(&self) -> u64 {
        self.memory
    }

    /// Removes the least recently used entries until the folder is within `max_bytes`;
    /// returns the bytes removed.
    pub fn evict(&self) -> Result<u64> {
        let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = Vec::new();
        for sub in ["tables", "results"] {
            let Ok(entries) = std::fs::read_dir(self.dir.join(sub)) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if let Ok(meta) = entry.metadata()
                    && meta.is_file()
                {
                    let used = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                    files.push((used, meta.len(), path));
                }
            }
        }
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        files.sort();
        let mut removed = 0;
        for (_, len, path) in files {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
                removed += len;
            }
        }
        Ok(removed)
    }
}

/// The logical plan of `sql` in `session`, planned without running anything (`CREATE`
/// statements too), or `None` when it cannot be planned before the suite runs (it reads a
/// view an earlier statement creates, or it is wrong: running it reports why).
pub(crate) async fn plan_of(session: &Session, sql: &str) -> Option<LogicalPlan> {
    match session.ctx.state().create_logical_plan(sql).await {
        Ok(plan) => Some(plan),
        Err(e) => {
            tracing::debug!("cache: cannot plan before the run ({e}): {sql}");
            None
        }
    }
}

/// Whether `expr` calls a function whose result may change between calls with the same
/// arguments (volatile like `random()`, or stable within a statement like `now()`).
pub(crate) fn calls_changing_function(expr: &Expr) -> bool {
    expr.exists(|e| {
        let volatility = match e {
            Expr::ScalarFunction(f) => f.func.signature().volatility,
            Expr::AggregateFunction(f) => f.func.signature().volatility,
            Expr::WindowFunction(w) => w.fun.signature().volatility,
            _ => Volatility::Immutable,
        };
        Ok(volatility != Volatility::Immutable)
    })
    .unwrap_or(true)
}

/// A stable key of `material`: the SHA-256 of its JSON, in hex.
pub(crate) fn key_of(material: &impl Serialize) -> Result<String> {
    let json = serde_json::to_vec(material)
        .map_err(|e| EngineError::Read { path: "cache key".into(), message: e.to_string() })?;
    Ok(hex(&Sha256::digest(&json)))
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Marks `path` as just used (its modification time orders eviction).
fn touch(path: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(path)
        && let Err(e) = file.set_modified(std::time::SystemTime::now())
    {
        tracing::debug!("cache: cannot mark {} as used: {e}", path.display());
    }
}

/// Writes `bytes` to `path` atomically (a temporary file beside it, renamed).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut temp = crate::output::temp_beside(path)?;
    std::io::Write::write_all(&mut temp, bytes).map_err(|e| EngineError::write(path, e))?;
    temp.persist(path).map_err(|e| EngineError::write(path, e.error))?;
    Ok(())
}
