//! Tab completion in the query bar: which word the cursor is on and what could replace
//! it. Pure text work; the caller supplies the values (from the index) and the saved
//! query names, so this is tested without an index.
//!
//! The words are found the way `query::parse` lexes them: whitespace and `)` end a
//! word, `(` and a leading `-` (or `NOT(`) stand before it, and a quoted value runs to
//! its closing quote whatever it holds. Positions are in characters, like the cursor.

use crate::query::parse::{Expr, Field, Value};

/// What Tab can do at the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The characters `start..end` of the text are what a candidate replaces.
    pub start: usize,
    pub end: usize,
    /// Whole replacement texts (`resource:`, `ns:kube-system`, `@exec-into-pods`); empty
    /// when nothing matches what was typed.
    pub candidates: Vec<String>,
}

/// Completes the word at `cursor` (in characters) of `text`.
///
/// - A word without `:` yet: the field names starting with it (any case), with the `:`
///   appended; a word starting with `@`: the `saved` query names.
/// - After `field:`: `values(field, prefix)`, each written as `field:value`, quoted when
///   the parser would not read it back bare, or when the user opened a quote.
///
/// Only what precedes the cursor is matched; the candidate replaces the whole word
/// under the cursor (`verb:ge|t` → `verb:get`, not `verb:gett`), but with the cursor
/// at the start of a word nothing is typed yet and the candidate is inserted there.
///
/// None when there is nothing to complete: an unknown field, a free "phrase", or the
/// cursor right after `)`.
pub fn complete(
    text: &str,
    cursor: usize,
    values: &mut dyn FnMut(Field, &str) -> Vec<String>,
    saved: &[String],
) -> Option<Completion> {
    let chars: Vec<char> = text.chars().collect();
    let cursor = cursor.min(chars.len());
    let word = word_at(&chars, cursor)?;
    let typed: String = chars[word.start..cursor].iter().collect();

    if let Some(name) = typed.strip_prefix('@') {
        let candidates = saved
            .iter()
            .filter(|s| s.starts_with(name))
            .map(|s| format!("@{s}"))
            .collect();
        return Some(word.replace(word.end, candidates));
    }
    if typed.starts_with('"') {
        return None;
    }
    match word.colon.filter(|&colon| colon < cursor) {
        None => {
            // The field name and its colon are replaced, and a value already after them
            // stays (`ver|b:get` → `verb:get`).
            let end = word.colon.map_or(word.end, |colon| colon + 1);
            let lower = typed.to_ascii_lowercase();
            let candidates = Field::ALL
                .iter()
                .filter(|f| f.name().starts_with(&lower))
                .map(|f| format!("{}:", f.name()))
                .collect();
            Some(word.replace(end, candidates))
        }
        Some(colon) => {
            let name: String = chars[word.start..colon].iter().collect();
            let field = Field::from_name(&name)?;
            let after_colon = &typed[name.len() + 1..];
            let (prefix, quoted) = match after_colon.strip_prefix('"') {
                Some(inside) => (unescape(inside), true),
                // `name:db-*` asks for a prefix already; complete what precedes the star.
                None => (after_colon.trim_end_matches('*').to_string(), false),
            };
            let found = values(field, &prefix);
            // Quoting all of them when one needs it keeps the typed text a common prefix
            // of the candidates, so the first Tab can insert what they share.
            let quote_all = quoted || found.iter().any(|v| bare(field, v).is_none());
            let candidates = found
                .iter()
                .map(|v| match bare(field, v).filter(|_| !quote_all) {
                    Some(bare) => format!("{name}:{bare}"),
                    None => format!("{name}:\"{}\"", escape(v)),
                })
                .collect();
            Some(word.replace(word.end, candidates))
        }
    }
}

/// The longest text every candidate starts with (whole characters), for the first Tab
/// to insert before cycling through them. It can be shorter than the text it replaces
/// (candidates quoted differently); the caller should then insert nothing.
pub fn common_prefix(candidates: &[String]) -> String {
    let Some((first, rest)) = candidates.split_first() else {
        return String::new();
    };
    let mut len = first.len();
    for other in rest {
        len = first
            .char_indices()
            .zip(other.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, c), _)| i + c.len_utf8())
            .min(len);
    }
    first[..len].to_string()
}

/// A word of the query, in characters.
#[derive(Debug, PartialEq)]
struct Word {
    start: usize,
    /// The first `:` of a word starting with a field name.
    colon: Option<usize>,
    end: usize,
}

impl Word {
    fn replace(&self, end: usize, candidates: Vec<String>) -> Completion {
        Completion {
            start: self.start,
            end,
            candidates,
        }
    }
}

/// Whitespace and `)` end words and values, as in the parser.
fn at_boundary(chars: &[char], i: usize) -> bool {
    chars.get(i).is_none_or(|&c| c.is_whitespace() || c == ')')
}

/// The word the cursor is in or at the end of; an empty word at the cursor when it is
/// between words, among the `(` and `-` before one, or at the start of a word; None
/// right after `)`.
fn word_at(chars: &[char], cursor: usize) -> Option<Word> {
    let empty = Word {
        start: cursor,
        colon: None,
        end: cursor,
    };
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() || chars[i] == ')' {
            i += 1;
            continue;
        }
        let start = skip_operators(chars, i);
        let word = scan_word(chars, start);
        if cursor == start {
            return Some(empty);
        }
        if (start..=word.end).contains(&cursor) {
            return Some(word);
        }
        i = word.end.max(start + 1);
    }
    // Not in a word: fine between words or among the operators before one, but a
    // word cannot start right after `)`.
    let before = cursor.checked_sub(1).map(|i| chars[i]);
    let open = before.is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '-'));
    open.then_some(empty)
}

/// Past the `(`, `-` and `NOT(`/`AND(`/`OR(` that may stand before a word: they are
/// operators to the parser, not part of the word.
fn skip_operators(chars: &[char], mut i: usize) -> usize {
    loop {
        match chars.get(i) {
            Some('(' | '-') => i += 1,
            _ => {
                let keyword = ["NOT(", "AND(", "OR("].into_iter().find(|k| {
                    let k: Vec<char> = k.chars().collect();
                    chars[i..].starts_with(&k)
                });
                match keyword {
                    // The `(` is skipped on the next turn.
                    Some(k) => i += k.len() - 1,
                    None => return i,
                }
            }
        }
    }
}

/// The word starting at `start`: up to a boundary, with a quoted phrase or a quoted
/// value after `field:` taken whole (it may hold spaces and `)`).
fn scan_word(chars: &[char], start: usize) -> Word {
    let mut colon = None;
    let mut i = start;
    if chars.get(i) == Some(&'"') {
        i = skip_quoted(chars, i);
    }
    let named = !matches!(chars.get(start), Some('"' | '@'));
    while !at_boundary(chars, i) {
        if chars[i] == ':' && named && colon.is_none() {
            colon = Some(i);
            if chars.get(i + 1) == Some(&'"') {
                i = skip_quoted(chars, i + 1);
                continue;
            }
        }
        i += 1;
    }
    Word {
        start,
        colon,
        end: i,
    }
}

/// Past the closing quote of the string opened at `open`, or the end of the text when
/// it is still open; `\"` and `\\` are escapes, as in the parser.
fn skip_quoted(chars: &[char], open: usize) -> usize {
    let mut i = open + 1;
    while let Some(&c) = chars.get(i) {
        match c {
            '"' => return i + 1,
            '\\' if matches!(chars.get(i + 1), Some('"' | '\\')) => i += 2,
            _ => i += 1,
        }
    }
    chars.len()
}

/// The value typed after an opening quote, its escapes resolved, up to the closing
/// quote if it was typed.
fn unescape(inside: &str) -> String {
    let mut out = String::new();
    let mut chars = inside.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' if matches!(chars.peek(), Some('"' | '\\')) => out.extend(chars.next()),
            _ => out.push(c),
        }
    }
    out
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `value` as written bare after `field:`, None when it must be quoted. The parser's
/// own printing decides, so what it reads bare stays in one place (`:` and `(` may
/// be bare in a value: `ip:::1`, `user:system:node:n1`).
fn bare(field: Field, value: &str) -> Option<String> {
    let shown = Expr::Field(field, Value::Exact(value.to_string())).to_string();
    let written = &shown[field.name().len() + 1..];
    (!written.starts_with('"')).then(|| written.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse::parse;

    const NAMES: &[&str] = &[
        "kube-system",
        "kube-public",
        "team a",
        "say \"hi\"",
        "système",
        "db-*",
    ];

    /// Values from a fixed list, recording what was asked.
    fn run(text: &str, cursor: usize) -> (Option<Completion>, Vec<(Field, String)>) {
        let mut asked = Vec::new();
        let mut values = |field: Field, prefix: &str| {
            asked.push((field, prefix.to_string()));
            let list: &[&str] = match field {
                Field::Namespace => NAMES,
                Field::User => &["system:admin", "system:node:n1", "alice"],
                Field::Code => &["200", "403", "404"],
                // What the index offers for severity: the names of its ranks.
                Field::Severity => &["high", "low"],
                _ => &[],
            };
            list.iter()
                .filter(|v| v.starts_with(prefix))
                .map(|v| v.to_string())
                .collect()
        };
        let saved = ["exec-into-pods".to_string(), "secrets".to_string()];
        let result = complete(text, cursor, &mut values, &saved);
        (result, asked)
    }

    /// Completes at the end of `text`.
    fn at_end(text: &str) -> Option<Completion> {
        run(text, text.chars().count()).0
    }

    fn candidates(text: &str) -> Vec<String> {
        at_end(text).expect(text).candidates
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// The text with `start..end` replaced by `candidate`.
    fn apply(text: &str, c: &Completion, candidate: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let before: String = chars[..c.start].iter().collect();
        let after: String = chars[c.end..].iter().collect();
        format!("{before}{candidate}{after}")
    }

    fn no_saved(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn field_names() {
        let c = at_end("res").unwrap();
        assert_eq!((c.start, c.end), (0, 3));
        assert_eq!(c.candidates, ["resource:"]);
        assert_eq!(
            candidates("s"),
            ["sa:", "sub:", "stage:", "severity:", "salvaged:"]
        );
        assert_eq!(candidates("RES"), ["resource:"], "field names ignore case");
        assert_eq!(candidates("verb:get r"), ["resource:", "reason:", "risk:"]);
        // An empty word offers every field.
        let all = candidates("verb:get ");
        assert_eq!(all.len(), Field::ALL.len());
        assert_eq!(all[0], "verb:");
        assert_eq!(candidates(""), all);
        // Nothing matches: the UI says so.
        assert_eq!(candidates("kubectl"), Vec::<String>::new());
    }

    #[test]
    fn negation_and_parentheses_stay_outside_the_word() {
        for (text, start) in [("-res", 1), ("(res", 1), ("-(res", 2), ("a (-res", 4)] {
            let c = at_end(text).unwrap();
            assert_eq!((c.start, c.end), (start, text.len()), "{text}");
            assert_eq!(c.candidates, ["resource:"], "{text}");
        }
        let c = at_end("NOT(res").unwrap();
        assert_eq!((c.start, c.candidates), (4, strings(&["resource:"])));
        let c = at_end("-ns:kube-p").unwrap();
        assert_eq!((c.start, c.end), (1, 10));
        assert_eq!(c.candidates, ["ns:kube-public"]);
        let c = at_end("(ns:kube-s").unwrap();
        assert_eq!(apply("(ns:kube-s", &c, &c.candidates[0]), "(ns:kube-system");
        // An empty word after an operator.
        let c = at_end("(").unwrap();
        assert_eq!(
            (c.start, c.end, c.candidates.len()),
            (1, 1, Field::ALL.len())
        );
        assert_eq!(at_end("-").unwrap().start, 1);
        let c = run("((res", 1).0.unwrap();
        assert_eq!((c.start, c.end), (1, 1));
        // After `)` no word can start.
        assert_eq!(at_end("(verb:get)"), None);
        assert_eq!(at_end("verb:get)"), None);
    }

    #[test]
    fn values_are_quoted_when_the_parser_needs_it() {
        let (c, asked) = run("ns:kube", 7);
        let c = c.unwrap();
        assert_eq!(asked, [(Field::Namespace, "kube".to_string())]);
        assert_eq!((c.start, c.end), (0, 7));
        assert_eq!(c.candidates, ["ns:kube-system", "ns:kube-public"]);
        assert_eq!(common_prefix(&c.candidates), "ns:kube-");

        // Spaces, quotes and a trailing star need quotes; once one does, all are quoted
        // so what was typed stays their common prefix.
        let all = candidates("ns:");
        let want = [
            r#"ns:"kube-system""#,
            r#"ns:"kube-public""#,
            r#"ns:"team a""#,
            r#"ns:"say \"hi\"""#,
            r#"ns:"système""#,
            r#"ns:"db-*""#,
        ];
        assert_eq!(all, want);
        // Each parses back to exactly the value.
        for (candidate, value) in all.iter().zip(NAMES) {
            let expr = parse(candidate, &no_saved).unwrap();
            let want = Expr::Field(Field::Namespace, Value::Exact(value.to_string()));
            assert_eq!(expr, want, "{candidate}");
        }
        assert_eq!(candidates("ns:te"), [r#"ns:"team a""#]);
        // `:` may stay bare in a value, as the parser reads it and prints it.
        assert_eq!(
            candidates("user:sys"),
            ["user:system:admin", "user:system:node:n1"]
        );
        assert_eq!(candidates("code:4"), ["code:403", "code:404"]);
        // Severity names are written bare and parse back as the severity.
        assert_eq!(candidates("severity:h"), ["severity:high"]);
        let high = parse("severity:high", &no_saved).unwrap();
        assert_eq!(high.to_string(), "severity:high");
        // The field name is kept as typed.
        assert_eq!(candidates("Namespace:kube-s"), ["Namespace:kube-system"]);
        // A star typed for a prefix is replaced too.
        let (c, asked) = run("ns:kube-*", 9);
        assert_eq!(asked[0].1, "kube-");
        assert_eq!(c.unwrap().candidates, ["ns:kube-system", "ns:kube-public"]);
        // A field with no values here (or a text field).
        assert_eq!(candidates("verb:x"), Vec::<String>::new());
    }

    #[test]
    fn inside_an_open_quote() {
        let (c, asked) = run(r#"ns:"say \"h"#, 11);
        assert_eq!(asked, [(Field::Namespace, "say \"h".to_string())]);
        assert_eq!(c.unwrap().candidates, [r#"ns:"say \"hi\"""#]);
        // Values that need no quotes keep the quote the user opened.
        assert_eq!(candidates(r#"ns:"kube-s"#), [r#"ns:"kube-system""#]);
        assert_eq!(candidates(r#"user:"system:a"#), [r#"user:"system:admin""#]);
        // A quoted value holds spaces and `)`: the word is all of it.
        let text = r#"(ns:"team a) x" verb:get)"#;
        let c = run(text, 8).0.unwrap();
        assert_eq!((c.start, c.end), (1, 15));
        // A free "phrase" is not completed.
        assert_eq!(at_end(r#"verb:get "exec in"#), None);
    }

    #[test]
    fn unknown_fields_give_none() {
        assert_eq!(at_end("nmae:x"), None);
        assert_eq!(at_end("verb:get nmae:"), None);
        // Aliases are fields too.
        assert_eq!(candidates("namespace:kube-p"), ["namespace:kube-public"]);
    }

    #[test]
    fn saved_query_names() {
        assert_eq!(candidates("@"), ["@exec-into-pods", "@secrets"]);
        assert_eq!(candidates("verb:get -@se"), ["@secrets"]);
        let c = at_end("(@ex").unwrap();
        assert_eq!((c.start, c.end), (1, 4));
        assert_eq!(candidates("@nope"), Vec::<String>::new());
    }

    #[test]
    fn only_the_word_before_the_cursor_counts() {
        // The cursor after `res`, more text after it.
        let text = "res verb:get";
        let c = run(text, 3).0.unwrap();
        assert_eq!(
            (c.start, c.end, c.candidates.clone()),
            (0, 3, strings(&["resource:"]))
        );
        assert_eq!(apply(text, &c, "resource:"), "resource: verb:get");
        // In the middle of a word: matched on what precedes the cursor, the whole word
        // replaced.
        let (c, asked) = run("ns:kube-pub verb:get", 6);
        let c = c.unwrap();
        assert_eq!(asked[0].1, "kub");
        assert_eq!((c.start, c.end), (0, 11));
        // In a field name: its colon and value stay.
        let c = run("ver:get", 2).0.unwrap();
        assert_eq!(
            (c.start, c.end, c.candidates.clone()),
            (0, 4, strings(&["verb:", "verdict:"]))
        );
        assert_eq!(apply("ver:get", &c, "verb:"), "verb:get");
        // At the start of a word nothing is typed: insert there.
        let c = run("verb:get ns:x", 9).0.unwrap();
        assert_eq!(
            (c.start, c.end, c.candidates.len()),
            (9, 9, Field::ALL.len())
        );
        // Between two spaces.
        let c = run("a  b", 2).0.unwrap();
        assert_eq!((c.start, c.end), (2, 2));
        // Past the end is the end.
        assert_eq!(run("res", 99).0.unwrap().candidates, ["resource:"]);
    }

    #[test]
    fn multibyte_text() {
        // Positions are characters, not bytes.
        let text = "ns:\"été\" ns:sy";
        let c = at_end(text).unwrap();
        assert_eq!((c.start, c.end), (9, 14));
        assert_eq!(c.candidates, ["ns:système"]);
        assert_eq!(apply(text, &c, "ns:système"), "ns:\"été\" ns:système");
        let c = run("ré verb:get", 2).0.unwrap();
        assert_eq!((c.start, c.end), (0, 2));
        assert_eq!(c.candidates, Vec::<String>::new());
        let (_, asked) = run("ns:\"sys", 7);
        assert_eq!(asked[0].1, "sys");
    }

    #[test]
    fn common_prefixes() {
        assert_eq!(common_prefix(&[]), "");
        assert_eq!(common_prefix(&strings(&["resource:"])), "resource:");
        assert_eq!(common_prefix(&strings(&["sa:", "sub:", "stage:"])), "s");
        assert_eq!(common_prefix(&strings(&["ns:été", "ns:étage"])), "ns:ét");
        // Characters, not bytes: é and è share their first byte.
        assert_eq!(common_prefix(&strings(&["ns:é", "ns:è"])), "ns:");
        assert_eq!(common_prefix(&strings(&["a", "b"])), "");
    }
}
