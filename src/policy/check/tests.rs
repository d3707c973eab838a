//! The cases of kube-apiserver's own checker tests (`checker_test.go`), translated into
//! Policy files read by `load` and requests as kaudit reads them from events: the same
//! requests (a namespaced get, a cluster-scoped get, a non-resource URL, a subresource,
//! a request without a user, a status update), the same rules, the same expected levels
//! and omitted stages.

use super::*;
use crate::policy::load::load;

/// A rule of the table below, as YAML (one list item).
fn rule(name: &str) -> &'static str {
    match name {
        "default" => "- level: Metadata",
        "create" => "- level: Request\n  verbs: [create]",
        "tims" => "- level: Metadata\n  users: [tim@k8s.io]",
        "humans" => "- level: Metadata\n  userGroups: [humans]",
        "serviceAccounts" => "- level: Request\n  userGroups: [\"system:serviceaccounts\"]",
        "getPods" => "- level: RequestResponse\n  verbs: [get]\n  resources: [{resources: [pods]}]",
        "getPodLogs" => "- level: Request\n  verbs: [get]\n  resources: [{resources: [pods/log]}]",
        "getPodWildcardMatching" => {
            "- level: Request\n  verbs: [get]\n  resources: [{resources: [\"*\"]}]"
        }
        "getPodResourceWildcardMatching" => {
            "- level: Request\n  verbs: [get]\n  resources: [{resources: [\"*/log\"]}]"
        }
        "getPodSubResourceWildcardMatching" => {
            "- level: Request\n  verbs: [get]\n  resources: [{resources: [\"pods/*\"]}]"
        }
        "getClusterRoles" => {
            "- level: RequestResponse\n  verbs: [get]\n  resources:\n  - group: rbac.authorization.k8s.io\n    resources: [clusterroles]\n  namespaces: [\"\"]"
        }
        "getGroupWildCardMatchingWithSubresourceWildcardMatching" => {
            "- level: RequestResponse\n  verbs: [update]\n  resources: [{group: \"*\", resources: [\"*/status\"]}]"
        }
        "getLogs" => "- level: RequestResponse\n  verbs: [get]\n  nonResourceURLs: [\"/logs*\"]",
        "getMetrics" => "- level: Request\n  verbs: [get]\n  nonResourceURLs: [/metrics]",
        "clusterRoleEdit" => {
            "- level: Request\n  resources:\n  - group: rbac.authorization.k8s.io\n    resources: [clusterroles]\n    resourceNames: [edit]"
        }
        "omit RequestReceived" => "- level: Request\n  omitStages: [RequestReceived]",
        "only audit panic" => {
            "- level: Request\n  omitStages: [RequestReceived, ResponseStarted, ResponseComplete]"
        }
        other => panic!("no rule {other}"),
    }
}

fn request(name: &str) -> Attributes<'static> {
    let tim = Attributes {
        user: Some("tim@k8s.io"),
        groups: vec!["humans", "developers"],
        verb: "get",
        ..Attributes::default()
    };
    let pod = Attributes {
        resource_request: true,
        namespace: "default",
        resource: "pods",
        name: "busybox",
        path: "/api/v1/namespaces/default/pods/busybox".into(),
        ..tim.clone()
    };
    match name {
        "namespaced" => pod,
        "cluster" => Attributes {
            resource_request: true,
            api_group: "rbac.authorization.k8s.io",
            resource: "clusterroles",
            name: "edit",
            path: "/apis/rbac.authorization.k8s.io/v1beta1/clusterroles/edit".into(),
            ..tim
        },
        "nonResource" => Attributes {
            path: "/logs/kubelet.log".into(),
            ..tim
        },
        "subresource" => Attributes {
            subresource: "log",
            ..pod
        },
        "Unauthorized" => Attributes {
            user: None,
            groups: Vec::new(),
            ..pod
        },
        "ClusterRoleUpdate" => Attributes {
            verb: "update",
            resource_request: true,
            api_group: "rbac.authorization.k8s.io",
            resource: "clusterroles",
            subresource: "status",
            name: "somerole",
            path: "/apis/rbac.authorization.k8s.io/v1beta1/clusterroles/somerole".into(),
            ..tim
        },
        other => panic!("no request {other}"),
    }
}

/// The decision of the Policy made of `rules` (and Policy-wide `stages`) for `req`.
fn decide(req: &str, stages: &[&str], rules: &[&str]) -> Decision {
    let mut text = String::from("apiVersion: audit.k8s.io/v1\nkind: Policy\n");
    if !stages.is_empty() {
        text += &format!("omitStages: [{}]\n", stages.join(", "));
    }
    text += "rules:\n";
    for name in rules {
        text += rule(name);
        text += "\n";
    }
    let (policy, warnings) = load(&text).unwrap_or_else(|p| panic!("{text}\n{p:?}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    evaluate(&policy, &request(req))
}

fn expect(req: &str, level: Level, stages: &[&str], expected_stages: &[&str], rules: &[&str]) {
    let d = decide(req, stages, rules);
    assert_eq!(d.level, level, "{req} {rules:?}");
    assert_eq!(d.omit_stages, expected_stages, "{req} {rules:?} stages");
}

fn levels_for(stages: &[&str]) {
    use Level::*;
    let s = stages;
    let cases: &[(&str, Level, &[&str])] = &[
        ("namespaced", Metadata, &["default"]),
        ("namespaced", None, &["create"]),
        ("namespaced", Metadata, &["tims"]),
        ("namespaced", Metadata, &["humans"]),
        ("namespaced", None, &["serviceAccounts"]),
        ("namespaced", RequestResponse, &["getPods"]),
        ("namespaced", None, &["getClusterRoles"]),
        ("namespaced", None, &["getLogs"]),
        ("namespaced", None, &["getMetrics"]),
        (
            "namespaced",
            Metadata,
            &["getMetrics", "serviceAccounts", "default"],
        ),
        (
            "namespaced",
            RequestResponse,
            &["getMetrics", "getPods", "default"],
        ),
        ("namespaced", RequestResponse, &["getPodLogs", "getPods"]),
        ("cluster", Metadata, &["default"]),
        ("cluster", None, &["create"]),
        ("cluster", Metadata, &["tims"]),
        ("cluster", Metadata, &["humans"]),
        ("cluster", None, &["serviceAccounts"]),
        ("cluster", None, &["getPods"]),
        ("cluster", RequestResponse, &["getClusterRoles"]),
        ("cluster", Request, &["clusterRoleEdit", "getClusterRoles"]),
        ("cluster", None, &["getLogs"]),
        ("cluster", None, &["getMetrics"]),
        (
            "cluster",
            Metadata,
            &["getMetrics", "serviceAccounts", "default"],
        ),
        (
            "cluster",
            RequestResponse,
            &["getMetrics", "getClusterRoles", "default"],
        ),
        ("cluster", None, &["getPodLogs", "getPods"]),
        ("nonResource", Metadata, &["default"]),
        ("nonResource", None, &["create"]),
        ("nonResource", Metadata, &["tims"]),
        ("nonResource", Metadata, &["humans"]),
        ("nonResource", None, &["serviceAccounts"]),
        ("nonResource", None, &["getPods"]),
        ("nonResource", None, &["getClusterRoles"]),
        ("nonResource", RequestResponse, &["getLogs"]),
        ("nonResource", None, &["getMetrics"]),
        (
            "nonResource",
            Metadata,
            &["getMetrics", "serviceAccounts", "default"],
        ),
        (
            "nonResource",
            RequestResponse,
            &["getLogs", "getClusterRoles", "default"],
        ),
        ("nonResource", None, &["getPodLogs", "getPods"]),
        ("subresource", Request, &["getPodLogs", "getPods"]),
        ("subresource", Request, &["getPodWildcardMatching"]),
        ("subresource", Request, &["getPodResourceWildcardMatching"]),
        (
            "subresource",
            Request,
            &["getPodSubResourceWildcardMatching"],
        ),
        ("Unauthorized", None, &["tims"]),
        ("Unauthorized", Metadata, &["tims", "default"]),
        ("Unauthorized", None, &["humans"]),
        ("Unauthorized", Metadata, &["humans", "default"]),
        (
            "ClusterRoleUpdate",
            RequestResponse,
            &["getGroupWildCardMatchingWithSubresourceWildcardMatching"],
        ),
    ];
    for (req, level, rules) in cases {
        expect(req, *level, s, s, rules);
    }
}

const ALL_BUT_PANIC: [&str; 3] = ["RequestReceived", "ResponseStarted", "ResponseComplete"];

#[test]
fn levels_as_the_apiserver_checker_gives_them() {
    levels_for(&[]);
    for req in ["namespaced", "cluster", "nonResource"] {
        let rules = ["omit RequestReceived", "getPods", "default"];
        expect(req, Level::Request, &[], &["RequestReceived"], &rules);
        let rules = ["only audit panic", "getPods", "default"];
        expect(req, Level::Request, &[], &ALL_BUT_PANIC, &rules);
    }
}

#[test]
fn policy_wide_omit_stages_join_each_rules() {
    let policy_stages = ["RequestReceived", "ResponseStarted"];
    levels_for(&policy_stages);
    for req in ["namespaced", "cluster"] {
        let rules = ["omit RequestReceived", "getPods", "default"];
        expect(req, Level::Request, &policy_stages, &policy_stages, &rules);
    }
    let rules = ["default", "omit RequestReceived", "getPods"];
    expect(
        "nonResource",
        Level::Metadata,
        &policy_stages,
        &policy_stages,
        &rules,
    );
    for req in ["namespaced", "cluster", "nonResource"] {
        let rules = ["only audit panic", "getPods", "default"];
        expect(req, Level::Request, &policy_stages, &ALL_BUT_PANIC, &rules);
    }
}

#[test]
fn the_matching_rule_and_managed_fields_are_told() {
    let text = "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: true\nrules:\n\
                - level: None\n  users: [nobody]\n\
                - level: Metadata\n  omitManagedFields: false\n";
    let (policy, _) = load(text).unwrap();
    let d = evaluate(&policy, &request("namespaced"));
    assert_eq!(
        (d.level, d.rule, d.omit_managed_fields),
        (Level::Metadata, Some(1), false)
    );
    let text = text.replace("  omitManagedFields: false\n", "");
    let (policy, _) = load(&text).unwrap();
    assert!(evaluate(&policy, &request("namespaced")).omit_managed_fields);
}

/// `pods/*` takes the resource itself too; `*/status` only subresources; a create is
/// judged without a name, so `resourceNames` never matches one.
#[test]
fn wildcards_and_names_read_as_the_apiserver_reads_them() {
    let one = |rules: &str, attrs: Attributes<'_>| {
        let text = format!("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{rules}\n");
        let (policy, _) = load(&text).unwrap();
        evaluate(&policy, &attrs).rule
    };
    let pods = "- level: Request\n  resources: [{resources: [\"pods/*\"]}]";
    assert_eq!(one(pods, request("namespaced")), Some(0));
    let status = "- level: Request\n  resources: [{resources: [\"*/status\"]}]";
    assert_eq!(one(status, request("namespaced")), None);
    let named = "- level: Request\n  resources: [{resources: [pods], resourceNames: [busybox]}]";
    assert_eq!(one(named, request("namespaced")), Some(0));
    let create = Attributes {
        verb: "create",
        name: "",
        ..request("namespaced")
    };
    assert_eq!(one(named, create), None);
    // A trailing-* URL is a prefix; a URL without one is exact.
    let urls = "- level: Request\n  nonResourceURLs: [\"/healthz*\", /version]";
    let path = |p: &'static str| Attributes {
        path: p.into(),
        ..request("nonResource")
    };
    assert_eq!(one(urls, path("/healthz/etcd")), Some(0));
    assert_eq!(one(urls, path("/version/")), None);
    // Non-namespaced requests are the namespace "".
    let cluster_scoped = "- level: Request\n  namespaces: [\"\"]";
    assert_eq!(one(cluster_scoped, request("cluster")), Some(0));
    assert_eq!(one(cluster_scoped, request("namespaced")), None);
    assert_eq!(one(cluster_scoped, request("nonResource")), None);
}
