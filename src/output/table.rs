//! Aligned text tables for a terminal: the one writer behind `kaudit query`'s table,
//! `query --by` counts and the reports. Cells are sanitized and cut by display width
//! (`crate::width`), so wide characters keep the columns straight.

use std::io::{self, Write};

use crate::sanitize;
use crate::width;

/// Where a column's cells sit in its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    /// Numbers, so that their magnitudes line up.
    Right,
}

/// Log text as a cell: escaped for the terminal, cut with `…` to `max` columns.
pub fn cell(text: &str, max: usize) -> String {
    width::cut(&sanitize::for_terminal(text), max).into_owned()
}

/// Writes `rows` under `titles` (when `header`), each column as wide as its widest cell
/// or title and two spaces between columns; trailing spaces are left out. Cells must
/// be sanitized already ([`cell`]).
pub fn write(
    out: &mut dyn Write,
    titles: &[&str],
    align: &[Align],
    rows: &[Vec<String>],
    header: bool,
) -> io::Result<()> {
    let mut widths: Vec<usize> = titles.iter().map(|t| width::columns(t)).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(width::columns(c));
        }
    }
    let mut line = |values: &mut dyn Iterator<Item = &str>| -> io::Result<()> {
        let mut text = String::new();
        for (i, v) in values.enumerate() {
            let pad = widths[i] - width::columns(v);
            if i > 0 {
                text.push_str("  ");
            }
            match align.get(i).copied().unwrap_or(Align::Left) {
                Align::Right => {
                    text.extend(std::iter::repeat_n(' ', pad));
                    text.push_str(v);
                }
                Align::Left => {
                    text.push_str(v);
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    if header {
        line(&mut titles.iter().copied())?;
    }
    for row in rows {
        line(&mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(titles: &[&str], align: &[Align], rows: &[&[&str]]) -> String {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        let mut out = Vec::new();
        write(&mut out, titles, align, &rows, true).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn columns_align_by_display_width_not_characters() {
        // 山田 takes four columns: the next column starts where it would after "abcd".
        let text = table(
            &["USER", "VERB"],
            &[Align::Left, Align::Left],
            &[&["山田", "get"], &["abcd", "list"]],
        );
        assert_eq!(text, "USER  VERB\n山田  get\nabcd  list\n");
    }

    #[test]
    fn numbers_align_right_and_no_line_ends_in_spaces() {
        let text = table(
            &["NAME", "COUNT"],
            &[Align::Left, Align::Right],
            &[&["a", "7"], &["bb", "1234"]],
        );
        assert_eq!(text, "NAME  COUNT\na         7\nbb     1234\n");
        let text = table(&["A", "B"], &[], &[&["x", ""]]);
        assert_eq!(text, "A  B\nx\n");
    }

    #[test]
    fn a_cell_is_escaped_then_cut_with_a_mark() {
        assert_eq!(cell("a\u{1b}[31mb", 80), "a\\x1b[31mb");
        assert_eq!(cell("system:kube-controller-manager", 10), "system:ku…");
        assert_eq!(cell("日本語テキスト", 7), "日本語…");
    }
}
