//! The story's immutability scenes, in namespace `web` (issue 18's cases): an httpd pod
//! that removes bash at start but keeps a writable root; an nginx pod created
//! privileged, deleted, and recreated read-only with `emptyDir` volumes for what it must
//! write; `kubectl set image` on the web-frontend Deployment (logged at Metadata level
//! until then); and an `apt-get install` exec'd into the read-only nginx, which its spec
//! does not let write.

use std::sync::Arc;

use super::cluster::{DEPLOYMENTS, PODS};
use super::noise::path;
use super::story::{at, facts::*, late_name, scene};
use super::{Actor, Level, ObjRef, Req};

/// A pod created in `web` from `spec` (JSON), at Request level, answered 201.
fn pod_create(id: &str, actor: &Arc<Actor>, t: i64, name: &'static str, spec: &str) -> Req {
    let mut r = scene(id, actor, "create", t, 14_000 + t % 5_000);
    r.level = Level::Request;
    r.code = 201;
    r.uri.clear();
    path(&mut r, PODS, "web", "", "");
    r.uri
        .push_str("?fieldManager=kubectl-create&fieldValidation=Strict");
    late_name(&mut r, name);
    r.request_object = Some(format!(
        r#"{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"{name}","namespace":"web","creationTimestamp":null}},"spec":{spec},"status":{{}}}}"#
    ));
    r
}

/// The immutability scenes, in time order.
pub(super) fn scenes(alice: &Arc<Actor>, bob: &Arc<Actor>) -> Vec<Req> {
    let mut out = Vec::new();
    // 10:50 httpd removes bash at start (a startupProbe), but its root stays writable.
    out.push(pod_create(
        ID_HTTPD_POD,
        alice,
        at(10, 50, 12, 331_408),
        "httpd",
        r#"{"containers":[{"name":"httpd","image":"registry.example.com/web/httpd:2.4.62","resources":{},"startupProbe":{"exec":{"command":["rm","/bin/bash"]},"failureThreshold":1},"securityContext":{"runAsNonRoot":true,"runAsUser":33,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}"#,
    ));
    // 10:51 nginx as a first draft: privileged, escalating, root, writable root.
    out.push(pod_create(
        ID_NGINX_PRIVILEGED,
        alice,
        at(10, 51, 3, 118_226),
        "nginx",
        r#"{"containers":[{"name":"nginx","image":"registry.example.com/web/nginx:1.27.3","resources":{},"securityContext":{"privileged":true,"allowPrivilegeEscalation":true,"runAsUser":0,"readOnlyRootFilesystem":false}}]}"#,
    ));
    // 10:52 deleted...
    let mut r = scene(
        ID_NGINX_DELETE,
        alice,
        "delete",
        at(10, 52, 40, 907_114),
        31_220,
    );
    path(&mut r, PODS, "web", "nginx", "");
    out.push(r);
    // 10:53 ...and recreated immutable: read-only root, non-root, emptyDir for the paths
    // nginx writes, image pinned by digest.
    out.push(pod_create(
        ID_NGINX_HARDENED,
        alice,
        at(10, 53, 15, 640_552),
        "nginx",
        &format!(
            r#"{{"volumes":[{{"name":"cache","emptyDir":{{}}}},{{"name":"run","emptyDir":{{}}}}],"containers":[{{"name":"nginx","image":"{NGINX_IMAGE}","resources":{{}},"volumeMounts":[{{"name":"cache","mountPath":"/var/cache/nginx"}},{{"name":"run","mountPath":"/var/run"}}],"securityContext":{{"runAsNonRoot":true,"runAsUser":101,"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,"capabilities":{{"drop":["ALL"]}}}}}}],"securityContext":{{"seccompProfile":{{"type":"RuntimeDefault"}}}}}}"#
        ),
    ));
    // 10:54 `kubectl set image deployment/web-frontend
    // web=registry.example.com/web/nginx:1.27.3`: a strategic merge patch of the
    // template, a revision of the running workload.
    let mut r = scene(
        ID_SET_IMAGE,
        alice,
        "patch",
        at(10, 54, 30, 215_980),
        12_410,
    );
    r.level = Level::Request;
    path(&mut r, DEPLOYMENTS, "web", "web-frontend", "");
    r.uri.push_str("?fieldManager=kubectl-set");
    r.request_object = Some(
        r#"{"spec":{"template":{"spec":{"containers":[{"image":"registry.example.com/web/nginx:1.27.3","name":"web"}]}}}}"#
            .into(),
    );
    out.push(r);
    // 10:55 bob tries to install curl in the read-only nginx: the exec is allowed, the
    // install cannot write.
    let mut r = scene(
        ID_EXEC_INSTALL,
        bob,
        "create",
        at(10, 55, 48, 52_771),
        2_904_117,
    );
    r.uri = EXEC_INSTALL_URI.into();
    r.obj = Some(ObjRef {
        resource: "pods",
        namespace: "web",
        name: "nginx",
        api_version: "v1",
        subresource: "exec",
        ..Default::default()
    });
    r.code = 101;
    r.t_started = Some(r.t_received + 24_118);
    out.push(r);
    out
}
