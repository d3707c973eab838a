//! Writes a report as aligned tables, JSON, CSV or Markdown. Log text is sanitized for
//! terminals (table, Markdown) and spreadsheets (CSV); JSON escapes by its own rules.

use std::io::{self, Write};

use serde_json::{Map, Value};

use super::{Cell, Report, Section};
use crate::error::{Error, Result};
use crate::output::table::{self, Align};
use crate::sanitize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Markdown,
}

/// Longest a table cell may be, in columns, before it is cut with `…` (`--format json` has it all).
const MAX_CELL: usize = 80;

/// Writes `report`, or only its section `only`. CSV holds one table: the one chosen,
/// else the report's primary section.
pub fn write(
    out: &mut dyn Write,
    report: &Report,
    format: Format,
    only: Option<&str>,
) -> Result<()> {
    let chosen: Vec<&Section> = match only {
        Some(key) => {
            let section = report
                .sections
                .iter()
                .find(|s| s.key == key)
                .ok_or_else(|| {
                    let keys: Vec<&str> = report.sections.iter().map(|s| s.key).collect();
                    Error::Usage(format!(
                        "report {} has no section {key:?}; its sections: {}",
                        report.name,
                        keys.join(", ")
                    ))
                })?;
            vec![section]
        }
        None if format == Format::Csv => report
            .sections
            .iter()
            .filter(|s| s.key == report.primary)
            .collect(),
        None => report.sections.iter().collect(),
    };
    let written = match format {
        Format::Table => write_tables(out, &chosen),
        Format::Markdown => write_markdown(out, report.name, &chosen),
        Format::Csv => chosen.iter().try_for_each(|s| write_csv(out, s)),
        Format::Json => write_json(out, report, &chosen, only.is_some()),
    };
    written.map_err(|e| Error::io("<stdout>", e))
}

fn write_json(
    out: &mut dyn Write,
    report: &Report,
    chosen: &[&Section],
    only: bool,
) -> io::Result<()> {
    let document = match (&report.json, only) {
        (Some(json), false) => Value::Object(json.clone()),
        _ => {
            let mut doc = Map::new();
            doc.insert("report".into(), Value::from(report.name));
            let mut notes = Map::new();
            for s in chosen {
                doc.insert(s.key.into(), s.to_json());
                if let Some(note) = &s.note {
                    notes.insert(s.key.into(), Value::from(note.as_str()));
                }
            }
            if !notes.is_empty() {
                doc.insert("notes".into(), Value::Object(notes));
            }
            Value::Object(doc)
        }
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    out.write_all(b"\n")
}

fn is_number(cell: &Cell) -> bool {
    matches!(cell, Cell::Count(_) | Cell::Share(_))
}

fn write_tables(out: &mut dyn Write, sections: &[&Section]) -> io::Result<()> {
    for (i, s) in sections.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", s.title)?;
        if s.rows.is_empty() {
            writeln!(out, "  (none)")?;
        } else {
            write_aligned(out, s)?;
        }
        if let Some(note) = &s.note {
            writeln!(out, "{note}")?;
        }
    }
    Ok(())
}

fn write_aligned(out: &mut dyn Write, s: &Section) -> io::Result<()> {
    let titles: Vec<String> = s.columns.iter().map(|c| header(c)).collect();
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    let cells: Vec<Vec<String>> = s
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| match cell.to_text() {
                    t if t.is_empty() => "-".to_string(),
                    t => table::cell(&t, MAX_CELL),
                })
                .collect()
        })
        .collect();
    // Numbers align right, so their magnitudes line up.
    let align: Vec<Align> = (0..titles.len())
        .map(|i| match s.rows.first().and_then(|r| r.get(i)) {
            Some(cell) if is_number(cell) => Align::Right,
            _ => Align::Left,
        })
        .collect();
    table::write(out, &titles, &align, &cells, true)
}

/// `serviceAccount` → `SERVICE ACCOUNT`.
pub(crate) fn header(column: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in column.chars() {
        if c.is_uppercase() && previous.is_some_and(|p| !p.is_uppercase()) {
            out.push(' ');
        }
        out.extend(c.to_uppercase());
        previous = Some(c);
    }
    out
}

fn write_csv(out: &mut dyn Write, s: &Section) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new().from_writer(out);
    w.write_record(&s.columns)?;
    for row in &s.rows {
        w.write_record(
            row.iter()
                .map(|c| sanitize::for_csv(&c.to_text()).into_owned()),
        )?;
    }
    w.flush()
}

fn write_markdown(out: &mut dyn Write, name: &str, sections: &[&Section]) -> io::Result<()> {
    writeln!(out, "# kaudit report {name}")?;
    for s in sections {
        writeln!(out, "\n## {}\n", s.title)?;
        if s.rows.is_empty() {
            writeln!(out, "(none)")?;
        } else {
            writeln!(out, "| {} |", s.columns.join(" | "))?;
            let rule: Vec<&str> = s
                .rows
                .first()
                .map(|r| {
                    r.iter()
                        .map(|c| if is_number(c) { "---:" } else { "---" })
                        .collect()
                })
                .unwrap_or_default();
            writeln!(out, "|{}|", rule.join("|"))?;
            for row in &s.rows {
                let cells: Vec<String> = row.iter().map(|c| markdown_cell(&c.to_text())).collect();
                writeln!(out, "| {} |", cells.join(" | "))?;
            }
        }
        if let Some(note) = &s.note {
            writeln!(out, "\n{note}")?;
        }
    }
    Ok(())
}

/// A table cell: terminal-safe, with the characters Markdown would read as table
/// structure or markup escaped, so a hostile value cannot forge rows, links,
/// strikethrough or math. GitHub's extended autolinks are broken too: `://` (http,
/// https, ftp), `www.`, `mailto:` and `xmpp:`, and `@` (bare e-mail addresses, and
/// @mentions that would notify whoever is named).
fn markdown_cell(text: &str) -> String {
    let safe = sanitize::for_terminal(text);
    let mut out = String::with_capacity(safe.len());
    let chars: Vec<char> = safe.chars().collect();
    let follows = |i: usize, word: &str| {
        let n = word.chars().count();
        i >= n
            && chars[i - n..i]
                .iter()
                .zip(word.chars())
                .all(|(c, w)| c.eq_ignore_ascii_case(&w))
    };
    for (i, &c) in chars.iter().enumerate() {
        // An entity (`&#x202E;`) would bring back what for_terminal escaped.
        if c == '&' {
            out.push_str("&amp;");
            continue;
        }
        let autolink = match c {
            ':' => {
                chars[i + 1..].starts_with(&['/', '/'])
                    || follows(i, "mailto")
                    || follows(i, "xmpp")
            }
            '.' => follows(i, "www"),
            _ => false,
        };
        if autolink
            || matches!(
                c,
                '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '!' | '~' | '$' | '@'
            )
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_split_camel_case() {
        assert_eq!(header("serviceAccount"), "SERVICE ACCOUNT");
        assert_eq!(header("auditID"), "AUDIT ID");
        assert_eq!(header("user"), "USER");
    }

    #[test]
    fn markdown_cells_cannot_forge_structure() {
        assert_eq!(markdown_cell("a|b\n[x](y)"), "a\\|b\\\\n\\[x\\](y)");
        assert_eq!(markdown_cell("&#x202E;"), "&amp;\\#x202E;");
        assert_eq!(markdown_cell("https://x"), "https\\://x", "no autolink");
    }

    #[test]
    fn markdown_cells_cannot_link_strike_or_mention() {
        let cases = [
            ("www.evil.example", r"www\.evil.example"),
            ("see WWW.evil.example", r"see WWW\.evil.example"),
            ("mailto:a@b.example", r"mailto\:a\@b.example"),
            ("XMPP:a@b.example", r"XMPP\:a\@b.example"),
            ("alice@example.com", r"alice\@example.com"),
            ("@octocat", r"\@octocat"),
            ("~~struck~~ ~one~", r"\~\~struck\~\~ \~one\~"),
            ("$\\color{red}x$", r"\$\\color{red}x\$"),
            ("ftp://x", r"ftp\://x"),
            ("*_`[]<>#!|", r"\*\_\`\[\]\<\>\#\!\|"),
            // Plain text stays plain, colons and dots included.
            (
                "system:node:worker-1 10.0.0.5",
                "system:node:worker-1 10.0.0.5",
            ),
        ];
        for (value, cell) in cases {
            assert_eq!(markdown_cell(value), cell, "{value:?}");
        }
    }
}
