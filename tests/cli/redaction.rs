//! Secret values never reach the index, the store or any output.

use std::path::Path;

use serde_json::json;

use crate::common::{Kaudit, event, id};

const PLANTED: &str = "cGxhbnRlZC1zZWNyZXQtdmFsdWUtOTk=";
const PLANTED_PATCH: &str = "c2Vjb25kLXBsYW50ZWQtdmFsdWU=";
const PLANTED_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.planted-token";
/// What PLANTED and PLANTED_PATCH decode to: a policy may print a value decoded.
const PLANTED_DECODED: &str = "planted-secret-value-99";
const PLANTED_PATCH_DECODED: &str = "second-planted-value";
/// A value in a body the line's own bytes make unreadable: only the echo is left.
const PLANTED_UNREADABLE: &str = "dW5yZWFkYWJsZS1wbGFudGVk";

fn secret_events() -> Vec<String> {
    let secret = json!({"kind": "Secret", "apiVersion": "v1",
        "metadata": {"name": "db-password", "namespace": "payments",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                format!("{{\"apiVersion\":\"v1\",\"data\":{{\"password\":\"{PLANTED}\"}},\"kind\":\"Secret\"}}\n")}},
        "data": {"password": PLANTED}, "type": "Opaque"});
    let obj = json!({"resource": "secrets", "namespace": "payments", "name": "db-password", "apiVersion": "v1"});
    vec![
        event(
            json!({"auditID": id(1), "level": "RequestResponse", "verb": "create", "objectRef": obj,
            "requestObject": secret, "responseObject": secret}),
        ),
        event(
            json!({"auditID": id(2), "level": "RequestResponse", "verb": "list",
            "objectRef": {"resource": "secrets", "namespace": "payments", "apiVersion": "v1"},
            "responseObject": {"kind": "SecretList", "apiVersion": "v1", "items": [{"metadata": {"name": "db-password"}, "data": {"password": PLANTED}}]}}),
        ),
        event(
            json!({"auditID": id(3), "level": "Request", "verb": "patch", "objectRef": obj,
            "requestObject": {"data": {"password": PLANTED_PATCH}}}),
        ),
        event(
            json!({"auditID": id(4), "level": "Request", "verb": "patch", "objectRef": obj,
            "requestObject": [{"op": "replace", "path": "/data/password", "value": PLANTED_PATCH}]}),
        ),
        event(
            json!({"auditID": id(5), "level": "RequestResponse", "verb": "create",
            "objectRef": {"resource": "serviceaccounts", "subresource": "token", "namespace": "ci", "name": "deployer", "apiVersion": "v1"},
            "responseObject": {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "status": {"token": PLANTED_TOKEN}}}),
        ),
        // A mutating webhook's patch, logged by the apiserver in the event annotations.
        event(
            json!({"auditID": id(7), "level": "Request", "verb": "patch", "objectRef": obj,
            "requestObject": {"metadata": {"labels": {"team": "payments"}}},
            "annotations": {"authorization.k8s.io/decision": "allow",
                "patch.webhook.admission.k8s.io/round_0_index_0": json!({
                    "configuration": "secret-injector", "webhook": "inject.example.com",
                    "patch": [{"op": "add", "path": "/data/password", "value": PLANTED_PATCH}],
                    "patchType": "JSONPatch"}).to_string()}}),
        ),
        // kapp keeps the applied Secret in its own annotation.
        event(
            json!({"auditID": id(8), "level": "RequestResponse", "verb": "get", "objectRef": obj,
            "responseObject": {"kind": "Secret", "apiVersion": "v1",
                "metadata": {"name": "db-password", "namespace": "payments", "annotations": {
                    "kapp.k14s.io/original": json!({"apiVersion": "v1", "kind": "Secret",
                        "data": {"password": PLANTED}}).to_string(),
                    // Put there by a patch `{"op":"copy","from":"/data/password",…}`.
                    "example.com/copied": PLANTED}},
                "data": {"password": PLANTED}}}),
        ),
        // Paths as the apiserver's json-patch library reads them: text before the first
        // `/` ignored; an operation on /metadata carrying a last-applied copy.
        event(
            json!({"auditID": id(9), "level": "Request", "verb": "patch", "objectRef": obj,
            "requestObject": [
                {"op": "replace", "path": "x/data/password", "value": PLANTED_PATCH},
                {"op": "add", "path": "/metadata", "value": {"annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration":
                        json!({"data": {"password": PLANTED}}).to_string()}}}]}),
        ),
        // `Data` and `Kind`: Go's decoder matches keys in any case.
        event(
            json!({"auditID": id(10), "level": "Request", "verb": "create",
            "objectRef": {"resource": "configmaps", "namespace": "payments", "name": "copy", "apiVersion": "v1"},
            "requestObject": {"Kind": "Secret", "Data": {"password": PLANTED}}}),
        ),
        // A value that only contains the marker.
        event(
            json!({"auditID": id(11), "level": "Request", "verb": "patch", "objectRef": obj,
            "requestObject": {"data": {"password":
                format!("<redacted: 1 bytes>{PLANTED_PATCH}<redacted: 1 bytes>")}}}),
        ),
        // A body logged as a string by a forwarder.
        event(
            json!({"auditID": id(12), "level": "Request", "verb": "update", "objectRef": obj,
            "requestObject": json!({"kind": "Secret", "data": {"password": PLANTED}}).to_string()}),
        ),
        // Echoed by admission (red team hole 9): a ValidatingAdmissionPolicy's message
        // (decoded) and audit annotation, a webhook's denial in responseStatus and in the
        // Status response body.
        event(
            json!({"auditID": id(14), "level": "RequestResponse", "verb": "create", "objectRef": obj,
            "requestObject": {"kind": "Secret", "data": {"password": PLANTED}},
            "annotations": {"authorization.k8s.io/decision": "allow",
                "authorization.k8s.io/reason": "RBAC: allowed",
                "validation.policy.admission.k8s.io/validation_failure": json!([{
                    "message": format!("password must not be {PLANTED_DECODED}"),
                    "policy": "no-weak", "binding": "no-weak-binding", "expressionIndex": 0,
                    "validationActions": ["Audit"]}]).to_string(),
                "no-weak.policy.example.com/offending-value": PLANTED}}),
        ),
        event(
            json!({"auditID": id(15), "level": "RequestResponse", "verb": "patch", "objectRef": obj,
            "requestObject": {"data": {"password": PLANTED_PATCH}},
            "responseStatus": {"metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403,
                "message": format!("admission webhook \"policy.example.com\" denied the request: {PLANTED_PATCH_DECODED} is leaked"),
                "details": {"causes": [{"reason": "FieldValueForbidden", "field": "data[password]",
                    "message": format!("known value {PLANTED_PATCH}")}]}},
            "responseObject": {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "message": format!("denied: {PLANTED_PATCH}"), "code": 403}}),
        ),
        // A salvaged line whose Secret cannot be read: the echo cannot be looked for.
        event(
            json!({"auditID": id(16), "level": "Request", "verb": "create", "objectRef": obj,
            "requestObject": {"kind": "Secret", "data": {"password": "LONE-SURROGATE"}},
            "responseStatus": {"metadata": {}, "status": "Failure", "reason": "Invalid", "code": 422,
                "message": format!("password {PLANTED_UNREADABLE} is leaked")}}),
        )
        .replace("LONE-SURROGATE", &format!("\\ud800{PLANTED_UNREADABLE}")),
    ]
}

fn assert_clean(what: &str, bytes: &[u8]) {
    for planted in [
        PLANTED,
        PLANTED_PATCH,
        PLANTED_TOKEN,
        PLANTED_DECODED,
        PLANTED_PATCH_DECODED,
        PLANTED_UNREADABLE,
    ] {
        assert!(
            !bytes
                .windows(planted.len())
                .any(|w| w == planted.as_bytes()),
            "{what} holds the planted value {planted}"
        );
    }
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, f);
        } else {
            f(&path);
        }
    }
}

#[test]
fn planted_secret_values_appear_nowhere() {
    let k = Kaudit::new();
    let mut lines = secret_events();
    // A patch as a client may send it: a repeated key (Go uses the last one), and a
    // made-up kind.
    lines.push(format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"{}","stage":"ResponseComplete","verb":"patch","user":{{"username":"x"}},"objectRef":{{"resource":"secrets","namespace":"payments","name":"db-password"}},"requestObject":{{"kind":"NotASecret","data":null,"data":{{"password":"{PLANTED_PATCH}"}}}},"requestReceivedTimestamp":"2026-11-20T10:00:00.000000Z"}}"#,
        id(6)
    ));
    // A repeated objectRef: Go keeps the last copy, the index the first.
    lines.push(format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"{}","stage":"ResponseComplete","verb":"patch","user":{{"username":"x"}},"objectRef":{{"resource":"configmaps","namespace":"payments","name":"db-password"}},"objectRef":{{"resource":"secrets","namespace":"payments","name":"db-password"}},"requestObject":{{"data":{{"password":"{PLANTED_PATCH}"}}}},"requestReceivedTimestamp":"2026-11-20T10:00:00.000000Z"}}"#,
        id(13)
    ));
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    walk(&k.index(), &mut |p| {
        assert_clean(&p.display().to_string(), &std::fs::read(p).unwrap())
    });
    // The document store is compressed, so the raw grep above cannot see it: the json
    // format prints the stored event itself, which is what proves it clean.
    for format in ["table", "json", "ndjson", "csv"] {
        for all in [false, true] {
            let mut args = vec!["query", "--format", format];
            if all {
                args.push("--all-stages");
            }
            args.push("");
            let run = k.run(&args);
            assert_eq!(run.code, 0, "{}", run.stderr);
            assert_clean(&format!("--format {format}"), run.stdout.as_bytes());
        }
    }
    let run = k.run(&[
        "query",
        "--format",
        "json",
        "auditid:00000000-0000-4000-8000-000000000001",
    ]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let data = &rows[0]["event"]["requestObject"]["data"]["password"];
    assert_eq!(data, &format!("<redacted: {} bytes>", PLANTED.len()));
    let applied = rows[0]["event"]["requestObject"]["metadata"]["annotations"]
        ["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .unwrap();
    assert!(applied.contains("<redacted:"), "{applied}");
    // The webhook's patch record stays readable: which webhook, which key, how long.
    let run = k.run(&["query", "--format", "json", &format!("auditid:{}", id(7))]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let patch = rows[0]["event"]["annotations"]["patch.webhook.admission.k8s.io/round_0_index_0"]
        .as_str()
        .unwrap();
    let patch: serde_json::Value = serde_json::from_str(patch).unwrap();
    assert_eq!(patch["webhook"], "inject.example.com");
    assert_eq!(patch["patch"][0]["path"], "/data/password");
    assert_eq!(
        patch["patch"][0]["value"],
        format!("<redacted: {} bytes>", PLANTED_PATCH.len())
    );
    // An echo is hidden, the policy's record and the denial's words stay readable.
    let run = k.run(&["query", "--format", "json", &format!("auditid:{}", id(14))]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let failure =
        rows[0]["event"]["annotations"]["validation.policy.admission.k8s.io/validation_failure"]
            .as_str()
            .unwrap();
    let failure: serde_json::Value = serde_json::from_str(failure).unwrap();
    assert_eq!(failure[0]["policy"], "no-weak");
    assert_eq!(failure[0]["binding"], "no-weak-binding");
    let run = k.run(&["query", "--format", "json", &format!("auditid:{}", id(15))]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let status = &rows[0]["event"]["responseStatus"];
    assert_eq!(
        (&status["code"], &status["reason"]),
        (&json!(403), &json!("Forbidden"))
    );
    assert_eq!(status["details"]["causes"][0]["field"], "data[password]");
    // The salvaged request is indexed, its code and reason kept.
    let run = k.run(&["query", "--format", "json", &format!("auditid:{}", id(16))]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(rows[0]["event"]["kaudit.salvaged"], "bad-string");
    let status = &rows[0]["event"]["responseStatus"];
    assert_eq!(
        (&status["code"], &status["reason"]),
        (&json!(422), &json!("Invalid"))
    );
    // The overview and status print nothing of it either.
    assert_clean("overview", k.run(&[]).stdout.as_bytes());
    assert_clean("status", k.run(&["status"]).stdout.as_bytes());
    // Nor do the reports, in any format.
    for report in ["secrets", "serviceaccounts", "immutability", "stats"] {
        for format in ["table", "json", "csv", "markdown"] {
            let run = k.run(&["report", report, "--format", format]);
            assert_clean(&format!("report {report} {format}"), run.stdout.as_bytes());
        }
    }
    // Nor the TUI: its screens (the detail of every secret request, the object
    // history of the secret) and its exports.
    let mut command = crate::tui::tui(&k);
    command.args(["tui", "-q", "resource:secrets"]);
    let mut term = crate::tui::Terminal::spawn(command);
    term.wait_for("1 of ");
    // Esc alone, and read before the next key: a byte read with it would be Alt plus
    // that key. A fixed pause was not enough on a loaded machine; the screen it closes
    // going away is the proof it was read.
    let escape = |term: &mut crate::tui::Terminal, closes: &str| {
        term.type_keys("\x1b");
        term.wait_gone(closes);
    };
    term.type_keys("\rz");
    term.wait_for("(z folds)");
    escape(&mut term, "(z folds)");
    // Every row's detail (j stops at the last).
    for _ in 0..=k.count("resource:secrets") {
        term.type_keys("\rG");
        term.wait_for("(z folds)");
        escape(&mut term, "(z folds)");
        term.type_keys("j");
    }
    term.type_keys("H");
    term.wait_for("CHANGED");
    term.type_keys("\r");
    term.wait_for("changed by this write");
    escape(&mut term, "changed by this write");
    term.type_keys("\x7fe");
    term.wait_for("exported");
    term.type_keys("E");
    let exports = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(k.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains("kaudit-export-"))
            .collect()
    };
    for _ in 0..200 {
        if exports()
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "csv"))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Let the CSV export finish writing (its notice follows the file).
    std::thread::sleep(std::time::Duration::from_millis(300));
    term.type_keys("q");
    assert_eq!(term.wait_exit(), 0);
    assert_clean("tui", &term.raw());
    let exports = exports();
    assert_eq!(exports.len(), 2, "{exports:?}");
    for export in exports {
        let bytes = std::fs::read(&export).unwrap();
        assert!(!bytes.is_empty());
        assert_clean(&export.display().to_string(), &bytes);
        // Exports hold audit data: owner-only, like the index.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&export).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", export.display());
    }
}
