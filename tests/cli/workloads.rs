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
