//! Reading log bytes: [`decompressing_reader`] turns a stream into its plain text whatever the
//! compression (detected from the first bytes: gzip with every member, zstd, bzip2, xz), and
//! [`LineReader`] splits text into lines with their byte offsets in bounded memory — a line
//! longer than the limit comes out as [`Line::TooLong`] with its first bytes and its length,
//! never buffered whole. No I/O of its own and no DataFusion, so that it can be fuzzed and
//! reused alone.
//!
//! ```
//! use logfusion_lines::{Line, LineReader, decompressing_reader};
//! let (compression, text) = decompressing_reader(&b"a\nbb\n"[..]).unwrap();
//! let mut lines = LineReader::new(text, 0, 4096, 1 << 20, false);
//! let mut offsets = vec![];
//! while let Some(line) = lines.next_line().unwrap() {
//!     offsets.push(line.offset());
//! }
//! assert_eq!((compression.name(), offsets), ("none", vec![0, 2]));
//! ```

mod compression;
mod decoding;
mod lines;

pub use compression::{Compression, decompressing_reader};
pub use decoding::{Decoding, UnknownEncoding};
pub use lines::{Line, LineReader, TOO_LONG_HEAD};
