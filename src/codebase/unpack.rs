//! Unpacking GitHub's archive of a commit (a gzipped tar whose entries sit under one
//! `owner-repo-sha/` directory) into a snapshot directory, streamed and bounded.
//!
//! The archive is untrusted: an entry that would leave the snapshot (`..`, an absolute path,
//! a link pointing outside) or that is not a plain file, directory or link (devices, FIFOs) is
//! skipped. Links pointing inside become entries for their target's bytes. Limits bound the
//! compressed bytes read, the bytes written, the number of files and one file's size; the
//! declared sizes are checked before any byte of an entry is written (a "zip bomb" stops at
//! its header).
//!
//! A snapshot is two files, not a tree: a `pack` (the text files' bytes one after another,
//! in archive order) and its `index` (one JSON line per file: path, offset, length, whether it
//! is text; in path order). No path of the archive, nor any path the model asks for, is ever
//! a path of the file system: the tools look paths up in the index. A search reads the pack
//! in one sequential pass instead of opening ten thousand files, and unpacking writes two
//! files instead of ten thousand.

use std::collections::HashMap;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

/// Bounds on one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the compressed archive read at most.
    pub compressed_bytes: u64,
    /// Bytes of files written at most.
    pub unpacked_bytes: u64,
    /// Files written at most.
    pub files: u64,
    /// Larger files are skipped (the tools cannot read them; the rest of the snapshot is kept).
    pub file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            compressed_bytes: 256 * 1024 * 1024,
            unpacked_bytes: 1024 * 1024 * 1024,
            files: 100_000,
            file_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Why a snapshot could not be made.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The repository is larger than a limit: the review reads single files instead.
    #[error("the repository is larger than the snapshot's {0} limit")]
    TooLarge(&'static str),
    #[error("the archive could not be read")]
    Corrupt(#[source] io::Error),
    #[error("the snapshot could not be written")]
    Io(#[from] io::Error),
}

/// What went into the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unpacked {
    pub files: u64,
    pub bytes: u64,
    /// Entries left out, with the reason (at most [`MAX_SKIPPED_LISTED`] listed).
    pub skipped: Vec<(String, &'static str)>,
    pub skipped_count: u64,
}

/// Skipped entries listed at most (the rest are counted).
pub const MAX_SKIPPED_LISTED: usize = 50;

impl Unpacked {
    fn skip(&mut self, path: impl Into<String>, why: &'static str) {
        self.skipped_count += 1;
        if self.skipped.len() < MAX_SKIPPED_LISTED {
            self.skipped.push((path.into(), why));
        }
    }
}

/// Counts the compressed bytes read and stops at the limit.
struct Counted<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::other(LimitHit("compressed size")));
        }
        Ok(n)
    }
}

#[derive(Debug)]
struct LimitHit(&'static str);

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} limit", self.0)
    }
}

impl std::error::Error for LimitHit {}

fn read_error(e: io::Error) -> UnpackError {
    if let Some(LimitHit(which)) = e.get_ref().and_then(|i| i.downcast_ref::<LimitHit>()) {
        return UnpackError::TooLarge(which);
    }
    UnpackError::Corrupt(e)
}

/// The entry's path inside the snapshot: the archive's top directory removed, every other
/// component a plain name. `None` for a path that would leave the snapshot.
fn inside(raw: &[u8]) -> Option<PathBuf> {
    confined(raw, true)
}

/// A path of a git tree (no top directory) inside the snapshot, by the same rules.
pub(crate) fn in_tree(raw: &[u8]) -> Option<PathBuf> {
    confined(raw, false)
}

fn confined(raw: &[u8], top: bool) -> Option<PathBuf> {
    let text = std::str::from_utf8(raw).ok()?;
    if text.contains('\0') || text.contains('\\') {
        return None;
    }
    let mut out = PathBuf::new();
    for (i, component) in Path::new(text).components().enumerate() {
        match component {
            // GitHub's `owner-repo-sha/` directory.
            Component::Normal(_) if top && i == 0 => {}
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Where a link at `link` (inside the snapshot) pointing at `target` leads, when it stays
/// inside: resolved by its components, never through the file system.
pub(crate) fn link_target(link: &Path, target: &[u8], hard: bool) -> Option<PathBuf> {
    let text = std::str::from_utf8(target).ok()?;
    if hard {
        // Hard links name their target from the archive's root, top directory included.
        return inside(target);
    }
    let mut out: Vec<std::ffi::OsString> = link
        .parent()
        .map(|p| p.iter().map(ToOwned::to_owned).collect())
        .unwrap_or_default();
    for component in Path::new(text).components() {
        match component {
            Component::Normal(name) => out.push(name.to_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out.iter().collect())
}

/// Where a snapshot's pack and index live inside its directory.
pub fn pack_path(dest: &Path) -> PathBuf {
    dest.join("pack")
}

pub fn index_path(dest: &Path) -> PathBuf {
    dest.join("index")
}

/// One file of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Packed {
    pub path: String,
    /// Where its bytes are in the pack (text files only; binary files are listed, not kept).
    pub offset: u64,
    pub len: u64,
    pub text: bool,
    /// Over the snapshot's size limit for one file: listed with its size, its bytes not kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub too_large: bool,
}

/// Appends text files to the pack and every file to the index.
struct Writer {
    pack: BufWriter<std::fs::File>,
    offset: u64,
    index: Vec<Packed>,
    by_path: HashMap<PathBuf, usize>,
}

impl Writer {
    fn file(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let Some(name) = path.to_str() else {
            return Ok(());
        };
        let text = !bytes[..bytes.len().min(8192)].contains(&0);
        let offset = self.offset;
        if text {
            self.pack.write_all(bytes)?;
            self.offset += bytes.len() as u64;
        }
        self.by_path.insert(path.to_owned(), self.index.len());
        self.index.push(Packed {
            path: name.to_owned(),
            offset,
            len: bytes.len() as u64,
            text,
            too_large: false,
        });
        Ok(())
    }

    /// A file over the size limit: in the index with its size, so the tools can say why it
    /// cannot be read.
    fn too_large(&mut self, path: &Path, size: u64) {
        let Some(name) = path.to_str() else { return };
        self.by_path.insert(path.to_owned(), self.index.len());
        self.index.push(Packed {
            path: name.to_owned(),
            offset: 0,
            len: size,
            text: false,
            too_large: true,
        });
    }

    fn finish(mut self, dest: &Path) -> io::Result<()> {
        self.pack.flush()?;
        self.index.sort_by(|a, b| a.path.cmp(&b.path));
        self.index.dedup_by(|b, a| a.path == b.path);
        let mut out = BufWriter::new(super::disk::create_new(&index_path(dest))?);
        for entry in &self.index {
            serde_json::to_writer(&mut out, entry)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    }
}

/// Unpacks the gzipped tar `archive` (GitHub's tarball) into `dest` (an empty directory)
/// within `limits`.
pub fn unpack(archive: impl Read, dest: &Path, limits: &Limits) -> Result<Unpacked, UnpackError> {
    let counted = Counted {
        inner: archive,
        read: 0,
        limit: limits.compressed_bytes,
    };
    unpack_tar(
        flate2::read::GzDecoder::new(io::BufReader::with_capacity(256 * 1024, counted)),
        dest,
        limits,
    )
}

/// Unpacks an uncompressed tar, with the same rules: its first path component is the
/// archive's top directory and is dropped.
pub fn unpack_tar(
    archive: impl Read,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, UnpackError> {
    let mut tar = tar::Archive::new(archive);
    let mut out = Unpacking::new(dest, limits)?;
    let mut buf: Vec<u8> = Vec::new();
    for entry in tar.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw)
            .chars()
            .take(300)
            .collect::<String>();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() || kind.is_dir() {
            continue;
        }
        let Some(path) = inside(&raw) else {
            out.skip(shown, "its path leaves the snapshot");
            continue;
        };
        if path.as_os_str().is_empty() {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            let to = entry.link_name_bytes().map(|t| t.into_owned());
            let to = to.and_then(|t| link_target(&path, &t, kind.is_hard_link()));
            out.link(path, shown, to);
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let size = entry.header().size().map_err(read_error)?;
            if !out.admit(&path, shown, size)? {
                continue;
            }
            buf.clear();
            (&mut entry)
                .take(size)
                .read_to_end(&mut buf)
                .map_err(read_error)?;
            out.file(&path, &buf)?;
        } else {
            out.skip(shown, "not a plain file (a device or special file)");
        }
    }
    out.finish(dest)
}

/// A snapshot being written from any source (a tar, a git tree): files and links go in one at
/// a time, within the limits, and `finish` writes the index.
pub struct Unpacking<'l> {
    out: Writer,
    done: Unpacked,
    declared: u64,
    links: Vec<(PathBuf, PathBuf)>,
    limits: &'l Limits,
}

impl<'l> Unpacking<'l> {
    /// Starts the snapshot in `dest`, an empty directory.
    pub fn new(dest: &Path, limits: &'l Limits) -> Result<Self, UnpackError> {
        Ok(Self {
            out: Writer {
                pack: BufWriter::with_capacity(1 << 20, super::disk::create_new(&pack_path(dest))?),
                offset: 0,
                index: Vec::new(),
                by_path: HashMap::new(),
            },
            done: Unpacked::default(),
            declared: 0,
            links: Vec::new(),
            limits,
        })
    }

    /// An entry left out, and why.
    pub fn skip(&mut self, shown: impl Into<String>, why: &'static str) {
        self.done.skip(shown, why);
    }

    /// Whether the bytes of a file of `size` bytes at `path` are wanted: `false` when it is
    /// larger than one file may be (it is listed as such); an error when the snapshot would
    /// pass its file count or unpacked size. Asked before any byte of it is read.
    pub fn admit(&mut self, path: &Path, shown: String, size: u64) -> Result<bool, UnpackError> {
        let full = self.done.files >= self.limits.files;
        if size > self.limits.file_bytes {
            if full {
                return Err(UnpackError::TooLarge("file count"));
            }
            self.done
                .skip(shown, "larger than the snapshot's file size limit");
            self.out.too_large(path, size);
            self.done.files += 1;
            return Ok(false);
        }
        self.declared += size;
        if self.declared > self.limits.unpacked_bytes {
            return Err(UnpackError::TooLarge("unpacked size"));
        }
        if full {
            return Err(UnpackError::TooLarge("file count"));
        }
        Ok(true)
    }

    /// The bytes of a file `admit` wanted.
    pub fn file(&mut self, path: &Path, bytes: &[u8]) -> Result<(), UnpackError> {
        self.out.file(path, bytes)?;
        self.done.files += 1;
        self.done.bytes += bytes.len() as u64;
        Ok(())
    }

    /// A link at `path` to `to` (inside the snapshot), or to outside it (`None`: left out).
    pub fn link(&mut self, path: PathBuf, shown: String, to: Option<PathBuf>) {
        match to {
            Some(to) => self.links.push((path, to)),
            None => self
                .done
                .skip(shown, "a link pointing outside the snapshot"),
        }
    }

    /// Resolves the links and writes the index.
    pub fn finish(mut self, dest: &Path) -> Result<Unpacked, UnpackError> {
        let links = std::mem::take(&mut self.links);
        resolve_links(&mut self.out, links, self.limits, &mut self.done)?;
        self.out.finish(dest)?;
        Ok(self.done)
    }
}

/// Links pointing inside become entries for the bytes of the file they lead to (followed
/// through other links of the archive, a few at most); nothing is copied.
fn resolve_links(
    out: &mut Writer,
    links: Vec<(PathBuf, PathBuf)>,
    limits: &Limits,
    done: &mut Unpacked,
) -> Result<(), UnpackError> {
    let by_link: HashMap<PathBuf, PathBuf> = links.iter().cloned().collect();
    for (link, mut to) in links {
        for _ in 0..8 {
            match by_link.get(&to) {
                Some(next) => to = next.clone(),
                None => break,
            }
        }
        let Some(&target) = out.by_path.get(&to) else {
            done.skip(
                link.display().to_string(),
                "a link to no file of the snapshot",
            );
            continue;
        };
        if out.by_path.contains_key(&link) {
            continue;
        }
        if done.files >= limits.files {
            return Err(UnpackError::TooLarge("file count"));
        }
        let Some(name) = link.to_str() else { continue };
        let entry = Packed {
            path: name.to_owned(),
            ..out.index[target].clone()
        };
        out.by_path.insert(link.clone(), out.index.len());
        out.index.push(entry);
        done.files += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        assert_eq!(inside(b"o-r-1/src/a.rs"), Some(PathBuf::from("src/a.rs")));
        assert_eq!(inside(b"o-r-1/./src/a.rs"), Some(PathBuf::from("src/a.rs")));
        assert_eq!(inside(b"o-r-1/../etc/passwd"), None);
        assert_eq!(inside(b"/etc/passwd"), None);
        assert_eq!(inside(b"o-r-1/src/../../x"), None);
        assert_eq!(inside(b"o-r-1/a\\..\\b"), None);
        let link = Path::new("src/lib/a.rs");
        assert_eq!(
            link_target(link, b"../b.rs", false),
            Some(PathBuf::from("src/b.rs"))
        );
        assert_eq!(link_target(link, b"../../../etc/passwd", false), None);
        assert_eq!(link_target(link, b"/etc/passwd", false), None);
        assert_eq!(
            link_target(link, b"o-r-1/README.md", true),
            Some(PathBuf::from("README.md"))
        );
    }
}
