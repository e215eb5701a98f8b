//! Splitting a byte stream into lines with their byte offsets, in bounded memory.
//!
//! A [`LineReader`] reads blocks, finds each `\n` in a bit index of the newlines of the next
//! few kilobytes (built with AVX2 compares; `memchr` per line where the CPU has no AVX2) and
//! hands out each line with the byte offset of its first byte. Lines longer than `max_line_bytes` are not buffered: they come out
//! as [`Line::TooLong`] with their first bytes and their length. A final line without `\n`
//! counts. For a byte range of a file, the reader starts one byte early and drops the partial
//! first line, and the caller stops at the first line starting at or after the range end: a
//! line belongs to the range holding its first byte, so no line is lost or read twice.

use std::io::{self, Read};

/// Bytes of a too-long line kept for the reject's excerpt.
pub const TOO_LONG_HEAD: usize = 256;

/// One line from a [`LineReader`].
#[derive(Debug)]
pub enum Line<'a> {
    /// A complete line, without its `\n`.
    Complete {
        /// The line's bytes (a trailing `\r` is still there).
        bytes: &'a [u8],
        /// The same bytes as text, when the reader already knows them to be UTF-8 (it
        /// validates whole blocks of lines at once, which costs a fraction of validating each
        /// line); `None`: not checked, the caller validates.
        text: Option<&'a str>,
        /// Offset of the first byte in the (decompressed) stream.
        offset: u64,
        /// Whether a `\n` ended it (only the last line of a stream can lack one).
        terminated: bool,
    },
    /// A line over `max_line_bytes`.
    TooLong {
        /// Its first bytes.
        head: &'a [u8],
        /// Offset of the first byte.
        offset: u64,
        /// Its full length without the `\n`.
        len: u64,
        /// Whether a `\n` ended it.
        terminated: bool,
    },
}

impl Line<'_> {
    /// The offset of the line's first byte.
    pub fn offset(&self) -> u64 {
        match self {
            Line::Complete { offset, .. } | Line::TooLong { offset, .. } => *offset,
        }
    }

    /// The line's length in bytes, without its `\n` (a too-long line's full length).
    pub fn byte_len(&self) -> u64 {
        match self {
            Line::Complete { bytes, .. } => bytes.len() as u64,
            Line::TooLong { len, .. } => *len,
        }
    }

    /// Whether a `\n` ended the line: only the last line of a stream can lack one.
    pub fn terminated(&self) -> bool {
        match self {
            Line::Complete { terminated, .. } | Line::TooLong { terminated, .. } => *terminated,
        }
    }

    /// The line's bytes, or the first bytes of a too-long line.
    pub fn raw(&self) -> &[u8] {
        match self {
            Line::Complete { bytes, .. } => bytes,
            Line::TooLong { head, .. } => head,
        }
    }
}

/// Reads lines from a byte stream.
pub struct LineReader<R> {
    reader: R,
    buf: Vec<u8>,
    /// Start of unconsumed data in `buf`.
    pos: usize,
    /// End of valid data in `buf`.
    filled: usize,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    max_line_bytes: usize,
    eof: bool,
    head: Vec<u8>,
    bytes_read: u64,
    /// The partial first line still has to be dropped (done on the first read, so that a
    /// read error surfaces from [`LineReader::next_line`]).
    skip_pending: bool,
    /// `buf[valid_start..valid_end]` is valid UTF-8 and ends after a `\n` (or is empty):
    /// whole lines validated in bulk.
    valid_start: usize,
    valid_end: usize,
    /// Where the `\n`s after `pos` are, found a window at a time.
    newlines: NewlineIndex,
}

impl<R: Read> LineReader<R> {
    /// A reader over `reader`, whose first byte is at stream offset `start_offset`. With
    /// `skip_partial_first_line`, everything up to and including the first `\n` is dropped.
    /// The block size grows up to one byte more than `max_line_bytes` when a line needs it,
    /// and starts no larger: a block can hold any accepted line, and never much more.
    pub fn new(
        reader: R,
        start_offset: u64,
        block_size: usize,
        max_line_bytes: usize,
        skip_partial_first_line: bool,
    ) -> Self {
        let block = block_size.clamp(1, max_line_bytes.saturating_add(1));
        LineReader {
            reader,
            buf: vec![0; block],
            pos: 0,
            filled: 0,
            buf_offset: start_offset,
            max_line_bytes,
            eof: false,
            head: Vec::new(),
            bytes_read: 0,
            skip_pending: skip_partial_first_line,
            valid_start: 0,
            valid_end: 0,
            newlines: NewlineIndex::new(),
        }
    }

    /// Bytes read from the underlying stream so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads more data after `filled`, compacting or growing the buffer. Returns false at EOF.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        // The bytes indexed may move or be overwritten from here on.
        self.newlines.clear();
        if self.pos > 0 && self.filled == self.buf.len() {
            self.buf.copy_within(self.pos..self.filled, 0);
            self.buf_offset += self.pos as u64;
            self.filled -= self.pos;
            // The validated bytes moved with the rest (those before pos are gone).
            self.valid_start = self.valid_start.saturating_sub(self.pos);
            self.valid_end = self.valid_end.saturating_sub(self.pos);
            self.pos = 0;
        }
        if self.filled == self.buf.len() {
            let grown = (self.buf.len() * 2).min(self.max_line_bytes.saturating_add(1));
            if grown > self.buf.len() {
                self.buf.resize(grown, 0);
            }
        }
        if self.filled == self.buf.len() {
            return Ok(true); // full of one too-long line; caller handles it
        }
        loop {
            match self.reader.read(&mut self.buf[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.filled += n;
                    self.bytes_read += n as u64;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Drops bytes through the next `\n` (or to EOF); returns how many were dropped before it,
    /// and whether there was a `\n`.
    fn skip_through_newline(&mut self) -> io::Result<(u64, bool)> {
        let mut skipped = 0u64;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.pos..self.filled]) {
                skipped += i as u64;
                self.pos += i + 1;
                return Ok((skipped, true));
            }
            skipped += (self.filled - self.pos) as u64;
            self.buf_offset += self.filled as u64;
            self.pos = 0;
            self.filled = 0;
            self.valid_start = 0;
            self.valid_end = 0;
            if !self.fill()? {
                return Ok((skipped, false));
            }
        }
    }

    /// The stream offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.buf_offset + self.pos as u64
    }

    /// The next line, or `None` at the end of the stream. Always inlined: the caller's loop
    /// then gets the line in registers, not through memory, where reading it back stalled
    /// on the stores just made (a tenth of a scan's time in `perf annotate`).
    #[inline(always)]
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        if self.skip_pending {
            self.skip_through_newline()?;
            self.skip_pending = false;
        }
        let mut searched = 0; // bytes after pos known to hold no '\n'
        loop {
            if let Some(end) = self.newlines.find(&self.buf[..self.filled], self.pos + searched) {
                let start = self.pos;
                self.pos = end + 1;
                if end >= self.valid_end {
                    self.validate_from(start);
                }
                let bytes = &self.buf[start..end];
                let text = (start >= self.valid_start && end < self.valid_end).then(|| {
                    // SAFETY: `buf[valid_start..valid_end]` was checked to be UTF-8 by
                    // `validate_from` and has not changed since (the buffer changes only past
                    // `filled`, and by compaction, which moves the validated bounds with the
                    // bytes). `start` is `valid_start` or follows a `\n`, and `end` is a `\n`
                    // inside the region: both are character boundaries, so the line is UTF-8.
                    unsafe { std::str::from_utf8_unchecked(bytes) }
                });
                return Ok(Some(Line::Complete {
                    bytes,
                    text,
                    offset: self.buf_offset + start as u64,
                    terminated: true,
                }));
            }
            searched = self.filled - self.pos;
            if searched > self.max_line_bytes {
                return self.too_long().map(Some);
            }
            if !self.fill()? {
                if self.pos == self.filled {
                    return Ok(None);
                }
                let start = self.pos;
                self.pos = self.filled;
                return Ok(Some(Line::Complete {
                    bytes: &self.buf[start..self.filled],
                    text: None,
                    offset: self.buf_offset + start as u64,
                    terminated: false,
                }));
            }
            // fill() may have moved data to the buffer start; `searched` is relative to pos.
        }
    }

    /// Validates, as UTF-8, the whole lines buffered from `start` (the start of the next line
    /// to hand out) on, or those up to the first invalid byte, and records them as the
    /// validated region. One pass over a block is far cheaper than one call per line.
    fn validate_from(&mut self, start: usize) {
        let from = if self.valid_end > start && self.valid_start <= start { self.valid_end } else { start };
        let Some(last) = memchr::memrchr(b'\n', &self.buf[from..self.filled]) else { return };
        let region = &self.buf[from..from + last + 1];
        let valid = match simdutf8::compat::from_utf8(region) {
            Ok(_) => region.len(),
            // Up to the last line that ends before the first invalid byte.
            Err(e) => memchr::memrchr(b'\n', &region[..e.valid_up_to()]).map_or(0, |nl| nl + 1),
        };
        if from == start {
            self.valid_start = start;
        }
        self.valid_end = from + valid;
    }

    fn too_long(&mut self) -> io::Result<Line<'_>> {
        let offset = self.offset();
        self.head.clear();
        self.head.extend_from_slice(&self.buf[self.pos..self.filled.min(self.pos + TOO_LONG_HEAD)]);
        let (len, terminated) = self.skip_through_newline()?;
        Ok(Line::TooLong { head: &self.head, offset, len, terminated })
    }
}

/// Bytes indexed at a time: a window whose line ends' list stays in L1 with the bytes.
const WINDOW: usize = 64 * 64;

/// Writes the offsets of the `\n`s of its input (a whole number of 64-byte words, at most
/// [`WINDOW`] bytes) in order to the start of the second argument, which has room for one
/// more than the input's length; returns how many there are.
type IndexNewlines = fn(&[u8], &mut [u32]) -> usize;

/// The `\n`s of a window of the buffer as a list of offsets, found with AVX2 where the CPU
/// has it: finding the end of each line is then reading the next entry, with no branch on
/// where the line ends (a search through bits or bytes guesses wrong at about every line:
/// line lengths vary). Without AVX2 each end is found by `memchr` (SSE2 or NEON inside),
/// which 16-byte vectors would not beat by enough to be worth a second indexer.
struct NewlineIndex {
    /// The buffer index of the window's first byte.
    start: usize,
    /// Bytes indexed (0: no window).
    len: usize,
    /// The window's `\n`s (offsets from `start`, ascending): the first `count` entries.
    ends: Box<[u32]>,
    count: usize,
    /// The first entry at or after the last lookup's start (lookups move forward).
    next: usize,
    /// Fills `ends` for a window; `None`: no index, `memchr`.
    index: Option<IndexNewlines>,
}

impl NewlineIndex {
    fn new() -> Self {
        let ends = vec![0; WINDOW + 1].into_boxed_slice();
        NewlineIndex { start: 0, len: 0, ends, count: 0, next: 0, index: newline_ends_fn() }
    }

    /// Forgets the window (its bytes are about to move or be overwritten).
    fn clear(&mut self) {
        self.len = 0;
        self.count = 0;
        self.next = 0;
    }

    /// The index of the first `\n` in `buf` at or after `from`; `buf` holds the same bytes
    /// as when the window was indexed, up to its end (the reader clears the index whenever
    /// its buffer's bytes move).
    #[inline(always)]
    fn find(&mut self, buf: &[u8], from: usize) -> Option<usize> {
        let Some(index) = self.index else {
            return memchr::memchr(b'\n', buf.get(from..)?).map(|i| from + i);
        };
        // The common case, inlined into the line loop: the `\n` is in the window indexed.
        if let Some(found) = self.find_indexed(from) {
            return Some(found);
        }
        self.find_indexing(buf, from, index)
    }

    /// The first `\n` at or after `from` in the window indexed, if it is there. Reading
    /// lines in order, the entry before `next` is the last line's end: one step forward.
    /// `from` never moves back within a window (the reader's position only moves forward,
    /// and the index is cleared whenever the buffer's bytes move).
    #[inline(always)]
    fn find_indexed(&mut self, from: usize) -> Option<usize> {
        let offset = from.checked_sub(self.start)?;
        if offset >= self.len {
            return None;
        }
        let mut next = self.next;
        debug_assert!(next == 0 || (self.ends[next - 1] as usize) < offset, "a lookup moved back");
        while next < self.count && (self.ends[next] as usize) < offset {
            next += 1;
        }
        self.next = next;
        (next < self.count).then(|| self.start + self.ends[next] as usize)
    }

    /// [`NewlineIndex::find`] when the window indexed holds no `\n` at or after `from`:
    /// indexes the next windows until one holds one or the buffer ends.
    #[inline(never)]
    fn find_indexing(&mut self, buf: &[u8], mut from: usize, index: IndexNewlines) -> Option<usize> {
        loop {
            let end = self.start + self.len;
            if (self.start..end).contains(&from) {
                from = end; // the window holds no `\n` after `from`
            }
            // Index the next window; bytes short of a whole word are searched directly.
            let len = (buf.len().saturating_sub(from) / 64 * 64).min(WINDOW);
            if len == 0 {
                self.clear();
                return memchr::memchr(b'\n', buf.get(from..)?).map(|i| from + i);
            }
            self.count = index(&buf[from..from + len], &mut self.ends);
            self.start = from;
            self.len = len;
            self.next = 0;
            if let Some(found) = self.find_indexed(from) {
                return Some(found);
            }
        }
    }
}

/// The newline indexer for this CPU: AVX2 (with POPCNT and BMI1, which every AVX2 CPU has)
/// where it is there, else none (`memchr` per line).
fn newline_ends_fn() -> Option<IndexNewlines> {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("popcnt")
        && std::is_x86_feature_detected!("bmi1")
    {
        return Some(x86::newline_ends_avx2);
    }
    None
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{__m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8};

    /// The offsets of the `\n`s of `bytes` (64 bytes a word) written to `ends` (room for
    /// `bytes.len() + 1`), and their count; handed out by `newline_ends_fn` only where the
    /// CPU has AVX2, POPCNT and BMI1.
    pub(super) fn newline_ends_avx2(bytes: &[u8], ends: &mut [u32]) -> usize {
        // SAFETY: `newline_ends_fn` hands this function out only after detecting the features.
        unsafe { newline_ends_avx2_enabled(bytes, ends) }
    }

    #[target_feature(enable = "avx2,popcnt,bmi1")]
    fn newline_ends_avx2_enabled(bytes: &[u8], ends: &mut [u32]) -> usize {
        let newline = _mm256_set1_epi8(b'\n' as i8);
        let mut count = 0;
        for (w, chunk) in bytes.chunks_exact(64).enumerate() {
            // SAFETY: `chunk` is 64 readable bytes, two unaligned 32-byte loads.
            let (low, high) = unsafe {
                let low = _mm256_loadu_si256(chunk.as_ptr().cast::<__m256i>());
                let high = _mm256_loadu_si256(chunk.as_ptr().add(32).cast::<__m256i>());
                (low, high)
            };
            let low = _mm256_movemask_epi8(_mm256_cmpeq_epi8(low, newline)) as u32;
            let high = _mm256_movemask_epi8(_mm256_cmpeq_epi8(high, newline)) as u32;
            let mut bits = u64::from(low) | (u64::from(high) << 32);
            let base = (64 * w) as u32;
            let n = bits.count_ones() as usize;
            // The word's first end is written whether it has one or not (`count` moves past
            // real ones only, and `ends` has room for one more): words of lines longer than
            // 64 bytes take no branch on their contents.
            ends[count] = base + bits.trailing_zeros();
            if n > 1 {
                for end in &mut ends[count + 1..count + n] {
                    bits &= bits - 1;
                    *end = base + bits.trailing_zeros();
                }
            }
            count += n;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(data: &[u8], block: usize, max: usize, skip: bool) -> Vec<(String, u64)> {
        collect_with(data, block, max, skip, newline_ends_fn())
    }

    /// [`collect`] with the ends of lines found by `index` (`None`: by `memchr`).
    fn collect_with(
        data: &[u8],
        block: usize,
        max: usize,
        skip: bool,
        index: Option<IndexNewlines>,
    ) -> Vec<(String, u64)> {
        let mut r = LineReader::new(data, 0, block, max, skip);
        r.newlines.index = index;
        let mut out = vec![];
        while let Some(l) = r.next_line().unwrap() {
            out.push(match l {
                Line::Complete { bytes, text, offset, .. } => {
                    if let Some(text) = text {
                        assert_eq!(text.as_bytes(), bytes, "the text is the line");
                    }
                    (String::from_utf8_lossy(bytes).into_owned(), offset)
                }
                Line::TooLong { head, offset, len, .. } => {
                    (format!("LONG{len}:{}", String::from_utf8_lossy(&head[..4])), offset)
                }
            });
        }
        out
    }

    #[test]
    fn offsets_crlf_and_missing_final_newline() {
        let got = collect(b"ab\r\n\ncd", 4096, 100, false);
        assert_eq!(got, [("ab\r".into(), 0), ("".into(), 4), ("cd".into(), 5)]);
    }

    #[test]
    fn long_lines_are_not_buffered() {
        let mut data = b"x\n".to_vec();
        data.extend(std::iter::repeat_n(b'a', 50_000));
        data.extend(b"\ny\n");
        let got = collect(&data, 4096, 10_000, false);
        assert_eq!(got, [("x".into(), 0), ("LONG50000:aaaa".into(), 2), ("y".into(), 50_003)]);
    }

    #[test]
    fn lines_come_as_text_when_valid_and_never_when_not() {
        let mut data = Vec::new();
        for i in 0..200 {
            match i % 7 {
                3 => data.extend_from_slice(b"bad \xff\xfe byte"),
                5 => data.extend_from_slice("caf\u{e9} \u{1F600}".as_bytes()),
                _ => data.extend_from_slice(format!("line {i}").as_bytes()),
            }
            data.push(b'\n');
        }
        for block in [1, 3, 7, 64, 4096] {
            let mut reader = LineReader::new(&data[..], 0, block, 100, false);
            let mut lines = 0;
            while let Some(line) = reader.next_line().unwrap() {
                let Line::Complete { bytes, text, .. } = line else { panic!("no long lines here") };
                let valid = std::str::from_utf8(bytes).is_ok();
                assert!(text.is_none() || valid, "invalid UTF-8 never comes as text (block {block})");
                if block >= 64 && valid {
                    assert_eq!(
                        text.map(str::as_bytes),
                        Some(bytes),
                        "block {block}: a valid line {lines} comes as text"
                    );
                }
                lines += 1;
            }
            assert_eq!(lines, 200);
        }
    }

    proptest::proptest! {
        /// Lines are what splitting at every `\n` gives, whatever the block size and however
        /// lines fall across the newline index's words and windows.
        #[test]
        fn lines_are_the_bytes_between_newlines(
            data in proptest::collection::vec(proptest::prop_oneof![
                20 => b'a'..=b'z', 1 => proptest::strategy::Just(b'\n'), 1 => proptest::num::u8::ANY,
            ], 0..20_000),
            block in proptest::sample::select(vec![1usize, 7, 64, 100, 4096, 5000, 1 << 20]),
        ) {
            let mut expected: Vec<(String, u64)> = Vec::new();
            let mut offset = 0u64;
            for piece in data.split(|&c| c == b'\n') {
                expected.push((String::from_utf8_lossy(piece).into_owned(), offset));
                offset += piece.len() as u64 + 1;
            }
            if data.last().is_none_or(|&c| c == b'\n') {
                expected.pop(); // no line after a final `\n` (or in no bytes)
            }
            proptest::prop_assert_eq!(collect(&data, block, 1 << 21, false), expected.clone());
            proptest::prop_assert_eq!(collect_with(&data, block, 1 << 21, false, None), expected);
        }

        /// The AVX2 indexer (where the CPU has it) lists exactly the newlines, in order, from
        /// none to one at every byte.
        #[test]
        fn the_newline_indexer_lists_the_newlines(data in proptest::prop_oneof![
            proptest::collection::vec(proptest::prop_oneof![4 => proptest::num::u8::ANY, 1 => proptest::strategy::Just(b'\n')], 0..1000),
            proptest::collection::vec(proptest::prop_oneof![1 => proptest::num::u8::ANY, 4 => proptest::strategy::Just(b'\n')], 0..300),
        ]) {
            if let Some(index) = newline_ends_fn() {
                let len = data.len() / 64 * 64;
                let mut ends = vec![u32::MAX; len + 1];
                let count = index(&data[..len], &mut ends);
                let expected: Vec<u32> = (0..len as u32).filter(|&i| data[i as usize] == b'\n').collect();
                proptest::prop_assert_eq!(&ends[..count], &expected[..]);
            }
        }
    }

    #[test]
    fn tiny_blocks_and_skip() {
        let data = b"first\nsecond line\nthird\n";
        assert_eq!(collect(data, 1, 100, true).len(), 2);
        assert_eq!(collect(data, 1, 100, false)[2], ("third".into(), 18));
    }
}
