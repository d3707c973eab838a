//! Which screen the TUI shows, each variant carrying what only that screen needs, so
//! a report's cursor cannot outlive its report nor a timeline's bucket its histogram.
//! What outlives a visit stays in `State`: the picker's and the counts' cursors (they
//! reopen where they were) and whether the detail folds big bodies (a preference).

use crate::query::histogram::Histogram;

use super::actions::ReportCursor;
use super::reports::ReportView;
use super::rows::Ask;

/// Where keys go: the screen without its data (what `keys` and `rows` need to know).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Table,
    QueryBar,
    Detail,
    Help,
    /// The list of saved queries and reports (`s`).
    Picker,
    Report,
    Timeline,
    /// Counts of the hits by a field (`b`): the fields, then a field's values.
    Counts,
}

/// The screen on show.
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Table,
    QueryBar,
    /// One request; `scroll` is its first line on screen.
    Detail {
        scroll: usize,
    },
    Help,
    Picker,
    Report(Box<ReportScreen>),
    Timeline(TimelineScreen),
    Counts,
}

/// A finished report, where its cursor is, and the view it was run within.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportScreen {
    pub view: ReportView,
    pub at: ReportCursor,
    /// The query and time range the report was run within: its drills keep them.
    pub scope: Option<Ask>,
}

/// Hits over time, and the bucket chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineScreen {
    pub histogram: Histogram,
    pub bucket: usize,
}

impl Screen {
    pub fn focus(&self) -> Focus {
        match self {
            Screen::Table => Focus::Table,
            Screen::QueryBar => Focus::QueryBar,
            Screen::Detail { .. } => Focus::Detail,
            Screen::Help => Focus::Help,
            Screen::Picker => Focus::Picker,
            Screen::Report(_) => Focus::Report,
            Screen::Timeline(_) => Focus::Timeline,
            Screen::Counts => Focus::Counts,
        }
    }

    /// Screens that Back returns to when a query was opened from them.
    pub fn returns_from_query(&self) -> bool {
        matches!(
            self,
            Screen::Report(_) | Screen::Timeline(_) | Screen::Picker | Screen::Counts
        )
    }
}
