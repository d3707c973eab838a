//! Drill queries checked against indexes: each finds exactly the requests its row
//! counts, within any scope, and hostile values cannot change what it means.

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
        ("serviceaccounts", "createdPods")
        | ("immutability", "findings" | "runtime" | "revisions") => Some(1),
        ("immutability", "coverage") => row.count("writes"),
        // Its writes and sessions, and the refused or later writes of its pods too.
        ("immutability", "workloads") => None,
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
    // 7 created pods, 19 findings, 6 ways into containers, 17 revisions in sample-logs.
    assert_eq!(drills.len(), 7 + 19 + 6 + 17);
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
        .find(|(key, _, text)| {
            *key == "findings" && text.contains("runAsRoot") && text.contains("ns:payments")
        })
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
    // Four real creates: each a created pod, four findings (a privileged container,
    // which also escalates, runs as root on a writable root filesystem) and a revision
    // (a bare pod's create).
    assert_eq!(drills.len(), 4 + 4 * 4 + 4);
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
