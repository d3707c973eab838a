//! Writes synthetic audit logs.
//!
//! ```text
//! cargo run --release --example synth -- story DIR
//! cargo run --release --example synth -- noise --seed N --bytes 1G [--out FILE] [--start RFC3339] [--rate REQS_PER_HOUR] [--bodies PERCENT]
//! ```
//!
//! `--bodies 28` gives 28% of the writes (leases aside) bodies, as a Policy that logs
//! writes at Request/RequestResponse level does: about 2.5% of the events, ~4 KB each.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kaudit::synth::{Noise, add_bodies, write_story};

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
        /// Requests per hour [default: the generator's].
        #[arg(long)]
        rate: Option<u32>,
        /// Percentage of the writes (leases aside) that carry bodies.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
        bodies: u32,
    },
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
        } => noise(seed, bytes, out, start, rate, bodies),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synth: {e}");
            ExitCode::from(2)
        }
    }
}

fn noise(
    seed: u64,
    limit: u64,
    out: Option<PathBuf>,
    start: chrono::DateTime<chrono::Utc>,
    rate: Option<u32>,
    bodies: u32,
) -> Result<(), String> {
    let mut noise = match rate {
        Some(rate) => Noise::with_rate(seed, start, rate),
        None => Noise::new(seed, start),
    };
    let mut sink: Box<dyn Write> = match &out {
        Some(path) => {
            Box::new(std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    // Whole lines, in chunks of about 1 MiB, until at least `limit` bytes are out.
    let mut chunk = String::with_capacity(1 << 21);
    let mut written = 0u64;
    let mut line = String::new();
    while written < limit {
        chunk.clear();
        while chunk.len() < 1 << 20 && written + (chunk.len() as u64) < limit {
            line.clear();
            noise.next_line(&mut line);
            match (bodies > 0).then(|| add_bodies(&line, bodies)).flatten() {
                Some(with_bodies) => chunk.push_str(&with_bodies),
                None => chunk.push_str(&line),
            }
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
