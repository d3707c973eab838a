//! `report secrets`: who read, tried to read, or changed which secret.
//!
//! One row per (namespace, name, scope, user, impersonatedUser). The scope says what a
//! request could see: `object` (a named get/update/…, or a list/watch with a
//! `metadata.name` field selector), `namespace` (list/watch of every secret in a
//! namespace) or `cluster` (of every secret). Impersonated requests keep both identities.

use std::collections::BTreeMap;

use super::tally::{Counter, Distinct, Span, is_forbidden};
use super::{Cell, Event, Report, Section, each_event, has, is, str_at, within};
use crate::error::Result;
use crate::model::{Actor, percent_decode};
use crate::query::parse::{Expr, Field};
use crate::query::{Engine, Search};

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `--secret ns/name`: that secret, and the namespace- and cluster-wide reads that
    /// returned it.
    pub secret: Option<(String, String)>,
    /// `--namespace NS`: secrets of NS, and cluster-wide reads.
    pub namespace: Option<String>,
    /// `--actor USER`: requests by USER, as USER (impersonated), or by ServiceAccount ns/name.
    pub actor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Object,
    Namespace,
    Cluster,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Object => "object",
            Scope::Namespace => "namespace",
            Scope::Cluster => "cluster",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    namespace: Option<String>,
    name: Option<String>,
    scope: Scope,
    user: Option<String>,
    impersonated: Option<String>,
}

#[derive(Default)]
struct Access {
    service_account: Option<String>,
    pods: Distinct,
    verbs: Counter,
    allowed: u64,
    forbidden: u64,
    span: Span,
    source_ips: Distinct,
    user_agents: Distinct,
}

/// The secret a request names and what it could see.
pub fn target(e: &Event<'_>) -> (Option<String>, Scope) {
    let r = e.request;
    let name = r
        .name
        .map(str::to_string)
        .or_else(|| r.request_uri.and_then(field_selector_name))
        .or_else(|| {
            // A create names its object in the body (when the level logs bodies).
            str_at(e.value, &["requestObject", "metadata", "name"])
                .or_else(|| str_at(e.value, &["responseObject", "metadata", "name"]))
                .map(str::to_string)
        })
        .filter(|n| !n.is_empty());
    // Without a name, a request covers every secret of its namespace (list, watch,
    // deletecollection), or of the cluster when it has no namespace.
    let scope = match (&name, r.namespace.filter(|ns| !ns.is_empty())) {
        (Some(_), _) => Scope::Object,
        (None, Some(_)) => Scope::Namespace,
        (None, None) => Scope::Cluster,
    };
    (name, scope)
}

/// `metadata.name` from a `fieldSelector` in the request URI's query.
fn field_selector_name(uri: &str) -> Option<String> {
    let query = uri.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("fieldSelector="))
        .flat_map(|v| {
            percent_decode(v)
                .split(',')
                .filter_map(|term| {
                    let term = term.trim();
                    term.strip_prefix("metadata.name==")
                        .or_else(|| term.strip_prefix("metadata.name="))
                        .map(str::to_string)
                })
                .collect::<Vec<_>>()
        })
        .next()
}

impl Filter {
    fn keeps(&self, key: &Key, service_account: Option<&str>) -> bool {
        let ns = key.namespace.as_deref();
        if let Some((secret_ns, secret_name)) = &self.secret {
            let hit = match key.scope {
                Scope::Object => ns == Some(secret_ns) && key.name.as_deref() == Some(secret_name),
                Scope::Namespace => ns == Some(secret_ns),
                Scope::Cluster => true,
            };
            if !hit {
                return false;
            }
        }
        if let Some(want) = &self.namespace
            && key.scope != Scope::Cluster
            && ns != Some(want)
        {
            return false;
        }
        if let Some(actor) = &self.actor {
            let a = Some(actor.as_str());
            return key.user.as_deref() == a
                || key.impersonated.as_deref() == a
                || service_account == a;
        }
        true
    }
}

pub fn run(engine: &Engine, filter: &Filter, scope: &Search) -> Result<Report> {
    let mut rows: BTreeMap<Key, Access> = BTreeMap::new();
    let search = within(scope, is(Field::Resource, "secrets"));
    each_event(engine, &search, &mut |e| {
        let r = e.request;
        let (name, scope) = target(e);
        let service_account = r.service_account.clone().or_else(|| {
            match Actor::from_username(r.impersonated_user?) {
                Actor::ServiceAccount { namespace, name } => Some(format!("{namespace}/{name}")),
                _ => None,
            }
        });
        let key = Key {
            namespace: r.namespace.filter(|ns| !ns.is_empty()).map(str::to_string),
            name: if scope == Scope::Object { name } else { None },
            scope,
            user: r.user.map(str::to_string),
            impersonated: r.impersonated_user.map(str::to_string),
        };
        if !filter.keeps(&key, service_account.as_deref()) {
            return;
        }
        let row = rows.entry(key).or_default();
        row.service_account = service_account;
        if let Some(pod) = &r.pod {
            row.pods.add(pod);
        }
        row.verbs.add(r.verb.unwrap_or("-"), 1);
        if is_forbidden(r.code, r.decision) {
            row.forbidden += 1;
        } else {
            row.allowed += 1;
        }
        row.span.add(r.time());
        for ip in &r.source_ips {
            row.source_ips.add(ip);
        }
        row.user_agents.add(r.user_agent.unwrap_or(""));
    })?;

    // A token without a bound pod (legacy Secret-based tokens) names no pod: show the
    // pods seen using that ServiceAccount anywhere in the index instead. Not for an
    // impersonated ServiceAccount: its pods did not make the request.
    let mut pods_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, access) in rows.iter_mut() {
        let own = key.impersonated.is_none();
        if let (Some(sa), true) = (&access.service_account, own && access.pods.list().is_empty()) {
            if !pods_of.contains_key(sa) {
                pods_of.insert(sa.clone(), pods_seen(engine, sa, scope)?);
            }
            for pod in &pods_of[sa] {
                access.pods.add(pod);
            }
        }
    }

    let mut section = Section::new(
        "rows",
        "Secret access",
        &[
            "namespace",
            "name",
            "scope",
            "user",
            "impersonatedUser",
            "serviceAccount",
            "pods",
            "verbs",
            "allowed",
            "forbidden",
            "first",
            "last",
            "sourceIPs",
            "userAgents",
        ],
    );
    for (key, a) in rows {
        section.rows.push(vec![
            Cell::Text(key.namespace),
            Cell::Text(key.name),
            Cell::text(key.scope.as_str()),
            Cell::Text(key.user),
            Cell::Text(key.impersonated),
            Cell::Text(a.service_account),
            Cell::List(a.pods.list()),
            Cell::Counts(a.verbs.top(usize::MAX)),
            Cell::Count(a.allowed),
            Cell::Count(a.forbidden),
            Cell::Time(a.span.first),
            Cell::Time(a.span.last),
            Cell::List(a.source_ips.list()),
            Cell::List(a.user_agents.list()),
        ]);
    }
    let flagged = section.rows.len() as u64;
    Ok(Report {
        name: "secrets",
        sections: vec![section],
        primary: "rows",
        json: None,
        flagged,
    })
}

/// Pods whose requests carried the tokens of ServiceAccount `sa` (ns/name).
fn pods_seen(engine: &Engine, sa: &str, scope: &Search) -> Result<Vec<String>> {
    let search = within(
        scope,
        Expr::And(vec![is(Field::ServiceAccount, sa), has(Field::Pod)]),
    );
    let mut pods = Distinct::default();
    engine.scan(&search, &mut |segment, docs| {
        let column = crate::query::scan::StrValues::open(segment, "pod")?;
        let mut seen = std::collections::BTreeSet::new();
        seen.extend(docs.iter().filter_map(|&d| column.ord(d)));
        for ord in seen {
            pods.add(&column.text(ord));
        }
        Ok(())
    })?;
    Ok(pods.list())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_selectors_name_the_secret() {
        let uri = "/api/v1/namespaces/a/secrets?fieldSelector=metadata.name%3Ddb-password&watch=true";
        assert_eq!(field_selector_name(uri).as_deref(), Some("db-password"));
        let uri = "/api/v1/secrets?fieldSelector=type%3Dopaque%2Cmetadata.name%3D%3Dx";
        assert_eq!(field_selector_name(uri).as_deref(), Some("x"));
        assert_eq!(field_selector_name("/api/v1/secrets?limit=500"), None);
    }
}
