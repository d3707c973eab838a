//! Counts on indexes of hand-written events.

use serde_json::json;

use super::*;
use crate::query::parse_query;
use crate::testing::ingest_lines;

/// 2026-11-20T10:00:00Z.
const T0: i64 = 1_795_168_800_000_000;
const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// A finished request `n` received at `t`, with `fields` replacing the defaults (a
/// null removes a key).
fn event(n: usize, t: i64, fields: serde_json::Value) -> String {
    let at = chrono::DateTime::from_timestamp_micros(t)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let mut event = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": format!("00000000-0000-4000-8000-{n:012}"),
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/pods",
        "verb": "get",
        "user": {"username": "alice", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.1"],
        "objectRef": {"resource": "pods", "namespace": "default"},
        "responseStatus": {"code": 200},
        "requestReceivedTimestamp": at,
        "stageTimestamp": at,
    });
    let object = event.as_object_mut().unwrap();
    for (k, v) in fields.as_object().unwrap() {
        match v {
            serde_json::Value::Null => object.remove(k),
            _ => object.insert(k.clone(), v.clone()),
        };
    }
    event.to_string()
}

/// An index of `events` (each: time, fields), numbered in order.
fn index(events: &[(i64, serde_json::Value)]) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = events
        .iter()
        .enumerate()
        .map(|(n, (t, fields))| event(n, *t, fields.clone()))
        .collect();
    let engine = ingest_lines(dir.path(), "audit.log", &lines);
    (dir, engine)
}

fn search(query: &str) -> Search {
    Search {
        expr: parse_query(query, &[]).unwrap(),
        since: None,
        until: None,
    }
}

fn by(fields: &[Field]) -> Spec {
    Spec {
        fields: fields.to_vec(),
        every: None,
        min: 1,
        top: None,
    }
}

fn text(s: &str) -> Option<Key> {
    Some(Key::Text(s.into()))
}

/// Rows as (values, count), values as text or "-" when absent.
fn table(counts: &Counts) -> Vec<(Vec<String>, u64)> {
    counts
        .rows
        .iter()
        .map(|r| {
            let values = r
                .values
                .iter()
                .map(|v| v.as_ref().map_or("-".into(), Key::to_string))
                .collect();
            (values, r.count)
        })
        .collect()
}

fn row(values: &[&str], count: u64) -> (Vec<String>, u64) {
    (values.iter().map(|v| v.to_string()).collect(), count)
}

fn user(name: &str) -> serde_json::Value {
    json!({"user": {"username": name}})
}

#[test]
fn one_field_largest_first_ties_in_value_order() {
    let (_dir, engine) = index(&[
        (T0, user("carol")),
        (T0, user("bob")),
        (T0, user("alice")),
        (T0, user("bob")),
        (T0, user("carol")),
        (T0, user("dave")),
    ]);
    let counts = engine.counts(&search(""), &by(&[Field::User])).unwrap();
    assert_eq!(
        table(&counts),
        [
            row(&["bob"], 2),
            row(&["carol"], 2),
            row(&["alice"], 1),
            row(&["dave"], 1)
        ]
    );
    assert_eq!((counts.keys, counts.shown, counts.requests), (4, 4, 6));
    assert!(counts.rows.iter().all(|r| r.bucket.is_none()));
    // The query narrows what is counted.
    let counts = engine
        .counts(&search("-user:bob"), &by(&[Field::User]))
        .unwrap();
    assert_eq!(counts.requests, 4);
    assert_eq!(counts.rows[0].values, [text("carol")]);
}

#[test]
fn a_tuple_of_two_fields_and_numbers_and_whole_user_agents() {
    let get = |name: &str, code: u64| {
        json!({"user": {"username": name}, "responseStatus": {"code": code},
               "userAgent": "kubectl/v1.31.0 (linux/amd64) kubernetes/abc"})
    };
    let (_dir, engine) = index(&[
        (T0, get("alice", 200)),
        (T0, get("alice", 403)),
        (T0, get("bob", 403)),
        (T0, get("alice", 200)),
        (
            T0,
            json!({"verb": "list", "responseStatus": null, "userAgent": null}),
        ),
    ]);
    let counts = engine
        .counts(&search(""), &by(&[Field::User, Field::Code]))
        .unwrap();
    assert_eq!(
        table(&counts),
        [
            row(&["alice", "200"], 2),
            row(&["alice", "403"], 1),
            row(&["alice", "-"], 1),
            row(&["bob", "403"], 1)
        ]
    );
    assert_eq!(counts.rows[0].values[1], Some(Key::Number(200)));
    // ua is the whole agent, not its words.
    let counts = engine
        .counts(&search(""), &by(&[Field::UserAgent]))
        .unwrap();
    assert_eq!(
        table(&counts),
        [
            row(&["kubectl/v1.31.0 (linux/amd64) kubernetes/abc"], 4),
            row(&["-"], 1)
        ]
    );
}

#[test]
fn several_values_count_the_request_once_under_each() {
    let groups = |g: &[&str]| json!({"user": {"username": "u", "groups": g}});
    let (_dir, engine) = index(&[
        (T0, groups(&["a", "b"])),
        // The same group twice is one value.
        (T0, groups(&["a", "a"])),
        (T0, groups(&[])),
        (
            T0,
            json!({"sourceIPs": ["203.0.113.9", "10.0.0.1"], "user": {"username": "u", "groups": ["b"]}}),
        ),
    ]);
    let counts = engine.counts(&search(""), &by(&[Field::Group])).unwrap();
    assert_eq!(
        table(&counts),
        [row(&["a"], 2), row(&["b"], 2), row(&["-"], 1)]
    );
    assert_eq!(counts.requests, 4);
    let counts = engine
        .counts(&search(""), &by(&[Field::SourceIp, Field::Group]))
        .unwrap();
    assert_eq!(
        table(&counts),
        [
            row(&["10.0.0.1", "a"], 2),
            row(&["10.0.0.1", "b"], 2),
            row(&["10.0.0.1", "-"], 1),
            row(&["203.0.113.9", "b"], 1)
        ]
    );
}

#[test]
fn absent_values_are_a_key_of_their_own_after_the_values() {
    let (_dir, engine) = index(&[
        (
            T0,
            json!({"objectRef": {"resource": "pods", "namespace": "b"}}),
        ),
        (T0, json!({"objectRef": {"resource": "nodes"}})),
        (
            T0,
            json!({"objectRef": {"resource": "pods", "namespace": "a"}}),
        ),
        (T0, json!({"objectRef": null, "requestURI": "/healthz"})),
    ]);
    let counts = engine
        .counts(&search(""), &by(&[Field::Namespace]))
        .unwrap();
    assert_eq!(
        table(&counts),
        [row(&["-"], 2), row(&["a"], 1), row(&["b"], 1)]
    );
    assert_eq!(counts.rows[0].values, [None]);
    // Every format's key, and the query that finds these requests.
    assert_eq!(Key::term(Field::Namespace, None).to_string(), "-ns:*");
    assert_eq!(
        engine
            .count(&search(&Key::term(Field::Namespace, None).to_string()))
            .unwrap(),
        2
    );
}

#[test]
fn terms_quote_what_they_need_and_parse_back() {
    let cases = [
        (Field::User, text("system:serviceaccount:ci:deployer")),
        (Field::Name, text("a b\"c) OR x")),
        (Field::Namespace, text("")),
        (Field::Code, Some(Key::Number(403))),
        (Field::SourceIp, None),
    ];
    for (field, key) in cases {
        let term = Key::term(field, key.as_ref());
        let printed = term.to_string();
        assert_eq!(parse_query(&printed, &[]).unwrap(), term, "{printed}");
    }
    assert_eq!(
        Key::term(Field::Code, Some(&Key::Number(403))).to_string(),
        "code:403"
    );
}

#[test]
fn buckets_start_at_utc_multiples_of_the_width() {
    let at = |m: i64, s: i64| T0 + m * MINUTE + s * SECOND;
    let (_dir, engine) = index(&[
        (at(4, 59) + 999_999, user("alice")),
        (at(5, 0), user("alice")),
        (at(9, 59), user("alice")),
        (at(0, 0), user("bob")),
    ]);
    let spec = Spec {
        every: Some(parse_every("5m").unwrap()),
        ..by(&[Field::User])
    };
    let counts = engine.counts(&search(""), &spec).unwrap();
    let rows: Vec<(Option<Key>, Option<i64>, u64)> = counts
        .rows
        .iter()
        .map(|r| (r.values[0].clone(), r.bucket, r.count))
        .collect();
    assert_eq!(
        rows,
        [
            (text("alice"), Some(T0 + 5 * MINUTE), 2),
            (text("alice"), Some(T0), 1),
            (text("bob"), Some(T0), 1),
        ]
    );
    assert_eq!(
        crate::output::counts::bucket_text(T0 + 5 * MINUTE),
        "2026-11-20T10:05:00Z"
    );
    // Days start at midnight UTC; other widths parse, nonsense does not.
    assert_eq!(
        bucket_of(at(4, 59), parse_every("1d").unwrap()),
        T0 - 10 * HOUR
    );
    assert_eq!(bucket_of(at(4, 59), parse_every("1h").unwrap()), T0);
    assert_eq!(parse_every("30s").unwrap(), 30 * SECOND);
    assert_eq!(parse_every("1w").unwrap(), 7 * 24 * 60 * MINUTE);
    for bad in ["0m", "5", "m", "5min", "-5m", "", "99999999999999w"] {
        assert!(parse_every(bad).is_err(), "{bad}");
    }
}

#[test]
fn min_keeps_rows_reaching_it_in_a_bucket_not_summed_over_buckets() {
    let mut events = Vec::new();
    // 10.0.0.9: three forbidden requests within one 5m bucket.
    for s in [0, 10, 20] {
        events.push((T0 + s * SECOND, json!({"sourceIPs": ["10.0.0.9"]})));
    }
    // 10.0.0.7: four, but two in each of two buckets.
    for m in [1, 2, 6, 7] {
        events.push((T0 + m * MINUTE, json!({"sourceIPs": ["10.0.0.7"]})));
    }
    events.push((T0 + 8 * MINUTE, json!({"sourceIPs": ["10.0.0.9"]})));
    let (_dir, engine) = index(&events);
    let spec = Spec {
        every: Some(5 * MINUTE),
        min: 3,
        ..by(&[Field::SourceIp])
    };
    let counts = engine.counts(&search(""), &spec).unwrap();
    // Only the bucket that reached 3 is shown, not 10.0.0.9's later one.
    assert_eq!(
        counts.rows,
        [Row {
            values: vec![text("10.0.0.9")],
            bucket: Some(T0),
            count: 3
        }]
    );
    assert_eq!((counts.keys, counts.shown), (1, 1));
    // In total, both reach 3.
    let total = Spec {
        every: None,
        ..spec.clone()
    };
    let counts = engine.counts(&search(""), &total).unwrap();
    assert_eq!(
        table(&counts),
        [row(&["10.0.0.7"], 4), row(&["10.0.0.9"], 4)]
    );
    // Nothing reaches 5: no rows, but the requests matched.
    let none = Spec {
        min: 5,
        ..spec.clone()
    };
    let counts = engine.counts(&search(""), &none).unwrap();
    assert!(counts.rows.is_empty());
    assert_eq!((counts.keys, counts.requests), (0, 8));
}

#[test]
fn top_keeps_the_keys_with_the_largest_rows_and_all_their_buckets() {
    let mut events = Vec::new();
    for n in 0..25 {
        for _ in 0..=n {
            events.push((T0, user(&format!("user-{n:02}"))));
        }
    }
    let (_dir, engine) = index(&events);
    let top = |n| Spec {
        top: n,
        ..by(&[Field::User])
    };
    let counts = engine.counts(&search(""), &top(Some(20))).unwrap();
    assert_eq!(counts.rows.len(), 20);
    assert_eq!((counts.keys, counts.shown), (25, 20));
    assert_eq!(table(&counts)[0], row(&["user-24"], 25));
    assert_eq!(table(&counts)[19], row(&["user-05"], 6));
    let all = engine.counts(&search(""), &top(None)).unwrap();
    assert_eq!((all.rows.len(), all.keys, all.shown), (25, 25, 25));

    // With buckets: the keys of the largest buckets, with each of their buckets.
    let (_dir, engine) = index(&[
        (T0, user("a")),
        (T0, user("a")),
        (T0 + 10 * MINUTE, user("a")),
        (T0, user("b")),
        (T0 + 10 * MINUTE, user("b")),
        (T0 + 20 * MINUTE, user("b")),
        (T0, user("c")),
    ]);
    let spec = Spec {
        every: Some(5 * MINUTE),
        top: Some(1),
        ..by(&[Field::User])
    };
    let counts = engine.counts(&search(""), &spec).unwrap();
    let rows: Vec<(Option<Key>, Option<i64>, u64)> = counts
        .rows
        .iter()
        .map(|r| (r.values[0].clone(), r.bucket, r.count))
        .collect();
    assert_eq!(
        rows,
        [
            (text("a"), Some(T0), 2),
            (text("a"), Some(T0 + 10 * MINUTE), 1)
        ]
    );
    assert_eq!((counts.keys, counts.shown), (3, 1));
}

#[test]
fn since_and_until_bound_what_is_counted() {
    let (_dir, engine) = index(&[
        (T0, user("early")),
        (T0 + MINUTE, user("inside")),
        (T0 + 2 * MINUTE, user("late")),
    ]);
    let bounded = Search {
        since: Some(T0 + MINUTE),
        until: Some(T0 + 2 * MINUTE),
        ..search("")
    };
    let counts = engine.counts(&bounded, &by(&[Field::User])).unwrap();
    assert_eq!(table(&counts), [row(&["inside"], 1)]);
}

#[test]
fn a_request_rewritten_by_a_later_stage_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    // Two requests: a segment whose every document is deleted is dropped whole.
    let complete = [event(0, T0, user("alice")), event(1, T0, user("bob"))];
    ingest_lines(dir.path(), "audit.log", &complete);
    // Its RequestReceived arriving after the commit rewrites the document: the old
    // one stays in its segment, deleted.
    let received = event(
        0,
        T0,
        json!({"user": {"username": "alice"}, "stage": "RequestReceived", "responseStatus": null}),
    );
    let engine = ingest_lines(dir.path(), "late.log", &[received]);
    let deleted = engine.deleted_docs();
    assert_eq!(deleted, 1);
    let counts = engine.counts(&search(""), &by(&[Field::User])).unwrap();
    assert_eq!(table(&counts), [row(&["alice"], 1), row(&["bob"], 1)]);
    // Both segments' counts of a value add up, in total and in a bucket.
    let counts = engine.counts(&search(""), &by(&[Field::Stage])).unwrap();
    assert_eq!(table(&counts), [row(&["ResponseComplete"], 2)]);
    let hourly = Spec {
        every: Some(HOUR),
        ..by(&[Field::Stage, Field::Verb])
    };
    let counts = engine.counts(&search(""), &hourly).unwrap();
    assert_eq!(table(&counts), [row(&["ResponseComplete", "get"], 2)]);
    assert_eq!(counts.rows[0].bucket, Some(T0));
}

#[test]
fn a_request_with_too_many_combinations_is_cut_and_said_to_be() {
    let groups: Vec<String> = (0..400).map(|i| format!("g{i}")).collect();
    let ips: Vec<String> = (0..400)
        .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
        .collect();
    let (_dir, engine) = index(&[
        (
            T0,
            json!({"user": {"username": "u", "groups": groups}, "sourceIPs": ips}),
        ),
        (T0, user("v")),
    ]);
    let spec = by(&[Field::Group, Field::SourceIp]);
    let counts = engine.counts(&search(""), &spec).unwrap();
    assert_eq!(counts.cut, 1);
    let counted: u64 = counts.rows.iter().map(|r| r.count).sum();
    assert_eq!(counted, MAX_COMBINATIONS as u64 + 1);
    // One field alone is not cut.
    let counts = engine.counts(&search(""), &by(&[Field::Group])).unwrap();
    assert_eq!((counts.cut, counts.keys), (0, 401));
}

#[test]
fn fields_are_checked_and_named_once() {
    assert_eq!(
        parse_fields("ip, User,namespace").unwrap(),
        [Field::SourceIp, Field::User, Field::Namespace]
    );
    let allowed = countable();
    for f in Field::ALL {
        // auditid is one value per request: it has no column, and counting by it says
        // nothing.
        let expected = (f.kind() == FieldKind::Exact && *f != Field::AuditId)
            || matches!(f, Field::Code | Field::UserAgent | Field::Severity);
        assert_eq!(allowed.contains(f), expected, "{f:?}");
    }
    for (bad, says) in [
        ("uri", "uri is matched by words"),
        ("nope", "\"nope\": unknown field"),
        ("user,,verb", "a field is empty"),
        ("user,user", "user is named twice"),
    ] {
        let e = parse_fields(bad).unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
        assert!(e.contains("fields: verb, user, group"), "{e}");
    }
}
