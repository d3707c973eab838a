//! Fixtures shared by unit tests across modules.

use crate::query::Engine;

/// An index of sample-logs/ in a temporary directory (kept alive by the TempDir).
pub fn sample_index() -> (tempfile::TempDir, Engine) {
    index_of(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs"))
}

/// An index of `logs` (a file or directory) in a temporary directory.
pub fn index_of(logs: std::path::PathBuf) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let ingest = crate::config::Ingest::of(index.clone(), vec![logs]);
    crate::app::run(
        crate::config::Command::Ingest(ingest),
        &crate::config::env::Environment::default(),
    )
    .unwrap();
    let engine = Engine::open(&index).unwrap();
    (dir, engine)
}

/// Writes `lines` as the log `name` in `dir` and ingests it into `dir`/index (created
/// by the first call; later calls add to it, as a second `kaudit ingest` would).
pub fn ingest_lines(dir: &std::path::Path, name: &str, lines: &[String]) -> Engine {
    let log = dir.join(name);
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let index = dir.join("index");
    let ingest = crate::config::Ingest {
        strict: true,
        max_line_bytes: 1 << 20,
        ..crate::config::Ingest::of(index.clone(), vec![log])
    };
    crate::app::run(
        crate::config::Command::Ingest(ingest),
        &crate::config::env::Environment::default(),
    )
    .unwrap();
    Engine::open(&index).unwrap()
}
