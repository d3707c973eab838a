//! How far each file has been read, so that re-ingesting (or resuming after a crash)
//! reads every line exactly once. The index stores the checkpoint in the same commit as
//! the documents it covers.
//!
//! A file is recognized by a fingerprint of its first bytes of content (decompressed),
//! not by its name: a backup renamed by rotation, or later gzipped, is the same file.

use serde::{Deserialize, Serialize};

use super::lines::Position;

/// One file's read position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMark {
    /// Where the file was last seen (for `status` and messages; not used to match).
    pub path: String,
    pub device: u64,
    pub inode: u64,
    /// Number of leading content bytes the fingerprint covers.
    pub fingerprint_len: u32,
    /// xxh3 of those bytes, hex.
    pub fingerprint: String,
    /// Bytes of content read; everything before is indexed.
    pub offset: u64,
    /// 1-based number of the next line, so locations stay right after a resume.
    pub next_line: u64,
    /// Read to its end after it stopped growing (a rotated backup): later copies of it
    /// (renamed, gzipped) are skipped without being read.
    #[serde(default)]
    pub complete: bool,
}

impl FileMark {
    pub fn position(&self) -> Position {
        Position {
            line: self.next_line,
            offset: self.offset,
        }
    }
}

/// A prefix identifies a file once it holds a whole line (audit lines all start
/// alike; the auditID comes later in the line) or is as long as fingerprints get.
pub fn identifies(prefix: &[u8]) -> bool {
    prefix.len() >= super::source::FINGERPRINT_BYTES || memchr::memchr(b'\n', prefix).is_some()
}

pub fn fingerprint(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(bytes))
}

/// All files known to an index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub files: Vec<FileMark>,
}

impl Checkpoint {
    /// The mark of the file whose content starts with `prefix`, if any: the one read
    /// furthest when several match (a file and its compressed copy).
    pub fn find(&self, prefix: &[u8]) -> Option<&FileMark> {
        self.files
            .iter()
            .filter(|m| {
                let len = m.fingerprint_len as usize;
                len > 0 && len <= prefix.len() && fingerprint(&prefix[..len]) == m.fingerprint
            })
            .max_by_key(|m| m.offset)
    }

    /// Records how far a file has been read, replacing its earlier mark.
    pub fn record(&mut self, mark: FileMark, prefix: &[u8]) {
        self.files.retain(|m| {
            let len = m.fingerprint_len as usize;
            !(len <= prefix.len() && fingerprint(&prefix[..len]) == m.fingerprint)
        });
        self.files.push(mark);
    }

    pub fn to_payload(&self) -> String {
        serde_json::to_string(self).expect("checkpoint serializes")
    }

    pub fn from_payload(payload: &str) -> Result<Checkpoint, serde_json::Error> {
        serde_json::from_str(payload)
    }
}

/// A new mark for a file with this content prefix.
pub fn mark_for(path: String, device: u64, inode: u64, prefix: &[u8], at: Position) -> FileMark {
    FileMark {
        path,
        device,
        inode,
        fingerprint_len: prefix.len() as u32,
        fingerprint: fingerprint(prefix),
        offset: at.offset,
        next_line: at.line,
        complete: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grown_file_and_its_copy_are_recognized() {
        let mut cp = Checkpoint::default();
        let first = b"{\"auditID\":\"1\"}\n";
        cp.record(
            mark_for(
                "audit.log".into(),
                1,
                2,
                first,
                Position {
                    line: 2,
                    offset: 16,
                },
            ),
            first,
        );
        let grown = b"{\"auditID\":\"1\"}\n{\"auditID\":\"2\"}\n";
        assert_eq!(cp.find(grown).unwrap().offset, 16);
        assert!(cp.find(b"{\"auditID\":\"9\"}\n").is_none());
        // Recording the grown file replaces the shorter mark.
        cp.record(
            mark_for(
                "audit.log".into(),
                1,
                2,
                grown,
                Position {
                    line: 3,
                    offset: 32,
                },
            ),
            grown,
        );
        assert_eq!(cp.files.len(), 1);
        let back = Checkpoint::from_payload(&cp.to_payload()).unwrap();
        assert_eq!(back, cp);
    }
}
