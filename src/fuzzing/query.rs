//! `query_parse`: any text through the query parser. What parses prints (Display) to a
//! query that parses back to the same Expr and prints the same again; errors render.

use crate::query::parse::{Expr, parse};

/// A few saved queries, so `@name`, its errors and its nesting checks are reached too.
fn saved(name: &str) -> Option<String> {
    Some(
        match name {
            "secret-reads" => "resource:secrets (verb:get OR verb:list OR verb:watch)",
            "exec" => "sub:exec OR sub:attach",
            "both" => "@secret-reads -@exec",
            "self" => "@self",
            "empty" => " ",
            "broken" => "verb:",
            _ => return None,
        }
        .to_string(),
    )
}

fn none(_: &str) -> Option<String> {
    None
}

pub fn query_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let expr = match parse(text, &saved) {
        Ok(expr) => expr,
        Err(e) => {
            assert!(e.position <= e.query.chars().count(), "{e:?}");
            let _ = (e.to_string(), e.caret());
            return;
        }
    };
    let printed = expr.to_string();
    // Saved queries are expanded in the Expr, so the printed form needs none.
    let back: Expr = parse(&printed, &none)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which fails: {e}"));
    assert_eq!(back, expr, "{text:?} printed as {printed:?}");
    assert_eq!(back.to_string(), printed, "printing {text:?} is not stable");
}
