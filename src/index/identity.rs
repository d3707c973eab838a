//! How the writer finds a request's committed document again (a later stage, a late
//! stage, a second copy of a log, a resumed run): by its request key, through a small
//! term (one of 65,536 buckets the key falls in) and the key's column.
//!
//! Nothing unique per request is a term. A unique term per request is what tantivy's
//! term dictionary pays most for (its FST registry when a segment is written, the hash
//! table of its indexing arena before): the request key was such a term once, then the
//! auditID. On 300 MB of the heldout shape, dropping the auditID's term for this bucket
//! saved ~8% of ingest CPU (the auditID is now a column only, `query::column_scan`).
//!
//! The bucket term narrows a lookup to ~1 document in 65,536; the column check
//! (`Identity`'s scorer reads the key of each of the bucket's documents, it does not
//! scan the column) picks the request's own.

use std::fmt;

use tantivy::query::{ConstScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{
    DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyDocument, TantivyError, Term,
};

use super::schema::Fields;
use crate::ingest::parse::RequestKey;

/// The key's column value: its two halves folded.
pub fn folded(key: RequestKey) -> u64 {
    key as u64 ^ (key >> 64) as u64
}

/// The bucket term's value: the top 16 bits of the key. With the folded 64 bits of the
/// column, two requests are taken for the same only if 80 bits of their 128-bit xxh3
/// keys agree: for a billion requests in one index, a chance of ~4 in 10 million that
/// any two do.
fn bucket(key: RequestKey) -> u64 {
    (key >> 112) as u64
}

/// Adds what identifies the request to its document.
pub fn add(f: &Fields, doc: &mut TantivyDocument, key: RequestKey) {
    doc.add_u64(f.key, folded(key));
    doc.add_u64(f.bucket, bucket(key));
}

/// The query matching exactly the document of the request `key`.
pub fn query(f: &Fields, key: RequestKey) -> Box<dyn Query> {
    Box::new(Identity {
        bucket: Term::from_field_u64(f.bucket, bucket(key)),
        key: f.key,
        folded: folded(key),
    })
}

/// The documents of one bucket whose key column holds `folded`.
#[derive(Clone)]
struct Identity {
    bucket: Term,
    key: Field,
    folded: u64,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({:?}, key {:#x})", self.bucket, self.folded)
    }
}

impl Query for Identity {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for Identity {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inverted = reader.inverted_index(self.bucket.field())?;
        let Some(mut postings) = inverted.read_postings(&self.bucket, IndexRecordOption::Basic)?
        else {
            return Ok(Box::new(EmptyScorer));
        };
        let name = reader.schema().get_field_name(self.key);
        let column = reader.fast_fields().u64(name)?;
        let mut docs = Vec::new();
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if column.first(doc) == Some(self.folded) {
                docs.push(doc);
            }
            doc = postings.advance();
        }
        Ok(Box::new(ConstScorer::new(Matches { docs, at: 0 }, boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("Identity", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document {doc} is not the request's"
            )))
        }
    }
}

/// A few documents, in order (tantivy's own list of documents is for its tests only).
struct Matches {
    docs: Vec<DocId>,
    at: usize,
}

impl DocSet for Matches {
    fn advance(&mut self) -> DocId {
        self.at = (self.at + 1).min(self.docs.len());
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.docs.get(self.at).copied().unwrap_or(TERMINATED)
    }

    fn size_hint(&self) -> u32 {
        self.docs.len() as u32
    }
}
