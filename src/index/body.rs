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
//! - `ROOT` is `q` for the request body, `p` for the response body.
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

use simd_json::StaticNode;
use simd_json::borrowed::Value;

/// Root of the request body's terms.
pub const REQUEST: char = 'q';
/// Root of the response body's terms.
pub const RESPONSE: char = 'p';
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
    for (root, key) in [(REQUEST, "requestObject"), (RESPONSE, "responseObject")] {
        // Go's decoder keeps the last copy of a key, matched as it matches struct fields.
        let Some(body) = last_member(members, key) else {
            continue;
        };
        // A forwarder may hand the body on as a JSON string: its content is the body.
        if let Value::String(text) = body
            && text.trim_start().starts_with(['{', '['])
        {
            let mut buf = text.as_bytes().to_vec();
            if let Ok(parsed) = simd_json::to_borrowed_value(&mut buf) {
                flatten(&parsed, root, emit);
                continue;
            }
        }
        flatten(body, root, emit);
    }
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
    memchr::memmem::find(json, b"bject\"").is_some()
        || memchr::memmem::find_iter(json, b"\\u00")
            .any(|i| matches!(json.get(i + 4), Some(b'4'..=b'7')))
}

/// One value and everything under it, each term handed to `emit`. Iterative, since a
/// body may nest as deep as the parser allowed; values come out in the body's order.
/// One buffer holds the path and one the term: a body of a hundred values costs no
/// allocation per value.
fn flatten(value: &Value<'_>, root: char, emit: &mut dyn FnMut(&str)) {
    let mut path = String::from(root);
    let mut term = String::new();
    // (value, length of its parent's path, its key): the path is rebuilt from the
    // parent's, which is still in `path` when a value is popped (depth first).
    let mut stack: Vec<(&Value<'_>, usize, Option<&str>)> = vec![(value, path.len(), None)];
    while let Some((value, parent, key)) = stack.pop() {
        path.truncate(parent);
        if let Some(key) = key {
            push_key(&mut path, key);
        }
        let mut leaf = |tag: char, text: &str| {
            term.clear();
            term.push_str(&path);
            term.push(END);
            term.push(tag);
            term.push_str(text);
            emit(&term);
        };
        match value {
            Value::Static(StaticNode::Null) => {}
            Value::Static(StaticNode::Bool(b)) => leaf(TAG_BOOL, if *b { "true" } else { "false" }),
            Value::Static(n) => leaf(TAG_NUMBER, &number_text(*n)),
            Value::String(s) => pieces(s, &mut leaf),
            Value::Array(items) => {
                if !holds_value(value) {
                    leaf(TAG_EMPTY, "");
                }
                let here = path.len();
                stack.extend(items.iter().rev().map(|item| (item, here, None)));
            }
            Value::Object(members) => {
                if !holds_value(value) {
                    leaf(TAG_EMPTY, "");
                }
                let here = path.len();
                let metadata = path.ends_with(METADATA);
                let children = members
                    .iter()
                    .filter(|(key, _)| !(metadata && *key == "managedFields"));
                let first = stack.len();
                stack.extend(children.map(|(key, member)| (member, here, Some(key.as_ref()))));
                stack[first..].reverse();
            }
        }
    }
}

/// A string, whole or in overlapping pieces, each handed to `leaf` with its tag.
fn pieces(s: &str, leaf: &mut dyn FnMut(char, &str)) {
    if s.len() <= PIECE {
        leaf(TAG_STRING, s);
        return;
    }
    let mut start = 0;
    let mut tag = TAG_HEAD;
    loop {
        let mut end = (start + PIECE).min(s.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        leaf(tag, &s[start..end]);
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
                t('q', &["spec", "replicas"], 'n', "3"),
                t('q', &["spec", "ratio"], 'n', "0.5"),
                t('q', &["spec", "on"], 'b', "true"),
                t('q', &["spec", "containers", "image"], 's', "a"),
                t('q', &["spec", "containers", "image"], 's', "b"),
                t('q', &["spec", "containers", "args"], 'o', ""),
                t('q', &["spec", "sel"], 'o', ""),
                t(
                    'p',
                    &["metadata", "labels", "app.kubernetes.io/name"],
                    's',
                    "web"
                ),
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
