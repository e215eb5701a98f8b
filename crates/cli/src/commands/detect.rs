//! `logfusion detect PATH...`: which format each file is in, and why: every format's share of
//! the file's first lines, and for each the first line it does not read.

use std::process::ExitCode;

use logfusion_datasource::{ListOptions, LogLocation, discover};
use logfusion_formats::{escape_excerpt, escape_text, rank_formats};

use crate::GlobalArgs;
use crate::stdout::outln;

/// Arguments of `logfusion detect`.
#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// Files, folders (read recursively), globs or s3:// URLs.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
    /// How many formats of the ranking to show per file (those reading a line at least).
    #[arg(long, default_value_t = 5, value_name = "N")]
    top: usize,
}

/// Ranks the formats of every file; exit status 1 when a file has no format.
pub fn run(global: &GlobalArgs, args: &DetectArgs) -> anyhow::Result<ExitCode> {
    // The config's own formats (`formats_dir`) are candidates too.
    crate::commands::load_user_formats(global)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut undetected = 0;
    for path in &args.paths {
        let location = LogLocation::parse(path)?;
        let found = runtime.block_on(discover(&location, &ListOptions::default()))?;
        if found.files.is_empty() {
            outln!("{}: no files", escape_text(path));
        }
        for file in &found.files {
            let name = escape_text(&file.name);
            if let Some(problem) = &file.problem
                && file.sample.is_empty()
            {
                outln!("{name}: {problem}");
                undetected += 1;
                continue;
            }
            let lines: Vec<&str> = file.sample.iter().map(String::as_str).filter(|l| !l.trim().is_empty()).collect();
            let ranking = rank_formats(&lines)?;
            match &file.detection {
                Some(d) => {
                    outln!("{name}: {} ({:.0}% of the first {} lines)", d.name, d.confidence * 100.0, lines.len())
                }
                None => {
                    undetected += 1;
                    outln!("{name}: no format reads half of the first {} lines", lines.len());
                }
            }
            if ranking.first().is_none_or(|best| best.matched == 0) {
                outln!("    no format reads any of them");
            }
            for score in ranking.iter().filter(|s| s.matched > 0).take(args.top) {
                let miss = score
                    .first_miss
                    .and_then(|n| lines.get(n - 1).map(|l| (n, l)))
                    .map(|(n, l)| format!("; first line it does not read: {n}: {}", escape_excerpt(l.as_bytes(), 60)))
                    .unwrap_or_default();
                outln!(
                    "    {:<16} {:>5}/{:<5} {:>4.0}%{miss}",
                    score.name,
                    score.matched,
                    score.total,
                    score.ratio() * 100.0
                );
            }
        }
    }
    Ok(if undetected == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
