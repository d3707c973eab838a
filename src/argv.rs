//! The command line as users type it, put in the order clap reads.
//!
//! - Options anywhere: `kaudit query @exec-into-pods --format csv` is the query
//!   `@exec-into-pods` in CSV. A query is the trailing words of `query`, which may start
//!   with `-` (`-ns:kube-system`): an argument there that is one of the command's options
//!   (with its value) is moved before the query; anything else is query text, and after
//!   `--` everything is.
//! - A mistyped command is not a path: `kaudit complections` is an error ("did you mean
//!   `completions`?") that creates nothing, instead of ingesting a missing file into a
//!   new index; any first word that is neither a command nor an existing path is an
//!   error before anything is created.
//!
//! The options and commands are read from clap's own definition (`cli::Cli`), so this
//! knows no list of its own.

use std::ffi::OsString;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Result};

/// Commands whose trailing words are a query.
const QUERY_COMMANDS: &[&str] = &["query"];

/// The arguments (program name first) rearranged for clap, or a usage error.
pub fn normalize(args: impl IntoIterator<Item = OsString>) -> Result<Vec<OsString>> {
    let args: Vec<OsString> = args.into_iter().collect();
    let mut command = Cli::command();
    command.build();
    let Some(at) = first_word(&command, &args) else {
        return Ok(args);
    };
    let word = args[at].to_string_lossy().into_owned();
    let Some(sub) = command.find_subcommand(&word) else {
        check_not_a_typo(&command, &word)?;
        return Ok(args);
    };
    if !QUERY_COMMANDS.contains(&sub.get_name()) {
        return Ok(args);
    }
    let (mut options, words) = split_query(sub, &args[at + 1..]);
    let mut out = args[..=at].to_vec();
    out.append(&mut options);
    if !words.is_empty() {
        out.push("--".into());
        out.extend(words);
    }
    Ok(out)
}

/// The index of the first argument that is not a top-level option or its value: the
/// command, or the first path.
fn first_word(command: &clap::Command, args: &[OsString]) -> Option<usize> {
    let mut i = 1;
    while let Some(arg) = args.get(i) {
        let text = arg.to_string_lossy();
        if text == "--" {
            return None;
        }
        match option(command, &text) {
            Some(takes_value) => i += if takes_value { 2 } else { 1 },
            None if text.starts_with('-') && text.len() > 1 => i += 1,
            None => return Some(i),
        }
    }
    None
}

/// Whether `text` names one of `command`'s options, and if so whether the next argument
/// is its value (`--format csv`; `--format=csv` and flags carry none).
fn option(command: &clap::Command, text: &str) -> Option<bool> {
    let (name, inline_value) = match text.split_once('=') {
        Some((name, _)) => (name, true),
        None => (text, false),
    };
    let arg = if let Some(long) = name.strip_prefix("--") {
        command.get_arguments().find(|a| {
            a.get_long() == Some(long) || a.get_all_aliases().is_some_and(|v| v.contains(&long))
        })
    } else if let Some(short) = name.strip_prefix('-').filter(|s| s.chars().count() == 1) {
        let short = short.chars().next()?;
        command
            .get_arguments()
            .find(|a| a.get_short() == Some(short))
    } else {
        None
    }?;
    if arg.is_positional() {
        return None;
    }
    Some(!inline_value && arg.get_action().takes_values())
}

/// The options among a query command's arguments (with their values), and the query
/// words, in order.
fn split_query(command: &clap::Command, args: &[OsString]) -> (Vec<OsString>, Vec<OsString>) {
    let mut options = Vec::new();
    let mut words = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let text = arg.to_string_lossy();
        if text == "--" {
            words.extend(args[i + 1..].iter().cloned());
            break;
        }
        match option(command, &text) {
            Some(takes_value) => {
                options.push(arg.clone());
                if takes_value && let Some(value) = args.get(i + 1) {
                    options.push(value.clone());
                    i += 1;
                }
            }
            None => words.push(arg.clone()),
        }
        i += 1;
    }
    (options, words)
}

/// A first word that is no command: fine when it is an existing path (or `-`, stdin);
/// otherwise an error that creates nothing, suggesting the command it looks like.
fn check_not_a_typo(command: &clap::Command, word: &str) -> Result<()> {
    if word == "-" || Path::new(word).exists() {
        return Ok(());
    }
    let names = command
        .get_subcommands()
        .flat_map(|s| std::iter::once(s.get_name()).chain(s.get_all_aliases()))
        .filter(|name| *name != "help");
    let closest = names
        .map(|name| (strsim::levenshtein(word, name), name))
        .filter(|&(distance, name)| distance <= 2 && distance < name.len())
        .min();
    Err(Error::Usage(match closest {
        Some((_, name)) => format!(
            "unknown command `{word}`: did you mean `{name}`? (a log to read must be an existing file or directory)"
        ),
        // Reading it would fail anyway, after creating the index: fail first.
        None => format!(
            "{word}: no such file or directory, and no command of that name (see kaudit --help)"
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Vec<String>> {
        let args = std::iter::once("kaudit")
            .chain(args.iter().copied())
            .map(OsString::from);
        normalize(args).map(|out| {
            out.into_iter()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        })
    }

    fn ok(args: &[&str]) -> Vec<String> {
        run(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn options_after_the_query_are_options() {
        assert_eq!(
            ok(&["query", "@exec-into-pods", "--format", "csv"]),
            ["query", "--format", "csv", "--", "@exec-into-pods"]
        );
        assert_eq!(
            ok(&[
                "query",
                "verb:get",
                "--format=json",
                "-ns:kube-system",
                "--count"
            ]),
            [
                "query",
                "--format=json",
                "--count",
                "--",
                "verb:get",
                "-ns:kube-system"
            ]
        );
        // The global --index, before or after.
        assert_eq!(
            ok(&["--index", "/x", "query", "a", "--index", "/y", "b"]),
            ["--index", "/x", "query", "--index", "/y", "--", "a", "b"]
        );
        // `--` makes the rest query text, options included.
        assert_eq!(
            ok(&["query", "a", "--", "--format", "csv"]),
            ["query", "--", "a", "--format", "csv"]
        );
        // Unknown dashed words are query text; no words, no `--`.
        assert_eq!(ok(&["query", "--nope"]), ["query", "--", "--nope"]);
        assert_eq!(ok(&["query", "--count"]), ["query", "--count"]);
        // Other commands are left as typed.
        assert_eq!(
            ok(&["report", "stats", "--top", "3"]),
            ["report", "stats", "--top", "3"]
        );
    }

    #[test]
    fn a_mistyped_command_is_an_error_not_a_path() {
        for (typed, meant) in [
            ("complections", "completions"),
            ("qeury", "query"),
            ("reprot", "report"),
            ("tiu", "tui"),
        ] {
            if !Cli::command()
                .get_subcommands()
                .any(|s| s.get_name() == meant)
            {
                continue; // a command this build does not have
            }
            let e = run(&[typed]).unwrap_err().to_string();
            assert!(
                e.contains(&format!("did you mean `{meant}`")),
                "{typed}: {e}"
            );
        }
        // A path that exists and stdin are read; a missing one is an error before
        // anything is created.
        let here = env!("CARGO_MANIFEST_DIR");
        assert_eq!(ok(&[here]), [here]);
        assert_eq!(ok(&["-"]), ["-"]);
        let e = run(&["/no/such/audit.log"]).unwrap_err().to_string();
        assert!(e.contains("no such file or directory"), "{e}");
    }
}
