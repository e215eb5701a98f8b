//! `logfusion validate`: runs the engine's validation and shows it to people or machines.

use std::path::Path;

use anyhow::Context;
use logfusion_engine::validate::{FileReport, ValidationReport, validate};
use logfusion_formats::escape_text;

use crate::setup::Environment;

/// Validates, prints the report, writes the rejects if asked; returns whether the logs pass.
pub async fn run(
    env: &Environment,
    json: bool,
    rejects: Option<&Path>,
    max_ratio: f64,
    examples: usize,
) -> anyhow::Result<bool> {
    let ctx = env.session()?;
    let report = validate(&ctx, &env.catalog, examples, &env.config.rules).await?;
    if let Some(out) = rejects {
        write_rejects(&ctx, env, out).await?;
    }
    let pass = report.reject_ratio <= max_ratio && report.problem_files == 0 && report.read_errors == 0;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report, max_ratio, pass);
    }
    Ok(pass)
}

fn print_human(report: &ValidationReport, max_ratio: f64, pass: bool) {
    println!("{:<60} {:<8} {:<6} {:>10} {:>10} {:>8}", "file", "format", "codec", "lines", "rows", "rejects");
    for f in &report.files {
        let format = f.format.clone().unwrap_or_else(|| "-".into());
        println!(
            "{:<60} {:<8} {:<6} {:>10} {:>10} {:>8}",
            escape_text(&f.file),
            format,
            f.compression,
            f.lines,
            f.rows,
            f.rejects
        );
        for note in notes(f) {
            println!("    {note}");
        }
        for e in &f.examples {
            println!(
                "    {}:{}: {}: {}\n        {}",
                escape_text(&f.file),
                e.line,
                e.reason,
                escape_text(&e.detail),
                e.excerpt
            );
        }
    }
    println!(
        "{} files, {} lines, {} rows, {} rejects ({:.4}% of lines; allowed {:.4}%), {} unreadable as logs, {} read errors: {}",
        report.files.len(),
        report.lines,
        report.rows,
        report.rejects,
        report.reject_ratio * 100.0,
        max_ratio * 100.0,
        report.problem_files,
        report.read_errors,
        if pass { "PASS" } else { "FAIL" }
    );
}

/// One line per finding of a file.
fn notes(f: &FileReport) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = &f.problem {
        out.push(format!("skipped: {p}"));
    }
    if let Some(e) = &f.read_error {
        out.push(format!("reading stopped: {} (the {} lines before are counted)", escape_text(e), f.lines));
    }
    if let Some(c) = f.detection_confidence {
        out.push(format!("detected as {} ({:.0}% of sampled lines)", f.format.as_deref().unwrap_or("-"), c * 100.0));
    }
    if !f.rejects_by_reason.is_empty() {
        let r: Vec<String> = f.rejects_by_reason.iter().map(|(k, v)| format!("{k} {v}")).collect();
        out.push(format!("rejects: {}", r.join(", ")));
    }
    for (what, n) in [
        ("lines end in CRLF", f.crlf_lines),
        ("lines hold NUL bytes", f.nul_lines),
        ("lines hold control bytes", f.control_lines),
    ] {
        if n > 0 {
            out.push(format!("{n} {what}"));
        }
    }
    if f.ends_without_newline {
        out.push("the last line has no final newline".into());
    }
    if f.ts_out_of_order > 0 {
        out.push(format!("{} timestamps earlier than the line before", f.ts_out_of_order));
    }
    if f.ts_in_future > 0 {
        out.push(format!("{} timestamps in the future", f.ts_in_future));
    }
    for (rule, r) in &f.rule_violations {
        out.push(format!("rule {rule} broken by {} rows (first at line {})", r.count, r.first_line));
    }
    out
}

async fn write_rejects(ctx: &datafusion::prelude::SessionContext, env: &Environment, out: &Path) -> anyhow::Result<()> {
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let format = match ext.as_str() {
        "parquet" => crate::output::OutputFormat::Parquet,
        "ndjson" | "jsonl" => crate::output::OutputFormat::Ndjson,
        _ => anyhow::bail!("--rejects {}: use a .parquet, .ndjson or .jsonl file", out.display()),
    };
    if env.catalog.tables.is_empty() {
        anyhow::bail!("--rejects {}: no readable log files, so no rejects", out.display());
    }
    let union: Vec<String> =
        env.catalog.tables.iter().map(|t| format!("SELECT * FROM \"{}\"", t.rejects_name())).collect();
    let df = ctx.sql(&format!("{} ORDER BY file, line", union.join(" UNION ALL "))).await?;
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    let mut writer = crate::output::ResultWriter::new(format, Some(out), schema)?;
    let mut stream = df.execute_stream().await?;
    while let Some(batch) = futures::StreamExt::next(&mut stream).await {
        writer.write(&batch?)?;
    }
    writer.finish().with_context(|| format!("writing {}", out.display()))
}
