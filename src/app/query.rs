//! `kaudit query`: matching requests as a table, JSON, NDJSON or CSV, their count
//! (`--count`), or counts by field (`--by`).

use std::io::Write;
use std::path::PathBuf;

use super::resolved::Resolved;
use crate::config;
use crate::error::{Error, Result};
use crate::output::{self, Format, Rows};
use crate::query::{self, Engine, Search, SortOrder};

/// `kaudit query`: the requests `cfg` selects, a page at a time (or their count, or
/// counts by field); exit 1 when none match.
pub(super) fn query_command(cfg: &config::Query, resolved: &Resolved) -> Result<u8> {
    let Resolved { engine, saved } = resolved;
    let expr = query::parse_query(&cfg.text, saved)?;
    let search = Search {
        expr,
        since: cfg.since,
        until: cfg.until,
    };
    if let Some(spec) = &cfg.by {
        return counts_command(engine, &search, spec, cfg.format);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let io = |e| Error::io("<stdout>", e);
    if cfg.count {
        let n = engine.count(&search)?;
        writeln!(out, "{n}").map_err(io)?;
        out.flush().map_err(io)?;
        return Ok(if n > 0 { 0 } else { 1 });
    }
    // A query that is one saved query takes the table columns and order it names.
    let chosen = cfg
        .text
        .trim()
        .strip_prefix('@')
        .and_then(|name| saved.iter().find(|q| q.name == name));
    let columns: Vec<&str> = match chosen.filter(|q| !q.columns.is_empty()) {
        Some(q) => {
            output::check_columns(&q.columns).map_err(|reason| Error::SavedQuery {
                path: PathBuf::from(&q.origin),
                reason,
            })?;
            q.columns.iter().map(String::as_str).collect()
        }
        None => output::DEFAULT_COLUMNS.to_vec(),
    };
    let saved_oldest = chosen.and_then(|q| q.sort.as_deref()) == Some("oldest-first");
    let order = if cfg.oldest_first || saved_oldest {
        SortOrder::OldestFirst
    } else {
        SortOrder::NewestFirst
    };
    let mut rows = Rows::new(cfg.all_stages, cfg.format == Format::Json);
    // Pages keep memory bounded with --limit 0 on a large index.
    const PAGE: usize = 1000;
    let mut offset = 0;
    let mut found = 0usize;
    loop {
        let want = match cfg.limit {
            Some(limit) => PAGE.min(limit - offset),
            None => PAGE,
        };
        let page = if want == 0 {
            Vec::new()
        } else {
            engine.search(&search, order, offset, Some(want))?
        };
        let page_rows: Vec<_> = page.iter().flat_map(|s| rows.rows(s)).collect();
        let last = page.len() < want || cfg.limit.is_some_and(|l| offset + page.len() >= l);
        let table_without_rows = cfg.format == Format::Table && page_rows.is_empty();
        if !table_without_rows {
            output::write_rows(
                &mut out,
                cfg.format,
                &page_rows,
                &columns,
                offset == 0,
                last,
            )
            .map_err(io)?;
        }
        found += page.len();
        offset += page.len();
        if last || page.is_empty() {
            break;
        }
    }
    out.flush().map_err(io)?;
    if found == 0 && cfg.format == Format::Table {
        eprintln!("kaudit: no requests match");
    }
    Ok(if found > 0 { 0 } else { 1 })
}

/// `query --by`: counts by field, then what was left out on stderr. Exit 1 when no
/// row is printed (nothing matched, or nothing reached --min).
fn counts_command(
    engine: &Engine,
    search: &Search,
    spec: &query::counts::Spec,
    format: Format,
) -> Result<u8> {
    let counts = engine.counts(search, spec)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let io = |e| Error::io("<stdout>", e);
    output::counts::write(
        &mut out,
        format,
        &spec.fields,
        spec.every.is_some(),
        &counts,
    )
    .map_err(io)?;
    out.flush().map_err(io)?;
    if counts.shown < counts.keys {
        let ranked = if spec.every.is_some() {
            " (ranked by their largest bucket)"
        } else {
            ""
        };
        eprintln!(
            "kaudit: the top {} of {} values shown{ranked}; --top 0 shows all",
            counts.shown, counts.keys
        );
    }
    if counts.cut > 0 {
        eprintln!(
            "kaudit: warning: {} request(s) have more than {} combinations of values; \
             the rest of theirs were not counted",
            counts.cut,
            query::counts::MAX_COMBINATIONS
        );
    }
    if counts.rows.is_empty() && format == Format::Table {
        if counts.requests == 0 {
            eprintln!("kaudit: no requests match");
        } else {
            eprintln!(
                "kaudit: {} requests match, but no value reaches --min {}",
                counts.requests, spec.min
            );
        }
    }
    Ok(if counts.rows.is_empty() { 1 } else { 0 })
}
