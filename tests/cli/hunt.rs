//! `kaudit hunt`: the detections (saved queries with a level) run over the history,
//! shipped and the user's, with their levels, tags and hits.

use serde_json::{Value, json};

use crate::common::{Kaudit, event, id};

fn requests() -> Vec<String> {
    let at = |n: u32| format!("2026-11-20T10:{n:02}:00.000000Z");
    let mut lines = Vec::new();
    let mut add = |n: u32, fields: Value| {
        let mut fields = fields;
        fields["auditID"] = json!(id(n));
        fields["requestReceivedTimestamp"] = json!(at(n));
        fields["stageTimestamp"] = json!(at(n));
        lines.push(event(fields));
    };
    let anonymous = json!({"username": "system:anonymous", "groups": ["system:unauthenticated"]});
    let secrets = json!({"resource": "secrets", "apiVersion": "v1"});
    // Anonymous: a probe of /healthz is public; a read of pods is not.
    add(
        1,
        json!({"user": anonymous, "requestURI": "/healthz", "objectRef": null}),
    );
    add(
        2,
        json!({"user": anonymous, "requestURI": "/api/v1/pods", "verb": "list",
        "objectRef": {"resource": "pods", "apiVersion": "v1"}}),
    );
    // Every secret of the cluster listed: by a person, by a controller, and in one namespace.
    add(
        3,
        json!({"verb": "list", "requestURI": "/api/v1/secrets", "objectRef": secrets}),
    );
    add(
        4,
        json!({"verb": "list", "requestURI": "/api/v1/secrets", "objectRef": secrets,
        "user": {"username": "system:kube-controller-manager"}}),
    );
    add(
        5,
        json!({"verb": "list", "requestURI": "/api/v1/namespaces/payments/secrets",
        "objectRef": {"resource": "secrets", "namespace": "payments", "apiVersion": "v1"}}),
    );
    // A token: minted by a person, and by a kubelet.
    let token = json!({"resource": "serviceaccounts", "subresource": "token", "namespace": "ci",
        "name": "deployer", "apiVersion": "v1"});
    add(
        6,
        json!({"verb": "create", "requestURI": "/api/v1/namespaces/ci/serviceaccounts/deployer/token",
        "objectRef": token}),
    );
    add(
        7,
        json!({"verb": "create", "requestURI": "/api/v1/namespaces/ci/serviceaccounts/deployer/token",
        "objectRef": token, "user": {"username": "system:node:w1", "groups": ["system:nodes"]}}),
    );
    // A shell.
    add(
        8,
        json!({"verb": "create", "requestURI": "/api/v1/namespaces/default/pods/web/exec?command=sh",
        "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "default", "name": "web", "apiVersion": "v1"},
        "responseStatus": {"code": 101}}),
    );
    lines
}

fn hits(k: &Kaudit, args: &[&str]) -> Vec<(String, String, String)> {
    let mut all = vec!["hunt", "--format", "ndjson"];
    all.extend(args);
    let run = k.run(&all);
    run.stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let id = v["auditID"].as_str().unwrap();
            (
                v["rule"].as_str().unwrap().to_string(),
                v["level"].as_str().unwrap().to_string(),
                id[id.len() - 1..].to_string(),
            )
        })
        .collect()
}

#[test]
fn the_shipped_detections_find_what_they_name_and_nothing_near_it() {
    let k = Kaudit::new();
    let log = k.write("audit.log", &requests());
    k.ingest(&[&log]);
    let found = hits(&k, &[]);
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        found,
        [
            s("anonymous-allowed", "high", "2"),
            s("secrets-listed-cluster-wide", "high", "3"),
            s("token-requests-by-people", "medium", "6"),
            s("exec-into-pods", "high", "8"),
        ]
    );
    // --min-level leaves out the medium one; --where narrows; the gate says found.
    let high: Vec<String> = hits(&k, &["--min-level", "high"])
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert!(
        !high.contains(&"token-requests-by-people".to_string()),
        "{high:?}"
    );
    assert_eq!(hits(&k, &["--where", "user:alice"]).len(), 3);
    assert_eq!(k.run(&["hunt", "--fail-on-findings"]).code, 1);
    assert_eq!(
        k.run(&["hunt", "--fail-on-findings", "--where", "user:nobody"])
            .code,
        0
    );
    // The summary, with levels and tags.
    let json: Value = serde_json::from_str(&k.run(&["hunt", "--format", "json"]).stdout).unwrap();
    let exec = json["detections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "exec-into-pods")
        .unwrap()
        .clone();
    assert_eq!(exec["hits"], 1);
    assert_eq!(exec["tags"], json!(["attack.execution", "attack.t1609"]));
    // Most severe first.
    assert_eq!(json["detections"][0]["level"], "critical");
}

#[test]
fn the_users_own_detections_run_too_and_explain_shows_them() {
    let k = Kaudit::new();
    let log = k.write("audit.log", &requests());
    k.ingest(&[&log]);
    let dir = k.path("config/kaudit/queries");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("kubelet-tokens.toml"),
        "name = \"kubelet-tokens\"\ndescription = \"Tokens minted by kubelets\"\n\
         query = 'resource:serviceaccounts sub:token group:system:nodes'\nlevel = \"low\"\ntags = [\"mine\"]\n",
    )
    .unwrap();
    let found = hits(&k, &["--min-level", "low"]);
    assert!(
        found.contains(&("kubelet-tokens".into(), "low".into(), "7".into())),
        "{found:?}"
    );
    let explain = k.run(&["hunt", "--explain"]).stdout;
    assert!(explain.contains("kubelet-tokens [low] Tokens minted by kubelets\n  query: resource:serviceaccounts sub:token group:system:nodes\n  tags: mine"), "{explain}");
    assert!(explain.contains("exec-into-pods [high]"));
    // A level that is none of the four is refused, with the file.
    std::fs::write(
        dir.join("bad.toml"),
        "name = \"bad\"\ndescription = \"\"\nquery = \"verb:get\"\nlevel = \"severe\"\n",
    )
    .unwrap();
    let run = k.run(&["hunt"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("bad.toml") && run.stderr.contains("level = \"severe\""),
        "{}",
        run.stderr
    );
}
