//! Following a live `audit.log` through rotation.
//!
//! The directory is watched (inotify through notify) only as a wake-up; on every wake,
//! and on a periodic tick as a fallback (`--poll` uses the tick alone, for NFS and
//! container mounts), the file at the log's path is checked:
//!
//! - new bytes: complete lines are read; a partial last line waits for its newline;
//! - another file at the path (lumberjack renamed the old one, created a new one): the old
//!   file is read to its end through the open descriptor, then the new one from its start;
//! - no file at the path (deleted, or not created yet): the old one is finished, and the
//!   path is watched for a new file;
//! - a shorter file (copytruncate): the copy is found among the backups by its
//!   fingerprint and read from where reading stopped, then the log restarts at 0.
//!
//! After each rotation the backups are visited again: a backup already read to its end
//! (also once gzipped) is recognized by its checkpoint and not read again.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::checkpoint::{self, FileMark, identifies};
use super::lines::{LineReader, Position};
use super::parse::Parser;
use super::source::{self, FINGERPRINT_BYTES, Source};
use super::{Options, Progress, Sink, Summary, handle_line, read_source};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Stat on a tick only; no inotify.
    pub poll: bool,
    /// How often the file is checked without a wake-up from inotify.
    pub tick: Duration,
}

/// The log file being followed.
struct Tailed {
    path: PathBuf,
    name: Arc<str>,
    /// For fstat and for comparing the file with what was read.
    file: File,
    reader: LineReader<Recorder>,
    device: u64,
    inode: u64,
    /// How far reading went while the file was verifiably still the one we opened:
    /// the checkpoint, and where the copy of a truncated file is read from.
    verified: Position,
}

/// How many of the last bytes read are kept to detect a rewritten file.
const LAST_READ_BYTES: usize = 256;

/// Reads the file and keeps what identifies it, from the bytes actually read (never
/// re-read later, when the file may already hold something else): its first bytes
/// (the fingerprint) and the last bytes read. If the file no longer holds them, it was
/// truncated and written again (copytruncate) and nothing read since can be trusted.
struct Recorder {
    file: File,
    /// Bytes read from the file so far: the offset of the next read.
    offset: u64,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl std::io::Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        let got = &buf[..n];
        if self.offset < FINGERPRINT_BYTES as u64 && self.head.len() as u64 == self.offset {
            let want = FINGERPRINT_BYTES - self.head.len();
            self.head.extend_from_slice(&got[..want.min(n)]);
        }
        self.tail.extend_from_slice(got);
        if self.tail.len() > LAST_READ_BYTES {
            self.tail.drain(..self.tail.len() - LAST_READ_BYTES);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

impl Tailed {
    /// Opens the log, from where an earlier run stopped if it is recognized.
    fn open(path: &Path, sink: &dyn Sink, options: &Options) -> std::io::Result<Tailed> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let prefix = read_prefix(&file)?;
        let start = match sink.resume_point(&prefix) {
            Some(mark) if identifies(&prefix) && mark.offset <= meta.len() => mark.position(),
            _ => Position::START,
        };
        let mut reading = file.try_clone()?;
        std::io::Seek::seek(&mut reading, std::io::SeekFrom::Start(start.offset))?;
        // Resuming mid-file, the first bytes come from the file as it is now: the
        // fingerprint match just said it is the same file.
        let head = if start.offset > 0 { prefix } else { Vec::new() };
        let recorder = Recorder {
            file: reading,
            offset: start.offset,
            head,
            tail: Vec::new(),
        };
        Ok(Tailed {
            path: path.to_path_buf(),
            name: path.display().to_string().into(),
            reader: LineReader::tailing(recorder, options.max_line_bytes, start),
            file,
            device: meta.dev(),
            inode: meta.ino(),
            verified: start,
        })
    }

    fn recorder(&self) -> &Recorder {
        self.reader.get_ref()
    }

    fn prefix(&self) -> &[u8] {
        &self.recorder().head
    }

    /// Bytes of the file read so far (consumed lines plus a held partial line).
    fn read_offset(&self) -> u64 {
        self.recorder().offset
    }

    /// The file no longer holds what was read from it: truncated and written again.
    fn rewritten(&self) -> std::io::Result<bool> {
        let r = self.recorder();
        let same_at = |offset: u64, expected: &[u8]| -> std::io::Result<bool> {
            let mut now = vec![0; expected.len()];
            let mut filled = 0;
            while filled < now.len() {
                match self
                    .file
                    .read_at(&mut now[filled..], offset + filled as u64)?
                {
                    0 => break,
                    n => filled += n,
                }
            }
            Ok(filled == expected.len() && now == expected)
        };
        let tail_start = r.offset - r.tail.len() as u64;
        Ok(!same_at(0, &r.head)? || !same_at(tail_start, &r.tail)?)
    }

    /// The checkpoint mark of what has been read and verified.
    fn mark(&self) -> FileMark {
        checkpoint::mark_for(
            self.path.display().to_string(),
            self.device,
            self.inode,
            self.prefix(),
            self.verified,
        )
    }
}

fn read_prefix(file: &File) -> std::io::Result<Vec<u8>> {
    let mut prefix = vec![0; FINGERPRINT_BYTES];
    let mut filled = 0;
    while filled < prefix.len() {
        match file.read_at(&mut prefix[filled..], filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    prefix.truncate(filled);
    Ok(prefix)
}

/// The directory and the log to follow, from what the user gave: the log file, or its
/// directory (where the one `*.log` that is not a backup is taken, else `audit.log`).
pub fn resolve(path: &Path) -> Result<(PathBuf, PathBuf)> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    // Absolute, so the live log is recognized among the files listed in its directory.
    let path = &std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_dir() {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        return Ok((dir.to_path_buf(), path.to_path_buf()));
    }
    let mut actives: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::io(path, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            name.ends_with(".log") && !source::is_rotated_backup(&Source::File(p.clone()))
        })
        .collect();
    actives.sort();
    let active = match actives.as_slice() {
        [one] => one.clone(),
        _ => path.join("audit.log"),
    };
    Ok((path.to_path_buf(), active))
}

/// Follows the log until `stop` is set: first the backups not read yet, then the live
/// file, through rotations.
pub fn follow(
    log: &Path,
    dir: &Path,
    options: &Options,
    follow: &FollowOptions,
    sink: &mut dyn Sink,
    stop: &AtomicBool,
    summary: &mut Summary,
) -> Result<()> {
    let family = log
        .file_name()
        .and_then(|n| source::family_of(&n.to_string_lossy()));
    let mut f = Follower {
        log: log.to_path_buf(),
        dir: dir.to_path_buf(),
        family,
        options: options.clone(),
        parser: Parser::default(),
        current: None,
        raw_bytes: Arc::new(AtomicU64::new(0)),
        retry: false,
        last_catch_up: std::time::Instant::now(),
    };
    f.catch_up(sink, summary)?;
    let (tx, rx) = mpsc::channel::<()>();
    // Held for the whole loop: dropping it stops the watch.
    let _watcher = if follow.poll {
        None
    } else {
        watch(dir, tx.clone())
    };
    while !stop.load(Ordering::Relaxed) {
        f.step(sink, summary)?;
        // Wake for the next commit as well, so new requests are searchable one commit
        // interval after they are written, not one tick later.
        let wait = match sink.idle()? {
            Some(due) => due.min(follow.tick),
            None => follow.tick,
        };
        match rx.recv_timeout(wait) {
            Ok(()) => while rx.try_recv().is_ok() {},
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(follow.tick),
        }
    }
    f.step(sink, summary)?;
    Ok(())
}

/// An inotify watch of the directory that sends a wake-up on any change; None (and
/// the tick alone) if the watch cannot be set up.
fn watch(dir: &Path, tx: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reads and opens (kaudit's own, among others) are no news.
        if !matches!(&event, Ok(e) if matches!(e.kind, notify::EventKind::Access(_))) {
            let _ = tx.send(());
        }
    })
    .ok()?;
    watcher
        .watch(dir, notify::RecursiveMode::NonRecursive)
        .ok()?;
    Some(watcher)
}

struct Follower {
    log: PathBuf,
    dir: PathBuf,
    family: Option<String>,
    options: Options,
    parser: Parser,
    current: Option<Tailed>,
    raw_bytes: Arc<AtomicU64>,
    /// A backup could not be read whole (a gzip still being written): look again.
    retry: bool,
    last_catch_up: std::time::Instant,
}

/// Backups are also looked at this often without a rotation, in case one was missed.
const CATCH_UP_EVERY: Duration = Duration::from_secs(10);
/// A backup that could not be read whole (a gzip being written) is retried this often.
const RETRY_EVERY: Duration = Duration::from_secs(1);

impl Follower {
    /// Reads the family's backups that are not (completely) read yet, oldest first.
    fn catch_up(&mut self, sink: &mut dyn Sink, summary: &mut Summary) -> Result<()> {
        self.retry = false;
        self.last_catch_up = std::time::Instant::now();
        let discovery = source::discover(std::slice::from_ref(&self.dir));
        for src in discovery.sources {
            let Source::File(path) = &src else { continue };
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let same_family = name.as_deref().and_then(source::family_of) == self.family;
            if *path == self.log || !same_family || path.parent() != Some(self.dir.as_path()) {
                continue;
            }
            let result = read_source(
                &src,
                &self.options,
                sink,
                &() as &dyn Progress,
                &mut self.parser,
                &self.raw_bytes,
                summary,
            );
            match result {
                Ok(()) => {}
                // A backup deleted between listing and opening, or a gzip still being
                // written: looked at again after the next rotation.
                Err(Error::Io { source, .. })
                    if matches!(
                        source.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::UnexpectedEof
                    ) =>
                {
                    self.retry = true;
                }
                Err(Error::Io { path, source }) => summary
                    .file_errors
                    .push(format!("{}: {source}", path.display())),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// One look at the log: follow any rotation, then read what is new. Rotation is
    /// checked before reading, so a file truncated and written again is never read from
    /// the old offset.
    fn step(&mut self, sink: &mut dyn Sink, summary: &mut Summary) -> Result<()> {
        let io = |path: &Path, e| Error::io(path, e);
        let since = self.last_catch_up.elapsed();
        if (self.retry && since >= RETRY_EVERY) || since >= CATCH_UP_EVERY {
            self.catch_up(sink, summary)?;
        }
        let meta = match std::fs::metadata(&self.log) {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&self.log, e)),
        };
        // Our file was renamed away, or deleted. A deleted file's inode number can be
        // reused at once by the new log, so a deleted (unlinked) file counts as rotated
        // even when the numbers match.
        let rotated = match (&self.current, &meta) {
            (Some(t), Some(m)) => {
                let unlinked = t.file.metadata().map_err(|e| io(&t.path, e))?.nlink() == 0;
                unlinked || (m.dev(), m.ino()) != (t.device, t.inode)
            }
            (Some(_), None) => true,
            (None, _) => false,
        };
        let mut truncated = false;
        if rotated {
            self.finish_current(sink, summary)?;
            self.catch_up(sink, summary)?;
        } else if let (Some(t), Some(m)) = (&mut self.current, &meta)
            && (m.len() < t.read_offset() || t.rewritten().map_err(|e| io(&t.path, e))?)
        {
            // copytruncate: what was written between our last read and the copy is in
            // the copy, which has this file's fingerprint: record how far we read, then
            // read the copy from there.
            truncated = true;
            if identifies(t.prefix()) {
                sink.reached(t.mark(), t.prefix())?;
            }
            self.current = None;
            self.catch_up(sink, summary)?;
        }
        if self.current.is_none() && meta.is_some() {
            // The log appeared (at start, or after a delete): it may have been rotated
            // already, more than once, before we looked.
            if !rotated && !truncated {
                self.catch_up(sink, summary)?;
            }
            match Tailed::open(&self.log, sink, &self.options) {
                Ok(t) => {
                    summary.files.insert(t.path.display().to_string());
                    self.current = Some(t);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&self.log, e)),
            }
        }
        self.drain(sink, summary)
    }

    /// Reads the complete lines available and records how far.
    fn drain(&mut self, sink: &mut dyn Sink, summary: &mut Summary) -> Result<()> {
        let Some(t) = &mut self.current else {
            return Ok(());
        };
        let before = t.reader.position();
        read_lines(&mut self.parser, &self.options, t, sink, summary)?;
        // Truncated and written again while we read: what was just read may be the
        // new content at old offsets. Record nothing; the next step handles the
        // truncation from the last verified position.
        if t.rewritten().map_err(|e| Error::io(&t.path, e))? {
            return Ok(());
        }
        t.verified = t.reader.position();
        if t.reader.position() != before && identifies(t.prefix()) {
            sink.reached(t.mark(), t.prefix())?;
        }
        Ok(())
    }

    /// The log was rotated away: read the old file to its end (a partial last line
    /// too), and remember it as complete.
    fn finish_current(&mut self, sink: &mut dyn Sink, summary: &mut Summary) -> Result<()> {
        let Some(mut t) = self.current.take() else {
            return Ok(());
        };
        if t.rewritten().map_err(|e| Error::io(&t.path, e))? {
            // Truncated and written again before it was renamed (copytruncate, then a
            // rename): the old content is in the copy, read from the last verified
            // position; the new content is a backup of its own, read by catch_up.
            if identifies(t.prefix()) {
                sink.reached(t.mark(), t.prefix())?;
            }
            return Ok(());
        }
        t.reader.finish_tail();
        read_lines(&mut self.parser, &self.options, &mut t, sink, summary)?;
        t.verified = t.reader.position();
        if identifies(t.prefix()) {
            let mut mark = t.mark();
            mark.complete = true;
            sink.reached(mark, t.prefix())?;
        }
        Ok(())
    }
}

/// Reads the lines the followed file has for now into the sink.
fn read_lines(
    parser: &mut Parser,
    options: &Options,
    t: &mut Tailed,
    sink: &mut dyn Sink,
    summary: &mut Summary,
) -> Result<()> {
    while let Some((at, line)) = t.reader.next_line().map_err(|e| Error::io(&t.path, e))? {
        handle_line(parser, sink, summary, options, &t.name, at, line)?;
    }
    Ok(())
}
