//! Fuzzes the logfmt parser.
#![no_main]

mod parse;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    parse::parse_any(logfusion_formats::FormatSpec::parse_name("logfmt").expect("built-in format"), data);
});
