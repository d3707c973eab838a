//! An event rebuilt from the members a lenient scan found (`scan`), for a line a strict
//! parse refused or that is over `--max-line-bytes`: every member that parses on its
//! own is kept as it was logged; one that does not (a hostile body, usually) is replaced
//! by `<unreadable: N bytes>`, and the event says why in `kaudit.salvaged`. The rebuilt
//! event is strict JSON and goes through the same parse, redaction and normalization as
//! any other line, so a request cannot keep itself out of the index with its own body.

use super::scan::{Captured, Limits, Member, Scanner, Shape};
use crate::model::{SALVAGED_KEY, UNREADABLE_PREFIX};

/// Why a line was salvaged, as the `salvaged` field holds it.
pub mod reason {
    /// The line is over `--max-line-bytes`, or a value over what a salvage keeps.
    pub const TOO_LONG: &str = "too-long";
    /// Nesting past the parser's limit (1,024).
    pub const TOO_DEEP: &str = "too-deep";
    pub const INVALID_UTF8: &str = "invalid-utf8";
    /// A lone surrogate or a bad escape in a string.
    pub const BAD_STRING: &str = "bad-string";
    /// A number the parser cannot hold (`1e400`).
    pub const BAD_NUMBER: &str = "bad-number";
    /// Anything else a strict parse refused.
    pub const INVALID_JSON: &str = "invalid-json";
}

/// The ingest summary's words for a salvaged event.
pub fn explain(reason: &str) -> String {
    if reason == reason::INVALID_UTF8 {
        return "salvaged (invalid-utf8): a value is not valid UTF-8; the request is indexed \
                with U+FFFD for the invalid bytes, as the apiserver's encoder writes them \
                (a value that is still unreadable is marked <unreadable: N bytes>)"
            .into();
    }
    let what = match reason {
        reason::TOO_LONG => "the line is over --max-line-bytes, or a value in it over 1 MiB",
        reason::TOO_DEEP => "a value nests deeper than 1,024 levels",
        reason::INVALID_UTF8 => "a value is not valid UTF-8",
        reason::BAD_STRING => "a string holds a lone surrogate or a bad escape",
        reason::BAD_NUMBER => "a number is beyond what JSON parsers hold",
        _ => "the line is not valid JSON",
    };
    format!(
        "salvaged ({reason}): {what}; the request is indexed from its envelope and the \
         unreadable values are marked <unreadable: N bytes>"
    )
}

/// The members of an event worth rebuilding it from: without one of these, the
/// object is not a readable envelope and the line stays rejected.
const ENVELOPE: [&str; 6] = [
    "auditID",
    "verb",
    "requestURI",
    "user",
    "objectRef",
    "stageTimestamp",
];

/// Members that are only checked for what they say (`kind: Event`, an `audit.k8s.io`
/// apiVersion): left out when unreadable.
const OPTIONAL: [&str; 2] = ["kind", "apiVersion"];

/// A rebuilt event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    pub json: Vec<u8>,
    pub reason: &'static str,
    /// The members replaced by a marker, for the ingest summary.
    pub unreadable: Vec<String>,
}

/// Rebuilds an event from its members. `line_reason` is why the whole line could not
/// be read when that is known before looking at members (`too-long`). None when no
/// envelope member is readable.
pub fn rebuild(members: &[Member], line_reason: Option<&'static str>) -> Option<Rebuilt> {
    let mut json = b"{".to_vec();
    let mut reason = line_reason;
    let mut unreadable = Vec::new();
    let mut envelope = false;
    let mut scratch = Vec::new();
    for member in members.iter().filter(|m| m.key != SALVAGED_KEY) {
        if OPTIONAL.contains(&member.key.as_str()) {
            let fault = match &member.value {
                Captured::Text(t) => check(t, 1, &mut scratch).err(),
                Captured::Skipped(_) => Some(reason::TOO_LONG),
            };
            if let Some(fault) = fault {
                // Better absent (as in some real fixtures) than garbled: a marker or
                // U+FFFD there would make it look like something else than an audit event.
                unreadable.push(member.key.clone());
                reason.get_or_insert(fault);
                continue;
            }
        }
        let value = match &member.value {
            Captured::Text(text) => match check(text, 1, &mut scratch) {
                Ok(()) => Some(text.clone()),
                Err(why) => {
                    reason.get_or_insert(why);
                    as_go_writes_it(text, 1, &mut scratch).or_else(|| readable_part(text))
                }
            },
            Captured::Skipped(_) => {
                reason.get_or_insert(reason::TOO_LONG);
                None
            }
        };
        if json.len() > 1 {
            json.push(b',');
        }
        push_string(&mut json, &member.key);
        json.push(b':');
        match value {
            Some(text) => {
                envelope |= ENVELOPE.contains(&member.key.as_str());
                json.extend_from_slice(&text);
            }
            None => {
                let bytes = match &member.value {
                    Captured::Text(t) => t.len() as u64,
                    Captured::Skipped(n) => *n,
                };
                push_marker(&mut json, bytes);
                unreadable.push(member.key.clone());
            }
        }
    }
    if !envelope {
        return None;
    }
    let reason = reason.unwrap_or(reason::INVALID_JSON);
    if json.len() > 1 {
        json.push(b',');
    }
    push_string(&mut json, SALVAGED_KEY);
    json.push(b':');
    push_string(&mut json, reason);
    json.push(b'}');
    Some(Rebuilt {
        json,
        reason,
        unreadable,
    })
}

/// A lone JSON object in memory (an AKS record's event string) rebuilt as `rebuild`
/// does; None when it is not one closed object with a readable envelope.
pub fn salvage_object(text: &[u8]) -> Option<Vec<u8>> {
    let mut scanner = Scanner::new(Limits::line(text.len()));
    scanner.feed(text);
    if scanner.end().unclosed {
        return None;
    }
    let mut found = scanner.take_found();
    let first = found.next()?;
    match (first.index, first.shape, found.next()) {
        (None, Shape::Object { members, .. }, None) => rebuild(&members, None).map(|r| r.json),
        _ => None,
    }
}

/// Whether `text` is one strict JSON value at `depth` levels down an event, and if
/// not, why. The depth counts: a value that parses alone can be one level too deep
/// inside the rebuilt event.
fn check(text: &[u8], depth: usize, scratch: &mut Vec<u8>) -> Result<(), &'static str> {
    scratch.clear();
    scratch.resize(depth, b'[');
    scratch.extend_from_slice(text);
    scratch.extend(std::iter::repeat_n(b']', depth));
    match simd_json::to_tape(scratch) {
        Ok(_) => Ok(()),
        Err(e) => Err(classify(text, &e)),
    }
}

/// The salvage reason for a strict parse's error on `text`.
pub fn classify(text: &[u8], e: &simd_json::Error) -> &'static str {
    use simd_json::ErrorType as E;
    if std::str::from_utf8(text).is_err() {
        return reason::INVALID_UTF8;
    }
    match e.error() {
        E::DepthLimitExceeded => reason::TOO_DEEP,
        E::InvalidNumber | E::InvalidExponent | E::Overflow => reason::BAD_NUMBER,
        E::InvalidUnicodeCodepoint | E::InvalidUnicodeEscape | E::InvalidEscape => {
            reason::BAD_STRING
        }
        _ => reason::INVALID_JSON,
    }
}

/// A value whose only fault is invalid UTF-8, with each invalid sequence replaced by
/// U+FFFD: what Go's encoder (the apiserver's) writes for such a string. The bytes
/// replaced can only be inside strings, so the value's structure is unchanged.
fn as_go_writes_it(text: &[u8], depth: usize, scratch: &mut Vec<u8>) -> Option<Vec<u8>> {
    if std::str::from_utf8(text).is_ok() {
        return None;
    }
    let text = String::from_utf8_lossy(text).into_owned().into_bytes();
    check(&text, depth, scratch).ok().map(|()| text)
}

/// What can be read of an object member that does not parse whole (annotations with
/// one bad value, a body with one poisoned key): the object with each member that does
/// not parse replaced by a marker, one level down. None for anything else.
fn readable_part(text: &[u8]) -> Option<Vec<u8>> {
    if text.first() != Some(&b'{') {
        return None;
    }
    let mut scanner = Scanner::new(Limits::line(text.len()));
    scanner.feed(text);
    if scanner.end().unclosed {
        return None;
    }
    let found = scanner.take_found().next()?;
    let Shape::Object { members, .. } = found.shape else {
        return None;
    };
    let mut out = b"{".to_vec();
    let mut scratch = Vec::new();
    for m in &members {
        if out.len() > 1 {
            out.push(b',');
        }
        push_string(&mut out, &m.key);
        out.push(b':');
        match &m.value {
            Captured::Text(value) if check(value, 2, &mut scratch).is_ok() => {
                out.extend_from_slice(value)
            }
            Captured::Text(value) if let Some(text) = as_go_writes_it(value, 2, &mut scratch) => {
                out.extend_from_slice(&text)
            }
            Captured::Text(value) => push_marker(&mut out, value.len() as u64),
            Captured::Skipped(n) => push_marker(&mut out, *n),
        }
    }
    out.push(b'}');
    Some(out)
}

fn push_marker(out: &mut Vec<u8>, bytes: u64) {
    push_string(out, &format!("{UNREADABLE_PREFIX}{bytes} bytes>"));
}

fn push_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(
        serde_json::to_string(s)
            .expect("a string serializes")
            .as_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members_of(line: &[u8]) -> Vec<Member> {
        let mut s = Scanner::new(Limits::line(line.len()));
        s.feed(line);
        match s.take_found().next().map(|f| f.shape) {
            Some(Shape::Object { members, .. }) => members,
            other => panic!("{other:?}"),
        }
    }

    fn rebuilt(line: &[u8]) -> (serde_json::Value, &'static str) {
        let r = rebuild(&members_of(line), None).expect("an envelope");
        (serde_json::from_slice(&r.json).unwrap(), r.reason)
    }

    #[test]
    fn each_hostile_body_is_replaced_and_said_why() {
        let cases: [(&[u8], &str); 5] = [
            (br#""\ud800""#, reason::BAD_STRING),
            (b"\"\xff\\udc00\"", reason::INVALID_UTF8),
            (b"1e400", reason::BAD_NUMBER),
            (b"{\"a\":\"\\x\"}", reason::BAD_STRING),
            (&[b'['; 2000], reason::TOO_DEEP),
        ];
        for (body, why) in cases {
            let mut line = br#"{"auditID":"a","verb":"patch","requestObject":{"x":"#.to_vec();
            line.extend_from_slice(body);
            if body[0] == b'[' {
                line.extend(std::iter::repeat_n(b']', body.len()));
            }
            line.extend_from_slice(br#"},"stageTimestamp":"2026-01-01T00:00:00Z"}"#);
            let (event, reason) = rebuilt(&line);
            assert_eq!(reason, why, "{}", String::from_utf8_lossy(body));
            assert_eq!(event["verb"], "patch");
            assert_eq!(event["stageTimestamp"], "2026-01-01T00:00:00Z");
            let len = if body[0] == b'[' {
                2 * body.len()
            } else {
                body.len()
            };
            let marker = event["requestObject"]["x"].as_str().unwrap();
            assert_eq!(marker, format!("<unreadable: {len} bytes>"));
            assert_eq!(event[SALVAGED_KEY], why);
        }
    }

    #[test]
    fn invalid_utf8_alone_reads_as_go_writes_it() {
        let (event, reason) = rebuilt(b"{\"auditID\":\"a\",\"userAgent\":\"x\xffy\"}");
        assert_eq!(reason, reason::INVALID_UTF8);
        assert_eq!(event["userAgent"], "x\u{fffd}y");
    }

    #[test]
    fn annotations_keep_their_readable_values() {
        let line = b"{\"auditID\":\"a\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"x\":\"\\udc00\"}}";
        let (event, reason) = rebuilt(line);
        assert_eq!(reason, reason::BAD_STRING);
        assert_eq!(
            event["annotations"],
            serde_json::json!({"authorization.k8s.io/decision": "allow", "x": "<unreadable: 8 bytes>"})
        );
    }

    #[test]
    fn no_readable_envelope_is_no_event() {
        assert!(rebuild(&members_of(b"{\"requestObject\":1e999}"), None).is_none());
        assert!(rebuild(&members_of(b"{\"auditID\":\"\\ud800\"}"), None).is_none());
    }

    #[test]
    fn a_planted_salvage_key_is_not_kept_twice() {
        let (event, reason) = rebuilt(br#"{"auditID":"a","kaudit.salvaged":"none","b":1e999}"#);
        assert_eq!(
            (event[SALVAGED_KEY].as_str(), reason),
            (Some("bad-number"), "bad-number")
        );
    }
}
