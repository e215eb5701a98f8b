//! Reading a listed file as it was when it was listed. Between listing and scan a file can be
//! replaced, truncated, grown, deleted or made unreadable, and it can shrink while it is read;
//! each becomes an I/O error that reaches the scan's sink as a read error (a `read_error`
//! reject with a warning, or a failed query in strict mode), never silently short counts. A
//! file that grew is read up to its listed size.

use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;

use futures::StreamExt;
use object_store::{GetResult, GetResultPayload, ObjectMeta};

use crate::accounting::ScanCounters;
use crate::discover::{FileIdentity, UTF8_BOM};

/// A reader whose first read fails with the error that stopped the file from being opened,
/// so that it reaches the sink like any other read error.
pub(crate) struct FailingReader(Option<io::Error>);

impl FailingReader {
    /// A reader failing with `error`.
    pub fn new(error: io::Error) -> Self {
        FailingReader(Some(error))
    }
}

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// Whether the fetched file is still the listed one: an error if it was replaced (another
/// inode, another ETag) or is shorter than listed; `Ok(true)` if it grew.
pub(crate) fn check_unchanged(listed: &ObjectMeta, fetched: &GetResult) -> io::Result<bool> {
    let changed = |what: String| Err(io::Error::other(format!("{what} since it was listed")));
    match &fetched.payload {
        GetResultPayload::File(file, _) => {
            let meta = file.metadata()?;
            let now = FileIdentity::of(&meta).to_string();
            if listed.e_tag.as_ref().is_some_and(|was| *was != now) {
                return changed("the file was replaced (another file at its path)".into());
            }
            if meta.len() < listed.size {
                return changed(format!("the file shrank from {} to {} bytes", listed.size, meta.len()));
            }
            Ok(meta.len() > listed.size)
        }
        GetResultPayload::Stream(_) => {
            let now = &fetched.meta;
            if let (Some(was), Some(is)) = (&listed.e_tag, &now.e_tag)
                && was != is
            {
                return changed(format!("the object was overwritten (ETag {was} is now {is})"));
            }
            if now.size < listed.size {
                return changed(format!("the object shrank from {} to {} bytes", listed.size, now.size));
            }
            Ok(now.size > listed.size)
        }
    }
}

/// A blocking reader of exactly the bytes `range` of a GET's payload: an error if the file
/// ends before them (it shrank while it was read), and never more (it may be growing).
pub(crate) fn reader_of(
    payload: GetResultPayload,
    range: Range<u64>,
    handle: &tokio::runtime::Handle,
) -> io::Result<Box<dyn Read + Send>> {
    let len = range.end.saturating_sub(range.start);
    let inner: Box<dyn Read + Send> = match payload {
        GetResultPayload::File(mut f, _) => {
            f.seek(SeekFrom::Start(range.start))?;
            Box::new(f.take(len))
        }
        GetResultPayload::Stream(s) => Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
            tokio_util::io::StreamReader::new(s.map(|r| r.map_err(io::Error::other))),
            handle.clone(),
        )),
    };
    Ok(Box::new(ExactLength { inner, left: len, len }))
}

/// Fails with `UnexpectedEof` when the stream ends before `len` bytes.
struct ExactLength {
    inner: Box<dyn Read + Send>,
    left: u64,
    len: u64,
}

impl Read for ExactLength {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            let read = self.len - self.left;
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the file shrank while it was read: it ended after {read} of {} bytes", self.len),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// A reader that adds the bytes it reads to the `bytes_read` metric.
pub(crate) struct CountingReader {
    /// What it reads from.
    pub inner: Box<dyn Read + Send>,
    /// Whose `bytes_read` it adds to.
    pub counters: ScanCounters,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counters.bytes_read.add(n);
        Ok(n)
    }
}

/// Drops a UTF-8 byte-order mark at the start of a text stream; returns the stream and the
/// offset of its next byte (3 after a mark, else 0), so line offsets stay those of the file.
pub(crate) fn skip_bom(mut reader: Box<dyn Read + Send>) -> (Box<dyn Read + Send>, u64) {
    let mut head = [0u8; 3];
    let mut got = 0;
    while got < head.len() {
        match reader.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // The error comes back on the first read of the line reader.
            Err(e) => {
                let prefix = io::Cursor::new(head[..got].to_vec());
                return (Box::new(prefix.chain(FailingReader::new(e))), 0);
            }
        }
    }
    if head[..got] == *UTF8_BOM {
        (reader, UTF8_BOM.len() as u64)
    } else {
        (Box::new(io::Cursor::new(head[..got].to_vec()).chain(reader)), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(mut r: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn a_bom_is_dropped_and_nothing_else() {
        for (input, want, offset) in [
            (&b"\xEF\xBB\xBFa\nb"[..], &b"a\nb"[..], 3),
            (b"ab\n", b"ab\n", 0),
            (b"\xEF\xBB", b"\xEF\xBB", 0),
            (b"", b"", 0),
        ] {
            let (r, at) = skip_bom(Box::new(input));
            assert_eq!((all(r).unwrap(), at), (want.to_vec(), offset));
        }
    }

    #[test]
    fn a_stream_that_ends_early_is_an_error() {
        let short = ExactLength { inner: Box::new(&b"abc"[..]), left: 5, len: 5 };
        let e = all(short).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("after 3 of 5 bytes"), "{e}");
        let long = ExactLength { inner: Box::new(&b"abcdef"[..]), left: 4, len: 4 };
        assert_eq!(all(long).unwrap(), b"abcd");
    }
}
