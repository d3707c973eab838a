//! The bodies of a request as index terms: what `req.PATH:`, `resp.PATH:` and
//! `body.PATH:` queries match (`query::body`).
//!
//! Each value of the (redacted) `requestObject` and `responseObject` becomes one term of
//! the raw `body` field, spelled
//!
//! ```text
//! ROOT { SEP key } END TAG value
//! ```
//!
//! - `ROOT` is `q` for the request body, `p` for the response body, `b` for a value both
//!   hold at the same path (the same element of a list counts as the same path).
//! - `SEP` (U+0001) goes before each key, `END` (U+0000) after the last, so a key holding
//!   dots or slashes (`app.kubernetes.io/name`) is one key. U+0000..=U+0002 inside a key
//!   are escaped with `ESC` (U+0002) followed by `0`, `1` or `2`, so a hostile key cannot
//!   forge a path.
//! - Array elements take the path of their array: `spec.containers.image` is every
//!   container's image.
//! - `TAG` says what follows: `s` a whole string, `t` the first piece of a string longer
//!   than [`PIECE`] bytes and `c` each later piece (pieces overlap by [`OVERLAP`] bytes,
//!   so a pattern that short still matches across a cut), `n` a number as JSON writes it,
//!   `b` `true` or `false`, `o` an object or list holding no value (empty, or nulls only),
//!   which is present all the same (`PATH:*`). Null is no value: `-PATH:*` is absent or null.
//!
//! `metadata.managedFields` is left out (see [`METADATA`]).
//!
//! Bodies are indexed wherever the event holds one, whatever its `level` says, and
//! whatever their size (a term is at most a key and a piece; keys are cut at [`KEY_MAX`]
//! bytes). They are read from the stored event, after redaction: a Secret's values are
//! never indexed, only the marker that replaced them.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use simd_json::StaticNode;
use simd_json::borrowed::Value;

/// Root of the request body's terms.
pub const REQUEST: char = 'q';
/// Root of the response body's terms.
pub const RESPONSE: char = 'p';
/// Root of a value both bodies hold at the same path: indexed once, not twice (a create
/// or update logged at RequestResponse echoes most of its request in its response).
pub const BOTH: char = 'b';
/// Goes before each key of a path.
pub const SEP: char = '\u{1}';
/// Ends the path; the tag follows.
pub const END: char = '\u{0}';
/// Escapes U+0000..=U+0002 inside a key.
pub const ESC: char = '\u{2}';

pub const TAG_STRING: char = 's';
pub const TAG_HEAD: char = 't';
pub const TAG_CONTINUED: char = 'c';
pub const TAG_NUMBER: char = 'n';
pub const TAG_BOOL: char = 'b';
pub const TAG_EMPTY: char = 'o';

/// The path of an object's `metadata`, whose `managedFields` are not indexed: field
/// ownership bookkeeping the apiserver writes, half the keys of a typical body and
/// unique per object (`k:{"uid":…}`), which no investigation asks about. They stay in
/// the stored event.
const METADATA: &str = "\u{1}metadata";

/// Strings longer than this are indexed in pieces: tantivy drops a term over 64 KiB,
/// and a few long pieces cost the term dictionary less than one huge term.
pub const PIECE: usize = 4096;
/// How much consecutive pieces overlap.
pub const OVERLAP: usize = 256;
/// Keys are cut to this many bytes (no real key comes close; a hostile one must not
/// push its values' terms past tantivy's limit).
pub const KEY_MAX: usize = 1024;

/// Appends `key` to `path` as one segment.
pub fn push_key(path: &mut String, key: &str) {
    path.push(SEP);
    let mut cut = key.len().min(KEY_MAX);
    while !key.is_char_boundary(cut) {
        cut -= 1;
    }
    for c in key[..cut].chars() {
        match c {
            END | SEP | ESC => {
                path.push(ESC);
                path.push(char::from(b'0' + c as u8));
            }
            c => path.push(c),
        }
    }
}

/// The terms of the bodies of `event` (a parsed, redacted audit event), each handed to
/// `emit`.
pub fn terms(event: &Value<'_>, emit: &mut dyn FnMut(&str)) {
    let Value::Object(members) = event else {
        return;
    };
    // Go's decoder keeps the last copy of a key, matched as it matches struct fields.
    let request = last_member(members, "requestObject");
    let response = last_member(members, "responseObject");
    let (request_text, response_text) = (request.and_then(decoded), response.and_then(decoded));
    let request: Option<&Value<'_>> = request_text.as_ref().or(request);
    let response: Option<&Value<'_>> = response_text.as_ref().or(response);
    let mut walk = Walk {
        path: String::new(),
        term: String::new(),
        emit,
    };
    walk.pair(request, response);
}

/// A body a forwarder handed on as a JSON string: its content is the body.
fn decoded(body: &Value<'_>) -> Option<Value<'static>> {
    let Value::String(text) = body else {
        return None;
    };
    if !text.trim_start().starts_with(['{', '[']) {
        return None;
    }
    let mut buf = text.as_bytes().to_vec();
    simd_json::to_borrowed_value(&mut buf)
        .ok()
        .map(Value::into_static)
}

/// The `command` list of an exec request's body (`PodExecOptions`), when it has one:
/// clients that POST their options send the command there, not in the URI.
pub fn exec_command(event: &Value<'_>) -> Option<Vec<String>> {
    let body = request_body(event)?;
    let Value::Object(options) = body else {
        return None;
    };
    let command = options
        .iter()
        .filter(|(k, _)| crate::ingest::redact::key_is(k, "command"))
        .map(|(_, v)| v)
        .last()?;
    match command {
        Value::Array(argv) => Some(
            argv.iter()
                .filter_map(|arg| match arg {
                    Value::String(s) => Some(s.to_string()),
                    _ => None,
                })
                .collect(),
        ),
        Value::String(s) => Some(vec![s.to_string()]),
        _ => None,
    }
}

fn request_body<'v, 'a>(event: &'v Value<'a>) -> Option<&'v Value<'a>> {
    let Value::Object(members) = event else {
        return None;
    };
    last_member(members, "requestObject")
}

/// The last member whose key Go's decoder matches to `key` (any case, `ſ` for `s`).
fn last_member<'v, 'a>(
    members: &'v simd_json::borrowed::Object<'a>,
    key: &str,
) -> Option<&'v Value<'a>> {
    members
        .iter()
        .filter(|(k, _)| crate::ingest::redact::key_is(k, key))
        .map(|(_, v)| v)
        .last()
}

/// Whether the event JSON may have a body member: a cheap test before parsing it.
/// Every spelling Go accepts ends in `bject"` (`ſ` and any case only change letters
/// before it), unless a letter is written as an escape (`\u0062`), which real logs
/// never do and a hostile line may.
pub fn may_have_body(json: &[u8]) -> bool {
    // Built once: every event is asked.
    static KEY_END: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"bject\""));
    static ESCAPE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\\u00"));
    KEY_END.find(json).is_some()
        || ESCAPE
            .find_iter(json)
            .any(|i| matches!(json.get(i + 4), Some(b'4'..=b'7')))
}

/// Builds terms in two reused buffers (no allocation per value) and hands them on.
struct Walk<'e> {
    /// The keys of the value at hand, without the root.
    path: String,
    term: String,
    emit: &'e mut dyn FnMut(&str),
}

/// A value to visit: in the request body, the response body or both (at the same path),
/// the length of its parent's path (still in `Walk::path` when it is popped, as the
/// walk is depth first) and its key.
type Pending<'v, 'a> = (
    Option<&'v Value<'a>>,
    Option<&'v Value<'a>>,
    usize,
    Option<&'v str>,
);

impl Walk<'_> {
    fn leaf(&mut self, root: char, tag: char, text: &str) {
        self.term.clear();
        self.term.push(root);
        self.term.push_str(&self.path);
        self.term.push(END);
        self.term.push(tag);
        self.term.push_str(text);
        (self.emit)(&self.term);
    }

    /// A scalar as a tag and its text; None for containers and null.
    fn scalar<'v>(value: &'v Value<'_>) -> Option<(char, std::borrow::Cow<'v, str>)> {
        Some(match value {
            Value::Static(StaticNode::Null) | Value::Array(_) | Value::Object(_) => return None,
            Value::Static(StaticNode::Bool(b)) => {
                (TAG_BOOL, (if *b { "true" } else { "false" }).into())
            }
            Value::Static(n) => (TAG_NUMBER, number_text(*n).into()),
            Value::String(s) => (TAG_STRING, s.as_ref().into()),
        })
    }

    /// The two bodies side by side: where both hold the same value at a path it is one
    /// `BOTH` term, elsewhere each body's own. Iterative, since a body may nest as deep
    /// as the parser allowed; values come out in the body's order.
    fn pair<'v, 'a>(&mut self, request: Option<&'v Value<'a>>, response: Option<&'v Value<'a>>) {
        let mut stack: Vec<Pending<'v, 'a>> = vec![(request, response, 0, None)];
        while let Some((q, p, parent, key)) = stack.pop() {
            self.path.truncate(parent);
            if let Some(key) = key {
                push_key(&mut self.path, key);
            }
            let here = self.path.len();
            let first = stack.len();
            match (q, p) {
                (None, None) => {}
                (Some(q), None) => self.one(q, REQUEST),
                (None, Some(p)) => self.one(p, RESPONSE),
                (Some(qv @ Value::Object(qs)), Some(pv @ Value::Object(ps))) => {
                    self.markers(qv, pv);
                    let metadata = self.path.ends_with(METADATA);
                    let kept = |key: &str| !(metadata && key == "managedFields");
                    for (key, value) in qs.iter().filter(|(k, _)| kept(k)) {
                        stack.push((Some(value), ps.get(key.as_ref()), here, Some(key.as_ref())));
                    }
                    for (key, value) in ps
                        .iter()
                        .filter(|(k, _)| kept(k) && !qs.contains_key(k.as_ref()))
                    {
                        stack.push((None, Some(value), here, Some(key.as_ref())));
                    }
                }
                (Some(qv @ Value::Array(qs)), Some(pv @ Value::Array(ps))) => {
                    self.markers(qv, pv);
                    for i in 0..qs.len().max(ps.len()) {
                        stack.push((qs.get(i), ps.get(i), here, None));
                    }
                }
                (Some(q), Some(p)) => match (Self::scalar(q), Self::scalar(p)) {
                    (Some(a), Some(b)) if a == b => self.pieces(BOTH, a.0, &a.1),
                    _ => {
                        self.one(q, REQUEST);
                        self.path.truncate(here);
                        self.one(p, RESPONSE);
                    }
                },
            }
            stack[first..].reverse();
        }
    }

    /// The empty-container terms of two containers at the same path.
    fn markers(&mut self, q: &Value<'_>, p: &Value<'_>) {
        match (holds_value(q), holds_value(p)) {
            (false, false) => self.leaf(BOTH, TAG_EMPTY, ""),
            (false, true) => self.leaf(REQUEST, TAG_EMPTY, ""),
            (true, false) => self.leaf(RESPONSE, TAG_EMPTY, ""),
            (true, true) => {}
        }
    }

    /// One value of one body and everything under it, at the current path (restored
    /// when done).
    fn one(&mut self, value: &Value<'_>, root: char) {
        let base = self.path.len();
        let mut stack: Vec<(&Value<'_>, usize, Option<&str>)> = vec![(value, base, None)];
        while let Some((value, parent, key)) = stack.pop() {
            self.path.truncate(parent);
            if let Some(key) = key {
                push_key(&mut self.path, key);
            }
            let here = self.path.len();
            let first = stack.len();
            match value {
                Value::Static(StaticNode::Null) => {}
                Value::Array(items) => {
                    if !holds_value(value) {
                        self.leaf(root, TAG_EMPTY, "");
                    }
                    stack.extend(items.iter().map(|item| (item, here, None)));
                }
                Value::Object(members) => {
                    if !holds_value(value) {
                        self.leaf(root, TAG_EMPTY, "");
                    }
                    let metadata = self.path.ends_with(METADATA);
                    let children = members
                        .iter()
                        .filter(|(key, _)| !(metadata && *key == "managedFields"));
                    stack.extend(children.map(|(key, member)| (member, here, Some(key.as_ref()))));
                }
                scalar => {
                    if let Some((tag, text)) = Self::scalar(scalar) {
                        self.pieces(root, tag, &text);
                    }
                }
            }
            stack[first..].reverse();
        }
        self.path.truncate(base);
    }

    /// A scalar's terms: a string longer than [`PIECE`] in overlapping pieces.
    fn pieces(&mut self, root: char, tag: char, s: &str) {
        if tag != TAG_STRING || s.len() <= PIECE {
            self.leaf(root, tag, s);
            return;
        }
        let mut start = 0;
        let mut tag = TAG_HEAD;
        loop {
            let mut end = (start + PIECE).min(s.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.leaf(root, tag, &s[start..end]);
            if end == s.len() {
                return;
            }
            tag = TAG_CONTINUED;
            start = end - OVERLAP;
            while !s.is_char_boundary(start) {
                start -= 1;
            }
        }
    }
}

/// A number as JSON writes it: integers in full, others as Rust's shortest round trip.
pub fn number_text(n: StaticNode) -> String {
    match n {
        StaticNode::I64(i) => i.to_string(),
        StaticNode::U64(u) => u.to_string(),
        StaticNode::F64(f) => f.to_string(),
        StaticNode::Bool(b) => b.to_string(),
        StaticNode::Null => String::new(),
    }
}

/// Whether a list or object holds a non-null value anywhere below it: one that has none
/// is still present, and gets a term of its own.
fn holds_value(value: &Value<'_>) -> bool {
    match value {
        Value::Static(StaticNode::Null) => false,
        Value::Array(items) => items.iter().any(holds_value),
        Value::Object(members) => members.values().any(holds_value),
        _ => true,
    }
}

/// Splits a term back into its root, path keys, tag and value: for tests and for
/// `query::body`'s matching. None for a term that is not one of ours.
pub fn split(term: &str) -> Option<(char, Vec<String>, char, &str)> {
    let mut chars = term.char_indices();
    let (_, root) = chars.next()?;
    let end = term.find(END)?;
    let path = &term[root.len_utf8()..end];
    let mut keys = Vec::new();
    if !path.is_empty() {
        for raw in path.strip_prefix(SEP)?.split(SEP) {
            keys.push(unescape_key(raw)?);
        }
    }
    let rest = &term[end + END.len_utf8()..];
    let tag = rest.chars().next()?;
    Some((root, keys, tag, &rest[tag.len_utf8()..]))
}

pub fn unescape_key(raw: &str) -> Option<String> {
    let mut key = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == ESC {
            let code = chars.next()?.to_digit(10)?;
            key.push(char::from_u32(code)?);
        } else {
            key.push(c);
        }
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms_of(event: &str) -> Vec<(char, Vec<String>, char, String)> {
        let mut buf = event.as_bytes().to_vec();
        let value = simd_json::to_borrowed_value(&mut buf).unwrap();
        let mut out = Vec::new();
        terms(&value, &mut |t| out.push(t.to_string()));
        out.iter()
            .map(|t| {
                let (root, keys, tag, value) = split(t).unwrap();
                (root, keys, tag, value.to_string())
            })
            .collect()
    }

    fn t(root: char, keys: &[&str], tag: char, value: &str) -> (char, Vec<String>, char, String) {
        let keys = keys.iter().map(|k| k.to_string()).collect();
        (root, keys, tag, value.to_string())
    }

    #[test]
    fn values_become_path_terms_lists_flattened_nulls_left_out() {
        let got = terms_of(
            r#"{"verb":"create","requestObject":{"metadata":{"managedFields":[{"manager":"m"}]},"spec":{"replicas":3,"ratio":0.5,"on":true,
                "containers":[{"image":"a"},{"image":"b","args":[]}],"x":null,"sel":{"k":null}}},
                "responseObject":{"metadata":{"labels":{"app.kubernetes.io/name":"web"}}}}"#,
        );
        assert_eq!(
            got,
            [
                // Both bodies have `metadata` (the request's holds only managedFields).
                t(
                    'p',
                    &["metadata", "labels", "app.kubernetes.io/name"],
                    's',
                    "web"
                ),
                t('q', &["spec", "replicas"], 'n', "3"),
                t('q', &["spec", "ratio"], 'n', "0.5"),
                t('q', &["spec", "on"], 'b', "true"),
                t('q', &["spec", "containers", "image"], 's', "a"),
                t('q', &["spec", "containers", "image"], 's', "b"),
                t('q', &["spec", "containers", "args"], 'o', ""),
                t('q', &["spec", "sel"], 'o', ""),
            ]
        );
    }

    #[test]
    fn a_value_both_bodies_hold_at_a_path_is_one_term() {
        let got = terms_of(
            r#"{"requestObject":{"spec":{"a":1,"b":2,"l":["x","y"]}},
                "responseObject":{"spec":{"a":1,"b":3,"l":["x","z","w"]},"status":{}}}"#,
        );
        assert_eq!(
            got,
            [
                t('b', &["spec", "a"], 'n', "1"),
                t('q', &["spec", "b"], 'n', "2"),
                t('p', &["spec", "b"], 'n', "3"),
                t('b', &["spec", "l"], 's', "x"),
                t('q', &["spec", "l"], 's', "y"),
                t('p', &["spec", "l"], 's', "z"),
                t('p', &["spec", "l"], 's', "w"),
                t('p', &["status"], 'o', ""),
            ]
        );
    }

    #[test]
    fn a_key_cannot_forge_a_path_and_the_last_body_copy_counts() {
        let got = terms_of(
            r#"{"requestObject":{"a":1},"REQUESTOBJECT":{"spec\u0001hostNetwork":true,"b\u0000s\u0002":2}}"#,
        );
        assert_eq!(
            got,
            [
                t('q', &["spec\u{1}hostNetwork"], 'b', "true"),
                t('q', &["b\u{0}s\u{2}"], 'n', "2"),
            ]
        );
    }

    #[test]
    fn a_body_handed_on_as_a_json_string_is_read_as_its_content() {
        let got = terms_of(
            r#"{"requestObject":"{\"spec\":{\"type\":\"NodePort\"}}","responseObject":"plain"}"#,
        );
        assert_eq!(
            got,
            [
                t('q', &["spec", "type"], 's', "NodePort"),
                t('p', &[], 's', "plain")
            ]
        );
    }

    #[test]
    fn long_strings_are_cut_into_overlapping_pieces() {
        let long = format!("{}KEY{}", "a".repeat(PIECE - 1), "b".repeat(PIECE * 2));
        let event = format!(r#"{{"requestObject":{{"v":"{long}"}}}}"#);
        let got = terms_of(&event);
        let tags: Vec<char> = got.iter().map(|(_, _, tag, _)| *tag).collect();
        assert_eq!(tags, ['t', 'c', 'c', 'c']);
        // Every piece but the last is PIECE bytes; each starts OVERLAP before the last ended.
        assert!(got.iter().all(|(_, _, _, v)| v.len() <= PIECE));
        assert!(got[1].3.starts_with(&long[PIECE - OVERLAP..PIECE]));
        // "KEY" straddles the first cut and is whole in the second piece.
        assert!(!got[0].3.contains("KEY") && got[1].3.contains("KEY"));
        let joined: usize = got.iter().map(|(_, _, _, v)| v.len()).sum();
        assert_eq!(joined - OVERLAP * (got.len() - 1), long.len());
    }

    #[test]
    fn may_have_body_sees_every_spelling() {
        for event in [
            r#"{"requestObject":{}}"#,
            r#"{"requeſtObject":{}}"#,
            r#"{"responseobject":{}}"#,
            r#"{"requestO\u0062ject":{}}"#,
        ] {
            assert!(may_have_body(event.as_bytes()), "{event}");
        }
        assert!(!may_have_body(
            br#"{"verb":"get","requestURI":"/a?b=1\u0026c"}"#
        ));
    }
}
