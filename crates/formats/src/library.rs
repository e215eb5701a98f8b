//! The format library: log formats defined as data, one YAML file per format under
//! `crates/formats/library/`, shipped inside the binary.
//!
//! A definition names the format, describes it, gives an anchored regex whose named groups are
//! the columns, the types of the columns that are not text, how its timestamps are written,
//! and sample lines with the values they must produce (the definition's tests). A definition
//! runs on the `regex` path ([`RegexOptions`]): the one-pass walk where the pattern is a plain
//! sequence, the regex elsewhere. Detection scores every definition on a file's first lines.
//! Users add their own the same way: [`add_folder`] loads a folder of definitions (config's
//! `formats_dir`), each checked against its samples before it is used.
//!
//! ```yaml
//! name: redis
//! description: Redis server log (`pid:role dd Mon yyyy HH:MM:SS.mmm level message`)
//! pattern: '^(?P<pid>\d+):(?P<role>[XCSM]) (?P<ts>\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3}) (?P<level>[.\-*#]) (?P<message>.*)$'
//! columns: {pid: int64, ts: timestamp}
//! timestamp_format: '%d %b %Y %H:%M:%S%.3f'
//! samples:
//!   - line: '1:M 01 Oct 2026 12:00:00.123 * Ready to accept connections tcp'
//!     values: {pid: 1, role: M, ts: '2026-10-01T12:00:00.123Z', level: '*'}
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{OnceLock, RwLock};

use regex::Regex;
use serde::Deserialize;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType, UInt16Type, UInt64Type};
use arrow_array::{Array, ArrayRef};

use crate::FormatError;
use crate::columns::{BatchBuilder, ColumnType};
use crate::multiline::MultilineSpec;
use crate::regex_format::RegexOptions;
use crate::time::TimestampFormat;
use crate::time::{TimeRules, parse_rfc3339};

/// One format of the library.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// The format's name: what `format:` in config.yaml says, and the table name of the files
    /// detected in it.
    pub name: String,
    /// One line for `logfusion formats`: what writes it, and where its layout is documented.
    pub description: String,
    /// The anchored line regex; each named group is a column.
    pub pattern: String,
    /// Types of the columns that are not text.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnType>,
    /// How the `timestamp` columns are written (see [`TimestampFormat`]).
    #[serde(default)]
    pub timestamp_format: Option<String>,
    /// How lines join into records (e.g. `java` for stack traces), if they do.
    #[serde(default)]
    pub multiline: Option<MultilineSpec>,
    /// Level names as written → the common ones (TRACE, DEBUG, INFO, NOTICE, WARN, ERROR,
    /// FATAL), for the `level` and `severity` columns.
    #[serde(default)]
    pub levels: BTreeMap<String, String>,
    /// Sample lines and the values they must produce (text as written; timestamps in
    /// RFC 3339 UTC; `~` for null).
    pub samples: Vec<Sample>,
}

/// A sample line of a definition and the values it must produce.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// The line.
    pub line: String,
    /// Expected values by column (columns not listed are not checked).
    #[serde(default)]
    pub values: BTreeMap<String, serde_yaml::Value>,
}

impl Definition {
    /// The options of the `regex` format that parse this format.
    pub fn regex_options(&self) -> RegexOptions {
        RegexOptions {
            pattern: self.pattern.clone(),
            columns: self.columns.clone(),
            timestamp_format: self.timestamp_format.clone().map(TimestampFormat::from).unwrap_or_default(),
            multiline: self.multiline.clone(),
            levels: self.levels.clone(),
        }
    }
}

/// A definition with its compiled regex, for detection.
#[derive(Debug)]
pub struct LibraryFormat {
    /// The definition.
    pub definition: Definition,
    /// Its compiled pattern.
    pub regex: Regex,
    /// Its compiled multi-line rule, if it has one.
    pub multiline: Option<crate::MultilineRule>,
}

/// The definition files, by file name (the name the definition must carry).
const FILES: &[(&str, &str)] = &[
    ("android_logcat", include_str!("../library/android_logcat.yaml")),
    ("apache_error", include_str!("../library/apache_error.yaml")),
    ("apache_vhost_combined", include_str!("../library/apache_vhost_combined.yaml")),
    ("aws_alb", include_str!("../library/aws_alb.yaml")),
    ("aws_elb", include_str!("../library/aws_elb.yaml")),
    ("aws_s3_access", include_str!("../library/aws_s3_access.yaml")),
    ("aws_vpc_flow", include_str!("../library/aws_vpc_flow.yaml")),
    ("cassandra", include_str!("../library/cassandra.yaml")),
    ("cef", include_str!("../library/cef.yaml")),
    ("celery", include_str!("../library/celery.yaml")),
    ("cri", include_str!("../library/cri.yaml")),
    ("elasticsearch", include_str!("../library/elasticsearch.yaml")),
    ("envoy", include_str!("../library/envoy.yaml")),
    ("exim", include_str!("../library/exim.yaml")),
    ("fail2ban", include_str!("../library/fail2ban.yaml")),
    ("glog", include_str!("../library/glog.yaml")),
    ("go_log", include_str!("../library/go_log.yaml")),
    ("gunicorn", include_str!("../library/gunicorn.yaml")),
    ("hadoop_hdfs", include_str!("../library/hadoop_hdfs.yaml")),
    ("haproxy_http", include_str!("../library/haproxy_http.yaml")),
    ("hclog", include_str!("../library/hclog.yaml")),
    ("iis_w3c", include_str!("../library/iis_w3c.yaml")),
    ("jenkins", include_str!("../library/jenkins.yaml")),
    ("kafka", include_str!("../library/kafka.yaml")),
    ("log4j", include_str!("../library/log4j.yaml")),
    ("mongodb_legacy", include_str!("../library/mongodb_legacy.yaml")),
    ("mysql_error", include_str!("../library/mysql_error.yaml")),
    ("nginx_error", include_str!("../library/nginx_error.yaml")),
    ("openstack", include_str!("../library/openstack.yaml")),
    ("php_fpm", include_str!("../library/php_fpm.yaml")),
    ("postgres", include_str!("../library/postgres.yaml")),
    ("python_logging", include_str!("../library/python_logging.yaml")),
    ("rabbitmq", include_str!("../library/rabbitmq.yaml")),
    ("redis", include_str!("../library/redis.yaml")),
    ("ruby_logger", include_str!("../library/ruby_logger.yaml")),
    ("sidekiq", include_str!("../library/sidekiq.yaml")),
    ("spark", include_str!("../library/spark.yaml")),
    ("squid", include_str!("../library/squid.yaml")),
    ("tomcat", include_str!("../library/tomcat.yaml")),
    ("uwsgi", include_str!("../library/uwsgi.yaml")),
    ("vsftpd", include_str!("../library/vsftpd.yaml")),
    ("zeek_conn", include_str!("../library/zeek_conn.yaml")),
];

/// The shipped formats of the library, parsed and compiled once.
fn shipped() -> Result<&'static [LibraryFormat], FormatError> {
    static LIBRARY: OnceLock<Result<Vec<LibraryFormat>, FormatError>> = OnceLock::new();
    LIBRARY.get_or_init(load).as_ref().map(Vec::as_slice).map_err(Clone::clone)
}

/// The users' formats added by [`add_folder`], with the text each was read from. Entries live
/// as long as the process (detections name them); a folder loaded again reuses the entries
/// whose text did not change, so a server reloading its config does not pile them up.
static ADDED: RwLock<Vec<(String, &'static LibraryFormat)>> = RwLock::new(Vec::new());

/// Every format of the library: the shipped ones, then the users' (see [`add_folder`]).
pub fn library() -> Result<Vec<&'static LibraryFormat>, FormatError> {
    let added = ADDED.read().unwrap_or_else(|p| p.into_inner());
    Ok(shipped()?.iter().chain(added.iter().map(|(_, f)| *f)).collect())
}

/// The library format named `name`, if there is one.
pub fn find(name: &str) -> Result<Option<&'static LibraryFormat>, FormatError> {
    Ok(library()?.into_iter().find(|f| f.definition.name == name))
}

/// Names no user format may take: the built-in formats and their aliases.
const BUILT_IN_NAMES: &[&str] = &[
    "access", "combined", "common", "nginx", "apache", "syslog", "json", "ndjson", "jsonl", "logfmt", "regex", "text",
    "auto",
];

/// Adds every `*.yaml` definition of `dir` to the library, in name order, and returns their
/// names. Each must be named like its file, must not take a built-in or shipped name, and
/// must read its samples to their values; the first that fails is the error (and none of the
/// folder is added). Definitions added from an earlier folder under the same name are
/// replaced.
pub fn add_folder(dir: &Path) -> Result<Vec<String>, FormatError> {
    let folder_error = |message: String| FormatError::BadDefinition { file: dir.display().to_string(), message };
    let entries = std::fs::read_dir(dir).map_err(|e| folder_error(format!("cannot read the folder: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| folder_error(e.to_string()))?.path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    let shipped = shipped()?;
    let mut loaded = Vec::new();
    for path in &files {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let bad = |message: String| FormatError::BadDefinition {
            file: path.with_extension("").display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let format = parse_definition(&stem, &text).map_err(|e| bad(e.to_string()))?;
        let name = &format.definition.name;
        if BUILT_IN_NAMES.contains(&name.as_str()) || shipped.iter().any(|f| &f.definition.name == name) {
            return Err(bad(format!("{name:?} is the name of a built-in or shipped format; choose another")));
        }
        if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(bad(format!("{name:?}: a name is lowercase letters, digits and _")));
        }
        format.definition.check_samples().map_err(bad)?;
        loaded.push((text, format));
    }
    let mut added = ADDED.write().unwrap_or_else(|p| p.into_inner());
    let mut names = Vec::new();
    for (text, format) in loaded {
        let name = format.definition.name.clone();
        let same = added.iter().position(|(_, f)| f.definition.name == name).map(|i| (i, added[i].0 == text));
        match same {
            Some((_, true)) => {}
            Some((i, false)) => added[i] = (text, Box::leak(Box::new(format))),
            None => added.push((text, Box::leak(Box::new(format)))),
        }
        names.push(name);
    }
    Ok(names)
}

/// A definition read from `text`, named `file`: parsed, its name checked, its regex compiled.
fn parse_definition(file: &str, text: &str) -> Result<LibraryFormat, String> {
    let definition: Definition = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    if definition.name != file {
        return Err(format!("its name is {:?}; a definition is named like its file", definition.name));
    }
    let regex = Regex::new(&definition.pattern).map_err(|e| e.to_string())?;
    let multiline =
        definition.multiline.as_ref().map(crate::MultilineRule::new).transpose().map_err(|e| e.to_string())?;
    Ok(LibraryFormat { definition, regex, multiline })
}

fn load() -> Result<Vec<LibraryFormat>, FormatError> {
    FILES
        .iter()
        .map(|(file, text)| {
            parse_definition(file, text)
                .map_err(|message| FormatError::BadDefinition { file: (*file).to_string(), message })
        })
        .collect()
}

impl Definition {
    /// Parses every sample line with the definition and compares the values it states; the
    /// first difference or reject, as a message.
    pub fn check_samples(&self) -> Result<(), String> {
        if self.samples.is_empty() {
            return Err("no samples: give at least one line with the values it must produce".into());
        }
        let spec = crate::FormatSpec::Regex(self.regex_options());
        let resolved = crate::ResolvedFormat::resolve(spec, TimeRules::default(), &[]).map_err(|e| e.to_string())?;
        let columns = resolved.columns().to_vec();
        let all: Vec<usize> = (0..columns.len()).collect();
        for sample in &self.samples {
            let mut out = BatchBuilder::new(&columns, &all, 1);
            let mut parser = resolved.parser(&crate::FileContext::default());
            if let Err(reject) = parser.parse(&sample.line, &mut out) {
                return Err(format!(
                    "sample {:?} is a reject: {}: {}",
                    sample.line,
                    reject.reason.code(),
                    reject.detail
                ));
            }
            out.commit_row();
            let arrays = out.finish();
            if sample.values.is_empty() {
                return Err(format!("sample {:?} states no values", sample.line));
            }
            for (name, value) in &sample.values {
                let Some(i) = columns.iter().position(|c| &c.name == name) else {
                    return Err(format!("sample {:?} names {name:?}, which is not a column", sample.line));
                };
                let ty = columns[i].column_type;
                let want = expected(value, ty)?;
                let got = written(&arrays[i], ty);
                if got != want {
                    return Err(format!(
                        "sample {:?}: column {name} is {} where the sample says {}",
                        sample.line,
                        got.as_deref().unwrap_or("null"),
                        want.as_deref().unwrap_or("null")
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The value of row 0 of `array` as samples write it (`None` for null; times in µs).
fn written(array: &ArrayRef, ty: ColumnType) -> Option<String> {
    if array.is_null(0) {
        return None;
    }
    Some(match ty {
        ColumnType::Int64 => array.as_primitive::<Int64Type>().value(0).to_string(),
        ColumnType::Uint16 => array.as_primitive::<UInt16Type>().value(0).to_string(),
        ColumnType::Uint64 => array.as_primitive::<UInt64Type>().value(0).to_string(),
        ColumnType::Float64 => array.as_primitive::<Float64Type>().value(0).to_string(),
        ColumnType::Timestamp => array.as_primitive::<TimestampMicrosecondType>().value(0).to_string(),
        _ => array.as_string::<i32>().value(0).to_string(),
    })
}

/// A sample's stated value as [`written`] writes it: RFC 3339 times as µs.
fn expected(value: &serde_yaml::Value, ty: ColumnType) -> Result<Option<String>, String> {
    let text = match value {
        serde_yaml::Value::Null => return Ok(None),
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        other => return Err(format!("sample value {other:?} is not a scalar")),
    };
    Ok(Some(match ty {
        ColumnType::Timestamp => {
            let parsed =
                parse_rfc3339(text.as_bytes()).ok_or_else(|| format!("sample time {text:?} is not RFC 3339"))?;
            parsed
                .to_utc(&TimeRules::default())
                .ok_or_else(|| format!("sample time {text:?} is not a UTC time"))?
                .to_string()
        }
        _ => text,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FormatSpec;

    /// Every sample line of every shipped definition parses to its stated values.
    #[test]
    fn every_sample_parses_to_its_values() {
        let library = shipped().expect("the library loads");
        assert_eq!(library.len(), FILES.len());
        for format in library {
            let d = &format.definition;
            assert!(FormatSpec::parse_name(&d.name).is_ok(), "{}: the name resolves", d.name);
            if let Err(e) = d.check_samples() {
                panic!("{}: {e}", d.name);
            }
        }
    }

    /// A sample check that fails names the sample and the column.
    #[test]
    fn a_wrong_sample_value_is_named() {
        let mut d = find("redis").unwrap().unwrap().definition.clone();
        d.samples[0].values.insert("pid".into(), serde_yaml::Value::from(2));
        let e = d.check_samples().unwrap_err();
        assert!(e.contains("column pid is 1 where the sample says 2"), "{e}");
        d.samples[0].line = "nothing like redis".into();
        assert!(d.check_samples().unwrap_err().contains("is a reject: regex_mismatch"));
    }

    /// A folder of user definitions joins the library; bad ones are refused with their file.
    #[test]
    fn user_definitions_join_the_library() {
        let dir = tempfile::tempdir().unwrap();
        let good = "name: acme_app\ndescription: ACME's own layout\n\
                    pattern: '^ACME (?P<ts>\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ) (?P<level>\\w+) (?P<message>.*)$'\n\
                    columns: {ts: timestamp}\nsamples:\n  - line: 'ACME 2026-10-01T12:00:00Z WARN disk low'\n    \
                    values: {ts: '2026-10-01T12:00:00Z', level: WARN, message: disk low}\n";
        std::fs::write(dir.path().join("acme_app.yaml"), good).unwrap();
        assert_eq!(add_folder(dir.path()).unwrap(), ["acme_app"]);
        assert!(matches!(FormatSpec::parse_name("acme_app"), Ok(FormatSpec::Regex(_))));
        let lines = ["ACME 2026-10-01T12:00:00Z INFO a", "ACME 2026-10-01T12:00:01Z INFO b"];
        assert_eq!(crate::detect_format(&lines).unwrap().unwrap().name, "acme_app");
        assert_eq!(add_folder(dir.path()).unwrap(), ["acme_app"], "loading again is harmless");
        for (file, text, why) in [
            ("other", good, "its name is \"acme_app\""),
            ("redis", &good.replace("acme_app", "redis"), "built-in or shipped"),
            ("acme_app", &good.replace("level: WARN", "level: INFO"), "column level is WARN"),
        ] {
            let bad = tempfile::tempdir().unwrap();
            std::fs::write(bad.path().join(format!("{file}.yaml")), text).unwrap();
            let e = add_folder(bad.path()).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(&format!("{file}.yaml")), "{e}");
        }
    }

    /// Every file of the library folder is shipped, and only those.
    #[test]
    fn every_definition_file_is_shipped() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("library");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let shipped: Vec<String> = FILES.iter().map(|(name, _)| name.to_string()).collect();
        assert_eq!(shipped, on_disk);
    }
}
