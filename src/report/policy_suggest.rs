//! `kaudit policy suggest`: an audit Policy written from the traffic the index holds.
//!
//! Rules, first match wins, each commented with what it took and its bytes (measured by
//! `policy check` on the traffic, so the comments are what the Policy does, not what
//! it was meant to do):
//!
//! 1. None for health checks (`/healthz*`, `/readyz*`, `/livez*`);
//! 2. Metadata for Secrets, TokenRequests, TokenReviews and ConfigMaps: who touched
//!    them, never their values;
//! 3. Request for pod and workload writes (their spec) and for sessions into pods (exec,
//!    attach, port-forward, ephemeral containers);
//! 4. RequestResponse for RBAC changes (what they grant, and what the apiserver stored);
//! 5. None for the read-only chatter of system components seen in the traffic (the
//!    scheduler, controller manager and kube-system controllers by name, the kubelets
//!    by their group `system:nodes`): after the rules above, so their secret reads and
//!    sessions are still logged;
//! 6. Metadata for everything else; `omitStages: [RequestReceived]` for all.
//!
//! `policy check` on the result finds no leak and no blind spot: each kind it looks
//! for is taken by a rule above at the level it asks for.

use serde_json::{Value, json};

use super::policy_check::{self, LEAK_FIX};
use super::{Cell, Report};
use crate::error::{Error, Result};
use crate::query::counts::{Key, Spec};
use crate::query::parse::{Expr, Field, Value as Term};
use crate::query::{Engine, Search};

/// Users whose reads are a system component's chatter: the control plane by name,
/// the controllers of kube-system. Nodes are taken by their group.
fn is_component(user: &str) -> bool {
    user.starts_with("system:kube-")
        || user == "system:apiserver"
        || user.starts_with("system:serviceaccount:kube-system:")
}

/// The suggested Policy as `yaml` (with comments) or JSON.
pub fn suggest(engine: &Engine, scope: &Search, json_out: bool) -> Result<String> {
    let readers = component_readers(engine, scope)?;
    let rules = rules(&readers);
    let mut policy = json!({
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived"],
        "rules": rules.iter().map(|(_, rule)| rule.clone()).collect::<Vec<_>>(),
    });
    // Read back as the apiserver would: what is suggested must load.
    let text = serde_json::to_string(&policy).expect("a JSON value");
    let (loaded, _) = crate::policy::load::load(&text).map_err(|p| {
        Error::Internal(format!(
            "the suggested Policy does not load: {:?}",
            p.errors
        ))
    })?;
    let report = policy_check::run(engine, &loaded, scope)?;
    if json_out {
        policy["rules"] = Value::Array(rules.into_iter().map(|(_, r)| r).collect());
        return Ok(format!("{policy:#}\n"));
    }
    Ok(yaml(&rules, &report))
}

/// The observed users of component reads, largest first.
fn component_readers(engine: &Engine, scope: &Search) -> Result<(Vec<String>, bool)> {
    let reads = Expr::Or(
        ["get", "list", "watch"]
            .iter()
            .map(|v| Expr::Field(Field::Verb, Term::Exact(v.to_string())))
            .collect(),
    );
    let search = Search {
        expr: Expr::And(vec![scope.expr.clone(), reads]),
        since: scope.since,
        until: scope.until,
    };
    let spec = Spec {
        fields: vec![Field::User],
        every: None,
        min: 1,
        top: None,
    };
    let counts = engine.counts(&search, &spec)?;
    let mut users = Vec::new();
    let mut nodes = false;
    for row in counts.rows {
        if let Some(Some(Key::Text(user))) = row.values.first() {
            if user.starts_with("system:node:") {
                nodes = true;
            } else if is_component(user) {
                users.push(user.clone());
            }
        }
    }
    Ok((users, nodes))
}

/// The rules, each with the comment that says what it is for.
fn rules((users, nodes): &(Vec<String>, bool)) -> Vec<(String, Value)> {
    let leak_fix: Value = rule_of(LEAK_FIX);
    let mut secrets = leak_fix.clone();
    secrets["resources"][0]["resources"] =
        json!(["secrets", "serviceaccounts/token", "configmaps"]);
    let workloads = rule_of(super::immutability::POLICY_RULE);
    let mut out = vec![
        (
            "Health checks: noise.".to_string(),
            json!({"level": "None", "nonResourceURLs": ["/healthz*", "/readyz*", "/livez*"]}),
        ),
        (
            "Secrets, tokens and ConfigMaps: who touched them, never their values.".into(),
            secrets,
        ),
        (
            "Pod and workload writes: their spec, for the immutability and privileged-pod checks."
                .into(),
            workloads,
        ),
        (
            "Sessions into pods: exec, attach, port-forward, ephemeral containers.".into(),
            json!({"level": "Request", "resources": [{"group": "",
                "resources": ["pods/exec", "pods/attach", "pods/portforward", "pods/ephemeralcontainers"]}]}),
        ),
        (
            "RBAC changes: what they grant, and what was stored.".into(),
            json!({"level": "RequestResponse",
                "verbs": ["create", "update", "patch", "delete", "deletecollection"],
                "resources": [{"group": "rbac.authorization.k8s.io",
                    "resources": ["roles", "clusterroles", "rolebindings", "clusterrolebindings"]}]}),
        ),
    ];
    if !users.is_empty() {
        out.push((
            "Read-only chatter of the system components seen in this traffic.".into(),
            json!({"level": "None", "users": users, "verbs": ["get", "list", "watch"]}),
        ));
    }
    if *nodes {
        out.push((
            "Read-only chatter of the kubelets.".into(),
            json!({"level": "None", "userGroups": ["system:nodes"], "verbs": ["get", "list", "watch"]}),
        ));
    }
    out.push((
        "Everything else: who did what, when.".into(),
        json!({"level": "Metadata"}),
    ));
    out
}

/// A rule written as YAML in this module's constants, as a JSON value.
fn rule_of(yaml: &str) -> Value {
    let text = format!("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{yaml}\n");
    let (policy, _) = crate::policy::load::load(&text).expect("a constant rule loads");
    let rule = &policy.rules[0];
    let mut value = json!({"level": rule.level.as_str()});
    if !rule.verbs.is_empty() {
        value["verbs"] = json!(rule.verbs);
    }
    value["resources"] = Value::Array(
        rule.resources
            .iter()
            .map(|gr| json!({"group": gr.group, "resources": gr.resources}))
            .collect(),
    );
    value
}

/// The Policy as commented YAML: a header with the volumes, a comment per rule with
/// what it took in this traffic.
fn yaml(rules: &[(String, Value)], report: &Report) -> String {
    let cell = |section: &str, row: usize, column: &str| -> u64 {
        let Some(s) = report.sections.iter().find(|s| s.key == section) else {
            return 0;
        };
        let at = s.columns.iter().position(|c| *c == column);
        match at.and_then(|i| s.rows.get(row).map(|r| &r[i])) {
            Some(Cell::Count(n)) => *n,
            _ => 0,
        }
    };
    // A cost row by its measure: `bytes per day` is absent when the requests span no time.
    let cost = |measure: &str, column: &str| -> Option<u64> {
        let s = report.sections.iter().find(|s| s.key == "cost")?;
        let row = s
            .rows
            .iter()
            .position(|r| matches!(&r[0], Cell::Text(Some(m)) if m == measure))?;
        Some(cell("cost", row, column))
    };
    let mb = |b: u64| match b {
        0..1_000 => format!("{b} B"),
        1_000..1_000_000 => format!("{:.1} kB", b as f64 / 1e3),
        _ => format!("{:.1} MB", b as f64 / 1e6),
    };
    let mut out = String::from(
        "# An audit Policy written by `kaudit policy suggest` from the traffic in its index.\n",
    );
    let per_day = |column| {
        cost("bytes per day", column).map_or(String::new(), |b| format!(" ({} a day)", mb(b)))
    };
    out += &format!(
        "# Today's log: {}{}; under this Policy: {}{}.\n",
        mb(cost("bytes", "today").unwrap_or(0)),
        per_day("today"),
        mb(cost("bytes", "projected").unwrap_or(0)),
        per_day("projected"),
    );
    let leaks = report
        .sections
        .iter()
        .find(|s| s.key == "leaks")
        .map_or(0, |s| s.rows.len());
    let blind = report
        .sections
        .iter()
        .find(|s| s.key == "blindSpots")
        .map_or(0, |s| s.rows.len());
    out += &format!("# `kaudit policy check` on it: {leaks} leak(s), {blind} blind spot(s).\n");
    out += "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages:\n  - RequestReceived\nrules:\n";
    for (i, (comment, rule)) in rules.iter().enumerate() {
        out += &format!(
            "  # {comment}\n  # Took {} request(s): {} today, {} under this Policy.\n",
            cell("rules", i, "requests"),
            mb(cell("rules", i, "bytesToday")),
            mb(cell("rules", i, "projectedBytes")),
        );
        out += &indent(&yaml_rule(rule), "  ");
    }
    out
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

/// One rule as a YAML list item: scalars and string lists inline (JSON strings are YAML
/// strings), `resources` as a block of mappings.
fn yaml_rule(rule: &Value) -> String {
    let mut out = String::new();
    let mut first = true;
    for (key, value) in rule.as_object().into_iter().flatten() {
        let lead = if first { "- " } else { "  " };
        first = false;
        match value {
            Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
                out += &format!("{lead}{key}:\n");
                for item in items {
                    let mut inner = true;
                    for (k, v) in item.as_object().into_iter().flatten() {
                        let lead = if inner { "  - " } else { "    " };
                        inner = false;
                        out += &format!("{lead}{k}: {v}\n");
                    }
                }
            }
            Value::String(s) if key == "level" => out += &format!("{lead}{key}: {s}\n"),
            _ => out += &format!("{lead}{key}: {value}\n"),
        }
    }
    out
}
