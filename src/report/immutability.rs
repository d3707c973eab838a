//! `report immutability`: the container-immutability checklist.
//!
//! - `workloads`: one row per workload, its verdict (immutable, mutable, unknown) and
//!   why, its writable surface and the hardening seen (`immutability/workloads.rs`).
//! - `revisions`: the spec writes of each workload and the edits of its running pods,
//!   with what each changed (`immutability/revisions.rs`).
//! - `findings`: pods and pod templates written with privileged or mutable containers
//!   (checks in `podspec`), one row per container and check. A request's `kind`s,
//!   `cap`s and worst `severity` are what the index holds for it in `risk`, `cap` and
//!   `severity` (`index::document`), so a query finds exactly the writes listed here.
//! - `runtime`: exec, attach, `kubectl cp`, port-forward and ephemeral containers: ways
//!   into a running container, with the decoded command, its workload, and whether the
//!   command tried to change the container and could (`immutability/drift.rs`).
//! - `coverage`: pod writes logged without bodies (Metadata level) cannot be inspected;
//!   how many there were, and the audit Policy rule that would show them; and those
//!   whose body kaudit could not read (salvaged lines), which are also findings.

mod drift;
mod revisions;
mod workloads;

pub use workloads::resource_of_kind;

use std::collections::BTreeMap;

use super::{
    Cell, Event, Report, Section, each_event, each_event_by_time, has, is, str_at, within,
};
use crate::error::Result;
use crate::model::{is_dry_run, query_values};
use crate::podspec::{self, POD_RESOURCES, Seen, Severity};
use crate::query::parse::{Expr, Field};
use crate::query::{Engine, Search};

#[derive(Debug, Clone)]
pub struct Filter {
    /// Findings below this severity are left out (and not counted as flagged).
    pub min_severity: Severity,
}

/// Logs the bodies of every write that defines a container, at the Request level
/// (not RequestResponse: responses add volume but nothing these checks need).
pub const POLICY_RULE: &str = "\
- level: Request
  verbs: [\"create\", \"update\", \"patch\"]
  resources:
  - group: \"\"
    resources: [\"pods\", \"pods/ephemeralcontainers\", \"replicationcontrollers\", \"podtemplates\"]
  - group: \"apps\"
    resources: [\"deployments\", \"daemonsets\", \"statefulsets\", \"replicasets\"]
  - group: \"batch\"
    resources: [\"jobs\", \"cronjobs\"]";

#[derive(Debug, Default, Clone, Copy)]
struct Coverage {
    writes: u64,
    inspected: u64,
    unchecked: u64,
    metadata_only: u64,
    rejected: u64,
}

struct FindingRow {
    severity: Severity,
    time: Option<i64>,
    cells: Vec<Cell>,
}

/// `report immutability`: every pod and workload write (and the ephemeral containers
/// `kubectl debug` adds) read from the store and its spec checked (`podspec`), findings
/// at or above `filter.min_severity`; the runtime sessions opened into pods (exec,
/// attach, cp, port-forward); and how much of the writes could be checked.
pub fn run(engine: &Engine, filter: &Filter, scope: &Search) -> Result<Report> {
    let any = |field, values: &[&str]| Expr::Or(values.iter().map(|v| is(field, v)).collect());
    // Pod specs, and the ephemeral containers `kubectl debug` adds to a running pod.
    // Every one is read from the store: whether it carries a body is told by its body
    // keys, not by `level`, which log shippers drop.
    let writes = Expr::And(vec![
        Expr::Or(vec![
            Expr::And(vec![
                any(Field::Resource, &POD_RESOURCES),
                Expr::Not(Box::new(has(Field::Subresource))),
            ]),
            Expr::And(vec![
                is(Field::Resource, "pods"),
                is(Field::Subresource, "ephemeralcontainers"),
            ]),
        ]),
        any(Field::Verb, &["create", "update", "patch"]),
    ]);
    let mut coverage: BTreeMap<String, Coverage> = BTreeMap::new();
    let mut findings = Vec::new();
    let mut workloads = workloads::Workloads::default();
    each_event_by_time(engine, &within(scope, writes), &mut |e| {
        let r = e.request;
        // Server-side dry runs started nothing. Told by the parameter as the apiserver
        // reads it, not by the word: a namespace or pod named `dryrun` is a real write,
        // and so is `?dryRun=All;` (Go drops a pair holding a `;`).
        if r.request_uri.is_some_and(is_dry_run) {
            return;
        }
        let resource = r.resource.unwrap_or_default();
        let c = coverage.entry(resource.to_string()).or_default();
        c.writes += 1;
        // A refused write is an attempt: what it asked for is listed, with its code.
        if r.code.is_some_and(|code| code >= 400) {
            c.rejected += 1;
        }
        let checked = podspec::check_write(r, e.json);
        workloads.write(r, e.json, &checked);
        match checked.seen {
            Seen::Body => c.inspected += 1,
            Seen::NoBody => c.metadata_only += 1,
            Seen::Unreadable => c.unchecked += 1,
        }
        let resource_path = r.resource_path().unwrap_or_default();
        let name = r
            .name
            .or_else(|| str_at(e.value, &["requestObject", "metadata", "name"]))
            .or_else(|| str_at(e.value, &["responseObject", "metadata", "name"]));
        for f in checked.findings {
            if f.severity < filter.min_severity {
                continue;
            }
            findings.push(FindingRow {
                severity: f.severity,
                time: r.time(),
                cells: vec![
                    Cell::opt(r.audit_id),
                    Cell::Time(r.time()),
                    Cell::opt(r.user),
                    Cell::opt(r.impersonated_user),
                    Cell::opt(r.namespace),
                    Cell::opt(name),
                    Cell::text(&resource_path),
                    Cell::Text(f.container),
                    Cell::text(f.kind),
                    Cell::List(f.caps),
                    Cell::text(f.severity.as_str()),
                    Cell::text(f.detail),
                    r.code.map_or(Cell::Text(None), Cell::Count),
                ],
            });
        }
    })?;
    // Worst first; within a severity, in time order.
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.time.cmp(&b.time)));

    let mut found = Section::new(
        "findings",
        "Privileged or mutable containers",
        &[
            "auditID",
            "time",
            "user",
            "impersonatedUser",
            "namespace",
            "name",
            "resource",
            "container",
            "kind",
            "cap",
            "severity",
            "detail",
            "code",
        ],
    );
    found.rows = findings.into_iter().map(|f| f.cells).collect();

    let sessions = runtime_sessions(engine, scope, &mut workloads)?;
    workloads.fold_into_owners();
    let runtime = runtime_section(sessions, &mut workloads);
    let coverage = coverage_section(&coverage);
    let flagged = (found.rows.len() + runtime.rows.len()) as u64;
    Ok(Report {
        name: "immutability",
        sections: vec![
            workloads.section(),
            workloads.revisions_section(),
            found,
            runtime,
            coverage,
        ],
        primary: "workloads",
        json: None,
        flagged,
    })
}

/// The coverage section: per resource, how many pod and workload writes there were and
/// how many of them could be checked (a body read), not (salvaged), were logged without
/// a body (Metadata level), or were refused.
fn coverage_section(coverage: &BTreeMap<String, Coverage>) -> Section {
    let mut section = Section::new(
        "coverage",
        "Coverage of pod and workload writes",
        &[
            "resource",
            "writes",
            "inspected",
            "unchecked",
            "metadataOnly",
            "rejected",
        ],
    );
    let (mut blind, mut unreadable) = (0, 0);
    for (resource, c) in coverage {
        blind += c.metadata_only;
        unreadable += c.unchecked;
        section.rows.push(vec![
            Cell::text(resource),
            Cell::Count(c.writes),
            Cell::Count(c.inspected),
            Cell::Count(c.unchecked),
            Cell::Count(c.metadata_only),
            Cell::Count(c.rejected),
        ]);
    }
    let mut notes = Vec::new();
    if unreadable > 0 {
        notes.push(format!(
            "{unreadable} write(s) carried a body kaudit could not read whole (their lines \
             were salvaged): each is listed under findings as `unchecked`, with the reason."
        ));
    }
    notes.push(if blind > 0 {
        format!(
            "{blind} write(s) were logged at Metadata level, without bodies: their containers \
             could not be inspected. This audit Policy rule, placed before the rule that \
             matches them now, logs their bodies:\n{POLICY_RULE}"
        )
    } else {
        "Every write above with a body was inspected. Refused writes (code >= 400) started \
         nothing, but are attempts: their findings are listed with their code."
            .to_string()
    });
    section.note = Some(notes.join("\n"));
    section
}

/// A way into a running container, its cells but the workload's.
struct Session {
    time: Option<i64>,
    cells: Vec<Cell>,
    namespace: Option<String>,
    pod: Option<String>,
    container: Option<String>,
    command: Vec<String>,
}

/// Ways into running containers, each also counted for its pod's workload.
fn runtime_sessions(
    engine: &Engine,
    scope: &Search,
    workloads: &mut workloads::Workloads,
) -> Result<Vec<Session>> {
    let any = |field, values: &[&str]| Expr::Or(values.iter().map(|v| is(field, v)).collect());
    // Opening a stream is create (SPDY) or get (WebSocket); adding an ephemeral
    // container is a write. Reading pods/ephemeralcontainers opens nothing.
    let selection = Expr::And(vec![
        is(Field::Resource, "pods"),
        Expr::Or(vec![
            Expr::And(vec![
                any(Field::Subresource, &["exec", "attach", "portforward"]),
                any(Field::Verb, &["create", "get"]),
            ]),
            Expr::And(vec![
                is(Field::Subresource, "ephemeralcontainers"),
                any(Field::Verb, &["create", "update", "patch"]),
            ]),
        ]),
    ]);
    let mut sessions = Vec::new();
    each_event(engine, &within(scope, selection), &mut |e| {
        let r = e.request;
        let mut image = None;
        let (kind, container, command) = match r.subresource {
            Some("ephemeralcontainers") => {
                let added = ephemeral(e);
                image = added.image;
                ("ephemeral", added.name, added.command)
            }
            Some("portforward") => {
                let ports = query_values(r.request_uri.unwrap_or_default(), "ports");
                ("portforward", None, ports)
            }
            Some(sub) => {
                let argv = r.exec_command().unwrap_or_default();
                // `kubectl cp` is an exec of tar.
                let kind = match (sub, argv.first().map(String::as_str)) {
                    ("exec", Some("tar")) => "cp",
                    (sub, _) => sub,
                };
                // The apiserver uses the first `container` given.
                let container = query_values(r.request_uri.unwrap_or_default(), "container");
                (kind, container.into_iter().next(), argv)
            }
            None => return,
        };
        workloads.session(r.namespace, r.name);
        // Only a command run in the container changes it (an ephemeral container's runs
        // beside it; a port-forward runs nothing).
        let run = matches!(kind, "exec" | "attach" | "cp").then(|| command.clone());
        sessions.push(Session {
            time: r.time(),
            cells: vec![
                Cell::opt(r.audit_id),
                Cell::Time(r.time()),
                Cell::opt(r.user),
                Cell::opt(r.impersonated_user),
                Cell::opt(r.namespace),
                Cell::opt(r.name),
                Cell::Text(container.clone()),
                Cell::text(kind),
                Cell::Argv(command),
                Cell::Text(image),
                r.code.map_or(Cell::Text(None), Cell::Count),
            ],
            namespace: r.namespace.map(str::to_string),
            pod: r.name.map(str::to_string),
            container,
            command: run.unwrap_or_default(),
        });
    })?;
    sessions.sort_by_key(|s| s.time);
    Ok(sessions)
}

/// The runtime section: each session with its workload, and whether its command tried
/// to change the container (`drift`) and could, under the workload's latest spec.
fn runtime_section(sessions: Vec<Session>, workloads: &mut workloads::Workloads) -> Section {
    let mut section = Section::new(
        "runtime",
        "Exec, attach, cp, port-forward and ephemeral containers",
        &[
            "auditID",
            "time",
            "user",
            "impersonatedUser",
            "namespace",
            "pod",
            "container",
            "kind",
            "command",
            "image",
            "code",
            "workload",
            "mutationAttempt",
            "writable",
        ],
    );
    for mut session in sessions {
        let (key, container) = workloads.container(
            session.namespace.as_deref(),
            session.pod.as_deref(),
            session.container.as_deref(),
        );
        let attempt = drift::attempt(&session.command);
        let writable = attempt.as_ref().map(|a| drift::writable(a, container));
        if let (Some(key), Some(_)) = (&key, &attempt) {
            workloads.attempted(key);
        }
        session.cells.extend([
            Cell::Text(key.map(|(_, kind, name)| format!("{kind}/{name}"))),
            Cell::List(attempt.map(|a| a.commands).unwrap_or_default()),
            Cell::Text(writable),
        ]);
        section.rows.push(session.cells);
    }
    section
}

/// An ephemeral container added by a request.
struct Ephemeral {
    name: Option<String>,
    /// command and args; empty when it runs the image's entrypoint.
    command: Vec<String>,
    image: Option<String>,
}

/// The ephemeral container a request adds: the last in its body.
fn ephemeral(e: &Event<'_>) -> Ephemeral {
    let event: Option<serde_json::Value> = serde_json::from_slice(e.json).ok();
    let last = event.as_ref().and_then(|v| {
        ["requestObject", "responseObject"].iter().find_map(|body| {
            v.get(body)?
                .get("spec")?
                .get("ephemeralContainers")?
                .as_array()?
                .last()
                .cloned()
        })
    });
    let Some(container) = last else {
        return Ephemeral {
            name: None,
            command: Vec::new(),
            image: None,
        };
    };
    let text = |key: &str| {
        container
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let strings = |key: &str| -> Vec<String> {
        let items = container.get(key).and_then(|v| v.as_array());
        items
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut command = strings("command");
    command.extend(strings("args"));
    Ephemeral {
        name: text("name"),
        command,
        image: text("image"),
    }
}
