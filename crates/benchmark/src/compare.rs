//! Comparing a run with a saved one: which queries got slower or faster beyond a threshold.

use serde::Serialize;

use crate::measure::{BenchRun, QueryResult, SettingResult};
use crate::stats::Summary;

/// What happened to one query between two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Median slower by more than the threshold, and every current run slower than every
    /// baseline run.
    Regressed,
    /// Median faster by more than the threshold, and every current run faster than every
    /// baseline run.
    Improved,
    /// Within the threshold, or the runs overlap (noise).
    Unchanged,
    /// In the current run only.
    New,
    /// In the baseline only.
    Missing,
}

impl Verdict {
    /// Lower-case name for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "REGRESSED",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "same",
            Verdict::New => "new",
            Verdict::Missing => "missing",
        }
    }
}

/// Why two runs' times may not be comparable: a different machine. `None` when they match.
pub fn machine_difference(baseline: &BenchRun, current: &BenchRun) -> Option<String> {
    let (b, c) = (&baseline.host, &current.host);
    (b.cpu != c.cpu || b.cores != c.cores || b.hostname != c.hostname).then(|| {
        format!(
            "the baseline was measured on {} ({}, {} cores), this run on {} ({}, {} cores)",
            b.hostname, b.cpu, b.cores, c.hostname, c.cpu, c.cores
        )
    })
}

/// One query of one setting, baseline against current.
#[derive(Debug, Clone, Serialize)]
pub struct ComparisonRow {
    /// Setting label of the current run (the baseline's when the query is missing).
    pub setting: String,
    /// Statement name.
    pub query: String,
    /// Baseline wall times.
    pub baseline: Option<Summary>,
    /// Current wall times.
    pub current: Option<Summary>,
    /// `current median / baseline median - 1` (0.25 = 25 % slower).
    pub change: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
    /// Something else worth knowing (a different row count or number of lines read; bytes
    /// read vary with the partitioning, as ranges read on to the end of their last line).
    pub note: Option<String>,
}

/// Compares `current` with `baseline`, query by query. Settings are matched by label; when each
/// run has a single setting, those two are compared whatever their labels (a run with a
/// changed setting against the saved default). `threshold` is a fraction (0.10 = 10 %).
pub fn compare(baseline: &BenchRun, current: &BenchRun, threshold: f64) -> Vec<ComparisonRow> {
    let single = baseline.settings.len() == 1 && current.settings.len() == 1;
    let mut rows = Vec::new();
    for setting in &current.settings {
        let base = if single {
            baseline.settings.first()
        } else {
            baseline.settings.iter().find(|b| b.label == setting.label)
        };
        for query in &setting.queries {
            let before = base.and_then(|b| b.queries.iter().find(|q| q.name == query.name));
            rows.push(match before {
                Some(before) => judge(&setting.label, before, query, threshold),
                None => ComparisonRow {
                    setting: setting.label.clone(),
                    query: query.name.clone(),
                    baseline: None,
                    current: Some(query.wall),
                    change: None,
                    verdict: Verdict::New,
                    note: None,
                },
            });
        }
    }
    for base in &baseline.settings {
        let now: Option<&SettingResult> =
            if single { current.settings.first() } else { current.settings.iter().find(|s| s.label == base.label) };
        for query in &base.queries {
            if !now.is_some_and(|s| s.queries.iter().any(|q| q.name == query.name)) {
                rows.push(ComparisonRow {
                    setting: base.label.clone(),
                    query: query.name.clone(),
                    baseline: Some(query.wall),
                    current: None,
                    change: None,
                    verdict: Verdict::Missing,
                    note: None,
                });
            }
        }
    }
    rows
}

fn judge(setting: &str, before: &QueryResult, now: &QueryResult, threshold: f64) -> ComparisonRow {
    let (b, c) = (before.wall, now.wall);
    let ratio = if b.median > 0.0 { c.median / b.median } else { 1.0 };
    let verdict = if ratio > 1.0 + threshold && c.min > b.max {
        Verdict::Regressed
    } else if ratio < 1.0 / (1.0 + threshold) && c.max < b.min {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    };
    let mut notes = Vec::new();
    if before.rows != now.rows {
        notes.push(format!("rows {} -> {}", before.rows, now.rows));
    }
    if before.lines_read != now.lines_read {
        notes.push(format!("lines read {} -> {}", before.lines_read, now.lines_read));
    }
    let note = (!notes.is_empty()).then(|| notes.join(", "));
    ComparisonRow {
        setting: setting.to_string(),
        query: now.name.clone(),
        baseline: Some(b),
        current: Some(c),
        change: Some(ratio - 1.0),
        verdict,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Setting;
    use crate::measure::Host;

    fn result(name: &str, walls: &[f64]) -> QueryResult {
        let wall = Summary::of(walls).unwrap();
        QueryResult {
            name: name.to_string(),
            wall,
            mb_per_second: wall,
            lines_per_second: wall,
            rows: 10,
            rows_vary: false,
            bytes_read: 0,
            lines_read: 0,
            peak_memory_bytes: 0,
            top_operators: Vec::new(),
            explain: String::new(),
            explain_analyze: String::new(),
            samples: Vec::new(),
        }
    }

    fn run(label: &str, queries: Vec<QueryResult>) -> BenchRun {
        BenchRun {
            format_version: crate::measure::FORMAT_VERSION,
            logfusion_version: String::new(),
            started: String::new(),
            host: Host::current(),
            warmup: 0,
            iterations: 3,
            tables: Vec::new(),
            settings: vec![SettingResult { label: label.to_string(), setting: Setting::default(), queries }],
        }
    }

    #[test]
    fn slower_beyond_threshold_and_noise_is_a_regression() {
        let base = run("default", vec![result("q1", &[1.0, 1.05, 1.1]), result("q2", &[1.0, 1.0, 1.0])]);
        let now = run("batch_size=16", vec![result("q1", &[1.5, 1.6, 1.7]), result("q2", &[1.02, 1.03, 1.0])]);
        let rows = compare(&base, &now, 0.10);
        let verdicts: Vec<(&str, Verdict)> = rows.iter().map(|r| (r.query.as_str(), r.verdict)).collect();
        assert_eq!(verdicts, [("q1", Verdict::Regressed), ("q2", Verdict::Unchanged)]);
        let change = rows[0].change.unwrap();
        assert!((change - (1.6 / 1.05 - 1.0)).abs() < 1e-9, "{change}");
    }

    #[test]
    fn overlapping_runs_are_noise_not_a_regression() {
        let base = run("default", vec![result("q1", &[1.0, 1.1, 2.0])]);
        let now = run("default", vec![result("q1", &[1.3, 1.4, 1.5])]);
        assert_eq!(compare(&base, &now, 0.10)[0].verdict, Verdict::Unchanged);
    }

    #[test]
    fn improvements_new_and_missing_queries_are_reported() {
        let base = run("default", vec![result("q1", &[2.0, 2.1, 2.2]), result("gone", &[1.0])]);
        let mut now = run("default", vec![result("q1", &[1.0, 1.1, 1.2]), result("fresh", &[1.0])]);
        now.settings[0].queries[0].rows = 11;
        now.settings[0].queries[0].lines_read = 5;
        let rows = compare(&base, &now, 0.10);
        let verdicts: Vec<(&str, Verdict)> = rows.iter().map(|r| (r.query.as_str(), r.verdict)).collect();
        assert_eq!(verdicts, [("q1", Verdict::Improved), ("fresh", Verdict::New), ("gone", Verdict::Missing)]);
        assert_eq!(rows[0].note.as_deref(), Some("rows 10 -> 11, lines read 0 -> 5"));
    }
}
