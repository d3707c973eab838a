//! The distinct values of a field, read from the term dictionary: what the TUI offers
//! when completing `field:` in the query bar.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use tantivy::InvertedIndexReader;
use tantivy::termdict::TermMerger;

use super::Engine;
use super::build::index_field;
use super::parse::{Field, FieldKind};
use super::term_scan::prefix_stream;
use crate::error::Result;

/// Distinct terms read per call at most. Completion runs while the user types, so it
/// must answer quickly even for `name:` with no prefix on an index of a million
/// distinct names: reading 100k terms over 8 segments takes about 0.1 s (release build,
/// measured on `auditid`). Past the cap the rest, in term order, are not looked at, so
/// the "most frequent" values are those among the first 100k terms with the prefix.
pub const MAX_TERMS_SCANNED: usize = 100_000;

impl Engine {
    /// The distinct values of `field` in the index that start with `prefix`, most
    /// frequent first (ties in value order), as (value, number of requests), at most
    /// `limit` of them.
    ///
    /// - Exact fields: their whole values, straight from the term dictionary; `auditid`
    ///   from its column's.
    /// - `code`: the response codes present; its terms are numbers, so `prefix` is
    ///   matched against their decimal form (there are only a few distinct codes).
    /// - `severity`: the names of the severities present (`high`), from their ranks.
    /// - Text fields (ua, uri, reason) give nothing: their terms are lower-cased words,
    ///   not values one could type after `field:` and match as written.
    ///
    /// Counts come from the terms' document frequencies, which include requests deleted
    /// but not yet merged away (a re-ingested request replaces its older copy). They can
    /// be a little high until segments merge; for ordering suggestions that is fine.
    pub fn values(&self, field: Field, prefix: &str, limit: usize) -> Result<Vec<(String, u64)>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        match field.kind() {
            FieldKind::Text => Ok(Vec::new()),
            FieldKind::Exact if field == Field::AuditId => {
                self.top_column_values(field, prefix, limit)
            }
            FieldKind::Exact => self.top_terms(field, prefix.as_bytes(), limit, |key| {
                // Terms of a raw-tokenized field are the UTF-8 values themselves, whole:
                // `name` too, whether it came from objectRef.name or a fieldSelector.
                let value = std::str::from_utf8(key).ok()?;
                Some(value.to_string())
            }),
            // u64 terms are 8 big-endian bytes, so a decimal prefix is no byte range:
            // read them all and compare their decimal forms.
            FieldKind::Numeric => self.top_terms(field, b"", limit, |key| {
                let bytes: [u8; 8] = key.try_into().ok()?;
                let value = u64::from_be_bytes(bytes).to_string();
                value.starts_with(prefix).then_some(value)
            }),
            // Ranks, offered by the names the query takes.
            FieldKind::Severity => self.top_terms(field, b"", limit, |key| {
                let bytes: [u8; 8] = key.try_into().ok()?;
                let severity = crate::podspec::Severity::from_rank(u64::from_be_bytes(bytes))?;
                let value = severity.as_str();
                value.starts_with(prefix).then(|| value.to_string())
            }),
        }
    }

    /// `top_terms` for a field that is a string column only (`auditid`): the first
    /// [`MAX_TERMS_SCANNED`] values with the prefix in each segment's column dictionary,
    /// counted from the column (live documents only).
    fn top_column_values(
        &self,
        field: Field,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, u64)>> {
        let searcher = self.reader.searcher();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for segment in searcher.segment_readers() {
            let column = segment
                .fast_fields()
                .str(field.name())
                .map_err(|e| self.err(e))?;
            let Some(column) = column else { continue };
            let dictionary = column.dictionary();
            let mut values = dictionary
                .prefix_range(prefix)
                .limit(MAX_TERMS_SCANNED as u64)
                .into_stream()
                .map_err(|e| self.err(e.into()))?;
            let mut names = Vec::new();
            let mut first = None;
            while values.advance() {
                first.get_or_insert(values.term_ord());
                names.push(String::from_utf8_lossy(values.key()).into_owned());
            }
            let Some(first) = first else { continue };
            let last = first + names.len() as u64 - 1;
            let mut docs = Vec::new();
            let ords = column.ords();
            ords.get_docids_for_value_range(first..=last, 0..segment.max_doc(), &mut docs);
            docs.dedup();
            let mut found = vec![0u64; names.len()];
            for doc in docs {
                if segment
                    .alive_bitset()
                    .is_some_and(|alive| !alive.is_alive(doc))
                {
                    continue;
                }
                for ord in ords
                    .values_for_doc(doc)
                    .filter(|o| (first..=last).contains(o))
                {
                    found[(ord - first) as usize] += 1;
                }
            }
            for (name, n) in names.into_iter().zip(found).filter(|(_, n)| *n > 0) {
                *counts.entry(name).or_default() += n;
            }
        }
        let mut top: Vec<(String, u64)> = counts.into_iter().collect();
        // Most frequent first, ties in value order (the map's order, kept by a stable sort).
        top.sort_by_key(|(_, n)| Reverse(*n));
        top.truncate(limit);
        Ok(top)
    }

    /// The `limit` most frequent terms of `field` starting with `key_prefix` that `decode`
    /// turns into a value (None skips the term), with their doc_freq summed over segments.
    fn top_terms(
        &self,
        field: Field,
        key_prefix: &[u8],
        limit: usize,
        decode: impl Fn(&[u8]) -> Option<String>,
    ) -> Result<Vec<(String, u64)>> {
        let searcher = self.reader.searcher();
        let f = index_field(&self.store.fields, field);
        let readers = searcher
            .segment_readers()
            .iter()
            .map(|segment| segment.inverted_index(f))
            .collect::<tantivy::Result<Vec<Arc<InvertedIndexReader>>>>()
            .map_err(|e| self.err(e))?;
        let streams = readers
            .iter()
            .map(|r| prefix_stream(r, key_prefix))
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| self.err(e.into()))?;
        // The merger walks the segments' dictionaries together in term order, giving
        // each term once with its info in every segment holding it: a term's total is
        // known when it is reached, so only the best `limit` need be kept.
        let mut merged = TermMerger::new(streams);
        // A min-heap on (count, reversed value): its top is the entry to drop first,
        // the least frequent and, among equals, the last in value order.
        let mut top: BinaryHeap<Reverse<(u64, Reverse<String>)>> = BinaryHeap::new();
        let mut scanned = 0;
        while scanned < MAX_TERMS_SCANNED && merged.advance() {
            scanned += 1;
            let count: u64 = merged
                .current_segment_ords_and_term_infos()
                .map(|(_, info)| u64::from(info.doc_freq))
                .sum();
            // Most terms lose to the heap's worst; decide that before decoding a String.
            if top.len() == limit && top.peek().is_some_and(|Reverse((min, _))| count < *min) {
                continue;
            }
            let Some(value) = decode(merged.key()) else {
                continue;
            };
            top.push(Reverse((count, Reverse(value))));
            if top.len() > limit {
                top.pop();
            }
        }
        // Ascending order of Reverse(..) is best first.
        Ok(top
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse((count, Reverse(value)))| (value, count))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::sample_index as samples;

    /// The number of requests a query matches, to check the counts against.
    fn count(engine: &Engine, query: &str) -> u64 {
        let expr = crate::query::parse_query(query, &[]).unwrap();
        let search = crate::query::Search {
            expr,
            since: None,
            until: None,
        };
        engine.count(&search).unwrap()
    }

    #[test]
    fn values_are_the_fields_terms_most_frequent_first() {
        let (_dir, engine) = samples();

        let verbs = engine.values(Field::Verb, "", 100).unwrap();
        assert!(!verbs.is_empty());
        for pair in verbs.windows(2) {
            let ((a, n), (b, m)) = (&pair[0], &pair[1]);
            assert!(n > m || (n == m && a < b), "{verbs:?}");
        }
        for (verb, n) in &verbs {
            assert_eq!(*n, count(&engine, &format!("verb:{verb}")), "{verb}");
        }
        let total: u64 = verbs.iter().map(|(_, n)| n).sum();
        assert_eq!(total, engine.num_docs());

        // A prefix keeps only the values starting with it, and limit the best of them.
        let users = engine.values(Field::User, "system:", 1000).unwrap();
        assert!(!users.is_empty());
        assert!(users.iter().all(|(u, _)| u.starts_with("system:")));
        let all_users = engine.values(Field::User, "", 1000).unwrap();
        let wanted: Vec<_> = all_users
            .iter()
            .filter(|(u, _)| u.starts_with("system:"))
            .cloned()
            .collect();
        assert_eq!(users, wanted);
        let two = engine.values(Field::User, "system:", 2).unwrap();
        assert_eq!(two, users[..two.len().min(2)]);
        assert_eq!(engine.values(Field::User, "", 0).unwrap(), []);
        assert_eq!(engine.values(Field::User, "no-such-user", 10).unwrap(), []);

        // Names come whole, whatever they contain.
        let names = engine.values(Field::Name, "", 5).unwrap();
        assert!(!names.is_empty());
        for (name, n) in &names {
            let quoted = format!(
                "name:\"{}\"",
                name.replace('\\', "\\\\").replace('"', "\\\"")
            );
            assert_eq!(*n, count(&engine, &quoted), "{name}");
        }
    }

    #[test]
    fn codes_are_numbers_and_text_fields_give_nothing() {
        let (_dir, engine) = samples();
        let codes = engine.values(Field::Code, "", 100).unwrap();
        assert!(codes.iter().any(|(c, _)| c == "200"), "{codes:?}");
        for (code, n) in &codes {
            assert!(code.parse::<u64>().is_ok(), "{code}");
            assert_eq!(*n, count(&engine, &format!("code:{code}")), "{code}");
        }
        let fours = engine.values(Field::Code, "4", 100).unwrap();
        assert!(fours.iter().all(|(c, _)| c.starts_with('4')), "{fours:?}");
        assert_eq!(
            fours,
            codes
                .iter()
                .filter(|(c, _)| c.starts_with('4'))
                .cloned()
                .collect::<Vec<_>>()
        );

        for field in [Field::UserAgent, Field::RequestUri, Field::Reason] {
            assert_eq!(engine.values(field, "", 10).unwrap(), [], "{field:?}");
        }
    }

    #[test]
    fn audit_ids_come_from_their_column() {
        let (_dir, engine) = samples();
        let ids = engine.values(Field::AuditId, "", 5).unwrap();
        assert_eq!(ids.len(), 5, "{ids:?}");
        for (id, n) in &ids {
            assert_eq!(*n, count(&engine, &format!("auditid:\"{id}\"")), "{id}");
        }
        let (first, _) = &ids[0];
        let prefix = &first[..first.len() - 1];
        let some = engine.values(Field::AuditId, prefix, 100).unwrap();
        assert!(some.iter().any(|(id, _)| id == first), "{some:?}");
        assert!(
            some.iter().all(|(id, _)| id.starts_with(prefix)),
            "{some:?}"
        );
        assert_eq!(engine.values(Field::AuditId, "no-such-id", 10).unwrap(), []);
    }

    #[test]
    fn severities_are_offered_by_name() {
        let (_dir, engine) = samples();
        // debug-tools and nginx's first draft are high; the report-runner Deployment,
        // its pod and httpd only leave defaults open.
        let severities = engine.values(Field::Severity, "", 10).unwrap();
        assert_eq!(
            severities,
            [("low".to_string(), 3), ("high".to_string(), 2)]
        );
        for (name, n) in &severities {
            assert_eq!(*n, count(&engine, &format!("severity:{name}")), "{name}");
        }
        let h = engine.values(Field::Severity, "h", 10).unwrap();
        assert_eq!(h, [("high".to_string(), 2)]);
    }
}
