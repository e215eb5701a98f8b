//! Writing results: one writer for every machine format (Parquet, CSV, JSON, NDJSON), to any
//! byte sink, and [`ResultFile`], which writes a file atomically — into a temporary file
//! beside the target, renamed over it only when complete — so a failed, killed or full-disk
//! run never leaves a partial file at the final path.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{EngineError, Result};

/// The zstd level of every Parquet file logfusion writes.
pub const PARQUET_ZSTD_LEVEL: i32 = 3;

/// Writer properties of every Parquet file logfusion writes: zstd at [`PARQUET_ZSTD_LEVEL`].
pub fn parquet_properties() -> WriterProperties {
    let level = ZstdLevel::try_new(PARQUET_ZSTD_LEVEL).unwrap_or_default();
    WriterProperties::builder().set_compression(Compression::ZSTD(level)).build()
}

/// A machine-readable result format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    /// Parquet, zstd-compressed.
    Parquet,
    /// CSV with a header (RFC 4180 quoting).
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl ResultFormat {
    /// The format a file name's extension asks for (`.parquet`, `.csv`, `.json`, `.ndjson`,
    /// `.jsonl`).
    pub fn from_extension(path: &Path) -> Option<ResultFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "parquet" => ResultFormat::Parquet,
            "csv" => ResultFormat::Csv,
            "json" => ResultFormat::Json,
            "ndjson" | "jsonl" => ResultFormat::Ndjson,
            _ => return None,
        })
    }
}

/// Why writing a result failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Encoding CSV or JSON, or writing it.
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// Encoding Parquet, or writing it.
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Flushing the sink.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Streams result batches in one [`ResultFormat`] to a byte sink.
pub enum ResultWriter<W: Write + Send> {
    /// Parquet.
    Parquet(Box<ArrowWriter<W>>),
    /// CSV.
    Csv(Box<datafusion::arrow::csv::Writer<W>>),
    /// JSON array.
    Json(datafusion::arrow::json::ArrayWriter<W>),
    /// NDJSON.
    Ndjson(datafusion::arrow::json::LineDelimitedWriter<W>),
}

impl<W: Write + Send> ResultWriter<W> {
    /// A writer of `format` over `sink`, for batches of `schema`.
    pub fn new(format: ResultFormat, sink: W, schema: SchemaRef) -> Result<Self> {
        Ok(match format {
            ResultFormat::Parquet => ResultWriter::Parquet(Box::new(
                ArrowWriter::try_new(sink, schema, Some(parquet_properties()))
                    .map_err(datafusion::error::DataFusionError::from)?,
            )),
            ResultFormat::Csv => {
                ResultWriter::Csv(Box::new(datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(sink)))
            }
            ResultFormat::Json => ResultWriter::Json(datafusion::arrow::json::ArrayWriter::new(sink)),
            ResultFormat::Ndjson => ResultWriter::Ndjson(datafusion::arrow::json::LineDelimitedWriter::new(sink)),
        })
    }

    /// Writes one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> std::result::Result<(), WriteError> {
        match self {
            ResultWriter::Parquet(w) => w.write(batch)?,
            ResultWriter::Csv(w) => w.write(batch)?,
            ResultWriter::Json(w) => w.write(batch)?,
            ResultWriter::Ndjson(w) => w.write(batch)?,
        }
        Ok(())
    }

    /// Completes the output (footer, closing bracket) and flushes it; returns the sink.
    pub fn finish(self) -> std::result::Result<W, WriteError> {
        let mut sink = match self {
            ResultWriter::Parquet(w) => w.into_inner()?,
            ResultWriter::Csv(w) => w.into_inner(),
            ResultWriter::Json(mut w) => {
                w.finish()?;
                w.into_inner()
            }
            ResultWriter::Ndjson(mut w) => {
                w.finish()?;
                w.into_inner()
            }
        };
        sink.flush()?;
        Ok(sink)
    }
}

/// A result file written atomically: batches go to a hidden temporary file in the target's
/// folder, which [`ResultFile::finish`] renames to the target. Dropped unfinished (an error
/// on the way), the temporary file is removed and the target is untouched.
pub struct ResultFile {
    path: PathBuf,
    writer: ResultWriter<BufWriter<File>>,
    temp: tempfile::TempPath,
}

impl ResultFile {
    /// Starts writing `path` in `format` for batches of `schema`.
    pub fn create(path: &Path, format: ResultFormat, schema: SchemaRef) -> Result<ResultFile> {
        let (file, temp) = temp_beside(path)?.into_parts();
        let writer = ResultWriter::new(format, BufWriter::new(file), schema)?;
        Ok(ResultFile { path: path.to_path_buf(), writer, temp })
    }

    /// Writes one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch).map_err(|e| EngineError::write(&self.path, e))
    }

    /// Completes the file and moves it to its path.
    pub fn finish(self) -> Result<PathBuf> {
        let ResultFile { path, writer, temp } = self;
        let sink = writer.finish().map_err(|e| EngineError::write(&path, e))?;
        let file = sink.into_inner().map_err(|e| EngineError::write(&path, e.error()))?;
        file.sync_all().map_err(|e| EngineError::write(&path, e))?;
        drop(file);
        temp.persist(&path).map_err(|e| EngineError::write(&path, e.error))?;
        Ok(path)
    }

    /// The file this will become.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A hidden temporary file in `path`'s folder (`.name.XXXX.tmp`), readable like any result
/// (tempfile's default of owner-only is for secrets, not results).
pub(crate) fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder.tempfile_in(dir).map_err(|e| EngineError::write(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap()
    }

    #[test]
    fn files_appear_only_when_complete() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("r.csv");
        let mut file = ResultFile::create(&target, ResultFormat::Csv, batch().schema()).unwrap();
        file.write(&batch()).unwrap();
        assert!(!target.exists(), "nothing at the target while writing");
        file.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "n\n1\n2\n3\n");
        let unfinished = ResultFile::create(&dir.path().join("x.parquet"), ResultFormat::Parquet, batch().schema());
        drop(unfinished);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["r.csv"], "an abandoned file leaves nothing behind");
    }
}
