//! Stage collapse and dedupe, decided without the index: what the writer knows of a
//! request (`Known`) and a newly read stage in, what to write (`Step`) out. The writer
//! (`writer.rs`) applies the steps to tantivy; keeping the decisions here lets their
//! property test (`collapse_props.rs`) search orders in-process, in microseconds.

use super::document::StageMark;
use crate::model::Stage;

/// What the writer remembers of a request seen in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// Rank (`Stage::rank`) of the most complete stage seen.
    pub rank: u8,
    /// Every stage seen, once each, in lifecycle order.
    pub stages: Vec<StageMark>,
    /// The event JSON of the most complete stage while the request is not final and
    /// that stage's document is not written: it is written at the next commit
    /// (searchable from then on) and the JSON let go, or replaced by the final stage's
    /// before that, so most requests are indexed once, not twice. Not kept past the
    /// commit: a watch open for an hour would hold its event all that time, and a log
    /// that ends before its requests do would hold every one of them.
    pub best: Option<Box<[u8]>>,
    /// A document for this request is in the index or the current batch.
    pub written: bool,
    /// The document does not reflect `stages`/`best` yet.
    pub dirty: bool,
}

/// What to do with a newly read stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The same stage again (overlapping copies, re-ingest): nothing to write.
    Duplicate,
    /// Write the document built from the new stage's event with `Known::stages`,
    /// replacing the request's document when `replace`.
    WriteNew { replace: bool },
    /// Replace the request's document with one built from its stored event with
    /// `Known::stages` (a less complete stage joined a document already written).
    RewriteStored,
    /// Nothing to write now: the request is not final and `Known::best` is written at
    /// the next commit (`Known::take_deferred`).
    Defer,
    /// A stage arriving after the request's final one (out-of-order batches): the
    /// document, maybe not committed yet, gets the stage after the commit, when it can
    /// be read back.
    Late,
}

/// A deferred document to write: the event JSON of the most complete stage so far, its
/// stage list, and whether a document of the request is to be replaced.
pub struct Deferred {
    pub replace: bool,
    pub json: Box<[u8]>,
    pub stages: Vec<StageMark>,
}

/// Stages in lifecycle order; stages of one rank by stage time.
fn sort(stages: &mut [StageMark]) {
    stages.sort_by_key(|m| (m.rank(), m.time));
}

/// Adds a stage mark with room for exactly one more: a request has one to four stages,
/// and `Vec`'s doubling (to four at once) made a two-stage request's list 192 bytes
/// instead of 96, for each of the hundreds of thousands of requests of a run.
fn push_stage(stages: &mut Vec<StageMark>, mark: StageMark) {
    stages.reserve_exact(1);
    stages.push(mark);
}

impl Known {
    /// A request read for the first time, with no document in the index: a final stage
    /// is written now, any other when the next commit comes (`Step::Defer`). `json`
    /// gives the stage's event JSON, asked for only when it is to be kept (`best`).
    pub fn first(mark: StageMark, json: impl FnOnce() -> Box<[u8]>) -> (Known, Step) {
        let rank = mark.rank();
        let is_final = Stage::is_final(mark.stage);
        let known = Known {
            rank,
            stages: vec![mark],
            best: (!is_final).then(json),
            written: is_final,
            dirty: !is_final,
        };
        let step = if is_final {
            Step::WriteNew { replace: false }
        } else {
            Step::Defer
        };
        (known, step)
    }

    /// A request first read in this run whose document is already in the index (an
    /// earlier run, or a request forgotten at a commit): its stored stages are merged
    /// with the new one and the document is rewritten now (rare).
    pub fn from_stored(
        stored: Vec<StageMark>,
        mark: StageMark,
        json: impl FnOnce() -> Box<[u8]>,
    ) -> (Known, Step) {
        let rank = mark.rank();
        // A document without stage marks was built from a final stage.
        let stored_rank = stored.iter().map(StageMark::rank).max().unwrap_or(3);
        let mut stages = stored;
        let step = if stages.iter().any(|m| m.same_stage(&mark)) {
            Step::Duplicate
        } else {
            push_stage(&mut stages, mark);
            sort(&mut stages);
            if rank > stored_rank {
                Step::WriteNew { replace: true }
            } else {
                Step::RewriteStored
            }
        };
        let is_final = rank == 3;
        let known = Known {
            rank: rank.max(stored_rank),
            stages,
            best: (rank > stored_rank && !is_final).then(json),
            written: true,
            dirty: false,
        };
        (known, step)
    }

    /// A further stage of a request already read in this run.
    pub fn add(&mut self, mark: StageMark, json: impl FnOnce() -> Box<[u8]>) -> Step {
        if self.stages.iter().any(|m| m.same_stage(&mark)) {
            return Step::Duplicate;
        }
        let rank = mark.rank();
        let is_final = Stage::is_final(mark.stage);
        push_stage(&mut self.stages, mark);
        sort(&mut self.stages);
        if rank > self.rank && is_final {
            self.rank = rank;
            self.best = None;
            self.dirty = false;
            let replace = std::mem::replace(&mut self.written, true);
            Step::WriteNew { replace }
        } else if rank > self.rank {
            self.rank = rank;
            self.best = Some(json());
            self.dirty = true;
            Step::Defer
        } else if self.best.is_some() {
            self.dirty = true;
            Step::Defer
        } else {
            Step::Late
        }
    }

    /// Whether a deferred document waits for the next commit.
    pub fn waits_for_commit(&self) -> bool {
        self.dirty && self.best.is_some()
    }

    /// The document to write at a commit, if the request waits for one; from then on
    /// the request counts as written and clean.
    pub fn take_deferred(&mut self) -> Option<Deferred> {
        if !self.dirty {
            return None;
        }
        let json = self.best.take()?;
        self.dirty = false;
        let replace = std::mem::replace(&mut self.written, true);
        Some(Deferred {
            replace,
            json,
            stages: self.stages.clone(),
        })
    }
}
