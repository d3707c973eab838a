//! Stage collapse end to end (issue 6): the stage events of a few requests arrive
//! shuffled, repeated, spread over files and over two ingest runs with a commit after
//! every file, and the index holds one document per request, showing its most complete
//! stage, and `--all-stages` lists each stage seen once.
//!
//! The orders themselves are searched in-process, on the writer's decisions
//! (`src/index/collapse_props.rs`); this one hand-written interleaving runs the real
//! binary to keep the wiring from ingest through the writer to the rows covered.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::{Kaudit, event, id};

/// The stages in lifecycle order, each logged this many ms after the request arrived:
/// stage timestamps increase through a request's life.
const STAGES: [(&str, u32); 4] = [
    ("RequestReceived", 0),
    ("ResponseStarted", 40),
    ("ResponseComplete", 250),
    ("Panic", 300),
];

/// Rank of a stage for "most complete", as in `Stage::rank`: the two final stages tie.
fn rank(stage: usize) -> usize {
    stage.min(2)
}

#[derive(Debug, Clone)]
struct Request {
    /// Unrelated requests may share auditIDs, as in test fixtures; their receive times
    /// differ, so they stay different requests. `None`: the event has no auditID (its
    /// stages are then told apart by content, so such a request has one stage).
    audit_id: Option<String>,
    verb: &'static str,
    user: &'static str,
    /// requestReceivedTimestamp in ms after 10:00:00.
    received_ms: u32,
    /// Indexes into STAGES, in lifecycle order, at least one.
    stages: Vec<usize>,
    /// The code of ResponseComplete.
    code: u64,
}

impl Request {
    fn time(&self, stage: usize) -> String {
        let ms = self.received_ms + STAGES[stage].1;
        format!(
            "2026-11-20T10:{:02}:{:02}.{:03}000Z",
            ms / 60_000,
            ms / 1000 % 60,
            ms % 1000
        )
    }

    /// The code a stage's event carries. They differ between stages, so that a
    /// document's code shows which stage's event it was built from.
    fn code(&self, stage: usize) -> Option<u64> {
        match STAGES[stage].0 {
            "RequestReceived" => None,
            "ResponseStarted" => Some(101),
            "ResponseComplete" => Some(self.code),
            _ => Some(500),
        }
    }

    /// The audit event of one stage, as the apiserver logs it.
    fn line(&self, stage: usize) -> String {
        let name = format!("web-{}", self.received_ms);
        let status = match self.code(stage) {
            Some(code) => json!({"metadata": {}, "code": code}),
            None => Value::Null,
        };
        event(json!({
            "auditID": self.audit_id,
            "stage": STAGES[stage].0,
            "verb": self.verb,
            "requestURI": format!("/api/v1/namespaces/default/pods/{name}"),
            "objectRef": {"resource": "pods", "namespace": "default", "name": name, "apiVersion": "v1"},
            "user": {"username": self.user, "groups": ["system:authenticated"]},
            "responseStatus": status,
            "requestReceivedTimestamp": self.time(0),
            "stageTimestamp": self.time(stage),
        }))
    }

    /// How a document or row names its request.
    fn row_key(&self) -> (String, String) {
        (self.audit_id.clone().unwrap_or_default(), self.time(0))
    }
}

#[derive(Debug, Clone)]
struct Case {
    requests: Vec<Request>,
    /// Per run, its lines as (request, stage), in the order they are written.
    runs: [Vec<(usize, usize)>; 2],
    /// Per run: where its lines are split into two files (a commit may fall between).
    splits: [Option<usize>; 2],
    /// Commit after every file (`--commit-interval` of a microsecond) instead of once.
    commit_often: bool,
}

/// The counts of an ingest summary: new requests, stages collapsed, duplicates.
fn summary(stderr: &str) -> [u64; 3] {
    let line = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("requests: "))
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    numbers.try_into().expect("three counts")
}

/// Rows grouped by the request they show.
fn by_request(rows: Vec<Value>) -> BTreeMap<(String, String), Vec<Value>> {
    let mut out: BTreeMap<_, Vec<Value>> = BTreeMap::new();
    for row in rows {
        let key = (
            row["auditID"].as_str().unwrap_or_default().to_string(),
            row["time"].as_str().unwrap().to_string(),
        );
        out.entry(key).or_default().push(row);
    }
    out
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let k = Kaudit::new();
    let mut totals = [0; 3];
    for (run, lines) in case.runs.iter().enumerate() {
        let lines: Vec<String> = lines
            .iter()
            .map(|&(r, s)| case.requests[r].line(s))
            .collect();
        let split = case.splits[run].unwrap_or(lines.len());
        let mut args = vec!["ingest".to_string()];
        if case.commit_often {
            args.extend(["--commit-interval".into(), "0.000001".into()]);
        }
        for (file, part) in [&lines[..split], &lines[split..]].into_iter().enumerate() {
            if file == 1 && case.splits[run].is_none() {
                break;
            }
            // A first line of its own (blank lines are skipped) gives every file its own
            // fingerprint: no file is taken for another one read before (the checkpoint's
            // business, not this test's), so every copy of a line reaches the writer.
            let mut text = vec![" ".repeat(1 + run * 2 + file)];
            text.extend(part.iter().cloned());
            let path = k.write(&format!("run{run}-{file}.log"), &text);
            args.push(path.display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = k.run(&args);
        prop_assert_eq!(out.code, 0, "ingest failed: {}", out.stderr);
        for (total, n) in totals.iter_mut().zip(summary(&out.stderr)) {
            *total += n;
        }
    }

    // Every line is an event: new for a request's first, collapsed for each further
    // stage, duplicate for every copy of a stage already seen, across both runs.
    let requests = case.requests.len() as u64;
    let stages: u64 = case.requests.iter().map(|r| r.stages.len() as u64).sum();
    let lines = (case.runs[0].len() + case.runs[1].len()) as u64;
    prop_assert_eq!(totals, [requests, stages - requests, lines - stages]);

    prop_assert_eq!(k.count(""), requests);
    let docs = by_request(k.rows("", &[]));
    let all_stages = by_request(k.rows("", &["--all-stages"]));
    prop_assert_eq!(docs.len(), case.requests.len());
    for request in &case.requests {
        let key = request.row_key();
        let rows = docs.get(&key).map_or(&[][..], Vec::as_slice);
        prop_assert_eq!(rows.len(), 1, "one document for {:?}", key);
        let doc = &rows[0];

        // The most complete stage, with its own code. ResponseComplete and Panic tie:
        // the apiserver logs one or the other, never both, so when a case has both,
        // either may stand (kaudit keeps the first it read).
        let best = request.stages.iter().map(|&s| rank(s)).max().unwrap();
        let shown: Vec<usize> = request
            .stages
            .iter()
            .copied()
            .filter(|&s| rank(s) == best && doc["stage"] == STAGES[s].0)
            .collect();
        prop_assert_eq!(
            shown.len(),
            1,
            "{:?}: stage {} of {:?}",
            key,
            doc["stage"],
            request.stages
        );
        prop_assert_eq!(doc["code"].as_u64(), request.code(shown[0]), "{:?}", key);
        let finals: Vec<String> = request
            .stages
            .iter()
            .filter(|&&s| rank(s) == 2)
            .map(|&s| request.time(s))
            .collect();
        match doc["completed"].as_str() {
            None => prop_assert!(finals.is_empty(), "{:?} completed", key),
            Some(t) => prop_assert!(finals.iter().any(|f| f == t), "{:?} completed {}", key, t),
        }

        // --all-stages: each stage seen, once, with its own time and code.
        let mut listed: Vec<(String, String, Option<u64>)> = all_stages
            .get(&key)
            .into_iter()
            .flatten()
            .map(|row| {
                let stage = row["stage"].as_str().unwrap().to_string();
                let time = row["stageTimestamp"].as_str().unwrap().to_string();
                (stage, time, row["code"].as_u64())
            })
            .collect();
        listed.sort();
        let mut expected: Vec<(String, String, Option<u64>)> = request
            .stages
            .iter()
            .map(|&s| (STAGES[s].0.to_string(), request.time(s), request.code(s)))
            .collect();
        expected.sort();
        prop_assert_eq!(listed, expected, "{:?}", key);
    }
    Ok(())
}

/// The stages in lifecycle order, as indexes into STAGES.
const RECEIVED: usize = 0;
const STARTED: usize = 1;
const COMPLETE: usize = 2;
const PANIC: usize = 3;

/// Three requests, two of them sharing an auditID (told apart by receive time). Run 0
/// reads a final stage before the request's first one (a late stage) and a stage twice;
/// run 1 brings stages of requests committed by run 0 — a less complete one (the
/// stored document is rewritten), more complete ones (a new document replaces it) —
/// and a copy of a stage run 0 read.
fn fixed_case() -> Case {
    let request = |audit_id, verb, user, received_ms, stages: &[usize], code| Request {
        audit_id: Some(id(audit_id)),
        verb,
        user,
        received_ms,
        stages: stages.to_vec(),
        code,
    };
    Case {
        requests: vec![
            request(0, "get", "alice", 100, &[RECEIVED, STARTED, COMPLETE], 200),
            request(
                0,
                "create",
                "system:serviceaccount:ci:deployer",
                1200,
                &[RECEIVED, COMPLETE],
                403,
            ),
            request(
                1,
                "delete",
                "system:node:n1",
                2300,
                &[RECEIVED, STARTED, PANIC],
                200,
            ),
        ],
        runs: [
            vec![
                (0, COMPLETE),
                (1, RECEIVED),
                (0, RECEIVED),
                (2, STARTED),
                (0, COMPLETE),
            ],
            vec![
                (0, STARTED),
                (1, COMPLETE),
                (2, RECEIVED),
                (2, PANIC),
                (1, RECEIVED),
            ],
        ],
        splits: [Some(2), None],
        commit_often: true,
    }
}

#[test]
fn stages_in_any_order_over_two_runs_collapse_into_one_document() {
    check(&fixed_case()).unwrap();
}

/// Requests whose auditID says little: an empty one, one too long to be a term (two
/// requests share it), and none at all. Documents are found by request key
/// (`index::identity`), so their stages still collapse over files, commits and runs, a
/// replaced document is the only one deleted, and copies are still duplicates.
#[test]
fn requests_without_a_usable_audit_id_collapse_and_dedupe_as_well() {
    let long = "x".repeat(70_000);
    let request = |audit_id: Option<&str>, verb, received_ms, stages: &[usize]| Request {
        audit_id: audit_id.map(str::to_string),
        verb,
        user: "alice",
        received_ms,
        stages: stages.to_vec(),
        code: 200,
    };
    let case = Case {
        requests: vec![
            request(Some(""), "get", 100, &[RECEIVED, STARTED, COMPLETE]),
            request(Some(&long), "create", 1200, &[RECEIVED, COMPLETE]),
            request(Some(&long), "delete", 2300, &[RECEIVED, PANIC]),
            request(None, "list", 3400, &[COMPLETE]),
        ],
        runs: [
            vec![(0, RECEIVED), (1, RECEIVED), (2, RECEIVED), (3, COMPLETE)],
            vec![
                (0, STARTED),
                (1, COMPLETE),
                (0, COMPLETE),
                (2, PANIC),
                (3, COMPLETE),
                (1, RECEIVED),
            ],
        ],
        splits: [Some(2), Some(3)],
        commit_often: true,
    };
    check(&case).unwrap();
}
