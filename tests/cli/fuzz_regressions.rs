//! The fuzz targets' seed corpora (fuzz/corpus/<target>) and every minimized crash input
//! (fuzz/regressions/<target>), replayed through the same harness bodies the fuzzers run
//! (`kaudit::fuzzing`), deterministically and without libFuzzer. A harness invariant that
//! breaks fails here.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use kaudit::fuzzing;

/// Runs `harness` on every file of the target's corpus and regressions; returns how many.
fn replay(target: &str, harness: &mut dyn FnMut(&str, &[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if catch_unwind(AssertUnwindSafe(|| harness(&name, &data))).is_err() {
                panic!("{target}: {} breaks the harness", path.display());
            }
            count += 1;
        }
    }
    assert!(count > 0, "no inputs for {target} under {}", root.display());
    count
}

/// The seeds plant this value (base64 of PLANTED-SECRET) in every place a secret hides.
const PLANTED: &[u8] = b"UExBTlRFRC1TRUNSRVQ=";

#[test]
fn parse_line_corpus_and_crashes() {
    let mut planted_events = 0;
    replay("parse_line", &mut |name, data| {
        let kept = fuzzing::parse_line(data);
        for json in &kept {
            assert!(!json.windows(PLANTED.len()).any(|w| w == PLANTED));
        }
        if name.starts_with("secret-") || name.starts_with("token-") {
            assert_eq!(kept.len(), 1, "{name} is indexed");
            planted_events += 1;
        }
    });
    assert!(planted_events >= 9, "the planted-secret seeds are there");
}

#[test]
fn query_parse_corpus_and_crashes() {
    replay("query_parse", &mut |_, data| fuzzing::query_parse(data));
}

#[test]
fn line_reader_corpus_and_crashes() {
    replay("line_reader", &mut |_, data| fuzzing::line_reader(data));
}

/// The salvage seeds (fuzz/make_seeds.py) name the path they take: `strict-*` lines
/// parse, every other one is salvaged, for the reason its name gives where it gives one.
#[test]
fn salvage_corpus_and_crashes() {
    let mut salvaged = std::collections::BTreeMap::<String, usize>::new();
    replay("salvage", &mut |name, data| {
        let why = fuzzing::salvage(data);
        if name.starts_with("strict-") {
            assert_eq!(why, None, "{name} parses");
            return;
        }
        let expected = [
            ("too-long", "too-long"),
            ("huge-string", "too-long"),
            ("over-cap", "too-long"),
            ("deep-1100", "too-deep"),
            ("surrogate", "bad-string"),
            ("number-", "bad-number"),
            ("utf8", "invalid-utf8"),
        ];
        if let Some((_, reason)) = expected.iter().find(|(part, _)| name.contains(part)) {
            assert_eq!(why.as_deref(), Some(*reason), "{name}");
        }
        let why = why.unwrap_or_else(|| panic!("{name} is salvaged"));
        *salvaged.entry(why).or_default() += 1;
    });
    let reasons: Vec<&str> = salvaged.keys().map(String::as_str).collect();
    assert_eq!(
        reasons,
        [
            "bad-number",
            "bad-string",
            "invalid-utf8",
            "too-deep",
            "too-long"
        ],
        "every reason a body can cause has a seed"
    );
}

#[test]
fn salvage_scan_corpus_and_crashes() {
    replay("salvage_scan", &mut |_, data| fuzzing::salvage_scan(data));
}
