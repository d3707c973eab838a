//! The query history, kept across runs: one query per line, newest last, in the
//! user's state directory (owner-only, like everything kaudit writes).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Queries kept; older ones are dropped when the file is read.
const KEEP: usize = 1000;

/// `$KAUDIT_HISTORY`, else `$XDG_STATE_HOME/kaudit/history`, else
/// `~/.local/state/kaudit/history`.
pub fn default_path() -> Option<PathBuf> {
    let env = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(path) = env("KAUDIT_HISTORY") {
        return Some(PathBuf::from(path));
    }
    let state = env("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".local/state")))?;
    Some(state.join("kaudit").join("history"))
}

/// The last queries, oldest first; none when there is no file yet.
pub fn load(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let skip = lines.len().saturating_sub(KEEP);
    lines.into_iter().skip(skip).collect()
}

/// Adds a query. A history that cannot be written is not worth interrupting an
/// investigation for: the error is ignored.
pub fn append(path: &Path, query: &str) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path);
    if let Ok(mut file) = file {
        let _ = writeln!(file, "{}", query.replace(['\n', '\r'], " "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_survive_a_restart_newest_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/kaudit/history");
        assert!(load(&path).is_empty());
        append(&path, "verb:get");
        append(&path, "resource:secrets\nns:x");
        assert_eq!(load(&path), ["verb:get", "resource:secrets ns:x"]);
    }
}
