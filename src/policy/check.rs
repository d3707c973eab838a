//! The level a Policy gives a request, exactly as kube-apiserver's policy checker
//! (`k8s.io/apiserver/pkg/audit/policy/checker.go`) decides it: rules in order, the
//! first that matches wins; no match is level None with the Policy's own `omitStages`.
//!
//! A rule matches when each of its lists that is not empty holds the request's value:
//! `users` (the name), `userGroups` (any group), `verbs`. Then, if it names
//! `namespaces` or `resources`, only resource requests match: the namespace ("" for a
//! cluster-scoped one), and a `resources` entry whose `group` is the request's ("" the
//! core group, `*` any) and that lists no resource, or `*`, the resource (`pods`),
//! `resource/subresource` (`pods/log`), `*/subresource`, or `resource/*` (the resource
//! and each of its subresources), each within `resourceNames` when it has some. Else,
//! if it names `nonResourceURLs`, only non-resource requests match: a URL equal to the
//! path, `*`, or a prefix ending in `*`. A rule naming none of these matches both.

use super::{Attributes, Level, Policy, Rule};

/// What a Policy decides for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub level: Level,
    /// The index of the rule that matched; None when none did.
    pub rule: Option<usize>,
    /// The rule's `omitStages` and the Policy's, in the order of `STAGES`.
    pub omit_stages: Vec<&'static str>,
    pub omit_managed_fields: bool,
}

/// The decision of `policy` for a request with attributes `attrs`.
pub fn evaluate(policy: &Policy, attrs: &Attributes<'_>) -> Decision {
    for (index, rule) in policy.rules.iter().enumerate() {
        if matches(rule, attrs) {
            return Decision {
                level: rule.level,
                rule: Some(index),
                omit_stages: union(&[&rule.omit_stages, &policy.omit_stages]),
                omit_managed_fields: rule
                    .omit_managed_fields
                    .unwrap_or(policy.omit_managed_fields),
            };
        }
    }
    Decision {
        level: Level::None,
        rule: None,
        omit_stages: union(&[&policy.omit_stages]),
        omit_managed_fields: policy.omit_managed_fields,
    }
}

/// The stages named in any of `lists`, each once, in the apiserver's order.
fn union(lists: &[&Vec<String>]) -> Vec<&'static str> {
    super::STAGES
        .into_iter()
        .filter(|stage| lists.iter().any(|list| list.iter().any(|s| s == stage)))
        .collect()
}

/// Whether `rule` matches the request.
pub fn matches(rule: &Rule, attrs: &Attributes<'_>) -> bool {
    let has = |list: &[String], value: &str| list.iter().any(|s| s == value);
    if !rule.users.is_empty() && !attrs.user.is_some_and(|u| has(&rule.users, u)) {
        return false;
    }
    // A request without a user has no groups either.
    let in_groups =
        || attrs.user.is_some() && attrs.groups.iter().any(|g| has(&rule.user_groups, g));
    if !rule.user_groups.is_empty() && !in_groups() {
        return false;
    }
    if !rule.verbs.is_empty() && !has(&rule.verbs, attrs.verb) {
        return false;
    }
    if !rule.namespaces.is_empty() || !rule.resources.is_empty() {
        return matches_resource(rule, attrs);
    }
    if !rule.non_resource_urls.is_empty() {
        return !attrs.resource_request
            && rule
                .non_resource_urls
                .iter()
                .any(|spec| path_matches(&attrs.path, spec));
    }
    true
}

fn path_matches(path: &str, spec: &str) -> bool {
    spec == "*"
        || spec == path
        || spec
            .strip_suffix('*')
            .is_some_and(|_| path.starts_with(spec.trim_end_matches('*')))
}

fn matches_resource(rule: &Rule, attrs: &Attributes<'_>) -> bool {
    if !attrs.resource_request {
        return false;
    }
    if !rule.namespaces.is_empty() && !rule.namespaces.iter().any(|n| n == attrs.namespace) {
        return false;
    }
    if rule.resources.is_empty() {
        return true;
    }
    let (resource, sub) = (attrs.resource, attrs.subresource);
    let combined = if sub.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}/{sub}")
    };
    rule.resources.iter().any(|gr| {
        if gr.group != attrs.api_group && gr.group != "*" {
            return false;
        }
        if gr.resources.is_empty() {
            return true;
        }
        let named =
            gr.resource_names.is_empty() || gr.resource_names.iter().any(|n| n == attrs.name);
        named
            && gr.resources.iter().any(|res| {
                *res == combined
                    || res == "*"
                    || (!sub.is_empty() && res.strip_prefix("*/") == Some(sub))
                    || res.strip_suffix("/*") == Some(resource)
            })
    })
}

#[cfg(test)]
mod tests;
