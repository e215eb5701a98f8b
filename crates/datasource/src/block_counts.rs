//! Line numbers on a cluster, without one machine reading another's byte range.
//!
//! In one process, a range needing the lines before its start takes them from the file's
//! [`LineIndex`], counting the blocks no scan has counted yet (see `line_index.rs`). On a
//! cluster the ranges of one file run on different executors, and counting the blocks before
//! a range there would read the other ranges' bytes. So a cluster plan counts first: a
//! [`BlockCountSource`] scan reads every plain file once in block-aligned ranges spread over
//! the executors and yields one row per block (`location`, `block`, `newlines`); an
//! [`IndexedScanExec`] above the log scan takes those rows (its second input, required as one
//! partition, so Ballista runs the counting as a stage of its own and hands every task of
//! the next stage its few rows), fills this process's line index with them, and only then
//! starts the scan, which then finds every block counted and reads nothing but its own range.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt64Type};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::physical_plan::{FileScanConfig, FileSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::projection::ProjectionExprs;
use datafusion::physical_expr::{Distribution, PhysicalExpr};
use datafusion::physical_expr_common::sort_expr::LexOrdering;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::metrics::{Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use datafusion_datasource::file_groups::FileGroup;
use datafusion_datasource::file_stream::{FileOpenFuture, FileOpener};
use datafusion_datasource::projection::{ProjectionOpener, SplitProjection};
use datafusion_datasource::{PartitionedFile, TableSchema};
use futures::{StreamExt, TryStreamExt};
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore};

use crate::accounting::metric;
use crate::line_index::{BLOCK, LineIndex};
use crate::source::LogSource;

/// Name of the block counts' file column.
const LOCATION: &str = "location";
/// Name of the block counts' block column.
const BLOCK_COLUMN: &str = "block";
/// Name of the block counts' newline column.
const NEWLINES: &str = "newlines";

/// The schema of block counts: one row per index block of a file.
pub fn block_counts_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(LOCATION, DataType::Utf8, false),
        Field::new(BLOCK_COLUMN, DataType::UInt64, false),
        Field::new(NEWLINES, DataType::UInt64, false),
    ]))
}

/// The file groups that count the blocks of `files` (plain files, whole) in about
/// `partitions` groups of block-aligned ranges, each a similar number of blocks.
pub fn block_count_groups(files: &[PartitionedFile], partitions: usize) -> Vec<FileGroup> {
    let total: u64 = files.iter().map(|f| f.object_meta.size.div_ceil(BLOCK)).sum();
    let per_group = total.div_ceil(partitions.max(1) as u64).max(1);
    let mut groups = Vec::new();
    let mut current = Vec::new();
    let mut room = per_group;
    for file in files {
        let size = file.object_meta.size;
        let mut block = 0;
        let blocks = size.div_ceil(BLOCK);
        while block < blocks {
            let take = room.min(blocks - block);
            let (start, end) = (block * BLOCK, ((block + take) * BLOCK).min(size));
            current.push(file.clone().with_range(start as i64, end as i64));
            block += take;
            room -= take;
            if room == 0 {
                groups.push(FileGroup::new(std::mem::take(&mut current)));
                room = per_group;
            }
        }
    }
    if !current.is_empty() {
        groups.push(FileGroup::new(current));
    }
    groups
}

/// The [`FileSource`] counting the newlines of each index block of plain log files: the first
/// stage of a cluster scan that numbers lines. Its ranges are made block-aligned by
/// `block_count_groups` and never split again.
#[derive(Debug, Clone)]
pub struct BlockCountSource {
    table_schema: TableSchema,
    projection: SplitProjection,
    metrics: ExecutionPlanMetricsSet,
    table: String,
}

impl BlockCountSource {
    /// A source counting blocks of the files of log table `table`.
    pub fn new(table: impl Into<String>) -> Self {
        let table_schema = TableSchema::from(block_counts_schema());
        BlockCountSource {
            projection: SplitProjection::unprojected(&table_schema),
            table_schema,
            metrics: ExecutionPlanMetricsSet::new(),
            table: table.into(),
        }
    }

    /// The log table whose files this source counts.
    pub fn table(&self) -> &str {
        &self.table
    }
}

impl FileSource for BlockCountSource {
    fn create_file_opener(
        &self,
        store: Arc<dyn ObjectStore>,
        _config: &FileScanConfig,
        partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        let bytes_read = MetricBuilder::new(&self.metrics).counter(metric::BYTES_READ, partition);
        let inner: Arc<dyn FileOpener> = Arc::new(BlockCountOpener { store, bytes_read });
        ProjectionOpener::try_new(self.projection.clone(), inner, self.table_schema.file_schema())
    }

    fn table_schema(&self) -> &TableSchema {
        &self.table_schema
    }

    fn with_batch_size(&self, _batch_size: usize) -> Arc<dyn FileSource> {
        Arc::new(self.clone())
    }

    fn try_pushdown_projection(&self, projection: &ProjectionExprs) -> Result<Option<Arc<dyn FileSource>>> {
        let mut source = self.clone();
        let merged = self.projection.source.try_merge(projection)?;
        source.projection = SplitProjection::new(self.table_schema.file_schema(), &merged);
        Ok(Some(Arc::new(source)))
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        Some(&self.projection.source)
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        &self.metrics
    }

    fn fmt_extra(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, ", table={}", self.table)
    }

    fn file_type(&self) -> &str {
        "log_block_counts"
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        datafusion::physical_plan::apply_expression_roots(self.projection.source.iter(), f)
    }

    /// Never: the ranges are block-aligned already, and others would not be.
    fn repartitioned(
        &self,
        _target_partitions: usize,
        _repartition_file_min_size: usize,
        _output_ordering: Option<LexOrdering>,
        _config: &FileScanConfig,
    ) -> Result<Option<FileScanConfig>> {
        Ok(None)
    }
}

/// Counts the newlines of each block of one block-aligned range.
struct BlockCountOpener {
    store: Arc<dyn ObjectStore>,
    bytes_read: Count,
}

impl FileOpener for BlockCountOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let size = file.object_meta.size;
        let (start, end) = match &file.range {
            Some(r) => (r.start.max(0) as u64, (r.end.max(0) as u64).min(size)),
            None => (0, size),
        };
        if !start.is_multiple_of(BLOCK) {
            return Err(DataFusionError::Internal(format!("block count range starts at {start}, not at a block")));
        }
        let (store, bytes_read) = (self.store.clone(), self.bytes_read.clone());
        Ok(Box::pin(async move {
            let location = file.object_meta.location.clone();
            let options = GetOptions { range: Some(GetRange::Bounded(start..end)), ..Default::default() };
            // A file that cannot be read or changed since it was listed gets no counts: its
            // scan then meets the same problem and records it as it would in one process.
            let counts = match store.get_opts(&location, options).await {
                Ok(result) if unchanged(&file.object_meta, &result.meta) => {
                    count_stream(result.into_stream(), start, &bytes_read).await.unwrap_or_else(|e| {
                        tracing::debug!("block counts of {location}: {e}");
                        Vec::new()
                    })
                }
                Ok(_) => Vec::new(),
                Err(e) => {
                    tracing::debug!("block counts of {location}: {e}");
                    Vec::new()
                }
            };
            let first = start / BLOCK;
            let blocks: UInt64Array = (first..first + counts.len() as u64).map(Some).collect();
            let locations: StringArray = std::iter::repeat_n(Some(location.as_ref()), counts.len()).collect();
            let newlines = UInt64Array::from(counts);
            let batch = RecordBatch::try_new(
                block_counts_schema(),
                vec![Arc::new(locations), Arc::new(blocks), Arc::new(newlines)],
            )?;
            Ok(futures::stream::once(async { Ok(batch) }).boxed())
        }))
    }
}

/// Whether the object read is the one listed: same size (or grown) and ETag, where known.
fn unchanged(listed: &ObjectMeta, now: &ObjectMeta) -> bool {
    let same_tag = match (&listed.e_tag, &now.e_tag) {
        (Some(was), Some(is)) => was == is,
        _ => true,
    };
    same_tag && now.size >= listed.size
}

/// The newlines of each block of the bytes of `stream`, which start at block-aligned `start`.
async fn count_stream(
    mut stream: futures::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
    start: u64,
    bytes_read: &Count,
) -> object_store::Result<Vec<u64>> {
    let mut counts = Vec::new();
    let mut offset = start;
    let mut current = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        bytes_read.add(chunk.len());
        let mut data = &chunk[..];
        while !data.is_empty() {
            let room = (BLOCK - offset % BLOCK) as usize;
            let (here, rest) = data.split_at(room.min(data.len()));
            current += memchr::memchr_iter(b'\n', here).count() as u64;
            offset += here.len() as u64;
            if offset.is_multiple_of(BLOCK) {
                counts.push(current);
                current = 0;
            }
            data = rest;
        }
    }
    if !offset.is_multiple_of(BLOCK) {
        counts.push(current);
    }
    Ok(counts)
}

/// A log scan whose line numbers come from block counts made by another stage: it fills
/// this process's line index from its second input, then runs the scan (its first input).
/// Partitions, schema and order are the scan's.
#[derive(Debug)]
pub struct IndexedScanExec {
    scan: Arc<dyn ExecutionPlan>,
    counts: Arc<dyn ExecutionPlan>,
    indexed: Arc<tokio::sync::OnceCell<()>>,
    properties: Arc<PlanProperties>,
}

impl IndexedScanExec {
    /// The scan `scan` (a log scan, possibly under projections), numbered by `counts` (rows of
    /// [`block_counts_schema`] for its files).
    pub fn new(scan: Arc<dyn ExecutionPlan>, counts: Arc<dyn ExecutionPlan>) -> Self {
        let properties = scan.properties().clone();
        IndexedScanExec { scan, counts, indexed: Arc::new(tokio::sync::OnceCell::new()), properties }
    }

    /// Reads every block count and records it in the line index of the files of the scan.
    async fn fill_index(
        counts: Arc<dyn ExecutionPlan>,
        scan: Arc<dyn ExecutionPlan>,
        context: Arc<TaskContext>,
    ) -> Result<()> {
        let files = scan_files(&scan);
        for partition in 0..counts.properties().partitioning.partition_count() {
            let mut stream = counts.execute(partition, context.clone())?;
            while let Some(batch) = stream.try_next().await? {
                let locations = batch.column(0).as_string::<i32>();
                let blocks = batch.column(1).as_primitive::<UInt64Type>();
                let newlines = batch.column(2).as_primitive::<UInt64Type>();
                for row in 0..batch.num_rows() {
                    if let Some((store, meta)) = files.get(locations.value(row)) {
                        LineIndex::of(store, meta).publish(blocks.value(row) as usize, newlines.value(row));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The files of the log scans under `plan`, by location, with their store.
fn scan_files(plan: &Arc<dyn ExecutionPlan>) -> HashMap<String, (String, ObjectMeta)> {
    let mut out = HashMap::new();
    let mut stack = vec![plan.clone()];
    while let Some(node) = stack.pop() {
        if let Some(exec) = node.downcast_ref::<DataSourceExec>()
            && let Some((config, _)) = exec.downcast_to_file_source::<LogSource>()
        {
            for file in config.file_groups.iter().flat_map(|g| g.iter()) {
                let store = config.object_store_url.as_str().to_string();
                out.insert(file.object_meta.location.to_string(), (store, file.object_meta.clone()));
            }
        }
        stack.extend(node.children().into_iter().cloned());
    }
    out
}

impl DisplayAs for IndexedScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "IndexedScanExec: line numbers from block counts")
    }
}

impl ExecutionPlan for IndexedScanExec {
    fn name(&self) -> &str {
        "IndexedScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn input_distribution_requirements(&self) -> datafusion::physical_plan::InputDistributionRequirements {
        datafusion::physical_plan::InputDistributionRequirements::new(vec![
            Distribution::UnspecifiedDistribution,
            Distribution::SinglePartition,
        ])
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true, false]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false, false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.scan, &self.counts]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [scan, counts]: [Arc<dyn ExecutionPlan>; 2] = children.try_into().map_err(|c: Vec<_>| {
            DataFusionError::Internal(format!("IndexedScanExec takes 2 inputs, not {}", c.len()))
        })?;
        Ok(Arc::new(IndexedScanExec::new(scan, counts)))
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(children, ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let (scan, counts, indexed) = (self.scan.clone(), self.counts.clone(), self.indexed.clone());
        let schema = self.schema();
        let started = async move {
            indexed.get_or_try_init(|| Self::fill_index(counts, scan.clone(), context.clone())).await?;
            scan.execute(partition, context)
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, futures::stream::once(started).try_flatten())))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        None
    }
}
