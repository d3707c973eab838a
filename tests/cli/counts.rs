//! `kaudit query --by`: counts by field in every format, buckets, --min, --top, usage
//! errors and exit codes.

use serde_json::{Value, json};

use crate::common::{Kaudit, event, id};

/// A request `n` from `ip` at 2026-11-20T`time`Z answered with `code`.
fn request(n: u32, ip: &str, time: &str, code: u64) -> String {
    event(json!({
        "auditID": id(n),
        "sourceIPs": [ip],
        "responseStatus": {"code": code},
        "requestReceivedTimestamp": format!("2026-11-20T{time}Z"),
        "stageTimestamp": format!("2026-11-20T{time}Z"),
    }))
}

/// 10.0.0.9: 10 forbidden requests between 10:00:00 and 10:04:59 (a burst), and one
/// at 10:05:00. 10.0.0.7: 12 forbidden requests, 6 in each of two 5-minute buckets.
/// 10.0.0.1: 3 allowed requests. One request from nowhere (no sourceIPs).
fn burst() -> Kaudit {
    let k = Kaudit::new();
    let mut lines = Vec::new();
    let mut n = 0;
    let mut add = |ip: &str, time: String, code| {
        n += 1;
        lines.push(request(n, ip, &time, code));
    };
    for s in 0..9 {
        add(
            "10.0.0.9",
            format!("10:0{}:{:02}.000000", s / 2, s * 5),
            403,
        );
    }
    add("10.0.0.9", "10:04:59.999999".into(), 403);
    add("10.0.0.9", "10:05:00.000000".into(), 403);
    for m in [0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 9] {
        add("10.0.0.7", format!("10:0{m}:30.000000"), 403);
    }
    for s in 0..3 {
        add("10.0.0.1", format!("10:00:0{s}.000000"), 200);
    }
    lines.push(event(json!({"auditID": id(99), "sourceIPs": null})));
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    k
}

#[test]
fn a_source_ip_with_ten_forbidden_requests_within_five_minutes() {
    let k = burst();
    let args = [
        "query", "--by", "ip", "--every", "5m", "--min", "10", "code:403",
    ];
    let table = k.run(&args);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert_eq!(
        table.stdout,
        "IP        BUCKET                COUNT\n\
         10.0.0.9  2026-11-20T10:00:00Z     10\n"
    );
    let run = k.run(&[&["query", "--format", "json"], &args[1..]].concat());
    assert_eq!(
        run.stdout,
        "[\n  {\"ip\":\"10.0.0.9\",\"bucket\":\"2026-11-20T10:00:00Z\",\"count\":10}\n]\n"
    );
    // 10.0.0.7 made more forbidden requests, but never 10 within one bucket.
    let total = k.run(&[
        "query", "--by", "ip", "--min", "10", "--format", "csv", "code:403",
    ]);
    assert_eq!(total.stdout, "ip,count\n10.0.0.7,12\n10.0.0.9,11\n");
    // Nothing reaches 13 in a bucket: exit 1, and the table says why.
    let none = k.run(&[
        "query", "--by", "ip", "--every", "5m", "--min", "13", "code:403",
    ]);
    assert_eq!((none.code, none.stdout.as_str()), (1, ""));
    assert!(
        none.stderr
            .contains("23 requests match, but no value reaches --min 13"),
        "{}",
        none.stderr
    );
}

#[test]
fn every_format_has_a_column_per_field_then_bucket_and_count() {
    let k = burst();
    let base = ["query", "--by", "ip,code", "--every", "5m"];
    let run = |format: &str| {
        let run = k.run(&[&base[..], &["--format", format, "ip:10.0.0.1 OR -ip:*"]].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    };
    assert_eq!(
        run("json"),
        "[\n  {\"ip\":\"10.0.0.1\",\"code\":200,\"bucket\":\"2026-11-20T10:00:00Z\",\"count\":3},\n  \
         {\"ip\":null,\"code\":200,\"bucket\":\"2026-11-20T10:00:00Z\",\"count\":1}\n]\n"
    );
    assert_eq!(
        run("ndjson"),
        "{\"ip\":\"10.0.0.1\",\"code\":200,\"bucket\":\"2026-11-20T10:00:00Z\",\"count\":3}\n\
         {\"ip\":null,\"code\":200,\"bucket\":\"2026-11-20T10:00:00Z\",\"count\":1}\n"
    );
    assert_eq!(
        run("csv"),
        "ip,code,bucket,count\n10.0.0.1,200,2026-11-20T10:00:00Z,3\n,200,2026-11-20T10:00:00Z,1\n"
    );
    assert_eq!(
        run("table"),
        "IP        CODE  BUCKET                COUNT\n\
         10.0.0.1  200   2026-11-20T10:00:00Z      3\n\
         (none)    200   2026-11-20T10:00:00Z      1\n"
    );
    // Without --every, no bucket; aliases name the field by its query name.
    let run = k.run(&["query", "--by", "sourceip", "--format", "json", "code:200"]);
    let rows: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        rows,
        json!([{"ip": "10.0.0.1", "count": 3}, {"ip": null, "count": 1}])
    );
    // No match: an empty array, a header, nothing; exit 1 in every format.
    for (format, empty) in [
        ("json", "[]\n"),
        ("ndjson", ""),
        ("csv", "ip,count\n"),
        ("table", ""),
    ] {
        let run = k.run(&["query", "--by", "ip", "--format", format, "verb:delete"]);
        assert_eq!((run.code, run.stdout.as_str()), (1, empty), "{format}");
    }
    let table = k.run(&["query", "--by", "ip", "verb:delete"]);
    assert!(
        table.stderr.contains("no requests match"),
        "{}",
        table.stderr
    );
}

#[test]
fn top_shows_twenty_values_by_default_and_zero_shows_all() {
    let k = Kaudit::new();
    let lines: Vec<String> = (0..25)
        .flat_map(|n| {
            (0..=n).map(move |i| {
                event(json!({"auditID": id(n * 100 + i), "user": {"username": format!("user-{n:02}")}}))
            })
        })
        .collect();
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    let rows = |args: &[&str]| -> Vec<Value> {
        let run = k.run(
            &[
                &["query", "--by", "user", "--format", "ndjson"],
                args,
                &[""],
            ]
            .concat(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let top = rows(&[]);
    assert_eq!(top.len(), 20);
    assert_eq!(top[0], json!({"user": "user-24", "count": 25}));
    assert_eq!(top[19], json!({"user": "user-05", "count": 6}));
    assert_eq!(rows(&["--top", "0"]).len(), 25);
    assert_eq!(rows(&["--top", "3"]).len(), 3);
    let run = k.run(&["query", "--by", "user", ""]);
    assert!(
        run.stderr
            .contains("the top 20 of 25 values shown; --top 0 shows all"),
        "{}",
        run.stderr
    );
    assert!(
        k.run(&["query", "--by", "user", "--top", "0", ""])
            .stderr
            .is_empty()
    );
}

#[test]
fn a_request_counts_once_whatever_stages_were_logged_and_within_since_until() {
    let k = Kaudit::new();
    let at = |t: &str| format!("2026-11-20T{t}Z");
    let stage = |n: u32, user: &str, t: &str, stage: &str| {
        event(
            json!({"auditID": id(n), "user": {"username": user, "groups": ["g", "g", "h"]},
            "stage": stage, "requestReceivedTimestamp": at(t), "stageTimestamp": at(t)}),
        )
    };
    let first = k.write(
        "a.log",
        &[
            stage(1, "alice", "10:00:00", "ResponseComplete"),
            stage(2, "bob", "10:10:00", "ResponseComplete"),
        ],
    );
    k.ingest(&[&first]);
    // alice's first stage, read after her request was committed.
    let late = k.write("b.log", &[stage(1, "alice", "10:00:00", "RequestReceived")]);
    k.ingest(&[&late]);
    let csv = |extra: &[&str]| {
        let args = [&["query", "--format", "csv"], extra, &[""]].concat();
        k.run(&args).stdout
    };
    assert_eq!(csv(&["--by", "user"]), "user,count\nalice,1\nbob,1\n");
    assert_eq!(csv(&["--by", "group"]), "group,count\ng,2\nh,2\n");
    assert_eq!(
        csv(&["--by", "user", "--since", &at("10:05:00")]),
        "user,count\nbob,1\n"
    );
    assert_eq!(
        csv(&["--by", "user", "--until", &at("10:05:00")]),
        "user,count\nalice,1\n"
    );
}

#[test]
fn table_and_csv_cells_are_sanitized_and_json_exact() {
    let k = Kaudit::new();
    let agent = "=evil\u{1b}]0;title\u{7}\u{1b}[31mred\u{202e}";
    let log = k.write(
        "audit.log",
        &[event(json!({"auditID": id(1), "userAgent": agent}))],
    );
    k.ingest(&[&log]);
    let table = k.run(&["query", "--by", "ua", ""]).stdout;
    let csv = k
        .run(&["query", "--by", "ua", "--format", "csv", ""])
        .stdout;
    for out in [&table, &csv] {
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{202e}') && !out.contains('\u{7}'),
            "{out:?}"
        );
        assert!(
            out.contains("evil\\x1b]0;title\\x07\\x1b[31mred\\u{202e}"),
            "{out}"
        );
    }
    assert!(csv.contains("'=evil"), "{csv}");
    let json: Value = serde_json::from_str(
        &k.run(&["query", "--by", "ua", "--format", "json", ""])
            .stdout,
    )
    .unwrap();
    assert_eq!(json, json!([{"ua": agent, "count": 1}]));
}

#[test]
fn usage_errors_name_what_is_allowed() {
    let k = burst();
    let fields = "fields: verb, user, group, sa, pod, node, as, resource, sub, apigroup, ns, \
                  name, code, decision, stage, level, ip, ua, image, risk, cap, severity, verdict, salvaged, dryrun";
    for (args, says) in [
        (&["--by", "nope"][..], "\"nope\": unknown field"),
        (&["--by", "uri"], "uri is matched by words"),
        (&["--by", "user,"], "a field is empty"),
        (&["--by", "ip,sourceip"], "ip is named twice"),
        (&["--by", "auditid"], "auditid is one value per request"),
    ] {
        let run = k.run(&[&["query"], args, &[""]].concat());
        assert_eq!(run.code, 2, "{args:?}");
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(fields), "{}", run.stderr);
    }
    for args in [
        &["--every", "5m"][..],
        &["--min", "10"],
        &["--top", "5"],
        &["--by", "ip", "--every", "5"],
        &["--by", "ip", "--every", "0s"],
        &["--by", "ip", "--every", "5 minutes"],
        &["--by", "ip", "--count"],
        &["--by", "ip", "--limit", "5"],
        &["--by", "ip", "--all-stages"],
        &["--by", "ip", "--min", "-1"],
    ] {
        let run = k.run(&[&["query"], args, &[""]].concat());
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
    }
    let run = k.run(&["query", "--every", "5m", ""]);
    assert!(run.stderr.contains("--by"), "{}", run.stderr);
    let run = k.run(&["query", "--by", "ip", "--every", "5", ""]);
    assert!(
        run.stderr.contains("30s, 5m, 1h, 1d or 1w"),
        "{}",
        run.stderr
    );
}

/// Severities are counted by name, as queries write them, and each name narrows back.
#[test]
fn severity_is_counted_by_name() {
    let k = crate::samples::samples();
    let run = k.run(&[
        "query",
        "--by",
        "severity",
        "--format",
        "json",
        "severity:*",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        rows,
        json!([{"severity": "low", "count": 3}, {"severity": "high", "count": 2}])
    );
    assert_eq!(k.count("severity:high"), 2);
    assert_eq!(k.count("severity:low"), 3);
}
