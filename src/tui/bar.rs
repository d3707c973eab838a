//! The query bar: the text being typed, its cursor, history, syntax error and Tab
//! completion. Plain data, edited by `State::update`.

use super::complete::common_prefix;

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
    /// Candidates of the last Tab, shown under the bar; the next Tab cycles them.
    pub completion: Option<Completing>,
}

/// An offered completion: what it replaces and which candidate is inserted.
#[derive(Debug, Clone, PartialEq)]
pub struct Completing {
    /// Character range of the text the candidates replace.
    pub start: usize,
    pub end: usize,
    pub candidates: Vec<String>,
    /// The candidate in the text now, once Tab cycles through them.
    pub chosen: Option<usize>,
}

impl QueryBar {
    pub fn with_history(history: Vec<String>) -> QueryBar {
        QueryBar {
            history,
            ..QueryBar::default()
        }
    }

    fn byte_index(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    fn edited(&mut self) {
        self.error = None;
        self.completion = None;
    }

    pub(super) fn insert(&mut self, c: char) {
        // A pasted newline or control character would make a query nobody can see.
        if c.is_control() {
            return;
        }
        let at = self.byte_index(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
        self.edited();
    }

    pub(super) fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let at = self.byte_index(self.cursor);
            self.text.remove(at);
            self.edited();
        }
    }

    /// Ctrl-W: the word before the cursor.
    pub(super) fn delete_word(&mut self) {
        let chars: Vec<char> = self.text.chars().collect();
        let mut start = self.cursor;
        while start > 0 && chars[start - 1] == ' ' {
            start -= 1;
        }
        while start > 0 && chars[start - 1] != ' ' {
            start -= 1;
        }
        self.replace(start, self.cursor, "");
    }

    pub(super) fn clear_before_cursor(&mut self) {
        self.replace(0, self.cursor, "");
    }

    pub(super) fn move_cursor(&mut self, to: usize) {
        self.cursor = to.min(self.text.chars().count());
        self.completion = None;
    }

    pub(super) fn set(&mut self, text: String) {
        self.cursor = text.chars().count();
        self.text = text;
        self.edited();
    }

    /// Replaces characters `start..end` with `with`, leaving the cursor after it.
    fn replace(&mut self, start: usize, end: usize, with: &str) {
        let (a, b) = (self.byte_index(start), self.byte_index(end));
        self.text.replace_range(a..b, with);
        self.cursor = start + with.chars().count();
        self.edited();
    }

    pub(super) fn history_step(&mut self, back: bool) {
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

    /// Adds a submitted query to the history; true when it is new there.
    pub(super) fn remember(&mut self, text: &str) -> bool {
        self.browsing = None;
        let new = !text.trim().is_empty() && self.history.last().map(String::as_str) != Some(text);
        if new {
            self.history.push(text.to_string());
        }
        new
    }

    /// Tab with candidates already offered: put the next one in the text.
    /// Returns false when there is nothing to cycle (ask the worker instead).
    pub(super) fn cycle_completion(&mut self) -> bool {
        let Some(mut c) = self.completion.take() else {
            return false;
        };
        if c.candidates.len() < 2 {
            return false;
        }
        let next = c.chosen.map_or(0, |i| (i + 1) % c.candidates.len());
        let candidate = c.candidates[next].clone();
        self.replace(c.start, c.end, &candidate);
        c.end = c.start + candidate.chars().count();
        c.chosen = Some(next);
        self.completion = Some(c);
        true
    }

    /// The worker's candidates for the text as it was at `cursor`: one is inserted;
    /// several insert their common prefix and are listed for the next Tab.
    pub(super) fn offer(&mut self, text: &str, start: usize, end: usize, candidates: Vec<String>) {
        if text != self.text {
            return; // typed on since: stale
        }
        match candidates.as_slice() {
            [] => {
                self.completion = Some(Completing {
                    start,
                    end,
                    candidates,
                    chosen: None,
                });
            }
            [one] => {
                let one = one.clone();
                self.replace(start, end, &one);
            }
            _ => {
                let prefix = common_prefix(&candidates);
                let typed: String = self.text.chars().skip(start).take(end - start).collect();
                let mut end = end;
                if prefix.chars().count() > typed.chars().count() {
                    self.replace(start, end, &prefix);
                    end = start + prefix.chars().count();
                }
                self.completion = Some(Completing {
                    start,
                    end,
                    candidates,
                    chosen: None,
                });
            }
        }
    }
}
