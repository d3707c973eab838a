//! The third-party corpus (`$KAUDIT_CORPUS`, set by .ci/run): every line ingests without
//! a crash, and every rejected line is explained.

use std::path::PathBuf;

use crate::common::Kaudit;

fn corpus() -> Option<PathBuf> {
    match std::env::var_os("KAUDIT_CORPUS") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "KAUDIT_CORPUS is unset under CI: .ci/run must point it at shared/audit-corpus"
            );
            eprintln!(
                "KAUDIT_CORPUS is unset: the corpus test is SKIPPED (set it to ../shared/audit-corpus)"
            );
            None
        }
    }
}

#[test]
fn the_whole_corpus_ingests_and_every_rejection_has_a_reason() {
    let Some(dir) = corpus() else { return };
    let k = Kaudit::new();
    let run = k.run(&["ingest", dir.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    // 65 files, 1,206 lines (PROVENANCE.md).
    assert!(
        run.stderr.contains("read 65 file(s), 1,206 lines"),
        "{}",
        run.stderr
    );
    // The only rejection: falco's `{"kind": 0}` fixture (panther's 47 GKE LogEntries
    // are read as requests: see the test below).
    assert!(run.stderr.contains("rejected: 1 "), "{}", run.stderr);
    assert!(run.stderr.contains("wrong field type: 1"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("fal_01_003.invalid.jsonl:1: field kind: expected a string, found a number"),
        "{}",
        run.stderr
    );
    // Facts a user would check.
    let exec = k.rows("sub:exec", &[]);
    assert!(exec.iter().any(|r| {
        r["requestURI"]
            .as_str()
            .unwrap()
            .contains("command=%2Fbin%2Fbash")
    }));
    assert!(k.count("as:*") >= 37, "impersonated requests of audit2rbac");
    assert_eq!(k.count("verb:propfind"), 1, "scanner verb kept");
    assert_eq!(k.count("verb:calebiscool"), 1, "bogus verb kept");
    reports_find_the_corpus_facts(&k);
    // Re-ingesting the corpus adds nothing.
    let before = k.count("");
    k.run(&["ingest", dir.to_str().unwrap()]);
    assert_eq!(k.count(""), before);
}

#[test]
fn the_corpus_gke_entries_are_requests() {
    let Some(dir) = corpus() else { return };
    let k = Kaudit::new();
    let gke = dir.join("panther-analysis/gke.tests.gke-wrapped.jsonl");
    let run = k.ingest(&[&gke]);
    // Each of the 47 entries is its own request: none repeats an insertId or an
    // operation stage, so none collapses, and none is rejected.
    assert!(
        run.stderr.contains("requests: 47 new, 0 stages collapsed"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("rejected"), "{}", run.stderr);
    assert_eq!(k.count(""), 47);
    // Facts a detection rule of theirs looks for.
    let exec = k.rows("@exec-into-pods", &[]);
    assert_eq!(exec.len(), 6, "pods.exec.create entries");
    assert_eq!(k.count("resource:clusterroles verb:create"), 4);
    assert_eq!(
        k.count("user:system:anonymous"),
        3,
        "healthz, readyz and a readyz without a resourceName"
    );
    assert_eq!(k.count("code:403"), 2, "PERMISSION_DENIED entries");
    assert_eq!(k.count("code:409"), 2, "ABORTED: already exists");
    // Pod specs in GKE `request` bodies are checked like any pod write.
    assert_eq!(
        k.count("risk:privileged"),
        4,
        "privileged pods in GKE bodies"
    );
    assert_eq!(k.count("risk:hostPath"), 4);
    // The refused read of production/tls-cert, and the cluster-wide list that read it too.
    let secrets = k.report("secrets", &["--namespace", "production"]);
    let rows = secrets["rows"].as_array().unwrap();
    let refused = rows
        .iter()
        .find(|r| r["name"] == "tls-cert")
        .expect("tls-cert");
    assert_eq!(
        (refused["allowed"].as_u64(), refused["forbidden"].as_u64()),
        (Some(0), Some(1))
    );
    assert!(
        rows.iter()
            .any(|r| r["scope"] == "cluster" && r["verbs"]["list"] == 1),
        "{secrets}"
    );
}

/// What the reports must say of the corpus's known cases (see its PROVENANCE.md).
fn reports_find_the_corpus_facts(k: &Kaudit) {
    let report = k.report("immutability", &[]);
    let kinds = |id: &str| -> Vec<String> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["auditID"] == id)
            .map(|f| {
                format!(
                    "{} {}",
                    f["kind"].as_str().unwrap(),
                    f["severity"].as_str().unwrap()
                )
            })
            .collect()
    };
    // falco create_nginx_pod_privileged: the nginx container is privileged.
    let privileged = kinds("a362d22b-db3c-4590-9505-23782f12925f");
    assert!(
        privileged.contains(&"privileged high".to_string()),
        "{privileged:?}"
    );
    // falco create_nginx_pod_hostnetwork.
    let host = kinds("24142dcc-7ad8-4fb8-8d3b-106ea474759d");
    assert!(host.contains(&"hostNetwork high".to_string()), "{host:?}");
    // falco create_nginx_pod_unprivileged and _nohostnetwork: nothing above low
    // (they leave escalation, root and the root filesystem at their defaults).
    for id in [
        "7c8b2603-6a87-4764-b166-49dd7fa46f4c",
        "1354641c-135e-4adb-8052-43e125ea8690",
    ] {
        let found = kinds(id);
        assert!(!found.is_empty(), "the defaults are listed for {id}");
        assert!(found.iter().all(|k| k.ends_with(" low")), "{id}: {found:?}");
    }
    // falco exec_pod: found with its command and container.
    let exec = report["runtime"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["auditID"] == "ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6")
        .expect("falco's exec");
    assert_eq!(exec["kind"], "exec");
    assert_eq!(exec["command"], serde_json::json!(["bash"]));
    assert_eq!(exec["container"], "nginx1");
    assert_eq!(exec["pod"], "nginx-deployment-7998647bdf-phvq7");

    // audit2rbac: system:admin impersonating alice listed ns1's secrets (denied);
    // the row is found by either identity.
    for actor in ["alice", "system:admin"] {
        let secrets = k.report("secrets", &["--actor", actor, "--namespace", "ns1"]);
        let rows = secrets["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{actor}: {rows:?}");
        assert_eq!(rows[0]["user"], "system:admin");
        assert_eq!(rows[0]["impersonatedUser"], "alice");
        assert_eq!(rows[0]["scope"], "namespace");
        assert_eq!(rows[0]["forbidden"], 1);
    }
    // ...and system:admin acted as ServiceAccount ns1/sa1.
    let sa = k.report("serviceaccounts", &["--sa", "ns1/sa1"]);
    assert_eq!(sa["rows"][0]["impersonatedBy"]["system:admin"], 5, "{sa}");
}
