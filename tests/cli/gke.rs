//! GKE Cloud Audit Logs: LogEntries exported as JSON lines (a logging sink), as a JSON
//! array (`gcloud logging read --format=json`) and as an `entries.list` answer
//! answer the same questions as the apiserver's own log.

use serde_json::{Value, json};

use crate::common::{Kaudit, column};

/// A secret value planted in a GKE response body: it must never come out.
const PLANTED: &str = "Z2tlLXBsYW50ZWQtcGFzc3dvcmQ=";
const PLANTED_DECODED: &str = "gke-planted-password";

/// One GKE LogEntry as Cloud Logging exports it; `extra` is merged into the payload.
fn entry(n: u32, method: &str, resource_name: &str, who: &str, ip: &str, extra: Value) -> Value {
    let mut payload = json!({
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "serviceName": "k8s.io",
        "methodName": method,
        "resourceName": resource_name,
        "authenticationInfo": {"principalEmail": who},
        "authorizationInfo": [{"granted": true, "permission": method, "resource": resource_name}],
        "requestMetadata": {"callerIp": ip, "callerSuppliedUserAgent": "kubectl/v1.31.0 (linux/amd64) kubernetes/abc"},
        "status": {}
    });
    for (k, v) in extra.as_object().unwrap() {
        payload[k] = v.clone();
    }
    json!({
        "protoPayload": payload,
        "insertId": format!("gke-insert-{n}"),
        "resource": {"type": "k8s_cluster", "labels": {"project_id": "shop-prod", "cluster_name": "web", "location": "europe-west1"}},
        "timestamp": format!("2026-11-20T10:00:{n:02}.123456789Z"),
        "receiveTimestamp": format!("2026-11-20T10:00:{n:02}.200000000Z"),
        "logName": "projects/shop-prod/logs/cloudaudit.googleapis.com%2Fdata_access",
        "labels": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "access granted by RBAC"}
    })
}

fn denied(mut e: Value) -> Value {
    e["protoPayload"]["status"] = json!({"code": 7, "message": "Forbidden"});
    e["protoPayload"]["authorizationInfo"][0]["granted"] = json!(false);
    e["labels"] =
        json!({"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""});
    e
}

/// Entries of a sink's JSON lines file.
fn sink_entries() -> Vec<Value> {
    let secret = json!({"@type": "core.k8s.io/v1.Secret", "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db-password", "namespace": "payments"},
        "data": {"password": PLANTED}, "type": "Opaque"});
    vec![
        entry(
            1,
            "io.k8s.core.v1.secrets.get",
            "core/v1/namespaces/payments/secrets/db-password",
            "ann@example.com",
            "203.0.113.10",
            json!({"response": secret}),
        ),
        denied(entry(
            2,
            "io.k8s.core.v1.secrets.get",
            "core/v1/namespaces/payments/secrets/db-password",
            "mallory@example.com",
            "198.51.100.66",
            json!({}),
        )),
        entry(
            3,
            "io.k8s.core.v1.pods.exec.create",
            "core/v1/namespaces/payments/pods/api-7/exec",
            "bob@example.com",
            "203.0.113.11",
            json!({"requestURI": "/api/v1/namespaces/payments/pods/api-7/exec?command=sh&container=api&stdin=true&tty=true"}),
        ),
        entry(
            4,
            "io.k8s.apps.v1.deployments.patch",
            "apps/v1/namespaces/payments/deployments/api",
            "system:serviceaccount:ci:deployer",
            "10.8.0.4",
            json!({"request": {"@type": "k8s.io/Patch", "spec": {"replicas": 3}}}),
        ),
    ]
}

/// Entries of a `gcloud logging read --format=json` array: a cluster-scoped write,
/// the two entries of one watch (one request), and an entry of another service.
fn array_entries() -> Vec<Value> {
    let mut watch_start = entry(
        20,
        "io.k8s.core.v1.secrets.watch",
        "core/v1/namespaces/payments/secrets",
        "system:serviceaccount:ops:sync",
        "10.8.0.9",
        json!({}),
    );
    watch_start["operation"] = json!({"id": "6a1d5f3e-watch", "producer": "k8s.io", "first": true});
    let mut watch_end = watch_start.clone();
    watch_end["operation"] = json!({"id": "6a1d5f3e-watch", "producer": "k8s.io", "last": true});
    watch_end["timestamp"] = json!("2026-11-20T10:05:00.000000000Z");
    watch_end["insertId"] = json!("gke-insert-21");
    let mut cluster_api = entry(
        22,
        "google.container.v1.ClusterManager.GetCluster",
        "projects/shop-prod/locations/europe-west1/clusters/web",
        "ann@example.com",
        "203.0.113.10",
        json!({}),
    );
    cluster_api["protoPayload"]["serviceName"] = json!("container.googleapis.com");
    vec![
        entry(
            10,
            "io.k8s.authorization.rbac.v1.clusterrolebindings.create",
            "rbac.authorization.k8s.io/v1/clusterrolebindings/break-glass",
            "ann@example.com",
            "203.0.113.10",
            json!({}),
        ),
        watch_start,
        watch_end,
        cluster_api,
    ]
}

fn ingest_both(k: &Kaudit) -> String {
    let lines: Vec<String> = sink_entries().iter().map(Value::to_string).collect();
    let sink = k.write("sink/cloudaudit.googleapis.com/data_access.json", &lines);
    let array = k.path("gcloud-read.json");
    std::fs::write(
        &array,
        serde_json::to_string_pretty(&array_entries()).unwrap(),
    )
    .unwrap();
    k.ingest(&[&sink, &array]).stderr
}

#[test]
fn gke_lines_and_arrays_answer_the_readmes_questions() {
    let k = Kaudit::new();
    let stderr = ingest_both(&k);
    // Four lines, an array of four: the watch's two entries are one request, the
    // cluster-management entry is not Kubernetes audit.
    assert_eq!(k.count(""), 4 + 2, "{stderr}");
    assert!(stderr.contains("1 stages collapsed"), "{stderr}");
    assert!(stderr.contains("rejected: 1"), "{stderr}");
    assert!(stderr.contains("container.googleapis.com"), "{stderr}");

    // Who read the secret, and who was refused.
    let report = k.report("secrets", &[]);
    let rows = report["rows"].as_array().unwrap();
    let reader = |user: &str| {
        rows.iter()
            .find(|r| r["user"] == user)
            .unwrap_or_else(|| panic!("{user} not in {rows:#?}"))
    };
    let ann = reader("ann@example.com");
    assert_eq!(
        (&ann["namespace"], &ann["name"]),
        (&json!("payments"), &json!("db-password"))
    );
    assert_eq!(
        (ann["allowed"].as_u64(), ann["forbidden"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(ann["sourceIPs"], json!(["203.0.113.10"]));
    let mallory = reader("mallory@example.com");
    assert_eq!(
        (mallory["allowed"].as_u64(), mallory["forbidden"].as_u64()),
        (Some(0), Some(1))
    );
    let sync = reader("system:serviceaccount:ops:sync");
    assert_eq!(sync["serviceAccount"], "ops/sync");
    assert_eq!(sync["verbs"], json!({"watch": 1}));

    // Shells into pods.
    let exec = k.rows("@exec-into-pods", &[]);
    assert_eq!(column(&exec, "user"), ["bob@example.com"]);
    assert_eq!(exec[0]["namespace"], "payments");
    assert!(
        exec[0]["requestURI"]
            .as_str()
            .unwrap()
            .contains("command=sh")
    );

    // Fields a query names.
    assert_eq!(
        column(&k.rows("user:mallory@example.com", &[]), "code"),
        ["403"]
    );
    assert_eq!(k.count("ip:198.51.100.66"), 1);
    assert_eq!(
        k.count("ip:10.0.0.0/8"),
        2,
        "the deployer and the watch (one request)"
    );
    assert_eq!(k.count("code:403"), 1);
    assert_eq!(k.count("decision:forbid"), 1);
    assert_eq!(k.count("code:201"), 1, "a create's OK is 201");
    let rbac = k.rows("resource:clusterrolebindings", &[]);
    assert_eq!(rbac[0]["apiGroup"], "rbac.authorization.k8s.io");
    assert_eq!(rbac[0]["namespace"], Value::Null);
    assert_eq!(
        rbac[0]["requestURI"],
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
    );
    let patch = k.rows("verb:patch", &[]);
    assert_eq!(patch[0]["serviceAccount"], "ci/deployer");

    // The origin stays visible on the stored event.
    let run = k.run(&["query", "--format", "json", "user:bob@example.com"]);
    let rows: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    let annotations = &rows[0]["event"]["annotations"];
    assert_eq!(annotations["kaudit.gke/cluster"], "web");
    assert_eq!(annotations["kaudit.gke/insertId"], "gke-insert-3");

    // A second ingest of the same exports adds nothing.
    ingest_both(&k);
    assert_eq!(k.count(""), 6);
}

#[test]
fn a_gke_secret_body_is_redacted_everywhere() {
    let k = Kaudit::new();
    ingest_both(&k);
    let clean = |what: &str, text: &str| {
        for planted in [PLANTED, PLANTED_DECODED] {
            assert!(!text.contains(planted), "{what} holds {planted}: {text}");
        }
    };
    for format in ["table", "json", "ndjson", "csv"] {
        let run = k.run(&["query", "--format", format, ""]);
        clean(&format!("--format {format}"), &run.stdout);
    }
    for report in ["secrets", "stats"] {
        let run = k.run(&["report", report, "--format", "json"]);
        clean(report, &run.stdout);
    }
    let mut files = vec![k.index()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            clean(
                &path.display().to_string(),
                &String::from_utf8_lossy(&bytes),
            );
        }
    }
    // The body itself is kept: only the value is gone.
    let run = k.run(&["query", "--format", "json", "user:ann@example.com verb:get"]);
    let rows: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    let secret = &rows[0]["event"]["responseObject"];
    assert_eq!(secret["metadata"]["name"], "db-password");
    assert!(secret["data"]["password"].is_string(), "{secret}");
    assert!(secret.get("@type").is_none());
}

#[test]
fn an_entries_list_answer_is_read_like_an_array() {
    let k = Kaudit::new();
    let answer = json!({"entries": sink_entries(), "nextPageToken": "next"});
    let doc = k.path("entries.json");
    std::fs::write(&doc, serde_json::to_string_pretty(&answer).unwrap()).unwrap();
    let run = k.ingest(&[&doc]);
    assert_eq!(k.count(""), 4, "{}", run.stderr);
    assert_eq!(k.count("sub:exec"), 1);
    // An audit event with a stray `entries` member is still an event, not a batch.
    let stray = crate::common::event(json!({"auditID": crate::common::id(9), "entries": [1, 2]}));
    k.ingest(&[&k.write("stray.jsonl", std::slice::from_ref(&stray))]);
    assert_eq!(k.count("auditid:00000000-0000-4000-8000-000000000009"), 1);
    // ...also pretty-printed, read as a document.
    let mut pretty: Value = serde_json::from_str(&stray).unwrap();
    pretty["auditID"] = json!(crate::common::id(10));
    let doc = k.path("stray-pretty.json");
    std::fs::write(&doc, serde_json::to_string_pretty(&pretty).unwrap()).unwrap();
    k.ingest(&[&doc]);
    assert_eq!(k.count("auditid:00000000-0000-4000-8000-000000000010"), 1);
}

#[test]
fn a_gke_entry_with_a_hostile_body_is_salvaged_and_still_redacted() {
    let k = Kaudit::new();
    let secret = json!({"kind": "Secret", "metadata": {"name": "db-password"}, "data": {"password": PLANTED}});
    let mut read = entry(
        1,
        "io.k8s.core.v1.secrets.get",
        "core/v1/namespaces/payments/secrets/db-password",
        "eve@example.com",
        "203.0.113.9",
        json!({"response": secret}),
    );
    read["protoPayload"]["response"]["metadata"]["labels"] = json!({"n": "BIG"});
    // A number no JSON parser holds makes the line invalid for a strict parser.
    let line = read.to_string().replace("\"BIG\"", "1e400");
    // A line that parses cannot say it was salvaged.
    let mut forged = entry(
        2,
        "io.k8s.core.v1.pods.get",
        "core/v1/namespaces/a/pods/p",
        "eve@example.com",
        "203.0.113.9",
        json!({}),
    );
    forged["kaudit.salvaged"] = json!("too-long");
    let log = k.write("gke.jsonl", &[line, forged.to_string()]);
    let run = k.ingest(&[&log]);
    assert!(
        run.stderr.contains("salvaged (bad-number)"),
        "{}",
        run.stderr
    );
    assert_eq!(k.count(""), 2);
    let salvaged = k.rows("salvaged:*", &[]);
    assert_eq!(column(&salvaged, "name"), ["db-password"]);
    let run = k.run(&["query", "--format", "json", "salvaged:*"]);
    assert!(!run.stdout.contains(PLANTED), "{}", run.stdout);
    assert!(
        run.stdout.contains("<unreadable: 5 bytes>"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_operations_entries_are_one_request_in_any_order_and_across_runs() {
    // `gcloud logging read` lists newest first: the last entry comes before the first.
    let entries = array_entries();
    let (start, end) = (&entries[1], &entries[2]);
    let k = Kaudit::new();
    let newest = k.write("newest.jsonl", &[end.to_string()]);
    let oldest = k.write("oldest.jsonl", &[start.to_string()]);
    k.ingest(&[&newest]);
    let run = k.ingest(&[&oldest]);
    assert_eq!(k.count(""), 1, "{}", run.stderr);
    let rows = k.rows("", &["--all-stages"]);
    let mut stages = column(&rows, "stage");
    stages.sort();
    assert_eq!(stages, ["ResponseComplete", "ResponseStarted"]);
    // Another watch by the same account, with its own operation, stays apart.
    let mut other = start.clone();
    other["operation"]["id"] = json!("7b2e6a4f-other");
    k.ingest(&[&k.write("other.jsonl", &[other.to_string()])]);
    assert_eq!(k.count(""), 2);
}
