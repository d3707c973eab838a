//! Text from the log is attacker-controlled (anyone reaching the apiserver picks their
//! userAgent, URI and object names). Before it reaches a terminal or a spreadsheet it
//! goes through here, so it is shown as text and never run as a command.

use std::borrow::Cow;

/// Escapes C0/C1 control characters, DEL, and the bidi/zero-width format characters
/// that can reorder or hide what a terminal shows (`\u{202e}` "right-to-left override").
/// Returns the input unchanged (borrowed) in the common, clean case.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{ad}'                  // soft hyphen
            | '\u{61c}'               // Arabic letter mark
            | '\u{180e}'              // Mongolian vowel separator
            | '\u{200b}'..='\u{200f}' // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{2029}' // line and paragraph separators
            | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{206f}' // word joiner, invisible operators, bidi isolates
            | '\u{feff}'              // zero-width no-break space / BOM
            | '\u{fff9}'..='\u{fffb}' // interlinear annotation
        )
}

/// A CSV cell for a spreadsheet: terminal-safe, and a leading `= + - @` (or tab/CR)
/// that a spreadsheet would run as a formula is neutralized with a leading `'`.
pub fn for_csv(s: &str) -> Cow<'_, str> {
    let safe = for_terminal(s);
    match safe.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{safe}")),
        _ => safe,
    }
}

/// `s` cut to `max` characters, the last one an ellipsis, for a table cell.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A command line as shell words: plain words as they are, others single-quoted, so
/// `sh -c 'cat /etc/shadow'` reads as what was run. Sanitize the result for display.
pub fn shell_words(argv: &[String]) -> String {
    let quote = |word: &String| {
        let plain = !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
        if plain {
            word.clone()
        } else {
            format!("'{}'", word.replace('\'', r"'\''"))
        }
    };
    argv.iter().map(quote).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_interpret() {
        assert_eq!(for_terminal("kubectl/v1.31"), "kubectl/v1.31");
        assert_eq!(
            for_terminal("\u{1b}[31mevil\u{1b}[0m"),
            "\\x1b[31mevil\\x1b[0m"
        );
        assert_eq!(for_terminal("a\u{9b}b"), "a\\x9bb");
        assert_eq!(for_terminal("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(for_terminal("nul\0"), "nul\\x00");
        assert_eq!(for_terminal("µs"), "µs");
        assert_eq!(for_terminal("db\u{2060}-password"), "db\\u{2060}-password");
    }

    #[test]
    fn neutralizes_formulas() {
        assert_eq!(for_csv("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(for_csv("-1"), "'-1");
        assert_eq!(for_csv("alice"), "alice");
    }
}
