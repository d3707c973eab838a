//! Property test of stage collapse (issue 6): however the stage events of a set of
//! requests arrive — shuffled, repeated, spread over files and over two ingest runs,
//! with or without a commit between files — the index holds one document per request,
//! showing its most complete stage, and `--all-stages` lists each stage seen once.
//!
//! The examples in `ingest.rs` pin single orders; this one searches the orders. Each
//! case runs the real binary five times on a fresh index, so the number of cases is
//! modest (PROPTEST_CASES asks for more).

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
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
    /// Drawn from a few values, so unrelated requests share auditIDs as in test
    /// fixtures; their receive times differ, so they stay different requests.
    audit_id: String,
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
        (self.audit_id.clone(), self.time(0))
    }
}

fn request(index: usize) -> impl Strategy<Value = Request> {
    (
        0..3u32,
        select(&["get", "list", "watch", "create", "delete"][..]),
        select(
            &[
                "alice",
                "system:serviceaccount:ci:deployer",
                "system:node:n1",
            ][..],
        ),
        0..900u32,
        subsequence(vec![0, 1, 2, 3], 1..=4),
        select(&[200u64, 201, 403, 404][..]),
    )
        .prop_map(move |(id_n, verb, user, jitter, stages, code)| Request {
            audit_id: id(id_n),
            verb,
            user,
            // One second apart: receive times (and so request keys) are distinct.
            received_ms: index as u32 * 1000 + jitter,
            stages,
            code,
        })
}

/// Where the copies of one stage's line go, by run: one run or both, some twice. One
/// copy is the most common.
const COPIES: &[&[usize]] = &[
    &[0],
    &[0],
    &[1],
    &[1],
    &[0, 1],
    &[0, 0],
    &[1, 1],
    &[0, 1, 1],
];

#[derive(Debug, Clone)]
struct Case {
    requests: Vec<Request>,
    /// Per run, its lines as (request, stage), in the order they are written.
    runs: [Vec<(usize, usize)>; 2],
    /// Per run: where its lines are split into two files (a commit may fall between).
    splits: [Option<Index>; 2],
    /// Commit after every file (`--commit-interval` of a microsecond) instead of once.
    commit_often: bool,
}

fn case() -> impl Strategy<Value = Case> {
    let requests = (1..=6usize).prop_flat_map(|n| (0..n).map(request).collect::<Vec<_>>());
    requests.prop_flat_map(|requests| {
        let lines: Vec<(usize, usize)> = requests
            .iter()
            .enumerate()
            .flat_map(|(r, q)| q.stages.iter().map(move |&s| (r, s)))
            .collect();
        // Each copy of a line gets a random sort key: sorting by it shuffles the runs.
        let copies = prop::collection::vec((select(COPIES), any::<[u16; 3]>()), lines.len());
        let splits = [any::<Option<Index>>(), any::<Option<Index>>()];
        (Just(requests), Just(lines), copies, splits, any::<bool>()).prop_map(
            |(requests, lines, copies, splits, commit_often)| {
                let mut runs: [Vec<(u16, (usize, usize))>; 2] = Default::default();
                for (&line, (runs_of_copies, keys)) in lines.iter().zip(copies) {
                    for (&run, key) in runs_of_copies.iter().zip(keys) {
                        runs[run].push((key, line));
                    }
                }
                let runs = runs.map(|mut run| {
                    run.sort_by_key(|&(key, _)| key);
                    run.into_iter().map(|(_, line)| line).collect()
                });
                Case {
                    requests,
                    runs,
                    splits,
                    commit_often,
                }
            },
        )
    })
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
            row["auditID"].as_str().unwrap().to_string(),
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
        let split = case.splits[run].map_or(lines.len(), |i| i.index(lines.len() + 1));
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

/// 24 cases unless PROPTEST_CASES asks for another number; shrinking a failure stops
/// after 200 steps, each of which runs the binary several times.
fn config() -> ProptestConfig {
    let default = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        default.cases
    } else {
        24
    };
    ProptestConfig {
        cases,
        max_shrink_iters: 200,
        ..default
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn stages_in_any_order_over_two_runs_collapse_into_one_document(case in case()) {
        check(&case)?;
    }
}
