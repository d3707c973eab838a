//! `kaudit policy eval`: the level an audit Policy gives each indexed request, read from
//! real-shaped events, in every format; a Policy the apiserver would refuse is refused
//! with its lines.

use serde_json::{Value, json};

use crate::common::{Kaudit, event, id};

const POLICY: &str = "\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  # probes are noise
  - level: None
    nonResourceURLs: [\"/healthz*\", /version]
  - level: Metadata
    resources:
    - group: \"\"
      resources: [secrets, configmaps]
  - level: Request
    resources:
    - group: \"\"
      resources: [pods/exec, pods/attach]
  - level: RequestResponse
    verbs: [create, update, patch, delete]
    resources:
    - group: rbac.authorization.k8s.io
  - level: None
    userGroups: [\"system:nodes\"]
  - level: Request
    resources:
    - group: \"\"
      resources: [pods]
      resourceNames: [web]
";

/// The requests: what each is, and the (level, rule) the Policy gives it.
fn requests() -> Vec<(String, &'static str, Value)> {
    let at = |n: u32| format!("2026-11-20T10:00:{n:02}.000000Z");
    let mut out = Vec::new();
    let mut add = |n: u32, fields: Value, level: &'static str, rule: Value| {
        let mut fields = fields;
        fields["auditID"] = json!(id(n));
        fields["requestReceivedTimestamp"] = json!(at(n));
        fields["stageTimestamp"] = json!(at(n));
        out.push((event(fields), level, json!({"level": level, "rule": rule})));
    };
    // A probe: non-resource, prefix match.
    add(
        1,
        json!({"verb": "get", "requestURI": "/healthz/etcd", "objectRef": null}),
        "None",
        json!(0),
    );
    // `/version` is exact: `/version/` is no match, and no other rule takes it.
    add(
        2,
        json!({"verb": "get", "requestURI": "/version/", "objectRef": null}),
        "None",
        Value::Null,
    );
    add(
        3,
        json!({"verb": "get", "requestURI": "/api/v1/namespaces/payments/secrets/db",
        "objectRef": {"resource": "secrets", "namespace": "payments", "name": "db", "apiVersion": "v1"}}),
        "Metadata",
        json!(1),
    );
    add(
        4,
        json!({"verb": "create", "requestURI": "/api/v1/namespaces/default/pods/web/exec?command=sh",
        "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "default", "name": "web", "apiVersion": "v1"}}),
        "Request",
        json!(2),
    );
    add(
        5,
        json!({"verb": "create", "requestURI": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        "objectRef": {"resource": "clusterrolebindings", "name": "admins", "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"}}),
        "RequestResponse",
        json!(3),
    );
    // Groups: a kubelet's read of its pod.
    add(
        6,
        json!({"user": {"username": "system:node:w1", "groups": ["system:nodes", "system:authenticated"]},
        "verb": "get"}),
        "None",
        json!(4),
    );
    // `resourceNames: [web]` takes a get of pod web ...
    add(7, json!({"verb": "get"}), "Request", json!(5));
    // ... but never its create: the apiserver judges a create before it knows the name.
    add(
        8,
        json!({"verb": "create", "requestURI": "/api/v1/namespaces/default/pods"}),
        "None",
        Value::Null,
    );
    out
}

#[test]
fn each_request_gets_the_level_and_rule_the_apiserver_would_give_it() {
    let k = Kaudit::new();
    let (lines, expected): (Vec<String>, Vec<Value>) = requests()
        .into_iter()
        .map(|(line, _, want)| (line, want))
        .unzip();
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    let policy = k.path("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let policy = policy.display().to_string();

    let run = k.run(&["policy", "eval", &policy, "--format", "ndjson"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Oldest first, every column there.
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["auditID"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        (1..=8)
            .map(id)
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    for (row, want) in rows.iter().zip(&expected) {
        assert_eq!(
            json!({"level": row["level"], "rule": row["rule"]}),
            *want,
            "{row}"
        );
        assert_eq!(row["omitStages"], json!(["RequestReceived"]));
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "auditID",
                "time",
                "user",
                "verb",
                "resource",
                "subresource",
                "namespace",
                "name",
                "level",
                "rule",
                "omitStages"
            ]
        );
    }
    // The tally on stderr.
    assert!(
        run.stderr.contains(
            "8 request(s) under this Policy: None 4, Metadata 1, Request 2, RequestResponse 1"
        ),
        "{}",
        run.stderr
    );

    // A query narrows it; nothing matched is exit 1.
    let secrets = k.run(&[
        "policy",
        "eval",
        &policy,
        "--format",
        "json",
        "resource:secrets",
    ]);
    let rows: Value = serde_json::from_str(&secrets.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["level"], "Metadata");
    assert_eq!(k.run(&["policy", "eval", &policy, "user:nobody"]).code, 1);

    // Table and CSV carry the same rows.
    let table = k.run(&["policy", "eval", &policy]).stdout;
    assert!(table.starts_with("AUDIT ID"), "{table}");
    assert_eq!(table.lines().count(), 9);
    let csv = k
        .run(&["policy", "eval", &policy, "--format", "csv"])
        .stdout;
    assert!(csv.starts_with(
        "auditID,time,user,verb,resource,subresource,namespace,name,level,rule,omitStages\n"
    ));
    assert_eq!(csv.lines().count(), 9);
}

#[test]
fn a_policy_the_apiserver_would_refuse_is_refused_with_its_lines() {
    let k = Kaudit::new();
    let log = k.write("audit.log", &[event(json!({}))]);
    k.ingest(&[&log]);
    let policy = k.path("bad.yaml");
    std::fs::write(
        &policy,
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n  verb: [get]\n- level: Metadata\n  nonResourceURLs: [healthz]\n",
    )
    .unwrap();
    let path = policy.display().to_string();
    let run = k.run(&["policy", "eval", &path]);
    assert_eq!(run.code, 2);
    for line in [
        format!("{path}:4: rules[0].level: Unsupported value: \"Everything\""),
        format!("{path}:5: rules[0].verb: unknown field"),
        format!(
            "{path}:7: rules[1].nonResourceURLs[0]: \"healthz\": non-resource URL rules must begin with a '/'"
        ),
    ] {
        assert!(run.stderr.contains(&line), "{line}\nnot in\n{}", run.stderr);
    }
    assert!(run.stdout.is_empty());
    // Warnings alone do not stop it: the apiserver loads such a Policy too.
    std::fs::write(&policy, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  omitStage: [RequestReceived]\n").unwrap();
    let run = k.run(&["policy", "eval", &path, "--format", "ndjson"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "kaudit: warning: {path}:5: rules[0].omitStage: unknown field"
        )),
        "{}",
        run.stderr
    );
    let missing = k.run(&["policy", "eval", "/nonexistent/policy.yaml"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("/nonexistent/policy.yaml"),
        "{}",
        missing.stderr
    );
}

/// The README's worked example: `policies/first-try.yaml` over `sample-logs/`.
#[test]
fn the_sample_policy_over_the_sample_logs_is_as_the_readme_says() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let k = Kaudit::new();
    k.ingest(&[&root.join("sample-logs")]);
    let policy = root.join("policies/first-try.yaml").display().to_string();
    let all = k.run(&["policy", "eval", "--format", "ndjson", &policy]);
    assert!(
        all.stderr.contains(
            "932 request(s) under this Policy: None 55, Metadata 444, Request 309, RequestResponse 124"
        ),
        "{}",
        all.stderr
    );
    let create = k.run(&[
        "policy",
        "eval",
        "--format",
        "ndjson",
        &policy,
        "resource:secrets",
        "verb:create",
    ]);
    let row: Value = serde_json::from_str(create.stdout.trim()).unwrap();
    assert_eq!(
        (&row["name"], &row["level"], &row["rule"]),
        (&json!("db-password"), &json!("RequestResponse"), &json!(1))
    );
    let pods = k.run(&[
        "policy",
        "eval",
        "--format",
        "ndjson",
        &policy,
        "resource:pods -sub:* verb:create",
    ]);
    let levels: Vec<Value> = pods
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["level"].clone())
        .collect();
    assert_eq!(levels, vec![json!("Metadata"); 6]);
}
