//! `report immutability`'s workloads table: a verdict per workload, why, its writable
//! surface and the hardening seen, on the cases of issue 18's story.

use serde_json::{Value, json};

use crate::common::{Kaudit, event};

fn write(
    n: u32,
    verb: &str,
    resource: &str,
    ns: &str,
    name: &str,
    at: &str,
    body: Value,
) -> String {
    let mut fields = json!({
        "auditID": format!("00000000-0000-4000-8000-{n:012}"),
        "level": "Request", "verb": verb, "user": {"username": "alice@example.com"},
        "requestURI": format!("/api/v1/namespaces/{ns}/{resource}"),
        "objectRef": {"resource": resource, "namespace": ns, "name": name, "apiVersion": "v1"},
        "responseStatus": {"code": 201},
        "requestReceivedTimestamp": at, "stageTimestamp": at,
    });
    if !body.is_null() {
        fields["requestObject"] = body;
    }
    if resource == "deployments" {
        fields["objectRef"]["apiGroup"] = json!("apps");
    }
    event(fields)
}

/// An exec into pod `ns/name` with the URI's query `query`, at 2026-11-20T`at`Z.
fn exec(n: u32, ns: &str, name: &str, query: &str, at: &str) -> String {
    let at = format!("2026-11-20T{at}Z");
    event(
        json!({"auditID": format!("00000000-0000-4000-8000-{n:012}"), "verb": "create",
        "user": {"username": "bob@example.com"},
        "requestURI": format!("/api/v1/namespaces/{ns}/pods/{name}/exec?{query}"),
        "objectRef": {"resource": "pods", "subresource": "exec", "namespace": ns, "name": name, "apiVersion": "v1"},
        "responseStatus": {"code": 101}, "requestReceivedTimestamp": at, "stageTimestamp": at}),
    )
}

fn pod(name: &str, spec: Value) -> Value {
    json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": name}, "spec": spec})
}

/// The workloads table of the report, by name.
fn workloads(k: &Kaudit) -> Vec<Value> {
    let report = k.report("immutability", &[]);
    report["workloads"]
        .as_array()
        .expect("a workloads table")
        .clone()
}

fn row<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row {name}: {rows:#?}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_workload_gets_a_verdict_with_its_reasons_and_writable_surface() {
    let k = Kaudit::new();
    let mutable_nginx = json!({"containers": [{"name": "nginx", "image": "nginx:1.27",
        "securityContext": {"privileged": true, "allowPrivilegeEscalation": true,
            "runAsUser": 0, "readOnlyRootFilesystem": false}}]});
    let immutable_nginx = json!({
        "securityContext": {"runAsNonRoot": true, "runAsUser": 101},
        "containers": [{"name": "nginx", "image": "nginx@sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac",
            "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "cache", "mountPath": "/var/cache/nginx"},
                {"name": "run", "mountPath": "/var/run"}]}],
        "volumes": [{"name": "cache", "emptyDir": {}}, {"name": "run", "emptyDir": {}}]});
    let httpd = json!({"containers": [{"name": "httpd", "image": "httpd:2.4",
        "securityContext": {"runAsUser": 1000, "allowPrivilegeEscalation": false},
        "startupProbe": {"exec": {"command": ["rm", "/bin/bash"]}}}]});
    let deployment = json!({"kind": "Deployment", "metadata": {"name": "shop"},
        "spec": {"template": {"spec": immutable_nginx.clone()}}});
    let set_image = json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.28"}]}}}});
    let lines = [
        write(
            1,
            "create",
            "pods",
            "web",
            "nginx",
            "2026-11-20T10:00:00Z",
            pod("nginx", mutable_nginx),
        ),
        write(
            2,
            "create",
            "pods",
            "web",
            "nginx",
            "2026-11-20T10:05:00Z",
            pod("nginx", immutable_nginx.clone()),
        ),
        write(
            3,
            "create",
            "pods",
            "web",
            "httpd",
            "2026-11-20T10:01:00Z",
            pod("httpd", httpd),
        ),
        write(
            4,
            "create",
            "deployments",
            "shop",
            "shop",
            "2026-11-20T10:02:00Z",
            deployment,
        ),
        write(
            5,
            "patch",
            "deployments",
            "shop",
            "shop",
            "2026-11-20T10:03:00Z",
            set_image,
        ),
        write(
            6,
            "update",
            "deployments",
            "shop",
            "legacy",
            "2026-11-20T10:04:00Z",
            Value::Null,
        ),
        exec(
            7,
            "web",
            "nginx",
            "command=apt-get&command=install&command=-y&command=curl&container=nginx",
            "10:06:00",
        ),
        // `kubectl cp ./conf nginx:/var/cache/nginx/conf`: tar extracting into the pod.
        exec(
            8,
            "web",
            "nginx",
            "command=tar&command=xmf&command=-&command=-C&command=%2Fvar%2Fcache%2Fnginx%2Fconf",
            "10:07:00",
        ),
        exec(
            9,
            "web",
            "httpd",
            "command=sh&command=-c&command=echo%20x%20%3E%2Fusr%2Flocal%2Fapache2%2Fhtdocs%2Findex.html",
            "10:08:00",
        ),
        exec(
            10,
            "web",
            "nginx",
            "command=cat&command=%2Fetc%2Fnginx%2Fnginx.conf",
            "10:09:00",
        ),
    ];
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    let rows = workloads(&k);

    // Created privileged, then (deleted and) recreated hardened: the latest spec counts.
    let nginx = row(&rows, "nginx");
    assert_eq!(nginx["verdict"], "immutable", "{nginx:#}");
    assert_eq!(
        strings(&nginx["writablePaths"]),
        [
            "nginx: /var/cache/nginx (emptyDir)",
            "nginx: /var/run (emptyDir)"
        ]
    );
    assert_eq!(
        strings(&nginx["hardening"]),
        [
            "nginx: read-only root",
            "nginx: non-root",
            "nginx: drops ALL"
        ]
    );
    assert_eq!(nginx["imagePinned"], "yes");
    assert_eq!(nginx["revisions"], 2);

    // Sessions into it: an install outside its writable paths, a copy into one of them,
    // and a read, which is no attempt.
    assert_eq!(
        (&nginx["runtimeSessions"], &nginx["mutationAttempts"]),
        (&json!(3), &json!(2))
    );
    let report = k.report("immutability", &[]);
    let runtime = report["runtime"].as_array().unwrap();
    let session = |n: u32| {
        let id = format!("00000000-0000-4000-8000-{n:012}");
        runtime
            .iter()
            .find(|r| r["auditID"] == id.as_str())
            .unwrap()
            .clone()
    };
    let install = session(7);
    assert_eq!(install["workload"], "Pod/nginx");
    assert_eq!(
        strings(&install["mutationAttempt"]),
        ["apt-get install -y curl"]
    );
    assert_eq!(
        install["writable"],
        "no: read-only root, outside its writable paths"
    );
    let copy = session(8);
    assert_eq!(copy["kind"], "cp");
    assert_eq!(copy["writable"], "yes: /var/cache/nginx (emptyDir)");
    let redirect = session(9);
    assert_eq!(
        strings(&redirect["mutationAttempt"]),
        ["echo x > /usr/local/apache2/htdocs/index.html"]
    );
    assert_eq!(redirect["writable"], "yes: root filesystem writable");
    let read = session(10);
    assert_eq!(strings(&read["mutationAttempt"]), Vec::<String>::new());
    assert_eq!(read["writable"], Value::Null);

    // As of 10:02, before the recreate: the privileged draft, four reasons.
    let draft = k.report("immutability", &["--at", "2026-11-20T10:02:00Z"]);
    let then = row(draft["workloads"].as_array().unwrap(), "nginx").clone();
    assert_eq!(then["verdict"], "mutable");
    assert_eq!(
        strings(&then["reasons"]),
        [
            "nginx: privileged",
            "nginx: allowPrivilegeEscalation",
            "nginx: runAsRoot",
            "nginx: readOnlyRootFilesystem"
        ]
    );
    // Up to T included: the recreate at 10:05 counts as of 10:05.
    let at_recreate = k.report("immutability", &["--at", "2026-11-20T10:05:00Z"]);
    let now = row(at_recreate["workloads"].as_array().unwrap(), "nginx").clone();
    assert_eq!(now["verdict"], "immutable");
    let both = k.run(&[
        "report",
        "immutability",
        "--at",
        "10:00",
        "--until",
        "10:00",
    ]);
    assert_eq!(both.code, 2, "{}", both.stderr);

    // Tools removed at start, but a writable root: hardening seen, still mutable.
    let httpd = row(&rows, "httpd");
    assert_eq!(httpd["verdict"], "mutable");
    assert_eq!(
        strings(&httpd["reasons"]),
        ["httpd: readOnlyRootFilesystem:default"]
    );
    assert_eq!(
        strings(&httpd["hardening"]),
        [
            "httpd: non-root",
            "httpd: removes tools at start (rm /bin/bash)"
        ]
    );

    // A Deployment patched with a new image: a revision, the verdict of its spec.
    let shop = row(&rows, "shop");
    assert_eq!(
        (&shop["kind"], &shop["verdict"]),
        (&json!("Deployment"), &json!("immutable"))
    );
    assert_eq!(shop["revisions"], 2);
    assert!(
        shop["lastChange"]
            .as_str()
            .unwrap()
            .contains("patch by alice@example.com")
    );

    // Logged at Metadata level only: unknown, and said why.
    let legacy = row(&rows, "legacy");
    assert_eq!(legacy["verdict"], "unknown");
    assert_eq!(
        strings(&legacy["reasons"]),
        ["no body logged (Metadata level)"]
    );

    // Each spec write carries its own verdict; a gate can stop on the mutable ones.
    assert_eq!(
        ["mutable", "immutable", "unknown"].map(|v| k.count(&format!("verdict:{v}"))),
        [2, 2, 2]
    );
    assert_eq!(k.count("@mutable-workloads"), 2);
    assert_eq!(
        k.count("verdict:unknown verb:patch"),
        1,
        "the set-image patch"
    );
    let gate = |verdict: &str| {
        let args = [
            "report",
            "immutability",
            "--where",
            verdict,
            "--fail-on-findings",
        ];
        k.run(&args).code
    };
    assert_eq!((gate("verdict:mutable"), gate("verdict:immutable")), (1, 0));

    // The table shows the workloads first (the report's default view).
    let table = k.run(&["report", "immutability"]).stdout;
    assert!(table.starts_with("Workloads"), "{table}");
    let csv = k.run(&["report", "immutability", "--format", "csv"]).stdout;
    assert!(csv.starts_with("namespace,kind,name,verdict"), "{csv}");
}

#[test]
fn pods_are_grouped_under_their_controllers_with_their_sessions() {
    let k = Kaudit::new();
    let spec = json!({"containers": [{"name": "app", "image": "app:1",
        "securityContext": {"readOnlyRootFilesystem": true, "runAsNonRoot": true,
            "allowPrivilegeEscalation": false}}]});
    let deployment =
        json!({"metadata": {"name": "api"}, "spec": {"template": {"spec": spec.clone()}}});
    let rs = json!({"metadata": {"name": "api-6b9f5", "ownerReferences": [
        {"kind": "Deployment", "name": "api", "controller": true}]},
        "spec": {"template": {"spec": spec.clone()}}});
    let owned_pod = json!({"metadata": {"name": "api-6b9f5-k2x7q", "ownerReferences": [
        {"kind": "ReplicaSet", "name": "api-6b9f5", "controller": true}]}, "spec": spec.clone()});
    let exec = event(
        json!({"auditID": "00000000-0000-4000-8000-000000000009", "verb": "create",
        "requestURI": "/api/v1/namespaces/prod/pods/api-6b9f5-k2x7q/exec?command=sh&container=app",
        "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "prod", "name": "api-6b9f5-k2x7q", "apiVersion": "v1"},
        "responseStatus": {"code": 101}, "requestReceivedTimestamp": "2026-11-20T10:10:00Z"}),
    );
    let mut rs_write = write(
        2,
        "create",
        "replicasets",
        "prod",
        "api-6b9f5",
        "2026-11-20T10:01:00Z",
        rs,
    );
    rs_write = rs_write.replace(
        "\"apiVersion\":\"v1\",\"name\":\"api-6b9f5\"",
        "\"apiGroup\":\"apps\",\"apiVersion\":\"v1\",\"name\":\"api-6b9f5\"",
    );
    let lines = [
        write(
            1,
            "create",
            "deployments",
            "prod",
            "api",
            "2026-11-20T10:00:00Z",
            deployment,
        ),
        rs_write,
        write(
            3,
            "create",
            "pods",
            "prod",
            "api-6b9f5-k2x7q",
            "2026-11-20T10:02:00Z",
            owned_pod,
        ),
        exec,
    ];
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    let rows = workloads(&k);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let api = &rows[0];
    assert_eq!(
        (&api["kind"], &api["name"]),
        (&json!("Deployment"), &json!("api"))
    );
    assert_eq!(api["verdict"], "immutable", "{api:#}");
    assert_eq!(strings(&api["pods"]), ["api-6b9f5-k2x7q"]);
    assert_eq!(api["runtimeSessions"], 1);
    // The controller's ReplicaSet and pod creates are not revisions of the Deployment.
    assert_eq!(api["revisions"], 1);
}

#[test]
fn revisions_list_each_spec_edit_with_what_it_changed() {
    let k = Kaudit::new();
    let spec = |image: &str| {
        json!({"containers": [{"name": "app", "image": image,
            "securityContext": {"readOnlyRootFilesystem": true, "runAsNonRoot": true,
                "allowPrivilegeEscalation": false}}]})
    };
    let deployment = |image: &str, rv: &str| {
        json!({"kind": "Deployment", "metadata": {"name": "api", "resourceVersion": rv},
            "spec": {"template": {"spec": spec(image)}}})
    };
    let rs = json!({"kind": "ReplicaSet", "metadata": {"name": "api-6b9f5", "ownerReferences": [
        {"kind": "Deployment", "name": "api", "controller": true}]},
        "spec": {"replicas": 3, "template": {"spec": spec("app:1")}}});
    let owned_pod = json!({"kind": "Pod", "metadata": {"name": "api-6b9f5-k2x7q", "ownerReferences": [
        {"kind": "ReplicaSet", "name": "api-6b9f5", "controller": true}]}, "spec": spec("app:1")});
    let edit = json!({"spec": {"containers": [{"name": "app",
        "securityContext": {"privileged": true}}]}});
    let set_image = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "app:3"}]}}}});
    let apps = |line: String| {
        line.replace(
            "\"apiVersion\":\"v1\",",
            "\"apiGroup\":\"apps\",\"apiVersion\":\"v1\",",
        )
    };
    // Out of time order in the log: revisions are told in time order all the same.
    let lines = [
        write(
            2,
            "update",
            "deployments",
            "prod",
            "api",
            "2026-11-20T10:05:00Z",
            deployment("app:2", "11"),
        ),
        write(
            1,
            "create",
            "deployments",
            "prod",
            "api",
            "2026-11-20T10:00:00Z",
            deployment("app:1", "10"),
        ),
        apps(write(
            3,
            "update",
            "replicasets",
            "prod",
            "api-6b9f5",
            "2026-11-20T10:01:00Z",
            rs,
        )),
        write(
            4,
            "create",
            "pods",
            "prod",
            "api-6b9f5-k2x7q",
            "2026-11-20T10:02:00Z",
            owned_pod,
        ),
        write(
            5,
            "patch",
            "pods",
            "prod",
            "api-6b9f5-k2x7q",
            "2026-11-20T10:03:00Z",
            edit,
        ),
        write(
            6,
            "patch",
            "deployments",
            "prod",
            "api",
            "2026-11-20T10:06:00Z",
            set_image,
        ),
        write(
            7,
            "update",
            "deployments",
            "prod",
            "api",
            "2026-11-20T10:07:00Z",
            Value::Null,
        ),
    ];
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    let report = k.report("immutability", &[]);
    let revisions = report["revisions"].as_array().expect("a revisions table");
    let told: Vec<(String, String, Vec<String>)> = revisions
        .iter()
        .map(|r| {
            assert_eq!(
                (&r["kind"], &r["name"]),
                (&json!("Deployment"), &json!("api"))
            );
            let id = r["auditID"].as_str().unwrap();
            (
                id[id.len() - 1..].to_string(),
                r["object"].as_str().unwrap().to_string(),
                strings(&r["changes"]),
            )
        })
        .collect();
    let expected = [
        ("1", "Deployment/api", vec!["first Deployment body seen"]),
        // The pod its ReplicaSet created is an instance; the edit of it is a revision.
        (
            "5",
            "Pod/api-6b9f5-k2x7q",
            vec![
                r#"patch ~ spec.containers: [{"name":"app","securityContext":{"privileged":true}}]"#,
            ],
        ),
        (
            "2",
            "Deployment/api",
            vec![r#"~ spec.template.spec.containers[0].image: "app:1" → "app:2""#],
        ),
        (
            "6",
            "Deployment/api",
            vec![r#"patch ~ spec.template.spec.containers: [{"name":"app","image":"app:3"}]"#],
        ),
        (
            "7",
            "Deployment/api",
            vec!["no body logged (audit level Metadata)"],
        ),
    ];
    let expected: Vec<(String, String, Vec<String>)> = expected
        .iter()
        .map(|(n, o, c)| {
            (
                n.to_string(),
                o.to_string(),
                c.iter().map(|s| s.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(told, expected);
    // The ReplicaSet's update is its Deployment controller's doing: not listed, not counted.
    let api = row(report["workloads"].as_array().unwrap(), "api");
    assert_eq!(api["revisions"], revisions.len());
    assert_eq!(
        api["lastChange"],
        "2026-11-20T10:07:00.000000Z update by alice@example.com"
    );
    // The edit of its running pod made it privileged until the next whole spec (whose
    // rollout replaces that pod).
    let at = |t: &str| {
        let report = k.report("immutability", &["--at", t]);
        row(report["workloads"].as_array().unwrap(), "api")["verdict"].clone()
    };
    assert_eq!(
        [
            at("2026-11-20T10:02:00Z"),
            at("2026-11-20T10:04:00Z"),
            api["verdict"].clone()
        ],
        ["immutable", "mutable", "immutable"]
    );
    // Each row drills to its one write in the TUI; the table lists the section.
    let table = k
        .run(&["report", "immutability", "--section", "revisions"])
        .stdout;
    assert!(table.starts_with("Revisions"), "{table}");
}
