//! The errors of the data source: each variant carries the location, pattern or file it is
//! about, and its message is one line that says each thing once.

use std::io;

/// An error finding, opening or reading log files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A location that is not a valid URL.
    #[error("{text}: not a valid location: {message}")]
    InvalidLocation {
        /// The location as written.
        text: String,
        /// What is wrong with it.
        message: String,
    },
    /// An object-store URL whose scheme logfusion cannot read.
    #[error("{text}: object store scheme {scheme:?} is not supported (use s3://bucket/prefix or a local path)")]
    UnsupportedScheme {
        /// The location as written.
        text: String,
        /// Its scheme.
        scheme: String,
    },
    /// A glob pattern that does not parse.
    #[error("bad glob {pattern:?}: {message}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// Why it does not parse.
        message: String,
    },
    /// A path the object store cannot address (control characters in its name, say).
    #[error("{path}: its name holds characters (such as control characters) that cannot be addressed")]
    Unaddressable {
        /// The path, escaped for display.
        path: String,
    },
    /// The object store for a location could not be set up.
    #[error("{url}: {source}")]
    Store {
        /// The store, e.g. `s3://bucket`.
        url: String,
        /// Why.
        source: object_store::Error,
    },
    /// A location could not be listed (missing folder, bucket or prefix; no permission).
    #[error("{location}: {message}")]
    List {
        /// The location as written.
        location: String,
        /// Why, as the OS or the store said it.
        message: String,
    },
    /// Reading a file failed.
    #[error("reading {file}: {source}")]
    Read {
        /// The file, escaped for display.
        file: String,
        /// The I/O error.
        source: io::Error,
    },
    /// A table whose files are in more than one store.
    #[error(
        "table {table:?} has files in more than one store (local and object store, or two buckets): give them separate sources"
    )]
    MixedStores {
        /// The table.
        table: String,
    },
    /// A compressed file was asked for from a byte other than its first.
    #[error("{file}: a {compression} file cannot be split into byte ranges")]
    CompressedRange {
        /// The file.
        file: String,
        /// Its compression.
        compression: &'static str,
    },
    /// A table's format could not be rebuilt from what a cluster node sent.
    #[error("table {table:?}: {error}")]
    Format {
        /// The table.
        table: String,
        /// What is wrong with the format.
        error: logfusion_formats::FormatError,
    },
    /// A table's text encoding could not be rebuilt from what a cluster node sent.
    #[error("table {table:?}: {reason}")]
    Decoding {
        /// The table.
        table: String,
        /// Why the encoding is refused.
        reason: String,
    },
    /// A plan received from another process does not fit together (a node of another
    /// version, or a codec bug).
    #[error("a log scan received from another process does not fit together: {what}")]
    WireMismatch {
        /// What does not fit.
        what: String,
    },
}

impl Error {
    /// A read error of `file` (escaped for display).
    pub fn read(file: &str, source: io::Error) -> Error {
        Error::Read { file: logfusion_formats::escape_text(file), source }
    }
}

impl From<Error> for datafusion::error::DataFusionError {
    fn from(e: Error) -> Self {
        datafusion::error::DataFusionError::External(Box::new(e))
    }
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
