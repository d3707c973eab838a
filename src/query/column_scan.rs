//! A query over a string column (a fast field that is not a term of the inverted
//! index): the documents whose value starts with a prefix and passes a test. It answers
//! every form of `auditid:` (a value, a prefix, `*`, a regex, `!=`), which is a column
//! only: a unique term per request costs ingest more than anything else in the index
//! (`index::identity`).
//!
//! The column's dictionary is walked from the prefix on, once per segment; the values
//! that pass are ordinals, and the documents holding one are read from the ordinal
//! column: a range of ordinals (a value, a prefix) through the column's range search,
//! others document by document. Either way a query reads the column once, milliseconds
//! for a million requests.

use std::fmt;

use tantivy::query::{
    BitSetDocSet, ConstScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::{DocId, Score, SegmentReader, TantivyError};
use tantivy_common::BitSet;

use super::term_scan::TermTest;

/// Documents whose value of the string column `column` starts with `prefix` and passes
/// `test`.
#[derive(Clone)]
pub struct ColumnScan {
    column: String,
    prefix: Vec<u8>,
    test: TermTest,
}

impl ColumnScan {
    pub fn new(column: &str, prefix: Vec<u8>, test: TermTest) -> ColumnScan {
        ColumnScan {
            column: column.to_string(),
            prefix,
            test,
        }
    }
}

impl fmt::Debug for ColumnScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ColumnScan")
            .field("column", &self.column)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Query for ColumnScan {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for ColumnScan {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let Some(column) = reader.fast_fields().str(&self.column)? else {
            return Ok(Box::new(EmptyScorer));
        };
        let dictionary = column.dictionary();
        let mut values = dictionary.prefix_range(&self.prefix).into_stream()?;
        let mut wanted = BitSet::with_max_value(dictionary.num_terms() as u32);
        // The first and last ordinals that pass, and whether all between them do (a
        // value or a prefix: the column's range search finds their documents).
        let mut span: Option<(u64, u64)> = None;
        let mut contiguous = true;
        while values.advance() {
            if !(self.test)(values.key()) {
                continue;
            }
            let ord = values.term_ord();
            wanted.insert(ord as u32);
            span = match span {
                None => Some((ord, ord)),
                Some((first, last)) => {
                    contiguous &= last + 1 == ord;
                    Some((first, ord))
                }
            };
        }
        let Some((first, last)) = span else {
            return Ok(Box::new(EmptyScorer));
        };
        let max_doc = reader.max_doc();
        let mut docs = BitSet::with_max_value(max_doc);
        if contiguous {
            let mut found = Vec::new();
            column
                .ords()
                .get_docids_for_value_range(first..=last, 0..max_doc, &mut found);
            for doc in found {
                docs.insert(doc);
            }
        } else {
            for doc in 0..max_doc {
                if column.term_ords(doc).any(|ord| wanted.contains(ord as u32)) {
                    docs.insert(doc);
                }
            }
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(docs), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("ColumnScan", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )))
        }
    }
}
