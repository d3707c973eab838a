//! The kaudit binary: parse arguments, run the command, map errors to exit codes
//! (0 ok, 1 nothing matched, 2 usage, query syntax or I/O errors).

use std::process::ExitCode;

use clap::Parser;

// Ingest allocates many small, short-lived values per line (parsed JSON, documents);
// mimalloc handles that pattern far better than glibc malloc (measured in benches/).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // The index and exports hold audit data: files kaudit creates are owner-only.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    // The environment is read here once; the library takes the values it needs from it.
    let env = kaudit::config::env::Environment::read();
    // Options anywhere, and a mistyped command caught before it is taken for a path.
    let result = kaudit::argv::normalize(std::env::args_os())
        .and_then(|args| kaudit::cli::Cli::parse_from(args).into_command(&env))
        .and_then(|command| kaudit::app::run(command, &env));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let e = anyhow::Error::from(e);
            // Messages quote paths, queries and saved-query files: shown escaped,
            // with their line breaks (a TOML error points at its line).
            let message = kaudit::sanitize::lines_for_terminal(&e.to_string()).into_owned();
            eprintln!("kaudit: error: {message}");
            if let Some(kaudit::error::Error::Query(q)) = e.downcast_ref::<kaudit::error::Error>() {
                eprintln!("{}", q.caret());
            }
            ExitCode::from(2)
        }
    }
}
