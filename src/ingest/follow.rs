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

use super::checkpoint::{self, FileMark};
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
    file: File,
    reader: LineReader<File>,
    device: u64,
    inode: u64,
    /// The file's first bytes (up to FINGERPRINT_BYTES) as far as they exist yet.
    prefix: Vec<u8>,
}

impl Tailed {
    /// Opens the log, from where an earlier run stopped if it is recognized.
    fn open(path: &Path, sink: &dyn Sink, options: &Options) -> std::io::Result<Tailed> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let prefix = read_prefix(&file)?;
        let start = match sink.resume_point(&prefix) {
            Some(mark) if !prefix.is_empty() && mark.offset <= meta.len() => mark.position(),
            _ => Position::START,
        };
        let reading = file.try_clone()?;
        let mut positioned = reading;
        std::io::Seek::seek(&mut positioned, std::io::SeekFrom::Start(start.offset))?;
        Ok(Tailed {
            path: path.to_path_buf(),
            name: path.display().to_string().into(),
            reader: LineReader::tailing(positioned, options.max_line_bytes, start),
            file,
            device: meta.dev(),
            inode: meta.ino(),
            prefix,
        })
    }

    /// Bytes of the file read so far (consumed lines plus a held partial line).
    fn read_offset(&self) -> u64 {
        self.reader.position().offset + self.reader.buffered() as u64
    }

    fn mark(&mut self) -> std::io::Result<FileMark> {
        if self.prefix.len() < FINGERPRINT_BYTES {
            self.prefix = read_prefix(&self.file)?;
        }
        Ok(checkpoint::mark_for(
            self.path.display().to_string(),
            self.device,
            self.inode,
            &self.prefix,
            self.reader.position(),
        ))
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
        sink.idle()?;
        match rx.recv_timeout(follow.tick) {
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
    let mut watcher = notify::recommended_watcher(move |_event: notify::Result<notify::Event>| {
        let _ = tx.send(());
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
}

impl Follower {
    /// Reads the family's backups that are not (completely) read yet, oldest first.
    fn catch_up(&mut self, sink: &mut dyn Sink, summary: &mut Summary) -> Result<()> {
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
                    ) => {}
                Err(Error::Io { path, source }) => summary
                    .file_errors
                    .push(format!("{}: {source}", path.display())),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// One look at the log: read what is new, and follow any rotation.
    fn step(&mut self, sink: &mut dyn Sink, summary: &mut Summary) -> Result<()> {
        let io = |path: &Path, e| Error::io(path, e);
        self.drain(sink, summary)?;
        let meta = match std::fs::metadata(&self.log) {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&self.log, e)),
        };
        let rotated = match (&self.current, &meta) {
            (Some(t), Some(m)) => (m.dev(), m.ino()) != (t.device, t.inode),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if rotated {
            self.finish_current(sink, summary)?;
            self.catch_up(sink, summary)?;
        } else if let (Some(t), Some(m)) = (&mut self.current, &meta)
            && m.len() < t.read_offset()
        {
            // copytruncate: what was written between our last read and the copy is in
            // the copy, which has this file's fingerprint.
            let mark = t.mark().map_err(|e| io(&t.path, e))?;
            sink.reached(mark, &t.prefix.clone())?;
            self.current = None;
            self.catch_up(sink, summary)?;
            let t = Tailed::open(&self.log, sink, &self.options).map_err(|e| io(&self.log, e))?;
            self.current = Some(t);
        }
        if self.current.is_none() && meta.is_some() {
            match Tailed::open(&self.log, sink, &self.options) {
                Ok(t) => {
                    summary.files += 1;
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
        while let Some((at, line)) = t.reader.next_line().map_err(|e| Error::io(&t.path, e))? {
            handle_line(
                &mut self.parser,
                sink,
                summary,
                &self.options,
                &t.name,
                at,
                line,
            )?;
        }
        if t.reader.position() != before {
            let mark = t.mark().map_err(|e| Error::io(&t.path, e))?;
            let prefix = t.prefix.clone();
            sink.reached(mark, &prefix)?;
        }
        Ok(())
    }

    /// The log was rotated away: read the old file to its end (a partial last line
    /// too), and remember it as complete.
    fn finish_current(&mut self, sink: &mut dyn Sink, summary: &mut Summary) -> Result<()> {
        let Some(mut t) = self.current.take() else {
            return Ok(());
        };
        t.reader.finish_tail();
        while let Some((at, line)) = t.reader.next_line().map_err(|e| Error::io(&t.path, e))? {
            handle_line(
                &mut self.parser,
                sink,
                summary,
                &self.options,
                &t.name,
                at,
                line,
            )?;
        }
        let mut mark = t.mark().map_err(|e| Error::io(&t.path, e))?;
        if !t.prefix.is_empty() {
            mark.complete = true;
            sink.reached(mark, &t.prefix)?;
        }
        Ok(())
    }
}
