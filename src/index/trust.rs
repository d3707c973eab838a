//! When the index directory may be used, and how files in it are written: OpenSSH's
//! StrictModes for an index.
//!
//! kaudit runs as root. If another user could write the index directory, or replace
//! it through a parent, they could plant symbolic links (`kaudit-index.json`,
//! `writer.pid`, tantivy's lock files) for root to write through, delete root's
//! files, or hand an investigation an index of their own. So, before anything in it
//! is read or written:
//! - the directory belongs to the invoking user (or root) and nobody else can write it;
//! - every parent belongs to root or that user, and is writable by nobody else unless
//!   it has the sticky bit (like `/tmp`, where others cannot rename what is ours);
//! - everything in it is a regular file of that user (or root): a link, a FIFO or a
//!   stranger's file was put there by someone else, while the directory was open.
//!
//! Once that holds, nobody else can add or swap an entry, which is what makes
//! tantivy's own files (created with O_EXCL, `meta.json` renamed into place) safe.
//! The files kaudit writes itself are replaced atomically and never through a link.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Mode bits that let group or others create, delete or rename entries.
const GROUP_OTHER_WRITE: u32 = 0o022;
const STICKY: u32 = 0o1000;
/// The files kaudit reads back from the index directory are small; a larger one
/// was not written by kaudit.
const MAX_READ: u64 = 1 << 20;

/// Checks the index directory `dir` and returns its real path (links resolved), the
/// one every later access goes through. With `create`, the directory and its missing
/// parents are created owner-only first (parents already there are checked before
/// anything is created in them). Without it, a directory that does not exist is `None`.
pub fn trusted_dir(dir: &Path, create: bool) -> Result<Option<PathBuf>> {
    let absolute = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
    let mut existing = absolute.as_path();
    let mut missing: Vec<&OsStr> = Vec::new();
    loop {
        match fs::symlink_metadata(existing) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let (Some(name), Some(parent)) = (existing.file_name(), existing.parent()) else {
                    return Err(Error::io(existing, e));
                };
                missing.push(name);
                existing = parent;
            }
            Err(e) => return Err(Error::io(existing, e)),
        }
    }
    if !missing.is_empty() {
        if !create {
            return Ok(None);
        }
        let mut real = fs::canonicalize(existing).map_err(|e| Error::io(existing, e))?;
        // The deepest existing part becomes a parent of the index: check it and its
        // parents before creating anything in them.
        check_parents(&absolute, Role::Parent, real.ancestors())?;
        for name in missing.iter().rev() {
            real.push(name);
            match fs::DirBuilder::new().mode(0o700).create(&real) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(&real, e)),
            }
        }
    }
    check_links(&absolute)?;
    let real = fs::canonicalize(&absolute).map_err(|e| Error::io(dir, e))?;
    check_parents(&absolute, Role::Parent, real.ancestors().skip(1))?;
    check_index_dir(&absolute, &real)?;
    Ok(Some(real))
}

fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Root's files cannot be changed by another user; so are ours.
fn trusted_owner(uid: u32) -> bool {
    uid == 0 || uid == euid()
}

fn unsafe_index(path: &Path, problem: String, remedy: String) -> Error {
    Error::UnsafeIndex {
        path: path.to_path_buf(),
        problem,
        remedy,
    }
}

/// How a directory that decides where the index is gets named in messages.
#[derive(Clone, Copy)]
enum Role {
    Parent,
    LinkHolder,
}

fn check_parents<'a>(
    index: &Path,
    role: Role,
    parents: impl Iterator<Item = &'a Path>,
) -> Result<()> {
    for parent in parents {
        let meta = fs::symlink_metadata(parent).map_err(|e| Error::io(parent, e))?;
        let shown = parent.display();
        let named = match role {
            Role::Parent => format!("its parent {shown}"),
            Role::LinkHolder => format!("{shown}, which holds a symbolic link on its path,"),
        };
        if !trusted_owner(meta.uid()) {
            return Err(unsafe_index(
                index,
                format!(
                    "{named} belongs to uid {}, who can replace the index with one of their own",
                    meta.uid()
                ),
                "choose an --index directory whose parents belong to you or root".into(),
            ));
        }
        let mode = meta.mode();
        if mode & GROUP_OTHER_WRITE != 0 && mode & STICKY == 0 {
            return Err(unsafe_index(
                index,
                format!(
                    "{named} is writable by group or others (mode {:04o}) without the \
                     sticky bit, so another user can replace the index with one of their own",
                    mode & 0o7777
                ),
                format!("`chmod go-w {shown}`, or choose an --index directory elsewhere"),
            ));
        }
    }
    Ok(())
}

/// A symbolic link on the way to the index decides which directory is used: it must
/// belong to root or the invoking user, in a directory nobody else can change it in.
fn check_links(index: &Path) -> Result<()> {
    let mut prefix = PathBuf::new();
    for component in index.components() {
        prefix.push(component);
        let Ok(meta) = fs::symlink_metadata(&prefix) else {
            break;
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        if !trusted_owner(meta.uid()) {
            return Err(unsafe_index(
                index,
                format!(
                    "its path goes through {}, a symbolic link of uid {}, who can point it at an \
                     index of their own",
                    prefix.display(),
                    meta.uid()
                ),
                "name the index by its real path, or choose an --index directory elsewhere".into(),
            ));
        }
        if let Some(holder) = prefix.parent() {
            let holder = fs::canonicalize(holder).map_err(|e| Error::io(holder, e))?;
            check_parents(index, Role::LinkHolder, std::iter::once(holder.as_path()))?;
        }
    }
    Ok(())
}

/// The directory itself, and everything in it.
fn check_index_dir(index: &Path, real: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(real).map_err(|e| Error::io(real, e))?;
    let shown = real.display();
    if !meta.is_dir() {
        return Err(Error::NotAnIndex {
            path: index.to_path_buf(),
            reason: "it is not a directory".into(),
        });
    }
    if !trusted_owner(meta.uid()) {
        return Err(unsafe_index(
            index,
            format!(
                "it belongs to uid {}, not to you (uid {}), so that user can change what it holds",
                meta.uid(),
                euid()
            ),
            format!(
                "use an --index directory of your own, or, if you trust its contents, `chown -R {} {shown}`",
                euid()
            ),
        ));
    }
    let mode = meta.mode();
    if mode & GROUP_OTHER_WRITE != 0 {
        return Err(unsafe_index(
            index,
            format!(
                "it is writable by group or others (mode {:04o}), so another user can plant \
                 links in it for kaudit to write through",
                mode & 0o7777
            ),
            format!(
                "check that it holds only kaudit's files (`ls -la {shown}`), then `chmod 700 {shown}`"
            ),
        ));
    }
    for entry in fs::read_dir(real).map_err(|e| Error::io(real, e))? {
        let entry = entry.map_err(|e| Error::io(real, e))?;
        let meta = entry.metadata().map_err(|e| Error::io(entry.path(), e))?;
        let what = if meta.file_type().is_symlink() {
            "a symbolic link".to_string()
        } else if !meta.is_file() {
            "not a regular file".to_string()
        } else if !trusted_owner(meta.uid()) {
            format!("a file of uid {}", meta.uid())
        } else {
            continue;
        };
        let path = entry.path();
        return Err(unsafe_index(
            index,
            format!(
                "it holds {}, {what}: kaudit writes only regular files of its own there, so \
                 someone else put it there",
                path.display()
            ),
            format!(
                "check the index, then remove {} or move the index aside and ingest again into a new one",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// O_NOFOLLOW: a link at the last component fails the open instead of being followed.
fn no_follow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

/// Replaces `name` in the index directory with `bytes`, owner-only. The content goes
/// to a new file (O_CREAT|O_EXCL|O_NOFOLLOW) renamed over `name`: a link planted at
/// either name is replaced, never written through, and a reader sees the old or the
/// new content, never a part.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let target = dir.join(name);
    let temp = dir.join(temp_name(name));
    let io = |e| Error::io(&target, e);
    // Left by a run killed mid-write; unlinking a link removes the link only.
    match fs::remove_file(&temp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(no_follow())
        .open(&temp)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&temp, &target).map_err(io)
}

/// Where `write_file` writes `name`'s new content before renaming it into place.
pub fn temp_name(name: &str) -> String {
    format!(".{name}.tmp")
}

/// Reads a small file kaudit wrote in the index directory, never through a link and
/// never blocking on a FIFO.
pub fn read_file(dir: &Path, name: &str) -> io::Result<String> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(no_follow() | rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(dir.join(name))?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut text = String::new();
    File::take(file, MAX_READ).read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn a_planted_link_is_replaced_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let index = dir.path().join("index");
        fs::create_dir(&index).unwrap();
        symlink(&victim, index.join("writer.pid")).unwrap();
        // A link at the temporary name too (a run killed mid-write, or planted).
        symlink(&victim, index.join(temp_name("writer.pid"))).unwrap();
        assert!(
            read_file(&index, "writer.pid").is_err(),
            "read through a link"
        );
        write_file(&index, "writer.pid", b"pid 1").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        let written = fs::symlink_metadata(index.join("writer.pid")).unwrap();
        assert!(written.is_file());
        assert_eq!(written.mode() & 0o777, 0o600);
        assert_eq!(read_file(&index, "writer.pid").unwrap(), "pid 1");
        assert!(!index.join(temp_name("writer.pid")).exists());
    }

    #[test]
    fn reading_a_fifo_fails_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("kaudit-index.json");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let err = read_file(dir.path(), "kaudit-index.json").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
