//! `kaudit report KIND`: a report over the requests `--where` selects.

use std::io::Write;

use super::resolved::Resolved;
use crate::config;
use crate::error::{Error, Result};
use crate::query::{self, Search};

/// Runs the report and prints it; exit 1 when it flags something and
/// `--fail-on-findings` asks for that.
pub(super) fn report_command(cfg: &config::Report, resolved: &Resolved) -> Result<u8> {
    let Resolved { engine, saved } = resolved;
    let scope = Search {
        expr: query::parse_query(&cfg.filter, saved)?,
        since: cfg.since,
        until: cfg.until,
    };
    let report = crate::report::run(engine, &cfg.kind, &scope)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    crate::report::render::write(&mut out, &report, cfg.format, cfg.section.as_deref())?;
    out.flush().map_err(|e| Error::io("<stdout>", e))?;
    if cfg.fail_on_findings && report.flagged > 0 {
        eprintln!(
            "kaudit: report {} flagged {} row(s) (--fail-on-findings)",
            report.name, report.flagged
        );
        return Ok(1);
    }
    Ok(0)
}
