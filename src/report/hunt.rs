//! `kaudit hunt`: every detection run over the whole history at once. A detection is a
//! saved query with a `level` (the shipped ones in `queries/`, and the user's): each is
//! run once on the index, as any query is, so a hunt over millions of requests takes
//! what its queries take, not a pass per event.
//!
//! - `detections`: per detection, its level, tags, hits, first and last hit, query;
//! - `hits`: the requests found, oldest first, each with the detection that found it
//!   (a request found by two detections is listed under each). At most `MAX_HITS` per
//!   detection are listed; its count in `detections` is exact.

use super::{Cell, Report, Section, each_event};
use crate::error::Result;
use crate::query::parse::Expr;
use crate::query::saved::{LEVELS, SavedQuery};
use crate::query::{Engine, Search, parse_query};

/// Hits listed per detection (the count is always exact).
pub const MAX_HITS: usize = 10_000;

/// The detections among `saved` at or above `min_level` (an index into `LEVELS`),
/// most severe first, then by name.
pub fn detections(saved: &[SavedQuery], min_level: usize) -> Vec<&SavedQuery> {
    let mut found: Vec<&SavedQuery> = saved
        .iter()
        .filter(|q| rank(q).is_some_and(|r| r >= min_level))
        .collect();
    found.sort_by(|a, b| rank(b).cmp(&rank(a)).then(a.name.cmp(&b.name)));
    found
}

fn rank(q: &SavedQuery) -> Option<usize> {
    let level = q.level.as_deref()?;
    LEVELS.iter().position(|l| *l == level)
}

struct Hit {
    time: Option<i64>,
    cells: Vec<Cell>,
}

/// Runs the detections of `saved` at or above `min_level` within `scope`.
pub fn run(
    engine: &Engine,
    saved: &[SavedQuery],
    scope: &Search,
    min_level: usize,
) -> Result<Report> {
    let mut summary = Section::new(
        "detections",
        "Detections: what each found",
        &["rule", "level", "tags", "hits", "first", "last", "query"],
    );
    let mut hits: Vec<Hit> = Vec::new();
    let mut total = 0u64;
    let mut cut = Vec::new();
    for q in detections(saved, min_level) {
        let expr = parse_query(&q.query, saved)?;
        let search = Search {
            expr: match &scope.expr {
                Expr::All => expr,
                scope => Expr::And(vec![scope.clone(), expr]),
            },
            since: scope.since,
            until: scope.until,
        };
        let (mut count, mut first, mut last) = (0u64, None::<i64>, None::<i64>);
        let level = q.level.clone().unwrap_or_default();
        each_event(engine, &search, &mut |e| {
            let r = e.request;
            count += 1;
            if let Some(t) = r.time() {
                first = Some(first.map_or(t, |f| f.min(t)));
                last = Some(last.map_or(t, |l| l.max(t)));
            }
            if count as usize <= MAX_HITS {
                hits.push(Hit {
                    time: r.time(),
                    cells: vec![
                        Cell::Time(r.time()),
                        Cell::text(&level),
                        Cell::text(&q.name),
                        Cell::opt(r.user),
                        Cell::opt(r.verb),
                        Cell::opt(r.resource_path()),
                        Cell::opt(r.namespace),
                        Cell::opt(r.name),
                        r.code.map_or(Cell::Text(None), Cell::Count),
                        Cell::opt(r.audit_id),
                    ],
                });
            }
        })?;
        if count as usize > MAX_HITS {
            cut.push(format!("{} ({count})", q.name));
        }
        total += count;
        summary.rows.push(vec![
            Cell::text(&q.name),
            Cell::text(level),
            Cell::List(q.tags.clone()),
            Cell::Count(count),
            Cell::Time(first),
            Cell::Time(last),
            Cell::text(&q.query),
        ]);
    }
    summary.note = Some(format!(
        "{} detection(s) run, {total} hit(s). A detection is a saved query with a level (`kaudit queries`).",
        summary.rows.len()
    ));
    hits.sort_by_key(|h| h.time);
    let mut listed = Section::new(
        "hits",
        "Hits, oldest first",
        &[
            "time",
            "level",
            "rule",
            "user",
            "verb",
            "resource",
            "namespace",
            "name",
            "code",
            "auditID",
        ],
    );
    listed.rows = hits.into_iter().map(|h| h.cells).collect();
    if !cut.is_empty() {
        listed.note = Some(format!(
            "At most {MAX_HITS} hits are listed per detection; more were found by: {}. Run `kaudit query @NAME` for all.",
            cut.join(", ")
        ));
    }
    Ok(Report {
        name: "hunt",
        sections: vec![summary, listed],
        primary: "hits",
        json: None,
        flagged: total,
    })
}
