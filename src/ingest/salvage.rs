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
/// `unreadable`: the event's members that could not be kept whole (`Rebuilt`), when
/// known; they are named so an investigator knows where to look.
pub fn explain(reason: &str, unreadable: &[String]) -> String {
    let mut text = if reason == reason::INVALID_UTF8 {
        "salvaged (invalid-utf8): a value is not valid UTF-8; the request is indexed \
         with U+FFFD for the invalid bytes, as the apiserver's encoder writes them \
         (a value that is still unreadable is marked <unreadable: N bytes>)"
            .to_string()
    } else {
        let what = match reason {
            reason::TOO_LONG => "the line is over --max-line-bytes, or a body in it over 1 MiB",
            reason::TOO_DEEP => "a value nests deeper than 1,024 levels",
            reason::BAD_STRING => "a string holds a lone surrogate or a bad escape",
            reason::BAD_NUMBER => "a number is beyond what JSON parsers hold",
            _ => "the line is not valid JSON",
        };
        format!(
            "salvaged ({reason}): {what}; the request is indexed from its envelope and the \
             unreadable values are marked <unreadable: N bytes>"
        )
    };
    if !unreadable.is_empty() {
        text.push_str(&format!(" (in {})", unreadable.join(", ")));
    }
    text
}

/// The members of an event worth rebuilding it from: without one of these, the
/// object is not a readable envelope and the line stays rejected. A GKE LogEntry's
/// `protoPayload` (repaired like any member) holds its whole envelope.
const ENVELOPE: [&str; 7] = [
    "auditID",
    "verb",
    "requestURI",
    "user",
    "objectRef",
    "stageTimestamp",
    "protoPayload",
];

/// The members a client writes: an unreadable one is marked, never left out, so that
/// a check of bodies knows one was there.
const BODIES: [&str; 2] = ["requestObject", "responseObject"];

/// Members that are only checked for what they say (`kind: Event`, an `audit.k8s.io`
/// apiVersion): left out when unreadable.
const OPTIONAL: [&str; 2] = ["kind", "apiVersion"];

/// A rebuilt event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    pub json: Vec<u8>,
    pub reason: &'static str,
    /// The members not kept whole (marked, or left out), for the ingest summary.
    pub unreadable: Vec<String>,
}

/// Rebuilds an event from its members. `line_reason` is why the whole line could not
/// be read when that is known before looking at members (`too-long`). None when no
/// envelope member is readable.
///
/// A member that does not parse is repaired (`repair`): the parts of it that parse
/// are kept, down to the value that does not. What cannot be kept is a marker where
/// the event may hold a string (a body, a string member), and left out elsewhere: a
/// string where the event has a list or an object (`sourceIPs`, `objectRef`) would
/// make the event unreadable as a whole.
pub fn rebuild(members: &[Member], line_reason: Option<&'static str>) -> Option<Rebuilt> {
    let mut json = b"{".to_vec();
    let mut reason = line_reason;
    let mut unreadable = Vec::new();
    let mut envelope = false;
    let mut scratch = Vec::new();
    for member in members.iter().filter(|m| m.key != SALVAGED_KEY) {
        let key = member.key.as_str();
        let (value, first, bytes) = match &member.value {
            Captured::Text(text) => match check(text, 1, &mut scratch) {
                Ok(()) => (Some(text.clone()), text[0], text.len() as u64),
                Err(why) => {
                    reason.get_or_insert(why);
                    unreadable.push(member.key.clone());
                    let repaired = if OPTIONAL.contains(&key) {
                        // Better absent (as in some real fixtures) than garbled: a
                        // marker there would make it something else than an audit event.
                        None
                    } else {
                        repair(text, 1, &mut scratch)
                    };
                    (repaired, text[0], text.len() as u64)
                }
            },
            Captured::Skipped { bytes, first } => {
                reason.get_or_insert(reason::TOO_LONG);
                unreadable.push(member.key.clone());
                (None, *first, *bytes)
            }
        };
        let marked =
            value.is_none() && (BODIES.contains(&key) || first == b'"') && !OPTIONAL.contains(&key);
        if value.is_none() && !marked {
            continue;
        }
        if json.len() > 1 {
            json.push(b',');
        }
        push_string(&mut json, key);
        json.push(b':');
        match value {
            Some(text) => {
                envelope |= ENVELOPE.contains(&key);
                json.extend_from_slice(&text);
            }
            None => push_marker(&mut json, bytes),
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

/// The members of the event an AKS diagnostic record holds in `properties.log` (an
/// object, or the event's JSON as a string), for a record that does not parse whole
/// or is over `--max-line-bytes`.
pub fn aks_event_members(members: &[Member]) -> Option<Vec<Member>> {
    let object_members = |text: &[u8]| -> Option<Vec<Member>> {
        let mut scanner = Scanner::new(Limits::line(text.len()));
        scanner.feed(text);
        match scanner.take_found().next()?.shape {
            Shape::Object { members, .. } => Some(members),
            Shape::NotObject(_) => None,
        }
    };
    let properties = members.iter().rev().find_map(|m| match &m.value {
        Captured::Text(t) if m.key == "properties" && t.first() == Some(&b'{') => Some(t),
        _ => None,
    })?;
    let inner = object_members(properties)?;
    let log = inner.iter().rev().find_map(|m| match &m.value {
        Captured::Text(t) if m.key == "log" => Some(t),
        _ => None,
    })?;
    match log.first() {
        Some(b'{') => object_members(log),
        Some(b'"') => {
            let text: String = serde_json::from_slice(log).ok()?;
            object_members(text.trim().as_bytes())
        }
        _ => None,
    }
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
    if text.trim_ascii().is_empty() {
        // Not a value, though `[` and `]` around it would make one.
        return Err(reason::INVALID_JSON);
    }
    scratch.clear();
    scratch.resize(depth, b'[');
    scratch.extend_from_slice(text);
    scratch.extend(std::iter::repeat_n(b']', depth));
    // The parse ingest uses: simd-json's tape alone accepts text (`{"a":}`) that
    // building the value then refuses.
    match simd_json::to_borrowed_value(scratch) {
        Ok(_) => Ok(()),
        Err(e) => Err(classify(text, &e)),
    }
}

/// The salvage reason for a strict parse's error on `text`.
fn classify(text: &[u8], e: &simd_json::Error) -> &'static str {
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

/// How deep `repair` looks for the readable parts of a value.
const REPAIR_DEPTH: usize = 32;

/// The readable parts of a value that does not parse, `depth` levels down the event:
/// invalid UTF-8 alone is read with U+FFFD for each invalid sequence (what Go's encoder,
/// the apiserver's, writes for such a string; the bytes replaced can only be inside
/// strings, so the structure is unchanged); an object or a list keeps each member or
/// element that parses, is repaired in turn, or becomes `<unreadable: N bytes>`, so a
/// poisoned key beside a pod's `containers` or in one JSON-patch op hides nothing
/// else. None when nothing of it can be read.
fn repair(text: &[u8], depth: usize, scratch: &mut Vec<u8>) -> Option<Vec<u8>> {
    if check(text, depth, scratch).is_ok() {
        return Some(text.to_vec());
    }
    if std::str::from_utf8(text).is_err() {
        let lossy = String::from_utf8_lossy(text).into_owned().into_bytes();
        if check(&lossy, depth, scratch).is_ok() {
            return Some(lossy);
        }
        // Split as logged, so a marker counts the bytes the log holds.
    }
    if depth >= REPAIR_DEPTH {
        return None;
    }
    // Not sized to `text`: 32 levels of a 16 MiB value would reserve 512 MiB.
    let mut out = Vec::new();
    let part = |out: &mut Vec<u8>, value: &[u8], scratch: &mut Vec<u8>| match repair(
        value,
        depth + 1,
        scratch,
    ) {
        Some(v) => out.extend_from_slice(&v),
        None => push_marker(out, value.len() as u64),
    };
    match split(text)? {
        Split::Object(members) => {
            out.push(b'{');
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_string(&mut out, &super::scan::decode_key(key));
                out.push(b':');
                part(&mut out, value, scratch);
            }
            out.push(b'}');
        }
        Split::Array(items) => {
            out.push(b'[');
            for (i, value) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                part(&mut out, value, scratch);
            }
            out.push(b']');
        }
    }
    Some(out)
}

/// The top-level parts of an object (raw key text with its closing quote, value) or a
/// list, found leniently as the scan finds members.
enum Split<'t> {
    Object(Vec<(&'t [u8], &'t [u8])>),
    Array(Vec<&'t [u8]>),
}

/// See `Split`. None for anything but one closed object or list.
fn split(text: &[u8]) -> Option<Split<'_>> {
    let text = text.trim_ascii();
    let object = match text.first()? {
        b'{' => true,
        b'[' => false,
        _ => return None,
    };
    let mut parts: Vec<&[u8]> = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0u64, false, false);
    let mut start = 1;
    for (i, &b) in text.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    if i + 1 != text.len() {
                        return None;
                    }
                    parts.push(&text[start..i]);
                }
            }
            b',' if depth == 1 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 || in_string {
        return None;
    }
    let parts: Vec<&[u8]> = parts
        .into_iter()
        .map(<[u8]>::trim_ascii)
        .filter(|p| !p.is_empty())
        .collect();
    if !object {
        return Some(Split::Array(parts));
    }
    let mut members = Vec::with_capacity(parts.len());
    for part in parts {
        let key_end = key_end(part)?;
        let rest = part[key_end..].trim_ascii_start().strip_prefix(b":")?;
        // The key without its opening quote, with its closing one: as the scan keeps it.
        members.push((&part[1..key_end], rest.trim_ascii()));
    }
    Some(Split::Object(members))
}

/// The end (after the closing quote) of the string a member starts with.
fn key_end(part: &[u8]) -> Option<usize> {
    if part.first() != Some(&b'"') {
        return None;
    }
    let mut escaped = false;
    for (i, &b) in part.iter().enumerate().skip(1) {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(i + 1),
            _ => {}
        }
    }
    None
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
            if body[0] == b'[' {
                // Kept down to 32 levels, and marked there.
                let text = event["requestObject"]["x"].to_string();
                assert!(text.starts_with("[[[[") && text.contains("<unreadable: "));
            } else if body[0] == b'{' {
                assert_eq!(event["requestObject"]["x"]["a"], "<unreadable: 4 bytes>");
            } else {
                let marker = event["requestObject"]["x"].as_str().unwrap();
                assert_eq!(marker, format!("<unreadable: {} bytes>", body.len()));
            }
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
    fn a_poisoned_value_hides_nothing_beside_it_at_any_depth() {
        let line = br#"{"auditID":"a","requestObject":[{"op":"add","path":"/spec","value":{"containers":[{"securityContext":{"privileged":true}}],"x":"\ud800"}},{"op":"test","path":"/a","value":1e400}]}"#;
        let (event, reason) = rebuilt(line);
        assert_eq!(reason, reason::BAD_STRING);
        let ops = &event["requestObject"];
        assert_eq!(
            ops[0]["value"]["containers"][0]["securityContext"]["privileged"],
            true
        );
        assert_eq!(ops[0]["value"]["x"], "<unreadable: 8 bytes>");
        assert_eq!(ops[1]["path"], "/a");
        assert_eq!(ops[1]["value"], "<unreadable: 5 bytes>");
    }

    #[test]
    fn an_unreadable_list_or_object_is_left_out_not_turned_into_a_string() {
        let members = vec![
            Member {
                key: "auditID".into(),
                value: Captured::Text(br#""a""#.to_vec()),
            },
            Member {
                key: "sourceIPs".into(),
                value: Captured::Skipped {
                    bytes: 20 << 20,
                    first: b'[',
                },
            },
            Member {
                key: "requestURI".into(),
                value: Captured::Skipped {
                    bytes: 20 << 20,
                    first: b'"',
                },
            },
        ];
        let r = rebuild(&members, Some(reason::TOO_LONG)).unwrap();
        let event: serde_json::Value = serde_json::from_slice(&r.json).unwrap();
        assert_eq!(event.get("sourceIPs"), None);
        assert_eq!(
            event["requestURI"],
            format!("<unreadable: {} bytes>", 20 << 20)
        );
        assert_eq!(r.unreadable, ["sourceIPs", "requestURI"]);
    }

    #[test]
    fn a_missing_value_is_marked_not_kept() {
        let (event, _) = rebuilt(br#"{"auditID":"a","verb":{"auditID":"a","verb":}}"#);
        assert_eq!(event["verb"]["verb"], "<unreadable: 0 bytes>");
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
