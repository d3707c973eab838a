//! Output formats: table, JSON, NDJSON, CSV; sanitized text.

use serde_json::{Value, json};

use crate::common::{Kaudit, event, id};
use crate::tui::{Terminal, tui};

const KEYS: [&str; 24] = [
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
    "sourceIP",
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

#[test]
fn the_source_ip_is_the_one_the_apiserver_saw_and_a_forwarded_chain_is_marked() {
    // The client sent X-Forwarded-For: 203.0.113.66, 198.51.100.7 from 10.0.0.5; the
    // apiserver lists the header's entries first and the connection's address last.
    let k = Kaudit::new();
    let log = k.write(
        "audit.log",
        &[
            event(json!({"auditID": id(1), "sourceIPs": ["203.0.113.66", "198.51.100.7", "10.0.0.5"]})),
            event(json!({"auditID": id(2), "sourceIPs": ["10.0.0.9"],
                "requestReceivedTimestamp": "2026-11-20T10:00:01.000000Z"})),
        ],
    );
    k.ingest(&[&log]);
    let table = k.run(&["query", "--oldest-first", ""]).stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[1].ends_with("10.0.0.5 (+2 fwd)"), "{table}");
    assert!(!lines[1].contains("203.0.113.66"), "{table}");
    assert!(lines[2].ends_with("10.0.0.9"), "{table}");

    let csv = k
        .run(&["query", "--format", "csv", "--oldest-first", ""])
        .stdout;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let column = |name| header.iter().position(|h| h == name).unwrap();
    let first = reader.records().next().unwrap().unwrap();
    assert_eq!(&first[column("sourceIP")], "10.0.0.5");
    assert_eq!(
        &first[column("sourceIPs")],
        "203.0.113.66 198.51.100.7 10.0.0.5"
    );

    // JSON: the list exactly as logged, and the address the apiserver saw.
    let rows = k.rows("", &["--oldest-first"]);
    assert_eq!(
        rows[0]["sourceIPs"],
        json!(["203.0.113.66", "198.51.100.7", "10.0.0.5"])
    );
    assert_eq!(rows[0]["sourceIP"], "10.0.0.5");
    // `ip:` matches every entry, forwarded or seen.
    for ip in ["203.0.113.66", "198.51.100.7", "10.0.0.5"] {
        assert_eq!(k.count(&format!("ip:{ip}")), 1, "{ip}");
    }

    // The TUI: the wide table marks the chain; the detail lists it apart, as a claim.
    let mut command = tui(&k);
    command.args(["tui", "-q", "ip:10.0.0.5"]);
    let mut term = Terminal::spawn_sized(command, 30, 160);
    let screen = term.wait_for("1 of 1");
    assert!(screen.contains("10.0.0.5 (+2 fwd)"), "{screen}");
    term.type_keys("\r");
    let detail = term.wait_for("forwarded for");
    assert!(detail.contains("source IP  10.0.0.5"), "{detail}");
    assert!(
        detail.contains("forwarded for  203.0.113.66 198.51.100.7 (headers the client chose)"),
        "{detail}"
    );
    term.type_keys("q");
    assert_eq!(term.wait_exit(), 0);
}

#[test]
fn a_user_named_like_an_impersonation_does_not_look_like_one() {
    let k = Kaudit::new();
    let log = k.write(
        "audit.log",
        &[
            event(json!({"auditID": id(1), "user": {"username": "intern@example.com as system:admin"}})),
            event(json!({"auditID": id(2), "user": {"username": "intern@example.com"},
                "impersonatedUser": {"username": "system:admin"},
                "requestReceivedTimestamp": "2026-11-20T10:00:01.000000Z"})),
        ],
    );
    k.ingest(&[&log]);
    let table = k.run(&["query", "--oldest-first", ""]).stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[1].contains("\"intern@example.com as system:admin\"  "),
        "{table}"
    );
    assert!(
        lines[2].contains(" intern@example.com as system:admin  "),
        "{table}"
    );
    // The TUI's actor column is the same label (cut to its width, marked with …).
    let mut command = tui(&k);
    command.arg("tui");
    let mut term = Terminal::spawn_sized(command, 30, 160);
    let screen = term.wait_for("1 of 2");
    assert!(
        screen.contains(" \"intern@example.com as system…"),
        "{screen}"
    );
    assert!(
        screen.contains(" intern@example.com as system:…"),
        "{screen}"
    );
    term.type_keys("q");
    assert_eq!(term.wait_exit(), 0);
}
