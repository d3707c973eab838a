//! What redaction promises, stated apart from `ingest::redact` and checked on the JSON
//! kaudit keeps: no value of a Secret's `data`/`stringData`, of a copy of a Secret in an
//! annotation (any key, JSON or text another parser may read), of a patch to a Secret
//! (its body or a mutating webhook's patch in the event annotations), of a body logged as
//! a string, or of a bearer token is left as it was logged; and (`echoed`, given the line
//! as logged) no value of a Secret in the bodies is kept where admission echoes it.
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

/// A description of the first value of a Secret in `original`'s bodies that `kept` still
/// holds outside them, as stored or decoded (`data`) or as sent or encoded (`stringData`):
/// in an event annotation, `responseStatus`, a `Status` response body or a member the
/// apiserver does not write. Values shorter than 8 characters stored or 6 bytes decoded
/// are not looked for; the envelope (who, what, when) is the apiserver's own.
pub fn echoed(original: &Value<'_>, kept: &Value<'_>) -> Option<String> {
    let mut values = Vec::new();
    for (key, body) in entries(original) {
        if same(key, "requestObject") || same(key, "responseObject") {
            let on_secrets = all(original, "objectRef").any(|r| says(r, "resource", "secrets"));
            secret_values(body, on_secrets, &mut values);
        }
    }
    let found = |text: &str| values.iter().find(|v| text.contains(v.as_str())).cloned();
    for (key, value) in entries(kept) {
        let echo = if same(key, "requestObject") || same(key, "responseObject") {
            // A denial's Status body; its kind and apiVersion are the API's.
            let status = says(value, "kind", "Status");
            entries(value)
                .filter(|(k, _)| status && !same(k, "kind") && !same(k, "apiVersion"))
                .find_map(|(_, v)| strings(v, &found))
        } else if ENVELOPE.iter().any(|name| same(key, name)) {
            None
        } else {
            strings(value, &found)
        };
        if let Some(value) = echo {
            return Some(format!("{key} echoes {value}"));
        }
    }
    None
}

/// Members the apiserver writes before reading a body.
const ENVELOPE: [&str; 16] = [
    "kind",
    "apiVersion",
    "level",
    "auditID",
    "stage",
    "requestURI",
    "verb",
    "user",
    "impersonatedUser",
    "sourceIPs",
    "userAgent",
    "objectRef",
    "requestReceivedTimestamp",
    "stageTimestamp",
    "timestamp",
    "metadata",
];

/// The first string under `v` (JSON text read too) that `found` finds a value in.
fn strings(v: &Value<'_>, found: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    match v {
        // A word like `Forbidden` or `AlreadyExists`: the API's own vocabulary.
        Value::String(text) if text.chars().all(|c| c.is_ascii_alphabetic()) => None,
        Value::String(text) => {
            found(text).or_else(|| parse(text).and_then(|inner| strings(&inner, found)))
        }
        Value::Array(items) => items.iter().find_map(|item| strings(item, found)),
        Value::Object(obj) => obj.iter().find_map(|(_, child)| strings(child, found)),
        _ => None,
    }
}

/// Every `data`/`stringData` value of a Secret under `v`, in both forms.
fn secret_values(v: &Value<'_>, secret: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(obj) => {
            let typed = all(v, "type").any(|t| matches!(t, Value::String(_)));
            let secret = secret
                || all(v, "kind").any(|k| matches!(k, Value::String(k) if same(k, "Secret")))
                || all(v, "stringData").next().is_some()
                || all(v, "data").next().is_some() && typed;
            for (key, child) in obj.iter() {
                if secret && same(key, "data") {
                    for value in entries(child).map(|(_, v)| v) {
                        if let Value::String(b64) = value {
                            push_value(out, b64, standard_base64(b64));
                        }
                    }
                } else if secret && same(key, "stringData") {
                    for value in entries(child).map(|(_, v)| v) {
                        if let Value::String(text) = value {
                            push_value(
                                out,
                                &encode_base64(text.as_bytes()),
                                Some(text.to_string()),
                            );
                        }
                    }
                } else {
                    secret_values(child, secret, out);
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| secret_values(item, secret, out)),
        _ => {}
    }
}

fn push_value(out: &mut Vec<String>, stored: &str, plain: Option<String>) {
    if is_marker(stored) || stored.starts_with("<unreadable: ") {
        return;
    }
    if stored.len() >= 8 {
        out.push(stored.to_string());
    }
    out.extend(plain.filter(|p| p.len() >= 6));
}

const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The text of standard base64 (padding optional), if it is text.
fn standard_base64(text: &str) -> Option<String> {
    let digits: Option<Vec<u32>> = text
        .trim_end_matches('=')
        .chars()
        .map(|c| ALPHABET.find(c).map(|i| i as u32))
        .collect();
    let bits: String = digits?.iter().map(|d| format!("{d:06b}")).collect();
    let bytes: Vec<u8> = bits
        .as_bytes()
        .chunks_exact(8)
        .map(|byte| u8::from_str_radix(std::str::from_utf8(byte).unwrap(), 2).unwrap())
        .collect();
    String::from_utf8(bytes).ok()
}

fn encode_base64(bytes: &[u8]) -> String {
    let bits: String = bytes.iter().map(|b| format!("{b:08b}")).collect();
    let mut out: String = bits
        .as_bytes()
        .chunks(6)
        .map(|six| {
            let six = format!("{:0<6}", std::str::from_utf8(six).unwrap());
            ALPHABET.as_bytes()[usize::from_str_radix(&six, 2).unwrap()] as char
        })
        .collect();
    while out.len() % 4 != 0 {
        out.push('=');
    }
    out
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
    fn echoes_outside_the_bodies_are_found_as_logged_and_not_after_redaction() {
        // PLANTED decodes to PLANTED-SECRET.
        let on = |body: &str, rest: &str| {
            format!(
                r#"{{"verb":"create","user":{{"username":"PLANTED-SECRET"}},"objectRef":{{"resource":"secrets","name":"PLANTED-SECRET"}},"requestObject":{body},{rest}}}"#
            )
        };
        let data = format!(r#"{{"kind":"Secret","data":{{"k":"{PLANTED}"}}}}"#);
        let text = r#"{"stringData":{"k":"PLANTED-SECRET"}}"#;
        for shape in [
            on(
                &data,
                &format!(
                    r#""annotations":{{"validation.policy.admission.k8s.io/validation_failure":{}}}"#,
                    json(r#"[{"message":"not PLANTED-SECRET","policy":"p"}]"#)
                ),
            ),
            on(
                &data,
                &format!(r#""annotations":{{"p.example.com/v":"{PLANTED}"}}"#),
            ),
            on(
                text,
                r#""responseStatus":{"message":"denied: PLANTED-SECRET","code":400}"#,
            ),
            on(
                text,
                &format!(
                    r#""responseStatus":{{"details":{{"causes":[{{"message":"{PLANTED}"}}]}}}}"#
                ),
            ),
            on(
                &data,
                r#""responseObject":{"kind":"Status","message":"x PLANTED-SECRET"}"#,
            ),
            on(&data, r#""forwarder":{"copy":"PLANTED-SECRET"}"#),
        ] {
            let mut event = value(&shape);
            let original = event.clone();
            assert!(echoed(&original, &event).is_some(), "not found: {shape}");
            redact_event(&mut event, false);
            let kept = simd_json::prelude::Writable::encode(&event);
            assert_eq!(echoed(&original, &event), None, "{kept}");
            // The envelope is the apiserver's: who and what stay.
            assert!(kept.contains(r#""username":"PLANTED-SECRET""#), "{kept}");
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
