//! What redaction promises, stated apart from `ingest::redact` and checked on the JSON
//! kaudit keeps: no value of a Secret's `data`/`stringData`, of a copy of a Secret in an
//! annotation (any key, JSON or text another parser may read), of a patch to a Secret
//! (its body or a mutating webhook's patch in the event annotations), of a body logged as
//! a string, or of a bearer token is left as it was logged.
//!
//! Stricter than the redactor where that is cheap: every copy of a repeated key counts
//! at every level (simd-json keeps them, and they reach the index), including the event's
//! own `requestObject`/`responseObject`/`objectRef`/`annotations`; keys are matched with
//! Unicode lower-casing (Go's encoding/json folds case); every string that parses as JSON
//! is read, however deep, with no limit on strings inside strings.

use simd_json::{BorrowedValue as Value, StaticNode};

use crate::model::percent_decode;

/// A description of the first secret value left in `event`, if any. `secrets_request`
/// is whether the request is on the `secrets` resource (patch bodies carry no kind).
pub fn unredacted(event: &Value<'_>, secrets_request: bool) -> Option<String> {
    let refs = || all(event, "objectRef");
    let request = Scope {
        secret: secrets_request
            || refs().any(|r| says(r, "resource", "secrets"))
            || all(event, "requestURI")
                .any(|uri| matches!(uri, Value::String(u) if names_secrets(u))),
        token: refs()
            .any(|r| says(r, "subresource", "token") || says(r, "resource", "tokenreviews")),
    };
    let mut check = Check { found: None };
    for (key, value) in entries(event) {
        if same(key, "requestObject") || same(key, "responseObject") {
            check.body(value, request);
        } else if same(key, "annotations") {
            check.event_annotations(value, request.secret);
        }
    }
    check.found
}

#[derive(Clone, Copy, Default)]
struct Scope {
    secret: bool,
    token: bool,
}

const SECRET: Scope = Scope {
    secret: true,
    token: false,
};

/// Keys as Go's decoder matches struct fields: any case, and `ſ` is an `s` (the Kelvin
/// sign lower-cases to `k` already).
fn same(key: &str, name: &str) -> bool {
    let folded = |s: &str| -> String {
        s.chars()
            .flat_map(char::to_lowercase)
            .map(|c| if c == 'ſ' { 's' } else { c })
            .collect()
    };
    folded(key) == folded(name)
}

fn contains_folded(text: &str, needle: &str) -> bool {
    let text: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ſ' { 's' } else { c })
        .collect();
    text.contains(needle)
}

fn entries<'v, 'a>(v: &'v Value<'a>) -> impl Iterator<Item = (&'v str, &'v Value<'a>)> {
    let obj = match v {
        Value::Object(obj) => Some(obj),
        _ => None,
    };
    obj.into_iter()
        .flat_map(|obj| obj.iter().map(|(k, v)| (k.as_ref(), v)))
}

/// Every value stored under `key`, repeated keys and any case included.
fn all<'v, 'a>(v: &'v Value<'a>, key: &'static str) -> impl Iterator<Item = &'v Value<'a>> {
    entries(v)
        .filter(move |(k, _)| same(k, key))
        .map(|(_, v)| v)
}

/// Any copy of `key` is the string `want` (in any case).
fn says(v: &Value<'_>, key: &'static str, want: &str) -> bool {
    all(v, key).any(|s| matches!(s, Value::String(s) if same(s, want)))
}

/// The requestURI routes to the `secrets` resource (`/api/v1/[namespaces/NS/]secrets…`,
/// `/apis/G/V/[namespaces/NS/]secrets…`), percent-escapes decoded.
fn names_secrets(uri: &str) -> bool {
    let path = uri.split(['?', '#']).next().unwrap_or("");
    let parts: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(percent_decode)
        .collect();
    let prefix = match parts.first().map(String::as_str) {
        Some("api") => 2,
        Some("apis") => 3,
        _ => return false,
    };
    let mut rest = parts.get(prefix..).unwrap_or(&[]);
    if rest.len() >= 3 && rest[0] == "namespaces" {
        rest = &rest[2..];
    }
    rest.first().is_some_and(|r| same(r, "secrets"))
}

fn is_marker(s: &str) -> bool {
    let Some(n) = s
        .strip_prefix("<redacted: ")
        .and_then(|s| s.strip_suffix(" bytes>"))
    else {
        return false;
    };
    // Digits as `format!` writes them: no sign, no leading zero, nothing around.
    n.parse::<u64>().is_ok_and(|len| len.to_string() == n)
}

fn parse(text: &str) -> Option<Value<'static>> {
    let mut bytes = text.as_bytes().to_vec();
    simd_json::to_borrowed_value(&mut bytes)
        .ok()
        .map(Value::into_static)
}

/// Text no JSON parser read that may still hold a Secret for another (YAML, or JSON
/// the parser rejects): it names `data` (and, outside a Secret, a Secret) or hides names
/// behind `\` escapes.
fn may_hold_secret(text: &str, in_secret: bool) -> bool {
    text.contains('\\')
        || contains_folded(text, "data") && (in_secret || contains_folded(text, "secret"))
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

    fn body(&mut self, body: &Value<'_>, request: Scope) {
        match body {
            Value::String(text) if !is_marker(text) => match parse(text) {
                Some(inner) => self.body(&inner, request),
                None if request.secret => self.fail("a Secret's body as text", body),
                None if may_hold_secret(text, false) => self.fail("a body as text", body),
                None => {}
            },
            Value::Array(ops) if request.secret => {
                for op in ops.iter() {
                    match op {
                        Value::Object(_) => self.patch_op(op),
                        other => self.scalar("not a patch operation", other),
                    }
                }
                self.nested(body, request);
            }
            Value::Static(_) if request.secret => self.scalar("a Secret's body", body),
            _ => self.nested(body, request),
        }
    }

    fn nested(&mut self, v: &Value<'_>, outer: Scope) {
        if self.found.is_some() {
            return;
        }
        match v {
            Value::Object(obj) => {
                let kind = |names: &[&str]| {
                    all(v, "kind")
                        .any(|k| matches!(k, Value::String(k) if names.iter().any(|n| same(k, n))))
                };
                let has = |key: &'static str| all(v, key).next().is_some();
                let typed = all(v, "type").any(|t| matches!(t, Value::String(_)));
                let scope = Scope {
                    secret: outer.secret
                        || kind(&["Secret", "SecretList"])
                        || has("stringData")
                        || has("data") && typed,
                    token: outer.token || kind(&["TokenRequest", "TokenReview"]),
                };
                for (key, child) in obj.iter() {
                    if scope.secret && (same(key, "data") || same(key, "stringData")) {
                        self.values("Secret data", child);
                    } else if scope.token && same(key, "token") {
                        self.scalar("bearer token", child);
                    } else if same(key, "annotations") {
                        self.annotations(child, scope.secret);
                    } else {
                        self.nested(child, scope);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.nested(item, outer)),
            _ => {}
        }
    }

    /// An object's annotations: in a Secret, none may copy it; elsewhere none may hold a
    /// Secret.
    fn annotations(&mut self, map: &Value<'_>, in_secret: bool) {
        match map {
            Value::Object(map) => map
                .iter()
                .for_each(|(_, value)| self.annotation(value, in_secret)),
            other if in_secret => self.scalar("annotations of a Secret", other),
            other => self.nested(other, Scope::default()),
        }
    }

    fn annotation(&mut self, value: &Value<'_>, in_secret: bool) {
        match value {
            Value::String(text) if is_marker(text) => {}
            Value::String(text) => match parse(text) {
                Some(inner @ Value::String(_)) => self.annotation(&inner, in_secret),
                Some(Value::Static(_)) => {}
                Some(inner) => self.nested(
                    &inner,
                    Scope {
                        secret: in_secret,
                        token: false,
                    },
                ),
                None if may_hold_secret(text, in_secret) => {
                    self.fail("annotation text that may copy a Secret", value);
                }
                None => {}
            },
            other if in_secret => self.scalar("annotation of a Secret", other),
            other => self.nested(other, Scope::default()),
        }
    }

    /// The event's annotations: on a request on Secrets, a mutating webhook's patch
    /// (`patch.webhook.admission.k8s.io/…`) is JSON whose `patch` is a checked list of
    /// operations, or redacted whole. JSON in any of them holds no Secret.
    fn event_annotations(&mut self, annotations: &Value<'_>, on_secrets: bool) {
        for (key, value) in entries(annotations) {
            let webhook_patch = key
                .to_ascii_lowercase()
                .starts_with("patch.webhook.admission.k8s.io/");
            match value {
                Value::String(text) if is_marker(text) => {}
                Value::String(text) => match parse(text) {
                    Some(inner) => self.admission(&inner, on_secrets, webhook_patch),
                    None if on_secrets && webhook_patch => {
                        self.fail("a webhook's patch to a Secret as text", value);
                    }
                    None => {}
                },
                other => self.admission(other, on_secrets, webhook_patch),
            }
        }
    }

    fn admission(&mut self, v: &Value<'_>, on_secrets: bool, webhook_patch: bool) {
        if on_secrets {
            match v {
                Value::Object(_) => {
                    for patch in all(v, "patch") {
                        match patch {
                            Value::Array(ops) => ops.iter().for_each(|op| self.patch_op(op)),
                            other => self.scalar("a webhook's patch to a Secret", other),
                        }
                    }
                }
                Value::Array(ops) if webhook_patch => ops.iter().for_each(|op| self.patch_op(op)),
                other if webhook_patch => self.scalar("a webhook's patch to a Secret", other),
                _ => {}
            }
        }
        self.nested(v, Scope::default());
    }

    /// One JSON-patch operation on a Secret. Its path is read as evanphx/json-patch reads
    /// it: the text before the first `/` is ignored, `~1` and `~0` decoded. Only values
    /// whose every path is known to land outside data, stringData and annotations (labels,
    /// name, type…) may stay as logged.
    fn patch_op(&mut self, op: &Value<'_>) {
        if !matches!(op, Value::Object(_)) {
            return self.scalar("not a patch operation", op);
        }
        let paths: Vec<Option<Vec<String>>> = all(op, "path")
            .map(|path| match path {
                Value::String(p) => Some(
                    p.split('/')
                        .skip(1)
                        .map(|s| s.replace("~1", "/").replace("~0", "~"))
                        .collect(),
                ),
                _ => None,
            })
            .collect();
        let undecided = [None];
        let paths = if paths.is_empty() {
            &undecided[..]
        } else {
            &paths[..]
        };
        for value in all(op, "value") {
            for path in paths {
                self.patched_value(path.as_deref(), value);
            }
        }
    }

    fn patched_value(&mut self, path: Option<&[String]>, value: &Value<'_>) {
        let Some(path) = path else {
            return self.scalar("a patch value with no path", value);
        };
        let first = |name: &str| path.first().is_some_and(|s| same(s, name));
        let second = |name: &str| path.get(1).is_some_and(|s| same(s, name));
        let whole_object = |check: &mut Self| match value {
            Value::Object(_) => check.nested(value, SECRET),
            other => check.scalar("a patched Secret", other),
        };
        match path.len() {
            0 => whole_object(self),
            1 if first("metadata") => whole_object(self),
            _ if first("metadata") && !second("annotations") => {
                self.nested(value, Scope::default());
            }
            2 if first("metadata") => self.annotations(value, true),
            3 if first("metadata") => self.annotation(value, true),
            1 if first("data") || first("stringData") => {
                self.values("patched Secret data", value);
            }
            1 if ["type", "immutable", "kind", "apiVersion"]
                .iter()
                .any(|n| first(n)) =>
            {
                self.nested(value, Scope::default());
            }
            _ => self.scalar("a patch value to a Secret", value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::redact::redact_event;

    const PLANTED: &str = "UExBTlRFRC1TRUNSRVQ=";

    fn json(text: &str) -> String {
        serde_json::to_string(text).unwrap()
    }

    /// Every shape of issue 19 (and its neighbours), as logged: the statement must find
    /// each, so that the fuzzer would notice a redactor that missed one.
    fn shapes() -> Vec<String> {
        let secret = format!(r#"{{"kind":"Secret","data":{{"k":"{PLANTED}"}}}}"#);
        let on = |resource: &str, rest: &str| {
            format!(r#"{{"objectRef":{{"resource":"{resource}"}},{rest}}}"#)
        };
        let ops = format!(r#"[{{"op":"add","path":"/data/k","value":"{PLANTED}"}}]"#);
        let webhook = |patch: &str| {
            on(
                "secrets",
                &format!(
                    r#""annotations":{{"patch.webhook.admission.k8s.io/round_0_index_0":{}}}"#,
                    json(&format!(r#"{{"webhook":"w","patch":{patch}}}"#))
                ),
            )
        };
        let annotated = |kind: &str, key: &str, value: &str| {
            format!(
                r#"{{"responseObject":{{"kind":"{kind}","metadata":{{"annotations":{{"{key}":{}}}}}}}}}"#,
                json(value)
            )
        };
        let op = |op: &str| on("secrets", &format!(r#""requestObject":[{op}]"#));
        vec![
            webhook(&ops),
            webhook(&json(&ops)),
            on(
                "secrets",
                &format!(
                    r#""annotations":{{"patch.webhook.admission.k8s.io/round_0_index_0":"patch {PLANTED}"}}"#
                ),
            ),
            annotated("Secret", "kapp.k14s.io/original", &secret),
            annotated("Secret", "x", &format!("data:\n  k: {PLANTED}")),
            annotated(
                "Secret",
                "x",
                &format!(r#"{{"d\u0061ta":{{"k":"{PLANTED}"}},]"#),
            ),
            annotated("Table", "x", &json(&secret)),
            annotated(
                "ConfigMap",
                "x",
                &format!("kind: Secret\ndata:\n  k: {PLANTED}"),
            ),
            op(&format!(
                r#"{{"op":"add","path":"x/data/k","value":"{PLANTED}"}}"#
            )),
            op(&format!(
                r#"{{"op":"add","path":"/DATA","value":{{"k":"{PLANTED}"}}}}"#
            )),
            op(&format!(
                r#"{{"op":"add","path":"/metadata","value":{{"annotations":{{"a":{}}}}}}}"#,
                json(&secret)
            )),
            op(&format!(
                r#"{{"op":"add","path":"/metadata/annotations/a~1b","value":{}}}"#,
                json(&secret)
            )),
            op(&format!(r#"{{"op":"add","path":"","value":{secret}}}"#)),
            op(&format!(
                r#"{{"op":"add","path":"/other","value":"{PLANTED}"}}"#
            )),
            op(&format!(r#"{{"op":"add","value":"{PLANTED}"}}"#)),
            op(&format!(r#""{PLANTED}""#)),
            format!(r#"{{"requestObject":{{"Kind":"Secret","ſtringData":{{"k":"{PLANTED}"}}}}}}"#),
            format!(
                r#"{{"requestObject":{{"kind":"Secret","data":{{"k":"<redacted: 1 bytes>{PLANTED}"}}}}}}"#
            ),
            format!(r#"{{"requestObject":{}}}"#, json(&secret)),
            on(
                "secrets",
                &format!(r#""requestObject":{}"#, json(&format!("data: {PLANTED}"))),
            ),
            format!(
                r#"{{"objectRef":{{"resource":"pods"}},"objectRef":{{"resource":"secrets"}},"requestObject":{{"data":{{"k":"{PLANTED}"}}}}}}"#
            ),
            format!(
                r#"{{"requestURI":"/api/v1/namespaces/a/secrets/b","requestObject":{{"data":{{"k":"{PLANTED}"}}}}}}"#
            ),
            format!(
                r#"{{"responseObject":{{"kind":"TokenRequest","status":{{"token":"x"}},"status":{{"token":"{PLANTED}"}}}}}}"#
            ),
            on(
                "tokenreviews",
                &format!(r#""requestObject":{{"spec":{{"token":"{PLANTED}"}}}}"#),
            ),
            on(
                "secrets",
                &format!(r#""responseObject":{{"items":[{{"data":{{"k":"{PLANTED}"}}}}]}}"#),
            ),
            format!(
                r#"{{"responseObject":{{"items":[{{"type":"Opaque","data":{{"k":"{PLANTED}"}}}}]}}}}"#
            ),
        ]
    }

    fn value(text: &str) -> Value<'static> {
        let mut bytes = text.as_bytes().to_vec();
        simd_json::to_borrowed_value(&mut bytes)
            .unwrap()
            .into_static()
    }

    #[test]
    fn every_shape_is_found_as_logged_and_not_after_redaction() {
        for shape in shapes() {
            let mut event = value(&shape);
            assert!(unredacted(&event, false).is_some(), "not found: {shape}");
            redact_event(&mut event, false);
            let kept = simd_json::prelude::Writable::encode(&event);
            assert!(!kept.contains(PLANTED), "{kept}");
            assert_eq!(unredacted(&event, false), None, "{kept}");
        }
    }

    #[test]
    fn what_is_not_secret_is_not_flagged() {
        for event in [
            r#"{"requestObject":{"kind":"ConfigMap","data":{"k":"v"}}}"#,
            r#"{"objectRef":{"resource":"secrets"},"requestObject":[{"op":"add","path":"/metadata/labels/a","value":"b"}]}"#,
            r#"{"responseObject":{"kind":"Secret","metadata":{"annotations":{"a":"plain","b":"7"}}}}"#,
            r#"{"requestURI":"/api/v1/namespaces/secrets/configmaps/x","requestObject":{"data":{"k":"v"}}}"#,
        ] {
            assert_eq!(unredacted(&value(event), false), None, "{event}");
        }
        assert!(is_marker("<redacted: 12 bytes>") && !is_marker("<redacted: +12 bytes>"));
        assert!(!is_marker("<redacted: 1 bytes>x<redacted: 1 bytes>"));
    }
}
