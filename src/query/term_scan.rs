//! A query that walks a range of a field's term dictionary and matches the documents of
//! every term a test accepts: what body paths with `*` segments, comparisons on body
//! numbers, regexes that search inside body values, and `field:!=v` ("some value does
//! not match") need, none of which a term, range or automaton query can say.
//!
//! The walk is bounded by the prefixes given (a body path up to its first `*`), so a
//! query reads only the terms that could match, each once per segment.

use std::fmt;
use std::sync::Arc;

use tantivy::query::{
    BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::termdict::TermStreamer;
use tantivy::{DocId, InvertedIndexReader, Score, SegmentReader, TantivyError};

/// Decides whether a term's bytes (the value without its field) match.
pub type TermTest = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// Documents holding a term of `field` that starts with one of `prefixes` and passes
/// `test`.
#[derive(Clone)]
pub struct TermScan {
    field: Field,
    prefixes: Vec<Vec<u8>>,
    test: TermTest,
}

impl TermScan {
    pub fn new(field: Field, prefixes: Vec<Vec<u8>>, test: TermTest) -> TermScan {
        TermScan {
            field,
            prefixes,
            test,
        }
    }
}

impl fmt::Debug for TermScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TermScan")
            .field("field", &self.field)
            .field("prefixes", &self.prefixes)
            .finish_non_exhaustive()
    }
}

impl Query for TermScan {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for TermScan {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut docs = tantivy_common::BitSet::with_max_value(reader.max_doc());
        let inverted = reader.inverted_index(self.field)?;
        for prefix in &self.prefixes {
            let mut terms = prefix_stream(&inverted, prefix)?;
            while terms.advance() {
                if !(self.test)(terms.key()) {
                    continue;
                }
                let mut postings = inverted
                    .read_block_postings_from_terminfo(terms.value(), IndexRecordOption::Basic)?;
                loop {
                    let block = postings.docs();
                    if block.is_empty() {
                        break;
                    }
                    for &doc in block {
                        docs.insert(doc);
                    }
                    postings.advance();
                }
            }
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(docs), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("TermScan", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )))
        }
    }
}

/// The terms of one segment's dictionary that start with `prefix`, in order.
pub fn prefix_stream<'a>(
    reader: &'a InvertedIndexReader,
    prefix: &[u8],
) -> std::io::Result<TermStreamer<'a>> {
    let mut range = reader.terms().range();
    if !prefix.is_empty() {
        range = range.ge(prefix);
    }
    if let Some(end) = prefix_end(prefix) {
        range = range.lt(end);
    }
    range.into_stream()
}

/// The smallest byte string greater than every string starting with `prefix`, None when
/// there is none (an empty prefix or all 0xFF bytes: no upper bound).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_bounds_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
