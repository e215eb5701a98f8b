//! Exact percentiles of one column, computed together.
//!
//! `percentile_cont(x, 0.5), percentile_cont(x, 0.95), percentile_cont(x, 0.99)` makes
//! DataFusion keep every value of `x` three times (per group, in the partial and the final
//! aggregation) and select in each copy. [`SharePercentiles`] rewrites such a set of calls
//! into one [`PercentilesCont`] aggregate that keeps the values once, sorts each group once
//! and reads every percentile from it; a projection above the aggregate gives each original
//! call its own column back, by the same name. The answers are DataFusion's: the same ranks,
//! the same interpolation (see `percentile_cont` in datafusion-functions-aggregate).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, ListArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result, ScalarValue, plan_err};
use datafusion::functions::core::expr_fn::get_field;
use datafusion::logical_expr::expr::{AggregateFunction, AggregateFunctionParams};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, Aggregate, AggregateUDF, AggregateUDFImpl, EmitTo, Expr, ExprSchemable, GroupsAccumulator,
    LogicalPlan, Projection, Signature, Volatility,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

/// The name of the shared aggregate in plans.
const NAME: &str = "logfusion_percentiles_cont";

/// DataFusion's quantisation of the interpolation weight (`INTERPOLATION_PRECISION`).
const INTERPOLATION_PRECISION: f64 = 1_000_000.0;

/// `logfusion_percentiles_cont(x, p1, …, pk)`: a struct of `percentile_cont(x, pi)` for each
/// `pi` (fields `p1`…`pk`), over the values of `x` kept once.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PercentilesCont {
    signature: Signature,
    percentiles: Vec<u64>,
}

impl PercentilesCont {
    /// The aggregate for these percentiles (each in 0..=1).
    fn new(percentiles: &[f64]) -> Self {
        PercentilesCont {
            signature: Signature::variadic_any(Volatility::Immutable),
            percentiles: percentiles.iter().map(|p| p.to_bits()).collect(),
        }
    }

    fn percentiles(&self) -> Vec<f64> {
        self.percentiles.iter().map(|&b| f64::from_bits(b)).collect()
    }

    fn fields(&self) -> Fields {
        (1..=self.percentiles.len()).map(|i| Field::new(format!("p{i}"), DataType::Float64, true)).collect()
    }
}

impl AggregateUDFImpl for PercentilesCont {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(self.fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let item = Arc::new(Field::new_list_field(DataType::Float64, true));
        Ok(vec![Arc::new(Field::new(format_state_name(args.name, NAME), DataType::List(item), true))])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(OneGroup { values: Groups::new(self.percentiles(), self.fields()) }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(Groups::new(self.percentiles(), self.fields())))
    }
}

/// Every group's values, and the percentiles to read from them.
#[derive(Debug)]
struct Groups {
    values: Vec<Vec<f64>>,
    percentiles: Vec<f64>,
    fields: Fields,
}

impl Groups {
    fn new(percentiles: Vec<f64>, fields: Fields) -> Self {
        Groups { values: Vec::new(), percentiles, fields }
    }

    /// The values of `list` (a state column) added to the groups of `group_indices`.
    fn merge(&mut self, list: &ListArray, group_indices: &[usize]) {
        for (&group, values) in group_indices.iter().zip(list.iter()) {
            if let Some(values) = values {
                let values = values.as_primitive::<Float64Type>();
                self.values[group].extend(values.iter().flatten());
            }
        }
    }

    /// The groups' values as a list per group.
    fn lists(groups: Vec<Vec<f64>>) -> ArrayRef {
        let offsets = OffsetBuffer::from_lengths(groups.iter().map(Vec::len));
        let flat: Vec<f64> = groups.into_iter().flatten().collect();
        let item = Arc::new(Field::new_list_field(DataType::Float64, true));
        Arc::new(ListArray::new(item, offsets, Arc::new(Float64Array::from(flat)), None))
    }

    /// One struct row per group: each percentile, NULL for a group without values.
    fn percentiles_of(&self, mut groups: Vec<Vec<f64>>) -> ArrayRef {
        let mut columns: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(groups.len()); self.percentiles.len()];
        let mut ranks = Vec::new();
        for values in &mut groups {
            // Only the ranks read are put in place: a selection per rank on what is left to
            // its right, instead of a whole sort.
            ranks.clear();
            ranks.extend(self.percentiles.iter().filter_map(|&p| ranks_of(values.len(), p)).flat_map(|(l, u)| [l, u]));
            ranks.sort_unstable();
            ranks.dedup();
            let mut start = 0;
            for &rank in &ranks {
                values[start..].select_nth_unstable_by(rank - start, f64::total_cmp);
                start = rank + 1;
            }
            for (column, &p) in columns.iter_mut().zip(&self.percentiles) {
                column.push(percentile_at_ranks(values, p));
            }
        }
        let arrays: Vec<ArrayRef> = columns.into_iter().map(|c| Arc::new(Float64Array::from(c)) as ArrayRef).collect();
        Arc::new(StructArray::new(self.fields.clone(), arrays, None))
    }
}

/// The two ranks (0-based, in ascending order of value) `percentile_cont(p)` reads among `len`
/// values: `p × (len − 1)` rounded down and up; `None` for no values.
fn ranks_of(len: usize, p: f64) -> Option<(usize, usize)> {
    let last = len.checked_sub(1)?;
    if last == 0 || p == 0.0 {
        return Some((0, 0));
    }
    if p == 1.0 {
        return Some((last, last));
    }
    let index = p * last as f64;
    Some((index.floor() as usize, index.ceil() as usize))
}

/// `percentile_cont` as DataFusion computes it, from `values` whose [`ranks_of`] `p` hold the
/// values of those ranks: the value at rank `p × (n − 1)`, or the two around it interpolated
/// with a weight quantised to 10⁻⁶.
fn percentile_at_ranks(values: &[f64], p: f64) -> Option<f64> {
    let (lower, upper) = ranks_of(values.len(), p)?;
    if lower == upper {
        return Some(values[lower]);
    }
    let index = p * ((values.len() - 1) as f64);
    let weight = ((index - lower as f64) * INTERPOLATION_PRECISION) as usize as f64 / INTERPOLATION_PRECISION;
    Some(values[lower] + (values[upper] - values[lower]) * weight)
}

impl GroupsAccumulator for Groups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.values.resize_with(total_num_groups, Vec::new);
        let column = values[0].as_primitive::<Float64Type>();
        for (row, &group) in group_indices.iter().enumerate() {
            let kept = opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
            if kept && column.is_valid(row) {
                self.values[group].push(column.value(row));
            }
        }
        Ok(())
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.values.resize_with(total_num_groups, Vec::new);
        self.merge(values[0].as_list::<i32>(), group_indices);
        Ok(())
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![Self::lists(emit_to.take_needed(&mut self.values))])
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = emit_to.take_needed(&mut self.values);
        Ok(self.percentiles_of(groups))
    }

    /// Each row its own group (DataFusion skipping a partial aggregation that does not reduce).
    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        let column = values[0].as_primitive::<Float64Type>();
        let rows = (0..column.len()).map(|row| {
            let kept = opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row));
            if kept && column.is_valid(row) { vec![column.value(row)] } else { Vec::new() }
        });
        Ok(vec![Self::lists(rows.collect())])
    }

    fn size(&self) -> usize {
        self.values.iter().map(|v| v.capacity() * size_of::<f64>()).sum::<usize>()
            + self.values.capacity() * size_of::<Vec<f64>>()
    }
}

/// The aggregate without GROUP BY: one group.
#[derive(Debug)]
struct OneGroup {
    values: Groups,
}

impl OneGroup {
    fn group(&mut self) -> Vec<Vec<f64>> {
        vec![self.values.values.first().cloned().unwrap_or_default()]
    }
}

impl Accumulator for OneGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = values[0].len();
        GroupsAccumulator::update_batch(&mut self.values, values, &vec![0; rows], None, 1)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let rows = states[0].len();
        GroupsAccumulator::merge_batch(&mut self.values, states, &vec![0; rows], 1)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::try_from_array(&Groups::lists(self.group()), 0)?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let group = self.group();
        ScalarValue::try_from_array(&self.values.percentiles_of(group), 0)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.values.size()
    }
}

/// The optimizer rule: two or more plain `percentile_cont(x, p)` calls of one aggregate over
/// the same `Float64` expression `x` become one [`PercentilesCont`].
#[derive(Debug, Default)]
pub struct SharePercentiles;

/// The `x` and `p` of a plain `percentile_cont(x, p)` (no DISTINCT, FILTER or WITHIN GROUP;
/// `p` a literal in 0..=1; `x` a `Float64`), named or not.
fn plain_percentile(expr: &Expr, input: &LogicalPlan) -> Option<(Expr, f64)> {
    let expr = match expr {
        Expr::Alias(alias) => alias.expr.as_ref(),
        expr => expr,
    };
    let Expr::AggregateFunction(AggregateFunction { func, params }) = expr else {
        return None;
    };
    let AggregateFunctionParams { args, distinct, filter, order_by, null_treatment } = params;
    if func.name() != "percentile_cont" || *distinct || filter.is_some() || !order_by.is_empty() {
        return None;
    }
    if null_treatment.is_some() {
        return None;
    }
    let [x, Expr::Literal(ScalarValue::Float64(Some(p)), _)] = args.as_slice() else {
        return None;
    };
    let float = x.get_type(input.schema()).ok()? == DataType::Float64;
    (float && (0.0..=1.0).contains(p)).then(|| (x.clone(), *p))
}

impl OptimizerRule for SharePercentiles {
    fn name(&self) -> &str {
        "logfusion_share_percentiles"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(&self, plan: LogicalPlan, _config: &dyn OptimizerConfig) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Aggregate(aggregate) = &plan else {
            return Ok(Transformed::no(plan));
        };
        let calls: Vec<Option<(Expr, f64)>> =
            aggregate.aggr_expr.iter().map(|e| plain_percentile(e, &aggregate.input)).collect();
        // The columns that share: the first of each x with two calls or more.
        let mut shared: Vec<Expr> = Vec::new();
        for (x, _) in calls.iter().flatten() {
            let count = calls.iter().flatten().filter(|(other, _)| other == x).count();
            if count >= 2 && !shared.contains(x) {
                shared.push(x.clone());
            }
        }
        if shared.is_empty() {
            return Ok(Transformed::no(plan));
        }
        rewrite_aggregate(aggregate, &calls, &shared).map(Transformed::yes)
    }
}

/// `aggregate` with one [`PercentilesCont`] per `shared` column instead of its calls, and a
/// projection restoring the original columns and names.
fn rewrite_aggregate(aggregate: &Aggregate, calls: &[Option<(Expr, f64)>], shared: &[Expr]) -> Result<LogicalPlan> {
    let mut aggr_expr = Vec::new();
    // For each original aggregate: where its value comes from.
    let mut sources: Vec<Expr> = Vec::new();
    let mut kept_names = Vec::new();
    for (i, (expr, call)) in aggregate.aggr_expr.iter().zip(calls).enumerate() {
        match call.as_ref().and_then(|(x, _)| shared.iter().position(|s| s == x)) {
            Some(s) => {
                let position = calls[..i].iter().flatten().filter(|(x, _)| x == &shared[s]).count() + 1;
                sources.push(get_field(Expr::Column(Column::from_name(shared_name(s))), format!("p{position}")));
            }
            None => {
                let name = format!("__logfusion_kept_{i}");
                aggr_expr.push(expr.clone().alias(&name));
                kept_names.push(name.clone());
                sources.push(Expr::Column(Column::from_name(name)));
            }
        }
    }
    for (s, x) in shared.iter().enumerate() {
        let percentiles: Vec<f64> = calls.iter().flatten().filter(|(other, _)| other == x).map(|(_, p)| *p).collect();
        let udaf = Arc::new(AggregateUDF::new_from_impl(PercentilesCont::new(&percentiles)));
        let call =
            Expr::AggregateFunction(AggregateFunction::new_udf(udaf, vec![x.clone()], false, None, vec![], None));
        aggr_expr.push(call.alias(shared_name(s)));
    }
    let new = Aggregate::try_new(aggregate.input.clone(), aggregate.group_expr.clone(), aggr_expr)?;
    let group_columns = aggregate.group_expr.len();
    let original = aggregate.schema.as_ref();
    let mut exprs = Vec::with_capacity(original.fields().len());
    // Grouping columns (and a grouping-set id) come first, unchanged.
    for (qualifier, field) in original.iter().take(original.fields().len() - aggregate.aggr_expr.len()) {
        exprs.push(Expr::Column(Column::new(qualifier.cloned(), field.name())));
    }
    if exprs.len() < group_columns {
        return plan_err!("{NAME}: the aggregate has fewer output columns than grouping expressions");
    }
    let aggregate_fields = original.iter().skip(exprs.len());
    for (source, (qualifier, field)) in sources.into_iter().zip(aggregate_fields) {
        exprs.push(source.alias_qualified(qualifier.cloned(), field.name()));
    }
    let projection = Projection::try_new(exprs, Arc::new(LogicalPlan::Aggregate(new)))?;
    Ok(LogicalPlan::Projection(projection))
}

fn shared_name(i: usize) -> String {
    format!("__logfusion_percentiles_{i}")
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    use super::*;

    async fn answers(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        pretty_format_batches(&batches).unwrap().to_string()
    }

    /// The shared aggregate answers what DataFusion's calls answer, by the same column names
    /// and types, and appears in the plan only where calls share a column.
    #[tokio::test]
    async fn shared_percentiles_answer_as_separate_calls() {
        let plain = SessionContext::new();
        let shared = SessionContext::new();
        shared.add_optimizer_rule(Arc::new(SharePercentiles));
        let setup = "CREATE TABLE t AS SELECT v % 7 AS g, CASE WHEN v % 11 = 0 THEN NULL ELSE (v * 7919 % 1000) / 7.0 END AS x, \
                     CAST(v AS DOUBLE) AS y, -0.0 * v AS z FROM generate_series(1, 5000) AS s(v)";
        for ctx in [&plain, &shared] {
            ctx.sql(setup).await.unwrap().collect().await.unwrap();
            ctx.sql("CREATE TABLE e (g BIGINT, x DOUBLE)").await.unwrap().collect().await.unwrap();
        }
        let queries = [
            "SELECT g, count(*), percentile_cont(x, 0.5), percentile_cont(x, 0.95), percentile_cont(x, 0.99) AS p99, \
             max(y), percentile_cont(y, 0.3), percentile_cont(x, 0.0), percentile_cont(x, 1.0) FROM t GROUP BY g ORDER BY g",
            "SELECT percentile_cont(x, 0.25), percentile_cont(x, 0.75), percentile_cont(z, 0.5), percentile_cont(z, 0.1) FROM t",
            "SELECT percentile_cont(x, 0.25), percentile_cont(x, 0.75) FROM t WHERE g = 3 AND x < 10",
            "SELECT percentile_cont(x, 0.5), percentile_cont(x, 0.9) FROM e",
            "SELECT g, percentile_cont(x, 0.5), percentile_cont(x, 0.9) FROM e GROUP BY g",
            "SELECT g % 2 AS h, percentile_cont(x + 1, 0.5), percentile_cont(x + 1, 0.123456789) FROM t GROUP BY h ORDER BY h",
        ];
        for sql in queries {
            assert_eq!(answers(&shared, sql).await, answers(&plain, sql).await, "{sql}");
            let plan = answers(&shared, &format!("EXPLAIN {sql}")).await;
            assert!(plan.contains(NAME), "{sql}: the calls share\n{plan}");
        }
        let single = "SELECT g, percentile_cont(x, 0.5), percentile_cont(y, 0.5) FROM t GROUP BY g ORDER BY g";
        assert!(!answers(&shared, &format!("EXPLAIN {single}")).await.contains(NAME), "one call per column");
        assert_eq!(answers(&shared, single).await, answers(&plain, single).await);
        let schema = |ctx: &SessionContext| {
            let ctx = ctx.clone();
            async move { ctx.sql(queries[0]).await.unwrap().schema().as_arrow().clone() }
        };
        assert_eq!(schema(&shared).await, schema(&plain).await, "names and types unchanged");
    }

    #[test]
    fn interpolation_follows_datafusion() {
        assert_eq!(percentile_at_ranks(&[], 0.5), None);
        assert_eq!(percentile_at_ranks(&[4.0], 0.3), Some(4.0));
        assert_eq!(percentile_at_ranks(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        assert_eq!(percentile_at_ranks(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
        assert_eq!(percentile_at_ranks(&[1.0, 2.0], 1.0 / 3.0), Some(1.333333));
    }
}
