//! A suite of queries: `.sql` files read in name order, parameters `${name}` substituted, each
//! file split into statements by DataFusion's own SQL tokenizer (so a `;` inside a string or
//! a comment is not a split), and each statement named after its file (`name`, `name_2`, ...).
//! Statements reading tables that do not exist can be set aside, so a suite about access logs
//! and syslog runs on a folder holding only one of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{EngineError, Result};

/// One statement of a suite, parameters substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Name in reports and result files: the file stem, then `_2`, `_3`… for the later
    /// statements of the same file.
    pub name: String,
    /// The query file's stem.
    pub query: String,
    /// Index of the statement in its file (0-based).
    pub index: usize,
    /// The query file.
    pub path: PathBuf,
    /// What the query answers: the file's leading `--` comment lines.
    pub description: String,
    /// The SQL.
    pub sql: String,
}

/// A statement set aside because tables it reads are not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The statement.
    pub statement: Statement,
    /// The missing tables.
    pub missing: Vec<String>,
}

/// The statements of a suite, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suite {
    /// Every statement.
    pub statements: Vec<Statement>,
}

impl Suite {
    /// Loads `path` (one `.sql` file, or every `.sql` file of a folder in name order) with
    /// `params` substituted.
    pub fn load(path: &Path, params: &BTreeMap<String, String>) -> Result<Suite> {
        let read_err =
            |p: &Path, e: std::io::Error| EngineError::Read { path: p.to_path_buf(), message: e.to_string() };
        let files = if path.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| read_err(path, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .collect();
            v.sort();
            v
        } else if path.is_file() {
            vec![path.to_path_buf()]
        } else {
            return Err(EngineError::Read { path: path.into(), message: "no such query file or folder".into() });
        };
        if files.is_empty() {
            return Err(EngineError::Read { path: path.into(), message: "no .sql files".into() });
        }
        let mut suite = Suite::default();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| read_err(&file, e))?;
            let query = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            suite.push_file(&query, &file, &text, params)?;
        }
        Ok(suite)
    }

    /// A suite of the statements in `sql` (named `query`), for callers without files.
    pub fn from_sql(query: &str, sql: &str, params: &BTreeMap<String, String>) -> Result<Suite> {
        let mut suite = Suite::default();
        suite.push_file(query, Path::new(query), sql, params)?;
        Ok(suite)
    }

    fn push_file(&mut self, query: &str, path: &Path, text: &str, params: &BTreeMap<String, String>) -> Result<()> {
        let description = text
            .lines()
            .take_while(|l| l.trim_start().starts_with("--"))
            .map(|l| l.trim_start().trim_start_matches('-').trim())
            .collect::<Vec<_>>()
            .join(" ");
        let sql = substitute(text, params).map_err(|error| EngineError::Param { file: path.into(), error })?;
        for (index, sql) in split_statements(&sql).into_iter().enumerate() {
            let name = if index == 0 { query.to_string() } else { format!("{query}_{}", index + 1) };
            self.statements.push(Statement {
                name,
                query: query.to_string(),
                index,
                path: path.to_path_buf(),
                description: description.clone(),
                sql,
            });
        }
        Ok(())
    }

    /// The statements that can run in `ctx`, and those reading tables it lacks (neither in
    /// `ctx` nor created by an earlier statement that can run).
    pub fn partition(&self, ctx: &SessionContext) -> Result<(Vec<Statement>, Vec<Skipped>)> {
        let mut runnable = Vec::new();
        let mut skipped = Vec::new();
        let mut created: Vec<String> = Vec::new();
        for statement in &self.statements {
            let error = |e| EngineError::Statement { file: statement.path.clone(), source: Box::new(e) };
            let creates = created_table(ctx, &statement.sql).map_err(error)?;
            let mut missing = missing_tables(ctx, &statement.sql).map_err(error)?;
            missing.retain(|name| !created.contains(name) && Some(name) != creates.as_ref());
            if missing.is_empty() {
                created.extend(creates);
                runnable.push(statement.clone());
            } else {
                skipped.push(Skipped { statement: statement.clone(), missing });
            }
        }
        Ok((runnable, skipped))
    }
}

/// Splits SQL text into statements at `;` tokens (never inside quotes or comments); drops
/// statements that are only whitespace and comments. Text the tokenizer cannot read (an
/// unclosed quote) stays one statement, for the planner to report.
pub fn split_statements(sql: &str) -> Vec<String> {
    let dialect = GenericDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize_with_location() else {
        return if sql.trim().is_empty() { Vec::new() } else { vec![sql.trim().to_string()] };
    };
    let line_starts: Vec<usize> = std::iter::once(0).chain(sql.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let byte_at = |line: u64, column: u64| -> usize {
        let start = line_starts.get(line.saturating_sub(1) as usize).copied().unwrap_or(sql.len());
        let rest = &sql[start..];
        rest.char_indices().nth(column.saturating_sub(1) as usize).map_or(sql.len(), |(i, _)| start + i)
    };
    let mut out = Vec::new();
    let mut from = 0;
    let mut has_code = false;
    for t in &tokens {
        match &t.token {
            Token::SemiColon => {
                let at = byte_at(t.span.start.line, t.span.start.column);
                if has_code {
                    out.push(sql[from..at].trim().to_string());
                }
                from = at + 1;
                has_code = false;
            }
            Token::Whitespace(_) | Token::EOF => {}
            _ => has_code = true,
        }
    }
    if has_code {
        out.push(sql[from..].trim().to_string());
    }
    out
}

/// A query parameter that cannot be substituted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// `${` without its `}`.
    #[error("unclosed ${{ in query")]
    Unclosed,
    /// `${name}` with no value.
    #[error("parameter ${{{name}}} has no value (pass --param {name}=VALUE or set params in config)")]
    Missing {
        /// The parameter.
        name: String,
    },
}

/// Replaces `${name}` with `params[name]`; an unknown name is an error naming it.
pub fn substitute(sql: &str, params: &BTreeMap<String, String>) -> std::result::Result<String, ParamError> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or(ParamError::Unclosed)?;
        let name = &after[..end];
        let value = params.get(name).ok_or_else(|| ParamError::Missing { name: name.to_string() })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Tables `sql` reads that are not registered in `ctx` (file paths used as tables are not
/// counted).
pub fn missing_tables(ctx: &SessionContext, sql: &str) -> Result<Vec<String>> {
    let state = ctx.state();
    let dialect = state.config().options().sql_parser.dialect;
    let statement = state.sql_to_statement(sql, &dialect)?;
    let mut missing = Vec::new();
    for table in state.resolve_table_references(&statement)? {
        let name = table.table();
        if name.contains('/') || name.contains('.') {
            continue;
        }
        if !ctx.table_exist(table.clone())? {
            missing.push(table.to_string());
        }
    }
    Ok(missing)
}

/// The table or view `sql` creates (`CREATE [OR REPLACE] VIEW|TABLE name ...`), as a table
/// reference of [`missing_tables`] names it.
fn created_table(ctx: &SessionContext, sql: &str) -> Result<Option<String>> {
    use datafusion::sql::parser::Statement as Parsed;
    use datafusion::sql::sqlparser::ast::Statement as Sql;
    let state = ctx.state();
    let dialect = state.config().options().sql_parser.dialect;
    let name = match state.sql_to_statement(sql, &dialect)? {
        Parsed::Statement(statement) => match *statement {
            Sql::CreateView(view) => view.name,
            Sql::CreateTable(table) => table.name,
            _ => return Ok(None),
        },
        Parsed::CreateExternalTable(table) => table.name,
        _ => return Ok(None),
    };
    let Some(ident) = name.0.last().and_then(|part| part.as_ident()) else { return Ok(None) };
    let normalize = state.config().options().sql_parser.enable_ident_normalization && ident.quote_style.is_none();
    Ok(Some(if normalize { ident.value.to_lowercase() } else { ident.value.clone() }))
}

/// `NAME=VALUE` arguments as parameters over the defaults `base`.
pub fn params_with(
    base: BTreeMap<String, String>,
    args: &[String],
) -> std::result::Result<BTreeMap<String, String>, EngineError> {
    let mut params = base;
    for p in args {
        match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => params.insert(k.to_string(), v.to_string()),
            _ => {
                return Err(EngineError::Argument {
                    name: format!("--param {p:?}"),
                    message: "expected NAME=VALUE".into(),
                });
            }
        };
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_outside_quotes_and_comments() {
        let sql = "-- count; things\nSELECT ';' AS a; /* x; y */ SELECT 2;\n-- trailing comment only\n";
        assert_eq!(split_statements(sql), ["-- count; things\nSELECT ';' AS a", "/* x; y */ SELECT 2"]);
        assert_eq!(split_statements("SELECT 'é;ü'; SELECT \"a;b\" FROM t"), ["SELECT 'é;ü'", "SELECT \"a;b\" FROM t"]);
        assert_eq!(split_statements("SELECT 'unclosed; x"), ["SELECT 'unclosed; x"]);
        assert!(split_statements("  -- nothing\n").is_empty());
    }

    #[test]
    fn parameters_are_substituted_or_named() {
        let params = BTreeMap::from([("since".to_string(), "2026-10-01".to_string())]);
        assert_eq!(substitute("ts >= '${since}'", &params).unwrap(), "ts >= '2026-10-01'");
        assert!(substitute("${until}", &params).unwrap_err().to_string().contains("${until}"));
        assert_eq!(substitute("${open", &params), Err(ParamError::Unclosed));
    }

    #[test]
    fn statements_are_named_after_their_file() {
        let suite = Suite::from_sql("q", "-- what\nSELECT 1; SELECT 2;\nSELECT 3", &BTreeMap::new()).unwrap();
        let names: Vec<_> = suite.statements.iter().map(|s| (s.name.as_str(), s.index)).collect();
        assert_eq!(names, [("q", 0), ("q_2", 1), ("q_3", 2)]);
        assert_eq!(suite.statements[1].description, "what");
    }

    #[test]
    fn views_created_by_earlier_statements_count_as_there() {
        let sql = "CREATE VIEW Slow AS SELECT * FROM t; SELECT * FROM slow; CREATE TABLE \"Kept\" AS SELECT 1; \
                   SELECT * FROM \"Kept\"; SELECT * FROM kept; SELECT * FROM nowhere; CREATE VIEW v AS SELECT * FROM gone; \
                   SELECT * FROM v";
        let suite = Suite::from_sql("q", sql, &BTreeMap::new()).unwrap();
        let ctx = SessionContext::new();
        ctx.register_batch(
            "t",
            datafusion::arrow::array::RecordBatch::new_empty(std::sync::Arc::new(
                datafusion::arrow::datatypes::Schema::empty(),
            )),
        )
        .unwrap();
        let (runnable, skipped) = suite.partition(&ctx).unwrap();
        let names = |s: Vec<&Statement>| s.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(runnable.iter().collect()), ["q", "q_2", "q_3", "q_4"]);
        assert_eq!(names(skipped.iter().map(|s| &s.statement).collect()), ["q_5", "q_6", "q_7", "q_8"]);
    }
}
