//! Reports: the questions responders ask first, answered from the index in one pass.
//!
//! Each report reads the requests it needs in one pass, from columns through a tantivy
//! collector (`query::visit`) or from the stored events it must see (`each_event`,
//! `query::scan`), and keeps only its aggregates, so memory grows with the number of
//! distinct rows, never with the number of requests. A report is a list of sections (tables); `render` writes them as a
//! table, JSON, CSV or Markdown.

pub mod diff;
pub mod drill;
pub mod hunt;
pub mod immutability;
pub mod policy_check;
pub mod policy_suggest;
pub mod render;
pub mod secret_access;
pub mod secrets;
pub mod serviceaccounts;
pub mod stats;
mod tally;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::model::{Request, format_micros};
use crate::query::parse::{Expr, Field, Value as Term};
use crate::query::{Engine, Search};

/// Which report, with its own filters.
#[derive(Debug, Clone)]
pub enum Kind {
    Secrets(secrets::Filter),
    ServiceAccounts(serviceaccounts::Filter),
    Immutability(immutability::Filter),
    Stats(stats::Filter),
}

impl Kind {
    /// The report `kaudit report NAME` and the TUI call `name` (or its alias `sa`), with
    /// its default filters; None for any other name, which is no report.
    pub fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "secrets" => Kind::Secrets(secrets::Filter::default()),
            "serviceaccounts" | "sa" => Kind::ServiceAccounts(serviceaccounts::Filter::default()),
            "immutability" => Kind::Immutability(immutability::Filter {
                min_severity: crate::podspec::Severity::Low,
            }),
            "stats" => Kind::Stats(stats::Filter { top: 10 }),
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Kind::Secrets(_) => "secrets",
            Kind::ServiceAccounts(_) => "serviceaccounts",
            Kind::Immutability(_) => "immutability",
            Kind::Stats(_) => "stats",
        }
    }
}

/// Every report, by the name `kaudit report NAME` takes, with what it answers (the
/// TUI's picker lists them).
pub const CATALOGUE: [(&str, &str); 4] = [
    (
        "secrets",
        "who read which secrets, how, and whether it was allowed",
    ),
    (
        "serviceaccounts",
        "what each ServiceAccount did, from which pods",
    ),
    (
        "immutability",
        "which workloads are immutable and why not; exec, attach, debug",
    ),
    (
        "stats",
        "what fills the log: users, verbs, resources, hours",
    ),
];

/// Runs a report. `scope` holds `--where` and `--since`/`--until`: every report only
/// looks at the requests it matches.
pub fn run(engine: &Engine, kind: &Kind, scope: &Search) -> Result<Report> {
    match kind {
        Kind::Secrets(f) => secrets::run(engine, f, scope),
        Kind::ServiceAccounts(f) => serviceaccounts::run(engine, f, scope),
        Kind::Immutability(f) => immutability::run(engine, f, scope),
        Kind::Stats(f) => stats::run(engine, f, scope),
    }
}

/// `field:value`, exactly.
fn is(field: Field, value: &str) -> Expr {
    Expr::Field(field, Term::Exact(value.to_string()))
}

/// `field:*`.
fn has(field: Field) -> Expr {
    Expr::Field(field, Term::Any)
}

/// The requests a report looks at: its own selection within the user's scope.
fn within(scope: &Search, selection: Expr) -> Search {
    Search {
        expr: Expr::And(vec![selection, scope.expr.clone()]),
        since: scope.since,
        until: scope.until,
    }
}

/// One stored request as reports see it: normalized exactly as at ingest, with the
/// redacted event for what normalization does not keep (bodies, query strings).
pub struct Event<'a> {
    pub request: &'a Request<'a>,
    pub value: &'a simd_json::BorrowedValue<'a>,
    pub json: &'a [u8],
}

/// Calls `visit` with every request `search` matches, streaming.
fn each_event(engine: &Engine, search: &Search, visit: &mut dyn FnMut(&Event<'_>)) -> Result<()> {
    let mut buf = Vec::new();
    engine.scan_stored(search, &mut |stored| {
        read_event(&stored, &mut buf, visit);
        Ok(())
    })
}

/// `each_event` in the order requests were received (`Engine::scan_stored_by_time`).
fn each_event_by_time(
    engine: &Engine,
    search: &Search,
    visit: &mut dyn FnMut(&Event<'_>),
) -> Result<()> {
    let mut buf = Vec::new();
    engine.scan_stored_by_time(search, &mut |stored| {
        read_event(&stored, &mut buf, visit);
        Ok(())
    })
}

/// Hands `visit` the request a stored document holds (nothing if it no longer reads).
fn read_event(
    stored: &crate::index::document::Stored,
    buf: &mut Vec<u8>,
    visit: &mut dyn FnMut(&Event<'_>),
) {
    stored.read(buf, |request, value| {
        visit(&Event {
            request,
            value,
            json: &stored.event,
        })
    });
}

/// The bodies of a stored event, unparsed: the rest of the event is only skipped, so a
/// report that needs a body (or its size) does not build the whole event as a value.
#[derive(serde::Deserialize)]
struct Bodies<'a> {
    #[serde(borrow, rename = "requestObject")]
    request: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, rename = "responseObject")]
    response: Option<&'a serde_json::value::RawValue>,
}

/// A string at a path of a JSON value.
fn str_at<'v>(value: &'v simd_json::BorrowedValue<'_>, path: &[&str]) -> Option<&'v str> {
    use simd_json::prelude::{ValueAsScalar, ValueObjectAccess};
    let mut v = value;
    for key in path {
        v = v.get(*key)?;
    }
    v.as_str()
}

/// A finished report.
#[derive(Debug, Clone)]
pub struct Report {
    pub name: &'static str,
    pub sections: Vec<Section>,
    /// The section CSV shows when `--section` does not choose one (CSV is one table).
    pub primary: &'static str,
    /// The JSON document when it is not simply `{section key: [rows]}` (nested rows).
    pub json: Option<Map<String, Value>>,
    /// Rows that `--fail-on-findings` counts; 0 means a clean report.
    pub flagged: u64,
}

/// One table of a report.
#[derive(Debug, Clone)]
pub struct Section {
    /// JSON key and `--section` name.
    pub key: &'static str,
    pub title: &'static str,
    /// JSON keys of the columns; tables upper-case them.
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    /// Text shown under the table (in JSON: `notes.<key>`).
    pub note: Option<String>,
    /// A section of one row, which JSON shows as an object rather than an array.
    pub single: bool,
}

impl Section {
    pub fn new(key: &'static str, title: &'static str, columns: &[&'static str]) -> Section {
        Section {
            key,
            title,
            columns: columns.to_vec(),
            rows: Vec::new(),
            note: None,
            single: false,
        }
    }

    /// The rows as JSON objects keyed by column (the object alone if `single`).
    pub fn to_json(&self) -> Value {
        let object = |row: &Vec<Cell>| {
            let fields: Map<String, Value> = self
                .columns
                .iter()
                .zip(row)
                .map(|(c, cell)| (c.to_string(), cell.to_json()))
                .collect();
            Value::Object(fields)
        };
        match (self.single, self.rows.first()) {
            (true, Some(row)) => object(row),
            (true, None) => Value::Null,
            (false, _) => Value::Array(self.rows.iter().map(object).collect()),
        }
    }
}

/// One value of a report. Text is raw log text: renderers sanitize it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    Count(u64),
    /// A fraction of the whole, 0..=1: JSON keeps the fraction, tables show a percentage.
    Share(f64),
    /// Microseconds since the epoch.
    Time(Option<i64>),
    List(Vec<String>),
    /// A command line: an argv list in JSON, shell-quoted words in text.
    Argv(Vec<String>),
    /// Named counts, largest first: `get 12, list 3`.
    Counts(Vec<(String, u64)>),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(Some(s.into()))
    }

    pub fn opt(s: Option<impl Into<String>>) -> Cell {
        Cell::Text(s.map(Into::into))
    }

    pub fn to_json(&self) -> Value {
        match self {
            Cell::Text(s) => s.as_ref().map_or(Value::Null, |s| Value::from(s.as_str())),
            Cell::Count(n) => Value::from(*n),
            Cell::Share(f) => Value::from((f * 10_000.0).round() / 10_000.0),
            Cell::Time(t) => t.map_or(Value::Null, |t| Value::from(format_micros(t))),
            Cell::List(items) | Cell::Argv(items) => Value::from(items.clone()),
            Cell::Counts(counts) => Value::Object(
                counts
                    .iter()
                    .map(|(k, n)| (k.clone(), Value::from(*n)))
                    .collect(),
            ),
        }
    }

    /// Plain text for tables, CSV and Markdown (not yet sanitized).
    pub fn to_text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone().unwrap_or_default(),
            Cell::Count(n) => n.to_string(),
            Cell::Share(f) => format!("{:.1}%", f * 100.0),
            Cell::Time(t) => t.map(format_micros).unwrap_or_default(),
            Cell::List(items) => items.join(", "),
            Cell::Argv(argv) => crate::sanitize::shell_words(argv),
            Cell::Counts(counts) => counts
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_names_every_report_once_by_its_own_name() {
        let names: Vec<&str> = CATALOGUE.iter().map(|(name, _)| *name).collect();
        for name in &names {
            assert_eq!(Kind::from_name(name).map(|k| k.name()), Some(*name));
        }
        let kinds = [
            Kind::Secrets(Default::default()),
            Kind::ServiceAccounts(Default::default()),
            Kind::Immutability(immutability::Filter {
                min_severity: crate::podspec::Severity::Low,
            }),
            Kind::Stats(stats::Filter { top: 10 }),
        ];
        let mut listed: Vec<&str> = kinds.iter().map(Kind::name).collect();
        listed.sort_unstable();
        let mut catalogued = names.clone();
        catalogued.sort_unstable();
        assert_eq!(listed, catalogued, "a report missing from the catalogue");
    }

    #[test]
    fn every_report_is_found_by_its_name_and_no_other_name_is_one() {
        for name in ["secrets", "serviceaccounts", "immutability", "stats"] {
            assert_eq!(Kind::from_name(name).map(|k| k.name()), Some(name));
        }
        assert_eq!(
            Kind::from_name("sa").map(|k| k.name()),
            Some("serviceaccounts")
        );
        assert!(Kind::from_name("stat").is_none());
        assert!(Kind::from_name("").is_none());
    }

    #[test]
    fn argv_is_shell_quoted_in_text_and_a_list_in_json() {
        let argv = vec!["sh".into(), "-c".into(), "cat /etc/shadow; echo 'x'".into()];
        let cell = Cell::Argv(argv);
        assert_eq!(cell.to_text(), r"sh -c 'cat /etc/shadow; echo '\''x'\'''");
        assert_eq!(
            cell.to_json(),
            serde_json::json!(["sh", "-c", "cat /etc/shadow; echo 'x'"])
        );
    }
}
