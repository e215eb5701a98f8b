//! logfusion's network query server: Arrow Flight SQL over the same tables as `logfusion
//! query` (each with its `_rejects` and `_profile`), for Python (ADBC, pyarrow), JDBC/ODBC
//! tools (DBeaver) and Grafana.
//!
//! - [`auth`]: bearer tokens (stored as SHA-256) and users (argon2id) through the Flight
//!   handshake; per-principal source allow-lists; constant-time comparisons.
//! - [`policy`]: read-only SQL decided before planning — one statement, SELECT/EXPLAIN/SHOW,
//!   only configured sources the caller may read.
//! - [`bind`] and [`BoundServer::run`]: TLS (optionally mutual), refusal to listen in the open
//!   without it, limits per query (memory pool, timeout, concurrency, rows), `/healthz` and
//!   Prometheus `/metrics`, graceful shutdown.
//!
//! Built on `arrow-flight`'s `FlightSqlService` directly rather than
//! `datafusion-flight-sql-server`: that crate needs `protoc` (through Substrait), has no
//! handshake and no GetSqlInfo, and its per-call session hook would still need every check
//! this crate makes.

pub mod auth;
mod metrics;
pub mod policy;
mod query;
mod server;
mod service;

pub use auth::{Authenticator, Principal, hash_password, new_secret, token_sha256};
pub use metrics::{Metrics, Outcome};
pub use server::{BoundServer, ServerError, bind, shutdown_signal};
pub use service::{LogfusionFlightSql, RELOAD_ACTION, Tables};
