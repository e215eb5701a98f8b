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
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let needles = 0x0101_0101_0101_0101 * u64::from(NEEDLE);
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        // Bytes equal to the needle become 0; then the high bit of each byte that is 0 is
        // set (exactly: no borrow crosses bytes).
        let x = word ^ needles;
        let zero = !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7);
        if zero != 0 {
            return Some(i + (zero.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes.get(i..)?.iter().position(|&c| c == NEEDLE).map(|k| i + k)
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
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let stops =
            below(word, 0x20) | below(word ^ (ONES * u64::from(b'"')), 1) | below(word ^ (ONES * u64::from(b'\\')), 1);
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
        __m128i, _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x, _mm_set1_epi8,
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

    proptest::proptest! {
        /// The word scan finds what a byte-by-byte scan finds, from any start.
        #[test]
        fn finds_what_bytes_find(
            bytes in proptest::collection::vec(proptest::prop_oneof![
                // Long stretches of plain text, so scans run past whole words and vectors.
                6 => b'a'..=b'z',
                2 => proptest::num::u8::ANY,
                1 => proptest::sample::select(b"\n\"\x0b\x09\x8a\xa2\x22\x80\xff\\\x1f\x20\x5c\x00".to_vec()),
            ], 0..100),
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
    }
}
