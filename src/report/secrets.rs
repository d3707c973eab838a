//! `report secrets`: who read, tried to read, or changed which secret.
//!
//! One row per (namespace, name, scope, user, impersonatedUser). The scope says what a
//! request could see: `object` (a named get/update/…, or a list/watch with a
//! `metadata.name` field selector), `namespace` (list/watch of every secret in a
//! namespace) or `cluster` (of every secret). Impersonated requests keep both identities.

use std::collections::BTreeMap;

use super::secret_access::{Key, Scope, accesses};
use super::tally::Distinct;
use super::{Cell, Report, Section, has, is, within};
use crate::error::Result;
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
    let mut rows = accesses(engine, &within(scope, is(Field::Resource, "secrets")))?;
    rows.retain(|key, access| filter.keeps(key, access.service_account.as_deref()));

    // A token without a bound pod (legacy Secret-based tokens) names no pod: show the
    // pods seen using that ServiceAccount anywhere in the index instead. Not for an
    // impersonated ServiceAccount: its pods did not make the request.
    let mut pods_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, access) in rows.iter_mut() {
        let own = key.impersonated.is_none();
        if let (Some(sa), true) = (
            &access.service_account,
            own && access.pods.list().is_empty(),
        ) {
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
