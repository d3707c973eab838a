//! The results side of the TUI state: rows as derived from stored events, the query
//! a view runs (`Ask`), its paged window of hits, and the pivots from a row.

use crate::output::Row;
use crate::query::SortOrder;
use crate::query::parse::{Expr, Field, Value};

/// Rows asked for in one page load.
pub const PAGE: usize = 200;

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
    pub fn query(self, row: &Row) -> Option<Expr> {
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
            Pivot::SameSourceIp => exact(Field::SourceIp, &row.source_ip().map(str::to_string)),
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
    pub rows: Vec<Row>,
    pub selected: usize,
    /// Live: rows received after this time are new since the last look.
    pub new_after: Option<i64>,
    /// Esc while it was still counting: its answers are dropped.
    pub cancelled: bool,
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
        }
    }

    pub fn selected_row(&self) -> Option<&Row> {
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
    pub fn is_new(&self, row: &Row) -> bool {
        matches!((self.new_after, row.time), (Some(after), Some(t)) if t > after)
    }
}
