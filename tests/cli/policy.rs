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
    // And `policy check` finds the leak at rule 1 and the blind spot at rule 2.
    let check = k.run(&["policy", "check", "--format", "json", &policy]);
    let report: Value = serde_json::from_str(&check.stdout).unwrap();
    let rows = |section: &str| -> Vec<(Value, Value)> {
        report[section]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["rule"].clone(), r["requests"].clone()))
            .collect()
    };
    assert_eq!(
        rows("leaks"),
        [(json!(1), json!(24)), (json!(1), json!(85))]
    );
    assert_eq!(rows("blindSpots"), [(json!(2), json!(6))]);
    let cost = &report["cost"][0];
    assert_eq!(
        (&cost["today"], &cost["projected"]),
        (&json!(2023535), &json!(1076028))
    );
    assert!(
        report["notes"]["cost"]
            .as_str()
            .unwrap()
            .contains("419 with none to learn from")
    );
}

/// One request of each kind `policy check` watches, at Metadata today.
fn watched_requests() -> Vec<String> {
    let at = |n: u32| format!("2026-11-20T10:{n:02}:00.000000Z");
    let mut lines = Vec::new();
    let mut add = |n: u32, fields: Value| {
        let mut fields = fields;
        fields["auditID"] = json!(id(n));
        fields["requestReceivedTimestamp"] = json!(at(n));
        fields["stageTimestamp"] = json!(at(n));
        lines.push(event(fields));
    };
    let obj = |resource: &str, sub: Option<&str>, group: &str, ns: &str, name: &str| {
        let mut o =
            json!({"resource": resource, "namespace": ns, "name": name, "apiVersion": "v1"});
        if let Some(sub) = sub {
            o["subresource"] = json!(sub);
        }
        if !group.is_empty() {
            o["apiGroup"] = json!(group);
        }
        o
    };
    add(
        1,
        json!({"verb": "get", "objectRef": obj("secrets", None, "", "payments", "db")}),
    );
    add(
        2,
        json!({"verb": "create", "objectRef": obj("secrets", None, "", "payments", "db")}),
    );
    add(
        3,
        json!({"verb": "create", "objectRef": obj("serviceaccounts", Some("token"), "", "ci", "deployer")}),
    );
    add(
        4,
        json!({"verb": "create", "objectRef": obj("tokenreviews", None, "authentication.k8s.io", "", "")}),
    );
    add(
        5,
        json!({"verb": "create", "objectRef": obj("pods", None, "", "web", "nginx")}),
    );
    add(
        6,
        json!({"verb": "create", "objectRef": obj("pods", Some("exec"), "", "web", "nginx")}),
    );
    add(
        7,
        json!({"verb": "create", "objectRef": obj("clusterrolebindings", None, "rbac.authorization.k8s.io", "", "admins")}),
    );
    add(
        9,
        json!({"verb": "update", "objectRef": obj("configmaps", None, "", "payments", "settings")}),
    );
    // A pod create that logged its body: what the others' bodies are estimated from.
    add(
        8,
        json!({"verb": "create", "level": "Request", "objectRef": obj("pods", None, "", "web", "app"),
        "requestObject": {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "app"},
            "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1"}]}}}),
    );
    lines
}

fn check(k: &Kaudit, policy: &str, extra: &[&str]) -> (i32, Value) {
    let path = k.path("check.yaml");
    std::fs::write(&path, policy).unwrap();
    let path = path.display().to_string();
    let mut args = vec!["policy", "check", &path, "--format", "json"];
    args.extend(extra);
    let run = k.run(&args);
    (
        run.code,
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr)),
    )
}

fn whats(report: &Value, section: &str) -> Vec<(String, Value, u64)> {
    report[section]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["what"]
                    .as_str()
                    .unwrap()
                    .split(' ')
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" "),
                r["rule"].clone(),
                r["requests"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn check_finds_each_leak_and_blind_spot_with_its_rule_and_fix() {
    let k = Kaudit::new();
    let log = k.write("audit.log", &watched_requests());
    k.ingest(&[&log]);
    // Everything at RequestResponse: every leak.
    let everything =
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n";
    let (code, report) = check(&k, everything, &["--fail-on-findings"]);
    assert_eq!(code, 1);
    assert_eq!(
        whats(&report, "leaks"),
        [
            ("Secret values in".into(), json!(0), 1), // the create's request
            ("Secret values in".into(), json!(0), 1), // the get's response
            ("a ServiceAccount token".into(), json!(0), 1),
            ("the reviewed bearer".into(), json!(0), 1),
        ]
    );
    assert_eq!(whats(&report, "blindSpots"), []);
    // ConfigMaps are no leak, but said.
    let note = report["notes"]["leaks"].as_str().unwrap();
    assert!(
        note.contains("logs the body of 1 ConfigMap request(s) (rule 0: 1)"),
        "{note}"
    );
    // Nothing logged: every blind spot, no leak.
    let nothing = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n";
    let (_, report) = check(&k, nothing, &[]);
    assert_eq!(whats(&report, "leaks"), []);
    assert_eq!(
        whats(&report, "blindSpots"),
        [
            ("pod and workload".into(), json!(0), 2),
            ("exec, attach, port-forward".into(), json!(0), 1),
            ("RBAC changes logged".into(), json!(0), 1),
            ("secret reads and".into(), json!(0), 2),
        ]
    );
    // None writes nothing.
    let cost = &report["cost"][0];
    assert_eq!(
        (&cost["measure"], &cost["projected"]),
        (&json!("bytes"), &json!(0))
    );
    // Each fix, added first, clears what it is for.
    let fixes: Vec<String> = report["blindSpots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fix"].as_str().unwrap().to_string())
        .collect();
    let fixed = format!(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{}\n- level: RequestResponse\n",
        fixes.join("\n")
    );
    let (code, report) = check(&k, &fixed, &["--fail-on-findings"]);
    assert_eq!(
        (whats(&report, "leaks"), whats(&report, "blindSpots")),
        (vec![], vec![])
    );
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn check_projects_bytes_and_says_when_it_estimates() {
    let k = Kaudit::new();
    let log = k.write("audit.log", &watched_requests());
    k.ingest(&[&log]);
    // Pod creates at Request: one of the two logged no body today, so its body is
    // estimated from the other's, and the projection is a lower bound.
    let policy = |level: &str| {
        format!(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n\
             - level: {level}\n  resources: [{{resources: [pods]}}]\n\
             - level: Metadata\n  resources: [{{resources: [pods]}}]\n\
             - level: None\n"
        )
    };
    let (_, report) = check(&k, &policy("Request"), &[]);
    let rules = report["rules"].as_array().unwrap();
    assert_eq!(rules[0]["requests"], 2, "{rules:#?}");
    assert!(
        rules[0]["note"]
            .as_str()
            .unwrap()
            .starts_with("lower bound")
    );
    assert!(
        rules[1]["note"]
            .as_str()
            .unwrap()
            .starts_with("never matches: rule 0")
    );
    assert_eq!(rules[2]["requests"], 7);
    assert_eq!(rules[2]["projectedBytes"], 0);
    assert!(
        report["notes"]["cost"]
            .as_str()
            .unwrap()
            .contains("lower bound")
    );
    // Against Metadata, Request adds the logged body once (one stage after
    // RequestReceived) and the same again as the estimate for the other create.
    let (_, metadata) = check(&k, &policy("Metadata"), &[]);
    let bytes = |r: &Value| r["rules"][0]["projectedBytes"].as_u64().unwrap();
    let body = serde_json::to_string(
        &json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "app"},
        "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1"}]}}),
    )
    .unwrap()
    .len() as u64;
    assert_eq!(bytes(&report) - bytes(&metadata), 2 * body);
    assert!(
        !metadata["notes"]["cost"]
            .as_str()
            .unwrap()
            .contains("lower bound")
    );
}

/// `policy suggest` writes a Policy that loads, that `policy check` finds clean on the
/// traffic it was written from, and that says what each rule took.
#[test]
fn a_suggested_policy_loads_and_checks_clean() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let k = Kaudit::new();
    let log = k.write("watched.log", &watched_requests());
    k.ingest(&[&root.join("sample-logs"), &log]);
    let yaml = k.run(&["policy", "suggest"]);
    assert_eq!(yaml.code, 0, "{}", yaml.stderr);
    assert!(
        yaml.stdout
            .contains("# `kaudit policy check` on it: 0 leak(s), 0 blind spot(s)."),
        "{}",
        yaml.stdout
    );
    assert!(
        yaml.stdout
            .contains("users: [\"system:kube-controller-manager\""),
        "{}",
        yaml.stdout
    );
    for (name, text) in [
        ("suggested.yaml", yaml.stdout.clone()),
        (
            "suggested.json",
            k.run(&["policy", "suggest", "--format", "json"]).stdout,
        ),
    ] {
        let path = k.path(name);
        std::fs::write(&path, &text).unwrap();
        let path = path.display().to_string();
        let check = k.run(&[
            "policy",
            "check",
            "--fail-on-findings",
            "--format",
            "json",
            &path,
        ]);
        assert_eq!(check.code, 0, "{name}: {}\n{}", check.stdout, check.stderr);
        let report: Value = serde_json::from_str(&check.stdout).unwrap();
        assert_eq!(
            (
                report["leaks"].as_array().unwrap().len(),
                report["blindSpots"].as_array().unwrap().len()
            ),
            (0, 0)
        );
        // Every rule takes something in the traffic it was learnt from.
        for rule in report["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| !r["rule"].is_null())
        {
            assert!(rule["requests"].as_u64().unwrap() > 0, "{name}: {rule}");
        }
        assert!(check.stderr.is_empty(), "{}", check.stderr);
    }
}

/// What a review found: the decisions and advice that differed from the apiserver's.
#[test]
fn decisions_follow_the_url_the_apiserver_read_and_advice_names_the_first_rule() {
    let k = Kaudit::new();
    let at = |n: u32| format!("2026-11-20T10:00:{n:02}.000000Z");
    let mut lines = Vec::new();
    let mut add = |n: u32, fields: Value| {
        let mut fields = fields;
        fields["auditID"] = json!(id(n));
        fields["requestReceivedTimestamp"] = json!(at(n));
        fields["stageTimestamp"] = json!(at(n));
        lines.push(event(fields));
    };
    // A percent-escaped non-resource path.
    add(
        1,
        json!({"verb": "get", "requestURI": "/metric%73", "objectRef": null}),
    );
    // A cluster-scoped create whose objectRef got its namespace from the body.
    add(
        2,
        json!({"verb": "create", "requestURI": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        "objectRef": {"resource": "clusterrolebindings", "namespace": "kube-system", "name": "x",
            "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"}}),
    );
    // Secret read and write; a custom `jobs` of another group.
    add(
        3,
        json!({"verb": "get", "requestURI": "/api/v1/namespaces/a/secrets/s",
        "objectRef": {"resource": "secrets", "namespace": "a", "name": "s", "apiVersion": "v1"}}),
    );
    add(
        4,
        json!({"verb": "create", "requestURI": "/api/v1/namespaces/a/secrets",
        "objectRef": {"resource": "secrets", "namespace": "a", "name": "s", "apiVersion": "v1"}}),
    );
    add(
        5,
        json!({"verb": "create", "requestURI": "/apis/batch.volcano.sh/v1alpha1/namespaces/a/jobs",
        "objectRef": {"resource": "jobs", "namespace": "a", "name": "j", "apiGroup": "batch.volcano.sh", "apiVersion": "v1alpha1"}}),
    );
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    let path = k.path("p.yaml");
    std::fs::write(
        &path,
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n\
         - level: None\n  nonResourceURLs: [/metrics]\n\
         - level: None\n  namespaces: [kube-system]\n\
         - level: RequestResponse\n  verbs: [get]\n\
         - level: Request\n  verbs: [create]\n  resources: [{resources: [secrets]}]\n\
         - level: Metadata\n",
    )
    .unwrap();
    let path = path.display().to_string();
    let eval = k.run(&["policy", "eval", "--format", "ndjson", &path]);
    let rules: Vec<Value> = eval
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["rule"].clone())
        .collect();
    assert_eq!(rules, [json!(0), json!(4), json!(2), json!(3), json!(4)]);
    let check = k.run(&["policy", "check", "--format", "json", &path]);
    let report: Value = serde_json::from_str(&check.stdout).unwrap();
    // Rule 2 leaks the read, rule 3 the write: the one fix goes before rule 2.
    let note = report["notes"]["leaks"].as_str().unwrap();
    assert!(note.starts_with("Add, before rule 2:"), "{note}");
    // The custom `jobs` is no workload of Kubernetes: no blind spot (the RBAC write at
    // Metadata is one).
    let blind: Vec<&str> = report["blindSpots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["what"].as_str().unwrap())
        .collect();
    assert_eq!(blind.len(), 1, "{blind:?}");
    assert!(blind[0].starts_with("RBAC changes"), "{blind:?}");
    // A suggestion from requests that span no time says no rate per day.
    let one = Kaudit::new();
    let log = one.write("audit.log", &[event(json!({}))]);
    one.ingest(&[&log]);
    let suggested = one.run(&["policy", "suggest"]).stdout;
    let header = suggested.lines().nth(1).unwrap();
    assert!(
        header.starts_with("# Today's log: ") && !header.contains("a day"),
        "{header}"
    );
}
