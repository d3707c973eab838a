//! Every form of the query language, against a small known set of requests.

use serde_json::json;

use crate::common::{Kaudit, column, event, id};

/// Six requests with distinct traits.
fn fixture() -> Kaudit {
    let k = Kaudit::new();
    let sa = |ns: &str, name: &str| format!("system:serviceaccount:{ns}:{name}");
    let lines = [
        // 1: a pod's ServiceAccount reads a secret.
        event(
            json!({"auditID": id(1), "verb": "get", "requestURI": "/api/v1/namespaces/payments/secrets/db-password",
            "user": {"username": sa("payments", "runner"), "groups": ["system:serviceaccounts", "system:authenticated"],
                     "extra": {"authentication.kubernetes.io/pod-name": ["runner-1"], "authentication.kubernetes.io/node-name": ["worker-2"]}},
            "objectRef": {"resource": "secrets", "namespace": "payments", "name": "db-password", "apiVersion": "v1"},
            "requestReceivedTimestamp": "2026-11-20T10:01:00.000000Z"}),
        ),
        // 2: a forbidden list of secrets.
        event(
            json!({"auditID": id(2), "verb": "list", "requestURI": "/api/v1/namespaces/payments/secrets",
            "user": {"username": sa("ci", "deployer"), "groups": ["system:serviceaccounts"]},
            "objectRef": {"resource": "secrets", "namespace": "payments", "apiVersion": "v1"},
            "responseStatus": {"code": 403}, "annotations": {"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""},
            "requestReceivedTimestamp": "2026-11-20T10:02:00.000000Z"}),
        ),
        // 3: an exec.
        event(
            json!({"auditID": id(3), "verb": "create", "sourceIPs": ["203.0.113.10", "10.0.0.1"],
            "requestURI": "/api/v1/namespaces/payments/pods/runner-1/exec?command=sh&command=-c&command=id&container=c",
            "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "payments", "name": "runner-1", "apiVersion": "v1"},
            "responseStatus": {"code": 101}, "user": {"username": "bob", "groups": ["admins"]},
            "requestReceivedTimestamp": "2026-11-20T10:03:00.000000Z"}),
        ),
        // 4: impersonation, a different secret.
        event(
            json!({"auditID": id(4), "verb": "get", "impersonatedUser": {"username": sa("payments", "runner")},
            "user": {"username": "ci-bot"}, "requestURI": "/api/v1/namespaces/payments/secrets/db-backup",
            "objectRef": {"resource": "secrets", "namespace": "payments", "name": "db-backup", "apiVersion": "v1"},
            "requestReceivedTimestamp": "2026-11-20T10:04:00.000000Z"}),
        ),
        // 5: a node reading a configmap with a 404.
        event(
            json!({"auditID": id(5), "verb": "get", "user": {"username": "system:node:worker-1", "groups": ["system:nodes"]},
            "userAgent": "kubelet/v1.31.2 (linux/amd64)", "responseStatus": {"code": 404},
            "objectRef": {"resource": "configmaps", "namespace": "kube-system", "name": "kube-proxy", "apiVersion": "v1"},
            "requestURI": "/api/v1/namespaces/kube-system/configmaps/kube-proxy",
            "requestReceivedTimestamp": "2026-11-20T10:05:00.000000Z"}),
        ),
        // 6: a non-resource URL, rbac group present elsewhere, 500.
        event(
            json!({"auditID": id(6), "verb": "update", "responseStatus": {"code": 500}, "user": {"username": "alice"},
            "objectRef": {"resource": "clusterroles", "name": "edit", "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"},
            "requestURI": "/apis/rbac.authorization.k8s.io/v1/clusterroles/edit",
            "requestReceivedTimestamp": "2026-11-20T10:06:00.000000Z"}),
        ),
    ];
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    k
}

/// The auditID suffixes a query matches, oldest first.
fn ids(k: &Kaudit, query: &str) -> Vec<u32> {
    let rows = k.rows(query, &["--oldest-first"]);
    column(&rows, "auditID")
        .iter()
        .map(|s| s.rsplit('-').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn every_syntax_form() {
    let k = fixture();
    let cases: &[(&str, &[u32])] = &[
        ("", &[1, 2, 3, 4, 5, 6]),
        ("resource:secrets verb:get name:db-password", &[1]),
        ("resource:secrets", &[1, 2, 4]),
        ("sa:ci/deployer", &[2]),
        ("pod:payments/runner-1", &[1]),
        ("node:worker-2", &[1]),
        ("node:worker-1", &[5]),
        ("group:system:nodes", &[5]),
        ("as:system:serviceaccount:payments:runner", &[4]),
        ("as:*", &[4]),
        ("user:\"system:serviceaccount:payments:runner\"", &[1]),
        ("sub:exec", &[3]),
        ("apigroup:rbac.authorization.k8s.io", &[6]),
        ("apigroup:core resource:configmaps", &[5]),
        ("ns:payments -resource:secrets", &[3]),
        ("ns:payments NOT resource:secrets", &[3]),
        ("NOT ns:payments", &[5, 6]),
        ("name:db-*", &[1, 4]),
        ("name:/db-(pass|back).*/", &[1, 4]),
        ("code:403", &[2]),
        ("code:>=400", &[2, 5, 6]),
        ("code:<200", &[3]),
        ("code:4xx", &[2, 5]),
        ("code:!=200", &[2, 3, 5, 6]),
        ("decision:forbid", &[2]),
        ("verb:get OR verb:list", &[1, 2, 4, 5]),
        ("(verb:get OR verb:list) ns:payments", &[1, 2, 4]),
        ("verb:update OR verb:get ns:kube-system", &[5, 6]),
        ("ip:203.0.113.10", &[3]),
        ("ip:10.0.0.1", &[1, 2, 3, 4, 5, 6]),
        ("auditid:00000000-0000-4000-8000-000000000003", &[3]),
        // auditid is a column, not a term: every value form reads it.
        ("auditid:00000000", &[]),
        (
            "auditid:00000000-0000-4000-8000-00000000000*",
            &[1, 2, 3, 4, 5, 6],
        ),
        ("auditid:*", &[1, 2, 3, 4, 5, 6]),
        ("auditid:/.*0{11}[36]/", &[3, 6]),
        ("auditid:/0{11}[36]/", &[]),
        (
            "auditid:!=00000000-0000-4000-8000-000000000003",
            &[1, 2, 4, 5, 6],
        ),
        ("auditid:!=/.*[1-5]/", &[6]),
        (
            "-auditid:00000000-0000-4000-8000-000000000003 ns:payments",
            &[1, 2, 4],
        ),
        (
            "auditid:00000000-0000-4000-8000-000000000003 OR auditid:/.*5/",
            &[3, 5],
        ),
        ("stage:ResponseComplete level:Metadata", &[1, 2, 3, 4, 5, 6]),
        ("ua:kubelet", &[5]),
        ("kubelet", &[5]),
        ("uri:\"secrets/db-password\"", &[1]),
        ("\"namespaces/payments/secrets\"", &[1, 2, 4]),
        ("reason:clusterrolebinding", &[1, 3, 4, 5, 6]),
        ("@forbidden", &[2]),
        ("@exec-into-pods OR @impersonation", &[3, 4]),
        ("name:nothing-like-this", &[]),
    ];
    for (query, want) in cases {
        assert_eq!(ids(&k, query), *want, "query {query:?}");
    }
}

#[test]
fn time_bounds_limit_order_and_count() {
    let k = fixture();
    let rows = k.rows(
        "",
        &[
            "--since",
            "2026-11-20T10:02:00Z",
            "--until",
            "2026-11-20T10:04:00Z",
        ],
    );
    assert_eq!(column(&rows, "auditID"), [id(3), id(2)]);
    // Relative times are counted back from KAUDIT_NOW (or now).
    let run = k
        .command()
        .env("KAUDIT_NOW", "2026-11-20T10:06:30Z")
        .args(["query", "--count", "--since", "2m"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "2");
    let run = k.run(&["query", "--format", "ndjson", "--limit", "2", ""]);
    let newest: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(column(&newest, "auditID"), [id(6), id(5)]);
    assert_eq!(k.count("resource:secrets"), 3);
}

#[test]
fn syntax_errors_show_their_position_and_exit_2() {
    let k = fixture();
    let run = k.run(&["query", "resource:secrets nmae:x"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("column 18"), "{}", run.stderr);
    assert!(run.stderr.contains("unknown field"), "{}", run.stderr);
    assert!(
        run.stderr.contains("                 ^"),
        "caret under the error:\n{}",
        run.stderr
    );
    let run = k.run(&["query", "(verb:get"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = k.run(&["query", "@no-such-query"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown saved query"), "{}", run.stderr);
    let run = k.run(&["query", "name:/[/"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("invalid regex"), "{}", run.stderr);
}

#[test]
fn saved_queries_are_listed_and_user_ones_are_read() {
    let k = fixture();
    let run = k.run(&["queries"]);
    assert_eq!(run.code, 0);
    for name in [
        "@secret-reads",
        "@exec-into-pods",
        "@forbidden",
        "@impersonation",
    ] {
        assert!(run.stdout.contains(name), "{}", run.stdout);
    }
    let dir = k.dir.path().join("config/kaudit/queries");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("mine.toml"),
        "name = \"mine\"\ndescription = \"bob's doings\"\nquery = \"user:bob\"\n",
    )
    .unwrap();
    assert!(k.run(&["queries"]).stdout.contains("bob's doings"));
    assert_eq!(ids(&k, "@mine"), [3]);
}

#[test]
fn a_saved_query_run_alone_sets_the_table_columns_and_order() {
    let k = fixture();
    let dir = k.dir.path().join("config/kaudit/queries");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("secrets.toml"),
        "name = \"secrets\"\ndescription = \"d\"\nquery = \"resource:secrets\"\n\
         columns = [\"auditID\", \"user\", \"name\"]\nsort = \"oldest-first\"\n",
    )
    .unwrap();
    let run = k.run(&["query", "@secrets"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("AUDIT ID") && lines[0].ends_with("NAME"),
        "{}",
        run.stdout
    );
    assert!(lines[1].starts_with(&id(1)), "oldest first: {}", run.stdout);
    assert!(!run.stdout.contains("DECISION"), "{}", run.stdout);
    // Inside a larger query, or with --format json, the saved columns do not apply.
    let run = k.run(&["query", "@secrets verb:get"]);
    assert!(run.stdout.starts_with("TIME"), "{}", run.stdout);
    // The exec query shows the decoded command.
    let run = k.run(&["query", "@exec-into-pods"]);
    assert!(run.stdout.contains("sh -c id"), "{}", run.stdout);

    std::fs::write(
        dir.join("bad.toml"),
        "name = \"bad\"\ndescription = \"d\"\nquery = \"verb:get\"\ncolumns = [\"colour\"]\n",
    )
    .unwrap();
    let run = k.run(&["query", "@bad"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown column \"colour\""),
        "{}",
        run.stderr
    );
    std::fs::write(
        dir.join("bad.toml"),
        "name = \"bad\"\ndescription = \"d\"\nquery = \"verb:get\"\nsort = \"random\"\n",
    )
    .unwrap();
    let run = k.run(&["queries"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("bad.toml") && run.stderr.contains("oldest-first"),
        "{}",
        run.stderr
    );
}

#[test]
fn ip_takes_cidr_blocks_and_classes_and_matches_any_address_of_a_request() {
    let k = Kaudit::new();
    let ips = [
        json!(["203.0.113.9", "10.0.0.5"]), // forwarded: a public claim, a private peer
        json!(["192.168.1.10"]),
        json!(["2001:db8::7"]),
        json!(["127.0.0.1"]),
        json!(["169.254.169.254"]),
        json!(["100.64.3.4"]),
        json!(["fd12::1"]),
        json!(["not-an-address"]),
    ];
    let lines: Vec<String> = ips
        .iter()
        .enumerate()
        .map(|(i, ip)| event(json!({"auditID": id(i as u32 + 1), "sourceIPs": ip})))
        .collect();
    k.ingest(&[&k.write("audit.log", &lines)]);
    let ids = |query: &str| {
        let mut got: Vec<String> = column(&k.rows(query, &[]), "auditID");
        got.sort();
        got.iter()
            .map(|a| a.rsplit('-').next().unwrap().parse::<u32>().unwrap())
            .collect::<Vec<u32>>()
    };
    assert_eq!(ids("ip:10.0.0.0/8"), [1]);
    assert_eq!(ids("ip:192.168.0.0/16"), [2]);
    assert_eq!(ids("ip:2001:db8::/32"), [3]);
    assert_eq!(ids("ip:private"), [1, 2, 6, 7]);
    assert_eq!(ids("ip:loopback"), [4]);
    assert_eq!(ids("ip:linklocal"), [5]);
    // Documentation ranges stand for public addresses.
    assert_eq!(ids("ip:public"), [1, 3]);
    // Some address matches; `-` means none does.
    assert_eq!(ids("-ip:private"), [3, 4, 5, 8]);
    assert_eq!(ids("ip:private ip:public"), [1]);
    // An address is still matched as written.
    assert_eq!(ids("ip:not-an-address"), [8]);
    assert_eq!(ids("ip:10.0.0.5"), [1]);
}

#[test]
fn command_and_uri_are_matched_as_the_apiserver_decodes_them() {
    let k = Kaudit::new();
    let exec = |n: u32, query: &str| {
        event(json!({
            "auditID": id(n),
            "verb": "create",
            "requestURI": format!("/api/v1/namespaces/payments/pods/runner/exec?{query}"),
            "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "payments", "name": "runner"},
        }))
    };
    let lines = [
        exec(
            1,
            "command=sh&command=-c&command=cat%20%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken&container=runner&stdin=true",
        ),
        exec(
            2,
            "command=%2Fbin%2Fbash&container=runner&stdin=true&tty=true",
        ),
        // Go's parser skips a pair with a bad escape: this command never ran.
        exec(3, "command=cat%zz%2Fvar%2Frun%2Fsecrets&command=ls"),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);
    let ids = |query: &str| {
        let mut got = column(&k.rows(query, &[]), "auditID");
        got.sort();
        got
    };
    assert_eq!(ids("command:serviceaccount"), [id(1)]);
    assert_eq!(ids("command:\"cat /var/run/secrets\""), [id(1)]);
    assert_eq!(ids("command:bash"), [id(2)]);
    assert_eq!(ids("command:ls"), [id(3)]);
    assert_eq!(ids("command:secrets"), [id(1)]);
    assert_eq!(ids("command:*"), [id(1), id(2), id(3)]);
    // uri: words are matched after percent-decoding too.
    assert_eq!(ids("uri:serviceaccount"), [id(1)]);
    assert_eq!(ids("uri:\"bin/bash\""), [id(2)]);
}

#[test]
fn image_holds_every_container_image_a_pod_or_workload_body_sets() {
    let k = Kaudit::new();
    let write = |n: u32, verb: &str, resource: &str, body: serde_json::Value| {
        event(json!({
            "auditID": id(n),
            "level": "Request",
            "verb": verb,
            "requestURI": format!("/apis/apps/v1/namespaces/shop/{resource}/web"),
            "objectRef": {"resource": resource, "namespace": "shop", "name": "web"},
            "requestObject": body,
        }))
    };
    let lines = [
        write(
            1,
            "create",
            "pods",
            json!({"kind": "Pod", "spec": {
            "initContainers": [{"name": "init", "image": "busybox:1.36"}],
            "containers": [{"name": "app", "image": "registry.example.com/shop/web:2"},
                           {"name": "side", "image": "docker.io/library/nginx:1.27"}]}}),
        ),
        write(
            2,
            "create",
            "deployments",
            json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "containers": [{"name": "app", "image": "registry.example.com/shop/web:3"}]}}}}),
        ),
        // kubectl set image: a strategic merge patch.
        write(
            3,
            "patch",
            "deployments",
            json!({"spec": {"template": {"spec": {
            "containers": [{"name": "app", "image": "evil.example.net/miner:latest"}]}}}}),
        ),
        // A JSON patch that sets one image.
        write(
            4,
            "patch",
            "pods",
            json!([{"op": "replace", "path": "/spec/containers/0/image", "value": "quay.io/x/y:1"}]),
        ),
        // Not a pod or workload: its body's images are nobody's.
        write(
            5,
            "create",
            "configmaps",
            json!({"data": {"image": "nope"}}),
        ),
    ];
    k.ingest(&[&k.write("audit.log", &lines)]);
    let ids = |query: &str| {
        let mut got = column(&k.rows(query, &[]), "auditID");
        got.sort();
        got
    };
    assert_eq!(ids("image:busybox:1.36"), [id(1)]);
    assert_eq!(ids("image:docker.io/library/nginx:1.27"), [id(1)]);
    assert_eq!(ids("image:registry.example.com/*"), [id(1), id(2)]);
    assert_eq!(ids("image:evil.example.net/*"), [id(3)]);
    assert_eq!(ids("image:quay.io/x/y:1"), [id(4)]);
    assert_eq!(ids("image:*"), [id(1), id(2), id(3), id(4)]);
    // No image from the registry at all: `-` means no value matches. (Request 1 has an
    // image from elsewhere too; "some image outside" is `image:!=`, still to come.)
    assert_eq!(
        ids("image:* -image:/registry\\.example\\.com\\/.*/"),
        [id(3), id(4)]
    );
}

/// A hostile auditID longer than any value tantivy keeps whole (64 KiB) is still found
/// whole, and by a prefix; another sharing its first 64 KiB is another request; a
/// request without one is found by `-auditid:*`.
#[test]
fn an_audit_id_of_any_length_is_found() {
    let k = Kaudit::new();
    let long = format!("{}-end", "a".repeat(70_000));
    let twin = format!("{}-other", "a".repeat(70_000));
    let lines = [
        event(
            json!({"auditID": long, "verb": "get", "user": {"username": "alice"},
            "requestReceivedTimestamp": "2026-11-20T10:01:00.000000Z"}),
        ),
        event(
            json!({"auditID": id(2), "verb": "get", "user": {"username": "bob"},
            "requestReceivedTimestamp": "2026-11-20T10:02:00.000000Z"}),
        ),
        event(
            json!({"auditID": null, "verb": "get", "user": {"username": "carol"},
            "requestReceivedTimestamp": "2026-11-20T10:03:00.000000Z"}),
        ),
        event(
            json!({"auditID": twin, "verb": "get", "user": {"username": "dave"},
            "requestReceivedTimestamp": "2026-11-20T10:04:00.000000Z"}),
        ),
    ];
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    let rows = k.rows(&format!("auditid:{long}"), &[]);
    assert_eq!(column(&rows, "user"), ["alice"]);
    assert_eq!(column(&rows, "auditID"), [long.as_str()]);
    assert_eq!(
        column(&k.rows(&format!("auditid:{twin}"), &[]), "user"),
        ["dave"]
    );
    assert_eq!(k.count(&format!("auditid:!={long}")), 2);
    assert_eq!(k.count("auditid:aaaa*"), 2);
    assert_eq!(k.count(&format!("auditid:{}*", "a".repeat(900))), 2);
    assert_eq!(k.count("auditid:*"), 3);
    // A prefix past the part of a long auditID that is kept cannot be answered: said so.
    let run = k.run(&[
        "query",
        "--count",
        &format!("auditid:{}*", "a".repeat(2000)),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("too long"), "{}", run.stderr);
    let rows = k.rows("-auditid:*", &[]);
    assert_eq!(column(&rows, "user"), ["carol"]);
}
