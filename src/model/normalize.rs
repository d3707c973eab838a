//! The one door from event JSON to a [`Request`]: ingest normalizes each event it reads
//! with [`normalize`], and every reader of the index (query output, reports, the TUI,
//! the writer merging stages) reads a stored event back through [`read_stored`], so
//! what is shown is exactly what was indexed.

use std::fmt;

use simd_json::{BorrowedValue as Value, StaticNode};

use super::{Actor, Request, Stage, parse_timestamp};

/// Why an event cannot be normalized: ingest rejects it with this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// An identity or object field of the wrong type: it would be indexed wrongly.
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    /// None of auditID, verb, requestURI, user or objectRef.
    NoAuditFields,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::WrongType {
                field,
                expected,
                found,
            } => write!(f, "field {field}: expected {expected}, found {found}"),
            Invalid::NoAuditFields => write!(
                f,
                "no audit fields (auditID, verb, requestURI, user, objectRef) in this object"
            ),
        }
    }
}

/// The stored (already redacted) event `json` read back: parsed into `buf` and
/// normalized, then handed to `read` with the parsed value (for what normalization does
/// not keep: bodies, annotations). None when the JSON no longer parses or normalizes,
/// which only a damaged store causes: such an event is left out rather than guessed at.
pub fn read_stored<T>(
    json: &[u8],
    buf: &mut Vec<u8>,
    read: impl FnOnce(&Request<'_>, &Value<'_>) -> T,
) -> Option<T> {
    let value = parse_stored(json, buf)?;
    let request = normalize(&value).ok()?;
    Some(read(&request, &value))
}

/// Parses stored (already redacted) event JSON, borrowing from `buf`, for the same
/// normalization as ingest: what a query or report shows is what was indexed.
pub fn parse_stored<'b>(json: &[u8], buf: &'b mut Vec<u8>) -> Option<Value<'b>> {
    buf.clear();
    buf.extend_from_slice(json);
    simd_json::to_borrowed_value(buf).ok()
}

/// A string field: absent and null are None; any other type rejects the event.
fn opt_str<'v>(v: &'v Value<'_>, key: &str, path: &str) -> Result<Option<&'v str>, Invalid> {
    match get(v, key) {
        None | Some(Value::Static(StaticNode::Null)) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(path, "a string", other)),
    }
}

fn opt_obj<'v, 'a>(
    v: &'v Value<'a>,
    key: &str,
    path: &str,
) -> Result<Option<&'v Value<'a>>, Invalid> {
    match get(v, key) {
        None | Some(Value::Static(StaticNode::Null)) => Ok(None),
        Some(o @ Value::Object(_)) => Ok(Some(o)),
        Some(other) => Err(wrong_type(path, "an object", other)),
    }
}

fn str_list<'v>(v: &'v Value<'_>, key: &str, path: &str) -> Result<Vec<&'v str>, Invalid> {
    match get(v, key) {
        None | Some(Value::Static(StaticNode::Null)) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(&**s),
                other => Err(wrong_type(path, "a list of strings", other)),
            })
            .collect(),
        Some(other) => Err(wrong_type(path, "a list of strings", other)),
    }
}

/// First value of a user.extra key; also under the mangled spelling some exporters use
/// (`authentication_kubernetes_io_slash_pod-name`). Extra is free-form: a value of an
/// unexpected type is ignored rather than rejecting the event.
fn extra<'v>(extra: Option<&'v Value<'_>>, suffix: &str) -> Option<&'v str> {
    let extra = extra?;
    let keys = [
        format!("authentication.kubernetes.io/{suffix}"),
        format!("authentication_kubernetes_io_slash_{suffix}"),
    ];
    keys.iter().find_map(|k| match get(extra, k)? {
        Value::Array(values) => match values.first()? {
            Value::String(s) => Some(&**s),
            _ => None,
        },
        Value::String(s) => Some(&**s),
        _ => None,
    })
}

/// Builds the normalized request. Identity and object fields of the wrong type reject
/// the event (they would be indexed wrongly); annotations and extras are free-form.
pub fn normalize<'v>(v: &'v Value<'_>) -> Result<Request<'v>, Invalid> {
    let mut r = Request {
        audit_id: opt_str(v, "auditID", "auditID")?,
        level: opt_str(v, "level", "level")?,
        verb: opt_str(v, "verb", "verb")?,
        request_uri: opt_str(v, "requestURI", "requestURI")?,
        user_agent: opt_str(v, "userAgent", "userAgent")?,
        source_ips: str_list(v, "sourceIPs", "sourceIPs")?,
        ..Request::default()
    };
    r.stage = opt_str(v, "stage", "stage")?.and_then(Stage::parse);
    r.salvaged = opt_str(v, super::SALVAGED_KEY, super::SALVAGED_KEY)?;

    let user = opt_obj(v, "user", "user")?;
    if let Some(user) = user {
        r.user = opt_str(user, "username", "user.username")?;
        r.groups = str_list(user, "groups", "user.groups")?;
        let extras = get(user, "extra");
        r.pod_uid = extra(extras, "pod-uid");
        r.node = extra(extras, "node-name");
        if let Some(username) = r.user {
            match Actor::from_username(username) {
                Actor::ServiceAccount { namespace, name } => {
                    r.service_account = Some(format!("{namespace}/{name}"));
                    r.pod = extra(extras, "pod-name").map(|pod| format!("{namespace}/{pod}"));
                }
                Actor::Node(node) if r.node.is_none() => r.node = Some(node),
                _ => {}
            }
        }
    }
    if let Some(imp) = opt_obj(v, "impersonatedUser", "impersonatedUser")? {
        r.impersonated_user = opt_str(imp, "username", "impersonatedUser.username")?;
        r.impersonated_groups = str_list(imp, "groups", "impersonatedUser.groups")?;
    }
    if let Some(obj) = opt_obj(v, "objectRef", "objectRef")? {
        r.resource = opt_str(obj, "resource", "objectRef.resource")?;
        r.subresource = opt_str(obj, "subresource", "objectRef.subresource")?;
        r.namespace = opt_str(obj, "namespace", "objectRef.namespace")?;
        r.name = opt_str(obj, "name", "objectRef.name")?;
        r.api_group = opt_str(obj, "apiGroup", "objectRef.apiGroup")?;
    }
    if r.name.is_none() && matches!(r.verb, Some("list" | "watch" | "deletecollection")) {
        r.selected_name = r.request_uri.and_then(super::field_selector_name);
    }
    if let Some(status) = opt_obj(v, "responseStatus", "responseStatus")? {
        r.code = match get(status, "code") {
            None | Some(Value::Static(StaticNode::Null)) => None,
            Some(Value::Static(StaticNode::U64(c))) => Some(*c),
            Some(Value::Static(StaticNode::I64(c))) if *c >= 0 => Some(*c as u64),
            Some(other) => return Err(wrong_type("responseStatus.code", "an integer", other)),
        };
    }
    if let Some(annotations @ Value::Object(_)) = get(v, "annotations") {
        let text = |key: &str| match get(annotations, key) {
            Some(Value::String(s)) => Some(&**s),
            _ => None,
        };
        r.decision = text("authorization.k8s.io/decision");
        r.reason = text("authorization.k8s.io/reason");
    }
    // v1beta1 events may carry only `timestamp` (second precision).
    // A `timestamp` of another type (added by a log shipper) is not this one: ignored.
    let received = match opt_str(v, "requestReceivedTimestamp", "requestReceivedTimestamp")? {
        Some(t) => Some(t),
        None => opt_str(v, "timestamp", "timestamp").ok().flatten(),
    };
    let stage = opt_str(v, "stageTimestamp", "stageTimestamp")?;
    r.received = received.and_then(parse_timestamp);
    r.stage_time = stage.and_then(parse_timestamp);
    r.bad_timestamp = match (received, r.received, stage, r.stage_time) {
        (Some(text), None, ..) => Some(("requestReceivedTimestamp", text)),
        (.., Some(text), None) => Some(("stageTimestamp", text)),
        _ => None,
    };
    if r.audit_id.is_none()
        && r.verb.is_none()
        && r.request_uri.is_none()
        && r.user.is_none()
        && r.resource.is_none()
    {
        return Err(Invalid::NoAuditFields);
    }
    Ok(r)
}

pub(crate) fn type_name(v: &Value<'_>) -> &'static str {
    match v {
        Value::Static(StaticNode::Null) => "null",
        Value::Static(StaticNode::Bool(_)) => "a boolean",
        Value::Static(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn get<'v, 'a>(v: &'v Value<'a>, key: &str) -> Option<&'v Value<'a>> {
    match v {
        Value::Object(o) => o.get(key),
        _ => None,
    }
}

pub(crate) fn wrong_type(field: &str, expected: &'static str, found: &Value<'_>) -> Invalid {
    Invalid::WrongType {
        field: field.to_string(),
        expected,
        found: type_name(found),
    }
}
