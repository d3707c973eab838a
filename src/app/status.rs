//! `kaudit status` (what the index holds and who writes it) and `kaudit queries` (the
//! saved queries), and the facts about an index they and the overview share.

use std::io::Write;
use std::path::Path;

use super::thousands;
use crate::error::{Error, Result};
use crate::model::format_micros;
use crate::query::{self, Engine, Search, SortOrder, saved};
use crate::sanitize::for_terminal;

/// Saved queries' names and descriptions as shown: a user's queries directory may hold
/// files from anywhere, so they are sanitized like log text.
pub(super) fn shown_saved(saved: &[saved::SavedQuery]) -> (Vec<(String, String)>, usize) {
    let shown: Vec<(String, String)> = saved
        .iter()
        .map(|q| {
            let name = for_terminal(&q.name).into_owned();
            (name, for_terminal(&q.description).into_owned())
        })
        .collect();
    let width = shown
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    (shown, width)
}

/// `kaudit queries`: each saved query's name and description.
pub(super) fn queries_command(saved: &[saved::SavedQuery]) -> Result<u8> {
    let (shown, width) = shown_saved(saved);
    let mut out = std::io::stdout().lock();
    for (name, description) in &shown {
        writeln!(out, "@{name:width$}  {description}").map_err(|e| Error::io("<stdout>", e))?;
    }
    Ok(0)
}

/// `kaudit status`: the index's size, time span, writer, last commit and the files it
/// has read, with where each was left.
pub(super) fn status_command(index: &Path, engine: &Engine) -> Result<u8> {
    let payload = engine.store.payload()?;
    let mut out = std::io::stdout().lock();
    let io = |e| Error::io("<stdout>", e);
    writeln!(out, "index:    {}", index.display()).map_err(io)?;
    writeln!(out, "requests: {}", thousands(engine.num_docs())).map_err(io)?;
    if let Some((first, last)) = time_span(engine)? {
        writeln!(
            out,
            "span:     {} .. {}",
            format_micros(first),
            format_micros(last)
        )
        .map_err(io)?;
    }
    match writer_holder(index) {
        Some(holder) => writeln!(out, "writer:   {}", for_terminal(&holder)).map_err(io)?,
        None => writeln!(out, "writer:   none running").map_err(io)?,
    }
    if let Some(at) = &payload.committed_at {
        writeln!(out, "commit:   {at}").map_err(io)?;
    }
    writeln!(out, "files:    {}", payload.checkpoint.len()).map_err(io)?;
    for f in payload.checkpoint.files() {
        writeln!(
            out,
            "  {}  offset {} (line {}){}  inode {}  fingerprint {}/{}",
            for_terminal(&f.path),
            f.offset,
            f.next_line,
            if f.complete { ", complete" } else { "" },
            f.inode,
            f.fingerprint,
            f.fingerprint_len
        )
        .map_err(io)?;
    }
    Ok(0)
}

/// The process named in the index's holder file, if it is still running.
pub(super) fn writer_holder(index: &Path) -> Option<String> {
    let text = crate::index::trust::read_file(index, crate::index::writer::HOLDER).ok()?;
    let pid: u32 = text
        .strip_prefix("pid ")?
        .split(':')
        .next()?
        .trim()
        .parse()
        .ok()?;
    Path::new(&format!("/proc/{pid}"))
        .exists()
        .then(|| text.trim().to_string())
}

/// Receive times of the oldest and newest requests.
pub(super) fn time_span(engine: &Engine) -> Result<Option<(i64, i64)>> {
    let all = Search {
        expr: query::parse::Expr::All,
        since: None,
        until: None,
    };
    let time = |order| -> Result<Option<i64>> {
        let hits = engine.search(&all, order, 0, Some(1))?;
        let mut buf = Vec::new();
        Ok(hits
            .first()
            .and_then(|h| h.read(&mut buf, |r, _| r.time())?))
    };
    Ok(
        match (time(SortOrder::OldestFirst)?, time(SortOrder::NewestFirst)?) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        },
    )
}
