//! The repository at the reviewed commit, on disk: a read-only snapshot from GitHub's archive
//! endpoint, unpacked with limits (`unpack`), and the tools the model reads it with (`tools`).
//!
//! Snapshots are cached per (repository, commit) under one directory with a bounded total
//! size: the parallel parts of a review share one, a second review of the same commit reuses
//! it, and one no review holds is removed, oldest first, once the total is over the bound.
//! The directory is the process's own (`disk`): no other user reads or prepares a snapshot.

mod at_head;
mod disk;
pub mod local;
mod toolbox;
pub mod tools;
pub mod unpack;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::github::GitHubError;
use crate::ids::{CommitSha, RepoName};
pub use at_head::{Codebase, at_head};
pub use toolbox::{Source, Toolbox, Trace};
pub use tools::Tools;
pub use unpack::{Limits, UnpackError, Unpacked};

pub use crate::scratch::ScratchDir;
pub use disk::{PrivateDirError, private_dir};

/// Why there is no snapshot (the review then reads single files through the contents API).
/// Cheap to clone: every part of a review waiting on the same snapshot gets the error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SnapshotError {
    /// Over one of the snapshot's limits (the limit's name: `compressed size`, `file count`).
    #[error("the repository is larger than the snapshot's {0} limit")]
    TooLarge(&'static str),
    #[error("the archive could not be fetched")]
    Fetch(#[source] Arc<FetchError>),
    #[error(transparent)]
    Unpack(Arc<UnpackError>),
    /// The unpacking task panicked or was cancelled.
    #[error("the unpacker failed")]
    Unpacker(#[source] Arc<tokio::task::JoinError>),
}

/// Why the archive did not arrive.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// GitHub gave no download link.
    #[error(transparent)]
    Link(GitHubError),
    #[error("the download answered {0}")]
    Status(u16),
    /// The request failed or the body broke off (the link's URL, which holds a token, left
    /// out).
    #[error("the download broke off")]
    Download(#[source] reqwest::Error),
}

impl SnapshotError {
    fn fetch(e: FetchError) -> Self {
        SnapshotError::Fetch(Arc::new(e))
    }

    fn download(e: reqwest::Error) -> Self {
        SnapshotError::fetch(FetchError::Download(e.without_url()))
    }

    fn unpack(e: UnpackError) -> Self {
        match e {
            UnpackError::TooLarge(which) => SnapshotError::TooLarge(which),
            e => SnapshotError::Unpack(Arc::new(e)),
        }
    }
}

type Key = (RepoName, CommitSha);

struct Entry {
    dir: PathBuf,
    made: OnceCell<Result<Unpacked, SnapshotError>>,
    users: Mutex<(usize, Instant)>,
}

struct Inner {
    dir: PathBuf,
    max_bytes: u64,
    limits: Limits,
    http: reqwest::Client,
    entries: Mutex<HashMap<Key, Arc<Entry>>>,
}

/// The snapshot cache; cheap to clone.
#[derive(Clone)]
pub struct SnapshotStore {
    inner: Arc<Inner>,
}

/// A snapshot held by a review; the cache may remove it once no holder is left.
pub struct Snapshot {
    entry: Arc<Entry>,
    store: SnapshotStore,
}

impl Snapshot {
    pub fn dir(&self) -> &Path {
        &self.entry.dir
    }

    pub fn tools(&self) -> Tools {
        Tools::new(self.entry.dir.clone())
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        {
            let mut users = self.entry.users.lock().unwrap_or_else(|p| p.into_inner());
            users.0 = users.0.saturating_sub(1);
            users.1 = Instant::now();
        }
        self.store.evict();
    }
}

impl SnapshotStore {
    /// A cache under `dir` (created with mode 0700, and refused with a [`PrivateDirError`]
    /// when another user owns it or may enter it; the snapshots an earlier process left there
    /// are removed, nothing else) of at most `max_bytes` of snapshots no review holds.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64, limits: Limits) -> anyhow::Result<Self> {
        let dir = dir.into();
        private_dir(&dir)?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let name = entry.file_name();
            // `owner__repo-<40 hex>`, as `snapshot` names them.
            let b = name.as_encoded_bytes();
            let ours = b.len() > 41
                && b.windows(2).any(|w| w == b"__")
                && b[b.len() - 41] == b'-'
                && b[b.len() - 40..].iter().all(u8::is_ascii_hexdigit);
            // A link is removed, never followed.
            match entry.file_type() {
                Ok(kind) if ours && kind.is_dir() => {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
                Ok(kind) if ours && kind.is_symlink() => {
                    let _ = std::fs::remove_file(entry.path());
                }
                _ => {}
            }
        }
        // The link GitHub gave is the one place the archive comes from: no redirect is
        // followed to anywhere else.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("codex-review/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                dir,
                max_bytes,
                limits,
                http,
                entries: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The snapshot of `repo` at `sha`, made once from the archive at the URL `location`
    /// resolves to (GitHub's short-lived download link: fetched without credentials).
    pub async fn snapshot<F>(
        &self,
        repo: &RepoName,
        sha: &CommitSha,
        location: F,
    ) -> Result<Snapshot, SnapshotError>
    where
        F: std::future::Future<Output = Result<String, GitHubError>>,
    {
        let entry = {
            let mut entries = self.inner.entries.lock().unwrap_or_else(|p| p.into_inner());
            let key = (repo.clone(), sha.clone());
            let entry = entries
                .entry(key)
                .or_insert_with(|| {
                    let name = format!("{}-{}", repo.as_str().replace('/', "__"), sha.as_str());
                    Arc::new(Entry {
                        dir: self.inner.dir.join(name),
                        made: OnceCell::new(),
                        users: Mutex::new((0, Instant::now())),
                    })
                })
                .clone();
            entry.users.lock().unwrap_or_else(|p| p.into_inner()).0 += 1;
            entry
        };
        let holder = || Snapshot {
            entry: entry.clone(),
            store: self.clone(),
        };
        let made = entry
            .made
            .get_or_init(|| async {
                let url = location
                    .await
                    .map_err(|e| SnapshotError::fetch(FetchError::Link(e)))?;
                self.download(&url, &entry.dir).await
            })
            .await
            .clone();
        match made {
            Ok(_) => Ok(holder()),
            Err(e) => {
                // Dropping the holder releases the entry; a failed one is forgotten.
                drop(holder());
                let mut entries = self.inner.entries.lock().unwrap_or_else(|p| p.into_inner());
                entries.retain(|_, v| !Arc::ptr_eq(v, &entry));
                let _ = std::fs::remove_dir_all(&entry.dir);
                Err(e)
            }
        }
    }

    /// Streams the archive at `url` into a new snapshot directory, unpacking as it arrives.
    async fn download(&self, url: &str, dir: &Path) -> Result<Unpacked, SnapshotError> {
        let mut response = self
            .inner
            .http
            .get(url)
            .send()
            .await
            .map_err(SnapshotError::download)?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            return Err(SnapshotError::fetch(FetchError::Status(status)));
        }
        disk::fresh_dir(dir).map_err(|e| SnapshotError::unpack(UnpackError::Io(e)))?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(16);
        let (dest, limits) = (dir.to_owned(), self.inner.limits);
        let unpacking = tokio::task::spawn_blocking(move || {
            unpack::unpack(ChannelReader::new(rx), &dest, &limits)
        });
        let mut sent: u64 = 0;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    sent += chunk.len() as u64;
                    if sent > limits.compressed_bytes {
                        drop(tx);
                        let _ = unpacking.await;
                        return Err(SnapshotError::TooLarge("compressed size"));
                    }
                    if tx.send(chunk).is_err() {
                        // The unpacker stopped: its error says why.
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    drop(tx);
                    let _ = unpacking.await;
                    return Err(SnapshotError::download(e));
                }
            }
        }
        drop(tx);
        let result = unpacking
            .await
            .map_err(|e| SnapshotError::Unpacker(Arc::new(e)))?;
        result.map_err(SnapshotError::unpack)
    }

    /// Removes snapshots no review holds, oldest first, while the cache is over its bound.
    fn evict(&self) {
        let mut entries = self.inner.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut idle: Vec<(Instant, Key, u64)> = Vec::new();
        let mut total = 0u64;
        for (key, entry) in entries.iter() {
            let bytes = match entry.made.get() {
                Some(Ok(u)) => u.bytes,
                _ => continue,
            };
            total += bytes;
            let users = entry.users.lock().unwrap_or_else(|p| p.into_inner());
            if users.0 == 0 {
                idle.push((users.1, key.clone(), bytes));
            }
        }
        idle.sort_by_key(|(at, _, _)| *at);
        for (_, key, bytes) in idle {
            if total <= self.inner.max_bytes {
                break;
            }
            if let Some(entry) = entries.remove(&key) {
                let _ = std::fs::remove_dir_all(&entry.dir);
                total -= bytes;
            }
        }
    }

    /// Snapshots on disk (tests, metrics).
    pub fn len(&self) -> usize {
        self.inner
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The archive's chunks, as they arrive, for the blocking unpacker.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<bytes::Bytes>,
    current: bytes::Bytes,
}

impl ChannelReader {
    fn new(rx: std::sync::mpsc::Receiver<bytes::Bytes>) -> Self {
        Self {
            rx,
            current: bytes::Bytes::new(),
        }
    }
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(chunk) => self.current = chunk,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_chain::chain;
    use std::error::Error as _;

    #[test]
    fn a_missing_snapshot_keeps_its_cause_and_tells_it_once() {
        let link = GitHubError::decode(
            "get archive link",
            crate::github::Unexpected("a redirect without a Location"),
        );
        let e = SnapshotError::fetch(FetchError::Link(link));
        assert!(e.source().is_some());
        assert_eq!(e.to_string(), "the archive could not be fetched");
        assert_eq!(
            chain(&e.clone()),
            "the archive could not be fetched: GitHub sent an unexpected answer to get archive \
             link: a redirect without a Location"
        );

        let broken = std::io::Error::other("invalid gzip header");
        let e = SnapshotError::unpack(UnpackError::Corrupt(broken));
        assert!(e.source().is_some());
        assert!(!e.to_string().contains("invalid gzip header"), "{e}");
        assert_eq!(
            chain(&e),
            "the archive could not be read: invalid gzip header"
        );

        let e = SnapshotError::unpack(UnpackError::TooLarge("file count"));
        assert!(matches!(e, SnapshotError::TooLarge("file count")));
        assert_eq!(
            chain(&e),
            "the repository is larger than the snapshot's file count limit"
        );
    }
}
