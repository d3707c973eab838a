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
    /// immutability `findings`, `runtime`, `coverage`.
    Finding,
    Runtime,
    Coverage,
    /// stats: a tally by one field, or by user, verb and resource.
    StatsBy(Tally),
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
            Drill::Finding => finding(row),
            Drill::Runtime => runtime(row),
            Drill::Coverage => coverage(row),
            Drill::StatsBy(tally) => stats(tally, row),
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
    let drill = Kind::from_name(report.name).and_then(|kind| Drill::of(&kind, section.key));
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
mod tests {
    use super::*;
    use crate::query::parse::parse;
    use crate::query::{Engine, Search};
    use crate::report::render::header;
    use crate::report::{immutability, secrets, serviceaccounts, stats};

    use crate::testing::sample_index as samples;

    fn kinds() -> [Kind; 4] {
        [
            Kind::Secrets(secrets::Filter::default()),
            Kind::ServiceAccounts(serviceaccounts::Filter::default()),
            Kind::Immutability(immutability::Filter {
                min_severity: crate::podspec::Severity::Low,
            }),
            Kind::Stats(stats::Filter { top: usize::MAX }),
        ]
    }

    /// A report as a screen would show it: cell text and, per row, the drill query as
    /// text (what `tui::reports` builds, which this module cannot depend on).
    #[derive(Debug, Clone, PartialEq)]
    struct ReportView {
        sections: Vec<SectionView>,
    }

    #[derive(Debug, Clone, PartialEq)]
    struct SectionView {
        key: &'static str,
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
        drill: Vec<Option<String>>,
    }

    fn view(report: &Report, scope: &Expr) -> ReportView {
        let sections = report
            .sections
            .iter()
            .map(|s| SectionView {
                key: s.key,
                headers: s.columns.iter().map(|c| header(c)).collect(),
                rows: s
                    .rows
                    .iter()
                    .map(|r| r.iter().map(Cell::to_text).collect())
                    .collect(),
                drill: section_queries(report, s, scope)
                    .into_iter()
                    .map(|q| q.map(|q| q.to_string()))
                    .collect(),
            })
            .collect();
        ReportView { sections }
    }

    /// Every section of every report has a drill, except the ones that cannot have one:
    /// a renamed section would otherwise silently lose its drill queries.
    #[test]
    fn every_section_but_the_time_ones_drills() {
        let (_dir, engine) = samples();
        for kind in kinds() {
            let report = crate::report::run(&engine, &kind, &search(Expr::All)).unwrap();
            for section in &report.sections {
                let drill = Drill::of(&kind, section.key);
                let timeless = !matches!((kind.name(), section.key), ("stats", "total" | "hours"));
                assert_eq!(drill.is_some(), timeless, "{} {}", kind.name(), section.key);
            }
        }
        let stats = Kind::from_name("stats").unwrap();
        assert_eq!(
            Drill::of(&stats, "talkers"),
            Some(Drill::StatsBy(Tally::Talkers))
        );
        assert_eq!(Drill::of(&stats, "rows"), None);
        let secrets = Kind::from_name("secrets").unwrap();
        assert_eq!(Drill::of(&secrets, "rows"), Some(Drill::SecretAccess));
        assert_eq!(Drill::of(&secrets, "users"), None);
    }

    fn query(text: &str) -> Expr {
        parse(text, &|_| None).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn search(expr: Expr) -> Search {
        Search {
            expr,
            since: None,
            until: None,
        }
    }

    fn count(engine: &Engine, expr: Expr) -> u64 {
        engine.count(&search(expr)).unwrap()
    }

    /// How many requests the row itself says it stands for, where it says so.
    fn expected_count(report: &str, section: &Section, cells: &[Cell]) -> Option<u64> {
        let row = Row {
            columns: &section.columns,
            cells,
        };
        let sum = |column| match row.cell(column) {
            Some(Cell::Counts(counts)) => counts.iter().map(|(_, n)| n).sum::<u64>(),
            other => panic!("{column}: {other:?}"),
        };
        match (report, section.key) {
            // Every request counts under one verb.
            ("secrets", "rows") => Some(sum("verbs")),
            ("serviceaccounts", "serviceAccounts") => {
                Some(row.count("requests")? + sum("impersonatedBy"))
            }
            ("serviceaccounts", "pods" | "tokenRequests") => row.count("requests"),
            // One request each, by audit ID.
            ("serviceaccounts", "createdPods") | ("immutability", "findings" | "runtime") => {
                Some(1)
            }
            ("immutability", "coverage") => row.count("writes"),
            ("stats", "total" | "hours") => None,
            ("stats", _) => row.count("requests"),
            other => panic!("no expected count for {other:?}"),
        }
    }

    /// Every drill query of every report, within several scopes, parses and finds
    /// exactly the requests its row counts: no query is invented, none is too wide.
    #[test]
    fn every_drill_finds_exactly_the_requests_of_its_row() {
        let (_dir, engine) = samples();
        let scopes = [
            "",
            // An OR must stay parenthesized, or the drill would find every get.
            "-ns:kube-system OR verb:get",
            "-user:system:kube-controller-manager -ns:monitoring",
        ];
        for scope_text in scopes {
            assert_every_drill_finds_its_rows(&engine, scope_text, &kinds());
        }
    }

    /// Each report of `kinds` within `scope_text`: every row's drill query parses and
    /// finds exactly the requests the row counts.
    fn assert_every_drill_finds_its_rows(engine: &Engine, scope_text: &str, kinds: &[Kind]) {
        let scope = query(scope_text);
        for kind in kinds {
            let report = crate::report::run(engine, kind, &search(scope.clone())).unwrap();
            let shown = view(&report, &scope);
            assert_eq!(shown.sections.len(), report.sections.len());
            let mut drilled = 0;
            for (section, v) in report.sections.iter().zip(&shown.sections) {
                assert_eq!(
                    (v.rows.len(), v.drill.len()),
                    (section.rows.len(), v.rows.len())
                );
                for (cells, drill) in section.rows.iter().zip(&v.drill) {
                    let context = format!(
                        "{} {} {cells:?} in {scope_text:?}",
                        report.name, section.key
                    );
                    let Some(text) = drill else {
                        let allowed = match (report.name, section.key) {
                            ("stats", "total" | "hours") => true,
                            // Only created pods or token requests made this row.
                            ("serviceaccounts", "serviceAccounts") => {
                                expected_count(report.name, section, cells) == Some(0)
                            }
                            _ => false,
                        };
                        assert!(allowed, "no drill query: {context}");
                        continue;
                    };
                    drilled += 1;
                    let n = count(engine, query(text));
                    assert!(n >= 1, "{text} finds nothing: {context}");
                    if let Some(want) = expected_count(report.name, section, cells) {
                        assert_eq!(n, want, "{text}: {context}");
                    }
                }
            }
            assert!(drilled > 0, "{} in {scope_text:?}", report.name);
        }
    }

    fn section<'v>(view: &'v ReportView, key: &str) -> &'v SectionView {
        view.sections.iter().find(|s| s.key == key).unwrap()
    }

    /// The drill queries of `key`'s rows whose first cells are `first`.
    fn drills_of<'v>(section: &'v SectionView, first: &[&str]) -> Vec<&'v str> {
        section
            .rows
            .iter()
            .zip(&section.drill)
            .filter(|(row, _)| row.iter().zip(first).all(|(cell, want)| cell == want))
            .map(|(_, drill)| drill.as_deref().expect("a drill query"))
            .collect()
    }

    #[test]
    fn secrets_rows_drill_to_their_secret_and_both_identities() {
        let (_dir, engine) = samples();
        let kind = Kind::Secrets(secrets::Filter::default());
        let report = crate::report::run(&engine, &kind, &search(Expr::All)).unwrap();
        let shown = view(&report, &Expr::All);
        let rows = section(&shown, "rows");
        assert_eq!(
            rows.headers[..5],
            ["NAMESPACE", "NAME", "SCOPE", "USER", "IMPERSONATED USER"]
        );

        let db_password = drills_of(rows, &["payments", "db-password"]);
        assert_eq!(db_password.len(), 4, "{db_password:?}");
        let that_secret = query("ns:payments name:db-password");
        for text in &db_password {
            let drill = query(text);
            let n = count(&engine, drill.clone());
            let of_secret = count(&engine, and(vec![drill, that_secret.clone()]));
            assert!(
                n >= 1 && of_secret == n,
                "{text}: {n} hits, {of_secret} of the secret"
            );
        }
        assert!(db_password.contains(
            &"resource:secrets apigroup:core ns:payments name:db-password \
              user:ci-bot@example.com as:system:serviceaccount:payments:report-runner"
        ));
        assert!(db_password.contains(
            &"resource:secrets apigroup:core ns:payments name:db-password \
              user:system:serviceaccount:payments:report-runner -as:*"
        ));
        // A cluster-wide list names no secret: the verb does.
        assert_eq!(
            drills_of(rows, &["", "", "cluster", "system:anonymous"]),
            ["resource:secrets apigroup:core -ns:* -name:* user:system:anonymous -as:* verb:list"]
        );
    }

    #[test]
    fn stats_and_serviceaccount_rows() {
        let (_dir, engine) = samples();
        let scope = query("verb:get OR verb:list");
        let stats = Kind::Stats(stats::Filter { top: usize::MAX });
        let report = crate::report::run(&engine, &stats, &search(scope.clone())).unwrap();
        let shown = view(&report, &scope);
        let user = "system:serviceaccount:monitoring:prometheus-operator";
        let users = section(&shown, "users");
        let i = users.rows.iter().position(|r| r[0] == user).unwrap();
        let drill = users.drill[i].as_deref().unwrap();
        assert_eq!(drill, format!("user:{user} (verb:get OR verb:list)"));
        let requests: u64 = users.rows[i][1].parse().unwrap();
        assert_eq!(count(&engine, query(drill)), requests);
        assert_eq!(section(&shown, "total").drill, [None]);
        assert!(section(&shown, "hours").drill.iter().all(Option::is_none));
        let resources = section(&shown, "resources");
        assert_eq!(
            drills_of(resources, &["secrets"]),
            ["resource:secrets -sub:* (verb:get OR verb:list)"]
        );
        assert_eq!(
            drills_of(resources, &[""]),
            ["-resource:* (verb:get OR verb:list)"]
        );

        let sa = Kind::ServiceAccounts(serviceaccounts::Filter::default());
        let report = crate::report::run(&engine, &sa, &search(Expr::All)).unwrap();
        let shown = view(&report, &Expr::All);
        let accounts = section(&shown, "serviceAccounts");
        assert_eq!(
            drills_of(accounts, &["payments/report-runner"]),
            ["sa:payments/report-runner OR as:system:serviceaccount:payments:report-runner"]
        );
        assert_eq!(drills_of(accounts, &["ci/deployer"]), ["sa:ci/deployer"]);
        assert_eq!(
            drills_of(section(&shown, "pods"), &["ci/deployer"]),
            ["sa:ci/deployer pod:ci/deployer-5f6b-abcde"]
        );
        assert_eq!(
            drills_of(
                section(&shown, "tokenRequests"),
                &["payments/report-runner"]
            ),
            [
                "resource:serviceaccounts sub:token verb:create ns:payments name:report-runner \
              user:system:node:worker-2"
            ]
        );
    }

    #[test]
    fn a_lone_star_scope_adds_nothing() {
        let (_dir, engine) = samples();
        let kind = Kind::Immutability(immutability::Filter {
            min_severity: crate::podspec::Severity::Low,
        });
        let report = crate::report::run(&engine, &kind, &search(Expr::All)).unwrap();
        assert_eq!(view(&report, &query("*")), view(&report, &Expr::All));
        let coverage = section(&view(&report, &Expr::All), "coverage").clone();
        assert_eq!(
            drills_of(&coverage, &["pods"]),
            ["resource:pods (-sub:* OR sub:ephemeralcontainers) \
              (verb:create OR verb:update OR verb:patch) -dryrun:true"]
        );
    }

    /// A row without an audit ID (hand-made logs) still drills to a query that finds
    /// its request: the same rows with their IDs taken out are checked against them.
    #[test]
    fn rows_without_an_audit_id_drill_to_their_object_and_actor() {
        let (_dir, engine) = samples();
        let drills = id_less_drills(&engine);
        for (key, id, text) in &drills {
            assert!(!text.contains("auditid"), "{text}");
            let its_request = and(vec![query(text), exact(Field::AuditId, id)]);
            assert_eq!(count(&engine, its_request), 1, "{key} {id}: {text}");
        }
        // 4 created pods, 14 findings, 5 ways into containers in sample-logs.
        assert_eq!(drills.len(), 4 + 14 + 5);
    }

    /// The TUI shows the report's findings as the CLI does: a defaulted setting by its
    /// own kind, the capabilities by name; a row without an audit ID drills by its kind.
    #[test]
    fn findings_show_kind_cap_and_severity_and_drill_by_kind() {
        let (_dir, engine) = samples();
        let kind = Kind::Immutability(immutability::Filter {
            min_severity: crate::podspec::Severity::Low,
        });
        let report = crate::report::run(&engine, &kind, &search(Expr::All)).unwrap();
        let shown = view(&report, &Expr::All);
        let findings = section(&shown, "findings");
        let column = |name: &str| findings.headers.iter().position(|h| h == name).unwrap();
        let (kind, cap, severity) = (column("KIND"), column("CAP"), column("SEVERITY"));
        let rows: Vec<String> = findings
            .rows
            .iter()
            .map(|r| format!("{} [{}] {}", r[kind], r[cap], r[severity]))
            .collect();
        assert!(
            rows.contains(&"capabilities [SYS_ADMIN] high".to_string()),
            "{rows:?}"
        );
        assert!(
            rows.contains(&"runAsRoot:default [] low".to_string()),
            "{rows:?}"
        );
        let drills = id_less_drills(&engine);
        let (_, _, drill) = drills
            .iter()
            .find(|(key, _, text)| *key == "findings" && text.contains("runAsRoot"))
            .unwrap();
        assert!(drill.contains("risk:runAsRoot:default"), "{drill}");
    }

    /// (section, audit ID, drill query) of every row of the serviceaccounts and
    /// immutability reports that names one request, drilled as if its ID were missing.
    fn id_less_drills(engine: &Engine) -> Vec<(&'static str, String, String)> {
        let kinds = [
            Kind::ServiceAccounts(serviceaccounts::Filter::default()),
            Kind::Immutability(immutability::Filter {
                min_severity: crate::podspec::Severity::Low,
            }),
        ];
        let mut drills = Vec::new();
        for kind in kinds {
            let mut report = crate::report::run(engine, &kind, &search(Expr::All)).unwrap();
            let mut ids = Vec::new();
            for section in &mut report.sections {
                let Some(i) = section.columns.iter().position(|c| *c == "auditID") else {
                    continue;
                };
                for row in &mut section.rows {
                    let id = std::mem::replace(&mut row[i], Cell::Text(None));
                    ids.push((section.key, id.to_text()));
                }
            }
            let shown = view(&report, &Expr::All);
            let texts = shown
                .sections
                .iter()
                .filter(|s| s.headers.contains(&"AUDIT ID".to_string()))
                .flat_map(|s| &s.drill);
            for ((key, id), drill) in ids.into_iter().zip(texts) {
                let text = drill.clone().unwrap_or_else(|| panic!("{key} {id}"));
                drills.push((key, id, text));
            }
        }
        drills
    }

    /// Creates of one privileged pod `p` in `prod` by one ServiceAccount: a dry run as
    /// the apiserver runs one (left out by the reports), and real creates whose URI
    /// only looks like one (a `;`, a bad escape, `fieldManager=dryRun`, a namespace
    /// `dryrun`).
    fn dry_run_index() -> (tempfile::TempDir, Engine) {
        let uris = [
            "/api/v1/namespaces/prod/pods?dryRun=All",
            "/api/v1/namespaces/prod/pods?dryRun=All;",
            "/api/v1/namespaces/prod/pods?dryRun=%zz",
            "/api/v1/namespaces/prod/pods?fieldManager=dryRun",
            "/api/v1/namespaces/dryrun/pods",
        ];
        let lines: Vec<String> = uris
            .iter()
            .enumerate()
            .map(|(n, uri)| {
                let ns = if uri.contains("/dryrun/") {
                    "dryrun"
                } else {
                    "prod"
                };
                serde_json::json!({
                    "kind": "Event", "apiVersion": "audit.k8s.io/v1",
                    "level": "RequestResponse", "stage": "ResponseComplete",
                    "auditID": format!("id-{n}"), "verb": "create", "requestURI": uri,
                    "user": {"username": "system:serviceaccount:ci:deployer"},
                    "objectRef": {"resource": "pods", "namespace": ns, "name": "p"},
                    "responseStatus": {"code": 201},
                    "requestObject": {"kind": "Pod", "metadata": {"name": "p"},
                        "spec": {"serviceAccountName": "builder", "containers": [{"name": "c",
                        "image": "busybox", "securityContext": {"privileged": true}}]}},
                    "requestReceivedTimestamp": format!("2026-03-01T10:00:0{n}.000000Z"),
                    "stageTimestamp": format!("2026-03-01T10:00:0{n}.000900Z"),
                })
                .to_string()
            })
            .collect();
        let logs = tempfile::tempdir().unwrap();
        let log = logs.path().join("audit.log");
        std::fs::write(&log, lines.join("\n") + "\n").unwrap();
        crate::testing::index_of(log)
    }

    /// Drill queries leave out dry runs exactly as the reports do: by the URI read as
    /// the apiserver reads it, not by the word `dryRun` anywhere in it.
    #[test]
    fn drills_leave_out_dry_runs_as_the_reports_do() {
        let (_dir, engine) = dry_run_index();
        let kinds = [
            Kind::ServiceAccounts(serviceaccounts::Filter::default()),
            Kind::Immutability(immutability::Filter {
                min_severity: crate::podspec::Severity::Low,
            }),
        ];
        assert_every_drill_finds_its_rows(&engine, "", &kinds);
        let dry_run = exact(Field::AuditId, "id-0");
        let drills = id_less_drills(&engine);
        // Four real creates: each a created pod and four findings (a privileged
        // container, which also escalates, runs as root on a writable root filesystem).
        assert_eq!(drills.len(), 4 + 4 * 4);
        for (key, id, text) in &drills {
            let its_request = and(vec![query(text), exact(Field::AuditId, id)]);
            assert_eq!(count(&engine, its_request), 1, "{key} {id}: {text}");
            let the_dry_run = and(vec![query(text), dry_run.clone()]);
            assert_eq!(count(&engine, the_dry_run), 0, "{key} {id}: {text}");
        }
    }

    /// Values a log can carry (user names and object names are the client's to choose)
    /// and scopes with OR and NOT come back as the same `Expr` after printing.
    #[test]
    fn hostile_values_are_quoted_and_the_scope_stays_grouped() {
        let hostile = [
            "evil\" OR user:*",
            "a b",
            "system:serviceaccount:x:y",
            "-x",
            "@saved",
            "OR",
            "db-*",
            "/re/",
            "(x",
            "back\\slash",
        ];
        let scope = query("ns:\"q:r\" OR -(name:\"a)\" verb:get)");
        for value in hostile {
            let mut secrets = Section::new(
                "rows",
                "Secret access",
                &[
                    "namespace",
                    "name",
                    "scope",
                    "user",
                    "impersonatedUser",
                    "verbs",
                ],
            );
            secrets.rows.push(vec![
                Cell::text(value),
                Cell::text(value),
                Cell::text("object"),
                Cell::text(value),
                Cell::Text(None),
                Cell::Counts(vec![("get".into(), 1)]),
            ]);
            let mut talkers = Section::new("talkers", "Top talkers", &["user", "verb", "resource"]);
            talkers.rows.push(vec![
                Cell::text(value),
                Cell::Text(None),
                // A subresource is what follows the first slash, slashes and all.
                Cell::text(format!("pods/{value}")),
            ]);
            let mut codes = Section::new("codes", "By code", &["code"]);
            codes.rows.push(vec![Cell::Text(None)]);
            let report = |name, sections| Report {
                name,
                sections,
                primary: "rows",
                json: None,
                flagged: 0,
            };
            let hostile = |field| exact(field, value);
            let expect_secrets = and(vec![
                exact(Field::Resource, "secrets"),
                exact(Field::ApiGroup, "core"),
                hostile(Field::Namespace),
                hostile(Field::Name),
                hostile(Field::User),
                absent(Field::ImpersonatedUser),
                scope.clone(),
            ]);
            let shown = view(&report("secrets", vec![secrets]), &scope);
            let text = shown.sections[0].drill[0].as_deref().unwrap();
            assert_eq!(query(text), expect_secrets, "{value:?}: {text}");

            let expect_talker = and(vec![
                hostile(Field::User),
                absent(Field::Verb),
                exact(Field::Resource, "pods"),
                hostile(Field::Subresource),
                scope.clone(),
            ]);
            let shown = view(&report("stats", vec![talkers, codes]), &scope);
            let text = shown.sections[0].drill[0].as_deref().unwrap();
            assert_eq!(query(text), expect_talker, "{value:?}: {text}");
            let text = shown.sections[1].drill[0].as_deref().unwrap();
            assert_eq!(query(text), and(vec![absent(Field::Code), scope.clone()]));
            // Cells are shown as they are; the view sanitizes when it draws.
            assert_eq!(shown.sections[0].rows[0][0], value);
        }
    }
}
