//! Compression detected by magic bytes, decoded as a stream (gzip and bzip2 multi-member);
//! UTF-16 text (detected by its byte-order mark) transcoded to UTF-8 the same way.

use std::io::{self, BufRead, BufReader, Read};

/// The compression of a file, from its first bytes: what the reader undoes before lines are
/// found (UTF-16 text counts: it is transcoded to UTF-8 as a stream, like a decompression).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Plain text.
    None,
    /// gzip (`1f 8b`), including several concatenated members.
    Gzip,
    /// Zstandard (`28 b5 2f fd`).
    Zstd,
    /// bzip2 (`BZh`).
    Bzip2,
    /// xz (`fd 37 7a 58 5a 00`).
    Xz,
    /// UTF-16 little-endian text (byte-order mark `ff fe`).
    Utf16Le,
    /// UTF-16 big-endian text (byte-order mark `fe ff`).
    Utf16Be,
}

impl Compression {
    /// The compression whose magic bytes start `head`.
    pub fn from_magic(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.starts_with(b"BZh") {
            Compression::Bzip2
        } else if head.starts_with(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) {
            Compression::Xz
        } else if head.starts_with(&[0xff, 0xfe]) {
            Compression::Utf16Le
        } else if head.starts_with(&[0xfe, 0xff]) {
            Compression::Utf16Be
        } else {
            Compression::None
        }
    }

    /// The compression a file name suggests (used before a file is opened, to decide whether it
    /// may be split into byte ranges).
    pub fn from_extension(path: &str) -> Compression {
        let p = path.to_ascii_lowercase();
        if p.ends_with(".gz") || p.ends_with(".tgz") {
            Compression::Gzip
        } else if p.ends_with(".zst") || p.ends_with(".zstd") {
            Compression::Zstd
        } else if p.ends_with(".bz2") {
            Compression::Bzip2
        } else if p.ends_with(".xz") {
            Compression::Xz
        } else {
            Compression::None
        }
    }

    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
            Compression::Utf16Le => "utf-16le",
            Compression::Utf16Be => "utf-16be",
        }
    }

    /// Whether the file is compressed (or transcoded): read as one stream, never split into
    /// byte ranges, its offsets counted in the decoded text.
    pub fn is_compressed(self) -> bool {
        self != Compression::None
    }
}

/// Size of the read buffer below decoders.
const RAW_BUFFER: usize = 256 * 1024;

/// Wraps `raw` so that reading yields decompressed bytes; returns the detected compression.
pub fn decompressing_reader<R: Read + Send + 'static>(raw: R) -> io::Result<(Compression, Box<dyn Read + Send>)> {
    let mut buffered = BufReader::with_capacity(RAW_BUFFER, raw);
    let head = buffered.fill_buf()?;
    let compression = Compression::from_magic(head);
    let reader: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buffered)),
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(buffered)),
        Compression::Utf16Le | Compression::Utf16Be => Box::new(
            // The byte-order mark chose the encoding and is dropped; unpaired surrogates become
            // U+FFFD.
            encoding_rs_io::DecodeReaderBytesBuilder::new().bom_sniffing(true).build(buffered),
        ),
    };
    Ok((compression, reader))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn multi_member_gzip_reads_every_member() {
        let mut both = gz(b"a\nb\n");
        both.extend(gz(b"c\n"));
        let (c, mut r) = decompressing_reader(io::Cursor::new(both)).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!((c, s.as_str()), (Compression::Gzip, "a\nb\nc\n"));
    }

    /// UTF-16 text with a byte-order mark reads as the UTF-8 text it holds, without the mark.
    #[test]
    fn utf16_with_a_byte_order_mark_is_transcoded() {
        let text = "2026-10-01 héllo ✓\nline 2 𝄞\n";
        let units: Vec<u16> = text.encode_utf16().collect();
        let le: Vec<u8> = [0xff, 0xfe].into_iter().chain(units.iter().flat_map(|u| u.to_le_bytes())).collect();
        let be: Vec<u8> = [0xfe, 0xff].into_iter().chain(units.iter().flat_map(|u| u.to_be_bytes())).collect();
        for (bytes, expected) in [(le, Compression::Utf16Le), (be, Compression::Utf16Be)] {
            let (c, mut r) = decompressing_reader(std::io::Cursor::new(bytes)).unwrap();
            assert_eq!(c, expected);
            assert!(c.is_compressed(), "read as one stream");
            let mut out = String::new();
            r.read_to_string(&mut out).unwrap();
            assert_eq!(out, text);
        }
    }

    #[test]
    fn zstd_and_plain() {
        let z = zstd::encode_all(&b"x\ny\n"[..], 1).unwrap();
        let (c, mut r) = decompressing_reader(io::Cursor::new(z)).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!((c, s.as_str()), (Compression::Zstd, "x\ny\n"));
        let (c, _) = decompressing_reader(io::Cursor::new(b"plain".to_vec())).unwrap();
        assert_eq!(c, Compression::None);
        assert_eq!(Compression::from_extension("a/b.LOG.GZ"), Compression::Gzip);
    }
}
