//! Splits a byte stream into lines with a hard cap on line length, keeping every line's
//! number and byte offset. Memory stays bounded whatever the input: a line over the cap
//! is skipped (its size counted) without being buffered, while a lenient scan
//! (`super::scan`) keeps what it needs to salvage the event's envelope.

use std::io::{self, Read};

use super::scan::{Limits, Scanner};

const CHUNK: usize = 1 << 20;

/// One line, without its `\n`.
pub enum Line<'a> {
    Text {
        bytes: &'a [u8],
        /// false for a last line with no newline after it (possibly still being written).
        terminated: bool,
    },
    TooLong {
        bytes: u64,
        terminated: bool,
        /// What a lenient scan of the skipped line found (see `ingest::salvage`).
        scan: &'a mut Scanner,
    },
}

/// Where a line starts: its 1-based number and byte offset in the (decompressed) stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: u64,
    pub offset: u64,
}

impl Position {
    pub const START: Position = Position { line: 1, offset: 0 };
}

pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Following a file that is still written: end of file means "no more yet", and a
    /// partial last line waits for its newline instead of being returned.
    tail: bool,
    /// Bytes of an over-long line skipped so far (it may span several reads).
    skipping: Option<u64>,
    max_line: usize,
    /// Position of the next line to be returned.
    next: Position,
    /// Scans an over-long line as it is skipped.
    scan: Scanner,
}

impl<R: Read> LineReader<R> {
    /// `first` is the position of the stream's first byte (non-zero when resuming).
    pub fn new(inner: R, max_line: usize, first: Position) -> LineReader<R> {
        LineReader {
            inner,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
            tail: false,
            skipping: None,
            max_line,
            next: first,
            scan: Scanner::new(Limits::streaming(0)),
        }
    }

    /// A reader for a file being written: see `tail`.
    pub fn tailing(inner: R, max_line: usize, first: Position) -> LineReader<R> {
        LineReader {
            tail: true,
            ..LineReader::new(inner, max_line, first)
        }
    }

    /// Stops tailing: the file will not grow any more (it was rotated away), so a
    /// partial last line is returned as it is.
    pub fn finish_tail(&mut self) {
        self.tail = false;
    }

    /// The stream being read.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Position of the next line: after the last line returned, this is how far the
    /// stream has been consumed (what a checkpoint records).
    pub fn position(&self) -> Position {
        self.next
    }

    /// Bytes read from the stream but not returned yet (a partial line while tailing).
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// The next line and where it starts, or None at end of stream (while tailing:
    /// when no complete line is available yet).
    pub fn next_line(&mut self) -> io::Result<Option<(Position, Line<'_>)>> {
        let at = self.next;
        loop {
            if let Some(skipped) = self.skipping {
                let pending = &self.buf[self.start..self.end];
                if let Some(i) = memchr::memchr(b'\n', pending) {
                    self.scan.feed(&pending[..i]);
                    let bytes = skipped + i as u64;
                    self.start += i + 1;
                    self.skipping = None;
                    self.advance(bytes + 1);
                    return Ok(Some((
                        at,
                        Line::TooLong {
                            bytes,
                            terminated: true,
                            scan: &mut self.scan,
                        },
                    )));
                }
                self.scan.feed(pending);
                self.skipping = Some(skipped + pending.len() as u64);
                self.start = 0;
                self.end = 0;
                if self.eof && !self.tail {
                    let bytes = self.skipping.take().unwrap_or(0);
                    self.advance(bytes);
                    return Ok(Some((
                        at,
                        Line::TooLong {
                            bytes,
                            terminated: false,
                            scan: &mut self.scan,
                        },
                    )));
                }
                if !self.fill()? {
                    return Ok(None);
                }
                continue;
            }
            let pending = &self.buf[self.start..self.end];
            if let Some(len) = memchr::memchr(b'\n', pending) {
                let line_start = self.start;
                self.start += len + 1;
                self.advance(len as u64 + 1);
                if len > self.max_line {
                    self.scan.reset();
                    self.scan.feed(&self.buf[line_start..line_start + len]);
                    let line = Line::TooLong {
                        bytes: len as u64,
                        terminated: true,
                        scan: &mut self.scan,
                    };
                    return Ok(Some((at, line)));
                }
                let bytes = &self.buf[line_start..line_start + len];
                return Ok(Some((
                    at,
                    Line::Text {
                        bytes,
                        terminated: true,
                    },
                )));
            }
            if pending.len() > self.max_line {
                self.scan.reset();
                self.skipping = Some(0);
                continue;
            }
            if self.eof && !self.tail {
                if pending.is_empty() {
                    return Ok(None);
                }
                let len = pending.len();
                let line_start = self.start;
                self.start = self.end;
                self.advance(len as u64);
                let bytes = &self.buf[line_start..line_start + len];
                return Ok(Some((
                    at,
                    Line::Text {
                        bytes,
                        terminated: false,
                    },
                )));
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    fn advance(&mut self, bytes: u64) {
        self.next.offset += bytes;
        self.next.line += 1;
    }

    /// Moves unread bytes to the front and reads more; grows the buffer only up to the
    /// cap. Returns false when tailing and nothing new is there yet.
    fn fill(&mut self) -> io::Result<bool> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).min(self.max_line + CHUNK);
            self.buf.resize(grown.max(self.buf.len() + 1), 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) if self.tail => return Ok(false),
                Ok(0) => {
                    self.eof = true;
                    return Ok(true);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], max: usize) -> Vec<(u64, u64, String)> {
        let mut r = LineReader::new(input, max, Position::START);
        let mut out = Vec::new();
        while let Some((pos, line)) = r.next_line().unwrap() {
            let text = match line {
                Line::Text { bytes, terminated } => {
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(bytes),
                        if terminated { "" } else { "<eof>" }
                    )
                }
                Line::TooLong {
                    bytes, terminated, ..
                } => {
                    format!("<{bytes} bytes{}>", if terminated { "" } else { " eof" })
                }
            };
            out.push((pos.line, pos.offset, text));
        }
        out
    }

    #[test]
    fn lines_positions_and_partial_last_line() {
        let got = collect(b"ab\n\ncde\nf", 100);
        assert_eq!(
            got,
            vec![
                (1, 0, "ab".into()),
                (2, 3, "".into()),
                (3, 4, "cde".into()),
                (4, 8, "f<eof>".into())
            ]
        );
    }

    #[test]
    fn tailing_holds_a_partial_line_until_its_newline() {
        // A reader over a growing buffer: a shared Vec the test appends to.
        use std::sync::{Arc, Mutex};
        #[derive(Clone)]
        struct Growing(Arc<Mutex<(Vec<u8>, usize)>>);
        impl Read for Growing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let mut g = self.0.lock().unwrap();
                let (data, pos) = &mut *g;
                let n = buf.len().min(data.len() - *pos);
                buf[..n].copy_from_slice(&data[*pos..*pos + n]);
                *pos += n;
                Ok(n)
            }
        }
        let file = Growing(Arc::new(Mutex::new((b"one\ntw".to_vec(), 0))));
        let mut r = LineReader::tailing(file.clone(), 100, Position::START);
        let first = match r.next_line().unwrap() {
            Some((_, Line::Text { bytes, .. })) => bytes.to_vec(),
            _ => panic!("first line"),
        };
        assert_eq!(first, b"one");
        assert!(r.next_line().unwrap().is_none(), "partial line is held");
        assert_eq!(r.buffered(), 2);
        file.0.lock().unwrap().0.extend_from_slice(b"o\nthree");
        match r.next_line().unwrap() {
            Some((pos, Line::Text { bytes, terminated })) => {
                assert_eq!(
                    (bytes, terminated, pos.line, pos.offset),
                    (&b"two"[..], true, 2, 4)
                );
            }
            _ => panic!("second line"),
        }
        assert!(r.next_line().unwrap().is_none());
        r.finish_tail();
        match r.next_line().unwrap() {
            Some((_, Line::Text { bytes, terminated })) => {
                assert_eq!((bytes, terminated), (&b"three"[..], false));
            }
            _ => panic!("rotated-away partial line"),
        }
    }

    #[test]
    fn long_lines_are_skipped_with_their_size() {
        let mut input = b"ok\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 5 * CHUNK));
        input.extend(b"\nafter\n");
        let got = collect(&input, 1000);
        assert_eq!(got[1].2, format!("<{} bytes>", 5 * CHUNK));
        assert_eq!(got[2], (3, 3 + 5 * CHUNK as u64 + 1, "after".into()));
        let tail = collect(&input[..3 + 2 * CHUNK], 1000);
        assert_eq!(tail[1].2, format!("<{} bytes eof>", 2 * CHUNK));
    }
}
