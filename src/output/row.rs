//! One row of results: a request as every reader of the index shows it (`kaudit query`
//! in each format, the TUI's table and detail view, its exports). Derived from the
//! stored, redacted event by the same normalization as ingest (`Stored::read`).

use crate::index::document::{StageMark, Stored};
use crate::model::{Request, Stage};

/// A request, or one stage of it with `--all-stages`. Owned: rows outlive the buffer
/// their event was parsed in (the TUI keeps pages of them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// When the apiserver received the request, in microseconds since the epoch.
    pub time: Option<i64>,
    /// When it completed (its ResponseComplete or Panic stage), if that stage was seen.
    pub completed: Option<i64>,
    pub audit_id: Option<String>,
    pub stage: Option<Stage>,
    /// With `--all-stages`: this stage's own time (None when the stage had none).
    pub stage_timestamp: Option<Option<i64>>,
    pub level: Option<String>,
    pub verb: Option<String>,
    pub user: Option<String>,
    pub groups: Vec<String>,
    pub service_account: Option<String>,
    pub pod: Option<String>,
    pub node: Option<String>,
    pub impersonated_user: Option<String>,
    /// As logged: the client's X-Forwarded-For and X-Real-Ip first, the address the
    /// apiserver saw last (see [`Row::source_ip`]).
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
    pub request_uri: Option<String>,
    /// Why only the envelope of the request could be read (`Request::salvaged`).
    pub salvaged: Option<String>,
    /// The actor: user, or ServiceAccount and pod; `X as Y` when impersonating
    /// (`Request::actor_label`).
    pub actor: String,
    /// `resource[/sub]` and `ns/name`, as `Request` derives them.
    pub resource_path: Option<String>,
    pub object_path: Option<String>,
    /// The decoded command of an exec or attach.
    pub command: Option<Vec<String>>,
    /// The redacted event JSON, when the reader asked for it (the TUI's detail view,
    /// `--format json`).
    pub event: Option<String>,
    /// In an object's history (TUI): what this write changed since the one before it.
    pub changes: Option<Vec<String>>,
    /// With `kaudit tui --policy FILE`: the rule of that Policy that takes this request.
    pub policy: Option<String>,
}

fn own(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

impl Row {
    /// The row of a stored document, with its event when `with_event`; None only for a
    /// damaged store (see `Stored::read`).
    pub fn from_stored(stored: &Stored, buf: &mut Vec<u8>, with_event: bool) -> Option<Row> {
        let mut row = stored.read(buf, |r, _| Row::from_request(r, &stored.stages))?;
        if with_event {
            row.event = Some(String::from_utf8_lossy(&stored.event).into_owned());
        }
        Some(row)
    }

    /// The row of a normalized request whose stages are `stages`.
    pub fn from_request(r: &Request<'_>, stages: &[StageMark]) -> Row {
        let completed = stages
            .iter()
            .filter(|m| m.rank() == 3 && m.stage.is_some())
            .find_map(|m| m.time)
            .or_else(|| Stage::is_final(r.stage).then_some(r.stage_time).flatten());
        Row {
            time: r.time(),
            completed,
            audit_id: own(r.audit_id),
            stage: r.stage,
            stage_timestamp: None,
            level: own(r.level),
            verb: own(r.verb),
            user: own(r.user),
            groups: r.groups.iter().map(|g| g.to_string()).collect(),
            service_account: r.service_account.clone(),
            pod: r.pod.clone(),
            node: own(r.node),
            impersonated_user: own(r.impersonated_user),
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
            actor: r.actor_label(),
            resource_path: r.resource_path(),
            object_path: r.object_path(),
            command: r.exec_command(),
            event: None,
            changes: None,
            policy: None,
        }
    }

    /// The address the apiserver saw: the last of `source_ips`.
    pub fn source_ip(&self) -> Option<&str> {
        self.source_ips.last().map(String::as_str)
    }

    /// The sourceIPs before it: X-Forwarded-For and X-Real-Ip, chosen by the client.
    pub fn forwarded_for(&self) -> &[String] {
        self.source_ips
            .split_last()
            .map_or(&[], |(_, forwarded)| forwarded)
    }

    /// The SOURCE IP column: the apiserver's address, marked when a client named
    /// others (`model::source_ip_label`).
    pub fn source_ip_label(&self) -> Option<String> {
        crate::model::source_ip_label(&self.source_ips)
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
        let Some(row) = Row::from_stored(stored, &mut self.buf, self.with_event) else {
            return Vec::new();
        };
        if !self.all_stages {
            return vec![row];
        }
        // One row per stage seen: the request's fields, the stage's own.
        stored
            .stages
            .iter()
            .map(|mark| Row {
                stage: mark.stage,
                code: mark.code,
                stage_timestamp: Some(mark.time),
                ..row.clone()
            })
            .collect()
    }
}
