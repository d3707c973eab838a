//! Writes synthetic audit logs.
//!
//! ```text
//! cargo run --release --example synth -- story DIR
//! cargo run --release --example synth -- noise --seed N --bytes 1G [--shape default|heldout] [--out FILE] [--start RFC3339] [--rate REQS_PER_HOUR] [--bodies PERCENT]
//! ```
//!
//! `--bodies 28` gives 28% of the writes (leases aside) bodies, as a Policy that logs
//! writes at Request/RequestResponse level does: about 2.5% of the events, ~3 KB each.
//! `--shape heldout` imitates issue 16's held-out log (2.18 events per request, 45% of
//! requests with two stages, 2.5% of events with ~5 KB of bodies, ~1 KB lines).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kaudit::synth::{NoiseLines, Shape, write_story};

#[derive(Parser)]
#[command(name = "synth", about = "Writes synthetic audit logs")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The sample-logs story (three rotated files) into DIR.
    Story { dir: PathBuf },
    /// Seeded background chatter of a small cluster, at least SIZE bytes of whole lines.
    Noise {
        #[arg(long)]
        seed: u64,
        /// At least this much: a byte count or 64K, 512M, 1G (binary multiples).
        #[arg(long, value_parser = parse_size)]
        bytes: u64,
        /// The file to write [default: standard output].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Time of the first request, RFC 3339.
        #[arg(long, default_value = "2026-11-20T00:00:00Z", value_parser = parse_start)]
        start: chrono::DateTime<chrono::Utc>,
        /// Requests per hour [default: the shape's].
        #[arg(long)]
        rate: Option<u32>,
        /// Percentage of the writes (leases aside) that carry bodies [default: the
        /// shape's: 0, heldout 31].
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=100))]
        bodies: Option<u32>,
        /// What the log looks like.
        #[arg(long, value_enum, default_value_t = ShapeArg::Default)]
        shape: ShapeArg,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ShapeArg {
    /// The small cluster's chatter: two stages a request, three for watches.
    Default,
    /// Like issue 16's held-out log: one, two or three stages, ~5 KB bodies on 2.5% of events.
    Heldout,
}

fn main() -> ExitCode {
    let result = match Args::parse().command {
        Command::Story { dir } => write_story(&dir).map_err(|e| format!("{}: {e}", dir.display())),
        Command::Noise {
            seed,
            bytes,
            out,
            start,
            rate,
            bodies,
            shape,
        } => {
            let shape = match shape {
                ShapeArg::Default => Shape::Default,
                ShapeArg::Heldout => Shape::HeldOut,
            };
            let lines = NoiseLines::new(seed, start, shape, rate, bodies);
            noise(lines, bytes, out)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synth: {e}");
            ExitCode::from(2)
        }
    }
}

fn noise(mut noise: NoiseLines, limit: u64, out: Option<PathBuf>) -> Result<(), String> {
    let mut sink: Box<dyn Write> = match &out {
        Some(path) => {
            Box::new(std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    // Whole lines, in chunks of about 1 MiB, until at least `limit` bytes are out.
    let mut chunk = String::with_capacity(1 << 21);
    let mut written = 0u64;
    while written < limit {
        chunk.clear();
        while chunk.len() < 1 << 20 && written + (chunk.len() as u64) < limit {
            noise.next_line(&mut chunk);
            chunk.push('\n');
        }
        sink.write_all(chunk.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        written += chunk.len() as u64;
    }
    sink.flush().map_err(|e| format!("write: {e}"))
}

fn parse_start(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| e.to_string())
}

/// `1G`, `512M`, `64K`, or a plain byte count (binary multiples).
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_uppercase()),
        _ => (s, 'B'),
    };
    let n: u64 = digits.parse().map_err(|e| format!("{s:?}: {e}"))?;
    let mult = match unit {
        'B' => 1,
        'K' => 1 << 10,
        'M' => 1 << 20,
        'G' => 1 << 30,
        _ => return Err(format!("{s:?}: unknown suffix")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?}: too large"))
}
