//! The held-out preset measured on a 12 MB sample: its figures must match issue 16's log.

use std::collections::HashMap;

use serde_json::Value;

use super::{NoiseLines, Shape};

const SAMPLE_BYTES: usize = 12 << 20;
/// Longer than any request of the noise (watches last up to 10 minutes), so a request
/// received this long before the sample's last line has all its lines in the sample.
const LONGEST_REQUEST_MICROS: i64 = 11 * 60 * 1_000_000;

/// What issue 16 says of its held-out log, measured the same way on a sample.
#[derive(Debug)]
struct Measured {
    events_per_request: f64,
    two_stage_share: f64,
    body_event_share: f64,
    mean_body_bytes: f64,
    mean_line_bytes: f64,
}

fn micros(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().expect("timestamp"))
        .expect("RFC 3339")
        .timestamp_micros()
}

/// Stage counts are taken over the requests whose lines can all be in the sample
/// (received long enough before its end); line and body figures over every line.
fn measure(shape: Shape, seed: u64, rate: Option<u32>) -> Measured {
    let start = "2026-11-20T00:00:00Z".parse().unwrap();
    let mut lines = NoiseLines::new(seed, start, shape, rate, None);
    let (mut bytes, mut events, mut with_body, mut body_bytes) = (0usize, 0usize, 0usize, 0usize);
    // auditID → (requestReceivedTimestamp, lines seen)
    let mut requests: HashMap<String, (i64, usize)> = HashMap::new();
    let mut last_write = i64::MIN;
    let mut line = String::new();
    while bytes < SAMPLE_BYTES {
        line.clear();
        lines.next_line(&mut line);
        bytes += line.len() + 1;
        events += 1;
        let event: Value = serde_json::from_str(&line).expect("a JSON line");
        last_write = last_write.max(micros(&event["stageTimestamp"]));
        let body: usize = ["requestObject", "responseObject"]
            .iter()
            .filter_map(|k| event.get(*k))
            .map(|b| b.to_string().len())
            .sum();
        if body > 0 {
            with_body += 1;
            body_bytes += body;
        }
        let id = event["auditID"].as_str().expect("auditID").to_string();
        let received = micros(&event["requestReceivedTimestamp"]);
        requests.entry(id).or_insert((received, 0)).1 += 1;
    }
    let whole: Vec<usize> = requests
        .values()
        .filter(|&&(received, _)| received < last_write - LONGEST_REQUEST_MICROS)
        .map(|&(_, n)| n)
        .collect();
    assert!(whole.len() > 1_000, "only {} whole requests", whole.len());
    let two = whole.iter().filter(|&&n| n == 2).count();
    Measured {
        events_per_request: whole.iter().sum::<usize>() as f64 / whole.len() as f64,
        two_stage_share: two as f64 / whole.len() as f64,
        body_event_share: with_body as f64 / events as f64,
        mean_body_bytes: body_bytes as f64 / with_body.max(1) as f64,
        mean_line_bytes: bytes as f64 / events as f64,
    }
}

fn within(what: &str, value: f64, target: f64, tolerance: f64) {
    assert!(
        (value - target).abs() <= tolerance,
        "{what}: {value:.3}, target {target} ± {tolerance}"
    );
}

#[test]
fn the_held_out_preset_has_the_held_out_logs_shape() {
    let m = measure(Shape::HeldOut, 16, None);
    eprintln!("held-out preset on {SAMPLE_BYTES} bytes: {m:?}");
    within("events per request", m.events_per_request, 2.18, 0.06);
    within(
        "share of requests with two stages",
        m.two_stage_share,
        0.45,
        0.04,
    );
    within(
        "share of events with bodies",
        m.body_event_share,
        0.025,
        0.006,
    );
    within("mean body bytes", m.mean_body_bytes, 5_000.0, 800.0);
    within("mean line bytes", m.mean_line_bytes, 1_000.0, 150.0);
}

#[test]
fn the_default_shape_is_not_the_held_out_one() {
    // The measure tells the shapes apart: every default request has two or three lines.
    // (At the held-out shape's slower rate, so that the sample holds whole watches.)
    let m = measure(Shape::Default, 16, Some(7_200));
    assert!(m.two_stage_share > 0.7, "{m:?}");
    assert_eq!(m.body_event_share, 0.0, "{m:?}");
}
