//! Writes requests into the index: one document per API request, stages collapsed into
//! it as they arrive, and the ingest checkpoint committed with the documents it covers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use tantivy::collector::TopDocs;
use tantivy::indexer::{LogMergePolicy, UserOperation};
use tantivy::query::Query;
use tantivy::{IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument};

use super::collapse::{Deferred, Known, Step};
use super::document::{self, StageMark, Stored};
use super::identity;
use super::prepared::{self, Body, Prepared};
use super::store::{Payload, Store};
use crate::error::{Error, Result};
use crate::ingest::checkpoint::{Checkpoint, FileMark};
use crate::ingest::parse::{ParsedEvent, RequestKey};
use crate::ingest::{Location, Outcome, ParallelSink, Preparer, Sink};
use crate::model::normalize::read_stored;

/// Requests remembered between commits. Past this many, the next commit forgets them
/// (they are then found in the index instead), which bounds memory on any log size:
/// what a commit lets go of is this map and tantivy's indexing memory, both growing
/// with the requests since the last commit. On 1 GB of the heldout shape, 200k instead
/// of 400k took peak RSS from ~310 MB to ~215 MB at the same speed; 100k was slower
/// (more commits).
const PENDING_CAP: usize = 200_000;
/// File in the index directory naming the process that holds the writer lock.
pub const HOLDER: &str = "writer.pid";

/// tantivy's indexing memory per indexing thread: a segment is written when its
/// thread's share is full (or at a commit, which comes first on logs shaped like real
/// ones: see `PENDING_CAP`).
const MEMORY_PER_INDEXING_THREAD: usize = 128 << 20;

/// Segments with fewer documents than this are merged, 8 of a size at a time (tantivy's
/// `LogMergePolicy`): the small ones that a follow or a slow read commits every
/// `--commit-interval`. Larger segments are left as written. Merging them cost more
/// than anything it gains: on 2 GB of the heldout shape, merges made ingest 40% slower
/// and took peak RSS from 220 to ~390 MB (the segments read through mmap count in it),
/// while queries and reports on 46 segments took what they took on 6.
const MERGE_BELOW_DOCS: usize = 50_000;

/// tantivy's indexing threads: the cores that the reading thread and the parsing
/// threads (`ingest::parse_threads_for`) leave, at least two (indexing is the larger
/// half of the work: two keep both cores of a small control-plane node busy beside the
/// reading thread) and at most tantivy's eight.
fn indexing_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let others = 1 + crate::ingest::parse_threads_for(cores);
    cores.saturating_sub(others).clamp(2, 8)
}

/// Operations handed to tantivy in one batch: one channel send instead of one per doc.
const BATCH: usize = 512;

/// Request keys are already xxh3 hashes: hashing them again (SipHash) is wasted work.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }
    fn write_u128(&mut self, key: u128) {
        self.0 = key as u64 ^ (key >> 64) as u64;
    }
}

pub struct Writer {
    store: Store,
    writer: IndexWriter,
    reader: IndexReader,
    checkpoint: Checkpoint,
    pending: HashMap<RequestKey, Known, BuildHasherDefault<KeyHasher>>,
    /// Requests received at or before this time may already be in the committed index
    /// (from an earlier run, or forgotten pending entries) and are looked up there.
    watermark: Option<i64>,
    newest_seen: Option<i64>,
    commit_interval: Duration,
    last_commit: Instant,
    uncommitted: bool,
    json_buf: Vec<u8>,
    ops: Vec<UserOperation>,
    /// Finished requests that received an earlier stage late: their stage lists are rewritten right after the next commit, when their
    /// documents can be read back.
    late_stages: Vec<RequestKey>,
}

impl Writer {
    /// Opens the index's one writer (tantivy's lock; a second writer is told who holds it),
    /// with the checkpoint of its last commit and the newest time already indexed (below
    /// which a request may be stored and must be looked up). Commits every
    /// `commit_interval` while events arrive.
    pub fn open(store: Store, commit_interval: Duration) -> Result<Writer> {
        let dir = store.dir.clone();
        let threads = indexing_threads();
        let memory = threads * MEMORY_PER_INDEXING_THREAD;
        let writer = match store.index.writer_with_num_threads(threads, memory) {
            Ok(w) => w,
            Err(tantivy::TantivyError::LockFailure(_, _)) => {
                let holder = super::trust::read_file(&dir, HOLDER)
                    .map(|h| format!(" ({})", h.trim()))
                    .unwrap_or_default();
                return Err(Error::IndexLocked { path: dir, holder });
            }
            Err(e) => return Err(Error::index(&dir, e)),
        };
        let mut merges = LogMergePolicy::default();
        merges.set_max_docs_before_merge(MERGE_BELOW_DOCS);
        writer.set_merge_policy(Box::new(merges));
        let reader = store
            .index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| Error::index(&dir, e))?;
        let checkpoint = store.payload()?.checkpoint;
        // Name ourselves as the holder of tantivy's writer lock, for a second writer's
        // error message and `kaudit status`.
        let command: Vec<String> = std::env::args().collect();
        let holder = format!("pid {}: {}", std::process::id(), command.join(" "));
        super::trust::write_file(&dir, HOLDER, holder.as_bytes())?;
        let mut w = Writer {
            store,
            writer,
            reader,
            checkpoint,
            pending: HashMap::default(),
            watermark: None,
            newest_seen: None,
            commit_interval,
            last_commit: Instant::now(),
            uncommitted: false,
            json_buf: Vec::new(),
            ops: Vec::with_capacity(BATCH),
            late_stages: Vec::new(),
        };
        w.watermark = w.newest_indexed()?;
        Ok(w)
    }

    /// Receive time of the newest request in the committed index; `Some(i64::MIN)` when
    /// the index holds only requests without a time.
    fn newest_indexed(&self) -> Result<Option<i64>> {
        let searcher = self.reader.searcher();
        if searcher.num_docs() == 0 {
            return Ok(None);
        }
        let top = searcher
            .search(
                &tantivy::query::AllQuery,
                &TopDocs::with_limit(1)
                    .order_by_fast_field::<tantivy::DateTime>(super::columns::TIME, Order::Desc),
            )
            .map_err(|e| Error::index(&self.store.dir, e))?;
        Ok(Some(
            top.first()
                .and_then(|(t, _)| t.map(|t| t.into_timestamp_micros()))
                .unwrap_or(i64::MAX),
        ))
    }

    /// The committed document of a request, if any.
    fn lookup(&self, key: RequestKey) -> Result<Option<Stored>> {
        let searcher = self.reader.searcher();
        let query = identity::query(&self.store.fields, key);
        let hits = searcher
            .search(&query, &TopDocs::with_limit(1).order_by_score())
            .map_err(|e| Error::index(&self.store.dir, e))?;
        let Some((_, addr)) = hits.first() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher
            .doc(*addr)
            .map_err(|e| Error::index(&self.store.dir, e))?;
        Ok(Some(document::stored(&self.store.fields, &doc)))
    }

    fn may_be_indexed(&self, received: Option<i64>) -> bool {
        match (self.watermark, received) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(w), Some(t)) => t <= w,
        }
    }

    /// Adds a document, after deleting the documents `replaced` matches (the request's
    /// earlier document, found by `identity::query`).
    fn write(&mut self, replaced: Option<Box<dyn Query>>, doc: TantivyDocument) -> Result<()> {
        if let Some(query) = replaced {
            // A delete by query is not one of a batch's operations: the adds before it
            // are sent first, so that it deletes them and not the add that follows.
            self.send_batch()?;
            self.writer
                .delete_query(query)
                .map_err(|e| self.write_failed(e))?;
        }
        self.ops.push(UserOperation::Add(doc));
        self.uncommitted = true;
        if self.ops.len() >= BATCH {
            self.send_batch()?;
        }
        Ok(())
    }

    fn send_batch(&mut self) -> Result<()> {
        if !self.ops.is_empty() {
            let ops = std::mem::replace(&mut self.ops, Vec::with_capacity(BATCH));
            self.writer.run(ops).map_err(|e| self.write_failed(e))?;
        }
        Ok(())
    }

    /// A write that failed: most often a full disk, when tantivy's writer thread dies.
    fn write_failed(&self, e: tantivy::TantivyError) -> Error {
        Error::IndexWrite {
            path: self.store.dir.clone(),
            detail: e.to_string(),
        }
    }

    /// Writes the documents of requests still waiting for their final stage.
    fn write_deferred(&mut self) -> Result<()> {
        let waiting: Vec<RequestKey> = self
            .pending
            .iter()
            .filter(|(_, known)| known.waits_for_commit())
            .map(|(key, _)| *key)
            .collect();
        for key in waiting {
            let known = self.pending.get_mut(&key).expect("key just listed");
            let Some(Deferred {
                replace,
                json,
                stages,
            }) = known.take_deferred()
            else {
                continue;
            };
            self.rewrite_from(key, replace, &json, &stages)?;
        }
        Ok(())
    }

    /// (Re)writes a request's document from event JSON with a stage list.
    fn rewrite_from(
        &mut self,
        key: RequestKey,
        replace: bool,
        json: &[u8],
        stages: &[StageMark],
    ) -> Result<()> {
        let mut buf = std::mem::take(&mut self.json_buf);
        let fields = &self.store.fields;
        let doc = read_stored(json, &mut buf, |r, _| {
            document::build(fields, key, r, json, stages)
        });
        self.json_buf = buf;
        match doc {
            Some(doc) => self.write(replace.then(|| identity::query(fields, key)), doc),
            // Stored JSON always parsed once; if it no longer does, keep the document.
            None => Ok(()),
        }
    }

    /// Commits the documents written so far with the checkpoint.
    pub fn commit(&mut self) -> Result<()> {
        self.write_deferred()?;
        self.send_batch()?;
        let payload = Payload {
            checkpoint: self.checkpoint.clone(),
            committed_at: Some(
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ),
        };
        let text = serde_json::to_string(&payload).expect("payload serializes");
        let dir = self.store.dir.clone();
        let failed = |e: tantivy::TantivyError| Error::IndexWrite {
            path: dir.clone(),
            detail: e.to_string(),
        };
        let mut prepared = self.writer.prepare_commit().map_err(failed)?;
        prepared.set_payload(&text);
        prepared.commit().map_err(failed)?;
        self.reader.reload().map_err(|e| Error::index(&dir, e))?;
        self.uncommitted = false;
        self.last_commit = Instant::now();
        if !self.late_stages.is_empty() {
            self.add_late_stages()?;
            return self.commit();
        }
        if self.pending.len() > PENDING_CAP {
            self.pending.clear();
            self.watermark = self.watermark.max(self.newest_seen);
        }
        Ok(())
    }

    /// Rewrites the documents of requests listed in `late_stages` with every stage seen.
    fn add_late_stages(&mut self) -> Result<()> {
        let late = std::mem::take(&mut self.late_stages);
        for key in late {
            let Some(stages) = self.pending.get(&key).map(|p| p.stages.clone()) else {
                continue;
            };
            if let Some(stored) = self.lookup(key)?
                && stored.stages != stages
            {
                self.rewrite_from(key, true, &stored.event, &stages)?;
            }
        }
        Ok(())
    }

    /// Commits what is left and waits for background merges.
    pub fn finish(mut self) -> Result<Store> {
        self.commit()?;
        let dir = self.store.dir.clone();
        self.writer
            .wait_merging_threads()
            .map_err(|e| Error::index(&dir, e))?;
        let _ = std::fs::remove_file(dir.join(HOLDER));
        Ok(self.store)
    }

    /// Commits if something is waiting and the commit interval has passed.
    fn commit_if_due(&mut self) -> Result<()> {
        if self.uncommitted && self.last_commit.elapsed() >= self.commit_interval {
            self.commit()?;
        }
        Ok(())
    }
}

impl Sink for Writer {
    fn resume_point(&self, prefix: &[u8]) -> Option<FileMark> {
        self.checkpoint.find(prefix).cloned()
    }

    fn event(&mut self, event: &ParsedEvent<'_>, _at: &Location) -> Result<Outcome> {
        let event = prepared::prepare(&self.store.fields, event);
        self.prepared(event)
    }

    fn reached(&mut self, mark: FileMark, prefix: &[u8]) -> Result<()> {
        self.checkpoint.record(mark, prefix);
        self.uncommitted = true;
        if self.pending.len() > PENDING_CAP {
            return self.commit();
        }
        self.commit_if_due()
    }

    fn idle(&mut self) -> Result<Option<Duration>> {
        self.commit_if_due()?;
        Ok(self.uncommitted.then(|| {
            self.commit_interval
                .saturating_sub(self.last_commit.elapsed())
        }))
    }
}

impl ParallelSink for Writer {
    type Prepared = Prepared;

    fn preparer(&self) -> Preparer<Prepared> {
        let fields = self.store.fields.clone();
        Box::new(move |event| prepared::prepare(&fields, event))
    }

    /// Folds one stage event into its request's document. The decision (new document,
    /// merged stages, duplicate, late stage) is `collapse::Known`'s; this applies it:
    /// writes documents, looks the request up in the committed index when it may be
    /// there, and lists late stages for the next commit.
    fn prepared(&mut self, event: Prepared) -> Result<Outcome> {
        let Prepared {
            key,
            mark,
            received,
            time,
            body,
        } = event;
        self.newest_seen = self.newest_seen.max(time);
        // A final stage's document is written as it is; any other stage's JSON is kept
        // until its request is written (`Known::best`), moved there, not copied.
        let (document, mut json) = match body {
            Body::Document(doc) => (Some(doc), None),
            Body::Event(json) => (None, Some(json)),
        };
        let keep = || json.take().expect("only a stage that is not final is kept");
        let (step, outcome) = if let Some(known) = self.pending.get_mut(&key) {
            let step = known.add(mark, keep);
            (step, collapsed_or_duplicate(step))
        } else {
            let stored = if self.may_be_indexed(received) {
                self.lookup(key)?
            } else {
                None
            };
            let (known, step, outcome, stored_event) = match stored {
                None => {
                    let (known, step) = Known::first(mark, keep);
                    (known, step, Outcome::New, None)
                }
                Some(stored) => {
                    let (known, step) = Known::from_stored(stored.stages, mark, keep);
                    (
                        known,
                        step,
                        collapsed_or_duplicate(step),
                        Some(stored.event),
                    )
                }
            };
            if step == Step::RewriteStored {
                let event_json = stored_event.expect("only a stored request is rewritten");
                self.rewrite_from(key, true, &event_json, &known.stages)?;
            }
            self.pending.insert(key, known);
            (step, outcome)
        };
        match step {
            Step::WriteNew { replace } => {
                let fields = &self.store.fields;
                let known = &self.pending[&key];
                let doc = match (document, &known.best) {
                    (Some(mut doc), _) => {
                        document::add_stages(fields, &mut doc, &known.stages);
                        Some(doc)
                    }
                    // A stage that is not final, written at once: it is more complete
                    // than the stored document of its request (`Known::from_stored`).
                    (None, Some(json)) => read_stored(json, &mut self.json_buf, |r, _| {
                        document::build(fields, key, r, json, &known.stages)
                    }),
                    (None, None) => unreachable!("a stage that is not final is kept"),
                };
                let replaced = replace.then(|| identity::query(fields, key));
                if let Some(doc) = doc {
                    self.write(replaced, doc)?;
                }
            }
            Step::Late => self.late_stages.push(key),
            Step::Duplicate | Step::Defer | Step::RewriteStored => {}
        }
        Ok(outcome)
    }
}

/// The outcome of a stage of a request already known: only `Known::first` makes one new.
fn collapsed_or_duplicate(step: Step) -> Outcome {
    match step {
        Step::Duplicate => Outcome::Duplicate,
        _ => Outcome::Collapsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A follow commits every few seconds, each commit a segment of a few requests:
    /// those are merged (`MERGE_BELOW_DOCS`), so they do not pile up.
    #[test]
    fn small_segments_are_merged() {
        let dir = tempfile::tempdir().unwrap();
        let runs = 12;
        for run in 0..runs {
            let lines: Vec<String> = (0..3)
                .map(|n| {
                    serde_json::json!({
                        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
                        "auditID": format!("run-{run}-{n}"), "stage": "ResponseComplete",
                        "verb": "get", "requestURI": "/api/v1/namespaces", "user": {"username": "alice"},
                        "requestReceivedTimestamp": format!("2026-11-20T10:{run:02}:{n:02}.000000Z"),
                        "stageTimestamp": format!("2026-11-20T10:{run:02}:{n:02}.000000Z"),
                    })
                    .to_string()
                })
                .collect();
            crate::testing::ingest_lines(dir.path(), &format!("audit-{run}.log"), &lines);
        }
        let store = Store::open(&dir.path().join("index")).unwrap();
        let segments = store.index.searchable_segment_ids().unwrap().len();
        assert!(
            segments < runs - 4,
            "{segments} segments after {runs} commits"
        );
        let reader = store.index.reader().unwrap();
        assert_eq!(reader.searcher().num_docs(), 3 * runs as u64);
    }
}
