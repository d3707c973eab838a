//! A report as the TUI shows it: each section a table of plain text, and for each row
//! the query that finds the requests behind it (`report::drill`), which Enter opens.
//!
//! Pure: no terminal, no index. Cells are `Cell::to_text()`, not yet sanitized (the
//! view sanitizes what it draws).

use crate::query::parse::Expr;
use crate::report::drill::section_queries;
use crate::report::render::header;
use crate::report::{Cell, Report, Section};

/// A report ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportView {
    pub name: &'static str,
    pub sections: Vec<SectionView>,
}

/// One table: `rows[i]` is drawn under `headers`, and Enter on it opens `drill[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionView {
    pub key: &'static str,
    pub title: &'static str,
    /// Column titles as the CLI table prints them (`IMPERSONATED USER`).
    pub headers: Vec<String>,
    /// Cell text, not sanitized.
    pub rows: Vec<Vec<String>>,
    /// Per row: query text that finds the requests behind it, or None.
    pub drill: Vec<Option<String>>,
    pub note: Option<String>,
}

/// The view of `report`, which was run within `scope`.
///
/// `scope` is the parsed query the report was run within, not its text: the caller
/// already parsed it (with its saved queries) to run the report, so drilling ANDs in
/// exactly what the report saw, and a `@saved` reference needs no second lookup that
/// could fail. The empty query ([`Expr::All`]) and a lone `*` add nothing. Time bounds
/// (`--since`/`--until`) are not query text: the caller keeps them for the drill.
pub fn view(report: &Report, scope: &Expr) -> ReportView {
    ReportView {
        name: report.name,
        sections: report
            .sections
            .iter()
            .map(|s| section_view(report, s, scope))
            .collect(),
    }
}

fn section_view(report: &Report, section: &Section, scope: &Expr) -> SectionView {
    let drill = section_queries(report, section, scope)
        .into_iter()
        .map(|q| q.map(|q| q.to_string()))
        .collect();
    SectionView {
        key: section.key,
        title: section.title,
        headers: section.columns.iter().map(|c| header(c)).collect(),
        rows: section
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::to_text).collect())
            .collect(),
        drill,
        note: section.note.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse::parse;

    /// The view keeps each row's cells as text and its drill query as text that parses
    /// back to the query `report::drill` built.
    #[test]
    fn rows_show_their_cells_and_open_their_drill_query() {
        let mut section = Section::new("users", "By user", &["user", "requests"]);
        section.rows.push(vec![Cell::text("alice"), Cell::Count(3)]);
        section.rows.push(vec![Cell::Text(None), Cell::Count(1)]);
        let report = Report {
            name: "stats",
            sections: vec![section.clone()],
            primary: "users",
            json: None,
            flagged: 0,
        };
        let scope = parse("verb:get OR verb:list", &|_| None).unwrap();
        let shown = view(&report, &scope);
        let table = &shown.sections[0];
        assert_eq!(table.headers, ["USER", "REQUESTS"]);
        assert_eq!(table.rows, [["alice", "3"], ["", "1"]]);
        let want = section_queries(&report, &section, &scope);
        let parsed: Vec<Option<Expr>> = table
            .drill
            .iter()
            .map(|d| d.as_deref().map(|t| parse(t, &|_| None).unwrap()))
            .collect();
        assert_eq!(parsed, want);
        assert_eq!(
            table.drill[0].as_deref(),
            Some("user:alice (verb:get OR verb:list)")
        );
    }
}
