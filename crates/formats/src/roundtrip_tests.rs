//! Property tests: a generated record, written in a format, parses back to the same values;
//! and no input at all makes a parser panic or append an uneven row.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType, UInt8Type, UInt16Type, UInt64Type};
use arrow_array::{Array, ArrayRef};
use proptest::prelude::*;

use crate::{BatchBuilder, FileContext, FormatSpec, ResolvedFormat, TimeRules, prepare_line};

/// Parses `line` with every column projected; the arrays of the one row, or the reject.
fn parse_one(format: &ResolvedFormat, line: &str) -> Result<Vec<ArrayRef>, crate::Reject> {
    let all: Vec<usize> = (0..format.columns().len()).collect();
    let mut out = BatchBuilder::new(format.columns(), &all, 1);
    let mut parser = format.parser(&FileContext { modified_micros: Some(1_790_000_000_000_000), last_line: None });
    parser.parse(line, &mut out)?;
    out.commit_row();
    Ok(out.finish())
}

fn column<'a>(format: &ResolvedFormat, arrays: &'a [ArrayRef], name: &str) -> &'a ArrayRef {
    let i = format.columns().iter().position(|c| c.name == name).unwrap_or_else(|| panic!("no column {name}"));
    &arrays[i]
}

fn text(a: &ArrayRef) -> Option<String> {
    a.is_valid(0).then(|| a.as_string::<i32>().value(0).to_string())
}

/// Text that logs hold inside quotes: printable ASCII without `"` and `\`, plus some non-ASCII.
fn quoted_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 /.;:,()=+_\u{e9}\u{4e2d}-]{1,40}".prop_filter("`-` alone means null", |s| s != "-")
}

/// Whether schema inference reads `value` as text (not a number, boolean or timestamp).
fn infers_as_text(value: &str) -> bool {
    crate::convert::infer_text_type(value) == crate::ColumnType::String
}

prop_compose! {
    fn access_record()(
        ip in (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()),
        user in prop::option::of("[a-z]{1,8}"),
        secs in 946_684_800i64..4_102_444_800,
        offset_minutes in -720i64..=840,
        method in prop::sample::select(vec!["GET", "POST", "HEAD", "DELETE"]),
        path in "/[a-zA-Z0-9/?=&._-]{0,30}",
        protocol in prop::sample::select(vec!["HTTP/1.0", "HTTP/1.1", "HTTP/2.0"]),
        status in 100u16..600,
        bytes in prop::option::of(0u64..10_000_000_000),
        referer in prop::option::of(quoted_text()),
        agent in quoted_text(),
        millis in prop::option::of(0u32..100_000),
    ) -> (String, i64, [Option<String>; 8], u16, Option<u64>, Option<f64>) {
        let offset_minutes = offset_minutes - offset_minutes % 15;
        let local = chrono::DateTime::from_timestamp(secs + offset_minutes * 60, 0).unwrap_or_default();
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let off = offset_minutes.abs();
        let ts = format!("{} {sign}{:02}{:02}", local.format("%d/%b/%Y:%H:%M:%S"), off / 60, off % 60);
        let ip = format!("{}.{}.{}.{}", ip.0, ip.1, ip.2, ip.3);
        let time = millis.map(|m| f64::from(m) / 1000.0);
        let line = format!(
            "{ip} - {} [{ts}] \"{method} {path} {protocol}\" {status} {} \"{}\" \"{agent}\" {}",
            user.as_deref().unwrap_or("-"),
            bytes.map_or("-".to_string(), |b| b.to_string()),
            referer.as_deref().unwrap_or("-"),
            time.map_or("-".to_string(), |t| format!("{t:.3}")),
        );
        let texts = [Some(ip), None, user, Some(method.to_string()), Some(path), Some(protocol.to_string()), referer, Some(agent)];
        (line, secs * 1_000_000, texts, status, bytes, time)
    }
}

proptest! {
    #[test]
    fn access_lines_parse_back(record in access_record()) {
        let (line, ts, texts, status, bytes, time) = record;
        let format = ResolvedFormat::resolve(FormatSpec::parse_name("combined").unwrap(), TimeRules::default(), &[]).unwrap();
        let a = parse_one(&format, &line).map_err(|r| TestCaseError::fail(format!("{line}: {r:?}")))?;
        prop_assert_eq!(column(&format, &a, "ts").as_primitive::<TimestampMicrosecondType>().value(0), ts);
        for (name, want) in ["client_ip", "ident", "user", "method", "path", "protocol", "referer", "user_agent"].iter().zip(&texts) {
            prop_assert_eq!(&text(column(&format, &a, name)), want, "{}", name);
        }
        prop_assert_eq!(column(&format, &a, "status").as_primitive::<UInt16Type>().value(0), status);
        let b = column(&format, &a, "bytes");
        prop_assert_eq!(b.is_valid(0).then(|| b.as_primitive::<UInt64Type>().value(0)), bytes);
        let t = column(&format, &a, "request_time");
        prop_assert_eq!(t.is_valid(0).then(|| t.as_primitive::<Float64Type>().value(0)), time);
    }

    #[test]
    fn rfc5424_lines_parse_back(
        pri in 0u8..=191,
        micros in 946_684_800_000_000i64..4_102_444_800_000_000,
        host in "[a-z][a-z0-9.-]{0,20}",
        app in "[a-z][a-z0-9_-]{0,12}",
        proc_id in "[0-9]{1,6}",
        message in "[ -~]{0,60}",
    ) {
        let ts = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default().format("%Y-%m-%dT%H:%M:%S%.6fZ");
        let line = format!("<{pri}>1 {ts} {host} {app} {proc_id} - - {message}");
        let format = ResolvedFormat::resolve(FormatSpec::parse_name("syslog").unwrap(), TimeRules::default(), &[]).unwrap();
        let a = parse_one(&format, &line).map_err(|r| TestCaseError::fail(format!("{line}: {r:?}")))?;
        prop_assert_eq!(column(&format, &a, "ts").as_primitive::<TimestampMicrosecondType>().value(0), micros);
        prop_assert_eq!(column(&format, &a, "facility").as_primitive::<UInt8Type>().value(0), pri / 8);
        prop_assert_eq!(column(&format, &a, "severity").as_primitive::<UInt8Type>().value(0), pri % 8);
        prop_assert_eq!(text(column(&format, &a, "hostname")), Some(host));
        prop_assert_eq!(text(column(&format, &a, "app_name")), Some(app));
        prop_assert_eq!(text(column(&format, &a, "proc_id")), Some(proc_id));
        prop_assert_eq!(text(column(&format, &a, "message")), Some(message));
    }

    #[test]
    fn logfmt_and_json_records_parse_back(
        n in any::<i64>(),
        word in "[a-zA-Z_][a-zA-Z0-9_]{0,10}".prop_filter("text", |w| infers_as_text(w)),
        sentence in "[a-zA-Z0-9 ,.;:!?\"\\\\=-]{0,40}".prop_filter("text", |s| infers_as_text(s)),
        flag in any::<bool>(),
    ) {
        // logfmt: quoting with backslash escapes.
        let escaped = sentence.replace('\\', "\\\\").replace('"', "\\\"");
        let line = format!("n={n} word={word} msg=\"{escaped}\" ok={flag}");
        let format = ResolvedFormat::resolve(FormatSpec::parse_name("logfmt").unwrap(), TimeRules::default(), &[&line]).unwrap();
        let a = parse_one(&format, &line).map_err(|r| TestCaseError::fail(format!("{line}: {r:?}")))?;
        prop_assert_eq!(column(&format, &a, "n").as_primitive::<Int64Type>().value(0), n);
        prop_assert_eq!(text(column(&format, &a, "word")), Some(word.clone()));
        prop_assert_eq!(text(column(&format, &a, "msg")), Some(sentence.clone()));
        prop_assert_eq!(column(&format, &a, "ok").as_boolean().value(0), flag);
        // JSON: the same record.
        let line = serde_json::json!({"n": n, "word": word, "msg": sentence, "ok": flag}).to_string();
        let format = ResolvedFormat::resolve(FormatSpec::parse_name("json").unwrap(), TimeRules::default(), &[&line]).unwrap();
        let a = parse_one(&format, &line).map_err(|r| TestCaseError::fail(format!("{line}: {r:?}")))?;
        prop_assert_eq!(column(&format, &a, "n").as_primitive::<Int64Type>().value(0), n);
        prop_assert_eq!(text(column(&format, &a, "msg")), Some(sentence));
        prop_assert_eq!(column(&format, &a, "ok").as_boolean().value(0), flag);
    }

    /// Any bytes: every parser returns a row or a reject, never panics, and a row has one
    /// value in every column.
    #[test]
    fn no_input_panics_a_parser(bytes in prop::collection::vec(any::<u8>(), 0..300), ascii in "[ -~]{0,200}") {
        let sample = ["a=1 b=x", r#"{"a":1,"b":"x"}"#];
        for name in ["access", "syslog", "json", "logfmt"] {
            let format = ResolvedFormat::resolve(FormatSpec::parse_name(name).unwrap(), TimeRules::default(), &sample).unwrap();
            for input in [&bytes[..], ascii.as_bytes()] {
                if let Ok(line) = prepare_line(input)
                    && let Ok(arrays) = parse_one(&format, line)
                {
                    prop_assert!(arrays.iter().all(|a| a.len() == 1));
                }
            }
        }
    }
}
