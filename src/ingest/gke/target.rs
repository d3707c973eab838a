//! The parts of a GKE audit entry that name the request's target: `methodName`
//! (`io.k8s.<group>.<version>.<resource>[.<subresource>].<verb>`) and `resourceName`
//! (`GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUB]]`, or a path), read into the
//! Event's verb, `objectRef` and `requestURI`.

use simd_json::BorrowedValue as Value;
use simd_json::borrowed::Object;

/// The Kubernetes verbs a method name can end in. Anything else (`io.k8s.readyz`) is a
/// non-resource request, whose HTTP method GKE does not log.
const VERBS: [&str; 10] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "proxy",
    "connect",
];

/// The parts of a `methodName`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Method<'m> {
    pub(super) verb: Option<&'m str>,
    pub(super) version: Option<&'m str>,
    pub(super) resource: Option<&'m str>,
    pub(super) subresource: Option<&'m str>,
    /// The group as the method spells it (`core`, `apps`, `rbac`): a fallback only.
    pub(super) group: Option<&'m str>,
}

impl<'m> Method<'m> {
    /// `io.k8s.core.v1.pods.exec.create` → verb create, version v1, pods/exec, core.
    pub(super) fn parse(method: &'m str) -> Method<'m> {
        let segments: Vec<&str> = method.split('.').collect();
        let Some((last, before)) = segments.split_last() else {
            return Method::default();
        };
        let Some(verb) = VERBS.iter().copied().find(|v| v == last) else {
            return Method::default();
        };
        // The version is the last version-shaped segment before the verb: the resource
        // (and subresource) follow it; resource names have no dots.
        let Some(at) = before.iter().rposition(|s| is_version(s)) else {
            return Method {
                verb: Some(verb),
                ..Method::default()
            };
        };
        let after = &before[at + 1..];
        let group = at
            .checked_sub(1)
            .map(|g| before[g])
            .filter(|g| !matches!(*g, "k8s" | "io"));
        Method {
            verb: Some(verb),
            version: Some(before[at]),
            resource: after.first().copied(),
            subresource: after.get(1).copied(),
            group,
        }
    }
}

/// `v1`, `v1beta1`, `v2alpha3`.
pub(super) fn is_version(segment: &str) -> bool {
    let Some(rest) = segment.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let tail = &rest[digits..];
    tail.is_empty()
        || ["alpha", "beta"].iter().any(|stage| {
            tail.strip_prefix(stage)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// What a request was about: an API object or a non-resource path.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Target {
    /// A non-resource path (`/readyz`).
    path: Option<String>,
    group: Option<String>,
    version: Option<String>,
    resource: Option<String>,
    pub(super) subresource: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
}

impl Target {
    /// Reads a `resourceName`: `GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUB]]`
    /// (`core` is the legacy group ""), or a path starting with `/`. The method says
    /// whether `namespaces/X/…` is a namespace's own subresource or an object in it.
    pub(super) fn parse(resource_name: &str, method: &Method<'_>) -> Target {
        if resource_name.starts_with('/') {
            return Target {
                path: Some(resource_name.to_string()),
                ..Target::default()
            };
        }
        let parts: Vec<&str> = resource_name.split('/').collect();
        let (group, version, mut rest) = match parts.as_slice() {
            [group, version, rest @ ..] if is_version(version) => (*group, *version, rest),
            // Not the documented shape: what the method says, and the name as is.
            _ => {
                let mut target = Target::from_method(method);
                target.name = Some(resource_name.to_string());
                return target;
            }
        };
        let mut namespace = None;
        if let ["namespaces", ns, inner @ ..] = rest
            && !inner.is_empty()
            && method.resource != Some("namespaces")
        {
            namespace = Some(ns.to_string());
            rest = inner;
        }
        let owned = |i: usize| rest.get(i).map(|s| s.to_string());
        Target {
            path: None,
            group: Some(if group == "core" { "" } else { group }.to_string()),
            version: Some(version.to_string()),
            resource: owned(0).or(method.resource.map(str::to_string)),
            name: owned(1),
            subresource: owned(2).or(method.subresource.map(str::to_string)),
            namespace,
        }
    }

    /// No `resourceName`: the method's resource; its group only when it is the core one
    /// (other groups are spelled differently in methods).
    pub(super) fn from_method(method: &Method<'_>) -> Target {
        Target {
            group: (method.group == Some("core")).then(String::new),
            version: method.version.map(str::to_string),
            resource: method.resource.map(str::to_string),
            subresource: method.subresource.map(str::to_string),
            ..Target::default()
        }
    }

    /// The request path the apiserver would have logged: a create goes to the
    /// collection, everything else to the object (and its subresource).
    pub(super) fn request_uri(&self, verb: Option<&str>) -> Option<String> {
        if let Some(path) = &self.path {
            return Some(path.clone());
        }
        let (group, version, resource) = (
            self.group.as_ref()?,
            self.version.as_ref()?,
            self.resource.as_ref()?,
        );
        let mut uri = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        if let Some(ns) = &self.namespace {
            uri.push_str(&format!("/namespaces/{ns}"));
        }
        uri.push('/');
        uri.push_str(resource);
        let collection = verb == Some("create") && self.subresource.is_none();
        if let Some(name) = self.name.as_ref().filter(|_| !collection) {
            uri.push('/');
            uri.push_str(name);
            if let Some(sub) = &self.subresource {
                uri.push('/');
                uri.push_str(sub);
            }
        }
        Some(uri)
    }

    pub(super) fn object_ref<'a>(&self) -> Option<Value<'a>> {
        self.resource.as_ref()?;
        let mut o = Object::with_capacity(6);
        let fields = [
            ("resource", &self.resource),
            ("subresource", &self.subresource),
            ("namespace", &self.namespace),
            ("name", &self.name),
            ("apiGroup", &self.group),
            ("apiVersion", &self.version),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                o.insert(key.into(), value.clone().into());
            }
        }
        Some(Value::from(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_give_verb_version_resource_and_subresource() {
        let m = Method::parse("io.k8s.core.v1.pods.exec.create");
        assert_eq!(
            (m.verb, m.version, m.resource, m.subresource, m.group),
            (
                Some("create"),
                Some("v1"),
                Some("pods"),
                Some("exec"),
                Some("core")
            )
        );
        let m = Method::parse("io.k8s.apps.v1.deployments.patch");
        assert_eq!(
            (m.verb, m.resource, m.subresource, m.group),
            (Some("patch"), Some("deployments"), None, Some("apps"))
        );
        // A dotted group, spelled reversed by GKE: the version still anchors the rest.
        let m = Method::parse("io.k8s.authorization.rbac.v1.clusterrolebindings.delete");
        assert_eq!(
            (m.version, m.resource),
            (Some("v1"), Some("clusterrolebindings"))
        );
        let m = Method::parse("io.k8s.networking.v1beta1.ingresses.status.update");
        assert_eq!(
            (m.version, m.resource, m.subresource),
            (Some("v1beta1"), Some("ingresses"), Some("status"))
        );
        // Non-resource requests end in no verb.
        assert_eq!(Method::parse("io.k8s.readyz"), Method::default());
        assert_eq!(Method::parse(""), Method::default());
    }

    #[test]
    fn versions_are_recognized_and_names_are_not() {
        for v in ["v1", "v2", "v1beta1", "v2alpha12"] {
            assert!(is_version(v), "{v}");
        }
        for s in ["v", "vx", "v1beta", "v1gamma1", "pods", "velero", "1"] {
            assert!(!is_version(s), "{s}");
        }
    }
}
