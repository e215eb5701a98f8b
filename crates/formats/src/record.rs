//! Shared machinery of the key/value formats (JSON lines, logfmt, regex): a typed column list,
//! values staged for a whole line before any is appended, and the `_extra` column that keeps
//! keys the schema does not know, so nothing is lost.

use std::collections::HashMap;

use crate::columns::{BatchBuilder, ColumnSpec, ColumnType, Value};
use crate::convert::widen;

/// Name of the column holding fields that are not in the schema.
pub const EXTRA_COLUMN: &str = "_extra";

/// Column lookup for key/value formats.
#[derive(Debug, Clone)]
pub struct RecordColumns {
    /// The columns, `_extra` last when present.
    pub columns: Vec<ColumnSpec>,
    index: HashMap<String, usize>,
    /// Index of the `_extra` column, if any.
    pub extra: Option<usize>,
}

impl RecordColumns {
    /// Lookup over `columns`.
    pub fn new(columns: Vec<ColumnSpec>) -> Self {
        let index = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect::<HashMap<_, _>>();
        let extra = index.get(EXTRA_COLUMN).copied();
        RecordColumns {
            columns,
            index,
            extra,
        }
    }

    /// Index and type of a column by name (`_extra` is not found this way).
    #[inline]
    pub fn get(&self, name: &str) -> Option<(usize, ColumnType)> {
        let i = *self.index.get(name)?;
        (Some(i) != self.extra).then(|| (i, self.columns[i].column_type))
    }

    /// Appends one staged row (one slot per column) to `out`.
    pub fn append(&self, staged: &[Value<'_>], out: &mut BatchBuilder) {
        for (i, v) in staged.iter().enumerate() {
            if let Some(c) = out.column(i) {
                c.append_value(v);
            }
        }
    }
}

/// Builds an inferred column list: the sample's keys in order of first appearance with their
/// widened types, then `overrides` (replacing or adding columns), then `_extra`.
pub fn inferred_columns(
    seen: Vec<(String, Option<ColumnType>)>,
    overrides: &[ColumnSpec],
) -> Vec<ColumnSpec> {
    let mut cols: Vec<ColumnSpec> = seen
        .into_iter()
        .filter(|(name, _)| name != EXTRA_COLUMN)
        .map(|(name, t)| ColumnSpec::new(name, t.unwrap_or(ColumnType::String)))
        .collect();
    for o in overrides {
        match cols.iter_mut().find(|c| c.name == o.name) {
            Some(c) => c.column_type = o.column_type,
            None => cols.push(o.clone()),
        }
    }
    cols.push(ColumnSpec::new(EXTRA_COLUMN, ColumnType::String));
    cols
}

/// Accumulates key types over sample records, in order of first appearance.
#[derive(Debug, Default)]
pub struct TypeAccumulator {
    order: Vec<(String, Option<ColumnType>)>,
    index: HashMap<String, usize>,
}

impl TypeAccumulator {
    /// Records that `key` had a value of type `t` (`None` for a null value).
    pub fn observe(&mut self, key: &str, t: Option<ColumnType>) {
        match self.index.get(key) {
            Some(&i) => {
                let slot = &mut self.order[i].1;
                *slot = match (*slot, t) {
                    (Some(a), Some(b)) => Some(widen(a, b)),
                    (a, b) => a.or(b),
                };
            }
            None => {
                self.index.insert(key.to_string(), self.order.len());
                self.order.push((key.to_string(), t));
            }
        }
    }

    /// The keys and their types.
    pub fn finish(self) -> Vec<(String, Option<ColumnType>)> {
        self.order
    }
}
