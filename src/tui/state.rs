//! The TUI's state and what changes it, as plain data: no terminal, no threads, no
//! index. Keys become `Action`s; `State::update` applies one and returns the `Effect`s
//! (queries, page loads, reports) for the worker to run; their answers come back as
//! actions carrying the generation they were asked for, so answers to a query the user
//! has since replaced or cancelled are dropped. Everything here is testable without a
//! terminal.

use crate::query::SortOrder;

pub use super::actions::*;
pub use super::bar::{Completing, QueryBar};
pub use super::counts::CountsView;
use super::counts::{Step, Values, narrowed};
pub use super::rows::*;
pub use super::screen::{Focus, ReportScreen, Screen, TimelineScreen};
pub use crate::output::Row;

/// An earlier view, for Back: its results, and the screen a query was opened from
/// (a report, the timeline, the picker or the counts), which Back returns to.
#[derive(Debug, Clone)]
pub struct Visit {
    pub results: Results,
    left: Option<Screen>,
}

/// The whole TUI state: the screen on show (with its own data), the query bar and
/// results every screen shares, and what outlives a visit to a screen.
#[derive(Debug, Clone)]
pub struct State {
    pub screen: Screen,
    pub bar: QueryBar,
    pub results: Results,
    /// Earlier views, for Back.
    pub back: Vec<Visit>,
    next_generation: u64,
    /// The first results row on screen: the view keeps it between frames.
    pub table_offset: std::cell::Cell<usize>,
    /// Whether big bodies are folded in the detail view (kept from one request to
    /// the next).
    pub folded: bool,
    /// The picker's entries and cursor (it reopens where it was).
    pub picks: Vec<Pick>,
    pub picked: usize,
    /// The query and time range of the report being run, until it is ready.
    report_scope: Option<Ask>,
    /// The counts' field cursor and last values (Back and `b` return to them).
    pub counts: CountsView,
    /// Following new requests as they are indexed.
    pub live: bool,
    pub busy: Option<Busy>,
    /// One line for the status bar until the next key.
    pub notice: Option<String>,
    pub ingest: Option<Ingesting>,
}

impl State {
    /// A state that starts by running `query`; run the returned effects. `saved` are
    /// the saved queries (name, description) for the picker.
    pub fn new(
        query: &str,
        history: Vec<String>,
        saved: Vec<(String, String)>,
    ) -> (State, Vec<Effect>) {
        let mut picks: Vec<Pick> = crate::report::CATALOGUE
            .iter()
            .map(|&(name, about)| Pick::Report { name, about })
            .collect();
        picks.push(Pick::Report {
            name: super::worker::HUNT,
            about: "every detection (saved queries with a level): what each found, hits in time order",
        });
        picks.extend(
            saved
                .into_iter()
                .map(|(name, description)| Pick::Saved { name, description }),
        );
        let mut state = State {
            screen: Screen::Table,
            bar: QueryBar::with_history(history),
            results: Results::new(Ask {
                generation: 0,
                query: String::new(),
                order: SortOrder::NewestFirst,
                since: None,
                until: None,
                history: false,
            }),
            back: Vec::new(),
            next_generation: 1,
            table_offset: std::cell::Cell::new(0),
            folded: true,
            picks,
            picked: 0,
            report_scope: None,
            counts: CountsView::default(),
            live: false,
            busy: None,
            notice: None,
            ingest: None,
        };
        state.bar.set(query.to_string());
        let ask = state.ask(query.to_string(), SortOrder::NewestFirst);
        let effects = state.run(ask);
        (state, effects)
    }

    /// Where keys go: the screen on show.
    pub fn focus(&self) -> Focus {
        self.screen.focus()
    }

    /// The detail's scroll position; 0 on other screens.
    pub fn detail_scroll(&self) -> usize {
        match self.screen {
            Screen::Detail { scroll } => scroll,
            _ => 0,
        }
    }

    fn next(&mut self) -> u64 {
        let n = self.next_generation;
        self.next_generation += 1;
        n
    }

    fn ask(&mut self, query: String, order: SortOrder) -> Ask {
        Ask {
            generation: self.next(),
            query,
            order,
            since: None,
            until: None,
            history: false,
        }
    }

    fn run(&mut self, ask: Ask) -> Vec<Effect> {
        self.results = Results::new(ask.clone());
        vec![Effect::Run(ask)]
    }

    /// Runs a new query, keeping the current view for Back.
    fn push(&mut self, ask: Ask) -> Vec<Effect> {
        let previous = self.results.clone();
        // Back from requests opened in a report, the timeline or the picker returns
        // there, not to the table behind it: the screen is kept with the view.
        let screen = std::mem::replace(&mut self.screen, Screen::Table);
        let left = screen.returns_from_query().then_some(screen);
        self.back.push(Visit {
            results: previous,
            left,
        });
        self.bar.set(ask.query.clone());
        self.run(ask)
    }

    fn push_query(&mut self, query: String) -> Vec<Effect> {
        let ask = self.ask(query, self.results.ask.order);
        self.push(ask)
    }

    fn back(&mut self) -> Vec<Effect> {
        let Some(Visit {
            results: previous,
            left,
        }) = self.back.pop()
        else {
            return Vec::new();
        };
        if let Some(screen) = left {
            self.screen = screen;
        }
        self.bar.set(previous.ask.query.clone());
        self.results = previous;
        // Its rows are usually still loaded. If it was left before its answers came,
        // they were dropped: ask again.
        if self.results.total.is_none() && !self.results.cancelled {
            return vec![Effect::Run(self.results.ask.clone())];
        }
        self.load_if_missing()
    }

    fn load_if_missing(&self) -> Vec<Effect> {
        let r = &self.results;
        match (r.total, r.missing_page()) {
            (Some(_), Some(first)) => vec![Effect::LoadPage(r.ask.clone(), first)],
            _ => Vec::new(),
        }
    }

    /// Starts a long task, unless one is running (its answer would be lost); its
    /// answer is dropped if Esc cancels it.
    fn start(&mut self, what: &str) -> Option<u64> {
        if let Some(busy) = &self.busy {
            self.notice = Some(format!("{} is still running (Esc cancels it)", busy.what));
            return None;
        }
        let task = self.next();
        self.busy = Some(Busy {
            task,
            what: what.to_string(),
        });
        Some(task)
    }

    /// Takes the answer of `task` if it is the one running.
    fn finish(&mut self, task: u64) -> bool {
        let current = self.busy.as_ref().is_some_and(|b| b.task == task);
        if current {
            self.busy = None;
        }
        current
    }

    /// Keeps the detail's scroll within its lines, as the view measured them.
    pub fn clamp_detail(&mut self, max: usize) {
        if let Screen::Detail { scroll } = &mut self.screen {
            *scroll = (*scroll).min(max);
        }
    }

    /// Whether the results are still being counted (the spinner shows).
    pub fn searching(&self) -> bool {
        self.results.total.is_none() && self.bar.error.is_none() && !self.results.cancelled
    }

    /// Applies one action and returns the effects to run.
    ///
    /// Some actions act the same on every screen: quitting, notices and ingest
    /// progress, answers from the worker (dropped unless they answer the current query
    /// or the running task), and Esc while a task runs, which cancels it. Every other
    /// action goes to the screen on show. Any action but a background one clears the
    /// notice, so it shows until the next key.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        use Action::*;
        if !matches!(
            action,
            Counted { .. }
                | PageLoaded { .. }
                | Refreshed { .. }
                | IndexChanged
                | Ingest(_)
                | Notice(_)
                | Completed { .. }
        ) {
            self.notice = None;
        }
        match (self.focus(), action) {
            (_, Quit) => vec![Effect::Quit],
            (_, Notice(text)) => {
                self.notice = Some(text);
                Vec::new()
            }
            (_, Ingest(progress)) => {
                self.ingest = Some(progress);
                Vec::new()
            }
            (_, IndexChanged) => match self.results.total {
                Some(_) => vec![Effect::Refresh(
                    self.results.ask.clone(),
                    self.results.first,
                )],
                None => Vec::new(),
            },
            (
                _,
                answer @ (Counted { .. }
                | PageLoaded { .. }
                | QueryFailed { .. }
                | Refreshed { .. }),
            ) => self.answer(answer),
            (
                _,
                Completed {
                    text,
                    start,
                    end,
                    candidates,
                },
            ) => {
                if self.focus() == Focus::QueryBar {
                    let none = candidates.is_empty();
                    self.bar.offer(&text, start, end, candidates);
                    if none {
                        self.notice = Some("no completions".into());
                    }
                }
                Vec::new()
            }
            (_, ReportReady { task, view }) => {
                if self.finish(task) {
                    self.screen = Screen::Report(Box::new(ReportScreen {
                        view,
                        at: ReportCursor::default(),
                        scope: self.report_scope.take(),
                    }));
                }
                Vec::new()
            }
            (_, HistogramReady { task, histogram }) => {
                if self.finish(task) {
                    let bucket = histogram.counts.len().saturating_sub(1);
                    self.screen = Screen::Timeline(TimelineScreen { histogram, bucket });
                }
                Vec::new()
            }
            (
                _,
                CountsReady {
                    task,
                    field,
                    counts,
                },
            ) => {
                if self.finish(task) {
                    self.counts.values = Some(Values::of(field, counts));
                    self.screen = Screen::Counts;
                }
                Vec::new()
            }
            (_, TaskDone { task, message }) => {
                if self.finish(task) {
                    self.notice = Some(message);
                }
                Vec::new()
            }
            (focus, Escape) if self.busy.is_some() && focus != Focus::QueryBar => {
                let busy = self.busy.take().expect("checked");
                self.notice = Some(format!("cancelled: {}", busy.what));
                vec![Effect::Cancel(busy.task)]
            }
            // Esc on a query still counting: back to the view before it, or, for the
            // first query, a cancelled view; its late answers are dropped.
            (Focus::Table, Escape) if self.searching() => {
                if self.back.is_empty() {
                    self.results.cancelled = true;
                    self.results.ask.generation = self.next();
                    self.notice = Some("query cancelled".into());
                    return Vec::new();
                }
                self.notice = Some("query cancelled".into());
                self.back()
            }
            (Focus::QueryBar, action) => self.edit(action),
            (Focus::Detail, action) => self.detail(action),
            (Focus::Picker, action) => self.picker(action),
            (Focus::Report, action) => self.report_keys(action),
            (Focus::Timeline, action) => self.timeline(action),
            (Focus::Counts, action) => self.counts_keys(action),
            (Focus::Help, Escape | Back | Help) => {
                self.screen = Screen::Table;
                Vec::new()
            }
            (Focus::Help, _) => Vec::new(),
            (Focus::Table, action) => self.table(action),
        }
    }

    fn answer(&mut self, answer: Action) -> Vec<Effect> {
        let current = self.results.ask.generation;
        match answer {
            Action::Counted { generation, total } if generation == current => {
                self.results.total = Some(total);
            }
            Action::PageLoaded {
                generation,
                first,
                rows,
            } if generation == current => {
                self.results.first = first;
                self.results.rows = rows;
            }
            Action::QueryFailed {
                generation,
                column,
                message,
            } if generation == current => {
                self.bar.error = Some((column.unwrap_or(0), message));
                self.screen = Screen::QueryBar;
            }
            Action::Refreshed {
                generation,
                total,
                first,
                rows,
            } if generation == current => return self.refreshed(total, first, rows),
            // Answers to a query since replaced.
            _ => {}
        }
        Vec::new()
    }

    /// New requests arrived. Newest first, they come in above: live and at the top,
    /// the view shows them; otherwise it stays on the row it was on.
    fn refreshed(&mut self, total: u64, first: usize, rows: Vec<Row>) -> Vec<Effect> {
        let r = &mut self.results;
        let grown = total.saturating_sub(r.total.unwrap_or(0)) as usize;
        if self.live && grown > 0 {
            let top = r
                .rows
                .first()
                .filter(|_| r.first == 0)
                .and_then(|row| row.time);
            r.new_after = top.or(r.new_after);
        }
        let shown_before = r.total.unwrap_or(0) > 0;
        r.total = Some(total);
        r.first = first;
        r.rows = rows;
        // Follow the top only in live mode (or while there was nothing to look at):
        // otherwise the row being read, and the detail open on it, would change.
        let follow =
            (self.live && r.selected == 0 && self.screen == Screen::Table) || !shown_before;
        if r.ask.order == SortOrder::NewestFirst && grown > 0 && !follow {
            r.selected += grown;
        }
        r.selected = r.selected.min(total.saturating_sub(1) as usize);
        self.load_if_missing()
    }

    /// Keys in the query bar: editing, history, completion (asked of the index, or
    /// cycled on a second Tab), Submit (remembered, run as a new view) and Esc.
    fn edit(&mut self, action: Action) -> Vec<Effect> {
        use Action::*;
        let bar = &mut self.bar;
        match action {
            Insert(c) => bar.insert(c),
            Paste(text) => text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .for_each(|c| bar.insert(c)),
            Backspace => bar.backspace(),
            DeleteWord => bar.delete_word(),
            ClearLine => bar.clear_before_cursor(),
            CursorLeft => bar.move_cursor(bar.cursor.saturating_sub(1)),
            CursorRight => bar.move_cursor(bar.cursor + 1),
            CursorHome => bar.move_cursor(0),
            CursorEnd => bar.move_cursor(usize::MAX),
            HistoryBack => bar.history_step(true),
            HistoryForward => bar.history_step(false),
            // A second Tab cycles the offered candidates; otherwise ask the index.
            Complete if !bar.cycle_completion() => {
                return vec![Effect::Complete {
                    text: bar.text.clone(),
                    cursor: bar.cursor,
                }];
            }
            Submit => {
                let text = bar.text.clone();
                let mut effects = Vec::new();
                if bar.remember(&text) {
                    effects.push(Effect::Remember(text.clone()));
                }
                effects.extend(self.push_query(text));
                return effects;
            }
            Escape => {
                bar.completion = None;
                self.screen = Screen::Table;
            }
            _ => {}
        }
        Vec::new()
    }

    fn detail(&mut self, action: Action) -> Vec<Effect> {
        let Screen::Detail { scroll } = &mut self.screen else {
            return Vec::new();
        };
        match action {
            Action::Move(n) => *scroll = scroll.saturating_add_signed(n),
            Action::Top => *scroll = 0,
            // The view clamps it to the last screen (`clamp_detail`).
            Action::Bottom => *scroll = usize::MAX,
            Action::ToggleFold => self.folded = !self.folded,
            Action::Escape | Action::Back | Action::OpenDetail => self.screen = Screen::Table,
            Action::Pivot(pivot) => return self.pivot(pivot),
            Action::Help => self.screen = Screen::Help,
            _ => {}
        }
        Vec::new()
    }

    /// Lists `policy check` in the picker, after the reports (`--policy FILE`).
    pub fn offer_policy_check(&mut self) {
        let at = self
            .picks
            .iter()
            .take_while(|p| matches!(p, Pick::Report { .. }))
            .count();
        let pick = Pick::Report {
            name: super::worker::POLICY_CHECK,
            about: "what the --policy file would log, leak, miss and cost here",
        };
        self.picks.insert(at, pick);
    }

    fn picker(&mut self, action: Action) -> Vec<Effect> {
        let last = self.picks.len().saturating_sub(1);
        match action {
            Action::Move(n) => self.picked = self.picked.saturating_add_signed(n).min(last),
            Action::Top => self.picked = 0,
            Action::Bottom => self.picked = last,
            Action::Escape | Action::Back | Action::Picker => self.screen = Screen::Table,
            Action::OpenDetail => match self.picks.get(self.picked).cloned() {
                Some(Pick::Saved { name, .. }) => return self.push_query(format!("@{name}")),
                Some(Pick::Report { name, .. }) => {
                    self.screen = Screen::Table;
                    let Some(task) = self.start(&format!("report {name}")) else {
                        return Vec::new();
                    };
                    let scope = self.results.ask.clone();
                    self.report_scope = Some(scope.clone());
                    return vec![Effect::Report { task, name, scope }];
                }
                None => {}
            },
            _ => {}
        }
        Vec::new()
    }

    /// Keys on a report: moving within a table and between tables, and Enter, which
    /// opens the requests behind the row (its drill query) within the report's time
    /// range.
    fn report_keys(&mut self, action: Action) -> Vec<Effect> {
        let Screen::Report(report) = &mut self.screen else {
            return Vec::new();
        };
        let ReportCursor { section, row, .. } = report.at;
        let table = report.view.sections.get(section);
        let last = table.map_or(0, |s| s.rows.len()).saturating_sub(1);
        let last_column = table.map_or(0, |s| s.headers.len()).saturating_sub(1);
        let sections = report.view.sections.len();
        let at = &mut report.at;
        match action {
            Action::Move(n) => at.row = row.saturating_add_signed(n).min(last),
            Action::Top => at.row = 0,
            Action::Bottom => at.row = last,
            Action::Sideways(n) => at.column = at.column.saturating_add_signed(n).min(last_column),
            Action::NextTable(n) => {
                let count = sections.max(1) as isize;
                let next = (section as isize + n).rem_euclid(count) as usize;
                *at = ReportCursor {
                    section: next,
                    ..ReportCursor::default()
                };
            }
            Action::Escape | Action::Back => self.screen = Screen::Table,
            Action::OpenDetail => {
                let drill = table.and_then(|s| s.drill.get(row).cloned().flatten());
                match drill {
                    Some(query) => {
                        // The row counted requests within the report's time range too.
                        let bounds = report.scope.as_ref().map(|s| (s.since, s.until));
                        let mut ask = self.ask(query, self.results.ask.order);
                        if let Some(bounds) = bounds {
                            (ask.since, ask.until) = bounds;
                        }
                        return self.push(ask);
                    }
                    None => self.notice = Some("no requests behind this row".into()),
                }
            }
            Action::Help => self.screen = Screen::Help,
            _ => {}
        }
        Vec::new()
    }

    fn timeline(&mut self, action: Action) -> Vec<Effect> {
        let Screen::Timeline(timeline) = &mut self.screen else {
            return Vec::new();
        };
        let last = timeline.histogram.counts.len().saturating_sub(1);
        match action {
            Action::Sideways(n) | Action::Move(n) => {
                timeline.bucket = timeline.bucket.saturating_add_signed(n).min(last);
            }
            Action::Top => timeline.bucket = 0,
            Action::Bottom => timeline.bucket = last,
            Action::Escape | Action::Back | Action::Timeline => self.screen = Screen::Table,
            Action::OpenDetail if !timeline.histogram.counts.is_empty() => {
                let (from, to) = timeline.histogram.bucket(timeline.bucket);
                let mut ask = self.ask(self.results.ask.query.clone(), self.results.ask.order);
                ask.since = Some(self.results.ask.since.map_or(from, |s| s.max(from)));
                ask.until = Some(self.results.ask.until.map_or(to, |u| u.min(to)));
                ask.history = self.results.ask.history;
                return self.push(ask);
            }
            _ => {}
        }
        Vec::new()
    }

    fn counts_keys(&mut self, action: Action) -> Vec<Effect> {
        match self.counts.step(&action) {
            Step::Stay => {}
            Step::Close => self.screen = Screen::Table,
            Step::Help => self.screen = Screen::Help,
            Step::Count(field) => {
                let Some(task) = self.start(&format!("counting by {}", field.name())) else {
                    return Vec::new();
                };
                return vec![Effect::Counts {
                    task,
                    ask: self.results.ask.clone(),
                    field,
                }];
            }
            Step::Narrow(term) => {
                let query = narrowed(&self.results.ask.query, &term);
                let mut ask = self.ask(query, self.results.ask.order);
                (ask.since, ask.until) = (self.results.ask.since, self.results.ask.until);
                return self.push(ask);
            }
        }
        Vec::new()
    }

    fn pivot(&mut self, pivot: Pivot) -> Vec<Effect> {
        let Some(row) = self.results.selected_row() else {
            return Vec::new();
        };
        let Some(expr) = pivot.query(row) else {
            self.notice = Some("this row has nothing to pivot on".into());
            return Vec::new();
        };
        let history = pivot == Pivot::ObjectHistory;
        let order = if history {
            SortOrder::OldestFirst
        } else {
            self.results.ask.order
        };
        let mut ask = self.ask(expr.to_string(), order);
        ask.history = history;
        self.push(ask)
    }

    /// Keys on the results table: moving (loading pages as needed), opening the
    /// detail, pivots, Back, the order, live mode, and the screens and tasks started
    /// from the hits (picker, counts, timeline, export).
    fn table(&mut self, action: Action) -> Vec<Effect> {
        use Action::*;
        let last = self.results.total.unwrap_or(0).saturating_sub(1) as usize;
        match action {
            FocusQuery => {
                self.screen = Screen::QueryBar;
                self.bar.move_cursor(usize::MAX);
            }
            Help => self.screen = Screen::Help,
            Move(n) => {
                self.results.selected = self.results.selected.saturating_add_signed(n).min(last);
                return self.load_if_missing();
            }
            Top => {
                self.results.selected = 0;
                self.results.new_after = None;
                return self.load_if_missing();
            }
            Bottom => {
                self.results.selected = last;
                return self.load_if_missing();
            }
            ToggleOrder if self.results.ask.history => {
                // Each write is compared with the one before it: history reads forward.
                self.notice = Some("an object's history is oldest first".into());
            }
            ToggleOrder => {
                let order = match self.results.ask.order {
                    SortOrder::NewestFirst => SortOrder::OldestFirst,
                    SortOrder::OldestFirst => SortOrder::NewestFirst,
                };
                let mut ask = self.results.ask.clone();
                ask.generation = self.next();
                ask.order = order;
                return self.run(ask);
            }
            OpenDetail if self.results.selected_row().is_some() => {
                self.screen = Screen::Detail { scroll: 0 };
            }
            Pivot(pivot) => return self.pivot(pivot),
            Back | Escape => return self.back(),
            Picker => self.screen = Screen::Picker,
            CountBy => {
                self.counts.open();
                self.screen = Screen::Counts;
            }
            Timeline => {
                let Some(task) = self.start("timeline") else {
                    return Vec::new();
                };
                return vec![Effect::Histogram {
                    task,
                    ask: self.results.ask.clone(),
                }];
            }
            Live => {
                self.live = !self.live;
                if self.live {
                    self.notice = Some("live: new requests appear at the top".into());
                    self.results.new_after = self.results.rows.first().and_then(|r| r.time);
                    if self.results.ask.order == SortOrder::OldestFirst {
                        return self.table(ToggleOrder);
                    }
                    self.results.selected = 0;
                    return self.load_if_missing();
                }
                self.results.new_after = None;
            }
            Export(format) => {
                let Some(task) = self.start("export") else {
                    return Vec::new();
                };
                return vec![Effect::Export {
                    task,
                    ask: self.results.ask.clone(),
                    format,
                }];
            }
            _ => {}
        }
        Vec::new()
    }
}
