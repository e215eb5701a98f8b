//! The DataFusion [`FileSource`] of log tables: projection, batch size, and how files are
//! spread over partitions (plain files split into byte ranges, compressed files whole).

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::physical_plan::{FileScanConfig, FileSource};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::projection::ProjectionExprs;
use datafusion::physical_expr_common::sort_expr::LexOrdering;
use datafusion::physical_plan::DisplayFormatType;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion_datasource::file_groups::{FileGroup, FileGroupPartitioner};
use datafusion_datasource::file_stream::FileOpener;
use datafusion_datasource::projection::{ProjectionOpener, SplitProjection};
use datafusion_datasource::{PartitionedFile, TableSchema};
use object_store::ObjectStore;

use crate::accounting::ScanCounters;
use crate::opener::{LogOpener, ScanOutput};
use crate::scan::rows::RowLayout;
use crate::table::{LogTableOptions, TableKind};

/// Rows per batch when DataFusion has not said.
const DEFAULT_BATCH_SIZE: usize = 8192;

/// How a scan is run, from the session's `logfusion.*` options (see [`crate::LogScanOptions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScanSettings {
    /// Whether the parser builds only the projected columns.
    pub projection_pushdown: bool,
    /// Rejects kept as examples per reason and range, in health scans.
    pub examples_per_reason: usize,
    /// A read error fails the query (else it is a `read_error` reject and a warning).
    pub strict: bool,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings { projection_pushdown: true, examples_per_reason: 5, strict: false }
    }
}

/// The [`FileSource`] of log tables.
#[derive(Debug, Clone)]
pub struct LogSource {
    table_schema: TableSchema,
    projection: SplitProjection,
    batch_size: Option<usize>,
    metrics: ExecutionPlanMetricsSet,
    options: Arc<LogTableOptions>,
    settings: ScanSettings,
}

impl LogSource {
    /// A source over `table_schema` (the table's columns, no partition columns), unprojected.
    pub fn new(table_schema: TableSchema, options: Arc<LogTableOptions>) -> Self {
        LogSource {
            projection: SplitProjection::unprojected(&table_schema),
            table_schema,
            batch_size: None,
            metrics: ExecutionPlanMetricsSet::new(),
            options,
            settings: ScanSettings::default(),
        }
    }

    /// This source with other scan settings.
    pub fn with_settings(&self, settings: ScanSettings) -> Self {
        LogSource { settings, ..self.clone() }
    }

    /// The options of the table this source scans.
    pub fn options(&self) -> &LogTableOptions {
        &self.options
    }

    /// The settings this source scans with.
    pub fn settings(&self) -> ScanSettings {
        self.settings
    }

    /// What a scan must produce for the columns the query needs.
    fn output(&self) -> ScanOutput {
        let indices = &self.projection.file_indices;
        match self.options.kind {
            TableKind::Rejects => ScanOutput::Rejects(indices.clone()),
            TableKind::Profile => ScanOutput::Health {
                examples_per_reason: self.settings.examples_per_reason,
                now_micros: chrono::Utc::now().timestamp_micros(),
            },
            TableKind::Rows => ScanOutput::Rows(RowLayout::new(
                indices,
                self.options.format.columns().len(),
                self.settings.projection_pushdown,
            )),
        }
    }
}

impl FileSource for LogSource {
    fn create_file_opener(
        &self,
        store: Arc<dyn ObjectStore>,
        config: &FileScanConfig,
        partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        let file_schema = self.table_schema.file_schema();
        let schema = Arc::new(file_schema.project(&self.projection.file_indices)?);
        let inner: Arc<dyn FileOpener> = Arc::new(LogOpener {
            store,
            store_url: config.object_store_url.clone(),
            options: self.options.clone(),
            output: self.output(),
            schema,
            batch_size: self.batch_size.unwrap_or(DEFAULT_BATCH_SIZE),
            counters: ScanCounters::new(&self.metrics, partition),
            strict: self.settings.strict,
        });
        ProjectionOpener::try_new(self.projection.clone(), inner, file_schema)
    }

    fn table_schema(&self) -> &TableSchema {
        &self.table_schema
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        let mut source = self.clone();
        source.batch_size = Some(batch_size);
        Arc::new(source)
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

    /// The table's name (a cluster's stage metrics find each table's scans by it), and
    /// whether projection pushdown is off.
    fn fmt_extra(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, ", table={}", self.options.table)?;
        if self.settings.projection_pushdown { Ok(()) } else { write!(f, ", projection_pushdown=false") }
    }

    fn file_type(&self) -> &str {
        match self.options.kind {
            TableKind::Rows => "log",
            TableKind::Rejects => "log_rejects",
            TableKind::Profile => "log_profile",
        }
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        datafusion::physical_plan::apply_expression_roots(self.projection.source.iter(), f)
    }

    /// The shared work queue's order: files read whole by one partition (compressed streams)
    /// first, the largest first, then the byte ranges in file order, so that the short ranges
    /// fill the other partitions around a long decompression and the scan ends together
    /// instead of with one partition decompressing alone.
    fn reorder_files(&self, files: Vec<PartitionedFile>) -> Vec<PartitionedFile> {
        let (mut whole, ranges): (Vec<_>, Vec<_>) = files.into_iter().partition(|f| self.options.is_compressed(f));
        whole.sort_by_key(|f| std::cmp::Reverse(f.object_meta.size));
        whole.extend(ranges);
        whole
    }

    /// Splits plain files into byte ranges; each compressed file goes whole to the lightest
    /// group (a compressed stream can only be read from its start).
    fn repartitioned(
        &self,
        target_partitions: usize,
        repartition_file_min_size: usize,
        output_ordering: Option<LexOrdering>,
        config: &FileScanConfig,
    ) -> Result<Option<FileScanConfig>> {
        if target_partitions == 0 {
            return Ok(None);
        }
        if output_ordering.is_some() {
            // A file in time order splits into ranges in time order, each its own partition;
            // a compressed file cannot be split.
            let all_plain = config.file_groups.iter().flat_map(|g| g.iter()).all(|f| !self.options.is_compressed(f));
            if !all_plain {
                return Ok(None);
            }
            let groups = FileGroupPartitioner::new()
                .with_target_partitions(target_partitions)
                .with_repartition_file_min_size(repartition_file_min_size)
                .with_preserve_order_within_groups(true)
                .repartition_file_groups(&config.file_groups);
            return Ok(groups.map(|groups| {
                let mut out = config.clone();
                out.file_groups = groups;
                out
            }));
        }
        let (packed, plain): (Vec<_>, Vec<_>) =
            config.file_groups.iter().flat_map(|g| g.iter().cloned()).partition(|f| self.options.is_compressed(f));
        let mut groups = plain_groups(plain, target_partitions, repartition_file_min_size);
        let mut packed = packed;
        packed.sort_by_key(|f| std::cmp::Reverse(f.object_meta.size));
        for file in packed {
            if groups.len() < target_partitions {
                groups.push(FileGroup::new(vec![file]));
                continue;
            }
            let lightest = groups.iter_mut().min_by_key(|g| g.iter().map(|f| f.effective_size()).sum::<u64>());
            match lightest {
                Some(g) => g.push(file),
                None => groups.push(FileGroup::new(vec![file])),
            }
        }
        let mut out = config.clone();
        out.file_groups = groups;
        Ok(Some(out))
    }
}

/// Byte ranges each partition's share of the plain files is cut into, at most. Partitions
/// take the next unread range, in file order, from a queue they share (DataFusion's file
/// stream work stealing), so a partition slowed by another process on its core, or by a
/// denser stretch of the file, leaves its last ranges to the others instead of finishing
/// alone. Where partitions do not share (a cluster's tasks), each reads its consecutive part.
const RANGES_PER_PARTITION: u64 = 32;

/// The smallest range cut for balance alone: each range costs an open, a read buffer, a
/// partial first line and last batch, and a little reading past its end (see the opener's
/// `PlainReader`), all negligible against this many bytes.
const MIN_BALANCING_RANGE: u64 = 32 << 20;

/// The plain files in `partitions` groups: split into byte ranges when they are at least
/// `min_size` bytes in all (DataFusion's `repartition_file_min_size`), into more ranges than
/// partitions where each stays at least [`MIN_BALANCING_RANGE`] long; else whole files.
fn plain_groups(plain: Vec<PartitionedFile>, partitions: usize, min_size: usize) -> Vec<FileGroup> {
    if plain.is_empty() {
        return vec![];
    }
    let total: u64 = plain.iter().map(|f| f.effective_size()).sum();
    FileGroupPartitioner::new()
        .with_target_partitions(range_count(total, partitions))
        .with_repartition_file_min_size(min_size)
        .repartition_file_groups(&[FileGroup::new(plain.clone())])
        .map(|ranges| consecutive(ranges, partitions))
        .unwrap_or_else(|| FileGroup::new(plain).split_files(partitions))
}

/// How many byte ranges `total` plain bytes are cut into for `partitions` partitions: one
/// per partition, and more (up to [`RANGES_PER_PARTITION`] each) while every range stays at
/// least [`MIN_BALANCING_RANGE`] bytes.
fn range_count(total: u64, partitions: usize) -> usize {
    let partitions = partitions.max(1) as u64;
    (total / MIN_BALANCING_RANGE).clamp(partitions, partitions * RANGES_PER_PARTITION) as usize
}

/// Joins `ranges` (in file order) into `partitions` groups of consecutive ranges, with equal
/// numbers of ranges (to one): each partition starts on its own part of the files.
fn consecutive(ranges: Vec<FileGroup>, partitions: usize) -> Vec<FileGroup> {
    let count = ranges.len();
    let mut groups: Vec<Vec<_>> = vec![Vec::new(); partitions.clamp(1, count.max(1))];
    let parts = groups.len();
    for (i, range) in ranges.into_iter().enumerate() {
        groups[i * parts / count].extend(range.into_inner());
    }
    groups.into_iter().filter(|g| !g.is_empty()).map(FileGroup::new).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_many_only_where_each_stays_big() {
        const MIB: u64 = 1 << 20;
        assert_eq!(range_count(24 * MIB, 4), 4, "a small table: one range per partition");
        assert_eq!(range_count(512 * MIB, 2), 16, "32 MiB ranges");
        assert_eq!(range_count(5120 * MIB, 2), 64, "at most 32 per partition");
        assert_eq!(range_count(0, 0), 1);
    }

    #[test]
    fn a_big_file_is_cut_into_consecutive_ranges_that_cover_it_once() {
        let size = 5u64 << 30;
        let groups = plain_groups(vec![PartitionedFile::new("big.log", size)], 2, 1 << 20);
        assert_eq!(groups.len(), 2, "one group per partition");
        let ranges: Vec<(u64, u64)> = groups
            .iter()
            .flat_map(|g| g.iter())
            .map(|f| f.range.as_ref().map(|r| (r.start as u64, r.end as u64)).unwrap())
            .collect();
        assert_eq!(ranges.len(), 64);
        assert_eq!(groups[0].len(), 32);
        assert_eq!(ranges[0].0, 0);
        assert_eq!(ranges.last().unwrap().1, size);
        assert!(ranges.windows(2).all(|w| w[0].1 == w[1].0), "each range starts where the last ended");

        let small = plain_groups(vec![PartitionedFile::new("small.log", 1000)], 2, 1 << 20);
        assert_eq!(small.len(), 1, "under the minimum size a file is not split");
        assert!(small[0].iter().all(|f| f.range.is_none()));
    }

    #[test]
    fn the_queue_starts_with_whole_files_largest_first_then_ranges_in_order() {
        let spec = logfusion_formats::FormatSpec::parse_name("access").expect("built-in format");
        let format = logfusion_formats::ResolvedFormat::resolve(spec, Default::default(), &[]).expect("resolves");
        let options = LogTableOptions {
            table: "t".into(),
            format: Arc::new(format),
            kind: TableKind::Rows,
            max_line_bytes: 1 << 20,
            compressed: Arc::new(["sniffed".to_string()].into()),
            decoding: logfusion_lines::Decoding::Utf8,
            sorted_by: None,
            read_block: 1 << 20,
        };
        let source = LogSource::new(TableSchema::from(options.format.schema()), Arc::new(options));
        let file = |name: &str, size| PartitionedFile::new(name.to_string(), size);
        let queue = vec![
            file("a.log", 100).with_range(0, 50),
            file("old.log.gz", 10),
            file("a.log", 100).with_range(50, 100),
            file("older.log.zst", 30),
            file("sniffed", 20),
        ];
        let order: Vec<String> = source
            .reorder_files(queue)
            .iter()
            .map(|f| {
                format!(
                    "{}{}",
                    f.object_meta.location,
                    f.range.as_ref().map_or(String::new(), |r| format!("@{}", r.start))
                )
            })
            .collect();
        assert_eq!(order, ["older.log.zst", "sniffed", "old.log.gz", "a.log@0", "a.log@50"]);
    }

    #[test]
    fn consecutive_ranges_keep_file_order_and_every_range_once() {
        let ranges: Vec<FileGroup> =
            (0..7).map(|i| FileGroup::new(vec![PartitionedFile::new(format!("f{i}"), 10)])).collect();
        let names = |groups: &[FileGroup]| -> Vec<Vec<String>> {
            groups.iter().map(|g| g.iter().map(|f| f.object_meta.location.to_string()).collect()).collect()
        };
        assert_eq!(names(&consecutive(ranges.clone(), 2)), [vec!["f0", "f1", "f2", "f3"], vec!["f4", "f5", "f6"]]);
        assert_eq!(names(&consecutive(ranges.clone(), 10)).len(), 7, "never an empty group");
        assert_eq!(names(&consecutive(ranges, 1)), [vec!["f0", "f1", "f2", "f3", "f4", "f5", "f6"]]);
        assert!(consecutive(vec![], 2).is_empty());
    }
}
