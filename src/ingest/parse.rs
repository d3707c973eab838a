//! One line of a log → zero or more normalized audit events, or a reason it was rejected.
//!
//! Accepts `audit.k8s.io` Events (v1, v1beta1, or no apiVersion), webhook `EventList`s,
//! AKS diagnostic records (`properties.log` as a string or an object, and Event Hubs
//! `{"records":[…]}` batches), GKE Cloud Audit LogEntries (rebuilt as Events by `gke`,
//! alone, in arrays or in an `{"entries":[…]}` answer) and JSON arrays of events. Secret
//! values are redacted here, before an event leaves this module.

use std::fmt;

use simd_json::{BorrowedValue as Value, StaticNode};
use xxhash_rust::xxh3::Xxh3;

use super::redact;
use crate::model::Request;
use crate::model::normalize::{Invalid, get, normalize, type_name};

/// Identity of one API request across its stages: auditID plus the fields every stage of
/// a request shares (not impersonatedUser: the apiserver logs RequestReceived before it
/// resolves impersonation, so only later stages carry it). Placeholder auditIDs reused by different fixtures, and an aggregated
/// API server's copy of a request (received later), therefore stay separate requests,
/// while copies of the same log collapse. Events without an auditID are keyed by content.
pub type RequestKey = u128;

/// A normalized event and the redacted JSON kept for display.
pub struct ParsedEvent<'a> {
    pub request: Request<'a>,
    pub json: &'a [u8],
    pub key: RequestKey,
    /// Size of the event in the log: its line, or its re-encoded JSON when it came
    /// inside an envelope.
    pub bytes: u64,
}

/// Why a line (or one item of an envelope) was not indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    InvalidJson(String),
    InvalidUtf8 {
        column: usize,
    },
    Binary {
        column: usize,
    },
    TooLong {
        bytes: u64,
        limit: usize,
    },
    Truncated,
    NotAnObject(&'static str),
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    NotAnAuditEvent(String),
    NoAuditFields,
}

impl Rejection {
    /// A short, stable class used to group rejections in the summary.
    pub fn class(&self) -> &'static str {
        match self {
            Rejection::InvalidJson(_) => "malformed JSON",
            Rejection::InvalidUtf8 { .. } => "invalid UTF-8",
            Rejection::Binary { .. } => "binary data",
            Rejection::TooLong { .. } => "line too long",
            Rejection::Truncated => "truncated final line",
            Rejection::NotAnObject(_) => "not a JSON object",
            Rejection::WrongType { .. } => "wrong field type",
            Rejection::NotAnAuditEvent(_) => "not an audit event",
            Rejection::NoAuditFields => "no audit fields",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::InvalidJson(e) => write!(f, "malformed JSON: {e}"),
            Rejection::InvalidUtf8 { column } => {
                write!(f, "invalid UTF-8 at column {column}")
            }
            Rejection::Binary { column } => write!(f, "binary data (NUL byte at column {column})"),
            Rejection::TooLong { bytes, limit } => write!(
                f,
                "line of {bytes} bytes is over --max-line-bytes {limit}; skipped"
            ),
            Rejection::Truncated => write!(
                f,
                "truncated final line (no newline at end of file and not valid JSON)"
            ),
            Rejection::NotAnObject(found) => {
                write!(f, "expected a JSON object (an audit Event), found {found}")
            }
            Rejection::WrongType {
                field,
                expected,
                found,
            } => write!(f, "field {field}: expected {expected}, found {found}"),
            Rejection::NotAnAuditEvent(why) => write!(f, "not an audit event: {why}"),
            Rejection::NoAuditFields => write!(
                f,
                "no audit fields (auditID, verb, requestURI, user, objectRef) in this object"
            ),
        }
    }
}

/// Reusable parsing state: simd-json buffers and scratch copies, so a run allocates
/// little per line.
#[derive(Default)]
pub struct Parser {
    /// The record being parsed was rebuilt by `salvage`: its `kaudit.salvaged` key is
    /// kaudit's own. In any other record the key is a forgery and is dropped.
    pub(crate) rebuilt: bool,
    scratch: Vec<u8>,
    buffers: simd_json::Buffers,
    inner: Vec<u8>,
    encoded: Vec<u8>,
}

/// What the parser hands on: an event, or one item of an envelope that was rejected.
pub type Item<'a> = Result<ParsedEvent<'a>, Rejection>;

/// The callback that receives each item, with its index inside an envelope.
pub type Emit<'f, E> = dyn FnMut(Option<usize>, Item<'_>) -> Result<(), E> + 'f;

impl Parser {
    /// True if `bytes` is one complete JSON value.
    pub fn is_valid_json(&mut self, bytes: &[u8]) -> bool {
        self.scratch.clear();
        self.scratch.extend_from_slice(bytes);
        // As ingest parses (the tape alone accepts `{"a":}`).
        simd_json::to_borrowed_value_with_buffers(&mut self.scratch, &mut self.buffers).is_ok()
    }

    /// Parses one line (without its newline). `emit` is called once per event or rejected
    /// envelope item, with the item's index inside an envelope (`None` for a plain event).
    /// Returns the line's own rejection, if the line as a whole is unusable.
    pub fn parse_line<E>(
        &mut self,
        line: &[u8],
        emit: &mut Emit<'_, E>,
    ) -> Result<Result<(), Rejection>, E> {
        let line = trim(line);
        if let Some(column) = memchr::memchr(0, line) {
            return Ok(Err(Rejection::Binary { column: column + 1 }));
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(line);
        let value =
            match simd_json::to_borrowed_value_with_buffers(&mut self.scratch, &mut self.buffers) {
                Ok(v) => v,
                Err(e) => return Ok(Err(json_error(line, &e))),
            };
        let mut ctx = Ctx {
            rebuilt: self.rebuilt,
            inner: &mut self.inner,
            encoded: &mut self.encoded,
            emit,
        };
        ctx.dispatch(value, line)
    }
}

/// Strips a UTF-8 BOM, surrounding whitespace and a CR (CRLF files).
pub fn trim(mut line: &[u8]) -> &[u8] {
    if let Some(rest) = line.strip_prefix(b"\xef\xbb\xbf") {
        line = rest;
    }
    line.trim_ascii()
}

fn json_error(line: &[u8], e: &simd_json::Error) -> Rejection {
    if let Err(u) = std::str::from_utf8(line) {
        return Rejection::InvalidUtf8 {
            column: u.valid_up_to() + 1,
        };
    }
    Rejection::InvalidJson(e.to_string())
}

/// Where a key of the envelope repeats (a forwarder's or a hostile file's shape; the
/// apiserver writes none), only its last copy is kept, as Go's decoder keeps it: what
/// kaudit indexes and stores is what the apiserver and every Go tool would read, and
/// `get` can take the first copy. Returns whether anything was dropped. Costs a pass
/// over the keys when none repeats.
fn keep_last_copies(event: &mut Value<'_>) -> bool {
    let Value::Object(obj) = event else {
        return false;
    };
    let mut changed = keep_last(obj);
    for key in [
        "user",
        "impersonatedUser",
        "objectRef",
        "responseStatus",
        "annotations",
    ] {
        if let Some(Value::Object(inner)) = obj.get_mut(key) {
            changed |= keep_last(inner);
            if let Some(Value::Object(extra)) = inner.get_mut("extra") {
                changed |= keep_last(extra);
            }
        }
    }
    changed
}

fn keep_last(obj: &mut simd_json::borrowed::Object<'_>) -> bool {
    if !has_repeated_key(obj) {
        return false;
    }
    // One pass, whatever the number of keys: a client can send 50,000 headers as
    // impersonated extras, and a hostile file any number of keys.
    let entries: Vec<_> = obj.drain().collect();
    let mut last = std::collections::HashMap::with_capacity(entries.len());
    for (i, (key, _)) in entries.iter().enumerate() {
        last.insert(key.clone(), i);
    }
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if last.get(&key) == Some(&i) {
            obj.insert(key, value);
        }
    }
    true
}

/// Whether any key of `obj` repeats: pairwise, cheap by length first, for the small
/// objects of every event; hashed for large ones.
fn has_repeated_key(obj: &simd_json::borrowed::Object<'_>) -> bool {
    if obj.len() <= 32 {
        return obj.iter().enumerate().any(|(i, (a, _))| {
            obj.iter()
                .skip(i + 1)
                .any(|(b, _)| a.len() == b.len() && a == b)
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(obj.len());
    obj.iter().any(|(k, _)| !seen.insert(k.as_ref()))
}

struct Ctx<'p, E> {
    rebuilt: bool,
    inner: &'p mut Vec<u8>,
    encoded: &'p mut Vec<u8>,
    emit: &'p mut Emit<'p, E>,
}

impl<E> Ctx<'_, E> {
    /// Decides what the top-level value is and emits the events it holds.
    fn dispatch(&mut self, value: Value<'_>, raw: &[u8]) -> Result<Result<(), Rejection>, E> {
        let mut obj = match value {
            Value::Array(items) => return self.items(*items),
            Value::Object(obj) => obj,
            other => return Ok(Err(Rejection::NotAnObject(type_name(&other)))),
        };
        if super::gke::is_log_entry(&obj) {
            return self.gke_entry(*obj, None);
        }
        if matches!(obj.get("kind"), Some(Value::String(k)) if k == "EventList") {
            return match obj.remove("items") {
                Some(Value::Array(items)) => self.items(*items),
                Some(other) => Ok(Err(wrong_type("items", "an array", &other))),
                None => Ok(Ok(())),
            };
        }
        let batch = match obj.remove("records") {
            Some(records) => Some(records),
            None if super::gke::is_entries_answer(&obj) => obj.remove("entries"),
            None => None,
        };
        if let Some(records) = batch {
            return match records {
                Value::Array(items) => self.items(*items),
                other => Ok(Err(wrong_type("records", "an array", &other))),
            };
        }
        let value = Value::Object(obj);
        if get(&value, "properties").is_some() {
            return self.aks_record(value, None);
        }
        self.event(value, Some(raw), None)
    }

    /// Items of an EventList, a records batch or an array: events or AKS records. A bad
    /// item is reported on its own; the others are still indexed.
    fn items(&mut self, items: Vec<Value<'_>>) -> Result<Result<(), Rejection>, E> {
        for (i, item) in items.into_iter().enumerate() {
            let outcome = match item {
                Value::Object(entry) if super::gke::is_log_entry(&entry) => {
                    self.gke_entry(*entry, Some(i))?
                }
                item if get(&item, "properties").is_some() => self.aks_record(item, Some(i))?,
                item => self.event(item, None, Some(i))?,
            };
            if let Err(rejection) = outcome {
                (self.emit)(Some(i), Err(rejection))?;
            }
        }
        Ok(Ok(()))
    }

    /// GKE Cloud Audit LogEntry: rebuilt as the Event it records, then handled as one.
    fn gke_entry(
        &mut self,
        entry: simd_json::borrowed::Object<'_>,
        index: Option<usize>,
    ) -> Result<Result<(), Rejection>, E> {
        match super::gke::to_event(entry) {
            Ok(event) => self.event(event, None, index),
            Err(rejection) => Ok(Err(rejection)),
        }
    }

    /// AKS diagnostic record: `{"category":"kube-audit","properties":{"log":…}}`, where
    /// `log` is the event as a JSON string (often ending in a newline) or an object.
    fn aks_record(
        &mut self,
        record: Value<'_>,
        index: Option<usize>,
    ) -> Result<Result<(), Rejection>, E> {
        if let Some(Value::String(category)) = get(&record, "category")
            && !category.starts_with("kube-audit")
        {
            return Ok(Err(Rejection::NotAnAuditEvent(format!(
                "AKS record of category {category:?} (only kube-audit records hold audit events)"
            ))));
        }
        let Value::Object(mut obj) = record else {
            return Ok(Err(Rejection::NotAnObject("a non-object record")));
        };
        let log = match obj.get_mut("properties") {
            Some(Value::Object(props)) => props.remove("log"),
            _ => None,
        };
        match log {
            Some(Value::String(text)) => {
                let mut buf = std::mem::take(self.inner);
                buf.clear();
                buf.extend_from_slice(text.trim_end().as_bytes());
                let raw = buf.clone();
                let outcome = match simd_json::to_borrowed_value(&mut buf) {
                    Ok(event @ Value::Object(_)) => self.event(event, Some(&raw), index),
                    Ok(other) => Ok(Err(Rejection::NotAnObject(type_name(&other)))),
                    // The event inside the string does not parse: salvaged like a line.
                    Err(e) => match super::salvage::salvage_object(&raw) {
                        Some(mut rebuilt) => {
                            let text = rebuilt.clone();
                            match simd_json::to_borrowed_value(&mut rebuilt) {
                                Ok(event) => {
                                    let rebuilt = std::mem::replace(&mut self.rebuilt, true);
                                    let outcome = self.event(event, Some(&text), index);
                                    self.rebuilt = rebuilt;
                                    outcome
                                }
                                Err(_) => Ok(Err(json_error(&raw, &e))),
                            }
                        }
                        None => Ok(Err(json_error(&raw, &e))),
                    },
                };
                *self.inner = raw;
                outcome
            }
            Some(event @ Value::Object(_)) => self.event(event, None, index),
            Some(other) => Ok(Err(wrong_type(
                "properties.log",
                "a string or an object",
                &other,
            ))),
            None => Ok(Err(Rejection::NotAnAuditEvent(
                "object with `properties` but no `properties.log`".into(),
            ))),
        }
    }

    /// Redacts, normalizes and emits one event. The stored JSON is the original text
    /// when nothing was redacted and the text is at hand, else the re-encoded event.
    fn event(
        &mut self,
        mut value: Value<'_>,
        raw: Option<&[u8]>,
        index: Option<usize>,
    ) -> Result<Result<(), Rejection>, E> {
        if let Err(r) = check_is_event(&value) {
            return Ok(Err(r));
        }
        let secrets = matches!(
            get(&value, "objectRef").and_then(|o| get(o, "resource")),
            Some(Value::String(r)) if r == "secrets"
        );
        // Redaction first: it reads every copy of a repeated key (the conservative
        // side), and what survives is then only the copy Go would read.
        let mut redacted = redact::redact_event(&mut value, secrets);
        redacted |= keep_last_copies(&mut value);
        if !self.rebuilt
            && let Value::Object(obj) = &mut value
            && obj.contains_key(crate::model::SALVAGED_KEY)
        {
            // Only a salvage says an event was salvaged.
            while obj.remove(crate::model::SALVAGED_KEY).is_some() {}
            redacted = true;
        }
        let bytes = raw.map_or(0, <[u8]>::len);
        let json: &[u8] = match raw {
            Some(raw) if !redacted => raw,
            _ => {
                self.encoded.clear();
                simd_json::prelude::Writable::write(&value, &mut *self.encoded)
                    .expect("writing JSON to a Vec cannot fail");
                self.encoded
            }
        };
        match normalize(&value) {
            Ok(request) => {
                let key = request_key(&request, &value, json);
                let bytes = if bytes > 0 { bytes } else { json.len() } as u64;
                let event = ParsedEvent {
                    request,
                    json,
                    key,
                    bytes,
                };
                (self.emit)(index, Ok(event))?;
                Ok(Ok(()))
            }
            Err(invalid) => Ok(Err(invalid.into())),
        }
    }
}

fn check_is_event(value: &Value<'_>) -> Result<(), Rejection> {
    if !matches!(value, Value::Object(_)) {
        return Err(Rejection::NotAnObject(type_name(value)));
    }
    match get(value, "kind") {
        None | Some(Value::Static(StaticNode::Null)) => {}
        Some(Value::String(k)) if k == "Event" => {}
        Some(Value::String(k)) => {
            return Err(Rejection::NotAnAuditEvent(format!("kind {k:?}")));
        }
        Some(other) => return Err(wrong_type("kind", "a string", other)),
    }
    match get(value, "apiVersion") {
        None | Some(Value::Static(StaticNode::Null)) => {}
        Some(Value::String(v)) if v.starts_with("audit.k8s.io/") => {}
        Some(Value::String(v)) => {
            return Err(Rejection::NotAnAuditEvent(format!(
                "apiVersion {v:?} (a Kubernetes core Event, not an audit.k8s.io Event?)"
            )));
        }
        Some(other) => return Err(wrong_type("apiVersion", "a string", other)),
    }
    Ok(())
}

fn wrong_type(field: &str, expected: &'static str, found: &Value<'_>) -> Rejection {
    crate::model::normalize::wrong_type(field, expected, found).into()
}

impl From<Invalid> for Rejection {
    fn from(invalid: Invalid) -> Rejection {
        match invalid {
            Invalid::WrongType {
                field,
                expected,
                found,
            } => Rejection::WrongType {
                field,
                expected,
                found,
            },
            Invalid::NoAuditFields => Rejection::NoAuditFields,
        }
    }
}

/// See [`RequestKey`]. The separators keep `("ab","c")` and `("a","bc")` apart.
fn request_key(r: &Request<'_>, event: &Value<'_>, json: &[u8]) -> RequestKey {
    let mut h = Xxh3::new();
    match r.audit_id {
        Some(id) => {
            // The raw receive time, not the stage time: it is the same in every stage.
            let received =
                ["requestReceivedTimestamp", "timestamp"]
                    .iter()
                    .find_map(|k| match get(event, k) {
                        Some(Value::String(s)) => Some(&**s),
                        _ => None,
                    });
            for part in [Some(id), r.verb, r.request_uri, r.user, received] {
                h.update(part.unwrap_or("").as_bytes());
                h.update(&[0xff]);
            }
        }
        None => h.update(json),
    }
    h.digest128()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_counts_by_its_last_copy_as_in_go() {
        let line = br#"{"auditID":"a","verb":"get","objectRef":{"resource":"configmaps"},"objectRef":{"resource":"secrets","name":"db"},"user":{"username":"x","username":"mallory"}}"#;
        let mut seen = Vec::new();
        let outcome = Parser::default().parse_line(line, &mut |_, item| {
            let r = item.unwrap().request;
            seen.push((r.resource.map(str::to_string), r.user.map(str::to_string)));
            Ok::<(), ()>(())
        });
        assert_eq!(outcome, Ok(Ok(())));
        assert_eq!(
            seen,
            [(Some("secrets".to_string()), Some("mallory".to_string()))]
        );
    }

    #[test]
    fn repeated_keys_cost_linear_time_however_many() {
        // 200,000 annotations, each key twice: one pass, not a pass per key (this
        // took minutes when each repeated key was looked for among all the others).
        let decision = "authorization.k8s.io/decision";
        let mut line =
            format!(r#"{{"auditID":"a","verb":"get","annotations":{{"{decision}":"allow","#);
        for i in 0..200_000 {
            line.push_str(&format!(r#""k{i}":"x","k{i}":"y","#));
        }
        line.push_str(&format!(r#""{decision}":"forbid"}}}}"#));
        let mut seen = None;
        let outcome = Parser::default().parse_line(line.as_bytes(), &mut |_, item| {
            seen = item.unwrap().request.decision.map(str::to_string);
            Ok::<(), ()>(())
        });
        assert_eq!((outcome, seen.as_deref()), (Ok(Ok(())), Some("forbid")));
    }

    #[test]
    fn a_number_beyond_64_bits_does_not_hide_an_event() {
        // Patch bodies are logged as the client sent them. Without simd-json's
        // big-int-as-float, an integer past u64 made the whole line "malformed JSON",
        // so a client could keep its own request out of the index.
        let line = br#"{"auditID":"a","verb":"patch","objectRef":{"resource":"configmaps"},"requestObject":{"data":{"n":123456789012345678901234567890}}}"#;
        let mut events = 0;
        let outcome = Parser::default().parse_line(line, &mut |_, item| {
            assert!(item.is_ok());
            events += 1;
            Ok::<(), ()>(())
        });
        assert_eq!((outcome, events), (Ok(Ok(())), 1));
    }
}
