//! Carries out the state's effects against the index and answers with actions. It
//! runs on its own thread so that the UI never waits on a query; `perform` itself is
//! synchronous and is tested directly.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::output::{self, Format, Rows};
use crate::query::saved::SavedQuery;
use crate::query::{Engine, Search, parse_query};
use crate::report;

use super::complete::complete;
use super::state::{Action, Ask, BUCKETS, Effect, ExportFormat, PAGE, Row};
use crate::report::diff;

/// What the worker needs besides the index.
pub struct Context<'a> {
    pub saved: &'a [SavedQuery],
    /// Where exports are written.
    pub export_dir: &'a Path,
    /// The task the user cancelled last (set by the UI thread): an export checks it
    /// between pages and stops if it is its own.
    pub cancel: &'a AtomicU64,
    /// `--policy FILE`: its `policy check` report, and the rule of each request shown.
    pub policy: Option<&'a crate::policy::PolicyFile>,
}

/// The picker's entry for `policy check` (with `--policy FILE`).
pub const POLICY_CHECK: &str = "policy check";
/// The picker's entry for `kaudit hunt`.
pub const HUNT: &str = "hunt";

fn search_of(ask: &Ask, saved: &[SavedQuery]) -> Result<Search> {
    Ok(Search {
        expr: parse_query(&ask.query, saved)?,
        since: ask.since,
        until: ask.until,
    })
}

fn failed(generation: u64, e: Error) -> Vec<Action> {
    let column = match &e {
        Error::Query(syntax) if syntax.saved.is_none() => Some(syntax.position),
        _ => None,
    };
    vec![Action::QueryFailed {
        generation,
        column,
        message: e.to_string(),
    }]
}

/// Runs one effect; effects for the UI alone (`Quit`, `Cancel`, `Remember`) need no work.
pub fn perform(engine: &Engine, cx: &Context<'_>, effect: &Effect) -> Vec<Action> {
    match effect {
        Effect::Run(ask) => load(engine, cx, ask, None, true),
        Effect::LoadPage(ask, first) => load(engine, cx, ask, Some(*first), false),
        Effect::Refresh(ask, first) => {
            let total = match search_of(ask, cx.saved).and_then(|s| engine.count(&s)) {
                Ok(total) => total,
                Err(e) => return failed(ask.generation, e),
            };
            match page(engine, cx, ask, *first) {
                Ok(rows) => vec![Action::Refreshed {
                    generation: ask.generation,
                    total,
                    first: *first,
                    rows,
                }],
                Err(e) => failed(ask.generation, e),
            }
        }
        Effect::Complete { text, cursor } => {
            let names: Vec<String> = cx.saved.iter().map(|q| q.name.clone()).collect();
            let mut values = |field, prefix: &str| {
                engine
                    .values(field, prefix, 50)
                    .map(|v| v.into_iter().map(|(value, _)| value).collect())
                    .unwrap_or_default()
            };
            let found = complete(text, *cursor, &mut values, &names);
            let (start, end, candidates) = match found {
                Some(c) => (c.start, c.end, c.candidates),
                None => (*cursor, *cursor, Vec::new()),
            };
            vec![Action::Completed {
                text: text.clone(),
                start,
                end,
                candidates,
            }]
        }
        Effect::Report { task, name, scope } => {
            let answer = run_report(engine, cx, name, scope);
            vec![match answer {
                Ok(view) => Action::ReportReady { task: *task, view },
                Err(e) => Action::TaskDone {
                    task: *task,
                    message: format!("report {name} failed: {e}"),
                },
            }]
        }
        Effect::Histogram { task, ask } => {
            let answer = search_of(ask, cx.saved).and_then(|s| engine.histogram(&s, BUCKETS));
            vec![match answer {
                Ok(histogram) => Action::HistogramReady {
                    task: *task,
                    histogram,
                },
                Err(e) => Action::TaskDone {
                    task: *task,
                    message: format!("timeline failed: {e}"),
                },
            }]
        }
        Effect::Counts { task, ask, field } => {
            let spec = crate::query::counts::Spec {
                fields: vec![*field],
                every: None,
                min: 1,
                top: Some(super::counts::LIMIT),
            };
            let answer = search_of(ask, cx.saved).and_then(|s| engine.counts(&s, &spec));
            vec![match answer {
                Ok(counts) => Action::CountsReady {
                    task: *task,
                    field: *field,
                    counts,
                },
                Err(e) => Action::TaskDone {
                    task: *task,
                    message: format!("counting by {} failed: {e}", field.name()),
                },
            }]
        }
        Effect::Export { task, ask, format } => {
            let message = match export(engine, cx, *task, ask, *format) {
                Ok(Some((n, path))) => format!("exported {n} requests to {}", path.display()),
                Ok(None) => "export cancelled; the partial file was removed".to_string(),
                Err(e) => format!("export failed: {e}"),
            };
            vec![Action::TaskDone {
                task: *task,
                message,
            }]
        }
        Effect::Cancel(_) | Effect::Remember(_) | Effect::Quit => Vec::new(),
    }
}

/// Counts (for a new query) and loads the page at `first`.
fn load(
    engine: &Engine,
    cx: &Context<'_>,
    ask: &Ask,
    first: Option<usize>,
    count: bool,
) -> Vec<Action> {
    let mut answers = Vec::new();
    if count {
        match search_of(ask, cx.saved).and_then(|s| engine.count(&s)) {
            Ok(total) => answers.push(Action::Counted {
                generation: ask.generation,
                total,
            }),
            Err(e) => return failed(ask.generation, e),
        }
    }
    let first = first.unwrap_or(0);
    match page(engine, cx, ask, first) {
        Ok(rows) => {
            answers.push(Action::PageLoaded {
                generation: ask.generation,
                first,
                rows,
            });
            answers
        }
        Err(e) => failed(ask.generation, e),
    }
}

/// The rows of one page. In an object's history each row also says what its write
/// changed, so the page starts one row early to have the body before its first row.
fn page(engine: &Engine, cx: &Context<'_>, ask: &Ask, first: usize) -> Result<Vec<Row>> {
    let search = search_of(ask, cx.saved)?;
    let lookback = usize::from(ask.history && first > 0);
    let hits = engine.search(&search, ask.order, first - lookback, Some(PAGE + lookback))?;
    let mut buf = Vec::new();
    // One row per hit, even an unreadable one: `rows[i]` must stay hit `first + i`.
    let mut rows: Vec<Row> = hits
        .iter()
        .map(|s| {
            let mut row = Row::from_stored(s, &mut buf, true).unwrap_or_else(|| Row {
                actor: "(stored event unreadable: rebuild the index)".into(),
                event: Some(String::from_utf8_lossy(&s.event).into_owned()),
                ..Row::default()
            });
            if let Some(policy) = cx.policy {
                row.policy = s.read(&mut buf, |r, _| policy.describe(r));
            }
            row
        })
        .collect();
    if ask.history {
        annotate_changes(&mut rows);
    }
    rows.drain(..lookback.min(rows.len()));
    Ok(rows)
}

/// What each write in a history changed (`diff::History`).
fn annotate_changes(rows: &mut [Row]) {
    let mut history = diff::History::default();
    for row in rows {
        let stored = row.event.as_deref().unwrap_or_default();
        let event: serde_json::Value = serde_json::from_str(stored).unwrap_or_default();
        row.changes = Some(history.next(event, row.code, || diff::missing_body(stored)));
    }
}

fn run_report(
    engine: &Engine,
    cx: &Context<'_>,
    name: &str,
    scope: &Ask,
) -> Result<super::reports::ReportView> {
    use report::{Kind, stats};
    if name == POLICY_CHECK {
        let Some(policy) = cx.policy else {
            return Err(crate::error::Error::Usage(
                "no Policy to check: start the TUI with --policy FILE".into(),
            ));
        };
        let search = search_of(scope, cx.saved)?;
        let report = report::policy_check::run(engine, &policy.policy, &search)?;
        return Ok(super::reports::view(&report, &search.expr));
    }
    if name == HUNT {
        let search = search_of(scope, cx.saved)?;
        let report = report::hunt::run(engine, cx.saved, &search, 0)?;
        return Ok(super::reports::view(&report, &search.expr));
    }
    let kind = match Kind::from_name(name) {
        // A screen has room for more ranked rows than a terminal's scrollback.
        Some(Kind::Stats(_)) => Kind::Stats(stats::Filter { top: 50 }),
        Some(kind) => kind,
        None => {
            return Err(crate::error::Error::Usage(format!(
                "no report named {name:?}"
            )));
        }
    };
    let search = search_of(scope, cx.saved)?;
    let report = report::run(engine, &kind, &search)?;
    Ok(super::reports::view(&report, &search.expr))
}

/// Writes every hit of `ask` to a new file: NDJSON holds the redacted events as they
/// are stored (audit lines again, for jq or another kaudit), CSV the query columns.
/// Returns None when cancelled.
fn export(
    engine: &Engine,
    cx: &Context<'_>,
    task: u64,
    ask: &Ask,
    format: ExportFormat,
) -> Result<Option<(u64, PathBuf)>> {
    let search = search_of(ask, cx.saved)?;
    let extension = match format {
        ExportFormat::Ndjson => "ndjson",
        ExportFormat::Csv => "csv",
    };
    // The export directory (the working directory) is held to the index's rules: the
    // file is created in the checked directory, so another user cannot steer root's
    // export, which holds audit events, to a place of their choosing.
    let dir = crate::index::trust::file_dir(cx.export_dir, false)?
        .ok_or_else(|| Error::io(cx.export_dir, std::io::ErrorKind::NotFound.into()))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    // Never overwrite, nor write through a link: a second export in the same second,
    // or a name already taken, gets its own name.
    let (name, file) = (1..100)
        .find_map(|n| {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!("-{n}")
            };
            let name = format!("kaudit-export-{stamp}{suffix}.{extension}");
            match dir.create_new(&name) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
                opened => Some((name, opened)),
            }
        })
        .ok_or_else(|| Error::Usage("too many exports this second".into()))?;
    let path = dir.path().join(&name);
    let io = |e| Error::io(&path, e);
    let file = file.map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    let mut rows = Rows::new(false, false);
    let (mut written, mut cancelled) = (0u64, false);
    let mut failure = None;
    let result = engine.for_each_in_order(&search, ask.order, &mut |hit| {
        // Checked every 1000 requests: cheap, and quick enough to feel immediate.
        if written % 1000 == 0 && cx.cancel.load(Ordering::Relaxed) == task {
            cancelled = true;
            return Ok(false);
        }
        let wrote = match format {
            ExportFormat::Ndjson => out
                .write_all(&hit.event)
                .and_then(|()| out.write_all(b"\n")),
            ExportFormat::Csv => {
                let page = rows.rows(&hit);
                let columns: &[&str] = &[];
                output::write_rows(&mut out, Format::Csv, &page, columns, written == 0, false)
            }
        };
        if let Err(e) = wrote {
            failure = Some(e);
            return Ok(false);
        }
        written += 1;
        Ok(true)
    });
    if written == 0 && format == ExportFormat::Csv && failure.is_none() {
        // No hits: still a CSV file with its header.
        failure = output::write_rows(&mut out, Format::Csv, &[], &[], true, true).err();
    }
    let finished = match (result, failure) {
        (Err(e), _) => Err(e),
        (Ok(()), Some(e)) => Err(io(e)),
        (Ok(()), None) => out.flush().map_err(io),
    };
    if cancelled || finished.is_err() {
        drop(out);
        let _ = dir.remove(&name);
        finished?;
        return Ok(None);
    }
    Ok(Some((written, path)))
}
