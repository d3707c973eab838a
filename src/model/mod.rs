//! The normalized view of one audit event: what kaudit derives from the raw JSON.
//! Knows nothing of tantivy, terminals or files; `ingest::parse` fills it in and every
//! consumer (index, query output, reports) reads it.

pub mod normalize;

use chrono::{DateTime, NaiveDateTime, Utc};

/// Lifecycle stage of a request. The most complete stage seen for a request is the one
/// kept for display; its rank decides which wins.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Stage {
    RequestReceived,
    ResponseStarted,
    ResponseComplete,
    Panic,
}

impl Stage {
    pub fn parse(s: &str) -> Option<Stage> {
        Some(match s {
            "RequestReceived" => Stage::RequestReceived,
            "ResponseStarted" => Stage::ResponseStarted,
            "ResponseComplete" => Stage::ResponseComplete,
            "Panic" => Stage::Panic,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::RequestReceived => "RequestReceived",
            Stage::ResponseStarted => "ResponseStarted",
            Stage::ResponseComplete => "ResponseComplete",
            Stage::Panic => "Panic",
        }
    }

    /// Completeness: an event without a stage (partial third-party fixtures) is taken
    /// as final, because nothing more will come for it.
    pub fn rank(stage: Option<Stage>) -> u8 {
        match stage {
            Some(Stage::RequestReceived) => 1,
            Some(Stage::ResponseStarted) => 2,
            Some(Stage::ResponseComplete) | Some(Stage::Panic) | None => 3,
        }
    }

    pub fn is_final(stage: Option<Stage>) -> bool {
        Stage::rank(stage) == 3
    }
}

/// Who made a request, as an investigator names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor<'a> {
    ServiceAccount { namespace: &'a str, name: &'a str },
    Node(&'a str),
    Anonymous,
    User(&'a str),
}

impl<'a> Actor<'a> {
    pub fn from_username(username: &'a str) -> Actor<'a> {
        if let Some(rest) = username.strip_prefix("system:serviceaccount:") {
            // `system:serviceaccounts:…` (plural) is a group, never a user: no match here.
            if let Some((ns, name)) = rest.split_once(':')
                && !ns.is_empty()
                && !name.is_empty()
                && !name.contains(':')
            {
                return Actor::ServiceAccount {
                    namespace: ns,
                    name,
                };
            }
        }
        if let Some(node) = username.strip_prefix("system:node:")
            && !node.is_empty()
        {
            return Actor::Node(node);
        }
        if username == "system:anonymous" {
            return Actor::Anonymous;
        }
        Actor::User(username)
    }
}

/// One audit event, normalized. Borrowed strings point into the parsed JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request<'a> {
    pub audit_id: Option<&'a str>,
    pub stage: Option<Stage>,
    pub level: Option<&'a str>,
    pub verb: Option<&'a str>,
    pub request_uri: Option<&'a str>,
    pub user: Option<&'a str>,
    pub groups: Vec<&'a str>,
    /// `ns/name`, from a `system:serviceaccount:ns:name` username.
    pub service_account: Option<String>,
    /// `ns/name`, from user.extra `authentication.kubernetes.io/pod-name` (namespace of the SA).
    pub pod: Option<String>,
    pub pod_uid: Option<&'a str>,
    /// From user.extra node-name, else from a `system:node:<name>` username.
    pub node: Option<&'a str>,
    pub impersonated_user: Option<&'a str>,
    pub impersonated_groups: Vec<&'a str>,
    pub source_ips: Vec<&'a str>,
    pub user_agent: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub subresource: Option<&'a str>,
    pub api_group: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
    /// The name a list/watch selects with `fieldSelector=metadata.name=X`, which older
    /// apiservers do not copy into objectRef.name (see `object_name`).
    pub selected_name: Option<String>,
    pub code: Option<u64>,
    pub decision: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// requestReceivedTimestamp (or v1beta1 `timestamp`), microseconds since the epoch.
    /// Absent when the event has neither; see `time`.
    pub received: Option<i64>,
    /// stageTimestamp of this event, microseconds since the epoch.
    pub stage_time: Option<i64>,
    /// A timestamp field that is present but not a time kaudit can hold (month 13, year
    /// 99999): the field's name and text. The request is kept, timed by the other
    /// timestamp if there is one, and ingest reports it with its place.
    pub bad_timestamp: Option<(&'static str, &'a str)>,
    /// Why this event was salvaged (`invalid-json`, `too-long`, `too-deep`, ...): its
    /// line could not be parsed whole, so only its envelope was read and its unreadable
    /// values (usually a body) were replaced by `<unreadable: N bytes>` markers. None for
    /// an event read whole. Stored in the event JSON as [`SALVAGED_KEY`].
    pub salvaged: Option<&'a str>,
}

/// The top-level key kaudit adds to a salvaged event's stored JSON (see
/// `Request::salvaged`). Dotted so it cannot be mistaken for an apiserver field.
pub const SALVAGED_KEY: &str = "kaudit.salvaged";

/// Starts the marker that replaces a value a salvaged line could not read:
/// `<unreadable: N bytes>`.
pub const UNREADABLE_PREFIX: &str = "<unreadable: ";

impl<'a> Request<'a> {
    /// The request's time: when it was received, else the time of this stage.
    pub fn time(&self) -> Option<i64> {
        self.received.or(self.stage_time)
    }

    /// `resource` or `resource/subresource`.
    pub fn resource_path(&self) -> Option<String> {
        match (self.resource, self.subresource) {
            (Some(r), Some(s)) if !s.is_empty() => Some(format!("{r}/{s}")),
            (Some(r), _) => Some(r.to_string()),
            (None, _) => None,
        }
    }

    /// The object's name: objectRef.name, else the name a list/watch selects.
    pub fn object_name(&self) -> Option<&str> {
        self.name.or(self.selected_name.as_deref())
    }

    /// `namespace/name`, `namespace/` (all of a namespace), or `name` for cluster objects.
    pub fn object_path(&self) -> Option<String> {
        match (self.namespace, self.object_name()) {
            (Some(ns), Some(n)) if !ns.is_empty() => Some(format!("{ns}/{n}")),
            (Some(ns), None) if !ns.is_empty() => Some(format!("{ns}/")),
            (_, Some(n)) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The actor column: ServiceAccount (with pod), node, or user name; with the
    /// impersonated identity appended (`alice as system:admin`), since both matter to an
    /// investigator. Names are chosen by whoever runs the authenticator, so one that
    /// could be read as more than a name (`intern as system:admin`) is quoted
    /// (see [`label_name`]): only kaudit's own separators stand bare.
    pub fn actor_label(&self) -> String {
        let mut out = match (&self.service_account, &self.pod) {
            (Some(sa), Some(pod)) => {
                format!("sa:{} pod:{}", label_name(sa), label_name(short_pod(pod)))
            }
            (Some(sa), None) => format!("sa:{}", label_name(sa)),
            (None, _) => self.user.map_or("-".into(), |u| label_name(u).into_owned()),
        };
        if let Some(imp) = self.impersonated_user {
            out.push_str(" as ");
            out.push_str(&label_name(imp));
        }
        out
    }

    /// The address of the connection the apiserver saw: the last of `sourceIPs`.
    /// The entries before it come from the X-Forwarded-For and X-Real-Ip headers,
    /// which the client chooses (see [`source_ip_label`]).
    pub fn source_ip(&self) -> Option<&'a str> {
        self.source_ips.last().copied()
    }

    /// Exec/attach argv decoded from the request URI (`?command=sh&command=-c…`).
    pub fn exec_command(&self) -> Option<Vec<String>> {
        let sub = self.subresource?;
        if !matches!(sub, "exec" | "attach") {
            return None;
        }
        Some(query_values(self.request_uri?, "command"))
    }
}

/// An address as the index keeps it: IPv6, an IPv4 address in its mapped form
/// (`::ffff:a.b.c.d`), so one range query covers both.
pub fn ip_as_v6(ip: std::net::IpAddr) -> std::net::Ipv6Addr {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        std::net::IpAddr::V6(v6) => v6,
    }
}

/// The decoded values of a request URI's query parameter, in order, as the apiserver
/// reads them: Go's `req.URL.Query()` (see [`query_pairs`]). Keys are decoded too: the
/// apiserver reads `comman%64=x` as `command=x`, so kaudit must as well.
pub fn query_values(uri: &str, key: &str) -> Vec<String> {
    query_pairs(uri)
        .filter(|&(k, _)| key_is(k, key))
        .filter_map(|(_, v)| query_unescape(v))
        .collect()
}

/// Whether a raw parameter name decodes to `key`. Only a name to decode is copied:
/// every URI of a log is asked whether it is a dry run.
fn key_is(raw: &str, key: &str) -> bool {
    if raw.contains(['%', '+']) {
        query_unescape(raw).is_some_and(|k| k == key)
    } else {
        raw == key
    }
}

/// The most parameters Go's `url.ParseQuery` reads (`defaultMaxParams`, since Go
/// 1.24.12 and 1.25.6): past it, `req.URL.Query()` is empty. Older Go reads them all.
pub const GO_MAX_QUERY_PARAMS: usize = 10_000;

/// The query of a request URI as pairs, exactly as Go's `url.ParseQuery` reads it and
/// `URL.Query()` keeps it (ignoring the error): the query is what follows the first
/// `?`; pairs are split on `&` only; a pair holding a `;` is dropped (Go 1.17 and
/// later), and so is a pair whose key or value holds a `%` not followed by two hex
/// digits; `+` is a space; a pair without `=` has an empty value. Everything else is
/// kept, so a reader that was more lenient (or stricter) would see parameters the
/// apiserver did not, or miss ones it acted on. Go's parameter limit is not applied:
/// apiservers differ there, and [`is_dry_run`] takes the reading that hides nothing.
///
/// The pairs are raw (name, value): a pair counts only when both decode, which
/// [`query_values`] checks for the pairs it keeps.
fn query_pairs(uri: &str) -> impl Iterator<Item = (&str, &str)> + '_ {
    let query = uri.split_once('?').map_or("", |(_, query)| query);
    query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.contains(';'))
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Go's `url.QueryUnescape`: `%XX` decoded, `+` a space; `None` (Go's error) when a `%`
/// is not followed by two hex digits. Go strings are bytes; a decoded byte that is not
/// UTF-8 becomes U+FFFD, which no parameter name or value kaudit compares holds.
fn query_unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Whether the apiserver ran the request as a server-side dry run, which changes
/// nothing: it has a `dryRun` parameter as Go reads it ([`query_values`]) and every
/// value is `All`. The apiserver refuses any other value (`dryRun=`, `dryRun=all`):
/// that request failed and is no dry run, so it stays with the writes, listed with its
/// code like any refused one. A query past [`GO_MAX_QUERY_PARAMS`] is read as empty by
/// apiservers built with a recent Go, which then really wrote: not a dry run either.
pub fn is_dry_run(uri: &str) -> bool {
    let query = uri.split_once('?').map_or("", |(_, query)| query);
    if query.matches('&').count() + 1 > GO_MAX_QUERY_PARAMS {
        return false;
    }
    let values = query_values(uri, "dryRun");
    !values.is_empty() && values.iter().all(|v| v == "All")
}

/// `metadata.name` selected by a request URI's field selector. Only the first
/// `fieldSelector` parameter counts, as for the apiserver: a second one naming an
/// object must not make a read of a whole namespace look like a read of one secret.
pub fn field_selector_name(uri: &str) -> Option<String> {
    let selector = query_values(uri, "fieldSelector").into_iter().next()?;
    selector.split(',').find_map(|term| {
        let term = term.trim();
        term.strip_prefix("metadata.name==")
            .or_else(|| term.strip_prefix("metadata.name="))
            .filter(|name| !name.is_empty())
            .map(str::to_string)
    })
}

/// A name in the actor label: as it is, or quoted (`"intern as system:admin"`, with
/// `\` and `"` escaped by a backslash) when it holds whitespace or a quote, is empty,
/// or reads like a label kaudit makes (`-` for nobody, `sa:…` for a ServiceAccount).
pub fn label_name(name: &str) -> std::borrow::Cow<'_, str> {
    let ambiguous = name.is_empty()
        || name == "-"
        || name.starts_with("sa:")
        || name.chars().any(|c| c.is_whitespace() || c == '"');
    if !ambiguous {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push('"');
    for c in name.chars() {
        if matches!(c, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    std::borrow::Cow::Owned(quoted)
}

/// The SOURCE IP column: the address the apiserver saw (the last of `sourceIPs`),
/// followed by `(+N fwd)` when the client sent N addresses of its choosing in
/// X-Forwarded-For or X-Real-Ip, which the apiserver lists first. `sourceIPs` itself
/// is kept as logged.
pub fn source_ip_label<S: AsRef<str>>(source_ips: &[S]) -> Option<String> {
    let (seen, forwarded) = source_ips.split_last()?;
    Some(match forwarded.len() {
        0 => seen.as_ref().to_string(),
        n => format!("{} (+{n} fwd)", seen.as_ref()),
    })
}

/// The pod's name alone: its namespace is the ServiceAccount's.
fn short_pod(pod: &str) -> &str {
    pod.split_once('/').map_or(pod, |(_, name)| name)
}

/// Decodes `%XX` escapes and `+`, leniently: invalid escapes stay as written. Used for
/// path segments, where matching more is the safe side (redaction); query parameters
/// are read exactly as the apiserver reads them, by [`query_values`].
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses the timestamps found in audit logs: RFC 3339 with any number of fraction
/// digits (apiserver: 6, v1beta1: 0, AKS: 7, GKE: 9), and the zone-less
/// `2022-11-29 00:09:04.38` spellings of some exporters, read as UTC.
/// Times outside 1678–2261 (Go's zero time `0001-01-01T00:00:00Z`, say) are taken as
/// absent: the index keeps times as nanoseconds in an i64.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let micros = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&Utc).timestamp_micros()
    } else {
        ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(s, format).ok())?
            .and_utc()
            .timestamp_micros()
    };
    in_index_range(micros).then_some(micros)
}

/// Whether a time fits the index (nanoseconds since the epoch in an i64).
pub fn in_index_range(micros: i64) -> bool {
    micros.checked_mul(1000).is_some()
}

/// Formats microseconds since the epoch as RFC 3339 UTC with microseconds, as the apiserver does.
pub fn format_micros(micros: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(micros) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => micros.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors() {
        assert_eq!(
            Actor::from_username("system:serviceaccount:ci:deployer"),
            Actor::ServiceAccount {
                namespace: "ci",
                name: "deployer"
            }
        );
        assert_eq!(
            Actor::from_username("system:serviceaccounts:default:default"),
            Actor::User("system:serviceaccounts:default:default")
        );
        assert_eq!(
            Actor::from_username("system:node:worker-1"),
            Actor::Node("worker-1")
        );
        assert_eq!(Actor::from_username("system:anonymous"), Actor::Anonymous);
    }

    #[test]
    fn a_name_that_reads_like_impersonation_is_quoted() {
        let label = |user, imp| {
            Request {
                user: Some(user),
                impersonated_user: imp,
                ..Request::default()
            }
            .actor_label()
        };
        assert_eq!(
            label("alice", Some("system:admin")),
            "alice as system:admin"
        );
        assert_eq!(
            label("intern@example.com as system:admin", None),
            "\"intern@example.com as system:admin\""
        );
        assert_ne!(
            label("intern@example.com as system:admin", None),
            label("intern@example.com", Some("system:admin"))
        );
        assert_eq!(label("a", Some("b\u{a0}as c")), "a as \"b\u{a0}as c\"");
        assert_eq!(label("say \"hi\" \\o/", None), r#""say \"hi\" \\o/""#);
        assert_eq!(
            label("sa:kube-system/admin", None),
            "\"sa:kube-system/admin\""
        );
        assert_eq!(label("-", None), "\"-\"");
        assert_eq!(label("", None), "\"\"");
        let sa = Request {
            service_account: Some("ci/deployer as admin".into()),
            pod: Some("ci/p".into()),
            ..Request::default()
        };
        assert_eq!(sa.actor_label(), "sa:\"ci/deployer as admin\" pod:p");
    }

    #[test]
    fn the_source_ip_is_the_one_the_apiserver_saw() {
        let r = Request {
            source_ips: vec!["1.2.3.4", "5.6.7.8", "10.0.0.5"],
            ..Request::default()
        };
        assert_eq!(r.source_ip(), Some("10.0.0.5"));
        assert_eq!(
            source_ip_label(&r.source_ips).as_deref(),
            Some("10.0.0.5 (+2 fwd)")
        );
        assert_eq!(source_ip_label(&["10.0.0.5"]).as_deref(), Some("10.0.0.5"));
        assert_eq!(source_ip_label::<&str>(&[]), None);
    }

    #[test]
    fn timestamps() {
        let t = parse_timestamp("2020-05-05T16:16:37.655912Z").unwrap();
        assert_eq!(format_micros(t), "2020-05-05T16:16:37.655912Z");
        assert!(parse_timestamp("2020-05-05T16:16:37.0000000Z").is_some());
        assert!(parse_timestamp("2018-10-25T13:58:49Z").is_some());
        assert!(parse_timestamp("2022-11-29 00:09:04.38").is_some());
        assert!(parse_timestamp("2025-08-26 17:40:49.320496000").is_some());
        assert!(parse_timestamp("2020-13-45T99:00:00Z").is_none());
        assert!(parse_timestamp("0001-01-01T00:00:00Z").is_none());
        assert!(parse_timestamp("9999-12-31T23:59:59Z").is_none());
    }

    #[test]
    fn exec_command_is_decoded() {
        let r = Request {
            subresource: Some("exec"),
            request_uri: Some(
                "/api/v1/namespaces/a/pods/p/exec?command=sh&command=-c&command=cat%20%2Fetc%2Fpasswd&container=c",
            ),
            ..Request::default()
        };
        assert_eq!(
            r.exec_command().unwrap(),
            vec!["sh", "-c", "cat /etc/passwd"]
        );
        assert_eq!(percent_decode("100%"), "100%");
        let uri =
            "/api/v1/namespaces/a/secrets?fieldSelector=metadata.name%3Ddb-password&watch=true";
        assert_eq!(field_selector_name(uri).as_deref(), Some("db-password"));
        let uri = "/api/v1/secrets?fieldSelector=type%3Dopaque%2Cmetadata.name%3D%3Dx";
        assert_eq!(field_selector_name(uri).as_deref(), Some("x"));
        assert_eq!(field_selector_name("/api/v1/secrets?limit=500"), None);
        let second = "/api/v1/namespaces/a/secrets?fieldSelector=type%3DOpaque&fieldSelector=metadata.name%3Dx";
        assert_eq!(
            field_selector_name(second),
            None,
            "only the first selector counts"
        );
        let uri =
            "/api/v1/namespaces/a/pods/p/exec?command=sh&comman%64=-c&comman%64=id&container=c";
        assert_eq!(query_values(uri, "command"), ["sh", "-c", "id"]);
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    /// Go's `url.ParseQuery`, as `req.URL.Query()` in the apiserver reads a URI:
    /// the expected values are what Go 1.22 returns for each query.
    #[test]
    fn query_parameters_are_read_as_go_reads_them() {
        let values = |query: &str, key: &str| query_values(&format!("/api/v1/pods?{query}"), key);
        // Split on `&` only; a pair holding a `;` is dropped whole (Go >= 1.17).
        assert_eq!(values("dryRun=All;", "dryRun"), Vec::<String>::new());
        assert_eq!(values("a=1;dryRun=All", "dryRun"), Vec::<String>::new());
        assert_eq!(values("x=1&dryRun=All;&y=2", "y"), ["2"]);
        assert_eq!(values("dryRun=All&x=;", "dryRun"), ["All"]);
        // A bad `%` escape in the key or the value drops the pair, and only it.
        assert_eq!(values("dryRun=%zz", "dryRun"), Vec::<String>::new());
        assert_eq!(values("dryRun=All%", "dryRun"), Vec::<String>::new());
        assert_eq!(values("dryRun=All%4", "dryRun"), Vec::<String>::new());
        assert_eq!(values("dryRu%6=All", "dryRun"), Vec::<String>::new());
        assert_eq!(values("dryRun=%zz&dryRun=All", "dryRun"), ["All"]);
        assert_eq!(
            values("command=100%25&command=%41", "command"),
            ["100%", "A"]
        );
        // `+` is a space, in keys too; `%2B` is a plus.
        assert_eq!(
            values("command=a+b&command=a%2Bb", "command"),
            ["a b", "a+b"]
        );
        assert_eq!(values("dry+Run=All", "dry Run"), ["All"]);
        // No `=`: an empty value. Empty pairs are skipped. Only the first `?` splits.
        assert_eq!(values("dryRun&&dryRun=", "dryRun"), ["", ""]);
        assert_eq!(values("fieldSelector=a?b=c", "fieldSelector"), ["a?b=c"]);
        assert_eq!(
            query_values("/api/v1/namespaces/dryRun/pods", "dryRun"),
            Vec::<String>::new()
        );
        // Keys are matched exactly, as Go's map is.
        assert_eq!(
            values("dryrun=All&DryRun=All", "dryRun"),
            Vec::<String>::new()
        );
    }

    /// A dry run changes nothing, so it is left out of what was written. Only what the
    /// apiserver runs as one counts: any other `dryRun` is refused (an attempt, kept
    /// with its code), and what Go does not read as `dryRun` was a real write.
    #[test]
    fn a_dry_run_is_what_the_apiserver_runs_as_one() {
        let dry = |query: &str| is_dry_run(&format!("/api/v1/namespaces/prod/pods?{query}"));
        assert!(dry("dryRun=All"));
        assert!(dry("fieldManager=kubectl&dryRun=All"));
        assert!(dry("dryRun=All&dryRun=All"));
        assert!(dry("dry%52un=%41ll"));
        // Not what Go reads as `dryRun`: a real write.
        assert!(!dry("dryRun=All;"));
        assert!(!dry("dryRun=%zz"));
        assert!(!dry("dryRun=All;x"));
        assert!(!dry("fieldManager=dryRun"));
        assert!(!dry("dryrun=All"));
        // Values the apiserver refuses (400): a failed write, not a dry run.
        assert!(!dry("dryRun="));
        assert!(!dry("dryRun"));
        assert!(!dry("dryRun=all"));
        assert!(!dry("dryRun=All&dryRun=None"));
        assert!(!dry("dryRun=All+"));
        assert!(!is_dry_run("/api/v1/namespaces/dryrun/pods"));
        assert!(!is_dry_run("/api/v1/namespaces/prod/pods/dryRun"));
        // Past Go's 10,000 parameters, apiservers built with Go 1.24.12, 1.25.6 or later
        // read no parameter at all: the pod was created there.
        let padded = format!("dryRun=All{}", "&".repeat(GO_MAX_QUERY_PARAMS));
        assert!(!dry(&padded));
        let within = format!("dryRun=All{}", "&".repeat(GO_MAX_QUERY_PARAMS - 1));
        assert!(dry(&within));
    }
}
