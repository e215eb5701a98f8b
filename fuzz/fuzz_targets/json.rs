//! Fuzzes the json parser.
#![no_main]

mod parse;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    parse::parse_any(logfusion_formats::FormatSpec::parse_name("json").expect("built-in format"), data);
});
