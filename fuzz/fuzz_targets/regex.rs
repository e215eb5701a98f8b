//! Fuzzes the user-defined regex format with the sample configuration's pattern.
#![no_main]

mod parse;

use logfusion_formats::{ColumnType, FormatSpec, RegexOptions, TimestampFormat};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let options = RegexOptions {
        pattern: r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \[(?P<level>[A-Z]+)\] (?P<component>\w+): (?P<code>\d+)? ?(?P<message>.*)$".into(),
        columns: [("ts".to_string(), ColumnType::Timestamp), ("code".to_string(), ColumnType::Uint16)].into(),
        timestamp_format: TimestampFormat::from("%Y-%m-%d %H:%M:%S%.3f".to_string()),
        // The level mapping's lookup runs on every line too.
        levels: [("WARNING".to_string(), "WARN".to_string()), ("E".to_string(), "ERROR".to_string())].into(),
        multiline: None,
    };
    parse::parse_any(FormatSpec::Regex(options), data);
});
