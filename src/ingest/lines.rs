//! Splits a byte stream into lines with a hard cap on line length, keeping every line's
//! number and byte offset. Memory stays bounded whatever the input: a line over the cap
//! is skipped (its size counted) without being buffered.

use std::io::{self, Read};

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
    max_line: usize,
    /// Position of the next line to be returned.
    next: Position,
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
            max_line,
            next: first,
        }
    }

    /// Position of the next line: after the last line returned, this is how far the
    /// stream has been consumed (what a checkpoint records).
    pub fn position(&self) -> Position {
        self.next
    }

    /// The next line and where it starts, or None at end of stream.
    pub fn next_line(&mut self) -> io::Result<Option<(Position, Line<'_>)>> {
        let at = self.next;
        let mut scanned = 0;
        loop {
            let pending = &self.buf[self.start..self.end];
            if let Some(i) = memchr::memchr(b'\n', &pending[scanned..]) {
                let len = scanned + i;
                let line_start = self.start;
                self.start += len + 1;
                self.advance(len as u64 + 1);
                if len > self.max_line {
                    return Ok(Some((
                        at,
                        Line::TooLong {
                            bytes: len as u64,
                            terminated: true,
                        },
                    )));
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
            scanned = pending.len();
            if pending.len() > self.max_line {
                let (bytes, terminated) = self.skip_rest_of_line()?;
                return Ok(Some((at, Line::TooLong { bytes, terminated })));
            }
            if self.eof {
                if pending.is_empty() {
                    return Ok(None);
                }
                let len = pending.len();
                let line_start = self.start;
                self.start = self.end;
                self.advance(len as u64);
                return Ok(Some((
                    at,
                    Line::Text {
                        bytes: &self.buf[line_start..line_start + len],
                        terminated: false,
                    },
                )));
            }
            self.fill()?;
        }
    }

    fn advance(&mut self, bytes: u64) {
        self.next.offset += bytes;
        self.next.line += 1;
    }

    /// Moves unread bytes to the front and reads more; grows the buffer only up to the cap.
    fn fill(&mut self) -> io::Result<()> {
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
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Discards the current (over-long) line up to and including its newline.
    fn skip_rest_of_line(&mut self) -> io::Result<(u64, bool)> {
        let mut skipped = 0u64;
        loop {
            let pending = &self.buf[self.start..self.end];
            if let Some(i) = memchr::memchr(b'\n', pending) {
                skipped += i as u64;
                self.start += i + 1;
                self.advance(skipped + 1);
                return Ok((skipped, true));
            }
            skipped += pending.len() as u64;
            self.start = 0;
            self.end = 0;
            if self.eof {
                self.advance(skipped);
                return Ok((skipped, false));
            }
            self.fill()?;
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
                Line::TooLong { bytes, terminated } => {
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
