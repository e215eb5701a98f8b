//! Byte scans eight bytes at a time, for the short stretches of a log line where a `memchr`
//! call costs more than the scan: each word is checked with integer arithmetic (no branch per
//! byte), then the bytes left over one by one.

/// The index of the first `NEEDLE` byte at or after `from` in `bytes`.
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

/// The index of the first byte at or after `from` that ends a plain JSON string: a `"`, a
/// `\` or a control byte (below 0x20). Eight bytes at a time: the lowest flagged byte of
/// each word is exact (a borrow only ever runs into the bytes above it).
#[inline]
pub(crate) fn find_string_stop(bytes: &[u8], from: usize) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The word scan finds what a byte-by-byte scan finds, from any start.
        #[test]
        fn finds_what_bytes_find(
            bytes in proptest::collection::vec(proptest::prop_oneof![
                proptest::num::u8::ANY,
                proptest::sample::select(b"\n\"\x0b\x09\x8a\xa2\x22\x80\xff\\\x1f\x20\x5c\x00".to_vec()),
            ], 0..100),
            from in 0usize..110,
        ) {
            let by_bytes = |needle: u8| bytes.get(from..).and_then(|rest| rest.iter().position(|&c| c == needle).map(|k| from + k));
            proptest::prop_assert_eq!(find_byte::<b'\n'>(&bytes, from), by_bytes(b'\n'));
            proptest::prop_assert_eq!(find_byte::<b'"'>(&bytes, from), by_bytes(b'"'));
            let stop = bytes.get(from..).and_then(|rest| rest.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|k| from + k));
            proptest::prop_assert_eq!(find_string_stop(&bytes, from), stop);
        }
    }
}
