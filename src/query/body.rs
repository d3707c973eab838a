//! Body fields: `req.PATH:VALUE`, `resp.PATH:VALUE` and `body.PATH:VALUE`, matched
//! against the terms `index::body` writes.
//!
//! A path is keys joined by dots. A key holding a dot, colon, quote, parenthesis or space
//! is quoted (`req.metadata.labels."app.kubernetes.io/name"`, with `\"` and `\\`); a `*`
//! key matches any one key at that level; a quoted `"*"` is a key named `*`; a `/regex/`
//! key matches each key the regex finds a match in (`req.data./(?i)passw/`, with `\/`
//! for a slash). List elements take their list's path.

use std::fmt;
use std::sync::Arc;

use regex::Regex;

use super::parse::{CmpOp, Value};
use super::term_scan::{TermScan, TermTest};
use crate::error::{Error, Result};
use crate::index::body::{
    self, BOTH, END, REQUEST, RESPONSE, SEP, TAG_BOOL, TAG_CONTINUED, TAG_HEAD, TAG_NUMBER,
    TAG_STRING,
};

/// Which body a path starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Root {
    /// `req.`: the requestObject.
    Request,
    /// `resp.`: the responseObject.
    Response,
    /// `body.`: either.
    Either,
}

impl Root {
    pub const ALL: [Root; 3] = [Root::Request, Root::Response, Root::Either];

    pub fn name(self) -> &'static str {
        match self {
            Root::Request => "req",
            Root::Response => "resp",
            Root::Either => "body",
        }
    }

    /// The term roots a path from here reads: a value both bodies hold is indexed once,
    /// under `BOTH`.
    fn term_roots(self) -> &'static [char] {
        match self {
            Root::Request => &[REQUEST, BOTH],
            Root::Response => &[RESPONSE, BOTH],
            Root::Either => &[REQUEST, RESPONSE, BOTH],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(String),
    /// `*`: any one key.
    Any,
    /// `/regex/`: any one key the regex finds a match in.
    Pattern(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BodyPath {
    pub root: Root,
    pub segments: Vec<Segment>,
}

impl fmt::Display for BodyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.root.name())?;
        for segment in &self.segments {
            f.write_str(".")?;
            match segment {
                Segment::Any => f.write_str("*")?,
                Segment::Pattern(p) => write!(f, "/{}/", p.replace('/', "\\/"))?,
                Segment::Key(key) if is_bare_key(key) => f.write_str(key)?,
                Segment::Key(key) => {
                    write!(f, "\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))?
                }
            }
        }
        Ok(())
    }
}

/// Characters that end a bare key.
fn ends_key(c: char) -> bool {
    c.is_whitespace() || matches!(c, '.' | ':' | '"' | '(' | ')')
}

fn is_bare_key(key: &str) -> bool {
    // A leading `/` would start a `/regex/` key.
    !key.is_empty()
        && key != "*"
        && !key.starts_with('/')
        && !key.contains(ends_key)
        && !key.contains('\\')
}

/// Reads `root.key.key…` starting at `chars[start]`, up to (not including) the `:`
/// after it. None when the text there does not start like a body path (`req.`,
/// `resp.`, `body.`, any case); otherwise the path and the index after it, or an error
/// (position, message).
pub fn lex_path(
    chars: &[char],
    start: usize,
) -> Option<std::result::Result<(BodyPath, usize), (usize, String)>> {
    let root = Root::ALL.into_iter().find(|root| {
        let name = root.name();
        let end = start + name.len();
        chars.get(end) == Some(&'.')
            && chars[start..end]
                .iter()
                .map(char::to_ascii_lowercase)
                .eq(name.chars())
    })?;
    let mut i = start + root.name().len();
    let mut segments = Vec::new();
    while chars.get(i) == Some(&'.') {
        i += 1;
        let key_start = i;
        if chars.get(i) == Some(&'"') {
            let mut key = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Some(Err((key_start, "unclosed quote in a body path".into()))),
                    Some('"') => break,
                    Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\')) => {
                        key.push(chars[i + 1]);
                        i += 1;
                    }
                    Some(&c) => key.push(c),
                }
                i += 1;
            }
            i += 1;
            segments.push(Segment::Key(key));
        } else if chars.get(i) == Some(&'/') {
            match pattern_segment(chars, i) {
                Some((pattern, end)) => {
                    segments.push(Segment::Pattern(pattern));
                    i = end;
                }
                None => {
                    let message = "unterminated /regex/ key in a body path: it ends at a \"/\" \
                                   followed by \".\" or \":\"";
                    return Some(Err((key_start, message.into())));
                }
            }
        } else {
            while chars.get(i).is_some_and(|&c| !ends_key(c)) {
                i += 1;
            }
            let key: String = chars[key_start..i].iter().collect();
            if key.is_empty() {
                let message = "expected a key after \".\" in a body path (quote keys that hold \
                               dots or spaces: req.metadata.labels.\"app.kubernetes.io/name\")";
                return Some(Err((key_start, message.into())));
            }
            segments.push(if key == "*" {
                Segment::Any
            } else {
                Segment::Key(key)
            });
        }
    }
    Some(Ok((BodyPath { root, segments }, i)))
}

/// A `/regex/` key at `chars[start]`: the pattern (`\/` read as `/`, other escapes kept
/// for the regex) and the index after its closing `/`, which is followed by `.` or `:`.
fn pattern_segment(chars: &[char], start: usize) -> Option<(String, usize)> {
    let mut pattern = String::new();
    let mut j = start + 1;
    while let Some(&c) = chars.get(j) {
        let next = chars.get(j + 1).copied();
        match c {
            _ if c.is_whitespace() => return None,
            '\\' if next.is_some_and(|n| !n.is_whitespace()) => {
                if next != Some('/') {
                    pattern.push('\\');
                }
                pattern.extend(next);
                j += 2;
                continue;
            }
            '/' if matches!(next, Some('.' | ':')) => return Some((pattern, j + 1)),
            _ => pattern.push(c),
        }
        j += 1;
    }
    None
}

/// The query for `path:value`. `value` is any form the parser gives a body field:
/// exact, prefix, regex, `*`, a number comparison, or `!=` one of those.
pub fn query(
    field: tantivy::schema::Field,
    path: &BodyPath,
    value: &Value,
) -> Result<Box<dyn tantivy::query::Query>> {
    let matcher = Arc::new(Matcher::new(value)?);
    let pattern = path
        .segments
        .iter()
        .map(|s| {
            Ok(match s {
                Segment::Key(k) => KeyMatch::Is(encoded_key(k)),
                Segment::Any => KeyMatch::Any,
                Segment::Pattern(p) => {
                    KeyMatch::Found(Regex::new(p).map_err(|e| Error::Regex {
                        field: "body",
                        pattern: p.clone(),
                        reason: e.to_string(),
                    })?)
                }
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // The literal part of the path, up to its first `*` or regex, bounds the walk.
    let literal: String = pattern
        .iter()
        .map_while(|k| match k {
            KeyMatch::Is(key) => Some(key.as_str()),
            _ => None,
        })
        .collect();
    let whole = pattern.iter().all(|k| matches!(k, KeyMatch::Is(_)));
    let mut prefixes = Vec::new();
    for &root in path.root.term_roots() {
        let base = format!("{root}{literal}");
        match matcher.narrowed().filter(|_| whole) {
            Some(narrowed) => prefixes.extend(
                narrowed
                    .into_iter()
                    .map(|(tag, v)| format!("{base}{END}{tag}{v}").into_bytes()),
            ),
            None => prefixes.push(base.into_bytes()),
        }
    }
    let test: TermTest = Arc::new(move |term: &[u8]| {
        let Ok(term) = std::str::from_utf8(term) else {
            return false;
        };
        let Some(end) = term.find(END) else {
            return false;
        };
        // The root is one ASCII byte.
        let keys = &term[1..end];
        let rest = &term[end + END.len_utf8()..];
        let Some(tag) = rest.chars().next() else {
            return false;
        };
        let value = &rest[tag.len_utf8()..];
        match path_match(&pattern, keys) {
            PathMatch::Exact => matcher.accepts(tag, value),
            // `PATH:*` is also true of an object or list that holds values below it.
            PathMatch::Below => matches!(*matcher, Matcher::Present),
            PathMatch::No => false,
        }
    });
    Ok(Box::new(TermScan::new(field, prefixes, test)))
}

/// One key of a path pattern.
enum KeyMatch {
    /// This key, encoded as in the index (with its leading `SEP`).
    Is(String),
    Any,
    /// A key the regex finds a match in (unescaped first).
    Found(Regex),
}

enum PathMatch {
    Exact,
    Below,
    No,
}

/// Compares a term's encoded keys with the pattern.
fn path_match(pattern: &[KeyMatch], keys: &str) -> PathMatch {
    let mut rest = keys;
    for want in pattern {
        let Some(after) = rest.strip_prefix(SEP) else {
            return PathMatch::No;
        };
        let len = after.find(SEP).unwrap_or(after.len());
        let (key, tail) = after.split_at(len);
        let fits = match want {
            KeyMatch::Is(w) => w[SEP.len_utf8()..] == *key,
            KeyMatch::Any => true,
            KeyMatch::Found(regex) => body::unescape_key(key).is_some_and(|k| regex.is_match(&k)),
        };
        if !fits {
            return PathMatch::No;
        }
        rest = tail;
    }
    if rest.is_empty() {
        PathMatch::Exact
    } else {
        PathMatch::Below
    }
}

fn encoded_key(key: &str) -> String {
    let mut out = String::new();
    body::push_key(&mut out, key);
    out
}

/// What a body value must be.
enum Matcher {
    Present,
    Exact {
        text: String,
        number: Option<f64>,
    },
    Prefix(String),
    Search {
        regex: Regex,
        /// The pattern starts with `^` / ends with `$`: a later piece of a long string
        /// cannot match its start, nor the first piece its end.
        anchored_start: bool,
        anchored_end: bool,
    },
    Compare(CmpOp, f64),
    /// `!=`: some value that the inner matcher refuses.
    SomeNot(Box<Matcher>),
}

impl Matcher {
    fn new(value: &Value) -> Result<Matcher> {
        Ok(match value {
            Value::Any => Matcher::Present,
            Value::Exact(text) => Matcher::Exact {
                text: text.clone(),
                number: parse_number(text),
            },
            Value::Prefix(p) => Matcher::Prefix(p.clone()),
            Value::Regex(pattern) => Matcher::Search {
                regex: Regex::new(pattern).map_err(|e| Error::Regex {
                    field: "body",
                    pattern: pattern.clone(),
                    reason: e.to_string(),
                })?,
                anchored_start: pattern.starts_with('^'),
                anchored_end: pattern.ends_with('$') && !pattern.ends_with("\\$"),
            },
            Value::Number(op, n) => {
                Matcher::Compare(*op, parse_number(n).expect("the parser checks numbers"))
            }
            Value::SomeNot(inner) => Matcher::SomeNot(Box::new(Matcher::new(inner)?)),
            Value::Compare(..) | Value::Range(..) => {
                unreachable!("the parser gives body fields no integer comparisons")
            }
        })
    }

    /// (tag, value prefix) pairs that hold every term this matcher accepts at a path,
    /// when there are few: the walk then reads only those.
    fn narrowed(&self) -> Option<Vec<(char, String)>> {
        match self {
            Matcher::Exact { text, number } => {
                let mut out = vec![(TAG_STRING, text.clone())];
                if text == "true" || text == "false" {
                    out.push((TAG_BOOL, text.clone()));
                }
                if number.is_some() {
                    out.push((TAG_NUMBER, String::new()));
                }
                Some(out)
            }
            Matcher::Prefix(p) => Some(
                [TAG_STRING, TAG_HEAD, TAG_NUMBER, TAG_BOOL]
                    .into_iter()
                    .map(|tag| (tag, p.clone()))
                    .collect(),
            ),
            Matcher::Compare(..) => Some(vec![(TAG_NUMBER, String::new())]),
            Matcher::Present | Matcher::Search { .. } | Matcher::SomeNot(_) => None,
        }
    }

    /// Whether a body term's typed value (its tag and text, see `index::body`) matches:
    /// exact strings and booleans by text, numbers by value, prefixes and regexes on the
    /// text (a long string's pieces too), `!=` on any value but the one named.
    fn accepts(&self, tag: char, value: &str) -> bool {
        match self {
            Matcher::Present => true,
            Matcher::Exact { text, number } => match tag {
                TAG_STRING | TAG_BOOL => value == text,
                TAG_NUMBER => number.is_some() && parse_number(value) == *number,
                _ => false,
            },
            Matcher::Prefix(p) => {
                matches!(tag, TAG_STRING | TAG_HEAD | TAG_NUMBER | TAG_BOOL) && value.starts_with(p)
            }
            Matcher::Search {
                regex,
                anchored_start,
                anchored_end,
            } => {
                let piece_fits = match tag {
                    TAG_STRING | TAG_NUMBER | TAG_BOOL => true,
                    TAG_HEAD => !anchored_end,
                    TAG_CONTINUED => !anchored_start,
                    _ => false,
                };
                piece_fits && regex.is_match(value)
            }
            Matcher::Compare(op, n) => {
                tag == TAG_NUMBER
                    && parse_number(value).is_some_and(|v| match op {
                        CmpOp::Lt => v < *n,
                        CmpOp::Le => v <= *n,
                        CmpOp::Gt => v > *n,
                        CmpOp::Ge => v >= *n,
                        CmpOp::Eq => v == *n,
                        CmpOp::Ne => v != *n,
                    })
            }
            // A value is a scalar, or the first piece of a long string; an empty object
            // or list is no value, and later pieces are parts of one.
            Matcher::SomeNot(inner) => {
                matches!(tag, TAG_STRING | TAG_HEAD | TAG_NUMBER | TAG_BOOL)
                    && !inner.accepts(tag, value)
            }
        }
    }
}

/// A JSON-style number, finite: what a body comparison takes.
pub fn parse_number(text: &str) -> Option<f64> {
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if !plain || text.is_empty() {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(value: Value) -> Matcher {
        Matcher::new(&value).unwrap()
    }

    fn regex(pattern: &str) -> Matcher {
        matcher(Value::Regex(pattern.to_string()))
    }

    #[test]
    fn a_regex_searches_and_its_anchors_keep_to_the_right_pieces() {
        let search = regex("AKIA[0-9A-Z]{4}");
        assert!(search.accepts(TAG_STRING, "key = AKIAABCD\n"));
        assert!(search.accepts(TAG_CONTINUED, "…AKIAABCD"));
        assert!(!search.accepts(crate::index::body::TAG_EMPTY, ""));
        let start = regex("^AKIA");
        assert!(start.accepts(TAG_HEAD, "AKIA…"));
        assert!(
            !start.accepts(TAG_CONTINUED, "AKIA…"),
            "a later piece has no start"
        );
        let end = regex("EXAMPLE$");
        assert!(end.accepts(TAG_CONTINUED, "…EXAMPLE"));
        assert!(
            !end.accepts(TAG_HEAD, "…EXAMPLE"),
            "the first piece has no end"
        );
        assert!(!regex(r"EXAMPLE\$").accepts(TAG_CONTINUED, "EXAMPLE"));
    }

    #[test]
    fn exact_values_match_strings_numbers_and_booleans_as_json_writes_them() {
        let ten = matcher(Value::Exact("10".into()));
        assert!(ten.accepts(TAG_STRING, "10"));
        assert!(ten.accepts(TAG_NUMBER, "10"));
        assert!(ten.accepts(TAG_NUMBER, "1e1"));
        assert!(
            !ten.accepts(TAG_HEAD, "10"),
            "a long string's first piece is not the string"
        );
        let yes = matcher(Value::Exact("true".into()));
        assert!(yes.accepts(TAG_BOOL, "true") && yes.accepts(TAG_STRING, "true"));
        assert!(!yes.accepts(TAG_BOOL, "false"));
        let more = matcher(Value::Number(CmpOp::Gt, "2.5".into()));
        assert!(more.accepts(TAG_NUMBER, "3") && !more.accepts(TAG_NUMBER, "2.5"));
        assert!(
            !more.accepts(TAG_STRING, "3"),
            "a string is not compared as a number"
        );
        assert_eq!(parse_number("1e400"), None);
        assert_eq!(parse_number("0x10"), None);
        assert_eq!(parse_number("-1.5E2"), Some(-150.0));
    }

    #[test]
    fn not_equal_is_some_value_other_than_it_never_a_container() {
        let not_get = matcher(Value::SomeNot(Box::new(Value::Exact("get".into()))));
        assert!(not_get.accepts(TAG_STRING, "list"));
        assert!(!not_get.accepts(TAG_STRING, "get"));
        assert!(!not_get.accepts(crate::index::body::TAG_EMPTY, ""));
        assert!(
            !not_get.accepts(TAG_CONTINUED, "list"),
            "a later piece is part of a value"
        );
    }

    #[test]
    fn paths_match_key_by_key() {
        let pattern = |keys: &[Option<&str>]| -> Vec<KeyMatch> {
            keys.iter()
                .map(|k| match k {
                    Some(k) => KeyMatch::Is(encoded_key(k)),
                    None => KeyMatch::Any,
                })
                .collect()
        };
        let keys = |ks: &[&str]| -> String { ks.iter().map(|k| encoded_key(k)).collect() };
        let p = pattern(&[Some("data"), None]);
        assert!(matches!(
            path_match(&p, &keys(&["data", "a.b"])),
            PathMatch::Exact
        ));
        assert!(matches!(
            path_match(&p, &keys(&["data", "a", "b"])),
            PathMatch::Below
        ));
        assert!(matches!(path_match(&p, &keys(&["data"])), PathMatch::No));
        assert!(matches!(
            path_match(&p, &keys(&["spec", "x"])),
            PathMatch::No
        ));
        let found = vec![
            KeyMatch::Is(encoded_key("data")),
            KeyMatch::Found(Regex::new("(?i)pass").unwrap()),
        ];
        assert!(matches!(
            path_match(&found, &keys(&["data", "DB_PASSWORD"])),
            PathMatch::Exact
        ));
        assert!(matches!(
            path_match(&found, &keys(&["data", "user"])),
            PathMatch::No
        ));
        // A key holding the separator is one key, not two.
        assert!(matches!(
            path_match(&pattern(&[Some("spec"), Some("x")]), &keys(&["spec\u{1}x"])),
            PathMatch::No
        ));
    }
}
