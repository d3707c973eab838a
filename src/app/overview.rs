//! `kaudit [PATH...]` without a terminal: ingest what was given, then an overview.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::ingest::ingest_paths;
use super::resolved::Resolved;
use super::status::{shown_saved, time_span};
use super::summary::report_unreadable;
use super::thousands;
use crate::config::{self, env::Environment};
use crate::error::{Error, Result};
use crate::model::format_micros;
use crate::query::{self, Search};
use crate::sanitize::for_terminal;

/// Ingests the logs `kaudit [PATH...]` was given (none: nothing to do); the exit
/// status so far, 2 when some could not be read.
pub(super) fn ingest_given(index: &Path, paths: &[PathBuf]) -> Result<u8> {
    if paths.is_empty() {
        return Ok(0);
    }
    let cfg = config::Ingest::of(index.to_path_buf(), paths.to_vec());
    let (summary, errors) = ingest_paths(&cfg)?;
    Ok(if report_unreadable(&summary, errors) {
        2
    } else {
        0
    })
}

/// `kaudit [PATH...]`, once the logs are in: answers the first questions of an
/// investigation from the saved queries, with the commands that show the details.
pub(super) fn overview_command(index: &Path, resolved: &Resolved, env: &Environment) -> Result<()> {
    let Resolved { engine, saved } = resolved;
    let mut out = std::io::stdout().lock();
    let io = |e| Error::io("<stdout>", e);
    let index_text = for_terminal(&index.display().to_string()).into_owned();
    writeln!(out, "kaudit index {index_text}").map_err(io)?;
    write!(out, "  {} requests", thousands(engine.num_docs())).map_err(io)?;
    if let Some((a, b)) = time_span(engine)? {
        write!(out, " from {} to {}", format_micros(a), format_micros(b)).map_err(io)?;
    }
    // The commands suggested name the index only when a plain `kaudit query` would not
    // find it.
    let index_arg = if env.kaudit_index.is_some() || Some(index.to_path_buf()) == env.index_dir() {
        String::new()
    } else {
        format!(" --index {index_text}")
    };
    writeln!(
        out,
        "\n\nWhat happened, by saved query (see the requests with: kaudit query{index_arg} @NAME):"
    )
    .map_err(io)?;
    let (shown, width) = shown_saved(saved);
    for (q, (name, description)) in saved.iter().zip(&shown) {
        let expr = query::parse_query(&q.query, saved)?;
        let n = engine.count(&Search {
            expr,
            since: None,
            until: None,
        })?;
        writeln!(out, "  {:>7}  @{name:<width$}  {description}", thousands(n)).map_err(io)?;
    }
    writeln!(
        out,
        "\nReports: kaudit report secrets | serviceaccounts | immutability | stats\n\
         Detections: kaudit hunt; your audit Policy: kaudit policy check POLICY.yaml\n\
         More: kaudit query --help (query syntax), kaudit queries, kaudit status"
    )
    .map_err(io)?;
    Ok(())
}
