//! Column types of log tables and the Arrow builders parsers append to.
//!
//! A [`BatchBuilder`] holds a builder only for the *projected* columns: a parser asks
//! [`BatchBuilder::column`] and gets `None` for a column the query does not need, so it never
//! materialises it (projection pushdown into the parser).

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt8Builder,
    UInt16Builder, UInt64Builder,
};
use arrow_array::{ArrayRef, builder::ArrayBuilder};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};

/// The value types a log column can have. Timestamps are microseconds since the epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// UTF-8 text.
    String,
    /// Unsigned 8-bit integer.
    Uint8,
    /// Unsigned 16-bit integer (HTTP status).
    Uint16,
    /// Unsigned 64-bit integer (sizes).
    Uint64,
    /// Signed 64-bit integer.
    Int64,
    /// 64-bit float (durations in seconds).
    Float64,
    /// true/false.
    Bool,
    /// A point in time, stored as `Timestamp(µs, "UTC")`.
    Timestamp,
}

impl ColumnType {
    /// The Arrow type of the column.
    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::String => DataType::Utf8,
            ColumnType::Uint8 => DataType::UInt8,
            ColumnType::Uint16 => DataType::UInt16,
            ColumnType::Uint64 => DataType::UInt64,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Timestamp => utc_timestamp_type(),
        }
    }

    /// The column type for an Arrow type produced by [`ColumnType::data_type`].
    pub fn from_data_type(dt: &DataType) -> Option<ColumnType> {
        Some(match dt {
            DataType::Utf8 => ColumnType::String,
            DataType::UInt8 => ColumnType::Uint8,
            DataType::UInt16 => ColumnType::Uint16,
            DataType::UInt64 => ColumnType::Uint64,
            DataType::Int64 => ColumnType::Int64,
            DataType::Float64 => ColumnType::Float64,
            DataType::Boolean => ColumnType::Bool,
            DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC" => ColumnType::Timestamp,
            _ => return None,
        })
    }

    fn new_builder(self, capacity: usize) -> ColumnBuilder {
        match self {
            ColumnType::String => ColumnBuilder::String(StringBuilder::with_capacity(capacity, capacity * 16)),
            ColumnType::Uint8 => ColumnBuilder::Uint8(UInt8Builder::with_capacity(capacity)),
            ColumnType::Uint16 => ColumnBuilder::Uint16(UInt16Builder::with_capacity(capacity)),
            ColumnType::Uint64 => ColumnBuilder::Uint64(UInt64Builder::with_capacity(capacity)),
            ColumnType::Int64 => ColumnBuilder::Int64(Int64Builder::with_capacity(capacity)),
            ColumnType::Float64 => ColumnBuilder::Float64(Float64Builder::with_capacity(capacity)),
            ColumnType::Bool => ColumnBuilder::Bool(BooleanBuilder::with_capacity(capacity)),
            ColumnType::Timestamp => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"))
            }
        }
    }
}

/// `Timestamp(Microsecond, "UTC")`, the type of every timestamp column.
pub fn utc_timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")))
}

/// A named, typed column of a format's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// snake_case column name.
    pub name: String,
    /// The column's type.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
}

impl ColumnSpec {
    /// A column spec.
    pub fn new(name: impl Into<String>, column_type: ColumnType) -> Self {
        ColumnSpec { name: name.into(), column_type }
    }
}

/// The Arrow schema (all columns nullable) of a list of column specs.
pub fn schema_of(columns: &[ColumnSpec]) -> SchemaRef {
    Arc::new(Schema::new(
        columns.iter().map(|c| Field::new(&c.name, c.column_type.data_type(), true)).collect::<Vec<_>>(),
    ))
}

/// A typed value extracted from a line, before it is appended.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// No value.
    Null,
    /// Borrowed text.
    Str(&'a str),
    /// Owned text (e.g. unescaped or re-serialised JSON).
    String(String),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Microseconds since the epoch, UTC.
    Timestamp(i64),
}

/// A column's value in the current line, kept without borrowing the line: parsers that
/// validate every typed field before appending any hold their converted values as cells in
/// between. [`Cell::Text`] stands for a text column, read from the line when appended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell {
    /// A text column's value: the caller reads it from the line.
    Text,
    /// No value.
    Null,
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Microseconds since the epoch, UTC.
    Timestamp(i64),
}

impl Cell {
    /// A typed column's converted value. Conversion to a typed column never gives text;
    /// text there is null, as a typed builder would append it.
    #[inline]
    pub(crate) fn typed(value: Value<'_>) -> Cell {
        match value {
            Value::Null | Value::Str(_) | Value::String(_) => Cell::Null,
            Value::Int(v) => Cell::Int(v),
            Value::UInt(v) => Cell::UInt(v),
            Value::Float(v) => Cell::Float(v),
            Value::Bool(v) => Cell::Bool(v),
            Value::Timestamp(v) => Cell::Timestamp(v),
        }
    }

    /// The value to append; `text` reads a text column's value from the line.
    #[inline]
    pub(crate) fn value<'a>(self, text: impl FnOnce() -> Option<&'a str>) -> Value<'a> {
        match self {
            Cell::Text => text().map_or(Value::Null, Value::Str),
            Cell::Null => Value::Null,
            Cell::Int(v) => Value::Int(v),
            Cell::UInt(v) => Value::UInt(v),
            Cell::Float(v) => Value::Float(v),
            Cell::Bool(v) => Value::Bool(v),
            Cell::Timestamp(v) => Value::Timestamp(v),
        }
    }
}

/// An Arrow builder for one column.
#[derive(Debug)]
pub enum ColumnBuilder {
    /// Text.
    String(StringBuilder),
    /// u8.
    Uint8(UInt8Builder),
    /// u16.
    Uint16(UInt16Builder),
    /// u64.
    Uint64(UInt64Builder),
    /// i64.
    Int64(Int64Builder),
    /// f64.
    Float64(Float64Builder),
    /// bool.
    Bool(BooleanBuilder),
    /// Timestamp(µs, UTC).
    Timestamp(TimestampMicrosecondBuilder),
}

impl ColumnBuilder {
    /// Appends a null.
    pub fn append_null(&mut self) {
        match self {
            ColumnBuilder::String(b) => b.append_null(),
            ColumnBuilder::Uint8(b) => b.append_null(),
            ColumnBuilder::Uint16(b) => b.append_null(),
            ColumnBuilder::Uint64(b) => b.append_null(),
            ColumnBuilder::Int64(b) => b.append_null(),
            ColumnBuilder::Float64(b) => b.append_null(),
            ColumnBuilder::Bool(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
        }
    }

    /// Appends text to a string column, or an optional text (`None` = null).
    pub fn append_str(&mut self, v: Option<&str>) {
        match (self, v) {
            (ColumnBuilder::String(b), Some(s)) => b.append_value(s),
            (b, _) => b.append_null(),
        }
    }

    /// Appends an optional unsigned integer to an integer column.
    pub fn append_u64(&mut self, v: Option<u64>) {
        match (self, v) {
            (ColumnBuilder::Uint64(b), Some(v)) => b.append_value(v),
            (ColumnBuilder::Uint16(b), Some(v)) => b.append_option(u16::try_from(v).ok()),
            (ColumnBuilder::Uint8(b), Some(v)) => b.append_option(u8::try_from(v).ok()),
            (ColumnBuilder::Int64(b), Some(v)) => b.append_option(i64::try_from(v).ok()),
            (ColumnBuilder::Float64(b), Some(v)) => b.append_value(v as f64),
            (b, _) => b.append_null(),
        }
    }

    /// Appends a small unsigned integer (a status code) to an integer column.
    #[inline]
    pub fn append_u16(&mut self, v: u16) {
        match self {
            ColumnBuilder::Uint16(b) => b.append_value(v),
            b => b.append_u64(Some(u64::from(v))),
        }
    }

    /// Appends an optional float to a float column.
    pub fn append_f64(&mut self, v: Option<f64>) {
        match (self, v) {
            (ColumnBuilder::Float64(b), Some(v)) => b.append_value(v),
            (b, _) => b.append_null(),
        }
    }

    /// Appends an optional timestamp (µs since the epoch, UTC) to a timestamp column.
    pub fn append_timestamp(&mut self, v: Option<i64>) {
        match (self, v) {
            (ColumnBuilder::Timestamp(b), Some(v)) => b.append_value(v),
            (b, _) => b.append_null(),
        }
    }

    /// Appends a [`Value`] that has already been converted to this column's type.
    pub fn append_value(&mut self, v: &Value<'_>) {
        match (self, v) {
            (ColumnBuilder::String(b), Value::Str(s)) => b.append_value(s),
            (ColumnBuilder::String(b), Value::String(s)) => b.append_value(s),
            (ColumnBuilder::Int64(b), Value::Int(i)) => b.append_value(*i),
            (ColumnBuilder::Float64(b), Value::Float(f)) => b.append_value(*f),
            (ColumnBuilder::Bool(b), Value::Bool(x)) => b.append_value(*x),
            (ColumnBuilder::Timestamp(b), Value::Timestamp(t)) => b.append_value(*t),
            (b, Value::UInt(u)) => b.append_u64(Some(*u)),
            (b, _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::String(b) => Arc::new(b.finish()),
            ColumnBuilder::Uint8(b) => Arc::new(b.finish()),
            ColumnBuilder::Uint16(b) => Arc::new(b.finish()),
            ColumnBuilder::Uint64(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
        }
    }

    fn len(&self) -> usize {
        match self {
            ColumnBuilder::String(b) => b.len(),
            ColumnBuilder::Uint8(b) => b.len(),
            ColumnBuilder::Uint16(b) => b.len(),
            ColumnBuilder::Uint64(b) => b.len(),
            ColumnBuilder::Int64(b) => b.len(),
            ColumnBuilder::Float64(b) => b.len(),
            ColumnBuilder::Bool(b) => b.len(),
            ColumnBuilder::Timestamp(b) => b.len(),
        }
    }
}

/// Builders for the projected columns of one format schema, filled row by row.
#[derive(Debug)]
pub struct BatchBuilder {
    columns: Vec<Option<ColumnBuilder>>,
    projection: Vec<usize>,
    rows: usize,
    values_built: u64,
}

impl BatchBuilder {
    /// Builders for `projection` (indices into `columns`), each with room for `capacity` rows.
    pub fn new(columns: &[ColumnSpec], projection: &[usize], capacity: usize) -> Self {
        let mut builders: Vec<Option<ColumnBuilder>> = columns.iter().map(|_| None).collect();
        for &i in projection {
            builders[i] = Some(columns[i].column_type.new_builder(capacity));
        }
        BatchBuilder { columns: builders, projection: projection.to_vec(), rows: 0, values_built: 0 }
    }

    /// The builder of column `index`, or `None` when the query does not need that column.
    #[inline]
    pub fn column(&mut self, index: usize) -> Option<&mut ColumnBuilder> {
        self.columns[index].as_mut()
    }

    /// Whether column `index` is projected.
    #[inline]
    pub fn wants(&self, index: usize) -> bool {
        self.columns[index].is_some()
    }

    /// Records that the parser appended one value to every projected column.
    #[inline]
    pub fn commit_row(&mut self) {
        self.rows += 1;
        debug_assert!(self.columns.iter().flatten().all(|c| c.len() == self.rows), "a parser appended an uneven row");
    }

    /// Rows appended since the last [`BatchBuilder::finish`].
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Total values materialised so far (rows × projected columns): the work a projection saves.
    pub fn values_built(&self) -> u64 {
        self.values_built + (self.rows * self.projection.len()) as u64
    }

    /// The projected arrays, in projection order; the builder is reset for the next batch.
    pub fn finish(&mut self) -> Vec<ArrayRef> {
        self.values_built += (self.rows * self.projection.len()) as u64;
        self.rows = 0;
        let projection = self.projection.clone();
        projection
            .into_iter()
            .map(|i| self.columns[i].as_mut().expect("projected columns have builders").finish())
            .collect()
    }
}
