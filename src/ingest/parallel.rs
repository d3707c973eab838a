//! Reading a source with worker threads. Its lines are cut into batches of about a MiB
//! at line boundaries; the workers parse, redact and prepare each batch's events
//! (`ParallelSink::preparer`: the writer builds their documents there) while this
//! thread reads on; this thread then hands each batch's events to the sink in log
//! order and records the checkpoint at the batch's end. The sink is shown exactly the
//! sequence a one-thread read shows it, so stage collapse, dedupe, checkpoints and the
//! summary come out the same: only where the parsing runs has changed.
//!
//! A line over `--max-line-bytes` is salvaged on this thread, after every batch before
//! it: its lenient scan belongs to the line reader.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::Scope;

use super::checkpoint::FileMark;
use super::lines::{Line, Position};
use super::parse::{ParsedEvent, Parser};
use super::source::Source;
use super::{
    Location, Options, Outcome, ParallelSink, Progress, Reading, Sink, Summary, handle_line,
};
use crate::error::{Error, Result};

/// Lines handed to a worker at a time: about as often as a one-thread read records a
/// checkpoint.
const BATCH_BYTES: usize = 1 << 20;

/// Consecutive whole lines of one source.
struct Batch {
    file: Arc<str>,
    text: Vec<u8>,
    /// Each line: where it starts, its bytes in `text`, whether a newline ended it.
    lines: Vec<(Position, Range<usize>, bool)>,
    /// Where the line after the batch's last newline-terminated line starts: the
    /// checkpoint once the batch is in the sink.
    end: Position,
}

impl Batch {
    fn new(file: Arc<str>, start: Position) -> Batch {
        Batch {
            file,
            text: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
            lines: Vec::new(),
            end: start,
        }
    }
}

/// A batch parsed: its events prepared, in order, and what was counted reading it.
struct Parsed<P> {
    events: Vec<P>,
    summary: Summary,
}

type Job<P> = (Batch, mpsc::SyncSender<Parsed<P>>);

/// The worker threads, and the batches handed to them and not yet to the sink, oldest
/// first.
pub(super) struct Pool<'scope, P> {
    options: &'scope Options,
    jobs: mpsc::Sender<Job<P>>,
    in_flight: VecDeque<(mpsc::Receiver<Parsed<P>>, Position)>,
    /// Batches read ahead at most: memory stays a few MiB whatever the log.
    read_ahead: usize,
}

impl<'scope, P: Send + 'scope> Pool<'scope, P> {
    /// Starts `options.parse_threads` workers in `scope`; they stop when the pool is
    /// dropped. `None` when not one thread could be started (a process limit).
    pub(super) fn start(
        scope: &'scope Scope<'scope, '_>,
        options: &'scope Options,
        preparer: &'scope (dyn Fn(&ParsedEvent<'_>) -> P + Send + Sync),
    ) -> Option<Pool<'scope, P>> {
        let (jobs, queue) = mpsc::channel::<Job<P>>();
        let queue = Arc::new(Mutex::new(queue));
        let mut started = 0;
        for _ in 0..options.parse_threads {
            let queue = Arc::clone(&queue);
            let worker = std::thread::Builder::new().name("kaudit-parse".into());
            let spawned = worker.spawn_scoped(scope, move || {
                let mut parser = Parser::default();
                loop {
                    // The lock is held only while waiting for the next batch.
                    let job = queue
                        .lock()
                        .map_err(drop)
                        .and_then(|q| q.recv().map_err(drop));
                    let Ok((batch, reply)) = job else { break };
                    // Nobody waits for the answer when reading stopped early.
                    let _ = reply.send(parse(&batch, options, preparer, &mut parser));
                }
            });
            // Past a process limit on threads, the workers there are do the work.
            if spawned.is_err() {
                break;
            }
            started += 1;
        }
        (started > 0).then(|| Pool {
            options,
            jobs,
            in_flight: VecDeque::new(),
            read_ahead: 2 * started + 1,
        })
    }

    /// Reads one source as `super::read_source` does, the lines parsed by the workers.
    pub(super) fn read_source<S: ParallelSink<Prepared = P>>(
        &mut self,
        source: &Source,
        sink: &mut S,
        progress: &dyn Progress,
        parser: &mut Parser,
        raw_bytes: &Arc<AtomicU64>,
        summary: &mut Summary,
    ) -> Result<()> {
        let options = self.options;
        let Some((mut reading, mut lines)) =
            Reading::begin(source, options, sink, parser, raw_bytes, summary)?
        else {
            return Ok(());
        };
        let read = self.read_lines(&mut reading, &mut lines, sink, progress, parser, summary);
        // Whatever ended the reading, the batches read so far reach the sink, as they
        // would have on one thread; unless it was asked to stop.
        let drained = if reading.stopped {
            self.in_flight.clear();
            Ok(true)
        } else {
            self.drain(&mut reading, sink, progress, summary)
        };
        read?;
        drained?;
        reading.end(sink, progress)
    }

    fn read_lines<S: ParallelSink<Prepared = P>>(
        &mut self,
        reading: &mut Reading<'_>,
        lines: &mut super::reading::Lines,
        sink: &mut S,
        progress: &dyn Progress,
        parser: &mut Parser,
        summary: &mut Summary,
    ) -> Result<()> {
        let name = reading.name.clone();
        let mut batch = Batch::new(name.clone(), reading.consumed);
        loop {
            let next = lines.next_line().map_err(|e| Error::io(&*name, e))?;
            let Some((at, line)) = next else { break };
            match line {
                Line::Text { bytes, terminated } => {
                    let start = batch.text.len();
                    batch.text.extend_from_slice(bytes);
                    batch.lines.push((at, start..batch.text.len(), terminated));
                    if !terminated {
                        // A line still being written: the checkpoint stays before it.
                        break;
                    }
                    batch.end = lines.position();
                    if batch.text.len() >= BATCH_BYTES {
                        let next = Batch::new(name.clone(), batch.end);
                        self.submit(std::mem::replace(&mut batch, next));
                        if self.in_flight.len() >= self.read_ahead
                            && self.apply_oldest(reading, sink, progress, summary)?
                        {
                            return Ok(());
                        }
                    }
                }
                too_long @ Line::TooLong { .. } => {
                    let end = batch.end;
                    self.submit(std::mem::replace(&mut batch, Batch::new(name.clone(), end)));
                    if self.drain(reading, sink, progress, summary)? {
                        return Ok(());
                    }
                    let options = self.options;
                    if !handle_line(parser, sink, summary, options, &name, at, too_long)? {
                        break;
                    }
                    batch.end = lines.position();
                    reading.consumed = batch.end;
                }
            }
        }
        self.submit(batch);
        Ok(())
    }

    fn submit(&mut self, batch: Batch) {
        if batch.lines.is_empty() {
            return;
        }
        let end = batch.end;
        let (reply, answer) = mpsc::sync_channel(1);
        self.jobs
            .send((batch, reply))
            .expect("the workers run as long as the pool");
        self.in_flight.push_back((answer, end));
    }

    /// Hands every batch in flight to the sink. Returns true when reading is to stop.
    fn drain<S: ParallelSink<Prepared = P>>(
        &mut self,
        reading: &mut Reading<'_>,
        sink: &mut S,
        progress: &dyn Progress,
        summary: &mut Summary,
    ) -> Result<bool> {
        while !self.in_flight.is_empty() {
            if self.apply_oldest(reading, sink, progress, summary)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Waits for the oldest batch in flight, hands its events to the sink and records
    /// the checkpoint after it. Returns true when reading is to stop there.
    fn apply_oldest<S: ParallelSink<Prepared = P>>(
        &mut self,
        reading: &mut Reading<'_>,
        sink: &mut S,
        progress: &dyn Progress,
        summary: &mut Summary,
    ) -> Result<bool> {
        let Some((answer, end)) = self.in_flight.pop_front() else {
            return Ok(false);
        };
        // A worker that panicked dropped its reply; the scope re-raises its panic.
        let parsed = answer.recv().expect("a parsing thread panicked");
        summary.absorb(parsed.summary);
        for event in parsed.events {
            summary.count(sink.prepared(event)?);
        }
        reading.consumed = end;
        reading.reached(sink, progress)
    }
}

/// A worker's parse of one batch: what `handle_line` does on one thread, with the sink
/// replaced by one that keeps the prepared events.
fn parse<P>(
    batch: &Batch,
    options: &Options,
    preparer: &(dyn Fn(&ParsedEvent<'_>) -> P + Send + Sync),
    parser: &mut Parser,
) -> Parsed<P> {
    let mut keep = Keep {
        preparer,
        events: Vec::with_capacity(batch.lines.len()),
    };
    let mut summary = Summary::default();
    for (at, range, terminated) in &batch.lines {
        let line = Line::Text {
            bytes: &batch.text[range.clone()],
            terminated: *terminated,
        };
        handle_line(
            parser,
            &mut keep,
            &mut summary,
            options,
            &batch.file,
            *at,
            line,
        )
        .expect("keeping an event cannot fail");
    }
    Parsed {
        events: keep.events,
        summary,
    }
}

/// The sink of a worker: prepares each event and keeps it for the reading thread.
struct Keep<'a, P> {
    preparer: &'a (dyn Fn(&ParsedEvent<'_>) -> P + Send + Sync),
    events: Vec<P>,
}

impl<P> Sink for Keep<'_, P> {
    fn resume_point(&self, _prefix: &[u8]) -> Option<FileMark> {
        None
    }

    fn event(&mut self, event: &ParsedEvent<'_>, _at: &Location) -> Result<Outcome> {
        self.events.push((self.preparer)(event));
        Ok(Outcome::Queued)
    }

    fn reached(&mut self, _mark: FileMark, _prefix: &[u8]) -> Result<()> {
        Ok(())
    }
}
