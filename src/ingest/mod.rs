//! Reading logs: find them (`source`), split them into lines (`lines`), parse and
//! redact (`parse`, `redact`), and push every event into a [`Sink`]. Knows nothing of
//! tantivy: the index is one sink among others.

pub mod checkpoint;
mod document;
pub mod follow;
pub mod gke;
pub mod lines;
mod parallel;
pub mod parse;
mod prefetch;
mod reading;
pub mod redact;
pub mod salvage;
pub mod scan;
pub mod source;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Instant;

use checkpoint::FileMark;
use lines::{Line, Position};
use parse::{ParsedEvent, Parser, Rejection};
use reading::Reading;
use source::Source;

use crate::error::{Error, Result};

/// Where an event came from: `audit.log:12`, or `audit.log:12#3` for item 3 of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<str>,
    pub line: u64,
    pub item: Option<usize>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some(i) = self.item {
            write!(f, " (item {i})")?;
        }
        Ok(())
    }
}

/// What the sink did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A request not seen before.
    New,
    /// A further stage of a known request, folded into its document.
    Collapsed,
    /// The same stage of a known request again (overlapping copies, re-ingest).
    Duplicate,
    /// Prepared on a worker thread, to be handed to the sink in log order
    /// (`ParallelSink`): counted then, as one of the others.
    Queued,
}

/// Where events go.
pub trait Sink {
    /// Where reading a file should start: the mark of a file whose content begins
    /// with `prefix`, from an earlier run.
    fn resume_point(&self, prefix: &[u8]) -> Option<FileMark>;
    fn event(&mut self, event: &ParsedEvent<'_>, at: &Location) -> Result<Outcome>;
    /// Everything up to `mark` has been passed to `event`.
    fn reached(&mut self, mark: FileMark, prefix: &[u8]) -> Result<()>;
    /// Nothing to read for now (following a live log): a chance to commit. Returns
    /// how soon it wants to be called again (a commit falls due), if at all.
    fn idle(&mut self) -> Result<Option<std::time::Duration>> {
        Ok(None)
    }
}

/// A sink that takes events prepared on other threads. Reading then parses batches of
/// lines on worker threads, each event turned by `preparer` into what the sink keeps
/// (the writer builds its document there), and hands them to `prepared` in log order:
/// the sink sees what a one-thread read would show it (`ingest::parallel`).
pub trait ParallelSink: Sink {
    type Prepared: Send;
    /// What the worker threads run on each event.
    fn preparer(&self) -> Preparer<Self::Prepared>;
    /// An event the preparer made, in log order: the same effect as `Sink::event`.
    fn prepared(&mut self, event: Self::Prepared) -> Result<Outcome>;
}

/// See [`ParallelSink::preparer`].
pub type Preparer<P> = Box<dyn Fn(&ParsedEvent<'_>) -> P + Send + Sync>;

/// Called as reading proceeds (progress bars).
pub trait Progress {
    fn file_started(&self, _source: &Source) {}
    fn bytes_read(&self, _total: u64) {}
}

impl Progress for () {}

#[derive(Debug, Clone)]
pub struct Options {
    pub max_line_bytes: usize,
    /// Threads that parse lines besides the reading thread, for a `ParallelSink`; 0
    /// parses on the reading thread. `Options::default`: `default_parse_threads`.
    pub parse_threads: usize,
    /// Set from another thread to stop reading at the next checkpoint (every MiB); what
    /// was read is kept and a later run goes on from there.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_line_bytes: 16 << 20,
            parse_threads: default_parse_threads(),
            stop: None,
        }
    }
}

/// The parsing threads for this machine's cores (`parse_threads_for`).
pub fn default_parse_threads() -> usize {
    parse_threads_for(std::thread::available_parallelism().map_or(1, usize::from))
}

/// Parsing threads for `cores`: none up to 2 cores, where the reading thread and the
/// index's two threads keep both busy already and a worker gained nothing measurable
/// (README, Performance); beyond, about half of the others, as parsing is ~40% of
/// ingest's CPU and indexing ~50%.
pub fn parse_threads_for(cores: usize) -> usize {
    if cores <= 2 { 0 } else { (cores - 1) / 2 }
}

impl Options {
    fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// Per-reason rejection count with the first few places it happened.
#[derive(Debug, Default, Clone)]
pub struct RejectionStats {
    pub count: u64,
    pub first: Vec<(Location, String)>,
}

/// What an ingest run did: printed on stderr at the end.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Files opened (each counted once, however often a follower looks at it again).
    pub files: std::collections::BTreeSet<String>,
    /// Files recognized from an earlier run and read only past their checkpoint.
    pub files_resumed: std::collections::BTreeSet<String>,
    pub lines: u64,
    pub bytes: u64,
    pub requests: u64,
    pub collapsed: u64,
    pub duplicates: u64,
    pub rejected: BTreeMap<&'static str, RejectionStats>,
    /// Events indexed despite a problem worth knowing (an unreadable timestamp), by
    /// kind, with the first places.
    pub warnings: BTreeMap<&'static str, RejectionStats>,
    /// Files with unreadable parts, with the error; other files were still read.
    pub file_errors: Vec<String>,
    pub first_time: Option<i64>,
    pub last_time: Option<i64>,
    pub seconds: f64,
}

impl Summary {
    pub fn rejected_lines(&self) -> u64 {
        self.rejected.values().map(|r| r.count).sum()
    }

    fn reject(&mut self, at: Location, why: Rejection) {
        let stats = self.rejected.entry(why.class()).or_default();
        stats.count += 1;
        if stats.first.len() < 3 {
            stats.first.push((at, why.to_string()));
        }
    }

    fn warn(&mut self, at: Location, class: &'static str, why: String) {
        let stats = self.warnings.entry(class).or_default();
        stats.count += 1;
        if stats.first.len() < 3 {
            stats.first.push((at, why));
        }
    }

    /// Adds what a worker thread counted in one batch of lines (`ingest::parallel`),
    /// the batches taken in log order: the first places kept are the log's first.
    fn absorb(&mut self, part: Summary) {
        self.lines += part.lines;
        self.bytes += part.bytes;
        self.requests += part.requests;
        self.collapsed += part.collapsed;
        self.duplicates += part.duplicates;
        for (target, part) in [
            (&mut self.rejected, part.rejected),
            (&mut self.warnings, part.warnings),
        ] {
            for (class, stats) in part {
                let into = target.entry(class).or_default();
                into.count += stats.count;
                let room = 3usize.saturating_sub(into.first.len());
                into.first.extend(stats.first.into_iter().take(room));
            }
        }
        self.saw_time(part.first_time);
        self.saw_time(part.last_time);
    }

    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::New => self.requests += 1,
            Outcome::Collapsed => self.collapsed += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::Queued => {}
        }
    }

    fn saw_time(&mut self, t: Option<i64>) {
        if let Some(t) = t {
            self.first_time = Some(self.first_time.map_or(t, |f| f.min(t)));
            self.last_time = Some(self.last_time.map_or(t, |l| l.max(t)));
        }
    }
}

/// Reads every source in order into the sink. Unreadable files are reported in the
/// summary and skipped; bad lines are counted with their location; an error of the
/// sink (the index) stops the run.
pub fn run<S: ParallelSink>(
    sources: &[Source],
    options: &Options,
    sink: &mut S,
    progress: &dyn Progress,
) -> Result<Summary> {
    let preparer = sink.preparer();
    std::thread::scope(
        |scope| match parallel::Pool::start(scope, options, &*preparer) {
            Some(mut pool) => run_with(
                sources,
                options,
                progress,
                &mut |source, parser, raw, summary| {
                    pool.read_source(source, sink, progress, parser, raw, summary)
                },
            ),
            // No parsing threads: asked for none, or none could be started.
            None => run_with(
                sources,
                options,
                progress,
                &mut |source, parser, raw, summary| {
                    read_source(source, options, sink, progress, parser, raw, summary)
                },
            ),
        },
    )
}

/// Reads one source with a parser, adding to the bytes read and the summary.
type ReadOne<'a> =
    dyn FnMut(&Source, &mut Parser, &Arc<AtomicU64>, &mut Summary) -> Result<()> + 'a;

/// Reads every source in order with `read`, which reads one (on this thread, or with
/// the workers of `parallel`).
fn run_with(
    sources: &[Source],
    options: &Options,
    progress: &dyn Progress,
    read: &mut ReadOne<'_>,
) -> Result<Summary> {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut parser = Parser::default();
    let raw_bytes = Arc::new(AtomicU64::new(0));
    for source in sources {
        if options.stopped() {
            break;
        }
        progress.file_started(source);
        if let Err(e) = read(source, &mut parser, &raw_bytes, &mut summary) {
            match e {
                Error::Io { path, source } => summary
                    .file_errors
                    .push(format!("{}: {source}", path.display())),
                other => return Err(other),
            }
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Reads one source (a log file, a rotated or gzipped backup, stdin) from its checkpoint:
/// line by line, or as one streamed document when it starts as a multi-line JSON
/// document; each line parsed (or salvaged) and handed to `sink`, each rejection counted
/// in `summary` with its place, progress reported as bytes are read.
fn read_source(
    source: &Source,
    options: &Options,
    sink: &mut dyn Sink,
    progress: &dyn Progress,
    parser: &mut Parser,
    raw_bytes: &Arc<AtomicU64>,
    summary: &mut Summary,
) -> Result<()> {
    let Some((mut reading, mut lines)) =
        Reading::begin(source, options, sink, parser, raw_bytes, summary)?
    else {
        return Ok(());
    };
    let mut last_report = reading.consumed.offset;
    let name = reading.name.clone();
    while let Some((at, line)) = lines.next_line().map_err(|e| Error::io(&*name, e))? {
        let terminated = handle_line(parser, sink, summary, options, &name, at, line)?;
        if !terminated {
            // A line still being written: the checkpoint stays before it so a later run
            // reads it whole.
            break;
        }
        reading.consumed = lines.position();
        if reading.consumed.offset - last_report >= 1 << 20 {
            last_report = reading.consumed.offset;
            if reading.reached(sink, progress)? {
                break;
            }
        }
    }
    reading.end(sink, progress)
}

/// Handles one line read from a source; returns whether it was newline-terminated.
pub(crate) fn handle_line(
    parser: &mut Parser,
    sink: &mut dyn Sink,
    summary: &mut Summary,
    options: &Options,
    file: &Arc<str>,
    at: Position,
    line: Line<'_>,
) -> Result<bool> {
    summary.lines += 1;
    let location = Location {
        file: file.clone(),
        line: at.line,
        item: None,
    };
    match line {
        Line::TooLong {
            bytes,
            terminated,
            scan,
        } => {
            summary.bytes += bytes + u64::from(terminated);
            let salvaged = terminated
                && salvage_found(
                    parser,
                    sink,
                    summary,
                    scan,
                    &location,
                    Some(salvage::reason::TOO_LONG),
                    bytes,
                )?;
            if !salvaged {
                let limit = options.max_line_bytes;
                summary.reject(location, Rejection::TooLong { bytes, limit });
            }
            Ok(terminated)
        }
        Line::Text { bytes, terminated } => {
            summary.bytes += bytes.len() as u64 + u64::from(terminated);
            parse_record(parser, sink, summary, bytes, location, terminated)?;
            Ok(terminated)
        }
    }
}

/// Indexes what a lenient scan of an unparseable record found: each item that parses
/// on its own is read as usual, every other object is rebuilt from its readable
/// members (`salvage::rebuild`). Returns false when nothing was found to index (the
/// record is then rejected as a whole). A record cut short is never salvaged: what it
/// would hold cannot be known.
fn salvage_found(
    parser: &mut Parser,
    sink: &mut dyn Sink,
    summary: &mut Summary,
    scan: &mut scan::Scanner,
    location: &Location,
    line_reason: Option<&'static str>,
    record_bytes: u64,
) -> Result<bool> {
    if scan.end().unclosed {
        return Ok(false);
    }
    let found: Vec<scan::Found> = scan.take_found().collect();
    let mut indexed = false;
    for item in found {
        // An item of a list that parses alone is read as it would have been; the
        // record as a whole has failed already.
        let strict = item.index.is_some();
        indexed |= index_found(
            parser,
            sink,
            summary,
            item,
            location,
            strict,
            line_reason,
            record_bytes,
        )?;
    }
    Ok(indexed)
}

/// Indexes one object (or list element) a scan found: parsed whole when `strict` and
/// it parses, else rebuilt from its readable members. Returns whether it was dealt
/// with (indexed or rejected in its own name); false for a lone object with no
/// readable envelope, which the caller rejects.
#[allow(clippy::too_many_arguments)]
fn index_found(
    parser: &mut Parser,
    sink: &mut dyn Sink,
    summary: &mut Summary,
    item: scan::Found,
    location: &Location,
    strict: bool,
    line_reason: Option<&'static str>,
    record_bytes: u64,
) -> Result<bool> {
    let at = Location {
        item: item.index,
        line: location.line + item.line,
        ..location.clone()
    };
    let (text, bytes, members) = match item.shape {
        scan::Shape::NotObject(what) => {
            summary.reject(at, Rejection::NotAnObject(what));
            return Ok(true);
        }
        scan::Shape::Object {
            text,
            bytes,
            members,
        } => (text, bytes, members),
    };
    let bytes = if item.index.is_some() || record_bytes == 0 {
        bytes
    } else {
        record_bytes
    };
    if strict
        && let Some(text) = text.as_deref()
        && parser.is_valid_json(text)
    {
        if let Err(why) = parse_one(parser, sink, summary, text, at.clone(), Some(bytes), &[])? {
            summary.reject(at, why);
        }
        return Ok(true);
    }
    // An AKS record holds its event under properties.log.
    let rebuilt = salvage::rebuild(&members, line_reason).or_else(|| {
        let event = salvage::aks_event_members(&members)?;
        salvage::rebuild(&event, line_reason)
    });
    match rebuilt {
        Some(rebuilt) => {
            parser.rebuilt = true;
            let outcome = parse_one(
                parser,
                sink,
                summary,
                &rebuilt.json,
                at.clone(),
                Some(bytes),
                &rebuilt.unreadable,
            );
            parser.rebuilt = false;
            if let Err(why) = outcome? {
                summary.reject(at, why);
            }
            Ok(true)
        }
        None if item.index.is_some() || strict => {
            let why = if members.is_empty() {
                Rejection::NoAuditFields
            } else {
                Rejection::InvalidJson(
                    "not valid JSON, and no audit field (auditID, verb, requestURI, user, \
                     objectRef, stageTimestamp) is readable in it"
                        .into(),
                )
            };
            summary.reject(at, why);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Parses one record (a line, or a whole document) and hands its events to the sink.
/// A record a strict parse refuses is salvaged (`salvage_found`) before it is rejected.
fn parse_record(
    parser: &mut Parser,
    sink: &mut dyn Sink,
    summary: &mut Summary,
    bytes: &[u8],
    location: Location,
    terminated: bool,
) -> Result<()> {
    if bytes.trim_ascii().is_empty() {
        // Blank lines are not events and not errors.
        return Ok(());
    }
    let Err(why) = parse_one(parser, sink, summary, bytes, location.clone(), None, &[])? else {
        return Ok(());
    };
    let unreadable = matches!(
        why,
        Rejection::InvalidJson(_) | Rejection::InvalidUtf8 { .. } | Rejection::Binary { .. }
    );
    if unreadable {
        let record = parse::trim(bytes);
        let mut scan = scan::Scanner::new(scan::Limits::line(record.len()));
        scan.feed(record);
        let len = bytes.len() as u64;
        if salvage_found(parser, sink, summary, &mut scan, &location, None, len)? {
            return Ok(());
        }
    }
    // A last line without a newline that does not parse was cut off mid-write.
    let why = if terminated {
        why
    } else {
        Rejection::Truncated
    };
    summary.reject(location, why);
    Ok(())
}

/// Parses one record strictly and hands its events to the sink; returns the record's
/// own rejection, if any. `bytes`: the event's size in the log, when the record is a
/// rebuilt or cut-out copy of it; `unreadable`: what a rebuilt one could not keep.
fn parse_one(
    parser: &mut Parser,
    sink: &mut dyn Sink,
    summary: &mut Summary,
    record: &[u8],
    location: Location,
    bytes: Option<u64>,
    unreadable: &[String],
) -> Result<std::result::Result<(), Rejection>> {
    parser.parse_line(record, &mut |item, parsed| {
        let at = Location {
            item: item.or(location.item),
            ..location.clone()
        };
        match parsed {
            Ok(mut event) => {
                if let (Some(bytes), None) = (bytes, item) {
                    event.bytes = bytes;
                }
                if let Some(reason) = event.request.salvaged {
                    summary.warn(at.clone(), "salvaged", salvage::explain(reason, unreadable));
                }
                summary.saw_time(event.request.time());
                if let Some((field, text)) = event.request.bad_timestamp {
                    let fallback = if event.request.time().is_some() {
                        "timed by the other timestamp"
                    } else {
                        "kept without a time"
                    };
                    let text = crate::sanitize::clip(text, 40);
                    let why = format!("{field} {text:?} is not a valid time; {fallback}");
                    summary.warn(at.clone(), "unreadable timestamp", why);
                }
                summary.count(sink.event(&event, &at)?);
            }
            Err(why) => summary.reject(at, why),
        }
        Ok::<(), Error>(())
    })
}
