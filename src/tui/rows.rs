//! The results side of the TUI state: rows as derived from stored events, the query
//! a view runs (`Ask`), its paged window of hits, and the pivots from a row.

use crate::query::SortOrder;
use crate::query::parse::{Expr, Field, Value};

/// Rows asked for in one page load.
pub const PAGE: usize = 200;

/// What one results row shows and pivots from (already derived from the stored event).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowSummary {
    /// The actor column: user, or ServiceAccount and pod; `X as Y` when impersonating
    /// (`model::Request::actor_label`).
    pub actor: String,
    /// The redacted event JSON, for the detail view.
    pub event: String,
    /// `resource[/sub]` and `ns/name`, as `model::Request` derives them.
    pub resource_path: Option<String>,
    pub object_path: Option<String>,
    pub audit_id: Option<String>,
    /// Microseconds since the epoch.
    pub time: Option<i64>,
    pub user: Option<String>,
    pub service_account: Option<String>,
    pub pod: Option<String>,
    pub node: Option<String>,
    pub impersonated: Option<String>,
    pub verb: Option<String>,
    pub resource: Option<String>,
    pub subresource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub code: Option<u64>,
    pub decision: Option<String>,
    pub reason: Option<String>,
    /// The address the apiserver saw (the last of sourceIPs), which pivots find.
    pub source_ip: Option<String>,
    /// The sourceIPs before it: X-Forwarded-For and X-Real-Ip, chosen by the client.
    pub forwarded_for: Vec<String>,
    /// Why only the envelope of the request could be read (`Request::salvaged`).
    pub salvaged: Option<String>,
    /// The decoded command of an exec or attach.
    pub command: Option<Vec<String>>,
    /// In an object's history: what this write changed since the one before it.
    pub changes: Option<Vec<String>>,
}

impl RowSummary {
    /// The SOURCE IP column, as in `kaudit query` (`model::source_ip_label`).
    pub fn source_ip_label(&self) -> Option<String> {
        let ips: Vec<&str> = self
            .forwarded_for
            .iter()
            .chain(&self.source_ip)
            .map(String::as_str)
            .collect();
        crate::model::source_ip_label(&ips)
    }
}

/// A new query from the selected row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pivot {
    SameActor,
    SameObject,
    SamePod,
    SameSourceIp,
    SameServiceAccount,
    /// Every write to the object, oldest first, with what each changed.
    ObjectHistory,
}

/// Subresources whose "create" runs something in a pod rather than changing it: not
/// part of an object's history.
const RUNTIME_SUBRESOURCES: [&str; 4] = ["exec", "attach", "portforward", "proxy"];
const WRITE_VERBS: [&str; 4] = ["create", "update", "patch", "delete"];

impl Pivot {
    /// The query for rows like `row`, or None when the row lacks what the pivot needs.
    pub fn query(self, row: &RowSummary) -> Option<Expr> {
        let exact = |field, value: &Option<String>| {
            value
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| Expr::Field(field, Value::Exact(v.clone())))
        };
        let any_of = |field, values: &[&str]| {
            Expr::Or(
                values
                    .iter()
                    .map(|v| Expr::Field(field, Value::Exact(v.to_string())))
                    .collect(),
            )
        };
        let object = || {
            let mut parts = vec![exact(Field::Resource, &row.resource)?];
            parts.extend(exact(Field::Namespace, &row.namespace));
            parts.push(exact(Field::Name, &row.name)?);
            Some(parts)
        };
        match self {
            // A ServiceAccount's requests are one actor even across its pods.
            Pivot::SameActor => exact(Field::User, &row.user),
            Pivot::SamePod => exact(Field::Pod, &row.pod),
            Pivot::SameSourceIp => exact(Field::SourceIp, &row.source_ip),
            Pivot::SameServiceAccount => exact(Field::ServiceAccount, &row.service_account),
            Pivot::SameObject => Some(Expr::And(object()?)),
            Pivot::ObjectHistory => {
                let mut parts = object()?;
                parts.push(any_of(Field::Verb, &WRITE_VERBS));
                parts.push(Expr::Not(Box::new(any_of(
                    Field::Subresource,
                    &RUNTIME_SUBRESOURCES,
                ))));
                Some(Expr::And(parts))
            }
        }
    }
}

/// A query as the worker runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub generation: u64,
    pub query: String,
    pub order: SortOrder,
    /// Microseconds: received at or after / before (the timeline narrows with these).
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// An object's history: rows carry what each write changed.
    pub history: bool,
}

/// One query's results: a window onto hits paged from the index, never all of them.
#[derive(Debug, Clone)]
pub struct Results {
    pub ask: Ask,
    /// None until counted.
    pub total: Option<u64>,
    /// Loaded rows: `rows[i]` is hit `first + i`.
    pub first: usize,
    pub rows: Vec<RowSummary>,
    pub selected: usize,
    /// Live: rows received after this time are new since the last look.
    pub new_after: Option<i64>,
    /// Esc while it was still counting: its answers are dropped.
    pub cancelled: bool,
    /// The view it was opened from (a report, the timeline), which Back returns to.
    pub opened_from: Option<super::state::Focus>,
}

impl Results {
    pub(super) fn new(ask: Ask) -> Results {
        Results {
            ask,
            total: None,
            first: 0,
            rows: Vec::new(),
            selected: 0,
            new_after: None,
            cancelled: false,
            opened_from: None,
        }
    }

    pub fn selected_row(&self) -> Option<&RowSummary> {
        self.selected
            .checked_sub(self.first)
            .and_then(|i| self.rows.get(i))
    }

    /// The page to load so that the selected hit is in memory, if it is not.
    pub(super) fn missing_page(&self) -> Option<usize> {
        let loaded = self.first..self.first + self.rows.len();
        (!loaded.contains(&self.selected)).then(|| self.selected / PAGE * PAGE)
    }

    /// Whether a row arrived while following, since the last look.
    pub fn is_new(&self, row: &RowSummary) -> bool {
        matches!((self.new_after, row.time), (Some(after), Some(t)) if t > after)
    }
}
