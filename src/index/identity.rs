//! How the writer finds a request's committed document again (a later stage, a late
//! stage, a second copy of a log, a resumed run): by its auditID term, which users query
//! anyway, narrowed by the request key's column; a request without a usable auditID by
//! its key as a term of its own.
//!
//! The key used to be a term of every document. A unique term per request is what
//! tantivy's term dictionary pays most for (its FST registry and the hash table of the
//! indexing arena): on 1 GB of the heldout shape, dropping it saved ~5% of the CPU and
//! ~40 MB of peak memory. The auditID is a unique term already; indexing it twice, once
//! as itself and once hashed into the key, paid that price twice.

use std::ops::Bound;

use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{TantivyDocument, Term};

use super::schema::Fields;
use crate::ingest::parse::RequestKey;

/// Longest auditID looked up as a term. tantivy drops a token past 65,530 bytes from
/// the index; a hostile client's 100 KB auditID must still be found (or its copies
/// would be indexed twice), so a long one is identified by its key instead. Real
/// auditIDs are 36-character UUIDs.
const MAX_AUDIT_ID: usize = 1024;

/// The key's column value: its two halves folded. Two requests are taken for the same
/// only if their auditIDs are equal too, so a false match needs two requests with one
/// auditID whose 128-bit xxh3 keys collide in 64 bits.
pub fn folded(key: RequestKey) -> u64 {
    key as u64 ^ (key >> 64) as u64
}

/// The auditID that identifies a request, when it can: present, not empty (an empty
/// auditID is not indexed), not too long.
fn usable(audit_id: Option<&str>) -> Option<&str> {
    audit_id.filter(|id| !id.is_empty() && id.len() <= MAX_AUDIT_ID)
}

/// Adds what identifies the request to its document (its auditID term is added with
/// the other fields by `document::build`).
pub fn add(f: &Fields, doc: &mut TantivyDocument, key: RequestKey, audit_id: Option<&str>) {
    doc.add_u64(f.key, folded(key));
    if usable(audit_id).is_none() {
        doc.add_bytes(f.anonkey, &key.to_be_bytes());
    }
}

/// The query matching exactly the document of the request `key` (auditID `audit_id`):
/// the auditID's few documents first, then the key column among them.
pub fn query(f: &Fields, key: RequestKey, audit_id: Option<&str>) -> Box<dyn Query> {
    let term = |term| Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>;
    match usable(audit_id) {
        Some(id) => {
            let folded = Term::from_field_u64(f.key, folded(key));
            let key_column =
                RangeQuery::new(Bound::Included(folded.clone()), Bound::Included(folded));
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, term(Term::from_field_text(f.audit_id, id))),
                (Occur::Must, Box::new(key_column)),
            ]))
        }
        None => term(Term::from_field_bytes(f.anonkey, &key.to_be_bytes())),
    }
}
