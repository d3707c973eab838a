//! Drill-down: for each row of a report, the query that finds the requests behind it.
//! The report module owns its report and section names, so it owns this mapping too:
//! callers (the TUI's Enter on a report row) ask `section_queries` and never match
//! report, section or column names themselves.
//!
//! Drill queries are built as [`Expr`]; printed with its `Display`, they quote whatever
//! a value needs, so a user name with colons or a hostile object name cannot change
//! what the query means.
//!
//! A drill query names the row exactly where the query language can: an empty cell
//! becomes `-field:*` (the row is about requests without that field, not about every
//! request), and the report's own selection is repeated (`apigroup:core` for secrets,
//! no subresource for pod writes). Rows made of one request (created pods, findings,
//! exec) drill to its audit ID. Time is not part of the query language, so a row that
//! is a time span (stats `hours`) has no drill query, nor has the `total`.

use super::immutability::resource_of_kind;
use super::{Cell, Kind, Report, Section};
use crate::query::parse::{CmpOp, Expr, Field, Value};

/// The sections whose rows drill down, each with its own way from a row to a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drill {
    /// secrets `rows`.
    SecretAccess,
    /// serviceaccounts `serviceAccounts`, `pods`, `createdPods`, `tokenRequests`.
    ServiceAccount,
    ServiceAccountPod,
    CreatedPod,
    TokenRequest,
    /// immutability `workloads`, `revisions`, `findings`, `runtime`, `coverage`.
    Workload,
    Revision,
    Finding,
    Runtime,
    Coverage,
    /// stats: a tally by one field, or by user, verb and resource.
    StatsBy(Tally),
    /// hunt `hits`: one request each.
    Hit,
}

/// What a stats section tallies requests by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    Users,
    ServiceAccounts,
    Verbs,
    Codes,
    Decisions,
    Stages,
    Levels,
    Resources,
    Talkers,
}

impl Drill {
    /// How rows of section `section` (its key) of report `kind` drill down; None for
    /// sections without drill queries (stats `total` and `hours`) and unknown ones.
    pub fn of(kind: &Kind, section: &str) -> Option<Drill> {
        use Drill::*;
        Some(match (kind, section) {
            (Kind::Secrets(_), "rows") => SecretAccess,
            (Kind::ServiceAccounts(_), "serviceAccounts") => ServiceAccount,
            (Kind::ServiceAccounts(_), "pods") => ServiceAccountPod,
            (Kind::ServiceAccounts(_), "createdPods") => CreatedPod,
            (Kind::ServiceAccounts(_), "tokenRequests") => TokenRequest,
            (Kind::Immutability(_), "workloads") => Workload,
            (Kind::Immutability(_), "revisions") => Revision,
            (Kind::Immutability(_), "findings") => Finding,
            (Kind::Immutability(_), "runtime") => Runtime,
            (Kind::Immutability(_), "coverage") => Coverage,
            (Kind::Stats(_), section) => StatsBy(match section {
                "users" => Tally::Users,
                "serviceAccounts" => Tally::ServiceAccounts,
                "verbs" => Tally::Verbs,
                "codes" => Tally::Codes,
                "decisions" => Tally::Decisions,
                "stages" => Tally::Stages,
                "levels" => Tally::Levels,
                "resources" => Tally::Resources,
                "talkers" => Tally::Talkers,
                _ => return None,
            }),
            _ => return None,
        })
    }

    /// The requests behind one row (cells under `columns`), before the scope is added.
    pub fn row_query(self, columns: &[&'static str], cells: &[Cell]) -> Option<Expr> {
        let row = &Row { columns, cells };
        match self {
            Drill::SecretAccess => secret_access(row),
            Drill::ServiceAccount => service_account(row),
            Drill::ServiceAccountPod => service_account_pod(row),
            Drill::CreatedPod => created_pod(row),
            Drill::TokenRequest => token_request(row),
            Drill::Workload => workload(row),
            Drill::Revision => revision(row),
            Drill::Finding => finding(row),
            Drill::Runtime => runtime(row),
            Drill::Coverage => coverage(row),
            Drill::StatsBy(tally) => stats(tally, row),
            Drill::Hit => row.audit_id(),
        }
    }
}

/// Per row of `section` of `report`, which was run within `scope`: the query that finds
/// the requests behind it, or None.
///
/// `scope` is the parsed query the report was run within, so drilling ANDs in exactly
/// what the report saw. The empty query ([`Expr::All`]) and a lone `*` add nothing.
/// Time bounds (`--since`/`--until`) are not query text: the caller keeps them.
pub fn section_queries(report: &Report, section: &Section, scope: &Expr) -> Vec<Option<Expr>> {
    // `hunt` is no `Kind` (it runs the saved queries): its hits are single requests.
    let drill = match (report.name, section.key) {
        ("hunt", "hits") => Some(Drill::Hit),
        (name, key) => Kind::from_name(name).and_then(|kind| Drill::of(&kind, key)),
    };
    section
        .rows
        .iter()
        .map(|cells| {
            drill
                .and_then(|d| d.row_query(&section.columns, cells))
                .map(|q| within(q, scope))
        })
        .collect()
}

/// `drill` within the scope the report was run in.
fn within(drill: Expr, scope: &Expr) -> Expr {
    match scope {
        Expr::All => drill,
        // What users type for "everything". Parsed, it is a free word that matches
        // nothing, so a report run within it has no rows: dropping it widens nothing.
        Expr::Text(t) if t == "*" => drill,
        _ => and(vec![drill, scope.clone()]),
    }
}

// --- secrets ---------------------------------------------------------------------

/// One row per (namespace, name, scope, user, impersonated user): see
/// `report::secret_access`. Both identities are named, so the row of alice's own reads
/// does not also open the ones she made as someone else.
fn secret_access(row: &Row<'_>) -> Option<Expr> {
    let mut parts = vec![
        // The report's selection: core Secrets, not a custom resource called secrets.
        exact(Field::Resource, "secrets"),
        exact(Field::ApiGroup, "core"),
        row.is(Field::Namespace, "namespace")?,
        row.is(Field::Name, "name")?,
        row.is(Field::User, "user")?,
        row.is(Field::ImpersonatedUser, "impersonatedUser")?,
    ];
    // Without a name, only the verb tells a request on one secret (a create naming it
    // in its body) from a list or watch of every secret, which is another row. The row
    // lists all its verbs, so naming them is exact.
    if row.text("name").is_none() {
        let Cell::Counts(verbs) = row.cell("verbs")? else {
            return None;
        };
        let verbs: Vec<Expr> = verbs
            .iter()
            .map(|(verb, _)| match verb.as_str() {
                // How `secret_access` shows a request without a verb.
                "-" => absent(Field::Verb),
                verb => exact(Field::Verb, verb),
            })
            .collect();
        parts.push(or(verbs)?);
    }
    Some(and(parts))
}

// --- serviceaccounts -------------------------------------------------------------

/// What was done as the ServiceAccount: with its tokens (the `requests` column), and
/// by impersonating it (`impersonatedBy`). None for a row that is only there for the
/// pods created to run as it or the tokens requested for it: those sections below
/// have their own rows.
fn service_account(row: &Row<'_>) -> Option<Expr> {
    let sa = row.text("serviceAccount")?;
    let mut acting = Vec::new();
    if row.count("requests")? > 0 {
        acting.push(exact(Field::ServiceAccount, sa));
    }
    let Cell::Counts(impersonators) = row.cell("impersonatedBy")? else {
        return None;
    };
    if !impersonators.is_empty() {
        let (namespace, name) = sa.split_once('/')?;
        let username = format!("system:serviceaccount:{namespace}:{name}");
        acting.push(exact(Field::ImpersonatedUser, &username));
    }
    or(acting)
}

/// A pod's requests with its ServiceAccount's token. Rows are per pod UID, which the
/// query language cannot name: a pod deleted and created again under the same name
/// drills to the requests of both.
fn service_account_pod(row: &Row<'_>) -> Option<Expr> {
    Some(and(vec![
        row.is(Field::ServiceAccount, "serviceAccount")?,
        row.is(Field::Pod, "pod")?,
    ]))
}

/// The create itself. Without an audit ID, the creates of that object by that actor
/// that the report counts (no dry runs).
fn created_pod(row: &Row<'_>) -> Option<Expr> {
    if let Some(id) = row.audit_id() {
        return Some(id);
    }
    let resource = row.text("resource")?;
    Some(and(vec![
        exact(Field::Verb, "create"),
        exact(Field::Resource, resource),
        absent(Field::Subresource),
        not_dry_run(),
        row.is(Field::Namespace, "namespace")?,
        written_name(row)?,
        row.is(Field::User, "by")?,
        row.is(Field::ImpersonatedUser, "impersonatedUser")?,
    ]))
}

/// `serviceaccounts/token` creates for this ServiceAccount by this requester.
fn token_request(row: &Row<'_>) -> Option<Expr> {
    let (namespace, name) = row.text("serviceAccount")?.split_once('/')?;
    Some(and(vec![
        exact(Field::Resource, "serviceaccounts"),
        exact(Field::Subresource, "token"),
        exact(Field::Verb, "create"),
        exact(Field::Namespace, namespace),
        exact(Field::Name, name),
        row.is(Field::User, "by")?,
    ]))
}

// --- immutability ----------------------------------------------------------------

/// The write that carried the finding. Without an audit ID, the writes of that object
/// by that actor the report reads (its time is not expressible as a query) that have
/// this finding: the `kind` is the write's `risk` term.
fn finding(row: &Row<'_>) -> Option<Expr> {
    if let Some(id) = row.audit_id() {
        return Some(id);
    }
    let mut parts = resource_path(row.cell("resource")?)?;
    parts.extend([
        writes(),
        not_dry_run(),
        row.is(Field::Namespace, "namespace")?,
        written_name(row)?,
        row.is(Field::User, "user")?,
        row.is(Field::ImpersonatedUser, "impersonatedUser")?,
        row.is(Field::Risk, "kind")?,
    ]);
    Some(and(parts))
}

/// The one write of a revision. Without an audit ID, the writes of its object (`Kind/name`)
/// by that user with that verb (its time is not expressible as a query).
fn revision(row: &Row<'_>) -> Option<Expr> {
    if let Some(id) = row.audit_id() {
        return Some(id);
    }
    let (kind, name) = row.text("object")?.split_once('/')?;
    Some(and(vec![
        exact(Field::Resource, resource_of_kind(kind)?),
        absent(Field::Subresource),
        row.is(Field::Verb, "verb")?,
        not_dry_run(),
        row.is(Field::Namespace, "namespace")?,
        Expr::Or(vec![exact(Field::Name, name), absent(Field::Name)]),
        row.is(Field::User, "user")?,
    ]))
}

/// A workload's own spec writes, and the writes of and sessions into its pods (those
/// its row lists; a bare pod is its own).
fn workload(row: &Row<'_>) -> Option<Expr> {
    let kind = row.text("kind")?;
    let resource = resource_of_kind(kind)?;
    let spec_writes = || and(vec![absent(Field::Subresource), writes(), not_dry_run()]);
    let sessions = ["exec", "attach", "portforward", "ephemeralcontainers"]
        .map(|sub| exact(Field::Subresource, sub));
    let own = and(vec![
        exact(Field::Resource, resource),
        spec_writes(),
        written_name(row)?,
    ]);
    let mut pods: Vec<Expr> = match row.cell("pods")? {
        // `(+N more)` is not a pod.
        Cell::List(names) => (names.iter())
            .filter(|n| !n.starts_with("(+"))
            .map(|n| exact(Field::Name, n))
            .collect(),
        _ => return None,
    };
    if kind == "Pod" {
        pods.push(row.is(Field::Name, "name")?);
    }
    let mut alternatives = vec![own];
    if let Some(names) = or(pods) {
        let about_pods = or(vec![spec_writes(), Expr::Or(sessions.to_vec())])?;
        alternatives.push(and(vec![exact(Field::Resource, "pods"), names, about_pods]));
    }
    Some(and(vec![
        row.is(Field::Namespace, "namespace")?,
        or(alternatives)?,
    ]))
}

/// The exec, attach, port-forward or ephemeral container. Without an audit ID, those of
/// that kind into that pod by that actor.
fn runtime(row: &Row<'_>) -> Option<Expr> {
    if let Some(id) = row.audit_id() {
        return Some(id);
    }
    // `kubectl cp` is shown apart but is an exec of tar.
    let sub = match row.text("kind")? {
        "exec" | "cp" => "exec",
        "ephemeral" => "ephemeralcontainers",
        kind @ ("attach" | "portforward") => kind,
        _ => return None,
    };
    Some(and(vec![
        exact(Field::Resource, "pods"),
        exact(Field::Subresource, sub),
        row.is(Field::Namespace, "namespace")?,
        row.is(Field::Name, "pod")?,
        row.is(Field::User, "user")?,
        row.is(Field::ImpersonatedUser, "impersonatedUser")?,
    ]))
}

/// Every write the row counts (`writes`), as `immutability::run` selects them: pod
/// and workload writes without a subresource, plus ephemeral-container writes, which
/// it counts under `pods`; not server-side dry runs.
fn coverage(row: &Row<'_>) -> Option<Expr> {
    let resource = row.text("resource")?;
    let subresource = if resource == "pods" {
        or(vec![
            absent(Field::Subresource),
            exact(Field::Subresource, "ephemeralcontainers"),
        ])?
    } else {
        absent(Field::Subresource)
    };
    Some(and(vec![
        exact(Field::Resource, resource),
        subresource,
        writes(),
        not_dry_run(),
    ]))
}

/// The `name` column of a written object. A create may name its object only in its
/// body (`generateName`, or a log without objectRef.name), and the report takes the
/// name from there; the index does not. So the object's name, or none at all.
fn written_name(row: &Row<'_>) -> Option<Expr> {
    let unnamed = absent(Field::Name);
    Some(match row.cell("name")? {
        Cell::Text(_) => match row.text("name") {
            Some(name) => Expr::Or(vec![exact(Field::Name, name), unnamed]),
            None => unnamed,
        },
        _ => return None,
    })
}

/// Not a server-side dry run, as the reports tell one (`dryrun`, set at ingest from
/// the URI read as the apiserver reads it): they count none.
fn not_dry_run() -> Expr {
    Expr::Not(Box::new(exact(Field::DryRun, "true")))
}

/// The verbs that write a pod spec.
fn writes() -> Expr {
    let verbs = ["create", "update", "patch"].map(|v| exact(Field::Verb, v));
    Expr::Or(verbs.to_vec())
}

// --- stats -----------------------------------------------------------------------

/// Stats rows are tallies of the requests in scope by one field, or by user, verb and
/// resource (`talkers`). Per hour and the total have no query: time is not in the
/// query language, and the total is the scope itself.
fn stats(tally: Tally, row: &Row<'_>) -> Option<Expr> {
    let by = |field, column| row.is(field, column);
    match tally {
        Tally::Users => by(Field::User, "user"),
        Tally::ServiceAccounts => by(Field::ServiceAccount, "serviceAccount"),
        Tally::Verbs => by(Field::Verb, "verb"),
        Tally::Codes => by(Field::Code, "code"),
        Tally::Decisions => by(Field::Decision, "decision"),
        Tally::Stages => by(Field::Stage, "stage"),
        Tally::Levels => by(Field::Level, "level"),
        Tally::Resources => resource_path(row.cell("resource")?).map(and),
        Tally::Talkers => {
            let mut parts = vec![by(Field::User, "user")?, by(Field::Verb, "verb")?];
            parts.extend(resource_path(row.cell("resource")?)?);
            Some(and(parts))
        }
    }
}

// --- building blocks -------------------------------------------------------------

/// One report row, its cells looked up by column (JSON key), so the mapping reads
/// like the report and a renamed column gives no query rather than a wrong one.
struct Row<'a> {
    columns: &'a [&'static str],
    cells: &'a [Cell],
}

impl<'a> Row<'a> {
    fn cell(&self, column: &str) -> Option<&'a Cell> {
        let i = self.columns.iter().position(|c| *c == column)?;
        self.cells.get(i)
    }

    /// A text cell's value; None when empty (ingest indexes no empty values either).
    fn text(&self, column: &str) -> Option<&'a str> {
        match self.cell(column)? {
            Cell::Text(Some(v)) if !v.is_empty() => Some(v),
            _ => None,
        }
    }

    fn count(&self, column: &str) -> Option<u64> {
        match self.cell(column)? {
            Cell::Count(n) => Some(*n),
            _ => None,
        }
    }

    /// `field:value` for the column's value, `-field:*` for an empty cell: the row is
    /// about requests without that field. None when the column is missing or is not a
    /// single value.
    fn is(&self, field: Field, column: &str) -> Option<Expr> {
        match self.cell(column)? {
            Cell::Text(_) => Some(match self.text(column) {
                Some(v) => exact(field, v),
                None => absent(field),
            }),
            Cell::Count(n) => Some(Expr::Field(field, Value::Compare(CmpOp::Eq, *n))),
            _ => None,
        }
    }

    /// `auditid:X` when the row names its request.
    fn audit_id(&self) -> Option<Expr> {
        self.text("auditID").map(|id| exact(Field::AuditId, id))
    }
}

/// `resource:r sub:s` from a `resource/sub` cell; `-sub:*` without one, so `pods`
/// does not also open `pods/exec`, which is its own row.
fn resource_path(cell: &Cell) -> Option<Vec<Expr>> {
    Some(match cell {
        Cell::Text(Some(path)) if !path.is_empty() => match path.split_once('/') {
            Some((resource, sub)) => vec![
                exact(Field::Resource, resource),
                exact(Field::Subresource, sub),
            ],
            None => vec![exact(Field::Resource, path), absent(Field::Subresource)],
        },
        // Requests without a resource (non-resource URLs), whatever their subresource.
        Cell::Text(_) => vec![absent(Field::Resource)],
        _ => return None,
    })
}

fn exact(field: Field, value: &str) -> Expr {
    Expr::Field(field, Value::Exact(value.to_string()))
}

/// `-field:*`.
fn absent(field: Field) -> Expr {
    Expr::Not(Box::new(Expr::Field(field, Value::Any)))
}

/// AND, flattened as the parser flattens it, so a drill query parses back to the same
/// `Expr`.
fn and(parts: Vec<Expr>) -> Expr {
    let mut flat = Vec::new();
    for part in parts {
        match part {
            Expr::And(items) => flat.extend(items),
            part => flat.push(part),
        }
    }
    match flat.len() {
        1 => flat.remove(0),
        _ => Expr::And(flat),
    }
}

/// OR of one or more alternatives; None for none.
fn or(mut alternatives: Vec<Expr>) -> Option<Expr> {
    match alternatives.len() {
        0 => None,
        1 => alternatives.pop(),
        _ => Some(Expr::Or(alternatives)),
    }
}

#[cfg(test)]
mod tests;
