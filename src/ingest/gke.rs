//! GKE Cloud Audit Logs → `audit.k8s.io/v1` Events.
//!
//! A GKE cluster's apiserver audit log reaches Cloud Logging as `LogEntry`s whose
//! `protoPayload` is a `google.cloud.audit.AuditLog` with `serviceName: "k8s.io"`. This
//! module rebuilds the Event the apiserver logged from one such entry, so every later
//! step (type checks, redaction, normalization, the index) treats it like a native one.
//!
//! The shape relied on (GKE's audit logging docs and real exported entries):
//! - `methodName` is `io.k8s.<group>.<version>.<resource>[.<subresource>].<verb>`, e.g.
//!   `io.k8s.core.v1.secrets.get`, `io.k8s.core.v1.pods.exec.create`; its group is a
//!   mangled spelling (`io.k8s.authorization.rbac.v1…` or `io.k8s.rbac.v1…`), so the
//!   group is taken from `resourceName`, which spells it as the API does:
//!   `core/v1/namespaces/NS/secrets/NAME`, `rbac.authorization.k8s.io/v1/clusterroles/N`.
//!   Non-resource requests name their path (`/readyz`).
//! - `authenticationInfo.principalEmail` is the Kubernetes username (a Google account,
//!   a GCP service account, or `system:serviceaccount:NS:NAME`).
//! - `requestMetadata.callerIp` / `callerSuppliedUserAgent`; `status` is a
//!   `google.rpc.Status` (a gRPC code, see [`http_code`]).
//! - The entry's `labels` carry the apiserver's annotations
//!   (`authorization.k8s.io/decision`, `authorization.k8s.io/reason`, …).
//! - "API methods … marked (LRO) are long-running operations. These methods usually
//!   generate two audit log entries: one when the operation starts and another when it
//!   ends" (GKE audit logging docs): `operation.first` / `operation.last` with one
//!   `operation.id`, taken as the two stages of one request (see [`stage`]).
//!
//! GKE does not record the stages before a response, the user's groups or extras, the
//! `sourceIPs` chain (only the caller), the HTTP method of non-resource requests, or
//! the apiserver's auditID; what this module rebuilds instead is documented in the
//! README ("GKE Cloud Audit Logs").

use simd_json::borrowed::Object;
use simd_json::prelude::ValueAsObject as _;
use simd_json::{BorrowedValue as Value, StaticNode};

use super::parse::Rejection;

mod target;
use target::{Method, Target};

/// Prefix of the annotations that keep GKE-only facts (project, cluster, …).
pub const ANNOTATION_PREFIX: &str = "kaudit.gke/";

/// Whether a top-level object is a Cloud Logging `LogEntry` with a `protoPayload`.
pub fn is_log_entry(obj: &Object<'_>) -> bool {
    obj.contains_key("protoPayload")
}

/// Whether a top-level object is a Cloud Logging `entries.list` answer,
/// `{"entries":[…],"nextPageToken":…}`: an `entries` list in an object that is not
/// itself an event (an event with a stray `entries` member stays an event).
pub fn is_entries_answer(obj: &Object<'_>) -> bool {
    matches!(obj.get("entries"), Some(Value::Array(_)))
        && !["auditID", "verb", "requestURI", "objectRef", "user"]
            .iter()
            .any(|key| obj.contains_key(*key))
}

/// Rebuilds the audit Event held by one GKE `LogEntry`, moving its bodies out of it.
/// Entries that are not Kubernetes audit (another service, another payload type) and
/// entries of the wrong shape are rejected with the reason.
pub fn to_event<'a>(mut entry: Object<'a>) -> Result<Value<'a>, Rejection> {
    let mut payload = match entry.remove("protoPayload") {
        Some(Value::Object(p)) => *p,
        Some(other) => return Err(wrong_type("protoPayload", "an object", &other)),
        None => return Err(not_audit("a LogEntry without a protoPayload")),
    };
    check_payload_type(&payload)?;
    // A few exporters lift `serviceName` next to the payload.
    let service = text(&payload, "serviceName", "protoPayload.serviceName")?.or(text(
        &entry,
        "serviceName",
        "serviceName",
    )?);
    if let Some(service) = service
        && service != "k8s.io"
    {
        return Err(not_audit(&format!(
            "a GKE LogEntry of service {service:?} (only k8s.io entries are Kubernetes audit)"
        )));
    }
    let method = text(&payload, "methodName", "protoPayload.methodName")?
        .ok_or_else(|| not_audit("a GKE LogEntry without protoPayload.methodName"))?
        .to_string();
    let method = Method::parse(&method);
    let resource_name = text(&payload, "resourceName", "protoPayload.resourceName")?;
    let target = match resource_name {
        Some(name) => Target::parse(name, &method),
        None => Target::from_method(&method),
    };

    let mut event = Object::with_capacity(20);
    let mut put = |key: &'static str, value: Value<'a>| {
        event.insert(key.into(), value);
    };
    put("kind", "Event".into());
    put("apiVersion", "audit.k8s.io/v1".into());
    let operation = Operation::of(&entry)?;
    let insert_id = text(&entry, "insertId", "insertId")?.map(str::to_string);
    if let Some(id) = operation.id.clone().or(insert_id.clone()) {
        put("auditID", id.into());
    }
    put("stage", operation.stage().into());
    let uri = match text(&payload, "requestURI", "protoPayload.requestURI")? {
        Some(uri) => Some(uri.to_string()),
        None => target.request_uri(method.verb),
    };
    if let Some(uri) = uri {
        put("requestURI", uri.into());
    }
    if let Some(verb) = method.verb {
        put("verb", verb.to_string().into());
    }
    if let Some(user) = principal(&payload)? {
        let mut u = Object::with_capacity(1);
        u.insert("username".into(), user.into());
        put("user", Value::from(u));
    }
    let (ip, agent) = caller(&payload)?;
    if let Some(ip) = ip {
        put("sourceIPs", Value::Array(Box::new(vec![ip.into()])));
    }
    if let Some(agent) = agent {
        put("userAgent", agent.into());
    }
    if let Some(object_ref) = target.object_ref() {
        put("objectRef", object_ref);
    }
    let status = status(&payload)?;
    if let Some((grpc, message)) = &status {
        let mut s = Object::with_capacity(3);
        s.insert(
            "code".into(),
            http_code(*grpc, method.verb, target.subresource.as_deref()).into(),
        );
        if let Some(message) = message {
            s.insert("message".into(), message.clone().into());
        }
        put("responseStatus", Value::from(s));
    }
    let request = body(payload.remove("request"));
    let response = body(payload.remove("response"));
    let level = match (&request, &response) {
        (_, Some(_)) => "RequestResponse",
        (Some(_), None) => "Request",
        (None, None) => "Metadata",
    };
    put("level", level.into());
    if let Some(request) = request {
        put("requestObject", request);
    }
    if let Some(response) = response {
        put("responseObject", response);
    }
    // Some exporters move `timestamp` into the payload.
    let time = match text(&entry, "timestamp", "timestamp")? {
        Some(t) => Some(t.to_string()),
        None => text(&payload, "timestamp", "protoPayload.timestamp")?.map(str::to_string),
    };
    if let Some(time) = time {
        // The stages of one operation have different times: giving them a receive time
        // would keep them apart as two requests (the receive time is part of a
        // request's identity), so only single-entry requests get one.
        if operation.id.is_none() {
            put("requestReceivedTimestamp", time.clone().into());
        }
        put("stageTimestamp", time.into());
    }
    // A salvaged line says why; the parser keeps the key only when a salvage set it.
    if let Some(why) = entry.remove(crate::model::SALVAGED_KEY) {
        put(crate::model::SALVAGED_KEY, why);
    }
    let decision = granted(&payload, status.as_ref().map(|s| s.0));
    let annotations = annotations(&entry, decision, insert_id, &operation);
    put("annotations", Value::from(annotations));
    Ok(Value::from(event))
}

/// `@type` of the payload (Panther's exports spell it `at_sign_type`): an AuditLog, or
/// not Kubernetes audit.
fn check_payload_type(payload: &Object<'_>) -> Result<(), Rejection> {
    for key in ["@type", "at_sign_type"] {
        if let Some(kind) = text(payload, key, "protoPayload.@type")?
            && !kind.ends_with("google.cloud.audit.AuditLog")
        {
            return Err(not_audit(&format!(
                "a LogEntry with a protoPayload of type {kind:?}, not a google.cloud.audit.AuditLog"
            )));
        }
    }
    Ok(())
}

/// `operation` of an entry: the id shared by the entries of one long-running request,
/// and which of them this is.
#[derive(Debug, Default)]
struct Operation {
    id: Option<String>,
    first: bool,
    last: bool,
}

impl Operation {
    fn of(entry: &Object<'_>) -> Result<Operation, Rejection> {
        let Some(op) = object(entry, "operation", "operation")? else {
            return Ok(Operation::default());
        };
        let flag = |key: &str| matches!(op.get(key), Some(Value::Static(StaticNode::Bool(true))));
        Ok(Operation {
            id: text(op, "id", "operation.id")?
                .filter(|id| !id.is_empty())
                .map(str::to_string),
            first: flag("first"),
            last: flag("last"),
        })
    }

    /// The first of two entries is the response starting (a watch, an exec session);
    /// the last, or the only one, is the response complete.
    fn stage(&self) -> &'static str {
        if self.first && !self.last {
            "ResponseStarted"
        } else {
            "ResponseComplete"
        }
    }
}

/// The Kubernetes username: `principalEmail` (or `principalSubject`).
fn principal(payload: &Object<'_>) -> Result<Option<String>, Rejection> {
    let Some(auth) = object(
        payload,
        "authenticationInfo",
        "protoPayload.authenticationInfo",
    )?
    else {
        return Ok(None);
    };
    let email = text(
        auth,
        "principalEmail",
        "protoPayload.authenticationInfo.principalEmail",
    )?;
    let subject = text(
        auth,
        "principalSubject",
        "protoPayload.authenticationInfo.principalSubject",
    )?;
    Ok(email.or(subject).map(str::to_string))
}

/// `requestMetadata.callerIp` (some exports spell it `callerIP`) and the user agent.
fn caller(payload: &Object<'_>) -> Result<(Option<String>, Option<String>), Rejection> {
    let Some(meta) = object(payload, "requestMetadata", "protoPayload.requestMetadata")? else {
        return Ok((None, None));
    };
    let ip = text(meta, "callerIp", "protoPayload.requestMetadata.callerIp")?.or(text(
        meta,
        "callerIP",
        "protoPayload.requestMetadata.callerIP",
    )?);
    let agent = text(
        meta,
        "callerSuppliedUserAgent",
        "protoPayload.requestMetadata.callerSuppliedUserAgent",
    )?;
    Ok((ip.map(str::to_string), agent.map(str::to_string)))
}

/// `status` as (gRPC code, message). `{}` is OK: proto3's JSON leaves out a zero code.
/// No `status` at all: the outcome is unknown.
fn status(payload: &Object<'_>) -> Result<Option<(u64, Option<String>)>, Rejection> {
    let Some(status) = object(payload, "status", "protoPayload.status")? else {
        return Ok(None);
    };
    let code = match status.get("code") {
        None | Some(Value::Static(StaticNode::Null)) => 0,
        Some(Value::Static(StaticNode::U64(c))) => *c,
        Some(Value::Static(StaticNode::I64(c))) if *c >= 0 => *c as u64,
        Some(other) => {
            return Err(wrong_type(
                "protoPayload.status.code",
                "a non-negative integer",
                other,
            ));
        }
    };
    let message = text(status, "message", "protoPayload.status.message")?
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    Ok(Some((code, message)))
}

/// The HTTP status the apiserver answered, from the gRPC code GKE logs it as. The
/// mapping is the inverse of the one gRPC gateways use (google.rpc.Code's comments);
/// where several HTTP codes share a gRPC code, the commonest is taken (3 could have
/// been 400 or 422; 10 ABORTED is a 409 Conflict, an object changed concurrently).
/// A streaming session (exec, attach, port-forward) that was let through is the
/// apiserver's 101 Switching Protocols, other creates its 201 Created.
pub fn http_code(grpc: u64, verb: Option<&str>, subresource: Option<&str>) -> u64 {
    let streaming = matches!(subresource, Some("exec" | "attach" | "portforward"));
    match grpc {
        0 if streaming => 101,
        0 if verb == Some("create") => 201,
        0 => 200,
        1 => 499,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        _ => 500,
    }
}

/// The authorization decision from `authorizationInfo[].granted` (all granted: allow;
/// one refused: forbid). `granted` left out means false in proto3's JSON, but some
/// exports leave it out of every entry, so a missing one decides nothing unless the
/// status says PERMISSION_DENIED.
fn granted(payload: &Object<'_>, grpc: Option<u64>) -> Option<&'static str> {
    let mut decision = None;
    if let Some(Value::Array(infos)) = payload.get("authorizationInfo") {
        for info in infos.iter() {
            match info.as_object().and_then(|i| i.get("granted")) {
                Some(Value::Static(StaticNode::Bool(false))) => return Some("forbid"),
                Some(Value::Static(StaticNode::Bool(true))) => decision = Some("allow"),
                _ => {}
            }
        }
    }
    match grpc {
        Some(7) => Some("forbid"),
        _ => decision,
    }
}

/// The entry's `labels` (the apiserver's annotations) plus the decision when the labels
/// lack it, and the GKE-only facts under `kaudit.gke/`.
fn annotations<'a>(
    entry: &Object<'_>,
    decision: Option<&'static str>,
    insert_id: Option<String>,
    operation: &Operation,
) -> Object<'a> {
    let mut out = Object::with_capacity(8);
    if let Some(Value::Object(labels)) = entry.get("labels") {
        for (key, value) in labels.iter() {
            if let Value::String(s) = value {
                out.insert(key.to_string().into(), s.to_string().into());
            }
        }
    }
    let decision_key = "authorization.k8s.io/decision";
    if let Some(decision) = decision
        && !out.contains_key(decision_key)
    {
        out.insert(decision_key.into(), decision.into());
    }
    let mut gke = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            out.insert(format!("{ANNOTATION_PREFIX}{key}").into(), value.into());
        }
    };
    let resource_label = |label: &str| match entry.get("resource") {
        Some(Value::Object(r)) => match r.get("labels") {
            Some(Value::Object(l)) => match l.get(label) {
                Some(Value::String(s)) => Some(s.to_string()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    gke("project", resource_label("project_id"));
    gke("cluster", resource_label("cluster_name"));
    gke("location", resource_label("location"));
    let log_name = match entry.get("logName") {
        Some(Value::String(s)) => Some(s.to_string()),
        _ => None,
    };
    gke("logName", log_name);
    gke("insertId", insert_id);
    gke("operation", operation.id.clone());
    out
}

/// A request or response body without its `@type` (a protobuf type URL, not part of
/// the object the apiserver logged).
fn body(value: Option<Value<'_>>) -> Option<Value<'_>> {
    match value? {
        Value::Static(StaticNode::Null) => None,
        Value::Object(mut o) => {
            o.remove("@type");
            o.remove("at_sign_type");
            Some(Value::Object(o))
        }
        other => Some(other),
    }
}

fn text<'v>(obj: &'v Object<'_>, key: &str, path: &str) -> Result<Option<&'v str>, Rejection> {
    match obj.get(key) {
        None | Some(Value::Static(StaticNode::Null)) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(path, "a string", other)),
    }
}

fn object<'v, 'a>(
    obj: &'v Object<'a>,
    key: &str,
    path: &str,
) -> Result<Option<&'v Object<'a>>, Rejection> {
    match obj.get(key) {
        None | Some(Value::Static(StaticNode::Null)) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(wrong_type(path, "an object", other)),
    }
}

fn wrong_type(field: &str, expected: &'static str, found: &Value<'_>) -> Rejection {
    crate::model::normalize::wrong_type(field, expected, found).into()
}

fn not_audit(why: &str) -> Rejection {
    Rejection::NotAnAuditEvent(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rebuilds the Event of an entry written as JSON text.
    fn event_of(entry: &str) -> Result<serde_json::Value, Rejection> {
        let mut bytes = entry.as_bytes().to_vec();
        let Value::Object(obj) = simd_json::to_borrowed_value(&mut bytes).unwrap() else {
            panic!("not an object: {entry}");
        };
        let event = to_event(*obj)?;
        Ok(serde_json::from_str(&simd_json::to_string(&event).unwrap()).unwrap())
    }

    fn entry(method: &str, resource_name: &str) -> String {
        serde_json::json!({
            "protoPayload": {
                "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                "serviceName": "k8s.io",
                "methodName": method,
                "resourceName": resource_name,
                "authenticationInfo": {"principalEmail": "ann@example.com"},
                "requestMetadata": {"callerIp": "203.0.113.7", "callerSuppliedUserAgent": "kubectl/v1.30"},
                "status": {}
            },
            "insertId": "abc123",
            "timestamp": "2026-01-02T03:04:05.123456789Z"
        })
        .to_string()
    }

    #[test]
    fn namespaced_core_objects_rebuild_uri_and_object_ref() {
        let e = event_of(&entry(
            "io.k8s.core.v1.secrets.get",
            "core/v1/namespaces/prod/secrets/db-password",
        ))
        .unwrap();
        assert_eq!(e["verb"], "get");
        assert_eq!(
            e["requestURI"],
            "/api/v1/namespaces/prod/secrets/db-password"
        );
        assert_eq!(
            e["objectRef"],
            serde_json::json!({"resource": "secrets", "namespace": "prod", "name": "db-password", "apiGroup": "", "apiVersion": "v1"})
        );
        assert_eq!(e["user"]["username"], "ann@example.com");
        assert_eq!(e["sourceIPs"], serde_json::json!(["203.0.113.7"]));
        assert_eq!(e["userAgent"], "kubectl/v1.30");
        assert_eq!(e["responseStatus"]["code"], 200);
        assert_eq!(e["auditID"], "abc123");
        assert_eq!(e["stage"], "ResponseComplete");
        assert_eq!(e["level"], "Metadata");
        assert_eq!(
            e["requestReceivedTimestamp"],
            "2026-01-02T03:04:05.123456789Z"
        );
    }

    #[test]
    fn subresources_cluster_scope_and_named_groups() {
        let e = event_of(&entry(
            "io.k8s.apps.v1.deployments.scale.update",
            "apps/v1/namespaces/web/deployments/front/scale",
        ))
        .unwrap();
        assert_eq!(
            e["requestURI"],
            "/apis/apps/v1/namespaces/web/deployments/front/scale"
        );
        assert_eq!(e["objectRef"]["subresource"], "scale");
        let e = event_of(&entry(
            "io.k8s.authorization.rbac.v1.clusterrolebindings.create",
            "rbac.authorization.k8s.io/v1/clusterrolebindings/admins",
        ))
        .unwrap();
        // A create goes to the collection; the object keeps its name.
        assert_eq!(
            e["requestURI"],
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
        );
        assert_eq!(e["objectRef"]["apiGroup"], "rbac.authorization.k8s.io");
        assert_eq!(e["objectRef"]["name"], "admins");
        assert!(e["objectRef"].get("namespace").is_none());
        assert_eq!(e["responseStatus"]["code"], 201);
    }

    #[test]
    fn a_namespace_is_an_object_not_a_scope_when_the_method_says_so() {
        let e = event_of(&entry(
            "io.k8s.core.v1.namespaces.finalize.update",
            "core/v1/namespaces/old/finalize",
        ))
        .unwrap();
        assert_eq!(
            (
                &e["objectRef"]["resource"],
                &e["objectRef"]["name"],
                &e["objectRef"]["subresource"]
            ),
            (&"namespaces".into(), &"old".into(), &"finalize".into())
        );
        assert!(e["objectRef"].get("namespace").is_none());
        let e = event_of(&entry(
            "io.k8s.core.v1.pods.exec.create",
            "core/v1/namespaces/old/pods/shell/exec",
        ))
        .unwrap();
        assert_eq!(e["objectRef"]["namespace"], "old");
        assert_eq!(e["requestURI"], "/api/v1/namespaces/old/pods/shell/exec");
    }

    #[test]
    fn non_resource_paths_keep_their_path_and_no_guessed_verb() {
        let e = event_of(&entry("io.k8s.readyz", "/readyz")).unwrap();
        assert_eq!(e["requestURI"], "/readyz");
        assert!(e.get("verb").is_none());
        assert!(e.get("objectRef").is_none());
    }

    #[test]
    fn every_kind_of_principal_is_the_username_as_written() {
        for who in [
            "ann@example.com",
            "deployer@shop-prod.iam.gserviceaccount.com",
            "system:serviceaccount:ci:deployer",
            "system:anonymous",
        ] {
            let text = entry("io.k8s.core.v1.pods.list", "core/v1/namespaces/a/pods")
                .replace("ann@example.com", who);
            assert_eq!(event_of(&text).unwrap()["user"]["username"], who);
        }
        // Without an email (a workforce identity), the subject.
        let text = entry("io.k8s.core.v1.pods.list", "core/v1/namespaces/a/pods").replace(
            r#""principalEmail":"ann@example.com""#,
            r#""principalSubject":"principal://iam.googleapis.com/locations/global/workforcePools/p/subject/s""#,
        );
        let e = event_of(&text).unwrap();
        assert!(
            e["user"]["username"]
                .as_str()
                .unwrap()
                .starts_with("principal://")
        );
        // Nobody named: no user at all, never an empty one.
        let text = entry("io.k8s.core.v1.pods.list", "core/v1/namespaces/a/pods").replace(
            r#""principalEmail":"ann@example.com""#,
            r#""principalEmail":null"#,
        );
        assert!(event_of(&text).unwrap().get("user").is_none());
    }

    #[test]
    fn grpc_codes_become_the_apiservers_http_codes() {
        let cases = [
            (0, Some("get"), None, 200),
            (0, Some("create"), None, 201),
            (0, Some("create"), Some("token"), 201),
            (0, Some("create"), Some("exec"), 101),
            (0, Some("get"), Some("portforward"), 101),
            (7, Some("create"), Some("exec"), 403),
            (3, None, None, 400),
            (5, None, None, 404),
            (6, None, None, 409),
            (7, None, None, 403),
            (9, None, None, 400),
            (10, None, None, 409),
            (16, None, None, 401),
            (13, None, None, 500),
            (99, None, None, 500),
        ];
        for (grpc, verb, sub, http) in cases {
            assert_eq!(
                http_code(grpc, verb, sub),
                http,
                "gRPC {grpc} {verb:?} {sub:?}"
            );
        }
    }

    #[test]
    fn status_decision_labels_and_gke_facts_become_annotations() {
        let e = event_of(
            &serde_json::json!({
                "protoPayload": {
                    "serviceName": "k8s.io",
                    "methodName": "io.k8s.core.v1.secrets.list",
                    "resourceName": "core/v1/namespaces/a/secrets",
                    "authenticationInfo": {"principalEmail": "system:serviceaccount:a:bot"},
                    "authorizationInfo": [{"granted": false, "permission": "io.k8s.core.v1.secrets.list"}],
                    "status": {"code": 7, "message": "Forbidden"}
                },
                "labels": {"authorization.k8s.io/reason": "no RBAC policy matched"},
                "resource": {"type": "k8s_cluster", "labels": {"project_id": "p1", "cluster_name": "c1", "location": "europe-west1"}},
                "logName": "projects/p1/logs/cloudaudit.googleapis.com%2Fdata_access",
                "insertId": "i-9"
            })
            .to_string(),
        )
        .unwrap();
        assert_eq!(
            e["responseStatus"],
            serde_json::json!({"code": 403, "message": "Forbidden"})
        );
        let a = &e["annotations"];
        assert_eq!(a["authorization.k8s.io/decision"], "forbid");
        assert_eq!(a["authorization.k8s.io/reason"], "no RBAC policy matched");
        assert_eq!(a["kaudit.gke/project"], "p1");
        assert_eq!(a["kaudit.gke/cluster"], "c1");
        assert_eq!(a["kaudit.gke/location"], "europe-west1");
        assert_eq!(a["kaudit.gke/insertId"], "i-9");
        assert!(
            a["kaudit.gke/logName"]
                .as_str()
                .unwrap()
                .ends_with("data_access")
        );
        // A decision in the labels is the apiserver's own: it wins.
        let mut text = entry("io.k8s.core.v1.pods.get", "core/v1/namespaces/a/pods/p");
        text = text.replacen(
            r#""insertId""#,
            r#""labels":{"authorization.k8s.io/decision":"allow"},"insertId""#,
            1,
        );
        let e = event_of(&text).unwrap();
        assert_eq!(e["annotations"]["authorization.k8s.io/decision"], "allow");
    }

    #[test]
    fn bodies_lose_their_type_url_and_set_the_level() {
        let mut text = entry(
            "io.k8s.core.v1.configmaps.create",
            "core/v1/namespaces/a/configmaps/c",
        );
        text = text.replacen(
            r#""status":{}"#,
            r#""status":{},"request":{"@type":"core.k8s.io/v1.ConfigMap","kind":"ConfigMap"},"response":{"@type":"core.k8s.io/v1.ConfigMap","kind":"ConfigMap","data":{"k":"v"}}"#,
            1,
        );
        let e = event_of(&text).unwrap();
        assert_eq!(e["level"], "RequestResponse");
        assert_eq!(e["requestObject"], serde_json::json!({"kind": "ConfigMap"}));
        assert_eq!(e["responseObject"]["data"]["k"], "v");
        assert!(e["responseObject"].get("@type").is_none());
    }

    #[test]
    fn the_entries_of_one_operation_are_the_stages_of_one_request() {
        let with_op = |first: bool, last: bool, time: &str| {
            let mut v: serde_json::Value = serde_json::from_str(&entry(
                "io.k8s.core.v1.pods.watch",
                "core/v1/namespaces/a/pods",
            ))
            .unwrap();
            v["operation"] = serde_json::json!({"id": "op-1", "producer": "k8s.io", "first": first, "last": last});
            v["timestamp"] = time.into();
            event_of(&v.to_string()).unwrap()
        };
        let started = with_op(true, false, "2026-01-01T00:00:00Z");
        let complete = with_op(false, true, "2026-01-01T00:05:00Z");
        assert_eq!(
            (&started["stage"], &complete["stage"]),
            (&"ResponseStarted".into(), &"ResponseComplete".into())
        );
        assert_eq!(started["auditID"], "op-1");
        assert_eq!(complete["auditID"], "op-1");
        // No receive time: it would differ between the two and split the request.
        assert!(started.get("requestReceivedTimestamp").is_none());
        assert_eq!(complete["stageTimestamp"], "2026-01-01T00:05:00Z");
        assert_eq!(
            with_op(true, true, "2026-01-01T00:00:00Z")["stage"],
            "ResponseComplete"
        );
    }

    #[test]
    fn entries_that_are_not_kubernetes_audit_are_rejected_with_the_reason() {
        let other_service = entry("io.k8s.core.v1.pods.get", "core/v1/pods").replace(
            r#""serviceName":"k8s.io""#,
            r#""serviceName":"container.googleapis.com""#,
        );
        let why = event_of(&other_service).unwrap_err().to_string();
        assert!(why.contains("container.googleapis.com"), "{why}");
        let other_type = entry("io.k8s.core.v1.pods.get", "core/v1/pods").replace(
            "google.cloud.audit.AuditLog",
            "google.cloud.bigquery.logging.v1.AuditData",
        );
        let why = event_of(&other_type).unwrap_err().to_string();
        assert!(why.contains("AuditData"), "{why}");
        let why = event_of(r#"{"protoPayload":{"serviceName":"k8s.io"}}"#)
            .unwrap_err()
            .to_string();
        assert!(why.contains("methodName"), "{why}");
    }

    #[test]
    fn hostile_types_are_rejections_not_panics() {
        let cases = [
            (r#"{"protoPayload":"x"}"#, "protoPayload"),
            (
                r#"{"protoPayload":{"methodName":7}}"#,
                "protoPayload.methodName",
            ),
            (
                r#"{"protoPayload":{"methodName":"io.k8s.core.v1.pods.get","status":{"code":"7"}}}"#,
                "protoPayload.status.code",
            ),
            (
                r#"{"protoPayload":{"methodName":"io.k8s.core.v1.pods.get","status":{"code":-1}}}"#,
                "protoPayload.status.code",
            ),
            (
                r#"{"protoPayload":{"methodName":"io.k8s.core.v1.pods.get","authenticationInfo":[]}}"#,
                "protoPayload.authenticationInfo",
            ),
            (
                r#"{"protoPayload":{"methodName":"io.k8s.core.v1.pods.get"},"operation":{"id":1}}"#,
                "operation.id",
            ),
        ];
        for (text, field) in cases {
            match event_of(text) {
                Err(Rejection::WrongType { field: f, .. }) => assert_eq!(f, field, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        // Odd but well-typed shapes are kept as far as they can be read.
        for name in [
            "",
            "/",
            "core",
            "core/v1",
            "core/v1/namespaces",
            "a/b/c/d/e/f/g/h",
        ] {
            let e = event_of(&entry("io.k8s.core.v1.pods.get", name)).unwrap();
            assert_eq!(e["verb"], "get", "{name}");
        }
    }
}
