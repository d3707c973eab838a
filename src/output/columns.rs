//! The one table of result columns: each column's key, title and value, from which the
//! JSON and NDJSON objects, the CSV header and records, the table's cells and a saved
//! query's `columns` check are all made. A column added here appears everywhere.

use std::borrow::Cow;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::row::Row;
use crate::model::format_micros;
use crate::sanitize;

/// A column's value, typed as JSON writes it.
pub enum Value<'r> {
    Text(Option<Cow<'r, str>>),
    List(&'r [String]),
    Number(Option<u64>),
}

impl Value<'_> {
    /// As CSV and the table write it: absent is empty, a list is space-separated.
    pub fn text(&self) -> String {
        match self {
            Value::Text(t) => t.as_deref().unwrap_or_default().to_string(),
            Value::List(items) => items.join(" "),
            Value::Number(n) => n.map(|n| n.to_string()).unwrap_or_default(),
        }
    }
}

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(t) => t.serialize(s),
            Value::List(items) => items.serialize(s),
            Value::Number(n) => n.serialize(s),
        }
    }
}

/// One column of results.
pub struct Column {
    /// Its name in JSON, the CSV header and a saved query's `columns`.
    pub key: &'static str,
    /// Its title in the table.
    pub title: &'static str,
    /// A field of the request, written in JSON, NDJSON and CSV. The others (actor,
    /// object, command) are derived for reading and shown only in the table.
    pub exported: bool,
    pub value: fn(&Row) -> Value<'_>,
    /// How the table shows it, when not as `value`'s text.
    pub shown: Option<fn(&Row) -> String>,
}

fn text(s: &Option<String>) -> Value<'_> {
    Value::Text(s.as_deref().map(Cow::Borrowed))
}

fn time(t: Option<i64>) -> Value<'static> {
    Value::Text(t.map(|t| Cow::Owned(format_micros(t))))
}

fn short(t: Option<i64>) -> String {
    t.map(|t| short_time(&format_micros(t))).unwrap_or_default()
}

const fn exported(key: &'static str, title: &'static str, value: fn(&Row) -> Value<'_>) -> Column {
    Column {
        key,
        title,
        exported: true,
        value,
        shown: None,
    }
}

/// Every column, in the order JSON and CSV write them and `--columns` lists them.
pub const COLUMNS: &[Column] = &[
    Column {
        shown: Some(|r| short(r.time)),
        ..exported("time", "TIME", |r| time(r.time))
    },
    Column {
        shown: Some(|r| short(r.completed)),
        ..exported("completed", "COMPLETED", |r| time(r.completed))
    },
    exported("auditID", "AUDIT ID", |r| text(&r.audit_id)),
    exported("stage", "STAGE", |r| {
        Value::Text(r.stage.map(|s| Cow::Borrowed(s.as_str())))
    }),
    exported("level", "LEVEL", |r| text(&r.level)),
    Column {
        exported: false,
        ..exported("actor", "ACTOR", |r| {
            Value::Text(Some(Cow::Borrowed(&r.actor)))
        })
    },
    exported("verb", "VERB", |r| text(&r.verb)),
    exported("user", "USER", |r| text(&r.user)),
    exported("groups", "GROUPS", |r| Value::List(&r.groups)),
    exported("serviceAccount", "SERVICE ACCOUNT", |r| {
        text(&r.service_account)
    }),
    exported("pod", "POD", |r| text(&r.pod)),
    exported("node", "NODE", |r| text(&r.node)),
    exported("impersonatedUser", "IMPERSONATED USER", |r| {
        text(&r.impersonated_user)
    }),
    // The address the apiserver saw; the table marks one a client named others beside.
    Column {
        shown: Some(|r| r.source_ip_label().unwrap_or_default()),
        ..exported("sourceIP", "SOURCE IP", |r| {
            Value::Text(r.source_ip().map(Cow::Borrowed))
        })
    },
    exported("sourceIPs", "SOURCE IPS", |r| Value::List(&r.source_ips)),
    exported("userAgent", "USER AGENT", |r| text(&r.user_agent)),
    // The table shows resource[/sub], or the URI of a non-resource request.
    Column {
        shown: Some(|r| {
            r.resource_path
                .clone()
                .or_else(|| r.request_uri.clone())
                .unwrap_or_default()
        }),
        ..exported("resource", "RESOURCE", |r| text(&r.resource))
    },
    exported("subresource", "SUBRESOURCE", |r| text(&r.subresource)),
    exported("apiGroup", "API GROUP", |r| text(&r.api_group)),
    exported("namespace", "NAMESPACE", |r| text(&r.namespace)),
    exported("name", "NAME", |r| text(&r.name)),
    Column {
        exported: false,
        ..exported("object", "OBJECT", |r| text(&r.object_path))
    },
    exported("code", "CODE", |r| Value::Number(r.code)),
    exported("decision", "DECISION", |r| text(&r.decision)),
    exported("reason", "REASON", |r| text(&r.reason)),
    exported("requestURI", "REQUEST URI", |r| text(&r.request_uri)),
    // Exec/attach argv as shell words.
    Column {
        exported: false,
        ..exported("command", "COMMAND", |r| {
            Value::Text(
                r.command
                    .as_deref()
                    .map(|argv| Cow::Owned(sanitize::shell_words(argv))),
            )
        })
    },
];

/// The table's columns when a saved query does not choose them.
pub const DEFAULT_COLUMNS: &[&str] = &[
    "time", "actor", "verb", "resource", "object", "code", "decision", "sourceIP",
];

/// The column named `key`.
pub fn column(key: &str) -> Option<&'static Column> {
    COLUMNS.iter().find(|c| c.key == key)
}

/// The columns JSON, NDJSON and CSV write.
pub fn exported_columns() -> impl Iterator<Item = &'static Column> {
    COLUMNS.iter().filter(|c| c.exported)
}

/// Checks a saved query's `columns` against [`COLUMNS`].
pub fn check_columns(columns: &[String]) -> Result<(), String> {
    match columns.iter().find(|c| column(c).is_none()) {
        Some(bad) => {
            let known: Vec<&str> = COLUMNS.iter().map(|c| c.key).collect();
            Err(format!(
                "unknown column {bad:?}; columns: {}",
                known.join(" ")
            ))
        }
        None => Ok(()),
    }
}

impl Column {
    /// The text of this column in the table, not yet sanitized.
    pub fn cell(&self, row: &Row) -> String {
        match self.shown {
            Some(shown) => shown(row),
            None => (self.value)(row).text(),
        }
    }
}

/// A row as a JSON object: the exported columns in order, then what only some rows
/// have (the stage's own time with `--all-stages`, why it was salvaged, the event).
pub struct Json<'r>(pub &'r Row);

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let row = self.0;
        let mut map = s.serialize_map(None)?;
        for column in exported_columns() {
            map.serialize_entry(column.key, &(column.value)(row))?;
            if column.key == "stage"
                && let Some(at) = row.stage_timestamp
            {
                map.serialize_entry("stageTimestamp", &at.map(format_micros))?;
            }
        }
        if let Some(reason) = &row.salvaged {
            map.serialize_entry("salvaged", reason)?;
        }
        // The stored event is JSON already: written as it is, not as a string.
        if let Some(raw) = row
            .event
            .as_deref()
            .and_then(|e| serde_json::from_str::<&RawValue>(e).ok())
        {
            map.serialize_entry("event", raw)?;
        }
        map.end()
    }
}

/// `2026-11-20T10:05:00.123456Z` → `2026-11-20 10:05:00.123`.
pub fn short_time(t: &str) -> String {
    let t = t.replacen('T', " ", 1);
    match t.find('.') {
        Some(dot) if t.len() >= dot + 4 => t[..dot + 4].to_string(),
        _ => t.trim_end_matches('Z').to_string(),
    }
}
