//! Log tables and scans as plain data, so that a cluster can ship them: what a
//! [`LogTableProvider`] or a [`LogSource`] needs to be rebuilt in another process. The plan's
//! own parts (file groups, byte ranges, projection, limit) travel in DataFusion's protobuf;
//! these types carry what that leaves out: the format, the table's options and settings, and
//! per file its ETag, version and archive member.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion_datasource::file_groups::FileGroup;
use datafusion_datasource::{PartitionedFile, TableSchema};
use logfusion_formats::{ColumnSpec, FormatSpec, ResolvedFormat, TimeRules};
use logfusion_lines::Decoding;
use object_store::ObjectMeta;
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use crate::archive::ArchiveMember;
use crate::error::{Error, Result};
use crate::source::{LogSource, ScanSettings};
use crate::table::{LogTableOptions, LogTableProvider, TableKind};

/// [`LogTableOptions`] as data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableOptionsWire {
    table: String,
    spec: FormatSpec,
    time: TimeRules,
    columns: Vec<ColumnSpec>,
    kind: TableKind,
    max_line_bytes: usize,
    compressed: Vec<String>,
    /// The legacy encoding's name, if any.
    encoding: Option<String>,
    /// Whether invalid UTF-8 is replaced rather than rejected.
    replace_invalid_utf8: bool,
    /// The column the files are declared sorted by.
    sorted_by: Option<String>,
    read_block: usize,
}

impl TableOptionsWire {
    /// The wire form of `options`.
    pub fn of(options: &LogTableOptions) -> Self {
        let mut compressed: Vec<String> = options.compressed.iter().cloned().collect();
        compressed.sort();
        TableOptionsWire {
            table: options.table.clone(),
            spec: options.format.spec().clone(),
            time: options.format.time_rules(),
            columns: options.format.columns().to_vec(),
            kind: options.kind,
            max_line_bytes: options.max_line_bytes,
            compressed,
            encoding: options.decoding.encoding_name().map(str::to_string),
            replace_invalid_utf8: options.decoding == Decoding::Utf8Replace,
            sorted_by: options.sorted_by.clone(),
            read_block: options.read_block,
        }
    }

    /// The options again; an error if the format cannot be rebuilt from its parts.
    pub fn into_options(self) -> Result<LogTableOptions> {
        let format = ResolvedFormat::from_parts(self.spec, self.time, self.columns)
            .map_err(|error| Error::Format { table: self.table.clone(), error })?;
        let decoding = Decoding::from_label(self.encoding.as_deref(), self.replace_invalid_utf8)
            .map_err(|e| Error::Decoding { table: self.table.clone(), reason: e.to_string() })?;
        Ok(LogTableOptions {
            table: self.table,
            format: Arc::new(format),
            kind: self.kind,
            max_line_bytes: self.max_line_bytes,
            compressed: Arc::new(self.compressed.into_iter().collect::<HashSet<_>>()),
            decoding,
            sorted_by: self.sorted_by,
            read_block: self.read_block,
        })
    }
}

/// One file of a table or scan: what DataFusion's protobuf of a file leaves out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileWire {
    location: String,
    size: u64,
    last_modified: DateTime<Utc>,
    e_tag: Option<String>,
    version: Option<String>,
    member: Option<ArchiveMember>,
}

impl FileWire {
    /// The wire form of `file`.
    pub fn of(file: &PartitionedFile) -> Self {
        let meta = &file.object_meta;
        FileWire {
            location: meta.location.to_string(),
            size: meta.size,
            last_modified: meta.last_modified,
            e_tag: meta.e_tag.clone(),
            version: meta.version.clone(),
            member: file.extension::<ArchiveMember>().cloned(),
        }
    }

    fn meta(&self) -> ObjectMeta {
        ObjectMeta {
            location: Path::from(self.location.as_str()),
            last_modified: self.last_modified,
            size: self.size,
            e_tag: self.e_tag.clone(),
            version: self.version.clone(),
        }
    }

    fn into_file(self) -> PartitionedFile {
        let file = PartitionedFile::from(self.meta());
        match self.member {
            Some(member) => file.with_extension(member),
            None => file,
        }
    }

    /// Puts back into `file` (decoded from protobuf, which keeps path, size and time) its
    /// ETag, version and archive member; an error if `file` is not this file.
    fn restore(&self, file: &mut PartitionedFile) -> Result<()> {
        let meta = &mut file.object_meta;
        if meta.location.as_ref() != self.location || meta.size != self.size {
            return Err(Error::WireMismatch { what: format!("file {} of the scan", self.location) });
        }
        meta.e_tag = self.e_tag.clone();
        meta.version = self.version.clone();
        meta.last_modified = self.last_modified;
        if let Some(member) = &self.member {
            file.extensions.insert(member.clone());
        }
        Ok(())
    }
}

/// A [`LogTableProvider`] as data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderWire {
    options: TableOptionsWire,
    store_url: String,
    files: Vec<FileWire>,
}

impl LogTableProvider {
    /// This provider as data (see [`ProviderWire`]).
    pub fn to_wire(&self) -> ProviderWire {
        ProviderWire {
            options: TableOptionsWire::of(self.options()),
            store_url: self.store_url().as_str().to_string(),
            files: self.files().iter().map(FileWire::of).collect(),
        }
    }

    /// The provider `wire` describes.
    pub fn from_wire(wire: ProviderWire) -> Result<Self> {
        let store_url = ObjectStoreUrl::parse(&wire.store_url)
            .map_err(|e| Error::WireMismatch { what: format!("store URL {}: {e}", wire.store_url) })?;
        let files = wire.files.into_iter().map(FileWire::into_file).collect();
        Ok(LogTableProvider::with_files(wire.options.into_options()?, store_url, files))
    }
}

/// A [`LogSource`] as data, with what each file of its scan configuration needs beyond
/// DataFusion's protobuf, in file-group order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceWire {
    options: TableOptionsWire,
    settings: ScanSettings,
    files: Vec<FileWire>,
}

impl SourceWire {
    /// The wire form of the scan `config`, whose source is `source`.
    pub fn of(source: &LogSource, config: &FileScanConfig) -> Self {
        SourceWire {
            options: TableOptionsWire::of(source.options()),
            settings: source.settings(),
            files: all_files(&config.file_groups).map(FileWire::of).collect(),
        }
    }

    /// The source again, over `table_schema` (unprojected: DataFusion's decoding applies the
    /// projection).
    pub fn source(&self, table_schema: TableSchema) -> Result<LogSource> {
        let options = self.options.clone().into_options()?;
        Ok(LogSource::new(table_schema, Arc::new(options)).with_settings(self.settings))
    }

    /// Puts back what DataFusion's protobuf dropped from the files of `config` (decoded from
    /// the same plan this was made from).
    pub fn restore_files(&self, config: &mut FileScanConfig) -> Result<()> {
        restore_files(&self.files, &mut config.file_groups)
    }
}

/// What each file of a list of file groups needs beyond DataFusion's protobuf, in order.
pub fn files_wire(groups: &[FileGroup]) -> Vec<FileWire> {
    all_files(groups).map(FileWire::of).collect()
}

/// Puts `wire` (from [`files_wire`] of the same groups) back into `groups`.
pub fn restore_files(wire: &[FileWire], groups: &mut [FileGroup]) -> Result<()> {
    let count: usize = groups.iter().map(FileGroup::len).sum();
    if count != wire.len() {
        return Err(Error::WireMismatch { what: format!("{} files for a scan of {count}", wire.len()) });
    }
    let mut wire = wire.iter();
    for group in groups.iter_mut() {
        for i in 0..group.len() {
            if let Some(w) = wire.next() {
                w.restore(&mut group[i])?;
            }
        }
    }
    Ok(())
}

fn all_files(groups: &[FileGroup]) -> impl Iterator<Item = &PartitionedFile> {
    groups.iter().flat_map(|g| g.iter())
}
