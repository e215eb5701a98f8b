//! The settings matrix: `--matrix key=v1,v2` axes, their cartesian product, and applying one
//! setting to the session settings.

use logfusion_engine::SessionSettings;
use serde::{Deserialize, Serialize};

use crate::BenchError;

/// Keys logfusion itself understands; any `datafusion.*` or `logfusion.*` session option is
/// accepted as well (DataFusion checks its name and value when the session is built).
pub const KNOWN_KEYS: &[&str] = &["max_workers", "batch_size", "memory_limit", "projection_pushdown"];

/// One `--matrix` axis: a key and the values to try, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    /// Setting name.
    pub key: String,
    /// Values, as given.
    pub values: Vec<String>,
}

impl Axis {
    /// Parses `key=v1,v2,...`.
    pub fn parse(text: &str) -> Result<Axis, BenchError> {
        let usage = |why: &str| BenchError::Matrix {
            text: format!("{text:?}"),
            message: format!("{why} (expected KEY=V1,V2,...)"),
        };
        let (key, values) = text.split_once('=').ok_or_else(|| usage("no '='"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(usage("empty key"));
        }
        let key = match key {
            "workers" => "max_workers",
            k => k,
        };
        if !KNOWN_KEYS.contains(&key) && !key.starts_with("datafusion.") && !key.starts_with("logfusion.") {
            return Err(usage(&format!(
                "unknown key {key:?}; use one of {} or a datafusion.* option",
                KNOWN_KEYS.join(", ")
            )));
        }
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if values.iter().any(String::is_empty) {
            return Err(usage("empty value"));
        }
        Ok(Axis { key: key.to_string(), values })
    }
}

/// One combination of matrix values (empty: the configured settings as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    /// `(key, value)` pairs in axis order.
    pub pairs: Vec<(String, String)>,
}

impl Setting {
    /// A short name: `max_workers=2 batch_size=4096`, or `default`.
    pub fn label(&self) -> String {
        if self.pairs.is_empty() {
            return "default".to_string();
        }
        self.pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    }

    /// `base` with this setting's values applied.
    pub fn apply(&self, base: &SessionSettings) -> Result<SessionSettings, BenchError> {
        let mut out = base.clone();
        for (key, value) in &self.pairs {
            let bad = |why: String| BenchError::Matrix { text: format!("{key}={value}"), message: why };
            let positive = || match value.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(bad("expected a whole number of at least 1".to_string())),
            };
            match key.as_str() {
                "max_workers" => out.partitions = positive()?,
                "batch_size" => out.batch_size = positive()?,
                "memory_limit" => {
                    out.memory_limit = match value.as_str() {
                        "none" | "unlimited" => None,
                        v => Some(v.parse::<logfusion_engine::ByteSize>().map_err(|e| bad(e.to_string()))?.0),
                    }
                }
                "projection_pushdown" => {
                    let on = match value.as_str() {
                        "on" | "true" => "true",
                        "off" | "false" => "false",
                        _ => return Err(bad("expected on or off".to_string())),
                    };
                    out = out.with_option("logfusion.projection_pushdown", on);
                }
                option => out = out.with_option(option, value),
            }
        }
        Ok(out)
    }
}

/// Every combination of the axes' values, the first axis varying slowest. No axes: one
/// default setting.
pub fn expand(axes: &[Axis]) -> Vec<Setting> {
    let mut settings = vec![Setting::default()];
    for axis in axes {
        settings = settings
            .iter()
            .flat_map(|s| {
                axis.values.iter().map(move |v| {
                    let mut pairs = s.pairs.clone();
                    pairs.push((axis.key.clone(), v.clone()));
                    Setting { pairs }
                })
            })
            .collect();
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> SessionSettings {
        SessionSettings {
            partitions: 2,
            batch_size: 8192,
            memory_limit: None,
            max_spill: None,
            options: Vec::new(),
            url_tables: true,
        }
    }

    #[test]
    fn axes_expand_to_their_product_in_order() {
        let axes = [Axis::parse("max_workers=1,2").unwrap(), Axis::parse("batch_size=4096, 16384").unwrap()];
        let labels: Vec<String> = expand(&axes).iter().map(Setting::label).collect();
        assert_eq!(
            labels,
            [
                "max_workers=1 batch_size=4096",
                "max_workers=1 batch_size=16384",
                "max_workers=2 batch_size=4096",
                "max_workers=2 batch_size=16384"
            ]
        );
        assert_eq!(expand(&[]).iter().map(Setting::label).collect::<Vec<_>>(), ["default"]);
    }

    #[test]
    fn settings_apply_to_the_session() {
        let axes = [
            Axis::parse("workers=1").unwrap(),
            Axis::parse("projection_pushdown=off").unwrap(),
            Axis::parse("memory_limit=64MiB").unwrap(),
            Axis::parse("datafusion.optimizer.repartition_aggregations=false").unwrap(),
        ];
        let applied = expand(&axes)[0].apply(&base()).unwrap();
        assert_eq!(applied.partitions, 1);
        assert_eq!(applied.memory_limit, Some(64 << 20));
        assert_eq!(
            applied.options,
            [
                ("logfusion.projection_pushdown".to_string(), "false".to_string()),
                ("datafusion.optimizer.repartition_aggregations".to_string(), "false".to_string())
            ]
        );
    }

    #[test]
    fn bad_axes_and_values_are_named() {
        for (text, needle) in [
            ("max_workers", "no '='"),
            ("=1", "empty key"),
            ("speed=1,2", "unknown key \"speed\""),
            ("batch_size=1,,2", "empty value"),
        ] {
            let err = Axis::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        let zero = expand(&[Axis::parse("max_workers=0").unwrap()])[0].apply(&base()).unwrap_err();
        assert!(zero.to_string().contains("max_workers=0"), "{zero}");
        let pushdown = expand(&[Axis::parse("projection_pushdown=maybe").unwrap()])[0].apply(&base()).unwrap_err();
        assert!(pushdown.to_string().contains("on or off"), "{pushdown}");
    }
}
