//! Benchmarks on the seeded synthetic log (`kaudit::synth::Noise`):
//!
//! - `parse`: the same lines through kaudit's simd-json parser (parse, redact,
//!   normalize) and through `serde_json::Value`, the baseline;
//! - `ingest`: lines → tantivy index, end to end (including the final commit);
//! - `query`: a term query, a saved query, a count, and counts by field (`query --by`)
//!   on an index of `QUERY_REQUESTS_BYTES` of noise.
//!
//! Run: `cargo bench --bench ingest`. Figures and the 1 GB script: README "Performance".

use std::sync::LazyLock;
use std::time::Duration;

use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use kaudit::index::store::Store;
use kaudit::index::writer::Writer;
use kaudit::ingest::parse::Parser;
use kaudit::ingest::{self, source::Source};
use kaudit::query::{Engine, Search, SortOrder, parse_query, saved};

// The binary's allocator, so figures match what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

fn start() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
        .unwrap()
        .to_utc()
}

/// About `bytes` of noise lines, newline-terminated.
fn noise(bytes: usize) -> String {
    let mut noise = kaudit::synth::Noise::new(42, start());
    let mut out = String::with_capacity(bytes + 4096);
    let mut line = String::new();
    while out.len() < bytes {
        line.clear();
        noise.next_line(&mut line);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

static LINES: LazyLock<String> = LazyLock::new(|| noise(8 << 20));

#[divan::bench_group(sample_count = 10)]
mod parse {
    use super::*;

    #[divan::bench]
    fn simd_json_kaudit(b: Bencher) {
        let text = &*LINES;
        b.counter(BytesCount::new(text.len())).bench(|| {
            let mut parser = Parser::default();
            let mut events = 0usize;
            for line in text.lines() {
                let _ = parser.parse_line(line.as_bytes(), &mut |_, item| {
                    events += usize::from(item.is_ok());
                    Ok::<(), ()>(())
                });
            }
            black_box(events)
        });
    }

    #[divan::bench]
    fn serde_json_value(b: Bencher) {
        let text = &*LINES;
        b.counter(BytesCount::new(text.len())).bench(|| {
            let mut events = 0usize;
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                events += usize::from(v.get("auditID").is_some());
            }
            black_box(events)
        });
    }
}

/// Writes `text` to a file and ingests it into a fresh index.
fn ingest_once(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    std::fs::write(&log, text).unwrap();
    let store = Store::open_or_create(&dir.path().join("index")).unwrap();
    let mut writer = Writer::open(store, Duration::from_secs(10)).unwrap();
    ingest::run(
        &[Source::File(log)],
        &ingest::Options::default(),
        &mut writer,
        &(),
    )
    .unwrap();
    writer.finish().unwrap();
    dir
}

#[divan::bench(sample_count = 5)]
fn ingest(b: Bencher) {
    let text = noise(64 << 20);
    b.counter(BytesCount::new(text.len()))
        .bench(|| black_box(ingest_once(&text)));
}

const QUERY_REQUESTS_BYTES: usize = 256 << 20;

static QUERY_INDEX: LazyLock<tempfile::TempDir> =
    LazyLock::new(|| ingest_once(&noise(QUERY_REQUESTS_BYTES)));

fn engine() -> Engine {
    Engine::open(&QUERY_INDEX.path().join("index")).unwrap()
}

#[divan::bench_group(sample_count = 50)]
mod query {
    use super::*;

    fn run(b: Bencher, text: &str) {
        let engine = engine();
        let saved = saved::load(None).unwrap();
        b.bench(|| {
            let expr = parse_query(text, &saved).unwrap();
            let search = Search {
                expr,
                since: None,
                until: None,
            };
            black_box(
                engine
                    .search(&search, SortOrder::NewestFirst, 0, Some(100))
                    .unwrap(),
            )
        });
    }

    #[divan::bench]
    fn term_user(b: Bencher) {
        run(b, "user:system:kube-scheduler");
    }

    #[divan::bench]
    fn saved_secret_reads(b: Bencher) {
        run(b, "@secret-reads");
    }

    /// `kaudit query --by FIELDS [--every 5m] QUERY`, in process (README: Counts by field).
    fn counts(b: Bencher, fields: &str, every: Option<&str>, text: &str) {
        use kaudit::query::counts::{Spec, parse_every, parse_fields};
        let engine = engine();
        let spec = Spec {
            fields: parse_fields(fields).unwrap(),
            every: every.map(|e| parse_every(e).unwrap()),
            min: 1,
            top: Some(20),
        };
        b.bench(|| {
            let search = Search {
                expr: parse_query(text, &[]).unwrap(),
                since: None,
                until: None,
            };
            black_box(engine.counts(&search, &spec).unwrap())
        });
    }

    #[divan::bench]
    fn counts_all_by_user(b: Bencher) {
        counts(b, "user", None, "");
    }

    #[divan::bench]
    fn counts_all_by_user_verb_every_5m(b: Bencher) {
        counts(b, "user,verb", Some("5m"), "");
    }

    /// The noise has no 403s: its failures (404, 409) stand in for them.
    #[divan::bench]
    fn counts_failed_by_ip_every_5m(b: Bencher) {
        counts(b, "ip", Some("5m"), "code:>=400");
    }

    #[divan::bench]
    fn counts_all_by_name(b: Bencher) {
        counts(b, "name", None, "");
    }

    #[divan::bench]
    fn count_all_forbidden(b: Bencher) {
        let engine = engine();
        let saved = saved::load(None).unwrap();
        b.bench(|| {
            let expr = parse_query("@forbidden", &saved).unwrap();
            black_box(
                engine
                    .count(&Search {
                        expr,
                        since: None,
                        until: None,
                    })
                    .unwrap(),
            )
        });
    }
}
