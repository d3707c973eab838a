//! `kaudit policy eval POLICY [QUERY]`: the level an audit Policy gives each request the
//! index holds, oldest first, streamed (table, JSON, NDJSON, CSV), and a tally of levels
//! and rules on stderr.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use super::resolved::Resolved;
use crate::config;
use crate::error::{Error, Result};
use crate::model::format_micros;
use crate::output::Format;
use crate::output::table::{self, Align};
use crate::policy::check::{Decision, evaluate};
use crate::policy::{Attributes, Level, Policy};
use crate::query::{self, Search};
use crate::report::render::header;
use crate::sanitize;

/// The columns of every format, in order.
const COLUMNS: [&str; 11] = [
    "auditID",
    "time",
    "user",
    "verb",
    "resource",
    "subresource",
    "namespace",
    "name",
    "level",
    "rule",
    "omitStages",
];

/// Reads and validates `path` as the apiserver would; its warnings go to stderr.
pub(super) fn load_policy(path: &Path) -> Result<Policy> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    // `line 5: rules[0]...` becomes `5: rules[0]...`, shown after the file name.
    let at_line = |p: String| p.strip_prefix("line ").map_or(p.clone(), str::to_string);
    match crate::policy::load::load(&text) {
        Ok((policy, warnings)) => {
            for w in warnings {
                eprintln!("kaudit: warning: {}:{}", path.display(), at_line(w));
            }
            Ok(policy)
        }
        // Warnings too: a misspelt key the apiserver ignores often explains an error.
        Err(problems) => Err(Error::Policy {
            path: path.to_path_buf(),
            problems: (problems.errors.into_iter().map(at_line))
                .chain(
                    problems
                        .warnings
                        .into_iter()
                        .map(|w| format!("{} (warning)", at_line(w))),
                )
                .collect(),
        }),
    }
}

/// `--policy FILE` of the TUI, read before anything starts.
pub(super) fn policy_file(path: &Path) -> Result<crate::policy::PolicyFile> {
    Ok(crate::policy::PolicyFile {
        path: path.to_path_buf(),
        policy: load_policy(path)?,
    })
}

/// Runs `policy eval`: exit 0 when some request matched the query, 1 when none did.
pub(super) fn eval_command(cfg: &config::PolicyEval, resolved: &Resolved) -> Result<u8> {
    let policy = load_policy(&cfg.policy)?;
    let Resolved { engine, saved } = resolved;
    let search = Search {
        expr: query::parse_query(&cfg.text, saved)?,
        since: cfg.since,
        until: cfg.until,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut writer = RowWriter::new(cfg.format);
    let mut tally: BTreeMap<(Level, Option<usize>), u64> = BTreeMap::new();
    let mut buf = Vec::new();
    let mut written: std::io::Result<()> = writer.start(&mut out);
    engine.scan_stored_by_time(&search, &mut |stored| {
        stored.read(&mut buf, |r, _| {
            let decision = evaluate(&policy, &Attributes::of(r));
            *tally.entry((decision.level, decision.rule)).or_default() += 1;
            let row = row(r, &decision);
            if written.is_ok() {
                written = writer.row(&mut out, &row);
            }
        });
        // A closed pipe (`| head`) ends the walk quietly.
        written
            .as_ref()
            .map_err(|e| Error::io("<stdout>", e.kind().into()))?;
        Ok(())
    })?;
    written
        .and_then(|()| writer.finish(&mut out))
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    let total: u64 = tally.values().sum();
    eprintln!("{}", summary(&policy, &tally, total));
    Ok(if total == 0 { 1 } else { 0 })
}

/// Runs `policy check`: exit 1 on a leak or blind spot with `--fail-on-findings`.
pub(super) fn check_command(cfg: &config::PolicyCheck, resolved: &Resolved) -> Result<u8> {
    let policy = load_policy(&cfg.policy)?;
    let Resolved { engine, saved } = resolved;
    let scope = Search {
        expr: query::parse_query(&cfg.filter, saved)?,
        since: cfg.since,
        until: cfg.until,
    };
    let report = crate::report::policy_check::run(engine, &policy, &scope)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    crate::report::render::write(&mut out, &report, cfg.format, cfg.section.as_deref())?;
    out.flush().map_err(|e| Error::io("<stdout>", e))?;
    if cfg.fail_on_findings && report.flagged > 0 {
        eprintln!(
            "kaudit: policy check found {} leak or blind spot row(s) (--fail-on-findings)",
            report.flagged
        );
        return Ok(1);
    }
    Ok(0)
}

/// Runs `policy suggest`: the Policy on stdout.
pub(super) fn suggest_command(cfg: &config::PolicySuggest, resolved: &Resolved) -> Result<u8> {
    let Resolved { engine, saved } = resolved;
    let scope = Search {
        expr: query::parse_query(&cfg.filter, saved)?,
        since: cfg.since,
        until: cfg.until,
    };
    let text = crate::report::policy_suggest::suggest(engine, &scope, cfg.json)?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(0)
}

/// One request's row, as JSON values under `COLUMNS`.
fn row(r: &crate::model::Request<'_>, d: &Decision) -> Vec<Value> {
    let text = |s: Option<&str>| s.map_or(Value::Null, Value::from);
    vec![
        text(r.audit_id),
        r.time()
            .map_or(Value::Null, |t| Value::from(format_micros(t))),
        text(r.user),
        text(r.verb),
        text(r.resource),
        text(r.subresource),
        text(r.namespace),
        text(r.name),
        Value::from(d.level.as_str()),
        d.rule.map_or(Value::Null, Value::from),
        json!(d.omit_stages),
    ]
}

/// The levels given, and how many requests each rule took.
fn summary(policy: &Policy, tally: &BTreeMap<(Level, Option<usize>), u64>, total: u64) -> String {
    let mut by_level: BTreeMap<Level, u64> = BTreeMap::new();
    let mut by_rule: BTreeMap<Option<usize>, u64> = BTreeMap::new();
    for ((level, rule), n) in tally {
        *by_level.entry(*level).or_default() += n;
        *by_rule.entry(*rule).or_default() += n;
    }
    let levels: Vec<String> = by_level
        .iter()
        .map(|(level, n)| format!("{} {n}", level.as_str()))
        .collect();
    let mut text = format!(
        "kaudit: {total} request(s) under this Policy: {}",
        if levels.is_empty() {
            "none".to_string()
        } else {
            levels.join(", ")
        }
    );
    let rules: Vec<String> = (0..policy.rules.len())
        .map(|i| format!("{i}: {}", by_rule.get(&Some(i)).copied().unwrap_or(0)))
        .collect();
    text += &format!(
        "\n  by rule (index: requests): {}; no rule: {}",
        rules.join(", "),
        by_rule.get(&None).copied().unwrap_or(0)
    );
    text
}

/// Writes rows as they come: NDJSON and CSV line by line, JSON as one array, the table
/// in pages whose columns are sized from each page.
struct RowWriter {
    format: Format,
    rows: usize,
    page: Vec<Vec<String>>,
}

/// Rows per table page: the table sizes its columns from the rows it holds.
const PAGE: usize = 1000;

impl RowWriter {
    fn new(format: Format) -> RowWriter {
        RowWriter {
            format,
            rows: 0,
            page: Vec::new(),
        }
    }

    fn start(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        match self.format {
            Format::Json => out.write_all(b"["),
            Format::Csv => writeln!(out, "{}", COLUMNS.join(",")),
            Format::Table | Format::Ndjson => Ok(()),
        }
    }

    fn row(&mut self, out: &mut dyn Write, row: &[Value]) -> std::io::Result<()> {
        self.rows += 1;
        let object = || {
            let map: serde_json::Map<String, Value> = COLUMNS
                .iter()
                .zip(row)
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            Value::Object(map)
        };
        match self.format {
            Format::Ndjson => writeln!(out, "{}", object()),
            Format::Json => {
                let sep = if self.rows > 1 { "," } else { "" };
                write!(out, "{sep}\n{}", object())
            }
            Format::Csv => {
                let cells: Vec<String> = row.iter().map(|v| csv_cell(&text(v))).collect();
                writeln!(out, "{}", cells.join(","))
            }
            Format::Table => {
                self.page.push(row.iter().map(text).collect());
                if self.page.len() == PAGE {
                    self.flush_page(out)?;
                }
                Ok(())
            }
        }
    }

    fn finish(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        match self.format {
            Format::Json => out.write_all(if self.rows > 0 { b"\n]\n" } else { b"]\n" }),
            Format::Table => self.flush_page(out),
            Format::Csv | Format::Ndjson => Ok(()),
        }
    }

    /// The page as an aligned table (`output::table`), headers on the first page only.
    fn flush_page(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.page.is_empty() {
            return Ok(());
        }
        let first = self.rows <= PAGE;
        let headers: Vec<String> = COLUMNS.iter().map(|c| header(c)).collect();
        let titles: Vec<&str> = headers.iter().map(String::as_str).collect();
        let cells: Vec<Vec<String>> = (self.page.drain(..))
            .map(|r| r.iter().map(|c| table::cell(c, MAX_CELL)).collect())
            .collect();
        let mut align = vec![Align::Left; COLUMNS.len()];
        align[9] = Align::Right; // rule
        table::write(out, &titles, &align, &cells, first)
    }
}

/// Longest a table cell may be before it is cut with `…`.
const MAX_CELL: usize = 80;

/// A cell as text: strings as they are, lists joined by `,`, null empty (`-` in tables).
fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            if items.is_empty() {
                "-".to_string()
            } else {
                items.iter().map(text).collect::<Vec<_>>().join(",")
            }
        }
        other => other.to_string(),
    }
}

/// A CSV cell: sanitized for spreadsheets, quoted when it must be.
fn csv_cell(s: &str) -> String {
    let s = if s == "-" { "" } else { s };
    let s = sanitize::for_csv(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into_owned()
    }
}
