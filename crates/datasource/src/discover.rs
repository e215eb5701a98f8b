//! Finding log files and sniffing them: listing directories and globs, and reading the first
//! bytes of each file (decompressed) to tell its compression, whether it is text at all, and
//! which format its lines are in.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use logfusion_formats::{Detection, detect_format};

use crate::compression::{Compression, decompressing_reader};

/// Decompressed bytes read from the start of each file to sniff it.
pub const SNIFF_BYTES: usize = 64 * 1024;
/// Most lines of a file kept as a sample.
pub const SAMPLE_LINES: usize = 200;

/// Why a file cannot be read as a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// The file has no bytes.
    Empty,
    /// The file is not text (or not UTF-8 text), with what gave it away.
    Binary(String),
    /// The file could not be opened or read.
    Unreadable(String),
    /// The file is text but its lines match no known format.
    Undetected,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileProblem::Empty => f.write_str("empty file"),
            FileProblem::Binary(why) => write!(f, "not a text file ({why})"),
            FileProblem::Unreadable(why) => write!(f, "unreadable: {why}"),
            FileProblem::Undetected => f.write_str("no known log format recognised in its first lines"),
        }
    }
}

/// What sniffing a file found.
#[derive(Debug, Clone)]
pub struct SniffedFile {
    /// The file.
    pub path: PathBuf,
    /// Its size on disk in bytes.
    pub size: u64,
    /// Its compression, from its first bytes.
    pub compression: Compression,
    /// The detected format, if any.
    pub detection: Option<Detection>,
    /// The first complete, valid UTF-8, non-empty lines (at most [`SAMPLE_LINES`]).
    pub sample: Vec<String>,
    /// Why the file cannot be read as a log, if it cannot.
    pub problem: Option<FileProblem>,
}

impl SniffedFile {
    /// The file's name as scans report it (in `_file` and rejects): the absolute path of a
    /// local file, `s3://bucket/key` of an object.
    pub fn name(&self) -> String {
        let text = self.path.to_string_lossy();
        if crate::remote::is_remote(&text) {
            return text.into_owned();
        }
        std::path::absolute(&self.path).unwrap_or_else(|_| self.path.clone()).display().to_string()
    }
}

/// Lists the files of `path`: the file itself, every file under a directory (recursively,
/// hidden entries skipped, sorted), or the matches of a glob pattern.
pub fn list_files(path: &str) -> io::Result<Vec<PathBuf>> {
    if path.contains(['*', '?', '[']) {
        let paths = glob::glob(path)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("bad glob {path:?}: {e}")))?;
        let mut out = Vec::new();
        for entry in paths {
            let p = entry
                .map_err(|e| io::Error::new(e.error().kind(), format!("{}: {}", e.path().display(), e.error())))?;
            if p.is_file() {
                out.push(p);
            }
        }
        out.sort();
        return Ok(out);
    }
    let root = Path::new(path);
    let meta = std::fs::metadata(root).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
    if meta.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut out = Vec::new();
    walk(root, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() || kind.is_symlink() {
            // A symlink to a directory is not followed; a dangling one is reported unreadable.
            if path.is_dir() {
                continue;
            }
            out.push(path);
        }
    }
    Ok(())
}

/// Sniffs one file: compression, text or not, format and sample lines. Never fails: problems
/// are reported in [`SniffedFile::problem`].
pub fn sniff_file(path: &Path) -> SniffedFile {
    if let Some(why) = unaddressable(path) {
        return sniff_head(path.to_path_buf(), Err(io::Error::other(why)));
    }
    sniff_head(path.to_path_buf(), read_head(path))
}

/// What the first bytes of a file say about it: `head` is its size, compression and first
/// [`SNIFF_BYTES`] decompressed bytes, or why they could not be read.
pub fn sniff_head(path: PathBuf, head: io::Result<(u64, Compression, Vec<u8>)>) -> SniffedFile {
    let mut sniffed = SniffedFile {
        path,
        size: 0,
        compression: Compression::None,
        detection: None,
        sample: Vec::new(),
        problem: None,
    };
    match head {
        Err(e) => sniffed.problem = Some(FileProblem::Unreadable(e.to_string())),
        Ok((size, compression, head)) => {
            sniffed.size = size;
            sniffed.compression = compression;
            sniffed.problem = text_problem(&head);
            if sniffed.problem.is_none() {
                sniffed.sample = sample_lines(&head);
                let lines: Vec<&str> = sniffed.sample.iter().map(String::as_str).collect();
                sniffed.detection = detect_format(&lines);
                if sniffed.detection.is_none() {
                    sniffed.problem = Some(FileProblem::Undetected);
                }
            }
        }
    }
    sniffed
}

/// Why the object store cannot address `path`, if it cannot (e.g. control characters in the name).
fn unaddressable(path: &Path) -> Option<String> {
    let abs = std::path::absolute(path).ok()?;
    match object_store::path::Path::from_filesystem_path(&abs) {
        Ok(_) => None,
        Err(_) => Some("its name holds characters (such as control characters) that cannot be addressed".into()),
    }
}

/// Size, compression and the first [`SNIFF_BYTES`] decompressed bytes of a file. A corrupt
/// compressed stream still yields the bytes decoded before the damage.
fn read_head(path: &Path) -> io::Result<(u64, Compression, Vec<u8>)> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    decompressed_head(file, size)
}

/// Compression and the first [`SNIFF_BYTES`] decompressed bytes of `raw` (a file of `size`
/// bytes, or its first bytes).
pub fn decompressed_head<R: Read + Send + 'static>(raw: R, size: u64) -> io::Result<(u64, Compression, Vec<u8>)> {
    let (compression, reader) = decompressing_reader(raw)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES.min(size as usize * 8 + 16));
    let read = reader.take(SNIFF_BYTES as u64).read_to_end(&mut head);
    if let Err(e) = read
        && head.is_empty()
    {
        return Err(e);
    }
    Ok((size, compression, head))
}

/// Why `head` is not text, if it is not.
pub fn text_problem(head: &[u8]) -> Option<FileProblem> {
    if head.is_empty() {
        return Some(FileProblem::Empty);
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Some(FileProblem::Binary("UTF-16 text (byte-order mark); convert it to UTF-8".into()));
    }
    let nul = memchr::memchr_iter(0, head).count();
    let control = head.iter().filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x1b | 0x0c)).count();
    if nul * 10 > head.len() || control * 5 > head.len() {
        return Some(FileProblem::Binary(format!(
            "{nul} NUL and {control} control bytes in the first {} bytes",
            head.len()
        )));
    }
    let invalid = head.split(|&b| b == b'\n').filter(|l| simdutf8::basic::from_utf8(l).is_err()).count();
    let lines = memchr::memchr_iter(b'\n', head).count() + 1;
    if invalid * 2 > lines && lines > 1 {
        return Some(FileProblem::Binary(format!("{invalid} of the first {lines} lines are not UTF-8")));
    }
    None
}

/// The complete, non-empty UTF-8 lines of `head` (the last one only if `head` ends in `\n` or
/// is the whole file).
fn sample_lines(head: &[u8]) -> Vec<String> {
    let complete = if head.len() < SNIFF_BYTES {
        head
    } else {
        match memchr::memrchr(b'\n', head) {
            Some(i) => &head[..i],
            None => &[][..],
        }
    };
    complete
        .split(|&b| b == b'\n')
        .filter_map(|l| logfusion_formats::prepare_line(l).ok())
        .take(SAMPLE_LINES)
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_utf16_and_text() {
        assert_eq!(text_problem(b""), Some(FileProblem::Empty));
        assert!(matches!(text_problem(&[0xFF, 0xFE, b'a', 0]), Some(FileProblem::Binary(_))));
        assert!(matches!(text_problem(&[0u8; 100]), Some(FileProblem::Binary(_))));
        assert_eq!(text_problem(b"a=1 b=2\nc=3\n"), None);
    }

    #[test]
    fn lists_directories_recursively_and_skips_hidden() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.log"), "x\n").unwrap();
        std::fs::write(dir.path().join("a.log"), "x\n").unwrap();
        std::fs::write(dir.path().join(".hidden"), "x\n").unwrap();
        let files = list_files(dir.path().to_str().unwrap()).unwrap();
        let names: Vec<_> =
            files.iter().map(|p| p.strip_prefix(dir.path()).unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["a.log", "sub/b.log"]);
        assert!(list_files("/definitely/not/here").unwrap_err().to_string().contains("/definitely/not/here"));
    }
}
