//! Log files in object stores: `s3://bucket/prefix/` (every object under it, recursively),
//! `s3://bucket/key` (one object) or `s3://bucket/logs/*.gz` (a glob over keys). The store's
//! endpoint, region and credentials come from the standard `AWS_*` environment variables
//! (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_ALLOW_HTTP` for a local S3-compatible server).

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use url::Url;

use crate::discover::{SniffedFile, decompressed_head, sniff_head};

/// Raw bytes fetched from the start of each object to sniff it (enough compressed input for
/// the 64 KiB of text sniffing looks at).
const SNIFF_RAW_BYTES: u64 = 1 << 20;
/// Objects sniffed at once.
const CONCURRENT_SNIFFS: usize = 8;

/// Whether `path` names an object store location (`scheme://…`, other than `file://`).
pub fn is_remote(path: &str) -> bool {
    path.split_once("://").is_some_and(|(scheme, _)| !scheme.is_empty() && scheme != "file")
}

/// A parsed object store location.
#[derive(Debug, Clone)]
pub struct RemotePath {
    /// The store: `s3://bucket`.
    pub store_url: Url,
    /// Key prefix to list (or the key of one object).
    pub prefix: Path,
    /// The glob the keys must match, when the location has `*`, `?` or `[`.
    pub pattern: Option<glob::Pattern>,
}

impl RemotePath {
    /// Parses `s3://bucket/prefix`; other schemes are errors naming the supported one.
    pub fn parse(text: &str) -> Result<RemotePath, String> {
        let url = Url::parse(text).map_err(|e| format!("{text}: not a valid URL: {e}"))?;
        if url.scheme() != "s3" {
            return Err(format!("{text}: object store scheme {:?} is not supported (use s3://)", url.scheme()));
        }
        let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| format!("{text}: no bucket"))?;
        let store_url = Url::parse(&format!("s3://{bucket}")).map_err(|e| format!("{text}: {e}"))?;
        let key = url.path().trim_start_matches('/');
        let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy().into_owned();
        let (prefix, pattern) = match key.find(['*', '?', '[']) {
            Some(at) => {
                let pattern = glob::Pattern::new(&key).map_err(|e| format!("{text}: bad glob: {e}"))?;
                let dir = key[..at].rfind('/').map_or("", |slash| &key[..slash]);
                (dir.to_string(), Some(pattern))
            }
            None => (key.clone(), None),
        };
        Ok(RemotePath { store_url, prefix: Path::from(prefix.as_str()), pattern })
    }

    /// The name of an object of this store as shown to users: `s3://bucket/key`.
    pub fn display(&self, location: &Path) -> String {
        format!("{}/{location}", self.store_url.as_str().trim_end_matches('/'))
    }
}

/// The store behind `store_url` (`s3://bucket`), configured from the environment.
pub fn store_for(store_url: &Url) -> Result<Arc<dyn ObjectStore>, String> {
    let bucket = store_url.host_str().unwrap_or_default();
    AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        .map_err(|e| format!("{store_url}: {e}"))
}

/// Lists and sniffs the objects of `text` (sorted by key; keys with a segment starting with
/// `.` are skipped, like hidden files). Runs on its own thread and runtime, so it can be
/// called from anywhere.
pub fn discover_remote(text: &str) -> Result<Vec<SniffedFile>, String> {
    let remote = RemotePath::parse(text)?;
    let store = store_for(&remote.store_url)?;
    std::thread::scope(|scope| {
        let job = scope.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime to list {text}: {e}"))?;
            runtime.block_on(async {
                let objects = list(&store, &remote).await.map_err(|e| format!("{text}: {e}"))?;
                let sniffed: Vec<SniffedFile> = futures::stream::iter(objects)
                    .map(|meta| sniff_object(&store, &remote, meta))
                    .buffered(CONCURRENT_SNIFFS)
                    .collect()
                    .await;
                Ok(sniffed)
            })
        });
        job.join().map_err(|_| format!("listing {text} failed"))?
    })
}

async fn list(store: &Arc<dyn ObjectStore>, remote: &RemotePath) -> object_store::Result<Vec<ObjectMeta>> {
    if remote.pattern.is_none() && !remote.prefix.as_ref().is_empty() {
        match store.head(&remote.prefix).await {
            Ok(meta) => return Ok(vec![meta]),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let prefix = (!remote.prefix.as_ref().is_empty()).then_some(&remote.prefix);
    let mut objects: Vec<ObjectMeta> = store
        .list(prefix)
        .try_filter(|m| {
            let hidden = m.location.parts().any(|p| p.as_ref().starts_with('.'));
            let matches = remote.pattern.as_ref().is_none_or(|p| p.matches(m.location.as_ref()));
            futures::future::ready(!hidden && matches)
        })
        .try_collect()
        .await?;
    objects.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(objects)
}

async fn sniff_object(store: &Arc<dyn ObjectStore>, remote: &RemotePath, meta: ObjectMeta) -> SniffedFile {
    let path = PathBuf::from(remote.display(&meta.location));
    let head = async {
        let len = meta.size.min(SNIFF_RAW_BYTES);
        let bytes = if len == 0 {
            bytes::Bytes::new()
        } else {
            store.get_range(&meta.location, 0..len).await.map_err(io::Error::other)?
        };
        decompressed_head(io::Cursor::new(bytes), meta.size)
    };
    sniff_head(path, head.await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_into_store_prefix_and_glob() {
        let r = RemotePath::parse("s3://logs/web/2026/").unwrap();
        assert_eq!((r.store_url.as_str(), r.prefix.as_ref()), ("s3://logs", "web/2026"));
        assert!(r.pattern.is_none());
        let r = RemotePath::parse("s3://logs/web/*/access*.gz").unwrap();
        assert_eq!(r.prefix.as_ref(), "web");
        assert!(r.pattern.unwrap().matches("web/2026/access-1.gz"));
        let r = RemotePath::parse("s3://logs/a%20b.log").unwrap();
        assert_eq!(r.display(&r.prefix), "s3://logs/a b.log");
        assert!(RemotePath::parse("gs://x/y").unwrap_err().contains("use s3://"));
        assert!(is_remote("s3://b/k") && !is_remote("/var/log") && !is_remote("file:///var/log"));
    }
}
