//! Text from the log is attacker-controlled (anyone reaching the apiserver picks their
//! userAgent, URI and object names). Before it reaches a terminal or a spreadsheet it
//! goes through here, so it is shown as text and never run as a command.

use std::borrow::Cow;

/// Escapes what a terminal would run or a reader could not see: C0/C1 control
/// characters and DEL, line and paragraph separators, every format character and
/// Default_Ignorable_Code_Point (bidi overrides, zero-width joiners, variation selectors,
/// tag characters, ...), spaces other than U+0020 and blank-looking letters, and
/// noncharacters. Two strings that differ only in such characters (`alice@example.com`
/// and the same with a tag character appended) are then visibly different.
/// Returns the input unchanged (borrowed) in the common, clean case.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// `for_terminal` for text of several lines (an error message quoting a file): line
/// feeds are kept, everything else is escaped the same way.
pub fn lines_for_terminal(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn escape(s: &str, keep_lines: bool) -> Cow<'_, str> {
    let escaped = |c: char| needs_escape(c) && !(keep_lines && c == '\n');
    if !s.chars().any(escaped) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if escaped(c) {
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
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    c.is_control()
        || is_invisible(c)
        || matches!(c,
            '\u{2028}'..='\u{2029}'  // line and paragraph separators
            | '\u{fdd0}'..='\u{fdef}' // noncharacters
        )
        || (c as u32) & 0xfffe == 0xfffe // noncharacters U+xFFFE, U+xFFFF of every plane
        || (c.is_whitespace() && c != ' ') // NBSP, em space, ideographic space: look like ' '
}

/// Format characters (general category Cf) and Default_Ignorable_Code_Point
/// (DerivedCoreProperties.txt), as of Unicode 15, merged into sorted, disjoint ranges;
/// plus U+2800 BRAILLE PATTERN BLANK, a symbol drawn as nothing. Both properties change
/// rarely; the tests state the two lists again, as the Unicode files give them.
const INVISIBLE: &[(u32, u32)] = &[
    (0x00ad, 0x00ad),   // soft hyphen
    (0x034f, 0x034f),   // combining grapheme joiner
    (0x0600, 0x0605),   // Arabic number signs (prepended concatenation marks)
    (0x061c, 0x061c),   // Arabic letter mark
    (0x06dd, 0x06dd),   // Arabic end of ayah
    (0x070f, 0x070f),   // Syriac abbreviation mark
    (0x0890, 0x0891),   // Arabic pound and piastre marks above
    (0x08e2, 0x08e2),   // Arabic disputed end of ayah
    (0x115f, 0x1160),   // Hangul choseong and jungseong fillers
    (0x17b4, 0x17b5),   // Khmer inherent vowels
    (0x180b, 0x180f),   // Mongolian free variation selectors, vowel separator
    (0x200b, 0x200f),   // zero-width space, non-joiner, joiner; LRM, RLM
    (0x202a, 0x202e),   // bidi embeddings and overrides
    (0x2060, 0x206f),   // word joiner, invisible operators, bidi isolates, deprecated
    (0x2800, 0x2800),   // braille pattern blank
    (0x3164, 0x3164),   // Hangul filler
    (0xfe00, 0xfe0f),   // variation selectors 1-16
    (0xfeff, 0xfeff),   // zero-width no-break space (BOM)
    (0xffa0, 0xffa0),   // halfwidth Hangul filler
    (0xfff0, 0xfffb),   // reserved ignorables, interlinear annotation
    (0x110bd, 0x110bd), // Kaithi number sign
    (0x110cd, 0x110cd), // Kaithi number sign above
    (0x13430, 0x1343f), // Egyptian hieroglyph format controls
    (0x1bca0, 0x1bca3), // shorthand format controls
    (0x1d173, 0x1d17a), // musical symbol beam and phrase controls
    (0xe0000, 0xe0fff), // tag characters, variation selectors 17-256, reserved
];

fn is_invisible(c: char) -> bool {
    let c = c as u32;
    INVISIBLE
        .binary_search_by(|&(first, last)| {
            if last < c {
                std::cmp::Ordering::Less
            } else if first > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
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
    fn look_alike_names_are_visibly_different() {
        let plain = "alice@example.com";
        let look_alikes = [
            "alice@example.com\u{e0041}", // tag character
            "alice@example.com\u{fe0f}",  // variation selector
            "alice\u{34f}@example.com",   // combining grapheme joiner
            "alice\u{17b4}@example.com",  // Khmer inherent vowel
            "alice\u{a0}@example.com",    // no-break space
            "alice@example.com\u{3000}",  // ideographic space
            "alice@example.com\u{2800}",  // braille blank
            "alice@example.com\u{ffff}",  // noncharacter
            "\u{600}alice@example.com",   // Arabic number sign
        ];
        assert_eq!(for_terminal(plain), plain);
        for name in look_alikes {
            let shown = for_terminal(name);
            assert!(shown.is_ascii(), "{name:?} shown as {shown:?}");
            assert_ne!(shown, plain);
        }
        assert_eq!(
            for_terminal("alice@example.com\u{e0041}"),
            "alice@example.com\\u{e0041}"
        );
        assert_eq!(for_terminal("a\u{a0}b"), "a\\xa0b");
        assert_eq!(for_terminal("a b, ü, 名前, 🙂"), "a b, ü, 名前, 🙂");
    }

    #[test]
    fn lines_keep_their_line_feeds_only() {
        assert_eq!(
            lines_for_terminal("1 | name = \"\u{1b}[2J\"\n  |   ^\r"),
            "1 | name = \"\\x1b[2J\"\n  |   ^\\r"
        );
    }

    /// Default_Ignorable_Code_Point as DerivedCoreProperties.txt lists it (Unicode 15).
    const DEFAULT_IGNORABLE: &[(u32, u32)] = &[
        (0x00ad, 0x00ad),
        (0x034f, 0x034f),
        (0x061c, 0x061c),
        (0x115f, 0x1160),
        (0x17b4, 0x17b5),
        (0x180b, 0x180d),
        (0x180e, 0x180e),
        (0x180f, 0x180f),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x2064),
        (0x2065, 0x2065),
        (0x2066, 0x206f),
        (0x3164, 0x3164),
        (0xfe00, 0xfe0f),
        (0xfeff, 0xfeff),
        (0xffa0, 0xffa0),
        (0xfff0, 0xfff8),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0000, 0xe0000),
        (0xe0001, 0xe0001),
        (0xe0002, 0xe001f),
        (0xe0020, 0xe007f),
        (0xe0080, 0xe00ff),
        (0xe0100, 0xe01ef),
        (0xe01f0, 0xe0fff),
    ];

    /// General category Cf as UnicodeData.txt assigns it (Unicode 15).
    const FORMAT: &[(u32, u32)] = &[
        (0x00ad, 0x00ad),
        (0x0600, 0x0605),
        (0x061c, 0x061c),
        (0x06dd, 0x06dd),
        (0x070f, 0x070f),
        (0x0890, 0x0891),
        (0x08e2, 0x08e2),
        (0x180e, 0x180e),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x2064),
        (0x2066, 0x206f),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
    ];

    #[test]
    fn invisible_table_is_sorted_and_disjoint() {
        for pair in INVISIBLE.windows(2) {
            let ([a, b], [c, d]) = ([pair[0].0, pair[0].1], [pair[1].0, pair[1].1]);
            assert!(a <= b && b < c && c <= d, "{pair:x?}");
        }
    }

    #[test]
    fn invisible_table_escapes_every_ignorable_and_format_character() {
        for &(first, last) in DEFAULT_IGNORABLE.iter().chain(FORMAT) {
            for c in (first..=last).filter_map(char::from_u32) {
                assert!(is_invisible(c), "U+{:04X}", c as u32);
                let escaped = match c as u32 {
                    n if n < 0x100 => format!("\\x{n:02x}"),
                    n => format!("\\u{{{n:x}}}"),
                };
                assert_eq!(for_terminal(&c.to_string()), escaped);
            }
        }
        let listed = |c: u32| {
            DEFAULT_IGNORABLE
                .iter()
                .chain(FORMAT)
                .any(|&(first, last)| (first..=last).contains(&c))
        };
        // And nothing else but the blank braille pattern.
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            if is_invisible(c) {
                assert!(listed(c as u32) || c == '\u{2800}', "U+{:04X}", c as u32);
            }
        }
        assert!(!is_invisible('a') && !is_invisible('é') && !is_invisible('\u{2801}'));
    }

    #[test]
    fn neutralizes_formulas() {
        assert_eq!(for_csv("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(for_csv("-1"), "'-1");
        assert_eq!(for_csv("alice"), "alice");
    }
}
