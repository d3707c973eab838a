//! Shapes of `synth noise`: the default chatter, and a preset shaped like the held-out
//! log of issue 16 (a real 1 GB log: 962k lines, 441k requests, about 2.18 events per
//! request, 45% of requests with exactly two stages, 2.5% of events with bodies of
//! about 5 KB, lines of about 1 KB), so benchmarks can measure on both.

use super::Noise;
use super::bodies::add_bodies_styled;
use super::noise::Source;

/// Which kind of log `synth noise` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The small cluster's chatter: every request has its RequestReceived and
    /// ResponseComplete lines, watches a ResponseStarted too (81% two stages, 19% three).
    Default,
    /// Like the held-out log: 36.5% of requests are watches (three stages), 29% of the
    /// others lost their RequestReceived line (one stage: 18.5% of requests), the rest
    /// have two (45%): 0.185 + 2 × 0.45 + 3 × 0.365 = 2.18 events per request. Writes
    /// carry bodies as with `--bodies 31`, objects as field managers and `kubectl apply`
    /// leave them (~5 KB).
    HeldOut,
}

/// The held-out mix: the default's sources with the control plane's informers
/// (controller-manager, scheduler) weighted up until watches are 36.5% of the requests,
/// and the operator (whose ServiceAccount makes long lines) down, for ~1 KB lines.
const HELD_OUT_MIX: [(Source, u64); 9] = [
    (Source::Operator, 20),
    (Source::ControllerManagerLease, 7),
    (Source::SchedulerLease, 5),
    (Source::Kubelet, 20),
    (Source::Controllers, 24),
    (Source::SchedulerInformers, 26),
    (Source::CoreDns, 5),
    (Source::Probe, 6),
    (Source::Kubectl, 4),
];

/// Of the requests other than watches, the share written without RequestReceived.
const HELD_OUT_OMIT_RECEIVED_PERCENT: u64 = 29;

/// Requests per hour of the held-out shape: slow enough that a few MB already hold
/// whole watches (5 to 10 minutes each), so a small sample has the shape of a big one.
const HELD_OUT_REQUESTS_PER_HOUR: u32 = 7_200;

impl Shape {
    /// The share of writes given bodies when `--bodies` is not given.
    pub fn default_bodies_percent(self) -> u32 {
        match self {
            Shape::Default => 0,
            Shape::HeldOut => 31,
        }
    }
}

/// The lines `synth noise` writes: a [`Noise`] of a shape, with bodies.
pub struct NoiseLines {
    noise: Noise,
    bodies_percent: u32,
    applied_bodies: bool,
}

impl NoiseLines {
    /// `rate` (requests per hour) and `bodies_percent` default to the shape's.
    pub fn new(
        seed: u64,
        start: chrono::DateTime<chrono::Utc>,
        shape: Shape,
        rate: Option<u32>,
        bodies_percent: Option<u32>,
    ) -> NoiseLines {
        let noise = match (shape, rate) {
            (Shape::Default, None) => Noise::new(seed, start),
            (Shape::Default, Some(rate)) => Noise::with_rate(seed, start, rate),
            (Shape::HeldOut, rate) => {
                let rate = rate.unwrap_or(HELD_OUT_REQUESTS_PER_HOUR);
                let mut noise = Noise::with_rate(seed, start, rate);
                noise.reshape(&HELD_OUT_MIX, HELD_OUT_OMIT_RECEIVED_PERCENT);
                noise
            }
        };
        NoiseLines {
            noise,
            bodies_percent: bodies_percent.unwrap_or(shape.default_bodies_percent()),
            applied_bodies: shape == Shape::HeldOut,
        }
    }

    /// Appends the next line (without its newline) to `out`; never ends.
    pub fn next_line(&mut self, out: &mut String) {
        let at = out.len();
        self.noise.next_line(out);
        if self.bodies_percent == 0 {
            return;
        }
        if let Some(with_bodies) =
            add_bodies_styled(&out[at..], self.bodies_percent, self.applied_bodies)
        {
            out.truncate(at);
            out.push_str(&with_bodies);
        }
    }
}

#[cfg(test)]
mod tests;
