//! The reports on small, hand-written logs whose right answers are known.

use serde_json::{Value, json};

use crate::common::{Kaudit, column, event, id};

fn secret_request(n: u32, user: &str, verb: &str, uri: &str, obj: Value, code: u64) -> String {
    let decision = if code == 403 { "forbid" } else { "allow" };
    event(json!({
        "auditID": id(n),
        "verb": verb,
        "requestURI": uri,
        "user": {"username": user},
        "objectRef": obj,
        "responseStatus": {"code": code},
        "requestReceivedTimestamp": format!("2026-11-20T10:00:{n:02}.000000Z"),
        "annotations": {"authorization.k8s.io/decision": decision},
    }))
}

/// Requests on secrets of every scope, with a known answer for `report secrets`.
fn secrets_log(k: &Kaudit) {
    let lines = vec![
        // 1-2: a pod's ServiceAccount gets the secret twice (bound token: pod in extra).
        event(json!({
            "auditID": id(1),
            "requestURI": "/api/v1/namespaces/prod/secrets/db",
            "user": {"username": "system:serviceaccount:prod:api", "extra": {
                "authentication.kubernetes.io/pod-name": ["api-1"],
                "authentication.kubernetes.io/pod-uid": ["u-1"],
                "authentication.kubernetes.io/node-name": ["n1"]}},
            "userAgent": "api/1.0",
            "sourceIPs": ["10.1.0.5"],
            "objectRef": {"resource": "secrets", "namespace": "prod", "name": "db"},
            "requestReceivedTimestamp": "2026-11-20T10:00:01.000000Z",
        })),
        event(json!({
            "auditID": id(2),
            "requestURI": "/api/v1/namespaces/prod/secrets/db",
            "user": {"username": "system:serviceaccount:prod:api", "extra": {
                "authentication.kubernetes.io/pod-name": ["api-1"]}},
            "userAgent": "api/1.0",
            "sourceIPs": ["10.1.0.5"],
            "objectRef": {"resource": "secrets", "namespace": "prod", "name": "db"},
            "requestReceivedTimestamp": "2026-11-20T10:00:02.000000Z",
        })),
        // 3: a kubelet watches it by field selector; objectRef has no name (older apiserver).
        secret_request(
            3,
            "system:node:n1",
            "watch",
            "/api/v1/namespaces/prod/secrets?fieldSelector=metadata.name%3Ddb&watch=true",
            json!({"resource": "secrets", "namespace": "prod"}),
            200,
        ),
        // 4: someone lists every secret of prod and is refused.
        secret_request(
            4,
            "mallory",
            "list",
            "/api/v1/namespaces/prod/secrets",
            json!({"resource": "secrets", "namespace": "prod"}),
            403,
        ),
        // 5: a controller lists the whole cluster's secrets.
        secret_request(
            5,
            "system:kube-controller-manager",
            "list",
            "/api/v1/secrets",
            json!({"resource": "secrets"}),
            200,
        ),
        // 6: ci-bot impersonates the ServiceAccount and reads the secret.
        event(json!({
            "auditID": id(6),
            "requestURI": "/api/v1/namespaces/prod/secrets/db",
            "user": {"username": "ci-bot"},
            "impersonatedUser": {"username": "system:serviceaccount:prod:api"},
            "objectRef": {"resource": "secrets", "namespace": "prod", "name": "db"},
            "requestReceivedTimestamp": "2026-11-20T10:00:06.000000Z",
        })),
        // 7: another secret in another namespace.
        secret_request(
            7,
            "alice",
            "get",
            "/api/v1/namespaces/dev/secrets/other",
            json!({"resource": "secrets", "namespace": "dev", "name": "other"}),
            200,
        ),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);
}

fn row<'a>(rows: &'a [Value], user: &str, scope: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["user"] == user && r["scope"] == scope)
        .unwrap_or_else(|| panic!("no {scope} row for {user}: {rows:#?}"))
}

#[test]
fn secrets_report_gives_scope_both_identities_and_pods() {
    let k = Kaudit::new();
    secrets_log(&k);
    let report = k.report("secrets", &[]);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6, "{rows:#?}");

    let sa = row(rows, "system:serviceaccount:prod:api", "object");
    assert_eq!(sa["namespace"], "prod");
    assert_eq!(sa["name"], "db");
    assert_eq!(sa["serviceAccount"], "prod/api");
    assert_eq!(sa["pods"], json!(["prod/api-1"]));
    assert_eq!(sa["verbs"], json!({"get": 2}));
    assert_eq!(
        (sa["allowed"].as_u64(), sa["forbidden"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(sa["first"], "2026-11-20T10:00:01.000000Z");
    assert_eq!(sa["last"], "2026-11-20T10:00:02.000000Z");
    assert_eq!(sa["sourceIPs"], json!(["10.1.0.5"]));
    assert_eq!(sa["userAgents"], json!(["api/1.0"]));

    let kubelet = row(rows, "system:node:n1", "object");
    assert_eq!(kubelet["name"], "db", "named by its field selector");
    assert_eq!(kubelet["verbs"], json!({"watch": 1}));

    let refused = row(rows, "mallory", "namespace");
    assert_eq!(refused["name"], Value::Null);
    assert_eq!(
        (refused["allowed"].as_u64(), refused["forbidden"].as_u64()),
        (Some(0), Some(1))
    );

    let cluster = row(rows, "system:kube-controller-manager", "cluster");
    assert_eq!(cluster["namespace"], Value::Null);

    let impersonated = row(rows, "ci-bot", "object");
    assert_eq!(
        impersonated["impersonatedUser"],
        "system:serviceaccount:prod:api"
    );
    assert_eq!(impersonated["serviceAccount"], "prod/api");
    assert_eq!(
        impersonated["pods"],
        json!([]),
        "the impersonator is not the pod"
    );
}

#[test]
fn secrets_report_filters() {
    let k = Kaudit::new();
    secrets_log(&k);
    let users = |args: &[&str]| -> Vec<String> {
        let report = k.report("secrets", args);
        let mut users: Vec<String> = report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["scope"].as_str().unwrap(),
                    r["user"].as_str().unwrap()
                )
            })
            .collect();
        users.sort();
        users
    };
    // The secret, and the namespace- and cluster-wide reads that returned it (not
    // mallory's refused list: it returned nothing).
    assert_eq!(
        users(&["--secret", "prod/db"]),
        [
            "cluster system:kube-controller-manager",
            "object ci-bot",
            "object system:node:n1",
            "object system:serviceaccount:prod:api",
        ]
    );
    assert_eq!(
        users(&["--namespace", "dev"]),
        ["cluster system:kube-controller-manager", "object alice"]
    );
    // Either identity of an impersonated request, and the ServiceAccount by ns/name.
    assert_eq!(
        users(&["--actor", "system:serviceaccount:prod:api"]),
        ["object ci-bot", "object system:serviceaccount:prod:api"]
    );
    assert_eq!(
        users(&["--actor", "prod/api"]),
        ["object ci-bot", "object system:serviceaccount:prod:api"]
    );
    assert_eq!(
        users(&["--since", "2026-11-20T10:00:06Z"]),
        ["object alice", "object ci-bot"]
    );
    assert_eq!(users(&["--where", "user:alice"]), ["object alice"]);
    // A --where that starts with a negation is a query, not an option.
    let not_system = users(&["--secret", "prod/db", "--where", "-user:system:*"]);
    assert_eq!(not_system, ["object ci-bot"]);

    let bad = k.run(&["report", "secrets", "--secret", "db"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("expected NAMESPACE/NAME"),
        "{}",
        bad.stderr
    );
}

#[test]
fn fail_on_findings_exits_1_only_when_something_is_listed() {
    let k = Kaudit::new();
    secrets_log(&k);
    let run = k.run(&[
        "report",
        "secrets",
        "--secret",
        "dev/other",
        "--fail-on-findings",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("flagged"), "{}", run.stderr);
    let run = k.run(&[
        "report",
        "secrets",
        "--actor",
        "nobody",
        "--fail-on-findings",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(k.run(&["report", "secrets", "--actor", "nobody"]).code, 0);
}

fn pod_write(n: u32, verb: &str, level: &str, body: Option<Value>, code: u64) -> String {
    let mut fields = json!({
        "auditID": id(n),
        "level": level,
        "verb": verb,
        "requestURI": "/api/v1/namespaces/prod/pods",
        "user": {"username": "bob"},
        "objectRef": {"resource": "pods", "namespace": "prod", "name": format!("p{n}")},
        "responseStatus": {"code": code},
        "requestReceivedTimestamp": format!("2026-11-20T10:00:{n:02}.000000Z"),
    });
    if let Some(body) = body {
        fields["requestObject"] = body;
    }
    event(fields)
}

#[test]
fn immutability_report_checks_bodies_and_says_what_it_could_not_see() {
    let k = Kaudit::new();
    let privileged = json!({"kind": "Pod", "spec": {
        "hostNetwork": true,
        "containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true}}]}});
    let hardened = json!({"kind": "Pod", "spec": {
        "securityContext": {"runAsNonRoot": true},
        "containers": [{"name": "c", "image": "x", "securityContext": {
            "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]}}}]}});
    let patch =
        json!({"spec": {"containers": [{"name": "c", "securityContext": {"privileged": true}}]}});
    let exec = |n: u32, command: &str| {
        event(json!({
            "auditID": id(n),
            "verb": "create",
            "requestURI": format!("/api/v1/namespaces/prod/pods/p1/exec?{command}&container=c"),
            "user": {"username": "bob"},
            "objectRef": {"resource": "pods", "namespace": "prod", "name": "p1", "subresource": "exec"},
            "responseStatus": {"code": 101},
            "requestReceivedTimestamp": format!("2026-11-20T10:01:{n:02}.000000Z"),
        }))
    };
    let lines = vec![
        pod_write(1, "create", "Request", Some(privileged.clone()), 201),
        pod_write(2, "create", "Request", Some(hardened), 201),
        pod_write(3, "create", "Metadata", None, 201),
        pod_write(4, "patch", "Request", Some(patch), 200),
        pod_write(5, "create", "Request", Some(privileged), 403),
        exec(
            6,
            "command=sh&command=-c&command=id%3B%20cat%20%2Fetc%2Fshadow",
        ),
        exec(7, "command=tar&command=cf&command=-&command=%2Fdata"),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);

    let report = k.report("immutability", &[]);
    let findings = report["findings"].as_array().unwrap();
    let of = |name: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f["name"] == name)
            .map(|f| {
                format!(
                    "{} {}",
                    f["kind"].as_str().unwrap(),
                    f["severity"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        of("p1"),
        [
            "hostNetwork high",
            "privileged high",
            "allowPrivilegeEscalation medium",
            "runAsRoot:default low",
            "readOnlyRootFilesystem:default low"
        ]
    );
    assert!(of("p2").is_empty(), "the hardened pod: {:?}", of("p2"));
    assert_eq!(
        of("p4"),
        ["privileged high", "allowPrivilegeEscalation medium"],
        "a patch: only what it sets (privileged implies escalation), no unset defaults"
    );
    assert_eq!(
        of("p5")[..2],
        ["hostNetwork high", "privileged high"],
        "a refused create is an attempt: listed"
    );
    let codes = |name: &str| -> Vec<&Value> {
        let rows = findings.iter().filter(|f| f["name"] == name);
        rows.map(|f| &f["code"]).collect()
    };
    assert!(codes("p5").iter().all(|c| **c == 403), "with its code");
    assert!(codes("p1").iter().all(|c| **c == 201));
    assert_eq!(findings[0]["severity"], "high", "worst first");

    let runtime = report["runtime"].as_array().unwrap();
    assert_eq!(runtime.len(), 2);
    assert_eq!(runtime[0]["kind"], "exec");
    assert_eq!(
        runtime[0]["command"],
        json!(["sh", "-c", "id; cat /etc/shadow"])
    );
    assert_eq!(runtime[0]["container"], "c");
    assert_eq!(runtime[1]["kind"], "cp", "kubectl cp is an exec of tar");

    let coverage = &report["coverage"][0];
    assert_eq!(coverage["resource"], "pods");
    assert_eq!(
        [
            &coverage["writes"],
            &coverage["inspected"],
            &coverage["unchecked"],
            &coverage["metadataOnly"],
            &coverage["rejected"]
        ],
        [&json!(5), &json!(4), &json!(0), &json!(1), &json!(1)],
        "the refused write's body is inspected too"
    );
    let note = report["notes"]["coverage"].as_str().unwrap();
    assert!(
        note.contains("1 write(s) were logged at Metadata level"),
        "{note}"
    );
    assert!(note.contains("- level: Request"), "{note}");

    // The same checks are searchable.
    assert_eq!(
        k.count("@privileged-pods"),
        3,
        "p1, the patch, and the refused p5"
    );
    // p1 and p5 leave the root filesystem writable by default; nobody wrote `false`.
    assert_eq!(k.count("risk:readOnlyRootFilesystem:default"), 2);
    assert_eq!(k.count("risk:readOnlyRootFilesystem"), 0);
    assert_eq!(k.count("risk:readOnlyRootFilesystem*"), 2);

    let high = k.run(&[
        "report",
        "immutability",
        "--min-severity",
        "high",
        "--format",
        "json",
    ]);
    let high: Value = serde_json::from_str(&high.stdout).unwrap();
    assert_eq!(high["findings"].as_array().unwrap().len(), 5);
    let table = k.run(&["report", "immutability", "--fail-on-findings"]);
    assert_eq!(table.code, 1);
    assert!(
        table.stdout.contains("sh -c 'id; cat /etc/shadow'"),
        "{}",
        table.stdout
    );
}

#[test]
fn serviceaccounts_report_links_tokens_pods_and_creators() {
    let k = Kaudit::new();
    let as_pod = |n: u32, pod: &str, node: &str, verb: &str, resource: &str, code: u64| {
        event(json!({
            "auditID": id(n),
            "verb": verb,
            "user": {"username": "system:serviceaccount:prod:api", "extra": {
                "authentication.kubernetes.io/pod-name": [pod],
                "authentication.kubernetes.io/pod-uid": [format!("uid-{pod}")],
                "authentication.kubernetes.io/node-name": [node]}},
            "objectRef": {"resource": resource, "namespace": "prod", "name": "x"},
            "responseStatus": {"code": code},
            "requestReceivedTimestamp": format!("2026-11-20T10:00:{n:02}.000000Z"),
        }))
    };
    let lines = vec![
        as_pod(1, "api-1", "n1", "get", "configmaps", 200),
        as_pod(2, "api-1", "n1", "get", "secrets", 200),
        as_pod(3, "api-2", "n2", "list", "pods", 403),
        event(json!({
            "auditID": id(4),
            "level": "Request",
            "verb": "create",
            "user": {"username": "alice"},
            "objectRef": {"resource": "pods", "namespace": "prod", "name": "api-1"},
            "requestObject": {"kind": "Pod", "spec": {"serviceAccountName": "api", "containers": []}},
            "responseStatus": {"code": 201},
        })),
        event(json!({
            "auditID": id(5),
            "level": "Request",
            "verb": "create",
            "user": {"username": "system:node:n1"},
            "objectRef": {"resource": "serviceaccounts", "namespace": "prod", "name": "api", "subresource": "token"},
            "requestObject": {"kind": "TokenRequest", "spec": {"boundObjectRef": {"kind": "Pod", "name": "api-1"}}},
            "responseStatus": {"code": 201},
        })),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);
    let report = k.report("serviceaccounts", &["--sa", "prod/api"]);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let sa = &rows[0];
    assert_eq!(sa["serviceAccount"], "prod/api");
    assert_eq!(
        (sa["requests"].as_u64(), sa["forbidden"].as_u64()),
        (Some(3), Some(1))
    );
    let pods: Vec<String> = sa["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{} {} {} {}", p["pod"], p["uid"], p["node"], p["requests"]))
        .collect();
    assert_eq!(
        pods,
        [
            r#""prod/api-1" "uid-api-1" "n1" 2"#,
            r#""prod/api-2" "uid-api-2" "n2" 1"#
        ]
    );
    assert_eq!(sa["secretsRead"], json!(["prod/x"]));
    assert_eq!(sa["topVerbs"], json!({"get": 2, "list": 1}));
    assert_eq!(sa["createdPods"][0]["by"], "alice");
    assert_eq!(sa["createdPodsOmitted"], 0);
    assert_eq!(sa["createdPods"][0]["name"], "api-1");
    assert_eq!(sa["tokenRequests"][0]["by"], "system:node:n1");
    assert_eq!(sa["tokenRequests"][0]["boundPods"], json!(["api-1"]));
}

#[test]
fn stats_counts_requests_and_the_bytes_of_every_stage() {
    let k = Kaudit::new();
    let received =
        event(json!({"auditID": id(1), "stage": "RequestReceived", "responseStatus": null}));
    let complete = event(json!({"auditID": id(1)}));
    let other = event(json!({"auditID": id(2), "user": {"username": "bob"}, "verb": "list"}));
    let bytes = |lines: &[&String]| lines.iter().map(|l| l.len() as u64).sum::<u64>();
    let (alice_bytes, bob_bytes) = (bytes(&[&received, &complete]), bytes(&[&other]));
    k.ingest(&[&k.write("audit.log", &[received, complete, other])]);
    let report = k.report("stats", &[]);
    assert_eq!(report["total"]["requests"], 2);
    assert_eq!(report["total"]["bytes"], alice_bytes + bob_bytes);
    let users = report["users"].as_array().unwrap();
    assert_eq!(users[0]["user"], "alice", "largest first");
    assert_eq!(users[0]["requests"], 1);
    assert_eq!(users[0]["bytes"], alice_bytes);
    let share = users[0]["share"].as_f64().unwrap();
    let expected = alice_bytes as f64 / (alice_bytes + bob_bytes) as f64;
    assert!((share - expected).abs() < 0.0001, "{share} vs {expected}");
    assert_eq!(report["talkers"][1]["user"], "bob");
    assert_eq!(report["talkers"][1]["verb"], "list");
    assert_eq!(report["hours"][0]["hour"], "2026-11-20T10:00:00.000000Z");
    let top = k.report("stats", &["--top", "1"]);
    assert_eq!(top["users"].as_array().unwrap().len(), 1);
}

#[test]
fn report_formats_sections_and_hostile_text() {
    let k = Kaudit::new();
    let evil = event(json!({
        "userAgent": "x\u{1b}]0;pwned\u{7}|y",
        "objectRef": {"resource": "secrets", "namespace": "a", "name": "=cmd|' /C calc'!A0"},
    }));
    k.ingest(&[&k.write("audit.log", &[evil])]);
    let table = k.run(&["report", "secrets"]);
    assert_eq!(table.code, 0);
    assert!(!table.stdout.contains('\u{1b}'), "{}", table.stdout);
    assert!(
        table.stdout.contains("x\\x1b]0;pwned\\x07|y"),
        "{}",
        table.stdout
    );
    let csv = k.run(&["report", "secrets", "--format", "csv"]);
    assert!(
        csv.stdout.starts_with("namespace,name,scope,"),
        "{}",
        csv.stdout
    );
    assert!(
        csv.stdout.contains("'=cmd"),
        "formula neutralized: {}",
        csv.stdout
    );
    let md = k.run(&["report", "secrets", "--format", "markdown"]);
    assert!(
        md.stdout.starts_with("# kaudit report secrets"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("x\\\\x1b\\]0;pwned\\\\x07\\|y"),
        "{}",
        md.stdout
    );
    let json = k.report("secrets", &[]);
    assert_eq!(
        json["rows"][0]["userAgents"][0], "x\u{1b}]0;pwned\u{7}|y",
        "JSON exact"
    );

    // CSV is one table: the main one, or the one --section names.
    let csv = k.run(&[
        "report",
        "immutability",
        "--format",
        "csv",
        "--section",
        "coverage",
    ]);
    assert!(
        csv.stdout
            .starts_with("resource,writes,inspected,unchecked,metadataOnly,rejected"),
        "{}",
        csv.stdout
    );
    let bad = k.run(&["report", "stats", "--section", "nope"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("its sections: total, talkers, users"),
        "{}",
        bad.stderr
    );
}

#[test]
fn secret_scopes_follow_the_verb_and_the_first_field_selector() {
    let k = Kaudit::new();
    let lines = vec![
        // Every Opaque secret of prod: the name in a second selector is ignored by the
        // apiserver, and so by kaudit.
        secret_request(
            1,
            "eve",
            "list",
            "/api/v1/namespaces/prod/secrets?fieldSelector=type%3DOpaque&fieldSelector=metadata.name%3Dharmless",
            json!({"resource": "secrets", "namespace": "prod"}),
            200,
        ),
        // The secret named db in every namespace.
        secret_request(
            2,
            "eve",
            "list",
            "/api/v1/secrets?fieldSelector=metadata.name%3Ddb",
            json!({"resource": "secrets"}),
            200,
        ),
        // A create whose name is generated: one secret, not the whole namespace.
        secret_request(
            3,
            "bob",
            "create",
            "/api/v1/namespaces/prod/secrets",
            json!({"resource": "secrets", "namespace": "prod"}),
            201,
        ),
        // Anonymous and refused by authentication (401): neither allowed nor forbidden.
        secret_request(
            4,
            "system:anonymous",
            "get",
            "/api/v1/namespaces/prod/secrets/db",
            json!({"resource": "secrets", "namespace": "prod", "name": "db"}),
            401,
        ),
        // A custom resource that happens to be called secrets.
        event(json!({
            "auditID": id(5),
            "user": {"username": "vault"},
            "objectRef": {"resource": "secrets", "apiGroup": "vault.example.com", "namespace": "prod", "name": "db"},
        })),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);
    let report = k.report("secrets", &[]);
    let rows: Vec<String> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} allowed={} forbidden={}",
                r["namespace"], r["name"], r["scope"], r["user"], r["allowed"], r["forbidden"]
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            r#"null "db" "object" "eve" allowed=1 forbidden=0"#,
            r#""prod" null "object" "bob" allowed=1 forbidden=0"#,
            r#""prod" null "namespace" "eve" allowed=1 forbidden=0"#,
            r#""prod" "db" "object" "system:anonymous" allowed=0 forbidden=0"#,
        ]
    );
    // The every-namespace read of db is one of prod/db's, and of every namespace's.
    let of_db = k.report("secrets", &["--secret", "prod/db"]);
    assert_eq!(of_db["rows"].as_array().unwrap().len(), 3, "{of_db:#}");
    let dev = k.report("secrets", &["--namespace", "dev"]);
    assert_eq!(dev["rows"][0]["name"], "db", "{dev:#}");
}

#[test]
fn runtime_rows_are_what_the_apiserver_ran() {
    let k = Kaudit::new();
    let pods = |n: u32, verb: &str, sub: &str, query: &str, level: &str, body: Value| {
        event(json!({
            "auditID": id(n),
            "level": level,
            "verb": verb,
            "requestURI": format!("/api/v1/namespaces/prod/pods/p1/{sub}{query}"),
            "objectRef": {"resource": "pods", "namespace": "prod", "name": "p1", "subresource": sub},
            "requestObject": body,
            "responseStatus": {"code": 200},
            "requestReceivedTimestamp": format!("2026-11-20T10:00:{n:02}.000000Z"),
        }))
    };
    let privileged_debugger = json!({"spec": {"ephemeralContainers": [{"name": "dbg", "image": "busybox",
        "securityContext": {"privileged": true}}]}});
    let lines = vec![
        // The first container= counts; keys are decoded as the apiserver decodes them.
        pods(
            1,
            "create",
            "exec",
            "?command=sh&comman%64=-c&comman%64=id&container=app&container=sidecar",
            "Metadata",
            Value::Null,
        ),
        // A read of the ephemeral containers opens nothing.
        pods(2, "get", "ephemeralcontainers", "", "Metadata", Value::Null),
        // kubectl debug --profile=sysadmin: a privileged ephemeral container.
        pods(
            3,
            "patch",
            "ephemeralcontainers",
            "",
            "Request",
            privileged_debugger,
        ),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);
    let report = k.report("immutability", &[]);
    let runtime = report["runtime"].as_array().unwrap();
    assert_eq!(runtime.len(), 2, "{runtime:#?}");
    assert_eq!(runtime[0]["command"], json!(["sh", "-c", "id"]));
    assert_eq!(runtime[0]["container"], "app");
    assert_eq!(runtime[1]["kind"], "ephemeral");
    assert_eq!(runtime[1]["container"], "dbg");
    let findings: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {} {}", f["resource"], f["container"], f["kind"]))
        .collect();
    assert_eq!(
        findings,
        [
            r#""pods/ephemeralcontainers" "dbg" "privileged""#,
            r#""pods/ephemeralcontainers" "dbg" "allowPrivilegeEscalation""#,
        ]
    );
    assert_eq!(k.count("@privileged-pods"), 1);
}

#[test]
fn patches_and_dry_runs_are_judged_by_what_they_do() {
    let k = Kaudit::new();
    let running = json!({"kind": "Pod", "spec": {"containers": [{"name": "c", "image": "x",
        "securityContext": {"privileged": true}}]}});
    let restart =
        json!({"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}});
    let lines = vec![
        // An annotation-only patch logged at RequestResponse: the response shows the
        // pod's existing privileged container, which the patcher did not add.
        event(json!({
            "auditID": id(1),
            "level": "RequestResponse",
            "verb": "patch",
            "user": {"username": "argo"},
            "objectRef": {"resource": "pods", "namespace": "prod", "name": "p1"},
            "requestObject": restart,
            "responseObject": running.clone(),
        })),
        // A server-side dry run started nothing.
        event(json!({
            "auditID": id(2),
            "level": "Request",
            "verb": "create",
            "requestURI": "/api/v1/namespaces/prod/pods?dryRun=All",
            "user": {"username": "bob"},
            "objectRef": {"resource": "pods", "namespace": "prod", "name": "p2"},
            "requestObject": running,
            "responseStatus": {"code": 201},
        })),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);
    let report = k.report("immutability", &[]);
    assert_eq!(report["findings"], json!([]), "{report:#}");
    assert_eq!(
        report["coverage"][0]["writes"], 1,
        "the dry run is not a write"
    );
    assert_eq!(k.count("risk:*"), 0);
    let sa = k.report("serviceaccounts", &[]);
    assert_eq!(sa["rows"], json!([]), "a dry run created no pod: {sa:#}");
}

/// A write is left out as a server-side dry run only when the apiserver ran it as one.
/// It reads the URI with Go's `req.URL.Query()`, which splits on `&` only, drops a pair
/// holding a `;` or a bad `%` escape, and reads nothing past 10,000 parameters (Go
/// 1.24.12, 1.25.6 and later); it refuses a `dryRun` other than `All`. Every other
/// shape below created its pod (or was refused, and is an attempt listed with its code).
#[test]
fn only_what_the_apiserver_runs_as_a_dry_run_is_left_out() {
    let k = Kaudit::new();
    let padded = format!("dryRun=All{}", "&".repeat(10_000));
    let shapes = [
        ("dry", "prod", "dryRun=All", 201),
        (
            "dry-escaped",
            "prod",
            "fieldManager=kubectl&dry%52un=%41ll",
            201,
        ),
        ("semicolon", "prod", "dryRun=All;", 201),
        ("semicolon-pair", "prod", "dryRun=All;x=1", 201),
        ("bad-escape", "prod", "dryRun=%zz", 201),
        ("bad-escape-key", "prod", "dryRu%6=All", 201),
        ("field-manager", "prod", "fieldManager=dryRun", 201),
        ("other-case", "prod", "dryrun=All", 201),
        ("refused", "prod", "dryRun=all", 400),
        ("padded", "prod", padded.as_str(), 201),
        ("namespace", "dryrun", "", 201),
    ];
    let lines: Vec<String> = shapes
        .iter()
        .zip(1..)
        .map(|((name, ns, query, code), n)| {
            let pod = json!({"kind": "Pod", "metadata": {"name": name},
                "spec": {"serviceAccountName": "builder", "containers": [{"name": "c",
                "image": "busybox", "securityContext": {"privileged": true}}]}});
            event(json!({
                "auditID": id(n),
                "level": "RequestResponse",
                "verb": "create",
                "requestURI": format!("/api/v1/namespaces/{ns}/pods?{query}"),
                "user": {"username": "system:serviceaccount:ci:deployer"},
                "objectRef": {"resource": "pods", "namespace": ns, "name": name},
                "requestObject": pod,
                "responseStatus": {"code": code},
            }))
        })
        .collect();
    k.ingest(&[&k.write("audit.log", &lines)]);
    let real: Vec<&str> = shapes
        .iter()
        .map(|s| s.0)
        .filter(|n| !n.starts_with("dry"))
        .collect();
    let sorted = |mut names: Vec<String>| {
        names.sort();
        names.dedup();
        names
    };
    let mut want = real.clone();
    want.sort();

    let names = |query: &str| sorted(column(&k.rows(query, &[]), "name"));
    assert_eq!(names("@privileged-pods"), want);
    assert_eq!(names("dryrun:true"), ["dry", "dry-escaped"]);
    assert_eq!(names("NOT dryrun:true"), want);

    let report = k.report("immutability", &[]);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(sorted(column(findings, "name")), want, "{report:#}");
    let refused = findings.iter().find(|f| f["name"] == "refused").unwrap();
    assert_eq!(refused["code"], 400, "an attempt, listed with its code");
    assert_eq!(
        report["coverage"],
        json!([{"resource": "pods", "writes": 9, "inspected": 9, "unchecked": 0,
            "metadataOnly": 0, "rejected": 1}])
    );

    // Created pods: every real create (the refused one created nothing).
    let sa = k.report("serviceaccounts", &[]);
    let created: Vec<String> = sa["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| column(row["createdPods"].as_array().unwrap(), "name"))
        .collect();
    let mut want_created: Vec<&str> = want.iter().copied().filter(|n| *n != "refused").collect();
    want_created.sort();
    assert_eq!(sorted(created), want_created, "{sa:#}");
}

#[test]
fn created_pods_are_listed_up_to_a_bound() {
    let k = Kaudit::new();
    let lines: Vec<String> = (1..=205)
        .map(|n| {
            event(json!({
                "auditID": id(n),
                "level": "Request",
                "verb": "create",
                "user": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
                "objectRef": {"resource": "pods", "namespace": "prod", "name": format!("web-{n}")},
                "requestObject": {"kind": "Pod", "spec": {"serviceAccountName": "web", "containers": []}},
                "responseStatus": {"code": 201},
            }))
        })
        .collect();
    k.ingest(&[&k.write("audit.log", &lines)]);
    let report = k.report("serviceaccounts", &["--sa", "prod/web"]);
    assert_eq!(
        report["rows"][0]["createdPods"].as_array().unwrap().len(),
        200
    );
    assert_eq!(report["rows"][0]["createdPodsOmitted"], 5);
    let table = k.run(&["report", "sa", "--section", "createdPods"]);
    assert!(
        table.stdout.contains("5 more create(s) not listed"),
        "{}",
        table.stdout
    );
}

/// A write of pod `p{n}` with `body` as its requestObject; `fields` override the rest.
fn hostile_write(n: u32, verb: &str, body: Value, fields: Value) -> String {
    let mut all = json!({
        "auditID": id(n),
        "level": "Request",
        "verb": verb,
        "requestURI": format!("/api/v1/namespaces/prod/pods/p{n}"),
        "user": {"username": "mallory"},
        "objectRef": {"resource": "pods", "namespace": "prod", "name": format!("p{n}")},
        "responseStatus": {"code": 200},
        "requestReceivedTimestamp": format!("2026-11-20T10:00:{n:02}.000000Z"),
        "requestObject": body,
    });
    for (key, value) in fields.as_object().unwrap() {
        all[key] = value.clone();
    }
    event(all)
}

#[test]
fn privileged_writes_are_flagged_however_the_body_is_spelled_or_refused() {
    let k = Kaudit::new();
    let privileged = json!({"privileged": true});
    let mut deep = json!("bottom");
    for _ in 0..300 {
        deep = json!({"x": deep});
    }
    // Repeated keys: the line is written by hand, Go keeps the last copy.
    let repeated = hostile_write(4, "patch", json!("BODY"), json!({})).replace(
        r#""BODY""#,
        r#"{"spec":{"containers":[{"name":"c","securityContext":{"privileged":false,"privileged":true}}]}}"#,
    );
    let lines = vec![
        // A JSON-patch path with text before its first `/`, which the patch library skips.
        hostile_write(
            1,
            "patch",
            json!([{"op": "add", "value": true,
            "path": "x/spec/containers/0/securityContext/privileged"}]),
            json!({}),
        ),
        // Nested past serde_json's 128 levels elsewhere in the event.
        hostile_write(
            2,
            "patch",
            json!({"spec": {"containers": [{"name": "c",
            "securityContext": privileged}]}, "metadata": {"labels": {}}, "zz": deep}),
            json!({}),
        ),
        // Keys spelled in another case, which older apiservers decode.
        hostile_write(
            3,
            "patch",
            json!({"SPEC": {"Containers": [{"name": "c",
            "SecurityContext": {"Privileged": true}}]}}),
            json!({}),
        ),
        repeated,
        // Refused: an attempt by an unexpected user is a finding.
        hostile_write(
            5,
            "create",
            json!({"kind": "Pod", "spec": {"containers": [{"name": "c",
            "image": "x", "securityContext": privileged}]}}),
            json!({"responseStatus": {"code": 403}, "requestURI": "/api/v1/namespaces/prod/pods"}),
        ),
        // A log shipper dropped `level`: the body is there all the same.
        hostile_write(
            6,
            "patch",
            json!({"spec": {"containers": [{"name": "c",
            "securityContext": privileged}]}}),
            json!({"level": null}),
        ),
        // A salvaged line: part of its body nests too deep to read, and is marked.
        hostile_write(
            7,
            "patch",
            json!({"metadata": {"labels": {"a": "POISON"}}}),
            json!({}),
        )
        .replace(
            "\"POISON\"",
            &format!("{}{}", "[".repeat(1100), "]".repeat(1100)),
        ),
        // Really logged without a body.
        hostile_write(
            8,
            "create",
            json!(null),
            json!({"level": "Metadata",
            "requestURI": "/api/v1/namespaces/prod/pods"}),
        ),
        // The word `dryrun` in a namespace is not a dry run.
        hostile_write(
            9,
            "patch",
            json!({"spec": {"hostPID": true}}),
            json!({
            "requestURI": "/api/v1/namespaces/dryrun/pods/p9",
            "objectRef": {"resource": "pods", "namespace": "dryrun", "name": "p9"}}),
        ),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);

    let names = |query: &str| column(&k.rows(query, &[]), "name");
    let mut flagged = names("risk:privileged");
    flagged.sort();
    assert_eq!(flagged, ["p1", "p2", "p3", "p4", "p5", "p6"]);
    assert_eq!(names("risk:unchecked"), ["p7"]);
    assert_eq!(names("risk:hostPID"), ["p9"]);
    assert_eq!(
        k.count("@privileged-pods"),
        8,
        "all but the write without a body"
    );

    let report = k.report("immutability", &[]);
    let findings = report["findings"].as_array().unwrap();
    let of = |name: &str| -> Vec<String> {
        let rows = findings.iter().filter(|f| f["name"] == name);
        rows.map(|f| format!("{} {} {}", f["kind"], f["code"], f["detail"]).replace('"', ""))
            .collect()
    };
    for n in 1..=6 {
        let code = if n == 5 { 403 } else { 200 };
        assert!(
            of(&format!("p{n}")).contains(&format!(
                "privileged {code} securityContext.privileged: true"
            )),
            "p{n}: {:?}",
            of(&format!("p{n}"))
        );
    }
    assert_eq!(
        of("p7"),
        ["unchecked 200 body could not be checked (salvaged: too-deep)"]
    );
    assert_eq!(of("p8"), Vec::<String>::new());
    assert_eq!(of("p9"), ["hostPID 200 hostPID: true"]);
    assert_eq!(
        report["coverage"],
        json!([{"resource": "pods", "writes": 9, "inspected": 7, "unchecked": 1,
            "metadataOnly": 1, "rejected": 1}])
    );
    let note = report["notes"]["coverage"].as_str().unwrap();
    assert!(
        note.contains("1 write(s) were logged at Metadata level"),
        "{note}"
    );
    assert!(
        note.contains("1 write(s) carried a body kaudit could not read"),
        "{note}"
    );
}

#[test]
fn a_delete_takes_its_dry_run_from_its_body_as_the_apiserver_does() {
    // A delete with a body reads DeleteOptions from it and ignores the URI's dryRun:
    // these deleted for real. Only a logged body that says so, or a body-level event
    // without one, is a dry run; at Metadata level it cannot be told, so it is not one.
    let k = Kaudit::new();
    let delete = |n: u32, level: &str, body: Option<Value>| {
        let mut fields = json!({
            "auditID": id(n),
            "level": level,
            "verb": "delete",
            "requestURI": format!("/api/v1/namespaces/prod/secrets/s{n}?dryRun=All"),
            "objectRef": {"resource": "secrets", "namespace": "prod", "name": format!("s{n}")},
        });
        if let Some(body) = body {
            fields["requestObject"] = body;
        }
        event(fields)
    };
    let options = |dry: Value| json!({"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": dry});
    let lines = [
        delete(1, "Request", Some(options(json!(null)))),
        delete(
            2,
            "Request",
            Some(json!({"kind": "DeleteOptions", "propagationPolicy": "Background"})),
        ),
        delete(3, "Request", Some(options(json!(["All"])))),
        delete(4, "Request", None),
        delete(5, "Metadata", None),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);
    let names = column(&k.rows("dryrun:true", &["--oldest-first"]), "name");
    assert_eq!(names, ["s3", "s4"]);
    assert_eq!(k.count("verb:delete -dryrun:true"), 3);
}
