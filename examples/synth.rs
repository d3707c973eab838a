//! Writes synthetic audit logs.
//!
//! ```text
//! cargo run --release --example synth -- story DIR
//! cargo run --release --example synth -- noise --seed N --bytes 1G [--out FILE] [--start RFC3339] [--rate REQS_PER_HOUR] [--bodies PERCENT]
//! ```
//!
//! `--bodies 35` gives 35% of the writes (leases aside) bodies, as a Policy that logs
//! writes at Request/RequestResponse level does: about 2.5% of the events, ~5 KB each.
//!
//! ```text
//! ```

use std::io::Write;
use std::process::ExitCode;

use kaudit::synth::{Noise, add_bodies, write_story};

const USAGE: &str = "usage: synth story DIR\n       synth noise --seed N --bytes SIZE[K|M|G] [--out FILE] [--start RFC3339] [--rate REQUESTS_PER_HOUR] [--bodies PERCENT]";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synth: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("story") => {
            let [_, dir] = args.as_slice() else {
                return Err("story takes one directory".into());
            };
            write_story(std::path::Path::new(dir)).map_err(|e| format!("{dir}: {e}"))
        }
        Some("noise") => noise(&args[1..]),
        _ => Err("expected a command: story or noise".into()),
    }
}

fn noise(args: &[String]) -> Result<(), String> {
    let mut seed = None;
    let mut bytes = None;
    let mut out = None;
    let mut start = chrono::DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
        .unwrap()
        .to_utc();
    let mut rate = None;
    let mut bodies = 0u32;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--seed" => {
                seed = Some(
                    value()?
                        .parse::<u64>()
                        .map_err(|e| format!("--seed: {e}"))?,
                )
            }
            "--bytes" => bytes = Some(parse_size(value()?)?),
            "--out" => out = Some(value()?.clone()),
            "--start" => {
                start = chrono::DateTime::parse_from_rfc3339(value()?)
                    .map_err(|e| format!("--start: {e}"))?
                    .to_utc();
            }
            "--rate" => {
                rate = Some(
                    value()?
                        .parse::<u32>()
                        .map_err(|e| format!("--rate: {e}"))?,
                )
            }
            "--bodies" => {
                bodies = value()?
                    .parse::<u32>()
                    .ok()
                    .filter(|p| *p <= 100)
                    .ok_or("--bodies takes a percentage, 0 to 100")?
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let seed = seed.ok_or("--seed is required")?;
    let limit = bytes.ok_or("--bytes is required")?;
    let mut noise = match rate {
        Some(rate) => Noise::with_rate(seed, start, rate),
        None => Noise::new(seed, start),
    };
    let mut sink: Box<dyn Write> = match &out {
        Some(path) => Box::new(std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?),
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

/// `1G`, `512M`, `64K`, or a plain byte count (binary multiples).
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_uppercase()),
        _ => (s, 'B'),
    };
    let n: u64 = digits.parse().map_err(|e| format!("--bytes {s:?}: {e}"))?;
    let mult = match unit {
        'B' => 1,
        'K' => 1 << 10,
        'M' => 1 << 20,
        'G' => 1 << 30,
        _ => return Err(format!("--bytes {s:?}: unknown suffix")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("--bytes {s:?}: too large"))
}
