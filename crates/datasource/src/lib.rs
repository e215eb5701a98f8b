//! Log files as a DataFusion data source: listing and sniffing files ([`discover`]),
//! decompression ([`compression`]), newline-aligned line reading ([`lines`]), the scan loop with
//! line accounting ([`scan`], [`accounting`]), and the `FileFormat`/`FileSource` that plug all of
//! it into `ListingTable` ([`file_format`], [`source`]).

pub mod accounting;
pub mod compression;
pub mod discover;
pub mod file_format;
pub mod lines;
pub mod profile;
pub mod remote;
pub mod scan;
pub mod source;

pub use accounting::{FILE_COLUMN, LINE_COLUMN, rejects_schema};
pub use compression::Compression;
pub use discover::{FileProblem, SniffedFile, list_files, sniff_file};
pub use file_format::{LogFormat, LogScanOptions};
pub use remote::{discover_remote, is_remote};
pub use source::{LogSource, LogTableOptions, TableKind};
