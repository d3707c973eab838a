//! Display width: how many terminal columns text takes, and cutting it to a width with
//! a visible mark. CJK and other wide characters take two columns, combining marks none.
//! Text is measured a character at a time: `sanitize::for_terminal` has already escaped
//! the joiners and variation selectors that make a sequence wider or narrower than its
//! characters, so this is what the terminal draws. Cut only sanitized text.

use std::borrow::Cow;

use unicode_width::UnicodeWidthChar;

/// Columns one character takes (controls, which sanitized text has none of: 0).
pub fn char_columns(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// Columns `s` takes.
pub fn columns(s: &str) -> usize {
    s.chars().map(char_columns).sum()
}

/// `s` in at most `width` columns: whole when it fits, otherwise as many whole leading
/// characters as fit in `width - 1` columns and then `…`. A wide character that would
/// straddle the edge is left out rather than drawn half, so the result may be a column
/// narrower than `width`.
pub fn cut(s: &str, width: usize) -> Cow<'_, str> {
    if columns(s) <= width {
        return Cow::Borrowed(s);
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    let end = prefix_end(s, width - 1);
    let mut out = String::with_capacity(end + '…'.len_utf8());
    out.push_str(&s[..end]);
    out.push('…');
    Cow::Owned(out)
}

/// The byte length of the longest leading run of whole characters of `s` that fits in
/// `width` columns.
fn prefix_end(s: &str, width: usize) -> usize {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += char_columns(c);
        if used > width {
            return i;
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_fits_whole_or_is_cut_with_an_ellipsis() {
        assert_eq!(
            cut("system:kube-controller-manager", 30),
            "system:kube-controller-manager"
        );
        assert_eq!(
            cut("system:kube-controller-manager", 40),
            "system:kube-controller-manager"
        );
        assert_eq!(
            cut("system:kube-controller-manager", 25),
            "system:kube-controller-m…"
        );
        assert_eq!(columns(&cut("system:kube-controller-manager", 25)), 25);
        assert!(matches!(cut("abc", 3), Cow::Borrowed("abc")));
    }

    #[test]
    fn exact_fit_is_whole_and_one_over_is_cut() {
        assert_eq!(cut("abcdef", 6), "abcdef");
        assert_eq!(cut("abcdefg", 6), "abcde…");
        assert_eq!(cut("", 0), "");
        assert_eq!(cut("", 3), "");
    }

    #[test]
    fn wide_characters_count_two_columns() {
        assert_eq!(columns("漢字"), 4);
        assert_eq!(cut("漢字", 4), "漢字");
        // 漢字テスト is 10 columns; in 7: two whole characters (4) and the mark, and
        // テ would straddle the sixth column, so it is left out.
        assert_eq!(cut("漢字テスト", 7), "漢字テ…");
        assert_eq!(cut("漢字テスト", 6), "漢字…");
        assert_eq!(columns(&cut("漢字テスト", 6)), 5);
        assert_eq!(cut("sa:监控/prometheus", 8), "sa:监控…");
    }

    #[test]
    fn emoji_are_wide() {
        assert_eq!(columns("🚀ok"), 4);
        assert_eq!(cut("🚀🚀🚀", 6), "🚀🚀🚀");
        assert_eq!(cut("🚀🚀🚀", 5), "🚀🚀…");
        assert_eq!(cut("🚀🚀🚀", 4), "🚀…");
    }

    #[test]
    fn a_wide_character_at_the_edge_is_not_drawn_half() {
        // "ab" then 漢 would take columns 3 and 4; with 3 columns for text it does not fit.
        assert_eq!(cut("ab漢cd", 4), "ab…");
        assert_eq!(cut("ab漢cd", 5), "ab漢…");
        assert!(cut("ab漢cd", 4).chars().all(|c| c != '漢'));
        // The cut never takes more columns than asked for.
        for width in 0..12 {
            assert!(columns(&cut("ab漢cd🚀e", width)) <= width, "{width}");
        }
    }

    #[test]
    fn widths_zero_and_one() {
        assert_eq!(cut("abc", 0), "");
        assert_eq!(cut("abc", 1), "…");
        assert_eq!(cut("a", 1), "a");
        assert_eq!(cut("漢", 1), "…");
        assert_eq!(cut("漢", 2), "漢");
    }

    #[test]
    fn combining_marks_take_no_column() {
        assert_eq!(columns("e\u{301}"), 1);
        assert_eq!(cut("e\u{301}e\u{301}", 2), "e\u{301}e\u{301}");
    }
}
