//! What changed between two writes of one object, for the TUI's object history and the
//! revisions of `report immutability`: which body an audit event carries (`body_of`), a
//! structural diff of two whole objects (`changes`), what a patch document sets
//! (`patch_summary`), and the successive writes of one object told in time order
//! (`History`). Plain data in, lines out; no terminal.
//!
//! Values were redacted at ingest (`<redacted: N bytes>`) and are shown exactly as they
//! are, so a secret rotated to a value of the same length shows no change: both sides
//! read the same marker. Keys and values are attacker-controlled text; the view passes
//! them through `sanitize::for_terminal` like everything else it draws.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use ChangeKind::{Added, Changed, Removed};

use crate::sanitize::clip;

/// Longest rendering of one value, in characters, ellipsis included.
const MAX_VALUE: usize = 120;

/// Paths `changes` skips because they change on (nearly) every write without saying what
/// the writer did: the API server bumps `resourceVersion` and `generation`, and rewrites
/// `managedFields` (with timestamps) on each write. `status` is written by controllers
/// through the status subresource, whose writes are separate entries of the history.
const IGNORED_PATHS: &[&str] = &[
    "metadata.resourceVersion",
    "metadata.generation",
    "metadata.managedFields",
    "status",
];

/// What an event's body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// A whole object: the object as stored, or the body of a create or update.
    Object,
    /// A patch document (merge, strategic merge, apply or JSON Patch): only what was sent.
    Patch,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Body<'a> {
    pub kind: BodyKind,
    pub value: &'a Value,
}

/// The body an audit event carries, or None when it logged none (level Metadata).
pub fn body_of(event: &Value) -> Option<Body<'_>> {
    // The response is the object as stored after the write; a Status is only an outcome.
    let stored = event
        .get("responseObject")
        .filter(|response| is_stored_object(response));
    if let Some(value) = stored {
        return Some(Body {
            kind: BodyKind::Object,
            value,
        });
    }
    // A salvaged line's unreadable body is a marker string, not the object.
    let value = event
        .get("requestObject")
        .filter(|request| request.is_object() || request.is_array())?;
    let kind = match event.get("verb").and_then(Value::as_str) {
        // The request body of a delete is DeleteOptions, not the object.
        Some("delete" | "deletecollection") => return None,
        Some("patch") => BodyKind::Patch,
        _ => BodyKind::Object,
    };
    Some(Body { kind, value })
}

/// Whether a response body is the object as stored (not a Status, the outcome only).
pub fn is_stored_object(response: &Value) -> bool {
    response.is_object() && response.get("kind").and_then(Value::as_str) != Some("Status")
}

/// What the history says of a write in which `body_of` found no body to show: why, and
/// never "no body logged" when one was. A salvaged line's body could not be read; and
/// the history diffs with serde_json, which stops at 128 levels where ingest reads 1024.
pub fn missing_body(event: &str) -> String {
    use simd_json::prelude::{ValueAsScalar, ValueObjectAccess};
    let mut buf = Vec::new();
    let Some(value) = crate::model::normalize::parse_stored(event.as_bytes(), &mut buf) else {
        return "stored event unreadable: rebuild the index".into();
    };
    let present = |key| value.get(key).is_some_and(|v| v.as_null().is_none());
    let logged = present("requestObject") || present("responseObject");
    let salvaged = value
        .get(crate::model::SALVAGED_KEY)
        .and_then(|v| v.as_str());
    match (salvaged, logged) {
        (Some(reason), _) => format!("body could not be read (salvaged: {reason})"),
        (None, false) => "no body logged (audit level Metadata)".into(),
        (None, true) if serde_json::from_str::<Value>(event).is_err() => {
            "body logged, nested too deep to compare (over 128 levels)".into()
        }
        (None, true) => "body logged, but not the object (a Status or options)".into(),
    }
}

/// The writes of one object, told one by one in time order: what each changed. A whole
/// body is compared with the last whole body of the same kind (a Scale or an Eviction is
/// not the object); a refused write changed nothing and is not a baseline; a patch
/// logged without its result is shown as the paths it sets.
#[derive(Debug, Default)]
pub struct History {
    last_of_kind: HashMap<String, Value>,
}

impl History {
    /// What the write `event` (its `verb` and bodies; the next write in time) changed,
    /// taken by value so that its body becomes the next baseline without a copy;
    /// one line per change. `code` is its response code; `missing` says why a write
    /// that is not a delete shows no body (`missing_body` of the stored event).
    pub fn next(
        &mut self,
        mut event: Value,
        code: Option<u64>,
        missing: impl FnOnce() -> String,
    ) -> Vec<String> {
        let refused = code.filter(|&c| c >= 400);
        let Some(body) = body_of(&event) else {
            let deleted = event.get("verb").and_then(Value::as_str) == Some("delete");
            return vec![if deleted && refused.is_none() {
                "deleted".into()
            } else {
                missing()
            }];
        };
        let kind = body.value["kind"].as_str().unwrap_or_default().to_string();
        let mut lines: Vec<String> = match (body.kind, self.last_of_kind.get(&kind)) {
            (BodyKind::Patch, _) => patch_summary(body.value)
                .iter()
                .map(|c| format!("patch {c}"))
                .collect(),
            (BodyKind::Object, Some(before)) => {
                let changes = changes(before, body.value);
                if changes.is_empty() {
                    vec!["no change outside status and bookkeeping fields".into()]
                } else {
                    changes.iter().map(ToString::to_string).collect()
                }
            }
            (BodyKind::Object, None) => vec![format!(
                "first {} body seen",
                if kind.is_empty() { "object" } else { &kind }
            )],
        };
        let baseline = matches!(body.kind, BodyKind::Object);
        if let Some(code) = refused {
            lines.insert(
                0,
                format!("refused ({code}), nothing changed; it asked for:"),
            );
        } else if baseline {
            // The body `body_of` read, moved out of the event rather than copied.
            let key = match event.get("responseObject") {
                Some(response) if is_stored_object(response) => "responseObject",
                _ => "requestObject",
            };
            if let Some(body) = event.as_object_mut().and_then(|e| e.remove(key)) {
                self.last_of_kind.insert(kind, body);
            }
        }
        lines
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One changed path. Values are rendered as compact JSON (strings quoted), clipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Like `spec.containers[0].image` or `metadata.labels["app.kubernetes.io/name"]`.
    pub path: String,
    pub kind: ChangeKind,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl Change {
    fn new(path: &str, kind: ChangeKind, before: Option<&Value>, after: Option<&Value>) -> Self {
        Change {
            // Only a body that is not an object changes at the root.
            path: if path.is_empty() { "." } else { path }.to_string(),
            kind,
            before: before.map(render),
            after: after.map(render),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.kind {
            Added => '+',
            Removed => '-',
            Changed => '~',
        };
        write!(f, "{sign} {}", self.path)?;
        match (&self.before, &self.after) {
            (Some(before), Some(after)) => write!(f, ": {before} → {after}"),
            (Some(value), None) | (None, Some(value)) => write!(f, ": {value}"),
            (None, None) => Ok(()),
        }
    }
}

/// The structural diff of two whole objects: objects by key, arrays by index. Ordered as
/// `after` reads, each object's removed keys after its other keys, so it is stable.
pub fn changes(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    diff_values(&mut String::new(), before, after, &mut out);
    out
}

/// `path` is where `before` and `after` are, grown and cut back as the walk goes down
/// and up, so that a path is only copied for a change (most keys of two writes of one
/// object are equal).
fn diff_values(path: &mut String, before: &Value, after: &Value, out: &mut Vec<Change>) {
    match (before, after) {
        (Value::Object(before), Value::Object(after)) => diff_objects(path, before, after, out),
        (Value::Array(before), Value::Array(after)) => diff_arrays(path, before, after, out),
        _ if before != after => {
            out.push(Change::new(path, Changed, Some(before), Some(after)));
        }
        _ => {}
    }
}

fn diff_objects(
    path: &mut String,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    out: &mut Vec<Change>,
) {
    let parent = path.len();
    for (key, new) in after {
        push_key(path, key);
        if !IGNORED_PATHS.contains(&path.as_str()) {
            match before.get(key) {
                Some(old) => diff_values(path, old, new, out),
                None => out.push(Change::new(path, Added, None, Some(new))),
            }
        }
        path.truncate(parent);
    }
    for (key, old) in before.iter().filter(|(key, _)| !after.contains_key(*key)) {
        push_key(path, key);
        if !IGNORED_PATHS.contains(&path.as_str()) {
            out.push(Change::new(path, Removed, Some(old), None));
        }
        path.truncate(parent);
    }
}

/// By index, not by name: predictable, and a reordered list reads as what it is.
fn diff_arrays(path: &mut String, before: &[Value], after: &[Value], out: &mut Vec<Change>) {
    use std::fmt::Write;
    let parent = path.len();
    for index in 0..before.len().max(after.len()) {
        let _ = write!(path, "[{index}]");
        match (before.get(index), after.get(index)) {
            (Some(old), Some(new)) => diff_values(path, old, new, out),
            (None, new) => out.push(Change::new(path, Added, None, new)),
            (old, None) => out.push(Change::new(path, Removed, old, None)),
        }
        path.truncate(parent);
    }
}

/// What a patch document writes. A JSON Patch (an array of operations) gives one change per
/// operation except `test`, which writes nothing. Anything else is read as a merge patch:
/// each value it sets, and each `null` (which deletes). Strategic-merge directives
/// (`$patch`, `$setElementOrder/…`, `$retainKeys`) are listed as the keys they are.
pub fn patch_summary(patch: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    match patch {
        Value::Array(operations) => out.extend(operations.iter().filter_map(json_patch_change)),
        _ => merge_patch_changes("", patch, &mut out),
    }
    out
}

fn merge_patch_changes(path: &str, value: &Value, out: &mut Vec<Change>) {
    match value {
        // An empty object still creates the field, so it is listed as a value.
        Value::Object(fields) if !fields.is_empty() => {
            for (key, value) in fields {
                merge_patch_changes(&key_path(path, key), value, out);
            }
        }
        Value::Null => out.push(Change::new(path, Removed, None, None)),
        _ => out.push(Change::new(path, Changed, None, Some(value))),
    }
}

fn json_patch_change(operation: &Value) -> Option<Change> {
    let field = |name| operation.get(name).and_then(Value::as_str);
    let path = pointer_path(field("path").unwrap_or_default());
    let value = operation.get("value");
    let change = match field("op") {
        Some("test") => return None,
        Some("add") => Change::new(&path, Added, None, value),
        Some("replace") => Change::new(&path, Changed, None, value),
        Some("remove") => Change::new(&path, Removed, None, None),
        Some(op @ ("move" | "copy")) => {
            let from = pointer_path(field("from").unwrap_or_default());
            let mut change = Change::new(&path, Added, None, None);
            change.after = Some(format!("({op} from {from})"));
            change
        }
        // The API server rejects it, but the request was logged: show the operation whole.
        _ => Change::new(&path, Changed, None, Some(operation)),
    };
    Some(change)
}

/// A JSON Pointer (`/metadata/labels/app.kubernetes.io~1name`) in dotted form. Numeric
/// tokens and `-` (append) are read as array indices.
fn pointer_path(pointer: &str) -> String {
    if pointer.is_empty() {
        return String::new(); // the whole document
    }
    let Some(tokens) = pointer.strip_prefix('/') else {
        return key_path("", pointer); // not a pointer: shown as the one key it reads as
    };
    tokens.split('/').fold(String::new(), |path, token| {
        let key = token.replace("~1", "/").replace("~0", "~");
        if key == "-" || (!key.is_empty() && key.bytes().all(|b| b.is_ascii_digit())) {
            format!("{path}[{key}]")
        } else {
            key_path(&path, &key)
        }
    })
}

/// `key_path` in place: `path` grown by `.key` or `["key"]`.
fn push_key(path: &mut String, key: &str) {
    if is_identifier(key) {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::from(key).to_string());
        path.push(']');
    }
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `parent.key`, or `parent["key"]` (JSON-quoted) when the key is not identifier-like.
fn key_path(parent: &str, key: &str) -> String {
    let mut path = parent.to_string();
    push_key(&mut path, key);
    path
}

fn render(value: &Value) -> String {
    clip(&value.to_string(), MAX_VALUE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lines(changes: Vec<Change>) -> Vec<String> {
        changes.iter().map(Change::to_string).collect()
    }

    fn pod(container: Value) -> Value {
        json!({"kind": "Pod", "metadata": {"name": "web", "resourceVersion": "1"},
               "spec": {"containers": [container]}})
    }

    #[test]
    fn pod_created_then_patched_to_privileged() {
        let created = pod(json!({"name": "app", "image": "nginx:1.27"}));
        let mut patched = pod(json!({"name": "app", "image": "nginx:1.27",
                                     "securityContext": {"privileged": true}}));
        patched["metadata"]["resourceVersion"] = json!("2");
        let event =
            json!({"verb": "patch", "requestObject": {"spec": {}}, "responseObject": patched});
        let body = body_of(&event).unwrap();
        assert_eq!(body.kind, BodyKind::Object); // the stored object, not the patch
        assert_eq!(
            lines(changes(&created, body.value)),
            [r#"+ spec.containers[0].securityContext: {"privileged":true}"#]
        );
    }

    #[test]
    fn deployment_scaled_ignores_noise() {
        let before = json!({"metadata": {"name": "api", "generation": 1, "resourceVersion": "10",
                                         "managedFields": [{"manager": "kubectl"}]},
                            "spec": {"replicas": 1}, "status": {"replicas": 1}});
        let after = json!({"metadata": {"name": "api", "generation": 2, "resourceVersion": "11",
                                        "managedFields": [{"manager": "kubectl-scale"}],
                                        "labels": {"status": "scaled"}},
                           "spec": {"replicas": 3}, "status": {"replicas": 3, "ready": 1}});
        // Only the paths on the list are skipped: a label named `status` is not `status`.
        assert_eq!(
            lines(changes(&before, &after)),
            [
                r#"+ metadata.labels: {"status":"scaled"}"#,
                "~ spec.replicas: 1 → 3"
            ]
        );
    }

    #[test]
    fn dotted_label_keys_are_quoted_and_removed_keys_come_last() {
        let before = json!({"metadata": {"labels": {"old": "x", "app.kubernetes.io/name": "web"}}});
        let after = json!({"metadata": {"labels": {"app.kubernetes.io/name": "api", "team": "x"}}});
        assert_eq!(
            lines(changes(&before, &after)),
            [
                r#"~ metadata.labels["app.kubernetes.io/name"]: "web" → "api""#,
                r#"+ metadata.labels.team: "x""#,
                r#"- metadata.labels.old: "x""#,
            ]
        );
    }

    #[test]
    fn arrays_grow_and_shrink_by_index() {
        let before = json!({"args": ["a", "b"], "ports": [80, 443, 8080]});
        let after = json!({"args": ["a", "c", "d"], "ports": [80]});
        assert_eq!(
            lines(changes(&before, &after)),
            [
                r#"~ args[1]: "b" → "c""#,
                r#"+ args[2]: "d""#,
                "- ports[1]: 443",
                "- ports[2]: 8080",
            ]
        );
    }

    #[test]
    fn identical_bodies_have_no_changes() {
        let body = pod(json!({"name": "app", "image": "nginx"}));
        assert_eq!(changes(&body, &body.clone()), []);
    }

    #[test]
    fn type_changes_and_long_values() {
        let long = "x".repeat(200);
        let change = &changes(&json!({"a": {"b": 1}}), &json!({"a": long}))[0];
        assert_eq!(change.before.as_deref(), Some(r#"{"b":1}"#));
        let after = change.after.as_deref().unwrap();
        assert_eq!(after.chars().count(), MAX_VALUE);
        assert!(after.ends_with('…'), "{after}");
    }

    #[test]
    fn redacted_secret_values_are_shown_as_they_are() {
        let before = json!({"kind": "Secret", "data": {"password": "<redacted: 8 bytes>"}});
        let after = json!({"kind": "Secret", "data": {"password": "<redacted: 12 bytes>"}});
        assert_eq!(
            changes(&before, &after),
            [Change {
                path: "data.password".into(),
                kind: Changed,
                before: Some(r#""<redacted: 8 bytes>""#.into()),
                after: Some(r#""<redacted: 12 bytes>""#.into()),
            }]
        );
    }

    #[test]
    fn merge_patch_sets_and_nulls() {
        let patch = json!({
            "metadata": {"labels": {"app.kubernetes.io/name": "web", "tier": null}, "annotations": {}},
            "spec": {"$setElementOrder/containers": [{"name": "app"}],
                     "containers": [{"name": "app", "$patch": "delete"}], "replicas": 2},
        });
        assert_eq!(
            lines(patch_summary(&patch)),
            [
                r#"~ metadata.labels["app.kubernetes.io/name"]: "web""#,
                "- metadata.labels.tier",
                "~ metadata.annotations: {}",
                r#"~ spec["$setElementOrder/containers"]: [{"name":"app"}]"#,
                r#"~ spec.containers: [{"name":"app","$patch":"delete"}]"#,
                "~ spec.replicas: 2",
            ]
        );
    }

    #[test]
    fn json_patch_gives_one_change_per_operation() {
        let patch = json!([
            {"op": "test", "path": "/spec/replicas", "value": 1},
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "web"},
            {"op": "add", "path": "/spec/containers/0/args/-", "value": "--debug"},
            {"op": "remove", "path": "/spec/hostNetwork"},
            {"op": "move", "path": "/metadata/labels/b", "from": "/metadata/labels/a~0b"},
            {"op": "bogus", "path": "/x"},
        ]);
        assert_eq!(
            lines(patch_summary(&patch)),
            [
                "~ spec.replicas: 3",
                r#"+ metadata.labels["app.kubernetes.io/name"]: "web""#,
                r#"+ spec.containers[0].args[-]: "--debug""#,
                "- spec.hostNetwork",
                r#"+ metadata.labels.b: (move from metadata.labels["a~b"])"#,
                r#"~ x: {"op":"bogus","path":"/x"}"#,
            ]
        );
    }

    #[test]
    fn delete_options_are_not_a_body() {
        let options = json!({"kind": "DeleteOptions", "propagationPolicy": "Background"});
        let delete = json!({"verb": "delete", "requestObject": options});
        assert_eq!(body_of(&delete), None);
        let with_object = json!({"verb": "delete", "requestObject": options,
                                 "responseObject": {"kind": "Pod", "metadata": {"name": "web"}}});
        assert_eq!(body_of(&with_object).unwrap().value["kind"], "Pod");
    }

    #[test]
    fn status_response_is_not_a_body() {
        let status = json!({"kind": "Status", "status": "Failure", "code": 422});
        let patch = json!({"verb": "patch", "requestObject": {"spec": {"replicas": 3}},
                           "responseObject": status});
        let body = body_of(&patch).unwrap();
        assert_eq!(
            (body.kind, &body.value["spec"]["replicas"]),
            (BodyKind::Patch, &json!(3))
        );
        let deleted = json!({"verb": "delete", "responseObject": status});
        assert_eq!(body_of(&deleted), None);
        let update = json!({"verb": "update", "requestObject": {"kind": "Pod"}});
        assert_eq!(body_of(&update).unwrap().kind, BodyKind::Object);
        assert_eq!(
            body_of(&json!({"verb": "update", "level": "Metadata"})),
            None
        );
    }

    #[test]
    fn a_logged_body_is_never_called_missing() {
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        let cases = [
            (
                json!({"level": "Metadata", "verb": "create"}),
                "no body logged (audit level Metadata)",
            ),
            (
                json!({"verb": "create", "requestObject": {"kind": "Pod"}, "annotations": {"x": deep}}),
                "body logged, nested too deep to compare (over 128 levels)",
            ),
            (
                json!({"verb": "create", "requestObject": "<unreadable: 9 bytes>",
                       "kaudit.salvaged": "too-deep"}),
                "body could not be read (salvaged: too-deep)",
            ),
            (
                json!({"verb": "create", "responseObject": {"kind": "Status"}}),
                "body logged, but not the object (a Status or options)",
            ),
        ];
        for (event, said) in cases {
            let text = event.to_string();
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                assert_eq!(body_of(&value), None, "{text}");
            }
            assert_eq!(missing_body(&text), said);
        }
    }

    #[test]
    fn display_of_each_kind() {
        let removed = Change::new("spec.hostNetwork", Removed, Some(&json!(true)), None);
        assert_eq!(removed.to_string(), "- spec.hostNetwork: true");
        let root = Change::new("", Changed, Some(&json!(1)), Some(&json!("a")));
        assert_eq!(root.to_string(), r#"~ .: 1 → "a""#);
    }
}
