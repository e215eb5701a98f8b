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
        let index = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect::<HashMap<_, _>>();
        let extra = index.get(EXTRA_COLUMN).copied();
        RecordColumns { columns, index, extra }
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
pub fn inferred_columns(seen: Vec<(String, Option<ColumnType>)>, overrides: &[ColumnSpec]) -> Vec<ColumnSpec> {
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

/// Values of a key needed before a few outliers may be outvoted (see [`TypeAccumulator`]).
const MIN_VOTES: u64 = 20;
/// Share of a key's values that must agree on a non-string type to outvote outliers.
const MAJORITY: f64 = 0.95;

/// Accumulates key types over sample records, in order of first appearance. A key whose values
/// mix types becomes the widened type (Int64+Float64 = Float64, otherwise String), except that
/// when at least 95% of 20 or more values agree on a non-string type, that type wins: the few
/// outliers then become rejects (`bad_field`/`bad_timestamp`) instead of turning a timestamp or
/// number column into text for everyone.
#[derive(Debug, Default)]
pub struct TypeAccumulator {
    order: Vec<(String, Vec<(ColumnType, u64)>)>,
    index: HashMap<String, usize>,
}

impl TypeAccumulator {
    /// Records that `key` had a value of type `t` (`None` for a null value).
    pub fn observe(&mut self, key: &str, t: Option<ColumnType>) {
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => {
                self.index.insert(key.to_string(), self.order.len());
                self.order.push((key.to_string(), Vec::new()));
                self.order.len() - 1
            }
        };
        if let Some(t) = t {
            let counts = &mut self.order[i].1;
            match counts.iter_mut().find(|(ty, _)| *ty == t) {
                Some((_, n)) => *n += 1,
                None => counts.push((t, 1)),
            }
        }
    }

    /// The keys and their types (`None`: only nulls seen).
    pub fn finish(self) -> Vec<(String, Option<ColumnType>)> {
        self.order
            .into_iter()
            .map(|(key, counts)| {
                let t = vote(&counts);
                (key, t)
            })
            .collect()
    }
}

fn vote(counts: &[(ColumnType, u64)]) -> Option<ColumnType> {
    let widened = counts.iter().map(|(t, _)| *t).reduce(widen)?;
    if widened != ColumnType::String {
        return Some(widened);
    }
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let numeric: u64 =
        counts.iter().filter(|(t, _)| matches!(t, ColumnType::Int64 | ColumnType::Float64)).map(|(_, n)| n).sum();
    let numeric_type =
        counts.iter().map(|(t, _)| *t).filter(|t| matches!(t, ColumnType::Int64 | ColumnType::Float64)).reduce(widen);
    let mut candidates: Vec<(ColumnType, u64)> = counts
        .iter()
        .filter(|(t, _)| !matches!(t, ColumnType::String | ColumnType::Int64 | ColumnType::Float64))
        .copied()
        .collect();
    if let Some(t) = numeric_type {
        candidates.push((t, numeric));
    }
    candidates
        .into_iter()
        .find(|(_, n)| total >= MIN_VOTES && *n as f64 >= MAJORITY * total as f64)
        .map(|(t, _)| t)
        .or(Some(ColumnType::String))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_are_outvoted_only_by_a_large_majority() {
        let mut acc = TypeAccumulator::default();
        for _ in 0..40 {
            acc.observe("ts", Some(ColumnType::Timestamp));
            acc.observe("n", Some(ColumnType::Int64));
            acc.observe("mixed", Some(ColumnType::Int64));
            acc.observe("mixed", Some(ColumnType::String));
        }
        acc.observe("ts", Some(ColumnType::String));
        acc.observe("n", Some(ColumnType::Float64));
        acc.observe("nulls", None);
        let got = acc.finish();
        assert_eq!(
            got,
            [
                ("ts".to_string(), Some(ColumnType::Timestamp)),
                ("n".to_string(), Some(ColumnType::Float64)),
                ("mixed".to_string(), Some(ColumnType::String)),
                ("nulls".to_string(), None),
            ]
        );
    }
}
