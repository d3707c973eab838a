//! `kaudit completions SHELL` and `kaudit man` (issue 14): generated from the clap
//! definition, they name the subcommands and the reports, and need no index.

use crate::common::Kaudit;

const SUBCOMMANDS: &[&str] = &["query", "report", "ingest", "tui", "status", "queries"];
const REPORTS: &[&str] = &["secrets", "serviceaccounts", "immutability", "stats"];

#[test]
fn completion_scripts_name_commands_and_reports() {
    let k = Kaudit::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = k.run(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(!run.stdout.trim().is_empty(), "{shell}: empty script");
        for word in SUBCOMMANDS.iter().chain(REPORTS) {
            assert!(run.stdout.contains(word), "{shell} script lacks {word}");
        }
        // Options of a report, e.g. `kaudit report secrets --secret`.
        assert!(run.stdout.contains("fail-on-findings"), "{shell}");
    }
    // Nothing was created: printing a script does not touch the index.
    assert!(!k.index().exists());
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let k = Kaudit::new();
    let run = k.run(&["completions", "tcsh"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("bash"), "{}", run.stderr);
    assert_eq!(k.run(&["completions"]).code, 2);
}

#[test]
fn man_page_is_roff_naming_the_subcommands() {
    let k = Kaudit::new();
    let run = k.run(&["man"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let th = run.stdout.lines().position(|l| l.starts_with(".TH"));
    // clap_mangen puts two roff string definitions (.ie/.el) before the title.
    assert!(
        th.is_some_and(|i| i <= 2),
        "no .TH at the start:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains(".TH kaudit 1"), "{}", run.stdout);
    assert!(run.stdout.contains(".SH SUBCOMMANDS"));
    for sub in SUBCOMMANDS.iter().chain(&["completions", "man"]) {
        assert!(
            run.stdout.contains(&format!("kaudit\\-{sub}(1)")),
            "man page lacks {sub}"
        );
    }
    assert!(!k.index().exists());
}
