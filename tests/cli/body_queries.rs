//! Queries on what a request carried: `req.`/`resp.`/`body.` paths, `!=` on fields with
//! several values, and `command:` from a body. Every example of the issue is one query
//! here, against hand-written events whose answers are known.

use serde_json::{Value, json};

use crate::common::{Kaudit, column, event, id};

/// A request with a body; `level` is left out when None (forwarders drop it).
fn with_body(
    n: u32,
    verb: &str,
    object_ref: Value,
    level: Option<&str>,
    request: Value,
    response: Option<Value>,
) -> String {
    let mut fields = json!({
        "auditID": id(n), "verb": verb, "objectRef": object_ref,
        "requestObject": request, "level": level,
        "requestReceivedTimestamp": format!("2026-11-20T10:{n:02}:00.000000Z"),
    });
    if let Some(response) = response {
        fields["responseObject"] = response;
    }
    event(fields)
}

fn on(resource: &str, group: &str, ns: Option<&str>, name: &str) -> Value {
    let mut r = json!({"resource": resource, "name": name, "apiGroup": group, "apiVersion": "v1"});
    if let Some(ns) = ns {
        r["namespace"] = json!(ns);
    }
    r
}

fn fixture() -> Kaudit {
    let k = Kaudit::new();
    let rbac = "rbac.authorization.k8s.io";
    let pod = |images: &[&str], init: &[&str]| {
        let c = |list: &[&str]| -> Vec<Value> {
            list.iter()
                .enumerate()
                .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
                .collect()
        };
        json!({"kind": "Pod", "metadata": {"name": "p", "labels": {"app.kubernetes.io/name": "web", "tier": "front"}},
               "spec": {"containers": c(images), "initContainers": c(init)}})
    };
    let long_config = format!(
        "{}\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
        "# filler\n".repeat(700)
    );
    let lines = [
        // 1: a NodePort service.
        with_body(
            1,
            "create",
            on("services", "", Some("web"), "web-np"),
            Some("Request"),
            json!({"kind": "Service", "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}),
            None,
        ),
        // 2: a ClusterIP service.
        with_body(
            2,
            "create",
            on("services", "", Some("web"), "web"),
            Some("Request"),
            json!({"kind": "Service", "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}),
            None,
        ),
        // 3: a ClusterRoleBinding to cluster-admin, logged without `level`.
        with_body(
            3,
            "create",
            on("clusterrolebindings", rbac, None, "mallory-admin"),
            None,
            json!({"kind": "ClusterRoleBinding", "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "cluster-admin"},
                   "subjects": [{"kind": "User", "name": "mallory"}]}),
            None,
        ),
        // 4: a RoleBinding to cluster-admin in one namespace.
        with_body(
            4,
            "create",
            on("rolebindings", rbac, Some("dev"), "dev-admin"),
            Some("RequestResponse"),
            json!({"kind": "RoleBinding", "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}}),
            Some(
                json!({"kind": "RoleBinding", "metadata": {"uid": "u-4", "resourceVersion": "77"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}}),
            ),
        ),
        // 5: a ClusterRole with wildcard verbs and resources.
        with_body(
            5,
            "create",
            on("clusterroles", rbac, None, "everything"),
            Some("Request"),
            json!({"kind": "ClusterRole", "rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}]}),
            None,
        ),
        // 6: a Role granting pods/exec.
        with_body(
            6,
            "create",
            on("roles", rbac, Some("dev"), "exec"),
            Some("Request"),
            json!({"kind": "Role", "rules": [{"apiGroups": [""], "resources": ["pods", "pods/exec"], "verbs": ["get", "create"]}]}),
            None,
        ),
        // 7: a ClusterRole granting nodes/proxy.
        with_body(
            7,
            "update",
            on("clusterroles", rbac, None, "proxy"),
            Some("Request"),
            json!({"kind": "ClusterRole", "rules": [{"resources": ["nodes/proxy"], "verbs": ["get"]}]}),
            None,
        ),
        // 8: a ConfigMap holding an AWS key deep in a long file, and a password.
        with_body(
            8,
            "create",
            on("configmaps", "", Some("dev"), "app-config"),
            Some("Request"),
            json!({"kind": "ConfigMap", "data": {"config.ini": long_config, "DB_PASSWORD": "hunter2", "mode": "prod"}}),
            None,
        ),
        // 9: an Ingress without TLS, 10: with TLS.
        with_body(
            9,
            "create",
            on("ingresses", "networking.k8s.io", Some("web"), "open"),
            Some("Request"),
            json!({"kind": "Ingress", "spec": {"rules": [{"host": "a.example.com"}], "tls": null}}),
            None,
        ),
        with_body(
            10,
            "create",
            on("ingresses", "networking.k8s.io", Some("web"), "secure"),
            Some("Request"),
            json!({"kind": "Ingress", "spec": {"rules": [{"host": "b.example.com"}], "tls": [{"hosts": ["b.example.com"], "secretName": "b-tls"}]}}),
            None,
        ),
        // 11: a CSR for an apiserver client certificate.
        with_body(
            11,
            "create",
            on(
                "certificatesigningrequests",
                "certificates.k8s.io",
                None,
                "csr-x",
            ),
            Some("Request"),
            json!({"kind": "CertificateSigningRequest", "spec": {"signerName": "kubernetes.io/kube-apiserver-client", "usages": ["client auth"]}}),
            None,
        ),
        // 12: a pod with one image outside the registry (an init container).
        with_body(
            12,
            "create",
            on("pods", "", Some("web"), "mixed"),
            Some("Request"),
            pod(
                &["registry.example.com/app:1"],
                &["docker.io/library/busybox:1.36"],
            ),
            None,
        ),
        // 13: a pod whose images all come from the registry.
        with_body(
            13,
            "create",
            on("pods", "", Some("web"), "clean"),
            Some("Request"),
            pod(
                &[
                    "registry.example.com/app:1",
                    "registry.example.com/sidecar:2",
                ],
                &[],
            ),
            None,
        ),
        // 14: a Deployment with 12 replicas on the host network.
        with_body(
            14,
            "patch",
            on("deployments", "apps", Some("web"), "big"),
            Some("Request"),
            json!({"spec": {"replicas": 12, "template": {"spec": {"hostNetwork": true, "containers": [{"name": "a", "image": "nginx:1.27"}]}}}}),
            None,
        ),
        // 15: an exec whose command is in its body only.
        with_body(
            15,
            "create",
            json!({"resource": "pods", "subresource": "exec", "namespace": "web", "name": "mixed", "apiVersion": "v1"}),
            Some("Request"),
            json!({"kind": "PodExecOptions", "stdin": true, "command": ["cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"]}),
            None,
        ),
        // 16: a Secret: its values are never indexed.
        with_body(
            16,
            "create",
            on("secrets", "", Some("dev"), "db"),
            Some("Request"),
            json!({"kind": "Secret", "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "plain-secret-token"}}),
            None,
        ),
        // 17: a hostile key that spells a path with the separator, an empty list, a float.
        with_body(
            17,
            "create",
            on("pods", "", Some("web"), "forged"),
            Some("Request"),
            json!({"kind": "Pod", "spec\u{1}hostNetwork": true, "spec": {"tolerations": [], "ratio": 2.5, "nodeSelector": {"a": null}}}),
            None,
        ),
    ];
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    k
}

/// The audit IDs' numbers a query matches, sorted.
fn ids(k: &Kaudit, query: &str) -> Vec<u32> {
    let mut found: Vec<u32> = column(&k.rows(query, &[]), "auditID")
        .iter()
        .map(|id| id.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    found.sort_unstable();
    found
}

#[test]
fn every_example_of_the_issue_is_one_query() {
    let k = fixture();
    let cases: &[(&str, &[u32])] = &[
        // Who created a NodePort service.
        ("resource:services verb:create req.spec.type:NodePort", &[1]),
        // Who bound a subject to cluster-admin (also without `level`).
        (
            "(resource:clusterrolebindings OR resource:rolebindings) req.roleRef.name:cluster-admin",
            &[3, 4],
        ),
        // Wildcard verbs or resources: the literal `*` is quoted.
        ("req.rules.verbs:\"*\" OR req.rules.resources:\"*\"", &[5]),
        ("req.rules.verbs:*", &[5, 6, 7]),
        (
            "req.rules.resources:pods/exec OR req.rules.resources:nodes/proxy",
            &[6, 7],
        ),
        // An AWS key under any ConfigMap key, past the first 4 KiB of the value.
        ("req.data.*:/AKIA[0-9A-Z]{16}/", &[8]),
        ("req.data.*:/^AKIA/", &[]),
        ("req.data.DB_PASSWORD:*", &[8]),
        ("req.data.*:hunter2", &[8]),
        // An Ingress without TLS: null is absent.
        ("resource:ingresses verb:create -req.spec.tls:*", &[9]),
        ("req.spec.tls.secretName:b-tls", &[10]),
        // A client-certificate CSR.
        (
            "req.spec.signerName:kubernetes.io/kube-apiserver-client",
            &[11],
        ),
        // Images: any container, prefix, and the allow-list question.
        (
            "req.spec.containers.image:registry.example.com/*",
            &[12, 13],
        ),
        ("image:!=registry.example.com/*", &[12, 14]),
        ("-image:registry.example.com/* image:*", &[14]),
        (
            "image:!=/(registry\\.example\\.com|docker\\.io\\/library)\\/.*/",
            &[14],
        ),
        // Numbers and booleans.
        ("req.spec.replicas:>10", &[14]),
        ("req.spec.replicas:>=12 req.spec.replicas:<=12", &[14]),
        ("req.spec.replicas:12", &[14]),
        ("req.spec.replicas:<10", &[]),
        ("req.spec.template.spec.hostNetwork:true", &[14]),
        ("req.spec.ratio:>2", &[17]),
        // Quoted keys, and a `*` segment for any one key.
        (
            "req.metadata.labels.\"app.kubernetes.io/name\":web",
            &[12, 13],
        ),
        ("req.metadata.labels.*:front", &[12, 13]),
        ("req.*.type:NodePort", &[1]),
        // Response bodies, and either body.
        ("resp.metadata.uid:u-4", &[4]),
        ("req.metadata.uid:u-4", &[]),
        ("body.roleRef.name:cluster-admin", &[3, 4]),
        ("resp.roleRef.name:cluster-admin", &[4]),
        // Present: an empty list is present; an object holding only null is too.
        ("req.spec.tolerations:*", &[17]),
        ("req.spec.nodeSelector:*", &[17]),
        ("req.spec.nodeSelector.a:*", &[]),
        ("req.spec:*", &[1, 2, 9, 10, 11, 12, 13, 14, 17]),
        // A key holding the separator is not a path.
        ("req.spec.hostNetwork:true", &[]),
        // `command:` from a body.
        ("command:serviceaccount", &[15]),
        ("command:\"cat /var/run/secrets\"", &[15]),
        // `!=` on a body path: some value other than it.
        ("req.rules.verbs:!=get", &[5, 6]),
    ];
    let mut failures = Vec::new();
    for (query, want) in cases {
        let got = ids(&k, query);
        if got != *want {
            failures.push(format!("{query}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn secret_values_are_never_indexed_only_their_marker() {
    let k = fixture();
    assert_eq!(ids(&k, "req.data.password:aHVudGVyMg=="), Vec::<u32>::new());
    assert_eq!(
        ids(&k, "req.stringData.token:plain-secret-token"),
        Vec::<u32>::new()
    );
    assert_eq!(ids(&k, "body.*.*:/plain-secret/"), Vec::<u32>::new());
    assert_eq!(ids(&k, "req.data.password:/^<redacted/"), vec![16]);
    assert_eq!(ids(&k, "req.stringData.token:*"), vec![16]);
}

#[test]
fn a_body_query_prints_back_as_written_and_explains_its_mistakes() {
    let k = fixture();
    let run = k.run(&["query", "--count", "req.spec.replicas:>ten"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("takes a number on a body field"),
        "{}",
        run.stderr
    );
    let run = k.run(&["query", "--count", "req.metadata..name:x"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("expected a key"), "{}", run.stderr);
    let run = k.run(&["query", "--count", "ua:!=kubectl"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("matched by words"), "{}", run.stderr);
    let run = k.run(&["query", "--count", "req.data.*:/([/"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn not_equal_means_some_value_does_not_match() {
    let k = Kaudit::new();
    let lines = [
        event(
            json!({"auditID": id(1), "user": {"username": "a", "groups": ["system:authenticated"]}, "sourceIPs": ["10.0.0.1"]}),
        ),
        event(
            json!({"auditID": id(2), "user": {"username": "b", "groups": ["system:authenticated", "admins"]}, "sourceIPs": ["203.0.113.9", "10.0.0.2"]}),
        ),
        event(json!({"auditID": id(3), "user": {"username": "c"}, "sourceIPs": ["::1"]})),
    ];
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    assert_eq!(ids(&k, "group:!=system:authenticated"), vec![2]);
    assert_eq!(ids(&k, "-group:system:authenticated"), vec![3]);
    assert_eq!(ids(&k, "group:!=system:*"), vec![2]);
    assert_eq!(ids(&k, "ip:!=10.0.0.0/8"), vec![2, 3]);
    assert_eq!(ids(&k, "ip:!=private"), vec![2, 3]);
    assert_eq!(ids(&k, "user:!=a"), vec![2, 3]);
    assert_eq!(ids(&k, "user:!=/[ab]/"), vec![3]);
}
