//! How far each file has been read, so that re-ingesting (or resuming after a crash)
//! reads every line exactly once. The index stores the checkpoint in the same commit as
//! the documents it covers.
//!
//! A file is recognized by a fingerprint of its first bytes of content (decompressed),
//! not by its name: a backup renamed by rotation, or later gzipped, is the same file.

use std::collections::{BTreeMap, HashMap};

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

/// How marks are looked up: the length of content a fingerprint covers, and its hash.
type Key = (u32, u64);

/// All files known to an index, in the order they were last recorded (the order the
/// payload lists them, and `index rebuild` reads them again).
///
/// Looking a file up used to hash its first bytes once per known mark, and recording
/// it did the same again: re-ingesting 20,000 unchanged files took 94 s, growing with
/// the square of their number. Marks are now found by (length, hash): a prefix is
/// hashed once, incrementally, with a digest at each length some mark covers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "Listed")]
pub struct Checkpoint {
    /// Marks by the order they were recorded in.
    marks: BTreeMap<u64, FileMark>,
    next: u64,
    by_key: HashMap<Key, u64>,
    /// How many marks cover each length: the lengths a prefix is hashed at.
    lengths: BTreeMap<u32, usize>,
}

/// The checkpoint as the commit payload stores it (unchanged since the first version).
#[derive(Deserialize)]
struct Listed {
    files: Vec<FileMark>,
}

impl From<Listed> for Checkpoint {
    fn from(listed: Listed) -> Checkpoint {
        let mut cp = Checkpoint::default();
        for mark in listed.files {
            cp.insert(mark);
        }
        cp
    }
}

impl Serialize for Checkpoint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct ListedRef<'a> {
            files: Vec<&'a FileMark>,
        }
        ListedRef {
            files: self.marks.values().collect(),
        }
        .serialize(serializer)
    }
}

impl PartialEq for Checkpoint {
    fn eq(&self, other: &Checkpoint) -> bool {
        self.marks.values().eq(other.marks.values())
    }
}

impl Eq for Checkpoint {}

fn key_of(mark: &FileMark) -> Option<Key> {
    let hash = u64::from_str_radix(&mark.fingerprint, 16).ok()?;
    Some((mark.fingerprint_len, hash))
}

impl Checkpoint {
    /// The marks, oldest recorded first.
    pub fn files(&self) -> impl ExactSizeIterator<Item = &FileMark> {
        self.marks.values()
    }

    pub fn len(&self) -> usize {
        self.marks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// The mark of the file whose content starts with `prefix`, if any: the one read
    /// furthest when several match (a file and its compressed copy).
    pub fn find(&self, prefix: &[u8]) -> Option<&FileMark> {
        self.matching(prefix)
            .filter(|(len, _)| *len > 0)
            .filter_map(|(_, seq)| self.marks.get(&seq))
            .max_by_key(|m| m.offset)
    }

    /// Records how far a file has been read, replacing its earlier mark (and those of
    /// shorter copies whose content it starts with).
    pub fn record(&mut self, mark: FileMark, prefix: &[u8]) {
        let superseded: Vec<u64> = self.matching(prefix).map(|(_, seq)| seq).collect();
        for seq in superseded {
            self.remove(seq);
        }
        self.insert(mark);
    }

    /// (covered length, sequence number) of every mark whose fingerprint matches the
    /// start of `prefix`: one pass over the prefix, whatever the number of marks.
    fn matching<'a>(&'a self, prefix: &'a [u8]) -> impl Iterator<Item = (u32, u64)> + 'a {
        let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
        let mut hashed = 0usize;
        let longest = u32::try_from(prefix.len()).unwrap_or(u32::MAX);
        self.lengths.range(..=longest).filter_map(move |(&len, _)| {
            hasher.update(&prefix[hashed..len as usize]);
            hashed = len as usize;
            #[cfg(test)]
            tests::DIGESTS.with(|d| d.set(d.get() + 1));
            let seq = *self.by_key.get(&(len, hasher.digest()))?;
            Some((len, seq))
        })
    }

    fn insert(&mut self, mark: FileMark) {
        let seq = self.next;
        self.next += 1;
        if let Some(key) = key_of(&mark) {
            // Two marks with one key (an old payload): keep the one read furthest, the
            // one `find` would have chosen.
            if let Some(&other) = self.by_key.get(&key) {
                if self.marks[&other].offset >= mark.offset {
                    return;
                }
                self.remove(other);
            }
            self.by_key.insert(key, seq);
            *self.lengths.entry(key.0).or_default() += 1;
        }
        self.marks.insert(seq, mark);
    }

    fn remove(&mut self, seq: u64) {
        let Some(mark) = self.marks.remove(&seq) else {
            return;
        };
        let Some(key) = key_of(&mark) else { return };
        self.by_key.remove(&key);
        if let Some(count) = self.lengths.get_mut(&key.0) {
            *count -= 1;
            if *count == 0 {
                self.lengths.remove(&key.0);
            }
        }
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
    use std::cell::Cell;

    use super::*;

    thread_local! {
        /// Digests taken while looking marks up, on this thread.
        pub(super) static DIGESTS: Cell<usize> = const { Cell::new(0) };
    }

    /// A one-line file's content, distinct per `n`, all of one length.
    fn content(n: usize) -> Vec<u8> {
        format!("{{\"auditID\":\"{n:08}\"}}\n").into_bytes()
    }

    fn mark(path: &str, prefix: &[u8]) -> FileMark {
        let at = Position {
            line: 2,
            offset: prefix.len() as u64,
        };
        mark_for(path.into(), 0, 0, prefix, at)
    }

    #[test]
    fn incremental_digests_equal_the_fingerprints() {
        let bytes: Vec<u8> = (0..FINGERPRINT_TEST_BYTES)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
        for len in 0..=bytes.len() {
            if len > 0 {
                hasher.update(&bytes[len - 1..len]);
            }
            assert_eq!(
                format!("{:016x}", hasher.digest()),
                fingerprint(&bytes[..len])
            );
        }
    }
    const FINGERPRINT_TEST_BYTES: usize = crate::ingest::source::FINGERPRINT_BYTES + 1;

    #[test]
    fn looking_a_file_up_costs_the_same_among_twenty_thousand() {
        let mut cp = Checkpoint::default();
        for n in 0..20_000 {
            let c = content(n);
            cp.record(mark(&format!("f{n}"), &c), &c);
        }
        DIGESTS.with(|d| d.set(0));
        let c = content(12_345);
        assert_eq!(cp.find(&c).unwrap().path, "f12345");
        cp.record(mark("moved", &c), &c);
        // One digest per distinct covered length (here one), not one per known file.
        assert_eq!(DIGESTS.with(Cell::get), 2);
        assert_eq!(cp.len(), 20_000);
        assert_eq!(cp.files().last().unwrap().path, "moved");
    }

    #[test]
    fn the_payload_keeps_its_form_and_its_order() {
        let mut cp = Checkpoint::default();
        let (a, b) = (content(1), content(2));
        cp.record(mark("a", &a), &a);
        cp.record(mark("b", &b), &b);
        cp.record(mark("a-again", &a), &a);
        let text = cp.to_payload();
        let listed: serde_json::Value = serde_json::from_str(&text).unwrap();
        let paths: Vec<&str> = listed["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, ["b", "a-again"]);
        let back = Checkpoint::from_payload(&text).unwrap();
        assert_eq!(back, cp);
        assert_eq!(back.find(&a).unwrap().path, "a-again");
    }

    #[test]
    fn a_grown_file_replaces_the_marks_of_its_shorter_copies() {
        let mut cp = Checkpoint::default();
        let short = b"{\"auditID\":\"1\"}\n".to_vec();
        let mut grown = short.clone();
        grown.extend_from_slice(b"{\"auditID\":\"2\"}\n");
        cp.record(mark("copy.gz", &short), &short);
        cp.record(mark("other", &content(5)), &content(5));
        cp.record(mark("audit.log", &grown), &grown);
        let paths: Vec<&str> = cp.files().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, ["other", "audit.log"]);
        assert_eq!(cp.find(&grown).unwrap().path, "audit.log");
        assert!(
            cp.find(&short).is_none(),
            "a shorter prefix is not the grown file"
        );
    }

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
        assert_eq!(cp.len(), 1);
        let back = Checkpoint::from_payload(&cp.to_payload()).unwrap();
        assert_eq!(back, cp);
    }
}
