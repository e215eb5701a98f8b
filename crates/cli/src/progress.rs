//! Progress on stderr while plans run, drawn by `indicatif` and only when stderr is a
//! terminal: bytes of log read out of the bytes of the tables being scanned, throughput and
//! time left; for `bench`, the round and the query.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::stdout::outln;
use datafusion::physical_plan::ExecutionPlan;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use logfusion_datasource::TableKind;
use logfusion_engine::{Catalog, scan_stats};

/// The plan being watched and its label.
type Slot = Mutex<Option<(String, Arc<dyn ExecutionPlan>)>>;

/// How often the bar reads the plan's metrics.
const TICK: Duration = Duration::from_millis(200);

/// Shows the progress of whatever plan is handed to [`Progress::watch`].
pub struct Progress {
    bar: Option<ProgressBar>,
    plan: Arc<Slot>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Starts the bar if stderr is a terminal; otherwise does nothing at all.
    pub fn start(catalog: &Catalog) -> Progress {
        let plan: Arc<Slot> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let bar = std::io::stderr().is_terminal().then(|| {
            let style = ProgressStyle::with_template(
                "{msg:28!} [{bar:24}] {percent:>3}% {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr()).with_style(style)
        });
        let thread = bar.clone().map(|bar| {
            let sizes: Vec<(String, u64)> = catalog
                .tables
                .iter()
                .flat_map(|t| TableKind::ALL.map(|k| (k.table_name(&t.name), t.bytes())))
                .collect();
            let (plan, stop) = (plan.clone(), stop.clone());
            std::thread::spawn(move || tick(&bar, &plan, &stop, &sizes))
        });
        Progress { bar, plan, stop, thread }
    }

    /// Reports progress of `plan` (labelled `label`) from now on.
    pub fn watch(&self, label: &str, plan: Arc<dyn ExecutionPlan>) {
        if let Ok(mut slot) = self.plan.lock() {
            *slot = Some((label.to_string(), plan));
        }
        if let Some(bar) = &self.bar {
            bar.reset();
        }
    }

    /// Prints a line on stdout without tearing the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| outln!("{line}")),
            None => outln!("{line}"),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // A ticker that panicked has nothing left to clean up.
            let _ = t.join();
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn tick(bar: &ProgressBar, plan: &Slot, stop: &AtomicBool, sizes: &[(String, u64)]) {
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
        let current = plan.lock().ok().and_then(|p| p.clone());
        let Some((label, plan)) = current else { continue };
        let stats = scan_stats(&plan);
        let done: u64 = stats.values().map(|s| s.bytes_read).sum();
        let total: u64 =
            stats.iter().map(|(t, s)| sizes.iter().find(|(n, _)| n == t).map_or(0, |(_, b)| b * s.scans.max(1))).sum();
        bar.set_message(label);
        bar.set_length(total.max(done));
        bar.set_position(done);
    }
}

/// `[round r/n] setting: query` for `bench`, on a terminal only.
pub struct Rounds {
    bar: Option<ProgressBar>,
}

impl Rounds {
    /// A spinner line if stderr is a terminal.
    pub fn new() -> Rounds {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.enable_steady_tick(TICK);
            bar
        });
        Rounds { bar }
    }

    /// Shows which run is going on.
    pub fn show(&self, round: usize, rounds: usize, setting: &str, query: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("[round {round}/{rounds}] {setting}: {query}"));
        }
    }
}

impl Drop for Rounds {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
