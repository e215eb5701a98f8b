//! What SQL a caller may run, decided before anything is planned: one statement; a query,
//! `EXPLAIN` or `SHOW` only (no DDL, DML, `COPY`, `SET`, `CREATE EXTERNAL TABLE`, prepared
//! statements or transactions); expressions and subqueries nested at most
//! [`MAX_NESTING`] deep; and every table it reads must be a configured source the caller may
//! read (or `information_schema`, which only lists those). A path or URL in `FROM '…'` is
//! never a configured source, so it is refused too.
//!
//! The nesting limit is what keeps a hostile statement from killing the server: DataFusion
//! clones and drops expression trees recursively, and a chain of a few thousand `+` or `OR`
//! overflows a thread's stack, which aborts the process. The statement is parsed, measured
//! and dropped on a thread of its own with a large stack, so the check itself survives any
//! statement the request size admits.

use std::collections::BTreeSet;

use datafusion::execution::context::SessionState;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use logfusion_datasource::TableKind;

use crate::auth::Principal;
pub use logfusion_engine::nesting::MAX_NESTING;

/// Why a statement is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not SQL DataFusion can parse.
    #[error("{0}")]
    Syntax(String),
    /// Not exactly one statement.
    #[error("send exactly one statement (got {0})")]
    NotOne(usize),
    /// A statement other than a query, `EXPLAIN` or `SHOW`.
    #[error("only SELECT, EXPLAIN and SHOW are allowed (this server is read-only): {0}")]
    NotReadOnly(String),
    /// A table that is not a configured source (a path, a URL, a typo).
    #[error("table {0:?} is not one of the configured sources")]
    UnknownTable(String),
    /// A configured source the caller may not read.
    #[error("table {0:?} is not allowed for this token")]
    Forbidden(String),
    /// Expressions or subqueries nested deeper than [`MAX_NESTING`].
    #[error(
        "the statement nests expressions or subqueries more than {MAX_NESTING} deep (a long chain of OR or +?); use IN (...) or split it"
    )]
    TooDeep,
}

/// The configured log tables, by the names queries use.
#[derive(Debug, Clone, Default)]
pub struct TableNames {
    /// Every registered name (`access`, `access_rejects`, `access_profile`, …) and its source.
    names: Vec<(String, String)>,
}

impl TableNames {
    /// The names of the log tables `sources` (with their rejects and profile tables).
    pub fn new<'a>(sources: impl IntoIterator<Item = &'a str>) -> TableNames {
        let mut names = Vec::new();
        for source in sources {
            for kind in TableKind::ALL {
                names.push((kind.table_name(source), source.to_string()));
            }
        }
        TableNames { names }
    }

    /// The source a registered name belongs to.
    pub fn source_of(&self, table: &str) -> Option<&str> {
        self.names.iter().find(|(n, _)| n == table).map(|(_, s)| s.as_str())
    }

    /// The registered names of the sources `principal` may read.
    pub fn readable_by<'a>(&'a self, principal: &'a Principal) -> impl Iterator<Item = &'a str> + 'a {
        self.names.iter().filter(|(_, s)| principal.may_read(s)).map(|(n, _)| n.as_str())
    }
}

/// Checks `sql` for `principal`: `Ok` with the tables it reads, or why it is refused.
pub fn check(
    state: &SessionState,
    sql: &str,
    principal: &Principal,
    tables: &TableNames,
) -> Result<BTreeSet<String>, Refusal> {
    logfusion_engine::nesting::on_large_stack(|| check_here(state, sql, principal, tables))
        .unwrap_or_else(|e| Err(Refusal::Syntax(format!("cannot start the check of the statement: {e}"))))
}

fn check_here(
    state: &SessionState,
    sql: &str,
    principal: &Principal,
    tables: &TableNames,
) -> Result<BTreeSet<String>, Refusal> {
    let dialect = state.config().options().sql_parser.dialect;
    let statements = datafusion::sql::parser::DFParser::parse_sql_with_dialect(
        sql,
        datafusion::sql::sqlparser::dialect::dialect_from_str(dialect)
            .unwrap_or_else(|| Box::new(datafusion::sql::sqlparser::dialect::GenericDialect {}))
            .as_ref(),
    )
    .map_err(|e| Refusal::Syntax(e.to_string()))?;
    if statements.len() != 1 {
        return Err(Refusal::NotOne(statements.len()));
    }
    let statement = &statements[0];
    read_only(statement)?;
    if logfusion_engine::nesting::too_deep(statement) {
        return Err(Refusal::TooDeep);
    }
    let references = state.resolve_table_references(statement).map_err(|e| Refusal::Syntax(e.to_string()))?;
    let mut read = BTreeSet::new();
    for reference in references {
        let table = reference.table();
        if reference.schema() == Some("information_schema") {
            continue;
        }
        if reference.schema().is_some_and(|s| s != "public") || reference.catalog().is_some_and(|c| c != "datafusion") {
            return Err(Refusal::UnknownTable(reference.to_string()));
        }
        match tables.source_of(table) {
            None => return Err(Refusal::UnknownTable(table.to_string())),
            Some(source) if !principal.may_read(source) => return Err(Refusal::Forbidden(table.to_string())),
            Some(_) => {
                read.insert(table.to_string());
            }
        }
    }
    Ok(read)
}

/// Refuses anything but a query, `EXPLAIN` of one, `DESCRIBE` and `SHOW`.
fn read_only(statement: &DfStatement) -> Result<(), Refusal> {
    let refuse = |what: &str| Err(Refusal::NotReadOnly(what.to_string()));
    match statement {
        DfStatement::Statement(s) => match s.as_ref() {
            SqlStatement::Query(_)
            | SqlStatement::ShowTables { .. }
            | SqlStatement::ShowColumns { .. }
            | SqlStatement::ShowFunctions { .. }
            | SqlStatement::ShowVariable { .. }
            | SqlStatement::ExplainTable { .. } => Ok(()),
            SqlStatement::Explain { statement, analyze: _, .. } => match statement.as_ref() {
                SqlStatement::Query(_) => Ok(()),
                other => refuse(&first_words(&other.to_string())),
            },
            other => refuse(&first_words(&other.to_string())),
        },
        DfStatement::Explain(explain) => read_only(&explain.statement),
        DfStatement::CreateExternalTable(_) => refuse("CREATE EXTERNAL TABLE"),
        DfStatement::CopyTo(_) => refuse("COPY"),
        DfStatement::Reset(_) => refuse("RESET"),
    }
}

/// The first words of a statement's SQL, to name it in a refusal without echoing it all.
fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;
    use logfusion_engine::Role;

    fn principal(sources: Option<&[&str]>) -> Principal {
        Principal {
            name: "t".into(),
            role: Role::Read,
            sources: sources.map(|s| s.iter().map(|x| x.to_string()).collect()),
        }
    }

    #[test]
    fn only_reads_of_allowed_sources_pass() {
        let state = SessionContext::new().state();
        let tables = TableNames::new(["access", "syslog"]);
        let all = principal(None);
        let access_only = principal(Some(&["access"]));
        let ok = |sql: &str, p: &Principal| check(&state, sql, p, &tables);
        assert_eq!(ok("SELECT count(*) FROM access", &all).unwrap(), ["access".to_string()].into());
        assert!(ok("SELECT * FROM access_rejects JOIN syslog ON true", &all).is_ok());
        assert!(ok("EXPLAIN SELECT 1", &all).is_ok());
        assert!(ok("SHOW TABLES", &all).is_ok());
        assert!(ok("SELECT * FROM information_schema.tables", &access_only).is_ok());
        assert_eq!(ok("SELECT * FROM syslog", &access_only), Err(Refusal::Forbidden("syslog".into())));
        assert_eq!(ok("SELECT * FROM syslog_rejects", &access_only), Err(Refusal::Forbidden("syslog_rejects".into())));
        assert!(matches!(ok("SELECT * FROM '/etc/passwd'", &all), Err(Refusal::UnknownTable(_))));
        assert!(matches!(ok("SELECT * FROM 's3://bucket/x.parquet'", &all), Err(Refusal::UnknownTable(_))));
        for sql in [
            "CREATE TABLE t AS SELECT 1",
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
            "INSERT INTO access VALUES (1)",
            "COPY access TO '/tmp/x.csv'",
            "SET datafusion.execution.batch_size = 1",
            "DROP TABLE access",
            "EXPLAIN COPY access TO '/tmp/x'",
            "PREPARE p AS SELECT 1",
        ] {
            assert!(matches!(ok(sql, &all), Err(Refusal::NotReadOnly(_))), "{sql}: {:?}", ok(sql, &all));
        }
        assert_eq!(ok("SELECT 1; SELECT 2", &all), Err(Refusal::NotOne(2)));
        assert!(matches!(ok("SELEC 1", &all), Err(Refusal::Syntax(_))));
        let chain = |n: usize| format!("SELECT count(*) FROM access WHERE {}", vec!["status = 1"; n].join(" OR "));
        assert!(ok(&chain(MAX_NESTING / 2), &all).is_ok());
        assert_eq!(ok(&chain(MAX_NESTING * 200), &all), Err(Refusal::TooDeep));
        let subqueries = |n: usize| format!("SELECT {}1{}", "(SELECT ".repeat(n), ")".repeat(n));
        assert!(ok(&subqueries(5), &all).is_ok());
    }
}
