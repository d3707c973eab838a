//! The `sample-logs/` story: three hours of one cluster's audit log, rotated by
//! lumberjack into three files, with an investigation's worth of scenes planted in the
//! noise at fixed times and a few broken lines at the end of the current file.

use std::io::Write as _;
use std::sync::Arc;

use chrono::TimeZone as _;

use super::cluster::{
    DEPLOYMENTS, PODS, PodToken, REPLICASETS, SECRETS, SERVICEACCOUNTS, controller_actor,
    kubelet_actor, rbac_reason, scheduler_actor,
};
use super::noise::{Noise, path};
use super::{
    Actor, Failure, Identity, Level, MICROS_PER_SEC, Req, Rng, Stage, Uuid, base64, go_duration,
};

/// Facts about the story, for tests and the README.
pub mod facts {
    /// Seed of the story's background noise.
    pub const NOISE_SEED: u64 = 20_261_120;
    /// Mean noise requests per hour (about two lines each).
    pub const NOISE_REQUESTS_PER_HOUR: u32 = 270;
    /// The story covers [START, END).
    pub const START: &str = "2026-11-20T08:00:00Z";
    pub const END: &str = "2026-11-20T11:00:00Z";

    /// lumberjack names, oldest first: a backup is named for the time it was rotated
    /// (here on the hour); the oldest was gzipped (`--audit-log-compress`).
    pub const FILE_OLDEST: &str = "audit-2026-11-20T09-00-00.000.log.gz";
    pub const FILE_MIDDLE: &str = "audit-2026-11-20T10-00-00.000.log";
    pub const FILE_CURRENT: &str = "audit.log";
    pub const FILES: [&str; 3] = [FILE_OLDEST, FILE_MIDDLE, FILE_CURRENT];
    /// Lines per file (uncompressed), in FILES order; audit.log's last line has no newline.
    pub const LINES: [usize; 3] = [643, 615, 775];

    pub const SECRET: &str = "payments/db-password";
    pub const SECRET_NAMESPACE: &str = "payments";
    pub const SECRET_NAME: &str = "db-password";
    /// In clear (base64) in the Request-level body of the secret's create.
    pub const PLANTED_SECRET_VALUE: &str = "kaudit-planted-Zq7v3xT9";
    pub const PLANTED_SECRET_VALUE_B64: &str = "a2F1ZGl0LXBsYW50ZWQtWnE3djN4VDk=";
    /// In clear (base64) in the Request-level body of the secret's patch.
    pub const PLANTED_PATCH_VALUE: &str = "kaudit-rotated-Hm4k8wR2";
    pub const PLANTED_PATCH_VALUE_B64: &str = "a2F1ZGl0LXJvdGF0ZWQtSG00azh3UjI=";

    pub const ADMIN: &str = "alice@example.com";
    pub const ADMIN_IP: &str = "203.0.113.10";
    pub const EXEC_USER: &str = "bob@example.com";
    pub const EXEC_USER_IP: &str = "203.0.113.25";
    pub const IMPERSONATOR: &str = "ci-bot@example.com";

    pub const SERVICE_ACCOUNT: &str = "payments/report-runner";
    pub const SA_USERNAME: &str = "system:serviceaccount:payments:report-runner";
    pub const DEPLOYMENT: &str = "payments/report-runner";
    pub const REPLICASET: &str = "payments/report-runner-7d4f9c";
    /// Created with generateName by the replicaset controller: its name is only in the
    /// RequestResponse-level responseObject, never in that event's objectRef.
    pub const POD: &str = "payments/report-runner-7d4f9c-x2x9q";
    pub const POD_NAME: &str = "report-runner-7d4f9c-x2x9q";
    pub const POD_UID: &str = "5e8f2c1a-7b3d-4e9f-a6c2-d1b0e9f8a7c4";
    pub const POD_IP: &str = "10.244.2.47";
    pub const NODE: &str = "worker-2";
    pub const NODE_UID: &str = "7b2e4d19-5c3a-4f8e-b6d2-9e1a0c7f3b02";
    /// The pod's bound token, in user.extra of each of its requests.
    pub const CREDENTIAL_ID: &str = "JTI=6a0b3f2e-9d41-4c7a-b8e5-1f2d3c4b5a60";

    /// Exec over SPDY (verb create) at 09:40, decoded: in the file each `&` is `\u0026`.
    pub const EXEC_URI: &str = "/api/v1/namespaces/payments/pods/report-runner-7d4f9c-x2x9q/exec?command=sh&command=-c&command=cat%20%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken&container=runner&stderr=true&stdout=true";
    /// Exec over WebSocket (verb get) at 10:30, an interactive shell.
    pub const EXEC_WS_URI: &str = "/api/v1/namespaces/payments/pods/report-runner-7d4f9c-x2x9q/exec?command=%2Fbin%2Fbash&container=runner&stdin=true&stdout=true&tty=true";

    /// privileged, hostPID, hostNetwork, hostPath `/`, SYS_ADMIN.
    pub const PRIVILEGED_POD: &str = "kube-system/debug-tools";
    /// The negative case: runAsNonRoot, readOnlyRootFilesystem, no escalation, drop ALL.
    pub const SAFE_POD: &str = "payments/ok-pod";

    pub const FORBIDDEN_USER: &str = "system:serviceaccount:ci:deployer";
    pub const FORBIDDEN_POD: &str = "ci/deployer-5f6b-abcde";
    pub const FORBIDDEN_MESSAGE: &str = "secrets is forbidden: User \"system:serviceaccount:ci:deployer\" cannot list resource \"secrets\" in API group \"\" in the namespace \"payments\"";
    pub const ANONYMOUS_IP: &str = "198.51.100.7";
    /// The scanner's userAgent, with terminal escape sequences.
    pub const ANSI_USER_AGENT: &str = "kube-scan/0.3 \u{1b}[31mevil\u{1b}[0m";

    /// The user with the most lines (an operator, as on real clusters).
    pub const TOP_USER: &str = "system:serviceaccount:monitoring:prometheus-operator";
    /// Watches secrets cluster-wide in the noise: a list/watch returns payments/db-password too.
    pub const CLUSTER_WIDE_SECRET_WATCHER: &str = "system:kube-controller-manager";

    // The scenes' auditIDs: 001 to 020 in time order, then 021 to 025 (below), added later.
    pub const ID_CREATE_SECRET: &str = "a1d17000-0000-4000-8000-000000000001";
    pub const ID_CREATE_SA: &str = "a1d17000-0000-4000-8000-000000000002";
    pub const ID_CREATE_DEPLOYMENT: &str = "a1d17000-0000-4000-8000-000000000003";
    pub const ID_CREATE_REPLICASET: &str = "a1d17000-0000-4000-8000-000000000004";
    pub const ID_CREATE_POD: &str = "a1d17000-0000-4000-8000-000000000005";
    pub const ID_BIND_POD: &str = "a1d17000-0000-4000-8000-000000000006";
    pub const ID_POD_STATUS: &str = "a1d17000-0000-4000-8000-000000000007";
    /// The pod's ServiceAccount reads the secret at 08:30, 09:15 and 10:05.
    pub const ID_SECRET_GETS: [&str; 3] = [
        "a1d17000-0000-4000-8000-000000000008",
        "a1d17000-0000-4000-8000-000000000009",
        "a1d17000-0000-4000-8000-000000000010",
    ];
    pub const ID_EXEC: &str = "a1d17000-0000-4000-8000-000000000011";
    pub const ID_CREATE_PRIVILEGED_POD: &str = "a1d17000-0000-4000-8000-000000000012";
    pub const ID_FORBIDDEN_LIST: &str = "a1d17000-0000-4000-8000-000000000013";
    pub const ID_IMPERSONATED_GET: &str = "a1d17000-0000-4000-8000-000000000014";
    pub const ID_EXEC_WS: &str = "a1d17000-0000-4000-8000-000000000015";
    pub const ID_CREATE_SAFE_POD: &str = "a1d17000-0000-4000-8000-000000000016";
    pub const ID_PATCH_SECRET: &str = "a1d17000-0000-4000-8000-000000000017";
    pub const ID_ANONYMOUS_VERSION: &str = "a1d17000-0000-4000-8000-000000000018";
    pub const ID_ANONYMOUS_LIST: &str = "a1d17000-0000-4000-8000-000000000019";
    /// The auditID inside the invalid-UTF-8 line (a lone ResponseComplete).
    pub const ID_INVALID_UTF8: &str = "a1d17000-0000-4000-8000-000000000020";

    /// 08:21 the kubelet of worker-2 asks for the pod's ServiceAccount token
    /// (`serviceaccounts/token` create, Request level: a TokenRequest bound to the pod, with
    /// an empty `status.token` as kubelets send it). The apiserver logs the token's id in the
    /// `authentication.kubernetes.io/issued-credential-id` annotation: CREDENTIAL_ID, the
    /// credential-id of every later request of the pod.
    pub const ID_TOKEN_REQUEST: &str = "a1d17000-0000-4000-8000-000000000021";
    /// 09:55 bob runs `kubectl cp payments/report-runner-7d4f9c-x2x9q:/app/config ./config`:
    /// an exec of `tar cf - /app/config` over SPDY (verb create).
    pub const ID_CP: &str = "a1d17000-0000-4000-8000-000000000022";
    /// The cp's exec URI, decoded: in the file each `&` is `\u0026`.
    pub const CP_URI: &str = "/api/v1/namespaces/payments/pods/report-runner-7d4f9c-x2x9q/exec?command=tar&command=cf&command=-&command=%2Fapp%2Fconfig&container=runner&stderr=true&stdout=true";
    /// 10:33 bob port-forwards to the pod over SPDY (verb create) for about two and a half
    /// minutes; SPDY carries the ports in stream headers, so the URI has none.
    pub const ID_PORT_FORWARD: &str = "a1d17000-0000-4000-8000-000000000023";
    pub const PORT_FORWARD_URI: &str =
        "/api/v1/namespaces/payments/pods/report-runner-7d4f9c-x2x9q/portforward";
    /// 10:36 bob runs `kubectl debug -it <pod> --image=busybox:1.36 --target=runner`: a
    /// strategic-merge patch of `pods/ephemeralcontainers` (Request level) adding
    /// EPHEMERAL_CONTAINER, which runs the image's own entrypoint.
    pub const ID_EPHEMERAL: &str = "a1d17000-0000-4000-8000-000000000024";
    pub const EPHEMERAL_CONTAINER: &str = "debugger-x7k2p";
    pub const EPHEMERAL_IMAGE: &str = "busybox:1.36";
    /// 10:38 the kubelet of worker-2 watches the secret with a `metadata.name` field selector,
    /// as kubelets do for secrets their pods use, until 10:46. Written as an apiserver that
    /// does not copy the selector into objectRef.name writes it (the noise's kubelet watches
    /// do copy it): objectRef names only the namespace, so name-based queries
    /// (`name:db-password`) miss it and it is not in SECRET_READ_IDS; the secrets report
    /// finds it through the field selector in the URI.
    pub const ID_KUBELET_SECRET_WATCH: &str = "a1d17000-0000-4000-8000-000000000025";
    /// The watch's URI, decoded: in the file each `&` is `\u0026`.
    pub const KUBELET_SECRET_WATCH_URI: &str = "/api/v1/namespaces/payments/secrets?allowWatchBookmarks=true&fieldSelector=metadata.name%3Ddb-password&resourceVersion=4829001&timeout=7m41s&watch=true";

    /// Allowed reads of the secret's value: the three gets, and the impersonated get
    /// (not the kubelet's watch, ID_KUBELET_SECRET_WATCH, whose objectRef has no name).
    pub const SECRET_READ_IDS: [&str; 4] = [
        ID_SECRET_GETS[0],
        ID_SECRET_GETS[1],
        ID_SECRET_GETS[2],
        ID_IMPERSONATED_GET,
    ];
    /// Denied attempts on payments/db-password: the namespace list and the anonymous cluster-wide list.
    pub const SECRET_FORBIDDEN_IDS: [&str; 2] = [ID_FORBIDDEN_LIST, ID_ANONYMOUS_LIST];

    // Writes whose bodies the body-field saved queries find (`story_bodies`), each
    // beside a write that looks alike and must not be found.
    /// 09:05 alice exposes the report runner on a NodePort (30222); 09:06 a ClusterIP one.
    pub const ID_NODEPORT_SERVICE: &str = "a1d17000-0000-4000-8000-000000000026";
    pub const NODEPORT_SERVICE: &str = "payments/report-runner-debug";
    pub const ID_CLUSTERIP_SERVICE: &str = "a1d17000-0000-4000-8000-000000000027";
    /// 09:12 alice binds ci/deployer to cluster-admin (RequestResponse); 09:13 to view.
    pub const ID_CLUSTER_ADMIN_BINDING: &str = "a1d17000-0000-4000-8000-000000000028";
    pub const CLUSTER_ADMIN_BINDING: &str = "ci-deployer-admin";
    pub const ID_VIEW_BINDING: &str = "a1d17000-0000-4000-8000-000000000029";
    /// 09:20 a ClusterRole with `*` verbs and resources; 09:21 a Role granting pods/exec.
    pub const ID_WILDCARD_ROLE: &str = "a1d17000-0000-4000-8000-000000000030";
    pub const WILDCARD_ROLE: &str = "ops-everything";
    pub const ID_EXEC_ROLE: &str = "a1d17000-0000-4000-8000-000000000031";
    pub const EXEC_ROLE: &str = "payments/debug-exec";
    /// 09:48 bob stores an AWS key and a password in a ConfigMap; 09:49 a harmless one.
    pub const ID_CREDENTIALS_CONFIGMAP: &str = "a1d17000-0000-4000-8000-000000000032";
    pub const CREDENTIALS_CONFIGMAP: &str = "payments/report-config";
    /// The AWS documentation's example key: a real key's shape, no real key.
    pub const AWS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    pub const ID_PLAIN_CONFIGMAP: &str = "a1d17000-0000-4000-8000-000000000033";
    /// 10:10 an Ingress without TLS; 10:11 one with TLS.
    pub const ID_INGRESS_NO_TLS: &str = "a1d17000-0000-4000-8000-000000000034";
    pub const INGRESS_NO_TLS: &str = "payments/report-ui";
    pub const ID_INGRESS_TLS: &str = "a1d17000-0000-4000-8000-000000000035";
    /// 10:14 bob asks for a client certificate for `system:masters`; 10:15 the kubelet of
    /// worker-2 renews its own (signer `kube-apiserver-client-kubelet`).
    pub const ID_CLIENT_CSR: &str = "a1d17000-0000-4000-8000-000000000036";
    pub const CLIENT_CSR: &str = "bob-break-glass";
    pub const ID_KUBELET_CSR: &str = "a1d17000-0000-4000-8000-000000000037";

    // Immutability (namespace `web`, `story_immutability`).
    /// 10:50 pod `web/httpd`: a startupProbe removes bash, its root stays writable.
    pub const ID_HTTPD_POD: &str = "a1d17000-0000-4000-8000-000000000038";
    /// 10:51 pod `web/nginx` privileged, as root, escalating, with a writable root; 10:52
    /// deleted; 10:53 recreated read-only with emptyDir on /var/cache/nginx and /var/run.
    pub const ID_NGINX_PRIVILEGED: &str = "a1d17000-0000-4000-8000-000000000039";
    pub const ID_NGINX_DELETE: &str = "a1d17000-0000-4000-8000-000000000040";
    pub const ID_NGINX_HARDENED: &str = "a1d17000-0000-4000-8000-000000000041";
    pub const NGINX_IMAGE: &str = "registry.example.com/web/nginx@sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac";
    /// 10:54 `kubectl set image deployment/web-frontend web=registry.example.com/web/nginx:1.27.3`.
    pub const ID_SET_IMAGE: &str = "a1d17000-0000-4000-8000-000000000042";
    /// 10:55 bob runs `apt-get install -y curl` in the read-only nginx.
    pub const ID_EXEC_INSTALL: &str = "a1d17000-0000-4000-8000-000000000043";
    pub const EXEC_INSTALL_URI: &str = "/api/v1/namespaces/web/pods/nginx/exec?command=apt-get&command=install&command=-y&command=curl&container=nginx&stderr=true&stdout=true";

    // 1-based line numbers of the broken lines in audit.log (FILE_CURRENT).
    /// `{"kind":"Event","apiVersion":`
    pub const MALFORMED_LINE: usize = 742;
    /// `{"kind":0}`
    pub const WRONG_TYPES_LINE: usize = 753;
    /// An event whose userAgent holds the bytes C3 28 FF.
    pub const INVALID_UTF8_LINE: usize = 764;
    /// The last line: the next event cut in half, with no trailing newline.
    pub const TRUNCATED_LINE: usize = 775;
    pub const MALFORMED_TEXT: &str = r#"{"kind":"Event","apiVersion":"#;
    pub const WRONG_TYPES_TEXT: &str = r#"{"kind":0}"#;
}

/// Microseconds since the epoch of a time on the story's day.
pub(super) fn at(h: u32, m: u32, s: u32, micros: i64) -> i64 {
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 20, h, m, s)
        .unwrap()
        .timestamp_micros()
        + micros
}

const KUBECTL: &str = "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46";

/// A scene request: allowed with the actor's usual reason, answered after `latency` µs.
pub(super) fn scene(id: &str, actor: &Arc<Actor>, verb: &'static str, t: i64, latency: i64) -> Req {
    let mut r = Req::new(Uuid::parse(id), Arc::clone(actor), verb);
    r.t_received = t;
    r.t_rr_stage = t + 31;
    r.t_done = t + latency;
    r.annotate("authorization.k8s.io/decision", Arc::from("allow"));
    r.annotate("authorization.k8s.io/reason", Arc::clone(&actor.reason));
    r
}

/// A scene request on the story's secret, payments/db-password.
fn on_secret(id: &str, actor: &Arc<Actor>, verb: &'static str, t: i64, latency: i64) -> Req {
    let mut r = scene(id, actor, verb, t, latency);
    path(&mut r, SECRETS, "payments", "db-password", "");
    r
}

/// The name a create's body gives, which objectRef only shows once it is decoded.
pub(super) fn late_name(r: &mut Req, name: &'static str) {
    if let Some(o) = &mut r.obj {
        o.late_name = name;
    }
}

fn deny(r: &mut Req, message: String, kind: &'static str) {
    r.code = 403;
    r.failure = Some(Box::new(Failure {
        reason: "Forbidden",
        message,
        details_name: "",
        details_group: "",
        details_kind: kind,
    }));
    r.annotations.clear();
    r.annotate("authorization.k8s.io/decision", Arc::from("forbid"));
    r.annotate("authorization.k8s.io/reason", Arc::from(""));
}

fn human(name: &str, group: &str, ip: &str, reason: &str) -> Arc<Actor> {
    let groups = [group, "system:authenticated"];
    let id = Identity {
        username: name,
        uid: "",
        groups: &groups,
        extra: &[],
    };
    Actor::new(&id, None, &[ip], KUBECTL, reason)
}

const RUNNER_GROUPS: &[&str] = &[
    "system:serviceaccounts",
    "system:serviceaccounts:payments",
    "system:authenticated",
];

/// All scene requests, each list in time order: the first scenes (auditIDs 001 to 020),
/// and the later ones (021 on), which [`story`] adds without disturbing the noise.
fn scenes() -> (Vec<Req>, Vec<Req>) {
    use facts::*;
    let alice = human(
        ADMIN,
        "oidc:platform-admins",
        ADMIN_IP,
        &rbac_reason(
            "platform-admins",
            "ClusterRole \"cluster-admin\"",
            "Group \"oidc:platform-admins\"",
        ),
    );
    let bob = human(
        EXEC_USER,
        "oidc:sre",
        EXEC_USER_IP,
        &rbac_reason("sre", "ClusterRole \"cluster-admin\"", "Group \"oidc:sre\""),
    );
    let runner_reason = rbac_reason(
        "report-runner/payments",
        "Role \"db-password-reader\"",
        "ServiceAccount \"report-runner/payments\"",
    );
    let runner_sa_uid = Uuid::for_object("serviceaccounts/payments/report-runner");
    let runner_token = PodToken {
        pod: POD_NAME,
        pod_uid: Uuid::parse(POD_UID),
        node: 1,
        jti: CREDENTIAL_ID.into(),
    };
    let runner_extra = runner_token.extra();
    let runner_id = Identity {
        username: SA_USERNAME,
        uid: runner_sa_uid.as_str(),
        groups: RUNNER_GROUPS,
        extra: &runner_extra,
    };
    let runner = Actor::new(
        &runner_id,
        None,
        &[POD_IP],
        "OpenAPI-Generator/31.0.0/python",
        &runner_reason,
    );

    let mut out = Vec::new();
    let mut later = Vec::new();

    // 1. 08:12 alice creates the secret (Request level: the value is in the body) and the ServiceAccount.
    let mut r = scene(
        ID_CREATE_SECRET,
        &alice,
        "create",
        at(8, 12, 3, 417_221),
        9_842,
    );
    r.level = Level::Request;
    path(&mut r, SECRETS, "payments", "", "");
    r.uri
        .push_str("?fieldManager=kubectl-create&fieldValidation=Strict");
    late_name(&mut r, "db-password");
    r.code = 201;
    r.request_object = Some(format!(
        r#"{{"kind":"Secret","apiVersion":"v1","metadata":{{"name":"db-password","namespace":"payments","creationTimestamp":null}},"data":{{"password":"{}"}},"type":"Opaque"}}"#,
        base64(PLANTED_SECRET_VALUE.as_bytes())
    ));
    out.push(r);

    let mut r = scene(ID_CREATE_SA, &alice, "create", at(8, 12, 41, 90_554), 7_310);
    r.level = Level::Request;
    path(&mut r, SERVICEACCOUNTS, "payments", "", "");
    r.uri
        .push_str("?fieldManager=kubectl-create&fieldValidation=Strict");
    late_name(&mut r, "report-runner");
    r.code = 201;
    r.request_object = Some(
        r#"{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"report-runner","namespace":"payments","creationTimestamp":null}}"#.into(),
    );
    out.push(r);

    // 2. 08:20 alice creates the Deployment; controllers create the ReplicaSet and the Pod,
    // the scheduler binds it to worker-2, whose kubelet reports its status.
    let mut r = scene(
        ID_CREATE_DEPLOYMENT,
        &alice,
        "create",
        at(8, 20, 55, 301_775),
        14_203,
    );
    r.level = Level::Request;
    path(&mut r, DEPLOYMENTS, "payments", "", "");
    r.uri
        .push_str("?fieldManager=kubectl-create&fieldValidation=Strict");
    late_name(&mut r, "report-runner");
    r.code = 201;
    r.request_object = Some(format!(
        r#"{{"kind":"Deployment","apiVersion":"apps/v1","metadata":{{"name":"report-runner","namespace":"payments","creationTimestamp":null,"labels":{{"app":"report-runner"}}}},"spec":{{"replicas":1,"selector":{{"matchLabels":{{"app":"report-runner"}}}},"template":{{"metadata":{{"creationTimestamp":null,"labels":{{"app":"report-runner"}}}},"spec":{{"containers":[{RUNNER_CONTAINER}],"serviceAccountName":"report-runner"}}}},"strategy":{{}}}},"status":{{}}}}"#
    ));
    out.push(r);

    let deployment_controller = controller_actor(
        "deployment-controller",
        "JTI=0c6e1d2b-3a4f-4b5c-9d8e-7f6a5b4c3d21",
    );
    let mut r = scene(
        ID_CREATE_REPLICASET,
        &deployment_controller,
        "create",
        at(8, 20, 55, 342_906),
        6_118,
    );
    path(&mut r, REPLICASETS, "payments", "", "");
    late_name(&mut r, "report-runner-7d4f9c");
    r.code = 201;
    out.push(r);

    let replicaset_controller = controller_actor(
        "replicaset-controller",
        "JTI=9e2d4c6b-8a1f-4e3d-a5c7-b9d1e3f5a742",
    );
    let t_pod = at(8, 21, 4, 118_392);
    let mut r = scene(
        ID_CREATE_POD,
        &replicaset_controller,
        "create",
        t_pod,
        11_657,
    );
    r.level = Level::RequestResponse;
    path(&mut r, PODS, "payments", "", "");
    r.code = 201;
    let rs_uid = Uuid::for_object("replicasets/payments/report-runner-7d4f9c");
    let owner = format!(
        r#""labels":{{"app":"report-runner","pod-template-hash":"7d4f9c"}},"ownerReferences":[{{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"report-runner-7d4f9c","uid":"{}","controller":true,"blockOwnerDeletion":true}}]"#,
        rs_uid.as_str()
    );
    let container = RUNNER_CONTAINER.strip_suffix('}').expect("an object");
    let defaults = r#""terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent""#;
    r.request_object = Some(format!(
        r#"{{"kind":"Pod","apiVersion":"v1","metadata":{{"generateName":"report-runner-7d4f9c-","namespace":"payments","creationTimestamp":null,{owner}}},"spec":{{"containers":[{container},{defaults}}}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"report-runner","securityContext":{{}},"schedulerName":"default-scheduler"}},"status":{{}}}}"#
    ));
    let mut created = String::new();
    super::push_timestamp(&mut created, t_pod);
    let created = format!("{}Z", &created[..19]);
    let mount = r#""volumeMounts":[{"name":"kube-api-access-7kq2m","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}]"#;
    r.response_object = Some(format!(
        r#"{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"{POD_NAME}","generateName":"report-runner-7d4f9c-","namespace":"payments","uid":"{POD_UID}","resourceVersion":"4829113","creationTimestamp":"{created}",{owner}}},"spec":{{"volumes":[{{"name":"kube-api-access-7kq2m","projected":{{"sources":[{{"serviceAccountToken":{{"expirationSeconds":3607,"path":"token"}}}},{{"configMap":{{"name":"kube-root-ca.crt","items":[{{"key":"ca.crt","path":"ca.crt"}}]}}}},{{"downwardAPI":{{"items":[{{"path":"namespace","fieldRef":{{"apiVersion":"v1","fieldPath":"metadata.namespace"}}}}]}}}}],"defaultMode":420}}}}],"containers":[{container},{mount},{defaults}}}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"report-runner","serviceAccount":"report-runner","securityContext":{{}},"schedulerName":"default-scheduler","tolerations":[{{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}},{{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}}],"priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"}},"status":{{"phase":"Pending","qosClass":"BestEffort"}}}}"#
    ));
    out.push(r);

    let scheduler = scheduler_actor("scheduler");
    let mut r = scene(ID_BIND_POD, &scheduler, "create", t_pod + 29_870, 4_402);
    path(&mut r, PODS, "payments", POD_NAME, "binding");
    r.code = 201;
    out.push(r);

    // The kubelet mounts the pod's projected token: a TokenRequest bound to the pod.
    // The token it is issued is what the pod's requests carry (CREDENTIAL_ID).
    let kubelet = kubelet_actor(1);
    let mut r = scene(
        ID_TOKEN_REQUEST,
        &kubelet,
        "create",
        t_pod + 2 * MICROS_PER_SEC - 6_841,
        6_841,
    );
    r.level = Level::Request;
    path(
        &mut r,
        SERVICEACCOUNTS,
        "payments",
        "report-runner",
        "token",
    );
    r.code = 201;
    r.request_object = Some(format!(
        r#"{{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","metadata":{{"creationTimestamp":null}},"spec":{{"audiences":null,"expirationSeconds":3607,"boundObjectRef":{{"kind":"Pod","apiVersion":"v1","name":"{POD_NAME}","uid":"{POD_UID}"}}}},"status":{{"token":"","expirationTimestamp":null}}}}"#
    ));
    r.annotate(super::ISSUED_CREDENTIAL_ID, Arc::from(CREDENTIAL_ID));
    let issued = r.t_done;
    later.push(r);

    let mut r = scene(
        ID_POD_STATUS,
        &kubelet,
        "patch",
        at(8, 21, 9, 640_013),
        5_218,
    );
    path(&mut r, PODS, "payments", POD_NAME, "status");
    out.push(r);

    // 3. The pod's ServiceAccount reads the secret three times. Its token is bound with
    // the default extended expiry: past the first hour every use is flagged stale.
    for (i, (h, m, s)) in [(8, 30, 12), (9, 15, 48), (10, 5, 26)]
        .into_iter()
        .enumerate()
    {
        let t = at(h, m, s, 208_117 + 3_001 * i as i64);
        let mut r = on_secret(ID_SECRET_GETS[i], &runner, "get", t, 3_884);
        let stale_for = (t - issued) / MICROS_PER_SEC - 3_607;
        if stale_for > 0 {
            r.annotate(
                "authentication.k8s.io/stale-token",
                Arc::from(format!(
                    "subject: {SA_USERNAME}, seconds after warning threshold: {stale_for}"
                )),
            );
        }
        out.push(r);
    }

    // 4. 09:40 bob execs into the pod over SPDY (verb create) and reads its token.
    let mut r = scene(ID_EXEC, &bob, "create", at(9, 40, 12, 550_031), 41_310_992);
    r.uri = EXEC_URI.into();
    r.obj = pod_subresource("exec");
    r.code = 101;
    r.t_started = Some(r.t_received + 48_337);
    exec_latency(&mut r);
    out.push(r);

    // 5. 09:50 bob creates a privileged pod with the host's root filesystem.
    let mut r = scene(
        ID_CREATE_PRIVILEGED_POD,
        &bob,
        "create",
        at(9, 50, 31, 7_745),
        18_904,
    );
    r.level = Level::Request;
    path(&mut r, PODS, "kube-system", "", "");
    r.uri
        .push_str("?fieldManager=kubectl-create&fieldValidation=Strict");
    late_name(&mut r, "debug-tools");
    r.code = 201;
    r.annotate(
        "pod-security.kubernetes.io/enforce-policy",
        Arc::from("privileged:latest"),
    );
    r.request_object = Some(
        r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"debug-tools","namespace":"kube-system","creationTimestamp":null},"spec":{"volumes":[{"name":"host-root","hostPath":{"path":"/"}}],"containers":[{"name":"debug","image":"busybox","command":["sleep","infinity"],"resources":{},"volumeMounts":[{"name":"host-root","mountPath":"/host"}],"securityContext":{"capabilities":{"add":["SYS_ADMIN"]},"privileged":true}}],"hostNetwork":true,"hostPID":true},"status":{}}"#.into(),
    );
    out.push(r);

    // 5c. 09:55 bob copies the app's config out of the pod: `kubectl cp` is an exec of tar.
    let mut r = scene(ID_CP, &bob, "create", at(9, 55, 37, 286_519), 1_874_406);
    r.uri = CP_URI.into();
    r.obj = pod_subresource("exec");
    r.code = 101;
    r.t_started = Some(r.t_received + 41_778);
    exec_latency(&mut r);
    later.push(r);

    // 6. 10:10 the CI deployer's pod tries to list the payments secrets and is denied.
    let deployer_sa_uid = Uuid::for_object("serviceaccounts/ci/deployer");
    let deployer_token = PodToken {
        pod: "deployer-5f6b-abcde",
        pod_uid: Uuid::for_object("pods/ci/deployer-5f6b-abcde"),
        node: 0,
        jti: "JTI=2f7c9e1a-4b6d-4c8e-9a0b-3d5f7e9a1c64".into(),
    };
    let deployer_extra = deployer_token.extra();
    let deployer = Actor::new(
        &Identity {
            username: FORBIDDEN_USER,
            uid: deployer_sa_uid.as_str(),
            groups: &[
                "system:serviceaccounts",
                "system:serviceaccounts:ci",
                "system:authenticated",
            ],
            extra: &deployer_extra,
        },
        None,
        &["10.244.1.37"],
        KUBECTL,
        "",
    );
    let mut r = scene(
        ID_FORBIDDEN_LIST,
        &deployer,
        "list",
        at(10, 10, 17, 664_090),
        1_207,
    );
    path(&mut r, SECRETS, "payments", "", "");
    r.uri.push_str("?limit=500");
    deny(&mut r, FORBIDDEN_MESSAGE.into(), "secrets");
    out.push(r);

    // 7. 10:20 ci-bot impersonates the ServiceAccount and reads the secret.
    let ci_bot = Actor::new(
        &Identity {
            username: IMPERSONATOR,
            uid: "",
            groups: &["oidc:ci", "system:authenticated"],
            extra: &[],
        },
        Some(&Identity {
            username: SA_USERNAME,
            uid: "",
            groups: RUNNER_GROUPS,
            extra: &[],
        }),
        &["203.0.113.77"],
        KUBECTL,
        &runner_reason,
    );
    out.push(on_secret(
        ID_IMPERSONATED_GET,
        &ci_bot,
        "get",
        at(10, 20, 40, 118_873),
        4_930,
    ));

    // 4b. 10:30 bob gets an interactive shell over WebSocket (kubectl >= 1.30: verb get).
    let mut r = scene(ID_EXEC_WS, &bob, "get", at(10, 30, 5, 912_446), 372_118_560);
    r.uri = EXEC_WS_URI.into();
    r.obj = pod_subresource("exec");
    r.code = 101;
    r.t_started = Some(r.t_received + 35_092);
    exec_latency(&mut r);
    out.push(r);

    // 4c. 10:33 bob port-forwards to the pod (SPDY: verb create) for two and a half minutes.
    let mut r = scene(
        ID_PORT_FORWARD,
        &bob,
        "create",
        at(10, 33, 18, 604_227),
        153_912_087,
    );
    r.uri = PORT_FORWARD_URI.into();
    r.obj = pod_subresource("portforward");
    r.code = 101;
    r.t_started = Some(r.t_received + 27_315);
    exec_latency(&mut r);
    later.push(r);

    // 4d. 10:36 `kubectl debug -it --image=busybox:1.36 --target=runner`: an ephemeral
    // container added to the running pod by a strategic-merge patch.
    let mut r = scene(ID_EPHEMERAL, &bob, "patch", at(10, 36, 2, 157_930), 21_584);
    r.level = Level::Request;
    path(&mut r, PODS, "payments", POD_NAME, "ephemeralcontainers");
    r.request_object = Some(format!(
        r#"{{"spec":{{"ephemeralContainers":[{{"name":"{EPHEMERAL_CONTAINER}","image":"{EPHEMERAL_IMAGE}","resources":{{}},"terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent","stdin":true,"tty":true,"targetContainerName":"runner"}}]}}}}"#
    ));
    later.push(r);

    // 3b. 10:38 the kubelet of worker-2 watches the secret by field selector, logged
    // without the selector's name in objectRef; the watch times out 7m41s later.
    let mut r = scene(
        ID_KUBELET_SECRET_WATCH,
        &kubelet,
        "watch",
        at(10, 38, 19, 733_102),
        461 * MICROS_PER_SEC + 1_906,
    );
    path(&mut r, SECRETS, "payments", "", "");
    r.uri = KUBELET_SECRET_WATCH_URI.into();
    r.t_started = Some(r.t_received + 1_288);
    later.push(r);

    // 5b. 10:40 a locked-down pod, the negative case for privilege reports.
    let mut r = scene(
        ID_CREATE_SAFE_POD,
        &alice,
        "create",
        at(10, 40, 44, 281_905),
        16_339,
    );
    r.level = Level::Request;
    path(&mut r, PODS, "payments", "", "");
    r.uri
        .push_str("?fieldManager=kubectl-create&fieldValidation=Strict");
    late_name(&mut r, "ok-pod");
    r.code = 201;
    r.annotate(
        "pod-security.kubernetes.io/enforce-policy",
        Arc::from("restricted:latest"),
    );
    r.request_object = Some(
        r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"ok-pod","namespace":"payments","creationTimestamp":null},"spec":{"containers":[{"name":"app","image":"registry.example.com/payments/report-runner:1.4.2","resources":{},"securityContext":{"capabilities":{"drop":["ALL"]},"runAsNonRoot":true,"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false}}],"securityContext":{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}}},"status":{}}"#.into(),
    );
    out.push(r);

    // 8. 10:45 alice rotates the password with a strategic-merge patch.
    let mut r = on_secret(
        ID_PATCH_SECRET,
        &alice,
        "patch",
        at(10, 45, 9, 733_650),
        8_871,
    );
    r.level = Level::Request;
    r.uri.push_str("?fieldManager=kubectl-patch");
    r.request_object = Some(format!(
        r#"{{"data":{{"password":"{}"}}}}"#,
        base64(PLANTED_PATCH_VALUE.as_bytes())
    ));
    out.push(r);

    later.extend(super::story_bodies::scenes(&alice, &bob, &kubelet));
    later.extend(super::story_immutability::scenes(&alice, &bob));
    later.sort_by_key(|r| r.t_received);

    // 8b. 10:47 an anonymous scanner: /version is public, listing secrets is not.
    let scanner = scanner_actor(ANSI_USER_AGENT);
    let mut r = scene(
        ID_ANONYMOUS_VERSION,
        &scanner,
        "get",
        at(10, 47, 51, 20_576),
        1_102,
    );
    r.uri = "/version".into();
    out.push(r);
    let mut r = scene(
        ID_ANONYMOUS_LIST,
        &scanner,
        "list",
        at(10, 47, 51, 409_338),
        688,
    );
    path(&mut r, SECRETS, "", "", "");
    deny(
        &mut r,
        "secrets is forbidden: User \"system:anonymous\" cannot list resource \"secrets\" in API group \"\" at the cluster scope".into(),
        "secrets",
    );
    out.push(r);
    (out, later)
}

/// The report-runner container, as kubectl sends it (before defaulting).
const RUNNER_CONTAINER: &str = r#"{"name":"runner","image":"registry.example.com/payments/report-runner:1.4.2","env":[{"name":"DB_SECRET_NAME","value":"db-password"}],"resources":{}}"#;

/// A long exec ends with latency annotations, as real ones do (note the `µs`).
fn exec_latency(r: &mut Req) {
    r.annotate("apiserver.latency.k8s.io/etcd", Arc::from(go_duration(612)));
    r.annotate(
        "apiserver.latency.k8s.io/total",
        Arc::from(go_duration(r.t_done - r.t_received)),
    );
}

/// objectRef of a connect to a subresource (`exec`, `portforward`) of the story's pod.
fn pod_subresource(subresource: &'static str) -> Option<super::ObjRef> {
    Some(super::ObjRef {
        resource: "pods",
        namespace: "payments",
        name: facts::POD_NAME,
        api_version: "v1",
        subresource,
        ..Default::default()
    })
}

fn scanner_actor(user_agent: &str) -> Arc<Actor> {
    let anonymous = Identity {
        username: "system:anonymous",
        uid: "",
        groups: &["system:unauthenticated"],
        extra: &[],
    };
    let reason = rbac_reason(
        "system:public-info-viewer",
        "ClusterRole \"system:public-info-viewer\"",
        "Group \"system:unauthenticated\"",
    );
    Actor::new(
        &anonymous,
        None,
        &[facts::ANONYMOUS_IP],
        user_agent,
        &reason,
    )
}

/// The invalid-UTF-8 line: the scanner probing `/.env`, its userAgent holding bytes
/// that are not UTF-8 (the apiserver itself would have written U+FFFD).
fn invalid_utf8_line(t: i64) -> Vec<u8> {
    const MARK: &str = "@@NOT-UTF8@@";
    let mut r = scene(
        facts::ID_INVALID_UTF8,
        &scanner_actor(&format!("kube-scan/0.3 {MARK}")),
        "get",
        t,
        402,
    );
    r.uri = "/.env".into();
    deny(
        &mut r,
        "forbidden: User \"system:anonymous\" cannot get path \"/.env\"".into(),
        "",
    );
    let mut line = String::new();
    r.render(Stage::ResponseComplete, &mut line);
    let (before, after) = line.split_once(MARK).expect("marker rendered");
    [before.as_bytes(), &[0xc3, 0x28, 0xff], after.as_bytes()].concat()
}

/// The story's files as (name, bytes), oldest first, exactly as written to sample-logs/.
pub fn story() -> Vec<(String, Vec<u8>)> {
    let start = chrono::DateTime::parse_from_rfc3339(facts::START)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let end = chrono::DateTime::parse_from_rfc3339(facts::END)
        .unwrap()
        .timestamp_micros();
    let hour = 3_600 * MICROS_PER_SEC;
    let mut noise = Noise::with_rate(facts::NOISE_SEED, start, facts::NOISE_REQUESTS_PER_HOUR);
    let (first, later) = scenes();
    for req in first {
        noise.schedule(req);
    }
    // The later scenes take the delays before their lines are written from generators
    // of their own (seeded by their auditIDs), not from the noise's: adding them left the
    // noise and the first scenes' lines unchanged, only interleaved with theirs.
    for req in later {
        let seed = u64::from_str_radix(&req.id.as_str()[24..], 16).expect("hex auditID");
        noise.schedule_with_jitter(req, &mut Rng::new(seed));
    }
    let mut files: [Vec<Vec<u8>>; 3] = Default::default();
    let mut times = Vec::new();
    let next = loop {
        let mut line = String::new();
        let written = noise.next_line_timed(&mut line);
        if written >= end {
            break line;
        }
        let file = ((written - start.timestamp_micros()) / hour) as usize;
        files[file].push(line.into_bytes());
        if file == 2 {
            times.push(written);
        }
    };

    // The current file ends badly: three broken lines among the last few dozen, then
    // the next event cut off mid-write.
    let current = &mut files[2];
    let n = current.len();
    current.insert(n - 10, invalid_utf8_line(times[n - 11] - 1_841));
    current.insert(n - 20, facts::WRONG_TYPES_TEXT.into());
    current.insert(n - 30, facts::MALFORMED_TEXT.into());
    current.push(next.as_bytes()[..next.len() / 2].to_vec());

    let join = |lines: &[Vec<u8>], final_newline: bool| {
        let mut out = lines.join(&b'\n');
        if final_newline {
            out.push(b'\n');
        }
        out
    };
    let oldest = join(&files[0], true);
    vec![
        (facts::FILE_OLDEST.to_string(), gzip(&oldest)),
        (facts::FILE_MIDDLE.to_string(), join(&files[1], true)),
        (facts::FILE_CURRENT.to_string(), join(&files[2], false)),
    ]
}

/// Deterministic gzip: no file name, mtime 0, fixed OS byte.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("writing to a Vec");
    enc.finish().expect("writing to a Vec")
}

/// Writes [`story`] into `dir`, creating it.
pub fn write_story(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, bytes) in story() {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}
