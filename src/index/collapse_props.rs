//! Property test of stage collapse (issue 6), in-process: however the stage events of a
//! set of requests arrive — shuffled, repeated, with commits anywhere and the writer's
//! memory of requests forgotten now and then (a second ingest run, or `PENDING_CAP`) —
//! the index holds one document per request, built from its most complete stage, whose
//! stage list names each stage seen once, in lifecycle order.
//!
//! The steps of `collapse::Known` are applied the way `Writer` applies them, to a model
//! of the index (documents by request key, searchable from the last commit on), so
//! thousands of orders are searched in the time one run of the binary takes. A few
//! cases also go through the real `Writer` (two in-process ingests into a temporary
//! index), and the one end-to-end case in `tests/cli/stage_props.rs` keeps the
//! binary's wiring covered.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};

use super::collapse::{Deferred, Known, Step};
use super::document::StageMark;
use crate::model::Stage;

/// The stages in lifecycle order, each logged this many µs after the request arrived.
const STAGES: [(Stage, i64); 4] = [
    (Stage::RequestReceived, 0),
    (Stage::ResponseStarted, 40),
    (Stage::ResponseComplete, 250),
    (Stage::Panic, 300),
];

/// A request of a case: its key, when it arrived and which stages the log has of it.
#[derive(Debug, Clone)]
struct Request {
    received: i64,
    /// Indexes into STAGES, in lifecycle order, at least one.
    stages: Vec<usize>,
    /// The code of ResponseComplete.
    code: u64,
}

impl Request {
    /// The stage mark of one stage's event. Codes differ between stages, so that a
    /// stage list shows which events it was made of; `bytes` varies as it does between
    /// copies of a log (an envelope re-encodes events), which must not tell copies apart.
    fn mark(&self, stage: usize, copy: u64) -> StageMark {
        let code = match STAGES[stage].0 {
            Stage::RequestReceived => None,
            Stage::ResponseStarted => Some(101),
            Stage::ResponseComplete => Some(self.code),
            Stage::Panic => Some(500),
        };
        StageMark {
            stage: Some(STAGES[stage].0),
            time: Some(self.received + STAGES[stage].1),
            code,
            bytes: 100 + copy,
        }
    }
}

/// The event JSON the model stands in for: which stage of which request it is.
fn event_json(request: usize, stage: usize) -> Vec<u8> {
    format!("{request}:{stage}").into_bytes()
}

fn stage_of(json: &[u8]) -> (usize, usize) {
    let text = std::str::from_utf8(json).unwrap();
    let (request, stage) = text.split_once(':').unwrap();
    (request.parse().unwrap(), stage.parse().unwrap())
}

/// What the writer does between events.
#[derive(Debug, Clone, Copy)]
enum Action {
    /// Read one copy of a stage event: (request, stage, copy number).
    Event(usize, usize, u64),
    Commit,
    /// Commit and forget the requests seen (a new ingest run, or `PENDING_CAP`).
    Forget,
}

/// A document of the model index.
#[derive(Debug, Clone, PartialEq)]
struct Doc {
    key: usize,
    event: Vec<u8>,
    stages: Vec<StageMark>,
}

/// `Writer` without tantivy: the same bookkeeping around `Known`, with a list of
/// documents for the index. tantivy applies a delete to every document added before
/// it, so `working` applies operations at once; `committed` is what lookups see.
#[derive(Default)]
struct Model {
    pending: HashMap<usize, Known>,
    late: Vec<usize>,
    working: Vec<Doc>,
    committed: Vec<Doc>,
    /// New requests, collapsed stages, duplicates: the ingest summary.
    counts: [u64; 3],
}

impl Model {
    fn write(&mut self, key: usize, replace: bool, event: &[u8], stages: &[StageMark]) {
        if replace {
            self.working.retain(|d| d.key != key);
        }
        self.working.push(Doc {
            key,
            event: event.to_vec(),
            stages: stages.to_vec(),
        });
    }

    fn lookup(&self, key: usize) -> Option<Doc> {
        self.committed.iter().find(|d| d.key == key).cloned()
    }

    fn event(&mut self, key: usize, mark: StageMark, json: &[u8]) {
        let (step, new) = match self.pending.get_mut(&key) {
            Some(known) => (known.add(mark, || json.into()), false),
            None => {
                let (known, step, new) = match self.lookup(key) {
                    None => {
                        let (known, step) = Known::first(mark, || json.into());
                        (known, step, true)
                    }
                    Some(stored) => {
                        let (known, step) = Known::from_stored(stored.stages, mark, || json.into());
                        if step == Step::RewriteStored {
                            self.write(key, true, &stored.event, &known.stages);
                        }
                        (known, step, false)
                    }
                };
                self.pending.insert(key, known);
                (step, new)
            }
        };
        let outcome = match step {
            _ if new => 0,
            Step::Duplicate => 2,
            _ => 1,
        };
        self.counts[outcome] += 1;
        match step {
            Step::WriteNew { replace } => {
                let stages = self.pending[&key].stages.clone();
                self.write(key, replace, json, &stages);
            }
            Step::Late => self.late.push(key),
            Step::Duplicate | Step::Defer | Step::RewriteStored => {}
        }
    }

    fn commit(&mut self) {
        let mut keys: Vec<usize> = self.pending.keys().copied().collect();
        keys.sort();
        for key in keys {
            let known = self.pending.get_mut(&key).unwrap();
            if let Some(Deferred {
                replace,
                json,
                stages,
            }) = known.take_deferred()
            {
                self.write(key, replace, &json, &stages);
            }
        }
        self.committed = self.working.clone();
        let late = std::mem::take(&mut self.late);
        if late.is_empty() {
            return;
        }
        for key in late {
            let stages = self.pending[&key].stages.clone();
            if let Some(stored) = self.lookup(key)
                && stored.stages != stages
            {
                self.write(key, true, &stored.event, &stages);
            }
        }
        self.commit();
    }
}

fn request(index: usize) -> impl Strategy<Value = Request> {
    (
        0..900i64,
        subsequence(vec![0, 1, 2, 3], 1..=4),
        select(&[200u64, 201, 403, 404][..]),
    )
        .prop_map(move |(jitter, stages, code)| Request {
            // Receive times (and so stage times) of different requests overlap.
            received: index as i64 * 200 + jitter,
            stages,
            code,
        })
}

#[derive(Debug, Clone)]
struct Case {
    requests: Vec<Request>,
    actions: Vec<Action>,
}

/// Each stage event of each request in one to three copies, shuffled, with commits and
/// forgets between them.
fn case() -> impl Strategy<Value = Case> {
    let requests = (1..=6usize).prop_flat_map(|n| (0..n).map(request).collect::<Vec<_>>());
    requests.prop_flat_map(|requests| {
        let lines: Vec<(usize, usize)> = requests
            .iter()
            .enumerate()
            .flat_map(|(r, q)| q.stages.iter().map(move |&s| (r, s)))
            .collect();
        let copies = prop::collection::vec(select(&[1usize, 1, 1, 2, 3][..]), lines.len());
        let breaks = prop::collection::vec((any::<Index>(), any::<bool>()), 0..6);
        (Just(requests), Just(lines), copies, breaks).prop_flat_map(
            |(requests, lines, copies, breaks)| {
                let mut events = Vec::new();
                for (&(r, s), n) in lines.iter().zip(copies) {
                    events.extend((0..n as u64).map(|copy| Action::Event(r, s, copy)));
                }
                let shuffled = Just(events).prop_shuffle();
                (Just(requests), shuffled, Just(breaks)).prop_map(|(requests, events, breaks)| {
                    let mut actions = events;
                    for (at, forget) in breaks {
                        let at = at.index(actions.len() + 1);
                        let action = if forget {
                            Action::Forget
                        } else {
                            Action::Commit
                        };
                        actions.insert(at, action);
                    }
                    Case { requests, actions }
                })
            },
        )
    })
}

/// Runs a case through the model writer and checks the index it leaves: the ingest
/// counts, one document per request, built from an event of its most complete stage,
/// listing each of its stages once, in lifecycle order.
fn check(case: &Case) -> Result<(), TestCaseError> {
    let mut model = Model::default();
    for &action in &case.actions {
        match action {
            Action::Event(r, s, copy) => {
                let mark = case.requests[r].mark(s, copy);
                model.event(r, mark, &event_json(r, s));
            }
            Action::Commit => model.commit(),
            Action::Forget => {
                model.commit();
                model.pending.clear();
            }
        }
    }
    model.commit();

    // New for a request's first event, collapsed for each further stage, duplicate for
    // every further copy of a stage.
    let requests = case.requests.len() as u64;
    let stages: u64 = case.requests.iter().map(|r| r.stages.len() as u64).sum();
    let events = case
        .actions
        .iter()
        .filter(|a| matches!(a, Action::Event(..)))
        .count() as u64;
    prop_assert_eq!(model.counts, [requests, stages - requests, events - stages]);

    prop_assert_eq!(model.committed.len(), case.requests.len());
    for (key, request) in case.requests.iter().enumerate() {
        let docs: Vec<&Doc> = model.committed.iter().filter(|d| d.key == key).collect();
        prop_assert_eq!(docs.len(), 1, "one document for request {}", key);
        let doc = docs[0];

        // Built from an event of this request, of its most complete stage.
        // ResponseComplete and Panic tie: either may stand.
        let (of, shown) = stage_of(&doc.event);
        prop_assert_eq!(of, key);
        let best = request.stages.iter().map(|&s| s.min(2)).max().unwrap();
        prop_assert!(request.stages.contains(&shown), "{} shows {}", key, shown);
        prop_assert_eq!(shown.min(2), best, "request {} shows stage {}", key, shown);

        // Each stage seen, once, in lifecycle order (stages of one rank by time).
        let listed: Vec<_> = doc
            .stages
            .iter()
            .map(|m| (m.stage, m.time, m.code))
            .collect();
        let expected: Vec<_> = request
            .stages
            .iter()
            .map(|&s| {
                let m = request.mark(s, 0);
                (m.stage, m.time, m.code)
            })
            .collect();
        prop_assert_eq!(listed, expected, "stages of request {}", key);
    }
    Ok(())
}

proptest! {
    #[test]
    fn stages_in_any_order_collapse_into_one_document(case in case()) {
        check(&case)?;
    }
}

/// The audit event of one stage of request `n`, as the apiserver logs it.
fn line(n: usize, request: &Request, stage: usize) -> String {
    let mark = request.mark(stage, 0);
    let at = |micros: i64| {
        chrono::DateTime::from_timestamp_micros(T0 + micros)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string()
    };
    let status = match mark.code {
        Some(code) => serde_json::json!({"metadata": {}, "code": code}),
        None => serde_json::Value::Null,
    };
    serde_json::json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": format!("00000000-0000-4000-8000-{n:012}"),
        "stage": STAGES[stage].0.as_str(),
        "verb": "get",
        "requestURI": "/api/v1/namespaces/default/pods/web",
        "objectRef": {"resource": "pods", "namespace": "default", "name": "web"},
        "user": {"username": "alice"},
        "responseStatus": status,
        "requestReceivedTimestamp": at(request.received),
        "stageTimestamp": at(mark.time.unwrap()),
    })
    .to_string()
}

/// 2026-11-20T10:00:00Z.
const T0: i64 = 1_795_168_800_000_000;

/// The stored documents of an index, by the request number of their auditID.
fn stored_by_request(engine: &crate::query::Engine) -> Vec<(usize, super::document::Stored)> {
    let all = crate::query::Search {
        expr: crate::query::parse_query("", &[]).unwrap(),
        since: None,
        until: None,
    };
    let mut docs = Vec::new();
    engine
        .scan_stored(&all, &mut |stored| {
            let event: serde_json::Value = serde_json::from_slice(&stored.event).unwrap();
            let id = event["auditID"].as_str().unwrap();
            let n = id.rsplit('-').next().unwrap().parse().unwrap();
            docs.push((n, stored));
            Ok(())
        })
        .unwrap();
    docs
}

/// The events of a case through the real writer: the lines up to the first `Forget`
/// in one ingest run, the rest in a second (commits inside a run are the writer's).
fn check_writer(case: &Case) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut runs: [Vec<String>; 2] = Default::default();
    let mut run = 0;
    for &action in &case.actions {
        match action {
            Action::Event(r, s, _) => runs[run].push(line(r, &case.requests[r], s)),
            Action::Forget => run = 1,
            Action::Commit => {}
        }
    }
    let mut engine = None;
    for (n, lines) in runs.iter().enumerate() {
        // A first line of its own gives each log its own fingerprint, so the second
        // is not taken for the first one, read on (the checkpoint's business).
        let mut text = vec![" ".repeat(n + 1)];
        text.extend(lines.iter().cloned());
        engine = Some(crate::testing::ingest_lines(
            dir.path(),
            &format!("run{n}.log"),
            &text,
        ));
    }
    let docs = stored_by_request(&engine.unwrap());
    prop_assert_eq!(docs.len(), case.requests.len());
    for (n, request) in case.requests.iter().enumerate() {
        let of: Vec<_> = docs.iter().filter(|(m, _)| *m == n).collect();
        prop_assert_eq!(of.len(), 1, "one document for request {}", n);
        let stored = &of[0].1;
        let event: serde_json::Value = serde_json::from_slice(&stored.event).unwrap();
        let best = request.stages.iter().map(|&s| s.min(2)).max().unwrap();
        let shown = STAGES
            .iter()
            .position(|(stage, _)| event["stage"] == stage.as_str());
        prop_assert!(shown.is_some_and(|s| request.stages.contains(&s) && s.min(2) == best));
        let listed: Vec<_> = stored
            .stages
            .iter()
            .map(|m| (m.stage, m.time, m.code))
            .collect();
        let expected: Vec<_> = request
            .stages
            .iter()
            .map(|&s| {
                let m = request.mark(s, 0);
                (m.stage, m.time.map(|t| T0 + t), m.code)
            })
            .collect();
        prop_assert_eq!(listed, expected, "stages of request {}", n);
    }
    Ok(())
}

proptest! {
    // Each case indexes twice into a new temporary index: a few cases, in-process.
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn the_writer_collapses_stages_in_any_order_into_one_document(case in case()) {
        check_writer(&case)?;
    }
}
