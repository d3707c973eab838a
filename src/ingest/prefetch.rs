//! Decompression beside parsing: a gzip backup is inflated on a thread of its own, a
//! few chunks ahead of the reader. One zlib stream inflates at ~280 MB/s per core; done
//! inline it took its share of the one thread that also parses, so a `.gz` replay fell
//! to 0.75x the plain file's rate as ingest got faster (issue 16).

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bytes inflated per chunk handed over.
const CHUNK: usize = 1 << 20;
/// Chunks inflated ahead of the reader: memory stays bounded at about this many MiB.
const AHEAD: usize = 4;

/// A reader whose bytes another thread reads from `inner`, in order, errors included
/// (after the bytes read before them). Dropping it stops and joins that thread.
pub struct Prefetch {
    chunks: Option<Receiver<io::Result<Vec<u8>>>>,
    chunk: Vec<u8>,
    at: usize,
    thread: Option<JoinHandle<()>>,
}

impl Prefetch {
    pub fn new(inner: impl Read + Send + 'static) -> Prefetch {
        let (to_reader, chunks) = sync_channel(AHEAD);
        let thread = std::thread::Builder::new()
            .name("kaudit-inflate".into())
            .spawn(move || fill_chunks(inner, to_reader))
            .expect("spawning a thread");
        Prefetch {
            chunks: Some(chunks),
            chunk: Vec::new(),
            at: 0,
            thread: Some(thread),
        }
    }
}

/// Reads `inner` to its end (or first error) in chunks of up to `CHUNK` bytes, sending
/// each; stops when the reader is gone.
fn fill_chunks(mut inner: impl Read, to_reader: SyncSender<io::Result<Vec<u8>>>) {
    loop {
        let mut chunk = vec![0; CHUNK];
        let mut filled = 0;
        let mut failed = None;
        while filled < CHUNK {
            match inner.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        chunk.truncate(filled);
        let ended = filled < CHUNK;
        if filled > 0 && to_reader.send(Ok(chunk)).is_err() {
            return;
        }
        if let Some(e) = failed {
            let _ = to_reader.send(Err(e));
            return;
        }
        if ended {
            return;
        }
    }
}

impl Read for Prefetch {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.at == self.chunk.len() {
            let Some(chunks) = &self.chunks else {
                return Ok(0);
            };
            match chunks.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.chunks = None;
                    return Err(e);
                }
                // The thread ended after the last chunk: the end of the stream.
                Err(_) => {
                    self.chunks = None;
                    return Ok(0);
                }
            }
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Its next send fails, so the thread ends after the chunk it is inflating.
        self.chunks = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out `data` a few bytes at a time, then fails if asked to.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        fail_at_end: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.at == self.data.len() {
                return if self.fail_at_end {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "truncated gzip",
                    ))
                } else {
                    Ok(0)
                };
            }
            let n = out.len().min(7919).min(self.data.len() - self.at);
            out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn every_byte_arrives_in_order_across_chunks() {
        let original = data(3 * CHUNK + 12_345);
        let mut read = Vec::new();
        let mut prefetch = Prefetch::new(Trickle {
            data: original.clone(),
            at: 0,
            fail_at_end: false,
        });
        prefetch.read_to_end(&mut read).unwrap();
        assert_eq!(read.len(), original.len());
        assert!(read == original, "bytes changed or reordered");
        assert_eq!(
            prefetch.read(&mut [0; 8]).unwrap(),
            0,
            "the end stays the end"
        );
    }

    #[test]
    fn an_error_comes_after_the_bytes_read_before_it() {
        let original = data(CHUNK + 100);
        let mut prefetch = Prefetch::new(Trickle {
            data: original.clone(),
            at: 0,
            fail_at_end: true,
        });
        let mut read = Vec::new();
        let e = prefetch.read_to_end(&mut read).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(read == original, "the bytes before the error were lost");
    }

    #[test]
    fn dropping_it_early_ends_its_thread() {
        let mut prefetch = Prefetch::new(io::repeat(b'x'));
        let mut some = [0; 100];
        prefetch.read_exact(&mut some).unwrap();
        drop(prefetch); // would hang here if the thread went on reading forever
    }
}
