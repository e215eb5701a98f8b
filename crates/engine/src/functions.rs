//! SQL functions logfusion adds to or tunes in DataFusion.
//!
//! `date_trunc` on log timestamps (`Timestamp(µs, "UTC")`) is the hottest function of time
//! bucketing queries. DataFusion's version converts every value through the time zone; in UTC,
//! truncating to a day or finer is plain integer arithmetic. [`UtcDateTrunc`] does that and
//! hands every other case to DataFusion's own `date_trunc`, so results are identical.

use std::sync::Arc;

use datafusion::arrow::array::{Array, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, FieldRef, TimeUnit};
use datafusion::common::{Result, ScalarValue};
use datafusion::functions::datetime::date_trunc::DateTruncFunc;
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::prelude::SessionContext;

/// Registers logfusion's functions in `ctx` (replacing built-ins of the same name).
pub fn register_functions(ctx: &SessionContext) {
    for function in functions() {
        ctx.register_udf(function);
    }
}

/// logfusion's functions, for registries other than a session's (a cluster node's).
pub fn functions() -> Vec<ScalarUDF> {
    vec![ScalarUDF::new_from_impl(UtcDateTrunc::default()), is_ip()]
}

/// `is_ip(text)`: whether `text` is an IPv4 or IPv6 address (NULL for NULL). The built-in
/// validation rule `client_ip_valid` of access logs is `is_ip(client_ip)`.
fn is_ip() -> ScalarUDF {
    use datafusion::arrow::array::{AsArray, BooleanArray};
    use datafusion::logical_expr::{Volatility, create_udf};
    let function = |args: &[ColumnarValue]| -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let text = datafusion::arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let out: BooleanArray = text
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(|v| is_ipv4(v.as_bytes()) || v.parse::<std::net::IpAddr>().is_ok()))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    };
    create_udf("is_ip", vec![DataType::Utf8], DataType::Boolean, Volatility::Immutable, Arc::new(function))
}

/// A fast check for dotted-quad IPv4 as `Ipv4Addr` parses it (no leading zeros); anything
/// else goes to the full parser.
fn is_ipv4(b: &[u8]) -> bool {
    let mut parts = 0;
    for part in b.split(|&c| c == b'.') {
        parts += 1;
        let ok = matches!(part.len(), 1..=3)
            && part.iter().all(u8::is_ascii_digit)
            && !(part.len() > 1 && part[0] == b'0')
            && part.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')) <= 255;
        if !ok || parts > 4 {
            return false;
        }
    }
    parts == 4
}

/// `date_trunc` with an arithmetic fast path for UTC microsecond timestamps.
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct UtcDateTrunc {
    inner: DateTruncFunc,
}

const MICROS: [(&str, i64); 6] = [
    ("microsecond", 1),
    ("millisecond", 1_000),
    ("second", 1_000_000),
    ("minute", 60_000_000),
    ("hour", 3_600_000_000),
    ("day", 86_400_000_000),
];

fn is_utc(tz: &str) -> bool {
    matches!(tz, "UTC" | "utc" | "+00:00" | "Z" | "Etc/UTC")
}

/// The truncation step in µs when the fast path applies.
fn fast_step(args: &[ColumnarValue]) -> Option<i64> {
    let granularity = match &args[0] {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(g)) | ScalarValue::Utf8View(Some(g)) | ScalarValue::LargeUtf8(Some(g)),
        ) => g.to_ascii_lowercase(),
        _ => return None,
    };
    let step = MICROS.iter().find(|(name, _)| *name == granularity)?.1;
    match args[1].data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, None) => Some(step),
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if is_utc(&tz) => Some(step),
        _ => None,
    }
}

impl ScalarUDFImpl for UtcDateTrunc {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(step) = fast_step(&args.args) else {
            return self.inner.invoke_with_args(args);
        };
        let trunc = |v: i64| v - v.rem_euclid(step);
        Ok(match &args.args[1] {
            ColumnarValue::Array(array) => {
                let Some(ts) = array.as_any().downcast_ref::<TimestampMicrosecondArray>() else {
                    return self.inner.invoke_with_args(args);
                };
                let out: TimestampMicrosecondArray = ts.unary(trunc);
                ColumnarValue::Array(Arc::new(out.with_timezone_opt(ts.timezone().map(Arc::<str>::from))))
            }
            ColumnarValue::Scalar(ScalarValue::TimestampMicrosecond(v, tz)) => {
                ColumnarValue::Scalar(ScalarValue::TimestampMicrosecond(v.map(trunc), tz.clone()))
            }
            _ => return self.inner.invoke_with_args(args),
        })
    }

    fn output_ordering(&self, input: &[ExprProperties]) -> Result<SortProperties> {
        self.inner.output_ordering(input)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::RecordBatch;
    use datafusion::arrow::datatypes::{Field, Schema};

    #[test]
    fn ipv4_fast_path_agrees_with_the_parser() {
        for ip in [
            "10.0.0.1",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "a.b.c.d",
            "",
            "1..2.3",
            "::1",
        ] {
            assert_eq!(is_ipv4(ip.as_bytes()), ip.parse::<std::net::Ipv4Addr>().is_ok(), "{ip}");
        }
    }

    #[test]
    fn fast_path_applies_to_utc_micros_only() {
        let utc = ColumnarValue::Array(Arc::new(TimestampMicrosecondArray::from(vec![1]).with_timezone("UTC")));
        let berlin =
            ColumnarValue::Array(Arc::new(TimestampMicrosecondArray::from(vec![1]).with_timezone("Europe/Berlin")));
        let unit = |u: &str| ColumnarValue::Scalar(ScalarValue::Utf8(Some(u.into())));
        assert_eq!(fast_step(&[unit("Hour"), utc.clone()]), Some(3_600_000_000));
        assert_eq!(fast_step(&[unit("month"), utc]), None);
        assert_eq!(fast_step(&[unit("hour"), berlin]), None);
    }

    /// The fast path and DataFusion's own date_trunc agree, before 1970 too.
    #[tokio::test]
    async fn agrees_with_datafusion() {
        let values =
            vec![Some(-86_400_000_001), Some(0), Some(1_759_321_536_123_456), None, Some(1_759_363_199_999_999)];
        let array = TimestampMicrosecondArray::from(values).with_timezone("UTC");
        let schema = Arc::new(Schema::new(vec![Field::new("ts", array.data_type().clone(), true)]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(array)]).unwrap();
        for unit in ["microsecond", "millisecond", "second", "minute", "hour", "day", "month", "year"] {
            let sql = format!("SELECT CAST(date_trunc('{unit}', ts) AS BIGINT) FROM t");
            let plain = SessionContext::new();
            plain.register_batch("t", batch.clone()).unwrap();
            let fast = SessionContext::new();
            fast.register_batch("t", batch.clone()).unwrap();
            register_functions(&fast);
            let a = plain.sql(&sql).await.unwrap().collect().await.unwrap();
            let b = fast.sql(&sql).await.unwrap().collect().await.unwrap();
            assert_eq!(a, b, "{unit}");
        }
    }
}
