//! Output formats: table, JSON, NDJSON, CSV; sanitized text.

use serde_json::{Value, json};

use crate::common::{Kaudit, event, id};

const KEYS: [&str; 23] = [
    "time",
    "completed",
    "auditID",
    "stage",
    "level",
    "verb",
    "user",
    "groups",
    "serviceAccount",
    "pod",
    "node",
    "impersonatedUser",
    "sourceIPs",
    "userAgent",
    "resource",
    "subresource",
    "apiGroup",
    "namespace",
    "name",
    "code",
    "decision",
    "reason",
    "requestURI",
];

fn fixture() -> Kaudit {
    let k = Kaudit::new();
    let lines = [
        event(
            json!({"auditID": id(1), "user": {"username": "system:serviceaccount:payments:runner",
            "extra": {"authentication.kubernetes.io/pod-name": ["runner-1"]}},
            "userAgent": "evil\u{1b}]0;title\u{7}\u{1b}[31mred\u{202e}", "objectRef": {"resource": "secrets", "namespace": "payments", "name": "=cmd|' /C calc'!A0"}}),
        ),
        event(
            json!({"auditID": id(2), "impersonatedUser": {"username": "bob"}, "user": {"username": "ci-bot"},
            "requestReceivedTimestamp": "2026-11-20T10:00:01.000000Z"}),
        ),
    ];
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    k
}

#[test]
fn json_and_ndjson_have_every_key_and_json_adds_the_event() {
    let k = fixture();
    let run = k.run(&["query", "--format", "json", ""]);
    assert_eq!(run.code, 0);
    let rows: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = KEYS.to_vec();
        expected.push("event");
        assert_eq!(keys, expected);
        assert_eq!(row["event"]["kind"], "Event");
    }
    assert_eq!(rows[1]["serviceAccount"], "payments/runner");
    assert_eq!(rows[1]["pod"], "payments/runner-1");
    assert_eq!(rows[0]["impersonatedUser"], "bob");
    assert_eq!(rows[0]["pod"], Value::Null);
    // JSON keeps the exact text (escaped by JSON itself).
    assert_eq!(
        rows[1]["userAgent"],
        "evil\u{1b}]0;title\u{7}\u{1b}[31mred\u{202e}"
    );
    let nd = k.run(&["query", "--format", "ndjson", ""]);
    for line in nd.stdout.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, KEYS);
    }
    // An empty result is still a JSON array.
    let none = k.run(&["query", "--format", "json", "user:nobody"]);
    assert_eq!(none.code, 1);
    assert_eq!(
        serde_json::from_str::<Value>(&none.stdout).unwrap(),
        json!([])
    );
}

#[test]
fn table_and_csv_are_sanitized() {
    let k = fixture();
    let table = k.run(&["query", ""]);
    assert_eq!(table.code, 0);
    let header = table.stdout.lines().next().unwrap();
    for col in [
        "TIME",
        "ACTOR",
        "VERB",
        "RESOURCE",
        "OBJECT",
        "CODE",
        "DECISION",
        "SOURCE IP",
    ] {
        assert!(header.contains(col), "{header}");
    }
    assert!(
        table.stdout.contains("sa:payments/runner pod:runner-1"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("ci-bot as bob"), "{}", table.stdout);
    let csv = k.run(&["query", "--format", "csv", ""]);
    assert!(csv.stdout.starts_with(&KEYS.join(",")), "{}", csv.stdout);
    for out in [&table.stdout, &csv.stdout] {
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{202e}') && !out.contains('\u{7}'),
            "{out:?}"
        );
    }
    assert!(
        csv.stdout
            .contains("evil\\x1b]0;title\\x07\\x1b[31mred\\u{202e}"),
        "{}",
        csv.stdout
    );
    // A cell a spreadsheet would run as a formula is neutralized.
    assert!(csv.stdout.contains("'=cmd|"), "{}", csv.stdout);
}
