//! Ingest while the TUI is open: a thread reads the given logs (or follows the live
//! one) into the index, and the status line shows how far it got. Searches see its
//! work at each commit, so results grow as it goes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::index::writer::Writer;
use crate::ingest::{self, Progress as _, Summary, source::Source};

use super::state::Ingesting;

/// What to read.
pub enum Job {
    Replay(Vec<Source>),
    /// The live log and its directory, as `ingest::follow::resolve` found them.
    Follow {
        log: std::path::PathBuf,
        dir: std::path::PathBuf,
        poll: bool,
    },
}

/// Progress shared with the UI thread.
#[derive(Default)]
struct Shared {
    bytes: AtomicU64,
    total: u64,
    file: Mutex<String>,
    finished: Mutex<Option<String>>,
}

impl ingest::Progress for Shared {
    fn file_started(&self, source: &Source) {
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = source.display();
    }
    fn bytes_read(&self, total: u64) {
        self.bytes.store(total, Ordering::Relaxed);
    }
}

/// A running ingest.
pub struct Background {
    shared: Arc<Shared>,
    /// Following a live log ends only when asked; a replay ends by itself.
    following: bool,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<Summary>>,
}

impl Background {
    /// Starts reading on a new thread; the writer commits every `commit` so that
    /// searches see new requests soon.
    pub fn spawn(job: Job, mut writer: Writer, max_line_bytes: usize) -> Background {
        let stop = Arc::new(AtomicBool::new(false));
        let following = matches!(job, Job::Follow { .. });
        let total = match &job {
            Job::Replay(sources) => sources
                .iter()
                .filter_map(|s| match s {
                    Source::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
                    Source::Stdin => None,
                })
                .sum(),
            Job::Follow { .. } => 0,
        };
        let shared = Arc::new(Shared {
            total,
            ..Shared::default()
        });
        let options = ingest::Options {
            max_line_bytes,
            stop: Some(Arc::clone(&stop)),
            ..ingest::Options::default()
        };
        let (progress, flag) = (Arc::clone(&shared), Arc::clone(&stop));
        let handle = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let result = match &job {
                Job::Replay(sources) => ingest::run(sources, &options, &mut writer, &*progress),
                Job::Follow { log, dir, poll } => {
                    let follow = ingest::follow::FollowOptions {
                        poll: *poll,
                        tick: Duration::from_millis(if *poll { 250 } else { 1000 }),
                    };
                    let mut summary = Summary::default();
                    progress.file_started(&Source::File(log.clone()));
                    ingest::follow::follow(
                        log,
                        dir,
                        &options,
                        &follow,
                        &mut writer,
                        &flag,
                        &mut summary,
                    )
                    .map(|()| summary)
                }
            };
            // Commit what was read even when reading failed: the checkpoint matches it.
            let committed = writer.finish().map(drop);
            let outcome = result.and_then(|mut summary| {
                committed?;
                summary.seconds = started.elapsed().as_secs_f64();
                Ok(summary)
            });
            let line = match &outcome {
                Ok(s) => format!(
                    "ingest done: {} new requests, {} lines rejected{}",
                    s.requests,
                    s.rejected_lines(),
                    if s.file_errors.is_empty() {
                        String::new()
                    } else {
                        format!(", {} unreadable file(s)", s.file_errors.len())
                    }
                ),
                Err(e) => format!("ingest stopped: {e}"),
            };
            *progress.finished.lock().unwrap_or_else(|e| e.into_inner()) = Some(line);
            outcome
        });
        Background {
            shared,
            following,
            stop,
            handle,
        }
    }

    /// How far it got, for the status line.
    pub fn progress(&self) -> Ingesting {
        let finished = self
            .shared
            .finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ingesting {
            bytes: self.shared.bytes.load(Ordering::Relaxed),
            total: self.shared.total,
            file: self
                .shared
                .file
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            finished,
        }
    }

    /// Stops reading at the next checkpoint, commits, and returns what was read, and
    /// whether reading was cut short (a replay not finished when the TUI closed).
    pub fn finish(self) -> Result<(Summary, bool)> {
        let cut_short = !self.handle.is_finished() && !self.following;
        self.stop.store(true, Ordering::Relaxed);
        let summary = self
            .handle
            .join()
            .map_err(|_| Error::Internal("the ingest thread panicked".into()))??;
        Ok((summary, cut_short))
    }
}
