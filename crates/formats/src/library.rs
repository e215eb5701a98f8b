//! The format library: log formats defined as data, one YAML file per format under
//! `crates/formats/library/`, shipped inside the binary.
//!
//! A definition names the format, describes it, gives an anchored regex whose named groups are
//! the columns, the types of the columns that are not text, how its timestamps are written,
//! and sample lines with the values they must produce (the definition's tests). A definition
//! runs on the `regex` path ([`RegexOptions`]): the one-pass walk where the pattern is a plain
//! sequence, the regex elsewhere. Detection scores every definition on a file's first lines.
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
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

use crate::FormatError;
use crate::columns::ColumnType;
use crate::multiline::MultilineSpec;
use crate::regex_format::RegexOptions;
use crate::time::TimestampFormat;

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

/// Every format of the library, parsed and compiled once.
pub fn library() -> Result<&'static [LibraryFormat], FormatError> {
    static LIBRARY: OnceLock<Result<Vec<LibraryFormat>, FormatError>> = OnceLock::new();
    LIBRARY.get_or_init(load).as_ref().map(Vec::as_slice).map_err(Clone::clone)
}

/// The library format named `name`, if there is one.
pub fn find(name: &str) -> Result<Option<&'static LibraryFormat>, FormatError> {
    Ok(library()?.iter().find(|f| f.definition.name == name))
}

fn load() -> Result<Vec<LibraryFormat>, FormatError> {
    FILES
        .iter()
        .map(|(file, text)| {
            let bad = |message: String| FormatError::BadDefinition { file: (*file).to_string(), message };
            let definition: Definition = serde_yaml::from_str(text).map_err(|e| bad(e.to_string()))?;
            if definition.name != *file {
                return Err(bad(format!("its name is {:?}", definition.name)));
            }
            let regex = Regex::new(&definition.pattern).map_err(|e| bad(e.to_string()))?;
            Ok(LibraryFormat { definition, regex })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType, UInt16Type, UInt64Type};
    use arrow_array::{Array, ArrayRef};

    use super::*;
    use crate::columns::BatchBuilder;
    use crate::time::{TimeRules, parse_rfc3339};
    use crate::{FormatSpec, ResolvedFormat};

    /// The value of row 0 of `array` as the samples write it (`None` for null).
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

    /// The expected value as [`written`] writes it: timestamps as microseconds.
    fn expected(value: &serde_yaml::Value, ty: ColumnType) -> Option<String> {
        let text = match value {
            serde_yaml::Value::Null => return None,
            serde_yaml::Value::String(s) => s.clone(),
            serde_yaml::Value::Number(n) => n.to_string(),
            serde_yaml::Value::Bool(b) => b.to_string(),
            other => panic!("sample value {other:?} is not a scalar"),
        };
        Some(match ty {
            ColumnType::Timestamp => {
                let parsed = parse_rfc3339(text.as_bytes()).unwrap_or_else(|| panic!("{text:?} is not RFC 3339"));
                parsed.to_utc(&TimeRules::default()).expect("a UTC time").to_string()
            }
            _ => text,
        })
    }

    /// Every sample line of every definition parses to its stated values.
    #[test]
    fn every_sample_parses_to_its_values() {
        let library = library().expect("the library loads");
        assert!(library.len() >= FILES.len());
        for format in library {
            let d = &format.definition;
            assert!(!d.samples.is_empty(), "{}: no samples", d.name);
            let spec = FormatSpec::parse_name(&d.name).expect("library names resolve");
            let resolved = ResolvedFormat::resolve(spec, TimeRules::default(), &[]).expect("resolves");
            let columns = resolved.columns().to_vec();
            for sample in &d.samples {
                let all: Vec<usize> = (0..columns.len()).collect();
                let mut out = BatchBuilder::new(&columns, &all, 1);
                let mut parser = resolved.parser(&crate::FileContext::default());
                if let Err(reject) = parser.parse(&sample.line, &mut out) {
                    panic!("{}: {:?} rejected: {reject:?}", d.name, sample.line);
                }
                out.commit_row();
                let arrays = out.finish();
                assert!(!sample.values.is_empty(), "{}: a sample without values", d.name);
                for (name, value) in &sample.values {
                    let i = columns
                        .iter()
                        .position(|c| &c.name == name)
                        .unwrap_or_else(|| panic!("{}: the sample names {name:?}, which is not a column", d.name));
                    let ty = columns[i].column_type;
                    assert_eq!(
                        written(&arrays[i], ty),
                        expected(value, ty),
                        "{}: column {name} of {:?}",
                        d.name,
                        sample.line
                    );
                }
            }
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
