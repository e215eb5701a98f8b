//! A progress line on stderr while a plan runs — only when stderr is a terminal: bytes of log
//! scanned out of the bytes of the tables being scanned, throughput and time left.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datafusion::physical_plan::ExecutionPlan;
use logfusion_engine::{Catalog, scan_stats};

/// The plan being watched: its label, the plan, and when it started.
type Slot = Mutex<Option<(String, Arc<dyn ExecutionPlan>, Instant)>>;

/// Shows progress of whatever plan is handed to [`Progress::watch`].
pub struct Progress {
    plan: Arc<Slot>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Starts the ticker if stderr is a terminal; otherwise does nothing at all.
    pub fn start(catalog: &Catalog) -> Progress {
        let plan: Arc<Slot> = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = std::io::stderr().is_terminal().then(|| {
            let sizes: Vec<(String, u64)> = catalog
                .tables
                .iter()
                .flat_map(|t| [(t.name.clone(), t.bytes()), (t.rejects_name(), t.bytes())])
                .collect();
            let (plan, stop) = (plan.clone(), stop.clone());
            std::thread::spawn(move || tick(&plan, &stop, &sizes))
        });
        Progress { plan, stop, thread }
    }

    /// Reports progress of `plan` (labelled `label`) from now on.
    pub fn watch(&self, label: &str, plan: Arc<dyn ExecutionPlan>) {
        if let Ok(mut slot) = self.plan.lock() {
            *slot = Some((label.to_string(), plan, Instant::now()));
        }
    }

    /// Stops showing progress and clears the line.
    pub fn finish(self) {
        drop(self);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tick(plan: &Slot, stop: &std::sync::atomic::AtomicBool, sizes: &[(String, u64)]) {
    let mut stderr = std::io::stderr();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        let current = plan.lock().ok().and_then(|p| p.clone());
        let Some((label, plan, since)) = current else { continue };
        let stats = scan_stats(&plan);
        let done: u64 = stats.values().map(|s| s.bytes_scanned).sum();
        let total: u64 = stats
            .iter()
            .map(|(t, s)| sizes.iter().find(|(n, _)| n == t).map(|(_, b)| b * s.scans.max(1)).unwrap_or(0))
            .sum();
        let secs = since.elapsed().as_secs_f64().max(1e-3);
        let rate = done as f64 / secs;
        let fraction = if total > 0 { (done as f64 / total as f64).min(1.0) } else { 0.0 };
        let eta = if rate > 0.0 && total > done { (total - done) as f64 / rate } else { 0.0 };
        let width = 24;
        let filled = (fraction * width as f64) as usize;
        let _ = write!(
            stderr,
            "\r\x1b[2K{label:<28.28} [{}{}] {:>3.0}% {:.0}/{:.0} MiB {:.0} MB/s ETA {eta:.0}s",
            "=".repeat(filled),
            " ".repeat(width - filled),
            fraction * 100.0,
            done as f64 / 1048576.0,
            total as f64 / 1048576.0,
            rate / 1e6
        );
        let _ = stderr.flush();
    }
    let _ = write!(stderr, "\r\x1b[2K");
    let _ = stderr.flush();
}
