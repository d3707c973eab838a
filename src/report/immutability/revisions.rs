//! The `revisions` section of `report immutability`: every accepted write of a
//! workload's spec, and of its pods after they started (`kubectl edit`, `patch`,
//! `set image` on a running workload), with what it changed. These are the changes that
//! did not arrive as a new deployment, so an investigator reads each one.
//!
//! What changed is told as the TUI's object history tells it (`report::diff::History`):
//! a whole body against the object's previous whole body, a patch as the paths it sets.
//! The report reads writes in the order they were received
//! (`Engine::scan_stored_by_time`), so each is told as it is read, holding one last
//! body per object. The creates of pods by their controllers are instances, not
//! revisions, and are not held: a pod's first edit by `update` has no earlier body to
//! compare with.

use std::collections::HashMap;

use serde_json::Value;
use serde_json::value::RawValue;

use super::super::diff::{self, History};
use super::super::{Bodies, Cell, Section};
use super::workloads::Key;
use crate::model::Request;

/// Changes listed per revision; the TUI's object history shows them all.
const MAX_CHANGES: usize = 20;

/// A revision told: a write of `object` and what it changed.
#[derive(Debug)]
struct Told {
    object: Key,
    time: Option<i64>,
    user: String,
    verb: String,
    audit_id: Option<String>,
    changes: Vec<String>,
}

/// The revisions told so far, and each object's history.
#[derive(Debug, Default)]
pub struct Revisions {
    told: Vec<Told>,
    histories: HashMap<Key, History>,
}

impl Revisions {
    /// One accepted write of `object`'s spec (the caller decides it is a revision),
    /// after every earlier one.
    pub fn add(&mut self, object: Key, r: &Request<'_>, json: &[u8]) {
        let history = self.histories.entry(object.clone()).or_default();
        let mut changes = match written(r.verb.unwrap_or_default(), json) {
            // Accepted writes only: no code to pass, and a body by construction.
            Written::Body(event) => history.next(event, None, String::new),
            Written::Missing(why) => vec![why],
        };
        if changes.len() > MAX_CHANGES {
            let more = changes.len() - MAX_CHANGES;
            changes.truncate(MAX_CHANGES);
            changes.push(format!(
                "… {more} more (the TUI's object history shows all)"
            ));
        }
        self.told.push(Told {
            object,
            time: r.time(),
            user: r.user.unwrap_or_default().to_string(),
            verb: r.verb.unwrap_or_default().to_string(),
            audit_id: r.audit_id.map(str::to_string),
            changes,
        });
    }

    /// The section: rows by workload (the owner an object was folded into, by
    /// `moved_to`, else the object itself), in time order within each. Writes of
    /// objects folded into an owner are their controller's doing (a ReplicaSet scaled
    /// by its Deployment) and are left out, but edits of pods are edits of the running
    /// workload and stay.
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
        let mut rows: Vec<(Key, Told)> = (self.told.into_iter())
            .filter_map(|t| match moved_to(&t.object) {
                Some(_) if t.object.1 != "Pod" => None,
                Some(owner) => Some((owner, t)),
                None => Some((t.object.clone(), t)),
            })
            .collect();
        // Stable: writes received at the same time stay in the order told.
        rows.sort_by(|(a, x), (b, y)| (a, x.time).cmp(&(b, y.time)));
        section.note = Some(format!(
            "{} revision(s). Changes are told against the object's previous body seen; \
             a patch lists what it sets. Open one in the TUI (Enter) for its whole \
             object history.",
            rows.len()
        ));
        section.rows = (rows.into_iter())
            .map(|(workload, t)| {
                vec![
                    Cell::text(&workload.0),
                    Cell::text(workload.1),
                    Cell::text(&workload.2),
                    Cell::Time(t.time),
                    Cell::text(t.user),
                    Cell::text(t.verb),
                    Cell::text(format!("{}/{}", t.object.1, t.object.2)),
                    Cell::List(t.changes),
                    Cell::opt(t.audit_id),
                ]
            })
            .collect();
        section
    }
}

/// What a write carried.
enum Written {
    /// The verb and the one body `diff::body_of` reads (the rest of the event dropped).
    Body(Value),
    /// Why no body can be shown (`diff::missing_body`).
    Missing(String),
}

/// What to keep of a write: the one body the history compares (as `diff::body_of`
/// picks it), or why there is none.
fn written(verb: &str, json: &[u8]) -> Written {
    let missing = || Written::Missing(diff::missing_body(&String::from_utf8_lossy(json)));
    // Only the chosen body is built as a value. A stored event that repeats a body key
    // (as a client may send it) is read whole, the last copy counting, as the TUI reads it.
    let slim = match serde_json::from_slice::<Bodies>(json) {
        Ok(bodies) => {
            let parse = |raw: Option<&RawValue>| {
                raw.and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
            };
            let mut slim = serde_json::Map::new();
            slim.insert("verb".into(), Value::from(verb));
            match parse(bodies.response) {
                Some(response) if diff::is_stored_object(&response) => {
                    slim.insert("responseObject".into(), response);
                }
                _ => {
                    if let Some(request) = parse(bodies.request) {
                        slim.insert("requestObject".into(), request);
                    }
                }
            }
            Value::Object(slim)
        }
        Err(_) => match serde_json::from_slice::<Value>(json) {
            Ok(event) => event,
            Err(_) => return missing(),
        },
    };
    if diff::body_of(&slim).is_none() {
        return missing();
    }
    Written::Body(slim)
}
