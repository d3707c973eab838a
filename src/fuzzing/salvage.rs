//! `salvage`: issue 19's promise, "a request is never hidden by its own body", fuzzed.
//!
//! [`salvage`] builds one apiserver line from the fuzz bytes: a well-formed envelope (in
//! the apiserver's key order, timestamps and annotations after the bodies) around a
//! hostile body of the shapes a client gets past the apiserver's syntax check (any bytes
//! in a string, lone-surrogate escapes, numbers of any size, nesting up to 5,000, extra
//! keys, strings of megabytes), in `requestObject`, `responseObject` or both, on Secrets
//! (a known value planted in a readable `data` field next to the hostile one) or not,
//! with a `--max-line-bytes` of 64 to 4,096 so that long lines take the streaming path.
//! The line goes through ingest as a file would (`LineReader`, `handle_line`) and:
//!
//! - exactly one request is indexed, with the envelope's fields exactly as planted;
//! - the kept JSON is the line itself (redacted) when the line parses, else the line
//!   with `kaudit.salvaged` and each unreadable value replaced by `<unreadable: N
//!   bytes>` (N its exact size), readable members of a body kept: nothing lost, nothing
//!   invented; the reason is one the body's hazards explain;
//! - no planted Secret value is kept (`secrets::unredacted` and a byte search);
//! - on a line over the cap, what is kept is bounded by the scan's limits.
//!
//! [`salvage_scan`] feeds arbitrary bytes to the scanner in chunks of several sizes and
//! with small limits (the same findings whatever the split; limits only turn kept values
//! into measured ones), rebuilds every object found (always strict JSON) and reads the
//! bytes as a log with a small cap.

use std::sync::Arc;

use simd_json::prelude::*;

use super::{events, secrets};
use crate::error::Result;
use crate::ingest::checkpoint::FileMark;
use crate::ingest::lines::{LineReader, Position};
use crate::ingest::parse::{ParsedEvent, Parser};
use crate::ingest::salvage::{self, reason};
use crate::ingest::scan::{Captured, End, Found, Limits, Scanner, Shape};
use crate::ingest::{Location, Options, Outcome, Sink, Summary, handle_line, redact};
use crate::model::{SALVAGED_KEY, UNREADABLE_PREFIX};

/// Planted in a Secret's readable `data`: base64 of PLANTED-SECRET, as in the other seeds.
pub const PLANTED: &str = "UExBTlRFRC1TRUNSRVQ=";

/// The reasons `salvage::reason` documents.
const REASONS: [&str; 6] = [
    reason::TOO_LONG,
    reason::TOO_DEEP,
    reason::INVALID_UTF8,
    reason::BAD_STRING,
    reason::BAD_NUMBER,
    reason::INVALID_JSON,
];

const VERBS: [&str; 8] = [
    "create",
    "update",
    "patch",
    "get",
    "list",
    "delete",
    "watch",
    "deletecollection",
];
const USERS: [&str; 4] = [
    "alice@example.com",
    "system:serviceaccount:ns:sa",
    "system:node:node-1",
    "system:anonymous",
];
const CODES: [u64; 6] = [200, 201, 403, 404, 422, 500];

/// Nesting the generator goes down to with objects and arrays (deep runs aside).
const MAX_LEVEL: u32 = 4;
/// A deep run nests at most this many levels.
const MAX_DEEP: usize = 5000;
/// A huge string is 1 to 32 of these.
const HUGE_UNIT: usize = 64 << 10;
/// Huge strings and deep runs of one line, together at most this many bytes and levels.
const HUGE_BUDGET: usize = 4 << 20;
const DEEP_BUDGET: usize = 3 * MAX_DEEP;

/// The shaped harness: see the module documentation. Returns why the line was
/// salvaged, None when it parsed.
///
/// Input: a flags byte (bits 0-1 where the body goes: requestObject, responseObject,
/// both, requestObject; bit 2 the resource is `secrets`; bit 3 the hostile value goes
/// inside `data`, not beside it; bit 4 the hostile value is the whole body; bits 5-7 the
/// verb), two bytes for the line cap (64 + n % 4,033), an envelope byte, a userAgent
/// (a length byte, then bytes), then the hostile value's description (see `Gen::value`).
pub fn salvage(data: &[u8]) -> Option<String> {
    let case = Case::from_bytes(data);
    let line = case.line();
    let max_line = case.max_line;
    let too_long = line.len() > max_line;

    let mut input = line.clone();
    input.push(b'\n');
    let mut reader = LineReader::new(&input[..], max_line, Position::START);
    let mut sink = Recorder::default();
    let mut summary = Summary::default();
    let options = Options {
        max_line_bytes: max_line,
        parse_threads: 0,
        stop: None,
    };
    let mut parser = Parser::default();
    let file: Arc<str> = Arc::from("fuzz");
    while let Some((at, line)) = reader.next_line().expect("reading from memory") {
        let done = handle_line(
            &mut parser,
            &mut sink,
            &mut summary,
            &options,
            &file,
            at,
            line,
        )
        .expect("the recording sink never fails");
        assert!(done, "the line is terminated");
    }
    let shown = || {
        String::from_utf8_lossy(&line)
            .chars()
            .take(600)
            .collect::<String>()
    };

    // (a) Exactly one request, its envelope as planted.
    assert_eq!(summary.lines, 1, "{}", shown());
    assert_eq!(summary.bytes, input.len() as u64);
    assert_eq!(
        (sink.seen.len(), summary.requests, summary.rejected_lines()),
        (1, 1, 0),
        "one request indexed, nothing rejected: {:?}: {}",
        summary.rejected,
        shown()
    );
    let seen = &sink.seen[0];
    let env = &case.envelope;
    assert_eq!(seen.audit_id.as_deref(), Some(env.audit_id.as_str()));
    assert_eq!(seen.verb.as_deref(), Some(env.verb));
    assert_eq!(seen.user.as_deref(), Some(env.user));
    assert_eq!(seen.resource.as_deref(), Some(env.resource));
    assert_eq!(seen.namespace.as_deref(), Some("ns"));
    assert_eq!(seen.name.as_deref(), Some(env.name));
    assert_eq!(seen.code, Some(env.code));
    assert_eq!(seen.decision.as_deref(), Some("allow"));
    assert_eq!(seen.user_agent.as_deref(), Some(env.user_agent.as_str()));
    assert_eq!(seen.received, Some(env.received_micros()));
    assert_eq!(seen.stage_time, Some(env.stage_micros()));
    assert_eq!(
        seen.bytes,
        line.len() as u64,
        "the event's size is its line's"
    );

    // (c) Salvaged exactly when the line does not parse (or is over the cap), for a
    // reason the body explains, and kept as the line with what was unreadable marked.
    let strict = !too_long && parses_at(&line, 0);
    let kept_reason = seen.salvaged.as_deref();
    match (strict, kept_reason) {
        (true, None) => {}
        (true, Some(r)) => panic!("a line that parses is marked salvaged ({r}): {}", shown()),
        (false, None) => panic!("a line that does not parse is not marked: {}", shown()),
        (false, Some(r)) => {
            assert!(REASONS.contains(&r), "undocumented reason {r}");
            if too_long {
                assert_eq!(r, reason::TOO_LONG);
            } else {
                let utf8 = std::str::from_utf8(&line).is_ok();
                assert_eq!(r == reason::INVALID_UTF8, !utf8, "reason {r}: {}", shown());
                let explained = match r {
                    reason::INVALID_UTF8 => true,
                    reason::TOO_DEEP => case.depth() > 1000,
                    reason::BAD_STRING => case.hazards.surrogate,
                    reason::BAD_NUMBER => case.hazards.number,
                    _ => false,
                };
                assert!(explained, "reason {r} for nothing in the body: {}", shown());
            }
        }
    }
    let expected = case.expected(kept_reason, too_long);
    let mut expected_buf = expected.clone();
    let mut expected_value = simd_json::to_borrowed_value(&mut expected_buf)
        .unwrap_or_else(|e| panic!("expected event {e}: {}", String::from_utf8_lossy(&expected)));
    redact::redact_event(&mut expected_value, env.resource == "secrets");
    let mut kept_buf = seen.json.clone();
    let kept = simd_json::to_borrowed_value(&mut kept_buf).expect("kept JSON parses");
    assert!(
        same(&kept, &expected_value),
        "kept JSON is not the line with its unreadable values marked\nkept:     {}\nexpected: {}\nline: {}",
        String::from_utf8_lossy(&seen.json)
            .chars()
            .take(600)
            .collect::<String>(),
        String::from_utf8_lossy(&expected)
            .chars()
            .take(600)
            .collect::<String>(),
        shown()
    );

    // (b) No planted value, by the independent statement and by bytes.
    if let Some(what) = secrets::unredacted(&kept, env.resource == "secrets") {
        panic!("secret value kept ({what}): {}", shown());
    }
    if env.resource == "secrets" && !contains(&case.hostile.text, PLANTED.as_bytes()) {
        assert!(
            !contains(&seen.json, PLANTED.as_bytes()),
            "planted value kept: {}",
            String::from_utf8_lossy(&seen.json)
        );
    }

    // (d) A line over the cap is held within the scan's limits: a body over the limit
    // for one value is measured, not kept. (A body kept may grow threefold: invalid
    // UTF-8 is kept as U+FFFD.)
    if too_long {
        let limit = Limits::streaming(0).body;
        let markers =
            count(&seen.json, UNREADABLE_PREFIX.as_bytes()) + count(&seen.json, b"<redacted: ");
        let bodies: usize = case.bodies().map(|b| b.len()).sum();
        let held: usize = case
            .bodies()
            .map(|b| if b.len() > limit { 0 } else { 3 * b.len() })
            .sum();
        let bound = line.len() - bodies + held + 48 * (markers + 1);
        assert!(
            seen.json.len() <= bound,
            "kept {} bytes of a {}-byte line, more than the limits allow ({bound})",
            seen.json.len(),
            line.len()
        );
    }
    kept_reason.map(str::to_string)
}

/// The unshaped harness: see the module documentation.
///
/// Input: three bytes that choose chunk sizes and small limits, then the bytes.
pub fn salvage_scan(data: &[u8]) {
    let [a, b, c, input @ ..] = data else {
        return;
    };
    let (a, b, c) = (usize::from(*a), usize::from(*b), usize::from(*c));
    let schedules = [vec![1 + a % 17, 1 + b], vec![1], vec![1 + a * 3, 2 + c]];

    // The same findings however the input is split.
    let line = Limits::line(input.len());
    let whole = scan(input, &[input.len().max(1)], line, false);
    for schedule in &schedules {
        assert_eq!(
            scan(input, schedule, line, false),
            whole,
            "split {schedule:?}"
        );
    }
    let document = Limits::streaming(input.len());
    let doc = scan(input, &[input.len().max(1)], document, true);
    for schedule in &schedules {
        assert_eq!(
            scan(input, schedule, document, true),
            doc,
            "split {schedule:?}"
        );
    }

    // Small limits keep less, never something else: each value kept is the one kept
    // without limits, each value measured has that one's size.
    let small = Limits {
        member: a % 64,
        body: a % 16,
        members_total: b,
        object: c * 2,
    };
    let capped = scan(input, &[input.len().max(1)], small, false);
    for schedule in &schedules {
        assert_eq!(
            scan(input, schedule, small, false),
            capped,
            "split {schedule:?}"
        );
    }
    assert_eq!(capped.1, whole.1, "limits change how the input ends");
    assert_eq!(capped.0.len(), whole.0.len(), "limits change what is found");
    for (small_found, found) in capped.0.iter().zip(&whole.0) {
        assert_eq!(small_found.index, found.index);
        match (&small_found.shape, &found.shape) {
            (
                Shape::Object {
                    text: small_text,
                    bytes: small_bytes,
                    members: small_members,
                },
                Shape::Object {
                    text,
                    bytes,
                    members,
                },
            ) => {
                assert_eq!(small_bytes, bytes);
                if let Some(t) = small_text {
                    assert!(t.len() <= small.object);
                    assert_eq!(Some(t), text.as_ref());
                }
                assert_eq!(small_members.len(), members.len());
                let mut kept = 0;
                for (s, m) in small_members.iter().zip(members) {
                    assert_eq!(s.key, m.key);
                    let Captured::Text(full) = &m.value else {
                        panic!("a value skipped without limits: {m:?}");
                    };
                    match &s.value {
                        Captured::Text(t) => {
                            let cap =
                                if matches!(s.key.as_str(), "requestObject" | "responseObject") {
                                    small.body
                                } else {
                                    small.member
                                };
                            assert!(t.len() <= cap, "a value over the limit kept");
                            assert_eq!(t, full);
                            kept += t.len();
                        }
                        Captured::Skipped { bytes, first } => {
                            assert_eq!(*bytes, full.len() as u64);
                            assert_eq!(Some(first), full.first());
                        }
                    }
                }
                assert!(kept <= small.members_total, "members over the total kept");
            }
            (s, f) => assert_eq!(s, f),
        }
    }

    // Every object found rebuilds to strict JSON that reads as an event or is rejected.
    let mut parser = Parser::default();
    for found in whole.0.iter().chain(&capped.0).chain(&doc.0) {
        let Shape::Object { members, .. } = &found.shape else {
            continue;
        };
        for why in [None, Some(reason::TOO_LONG)] {
            let Some(rebuilt) = salvage::rebuild(members, why) else {
                continue;
            };
            assert_eq!(salvage::rebuild(members, why).as_ref(), Some(&rebuilt));
            assert!(REASONS.contains(&rebuilt.reason), "{}", rebuilt.reason);
            if let Some(why) = why {
                assert_eq!(rebuilt.reason, why);
            }
            let mut buf = rebuilt.json.clone();
            let value = simd_json::to_borrowed_value(&mut buf).unwrap_or_else(|e| {
                panic!(
                    "rebuilt event is not JSON ({e}): {}",
                    String::from_utf8_lossy(&rebuilt.json)
                )
            });
            assert_eq!(
                value.get(SALVAGED_KEY).and_then(|v| v.as_str()),
                Some(rebuilt.reason)
            );
            let outcome = parser.parse_line(&rebuilt.json, &mut |_, item| {
                if let Ok(event) = item {
                    events::check_event(&event);
                }
                Ok::<(), ()>(())
            });
            assert!(outcome.is_ok());
        }
    }

    // The bytes as a log with a small cap: over-long lines stream through the scan.
    let max_line = 16 + c;
    let mut reader = LineReader::new(input, max_line, Position::START);
    let mut sink = Recorder::default();
    let mut summary = Summary::default();
    let options = Options {
        max_line_bytes: max_line,
        parse_threads: 0,
        stop: None,
    };
    let file: Arc<str> = Arc::from("fuzz");
    let mut lines = 0;
    while let Some((at, line)) = reader.next_line().expect("reading from memory") {
        lines += 1;
        handle_line(
            &mut parser,
            &mut sink,
            &mut summary,
            &options,
            &file,
            at,
            line,
        )
        .expect("the recording sink never fails");
    }
    assert_eq!(summary.lines, lines);
    assert_eq!(summary.bytes, input.len() as u64);
    assert_eq!(summary.requests, sink.seen.len() as u64);
}

/// Structural equality that counts every copy of a repeated key (simd-json keeps them;
/// its own `==` compares each key's first copy only).
fn same(a: &simd_json::BorrowedValue<'_>, b: &simd_json::BorrowedValue<'_>) -> bool {
    use simd_json::BorrowedValue as V;
    // Where the model marks a whole hostile value, salvage may keep its readable
    // parts (`salvage::repair`): an object or list that marks what it could not read
    // (or redacted it, as a Secret's data), or none when every fault could be read as
    // Go reads it (invalid UTF-8, a lone surrogate in a key). Repair itself is checked
    // against the original in `ingest::salvage`'s tests. Anything else must be the model.
    if let (V::Object(_) | V::Array(_), V::String(marker)) = (a, b)
        && (marker.starts_with(crate::model::UNREADABLE_PREFIX)
            || marker.starts_with("<redacted: "))
    {
        return true;
    }
    match (a, b) {
        (V::Object(a), V::Object(b)) => {
            if a.len() != b.len() {
                return false;
            }
            let b: Vec<_> = b.iter().collect();
            let mut used = vec![false; b.len()];
            a.iter().all(|(k, v)| {
                let found = (0..b.len()).find(|&j| !used[j] && b[j].0 == k && same(v, b[j].1));
                found.map(|j| used[j] = true).is_some()
            })
        }
        (V::Array(a), V::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| same(x, y))
        }
        _ => a == b,
    }
}

/// Scans `input` fed in chunks of the sizes in `schedule`, cycling.
fn scan(input: &[u8], schedule: &[usize], limits: Limits, document: bool) -> (Vec<Found>, End) {
    let mut s = if document {
        Scanner::document(limits)
    } else {
        Scanner::new(limits)
    };
    let mut found = Vec::new();
    let mut rest = input;
    for size in schedule.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, after) = rest.split_at((*size).max(1).min(rest.len()));
        s.feed(chunk);
        // Taken as they come, as a document reader does.
        found.extend(s.take_found());
        rest = after;
    }
    (found, s.end())
}

/// Whether `text` parses strictly `depth` levels down an event: what the salvage
/// counts as readable (`salvage::check`).
fn parses_at(text: &[u8], depth: usize) -> bool {
    let mut buf = vec![b'['; depth];
    buf.extend_from_slice(text);
    buf.extend(std::iter::repeat_n(b']', depth));
    simd_json::to_tape(&mut buf).is_ok()
}

/// What a value `depth` levels down is kept as when it is readable: itself, or with its
/// invalid UTF-8 replaced as Go's encoder replaces it.
fn readable(text: &[u8], depth: usize) -> Option<Vec<u8>> {
    if parses_at(text, depth) {
        return Some(text.to_vec());
    }
    if std::str::from_utf8(text).is_err() {
        let lossy = String::from_utf8_lossy(text).into_owned().into_bytes();
        if parses_at(&lossy, depth) {
            return Some(lossy);
        }
    }
    None
}

fn marker(bytes: usize) -> Vec<u8> {
    format!("\"{UNREADABLE_PREFIX}{bytes} bytes>\"").into_bytes()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| w == &needle)
        .count()
}

/// A key as the salvage writes it (`raw` with its quotes): decoded as Go decodes it.
fn key_as_kept(raw: &[u8]) -> Vec<u8> {
    let decoded = crate::ingest::scan::decode_key(&raw[1..]);
    serde_json::to_vec(&decoded).expect("a string serializes")
}

/// What the sink saw of an event, owned.
#[derive(Debug)]
struct Seen {
    audit_id: Option<String>,
    verb: Option<String>,
    user: Option<String>,
    user_agent: Option<String>,
    resource: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    code: Option<u64>,
    decision: Option<String>,
    received: Option<i64>,
    stage_time: Option<i64>,
    salvaged: Option<String>,
    bytes: u64,
    json: Vec<u8>,
}

/// Checks each event as the `parse_line` harness does and records it.
#[derive(Default)]
struct Recorder {
    seen: Vec<Seen>,
}

impl Sink for Recorder {
    fn resume_point(&self, _prefix: &[u8]) -> Option<FileMark> {
        None
    }

    fn event(&mut self, event: &ParsedEvent<'_>, _at: &Location) -> Result<Outcome> {
        events::check_event(event);
        let r = &event.request;
        let own = |s: Option<&str>| s.map(str::to_string);
        self.seen.push(Seen {
            audit_id: own(r.audit_id),
            verb: own(r.verb),
            user: own(r.user),
            user_agent: own(r.user_agent),
            resource: own(r.resource),
            namespace: own(r.namespace),
            name: own(r.name),
            code: r.code,
            decision: own(r.decision),
            received: r.received,
            stage_time: r.stage_time,
            salvaged: own(r.salvaged),
            bytes: event.bytes,
            json: event.json.to_vec(),
        });
        Ok(Outcome::New)
    }

    fn reached(&mut self, _mark: FileMark, _prefix: &[u8]) -> Result<()> {
        Ok(())
    }
}

/// The apiserver's part of the line.
struct Envelope {
    audit_id: String,
    verb: &'static str,
    user: &'static str,
    user_agent: String,
    resource: &'static str,
    name: &'static str,
    code: u64,
    /// Seconds after 2026-11-20T10:00:00Z, and the stage's delay in microseconds.
    received: u32,
    delay: u32,
}

const BASE_MICROS: i64 = 1_795_168_800_000_000; // 2026-11-20T10:00:00Z

impl Envelope {
    fn received_micros(&self) -> i64 {
        BASE_MICROS + i64::from(self.received) * 1_000_000
    }

    fn stage_micros(&self) -> i64 {
        self.received_micros() + i64::from(self.delay)
    }

    fn time(micros: i64) -> String {
        let t = chrono::DateTime::from_timestamp_micros(micros).expect("in range");
        t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

/// Which generated shapes are in the body: what may explain a salvage reason.
#[derive(Debug, Default, Clone, Copy)]
struct Hazards {
    /// A `\uD800`-`\uDFFF` escape.
    surrogate: bool,
    /// A number with an exponent, or over 15 digits.
    number: bool,
}

/// A generated JSON value: its text, how deep it nests, and for an object its members
/// (raw key text with quotes, value text).
#[derive(Debug, Clone)]
struct Node {
    text: Vec<u8>,
    depth: usize,
    members: Option<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl Node {
    fn scalar(text: &[u8]) -> Node {
        Node {
            text: text.to_vec(),
            depth: 0,
            members: None,
        }
    }

    fn object(members: Vec<(Vec<u8>, Vec<u8>)>, depth: usize) -> Node {
        let mut text = b"{".to_vec();
        for (i, (k, v)) in members.iter().enumerate() {
            if i > 0 {
                text.push(b',');
            }
            text.extend_from_slice(k);
            text.push(b':');
            text.extend_from_slice(v);
        }
        text.push(b'}');
        Node {
            text,
            depth: depth + 1,
            members: Some(members),
        }
    }
}

/// Reads the fuzz bytes as choices; zeros once they run out.
struct Gen<'a> {
    data: &'a [u8],
    pos: usize,
    hazards: Hazards,
    /// What huge strings and deep runs may still add.
    huge_left: usize,
    deep_left: usize,
}

impl Gen<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn exhausted(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// One value, by its first byte: a hostile string, a number, a deep run, an object
    /// or array of further values, a literal, a huge string, or a plain string.
    fn value(&mut self, level: u32) -> Node {
        if self.exhausted() {
            return Node::scalar(b"null");
        }
        match self.byte() % 10 {
            0 | 1 => {
                let len = self.byte();
                Node::scalar(&self.string(usize::from(len)))
            }
            2 => Node::scalar(&self.number()),
            3 if level <= MAX_LEVEL => self.deep(),
            4 | 5 if level < MAX_LEVEL => self.object(level),
            6 if level < MAX_LEVEL => self.array(level),
            7 => Node::scalar([&b"true"[..], b"false", b"null"][usize::from(self.byte() % 3)]),
            8 => self.huge(),
            _ => Node::scalar(b"\"plain\""),
        }
    }

    /// String content from the next `len` bytes, as a client can send it past the
    /// apiserver's syntax check: `"`, `\` and bytes below 0x20 escaped, everything else
    /// (invalid UTF-8 included) raw. 0x01 and 0x02 write `\uD8xx` and `\uDCxx`, 0x03 any
    /// `\uXXXX`, from the next byte(s).
    fn content(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..len {
            if self.exhausted() {
                break;
            }
            match self.byte() {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                1 => {
                    self.hazards.surrogate = true;
                    out.extend_from_slice(format!("\\ud8{:02x}", self.byte()).as_bytes());
                }
                2 => {
                    self.hazards.surrogate = true;
                    out.extend_from_slice(format!("\\uDC{:02X}", self.byte()).as_bytes());
                }
                3 => {
                    let c = self.u16();
                    self.hazards.surrogate |= (0xd800..0xe000).contains(&c);
                    out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
                }
                b if b < 0x20 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
                b => out.push(b),
            }
        }
        out
    }

    fn string(&mut self, len: usize) -> Vec<u8> {
        let mut out = b"\"".to_vec();
        out.extend(self.content(len));
        out.push(b'"');
        out
    }

    /// A number as JSON's grammar allows it, of any size: up to 555 integer digits, a
    /// fraction, an exponent.
    fn number(&mut self) -> Vec<u8> {
        let flags = self.byte();
        let seed = usize::from(self.byte());
        let int = if flags & 2 != 0 {
            300 + usize::from(self.byte())
        } else {
            1 + usize::from(self.byte() % 20)
        };
        let digit = |i: usize| b'0' + ((seed + i * 7) % 10) as u8;
        let mut out = Vec::new();
        if flags & 1 != 0 {
            out.push(b'-');
        }
        if int == 1 {
            out.push(digit(0));
        } else {
            out.push(b'1' + (seed % 9) as u8);
            out.extend((1..int).map(digit));
        }
        let mut frac = 0;
        if flags & 4 != 0 {
            frac = 1 + usize::from(self.byte() % 20);
            out.push(b'.');
            out.extend((0..frac).map(|i| digit(i + 3)));
        }
        let exponent = flags & 8 != 0;
        if exponent {
            out.push(if flags & 16 != 0 { b'E' } else { b'e' });
            match flags >> 5 & 3 {
                1 => out.push(b'+'),
                2 => out.push(b'-'),
                _ => {}
            }
            let n = 1 + usize::from(self.byte() % 4);
            out.extend((0..n).map(|i| digit(i + 5)));
        }
        self.hazards.number |= exponent || int > 15 || frac > 15;
        out
    }

    /// Up to 5,000 levels of `[` or `{"a":` (or both, alternating) around a value.
    fn deep(&mut self) -> Node {
        let depth = (usize::from(self.u16()) % (MAX_DEEP + 1)).min(self.deep_left);
        self.deep_left -= depth;
        let style = self.byte() % 3;
        // A scalar inside: no further run or container.
        let inner = self.value(MAX_LEVEL + 1);
        let object = |i: usize| style == 1 || style == 2 && i % 2 == 0;
        let mut text = Vec::new();
        for i in 0..depth {
            text.extend_from_slice(if object(i) { b"{\"a\":" } else { b"[" });
        }
        text.extend_from_slice(&inner.text);
        for i in (0..depth).rev() {
            text.push(if object(i) { b'}' } else { b']' });
        }
        let members = (depth > 0 && object(0)).then(|| {
            let value = text[5..text.len() - 1].to_vec();
            vec![(b"\"a\"".to_vec(), value)]
        });
        Node {
            text,
            depth: depth + inner.depth,
            members: members.or(if depth == 0 { inner.members } else { None }),
        }
    }

    /// Up to five members; keys plain (`"k0"`) or hostile.
    fn object(&mut self, level: u32) -> Node {
        let n = self.byte() % 6;
        let mut members = Vec::new();
        let mut depth = 0;
        for i in 0..n {
            let key = if self.byte() & 1 == 0 {
                format!("\"k{i}\"").into_bytes()
            } else {
                let len = self.byte() % 8;
                self.string(usize::from(len))
            };
            let value = self.value(level + 1);
            depth = depth.max(value.depth);
            members.push((key, value.text));
        }
        Node::object(members, depth)
    }

    fn array(&mut self, level: u32) -> Node {
        let n = self.byte() % 6;
        let mut text = b"[".to_vec();
        let mut depth = 0;
        for i in 0..n {
            if i > 0 {
                text.push(b',');
            }
            let item = self.value(level + 1);
            depth = depth.max(item.depth);
            text.extend_from_slice(&item.text);
        }
        text.push(b']');
        Node {
            text,
            depth: depth + 1,
            members: None,
        }
    }

    /// A string of 64 KiB to 2 MiB: a short hostile pattern, repeated.
    fn huge(&mut self) -> Node {
        let units = 1 + usize::from(self.byte() % 32);
        let size = (units * HUGE_UNIT).min(self.huge_left);
        self.huge_left -= size;
        let len = self.byte() % 12;
        let mut pattern = self.content(usize::from(len));
        if pattern.is_empty() {
            pattern.push(b'x');
        }
        let mut text = b"\"".to_vec();
        while text.len() < size {
            text.extend_from_slice(&pattern);
        }
        text.push(b'"');
        Node::scalar(&text)
    }
}

/// Where the body goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Request,
    Response,
    Both,
}

/// One shaped line, decoded from the fuzz bytes.
struct Case {
    envelope: Envelope,
    place: Place,
    max_line: usize,
    /// The hostile value alone, and the body it is in.
    hostile: Node,
    body: Node,
    hazards: Hazards,
}

impl Case {
    /// The case the fuzzer's bytes describe: a flags byte (where the body goes, whether it
    /// is a Secret's, nested or bare, the verb), the line cap, the envelope's fields, then
    /// the body, drawn from the rest with bounded budgets for huge and deep values.
    fn from_bytes(data: &[u8]) -> Case {
        let mut g = Gen {
            data,
            pos: 0,
            hazards: Hazards::default(),
            huge_left: HUGE_BUDGET,
            deep_left: DEEP_BUDGET,
        };
        let flags = g.byte();
        let place = match flags & 3 {
            1 => Place::Response,
            2 => Place::Both,
            _ => Place::Request,
        };
        let secrets = flags & 4 != 0;
        let inside = flags & 8 != 0;
        let bare = flags & 16 != 0;
        let verb = VERBS[usize::from(flags >> 5)];
        let max_line = 64 + usize::from(g.u16()) % 4033;
        let e = g.byte();
        let ua_len = g.byte() % 16;
        let ua: Vec<u8> = (0..ua_len).map(|_| g.byte()).collect();
        let envelope = Envelope {
            audit_id: format!("{:08x}-0000-4000-8000-{:012x}", e, data.len()),
            verb,
            user: USERS[usize::from(e & 3)],
            // Go's encoder writes invalid UTF-8 as U+FFFD: the envelope is well-formed.
            user_agent: String::from_utf8_lossy(&ua).into_owned(),
            resource: if secrets {
                "secrets"
            } else if e & 4 != 0 {
                "pods"
            } else {
                "configmaps"
            },
            name: ["x", "db-password", "web"][usize::from(e >> 3) % 3],
            code: CODES[usize::from(e >> 5) % CODES.len()],
            received: u32::from(e),
            delay: u32::from(e) * 997,
        };
        let hostile = g.value(0);
        let body = if bare {
            hostile.clone()
        } else {
            let kind = if secrets { "Secret" } else { "ConfigMap" };
            let text = |s: &str| serde_json::to_vec(s).expect("a string serializes");
            let plain = |k: &str| format!("\"{k}\"").into_bytes();
            let mut data = vec![(plain("planted"), text(PLANTED))];
            let mut members = vec![
                (plain("kind"), text(kind)),
                (plain("apiVersion"), text("v1")),
                (
                    plain("metadata"),
                    format!(r#"{{"name":"{}","namespace":"ns"}}"#, envelope.name).into_bytes(),
                ),
            ];
            let mut data_depth = 0;
            if inside {
                data.push((plain("hostile"), hostile.text.clone()));
                data_depth = hostile.depth;
            }
            let data = Node::object(data, data_depth);
            let depth = if inside {
                data.depth
            } else {
                data.depth.max(hostile.depth)
            };
            members.push((plain("data"), data.text));
            if !inside {
                members.push((plain("hostile"), hostile.text.clone()));
            }
            members.push((plain("type"), text("Opaque")));
            Node::object(members, depth)
        };
        let hazards = g.hazards;
        Case {
            envelope,
            place,
            max_line,
            hostile,
            body,
            hazards,
        }
    }

    /// Nesting of the whole event.
    fn depth(&self) -> usize {
        1 + self.body.depth
    }

    fn bodies(&self) -> impl Iterator<Item = &[u8]> {
        let (req, resp) = self.placed();
        [req, resp]
            .into_iter()
            .flatten()
            .map(|_| &self.body.text[..])
    }

    fn placed(&self) -> (Option<()>, Option<()>) {
        match self.place {
            Place::Request => (Some(()), None),
            Place::Response => (None, Some(())),
            Place::Both => (Some(()), Some(())),
        }
    }

    /// The line as the apiserver writes it, with `body` as each body.
    fn event(&self, body: &[u8], salvaged: Option<&str>) -> Vec<u8> {
        let e = &self.envelope;
        let s = |v: &str| serde_json::to_string(v).expect("a string serializes");
        let mut out = format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":{},"stage":"ResponseComplete","requestURI":{},"verb":{},"user":{{"username":{},"groups":["system:authenticated"]}},"sourceIPs":["10.0.0.1"],"userAgent":{},"objectRef":{{"resource":{},"namespace":"ns","name":{},"apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":{}}}"#,
            s(&e.audit_id),
            s(&format!("/api/v1/namespaces/ns/{}/{}", e.resource, e.name)),
            s(e.verb),
            s(e.user),
            s(&e.user_agent),
            s(e.resource),
            s(e.name),
            e.code,
        )
        .into_bytes();
        let (req, resp) = self.placed();
        for (key, there) in [("requestObject", req), ("responseObject", resp)] {
            if there.is_some() {
                out.extend_from_slice(format!(",\"{key}\":").as_bytes());
                out.extend_from_slice(body);
            }
        }
        out.extend_from_slice(
            format!(
                r#","requestReceivedTimestamp":{},"stageTimestamp":{},"annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#,
                s(&Envelope::time(e.received_micros())),
                s(&Envelope::time(e.stage_micros())),
            )
            .as_bytes(),
        );
        if let Some(why) = salvaged {
            out.extend_from_slice(format!(",{}:{}", s(SALVAGED_KEY), s(why)).as_bytes());
        }
        out.push(b'}');
        out
    }

    fn line(&self) -> Vec<u8> {
        self.event(&self.body.text, None)
    }

    /// The event kaudit must keep (before redaction): the line when it parses, else the
    /// line with the body kept as the salvage promises: whole when it parses (invalid
    /// UTF-8 replaced as Go replaces it), else as an object of its readable members
    /// (each other one a marker of its size), else a marker; a body over the limit for
    /// one value on a line over the cap is a marker.
    fn expected(&self, salvaged: Option<&str>, too_long: bool) -> Vec<u8> {
        let Some(why) = salvaged else {
            return self.line();
        };
        let body = &self.body.text;
        let skipped = too_long && body.len() > Limits::streaming(0).body;
        let kept = if skipped {
            marker(body.len())
        } else if let Some(text) = readable(body, 1) {
            text
        } else if let Some(members) = &self.body.members {
            let mut out = b"{".to_vec();
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(key_as_kept(key));
                out.push(b':');
                out.extend(readable(value, 2).unwrap_or_else(|| marker(value.len())));
            }
            out.push(b'}');
            out
        } else {
            assert_ne!(
                body.first(),
                Some(&b'{'),
                "a generated object without its members"
            );
            marker(body.len())
        };
        self.event(&kept, Some(why))
    }
}
