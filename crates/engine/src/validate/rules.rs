//! Field rules: SQL conditions every row of a table should meet. A row breaks a rule when its
//! condition is not true (false or NULL). Built-in rules come per format
//! ([`default_rules`]); `rules:` in config.yaml adds rules per table (or replaces a built-in
//! one of the same name).

use std::collections::BTreeMap;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{DataType, Int64Type, UInt64Type};
use logfusion_datasource::LINE_COLUMN;
use logfusion_formats::FormatKind;
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::session::Session;

/// A field rule broken by some rows of a file.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RuleCount {
    /// Rows breaking it.
    pub count: u64,
    /// First line breaking it.
    pub first_line: u64,
}

/// The rules every table of a format is checked against: for access logs, a status in
/// 100–599 and a client address that is an IP address.
pub fn default_rules(kind: FormatKind) -> BTreeMap<String, String> {
    let rules: &[(&str, &str)] = match kind {
        FormatKind::Access => {
            &[("status_100_599", "status BETWEEN 100 AND 599"), ("client_ip_valid", "is_ip(client_ip)")]
        }
        _ => &[],
    };
    rules.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Counts, per file of `table`, the rows breaking each rule and the first such line. One scan
/// for all rules of the table; a rule that does not plan (unknown column, not a condition) is
/// an error naming it.
pub async fn check(
    session: &Session,
    table: &str,
    rules: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, BTreeMap<String, RuleCount>>> {
    let mut flags = Vec::new();
    let mut aggregates = Vec::new();
    for (i, (name, condition)) in rules.iter().enumerate() {
        probe(session, table, name, condition).await?;
        flags.push(format!("NOT coalesce(({condition}), false) AS broken_{i}"));
        aggregates.push(format!("sum(CAST(broken_{i} AS BIGINT)), min(CASE WHEN broken_{i} THEN {LINE_COLUMN} END)"));
    }
    let sql = format!(
        "SELECT _file, {} FROM (SELECT _file, {LINE_COLUMN}, {} FROM \"{table}\") GROUP BY _file",
        aggregates.join(", "),
        flags.join(", ")
    );
    let mut out: BTreeMap<String, BTreeMap<String, RuleCount>> = BTreeMap::new();
    for batch in session.ctx.sql(&sql).await?.collect().await? {
        let files = batch.column(0).as_string::<i32>();
        for (i, name) in rules.keys().enumerate() {
            let counts = batch.column(1 + 2 * i).as_primitive::<Int64Type>();
            let firsts = batch.column(2 + 2 * i).as_primitive::<UInt64Type>();
            for row in 0..batch.num_rows() {
                // sum() over rows that all keep the rule is 0 (and NULL reads as 0).
                let count = u64::try_from(counts.value(row)).unwrap_or(0);
                if count > 0 {
                    let rule = RuleCount { count, first_line: firsts.value(row) };
                    out.entry(files.value(row).to_string()).or_default().insert(name.clone(), rule);
                }
            }
        }
    }
    Ok(out)
}

/// Plans `condition` over `table` without running it: an error unless it is a condition.
async fn probe(session: &Session, table: &str, rule: &str, condition: &str) -> Result<()> {
    let error = |message: String| EngineError::Rule {
        table: table.to_string(),
        rule: rule.to_string(),
        condition: condition.to_string(),
        message,
    };
    let planned = async {
        let df = session.ctx.sql(&format!("SELECT ({condition}) FROM \"{table}\" LIMIT 0")).await?;
        let boolean = df.schema().field(0).data_type() == &DataType::Boolean;
        df.create_physical_plan().await?;
        Ok::<_, datafusion::error::DataFusionError>(boolean)
    };
    match planned.await {
        Ok(true) => Ok(()),
        Ok(false) => Err(error("is not a condition".into())),
        Err(e) => Err(error(crate::error::one_line(&e))),
    }
}
