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
    /// A run of single bytes and single ASCII characters of classes, e.g. `\d{4}-\d\d`:
    /// checked byte by byte, one table look-up each.
    Fixed(Box<[ByteSet]>),
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
    /// Group `index` starts here.
    Open(usize),
    /// Group `index` ends here.
    Close(usize),
    /// The end of the line.
    End,
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
    /// Capture groups, the whole match (group 0) included.
    groups: usize,
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
        let mut pattern = LinearPattern { steps: Vec::new(), classes: Vec::new(), groups: 1 };
        for item in rest {
            pattern.compile_into(item)?;
        }
        // `End` is only allowed as the last step.
        if pattern.steps.iter().rev().skip(1).any(|s| matches!(s, Step::End)) {
            return None;
        }
        Some(pattern)
    }

    /// Capture groups of the pattern, the whole match (group 0) included.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Walks `line`; on a match, `spans[g]` holds each group's byte range (group 0: the whole
    /// match). `false`: no greedy match (the regex decides).
    pub fn captures(&self, line: &str, spans: &mut [(usize, usize)]) -> bool {
        let b = line.as_bytes();
        let mut i = 0;
        for step in &self.steps {
            match step {
                Step::Fixed(sets) => {
                    let Some(run) = b.get(i..i + sets.len()) else { return false };
                    // No early exit: a branch-free run of look-ups is quicker than a branch
                    // per byte for the few bytes of a run.
                    let matches = sets.iter().zip(run).fold(true, |ok, (set, &byte)| ok & set[usize::from(byte)]);
                    if !matches {
                        return false;
                    }
                    i += sets.len();
                }
                Step::Repeat { class, min, max } => match repeat(line, i, &self.classes[*class], *min, *max) {
                    Some(end) => i = end,
                    None => return false,
                },
                Step::Open(g) => spans[*g].0 = i,
                Step::Close(g) => spans[*g].1 = i,
                Step::End => {
                    if i != b.len() {
                        return false;
                    }
                }
            }
        }
        spans[0] = (0, i);
        true
    }

    /// Appends `sets` to a [`Step::Fixed`] run, starting one if the last step is not one.
    fn push_fixed(&mut self, sets: impl IntoIterator<Item = ByteSet>) {
        match self.steps.last_mut() {
            Some(Step::Fixed(run)) => {
                let mut joined = run.to_vec();
                joined.extend(sets);
                *run = joined.into();
            }
            _ => self.steps.push(Step::Fixed(sets.into_iter().collect())),
        }
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
            })),
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
                self.groups = self.groups.max(index + 1);
                self.steps.push(Step::Open(index));
                self.compile_into(&capture.sub)?;
                self.steps.push(Step::Close(index));
            }
            HirKind::Concat(items) => {
                for item in items {
                    self.compile_into(item)?;
                }
            }
            HirKind::Look(Look::End) => self.steps.push(Step::End),
            _ => return None,
        }
        Some(())
    }

    /// Appends `class` repeated `min..=max` times: a fixed count joins a [`Step::Fixed`] run.
    fn repeat(&mut self, class: CharClass, min: u32, max: Option<u32>) -> Option<()> {
        match max {
            Some(count) if count == min && count <= 64 => {
                self.push_fixed(std::iter::repeat_n(*class.ascii, count as usize));
            }
            _ => {
                let index = self.class(class);
                self.steps.push(Step::Repeat { class: index, min, max });
            }
        }
        Some(())
    }
}

/// Where a greedy run of `class` starting at `i` ends, if it has at least `min` characters.
#[inline]
fn repeat(line: &str, i: usize, class: &CharClass, min: u32, max: Option<u32>) -> Option<usize> {
    let b = line.as_bytes();
    if class.any_but_newline && max.is_none() {
        // The rest of the line (a line holds no `\n`, but stop at one all the same).
        let end = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |k| i + k);
        let enough = min == 0 || line[i..end].chars().nth(min as usize - 1).is_some();
        return enough.then_some(end);
    }
    let limit = max.map_or(usize::MAX, |m| m as usize);
    let mut j = i;
    let mut n = 0usize;
    loop {
        // ASCII characters: one byte and one look-up each.
        if limit == usize::MAX {
            let run = b[j..].iter().position(|&c| !class.has_ascii(c)).unwrap_or(b.len() - j);
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

    /// The regex's captures of `line`, as byte ranges (`None` for no match).
    fn reference(regex: &regex::Regex, line: &str) -> Option<Vec<Option<(usize, usize)>>> {
        let caps = regex.captures(line)?;
        Some(caps.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect())
    }

    const PATTERNS: [&str; 6] = [
        r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \[(?P<level>[A-Z]+)\] (?P<component>\w+): (?P<message>.*)$",
        r"^(?P<ip>\S+) (\S+) \[(?P<ts>[^\]]+)\] +(?P<n>\d+)(?P<rest>.*)",
        r"^(?P<a>\w+)=(?P<b>[^ ]*) (?P<c>.+)$",
        r"^(?P<x>a*)(?P<y>a)$",
        r"^(?P<word>\w{2,4})(?P<tail>[\w ]*)$",
        r"^(?P<k>[^:]+):\s*(?P<v>.*?)$",
    ];

    #[test]
    fn only_plain_anchored_sequences_compile() {
        assert!(LinearPattern::compile(PATTERNS[0]).is_some());
        assert!(LinearPattern::compile(PATTERNS[1]).is_some());
        assert!(LinearPattern::compile(r"(?P<a>\d+)").is_none(), "not anchored");
        assert!(LinearPattern::compile(r"^(?P<a>\d+|x)").is_none(), "an alternation");
        assert!(LinearPattern::compile(PATTERNS[5]).is_none(), "a lazy repetition");
        assert!(LinearPattern::compile(r"^(?:ab)+$").is_none(), "a repeated sequence");
        assert!(LinearPattern::compile(r"^a$b").is_none(), "an end before the end");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// A greedy walk that matches gives the regex's captures; the regex alone decides the
        /// rest.
        #[test]
        fn a_match_is_the_regex_match(
            line in "[0-9a-zA-Z:\\.\\-\\[\\] =_é\u{1F600}\\t]{0,40}",
            prefix in proptest::prop_oneof![
                proptest::strategy::Just(String::new()),
                proptest::strategy::Just("2026-10-01 00:00:00.123 [INFO] auth: ".to_string()),
                proptest::strategy::Just("10.0.0.1 - [01/Oct] ".to_string()),
            ],
        ) {
            let line = format!("{prefix}{line}");
            for pattern in &PATTERNS[..5] {
                let regex = regex::Regex::new(pattern).unwrap();
                let linear = LinearPattern::compile(pattern).unwrap();
                let mut spans = vec![(0, 0); linear.groups()];
                if linear.captures(&line, &mut spans) {
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
        let mut spans = vec![(0, 0); linear.groups()];
        let line = "2026-10-01 00:00:01.120 [INFO] auth: login ok user=ä";
        assert!(linear.captures(line, &mut spans));
        assert_eq!(&line[spans[2].0..spans[2].1], "INFO");
        assert_eq!(&line[spans[4].0..spans[4].1], "login ok user=ä");
        assert!(!linear.captures("2026-10-01 00:00:01.120 [info] auth: x", &mut spans));
        // Backtracking needed: the walk fails, and the regex (asked next) matches.
        let greedy = LinearPattern::compile(PATTERNS[3]).unwrap();
        assert!(!greedy.captures("aaa", &mut vec![(0, 0); greedy.groups()]));
    }
}
