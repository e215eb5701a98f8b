//! Archives of logs: a `.tar` (plain or compressed, e.g. `.tar.gz`, `.tgz`) or a `.zip` is
//! never read as text; each regular file in it is a log file of its own, named
//! `archive.tar.gz!path/in/archive.log`. Nothing is extracted, so member names (`../../etc`,
//! absolute paths) are only names.
//!
//! Listing reads the archive once (for a compressed tar, that is a decompression of all of
//! it) and keeps, per member, where its data is and its first bytes for sniffing. A scan then
//! reads just the member: a byte range of a plain tar, a byte range of a zip (inflated if it
//! was deflated), or, for a compressed tar, the decompressed archive from its start up to and
//! through the member.

use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use logfusion_lines::{Compression, decompressing_reader};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

/// How an archive holds its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchiveKind {
    /// A plain tar: members are byte ranges of the archive.
    Tar,
    /// A tar inside gzip, zstd, bzip2 or xz.
    CompressedTar,
    /// A zip: members are byte ranges, stored or deflated.
    Zip,
}

impl ArchiveKind {
    /// The kind of an archive from its first bytes: `raw` as stored, `text` decompressed.
    pub(crate) fn detect(raw: &[u8], text: &[u8]) -> Option<ArchiveKind> {
        if raw.starts_with(b"PK\x03\x04") {
            return Some(ArchiveKind::Zip);
        }
        // The ustar magic at offset 257 of the first header (POSIX and GNU tar both write it).
        if text.get(257..262) == Some(b"ustar") {
            return Some(if Compression::from_magic(raw).is_compressed() {
                ArchiveKind::CompressedTar
            } else {
                ArchiveKind::Tar
            });
        }
        None
    }
}

/// How one member's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum MemberStorage {
    /// Raw, at a byte range of a plain tar.
    Tar,
    /// Raw, at a byte range of the decompressed stream of a compressed tar.
    CompressedTar,
    /// Raw, at a byte range of a zip.
    ZipStored,
    /// Deflated, at a byte range of a zip.
    ZipDeflated,
}

/// A file inside an archive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ArchiveMember {
    /// Its path inside the archive, as written there.
    pub path: String,
    /// How its bytes are stored.
    pub storage: MemberStorage,
    /// Where its bytes start: in the archive, or in the decompressed archive for a compressed tar.
    pub start: u64,
    /// Its bytes as stored (compressed size for a deflated zip member).
    pub stored_size: u64,
    /// Its size unpacked.
    pub size: u64,
}

impl ArchiveMember {
    /// The bytes of the archive a scan of this member fetches.
    pub(crate) fn fetch_range(&self, archive_size: u64) -> Range<u64> {
        match self.storage {
            MemberStorage::CompressedTar => 0..archive_size,
            _ => self.start..self.start + self.stored_size,
        }
    }

    /// The member's unpacked bytes from a reader of [`ArchiveMember::fetch_range`].
    pub(crate) fn reader(&self, fetched: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self.storage {
            MemberStorage::Tar | MemberStorage::ZipStored => fetched,
            MemberStorage::ZipDeflated => Box::new(flate2::read::DeflateDecoder::new(fetched).take(self.size)),
            MemberStorage::CompressedTar => {
                let (_, mut text) = decompressing_reader(fetched)?;
                let skipped = io::copy(&mut (&mut text).take(self.start), &mut io::sink())?;
                if skipped < self.start {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the archive ended before the member"));
                }
                Box::new(text.take(self.size))
            }
        })
    }
}

/// A member found by listing, with the first bytes of its data (for sniffing).
pub(crate) struct ListedMember {
    pub member: ArchiveMember,
    pub head: io::Result<Vec<u8>>,
}

/// Lists the regular files of an archive, reading up to `head_bytes` of each. Blocking:
/// `reader` reads the archive through the object store.
pub(crate) fn list_members(
    kind: ArchiveKind,
    mut reader: StoreReader,
    head_bytes: usize,
) -> io::Result<Vec<ListedMember>> {
    let mut out = Vec::new();
    match kind {
        ArchiveKind::Zip => {
            let mut zip = zip::ZipArchive::new(reader).map_err(io::Error::other)?;
            for i in 0..zip.len() {
                let file = zip.by_index(i).map_err(io::Error::other)?;
                if file.is_dir() {
                    continue;
                }
                let storage = match file.compression() {
                    zip::CompressionMethod::Stored => MemberStorage::ZipStored,
                    zip::CompressionMethod::Deflated => MemberStorage::ZipDeflated,
                    other => {
                        let member = zip_member(&file, MemberStorage::ZipStored);
                        let head = Err(io::Error::other(format!("zip compression {other} is not supported")));
                        out.push(ListedMember { member, head });
                        continue;
                    }
                };
                let member = zip_member(&file, storage);
                out.push(ListedMember { member, head: read_head(file, head_bytes) });
            }
        }
        ArchiveKind::Tar => {
            reader.seek(SeekFrom::Start(0))?;
            let mut tar = tar::Archive::new(reader);
            tar_members(tar.entries_with_seek()?, MemberStorage::Tar, head_bytes, &mut out)?;
        }
        ArchiveKind::CompressedTar => {
            let (_, text) = decompressing_reader(reader)?;
            let mut tar = tar::Archive::new(text);
            tar_members(tar.entries()?, MemberStorage::CompressedTar, head_bytes, &mut out)?;
        }
    }
    Ok(out)
}

fn zip_member<R: Read>(file: &zip::read::ZipFile<'_, R>, storage: MemberStorage) -> ArchiveMember {
    ArchiveMember {
        path: file.name().to_string(),
        storage,
        start: file.data_start(),
        stored_size: file.compressed_size(),
        size: file.size(),
    }
}

fn tar_members<R: Read>(
    entries: tar::Entries<'_, R>,
    storage: MemberStorage,
    head_bytes: usize,
    out: &mut Vec<ListedMember>,
) -> io::Result<()> {
    for entry in entries {
        let entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let member = ArchiveMember {
            path,
            storage,
            start: entry.raw_file_position(),
            stored_size: entry.size(),
            size: entry.size(),
        };
        out.push(ListedMember { member, head: read_head(entry, head_bytes) });
    }
    Ok(())
}

/// Up to `n` bytes from the start of `reader`.
fn read_head(reader: impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n.min(64 * 1024));
    reader.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// A blocking, seekable reader of an object, fetching it in blocks through its store.
pub(crate) struct StoreReader {
    store: Arc<dyn ObjectStore>,
    location: Path,
    size: u64,
    pos: u64,
    block: Bytes,
    block_start: u64,
    handle: tokio::runtime::Handle,
}

/// Bytes a [`StoreReader`] fetches at once.
const FETCH_BLOCK: u64 = 256 * 1024;

impl StoreReader {
    /// A reader of `location` (`size` bytes) in `store`; `handle` runs the fetches.
    pub fn new(store: Arc<dyn ObjectStore>, location: Path, size: u64, handle: tokio::runtime::Handle) -> Self {
        StoreReader { store, location, size, pos: 0, block: Bytes::new(), block_start: 0, handle }
    }
}

impl Read for StoreReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let in_block = self.pos >= self.block_start && self.pos < self.block_start + self.block.len() as u64;
        if !in_block {
            let end = (self.pos + FETCH_BLOCK).min(self.size);
            let fetch = self.store.get_range(&self.location, self.pos..end);
            self.block = self.handle.block_on(fetch).map_err(io::Error::other)?;
            self.block_start = self.pos;
        }
        let at = (self.pos - self.block_start) as usize;
        let n = buf.len().min(self.block.len() - at);
        buf[..n].copy_from_slice(&self.block[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for StoreReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}
