//! Golden outputs: every report in every format on sample-logs/. The story is seeded,
//! so its reports are exact; a change shows as a snapshot diff to review
//! (`cargo insta review`, or `INSTA_UPDATE=always cargo test` then `git diff`).

use crate::samples::samples;

const FORMATS: [&str; 4] = ["table", "json", "csv", "markdown"];

fn golden(report: &str, extra: &[&str]) {
    let k = samples();
    for format in FORMATS {
        let mut args = vec!["report", report, "--format", format];
        args.extend_from_slice(extra);
        let run = k.run(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        let name = format!("{report}{}-{format}", extra.join("").replace('/', "_"));
        insta::assert_snapshot!(name, run.stdout);
    }
}

#[test]
fn secrets() {
    golden("secrets", &[]);
}

#[test]
fn secrets_of_one_secret() {
    golden("secrets", &["--secret", "payments/db-password"]);
}

#[test]
fn serviceaccounts() {
    golden("serviceaccounts", &[]);
}

#[test]
fn immutability() {
    golden("immutability", &[]);
}

#[test]
fn stats() {
    golden("stats", &[]);
}
