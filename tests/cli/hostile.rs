//! Hostile logs and a broken environment (issue 6): every bad line is rejected or
//! warned about at its place while the good ones around it are indexed, hostile text
//! is shown escaped everywhere, memory stays bounded, and a full disk or a damaged
//! index costs no data and says what to do.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::common::{Kaudit, Run, column, event, id};
use crate::tui::{Terminal, tui};

/// Runs `command` and returns its result with the child's own peak memory in KiB.
// The child is reaped by wait4, which std cannot see.
#[allow(clippy::zombie_processes)]
fn run_measured(mut command: std::process::Command) -> (Run, u64) {
    let stdout = tempfile::tempfile().unwrap();
    let stderr = tempfile::tempfile().unwrap();
    command
        .stdout(stdout.try_clone().unwrap())
        .stderr(stderr.try_clone().unwrap());
    let child = command.spawn().unwrap();
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: waits for our own child, which std has not reaped (no wait() on it).
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    let read = |mut f: std::fs::File| {
        use std::io::{Read, Seek};
        let mut text = String::new();
        f.rewind().unwrap();
        f.read_to_string(&mut text).unwrap();
        text
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let run = Run {
        code,
        stdout: read(stdout),
        stderr: read(stderr),
    };
    (run, usage.ru_maxrss as u64)
}

fn line(n: u32, extra: Value) -> String {
    let mut fields = json!({"auditID": id(n), "verb": "list", "requestURI": "/api/v1/pods"});
    for (k, v) in extra.as_object().unwrap() {
        fields[k] = v.clone();
    }
    event(fields)
}

#[test]
fn hostile_shapes_are_rejected_or_warned_at_their_place_and_the_rest_indexed() {
    let k = Kaudit::new();
    let mut log: Vec<u8> = Vec::new();
    let mut push = |bytes: &[u8]| {
        log.extend_from_slice(bytes);
        log.push(b'\n');
    };
    push(&[b"\xef\xbb\xbf", line(1, json!({})).as_bytes()].concat()); // 1 BOM
    push(&[line(2, json!({})).as_bytes(), b"\r"].concat()); // 2 CRLF
    push(line(3, json!({"userAgent": "x".repeat(3 << 20)})).as_bytes()); // 3 3 MiB
    let good = line(4, json!({}));
    push(&[&good.as_bytes()[..40], b"\xff\xfe", &good.as_bytes()[40..]].concat()); // 4
    let mut seed = 7u32; // 5: random binary, without line breaks
    let binary: Vec<u8> = (0..4096)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            match (seed >> 16) as u8 {
                b'\n' => 0,
                b => b,
            }
        })
        .collect();
    push(&binary);
    push(line(6, json!({"verb": 7})).as_bytes()); // 6 wrong type
    let month_13 = json!({"requestReceivedTimestamp": "2026-13-45T99:99:99Z"});
    push(line(7, month_13).as_bytes()); // 7
    let year_99999 = json!({"requestReceivedTimestamp": "99999-01-01T00:00:00Z"});
    push(line(8, year_99999).as_bytes()); // 8
    push(line(9, json!({"verb": "frobnicate"})).as_bytes()); // 9 unknown verb
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let nested = line(10, json!({})).replacen('{', &format!("{{\"requestObject\":{deep},"), 1);
    push(nested.as_bytes()); // 10 200,000-deep nesting
    push(line(11, json!({})).as_bytes()); // 11
    log.extend_from_slice(&line(12, json!({})).as_bytes()[..80]); // 12 truncated
    let path = k.path("shapes.log");
    std::fs::write(&path, &log).unwrap();

    let run = k.run(&[
        "ingest",
        "--max-line-bytes",
        "1048576",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        // Lines whose envelope is readable are salvaged, not rejected (issue 19).
        "shapes.log:3: salvaged (too-long)",
        "shapes.log:4: salvaged (invalid-utf8)",
        "shapes.log:10: salvaged (too-deep)",
        "shapes.log:5: binary data",
        "shapes.log:6: field verb: expected a string, found a number",
        "shapes.log:7: requestReceivedTimestamp \"2026-13-45T99:99:99Z\" is not a valid time; timed by the other timestamp",
        "shapes.log:8: requestReceivedTimestamp \"99999-01-01T00:00:00Z\" is not a valid time",
        "shapes.log:12: truncated final line",
    ] {
        assert!(
            run.stderr.contains(expected),
            "{expected:?} in\n{}",
            run.stderr
        );
    }
    assert!(run.stderr.contains("rejected: 3"), "{}", run.stderr);
    // All but the binary line, the wrong type and the truncated last line.
    let ids: Vec<String> = k
        .rows("", &["--oldest-first"])
        .iter()
        .map(|r| r["auditID"].as_str().unwrap().to_string())
        .collect();
    let mut expected: Vec<String> = [1, 2, 3, 4, 7, 8, 9, 10, 11]
        .iter()
        .map(|&n| id(n))
        .collect();
    let mut got = ids.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(k.count("verb:frobnicate"), 1, "an unknown verb is data");
    assert_eq!(k.count("salvaged:*"), 3);
    assert_eq!(k.count("salvaged:too-deep"), 1);
}

#[test]
fn a_huge_document_costs_bounded_memory() {
    // A small gzip whose one document is a huge array (issue 19): items are read one
    // by one, never the whole document. Memory is compared with a small document in
    // the same run; 32 MiB of array used to take about 30 times its size.
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let k = Kaudit::new();
    let write_gz = |name: &str, zeros: usize| {
        let path = k.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut gz = GzEncoder::new(std::fs::File::create(&path).unwrap(), Compression::fast());
        gz.write_all(b"[\n").unwrap();
        let chunk = "0,".repeat(1 << 20);
        for _ in 0..zeros / (1 << 20) {
            gz.write_all(chunk.as_bytes()).unwrap();
        }
        gz.write_all(line(1, json!({})).as_bytes()).unwrap();
        gz.write_all(b"\n]\n").unwrap();
        gz.finish().unwrap();
        path
    };
    let small = write_gz("small/audit.log.gz", 0);
    let huge = write_gz("huge/audit.log.gz", 16 << 20);
    assert!(std::fs::metadata(&huge).unwrap().len() < 1 << 20);
    let measure = |path: &Path, index: &str| {
        let mut command = k.command();
        let index = k.path(index);
        command.args([
            "ingest",
            "--index",
            index.to_str().unwrap(),
            path.to_str().unwrap(),
        ]);
        run_measured(command)
    };
    let (base, base_kib) = measure(&small, "i1");
    let (run, huge_kib) = measure(&huge, "i2");
    assert_eq!((base.code, run.code), (0, 0), "{}", run.stderr);
    assert!(run.stderr.contains("requests: 1 new"), "{}", run.stderr);
    assert!(
        run.stderr.contains("not a JSON object: 16,777,216"),
        "{}",
        run.stderr
    );
    assert!(
        huge_kib < base_kib + 64 * 1024,
        "peak {huge_kib} KiB with a 32 MiB array, {base_kib} KiB with one item"
    );
}

#[test]
fn an_over_long_line_costs_no_memory() {
    // Peak memory with a 64 MiB line (cap 1 MiB) against the same log without it,
    // measured in the same run: the line is skipped in chunks, never held, and its
    // request is still indexed from the envelope around the body (issue 19).
    let k = Kaudit::new();
    let good: Vec<String> = (1..=50).map(|n| line(n, json!({}))).collect();
    let plain = k.write("plain/audit.log", &good);
    let mut long = good.clone();
    let body = json!({"requestObject": {"data": {"x": "<".repeat(64 << 20)}}, "verb": "patch"});
    long.insert(25, line(99, body));
    let with_long = k.write("long/audit.log", &long);
    let measure = |path: &Path, index: &str| {
        let mut command = k.command();
        command.args([
            "ingest",
            "--index",
            k.path(index).to_str().unwrap(),
            "--max-line-bytes",
            "1048576",
            path.to_str().unwrap(),
        ]);
        run_measured(command)
    };
    let (base, base_kib) = measure(&plain, "i1");
    let (run, long_kib) = measure(&with_long, "i2");
    assert_eq!((base.code, run.code), (0, 0), "{}", run.stderr);
    assert!(run.stderr.contains("salvaged: 1"), "{}", run.stderr);
    assert!(run.stderr.contains("requests: 51 new"), "{}", run.stderr);
    assert!(
        long_kib < base_kib + 16 * 1024,
        "peak {long_kib} KiB with a 64 MiB line, {base_kib} KiB without"
    );
    let index = k.path("i2");
    let row = k.rows("salvaged:too-long", &["--index", index.to_str().unwrap()]);
    assert_eq!(column(&row, "auditID"), [id(99)]);
    assert_eq!(column(&row, "verb"), ["patch"]);
}

/// Text an attacker can put in a request: terminal escapes (CSI, OSC with BEL), a C1
/// CSI, a bidi override, NUL, and a spreadsheet formula.
const USER: &str = "=cmd|' /C calc'!A0 \u{1b}]0;owned\u{7}";
const AGENT: &str = "kube\u{1b}[31mred \u{9b}2J \u{202e}txt.exe\u{0}";
const NAME: &str = "db\u{202e}-password";
const NAMESPACE: &str = "ns\u{1b}[0m";

/// Bytes a terminal would act on, which kaudit must never write from the log.
fn assert_inert(what: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    for (bad, name) in [
        ("\u{1b}]0;owned", "OSC title"),
        ("\u{1b}[31mred", "CSI color"),
        ("\u{9b}", "C1 CSI"),
        ("\u{202e}", "bidi override"),
        ("\u{0}", "NUL"),
    ] {
        assert!(!text.contains(bad), "{what}: raw {name} in output:\n{text}");
    }
}

fn hostile_index() -> Kaudit {
    let k = Kaudit::new();
    let lines = [
        event(json!({
            "auditID": id(1), "verb": "get", "userAgent": AGENT,
            "user": {"username": USER, "groups": ["system:authenticated"]},
            "requestURI": format!("/api/v1/namespaces/{NAMESPACE}/secrets/{NAME}"),
            "objectRef": {"resource": "secrets", "namespace": NAMESPACE, "name": NAME, "apiVersion": "v1"},
        })),
        event(json!({
            "auditID": id(2), "verb": "create", "userAgent": AGENT,
            "user": {"username": USER},
            "requestURI": format!("/api/v1/namespaces/{NAMESPACE}/pods/{NAME}/exec?command=sh&command=-c&command=%1b%5d0%3bowned%07"),
            "objectRef": {"resource": "pods", "namespace": NAMESPACE, "name": NAME, "subresource": "exec", "apiVersion": "v1"},
            "responseStatus": {"code": 101},
        })),
    ];
    let log = k.write("audit.log", &lines);
    let run = k.ingest(&[&log]);
    assert!(run.stderr.contains("requests: 2 new"), "{}", run.stderr);
    k
}

#[test]
fn hostile_text_is_shown_escaped_in_every_output() {
    let k = hostile_index();
    let mut outputs = Vec::new();
    for format in ["table", "csv"] {
        outputs.push((
            format!("query {format}"),
            k.run(&["query", "--format", format, ""]),
        ));
    }
    for report in ["secrets", "serviceaccounts", "immutability", "stats"] {
        for format in ["table", "csv", "markdown"] {
            let run = k.run(&["report", report, "--format", format]);
            outputs.push((format!("report {report} {format}"), run));
        }
    }
    for (what, run) in &outputs {
        assert!(run.code == 0 || run.code == 1, "{what}: {}", run.stderr);
        assert_inert(what, run.stdout.as_bytes());
        assert_inert(what, run.stderr.as_bytes());
    }
    let csv = &outputs[1].1.stdout;
    assert!(csv.contains("'=cmd|"), "a formula is neutralized:\n{csv}");
    assert!(csv.contains("\\x1b]0;owned\\x07"), "shown escaped:\n{csv}");

    // JSON stays exact: the values come back as they were logged.
    let rows = k.rows("", &["--oldest-first"]);
    assert_eq!(rows[0]["user"], USER);
    assert_eq!(rows[0]["userAgent"], AGENT);
    assert_eq!(rows[0]["name"], NAME);
    assert_eq!(rows[0]["namespace"], NAMESPACE);
    let secrets = k.report("secrets", &[]);
    assert!(
        secrets.to_string().contains("\\u001b]0;owned\\u0007"),
        "{secrets}"
    );

    // The TUI: the table and the detail of the exec, read off a pseudo-terminal.
    let mut command = tui(&k);
    command.args(["tui", "-q", "sub:exec"]);
    let mut term = Terminal::spawn(command);
    term.wait_for("1 of 1");
    term.type_keys("\r");
    let detail = term.wait_for("command");
    assert!(detail.contains("\\x1b]0;owned\\x07"), "{detail}");
    term.type_keys("q");
    assert_eq!(term.wait_exit(), 0);
    assert_inert("tui", &term.raw());
}

#[test]
fn a_damaged_index_says_so_and_rebuild_reads_its_logs_again() {
    let k = Kaudit::new();
    let logs = k.path("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs");
    for entry in std::fs::read_dir(&samples).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), logs.join(entry.file_name())).unwrap();
    }
    assert_eq!(k.ingest(&[&logs]).code, 0);
    assert_eq!(k.count(""), 932);

    // A truncated segment file: a clear error naming the way out, not a panic.
    let store = std::fs::read_dir(k.index())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "store"))
        .unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&store)
        .unwrap();
    file.set_len(1000).unwrap();
    let broken = k.run(&["query", "verb:get"]);
    assert_eq!(broken.code, 2, "{}", broken.stderr);
    assert!(broken.stderr.contains("is damaged"), "{}", broken.stderr);
    assert!(
        broken.stderr.contains("kaudit index rebuild"),
        "{}",
        broken.stderr
    );

    let rebuilt = k.run(&["index", "rebuild"]);
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.stderr);
    assert!(
        rebuilt.stderr.contains("moved the damaged index to"),
        "{}",
        rebuilt.stderr
    );
    assert_eq!(k.count(""), 932, "every request is back");
    let kept = std::fs::read_dir(k.dir.path())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("index.damaged-")
        })
        .count();
    assert_eq!(kept, 1, "the damaged index is kept for a closer look");

    // Fields other than the ones this kaudit writes (another build): every answer
    // would be wrong, so it is refused as damaged too.
    let meta = k.index().join("meta.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    let field = "\"name\": \"verb\"";
    assert!(text.contains(field), "{text}");
    std::fs::write(&meta, text.replacen(field, "\"name\": \"verb2\"", 1)).unwrap();
    let other = k.run(&["query", "verb:get"]);
    assert_eq!(other.code, 2, "{}", other.stderr);
    assert!(
        other.stderr.contains("its fields are not the ones"),
        "{}",
        other.stderr
    );

    // meta.json itself unreadable: the index cannot name its logs; the user does.
    std::fs::write(k.index().join("meta.json"), "garbage").unwrap();
    assert_eq!(k.run(&["status"]).code, 2);
    let unnamed = k.run(&["index", "rebuild"]);
    assert_eq!(unnamed.code, 2, "{}", unnamed.stderr);
    assert!(
        unnamed.stderr.contains("no logs to rebuild"),
        "{}",
        unnamed.stderr
    );
    let named = k.run(&["index", "rebuild", logs.to_str().unwrap()]);
    assert_eq!(named.code, 0, "{}", named.stderr);
    assert_eq!(k.count(""), 932);
    assert!(
        k.run(&["index", "rebuild"]).code == 0,
        "a third rebuild in the same second"
    );
}

#[test]
fn a_full_disk_during_a_commit_keeps_the_last_commit_and_loses_nothing() {
    let k = Kaudit::new();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs");
    assert_eq!(k.ingest(&[&samples]).code, 0);
    // A second, bigger log arrives; the disk fills while it is written.
    let mut noise = kaudit::synth::Noise::new(3, "2026-11-21T00:00:00Z".parse().unwrap());
    let mut text = String::new();
    while text.len() < 6 << 20 {
        noise.next_line(&mut text);
        text.push('\n');
    }
    let more = k.path("more.log");
    std::fs::write(&more, &text).unwrap();
    let mut command = k.command();
    command.args(["ingest", more.to_str().unwrap()]);
    command.stdout(Stdio::null());
    // SAFETY: setrlimit and signal are async-signal-safe; no allocation here.
    unsafe {
        command.pre_exec(|| {
            // Writes past 64 KiB fail with EFBIG, as they would with ENOSPC.
            let limit = libc::rlimit {
                rlim_cur: 64 << 10,
                rlim_max: 64 << 10,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let full: Run = command.output().unwrap().into();
    assert_eq!(full.code, 2, "{}", full.stderr);
    assert!(
        full.stderr.contains("could not write the index"),
        "{}",
        full.stderr
    );
    assert!(full.stderr.contains("last commit is"), "{}", full.stderr);
    assert_eq!(k.count(""), 932, "the last commit is intact");

    // With room again, the same command goes on; nothing is doubled.
    let alone = Kaudit::new();
    alone.ingest(&[&more]);
    let expected = 932 + alone.count("");
    assert_eq!(k.ingest(&[&more]).code, 0);
    assert_eq!(k.count(""), expected);
    k.ingest(&[&samples, &more]);
    assert_eq!(k.count(""), expected, "re-reading adds nothing");
}

#[test]
fn an_unreadable_file_is_named_and_the_others_are_still_ingested() {
    // Tests run as root here, where file modes do not stop reads: /proc/self/mem
    // opens but every read of it fails (EIO), as a bad disk block would.
    let k = Kaudit::new();
    let good = k.write("audit.log", &[line(1, json!({}))]);
    let run = k.run(&["ingest", "/proc/self/mem", good.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("kaudit: error: /proc/self/mem: Input/output error"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("requests: 1 new"), "{}", run.stderr);
    assert_eq!(k.count(""), 1);
}

/// `alice@example.com` and three users who look like her: with a tag character, a
/// variation selector, a combining grapheme joiner (all drawn as nothing).
const LOOK_ALIKES: [&str; 4] = [
    "alice@example.com",
    "alice@example.com\u{e0041}",
    "alice@example.com\u{fe0f}",
    "alice\u{34f}@example.com",
];

/// The distinct words of `text` that name one of the look-alikes.
fn alice_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '|' | '"'))
        .filter(|w| w.contains("example.com"))
        .map(str::to_string)
        .collect();
    words.sort();
    words.dedup();
    words
}

#[test]
fn look_alike_users_are_told_apart_in_every_output() {
    let k = Kaudit::new();
    let lines: Vec<String> = LOOK_ALIKES
        .iter()
        .enumerate()
        .map(|(n, user)| {
            event(json!({
                "auditID": id(n as u32 + 1),
                "user": {"username": user, "groups": ["system:authenticated"]},
                "requestURI": "/api/v1/namespaces/payments/secrets/db-password",
                "objectRef": {"resource": "secrets", "namespace": "payments", "name": "db-password", "apiVersion": "v1"},
                "requestReceivedTimestamp": format!("2026-11-20T10:00:0{n}.000000Z"),
            }))
        })
        .collect();
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    let mut outputs = Vec::new();
    for format in ["table", "csv"] {
        let run = k.run(&["query", "--format", format, ""]);
        outputs.push((format!("query {format}"), run.stdout));
    }
    for report in ["secrets", "stats"] {
        let run = k.run(&["report", report, "--format", "markdown"]);
        outputs.push((format!("report {report} markdown"), run.stdout));
    }
    let mut command = tui(&k);
    command.arg("tui");
    let mut term = Terminal::spawn_sized(command, 30, 160);
    let screen = term.wait_for("1 of 4");
    term.type_keys("q");
    assert_eq!(term.wait_exit(), 0);
    outputs.push(("tui".into(), screen));
    let raw = String::from_utf8_lossy(&term.raw()).into_owned();
    for (what, out) in outputs.iter().chain([&("tui bytes".to_string(), raw)]) {
        assert!(
            !out.contains(['\u{e0041}', '\u{fe0f}', '\u{34f}']),
            "{what}: an invisible character reached the output"
        );
    }
    for (what, out) in &outputs {
        let words = alice_words(out);
        assert_eq!(words.len(), 4, "{what}: four users, four names: {words:?}");
        for word in &words {
            assert!(word.is_ascii(), "{what}: {word:?} hides a character");
        }
    }
    let table = &outputs[0].1;
    for shown in [
        "alice@example.com\\u{e0041}",
        "alice@example.com\\u{fe0f}",
        "alice\\u{34f}@example.com",
    ] {
        assert!(table.contains(shown), "{shown} in\n{table}");
    }
}

#[test]
fn markdown_reports_neither_link_nor_strike_nor_mention() {
    // Users chosen to become links, struck text, math or @mentions once the report
    // is pasted into an issue or a wiki.
    let users = [
        "www.evil.example",
        "mailto:boss@evil.example",
        "https://evil.example/login",
        "~~alice~~",
        "$\\color{red}{admin}$",
        "@octocat",
    ];
    let k = Kaudit::new();
    let lines: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(n, user)| {
            event(json!({
                "auditID": id(n as u32 + 1),
                "user": {"username": user},
                "requestURI": "/api/v1/namespaces/payments/secrets/db-password",
                "objectRef": {"resource": "secrets", "namespace": "payments", "name": "db-password", "apiVersion": "v1"},
            }))
        })
        .collect();
    let log = k.write("audit.log", &lines);
    k.ingest(&[&log]);
    let run = k.run(&["report", "secrets", "--format", "markdown"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let md = run.stdout;
    for cell in [
        r"www\.evil.example",
        r"mailto\:boss\@evil.example",
        r"https\://evil.example/login",
        r"\~\~alice\~\~",
        r"\$\\color{red}{admin}\$",
        r"\@octocat",
    ] {
        assert!(md.contains(&format!("| {cell} |")), "{cell} in\n{md}");
    }
    for raw in ["www.", "mailto:", "https://", "~~", "{admin}$", "| @"] {
        assert!(!md.contains(raw), "{raw:?} left as is in\n{md}");
    }
}

#[test]
fn saved_queries_from_a_users_directory_are_shown_escaped() {
    let k = Kaudit::new();
    let log = k.write("audit.log", &[line(1, json!({}))]);
    let dir = k.path("config/kaudit/queries");
    std::fs::create_dir_all(&dir).unwrap();
    // TOML's \u escapes put the raw characters in the values.
    std::fs::write(
        dir.join("evil.toml"),
        r#"name = "evil\u001b]0;owned\u0007"
description = "\u001b[31mred \u009b2J \u202etxt.exe\u0000"
query = "verb:list"
"#,
    )
    .unwrap();
    let queries = k.run(&["queries"]);
    assert_eq!(queries.code, 0, "{}", queries.stderr);
    assert_inert("queries", queries.stdout.as_bytes());
    // Names are padded to the longest one, so only the line's parts are compared.
    assert!(
        queries.stdout.lines().any(|line| {
            line.starts_with("@evil\\x1b]0;owned\\x07  ")
                && line.ends_with("  \\x1b[31mred \\x9b2J \\u{202e}txt.exe\\x00")
        }),
        "{}",
        queries.stdout
    );
    // The overview: `kaudit PATH` without a terminal.
    let overview = k.run(&[log.to_str().unwrap()]);
    assert_eq!(overview.code, 0, "{}", overview.stderr);
    assert_inert("overview", overview.stdout.as_bytes());
    assert!(
        overview.stdout.lines().any(|line| {
            line.contains("@evil\\x1b]0;owned\\x07  ") && line.contains("  \\x1b[31mred")
        }),
        "{}",
        overview.stdout
    );

    // A saved query that does not parse: the message and the caret are escaped too.
    std::fs::write(
        dir.join("evil.toml"),
        "name = \"evil\"\ndescription = \"d\"\nquery = \"\\u001b]0;owned\\u0007 nmae:x\"\n",
    )
    .unwrap();
    let bad = k.run(&["query", "@evil"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert_inert("saved query error", bad.stderr.as_bytes());
    assert!(
        bad.stderr
            .contains(&format!("\\x1b]0;owned\\x07 nmae:x\n{}^", " ".repeat(17))),
        "{}",
        bad.stderr
    );
    // A file that is not TOML: its quoted line is escaped, its line breaks kept.
    std::fs::write(dir.join("evil.toml"), "name = \u{1b}]0;owned\u{7}\n").unwrap();
    let broken = k.run(&["queries"]);
    assert_eq!(broken.code, 2, "{}", broken.stderr);
    assert_inert("saved query file error", broken.stderr.as_bytes());
    assert!(
        broken.stderr.contains("\\x1b]0;owned\\x07"),
        "{}",
        broken.stderr
    );
    assert!(broken.stderr.lines().count() > 2, "{}", broken.stderr);
}
