//! What every parser target checks: any bytes, as a line of the format, give a row with one
//! value in every column or a reject, and never a panic.

use logfusion_formats::{BatchBuilder, FileContext, FormatSpec, ResolvedFormat, TimeRules, prepare_line};

/// Parses `data` as one line of `spec` (columns inferred from the line itself, for the
/// inferring formats) with every column built.
pub fn parse_any(spec: FormatSpec, data: &[u8]) {
    let Ok(line) = prepare_line(data) else { return };
    let Ok(format) = ResolvedFormat::resolve(spec, TimeRules::default(), &[line]) else { return };
    let all: Vec<usize> = (0..format.columns().len()).collect();
    let mut out = BatchBuilder::new(format.columns(), &all, 2);
    let context = FileContext { modified_micros: Some(1_790_000_000_000_000), last_line: Some(line.to_string()) };
    let mut parser = format.parser(&context);
    if parser.parse(line, &mut out).is_ok() {
        out.commit_row();
        assert!(out.finish().iter().all(|a| a.len() == 1), "a row with a value in every column");
    }
}
