//! What redaction promises, stated apart from `ingest::redact` and checked on the JSON
//! kaudit keeps: no value of a Secret's `data`/`stringData`, of its last-applied copy,
//! of a patch to a Secret, or of a bearer token is left as it was logged.
//!
//! Stricter than the redactor where that is cheap: every copy of a repeated key counts
//! at every level (simd-json keeps them, and they reach the index), including the event's
//! own `requestObject`/`responseObject`.

use simd_json::{BorrowedValue as Value, StaticNode};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A description of the first secret value left in `event`, if any. `secrets_request`
/// is whether the request is on the `secrets` resource (patch bodies carry no kind).
pub fn unredacted(event: &Value<'_>, secrets_request: bool) -> Option<String> {
    let mut check = Check { found: None };
    for (key, body) in entries(event) {
        if key == "requestObject" || key == "responseObject" {
            check.body(body, secrets_request);
        }
    }
    check.found
}

fn entries<'v, 'a>(v: &'v Value<'a>) -> impl Iterator<Item = (&'v str, &'v Value<'a>)> {
    let obj = match v {
        Value::Object(obj) => Some(obj),
        _ => None,
    };
    obj.into_iter()
        .flat_map(|obj| obj.iter().map(|(k, v)| (k.as_ref(), v)))
}

/// Every value stored under `key`, repeated keys included.
fn all<'v, 'a>(v: &'v Value<'a>, key: &'static str) -> impl Iterator<Item = &'v Value<'a>> {
    entries(v).filter(move |(k, _)| *k == key).map(|(_, v)| v)
}

fn has_kind(v: &Value<'_>, kind: &str) -> bool {
    all(v, "kind").any(|k| matches!(k, Value::String(s) if s == kind))
}

fn is_marker(s: &str) -> bool {
    s.starts_with("<redacted: ") && s.ends_with(" bytes>")
}

struct Check {
    found: Option<String>,
}

impl Check {
    fn fail(&mut self, what: &str, value: &Value<'_>) {
        if self.found.is_none() {
            let shown = simd_json::prelude::Writable::encode(value);
            let shown: String = shown.chars().take(80).collect();
            self.found = Some(format!("{what}: {shown}"));
        }
    }

    /// A redacted scalar: a marker, or null (nothing to hide).
    fn scalar(&mut self, what: &str, v: &Value<'_>) {
        match v {
            Value::Static(StaticNode::Null) => {}
            Value::String(s) if is_marker(s) => {}
            other => self.fail(what, other),
        }
    }

    /// A `data`-like map: every value redacted; a non-map value redacted whole.
    fn values(&mut self, what: &str, v: &Value<'_>) {
        match v {
            Value::Object(map) => map.iter().for_each(|(_, value)| self.scalar(what, value)),
            other => self.scalar(what, other),
        }
    }

    fn body(&mut self, body: &Value<'_>, secrets_request: bool) {
        if secrets_request {
            match body {
                Value::Array(ops) => ops.iter().for_each(|op| self.patch_op(op)),
                Value::Object(_) => self.secret(body),
                _ => {}
            }
        }
        self.nested(body);
    }

    fn nested(&mut self, v: &Value<'_>) {
        if self.found.is_some() {
            return;
        }
        if has_kind(v, "Secret") {
            self.secret(v);
        }
        if has_kind(v, "SecretList") {
            for items in all(v, "items") {
                if let Value::Array(items) = items {
                    items.iter().for_each(|item| self.secret(item));
                }
            }
        }
        for (kind, outer, field) in [
            ("TokenRequest", "status", "token"),
            ("TokenReview", "spec", "token"),
        ] {
            if has_kind(v, kind) {
                for token in all(v, outer).flat_map(|o| all(o, field)) {
                    self.scalar("bearer token", token);
                }
            }
        }
        for applied in last_applied(v) {
            self.last_applied(applied, false);
        }
        match v {
            Value::Object(obj) => obj.iter().for_each(|(_, child)| self.nested(child)),
            Value::Array(items) => items.iter().for_each(|child| self.nested(child)),
            _ => {}
        }
    }

    /// A Secret, or a merge patch to one.
    fn secret(&mut self, v: &Value<'_>) {
        for (key, map) in entries(v) {
            if key == "data" || key == "stringData" {
                self.values("Secret data", map);
            }
        }
        for applied in last_applied(v) {
            self.last_applied(applied, true);
        }
    }

    /// The annotation holding an object as kubectl applied it, as a JSON string: checked
    /// when the object is a Secret (`always`) or the JSON is one. A string that is not
    /// JSON must then be a marker; JSON that is not an object is not a copy of a Secret.
    fn last_applied(&mut self, applied: &Value<'_>, always: bool) {
        let text = match applied {
            Value::String(text) if !is_marker(text) => text,
            Value::String(_) => return,
            other if always => return self.scalar("last-applied of a Secret", other),
            _ => return,
        };
        let mut bytes = text.as_bytes().to_vec();
        let Ok(inner) = simd_json::to_borrowed_value(&mut bytes) else {
            if always {
                self.scalar("last-applied of a Secret", applied);
            }
            return;
        };
        if always || has_kind(&inner, "Secret") {
            for (key, map) in entries(&inner) {
                if key == "data" || key == "stringData" {
                    self.values("Secret data in last-applied", map);
                }
            }
        }
    }

    /// One JSON-patch operation of a request on `secrets`.
    fn patch_op(&mut self, op: &Value<'_>) {
        for path in all(op, "path") {
            let Value::String(path) = path else { continue };
            for value in all(op, "value") {
                match &**path {
                    "/data" | "/stringData" => self.values("patched Secret data", value),
                    p if p.starts_with("/data/") || p.starts_with("/stringData/") => {
                        self.scalar("patched Secret value", value);
                    }
                    "/metadata/annotations" => {
                        for applied in all(value, LAST_APPLIED) {
                            self.last_applied(applied, true);
                        }
                    }
                    p if p.starts_with(
                        "/metadata/annotations/kubectl.kubernetes.io~1last-applied",
                    ) =>
                    {
                        self.last_applied(value, true);
                    }
                    "" | "/" => self.secret(value),
                    _ => {}
                }
            }
        }
    }
}

/// Every last-applied annotation of an object (every copy of each key on the way).
fn last_applied<'v, 'a>(v: &'v Value<'a>) -> impl Iterator<Item = &'v Value<'a>> {
    all(v, "metadata")
        .flat_map(|meta| all(meta, "annotations"))
        .flat_map(|annotations| all(annotations, LAST_APPLIED))
}
