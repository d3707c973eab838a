//! Keys and mouse to actions. The mapping depends on where the keys go: in the query
//! bar letters are text, elsewhere they are commands. `view::KEYS` lists the same
//! bindings for the help screen; a test keeps the two in step.

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};

use super::state::{Action, ExportFormat, Focus, Pivot};

/// The action for a terminal event, if any. `page` is how many rows a page moves.
pub fn action(event: &Event, focus: Focus, page: isize) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key_action(key, focus, page),
        Event::Mouse(mouse) => mouse_action(mouse),
        Event::Paste(text) if focus == Focus::QueryBar => Some(Action::Paste(text.clone())),
        _ => None,
    }
}

fn mouse_action(mouse: &MouseEvent) -> Option<Action> {
    match mouse.kind {
        MouseEventKind::ScrollDown => Some(Action::Move(3)),
        MouseEventKind::ScrollUp => Some(Action::Move(-3)),
        _ => None,
    }
}

/// The action a key asks for on the screen in focus: Ctrl chords first (quit, the query
/// bar's line editing, half-page moves), then the keys that mean the same everywhere
/// (Esc, Enter, paging, arrows), then each screen's own; None for a key that does
/// nothing there.
fn key_action(key: &KeyEvent, focus: Focus, page: isize) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Quit),
            KeyCode::Char('w') if focus == Focus::QueryBar => Some(Action::DeleteWord),
            KeyCode::Char('u') if focus == Focus::QueryBar => Some(Action::ClearLine),
            KeyCode::Char('a') if focus == Focus::QueryBar => Some(Action::CursorHome),
            KeyCode::Char('e') if focus == Focus::QueryBar => Some(Action::CursorEnd),
            KeyCode::Char('d') => Some(Action::Move(page / 2)),
            KeyCode::Char('u') => Some(Action::Move(-page / 2)),
            _ => None,
        };
    }
    // Keys that mean the same everywhere.
    let common = match key.code {
        KeyCode::Esc => Some(Action::Escape),
        KeyCode::Enter => Some(if focus == Focus::QueryBar {
            Action::Submit
        } else {
            Action::OpenDetail
        }),
        KeyCode::PageDown => Some(Action::Move(page)),
        KeyCode::PageUp => Some(Action::Move(-page)),
        KeyCode::Left => Some(if focus == Focus::QueryBar {
            Action::CursorLeft
        } else {
            Action::Sideways(-1)
        }),
        KeyCode::Right => Some(if focus == Focus::QueryBar {
            Action::CursorRight
        } else {
            Action::Sideways(1)
        }),
        _ => None,
    };
    if common.is_some() {
        return common;
    }
    if focus == Focus::QueryBar {
        return match key.code {
            KeyCode::Char(c) => Some(Action::Insert(c)),
            KeyCode::Backspace => Some(Action::Backspace),
            KeyCode::Up => Some(Action::HistoryBack),
            KeyCode::Down => Some(Action::HistoryForward),
            KeyCode::Home => Some(Action::CursorHome),
            KeyCode::End => Some(Action::CursorEnd),
            KeyCode::Tab => Some(Action::Complete),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char('j') | KeyCode::Down => Action::Move(1),
        KeyCode::Char('k') | KeyCode::Up => Action::Move(-1),
        KeyCode::Char('h') => Action::Sideways(-1),
        KeyCode::Char('l') => Action::Sideways(1),
        KeyCode::Char('g') | KeyCode::Home => Action::Top,
        KeyCode::Char('G') | KeyCode::End => Action::Bottom,
        KeyCode::Tab => Action::NextTable(1),
        KeyCode::BackTab => Action::NextTable(-1),
        KeyCode::Char('/') => Action::FocusQuery,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Backspace => Action::Back,
        KeyCode::Char('r') => Action::ToggleOrder,
        KeyCode::Char('z') => Action::ToggleFold,
        KeyCode::Char('a') => Action::Pivot(Pivot::SameActor),
        KeyCode::Char('o') => Action::Pivot(Pivot::SameObject),
        KeyCode::Char('p') => Action::Pivot(Pivot::SamePod),
        KeyCode::Char('i') => Action::Pivot(Pivot::SameSourceIp),
        KeyCode::Char('w') => Action::Pivot(Pivot::SameServiceAccount),
        KeyCode::Char('H') => Action::Pivot(Pivot::ObjectHistory),
        KeyCode::Char('t') => Action::Timeline,
        KeyCode::Char('b') => Action::CountBy,
        KeyCode::Char('s') => Action::Picker,
        KeyCode::Char('f') => Action::Live,
        KeyCode::Char('e') => Action::Export(ExportFormat::Ndjson),
        KeyCode::Char('E') => Action::Export(ExportFormat::Csv),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, focus: Focus) -> Option<Action> {
        action(&Event::Key(KeyEvent::from(code)), focus, 20)
    }

    #[test]
    fn letters_are_text_in_the_bar_and_commands_elsewhere() {
        assert_eq!(
            press(KeyCode::Char('q'), Focus::QueryBar),
            Some(Action::Insert('q'))
        );
        assert_eq!(press(KeyCode::Char('q'), Focus::Table), Some(Action::Quit));
        assert_eq!(press(KeyCode::Enter, Focus::QueryBar), Some(Action::Submit));
        assert_eq!(
            press(KeyCode::Enter, Focus::Table),
            Some(Action::OpenDetail)
        );
        assert_eq!(
            press(KeyCode::PageDown, Focus::Table),
            Some(Action::Move(20))
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            action(&Event::Key(ctrl_c), Focus::QueryBar, 20),
            Some(Action::Quit)
        );
    }

    #[test]
    fn every_key_on_the_help_screen_does_something() {
        for (keys, what) in super::super::view::KEYS {
            let letters = keys
                .split(' ')
                .filter(|k| k.len() == 1 && k.chars().all(|c| c.is_ascii_graphic()));
            for key in letters {
                let c = key.chars().next().unwrap();
                let focus = if c == '/' {
                    Focus::Table
                } else {
                    Focus::Detail
                };
                assert!(
                    press(KeyCode::Char(c), focus).is_some(),
                    "{key:?} ({what}) is listed but not bound"
                );
            }
        }
    }
}
