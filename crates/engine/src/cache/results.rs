//! Stored results of statements (see the module doc of [`super`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::LogicalPlan;
use logfusion_datasource::{LogTable, TableKind};
use serde::{Deserialize, Serialize};

use super::{Cache, calls_changing_function, key_of, plan_of, touch, write_atomic};
use crate::catalog::Catalog;
use crate::error::{EngineError, Result};
use crate::metrics::TableScanStats;
use crate::session::{Session, SessionSettings};

/// What a statement's stored result is keyed by: logfusion's version, the SQL, the session's
/// settings, and for every table it reads the table's format and the identity of each file.
#[derive(Serialize)]
struct ResultKey<'a> {
    logfusion: &'static str,
    sql: &'a str,
    options: &'a [(String, String)],
    /// Partitions and batch size: float sums depend on the order rows meet in.
    partitions: usize,
    batch_size: usize,
    tables: BTreeMap<String, String>,
}

/// The fingerprint of a log table: its format and each file's identity.
fn fingerprint(table: &LogTable) -> Result<String> {
    #[derive(Serialize)]
    struct File<'a> {
        store: &'a str,
        location: &'a str,
        member: Option<&'a str>,
        size: u64,
        modified_micros: i64,
        e_tag: Option<&'a str>,
    }
    let files: Vec<File<'_>> = table
        .files
        .iter()
        .map(|f| File {
            store: f.store.as_str(),
            location: f.meta.location.as_ref(),
            member: f.member.as_ref().map(|m| m.path.as_str()),
            size: f.meta.size,
            modified_micros: f.meta.last_modified.timestamp_micros(),
            e_tag: f.meta.e_tag.as_deref(),
        })
        .collect();
    key_of(&(table.format.spec(), table.format.time_rules(), table.format.columns(), files))
}

/// The key of the result of `sql` in `session`, or `None` when it must not be stored: it
/// calls a function whose result can change (`now()`, `random()`), reads a table that is not
/// a log table of `catalog` (a view, a table a statement creates), changes something, or
/// cannot be planned before the suite runs.
pub(crate) async fn key(
    session: &Session,
    sql: &str,
    catalog: &Catalog,
    settings: &SessionSettings,
) -> Result<Option<String>> {
    let Some(plan) = plan_of(session, sql).await else { return Ok(None) };
    let mut volatile = false;
    let mut names = Vec::new();
    plan.apply_with_subqueries(|node| {
        if node.expressions().iter().any(calls_changing_function) {
            volatile = true;
        }
        match node {
            LogicalPlan::TableScan(scan) => names.push(scan.table_name.table().to_string()),
            // Values and EXPLAIN are fine; anything that changes something is not stored.
            LogicalPlan::Extension(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::Dml(_)
            | LogicalPlan::Ddl(_)
            | LogicalPlan::Statement(_) => volatile = true,
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    if volatile {
        return Ok(None);
    }
    let mut tables = BTreeMap::new();
    for name in names {
        let table = catalog.tables.iter().find(|t| TableKind::ALL.iter().any(|k| k.table_name(&t.name) == name));
        match table {
            Some(table) => {
                tables.insert(name, fingerprint(table)?);
            }
            None => return Ok(None),
        }
    }
    let key = ResultKey {
        logfusion: env!("CARGO_PKG_VERSION"),
        sql,
        options: &settings.options,
        partitions: settings.partitions,
        batch_size: settings.batch_size,
        tables,
    };
    Ok(Some(key_of(&key)?))
}

/// What a stored result holds besides its rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResultMeta {
    /// Rows of the result.
    pub rows: u64,
    /// Its columns.
    pub columns: Vec<String>,
    /// Its first rows, as text.
    pub preview: Vec<Vec<String>>,
    /// The line accounting of the run that computed it.
    pub sources: BTreeMap<String, TableScanStats>,
    /// Whether it has a Parquet file (a statement without columns has none).
    pub has_rows_file: bool,
}

/// A stored result.
pub(crate) struct Stored {
    /// Its rows, as Parquet.
    pub parquet: PathBuf,
    /// The rest.
    pub meta: ResultMeta,
}

fn paths(cache: &Cache, key: &str) -> (PathBuf, PathBuf) {
    let dir = cache.dir.join("results");
    (dir.join(format!("{key}.json")), dir.join(format!("{key}.parquet")))
}

/// The stored result of `key`, if there is a whole one.
pub(crate) fn lookup(cache: &Cache, key: &str) -> Option<Stored> {
    let (meta_path, parquet) = paths(cache, key);
    let meta: ResultMeta = serde_json::from_slice(&std::fs::read(&meta_path).ok()?).ok()?;
    if meta.has_rows_file && !parquet.is_file() {
        return None;
    }
    touch(&meta_path);
    touch(&parquet);
    Some(Stored { parquet, meta })
}

/// Stores the result of `key`: the Parquet file `rows` (as the statement wrote it) and `meta`.
pub(crate) fn store(cache: &Cache, key: &str, rows: Option<&Path>, meta: &ResultMeta) -> Result<()> {
    let (meta_path, parquet) = paths(cache, key);
    if let Some(rows) = rows {
        let temp = crate::output::temp_beside(&parquet)?;
        std::fs::copy(rows, temp.path()).map_err(|e| EngineError::write(&parquet, e))?;
        temp.persist(&parquet).map_err(|e| EngineError::write(&parquet, e.error))?;
    }
    let json = serde_json::to_vec(meta).map_err(|e| EngineError::write(&meta_path, e))?;
    write_atomic(&meta_path, &json)
}

/// Sample rejects stored for `key` (the query that found them), if any.
pub(crate) fn lookup_samples(cache: &Cache, key: &str) -> Option<Vec<(String, String, String)>> {
    let path = cache.dir.join("results").join(format!("{key}.samples.json"));
    let samples = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    touch(&path);
    Some(samples)
}

/// Stores the sample rejects `samples` found by the query of `key`.
pub(crate) fn store_samples(cache: &Cache, key: &str, samples: &[(String, String, String)]) -> Result<()> {
    let path = cache.dir.join("results").join(format!("{key}.samples.json"));
    let json = serde_json::to_vec(samples).map_err(|e| EngineError::write(&path, e))?;
    write_atomic(&path, &json)
}
