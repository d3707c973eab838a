//! Who touched which secret, aggregated from fast fields only: a hundred thousand
//! secret requests need no stored event. Used by `report secrets` and by the secrets
//! each ServiceAccount read in `report serviceaccounts`.

use std::collections::{BTreeMap, HashMap, HashSet};

use tantivy::SegmentReader;
use tantivy::columnar::Column;
use tantivy::index::SegmentId;

use super::tally::{Counter, Distinct, Span};
use crate::error::{Error, Result};
use crate::model::Actor;
use crate::query::scan::StrValues;
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
        let fast = segment.fast_fields();
        let numeric = |e: tantivy::TantivyError| Error::Usage(format!("fast field: {e}"));
        Ok(Columns {
            namespace: StrValues::open(segment, "ns")?,
            name: StrValues::open(segment, "name")?,
            user: StrValues::open(segment, "user")?,
            impersonated: StrValues::open(segment, "as")?,
            service_account: StrValues::open(segment, "sa")?,
            pod: StrValues::open(segment, "pod")?,
            verb: StrValues::open(segment, "verb")?,
            decision: StrValues::open(segment, "decision")?,
            ip: StrValues::open(segment, "ip")?,
            agent: StrValues::open(segment, "agent")?,
            code: fast.column_opt("code").map_err(numeric)?,
            time: fast.column_opt("time").map_err(numeric)?,
        })
    }
}

/// A row of one segment, keyed by the ordinals of namespace, name, user, impersonated.
#[derive(Default)]
struct SegmentAccess {
    service_account: Option<u64>,
    pods: HashSet<u64>,
    verbs: HashMap<Option<u64>, u64>,
    allowed: u64,
    forbidden: u64,
    span: Span,
    ips: HashSet<u64>,
    agents: HashSet<u64>,
}

type SegmentRows = HashMap<[Option<u64>; 4], SegmentAccess>;

/// Rows of the requests `search` matches, which should all be secrets requests.
pub fn accesses(engine: &Engine, search: &Search) -> Result<BTreeMap<Key, Access>> {
    let mut rows: BTreeMap<Key, Access> = BTreeMap::new();
    let mut current: Option<(SegmentId, Columns, SegmentRows)> = None;
    engine.scan(search, &mut |segment, docs| {
        if current
            .as_ref()
            .is_none_or(|(id, _, _)| *id != segment.segment_id())
        {
            if let Some((_, columns, seg)) = current.take() {
                merge(&columns, seg, &mut rows);
            }
            current = Some((
                segment.segment_id(),
                Columns::open(segment)?,
                HashMap::new(),
            ));
        }
        let (_, c, seg) = current.as_mut().expect("set above");
        let forbid = c.decision.ord_of("forbid");
        for &doc in docs {
            let key = [
                c.namespace.ord(doc),
                c.name.ord(doc),
                c.user.ord(doc),
                c.impersonated.ord(doc),
            ];
            let row = seg.entry(key).or_default();
            row.service_account = row.service_account.or(c.service_account.ord(doc));
            row.pods.extend(c.pod.ord(doc));
            *row.verbs.entry(c.verb.ord(doc)).or_default() += 1;
            // Refused: by the authorizer, or with 403 by admission (see tally::is_forbidden).
            let code = c.code.as_ref().and_then(|col| col.first(doc));
            if code == Some(403) || (forbid.is_some() && c.decision.ord(doc) == forbid) {
                row.forbidden += 1;
            } else {
                row.allowed += 1;
            }
            let time = c.time.as_ref().and_then(|col| col.first(doc));
            row.span.add(time.map(|t| t.into_timestamp_micros()));
            row.ips.extend(c.ip.ords(doc));
            row.agents.extend(c.agent.ord(doc));
        }
        Ok(())
    })?;
    if let Some((_, columns, seg)) = current.take() {
        merge(&columns, seg, &mut rows);
    }
    Ok(rows)
}

/// Decodes a segment's rows and adds them to `rows`.
fn merge(c: &Columns, seg: SegmentRows, rows: &mut BTreeMap<Key, Access>) {
    let text = |values: &StrValues, ord: Option<u64>| ord.map(|o| values.text(o));
    for ([ns, name, user, impersonated], s) in seg {
        let namespace = text(&c.namespace, ns).filter(|ns| !ns.is_empty());
        let name = text(&c.name, name).filter(|n| !n.is_empty());
        let scope = match (&name, &namespace) {
            (Some(_), _) => Scope::Object,
            (None, Some(_)) => Scope::Namespace,
            (None, None) => Scope::Cluster,
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
        for pod in s.pods {
            row.pods.add(&c.pod.text(pod));
        }
        for (verb, n) in s.verbs {
            row.verbs
                .add(&text(&c.verb, verb).unwrap_or_else(|| "-".into()), n);
        }
        row.allowed += s.allowed;
        row.forbidden += s.forbidden;
        row.span.add(s.span.first);
        row.span.add(s.span.last);
        for ip in s.ips {
            row.source_ips.add(&c.ip.text(ip));
        }
        for agent in s.agents {
            row.user_agents.add(&c.agent.text(agent));
        }
    }
}
