//! Counts by field in the TUI (`b`): a list of the fields that can be counted, then the
//! values of the chosen one among the current hits, largest first, as `kaudit query
//! --by FIELD` counts them (from columns, on the worker). Enter on a value narrows the
//! query to it. Plain data: no terminal, no index.

use crate::query::counts::{Counts, Key, countable};
use crate::query::parse::{self, Expr, Field};

use super::actions::Action;

/// Values asked for: the list is for reading, not a million `auditid`s.
pub const LIMIT: usize = 500;

/// The view: the field list, and the counted values once they came.
#[derive(Debug, Clone, PartialEq)]
pub struct CountsView {
    pub fields: Vec<Field>,
    /// The field under the cursor in the list (kept between openings).
    pub picked: usize,
    pub values: Option<Values>,
}

/// The values of one field among the hits.
#[derive(Debug, Clone, PartialEq)]
pub struct Values {
    pub field: Field,
    /// Largest first; `None` counts the hits without the field.
    pub rows: Vec<(Option<Key>, u64)>,
    pub selected: usize,
    /// Distinct values among the hits (more than `rows` when cut at `LIMIT`).
    pub keys: usize,
    /// The hits counted.
    pub requests: u64,
}

impl Values {
    pub fn of(field: Field, counts: Counts) -> Values {
        Values {
            field,
            rows: counts
                .rows
                .into_iter()
                .map(|mut r| (r.values.pop().flatten(), r.count))
                .collect(),
            selected: 0,
            keys: counts.keys,
            requests: counts.requests,
        }
    }
}

/// What an action in the view asks of the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Stay,
    Close,
    Help,
    /// Count the hits by this field.
    Count(Field),
    /// Narrow the query with this term.
    Narrow(Expr),
}

impl Default for CountsView {
    fn default() -> Self {
        CountsView {
            fields: countable(),
            picked: 0,
            values: None,
        }
    }
}

impl CountsView {
    /// Opens on the field list.
    pub fn open(&mut self) {
        self.values = None;
    }

    pub fn step(&mut self, action: &Action) -> Step {
        let (at, len) = match &mut self.values {
            Some(v) => (&mut v.selected, v.rows.len()),
            None => (&mut self.picked, self.fields.len()),
        };
        let last = len.saturating_sub(1);
        match action {
            Action::Move(n) => *at = at.saturating_add_signed(*n).min(last),
            Action::Top => *at = 0,
            Action::Bottom => *at = last,
            Action::Help => return Step::Help,
            Action::Escape => return Step::Close,
            // Backspace and `b` again: from the values back to the fields, then out.
            Action::Back | Action::CountBy => match self.values.take() {
                Some(_) => {}
                None => return Step::Close,
            },
            Action::OpenDetail => {
                return match &self.values {
                    None => self
                        .fields
                        .get(self.picked)
                        .map_or(Step::Stay, |&f| Step::Count(f)),
                    Some(v) => v.rows.get(v.selected).map_or(Step::Stay, |(key, _)| {
                        Step::Narrow(Key::term(v.field, key.as_ref()))
                    }),
                };
            }
            _ => {}
        }
        Step::Stay
    }
}

/// What the field list says of a field.
pub fn about(field: Field) -> &'static str {
    match field {
        // Counted whole; a narrowed query matches its words (as a phrase).
        Field::UserAgent => "the whole user agent (Enter narrows by its words, as ua: does)",
        _ => field.describe(),
    }
}

/// `query` narrowed by `term`: ANDed to it, the query in parentheses when its top level
/// is an OR (`a OR b` then `x` must not read `a OR (b x)`).
pub fn narrowed(query: &str, term: &Expr) -> String {
    let query = query.trim();
    if query.is_empty() {
        return term.to_string();
    }
    // Only the shape matters: a saved query is one term, whatever it holds.
    let shape = parse::parse(query, &|_| Some("x".to_string()));
    match shape {
        Ok(Expr::Or(_)) | Err(_) => format!("({query}) {term}"),
        Ok(_) => format!("{query} {term}"),
    }
}
