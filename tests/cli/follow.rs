//! Following through rotation, and resuming after kill -9: the index ends with exactly
//! the requests written, none lost, none twice.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{Kaudit, event, id};

/// xorshift64*: small, seeded, reproducible (the seed is printed).
struct Rng(u64);

impl Rng {
    fn seeded(name: &str) -> Rng {
        let seed = std::env::var("KAUDIT_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{name}: KAUDIT_TEST_SEED={seed}");
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The lines of request `n`: one ResponseComplete, or RequestReceived then ResponseComplete.
fn request_lines(n: u32, both_stages: bool) -> Vec<String> {
    let t = format!(
        "2026-11-20T{:02}:{:02}:{:02}.{:06}Z",
        10 + n / 360_000 % 10,
        n / 6000 % 60,
        n / 100 % 60,
        n % 100 * 1000
    );
    let complete =
        event(json!({"auditID": id(n), "requestReceivedTimestamp": t, "stageTimestamp": t}));
    if both_stages {
        let received = event(
            json!({"auditID": id(n), "stage": "RequestReceived", "responseStatus": null,
            "requestReceivedTimestamp": t, "stageTimestamp": t}),
        );
        vec![received, complete]
    } else {
        vec![complete]
    }
}

fn spawn_follow(k: &Kaudit, dir: &Path, extra: &[&str]) -> Child {
    let mut args = vec!["ingest", "--follow", "--commit-interval", "0.2"];
    args.extend_from_slice(extra);
    let dir = dir.to_str().unwrap().to_string();
    args.push(&dir);
    k.command()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    let _ = rustix::process::kill_process(pid, sig);
}

/// Waits until the index holds `n` requests (or `limit` passes); returns the last count.
fn wait_for_count(k: &Kaudit, n: u64, limit: Duration) -> u64 {
    let start = Instant::now();
    loop {
        let run = k.run(&["query", "--count", ""]);
        let count = run.stdout.trim().parse().unwrap_or(0);
        if count == n || start.elapsed() > limit {
            return count;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every auditID in the index, once per document.
fn indexed_ids(k: &Kaudit) -> Vec<String> {
    let rows = k.rows("", &[]);
    let mut ids: Vec<String> = rows
        .iter()
        .map(|r| r["auditID"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn assert_exactly(k: &Kaudit, written: &BTreeSet<u32>) {
    let ids = indexed_ids(k);
    let expected: Vec<String> = written.iter().map(|&n| id(n)).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a request is indexed twice");
    let missing: Vec<&String> = expected
        .iter()
        .filter(|e| !unique.contains(e))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} requests lost, e.g. {missing:?}",
        expected.len() - ids.len().min(expected.len()),
        expected.len()
    );
    assert_eq!(ids, expected);
}

/// Writes requests into dir/audit.log in random chunks (lines split across writes) and
/// rotates it in every way an apiserver host does.
struct LogWriter {
    dir: PathBuf,
    file: Option<File>,
    next: u32,
    written: BTreeSet<u32>,
    rotations: u32,
    rng: Rng,
}

#[derive(Debug, Clone, Copy)]
enum Rotation {
    Rename,
    RenameThenGzip,
    CopyTruncate,
    DeleteRecreate,
}

impl LogWriter {
    fn new(dir: &Path, rng: Rng) -> LogWriter {
        LogWriter {
            dir: dir.to_path_buf(),
            file: None,
            next: 1,
            written: BTreeSet::new(),
            rotations: 0,
            rng,
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    fn open(&mut self) {
        self.file = Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log())
                .unwrap(),
        );
    }

    fn write_requests(&mut self, count: u32) {
        let mut text = String::new();
        for _ in 0..count {
            let both = self.rng.below(2) == 0;
            for line in request_lines(self.next, both) {
                text.push_str(&line);
                text.push('\n');
            }
            self.written.insert(self.next);
            self.next += 1;
        }
        let bytes = text.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let n = (1 + self.rng.below(700) as usize).min(bytes.len() - at);
            let file = self.file.as_mut().unwrap();
            file.write_all(&bytes[at..at + n]).unwrap();
            file.flush().unwrap();
            at += n;
            if self.rng.below(20) == 0 {
                std::thread::sleep(Duration::from_millis(self.rng.below(15)));
            }
        }
    }

    fn backup_name(&mut self) -> PathBuf {
        self.rotations += 1;
        let r = self.rotations;
        self.dir.join(format!(
            "audit-2026-11-20T{:02}-{:02}-{:02}.000.log",
            r / 3600,
            r / 60 % 60,
            r % 60
        ))
    }

    /// Rotates the log; Err when kaudit did not catch up before a delete.
    fn rotate(&mut self, how: Rotation, k: &Kaudit) -> Result<(), String> {
        match how {
            Rotation::Rename | Rotation::RenameThenGzip => {
                let backup = self.backup_name();
                fs::rename(self.log(), &backup).unwrap();
                self.open();
                if let Rotation::RenameThenGzip = how {
                    std::thread::sleep(Duration::from_millis(self.rng.below(30)));
                    let plain = fs::read(&backup).unwrap();
                    let gz = PathBuf::from(format!("{}.gz", backup.display()));
                    let mut enc = flate2::write::GzEncoder::new(
                        File::create(&gz).unwrap(),
                        flate2::Compression::fast(),
                    );
                    enc.write_all(&plain).unwrap();
                    enc.finish().unwrap();
                    fs::remove_file(&backup).unwrap();
                }
            }
            Rotation::CopyTruncate => {
                self.rotations += 1;
                // Shift every copy up (none is pruned: a pruned copy nobody read is
                // lost by the rotation itself, not by kaudit).
                let highest = (1..)
                    .take_while(|n| self.dir.join(format!("audit.log.{n}")).exists())
                    .last()
                    .unwrap_or(0);
                for n in (1..=highest).rev() {
                    let from = self.dir.join(format!("audit.log.{n}"));
                    if from.exists() {
                        fs::rename(&from, self.dir.join(format!("audit.log.{}", n + 1))).unwrap();
                    }
                }
                fs::copy(self.log(), self.dir.join("audit.log.1")).unwrap();
                self.file.as_ref().unwrap().set_len(0).unwrap();
            }
            Rotation::DeleteRecreate => {
                // Deleting loses what nobody read: wait until kaudit has read it all.
                let n = self.written.len() as u64;
                let count = wait_for_count(k, n, Duration::from_secs(20));
                if count != n {
                    return Err(format!(
                        "kaudit had {count} of {n} requests before a delete"
                    ));
                }
                fs::remove_file(self.log()).unwrap();
                self.file = None;
                std::thread::sleep(Duration::from_millis(self.rng.below(50)));
                self.open();
            }
        }
        Ok(())
    }
}

fn rotation_harness(poll: bool) {
    let k = Kaudit::new();
    let dir = k.path("logs");
    fs::create_dir_all(&dir).unwrap();
    let mut w = LogWriter::new(
        &dir,
        Rng::seeded(if poll {
            "rotation (poll)"
        } else {
            "rotation (inotify)"
        }),
    );
    // kaudit starts before audit.log exists.
    let child = spawn_follow(&k, &dir, if poll { &["--poll"] } else { &[] });
    std::thread::sleep(Duration::from_millis(300));
    w.open();
    let methods = [
        Rotation::Rename,
        Rotation::RenameThenGzip,
        Rotation::CopyTruncate,
        Rotation::DeleteRecreate,
    ];
    let mut used = [0u32; 4];
    // Every method 10 times in the first 40 rounds, in random order (a shuffle: drawing
    // each round at random left a method with 4 now and then), then at random.
    let mut schedule: Vec<usize> = (0..40).map(|i| i % 4).collect();
    for i in (1..schedule.len()).rev() {
        let j = w.rng.below(i as u64 + 1) as usize;
        schedule.swap(i, j);
    }
    for round in 0..56 {
        let count = 5 + w.rng.below(30) as u32;
        w.write_requests(count);
        let how = methods[match schedule.get(round) {
            Some(&pick) => pick,
            None => w.rng.below(4) as usize,
        }];
        used[how as usize] += 1;
        eprintln!("round {round}: wrote ..{} then {how:?}", w.next - 1);
        if let Err(why) = w.rotate(how, &k) {
            signal(&child, rustix::process::Signal::INT);
            let out = child.wait_with_output().unwrap();
            eprintln!("{}", k.run(&["status"]).stdout);
            let all = indexed_ids(&k);
            let twice: Vec<&String> = all
                .windows(2)
                .filter(|w| w[0] == w[1])
                .map(|w| &w[0])
                .collect();
            eprintln!("indexed twice: {twice:?}");
            eprintln!(
                "{}",
                k.run(&[
                    "query",
                    "--all-stages",
                    "--format",
                    "ndjson",
                    &format!(
                        "auditid:{}",
                        twice.first().map(|s| s.as_str()).unwrap_or("none")
                    )
                ])
                .stdout
            );
            let ids: BTreeSet<String> = all.into_iter().collect();
            let missing: Vec<u32> = w
                .written
                .iter()
                .copied()
                .filter(|&n| !ids.contains(&id(n)))
                .collect();
            use std::os::unix::fs::MetadataExt;
            let path_ino = fs::metadata(w.log()).map(|m| m.ino()).ok();
            let handle_ino = w.file.as_ref().map(|f| f.metadata().unwrap().ino());
            panic!(
                "{why} after rotation {how:?} in round {round} ({used:?}); missing {missing:?}; path ino {path_ino:?} writer ino {handle_ino:?}\nkaudit:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(w.rng.below(40)));
    }
    w.write_requests(10);
    let n = w.written.len() as u64;
    let count = wait_for_count(&k, n, Duration::from_secs(30));
    signal(&child, rustix::process::Signal::INT);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("requests:"),
        "summary printed on SIGINT: {stderr}"
    );
    assert_eq!(count, n, "rotations {used:?}; stderr:\n{stderr}");
    assert_exactly(&k, &w.written);
    assert!(used.iter().all(|&u| u >= 10), "{used:?}");
}

#[test]
fn following_through_every_kind_of_rotation_loses_and_doubles_nothing() {
    rotation_harness(false);
}

#[test]
fn following_with_poll_loses_and_doubles_nothing() {
    rotation_harness(true);
}

#[test]
fn a_second_writer_is_refused_with_the_holders_pid() {
    let k = Kaudit::new();
    let dir = k.path("logs");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("audit.log"), format!("{}\n", event(json!({})))).unwrap();
    let child = spawn_follow(&k, &dir, &[]);
    assert_eq!(wait_for_count(&k, 1, Duration::from_secs(10)), 1);
    let second = k.run(&["ingest", dir.to_str().unwrap()]);
    assert_eq!(second.code, 2);
    assert!(
        second.stderr.contains(&format!("pid {}", child.id())),
        "{}",
        second.stderr
    );
    let status = k.run(&["status"]);
    assert!(
        status
            .stdout
            .contains(&format!("writer:   pid {}", child.id())),
        "{}",
        status.stdout
    );
    signal(&child, rustix::process::Signal::TERM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(k.run(&["status"]).stdout.contains("writer:   none running"));
}

#[test]
fn kill_9_at_any_moment_then_rerun_gives_exactly_the_log() {
    kill_9_at_any_moment_then_rerun("0");
}

/// The same with parsing threads, which the default leaves out on 2 cores: batches
/// parsed ahead must never be in a checkpoint before they are in the index.
#[test]
fn kill_9_at_any_moment_with_parsing_threads_then_rerun_gives_exactly_the_log() {
    kill_9_at_any_moment_then_rerun("2");
}

fn kill_9_at_any_moment_then_rerun(parse_threads: &str) {
    let k = Kaudit::new();
    let mut rng = Rng::seeded("crash");
    let dir = k.path("logs");
    fs::create_dir_all(&dir).unwrap();
    let mut written = BTreeSet::new();
    let mut lines = Vec::new();
    for n in 1..=4000u32 {
        lines.extend(request_lines(n, n % 3 != 0));
        written.insert(n);
    }
    // Half in a gzipped backup, half in the live log; a stage pair may straddle them.
    let (old, new) = lines.split_at(lines.len() / 2 + 1);
    let mut enc = flate2::write::GzEncoder::new(
        File::create(dir.join("audit-2026-11-20T10-00-00.000.log.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all((old.join("\n") + "\n").as_bytes()).unwrap();
    enc.finish().unwrap();
    fs::write(dir.join("audit.log"), new.join("\n") + "\n").unwrap();
    for _ in 0..10 {
        let mut child = k
            .command()
            .args(["ingest", "--commit-interval", "0.01", dir.to_str().unwrap()])
            .args(["--parse-threads", parse_threads])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(600)));
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
    }
    let last = k.run(&[
        "ingest",
        "--parse-threads",
        parse_threads,
        dir.to_str().unwrap(),
    ]);
    assert_eq!(last.code, 0, "{}", last.stderr);
    assert_exactly(&k, &written);
    // Every two-stage request ends as its final stage.
    assert_eq!(k.count("stage:RequestReceived"), 0);
}

#[test]
fn kill_9_while_following_then_resume_gives_exactly_the_log() {
    let k = Kaudit::new();
    let dir = k.path("logs");
    fs::create_dir_all(&dir).unwrap();
    let mut w = LogWriter::new(&dir, Rng::seeded("crash while following"));
    w.open();
    for round in 0..8 {
        let mut child = spawn_follow(&k, &dir, &[]);
        for _ in 0..(1 + w.rng.below(6)) {
            let count = 20 + w.rng.below(60) as u32;
            w.write_requests(count);
            if w.rng.below(3) == 0 {
                let how = [
                    Rotation::Rename,
                    Rotation::RenameThenGzip,
                    Rotation::CopyTruncate,
                ][round % 3];
                w.rotate(how, &k).unwrap();
            }
            std::thread::sleep(Duration::from_millis(w.rng.below(150)));
        }
        let _ = child.kill();
        child.wait().unwrap();
    }
    let child = spawn_follow(&k, &dir, &[]);
    let n = w.written.len() as u64;
    let count = wait_for_count(&k, n, Duration::from_secs(30));
    signal(&child, rustix::process::Signal::INT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(count, n, "{}", String::from_utf8_lossy(&out.stderr));
    assert_exactly(&k, &w.written);
}
