//! Carries out the state's effects against the index and answers with actions. It
//! runs on its own thread so that the UI never waits on a query; `perform` itself is
//! synchronous and is tested directly.

use crate::error::Error;
use crate::index::document::Stored;
use crate::ingest::parse::{normalize, parse_stored};
use crate::query::saved::SavedQuery;
use crate::query::{Engine, Search, parse_query};

use super::state::{Action, Effect, PAGE, RowSummary};

/// A results row from a stored event, derived by the same normalization as ingest.
pub fn row_summary(stored: &Stored, buf: &mut Vec<u8>) -> Option<RowSummary> {
    let value = parse_stored(&stored.event, buf)?;
    let r = normalize(&value).ok()?;
    let own = |s: Option<&str>| s.map(str::to_string);
    Some(RowSummary {
        actor: r.actor_label(),
        event: String::from_utf8_lossy(&stored.event).into_owned(),
        resource_path: r.resource_path(),
        object_path: r.object_path(),
        audit_id: own(r.audit_id),
        time: r.time(),
        user: own(r.user),
        service_account: r.service_account.clone(),
        pod: r.pod.clone(),
        verb: own(r.verb),
        resource: own(r.resource),
        subresource: own(r.subresource),
        namespace: own(r.namespace),
        name: own(r.object_name()),
        code: r.code,
        decision: own(r.decision),
        source_ip: r.source_ips.first().map(|s| s.to_string()),
    })
}

/// Runs one effect; `Quit` needs no work.
pub fn perform(engine: &Engine, saved: &[SavedQuery], effect: &Effect) -> Vec<Action> {
    let (generation, query, order, first) = match effect {
        Effect::Run {
            generation,
            query,
            order,
        } => (*generation, query, *order, None),
        Effect::LoadPage {
            generation,
            query,
            order,
            first,
        } => (*generation, query, *order, Some(*first)),
        Effect::Quit => return Vec::new(),
    };
    let failed = |e: Error| {
        let column = match &e {
            Error::Query(syntax) if syntax.saved.is_none() => Some(syntax.position),
            _ => None,
        };
        vec![Action::QueryFailed {
            generation,
            column,
            message: e.to_string(),
        }]
    };
    let search = match parse_query(query, saved) {
        Ok(expr) => Search {
            expr,
            since: None,
            until: None,
        },
        Err(e) => return failed(e),
    };
    let mut answers = Vec::new();
    if first.is_none() {
        match engine.count(&search) {
            Ok(total) => answers.push(Action::Counted { generation, total }),
            Err(e) => return failed(e),
        }
    }
    let first = first.unwrap_or(0);
    match engine.search(&search, order, first, Some(PAGE)) {
        Ok(page) => {
            let mut buf = Vec::new();
            let rows = page
                .iter()
                .filter_map(|s| row_summary(s, &mut buf))
                .collect();
            answers.push(Action::PageLoaded {
                generation,
                first,
                rows,
            });
            answers
        }
        Err(e) => failed(e),
    }
}
