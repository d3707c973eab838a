//! Finding the logs to read and opening them: directories are searched for audit logs
//! and their rotated backups, replayed oldest first; gzip is recognized by its magic
//! bytes, never by name.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

use super::prefetch::Prefetch;
use regex::Regex;

use crate::error::Error;

/// How many leading bytes of content identify a file (see `checkpoint`).
pub const FINGERPRINT_BYTES: usize = 4096;

/// A log to read: a file, or standard input (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    /// How locations name this source: `audit.log:12`.
    pub fn display(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".to_string(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// The result of looking at the paths a user gave.
#[derive(Debug, Default)]
pub struct Discovery {
    pub sources: Vec<Source>,
    pub skipped: Skipped,
    /// Paths that could not be read; the others are still ingested.
    pub errors: Vec<Error>,
}

/// What a searched directory held that is not read, for the summary's notes.
#[derive(Debug, Default)]
pub struct Skipped {
    /// Files not named like logs (README.md, …).
    pub not_logs: Vec<PathBuf>,
    /// Entries named like logs that are not regular files (or links to them), with
    /// what they are: a FIFO would block ingest forever waiting for a writer, a device
    /// could be read without end or act when opened. Named as a PATH, one is read as
    /// a stream.
    pub not_regular: Vec<(PathBuf, &'static str)>,
}

/// What a file that is not a regular file is, in a note.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_dir() {
        "a link to a directory, not followed"
    } else {
        "not a regular file"
    }
}

/// What a file name says about its place in a rotation family.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    /// lumberjack backup `audit-2006-01-02T15-04-05.000.log[.gz]`: ordered by its time.
    Lumberjack(String),
    /// logrotate backup `audit.log.N[.gz]`: a higher N is older.
    Logrotate(std::cmp::Reverse<u64>),
    /// The log being written, `audit.log`: always last.
    Active,
}

static LUMBERJACK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3})\.log(\.gz)?$").unwrap()
});
static LOGROTATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(.+)\.log\.(\d+)(\.gz)?$").unwrap());

/// Family (base name) and role of a file name, if it is part of a rotation family.
fn rotation_role(name: &str) -> Option<(String, Role)> {
    if let Some(c) = LUMBERJACK.captures(name) {
        return Some((c[1].to_string(), Role::Lumberjack(c[2].to_string())));
    }
    if let Some(c) = LOGROTATE.captures(name) {
        let n = c[2].parse().ok()?;
        return Some((c[1].to_string(), Role::Logrotate(std::cmp::Reverse(n))));
    }
    let base = name.strip_suffix(".log")?;
    Some((base.to_string(), Role::Active))
}

/// A lumberjack or logrotate backup: a file that no longer grows.
pub fn is_rotated_backup(source: &Source) -> bool {
    let Source::File(path) = source else {
        return false;
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    matches!(
        rotation_role(&name),
        Some((_, Role::Lumberjack(_) | Role::Logrotate(_)))
    )
}

/// The base name of the rotation family a file name belongs to (`audit` for
/// `audit.log`, `audit-2026-…log.gz` and `audit.log.1`).
pub fn family_of(name: &str) -> Option<String> {
    rotation_role(name).map(|(family, _)| family)
}

/// Other names taken as logs when found in a directory.
fn is_standalone_log(name: &str) -> bool {
    [".jsonl", ".json", ".ndjson", ".gz"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Expands the given paths: files as given (any name), `-` as stdin, directories
/// searched recursively for logs. Within a directory, each rotation family is replayed
/// oldest first (lumberjack backups by their time, then logrotate backups from the
/// highest number down, then the active log); other logs follow in name order.
pub fn discover(paths: &[PathBuf]) -> Discovery {
    let mut d = Discovery::default();
    for path in paths {
        if path.as_os_str() == "-" {
            d.sources.push(Source::Stdin);
            continue;
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut d),
            Ok(_) => d.sources.push(Source::File(path.clone())),
            Err(e) => d.errors.push(Error::io(path, e)),
        }
    }
    d
}

/// Finds the logs under `dir`, recursively: in each directory, rotation families
/// (backups, then the live file) before other log files, in replay order; files that
/// are not logs, and entries that are not regular files (sockets, devices, FIFOs found
/// by walking), are noted as skipped. Symlinked files are read, symlinked directories
/// not followed.
fn walk(dir: &Path, d: &mut Discovery) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return d.errors.push(Error::io(dir, e)),
    };
    let mut files: Vec<(PathBuf, std::fs::FileType)> = Vec::new();
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => return d.errors.push(Error::io(dir, e)),
        };
        // Symlinked directories are not followed (loops); symlinked files are read.
        match entry.file_type() {
            Ok(t) if t.is_dir() => dirs.push(entry.path()),
            Ok(t) => files.push((entry.path(), t)),
            Err(e) => d.errors.push(Error::io(entry.path(), e)),
        }
    }
    // Sort key: family (or file name), families before other logs, role, name.
    type SortKey = (String, u8, Option<Role>, String);
    let mut ordered: Vec<(SortKey, PathBuf)> = Vec::new();
    for (path, file_type) in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let key = if let Some((family, role)) = rotation_role(&name) {
            (family, 0, Some(role), name)
        } else if is_standalone_log(&name) {
            (name.clone(), 1, None, name)
        } else {
            d.skipped.not_logs.push(path);
            continue;
        };
        // What a link points at decides; a broken link is kept, for its error.
        let target = match file_type.is_symlink() {
            true => std::fs::metadata(&path).map_or(file_type, |m| m.file_type()),
            false => file_type,
        };
        if target.is_file() || target.is_symlink() {
            ordered.push((key, path));
        } else {
            d.skipped.not_regular.push((path, kind_of(target)));
        }
    }
    ordered.sort();
    d.sources
        .extend(ordered.into_iter().map(|(_, p)| Source::File(p)));
    dirs.sort();
    for sub in dirs {
        walk(&sub, d);
    }
}

/// An opened source: its identity and first bytes (for the checkpoint), ready to read.
pub struct Opened {
    /// The first up to FINGERPRINT_BYTES bytes of content (decompressed).
    pub prefix: Vec<u8>,
    pub gzip: bool,
    pub device: u64,
    pub inode: u64,
    stream: Stream,
}

/// A gzip file: the magic bytes already read, then the rest of the file.
type GzipFile = MultiGzDecoder<Counted<io::Chain<Cursor<Vec<u8>>, File>>>;

enum Stream {
    Plain(File),
    Gzip(Box<GzipFile>),
    Stdin(Box<dyn Read + Send>),
}

/// Counts raw (compressed) bytes read, for the progress bar.
pub struct Counted<R> {
    inner: R,
    counter: std::sync::Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens a source and reads its first bytes. `raw_bytes` counts bytes read from disk.
pub fn open(source: &Source, raw_bytes: &std::sync::Arc<AtomicU64>) -> io::Result<Opened> {
    let (mut stream, gzip, device, inode) = match source {
        Source::Stdin => {
            let mut stdin = io::stdin().lock();
            let mut head = Vec::new();
            (&mut stdin).take(2).read_to_end(&mut head)?;
            let gzip = head == GZIP_MAGIC;
            let rest = Cursor::new(head).chain(io::stdin());
            let counted = Counted {
                inner: rest,
                counter: raw_bytes.clone(),
            };
            let reader: Box<dyn Read + Send> = if gzip {
                Box::new(MultiGzDecoder::new(counted))
            } else {
                Box::new(counted)
            };
            (Stream::Stdin(reader), gzip, 0, 0)
        }
        Source::File(path) => {
            let mut file = File::open(path)?;
            let meta = file.metadata()?;
            use std::os::unix::fs::MetadataExt;
            let mut head = Vec::new();
            (&mut file).take(2).read_to_end(&mut head)?;
            let gzip = head == GZIP_MAGIC;
            let counted = |inner| Counted {
                inner,
                counter: raw_bytes.clone(),
            };
            let stream = if !meta.is_file() {
                // A FIFO or a device named as a PATH (found ones are skipped by
                // `discover`): read once, as a stream like stdin; it cannot seek.
                let rest = counted(Cursor::new(head).chain(file));
                let reader: Box<dyn Read + Send> = if gzip {
                    Box::new(MultiGzDecoder::new(rest))
                } else {
                    Box::new(rest)
                };
                Stream::Stdin(reader)
            } else if gzip {
                Stream::Gzip(Box::new(MultiGzDecoder::new(counted(
                    Cursor::new(head).chain(file),
                ))))
            } else {
                file.seek(SeekFrom::Start(0))?;
                Stream::Plain(file)
            };
            (stream, gzip, meta.dev(), meta.ino())
        }
    };
    let mut prefix = Vec::with_capacity(FINGERPRINT_BYTES);
    (&mut stream)
        .take(FINGERPRINT_BYTES as u64)
        .read_to_end(&mut prefix)?;
    if let Stream::Plain(_) = stream {
        raw_bytes.fetch_add(prefix.len() as u64, Ordering::Relaxed);
    }
    Ok(Opened {
        prefix,
        gzip,
        device,
        inode,
        stream,
    })
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(f) => f.read(buf),
            Stream::Gzip(g) => g.read(buf),
            Stream::Stdin(s) => s.read(buf),
        }
    }
}

impl Opened {
    /// The content from byte `skip` on (a checkpointed offset). Plain files seek; gzip
    /// and stdin are read and discarded up to it.
    pub fn reader_from(
        self,
        skip: u64,
        raw_bytes: std::sync::Arc<AtomicU64>,
    ) -> io::Result<Box<dyn Read + Send>> {
        let Opened { prefix, stream, .. } = self;
        let have = prefix.len() as u64;
        if skip <= have {
            let mut head = Cursor::new(prefix);
            head.set_position(skip);
            return Ok(match stream {
                Stream::Plain(f) => Box::new(head.chain(Counted {
                    inner: f,
                    counter: raw_bytes,
                })),
                Stream::Gzip(g) => Box::new(head.chain(Prefetch::new(g))),
                other => Box::new(head.chain(other)),
            });
        }
        match stream {
            Stream::Plain(mut f) => {
                f.seek(SeekFrom::Start(skip))?;
                raw_bytes.fetch_add(skip - have, Ordering::Relaxed);
                Ok(Box::new(Counted {
                    inner: f,
                    counter: raw_bytes,
                }))
            }
            Stream::Gzip(g) => {
                let mut inflated = Prefetch::new(g);
                io::copy(&mut (&mut inflated).take(skip - have), &mut io::sink())?;
                Ok(Box::new(inflated))
            }
            mut other => {
                io::copy(&mut (&mut other).take(skip - have), &mut io::sink())?;
                Ok(Box::new(other))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_names() {
        assert_eq!(
            rotation_role("audit.log"),
            Some(("audit".into(), Role::Active))
        );
        assert_eq!(
            rotation_role("audit-2026-11-20T09-00-00.000.log.gz"),
            Some((
                "audit".into(),
                Role::Lumberjack("2026-11-20T09-00-00.000".into())
            ))
        );
        assert_eq!(
            rotation_role("audit.log.2.gz"),
            Some(("audit".into(), Role::Logrotate(std::cmp::Reverse(2))))
        );
        assert_eq!(rotation_role("notes.txt"), None);
    }

    #[test]
    fn replay_order_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "audit.log",
            "audit.log.1",
            "audit.log.2.gz",
            "audit-2026-11-20T10-00-00.000.log",
            "audit-2026-11-20T09-00-00.000.log.gz",
            "README.md",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let d = discover(&[dir.path().to_path_buf()]);
        let names: Vec<String> = d
            .sources
            .iter()
            .map(|s| match s {
                Source::File(p) => p.file_name().unwrap().to_string_lossy().into_owned(),
                Source::Stdin => "-".into(),
            })
            .collect();
        assert_eq!(
            names,
            [
                "audit-2026-11-20T09-00-00.000.log.gz",
                "audit-2026-11-20T10-00-00.000.log",
                "audit.log.2.gz",
                "audit.log.1",
                "audit.log"
            ]
        );
        assert_eq!(d.skipped.not_logs.len(), 1);
    }
}
