//! A one-pass matcher for the patterns log formats are written in: an anchored sequence of
//! literals and repeated character classes with capture groups around them, such as
//! `^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \[(?P<level>[A-Z]+)\] (?P<msg>.*)$`.
//!
//! It walks the line once, each class taking as many characters as it may (greedy), and never
//! backtracks. A match it finds is the match the regex finds, captures included: the regex's
//! leftmost-first semantics prefer exactly the path a greedy walk takes first. When the walk
//! fails the regex may still match by giving characters back, so the caller then asks the
//! regex, which decides. Patterns with anything else (alternation, lazy or nested
//! repetition, word boundaries) are not compiled at all: the regex does all the work.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// One step of a [`LinearPattern`].
#[derive(Debug, Clone)]
enum Step {
    /// A run of single bytes and single ASCII characters of classes, e.g. `\d{4}-\d\d`.
    Fixed(FixedRun),
    /// Characters of class `class`, at least `min` and at most `max` (`None`: no limit),
    /// greedy.
    Repeat {
        /// Index of the class.
        class: usize,
        /// Fewest characters.
        min: u32,
        /// Most characters.
        max: Option<u32>,
    },
    /// The rest of the line (`.*`, `.+`): every character up to a `\n` or the end, at least
    /// `min` of them.
    Rest {
        /// Fewest characters.
        min: u32,
    },
}

/// Where a group starts or ends: `offset` bytes after the start of step `step` (the end of
/// the walk when `step` is the number of steps).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Mark {
    step: usize,
    offset: usize,
}

/// A run of fixed positions, checked eight bytes at a time: literal bytes by a masked
/// comparison, digits by nibble arithmetic, other classes by a table look-up each.
#[derive(Debug, Clone, Default)]
struct FixedRun {
    /// What each position takes, for the byte-by-byte check near the end of a line.
    sets: Vec<ByteSet>,
    /// The eight-byte windows covering the run (empty until [`FixedRun::seal`]).
    words: Vec<FixedWord>,
}

/// One eight-byte window of a [`FixedRun`]: the positions it checks, by kind.
#[derive(Debug, Clone, Default)]
struct FixedWord {
    /// Offset of the window in the run.
    at: usize,
    /// Bytes of literal positions (`0xFF`) and their values.
    literal_mask: u64,
    literal_value: u64,
    /// Bytes of `\d` positions (`0xFF`).
    digit_mask: u64,
    /// Other positions: offset in the window and the index of their set in `sets`.
    others: Vec<(usize, usize)>,
}

/// How a position of a fixed run is checked in a window.
enum Position {
    Literal(u8),
    Digit,
    Other,
}

impl FixedRun {
    /// What the byte set `set` is: one byte, the ASCII digits, or another set.
    fn position(set: &ByteSet) -> Position {
        let members: Vec<u8> = (0..=255u8).filter(|&b| set[usize::from(b)]).collect();
        match members.as_slice() {
            [one] => Position::Literal(*one),
            digits if digits == b"0123456789" => Position::Digit,
            _ => Position::Other,
        }
    }

    /// Builds the windows once the run is complete: windows at 0, 8, 16, … and, for a
    /// remainder, one more ending where the run ends (or, for a run under eight bytes, one
    /// window reaching past it, used when the line is long enough).
    fn seal(&mut self) {
        let len = self.sets.len();
        self.words.clear();
        let mut covered = 0;
        while covered < len {
            let at = if covered + 8 <= len { covered } else { len.saturating_sub(8) };
            let mut word = FixedWord { at, ..FixedWord::default() };
            for k in covered.max(at)..(at + 8).min(len) {
                let shift = 8 * (k - at);
                match Self::position(&self.sets[k]) {
                    Position::Literal(b) => {
                        word.literal_mask |= 0xFF << shift;
                        word.literal_value |= u64::from(b) << shift;
                    }
                    Position::Digit => word.digit_mask |= 0xFF << shift,
                    Position::Other => word.others.push((k - at, k)),
                }
            }
            covered = (at + 8).min(len);
            self.words.push(word);
        }
    }

    /// The bytes the run needs from the line to check it by windows.
    fn window_len(&self) -> usize {
        self.sets.len().max(8)
    }

    /// Whether `bytes` (at least [`FixedRun::window_len`] of them) start with the run.
    #[inline]
    fn matches_words(&self, bytes: &[u8]) -> bool {
        const LOW: u64 = 0x0F0F_0F0F_0F0F_0F0F;
        const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
        self.words.iter().all(|w| {
            let Some(window) = bytes.get(w.at..w.at + 8) else { return false };
            let word = u64::from_le_bytes(window.try_into().unwrap_or([0; 8]));
            // A digit is 0x30 + n, n < 10: its high nibble is 3 and its low one plus 6 stays
            // under 16 (the low nibbles are added alone, so no carry crosses bytes).
            let x = word ^ 0x3030_3030_3030_3030;
            let not_digit = (x & HIGH) | (((x & LOW) + 0x0606_0606_0606_0606) & 0x1010_1010_1010_1010);
            (word & w.literal_mask) == w.literal_value
                && not_digit & w.digit_mask == 0
                && w.others.iter().all(|&(o, k)| self.sets[k][usize::from(window[o])])
        })
    }

    /// Whether `bytes` (exactly as long as the run) match it, byte by byte.
    fn matches_bytes(&self, bytes: &[u8]) -> bool {
        self.sets.iter().zip(bytes).all(|(set, &b)| set[usize::from(b)])
    }
}

/// The bytes one position of a [`Step::Fixed`] run takes: a literal byte, or the ASCII
/// characters of a class (a wider character there: the regex decides).
type ByteSet = [bool; 256];

/// A set of characters: a table of the ASCII ones, ranges beyond.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CharClass {
    /// `ascii[b]`: whether the ASCII byte `b` is in the class (false for every byte >= 0x80).
    ascii: Box<ByteSet>,
    /// Ranges of non-ASCII characters in the class, sorted.
    wide: Vec<(char, char)>,
    /// Every character but `\n` (the `.` of a regex): the rest of a line.
    any_but_newline: bool,
}

impl CharClass {
    fn from_ranges(ranges: impl Iterator<Item = (char, char)>) -> CharClass {
        let mut ascii = Box::new([false; 256]);
        let mut wide = Vec::new();
        for (start, end) in ranges {
            for c in (start as u32).min(128)..=(end as u32).min(127) {
                ascii[c as usize] = true;
            }
            if end as u32 >= 128 {
                wide.push((start.max('\u{80}'), end));
            }
        }
        let all_ascii_but_newline = (0..128).all(|c| ascii[c] == (c != usize::from(b'\n')));
        let any_but_newline = all_ascii_but_newline && wide == [('\u{80}', char::MAX)];
        CharClass { ascii, wide, any_but_newline }
    }

    /// Whether the ASCII byte `b` is in the class (false for any other byte).
    #[inline]
    fn has_ascii(&self, b: u8) -> bool {
        self.ascii[usize::from(b)]
    }

    #[inline]
    fn contains(&self, c: char) -> bool {
        match u8::try_from(c) {
            Ok(b) if b < 128 => self.has_ascii(b),
            _ => self.wide.binary_search_by(|&(s, e)| range_order(s, e, c)).is_ok(),
        }
    }
}

fn range_order(start: char, end: char, c: char) -> std::cmp::Ordering {
    if end < c {
        std::cmp::Ordering::Less
    } else if start > c {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Equal
    }
}

/// A pattern compiled to steps, for patterns that need no backtracking to match as the
/// regex does when a greedy walk succeeds.
#[derive(Debug, Clone)]
pub struct LinearPattern {
    steps: Vec<Step>,
    classes: Vec<CharClass>,
    /// Where each capture group starts and ends, the whole match (group 0) included.
    groups: Vec<(Mark, Mark)>,
    /// Whether the pattern ends with `$`: the walk must reach the end of the line.
    to_end: bool,
}

impl LinearPattern {
    /// The pattern as steps, or `None` when it is not a plain anchored sequence.
    pub fn compile(pattern: &str) -> Option<LinearPattern> {
        let hir = regex_syntax::ParserBuilder::new().build().parse(pattern).ok()?;
        let items: Vec<&Hir> = match hir.kind() {
            HirKind::Concat(items) => items.iter().collect(),
            _ => return None,
        };
        // Anchored at the start: one position to try, as the regex's leftmost match would.
        let (first, rest) = items.split_first()?;
        if !matches!(first.kind(), HirKind::Look(Look::Start)) {
            return None;
        }
        let mut pattern = LinearPattern { steps: Vec::new(), classes: Vec::new(), groups: Vec::new(), to_end: false };
        for item in rest {
            pattern.compile_into(item)?;
        }
        for step in &mut pattern.steps {
            if let Step::Fixed(run) = step {
                run.seal();
            }
        }
        let end = Mark { step: pattern.steps.len(), offset: 0 };
        match pattern.groups.first_mut() {
            Some(whole) => *whole = (Mark::default(), end),
            None => pattern.groups.push((Mark::default(), end)),
        }
        Some(pattern)
    }

    /// How many positions [`LinearPattern::walk`] records: one per step and the end.
    pub fn positions(&self) -> usize {
        self.steps.len() + 1
    }

    /// Walks `line`, recording where each step starts (and, last, where the walk ends) in
    /// `starts` ([`LinearPattern::positions`] long); [`LinearPattern::span`] then reads the
    /// groups. `false`: no greedy match (the regex decides).
    #[inline]
    pub fn walk(&self, line: &str, starts: &mut [usize]) -> bool {
        let b = line.as_bytes();
        let mut i = 0;
        for (step, start) in self.steps.iter().zip(starts.iter_mut()) {
            *start = i;
            match step {
                Step::Fixed(run) => {
                    let len = run.sets.len();
                    let matched = match b.get(i..) {
                        Some(rest) if rest.len() >= run.window_len() => run.matches_words(rest),
                        Some(rest) if rest.len() >= len => run.matches_bytes(&rest[..len]),
                        _ => false,
                    };
                    if !matched {
                        return false;
                    }
                    i += len;
                }
                Step::Repeat { class, min, max } => match repeat(line, i, &self.classes[*class], *min, *max) {
                    Some(end) => i = end,
                    None => return false,
                },
                Step::Rest { min } => {
                    // A line holds no `\n`, but the regex's `.` stops at one all the same.
                    let end = find_newline(&b[i..]).map_or(b.len(), |k| i + k);
                    if *min > 0 && line[i..end].chars().nth(*min as usize - 1).is_none() {
                        return false;
                    }
                    i = end;
                }
            }
        }
        match starts.get_mut(self.steps.len()) {
            Some(end) => *end = i,
            None => return false,
        }
        !self.to_end || i == b.len()
    }

    /// The byte range of group `group` in the line [`LinearPattern::walk`] just matched.
    #[inline]
    pub fn span(&self, starts: &[usize], group: usize) -> Option<(usize, usize)> {
        let (open, close) = self.groups.get(group)?;
        Some((starts.get(open.step)? + open.offset, starts.get(close.step)? + close.offset))
    }

    /// Where the next byte of the pattern will be: in the last run of fixed positions, or
    /// at the start of the next step.
    fn here(&self) -> Mark {
        match self.steps.last() {
            Some(Step::Fixed(run)) => Mark { step: self.steps.len() - 1, offset: run.sets.len() },
            _ => Mark { step: self.steps.len(), offset: 0 },
        }
    }

    /// Appends a step; `None` after a `$` (the end allowed only last).
    fn push(&mut self, step: Step) -> Option<()> {
        if self.to_end {
            return None;
        }
        self.steps.push(step);
        Some(())
    }

    /// Appends `sets` to a [`Step::Fixed`] run, starting one if the last step is not one.
    fn push_fixed(&mut self, sets: impl IntoIterator<Item = ByteSet>) -> Option<()> {
        let sets: Vec<ByteSet> = sets.into_iter().collect();
        if sets.is_empty() {
            return Some(());
        }
        if self.to_end {
            return None;
        }
        match self.steps.last_mut() {
            Some(Step::Fixed(run)) => run.sets.extend(sets),
            _ => self.steps.push(Step::Fixed(FixedRun { sets, words: Vec::new() })),
        }
        Some(())
    }

    /// The index of `class`, added if new.
    fn class(&mut self, class: CharClass) -> usize {
        match self.classes.iter().position(|c| *c == class) {
            Some(i) => i,
            None => {
                self.classes.push(class);
                self.classes.len() - 1
            }
        }
    }

    /// Appends the steps of `hir`; `None` when it is not a plain sequence.
    fn compile_into(&mut self, hir: &Hir) -> Option<()> {
        match hir.kind() {
            HirKind::Empty => {}
            HirKind::Literal(literal) => self.push_fixed(literal.0.iter().map(|&b| {
                let mut set = [false; 256];
                set[usize::from(b)] = true;
                set
            }))?,
            HirKind::Class(class) => self.repeat(char_class(class)?, 1, Some(1))?,
            HirKind::Repetition(repetition) => {
                if !repetition.greedy {
                    return None;
                }
                let class = match repetition.sub.kind() {
                    HirKind::Class(class) => char_class(class)?,
                    // A repeated single character, such as ` +`.
                    HirKind::Literal(literal) => {
                        let text = std::str::from_utf8(&literal.0).ok()?;
                        let mut chars = text.chars();
                        let c = chars.next()?;
                        if chars.next().is_some() {
                            return None;
                        }
                        CharClass::from_ranges(std::iter::once((c, c)))
                    }
                    _ => return None,
                };
                self.repeat(class, repetition.min, repetition.max)?;
            }
            HirKind::Capture(capture) => {
                let index = capture.index as usize;
                if self.groups.len() <= index {
                    self.groups.resize(index + 1, (Mark::default(), Mark::default()));
                }
                let open = self.here();
                self.compile_into(&capture.sub)?;
                self.groups[index] = (open, self.here());
            }
            HirKind::Concat(items) => {
                for item in items {
                    self.compile_into(item)?;
                }
            }
            HirKind::Look(Look::End) => self.to_end = true,
            _ => return None,
        }
        Some(())
    }

    /// Appends `class` repeated `min..=max` times: a fixed count joins a [`Step::Fixed`] run.
    fn repeat(&mut self, class: CharClass, min: u32, max: Option<u32>) -> Option<()> {
        match max {
            Some(count) if count == min && count <= 64 => {
                self.push_fixed(std::iter::repeat_n(*class.ascii, count as usize))
            }
            None if class.any_but_newline => self.push(Step::Rest { min }),
            _ => {
                let index = self.class(class);
                self.push(Step::Repeat { class: index, min, max })
            }
        }
    }
}

/// Where a greedy run of `class` starting at `i` ends, if it has at least `min` characters.
#[inline]
fn repeat(line: &str, i: usize, class: &CharClass, min: u32, max: Option<u32>) -> Option<usize> {
    let b = line.as_bytes();
    let limit = max.map_or(usize::MAX, |m| m as usize);
    let mut j = i;
    let mut n = 0usize;
    loop {
        // ASCII characters: one byte and one look-up each.
        if limit == usize::MAX {
            let run = ascii_run(&b[j..], class);
            j += run;
            n += run;
        } else {
            while n < limit && b.get(j).is_some_and(|&c| class.has_ascii(c)) {
                j += 1;
                n += 1;
            }
        }
        // A wider character the class may hold; then ASCII again.
        if n < limit
            && !class.wide.is_empty()
            && b.get(j).is_some_and(|&c| c >= 0x80)
            && let Some(c) = line[j..].chars().next()
            && class.contains(c)
        {
            j += c.len_utf8();
            n += 1;
            continue;
        }
        break;
    }
    (n >= min as usize).then_some(j)
}

/// How many of the leading bytes of `bytes` are ASCII characters of `class`: eight look-ups
/// at a time folded into a bit mask, so the end of a short run (a level, a word) costs no
/// mispredicted branch per byte.
#[inline]
fn ascii_run(bytes: &[u8], class: &CharClass) -> usize {
    let mut run = 0;
    while let Some(window) = bytes.get(run..run + 8) {
        let outside = window.iter().enumerate().fold(0u32, |m, (k, &c)| m | (u32::from(!class.has_ascii(c)) << k));
        if outside != 0 {
            return run + outside.trailing_zeros() as usize;
        }
        run += 8;
    }
    let tail = &bytes[run..];
    run + tail.iter().position(|&c| !class.has_ascii(c)).unwrap_or(tail.len())
}

/// Where the first `\n` of `bytes` is: inline vector steps for the short tails of log lines
/// (quicker there than a `memchr` call), `memchr` for long ones.
#[inline]
fn find_newline(bytes: &[u8]) -> Option<usize> {
    if bytes.len() > 128 { memchr::memchr(b'\n', bytes) } else { crate::words::find_byte_near::<b'\n'>(bytes, 0) }
}

/// A class of characters (a byte class only when it is ASCII, as a line is text).
fn char_class(class: &Class) -> Option<CharClass> {
    match class {
        Class::Unicode(unicode) => Some(CharClass::from_ranges(unicode.iter().map(|r| (r.start(), r.end())))),
        Class::Bytes(bytes) => {
            if bytes.ranges().iter().any(|r| r.end() >= 0x80) {
                return None;
            }
            Some(CharClass::from_ranges(bytes.iter().map(|r| (char::from(r.start()), char::from(r.end())))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk's captures of `line`, as byte ranges (`None`: the walk does not match).
    fn walk(linear: &LinearPattern, line: &str) -> Option<Vec<(usize, usize)>> {
        let mut starts = vec![0; linear.positions()];
        linear
            .walk(line, &mut starts)
            .then(|| (0..linear.groups.len()).map(|g| linear.span(&starts, g).unwrap()).collect())
    }

    /// The regex's captures of `line`, as byte ranges (`None` for no match).
    fn reference(regex: &regex::Regex, line: &str) -> Option<Vec<Option<(usize, usize)>>> {
        let caps = regex.captures(line)?;
        Some(caps.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect())
    }

    const PATTERNS: [&str; 7] = [
        r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \[(?P<level>[A-Z]+)\] (?P<component>\w+): (?P<message>.*)$",
        r"^(?P<ip>\S+) (\S+) \[(?P<ts>[^\]]+)\] +(?P<n>\d+)(?P<rest>.*)",
        r"^(?P<a>\w+)=(?P<b>[^ ]*) (?P<c>.+)$",
        r"^(?P<x>a*)(?P<y>a)$",
        r"^(?P<word>\w{2,4})(?P<tail>[\w ]*)$",
        r"^(?P<k>[^:]+):\s*(?P<v>.*?)$",
        r"^(?P<a>\w+) (?P<d>\d\d)(?P<e>)$",
    ];

    #[test]
    fn only_plain_anchored_sequences_compile() {
        assert!(LinearPattern::compile(PATTERNS[0]).is_some());
        assert!(LinearPattern::compile(PATTERNS[1]).is_some());
        assert!(LinearPattern::compile(r"(?P<a>\d+)").is_none(), "not anchored");
        assert!(LinearPattern::compile(r"^(?P<a>\d+|x)").is_none(), "an alternation");
        assert!(LinearPattern::compile(PATTERNS[5]).is_none(), "a lazy repetition");
        assert!(LinearPattern::compile(PATTERNS[6]).is_some());
        assert!(LinearPattern::compile(r"^(?P<a>\w+)(?P<t>:\d)?$").is_none(), "an optional group");
        assert!(LinearPattern::compile(r"^(?:ab)+$").is_none(), "a repeated sequence");
        assert!(LinearPattern::compile(r"^a$b").is_none(), "an end before the end");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// A greedy walk that matches gives the regex's captures; the regex alone decides the
        /// rest.
        #[test]
        fn a_match_is_the_regex_match(
            line in "[0-9a-zA-Z:/;\\.\\-\\[\\] =_é\u{1F600}\\t]{0,40}",
            prefix in proptest::prop_oneof![
                proptest::strategy::Just(String::new()),
                proptest::strategy::Just("2026-10-01 00:00:00.123 [INFO] auth: ".to_string()),
                proptest::strategy::Just("10.0.0.1 - [01/Oct] ".to_string()),
            ],
        ) {
            let line = format!("{prefix}{line}");
            for pattern in PATTERNS.iter().filter(|p| LinearPattern::compile(p).is_some()) {
                let regex = regex::Regex::new(pattern).unwrap();
                let linear = LinearPattern::compile(pattern).unwrap();
                if let Some(spans) = walk(&linear, &line) {
                    let want = reference(&regex, &line);
                    proptest::prop_assert!(want.is_some(), "{} matched {:?} where the regex does not", pattern, line);
                    let got: Vec<Option<(usize, usize)>> = spans.iter().copied().map(Some).collect();
                    proptest::prop_assert_eq!(Some(got), want, "{} on {:?}", pattern, line);
                }
            }
        }
    }

    #[test]
    fn log_lines_take_the_walk() {
        let linear = LinearPattern::compile(PATTERNS[0]).unwrap();
        let line = "2026-10-01 00:00:01.120 [INFO] auth: login ok user=ä";
        let spans = walk(&linear, line).unwrap();
        assert_eq!(&line[spans[1].0..spans[1].1], "2026-10-01 00:00:01.120");
        assert_eq!(&line[spans[2].0..spans[2].1], "INFO");
        assert_eq!(&line[spans[4].0..spans[4].1], "login ok user=ä");
        assert!(walk(&linear, "2026-10-01 00:00:01.120 [info] auth: x").is_none());
        assert!(walk(&linear, "2026-10-01 00:00:0a.120 [INFO] auth: x").is_none(), "a letter for a digit");
        assert!(walk(&linear, "2026-10-01 00:00:01.120 [INFO] auth:").is_none(), "the line ends in a run");
        // Backtracking needed: the walk fails, and the regex (asked next) matches.
        let greedy = LinearPattern::compile(PATTERNS[3]).unwrap();
        assert!(walk(&greedy, "aaa").is_none());
    }

    proptest::proptest! {
        /// The word-at-a-time scans find what a byte-by-byte scan finds.
        #[test]
        fn scans_find_what_bytes_find(bytes in proptest::collection::vec(proptest::prop_oneof![
            proptest::num::u8::ANY,
            proptest::sample::select(b"\n\x0b\x09\x8aaZ_0 ".to_vec()),
        ], 0..100)) {
            proptest::prop_assert_eq!(find_newline(&bytes), bytes.iter().position(|&c| c == b'\n'));
            let word = LinearPattern::compile(r"^\w+").unwrap();
            let class = &word.classes[0];
            proptest::prop_assert_eq!(ascii_run(&bytes, class), bytes.iter().position(|&c| !class.has_ascii(c)).unwrap_or(bytes.len()));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// The eight-byte windows of a fixed run accept exactly the bytes the byte-by-byte
        /// check accepts, whatever the bytes (digits' neighbours, bytes >= 0x80 included).
        #[test]
        fn windows_check_what_bytes_check(
            (pattern, sample) in proptest::sample::select(vec![
                (r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", "2026-10-01 00:00:01.123 [INFO]"),
                (r"^\[\d\d/[A-Z][a-z]{2}/\d{4}", "[01/Oct/2026:00:00:01 +0000]"),
                (r"^ab", "ab cdefgh"),
                (r"^\d\d\d", "200 1234567"),
                (r"^[0-9a-f]{8}-\d{3}x", "0af3b2c9-123x-abc"),
            ]),
            changes in proptest::collection::vec((0usize..40, proptest::prop_oneof![
                proptest::num::u8::ANY,
                proptest::sample::select(b"/0189:;`aA@Z[\x80\xb9\xff".to_vec()),
            ]), 0..3),
            cut in 0usize..40,
        ) {
            // A matching sample with a byte or two changed, maybe cut short.
            let mut bytes = sample.as_bytes().to_vec();
            for (at, byte) in changes {
                if let Some(b) = bytes.get_mut(at) {
                    *b = byte;
                }
            }
            bytes.truncate(cut.max(1));
            let linear = LinearPattern::compile(pattern).unwrap();
            let Some(Step::Fixed(run)) = linear.steps.first() else { panic!("{pattern}: not one fixed run") };
            let len = run.sets.len();
            if bytes.len() >= run.window_len() {
                proptest::prop_assert_eq!(run.matches_words(&bytes), run.matches_bytes(&bytes[..len]), "{} on {:?}", pattern, bytes);
            }
            // The walk agrees with the regex on the bytes that are text.
            if let Ok(text) = std::str::from_utf8(&bytes) {
                let regex = regex::Regex::new(pattern).unwrap();
                proptest::prop_assert_eq!(walk(&linear, text).is_some(), regex.is_match(text), "{} on {:?}", pattern, text);
            }
        }
    }
}
