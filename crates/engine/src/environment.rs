//! [`Environment`]: everything a command, a server or a cluster executor needs before it runs
//! SQL — the config, the discovered tables, the session settings and the runtime — built once
//! from a few choices ([`EnvironmentOptions`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use logfusion_datasource::{Decoding, ListOptions};
use logfusion_formats::{FormatSpec, escape_text};

use crate::catalog::{Catalog, SourceRequest};
use crate::config::{Config, ConfigError};
use crate::error::{EngineError, Result};
use crate::session::{Session, SessionSettings, runtime};

/// The config file read when none is named: `config.yaml` in the current folder, if there.
pub const DEFAULT_CONFIG: &str = "config.yaml";

/// Makes the sessions of an [`Environment`] when its queries run elsewhere than in this
/// process (a cluster): the same settings, another place to run.
pub trait SessionFactory: Send + Sync + std::fmt::Debug {
    /// A session with `settings` and logfusion's functions, but no tables.
    fn session(&self, settings: &SessionSettings) -> Result<Session>;
}

/// How to build an [`Environment`].
#[derive(Debug, Clone, Default)]
pub struct EnvironmentOptions {
    /// The config file; `None` reads [`DEFAULT_CONFIG`] if it exists, else the defaults.
    pub config: Option<PathBuf>,
    /// A log folder, file, glob or URL replacing the config's sources (auto-detected tables).
    pub log_dir: Option<String>,
    /// A format name forced on every file of `log_dir`.
    pub format: Option<String>,
    /// The text encoding of the files of `log_dir` when not UTF-8 (a WHATWG label such as
    /// `windows-1252`).
    pub encoding: Option<String>,
    /// Worker threads and partitions, overriding `max_workers`.
    pub max_workers: Option<usize>,
    /// Files and folders never read as input besides logfusion's own logs (a command's
    /// output folder, say).
    pub exclude: Vec<PathBuf>,
    /// A file that cannot be read to its end fails the query (as `on_read_error: fail`).
    pub strict: bool,
    /// Where sessions run their queries: `None` in this process, else the factory's sessions
    /// (a cluster's).
    pub sessions: Option<std::sync::Arc<dyn SessionFactory>>,
}

impl EnvironmentOptions {
    /// The config file these options read, if any.
    pub fn config_path(&self) -> Option<PathBuf> {
        self.config.clone().or_else(|| {
            let default = Path::new(DEFAULT_CONFIG);
            default.is_file().then(|| default.to_path_buf())
        })
    }

    /// The configuration these options read: the file, or [`Config::without_file`].
    pub fn load_config(&self) -> Result<(Config, Option<PathBuf>)> {
        let path = self.config_path();
        let config = match &path {
            Some(p) => Config::load(p)?,
            None => Config::without_file(),
        };
        Ok((config, path))
    }
}

/// Config, tables, session settings and the runtime of one process.
pub struct Environment {
    /// The configuration.
    pub config: Config,
    /// Where the configuration came from (`None`: defaults).
    pub config_path: Option<PathBuf>,
    /// The tables.
    pub catalog: Catalog,
    /// Session settings.
    pub settings: SessionSettings,
    runtime: Arc<tokio::runtime::Runtime>,
    options: EnvironmentOptions,
}

impl Environment {
    /// Loads the config and discovers the tables, on a runtime with `max_workers` threads. A
    /// source that cannot be listed is an error; when no file is readable at all, the
    /// environment has no tables (see [`Catalog::require_tables`]).
    pub fn load(options: &EnvironmentOptions) -> Result<Environment> {
        let (mut config, config_path) = options.load_config()?;
        if let Some(n) = options.max_workers {
            if n == 0 {
                return Err(ConfigError::setting("--max-workers", "must be at least 1").into());
            }
            config.max_workers = Some(n);
        }
        let mut settings = SessionSettings::from_config(&config);
        if options.strict {
            settings = settings.with_option("logfusion.strict", true);
        }
        let runtime = Arc::new(runtime(settings.partitions)?);
        let catalog = runtime.block_on(discover(options, &config, config_path.as_deref()))?;
        Ok(Environment { config, config_path, catalog, settings, runtime, options: options.clone() })
    }

    /// Reads the config file again and discovers its tables again, for a long-running server
    /// (its runtime and session settings stay as they were).
    pub async fn reload(&self) -> Result<(Config, Catalog)> {
        let (config, config_path) = self.options.load_config()?;
        let catalog = discover(&self.options, &config, config_path.as_deref()).await?;
        Ok((config, catalog))
    }

    /// The options this environment was built with.
    pub fn options(&self) -> &EnvironmentOptions {
        &self.options
    }

    /// The runtime queries run on.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// A fresh session with every table registered.
    pub fn session(&self) -> Result<Session> {
        self.session_with(&self.settings)
    }

    /// A fresh session with other `settings` and every table registered.
    pub fn session_with(&self, settings: &SessionSettings) -> Result<Session> {
        let session = match &self.options.sessions {
            Some(factory) => factory.session(settings)?,
            None => Session::new(settings)?,
        };
        self.catalog.register(&session.ctx, self.config.max_line_len())?;
        Ok(session)
    }

    /// Query parameters: the config's `params`, overridden by `NAME=VALUE` arguments.
    pub fn params(&self, args: &[String]) -> Result<BTreeMap<String, String>> {
        crate::suite::params_with(self.config.params(), args)
    }
}

/// Lists and sniffs the tables of `options` and `config`, leaving out logfusion's own files.
async fn discover(options: &EnvironmentOptions, config: &Config, config_path: Option<&Path>) -> Result<Catalog> {
    let sources = sources(options, config)?;
    let mut exclude = own_files(config);
    exclude.extend(config_path.map(Path::to_path_buf));
    exclude.extend(options.exclude.iter().cloned());
    let catalog = Catalog::discover(&sources, &ListOptions { exclude, ..ListOptions::default() }).await?;
    for t in &catalog.tables {
        tracing::info!(table = %t.name, format = %t.format.kind(), files = t.files.len(), bytes = t.bytes(), "table registered");
    }
    for skipped in &catalog.skipped {
        let problem = skipped.problem.as_ref().map(ToString::to_string).unwrap_or_default();
        tracing::warn!("skipping {}: {problem}", escape_text(&skipped.name));
    }
    for note in &catalog.notes {
        tracing::info!("{note}");
    }
    Ok(catalog)
}

/// The sources of these options: `log_dir` (one auto source), or the config's.
fn sources(options: &EnvironmentOptions, config: &Config) -> Result<Vec<SourceRequest>> {
    let forced = match &options.format {
        Some(name) => Some(
            FormatSpec::parse_name(name)
                .map_err(|e| EngineError::Argument { name: "--format".into(), message: e.to_string() })?,
        ),
        None => None,
    };
    match &options.log_dir {
        Some(dir) => {
            let mut source = SourceRequest::auto(dir.clone(), forced);
            source.time = logfusion_formats::TimeRules::new(source.time.zone, source.time.dst, config.epoch_years());
            source.decoding = Decoding::from_label(options.encoding.as_deref(), false)
                .map_err(|e| EngineError::Argument { name: "--encoding".into(), message: e.to_string() })?;
            Ok(vec![source])
        }
        None if !config.sources.is_empty() => {
            if forced.is_some() {
                return Err(EngineError::Argument {
                    name: "--format".into(),
                    message: "applies to --log-dir; set `format` per source in the config instead".into(),
                });
            }
            if options.encoding.is_some() {
                return Err(EngineError::Argument {
                    name: "--encoding".into(),
                    message: "applies to --log-dir; set `encoding` per source in the config instead".into(),
                });
            }
            SourceRequest::from_config(config)
        }
        None => Err(EngineError::NoSources),
    }
}

/// logfusion's own logs and cache, never read as input.
fn own_files(config: &Config) -> Vec<PathBuf> {
    let mut own = vec![config.logging.system_log.clone(), config.logging.performance_log.clone()];
    own.extend(config.cache.folder());
    own
}
