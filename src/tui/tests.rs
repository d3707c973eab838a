//! The TUI state driven by actions, as the key handler and the worker will drive it.

use super::state::*;
use crate::query::SortOrder;

fn row(n: usize) -> Row {
    Row {
        audit_id: Some(format!("id-{n}")),
        user: Some("system:serviceaccount:payments:report-runner".into()),
        service_account: Some("payments/report-runner".into()),
        pod: Some("payments/report-runner-7d4f9c-x2x9q".into()),
        verb: Some("get".into()),
        resource: Some("secrets".into()),
        namespace: Some("payments".into()),
        name: Some("db-password".into()),
        source_ips: vec!["10.244.2.47".into()],
        resource_path: Some("secrets".into()),
        object_path: Some("payments/db-password".into()),
        ..Row::default()
    }
}

fn ask(generation: u64, query: &str) -> Ask {
    Ask {
        generation,
        query: query.into(),
        order: SortOrder::NewestFirst,
        since: None,
        until: None,
        history: false,
    }
}

/// A state whose first query found `total` hits, with its first page loaded.
fn loaded(total: u64) -> State {
    let (mut state, effects) = State::new("resource:secrets", Vec::new(), Vec::new());
    assert_eq!(effects, [Effect::Run(ask(1, "resource:secrets"))]);
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
        [Effect::LoadPage(ask(1, "resource:secrets"), PAGE)]
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
    assert!(matches!(
        &effects[..],
        [Effect::Remember(_), Effect::Run(Ask { generation: 2, .. })]
    ));
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
    let (mut state, _) = State::new("", vec!["verb:get".into(), "ns:a".into()], Vec::new());
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
    let Some(Effect::Run(Ask { generation, .. })) = effects.last().cloned() else {
        panic!("{effects:?}")
    };
    assert_eq!(state.bar.history.last().unwrap(), "user:(");
    state.update(Action::QueryFailed {
        generation,
        column: Some(5),
        message: "expected a value".into(),
    });
    assert_eq!(state.focus(), Focus::QueryBar);
    assert_eq!(state.bar.text, "user:(");
    assert_eq!(state.bar.error, Some((5, "expected a value".into())));
    state.update(Action::Backspace);
    assert_eq!(state.bar.error, None, "editing clears the error");
    state.update(Action::Escape);
    assert_eq!(state.focus(), Focus::Table);
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
        let [Effect::Run(Ask { query, .. })] = &effects[..] else {
            panic!("{effects:?}")
        };
        assert_eq!(query, expected);
        let parsed = crate::query::parse::parse(query, &|_| None).unwrap();
        assert_eq!(Some(parsed), pivot.query(&row(3)), "{query}");
        state.update(Action::Back);
        assert_eq!(state.results.selected, 3, "back where we left");
        assert_eq!(state.bar.text, "resource:secrets");
    }
    // A forwarded request pivots on the address the apiserver saw, not on a claim.
    let mut forwarded = row(3);
    forwarded.source_ips.insert(0, "203.0.113.9".into());
    assert_eq!(
        Pivot::SameSourceIp.query(&forwarded).unwrap().to_string(),
        "ip:10.244.2.47"
    );
    assert_eq!(
        forwarded.source_ip_label().as_deref(),
        Some("10.244.2.47 (+1 fwd)")
    );
    // A user name with colons survives the round trip.
    let actor = Pivot::SameActor.query(&row(3)).unwrap();
    let text = actor.to_string();
    assert_eq!(crate::query::parse::parse(&text, &|_| None).unwrap(), actor);
    // Nothing to pivot on: no query.
    assert_eq!(Pivot::SamePod.query(&Row::default()), None);
}

#[test]
fn detail_help_order_and_quit() {
    let mut state = loaded(2);
    state.update(Action::OpenDetail);
    assert_eq!(state.focus(), Focus::Detail);
    state.update(Action::Move(4));
    assert_eq!(state.detail_scroll(), 4);
    state.update(Action::Escape);
    assert_eq!((state.focus(), state.results.selected), (Focus::Table, 0));
    state.update(Action::Help);
    assert_eq!(state.focus(), Focus::Help);
    state.update(Action::Escape);
    let effects = state.update(Action::ToggleOrder);
    assert!(matches!(
        &effects[..],
        [Effect::Run(Ask {
            order: SortOrder::OldestFirst,
            generation: 2,
            ..
        })]
    ));
    assert_eq!(state.update(Action::Quit), [Effect::Quit]);
}

#[test]
fn new_requests_come_in_above_and_the_view_stays_on_its_row_unless_live_at_the_top() {
    let mut state = loaded(500);
    // Not live: still on the same request, even at the top (the detail open on it
    // must not change under the reader).
    assert_eq!(
        state.update(Action::IndexChanged),
        [Effect::Refresh(ask(1, "resource:secrets"), 0)]
    );
    let mut fresh: Vec<Row> = (0..PAGE).map(row).collect();
    fresh[0].time = Some(2_000);
    state.update(Action::Refreshed {
        generation: 1,
        total: 502,
        first: 0,
        rows: fresh.clone(),
    });
    assert_eq!(
        (state.results.selected, state.results.total),
        (2, Some(502))
    );
    state.update(Action::Move(7));
    state.update(Action::Refreshed {
        generation: 1,
        total: 504,
        first: 0,
        rows: fresh.clone(),
    });
    assert_eq!(state.results.selected, 11);

    // Live: rows newer than the top row seen before are marked new.
    state.update(Action::Top);
    state.update(Action::Live);
    assert!(state.live);
    let mut newer = fresh.clone();
    newer[0].time = Some(3_000);
    state.update(Action::Refreshed {
        generation: 1,
        total: 505,
        first: 0,
        rows: newer.clone(),
    });
    assert!(state.results.is_new(&newer[0]));
    assert!(!state.results.is_new(&newer[1]));
    assert_eq!(state.results.selected, 0, "live follows the top");
    // Answers for another query are not applied.
    state.update(Action::Refreshed {
        generation: 99,
        total: 1,
        first: 0,
        rows: Vec::new(),
    });
    assert_eq!(state.results.total, Some(505));
}

#[test]
fn tab_inserts_a_single_candidate_or_the_common_prefix_then_cycles() {
    let (mut state, _) = State::new("", Vec::new(), Vec::new());
    state.update(Action::FocusQuery);
    type_text(&mut state, "verb:get na");
    let effects = state.update(Action::Complete);
    assert_eq!(
        effects,
        [Effect::Complete {
            text: "verb:get na".into(),
            cursor: 11
        }]
    );
    state.update(Action::Completed {
        text: "verb:get na".into(),
        start: 9,
        end: 11,
        candidates: vec!["name:".into()],
    });
    assert_eq!(state.bar.text, "verb:get name:");
    state.update(Action::Completed {
        text: "verb:get name:".into(),
        start: 9,
        end: 14,
        candidates: vec!["name:db-password".into(), "name:db-backup".into()],
    });
    assert_eq!(state.bar.text, "verb:get name:db-", "the common prefix");
    assert!(state.update(Action::Complete).is_empty(), "cycles locally");
    assert_eq!(state.bar.text, "verb:get name:db-password");
    state.update(Action::Complete);
    assert_eq!(state.bar.text, "verb:get name:db-backup");
    // An answer for text since changed is dropped.
    state.update(Action::Insert(' '));
    state.update(Action::Completed {
        text: "old".into(),
        start: 0,
        end: 3,
        candidates: vec!["x".into()],
    });
    assert_eq!(state.bar.text, "verb:get name:db-backup ");
    state.update(Action::ClearLine);
    assert_eq!(state.bar.text, "");
}

#[test]
fn esc_cancels_a_running_task_and_its_late_answer_is_dropped() {
    let mut state = loaded(10);
    let effects = state.update(Action::Picker);
    assert!(effects.is_empty());
    state.update(Action::Move(3));
    let effects = state.update(Action::OpenDetail);
    let [Effect::Report { task, name, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(*name, "stats");
    assert_eq!(state.update(Action::Escape), [Effect::Cancel(*task)]);
    assert_eq!(state.notice.as_deref(), Some("cancelled: report stats"));
    state.update(Action::ReportReady {
        task: *task,
        view: crate::tui::reports::ReportView {
            name: "stats",
            sections: Vec::new(),
        },
    });
    assert_eq!(state.focus(), Focus::Table, "the late report does not open");
    // Esc on a query still counting goes back to the view before it.
    state.update(Action::FocusQuery);
    type_text(&mut state, " verb:get");
    state.update(Action::Submit);
    assert!(state.searching());
    state.update(Action::Escape);
    assert_eq!(state.bar.text, "resource:secrets");
    assert_eq!(state.results.total, Some(10));
}

#[test]
fn back_to_a_view_left_before_its_answers_asks_again() {
    let mut state = loaded(10);
    state.update(Action::FocusQuery);
    type_text(&mut state, " verb:get");
    state.update(Action::Submit);
    state.update(Action::FocusQuery);
    type_text(&mut state, " ns:x");
    state.update(Action::Submit);
    // The first query's answers arrived while it was not shown: dropped.
    let effects = state.update(Action::Back);
    assert!(
        matches!(&effects[..], [Effect::Run(Ask { query, .. })] if query == "resource:secrets verb:get"),
        "{effects:?}"
    );
    // The very first query, cancelled, is not counting any more.
    let (mut first, _) = State::new("code:500", Vec::new(), Vec::new());
    assert!(first.update(Action::Escape).is_empty());
    assert!(!first.searching() && first.results.cancelled);
    first.update(Action::Counted {
        generation: 1,
        total: 5,
    });
    assert_eq!(first.results.total, None, "its late answer is dropped");
}

#[test]
fn an_object_history_stays_oldest_first() {
    let mut state = loaded(3);
    let effects = state.update(Action::Pivot(Pivot::ObjectHistory));
    let [Effect::Run(ask)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert!(ask.history);
    assert!(state.update(Action::ToggleOrder).is_empty());
    assert_eq!(state.results.ask.order, SortOrder::OldestFirst);
}

#[test]
fn a_report_row_opens_its_requests_within_the_reports_time_range() {
    let mut state = loaded(10);
    state.results.ask.since = Some(1_000);
    state.results.ask.until = Some(2_000);
    state.update(Action::Picker);
    let effects = state.update(Action::OpenDetail);
    let [Effect::Report { task, scope, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!((scope.since, scope.until), (Some(1_000), Some(2_000)));
    let view = crate::tui::reports::ReportView {
        name: "secrets",
        sections: vec![crate::tui::reports::SectionView {
            key: "rows",
            title: "rows",
            headers: vec!["NAME".into()],
            rows: vec![vec!["db-password".into()]],
            drill: vec![Some("name:db-password".into())],
            note: None,
        }],
    };
    state.update(Action::ReportReady { task: *task, view });
    let effects = state.update(Action::OpenDetail);
    let [Effect::Run(ask)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (ask.query.as_str(), ask.since, ask.until),
        ("name:db-password", Some(1_000), Some(2_000))
    );
    // Back returns to the report, where the row was.
    state.update(Action::Back);
    assert_eq!(state.focus(), Focus::Report);
}

/// A one-table report whose rows drill to `name:ROW`.
fn one_table_report(name: &'static str, rows: &[&str]) -> crate::tui::reports::ReportView {
    crate::tui::reports::ReportView {
        name,
        sections: vec![crate::tui::reports::SectionView {
            key: "rows",
            title: "rows",
            headers: vec!["NAME".into()],
            rows: rows.iter().map(|r| vec![r.to_string()]).collect(),
            drill: rows.iter().map(|r| Some(format!("name:{r}"))).collect(),
            note: None,
        }],
    }
}

/// Runs the first report of the picker within the current view and answers it.
fn run_report(state: &mut State, view: crate::tui::reports::ReportView) {
    state.update(Action::Picker);
    state.update(Action::Top);
    let effects = state.update(Action::OpenDetail);
    let [Effect::Report { task, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    state.update(Action::ReportReady { task: *task, view });
}

#[test]
fn back_returns_to_the_report_a_row_was_opened_from_not_a_later_one() {
    let mut state = loaded(10);
    state.results.ask.since = Some(1_000);
    run_report(&mut state, one_table_report("secrets", &["a", "b"]));
    state.update(Action::Move(1));
    state.update(Action::OpenDetail);
    assert_eq!(state.results.ask.query, "name:b");
    // A second report, run from the drilled view within another time range.
    state.results.ask.since = Some(5_000);
    run_report(&mut state, one_table_report("stats", &["c"]));
    let effects = state.update(Action::OpenDetail);
    let [Effect::Run(ask)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!((ask.query.as_str(), ask.since), ("name:c", Some(5_000)));
    state.update(Action::Back);
    state.update(Action::Escape);
    // Back from the first drill: the first report, its cursor and its time range.
    state.update(Action::Back);
    let Screen::Report(report) = &state.screen else {
        panic!("{:?}", state.focus())
    };
    assert_eq!((report.view.name, report.at.row), ("secrets", 1));
    let effects = state.update(Action::OpenDetail);
    let [Effect::Run(ask)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!((ask.query.as_str(), ask.since), ("name:b", Some(1_000)));
}

/// Counts of `values` by `field` as the worker answers them (no cut).
fn counted(field: crate::query::parse::Field, values: &[(Option<&str>, u64)]) -> Action {
    use crate::query::counts::{Counts, Key, Row};
    let rows: Vec<Row> = values
        .iter()
        .map(|&(v, count)| Row {
            values: vec![v.map(|v| Key::Text(v.into()))],
            bucket: None,
            count,
        })
        .collect();
    Action::CountsReady {
        task: 0,
        field,
        counts: Counts {
            keys: rows.len(),
            shown: rows.len(),
            requests: values.iter().map(|(_, n)| n).sum(),
            cut: 0,
            rows,
        },
    }
}

#[test]
fn counts_by_a_field_narrow_the_query_to_a_value_and_back_returns_to_them() {
    use crate::query::parse::Field;
    let mut state = loaded(10);
    state.results.ask.since = Some(1_000);
    state.results.ask.until = Some(2_000);
    assert!(state.update(Action::CountBy).is_empty());
    assert_eq!(state.focus(), Focus::Counts);
    assert_eq!(state.counts.fields[state.counts.picked], Field::Verb);
    state.update(Action::Move(1));
    let effects = state.update(Action::OpenDetail);
    let [Effect::Counts { task, ask, field }] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!((*field, ask), (Field::User, &state.results.ask));
    assert_eq!(state.busy.as_ref().unwrap().what, "counting by user");
    let Action::CountsReady { counts, .. } = counted(
        Field::User,
        &[(Some("system:serviceaccount:ci:deployer"), 7), (None, 3)],
    ) else {
        unreachable!()
    };
    state.update(Action::CountsReady {
        task: *task,
        field: Field::User,
        counts,
    });
    assert!(state.busy.is_none());
    let values = state.counts.values.as_ref().unwrap();
    assert_eq!((values.field, values.rows.len()), (Field::User, 2));

    // Enter on a value ANDs it to the query, quoted, within the same time range.
    let effects = state.update(Action::OpenDetail);
    let [Effect::Run(ask)] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (ask.query.as_str(), ask.since, ask.until),
        (
            "resource:secrets user:system:serviceaccount:ci:deployer",
            Some(1_000),
            Some(2_000)
        )
    );
    assert_eq!(state.focus(), Focus::Table);
    // Back returns to the values, where the cursor was; the absent value narrows to
    // the requests without the field.
    state.update(Action::Back);
    assert_eq!(state.focus(), Focus::Counts);
    state.update(Action::Bottom);
    let effects = state.update(Action::OpenDetail);
    assert!(
        matches!(&effects[..], [Effect::Run(Ask { query, .. })] if query == "resource:secrets -user:*"),
        "{effects:?}"
    );
    state.update(Action::Back);
    // Backspace: the fields again, with the cursor where it was; Esc closes.
    state.update(Action::Back);
    assert!(state.counts.values.is_none());
    assert_eq!(state.counts.picked, 1);
    state.update(Action::Escape);
    assert_eq!(state.focus(), Focus::Table);
    // A late answer after Esc cancelled the count is dropped.
    state.update(Action::CountBy);
    let effects = state.update(Action::OpenDetail);
    let [Effect::Counts { task, .. }] = &effects[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(state.update(Action::Escape), [Effect::Cancel(*task)]);
    assert_eq!(state.focus(), Focus::Counts);
    let Action::CountsReady { counts, .. } = counted(Field::User, &[(Some("x"), 1)]) else {
        unreachable!()
    };
    state.update(Action::CountsReady {
        task: *task,
        field: Field::User,
        counts,
    });
    assert!(state.counts.values.is_none());
}

#[test]
fn a_narrowed_query_keeps_its_meaning() {
    use crate::query::parse::{Expr, Field, Value};
    use crate::tui::counts::narrowed;
    let term = Expr::Field(Field::Namespace, Value::Exact("kube-system".into()));
    let cases = [
        ("", "ns:kube-system"),
        ("  ", "ns:kube-system"),
        ("verb:get", "verb:get ns:kube-system"),
        (
            "verb:get OR verb:list",
            "(verb:get OR verb:list) ns:kube-system",
        ),
        ("a b OR c", "(a b OR c) ns:kube-system"),
        ("(a OR b)", "((a OR b)) ns:kube-system"),
        ("-verb:get", "-verb:get ns:kube-system"),
        ("NOT verb:get", "NOT verb:get ns:kube-system"),
        ("@secret-reads", "@secret-reads ns:kube-system"),
    ];
    for (query, expected) in cases {
        assert_eq!(narrowed(query, &term), expected, "{query:?}");
    }
    // The narrowed query is the old one AND the term, whatever the old one was (ANDs
    // within ANDs flattened: the parser reads `a b c` as one AND).
    fn flat(e: Expr) -> Expr {
        match e {
            Expr::And(items) => Expr::And(
                items
                    .into_iter()
                    .map(flat)
                    .flat_map(|i| match i {
                        Expr::And(inner) => inner,
                        other => vec![other],
                    })
                    .collect(),
            ),
            Expr::Or(items) => Expr::Or(items.into_iter().map(flat).collect()),
            Expr::Not(inner) => Expr::Not(Box::new(flat(*inner))),
            other => other,
        }
    }
    let saved = |_: &str| Some("verb:get OR verb:list".to_string());
    let parse = |q: &str| crate::query::parse::parse(q, &saved).unwrap();
    for query in [
        "a OR b",
        "a b",
        "@x",
        "-(a OR b)",
        "a OR b c",
        "@x OR a",
        "NOT a",
    ] {
        assert_eq!(
            flat(parse(&narrowed(query, &term))),
            flat(Expr::And(vec![parse(query), term.clone()])),
            "{query}"
        );
    }
}

mod screens {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::tui::view::{Theme, draw};

    fn screen(state: &State, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| {
                draw(frame, state, Theme { color: false }, 0);
            })
            .unwrap();
        terminal.backend().to_string()
    }

    fn story() -> State {
        let mut state = loaded(3);
        let mut rows: Vec<Row> = (0..3).map(row).collect();
        rows[0].actor = "sa:payments/report-runner pod:report-runner-7d4f9c-x2x9q".into();
        rows[0].time = Some(1_795_169_126_214_119);
        rows[0].code = Some(200);
        rows[0].decision = Some("allow".into());
        // The client sent X-Forwarded-For: 203.0.113.9; the apiserver saw 10.244.2.47.
        rows[0].source_ips.insert(0, "203.0.113.9".into());
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
            Some(r#"{"auditID":"id-0","verb":"get","objectRef":{"resource":"secrets"}}"#.into());
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
    fn the_detail_says_a_request_was_salvaged_and_why() {
        let mut state = story();
        let mut rows = state.results.rows.clone();
        rows[0].salvaged = Some("bad-string".into());
        state.update(Action::PageLoaded {
            generation: 1,
            first: 0,
            rows,
        });
        state.update(Action::OpenDetail);
        let text = screen(&state, 160, 48);
        assert!(
            text.contains("salvaged  bad-string: the line could not be read whole"),
            "{text}"
        );
        state.update(Action::Escape);
        state.update(Action::Move(1));
        state.update(Action::OpenDetail);
        assert!(!screen(&state, 160, 48).contains("salvaged"));
    }

    #[test]
    fn detail_help_and_error() {
        let mut state = story();
        state.update(Action::OpenDetail);
        both_sizes("detail", &state);
        state.update(Action::Escape);
        state.update(Action::Help);
        both_sizes("help", &state);
        state.update(Action::Escape);
        state.update(Action::FocusQuery);
        for c in " user:(".chars() {
            state.update(Action::Insert(c));
        }
        let effects = state.update(Action::Submit);
        let Some(Effect::Run(Ask { generation, .. })) = effects.last().cloned() else {
            panic!("{effects:?}")
        };
        state.update(Action::QueryFailed {
            generation,
            column: Some(22),
            message: "expected a value after \"user:\"".into(),
        });
        both_sizes("error", &state);
    }
    fn both_sizes(name: &str, state: &State) {
        insta::assert_snapshot!(format!("{name}_80x24"), screen(state, 80, 24));
        insta::assert_snapshot!(format!("{name}_160x48"), screen(state, 160, 48));
    }

    /// The screen and where the terminal's cursor was left.
    fn screen_and_cursor(state: &State, width: u16, height: u16) -> (String, (u16, u16)) {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| {
                draw(frame, state, Theme { color: false }, 0);
            })
            .unwrap();
        let at = terminal.get_cursor_position().unwrap();
        (terminal.backend().to_string(), (at.x, at.y))
    }

    /// What a screen line shows: the screen string quotes each line, draws a wide
    /// character once and notes the cell it hides after the closing quote.
    fn shown(line: &str) -> &str {
        let line = line
            .split("\" Hidden by multi-width symbols")
            .next()
            .unwrap();
        let line = line.strip_prefix('"').unwrap();
        line.strip_suffix('"').unwrap_or(line)
    }

    /// The columns a screen line takes before its first `needle`.
    fn column_of(line: &str, needle: char) -> usize {
        let line = shown(line);
        let at = line
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} in {line}"));
        crate::width::columns(&line[..at])
    }

    #[test]
    fn values_longer_than_their_column_end_with_an_ellipsis() {
        let mut state = story();
        let mut rows = state.results.rows.clone();
        rows[0].actor = "sa:monitoring/prometheus-k8s pod:prometheus-k8s-0".into();
        rows[1].actor = "system:kube-controller-manager".into();
        rows[1].object_path = Some("payments/db-password".into());
        // Wide characters: two columns each, never drawn half at the column's edge.
        rows[2].actor = "田中太郎@例え.jp".into();
        rows[2].object_path = Some("payments/設定-データベース".into());
        rows[2].resource_path = Some("configmaps".into());
        state.update(Action::PageLoaded {
            generation: 1,
            first: 0,
            rows,
        });
        let narrow = screen(&state, 80, 24);
        for line in narrow.lines().skip(2).take(3) {
            assert!(line.contains('…'), "{line}");
            assert_eq!(crate::width::columns(shown(line)), 80, "{line}");
        }
        insta::assert_snapshot!("cut_80x24", narrow);
    }

    #[test]
    fn the_cursor_and_the_caret_count_columns_of_wide_characters() {
        let mut state = story();
        state.update(Action::FocusQuery);
        for c in " name:設定 verb:(".chars() {
            state.update(Action::Insert(c));
        }
        let effects = state.update(Action::Submit);
        let Some(Effect::Run(Ask { generation, .. })) = effects.last().cloned() else {
            panic!("{effects:?}")
        };
        let column = "resource:secrets name:設定 verb:".chars().count();
        state.update(Action::QueryFailed {
            generation,
            column: Some(column),
            message: "expected a value after \"verb:\"".into(),
        });
        let (text, cursor) = screen_and_cursor(&state, 80, 24);
        let lines: Vec<&str> = text.lines().collect();
        // The caret is under the parenthesis, two columns right of the characters
        // before it; the cursor after the last character typed.
        assert_eq!(column_of(lines[1], '^'), column_of(lines[0], '('));
        assert_eq!(column_of(lines[0], '('), 2 + column + 2);
        assert_eq!(cursor, (2 + column as u16 + 2 + 1, 0));
        insta::assert_snapshot!("error_wide_80x24", text);

        // A query wider than the bar scrolls by columns: the cursor stays inside it,
        // right after the last character typed; 38 of them (76 columns) fit before it.
        state.update(Action::Backspace);
        for _ in 0..60 {
            state.update(Action::Insert('漢'));
        }
        let (text, (x, y)) = screen_and_cursor(&state, 80, 24);
        let bar = shown(text.lines().next().unwrap());
        assert_eq!((x, y), (2 + 76, 0), "{bar}");
        assert!(bar.trim_end().ends_with('漢'), "{bar}");
        assert_eq!(bar.trim_end(), format!("/ {}", "漢".repeat(38)));
    }

    #[test]
    fn a_pivot_and_an_object_history() {
        let mut state = story();
        let effects = state.update(Action::Pivot(Pivot::SameObject));
        let [Effect::Run(ask)] = &effects[..] else {
            panic!("{effects:?}")
        };
        let generation = ask.generation;
        state.update(Action::Counted {
            generation,
            total: 2,
        });
        state.update(Action::PageLoaded {
            generation,
            first: 0,
            rows: vec![row(0), row(1)],
        });
        both_sizes("pivot", &state);

        let effects = state.update(Action::Pivot(Pivot::ObjectHistory));
        let [Effect::Run(ask)] = &effects[..] else {
            panic!("{effects:?}")
        };
        assert!(ask.history && ask.order == SortOrder::OldestFirst);
        let generation = ask.generation;
        let mut created = row(0);
        created.verb = Some("create".into());
        created.changes = Some(vec!["first Secret body seen".into()]);
        let mut patched = row(1);
        patched.verb = Some("patch".into());
        patched.changes = Some(vec![
            "patch ~ data.password: \"<redacted: 12 bytes>\"".into(),
            "patch + metadata.labels.rotated: \"2026-11-20\"".into(),
        ]);
        state.update(Action::Counted {
            generation,
            total: 2,
        });
        state.update(Action::PageLoaded {
            generation,
            first: 0,
            rows: vec![created, patched],
        });
        state.update(Action::Move(1));
        both_sizes("history", &state);
        state.update(Action::OpenDetail);
        both_sizes("history_detail", &state);
    }

    #[test]
    fn counts_by_a_field() {
        use crate::query::parse::Field;
        let mut state = story();
        state.update(Action::CountBy);
        both_sizes("counts_fields", &state);
        let effects = state.update(Action::OpenDetail);
        let [Effect::Counts { task, .. }] = &effects[..] else {
            panic!("{effects:?}")
        };
        let Action::CountsReady { mut counts, .. } = counted(
            Field::UserAgent,
            &[
                (
                    Some("kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46"),
                    120,
                ),
                (Some("kube-scan/0.3 \u{1b}[31mevil\u{1b}]0;owned\u{7}"), 40),
                (None, 12),
                (Some("curl/8.5.0"), 3),
            ],
        ) else {
            unreachable!()
        };
        // The worker kept the largest values of more.
        counts.keys = 1_204;
        state.update(Action::CountsReady {
            task: *task,
            field: Field::UserAgent,
            counts,
        });
        state.update(Action::Move(1));
        let screen_text = screen(&state, 80, 24);
        assert!(!screen_text.contains('\u{1b}') && !screen_text.contains('\u{7}'));
        assert!(
            screen_text.contains("the 4 largest of 1204 values"),
            "{screen_text}"
        );
        both_sizes("counts_values", &state);
    }

    #[test]
    fn reports_picker_and_timeline() {
        use crate::query::histogram::Histogram;
        use crate::tui::reports::{ReportView, SectionView};
        let mut state = story();
        state.update(Action::Picker);
        both_sizes("picker", &state);
        let effects = state.update(Action::OpenDetail);
        let [Effect::Report { task, name, .. }] = &effects[..] else {
            panic!("{effects:?}")
        };
        assert_eq!(*name, "secrets");
        let section = |key, title, rows: Vec<Vec<&str>>| SectionView {
            key,
            title,
            headers: vec!["SECRET".into(), "ACTOR".into(), "VERBS".into()],
            drill: rows
                .iter()
                .map(|r| Some(format!("name:{}", r[0])))
                .collect(),
            rows: rows
                .into_iter()
                .map(|r| r.into_iter().map(String::from).collect())
                .collect(),
            note: None,
        };
        let mut accesses = section(
            "rows",
            "secret access",
            vec![
                vec![
                    "payments/db-password",
                    "alice@example.com",
                    "create 1, patch 1",
                ],
                vec!["payments/db-password", "evil\u{1b}]0;owned\u{7}", "get 3"],
            ],
        );
        accesses.note = Some("Cluster-wide lists return every secret.".into());
        let view = ReportView {
            name: "secrets",
            sections: vec![accesses, section("other", "second table", vec![])],
        };
        state.update(Action::ReportReady { task: *task, view });
        assert_eq!(state.focus(), Focus::Report);
        state.update(Action::Move(1));
        let report = screen(&state, 80, 24);
        assert!(!report.contains('\u{1b}') && !report.contains('\u{7}'));
        both_sizes("report", &state);
        // Enter on a row opens its requests, within the report's time range.
        let effects = state.update(Action::OpenDetail);
        assert!(
            matches!(&effects[..], [Effect::Run(Ask { query, .. })] if query == "name:payments/db-password"),
            "{effects:?}"
        );

        state.update(Action::Back);
        assert_eq!(state.focus(), Focus::Report, "back where the row was");
        state.update(Action::Escape);
        let effects = state.update(Action::Timeline);
        let [Effect::Histogram { task, .. }] = &effects[..] else {
            panic!("{effects:?}")
        };
        let histogram = Histogram {
            start: 1_795_168_800_000_000,
            width: 300_000_000,
            counts: vec![3, 0, 1, 7, 12, 2, 0, 0, 5],
            total: 30,
        };
        state.update(Action::HistogramReady {
            task: *task,
            histogram,
        });
        state.update(Action::Sideways(-4));
        both_sizes("timeline", &state);
        let effects = state.update(Action::OpenDetail);
        let [Effect::Run(ask)] = &effects[..] else {
            panic!("{effects:?}")
        };
        let from = 1_795_168_800_000_000 + 4 * 300_000_000;
        assert_eq!(
            (ask.since, ask.until),
            (Some(from), Some(from + 300_000_000))
        );
    }
}

mod worker {
    use super::*;
    use crate::query::Engine;
    use std::sync::atomic::AtomicU64;

    use crate::tui::worker::{Context, perform};

    use crate::testing::sample_index as samples;

    fn saved() -> Vec<crate::query::saved::SavedQuery> {
        crate::query::saved::load(None).unwrap()
    }

    fn context<'a>(
        saved: &'a [crate::query::saved::SavedQuery],
        dir: &'a std::path::Path,
        cancel: &'a AtomicU64,
    ) -> Context<'a> {
        Context {
            saved,
            export_dir: dir,
            cancel,
            policy: None,
        }
    }

    /// `hunt` from the picker: the detections' report, each hit drilling to its request.
    #[test]
    fn the_hunt_runs_from_the_picker_and_each_hit_opens_its_request() {
        let (dir, engine) = samples();
        let (saved, cancel) = (saved(), AtomicU64::new(0));
        let cx = context(&saved, dir.path(), &cancel);
        let (mut state, effects) = State::new("", Vec::new(), Vec::new());
        settle(&engine, &cx, &mut state, effects);
        state.update(Action::Picker);
        state.picked = state
            .picks
            .iter()
            .position(|p| matches!(p, Pick::Report { name: "hunt", .. }))
            .unwrap();
        let effects = state.update(Action::OpenDetail);
        settle(&engine, &cx, &mut state, effects);
        let Screen::Report(report) = &state.screen else {
            panic!("no report on screen: {:?}", state.notice);
        };
        let hits = &report.view.sections[1];
        assert!(!hits.rows.is_empty());
        let drills: Vec<String> = hits.drill.iter().map(|d| d.clone().unwrap()).collect();
        assert!(
            drills.iter().all(|d| d.starts_with("auditid:")),
            "{drills:?}"
        );
    }

    /// With `--policy FILE`: the picker lists `policy check`, it runs as a report, and
    /// each request's detail names the rule that takes it.
    #[test]
    fn a_policy_given_to_the_tui_is_checked_and_named_in_the_detail() {
        let (dir, engine) = samples();
        let (saved, cancel) = (saved(), AtomicU64::new(0));
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/first-try.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let policy = crate::policy::PolicyFile {
            path: "first-try.yaml".into(),
            policy: crate::policy::load::load(&text).unwrap().0,
        };
        let cx = Context {
            policy: Some(&policy),
            ..context(&saved, dir.path(), &cancel)
        };
        let (mut state, effects) =
            State::new("resource:secrets verb:create", Vec::new(), Vec::new());
        state.offer_policy_check();
        settle(&engine, &cx, &mut state, effects);
        let row = state.results.selected_row().unwrap().clone();
        assert_eq!(
            row.policy.as_deref(),
            Some("rule 1 (line 14): RequestResponse, omits RequestReceived (first-try.yaml)")
        );
        // The picker: the four reports, then `policy check`, then the saved queries.
        let names: Vec<&str> = state
            .picks
            .iter()
            .filter_map(|p| match p {
                Pick::Report { name, .. } => Some(*name),
                Pick::Saved { .. } => None,
            })
            .collect();
        assert_eq!(names.last(), Some(&"policy check"));
        state.update(Action::Picker);
        state.picked = names.len() - 1;
        let effects = state.update(Action::OpenDetail);
        settle(&engine, &cx, &mut state, effects);
        let Screen::Report(report) = &state.screen else {
            panic!("no report on screen: {:?}", state.notice);
        };
        let titles: Vec<&str> = report.view.sections.iter().map(|s| s.title).collect();
        assert_eq!(titles[1], "Leaks: Secret values this Policy would log");
    }

    /// Applies the worker's answers to `effects`, and to the effects they cause.
    fn settle(engine: &Engine, cx: &Context<'_>, state: &mut State, effects: Vec<Effect>) {
        let mut queue = effects;
        while let Some(effect) = queue.pop() {
            for answer in perform(engine, cx, &effect) {
                queue.extend(state.update(answer));
            }
        }
    }

    #[test]
    fn the_worker_answers_the_states_effects_from_the_index() {
        let (dir, engine) = samples();
        let (saved, cancel) = (saved(), AtomicU64::new(0));
        let cx = context(&saved, dir.path(), &cancel);
        let (mut state, effects) = State::new("@exec-into-pods", Vec::new(), Vec::new());
        settle(&engine, &cx, &mut state, effects);
        assert_eq!(state.results.total, Some(4));
        let first = state.results.selected_row().unwrap().clone();
        assert_eq!(first.actor, "bob@example.com");
        assert_eq!(first.subresource.as_deref(), Some("exec"));
        assert_eq!(
            first.command.as_deref(),
            Some(&["apt-get", "install", "-y", "curl"].map(String::from)[..])
        );
        assert!(first.event.as_deref().unwrap().contains("\"auditID\""));

        // A pivot to the same pod finds the pod's own requests too.
        let effects = state.update(Action::Pivot(Pivot::SameObject));
        settle(&engine, &cx, &mut state, effects);
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
        settle(&engine, &cx, &mut state, effects);
        let (column, message) = state.bar.error.clone().expect("a syntax error");
        assert!(message.contains("syntax error"), "{message}");
        assert!(column > 0);
        assert_eq!(state.focus(), Focus::QueryBar);
    }

    #[test]
    fn counts_come_from_the_index_within_the_views_query() {
        use crate::query::counts::Key;
        use crate::query::parse::Field;
        let (dir, engine) = samples();
        let (saved, cancel) = (saved(), AtomicU64::new(0));
        let cx = context(&saved, dir.path(), &cancel);
        let (mut state, effects) = State::new("@exec-into-pods", Vec::new(), Vec::new());
        settle(&engine, &cx, &mut state, effects);
        state.update(Action::CountBy);
        let at = state.counts.fields.iter().position(|&f| f == Field::User);
        state.counts.picked = at.unwrap();
        let effects = state.update(Action::OpenDetail);
        settle(&engine, &cx, &mut state, effects);
        let values = state.counts.values.clone().expect("counted");
        assert_eq!(values.field, Field::User);
        assert_eq!(
            values.rows,
            [(Some(Key::Text("bob@example.com".into())), 4)]
        );
        assert_eq!((values.keys, values.requests), (1, 4));
        // Enter: the saved query narrowed to the value finds the same requests.
        let effects = state.update(Action::OpenDetail);
        settle(&engine, &cx, &mut state, effects);
        assert_eq!(state.bar.text, "@exec-into-pods user:bob@example.com");
        assert_eq!(state.results.total, Some(4));
    }

    #[test]
    fn object_history_shows_each_write_and_what_it_changed() {
        let (dir, engine) = samples();
        let (saved, cancel) = (saved(), AtomicU64::new(0));
        let cx = context(&saved, dir.path(), &cancel);
        let (mut state, effects) = State::new(
            "resource:secrets name:db-password verb:patch",
            Vec::new(),
            Vec::new(),
        );
        settle(&engine, &cx, &mut state, effects);
        assert_eq!(state.results.total, Some(1));
        let effects = state.update(Action::Pivot(Pivot::ObjectHistory));
        settle(&engine, &cx, &mut state, effects);
        assert_eq!(state.results.ask.order, SortOrder::OldestFirst);
        let writes: Vec<(Option<&str>, Vec<String>)> = state
            .results
            .rows
            .iter()
            .map(|r| (r.verb.as_deref(), r.changes.clone().unwrap()))
            .collect();
        assert_eq!(writes[0].0, Some("create"), "{writes:?}");
        assert_eq!(writes[0].1, ["first Secret body seen"], "{writes:?}");
        let (verb, patch) = &writes[1];
        assert_eq!(*verb, Some("patch"));
        assert!(
            patch
                .iter()
                .any(|c| c.starts_with("patch ") && c.contains("data")),
            "{patch:?}"
        );
        // The secret's value never reaches the history, only kaudit's marker.
        let all = format!("{writes:?}");
        assert!(all.contains("<redacted"), "{all}");
    }

    #[test]
    fn exports_write_every_hit_and_say_where() {
        let (dir, engine) = samples();
        let (saved, cancel) = (saved(), AtomicU64::new(0));
        let cx = context(&saved, dir.path(), &cancel);
        let (mut state, effects) = State::new("resource:secrets", Vec::new(), Vec::new());
        settle(&engine, &cx, &mut state, effects);
        let total = state.results.total.unwrap();
        assert!(total > 0);
        for format in [ExportFormat::Ndjson, ExportFormat::Csv] {
            let effects = state.update(Action::Export(format));
            assert!(state.busy.is_some());
            settle(&engine, &cx, &mut state, effects);
            assert!(state.busy.is_none());
            let notice = state.notice.clone().unwrap();
            let path = notice
                .strip_prefix(&format!("exported {total} requests to "))
                .unwrap_or_else(|| panic!("{notice}"));
            let text = std::fs::read_to_string(path).unwrap();
            let lines = text.lines().count() as u64;
            match format {
                ExportFormat::Ndjson => {
                    assert_eq!(lines, total);
                    let times: Vec<String> = text
                        .lines()
                        .map(|l| {
                            let v: serde_json::Value = serde_json::from_str(l).unwrap();
                            v["requestReceivedTimestamp"].as_str().unwrap().to_string()
                        })
                        .collect();
                    let mut newest_first = times.clone();
                    newest_first.sort_by(|a, b| b.cmp(a));
                    assert_eq!(times, newest_first, "in the order shown");
                    for line in text.lines() {
                        let event: serde_json::Value = serde_json::from_str(line).unwrap();
                        assert_eq!(event["objectRef"]["resource"], "secrets");
                    }
                }
                ExportFormat::Csv => assert_eq!(lines, total + 1, "a header and the rows"),
            }
            std::fs::remove_file(path).unwrap();
        }
        // Cancelled (Esc sets the flag the export checks between pages): the
        // partial file is removed.
        let effects = state.update(Action::Export(ExportFormat::Ndjson));
        let [Effect::Export { task, .. }] = &effects[..] else {
            panic!("{effects:?}")
        };
        assert_eq!(state.update(Action::Escape), [Effect::Cancel(*task)]);
        cancel.store(*task, std::sync::atomic::Ordering::Relaxed);
        let answers = perform(&engine, &cx, &effects[0]);
        let [Action::TaskDone { message, .. }] = &answers[..] else {
            panic!("{answers:?}")
        };
        assert!(message.contains("cancelled"), "{message}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("kaudit-export"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn exports_go_only_to_a_directory_no_other_user_can_steer() {
        use std::os::unix::fs::{PermissionsExt, chown, lchown, symlink};
        // As root (CI): 65534 (nobody) plays the other user.
        const NOBODY: u32 = 65534;
        let (dir, engine) = samples();
        let (saved, cancel) = (saved(), AtomicU64::new(0));
        let export = |to: &std::path::Path| {
            let cx = context(&saved, to, &cancel);
            let (mut state, effects) = State::new("resource:secrets", Vec::new(), Vec::new());
            settle(&engine, &cx, &mut state, effects);
            let effects = state.update(Action::Export(ExportFormat::Ndjson));
            settle(&engine, &cx, &mut state, effects);
            state.notice.clone().unwrap()
        };
        let entries = |d: &std::path::Path| std::fs::read_dir(d).unwrap().count();
        // A working directory of another user.
        let theirs = dir.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        chown(&theirs, Some(NOBODY), Some(NOBODY)).unwrap();
        let notice = export(&theirs);
        assert!(notice.starts_with("export failed: "), "{notice}");
        assert!(notice.contains("belongs to uid 65534"), "{notice}");
        assert_eq!(entries(&theirs), 0);
        // Their link in a sticky directory, to a directory of root's.
        let sticky = dir.path().join("tmp");
        std::fs::create_dir(&sticky).unwrap();
        std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let target = dir.path().join("etc");
        std::fs::create_dir(&target).unwrap();
        let link = sticky.join("work");
        symlink(&target, &link).unwrap();
        lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap();
        let notice = export(&link);
        assert!(notice.contains("a symbolic link of uid 65534"), "{notice}");
        assert_eq!(entries(&target), 0);
        // A sticky directory of root's is fine, like /tmp: the file is ours, private.
        let notice = export(&sticky);
        let path = notice
            .strip_prefix("exported ")
            .and_then(|n| n.split_once(" requests to "))
            .map(|(_, path)| std::path::PathBuf::from(path))
            .unwrap_or_else(|| panic!("{notice}"));
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
}
