//! Seeded, deterministic generator of realistic Kubernetes apiserver audit logs
//! (`audit.k8s.io/v1` Event JSON lines), for tests, benchmarks and `sample-logs/`.
//!
//! Everything here is hand-rolled on purpose: the PRNG, the JSON writer, the time
//! formatting. Output must be byte-identical across dependency upgrades and platforms,
//! so no `rand`, no float transcendentals, and no map-ordered JSON serializer.
//!
//! Lines are written exactly as a v1.31 apiserver writes them: keys in Go struct order,
//! Go's HTML-safe string escaping (`&` as `\u0026`), microsecond RFC 3339 timestamps,
//! and per-stage content (a `RequestReceived` line has no responseStatus, no
//! authorization annotations and no impersonatedUser, because the audit filter runs
//! before the impersonation and authorization filters).

mod bodies;
mod cluster;
mod noise;
mod shape;
mod story;
mod story_bodies;
mod story_immutability;

pub use bodies::add_bodies;
pub use noise::Noise;
pub use shape::{NoiseLines, Shape};
pub use story::{facts, story, write_story};

use std::sync::Arc;

/// SplitMix64: tiny, fast, good enough for synthetic data, and frozen forever here.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6b61_7564_6974_2121)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the tiny bias is irrelevant here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo).max(1) as u64) as i64
    }

    pub(crate) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    pub(crate) fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    /// Roughly exponential with the given mean, in integers only (a float `ln` could
    /// differ in the last bit between libms and shift every later timestamp): a
    /// geometric whole part plus a uniform fraction, scaled by ln 2.
    pub(crate) fn exp(&mut self, mean: i64) -> i64 {
        let r = self.next_u64();
        let whole = u64::from((r >> 10).trailing_zeros().min(40));
        let frac = r & 1023;
        ((mean as u64 * ((whole << 10) + frac) * 710) >> 20) as i64
    }

    /// A random (version 4) UUID.
    pub(crate) fn uuid(&mut self) -> Uuid {
        let hi = (self.next_u64() & !0xf000) | 0x4000;
        let lo = (self.next_u64() & !(0xc << 60)) | (0x8 << 60);
        Uuid::from_u128((u128::from(hi) << 64) | u128::from(lo))
    }
}

/// A UUID kept as its 36 ASCII bytes, so rendering is a copy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Uuid([u8; 36]);

impl Uuid {
    pub(crate) fn from_u128(v: u128) -> Uuid {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut nibble = 0;
        for (i, b) in out.iter_mut().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                continue;
            }
            *b = HEX[((v >> (124 - 4 * nibble)) & 0xf) as usize];
            nibble += 1;
        }
        Uuid(out)
    }

    /// For the story's fixed, memorable IDs.
    pub(crate) fn parse(s: &str) -> Uuid {
        let bytes: [u8; 36] = s.as_bytes().try_into().expect("UUID must be 36 bytes");
        Uuid(bytes)
    }

    /// A stable UUID for a named cluster object (`"nodes/worker-1"`), so the same object
    /// has the same uid in every line, every seed and the story's facts.
    pub(crate) fn for_object(key: &str) -> Uuid {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in key.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Rng::new(h).uuid()
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("UUID is ASCII")
    }
}

/// Appends `s` as the inside of a JSON string, escaped the way Go's encoding/json does
/// (HTML-safe: `<`, `>`, `&` become `\u003c`, `\u003e`, `\u0026`; so do U+2028/2029).
pub(crate) fn push_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let escape: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            b'<' => Some("\\u003c"),
            b'>' => Some("\\u003e"),
            b'&' => Some("\\u0026"),
            0xe2 if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)) =>
            {
                Some(if bytes[i + 2] == 0xa8 {
                    "\\u2028"
                } else {
                    "\\u2029"
                })
            }
            _ if b < 0x20 => Some(""),
            _ => None,
        };
        if let Some(esc) = escape {
            out.push_str(&s[start..i]);
            if esc.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            } else {
                out.push_str(esc);
            }
            i += if b == 0xe2 { 3 } else { 1 };
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[start..]);
}

/// Appends `"s"` (quoted and escaped).
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

pub(crate) const MICROS_PER_SEC: i64 = 1_000_000;

/// Appends microseconds since the epoch as `2026-11-20T08:00:00.123456Z`
/// (Go's RFC3339Micro: always six fraction digits), without chrono on the hot path.
pub(crate) fn push_timestamp(out: &mut String, micros: i64) {
    let secs = micros.div_euclid(MICROS_PER_SEC);
    let frac = micros.rem_euclid(MICROS_PER_SEC);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);

    let mut buf = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: i64| {
        for k in (at..at + width).rev() {
            buf[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, sod / 3600);
    put(14, 2, sod / 60 % 60);
    put(17, 2, sod % 60);
    put(20, 6, frac);
    out.push_str(std::str::from_utf8(&buf).expect("timestamp is ASCII"));
}

/// A duration as Go's `time.Duration.String()` writes it (`612µs`, `12.5ms`,
/// `41.310992s`, `6m12.11856s`): latency annotations hold these, non-ASCII `µ` included.
pub(crate) fn go_duration(micros: i64) -> String {
    fn decimal(whole: i64, frac: i64, digits: usize) -> String {
        let frac = format!("{frac:0digits$}");
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{frac}")
        }
    }
    match micros {
        0..1_000 => format!("{micros}µs"),
        1_000..1_000_000 => format!("{}ms", decimal(micros / 1_000, micros % 1_000, 3)),
        _ => {
            let secs = micros / MICROS_PER_SEC;
            let s = decimal(secs % 60, micros % MICROS_PER_SEC, 6);
            match secs {
                0..60 => format!("{s}s"),
                60..3_600 => format!("{}m{s}s", secs / 60),
                _ => format!("{}h{}m{s}s", secs / 3_600, secs / 60 % 60),
            }
        }
    }
}

/// Standard base64 with padding, as Kubernetes stores Secret `data`.
pub(crate) fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Level {
    Metadata,
    Request,
    RequestResponse,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Metadata => "Metadata",
            Level::Request => "Request",
            Level::RequestResponse => "RequestResponse",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Stage {
    RequestReceived,
    ResponseStarted,
    ResponseComplete,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::RequestReceived => "RequestReceived",
            Stage::ResponseStarted => "ResponseStarted",
            Stage::ResponseComplete => "ResponseComplete",
        }
    }
}

/// Who a user is, as authentication reports it.
pub(crate) struct Identity<'a> {
    pub username: &'a str,
    pub uid: &'a str,
    pub groups: &'a [&'a str],
    /// `user.extra`; rendered sorted by key, as Go sorts map keys.
    pub extra: &'a [(&'a str, &'a str)],
}

/// A client of the apiserver with its JSON fragments rendered once:
/// `"user":{..}`, optional `"impersonatedUser":{..}`, `"sourceIPs":[..],"userAgent":".."`.
pub(crate) struct Actor {
    user: String,
    impersonated: String,
    tail: String,
    /// The `authorization.k8s.io/reason` of this actor's usual allowed requests.
    pub reason: Arc<str>,
}

impl Actor {
    pub(crate) fn new(
        who: &Identity<'_>,
        as_user: Option<&Identity<'_>>,
        source_ips: &[&str],
        user_agent: &str,
        reason: &str,
    ) -> Arc<Actor> {
        let mut user = String::from("\"user\":");
        push_identity(&mut user, who);
        let mut impersonated = String::new();
        if let Some(as_user) = as_user {
            impersonated.push_str("\"impersonatedUser\":");
            push_identity(&mut impersonated, as_user);
        }
        let mut tail = String::from("\"sourceIPs\":[");
        for (i, ip) in source_ips.iter().enumerate() {
            if i > 0 {
                tail.push(',');
            }
            push_json_str(&mut tail, ip);
        }
        tail.push_str("],\"userAgent\":");
        push_json_str(&mut tail, user_agent);
        Arc::new(Actor {
            user,
            impersonated,
            tail,
            reason: Arc::from(reason),
        })
    }
}

fn push_identity(out: &mut String, id: &Identity<'_>) {
    out.push_str("{\"username\":");
    push_json_str(out, id.username);
    if !id.uid.is_empty() {
        out.push_str(",\"uid\":");
        push_json_str(out, id.uid);
    }
    out.push_str(",\"groups\":[");
    for (i, g) in id.groups.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, g);
    }
    out.push(']');
    if !id.extra.is_empty() {
        let mut extra = id.extra.to_vec();
        extra.sort_by_key(|&(k, _)| k);
        out.push_str(",\"extra\":{");
        for (i, (k, v)) in extra.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_str(out, k);
            out.push_str(":[");
            push_json_str(out, v);
            out.push(']');
        }
        out.push('}');
    }
    out.push('}');
}

/// `objectRef`. `late_name`, `uid` and `resource_version` are only known once the
/// handler has decoded the request body (e.g. the name of a created object), so they
/// appear from ResponseStarted on, never at RequestReceived.
#[derive(Clone, Default, Debug)]
pub(crate) struct ObjRef {
    pub resource: &'static str,
    pub namespace: &'static str,
    pub name: &'static str,
    pub api_group: &'static str,
    pub api_version: &'static str,
    pub subresource: &'static str,
    pub late_name: &'static str,
    pub uid: Option<Uuid>,
    pub resource_version: u64,
}

/// The body of a failed request's `responseStatus` (a `metav1.Status`).
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub reason: &'static str,
    pub message: String,
    pub details_name: &'static str,
    pub details_group: &'static str,
    pub details_kind: &'static str,
}

/// Added by the TokenRequest handler (not the authenticator) to a token's create.
pub(crate) const ISSUED_CREDENTIAL_ID: &str = "authentication.kubernetes.io/issued-credential-id";

/// One API request, from which each of its stage lines is rendered.
pub(crate) struct Req {
    pub id: Uuid,
    pub level: Level,
    pub verb: &'static str,
    /// The raw request URI (escaped when written).
    pub uri: String,
    pub actor: Arc<Actor>,
    pub obj: Option<ObjRef>,
    pub code: u16,
    pub failure: Option<Box<Failure>>,
    /// Raw JSON, only at Request level and above.
    pub request_object: Option<String>,
    pub response_object: Option<String>,
    /// Sorted by key (Go writes map keys sorted). Keys under `authentication.` are
    /// added by the authenticator and so already present at RequestReceived, except
    /// [`ISSUED_CREDENTIAL_ID`], which the TokenRequest handler adds.
    pub annotations: Vec<(&'static str, Arc<str>)>,
    pub t_received: i64,
    /// stageTimestamp of the RequestReceived line, a few µs after t_received.
    pub t_rr_stage: i64,
    pub t_started: Option<i64>,
    pub t_done: i64,
}

impl Req {
    pub(crate) fn new(id: Uuid, actor: Arc<Actor>, verb: &'static str) -> Req {
        Req {
            id,
            level: Level::Metadata,
            verb,
            uri: String::new(),
            actor,
            obj: None,
            code: 200,
            failure: None,
            request_object: None,
            response_object: None,
            annotations: Vec::new(),
            t_received: 0,
            t_rr_stage: 0,
            t_started: None,
            t_done: 0,
        }
    }

    /// Adds an annotation keeping keys sorted.
    pub(crate) fn annotate(&mut self, key: &'static str, value: Arc<str>) {
        let at = self.annotations.partition_point(|&(k, _)| k < key);
        self.annotations.insert(at, (key, value));
    }

    /// The stages this request is written as, with their stageTimestamps.
    pub(crate) fn stages(&self) -> impl Iterator<Item = (Stage, i64)> + use<> {
        let started = self.t_started.map(|t| (Stage::ResponseStarted, t));
        [(Stage::RequestReceived, self.t_rr_stage)]
            .into_iter()
            .chain(started)
            .chain([(Stage::ResponseComplete, self.t_done)])
    }

    /// Appends the line for `stage` (without newline).
    pub(crate) fn render(&self, stage: Stage, out: &mut String) {
        let received = stage == Stage::RequestReceived;
        out.push_str("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"");
        out.push_str(self.level.as_str());
        out.push_str("\",\"auditID\":\"");
        out.push_str(self.id.as_str());
        out.push_str("\",\"stage\":\"");
        out.push_str(stage.as_str());
        out.push_str("\",\"requestURI\":");
        push_json_str(out, &self.uri);
        out.push_str(",\"verb\":\"");
        out.push_str(self.verb);
        out.push_str("\",");
        out.push_str(&self.actor.user);
        if !received && !self.actor.impersonated.is_empty() {
            out.push(',');
            out.push_str(&self.actor.impersonated);
        }
        out.push(',');
        out.push_str(&self.actor.tail);
        if let Some(o) = &self.obj {
            push_object_ref(out, o, received);
        }
        if !received {
            self.push_status(out);
        }
        if stage == Stage::ResponseComplete {
            if let Some(body) = &self.request_object {
                out.push_str(",\"requestObject\":");
                out.push_str(body);
            }
            if let Some(body) = &self.response_object {
                out.push_str(",\"responseObject\":");
                out.push_str(body);
            }
        }
        out.push_str(",\"requestReceivedTimestamp\":\"");
        push_timestamp(out, self.t_received);
        out.push_str("\",\"stageTimestamp\":\"");
        let t = match stage {
            Stage::RequestReceived => self.t_rr_stage,
            Stage::ResponseStarted => self.t_started.unwrap_or(self.t_done),
            Stage::ResponseComplete => self.t_done,
        };
        push_timestamp(out, t);
        out.push('"');
        let mut first = true;
        for (k, v) in &self.annotations {
            // Authentication annotations exist from the start (except the token handler's
            // issued-credential-id); latency ones only once the request is over; the rest
            // (authorization, admission, handlers) after RequestReceived.
            let shown = match stage {
                Stage::RequestReceived => {
                    k.starts_with("authentication.") && *k != ISSUED_CREDENTIAL_ID
                }
                Stage::ResponseStarted => !k.starts_with("apiserver.latency.k8s.io/"),
                Stage::ResponseComplete => true,
            };
            if !shown {
                continue;
            }
            out.push_str(if first { ",\"annotations\":{" } else { "," });
            first = false;
            push_json_str(out, k);
            out.push(':');
            push_json_str(out, v);
        }
        if !first {
            out.push('}');
        }
        out.push('}');
    }

    fn push_status(&self, out: &mut String) {
        out.push_str(",\"responseStatus\":{\"metadata\":{}");
        if let Some(f) = &self.failure {
            out.push_str(",\"status\":\"Failure\",\"message\":");
            push_json_str(out, &f.message);
            out.push_str(",\"reason\":");
            push_json_str(out, f.reason);
            out.push_str(",\"details\":{");
            let mut sep = "";
            for (key, value) in [
                ("name", f.details_name),
                ("group", f.details_group),
                ("kind", f.details_kind),
            ] {
                if !value.is_empty() {
                    out.push_str(sep);
                    sep = ",";
                    out.push('"');
                    out.push_str(key);
                    out.push_str("\":");
                    push_json_str(out, value);
                }
            }
            out.push('}');
        }
        out.push_str(",\"code\":");
        push_u64(out, u64::from(self.code));
        out.push('}');
    }
}

/// Appends a decimal integer without allocating.
pub(crate) fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[at..]).expect("digits are ASCII"));
}

fn push_object_ref(out: &mut String, o: &ObjRef, received: bool) {
    out.push_str(",\"objectRef\":{\"resource\":");
    push_json_str(out, o.resource);
    let name = if o.name.is_empty() && !received {
        o.late_name
    } else {
        o.name
    };
    for (key, value) in [("namespace", o.namespace), ("name", name)] {
        if !value.is_empty() {
            out.push_str(",\"");
            out.push_str(key);
            out.push_str("\":");
            push_json_str(out, value);
        }
    }
    if let (Some(uid), false) = (o.uid, received) {
        out.push_str(",\"uid\":\"");
        out.push_str(uid.as_str());
        out.push('"');
    }
    if !o.api_group.is_empty() {
        out.push_str(",\"apiGroup\":");
        push_json_str(out, o.api_group);
    }
    out.push_str(",\"apiVersion\":");
    push_json_str(out, o.api_version);
    if o.resource_version != 0 && !received {
        out.push_str(",\"resourceVersion\":\"");
        push_u64(out, o.resource_version);
        out.push('"');
    }
    if !o.subresource.is_empty() {
        out.push_str(",\"subresource\":");
        push_json_str(out, o.subresource);
    }
    out.push('}');
}

#[cfg(test)]
mod tests;
