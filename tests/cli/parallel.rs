//! Ingest with parsing threads (issue 16) gives exactly the index, summary and
//! rejections a one-thread ingest gives, on a log made to stress it: stages of a
//! request shuffled far apart and split over files (one gzipped, one cut short), copies
//! read again in a second run, and lines of every kind a worker cannot simply parse
//! (over-long lines salvaged on the reading thread, malformed JSON, invalid UTF-8, an
//! envelope, blank lines).

use std::io::Write;

use crate::common::{Kaudit, Run, event, id};

/// A small deterministic generator (xorshift64*): the test needs no crate for it.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// About `bytes` of the heldout shape's lines (both stages of many requests, bodies,
/// secrets), shuffled within windows of 2,000 lines so that a request's stages land in
/// different batches, often the later stage first.
fn shuffled_log(bytes: usize) -> Vec<Vec<u8>> {
    let start = "2026-11-20T00:00:00Z".parse().unwrap();
    let shape = kaudit::synth::Shape::HeldOut;
    let mut noise = kaudit::synth::NoiseLines::new(16, start, shape, None, None);
    let mut lines = Vec::new();
    let (mut size, mut text) = (0, String::new());
    while size < bytes {
        text.clear();
        noise.next_line(&mut text);
        for line in text.lines() {
            size += line.len() + 1;
            lines.push(line.as_bytes().to_vec());
        }
    }
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    for window in lines.chunks_mut(2000) {
        for i in (1..window.len()).rev() {
            window.swap(i, random.below(i + 1));
        }
    }
    lines
}

/// Lines a worker does not just parse, spread through the log.
fn hostile_lines() -> Vec<Vec<u8>> {
    let envelope = format!(
        r#"{{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{},{}]}}"#,
        event(serde_json::json!({"auditID": id(9001), "verb": "list"})),
        event(serde_json::json!({"auditID": id(9002), "verb": "watch"})),
    );
    let mut invalid_utf8 = event(serde_json::json!({"auditID": id(9003)})).into_bytes();
    let at = invalid_utf8.len() - 40;
    invalid_utf8[at] = 0xff;
    vec![
        b"{\"auditID\": \"broken\", \"verb\": ".to_vec(),
        Vec::new(),
        invalid_utf8,
        envelope.into_bytes(),
        b"\x00\x01garbage\x02".to_vec(),
        b"[1, 2, 3]".to_vec(),
    ]
}

/// The ingest summary without its timing line.
fn summary(run: &Run) -> Vec<String> {
    assert_eq!(run.code, 0, "ingest failed: {}", run.stderr);
    run.stderr
        .lines()
        .filter(|l| !l.starts_with("kaudit: read "))
        .map(str::to_string)
        .collect()
}

/// Every request with every stage, as NDJSON lines, sorted (documents of one segment
/// come in any order).
fn documents(k: &Kaudit) -> Vec<String> {
    let run = k.run(&[
        "query",
        "--format",
        "ndjson",
        "--limit",
        "0",
        "--all-stages",
        "",
    ]);
    assert_eq!(run.code, 0, "query failed: {}", run.stderr);
    let mut rows: Vec<String> = run.stdout.lines().map(str::to_string).collect();
    rows.sort();
    rows
}

#[test]
fn a_multi_threaded_ingest_of_a_shuffled_multi_file_log_equals_a_one_thread_ingest() {
    let one = Kaudit::new();
    let many = Kaudit::new();
    let mut lines = shuffled_log(6 << 20);
    let hostile = hostile_lines();
    for (n, line) in hostile.iter().cycle().take(600).enumerate() {
        let at = (n * 7919) % lines.len();
        lines.insert(at, line.clone());
    }
    for (n, share) in [10, 50, 90].into_iter().enumerate() {
        let agent = "y".repeat(70_000);
        let long = event(serde_json::json!({"auditID": id(9200 + n as u32), "userAgent": agent}));
        let at = lines.len() * share / 100;
        lines.insert(at, long.into_bytes());
    }
    let join = |part: &[Vec<u8>]| {
        let mut text = part.join(&b"\n"[..]);
        text.push(b'\n');
        text
    };
    let cut = |share: usize| lines.len() * share / 100;
    let first = one.path("audit.log.1");
    std::fs::write(&first, join(&lines[..cut(20)])).unwrap();
    let second = one.path("audit.log.2.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&join(&lines[cut(20)..cut(40)])).unwrap();
    std::fs::write(&second, gz.finish().unwrap()).unwrap();
    // The live log grows between runs, each resuming at the last one's checkpoint: one
    // put anywhere but after the last line handed to the index would lose lines or
    // read some twice. It ends with a line salvaged on the reading thread, then with a
    // line still being written.
    let live = one.path("audit.log");
    let long = event(serde_json::json!({"auditID": id(9100), "userAgent": "x".repeat(70_000)}));
    let mut text = join(&lines[cut(40)..cut(60)]);
    text.extend_from_slice(long.as_bytes());
    text.push(b'\n');
    std::fs::write(&live, text).unwrap();
    let mut more = join(&lines[cut(60)..cut(80)]);
    let (head, tail) = lines[cut(80)].split_at(40);
    more.extend_from_slice(head);
    let mut rest = tail.to_vec();
    rest.push(b'\n');
    rest.extend(join(&lines[cut(80) + 1..]));
    // A copy of the first backup, told apart by a first blank line: every line of it a
    // duplicate.
    let copy = one.path("elsewhere.log");
    let mut text = b"\n".to_vec();
    text.extend(std::fs::read(&first).unwrap());
    std::fs::write(&copy, text).unwrap();

    // Lines over 64 KiB are salvaged on the reading thread, between batches.
    let ingest = |k: &Kaudit, threads: &str, paths: &[&std::path::Path]| {
        let mut args = vec![
            "ingest",
            "--max-line-bytes",
            "65536",
            "--parse-threads",
            threads,
        ];
        args.extend(["--commit-interval", "0.2"]);
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        args.extend(paths.iter().map(String::as_str));
        summary(&k.run(&args))
    };
    let runs = [
        [&second, &first, &live].map(|p| p.as_path()).to_vec(),
        vec![live.as_path()],
        [&copy, &live, &second].map(|p| p.as_path()).to_vec(),
    ];
    for (run, (paths, grow)) in runs.iter().zip([more, rest, Vec::new()]).enumerate() {
        let serial = ingest(&one, "0", paths);
        assert_eq!(ingest(&many, "3", paths), serial, "run {run}");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&live)
            .unwrap();
        file.write_all(&grow).unwrap();
    }
    let serial = documents(&one);
    assert!(serial.len() > 5000, "{} requests", serial.len());
    let salvaged = serial
        .iter()
        .filter(|r| r.contains("\"salvaged\":\"too-long\""));
    assert_eq!(salvaged.count(), 4, "the over-long lines were salvaged");
    assert_eq!(documents(&many), serial);
}
