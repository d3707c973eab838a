//! The simulated cluster: its nodes, workloads, API resources and clients. Shared by
//! the noise and the story so that both describe the same cluster.

use std::sync::Arc;

use super::{Actor, Identity, Rng, Uuid};

/// The cluster's apiserver and components are v1.31.2 (commit 5864a46).
pub(crate) const K8S: &str = "v1.31.2 (linux/amd64) kubernetes/5864a46";
pub(crate) const CONTROL_PLANE_IP: &str = "10.0.0.10";

pub(crate) const NODES: [&str; 3] = ["worker-1", "worker-2", "worker-3"];
pub(crate) const NODE_IPS: [&str; 3] = ["10.0.0.11", "10.0.0.12", "10.0.0.13"];
/// Node objects' uids; fixed so that the story's pod-bound tokens can name them.
pub(crate) const NODE_UIDS: [&str; 3] = [
    "3f1c9a52-8e0b-4c6d-9a71-2b5d8e4f6a01",
    "7b2e4d19-5c3a-4f8e-b6d2-9e1a0c7f3b02",
    "c94a7e36-1d5b-4a2f-8c0e-6f3b2d9a5e03",
];

/// An API resource: group (`""` is core), version, plural name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Res(pub &'static str, pub &'static str, pub &'static str);

pub(crate) const PODS: Res = Res("", "v1", "pods");
pub(crate) const NODES_RES: Res = Res("", "v1", "nodes");
pub(crate) const SECRETS: Res = Res("", "v1", "secrets");
pub(crate) const CONFIGMAPS: Res = Res("", "v1", "configmaps");
pub(crate) const SERVICES: Res = Res("", "v1", "services");
pub(crate) const NAMESPACES: Res = Res("", "v1", "namespaces");
pub(crate) const SERVICEACCOUNTS: Res = Res("", "v1", "serviceaccounts");
pub(crate) const INGRESSES: Res = Res("networking.k8s.io", "v1", "ingresses");
pub(crate) const CLUSTERROLES: Res = Res("rbac.authorization.k8s.io", "v1", "clusterroles");
pub(crate) const CLUSTERROLEBINDINGS: Res =
    Res("rbac.authorization.k8s.io", "v1", "clusterrolebindings");
pub(crate) const ROLES: Res = Res("rbac.authorization.k8s.io", "v1", "roles");
pub(crate) const CSRS: Res = Res("certificates.k8s.io", "v1", "certificatesigningrequests");
pub(crate) const LEASES: Res = Res("coordination.k8s.io", "v1", "leases");
pub(crate) const ENDPOINTSLICES: Res = Res("discovery.k8s.io", "v1", "endpointslices");
pub(crate) const DEPLOYMENTS: Res = Res("apps", "v1", "deployments");
pub(crate) const REPLICASETS: Res = Res("apps", "v1", "replicasets");
pub(crate) const STATEFULSETS: Res = Res("apps", "v1", "statefulsets");
pub(crate) const PROMETHEUSES: Res = Res("monitoring.coreos.com", "v1", "prometheuses");
pub(crate) const ALERTMANAGERS: Res = Res("monitoring.coreos.com", "v1", "alertmanagers");
pub(crate) const SERVICEMONITORS: Res = Res("monitoring.coreos.com", "v1", "servicemonitors");
pub(crate) const PODMONITORS: Res = Res("monitoring.coreos.com", "v1", "podmonitors");
pub(crate) const PROMETHEUSRULES: Res = Res("monitoring.coreos.com", "v1", "prometheusrules");
pub(crate) const ALERTMANAGERCONFIGS: Res =
    Res("monitoring.coreos.com", "v1alpha1", "alertmanagerconfigs");

/// What runs on each worker: pods `(namespace, name)`, and the configmaps and secrets
/// they mount, which that node's kubelet reads (the node authorizer allows exactly that).
pub(crate) struct Node {
    pub pods: &'static [(&'static str, &'static str)],
    pub configmaps: &'static [(&'static str, &'static str)],
    pub secrets: &'static [(&'static str, &'static str)],
}

pub(crate) static WORKLOADS: [Node; 3] = [
    Node {
        pods: &[
            ("kube-system", "coredns-7db6d8ff4d-5xk2p"),
            ("kube-system", "kube-proxy-8k2ld"),
            ("web", "web-frontend-6c9f8d7b5-2mzqr"),
        ],
        configmaps: &[
            ("kube-system", "coredns"),
            ("kube-system", "kube-proxy"),
            ("kube-system", "kube-root-ca.crt"),
            ("web", "web-config"),
            ("web", "kube-root-ca.crt"),
        ],
        secrets: &[("web", "web-tls")],
    },
    Node {
        pods: &[
            ("kube-system", "kube-proxy-qv7xs"),
            ("monitoring", "prometheus-k8s-0"),
            ("monitoring", "prometheus-operator-6d9b8c7f5-kq7ld"),
        ],
        configmaps: &[
            ("kube-system", "kube-proxy"),
            ("monitoring", "prometheus-k8s-rulefiles-0"),
            ("monitoring", "kube-root-ca.crt"),
        ],
        secrets: &[
            ("monitoring", "prometheus-k8s"),
            ("monitoring", "prometheus-k8s-tls-assets-0"),
            ("monitoring", "prometheus-k8s-web-config"),
        ],
    },
    Node {
        pods: &[
            ("kube-system", "coredns-7db6d8ff4d-h9vbn"),
            ("kube-system", "kube-proxy-z5n4c"),
            ("monitoring", "alertmanager-main-0"),
            ("web", "web-frontend-6c9f8d7b5-p8w4t"),
        ],
        configmaps: &[
            ("kube-system", "coredns"),
            ("kube-system", "kube-proxy"),
            ("monitoring", "kube-root-ca.crt"),
            ("web", "web-config"),
        ],
        secrets: &[
            ("monitoring", "alertmanager-main-generated"),
            ("web", "web-tls"),
        ],
    },
];

const SA_GROUPS_KUBE_SYSTEM: &[&str] = &[
    "system:serviceaccounts",
    "system:serviceaccounts:kube-system",
    "system:authenticated",
];

/// A ServiceAccount token bound to a pod: what `user.extra` carries since v1.30.
pub(crate) struct PodToken {
    pub pod: &'static str,
    pub pod_uid: Uuid,
    /// Index into NODES.
    pub node: usize,
    /// `JTI=<uuid>`: the token's id (KEP-4193), in `credential-id`.
    pub jti: String,
}

impl PodToken {
    pub(crate) fn new(rng: &mut Rng, namespace: &str, pod: &'static str, node: usize) -> PodToken {
        PodToken {
            pod,
            pod_uid: Uuid::for_object(&format!("pods/{namespace}/{pod}")),
            node,
            jti: format!("JTI={}", rng.uuid().as_str()),
        }
    }

    pub(crate) fn extra(&self) -> [(&str, &str); 5] {
        [
            (
                "authentication.kubernetes.io/credential-id",
                self.jti.as_str(),
            ),
            ("authentication.kubernetes.io/node-name", NODES[self.node]),
            (
                "authentication.kubernetes.io/node-uid",
                NODE_UIDS[self.node],
            ),
            ("authentication.kubernetes.io/pod-name", self.pod),
            (
                "authentication.kubernetes.io/pod-uid",
                self.pod_uid.as_str(),
            ),
        ]
    }
}

/// The RBAC reason string the apiserver writes, e.g.
/// `RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "x" to User "x"`.
pub(crate) fn rbac_reason(binding: &str, role: &str, subject: &str) -> String {
    let kind = if binding.contains('/') {
        "RoleBinding"
    } else {
        "ClusterRoleBinding"
    };
    format!("RBAC: allowed by {kind} {binding:?} of {role} to {subject}")
}

/// `system:node:<node>`, authenticated by client certificate.
pub(crate) fn kubelet_actor(node: usize) -> Arc<Actor> {
    let username = format!("system:node:{}", NODES[node]);
    let id = Identity {
        username: &username,
        uid: "",
        groups: &["system:nodes", "system:authenticated"],
        extra: &[],
    };
    // The node authorizer allows without giving a reason.
    Actor::new(&id, None, &[NODE_IPS[node]], &format!("kubelet/{K8S}"), "")
}

/// The scheduler; `component` ends its userAgent (`scheduler`, `leader-election`).
pub(crate) fn scheduler_actor(component: &str) -> Arc<Actor> {
    let id = Identity {
        username: "system:kube-scheduler",
        uid: "",
        groups: &["system:authenticated"],
        extra: &[],
    };
    let reason = rbac_reason(
        "system:kube-scheduler",
        "ClusterRole \"system:kube-scheduler\"",
        "User \"system:kube-scheduler\"",
    );
    Actor::new(
        &id,
        None,
        &[CONTROL_PLANE_IP],
        &format!("kube-scheduler/{K8S}/{component}"),
        &reason,
    )
}

/// A kube-controller-manager controller. With --use-service-account-credentials each
/// controller has its own ServiceAccount token: not pod-bound, so only a credential-id.
pub(crate) fn controller_actor(name: &str, credential_id: &str) -> Arc<Actor> {
    let username = format!("system:serviceaccount:kube-system:{name}");
    let uid = Uuid::for_object(&format!("serviceaccounts/kube-system/{name}"));
    let id = Identity {
        username: &username,
        uid: uid.as_str(),
        groups: SA_GROUPS_KUBE_SYSTEM,
        extra: &[("authentication.kubernetes.io/credential-id", credential_id)],
    };
    let role = format!("system:controller:{name}");
    let reason = rbac_reason(
        &role,
        &format!("ClusterRole {role:?}"),
        &format!("ServiceAccount \"{name}/kube-system\""),
    );
    Actor::new(
        &id,
        None,
        &[CONTROL_PLANE_IP],
        &format!("kube-controller-manager/{K8S}/{username}"),
        &reason,
    )
}

/// Every noise client, with its JSON fragments rendered once.
pub(crate) struct Actors {
    pub kcm_leader: Arc<Actor>,
    pub kcm_informers: Arc<Actor>,
    pub scheduler_leader: Arc<Actor>,
    pub scheduler_informers: Arc<Actor>,
    pub kubelets: [Arc<Actor>; 3],
    pub coredns: [Arc<Actor>; 2],
    pub operator: Arc<Actor>,
    pub endpointslice_controller: Arc<Actor>,
    pub garbage_collector: Arc<Actor>,
    pub probe: Arc<Actor>,
    pub developers: [Arc<Actor>; 2],
}

impl Actors {
    /// The cast of the generated cluster, drawn once from `rng`: control-plane components
    /// with their RBAC reasons, the system pods' ServiceAccount tokens (pods, nodes, uids),
    /// kubelets, operators, probes and two developers.
    pub(crate) fn new(rng: &mut Rng) -> Actors {
        let kcm_reason = rbac_reason(
            "system:kube-controller-manager",
            "ClusterRole \"system:kube-controller-manager\"",
            "User \"system:kube-controller-manager\"",
        );
        let kcm = Identity {
            username: "system:kube-controller-manager",
            uid: "",
            groups: &["system:authenticated"],
            extra: &[],
        };
        let coredns_tokens = [
            PodToken::new(rng, "kube-system", "coredns-7db6d8ff4d-5xk2p", 0),
            PodToken::new(rng, "kube-system", "coredns-7db6d8ff4d-h9vbn", 2),
        ];
        let coredns = |i: usize, ip: &str| {
            let sa_uid = Uuid::for_object("serviceaccounts/kube-system/coredns");
            let extra = coredns_tokens[i].extra();
            let id = Identity {
                username: "system:serviceaccount:kube-system:coredns",
                uid: sa_uid.as_str(),
                groups: SA_GROUPS_KUBE_SYSTEM,
                extra: &extra,
            };
            let reason = rbac_reason(
                "system:coredns",
                "ClusterRole \"system:coredns\"",
                "ServiceAccount \"coredns/kube-system\"",
            );
            Actor::new(
                &id,
                None,
                &[ip],
                "coredns/v1.11.3 (linux/amd64) kubernetes/$Format",
                &reason,
            )
        };
        let operator_token =
            PodToken::new(rng, "monitoring", "prometheus-operator-6d9b8c7f5-kq7ld", 1);
        let operator_extra = operator_token.extra();
        let operator_uid = Uuid::for_object("serviceaccounts/monitoring/prometheus-operator");
        let operator = Identity {
            username: "system:serviceaccount:monitoring:prometheus-operator",
            uid: operator_uid.as_str(),
            groups: &[
                "system:serviceaccounts",
                "system:serviceaccounts:monitoring",
                "system:authenticated",
            ],
            extra: &operator_extra,
        };
        let controller = |rng: &mut Rng, name: &str| {
            controller_actor(name, &format!("JTI={}", rng.uuid().as_str()))
        };
        let anonymous = Identity {
            username: "system:anonymous",
            uid: "",
            groups: &["system:unauthenticated"],
            extra: &[],
        };
        let public_info = rbac_reason(
            "system:public-info-viewer",
            "ClusterRole \"system:public-info-viewer\"",
            "Group \"system:unauthenticated\"",
        );
        let developer = |name: &str, ip: &str, ua: &str| {
            let id = Identity {
                username: name,
                uid: "",
                groups: &["oidc:developers", "system:authenticated"],
                extra: &[],
            };
            let reason = rbac_reason(
                "developers/web",
                "ClusterRole \"edit\"",
                "Group \"oidc:developers\"",
            );
            Actor::new(&id, None, &[ip], ua, &reason)
        };
        Actors {
            kcm_leader: Actor::new(
                &kcm,
                None,
                &[CONTROL_PLANE_IP],
                &format!("kube-controller-manager/{K8S}/leader-election"),
                &kcm_reason,
            ),
            kcm_informers: Actor::new(
                &kcm,
                None,
                &[CONTROL_PLANE_IP],
                &format!("kube-controller-manager/{K8S}/shared-informers"),
                &kcm_reason,
            ),
            scheduler_leader: scheduler_actor("leader-election"),
            scheduler_informers: scheduler_actor("scheduler"),
            kubelets: [kubelet_actor(0), kubelet_actor(1), kubelet_actor(2)],
            coredns: [coredns(0, "10.244.1.12"), coredns(1, "10.244.3.9")],
            operator: Actor::new(
                &operator,
                None,
                &["10.244.2.21"],
                "PrometheusOperator/0.77.1",
                &rbac_reason(
                    "prometheus-operator",
                    "ClusterRole \"prometheus-operator\"",
                    "ServiceAccount \"prometheus-operator/monitoring\"",
                ),
            ),
            endpointslice_controller: controller(rng, "endpointslice-controller"),
            garbage_collector: controller(rng, "generic-garbage-collector"),
            probe: Actor::new(
                &anonymous,
                None,
                &[CONTROL_PLANE_IP],
                "kube-probe/1.31",
                &public_info,
            ),
            developers: [
                developer(
                    "dave@example.com",
                    "203.0.113.41",
                    &format!("kubectl/{}", K8S.replace("linux", "darwin")),
                ),
                developer(
                    "erin@example.com",
                    "203.0.113.57",
                    &format!("kubectl/{K8S}"),
                ),
            ],
        }
    }
}
