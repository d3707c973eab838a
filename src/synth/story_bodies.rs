//! The story's writes whose bodies tell what they did: a NodePort service, a binding to
//! cluster-admin, a wildcard role, a role granting exec, credentials in a ConfigMap, an
//! Ingress without TLS and a client-certificate CSR, each at Request level (the binding at
//! RequestResponse) beside a write that looks alike and is harmless. The `queries/` that
//! read bodies find the first of each pair and never the second.

use std::sync::Arc;

use super::cluster::{
    CLUSTERROLEBINDINGS, CLUSTERROLES, CONFIGMAPS, CSRS, INGRESSES, ROLES, SERVICES,
};
use super::noise::path;
use super::story::{at, facts::*, late_name, scene};
use super::{Actor, Level, Req};

/// A create of `body` at Request level, answered 201.
fn create(id: &str, actor: &Arc<Actor>, t: i64, name: &'static str, body: String) -> Req {
    let mut r = scene(id, actor, "create", t, 9_000 + t % 7_000);
    r.level = Level::Request;
    r.code = 201;
    r.uri.clear();
    late_name(&mut r, name);
    r.request_object = Some(body);
    r
}

fn placed(mut r: Req, res: super::cluster::Res, ns: &'static str, name: &'static str) -> Req {
    path(&mut r, res, ns, "", "");
    r.uri
        .push_str("?fieldManager=kubectl-create&fieldValidation=Strict");
    late_name(&mut r, name);
    r
}

/// The story's scenes whose bodies the body queries find (NodePort services, cluster-admin
/// bindings, wildcard roles, credentials in ConfigMaps, Ingresses without TLS, client
/// certificate requests, images from outside the registry), in order.
pub(super) fn scenes(alice: &Arc<Actor>, bob: &Arc<Actor>, kubelet: &Arc<Actor>) -> Vec<Req> {
    let service = |kind: &str, port: &str| {
        format!(
            r#"{{"kind":"Service","apiVersion":"v1","metadata":{{"name":"x","namespace":"payments","creationTimestamp":null}},"spec":{{"ports":[{{"name":"http","protocol":"TCP","port":8080,"targetPort":8080{port}}}],"selector":{{"app":"report-runner"}},"type":"{kind}"}},"status":{{"loadBalancer":{{}}}}}}"#
        )
        .replace(r#""name":"x""#, r#""name":"report-runner""#)
    };
    let binding = |name: &str, role: &str| {
        format!(
            r#"{{"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{{"name":"{name}","creationTimestamp":null}},"subjects":[{{"kind":"ServiceAccount","name":"deployer","namespace":"ci"}}],"roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"{role}"}}}}"#
        )
    };
    let ingress = |name: &str, tls: &str| {
        format!(
            r#"{{"kind":"Ingress","apiVersion":"networking.k8s.io/v1","metadata":{{"name":"{name}","namespace":"payments","creationTimestamp":null}},"spec":{{"ingressClassName":"nginx","rules":[{{"host":"{name}.example.com","http":{{"paths":[{{"path":"/","pathType":"Prefix","backend":{{"service":{{"name":"report-runner","port":{{"number":8080}}}}}}}}]}}}}]{tls}}},"status":{{"loadBalancer":{{}}}}}}"#
        )
    };
    let csr = |name: &str, signer: &str, usages: &str| {
        format!(
            r#"{{"kind":"CertificateSigningRequest","apiVersion":"certificates.k8s.io/v1","metadata":{{"name":"{name}","creationTimestamp":null}},"spec":{{"request":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K","signerName":"{signer}","usages":[{usages}]}},"status":{{}}}}"#
        )
    };
    let mut out = vec![
        placed(
            create(ID_NODEPORT_SERVICE, alice, at(9, 5, 14, 402_118), "report-runner-debug",
                service("NodePort", r#","nodePort":30222"#).replace(r#""name":"report-runner","namespace""#, r#""name":"report-runner-debug","namespace""#)),
            SERVICES, "payments", "report-runner-debug",
        ),
        placed(
            create(ID_CLUSTERIP_SERVICE, alice, at(9, 6, 30, 77_512), "report-runner", service("ClusterIP", "")),
            SERVICES, "payments", "report-runner",
        ),
        placed(
            create(ID_VIEW_BINDING, alice, at(9, 13, 5, 610_004), "ci-deployer-view", binding("ci-deployer-view", "view")),
            CLUSTERROLEBINDINGS, "", "ci-deployer-view",
        ),
        placed(
            create(ID_WILDCARD_ROLE, alice, at(9, 20, 33, 118_340), WILDCARD_ROLE,
                format!(r#"{{"kind":"ClusterRole","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{{"name":"{WILDCARD_ROLE}","creationTimestamp":null}},"rules":[{{"verbs":["*"],"apiGroups":["*"],"resources":["*"]}}]}}"#)),
            CLUSTERROLES, "", WILDCARD_ROLE,
        ),
        placed(
            create(ID_EXEC_ROLE, alice, at(9, 21, 10, 905_871), "debug-exec",
                r#"{"kind":"Role","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"debug-exec","namespace":"payments","creationTimestamp":null},"rules":[{"verbs":["get","list"],"apiGroups":[""],"resources":["pods"]},{"verbs":["create"],"apiGroups":[""],"resources":["pods/exec"]}]}"#.into()),
            ROLES, "payments", "debug-exec",
        ),
        placed(
            create(ID_CREDENTIALS_CONFIGMAP, bob, at(9, 48, 2, 331_760), "report-config",
                format!(r#"{{"kind":"ConfigMap","apiVersion":"v1","metadata":{{"name":"report-config","namespace":"payments","creationTimestamp":null}},"data":{{"DB_HOST":"db.payments.svc","DB_PASSWORD":"Winter2026!","settings.ini":"[export]\nbucket = s3://reports-archive\naws_access_key_id = {AWS_KEY_ID}\nregion = eu-west-1\n"}}}}"#)),
            CONFIGMAPS, "payments", "report-config",
        ),
        placed(
            create(ID_PLAIN_CONFIGMAP, bob, at(9, 49, 40, 12_904), "report-settings",
                r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"report-settings","namespace":"payments","creationTimestamp":null},"data":{"LOG_LEVEL":"info","PASSWORD_MIN_LENGTH":"12","settings.ini":"[export]\nformat = csv\n"}}"#.into()),
            CONFIGMAPS, "payments", "report-settings",
        ),
        placed(
            create(ID_INGRESS_NO_TLS, alice, at(10, 10, 27, 640_213), "report-ui", ingress("report-ui", "")),
            INGRESSES, "payments", "report-ui",
        ),
        placed(
            create(ID_INGRESS_TLS, alice, at(10, 11, 0, 201_447), "report-api",
                ingress("report-api", r#","tls":[{"hosts":["report-api.example.com"],"secretName":"report-api-tls"}]"#)),
            INGRESSES, "payments", "report-api",
        ),
        placed(
            create(ID_CLIENT_CSR, bob, at(10, 14, 45, 533_020), CLIENT_CSR,
                csr(CLIENT_CSR, "kubernetes.io/kube-apiserver-client", r#""client auth""#)),
            CSRS, "", CLIENT_CSR,
        ),
        placed(
            create(ID_KUBELET_CSR, kubelet, at(10, 15, 3, 90_611), "csr-8vx2k",
                csr("csr-8vx2k", "kubernetes.io/kube-apiserver-client-kubelet", r#""digital signature","client auth""#)),
            CSRS, "", "csr-8vx2k",
        ),
    ];
    // The binding is logged at RequestResponse: the response body names the role too.
    let body = binding(CLUSTER_ADMIN_BINDING, "cluster-admin");
    let mut r = placed(
        create(
            ID_CLUSTER_ADMIN_BINDING,
            alice,
            at(9, 12, 41, 250_733),
            CLUSTER_ADMIN_BINDING,
            body.clone(),
        ),
        CLUSTERROLEBINDINGS,
        "",
        CLUSTER_ADMIN_BINDING,
    );
    r.level = Level::RequestResponse;
    r.response_object = Some(body.replace(
        r#""creationTimestamp":null"#,
        r#""uid":"0c5b7a2e-3f9d-4b1a-8e6c-2d4f9a1b7e30","resourceVersion":"4829377","creationTimestamp":"2026-11-20T09:12:41Z""#,
    ));
    out.insert(2, r);
    out
}
