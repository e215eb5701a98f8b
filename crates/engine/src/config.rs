//! `config.yaml`: workers, batch size, memory, line limit, sources and logging. Unknown keys and
//! bad values are errors that name the key; a missing file means the defaults.

use std::path::{Path, PathBuf};

use logfusion_formats::{FormatSpec, TimeZoneSpec};
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
    /// The YAML is malformed or a key/value is wrong.
    #[error("config {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
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
    #[serde(default, deserialize_with = "de_opt_bytes")]
    pub memory_limit: Option<u64>,
    /// Lines longer than this are rejects (`line_too_long`), e.g. `1MiB`.
    #[serde(default = "default_max_line_bytes", deserialize_with = "de_bytes")]
    pub max_line_bytes: u64,
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_workers: None,
            batch_size: default_batch_size(),
            memory_limit: None,
            max_line_bytes: default_max_line_bytes(),
            sources: Vec::new(),
            logging: LoggingConfig::default(),
            datafusion: Default::default(),
            params: Default::default(),
            rules: Default::default(),
        }
    }
}

fn default_batch_size() -> usize {
    8192
}

fn default_max_line_bytes() -> u64 {
    1 << 20
}

/// One named source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Table name.
    pub name: String,
    /// A file, a directory (read recursively) or a glob; relative to the config file.
    pub path: String,
    /// Format name (`access`, `combined`, `common`, `syslog`, `json`, `logfmt`, `regex`) or
    /// `auto` (detected from the first lines; default).
    #[serde(default)]
    pub format: Option<String>,
    /// Zone of timestamps without an offset (default UTC).
    #[serde(default)]
    pub timezone: TimeZoneSpec,
    /// Options of the format (e.g. `trailing` for access, `pattern` for regex).
    #[serde(default)]
    pub options: serde_yaml::Mapping,
}

impl SourceConfig {
    /// The format spec with its options, or `None` for auto-detection.
    pub fn format_spec(&self) -> Result<Option<FormatSpec>, String> {
        let name = match self.format.as_deref() {
            None | Some("auto") => {
                if !self.options.is_empty() {
                    return Err(format!("sources[{}].options: options need an explicit `format`", self.name));
                }
                return Ok(None);
            }
            Some(n) => n,
        };
        let kind = match FormatSpec::parse_name(name) {
            Ok(spec) => spec.kind().name(),
            Err(_) if name == "regex" => "regex",
            Err(e) => return Err(format!("sources[{}].format: {e}", self.name)),
        };
        let mut map = self.options.clone();
        map.insert("format".into(), kind.into());
        serde_yaml::from_value(serde_yaml::Value::Mapping(map))
            .map(Some)
            .map_err(|e| format!("sources[{}].options: {e}", self.name))
    }
}

/// Logging preferences.
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
    /// Reads and checks `path`; relative source paths are made relative to the file's folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let mut config = Config::parse(&text).map_err(|message| ConfigError::Invalid { path: path.into(), message })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for source in &mut config.sources {
            if !source.path.contains("://") && Path::new(&source.path).is_relative() {
                source.path = base.join(&source.path).to_string_lossy().into_owned();
            }
        }
        Ok(config)
    }

    /// Parses and checks config text.
    pub fn parse(text: &str) -> Result<Config, String> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let config: Config = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.max_workers == Some(0) {
            return Err("max_workers: must be at least 1".into());
        }
        if self.batch_size == 0 {
            return Err("batch_size: must be at least 1".into());
        }
        if self.max_line_bytes < 64 {
            return Err("max_line_bytes: must be at least 64".into());
        }
        if !matches!(self.logging.level.as_str(), "error" | "warn" | "info" | "debug" | "trace") {
            return Err(format!(
                "logging.level: {:?} is not one of error, warn, info, debug, trace",
                self.logging.level
            ));
        }
        for (name, value) in &self.params {
            if scalar_text(value).is_none() {
                return Err(format!("params.{name}: must be text, a number or a boolean"));
            }
        }
        let is_name = |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        for (table, rules) in &self.rules {
            for (rule, condition) in rules {
                if !is_name(rule) {
                    return Err(format!("rules.{table}: rule name {rule:?} must be letters, digits and _"));
                }
                if condition.trim().is_empty() {
                    return Err(format!("rules.{table}.{rule}: empty condition"));
                }
            }
        }
        let mut names = std::collections::HashSet::new();
        for s in &self.sources {
            if s.name.is_empty() || !s.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("sources: name {:?} must be letters, digits and _", s.name));
            }
            if !names.insert(s.name.as_str()) {
                return Err(format!("sources: name {:?} is used twice", s.name));
            }
            s.format_spec()?;
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

/// Parses sizes such as `4096`, `64KiB`, `1MB`, `2 GiB`.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{text:?} is not a size such as 512MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        u => return Err(format!("{text:?}: unknown unit {u:?} (use B, KiB, MiB, GiB)")),
    };
    Ok((n * mult as f64) as u64)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BytesValue {
    Number(u64),
    Text(String),
}

fn de_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match BytesValue::deserialize(d)? {
        BytesValue::Number(n) => Ok(n),
        BytesValue::Text(t) => parse_bytes(&t).map_err(serde::de::Error::custom),
    }
}

fn de_opt_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    de_bytes(d).map(Some)
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
        assert_eq!((c.workers(), c.batch_size, c.memory_limit, c.max_line_bytes), (2, 4096, Some(512 << 20), 64 << 10));
        assert_eq!(c.sources[0].format_spec().unwrap().unwrap().kind(), logfusion_formats::FormatKind::Access);
        assert_eq!(c.sources[1].format_spec().unwrap().unwrap().kind(), logfusion_formats::FormatKind::Regex);
        assert_eq!(Config::parse("").unwrap().batch_size, 8192);
    }

    #[test]
    fn errors_name_the_key() {
        let e = Config::parse("max_wrokers: 2\n").unwrap_err();
        assert!(e.contains("max_wrokers"), "{e}");
        let e = Config::parse("max_line_bytes: lots\n").unwrap_err();
        assert!(e.contains("max_line_bytes") || e.contains("lots"), "{e}");
        let e = Config::parse("sources:\n  - name: w\n    path: x\n    format: klingon\n").unwrap_err();
        assert!(e.contains("sources[w].format") && e.contains("klingon"), "{e}");
        let e = Config::parse("sources:\n  - name: w\n    path: x\n    format: access\n    options: {trailng: []}\n")
            .unwrap_err();
        assert!(e.contains("trailng"), "{e}");
        let e = Config::parse("sources:\n  - name: w\n    path: x\n    timezone: Mars/Olympus\n").unwrap_err();
        assert!(e.contains("Mars/Olympus"), "{e}");
        assert!(Config::parse("logging: {level: loud}\n").unwrap_err().contains("logging.level"));
        assert!(Config::parse("params: {since: [1, 2]}\n").unwrap_err().contains("params.since"));
        assert!(Config::parse("rules: {access: {'a b': 'status > 0'}}\n").unwrap_err().contains("rules.access"));
        assert!(Config::parse("rules: {access: {ok: ' '}}\n").unwrap_err().contains("rules.access.ok: empty"));
    }

    #[test]
    fn params_are_scalars_as_text() {
        let c = Config::parse("params: {since: '2026-10-01', limit: 20, bots: false}\n").unwrap();
        let want = [("bots", "false"), ("limit", "20"), ("since", "2026-10-01")];
        assert_eq!(c.params(), want.map(|(k, v)| (k.to_string(), v.to_string())).into_iter().collect());
    }
}
