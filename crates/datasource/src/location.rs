//! [`LogLocation`]: where logs are, as one type for local paths and object stores alike — a
//! file, a folder (read recursively) or a glob, on the local disk or under `s3://bucket/`.
//! Like DataFusion's `ListingTableUrl`, a location is a store ([`ObjectStoreUrl`]), a prefix
//! inside it ([`Path`]) and an optional glob the objects' paths must match.

use std::fmt;
use std::sync::Arc;

use datafusion::execution::object_store::ObjectStoreUrl;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use url::Url;

use crate::error::{Error, Result};

/// Characters that make a location a glob pattern.
const GLOB_CHARS: [char; 3] = ['*', '?', '['];

/// A parsed log location.
#[derive(Debug, Clone)]
pub struct LogLocation {
    /// The location as the user wrote it (for messages).
    text: String,
    /// The store: `file:///` or `s3://bucket/`.
    store: ObjectStoreUrl,
    /// The literal part: a file or folder path, or an object key or key prefix.
    prefix: Path,
    /// For local locations, `prefix` as a filesystem path.
    local_root: Option<std::path::PathBuf>,
    /// The pattern every object path must match, when the location holds `*`, `?` or `[`.
    glob: Option<glob::Pattern>,
}

impl LogLocation {
    /// Parses a local path (relative paths are taken from the current folder), a `file://`
    /// URL, or `s3://bucket[/key-or-prefix]`; each may end in a glob.
    pub fn parse(text: &str) -> Result<LogLocation> {
        match text.split_once("://") {
            Some(("file", _)) => {
                let url = Url::parse(text).map_err(|e| invalid(text, e))?;
                let path = url
                    .to_file_path()
                    .map_err(|()| Error::InvalidLocation { text: text.into(), message: "not a file path".into() })?;
                Self::local(text, &path.to_string_lossy())
            }
            Some((scheme, _)) if !scheme.is_empty() && !scheme.contains(['/', '\\']) && scheme.len() > 1 => {
                Self::remote(text, scheme)
            }
            _ => Self::local(text, text),
        }
    }

    fn local(text: &str, path: &str) -> Result<LogLocation> {
        let absolute = without_dots(&std::path::absolute(path).map_err(|e| invalid(text, e))?);
        let absolute_text = absolute.to_string_lossy().into_owned();
        let (root, glob) = match absolute_text.find(GLOB_CHARS) {
            Some(at) => {
                let pattern = glob::Pattern::new(&absolute_text)
                    .map_err(|e| Error::Glob { pattern: text.to_string(), message: e.to_string() })?;
                let dir = absolute_text[..at].rfind(std::path::MAIN_SEPARATOR).map_or("", |i| &absolute_text[..i]);
                let dir = if dir.is_empty() { std::path::MAIN_SEPARATOR_STR } else { dir };
                (std::path::PathBuf::from(dir), Some(pattern))
            }
            None => (absolute, None),
        };
        let prefix = Path::from_absolute_path(&root)
            .map_err(|_| Error::Unaddressable { path: logfusion_formats::escape_text(&root.to_string_lossy()) })?;
        Ok(LogLocation {
            text: text.to_string(),
            store: ObjectStoreUrl::local_filesystem(),
            prefix,
            local_root: Some(root),
            glob,
        })
    }

    fn remote(text: &str, scheme: &str) -> Result<LogLocation> {
        if scheme != "s3" {
            return Err(Error::UnsupportedScheme { text: text.into(), scheme: scheme.into() });
        }
        let url = Url::parse(text).map_err(|e| invalid(text, e))?;
        let bucket = url
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| Error::InvalidLocation { text: text.into(), message: "no bucket".into() })?;
        let store = ObjectStoreUrl::parse(format!("s3://{bucket}")).map_err(|e| invalid(text, e))?;
        let key = url.path().trim_start_matches('/');
        let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy().into_owned();
        let (prefix, glob) = match key.find(GLOB_CHARS) {
            Some(at) => {
                let pattern = glob::Pattern::new(&key)
                    .map_err(|e| Error::Glob { pattern: text.to_string(), message: e.to_string() })?;
                (key[..at].rfind('/').map_or("", |slash| &key[..slash]).to_string(), Some(pattern))
            }
            None => (key, None),
        };
        Ok(LogLocation { text: text.to_string(), store, prefix: Path::from(prefix.as_str()), local_root: None, glob })
    }

    /// The location as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The object store holding the location: `file:///` or `s3://bucket/`.
    pub fn store_url(&self) -> &ObjectStoreUrl {
        &self.store
    }

    /// Whether the location is on the local file system.
    pub fn is_local(&self) -> bool {
        self.local_root.is_some()
    }

    /// The literal part of the location: a file, a folder, a key or a key prefix.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// For a local location, its literal part as a filesystem path.
    pub fn local_root(&self) -> Option<&std::path::Path> {
        self.local_root.as_deref()
    }

    /// The glob object paths must match, if the location is a pattern. For local locations it
    /// matches absolute filesystem paths; for object stores, keys.
    pub fn glob(&self) -> Option<&glob::Pattern> {
        self.glob.as_ref()
    }

    /// The store itself: the local file system, or an S3 bucket configured from the standard
    /// `AWS_*` environment variables.
    pub fn object_store(&self) -> Result<Arc<dyn ObjectStore>> {
        store_for(&self.store)
    }
}

impl fmt::Display for LogLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The store behind `url` (`file:///` or `s3://bucket/`); S3 endpoint, region and credentials
/// come from the `AWS_*` environment variables.
pub fn store_for(url: &ObjectStoreUrl) -> Result<Arc<dyn ObjectStore>> {
    let parsed: &Url = url.as_ref();
    match parsed.scheme() {
        "file" => Ok(Arc::new(LocalFileSystem::new())),
        "s3" => {
            let bucket = parsed.host_str().unwrap_or_default();
            AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
                .map_err(|source| Error::Store { url: url.as_str().trim_end_matches('/').to_string(), source })
        }
        other => Err(Error::UnsupportedScheme { text: url.to_string(), scheme: other.to_string() }),
    }
}

/// The name of object `path` of store `store` as users see it, in `_file` and in rejects: the
/// absolute path of a local file, `s3://bucket/key` of an object.
pub fn display_name(store: &ObjectStoreUrl, path: &Path) -> String {
    let url: &Url = store.as_ref();
    if url.scheme() == "file" { local_display(path) } else { format!("{}{path}", store.as_str()) }
}

/// An object-store path of the local file system as a native path.
#[cfg(not(windows))]
fn local_display(path: &Path) -> String {
    format!("/{path}")
}

/// An object-store path of the local file system as a native path (`C:/logs/a.log`).
#[cfg(windows)]
fn local_display(path: &Path) -> String {
    path.to_string()
}

fn invalid(text: &str, e: impl fmt::Display) -> Error {
    Error::InvalidLocation { text: text.to_string(), message: e.to_string() }
}

/// `path` with `.` dropped and each `..` taking away the part before it, as a shell's `cd`
/// does (object store paths have no `..`; `--log-dir ../logs` must still work).
fn without_dots(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_store_locations_split_into_store_prefix_and_glob() {
        let l = LogLocation::parse("s3://logs/web/2026/").unwrap();
        assert_eq!((l.store_url().as_str(), l.prefix().as_ref()), ("s3://logs/", "web/2026"));
        assert!(l.glob().is_none() && !l.is_local());
        let l = LogLocation::parse("s3://logs/web/*/access*.gz").unwrap();
        assert_eq!(l.prefix().as_ref(), "web");
        assert!(l.glob().unwrap().matches("web/2026/access-1.gz"));
        let l = LogLocation::parse("s3://logs/a%20b.log").unwrap();
        assert_eq!(display_name(l.store_url(), l.prefix()), "s3://logs/a b.log");
        let e = LogLocation::parse("gs://x/y").unwrap_err().to_string();
        assert!(e.contains("\"gs\"") && e.contains("s3://"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn local_paths_globs_and_file_urls_are_one_kind() {
        let l = LogLocation::parse("/var/log/nginx").unwrap();
        assert!(l.is_local() && l.glob().is_none());
        assert_eq!(l.store_url().as_str(), "file:///");
        assert_eq!(display_name(l.store_url(), l.prefix()), "/var/log/nginx");
        let l = LogLocation::parse("/var/log/**/access*.log").unwrap();
        assert_eq!(l.local_root(), Some(std::path::Path::new("/var/log")));
        assert!(l.glob().unwrap().matches("/var/log/a/b/access-1.log"));
        let l = LogLocation::parse("file:///tmp/x.log").unwrap();
        assert_eq!(l.local_root(), Some(std::path::Path::new("/tmp/x.log")));
        let relative = LogLocation::parse("data").unwrap();
        assert!(relative.local_root().unwrap().is_absolute());
        let l = LogLocation::parse("/var/log/../tmp/./x/../logs").unwrap();
        assert_eq!(l.local_root(), Some(std::path::Path::new("/var/tmp/logs")));
        let up = LogLocation::parse("../logs").unwrap();
        assert!(!up.local_root().unwrap().components().any(|c| c == std::path::Component::ParentDir));
        let e = LogLocation::parse("/tmp/bad[glob").unwrap_err().to_string();
        assert!(e.contains("bad glob"), "{e}");
    }
}
