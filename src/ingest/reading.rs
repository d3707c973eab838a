//! A source opened for reading at its checkpoint (`Reading`): its identity, how far it
//! has been handed to the sink, the checkpoints recorded as it goes and the last one
//! at its end. A pretty-printed JSON document is read whole here; anything else is
//! left to the caller as lines (`super::read_source`, `super::parallel`).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::checkpoint::{self, FileMark};
use super::lines::{LineReader, Position};
use super::parse::Parser;
use super::source::{self, Source};
use super::{Location, Options, Progress, Sink, Summary, document, scan};
use crate::error::{Error, Result};

/// The lines of a source being read.
pub(super) type Lines = LineReader<Box<dyn std::io::Read + Send>>;

/// A source being read as lines: what `begin` opened, and how far it got.
pub(super) struct Reading<'a> {
    source: &'a Source,
    options: &'a Options,
    pub(super) name: Arc<str>,
    prefix: Vec<u8>,
    device: u64,
    inode: u64,
    raw_bytes: Arc<AtomicU64>,
    /// Everything before this was handed to the sink.
    pub(super) consumed: Position,
    /// Reading stopped on request (`Options::stop`) before the end.
    pub(super) stopped: bool,
}

impl<'a> Reading<'a> {
    /// Opens a source at its checkpoint, with its lines from there. `None` when there is
    /// nothing to read as lines:
    /// a backup read completely before, or a pretty-printed document (read whole here).
    pub(super) fn begin(
        source: &'a Source,
        options: &'a Options,
        sink: &mut dyn Sink,
        parser: &mut Parser,
        raw_bytes: &Arc<AtomicU64>,
        summary: &mut Summary,
    ) -> Result<Option<(Reading<'a>, Lines)>> {
        let name: Arc<str> = source.display().into();
        let io_err = |e| Error::io(&*name, e);
        let opened = source::open(source, raw_bytes).map_err(io_err)?;
        summary.files.insert(source.display());
        let prefix = opened.prefix.clone();
        let (device, inode) = (opened.device, opened.inode);
        let start = match sink.resume_point(&prefix) {
            Some(mark) if mark.complete => {
                summary.files_resumed.insert(source.display());
                return Ok(None);
            }
            Some(mark) => {
                summary.files_resumed.insert(source.display());
                mark.position()
            }
            None => Position::START,
        };
        let mut reader = opened
            .reader_from(start.offset, raw_bytes.clone())
            .map_err(io_err)?;
        if start.offset == 0 && looks_like_document(&prefix) {
            // A pretty-printed JSON document (a webhook EventList, an Event Hubs batch),
            // streamed item by item; if it is not one after all, read as lines below.
            let location = Location {
                file: name.clone(),
                line: 1,
                item: None,
            };
            let max_item = options.max_line_bytes;
            match document::read(reader, max_item, parser, sink, summary, &location)
                .map_err(io_err)??
            {
                document::Document::Read(end) => {
                    if let Some(end) = end {
                        let mark =
                            checkpoint::mark_for(source.display(), device, inode, &prefix, end);
                        sink.reached(mark, &prefix)?;
                    }
                    return Ok(None);
                }
                document::Document::NotOne(again) => reader = again,
            }
        }
        let reading = Reading {
            source,
            options,
            name,
            prefix,
            device,
            inode,
            raw_bytes: raw_bytes.clone(),
            consumed: start,
            stopped: false,
        };
        Ok(Some((
            reading,
            LineReader::new(reader, options.max_line_bytes, start),
        )))
    }

    fn mark(&self) -> FileMark {
        let (name, prefix) = (self.source.display(), &self.prefix);
        checkpoint::mark_for(name, self.device, self.inode, prefix, self.consumed)
    }

    /// Everything up to `consumed` is in the sink: records the checkpoint (every MiB or
    /// so) and reports progress. Returns true when reading is to stop there.
    pub(super) fn reached(&mut self, sink: &mut dyn Sink, progress: &dyn Progress) -> Result<bool> {
        if !checkpoint::identifies(&self.prefix) {
            return Ok(false);
        }
        progress.bytes_read(self.raw_bytes.load(std::sync::atomic::Ordering::Relaxed));
        sink.reached(self.mark(), &self.prefix)?;
        self.stopped = self.options.stopped();
        Ok(self.stopped)
    }

    /// The source's last checkpoint: where reading ended.
    pub(super) fn end(self, sink: &mut dyn Sink, progress: &dyn Progress) -> Result<()> {
        progress.bytes_read(self.raw_bytes.load(std::sync::atomic::Ordering::Relaxed));
        if checkpoint::identifies(&self.prefix) {
            let mut mark = self.mark();
            // A rotated backup never grows again: later sightings of it (renamed,
            // gzipped) are skipped without being read.
            mark.complete = !self.stopped && source::is_rotated_backup(self.source);
            sink.reached(mark, &self.prefix)?;
        }
        Ok(())
    }
}

/// A file whose first line is only the start of a JSON value (`{`, `[`, `{"kind":…,`)
/// holds one pretty-printed document rather than one event per line.
/// Only a first line that opens a value and nothing else, or that opens the list of
/// events of an EventList, `records` batch or array, counts: an event line cut short
/// at the front of a log, or one a strict parser refuses, must not turn the log into
/// one broken document.
fn looks_like_document(prefix: &[u8]) -> bool {
    let text = prefix.strip_prefix(b"\xef\xbb\xbf").unwrap_or(prefix);
    let first_line = match memchr::memchr(b'\n', text) {
        Some(end) => &text[..end],
        None => return false,
    };
    let trimmed = first_line.trim_ascii();
    if trimmed == b"{" || trimmed == b"[" {
        return true;
    }
    if !matches!(trimmed.first(), Some(b'{' | b'[')) {
        return false;
    }
    let mut scan = scan::Scanner::new(scan::Limits::line(trimmed.len()));
    scan.feed(trimmed);
    scan.end().unclosed && scan.in_list()
}
