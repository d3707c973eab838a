//! The command line as users type it: options after the query, `--`, dashed query words,
//! and a mistyped command that creates nothing.

use crate::common::Kaudit;
use crate::samples::samples;

#[test]
fn options_may_follow_the_query() {
    let k = samples();
    let before = k.run(&["query", "--format", "csv", "@exec-into-pods"]);
    let after = k.run(&["query", "@exec-into-pods", "--format", "csv"]);
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(after.stdout, before.stdout);
    assert!(after.stdout.starts_with("time,"), "{}", after.stdout);
    // Between query words too, with `=`, and a dashed word stays query text.
    let mixed = k.run(&[
        "query",
        "verb:get",
        "--count",
        "-ns:kube-system",
        "--since=2026-11-20T00:00:00Z",
    ]);
    let plain = k.run(&[
        "query",
        "--count",
        "--since",
        "2026-11-20T00:00:00Z",
        "verb:get -ns:kube-system",
    ]);
    assert_eq!(mixed.code, 0, "{}", mixed.stderr);
    assert_eq!(mixed.stdout, plain.stdout);
    // After `--` an option's name is query text: the free word it holds, not an option.
    let quoted = k.run(&["query", "--count", "--", "--format"]);
    let word = k.run(&["query", "--count", "format"]);
    assert_eq!(quoted.code, word.code, "{}", quoted.stderr);
    assert_eq!(quoted.stdout, word.stdout);
}

#[test]
fn a_mistyped_command_is_an_error_that_creates_nothing() {
    let k = Kaudit::new();
    for (typed, says) in [
        ("qeury", "did you mean `query`?"),
        ("reprot", "did you mean `report`?"),
        ("no-such-audit.log", "no such file or directory"),
    ] {
        let run = k.run(&[typed]);
        assert_eq!(run.code, 2, "{typed}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{typed}: {}", run.stderr);
        assert!(!k.index().exists(), "{typed} created the index");
    }
}
