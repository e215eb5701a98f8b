//! Multi-line records: which lines continue the record before them (a Java stack trace, a
//! Python traceback, a syslog message continued on indented lines) instead of starting one.
//! The rule looks at one line at a time, so a byte range can tell alone whether its first
//! lines belong to the record of the range before (they continue) or start its own.

use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

use crate::FormatError;

/// How lines join into records, as written in a format's options (`multiline:`): `indented`,
/// `java`, `python`, or `{start: REGEX}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "WrittenRule", into = "WrittenRule")]
pub enum MultilineSpec {
    /// A line starting with a space or a tab continues the record before it.
    Indented,
    /// Java stack traces: indented lines (`\tat …`, `\t... 3 more`), `Caused by: …`,
    /// `Suppressed: …` and exception lines (`java.lang.IllegalStateException: boom`) continue.
    Java,
    /// Python tracebacks: indented lines, `Traceback (most recent call last):`, the chaining
    /// sentences, the exception line (`ValueError: bad`) and blank lines continue.
    Python,
    /// A record starts at every line this regex matches; any other line continues.
    Start(String),
}

/// A [`MultilineSpec`] as written: a preset's name or a start pattern.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum WrittenRule {
    Preset(String),
    Start { start: String },
}

impl TryFrom<WrittenRule> for MultilineSpec {
    type Error = String;

    fn try_from(written: WrittenRule) -> Result<Self, Self::Error> {
        match written {
            WrittenRule::Start { start } => Ok(MultilineSpec::Start(start)),
            WrittenRule::Preset(name) => match name.as_str() {
                "indented" => Ok(MultilineSpec::Indented),
                "java" => Ok(MultilineSpec::Java),
                "python" => Ok(MultilineSpec::Python),
                other => Err(format!("unknown multi-line rule `{other}` (indented, java, python or {{start: REGEX}})")),
            },
        }
    }
}

impl From<MultilineSpec> for WrittenRule {
    fn from(spec: MultilineSpec) -> Self {
        match spec {
            MultilineSpec::Indented => WrittenRule::Preset("indented".into()),
            MultilineSpec::Java => WrittenRule::Preset("java".into()),
            MultilineSpec::Python => WrittenRule::Preset("python".into()),
            MultilineSpec::Start(start) => WrittenRule::Start { start },
        }
    }
}

/// A compiled [`MultilineSpec`].
#[derive(Debug, Clone)]
pub struct MultilineRule {
    spec: MultilineSpec,
    /// Lines that continue (Java, Python) or that start a record ([`MultilineSpec::Start`]).
    pattern: Option<Regex>,
}

/// Exception lines of a Java stack trace (a qualified class name ending in `Exception`,
/// `Error` or `Throwable`, alone or with a message) and the chaining lines.
const JAVA_CONTINUES: &str =
    r"^(?:Caused by: |Suppressed: |[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:Exception|Error|Throwable)(?::|$))";
/// The traceback header, the chaining sentences and the final exception line of Python.
const PYTHON_CONTINUES: &str = r"^(?:Traceback \(most recent call last\):|During handling of the above exception|The above exception was the direct cause|[A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt|Iteration)(?::|$))";

impl MultilineRule {
    /// Compiles `spec`; an error names a bad start regex.
    pub fn new(spec: &MultilineSpec) -> Result<MultilineRule, FormatError> {
        let source = match spec {
            MultilineSpec::Indented => None,
            MultilineSpec::Java => Some(JAVA_CONTINUES),
            MultilineSpec::Python => Some(PYTHON_CONTINUES),
            MultilineSpec::Start(start) => Some(start.as_str()),
        };
        let pattern = source
            .map(|p| {
                Regex::new(p).map_err(|e| FormatError::BadRegex {
                    pattern: p.to_string(),
                    message: e.to_string().lines().last().unwrap_or_default().trim().to_string(),
                })
            })
            .transpose()?;
        Ok(MultilineRule { spec: spec.clone(), pattern })
    }

    /// The rule as written.
    pub fn spec(&self) -> &MultilineSpec {
        &self.spec
    }

    /// Whether `line` (its bytes, a trailing `\r` allowed) continues the record before it.
    pub fn continues(&self, line: &[u8]) -> bool {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let indented = matches!(line.first(), Some(b' ' | b'\t'));
        match (&self.spec, &self.pattern) {
            (MultilineSpec::Indented, _) => indented,
            (MultilineSpec::Start(_), Some(start)) => !start.is_match(line),
            (MultilineSpec::Java, Some(p)) => indented || p.is_match(line),
            (MultilineSpec::Python, Some(p)) => indented || line.is_empty() || p.is_match(line),
            (_, None) => indented,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn continued(spec: MultilineSpec, lines: &[&str]) -> Vec<bool> {
        let rule = MultilineRule::new(&spec).unwrap();
        lines.iter().map(|l| rule.continues(l.as_bytes())).collect()
    }

    #[test]
    fn java_stack_traces_continue_the_record() {
        let lines = [
            "2026-10-01 12:00:00,123 ERROR [main] com.example.App - request failed",
            "java.lang.IllegalStateException: boom",
            "\tat com.example.App.run(App.java:10)",
            "Caused by: java.io.IOException: disk full",
            "\t... 3 more",
            "org.example.CustomError",
            "2026-10-01 12:00:01,000 INFO  [main] com.example.App - next",
            "Exception in thread \"main\" is not a trace line",
        ];
        assert_eq!(continued(MultilineSpec::Java, &lines), [false, true, true, true, true, true, false, false]);
    }

    #[test]
    fn python_tracebacks_continue_the_record() {
        let lines = [
            "2026-10-01 12:00:00,123 ERROR app: failed",
            "Traceback (most recent call last):",
            "  File \"app.py\", line 3, in <module>",
            "ValueError: bad value",
            "",
            "During handling of the above exception, another exception occurred:",
            "KeyboardInterrupt\r",
            "2026-10-01 12:00:01,000 INFO app: next",
        ];
        assert_eq!(continued(MultilineSpec::Python, &lines), [false, true, true, true, true, true, true, false]);
    }

    #[test]
    fn indentation_and_start_patterns() {
        let lines = ["Oct  1 12:00:00 host app: first", "    continued", "\tmore", "Oct  1 12:00:01 host app: next"];
        assert_eq!(continued(MultilineSpec::Indented, &lines), [false, true, true, false]);
        let start = MultilineSpec::Start(r"^\d{4}-\d{2}-\d{2} ".into());
        assert_eq!(continued(start, &["2026-10-01 a", "b", "", "2026-10-02 c"]), [false, true, true, false]);
        let bad = MultilineRule::new(&MultilineSpec::Start("(".into())).unwrap_err();
        assert!(bad.to_string().contains('('), "{bad}");
    }

    #[test]
    fn specs_read_from_yaml() {
        let spec: MultilineSpec = serde_yaml::from_str("java").unwrap();
        assert_eq!(spec, MultilineSpec::Java);
        let spec: MultilineSpec = serde_yaml::from_str("{start: '^\\d'}").unwrap();
        assert_eq!(spec, MultilineSpec::Start("^\\d".into()));
        let e = serde_yaml::from_str::<MultilineSpec>("stack").unwrap_err().to_string();
        assert!(e.contains("unknown multi-line rule `stack`"), "{e}");
        let json = serde_json::to_string(&MultilineSpec::Start("^x".into())).unwrap();
        assert_eq!(serde_json::from_str::<MultilineSpec>(&json).unwrap(), MultilineSpec::Start("^x".into()));
    }
}
