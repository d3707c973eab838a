//! Bodies for the noise, as an audit Policy that logs writes at Request or
//! RequestResponse level produces them: `synth noise --bodies PERCENT` gives that share
//! of the writes (create, update, patch; leases left out, as policies usually do) a
//! `requestObject`, and most of them a `responseObject` too. The objects are shaped like
//! the apiserver's (metadata with managedFields, a spec or a status patch, a status), a
//! few KB each. An object's UID, labels, images and addresses stay the same from one
//! write of it to the next and its resourceVersion and a condition's time change, as on
//! a real cluster, so the body index grows its term dictionary as it would on a real log.

use serde_json::{Value, json};

use super::Rng;

/// `line` with bodies, when it is a write chosen for them (`percent` of the writes,
/// decided by its auditID so both stages of a request agree); None leaves it unchanged.
/// Only the ResponseComplete stage carries them, as the apiserver logs them.
pub fn add_bodies(line: &str, percent: u32) -> Option<String> {
    add_bodies_styled(line, percent, false)
}

/// Like [`add_bodies`]; `applied` gives the objects what several field managers and
/// `kubectl apply` leave on them (more managedFields entries, a last-applied-configuration
/// annotation), as in the held-out log [`super::Shape::HeldOut`] imitates.
pub(crate) fn add_bodies_styled(line: &str, percent: u32, applied: bool) -> Option<String> {
    if !line.contains("\"ResponseComplete\"") {
        return None;
    }
    let mut event: Value = serde_json::from_str(line).ok()?;
    let verb = event["verb"].as_str()?;
    let resource = event["objectRef"]["resource"].as_str()?.to_string();
    if !matches!(verb, "create" | "update" | "patch") || resource == "leases" {
        return None;
    }
    let id = event["auditID"].as_str()?;
    let seed = fnv(id.as_bytes());
    if seed % 1000 >= u64::from(percent) * 10 {
        return None;
    }
    let mut rng = Rng::new(seed);
    let namespace = event["objectRef"]["namespace"].as_str().unwrap_or("");
    let name = event["objectRef"]["name"].as_str().unwrap_or("object");
    // An object is the same from one write to the next (its uid, labels, images, IPs),
    // as on a real cluster: seeded by its identity. Only what a write changes differs.
    let identity = format!("{resource}/{namespace}/{name}");
    let mut identity_rng = Rng::new(fnv(identity.as_bytes()));
    let mut object = object(&mut identity_rng, &resource, namespace, name);
    if applied {
        add_applied(&mut identity_rng, &mut object);
    }
    object["metadata"]["resourceVersion"] = json!((4_000_000 + rng.below(5_000_000)).to_string());
    if let Some(condition) = object["status"]["conditions"]
        .as_array_mut()
        .and_then(|c| c.first_mut())
    {
        condition["lastTransitionTime"] = json!(format!(
            "2026-11-20T{:02}:{:02}:{:02}Z",
            rng.below(24),
            rng.below(60),
            rng.below(60)
        ));
    }
    let request = if verb == "patch" {
        patch_of(&object)
    } else {
        object.clone()
    };
    // Most policies log writes at RequestResponse; some at Request.
    if rng.below(10) < 7 {
        event["level"] = json!("RequestResponse");
        event["responseObject"] = object;
    } else {
        event["level"] = json!("Request");
    }
    event["requestObject"] = request;
    serde_json::to_string(&event).ok()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn uid(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// The object a write of `resource` carries.
fn object(rng: &mut Rng, resource: &str, namespace: &str, name: &str) -> Value {
    let mut metadata = json!({
        "name": name,
        "uid": uid(rng),
        "resourceVersion": (4_000_000 + rng.below(5_000_000)).to_string(),
        "generation": 1 + rng.below(40),
        "creationTimestamp": "2026-11-19T07:12:44Z",
        "labels": {"app.kubernetes.io/name": name.split('-').next().unwrap_or(name),
                   "app.kubernetes.io/managed-by": "Helm", "pod-template-hash": format!("{:x}", rng.next_u64() & 0xff_ffff)},
        "annotations": {"meta.helm.sh/release-name": name, "deployment.kubernetes.io/revision": (1 + rng.below(9)).to_string()},
        "managedFields": managed_fields(rng),
    });
    if !namespace.is_empty() {
        metadata["namespace"] = json!(namespace);
    }
    let kind = match resource {
        "pods" => "Pod",
        "nodes" => "Node",
        "secrets" => "Secret",
        "configmaps" => "ConfigMap",
        "endpointslices" => "EndpointSlice",
        "statefulsets" => "StatefulSet",
        "deployments" => "Deployment",
        "replicasets" => "ReplicaSet",
        _ => "Custom",
    };
    let mut object = json!({"kind": kind, "apiVersion": "v1", "metadata": metadata});
    match kind {
        "Pod" => {
            object["spec"] = pod_spec(rng, name);
            object["status"] = status(rng);
        }
        "StatefulSet" | "Deployment" | "ReplicaSet" | "Custom" => {
            object["spec"] = json!({"replicas": 1 + rng.below(5), "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec(rng, name)}});
            object["status"] = json!({"replicas": 2, "readyReplicas": 2, "observedGeneration": 7});
        }
        "Node" => {
            object["status"] = status(rng);
            object["status"]["nodeInfo"] = json!({"kubeletVersion": "v1.31.2", "containerRuntimeVersion": "containerd://1.7.22",
                "osImage": "Ubuntu 24.04.1 LTS", "kernelVersion": "6.8.0-48-generic", "machineID": uid(rng)});
        }
        "Secret" => {
            object["type"] = json!("Opaque");
            object["data"] =
                json!({"password": "c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA=", "username": "YWRtaW4="});
        }
        "ConfigMap" => {
            let lines: Vec<String> = (0..40)
                .map(|i| format!("key_{i} = value-{:x}", rng.next_u64()))
                .collect();
            object["data"] = json!({"config.ini": lines.join("\n"), "LOG_LEVEL": "info"});
        }
        _ => {
            let endpoints: Vec<Value> = (0..6)
                .map(|i| json!({"addresses": [format!("10.244.{}.{}", i, rng.below(250))], "conditions": {"ready": true, "serving": true},
                    "nodeName": format!("worker-{}", 1 + i % 3), "targetRef": {"kind": "Pod", "name": format!("{name}-{i}"), "uid": uid(rng)}}))
                .collect();
            object["endpoints"] = json!(endpoints);
            object["ports"] = json!([{"name": "http", "port": 8080, "protocol": "TCP"}]);
        }
    }
    object
}

/// What a few field managers leave on a live object: their managedFields entries (the
/// kubelet's and a controller's status updates), and on the objects people apply (not
/// pods, nodes or endpoint slices, which controllers create) `kubectl apply`'s
/// last-applied-configuration annotation (the applied object as a JSON string).
fn add_applied(rng: &mut Rng, object: &mut Value) {
    for manager in ["kubelet", "kube-controller-manager"] {
        let mut entry = managed_fields(rng)[0].clone();
        entry["manager"] = json!(manager);
        if let Some(fields) = object["metadata"]["managedFields"].as_array_mut() {
            fields.push(entry);
        }
    }
    if matches!(
        object["kind"].as_str(),
        Some("Pod" | "Node" | "EndpointSlice")
    ) {
        return;
    }
    let mut applied = object.clone();
    if let Some(metadata) = applied["metadata"].as_object_mut() {
        metadata.retain(|k, _| matches!(k.as_str(), "name" | "namespace" | "labels"));
    }
    if let Some(o) = applied.as_object_mut() {
        o.remove("status");
    }
    let applied = serde_json::to_string(&applied).unwrap_or_default();
    object["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
        json!(applied);
    let mut entry = managed_fields(rng)[0].clone();
    entry["manager"] = json!("kubectl-client-side-apply");
    if let Some(fields) = object["metadata"]["managedFields"].as_array_mut() {
        fields.push(entry);
    }
}

fn managed_fields(rng: &mut Rng) -> Value {
    json!([{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": "2026-11-20T07:31:02Z",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}, "f:ownerReferences": {".": {},
        format!("k:{{\"uid\":\"{}\"}}", uid(rng)): {}}}, "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {}}}}},
        "subresource": "status"}])
}

fn pod_spec(rng: &mut Rng, name: &str) -> Value {
    let containers: Vec<Value> = (0..1 + rng.below(3))
        .map(|i| json!({
            "name": format!("c{i}"), "image": format!("registry.example.com/{name}:{}.{}.{}", rng.below(3), rng.below(20), rng.below(50)),
            "args": ["--config=/etc/app/config.yaml", "--log-level=info"],
            "ports": [{"containerPort": 8080 + i, "protocol": "TCP"}],
            "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}, {"name": "GOMAXPROCS", "value": "2"}],
            "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
            "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}, {"name": "kube-api-access", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
            "securityContext": {"runAsNonRoot": true, "readOnlyRootFilesystem": rng.below(2) == 0, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"
        }))
        .collect();
    json!({"containers": containers, "volumes": [{"name": "config", "configMap": {"name": format!("{name}-config"), "defaultMode": 420}}],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "serviceAccountName": name,
        "nodeName": format!("worker-{}", 1 + rng.below(3)), "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "schedulerName": "default-scheduler", "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
        "priority": 0, "enableServiceLinks": true})
}

fn status(rng: &mut Rng) -> Value {
    let conditions: Vec<Value> = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        .iter()
        .map(|kind| json!({"type": kind, "status": "True", "lastProbeTime": null, "lastTransitionTime": format!("2026-11-20T0{}:{:02}:{:02}Z", rng.below(9), rng.below(60), rng.below(60))}))
        .collect();
    json!({"phase": "Running", "conditions": conditions, "hostIP": format!("10.0.0.{}", rng.below(250)),
        "podIP": format!("10.244.{}.{}", rng.below(3), rng.below(250)), "startTime": "2026-11-20T06:59:12Z", "qosClass": "Burstable"})
}

/// A patch of the object: its status, or a strategic-merge change of one field.
fn patch_of(object: &Value) -> Value {
    match object.get("status") {
        Some(status) => json!({"metadata": {"uid": object["metadata"]["uid"]}, "status": status}),
        None => json!({"metadata": {"annotations": object["metadata"]["annotations"]}}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(id: &str, stage: &str, verb: &str, resource: &str) -> String {
        json!({"kind": "Event", "auditID": id, "stage": stage, "verb": verb, "level": "Metadata",
               "objectRef": {"resource": resource, "namespace": "ns", "name": "web-1"}})
        .to_string()
    }

    #[test]
    fn a_share_of_completed_writes_get_bodies_the_same_for_every_run() {
        let ids: Vec<String> = (0..2000).map(|i| format!("id-{i}")).collect();
        let with = |stage: &str, verb: &str, resource: &str| {
            ids.iter()
                .filter(|id| add_bodies(&write(id, stage, verb, resource), 30).is_some())
                .count()
        };
        let chosen = with("ResponseComplete", "patch", "pods");
        assert!((500..700).contains(&chosen), "{chosen} of 2000");
        assert_eq!(with("RequestReceived", "patch", "pods"), 0);
        assert_eq!(with("ResponseComplete", "get", "pods"), 0);
        assert_eq!(with("ResponseComplete", "update", "leases"), 0);
        let line = write("id-7", "ResponseComplete", "update", "configmaps");
        assert_eq!(add_bodies(&line, 100), add_bodies(&line, 100));
        let event: Value = serde_json::from_str(&add_bodies(&line, 100).unwrap()).unwrap();
        assert_eq!(event["requestObject"]["kind"], "ConfigMap");
        assert_ne!(event["level"], "Metadata");
    }

    #[test]
    fn applied_bodies_carry_more_managers_and_last_applied_only_on_applied_kinds() {
        let styled = |resource: &str, applied: bool| -> Value {
            let line = write("id-7", "ResponseComplete", "update", resource);
            serde_json::from_str(&add_bodies_styled(&line, 100, applied).unwrap()).unwrap()
        };
        const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
        let managers = |event: &Value| {
            event["requestObject"]["metadata"]["managedFields"]
                .as_array()
                .unwrap()
                .len()
        };
        for resource in ["configmaps", "pods"] {
            let (plain, applied) = (styled(resource, false), styled(resource, true));
            assert!(managers(&applied) > managers(&plain), "{resource}");
            assert!(
                applied.to_string().len() > plain.to_string().len(),
                "{resource}"
            );
            assert!(plain["requestObject"]["metadata"]["annotations"][LAST_APPLIED].is_null());
        }
        let configmap = &styled("configmaps", true)["requestObject"];
        let last_applied = configmap["metadata"]["annotations"][LAST_APPLIED]
            .as_str()
            .unwrap();
        let last_applied: Value = serde_json::from_str(last_applied).unwrap();
        assert_eq!(last_applied["data"], configmap["data"]);
        let pod = &styled("pods", true)["requestObject"];
        assert!(pod["metadata"]["annotations"][LAST_APPLIED].is_null());
    }
}
