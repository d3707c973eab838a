//! The TUI state driven by actions, as the key handler and the worker will drive it.

use super::state::*;
use crate::query::SortOrder;

fn row(n: usize) -> RowSummary {
    RowSummary {
        audit_id: Some(format!("id-{n}")),
        user: Some("system:serviceaccount:payments:report-runner".into()),
        service_account: Some("payments/report-runner".into()),
        pod: Some("payments/report-runner-7d4f9c-x2x9q".into()),
        verb: Some("get".into()),
        resource: Some("secrets".into()),
        namespace: Some("payments".into()),
        name: Some("db-password".into()),
        source_ip: Some("10.244.2.47".into()),
        resource_path: Some("secrets".into()),
        object_path: Some("payments/db-password".into()),
        ..RowSummary::default()
    }
}

/// A state whose first query found `total` hits, with its first page loaded.
fn loaded(total: u64) -> State {
    let (mut state, effects) = State::new("resource:secrets", Vec::new());
    assert_eq!(
        effects,
        [Effect::Run {
            generation: 1,
            query: "resource:secrets".into(),
            order: SortOrder::NewestFirst
        }]
    );
    state.update(Action::Counted {
        generation: 1,
        total,
    });
    let rows = (0..PAGE.min(total as usize)).map(row).collect();
    state.update(Action::PageLoaded {
        generation: 1,
        first: 0,
        rows,
    });
    state
}

fn type_text(state: &mut State, text: &str) {
    for c in text.chars() {
        state.update(Action::Insert(c));
    }
}

#[test]
fn moving_past_the_loaded_page_asks_for_the_page_and_stops_at_the_last_hit() {
    let mut state = loaded(1_000_000);
    assert!(
        state.update(Action::Move(10)).is_empty(),
        "page 0 is loaded"
    );
    let effects = state.update(Action::Move(PAGE as isize));
    assert_eq!(
        effects,
        [Effect::LoadPage {
            generation: 1,
            query: "resource:secrets".into(),
            order: SortOrder::NewestFirst,
            first: PAGE
        }]
    );
    state.update(Action::Bottom);
    assert_eq!(state.results.selected, 999_999);
    state.update(Action::Move(5));
    assert_eq!(state.results.selected, 999_999, "clamped at the last hit");
    state.update(Action::Top);
    assert_eq!(state.results.selected, 0);
    assert_eq!(state.results.selected_row(), Some(&row(0)));
}

#[test]
fn answers_to_a_replaced_query_are_dropped() {
    let mut state = loaded(3);
    state.update(Action::FocusQuery);
    type_text(&mut state, " verb:get");
    let effects = state.update(Action::Submit);
    assert!(matches!(effects[..], [Effect::Run { generation: 2, .. }]));
    state.update(Action::Counted {
        generation: 1,
        total: 99,
    });
    state.update(Action::PageLoaded {
        generation: 1,
        first: 0,
        rows: vec![row(7)],
    });
    assert_eq!(state.results.total, None);
    assert!(state.results.rows.is_empty());
    state.update(Action::Counted {
        generation: 2,
        total: 1,
    });
    assert_eq!(state.results.total, Some(1));
}

#[test]
fn the_query_bar_edits_keeps_history_and_shows_errors_without_losing_text() {
    let (mut state, _) = State::new("", vec!["verb:get".into(), "ns:a".into()]);
    state.update(Action::FocusQuery);
    type_text(&mut state, "naïve");
    state.update(Action::CursorLeft);
    state.update(Action::Backspace);
    assert_eq!(state.bar.text, "naïe");
    state.update(Action::Insert('v'));
    assert_eq!((state.bar.text.as_str(), state.bar.cursor), ("naïve", 4));

    state.update(Action::HistoryBack);
    assert_eq!(state.bar.text, "ns:a");
    state.update(Action::HistoryBack);
    state.update(Action::HistoryBack);
    assert_eq!(state.bar.text, "verb:get", "stops at the oldest");
    state.update(Action::HistoryForward);
    state.update(Action::HistoryForward);
    assert_eq!(state.bar.text, "", "past the newest: an empty line");

    type_text(&mut state, "user:(");
    let effects = state.update(Action::Submit);
    let Effect::Run { generation, .. } = effects[0] else {
        panic!("{effects:?}")
    };
    assert_eq!(state.bar.history.last().unwrap(), "user:(");
    state.update(Action::QueryFailed {
        generation,
        column: Some(5),
        message: "expected a value".into(),
    });
    assert_eq!(state.focus, Focus::QueryBar);
    assert_eq!(state.bar.text, "user:(");
    assert_eq!(state.bar.error, Some((5, "expected a value".into())));
    state.update(Action::Backspace);
    assert_eq!(state.bar.error, None, "editing clears the error");
    state.update(Action::Escape);
    assert_eq!(state.focus, Focus::Table);
}

#[test]
fn pivots_push_queries_that_parse_back_and_back_returns_where_you_were() {
    let mut state = loaded(500);
    state.update(Action::Move(3));
    let cases = [
        (
            Pivot::SameObject,
            "resource:secrets ns:payments name:db-password",
        ),
        (Pivot::SameServiceAccount, "sa:payments/report-runner"),
        (Pivot::SamePod, "pod:payments/report-runner-7d4f9c-x2x9q"),
        (Pivot::SameSourceIp, "ip:10.244.2.47"),
    ];
    for (pivot, expected) in cases {
        let effects = state.update(Action::Pivot(pivot));
        let [Effect::Run { query, .. }] = &effects[..] else {
            panic!("{effects:?}")
        };
        assert_eq!(query, expected);
        let parsed = crate::query::parse::parse(query, &|_| None).unwrap();
        assert_eq!(Some(parsed), pivot.query(&row(3)), "{query}");
        state.update(Action::Back);
        assert_eq!(state.results.selected, 3, "back where we left");
        assert_eq!(state.bar.text, "resource:secrets");
    }
    // A user name with colons survives the round trip.
    let actor = Pivot::SameActor.query(&row(3)).unwrap();
    let text = actor.to_string();
    assert_eq!(crate::query::parse::parse(&text, &|_| None).unwrap(), actor);
    // Nothing to pivot on: no query.
    assert_eq!(Pivot::SamePod.query(&RowSummary::default()), None);
}

#[test]
fn detail_help_order_and_quit() {
    let mut state = loaded(2);
    state.update(Action::OpenDetail);
    assert_eq!(state.focus, Focus::Detail);
    state.update(Action::Move(4));
    assert_eq!(state.detail_scroll, 4);
    state.update(Action::Escape);
    assert_eq!((state.focus, state.results.selected), (Focus::Table, 0));
    state.update(Action::Help);
    assert_eq!(state.focus, Focus::Help);
    state.update(Action::Escape);
    let effects = state.update(Action::ToggleOrder);
    assert!(matches!(
        effects[..],
        [Effect::Run {
            order: SortOrder::OldestFirst,
            generation: 2,
            ..
        }]
    ));
    assert_eq!(state.update(Action::Quit), [Effect::Quit]);
}

mod screens {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::tui::view::{Theme, draw};

    fn screen(state: &State, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| draw(frame, state, Theme { color: false }))
            .unwrap();
        terminal.backend().to_string()
    }

    fn story() -> State {
        let mut state = loaded(3);
        let mut rows: Vec<RowSummary> = (0..3).map(row).collect();
        rows[0].actor = "sa:payments/report-runner pod:report-runner-7d4f9c-x2x9q".into();
        rows[0].time = Some(1_795_169_126_214_119);
        rows[0].code = Some(200);
        rows[0].decision = Some("allow".into());
        rows[1].actor = "kube-scan/0.3 \u{1b}[31mevil".into();
        rows[1].code = Some(403);
        rows[1].decision = Some("forbid".into());
        rows[2].actor = "bob@example.com".into();
        rows[2].verb = Some("create".into());
        rows[2].resource = Some("pods".into());
        rows[2].subresource = Some("exec".into());
        rows[2].name = Some("report-runner-7d4f9c-x2x9q".into());
        rows[2].resource_path = Some("pods/exec".into());
        rows[2].object_path = Some("payments/report-runner-7d4f9c-x2x9q".into());
        rows[0].event =
            r#"{"auditID":"id-0","verb":"get","objectRef":{"resource":"secrets"}}"#.into();
        state.update(Action::PageLoaded {
            generation: 1,
            first: 0,
            rows,
        });
        state
    }

    #[test]
    fn table_at_80x24_and_160x48() {
        let mut state = story();
        state.update(Action::Move(1));
        let narrow = screen(&state, 80, 24);
        assert!(!narrow.contains('\u{1b}'), "escapes are drawn as text");
        insta::assert_snapshot!("table_80x24", narrow);
        insta::assert_snapshot!("table_160x48", screen(&state, 160, 48));
    }

    #[test]
    fn detail_help_and_error() {
        let mut state = story();
        state.update(Action::OpenDetail);
        insta::assert_snapshot!("detail_80x24", screen(&state, 80, 24));
        state.update(Action::Escape);
        state.update(Action::Help);
        insta::assert_snapshot!("help_80x24", screen(&state, 80, 24));
        state.update(Action::Escape);
        state.update(Action::FocusQuery);
        for c in " user:(".chars() {
            state.update(Action::Insert(c));
        }
        let effects = state.update(Action::Submit);
        let Effect::Run { generation, .. } = effects[0] else {
            panic!("{effects:?}")
        };
        state.update(Action::QueryFailed {
            generation,
            column: Some(22),
            message: "expected a value after \"user:\"".into(),
        });
        insta::assert_snapshot!("error_80x24", screen(&state, 80, 24));
    }
}

mod worker {
    use super::*;
    use crate::query::Engine;
    use crate::tui::worker::perform;

    /// An index of sample-logs/ in a temporary directory.
    fn samples() -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index");
        let logs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs");
        let ingest = crate::config::Ingest {
            index: index.clone(),
            paths: vec![logs],
            strict: false,
            max_line_bytes: 16 << 20,
            commit_interval: std::time::Duration::from_secs(10),
            follow: None,
        };
        crate::app::run(crate::config::Command::Ingest(ingest)).unwrap();
        let engine = Engine::open(&index).unwrap();
        (dir, engine)
    }

    #[test]
    fn the_worker_answers_the_states_effects_from_the_index() {
        let (_dir, engine) = samples();
        let saved = crate::query::saved::load(None).unwrap();
        let (mut state, effects) = State::new("@exec-into-pods", Vec::new());
        for answer in perform(&engine, &saved, &effects[0]) {
            state.update(answer);
        }
        assert_eq!(state.results.total, Some(3));
        let first = state.results.selected_row().unwrap().clone();
        assert_eq!(first.actor, "bob@example.com");
        assert_eq!(first.subresource.as_deref(), Some("exec"));
        assert!(first.event.contains("\"auditID\""));

        // A pivot to the same pod finds the pod's own requests too.
        let effects = state.update(Action::Pivot(Pivot::SameObject));
        for answer in perform(&engine, &saved, &effects[0]) {
            state.update(answer);
        }
        assert!(
            state.results.total.unwrap() >= 3,
            "{:?}",
            state.results.total
        );

        // A syntax error comes back with its column, and the text stays.
        state.update(Action::FocusQuery);
        for c in " (".chars() {
            state.update(Action::Insert(c));
        }
        let effects = state.update(Action::Submit);
        for answer in perform(&engine, &saved, &effects[0]) {
            state.update(answer);
        }
        let (column, message) = state.bar.error.clone().expect("a syntax error");
        assert!(message.contains("syntax error"), "{message}");
        assert!(column > 0);
        assert_eq!(state.focus, Focus::QueryBar);
    }
}
