//! `report immutability`: the container-immutability checklist.
//!
//! - `findings`: pods and pod templates written with privileged or mutable containers
//!   (checks in `podspec`), one row per container and check.
//! - `runtime`: exec, attach, `kubectl cp`, port-forward and ephemeral containers: ways
//!   into a running container, with the decoded command.
//! - `coverage`: pod writes logged without bodies (Metadata level) cannot be inspected;
//!   how many there were, and the audit Policy rule that would show them.

use std::collections::{BTreeMap, HashMap};

use super::{Cell, Event, Report, Section, each_event, has, is, str_at, within};
use crate::error::Result;
use crate::model::query_values;
use crate::podspec::{self, POD_RESOURCES, Severity};
use crate::query::parse::{Expr, Field};
use crate::query::scan::{StrValues, u64_values};
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
    metadata_only: u64,
    rejected: u64,
}

struct FindingRow {
    severity: Severity,
    time: Option<i64>,
    cells: Vec<Cell>,
}

pub fn run(engine: &Engine, filter: &Filter, scope: &Search) -> Result<Report> {
    let any = |field, values: &[&str]| Expr::Or(values.iter().map(|v| is(field, v)).collect());
    // Pod specs, and the ephemeral containers `kubectl debug` adds to a running pod.
    // Server-side dry runs started nothing.
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
        Expr::Not(Box::new(is(Field::RequestUri, "dryRun"))),
    ]);
    let mut coverage = count_writes(engine, &within(scope, writes.clone()))?;
    // Only writes that can carry a body are read from the store (Metadata-level ones
    // are most of them on real clusters, and are already counted).
    let with_bodies = Expr::And(vec![
        writes,
        Expr::Not(Box::new(is(Field::Level, "Metadata"))),
        Expr::Not(Box::new(is(Field::Level, "None"))),
    ]);
    let mut findings = Vec::new();
    each_event(engine, &within(scope, with_bodies), &mut |e| {
        let r = e.request;
        let resource = r.resource.unwrap_or_default();
        if r.code.is_some_and(|code| code >= 400) {
            return;
        }
        let c = coverage.entry(resource.to_string()).or_default();
        let Some((object, mut body)) = body_of(e, resource) else {
            c.metadata_only += 1;
            return;
        };
        c.inspected += 1;
        // Only what an ephemeral-containers write adds is its own doing.
        if r.subresource == Some("ephemeralcontainers") {
            body = podspec::Body::Patch;
        }
        let resource_path = r.resource_path().unwrap_or_default();
        let name = r
            .name
            .or_else(|| str_at(e.value, &["requestObject", "metadata", "name"]))
            .or_else(|| str_at(e.value, &["responseObject", "metadata", "name"]));
        for f in podspec::inspect(resource, &object, body) {
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
                    Cell::text(f.severity.as_str()),
                    Cell::text(f.detail),
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
            "severity",
            "detail",
        ],
    );
    found.rows = findings.into_iter().map(|f| f.cells).collect();

    let runtime = runtime_section(engine, scope)?;
    let coverage = coverage_section(&coverage);
    let flagged = (found.rows.len() + runtime.rows.len()) as u64;
    Ok(Report {
        name: "immutability",
        sections: vec![found, runtime, coverage],
        primary: "findings",
        json: None,
        flagged,
    })
}

/// The body of a stored event to inspect (see `podspec::body_to_inspect`).
pub fn body_of(e: &Event<'_>, resource: &str) -> Option<(serde_json::Value, podspec::Body)> {
    let event: serde_json::Value = serde_json::from_slice(e.json).ok()?;
    let (object, body) = podspec::body_to_inspect(&event, resource, e.request.verb)?;
    Some((object.clone(), body))
}

/// Writes per resource, refused ones, and those logged at Metadata level, from fast
/// fields; `inspected` is filled in by the pass over bodies.
fn count_writes(engine: &Engine, search: &Search) -> Result<BTreeMap<String, Coverage>> {
    let mut coverage: BTreeMap<String, Coverage> = BTreeMap::new();
    engine.scan(search, &mut |segment, docs| {
        let resource = StrValues::open(segment, "resource")?;
        let level = StrValues::open(segment, "level")?;
        let code = u64_values(segment, "code")?;
        let blind = [level.ord_of("Metadata"), level.ord_of("None")];
        let mut block: HashMap<Option<u64>, Coverage> = HashMap::new();
        for &doc in docs {
            let c = block.entry(resource.ord(doc)).or_default();
            c.writes += 1;
            let code = code.as_ref().and_then(|col| col.first(doc));
            if code.is_some_and(|code| code >= 400) {
                c.rejected += 1;
            } else if level.ord(doc).is_some_and(|l| blind.contains(&Some(l))) {
                c.metadata_only += 1;
            }
        }
        for (ord, c) in block {
            let name = ord.map(|o| resource.text(o)).unwrap_or_default();
            let total = coverage.entry(name).or_default();
            total.writes += c.writes;
            total.rejected += c.rejected;
            total.metadata_only += c.metadata_only;
        }
        Ok(())
    })?;
    Ok(coverage)
}

fn coverage_section(coverage: &BTreeMap<String, Coverage>) -> Section {
    let mut section = Section::new(
        "coverage",
        "Coverage of pod and workload writes",
        &[
            "resource",
            "writes",
            "inspected",
            "metadataOnly",
            "rejected",
        ],
    );
    let mut blind = 0;
    for (resource, c) in coverage {
        blind += c.metadata_only;
        section.rows.push(vec![
            Cell::text(resource),
            Cell::Count(c.writes),
            Cell::Count(c.inspected),
            Cell::Count(c.metadata_only),
            Cell::Count(c.rejected),
        ]);
    }
    section.note = Some(if blind > 0 {
        format!(
            "{blind} write(s) were logged at Metadata level, without bodies: their containers \
             could not be inspected. This audit Policy rule, placed before the rule that \
             matches them now, logs their bodies:\n{POLICY_RULE}"
        )
    } else {
        "Every successful write above was logged with its body and inspected; rejected \
         writes (code >= 400) started nothing and are not listed."
            .to_string()
    });
    section
}

/// Ways into running containers.
fn runtime_section(engine: &Engine, scope: &Search) -> Result<Section> {
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
    let mut rows = Vec::new();
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
        rows.push((
            r.time(),
            vec![
                Cell::opt(r.audit_id),
                Cell::Time(r.time()),
                Cell::opt(r.user),
                Cell::opt(r.impersonated_user),
                Cell::opt(r.namespace),
                Cell::opt(r.name),
                Cell::Text(container),
                Cell::text(kind),
                Cell::Argv(command),
                Cell::Text(image),
                r.code.map_or(Cell::Text(None), Cell::Count),
            ],
        ));
    })?;
    rows.sort_by_key(|(time, _)| *time);
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
        ],
    );
    section.rows = rows.into_iter().map(|(_, cells)| cells).collect();
    Ok(section)
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
