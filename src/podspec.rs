//! Container-immutability and privilege checks on pod specs: indexed as the `risk`
//! field at ingest, and listed by `report immutability`.
//!
//! Audit events carry pod and pod-template bodies that an attacker may have shaped, and
//! that the API server may have rejected, so every lookup here is type-checked: a value of
//! the wrong JSON type counts as absent (only JSON `true` is true), and nothing panics.
//!
//! A body is read the way the apiserver reads it, not the way a JSON library would, so
//! that no spelling of a setting the apiserver honours goes unseen:
//! - with simd-json's tape: the parser and depth limit of ingest (any event that was
//!   indexed is checked), and every copy of a repeated key, in order, whatever the size
//!   of the object (simd-json's hashed objects keep only the last);
//! - keys match struct fields as Go decodes them: apiservers before sigs.k8s.io/json
//!   matched case-insensitively (`Privileged`, `SPEC`, and the Unicode folds `ſ` = s
//!   and `K` (Kelvin) = k), later ones exactly, so a body is checked both ways;
//! - a repeated key is decoded into the same field again: a scalar keeps its last copy,
//!   an object or a list is merged field by field and element by element, so a later
//!   `"securityContext": {}` does not undo an earlier `"privileged": true`;
//! - a JSON patch is applied as evanphx/json-patch applies it (see [`patch_writes`]).

pub mod posture;

use Severity::{High, Low, Medium};
use simd_json::prelude::{ValueAsScalar, ValueIntoString};
use simd_json::tape;

use crate::model::{Request, UNREADABLE_PREFIX};

/// A JSON value on simd-json's tape; the tape and the text it borrows live as long.
type Json<'t> = tape::Value<'t, 't>;

/// Findings are ranked so the report can sort and filter by a `--min-severity` threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    /// Stable lower-case spelling, shared by the JSON output and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Low => "low",
            Medium => "medium",
            High => "high",
        }
    }

    /// Every severity, lowest first.
    pub const ALL: [Severity; 3] = [Low, Medium, High];

    /// Inverse of [`Severity::as_str`]; case-insensitive because it parses user input.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The number the index stores in `severity` (low 1, medium 2, high 3), so that
    /// `severity:>=medium` is a range over it.
    pub fn rank(self) -> u64 {
        match self {
            Low => 1,
            Medium => 2,
            High => 3,
        }
    }

    /// Inverse of [`Severity::rank`].
    pub fn from_rank(rank: u64) -> Option<Severity> {
        Severity::ALL.into_iter().find(|sev| sev.rank() == rank)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Container name; None for pod-level findings (host namespaces, hostPath volumes).
    /// Kept raw from the JSON (or `"<list>#<index>"` when missing) so the caller decides
    /// how to sanitize it for display.
    pub container: Option<String>,
    /// Check name, one of [`KINDS`]; also the `risk:` term of the write.
    pub kind: &'static str,
    pub severity: Severity,
    /// Human-readable specifics, so a reviewer need not reopen the event to see what was set.
    pub detail: String,
    /// For `capabilities`: each added capability as `normalize_cap` spells it, once,
    /// in the order written (the `cap:` terms of the write); empty for other kinds.
    pub caps: Vec<String>,
}

/// Every finding kind, the `risk:` values. A kind ending in `:default` is a setting the
/// body leaves out of a whole object (a create or update), so the API's insecure
/// default applies; the kind without the suffix is the same risk written in the body
/// (`runAsUser: 0`, `allowPrivilegeEscalation: true`, `readOnlyRootFilesystem: false`,
/// or implied by another setting). Patches never get a `:default` kind: what they leave
/// out is unchanged, not defaulted. `risk:runAsRoot*` finds both.
pub const KINDS: [&str; 13] = [
    "privileged",
    "capabilities",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostPath",
    "allowPrivilegeEscalation",
    "allowPrivilegeEscalation:default",
    "runAsRoot",
    "runAsRoot:default",
    "readOnlyRootFilesystem",
    "readOnlyRootFilesystem:default",
    "unchecked",
];

/// What the index keeps of a write's findings: its `risk`, `cap` and `severity`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Risk {
    /// Each finding kind once, sorted.
    pub kinds: Vec<&'static str>,
    /// Each added capability once (normalized), sorted.
    pub caps: Vec<String>,
    /// The worst finding's severity; None without findings.
    pub worst: Option<Severity>,
}

impl Risk {
    pub fn of(findings: &[Finding]) -> Risk {
        let mut kinds: Vec<&'static str> = findings.iter().map(|f| f.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let mut caps: Vec<String> = findings.iter().flat_map(|f| f.caps.clone()).collect();
        caps.sort_unstable();
        caps.dedup();
        let worst = findings.iter().map(|f| f.severity).max();
        Risk { kinds, caps, worst }
    }
}

/// What part of a body could be inspected: it decides whether an absent field means
/// "the API default applies" or merely "not changed by this request".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// A whole object (create/update body, or a response object after admission): absent
    /// fields take their insecure defaults, so the "unset" findings apply.
    Full,
    /// A merge or strategic-merge patch fragment: absent fields are unchanged and unknown,
    /// so only settings the patch makes explicitly are reported.
    Patch,
}

/// What a pod or workload write let kaudit see: the coverage of `report immutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// A body was logged and checked.
    Body,
    /// No requestObject or responseObject: logged at Metadata level (or a body dropped).
    NoBody,
    /// A body was logged, but its line was salvaged and (part of) it is unreadable.
    Unreadable,
}

/// The checks of one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub findings: Vec<Finding>,
    pub seen: Seen,
    /// The body checked was a whole object (a create, an update, a response), not a
    /// patch: settings it leaves out take their defaults.
    pub whole: bool,
}

impl Checked {
    /// What this write says of its workload's immutability, the `verdict` field:
    /// `mutable` when it fails a check, `immutable` when a whole body fails none,
    /// `unknown` when there was no body to read, it could not be read, or a patch
    /// writes nothing risky (what it leaves out is unchanged, not known).
    pub fn verdict(&self) -> &'static str {
        match self.seen {
            Seen::Body if !self.findings.is_empty() => "mutable",
            Seen::Body if self.whole => "immutable",
            _ => "unknown",
        }
    }
}

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Capabilities that amount to (or easily lead to) host root; any other added one is Medium.
const HIGH_CAPS: [&str; 7] = [
    "SYS_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
    "ALL",
];

/// Resources whose bodies hold a pod spec.
pub const POD_RESOURCES: [&str; 9] = [
    "pods",
    "deployments",
    "daemonsets",
    "statefulsets",
    "replicasets",
    "jobs",
    "cronjobs",
    "replicationcontrollers",
    "podtemplates",
];

/// Values a JSON patch's `copy` and `move` ops may carry along before kaudit stops
/// following them (each copy of a subtree is another write to check): bounds the work a
/// hostile patch can cause. The apiserver itself refuses patches over 10,000 ops.
const MAX_PATCH_WRITES: usize = 4096;

/// Path comparisons spent following `copy` and `move` ops, for the same reason.
const MAX_PATCH_STEPS: usize = 1 << 20;

/// Checks a pod or workload write (`r` is its normalized request, `event` its stored
/// JSON). A salvaged line whose body is missing or holds an unreadable part gives an
/// `unchecked` finding: an unreadable body is not a clean one.
pub fn check_write(r: &Request<'_>, event: &[u8]) -> Checked {
    let mut buf = event.to_vec();
    let tape = simd_json::to_tape(&mut buf).ok();
    let event = tape.as_ref().map(tape::Tape::as_value);
    let resource = r.resource.unwrap_or_default();
    let (mut findings, mut seen, mut whole) = (Vec::new(), Seen::NoBody, false);
    if let Some((object, mut body)) = event.and_then(|e| body_to_inspect(e, resource, r.verb)) {
        // Only what an ephemeral-containers write adds is its own doing.
        if r.subresource == Some("ephemeralcontainers") {
            body = Body::Patch;
        }
        findings = inspect(resource, object, body);
        seen = Seen::Body;
        whole = body == Body::Full && object.as_array().is_none();
    }
    let unreadable = |e: Json<'_>| {
        ["requestObject", "responseObject"]
            .iter()
            .any(|key| every(e, key).any(holds_unreadable_marker))
    };
    if let Some(reason) = r.salvaged
        && (seen == Seen::NoBody || event.is_none_or(unreadable))
    {
        let detail = format!("body could not be checked (salvaged: {reason})");
        findings.insert(0, unchecked(detail));
        seen = Seen::Unreadable;
    }
    Checked {
        findings,
        seen,
        whole,
    }
}

/// An unreadable body is ranked high: it could hold anything, and a client can make
/// its own body unreadable (a number past float64, deep nesting) to hide what it asks.
fn unchecked(detail: String) -> Finding {
    Finding {
        container: None,
        kind: "unchecked",
        severity: High,
        detail,
        caps: Vec::new(),
    }
}

/// Every copy of an event's top-level key, in order (the event's own keys are the
/// apiserver's, matched exactly).
fn every<'t>(event: Json<'t>, key: &'t str) -> impl Iterator<Item = Json<'t>> + 't {
    let object = event.as_object();
    object
        .into_iter()
        .flat_map(|o| o.iter())
        .filter(move |(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// The last copy of an event's key, unless it is `null`.
fn last_present<'t>(event: Json<'t>, key: &'t str) -> Option<Json<'t>> {
    every(event, key).last().filter(|v| v.as_null().is_none())
}

/// True if a salvaged body holds the marker of a value that could not be read.
fn holds_unreadable_marker(value: Json<'_>) -> bool {
    // The tape is flat: every string of the value, however deep, is one node of it.
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        if let Some(s) = v.as_str() {
            if s.starts_with(UNREADABLE_PREFIX) {
                return true;
            }
        } else if let Some(array) = v.as_array() {
            stack.extend(array.iter());
        } else if let Some(object) = v.as_object() {
            stack.extend(object.iter().map(|(_, v)| v));
        }
    }
    false
}

/// The body of an audit event to inspect. A patch is judged by what it sends (a
/// fragment): its response is the whole object, and would blame the patcher for every
/// setting already there. Otherwise the response when it is the whole object after
/// admission (mutating webhooks may have changed it), else the request body. A body is
/// there when its key is, whatever `level` says (log shippers drop fields). None when
/// the event has no body (Metadata level).
fn body_to_inspect<'t>(
    event: Json<'t>,
    resource: &str,
    verb: Option<&str>,
) -> Option<(Json<'t>, Body)> {
    let request = last_present(event, "requestObject");
    let response = last_present(event, "responseObject");
    if verb == Some("patch")
        && let Some(request) = request
    {
        return Some((request, Body::Patch));
    }
    if let Some(object) = response.filter(|o| {
        Match::BOTH
            .iter()
            .any(|&how| spec_node(resource, Node::of(*o, how)).is_some())
    }) {
        return Some((object, Body::Full));
    }
    request.or(response).map(|r| (r, Body::Full))
}

/// Where each resource keeps its pod spec; `None` for resources that have none.
fn spec_path(resource: &str) -> Option<&'static [&'static str]> {
    Some(match resource {
        "pods" => &["spec"],
        "deployments" | "daemonsets" | "statefulsets" => &["spec", "template", "spec"],
        "replicasets" | "jobs" | "replicationcontrollers" => &["spec", "template", "spec"],
        "cronjobs" => &["spec", "jobTemplate", "spec", "template", "spec"],
        "podtemplates" => &["template", "spec"],
        _ => return None,
    })
}

/// Finds the pod spec so callers need not know each workload's nesting; only an object
/// counts, so a mistyped spec is treated as missing rather than inspected.
fn spec_node<'t>(resource: &str, object: Node<'t>) -> Option<Node<'t>> {
    let mut node = object;
    for key in spec_path(resource)? {
        node = node.get(key)?;
    }
    node.is_object().then_some(node)
}

/// The ServiceAccount the pods of a create run as, for correlating it with RBAC:
/// None when its body holds no pod spec; Some(None) when it names none (admission gives
/// the namespace's `default`). The deprecated `serviceAccount` is still honoured by the
/// API server, so it is the fallback; an empty string means "default".
pub fn created_service_account(r: &Request<'_>, event: &[u8]) -> Option<Option<String>> {
    let mut buf = event.to_vec();
    let tape = simd_json::to_tape(&mut buf).ok()?;
    let resource = r.resource.unwrap_or_default();
    let (object, _) = body_to_inspect(tape.as_value(), resource, r.verb)?;
    let spec = Match::BOTH
        .iter()
        .find_map(|&how| spec_node(resource, Node::of(object, how)))?;
    let name = ["serviceAccountName", "serviceAccount"]
        .into_iter()
        .filter_map(|key| spec.get(key)?.last()?.into_string())
        .find(|name| !name.is_empty());
    Some(name.map(str::to_owned))
}

/// Finds the pod spec inside an object of the given resource (plural lower-case resource
/// name) and inspects it, reading its keys both ways Go has (see the module comment)
/// and reporting what either reading finds. An array `object` is taken as an RFC 6902
/// JSON patch and always inspected as [`Body::Patch`], whatever `body` says; its
/// findings come in op order.
fn inspect(resource: &str, object: Json<'_>, body: Body) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(ops) = object.as_array() {
        let (writes, followed) = patch_writes(ops);
        if !followed {
            out.push(unchecked(format!(
                "JSON patch copies or moves more values than kaudit follows \
                 ({MAX_PATCH_WRITES}); only the values it writes were checked"
            )));
        }
        for write in &writes {
            for how in Match::BOTH {
                let root = Node::written(&write.path, write.value, how);
                if let Some(spec) = spec_node(resource, root) {
                    inspect_spec(&spec, Body::Patch, &mut out);
                }
            }
        }
    } else {
        for how in Match::BOTH {
            if let Some(spec) = spec_node(resource, Node::of(object, how)) {
                inspect_spec(&spec, body, &mut out);
            }
        }
    }
    // The two readings mostly agree: each finding once, in the order first found.
    let mut seen = Vec::with_capacity(out.len());
    out.retain(|f| {
        let new = !seen.contains(f);
        if new {
            seen.push(f.clone());
        }
        new
    });
    out
}

/// Every container image a pod or workload write sets (containers, init and ephemeral
/// containers), found where `check_write` looks for the spec, by both key readings and
/// through JSON-patch writes (`/spec/containers/0/image`). Sorted, each once.
pub fn images(r: &Request<'_>, event: &[u8]) -> Vec<String> {
    let mut buf = event.to_vec();
    let Ok(tape) = simd_json::to_tape(&mut buf) else {
        return Vec::new();
    };
    let resource = r.resource.unwrap_or_default();
    let Some((object, _)) = body_to_inspect(tape.as_value(), resource, r.verb) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut from_spec = |spec: &Node<'_>| {
        for list in CONTAINER_LISTS {
            for (_, container) in entries(spec, list) {
                out.extend(text(container.get("image")).filter(|i| !i.is_empty()));
            }
        }
    };
    if let Some(ops) = object.as_array() {
        let (writes, _) = patch_writes(ops);
        for write in &writes {
            for how in Match::BOTH {
                let root = Node::written(&write.path, write.value, how);
                if let Some(spec) = spec_node(resource, root) {
                    from_spec(&spec);
                }
            }
        }
    } else {
        for how in Match::BOTH {
            if let Some(spec) = spec_node(resource, Node::of(object, how)) {
                from_spec(&spec);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// How a key of the body is matched to a field of the apiserver's types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// sigs.k8s.io/json (Kubernetes 1.23 and later): exactly.
    Exact,
    /// Go's encoding/json and the json-iterator setup before it: as `bytes.EqualFold`.
    Fold,
}

impl Match {
    const BOTH: [Match; 2] = [Match::Fold, Match::Exact];

    fn matches(self, key: &str, field: &str) -> bool {
        match self {
            Match::Exact => key == field,
            Match::Fold => {
                // Field names are ASCII; of the non-ASCII letters, only these two fold
                // to an ASCII one in Unicode's simple case folding.
                let fold = |c: char| match c {
                    'ſ' => Some(b's'),
                    '\u{212A}' => Some(b'k'),
                    c if c.is_ascii() => Some((c as u8).to_ascii_lowercase()),
                    _ => None,
                };
                let mut chars = key.chars();
                field
                    .bytes()
                    .all(|f| chars.next().and_then(fold) == Some(f.to_ascii_lowercase()))
                    && chars.next().is_none()
            }
        }
    }
}

/// One field of a body as the apiserver decodes it: every copy of it, in order, since
/// Go decodes a repeated key into the same field again (see the module comment).
#[derive(Debug, Clone)]
struct Node<'t> {
    copies: Vec<Place<'t>>,
    how: Match,
}

#[derive(Debug, Clone, Copy)]
enum Place<'t> {
    Json(Json<'t>),
    /// Where a JSON-patch op writes `value`: `tokens` further down from here.
    Written {
        tokens: &'t [String],
        value: Json<'t>,
    },
}

impl<'t> Place<'t> {
    fn at(tokens: &'t [String], value: Json<'t>) -> Place<'t> {
        match tokens {
            [] => Place::Json(value),
            tokens => Place::Written { tokens, value },
        }
    }
}

impl<'t> Node<'t> {
    fn of(value: Json<'t>, how: Match) -> Node<'t> {
        Node {
            copies: vec![Place::Json(value)],
            how,
        }
    }

    fn written(tokens: &'t [String], value: Json<'t>, how: Match) -> Node<'t> {
        Node {
            copies: vec![Place::at(tokens, value)],
            how,
        }
    }

    /// A field of an object: every copy of it. A `null` copy is skipped rather than
    /// taken to reset the field: Go resets a pointer but keeps a struct, and a finding
    /// too many is better than one missed.
    fn get(&self, key: &str) -> Option<Node<'t>> {
        let mut copies = Vec::new();
        for place in &self.copies {
            match *place {
                Place::Json(value) => {
                    let fields = value.as_object().into_iter().flat_map(|o| o.iter());
                    copies.extend(
                        fields
                            .filter(|(k, v)| self.how.matches(k, key) && v.as_null().is_none())
                            .map(|(_, v)| Place::Json(v)),
                    );
                }
                Place::Written {
                    tokens: [first, rest @ ..],
                    value,
                } if self.how.matches(first, key) => copies.push(Place::at(rest, value)),
                Place::Written { .. } => {}
            }
        }
        let how = self.how;
        (!copies.is_empty()).then_some(Node { copies, how })
    }

    /// A scalar's value: its last copy.
    fn last(&self) -> Option<Json<'t>> {
        match self.copies.last()? {
            Place::Json(value) => Some(*value),
            Place::Written { .. } => None,
        }
    }

    fn is_object(&self) -> bool {
        (self.copies.iter()).any(|p| matches!(p, Place::Written { .. }) || is_object(p))
    }

    /// The elements of a list, each with its index (as a label): the elements at the
    /// same index of every copy of the list make one element (Go decodes a list into
    /// the slice already there, element by element). A JSON-patch op writes one element,
    /// labelled as its path says (`-` appends, a negative index counts from the end).
    fn items(&self) -> Vec<(String, Node<'t>)> {
        let mut positional: Vec<Vec<Place<'t>>> = Vec::new();
        let mut written = Vec::new();
        for place in &self.copies {
            match *place {
                Place::Json(value) => {
                    let elements = value.as_array().into_iter().flat_map(|a| a.iter());
                    for (index, element) in elements.enumerate() {
                        if positional.len() <= index {
                            positional.push(Vec::new());
                        }
                        if element.as_null().is_none() {
                            positional[index].push(Place::Json(element));
                        }
                    }
                }
                Place::Written {
                    tokens: [first, rest @ ..],
                    value,
                } => {
                    if let Some(label) = index_label(first) {
                        let copies = vec![Place::at(rest, value)];
                        written.push((
                            label,
                            Node {
                                copies,
                                how: self.how,
                            },
                        ));
                    }
                }
                Place::Written { .. } => {}
            }
        }
        let how = self.how;
        let positional = positional.into_iter().enumerate();
        positional
            .filter(|(_, copies)| !copies.is_empty())
            .map(|(index, copies)| (index.to_string(), Node { copies, how }))
            .chain(written)
            .collect()
    }
}

fn is_object(place: &Place<'_>) -> bool {
    matches!(place, Place::Json(value) if value.as_object().is_some())
}

/// An array index in a JSON-patch path, as evanphx/json-patch reads it (`strconv.Atoi`:
/// a sign and leading zeros are allowed; negative counts from the end), or `-` (append).
fn index_label(token: &str) -> Option<String> {
    if token == "-" {
        return Some(token.to_string());
    }
    token.parse::<i64>().ok().map(|index| index.to_string())
}

/// One value a JSON patch writes, at its decoded path.
#[derive(Debug)]
struct Write<'t> {
    path: Vec<String>,
    value: Json<'t>,
}

/// The values an RFC 6902 JSON patch writes, in op order, and whether every `copy` and
/// `move` could be followed. Applied as kube-apiserver's evanphx/json-patch applies it:
/// an op's `op`, `path`, `from` and `value` are the last copy of the key, spelled
/// exactly; a path's text before its first `/` is ignored (`x/spec/...` is `/spec/...`)
/// and its tokens decode `~1` to `/`, then `~0` to `~`. `add` and `replace` write their
/// value; `copy` and `move` write again what an earlier op of the same patch wrote
/// where they read from (so a value written outside the pod spec and moved into it is
/// seen there); what they copy from the object itself was there already. `remove` and
/// `test` write nothing.
fn patch_writes<'t>(ops: tape::Array<'t, 't>) -> (Vec<Write<'t>>, bool) {
    let mut writes: Vec<Write<'t>> = Vec::new();
    let (mut steps, mut followed) = (0usize, true);
    for op in ops.iter() {
        let field = |key: &str| {
            let fields = op.as_object().into_iter().flat_map(|o| o.iter());
            fields.filter(|(k, _)| *k == key).map(|(_, v)| v).last()
        };
        let path = |key: &str| {
            field(key)
                .and_then(|p| p.into_string())
                .and_then(patch_path)
        };
        let Some(to) = path("path") else {
            continue;
        };
        match field("op").and_then(|o| o.into_string()) {
            Some("add" | "replace") => {
                if let Some(value) = field("value") {
                    writes.push(Write { path: to, value });
                }
            }
            Some("copy" | "move") => {
                let Some(from) = path("from") else {
                    continue;
                };
                steps += writes.len();
                if steps > MAX_PATCH_STEPS {
                    followed = false;
                    continue;
                }
                let carried = carried_along(&writes, &from, &to);
                if writes.len() + carried.len() > MAX_PATCH_WRITES {
                    followed = false;
                    continue;
                }
                writes.extend(carried);
            }
            _ => {}
        }
    }
    (writes, followed)
}

/// What a `copy` or `move` from `from` to `to` writes again of the earlier writes: those
/// below `from` move with it, and the part of a write that `from` points into.
fn carried_along<'t>(writes: &[Write<'t>], from: &[String], to: &[String]) -> Vec<Write<'t>> {
    let mut carried = Vec::new();
    for write in writes {
        if let Some(below) = strip_path_prefix(&write.path, from) {
            let path = to.iter().chain(below).cloned().collect();
            carried.push(Write {
                path,
                value: write.value,
            });
        } else if let Some(inside) = strip_path_prefix(from, &write.path)
            && let Some(value) = descend(write.value, inside)
        {
            carried.push(Write {
                path: to.to_vec(),
                value,
            });
        }
    }
    carried
}

/// `path` without `prefix`, if it starts with it. Array positions may be spelled
/// differently (`-`, `-1`, `2`) for the same element, so any two match.
fn strip_path_prefix<'p>(path: &'p [String], prefix: &[String]) -> Option<&'p [String]> {
    if path.len() < prefix.len() {
        return None;
    }
    let same = |(a, b): (&String, &String)| {
        a == b || (index_label(a).is_some() && index_label(b).is_some())
    };
    path.iter()
        .zip(prefix)
        .all(same)
        .then(|| &path[prefix.len()..])
}

/// The value at `tokens` inside `value`, as the patch library finds it (exact keys,
/// the last copy; array indices, negative from the end).
fn descend<'t>(value: Json<'t>, tokens: &[String]) -> Option<Json<'t>> {
    let mut value = value;
    for token in tokens {
        value = if let Some(object) = value.as_object() {
            object
                .iter()
                .filter(|(k, _)| k == token)
                .map(|(_, v)| v)
                .last()?
        } else {
            let array = value.as_array()?;
            let index = token.parse::<i64>().ok()?;
            let len = array.len() as i64;
            let index = if index < 0 { index + len } else { index };
            array.get(usize::try_from(index).ok()?)?
        };
    }
    Some(value)
}

/// A JSON-patch path as evanphx/json-patch splits it: the text before the first `/` is
/// skipped, the rest split on `/`, `~1` then `~0` decoded. The root (`""`, and `"/"`,
/// whose one empty token some versions also take for the root) is no token. A path
/// without `/` fails in the apiserver, and writes nothing.
fn patch_path(path: &str) -> Option<Vec<String>> {
    if path.is_empty() {
        return Some(Vec::new());
    }
    let (_, rest) = path.split_once('/')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let decode = |token: &str| token.replace("~1", "/").replace("~0", "~");
    Some(rest.split('/').map(decode).collect())
}

/// Object entries of a list field with their label; anything else is skipped because
/// the API server would reject it and there is nothing meaningful to inspect. A
/// strategic-merge `"$patch": "delete"` entry is inspected too: the log does not say
/// which kind of patch a body was, and in a merge patch or a create the directive is an
/// unknown field that removes nothing.
fn entries<'t>(value: &Node<'t>, key: &str) -> Vec<(String, Node<'t>)> {
    let Some(list) = value.get(key) else {
        return Vec::new();
    };
    let mut items = list.items();
    items.retain(|(_, item)| item.is_object());
    items
}

fn is_true(value: Option<Node<'_>>) -> bool {
    value.and_then(|v| v.last()).and_then(|v| v.as_bool()) == Some(true)
}

fn text(value: Option<Node<'_>>) -> Option<String> {
    value?.last()?.into_string().map(str::to_owned)
}

fn inspect_spec(spec: &Node<'_>, body: Body, out: &mut Vec<Finding>) {
    let pod_finding = |kind, detail| Finding {
        container: None,
        kind,
        severity: High,
        detail,
        caps: Vec::new(),
    };
    for kind in ["hostNetwork", "hostPID", "hostIPC"] {
        if is_true(spec.get(kind)) {
            out.push(pod_finding(kind, format!("{kind}: true")));
        }
    }
    for (index, volume) in entries(spec, "volumes") {
        let Some(host_path) = volume.get("hostPath").filter(Node::is_object) else {
            continue;
        };
        let path = text(host_path.get("path"));
        let name = label(&volume, "volumes", &index);
        let detail = format!(
            "hostPath {} (volume {name})",
            path.as_deref().unwrap_or("<no path>")
        );
        out.push(pod_finding("hostPath", detail));
    }
    let pod_sc = spec.get("securityContext");
    for list in CONTAINER_LISTS {
        for (index, container) in entries(spec, list) {
            let name = label(&container, list, &index);
            let sc = container.get("securityContext");
            for mut finding in container_findings(sc.as_ref(), pod_sc.as_ref(), body) {
                finding.container = Some(name.clone());
                out.push(finding);
            }
        }
    }
}

/// The raw `name`, or the entry's position when there is none, so a finding can still
/// be traced back to the manifest.
fn label(entry: &Node<'_>, list: &str, index: &str) -> String {
    text(entry.get("name")).unwrap_or_else(|| format!("{list}#{index}"))
}

/// Reads a field from the container securityContext, else from the pod's, because the
/// kubelet applies the pod value only where the container leaves it unset. The second
/// element is a detail suffix telling where an inherited value came from.
fn inherited<T>(
    key: &str,
    sc: Option<&Node<'_>>,
    pod_sc: Option<&Node<'_>>,
    typed: fn(Json<'_>) -> Option<T>,
) -> Option<(T, &'static str)> {
    let read = |sc: Option<&Node<'_>>| sc?.get(key)?.last().and_then(typed);
    let from_pod = || read(pod_sc).map(|value| (value, " (pod securityContext)"));
    read(sc).map(|value| (value, "")).or_else(from_pod)
}

/// Strips the optional `CAP_` prefix and upper-cases, as container runtimes do, so
/// `CAP_sys_admin` cannot slip past the list of dangerous capabilities.
fn normalize_cap(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_owned()
}

/// The findings of one container, before its name is attached. Settings left unset in
/// a whole object ([`Body::Full`]) get the `:default` kinds (see [`KINDS`]).
fn container_findings(
    sc: Option<&Node<'_>>,
    pod_sc: Option<&Node<'_>>,
    body: Body,
) -> Vec<Finding> {
    const APE: &str = "allowPrivilegeEscalation";
    const RORFS: &str = "readOnlyRootFilesystem";
    let full = body == Body::Full;
    let field = |key: &str| sc.and_then(|sc| sc.get(key));
    let boolean = |key: &str| field(key).and_then(|v| v.last()).and_then(|v| v.as_bool());
    let mut out = Vec::new();
    let mut push = |kind, severity, detail: String| {
        out.push(Finding {
            container: None,
            kind,
            severity,
            detail,
            caps: Vec::new(),
        });
    };

    let privileged = is_true(field("privileged"));
    if privileged {
        let detail = "securityContext.privileged: true";
        push("privileged", High, detail.into());
    }

    let caps = field("capabilities").and_then(|caps| caps.get("add"));
    let added: Vec<String> = (caps.iter().flat_map(Node::items))
        .filter_map(|(_, cap)| text(Some(cap)))
        .collect();
    let mut normalized: Vec<String> = Vec::new();
    for cap in added.iter().map(|cap| normalize_cap(cap)) {
        if !cap.is_empty() && !normalized.contains(&cap) {
            normalized.push(cap);
        }
    }
    let find_cap = |wanted: &[&str]| normalized.iter().find(|cap| wanted.contains(&cap.as_str()));
    if !added.is_empty() {
        let severity = find_cap(&HIGH_CAPS).map_or(Medium, |_| High);
        let detail = format!("capabilities.add: {}", added.join(", "));
        push("capabilities", severity, detail);
    }

    // Privileged containers and CAP_SYS_ADMIN (which ALL includes) run without
    // no_new_privs whatever the field says, so an explicit `false` must not hide them.
    let sys_admin = find_cap(&["SYS_ADMIN", "ALL"]).map(String::as_str);
    let implied_by = privileged.then_some("privileged").or(sys_admin);
    match (implied_by, boolean(APE)) {
        (Some(why), _) => push(APE, Medium, format!("{APE} implied by {why}")),
        (None, Some(true)) => push(APE, Medium, format!("{APE}: true")),
        (None, None) if full => push(
            "allowPrivilegeEscalation:default",
            Low,
            format!("{APE} unset (defaults to true)"),
        ),
        _ => {}
    }

    let user = inherited("runAsUser", sc, pod_sc, |v| v.as_i64());
    let non_root = inherited("runAsNonRoot", sc, pod_sc, |v| v.as_bool());
    match (user, non_root) {
        (Some((0, from)), _) => push("runAsRoot", Medium, format!("runAsUser: 0{from}")),
        (Some(_), _) => {}
        (None, Some((false, from))) => push("runAsRoot", Low, format!("runAsNonRoot: false{from}")),
        (None, None) if full => push(
            "runAsRoot:default",
            Low,
            "runAsNonRoot not set (image user decides)".into(),
        ),
        (None, _) => {}
    }

    match boolean(RORFS) {
        Some(false) => push(RORFS, Low, format!("{RORFS}: false")),
        None if full => push(
            "readOnlyRootFilesystem:default",
            Low,
            format!("{RORFS} unset"),
        ),
        _ => {}
    }
    // The one `capabilities` finding carries the names its detail lists, normalized.
    if let Some(finding) = out.iter_mut().find(|f| f.kind == "capabilities") {
        finding.caps = normalized;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn findings(resource: &str, object: &str, body: Body) -> Vec<Finding> {
        let mut buf = object.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut buf).expect("test JSON parses");
        let found = inspect(resource, tape.as_value(), body);
        for f in &found {
            assert!(KINDS.contains(&f.kind), "{} is not in KINDS", f.kind);
            assert!(f.kind == "capabilities" || f.caps.is_empty(), "{f:?}");
        }
        found
    }

    /// Compares findings as "container kind severity: detail" lines (`-` for pod-level);
    /// `expected` may be indented and spread over lines for readability. `object` is
    /// JSON text (raw, for repeated keys) or a `json!` value.
    #[track_caller]
    fn check(resource: &str, object: impl ToString, body: Body, expected: &str) {
        let show = |f: Finding| {
            let (kind, severity) = (f.kind, f.severity.as_str());
            let container = f.container.unwrap_or_else(|| "-".into());
            format!("{container} {kind} {severity}: {}", f.detail)
        };
        let actual: Vec<_> = findings(resource, &object.to_string(), body)
            .into_iter()
            .map(show)
            .collect();
        let expected = expected.lines().map(str::trim).filter(|l| !l.is_empty());
        assert_eq!(actual, expected.collect::<Vec<_>>());
    }

    fn pod(spec: Value) -> Value {
        json!({"kind": "Pod", "spec": spec})
    }

    fn hardened() -> Value {
        json!({"runAsNonRoot": true, "runAsUser": 1000, "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}})
    }

    const PRIVILEGED: &str = "
        c privileged high: securityContext.privileged: true
        c allowPrivilegeEscalation medium: allowPrivilegeEscalation implied by privileged";

    #[test]
    fn a_verdict_needs_a_whole_body_to_say_immutable() {
        let finding = || unchecked(String::new());
        let checked = |findings: Vec<Finding>, seen, whole| Checked {
            findings,
            seen,
            whole,
        };
        assert_eq!(checked(vec![], Seen::Body, true).verdict(), "immutable");
        assert_eq!(
            checked(vec![finding()], Seen::Body, true).verdict(),
            "mutable"
        );
        // A patch that writes something risky makes it mutable; one that does not
        // leaves the rest unknown.
        assert_eq!(
            checked(vec![finding()], Seen::Body, false).verdict(),
            "mutable"
        );
        assert_eq!(checked(vec![], Seen::Body, false).verdict(), "unknown");
        assert_eq!(checked(vec![], Seen::NoBody, false).verdict(), "unknown");
        assert_eq!(
            checked(vec![finding()], Seen::Unreadable, true).verdict(),
            "unknown"
        );
    }

    #[test]
    fn severity_round_trips_and_orders() {
        for sev in [Low, Medium, High] {
            assert_eq!(Severity::parse(sev.as_str()), Some(sev));
        }
        assert_eq!(Severity::parse("HIGH"), Some(High));
        assert_eq!(Severity::parse("critical"), None);
        assert!(Low < Medium && Medium < High);
        // The index stores the rank: comparisons of ranks are comparisons of severities.
        for sev in Severity::ALL {
            assert_eq!(Severity::from_rank(sev.rank()), Some(sev));
        }
        assert!(Low.rank() < Medium.rank() && Medium.rank() < High.rank());
        assert_eq!(
            (Severity::from_rank(0), Severity::from_rank(4)),
            (None, None)
        );
    }

    #[test]
    fn explicit_and_defaulted_settings_are_told_apart() {
        // `a` leaves everything to the API's defaults; `b` writes the same risks.
        let explicit = json!({"runAsUser": 0, "allowPrivilegeEscalation": true,
            "readOnlyRootFilesystem": false});
        let spec = json!({"containers": [{"name": "a"},
            {"name": "b", "securityContext": explicit},
            {"name": "c", "securityContext": {"runAsNonRoot": false}}]});
        let expected = "
            a allowPrivilegeEscalation:default low: allowPrivilegeEscalation unset (defaults to true)
            a runAsRoot:default low: runAsNonRoot not set (image user decides)
            a readOnlyRootFilesystem:default low: readOnlyRootFilesystem unset
            b allowPrivilegeEscalation medium: allowPrivilegeEscalation: true
            b runAsRoot medium: runAsUser: 0
            b readOnlyRootFilesystem low: readOnlyRootFilesystem: false
            c allowPrivilegeEscalation:default low: allowPrivilegeEscalation unset (defaults to true)
            c runAsRoot low: runAsNonRoot: false
            c readOnlyRootFilesystem:default low: readOnlyRootFilesystem unset";
        check("pods", pod(spec.clone()), Body::Full, expected);
        // A patch leaves the rest unchanged, not defaulted: only what it writes.
        let expected = "
            b allowPrivilegeEscalation medium: allowPrivilegeEscalation: true
            b runAsRoot medium: runAsUser: 0
            b readOnlyRootFilesystem low: readOnlyRootFilesystem: false
            c runAsRoot low: runAsNonRoot: false";
        check("pods", pod(spec), Body::Patch, expected);
        // Escalation implied by privileged is the privileged setting's doing, not a
        // default, even with the field unset.
        let spec = json!({"containers": [{"name": "p", "securityContext": {"privileged": true,
            "runAsNonRoot": true, "readOnlyRootFilesystem": true}}]});
        let expected = "
            p privileged high: securityContext.privileged: true
            p allowPrivilegeEscalation medium: allowPrivilegeEscalation implied by privileged";
        check("pods", pod(spec), Body::Full, expected);
    }

    #[test]
    fn a_writes_risk_is_its_kinds_caps_and_worst_severity() {
        let spec = json!({"hostPID": true, "containers": [
            {"name": "a", "securityContext": {"capabilities": {"add": ["net_admin", "CAP_SYS_ADMIN"]}}},
            {"name": "b", "securityContext": {"capabilities": {"add": ["NET_ADMIN", "CAP_"]}}}]});
        let found = findings("pods", &pod(spec).to_string(), Body::Full);
        let risk = Risk::of(&found);
        assert_eq!(
            risk.kinds,
            [
                "allowPrivilegeEscalation",
                "allowPrivilegeEscalation:default",
                "capabilities",
                "hostPID",
                "readOnlyRootFilesystem:default",
                "runAsRoot:default",
            ]
        );
        assert_eq!(risk.caps, ["NET_ADMIN", "SYS_ADMIN"]);
        assert_eq!(risk.worst, Some(High));
        assert_eq!(Risk::of(&[]), Risk::default());
        assert_eq!(Risk::of(&[]).worst, None);
        let lows = findings(
            "pods",
            &pod(json!({"containers": [{"name": "a"}]})).to_string(),
            Body::Full,
        );
        assert_eq!(Risk::of(&lows).worst, Some(Low));
    }

    #[test]
    fn privileged_pod_is_high() {
        let obj = json!({"kind":"Pod","spec":{"containers":[{"name":"nginx","image":"nginx",
            "securityContext":{"privileged":true}}]}});
        let expected = "
            nginx privileged high: securityContext.privileged: true
            nginx allowPrivilegeEscalation medium: allowPrivilegeEscalation implied by privileged
            nginx runAsRoot:default low: runAsNonRoot not set (image user decides)
            nginx readOnlyRootFilesystem:default low: readOnlyRootFilesystem unset";
        check("pods", obj, Body::Full, expected);
    }

    #[test]
    fn hardened_pod_has_no_findings() {
        let spec = json!({"containers": [{"name": "app", "securityContext": hardened()}],
            "initContainers": [{"name": "init", "securityContext": hardened()}]});
        check("pods", pod(spec), Body::Full, "");
    }

    #[test]
    fn ordinary_pod_gets_three_lows_per_container_in_order() {
        let spec = json!({"ephemeralContainers": [{"name": "debug"}],
            "containers": [{"name": "a"}, {"image": "b"}]});
        let mut expected = String::new();
        for name in ["a", "containers#1", "debug"] {
            expected += &format!("
                {name} allowPrivilegeEscalation:default low: allowPrivilegeEscalation unset (defaults to true)
                {name} runAsRoot:default low: runAsNonRoot not set (image user decides)
                {name} readOnlyRootFilesystem:default low: readOnlyRootFilesystem unset");
        }
        check("pods", pod(spec), Body::Full, &expected);
    }

    #[test]
    fn pod_level_security_context_is_inherited_unless_overridden() {
        let spec = json!({"securityContext": {"runAsNonRoot": true},
            "containers": [{"name": "a", "securityContext": {"readOnlyRootFilesystem": true}},
                {"name": "b", "securityContext": {"runAsUser": 0, "readOnlyRootFilesystem": true}}]});
        let expected = "
            a allowPrivilegeEscalation:default low: allowPrivilegeEscalation unset (defaults to true)
            b allowPrivilegeEscalation:default low: allowPrivilegeEscalation unset (defaults to true)
            b runAsRoot medium: runAsUser: 0";
        check("pods", pod(spec), Body::Full, expected);
    }

    #[test]
    fn explicit_insecure_values() {
        let sc = json!({"runAsNonRoot": false, "readOnlyRootFilesystem": false,
            "allowPrivilegeEscalation": true});
        let obj = pod(json!({"containers": [{"name": "a", "securityContext": sc}]}));
        let expected = "
            a allowPrivilegeEscalation medium: allowPrivilegeEscalation: true
            a runAsRoot low: runAsNonRoot: false
            a readOnlyRootFilesystem low: readOnlyRootFilesystem: false";
        check("pods", obj, Body::Full, expected);
    }

    #[test]
    fn workload_templates_are_found() {
        let template = json!({"spec": {"hostPID": true}});
        let deployment = json!({"kind": "Deployment", "spec": {"template": template}});
        let cronjob = json!({"spec": {"jobTemplate": {"spec": {"template": template}}}});
        let expected = "- hostPID high: hostPID: true";
        check("deployments", &deployment, Body::Full, expected);
        check("cronjobs", cronjob, Body::Full, expected);
        check("pods", &deployment, Body::Full, "");
        check("configmaps", &deployment, Body::Full, "");
    }

    #[test]
    fn patch_mode_never_reports_unset() {
        let patch = json!({"spec": {"template": {"spec": {"securityContext": {"runAsUser": 0},
            "containers": [{"name": "a", "image": "new"},
                {"name": "b", "securityContext": {"readOnlyRootFilesystem": false}}]}}}});
        let expected = "
            a runAsRoot medium: runAsUser: 0 (pod securityContext)
            b runAsRoot medium: runAsUser: 0 (pod securityContext)
            b readOnlyRootFilesystem low: readOnlyRootFilesystem: false";
        check("statefulsets", patch, Body::Patch, expected);
        let untouched = json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}});
        check("statefulsets", untouched, Body::Patch, "");
    }

    #[test]
    fn a_patch_delete_directive_does_not_hide_what_its_entry_sets() {
        // The log does not say whether a body was a strategic merge patch: in a merge
        // patch (or a create) `$patch` is an unknown field and the container is added.
        let patch = json!({"spec": {"containers": [
            {"name": "c", "$patch": "delete", "securityContext": {"privileged": true}},
            {"name": "gone", "$patch": "delete"}],
            "volumes": [{"name": "root", "$patch": "delete", "hostPath": {"path": "/"}}]}});
        let expected = format!("- hostPath high: hostPath / (volume root){PRIVILEGED}");
        check("pods", patch, Body::Patch, &expected);
    }

    #[test]
    fn json_patch_common_shapes() {
        let ops = json!([
            {"op": "add", "path": "/spec/template/spec/containers/-",
             "value": {"name": "evil", "securityContext": {"privileged": true}}},
            {"op": "replace", "value": true,
             "path": "/spec/template/spec/containers/2/securityContext/privileged"},
            {"op": "add", "path": "/spec/template/spec/initContainers/0/securityContext",
             "value": {"capabilities": {"add": ["NET_ADMIN"]}}},
            {"op": "add", "path": "/spec/template/spec/hostNetwork", "value": true},
            {"op": "add", "path": "/spec/template/spec/volumes/-",
             "value": {"name": "root", "hostPath": {"path": "/"}}},
            {"op": "test", "path": "/spec/template/spec/hostPID", "value": true},
            {"op": "remove", "path": "/spec/template/spec/hostIPC"},
        ]);
        let expected = "
            evil privileged high: securityContext.privileged: true
            evil allowPrivilegeEscalation medium: allowPrivilegeEscalation implied by privileged
            containers#2 privileged high: securityContext.privileged: true
            containers#2 allowPrivilegeEscalation medium: allowPrivilegeEscalation implied by privileged
            initContainers#0 capabilities medium: capabilities.add: NET_ADMIN
            - hostNetwork high: hostNetwork: true
            - hostPath high: hostPath / (volume root)";
        check("daemonsets", ops, Body::Full, expected);
    }

    #[test]
    fn json_patch_paths_are_read_as_the_apiserver_applies_them() {
        let op = |path: &str, value: Value| json!([{"op": "add", "path": path, "value": value}]);
        let privileged = |label: &str| {
            format!(
                "{label} privileged high: securityContext.privileged: true
                 {label} allowPrivilegeEscalation medium: allowPrivilegeEscalation implied by privileged"
            )
        };
        let sc = json!({"privileged": true});
        // Text before the first `/` is skipped; `~1` and `~0` are decoded.
        let skipped = op("x/spec/containers/0/securityContext", sc);
        check("pods", skipped, Body::Patch, &privileged("containers#0"));
        let decoded = op("spec~1x/spec/hostPID", json!(true));
        check(
            "pods",
            decoded,
            Body::Patch,
            "- hostPID high: hostPID: true",
        );
        // Array indices as `strconv.Atoi` reads them; negative counts from the end.
        let last = op(
            "/spec/containers/-1/securityContext/privileged",
            json!(true),
        );
        check("pods", last, Body::Patch, &privileged("containers#-1"));
        let signed = op(
            "/spec/containers/+02/securityContext/capabilities/add/-",
            json!("SYS_ADMIN"),
        );
        let expected = "
            containers#2 capabilities high: capabilities.add: SYS_ADMIN
            containers#2 allowPrivilegeEscalation medium: allowPrivilegeEscalation implied by SYS_ADMIN";
        check("pods", signed, Body::Patch, expected);
        // The whole object, the spec, or the template may carry the pod spec.
        let whole = pod(json!({"hostIPC": true}));
        for (resource, path, value) in [
            ("pods", "", whole.clone()),
            ("pods", "/", whole),
            ("pods", "/spec", json!({"hostIPC": true})),
            (
                "deployments",
                "/spec/template",
                json!({"spec": {"hostIPC": true}}),
            ),
            (
                "deployments",
                "/spec",
                json!({"template": {"spec": {"hostIPC": true}}}),
            ),
        ] {
            check(
                resource,
                op(path, value),
                Body::Patch,
                "- hostIPC high: hostIPC: true",
            );
        }
        // A path without `/` fails in the apiserver; `//spec` writes to the key "".
        check(
            "pods",
            op("spec", pod(json!({"hostIPC": true}))),
            Body::Patch,
            "",
        );
        check("pods", op("//spec/hostIPC", json!(true)), Body::Patch, "");
    }

    #[test]
    fn json_patch_op_fields_are_the_last_copy_spelled_exactly() {
        let last_wins = r#"[{"op":"test","op":"add","path":"/x","path":"/spec/hostPID",
            "value":false,"value":true}]"#;
        check(
            "pods",
            last_wins,
            Body::Patch,
            "- hostPID high: hostPID: true",
        );
        let overridden = r#"[{"op":"add","op":"test","path":"/spec/hostPID","value":true}]"#;
        check("pods", overridden, Body::Patch, "");
        let misspelled = r#"[{"Op":"add","path":"/spec/hostPID","value":true}]"#;
        check("pods", misspelled, Body::Patch, "");
    }

    #[test]
    fn json_patch_values_moved_or_copied_into_the_spec_are_checked_there() {
        let ops = json!([
            {"op": "add", "path": "/stash", "value": {"c": {"name": "c",
                "securityContext": {"privileged": true}}}},
            {"op": "add", "path": "/stash/c/securityContext/capabilities",
                "value": {"add": ["SYS_PTRACE"]}},
            {"op": "add", "path": "/other", "value": {"hostPID": true}},
            {"op": "copy", "from": "/other/hostPID", "path": "/spec/hostPID"},
            {"op": "move", "from": "/stash/c", "path": "/spec/containers/-"},
        ]);
        let expected = "
            - hostPID high: hostPID: true
            c privileged high: securityContext.privileged: true
            c allowPrivilegeEscalation medium: allowPrivilegeEscalation implied by privileged
            containers#- capabilities high: capabilities.add: SYS_PTRACE";
        check("pods", ops, Body::Patch, expected);
        // A copy of what the object already held writes nothing new.
        let ops =
            json!([{"op": "copy", "from": "/spec/containers/0", "path": "/spec/containers/-"}]);
        check("pods", ops, Body::Patch, "");
    }

    #[test]
    fn json_patch_copies_are_followed_within_a_bound() {
        // Each copy of the root doubles what the patch holds: kaudit stops following
        // and says so rather than spending the ingest on it.
        let mut ops = vec![json!({"op": "add", "path": "/a", "value": {"hostPID": true}})];
        ops.extend((0..20).map(|i| json!({"op": "copy", "from": "", "path": format!("/c{i}")})));
        ops.push(json!({"op": "move", "from": "/c19/c18/a", "path": "/spec"}));
        let found = findings("pods", &Value::Array(ops).to_string(), Body::Patch);
        let kinds: Vec<_> = found.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, ["unchecked"], "{found:?}");
        assert!(
            found[0].detail.contains("only the values it writes"),
            "{found:?}"
        );
    }

    #[test]
    fn keys_match_as_go_decodes_them() {
        // Apiservers before sigs.k8s.io/json matched keys case-insensitively (Unicode
        // folding included); later ones exactly. Either reading's findings count.
        let variants = [
            r#"{"SPEC":{"Containers":[{"name":"c","SecurityContext":{"Privileged":true}}]}}"#,
            r#"{"ſpec":{"containers":[{"name":"c","ſecurityContext":{"privileged":true}}]}}"#,
            r#"{"spec":{"containers":[{"name":"c","securityContext":{"privileged":true,"Privileged":false}}]}}"#,
        ];
        for variant in variants {
            check("pods", variant, Body::Patch, PRIVILEGED);
        }
        check(
            "pods",
            r#"{"spec":{"hostNetworK":true}}"#,
            Body::Patch,
            "- hostNetwork high: hostNetwork: true",
        );
        check(
            "pods",
            r#"{"spec":{"hostNetworkx":true,"hostNetwor":true}}"#,
            Body::Patch,
            "",
        );
    }

    #[test]
    fn a_repeated_key_keeps_its_last_scalar_and_merges_objects_and_lists() {
        let sc = |inner: &str| {
            format!(r#"{{"spec":{{"containers":[{{"name":"c","securityContext":{{{inner}}}}}]}}}}"#)
        };
        check(
            "pods",
            sc(r#""privileged":false,"privileged":true"#),
            Body::Patch,
            PRIVILEGED,
        );
        check(
            "pods",
            sc(r#""privileged":true,"privileged":false"#),
            Body::Patch,
            "",
        );
        // Go decodes the second copy into the struct the first one filled.
        let merged = r#"{"spec":{"containers":[{"name":"c","securityContext":{"privileged":true}}]},
            "spec":{"hostNetwork":false},
            "spec":{"containers":[{"securityContext":{"runAsUser":5}}]}}"#;
        check("pods", merged, Body::Patch, PRIVILEGED);
        // More keys than simd-json's small objects hold: every copy is still seen.
        let padding: String = (0..40).map(|i| format!(r#""pad{i}":{i},"#)).collect();
        let padded = sc(&format!(
            r#""privileged":true,{padding}"privileged":null,"runAsUser":1"#
        ));
        check("pods", padded, Body::Patch, PRIVILEGED);
    }

    #[test]
    fn pod_level_findings_come_first_in_order() {
        let spec = json!({"containers": [{"name": "c", "securityContext": hardened()}],
            "hostIPC": true, "hostNetwork": true, "hostPID": false,
            "volumes": [{"name": "data", "emptyDir": {}}, {"hostPath": {}},
                {"name": "dockersock", "hostPath": {"path": "/var/run/docker.sock"}}]});
        let expected = "
            - hostNetwork high: hostNetwork: true
            - hostIPC high: hostIPC: true
            - hostPath high: hostPath <no path> (volume volumes#1)
            - hostPath high: hostPath /var/run/docker.sock (volume dockersock)";
        check("pods", pod(spec), Body::Full, expected);
    }

    #[test]
    fn capabilities_are_normalized() {
        let with_caps = |add: Value| {
            let mut sc = hardened();
            sc["capabilities"] = json!({"add": add});
            pod(json!({"containers": [{"name": "c", "securityContext": sc}]}))
        };
        let expected = "
            c capabilities high: capabilities.add: CAP_sys_admin
            c allowPrivilegeEscalation medium: allowPrivilegeEscalation implied by SYS_ADMIN";
        check(
            "pods",
            with_caps(json!(["CAP_sys_admin"])),
            Body::Full,
            expected,
        );
        let expected = "c capabilities medium: capabilities.add: NET_ADMIN, chown";
        check(
            "pods",
            with_caps(json!(["NET_ADMIN", "chown"])),
            Body::Full,
            expected,
        );
        check("pods", with_caps(json!([])), Body::Full, "");
        check("pods", with_caps(json!("SYS_ADMIN")), Body::Full, "");
        // The `cap:` names: normalized, each once, in the order written; the detail
        // keeps the spelling of the body.
        let caps = |add: Value| {
            let found = findings("pods", &with_caps(add).to_string(), Body::Full);
            let caps = found.iter().find(|f| f.kind == "capabilities");
            caps.map(|f| f.caps.clone()).unwrap_or_default()
        };
        assert_eq!(
            caps(json!([" cap_net_raw", "CAP_sys_admin", "SYS_ADMIN", "all"])),
            ["NET_RAW", "SYS_ADMIN", "ALL"]
        );
        // An empty name is listed in the detail but is no capability.
        assert_eq!(caps(json!(["CAP_", ""])), Vec::<String>::new());
    }

    #[test]
    fn wrong_types_never_panic_and_only_json_true_counts() {
        let garbage = [
            json!(null),
            json!({"spec": []}),
            pod(json!({"containers": "nginx", "volumes": {"hostPath": "/"}, "hostPID": 1})),
            pod(json!({"hostNetwork": "true", "securityContext": "root",
                "volumes": [{"name": "v", "hostPath": "/etc"}, 5],
                "initContainers": [1, "x", null, [], {"name": 7, "securityContext": 3}],
                "containers": [{"name": "c", "securityContext": {"privileged": "true",
                    "capabilities": {"add": [1, null, {"x": "SYS_ADMIN"}]}, "runAsUser": "0"}}]})),
            json!([1, "x", {"op": "add"}, {"op": "add", "path": "nope", "value": 1},
                {"op": "add", "path": "/spec/containers/18446744073709551615", "value": {}},
                {"op": "copy", "from": 5, "path": "/spec"}, {"op": "move", "path": "/spec"},
                {"op": 3, "path": "/spec/hostPID", "value": true}]),
        ];
        for obj in &garbage {
            check("pods", obj, Body::Patch, "");
        }
        // Mistyped values read as unset, so a full body gets only the "unset" Lows.
        let found = findings("pods", &garbage[3].to_string(), Body::Full);
        assert!(found.iter().all(|f| f.severity == Low), "{found:?}");
        let last = found.last().and_then(|f| f.container.as_deref());
        assert_eq!((found.len(), last), (6, Some("initContainers#4")));
    }

    fn request<'a>(resource: &'a str, verb: &'a str, salvaged: Option<&'a str>) -> Request<'a> {
        Request {
            resource: Some(resource),
            verb: Some(verb),
            salvaged,
            ..Request::default()
        }
    }

    #[track_caller]
    fn kinds_seen(r: &Request<'_>, event: &Value) -> (Vec<&'static str>, Seen) {
        let checked = check_write(r, event.to_string().as_bytes());
        (
            checked.findings.iter().map(|f| f.kind).collect(),
            checked.seen,
        )
    }

    #[test]
    fn a_body_is_checked_when_its_key_is_there_whatever_the_level_or_depth() {
        let body = pod(json!({"hostPID": true}));
        let create = request("pods", "create", None);
        // No `level` (log shippers drop it), and a level that says otherwise.
        for level in [json!(null), json!("Metadata")] {
            let event = json!({"level": level, "requestObject": body});
            assert_eq!(kinds_seen(&create, &event), (vec!["hostPID"], Seen::Body));
        }
        // Nested deeper than serde_json reads (128), elsewhere in the event.
        let mut deep = json!("bottom");
        for _ in 0..300 {
            deep = json!([deep]);
        }
        let event = json!({"requestObject": body, "annotations": {"x": deep}});
        assert_eq!(kinds_seen(&create, &event), (vec!["hostPID"], Seen::Body));
        // The last copy of the event's key is the body.
        let text = format!(r#"{{"requestObject":{{}},"requestObject":{body}}}"#);
        let checked = check_write(&create, text.as_bytes());
        assert_eq!(checked.findings.len(), 1, "{checked:?}");
        // No body at all.
        let none = json!({"level": "Metadata", "requestObject": null});
        assert_eq!(kinds_seen(&create, &none), (vec![], Seen::NoBody));
        // A patch logged with its result only is judged by the result.
        let patch = request("pods", "patch", None);
        let event = json!({"responseObject": body});
        assert_eq!(kinds_seen(&patch, &event), (vec!["hostPID"], Seen::Body));
    }

    #[test]
    fn a_salvaged_body_is_unchecked_never_clean() {
        let reason = Some("too-deep");
        let create = request("pods", "create", reason);
        let marker = json!(format!("{UNREADABLE_PREFIX}5000 bytes>"));
        let checked = check_write(
            &create,
            json!({"requestObject": marker}).to_string().as_bytes(),
        );
        assert_eq!(checked.seen, Seen::Unreadable);
        assert_eq!(
            checked.findings[0].detail,
            "body could not be checked (salvaged: too-deep)"
        );
        assert_eq!(checked.findings[0].severity, High);
        // Part of a body unreadable: what can be read is checked too.
        let partly = json!({"requestObject": pod(json!({"hostPID": true, "containers": marker}))});
        assert_eq!(
            kinds_seen(&create, &partly),
            (vec!["unchecked", "hostPID"], Seen::Unreadable)
        );
        // No body left at all.
        assert_eq!(
            kinds_seen(&create, &json!({})),
            (vec!["unchecked"], Seen::Unreadable)
        );
        // Salvaged for another part of the line: the whole body is checked.
        let whole = json!({"requestObject": pod(json!({"hostPID": true}))});
        assert_eq!(kinds_seen(&create, &whole), (vec!["hostPID"], Seen::Body));
        // The marker means nothing in a line read whole.
        let unsalvaged = request("pods", "create", None);
        assert_eq!(
            kinds_seen(&unsalvaged, &json!({"requestObject": marker})),
            (vec![], Seen::Body)
        );
    }

    #[test]
    fn ephemeral_container_writes_are_judged_as_patches() {
        let mut r = request("pods", "update", None);
        r.subresource = Some("ephemeralcontainers");
        let body = pod(json!({"ephemeralContainers": [{"name": "debug"}]}));
        assert_eq!(
            kinds_seen(&r, &json!({"requestObject": body})),
            (vec![], Seen::Body)
        );
    }

    #[test]
    fn service_account_lookup() {
        let sa = |resource, spec: Value| {
            let event = json!({"requestObject": {"spec": spec}});
            created_service_account(
                &request(resource, "create", None),
                event.to_string().as_bytes(),
            )
        };
        let both = json!({"serviceAccountName": "web", "serviceAccount": "old"});
        assert_eq!(sa("pods", both.clone()), Some(Some("web".into())));
        assert_eq!(
            sa("deployments", json!({"template": {"spec": both.clone()}})),
            Some(Some("web".into()))
        );
        let deprecated = json!({"serviceAccountName": "", "serviceAccount": "legacy"});
        assert_eq!(sa("pods", deprecated), Some(Some("legacy".into())));
        assert_eq!(
            sa("pods", json!({"ServiceAccountName": "folded"})),
            Some(Some("folded".into()))
        );
        assert_eq!(sa("pods", json!({})), Some(None));
        assert_eq!(sa("deployments", both), None);
    }
}
