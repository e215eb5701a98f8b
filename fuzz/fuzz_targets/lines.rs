//! Fuzzes decompression and line splitting: any bytes (plain or, if they start with a magic
//! number, compressed), any block size and line limit. Lines come out in order, each offset
//! after the previous line, a line handed out as text is valid UTF-8, and reading ends with
//! lines or an error, never a panic.
#![no_main]

use std::io::Cursor;

use logfusion_lines::{Line, LineReader, decompressing_reader};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (settings, bytes) = data.split_at(data.len().min(2));
    let block = 1 + usize::from(settings.first().copied().unwrap_or(0));
    let max_line = 1 + 4 * usize::from(settings.get(1).copied().unwrap_or(255));
    let skip = block % 2 == 0;
    let Ok((_, reader)) = decompressing_reader(Cursor::new(bytes.to_vec())) else { return };
    let mut lines = LineReader::new(reader, 0, block, max_line, skip);
    let mut next_start = 0u64;
    while let Ok(Some(line)) = lines.next_line() {
        assert!(line.offset() >= next_start, "lines in order");
        if let Line::Complete { bytes, text, .. } = &line {
            assert!(bytes.len() <= max_line + 1 && !bytes.contains(&b'\n'));
            // A line handed out as text (validated in bulk) is exactly its bytes, and UTF-8.
            if let Some(text) = text {
                assert_eq!(text.as_bytes(), *bytes);
                assert!(std::str::from_utf8(bytes).is_ok());
            }
        }
        next_start = line.offset() + line.byte_len() + u64::from(line.terminated());
    }
});
