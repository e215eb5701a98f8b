//! From paths and config to tables: list files, sniff each one, group them by format (auto
//! mode) or take the configured format, resolve the schema, and register a rows table plus a
//! `<name>_rejects` table per source in a DataFusion session.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::prelude::SessionContext;
use logfusion_datasource::remote::RemotePath;
use logfusion_datasource::{
    LogFormat, LogTableOptions, SniffedFile, TableKind, discover_remote, is_remote, list_files, sniff_file,
};
use logfusion_formats::{FormatKind, FormatSpec, ResolvedFormat, TimeZoneSpec};

use crate::EngineError;
use crate::config::Config;

/// Lines of sample (over all files of a table) used to infer JSON/logfmt schemas.
const INFER_LINES: usize = 1000;

/// Where tables come from.
#[derive(Debug, Clone)]
pub struct SourceRequest {
    /// Table name; `None` means auto mode: one table per detected format, named after it.
    pub name: Option<String>,
    /// File, directory or glob.
    pub path: String,
    /// Format for every file, or `None` to detect per file.
    pub format: Option<FormatSpec>,
    /// Zone of timestamps without an offset.
    pub timezone: TimeZoneSpec,
}

impl SourceRequest {
    /// Auto mode over a directory (or file, or glob), optionally forcing one format.
    pub fn auto(path: impl Into<String>, format: Option<FormatSpec>) -> Self {
        SourceRequest { name: None, path: path.into(), format, timezone: TimeZoneSpec::Utc }
    }

    /// The sources of a config file.
    pub fn from_config(config: &Config) -> Result<Vec<SourceRequest>, EngineError> {
        config
            .sources
            .iter()
            .map(|s| {
                Ok(SourceRequest {
                    name: Some(s.name.clone()),
                    path: s.path.clone(),
                    format: s.format_spec().map_err(EngineError::Config)?,
                    timezone: s.timezone,
                })
            })
            .collect()
    }
}

/// One log table: its format and files.
#[derive(Debug, Clone)]
pub struct LogTable {
    /// Table name (its rejects are in `<name>_rejects`).
    pub name: String,
    /// The format every file is read with.
    pub format: Arc<ResolvedFormat>,
    /// Whether the format was detected (rather than configured).
    pub detected: bool,
    /// The files.
    pub files: Vec<SniffedFile>,
}

impl LogTable {
    /// Name of the rejects table of this table.
    pub fn rejects_name(&self) -> String {
        format!("{}_rejects", self.name)
    }

    /// Name of the profile table of this table (one health row per file range, for validate).
    pub fn profile_name(&self) -> String {
        format!("{}_profile", self.name)
    }

    /// Total bytes of the files on disk.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// The tables found for a set of sources, and the files left out (with why).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Tables, in source order (auto tables by format name).
    pub tables: Vec<LogTable>,
    /// Files that are not in any table, each with its problem.
    pub skipped: Vec<SniffedFile>,
}

impl Catalog {
    /// Lists and sniffs the files of `sources` and groups them into tables; an error when no
    /// file is a readable log.
    pub fn discover(sources: &[SourceRequest]) -> Result<Catalog, EngineError> {
        let catalog = Catalog::discover_all(sources)?;
        if catalog.tables.is_empty() {
            let why: Vec<String> = catalog
                .skipped
                .iter()
                .take(3)
                .map(|f| {
                    format!("{}: {}", f.path.display(), f.problem.as_ref().map(ToString::to_string).unwrap_or_default())
                })
                .collect();
            return Err(EngineError::Input(format!("no readable log files ({})", why.join("; "))));
        }
        Ok(catalog)
    }

    /// Like [`Catalog::discover`], but a catalog with no readable file is not an error (for
    /// validation, which reports the skipped files).
    pub fn discover_all(sources: &[SourceRequest]) -> Result<Catalog, EngineError> {
        let mut catalog = Catalog::default();
        for source in sources {
            let sniffed: Vec<SniffedFile> = if is_remote(&source.path) {
                discover_remote(&source.path).map_err(EngineError::Input)?
            } else {
                sniff_all(&list_files(&source.path).map_err(|e| EngineError::Input(e.to_string()))?)
            };
            if sniffed.is_empty() {
                return Err(EngineError::Input(format!("{}: no files found", source.path)));
            }
            match (&source.name, &source.format) {
                (Some(name), Some(spec)) => {
                    let (files, skipped) = split_readable(sniffed, true);
                    catalog.skipped.extend(skipped);
                    catalog.push_table(name.clone(), spec.clone(), source.timezone, files, false)?;
                }
                (None, Some(spec)) => {
                    let (files, skipped) = split_readable(sniffed, true);
                    catalog.skipped.extend(skipped);
                    catalog.push_table(spec.kind().name().to_string(), spec.clone(), source.timezone, files, false)?;
                }
                (name, None) => {
                    let (files, skipped) = split_readable(sniffed, false);
                    catalog.skipped.extend(skipped);
                    let mut by_kind: BTreeMap<FormatKind, Vec<SniffedFile>> = BTreeMap::new();
                    for f in files {
                        if let Some(d) = &f.detection {
                            by_kind.entry(d.kind).or_default().push(f);
                        }
                    }
                    if name.is_some() && by_kind.len() > 1 {
                        let kinds: Vec<_> = by_kind.keys().map(|k| k.name()).collect();
                        return Err(EngineError::Input(format!(
                            "source {:?} ({}) mixes formats {}: set `format` or split the source",
                            name.as_deref().unwrap_or_default(),
                            source.path,
                            kinds.join(", ")
                        )));
                    }
                    for (kind, files) in by_kind {
                        let table = name.clone().unwrap_or_else(|| kind.name().to_string());
                        let spec = FormatSpec::default_for(kind).ok_or_else(|| {
                            EngineError::Input(format!("format {kind} cannot be detected, only configured"))
                        })?;
                        catalog.push_table(table, spec, source.timezone, files, true)?;
                    }
                }
            }
        }
        Ok(catalog)
    }

    fn push_table(
        &mut self,
        name: String,
        spec: FormatSpec,
        timezone: TimeZoneSpec,
        files: Vec<SniffedFile>,
        detected: bool,
    ) -> Result<(), EngineError> {
        if files.is_empty() {
            return Ok(());
        }
        if let Some(existing) = self.tables.iter_mut().find(|t| t.name == name) {
            if existing.format.spec() == &spec {
                existing.files.extend(files);
                return Ok(());
            }
            return Err(EngineError::Input(format!("table {name:?} is defined twice with different formats")));
        }
        let sample: Vec<&str> =
            files.iter().flat_map(|f| f.sample.iter().map(String::as_str)).take(INFER_LINES).collect();
        let format = ResolvedFormat::resolve(spec, timezone, &sample)
            .map_err(|e| EngineError::Config(format!("source {name}: {e}")))?;
        self.tables.push(LogTable { name, format: Arc::new(format), detected, files });
        Ok(())
    }

    /// Registers every table and its rejects table in `ctx`.
    pub fn register(&self, ctx: &SessionContext, max_line_bytes: usize) -> Result<(), EngineError> {
        for table in &self.tables {
            let store = table_store(table)?;
            if let Some(remote) = &store {
                let object_store = logfusion_datasource::remote::store_for(remote).map_err(EngineError::Input)?;
                ctx.register_object_store(remote, object_store);
            }
            let location_prefix = match &store {
                Some(remote) => format!("{}/", remote.as_str().trim_end_matches('/')),
                None => "/".to_string(),
            };
            let compressed: HashSet<String> = table
                .files
                .iter()
                .filter(|f| f.compression.is_compressed())
                .filter_map(|f| object_location(&f.path, &location_prefix))
                .collect();
            let compressed = Arc::new(compressed);
            let urls = table.files.iter().map(|f| file_url(&f.path)).collect::<Result<Vec<_>, _>>()?;
            for kind in [TableKind::Rows, TableKind::Rejects, TableKind::Profile] {
                let name = match kind {
                    TableKind::Rows => table.name.clone(),
                    TableKind::Rejects => table.rejects_name(),
                    TableKind::Profile => table.profile_name(),
                };
                let format = LogFormat::new(LogTableOptions {
                    table: name.clone(),
                    format: table.format.clone(),
                    kind,
                    max_line_bytes,
                    compressed: compressed.clone(),
                    location_prefix: location_prefix.clone(),
                });
                let schema = format.table_schema();
                let options = ListingOptions::new(Arc::new(format)).with_file_extension("");
                let config = ListingTableConfig::new_with_multi_paths(urls.clone())
                    .with_listing_options(options)
                    .with_schema(schema);
                let provider = ListingTable::try_new(config).map_err(EngineError::DataFusion)?;
                ctx.register_table(name.as_str(), Arc::new(provider)).map_err(EngineError::DataFusion)?;
            }
        }
        Ok(())
    }
}

/// Sniffs files on a few threads (sniffing is I/O bound and decompresses 64 KiB per file).
fn sniff_all(paths: &[std::path::PathBuf]) -> Vec<SniffedFile> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    let chunk = paths.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|p| sniff_file(p)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// Splits files into readable ones and skipped ones (binary, unreadable, empty; undetected
/// ones too unless a format is forced, in which case their lines become rejects).
fn split_readable(files: Vec<SniffedFile>, forced: bool) -> (Vec<SniffedFile>, Vec<SniffedFile>) {
    use logfusion_datasource::FileProblem;
    files.into_iter().partition(|f| match &f.problem {
        None => true,
        Some(FileProblem::Undetected) => forced,
        Some(_) => false,
    })
}

/// The object store of a table's files: `None` for local files, `s3://bucket` for remote ones.
/// A table whose files are in different stores is an error.
fn table_store(table: &LogTable) -> Result<Option<url::Url>, EngineError> {
    let store_of = |f: &SniffedFile| {
        let path = f.path.to_string_lossy();
        if is_remote(&path) { RemotePath::parse(&path).map(|r| Some(r.store_url)) } else { Ok(None) }
    };
    let stores = table.files.iter().map(store_of).collect::<Result<Vec<_>, _>>().map_err(EngineError::Input)?;
    if stores.windows(2).any(|w| w[0] != w[1]) {
        return Err(EngineError::Input(format!(
            "table {:?} has files in more than one store (local and object store, or two buckets): give them separate sources",
            table.name
        )));
    }
    Ok(stores.into_iter().next().flatten())
}

fn file_url(path: &Path) -> Result<ListingTableUrl, EngineError> {
    let text = path.to_string_lossy();
    if is_remote(&text) {
        return ListingTableUrl::parse(&text).map_err(EngineError::DataFusion);
    }
    let abs = std::path::absolute(path).map_err(|e| EngineError::Input(format!("{}: {e}", path.display())))?;
    let url = url::Url::from_file_path(&abs)
        .map_err(|()| EngineError::Input(format!("{}: not a valid file path", abs.display())))?;
    ListingTableUrl::parse(url.as_str()).map_err(EngineError::DataFusion)
}

/// The object-store location of a file: a local file's absolute path without the leading
/// `/`, or a remote file's key (its name after the store's `location_prefix`).
fn object_location(path: &Path, location_prefix: &str) -> Option<String> {
    let text = path.to_string_lossy();
    if is_remote(&text) {
        return text.strip_prefix(location_prefix).map(str::to_string);
    }
    let abs = std::path::absolute(path).ok()?;
    let url = url::Url::from_file_path(&abs).ok()?;
    object_store::path::Path::from_url_path(url.path()).ok().map(|p| p.to_string())
}
