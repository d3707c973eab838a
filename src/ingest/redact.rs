//! Redaction of secret values, applied to the parsed event before anything is indexed,
//! stored or printed (invariant 4: secret values never leave the parser).
//!
//! What counts as a secret value:
//! - `data` and `stringData` of every object of kind `Secret`, wherever it sits in a body
//!   (a Secret, a SecretList's items, a `Table` row's object, a `List`…);
//! - the `kubectl.kubernetes.io/last-applied-configuration` annotation of a Secret, which
//!   holds a full copy of the Secret as a JSON string;
//! - `data`/`stringData` of merge patches and the `value` of JSON-patch operations on
//!   `/data…` or `/stringData…`, when the request is on the `secrets` resource;
//! - bearer tokens: `status.token` of a TokenRequest, `spec.token` of a TokenReview.
//!
//! A value is replaced by `<redacted: N bytes>` (N the length of the value as logged), so
//! an investigator still sees which keys changed and roughly how big they were.

use std::borrow::Cow;

use simd_json::{BorrowedValue as Value, StaticNode};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The marker that replaces a secret value.
pub fn marker(len: usize) -> String {
    format!("<redacted: {len} bytes>")
}

/// Redacts the bodies of one audit event in place. `secrets_request` is true when the
/// request's objectRef.resource is `secrets` (patch bodies carry no `kind` to go by).
/// Returns true when anything was replaced.
pub fn redact_event(event: &mut Value<'_>, secrets_request: bool) -> bool {
    let Value::Object(obj) = event else {
        return false;
    };
    let mut changed = false;
    // Every copy of a repeated body key: `get_mut` finds only the first, and the
    // others would reach the index as logged (found by fuzzing).
    for body in ["requestObject", "responseObject"] {
        for v in each_mut(obj, body) {
            changed |= redact_body(v, secrets_request);
        }
    }
    changed
}

fn redact_body(body: &mut Value<'_>, secrets_request: bool) -> bool {
    let mut changed = false;
    if secrets_request {
        match body {
            // A JSON patch (RFC 6902): a list of operations.
            Value::Array(ops) => {
                for op in ops.iter_mut() {
                    changed |= redact_patch_op(op);
                }
            }
            // A Secret, or a merge/strategic/apply patch to one. Whatever `kind` a
            // client wrote, the body of a request on `secrets` is treated as a Secret.
            Value::Object(_) => changed |= redact_secret_object(body),
            _ => {}
        }
    }
    changed | redact_nested(body)
}

/// Every value stored under `key`. simd-json keeps the repeated keys of small objects,
/// and Go (the apiserver) honours the last of them, so every copy is handled alike.
fn each_mut<'v, 'a>(
    obj: &'v mut simd_json::borrowed::Object<'a>,
    key: &'static str,
) -> impl Iterator<Item = &'v mut Value<'a>> {
    obj.iter_mut()
        .filter(move |(k, _)| k.as_ref() == key)
        .map(|(_, v)| v)
}

/// True when any `kind` of the object is `kind`.
fn is_kind(v: &Value<'_>, kind: &str) -> bool {
    match v {
        Value::Object(obj) => obj
            .iter()
            .any(|(k, v)| k.as_ref() == "kind" && matches!(v, Value::String(s) if s == kind)),
        _ => false,
    }
}

/// Walks a body for objects that are Secrets or hold bearer tokens, and for
/// last-applied annotations that copy a Secret (metadata-only tables and lists carry
/// them too). Depth is bounded by the JSON parser's own nesting limit.
fn redact_nested(v: &mut Value<'_>) -> bool {
    let mut changed = false;
    if is_kind(v, "Secret") {
        changed |= redact_secret_object(v);
    }
    if is_kind(v, "TokenRequest") {
        changed |= redact_path(v, &["status", "token"]);
    }
    if is_kind(v, "TokenReview") {
        changed |= redact_path(v, &["spec", "token"]);
    }
    // List items carry no kind of their own.
    if is_kind(v, "SecretList")
        && let Value::Object(obj) = v
    {
        for items in each_mut(obj, "items") {
            if let Value::Array(items) = items {
                for item in items.iter_mut() {
                    changed |= redact_secret_object(item);
                }
            }
        }
    }
    if let Value::Object(obj) = v {
        changed |= redact_annotations(obj, false);
    }
    match v {
        Value::Object(obj) => {
            for (_, child) in obj.iter_mut() {
                changed |= redact_nested(child);
            }
        }
        Value::Array(items) => {
            for child in items.iter_mut() {
                changed |= redact_nested(child);
            }
        }
        _ => {}
    }
    changed
}

/// The last-applied annotations in an object's metadata: all of them (`always`, for a
/// Secret), or those whose JSON is a Secret.
fn redact_annotations(obj: &mut simd_json::borrowed::Object<'_>, always: bool) -> bool {
    let mut changed = false;
    for meta in each_mut(obj, "metadata") {
        if let Value::Object(meta) = meta {
            for annotations in each_mut(meta, "annotations") {
                if let Value::Object(annotations) = annotations {
                    for applied in each_mut(annotations, LAST_APPLIED) {
                        changed |= redact_last_applied(applied, always);
                    }
                }
            }
        }
    }
    changed
}

/// Replaces every value of `data` and `stringData`, and the last-applied annotation.
fn redact_secret_object(v: &mut Value<'_>) -> bool {
    let Value::Object(obj) = v else { return false };
    let mut changed = false;
    for (key, map) in obj.iter_mut() {
        if key == "data" || key == "stringData" {
            changed |= redact_values(map);
        }
    }
    changed | redact_annotations(obj, true)
}

/// Every value of a `data`-like map; a non-map value is replaced whole.
fn redact_values(map: &mut Value<'_>) -> bool {
    match map {
        Value::Object(entries) => {
            let mut changed = false;
            for (_, value) in entries.iter_mut() {
                changed |= redact_scalar(value);
            }
            changed
        }
        Value::Static(StaticNode::Null) => false,
        other => redact_scalar(other),
    }
}

fn redact_scalar(value: &mut Value<'_>) -> bool {
    let len = match &*value {
        Value::String(s) if is_marker(s) => return false,
        Value::String(s) => s.len(),
        Value::Static(StaticNode::Null) => return false,
        Value::Static(_) => 0,
        other => other.encode_len(),
    };
    *value = Value::String(Cow::Owned(marker(len)));
    true
}

fn is_marker(s: &str) -> bool {
    s.starts_with("<redacted: ") && s.ends_with(" bytes>")
}

/// The annotation is a JSON string holding the whole object as kubectl applied it.
/// Redacted when `always` (the object is a Secret) or when that JSON is a Secret; text
/// that is not JSON is replaced whole in the first case. It is read the way the event
/// is (simd-json): every copy of a repeated `kind`, `data` or `stringData` counts, and
/// nesting up to the same limit. serde_json kept only the last copy of a key and gave
/// up past 128 levels, which let a copy of a Secret through unredacted.
fn redact_last_applied(applied: &mut Value<'_>, always: bool) -> bool {
    let Value::String(text) = applied else {
        return always && redact_scalar(applied);
    };
    let mut bytes = text.as_bytes().to_vec();
    let Ok(mut inner) = simd_json::to_borrowed_value(&mut bytes) else {
        return always && redact_scalar(applied);
    };
    if !(always || is_kind(&inner, "Secret")) {
        return false;
    }
    let Value::Object(obj) = &mut inner else {
        return false;
    };
    let mut changed = false;
    for (key, map) in obj.iter_mut() {
        if key == "data" || key == "stringData" {
            changed |= redact_values(map);
        }
    }
    if changed {
        *applied = Value::String(Cow::Owned(simd_json::prelude::Writable::encode(&inner)));
    }
    changed
}

/// One JSON-patch operation on a Secret: `{"op":"add","path":"/data/key","value":"…"}`.
/// Every `path` and every `value` of the operation counts (repeated keys).
fn redact_patch_op(op: &mut Value<'_>) -> bool {
    let Value::Object(obj) = op else { return false };
    let paths: Vec<String> = obj
        .iter()
        .filter(|(k, _)| k.as_ref() == "path")
        .filter_map(|(_, v)| match v {
            Value::String(p) => Some(p.to_string()),
            _ => None,
        })
        .collect();
    let mut changed = false;
    for path in &paths {
        for value in each_mut(obj, "value") {
            changed |= if path == "/data" || path == "/stringData" {
                redact_values(value)
            } else if path.starts_with("/data/") || path.starts_with("/stringData/") {
                redact_scalar(value)
            } else if path == "/metadata/annotations" {
                match value {
                    Value::Object(a) => {
                        let mut c = false;
                        for applied in each_mut(a, LAST_APPLIED) {
                            c |= redact_last_applied(applied, true);
                        }
                        c
                    }
                    _ => false,
                }
            } else if path.starts_with("/metadata/annotations/kubectl.kubernetes.io~1last-applied")
            {
                redact_last_applied(value, true)
            } else if path.is_empty() || path == "/" {
                redact_secret_object(value)
            } else {
                false
            };
        }
    }
    changed
}

fn redact_path(v: &mut Value<'_>, path: &[&str]) -> bool {
    let mut cur = v;
    for key in path {
        match cur {
            Value::Object(obj) => match obj.get_mut(*key) {
                Some(next) => cur = next,
                None => return false,
            },
            _ => return false,
        }
    }
    redact_scalar(cur)
}

trait EncodeLen {
    fn encode_len(&self) -> usize;
}

impl EncodeLen for Value<'_> {
    fn encode_len(&self) -> usize {
        simd_json::prelude::Writable::encode(self).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(json: &str, secrets: bool) -> String {
        let mut bytes = json.as_bytes().to_vec();
        let mut v = simd_json::to_borrowed_value(&mut bytes).unwrap();
        redact_event(&mut v, secrets);
        simd_json::prelude::Writable::encode(&v)
    }

    #[test]
    fn secret_bodies_lose_their_values_but_keep_keys_and_lengths() {
        let out = redacted(
            r#"{"requestObject":{"kind":"Secret","data":{"password":"c2VjcmV0"},"stringData":{"token":"abc"}}}"#,
            true,
        );
        assert!(out.contains(r#""password":"<redacted: 8 bytes>""#), "{out}");
        assert!(out.contains(r#""token":"<redacted: 3 bytes>""#), "{out}");
        assert!(!out.contains("c2VjcmV0"));
    }

    #[test]
    fn secret_lists_tables_and_last_applied() {
        // List items carry no kind; the annotation holds the Secret again as a string.
        let out = redacted(
            r#"{"responseObject":{"kind":"SecretList","items":[{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"k\":\"U0VDUkVU\"},\"kind\":\"Secret\"}"}},"data":{"k":"U0VDUkVU"}}]}}"#,
            false,
        );
        assert!(!out.contains("U0VDUkVU"), "{out}");
        assert!(out.contains("redacted: 8 bytes"), "{out}");
        let table = redacted(
            r#"{"responseObject":{"kind":"Table","rows":[{"object":{"kind":"Secret","data":{"k":"U0VDUkVU"}}}]}}"#,
            false,
        );
        assert!(!table.contains("U0VDUkVU"), "{table}");
    }

    #[test]
    fn patches_to_secrets() {
        let merge = redacted(r#"{"requestObject":{"data":{"password":"bmV3"}}}"#, true);
        assert!(!merge.contains("bmV3"), "{merge}");
        let json_patch = redacted(
            r#"{"requestObject":[{"op":"replace","path":"/data/password","value":"bmV3"},{"op":"add","path":"/data","value":{"a":"eHl6"}}]}"#,
            true,
        );
        assert!(
            !json_patch.contains("bmV3") && !json_patch.contains("eHl6"),
            "{json_patch}"
        );
        // The same merge patch on a ConfigMap is left alone.
        let cm = redacted(r#"{"requestObject":{"data":{"k":"v"}}}"#, false);
        assert!(cm.contains(r#""k":"v""#));
    }

    #[test]
    fn repeated_keys_and_a_client_kind_do_not_hide_values() {
        let merge = redacted(
            r#"{"requestObject":{"data":null,"data":{"p":"UkVBTA=="}}}"#,
            true,
        );
        assert!(!merge.contains("UkVBTA=="), "{merge}");
        let twice =
            redact_twice(r#"{"requestObject":{"data":{"p":"eA=="},"data":{"p":"UkVBTA=="}}}"#);
        assert!(
            !twice.contains("UkVBTA==") && !twice.contains("eA=="),
            "{twice}"
        );
        let kind = redacted(
            r#"{"requestObject":{"kind":"x","data":{"p":"UkVBTA=="}}}"#,
            true,
        );
        assert!(!kind.contains("UkVBTA=="), "{kind}");
        let op = redacted(
            r#"{"requestObject":[{"path":"/spec","path":"/data/p","value":"UkVBTA=="}]}"#,
            true,
        );
        assert!(!op.contains("UkVBTA=="), "{op}");
    }

    #[test]
    fn a_repeated_body_key_is_redacted_in_every_copy() {
        let out = redacted(
            r#"{"responseObject":"","responseObject":{"kind":"Secret","data":{"k":"UkVBTA=="}}}"#,
            false,
        );
        assert!(!out.contains("UkVBTA=="), "{out}");
    }

    #[test]
    fn last_applied_copies_with_repeated_keys_or_deep_nesting() {
        // Each was kept as logged while the annotation was read with serde_json.
        let annotated = |kind: &str, applied: &str| {
            let applied = serde_json::to_string(applied).unwrap();
            format!(
                r#"{{"responseObject":{{"kind":"{kind}","metadata":{{"annotations":{{"{LAST_APPLIED}":{applied}}}}}}}}}"#
            )
        };
        let deep = format!(
            r#"{{"kind":"Secret","data":{{"k":"U0VDUkVU"}},"x":{}{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        for event in [
            annotated("Secret", r#"{"data":{"k":"U0VDUkVU"},"data":null}"#),
            annotated(
                "Table",
                r#"{"kind":"Secret","data":{"k":"U0VDUkVU"},"kind":"x"}"#,
            ),
            annotated("PartialObjectMetadata", &deep),
        ] {
            let out = redacted(&event, false);
            assert!(!out.contains("U0VDUkVU"), "{out}");
        }
    }

    fn redact_twice(json: &str) -> String {
        redacted(json, true)
    }

    #[test]
    fn last_applied_secrets_in_metadata_only_tables() {
        let table = redacted(
            r#"{"responseObject":{"kind":"Table","rows":[{"object":{"kind":"PartialObjectMetadata","metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"k\":\"U0VDUkVU\"},\"kind\":\"Secret\"}"}}}}]}}"#,
            false,
        );
        assert!(!table.contains("U0VDUkVU"), "{table}");
        // A ConfigMap's last-applied copy is not a secret.
        let cm = redacted(
            r#"{"responseObject":{"kind":"ConfigMap","metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"k\":\"plain\"},\"kind\":\"ConfigMap\"}"}}}}"#,
            false,
        );
        assert!(cm.contains("plain"), "{cm}");
    }

    #[test]
    fn tokens() {
        let out = redacted(
            r#"{"responseObject":{"kind":"TokenRequest","status":{"token":"eyJhbGciOi"}},"requestObject":{"kind":"TokenReview","spec":{"token":"eyJzZWNy"}}}"#,
            false,
        );
        assert!(
            !out.contains("eyJhbGciOi") && !out.contains("eyJzZWNy"),
            "{out}"
        );
    }
}
