//! `config.yaml`: workers, batch size, memory, line limit, sources and logging. Unknown keys and
//! bad values are errors that name the key; a missing file means the defaults.

use std::path::{Path, PathBuf};

use logfusion_datasource::Decoding;
use logfusion_formats::{DEFAULT_EPOCH_YEARS, DstPolicy, FormatSpec, TimeZoneSpec};
use serde::Deserialize;

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The YAML is malformed or a key or value is wrong.
    #[error("config {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// Config text that is not valid YAML for a config, or holds an unknown key.
    #[error("{message}")]
    Yaml {
        /// What serde_yaml said, with line and column.
        message: String,
    },
    /// A setting that is wrong, wherever it came from (file, flag or API).
    #[error("{key}: {message}")]
    Setting {
        /// The key, e.g. `max_workers` or `sources[web].format`.
        key: String,
        /// What is wrong with its value.
        message: String,
    },
}

impl ConfigError {
    /// A wrong setting `key`.
    pub fn setting(key: impl Into<String>, message: impl std::fmt::Display) -> Self {
        ConfigError::Setting { key: key.into(), message: message.to_string() }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Worker threads and query partitions (default: the number of cores).
    #[serde(default)]
    pub max_workers: Option<usize>,
    /// Rows per record batch.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Memory for query operators before they spill, e.g. `2GiB` (default: unlimited).
    #[serde(default)]
    pub memory_limit: Option<ByteSize>,
    /// Disk that sorts, joins and aggregates may spill to beyond `memory_limit`, e.g. `20GiB`
    /// (DataFusion's default: 100 GiB); a query that needs more fails with an error saying so.
    #[serde(default)]
    pub max_spill: Option<ByteSize>,
    /// Lines longer than this are rejects (`line_too_long`), e.g. `1MiB`.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: ByteSize,
    /// Named log sources; each becomes a table and a `<name>_rejects` table.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Where logs of logfusion itself go.
    #[serde(default)]
    pub logging: LoggingConfig,
    /// Extra DataFusion settings, e.g. `datafusion.optimizer.repartition_file_min_size: 1`.
    #[serde(default)]
    pub datafusion: std::collections::BTreeMap<String, serde_yaml::Value>,
    /// Default values of query parameters (`${name}` in the SQL of a suite); `--param`
    /// overrides them. Values are scalars (text, numbers, booleans).
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, serde_yaml::Value>,
    /// Field rules `validate` checks, per table: rule name → SQL condition every row should
    /// meet (e.g. `bytes_sane: "bytes < 10000000000"`). A row breaks a rule when the condition
    /// is not true (false or NULL).
    #[serde(default)]
    pub rules: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// What a file that cannot be read to its end does to a query: `reject` (default: the lines
    /// before the damage count, a `read_error` reject and a warning record it) or `fail`.
    #[serde(default)]
    pub on_read_error: OnReadError,
    /// Epoch timestamps (seconds or milliseconds since 1970) must lie in these years, first and
    /// last included (default `[1970, 2200]`): a number of the wrong magnitude is a
    /// `bad_timestamp` reject instead of a date thousands of years away.
    #[serde(default)]
    pub epoch_years: Option<(i32, i32)>,
    /// The network query server of `logfusion serve` (see [`NetworkConfig`]).
    #[serde(default)]
    pub network: Option<NetworkConfig>,
    /// The Ballista cluster of `logfusion scheduler`, `logfusion executor` and `--cluster`
    /// (see [`ClusterConfig`]).
    #[serde(default)]
    pub cluster: ClusterConfig,
    /// The cache of `logfusion run`: parsed columns and results (see [`CacheConfig`]).
    #[serde(default)]
    pub cache: CacheConfig,
    /// A folder of the user's format definitions (one YAML file per format, as in the
    /// library): their names work in `format:`, and detection tries them. Each is checked
    /// against its samples when the config loads.
    #[serde(default)]
    pub formats_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_workers: None,
            batch_size: default_batch_size(),
            memory_limit: None,
            max_spill: None,
            max_line_bytes: default_max_line_bytes(),
            sources: Vec::new(),
            logging: LoggingConfig::default(),
            datafusion: Default::default(),
            params: Default::default(),
            rules: Default::default(),
            on_read_error: OnReadError::Reject,
            epoch_years: None,
            network: None,
            cluster: ClusterConfig::default(),
            cache: CacheConfig::default(),
            formats_dir: None,
        }
    }
}

fn default_batch_size() -> usize {
    8192
}

fn default_max_line_bytes() -> ByteSize {
    ByteSize(1 << 20)
}

/// The `network:` section: where `logfusion serve` listens, with what TLS, who may query what,
/// and the limits of each query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Address of the Flight SQL endpoint, e.g. `127.0.0.1:50051`.
    #[serde(default = "default_bind")]
    pub bind: String,
    /// TLS certificate and key (PEM), and the CA whose client certificates are required
    /// (mutual TLS) when given. Paths are relative to the config file.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Listen on a non-loopback address without TLS (refused otherwise).
    #[serde(default)]
    pub allow_insecure: bool,
    /// Who may connect.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Limits of each query.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Address of the HTTP endpoint with `/healthz` and `/metrics` (Prometheus text), if any.
    #[serde(default)]
    pub http: Option<String>,
    /// How long running queries may go on after SIGTERM or Ctrl-C before they are cancelled,
    /// e.g. `30s` (the default); match it to the grace period of whatever stops the server.
    #[serde(default = "default_shutdown_grace", deserialize_with = "de_duration")]
    pub shutdown_grace: std::time::Duration,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            bind: default_bind(),
            tls: None,
            allow_insecure: false,
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            http: None,
            shutdown_grace: default_shutdown_grace(),
        }
    }
}

fn default_shutdown_grace() -> std::time::Duration {
    std::time::Duration::from_secs(30)
}

fn default_bind() -> String {
    "127.0.0.1:50051".into()
}

/// The `cluster:` section: defaults of `logfusion scheduler`, `logfusion executor` and
/// `--cluster` (their flags override them).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The scheduler that clients and executors talk to, `df://host:port`.
    #[serde(default = "default_scheduler")]
    pub scheduler: String,
    /// Where `logfusion scheduler` listens, `host:port`.
    #[serde(default = "default_scheduler_bind")]
    pub bind: String,
    /// Partitions of a query on the cluster: byte ranges and tasks per scan stage.
    #[serde(default = "default_cluster_partitions")]
    pub partitions: usize,
    /// Tasks each executor runs at once (default: its cores).
    #[serde(default)]
    pub slots: Option<usize>,
    /// Folder for an executor's shuffle files (default: a fresh temporary folder); relative
    /// to the config file.
    #[serde(default)]
    pub work_dir: Option<PathBuf>,
    /// Memory of each executor's operators before they spill, e.g. `4GiB` (default:
    /// Ballista's, a share of the machine's memory).
    #[serde(default)]
    pub executor_memory: Option<ByteSize>,
    /// An executor that has not reported for this long is lost: its tasks run again on
    /// the others, e.g. `30s` (the default).
    #[serde(default = "default_executor_timeout", deserialize_with = "de_duration")]
    pub executor_timeout: std::time::Duration,
    /// How often executors report to the scheduler, e.g. `5s` (the default).
    #[serde(default = "default_heartbeat", deserialize_with = "de_duration")]
    pub heartbeat: std::time::Duration,
    /// How long a query waits while no executor is alive before it fails, e.g. `30s` (the
    /// default).
    #[serde(default = "default_no_executor_timeout", deserialize_with = "de_duration")]
    pub no_executor_timeout: std::time::Duration,
    /// Let the scheduler and executors listen on non-loopback addresses: Ballista 55 speaks
    /// plain gRPC between them (no TLS), so a cluster beyond one machine belongs on a private
    /// network.
    #[serde(default)]
    pub allow_insecure: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            scheduler: default_scheduler(),
            bind: default_scheduler_bind(),
            partitions: default_cluster_partitions(),
            slots: None,
            work_dir: None,
            executor_memory: None,
            executor_timeout: default_executor_timeout(),
            heartbeat: default_heartbeat(),
            no_executor_timeout: default_no_executor_timeout(),
            allow_insecure: false,
        }
    }
}

fn default_scheduler() -> String {
    "df://127.0.0.1:50050".into()
}

fn default_scheduler_bind() -> String {
    "127.0.0.1:50050".into()
}

fn default_cluster_partitions() -> usize {
    16
}

fn default_executor_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(30)
}

fn default_heartbeat() -> std::time::Duration {
    std::time::Duration::from_secs(5)
}

fn default_no_executor_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(30)
}

impl ClusterConfig {
    /// Checks the section: partitions at least 1, a heartbeat well inside the timeout.
    fn check(&self) -> Result<(), ConfigError> {
        if self.partitions == 0 || self.slots == Some(0) {
            return Err(ConfigError::setting("cluster", "partitions and slots must be at least 1"));
        }
        if self.heartbeat.is_zero() || self.heartbeat * 2 > self.executor_timeout {
            return Err(ConfigError::setting(
                "cluster.heartbeat",
                "must be more than 0 and at most half of cluster.executor_timeout",
            ));
        }
        Ok(())
    }
}

/// The `cache:` section: where `logfusion run` keeps what it parsed and computed, so that a
/// suite parses each table once and a second run over unchanged files reuses it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// The cache folder (default: `cache/` in the user's state folder; relative to the
    /// config file).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Disk the cache may take; the least recently used entries go first (default 2 GiB).
    #[serde(default = "default_cache_bytes")]
    pub max_bytes: ByteSize,
    /// Memory for a run's parsed columns; a table larger than this is read from the cache
    /// folder by each statement instead (default 1 GiB).
    #[serde(default = "default_cache_memory")]
    pub memory: ByteSize,
    /// Whether results are cached too: a statement whose tables and SQL did not change
    /// since it ran is answered from its stored result (default true).
    #[serde(default = "default_true")]
    pub results: bool,
    /// Whether `run` uses the cache at all (`--no-cache` turns it off for one run).
    #[serde(default = "default_true")]
    pub enabled: bool,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            dir: None,
            max_bytes: default_cache_bytes(),
            memory: default_cache_memory(),
            results: true,
            enabled: true,
        }
    }
}

fn default_cache_bytes() -> ByteSize {
    ByteSize(2 << 30)
}

fn default_cache_memory() -> ByteSize {
    ByteSize(1 << 30)
}

fn default_true() -> bool {
    true
}

impl CacheConfig {
    /// The cache folder: the configured one, else `cache/` in the user's state folder.
    pub fn folder(&self) -> Option<PathBuf> {
        self.dir.clone().or_else(|| state_dir().map(|d| d.join("cache")))
    }
}

/// TLS files of the server (PEM).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
    /// A CA: clients must present a certificate it signed (mutual TLS).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

/// Credentials the server accepts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Bearer tokens, stored as their SHA-256.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// Users with a password (argon2id), exchanged for a bearer token by the Flight handshake.
    #[serde(default)]
    pub users: Vec<UserConfig>,
}

/// What a principal may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// SELECT, EXPLAIN and SHOW over the allowed sources.
    Read,
    /// Read, and reload the configuration.
    Admin,
}

/// One bearer token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it (in audit lines and metrics; never the token).
    pub name: String,
    /// Lower-case hex SHA-256 of the token (`logfusion token new` prints it).
    pub token_sha256: String,
    /// What it may do.
    pub role: Role,
    /// The sources (tables) it may read; all when absent.
    #[serde(default)]
    pub sources: Option<Vec<String>>,
}

/// One user with a password.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The user name of the handshake.
    pub name: String,
    /// The argon2id hash of the password, as a PHC string (`logfusion passwd` prints it).
    pub password_hash: String,
    /// What the user may do.
    pub role: Role,
    /// The sources (tables) the user may read; all when absent.
    #[serde(default)]
    pub sources: Option<Vec<String>>,
}

/// Limits of each query the server runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Queries running at once; more wait (a bounded time), then fail with ResourceExhausted.
    #[serde(default = "default_concurrent")]
    pub max_concurrent_queries: usize,
    /// The longest a query may run, e.g. `60s`, `5m`.
    #[serde(default = "default_timeout", deserialize_with = "de_duration")]
    pub query_timeout: std::time::Duration,
    /// Memory of each query's operators before they spill, e.g. `1GiB`.
    #[serde(default = "default_query_memory")]
    pub query_memory: ByteSize,
    /// Rows a result may have.
    #[serde(default = "default_result_rows")]
    pub max_result_rows: u64,
    /// How long a query waits for one of the `max_concurrent_queries` slots before it fails
    /// with ResourceExhausted, e.g. `10s` (the default).
    #[serde(default = "default_queue_wait", deserialize_with = "de_duration")]
    pub queue_wait: std::time::Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_concurrent_queries: default_concurrent(),
            query_timeout: default_timeout(),
            query_memory: default_query_memory(),
            max_result_rows: default_result_rows(),
            queue_wait: default_queue_wait(),
        }
    }
}

fn default_concurrent() -> usize {
    8
}

fn default_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(60)
}

fn default_query_memory() -> ByteSize {
    ByteSize(1 << 30)
}

fn default_queue_wait() -> std::time::Duration {
    std::time::Duration::from_secs(10)
}

fn default_result_rows() -> u64 {
    10_000_000
}

fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
}

impl NetworkConfig {
    /// Checks the section: hashes of the right shape, names unique, limits at least 1.
    fn check(&self) -> Result<(), ConfigError> {
        fn bad(key: impl Into<String>, message: impl std::fmt::Display) -> ConfigError {
            ConfigError::setting(key, message)
        }
        let mut names = std::collections::HashSet::new();
        for t in &self.auth.tokens {
            if !names.insert(t.name.as_str()) {
                return Err(bad("network.auth", format!("name {:?} is used twice", t.name)));
            }
            if t.token_sha256.len() != 64 || !t.token_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!("network.auth.tokens[{}].token_sha256", t.name), "must be 64 hex digits"));
            }
        }
        for u in &self.auth.users {
            if !names.insert(u.name.as_str()) {
                return Err(bad("network.auth", format!("name {:?} is used twice", u.name)));
            }
            if !u.password_hash.starts_with("$argon2id$") {
                return Err(bad(
                    format!("network.auth.users[{}].password_hash", u.name),
                    "must be an argon2id PHC string",
                ));
            }
        }
        if self.limits.max_concurrent_queries == 0 || self.limits.max_result_rows == 0 {
            return Err(bad("network.limits", "max_concurrent_queries and max_result_rows must be at least 1"));
        }
        if self.limits.query_timeout.is_zero() {
            return Err(bad("network.limits.query_timeout", "must be more than 0"));
        }
        Ok(())
    }
}

/// What a read error (truncated, corrupt, vanished or changed file) does to a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnReadError {
    /// The query completes: a `read_error` reject and a warning record the damage.
    #[default]
    Reject,
    /// The query fails with the error.
    Fail,
}

/// One named source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Table name.
    pub name: String,
    /// A file, a directory (read recursively) or a glob; relative to the config file.
    pub path: String,
    /// Format name (`access`, `combined`, `common`, `syslog`, `json`, `logfmt`, `regex`,
    /// `text`, or a format of the library such as `nginx_error`) or `auto` (detected from the
    /// first lines; default).
    #[serde(default)]
    pub format: Option<String>,
    /// Zone of timestamps without an offset (default UTC).
    #[serde(default)]
    pub timezone: TimeZoneSpec,
    /// Which instant a local time means where clocks change: `earliest` (default), `latest`,
    /// or `reject` (a `bad_timestamp` reject).
    #[serde(default)]
    pub dst: DstPolicy,
    /// Options of the format (e.g. `trailing` for access, `pattern` for regex).
    #[serde(default)]
    pub options: serde_yaml::Mapping,
    /// Text encoding of the files when not UTF-8: a WHATWG label such as `windows-1252`,
    /// `latin1` or `shift_jis`. UTF-16 files are recognised by their byte-order mark.
    #[serde(default)]
    pub encoding: Option<String>,
    /// What a line with invalid UTF-8 becomes: `reject` (default; an `invalid_utf8` reject) or
    /// `replace` (the bad bytes become U+FFFD and the line is parsed).
    #[serde(default)]
    pub invalid_utf8: InvalidUtf8,
    /// A timestamp column (`ts`) every file of the source is in ascending order of: queries
    /// ordering by it merge the files' order instead of sorting, and a row out of order fails
    /// the scan instead of giving a wrong answer.
    #[serde(default)]
    pub sorted_by: Option<String>,
}

/// What a line with invalid UTF-8 becomes (a source's `invalid_utf8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidUtf8 {
    /// An `invalid_utf8` reject with the line's bytes.
    #[default]
    Reject,
    /// Each invalid sequence becomes U+FFFD; the line is parsed.
    Replace,
}

impl SourceConfig {
    /// The decoding of the source's text, from `encoding` and `invalid_utf8`.
    pub fn decoding(&self) -> Result<Decoding, ConfigError> {
        Decoding::from_label(self.encoding.as_deref(), self.invalid_utf8 == InvalidUtf8::Replace)
            .map_err(|e| ConfigError::setting(format!("sources[{}].encoding", self.name), e))
    }

    /// The format spec with its options, or `None` for auto-detection.
    pub fn format_spec(&self) -> Result<Option<FormatSpec>, ConfigError> {
        let key = |k: &str| format!("sources[{}].{k}", self.name);
        let name = match self.format.as_deref() {
            None | Some("auto") => {
                if !self.options.is_empty() {
                    return Err(ConfigError::setting(key("options"), "options need an explicit `format`"));
                }
                return Ok(None);
            }
            Some(n) => n,
        };
        // The options go over the named format's own (a library format's pattern and types
        // stay unless the options replace them).
        let mut map = match FormatSpec::parse_name(name) {
            Ok(spec) => match serde_yaml::to_value(&spec) {
                Ok(serde_yaml::Value::Mapping(map)) => map,
                _ => return Err(ConfigError::setting(key("format"), "cannot be written as options")),
            },
            Err(logfusion_formats::FormatError::RegexNeedsPattern) => {
                serde_yaml::Mapping::from_iter([("format".into(), "regex".into())])
            }
            Err(e) => return Err(ConfigError::setting(key("format"), e)),
        };
        for (option, value) in &self.options {
            if option.as_str() == Some("format") {
                return Err(ConfigError::setting(key("options.format"), "set the format with `format`"));
            }
            map.insert(option.clone(), value.clone());
        }
        serde_yaml::from_value(serde_yaml::Value::Mapping(map))
            .map(Some)
            .map_err(|e| ConfigError::setting(key("options"), e))
    }
}

/// Logging preferences. Relative paths are taken from the config file's folder; without a
/// config file both logs go to the user's state folder ([`state_dir`]), never to the current
/// folder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingConfig {
    /// File for logfusion's own log.
    #[serde(default = "default_system_log")]
    pub system_log: PathBuf,
    /// File for per-query performance records (JSON lines).
    #[serde(default = "default_performance_log")]
    pub performance_log: PathBuf,
    /// Level of `system_log`: error, warn, info, debug, trace.
    #[serde(default = "default_level")]
    pub level: String,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            system_log: default_system_log(),
            performance_log: default_performance_log(),
            level: default_level(),
        }
    }
}

fn default_system_log() -> PathBuf {
    "system.log".into()
}

fn default_performance_log() -> PathBuf {
    "performance.log".into()
}

fn default_level() -> String {
    "info".into()
}

impl Config {
    /// Reads and checks `path`; relative source and log paths are made relative to the file's
    /// folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let invalid = |e: ConfigError| ConfigError::Invalid { path: path.into(), message: e.to_string() };
        let mut config = Config::parse_unchecked(&text).map_err(invalid)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for source in &mut config.sources {
            if !source.path.contains("://") && Path::new(&source.path).is_relative() {
                source.path = base.join(&source.path).to_string_lossy().into_owned();
            }
        }
        for log in [&mut config.logging.system_log, &mut config.logging.performance_log] {
            if log.is_relative() {
                *log = base.join(&*log);
            }
        }
        for dir in [config.cluster.work_dir.as_mut(), config.cache.dir.as_mut(), config.formats_dir.as_mut()]
            .into_iter()
            .flatten()
        {
            if dir.is_relative() {
                *dir = base.join(&*dir);
            }
        }
        if let Some(tls) = config.network.as_mut().and_then(|n| n.tls.as_mut()) {
            for file in [Some(&mut tls.cert), Some(&mut tls.key), tls.client_ca.as_mut()].into_iter().flatten() {
                if file.is_relative() {
                    *file = base.join(&*file);
                }
            }
        }
        config.add_formats().and_then(|()| config.check()).map_err(invalid)?;
        Ok(config)
    }

    /// The configuration used without a config file: the defaults, with logfusion's own logs
    /// in the user's state folder (nothing is written to the current folder).
    pub fn without_file() -> Config {
        let mut config = Config::default();
        if let Some(dir) = state_dir() {
            config.logging.system_log = dir.join(default_system_log());
            config.logging.performance_log = dir.join(default_performance_log());
        }
        config
    }

    /// Parses and checks config text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config = Config::parse_unchecked(text)?;
        config.add_formats()?;
        config.check()?;
        Ok(config)
    }

    /// The config `text` holds, its values not yet checked.
    fn parse_unchecked(text: &str) -> Result<Config, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_yaml::from_str(text).map_err(|e| ConfigError::Yaml { message: e.to_string() })
    }

    /// Adds the definitions of `formats_dir` to the format library (before the sources'
    /// formats are checked: they may name them).
    fn add_formats(&self) -> Result<(), ConfigError> {
        if let Some(dir) = &self.formats_dir {
            let names =
                logfusion_formats::library::add_folder(dir).map_err(|e| ConfigError::setting("formats_dir", e))?;
            tracing::debug!(formats = ?names, "user formats added");
        }
        Ok(())
    }

    fn check(&self) -> Result<(), ConfigError> {
        fn bad(key: impl Into<String>, message: impl std::fmt::Display) -> ConfigError {
            ConfigError::setting(key, message)
        }
        if self.max_workers == Some(0) {
            return Err(bad("max_workers", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(bad("batch_size", "must be at least 1"));
        }
        if let Some((first, last)) = self.epoch_years
            && (first > last || first < 1)
        {
            return Err(bad("epoch_years", format!("[{first}, {last}] is not a range of years from 1 on")));
        }
        if self.max_line_bytes.0 < 64 {
            return Err(bad("max_line_bytes", "must be at least 64"));
        }
        if !matches!(self.logging.level.as_str(), "error" | "warn" | "info" | "debug" | "trace") {
            let level = &self.logging.level;
            return Err(bad("logging.level", format!("{level:?} is not one of error, warn, info, debug, trace")));
        }
        for (name, value) in &self.params {
            if scalar_text(value).is_none() {
                return Err(bad(format!("params.{name}"), "must be text, a number or a boolean"));
            }
        }
        for (table, rules) in &self.rules {
            for (rule, condition) in rules {
                if !is_name(rule) {
                    return Err(bad(
                        format!("rules.{table}"),
                        format!("rule name {rule:?} must be letters, digits and _"),
                    ));
                }
                if condition.trim().is_empty() {
                    return Err(bad(format!("rules.{table}.{rule}"), "empty condition"));
                }
            }
        }
        if let Some(network) = &self.network {
            network.check()?;
        }
        self.cluster.check()?;
        let mut names = std::collections::HashSet::new();
        for s in &self.sources {
            if !is_name(&s.name) {
                return Err(bad("sources", format!("name {:?} must be letters, digits and _", s.name)));
            }
            if !names.insert(s.name.as_str()) {
                return Err(bad("sources", format!("name {:?} is used twice", s.name)));
            }
            s.format_spec()?;
            s.decoding()?;
        }
        Ok(())
    }

    /// The query parameters of the config as text.
    pub fn params(&self) -> std::collections::BTreeMap<String, String> {
        self.params.iter().filter_map(|(k, v)| Some((k.clone(), scalar_text(v)?))).collect()
    }

    /// Worker count: `max_workers` or the number of cores.
    pub fn workers(&self) -> usize {
        self.max_workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
    }

    /// The years epoch timestamps must lie in.
    pub fn epoch_years(&self) -> (i32, i32) {
        self.epoch_years.unwrap_or(DEFAULT_EPOCH_YEARS)
    }

    /// `max_line_bytes` as a length in memory.
    pub fn max_line_len(&self) -> usize {
        usize::try_from(self.max_line_bytes.0).unwrap_or(usize::MAX)
    }
}

/// Whether `name` is letters, digits and `_` (table, source and rule names).
fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Where logfusion keeps its own logs when there is no config file: `$XDG_STATE_HOME/logfusion`
/// (or `~/.local/state/logfusion`) on Unix, `%LOCALAPPDATA%\logfusion` on Windows.
#[cfg(not(windows))]
pub fn state_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("logfusion"))
}

/// Where logfusion keeps its own logs when there is no config file: `%LOCALAPPDATA%\logfusion`.
#[cfg(windows)]
pub fn state_dir() -> Option<PathBuf> {
    std::env::var_os("LOCALAPPDATA").map(|d| PathBuf::from(d).join("logfusion"))
}

/// A YAML scalar as text (`None` for null, lists and maps).
fn scalar_text(value: &serde_yaml::Value) -> Option<String> {
    match value {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A size in bytes, written in config and flags as `4096`, `64KiB`, `1MB`, `2 GiB` (binary
/// multiples either way) and shown as `1.5 MiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

/// Why a size does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ByteSizeError {
    /// Not a number followed by an optional unit.
    #[error("{text:?} is not a size such as 512MiB")]
    NotASize {
        /// The text given.
        text: String,
    },
    /// A unit other than B, KiB, MiB, GiB, TiB (or K, KB, M, MB, ...).
    #[error("{text:?}: unknown unit {unit:?} (use B, KiB, MiB, GiB, TiB)")]
    UnknownUnit {
        /// The text given.
        text: String,
        /// The unit.
        unit: String,
    },
    /// More bytes than fit in 64 bits.
    #[error("{text:?} is too large (at most 16 EiB)")]
    Overflow {
        /// The text given.
        text: String,
    },
}

impl std::str::FromStr for ByteSize {
    type Err = ByteSizeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num.parse().map_err(|_| ByteSizeError::NotASize { text: text.to_string() })?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" | "kib" => 1 << 10,
            "m" | "mb" | "mib" => 1 << 20,
            "g" | "gb" | "gib" => 1 << 30,
            "t" | "tb" | "tib" => 1 << 40,
            u => return Err(ByteSizeError::UnknownUnit { text: text.to_string(), unit: u.to_string() }),
        };
        let bytes = n * mult as f64;
        // 2^64 as f64 is exact; anything at or above it does not fit.
        if !bytes.is_finite() || bytes >= 18_446_744_073_709_551_616.0 {
            return Err(ByteSizeError::Overflow { text: text.to_string() });
        }
        Ok(ByteSize(bytes as u64))
    }
}

impl std::fmt::Display for ByteSize {
    /// Bytes below 1 KiB, else KiB, MiB, GiB or TiB with one decimal.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.1} {}", UNITS[unit])
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Number(u64),
            Text(String),
        }
        match Written::deserialize(d)? {
            Written::Number(n) => Ok(ByteSize(n)),
            Written::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_config_parses() {
        let c = Config::parse(
            "max_workers: 2\nbatch_size: 4096\nmemory_limit: 512MiB\nmax_line_bytes: 64KiB\n\
             sources:\n  - name: web\n    path: logs/\n    format: combined\n    timezone: Europe/Berlin\n    \
             options: {trailing: [{name: rt, type: float64}]}\n  - name: app\n    path: app/*.log\n    \
             format: regex\n    options: {pattern: '(?P<level>\\w+) (?P<msg>.*)'}\n\
             logging: {level: debug, system_log: s.log}\n",
        )
        .unwrap();
        assert_eq!(
            (c.workers(), c.batch_size, c.memory_limit, c.max_line_bytes),
            (2, 4096, Some(ByteSize(512 << 20)), ByteSize(64 << 10))
        );
        assert_eq!(c.sources[0].format_spec().unwrap().unwrap().kind(), logfusion_formats::FormatKind::Access);
        assert_eq!(c.sources[1].format_spec().unwrap().unwrap().kind(), logfusion_formats::FormatKind::Regex);
        assert_eq!(c.sources[0].decoding().unwrap(), Decoding::Utf8);
        // A library format keeps its own pattern; options go over it.
        let c = Config::parse(
            "sources:\n  - {name: a, path: a, format: apache_error}\n  \
             - {name: b, path: b, format: log4j, options: {multiline: java}}\n",
        )
        .unwrap();
        let library = |name| match FormatSpec::parse_name(name).unwrap() {
            FormatSpec::Regex(o) => o,
            other => panic!("{other:?}"),
        };
        assert_eq!(c.sources[0].format_spec().unwrap(), Some(FormatSpec::Regex(library("apache_error"))));
        match c.sources[1].format_spec().unwrap() {
            Some(FormatSpec::Regex(o)) => {
                assert_eq!(o.pattern, library("log4j").pattern);
                assert_eq!(o.multiline, Some(logfusion_formats::MultilineSpec::Java));
            }
            other => panic!("{other:?}"),
        }
        let c = Config::parse(
            "sources:\n  - {name: a, path: a, encoding: latin1}\n  - {name: b, path: b, invalid_utf8: replace}\n",
        )
        .unwrap();
        assert_eq!(c.sources[0].decoding().unwrap().encoding_name(), Some("windows-1252"));
        assert_eq!(c.sources[1].decoding().unwrap(), Decoding::Utf8Replace);
        assert_eq!(Config::parse("").unwrap().batch_size, 8192);
    }

    #[test]
    fn errors_name_the_key() {
        let e = Config::parse("max_wrokers: 2\n").unwrap_err().to_string();
        assert!(e.contains("max_wrokers"), "{e}");
        let e = Config::parse("max_line_bytes: lots\n").unwrap_err().to_string();
        assert!(e.contains("max_line_bytes") || e.contains("lots"), "{e}");
        let e = Config::parse("sources:\n  - name: w\n    path: x\n    format: klingon\n").unwrap_err().to_string();
        assert!(e.contains("sources[w].format") && e.contains("klingon"), "{e}");
        let e = Config::parse("sources:\n  - name: w\n    path: x\n    format: access\n    options: {trailng: []}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("trailng"), "{e}");
        let e =
            Config::parse("sources:\n  - name: w\n    path: x\n    timezone: Mars/Olympus\n").unwrap_err().to_string();
        assert!(e.contains("Mars/Olympus"), "{e}");
        let e = Config::parse("sources:\n  - name: w\n    path: x\n    encoding: ebcdic\n").unwrap_err().to_string();
        assert!(e.contains("sources[w].encoding") && e.contains("`ebcdic`"), "{e}");
        let e = Config::parse("sources:\n  - name: w\n    path: x\n    invalid_utf8: drop\n").unwrap_err().to_string();
        assert!(e.contains("drop"), "{e}");
        assert!(Config::parse("logging: {level: loud}\n").unwrap_err().to_string().contains("logging.level"));
        assert!(Config::parse("params: {since: [1, 2]}\n").unwrap_err().to_string().contains("params.since"));
        assert!(
            Config::parse("rules: {access: {'a b': 'status > 0'}}\n").unwrap_err().to_string().contains("rules.access")
        );
        assert!(
            Config::parse("rules: {access: {ok: ' '}}\n").unwrap_err().to_string().contains("rules.access.ok: empty")
        );
    }

    #[test]
    fn sizes_parse_with_units_and_refuse_overflow() {
        assert_eq!("64KiB".parse(), Ok(ByteSize(64 << 10)));
        assert_eq!("2 GiB".parse(), Ok(ByteSize(2 << 30)));
        assert_eq!("1.5MB".parse(), Ok(ByteSize(3 << 19)));
        assert!(matches!("99999999TiB".parse::<ByteSize>(), Err(ByteSizeError::Overflow { .. })));
        assert!(matches!("3 parsecs".parse::<ByteSize>(), Err(ByteSizeError::UnknownUnit { .. })));
        assert!(matches!("lots".parse::<ByteSize>(), Err(ByteSizeError::NotASize { .. })));
        assert_eq!(ByteSize(512).to_string(), "512 B");
        assert_eq!(ByteSize(3 << 19).to_string(), "1.5 MiB");
        assert_eq!(ByteSize(5 << 30).to_string(), "5.0 GiB");
    }

    #[test]
    fn params_are_scalars_as_text() {
        let c = Config::parse("params: {since: '2026-10-01', limit: 20, bots: false}\n").unwrap();
        let want = [("bots", "false"), ("limit", "20"), ("since", "2026-10-01")];
        assert_eq!(c.params(), want.map(|(k, v)| (k.to_string(), v.to_string())).into_iter().collect());
    }
}
