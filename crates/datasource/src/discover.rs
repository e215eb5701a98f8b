//! Finding log files and sniffing them. One path for every location: list the objects of the
//! location's store (a walk of the local file system, or an object-store listing), then read
//! the first bytes of each through the store to tell its compression, whether it is text at
//! all, and which format its lines are in.
//!
//! Local walks follow symbolic links but never into a cycle, read each file once however many
//! links and hard links lead to it, and report what they cannot read (unreadable folders,
//! dangling links, FIFOs, sockets and devices) as problems instead of failing or hanging.

use std::collections::HashSet;
use std::io::{self, Read};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::execution::object_store::ObjectStoreUrl;
use futures::{StreamExt, TryStreamExt};
use logfusion_formats::{Detection, detect_format, escape_text};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

use crate::archive::{ArchiveKind, ArchiveMember, StoreReader, list_members};
use crate::error::{Error, Result};
use crate::location::{LogLocation, display_name};
use logfusion_lines::{Compression, Decoding, decompressing_reader};

/// Decompressed bytes read from the start of each file to sniff it.
pub const SNIFF_BYTES: usize = 64 * 1024;
/// Most lines of a file kept as a sample.
pub const SAMPLE_LINES: usize = 200;
/// Raw bytes fetched from the start of a compressed file to sniff it: enough compressed input
/// for [`SNIFF_BYTES`] of text.
const SNIFF_COMPRESSED_BYTES: u64 = 1 << 20;
/// The byte-order mark some Windows tools write at the start of UTF-8 text: not part of the
/// first line.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
/// Files sniffed at once.
const CONCURRENT_SNIFFS: usize = 8;

/// Why a file cannot be read as a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// The file has no bytes.
    Empty,
    /// The file is not text (or not UTF-8 text), with what gave it away.
    Binary(String),
    /// The file or folder could not be opened or read, with the OS's reason.
    Unreadable(String),
    /// A symbolic link whose target does not exist.
    DanglingLink,
    /// Not a regular file: a FIFO, socket or device (reading it could block forever).
    NotRegular(&'static str),
    /// The name holds characters (such as control characters) the store cannot address.
    Unaddressable,
    /// The file is text but its lines match no known format.
    Undetected,
    /// Detection itself failed (a format library definition that does not load).
    Detection(String),
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileProblem::Empty => f.write_str("empty file"),
            FileProblem::Binary(why) => write!(f, "not a text file ({why})"),
            FileProblem::Unreadable(why) => write!(f, "unreadable: {why}"),
            FileProblem::DanglingLink => f.write_str("unreadable: a symbolic link to nothing"),
            FileProblem::NotRegular(kind) => write!(f, "not a regular file (a {kind}); not read"),
            FileProblem::Unaddressable => {
                f.write_str("its name holds characters (such as control characters) that cannot be addressed")
            }
            FileProblem::Undetected => f.write_str("no known log format recognised in its first lines"),
            FileProblem::Detection(why) => write!(f, "format detection failed: {why}"),
        }
    }
}

/// A file found at a location, with what sniffing it found.
#[derive(Debug, Clone)]
pub struct LogFile {
    /// The name users see (in `_file` and rejects): an absolute path, or `s3://bucket/key`.
    pub name: String,
    /// The store holding the file.
    pub store: ObjectStoreUrl,
    /// Its path in the store, size, modification time and ETag, as listed.
    pub meta: ObjectMeta,
    /// Its compression, from its first bytes.
    pub compression: Compression,
    /// The detected format, if any.
    pub detection: Option<Detection>,
    /// The first complete, valid UTF-8, non-empty lines (at most [`SAMPLE_LINES`]).
    pub sample: Vec<String>,
    /// Why the file cannot be read as a log, if it cannot.
    pub problem: Option<FileProblem>,
    /// For a file inside an archive (`meta` is then the archive's): which member it is.
    pub member: Option<ArchiveMember>,
}

impl LogFile {
    /// The file's size in bytes, as listed (a member's size unpacked).
    pub fn size(&self) -> u64 {
        self.member.as_ref().map_or(self.meta.size, |m| m.size)
    }

    fn problem(store: &ObjectStoreUrl, name: String, problem: FileProblem) -> LogFile {
        LogFile {
            meta: ObjectMeta {
                location: Path::from(name.as_str()),
                last_modified: DateTime::<Utc>::UNIX_EPOCH,
                size: 0,
                e_tag: None,
                version: None,
            },
            name,
            store: store.clone(),
            compression: Compression::None,
            detection: None,
            sample: Vec::new(),
            problem: Some(problem),
            member: None,
        }
    }
}

/// Everything found at a location.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Every file, sniffed, sorted by name; those that cannot be read carry their problem.
    pub files: Vec<LogFile>,
    /// Things left out on purpose, for a note: link loops, duplicates, logfusion's own files.
    pub notes: Vec<String>,
}

/// What a listing should leave out, and how the files' text is decoded for sniffing.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Local files and folders never read as input (logfusion's own logs, results and
    /// caches); a folder is left out with everything in it.
    pub exclude: Vec<std::path::PathBuf>,
    /// The source's text decoding, applied to each file's first bytes before they are judged
    /// and sampled (a UTF-16 file with a byte-order mark is transcoded whatever it says).
    pub decoding: Decoding,
    /// Leaves format detection out: the source names its format, so what the first lines
    /// look like does not decide anything (and the format library is not compiled for it).
    pub skip_detection: bool,
}

impl ListOptions {
    fn sniffing(&self) -> Sniffing {
        Sniffing { decoding: self.decoding, detect: !self.skip_detection }
    }
}

/// What sniffing a file's first bytes does with them: decode them, and detect their format
/// or not.
#[derive(Debug, Clone, Copy)]
struct Sniffing {
    decoding: Decoding,
    detect: bool,
}

/// Lists and sniffs every file at `location`. An error when the location itself cannot be
/// listed (it does not exist, the bucket is missing); problems of single files are in the
/// result.
pub async fn discover(location: &LogLocation, options: &ListOptions) -> Result<Discovery> {
    let store = location.object_store()?;
    let (listed, mut discovery) = match location.local_root() {
        Some(_) => list_local(location, options)?,
        None => (list_store(&store, location).await?, Discovery::default()),
    };
    let sniffed: Vec<Vec<LogFile>> = futures::stream::iter(listed)
        .map(|meta| sniff(&store, location.store_url(), meta, options.sniffing()))
        .buffered(CONCURRENT_SNIFFS)
        .collect()
        .await;
    discovery.files.extend(sniffed.into_iter().flatten());
    discovery.files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(discovery)
}

/// Walks a local location (see the module docs for links and special files).
fn list_local(location: &LogLocation, options: &ListOptions) -> Result<(Vec<ObjectMeta>, Discovery)> {
    let root = location.local_root().unwrap_or(std::path::Path::new("/"));
    let store = location.store_url();
    let mut discovery = Discovery::default();
    let mut listed = Vec::new();
    let list_error = |e: io::Error| Error::List { location: escape_text(location.as_str()), message: io_reason(&e) };
    let root_meta = std::fs::metadata(root).map_err(list_error)?;
    let exclude: HashSet<FileIdentity> =
        options.exclude.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| FileIdentity::of(&m)).collect();
    let mut seen: HashSet<FileIdentity> = HashSet::new();
    let glob_options = glob::MatchOptions { require_literal_separator: true, ..Default::default() };
    let depth = location.glob().map_or(usize::MAX, |g| glob_depth(root, g));
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .max_depth(if root_meta.is_dir() { depth } else { 0 })
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let hidden = e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.');
            let own_folder =
                e.file_type().is_dir() && e.metadata().is_ok_and(|m| exclude.contains(&FileIdentity::of(&m)));
            !hidden && !own_folder
        });
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                walk_error(store, e, &mut discovery);
                continue;
            }
        };
        let path = entry.path();
        let matches = location.glob().is_none_or(|g| g.matches_path_with(path, glob_options));
        let kind = entry.file_type();
        if kind.is_dir() || !matches {
            continue;
        }
        let name = path.to_string_lossy().into_owned();
        if !kind.is_file() {
            discovery.files.push(LogFile::problem(store, name, FileProblem::NotRegular(special_kind(&kind))));
            continue;
        }
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) => {
                let problem = FileProblem::Unreadable(io_reason(&e.into()));
                discovery.files.push(LogFile::problem(store, name, problem));
                continue;
            }
        };
        let identity = FileIdentity::of(&meta);
        if exclude.contains(&identity) {
            discovery.notes.push(format!("{}: logfusion's own file, not read as input", escape_text(&name)));
            continue;
        }
        if !seen.insert(identity.clone()) {
            discovery
                .notes
                .push(format!("{}: the same file as one listed before (a link); read once", escape_text(&name)));
            continue;
        }
        let Ok(location) = Path::from_absolute_path(path) else {
            discovery.files.push(LogFile::problem(store, name, FileProblem::Unaddressable));
            continue;
        };
        listed.push(ObjectMeta {
            location,
            last_modified: meta.modified().map(DateTime::<Utc>::from).unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            size: meta.len(),
            e_tag: Some(identity.to_string()),
            version: None,
        });
    }
    Ok((listed, discovery))
}

/// How deep below `root` a glob can match: the separators after the root, or unlimited for `**`.
fn glob_depth(root: &std::path::Path, glob: &glob::Pattern) -> usize {
    let pattern = glob.as_str();
    if pattern.contains("**") {
        return usize::MAX;
    }
    let rest = &pattern[root.as_os_str().len().min(pattern.len())..];
    rest.split(std::path::MAIN_SEPARATOR).filter(|p| !p.is_empty()).count()
}

/// Turns an error of the walk into a problem (or a note, for a link loop).
fn walk_error(store: &ObjectStoreUrl, e: walkdir::Error, discovery: &mut Discovery) {
    let name = e.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    if let Some(ancestor) = e.loop_ancestor() {
        discovery.notes.push(format!(
            "{}: a link back to {}; not followed (it would loop)",
            escape_text(&name),
            escape_text(&ancestor.to_string_lossy())
        ));
        return;
    }
    let dangling = e.path().is_some_and(|p| p.symlink_metadata().is_ok() && std::fs::metadata(p).is_err());
    let problem = if dangling {
        FileProblem::DanglingLink
    } else {
        let reason = e.io_error().map(io_reason).unwrap_or_else(|| e.to_string());
        FileProblem::Unreadable(reason)
    };
    discovery.files.push(LogFile::problem(store, name, problem));
}

/// The kind of a file that is neither a regular file nor a folder.
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "FIFO";
        }
        if kind.is_socket() {
            return "socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "device";
        }
    }
    let _ = kind;
    "special file"
}

/// An I/O error's reason without the OS error number (`Permission denied`).
fn io_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// What makes two paths the same file: device and inode on Unix, size and modification time
/// elsewhere. Listed local files carry it as their ETag, so that a scan can tell a file that
/// was replaced since it was listed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FileIdentity(String);

impl FileIdentity {
    #[cfg(unix)]
    pub(crate) fn of(meta: &std::fs::Metadata) -> FileIdentity {
        use std::os::unix::fs::MetadataExt;
        FileIdentity(format!("{:x}:{:x}", meta.dev(), meta.ino()))
    }

    /// Without inodes, size and modification time stand in: two names of one file agree on
    /// both (a false match needs two different files with equal size and mtime to the nanosecond).
    #[cfg(not(unix))]
    pub(crate) fn of(meta: &std::fs::Metadata) -> FileIdentity {
        let modified = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        FileIdentity(format!("{:x}:{:x}", meta.len(), modified.map_or(0, |d| d.as_nanos())))
    }
}

impl std::fmt::Display for FileIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lists an object-store location: one object, every object under a prefix, or the keys
/// matching a glob; sorted by key, keys with a segment starting with `.` skipped.
async fn list_store(store: &Arc<dyn ObjectStore>, location: &LogLocation) -> Result<Vec<ObjectMeta>> {
    let list_error = |e: object_store::Error| Error::List { location: location.to_string(), message: e.to_string() };
    let prefix = location.prefix();
    if location.glob().is_none() && !prefix.as_ref().is_empty() {
        match store.head(prefix).await {
            Ok(meta) => return Ok(vec![meta]),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(list_error(e)),
        }
    }
    let prefix = (!prefix.as_ref().is_empty()).then_some(prefix);
    let mut objects: Vec<ObjectMeta> = store
        .list(prefix)
        .try_filter(|m| {
            let hidden = m.location.parts().any(|p| p.as_ref().starts_with('.'));
            let matches = location.glob().is_none_or(|p| p.matches(m.location.as_ref()));
            futures::future::ready(!hidden && matches)
        })
        .try_collect()
        .await
        .map_err(list_error)?;
    objects.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(objects)
}

/// Reads the first bytes of one listed file and sniffs them; an archive is its members, each
/// sniffed. Never fails: problems end up in [`LogFile::problem`].
async fn sniff(
    store: &Arc<dyn ObjectStore>,
    store_url: &ObjectStoreUrl,
    meta: ObjectMeta,
    sniffing: Sniffing,
) -> Vec<LogFile> {
    let name = display_name(store_url, &meta.location);
    let head = async {
        let first = meta.size.min(SNIFF_BYTES as u64);
        let mut raw = if first == 0 { bytes::Bytes::new() } else { store.get_range(&meta.location, 0..first).await? };
        if Compression::from_magic(&raw).is_compressed() && meta.size > first {
            raw = store.get_range(&meta.location, 0..meta.size.min(SNIFF_COMPRESSED_BYTES)).await?;
        }
        Ok::<_, object_store::Error>(raw)
    };
    let raw = match head.await {
        Ok(raw) => raw,
        Err(e) => return vec![sniff_head(name, store_url.clone(), meta, Err(io::Error::other(e)), sniffing)],
    };
    let head = decompressed_head(io::Cursor::new(raw.clone()));
    let archive = head.as_ref().ok().and_then(|(_, text)| ArchiveKind::detect(&raw, text));
    match archive {
        Some(kind) => sniff_members(store, store_url, meta, name, kind, sniffing).await,
        None => vec![sniff_head(name, store_url.clone(), meta, head, sniffing)],
    }
}

/// Lists and sniffs the members of an archive (on a blocking thread: listing reads it).
async fn sniff_members(
    store: &Arc<dyn ObjectStore>,
    store_url: &ObjectStoreUrl,
    meta: ObjectMeta,
    name: String,
    kind: ArchiveKind,
    sniffing: Sniffing,
) -> Vec<LogFile> {
    let handle = tokio::runtime::Handle::current();
    let reader = StoreReader::new(store.clone(), meta.location.clone(), meta.size, handle);
    let listed = tokio::task::spawn_blocking(move || list_members(kind, reader, SNIFF_BYTES)).await;
    let members = match listed {
        Ok(Ok(members)) => members,
        Ok(Err(e)) => {
            let problem = FileProblem::Unreadable(format!("not a readable archive: {}", io_reason(&e)));
            return vec![LogFile::problem(store_url, name, problem)];
        }
        Err(e) => return vec![LogFile::problem(store_url, name, FileProblem::Unreadable(e.to_string()))],
    };
    members
        .into_iter()
        .map(|m| {
            let head = m.head.and_then(|bytes| decompressed_head(io::Cursor::new(bytes)));
            let member_name = format!("{name}!{}", m.member.path);
            let mut file = sniff_head(member_name, store_url.clone(), meta.clone(), head, sniffing);
            file.member = Some(m.member);
            file
        })
        .collect()
}

/// What the first bytes of a file say about it: `head` is its compression and first
/// [`SNIFF_BYTES`] decompressed bytes, or why they could not be read; `sniffing` says how
/// they are decoded into the text the scan will see, and whether their format is detected.
fn sniff_head(
    name: String,
    store: ObjectStoreUrl,
    meta: ObjectMeta,
    head: io::Result<(Compression, Vec<u8>)>,
    sniffing: Sniffing,
) -> LogFile {
    let mut file = LogFile {
        name,
        store,
        meta,
        compression: Compression::None,
        detection: None,
        sample: Vec::new(),
        problem: None,
        member: None,
    };
    match head {
        Err(e) => file.problem = Some(FileProblem::Unreadable(io_reason(&e))),
        Ok((compression, head)) => {
            file.compression = compression;
            let whole = head.len() < SNIFF_BYTES;
            let head = match decode_head(compression, sniffing.decoding, head) {
                Ok(head) => head,
                Err(e) => {
                    file.problem = Some(FileProblem::Unreadable(io_reason(&e)));
                    return file;
                }
            };
            let head = head.strip_prefix(UTF8_BOM).unwrap_or(&head);
            file.problem = text_problem(head);
            if file.problem.is_none() {
                file.sample = sample_lines(head, whole);
                if !sniffing.detect {
                    return file;
                }
                let lines: Vec<&str> = file.sample.iter().map(String::as_str).collect();
                match detect_format(&lines) {
                    Ok(Some(detection)) => file.detection = Some(detection),
                    Ok(None) => file.problem = Some(FileProblem::Undetected),
                    Err(e) => file.problem = Some(FileProblem::Detection(e.to_string())),
                }
            }
        }
    }
    file
}

/// Compression and the first [`SNIFF_BYTES`] decompressed bytes of `raw` (a file's first
/// bytes). A corrupt compressed stream still yields the bytes decoded before the damage.
fn decompressed_head<R: Read + Send + 'static>(raw: R) -> io::Result<(Compression, Vec<u8>)> {
    let (compression, reader) = decompressing_reader(raw)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let read = reader.take(SNIFF_BYTES as u64).read_to_end(&mut head);
    if let Err(e) = read
        && head.is_empty()
    {
        return Err(e);
    }
    Ok((compression, head))
}

/// `head` as the scan will read it: decoded with the source's `decoding` unless the file is
/// UTF-16 (already transcoded by its byte-order mark).
fn decode_head(compression: Compression, decoding: Decoding, head: Vec<u8>) -> io::Result<Vec<u8>> {
    if !decoding.transcodes() || matches!(compression, Compression::Utf16Le | Compression::Utf16Be) {
        return Ok(head);
    }
    let mut text = Vec::with_capacity(head.len() + head.len() / 2);
    decoding.reader(Box::new(io::Cursor::new(head))).read_to_end(&mut text)?;
    Ok(text)
}

/// Why `head` is not text, if it is not.
fn text_problem(head: &[u8]) -> Option<FileProblem> {
    if head.is_empty() {
        return Some(FileProblem::Empty);
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
/// is the `whole` file).
fn sample_lines(head: &[u8], whole: bool) -> Vec<String> {
    let complete = if whole {
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

    fn names(discovery: &Discovery, root: &std::path::Path) -> Vec<String> {
        let root = std::path::absolute(root).unwrap();
        discovery
            .files
            .iter()
            .map(|f| f.name.strip_prefix(&*root.to_string_lossy()).unwrap().trim_start_matches('/').to_string())
            .collect()
    }

    fn discover_now(location: &str) -> Result<Discovery> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(discover(&LogLocation::parse(location)?, &ListOptions::default()))
    }

    #[test]
    fn lists_folders_recursively_skips_hidden_and_matches_globs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub/deeper")).unwrap();
        std::fs::write(dir.path().join("sub/b.log"), "x\n").unwrap();
        std::fs::write(dir.path().join("sub/deeper/c.log"), "x\n").unwrap();
        std::fs::write(dir.path().join("a.log"), "x\n").unwrap();
        std::fs::write(dir.path().join("a.txt"), "x\n").unwrap();
        std::fs::write(dir.path().join(".hidden"), "x\n").unwrap();
        let d = dir.path().to_str().unwrap();
        let all = discover_now(d).unwrap();
        assert_eq!(names(&all, dir.path()), ["a.log", "a.txt", "sub/b.log", "sub/deeper/c.log"]);
        assert_eq!(all.files[0].problem, Some(FileProblem::Undetected));
        assert_eq!(all.files[0].size(), 2);
        let star = discover_now(&format!("{d}/*.log")).unwrap();
        assert_eq!(names(&star, dir.path()), ["a.log"]);
        let deep = discover_now(&format!("{d}/**/*.log")).unwrap();
        assert_eq!(names(&deep, dir.path()), ["a.log", "sub/b.log", "sub/deeper/c.log"]);
        let e = discover_now("/definitely/not/here").unwrap_err().to_string();
        assert!(e.contains("/definitely/not/here") && e.contains("No such file"), "{e}");
    }

    #[test]
    fn a_named_format_skips_detection_but_keeps_the_sample() {
        let dir = tempfile::tempdir().unwrap();
        let access = "10.0.0.1 - - [01/Oct/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5\n";
        std::fs::write(dir.path().join("access.log"), access.repeat(3)).unwrap();
        std::fs::write(dir.path().join("odd.log"), "no format reads this\n").unwrap();
        std::fs::write(dir.path().join("binary.log"), [0u8; 64]).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let location = LogLocation::parse(dir.path().to_str().unwrap()).unwrap();
        let sniffed = |skip_detection| {
            let options = ListOptions { skip_detection, ..ListOptions::default() };
            runtime.block_on(discover(&location, &options)).unwrap().files
        };
        let (detected, named) = (sniffed(false), sniffed(true));
        assert_eq!(detected[0].detection.map(|d| d.name), Some("access"));
        assert_eq!(detected[2].problem, Some(FileProblem::Undetected));
        assert!(named.iter().all(|f| f.detection.is_none()), "{named:?}");
        assert_eq!(named[0].sample.len(), 3, "the sample is still taken");
        assert_eq!(named[2].problem, None, "no detection, so nothing is undetected");
        assert!(matches!(named[1].problem, Some(FileProblem::Binary(_))), "text checks still run");
    }

    #[cfg(unix)]
    #[test]
    fn links_never_loop_and_each_file_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.log"), "x\n").unwrap();
        std::os::unix::fs::symlink(".", d.join("loop")).unwrap();
        std::os::unix::fs::symlink("a.log", d.join("link.log")).unwrap();
        std::fs::hard_link(d.join("a.log"), d.join("hard.log")).unwrap();
        std::os::unix::fs::symlink("/no/such/file", d.join("dangling.log")).unwrap();
        let found = discover_now(&format!("{}/**/*.log", d.display())).unwrap();
        let readable: Vec<_> =
            found.files.iter().filter(|f| f.problem.is_none() || f.problem == Some(FileProblem::Undetected)).collect();
        assert_eq!(readable.len(), 1, "{:?}", found.files);
        assert!(found.files.iter().any(|f| f.problem == Some(FileProblem::DanglingLink)));
        assert_eq!(found.notes.iter().filter(|n| n.contains("read once")).count(), 2, "{:?}", found.notes);
    }
}
