//! The query history, kept across runs: one query per line, newest last, in the
//! user's state directory (owner-only, like everything kaudit writes).
//!
//! Its path comes from the environment, and kaudit runs as root: the file is held to
//! the index's rules (`index::trust`). Its directory and every one above it belong
//! to root or the invoking user and nobody else can change them (sticky ones aside),
//! missing ones are created 0700 in a checked parent, no link on the way belongs to
//! anyone else, and the file itself is opened O_NOFOLLOW and used only when it is a
//! private regular file of ours: another user cannot make root append to, or read,
//! a file of their choosing, nor stall the TUI with a FIFO.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::index::trust;

/// Queries kept; older ones are dropped when the file is read.
const KEEP: usize = 1000;
/// At most this much of the file's end is read: KEEP queries fit many times over.
const MAX_BYTES: u64 = 1 << 20;

/// The last queries, oldest first; none when there is no file yet, or when it is
/// not safe to read (a history is not worth refusing to start for).
pub fn load(path: &Path) -> Vec<String> {
    let bytes = read(path).ok().flatten().unwrap_or_default();
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if bytes.len() as u64 >= MAX_BYTES {
        // Read from the middle of a query: its end is not a query.
        let first_line = text.find('\n').map_or(text.len(), |n| n + 1);
        text.drain(..first_line);
    }
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let skip = lines.len().saturating_sub(KEEP);
    lines.into_iter().skip(skip).collect()
}

fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    let (dir, name) = trust::split_file(path)?;
    let Some(dir) = trust::file_dir(dir, false)? else {
        return Ok(None);
    };
    dir.read_tail(name, MAX_BYTES)
}

/// Adds a query. A history that cannot be written is not worth interrupting an
/// investigation for: the error is ignored.
pub fn append(path: &Path, query: &str) {
    let _ = try_append(path, query);
}

fn try_append(path: &Path, query: &str) -> Result<()> {
    let mut file = trust::append_private(path)?;
    writeln!(file, "{}", query.replace(['\n', '\r'], " ")).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use std::fs::Permissions;
    use std::os::unix::fs::{PermissionsExt, chown, lchown, symlink};

    use super::*;

    const NOBODY: u32 = 65534;

    #[test]
    fn queries_survive_a_restart_newest_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/kaudit/history");
        assert!(load(&path).is_empty());
        append(&path, "verb:get");
        append(&path, "resource:secrets\nns:x");
        assert_eq!(load(&path), ["verb:get", "resource:secrets ns:x"]);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
    }

    #[test]
    fn a_link_planted_at_the_history_is_neither_written_through_nor_read() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "root:x:0:0\n").unwrap();
        let path = dir.path().join("history");
        symlink(&victim, &path).unwrap();
        append(&path, "verb:get");
        assert!(load(&path).is_empty(), "read through a link");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root:x:0:0\n");
        // A hard link to a file of root's, planted where the history goes.
        std::fs::remove_file(&path).unwrap();
        std::fs::hard_link(&victim, &path).unwrap();
        append(&path, "verb:get");
        assert!(load(&path).is_empty());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root:x:0:0\n");
    }

    #[test]
    fn a_history_another_user_can_choose_is_not_used() {
        // As root (CI): 65534 (nobody) plays the other user.
        let dir = tempfile::tempdir().unwrap();
        let theirs = dir.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        chown(&theirs, Some(NOBODY), Some(NOBODY)).unwrap();
        // Their directory: nothing created in it.
        append(&theirs.join("kaudit/history"), "verb:get");
        assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 0);
        // Their link in a sticky directory, to a directory of root's.
        let sticky = dir.path().join("tmp");
        std::fs::create_dir(&sticky).unwrap();
        std::fs::set_permissions(&sticky, Permissions::from_mode(0o1777)).unwrap();
        let target = dir.path().join("etc");
        std::fs::create_dir(&target).unwrap();
        let link = sticky.join("state");
        symlink(&target, &link).unwrap();
        lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap();
        append(&link.join("kaudit/history"), "verb:get");
        append(&link.join("history"), "verb:get");
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
        // Their file, where ours would be (a sticky directory lets them make it).
        let planted = sticky.join("history");
        std::fs::write(&planted, "@secrets\n").unwrap();
        chown(&planted, Some(NOBODY), Some(NOBODY)).unwrap();
        append(&planted, "verb:get");
        assert!(load(&planted).is_empty(), "their queries offered as ours");
        assert_eq!(std::fs::read_to_string(&planted).unwrap(), "@secrets\n");
        // A directory others can write, not sticky.
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, Permissions::from_mode(0o777)).unwrap();
        append(&open.join("history"), "verb:get");
        assert_eq!(std::fs::read_dir(&open).unwrap().count(), 0);
    }

    #[test]
    fn a_fifo_at_the_history_neither_blocks_nor_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // Without O_NONBLOCK, either call would wait for the other end forever.
        assert!(load(&path).is_empty());
        append(&path, "verb:get");
    }

    #[test]
    fn a_long_history_is_read_from_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history");
        let query = format!("ua:{}", "x".repeat(2000));
        for _ in 0..(MAX_BYTES as usize / 2000 + 10) {
            append(&path, &query);
        }
        append(&path, "verb:get");
        let loaded = load(&path);
        assert_eq!(loaded.last().unwrap(), "verb:get");
        assert!(loaded[..loaded.len() - 1].iter().all(|q| *q == query));
    }
}
