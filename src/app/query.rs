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
    let mut pages = Pages {
        out: &mut out,
        format: cfg.format,
        columns: &columns,
        first: true,
    };
    let mut found = 0usize;
    match cfg.limit {
        // A few rows: the index's top-docs collector, which reads only those.
        Some(limit) if limit <= PAGE => {
            let hits = engine.search(&search, order, 0, Some(limit))?;
            let page: Vec<_> = hits.iter().flat_map(|s| rows.rows(s)).collect();
            pages.write(&page, true).map_err(io)?;
            found = hits.len();
        }
        // Many, or all: one pass in time order, a page of rows written at a time, so
        // memory stays bounded and time linear (paging by offset re-runs the query and
        // keeps offset + page hits each time: quadratic over a large index).
        limit => {
            let mut page = Vec::new();
            let mut in_page = 0;
            let mut failed = None;
            engine.for_each_in_order(&search, order, &mut |stored| {
                page.extend(rows.rows(&stored));
                found += 1;
                in_page += 1;
                if in_page == PAGE {
                    if let Err(e) = pages.write(&page, false) {
                        failed = Some(e);
                        return Ok(false);
                    }
                    page.clear();
                    in_page = 0;
                }
                Ok(limit.is_none_or(|l| found < l))
            })?;
            if let Some(e) = failed {
                return Err(io(e));
            }
            pages.write(&page, true).map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    if found == 0 && cfg.format == Format::Table {
        eprintln!("kaudit: no requests match");
    }
    Ok(if found > 0 { 0 } else { 1 })
}

/// Requests a page holds: the table sizes its columns page by page.
const PAGE: usize = 1000;

/// Writes pages of rows in one format: JSON's brackets around them all, the table's
/// header above the first page only.
struct Pages<'a> {
    out: &'a mut dyn Write,
    format: Format,
    columns: &'a [&'a str],
    first: bool,
}

impl Pages<'_> {
    fn write(&mut self, rows: &[output::Row], last: bool) -> std::io::Result<()> {
        // No table for no rows (the caller says so on stderr); JSON still closes `[]`.
        if self.format == Format::Table && rows.is_empty() {
            return Ok(());
        }
        output::write_rows(self.out, self.format, rows, self.columns, self.first, last)?;
        self.first = false;
        Ok(())
    }
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
