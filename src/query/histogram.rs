//! Counts of a query's hits over time: the TUI's timeline. One pass reads each hit's
//! time from the `time` fast column (never the document store); the bucket width is
//! then chosen from the span of the hits themselves, so re-running the query bounded
//! to one bucket and asking again zooms in.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DateTime, DocId, Score, SegmentOrdinal, SegmentReader};

use super::{Engine, Search};
use crate::error::Result;

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// Widths a reader takes in at a glance; beyond these, multiples of a week.
const NICE_WIDTHS: [i64; 15] = [
    SECOND,
    5 * SECOND,
    10 * SECOND,
    30 * SECOND,
    MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    WEEK,
];

/// Matching requests per time bucket. Times are microseconds since the epoch; bucket
/// `i` covers `[start + i*width, start + (i+1)*width)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    /// A multiple of `width` (UTC), at or before the oldest hit.
    pub start: i64,
    pub width: i64,
    /// As many buckets as the hits need (the last holds the newest); empty without hits.
    pub counts: Vec<u64>,
    /// Hits with a time, the sum of `counts`: a request without one has no place on a
    /// timeline (and a since/until bound already excludes it).
    pub total: u64,
}

impl Engine {
    /// The matching requests of `search` (within its since/until) in at most `buckets`
    /// buckets (0 counts as 1), spanning its oldest to its newest hit.
    pub fn histogram(&self, search: &Search, buckets: usize) -> Result<Histogram> {
        let query = self.to_query(search)?;
        let searcher = self.reader.searcher();
        let segments = searcher
            .search(&*query, &HitTimes)
            .map_err(|e| self.err(e))?;
        Ok(Histogram::of(&segments, buckets.max(1)))
    }
}

impl Histogram {
    fn of(segments: &[Times], buckets: usize) -> Histogram {
        let min = segments.iter().map(|s| s.min).min().unwrap_or(i64::MAX);
        let max = segments.iter().map(|s| s.max).max().unwrap_or(i64::MIN);
        if min > max {
            return Histogram {
                start: 0,
                width: SECOND,
                counts: Vec::new(),
                total: 0,
            };
        }
        let width = nice_width(min, max, buckets as i64);
        let start = min.div_euclid(width) * width;
        let mut counts = vec![0; ((max - start) / width + 1) as usize];
        for &t in segments.iter().flat_map(|s| &s.micros) {
            counts[((t - start) / width) as usize] += 1;
        }
        Histogram {
            start,
            width,
            total: counts.iter().sum(),
            counts,
        }
    }

    /// The `[from, to)` bounds of bucket `i`: the since/until that narrow to it.
    pub fn bucket(&self, i: usize) -> (i64, i64) {
        let from = self.start + i as i64 * self.width;
        (from, from + self.width)
    }

    /// The width for a legend: "5m buckets".
    pub fn label(&self) -> String {
        let w = self.width;
        let (n, unit) = if w % DAY == 0 {
            (w / DAY, "d")
        } else if w % HOUR == 0 {
            (w / HOUR, "h")
        } else if w % MINUTE == 0 {
            (w / MINUTE, "m")
        } else {
            (w / SECOND, "s")
        };
        format!("{n}{unit} buckets")
    }
}

/// The narrowest nice width that puts `min..=max` in at most `buckets` buckets once
/// the start is aligned down to a multiple of it (alignment can cost one more bucket).
fn nice_width(min: i64, max: i64, buckets: i64) -> i64 {
    // Every width has a boundary at the epoch, so hits on both sides of it (logs
    // claiming 1969) need two buckets whatever the width: asking for one would never
    // find a width below.
    let buckets = if min < 0 && max >= 0 {
        buckets.max(2)
    } else {
        buckets
    };
    let fits = |w: i64| max.div_euclid(w) - min.div_euclid(w) < buckets;
    if let Some(&w) = NICE_WIDTHS.iter().find(|&&w| fits(w)) {
        return w;
    }
    // The span alone needs at least about this many weeks; alignment may need more.
    let mut weeks = ((max - min) / (WEEK * buckets)).max(1);
    while !fits(weeks * WEEK) {
        weeks += 1;
    }
    weeks * WEEK
}

/// The times (microseconds) of one segment's hits. The span is tracked as they arrive:
/// another pass over a million times costs milliseconds of memory traffic.
struct Times {
    micros: Vec<i64>,
    min: i64,
    max: i64,
}

impl Times {
    fn add(&mut self, t: DateTime) {
        let t = t.into_timestamp_micros();
        self.min = self.min.min(t);
        self.max = self.max.max(t);
        self.micros.push(t);
    }
}

/// Collects the hits' times in one pass over the `time` column: 8 bytes a hit (8 MB
/// for a million) instead of a second pass over the index once the span is known.
struct HitTimes;

impl Collector for HitTimes {
    type Fruit = Vec<Times>;
    type Child = SegmentTimes;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentTimes> {
        Ok(SegmentTimes {
            column: segment
                .fast_fields()
                .column_opt(crate::index::columns::TIME)?,
            block: Vec::new(),
            times: Times {
                micros: Vec::new(),
                min: i64::MAX,
                max: i64::MIN,
            },
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<Times>) -> tantivy::Result<Vec<Times>> {
        Ok(segments)
    }
}

struct SegmentTimes {
    /// None when no document of the segment has a time.
    column: Option<Column<DateTime>>,
    /// A block's values, reused.
    block: Vec<Option<DateTime>>,
    times: Times,
}

impl SegmentCollector for SegmentTimes {
    type Fruit = Times;

    // tantivy calls this one document at a time only in segments with deletions.
    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(t) = self.column.as_ref().and_then(|c| c.first(doc)) {
            self.times.add(t);
        }
    }

    // Whole blocks of hits otherwise: the column decodes them together.
    fn collect_block(&mut self, docs: &[DocId]) {
        let Some(column) = &self.column else { return };
        self.block.clear();
        self.block.resize(docs.len(), None);
        column.first_vals(docs, &mut self.block);
        for &t in self.block.iter().flatten() {
            self.times.add(t);
        }
    }

    fn harvest(self) -> Times {
        self.times
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::query::parse::Expr;
    use crate::query::parse_query;

    /// 2026-11-20T10:00:00Z, a multiple of a day.
    const T0: i64 = 1_795_168_800 * SECOND;

    /// One stage of request `n` received at `t`, a `list` when `listed` else a `get`.
    fn event(n: usize, t: i64, listed: bool, stage: &str) -> String {
        let at = chrono::DateTime::from_timestamp_micros(t)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        serde_json::json!({
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": format!("00000000-0000-4000-8000-{n:012}"),
            "stage": stage,
            "requestURI": "/api/v1/namespaces/default/pods",
            "verb": if listed { "list" } else { "get" },
            "user": {"username": "alice"},
            "objectRef": {"resource": "pods", "namespace": "default"},
            "responseStatus": {"code": 200},
            "requestReceivedTimestamp": at,
            "stageTimestamp": at,
        })
        .to_string()
    }

    /// An index of one finished request at each (time, listed).
    fn index(times: &[(i64, bool)]) -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let lines: Vec<String> = times
            .iter()
            .enumerate()
            .map(|(n, &(t, listed))| event(n, t, listed, "ResponseComplete"))
            .collect();
        let engine = crate::testing::ingest_lines(dir.path(), "audit.log", &lines);
        (dir, engine)
    }

    fn all() -> Search {
        Search {
            expr: Expr::All,
            since: None,
            until: None,
        }
    }

    #[test]
    fn widths_are_nice_and_the_fewest_that_fit() {
        assert_eq!(nice_width(T0, T0, 1), SECOND);
        assert_eq!(nice_width(T0, T0 + 59 * SECOND, 60), SECOND);
        assert_eq!(nice_width(T0, T0 + 60 * SECOND, 60), 5 * SECOND);
        // Aligned to 1m, 00:30..01:29 needs two buckets: one 1m bucket is not enough.
        assert_eq!(
            nice_width(T0 + 30 * SECOND, T0 + 89 * SECOND, 1),
            5 * MINUTE
        );
        assert_eq!(nice_width(T0, T0 + 23 * HOUR, 24), HOUR);
        assert_eq!(nice_width(T0, T0 + 2 * DAY, 24), 3 * HOUR);
        assert_eq!(nice_width(T0, T0 + 30 * DAY, 5), WEEK);
        assert_eq!(nice_width(T0, T0 + 365 * DAY, 10), 6 * WEEK);
        // Before the epoch, alignment still rounds down; across it, two buckets.
        assert_eq!(nice_width(-6 * SECOND, -SECOND, 1), 10 * SECOND);
        assert_eq!(nice_width(-SECOND, 0, 1), SECOND);
    }

    #[test]
    fn labels_name_the_width() {
        let h = |width| Histogram {
            start: 0,
            width,
            counts: vec![1],
            total: 1,
        };
        assert_eq!(h(30 * SECOND).label(), "30s buckets");
        assert_eq!(h(15 * MINUTE).label(), "15m buckets");
        assert_eq!(h(12 * HOUR).label(), "12h buckets");
        assert_eq!(h(2 * WEEK).label(), "14d buckets");
    }

    #[test]
    fn hits_are_counted_in_aligned_buckets_and_the_newest_is_in_the_last() {
        let times = [
            (T0 + 7 * MINUTE + 13 * SECOND, false),
            (T0 + 9 * MINUTE, true),
            (T0 + 31 * MINUTE, false),
            (T0 + 58 * MINUTE + 59 * SECOND + 999_999, true),
        ];
        let (_dir, engine) = index(&times);
        let h = engine.histogram(&all(), 6).unwrap();
        // 52 minutes in 6 buckets: 10m ones, from the 10m boundary before the oldest.
        assert_eq!((h.start, h.width), (T0, 10 * MINUTE));
        assert_eq!(h.counts, vec![2, 0, 0, 1, 0, 1]);
        assert_eq!(h.total, 4);
        assert_eq!(h.label(), "10m buckets");
        let (from, to) = h.bucket(5);
        assert!((from..to).contains(&times[3].0));
        assert_eq!(to, T0 + HOUR);

        // A query narrows the span to its own hits.
        let lists = Search {
            expr: parse_query("verb:list", &[]).unwrap(),
            ..all()
        };
        let h = engine.histogram(&lists, 60).unwrap();
        assert_eq!((h.start, h.width, h.total), (T0 + 9 * MINUTE, MINUTE, 2));
        assert_eq!(h.counts.len(), 50);
        assert_eq!((h.counts[0], h.counts[49]), (1, 1));
    }

    #[test]
    fn since_and_until_bound_the_hits_so_a_bucket_can_be_zoomed_into() {
        let times: Vec<(i64, bool)> = (0..120).map(|m| (T0 + m * MINUTE, false)).collect();
        let (_dir, engine) = index(&times);
        let h = engine.histogram(&all(), 2).unwrap();
        assert_eq!((h.start, h.width, h.total), (T0, HOUR, 120));
        assert_eq!(h.counts, vec![60, 60]);

        let (since, until) = h.bucket(1);
        let zoomed = Search {
            since: Some(since),
            until: Some(until),
            ..all()
        };
        let h = engine.histogram(&zoomed, 4).unwrap();
        assert_eq!((h.start, h.width, h.total), (T0 + HOUR, 15 * MINUTE, 60));
        assert_eq!(h.counts, vec![15, 15, 15, 15]);

        // until is exclusive: the request at the bound is left out.
        let before = Search {
            since: Some(T0 + 10 * MINUTE),
            until: Some(T0 + 20 * MINUTE),
            ..all()
        };
        let h = engine.histogram(&before, 100).unwrap();
        assert_eq!(
            (h.start, h.width, h.total),
            (T0 + 10 * MINUTE, 10 * SECOND, 10)
        );
        assert_eq!(h.counts.len(), 55);
        assert_eq!(*h.counts.last().unwrap(), 1);
    }

    #[test]
    fn no_hits_give_no_buckets_and_one_hit_gives_one() {
        let (_dir, engine) = index(&[(T0 + 1234, false)]);
        let none = Search {
            expr: parse_query("verb:delete", &[]).unwrap(),
            ..all()
        };
        let h = engine.histogram(&none, 10).unwrap();
        assert!(h.counts.is_empty());
        assert_eq!(h.total, 0);

        let h = engine.histogram(&all(), 10).unwrap();
        assert_eq!((h.start, h.width), (T0, SECOND));
        assert_eq!((h.counts.clone(), h.total), (vec![1], 1));
        assert_eq!(engine.histogram(&all(), 0).unwrap(), h);
    }

    #[test]
    fn a_rewritten_request_counts_once() {
        let (dir, _) = index(&[(T0, false), (T0 + MINUTE, false)]);
        // An earlier stage arriving after the commit rewrites the request: the old
        // document stays in its segment, deleted, and is counted one hit at a time.
        let late = [event(0, T0, false, "RequestReceived")];
        let engine = crate::testing::ingest_lines(dir.path(), "late.log", &late);
        let deleted = engine.deleted_docs();
        assert_eq!(deleted, 1);
        let h = engine.histogram(&all(), 10).unwrap();
        assert_eq!((h.start, h.width, h.total), (T0, 10 * SECOND, 2));
        assert_eq!((h.counts[0], h.counts[6]), (1, 1));
    }

    /// Latency on a big index, such as the ~1M requests benches/perf.sh builds:
    /// `KAUDIT_INDEX=DIR cargo test --release --lib query::histogram -- --ignored --nocapture`
    #[test]
    #[ignore = "needs a big index in $KAUDIT_INDEX"]
    fn latency_on_a_big_index() {
        let dir = std::env::var_os("KAUDIT_INDEX").expect("KAUDIT_INDEX");
        let engine = Engine::open(Path::new(&dir)).unwrap();
        for text in ["", "user:system:kube-scheduler", "code:>=400"] {
            let search = Search {
                expr: parse_query(text, &[]).unwrap(),
                ..all()
            };
            let mut runs: Vec<_> = (0..11)
                .map(|_| {
                    let started = std::time::Instant::now();
                    let h = engine.histogram(&search, 100).unwrap();
                    (started.elapsed(), h.total, h.counts.len(), h.label())
                })
                .collect();
            runs.sort();
            let (median, total, buckets, label) = &runs[5];
            println!("{text:?}: {median:.1?} median of 11, {total} hits, {buckets} x {label}");
        }
    }
}
