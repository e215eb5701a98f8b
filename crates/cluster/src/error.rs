//! The errors of the cluster side: each names the address or setting it is about.

/// An error starting a cluster process or talking to the scheduler.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// An address that is not `host:port` (or `df://host:port`).
    #[error("{flag}: {text:?} is not an address of the form host:port")]
    Address {
        /// The flag or key, e.g. `--scheduler`.
        flag: String,
        /// What was given.
        text: String,
    },
    /// A non-loopback address without `cluster.allow_insecure`.
    #[error(
        "{flag} {address}: not a loopback address; Ballista's scheduler and executors speak plain gRPC (no TLS), so set `cluster.allow_insecure: true` in the config to listen there, on a private network"
    )]
    Insecure {
        /// The flag, e.g. `--bind`.
        flag: String,
        /// The address.
        address: String,
    },
    /// The scheduler could not be reached or answered with an error.
    #[error("scheduler {scheduler}: {message}")]
    Scheduler {
        /// Its address.
        scheduler: String,
        /// What went wrong.
        message: String,
    },
    /// Ballista failed to start or run a process.
    #[error("{0}")]
    Ballista(#[from] ballista_core::error::BallistaError),
    /// DataFusion failed (building a session).
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// An I/O error of the process (binding, the work folder).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Results of this crate.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;
