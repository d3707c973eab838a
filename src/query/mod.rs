//! Asking the index: the query language (`parse`), saved queries (`saved`), the
//! translation to tantivy (`build`), and searching with time bounds, order and paging.

pub mod body;
pub mod build;
pub mod cidr;
pub mod column_scan;
pub mod counts;
pub mod histogram;
pub mod ordered;
pub mod parse;
#[cfg(test)]
mod parse_props;
pub mod saved;
pub mod scan;
pub mod term_scan;
pub mod terms;
pub mod visit;

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query};
use tantivy::{IndexReader, Order, TantivyDocument};

use crate::error::{Error, Result};
use crate::index::document::{self, Stored};
use crate::index::store::Store;
use parse::Expr;
use saved::SavedQuery;

/// Newest first (the default) or oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    NewestFirst,
    OldestFirst,
}

/// A parsed query with its time bounds.
#[derive(Debug, Clone)]
pub struct Search {
    pub expr: Expr,
    /// Microseconds; requests received at or after.
    pub since: Option<i64>,
    /// Microseconds; requests received before.
    pub until: Option<i64>,
}

/// Parses query text, expanding `@name` from the saved queries.
pub fn parse_query(text: &str, saved: &[SavedQuery]) -> Result<Expr> {
    let lookup = |name: &str| {
        saved
            .iter()
            .find(|q| q.name == name)
            .map(|q| q.query.clone())
    };
    Ok(parse::parse(text, &lookup)?)
}

/// `--since`/`--until` values: RFC 3339 (`2026-11-20T10:00:00Z`) or an age before `now`
/// (`90s`, `15m`, `2h`, `7d`, `2w`).
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<i64> {
    if let Some(t) = crate::model::parse_timestamp(text) {
        return Ok(t);
    }
    if DateTime::parse_from_rfc3339(text).is_ok() {
        return Err(Error::Usage(format!(
            "time {text:?} is outside what the index can hold (years 1678 to 2261)"
        )));
    }
    let bad = || {
        Error::Usage(format!(
            "invalid time {text:?}: use RFC 3339 (2026-11-20T10:00:00Z) or an age like 15m, 2h, 7d"
        ))
    };
    let age = duration(text).ok_or_else(bad)?;
    now.checked_sub_signed(age)
        .map(|t| t.timestamp_micros())
        .filter(|&t| crate::model::in_index_range(t))
        .ok_or_else(bad)
}

/// A length of time: a whole number and a unit, `s`, `m`, `h`, `d` or `w` (`90s`, `5m`).
pub(crate) fn duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok()?;
    match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
}

/// A reader of the index that answers searches, as of the commit it was opened on.
pub struct Engine {
    pub store: Store,
    reader: IndexReader,
}

impl Engine {
    pub fn open(dir: &Path) -> Result<Engine> {
        let store = Store::open(dir)?;
        let reader = store
            .index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| Error::index(dir, e))?;
        Ok(Engine { store, reader })
    }

    fn err(&self, e: tantivy::TantivyError) -> Error {
        Error::index(&self.store.dir, e)
    }

    fn to_query(&self, search: &Search) -> Result<Box<dyn Query>> {
        let analyzer = self
            .store
            .index
            .tokenizers()
            .get("default")
            .expect("tantivy registers the default tokenizer");
        let mut builder = build::Builder {
            fields: &self.store.fields,
            analyzer,
        };
        let main = builder.build(&search.expr)?;
        Ok(
            match build::time_range(&self.store.fields, search.since, search.until) {
                None => main,
                Some(range) => Box::new(BooleanQuery::new(vec![
                    (Occur::Must, main),
                    (Occur::Must, range),
                ])),
            },
        )
    }

    /// Number of matching requests.
    pub fn count(&self, search: &Search) -> Result<u64> {
        let query = self.to_query(search)?;
        let searcher = self.reader.searcher();
        let n = searcher.search(&*query, &Count).map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    /// Matching requests in time order; `limit` None means all of them.
    pub fn search(
        &self,
        search: &Search,
        order: SortOrder,
        offset: usize,
        limit: Option<usize>,
    ) -> Result<Vec<Stored>> {
        let query = self.to_query(search)?;
        let searcher = self.reader.searcher();
        let limit = match limit {
            Some(n) => n,
            None => searcher.search(&*query, &Count).map_err(|e| self.err(e))?,
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let order = match order {
            SortOrder::NewestFirst => Order::Desc,
            SortOrder::OldestFirst => Order::Asc,
        };
        let collector = TopDocs::with_limit(limit)
            .and_offset(offset)
            .order_by_fast_field::<tantivy::DateTime>(crate::index::columns::TIME, order);
        let hits = searcher
            .search(&*query, &collector)
            .map_err(|e| self.err(e))?;
        hits.into_iter()
            .map(|(_, addr)| {
                let doc: TantivyDocument = searcher.doc(addr).map_err(|e| self.err(e))?;
                Ok(document::stored(&self.store.fields, &doc))
            })
            .collect()
    }

    /// Picks up the index's latest commit (another process, or background ingest,
    /// may be writing). Returns whether what a search sees changed.
    pub fn reload(&self) -> Result<bool> {
        let before = self.reader.searcher().generation().segments().clone();
        self.reader.reload().map_err(|e| self.err(e))?;
        Ok(self.reader.searcher().generation().segments() != &before)
    }

    /// Documents deleted but still in their segments (a request rewritten after a
    /// commit): the tests of segment-by-segment readers need one.
    #[cfg(test)]
    pub(crate) fn deleted_docs(&self) -> u32 {
        let searcher = self.reader.searcher();
        searcher
            .segment_readers()
            .iter()
            .map(|s| s.num_deleted_docs())
            .sum()
    }

    /// Number of requests in the index.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}

#[cfg(test)]
mod tests {
    use super::parse::MAX_NESTING;
    use super::*;
    use serde_json::json;

    /// The deepest queries `parse` accepts, of each shape that nests, run on a 2 MiB
    /// stack (the TUI worker's) in a debug build: parsed, printed and parsed again,
    /// built into a tantivy query and counted. See `parse::MAX_NESTING`.
    #[test]
    fn deepest_queries_run_on_a_small_stack() {
        let (_dir, engine) = crate::testing::sample_index();
        let deep = |open: &str, n: usize, close: &str| {
            format!("{}verb:get{}", open.repeat(n), close.repeat(n))
        };
        // Nests 31 levels inside, one more for being a saved query.
        let saved = vec![SavedQuery {
            name: "s".into(),
            description: String::new(),
            query: deep("(a OR b ", MAX_NESTING / 2 - 1, ")"),
            columns: Vec::new(),
            sort: None,
            level: None,
            tags: Vec::new(),
            origin: String::new(),
        }];
        let half = MAX_NESTING / 2;
        let queries = [
            "verb:get".to_string(),
            deep("(", MAX_NESTING, ")"),
            // An even number of negations: the same requests as verb:get.
            deep("-", MAX_NESTING, ""),
            deep("NOT ", MAX_NESTING, ""),
            deep("-(a OR ", half, ")"),
            // An Or in an And per parenthesis: the deepest Expr for its nesting.
            deep("(a OR b ", MAX_NESTING, ")"),
            format!("{}@s{}", "(a OR b ".repeat(half), ")".repeat(half)),
        ];
        let small_stack = std::thread::Builder::new().stack_size(2 << 20);
        let counts = small_stack
            .spawn(move || {
                let mut counts = Vec::new();
                for query in queries {
                    let expr = parse_query(&query, &saved).unwrap();
                    assert_eq!(parse_query(&expr.to_string(), &[]).unwrap(), expr);
                    let search = Search {
                        expr,
                        since: None,
                        until: None,
                    };
                    counts.push(engine.count(&search).unwrap());
                }
                counts
            })
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert!(counts[0] > 0);
        assert_eq!(counts[1..4], [counts[0]; 3]);
    }

    /// `risk`, `cap` and `severity` (index::document) of writes with the same privileged
    /// pod body, kept or not by where they were sent.
    #[test]
    fn risk_cap_and_severity_are_indexed_for_the_writes_the_report_checks() {
        let body = json!({"kind": "Pod", "spec": {"containers": [{"name": "c",
            "securityContext": {"privileged": true, "capabilities": {"add": ["cap_bpf"]}}}]}});
        let event = |n: u32, verb: &str, uri: &str, sub: Option<&str>, resource: &str| {
            let mut object = json!({"resource": resource, "namespace": "prod", "name": "p"});
            if let Some(sub) = sub {
                object["subresource"] = json!(sub);
            }
            json!({
                "kind": "Event", "apiVersion": "audit.k8s.io/v1", "stage": "ResponseComplete",
                "auditID": format!("id-{n}"), "verb": verb, "requestURI": uri,
                "user": {"username": "bob"}, "objectRef": object,
                "responseStatus": {"code": 201}, "requestObject": body,
                "requestReceivedTimestamp": format!("2026-03-01T10:00:0{n}.000000Z"),
            })
            .to_string()
        };
        let pods = "/api/v1/namespaces/prod/pods";
        let lines = [
            // 0, 1: a create and a patch, no `level` key: checked.
            event(0, "create", pods, None, "pods"),
            event(1, "patch", "/api/v1/namespaces/prod/pods/p", None, "pods"),
            // 2: an ephemeral container added: checked.
            event(2, "patch", pods, Some("ephemeralcontainers"), "pods"),
            // 3: a dry run started nothing; 4: a status write holds no spec to run;
            // 5: a read; 6: not a pod or workload.
            event(3, "create", &format!("{pods}?dryRun=All"), None, "pods"),
            event(4, "update", pods, Some("status"), "pods"),
            event(5, "get", pods, None, "pods"),
            event(6, "create", pods, None, "configmaps"),
        ];
        let logs = tempfile::tempdir().unwrap();
        let log = logs.path().join("audit.log");
        std::fs::write(&log, lines.join("\n") + "\n").unwrap();
        let (_dir, engine) = crate::testing::index_of(log);
        let ids = |query: &str| {
            let search = Search {
                expr: parse_query(query, &[]).unwrap(),
                since: None,
                until: None,
            };
            let mut ids = Vec::new();
            engine
                .scan_stored(&search, &mut |stored| {
                    let event: serde_json::Value = serde_json::from_slice(&stored.event).unwrap();
                    ids.push(event["auditID"].as_str().unwrap().to_string());
                    Ok(())
                })
                .unwrap();
            ids.sort();
            ids
        };
        let checked = ["id-0", "id-1", "id-2"];
        for query in [
            "risk:privileged",
            "risk:capabilities",
            "cap:BPF",
            "severity:high",
            "severity:>=medium",
            "severity:*",
        ] {
            assert_eq!(ids(query), checked, "{query}");
        }
        // Only the create is a whole object: its unset settings are defaults. The patch
        // and the ephemeral container are judged by what they send.
        assert_eq!(ids("risk:runAsRoot:default"), ["id-0"]);
        assert_eq!(ids("risk:runAsRoot*"), ["id-0"]);
        assert_eq!(ids("risk:allowPrivilegeEscalation"), checked);
        assert_eq!(ids("severity:<high"), Vec::<String>::new());
        assert_eq!(ids("-severity:*"), ["id-3", "id-4", "id-5", "id-6"]);
        assert_eq!(ids("cap:CAP_BPF OR cap:cap_bpf"), Vec::<String>::new());
    }
}
