//! The commands: each takes its validated config, does the work through the library,
//! prints, and returns the exit status (0 ok, 1 nothing matched; errors are 2 in main).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{self, Command};
use crate::error::{Error, Result};
use crate::index::store::Store;
use crate::index::writer::Writer;
use crate::ingest::{self, Summary, source::Source};
use crate::model::format_micros;
use crate::output::{self, Format, Rows};
use crate::query::{self, Engine, Search, SortOrder, saved};
use crate::sanitize::for_terminal;

pub fn run(command: Command) -> Result<u8> {
    match command {
        Command::Ingest(cfg) => ingest_command(&cfg),
        Command::Tui(cfg) => tui_command(&cfg),
        Command::Query(cfg) => query_command(&cfg),
        Command::Report(cfg) => report_command(&cfg),
        Command::Queries => queries_command(),
        Command::Status { index } => status_command(&index),
        Command::Rebuild { index, paths } => rebuild_command(&index, &paths),
        Command::Overview { index, paths } => overview_command(&index, &paths),
        Command::Print(text) => {
            let mut out = std::io::stdout().lock();
            out.write_all(&text)
                .and_then(|()| out.flush())
                .map_err(|e| Error::io("<stdout>", e))?;
            Ok(0)
        }
    }
}

/// Progress on stderr, only when it is a terminal.
struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    fn new(sources: &[Source]) -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar { bar: None };
        }
        let total: u64 = sources
            .iter()
            .filter_map(|s| match s {
                Source::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
                Source::Stdin => None,
            })
            .sum();
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}",
            )
            .expect("valid template"),
        );
        Bar { bar: Some(bar) }
    }
}

impl ingest::Progress for Bar {
    fn file_started(&self, source: &Source) {
        if let Some(bar) = &self.bar {
            bar.set_message(for_terminal(&source.display()).into_owned());
        }
    }
    fn bytes_read(&self, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(total);
        }
    }
}

/// Ingests paths into the index and prints the summary; returns the summary and
/// whether any file could not be read.
fn ingest_paths(cfg: &config::Ingest) -> Result<(Summary, Vec<Error>)> {
    let discovery = ingest::source::discover(&cfg.paths);
    if discovery.sources.is_empty() && discovery.errors.is_empty() {
        return Err(no_logs(&cfg.paths));
    }
    let store = Store::open_or_create(&cfg.index)?;
    let mut writer = Writer::open(store, cfg.commit_interval)?;
    let bar = Bar::new(&discovery.sources);
    let options = ingest::Options {
        max_line_bytes: cfg.max_line_bytes,
        stop: None,
    };
    let summary = ingest::run(&discovery.sources, &options, &mut writer, &bar)?;
    if let Some(bar) = &bar.bar {
        bar.finish_and_clear();
    }
    writer.finish()?;
    print_summary(&summary, &discovery.skipped, &cfg.index);
    Ok((summary, discovery.errors))
}

fn ingest_command(cfg: &config::Ingest) -> Result<u8> {
    let (summary, errors) = match &cfg.follow {
        Some(follow) => (follow_command(cfg, follow)?, Vec::new()),
        None => ingest_paths(cfg)?,
    };
    let unreadable = report_unreadable(&summary, errors);
    if unreadable {
        return Ok(2);
    }
    if cfg.strict && summary.rejected_lines() > 0 {
        return Err(Error::Strict(summary.rejected_lines()));
    }
    Ok(0)
}

/// `ingest --follow`: replay, then follow the live log until SIGINT/SIGTERM; then
/// commit and print the summary.
fn follow_command(cfg: &config::Ingest, follow: &config::Follow) -> Result<Summary> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| Error::io("<signal handler>", e))?;
    }
    let (dir, log) = ingest::follow::resolve(&cfg.paths[0])?;
    let store = Store::open_or_create(&cfg.index)?;
    let mut writer = Writer::open(store, cfg.commit_interval)?;
    eprintln!(
        "kaudit: following {} (backups in {}); Ctrl-C to stop",
        for_terminal(&log.display().to_string()),
        for_terminal(&dir.display().to_string())
    );
    let options = ingest::Options {
        max_line_bytes: cfg.max_line_bytes,
        stop: None,
    };
    let follow_options = ingest::follow::FollowOptions {
        poll: follow.poll,
        tick: std::time::Duration::from_millis(if follow.poll { 250 } else { 1000 }),
    };
    let started = std::time::Instant::now();
    let mut summary = Summary::default();
    let result = ingest::follow::follow(
        &log,
        &dir,
        &options,
        &follow_options,
        &mut writer,
        &stop,
        &mut summary,
    );
    summary.seconds = started.elapsed().as_secs_f64();
    // Commit what was read even when following failed: the checkpoint matches it.
    writer.finish()?;
    result?;
    print_summary(&summary, &Default::default(), &cfg.index);
    Ok(summary)
}

/// `kaudit tui`: opens the TUI on the index, ingesting the given logs (or following
/// the live one) in the background meanwhile. The ingest summary is printed once the
/// terminal is back.
fn tui_command(cfg: &config::Tui) -> Result<u8> {
    use crate::tui::background::{Background, Job};
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
    let engine = Engine::open(&cfg.index)?;
    let saved = saved::load(saved::user_dir().as_deref())?;
    let options = crate::tui::terminal::Options {
        query: cfg.query.clone(),
        export_dir: std::env::current_dir().map_err(|e| Error::io(".", e))?,
        history: crate::tui::history::default_path(),
        live: cfg.follow.is_some(),
        started,
    };
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

fn no_logs(paths: &[PathBuf]) -> Error {
    Error::Usage(format!(
        "no logs found in {} (looked for *.log, rotated backups, *.jsonl, *.json, *.gz)",
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Prints the paths that could not be read; true if there were any.
fn report_unreadable(summary: &Summary, errors: Vec<Error>) -> bool {
    for e in &errors {
        eprintln!("kaudit: error: {}", for_terminal(&e.to_string()));
    }
    for e in &summary.file_errors {
        eprintln!("kaudit: error: {}", for_terminal(e));
    }
    !errors.is_empty() || !summary.file_errors.is_empty()
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_summary(s: &Summary, skipped: &ingest::source::Skipped, index: &Path) {
    let mb = s.bytes as f64 / 1e6;
    let rate = if s.seconds > 0.0 { mb / s.seconds } else { 0.0 };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "kaudit: read {} file(s), {} lines, {:.1} MB in {:.2} s ({:.0} MB/s) into {}",
        s.files.len(),
        thousands(s.lines),
        mb,
        s.seconds,
        rate,
        index.display()
    );
    if !s.files_resumed.is_empty() {
        let _ = writeln!(
            err,
            "  {} file(s) seen before: read from where the last run stopped",
            s.files_resumed.len()
        );
    }
    let _ = writeln!(
        err,
        "  requests: {} new, {} stages collapsed into their request, {} duplicates ignored",
        thousands(s.requests),
        thousands(s.collapsed),
        thousands(s.duplicates)
    );
    if let (Some(a), Some(b)) = (s.first_time, s.last_time) {
        let _ = writeln!(
            err,
            "  time span: {} .. {}",
            format_micros(a),
            format_micros(b)
        );
    }
    let rejected = s.rejected_lines();
    if rejected > 0 {
        let _ = writeln!(
            err,
            "  rejected: {} (each shown at its first places)",
            thousands(rejected)
        );
        for (class, stats) in &s.rejected {
            let _ = writeln!(err, "    {class}: {}", thousands(stats.count));
            for (at, why) in &stats.first {
                let _ = writeln!(
                    err,
                    "      {}: {}",
                    for_terminal(&at.to_string()),
                    for_terminal(why)
                );
            }
        }
    }
    let warned: u64 = s.warnings.values().map(|w| w.count).sum();
    if warned > 0 {
        let _ = writeln!(
            err,
            "  indexed with warnings: {} (each shown at its first places)",
            thousands(warned)
        );
        for (class, stats) in &s.warnings {
            let _ = writeln!(err, "    {class}: {}", thousands(stats.count));
            for (at, why) in &stats.first {
                let _ = writeln!(
                    err,
                    "      {}: {}",
                    for_terminal(&at.to_string()),
                    for_terminal(why)
                );
            }
        }
    }
    if !skipped.not_regular.is_empty() {
        let _ = writeln!(
            err,
            "  warning: skipped {} file(s) named like logs that are not regular files; name one \
             as a PATH to read it as a stream:",
            skipped.not_regular.len()
        );
        for (path, kind) in skipped.not_regular.iter().take(10) {
            let _ = writeln!(
                err,
                "    {}: {kind}",
                for_terminal(&path.display().to_string())
            );
        }
        if skipped.not_regular.len() > 10 {
            let _ = writeln!(err, "    ...");
        }
    }
    let skipped = &skipped.not_logs;
    if !skipped.is_empty() {
        let names: Vec<String> = skipped
            .iter()
            .take(5)
            .map(|p| p.display().to_string())
            .collect();
        let _ = writeln!(
            err,
            "  skipped {} file(s) not named like logs ({}{}); name a file to read it anyway",
            skipped.len(),
            for_terminal(&names.join(", ")),
            if skipped.len() > 5 { ", ..." } else { "" }
        );
    }
}

fn query_command(cfg: &config::Query) -> Result<u8> {
    let engine = Engine::open(&cfg.index)?;
    let saved = saved::load(saved::user_dir().as_deref())?;
    let expr = query::parse_query(&cfg.text, &saved)?;
    let search = Search {
        expr,
        since: cfg.since,
        until: cfg.until,
    };
    if let Some(spec) = &cfg.by {
        return counts_command(&engine, &search, spec, cfg.format);
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

fn report_command(cfg: &config::Report) -> Result<u8> {
    let engine = Engine::open(&cfg.index)?;
    let saved = saved::load(saved::user_dir().as_deref())?;
    let scope = Search {
        expr: query::parse_query(&cfg.filter, &saved)?,
        since: cfg.since,
        until: cfg.until,
    };
    let report = crate::report::run(&engine, &cfg.kind, &scope)?;
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

/// Saved queries' names and descriptions as shown: a user's queries directory may hold
/// files from anywhere, so they are sanitized like log text.
fn shown_saved(saved: &[saved::SavedQuery]) -> (Vec<(String, String)>, usize) {
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

fn queries_command() -> Result<u8> {
    let saved = saved::load(saved::user_dir().as_deref())?;
    let (shown, width) = shown_saved(&saved);
    let mut out = std::io::stdout().lock();
    for (name, description) in &shown {
        writeln!(out, "@{name:width$}  {description}").map_err(|e| Error::io("<stdout>", e))?;
    }
    Ok(0)
}

fn status_command(index: &Path) -> Result<u8> {
    let engine = Engine::open(index)?;
    let payload = engine.store.payload()?;
    let mut out = std::io::stdout().lock();
    let io = |e| Error::io("<stdout>", e);
    writeln!(out, "index:    {}", index.display()).map_err(io)?;
    writeln!(out, "requests: {}", thousands(engine.num_docs())).map_err(io)?;
    if let Some((first, last)) = time_span(&engine)? {
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

/// `kaudit index rebuild`: moves a damaged index aside (kept for a closer look) and
/// ingests its logs again into a new one. The logs are those named in the index's last
/// readable commit, plus the given paths.
fn rebuild_command(index: &Path, paths: &[PathBuf]) -> Result<u8> {
    if let Some(holder) = writer_holder(index) {
        return Err(Error::IndexLocked {
            path: index.to_path_buf(),
            holder: format!(" ({holder})"),
        });
    }
    let recorded: Vec<PathBuf> = match Store::open(index).and_then(|s| s.payload()) {
        Ok(payload) => payload
            .checkpoint
            .files()
            .map(|f| PathBuf::from(&f.path))
            .collect(),
        Err(_) => {
            eprintln!(
                "kaudit: the damaged index cannot say which logs it read; using the PATHs given"
            );
            Vec::new()
        }
    };
    let (mut found, gone): (Vec<PathBuf>, Vec<PathBuf>) =
        recorded.into_iter().partition(|p| p.exists());
    for p in paths {
        if !found.contains(p) {
            found.push(p.clone());
        }
    }
    if found.is_empty() {
        return Err(Error::Usage(format!(
            "no logs to rebuild {} from: name them, e.g. kaudit index rebuild --index {} /var/log/kubernetes/audit/",
            index.display(),
            index.display()
        )));
    }
    for p in &gone {
        eprintln!(
            "kaudit: warning: {} was read into the index but is gone (rotated away?); name its \
             backup as a PATH or its requests are not in the rebuilt index",
            for_terminal(&p.display().to_string())
        );
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S").to_string();
    if let Some(aside) = crate::index::store::move_aside(index, &stamp)? {
        eprintln!(
            "kaudit: moved the damaged index to {}; remove it once the new one is checked",
            aside.display()
        );
    }
    let cfg = config::Ingest {
        index: index.to_path_buf(),
        paths: found,
        strict: false,
        max_line_bytes: ingest::Options::default().max_line_bytes,
        commit_interval: std::time::Duration::from_secs(10),
        follow: None,
    };
    let (summary, errors) = ingest_paths(&cfg)?;
    Ok(if report_unreadable(&summary, errors) || !gone.is_empty() {
        2
    } else {
        0
    })
}

/// The process named in the index's holder file, if it is still running.
fn writer_holder(index: &Path) -> Option<String> {
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
fn time_span(engine: &Engine) -> Result<Option<(i64, i64)>> {
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

/// `kaudit [PATH...]`: ingest what was given, then answer the first questions of an
/// investigation from the saved queries, with the commands that show the details.
fn overview_command(index: &Path, paths: &[PathBuf]) -> Result<u8> {
    let mut status = 0;
    if !paths.is_empty() {
        let cfg = config::Ingest {
            index: index.to_path_buf(),
            paths: paths.to_vec(),
            strict: false,
            max_line_bytes: 16 << 20,
            commit_interval: std::time::Duration::from_secs(10),
            follow: None,
        };
        let (summary, errors) = ingest_paths(&cfg)?;
        if report_unreadable(&summary, errors) {
            status = 2;
        }
    }
    let engine = Engine::open(index)?;
    let saved = saved::load(saved::user_dir().as_deref())?;
    let mut out = std::io::stdout().lock();
    let io = |e| Error::io("<stdout>", e);
    let index_text = for_terminal(&index.display().to_string()).into_owned();
    writeln!(out, "kaudit index {index_text}").map_err(io)?;
    write!(out, "  {} requests", thousands(engine.num_docs())).map_err(io)?;
    if let Some((a, b)) = time_span(&engine)? {
        write!(out, " from {} to {}", format_micros(a), format_micros(b)).map_err(io)?;
    }
    let index_arg = if std::env::var_os("KAUDIT_INDEX").is_some()
        || Some(index.to_path_buf()) == crate::index::store::default_dir()
    {
        String::new()
    } else {
        format!(" --index {index_text}")
    };
    writeln!(
        out,
        "\n\nWhat happened, by saved query (see the requests with: kaudit query{index_arg} @NAME):"
    )
    .map_err(io)?;
    let (shown, width) = shown_saved(&saved);
    for (q, (name, description)) in saved.iter().zip(&shown) {
        let expr = query::parse_query(&q.query, &saved)?;
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
         More: kaudit query --help (query syntax), kaudit queries, kaudit status"
    )
    .map_err(io)?;
    Ok(status)
}
