//! logfusion's own logs: warnings (or, with `-v`, info) on stderr, and the config's
//! `system_log` file at its level with timestamps.

use std::path::Path;

use logfusion_engine::{Config, EnvironmentOptions, LoggingConfig};

/// The logging settings of the config a command will use: beside its config file, or in the
/// user's state folder without one (also when it cannot be read: loading it again later
/// reports the problem).
pub fn system_log_settings(config: Option<&Path>) -> LoggingConfig {
    let options = EnvironmentOptions { config: config.map(Path::to_path_buf), ..Default::default() };
    options.load_config().map(|(c, _)| c.logging).unwrap_or_else(|_| Config::without_file().logging)
}

/// Logs to stderr (warnings, or info with `verbose`; `RUST_LOG` overrides) and, when
/// `system_log` is given, to that file. A system log that cannot be opened is reported on
/// stderr and left out. ANSI colours only when stderr is a terminal.
pub fn init(verbose: bool, system_log: Option<&LoggingConfig>) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let default = if verbose { "info" } else { "warn" };
    let stderr_filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_filter(stderr_filter);
    let mut file_error = None;
    let file = system_log.and_then(|logging| {
        if let Some(dir) = logging.system_log.parent().filter(|d| !d.as_os_str().is_empty()) {
            // A missing state folder is made; any other problem shows when the file is opened.
            let _ = std::fs::create_dir_all(dir);
        }
        let open = std::fs::OpenOptions::new().create(true).append(true).open(&logging.system_log);
        match open {
            Ok(f) => Some(
                tracing_subscriber::fmt::layer().with_writer(std::sync::Mutex::new(f)).with_ansi(false).with_filter(
                    EnvFilter::new(format!(
                        "logfusion={0},logfusion_engine={0},logfusion_datasource={0},logfusion_cluster={0},ballista_scheduler={0},ballista_executor={0},warn",
                        logging.level
                    )),
                ),
            ),
            Err(e) => {
                file_error = Some(format!("cannot open system log {}: {e}", logging.system_log.display()));
                None
            }
        }
    });
    // A second initialisation (never in this binary) would only keep the first subscriber.
    let _ = tracing_subscriber::registry().with(stderr).with(file).try_init();
    if let Some(e) = file_error {
        tracing::warn!("{e}");
    }
}
