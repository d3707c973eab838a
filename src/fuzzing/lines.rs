//! `line_reader`: a byte stream, maybe gzip, through the bounded line reader with a
//! small cap, read in odd-sized pieces. Every line must be where the reader says, no
//! text line may exceed the cap, and every byte must be accounted for.
//!
//! Input: a mode byte, a schedule byte, then the payload. Mode bits 0-1: 1 = the
//! payload is a gzip file, 2 = the harness gzips it into two members, else plain;
//! bit 2: tail it (as `ingest --follow` does); bits 3-7: the line cap (0-31).

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::rc::Rc;

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use crate::ingest::lines::{Line, LineReader, Position};

/// Decompressed bytes read at most: a gzip bomb is cut off here (as a shorter stream).
const MAX_STREAM: usize = 1 << 20;

/// The harness (see the module comment for the input): reads the stream to its end,
/// checking each line's position, its length against the cap and that the positions
/// leave no byte out; a tailed stream is rotated away once exhausted.
pub fn line_reader(data: &[u8]) {
    let [mode, schedule, payload @ ..] = data else {
        return;
    };
    let max_line = usize::from(mode >> 3);
    let shared = Rc::new(Shared::default());
    shared.tailing.set(mode & 4 != 0);
    let stream: Box<dyn Read + '_> = match mode & 3 {
        1 => Box::new(MultiGzDecoder::new(payload)),
        2 => Box::new(MultiGzDecoder::new(io::Cursor::new(two_members(payload)))),
        _ => Box::new(payload),
    };
    let feed = Feed {
        inner: stream,
        schedule: *schedule,
        reads: 0,
        shared: shared.clone(),
    };
    let mut reader = if shared.tailing.get() {
        LineReader::tailing(feed, max_line, Position::START)
    } else {
        LineReader::new(feed, max_line, Position::START)
    };

    let mut next = Position::START;
    let mut ended = false;
    // Each round returns a line, or stalls while tailing; far fewer than this.
    for _ in 0..4 * MAX_STREAM {
        let (at, len, terminated) = match reader.next_line() {
            Err(e) => {
                // Only a corrupt gzip file fails; what came before it was checked.
                assert_eq!(mode & 3, 1, "{e}");
                return;
            }
            Ok(None) if shared.tailing.get() => {
                // No more for now. Once the stream has ended, the file is rotated away.
                if shared.exhausted.get() {
                    reader.finish_tail();
                    shared.tailing.set(false);
                }
                continue;
            }
            Ok(None) => break,
            Ok(Some((at, line))) => {
                let seen = shared.seen.borrow();
                let start = at.offset as usize;
                match line {
                    Line::Text { bytes, terminated } => {
                        assert!(bytes.len() <= max_line, "a line over the cap as text");
                        assert_eq!(seen.get(start..start + bytes.len()), Some(bytes));
                        assert!(!bytes.contains(&b'\n'));
                        (at, bytes.len(), terminated)
                    }
                    Line::TooLong {
                        bytes, terminated, ..
                    } => {
                        assert!(bytes > max_line as u64, "a line within the cap skipped");
                        let skipped = seen.get(start..start + bytes as usize);
                        assert!(skipped.is_some_and(|s| !s.contains(&b'\n')));
                        (at, bytes as usize, terminated)
                    }
                }
            }
        };
        let seen = shared.seen.borrow();
        assert!(!ended, "a line after the unterminated last one");
        assert_eq!(at, next, "line position");
        if terminated {
            assert_eq!(seen.get(at.offset as usize + len), Some(&b'\n'));
        } else {
            assert!(
                !shared.tailing.get(),
                "a partial line returned while tailing"
            );
            assert_eq!(
                at.offset as usize + len,
                seen.len(),
                "partial line before the end"
            );
            ended = true;
        }
        next = Position {
            line: at.line + 1,
            offset: at.offset + len as u64 + u64::from(terminated),
        };
        assert_eq!(reader.position(), next, "position after a line");
    }
    assert!(shared.exhausted.get(), "the reader stopped before the end");
    assert_eq!(
        next.offset,
        shared.seen.borrow().len() as u64,
        "bytes unaccounted"
    );
    assert_eq!(reader.buffered(), 0);
}

fn two_members(payload: &[u8]) -> Vec<u8> {
    let (a, b) = payload.split_at(payload.len() / 2);
    let mut out = Vec::new();
    for part in [a, b] {
        let mut gz = GzEncoder::new(&mut out, Compression::fast());
        gz.write_all(part)
            .and_then(|()| gz.finish().map(drop))
            .expect("in memory");
    }
    out
}

#[derive(Default)]
struct Shared {
    /// Every byte the reader was given, in order.
    seen: RefCell<Vec<u8>>,
    tailing: Cell<bool>,
    /// The stream has ended (or reached MAX_STREAM).
    exhausted: Cell<bool>,
}

/// Hands the stream out in pieces of sizes drawn from `schedule`, with interruptions
/// and, while tailing, moments when nothing new has been written yet.
struct Feed<'a> {
    inner: Box<dyn Read + 'a>,
    schedule: u8,
    reads: usize,
    shared: Rc<Shared>,
}

impl Read for Feed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        let (k, s) = (self.reads, usize::from(self.schedule));
        if s & 1 == 1 && k % 5 == 0 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        if s & 2 == 2 && k % 3 == 0 && self.shared.tailing.get() {
            return Ok(0);
        }
        let mut seen = self.shared.seen.borrow_mut();
        let piece = if s < 4 {
            buf.len()
        } else {
            1 + s * k * 31 % 131
        };
        let n = piece.min(buf.len()).min(MAX_STREAM - seen.len());
        let n = if n == 0 {
            0
        } else {
            self.inner.read(&mut buf[..n])?
        };
        if n == 0 {
            self.shared.exhausted.set(true);
        }
        seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}
