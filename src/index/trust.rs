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
//!
//! The checks are made while walking the path (`walk`), never after resolving it: a
//! directory is created only in a parent already checked, so a refusal comes before
//! root has made anything where another user's link points. Files kaudit writes
//! outside the index (the TUI's history, trace and exports) are held to the same
//! rules through `file_dir`.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};

use crate::error::{Error, Result};

/// Mode bits that let group or others create, delete or rename entries.
const GROUP_OTHER_WRITE: u32 = 0o022;
const STICKY: u32 = 0o1000;
/// The files kaudit reads back from the index directory are small; a larger one
/// was not written by kaudit.
const MAX_READ: u64 = 1 << 20;
/// Linux follows at most 40 symbolic links in one path name (ELOOP past that).
const MAX_LINKS: usize = 40;

/// Checks the index directory `dir` and returns its real path (links resolved), the
/// one every later access goes through. With `create`, missing directories are
/// created owner-only, each in a parent already checked (`walk`). Without it, a
/// directory that does not exist is `None`.
pub fn trusted_dir(dir: &Path, create: bool) -> Result<Option<PathBuf>> {
    let absolute = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
    let Some(held) = walk(Subject::Index, &absolute, create)? else {
        return Ok(None);
    };
    check_index_dir(&absolute, &held)?;
    held.still_at_its_path(Subject::Index, &absolute)?;
    Ok(Some(held.real))
}

/// A directory kaudit writes a file of its own in (the query history, the TUI's
/// exports), checked like an index's parents: it and every directory above it belong
/// to root or the invoking user and nobody else can write them (unless sticky, like
/// `/tmp`), and every link on the way is theirs. With `create`, missing directories
/// are created owner-only; without it, a directory that does not exist is `None`.
pub fn file_dir(dir: &Path, create: bool) -> Result<Option<FileDir>> {
    let absolute = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
    let Some(held) = walk(Subject::File, &absolute, create)? else {
        return Ok(None);
    };
    let meta = rustix::fs::fstat(&held.fd).map_err(|e| Error::io(&held.real, e.into()))?;
    check_holder(Subject::File, &absolute, Role::Itself, &held.real, &meta)?;
    held.still_at_its_path(Subject::File, &absolute)?;
    Ok(Some(FileDir(held)))
}

/// A checked directory, held open: the files kaudit opens in it are opened relative
/// to this descriptor, so the directory cannot be swapped after it was checked.
pub struct FileDir(Held);

impl FileDir {
    /// Its real path, links resolved.
    pub fn path(&self) -> &Path {
        &self.0.real
    }

    /// Creates `name`, owner-only, failing with `AlreadyExists` when anything (a file,
    /// a link, a FIFO) is there already: nothing is ever written through a link.
    pub fn create_new(&self, name: &str) -> io::Result<File> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
        let fd = rustix::fs::openat(&self.0.fd, name, flags | OFlags::CLOEXEC, owner_only())?;
        Ok(File::from(fd))
    }

    /// Removes `name` (a file kaudit created there), not what a link there points to.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(&self.0.fd, name, AtFlags::empty())?)
    }

    /// Opens `name` to append to it, created owner-only when missing. An existing one
    /// must be a regular file of root or the invoking user that nobody else can write
    /// and that has no other name: a link, a FIFO, a device or a hard link to another
    /// file (planted in a sticky directory) is refused, never written through.
    pub fn append(&self, name: &str) -> Result<File> {
        let path = self.0.real.join(name);
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::APPEND | OFlags::NOFOLLOW;
        // NONBLOCK: opening a FIFO must not wait for a reader; it is refused below.
        let flags = flags | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.0.fd, name, flags, owner_only())
            .map_err(|e| Error::io(&path, e.into()))?;
        let meta = rustix::fs::fstat(&fd).map_err(|e| Error::io(&path, e.into()))?;
        check_own_file(&path, &meta)?;
        Ok(File::from(fd))
    }

    /// Reads at most `max` bytes from the end of `name`, held to the rules of
    /// `append`; `None` when there is no such file.
    pub fn read_tail(&self, name: &str, max: u64) -> Result<Option<Vec<u8>>> {
        use std::io::Seek;
        let path = self.0.real.join(name);
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(&self.0.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(e) => return Err(Error::io(&path, e.into())),
        };
        let meta = rustix::fs::fstat(&fd).map_err(|e| Error::io(&path, e.into()))?;
        check_own_file(&path, &meta)?;
        let mut file = File::from(fd);
        let size = meta.st_size as u64;
        let io = |e| Error::io(&path, e);
        file.seek(io::SeekFrom::Start(size.saturating_sub(max)))
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.take(max).read_to_end(&mut bytes).map_err(io)?;
        Ok(Some(bytes))
    }
}

/// `path` as a directory and a file name in it: the file's directory is checked with
/// `file_dir`, the file itself opened relative to it.
pub fn split_file(path: &Path) -> Result<(&Path, &str)> {
    let name = path.file_name().and_then(OsStr::to_str);
    let (Some(dir), Some(name)) = (path.parent(), name) else {
        return Err(Error::Usage(format!(
            "{} does not name a file",
            path.display()
        )));
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    Ok((dir, name))
}

/// Opens the file at `path` (from the user or the environment) to append to it: its
/// directory checked and created like an index's parents (`file_dir`), the file
/// held to the rules of `FileDir::append`.
pub fn append_private(path: &Path) -> Result<File> {
    let (dir, name) = split_file(path)?;
    let dir = file_dir(dir, true)?.expect("created when missing");
    dir.append(name)
}

/// The mode kaudit creates its files and directories with.
fn owner_only() -> Mode {
    Mode::from_raw_mode(0o600)
}

/// A file kaudit appends to or reads back outside the index.
fn check_own_file(path: &Path, meta: &Stat) -> Result<()> {
    let what = if FileType::from_raw_mode(meta.st_mode) != FileType::RegularFile {
        "it is not a regular file".to_string()
    } else if !trusted_owner(meta.st_uid) {
        format!("it belongs to uid {}", meta.st_uid)
    } else if meta.st_mode & GROUP_OTHER_WRITE != 0 {
        format!(
            "it is writable by group or others (mode {:04o})",
            meta.st_mode & 0o7777
        )
    } else if meta.st_nlink != 1 {
        format!(
            "it has {} names (a hard link to it was made elsewhere)",
            meta.st_nlink
        )
    } else {
        return Ok(());
    };
    Err(unsafe_path(
        Subject::File,
        path,
        format!("{what}: kaudit only uses a private file of its own there"),
        format!("check {0}, then remove it or move it aside", path.display()),
    ))
}

/// A directory reached by `walk`, held open (O_PATH), with its real path.
struct Held {
    fd: OwnedFd,
    real: PathBuf,
}

impl Held {
    /// The root directory, where every walk starts.
    fn root() -> Result<Held> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd =
            rustix::fs::open("/", flags, Mode::empty()).map_err(|e| Error::io("/", e.into()))?;
        Ok(Held {
            fd,
            real: PathBuf::from("/"),
        })
    }

    /// The real path still names the directory that was checked: nothing on the path
    /// was replaced between the walk and now (only root or the invoking user could).
    fn still_at_its_path(&self, subject: Subject, checked: &Path) -> Result<()> {
        let io = |e: rustix::io::Errno| Error::io(&self.real, e.into());
        let held = rustix::fs::fstat(&self.fd).map_err(io)?;
        let named = rustix::fs::stat(&self.real).map_err(io)?;
        if (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino) {
            return Ok(());
        }
        Err(unsafe_path(
            subject,
            checked,
            format!(
                "{} was replaced while it was being checked",
                self.real.display()
            ),
            "find out who is changing it, then try again".into(),
        ))
    }
}

/// What a checked path leads to, which the messages name.
#[derive(Clone, Copy, PartialEq)]
enum Subject {
    Index,
    /// A directory kaudit writes a file in (history, exports).
    File,
}

impl Subject {
    fn replaceable(self) -> &'static str {
        match self {
            Subject::Index => "replace the index with one of their own",
            Subject::File => "replace what kaudit writes there",
        }
    }

    fn elsewhere(self) -> &'static str {
        match self {
            Subject::Index => "choose an --index directory elsewhere",
            Subject::File => "choose a directory of your own",
        }
    }
}

/// Walks `absolute` from `/` one component at a time, as the kernel would resolve it
/// but never letting it follow a link: each component is opened (O_PATH|O_NOFOLLOW)
/// relative to the held descriptor of its directory, and a link's target is walked
/// in its place once the link is checked. Each directory is checked (`check_holder`)
/// before what was found in it is used, so a missing directory is created (mkdirat,
/// 0700) only in a directory nobody else can change, and only after every directory
/// and link before it on the way was checked: nothing is created, and no directory
/// can be swapped, between a check and its use. The last directory is returned
/// unchecked (an index and a file's directory are held to different rules). `None`
/// when a directory is missing and `create` is false.
fn walk(subject: Subject, absolute: &Path, create: bool) -> Result<Option<Held>> {
    let mut stack = vec![Held::root()?];
    let mut pending: VecDeque<OsString> = names(absolute);
    let mut links = 0;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            // The directory the walk came from: the parent of a link's target, as the
            // kernel resolves it. `/..` is `/`.
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let dir = stack.last().expect("the root is never popped");
        let real = dir.real.join(&name);
        let dir_meta = rustix::fs::fstat(&dir.fd).map_err(|e| Error::io(&dir.real, e.into()))?;
        let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(&dir.fd, name.as_os_str(), flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => {
                check_holder(subject, absolute, Role::Parent, &dir.real, &dir_meta)?;
                if !create {
                    return Ok(None);
                }
                match rustix::fs::mkdirat(&dir.fd, name.as_os_str(), Mode::from_raw_mode(0o700)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(Error::io(&real, e.into())),
                }
                // Looked up again, and checked like any directory found there.
                pending.push_front(name);
                continue;
            }
            Err(e) => return Err(Error::io(&real, e.into())),
        };
        let meta = rustix::fs::fstat(&fd).map_err(|e| Error::io(&real, e.into()))?;
        match FileType::from_raw_mode(meta.st_mode) {
            FileType::Symlink => {
                check_holder(subject, absolute, Role::LinkHolder, &dir.real, &dir_meta)?;
                check_link(subject, absolute, &real, &meta)?;
                links += 1;
                if links > MAX_LINKS {
                    return Err(Error::io(&real, rustix::io::Errno::LOOP.into()));
                }
                // The link held open is read: it cannot be swapped after its check.
                let target = rustix::fs::readlinkat(&fd, "", Vec::new())
                    .map_err(|e| Error::io(&real, e.into()))?;
                let target = PathBuf::from(OsString::from_vec(target.into_bytes()));
                if target.is_absolute() {
                    stack.truncate(1);
                }
                for name in names(&target).into_iter().rev() {
                    pending.push_front(name);
                }
            }
            FileType::Directory => {
                check_holder(subject, absolute, Role::Parent, &dir.real, &dir_meta)?;
                stack.push(Held { fd, real });
            }
            _ if pending.is_empty() && subject == Subject::Index => {
                return Err(Error::NotAnIndex {
                    path: absolute.to_path_buf(),
                    reason: "it is not a directory".into(),
                });
            }
            _ => return Err(Error::io(&real, rustix::io::Errno::NOTDIR.into())),
        }
    }
    Ok(stack.pop())
}

/// The names to walk in `path`, in order: `..` kept (resolved by the walk), `.` and
/// the root dropped.
fn names(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Root's files cannot be changed by another user; so are ours.
fn trusted_owner(uid: u32) -> bool {
    uid == 0 || uid == euid()
}

fn unsafe_index(path: &Path, problem: String, remedy: String) -> Error {
    unsafe_path(Subject::Index, path, problem, remedy)
}

fn unsafe_path(subject: Subject, path: &Path, problem: String, remedy: String) -> Error {
    match subject {
        Subject::Index => Error::UnsafeIndex {
            path: path.to_path_buf(),
            problem,
            remedy,
        },
        Subject::File => Error::Usage(format!(
            "{} is not safe to write: {problem}; {remedy}",
            path.display()
        )),
    }
}

/// How a directory that decides where the index (or a file) is gets named in messages.
#[derive(Clone, Copy)]
enum Role {
    Parent,
    LinkHolder,
    /// The directory a file is written in.
    Itself,
}

/// A directory on the way: it belongs to root or the invoking user, and nobody else
/// can add, remove or rename its entries (sticky directories excepted: there, others
/// cannot rename or remove what is ours).
fn check_holder(
    subject: Subject,
    checked: &Path,
    role: Role,
    dir: &Path,
    meta: &Stat,
) -> Result<()> {
    let shown = dir.display();
    let named = match role {
        Role::Parent => format!("its parent {shown}"),
        Role::LinkHolder => format!("{shown}, which holds a symbolic link on its path,"),
        Role::Itself => format!("its directory {shown}"),
    };
    if !trusted_owner(meta.st_uid) {
        return Err(unsafe_path(
            subject,
            checked,
            format!(
                "{named} belongs to uid {}, who can {}",
                meta.st_uid,
                subject.replaceable()
            ),
            match subject {
                Subject::Index => {
                    "choose an --index directory whose parents belong to you or root".into()
                }
                Subject::File => "choose a directory that belongs to you or root".into(),
            },
        ));
    }
    let mode = meta.st_mode;
    if mode & GROUP_OTHER_WRITE != 0 && mode & STICKY == 0 {
        return Err(unsafe_path(
            subject,
            checked,
            format!(
                "{named} is writable by group or others (mode {:04o}) without the \
                 sticky bit, so another user can {}",
                mode & 0o7777,
                subject.replaceable()
            ),
            format!("`chmod go-w {shown}`, or {}", subject.elsewhere()),
        ));
    }
    Ok(())
}

/// A symbolic link on the way decides which directory is used: it must belong to
/// root or the invoking user (its directory is checked by `check_holder`).
fn check_link(subject: Subject, checked: &Path, link: &Path, meta: &Stat) -> Result<()> {
    if trusted_owner(meta.st_uid) {
        return Ok(());
    }
    let chosen = match subject {
        Subject::Index => "an index of their own",
        Subject::File => "a place of their choosing",
    };
    Err(unsafe_path(
        subject,
        checked,
        format!(
            "its path goes through {}, a symbolic link of uid {}, who can point it at {chosen}",
            link.display(),
            meta.st_uid,
        ),
        match subject {
            Subject::Index => {
                "name the index by its real path, or choose an --index directory elsewhere".into()
            }
            Subject::File => "name it by its real path, or choose a directory of your own".into(),
        },
    ))
}

/// The directory itself, and everything in it, read through the held descriptor.
fn check_index_dir(index: &Path, held: &Held) -> Result<()> {
    let real = &held.real;
    let io = |e: rustix::io::Errno| Error::io(real, e.into());
    let meta = rustix::fs::fstat(&held.fd).map_err(io)?;
    let shown = real.display();
    if !trusted_owner(meta.st_uid) {
        return Err(unsafe_index(
            index,
            format!(
                "it belongs to uid {}, not to you (uid {}), so that user can change what it holds",
                meta.st_uid,
                euid()
            ),
            format!(
                "use an --index directory of your own, or, if you trust its contents, `chown -R {} {shown}`",
                euid()
            ),
        ));
    }
    let mode = meta.st_mode;
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
    let listing = rustix::fs::openat(
        &held.fd,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io)?;
    for entry in rustix::fs::Dir::new(listing).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let path = real.join(OsStr::from_bytes(name.to_bytes()));
        let meta = rustix::fs::statat(&held.fd, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| Error::io(&path, e.into()))?;
        let what = match FileType::from_raw_mode(meta.st_mode) {
            FileType::Symlink => "a symbolic link".to_string(),
            FileType::RegularFile if !trusted_owner(meta.st_uid) => {
                format!("a file of uid {}", meta.st_uid)
            }
            FileType::RegularFile => continue,
            _ => "not a regular file".to_string(),
        };
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
    use std::os::unix::fs::{MetadataExt, symlink};

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
    fn the_walk_resolves_a_path_as_the_kernel_does() {
        let dir = tempfile::tempdir().unwrap();
        let base = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir_all(base.join("a/b")).unwrap();
        symlink("a/b", base.join("rel")).unwrap();
        symlink("../..", base.join("a/b/up")).unwrap();
        symlink(base.join("a"), base.join("abs")).unwrap();
        for path in [
            "rel/..",
            "rel/up/a/b",
            "a/./b/../b",
            "abs/b/up/rel",
            "rel/up/abs/..",
        ] {
            let path = base.join(path);
            let held = file_dir(&path, false).unwrap().expect("exists");
            assert_eq!(held.path(), fs::canonicalize(&path).unwrap(), "{path:?}");
        }
        // A missing directory after `..` of a link is created where the kernel puts it.
        let created = file_dir(&base.join("rel/../new"), true).unwrap().unwrap();
        assert_eq!(created.path(), base.join("a/new"));
        assert_eq!(
            fs::metadata(base.join("a/new")).unwrap().mode() & 0o777,
            0o700
        );
        assert!(
            file_dir(&base.join("rel/missing"), false)
                .unwrap()
                .is_none()
        );
        // A loop ends like the kernel's, with ELOOP, not in a hang.
        symlink("loop", base.join("loop")).unwrap();
        let err = file_dir(&base.join("loop/x"), true).err().unwrap();
        assert!(err.to_string().contains("symbolic links"), "{err}");
    }

    #[test]
    fn appending_never_goes_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let trace = dir.path().join("trace");
        symlink(&victim, &trace).unwrap();
        let err = append_private(&trace).err().unwrap();
        assert!(err.to_string().contains("trace"), "{err}");
        // A link on the way to a missing directory is walked, and its directory made.
        symlink(dir.path().join("real"), dir.path().join("logs")).unwrap();
        let mut file = append_private(&dir.path().join("logs/new/trace")).unwrap();
        file.write_all(b"first_frame 1.0\n").unwrap();
        let written = dir.path().join("real/new/trace");
        assert_eq!(fs::read_to_string(&written).unwrap(), "first_frame 1.0\n");
        assert_eq!(fs::metadata(&written).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
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
