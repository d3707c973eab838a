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
    // The only rejections: 47 GKE LogEntries and falco's `{"kind": 0}` fixture.
    assert!(run.stderr.contains("rejected: 48"), "{}", run.stderr);
    assert!(run.stderr.contains("GKE LogEntry: 47"), "{}", run.stderr);
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
    // Re-ingesting the corpus adds nothing.
    let before = k.count("");
    k.run(&["ingest", dir.to_str().unwrap()]);
    assert_eq!(k.count(""), before);
}
