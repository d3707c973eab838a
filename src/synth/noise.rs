//! Background chatter of a small cluster: three workers, a control plane at 10.0.0.10,
//! a prometheus-operator that dominates the log (as one controller or operator does on
//! real clusters), leader-election leases, kubelets, coredns, probes and a few humans.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::cluster::*;
use super::{Actor, Failure, Level, MICROS_PER_SEC, ObjRef, Req, Rng, Stage, Uuid};

/// When a request's later stages happen, relative to its arrival (µs).
pub(crate) struct Timing {
    pub latency: i64,
    pub started: Option<i64>,
}

/// Request-building state shared by all templates.
struct Gen {
    rng: Rng,
    /// The cluster's etcd revision; every write bumps it.
    resource_version: u64,
    allow: Arc<str>,
    discovery_reason: Arc<str>,
    actors: Actors,
}

impl Gen {
    /// Resets a (possibly reused) request for a new call by `actor`.
    fn begin(&mut self, r: &mut Req, actor: &Arc<Actor>, verb: &'static str) {
        r.id = self.rng.uuid();
        r.level = Level::Metadata;
        r.verb = verb;
        r.uri.clear();
        r.actor = Arc::clone(actor);
        r.obj = None;
        r.code = 200;
        r.failure = None;
        r.request_object = None;
        r.response_object = None;
        r.annotations.clear();
        r.annotations
            .push(("authorization.k8s.io/decision", Arc::clone(&self.allow)));
        r.annotations
            .push(("authorization.k8s.io/reason", Arc::clone(&actor.reason)));
    }

    fn next_rv(&mut self) -> u64 {
        self.resource_version += 1 + self.rng.below(3);
        self.resource_version
    }

    /// Typical latency of a simple request: mostly a few ms, with a slow tail.
    fn latency(&mut self) -> Timing {
        let latency = match self.rng.below(100) {
            0..80 => self.rng.range(600, 6_000),
            80..97 => self.rng.range(6_000, 40_000),
            _ => self.rng.range(40_000, 400_000),
        };
        Timing {
            latency,
            started: None,
        }
    }

    /// A client-go reflector watch: `timeoutSeconds` between 5 and 10 minutes, after
    /// which the apiserver ends it (ResponseComplete) and the client re-lists or re-watches.
    fn watch(
        &mut self,
        r: &mut Req,
        actor: &Arc<Actor>,
        res: Res,
        ns: &'static str,
        selector: Selector,
    ) -> Timing {
        self.begin(r, actor, "watch");
        path(r, res, ns, "", "");
        let secs = self.rng.range(300, 600);
        r.uri.push_str("?allowWatchBookmarks=true&");
        match selector {
            Selector::None => {}
            Selector::Name(n) => {
                let _ = write!(r.uri, "fieldSelector=metadata.name%3D{n}&");
                if let Some(o) = &mut r.obj {
                    // Newer apiservers copy a metadata.name field selector into objectRef.
                    o.name = n;
                }
            }
            Selector::Raw(s) => {
                let _ = write!(r.uri, "fieldSelector={s}&");
            }
        }
        let rv = self.resource_version - self.rng.below(500);
        let _ = write!(
            r.uri,
            "resourceVersion={rv}&timeout={}m{}s&timeoutSeconds={secs}&watch=true",
            secs / 60,
            secs % 60
        );
        let started = self.rng.range(400, 4_000);
        Timing {
            latency: secs * MICROS_PER_SEC + self.rng.range(200, 3_000),
            started: Some(started),
        }
    }

    /// An informer's initial list.
    fn list(&mut self, r: &mut Req, actor: &Arc<Actor>, res: Res, ns: &'static str) -> Timing {
        self.begin(r, actor, "list");
        path(r, res, ns, "", "");
        r.uri.push_str("?limit=500&resourceVersion=0");
        let mut t = self.latency();
        t.latency += self.rng.range(1_000, 20_000);
        t
    }

    fn get(
        &mut self,
        r: &mut Req,
        actor: &Arc<Actor>,
        res: Res,
        ns: &'static str,
        name: &'static str,
    ) -> Timing {
        self.begin(r, actor, "get");
        path(r, res, ns, name, "");
        self.latency()
    }

    /// An update (PUT): the decoded body gives objectRef its uid and resourceVersion.
    fn update(
        &mut self,
        r: &mut Req,
        actor: &Arc<Actor>,
        res: Res,
        ns: &'static str,
        name: &'static str,
    ) -> Timing {
        self.begin(r, actor, "update");
        path(r, res, ns, name, "");
        let rv = self.next_rv();
        if let Some(o) = &mut r.obj {
            o.uid = Some(Uuid::for_object(&format!("{}/{ns}/{name}", res.2)));
            o.resource_version = rv;
        }
        self.latency()
    }

    fn patch(
        &mut self,
        r: &mut Req,
        actor: &Arc<Actor>,
        res: Res,
        ns: &'static str,
        name: &'static str,
        sub: &'static str,
    ) -> Timing {
        self.begin(r, actor, "patch");
        path(r, res, ns, name, sub);
        self.next_rv();
        self.latency()
    }

    fn lease(
        &mut self,
        r: &mut Req,
        actor: &Arc<Actor>,
        ns: &'static str,
        name: &'static str,
        verb: &str,
    ) -> Timing {
        let t = if verb == "get" {
            self.get(r, actor, LEASES, ns, name)
        } else {
            self.update(r, actor, LEASES, ns, name)
        };
        r.uri.push_str(if ns == "kube-node-lease" {
            "?timeout=10s"
        } else {
            "?timeout=5s"
        });
        // Two would-be leaders, or a slow renew, occasionally collide.
        if verb == "update" && self.rng.percent(2) {
            r.code = 409;
            r.failure = Some(Box::new(Failure {
                reason: "Conflict",
                message: format!(
                    "Operation cannot be fulfilled on leases.coordination.k8s.io {name:?}: the object has been modified; please apply your changes to the latest version and try again"
                ),
                details_name: name,
                details_group: "coordination.k8s.io",
                details_kind: "leases",
            }));
        }
        t
    }

    /// One request of the monitoring operator: gets of the objects it owns, watches and
    /// lists of the resources it reconciles, updates of its own objects, and patches to
    /// the status of its Prometheus and Alertmanager resources.
    fn operator(&mut self, r: &mut Req) -> Timing {
        const WATCHED: [(Res, &str); 9] = [
            (PROMETHEUSES, ""),
            (ALERTMANAGERS, ""),
            (SERVICEMONITORS, ""),
            (PODMONITORS, ""),
            (PROMETHEUSRULES, ""),
            (ALERTMANAGERCONFIGS, ""),
            (SECRETS, "monitoring"),
            (CONFIGMAPS, "monitoring"),
            (STATEFULSETS, "monitoring"),
        ];
        const OWNED: [(Res, &str); 8] = [
            (SECRETS, "prometheus-k8s"),
            (SECRETS, "alertmanager-main-generated"),
            (SECRETS, "prometheus-k8s-web-config"),
            (CONFIGMAPS, "prometheus-k8s-rulefiles-0"),
            (STATEFULSETS, "prometheus-k8s"),
            (STATEFULSETS, "alertmanager-main"),
            (PROMETHEUSES, "k8s"),
            (ALERTMANAGERS, "main"),
        ];
        let a = Arc::clone(&self.actors.operator);
        match self.rng.below(100) {
            0..40 => {
                let &(res, name) = self.rng.pick(&OWNED);
                self.get(r, &a, res, "monitoring", name)
            }
            40..62 => {
                let &(res, ns) = self.rng.pick(&WATCHED);
                self.watch(r, &a, res, ns, Selector::None)
            }
            62..75 => {
                let &(res, ns) = self.rng.pick(&WATCHED);
                self.list(r, &a, res, ns)
            }
            75..90 => {
                let &(res, name) = self.rng.pick(&OWNED[..6]);
                self.update(r, &a, res, "monitoring", name)
            }
            _ => {
                let name = if self.rng.percent(60) { "k8s" } else { "main" };
                let res = if name == "k8s" {
                    PROMETHEUSES
                } else {
                    ALERTMANAGERS
                };
                let t = self.patch(r, &a, res, "monitoring", name, "status");
                r.uri
                    .push_str("?fieldManager=PrometheusOperator&force=true");
                t
            }
        }
    }

    fn kubelet(&mut self, r: &mut Req, node: usize) -> Timing {
        let a = Arc::clone(&self.actors.kubelets[node]);
        let w = &WORKLOADS[node];
        match self.rng.below(100) {
            0..40 => self.lease(r, &a, "kube-node-lease", NODES[node], "update"),
            40..58 => {
                let t = self.patch(r, &a, NODES_RES, "", NODES[node], "status");
                r.uri.push_str("?timeout=10s");
                t
            }
            58..72 => {
                let &(ns, pod) = self.rng.pick(w.pods);
                self.patch(r, &a, PODS, ns, pod, "status")
            }
            72..86 => {
                let (res, &(ns, name)) = if self.rng.percent(60) {
                    (CONFIGMAPS, self.rng.pick(w.configmaps))
                } else {
                    (SECRETS, self.rng.pick(w.secrets))
                };
                self.get(r, &a, res, ns, name)
            }
            86..94 => {
                let (res, &(ns, name)) = if self.rng.percent(60) {
                    (CONFIGMAPS, self.rng.pick(w.configmaps))
                } else {
                    (SECRETS, self.rng.pick(w.secrets))
                };
                self.watch(r, &a, res, ns, Selector::Name(name))
            }
            _ => {
                let selector = [
                    "spec.nodeName%3Dworker-1",
                    "spec.nodeName%3Dworker-2",
                    "spec.nodeName%3Dworker-3",
                ];
                self.watch(r, &a, PODS, "", Selector::Raw(selector[node]))
            }
        }
    }

    fn controllers(&mut self, r: &mut Req) -> Timing {
        const SLICES: [(&str, &str); 3] = [
            ("web", "web-frontend-x7k2p"),
            ("monitoring", "prometheus-operated-9wz4m"),
            ("kube-system", "kube-dns-4jtqc"),
        ];
        // Cluster-wide informers: note secrets, which a list/watch returns in full.
        const INFORMED: [Res; 10] = [
            PODS,
            NODES_RES,
            SERVICES,
            ENDPOINTSLICES,
            DEPLOYMENTS,
            REPLICASETS,
            STATEFULSETS,
            SECRETS,
            SERVICEACCOUNTS,
            NAMESPACES,
        ];
        match self.rng.below(100) {
            0..45 => {
                let a = Arc::clone(&self.actors.endpointslice_controller);
                let &(ns, name) = self.rng.pick(&SLICES);
                self.update(r, &a, ENDPOINTSLICES, ns, name)
            }
            45..85 => {
                let a = Arc::clone(&self.actors.kcm_informers);
                let &res = self.rng.pick(&INFORMED);
                self.watch(r, &a, res, "", Selector::None)
            }
            _ => {
                let a = Arc::clone(&self.actors.garbage_collector);
                let &res = self.rng.pick(&INFORMED);
                self.list(r, &a, res, "")
            }
        }
    }

    fn scheduler_informers(&mut self, r: &mut Req) -> Timing {
        let a = Arc::clone(&self.actors.scheduler_informers);
        if self.rng.percent(50) {
            let not_done = Selector::Raw("status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed");
            self.watch(r, &a, PODS, "", not_done)
        } else {
            self.watch(r, &a, NODES_RES, "", Selector::None)
        }
    }

    fn coredns(&mut self, r: &mut Req) -> Timing {
        let a = Arc::clone(self.rng.pick(&self.actors.coredns));
        let &res = self.rng.pick(&[ENDPOINTSLICES, SERVICES, NAMESPACES]);
        if self.rng.percent(80) {
            self.watch(r, &a, res, "", Selector::None)
        } else {
            self.list(r, &a, res, "")
        }
    }

    fn probe(&mut self, r: &mut Req) -> Timing {
        let a = Arc::clone(&self.actors.probe);
        self.begin(r, &a, "get");
        let path = *self.rng.pick(&["/livez", "/readyz", "/healthz"]);
        r.uri.push_str(path);
        Timing {
            latency: self.rng.range(300, 4_000),
            started: None,
        }
    }

    /// One request of a developer's kubectl: discovery, listing and getting pods and
    /// deployments (a 404 among them), a create refused as already there, a rollout
    /// patch, each with kubectl's URI shape.
    fn kubectl(&mut self, r: &mut Req) -> Timing {
        let a = Arc::clone(self.rng.pick(&self.actors.developers));
        match self.rng.below(100) {
            0..25 => {
                self.begin(r, &a, "get");
                r.uri.push_str(if self.rng.percent(50) {
                    "/api?timeout=32s"
                } else {
                    "/apis?timeout=32s"
                });
                r.annotations[1].1 = Arc::clone(&self.discovery_reason);
                self.latency()
            }
            25..50 => {
                let t = self.list(r, &a, PODS, "web");
                r.uri.truncate(r.uri.len() - "&resourceVersion=0".len());
                t
            }
            50..65 => self.get(r, &a, DEPLOYMENTS, "web", "web-frontend"),
            65..80 => {
                let t = self.get(r, &a, PODS, "web", "web-frontend-old");
                r.code = 404;
                r.failure = Some(Box::new(Failure {
                    reason: "NotFound",
                    message: "pods \"web-frontend-old\" not found".into(),
                    details_name: "web-frontend-old",
                    details_group: "",
                    details_kind: "pods",
                }));
                t
            }
            80..90 => {
                self.begin(r, &a, "create");
                path(r, CONFIGMAPS, "web", "", "");
                r.uri
                    .push_str("?fieldManager=kubectl-create&fieldValidation=Strict");
                if let Some(o) = &mut r.obj {
                    o.late_name = "web-config";
                }
                r.code = 409;
                r.failure = Some(Box::new(Failure {
                    reason: "AlreadyExists",
                    message: "configmaps \"web-config\" already exists".into(),
                    details_name: "web-config",
                    details_group: "",
                    details_kind: "configmaps",
                }));
                self.latency()
            }
            _ => {
                let t = self.patch(r, &a, DEPLOYMENTS, "web", "web-frontend", "");
                r.uri.push_str("?fieldManager=kubectl-rollout");
                t
            }
        }
    }
}

/// A watch's field selector.
#[derive(Clone, Copy)]
enum Selector {
    None,
    /// `metadata.name=<name>`: also copied into objectRef.name.
    Name(&'static str),
    /// Already URL-encoded.
    Raw(&'static str),
}

/// Writes the request path and sets the matching objectRef.
pub(crate) fn path(r: &mut Req, res: Res, ns: &'static str, name: &'static str, sub: &'static str) {
    let Res(group, version, resource) = res;
    if group.is_empty() {
        r.uri.push_str("/api/v1");
    } else {
        let _ = write!(r.uri, "/apis/{group}/{version}");
    }
    if !ns.is_empty() {
        let _ = write!(r.uri, "/namespaces/{ns}");
    }
    let _ = write!(r.uri, "/{resource}");
    for part in [name, sub] {
        if !part.is_empty() {
            r.uri.push('/');
            r.uri.push_str(part);
        }
    }
    r.obj = Some(ObjRef {
        resource,
        namespace: ns,
        name,
        api_group: group,
        api_version: version,
        subresource: sub,
        ..ObjRef::default()
    });
}

/// Who sends the next request, with weights in requests: the operator dominates,
/// leader election and kubelets follow, people are rare.
#[derive(Clone, Copy)]
pub(crate) enum Source {
    Operator,
    /// A leader-election renew: get then update of the lease, two requests.
    ControllerManagerLease,
    SchedulerLease,
    Kubelet,
    Controllers,
    SchedulerInformers,
    CoreDns,
    Probe,
    Kubectl,
}

const MIX: [(Source, u64); 9] = [
    (Source::Operator, 30),
    (Source::ControllerManagerLease, 7),
    (Source::SchedulerLease, 5),
    (Source::Kubelet, 20),
    (Source::Controllers, 8),
    (Source::SchedulerInformers, 2),
    (Source::CoreDns, 5),
    (Source::Probe, 6),
    (Source::Kubectl, 4),
];

/// Background chatter of a small cluster: controllers, scheduler, kubelets, coredns, an
/// operator, kubectl users. Every request is written as its stages: RequestReceived then
/// ResponseComplete (watch: RequestReceived, ResponseStarted, ResponseComplete minutes
/// later), lines interleaved in write order as a real apiserver writes them.
pub struct Noise {
    g: Gen,
    /// Arrival time of the next request (µs since the epoch).
    next_arrival: i64,
    mean_gap: i64,
    /// Who sends requests, with weights: [`MIX`] unless a [`super::Shape`] says otherwise.
    mix: &'static [(Source, u64)],
    /// Percentage of the requests other than watches written without their
    /// RequestReceived line (0 for the default shape, which never draws for it).
    omit_received_percent: u64,
    /// Lines waiting to be written: (write time, sequence, slot, stage index).
    pending: BinaryHeap<Reverse<(i64, u64, u32, u8)>>,
    /// Requests with lines still pending; freed slots are reused with their buffers.
    slots: Vec<Req>,
    free: Vec<u32>,
    seq: u64,
}

const STAGES: [Stage; 3] = [
    Stage::RequestReceived,
    Stage::ResponseStarted,
    Stage::ResponseComplete,
];

impl Noise {
    /// A busy small cluster: about 20 requests a second.
    pub fn new(seed: u64, start: chrono::DateTime<chrono::Utc>) -> Noise {
        Noise::with_rate(seed, start, 72_000)
    }

    /// Like [`Noise::new`] with a mean of `requests_per_hour` requests.
    pub fn with_rate(
        seed: u64,
        start: chrono::DateTime<chrono::Utc>,
        requests_per_hour: u32,
    ) -> Noise {
        let mut rng = Rng::new(seed);
        let actors = Actors::new(&mut rng);
        let mean_gap = 3_600 * MICROS_PER_SEC / i64::from(requests_per_hour.max(1));
        let mut g = Gen {
            resource_version: 4_812_000 + rng.below(100_000),
            rng,
            allow: Arc::from("allow"),
            discovery_reason: Arc::from(rbac_reason(
                "system:discovery",
                "ClusterRole \"system:discovery\"",
                "Group \"system:authenticated\"",
            )),
            actors,
        };
        let next_arrival = start.timestamp_micros() + g.rng.exp(mean_gap);
        Noise {
            g,
            next_arrival,
            mean_gap,
            mix: &MIX,
            omit_received_percent: 0,
            pending: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            seq: 0,
        }
    }

    /// Changes who sends requests and how many of them lose their RequestReceived line
    /// (see [`super::Shape`]); the default mix and 0 leave the output as [`Noise::new`]'s.
    pub(crate) fn reshape(&mut self, mix: &'static [(Source, u64)], omit_received_percent: u64) {
        self.mix = mix;
        self.omit_received_percent = omit_received_percent;
    }

    /// Appends the next line (without the trailing newline) to `out`; never ends.
    pub fn next_line(&mut self, out: &mut String) {
        self.next_line_timed(out);
    }

    /// Like `next_line`, returning the line's write time (µs since the epoch).
    pub(crate) fn next_line_timed(&mut self, out: &mut String) -> i64 {
        loop {
            if let Some(&Reverse((at, _, slot, stage))) = self.pending.peek()
                && at <= self.next_arrival
            {
                self.pending.pop();
                let stage = STAGES[usize::from(stage)];
                self.slots[slot as usize].render(stage, out);
                if stage == Stage::ResponseComplete {
                    self.free.push(slot);
                }
                return at;
            }
            let t = self.next_arrival;
            self.generate(t);
            self.next_arrival = t + self.g.rng.exp(self.mean_gap).max(1);
        }
    }

    /// Adds a prepared request (a story scene) to be written among the noise.
    pub(crate) fn schedule(&mut self, req: Req) {
        let slot = self.alloc();
        self.slots[slot] = req;
        self.enqueue(slot, None, false);
    }

    /// Like [`Noise::schedule`], but the delays between the request's stageTimestamps and
    /// the writes of its lines come from `jitter` instead of the noise's generator: every
    /// other line is then the same whether or not the request is added.
    pub(crate) fn schedule_with_jitter(&mut self, req: Req, jitter: &mut Rng) {
        let slot = self.alloc();
        self.slots[slot] = req;
        self.enqueue(slot, Some(jitter), false);
    }

    fn alloc(&mut self) -> usize {
        if let Some(slot) = self.free.pop() {
            return slot as usize;
        }
        let placeholder = Req::new(Uuid::from_u128(0), Arc::clone(&self.g.actors.probe), "get");
        self.slots.push(placeholder);
        self.slots.len() - 1
    }

    /// Queues a request's stage lines. A line is written shortly after its stageTimestamp
    /// (so concurrent requests' lines are only roughly in stageTimestamp order), but a
    /// request's own stages are always written in order. The delays come from `jitter`,
    /// or else from the noise's generator. `omit_received` leaves out the RequestReceived
    /// line, as a policy rule with `omitStages: [RequestReceived]` does.
    fn enqueue(&mut self, slot: usize, jitter: Option<&mut Rng>, omit_received: bool) {
        let rng = match jitter {
            Some(rng) => rng,
            None => &mut self.g.rng,
        };
        let mut last = i64::MIN;
        for (stage, t) in self.slots[slot].stages() {
            if omit_received && stage == Stage::RequestReceived {
                continue;
            }
            let at = (t + rng.range(20, 1_500)).max(last + 1);
            last = at;
            self.seq += 1;
            self.pending
                .push(Reverse((at, self.seq, slot as u32, stage as u8)));
        }
    }

    /// Builds one request arriving at `t` into a free slot and queues it; returns when it completes.
    fn emit(&mut self, t: i64, build: impl FnOnce(&mut Gen, &mut Req) -> Timing) -> i64 {
        let slot = self.alloc();
        let r = &mut self.slots[slot];
        let timing = build(&mut self.g, r);
        r.t_received = t;
        r.t_rr_stage = t + self.g.rng.range(4, 60);
        r.t_started = timing.started.map(|d| t + d);
        r.t_done = t + timing.latency;
        let done = r.t_done;
        // Drawn only when the shape asks for it, so the default noise stays byte-identical.
        let omit_received = self.omit_received_percent > 0
            && r.verb != "watch"
            && self.g.rng.percent(self.omit_received_percent);
        self.enqueue(slot, None, omit_received);
        done
    }

    /// Starts one request at time `t` from a source drawn by the weights of the mix.
    fn generate(&mut self, t: i64) {
        let total: u64 = self.mix.iter().map(|&(_, w)| w).sum();
        let mut roll = self.g.rng.below(total);
        let mut source = Source::Operator;
        for &(s, w) in self.mix {
            if roll < w {
                source = s;
                break;
            }
            roll -= w;
        }
        match source {
            Source::Operator => {
                self.emit(t, Gen::operator);
            }
            Source::ControllerManagerLease | Source::SchedulerLease => {
                let (actor, name) = if matches!(source, Source::SchedulerLease) {
                    (
                        Arc::clone(&self.g.actors.scheduler_leader),
                        "kube-scheduler",
                    )
                } else {
                    (
                        Arc::clone(&self.g.actors.kcm_leader),
                        "kube-controller-manager",
                    )
                };
                let done = self.emit(t, |g, r| g.lease(r, &actor, "kube-system", name, "get"));
                let next = done + self.g.rng.range(200, 2_000);
                self.emit(next, |g, r| {
                    g.lease(r, &actor, "kube-system", name, "update")
                });
            }
            Source::Kubelet => {
                let node = self.g.rng.below(3) as usize;
                self.emit(t, |g, r| g.kubelet(r, node));
            }
            Source::Controllers => {
                self.emit(t, Gen::controllers);
            }
            Source::SchedulerInformers => {
                self.emit(t, Gen::scheduler_informers);
            }
            Source::CoreDns => {
                self.emit(t, Gen::coredns);
            }
            Source::Probe => {
                self.emit(t, Gen::probe);
            }
            Source::Kubectl => {
                self.emit(t, Gen::kubectl);
            }
        }
    }
}
