//! Redaction of secret values, applied to the parsed event before anything is indexed,
//! stored or printed (invariant 4: secret values never leave the parser).
//!
//! What counts as a secret value:
//! - the values of `data` and `stringData` of every Secret, wherever it sits in a body.
//!   An object is a Secret when any of its `kind`s is `Secret` or `SecretList`, when it
//!   has a `stringData`, or a `data` beside a string `type` (a list item or a forwarder's
//!   copy without `kind`), and everything inside a Secret or inside the body of a request
//!   on `secrets` is (kind-less lists, tables, merge patches);
//! - every annotation value of a Secret that is (or may be) a copy of one: JSON holding
//!   `data`/`stringData`, whatever the key (kubectl's last-applied, kapp's original); text
//!   that is not JSON and mentions `data` or holds a `\` escape (YAML, or JSON the parser
//!   rejects) is replaced whole. An annotation of another object is read as JSON too and
//!   redacted where it holds a Secret;
//! - any other string of a Secret (an annotation, a label…) that holds one of its `data`
//!   values of 8 characters or more: a patch can `copy` a value there;
//! - the `value` of every JSON-patch operation on a Secret that may write `data`,
//!   `stringData`, annotations, `metadata` or the whole object, its path read as the
//!   apiserver's json-patch library reads it (text before the first `/` ignored, `~1`
//!   and `~0` decoded); a value whose target cannot be decided is replaced whole. This
//!   covers the request body and the mutating webhooks' patches the apiserver logs in the
//!   event annotations `patch.webhook.admission.k8s.io/round_N_index_M` (a patch that is
//!   not a list of operations is replaced whole);
//! - a body logged as a string: read as JSON and redacted; on a request on `secrets`,
//!   text that is not JSON is replaced whole;
//! - bearer tokens: every `token` in a TokenRequest or TokenReview, and in the bodies of
//!   requests on `serviceaccounts/token` and `tokenreviews`;
//! - a Secret's value echoed outside the bodies, where admission and the apiserver write
//!   their own text: every event annotation (a policy's `validation_failure`, its audit
//!   annotations, whatever the key), `responseStatus`, a `Status` response body and any
//!   member a forwarder added. Every value seen in a body (`data` as stored and decoded,
//!   `stringData` as sent and encoded, a patch's values) is looked for there. When a body
//!   that carried a Secret could not be read (a salvaged line's `<unreadable: N bytes>`),
//!   its values are unknown: those strings are replaced whole, but for the authorizer's
//!   annotations, the webhook records, the status code and the API's own words. The
//!   envelope (who, what, when) is the apiserver's before any body is read: left as is.
//!
//! Keys are matched as Go's encoding/json matches struct fields (case-insensitively,
//! with `ſ` as `s` and the Kelvin sign as `k`), and every copy of a repeated key counts
//! (Go keeps the last, simd-json keeps them all). A request is on `secrets` when any copy
//! of `objectRef.resource` says so, or its requestURI names the resource.
//!
//! A value is replaced by `<redacted: N bytes>` (N the length of the value as logged), so
//! an investigator still sees which keys changed and roughly how big they were. Only that
//! exact spelling counts as already redacted. Redaction is idempotent.

use std::borrow::Cow;

use simd_json::borrowed::Object;
use simd_json::{BorrowedValue as Value, StaticNode};

use crate::model::{SALVAGED_KEY, UNREADABLE_PREFIX, percent_decode};

/// The event annotations in which the apiserver logs a mutating webhook's patch.
const WEBHOOK_PATCH: &str = "patch.webhook.admission.k8s.io/";

/// How many strings holding JSON holding strings are read; deeper text is replaced
/// whole. Each level at least doubles the escapes: real logs stop at two.
const MAX_TEXT_DEPTH: usize = 8;

/// Data values shorter than this (in base64) are not looked for elsewhere in their
/// Secret: 8 characters are 6 bytes, and shorter strings occur by chance.
const MIN_COPIED_LEN: usize = 8;

/// The marker that replaces a secret value.
pub fn marker(len: usize) -> String {
    format!("<redacted: {len} bytes>")
}

/// What is known about the values being walked.
#[derive(Clone, Copy, Default)]
struct Scope {
    /// Inside a Secret, or the body of a request on `secrets`: every `data`/`stringData`.
    secret: bool,
    /// Inside a TokenRequest or TokenReview, or the body of a request for one: every `token`.
    token: bool,
}

const SECRET: Scope = Scope {
    secret: true,
    token: false,
};

/// Redacts the bodies and annotations of one audit event in place. `secrets_request` is
/// the caller's reading of objectRef.resource; every copy of objectRef and the
/// requestURI are read here as well (patch bodies carry no `kind` to go by).
/// Returns true when anything was replaced.
pub fn redact_event(event: &mut Value<'_>, secrets_request: bool) -> bool {
    let Value::Object(obj) = event else {
        return false;
    };
    let request = request_scope(obj, secrets_request);
    let mut changed = false;
    // Every copy of a repeated key: `get_mut` finds only the first, and the others
    // would reach the index as logged (found by fuzzing).
    // Read before the bodies lose them: the values may be echoed outside the bodies.
    let echoes = Echoes::of_event(obj, request);
    for (key, value) in obj.iter_mut() {
        if is_body(key) {
            changed |= redact_body(value, request, 0);
        } else if key_is(key, "annotations") {
            changed |= redact_event_annotations(value, request.secret);
        }
    }
    changed | echoes.hide(obj)
}

fn is_body(key: &str) -> bool {
    key_is(key, "requestObject") || key_is(key, "responseObject")
}

/// Whether the request is on Secrets or tokens, by any copy of objectRef (Go keeps the
/// last, the index the first), or by the resource its requestURI names.
fn request_scope(event: &Object<'_>, secrets_request: bool) -> Scope {
    let refs = || all(event, "objectRef");
    let secret = secrets_request
        || refs().any(|r| field_is(r, "resource", "secrets"))
        || all(event, "requestURI").any(|uri| match uri {
            Value::String(uri) => uri_resource(uri).is_some_and(|r| key_is(&r, "secrets")),
            _ => false,
        });
    let token = refs()
        .any(|r| field_is(r, "subresource", "token") || field_is(r, "resource", "tokenreviews"));
    Scope { secret, token }
}

/// The resource a request URI names: `/api/v1/[namespaces/NS/]RESOURCE…` or
/// `/apis/GROUP/VERSION/[namespaces/NS/]RESOURCE…`, as the apiserver routes it.
fn uri_resource(uri: &str) -> Option<std::borrow::Cow<'_, str>> {
    let path = uri.split(['?', '#']).next().unwrap_or_default();
    // Decoded only where there is something to decode, and nothing copied otherwise:
    // this runs for every event.
    let decode = |s| match s {
        s if str::contains(s, '%') => std::borrow::Cow::Owned(percent_decode(s)),
        s => std::borrow::Cow::Borrowed(s),
    };
    let mut segments = path
        .split('/')
        .filter(|s| !s.is_empty())
        .take(6)
        .map(decode);
    let version_segments = match segments.next()?.as_ref() {
        "api" => 1,
        "apis" => 2,
        _ => return None,
    };
    let mut rest = segments.skip(version_segments);
    let first = rest.next()?;
    if first == "namespaces" {
        // `namespaces/NS/RESOURCE…`; without a RESOURCE, the namespaces themselves.
        let _namespace = rest.next();
        if let Some(resource) = rest.next() {
            return Some(resource);
        }
    }
    Some(first)
}

/// A request or response body; `depth` counts the strings it was read from.
fn redact_body(body: &mut Value<'_>, request: Scope, depth: usize) -> bool {
    match body {
        Value::String(_) => redact_text(body, request, depth, Holder::Body),
        // A JSON patch (RFC 6902): a list of operations.
        Value::Array(ops) if request.secret => {
            let mut changed = false;
            for op in ops.iter_mut() {
                changed |= redact_patch_op(op);
            }
            changed | walk(body, request, depth)
        }
        Value::Static(StaticNode::Null) => false,
        // No body of a request on Secrets is a bare number: it could be a PIN.
        Value::Static(_) if request.secret => redact_scalar(body),
        // A Secret, a list or table of them, or a merge/strategic/apply patch to one.
        // Whatever `kind` a client wrote, the body of a request on `secrets` is treated
        // as a Secret.
        _ => walk(body, request, depth),
    }
}

/// Walks a body (or JSON read from a string in it) for Secrets, tokens and annotations
/// that copy a Secret. Depth is bounded by the JSON parser's own nesting limit.
fn walk(v: &mut Value<'_>, outer: Scope, depth: usize) -> bool {
    match v {
        Value::Object(obj) => {
            let scope = Scope {
                secret: outer.secret || is_secret(obj),
                token: outer.token || has_kind(obj, "TokenRequest") || has_kind(obj, "TokenReview"),
            };
            let values = if scope.secret {
                data_values(obj)
            } else {
                Vec::new()
            };
            let mut changed = false;
            for (key, child) in obj.iter_mut() {
                let data = key_is(key, "data") || key_is(key, "stringData");
                changed |= if scope.secret && data {
                    redact_values(child)
                } else if scope.token && key_is(key, "token") {
                    redact_scalar(child)
                } else if key_is(key, "annotations") {
                    redact_annotations(child, scope, depth)
                } else {
                    walk(child, scope, depth)
                };
                if !values.is_empty() && !data {
                    changed |= hide_copies(child, &values);
                }
            }
            changed
        }
        Value::Array(items) => {
            let mut changed = false;
            for item in items.iter_mut() {
                changed |= walk(item, outer, depth);
            }
            changed
        }
        _ => false,
    }
}

/// The values of a Secret's `data` as stored (base64) that are long enough not to occur
/// by chance. A JSON-patch `copy` from `/data/k` to an annotation, a label or an owner
/// reference puts one there, and every later read of the Secret logs it.
fn data_values(obj: &Object<'_>) -> Vec<String> {
    let mut values = Vec::new();
    for map in all(obj, "data") {
        if let Value::Object(map) = map {
            for (_, value) in map.iter() {
                if let Value::String(s) = value
                    && s.len() >= MIN_COPIED_LEN
                    && !is_marker(s)
                {
                    values.push(s.to_string());
                }
            }
        }
    }
    values
}

/// Replaces whole every string (outside `data`) that holds one of the Secret's values.
fn hide_copies(v: &mut Value<'_>, values: &[String]) -> bool {
    match v {
        Value::String(s) if values.iter().any(|value| s.contains(value.as_str())) => {
            redact_scalar(v)
        }
        Value::Object(obj) => {
            let mut changed = false;
            for (_, child) in obj.iter_mut() {
                changed |= hide_copies(child, values);
            }
            changed
        }
        Value::Array(items) => {
            let mut changed = false;
            for item in items.iter_mut() {
                changed |= hide_copies(item, values);
            }
            changed
        }
        _ => false,
    }
}

/// A Secret by its `kind`, or by the fields only a Secret has: `stringData`, or `data`
/// beside a string `type` (the items of a list, and copies, often carry no kind).
fn is_secret(obj: &Object<'_>) -> bool {
    let (mut data, mut typed) = (false, false);
    for (key, value) in obj.iter() {
        if key_is(key, "stringData")
            || key_is(key, "kind") && is_one_of(value, &["Secret", "SecretList"])
        {
            return true;
        }
        data |= key_is(key, "data");
        typed |= key_is(key, "type") && matches!(value, Value::String(_));
    }
    data && typed
}

/// An object's annotations: in a Secret every value that may copy it, elsewhere those
/// holding a Secret.
fn redact_annotations(map: &mut Value<'_>, scope: Scope, depth: usize) -> bool {
    match map {
        Value::Object(annotations) => {
            let mut changed = false;
            for (_, value) in annotations.iter_mut() {
                changed |= redact_annotation(value, scope.secret, depth);
            }
            changed
        }
        Value::Static(StaticNode::Null) => false,
        _ if scope.secret => redact_scalar(map),
        _ => walk(map, scope, depth),
    }
}

/// One annotation value (a string to the apiserver; anything to a forwarder).
fn redact_annotation(value: &mut Value<'_>, secret: bool, depth: usize) -> bool {
    let scope = Scope {
        secret,
        token: false,
    };
    match value {
        Value::String(_) => redact_text(value, scope, depth, Holder::Annotation),
        Value::Static(StaticNode::Null) => false,
        _ if secret => redact_scalar(value),
        _ => walk(value, scope, depth),
    }
}

/// What a string that may hold JSON was found in.
#[derive(Clone, Copy)]
enum Holder {
    /// A request or response body logged as a string.
    Body,
    /// An object's annotation: kubectl's last-applied, kapp's original, or any other.
    Annotation,
}

/// A string that may hold JSON: replaced by the redacted JSON when anything in it was
/// redacted, by the marker when it cannot be read and may hold a secret value.
fn redact_text(v: &mut Value<'_>, scope: Scope, depth: usize, holder: Holder) -> bool {
    let Value::String(text) = v else {
        return false;
    };
    if is_marker(text) {
        return false;
    }
    let replacement = if depth >= MAX_TEXT_DEPTH {
        Some(marker(text.len()))
    } else {
        read_text(text, scope, depth, holder)
    };
    replace(v, replacement)
}

fn read_text(text: &str, scope: Scope, depth: usize, holder: Holder) -> Option<String> {
    // Read the way the event is (simd-json): every copy of a repeated key counts, and
    // nesting up to the same limit. serde_json kept only the last copy of a key and gave
    // up past 128 levels, which let a copy of a Secret through unredacted.
    if looks_like_json(text) {
        let mut bytes = text.as_bytes().to_vec();
        if let Ok(mut inner) = simd_json::to_borrowed_value(&mut bytes) {
            let changed = match (holder, &inner) {
                (Holder::Body, _) => redact_body(&mut inner, scope, depth + 1),
                (Holder::Annotation, Value::String(_)) => {
                    redact_text(&mut inner, scope, depth + 1, holder)
                }
                // `"3"` or `"true"`: nothing to hide.
                (Holder::Annotation, Value::Static(_)) => false,
                (Holder::Annotation, _) => walk(&mut inner, scope, depth + 1),
            };
            return changed.then(|| encode(&inner));
        }
    }
    // Not JSON, or JSON the parser rejects: YAML, a number past float64, a lone
    // surrogate… Another parser may still read a Secret in it.
    let hide = match holder {
        Holder::Body => scope.secret || may_hold_secret(text, false),
        Holder::Annotation => may_hold_secret(text, scope.secret),
    };
    hide.then(|| marker(text.len()))
}

/// Text no parser here could read that may still hold a Secret's values: it names a
/// `data` key (and, outside a Secret, a Secret), or hides names behind `\` escapes.
fn may_hold_secret(text: &str, in_secret: bool) -> bool {
    text.contains('\\')
        || contains_folded(text, "data") && (in_secret || contains_folded(text, "secret"))
}

/// The first character that is not JSON whitespace opens an object, list or string.
fn looks_like_json(text: &str) -> bool {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with(['{', '[', '"'])
}

/// The event's own annotations. On a request on Secrets, a mutating webhook's patch
/// (`patch.webhook.admission.k8s.io/round_N_index_M`: JSON with a `patch` list) has its
/// operations redacted; a patch that is not a list, and an annotation of that name that
/// is not JSON, are replaced whole. Any annotation holding JSON is walked for Secrets.
fn redact_event_annotations(annotations: &mut Value<'_>, secrets: bool) -> bool {
    let Value::Object(annotations) = annotations else {
        return false;
    };
    let mut changed = false;
    for (key, value) in annotations.iter_mut() {
        let webhook_patch = has_prefix(key, WEBHOOK_PATCH);
        changed |= redact_event_annotation(value, secrets, webhook_patch);
    }
    changed
}

fn redact_event_annotation(value: &mut Value<'_>, secrets: bool, webhook_patch: bool) -> bool {
    let Value::String(text) = value else {
        return redact_admission(value, secrets, webhook_patch);
    };
    if is_marker(text) {
        return false;
    }
    let mut read = None;
    if looks_like_json(text) {
        let mut bytes = text.as_bytes().to_vec();
        if let Ok(mut inner) = simd_json::to_borrowed_value(&mut bytes) {
            read =
                Some(redact_admission(&mut inner, secrets, webhook_patch).then(|| encode(&inner)));
        }
    }
    let replacement = match read {
        Some(read) => read,
        None => (secrets && webhook_patch).then(|| marker(text.len())),
    };
    replace(value, replacement)
}

/// An event annotation read as JSON: a webhook's patch record, or anything else.
fn redact_admission(v: &mut Value<'_>, secrets: bool, webhook_patch: bool) -> bool {
    let mut changed = false;
    if secrets {
        match v {
            Value::Object(fields) => {
                for (key, patch) in fields.iter_mut() {
                    if key_is(key, "patch") {
                        changed |= match patch {
                            Value::Array(ops) => {
                                ops.iter_mut().fold(false, |c, op| redact_patch_op(op) | c)
                            }
                            // base64, a string of JSON, …: the operations cannot be told apart.
                            _ => redact_scalar(patch),
                        };
                    }
                }
            }
            Value::Array(ops) if webhook_patch => {
                for op in ops.iter_mut() {
                    changed |= redact_patch_op(op);
                }
            }
            _ if webhook_patch => changed |= redact_scalar(v),
            _ => {}
        }
    }
    changed | walk(v, Scope::default(), 0)
}

/// Plain (decoded) forms of a value shorter than this are not looked for outside its
/// body: 6 bytes are what `MIN_COPIED_LEN` characters of base64 hold.
const MIN_PLAIN_LEN: usize = 6;

/// The event members the apiserver writes from the request line and its authentication,
/// before any body is read: no Secret value can come from the request there, and hiding
/// a coincidence (a Secret holding its own name, or its user's) would change the
/// request's identity (its key, its stages) and what an investigator searches by.
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

/// The annotations the authorizer writes before the body is read (and admission cannot
/// overwrite: the apiserver keeps an annotation's first value).
const AUTHORIZER: [&str; 2] = [
    "authorization.k8s.io/decision",
    "authorization.k8s.io/reason",
];

/// The apiserver's records of mutating webhooks: the patch is redacted as a patch, the
/// mutation record names a webhook and says whether it mutated.
const WEBHOOK_RECORDS: [&str; 2] = [WEBHOOK_PATCH, "mutation.webhook.admission.k8s.io/"];

/// The API's own words for `status`, `reason` and a cause's `reason` (metav1.StatusReason,
/// CauseType): kept where every other string outside the bodies is hidden.
const API_WORDS: [&str; 33] = [
    "Success",
    "Failure",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "AlreadyExists",
    "Conflict",
    "Gone",
    "Invalid",
    "ServerTimeout",
    "StoreReadError",
    "Timeout",
    "TooManyRequests",
    "BadRequest",
    "MethodNotAllowed",
    "NotAcceptable",
    "RequestEntityTooLarge",
    "UnsupportedMediaType",
    "InternalError",
    "Expired",
    "ServiceUnavailable",
    "FieldValueNotFound",
    "FieldValueRequired",
    "FieldValueDuplicate",
    "FieldValueInvalid",
    "FieldValueNotSupported",
    "FieldValueForbidden",
    "FieldValueTooLong",
    "FieldValueTooMany",
    "FieldValueTypeInvalid",
    "UnexpectedServerResponse",
    "FieldManagerConflict",
    "ResourceVersionTooLarge",
];

/// The values of the Secrets an event's bodies carry, as admission and the apiserver may
/// echo them outside the bodies: a ValidatingAdmissionPolicy's message in
/// `validation.policy.admission.k8s.io/validation_failure`, its `auditAnnotations`, a
/// webhook's denial in `responseStatus` (message, reason, details, causes) or in a
/// `Status` response body. A policy may print the decoded value and a webhook may echo
/// either form, so both are looked for: a `data` value as stored and decoded, a
/// `stringData` value as sent and encoded.
#[derive(Default)]
struct Echoes {
    forms: Vec<String>,
    /// A body that carried a Secret could not be read (a salvaged event's
    /// `<unreadable: N bytes>`): its values cannot be looked for, so every string
    /// outside the bodies that admission may have written is hidden whole.
    unknown: bool,
}

impl Echoes {
    /// Every body, and on a request on Secrets the mutating webhooks' patches.
    fn of_event(event: &Object<'_>, request: Scope) -> Self {
        let mut echoes = Self::default();
        for (key, value) in event.iter() {
            if is_body(key) {
                echoes.body(value, request.secret, 0);
            } else if request.secret && key_is(key, "annotations") {
                echoes.webhook_patches(value);
            }
        }
        echoes
    }

    fn body(&mut self, body: &Value<'_>, secret: bool, depth: usize) {
        match body {
            Value::String(text) => self.text(text, secret, depth),
            Value::Array(ops) if secret => {
                ops.iter().for_each(|op| self.patch_op(op));
                self.walk(body, secret, depth);
            }
            _ => self.walk(body, secret, depth),
        }
    }

    /// A string that may hold JSON (a body logged as a string, a copy in an annotation).
    fn text(&mut self, text: &str, secret: bool, depth: usize) {
        if secret && is_unreadable(text) {
            self.unknown = true;
        } else if depth < MAX_TEXT_DEPTH && looks_like_json(text) {
            let mut bytes = text.as_bytes().to_vec();
            if let Ok(inner) = simd_json::to_borrowed_value(&mut bytes) {
                self.body(&inner, secret, depth + 1);
            }
        }
    }

    /// Strings are read as JSON only inside a Secret: elsewhere that would cost every
    /// event's annotations a second parse, for copies the redactor hides whole anyway.
    fn walk(&mut self, v: &Value<'_>, outer: bool, depth: usize) {
        match v {
            Value::Object(obj) => {
                let secret = outer || is_secret(obj);
                for (key, child) in obj.iter() {
                    if secret && key_is(key, "data") {
                        self.values(child, Form::Base64);
                    } else if secret && key_is(key, "stringData") {
                        self.values(child, Form::Plain);
                    } else {
                        self.walk(child, secret, depth);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| self.walk(item, outer, depth)),
            Value::String(text) if outer => self.text(text, outer, depth),
            _ => {}
        }
    }

    fn values(&mut self, map: &Value<'_>, form: Form) {
        match map {
            Value::Object(entries) => entries.iter().for_each(|(_, v)| self.values(v, form)),
            Value::Array(items) => items.iter().for_each(|v| self.values(v, form)),
            Value::String(value) => self.add(value, form),
            _ => {}
        }
    }

    fn add(&mut self, value: &str, form: Form) {
        if is_marker(value) {
            return;
        }
        if is_unreadable(value) {
            self.unknown = true;
            return;
        }
        let (stored, plain) = match form {
            Form::Base64 => (Some(value.to_string()), base64_decode(value)),
            Form::Plain => (
                Some(base64_encode(value.as_bytes())),
                Some(value.to_string()),
            ),
            Form::Either => {
                self.add(value, Form::Base64);
                return self.add(value, Form::Plain);
            }
        };
        if let Some(stored) = stored.filter(|s| s.len() >= MIN_COPIED_LEN) {
            self.forms.push(stored);
        }
        if let Some(plain) = plain.filter(|p| p.len() >= MIN_PLAIN_LEN) {
            self.forms.push(plain);
        }
    }

    /// A JSON-patch operation on a Secret: the values redaction hides. A value whose
    /// path does not say `data` or `stringData` may be either.
    fn patch_op(&mut self, op: &Value<'_>) {
        let Value::Object(fields) = op else {
            return;
        };
        let mut targets: Vec<Target> = all(fields, "path").map(target).collect();
        if targets.is_empty() {
            targets.push(Target::Whole);
        }
        for value in all(fields, "value") {
            for &target in &targets {
                match target {
                    Target::Harmless => {}
                    Target::Values | Target::Whole => self.values(value, Form::Either),
                    Target::Object | Target::Annotations | Target::Annotation => {
                        self.walk(value, true, 0)
                    }
                }
            }
        }
    }

    fn webhook_patches(&mut self, annotations: &Value<'_>) {
        let Value::Object(annotations) = annotations else {
            return;
        };
        for (key, value) in annotations.iter() {
            if !has_prefix(key, WEBHOOK_PATCH) {
                continue;
            }
            let Value::String(text) = value else {
                continue;
            };
            let mut bytes = text.as_bytes().to_vec();
            match simd_json::to_borrowed_value(&mut bytes) {
                Ok(Value::Array(ops)) => ops.iter().for_each(|op| self.patch_op(op)),
                Ok(record @ Value::Object(_)) => {
                    for patch in all_in(&record, "patch") {
                        if let Value::Array(ops) = patch {
                            ops.iter().for_each(|op| self.patch_op(op));
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Hides the echoes in everything but the envelope and the bodies other than a
    /// `Status` (a denial's response).
    fn hide(&self, event: &mut Object<'_>) -> bool {
        if self.forms.is_empty() && !self.unknown {
            return false;
        }
        let mut changed = false;
        for (key, value) in event.iter_mut() {
            changed |= if is_body(key) {
                match value {
                    Value::Object(status) if has_kind(status, "Status") => {
                        self.hide_in_status(status)
                    }
                    _ => false,
                }
            } else if key_is(key, "annotations") {
                self.hide_in_annotations(value)
            } else if ENVELOPE.iter().any(|name| key_is(key, name)) {
                false
            } else {
                // kaudit's own word for why the event was salvaged is kept.
                self.hide_in(value, self.unknown && key != SALVAGED_KEY, 0)
            }
        }
        changed
    }

    fn hide_in_status(&self, status: &mut Object<'_>) -> bool {
        let mut changed = false;
        for (key, value) in status.iter_mut() {
            if !(key_is(key, "kind") || key_is(key, "apiVersion")) {
                changed |= self.hide_in(value, self.unknown, 0);
            }
        }
        changed
    }

    fn hide_in_annotations(&self, annotations: &mut Value<'_>) -> bool {
        let Value::Object(annotations) = annotations else {
            return self.hide_in(annotations, self.unknown, 0);
        };
        let mut changed = false;
        for (key, value) in annotations.iter_mut() {
            // What stays when the values are unknown: the authorizer's words, and the
            // webhook records (their copies are still looked for).
            let kept = AUTHORIZER.contains(&key.as_ref())
                || WEBHOOK_RECORDS.iter().any(|prefix| has_prefix(key, prefix));
            changed |= self.hide_in(value, self.unknown && !kept, 0);
        }
        changed
    }

    /// Every string under `v`: replaced whole when `whole` (the values are unknown), else
    /// where it holds a value; JSON text is read and hidden inside (a policy's message in
    /// its `validation_failure` record keeps the policy's name).
    fn hide_in(&self, v: &mut Value<'_>, whole: bool, depth: usize) -> bool {
        match v {
            Value::String(text) => {
                let replacement = self.hide_text(text, whole, depth);
                replace(v, replacement)
            }
            Value::Object(obj) => {
                let mut changed = false;
                for (_, child) in obj.iter_mut() {
                    changed |= self.hide_in(child, whole, depth);
                }
                changed
            }
            Value::Array(items) => {
                let mut changed = false;
                for item in items.iter_mut() {
                    changed |= self.hide_in(item, whole, depth);
                }
                changed
            }
            _ => false,
        }
    }

    fn hide_text(&self, text: &str, whole: bool, depth: usize) -> Option<String> {
        if is_marker(text) || API_WORDS.contains(&text) {
            return None;
        }
        if whole {
            // Shorter than any value looked for when values are known.
            return (text.len() >= MIN_PLAIN_LEN).then(|| marker(text.len()));
        }
        if self.forms.is_empty() {
            return None;
        }
        // JSON text is read first: Go's encoder writes `<`, `>` and `&` escaped, so a
        // decoded value may be in it only as its escapes.
        if depth < MAX_TEXT_DEPTH && looks_like_json(text) {
            let mut bytes = text.as_bytes().to_vec();
            if let Ok(mut inner) = simd_json::to_borrowed_value(&mut bytes)
                && self.hide_in(&mut inner, false, depth + 1)
            {
                let encoded = encode(&inner);
                if !self.holds_one(&encoded) {
                    return Some(encoded);
                }
            }
        }
        self.holds_one(text).then(|| marker(text.len()))
    }

    fn holds_one(&self, text: &str) -> bool {
        self.forms.iter().any(|form| text.contains(form.as_str()))
    }
}

/// How a Secret holds a value: `data` in base64, `stringData` as text, a patch value
/// whose path does not say.
#[derive(Clone, Copy)]
enum Form {
    Base64,
    Plain,
    Either,
}

fn is_unreadable(text: &str) -> bool {
    text.starts_with(UNREADABLE_PREFIX)
}

fn has_prefix(key: &str, prefix: &str) -> bool {
    key.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// Every value under `key` of `v` when it is an object.
fn all_in<'v, 'a>(v: &'v Value<'a>, key: &'static str) -> impl Iterator<Item = &'v Value<'a>> {
    let obj = match v {
        Value::Object(obj) => Some(&**obj),
        _ => None,
    };
    obj.into_iter().flat_map(move |obj| all(obj, key))
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as the apiserver encodes a Secret's `data`.
fn base64_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                BASE64[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// The text a `data` value decodes to (standard base64, padding optional); None when it
/// is not base64 or not text (binary keys are not echoed as strings).
fn base64_decode(input: &str) -> Option<String> {
    let digits = input.trim_end_matches('=');
    if input.len() - digits.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    let (mut bits, mut n) = (0u32, 0u32);
    for b in digits.bytes() {
        let digit = BASE64.iter().position(|&c| c == b)? as u32;
        bits = bits << 6 | digit;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Where a JSON-patch operation on a Secret writes its `value`.
#[derive(Clone, Copy)]
enum Target {
    /// Labels, name, type…: nothing secret, but walked for Secrets like any value.
    Harmless,
    /// The whole object, or `metadata`: a Secret, or nothing readable.
    Object,
    /// `/metadata/annotations`: a map of annotations.
    Annotations,
    /// `/metadata/annotations/<key>`: one annotation.
    Annotation,
    /// `/data` or `/stringData`: a map of values.
    Values,
    /// A value of `data`, or a target that cannot be decided: replaced whole.
    Whole,
}

/// The target of a path, read as evanphx/json-patch (the apiserver's) reads it: split on
/// `/`, the text before the first `/` ignored, `~1` and `~0` decoded.
fn target(path: &Value<'_>) -> Target {
    let Value::String(path) = path else {
        return Target::Whole;
    };
    let segments: Vec<String> = path.split('/').skip(1).map(unescape_pointer).collect();
    let is = |i: usize, name: &str| segments.get(i).is_some_and(|s| key_is(s, name));
    match segments.len() {
        0 => Target::Object,
        1 if is(0, "metadata") => Target::Object,
        _ if is(0, "metadata") && !is(1, "annotations") => Target::Harmless,
        2 if is(0, "metadata") => Target::Annotations,
        3 if is(0, "metadata") => Target::Annotation,
        1 if is(0, "data") || is(0, "stringData") => Target::Values,
        1 if ["type", "immutable", "kind", "apiVersion"]
            .iter()
            .any(|name| is(0, name)) =>
        {
            Target::Harmless
        }
        _ => Target::Whole,
    }
}

/// RFC 6901 unescaping, left to right as Go's strings.Replacer does it.
fn unescape_pointer(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// One JSON-patch operation on a Secret: `{"op":"add","path":"/data/key","value":"…"}`.
/// Every `path` and every `value` of the operation counts (repeated keys); a value with
/// no path is replaced whole. `from` (copy, move) carries no value.
fn redact_patch_op(op: &mut Value<'_>) -> bool {
    let Value::Object(fields) = op else {
        return redact_scalar(op);
    };
    let mut targets: Vec<Target> = all(fields, "path").map(target).collect();
    if targets.is_empty() {
        targets.push(Target::Whole);
    }
    let mut changed = false;
    for (key, value) in fields.iter_mut() {
        if key_is(key, "value") {
            for &target in &targets {
                changed |= redact_target(value, target);
            }
        }
    }
    changed
}

fn redact_target(value: &mut Value<'_>, target: Target) -> bool {
    match target {
        Target::Harmless => walk(value, Scope::default(), 0),
        Target::Object => match value {
            Value::Object(_) => walk(value, SECRET, 0),
            _ => redact_scalar(value),
        },
        Target::Annotations => redact_annotations(value, SECRET, 0),
        Target::Annotation => redact_annotation(value, true, 0),
        Target::Values => redact_values(value),
        Target::Whole => redact_scalar(value),
    }
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
        other => redact_scalar(other),
    }
}

/// Replaces a value whole: null (nothing to hide) and markers stay.
fn redact_scalar(value: &mut Value<'_>) -> bool {
    let len = match &*value {
        Value::String(s) if is_marker(s) => return false,
        Value::String(s) => s.len(),
        Value::Static(StaticNode::Null) => return false,
        Value::Static(_) => 0,
        other => encode(other).len(),
    };
    replace(value, Some(marker(len)))
}

fn replace(value: &mut Value<'_>, replacement: Option<String>) -> bool {
    match replacement {
        Some(text) => {
            *value = Value::String(Cow::Owned(text));
            true
        }
        None => false,
    }
}

/// Exactly what `marker` writes: anything else around or inside it (a value planted as
/// `<redacted: 1 bytes>SECRET<redacted: 1 bytes>`) is a value like any other.
fn is_marker(s: &str) -> bool {
    s.strip_prefix("<redacted: ")
        .and_then(|rest| rest.strip_suffix(" bytes>"))
        .is_some_and(|n| {
            (1..=20).contains(&n.len())
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n == "0" || !n.starts_with('0'))
        })
}

/// Every value stored under `key`, matched as Go matches a struct field.
fn all<'v, 'a>(obj: &'v Object<'a>, key: &'static str) -> impl Iterator<Item = &'v Value<'a>> {
    obj.iter()
        .filter(move |(k, _)| key_is(k, key))
        .map(|(_, v)| v)
}

/// True when any `kind` of the object is `kind`.
fn has_kind(obj: &Object<'_>, kind: &str) -> bool {
    all(obj, "kind").any(|k| is_one_of(k, &[kind]))
}

fn is_one_of(value: &Value<'_>, names: &[&str]) -> bool {
    matches!(value, Value::String(s) if names.iter().any(|name| key_is(s, name)))
}

/// True when any copy of `key` in `obj` is the string `want`.
fn field_is(obj: &Value<'_>, key: &'static str, want: &str) -> bool {
    match obj {
        Value::Object(obj) => all(obj, key).any(|v| is_one_of(v, &[want])),
        _ => false,
    }
}

/// Go's encoding/json matches a key to a struct field case-insensitively, and Unicode
/// folds `ſ` (U+017F) to `s` and the Kelvin sign (U+212A) to `k`: `DATA`, `Data` and
/// `ſtringData` all reach a Secret's fields (the apiserver before 1.23, and clients).
#[inline]
pub(crate) fn key_is(key: &str, want: &str) -> bool {
    // The hot case (every key of every event is asked): same length, ASCII case.
    if key.len() == want.len() {
        return key.eq_ignore_ascii_case(want);
    }
    // A folding character takes 2 or 3 bytes in UTF-8 for the 1 of its ASCII letter.
    key.len() > want.len()
        && key.len() <= want.len() * 3
        && !key.is_ascii()
        && key.chars().map(fold).eq(want.chars().map(fold))
}

fn fold(c: char) -> char {
    match c {
        '\u{17f}' => 's',
        '\u{212a}' => 'k',
        c => c.to_ascii_lowercase(),
    }
}

fn contains_folded(text: &str, needle: &str) -> bool {
    if text.is_ascii() {
        text.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    } else {
        text.chars().map(fold).collect::<String>().contains(needle)
    }
}

fn encode(v: &Value<'_>) -> String {
    simd_json::prelude::Writable::encode(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

    /// The event redacted, checked to be a fixed point of the redactor.
    fn redacted(json: &str, secrets: bool) -> String {
        let mut bytes = json.as_bytes().to_vec();
        let mut v = simd_json::to_borrowed_value(&mut bytes).unwrap();
        redact_event(&mut v, secrets);
        let once = encode(&v);
        assert!(!redact_event(&mut v, secrets), "not idempotent: {once}");
        once
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

    const SECRET_VALUE: &str = "U0VDUkVU";

    fn assert_hidden(out: &str) {
        assert!(!out.contains(SECRET_VALUE), "{out}");
    }

    /// An event of `verb` on `resource` with these extra top-level fields.
    fn on(resource: &str, fields: &str) -> String {
        format!(r#"{{"verb":"patch","objectRef":{{"resource":"{resource}","name":"x"}},{fields}}}"#)
    }

    /// The JSON string of `text` (for annotations and bodies logged as strings).
    fn quoted(text: &str) -> String {
        serde_json::to_string(text).unwrap()
    }

    #[test]
    fn webhook_patches_logged_in_the_event_annotations() {
        let record = |patch: &str| {
            quoted(&format!(
                r#"{{"configuration":"inject","webhook":"w.example.com","patch":{patch},"patchType":"JSONPatch"}}"#
            ))
        };
        let event = |value: &str| {
            on(
                "secrets",
                &format!(
                    r#""annotations":{{"patch.webhook.admission.k8s.io/round_0_index_0":{value},"authorization.k8s.io/decision":"allow"}}"#
                ),
            )
        };
        let ops = format!(
            r#"[{{"op":"add","path":"/data/k","value":"{SECRET_VALUE}"}},{{"op":"add","path":"/metadata/labels/app","value":"web"}}]"#
        );
        let out = redacted(&event(&record(&ops)), false);
        assert_hidden(&out);
        // The record stays readable: which webhook, which keys, the harmless values.
        assert!(
            out.contains("w.example.com") && out.contains("/data/k"),
            "{out}"
        );
        assert!(out.contains("web") && out.contains(r#""allow""#), "{out}");
        // A patch logged as a string (of JSON, or base64) cannot be told apart: whole.
        for patch in [quoted(&ops), quoted("W3sib3AiOiJhZGQifV0=")] {
            let out = redacted(&event(&record(&patch)), false);
            assert_hidden(&out);
            assert!(!out.contains("W3sib3Ai"), "{out}");
            assert!(out.contains("w.example.com"), "{out}");
        }
        // An annotation of that name that is not JSON, or the bare list of operations.
        let text = format!("patch: add /data/k {SECRET_VALUE}");
        assert_hidden(&redacted(&event(&quoted(&text)), false));
        assert_hidden(&redacted(&event(&quoted(&ops)), false));
        // A webhook's operations on metadata, with copies that carry no kind.
        let kindless = quoted(&format!(r#"{{"data":{{"k":"{SECRET_VALUE}"}}}}"#));
        let metadata = format!(
            r#"[{{"op":"add","path":"/metadata","value":{{"annotations":{{"a":{kindless}}}}}}},{{"op":"add","path":"/metadata/annotations","value":{{"b":{kindless}}}}},{{"op":"add","path":"/metadata/annotations/c","value":"data: {SECRET_VALUE}"}}]"#
        );
        assert_hidden(&redacted(&event(&record(&metadata)), false));
        // The same webhook patching a ConfigMap keeps its values.
        let cm = redacted(
            &event(&record(&ops)).replace("secrets", "configmaps"),
            false,
        );
        assert!(cm.contains(SECRET_VALUE), "{cm}");
    }

    #[test]
    fn every_annotation_copy_of_a_secret_whatever_its_key() {
        let secret = |key: &str, value: &str| {
            format!(
                r#"{{"responseObject":{{"kind":"Secret","metadata":{{"annotations":{{"{key}":{}}}}}}}}}"#,
                quoted(value)
            )
        };
        let json = format!(r#"{{"kind":"Secret","data":{{"k":"{SECRET_VALUE}"}}}}"#);
        for (key, value) in [
            ("kapp.k14s.io/original", json.clone()),
            ("example.com/anything", json.clone()),
            // A copy of a copy: JSON in a string in the JSON.
            ("example.com/twice", quoted(&json)),
            // The copy's own annotations hold another.
            (
                "example.com/nested",
                format!(
                    r#"{{"metadata":{{"annotations":{{"{LAST_APPLIED}":{}}}}}}}"#,
                    quoted(&json)
                ),
            ),
            // YAML, JSON the parser rejects, and a key hidden behind an escape.
            (
                "example.com/yaml",
                format!("kind: Secret\ndata:\n  k: {SECRET_VALUE}\n"),
            ),
            (
                "example.com/flow",
                format!("{{Data: {{k: {SECRET_VALUE}}}}}"),
            ),
            (
                LAST_APPLIED,
                format!(r#"{{"data":{{"k":"{SECRET_VALUE}"}},"n":1e999999999}}"#),
            ),
            (
                "example.com/escaped",
                format!(r#"{{"d\u0061ta":{{"k":"{SECRET_VALUE}"}},]"#),
            ),
        ] {
            assert_hidden(&redacted(&secret(key, &value), false));
        }
        // Plain annotations of a Secret stay readable.
        for plain in ["default", "3", "true", r#"{"a":"b"}"#, "\"quoted\""] {
            let out = redacted(&secret("kubernetes.io/service-account.name", plain), false);
            assert!(out.contains(&quoted(plain)), "{out}");
        }
        // On another object, an annotation is redacted only where it holds a Secret.
        let cm = |value: &str| {
            redacted(
                &format!(
                    r#"{{"responseObject":{{"kind":"ConfigMap","metadata":{{"annotations":{{"kapp.k14s.io/original":{}}}}}}}}}"#,
                    quoted(value)
                ),
                false,
            )
        };
        assert_hidden(&cm(&json));
        assert_hidden(&cm(&format!("kind: Secret\ndata:\n  k: {SECRET_VALUE}\n")));
        let plain = cm(&format!(
            r#"{{"kind":"ConfigMap","data":{{"k":"{SECRET_VALUE}"}}}}"#
        ));
        assert!(plain.contains(SECRET_VALUE), "{plain}");
    }

    #[test]
    fn patch_paths_are_read_as_the_apiserver_reads_them() {
        let copy = quoted(&format!(
            r#"{{"kind":"Secret","data":{{"k":"{SECRET_VALUE}"}}}}"#
        ));
        for op in [
            // Text before the first `/` is ignored by the json-patch library.
            format!(r#"{{"op":"add","path":"x/data/k","value":"{SECRET_VALUE}"}}"#),
            format!(r#"{{"op":"add","path":"x/stringData","value":{{"k":"{SECRET_VALUE}"}}}}"#),
            format!(r#"{{"op":"add","path":"/Data/k","value":"{SECRET_VALUE}"}}"#),
            format!(r#"{{"op":"add","path":"/data/k/x","value":{{"v":"{SECRET_VALUE}"}}}}"#),
            format!(
                r#"{{"op":"add","path":"/metadata","value":{{"annotations":{{"a":{copy}}}}}}}"#
            ),
            format!(r#"{{"op":"add","path":"/metadata/annotations","value":{{"a":{copy}}}}}"#),
            format!(
                r#"{{"op":"add","path":"/metadata/annotations/kapp.k14s.io~1original","value":{copy}}}"#
            ),
            format!(r#"{{"op":"replace","path":"","value":{{"data":{{"k":"{SECRET_VALUE}"}}}}}}"#),
            format!(r#"{{"op":"add","path":"/","value":"{SECRET_VALUE}"}}"#),
            format!(r#"{{"op":"add","path":"/unknown","value":"{SECRET_VALUE}"}}"#),
            format!(r#"{{"op":"test","path":"/data/k","value":"{SECRET_VALUE}"}}"#),
            format!(r#"{{"op":"add","Path":"/data/k","Value":"{SECRET_VALUE}"}}"#),
            // No path, or one that is not a string: the target cannot be decided.
            format!(r#"{{"op":"add","value":"{SECRET_VALUE}"}}"#),
            format!(r#"{{"op":"add","path":7,"value":"{SECRET_VALUE}"}}"#),
            // Not an operation at all.
            format!(r#"["add","/data/k","{SECRET_VALUE}"]"#),
        ] {
            let out = redacted(&on("secrets", &format!(r#""requestObject":[{op}]"#)), false);
            assert_hidden(&out);
        }
        // Labels, names and moves keep what they say.
        let out = redacted(
            &on(
                "secrets",
                r#""requestObject":[{"op":"add","path":"/metadata/labels/app","value":"web"},{"op":"move","from":"/data/a","path":"/data/b"}]"#,
            ),
            false,
        );
        assert!(
            out.contains(r#""value":"web""#) && out.contains("/data/a"),
            "{out}"
        );
    }

    #[test]
    fn a_data_value_copied_elsewhere_in_its_secret_is_hidden_there_too() {
        // `{"op":"copy","from":"/data/k","path":"/metadata/annotations/a"}` earlier: every
        // read of the Secret now logs the value in an annotation and a label.
        let out = redacted(
            &format!(
                r#"{{"responseObject":{{"kind":"Secret","metadata":{{"name":"db","labels":{{"l":"{SECRET_VALUE}"}},"annotations":{{"a":"{SECRET_VALUE}","b":"x {SECRET_VALUE} y","c":"plain"}}}},"data":{{"k":"{SECRET_VALUE}","short":"YQ=="}}}}}}"#
            ),
            false,
        );
        assert_hidden(&out);
        assert!(
            out.contains(r#""name":"db""#) && out.contains(r#""c":"plain""#),
            "{out}"
        );
    }

    /// A password, its base64 (as `data` holds it) and a stringData value's base64.
    const PLAIN: &str = "hunter2<&>x";
    const STORED: &str = "aHVudGVyMjwmPng=";
    const TEXT_STORED: &str = "c3RyaW5nLXBhc3N3b3Jk";

    fn assert_no_echo(out: &str) {
        for echo in [PLAIN, STORED, "string-password", TEXT_STORED, SECRET_VALUE] {
            assert!(!out.contains(echo), "{echo}: {out}");
        }
        // Go's encoder writes `<`, `>` and `&` escaped in JSON text.
        assert!(!out.contains(r"hunter2\\u003c"), "{out}");
    }

    #[test]
    fn values_echoed_outside_the_bodies_are_hidden_there_in_either_form() {
        assert_eq!(base64_encode(PLAIN.as_bytes()), STORED);
        assert_eq!(base64_decode(STORED).as_deref(), Some(PLAIN));
        assert_eq!(base64_decode("aHVudGVyMjwmPng").as_deref(), Some(PLAIN));
        assert_eq!(base64_decode("not base64!"), None);
        let secret = format!(
            r#""requestObject":{{"kind":"Secret","metadata":{{"name":"db"}},"data":{{"password":"{STORED}"}},"stringData":{{"other":"string-password"}}}}"#
        );
        let failure = quoted(
            r#"[{"message":"password must not be hunter2\u003c\u0026\u003ex","policy":"no-weak","binding":"b","validationActions":["Audit"]}]"#,
        );
        let event = format!(
            r#"{{"verb":"create","user":{{"username":"db"}},"objectRef":{{"resource":"secrets","name":"db"}},{secret},"responseStatus":{{"metadata":{{}},"status":"Failure","message":"denied: data.password {PLAIN} is leaked","reason":"{STORED}","details":{{"name":"db","kind":"secrets","causes":[{{"reason":"FieldValueForbidden","message":"stringData as sent: {TEXT_STORED}","field":"data[password]"}}]}},"code":400}},"responseObject":{{"kind":"Status","apiVersion":"v1","status":"Failure","message":"echo {STORED}"}},"annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed","validation.policy.admission.k8s.io/validation_failure":{failure},"no-weak.policy.example.com/offending":"{STORED}","webhook.example.com/plain":"{PLAIN}"}},"forwarder":{{"copy":"x {PLAIN}"}}}}"#
        );
        let out = redacted(&event, false);
        assert_no_echo(&out);
        // What an investigator reads stays: who, on what, the policy and its binding,
        // the code and the API's words, the authorizer's reason.
        for kept in [
            r#""username":"db""#,
            r#""name":"db""#,
            r#"\"policy\":\"no-weak\""#,
            r#""status":"Failure""#,
            r#""reason":"FieldValueForbidden""#,
            r#""field":"data[password]""#,
            r#""code":400"#,
            "RBAC: allowed",
        ] {
            assert!(out.contains(kept), "{kept}: {out}");
        }
        // A patch's values, and a mutating webhook's, are echoes too; a label is not.
        let patch = format!(
            r#"{{"objectRef":{{"resource":"secrets"}},"requestObject":[{{"op":"add","path":"/data/k","value":"{STORED}"}},{{"op":"add","path":"/metadata/labels/team","value":"payments"}}],"annotations":{{"patch.webhook.admission.k8s.io/round_0_index_0":{},"policy.example.com/a":"{PLAIN} payments","policy.example.com/b":"{SECRET_VALUE}","policy.example.com/c":"team payments"}}}}"#,
            quoted(&format!(
                r#"{{"webhook":"w","patch":[{{"op":"add","path":"/stringData/x","value":"{SECRET_VALUE}"}}]}}"#
            ))
        );
        let out = redacted(&patch, false);
        assert_no_echo(&out);
        assert!(
            out.contains(r#""policy.example.com/c":"team payments""#),
            "{out}"
        );
        // A Secret read on another request (a Table of them) is looked for as well.
        let table = format!(
            r#"{{"responseObject":{{"kind":"Table","rows":[{{"object":{{"kind":"Secret","data":{{"k":"{STORED}"}}}}}}]}},"annotations":{{"x":"{PLAIN}"}}}}"#
        );
        assert_no_echo(&redacted(&table, false));
        // Values too short to mean anything are not looked for.
        let short = redacted(
            r#"{"objectRef":{"resource":"secrets"},"requestObject":{"data":{"k":"YWRtaW4="}},"responseStatus":{"message":"user admin may not"}}"#,
            false,
        );
        assert!(short.contains("user admin may not"), "{short}");
    }

    #[test]
    fn admission_text_is_hidden_whole_when_the_secret_cannot_be_read() {
        // A salvaged line: the body (or a member of it) was replaced by a marker.
        let unreadable = [
            r#""requestObject":"<unreadable: 4000 bytes>""#.to_string(),
            format!(
                r#""requestObject":{{"data":{{"k":"{STORED}"}},"junk":"<unreadable: 9 bytes>"}}"#
            ),
            r#""requestObject":{"kind":"Secret","data":"<unreadable: 90 bytes>"}"#.to_string(),
        ];
        for body in unreadable {
            let event = format!(
                r#"{{"verb":"create","objectRef":{{"resource":"secrets","name":"db"}},{body},"responseStatus":{{"status":"Failure","message":"denied: {PLAIN}","reason":"NotAWord{PLAIN}","code":400}},"annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed","no-weak.policy.example.com/offending":"{PLAIN}","mutation.webhook.admission.k8s.io/round_0_index_0":"{{\"configuration\":\"inject\",\"webhook\":\"w.example.com\",\"mutated\":true}}"}},"kaudit.salvaged":"bad-string"}}"#
            );
            let out = redacted(&event, false);
            assert_no_echo(&out);
            for kept in [
                r#""status":"Failure""#,
                r#""code":400"#,
                "RBAC: allowed",
                "w.example.com",
                r#""kaudit.salvaged":"bad-string""#,
            ] {
                assert!(out.contains(kept), "{kept}: {out}");
            }
        }
        // An unreadable member of another object's body says nothing of a Secret.
        let cm = redacted(
            r#"{"objectRef":{"resource":"configmaps"},"requestObject":{"data":"<unreadable: 9 bytes>"},"responseStatus":{"message":"denied: not allowed"}}"#,
            false,
        );
        assert!(cm.contains("denied: not allowed"), "{cm}");
    }

    #[test]
    fn keys_match_as_go_matches_them() {
        for body in [
            format!(r#"{{"Kind":"Secret","Data":{{"k":"{SECRET_VALUE}"}}}}"#),
            format!(r#"{{"kind":"SECRET","DATA":{{"k":"{SECRET_VALUE}"}}}}"#),
            // U+017F and U+212A fold to `s` and `k` in Go.
            format!(r#"{{"kind":"Secret","\u017ftringData":{{"k":"{SECRET_VALUE}"}}}}"#),
            format!(r#"{{"\u212aind":"Secret","data":{{"k":"{SECRET_VALUE}"}}}}"#),
        ] {
            let out = redacted(&format!(r#"{{"RequestObject":{body}}}"#), false);
            assert_hidden(&out);
        }
        assert!(key_is("ſtringData", "stringData") && key_is("KIND", "kind"));
        assert!(!key_is("datum", "data") && !key_is("dataa", "data"));
    }

    #[test]
    fn only_the_exact_marker_counts_as_redacted() {
        assert!(is_marker(&marker(0)) && is_marker(&marker(123)));
        for fake in [
            format!("<redacted: 1 bytes>{SECRET_VALUE}<redacted: 1 bytes>"),
            format!("<redacted: {SECRET_VALUE} bytes>"),
            "<redacted:  bytes>".to_string(),
            "<redacted: 01 bytes>".to_string(),
            "<redacted: -1 bytes>".to_string(),
        ] {
            assert!(!is_marker(&fake), "{fake}");
        }
        let out = redacted(
            &format!(
                r#"{{"requestObject":{{"kind":"Secret","data":{{"k":"<redacted: 1 bytes>{SECRET_VALUE}<redacted: 1 bytes>"}}}}}}"#
            ),
            false,
        );
        assert_hidden(&out);
    }

    #[test]
    fn bodies_logged_as_strings() {
        let secret = format!(r#"{{"kind":"Secret","data":{{"k":"{SECRET_VALUE}"}}}}"#);
        for body in [quoted(&secret), quoted(&quoted(&secret))] {
            let out = redacted(
                &on("configmaps", &format!(r#""responseObject":{body}"#)),
                false,
            );
            assert_hidden(&out);
            assert!(out.contains("redacted: 8 bytes"), "{out}");
        }
        // On Secrets: a merge patch as a string, YAML, a number.
        for body in [
            quoted(&format!(r#"{{"data":{{"k":"{SECRET_VALUE}"}}}}"#)),
            quoted(&format!("data:\n  k: {SECRET_VALUE}\n")),
            "12345678".to_string(),
        ] {
            let out = redacted(&on("secrets", &format!(r#""requestObject":{body}"#)), false);
            assert_hidden(&out);
            assert!(!out.contains("12345678"), "{out}");
        }
        // Elsewhere, text that is not JSON stays unless it may be a Secret.
        let text = redacted(&on("configmaps", r#""requestObject":"just text""#), false);
        assert!(text.contains("just text"), "{text}");
        let yaml = quoted(&format!("kind: Secret\ndata:\n  k: {SECRET_VALUE}\n"));
        assert_hidden(&redacted(
            &on("configmaps", &format!(r#""requestObject":{yaml}"#)),
            false,
        ));
    }

    #[test]
    fn every_copy_of_object_ref_and_the_request_uri_decide_secrets() {
        let patch = format!(r#""requestObject":{{"data":{{"k":"{SECRET_VALUE}"}}}}"#);
        for event in [
            format!(
                r#"{{"objectRef":{{"resource":"configmaps"}},"objectRef":{{"resource":"secrets"}},{patch}}}"#
            ),
            format!(
                r#"{{"objectRef":{{"resource":"secrets"}},"objectRef":{{"resource":"configmaps"}},{patch}}}"#
            ),
            format!(r#"{{"objectRef":{{"resource":"secrets","resource":"configmaps"}},{patch}}}"#),
            format!(r#"{{"ObjectRef":{{"Resource":"secrets"}},{patch}}}"#),
            format!(r#"{{"requestURI":"/api/v1/namespaces/ns/secrets/x?fieldManager=k",{patch}}}"#),
            format!(r#"{{"requestURI":"/api/v1/namespaces/ns/%73ecrets/x",{patch}}}"#),
        ] {
            assert_hidden(&redacted(&event, false));
        }
        // A ConfigMap (or a namespace) named `secrets` is not a Secret.
        for uri in [
            "/api/v1/namespaces/ns/configmaps/secrets",
            "/api/v1/namespaces/secrets",
        ] {
            let out = redacted(&format!(r#"{{"requestURI":"{uri}",{patch}}}"#), false);
            assert!(out.contains(SECRET_VALUE), "{out}");
        }
        assert_eq!(
            uri_resource("/apis/g/v1/secrets").as_deref(),
            Some("secrets")
        );
        assert_eq!(uri_resource("/healthz"), None);
        assert_eq!(uri_resource("/api/v1"), None);
        let resource = |uri| uri_resource(uri).map(|r| r.into_owned());
        assert_eq!(
            resource("/api/v1/namespaces/ns/%73ecrets/x").unwrap(),
            "secrets"
        );
        assert_eq!(
            resource("/api/v1/namespaces/secrets").unwrap(),
            "namespaces"
        );
        assert_eq!(resource("/api/v1/namespaces").unwrap(), "namespaces");
        assert_eq!(resource("/apis/g/v1/namespaces/n/x/y").unwrap(), "x");
    }

    #[test]
    fn every_copy_of_a_token_and_token_bodies_without_kind() {
        for event in [
            format!(
                r#"{{"responseObject":{{"kind":"TokenRequest","status":{{"token":"x"}},"status":{{"token":"{SECRET_VALUE}"}}}}}}"#
            ),
            format!(
                r#"{{"requestObject":{{"kind":"TokenReview","spec":{{"token":"{SECRET_VALUE}","token":"x"}}}}}}"#
            ),
            format!(
                r#"{{"objectRef":{{"resource":"serviceaccounts","subresource":"token"}},"responseObject":{{"status":{{"token":"{SECRET_VALUE}"}}}}}}"#
            ),
            format!(
                r#"{{"objectRef":{{"resource":"tokenreviews"}},"requestObject":{{"Spec":{{"Token":"{SECRET_VALUE}"}}}}}}"#
            ),
        ] {
            assert_hidden(&redacted(&event, false));
        }
    }

    #[test]
    fn lists_and_copies_without_kind() {
        // On a request on Secrets, everything in the body is a Secret's.
        let list = format!(
            r#""responseObject":{{"items":[{{"metadata":{{"name":"x"}},"data":{{"k":"{SECRET_VALUE}"}}}}]}}"#
        );
        assert_hidden(&redacted(&on("secrets", &list), false));
        // Elsewhere, a Secret is known by the fields only it has.
        for item in [
            format!(r#"{{"type":"Opaque","data":{{"k":"{SECRET_VALUE}"}}}}"#),
            format!(r#"{{"stringData":{{"k":"{SECRET_VALUE}"}}}}"#),
        ] {
            let out = redacted(
                &on(
                    "configmaps",
                    &format!(r#""responseObject":{{"items":[{item}]}}"#),
                ),
                false,
            );
            assert_hidden(&out);
        }
        let cm = redacted(
            &on(
                "configmaps",
                &format!(r#""responseObject":{{"items":[{{"data":{{"k":"{SECRET_VALUE}"}}}}]}}"#),
            ),
            false,
        );
        assert!(cm.contains(SECRET_VALUE), "{cm}");
    }
}
