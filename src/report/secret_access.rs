//! Who touched which secret, aggregated from fast fields only: a hundred thousand
//! secret requests need no stored event. Used by `report secrets` and by the secrets
//! each ServiceAccount read in `report serviceaccounts`.

use std::collections::{BTreeMap, HashMap, HashSet};

use tantivy::columnar::Column;
use tantivy::{DocId, SegmentReader};

use super::tally::{Counter, Distinct, Span};
use crate::error::Result;
use crate::index::columns::{NumberColumn, TextColumn};
use crate::model::Actor;
use crate::query::scan::{StrValues, time_values, u64_values};
use crate::query::visit::SegmentVisitor;
use crate::query::{Engine, Search};

/// What a request could see: one secret, every secret of a namespace (list, watch or
/// deletecollection without a name), or every secret of the cluster.
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

/// One row's identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub scope: Scope,
    pub user: Option<String>,
    pub impersonated: Option<String>,
}

/// What one row counts.
#[derive(Default)]
pub struct Access {
    pub service_account: Option<String>,
    pub pods: Distinct,
    pub verbs: Counter,
    pub allowed: u64,
    pub forbidden: u64,
    pub span: Span,
    pub source_ips: Distinct,
    pub user_agents: Distinct,
}

/// The columns of one segment that rows are made of.
struct Columns {
    namespace: StrValues,
    name: StrValues,
    user: StrValues,
    impersonated: StrValues,
    service_account: StrValues,
    pod: StrValues,
    verb: StrValues,
    decision: StrValues,
    ip: StrValues,
    agent: StrValues,
    code: Option<Column<u64>>,
    time: Option<Column<tantivy::DateTime>>,
}

impl Columns {
    fn open(segment: &SegmentReader) -> Result<Columns> {
        Ok(Columns {
            namespace: StrValues::open(segment, TextColumn::Namespace)?,
            name: StrValues::open(segment, TextColumn::Name)?,
            user: StrValues::open(segment, TextColumn::User)?,
            impersonated: StrValues::open(segment, TextColumn::Impersonated)?,
            service_account: StrValues::open(segment, TextColumn::ServiceAccount)?,
            pod: StrValues::open(segment, TextColumn::Pod)?,
            verb: StrValues::open(segment, TextColumn::Verb)?,
            decision: StrValues::open(segment, TextColumn::Decision)?,
            ip: StrValues::open(segment, TextColumn::Ip)?,
            agent: StrValues::open(segment, TextColumn::Agent)?,
            code: u64_values(segment, NumberColumn::Code)?,
            time: time_values(segment)?,
        })
    }
}

/// A row of one segment, keyed by the ordinals of namespace, name, user, impersonated.
#[derive(Default)]
struct SegmentAccess {
    service_account: Option<u64>,
    pods: Ords,
    verbs: HashMap<Option<u64>, u64>,
    allowed: u64,
    forbidden: u64,
    span: Span,
    ips: Ords,
    agents: Ords,
}

/// Distinct ordinals of one segment, bounded: past the cap they are only noted.
#[derive(Default)]
struct Ords {
    seen: HashSet<u64>,
    overflowed: bool,
}

impl Ords {
    /// Enough for `Distinct` to keep its smallest values and count the rest.
    const CAP: usize = 10_020;

    fn extend(&mut self, ords: impl IntoIterator<Item = u64>) {
        for ord in ords {
            if self.seen.len() < Ords::CAP {
                self.seen.insert(ord);
            } else if !self.seen.contains(&ord) {
                self.overflowed = true;
            }
        }
    }

    fn into_distinct(self, values: &StrValues, into: &mut Distinct) {
        for ord in self.seen {
            into.add(&values.text(ord));
        }
        if self.overflowed {
            into.mark_saturated();
        }
    }
}

/// Ordinals of namespace, name, user and impersonated user, and whether the verb reads
/// a collection (list, watch, deletecollection).
type SegmentKey = ([Option<u64>; 4], bool);
type SegmentRows = HashMap<SegmentKey, SegmentAccess>;

/// Rows of the requests `search` matches, which should all be secrets requests.
pub fn accesses(engine: &Engine, search: &Search) -> Result<BTreeMap<Key, Access>> {
    let mut rows: BTreeMap<Key, Access> = BTreeMap::new();
    for segment in engine.visit_segments(search, SegmentAccesses::open)? {
        merge(&segment.columns, segment.rows, &mut rows);
    }
    Ok(rows)
}

/// The rows of one segment, by ordinals, with the ordinals of the values it tests.
struct SegmentAccesses {
    columns: Columns,
    rows: SegmentRows,
    forbid: Option<u64>,
    allow: Option<u64>,
    collections: [Option<u64>; 3],
}

impl SegmentAccesses {
    fn open(segment: &SegmentReader) -> Result<SegmentAccesses> {
        let columns = Columns::open(segment)?;
        let decision = &columns.decision;
        let (forbid, allow) = (decision.ord_of("forbid"), decision.ord_of("allow"));
        let collections = ["list", "watch", "deletecollection"].map(|v| columns.verb.ord_of(v));
        Ok(SegmentAccesses {
            columns,
            rows: HashMap::new(),
            forbid,
            allow,
            collections,
        })
    }
}

impl SegmentVisitor for SegmentAccesses {
    fn visit(&mut self, docs: &[DocId]) -> Result<()> {
        let c = &self.columns;
        let (forbid, allow) = (self.forbid, self.allow);
        for &doc in docs {
            let verb = c.verb.ord(doc);
            let names = [
                c.namespace.ord(doc),
                c.name.ord(doc),
                c.user.ord(doc),
                c.impersonated.ord(doc),
            ];
            let collection = verb.is_some() && self.collections.contains(&verb);
            let row = self.rows.entry((names, collection)).or_default();
            row.service_account = row.service_account.or(c.service_account.ord(doc));
            row.pods.extend(c.pod.ord(doc));
            *row.verbs.entry(verb).or_default() += 1;
            // Refused: by the authorizer, or with 403 by admission (see tally::is_forbidden).
            // Allowed: answered without error, or authorized when no answer was logged.
            // Other failures (401, 404, 5xx) count as neither.
            let code = c.code.as_ref().and_then(|col| col.first(doc));
            let decision = c.decision.ord(doc);
            if code == Some(403) || (forbid.is_some() && decision == forbid) {
                row.forbidden += 1;
            } else if code.map_or(allow.is_some() && decision == allow, |code| code < 400) {
                row.allowed += 1;
            }
            let time = c.time.as_ref().and_then(|col| col.first(doc));
            row.span.add(time.map(|t| t.into_timestamp_micros()));
            row.ips.extend(c.ip.ords(doc));
            row.agents.extend(c.agent.ord(doc));
        }
        Ok(())
    }
}

/// Decodes a segment's rows and adds them to `rows`.
fn merge(c: &Columns, seg: SegmentRows, rows: &mut BTreeMap<Key, Access>) {
    let text = |values: &StrValues, ord: Option<u64>| ord.map(|o| values.text(o));
    for (([ns, name, user, impersonated], collection), s) in seg {
        let namespace = text(&c.namespace, ns).filter(|ns| !ns.is_empty());
        let name = text(&c.name, name).filter(|n| !n.is_empty());
        // A list/watch without a name returns every secret of its namespace, or of the
        // cluster; any other verb acts on one secret, named or not (a create may only be
        // named in its body).
        let scope = match (collection, &name, &namespace) {
            (false, _, _) | (true, Some(_), _) => Scope::Object,
            (true, None, Some(_)) => Scope::Namespace,
            (true, None, None) => Scope::Cluster,
        };
        let impersonated = text(&c.impersonated, impersonated);
        let key = Key {
            namespace,
            name,
            scope,
            user: text(&c.user, user),
            impersonated: impersonated.clone(),
        };
        let row = rows.entry(key).or_default();
        if row.service_account.is_none() {
            // The acting ServiceAccount: the requester's, else the one impersonated.
            row.service_account =
                text(&c.service_account, s.service_account).or_else(|| match Actor::from_username(
                    impersonated.as_deref()?,
                ) {
                    Actor::ServiceAccount { namespace, name } => {
                        Some(format!("{namespace}/{name}"))
                    }
                    _ => None,
                });
        }
        s.pods.into_distinct(&c.pod, &mut row.pods);
        for (verb, n) in s.verbs {
            row.verbs
                .add(&text(&c.verb, verb).unwrap_or_else(|| "-".into()), n);
        }
        row.allowed += s.allowed;
        row.forbidden += s.forbidden;
        row.span.add(s.span.first);
        row.span.add(s.span.last);
        s.ips.into_distinct(&c.ip, &mut row.source_ips);
        s.agents.into_distinct(&c.agent, &mut row.user_agents);
    }
}
