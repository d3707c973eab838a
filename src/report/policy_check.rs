//! `kaudit policy check POLICY`: what an audit Policy would do to the traffic the index
//! holds. Every request in scope is judged (`policy::check`) and read once:
//!
//! - `rules`: per rule, the requests it takes, their bytes in today's log and the bytes
//!   it would write; rules that never match, and those an earlier rule shadows;
//! - `leaks`: requests it would log with Secret values in a body (a Secret's request or
//!   response, a TokenRequest's response, a TokenReview's request), per rule, and the
//!   rule that stops them;
//! - `blindSpots`: what an investigation would miss: pod and workload writes without
//!   their spec, sessions into pods not logged, RBAC changes without their body, secret
//!   access not logged; each with the rules that cause it and the rule that fixes it;
//! - `cost`: bytes per day today and under this Policy.
//!
//! Projected bytes: a request judged None writes nothing; else each stage it reaches
//! (RequestReceived always, minus the omitted stages) costs its envelope (today's bytes
//! less today's bodies, shared among today's stages), plus the request body on each
//! stage after RequestReceived at Request and above and the response body once at
//! RequestResponse. A body this Policy logs that today's log does not hold is estimated
//! from requests of the same resource and verb that have one, and the figure is then a
//! lower bound (said so); with none to learn from it counts 0, also said.

use std::collections::{BTreeMap, HashMap};

use serde_json::value::RawValue;

use super::{Bodies, Cell, Report, Section};
use crate::error::Result;
use crate::model::{Request, Stage};
use crate::podspec::POD_RESOURCES;
use crate::policy::check::{Decision, evaluate};
use crate::policy::{Attributes, Level, Policy, shadow};
use crate::query::{Engine, Search};

/// The rule that keeps Secret values out of the log: Metadata for what carries them.
pub const LEAK_FIX: &str = "\
- level: Metadata
  resources:
  - group: \"\"
    resources: [\"secrets\", \"serviceaccounts/token\"]
  - group: \"authentication.k8s.io\"
    resources: [\"tokenreviews\"]";

const SESSIONS_FIX: &str = "\
- level: Request
  resources:
  - group: \"\"
    resources: [\"pods/exec\", \"pods/attach\", \"pods/portforward\", \"pods/ephemeralcontainers\"]";

const RBAC_FIX: &str = "\
- level: RequestResponse
  verbs: [\"create\", \"update\", \"patch\", \"delete\", \"deletecollection\"]
  resources:
  - group: \"rbac.authorization.k8s.io\"
    resources: [\"roles\", \"clusterroles\", \"rolebindings\", \"clusterrolebindings\"]";

/// What a Policy does to a request that an investigator must know of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Finding {
    SecretInRequest,
    SecretInResponse,
    TokenRequest,
    TokenReview,
    WorkloadSpecMissing,
    SessionMissing,
    RbacBodyMissing,
    SecretAccessMissing,
}

impl Finding {
    fn is_leak(self) -> bool {
        self <= Finding::TokenReview
    }

    fn what(self) -> &'static str {
        match self {
            Finding::SecretInRequest => {
                "Secret values in the request body (create, update, patch of a Secret)"
            }
            Finding::SecretInResponse => {
                "Secret values in the response body (a Secret read or written at RequestResponse)"
            }
            Finding::TokenRequest => "a ServiceAccount token in the response (TokenRequest)",
            Finding::TokenReview => "the reviewed bearer token in the request (TokenReview)",
            Finding::WorkloadSpecMissing => {
                "pod and workload writes logged without their spec (below Request): the immutability and privileged-pod checks cannot see them"
            }
            Finding::SessionMissing => {
                "exec, attach, port-forward and ephemeral containers not logged (None)"
            }
            Finding::RbacBodyMissing => {
                "RBAC changes logged without what they grant (below Request), or deletions not logged"
            }
            Finding::SecretAccessMissing => {
                "secret reads and writes not logged (None): who read which secret cannot be answered"
            }
        }
    }

    fn fix(self) -> &'static str {
        match self {
            f if f.is_leak() => LEAK_FIX,
            Finding::WorkloadSpecMissing => super::immutability::POLICY_RULE,
            Finding::SessionMissing => SESSIONS_FIX,
            Finding::RbacBodyMissing => RBAC_FIX,
            _ => LEAK_FIX,
        }
    }
}

/// The findings of `level` for request `r`.
fn findings(r: &Request<'_>, level: Level) -> Vec<Finding> {
    let resource = r.resource.unwrap_or_default();
    let group = r.api_group.unwrap_or_default();
    let sub = r.subresource;
    let verb = r.verb.unwrap_or_default();
    let writes = matches!(verb, "create" | "update" | "patch");
    let mut out = Vec::new();
    let core = group.is_empty();
    if core && resource == "secrets" && sub.is_none() {
        if writes && level >= Level::Request {
            out.push(Finding::SecretInRequest);
        } else if level == Level::RequestResponse && verb != "watch" {
            out.push(Finding::SecretInResponse);
        }
        if level == Level::None {
            out.push(Finding::SecretAccessMissing);
        }
    }
    if core
        && resource == "serviceaccounts"
        && sub == Some("token")
        && verb == "create"
        && level == Level::RequestResponse
    {
        out.push(Finding::TokenRequest);
    }
    if group == "authentication.k8s.io"
        && resource == "tokenreviews"
        && verb == "create"
        && level >= Level::Request
    {
        out.push(Finding::TokenReview);
    }
    // The workload kinds of Kubernetes itself, by group: a `jobs` of another group is
    // someone's custom resource.
    let workload_group = match resource {
        "pods" | "replicationcontrollers" | "podtemplates" => "",
        "deployments" | "daemonsets" | "statefulsets" | "replicasets" => "apps",
        "jobs" | "cronjobs" => "batch",
        _ => "-",
    };
    let spec_write = POD_RESOURCES.contains(&resource)
        && group == workload_group
        && (sub.is_none() || (resource == "pods" && sub == Some("ephemeralcontainers")));
    if spec_write && writes && level < Level::Request {
        out.push(Finding::WorkloadSpecMissing);
    }
    if core
        && resource == "pods"
        && matches!(
            sub,
            Some("exec" | "attach" | "portforward" | "ephemeralcontainers")
        )
        && level == Level::None
    {
        out.push(Finding::SessionMissing);
    }
    let rbac = group == "rbac.authorization.k8s.io"
        && matches!(
            resource,
            "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings"
        );
    let deletes = matches!(verb, "delete" | "deletecollection");
    if rbac && ((writes && level < Level::Request) || (deletes && level == Level::None)) {
        out.push(Finding::RbacBodyMissing);
    }
    out
}

/// Each finding per rule that causes it (None: no rule): how many requests, and the
/// audit ID of the first.
type Found = BTreeMap<(Finding, Option<usize>), (u64, Option<String>)>;

/// Whether `level` logs a body of this ConfigMap request (its data).
fn logs_configmap_body(r: &Request<'_>, level: Level) -> bool {
    let verb = r.verb.unwrap_or_default();
    r.api_group.unwrap_or_default().is_empty()
        && r.resource == Some("configmaps")
        && r.subresource.is_none()
        && ((matches!(verb, "create" | "update" | "patch") && level >= Level::Request)
            || (verb != "watch" && level == Level::RequestResponse))
}

/// Per rule (None: no rule matched).
#[derive(Debug, Default)]
struct RuleTally {
    requests: u64,
    bytes_today: u64,
    projected: u64,
    /// Bodies this rule logs that today's log lacks, by (kind, body): how many copies.
    missing: BTreeMap<(String, bool), u64>,
}

/// Body sizes seen per kind of request (resource/subresource and verb).
#[derive(Debug, Default)]
struct BodySizes {
    /// (kind, response?) → (bytes, count).
    seen: HashMap<(String, bool), (u64, u64)>,
}

impl BodySizes {
    fn average(&self, key: &(String, bool)) -> Option<u64> {
        self.seen.get(key).map(|(bytes, n)| bytes / n.max(&1))
    }
}

/// Bytes of the request and response bodies in a stored event (0 when absent).
fn body_sizes(json: &[u8], value: &simd_json::BorrowedValue<'_>) -> (u64, u64) {
    use simd_json::prelude::ValueObjectAccess;
    if value.get("requestObject").is_none() && value.get("responseObject").is_none() {
        return (0, 0);
    }
    let len = |raw: Option<&RawValue>| {
        raw.filter(|r| r.get() != "null")
            .map_or(0, |r| r.get().len() as u64)
    };
    match serde_json::from_slice::<Bodies>(json) {
        Ok(b) => (len(b.request), len(b.response)),
        Err(_) => (0, 0),
    }
}

/// `policy check`: the report of what `policy` does to the requests of `scope`.
pub fn run(engine: &Engine, policy: &Policy, scope: &Search) -> Result<Report> {
    let mut tallies: BTreeMap<Option<usize>, RuleTally> = BTreeMap::new();
    let mut found = Found::new();
    // ConfigMaps this Policy would log with a body, per rule: not Secrets, but where
    // credentials often end up.
    let mut configmaps: BTreeMap<usize, u64> = BTreeMap::new();
    let mut sizes = BodySizes::default();
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    let mut buf = Vec::new();
    engine.scan_stored(scope, &mut |stored| {
        let today: u64 = stored.stages.iter().map(|s| s.bytes).sum();
        let stages: Vec<Stage> = stored.stages.iter().filter_map(|s| s.stage).collect();
        stored.read(&mut buf, |r, value| {
            if let Some(t) = r.time() {
                (first, last) = (first.min(t), last.max(t));
            }
            let decision = evaluate(policy, &Attributes::of(r));
            let kind = format!(
                "{}{} {}",
                r.resource.unwrap_or("(non-resource)"),
                r.subresource.map(|s| format!("/{s}")).unwrap_or_default(),
                r.verb.unwrap_or_default()
            );
            let (req_body, resp_body) = body_sizes(&stored.event, value);
            for (size, response) in [(req_body, false), (resp_body, true)] {
                if size > 0 {
                    let e = sizes.seen.entry((kind.clone(), response)).or_default();
                    (e.0, e.1) = (e.0 + size, e.1 + 1);
                }
            }
            let tally = tallies.entry(decision.rule).or_default();
            tally.requests += 1;
            tally.bytes_today += today;
            project(
                tally,
                r,
                &decision,
                &stages,
                today,
                (req_body, resp_body),
                kind,
            );
            if let Some(rule) = decision
                .rule
                .filter(|_| logs_configmap_body(r, decision.level))
            {
                *configmaps.entry(rule).or_default() += 1;
            }
            for f in findings(r, decision.level) {
                let slot = found.entry((f, decision.rule)).or_default();
                slot.0 += 1;
                if slot.1.is_none() {
                    slot.1 = r.audit_id.map(str::to_string);
                }
            }
        });
        Ok(())
    })?;
    // Estimates of the bodies today's log lacks, from their kind's average.
    let mut unknown_bodies = 0;
    for tally in tallies.values_mut() {
        for (key, copies) in &tally.missing {
            match sizes.average(key) {
                Some(avg) => tally.projected += avg * copies,
                None => unknown_bodies += copies,
            }
        }
    }
    let span = (last > first).then(|| last - first);
    let mut leaks = findings_section(
        "leaks",
        "Leaks: Secret values this Policy would log",
        &found,
        true,
    );
    if !configmaps.is_empty() {
        let per_rule: Vec<String> = configmaps
            .iter()
            .map(|(rule, n)| format!("rule {rule}: {n}"))
            .collect();
        let note = leaks.note.take().unwrap_or_default();
        leaks.note = Some(format!(
            "{note}\nConfigMaps are not Secrets, but credentials often end up in them: this Policy \
             logs the body of {} ConfigMap request(s) ({}); `kaudit query @configmap-credentials` \
             finds those that look like credentials, and the Metadata rule above can take \
             configmaps too.",
            configmaps.values().sum::<u64>(),
            per_rule.join(", ")
        ));
    }
    let sections = vec![
        rules_section(policy, &tallies),
        leaks,
        findings_section(
            "blindSpots",
            "Blind spots: what an investigation would miss",
            &found,
            false,
        ),
        cost_section(&tallies, span, unknown_bodies),
    ];
    // Each leak and blind spot row is a finding.
    let flagged = found.len() as u64;
    Ok(Report {
        name: "policy check",
        sections,
        primary: "rules",
        json: None,
        flagged,
    })
}

/// Adds what request `r` would write under `decision` to its rule's projection.
fn project(
    tally: &mut RuleTally,
    r: &Request<'_>,
    decision: &Decision,
    stages: &[Stage],
    today: u64,
    (req_body, resp_body): (u64, u64),
    kind: String,
) {
    if decision.level == Level::None {
        return;
    }
    // Today's envelope per stage: the bodies taken out (the request body is on every
    // stage after RequestReceived, the response body on the last).
    let after_received =
        |s: &[Stage]| s.iter().filter(|s| **s != Stage::RequestReceived).count() as u64;
    let bodies_today = req_body * after_received(stages) + resp_body;
    let envelope = today.saturating_sub(bodies_today) / (stages.len().max(1) as u64);
    // Every request reaches RequestReceived, whether today's Policy logged it or not.
    let mut reached: Vec<Stage> = stages.to_vec();
    if !reached.contains(&Stage::RequestReceived) {
        reached.push(Stage::RequestReceived);
    }
    reached.retain(|s| !decision.omit_stages.contains(&s.as_str()));
    tally.projected += envelope * reached.len() as u64;
    let body_stages = after_received(&reached);
    let resource_request = r.resource.is_some();
    let verb = r.verb.unwrap_or_default();
    if decision.level >= Level::Request && body_stages > 0 {
        if req_body > 0 {
            tally.projected += req_body * body_stages;
        } else if matches!(verb, "create" | "update" | "patch" | "post" | "put") {
            *tally.missing.entry((kind.clone(), false)).or_default() += body_stages;
        }
    }
    let completes = reached.contains(&Stage::ResponseComplete);
    if decision.level == Level::RequestResponse && completes {
        if resp_body > 0 {
            tally.projected += resp_body;
        } else if resource_request
            && matches!(
                verb,
                "get" | "list" | "create" | "update" | "patch" | "delete"
            )
            && r.subresource
                .is_none_or(|s| !matches!(s, "exec" | "attach" | "portforward" | "proxy" | "log"))
        {
            *tally.missing.entry((kind, true)).or_default() += 1;
        }
    }
}

fn rules_section(policy: &Policy, tallies: &BTreeMap<Option<usize>, RuleTally>) -> Section {
    let mut section = Section::new(
        "rules",
        "Rules: what each takes and writes",
        &[
            "rule",
            "line",
            "level",
            "requests",
            "bytesToday",
            "projectedBytes",
            "note",
        ],
    );
    let shadowed = shadow::shadowed_by(&policy.rules);
    let empty = RuleTally::default();
    for (i, rule) in policy.rules.iter().enumerate() {
        let t = tallies.get(&Some(i)).unwrap_or(&empty);
        let note = match (shadowed[i], t.requests) {
            (Some(by), 0) => format!("never matches: rule {by} takes every request it would"),
            (None, 0) => "never matched in this traffic".to_string(),
            (None, _) if !t.missing.is_empty() => {
                "lower bound: bodies today's log lacks are estimated".to_string()
            }
            _ => String::new(),
        };
        section.rows.push(vec![
            Cell::Count(i as u64),
            Cell::Count(rule.line as u64),
            Cell::text(rule.level.as_str()),
            Cell::Count(t.requests),
            Cell::Count(t.bytes_today),
            Cell::Count(t.projected),
            Cell::Text((!note.is_empty()).then_some(note)),
        ]);
    }
    let none = tallies.get(&None).unwrap_or(&empty);
    section.rows.push(vec![
        Cell::Text(None),
        Cell::Text(None),
        Cell::text("None"),
        Cell::Count(none.requests),
        Cell::Count(none.bytes_today),
        Cell::Count(0),
        Cell::text("no rule matched: not logged"),
    ]);
    section.note = Some(
        "bytesToday: the requests' stages in today's log; projectedBytes: what this Policy \
         would write for them (level, omitted stages, bodies)."
            .to_string(),
    );
    section
}

fn findings_section(key: &'static str, title: &'static str, found: &Found, leaks: bool) -> Section {
    let mut section = Section::new(key, title, &["what", "rule", "requests", "example", "fix"]);
    let mut fixes: Vec<(Finding, Option<usize>)> = Vec::new();
    for ((finding, rule), (n, example)) in found.iter().filter(|((f, _), _)| f.is_leak() == leaks) {
        section.rows.push(vec![
            Cell::text(finding.what()),
            rule.map_or(Cell::text("none (level None)"), |r| Cell::Count(r as u64)),
            Cell::Count(*n),
            Cell::opt(example.clone()),
            Cell::text(finding.fix()),
        ]);
        // The fix goes before the first rule that causes any of its rows; rows no
        // rule took (None) are taken by the fix wherever it stands.
        match fixes.iter_mut().find(|(f, _)| f.fix() == finding.fix()) {
            Some((_, at)) => {
                *at = match (*at, *rule) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            None => fixes.push((*finding, *rule)),
        }
    }
    section.note = Some(if fixes.is_empty() {
        if leaks {
            "No Secret value would be logged.".to_string()
        } else {
            "Nothing an investigation needs would be missed.".to_string()
        }
    } else {
        let advice: Vec<String> = fixes
            .iter()
            .map(|(f, rule)| {
                let place = rule.map_or(
                    "before the rules that match them now (none does: add it anywhere)".to_string(),
                    |r| format!("before rule {r}"),
                );
                format!("Add, {place}:\n{}", f.fix())
            })
            .collect();
        advice.join("\n")
    });
    section
}

fn cost_section(
    tallies: &BTreeMap<Option<usize>, RuleTally>,
    span: Option<i64>,
    unknown: u64,
) -> Section {
    let mut section = Section::new(
        "cost",
        "Cost: the log's bytes",
        &["measure", "today", "projected"],
    );
    let today: u64 = tallies.values().map(|t| t.bytes_today).sum();
    let projected: u64 = tallies.values().map(|t| t.projected).sum();
    let lower = tallies.values().any(|t| !t.missing.is_empty());
    section.rows.push(vec![
        Cell::text("bytes"),
        Cell::Count(today),
        Cell::Count(projected),
    ]);
    if let Some(span) = span {
        let per_day = |b: u64| (b as f64 * 86_400e6 / span as f64) as u64;
        section.rows.push(vec![
            Cell::text("bytes per day"),
            Cell::Count(per_day(today)),
            Cell::Count(per_day(projected)),
        ]);
    }
    // The rules that would write the most.
    let mut top: Vec<(&Option<usize>, &RuleTally)> =
        tallies.iter().filter(|(r, _)| r.is_some()).collect();
    top.sort_by(|a, b| b.1.projected.cmp(&a.1.projected).then(a.0.cmp(b.0)));
    for (rule, t) in top.into_iter().take(5).filter(|(_, t)| t.projected > 0) {
        section.rows.push(vec![
            Cell::text(format!("rule {}", rule.unwrap_or_default())),
            Cell::Count(t.bytes_today),
            Cell::Count(t.projected),
        ]);
    }
    let hours = span.map_or(0.0, |s| s as f64 / 3.6e9);
    let mut note = format!("Over {hours:.1} hour(s) of requests");
    if span.is_some() {
        note += ", extrapolated to a day";
    }
    note += ".";
    if lower {
        note += " Projected is a lower bound: this Policy logs bodies today's log lacks; each is estimated from requests of the same resource and verb that have one";
        if unknown > 0 {
            note += &format!(", and {unknown} with none to learn from count 0");
        }
        note += ".";
    }
    section.note = Some(note);
    section
}
