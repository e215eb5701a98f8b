//! The DataFusion [`FileFormat`] of log files, and the `logfusion.*` session options of scans.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::config::{ConfigEntry, ConfigExtension, ConfigField, ExtensionOptions};
use datafusion::common::{GetExt, Result, Statistics};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::physical_plan::{FileScanConfig, FileSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_datasource::TableSchema;
use object_store::{ObjectMeta, ObjectStore};

use crate::scan::health::health_schema;
use crate::scan::rejects::rejects_schema;
use crate::source::{LogSource, ScanSettings};
use crate::table::{LogTableOptions, TableKind};

/// Name of the provenance column holding the file a row came from.
pub const FILE_COLUMN: &str = "_file";
/// Name of the provenance column holding the 1-based line number of a row.
pub const LINE_COLUMN: &str = "_line";

/// Session options of log scans, set as `logfusion.<name>` (in `config.yaml` under
/// `datafusion:`, with `SET`, or as a `logfusion bench --matrix` key).
///
/// Written out rather than with DataFusion's `extensions_options!`, whose entries drop the
/// `logfusion.` prefix: a cluster client sends a session's options to the scheduler as its
/// entries, and unprefixed keys could not be set there (nor be told apart in
/// `information_schema.df_settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogScanOptions {
    /// Build only the columns a query uses (`true`), or parse every column and drop the
    /// unused ones (`false`: what a scan without projection pushdown costs).
    pub projection_pushdown: bool,
    /// Rejects kept as examples per reason and file range by `<table>_profile` scans.
    pub examples: usize,
    /// Fail a query when a file cannot be read to its end (`true`), or keep the lines before
    /// the damage and record a `read_error` reject with a warning (`false`).
    pub strict: bool,
    /// Plan for a cluster (set on logfusion's Ballista client and scheduler): scans that number
    /// lines of byte ranges get the lines before each range from a counting stage of their own
    /// ([`crate::IndexedScanExec`]) instead of reading the blocks before the range.
    pub cluster: bool,
}

impl Default for LogScanOptions {
    fn default() -> Self {
        LogScanOptions { projection_pushdown: true, examples: 5, strict: false, cluster: false }
    }
}

impl ConfigExtension for LogScanOptions {
    const PREFIX: &'static str = "logfusion";
}

impl ExtensionOptions for LogScanOptions {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    /// Sets `key` (without the `logfusion.` prefix, which DataFusion strips).
    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "projection_pushdown" => self.projection_pushdown.set("", value),
            "examples" => self.examples.set("", value),
            "strict" => self.strict.set("", value),
            "cluster" => self.cluster.set("", value),
            _ => datafusion::common::config_err!(
                "no option logfusion.{key} (known: projection_pushdown, examples, strict, cluster)"
            ),
        }
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        let entry = |key: &str, value: String, description: &'static str| ConfigEntry {
            key: format!("{}.{key}", Self::PREFIX),
            value: Some(value),
            description,
        };
        vec![
            entry("projection_pushdown", self.projection_pushdown.to_string(), "Build only the columns a query uses"),
            entry("examples", self.examples.to_string(), "Rejects kept as examples per reason and file range"),
            entry("strict", self.strict.to_string(), "Fail a query when a file cannot be read to its end"),
            entry("cluster", self.cluster.to_string(), "Count the lines before byte ranges in a stage of their own"),
        ]
    }
}

/// A log format as a DataFusion file format: the rows, rejects or profile of one resolved
/// format.
#[derive(Debug, Clone)]
pub struct LogFormat {
    options: Arc<LogTableOptions>,
}

impl LogFormat {
    /// A file format for `options`.
    pub fn new(options: LogTableOptions) -> Self {
        LogFormat { options: Arc::new(options) }
    }

    /// The options this format scans with.
    pub fn options(&self) -> &LogTableOptions {
        &self.options
    }

    /// The schema of the table: the format's columns then `_file` and `_line`; or the
    /// rejects or profile schema.
    pub fn table_schema(&self) -> SchemaRef {
        match self.options.kind {
            TableKind::Rejects => rejects_schema(),
            TableKind::Profile => health_schema(),
            TableKind::Rows => {
                let mut fields: Vec<Field> =
                    self.options.format.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
                fields.push(Field::new(FILE_COLUMN, DataType::Utf8, false));
                fields.push(Field::new(LINE_COLUMN, DataType::UInt64, false));
                Arc::new(Schema::new(fields))
            }
        }
    }
}

#[async_trait]
impl FileFormat for LogFormat {
    fn get_ext(&self) -> String {
        "log".to_string()
    }

    fn get_ext_with_compression(&self, compression: &FileCompressionType) -> Result<String> {
        Ok(format!("log{}", compression.get_ext()))
    }

    /// `None`: compression is detected per file from its first bytes.
    fn compression_type(&self) -> Option<FileCompressionType> {
        None
    }

    async fn infer_schema(
        &self,
        _state: &dyn Session,
        _store: &Arc<dyn ObjectStore>,
        _objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        Ok(self.table_schema())
    }

    async fn infer_stats(
        &self,
        _state: &dyn Session,
        _store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        _object: &ObjectMeta,
    ) -> Result<Statistics> {
        Ok(Statistics::new_unknown(&table_schema))
    }

    async fn create_physical_plan(
        &self,
        state: &dyn Session,
        mut conf: FileScanConfig,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let settings =
            state.config_options().extensions.get::<LogScanOptions>().map_or_else(ScanSettings::default, |o| {
                ScanSettings {
                    projection_pushdown: o.projection_pushdown,
                    examples_per_reason: o.examples,
                    strict: o.strict,
                }
            });
        if let Some(source) = conf.file_source.downcast_ref::<LogSource>() {
            conf.file_source = Arc::new(source.with_settings(settings));
        }
        Ok(DataSourceExec::from_data_source(conf))
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        Arc::new(LogSource::new(table_schema, self.options.clone()))
    }
}
