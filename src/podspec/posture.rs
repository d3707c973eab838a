//! What a whole pod spec declares beyond its risks (`check_write` finds those): per
//! container, where it can write and how it is hardened; whether every image is pinned
//! by digest; which object owns the pod. `report immutability`'s workloads table is
//! built from it.
//!
//! Only a whole object is read (a create, an update, a response after admission): a
//! patch says what changed, not what the container is. Keys are matched exactly, as
//! sigs.k8s.io/json decodes them, not case-folded as `check_write` also does: a setting
//! a current apiserver drops as an unknown field (`ReadOnlyRootFilesystem: true`) hardens
//! nothing, so it is not claimed. Both choices lean the same way as the risks': a
//! hardening is claimed only where the apiserver would apply it.

use simd_json::prelude::ValueAsScalar;
use simd_json::tape;

use super::{
    Body, CONTAINER_LISTS, Match, Node, body_to_inspect, entries, inherited, is_true, label,
    normalize_cap, spec_node, text,
};
use crate::model::Request;

/// What a whole pod or workload body declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Posture {
    /// `metadata.name` of the body: a pod created with `generateName` has its name only
    /// in the response.
    pub name: Option<String>,
    /// The controller among `metadata.ownerReferences` (else the first owner).
    pub owner: Option<Owner>,
    pub containers: Vec<ContainerPosture>,
    /// Every image is referenced by digest (`image@sha256:…`); false without images.
    pub images_pinned: bool,
    /// Init containers that write to a volume an app container mounts: data prepared
    /// before the app starts, so the app need not write it (`init/volume`).
    pub init_prepares: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub kind: String,
    pub name: String,
}

/// One container (app, init or ephemeral) as declared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerPosture {
    pub name: String,
    /// `containers`, `initContainers` or `ephemeralContainers`.
    pub list: &'static str,
    /// Mount paths it can write, each with its volume's type: `/var/run (emptyDir)`.
    pub writable_paths: Vec<String>,
    pub read_only_root: bool,
    /// `runAsNonRoot: true` or a `runAsUser` other than 0 (its own or the pod's).
    pub non_root: bool,
    /// Capabilities dropped, normalized (`ALL`).
    pub drops: Vec<String>,
    /// Start-up commands (startupProbe, postStart hook) that remove or lock tools:
    /// `rm /bin/bash`, `chmod -R 555 /`.
    pub tools_removed: Vec<String>,
}

/// Volume sources the kubelet mounts read-only whatever the mount says.
const READ_ONLY_SOURCES: [&str; 5] = ["configMap", "secret", "downwardAPI", "projected", "image"];

/// Words of a start-up command that remove or lock files.
const TOOL_REMOVERS: [&str; 5] = ["rm", "unlink", "chmod", "chattr", "shred"];

/// The posture a write declares, when its body is a whole object holding a pod spec.
pub fn of_write(r: &Request<'_>, event: &[u8]) -> Option<Posture> {
    let mut buf = event.to_vec();
    let tape = simd_json::to_tape(&mut buf).ok()?;
    let resource = r.resource.unwrap_or_default();
    let (object, body) = body_to_inspect(tape.as_value(), resource, r.verb)?;
    if body != Body::Full || object.as_array().is_some() {
        return None;
    }
    of_object(resource, object)
}

fn of_object(resource: &str, object: tape::Value<'_, '_>) -> Option<Posture> {
    let root = Node::of(object, Match::Exact);
    let spec = spec_node(resource, root.clone())?;
    let metadata = root.get("metadata");
    let name = metadata.as_ref().and_then(|m| text(m.get("name")));
    let owner = metadata.and_then(|m| owner(&m));
    let volumes = volume_sources(&spec);
    let pod_sc = spec.get("securityContext");
    let mut containers = Vec::new();
    let mut images = Vec::new();
    // Volumes each list's containers write: an init container's shared with an app's.
    let mut written_by_init = Vec::new();
    let mut mounted_by_app = Vec::new();
    for list in CONTAINER_LISTS {
        for (index, container) in entries(&spec, list) {
            images.extend(text(container.get("image")));
            let sc = container.get("securityContext");
            let mut posture = ContainerPosture {
                name: label(&container, list, &index),
                list,
                read_only_root: is_true(
                    sc.as_ref().and_then(|sc| sc.get("readOnlyRootFilesystem")),
                ),
                non_root: non_root(sc.as_ref(), pod_sc.as_ref()),
                drops: drops(sc.as_ref()),
                tools_removed: tools_removed(&container),
                ..ContainerPosture::default()
            };
            for (_, mount) in entries(&container, "volumeMounts") {
                let volume = text(mount.get("name")).unwrap_or_default();
                let source = volumes
                    .iter()
                    .find(|(name, _)| *name == volume)
                    .map_or("undeclared volume", |(_, source)| source.as_str());
                let read_only =
                    is_true(mount.get("readOnly")) || READ_ONLY_SOURCES.contains(&source);
                if list == "containers" {
                    mounted_by_app.push(volume.clone());
                }
                if read_only {
                    continue;
                }
                if list == "initContainers" {
                    written_by_init.push((posture.name.clone(), volume.clone()));
                }
                let path = text(mount.get("mountPath")).unwrap_or_default();
                posture.writable_paths.push(format!("{path} ({source})"));
            }
            containers.push(posture);
        }
    }
    let init_prepares = written_by_init
        .into_iter()
        .filter(|(_, volume)| mounted_by_app.contains(volume))
        .map(|(init, volume)| format!("{init}/{volume}"))
        .collect();
    Some(Posture {
        name,
        owner,
        containers,
        images_pinned: !images.is_empty() && images.iter().all(|i| i.contains("@sha256:")),
        init_prepares,
    })
}

/// Each volume's name with its source type, the key beside `name`
/// (`emptyDir`, `hostPath`, `persistentVolumeClaim`, ...).
fn volume_sources(spec: &Node<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (_, volume) in entries(spec, "volumes") {
        let Some(name) = text(volume.get("name")) else {
            continue;
        };
        let source = volume
            .last()
            .and_then(|v| v.as_object())
            .and_then(|o| o.iter().map(|(k, _)| k).find(|k| *k != "name"))
            .unwrap_or("unknown source")
            .to_string();
        out.push((name, source));
    }
    out
}

/// The controller owner, else the first one listed.
fn owner(metadata: &Node<'_>) -> Option<Owner> {
    let owners = metadata.get("ownerReferences")?.items();
    let read = |node: &Node<'_>| {
        Some(Owner {
            kind: text(node.get("kind"))?,
            name: text(node.get("name"))?,
        })
    };
    owners
        .iter()
        .find(|(_, o)| is_true(o.get("controller")))
        .or(owners.first())
        .and_then(|(_, o)| read(o))
}

fn non_root(sc: Option<&Node<'_>>, pod_sc: Option<&Node<'_>>) -> bool {
    let user = inherited("runAsUser", sc, pod_sc, |v| v.as_i64());
    let non_root = inherited("runAsNonRoot", sc, pod_sc, |v| v.as_bool());
    match user {
        Some((uid, _)) => uid != 0,
        None => non_root.is_some_and(|(yes, _)| yes),
    }
}

fn drops(sc: Option<&Node<'_>>) -> Vec<String> {
    let dropped = sc
        .and_then(|sc| sc.get("capabilities"))
        .and_then(|caps| caps.get("drop"));
    let mut out: Vec<String> = (dropped.iter().flat_map(Node::items))
        .filter_map(|(_, cap)| text(Some(cap)))
        .map(|cap| normalize_cap(&cap))
        .filter(|cap| !cap.is_empty())
        .collect();
    out.dedup();
    out
}

/// The startupProbe and postStart commands that remove or lock files, as shell words.
fn tools_removed(container: &Node<'_>) -> Vec<String> {
    let probe = container.get("startupProbe");
    let hook = container.get("lifecycle").and_then(|l| l.get("postStart"));
    let mut out = Vec::new();
    for handler in [probe, hook].into_iter().flatten() {
        let Some(command) = handler.get("exec").and_then(|e| e.get("command")) else {
            continue;
        };
        let argv: Vec<String> = command
            .items()
            .into_iter()
            .filter_map(|(_, arg)| text(Some(arg)))
            .collect();
        // `sh -c "rm /bin/bash"` holds its words in one argument.
        let removes = argv.iter().flat_map(|a| a.split_whitespace()).any(|word| {
            let program = word.rsplit('/').next().unwrap_or(word);
            TOOL_REMOVERS.contains(&program)
        });
        if removes {
            out.push(argv.join(" "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn posture(resource: &str, object: Value) -> Option<Posture> {
        let mut buf = object.to_string().into_bytes();
        let tape = simd_json::to_tape(&mut buf).unwrap();
        of_object(resource, tape.as_value())
    }

    #[test]
    fn a_read_only_nginx_declares_its_writable_paths() {
        let spec = json!({
            "securityContext": {"runAsUser": 101},
            "containers": [{"name": "nginx", "image": "nginx@sha256:0123",
                "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["all"]}},
                "volumeMounts": [
                    {"name": "cache", "mountPath": "/var/cache/nginx"},
                    {"name": "run", "mountPath": "/var/run"},
                    {"name": "conf", "mountPath": "/etc/nginx/conf.d"},
                    {"name": "data", "mountPath": "/data", "readOnly": true}]}],
            "volumes": [{"name": "cache", "emptyDir": {}}, {"name": "run", "emptyDir": {"medium": "Memory"}},
                {"name": "conf", "configMap": {"name": "nginx-conf"}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "d"}}]});
        let p = posture("pods", json!({"metadata": {"name": "web"}, "spec": spec})).unwrap();
        assert_eq!(p.name.as_deref(), Some("web"));
        assert!(p.images_pinned);
        let c = &p.containers[0];
        assert_eq!(
            c.writable_paths,
            ["/var/cache/nginx (emptyDir)", "/var/run (emptyDir)"]
        );
        assert!(c.read_only_root && c.non_root);
        assert_eq!(c.drops, ["ALL"]);
    }

    #[test]
    fn tools_removed_at_start_and_init_containers_are_seen() {
        let spec = json!({
            "initContainers": [{"name": "fetch", "image": "busybox:1.36",
                "volumeMounts": [{"name": "html", "mountPath": "/out"}]}],
            "containers": [{"name": "httpd", "image": "httpd:2.4",
                "startupProbe": {"exec": {"command": ["rm", "/bin/bash"]}},
                "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", "chmod -R 555 /usr/bin"]}}},
                "volumeMounts": [{"name": "html", "mountPath": "/usr/local/apache2/htdocs", "readOnly": true}]}],
            "volumes": [{"name": "html", "emptyDir": {}}]});
        let template = json!({"spec": {"template": {"spec": spec}}});
        let p = posture("deployments", template).unwrap();
        assert!(!p.images_pinned);
        assert_eq!(p.init_prepares, ["fetch/html"]);
        let httpd = p.containers.iter().find(|c| c.name == "httpd").unwrap();
        assert_eq!(
            httpd.tools_removed,
            ["rm /bin/bash", "sh -c chmod -R 555 /usr/bin"]
        );
        assert!(httpd.writable_paths.is_empty());
        assert!(!httpd.read_only_root && !httpd.non_root);
    }

    #[test]
    fn hardening_is_claimed_only_as_a_current_apiserver_reads_it() {
        // Case-folded keys are dropped by sigs.k8s.io/json: no hardening from them.
        let spec = json!({"containers": [{"name": "c", "image": "x",
            "securityContext": {"ReadOnlyRootFilesystem": true, "runAsUser": 0, "runAsNonRoot": true}}]});
        let p = posture("pods", json!({"spec": spec})).unwrap();
        assert!(!p.containers[0].read_only_root);
        // runAsUser 0 wins over runAsNonRoot (the kubelet refuses to start it).
        assert!(!p.containers[0].non_root);
    }

    #[test]
    fn the_controller_owner_is_the_owner() {
        let object = json!({"metadata": {"name": "web-5d8f7-abcde", "ownerReferences": [
            {"kind": "Other", "name": "x"},
            {"kind": "ReplicaSet", "name": "web-5d8f7", "controller": true}]},
            "spec": {"containers": [{"name": "c", "image": "x"}]}});
        let owner = posture("pods", object).unwrap().owner.unwrap();
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("ReplicaSet", "web-5d8f7")
        );
        // A body without a pod spec has no posture.
        assert_eq!(posture("pods", json!({"metadata": {"name": "x"}})), None);
    }
}
