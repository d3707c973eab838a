//! The `revisions` section of `report immutability`: every accepted write of a
//! workload's spec, and of its pods after they started (`kubectl edit`, `patch`,
//! `set image` on a running workload), with what it changed. These are the changes that
//! did not arrive as a new deployment, so an investigator reads each one.
//!
//! What changed is told as the TUI's object history tells it (`report::diff::History`):
//! a whole body against the object's previous whole body, a patch as the paths it sets.
//! Writes reach a report in index order, not time order, so the bodies are kept until
//! the section is built: only revisions' bodies, never those of pods a controller
//! created (instances, not revisions), so memory follows the number of edits. A pod's
//! first edit therefore has no baseline unless it is a patch, and says so.

use std::collections::HashMap;

use serde_json::Value;

use super::super::diff::{self, History};
use super::super::{Cell, Section};
use super::workloads::Key;
use crate::model::Request;

/// Changes listed per revision; the TUI's object history shows them all.
const MAX_CHANGES: usize = 20;

/// What a revision's write carried.
#[derive(Debug)]
enum Written {
    /// The verb and the one body `diff::body_of` reads (the rest of the event dropped).
    Body(Value),
    /// Why no body can be shown (`diff::missing_body`).
    Missing(String),
}

#[derive(Debug)]
struct Revision {
    object: Key,
    time: Option<i64>,
    user: String,
    verb: String,
    audit_id: Option<String>,
    written: Written,
}

/// The revisions seen, in any order.
#[derive(Debug, Default)]
pub struct Revisions {
    all: Vec<Revision>,
}

impl Revisions {
    /// One accepted write of `object`'s spec (the caller decides it is a revision).
    pub fn add(&mut self, object: Key, r: &Request<'_>, json: &[u8]) {
        self.all.push(Revision {
            object,
            time: r.time(),
            user: r.user.unwrap_or_default().to_string(),
            verb: r.verb.unwrap_or_default().to_string(),
            audit_id: r.audit_id.map(str::to_string),
            written: written(json),
        });
    }

    /// The section: rows by workload (the owner an object was folded into, by
    /// `moved_to`, else the object itself), in time order within each. Writes of objects folded into an owner are their
    /// controller's doing (a ReplicaSet scaled by its Deployment) and are left out, but
    /// edits of pods are edits of the running workload and stay.
    pub fn section(self, moved_to: impl Fn(&Key) -> Option<Key>) -> Section {
        let mut section = Section::new(
            "revisions",
            "Revisions: spec writes and edits of running pods, and what each changed",
            &[
                "namespace",
                "kind",
                "name",
                "time",
                "user",
                "verb",
                "object",
                "changes",
                "auditID",
            ],
        );
        let mut kept: Vec<(Key, Revision)> = self
            .all
            .into_iter()
            .filter_map(|r| match moved_to(&r.object) {
                Some(_) if r.object.1 != "Pod" => None,
                Some(owner) => Some((owner, r)),
                None => Some((r.object.clone(), r)),
            })
            .collect();
        // Each object's writes in time order, so each is told against the one before.
        kept.sort_by(|(_, a), (_, b)| (&a.object, a.time).cmp(&(&b.object, b.time)));
        let mut histories: HashMap<Key, History> = HashMap::new();
        let mut rows: Vec<(Key, Option<i64>, Vec<Cell>)> = Vec::with_capacity(kept.len());
        for (workload, r) in kept {
            let changes = match &r.written {
                Written::Body(event) => {
                    histories
                        .entry(r.object.clone())
                        .or_default()
                        .next(event, None, String::new)
                }
                Written::Missing(why) => vec![why.clone()],
            };
            let object = format!("{}/{}", r.object.1, r.object.2);
            rows.push((
                workload.clone(),
                r.time,
                vec![
                    Cell::text(&workload.0),
                    Cell::text(workload.1),
                    Cell::text(&workload.2),
                    Cell::Time(r.time),
                    Cell::text(r.user),
                    Cell::text(r.verb),
                    Cell::text(object),
                    Cell::List(clipped(changes)),
                    Cell::opt(r.audit_id),
                ],
            ));
        }
        rows.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        section.note = Some(format!(
            "{} revision(s). Changes are told against the object's previous body seen; \
             a patch lists what it sets. Open one in the TUI (Enter) for its whole \
             object history.",
            rows.len()
        ));
        section.rows = rows.into_iter().map(|(_, _, cells)| cells).collect();
        section
    }
}

/// What to keep of a write: the one body the history compares, or why there is none.
fn written(json: &[u8]) -> Written {
    let missing = || Written::Missing(diff::missing_body(&String::from_utf8_lossy(json)));
    let Ok(event) = serde_json::from_slice::<Value>(json) else {
        return missing();
    };
    let Some(body) = diff::body_of(&event) else {
        return missing();
    };
    let key = if std::ptr::eq(body.value, &event["responseObject"]) {
        "responseObject"
    } else {
        "requestObject"
    };
    let mut slim = serde_json::Map::new();
    slim.insert("verb".into(), event["verb"].clone());
    slim.insert(key.into(), body.value.clone());
    Written::Body(Value::Object(slim))
}

fn clipped(mut changes: Vec<String>) -> Vec<String> {
    if changes.len() > MAX_CHANGES {
        let more = changes.len() - MAX_CHANGES;
        changes.truncate(MAX_CHANGES);
        changes.push(format!(
            "… {more} more (the TUI's object history shows all)"
        ));
    }
    changes
}
