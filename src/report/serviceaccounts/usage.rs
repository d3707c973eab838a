//! Requests, pods, nodes, verbs and resources per ServiceAccount, from fast fields: each
//! segment tallies by ordinals (`SegmentUsage`, a visitor tantivy drives), decoded into
//! the accounts segment by segment, in index order.

use std::collections::{BTreeMap, HashMap};

use tantivy::columnar::Column;
use tantivy::{DocId, SegmentReader};

use super::{Account, PodUse};
use crate::error::Result;
use crate::index::columns::{NumberColumn, TextColumn};
use crate::query::scan::{StrValues, time_values, u64_values};
use crate::query::visit::SegmentVisitor;
use crate::query::{Engine, Search};
use crate::report::tally::Span;

/// Adds the usage of the requests `search` matches to `accounts`.
pub(super) fn usage(
    engine: &Engine,
    search: &Search,
    accounts: &mut BTreeMap<String, Account>,
) -> Result<()> {
    for segment in engine.visit_segments(search, SegmentUsage::open)? {
        segment.add_to(accounts);
    }
    Ok(())
}

/// The columns of one segment.
struct Columns {
    sa: StrValues,
    pod: StrValues,
    uid: StrValues,
    node: StrValues,
    verb: StrValues,
    resource: StrValues,
    decision: StrValues,
    code: Option<Column<u64>>,
    time: Option<Column<tantivy::DateTime>>,
}

/// One ServiceAccount's use in one segment, by ordinals.
#[derive(Default)]
struct OrdUsage {
    requests: u64,
    forbidden: u64,
    span: Span,
    verbs: HashMap<Option<u64>, u64>,
    resources: HashMap<u64, u64>,
    /// (pod, pod uid) → use.
    pods: HashMap<(u64, Option<u64>), OrdPodUse>,
}

#[derive(Default)]
struct OrdPodUse {
    requests: u64,
    forbidden: u64,
    span: Span,
    /// The first node named by the pod's requests, in index order.
    node: Option<u64>,
}

/// Usage of one segment, by ServiceAccount ordinal.
struct SegmentUsage {
    c: Columns,
    forbid: Option<u64>,
    accounts: HashMap<u64, OrdUsage>,
}

impl SegmentUsage {
    fn open(segment: &SegmentReader) -> Result<SegmentUsage> {
        let c = Columns {
            sa: StrValues::open(segment, TextColumn::ServiceAccount)?,
            pod: StrValues::open(segment, TextColumn::Pod)?,
            uid: StrValues::open(segment, TextColumn::PodUid)?,
            node: StrValues::open(segment, TextColumn::Node)?,
            verb: StrValues::open(segment, TextColumn::Verb)?,
            resource: StrValues::open(segment, TextColumn::Resource)?,
            decision: StrValues::open(segment, TextColumn::Decision)?,
            code: u64_values(segment, NumberColumn::Code)?,
            time: time_values(segment)?,
        };
        Ok(SegmentUsage {
            forbid: c.decision.ord_of("forbid"),
            c,
            accounts: HashMap::new(),
        })
    }

    /// Decodes the ordinals and adds this segment's usage to `accounts`.
    fn add_to(self, accounts: &mut BTreeMap<String, Account>) {
        let c = &self.c;
        for (sa, used) in self.accounts {
            let account = accounts.entry(c.sa.text(sa)).or_default();
            account.requests += used.requests;
            account.forbidden += used.forbidden;
            account.span.add(used.span.first);
            account.span.add(used.span.last);
            for (verb, n) in used.verbs {
                let verb = verb.map(|v| c.verb.text(v)).unwrap_or_default();
                account.verbs.add(&verb, n);
            }
            for (resource, n) in used.resources {
                account.resources.add(&c.resource.text(resource), n);
            }
            for ((pod, uid), seen) in used.pods {
                let key = (c.pod.text(pod), uid.map(|u| c.uid.text(u)));
                let usage: &mut PodUse = account.pods.entry(key).or_default();
                usage.requests += seen.requests;
                usage.forbidden += seen.forbidden;
                usage.span.add(seen.span.first);
                usage.span.add(seen.span.last);
                if usage.node.is_none() {
                    usage.node = seen.node.map(|n| c.node.text(n));
                }
            }
        }
    }
}

impl SegmentVisitor for SegmentUsage {
    fn visit(&mut self, docs: &[DocId]) -> Result<()> {
        let c = &self.c;
        for &doc in docs {
            let Some(sa) = c.sa.ord(doc) else {
                continue;
            };
            let code = c.code.as_ref().and_then(|col| col.first(doc));
            let forbidden =
                code == Some(403) || (self.forbid.is_some() && c.decision.ord(doc) == self.forbid);
            let time = c
                .time
                .as_ref()
                .and_then(|col| col.first(doc))
                .map(|t| t.into_timestamp_micros());
            let used = self.accounts.entry(sa).or_default();
            used.requests += 1;
            used.forbidden += u64::from(forbidden);
            used.span.add(time);
            *used.verbs.entry(c.verb.ord(doc)).or_default() += 1;
            if let Some(resource) = c.resource.ord(doc) {
                *used.resources.entry(resource).or_default() += 1;
            }
            if let Some(pod) = c.pod.ord(doc) {
                let seen = used.pods.entry((pod, c.uid.ord(doc))).or_default();
                seen.requests += 1;
                seen.forbidden += u64::from(forbidden);
                seen.span.add(time);
                if seen.node.is_none() {
                    seen.node = c.node.ord(doc);
                }
            }
        }
        Ok(())
    }
}
