//! Exit codes: 0 found, 1 nothing matched, 2 usage, syntax or I/O errors.

use serde_json::json;

use crate::common::{Kaudit, event};

#[test]
fn found_nothing_and_errors() {
    let k = Kaudit::new();
    // No index yet: an I/O-class error that says what to do.
    let run = k.run(&["query", ""]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("kaudit ingest"), "{}", run.stderr);
    let log = k.write("audit.log", &[event(json!({}))]);
    k.ingest(&[&log]);
    assert_eq!(k.run(&["query", "verb:get"]).code, 0);
    let none = k.run(&["query", "verb:delete"]);
    assert_eq!(none.code, 1);
    assert!(none.stderr.contains("no requests"), "{}", none.stderr);
    assert_eq!(k.run(&["query", "--count", "verb:delete"]).code, 1);
    assert_eq!(k.run(&["query", "--format", "yaml", ""]).code, 2);
    assert_eq!(k.run(&["query", "--since", "yesterday", ""]).code, 2);
    // Times the index cannot hold are refused, not a crash.
    assert_eq!(k.run(&["query", "--since", "100000000w", ""]).code, 2);
    assert_eq!(
        k.run(&["query", "--until", "2300-01-01T00:00:00Z", ""])
            .code,
        2
    );
    assert_eq!(k.run(&["ingest", "--commit-interval", "1e20", "x"]).code, 2);
    assert_eq!(k.run(&["query", "verb:"]).code, 2);
    assert_eq!(k.run(&["frobnicate"]).code, 2);
    let not_index = k.dir.path().join("notes");
    std::fs::create_dir_all(&not_index).unwrap();
    std::fs::write(not_index.join("a.txt"), "x").unwrap();
    let run = k.run(&[
        "ingest",
        "--index",
        not_index.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("does not look like a kaudit index"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let k = Kaudit::new();
    let lines: Vec<String> = (0..3000)
        .map(|n| event(json!({"auditID": crate::common::id(n)})))
        .collect();
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    let mut child = k
        .command()
        .args(["query", "--limit", "0", ""])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
