//! Byte scans for the short stretches of a log line where a `memchr` call (its dispatch and
//! set-up) costs more than the scan: eight bytes at a time with integer arithmetic (no branch
//! per byte), or on x86-64 sixteen at a time with SSE2 (part of every x86-64 CPU), inlined
//! into the parser.

/// The index of the first `NEEDLE` byte at or after `from` in `bytes`.
#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "sse2", not(test)),
    expect(dead_code, reason = "the portable path of `find_byte_near`, tested on every target")
)]
#[inline]
pub(crate) fn find_byte<const NEEDLE: u8>(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        // Bytes equal to the needle become 0.
        let zero = zero_bytes(word ^ splat(NEEDLE));
        if zero != 0 {
            return Some(i + (zero.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes.get(i..)?.iter().position(|&c| c == NEEDLE).map(|k| i + k)
}

/// One in each byte of a word: `0x30 * ONES` is `0x30` in every byte.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;

/// `0x80` in each byte of `word` that is not an ASCII digit, `0` in each that is. A digit's
/// high nibble is 3 and its low nibble at most 9; every step stays inside its byte (no carry
/// reaches the next), so eight bytes are tested at once.
#[inline(always)]
pub(crate) fn non_digit_bytes(word: u64) -> u64 {
    // Non-zero in the bytes failing either test.
    let other = ((word & (0xf0 * ONES)) ^ (0x30 * ONES)) | (((word & (0x0f * ONES)) + 0x06 * ONES) & (0x10 * ONES));
    (((other & (0x7f * ONES)) + 0x7f * ONES) | other) & (0x80 * ONES)
}

/// `byte` in each of the eight bytes of a word.
#[inline(always)]
const fn splat(byte: u8) -> u64 {
    0x0101_0101_0101_0101 * byte as u64
}

/// The high bit of each byte of `x` that is 0, and no other bit (exact: no borrow crosses
/// bytes).
#[inline(always)]
const fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// The index of the first `NEEDLE` byte at or after `from` in `bytes`, for stretches of a few
/// to a few dozen bytes (sixteen at a time where SSE2 is there, else eight).
#[inline(always)]
pub(crate) fn find_byte_near<const NEEDLE: u8>(bytes: &[u8], from: usize) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        sse2::find(bytes, from, |v| sse2::equal(v, NEEDLE), |c| c == NEEDLE)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        find_byte::<NEEDLE>(bytes, from)
    }
}

/// The index of the first `"` or `\\` at or after `from` in `bytes`: where a quoted field
/// ends or has an escape.
#[inline(always)]
pub(crate) fn find_quote_or_backslash(bytes: &[u8], from: usize) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        use sse2::{either, equal};
        sse2::find(bytes, from, |v| either(equal(v, b'"'), equal(v, b'\\')), |c| c == b'"' || c == b'\\')
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        memchr::memchr2(b'"', b'\\', bytes.get(from..)?).map(|k| from + k)
    }
}

/// The `"` and `\\` bytes of one line, found 64 bytes at a time and handed out in order: the
/// quoted fields of a line (an access log's request, referer and user agent) cost one pass
/// over their bytes, not one scan (and one scan's set-up and last partial vector) each.
pub(crate) struct QuoteCursor {
    /// Where the current block of 64 bytes starts (`usize::MAX` before the first look).
    base: usize,
    /// Bit k set when byte `base + k` is a `"` or a `\\` not yet handed out.
    mask: u64,
}

impl QuoteCursor {
    /// A cursor that has looked at nothing yet.
    #[inline(always)]
    pub(crate) fn new() -> Self {
        QuoteCursor { base: usize::MAX, mask: 0 }
    }

    /// The index of the first `"` or `\\` at or after `from` in `bytes`: what
    /// [`find_quote_or_backslash`] answers, for calls with `from` never decreasing (an
    /// earlier `from` starts a fresh look).
    #[inline(always)]
    pub(crate) fn find(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        match from.checked_sub(self.base) {
            Some(ahead) if ahead < 64 => self.mask &= u64::MAX << ahead,
            _ => {
                self.base = from;
                self.mask = quote_block(bytes, from);
            }
        }
        loop {
            if self.mask != 0 {
                return Some(self.base + self.mask.trailing_zeros() as usize);
            }
            self.base += 64;
            if self.base >= bytes.len() {
                return None;
            }
            self.mask = quote_block(bytes, self.base);
        }
    }
}

/// The `"` and `\\` bytes of the 128 bytes of a line from a given start, as bits, found with
/// no branch on where the line ends: a quoted field that ends inside them is found with
/// one bit scan whatever its length (field lengths vary from line to line, so a search that
/// branches on where they end guesses wrong about as often as it guesses right).
pub(crate) struct QuoteWindow {
    /// The line index of bit 0.
    at: usize,
    /// Bit k set when byte `at + k` is a `"` or a `\\` (none past the line's end).
    bits: u128,
}

impl QuoteWindow {
    /// The window of `bytes` from `at` (at most `bytes.len()`); `None` for lines under 64
    /// bytes. Each half is the 64 bytes from its start, or where that passes the line's
    /// end, its last 64 bytes shifted: one read either way.
    #[inline(always)]
    pub(crate) fn at(bytes: &[u8], at: usize) -> Option<Self> {
        let last = bytes.len().checked_sub(64)?;
        let (low, high) = (Self::half(bytes, last, at)?, Self::half(bytes, last, at + 64)?);
        Some(QuoteWindow { at, bits: u128::from(low) | u128::from(high) << 64 })
    }

    /// The bits of the 64 bytes from `from`, none past the end; `last`: where the last 64
    /// bytes start.
    #[inline(always)]
    fn half(bytes: &[u8], last: usize, from: usize) -> Option<u64> {
        let start = from.min(last);
        let block: &[u8; 64] = bytes[start..].first_chunk::<64>()?;
        Some(quote_bits(block).checked_shr((from - start) as u32).unwrap_or(0))
    }

    /// The first `"` or `\\` at or after `from` (at least the window's start) when it is
    /// in the window.
    #[inline(always)]
    pub(crate) fn find(&self, from: usize) -> Option<usize> {
        let bits = self.bits.checked_shr((from - self.at) as u32).unwrap_or(0);
        (bits != 0).then(|| from + bits.trailing_zeros() as usize)
    }
}

/// Bit k set when `bytes[at + k]` is a `"` or a `\\`, for the (up to) 64 bytes from `at`. A
/// block short of 64 bytes is the end of the last 64 bytes of `bytes`, shifted (one read
/// again, no byte-by-byte tail); only a `bytes` under 64 bytes long is looked at byte by byte.
#[inline(always)]
fn quote_block(bytes: &[u8], at: usize) -> u64 {
    let n = bytes.len();
    if let Some(block) = bytes.get(at..).and_then(|rest| rest.first_chunk::<64>()) {
        return quote_bits(block);
    }
    if at >= n {
        return 0;
    }
    match bytes.last_chunk::<64>() {
        Some(last) => quote_bits(last) >> (at + 64 - n),
        None => bytes[at..].iter().rev().fold(0, |bits, &c| bits << 1 | u64::from(c == b'"' || c == b'\\')),
    }
}

/// Bit k set when byte k of `block` is a `"` or a `\\`.
#[inline(always)]
fn quote_bits(block: &[u8; 64]) -> u64 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        sse2::bits64(block, |v| sse2::either(sse2::equal(v, b'"'), sse2::equal(v, b'\\')))
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        quote_bits_by_words(block)
    }
}

/// [`quote_bits`] eight bytes at a time with integer arithmetic.
#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "sse2", not(test)),
    expect(dead_code, reason = "the portable path of `quote_bits`, tested on every target")
)]
#[inline]
fn quote_bits_by_words(block: &[u8; 64]) -> u64 {
    block.chunks_exact(8).enumerate().fold(0, |bits, (i, word)| {
        let mut w = [0; 8];
        w.copy_from_slice(word);
        let w = u64::from_le_bytes(w);
        let flags = zero_bytes(w ^ splat(b'"')) | zero_bytes(w ^ splat(b'\\'));
        // Gather the eight high bits into one byte: bit 7 of byte j lands on bit 56 + j.
        let byte = ((flags >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56;
        bits | byte << (8 * i)
    })
}

/// The index of the first byte at or after `from` that ends a plain JSON string: a `"`, a
/// `\` or a control byte (below 0x20).
#[inline(always)]
pub(crate) fn find_string_stop(bytes: &[u8], from: usize) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        use sse2::{at_most, either, equal};
        sse2::find(
            bytes,
            from,
            |v| either(at_most(v, 0x1f), either(equal(v, b'"'), equal(v, b'\\'))),
            |c| c == b'"' || c == b'\\' || c < 0x20,
        )
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        find_string_stop_by_words(bytes, from)
    }
}

/// [`find_string_stop`] eight bytes at a time: the lowest flagged byte of each word is exact
/// (a borrow only ever runs into the bytes above it).
#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "sse2", not(test)),
    expect(dead_code, reason = "the portable path, tested on every target")
)]
#[inline]
fn find_string_stop_by_words(bytes: &[u8], from: usize) -> Option<usize> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u8| x.wrapping_sub(splat(n)) & !x & HIGH;
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let stops = below(word, 0x20) | below(word ^ splat(b'"'), 1) | below(word ^ splat(b'\\'), 1);
        if stops != 0 {
            return Some(i + (stops.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes.get(i..)?.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|k| i + k)
}

/// Sixteen-byte scans with SSE2, which every x86-64 target enables (so no run-time detection,
/// and the scans inline into their callers).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8,
    };

    // SAFETY (every `unsafe` below): the intrinsics need SSE2 and nothing else, and this
    // module is compiled only when the target enables SSE2; none of them touches memory.

    /// Sixteen bytes as a vector (read as one integer: no pointer load).
    #[inline(always)]
    fn load(chunk: &[u8; 16]) -> __m128i {
        let x = u128::from_le_bytes(*chunk);
        unsafe { _mm_set_epi64x((x >> 64) as i64, x as i64) }
    }

    /// `0xFF` in each byte of `v` equal to `byte`, `0` elsewhere.
    #[inline(always)]
    pub(super) fn equal(v: __m128i, byte: u8) -> __m128i {
        unsafe { _mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8)) }
    }

    /// `0xFF` in each byte of `v` at most `byte` (unsigned), `0` elsewhere.
    #[inline(always)]
    pub(super) fn at_most(v: __m128i, byte: u8) -> __m128i {
        unsafe { _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(byte as i8)), v) }
    }

    /// The bytes flagged in `a` or in `b`.
    #[inline(always)]
    pub(super) fn either(a: __m128i, b: __m128i) -> __m128i {
        unsafe { _mm_or_si128(a, b) }
    }

    /// Bit k set when byte k of `v` is flagged.
    #[inline(always)]
    fn mask(v: __m128i) -> u32 {
        unsafe { _mm_movemask_epi8(v) as u32 }
    }

    /// Bit k set when `flags` flags byte k of `block`: four vectors' masks side by side.
    #[inline(always)]
    pub(super) fn bits64(block: &[u8; 64], flags: impl Fn(__m128i) -> __m128i) -> u64 {
        let quarter = |i: usize| {
            // SAFETY: bytes 16 i .. 16 i + 16 of a 64-byte block (i < 4); an unaligned load.
            let v = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * i).cast::<__m128i>()) };
            u64::from(mask(flags(v))) << (16 * i)
        };
        quarter(0) | quarter(1) | quarter(2) | quarter(3)
    }

    /// The index of the first byte at or after `from` that `wanted` takes. `flags` is the same
    /// test on sixteen bytes, flagging each wanted byte. The bytes short of a last whole vector
    /// are checked by reading the last sixteen bytes of `bytes` again (those before `i` shifted
    /// off); a `bytes` under sixteen bytes long, one by one.
    #[inline(always)]
    pub(super) fn find(
        bytes: &[u8],
        from: usize,
        flags: impl Fn(__m128i) -> __m128i,
        wanted: impl Fn(u8) -> bool,
    ) -> Option<usize> {
        let n = bytes.len();
        let mut i = from;
        // The last sixteen bytes, where there are that many; the loop's bound (a vector at `i`
        // stays inside `bytes` while `i <= last`, which needs no per-step overflow check).
        let Some(last) = n.checked_sub(16) else {
            return bytes.get(i..)?.iter().position(|&c| wanted(c)).map(|k| i + k);
        };
        while i <= last {
            let chunk: &[u8; 16] = bytes[i..][..16].try_into().ok()?;
            let mask = mask(flags(load(chunk)));
            if mask != 0 {
                return Some(i + mask.trailing_zeros() as usize);
            }
            i += 16;
        }
        if i >= n {
            return None;
        }
        // The bytes after the last whole vector: in the last sixteen, which start before `i`.
        let chunk: &[u8; 16] = bytes[last..].try_into().ok()?;
        let mask = mask(flags(load(chunk))) >> (i - last);
        (mask != 0).then(|| i + mask.trailing_zeros() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Up to `max_len` bytes: long stretches of plain text (so scans run past whole words and
    /// vectors), any byte now and then, and the `special` bytes at `weight` against plain
    /// text's 6.
    fn text_rich_in(special: &[u8], weight: u32, max_len: usize) -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            proptest::prop_oneof![
                6 => b'a'..=b'z',
                2 => proptest::num::u8::ANY,
                weight => proptest::sample::select(special.to_vec()),
            ],
            0..max_len,
        )
    }

    proptest::proptest! {
        /// The word scan finds what a byte-by-byte scan finds, from any start.
        #[test]
        fn finds_what_bytes_find(
            bytes in text_rich_in(b"\n\"\x0b\x09\x8a\xa2\x22\x80\xff\\\x1f\x20\x5c\x00", 1, 100),
            from in 0usize..110,
        ) {
            let by_bytes = |needle: u8| bytes.get(from..).and_then(|rest| rest.iter().position(|&c| c == needle).map(|k| from + k));
            proptest::prop_assert_eq!(find_byte::<b'\n'>(&bytes, from), by_bytes(b'\n'));
            proptest::prop_assert_eq!(find_byte::<b'"'>(&bytes, from), by_bytes(b'"'));
            proptest::prop_assert_eq!(find_byte_near::<b' '>(&bytes, from), by_bytes(b' '));
            let stop = bytes.get(from..).and_then(|rest| rest.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|k| from + k));
            proptest::prop_assert_eq!(find_string_stop(&bytes, from), stop);
            proptest::prop_assert_eq!(find_string_stop_by_words(&bytes, from), stop);
            let quote_or_backslash = bytes.get(from..).and_then(|rest| rest.iter().position(|&c| c == b'"' || c == b'\\').map(|k| from + k));
            proptest::prop_assert_eq!(find_quote_or_backslash(&bytes, from), quote_or_backslash);
        }

        /// A cursor asked for ever later starts answers what a fresh scan answers each time,
        /// a window what a fresh scan answers inside it, and the portable block test flags
        /// what the vector one flags.
        #[test]
        fn quote_cursor_finds_what_bytes_find(
            bytes in text_rich_in(b"\"\\\x22\x5c\xa2\xdc\x00", 2, 300),
            steps in proptest::collection::vec(0usize..90, 1..12),
        ) {
            let by_bytes = |from: usize| bytes.get(from..).and_then(|rest| rest.iter().position(|&c| c == b'"' || c == b'\\').map(|k| from + k));
            if let Some(start) = steps.first().copied().filter(|&at| at <= bytes.len()) {
                let in_window = |from: usize| by_bytes(from).filter(|&i| i < start + 128);
                let window = QuoteWindow::at(&bytes, start);
                proptest::prop_assert_eq!(window.is_some(), bytes.len() >= 64);
                if let Some(window) = window {
                    for from in start..start + 140 {
                        proptest::prop_assert_eq!(window.find(from), in_window(from), "window at {}, from {}", start, from);
                    }
                }
            }
            let mut cursor = QuoteCursor::new();
            let mut from = 0;
            for step in steps {
                from += step;
                proptest::prop_assert_eq!(cursor.find(&bytes, from), by_bytes(from), "from {}", from);
            }
            for block in bytes.windows(64) {
                let block: &[u8; 64] = block.try_into().expect("a window of 64");
                proptest::prop_assert_eq!(quote_bits_by_words(block), quote_bits(block));
            }
        }
    }
}
