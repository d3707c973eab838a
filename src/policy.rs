//! The audit Policy (`audit.k8s.io/v1` `Policy`, the `--audit-policy-file` of
//! kube-apiserver): read and validated as the apiserver reads it (`policy/load.rs`), and
//! evaluated for a request as its policy checker does (`policy/check.rs`), so kaudit can
//! say what level a Policy gives each request it holds.
//!
//! Depends on `model` only: a request is judged by the attributes the apiserver's
//! checker sees (`Attributes::of`).

pub mod check;
pub mod load;
pub mod shadow;

use std::path::PathBuf;

use crate::model::Request;

/// How much of a request a rule logs. Ordered: None < Metadata < Request <
/// RequestResponse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    None,
    Metadata,
    Request,
    RequestResponse,
}

impl Level {
    pub const NAMES: [&'static str; 4] = ["None", "Metadata", "Request", "RequestResponse"];

    pub fn from_name(name: &str) -> Option<Level> {
        Some(match name {
            "None" => Level::None,
            "Metadata" => Level::Metadata,
            "Request" => Level::Request,
            "RequestResponse" => Level::RequestResponse,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        Level::NAMES[self as usize]
    }
}

/// The stages a Policy may omit, as the apiserver spells them.
pub const STAGES: [&str; 4] = [
    "RequestReceived",
    "ResponseStarted",
    "ResponseComplete",
    "Panic",
];

/// One entry of a rule's `resources`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupResources {
    /// "" is the core group; "*" any group.
    pub group: String,
    /// `pods`, `pods/log`, `*`, `pods/*`, `*/status`; empty: every resource of the group.
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
}

/// One rule, with the line it starts on in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub line: usize,
    pub level: Level,
    pub users: Vec<String>,
    pub user_groups: Vec<String>,
    pub verbs: Vec<String>,
    pub resources: Vec<GroupResources>,
    /// "" is the non-namespaced requests.
    pub namespaces: Vec<String>,
    pub non_resource_urls: Vec<String>,
    /// The rule's own, and the Policy's (the checker takes their union).
    pub omit_stages: Vec<String>,
    pub omit_managed_fields: Option<bool>,
}

/// A Policy that loaded and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub rules: Vec<Rule>,
    pub omit_stages: Vec<String>,
    pub omit_managed_fields: bool,
}

/// What the apiserver's checker sees of a request (`authorizer.Attributes`), read from
/// its audit event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes<'a> {
    /// None for a request without an authenticated user.
    pub user: Option<&'a str>,
    pub groups: Vec<&'a str>,
    pub verb: &'a str,
    /// A request for an API object (`objectRef` logged), not a non-resource URL.
    pub resource_request: bool,
    pub api_group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    /// The URL path, without its query, `%XX` decoded.
    pub path: std::borrow::Cow<'a, str>,
}

impl<'a> Attributes<'a> {
    /// The attributes of a logged request. The user is the one who authenticated (the
    /// checker runs before impersonation), as `user` is logged. The name is the one in
    /// the URL: the apiserver fills a create's `objectRef.name` from its body after the
    /// Policy was checked, so a create (not of a subresource) is judged without a name
    /// and a rule's `resourceNames` never matches it, as in the apiserver.
    pub fn of(r: &Request<'a>) -> Attributes<'a> {
        let resource = r.resource.unwrap_or_default();
        let uri = r.request_uri.unwrap_or_default();
        let path = uri.split_once('?').map_or(uri, |(path, _)| path);
        let create_of_collection = r.verb == Some("create") && r.subresource.is_none();
        // The namespace of the URL: the apiserver fills an empty `objectRef.namespace`
        // from a create's body after the Policy ran, as it fills the name.
        let namespace = match r.request_uri {
            Some(_) => url_namespace(path).unwrap_or_default(),
            // A hand-made event without its URI: the logged namespace is all there is.
            None => r.namespace.unwrap_or_default(),
        };
        Attributes {
            user: r.user,
            groups: r.groups.clone(),
            verb: r.verb.unwrap_or_default(),
            resource_request: !resource.is_empty(),
            api_group: r.api_group.unwrap_or_default(),
            resource,
            subresource: r.subresource.unwrap_or_default(),
            namespace,
            name: if create_of_collection {
                ""
            } else {
                r.name.unwrap_or_default()
            },
            path: path_unescape(path),
        }
    }
}

/// The namespace an API path names (`/api/v1/namespaces/NS/...`,
/// `/apis/GROUP/VERSION/namespaces/NS/...`), read where the apiserver reads it.
fn url_namespace(path: &str) -> Option<&str> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let at = match parts.first() {
        Some(&"api") => 2,
        Some(&"apis") => 3,
        _ => return None,
    };
    match (parts.get(at), parts.get(at + 1)) {
        (Some(&"namespaces"), Some(ns)) if !ns.is_empty() => Some(ns),
        _ => None,
    }
}

/// The path as Go's `URL.Path` holds it: `%XX` decoded (`+` is a plus sign in a path).
/// The checker matches `nonResourceURLs` on it; the event logs the raw `requestURI`.
fn path_unescape(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains('%') {
        return std::borrow::Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    std::borrow::Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// A Policy with the file it was read from, as the TUI's `--policy` holds it.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    pub path: PathBuf,
    pub policy: Policy,
}

impl PolicyFile {
    /// What this Policy decides for `r`, in a line: `rule 1 (line 14): RequestResponse,
    /// omits RequestReceived (policy.yaml)`.
    pub fn describe(&self, r: &Request<'_>) -> String {
        let d = check::evaluate(&self.policy, &Attributes::of(r));
        let rule = match d.rule {
            Some(i) => format!("rule {i} (line {})", self.policy.rules[i].line),
            None => "no rule".to_string(),
        };
        let omits = if d.omit_stages.is_empty() {
            String::new()
        } else {
            format!(", omits {}", d.omit_stages.join(","))
        };
        format!(
            "{rule}: {}{omits} ({})",
            d.level.as_str(),
            self.path.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_namespaces_are_read_as_the_apiserver_reads_the_url() {
        assert_eq!(path_unescape("/metric%73"), "/metrics");
        assert_eq!(path_unescape("/a+b%2"), "/a+b%2");
        assert_eq!(
            url_namespace("/api/v1/namespaces/kube-system/pods/x"),
            Some("kube-system")
        );
        assert_eq!(
            url_namespace("/apis/apps/v1/namespaces/web/deployments"),
            Some("web")
        );
        // A cluster-scoped write names none, whatever its body says.
        assert_eq!(
            url_namespace("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"),
            None
        );
        assert_eq!(url_namespace("/api/v1/namespaces"), None);
        // `namespaces` as a name further on is no namespace.
        assert_eq!(url_namespace("/apis/x.io/v1/foos/namespaces/status"), None);
    }
}
