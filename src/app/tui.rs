//! `kaudit tui`: the TUI over the index, with logs ingested in the background meanwhile.

use super::resolved::Resolved;
use super::summary::{no_logs, print_summary, report_unreadable};
use crate::config::{self, env::Environment};
use crate::error::{Error, Result};
use crate::index::store::Store;
use crate::index::writer::Writer;
use crate::ingest;
use crate::tui::background::{Background, Job};

/// The ingest running behind the TUI, if logs were given, and what its discovery found.
pub(super) struct Ingesting {
    background: Option<Background>,
    errors: Vec<Error>,
    skipped: ingest::source::Skipped,
    started: std::time::Instant,
}

/// Starts ingesting the given logs (or following the live one) in the background,
/// creating the index if needed, before the TUI opens it.
pub(super) fn start_ingest(cfg: &config::Tui) -> Result<Ingesting> {
    let started = std::time::Instant::now();
    if cfg.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err(Error::Usage(
            "the TUI reads keys from the terminal, not logs from stdin: run `kaudit ingest -` first"
                .into(),
        ));
    }
    let mut errors = Vec::new();
    let mut skipped = ingest::source::Skipped::default();
    let job = match (&cfg.follow, cfg.paths.is_empty()) {
        (_, true) => None,
        (Some(follow), false) => {
            let (dir, log) = ingest::follow::resolve(&cfg.paths[0])?;
            Some(Job::Follow {
                log,
                dir,
                poll: follow.poll,
            })
        }
        (None, false) => {
            let discovery = ingest::source::discover(&cfg.paths);
            if discovery.sources.is_empty() && discovery.errors.is_empty() {
                return Err(no_logs(&cfg.paths));
            }
            errors = discovery.errors;
            skipped = discovery.skipped;
            Some(Job::Replay(discovery.sources))
        }
    };
    let background = match job {
        Some(job) => {
            let store = Store::open_or_create(&cfg.index)?;
            // Commit often, so the TUI sees requests soon after they are read.
            let writer = Writer::open(store, std::time::Duration::from_secs(1))?;
            let max_line_bytes = ingest::Options::default().max_line_bytes;
            Some(Background::spawn(job, writer, max_line_bytes))
        }
        None => None,
    };
    Ok(Ingesting {
        background,
        errors,
        skipped,
        started,
    })
}

/// `kaudit tui`: runs the TUI on the opened index while `ingesting` goes on. The ingest
/// summary is printed once the terminal is back.
pub(super) fn tui_command(
    cfg: &config::Tui,
    ingesting: Ingesting,
    resolved: Resolved,
    policy: Option<crate::policy::PolicyFile>,
    env: &Environment,
) -> Result<u8> {
    let Ingesting {
        background,
        errors,
        skipped,
        started,
    } = ingesting;
    let options = crate::tui::terminal::Options {
        query: cfg.query.clone(),
        export_dir: std::env::current_dir().map_err(|e| Error::io(".", e))?,
        history: env.history_path(),
        live: cfg.follow.is_some(),
        started,
        color: env.color(),
        trace: env.tui_trace_path(),
        policy,
    };
    let Resolved { engine, saved } = resolved;
    let shown = crate::tui::terminal::run(engine, saved, options, background.as_ref());
    let Some(background) = background else {
        return shown.map(|()| 0);
    };
    // What the background ingest did is printed even when the TUI failed.
    let (summary, cut_short) = background.finish()?;
    print_summary(&summary, &skipped, &cfg.index);
    if cut_short {
        eprintln!(
            "  stopped early when the TUI closed; what was read is kept: run the same \
             command again (or kaudit ingest) to read the rest"
        );
    }
    shown?;
    Ok(if report_unreadable(&summary, errors) {
        2
    } else {
        0
    })
}
