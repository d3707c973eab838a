//! A pretty-printed JSON document (a webhook `EventList`, an Event Hubs `records`
//! batch, an array of events, or several objects one after another) read as a stream:
//! the lenient scan (`super::scan`) cuts it into its items, each item is parsed on its
//! own and salvaged if it does not parse, so memory stays bounded by the largest item
//! (`--max-line-bytes`), not by the document. A hostile 100 KB gzip of one huge array
//! cannot take gigabytes.
//!
//! A file whose first line only looked like the start of a document (an event cut at
//! the front, followed by ordinary lines) is read as lines instead, as long as that is
//! known within the first `--max-line-bytes` of it: that much is kept to read again.

use std::io::Read;

use super::lines::Position;
use super::scan::{Limits, Scanner};
use super::{Location, Parser, Sink, Summary, index_found};
use crate::error::Result;

/// Bytes fed to the scan at a time; see `read`.
const FEED: usize = 16 << 10;

/// Items held at most before the input is taken to be a document; see `read`.
const MAX_HELD: usize = 4096;

/// How reading a document ended.
pub(super) enum Document {
    /// Read to its end: the position after it, for the checkpoint; None when the
    /// document was still open at the end (being written?): it is read again next
    /// time, and what it held already is found there as duplicates.
    Read(Option<Position>),
    /// Not one document after all: its bytes, to be read as lines.
    NotOne(Box<dyn Read + Send>),
}

/// Reads `reader` (the whole content of a file) as one document into the sink.
pub(super) fn read(
    mut reader: Box<dyn Read + Send>,
    max_item: usize,
    parser: &mut Parser,
    sink: &mut dyn Sink,
    summary: &mut Summary,
    location: &Location,
) -> std::io::Result<Result<Document>> {
    let mut scan = Scanner::document(Limits::streaming(max_item));
    // Everything read, while the input may still turn out not to be a document.
    let mut replay: Option<Vec<u8>> = Some(Vec::new());
    let mut held = Vec::new();
    let mut chunk = vec![0; 1 << 20];
    let (mut bytes, mut lines) = (0u64, 0u64);
    let mut first = true;
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut data = &chunk[..n];
        if first {
            data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
            first = false;
        }
        bytes += n as u64;
        lines += memchr::memchr_iter(b'\n', &chunk[..n]).count() as u64;
        if let Some(kept) = &mut replay {
            kept.extend_from_slice(&chunk[..n]);
        }
        // Fed in small slices: a slice of a huge array of tiny values finds one item
        // per two bytes, and each is dealt with before the next slice.
        for slice in data.chunks(FEED) {
            scan.feed(slice);
            if scan.end().broken {
                break;
            }
            held.extend(scan.take_found());
            // Items are held only while the input may still be read again as lines:
            // no longer than `max_item` bytes of it or `MAX_HELD` items.
            if replay.as_ref().is_some_and(|kept| kept.len() > max_item) || held.len() > MAX_HELD {
                replay = None;
            }
            if replay.is_none() {
                for item in held.drain(..) {
                    if let Err(e) =
                        index_found(parser, sink, summary, item, location, true, None, 0)
                    {
                        return Ok(Err(e));
                    }
                }
            }
        }
        if scan.end().broken {
            if let Some(kept) = replay {
                let again = std::io::Cursor::new(kept).chain(reader);
                return Ok(Ok(Document::NotOne(Box::new(again))));
            }
            // Past the point of reading again: the rest is not JSON. What was read
            // stands; the rest is counted and rejected as one malformed record.
            std::io::copy(&mut reader, &mut Counter(&mut bytes, &mut lines))?;
            let at = Location {
                line: lines,
                ..location.clone()
            };
            summary.reject(
                at,
                super::Rejection::InvalidJson(
                    "the document breaks off into text that is not JSON".into(),
                ),
            );
            break;
        }
    }
    let end = scan.end();
    if end.unclosed || end.broken {
        if let Some(kept) = replay {
            return Ok(Ok(Document::NotOne(Box::new(std::io::Cursor::new(kept)))));
        }
        if end.unclosed {
            let at = Location {
                line: lines + 1,
                ..location.clone()
            };
            summary.reject(at, super::Rejection::Truncated);
        }
    }
    summary.lines += lines;
    summary.bytes += bytes;
    for item in held.into_iter().chain(scan.take_found()) {
        if let Err(e) = index_found(parser, sink, summary, item, location, true, None, 0) {
            return Ok(Err(e));
        }
    }
    let complete = !end.unclosed;
    Ok(Ok(Document::Read(complete.then_some(Position {
        line: lines + 1,
        offset: bytes,
    }))))
}

/// Counts what is written to it: the bytes and lines of a rest that is skipped.
struct Counter<'a>(&'a mut u64, &'a mut u64);

impl std::io::Write for Counter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        *self.0 += buf.len() as u64;
        *self.1 += memchr::memchr_iter(b'\n', buf).count() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
