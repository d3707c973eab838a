//! What changes the TUI state: the user's actions and the worker's answers, and the
//! effects the state asks the worker (or the event loop) to carry out.

use crate::query::counts::Counts;
use crate::query::histogram::Histogram;
use crate::query::parse::Field;

use super::reports::ReportView;
use super::rows::Ask;
use super::rows::Pivot;
use crate::output::Row;

/// Buckets asked for in the timeline.
pub const BUCKETS: usize = 60;

/// Export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Ndjson,
    Csv,
}

/// Saved queries and reports, as the picker lists them.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    Saved {
        name: String,
        description: String,
    },
    Report {
        name: &'static str,
        about: &'static str,
    },
}

/// Where the report view is: which table, which row, and the first column shown
/// (reports are wider than terminals; Left/Right scroll them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportCursor {
    pub section: usize,
    pub row: usize,
    pub column: usize,
}

/// A long task off the UI thread (report, timeline, export), with a spinner.
#[derive(Debug, Clone, PartialEq)]
pub struct Busy {
    pub task: u64,
    pub what: String,
}

/// Background ingest as the status line shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ingesting {
    pub bytes: u64,
    pub total: u64,
    pub file: String,
    /// Set when ingest ended: its one-line summary (or error).
    pub finished: Option<String>,
}

/// What the user asked for, and the worker's answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    FocusQuery,
    Insert(char),
    /// Bracketed paste: inserted as text, line breaks as spaces (never run).
    Paste(String),
    Backspace,
    DeleteWord,
    /// Ctrl-U: everything before the cursor.
    ClearLine,
    CursorLeft,
    CursorRight,
    CursorHome,
    CursorEnd,
    HistoryBack,
    HistoryForward,
    Complete,
    Submit,
    /// Esc: leave the query bar, the detail or the help; cancel; else go back a view.
    Escape,
    Move(isize),
    Top,
    Bottom,
    /// Left/Right: the timeline's bucket, or the report's columns.
    Sideways(isize),
    /// Tab: the report's next table.
    NextTable(isize),
    ToggleOrder,
    ToggleFold,
    OpenDetail,
    Pivot(Pivot),
    Back,
    Help,
    Picker,
    Timeline,
    /// `b`: counts of the hits by a field.
    CountBy,
    Live,
    Export(ExportFormat),
    Quit,
    /// Answers of the worker.
    Counted {
        generation: u64,
        total: u64,
    },
    PageLoaded {
        generation: u64,
        first: usize,
        rows: Vec<Row>,
    },
    QueryFailed {
        generation: u64,
        column: Option<usize>,
        message: String,
    },
    /// The index has a new commit: recount and reload what is shown.
    IndexChanged,
    Refreshed {
        generation: u64,
        total: u64,
        first: usize,
        rows: Vec<Row>,
    },
    Completed {
        text: String,
        start: usize,
        end: usize,
        candidates: Vec<String>,
    },
    ReportReady {
        task: u64,
        view: ReportView,
    },
    HistogramReady {
        task: u64,
        histogram: Histogram,
    },
    CountsReady {
        task: u64,
        field: Field,
        counts: Counts,
    },
    /// A task's end worth a line in the status bar (export written, report failed).
    TaskDone {
        task: u64,
        message: String,
    },
    Ingest(Ingesting),
    /// A line for the status bar.
    Notice(String),
}

/// Work for the worker thread.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Count and load the first page.
    Run(Ask),
    LoadPage(Ask, usize),
    /// Recount and reload the page at `first` after the index changed.
    Refresh(Ask, usize),
    Complete {
        text: String,
        cursor: usize,
    },
    Report {
        task: u64,
        name: &'static str,
        scope: Ask,
    },
    Histogram {
        task: u64,
        ask: Ask,
    },
    /// Count the hits of `ask` by `field` (the `counts::LIMIT` largest values).
    Counts {
        task: u64,
        ask: Ask,
        field: Field,
    },
    Export {
        task: u64,
        ask: Ask,
        format: ExportFormat,
    },
    /// Stop this long task if it is still running (an export stops between pages).
    Cancel(u64),
    /// Append a query to the saved history.
    Remember(String),
    Quit,
}
