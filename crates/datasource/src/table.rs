//! Log tables in a DataFusion session. Each [`LogTable`] (a name, a resolved format and its
//! sniffed files) is registered as three tables: the rows (`<name>`), the rejects
//! (`<name>_rejects`) and the per-range health used by `validate` (`<name>_profile`).
//!
//! The provider is logfusion's own rather than a `ListingTable`: the files were listed and
//! sniffed once, so a query plans over that list instead of listing every location again,
//! and the provider can be serialised for a cluster (a `ListingTable` with a custom format
//! cannot).

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::Result;
use datafusion::datasource::TableProvider;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::physical_plan::FileScanConfigBuilder;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use datafusion_datasource::file_groups::FileGroup;
use datafusion_datasource::{PartitionedFile, TableSchema};
use logfusion_formats::ResolvedFormat;

use crate::archive::ArchiveMember;
use crate::block_counts::{BlockCountSource, IndexedScanExec, block_count_groups};
use crate::discover::LogFile;
use crate::error::{Error, Result as SourceResult};
use crate::file_format::{LogFormat, LogScanOptions};
use crate::location::store_for;
use datafusion::arrow::compute::SortOptions;
use datafusion::physical_expr::{LexOrdering, PhysicalExpr, PhysicalSortExpr};
use datafusion::physical_plan::expressions::Column;
use logfusion_lines::{Compression, Decoding};

/// What a log table yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TableKind {
    /// Parsed rows: the format's columns, then `_file` and `_line`.
    Rows,
    /// One row per rejected line (see [`crate::rejects_schema`]).
    Rejects,
    /// One health summary per file range, for `validate` (see [`crate::health_schema`]).
    Profile,
}

impl TableKind {
    /// Every kind, in registration order.
    pub const ALL: [TableKind; 3] = [TableKind::Rows, TableKind::Rejects, TableKind::Profile];

    /// The name of this kind's table for the log table `base`.
    pub fn table_name(self, base: &str) -> String {
        match self {
            TableKind::Rows => base.to_string(),
            TableKind::Rejects => format!("{base}_rejects"),
            TableKind::Profile => format!("{base}_profile"),
        }
    }
}

/// Everything about a log table the scan needs: format, kind, limits, which files are
/// compressed (so they are never split into byte ranges).
#[derive(Debug, Clone)]
pub struct LogTableOptions {
    /// Name of the log table (for reports; the same for its rejects and profile tables).
    pub table: String,
    /// The resolved format of every file of the table.
    pub format: Arc<ResolvedFormat>,
    /// Rows, rejects or profile.
    pub kind: TableKind,
    /// Lines longer than this are rejected without being buffered.
    pub max_line_bytes: usize,
    /// Object-store paths known to be compressed, whatever their extension.
    pub compressed: Arc<HashSet<String>>,
    /// How the text is decoded once decompressed; a transcoding decoding reads every file as
    /// one stream.
    pub decoding: Decoding,
    /// The timestamp column every file is in ascending order of, as the source declares
    /// (`sorted_by`): rows scans say so to DataFusion and check it as they read.
    pub sorted_by: Option<String>,
    /// Bytes the line reader asks for at once ([`DEFAULT_READ_BLOCK`]; tests use tiny blocks
    /// to cross every buffer boundary).
    pub read_block: usize,
}

/// Most files a table declared `sorted_by` scans as one partition each (each open at once,
/// with its read buffer): past this, its order is not declared.
const MAX_ORDERED_FILES: usize = 64;

/// Bytes a scan reads at once: large enough that a read is a few hundred microseconds of
/// parsing, small enough to keep a few per partition in memory.
pub const DEFAULT_READ_BLOCK: usize = 1 << 20;

impl LogTableOptions {
    /// Whether `file` is compressed (by its name or its sniffed first bytes) or transcoded:
    /// either way it is read as one stream, never split into byte ranges.
    pub fn is_compressed(&self, file: &PartitionedFile) -> bool {
        let location = file.object_meta.location.as_ref();
        self.decoding.transcodes()
            || Compression::from_extension(location).is_compressed()
            || self.compressed.contains(location)
    }
}

/// One log table: its name, the format its files are read with, and the files.
#[derive(Debug, Clone)]
pub struct LogTable {
    /// Table name (its rejects are in `<name>_rejects`, its health in `<name>_profile`).
    pub name: String,
    /// The format every file is read with.
    pub format: Arc<ResolvedFormat>,
    /// Whether the format was detected (rather than configured).
    pub detected: bool,
    /// How the files' text is decoded (UTF-8 unless the source names an encoding).
    pub decoding: Decoding,
    /// The timestamp column every file is in ascending order of, if the source says so.
    pub sorted_by: Option<String>,
    /// The files, all in one store.
    pub files: Vec<LogFile>,
}

impl LogTable {
    /// Total bytes of the files, as listed.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(LogFile::size).sum()
    }

    /// The store of the table's files; an error if they are in more than one.
    pub fn store_url(&self) -> SourceResult<ObjectStoreUrl> {
        let first = self.files.first().map(|f| f.store.clone()).unwrap_or_else(ObjectStoreUrl::local_filesystem);
        if self.files.iter().any(|f| f.store != first) {
            return Err(Error::MixedStores { table: self.name.clone() });
        }
        Ok(first)
    }

    /// Registers the rows, rejects and profile tables of this log table in `ctx` (and the
    /// object store its files are in). Lines over `max_line_bytes` are rejects.
    pub fn register(&self, ctx: &SessionContext, max_line_bytes: usize) -> Result<()> {
        register_providers(ctx, &self.providers(max_line_bytes)?)
    }

    /// The scan options of this table's `kind` table.
    pub fn options(&self, kind: TableKind, max_line_bytes: usize) -> LogTableOptions {
        let compressed: HashSet<String> =
            self.files.iter().filter(|f| f.compression.is_compressed()).map(|f| f.meta.location.to_string()).collect();
        LogTableOptions {
            table: self.name.clone(),
            format: self.format.clone(),
            kind,
            max_line_bytes,
            compressed: Arc::new(compressed),
            decoding: self.decoding,
            sorted_by: self.sorted_by.clone(),
            read_block: DEFAULT_READ_BLOCK,
        }
    }

    /// The providers of the rows, rejects and profile tables, by table name, with the store
    /// their files are in: built once, they can be registered in any number of sessions.
    pub fn providers(&self, max_line_bytes: usize) -> Result<TableProviders> {
        let store_url = self.store_url()?;
        let store = store_for(&store_url)?;
        let mut tables = Vec::new();
        for kind in TableKind::ALL {
            let provider = LogTableProvider::new(self.options(kind, max_line_bytes), store_url.clone(), &self.files);
            tables.push((kind.table_name(&self.name), Arc::new(provider)));
        }
        Ok(TableProviders { store_url, store, tables })
    }
}

/// The providers of one log table's three tables, and the store they read.
#[derive(Debug, Clone)]
pub struct TableProviders {
    /// The store the files are in.
    pub store_url: ObjectStoreUrl,
    /// The store itself.
    pub store: Arc<dyn object_store::ObjectStore>,
    /// `(registered name, provider)` of the rows, rejects and profile tables.
    pub tables: Vec<(String, Arc<LogTableProvider>)>,
}

/// Registers `providers` (and their store) in `ctx`.
pub fn register_providers(ctx: &SessionContext, providers: &TableProviders) -> Result<()> {
    if ctx.runtime_env().object_store(&providers.store_url).is_err() {
        ctx.register_object_store(providers.store_url.as_ref(), providers.store.clone());
    }
    for (name, provider) in &providers.tables {
        ctx.register_table(name.as_str(), provider.clone())?;
    }
    Ok(())
}

/// The table provider of one kind of one log table.
#[derive(Debug)]
pub struct LogTableProvider {
    format: LogFormat,
    schema: SchemaRef,
    store_url: ObjectStoreUrl,
    files: Vec<PartitionedFile>,
}

impl LogTableProvider {
    /// A provider scanning `files` (all in store `store_url`) with `options`.
    pub fn new(options: LogTableOptions, store_url: ObjectStoreUrl, files: &[LogFile]) -> Self {
        let files = files
            .iter()
            .map(|f| {
                let file = PartitionedFile::from(f.meta.clone());
                match &f.member {
                    Some(member) => file.with_extension(member.clone()),
                    None => file,
                }
            })
            .collect();
        LogTableProvider::with_files(options, store_url, files)
    }

    /// A provider scanning `files` as DataFusion lists them (archive members as extensions;
    /// a byte range, with a [`crate::FirstLine`], for the tail of a file).
    pub fn with_files(options: LogTableOptions, store_url: ObjectStoreUrl, files: Vec<PartitionedFile>) -> Self {
        let format = LogFormat::new(options);
        let schema = format.table_schema();
        LogTableProvider { format, schema, store_url, files }
    }

    /// The options this provider scans with.
    pub fn options(&self) -> &LogTableOptions {
        self.format.options()
    }

    /// The store the files are in.
    pub fn store_url(&self) -> &ObjectStoreUrl {
        &self.store_url
    }

    /// The files, as scans list them.
    pub fn files(&self) -> &[PartitionedFile] {
        &self.files
    }

    /// Whether a scan with `projection` in `state` needs line numbers counted by a stage of
    /// their own: on a cluster, when line numbers are read and some plain file may be split
    /// into byte ranges.
    fn counts_lines_in_a_stage(&self, state: &dyn Session, projection: Option<&Vec<usize>>) -> bool {
        let options = state.config_options();
        let cluster = options.extensions.get::<LogScanOptions>().is_some_and(|o| o.cluster);
        let numbered = match self.options().kind {
            TableKind::Rows => {
                let line = self.schema.fields().len() - 1;
                projection.is_none_or(|p| p.contains(&line))
            }
            TableKind::Rejects | TableKind::Profile => true,
        };
        let plain: u64 = self.plain_files().map(|f| f.object_meta.size).sum();
        cluster
            && numbered
            && options.execution.target_partitions > 1
            && options.optimizer.repartition_file_scans
            && plain >= options.optimizer.repartition_file_min_size as u64
    }

    /// The ordering a rows table's declared `sorted_by` column gives: ascending, nulls last
    /// as SQL's `ORDER BY ts` asks (the scan refuses nulls in it anyway).
    fn declared_ordering(&self) -> Option<LexOrdering> {
        let column = self.options().sorted_by.as_deref()?;
        if self.options().kind != TableKind::Rows {
            return None;
        }
        let index = self.schema.index_of(column).ok()?;
        let ordering = |nulls_first| {
            let expr = Arc::new(Column::new(column, index)) as Arc<dyn PhysicalExpr>;
            LexOrdering::new([PhysicalSortExpr::new(expr, SortOptions { descending: false, nulls_first })])
        };
        ordering(false)
    }

    /// Files that may be split into byte ranges: not compressed, not archive members.
    fn plain_files(&self) -> impl Iterator<Item = &PartitionedFile> {
        self.files.iter().filter(|f| !self.options().is_compressed(f) && f.extension::<ArchiveMember>().is_none())
    }

    /// The scan counting the newlines of every block of the plain files, for
    /// [`IndexedScanExec`].
    fn block_counts(&self, state: &dyn Session) -> Arc<dyn ExecutionPlan> {
        let plain: Vec<PartitionedFile> = self.plain_files().cloned().collect();
        let groups = block_count_groups(&plain, state.config().target_partitions());
        let source = Arc::new(BlockCountSource::new(self.options().table.clone()));
        let config = FileScanConfigBuilder::new(self.store_url.clone(), source).with_file_groups(groups).build();
        DataSourceExec::from_data_source(config)
    }
}

#[async_trait]
impl TableProvider for LogTableProvider {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let source = self.format.file_source(TableSchema::from(self.schema.clone()));
        let ordering = self.declared_ordering().filter(|_| {
            // One partition per file reads every file at once: past this many, the scan keeps
            // its bounded grouping and the order is not declared.
            self.files.len() <= MAX_ORDERED_FILES.max(state.config().target_partitions())
        });
        let groups = match ordering {
            // Each file in time order is a partition in time order: one file per group.
            Some(_) => self.files.iter().map(|f| FileGroup::new(vec![f.clone()])).collect(),
            None => FileGroup::new(self.files.clone()).split_files(state.config().target_partitions()),
        };
        let config = FileScanConfigBuilder::new(self.store_url.clone(), source)
            .with_output_ordering(ordering.into_iter().collect())
            .with_file_groups(groups)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        let scan = self.format.create_physical_plan(state, config).await?;
        if self.counts_lines_in_a_stage(state, projection) {
            return Ok(Arc::new(IndexedScanExec::new(scan, self.block_counts(state))));
        }
        Ok(scan)
    }

    /// Filters are applied above the scan (it validates every line whatever the query asks).
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Unsupported; filters.len()])
    }
}
