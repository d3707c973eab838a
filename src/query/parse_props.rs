//! Property tests of the query language (issue 6): `Display` prints every query `parse`
//! can return so that it parses back to the same `Expr`, and `parse` takes any text,
//! however deeply nested, without panicking or overflowing the stack. The unit tests in
//! `parse.rs` pin the grammar with chosen examples; these generate the combinations no
//! one writes by hand.
//!
//! What `parse` returns, and so what the generators build (see `normalize`):
//! - `All` only for an empty query: it has no written form inside a larger one.
//! - `And`/`Or` with at least two children, none of the same kind: `a (b c)` and
//!   `a b c` parse alike, so nested And (or Or) is flattened into its parent.
//! - Values by field kind: `code` takes comparisons, `Nxx` ranges and `*`; `severity`
//!   comparisons of the ranks its names stand for, and `*`; every other field exact
//!   values (anything at all, quoted when needed), prefixes, `*` and regexes, whose
//!   texts are limited to what their bare syntax can spell.

use proptest::prelude::*;
use proptest::sample::select;

use super::body::{BodyPath, Root, Segment};
use super::parse::{CmpOp, Expr, Field, FieldKind, Value, parse};
use crate::error::SyntaxError;

/// Saved queries for `@name`, so that expansion is part of what the properties cover.
fn library(name: &str) -> Option<String> {
    let text = match name {
        "reads" => "verb:get OR verb:list",
        "nested" => "@reads -ns:kube-system name:db-*",
        "loop" => "x @loop",
        "blank" => " ",
        "deep" => "-(a OR -(b OR -(c OR -(d OR -(e)))))",
        _ => return None,
    };
    Some(text.to_string())
}

fn parse_with_library(query: &str) -> Result<Expr, SyntaxError> {
    parse(query, &library)
}

/// The form `parse` returns for an expression: children of an And that are Ands (and
/// of an Or that are Ors) are lifted into it, and an And or Or of one child is that
/// child. Both are the same query (AND and OR are associative), and the printed text
/// cannot tell them apart.
fn normalize(e: Expr) -> Expr {
    match e {
        Expr::And(items) => join(items, false),
        Expr::Or(items) => join(items, true),
        Expr::Not(inner) => Expr::Not(Box::new(normalize(*inner))),
        leaf => leaf,
    }
}

fn join(items: Vec<Expr>, or: bool) -> Expr {
    let mut flat = Vec::new();
    for item in items {
        match normalize(item) {
            Expr::Or(children) if or => flat.extend(children),
            Expr::And(children) if !or => flat.extend(children),
            other => flat.push(other),
        }
    }
    match (flat.len(), or) {
        (1, _) => flat.remove(0),
        (_, true) => Expr::Or(flat),
        (_, false) => Expr::And(flat),
    }
}

/// Pieces of text that mean something to the query syntax, or to a naive printer.
const HOSTILE: &[&str] = &[
    "\"", "\\", "\\\"", " ", "  ", "\t", "\n", ":", "(", ")", "-", "@", "*", "/", "<", ">", "=",
    ">=", "!=", "!", "'", "OR", "AND", "NOT", "or", "NOT(", "4xx", "é", "日本", "🦀",
    "\u{a0}",   // no-break space: whitespace to Rust, not to a naive printer
    "\u{2028}", // line separator, also whitespace
    "\u{200b}", // zero-width space: not whitespace at all
];

/// A fragment of a generated string: plain text, a hostile piece, or any char at all.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9.]{1,4}",
        4 => select(HOSTILE).prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
    ]
}

/// Any string, biased towards hostile ones; may be empty.
fn hostile_string() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..6).prop_map(|pieces| pieces.concat())
}

/// What a bare (unquoted) value can hold: no whitespace, `)` or `"`.
fn bare(s: &str) -> String {
    s.chars()
        .filter(|&c| !(c.is_whitespace() || c == ')' || c == '"'))
        .collect()
}

/// A prefix `p` of `name:p*`: bare, not empty (`name:*` means "present"), and not
/// starting like a comparison, which the parser rejects on non-numeric fields.
fn prefix() -> impl Strategy<Value = String> {
    hostile_string().prop_map(|s| {
        let p = bare(&s);
        let comparison = p.starts_with(['<', '>', '=']) || p.starts_with("!=");
        if p.is_empty() || comparison {
            format!("x{p}")
        } else {
            p
        }
    })
}

/// A regex pattern as `parse` returns it: no whitespace (it ends the value), and each
/// backslash is one half of an escape pair `\c` kept for the regex engine, except `\/`,
/// which the parser turns into `/`.
fn regex_pattern() -> impl Strategy<Value = String> {
    let plain = piece().prop_map(|s| bare(&s).replace('\\', ""));
    let escape = select(&["\\d", "\\s", "\\.", "\\\\", "\\)", "\\(", "\\\"", "\\*"][..]);
    let token = prop_oneof![3 => plain, 1 => escape.prop_map(String::from)];
    // `"` and `)` are fine inside a regex, and so is `/` (printed as `\/`): put them
    // back among the plain characters.
    let quote_or_paren = select(&["\"", ")", "/", ")/"][..]).prop_map(String::from);
    prop::collection::vec(prop_oneof![6 => token, 1 => quote_or_paren], 0..5)
        .prop_map(|tokens| tokens.concat())
}

fn numeric_value() -> impl Strategy<Value = Value> {
    let op = select(
        &[
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ][..],
    );
    let number = prop_oneof![0u64..1000, any::<u64>()];
    prop_oneof![
        4 => (op, number).prop_map(|(op, n)| Value::Compare(op, n)),
        2 => (0u64..10).prop_map(|d| Value::Range(d * 100, d * 100 + 99)),
        1 => Just(Value::Any),
    ]
}

/// A severity: a comparison of one of the ranks the names stand for, or `*`.
fn severity_value() -> impl Strategy<Value = Value> {
    let op = select(
        &[
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ][..],
    );
    let rank = select(&crate::podspec::Severity::ALL[..]).prop_map(|s| s.rank());
    prop_oneof![
        4 => (op, rank).prop_map(|(op, n)| Value::Compare(op, n)),
        1 => Just(Value::Any),
    ]
}

fn other_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => hostile_string().prop_map(Value::Exact),
        2 => prefix().prop_map(Value::Prefix),
        1 => Just(Value::Any),
        2 => regex_pattern().prop_map(Value::Regex),
    ]
}

/// A value of a field with whole values: any other value, or `!=` one of them.
fn whole_value() -> impl Strategy<Value = Value> {
    let not = prop_oneof![
        hostile_string().prop_map(Value::Exact),
        prefix().prop_map(Value::Prefix),
        regex_pattern().prop_map(Value::Regex),
    ];
    prop_oneof![
        6 => other_value(),
        1 => not.prop_map(|v| Value::SomeNot(Box::new(v))),
    ]
}

fn field_term() -> impl Strategy<Value = Expr> {
    select(Field::ALL).prop_flat_map(|field| {
        let value = match field.kind() {
            FieldKind::Numeric => numeric_value().boxed(),
            FieldKind::Severity => severity_value().boxed(),
            FieldKind::Exact => whole_value().boxed(),
            FieldKind::Text => other_value().boxed(),
        };
        value.prop_map(move |v| Expr::Field(field, v))
    })
}

/// `req.`/`resp.`/`body.` with any keys (quoted when they must be) and `*` segments,
/// and any value a body field takes, number comparisons included.
fn body_term() -> impl Strategy<Value = Expr> {
    let root = select(&Root::ALL[..]);
    let segment = prop_oneof![
        4 => hostile_string().prop_map(Segment::Key),
        1 => Just(Segment::Any),
        1 => regex_pattern().prop_map(Segment::Pattern),
    ];
    let op = select(&[CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge][..]);
    let number = select(&["10", "-1.5", "2e3", "0", "007", "1E-2"][..]);
    let value = prop_oneof![
        6 => whole_value(),
        1 => (op, number).prop_map(|(op, n)| Value::Number(op, n.to_string())),
    ];
    (root, prop::collection::vec(segment, 1..4), value)
        .prop_map(|(root, segments, v)| Expr::Body(BodyPath { root, segments }, v))
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        3 => field_term(),
        1 => body_term(),
        // Free words and phrases: any text, quoted when it must be.
        2 => hostile_string().prop_map(Expr::Text),
    ]
}

/// Any expression tree without `All`, including forms `parse` never returns (an And
/// inside an And, an Or of one child): Display must print those faithfully too.
fn tree() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..5).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 1..5).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

fn query_expr() -> impl Strategy<Value = Expr> {
    prop_oneof![1 => Just(Expr::All), 30 => tree()]
}

/// A quoted string, escaped as the query syntax wants.
fn quoted() -> impl Strategy<Value = String> {
    hostile_string().prop_map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
}

/// Query-like text: fields with values, quoted strings, operators, saved queries and
/// junk, mostly separated by spaces, so that arbitrary strings reach deep into the
/// parser (and often parse) instead of failing at column 1.
fn query_text() -> impl Strategy<Value = String> {
    let field = select(
        &[
            "name:",
            "uri:",
            "Verb:",
            "sa:",
            "nmae:",
            "image:!=",
            "req.spec.x:",
            "REQ.a.*:",
            "body.\"a.b\".c:",
            "resp..x:",
            "req.a:!=",
            "req.n:>",
        ][..],
    );
    let value = prop_oneof![piece().prop_map(|v| bare(&v)), quoted()];
    let code = select(&["403", ">=400", "<5", "4xx", "*", "\"200\"", "x"][..]);
    let severity = select(
        &[
            "high", ">=medium", "!=LOW", "\"low\"", "*", "2", "hi*", ">=",
        ][..],
    );
    let syntax = select(
        &[
            "(", ")", "-", "NOT", "OR", "AND", "\"", "\\", "*", "/", ">=", "4xx", "@reads",
            "@nested", "@loop", "@blank", "@nope", "@",
        ][..],
    );
    let token = prop_oneof![
        3 => (field, value).prop_map(|(f, v)| format!("{f}{v}")),
        1 => code.prop_map(|v| format!("code:{v}")),
        1 => severity.prop_map(|v| format!("severity:{v}")),
        2 => quoted(),
        2 => syntax.prop_map(String::from),
        3 => piece(),
    ];
    let separator = select(&[" ", " ", " ", " ", " ", "", "\t"][..]);
    let tokens = prop::collection::vec((token, separator), 0..10);
    prop_oneof![
        6 => tokens.prop_map(|t| t.into_iter().map(|(t, sep)| t + sep).collect()),
        1 => any::<String>(),
    ]
}

/// Text nested up to 3000 deep in one of the shapes that nest (parentheses, NOT and
/// `-`, OR inside AND, saved queries), with its parentheses closed or not. Mostly
/// around the limit (`parse::MAX_NESTING`), where queries stop parsing.
fn deep_text() -> impl Strategy<Value = String> {
    let shape = select(
        &[
            ("(", ")"),
            ("-", ""),
            ("NOT ", ""),
            ("-(", ")"),
            ("(a OR ", ")"),
            ("(a OR b (", "))"),
            ("-(@deep ", ")"),
        ][..],
    );
    let depth = prop_oneof![3 => 0..130usize, 1 => 130..3000usize];
    (shape, depth, any::<bool>()).prop_map(|((open, close), depth, closed)| {
        let close = if closed {
            close.repeat(depth)
        } else {
            String::new()
        };
        format!("{}x{close}", open.repeat(depth))
    })
}

/// 512 cases unless PROPTEST_CASES asks for another number (a longer search): about
/// half a second in a debug build.
fn config() -> ProptestConfig {
    let default = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        default.cases
    } else {
        512
    };
    ProptestConfig { cases, ..default }
}

proptest! {
    #![proptest_config(config())]

    /// Display, then parse: the same query back.
    #[test]
    fn printed_queries_parse_back(expr in query_expr()) {
        let normal = normalize(expr.clone());
        let shown = normal.to_string();
        prop_assert_eq!(parse_with_library(&shown), Ok(normal.clone()), "printed as {}", shown);
        // The unflattened tree prints as the same query, so it parses to the same form.
        let shown = expr.to_string();
        prop_assert_eq!(parse_with_library(&shown), Ok(normal), "printed as {}", shown);
    }

    /// Any text: parse returns (no panic); an error points inside the text it names; a
    /// query prints in a form that parses back to it, and printing is a fixed point.
    #[test]
    fn any_text_parses_or_errs_and_printing_is_a_fixed_point(text in query_text()) {
        match parse_with_library(&text) {
            Err(e) => {
                prop_assert!(e.position <= e.query.chars().count(), "{:?}", e);
                // The caret and message are what the user sees; they must not panic.
                let _ = (e.caret(), e.to_string());
            }
            Ok(expr) => {
                prop_assert_eq!(&normalize(expr.clone()), &expr, "parse returned a non-normal form");
                let shown = expr.to_string();
                let again = parse_with_library(&shown);
                prop_assert_eq!(again.as_ref(), Ok(&expr), "printed as {}", shown);
                prop_assert_eq!(again.unwrap().to_string(), shown);
            }
        }
    }

    /// However deep a query nests, parsing it and using what it returns (printing,
    /// comparing, dropping) ends in a value or an error, not a stack overflow. Before
    /// `parse::MAX_NESTING` this aborted the test run on its first deep case.
    #[test]
    fn deep_nesting_parses_or_errs(text in deep_text()) {
        if let Ok(expr) = parse_with_library(&text) {
            let shown = expr.to_string();
            prop_assert_eq!(parse_with_library(&shown), Ok(expr));
        }
    }
}
