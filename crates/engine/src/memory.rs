//! A memory pool wrapper that remembers the peak of reserved bytes, for the performance report.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::common::Result;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation};

/// Delegates to an inner pool and records the highest `reserved()` seen since the last reset.
#[derive(Debug)]
pub struct PeakMemoryPool {
    inner: Arc<dyn MemoryPool>,
    peak: AtomicUsize,
}

impl PeakMemoryPool {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn MemoryPool>) -> Self {
        PeakMemoryPool { inner, peak: AtomicUsize::new(0) }
    }

    /// The peak since the last [`PeakMemoryPool::reset_peak`], in bytes.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Starts a new measurement from the current reservation.
    pub fn reset_peak(&self) {
        self.peak.store(self.inner.reserved(), Ordering::Relaxed);
    }

    fn observe(&self) {
        self.peak.fetch_max(self.inner.reserved(), Ordering::Relaxed);
    }
}

impl std::fmt::Display for PeakMemoryPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "peak-tracking pool (peak {} bytes) over {}", self.peak(), self.inner)
    }
}

impl MemoryPool for PeakMemoryPool {
    fn name(&self) -> &str {
        "peak_tracking"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer)
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
        self.observe();
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink)
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        self.inner.try_grow(reservation, additional)?;
        self.observe();
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}
