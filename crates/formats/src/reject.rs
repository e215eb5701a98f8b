//! Why a line did not become a row: stable reason codes plus a human detail.

use std::fmt;

/// A stable, machine-readable reason why a line was rejected.
///
/// The string codes (see [`RejectReason::code`]) are part of logfusion's interface: they show
/// up in `<source>_rejects` tables and must not change once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// The line had no bytes (after removing the line terminator).
    EmptyLine,
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line is longer than `max_line_bytes`.
    LineTooLong,
    /// The line does not have the structure of the format (missing quote, bracket, field).
    BadSyntax,
    /// A timestamp field could not be parsed.
    BadTimestamp,
    /// A field could not be converted to its column type (e.g. a non-numeric status).
    BadField,
    /// The line is not a JSON object.
    BadJson,
    /// A user-defined regex did not match the line.
    RegexMismatch,
    /// Reading the file broke off (truncated or corrupt data, a file that vanished or changed
    /// under the scan). Not a line: recorded once where reading stopped.
    ReadError,
    /// A directive line of the format (W3C `#Fields:`, `#Date:`), not a record: counted like
    /// a reject so that lines add up, never an error in `validate`.
    Directive,
}

impl RejectReason {
    /// Every reason, in a stable order.
    pub const ALL: [RejectReason; 10] = [
        RejectReason::EmptyLine,
        RejectReason::InvalidUtf8,
        RejectReason::LineTooLong,
        RejectReason::BadSyntax,
        RejectReason::BadTimestamp,
        RejectReason::BadField,
        RejectReason::BadJson,
        RejectReason::RegexMismatch,
        RejectReason::ReadError,
        RejectReason::Directive,
    ];

    /// The stable snake_case code of this reason.
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::EmptyLine => "empty_line",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::LineTooLong => "line_too_long",
            RejectReason::BadSyntax => "bad_syntax",
            RejectReason::BadTimestamp => "bad_timestamp",
            RejectReason::BadField => "bad_field",
            RejectReason::BadJson => "bad_json",
            RejectReason::RegexMismatch => "regex_mismatch",
            RejectReason::ReadError => "read_error",
            RejectReason::Directive => "directive",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A rejected line: the reason code and a short human explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The stable reason code.
    pub reason: RejectReason,
    /// What exactly was wrong, e.g. `status "2x0" is not a number`.
    pub detail: String,
}

impl Reject {
    /// A reject with the given reason and detail.
    pub fn new(reason: RejectReason, detail: impl Into<String>) -> Self {
        Reject { reason, detail: detail.into() }
    }
}

/// Shorthand for a `BadSyntax` reject.
pub fn syntax(detail: impl Into<String>) -> Reject {
    Reject::new(RejectReason::BadSyntax, detail)
}
