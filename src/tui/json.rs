//! Pretty JSON for the detail view: colored by kind, with big nested bodies folded so
//! the fields an investigator reads first fit on the screen. Strings are JSON-escaped
//! and then sanitized, so nothing from the log reaches the terminal raw.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use serde_json::Value;

use crate::sanitize::for_terminal;

/// Containers this deep (the event is depth 0) are folded to one line.
const FOLD_DEPTH: usize = 4;
/// Keys folded wherever they are: bookkeeping nobody reads during an incident.
const ALWAYS_FOLDED: [&str; 1] = ["managedFields"];

struct Printer {
    lines: Vec<Line<'static>>,
    folded: bool,
    color: bool,
}

impl Printer {
    fn style(&self, style: Style) -> Style {
        if self.color { style } else { Style::new() }
    }

    fn scalar(&self, value: &Value) -> Span<'static> {
        let text = for_terminal(&value.to_string()).into_owned();
        let style = match value {
            Value::String(_) => Style::new().green(),
            Value::Number(_) => Style::new().yellow(),
            Value::Bool(_) | Value::Null => Style::new().magenta(),
            _ => Style::new(),
        };
        Span::styled(text, self.style(style))
    }

    /// Writes `value` starting on a line that already holds `head` (indent and key).
    fn value(
        &mut self,
        head: Vec<Span<'static>>,
        value: &Value,
        depth: usize,
        key: &str,
        comma: bool,
    ) {
        let indent = "  ".repeat(depth);
        let tail = if comma { "," } else { "" };
        let (open, close, len) = match value {
            Value::Object(m) => ("{", "}", m.len()),
            Value::Array(a) => ("[", "]", a.len()),
            scalar => {
                let mut spans = head;
                spans.push(self.scalar(scalar));
                spans.push(Span::raw(tail));
                self.lines.push(Line::from(spans));
                return;
            }
        };
        let fold = self.folded && (depth >= FOLD_DEPTH || ALWAYS_FOLDED.contains(&key));
        if len == 0 || fold {
            let mut spans = head;
            let what = match value {
                Value::Object(_) => "keys",
                _ => "items",
            };
            let body = if len == 0 {
                format!("{open}{close}")
            } else {
                format!("{open}… {len} {what}{close}")
            };
            spans.push(Span::styled(body, self.style(Style::new().dark_gray())));
            spans.push(Span::raw(tail));
            self.lines.push(Line::from(spans));
            return;
        }
        let mut spans = head;
        spans.push(Span::raw(open));
        self.lines.push(Line::from(spans));
        let inner = format!("{indent}  ");
        match value {
            Value::Object(map) => {
                for (i, (k, v)) in map.iter().enumerate() {
                    let name = for_terminal(&Value::from(k.as_str()).to_string()).into_owned();
                    let head = vec![
                        Span::raw(inner.clone()),
                        Span::styled(name, self.style(Style::new().cyan())),
                        Span::raw(": "),
                    ];
                    self.value(head, v, depth + 1, k, i + 1 < map.len());
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    let head = vec![Span::raw(inner.clone())];
                    self.value(head, v, depth + 1, "", i + 1 < items.len());
                }
            }
            _ => unreachable!("scalars returned above"),
        }
        self.lines.push(Line::raw(format!("{indent}{close}{tail}")));
    }
}

/// The lines of `value`, pretty-printed.
pub fn lines(value: &Value, folded: bool, color: bool) -> Vec<Line<'static>> {
    let mut printer = Printer {
        lines: Vec::new(),
        folded,
        color,
    };
    printer.value(Vec::new(), value, 0, "", false);
    printer.lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> String {
        lines
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn pretty_folded_and_escaped() {
        let event = serde_json::json!({
            "verb": "get",
            "user": {"username": "evil\u{1b}[31m\u{202e}"},
            "responseObject": {"metadata": {"managedFields": [{"a": 1}], "labels": {"x": {"y": {"z": 1}}}}},
            "empty": [],
        });
        let folded = text(&lines(&event, true, false));
        assert!(
            folded.contains("\"managedFields\": [… 1 items]"),
            "{folded}"
        );
        assert!(folded.contains("\"x\": {… 1 keys}"), "{folded}");
        assert!(
            folded.contains(r#""username": "evil\u001b[31m\u{202e}""#),
            "{folded}"
        );
        assert!(!folded.contains('\u{1b}') && !folded.contains('\u{202e}'));
        assert!(folded.contains("\"empty\": []"));
        let open = text(&lines(&event, false, false));
        assert!(open.contains("\"z\": 1"), "{open}");
        // Unfolded and clean, it is exactly serde_json's pretty printing.
        let mut clean = event.clone();
        clean["user"]["username"] = "alice".into();
        let printed = text(&lines(&clean, false, false));
        assert_eq!(printed, serde_json::to_string_pretty(&clean).unwrap());
    }
}
