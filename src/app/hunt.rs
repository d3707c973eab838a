//! `kaudit hunt`: the detections run over the index, printed as a report (or one hit
//! per line with `--format ndjson`), or explained without running.

use std::io::Write;

use super::resolved::Resolved;
use crate::config;
use crate::error::{Error, Result};
use crate::query::{self, Search};
use crate::report::hunt;

pub(super) fn hunt_command(cfg: &config::Hunt, resolved: &Resolved) -> Result<u8> {
    let Resolved { engine, saved } = resolved;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let io = |e| Error::io("<stdout>", e);
    if cfg.explain {
        for q in hunt::detections(saved, cfg.min_level) {
            writeln!(
                out,
                "{} [{}] {}\n  query: {}\n  tags: {}\n  from: {}",
                q.name,
                q.level.as_deref().unwrap_or_default(),
                crate::sanitize::for_terminal(&q.description),
                q.query,
                q.tags.join(", "),
                q.origin
            )
            .map_err(io)?;
        }
        out.flush().map_err(io)?;
        return Ok(0);
    }
    let scope = Search {
        expr: query::parse_query(&cfg.filter, saved)?,
        since: cfg.since,
        until: cfg.until,
    };
    let report = hunt::run(engine, saved, &scope, cfg.min_level)?;
    if cfg.ndjson {
        let hits = report.sections.iter().find(|s| s.key == "hits");
        for row in hits.map(|s| s.to_json()).into_iter().flat_map(|v| match v {
            serde_json::Value::Array(rows) => rows,
            _ => Vec::new(),
        }) {
            writeln!(out, "{row}").map_err(io)?;
        }
    } else {
        crate::report::render::write(&mut out, &report, cfg.format, cfg.section.as_deref())?;
    }
    out.flush().map_err(io)?;
    if cfg.fail_on_findings && report.flagged > 0 {
        eprintln!(
            "kaudit: hunt found {} hit(s) (--fail-on-findings)",
            report.flagged
        );
        return Ok(1);
    }
    Ok(0)
}
