//! A request ↔ a tantivy document.

use serde::{Deserialize, Serialize};
use tantivy::schema::Value;
use tantivy::{DateTime, TantivyDocument};

use super::schema::Fields;
use crate::model::{Request, Stage};
use crate::podspec;

/// One stage seen for a request: what `--all-stages` lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageMark {
    pub stage: Option<Stage>,
    /// stageTimestamp, microseconds.
    pub time: Option<i64>,
    pub code: Option<u64>,
    /// Size of this stage's event in the log (0 in indexes written before it was kept).
    #[serde(default)]
    pub bytes: u64,
}

impl StageMark {
    pub fn of(r: &Request<'_>, bytes: u64) -> StageMark {
        StageMark {
            stage: r.stage,
            time: r.stage_time,
            code: r.code,
            bytes,
        }
    }

    /// The same stage of a request, maybe from another copy of the log: an event
    /// re-encoded from an envelope has another size, so size is not compared.
    pub fn same_stage(&self, other: &StageMark) -> bool {
        (self.stage, self.time, self.code) == (other.stage, other.time, other.code)
    }

    pub fn rank(&self) -> u8 {
        Stage::rank(self.stage)
    }
}

/// Builds the document of a request from its most complete stage.
pub fn build(
    f: &Fields,
    key: u128,
    r: &Request<'_>,
    json: &[u8],
    stages: &[StageMark],
) -> TantivyDocument {
    let mut doc = build_request(f, key, r, json);
    add_stages(f, &mut doc, stages);
    doc
}

/// The stage list of a request, and the bytes of all its stages, added to its
/// document: known only once its stages are collapsed, in log order.
pub fn add_stages(f: &Fields, doc: &mut TantivyDocument, stages: &[StageMark]) {
    doc.add_u64(f.bytes, stages.iter().map(|s| s.bytes).sum());
    let stages = serde_json::to_string(stages).expect("stage marks serialize");
    doc.add_text(f.stages, &stages);
}

/// The document of one stage's event without its stage list (`add_stages`): what an
/// ingest worker thread builds (`index::prepared`).
pub fn build_request(f: &Fields, key: u128, r: &Request<'_>, json: &[u8]) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    super::identity::add(f, &mut doc, key);
    if let Some(t) = r.time() {
        doc.add_date(f.time, DateTime::from_timestamp_micros(t));
    }
    let mut text = |field, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            doc.add_text(field, v);
        }
    };
    text(f.verb, r.verb);
    text(f.user, r.user);
    text(f.sa, r.service_account.as_deref());
    text(f.pod, r.pod.as_deref());
    text(f.pod_uid, r.pod_uid);
    text(f.node, r.node);
    text(f.impersonated, r.impersonated_user);
    text(f.resource, r.resource);
    text(f.sub, r.subresource);
    // The core group has no name in objectRef; index it as `core` so it can be asked for.
    let group = match (r.resource, r.api_group) {
        (Some(_), None | Some("")) => Some("core"),
        (_, g) => g,
    };
    text(f.apigroup, group);
    text(f.ns, r.namespace);
    text(f.name, r.object_name());
    text(f.agent, r.user_agent);
    text(f.decision, r.decision);
    text(f.stage, r.stage.map(Stage::as_str));
    text(f.level, r.level);
    text(f.audit_id, r.audit_id.map(audit_id_value).as_deref());
    text(f.ua, r.user_agent);
    text(f.uri, r.request_uri);
    // Also decoded, so `uri:serviceaccount` finds `%2Fserviceaccount%2Ftoken`.
    if let Some(uri) = r.request_uri.filter(|u| u.contains('%')) {
        text(f.uri, Some(&crate::model::percent_decode(uri)));
    }
    if let Some(argv) = r.exec_command().filter(|argv| !argv.is_empty()) {
        text(f.command, Some(&argv.join(" ")));
    }
    let body_command = index_bodies(r, json, &mut |term| text(f.body, Some(term)));
    if let Some(argv) = body_command.filter(|argv| !argv.is_empty()) {
        text(f.command, Some(&argv.join(" ")));
    }
    text(f.reason, r.reason);
    text(f.salvaged, r.salvaged);
    if is_dry_run(r, json) {
        text(f.dryrun, Some("true"));
    }
    for g in &r.groups {
        text(f.group, Some(g));
    }
    for ip in &r.source_ips {
        text(f.ip, Some(ip));
    }
    for image in images(r, json) {
        text(f.image, Some(&image));
    }
    let (risk, verdict) = risks(r, json);
    text(f.verdict, verdict);
    for kind in &risk.kinds {
        text(f.risk, Some(kind));
    }
    for cap in &risk.caps {
        text(f.cap, Some(cap));
    }
    if let Some(worst) = risk.worst {
        doc.add_u64(f.severity, worst.rank());
    }
    if let Some(code) = r.code {
        doc.add_u64(f.code, code);
    }
    for addr in r.source_ips.iter().filter_map(|ip| ip.parse().ok()) {
        doc.add_ip_addr(f.ipaddr, crate::model::ip_as_v6(addr));
    }
    // Events are UTF-8 (simd-json parsed them); the check is the fast path of a
    // conversion that cannot fail here.
    match std::str::from_utf8(json) {
        Ok(text) => doc.add_text(f.event, text),
        Err(_) => doc.add_text(f.event, String::from_utf8_lossy(json)),
    }
    doc
}

/// Hands each `index::body` term of the request's bodies to `add`, and returns the
/// exec command its `PodExecOptions` body carries, if any: both from one parse.
/// Longest auditID kept whole in its column. tantivy cuts a column's values at 64 KiB
/// without a word, so a hostile client's 70 KB auditID would no longer be found whole;
/// real ones are 36-character UUIDs.
pub const MAX_AUDIT_ID: usize = 1024;
/// Bytes of a longer auditID kept before its hash: every prefix up to this long still
/// finds it.
pub const AUDIT_ID_HEAD: usize = MAX_AUDIT_ID - 35;

/// An auditID as its column holds it: itself, or when longer than [`MAX_AUDIT_ID`], its
/// first [`AUDIT_ID_HEAD`] bytes (at most), `…` and the xxh3 hash of the whole, so that
/// `auditid:<the whole ID>` still finds exactly its request (`query::build` turns the
/// value asked for the same way).
pub fn audit_id_value(id: &str) -> std::borrow::Cow<'_, str> {
    if id.len() <= MAX_AUDIT_ID {
        return id.into();
    }
    let end = (0..=AUDIT_ID_HEAD)
        .rev()
        .find(|&i| id.is_char_boundary(i))
        .unwrap_or(0);
    let head = &id[..end];
    let hash = xxhash_rust::xxh3::xxh3_128(id.as_bytes());
    format!("{head}…{hash:032x}").into()
}

fn index_bodies(r: &Request<'_>, json: &[u8], add: &mut dyn FnMut(&str)) -> Option<Vec<String>> {
    if !super::body::may_have_body(json) {
        return None;
    }
    let mut buf = Vec::new();
    let event = crate::model::normalize::parse_stored(json, &mut buf)?;
    super::body::terms(&event, add);
    let exec = r.resource == Some("pods") && r.subresource == Some("exec");
    exec.then(|| super::body::exec_command(&event)).flatten()
}

/// Whether the apiserver ran the request as a dry run. A delete with a body takes its
/// options from the body (DeleteOptions) and ignores the URI's: its `?dryRun=All`
/// counts only when the body was logged and says so, or when the event was logged at a
/// level that shows bodies and had none. A delete logged at Metadata level cannot be
/// told, and is not called a dry run: a filter on `-dryrun:true` must not hide a real
/// deletion.
fn is_dry_run(r: &Request<'_>, json: &[u8]) -> bool {
    if !r.request_uri.is_some_and(crate::model::is_dry_run) {
        return false;
    }
    if !matches!(r.verb, Some("delete" | "deletecollection")) {
        return true;
    }
    let mut buf = Vec::new();
    let Some(event) = crate::model::normalize::parse_stored(json, &mut buf) else {
        return false;
    };
    use simd_json::prelude::*;
    match event.get("requestObject") {
        Some(body) => {
            let dry = body.get("dryRun").and_then(|d| d.as_array());
            dry.is_some_and(|d| !d.is_empty() && d.iter().all(|v| v.as_str() == Some("All")))
        }
        None => matches!(r.level, Some("Request" | "RequestResponse")),
    }
}

/// The container images of a pod or workload body: read only for those resources, and
/// only when the event carries a body.
fn images(r: &Request<'_>, json: &[u8]) -> Vec<String> {
    let pod_resource = r
        .resource
        .is_some_and(|res| podspec::POD_RESOURCES.contains(&res));
    let spec =
        r.subresource.is_none_or(str::is_empty) || r.subresource == Some("ephemeralcontainers");
    let body = memchr::memmem::find(json, b"Object\"").is_some();
    if pod_resource && spec && body {
        podspec::images(r, json)
    } else {
        Vec::new()
    }
}

/// The container checks a pod or workload write fails (`risk:privileged`), the
/// capabilities it adds (`cap:SYS_ADMIN`) and its worst finding (`severity:high`),
/// refused writes included (an attempt is a finding too), server-side dry runs not: the
/// findings `report immutability` lists, request by request. The body is read whenever
/// the event has one, whatever `level` says (log shippers drop it), with the parser and
/// depth limit of ingest; `risk:unchecked` marks a salvaged body.
/// With them, the write's `verdict` (`podspec::Checked::verdict`), for writes of a spec
/// itself (not an ephemeral container added).
fn risks(r: &Request<'_>, json: &[u8]) -> (podspec::Risk, Option<&'static str>) {
    if !r
        .resource
        .is_some_and(|res| podspec::POD_RESOURCES.contains(&res))
    {
        return (podspec::Risk::default(), None);
    }
    let ephemeral = r.resource == Some("pods") && r.subresource == Some("ephemeralcontainers");
    let dry_run = r.request_uri.is_some_and(crate::model::is_dry_run);
    let writes_spec = matches!(r.verb, Some("create" | "update" | "patch"))
        && (r.subresource.is_none_or(str::is_empty) || ephemeral)
        && !dry_run;
    if !writes_spec {
        return (podspec::Risk::default(), None);
    }
    let checked = podspec::check_write(r, json);
    let verdict = (!ephemeral).then(|| checked.verdict());
    (podspec::Risk::of(&checked.findings), verdict)
}

/// The stored part of a document.
#[derive(Debug, Clone)]
pub struct Stored {
    pub event: Vec<u8>,
    pub stages: Vec<StageMark>,
}

impl Stored {
    /// The request this document holds, read back from its stored event exactly as
    /// ingest normalized it (see `model::normalize::read_stored`), handed to `read`
    /// with the parsed event. `buf` is reused between documents.
    pub fn read<T>(
        &self,
        buf: &mut Vec<u8>,
        read: impl FnOnce(&Request<'_>, &simd_json::BorrowedValue<'_>) -> T,
    ) -> Option<T> {
        crate::model::normalize::read_stored(&self.event, buf, read)
    }
}

pub fn stored(f: &Fields, doc: &TantivyDocument) -> Stored {
    let bytes = |field| {
        doc.get_first(field)
            .and_then(|v| v.as_str().map(|s| s.as_bytes().to_vec()))
            .unwrap_or_default()
    };
    Stored {
        event: bytes(f.event),
        stages: serde_json::from_slice(&bytes(f.stages)).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_audit_id_is_kept_as_its_head_and_hash() {
        let short = "3f1c0a52-8d6e-4d9e-9d3b-0c7f7a1e2b44";
        assert_eq!(audit_id_value(short), short);
        // Two-byte characters across the cut: the head ends on a character.
        let long = "é".repeat(1000);
        let value = audit_id_value(&long);
        assert!(value.len() <= MAX_AUDIT_ID + 3, "{}", value.len());
        assert!(long.starts_with(value.split('…').next().unwrap()));
        assert!(value.split('…').next().unwrap().len() > AUDIT_ID_HEAD - 2);
        // The whole ID counts: IDs differing past the head are told apart.
        let other = format!("{}x", "é".repeat(999));
        assert_ne!(audit_id_value(&other), value);
        assert_eq!(audit_id_value(&long), value);
    }
}
