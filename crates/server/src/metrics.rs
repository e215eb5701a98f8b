//! The server's Prometheus metrics: queries by outcome, their latency, bytes read, rows
//! returned, queries running, failed authentications. Names and labels carry no secrets and
//! no SQL.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// How a query ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It returned all its rows.
    Ok,
    /// It failed while planning or running.
    Error,
    /// The policy refused it (not read-only, or a table not allowed).
    Denied,
    /// The server was busy for longer than a query may wait.
    Busy,
    /// It ran longer than `query_timeout`.
    Timeout,
    /// It needed more memory than `query_memory`.
    Memory,
    /// Its result had more rows than `max_result_rows`.
    TooManyRows,
    /// The client went away before the end.
    Cancelled,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Denied => "denied",
            Outcome::Busy => "busy",
            Outcome::Timeout => "timeout",
            Outcome::Memory => "memory",
            Outcome::TooManyRows => "too_many_rows",
            Outcome::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// Every metric of the server.
pub struct Metrics {
    registry: Registry,
    queries: Family<OutcomeLabel, Counter>,
    latency: Histogram,
    bytes_read: Counter,
    rows: Counter,
    active: Gauge,
    auth_failures: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("logfusion");
        let queries = Family::<OutcomeLabel, Counter>::default();
        let latency = Histogram::new(exponential_buckets(0.001, 2.0, 18));
        let (bytes_read, rows, active, auth_failures) =
            (Counter::default(), Counter::default(), Gauge::default(), Counter::default());
        registry.register("queries", "Queries by outcome", queries.clone());
        registry.register("query_seconds", "Wall time of queries that ran", latency.clone());
        registry.register("bytes_read", "Log bytes read from storage by queries", bytes_read.clone());
        registry.register("rows_returned", "Rows sent to clients", rows.clone());
        registry.register("active_queries", "Queries running now", active.clone());
        registry.register("auth_failures", "Requests with missing or wrong credentials", auth_failures.clone());
        Metrics { registry, queries, latency, bytes_read, rows, active, auth_failures }
    }
}

impl Metrics {
    /// Records a query that ended with `outcome` after `seconds`, having read `bytes` and
    /// sent `rows`.
    pub fn query(&self, outcome: Outcome, seconds: f64, bytes: u64, rows: u64) {
        self.queries.get_or_create(&OutcomeLabel { outcome: outcome.as_str() }).inc();
        self.latency.observe(seconds);
        self.bytes_read.inc_by(bytes);
        self.rows.inc_by(rows);
    }

    /// Records a refused query (never started).
    pub fn refused(&self, outcome: Outcome) {
        self.queries.get_or_create(&OutcomeLabel { outcome: outcome.as_str() }).inc();
    }

    /// One more (or, with `false`, one fewer) query running.
    pub fn running(&self, started: bool) {
        if started {
            self.active.inc();
        } else {
            self.active.dec();
        }
    }

    /// Records a failed authentication.
    pub fn auth_failure(&self) {
        self.auth_failures.inc();
    }

    /// The metrics in the Prometheus text format.
    pub fn text(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
