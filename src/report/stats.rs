//! `report stats`: what fills the log. Requests and bytes by user, ServiceAccount, verb,
//! resource, code, decision, stage and level, per hour, and the top talkers (user, verb,
//! resource) with their share of the log: the rows an audit Policy can drop.
//!
//! Built from fast (columnar) fields only: one pass over a million requests reads no
//! stored event. Each segment tallies by dictionary ordinal; ordinals become strings
//! once per distinct value when the segment is done.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use tantivy::columnar::Column;
use tantivy::{DocId, SegmentReader};

use super::{Cell, Report, Section};
use crate::error::Result;
use crate::index::columns::{NumberColumn, TextColumn};
use crate::query::scan::{StrValues, time_values, u64_values};
use crate::query::visit::SegmentVisitor;
use crate::query::{Engine, Search};

#[derive(Debug, Clone)]
pub struct Filter {
    /// Rows per ranked section; `usize::MAX` for all.
    pub top: usize,
}

const HOUR: i64 = 3_600_000_000;

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    requests: u64,
    bytes: u64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.requests += other.requests;
        self.bytes += other.bytes;
    }
}

/// Tallies by key, in any order until `ranked`.
struct Groups<K>(HashMap<K, Tally>);

impl<K: Eq + Hash + Ord + Clone> Groups<K> {
    fn new() -> Self {
        Groups(HashMap::new())
    }

    fn add(&mut self, key: K, t: Tally) {
        self.0.entry(key).or_default().add(t);
    }

    /// Largest bytes first (what fills the log), then requests, then key.
    fn ranked(&self, top: usize) -> Vec<(K, Tally)> {
        let mut rows: Vec<(K, Tally)> = self.0.iter().map(|(k, t)| (k.clone(), *t)).collect();
        rows.sort_by(|a, b| {
            (b.1.bytes, b.1.requests)
                .cmp(&(a.1.bytes, a.1.requests))
                .then_with(|| a.0.cmp(&b.0))
        });
        rows.truncate(top);
        rows
    }
}

type Label = Option<String>;

/// Everything `stats` counts, across segments.
struct Totals {
    all: Tally,
    first: Option<i64>,
    last: Option<i64>,
    users: Groups<Label>,
    service_accounts: Groups<Label>,
    verbs: Groups<Label>,
    resources: Groups<Label>,
    codes: Groups<Option<u64>>,
    decisions: Groups<Label>,
    stages: Groups<Label>,
    levels: Groups<Label>,
    hours: BTreeMap<i64, Tally>,
    talkers: Groups<(Label, Label, Label)>,
}

/// The columns of one segment.
struct Columns {
    user: StrValues,
    sa: StrValues,
    verb: StrValues,
    resource: StrValues,
    sub: StrValues,
    decision: StrValues,
    stage: StrValues,
    level: StrValues,
    code: Option<Column<u64>>,
    bytes: Option<Column<u64>>,
    time: Option<Column<tantivy::DateTime>>,
}

impl Columns {
    fn open(segment: &SegmentReader) -> Result<Columns> {
        Ok(Columns {
            user: StrValues::open(segment, TextColumn::User)?,
            sa: StrValues::open(segment, TextColumn::ServiceAccount)?,
            verb: StrValues::open(segment, TextColumn::Verb)?,
            resource: StrValues::open(segment, TextColumn::Resource)?,
            sub: StrValues::open(segment, TextColumn::Sub)?,
            decision: StrValues::open(segment, TextColumn::Decision)?,
            stage: StrValues::open(segment, TextColumn::Stage)?,
            level: StrValues::open(segment, TextColumn::Level)?,
            code: u64_values(segment, NumberColumn::Code)?,
            bytes: u64_values(segment, NumberColumn::Bytes)?,
            time: time_values(segment)?,
        })
    }
}

/// Tallies of one string column of one segment, indexed by ordinal: an array index
/// per request instead of a hash lookup (absent values at the end).
struct ByOrd(Vec<Tally>);

impl ByOrd {
    fn new(values: &StrValues) -> ByOrd {
        ByOrd(vec![Tally::default(); values.distinct() + 1])
    }

    fn add(&mut self, ord: Option<u64>, t: Tally) {
        let last = self.0.len() - 1;
        let i = ord.map_or(last, |o| (o as usize).min(last));
        self.0[i].add(t);
    }

    /// (ordinal, tally) of the values seen.
    fn seen(self) -> impl Iterator<Item = (Option<u64>, Tally)> {
        let last = self.0.len() - 1;
        self.0
            .into_iter()
            .enumerate()
            .filter(|(_, t)| t.requests > 0)
            .map(move |(i, t)| ((i < last).then_some(i as u64), t))
    }
}

/// One segment's tallies, keyed by ordinals.
struct SegmentTally {
    cols: Columns,
    users: ByOrd,
    sas: ByOrd,
    verbs: ByOrd,
    resources: HashMap<(Option<u64>, Option<u64>), Tally>,
    decisions: ByOrd,
    stages: ByOrd,
    levels: ByOrd,
    talkers: HashMap<[Option<u64>; 4], Tally>,
    /// What needs no decoding, added to `Totals` as it is at `finish`.
    all: Tally,
    first: Option<i64>,
    last: Option<i64>,
    codes: HashMap<Option<u64>, Tally>,
    hours: BTreeMap<i64, Tally>,
}

impl SegmentVisitor for SegmentTally {
    fn visit(&mut self, docs: &[DocId]) -> Result<()> {
        for &doc in docs {
            self.add(doc);
        }
        Ok(())
    }
}

impl SegmentTally {
    fn new(cols: Columns) -> SegmentTally {
        SegmentTally {
            users: ByOrd::new(&cols.user),
            sas: ByOrd::new(&cols.sa),
            verbs: ByOrd::new(&cols.verb),
            resources: HashMap::new(),
            decisions: ByOrd::new(&cols.decision),
            stages: ByOrd::new(&cols.stage),
            levels: ByOrd::new(&cols.level),
            talkers: HashMap::new(),
            all: Tally::default(),
            first: None,
            last: None,
            codes: HashMap::new(),
            hours: BTreeMap::new(),
            cols,
        }
    }

    fn add(&mut self, doc: DocId) {
        let c = &self.cols;
        let t = Tally {
            requests: 1,
            bytes: c.bytes.as_ref().and_then(|b| b.first(doc)).unwrap_or(0),
        };
        self.all.add(t);
        let (user, verb) = (c.user.ord(doc), c.verb.ord(doc));
        let (resource, sub) = (c.resource.ord(doc), c.sub.ord(doc));
        self.users.add(user, t);
        self.sas.add(c.sa.ord(doc), t);
        self.verbs.add(verb, t);
        self.resources.entry((resource, sub)).or_default().add(t);
        self.decisions.add(c.decision.ord(doc), t);
        self.stages.add(c.stage.ord(doc), t);
        self.levels.add(c.level.ord(doc), t);
        self.talkers
            .entry([user, verb, resource, sub])
            .or_default()
            .add(t);
        let code = c.code.as_ref().and_then(|col| col.first(doc));
        self.codes.entry(code).or_default().add(t);
        if let Some(time) = c.time.as_ref().and_then(|col| col.first(doc)) {
            let micros = time.into_timestamp_micros();
            self.first = Some(self.first.map_or(micros, |f| f.min(micros)));
            self.last = Some(self.last.map_or(micros, |l| l.max(micros)));
            let hour = micros.div_euclid(HOUR) * HOUR;
            self.hours.entry(hour).or_default().add(t);
        }
    }

    /// Turns ordinals into values and adds this segment to the totals.
    fn finish(self, totals: &mut Totals) {
        totals.all.add(self.all);
        totals.first = match (totals.first, self.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // None sorts first: the max of two options is the later time, if any.
        totals.last = totals.last.max(self.last);
        for (code, t) in self.codes {
            totals.codes.add(code, t);
        }
        for (hour, t) in self.hours {
            totals.hours.entry(hour).or_default().add(t);
        }
        let c = &self.cols;
        let text = |values: &StrValues, ord: Option<u64>| ord.map(|o| values.text(o));
        let resource = |r: Option<u64>, s: Option<u64>| {
            text(&c.resource, r).map(|r| match text(&c.sub, s) {
                Some(s) => format!("{r}/{s}"),
                None => r,
            })
        };
        for (ord, t) in self.users.seen() {
            totals.users.add(text(&c.user, ord), t);
        }
        // Requests by anything but a ServiceAccount are in `users`, not here.
        for (ord, t) in self.sas.seen().filter(|(ord, _)| ord.is_some()) {
            totals.service_accounts.add(text(&c.sa, ord), t);
        }
        for (ord, t) in self.verbs.seen() {
            totals.verbs.add(text(&c.verb, ord), t);
        }
        for ((r, s), t) in self.resources {
            totals.resources.add(resource(r, s), t);
        }
        for (ord, t) in self.decisions.seen() {
            totals.decisions.add(text(&c.decision, ord), t);
        }
        for (ord, t) in self.stages.seen() {
            totals.stages.add(text(&c.stage, ord), t);
        }
        for (ord, t) in self.levels.seen() {
            totals.levels.add(text(&c.level, ord), t);
        }
        for ([u, v, r, s], t) in self.talkers {
            let key = (text(&c.user, u), text(&c.verb, v), resource(r, s));
            totals.talkers.add(key, t);
        }
    }
}

pub fn run(engine: &Engine, filter: &Filter, scope: &Search) -> Result<Report> {
    let mut totals = Totals {
        all: Tally::default(),
        first: None,
        last: None,
        users: Groups::new(),
        service_accounts: Groups::new(),
        verbs: Groups::new(),
        resources: Groups::new(),
        codes: Groups::new(),
        decisions: Groups::new(),
        stages: Groups::new(),
        levels: Groups::new(),
        hours: BTreeMap::new(),
        talkers: Groups::new(),
    };
    let segments = engine.visit_segments(scope, |segment| {
        Ok(SegmentTally::new(Columns::open(segment)?))
    })?;
    for segment in segments {
        segment.finish(&mut totals);
    }
    Ok(report(&totals, filter.top))
}

/// The report's sections from the totals: requests and bytes (with their share of the
/// log) by user, ServiceAccount, verb, resource, code, decision, stage, level and hour,
/// the `top` largest of each, and the top talkers.
fn report(totals: &Totals, top: usize) -> Report {
    let all = totals.all;
    // Share of the log's bytes; of its requests if sizes are unknown.
    let share = |t: Tally| {
        if all.bytes > 0 {
            t.bytes as f64 / all.bytes as f64
        } else if all.requests > 0 {
            t.requests as f64 / all.requests as f64
        } else {
            0.0
        }
    };
    let numbers = |t: Tally| {
        [
            Cell::Count(t.requests),
            Cell::Count(t.bytes),
            Cell::Share(share(t)),
        ]
    };
    let labelled = |key, title, column, groups: &Groups<Label>| {
        let mut s = Section::new(key, title, &[column, "requests", "bytes", "share"]);
        for (label, t) in groups.ranked(top) {
            let mut row = vec![Cell::Text(label)];
            row.extend(numbers(t));
            s.rows.push(row);
        }
        s
    };

    let mut total = Section::new("total", "Total", &["requests", "bytes", "first", "last"]);
    total.single = true;
    total.rows.push(vec![
        Cell::Count(all.requests),
        Cell::Count(all.bytes),
        Cell::Time(totals.first),
        Cell::Time(totals.last),
    ]);

    let mut talkers = Section::new(
        "talkers",
        "Top talkers (user, verb, resource)",
        &["user", "verb", "resource", "requests", "bytes", "share"],
    );
    for ((user, verb, resource), t) in totals.talkers.ranked(top) {
        let mut row = vec![Cell::Text(user), Cell::Text(verb), Cell::Text(resource)];
        row.extend(numbers(t));
        talkers.rows.push(row);
    }
    talkers.note = Some(
        "A talker the investigation does not need can be dropped or lowered in the audit \
         Policy (a rule with `level: None` or `Metadata` for that user, verb and resource), \
         placed before the rule that matches it now."
            .into(),
    );

    let mut codes = Section::new(
        "codes",
        "By response code",
        &["code", "requests", "bytes", "share"],
    );
    for (code, t) in totals.codes.ranked(top) {
        let mut row = vec![code.map_or(Cell::Text(None), Cell::Count)];
        row.extend(numbers(t));
        codes.rows.push(row);
    }

    let mut hours = Section::new("hours", "Per hour", &["hour", "requests", "bytes", "share"]);
    for (&hour, &t) in &totals.hours {
        let mut row = vec![Cell::Time(Some(hour))];
        row.extend(numbers(t));
        hours.rows.push(row);
    }

    Report {
        name: "stats",
        sections: vec![
            total,
            talkers,
            labelled("users", "By user", "user", &totals.users),
            labelled(
                "serviceAccounts",
                "By ServiceAccount",
                "serviceAccount",
                &totals.service_accounts,
            ),
            labelled("verbs", "By verb", "verb", &totals.verbs),
            labelled("resources", "By resource", "resource", &totals.resources),
            codes,
            labelled(
                "decisions",
                "By authorization decision",
                "decision",
                &totals.decisions,
            ),
            labelled("stages", "By last stage reached", "stage", &totals.stages),
            labelled("levels", "By audit level", "level", &totals.levels),
            hours,
        ],
        primary: "users",
        json: None,
        flagged: 0,
    }
}
