//! Line numbers for byte ranges without re-reading the file for every range.
//!
//! A scan of the byte range `[start, end)` of a file knows its lines, but the number of the
//! first one depends on how many lines come before `start`. Counting them by reading
//! `[0, start)` in every range costs about N/2 extra reads of the file at N ranges. Instead,
//! each file gets a [`LineIndex`]: the number of `\n` in each [`BLOCK`]-sized block of the
//! file, shared by every scan of this process. A range needing the lines before `start`
//! takes the counts of the whole blocks before it from the index, counting (and publishing)
//! those nobody has counted yet, and counts the part of its own first block itself, as the
//! first bytes of its own read. Each block is counted at most once per process, so the extra
//! reads for line numbers stay within one pass over each file however many ranges there are;
//! scans that read whole blocks anyway publish their counts too, so later queries of the same
//! file pay nothing. On a cluster every executor process keeps its own index: at most one
//! extra pass per file and executor, and only over the blocks its ranges need.
//!
//! A block being counted by one scan is waited for by the others, never counted twice; a
//! scan only waits for blocks another scan is actively counting, so scans that run one after
//! the other (as partitions may) cannot deadlock.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use object_store::ObjectMeta;

/// Size of an index block: the most a range reads before its start to number its lines.
#[cfg(not(test))]
pub const BLOCK: u64 = 1 << 20;
/// Tests use tiny blocks, so that small samples span many of them.
#[cfg(test)]
pub const BLOCK: u64 = 64;
/// Files whose index is kept; beyond this the cache starts afresh (indexes are cheap to
/// rebuild and 8 bytes per MiB of file).
const MAX_FILES: usize = 16_384;

/// Identity of a file version: a changed size, time or ETag is a different index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FileKey {
    store: String,
    location: String,
    size: u64,
    modified_micros: i64,
    e_tag: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Unknown,
    Counting,
    Done(u64),
}

/// Newline counts per block of one version of one file.
#[derive(Debug)]
pub struct LineIndex {
    blocks: Mutex<Vec<Block>>,
    changed: Condvar,
}

impl LineIndex {
    /// An index of a file of `size` bytes that knows no block yet.
    pub(crate) fn new(size: u64) -> LineIndex {
        LineIndex { blocks: Mutex::new(vec![Block::Unknown; size.div_ceil(BLOCK) as usize]), changed: Condvar::new() }
    }

    /// The index of `meta` in store `store`, shared by every scan of this process.
    pub fn of(store: &str, meta: &ObjectMeta) -> Arc<LineIndex> {
        static INDEXES: OnceLock<Mutex<HashMap<FileKey, Arc<LineIndex>>>> = OnceLock::new();
        let key = FileKey {
            store: store.to_string(),
            location: meta.location.to_string(),
            size: meta.size,
            modified_micros: meta.last_modified.timestamp_micros(),
            e_tag: meta.e_tag.clone(),
        };
        let mut map = INDEXES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_FILES && !map.contains_key(&key) {
            map.clear();
        }
        map.entry(key).or_insert_with(|| Arc::new(LineIndex::new(meta.size))).clone()
    }

    /// Newlines in the whole blocks before `block` (that is, in `[0, block * BLOCK)`).
    /// `count` reads the bytes of a run of blocks (`[first * BLOCK, end * BLOCK)`, clipped to
    /// the file) and returns the newlines of each block of it; it is called only for blocks no
    /// scan has counted or is counting.
    pub fn newlines_before(
        &self,
        block: usize,
        mut count: impl FnMut(usize, usize) -> io::Result<Vec<u64>>,
    ) -> io::Result<u64> {
        loop {
            let mut blocks = self.lock();
            let wanted = &blocks[..block.min(blocks.len())];
            if let Some(total) = wanted.iter().try_fold(0u64, |sum, b| match b {
                Block::Done(n) => Some(sum + n),
                _ => None,
            }) {
                return Ok(total);
            }
            let Some(first) = wanted.iter().position(|b| *b == Block::Unknown) else {
                // Only blocks other scans are counting remain: wait for them.
                drop(self.changed.wait(blocks).unwrap_or_else(|p| p.into_inner()));
                continue;
            };
            let end = first + wanted[first..].iter().take_while(|b| **b == Block::Unknown).count();
            blocks[first..end].fill(Block::Counting);
            drop(blocks);
            let counted = count(first, end);
            let mut blocks = self.lock();
            match counted {
                Ok(counts) if counts.len() == end - first => {
                    for (slot, n) in blocks[first..end].iter_mut().zip(counts) {
                        *slot = Block::Done(n);
                    }
                    self.changed.notify_all();
                }
                other => {
                    blocks[first..end].fill(Block::Unknown);
                    self.changed.notify_all();
                    return Err(other.err().unwrap_or_else(|| io::Error::other("short line count")));
                }
            }
        }
    }

    /// Records the newlines of `block`, counted by a scan that read it whole, unless it is
    /// known or being counted already.
    pub(crate) fn publish(&self, block: usize, newlines: u64) {
        let mut blocks = self.lock();
        if let Some(slot @ Block::Unknown) = blocks.get_mut(block) {
            *slot = Block::Done(newlines);
            self.changed.notify_all();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Block>> {
        self.blocks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Counts the newlines of each block in `[first * BLOCK, end * BLOCK)` of `reader`, which
/// starts at `first * BLOCK`.
pub fn count_blocks(mut reader: impl Read, first: usize, end: usize) -> io::Result<Vec<u64>> {
    let mut counts = Vec::with_capacity(end - first);
    let mut buf = vec![0u8; 256 * 1024];
    for _ in first..end {
        let mut left = BLOCK;
        let mut newlines = 0u64;
        while left > 0 {
            let want = buf.len().min(left as usize);
            let n = match reader.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            newlines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            left -= n as u64;
        }
        counts.push(newlines);
    }
    Ok(counts)
}

/// Counts the newlines of the index blocks a sequential read passes whole and publishes each
/// block's count to the file's index as the read passes the block's end (so a scan helps
/// later scans for free). The read's offset is its owner's: [`BlockPublisher::passed`] is
/// told where each piece starts.
pub struct BlockPublisher {
    index: Arc<LineIndex>,
    /// Newlines seen in the current block, or `None` when the read joined it mid-block.
    current: Option<u64>,
}

impl BlockPublisher {
    /// A publisher for a read whose first byte is at absolute offset `offset` of the file.
    pub fn new(index: Arc<LineIndex>, offset: u64) -> Self {
        BlockPublisher { index, current: offset.is_multiple_of(BLOCK).then_some(0) }
    }

    /// Takes the next bytes of the read, `data`, which start at absolute offset `offset`.
    pub fn passed(&mut self, mut offset: u64, mut data: &[u8]) {
        while !data.is_empty() {
            let block = offset / BLOCK;
            let room = ((block + 1) * BLOCK - offset) as usize;
            let (here, rest) = data.split_at(room.min(data.len()));
            if let Some(count) = self.current.as_mut() {
                *count += memchr::memchr_iter(b'\n', here).count() as u64;
            }
            offset += here.len() as u64;
            if offset.is_multiple_of(BLOCK) {
                if let Some(count) = self.current {
                    self.index.publish(block as usize, count);
                }
                self.current = Some(0);
            }
            data = rest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(blocks: u64) -> Vec<u8> {
        (0..blocks * BLOCK).map(|i| if i % 97 == 0 { b'\n' } else { b'x' }).collect()
    }

    fn expected(d: &[u8], block: usize) -> u64 {
        memchr::memchr_iter(b'\n', &d[..(block as u64 * BLOCK) as usize]).count() as u64
    }

    #[test]
    fn each_block_is_counted_once() {
        let d = data(5);
        let index = LineIndex::new(d.len() as u64);
        let mut reads = 0u64;
        for block in [3, 1, 5, 2] {
            let got = index
                .newlines_before(block, |first, end| {
                    let range = &d[first * BLOCK as usize..(end * BLOCK as usize).min(d.len())];
                    reads += range.len() as u64;
                    count_blocks(range, first, end)
                })
                .unwrap();
            assert_eq!(got, expected(&d, block));
        }
        assert_eq!(reads, 5 * BLOCK, "five blocks, each read once");
    }

    #[test]
    fn scans_publish_the_blocks_they_read_whole() {
        let d = data(4);
        let index = Arc::new(LineIndex::new(d.len() as u64));
        // A scan joining 10 bytes into block 1 and reading to the end of block 2: block 1 is
        // not whole, block 2 is.
        let start = BLOCK as usize + 10;
        let mut publisher = BlockPublisher::new(index.clone(), start as u64);
        // In pieces of 50 bytes, some crossing a block's end.
        for (k, piece) in d[start..3 * BLOCK as usize].chunks(50).enumerate() {
            publisher.passed((start + 50 * k) as u64, piece);
        }
        let got = index
            .newlines_before(4, |first, end| {
                assert!((first, end) == (0, 2) || (first, end) == (3, 4), "block 2 is known: {first}..{end}");
                count_blocks(&d[first * BLOCK as usize..end * BLOCK as usize], first, end)
            })
            .unwrap();
        assert_eq!(got, expected(&d, 4));
    }

    #[test]
    fn concurrent_ranges_wait_instead_of_counting_twice() {
        let d = Arc::new(data(8));
        let index = Arc::new(LineIndex::new(d.len() as u64));
        let reads = Arc::new(std::sync::atomic::AtomicU64::new(0));
        std::thread::scope(|s| {
            for block in 1..=8usize {
                let (d, index, reads) = (d.clone(), index.clone(), reads.clone());
                s.spawn(move || {
                    let got = index
                        .newlines_before(block, |first, end| {
                            let range = &d[first * BLOCK as usize..end * BLOCK as usize];
                            reads.fetch_add(range.len() as u64, std::sync::atomic::Ordering::Relaxed);
                            count_blocks(range, first, end)
                        })
                        .unwrap();
                    assert_eq!(got, expected(&d, block));
                });
            }
        });
        assert_eq!(reads.load(std::sync::atomic::Ordering::Relaxed), 8 * BLOCK);
    }
}
