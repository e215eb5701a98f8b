//! Log files as a DataFusion data source.
//!
//! - [`LogLocation`] and [`discover`]: where logs are (local paths, globs, `s3://` URLs) and
//!   what is there — every file listed through its object store and sniffed for compression
//!   and format.
//! - [`LogTable`]: a named table of files in one format, registered in a session as its rows,
//!   `<name>_rejects` and `<name>_profile` tables, with [`LogTableProvider`].
//! - The scan: [`LogFormat`] and [`LogSource`] plug into DataFusion like its CSV and JSON
//!   sources; plain files are read in newline-aligned byte ranges, compressed ones whole; one
//!   line loop feeds the rows, the rejects or the [`FileHealth`] of each range, and every line
//!   is counted ([`metric`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use logfusion_datasource::{ListOptions, LogLocation, discover};
//! let found = discover(&LogLocation::parse("/var/log/nginx")?, &ListOptions::default()).await?;
//! for file in &found.files {
//!     println!("{} {:?} {:?}", file.name, file.compression, file.detection.map(|d| d.kind));
//! }
//! # Ok(()) }
//! ```

mod accounting;
mod archive;
mod block_counts;
mod discover;
mod error;
mod file_format;
mod line_index;
mod location;
mod opener;
mod reading;
mod scan;
mod source;
#[cfg(test)]
mod split_tests;
mod table;
mod wire;

pub use accounting::{ScanCounters, metric};
pub use archive::{ArchiveKind, ArchiveMember, MemberStorage};
pub use block_counts::{BlockCountSource, IndexedScanExec, block_counts_schema};
pub use discover::{Discovery, FileProblem, ListOptions, LogFile, SAMPLE_LINES, SNIFF_BYTES, discover};
pub use error::{Error, Result};
pub use file_format::{FILE_COLUMN, LINE_COLUMN, LogFormat, LogScanOptions};
pub use location::{LogLocation, display_name, store_for};
pub use logfusion_lines::{Compression, Decoding, UnknownEncoding};
pub use opener::FirstLine;
pub use scan::health::{FileHealth, RejectExample, health_schema};
pub use scan::in_scan;
pub use scan::rejects::rejects_schema;
pub use source::{LogSource, ScanSettings};
pub use table::{
    DEFAULT_READ_BLOCK, LogTable, LogTableOptions, LogTableProvider, TableKind, TableProviders, register_providers,
};
pub use wire::{FileWire, ProviderWire, SourceWire, TableOptionsWire, files_wire, restore_files};
