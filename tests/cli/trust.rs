//! What kaudit trusts on the machine it runs on (issue 19): an index directory only
//! when no other user can change or replace it (OpenSSH's StrictModes), and only the
//! regular files among the logs found in a directory.
//!
//! These tests run as root (as CI does): they give directories and links to another
//! user (65534, nobody) to prove the refusals.

use std::os::unix::fs::{PermissionsExt, chown, lchown, symlink};
use std::path::Path;

use serde_json::json;

use crate::common::{Kaudit, Run, event};

const NOBODY: u32 = 65534;

fn require_root() {
    assert_eq!(
        rustix::process::geteuid().as_raw(),
        0,
        "these tests give files to another user: run them as root (CI does)"
    );
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// `kaudit ARGS` with the index at `index`.
fn run_on(k: &Kaudit, index: &Path, args: &[&str]) -> Run {
    k.command()
        .env("KAUDIT_INDEX", index)
        .args(args)
        .output()
        .unwrap()
        .into()
}

#[track_caller]
fn assert_refused(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, 2, "not refused: {}", run.stderr);
    assert!(run.stderr.contains("is not safe to use"), "{}", run.stderr);
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "no {needle:?} in: {}",
            run.stderr
        );
    }
}

/// An index holding one request, and its log.
fn ingested() -> (Kaudit, String) {
    let k = Kaudit::new();
    let log = k.write("audit.log", &[event(json!({}))]);
    k.ingest(&[&log]);
    (k, log.display().to_string())
}

#[test]
fn an_index_directory_of_another_user_is_refused_for_reading_and_writing() {
    require_root();
    let (k, log) = ingested();
    let index = k.index();
    chown(&index, Some(NOBODY), Some(NOBODY)).unwrap();
    let fix = format!("`chown -R 0 {}`", index.display());
    for args in [&["ingest", &log][..], &["query", ""], &["status"]] {
        let run = k.run(args);
        assert_refused(
            &run,
            &[&index.display().to_string(), "belongs to uid 65534", &fix],
        );
    }
    // An empty directory another user made in advance is not taken either.
    let planted = k.path("planted");
    std::fs::create_dir(&planted).unwrap();
    chown(&planted, Some(NOBODY), Some(NOBODY)).unwrap();
    assert_refused(
        &run_on(&k, &planted, &["ingest", &log]),
        &["belongs to uid 65534"],
    );
    assert_eq!(
        std::fs::read_dir(&planted).unwrap().count(),
        0,
        "nothing written in it"
    );
}

#[test]
fn an_index_directory_others_can_write_is_refused_until_it_is_chmod_700() {
    let (k, log) = ingested();
    let index = k.index();
    chmod(&index, 0o777);
    let fix = format!("`chmod 700 {}`", index.display());
    assert_refused(
        &k.run(&["query", ""]),
        &["writable by group or others (mode 0777)", &fix],
    );
    assert_refused(&k.run(&["ingest", &log]), &[&fix]);
    chmod(&index, 0o770);
    assert_refused(&k.run(&["status"]), &["(mode 0770)"]);
    // Group-readable is not a way in: only writable modes are refused.
    chmod(&index, 0o750);
    assert_eq!(k.count(""), 1);
    chmod(&index, 0o700);
    assert_eq!(k.count(""), 1);
    // An empty directory made with a writable mode is not made private silently: what
    // it held while open cannot be known.
    let open = k.path("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    assert_refused(&run_on(&k, &open, &["ingest", &log]), &["(mode 0777)"]);
    assert_eq!(std::fs::read_dir(&open).unwrap().count(), 0);
}

#[test]
fn a_parent_another_user_can_swap_is_refused_unless_sticky() {
    require_root();
    let k = Kaudit::new();
    let log = k.write("audit.log", &[event(json!({}))]);
    let log = log.to_str().unwrap();
    let shared = k.path("shared");
    std::fs::create_dir(&shared).unwrap();
    chmod(&shared, 0o777);
    let index = shared.join("deep/index");
    let run = run_on(&k, &index, &["ingest", log]);
    let parent = format!("its parent {} is writable", shared.display());
    assert_refused(&run, &[&parent, "without the sticky bit", "chmod go-w"]);
    assert!(!shared.join("deep").exists(), "nothing created under it");
    // Sticky, like /tmp: others cannot rename or delete what is ours.
    chmod(&shared, 0o1777);
    assert_eq!(run_on(&k, &index, &["ingest", log]).code, 0);
    assert_eq!(
        mode(&shared.join("deep")),
        0o700,
        "created parents are private"
    );
    assert_eq!(mode(&index), 0o700);
    // A parent of another (non-root) user can be swapped by them.
    chmod(&shared, 0o755);
    chown(&shared, Some(NOBODY), Some(NOBODY)).unwrap();
    let run = run_on(&k, &index, &["query", ""]);
    let parent = format!("its parent {} belongs to uid 65534", shared.display());
    assert_refused(&run, &[&parent]);
}

#[test]
fn a_symbolic_link_of_another_user_on_the_path_is_refused() {
    require_root();
    let (k, log) = ingested();
    let shared = k.path("shared");
    std::fs::create_dir(&shared).unwrap();
    chmod(&shared, 0o1777);
    // The link is in a sticky directory, the index it points at is ours and private:
    // what is wrong is who chose where it points.
    let link = shared.join("index");
    symlink(k.index(), &link).unwrap();
    lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap();
    let named = format!("{}, a symbolic link of uid 65534", link.display());
    assert_refused(&run_on(&k, &link, &["ingest", &log]), &[&named]);
    lchown(&link, Some(0), Some(0)).unwrap();
    let run = run_on(&k, &link, &["query", "--count", ""]);
    assert_eq!(run.stdout.trim(), "1", "{}", run.stderr);
    // A link of ours in a directory others can rewrite is no better.
    chmod(&shared, 0o777);
    let holder = format!(
        "{}, which holds a symbolic link on its path,",
        shared.display()
    );
    assert_refused(&run_on(&k, &link, &["status"]), &[&holder]);
}

/// The entries of `dir`, sorted, for "nothing changed in it".
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn nothing_is_created_or_moved_through_another_users_link_before_the_refusal() {
    require_root();
    let k = Kaudit::new();
    let log = k.write("audit.log", &[event(json!({}))]);
    let log = log.to_str().unwrap();
    // Another user's link in a sticky directory, to a directory of root's.
    let shared = k.path("shared");
    std::fs::create_dir(&shared).unwrap();
    chmod(&shared, 0o1777);
    let victim = k.path("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("passwd"), "precious").unwrap();
    let link = shared.join("link");
    symlink(&victim, &link).unwrap();
    lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap();
    // A link of root's whose target goes through theirs: only walking the target
    // finds it.
    let ours = k.path("ours");
    symlink(link.join("deeper"), &ours).unwrap();
    let named = format!("{}, a symbolic link of uid 65534", link.display());
    for index in [
        link.join("created/by/root"),
        link.join("passwd"),
        ours.join("index"),
        shared.join("new/../link/created"),
    ] {
        let index = index.to_str().unwrap();
        for args in [
            &["ingest", log][..],
            &["index", "rebuild", log],
            &["query", ""],
            &["status"],
        ] {
            let run = run_on(&k, Path::new(index), args);
            assert_refused(&run, &[&named]);
            assert_eq!(listing(&victim), ["passwd"], "{index} {args:?}");
        }
    }
    assert_eq!(
        std::fs::read_to_string(victim.join("passwd")).unwrap(),
        "precious"
    );
    // A link of root's in a directory others can rewrite: refused before its
    // (missing) target is created.
    let open = k.path("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    symlink(victim.join("missing"), open.join("link")).unwrap();
    let holder = format!(
        "{}, which holds a symbolic link on its path,",
        open.display()
    );
    let run = run_on(&k, &open.join("link/index"), &["ingest", log]);
    assert_refused(&run, &[&holder]);
    assert_eq!(listing(&victim), ["passwd"]);
}

#[test]
fn index_rebuild_moves_aside_only_a_kaudit_index_it_may_use() {
    require_root();
    let (k, log) = ingested();
    // A directory that is no kaudit index (here /etc-like: root's, with files) is
    // not renamed by `rebuild`, nor is a file.
    let config = k.path("etc");
    std::fs::create_dir(&config).unwrap();
    chmod(&config, 0o700);
    std::fs::write(config.join("passwd"), "precious").unwrap();
    let run = run_on(&k, &config, &["index", "rebuild", &log]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("does not look like a kaudit index"),
        "{}",
        run.stderr
    );
    let file = config.join("passwd");
    let run = run_on(&k, &file, &["index", "rebuild", &log]);
    assert!(
        run.stderr.contains("it is not a directory"),
        "{}",
        run.stderr
    );
    assert_eq!(listing(&config), ["passwd"]);
    assert_eq!(
        listing(k.dir.path())
            .iter()
            .filter(|n| n.contains("damaged"))
            .count(),
        0
    );
    // An index of another user is refused, not moved.
    chown(k.index(), Some(NOBODY), Some(NOBODY)).unwrap();
    assert_refused(
        &k.run(&["index", "rebuild", &log]),
        &["belongs to uid 65534"],
    );
    assert!(k.index().join("kaudit-index.json").exists());
    // Ours again: moved aside and rebuilt.
    chown(k.index(), Some(0), Some(0)).unwrap();
    let run = k.run(&["index", "rebuild", &log]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(k.count(""), 1);
}

#[test]
fn links_planted_in_the_index_are_refused_and_never_written_through() {
    let (k, log) = ingested();
    let index = k.index();
    let victim = k.path("victim");
    std::fs::write(&victim, "precious").unwrap();
    for name in ["writer.pid", "kaudit-index.json", ".tantivy-writer.lock"] {
        let planted = index.join(name);
        let saved = k.path("saved");
        let had = std::fs::rename(&planted, &saved).is_ok();
        symlink(&victim, &planted).unwrap();
        let shown = format!("holds {}, a symbolic link", planted.display());
        assert_refused(&k.run(&["ingest", &log]), &[&shown]);
        assert_refused(&k.run(&["query", ""]), &[&shown]);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        std::fs::remove_file(&planted).unwrap();
        if had {
            std::fs::rename(&saved, &planted).unwrap();
        }
    }
    assert_eq!(k.count(""), 1, "the index is usable again");
}

#[test]
fn a_fifo_or_a_strangers_file_in_the_index_is_refused_without_blocking() {
    require_root();
    let (k, log) = ingested();
    let index = k.index();
    let marker = index.join("kaudit-index.json");
    let saved = k.path("marker");
    std::fs::rename(&marker, &saved).unwrap();
    mkfifo(&marker);
    // Reading the marker would block forever on a FIFO without a writer.
    let run = run_bounded(k.command().args(["query", ""]));
    assert_refused(&run, &["not a regular file"]);
    std::fs::remove_file(&marker).unwrap();
    std::fs::rename(&saved, &marker).unwrap();
    let stray = index.join("stray");
    std::fs::write(&stray, "").unwrap();
    chown(&stray, Some(NOBODY), Some(NOBODY)).unwrap();
    assert_refused(&k.run(&["ingest", &log]), &["a file of uid 65534"]);
}

/// Runs a command that must not block: killed, and the test failed, after 60 s.
fn run_bounded(command: &mut std::process::Command) -> Run {
    use std::process::Stdio;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!(
                "kaudit blocked for 60 s: {:?}",
                child.wait_with_output().unwrap()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap().into()
}

pub(crate) fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
        0,
        "mkfifo {}",
        path.display()
    );
}

#[test]
fn a_first_run_killed_while_writing_the_marker_leaves_a_usable_directory() {
    let k = Kaudit::new();
    let log = k.write("audit.log", &[event(json!({}))]);
    std::fs::create_dir(k.index()).unwrap();
    chmod(&k.index(), 0o700);
    std::fs::write(k.index().join(".kaudit-index.json.tmp"), "{\"sche").unwrap();
    k.ingest(&[&log]);
    assert_eq!(k.count(""), 1);
}

#[test]
fn special_files_found_in_a_directory_are_skipped_with_a_warning() {
    let k = Kaudit::new();
    let logs = k.path("logs");
    k.write("logs/audit.log", &[event(json!({}))]);
    mkfifo(&logs.join("audit.log.1"));
    mkfifo(&k.path("elsewhere.fifo"));
    symlink(k.path("elsewhere.fifo"), logs.join("linked.jsonl")).unwrap();
    symlink("/dev/zero", logs.join("zero.ndjson")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(logs.join("sock.json")).unwrap();
    // Not named like a log: skipped by its name, as before, without a look at its type.
    mkfifo(&logs.join("notes"));
    let run = run_bounded(k.command().args(["ingest", logs.to_str().unwrap()]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shown = |name: &str, kind: &str| format!("{}: {kind}", logs.join(name).display());
    for (name, kind) in [
        ("audit.log.1", "a FIFO"),
        ("linked.jsonl", "a FIFO"),
        ("zero.ndjson", "a character device"),
        ("sock.json", "a socket"),
    ] {
        assert!(run.stderr.contains(&shown(name, kind)), "{}", run.stderr);
    }
    assert!(
        run.stderr
            .contains("warning: skipped 4 file(s) named like logs that are not regular files"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("skipped 1 file(s) not named like logs"),
        "{}",
        run.stderr
    );
    assert_eq!(k.count(""), 1);
}

#[test]
fn a_fifo_named_as_a_path_is_read_as_a_stream() {
    use std::io::Write;
    let k = Kaudit::new();
    let (plain, gzip) = (k.path("plain.fifo"), k.path("gzip.fifo"));
    mkfifo(&plain);
    mkfifo(&gzip);
    let lines = |from: u32| {
        (from..from + 3)
            .map(|n| event(json!({"auditID": crate::common::id(n)})) + "\n")
            .collect::<String>()
    };
    let mut compressed = flate2::write::GzEncoder::new(Vec::new(), Default::default());
    compressed.write_all(lines(10).as_bytes()).unwrap();
    let compressed = compressed.finish().unwrap();
    // Writers open their FIFO when kaudit does (opening blocks until both ends are
    // there); detached, so a failing kaudit cannot hang the test on them.
    let plain_text = lines(1);
    let feed = |path: std::path::PathBuf, bytes: Vec<u8>| {
        std::thread::spawn(move || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .unwrap()
                .write_all(&bytes)
                .unwrap()
        })
    };
    feed(plain.clone(), plain_text.into_bytes());
    feed(gzip.clone(), compressed);
    let run =
        run_bounded(
            k.command()
                .args(["ingest", plain.to_str().unwrap(), gzip.to_str().unwrap()]),
        );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(k.count(""), 6);
}
