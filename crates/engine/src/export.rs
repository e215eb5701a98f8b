//! Export of whole log tables to Parquet for analysts: zstd, hive-partitioned by source and/or
//! date, types kept (timestamps stay `Timestamp(µs, "UTC")`), provenance columns included.

use std::path::Path;

use datafusion::config::TableParquetOptions;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::SessionContext;

use crate::environment::Environment;
use crate::error::{EngineError, Result};
use crate::output::PARQUET_ZSTD_LEVEL;

/// Hive partition keys `export` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionKey {
    /// `source=<table>` directories.
    Source,
    /// `date=YYYY-MM-DD` directories (UTC day of `ts`).
    Date,
}

impl PartitionKey {
    /// Parses a comma-separated list such as `date,source`.
    pub fn parse_list(text: &str) -> Result<Vec<PartitionKey>> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s {
                "source" => Ok(PartitionKey::Source),
                "date" => Ok(PartitionKey::Date),
                other => Err(EngineError::Argument {
                    name: "--partition-by".into(),
                    message: format!("unknown key {other:?} (use date, source)"),
                }),
            })
            .collect()
    }
}

/// What one table's export wrote.
#[derive(Debug, Clone)]
pub struct ExportedTable {
    /// Table name.
    pub table: String,
    /// Rows written.
    pub rows: u64,
}

/// Writes every table of `env` under `out`, with the same zstd level as every other Parquet
/// file logfusion writes.
pub async fn export_tables(env: &Environment, out: &Path, partition_by: &[PartitionKey]) -> Result<Vec<ExportedTable>> {
    let session = env.session()?;
    let ctx: &SessionContext = &session.ctx;
    let catalog = &env.catalog;
    let mut parquet = TableParquetOptions::default();
    parquet.global.compression = Some(format!("zstd({PARQUET_ZSTD_LEVEL})"));
    let mut written = Vec::new();
    for table in &catalog.tables {
        let has_ts = table.format.columns().iter().any(|c| c.name == "ts");
        let by_date = partition_by.contains(&PartitionKey::Date);
        if by_date && !has_ts {
            return Err(EngineError::Argument {
                name: "--partition-by date".into(),
                message: format!("table {} has no ts column", table.name),
            });
        }
        let dir = if partition_by.contains(&PartitionKey::Source) {
            out.join(format!("source={}", table.name))
        } else if catalog.tables.len() > 1 {
            out.join(&table.name)
        } else {
            out.to_path_buf()
        };
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::write(&dir, e))?;
        let sql = if by_date {
            // Rows without a timestamp land in date=__HIVE_DEFAULT_PARTITION__ style null partitions.
            format!("SELECT *, to_char(ts, '%Y-%m-%d') AS date FROM \"{}\"", table.name)
        } else {
            format!("SELECT * FROM \"{}\"", table.name)
        };
        let df = ctx.sql(&sql).await?;
        let mut options = DataFrameWriteOptions::new();
        if by_date {
            options = options.with_partition_by(vec!["date".to_string()]);
        }
        let path = format!("{}/", dir.display());
        let result = df.write_parquet(&path, options, Some(parquet.clone())).await?;
        let rows = result
            .first()
            .and_then(|b| b.column(0).as_any().downcast_ref::<datafusion::arrow::array::UInt64Array>())
            .map(|a| a.value(0))
            .unwrap_or(0);
        written.push(ExportedTable { table: table.name.clone(), rows });
    }
    Ok(written)
}
