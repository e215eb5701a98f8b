//! `logfusion validate`: the engine's validation shown to people or machines, the rejects
//! exported on request, and the verdict as the exit status.

use std::path::PathBuf;
use std::process::ExitCode;

use logfusion_engine::{Environment, EnvironmentOptions, FileReport, ValidateOptions, ValidationReport};
use logfusion_formats::{escape_controls, escape_text};

use crate::GlobalArgs;
use crate::commands::format_name;
use crate::stdout::outln;

/// Arguments of `logfusion validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Folder (recursive), file, glob or s3:// URL to check.
    #[arg(long, value_name = "DIR")]
    directory: String,
    /// Read every file with this format instead of detecting it.
    #[arg(long, value_name = "FMT", value_parser = format_name)]
    format: Option<String>,
    /// Text encoding of the files when not UTF-8 (windows-1252, latin1, shift_jis, …).
    #[arg(long, value_name = "LABEL", value_parser = crate::commands::encoding_label)]
    encoding: Option<String>,
    /// Print the report as JSON (stable field names, see the README).
    #[arg(long)]
    json: bool,
    /// Write every reject to this file: Parquet (.parquet) or NDJSON (.ndjson, .jsonl).
    #[arg(long, value_name = "OUT")]
    rejects: Option<PathBuf>,
    /// Highest acceptable share of rejected lines (0 to 1).
    #[arg(long, default_value_t = 0.0, value_name = "R", value_parser = ratio)]
    max_error_ratio: f64,
    #[command(flatten)]
    cluster: crate::commands::ClusterArg,
    /// Examples shown per reject reason and file.
    #[arg(long, default_value_t = 3, value_name = "N")]
    examples: usize,
}

fn ratio(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err("expected a share between 0 and 1".into()),
    }
}

/// Validates, prints the report, writes the rejects if asked; exit status 1 unless the logs pass.
pub fn run(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let env = Environment::load(&EnvironmentOptions {
        config: global.config.clone(),
        log_dir: Some(args.directory.clone()),
        format: args.format.clone(),
        encoding: args.encoding.clone(),
        max_workers: None,
        exclude: args.rejects.iter().cloned().collect(),
        strict: false,
        sessions: args.cluster.sessions(global)?,
    })?;
    crate::render::print_notes(&env.catalog);
    let options = ValidateOptions { examples: args.examples };
    let report = env.runtime().block_on(logfusion_engine::validate(&env, &options))?;
    if let Some(out) = &args.rejects {
        env.runtime().block_on(logfusion_engine::write_rejects(&env, out))?;
    }
    let pass = report.passes(args.max_error_ratio);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report, args.max_error_ratio, pass);
    }
    Ok(if pass { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_human(report: &ValidationReport, max_ratio: f64, pass: bool) {
    outln!("{:<60} {:<8} {:<6} {:>10} {:>10} {:>8}", "file", "format", "codec", "lines", "rows", "rejects");
    for f in &report.files {
        let format = f.format.clone().unwrap_or_else(|| "-".into());
        outln!(
            "{:<60} {:<8} {:<6} {:>10} {:>10} {:>8}",
            escape_text(&f.file),
            format,
            f.compression,
            f.health.lines,
            f.health.rows,
            f.health.rejects
        );
        for note in notes(f) {
            outln!("    {note}");
        }
        for e in &f.health.examples {
            outln!(
                "    {}:{}: {}: {}\n        {}",
                escape_text(&f.file),
                e.line,
                e.reason,
                escape_controls(&e.detail),
                e.excerpt
            );
        }
    }
    outln!(
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
    let h = &f.health;
    if let Some(e) = &h.read_error {
        out.push(format!("reading stopped: {} (the {} lines before are counted)", escape_text(e), h.lines));
    }
    if let Some(c) = f.detection_confidence {
        out.push(format!("detected as {} ({:.0}% of sampled lines)", f.format.as_deref().unwrap_or("-"), c * 100.0));
    }
    if !h.rejects_by_reason.is_empty() {
        let r: Vec<String> = h.rejects_by_reason.iter().map(|(k, v)| format!("{k} {v}")).collect();
        out.push(format!("rejects: {}", r.join(", ")));
    }
    for (what, n) in [
        ("lines end in CRLF", h.crlf_lines),
        ("lines hold NUL bytes", h.nul_lines),
        ("lines hold control bytes", h.control_lines),
    ] {
        if n > 0 {
            out.push(format!("{n} {what}"));
        }
    }
    if h.ends_without_newline {
        out.push("the last line has no final newline".into());
    }
    if h.ts_out_of_order > 0 {
        out.push(format!("{} timestamps earlier than the line before", h.ts_out_of_order));
    }
    if h.ts_in_future > 0 {
        out.push(format!("{} timestamps in the future", h.ts_in_future));
    }
    for (rule, r) in &f.rule_violations {
        out.push(format!("rule {rule} broken by {} rows (first at line {})", r.count, r.first_line));
    }
    out
}
