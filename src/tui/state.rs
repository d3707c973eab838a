//! The TUI's state and what changes it, as plain data: no terminal, no threads, no
//! index. Keys become `Action`s; `State::update` applies one and returns the `Effect`s
//! (queries, page loads) for the worker to run; their answers come back as actions
//! carrying the generation they were asked for, so answers to a query the user has
//! since replaced are dropped. Everything here is testable without a terminal.

use crate::query::SortOrder;
use crate::query::parse::{Expr, Field, Value};

/// Rows asked for in one page load.
pub const PAGE: usize = 200;

/// What one results row shows and pivots from (already derived from the stored event).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowSummary {
    /// The actor column: user, or ServiceAccount and pod; `X as Y` when impersonating.
    pub actor: String,
    /// The redacted event JSON, for the detail view.
    pub event: String,
    /// `resource[/sub]` and `ns/name`, as `model::Request` derives them.
    pub resource_path: Option<String>,
    pub object_path: Option<String>,
    pub audit_id: Option<String>,
    /// Microseconds since the epoch.
    pub time: Option<i64>,
    pub user: Option<String>,
    pub service_account: Option<String>,
    pub pod: Option<String>,
    pub verb: Option<String>,
    pub resource: Option<String>,
    pub subresource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub code: Option<u64>,
    pub decision: Option<String>,
    pub source_ip: Option<String>,
}

/// A new query from the selected row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pivot {
    SameActor,
    SameObject,
    SamePod,
    SameSourceIp,
    SameServiceAccount,
}

impl Pivot {
    /// The query for rows like `row`, or None when the row lacks what the pivot needs.
    pub fn query(self, row: &RowSummary) -> Option<Expr> {
        let exact = |field, value: &Option<String>| {
            value
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| Expr::Field(field, Value::Exact(v.clone())))
        };
        match self {
            // A ServiceAccount's requests are one actor even across its pods.
            Pivot::SameActor => exact(Field::User, &row.user),
            Pivot::SamePod => exact(Field::Pod, &row.pod),
            Pivot::SameSourceIp => exact(Field::SourceIp, &row.source_ip),
            Pivot::SameServiceAccount => exact(Field::ServiceAccount, &row.service_account),
            Pivot::SameObject => {
                let mut parts = vec![exact(Field::Resource, &row.resource)?];
                parts.extend(exact(Field::Namespace, &row.namespace));
                parts.push(exact(Field::Name, &row.name)?);
                Some(Expr::And(parts))
            }
        }
    }
}

/// Where keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Table,
    QueryBar,
    Detail,
    Help,
}

/// The query being typed, with its history.
#[derive(Debug, Clone, Default)]
pub struct QueryBar {
    pub text: String,
    /// Cursor position in characters.
    pub cursor: usize,
    /// Earlier queries, oldest first (kept across runs by the caller).
    pub history: Vec<String>,
    /// Position while walking the history with Up/Down.
    browsing: Option<usize>,
    /// A syntax error: column (characters) and message; the text stays as typed.
    pub error: Option<(usize, String)>,
}

impl QueryBar {
    fn byte_index(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    fn insert(&mut self, c: char) {
        let at = self.byte_index(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
        self.error = None;
    }

    fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let at = self.byte_index(self.cursor);
            self.text.remove(at);
            self.error = None;
        }
    }

    fn set(&mut self, text: String) {
        self.cursor = text.chars().count();
        self.text = text;
        self.error = None;
    }

    fn history_step(&mut self, back: bool) {
        if self.history.is_empty() {
            return;
        }
        let last = self.history.len() - 1;
        let next = match (self.browsing, back) {
            (None, true) => Some(last),
            (None, false) => None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i < last => Some(i + 1),
            (Some(_), false) => None,
        };
        self.browsing = next;
        let text = next.map_or_else(String::new, |i| self.history[i].clone());
        self.set(text);
    }

    fn remember(&mut self, text: &str) {
        self.browsing = None;
        if !text.is_empty() && self.history.last().map(String::as_str) != Some(text) {
            self.history.push(text.to_string());
        }
    }
}

/// One query's results: a window onto hits paged from the index, never all of them.
#[derive(Debug, Clone)]
pub struct Results {
    pub query: String,
    pub order: SortOrder,
    /// Asked of the worker; answers for another generation are stale.
    pub generation: u64,
    /// None until counted.
    pub total: Option<u64>,
    /// Loaded rows: `rows[i]` is hit `first + i`.
    pub first: usize,
    pub rows: Vec<RowSummary>,
    pub selected: usize,
}

impl Results {
    fn new(query: String, order: SortOrder, generation: u64) -> Results {
        Results {
            query,
            order,
            generation,
            total: None,
            first: 0,
            rows: Vec::new(),
            selected: 0,
        }
    }

    pub fn selected_row(&self) -> Option<&RowSummary> {
        self.selected
            .checked_sub(self.first)
            .and_then(|i| self.rows.get(i))
    }

    /// The page to load so that the selected hit is in memory, if it is not.
    fn missing_page(&self) -> Option<usize> {
        let loaded = self.first..self.first + self.rows.len();
        (!loaded.contains(&self.selected)).then(|| self.selected / PAGE * PAGE)
    }
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    FocusQuery,
    Insert(char),
    Backspace,
    CursorLeft,
    CursorRight,
    HistoryBack,
    HistoryForward,
    Submit,
    /// Esc: leave the query bar, the detail or the help; else go back a view.
    Escape,
    Move(isize),
    Top,
    Bottom,
    ToggleOrder,
    OpenDetail,
    Pivot(Pivot),
    Back,
    Help,
    Quit,
    /// Answers of the worker.
    Counted {
        generation: u64,
        total: u64,
    },
    PageLoaded {
        generation: u64,
        first: usize,
        rows: Vec<RowSummary>,
    },
    QueryFailed {
        generation: u64,
        column: Option<usize>,
        message: String,
    },
}

/// Work for the worker thread.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Count and load the first page of `query`.
    Run {
        generation: u64,
        query: String,
        order: SortOrder,
    },
    LoadPage {
        generation: u64,
        query: String,
        order: SortOrder,
        first: usize,
    },
    Quit,
}

/// The whole TUI state.
#[derive(Debug, Clone)]
pub struct State {
    pub focus: Focus,
    pub bar: QueryBar,
    pub results: Results,
    /// Earlier views (query and position), for Back.
    pub back: Vec<Results>,
    next_generation: u64,
    /// Scroll position in the detail view.
    pub detail_scroll: usize,
}

impl State {
    /// A state that starts by running `query`; run the returned effects.
    pub fn new(query: &str, history: Vec<String>) -> (State, Vec<Effect>) {
        let mut state = State {
            focus: Focus::Table,
            bar: QueryBar {
                history,
                ..QueryBar::default()
            },
            results: Results::new(String::new(), SortOrder::NewestFirst, 0),
            back: Vec::new(),
            next_generation: 1,
            detail_scroll: 0,
        };
        state.bar.set(query.to_string());
        let effects = state.run(query.to_string(), SortOrder::NewestFirst);
        (state, effects)
    }

    fn run(&mut self, query: String, order: SortOrder) -> Vec<Effect> {
        let generation = self.next_generation;
        self.next_generation += 1;
        self.results = Results::new(query.clone(), order, generation);
        vec![Effect::Run {
            generation,
            query,
            order,
        }]
    }

    /// Runs a new query, keeping the current view for Back.
    fn push(&mut self, query: String) -> Vec<Effect> {
        let order = self.results.order;
        let previous = self.results.clone();
        self.back.push(previous);
        self.bar.set(query.clone());
        self.focus = Focus::Table;
        self.run(query, order)
    }

    fn back(&mut self) -> Vec<Effect> {
        match self.back.pop() {
            Some(previous) => {
                self.bar.set(previous.query.clone());
                self.results = previous;
                // Its rows are still loaded; a fresh generation would only reload them.
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    fn load_if_missing(&self) -> Vec<Effect> {
        let r = &self.results;
        match (r.total, r.missing_page()) {
            (Some(_), Some(first)) => vec![Effect::LoadPage {
                generation: r.generation,
                query: r.query.clone(),
                order: r.order,
                first,
            }],
            _ => Vec::new(),
        }
    }

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        use Action::*;
        match (self.focus, action) {
            (_, Quit) => vec![Effect::Quit],
            (_, Counted { generation, total }) if generation == self.results.generation => {
                self.results.total = Some(total);
                Vec::new()
            }
            (
                _,
                PageLoaded {
                    generation,
                    first,
                    rows,
                },
            ) if generation == self.results.generation => {
                self.results.first = first;
                self.results.rows = rows;
                Vec::new()
            }
            (
                _,
                QueryFailed {
                    generation,
                    column,
                    message,
                },
            ) if generation == self.results.generation => {
                self.bar.error = Some((column.unwrap_or(0), message));
                self.focus = Focus::QueryBar;
                Vec::new()
            }
            // Answers to a query since replaced.
            (_, Counted { .. } | PageLoaded { .. } | QueryFailed { .. }) => Vec::new(),

            (Focus::QueryBar, Insert(c)) => {
                self.bar.insert(c);
                Vec::new()
            }
            (Focus::QueryBar, Backspace) => {
                self.bar.backspace();
                Vec::new()
            }
            (Focus::QueryBar, CursorLeft) => {
                self.bar.cursor = self.bar.cursor.saturating_sub(1);
                Vec::new()
            }
            (Focus::QueryBar, CursorRight) => {
                self.bar.cursor = (self.bar.cursor + 1).min(self.bar.text.chars().count());
                Vec::new()
            }
            (Focus::QueryBar, HistoryBack) => {
                self.bar.history_step(true);
                Vec::new()
            }
            (Focus::QueryBar, HistoryForward) => {
                self.bar.history_step(false);
                Vec::new()
            }
            (Focus::QueryBar, Submit) => {
                let text = self.bar.text.clone();
                self.bar.remember(&text);
                self.push(text)
            }
            (Focus::QueryBar | Focus::Detail | Focus::Help, Escape) => {
                self.focus = Focus::Table;
                Vec::new()
            }
            (Focus::QueryBar, _) => Vec::new(),

            (Focus::Detail, Move(n)) => {
                self.detail_scroll = self.detail_scroll.saturating_add_signed(n);
                Vec::new()
            }
            (Focus::Detail, Top) => {
                self.detail_scroll = 0;
                Vec::new()
            }

            (_, FocusQuery) => {
                self.focus = Focus::QueryBar;
                Vec::new()
            }
            (_, Help) => {
                self.focus = Focus::Help;
                Vec::new()
            }
            (Focus::Table, Move(n)) => {
                let last = self.results.total.unwrap_or(0).saturating_sub(1) as usize;
                self.results.selected = self.results.selected.saturating_add_signed(n).min(last);
                self.load_if_missing()
            }
            (Focus::Table, Top) => {
                self.results.selected = 0;
                self.load_if_missing()
            }
            (Focus::Table, Bottom) => {
                self.results.selected = self.results.total.unwrap_or(0).saturating_sub(1) as usize;
                self.load_if_missing()
            }
            (Focus::Table, ToggleOrder) => {
                let order = match self.results.order {
                    SortOrder::NewestFirst => SortOrder::OldestFirst,
                    SortOrder::OldestFirst => SortOrder::NewestFirst,
                };
                let query = self.results.query.clone();
                self.run(query, order)
            }
            (Focus::Table, OpenDetail) if self.results.selected_row().is_some() => {
                self.focus = Focus::Detail;
                self.detail_scroll = 0;
                Vec::new()
            }
            (Focus::Table | Focus::Detail, Pivot(pivot)) => {
                let query = self.results.selected_row().and_then(|row| pivot.query(row));
                match query {
                    Some(expr) => self.push(expr.to_string()),
                    None => Vec::new(),
                }
            }
            (Focus::Table, Back | Escape) => self.back(),
            _ => Vec::new(),
        }
    }
}
