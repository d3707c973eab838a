//! Container-immutability and privilege checks on pod specs: indexed as the `risk`
//! field at ingest, and listed by `report immutability`.
//!
//! Audit events carry pod and pod-template bodies that an attacker may have shaped, and
//! that the API server may have rejected, so every lookup here is type-checked: a value of
//! the wrong JSON type counts as absent (only JSON `true` is true), and nothing panics.

use Severity::{High, Low, Medium};
use serde_json::{Map, Value};

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

    /// Inverse of [`Severity::as_str`]; case-insensitive because it parses user input.
    pub fn parse(s: &str) -> Option<Severity> {
        [Low, Medium, High]
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Container name; None for pod-level findings (host namespaces, hostPath volumes).
    /// Kept raw from the JSON (or `"<list>#<index>"` when missing) so the caller decides
    /// how to sanitize it for display.
    pub container: Option<String>,
    /// Check name, one of: "privileged", "allowPrivilegeEscalation", "runAsRoot",
    /// "readOnlyRootFilesystem", "hostNetwork", "hostPID", "hostIPC", "hostPath", "capabilities".
    pub kind: &'static str,
    pub severity: Severity,
    /// Human-readable specifics, so a reviewer need not reopen the event to see what was set.
    pub detail: String,
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

/// Caps the padding used to rebuild JSON-patch array indices, so a huge index in an
/// attacker-written path cannot make us allocate a huge array.
const MAX_PATCH_INDEX: usize = 1024;

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

/// The body of an audit event to inspect. A patch is judged by what it sends (a
/// fragment): its response is the whole object, and would blame the patcher for every
/// setting already there. Otherwise the response when it is the whole object after
/// admission (mutating webhooks may have changed it), else the request body. None when
/// the event was logged without bodies (Metadata level).
pub fn body_to_inspect<'a>(
    event: &'a Value,
    resource: &str,
    verb: Option<&str>,
) -> Option<(&'a Value, Body)> {
    let request = event.get("requestObject").filter(|o| !o.is_null());
    if verb == Some("patch") {
        return request.map(|r| (r, Body::Patch));
    }
    if let Some(object) = event
        .get("responseObject")
        .filter(|o| pod_spec(resource, o).is_some())
    {
        return Some((object, Body::Full));
    }
    request.map(|r| (r, Body::Full))
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
pub fn pod_spec<'a>(resource: &str, object: &'a Value) -> Option<&'a Value> {
    spec_path(resource)?
        .iter()
        .try_fold(object, |value, key| value.get(key))
        .filter(|spec| spec.is_object())
}

/// The identity the pods will run as, for correlating findings with RBAC. The deprecated
/// `serviceAccount` is still honoured by the API server, so it is the fallback; an empty
/// string means "default" to the API server and is reported as None.
pub fn service_account(resource: &str, object: &Value) -> Option<String> {
    let spec = pod_spec(resource, object)?;
    ["serviceAccountName", "serviceAccount"]
        .into_iter()
        .filter_map(|key| spec.get(key)?.as_str())
        .find(|name| !name.is_empty())
        .map(str::to_owned)
}

/// Finds the pod spec inside an object of the given resource (plural lower-case resource
/// name) and inspects it. An array `object` is taken as an RFC 6902 JSON patch and always
/// inspected as [`Body::Patch`], whatever `body` says; its findings come in op order.
pub fn inspect(resource: &str, object: &Value, body: Body) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Value::Array(ops) = object {
        for fragment in ops.iter().filter_map(json_patch_fragment) {
            if let Some(spec) = pod_spec(resource, &fragment) {
                inspect_spec(spec, Body::Patch, &mut out);
            }
        }
    } else if let Some(spec) = pod_spec(resource, object) {
        inspect_spec(spec, body, &mut out);
    }
    out
}

/// Turns one `add`/`replace` op into the equivalent merge-patch fragment, so a single code
/// path serves both patch styles: `/spec/containers/2/securityContext/privileged: true`
/// becomes `{"spec":{"containers":[null,null,{"securityContext":{"privileged":true}}]}}`.
/// The `null` padding keeps `"containers#2"` labels right, since non-objects are skipped.
/// Other ops carry no new value (`remove`, `test`) or copy one we cannot see (`move`, `copy`).
fn json_patch_fragment(op: &Value) -> Option<Value> {
    if !matches!(op.get("op")?.as_str()?, "add" | "replace") {
        return None;
    }
    let path = op.get("path")?.as_str()?;
    let mut fragment = op.get("value")?.clone();
    if path.is_empty() {
        return Some(fragment);
    }
    for token in path.strip_prefix('/')?.split('/').rev() {
        fragment = if token == "-" {
            Value::Array(vec![fragment])
        } else if let Ok(index) = token.parse::<usize>() {
            let mut items = vec![Value::Null; index.min(MAX_PATCH_INDEX)];
            items.push(fragment);
            Value::Array(items)
        } else {
            let key = token.replace("~1", "/").replace("~0", "~");
            Value::Object(Map::from_iter([(key, fragment)]))
        };
    }
    Some(fragment)
}

/// Object entries of an array field with their raw index; anything else is skipped because
/// the API server would reject it and there is nothing meaningful to inspect.
fn entries<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, item)| item.is_object() && !is_patch_delete(item))
}

/// A strategic-merge-patch list entry marked `"$patch": "delete"` removes the entry, so
/// whatever it says must not be reported as being added.
fn is_patch_delete(item: &Value) -> bool {
    item.get("$patch").and_then(Value::as_str) == Some("delete")
}

fn is_true(value: Option<&Value>) -> bool {
    value.and_then(Value::as_bool) == Some(true)
}

fn inspect_spec(spec: &Value, body: Body, out: &mut Vec<Finding>) {
    let pod_finding = |kind, detail| Finding {
        container: None,
        kind,
        severity: High,
        detail,
    };
    for kind in ["hostNetwork", "hostPID", "hostIPC"] {
        if is_true(spec.get(kind)) {
            out.push(pod_finding(kind, format!("{kind}: true")));
        }
    }
    for (index, volume) in entries(spec, "volumes") {
        let Some(host_path) = volume.get("hostPath").filter(|h| h.is_object()) else {
            continue;
        };
        let path = host_path.get("path").and_then(Value::as_str);
        let name = label(volume, "volumes", index);
        let detail = format!("hostPath {} (volume {name})", path.unwrap_or("<no path>"));
        out.push(pod_finding("hostPath", detail));
    }
    let pod_sc = spec.get("securityContext");
    for list in CONTAINER_LISTS {
        for (index, container) in entries(spec, list) {
            let name = label(container, list, index);
            let sc = container.get("securityContext");
            for (kind, severity, detail) in container_findings(sc, pod_sc, body) {
                let container = Some(name.clone());
                out.push(Finding {
                    container,
                    kind,
                    severity,
                    detail,
                });
            }
        }
    }
}

/// The raw `name`, or the entry's position when there is none, so a finding can still
/// be traced back to the manifest.
fn label(entry: &Value, list: &str, index: usize) -> String {
    let name = entry.get("name").and_then(Value::as_str);
    name.map_or_else(|| format!("{list}#{index}"), str::to_owned)
}

/// Reads a field from the container securityContext, else from the pod's, because the
/// kubelet applies the pod value only where the container leaves it unset. The second
/// element is a detail suffix telling where an inherited value came from.
fn inherited<T>(
    key: &str,
    sc: Option<&Value>,
    pod_sc: Option<&Value>,
    typed: fn(&Value) -> Option<T>,
) -> Option<(T, &'static str)> {
    let read = |sc: Option<&Value>| sc?.get(key).and_then(typed);
    let from_pod = || read(pod_sc).map(|value| (value, " (pod securityContext)"));
    read(sc).map(|value| (value, "")).or_else(from_pod)
}

/// Strips the optional `CAP_` prefix and upper-cases, as container runtimes do, so
/// `CAP_sys_admin` cannot slip past the list of dangerous capabilities.
fn normalize_cap(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_owned()
}

/// A container finding before the container name is attached: (kind, severity, detail).
type Check = (&'static str, Severity, String);

fn container_findings(sc: Option<&Value>, pod_sc: Option<&Value>, body: Body) -> Vec<Check> {
    const APE: &str = "allowPrivilegeEscalation";
    const RORFS: &str = "readOnlyRootFilesystem";
    let full = body == Body::Full;
    let field = |key: &str| sc.and_then(|sc| sc.get(key));
    let mut out = Vec::new();

    let privileged = is_true(field("privileged"));
    if privileged {
        let detail = "securityContext.privileged: true";
        out.push(("privileged", High, detail.into()));
    }

    let caps = field("capabilities").and_then(|caps| caps.get("add"));
    let added: Vec<&str> = (caps.and_then(Value::as_array).into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    let normalized: Vec<String> = added.iter().map(|cap| normalize_cap(cap)).collect();
    let find_cap = |wanted: &[&str]| normalized.iter().find(|cap| wanted.contains(&cap.as_str()));
    if !added.is_empty() {
        let severity = find_cap(&HIGH_CAPS).map_or(Medium, |_| High);
        let detail = format!("capabilities.add: {}", added.join(", "));
        out.push(("capabilities", severity, detail));
    }

    // Privileged containers and CAP_SYS_ADMIN (which ALL includes) run without
    // no_new_privs whatever the field says, so an explicit `false` must not hide them.
    let sys_admin = find_cap(&["SYS_ADMIN", "ALL"]).map(String::as_str);
    let implied_by = privileged.then_some("privileged").or(sys_admin);
    match (implied_by, field(APE).and_then(Value::as_bool)) {
        (Some(why), _) => out.push((APE, Medium, format!("{APE} implied by {why}"))),
        (None, Some(true)) => out.push((APE, Medium, format!("{APE}: true"))),
        (None, None) if full => out.push((APE, Low, format!("{APE} unset (defaults to true)"))),
        _ => {}
    }

    let user = inherited("runAsUser", sc, pod_sc, Value::as_i64);
    let non_root = inherited("runAsNonRoot", sc, pod_sc, Value::as_bool);
    let run_as_root = match (user, non_root) {
        (Some((0, from)), _) => Some((Medium, format!("runAsUser: 0{from}"))),
        (Some(_), _) => None,
        (None, Some((false, from))) => Some((Low, format!("runAsNonRoot: false{from}"))),
        (None, None) if full => Some((Low, "runAsNonRoot not set (image user decides)".into())),
        (None, _) => None,
    };
    out.extend(run_as_root.map(|(severity, detail)| ("runAsRoot", severity, detail)));

    match field(RORFS).and_then(Value::as_bool) {
        Some(false) => out.push((RORFS, Low, format!("{RORFS}: false"))),
        None if full => out.push((RORFS, Low, format!("{RORFS} unset"))),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Compares findings as "container kind severity: detail" lines (`-` for pod-level);
    /// `expected` may be indented and spread over lines for readability.
    #[track_caller]
    fn check(resource: &str, object: &Value, body: Body, expected: &str) {
        let show = |f: Finding| {
            let (kind, severity) = (f.kind, f.severity.as_str());
            let container = f.container.unwrap_or_else(|| "-".into());
            format!("{container} {kind} {severity}: {}", f.detail)
        };
        let actual: Vec<_> = inspect(resource, object, body)
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

    #[test]
    fn severity_round_trips_and_orders() {
        for sev in [Low, Medium, High] {
            assert_eq!(Severity::parse(sev.as_str()), Some(sev));
        }
        assert_eq!(Severity::parse("HIGH"), Some(High));
        assert_eq!(Severity::parse("critical"), None);
        assert!(Low < Medium && Medium < High);
    }

    #[test]
    fn privileged_pod_is_high() {
        let obj = json!({"kind":"Pod","spec":{"containers":[{"name":"nginx","image":"nginx",
            "securityContext":{"privileged":true}}]}});
        let expected = "
            nginx privileged high: securityContext.privileged: true
            nginx allowPrivilegeEscalation medium: allowPrivilegeEscalation implied by privileged
            nginx runAsRoot low: runAsNonRoot not set (image user decides)
            nginx readOnlyRootFilesystem low: readOnlyRootFilesystem unset";
        check("pods", &obj, Body::Full, expected);
    }

    #[test]
    fn hardened_pod_has_no_findings() {
        let spec = json!({"containers": [{"name": "app", "securityContext": hardened()}],
            "initContainers": [{"name": "init", "securityContext": hardened()}]});
        check("pods", &pod(spec), Body::Full, "");
    }

    #[test]
    fn ordinary_pod_gets_three_lows_per_container_in_order() {
        let spec = json!({"ephemeralContainers": [{"name": "debug"}],
            "containers": [{"name": "a"}, {"image": "b"}]});
        let mut expected = String::new();
        for name in ["a", "containers#1", "debug"] {
            expected += &format!("
                {name} allowPrivilegeEscalation low: allowPrivilegeEscalation unset (defaults to true)
                {name} runAsRoot low: runAsNonRoot not set (image user decides)
                {name} readOnlyRootFilesystem low: readOnlyRootFilesystem unset");
        }
        check("pods", &pod(spec), Body::Full, &expected);
    }

    #[test]
    fn pod_level_security_context_is_inherited_unless_overridden() {
        let spec = json!({"securityContext": {"runAsNonRoot": true},
            "containers": [{"name": "a", "securityContext": {"readOnlyRootFilesystem": true}},
                {"name": "b", "securityContext": {"runAsUser": 0, "readOnlyRootFilesystem": true}}]});
        let expected = "
            a allowPrivilegeEscalation low: allowPrivilegeEscalation unset (defaults to true)
            b allowPrivilegeEscalation low: allowPrivilegeEscalation unset (defaults to true)
            b runAsRoot medium: runAsUser: 0";
        check("pods", &pod(spec), Body::Full, expected);
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
        check("pods", &obj, Body::Full, expected);
    }

    #[test]
    fn workload_templates_are_found() {
        let template = json!({"spec": {"hostPID": true}});
        let deployment = json!({"kind": "Deployment", "spec": {"template": template}});
        let cronjob = json!({"spec": {"jobTemplate": {"spec": {"template": template}}}});
        let expected = "- hostPID high: hostPID: true";
        check("deployments", &deployment, Body::Full, expected);
        check("cronjobs", &cronjob, Body::Full, expected);
        check("pods", &deployment, Body::Full, "");
        check("configmaps", &deployment, Body::Full, "");
    }

    #[test]
    fn patch_mode_never_reports_unset() {
        let patch = json!({"spec": {"template": {"spec": {"securityContext": {"runAsUser": 0},
            "containers": [{"name": "a", "image": "new"},
                {"name": "b", "securityContext": {"readOnlyRootFilesystem": false}},
                {"name": "gone", "$patch": "delete", "securityContext": {"privileged": true}}]}}}});
        let expected = "
            a runAsRoot medium: runAsUser: 0 (pod securityContext)
            b runAsRoot medium: runAsUser: 0 (pod securityContext)
            b readOnlyRootFilesystem low: readOnlyRootFilesystem: false";
        check("statefulsets", &patch, Body::Patch, expected);
        let untouched = json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}});
        check("statefulsets", &untouched, Body::Patch, "");
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
        check("daemonsets", &ops, Body::Full, expected);
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
        check("pods", &pod(spec), Body::Full, expected);
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
            &with_caps(json!(["CAP_sys_admin"])),
            Body::Full,
            expected,
        );
        let expected = "c capabilities medium: capabilities.add: NET_ADMIN, chown";
        check(
            "pods",
            &with_caps(json!(["NET_ADMIN", "chown"])),
            Body::Full,
            expected,
        );
        check("pods", &with_caps(json!([])), Body::Full, "");
        check("pods", &with_caps(json!("SYS_ADMIN")), Body::Full, "");
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
                {"op": 3, "path": "/spec/hostPID", "value": true}]),
        ];
        for obj in &garbage {
            check("pods", obj, Body::Patch, "");
            assert_eq!(service_account("pods", obj), None);
        }
        // Mistyped values read as unset, so a full body gets only the "unset" Lows.
        let findings = inspect("pods", &garbage[3], Body::Full);
        assert!(findings.iter().all(|f| f.severity == Low), "{findings:?}");
        let last = findings.last().and_then(|f| f.container.as_deref());
        assert_eq!((findings.len(), last), (6, Some("initContainers#4")));
    }

    #[test]
    fn service_account_lookup() {
        let sa = |resource, obj| service_account(resource, &obj);
        let both = json!({"serviceAccountName": "web", "serviceAccount": "old"});
        assert_eq!(sa("pods", pod(both.clone())), Some("web".into()));
        let deployment = json!({"spec": {"template": {"spec": both}}});
        assert_eq!(sa("deployments", deployment), Some("web".into()));
        let deprecated = json!({"serviceAccountName": "", "serviceAccount": "legacy"});
        assert_eq!(sa("pods", pod(deprecated)), Some("legacy".into()));
        assert_eq!(sa("pods", pod(json!({}))), None);
        assert_eq!(sa("deployments", pod(both)), None);
    }
}
