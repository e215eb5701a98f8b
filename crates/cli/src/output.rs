//! Writing query results (table, CSV, JSON, NDJSON, Parquet) and the `tables`/`formats` listings.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::pretty::pretty_format_batches;
use logfusion_datasource::{FILE_COLUMN, LINE_COLUMN};
use logfusion_engine::Catalog;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// Result formats of `logfusion query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// An aligned text table (the whole result is held in memory).
    Table,
    /// CSV with a header.
    Csv,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Parquet (zstd), needs `--out`.
    Parquet,
}

/// Streams result batches to stdout or a file.
pub enum ResultWriter {
    /// Batches kept for the final pretty print.
    Table(Vec<RecordBatch>, Box<dyn Write>),
    /// CSV.
    Csv(Box<datafusion::arrow::csv::Writer<Box<dyn Write>>>),
    /// JSON array.
    Json(datafusion::arrow::json::ArrayWriter<Box<dyn Write>>),
    /// NDJSON.
    Ndjson(datafusion::arrow::json::LineDelimitedWriter<Box<dyn Write>>),
    /// Parquet.
    Parquet(Box<ArrowWriter<File>>),
}

fn sink(out: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match out {
        Some(p) => Box::new(BufWriter::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?)),
        None => Box::new(BufWriter::new(std::io::stdout())),
    })
}

impl ResultWriter {
    /// A writer of `format` to `out` (stdout when `None`).
    pub fn new(format: OutputFormat, out: Option<&Path>, schema: SchemaRef) -> anyhow::Result<Self> {
        Ok(match format {
            OutputFormat::Table => ResultWriter::Table(Vec::new(), sink(out)?),
            OutputFormat::Csv => ResultWriter::Csv(Box::new(
                datafusion::arrow::csv::WriterBuilder::new().with_header(true).build(sink(out)?),
            )),
            OutputFormat::Json => ResultWriter::Json(datafusion::arrow::json::ArrayWriter::new(sink(out)?)),
            OutputFormat::Ndjson => ResultWriter::Ndjson(datafusion::arrow::json::LineDelimitedWriter::new(sink(out)?)),
            OutputFormat::Parquet => {
                let Some(path) = out else { bail!("--output parquet needs --out FILE") };
                let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
                let props =
                    WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default())).build();
                ResultWriter::Parquet(Box::new(ArrowWriter::try_new(file, schema, Some(props))?))
            }
        })
    }

    /// Writes one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        match self {
            ResultWriter::Table(batches, _) => batches.push(batch.clone()),
            ResultWriter::Csv(w) => w.write(batch)?,
            ResultWriter::Json(w) => w.write(batch)?,
            ResultWriter::Ndjson(w) => w.write(batch)?,
            ResultWriter::Parquet(w) => w.write(batch)?,
        }
        Ok(())
    }

    /// Flushes and closes the output.
    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            ResultWriter::Table(batches, mut out) => {
                writeln!(out, "{}", pretty_format_batches(&batches)?)?;
                let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
                writeln!(out, "{rows} row{}", if rows == 1 { "" } else { "s" })?;
                out.flush()?;
            }
            ResultWriter::Csv(w) => w.into_inner().flush()?,
            ResultWriter::Json(mut w) => {
                w.finish()?;
                w.into_inner().flush()?;
            }
            ResultWriter::Ndjson(mut w) => {
                w.finish()?;
                w.into_inner().flush()?;
            }
            ResultWriter::Parquet(w) => {
                w.close()?;
            }
        }
        Ok(())
    }
}

/// Prints every format with its columns.
pub fn print_formats() {
    for entry in logfusion_formats::catalog() {
        println!("{}: {}", entry.name, entry.description);
        for c in &entry.columns {
            println!("    {:<24} {}", c.name, c.column_type.data_type());
        }
        println!("    {:<24} Utf8 (file the row came from)", FILE_COLUMN);
        println!("    {:<24} UInt64 (1-based line number)", LINE_COLUMN);
    }
    println!("every table has a <table>_rejects table: file, line, byte_offset, reason, detail, excerpt");
    let codes: Vec<&str> = logfusion_formats::RejectReason::ALL.iter().map(|r| r.code()).collect();
    println!("reject reasons: {}", codes.join(", "));
}

/// Prints the tables with their format, files and schema.
pub fn print_tables(catalog: &Catalog) {
    for t in &catalog.tables {
        let how = if t.detected { "detected" } else { "configured" };
        println!(
            "{} ({} format {}, {} file{}, {} bytes; rejects in {})",
            t.name,
            how,
            t.format.kind(),
            t.files.len(),
            if t.files.len() == 1 { "" } else { "s" },
            t.bytes(),
            t.rejects_name()
        );
        for f in &t.files {
            let confidence = f
                .detection
                .map(|d| format!(", {:.0}% of sampled lines match", d.confidence * 100.0))
                .unwrap_or_default();
            println!(
                "    file {} ({}{confidence})",
                logfusion_formats::escape_text(&f.path.to_string_lossy()),
                f.compression.name()
            );
        }
        for c in t.format.columns() {
            println!("    column {:<24} {}", c.name, c.column_type.data_type());
        }
    }
    for f in &catalog.skipped {
        let problem = f.problem.as_ref().map(ToString::to_string).unwrap_or_default();
        println!("skipped {}: {problem}", logfusion_formats::escape_text(&f.path.to_string_lossy()));
    }
}
