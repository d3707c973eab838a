//! `report secrets`: who read, tried to read, or changed which secret.
//!
//! One row per (namespace, name, scope, user, impersonatedUser). The scope says what a
//! request could see: `object` (a named get/update/…, or a list/watch with a
//! `metadata.name` field selector), `namespace` (list/watch of every secret in a
//! namespace) or `cluster` (of every secret). Impersonated requests keep both identities.

use std::collections::{BTreeMap, BTreeSet};

use tantivy::{DocId, SegmentReader};

use super::secret_access::{Access, Key, Scope, accesses};
use super::tally::Distinct;
use super::{Cell, Report, Section, has, is, within};
use crate::error::Result;
use crate::index::columns::TextColumn;
use crate::query::parse::{Expr, Field};
use crate::query::scan::StrValues;
use crate::query::visit::SegmentVisitor;
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
    fn keeps(&self, key: &Key, access: &Access) -> bool {
        let ns = key.namespace.as_deref();
        // A list selecting a name without a namespace returns it from every namespace.
        let every_namespace = ns.is_none();
        if let Some((secret_ns, secret_name)) = &self.secret {
            let hit = match key.scope {
                Scope::Object => {
                    (every_namespace || ns == Some(secret_ns))
                        && key.name.as_deref() == Some(secret_name)
                }
                // Wide reads that returned it: answered ones.
                Scope::Namespace => ns == Some(secret_ns) && access.allowed > 0,
                Scope::Cluster => access.allowed > 0,
            };
            if !hit {
                return false;
            }
        }
        if let Some(want) = &self.namespace
            && !every_namespace
            && ns != Some(want)
        {
            return false;
        }
        if let Some(actor) = &self.actor {
            let a = Some(actor.as_str());
            return key.user.as_deref() == a
                || key.impersonated.as_deref() == a
                || access.service_account.as_deref() == a;
        }
        true
    }
}

/// `report secrets`: who read, tried to read or changed which core Secret, one row per
/// secret (or namespace- or cluster-wide read), actor and impersonated user, from
/// columns; with the pods seen using a ServiceAccount whose token named none.
pub fn run(engine: &Engine, filter: &Filter, scope: &Search) -> Result<Report> {
    // Core Secrets only: a custom resource may be called `secrets` too.
    let secrets = Expr::And(vec![
        is(Field::Resource, "secrets"),
        is(Field::ApiGroup, "core"),
    ]);
    let mut rows = accesses(engine, &within(scope, secrets))?;
    rows.retain(|key, access| filter.keeps(key, access));

    // A token without a bound pod (legacy Secret-based tokens, or one used outside the
    // cluster) names no pod. The pods seen using that ServiceAccount elsewhere are listed
    // apart, in `serviceAccountPods`: they are candidates, not proven readers. Not for
    // an impersonated ServiceAccount: its pods did not make the request.
    let mut pods_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut candidates: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    for (key, access) in &rows {
        let Some(sa) = &access.service_account else {
            continue;
        };
        if key.impersonated.is_some() || !access.pods.list().is_empty() {
            continue;
        }
        if !pods_of.contains_key(sa) {
            pods_of.insert(sa.clone(), pods_seen(engine, sa, scope)?);
        }
        candidates.insert(key.clone(), pods_of[sa].clone());
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
            "serviceAccountPods",
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
        let candidates = candidates.remove(&key).unwrap_or_default();
        section.rows.push(vec![
            Cell::Text(key.namespace),
            Cell::Text(key.name),
            Cell::text(key.scope.as_str()),
            Cell::Text(key.user),
            Cell::Text(key.impersonated),
            Cell::Text(a.service_account),
            Cell::List(a.pods.list()),
            Cell::List(candidates),
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
    for segment in engine.visit_segments(&search, PodsOfSegment::open)? {
        for ord in segment.seen {
            pods.add(&segment.column.text(ord));
        }
    }
    Ok(pods.list())
}

/// The pods of one segment's requests, as ordinals of its pod column.
struct PodsOfSegment {
    column: StrValues,
    seen: BTreeSet<u64>,
}

impl PodsOfSegment {
    fn open(segment: &SegmentReader) -> Result<PodsOfSegment> {
        Ok(PodsOfSegment {
            column: StrValues::open(segment, TextColumn::Pod)?,
            seen: BTreeSet::new(),
        })
    }
}

impl SegmentVisitor for PodsOfSegment {
    fn visit(&mut self, docs: &[DocId]) -> Result<()> {
        self.seen
            .extend(docs.iter().filter_map(|&d| self.column.ord(d)));
        Ok(())
    }
}
