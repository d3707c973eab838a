//! Issue 19, part 1: a request is never hidden by its own body. Each hostile body a
//! client can get past the apiserver's syntax check is written where the apiserver
//! writes it (before the timestamps and annotations), and the request must still be
//! indexed whole from its envelope, marked `salvaged`, and counted by the reports.

use std::io::Write;

use serde_json::Value;

use crate::common::{Kaudit, column, id};

/// One event as kube-apiserver writes it, keys in its order, with `body` (raw JSON
/// text, possibly not valid JSON) as the requestObject.
fn apiserver_line(n: u32, stage: &str, resource: &str, body: Option<&str>) -> String {
    let code = if stage == "RequestReceived" {
        String::new()
    } else {
        r#","responseStatus":{"metadata":{},"code":200}"#.to_string()
    };
    let body = body.map_or(String::new(), |b| format!(r#","requestObject":{b}"#));
    format!(
        concat!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"{id}","#,
            r#""stage":"{stage}","requestURI":"/api/v1/namespaces/shop/{res}/web","verb":"patch","#,
            r#""user":{{"username":"mallory@example.com","groups":["system:authenticated"]}},"#,
            r#""sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.31.0","#,
            r#""objectRef":{{"resource":"{res}","namespace":"shop","name":"web","apiVersion":"v1"}}"#,
            r#"{code}{body},"requestReceivedTimestamp":"2026-11-20T10:00:0{n}.000000Z","#,
            r#""stageTimestamp":"2026-11-20T10:00:0{n}.200000Z","#,
            r#""annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed"}}}}"#
        ),
        id = id(n),
        stage = stage,
        res = resource,
        code = code,
        body = body,
        n = n,
    )
}

/// The hostile bodies of the issue, each with the reason kaudit gives.
fn hostile_bodies() -> Vec<(String, &'static str)> {
    vec![
        (
            r#"[{"op":"add","path":"/metadata/labels/a","value":"x","x":"\ud800"}]"#.into(),
            "bad-string",
        ),
        (
            r#"{"metadata":{"labels":{"a":"\udc00"}}}"#.into(),
            "bad-string",
        ),
        (
            r#"{"metadata":{"annotations":{"n":"1"}},"x":1e400}"#.into(),
            "bad-number",
        ),
        (format!(r#"{{"x":1{}}}"#, "0".repeat(400)), "bad-number"),
        (
            format!(r#"{{"x":{}{}}}"#, "[".repeat(1100), "]".repeat(1100)),
            "too-deep",
        ),
        (
            format!(r#"{{"x":"{}"}}"#, "\\u003c".repeat(300_000)),
            "too-long",
        ),
    ]
}

#[test]
fn a_hostile_body_cannot_hide_its_request() {
    let k = Kaudit::new();
    let mut log: Vec<u8> = Vec::new();
    let bodies = hostile_bodies();
    for (i, (body, _)) in bodies.iter().enumerate() {
        let n = i as u32 + 1;
        writeln!(
            log,
            "{}",
            apiserver_line(n, "RequestReceived", "configmaps", None)
        )
        .unwrap();
        writeln!(
            log,
            "{}",
            apiserver_line(n, "ResponseComplete", "configmaps", Some(body))
        )
        .unwrap();
    }
    // Invalid UTF-8 bytes in the body, as Go's json.Valid lets them through.
    let utf8 = apiserver_line(7, "ResponseComplete", "configmaps", Some("{\"x\":\"@@\"}"));
    log.extend(
        utf8.replace("@@", "\u{1}")
            .as_bytes()
            .iter()
            .map(|&b| if b == 1 { 0xff } else { b }),
    );
    log.push(b'\n');
    let path = k.path("audit.log");
    std::fs::write(&path, &log).unwrap();
    let run = k.run(&[
        "ingest",
        "--max-line-bytes",
        "1048576",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("rejected"), "{}", run.stderr);
    assert!(run.stderr.contains("requests: 7 new"), "{}", run.stderr);
    assert!(run.stderr.contains("salvaged: 7"), "{}", run.stderr);
    assert!(
        run.stderr.contains("audit.log:2: salvaged (bad-string)"),
        "{}",
        run.stderr
    );
    let rows = k.rows("", &["--oldest-first"]);
    assert_eq!(rows.len(), 7);
    for (row, n) in rows.iter().zip(1..) {
        // Every envelope member, the ones after the body included.
        assert_eq!(row["auditID"], id(n));
        assert_eq!(row["stage"], "ResponseComplete", "{row}");
        assert_eq!(row["code"], 200);
        assert_eq!(row["decision"], "allow");
        assert_eq!(row["reason"], "RBAC: allowed");
        assert_eq!(row["user"], "mallory@example.com");
        assert_eq!(row["resource"], "configmaps");
        assert_eq!(row["completed"], format!("2026-11-20T10:00:0{n}.200000Z"));
    }
    let reasons: Vec<&str> = bodies
        .iter()
        .map(|(_, why)| *why)
        .chain(["invalid-utf8"])
        .collect();
    assert_eq!(column(&rows, "salvaged"), reasons);
    assert_eq!(k.count("salvaged:*"), 7);
    assert_eq!(k.count("salvaged:too-deep code:200 decision:allow"), 1);
    // The stored event says what could not be read, and keeps what could.
    let events = k.run(&[
        "query",
        "--format",
        "json",
        "--oldest-first",
        "salvaged:bad-number",
    ]);
    let events: Value = serde_json::from_str(&events.stdout).unwrap();
    let first = &events[0]["event"];
    assert_eq!(first["requestObject"]["x"], "<unreadable: 5 bytes>");
    assert_eq!(first["requestObject"]["metadata"]["annotations"]["n"], "1");
    assert_eq!(first["kaudit.salvaged"], "bad-number");
}

#[test]
fn a_salvaged_privileged_pod_write_is_checked_or_said_unchecked() {
    let k = Kaudit::new();
    let privileged = r#"{"spec":{"containers":[{"name":"c","image":"x","securityContext":{"privileged":true}}]},"x":"\ud800"}"#;
    let poisoned_spec = r#"{"spec":{"containers":[{"name":"c","image":"x","securityContext":{"privileged":true}}],"x":1e400}}"#;
    let log = [
        apiserver_line(1, "ResponseComplete", "pods", Some(privileged)),
        apiserver_line(2, "ResponseComplete", "pods", Some(poisoned_spec)),
    ];
    let path = k.write("audit.log", &log);
    let run = k.run(&["ingest", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("salvaged: 2"), "{}", run.stderr);
    // What is readable is judged, down to the poisoned value: both are flagged, and
    // said not to be wholly checked, never "Metadata level".
    let privileged = column(&k.rows("risk:privileged", &["--oldest-first"]), "auditID");
    assert_eq!(privileged, [id(1), id(2)]);
    // A write with any value unread is also said to be not wholly checked.
    let unchecked = column(&k.rows("risk:unchecked", &["--oldest-first"]), "auditID");
    assert_eq!(unchecked, [id(1), id(2)]);
    assert_eq!(k.count("@privileged-pods"), 2);
    let report = k.run(&["report", "immutability", "--format", "json"]);
    assert!(report.stdout.contains("unchecked"), "{}", report.stdout);
    assert!(report.stdout.contains(&id(2)), "{}", report.stdout);
}

#[test]
fn an_event_list_with_a_hostile_item_loses_only_that_body() {
    let k = Kaudit::new();
    let items = [
        apiserver_line(1, "ResponseComplete", "configmaps", Some("{}")),
        apiserver_line(
            2,
            "ResponseComplete",
            "configmaps",
            Some(r#"{"x":"\udfff"}"#),
        ),
        "7".to_string(),
        apiserver_line(3, "ResponseComplete", "configmaps", Some(r#"{"x":-1e999}"#)),
    ];
    // Pretty-printed, as a webhook batch is saved to a file.
    let doc = format!(
        "{{\n  \"kind\": \"EventList\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n  \"items\": [\n    {}\n  ]\n}}\n",
        items.join(",\n    ")
    );
    let path = k.path("batch.json");
    std::fs::write(&path, doc).unwrap();
    let run = k.run(&["ingest", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("requests: 3 new"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("batch.json:7 (item 2): expected a JSON object"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("batch.json:6 (item 1): salvaged (bad-string)"),
        "{}",
        run.stderr
    );
    let rows = k.rows("", &["--oldest-first"]);
    assert_eq!(column(&rows, "auditID"), [id(1), id(2), id(3)]);
    assert_eq!(
        column(&rows, "salvaged"),
        ["null", "bad-string", "bad-number"]
    );
}

#[test]
fn an_aks_record_whose_event_does_not_parse_is_salvaged() {
    let k = Kaudit::new();
    let event = apiserver_line(
        1,
        "ResponseComplete",
        "configmaps",
        Some(r#"{"x":"\ud800"}"#),
    );
    let record =
        serde_json::json!({"category": "kube-audit", "properties": {"log": format!("{event}\n")}});
    let path = k.write("aks.json", &[record.to_string()]);
    let run = k.run(&["ingest", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = k.rows("", &[]);
    assert_eq!(column(&rows, "salvaged"), ["bad-string"]);
    assert_eq!(column(&rows, "code"), ["200"]);
}

#[test]
fn a_repeated_envelope_key_counts_by_its_last_copy() {
    // Go keeps the last copy; so must the index, or a forwarder's file could show a
    // Secret read as a ConfigMap read.
    let k = Kaudit::new();
    let line = apiserver_line(1, "ResponseComplete", "configmaps", None).replacen(
        r#""objectRef":"#,
        r#""objectRef":{"resource":"configmaps"},"objectRef":"#,
        1,
    );
    let line = line.replace(
        r#""resource":"configmaps","namespace""#,
        r#""resource":"secrets","namespace""#,
    );
    let path = k.write("audit.log", &[line]);
    let run = k.run(&["ingest", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(k.count("resource:secrets name:web"), 1);
    assert_eq!(k.count("resource:configmaps"), 0);
}

#[test]
fn an_over_long_line_keeps_every_envelope_member_a_client_can_grow() {
    // A client can send 1 MiB of headers: an X-Forwarded-For list and a URI of `&`s
    // (each written as \u0026). Over --max-line-bytes, the request must keep them,
    // and collapse with its RequestReceived (the URI is part of its identity).
    let k = Kaudit::new();
    let uri = format!(
        "/api/v1/namespaces/shop/configmaps/web?x={}",
        "&".repeat(200_000)
    );
    let ips: Vec<String> = (0..60_000)
        .map(|i| format!("10.{}.{}.{}", i / 65536, i / 256 % 256, i % 256))
        .collect();
    let ips = serde_json::to_string(&ips).unwrap();
    let grow = |line: String| {
        line.replace(
            r#""requestURI":"/api/v1/namespaces/shop/configmaps/web""#,
            &format!(
                r#""requestURI":{}"#,
                serde_json::to_string(&uri).unwrap().replace('&', "\\u0026")
            ),
        )
        .replace(
            r#""sourceIPs":["10.0.0.7"]"#,
            &format!(r#""sourceIPs":{ips}"#),
        )
    };
    let body = format!(r#"{{"x":"{}"}}"#, "\\u003c".repeat(300_000));
    let log = [
        grow(apiserver_line(1, "RequestReceived", "configmaps", None)),
        grow(apiserver_line(
            1,
            "ResponseComplete",
            "configmaps",
            Some(&body),
        )),
    ];
    assert!(log[1].len() > 2 << 20);
    let path = k.write("audit.log", &log);
    let run = k.run(&[
        "ingest",
        "--max-line-bytes",
        "1048576",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("rejected"), "{}", run.stderr);
    assert!(
        run.stderr.contains("requests: 1 new, 1 stages collapsed"),
        "{}",
        run.stderr
    );
    let rows = k.rows("", &[]);
    assert_eq!(column(&rows, "salvaged"), ["too-long"]);
    assert_eq!(column(&rows, "code"), ["200"]);
    assert_eq!(rows[0]["sourceIPs"].as_array().unwrap().len(), 60_000);
    assert_eq!(rows[0]["requestURI"], uri);
    assert_eq!(k.count("ip:10.0.200.1"), 1);
}

#[test]
fn aks_records_are_salvaged_however_they_hold_the_event() {
    let k = Kaudit::new();
    let hostile = apiserver_line(
        1,
        "ResponseComplete",
        "configmaps",
        Some(r#"{"x":"\ud800"}"#),
    );
    // `properties.log` as an object: the record itself does not parse.
    let object = format!(r#"{{"category":"kube-audit","properties":{{"log":{hostile}}}}}"#);
    let batch = format!(
        r#"{{"records":[{}]}}"#,
        object
            .replace(&id(1), &id(2))
            .replace("10:00:01", "10:00:02")
    );
    // Over --max-line-bytes, the event as a string.
    let long = apiserver_line(
        3,
        "ResponseComplete",
        "configmaps",
        Some(&format!(r#"{{"x":"{}"}}"#, "y".repeat(200_000))),
    );
    let string =
        serde_json::json!({"category": "kube-audit", "properties": {"log": long}}).to_string();
    let path = k.write("aks.json", &[object, batch, string]);
    let run = k.run(&[
        "ingest",
        "--max-line-bytes",
        "100000",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("rejected"), "{}", run.stderr);
    let rows = k.rows("", &["--oldest-first"]);
    assert_eq!(column(&rows, "auditID"), [id(1), id(2), id(3)]);
    assert_eq!(
        column(&rows, "salvaged"),
        ["bad-string", "bad-string", "too-long"]
    );
    assert_eq!(column(&rows, "decision"), ["allow", "allow", "allow"]);
}

#[test]
fn a_log_whose_first_line_is_hostile_or_torn_is_still_read_as_lines() {
    // A first line that a strict parser refuses, or an event cut at the front of the
    // log, once made the whole file one broken "document".
    let k = Kaudit::new();
    let hostile = apiserver_line(
        1,
        "ResponseComplete",
        "configmaps",
        Some(r#"{"x":"\ud800"}"#),
    );
    let torn = apiserver_line(2, "ResponseComplete", "configmaps", None);
    let torn = torn[..torn.len() / 2].to_string();
    let mut log = vec![hostile, torn.clone()];
    log.extend((3..9).map(|n| apiserver_line(n, "ResponseComplete", "configmaps", None)));
    let path = k.write("audit.log", &log);
    let run = k.run(&["ingest", path.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("requests: 7 new"), "{}", run.stderr);
    assert!(
        run.stderr.contains("audit.log:2: malformed JSON"),
        "{}",
        run.stderr
    );
    // The same with the torn event first.
    let k = Kaudit::new();
    let path = k.write("audit.log", &log[1..]);
    let run = k.run(&["ingest", path.to_str().unwrap()]);
    assert!(run.stderr.contains("requests: 6 new"), "{}", run.stderr);
    assert!(
        run.stderr.contains("audit.log:1: malformed JSON"),
        "{}",
        run.stderr
    );
    // A stray `{` or `[` line before event lines, in a log longer than
    // --max-line-bytes (no copy left to read again by the time it could tell).
    for stray in ["{", "["] {
        let k = Kaudit::new();
        let mut lines = vec![stray.to_string()];
        lines.extend(log[2..].iter().cloned());
        let path = k.write("audit.log", &lines);
        let run = k.run(&["ingest", "--max-line-bytes", "1024", path.to_str().unwrap()]);
        assert!(
            run.stderr.contains("requests: 6 new"),
            "{stray}: {}",
            run.stderr
        );
    }
}

#[test]
fn only_a_salvage_says_a_request_was_salvaged() {
    let k = Kaudit::new();
    let forged = apiserver_line(1, "ResponseComplete", "configmaps", None).replacen(
        '{',
        r#"{"kaudit.salvaged":"too-long","#,
        1,
    );
    let path = k.write("audit.log", &[forged]);
    let run = k.run(&["ingest", path.to_str().unwrap()]);
    assert!(!run.stderr.contains("salvaged"), "{}", run.stderr);
    assert_eq!(k.count("salvaged:*"), 0);
    assert_eq!(k.count(""), 1);
}
