//! Drawing the state with ratatui: a pure function of `State`, so every screen is a
//! snapshot test on ratatui's TestBackend. Every string from the log goes through
//! `sanitize::for_terminal` before it is drawn.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::state::{Focus, RowSummary, State};
use crate::model::format_micros;
use crate::output::short_time;
use crate::query::SortOrder;
use crate::sanitize::for_terminal;

/// Colors, or none (`NO_COLOR`).
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colors unless `NO_COLOR` is set (https://no-color.org).
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn paint(self, style: Style) -> Style {
        if self.color { style } else { Style::default() }
    }

    /// What a row is, at a glance: refused, failed, a shell, a secret.
    fn row(self, r: &RowSummary) -> Style {
        let forbidden = r.code == Some(403) || r.decision.as_deref() == Some("forbid");
        let style = if forbidden {
            Style::new().red()
        } else if r.code.is_some_and(|c| c >= 500) {
            Style::new().magenta()
        } else if matches!(r.subresource.as_deref(), Some("exec" | "attach")) {
            Style::new().yellow()
        } else if r.resource.as_deref() == Some("secrets") {
            Style::new().cyan()
        } else {
            Style::new()
        };
        self.paint(style)
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, state: &State, theme: Theme) {
    let error_lines = if state.bar.error.is_some() { 2 } else { 1 };
    let [bar, body, status] = Layout::vertical([
        Constraint::Length(error_lines),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_bar(frame, bar, state, theme);
    match state.focus {
        Focus::Detail => draw_detail(frame, body, state),
        Focus::Help => draw_help(frame, body),
        Focus::Table | Focus::QueryBar => draw_table(frame, body, state, theme),
    }
    draw_status(frame, status, state, theme);
}

fn draw_bar(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let bar = &state.bar;
    let prompt = Span::styled("/ ", theme.paint(Style::new().bold()));
    let mut lines = vec![Line::from(vec![prompt, Span::raw(for_terminal(&bar.text))])];
    if let Some((column, message)) = &bar.error {
        let caret = format!("{}^ {}", " ".repeat(column + 2), for_terminal(message));
        lines.push(Line::styled(caret, theme.paint(Style::new().red())));
    }
    frame.render_widget(Paragraph::new(lines), area);
    if state.focus == Focus::QueryBar {
        // The cursor counts characters of the text as typed; escaped characters would
        // shift it, and a query is typed, not pasted from the log.
        let x = area.x + 2 + bar.cursor.min(usize::from(u16::MAX)) as u16;
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
    }
}

fn draw_table(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let results = &state.results;
    // Wide terminals also get the decision and the source IP.
    let wide = area.width >= 120;
    let mut widths = vec![
        Constraint::Length(23),
        Constraint::Fill(2),
        Constraint::Length(6),
        Constraint::Length(14),
        Constraint::Fill(3),
        Constraint::Length(4),
    ];
    let mut titles = vec!["TIME", "ACTOR", "VERB", "RESOURCE", "OBJECT", "CODE"];
    if wide {
        widths.extend([Constraint::Length(8), Constraint::Length(15)]);
        titles.extend(["DECISION", "SOURCE IP"]);
    }
    let rows = results.rows.iter().map(|r| {
        let text = |s: &str| Cell::from(for_terminal(s).into_owned());
        let mut cells = vec![
            Cell::from(r.time.map_or("-".into(), |t| short_time(&format_micros(t)))),
            text(&r.actor),
            text(r.verb.as_deref().unwrap_or("-")),
            text(r.resource_path.as_deref().unwrap_or("-")),
            text(r.object_path.as_deref().unwrap_or("-")),
            Cell::from(r.code.map_or("-".into(), |c| c.to_string())),
        ];
        if wide {
            cells.push(text(r.decision.as_deref().unwrap_or("-")));
            cells.push(text(r.source_ip.as_deref().unwrap_or("-")));
        }
        Row::new(cells).style(theme.row(r))
    });
    let header = Row::new(titles).style(theme.paint(Style::new().bold()));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut table_state =
        TableState::default().with_selected(results.selected.checked_sub(results.first));
    frame.render_stateful_widget(table, area, &mut table_state);
}

fn draw_detail(frame: &mut Frame, area: Rect, state: &State) {
    let Some(row) = state.results.selected_row() else {
        return;
    };
    let pretty = serde_json::from_str::<serde_json::Value>(&row.event)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| row.event.clone());
    let text: Vec<Line> = pretty
        .lines()
        .map(|l| Line::raw(for_terminal(l).into_owned()))
        .collect();
    let title = format!(
        " {} ",
        for_terminal(row.audit_id.as_deref().unwrap_or("request"))
    );
    let detail = Paragraph::new(text)
        .block(Block::bordered().title(title))
        .scroll((state.detail_scroll.min(usize::from(u16::MAX)) as u16, 0));
    frame.render_widget(detail, area);
}

/// Every key, in one place: the help screen.
pub const KEYS: &[(&str, &str)] = &[
    (
        "/",
        "edit the query; Enter runs it, Esc leaves it, Up/Down walk the history",
    ),
    ("j k, Up Down", "move one row (the detail: scroll)"),
    ("PgUp PgDn", "move a page"),
    ("g G", "first, last row"),
    ("Enter", "the whole event"),
    ("o", "newest or oldest first"),
    ("a", "same actor"),
    ("b", "same object"),
    ("p", "same pod"),
    ("i", "same source IP"),
    ("s", "same ServiceAccount"),
    ("Backspace, Esc", "back to the previous query"),
    ("?", "this help"),
    ("q", "quit"),
];

fn draw_help(frame: &mut Frame, area: Rect) {
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::raw(format!("{key:>15}  ")).bold(),
                Span::raw(*what),
            ])
        })
        .collect();
    let help = Paragraph::new(lines)
        .block(Block::bordered().title(" keys "))
        .wrap(Wrap { trim: false });
    frame.render_widget(help, area);
}

fn draw_status(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let r = &state.results;
    let count = match r.total {
        Some(n) => format!("{} of {n}", (r.selected + 1).min(n as usize)),
        None => "searching…".into(),
    };
    let order = match r.order {
        SortOrder::NewestFirst => "newest first",
        SortOrder::OldestFirst => "oldest first",
    };
    let back = if state.back.is_empty() {
        String::new()
    } else {
        format!("  ·  {} back", state.back.len())
    };
    let text = format!(" {count}  ·  {order}{back}  ·  ? keys  q quit");
    frame.render_widget(
        Paragraph::new(text).style(theme.paint(Style::new().reversed())),
        area,
    );
}
