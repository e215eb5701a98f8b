//! Starting and stopping the server: the listener (with TLS, or refused in the open without
//! it), the optional HTTP endpoint with `/healthz` and `/metrics`, and a graceful shutdown on
//! SIGTERM or SIGINT that lets running queries finish up to a deadline.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use bytes::Bytes;
use futures::FutureExt;
use http_body_util::Full;
use logfusion_engine::Environment;
use tokio::net::TcpListener;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::auth::Authenticator;
use crate::metrics::Metrics;
use crate::service::{LogfusionFlightSql, ServiceOptions, Tables};

/// The largest request the server decodes (a SQL text, a prepared statement): 4 MiB.
const MAX_REQUEST_BYTES: usize = 4 << 20;

/// Why the server cannot start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listen address that does not parse.
    #[error("{name} {addr:?} is not an address such as 127.0.0.1:50051")]
    Address {
        /// Which setting.
        name: &'static str,
        /// The address as given.
        addr: String,
    },
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A non-loopback address without TLS.
    #[error(
        "refusing to listen on {addr} without TLS: set network.tls, listen on 127.0.0.1, or set network.allow_insecure: true"
    )]
    Insecure {
        /// The address.
        addr: SocketAddr,
    },
    /// A TLS file that cannot be read.
    #[error("network.tls: cannot read {path}: {source}")]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Nobody could use the server.
    #[error("no credentials: add network.auth.tokens (logfusion token new) or network.auth.users (logfusion passwd)")]
    NoCredentials,
    /// Setting up the service or its transport failed.
    #[error("{0}")]
    Transport(String),
    /// The engine failed (registering tables).
    #[error(transparent)]
    Engine(#[from] logfusion_engine::EngineError),
}

/// A server bound to its addresses, not yet serving.
pub struct BoundServer {
    /// Where the Flight SQL endpoint listens.
    pub addr: SocketAddr,
    /// Where `/healthz` and `/metrics` listen, if configured.
    pub http_addr: Option<SocketAddr>,
    /// Whether the endpoint speaks TLS (and whether it requires client certificates).
    pub tls: Option<bool>,
    listener: TcpListener,
    http: Option<TcpListener>,
    tls_config: Option<ServerTlsConfig>,
    service: LogfusionFlightSql,
    metrics: Arc<Metrics>,
    shutdown_grace: Duration,
}

/// Binds the server of `env` (its `network:` section; `bind` overrides the address): checks
/// TLS and credentials, builds the tables once.
pub async fn bind(env: Arc<Environment>, bind: Option<String>) -> Result<BoundServer, ServerError> {
    let network = env.config.network.clone().unwrap_or_default();
    let text = bind.unwrap_or_else(|| network.bind.clone());
    let addr: SocketAddr = text.parse().map_err(|_| ServerError::Address { name: "bind", addr: text.clone() })?;
    if network.tls.is_none() && !addr.ip().is_loopback() {
        if !network.allow_insecure {
            return Err(ServerError::Insecure { addr });
        }
        tracing::warn!(
            "INSECURE: serving {addr} without TLS (network.allow_insecure): tokens and results cross the network in clear"
        );
    }
    let auth = Authenticator::new(&network.auth);
    if auth.is_empty() {
        return Err(ServerError::NoCredentials);
    }
    let tls_config = network.tls.as_ref().map(tls).transpose()?;
    let listener = TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind { addr, source })?;
    let http = match &network.http {
        Some(text) => {
            let at: SocketAddr = text.parse().map_err(|_| ServerError::Address { name: "http", addr: text.clone() })?;
            Some(TcpListener::bind(at).await.map_err(|source| ServerError::Bind { addr: at, source })?)
        }
        None => None,
    };
    let http_addr = http.as_ref().and_then(|l| l.local_addr().ok());
    let max_line = env.config.max_line_len();
    let tables = Tables::new(env.catalog.clone(), max_line)?;
    let mut settings = env.settings.clone();
    settings.memory_limit = Some(network.limits.query_memory.0);
    settings.url_tables = false;
    let options = ServiceOptions {
        settings,
        limits: network.limits.clone(),
        performance_log: env.config.logging.performance_log.clone(),
    };
    let metrics = Arc::new(Metrics::default());
    let reloading = env.clone();
    let reload: crate::service::Reloader = Box::new(move || {
        let env = reloading.clone();
        async move {
            let (config, catalog) = env.reload().await?;
            let tables = Tables::new(catalog, config.max_line_len())?;
            let network = config.network.unwrap_or_default();
            Ok((tables, Authenticator::new(&network.auth)))
        }
        .boxed()
    });
    let service = LogfusionFlightSql::new(tables, auth, options, metrics.clone(), reload)
        .map_err(|e| ServerError::Transport(e.to_string()))?;
    let tls = network.tls.as_ref().map(|t| t.client_ca.is_some());
    let shutdown_grace = network.shutdown_grace;
    Ok(BoundServer { addr, http_addr, tls, listener, http, tls_config, service, metrics, shutdown_grace })
}

impl BoundServer {
    /// Serves until `shutdown` resolves; then stops accepting, lets running queries finish for
    /// up to `network.shutdown_grace` and cancels the rest.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let BoundServer { listener, http, tls_config, service, metrics, addr, shutdown_grace, .. } = self;
        if let Some(http) = http {
            tokio::spawn(serve_http(http, metrics));
        }
        let mut builder = tonic::transport::Server::builder()
            .tcp_keepalive(Some(Duration::from_secs(60)))
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(20)));
        if let Some(tls) = tls_config {
            builder = builder.tls_config(tls).map_err(|e| ServerError::Transport(e.to_string()))?;
        }
        let flight = FlightServiceServer::new(service)
            .max_decoding_message_size(MAX_REQUEST_BYTES)
            .max_encoding_message_size(usize::MAX);
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down {addr}: no new requests; running queries get {shutdown_grace:?}");
            let _ = stopping_tx.send(());
        };
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let serving = builder.add_service(flight).serve_with_incoming_shutdown(incoming, signal);
        tokio::pin!(serving);
        let deadline = async {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(shutdown_grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            served = &mut serving => served.map_err(|e| ServerError::Transport(e.to_string())),
            () = deadline => {
                tracing::warn!("queries still running after {shutdown_grace:?}: cancelled");
                Ok(())
            }
        }
    }
}

fn tls(config: &logfusion_engine::TlsConfig) -> Result<ServerTlsConfig, ServerError> {
    let read =
        |path: &Path| std::fs::read(path).map_err(|source| ServerError::TlsFile { path: path.to_path_buf(), source });
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(read(&config.cert)?, read(&config.key)?));
    if let Some(ca) = &config.client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(read(ca)?)).client_auth_optional(false);
    }
    Ok(tls)
}

/// Answers `/healthz` and `/metrics` on `listener`.
async fn serve_http(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("http endpoint: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let metrics = metrics.clone();
                async move { Ok::<_, Infallible>(respond(request.uri().path(), &metrics)) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await {
                tracing::debug!("http connection: {e}");
            }
        });
    }
}

fn respond(path: &str, metrics: &Metrics) -> hyper::Response<Full<Bytes>> {
    let (status, content_type, body) = match path {
        "/healthz" => (200, "text/plain", "ok\n".to_string()),
        "/metrics" => (200, "text/plain; version=0.0.4; charset=utf-8", metrics.text()),
        _ => (404, "text/plain", "not found: try /healthz or /metrics\n".to_string()),
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// A future that resolves on SIGINT (Ctrl-C) or SIGTERM (on Windows: Ctrl-C, Ctrl-Break or
/// closing the console). The handlers are installed by this call, before the server says it
/// is ready, so a signal sent as soon as it is ready is never the default "terminate now".
/// Call it inside the runtime.
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(windows)]
    {
        use tokio::signal::windows;
        let mut ctrl_c = windows::ctrl_c()?;
        let mut ctrl_break = windows::ctrl_break()?;
        let mut close = windows::ctrl_close()?;
        Ok(async move {
            tokio::select! {
                _ = ctrl_c.recv() => {}
                _ = ctrl_break.recv() => {}
                _ = close.recv() => {}
            }
        })
    }
    #[cfg(not(any(unix, windows)))]
    {
        Ok(std::future::pending::<()>())
    }
}
