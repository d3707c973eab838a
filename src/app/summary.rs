//! What an ingest tells the user on stderr: the summary of what was read, rejected and
//! skipped, and the paths that could not be read.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::thousands;
use crate::error::Error;
use crate::ingest::{self, Summary};
use crate::model::format_micros;
use crate::sanitize::for_terminal;

/// The error when PATHs hold no logs (and nothing unreadable either).
pub(super) fn no_logs(paths: &[PathBuf]) -> Error {
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
pub(super) fn report_unreadable(summary: &Summary, errors: Vec<Error>) -> bool {
    for e in &errors {
        eprintln!("kaudit: error: {}", for_terminal(&e.to_string()));
    }
    for e in &summary.file_errors {
        eprintln!("kaudit: error: {}", for_terminal(e));
    }
    !errors.is_empty() || !summary.file_errors.is_empty()
}

/// Prints on stderr what an ingest read into `index`: files, lines, requests, the time
/// span, rejected lines and warnings (each at its first places), and skipped files.
pub(super) fn print_summary(s: &Summary, skipped: &ingest::source::Skipped, index: &Path) {
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
    print_classes(&mut err, "rejected", s.rejected_lines(), &s.rejected);
    let warned: u64 = s.warnings.values().map(|w| w.count).sum();
    print_classes(&mut err, "indexed with warnings", warned, &s.warnings);
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

/// A count of lines by class (rejected, or indexed with warnings), each class with the
/// first places it was seen and why; nothing when `total` is 0.
fn print_classes(
    err: &mut impl Write,
    title: &str,
    total: u64,
    classes: &BTreeMap<&'static str, ingest::RejectionStats>,
) {
    if total == 0 {
        return;
    }
    let _ = writeln!(
        err,
        "  {title}: {} (each shown at its first places)",
        thousands(total)
    );
    for (class, stats) in classes {
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
