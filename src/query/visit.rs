//! Reports as tantivy collectors: a report supplies a per-segment visitor (its columns,
//! opened by typed handle, and what it tallies), tantivy drives the per-segment loop
//! through `VisitSegments` (a `Collector`) and hands the visitors back, in segment
//! order, for the report to fold into its rows the way tantivy's own collectors merge
//! their fruits.
//!
//! tantivy merges fruits once every segment is collected, so the visitors of all
//! segments live until the fold (where a scan callback kept one at a time): they hold
//! ordinals and counts, decoded only in the fold.
//!
//! Errors stay typed: a visitor that fails keeps its `crate::error::Error`, returned by
//! `Engine::visit_segments` in place of the visitors.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::Weight;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::{Engine, Search};
use crate::error::Result;

/// What a report does with the matching documents of one segment.
pub trait SegmentVisitor: Send + 'static {
    /// The live (not deleted) matching documents, in blocks, in document order.
    fn visit(&mut self, docs: &[DocId]) -> Result<()>;
}

/// A collector that opens one visitor per segment with `open`.
pub struct VisitSegments<Open> {
    open: Open,
}

/// The visitor of one segment, or the error that stopped it.
pub struct Visiting<V> {
    visitor: Result<V>,
}

impl<V: SegmentVisitor> SegmentCollector for Visiting<V> {
    type Fruit = Result<V>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        if let Ok(visitor) = &mut self.visitor
            && let Err(e) = visitor.visit(docs)
        {
            self.visitor = Err(e);
        }
    }

    fn harvest(self) -> Result<V> {
        self.visitor
    }
}

impl<Open, V> Collector for VisitSegments<Open>
where
    Open: Fn(&SegmentReader) -> Result<V> + Send + Sync,
    V: SegmentVisitor,
{
    type Fruit = Result<Vec<V>>;
    type Child = Visiting<V>;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(Visiting {
            visitor: (self.open)(segment),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, visitors: Vec<Result<V>>) -> tantivy::Result<Result<Vec<V>>> {
        Ok(visitors.into_iter().collect())
    }

    /// tantivy's default hands a segment with deletions (stage rewrites) to `collect`
    /// one document at a time; this keeps blocks, filtered of deleted documents, so
    /// visitors do their per-block work once per block whatever the segment holds.
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        ord: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<Result<V>> {
        let mut child = self.for_segment(ord, segment)?;
        if child.visitor.is_err() {
            return Ok(child.harvest());
        }
        let alive = segment.alive_bitset();
        let mut live = Vec::new();
        weight.for_each_no_score(segment, &mut |docs| match alive {
            None => child.collect_block(docs),
            Some(alive) => {
                live.clear();
                live.extend(docs.iter().copied().filter(|&d| alive.is_alive(d)));
                child.collect_block(&live);
            }
        })?;
        Ok(child.harvest())
    }
}

impl Engine {
    /// Runs `search` with one visitor per segment, opened by `open`, and returns the
    /// visitors in segment order for the caller to fold.
    pub fn visit_segments<V: SegmentVisitor>(
        &self,
        search: &Search,
        open: impl Fn(&SegmentReader) -> Result<V> + Send + Sync,
    ) -> Result<Vec<V>> {
        let query = self.to_query(search)?;
        let searcher = self.reader.searcher();
        let collector = VisitSegments { open };
        searcher
            .search(query.as_ref(), &collector)
            .map_err(|e| self.err(e))?
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::Error;
    use crate::query::parse_query;
    use crate::testing::ingest_lines;

    fn search(query: &str) -> Search {
        Search {
            expr: parse_query(query, &[]).unwrap(),
            since: None,
            until: None,
        }
    }

    /// A request `n` of `user` at `stage`, received at second `n`.
    fn event(n: usize, user: &str, stage: &str) -> String {
        let at = format!("2026-11-20T10:00:{n:02}.000000Z");
        json!({
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": format!("00000000-0000-4000-8000-{n:012}"),
            "stage": stage,
            "requestURI": "/api/v1/namespaces/default/pods",
            "verb": "get",
            "user": {"username": user},
            "objectRef": {"resource": "pods", "namespace": "default"},
            "responseStatus": {"code": 200},
            "requestReceivedTimestamp": at,
            "stageTimestamp": at,
        })
        .to_string()
    }

    /// Collects the user of every document it visits.
    struct Users {
        column: crate::query::scan::StrValues,
        seen: Vec<String>,
    }

    impl SegmentVisitor for Users {
        fn visit(&mut self, docs: &[DocId]) -> Result<()> {
            for &doc in docs {
                let ord = self.column.ord(doc).expect("every event has a user");
                self.seen.push(self.column.text(ord));
            }
            Ok(())
        }
    }

    fn users(engine: &Engine, query: &str) -> Vec<String> {
        let open = |segment: &SegmentReader| {
            Ok(Users {
                column: crate::query::scan::StrValues::open(
                    segment,
                    crate::index::columns::TextColumn::User,
                )?,
                seen: Vec::new(),
            })
        };
        let mut all: Vec<String> = engine
            .visit_segments(&search(query), open)
            .unwrap()
            .into_iter()
            .flat_map(|u| u.seen)
            .collect();
        all.sort();
        all
    }

    #[test]
    fn visitors_see_each_live_match_once_and_no_deleted_document() {
        let dir = tempfile::tempdir().unwrap();
        let finished: Vec<String> = ["alice", "bob", "carol"]
            .iter()
            .enumerate()
            .map(|(n, user)| event(n, user, "ResponseComplete"))
            .collect();
        ingest_lines(dir.path(), "audit.log", &finished);
        // bob's RequestReceived after the commit rewrites his document: the old one
        // stays in its segment, deleted.
        let engine = ingest_lines(
            dir.path(),
            "late.log",
            &[event(1, "bob", "RequestReceived")],
        );
        let deleted = engine.deleted_docs();
        assert!(deleted > 0, "the test needs a deleted document");

        assert_eq!(users(&engine, ""), ["alice", "bob", "carol"]);
        assert_eq!(users(&engine, "-user:alice"), ["bob", "carol"]);
        assert!(users(&engine, "user:nobody").is_empty());
    }

    /// A visitor that fails on its first block.
    struct Failing;

    impl SegmentVisitor for Failing {
        fn visit(&mut self, _: &[DocId]) -> Result<()> {
            Err(Error::Usage("visitor failed".into()))
        }
    }

    #[test]
    fn a_visitor_error_is_returned_as_it_was_raised() {
        let dir = tempfile::tempdir().unwrap();
        let engine = ingest_lines(
            dir.path(),
            "audit.log",
            &[event(0, "alice", "ResponseComplete")],
        );
        let failed = engine.visit_segments(&search(""), |_| Ok(Failing));
        assert!(matches!(failed, Err(Error::Usage(m)) if m == "visitor failed"));
        let refused = engine.visit_segments(&search(""), |_| -> Result<Failing> {
            Err(Error::Usage("no column".into()))
        });
        assert!(matches!(refused, Err(Error::Usage(m)) if m == "no column"));
    }
}
