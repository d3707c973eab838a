//! The commands: each takes its validated config, does the work through the library,
//! prints, and returns the exit status (0 ok, 1 nothing matched; errors are 2 in main).
//!
//! `run` dispatches; what a command reads (the opened index, the saved queries) is
//! resolved here once from the validated arguments (`resolved`), then handed to it.

mod hunt;
mod ingest;
mod overview;
mod policy;
mod query;
mod report;
mod resolved;
mod status;
mod summary;
mod tui;

use std::io::Write;

use crate::config::Command;
use crate::config::env::Environment;
use crate::error::{Error, Result};
use crate::query::Engine;
use resolved::{Resolved, load_saved};

/// Runs `command`; `env` is the environment `main` read once (saved queries' directory,
/// history file, whether the index came from `$KAUDIT_INDEX`).
pub fn run(command: Command, env: &Environment) -> Result<u8> {
    match command {
        Command::Ingest(cfg) => ingest::ingest_command(&cfg),
        Command::Rebuild { index, paths } => ingest::rebuild_command(&index, &paths),
        Command::Query(cfg) => query::query_command(&cfg, &Resolved::open(&cfg.index, env)?),
        Command::Report(cfg) => report::report_command(&cfg, &Resolved::open(&cfg.index, env)?),
        Command::PolicyEval(cfg) => policy::eval_command(&cfg, &Resolved::open(&cfg.index, env)?),
        Command::PolicyCheck(cfg) => policy::check_command(&cfg, &Resolved::open(&cfg.index, env)?),
        Command::PolicySuggest(cfg) => {
            policy::suggest_command(&cfg, &Resolved::open(&cfg.index, env)?)
        }
        Command::Hunt(cfg) => hunt::hunt_command(&cfg, &Resolved::open(&cfg.index, env)?),
        Command::Queries => status::queries_command(&load_saved(env)?),
        Command::Status { index } => status::status_command(&index, &Engine::open(&index)?),
        Command::Overview { index, paths } => {
            // The index is opened once the given logs are in it (it may not exist before).
            let status = overview::ingest_given(&index, &paths)?;
            let resolved = Resolved::open(&index, env)?;
            overview::overview_command(&index, &resolved, env).map(|()| status)
        }
        Command::Tui(cfg) => {
            // A Policy that cannot be used stops the TUI before anything starts.
            let policy = cfg.policy.as_deref().map(policy::policy_file).transpose()?;
            // The background ingest creates the index the TUI then opens.
            let background = tui::start_ingest(&cfg)?;
            let resolved = Resolved::open(&cfg.index, env)?;
            tui::tui_command(&cfg, background, resolved, policy, env)
        }
        Command::Print(text) => {
            let mut out = std::io::stdout().lock();
            out.write_all(&text)
                .and_then(|()| out.flush())
                .map_err(|e| Error::io("<stdout>", e))?;
            Ok(0)
        }
    }
}

/// `n` with its thousands separated by commas: 1,234,567.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
