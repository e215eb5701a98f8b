//! A guard against statements nested so deep that planning them would overflow a stack.
//!
//! DataFusion clones, evaluates and drops expression trees recursively. A chain of a few
//! thousand `OR`s or `+`s is a tree that deep, and a thread that runs out of stack aborts the
//! whole process — for a server, any client could do that. So every statement is first parsed
//! and measured on a thread of its own with a large stack (where even the deepest statement
//! parses, is measured and is dropped safely), and refused when it nests deeper than
//! [`MAX_NESTING`].

use std::ops::ControlFlow;

use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::{Expr, Query, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::{GenericDialect, dialect_from_str};

use crate::error::{EngineError, Result};

/// How deep expressions and subqueries may nest (a chain `a OR b OR c …` is as deep as it
/// is long). DataFusion plans this comfortably within [`crate::THREAD_STACK_BYTES`].
pub const MAX_NESTING: usize = 1000;

/// The stack of the thread that parses and measures a statement: enough for the deepest
/// statement of a few MiB of SQL. Only the pages it touches cost memory.
const CHECK_STACK_BYTES: usize = 512 << 20;

/// Runs `f` on a thread with a stack of 512 MiB and waits for it (a panic in `f` goes on
/// in the caller).
pub fn on_large_stack<T: Send>(f: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("logfusion-sql-check".into())
            .stack_size(CHECK_STACK_BYTES)
            .spawn_scoped(scope, f)?;
        Ok(thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// Whether `statement` nests expressions or subqueries deeper than [`MAX_NESTING`]. Call it
/// on a large stack ([`on_large_stack`]): it walks the tree recursively.
pub fn too_deep(statement: &DfStatement) -> bool {
    struct Depth(usize);
    impl Depth {
        fn enter(&mut self) -> ControlFlow<()> {
            self.0 += 1;
            if self.0 > MAX_NESTING { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        }
        fn leave(&mut self) -> ControlFlow<()> {
            self.0 -= 1;
            ControlFlow::Continue(())
        }
    }
    impl Visitor for Depth {
        type Break = ();
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.enter()
        }
        fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.leave()
        }
        fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.enter()
        }
        fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.leave()
        }
    }
    match statement {
        DfStatement::Statement(s) => s.visit(&mut Depth(0)).is_break(),
        DfStatement::Explain(explain) => too_deep(&explain.statement),
        DfStatement::CreateExternalTable(_) | DfStatement::CopyTo(_) | DfStatement::Reset(_) => false,
    }
}

/// Refuses `sql` (in `dialect`, DataFusion's `sql_parser.dialect`) when one of its
/// statements nests deeper than [`MAX_NESTING`]. SQL that does not parse passes: planning
/// reports the syntax error in DataFusion's words.
pub fn check_nesting(sql: &str, dialect: &str) -> Result<()> {
    let deep = on_large_stack(|| {
        let dialect = dialect_from_str(dialect).unwrap_or_else(|| Box::new(GenericDialect {}));
        DFParser::parse_sql_with_dialect(sql, dialect.as_ref()).is_ok_and(|statements| statements.iter().any(too_deep))
    })
    .map_err(EngineError::Runtime)?;
    if deep { Err(EngineError::TooDeep { max: MAX_NESTING }) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> String {
        format!("SELECT 1 WHERE {}", vec!["1 = 1"; n].join(" OR "))
    }

    #[test]
    fn deep_statements_are_refused_before_they_reach_datafusion() {
        assert!(check_nesting(&chain(MAX_NESTING / 2), "generic").is_ok());
        assert!(matches!(check_nesting(&chain(MAX_NESTING + 10), "generic"), Err(EngineError::TooDeep { .. })));
        // Deep enough to overflow any default stack, checked without harm.
        assert!(check_nesting(&format!("SELECT {}1", "1 + ".repeat(500_000)), "generic").is_err());
        assert!(check_nesting("SELEC nonsense", "generic").is_ok(), "syntax errors are the planner's to report");
        let subqueries = format!("SELECT {}1{}", "(SELECT ".repeat(5), ")".repeat(5));
        assert!(check_nesting(&subqueries, "generic").is_ok());
    }
}
