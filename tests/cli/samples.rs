//! The README walkthrough on sample-logs/: every scene of the story is found by the
//! command the README shows for it.

use kaudit::synth::facts;

use crate::common::{Kaudit, column};

pub fn samples() -> Kaudit {
    let k = Kaudit::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs");
    let run = k.ingest(&[&dir]);
    assert!(run.stderr.contains("read 3 file(s)"), "{}", run.stderr);
    assert!(run.stderr.contains("rejected: 3"), "{}", run.stderr);
    for line in [
        facts::MALFORMED_LINE,
        facts::WRONG_TYPES_LINE,
        facts::TRUNCATED_LINE,
    ] {
        assert!(
            run.stderr.contains(&format!("audit.log:{line}: ")),
            "line {line}: {}",
            run.stderr
        );
    }
    // Invalid UTF-8 in a userAgent hides nothing: the request is salvaged.
    let salvaged = format!(
        "audit.log:{}: salvaged (invalid-utf8)",
        facts::INVALID_UTF8_LINE
    );
    assert!(run.stderr.contains(&salvaged), "{}", run.stderr);
    k
}

#[test]
fn the_story_is_found_by_the_readme_commands() {
    let k = samples();

    // Who read (or changed) the secret, and from which pod.
    let rows = k.rows("resource:secrets name:db-password", &["--oldest-first"]);
    let users = column(&rows, "user");
    assert_eq!(users.first().map(String::as_str), Some(facts::ADMIN));
    assert_eq!(users.iter().filter(|u| *u == facts::SA_USERNAME).count(), 3);
    let pods: Vec<&serde_json::Value> = rows
        .iter()
        .map(|r| &r["pod"])
        .filter(|p| !p.is_null())
        .collect();
    assert!(pods.iter().all(|p| *p == facts::POD), "{pods:?}");
    assert!(
        rows.iter().any(
            |r| r["user"] == facts::IMPERSONATOR && r["impersonatedUser"] == facts::SA_USERNAME
        )
    );

    // Which pods used the ServiceAccount, on which node.
    let sa = k.rows(&format!("sa:{}", facts::SERVICE_ACCOUNT), &[]);
    assert!(!sa.is_empty());
    assert!(
        sa.iter()
            .filter(|r| !r["pod"].is_null())
            .all(|r| r["pod"] == facts::POD && r["node"] == facts::NODE)
    );

    // Who got a shell (and `kubectl cp`, an exec of tar).
    let exec = k.rows("@exec-into-pods", &["--oldest-first"]);
    assert_eq!(column(&exec, "user"), [facts::EXEC_USER; 4]);
    assert_eq!(column(&exec, "verb"), ["create", "create", "get", "create"]);
    assert_eq!(exec[3]["requestURI"], facts::EXEC_INSTALL_URI);
    assert_eq!(exec[0]["requestURI"], facts::EXEC_URI);
    assert_eq!(exec[1]["requestURI"], facts::CP_URI);

    // Forbidden secret lists: the CI ServiceAccount and the anonymous scanner.
    let forbidden = k.rows("resource:secrets decision:forbid", &["--oldest-first"]);
    assert_eq!(
        column(&forbidden, "user"),
        [facts::FORBIDDEN_USER, "system:anonymous"]
    );
    assert_eq!(forbidden[0]["pod"], facts::FORBIDDEN_POD);

    // The privileged pod (its body is in the json format's event).
    let run = k.run(&[
        "query",
        "--format",
        "json",
        "resource:pods verb:create name:debug-tools",
    ]);
    let created: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(created.len(), 1);
    let spec = &created[0]["event"]["requestObject"]["spec"];
    assert_eq!(spec["containers"][0]["securityContext"]["privileged"], true);
    // Found by what it asked for (the other high-severity write is nginx's first
    // draft, privileged but without SYS_ADMIN nor host namespaces).
    assert_eq!(
        column(&k.rows("severity:high", &["--oldest-first"]), "name"),
        ["debug-tools", "nginx"]
    );
    for query in ["cap:SYS_ADMIN", "risk:hostPID risk:privileged"] {
        assert_eq!(
            column(&k.rows(query, &[]), "name"),
            ["debug-tools"],
            "{query}"
        );
    }

    // Impersonation.
    assert_eq!(column(&k.rows("as:*", &[]), "user"), [facts::IMPERSONATOR]);

    // The scanner's userAgent is shown escaped in CSV, exact in JSON.
    let csv = k.run(&[
        "query",
        "--format",
        "csv",
        &format!("ip:{}", facts::ANONYMOUS_IP),
    ]);
    assert!(
        csv.stdout.contains("kube-scan/0.3 \\x1b[31mevil\\x1b[0m"),
        "{}",
        csv.stdout
    );
    let json = k.rows(&format!("ip:{}", facts::ANONYMOUS_IP), &[]);
    assert!(
        json.iter()
            .any(|r| r["userAgent"] == facts::ANSI_USER_AGENT)
    );
}

#[test]
fn planted_secret_values_of_the_story_appear_in_no_output() {
    let k = samples();
    for format in ["table", "json", "ndjson", "csv"] {
        let run = k.run(&[
            "query",
            "--format",
            format,
            "--limit",
            "0",
            "--all-stages",
            "",
        ]);
        for planted in [
            facts::PLANTED_SECRET_VALUE_B64,
            facts::PLANTED_PATCH_VALUE_B64,
        ] {
            assert!(!run.stdout.contains(planted), "{format} shows {planted}");
        }
    }
}

#[test]
fn the_overview_answers_the_first_questions() {
    let k = Kaudit::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs");
    let run = k.run(&[dir.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for needle in [
        "@exec-into-pods",
        "@secret-reads",
        "@forbidden",
        "requests from 2026-11-20T08:00",
    ] {
        assert!(
            run.stdout.contains(needle),
            "{needle} missing:\n{}",
            run.stdout
        );
    }
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("@exec-into-pods"))
        .unwrap();
    assert!(line.trim_start().starts_with("4 "), "{line}");
    // Running it again reads nothing twice.
    let again = k.run(&[dir.to_str().unwrap()]);
    assert!(again.stderr.contains("0 new"), "{}", again.stderr);
}

/// Each saved query that reads bodies finds its scene of the story, and not the
/// harmless write beside it.
#[test]
fn the_body_saved_queries_find_their_scenes_and_nothing_else() {
    let k = samples();
    let cases: &[(&str, &[&str])] = &[
        ("@nodeport-services", &[facts::ID_NODEPORT_SERVICE]),
        (
            "@cluster-admin-bindings",
            &[facts::ID_CLUSTER_ADMIN_BINDING],
        ),
        ("@wildcard-roles", &[facts::ID_WILDCARD_ROLE]),
        ("@exec-proxy-roles", &[facts::ID_EXEC_ROLE]),
        ("@configmap-credentials", &[facts::ID_CREDENTIALS_CONFIGMAP]),
        ("@ingress-without-tls", &[facts::ID_INGRESS_NO_TLS]),
        ("@client-cert-csrs", &[facts::ID_CLIENT_CSR]),
        // The privileged pod runs busybox; bob's ephemeral container busybox:1.36.
        (
            "@images-outside-registry",
            &[facts::ID_CREATE_PRIVILEGED_POD, facts::ID_EPHEMERAL],
        ),
        // The same questions asked by hand, as the README shows them.
        (
            &format!("req.data.*:/{}/", "AKIA[0-9A-Z]{16}"),
            &[facts::ID_CREDENTIALS_CONFIGMAP],
        ),
        (
            "resp.roleRef.name:cluster-admin",
            &[facts::ID_CLUSTER_ADMIN_BINDING],
        ),
        (
            "req.spec.ports.nodePort:>=30000",
            &[facts::ID_NODEPORT_SERVICE],
        ),
    ];
    for (query, want) in cases {
        let rows = k.rows(query, &["--oldest-first"]);
        let mut got = column(&rows, "auditID");
        got.sort();
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "{query}");
    }
    // The harmless twins are there, with bodies, for the queries to pass over.
    for twin in [
        facts::ID_CLUSTERIP_SERVICE,
        facts::ID_VIEW_BINDING,
        facts::ID_PLAIN_CONFIGMAP,
        facts::ID_INGRESS_TLS,
        facts::ID_KUBELET_CSR,
    ] {
        let rows = k.rows(&format!("auditid:{twin} req.metadata.name:*"), &[]);
        assert_eq!(rows.len(), 1, "{twin}");
    }
}
