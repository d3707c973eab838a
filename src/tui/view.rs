//! Drawing the state with ratatui: a pure function of `State`, so every screen is a
//! snapshot test on ratatui's TestBackend. Every string from the log goes through
//! `sanitize::for_terminal` (or JSON escaping and then it) before it is drawn.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Position, Rect};
use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Tabs, Wrap};

use super::json;
use super::state::{Focus, Pick, Screen, State, TimelineScreen};
use crate::model::format_micros;
use crate::output::Row as ResultRow;
use crate::output::short_time;
use crate::query::SortOrder;
use crate::sanitize::{for_terminal, shell_words};
use crate::width;

/// Colors, or none (`NO_COLOR`).
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn paint(self, style: Style) -> Style {
        if self.color { style } else { Style::default() }
    }

    /// What a row is, at a glance: refused, failed, a shell, a secret.
    fn row(self, r: &ResultRow) -> Style {
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

fn text(s: &str) -> String {
    for_terminal(s).into_owned()
}

fn or_dash(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "-".to_string(), text)
}

/// Draws the whole screen; `tick` turns the spinner. Returns how far the detail can
/// scroll (its wrapped rows past the first screen), for `State::clamp_detail`.
pub fn draw(frame: &mut Frame, state: &State, theme: Theme, tick: u64) -> usize {
    let bar_lines = 1 + u16::from(state.bar.error.is_some()) + u16::from(completing(state));
    let [bar, body, status] = Layout::vertical([
        Constraint::Length(bar_lines),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_bar(frame, bar, state, theme);
    let mut detail_max = 0;
    match state.focus() {
        Focus::Detail => detail_max = draw_detail(frame, body, state, theme),
        Focus::Help => draw_help(frame, body),
        Focus::Picker => draw_picker(frame, body, state, theme),
        Focus::Counts => draw_counts(frame, body, state, theme),
        Focus::Report => draw_report(frame, body, state, theme),
        Focus::Timeline => {
            let [chart, table] =
                Layout::vertical([Constraint::Length(9), Constraint::Fill(1)]).areas(body);
            draw_timeline(frame, chart, state, theme);
            draw_table(frame, table, state, theme);
        }
        Focus::Table | Focus::QueryBar => draw_table(frame, body, state, theme),
    }
    draw_status(frame, status, state, theme, tick);
    detail_max
}

fn completing(state: &State) -> bool {
    state.focus() == Focus::QueryBar && state.bar.completion.is_some()
}

/// The query bar: the query (scrolled to keep the cursor in view while editing, cut
/// with an ellipsis otherwise), a line under it pointing at a parse error, and the
/// completion candidates while completing. Places the terminal cursor while editing.
fn draw_bar(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let bar = &state.bar;
    let prompt = Span::styled("/ ", theme.paint(Style::new().bold()));
    let editing = state.focus() == Focus::QueryBar;
    // The text as drawn, a character at a time (escaped where the log's text would be)
    // with the columns each takes: wide characters take two, so the cursor and the
    // caret are placed by columns, not characters.
    let pieces: Vec<(String, usize)> = bar
        .text
        .chars()
        .map(|c| {
            let shown = text(c.encode_utf8(&mut [0; 4]));
            let columns = width::columns(&shown);
            (shown, columns)
        })
        .collect();
    let columns = |range: std::ops::Range<usize>| -> usize {
        let end = range.end.min(pieces.len());
        pieces[range.start.min(end)..end].iter().map(|p| p.1).sum()
    };
    // A query longer than the bar scrolls so the cursor stays in view while editing;
    // otherwise its end is cut with an ellipsis.
    let room = usize::from(area.width.saturating_sub(2)).max(1);
    let cursor = bar.cursor.min(pieces.len());
    let mut start = 0;
    if editing {
        // The first character shown: the cursor's own column stays inside the bar.
        while start < cursor && columns(start..cursor) + 1 > room {
            start += 1;
        }
    }
    let visible: String = if editing {
        let mut used = 0;
        pieces[start..]
            .iter()
            .take_while(|(_, w)| {
                used += w;
                used <= room
            })
            .map(|(p, _)| p.as_str())
            .collect()
    } else {
        width::cut(&text(&bar.text), room).into_owned()
    };
    let typed = if bar.text.is_empty() && !editing {
        Span::styled(
            "all requests: press / to search, ? for keys",
            theme.paint(Style::new().dark_gray()),
        )
    } else {
        Span::raw(visible)
    };
    let mut lines = vec![Line::from(vec![prompt, typed])];
    if let Some((column, message)) = &bar.error {
        let at = if *column >= start {
            columns(start..*column)
        } else {
            0
        };
        let caret = format!("{}^ {}", " ".repeat(at + 2), text(message));
        lines.push(Line::styled(caret, theme.paint(Style::new().red())));
    }
    if let Some(c) = bar.completion.as_ref().filter(|_| completing(state)) {
        let mut spans = vec![Span::raw("  ")];
        if c.candidates.is_empty() {
            spans.push(Span::raw("no completions"));
        }
        for (i, candidate) in c.candidates.iter().enumerate() {
            let style = if c.chosen == Some(i) {
                Style::new().reversed()
            } else {
                theme.paint(Style::new().dark_gray())
            };
            spans.push(Span::styled(text(candidate), style));
            spans.push(Span::raw("  "));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), area);
    if state.focus() == Focus::QueryBar {
        let shown = columns(start..cursor).min(usize::from(u16::MAX)) as u16;
        let x = (area.x + 2).saturating_add(shown);
        frame.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
    }
}

/// The results table: columns chosen by the terminal's width (an object's history
/// shows what changed instead of the object), every cell sanitized and cut with `…`,
/// scrolled from the last frame's offset so the selection moves as little as possible.
fn draw_table(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let results = &state.results;
    let history = results.ask.history;
    // Wide terminals also get the decision and the source IP; an object's history
    // shows what each write changed instead.
    let wide = area.width >= 120;
    // An object's history is one object: its column gives way to what changed.
    let mut widths = vec![
        Constraint::Length(23),
        Constraint::Fill(2),
        Constraint::Length(6),
        Constraint::Length(14),
    ];
    let mut titles = vec!["TIME", "ACTOR", "VERB", "RESOURCE"];
    if !history {
        widths.push(Constraint::Fill(3));
        titles.push("OBJECT");
    }
    widths.push(Constraint::Length(4));
    titles.push("CODE");
    if history {
        widths.push(Constraint::Fill(4));
        titles.push("CHANGED");
    } else if wide {
        // Room for most IPv4 addresses and their `(+N fwd)` mark.
        widths.extend([Constraint::Length(8), Constraint::Length(22)]);
        titles.extend(["DECISION", "SOURCE IP"]);
    }
    // The columns' widths as the table lays them out (no highlight symbol, Flex::Start),
    // so a value longer than its column is cut with `…` instead of silently.
    let spacing = 1;
    let flex = Flex::Start;
    let column_widths: Vec<usize> = Layout::horizontal(widths.clone())
        .flex(flex)
        .spacing(spacing)
        .split(area)
        .iter()
        .map(|c| usize::from(c.width))
        .collect();
    let rows = results.rows.iter().map(|r| {
        let mut cells = vec![
            r.time.map_or("-".into(), |t| short_time(&format_micros(t))),
            text(&r.actor),
            or_dash(&r.verb),
            or_dash(&r.resource_path),
        ];
        if !history {
            cells.push(or_dash(&r.object_path));
        }
        cells.push(r.code.map_or("-".into(), |c| c.to_string()));
        if history {
            let changes = r.changes.as_deref().unwrap_or_default();
            let summary = match changes {
                [] => "no change".to_string(),
                [one] => text(one),
                [first, rest @ ..] => format!("{} (+{} more)", text(first), rest.len()),
            };
            cells.push(summary);
        } else if wide {
            cells.push(or_dash(&r.decision));
            cells.push(or_dash(&r.source_ip_label()));
        }
        // Cut after sanitizing: the cells are already `text`.
        let cells = cells
            .iter()
            .zip(&column_widths)
            .map(|(cell, &w)| Cell::from(width::cut(cell, w).into_owned()));
        let mut style = theme.row(r);
        if results.is_new(r) {
            style = style.add_modifier(Modifier::BOLD);
            if theme.color {
                style = style.on_dark_gray();
            }
        }
        Row::new(cells).style(style)
    });
    let header = Row::new(titles).style(theme.paint(Style::new().bold()));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(spacing)
        .flex(flex)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    // Start from the last frame's scroll position, so moving up does not pin the
    // selection to the bottom row.
    let mut table_state = TableState::default()
        .with_offset(state.table_offset.get().saturating_sub(results.first))
        .with_selected(results.selected.checked_sub(results.first));
    frame.render_stateful_widget(table, area, &mut table_state);
    state.table_offset.set(results.first + table_state.offset());
}

/// What kaudit derived from the event, above the event itself.
fn derived(row: &ResultRow) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut add = |key, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push((key, v));
        }
    };
    add("time", row.time.map(format_micros));
    add("user", row.user.as_deref().map(text));
    add("as", row.impersonated_user.as_deref().map(text));
    add("serviceAccount", row.service_account.as_deref().map(text));
    add("pod", row.pod.as_deref().map(text));
    add("node", row.node.as_deref().map(text));
    add("source IP", row.source_ip().map(text));
    // Client-chosen: shown apart from the address the apiserver saw, and said to be.
    add(
        "forwarded for",
        (!row.forwarded_for().is_empty()).then(|| {
            let claimed: Vec<String> = row.forwarded_for().iter().map(|ip| text(ip)).collect();
            format!("{} (headers the client chose)", claimed.join(" "))
        }),
    );
    let request = [&row.verb, &row.resource_path, &row.object_path]
        .iter()
        .filter_map(|s| s.as_deref())
        .map(text)
        .collect::<Vec<_>>()
        .join(" ");
    add("request", Some(request));
    let outcome = [
        row.code.map(|c| c.to_string()),
        row.decision.as_deref().map(text),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    add("outcome", Some(outcome));
    add("reason", row.reason.as_deref().map(text));
    add(
        "salvaged",
        row.salvaged.as_deref().map(|why| {
            format!(
                "{}: the line could not be read whole; what could not is marked \
                 <unreadable: N bytes>",
                text(why)
            )
        }),
    );
    add(
        "command",
        row.command.as_ref().map(|argv| text(&shell_words(argv))),
    );
    add("policy", row.policy.as_deref().map(text));
    out
}

fn draw_detail(frame: &mut Frame, area: Rect, state: &State, theme: Theme) -> usize {
    let Some(row) = state.results.selected_row() else {
        return 0;
    };
    let key_style = theme.paint(Style::new().bold());
    let mut lines: Vec<Line> = derived(row)
        .into_iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:>14}  "), key_style),
                Span::raw(v),
            ])
        })
        .collect();
    if let Some(changes) = &row.changes {
        lines.push(Line::raw(""));
        lines.push(Line::styled("changed by this write:", key_style));
        lines.extend(changes.iter().map(|c| Line::raw(format!("  {}", text(c)))));
    }
    lines.push(Line::raw(""));
    let event = row.event.as_deref().unwrap_or_default();
    match serde_json::from_str::<serde_json::Value>(event) {
        Ok(event) => lines.extend(json::lines(&event, state.folded, theme.color)),
        Err(_) => lines.push(Line::raw(text(event))),
    }
    let title = format!(
        " {}  (z {}) ",
        text(row.audit_id.as_deref().unwrap_or("request")),
        if state.folded { "unfolds" } else { "folds" }
    );
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    let detail = Paragraph::new(lines).wrap(Wrap { trim: false });
    // Scrolling stops with the last wrapped row at the bottom.
    let max = detail
        .line_count(inner.width)
        .saturating_sub(usize::from(inner.height));
    let scroll = state.detail_scroll().min(max).min(usize::from(u16::MAX)) as u16;
    frame.render_widget(detail.block(block).scroll((scroll, 0)), area);
    max
}

/// Every key, in one place: the help screen.
pub const KEYS: &[(&str, &str)] = &[
    (
        "/",
        "edit the query: Enter runs, Tab completes, Up/Down: history",
    ),
    (
        "",
        "  in the bar: Ctrl-A/E start/end, Ctrl-W word, Ctrl-U line",
    ),
    ("j k ↑ ↓ wheel", "move a row (in the detail: scroll)"),
    ("PgUp PgDn g G", "a page (Ctrl-D/U half); first, last row"),
    (
        "Enter",
        "the whole event; in a report or timeline: its requests",
    ),
    (
        "a o p i w",
        "same actor, object, pod, source IP, ServiceAccount",
    ),
    (
        "H",
        "the object's history: its writes in order, with changes",
    ),
    (
        "t",
        "timeline of the hits: h l or ← → pick a bucket, Enter narrows",
    ),
    (
        "b",
        "counts of the hits by a field: Enter on a value narrows to it",
    ),
    (
        "s",
        "reports (Tab: next table, ← →: columns) and saved queries",
    ),
    ("f", "live: follow new requests as they are indexed"),
    ("e E", "export the hits to a file: NDJSON events, CSV"),
    ("r z", "newest/oldest first; fold or unfold bodies (detail)"),
    (
        "Backspace Esc",
        "back to the previous query; Esc also cancels",
    ),
    ("? q Ctrl-C", "this help; quit"),
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

fn draw_picker(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let rows = state.picks.iter().map(|pick| {
        let (kind, name, about) = match pick {
            Pick::Report { name, about } => ("report", name.to_string(), about.to_string()),
            Pick::Saved { name, description } => ("query", format!("@{name}"), text(description)),
        };
        Row::new([Cell::from(kind), Cell::from(text(&name)), Cell::from(about)])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(6),
            Constraint::Length(24),
            Constraint::Fill(1),
        ],
    )
    .block(Block::bordered().title(" reports and saved queries: Enter opens, Esc closes "))
    .row_highlight_style(
        theme
            .paint(Style::new().reversed())
            .add_modifier(Modifier::REVERSED),
    );
    let mut table_state = TableState::default().with_selected(Some(state.picked));
    frame.render_stateful_widget(table, area, &mut table_state);
}

/// `b`: the fields to count the hits by, or the counted values of one.
fn draw_counts(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let view = &state.counts;
    let highlight = Style::new().add_modifier(Modifier::REVERSED);
    let Some(values) = &view.values else {
        let rows = view
            .fields
            .iter()
            .map(|&f| Row::new([Cell::from(f.name()), Cell::from(super::counts::about(f))]));
        let table = Table::new(rows, [Constraint::Length(10), Constraint::Fill(1)])
            .block(Block::bordered().title(" count the hits by: Enter counts, Esc closes "))
            .row_highlight_style(highlight);
        let mut table_state = TableState::default().with_selected(Some(view.picked));
        frame.render_stateful_widget(table, area, &mut table_state);
        return;
    };
    let name = values.field.name();
    let block = Block::bordered().title(format!(
        " {} requests by {name}: Enter narrows, Backspace fields, Esc closes ",
        values.requests
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let cut = values.keys > values.rows.len();
    // Below the table: how many values were left out, and the query Enter runs, which
    // shows the selected value whole.
    let [table_area, note_area, enter_area] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(u16::from(cut)),
        Constraint::Length(2),
    ])
    .areas(inner);
    let total = values.requests.max(1) as f64;
    let shown: Vec<String> = values
        .rows
        .iter()
        .map(|(key, _)| match key {
            Some(key) => text(&key.to_string()),
            None => crate::output::counts::ABSENT.to_string(),
        })
        .collect();
    // The value column as wide as its values (up to half the width), then the count,
    // the share of the hits, and a bar against the largest count.
    let widest = shown.iter().map(|v| v.chars().count()).max().unwrap_or(0);
    let value_width = widest
        .max(name.len())
        .min(usize::from(inner.width.saturating_sub(10 + 7 + 6 + 8))) as u16;
    let bar_width = inner.width.saturating_sub(value_width + 10 + 7 + 6);
    let largest = values.rows.first().map_or(1, |(_, n)| (*n).max(1)) as f64;
    let rows = values.rows.iter().zip(&shown).map(|((_, count), value)| {
        let share = format!("{:.1}%", *count as f64 * 100.0 / total);
        let bar = "█".repeat((*count as f64 / largest * f64::from(bar_width)).ceil() as usize);
        Row::new([
            Cell::from(value.as_str()),
            Cell::from(Line::from(count.to_string()).right_aligned()),
            Cell::from(Line::from(share).right_aligned()),
            Cell::from(Span::styled(bar, theme.paint(Style::new().cyan()))),
        ])
    });
    let header = Row::new([
        Cell::from(name.to_uppercase()),
        Cell::from(Line::from("COUNT").right_aligned()),
        Cell::from(Line::from("SHARE").right_aligned()),
        Cell::from(""),
    ])
    .style(theme.paint(Style::new().bold()));
    let table = Table::new(
        rows,
        [
            Constraint::Length(value_width),
            Constraint::Length(10),
            Constraint::Length(7),
            Constraint::Fill(1),
        ],
    )
    .header(header)
    .column_spacing(2)
    .row_highlight_style(highlight);
    let selected = (!values.rows.is_empty()).then_some(values.selected);
    let mut table_state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, table_area, &mut table_state);
    if cut {
        let note = format!(
            "the {} largest of {} values (kaudit query --by {name} --top 0 lists all)",
            values.rows.len(),
            values.keys
        );
        frame.render_widget(Paragraph::new(note), note_area);
    }
    if let Some((key, _)) = values.rows.get(values.selected) {
        let term = crate::query::counts::Key::term(values.field, key.as_ref());
        let query = super::counts::narrowed(&state.results.ask.query, &term);
        let line = Line::from(vec![
            Span::styled("Enter: ", theme.paint(Style::new().bold())),
            Span::raw(text(&query)),
        ]);
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), enter_area);
    }
}

/// The report screen: the chosen table of the report, scrolled sideways from the
/// cursor's column (reports are wider than terminals), its note, and the selected row
/// shown whole below it.
fn draw_report(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let Screen::Report(screen) = &state.screen else {
        return;
    };
    let (report, at) = (&screen.view, screen.at);
    let block = Block::bordered().title(format!(
        " report {}: Tab next table, ← → columns, Enter opens a row's requests, Esc closes ",
        report.name
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(section) = report.sections.get(at.section) else {
        return;
    };
    // Reports are wider than terminals: the selected row is also shown whole below.
    let record_lines = (section.headers.len() as u16 + 1).min(inner.height / 3);
    let note_lines = u16::from(section.note.is_some()) * 2;
    let [tabs_area, table_area, record_area, note_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(if section.rows.is_empty() {
            0
        } else {
            record_lines
        }),
        Constraint::Length(note_lines),
    ])
    .areas(inner);
    let tabs = Tabs::new(report.sections.iter().map(|s| s.title))
        .select(at.section)
        .highlight_style(
            theme
                .paint(Style::new().bold())
                .add_modifier(Modifier::REVERSED),
        );
    frame.render_widget(tabs, tabs_area);

    // The columns from the first one shown, as many as fit at their natural width.
    let natural = |i: usize| {
        section
            .rows
            .iter()
            .map(|r| r.get(i).map_or(0, |c| text(c).chars().count()))
            .max()
            .unwrap_or(0)
            .max(section.headers[i].len())
            .min(40) as u16
    };
    let mut shown = Vec::new();
    let mut used = 0u16;
    for i in at.column..section.headers.len() {
        let width = natural(i);
        if !shown.is_empty() && used + width > table_area.width {
            break;
        }
        used += width + 2;
        shown.push(i);
    }
    let header = Row::new(shown.iter().map(|&i| {
        let more = if i == at.column && at.column > 0 {
            "◀ "
        } else {
            ""
        };
        Cell::from(format!("{more}{}", section.headers[i]))
    }))
    .style(theme.paint(Style::new().bold()));
    let rows = section.rows.iter().map(|r| {
        Row::new(
            shown
                .iter()
                .map(|&i| Cell::from(r.get(i).map(|c| text(c)).unwrap_or_default())),
        )
    });
    let widths: Vec<Constraint> = shown
        .iter()
        .map(|&i| Constraint::Length(natural(i)))
        .collect();
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(2)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let selected = (!section.rows.is_empty()).then_some(at.row);
    let mut table_state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table, table_area, &mut table_state);

    if let Some(row) = section.rows.get(at.row) {
        let key_style = theme.paint(Style::new().bold());
        let width = section.headers.iter().map(|h| h.len()).max().unwrap_or(0);
        let lines: Vec<Line> = section
            .headers
            .iter()
            .zip(row)
            .filter(|(_, cell)| !cell.is_empty())
            .map(|(h, cell)| {
                Line::from(vec![
                    Span::styled(format!("{h:>width$}  "), key_style),
                    Span::raw(text(cell)),
                ])
            })
            .collect();
        frame.render_widget(
            Paragraph::new(lines).block(Block::new().borders(ratatui::widgets::Borders::TOP)),
            record_area,
        );
    }
    if let Some(note) = &section.note {
        frame.render_widget(
            Paragraph::new(text(note)).wrap(Wrap { trim: true }),
            note_area,
        );
    }
}

/// Bars of eighths, bottom to top.
const BLOCKS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The timeline: a bar per bucket in eighths of a cell, the chosen bucket colored and
/// marked with `▲` (for terminals without color), and its time span and count.
fn draw_timeline(frame: &mut Frame, area: Rect, state: &State, theme: Theme) {
    let Screen::Timeline(TimelineScreen {
        histogram: h,
        bucket,
    }) = &state.screen
    else {
        return;
    };
    let bucket = *bucket;
    let block = Block::bordered().title(format!(
        " timeline, {}: Left/Right choose, Enter narrows to the bucket, Esc closes ",
        h.label()
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [chart, marker, caption] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let n = h.counts.len().max(1);
    let column = (usize::from(chart.width) / n).clamp(1, 4);
    let max = h.counts.iter().copied().max().unwrap_or(0).max(1);
    let height = usize::from(chart.height);
    let mut lines = Vec::new();
    for level in (0..height).rev() {
        let spans: Vec<Span> = h
            .counts
            .iter()
            .enumerate()
            .map(|(i, &count)| {
                // Any non-zero bucket shows at least a sliver.
                let eighths = ((count as f64 / max as f64) * (height * 8) as f64).ceil() as usize;
                let here = eighths.saturating_sub(level * 8).min(8);
                let c = BLOCKS[here];
                let width = column.saturating_sub(usize::from(column > 1));
                let mut s = c.to_string().repeat(width.max(1));
                if column > 1 {
                    s.push(' ');
                }
                let style = if i == bucket {
                    theme
                        .paint(Style::new().yellow())
                        .add_modifier(Modifier::BOLD)
                } else {
                    theme.paint(Style::new().cyan())
                };
                Span::styled(s, style)
            })
            .collect();
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), chart);
    // The chosen bucket, marked for terminals without color too.
    let offset = " ".repeat(bucket * column);
    frame.render_widget(Paragraph::new(format!("{offset}▲")), marker);
    let (from, to) = h.bucket(bucket);
    let count = h.counts.get(bucket).copied().unwrap_or(0);
    let caption_text = format!(
        "{} .. {}: {count} of {} requests",
        format_micros(from),
        format_micros(to),
        h.total
    );
    frame.render_widget(Paragraph::new(caption_text), caption);
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// The status line: live mode, position and count, order, time range, Back depth, the
/// running task with its spinner, ingest progress, the notice, and the key hint.
fn draw_status(frame: &mut Frame, area: Rect, state: &State, theme: Theme, tick: u64) {
    let r = &state.results;
    let spin = SPINNER[(tick % SPINNER.len() as u64) as usize];
    let mut parts = Vec::new();
    if state.live {
        parts.push("LIVE".to_string());
    }
    parts.push(match r.total {
        Some(0) => "no hits".into(),
        Some(n) => format!("{} of {n}", (r.selected + 1).min(n as usize)),
        None if state.bar.error.is_some() => "query error".into(),
        None => format!("{spin} searching (Esc cancels)"),
    });
    parts.push(
        match r.ask.order {
            SortOrder::NewestFirst => "newest first",
            SortOrder::OldestFirst => "oldest first",
        }
        .into(),
    );
    if r.ask.since.is_some() || r.ask.until.is_some() {
        let at = |t: Option<i64>| t.map(|t| short_time(&format_micros(t))).unwrap_or_default();
        parts.push(format!("{}..{}", at(r.ask.since), at(r.ask.until)));
    }
    if !state.back.is_empty() {
        parts.push(format!("{} back", state.back.len()));
    }
    if let Some(busy) = &state.busy {
        parts.push(format!("{spin} {} (Esc cancels)", busy.what));
    }
    if let Some(ingest) = &state.ingest {
        parts.push(match &ingest.finished {
            Some(done) => text(done),
            None if ingest.total > 0 => format!(
                "{spin} ingesting {}%  {}",
                ingest.bytes * 100 / ingest.total,
                text(&ingest.file)
            ),
            None => format!("following {}", text(&ingest.file)),
        });
    }
    if let Some(notice) = &state.notice {
        parts.push(text(notice));
    }
    parts.push("? keys  q quit".into());
    let line = format!(" {}", parts.join("  ·  "));
    frame.render_widget(
        Paragraph::new(line).style(theme.paint(Style::new().reversed())),
        area,
    );
}
