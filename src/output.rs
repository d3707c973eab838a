//! Query results as a table, JSON, NDJSON or CSV. Rows are derived from the stored
//! (redacted) event by the same normalization as ingest. Table and CSV cells are
//! sanitized for terminals and spreadsheets; JSON escapes by its own rules.

pub mod counts;

use std::io::{self, Write};

use serde::Serialize;
use serde_json::value::RawValue;

use crate::index::document::{StageMark, Stored};
use crate::ingest::parse::{normalize, reparse};
use crate::model::{self, Request, Stage, format_micros};
use crate::sanitize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Ndjson,
    Csv,
}

/// One output row: a request, or one stage of it with `--all-stages`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub time: Option<String>,
    pub completed: Option<String>,
    #[serde(rename = "auditID")]
    pub audit_id: Option<String>,
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_timestamp: Option<Option<String>>,
    pub level: Option<String>,
    pub verb: Option<String>,
    pub user: Option<String>,
    pub groups: Vec<String>,
    pub service_account: Option<String>,
    pub pod: Option<String>,
    pub node: Option<String>,
    pub impersonated_user: Option<String>,
    /// The address the apiserver saw: the last of `source_ips` (the others are the
    /// client's X-Forwarded-For and X-Real-Ip, listed first).
    #[serde(rename = "sourceIP")]
    pub source_ip: Option<String>,
    #[serde(rename = "sourceIPs")]
    pub source_ips: Vec<String>,
    pub user_agent: Option<String>,
    pub resource: Option<String>,
    pub subresource: Option<String>,
    pub api_group: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub code: Option<u64>,
    pub decision: Option<String>,
    pub reason: Option<String>,
    #[serde(rename = "requestURI")]
    pub request_uri: Option<String>,
    /// Why the line was salvaged (only its envelope could be read); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salvaged: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Box<RawValue>>,
    /// For the table: `resource[/sub]` and `ns/name`, and the actor label.
    #[serde(skip)]
    actor: String,
    #[serde(skip)]
    resource_path: String,
    #[serde(skip)]
    object_path: String,
    /// Exec/attach argv as shell words.
    #[serde(skip)]
    command: String,
}

fn own(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

impl Row {
    fn from_request(r: &Request<'_>, stages: &[StageMark]) -> Row {
        let completed = stages
            .iter()
            .filter(|m| m.rank() == 3 && m.stage.is_some())
            .find_map(|m| m.time)
            .or_else(|| Stage::is_final(r.stage).then_some(r.stage_time).flatten());
        Row {
            time: r.time().map(format_micros),
            completed: completed.map(format_micros),
            audit_id: own(r.audit_id),
            stage: r.stage.map(|s| s.as_str().to_string()),
            stage_timestamp: None,
            level: own(r.level),
            verb: own(r.verb),
            user: own(r.user),
            groups: r.groups.iter().map(|g| g.to_string()).collect(),
            service_account: r.service_account.clone(),
            pod: r.pod.clone(),
            node: own(r.node),
            impersonated_user: own(r.impersonated_user),
            source_ip: own(r.source_ip()),
            source_ips: r.source_ips.iter().map(|s| s.to_string()).collect(),
            user_agent: own(r.user_agent),
            resource: own(r.resource),
            subresource: own(r.subresource),
            api_group: own(r.api_group),
            namespace: own(r.namespace),
            name: own(r.object_name()),
            code: r.code,
            decision: own(r.decision),
            reason: own(r.reason),
            request_uri: own(r.request_uri),
            salvaged: own(r.salvaged),
            event: None,
            actor: r.actor_label(),
            resource_path: r.resource_path().unwrap_or_default(),
            object_path: r.object_path().unwrap_or_default(),
            command: r
                .exec_command()
                .map(|argv| sanitize::shell_words(&argv))
                .unwrap_or_default(),
        }
    }
}

/// Turns stored documents into rows: one per request, or one per stage seen.
pub struct Rows {
    pub all_stages: bool,
    pub with_event: bool,
    buf: Vec<u8>,
}

impl Rows {
    pub fn new(all_stages: bool, with_event: bool) -> Rows {
        Rows {
            all_stages,
            with_event,
            buf: Vec::new(),
        }
    }

    pub fn rows(&mut self, stored: &Stored) -> Vec<Row> {
        let Some(value) = reparse(&stored.event, &mut self.buf) else {
            return Vec::new();
        };
        let Ok(request) = normalize(&value) else {
            return Vec::new();
        };
        let mut row = Row::from_request(&request, &stored.stages);
        if self.with_event {
            row.event = std::str::from_utf8(&stored.event)
                .ok()
                .and_then(|s| RawValue::from_string(s.to_string()).ok());
        }
        if !self.all_stages {
            return vec![row];
        }
        stored
            .stages
            .iter()
            .map(|mark| {
                let mut r = Row::from_request(&request, &stored.stages);
                r.event = row.event.clone();
                r.stage = mark.stage.map(|s| s.as_str().to_string());
                r.code = mark.code;
                r.stage_timestamp = Some(mark.time.map(format_micros));
                r
            })
            .collect()
    }
}

const CSV_HEADER: [&str; 24] = [
    "time",
    "completed",
    "auditID",
    "stage",
    "level",
    "verb",
    "user",
    "groups",
    "serviceAccount",
    "pod",
    "node",
    "impersonatedUser",
    "sourceIP",
    "sourceIPs",
    "userAgent",
    "resource",
    "subresource",
    "apiGroup",
    "namespace",
    "name",
    "code",
    "decision",
    "reason",
    "requestURI",
];

/// Writes all rows. The table sizes its columns from the rows given, so callers pass
/// pages of rows; JSON is one array.
pub fn write_rows(
    out: &mut dyn Write,
    format: Format,
    rows: &[Row],
    columns: &[&str],
    first: bool,
    last: bool,
) -> io::Result<()> {
    match format {
        Format::Table => write_table(out, rows, columns, first),
        Format::Ndjson => {
            for row in rows {
                serde_json::to_writer(&mut *out, row)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }
        Format::Json => {
            if first {
                out.write_all(b"[")?;
            }
            for (i, row) in rows.iter().enumerate() {
                if !(first && i == 0) {
                    out.write_all(b",")?;
                }
                out.write_all(b"\n  ")?;
                serde_json::to_writer(&mut *out, row)?;
            }
            if last {
                out.write_all(if first && rows.is_empty() {
                    b"]\n"
                } else {
                    b"\n]\n"
                })?;
            }
            Ok(())
        }
        Format::Csv => write_csv(out, rows, first),
    }
}

fn write_csv(out: &mut dyn Write, rows: &[Row], header: bool) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new().from_writer(out);
    if header {
        w.write_record(CSV_HEADER)?;
    }
    for row in rows {
        let text = |v: &Option<String>| sanitize::for_csv(v.as_deref().unwrap_or("")).into_owned();
        let list = |v: &[String]| sanitize::for_csv(&v.join(" ")).into_owned();
        w.write_record([
            text(&row.time),
            text(&row.completed),
            text(&row.audit_id),
            text(&row.stage),
            text(&row.level),
            text(&row.verb),
            text(&row.user),
            list(&row.groups),
            text(&row.service_account),
            text(&row.pod),
            text(&row.node),
            text(&row.impersonated_user),
            text(&row.source_ip),
            list(&row.source_ips),
            text(&row.user_agent),
            text(&row.resource),
            text(&row.subresource),
            text(&row.api_group),
            text(&row.namespace),
            text(&row.name),
            row.code.map(|c| c.to_string()).unwrap_or_default(),
            text(&row.decision),
            text(&row.reason),
            text(&row.request_uri),
        ])?;
    }
    w.flush()
}

/// Longest a table cell may be before it is cut with `…`.
const MAX_CELL: usize = 60;

/// Columns the table can show (a saved query's `columns`), with their titles.
pub const TABLE_COLUMNS: &[(&str, &str)] = &[
    ("time", "TIME"),
    ("completed", "COMPLETED"),
    ("auditID", "AUDIT ID"),
    ("stage", "STAGE"),
    ("level", "LEVEL"),
    ("actor", "ACTOR"),
    ("verb", "VERB"),
    ("user", "USER"),
    ("groups", "GROUPS"),
    ("serviceAccount", "SERVICE ACCOUNT"),
    ("pod", "POD"),
    ("node", "NODE"),
    ("impersonatedUser", "IMPERSONATED USER"),
    ("sourceIP", "SOURCE IP"),
    ("sourceIPs", "SOURCE IPS"),
    ("userAgent", "USER AGENT"),
    ("resource", "RESOURCE"),
    ("subresource", "SUBRESOURCE"),
    ("apiGroup", "API GROUP"),
    ("namespace", "NAMESPACE"),
    ("name", "NAME"),
    ("object", "OBJECT"),
    ("code", "CODE"),
    ("decision", "DECISION"),
    ("reason", "REASON"),
    ("requestURI", "REQUEST URI"),
    ("command", "COMMAND"),
];

/// The table's columns when a saved query does not choose them.
pub const DEFAULT_COLUMNS: &[&str] = &[
    "time", "actor", "verb", "resource", "object", "code", "decision", "sourceIP",
];

impl Row {
    /// The text of a table column (`TABLE_COLUMNS`), not yet sanitized.
    fn cell(&self, column: &str) -> String {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        match column {
            "time" => self.time.as_deref().map(short_time).unwrap_or_default(),
            "completed" => self
                .completed
                .as_deref()
                .map(short_time)
                .unwrap_or_default(),
            "auditID" => text(&self.audit_id),
            "stage" => text(&self.stage),
            "level" => text(&self.level),
            "actor" => self.actor.clone(),
            "verb" => text(&self.verb),
            "user" => text(&self.user),
            "groups" => self.groups.join(" "),
            "serviceAccount" => text(&self.service_account),
            "pod" => text(&self.pod),
            "node" => text(&self.node),
            "impersonatedUser" => text(&self.impersonated_user),
            "sourceIP" => model::source_ip_label(&self.source_ips).unwrap_or_default(),
            "sourceIPs" => self.source_ips.join(" "),
            "userAgent" => text(&self.user_agent),
            // resource[/sub], or the URI of a non-resource request.
            "resource" if self.resource_path.is_empty() => text(&self.request_uri),
            "resource" => self.resource_path.clone(),
            "subresource" => text(&self.subresource),
            "apiGroup" => text(&self.api_group),
            "namespace" => text(&self.namespace),
            "name" => text(&self.name),
            "object" => self.object_path.clone(),
            "code" => self.code.map(|c| c.to_string()).unwrap_or_default(),
            "decision" => text(&self.decision),
            "reason" => text(&self.reason),
            "requestURI" => text(&self.request_uri),
            "command" => self.command.clone(),
            _ => String::new(),
        }
    }
}

/// Checks a saved query's `columns` against `TABLE_COLUMNS`.
pub fn check_columns(columns: &[String]) -> Result<(), String> {
    match columns
        .iter()
        .find(|c| !TABLE_COLUMNS.iter().any(|(key, _)| key == c))
    {
        Some(bad) => {
            let known: Vec<&str> = TABLE_COLUMNS.iter().map(|(key, _)| *key).collect();
            Err(format!(
                "unknown column {bad:?}; columns: {}",
                known.join(" ")
            ))
        }
        None => Ok(()),
    }
}

fn write_table(
    out: &mut dyn Write,
    rows: &[Row],
    columns: &[&str],
    header: bool,
) -> io::Result<()> {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| match r.cell(c) {
                    t if t.is_empty() => "-".to_string(),
                    t => sanitize::clip(&sanitize::for_terminal(&t), MAX_CELL),
                })
                .collect()
        })
        .collect();
    let titles: Vec<&str> = columns
        .iter()
        .map(|c| {
            TABLE_COLUMNS
                .iter()
                .find(|(key, _)| key == c)
                .map_or(*c, |(_, title)| *title)
        })
        .collect();
    let mut widths: Vec<usize> = titles.iter().map(|t| t.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut line = |values: &[&str]| -> io::Result<()> {
        let mut text = String::new();
        for (i, (v, w)) in values.iter().zip(&widths).enumerate() {
            text.push_str(v);
            if i + 1 < values.len() {
                text.extend(std::iter::repeat_n(' ', w - v.chars().count() + 2));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    if header {
        line(&titles)?;
    }
    for row in &cells {
        let refs: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&refs)?;
    }
    Ok(())
}

/// `2026-11-20T10:05:00.123456Z` → `2026-11-20 10:05:00.123`.
pub fn short_time(t: &str) -> String {
    let t = t.replacen('T', " ", 1);
    match t.find('.') {
        Some(dot) if t.len() >= dot + 4 => t[..dot + 4].to_string(),
        _ => t.trim_end_matches('Z').to_string(),
    }
}
