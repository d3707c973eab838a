//! The `workloads` section of `report immutability`: one row per workload (Deployment,
//! StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController, PodTemplate,
//! or a bare Pod), answering "is it immutable, and if not, why not".
//!
//! - Pods are grouped under their controller (`metadata.ownerReferences` of a pod body),
//!   a ReplicaSet under its Deployment and a Job under its CronJob (by their own owner
//!   references, else by the names controllers give: `web-5d8f7` of `web`).
//! - The verdict follows the latest whole spec seen: the workload's own, else its
//!   latest pod's. `mutable` when it fails any check of `podspec` (explicit and
//!   defaulted settings told apart as `risk` tells them), or a later patch writes a risky
//!   setting; `immutable` when it fails none; `unknown` when no body of it was logged
//!   or its body could not be read.
//! - Revisions are the accepted writes of its spec: its own, and edits of its pods
//!   (a pod's create by its controller is an instance, not a revision).

use std::collections::{BTreeMap, HashMap};

use super::super::tally::Distinct;
use super::super::{Cell, Section};
use super::revisions::Revisions;
use crate::model::Request;
use crate::podspec::posture::{ContainerPosture, Owner, Posture};
use crate::podspec::{Checked, Finding, Seen};

/// A workload: namespace, kind, name.
pub type Key = (String, &'static str, String);

/// The resources whose objects hold a pod spec, and the kind of their objects.
const KINDS: [(&str, &str); 9] = [
    ("pods", "Pod"),
    ("deployments", "Deployment"),
    ("statefulsets", "StatefulSet"),
    ("daemonsets", "DaemonSet"),
    ("replicasets", "ReplicaSet"),
    ("jobs", "Job"),
    ("cronjobs", "CronJob"),
    ("replicationcontrollers", "ReplicationController"),
    ("podtemplates", "PodTemplate"),
];

/// The kind of the objects of a resource that holds a pod spec.
fn kind_of(resource: &str) -> Option<&'static str> {
    KINDS.iter().find(|(r, _)| *r == resource).map(|(_, k)| *k)
}

/// The resource of a workload kind (`Deployment`: `deployments`).
pub fn resource_of_kind(kind: &str) -> Option<&'static str> {
    KINDS.iter().find(|(_, k)| *k == kind).map(|(r, _)| *r)
}

/// The kind as an owner reference spells it, if it is one of ours.
fn kind_of_name(kind: &str) -> Option<&'static str> {
    KINDS.iter().find(|(_, k)| *k == kind).map(|(_, k)| *k)
}

/// A whole spec seen in a write.
#[derive(Debug, Clone)]
struct Spec {
    time: Option<i64>,
    findings: Vec<Finding>,
    unreadable: bool,
    posture: Option<Posture>,
}

#[derive(Debug, Default)]
struct Workload {
    /// The latest whole spec of the workload itself.
    own: Option<Spec>,
    /// The latest whole spec of one of its pods.
    from_pod: Option<Spec>,
    /// Risky settings written by patches (as reasons), each with its latest time.
    patched: BTreeMap<String, Option<i64>>,
    /// Accepted writes of its own spec, and the latest: (time, user, verb).
    revisions: u64,
    last_change: Option<Change>,
    /// Accepted edits of its pods (not their creates), and the latest, carried through
    /// every fold: a pod's edit is an edit of the Deployment above its ReplicaSet.
    pod_edits: u64,
    last_pod_edit: Option<Change>,
    pods: Distinct,
    sessions: u64,
    /// Sessions whose command writes or installs (`drift`).
    attempts: u64,
    /// The controller named by its latest body.
    owner: Option<Owner>,
    /// Writes of it were logged without a body.
    metadata_only: bool,
}

/// An accepted write of a pod's or workload's spec.
struct SpecWrite {
    /// The object written.
    key: Key,
    /// What its body says, when it carries a whole spec.
    posture: Option<Posture>,
    /// Whether it is a revision: not a pod its controller created (an instance).
    revision: bool,
}

/// What a pod or workload write (not a dry run, its checks made) writes; None for a
/// subresource, another resource, or a refused write (which changed nothing).
fn spec_write(r: &Request<'_>, json: &[u8], checked: &Checked) -> Option<SpecWrite> {
    let (Some(kind), None) = (kind_of(r.resource.unwrap_or_default()), r.subresource) else {
        return None;
    };
    if r.code.is_some_and(|code| code >= 400) {
        return None;
    }
    let posture = match checked.seen {
        Seen::Body => crate::podspec::posture::of_write(r, json),
        _ => None,
    };
    let name = r
        .name
        .map(str::to_string)
        .or_else(|| posture.as_ref().and_then(|p| p.name.clone()))
        .unwrap_or_else(|| "(unnamed)".to_string());
    let instance = kind == "Pod"
        && r.verb == Some("create")
        && posture.as_ref().is_some_and(|p| p.owner.is_some());
    Some(SpecWrite {
        key: (r.namespace.unwrap_or_default().to_string(), kind, name),
        posture,
        revision: !instance,
    })
}

/// Collects writes and runtime sessions, then folds pods into their workloads.
#[derive(Debug, Default)]
pub struct Workloads {
    by_key: BTreeMap<Key, Workload>,
    /// Where each object folded into an owner went, in the end (a pod of a ReplicaSet of
    /// a Deployment: the Deployment).
    moved_to: HashMap<Key, Key>,
    revisions: Revisions,
}

impl Workloads {
    /// One pod or workload write (not a dry run), its checks already made, in the order
    /// requests were received (so each revision is told against the one before).
    pub fn write(&mut self, r: &Request<'_>, json: &[u8], checked: &Checked) {
        let Some(SpecWrite {
            key,
            posture,
            revision,
        }) = spec_write(r, json, checked)
        else {
            return;
        };
        let time = r.time();
        if revision {
            self.revisions.add(key.clone(), r, json);
            let w = self.by_key.entry(key.clone()).or_default();
            let user = r.user.unwrap_or_default().to_string();
            w.revisions += 1;
            later_change(
                &mut w.last_change,
                (time, user, r.verb.unwrap_or_default().to_string()),
            );
        }
        let w = self.by_key.entry(key).or_default();
        match (checked.seen, posture) {
            (Seen::NoBody, _) => w.metadata_only = true,
            (Seen::Unreadable, _) => {
                let spec = Spec {
                    time,
                    findings: checked.findings.clone(),
                    unreadable: true,
                    posture: None,
                };
                replace_if_later(&mut w.own, spec);
            }
            (Seen::Body, Some(posture)) => {
                w.owner = posture.owner.clone();
                let spec = Spec {
                    time,
                    findings: checked.findings.clone(),
                    unreadable: false,
                    posture: Some(posture),
                };
                replace_if_later(&mut w.own, spec);
            }
            // A patch: only what it writes is known.
            (Seen::Body, None) => {
                for reason in checked.findings.iter().map(reason) {
                    let latest = w.patched.entry(reason).or_insert(time);
                    *latest = (*latest).max(time);
                }
            }
        }
    }

    /// An exec, attach, cp, port-forward or ephemeral container into a pod.
    pub fn session(&mut self, namespace: Option<&str>, pod: Option<&str>) {
        let key = (
            namespace.unwrap_or_default().to_string(),
            "Pod",
            pod.unwrap_or("(unnamed)").to_string(),
        );
        self.by_key.entry(key).or_default().sessions += 1;
    }

    /// The workload a pod belongs to (after `fold_into_owners`), and the posture of its
    /// container `container` (else its first app container) in the workload's latest
    /// spec.
    pub fn container(
        &self,
        namespace: Option<&str>,
        pod: Option<&str>,
        container: Option<&str>,
    ) -> (Option<Key>, Option<&ContainerPosture>) {
        let (namespace, pod) = (namespace.unwrap_or_default(), pod.unwrap_or("(unnamed)"));
        let bare = (namespace.to_string(), "Pod", pod.to_string());
        let key = match self.moved_to.get(&bare) {
            Some(key) => key.clone(),
            None if self.by_key.contains_key(&bare) => bare,
            None => return (None, None),
        };
        let w = &self.by_key[&key];
        let spec = w.own.as_ref().or(w.from_pod.as_ref());
        let containers = spec.and_then(|s| s.posture.as_ref()).map(|p| &p.containers);
        let found = containers.and_then(|all| match container {
            Some(name) => all.iter().find(|c| c.name == name),
            None => all.iter().find(|c| c.list == "containers"),
        });
        (Some(key), found)
    }

    /// Counts a session that tried to change a container of `key`.
    pub fn attempted(&mut self, key: &Key) {
        if let Some(w) = self.by_key.get_mut(key) {
            w.attempts += 1;
        }
    }

    /// The `revisions` section (after `fold_into_owners`).
    pub fn revisions_section(&mut self) -> Section {
        let moved_to = &self.moved_to;
        std::mem::take(&mut self.revisions).section(|key| moved_to.get(key).cloned())
    }

    /// The section (after `fold_into_owners`).
    pub fn section(&self) -> Section {
        let mut section = Section::new(
            "workloads",
            "Workloads: immutable or not, and why",
            &[
                "namespace",
                "kind",
                "name",
                "verdict",
                "reasons",
                "writablePaths",
                "hardening",
                "imagePinned",
                "revisions",
                "lastChange",
                "runtimeSessions",
                "mutationAttempts",
                "pods",
            ],
        );
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for ((namespace, kind, name), w) in &self.by_key {
            let row = Row::of(w);
            *counts.entry(row.verdict).or_default() += 1;
            section.rows.push(vec![
                Cell::text(namespace),
                Cell::text(*kind),
                Cell::text(name),
                Cell::text(row.verdict),
                Cell::List(row.reasons),
                Cell::List(row.writable),
                Cell::List(row.hardening),
                Cell::Text(row.pinned.map(|p| if p { "yes" } else { "no" }.to_string())),
                Cell::Count(w.revisions + w.pod_edits),
                Cell::Text(w.last_change().map(|(t, user, verb)| {
                    let at = t.map_or_else(|| "-".to_string(), crate::model::format_micros);
                    format!("{at} {verb} by {user}")
                })),
                Cell::Count(w.sessions),
                Cell::Count(w.attempts),
                Cell::List(w.pods.list()),
            ]);
        }
        let summary: Vec<String> = counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
        section.note = Some(format!(
            "{}. A workload is immutable when its latest spec runs no container privileged, \
             as root or with privilege escalation, with a writable root filesystem, added \
             capabilities, host namespaces or hostPath volumes; unknown when no body of it \
             was logged (see the coverage note for the Policy rule that logs them).",
            if summary.is_empty() {
                "No workloads".to_string()
            } else {
                summary.join(", ")
            }
        ));
        section
    }

    /// Moves each owned pod, ReplicaSet and Job into its owner's row, once all writes
    /// and sessions are in.
    pub fn fold_into_owners(&mut self) {
        let mut moved: HashMap<Key, Key> = HashMap::new();
        // Kinds folded first into what owns them, ReplicaSets and Jobs after the pods
        // they own have been folded into them.
        for kind in ["Pod", "ReplicaSet", "Job"] {
            let owned: Vec<(Key, Key)> = self
                .by_key
                .iter()
                .filter(|((_, k, _), _)| *k == kind)
                .filter_map(|(key, w)| Some((key.clone(), self.owner_of(key, w)?)))
                .collect();
            for (key, owner) in owned {
                let Some(w) = self.by_key.remove(&key) else {
                    continue;
                };
                moved.insert(key.clone(), owner.clone());
                let target = self.by_key.entry(owner).or_default();
                if kind == "Pod" {
                    target.pods.add(&key.2);
                }
                target.pods.merge(w.pods);
                target.sessions += w.sessions;
                target.metadata_only |= w.metadata_only;
                for (reason, time) in w.patched {
                    let latest = target.patched.entry(reason).or_insert(time);
                    *latest = (*latest).max(time);
                }
                // An owned object's revisions are its controller's doing, but edits of
                // a pod (not its create) are edits of the running workload.
                let (edits, last_edit) = if kind == "Pod" {
                    (w.revisions, w.last_change)
                } else {
                    (0, None)
                };
                target.pod_edits += w.pod_edits + edits;
                for change in [w.last_pod_edit, last_edit].into_iter().flatten() {
                    later_change(&mut target.last_pod_edit, change);
                }
                for spec in [w.own, w.from_pod].into_iter().flatten() {
                    replace_if_later(&mut target.from_pod, spec);
                }
            }
        }
        // A pod folded into a ReplicaSet that was folded into a Deployment is the
        // Deployment's.
        for key in moved.keys() {
            let mut at = key;
            while let Some(next) = moved.get(at) {
                at = next;
            }
            self.moved_to.insert(key.clone(), at.clone());
        }
    }

    /// The workload that owns `key`: its body's controller, else one a controller's
    /// naming points to (`web-5d8f7` of Deployment `web`, `backup-28930` of CronJob
    /// `backup`, a pod `web-5d8f7-x2b9c` of ReplicaSet `web-5d8f7`).
    fn owner_of(&self, key: &Key, w: &Workload) -> Option<Key> {
        let (namespace, kind, name) = key;
        let owner_key = |kind: &str, name: &str| -> Option<Key> {
            let kind = kind_of_name(kind)?;
            Some((namespace.clone(), kind, name.to_string()))
        };
        if let Some(owner) = &w.owner {
            return owner_key(&owner.kind, &owner.name);
        }
        let parents: &[&str] = match *kind {
            "Pod" => &[
                "ReplicaSet",
                "StatefulSet",
                "DaemonSet",
                "Job",
                "ReplicationController",
            ],
            "ReplicaSet" => &["Deployment"],
            "Job" => &["CronJob"],
            _ => return None,
        };
        let (parent_name, _) = name.rsplit_once('-')?;
        parents
            .iter()
            .map(|kind| (namespace.clone(), *kind, parent_name.to_string()))
            .find(|parent| self.by_key.contains_key(parent))
    }
}

/// A write: (time, user, verb).
type Change = (Option<i64>, String, String);

impl Workload {
    /// Its latest revision: of its own spec or an edit of one of its pods.
    fn last_change(&self) -> Option<&Change> {
        match (&self.last_change, &self.last_pod_edit) {
            (Some(own), Some(edit)) => Some(if edit.0 > own.0 { edit } else { own }),
            (own, edit) => own.as_ref().or(edit.as_ref()),
        }
    }
}

fn later_change(slot: &mut Option<Change>, change: Change) {
    if slot.as_ref().is_none_or(|old| change.0 >= old.0) {
        *slot = Some(change);
    }
}

/// A finding as a reason: `container: kind`, or the kind of a pod-level finding.
fn reason(f: &Finding) -> String {
    match &f.container {
        Some(c) => format!("{c}: {}", f.kind),
        None => f.kind.to_string(),
    }
}

fn replace_if_later(slot: &mut Option<Spec>, spec: Spec) {
    if slot.as_ref().is_none_or(|old| spec.time >= old.time) {
        *slot = Some(spec);
    }
}

/// A workload's row, from the latest spec seen.
struct Row {
    verdict: &'static str,
    reasons: Vec<String>,
    writable: Vec<String>,
    hardening: Vec<String>,
    pinned: Option<bool>,
}

impl Row {
    fn of(w: &Workload) -> Row {
        let spec = w.own.as_ref().or(w.from_pod.as_ref());
        let mut reasons: Vec<String> = Vec::new();
        let mut add = |reason: String| {
            if !reasons.contains(&reason) {
                reasons.push(reason);
            }
        };
        let Some(spec) = spec else {
            let why = if w.metadata_only {
                "no body logged (Metadata level)"
            } else {
                "no spec seen (only runtime sessions)"
            };
            return Row {
                verdict: "unknown",
                reasons: vec![why.to_string()],
                writable: Vec::new(),
                hardening: Vec::new(),
                pinned: None,
            };
        };
        spec.findings.iter().map(reason).for_each(&mut add);
        for (patched, time) in &w.patched {
            if *time >= spec.time {
                add(patched.clone());
            }
        }
        let (mut writable, mut hardening) = (Vec::new(), Vec::new());
        if let Some(p) = &spec.posture {
            for c in &p.containers {
                writable.extend(
                    c.writable_paths
                        .iter()
                        .map(|path| format!("{}: {path}", c.name)),
                );
                let mut said = |what: String| hardening.push(format!("{}: {what}", c.name));
                if c.read_only_root {
                    said("read-only root".into());
                }
                if c.non_root {
                    said("non-root".into());
                }
                if !c.drops.is_empty() {
                    said(format!("drops {}", c.drops.join(",")));
                }
                for command in &c.tools_removed {
                    said(format!("removes tools at start ({command})"));
                }
            }
            for prepared in &p.init_prepares {
                hardening.push(format!("init container prepares {prepared}"));
            }
        }
        let verdict = if spec.unreadable {
            "unknown"
        } else if reasons.is_empty() {
            "immutable"
        } else {
            "mutable"
        };
        Row {
            verdict,
            reasons,
            writable,
            hardening,
            pinned: spec.posture.as_ref().map(|p| p.images_pinned),
        }
    }
}
