//! `kaudit ingest` (replay or follow), `kaudit index rebuild`, and the progress bar
//! they show while reading.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use indicatif::{ProgressBar, ProgressStyle};

use super::status::writer_holder;
use super::summary::{no_logs, print_summary, report_unreadable};
use crate::config;
use crate::error::{Error, Result};
use crate::index::store::Store;
use crate::index::writer::Writer;
use crate::ingest::{self, Summary, source::Source};
use crate::sanitize::for_terminal;

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
pub(super) fn ingest_paths(cfg: &config::Ingest) -> Result<(Summary, Vec<Error>)> {
    // The rate shown is end to end: the index opened, every line read, the last
    // commit and merge done (they took 0.4 s of a 1 GB replay, 1 s of 200 MB).
    let started = std::time::Instant::now();
    let discovery = ingest::source::discover(&cfg.paths);
    if discovery.sources.is_empty() && discovery.errors.is_empty() {
        return Err(no_logs(&cfg.paths));
    }
    let store = Store::open_or_create(&cfg.index)?;
    let mut writer = Writer::open(store, cfg.commit_interval)?;
    let bar = Bar::new(&discovery.sources);
    let options = ingest::Options {
        max_line_bytes: cfg.max_line_bytes,
        parse_threads: cfg.parse_threads,
        stop: None,
    };
    let mut summary = ingest::run(&discovery.sources, &options, &mut writer, &bar)?;
    if let Some(bar) = &bar.bar {
        bar.finish_and_clear();
    }
    writer.finish()?;
    summary.seconds = started.elapsed().as_secs_f64();
    print_summary(&summary, &discovery.skipped, &cfg.index);
    Ok((summary, discovery.errors))
}

pub(super) fn ingest_command(cfg: &config::Ingest) -> Result<u8> {
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
        parse_threads: cfg.parse_threads,
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
    // Commit what was read even when following failed: the checkpoint matches it.
    let finished = writer.finish();
    summary.seconds = started.elapsed().as_secs_f64();
    finished?;
    result?;
    print_summary(&summary, &Default::default(), &cfg.index);
    Ok(summary)
}

/// `kaudit index rebuild`: moves a damaged index aside (kept for a closer look) and
/// ingests its logs again into a new one. The logs are those named in the index's last
/// readable commit, plus the given paths.
pub(super) fn rebuild_command(index: &Path, paths: &[PathBuf]) -> Result<u8> {
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
    let cfg = config::Ingest::of(index.to_path_buf(), found);
    let (summary, errors) = ingest_paths(&cfg)?;
    Ok(if report_unreadable(&summary, errors) || !gone.is_empty() {
        2
    } else {
        0
    })
}
