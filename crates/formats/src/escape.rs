//! Escaping of untrusted log text for display: control bytes and invalid UTF-8 become visible
//! escapes, so log content can never drive a terminal.

use std::fmt::Write;

/// Escapes `bytes` for display and caps the result at about `max_bytes` input bytes.
///
/// Printable ASCII and printable non-ASCII characters are kept; `\` becomes `\\`; tab, CR and LF
/// become `\t`, `\r`, `\n`; every other control character (C0, DEL, C1, bidi overrides) and
/// every byte of invalid UTF-8 becomes `\xHH` or `\u{HHHH}`. When input is cut, `…` is appended.
pub fn escape_excerpt(bytes: &[u8], max_bytes: usize) -> String {
    let cut = bytes.len() > max_bytes;
    let bytes = &bytes[..bytes.len().min(max_bytes)];
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    if cut {
        out.push('…');
    }
    out
}

/// [`escape_excerpt`] in double quotes, with `"` escaped too: for naming a bad value inside an
/// error message. (Formatting an escaped excerpt with `{:?}` would escape its backslashes twice.)
pub fn quote_excerpt(bytes: &[u8], max_bytes: usize) -> String {
    format!("\"{}\"", escape_excerpt(bytes, max_bytes).replace('"', "\\\""))
}

/// Escapes a string (e.g. a file name) with the same rules as [`escape_excerpt`], uncapped.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_char(&mut out, c);
    }
    out
}

/// Escapes what can drive a terminal in text that is already escaped (a reject's detail, which
/// quotes log bytes through [`quote_excerpt`]): control and format characters as in
/// [`escape_text`], but `\\` kept, so that an escape such as `\x1B` shows once, not as `\\x1B`.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push(c),
            c => push_char(&mut out, c),
        }
    }
    out
}

fn push_char(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        c if (c as u32) < 0x20 || c == '\u{7f}' => {
            let _ = write!(out, "\\x{:02X}", c as u32);
        }
        c if is_dangerous(c) => {
            let _ = write!(out, "\\u{{{:04X}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// C1 controls and Unicode format characters that can reorder or hide text.
fn is_dangerous(c: char) -> bool {
    matches!(c as u32,
        0x80..=0x9F | 0x200B..=0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0xFEFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_sequences_and_invalid_utf8() {
        let s = escape_excerpt(b"ok \x1b[31mred\x07 \xff\xfe caf\xc3\xa9 \\", 100);
        assert_eq!(s, "ok \\x1B[31mred\\x07 \\xFF\\xFE café \\\\");
    }

    #[test]
    fn quotes_once() {
        assert_eq!(quote_excerpt(b"0.5\x1b[31m", 64), r#""0.5\x1B[31m""#);
        assert_eq!(quote_excerpt(b"a\"b\\", 64), r#""a\"b\\""#);
    }

    #[test]
    fn already_escaped_text_shows_once_and_raw_controls_are_escaped() {
        let detail = format!("status {} is not a number", quote_excerpt(b"2\x1b0", 20));
        assert_eq!(escape_controls(&detail), r#"status "2\x1B0" is not a number"#);
        assert_eq!(escape_controls("a\x1b[2Jb\u{202E}\\"), "a\\x1B[2Jb\\u{202E}\\");
    }

    #[test]
    fn caps_length() {
        assert_eq!(escape_excerpt(b"abcdef", 3), "abc…");
        assert_eq!(escape_text("a\u{202E}b\u{9b}"), "a\\u{202E}b\\u{009B}");
    }
}
