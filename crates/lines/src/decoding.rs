//! How a source's text is decoded once decompressed: UTF-8 as it is (invalid bytes make a line
//! a reject), UTF-8 with invalid sequences replaced by U+FFFD, or a legacy encoding
//! (`windows-1252`, `latin1`, `shift_jis`, … any WHATWG label) transcoded to UTF-8 as a stream.
//! A file with a UTF-16 byte-order mark is transcoded by [`decompressing_reader`] whatever the
//! source says.
//!
//! [`decompressing_reader`]: crate::decompressing_reader

use std::fmt;
use std::io::Read;

use encoding_rs::Encoding;

/// The decoding of a source's text (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Decoding {
    /// UTF-8; a line with invalid bytes is an `invalid_utf8` reject (the default).
    #[default]
    Utf8,
    /// UTF-8; invalid sequences become U+FFFD, so such lines parse instead of being rejects.
    Utf8Replace,
    /// A legacy encoding, transcoded to UTF-8 (bytes it cannot map become U+FFFD).
    Legacy(&'static Encoding),
}

/// An encoding label that names no encoding, or one logfusion cannot read line by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEncoding(pub String);

impl fmt::Display for UnknownEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown text encoding `{}` (give a WHATWG label such as utf-8, windows-1252, latin1, shift_jis, \
             euc-kr, gbk or koi8-r; UTF-16 files are recognised by their byte-order mark)",
            self.0
        )
    }
}

impl std::error::Error for UnknownEncoding {}

impl Decoding {
    /// The decoding a source's `encoding` label and `invalid_utf8: replace` choice give.
    /// UTF-8 itself is [`Decoding::Utf8`] or [`Decoding::Utf8Replace`]; UTF-16 and the
    /// `replacement` encoding are refused (the first needs a byte-order mark, which is
    /// detected; the second decodes every file to one U+FFFD).
    pub fn from_label(label: Option<&str>, replace_invalid_utf8: bool) -> Result<Decoding, UnknownEncoding> {
        let utf8 = if replace_invalid_utf8 { Decoding::Utf8Replace } else { Decoding::Utf8 };
        let Some(label) = label else { return Ok(utf8) };
        let encoding =
            Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| UnknownEncoding(label.to_string()))?;
        if encoding == encoding_rs::UTF_8 {
            Ok(utf8)
        } else if encoding == encoding_rs::UTF_16LE
            || encoding == encoding_rs::UTF_16BE
            || encoding == encoding_rs::REPLACEMENT
            || !encoding.is_ascii_compatible()
        {
            Err(UnknownEncoding(label.to_string()))
        } else {
            Ok(Decoding::Legacy(encoding))
        }
    }

    /// The canonical name of the decoding (`utf-8`, `utf-8 (invalid replaced)`, or the
    /// encoding's WHATWG name such as `windows-1252`).
    pub fn name(self) -> &'static str {
        match self {
            Decoding::Utf8 => "utf-8",
            Decoding::Utf8Replace => "utf-8 (invalid replaced)",
            Decoding::Legacy(encoding) => encoding.name(),
        }
    }

    /// The name of the legacy encoding, if the decoding is one (a label [`Decoding::from_label`]
    /// takes back).
    pub fn encoding_name(self) -> Option<&'static str> {
        match self {
            Decoding::Legacy(encoding) => Some(encoding.name()),
            Decoding::Utf8 | Decoding::Utf8Replace => None,
        }
    }

    /// Whether the text is rewritten on the way in: such files are read as one stream, their
    /// offsets counted in the UTF-8 text (like a decompression), never split into ranges.
    pub fn transcodes(self) -> bool {
        self != Decoding::Utf8
    }

    /// `text` (already decompressed UTF-8 or the legacy encoding) as UTF-8.
    pub fn reader(self, text: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        let encoding = match self {
            Decoding::Utf8 => return text,
            Decoding::Utf8Replace => encoding_rs::UTF_8,
            Decoding::Legacy(encoding) => encoding,
        };
        // A byte-order mark would name UTF-8 or UTF-16 text, whatever the source says: it
        // wins, and is dropped.
        Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding)).bom_sniffing(true).build(text),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(decoding: Decoding, bytes: &[u8]) -> String {
        let mut out = String::new();
        decoding.reader(Box::new(std::io::Cursor::new(bytes.to_vec()))).read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn labels_name_encodings_and_refuse_what_cannot_be_read_by_lines() {
        assert_eq!(Decoding::from_label(None, false), Ok(Decoding::Utf8));
        assert_eq!(Decoding::from_label(Some("UTF8"), true), Ok(Decoding::Utf8Replace));
        assert_eq!(Decoding::from_label(Some("latin1"), false).map(Decoding::name), Ok("windows-1252"));
        assert_eq!(Decoding::from_label(Some(" Shift_JIS "), false).map(Decoding::name), Ok("Shift_JIS"));
        for refused in ["utf-16le", "utf-16", "iso-2022-kr", "klingon", ""] {
            let e = Decoding::from_label(Some(refused), false).unwrap_err();
            assert!(e.to_string().contains(&format!("`{refused}`")), "{e}");
        }
    }

    #[test]
    fn legacy_text_and_invalid_utf8_become_utf8() {
        // "café – 5 €" in windows-1252: é = e9, en dash = 96, euro = 80.
        let cp1252 = b"caf\xe9 \x96 5 \x80\n";
        assert_eq!(decode(Decoding::from_label(Some("windows-1252"), false).unwrap(), cp1252), "café – 5 €\n");
        // "日本" in Shift_JIS.
        assert_eq!(decode(Decoding::from_label(Some("shift_jis"), false).unwrap(), b"\x93\xfa\x96\x7b\n"), "日本\n");
        assert_eq!(decode(Decoding::Utf8Replace, b"ok \xff\xfe x\n"), "ok \u{fffd}\u{fffd} x\n");
        let mut untouched = Vec::new();
        Decoding::Utf8.reader(Box::new(&b"as is \xff\n"[..])).read_to_end(&mut untouched).unwrap();
        assert_eq!(untouched, b"as is \xff\n", "plain UTF-8 passes through, invalid bytes and all");
    }
}
