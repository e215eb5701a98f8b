//! What the terminal sees: query results (an escaped text table, or a machine format), the
//! `tables` and `formats` listings, and errors as one escaped line. Log text is untrusted:
//! in tables and listings every control, C1, bidi and invisible format character is shown
//! escaped, and newlines as `\n`, whether or not stdout is a terminal; machine formats keep
//! the bytes, validly quoted.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::stdout::{Stdout, outln};
use anyhow::Context;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::array_value_to_string;
use logfusion_datasource::{FILE_COLUMN, LINE_COLUMN, TableKind};
use logfusion_engine::{Catalog, ResultFile, ResultFormat, ResultWriter};
use logfusion_formats::escape_text;

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

/// Where a query's result goes.
pub enum QueryOutput {
    /// Batches kept for the final table, printed or written to a file.
    Table {
        /// The result's schema.
        schema: SchemaRef,
        /// Every batch.
        batches: Vec<RecordBatch>,
        /// The file, if not stdout.
        out: Option<PathBuf>,
    },
    /// A machine format streamed to stdout.
    Stdout(Box<ResultWriter<BufWriter<Stdout>>>),
    /// A machine format streamed to a file that appears when complete.
    File(ResultFile),
}

impl QueryOutput {
    /// An output of `format` to `out` (stdout when `None`).
    pub fn new(format: OutputFormat, out: Option<&Path>, schema: SchemaRef) -> anyhow::Result<QueryOutput> {
        let machine = match format {
            OutputFormat::Table => {
                return Ok(QueryOutput::Table { schema, batches: Vec::new(), out: out.map(Path::to_path_buf) });
            }
            OutputFormat::Csv => ResultFormat::Csv,
            OutputFormat::Json => ResultFormat::Json,
            OutputFormat::Ndjson => ResultFormat::Ndjson,
            OutputFormat::Parquet => ResultFormat::Parquet,
        };
        Ok(match out {
            Some(path) => QueryOutput::File(ResultFile::create(path, machine, schema)?),
            None => QueryOutput::Stdout(Box::new(ResultWriter::new(machine, BufWriter::new(Stdout), schema)?)),
        })
    }

    /// Writes one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        match self {
            QueryOutput::Table { batches, .. } => batches.push(batch.clone()),
            QueryOutput::Stdout(w) => w.write(batch).context("writing to stdout")?,
            QueryOutput::File(f) => f.write(batch)?,
        }
        Ok(())
    }

    /// Completes the output.
    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            QueryOutput::Table { schema, batches, out } => {
                let text = table_text(&schema, &batches)?;
                match out {
                    Some(path) => logfusion_engine::write_text(&path, &text)?,
                    None => {
                        let mut stdout = Stdout;
                        stdout.write_all(text.as_bytes())?;
                        stdout.flush()?;
                    }
                }
            }
            QueryOutput::Stdout(w) => {
                w.finish().context("writing to stdout")?;
            }
            QueryOutput::File(f) => {
                f.finish()?;
            }
        }
        Ok(())
    }
}

/// The result as a text table with every cell escaped, then the row count.
fn table_text(schema: &SchemaRef, batches: &[RecordBatch]) -> anyhow::Result<String> {
    let mut table = comfy_table::Table::new();
    table.load_preset("||--+-++|    ++++++").set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    table.set_header(schema.fields().iter().map(|f| escape_text(f.name())));
    let mut rows = 0;
    for batch in batches {
        for r in 0..batch.num_rows() {
            let cells = (0..batch.num_columns())
                .map(|c| array_value_to_string(batch.column(c), r).map(|v| escape_text(&v)))
                .collect::<Result<Vec<_>, _>>()?;
            table.add_row(cells);
            rows += 1;
        }
    }
    Ok(format!("{table}\n{rows} row{}\n", if rows == 1 { "" } else { "s" }))
}

/// An error as one line: its causes appended unless the message already says them,
/// newlines folded, control characters escaped.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    let joined = text.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    escape_text(&joined)
}

/// Prints every format with its columns.
pub fn print_formats() -> anyhow::Result<()> {
    for entry in logfusion_formats::catalog()? {
        outln!("{}: {}", entry.name, entry.description);
        for c in &entry.columns {
            outln!("    {:<24} {}", c.name, c.column_type.data_type());
        }
        outln!("    {:<24} Utf8 (file the row came from)", FILE_COLUMN);
        outln!("    {:<24} UInt64 (1-based line number)", LINE_COLUMN);
    }
    outln!("every table has a <table>_rejects table: file, line, byte_offset, reason, detail, excerpt");
    let codes: Vec<&str> = logfusion_formats::RejectReason::ALL.iter().map(|r| r.code()).collect();
    outln!("reject reasons: {}", codes.join(", "));
    Ok(())
}

/// Prints the tables with their format, files and schema.
pub fn print_tables(catalog: &Catalog) {
    for t in &catalog.tables {
        let how = if t.detected { "detected" } else { "configured" };
        outln!(
            "{} ({} format {}, {} file{}, {} bytes; rejects in {})",
            t.name,
            how,
            t.format.kind(),
            t.files.len(),
            if t.files.len() == 1 { "" } else { "s" },
            t.bytes(),
            TableKind::Rejects.table_name(&t.name)
        );
        for f in &t.files {
            let confidence = f
                .detection
                .map(|d| format!(", {:.0}% of sampled lines match", d.confidence * 100.0))
                .unwrap_or_default();
            outln!("    file {} ({}{confidence})", escape_text(&f.name), f.compression.name());
        }
        for c in t.format.columns() {
            outln!("    column {:<24} {}", c.name, c.column_type.data_type());
        }
    }
    for f in &catalog.skipped {
        let problem = f.problem.as_ref().map(ToString::to_string).unwrap_or_default();
        outln!("skipped {}: {problem}", escape_text(&f.name));
    }
}

/// One `note:` line on stderr per thing left out on purpose (a duplicate link, a link loop,
/// logfusion's own files), so nothing is left out silently.
pub fn print_notes(catalog: &Catalog) {
    for note in &catalog.notes {
        eprintln!("note: {note}");
    }
}
