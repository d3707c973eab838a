//! Rules that can never match: an earlier rule takes every request they would. Decided
//! from the rules alone (whatever the traffic), by a sufficient condition: the earlier
//! rule's every condition is at least as wide as the later rule's. A rule that escapes
//! this test may still be unreachable through a combination of earlier rules; the
//! traffic count (`policy check`'s "never matched") covers what this does not.

use super::{GroupResources, Rule};

/// For each rule, the first earlier rule that shadows it.
pub fn shadowed_by(rules: &[Rule]) -> Vec<Option<usize>> {
    rules
        .iter()
        .enumerate()
        .map(|(i, later)| rules[..i].iter().position(|earlier| covers(earlier, later)))
        .collect()
}

/// Whether every request `later` matches is matched by `earlier`.
pub fn covers(earlier: &Rule, later: &Rule) -> bool {
    list_covers(&earlier.users, &later.users)
        && list_covers(&earlier.user_groups, &later.user_groups)
        && list_covers(&earlier.verbs, &later.verbs)
        && target_covers(earlier, later)
}

/// An empty list allows anything; else the later list must be non-empty and inside it.
fn list_covers(earlier: &[String], later: &[String]) -> bool {
    earlier.is_empty() || (!later.is_empty() && later.iter().all(|v| earlier.contains(v)))
}

/// What kind of request a rule takes: any, resource requests, or non-resource URLs.
fn is_resource_rule(r: &Rule) -> bool {
    !r.namespaces.is_empty() || !r.resources.is_empty()
}

fn target_covers(earlier: &Rule, later: &Rule) -> bool {
    if is_resource_rule(earlier) {
        is_resource_rule(later)
            && list_covers(&earlier.namespaces, &later.namespaces)
            && (earlier.resources.is_empty()
                || (!later.resources.is_empty()
                    && later
                        .resources
                        .iter()
                        .all(|l| earlier.resources.iter().any(|e| group_covers(e, l)))))
    } else if !earlier.non_resource_urls.is_empty() {
        !is_resource_rule(later)
            && !later.non_resource_urls.is_empty()
            && later
                .non_resource_urls
                .iter()
                .all(|l| earlier.non_resource_urls.iter().any(|e| url_covers(e, l)))
    } else {
        true
    }
}

fn group_covers(earlier: &GroupResources, later: &GroupResources) -> bool {
    (earlier.group == "*" || earlier.group == later.group)
        && (earlier.resources.is_empty()
            || (!later.resources.is_empty()
                && later
                    .resources
                    .iter()
                    .all(|l| earlier.resources.iter().any(|e| resource_covers(e, l)))))
        && list_covers(&earlier.resource_names, &later.resource_names)
}

/// Whether resource pattern `earlier` matches every request pattern `later` does:
/// `*` anything; `x/*` x and its subresources; `*/s` subresource s of anything.
fn resource_covers(earlier: &str, later: &str) -> bool {
    if earlier == "*" || earlier == later {
        return true;
    }
    // A `*` or `/` left in the pattern is literal to the checker (`*/*` matches only a
    // resource named `*`): such a pattern covers nothing but itself.
    let literal = |part: &str| !part.contains(['*', '/']);
    if let Some(resource) = earlier.strip_suffix("/*").filter(|r| literal(r)) {
        return later == resource || later.split_once('/').is_some_and(|(r, _)| r == resource);
    }
    if let Some(sub) = earlier.strip_prefix("*/").filter(|s| literal(s)) {
        return later.split_once('/').is_some_and(|(_, s)| s == sub);
    }
    false
}

/// Whether URL pattern `earlier` matches every path `later` does.
fn url_covers(earlier: &str, later: &str) -> bool {
    if earlier == "*" || earlier == later {
        return true;
    }
    match earlier.strip_suffix('*') {
        Some(prefix) => later
            .trim_end_matches('*')
            .starts_with(prefix.trim_end_matches('*')),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load::load;

    fn shadows(rules: &str) -> Vec<Option<usize>> {
        let text = format!("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{rules}");
        shadowed_by(&load(&text).unwrap().0.rules)
    }

    #[test]
    fn a_rule_behind_a_wider_one_is_shadowed() {
        // A catch-all first takes everything after it.
        assert_eq!(
            shadows("- level: Metadata\n- level: Request\n  verbs: [create]\n"),
            [None, Some(0)]
        );
        // Secrets of any group, then core secrets; pods/* then pods/exec.
        let rules = "- level: Metadata\n  resources: [{group: \"*\", resources: [secrets, \"pods/*\"]}]\n\
                     - level: RequestResponse\n  verbs: [get]\n  resources: [{resources: [secrets]}]\n\
                     - level: Request\n  resources: [{resources: [pods/exec, pods]}]\n";
        assert_eq!(shadows(rules), [None, Some(0), Some(0)]);
        // URL prefixes.
        let rules = "- level: None\n  nonResourceURLs: [\"/healthz*\"]\n\
                     - level: Metadata\n  nonResourceURLs: [/healthz/etcd, \"/healthz/*\"]\n";
        assert_eq!(shadows(rules), [None, Some(0)]);
    }

    #[test]
    fn a_narrower_earlier_rule_shadows_nothing() {
        for rules in [
            // Users narrow the first rule.
            "- level: None\n  users: [alice]\n- level: Metadata\n",
            // The first takes get only.
            "- level: None\n  verbs: [get]\n- level: Metadata\n  verbs: [get, list]\n",
            // Resource names narrow it.
            "- level: None\n  resources: [{resources: [secrets], resourceNames: [a]}]\n- level: Metadata\n  resources: [{resources: [secrets]}]\n",
            // Resources and URLs are different requests.
            "- level: None\n  resources: [{resources: [\"*\"]}]\n- level: Metadata\n  nonResourceURLs: [\"*\"]\n",
            // `*/*` takes only a resource named `*`: nothing real.
            "- level: None\n  resources: [{resources: [\"*/*\"]}]\n- level: Metadata\n  resources: [{resources: [\"*\"]}]\n",
            "- level: None\n  resources: [{resources: [\"*/*\"]}]\n- level: Metadata\n  resources: [{resources: [\"*/log\"]}]\n",
            "- level: None\n  resources: [{resources: [\"x/y/*\"]}]\n- level: Metadata\n  resources: [{resources: [x/y]}]\n",
            // `*/status` does not take `pods`.
            "- level: None\n  resources: [{resources: [\"*/status\"]}]\n- level: Metadata\n  resources: [{resources: [pods]}]\n",
            // Namespaces narrow it.
            "- level: None\n  namespaces: [kube-system]\n- level: Metadata\n  resources: [{resources: [pods]}]\n",
        ] {
            assert_eq!(shadows(rules), [None, None], "{rules}");
        }
    }
}
