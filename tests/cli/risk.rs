//! The derived risk fields of pod and workload writes (`risk`, `cap`, `severity`) as
//! queries find them, and their agreement with `report immutability` request by request.

use serde_json::{Value, json};

use crate::common::{Kaudit, column, event, id};

/// A write of a pod (or of `resource`) whose body is `body`, logged at Request level.
fn write(n: u32, verb: &str, resource: &str, body: Value) -> String {
    event(json!({
        "auditID": id(n),
        "level": "Request",
        "verb": verb,
        "requestURI": format!("/api/v1/namespaces/prod/{resource}"),
        "user": {"username": "bob"},
        "objectRef": {"resource": resource, "namespace": "prod", "name": format!("p{n}")},
        "responseStatus": {"code": 201},
        "requestObject": body,
        "requestReceivedTimestamp": format!("2026-11-20T10:00:{n:02}.000000Z"),
    }))
}

/// A pod whose only container has `security_context`.
fn pod(security_context: Value) -> Value {
    json!({"kind": "Pod", "spec": {"containers": [
        {"name": "c", "image": "x", "securityContext": security_context}]}})
}

/// The audit IDs (as their numbers) a query finds, in order.
fn ids(k: &Kaudit, query: &str) -> Vec<u32> {
    let mut got: Vec<u32> = column(&k.rows(query, &[]), "auditID")
        .iter()
        .map(|a| a.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    got.sort_unstable();
    got
}

const HARDENED: &str = r#"{"runAsNonRoot": true, "allowPrivilegeEscalation": false,
    "readOnlyRootFilesystem": true}"#;

fn hardened_with(extra: Value) -> Value {
    let mut sc: Value = serde_json::from_str(HARDENED).unwrap();
    for (key, value) in extra.as_object().unwrap() {
        sc[key] = value.clone();
    }
    sc
}

#[test]
fn explicit_risks_are_told_from_defaulted_ones() {
    let k = Kaudit::new();
    let lines = [
        // 1: nothing set: every risk is the API's default.
        write(1, "create", "pods", pod(json!({}))),
        // 2: the same risks written in the body.
        write(
            2,
            "create",
            "pods",
            pod(json!({"runAsUser": 0, "allowPrivilegeEscalation": true,
                "readOnlyRootFilesystem": false})),
        ),
        // 3: runAsNonRoot: false is written too, though it only lets the image decide.
        write(
            3,
            "create",
            "pods",
            pod(hardened_with(json!({"runAsNonRoot": false}))),
        ),
        // 4: a patch says nothing about what it leaves out: no default applies.
        write(
            4,
            "patch",
            "pods",
            json!({"metadata": {"labels": {"a": "b"}}}),
        ),
        // 5: hardened.
        write(5, "create", "pods", pod(hardened_with(json!({})))),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);
    for (query, want) in [
        ("risk:runAsRoot", &[2, 3][..]),
        ("risk:runAsRoot:default", &[1]),
        ("risk:runAsRoot*", &[1, 2, 3]),
        ("risk:allowPrivilegeEscalation", &[2]),
        ("risk:allowPrivilegeEscalation:default", &[1]),
        ("risk:readOnlyRootFilesystem", &[2]),
        ("risk:readOnlyRootFilesystem:default", &[1]),
        ("risk:/.*:default/", &[1]),
        ("risk:* -risk:/.*:default/", &[2, 3]),
        ("risk:*", &[1, 2, 3]),
    ] {
        assert_eq!(ids(&k, query), want, "{query}");
    }
    // The report says the same in its kind column.
    let report = k.report("immutability", &[]);
    let kinds = |name: &str| -> Vec<String> {
        let rows = report["findings"].as_array().unwrap().iter();
        let rows = rows.filter(|f| f["name"] == name);
        rows.map(|f| format!("{} {}", f["kind"], f["severity"]).replace('"', ""))
            .collect()
    };
    assert_eq!(
        kinds("p1"),
        [
            "allowPrivilegeEscalation:default low",
            "runAsRoot:default low",
            "readOnlyRootFilesystem:default low"
        ]
    );
    assert_eq!(
        kinds("p2"),
        [
            "allowPrivilegeEscalation medium",
            "runAsRoot medium",
            "readOnlyRootFilesystem low"
        ]
    );
    assert_eq!(kinds("p3"), ["runAsRoot low"]);
    // The table and CSV show the kind as it is queried.
    let table = k.run(&["report", "immutability"]).stdout;
    assert!(table.contains("runAsRoot:default"), "{table}");
    let csv = k.run(&["report", "immutability", "--format", "csv"]).stdout;
    assert!(csv.contains(",runAsRoot:default,"), "{csv}");
    let markdown = k
        .run(&["report", "immutability", "--format", "markdown"])
        .stdout;
    assert!(markdown.contains("runAsRoot:default"), "{markdown}");
}

#[test]
fn cap_holds_each_added_capability_as_runtimes_read_it() {
    let k = Kaudit::new();
    let adds = |caps: Value| hardened_with(json!({"capabilities": {"add": caps}}));
    let lines = [
        write(
            1,
            "create",
            "pods",
            pod(adds(json!(["CAP_sys_admin", "NET_ADMIN"]))),
        ),
        write(2, "create", "pods", pod(adds(json!(["ALL"])))),
        write(3, "create", "pods", pod(adds(json!(["chown", "net_raw"])))),
        // A strategic-merge patch that adds one.
        write(
            4,
            "patch",
            "pods",
            json!({"spec": {"containers": [{"name": "c",
                "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}}),
        ),
        // A Deployment's template.
        write(
            5,
            "create",
            "deployments",
            json!({"kind": "Deployment", "spec": {"template": pod(adds(json!(["SYS_PTRACE"])))}}),
        ),
        // Dropped capabilities are no risk; a ConfigMap holds no pod.
        write(
            6,
            "create",
            "pods",
            pod(hardened_with(json!({"capabilities": {"drop": ["ALL"]}}))),
        ),
        write(
            7,
            "create",
            "configmaps",
            json!({"data": {"add": "SYS_ADMIN"}}),
        ),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);
    for (query, want) in [
        ("cap:SYS_ADMIN", &[1][..]),
        ("cap:NET_ADMIN", &[1, 4]),
        ("cap:ALL", &[2]),
        ("cap:CHOWN cap:NET_RAW", &[3]),
        ("cap:SYS_PTRACE", &[5]),
        ("cap:NET_*", &[1, 3, 4]),
        ("cap:*", &[1, 2, 3, 4, 5]),
        ("risk:capabilities", &[1, 2, 3, 4, 5]),
        // Stored as written by runtimes, matched exactly like every exact field.
        ("cap:CAP_SYS_ADMIN", &[]),
        ("cap:sys_admin", &[]),
        ("-cap:* resource:pods", &[6]),
    ] {
        assert_eq!(ids(&k, query), want, "{query}");
    }
    // The report's cap column: the same names; the detail keeps the body's spelling.
    let report = k.report("immutability", &[]);
    let caps: Vec<(String, Value, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "capabilities")
        .map(|f| {
            let name = f["name"].as_str().unwrap().to_string();
            (name, f["cap"].clone(), f["detail"].as_str().unwrap().into())
        })
        .collect();
    assert_eq!(
        caps[0],
        (
            "p1".into(),
            json!(["SYS_ADMIN", "NET_ADMIN"]),
            "capabilities.add: CAP_sys_admin, NET_ADMIN".into()
        )
    );
    let table = k.run(&["report", "immutability"]).stdout;
    assert!(table.contains("SYS_ADMIN, NET_ADMIN"), "{table}");
}

#[test]
fn severity_is_the_worst_finding_and_compares_by_name() {
    let k = Kaudit::new();
    let lines = [
        // 1: only defaults open: low.
        write(1, "create", "pods", pod(json!({}))),
        // 2: runAsUser: 0 and nothing else open: medium.
        write(
            2,
            "create",
            "pods",
            pod(hardened_with(json!({"runAsUser": 0, "runAsNonRoot": null}))),
        ),
        // 3: privileged: high.
        write(3, "create", "pods", pod(json!({"privileged": true}))),
        // 4: hardened: no finding, no severity.
        write(4, "create", "pods", pod(hardened_with(json!({})))),
        // 5: not a pod write at all.
        event(json!({"auditID": id(5), "verb": "get"})),
        // 6: a body kaudit cannot read (nested past the parser's limit): unchecked,
        // which ranks high.
        write(
            6,
            "create",
            "pods",
            json!({"kind": "Pod", "spec": "POISON"}),
        )
        .replace(
            "\"POISON\"",
            &format!("{}{}", "[".repeat(1100), "]".repeat(1100)),
        ),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);
    for (query, want) in [
        ("severity:low", &[1][..]),
        ("severity:medium", &[2]),
        ("severity:high", &[3, 6]),
        ("severity:HIGH", &[3, 6]),
        ("severity:>=medium", &[2, 3, 6]),
        ("severity:>low", &[2, 3, 6]),
        ("severity:<high", &[1, 2]),
        ("severity:<=medium", &[1, 2]),
        ("severity:!=low", &[2, 3, 6]),
        ("severity:*", &[1, 2, 3, 6]),
        ("-severity:*", &[4, 5]),
        ("severity:high risk:unchecked", &[6]),
        ("severity:>=medium -risk:unchecked", &[2, 3]),
    ] {
        assert_eq!(ids(&k, query), want, "{query}");
    }
    // The report's worst row per request says the same.
    let report = k.report("immutability", &[]);
    let worst = |name: &str| -> String {
        let rows = report["findings"].as_array().unwrap().iter();
        let mut rows = rows.filter(|f| f["name"] == name);
        rows.next().unwrap()["severity"].as_str().unwrap().into()
    };
    let names = ["p1", "p2", "p3", "p6"];
    assert_eq!(names.map(worst), ["low", "medium", "high", "high"]);
    // A number or an unknown name is a syntax error naming the severities.
    for bad in ["severity:2", "severity:>=critical", "severity:h*"] {
        let run = k.run(&["query", bad]);
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("\"severity\" takes low, medium or high"),
            "{bad}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("column 10"), "{bad}: {}", run.stderr);
    }
}

#[test]
fn a_privileged_pod_without_a_level_key_is_found_by_every_field_and_the_report() {
    // Log shippers drop keys: no `level`, but the body is there, so it is checked.
    let k = Kaudit::new();
    let mut body = pod(json!({"privileged": true, "capabilities": {"add": ["CAP_SYS_ADMIN"]}}));
    body["spec"]["hostNetwork"] = json!(true);
    let line = event(json!({
        "auditID": id(1),
        "level": null,
        "verb": "create",
        "requestURI": "/api/v1/namespaces/prod/pods",
        "user": {"username": "mallory"},
        "objectRef": {"resource": "pods", "namespace": "prod", "name": "p1"},
        "responseStatus": {"code": 201},
        "requestObject": body,
    }));
    assert!(!line.contains("\"level\""), "{line}");
    k.ingest(&[&k.write("audit.log", &[line])]);
    for query in [
        "risk:privileged",
        "risk:hostNetwork",
        "risk:capabilities",
        "cap:SYS_ADMIN",
        "severity:high",
        "severity:>=medium",
        "@privileged-pods",
        "-level:*",
    ] {
        assert_eq!(ids(&k, query), [1], "{query}");
    }
    let report = k.report("immutability", &[]);
    let findings = report["findings"].as_array().unwrap();
    let kinds: Vec<&str> = findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "hostNetwork",
            "privileged",
            "capabilities",
            "allowPrivilegeEscalation",
            "runAsRoot:default",
            "readOnlyRootFilesystem:default"
        ]
    );
    assert_eq!(findings[2]["cap"], json!(["SYS_ADMIN"]));
    assert_eq!(findings[0]["severity"], "high");
    assert_eq!(
        report["coverage"],
        json!([{"resource": "pods", "writes": 1, "inspected": 1, "unchecked": 0,
            "metadataOnly": 0, "rejected": 0}])
    );
}
