//! Counts of matching requests by the values of fields (`kaudit query --by`), in total or
//! per time bucket (`--every`), largest first: "which source IP made 10 or more
//! forbidden requests within 5 minutes".
//!
//! Read from fast columns only, never the document store: each segment tallies by
//! dictionary ordinal (integers, one hash lookup per request), and ordinals become
//! strings once per distinct key when the segment is done. Deleted documents (a request
//! rewritten by a later stage) are skipped by `Engine::scan`. Memory grows with the
//! number of distinct keys, never with the number of requests.
//!
//! A field with several values per request (`group`, `ip`, `image`, `risk`) counts the
//! request once under each distinct value; a request without the field counts under the
//! absent key (`None`). With several fields, a request counts once per combination.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt;

use tantivy::columnar::Column;
use tantivy::schema::{FieldType, Schema};
use tantivy::{DocId, SegmentReader};

use super::build::index_field;
use super::parse::{CmpOp, Expr, Field, FieldKind, Value};
use super::scan::{StrValues, time_values};
use super::{Engine, Search};
use crate::error::{Error, Result};
use crate::index::schema::Fields;

/// Combinations of values one request may count under. Several multi-valued fields
/// multiply (a hostile request with 100,000 groups and 100,000 source IPs would be
/// 10^10 keys): past this, the rest of that request's combinations are not counted and
/// [`Counts::cut`] says how many requests that happened to.
pub const MAX_COMBINATIONS: usize = 100_000;

/// What to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The key: one value of each field, in this order.
    pub fields: Vec<Field>,
    /// Bucket width in microseconds: count per key and bucket, buckets aligned to
    /// multiples of the width since the epoch (UTC).
    pub every: Option<i64>,
    /// Only rows counted at least this often (with `every`: in their bucket).
    pub min: u64,
    /// At most this many keys, those with the largest row (their best bucket with
    /// `every`); all their rows are kept. None: every key.
    pub top: Option<usize>,
}

/// One value of a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// `code`.
    Number(u64),
    Text(String),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Number(n) => write!(f, "{n}"),
            Key::Text(s) => f.write_str(s),
        }
    }
}

impl Key {
    /// The query term for requests with this value of `field` (`None`: without the
    /// field), printed by `Expr`'s `Display`, which quotes whatever a value needs.
    pub fn term(field: Field, key: Option<&Key>) -> Expr {
        match key {
            None => Expr::Not(Box::new(Expr::Field(field, Value::Any))),
            Some(Key::Number(n)) => Expr::Field(field, Value::Compare(CmpOp::Eq, *n)),
            Some(Key::Text(s)) => Expr::Field(field, Value::Exact(s.clone())),
        }
    }
}

/// Requests counted under one key (and bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// One per field of the spec; None where the request had no value.
    pub values: Vec<Option<Key>>,
    /// The bucket's start (microseconds) with `every`; None without it, or for
    /// requests without a time.
    pub bucket: Option<i64>,
    pub count: u64,
}

/// The answer: rows largest first, ties in value order, then bucket order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub rows: Vec<Row>,
    /// Keys with a row reaching `min`, before `top` kept some of them.
    pub keys: usize,
    /// Keys whose rows are in `rows`.
    pub shown: usize,
    /// Matching requests.
    pub requests: u64,
    /// Requests with more than [`MAX_COMBINATIONS`] keys, not all counted.
    pub cut: u64,
}

/// Where a field's values are read from: its fast column, string or number.
struct Source {
    column: String,
    numeric: bool,
}

/// `ua` is counted from `agent` (the whole userAgent); the other text fields (uri,
/// reason, command) are indexed by words and have no column of whole values.
fn source(schema: &Schema, fields: &Fields, field: Field) -> Option<Source> {
    let indexed = match field {
        Field::UserAgent => fields.agent,
        _ if field.kind() == FieldKind::Text => return None,
        _ => index_field(fields, field),
    };
    let entry = schema.get_field_entry(indexed);
    let numeric = match entry.field_type() {
        FieldType::Str(_) => false,
        FieldType::U64(_) => true,
        _ => return None,
    };
    entry.is_fast().then(|| Source {
        column: entry.name().to_string(),
        numeric,
    })
}

/// The fields `--by` accepts, in the order of the query language's table.
pub fn countable() -> Vec<Field> {
    let (schema, fields) = crate::index::schema::build();
    Field::ALL
        .iter()
        .copied()
        .filter(|&f| source(&schema, &fields, f).is_some())
        .collect()
}

/// `--by user,ip`: field names (or aliases) separated by commas.
pub fn parse_fields(text: &str) -> Result<Vec<Field>> {
    let allowed = countable();
    let usage = |what: String| {
        let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
        Error::Usage(format!("--by {what}; fields: {}", names.join(", ")))
    };
    let mut out = Vec::new();
    for name in text.split(',').map(str::trim) {
        let field = match Field::from_name(name) {
            Some(f) if allowed.contains(&f) => f,
            Some(f) => {
                let why = match f.kind() {
                    FieldKind::Text => "is matched by words, not whole values",
                    _ => "has no column to count from",
                };
                return Err(usage(format!("{name:?}: {} {why}", f.name())));
            }
            None if name.is_empty() => return Err(usage(format!("{text:?}: a field is empty"))),
            None => return Err(usage(format!("{name:?}: unknown field"))),
        };
        if out.contains(&field) {
            return Err(usage(format!("{text:?}: {} is named twice", field.name())));
        }
        out.push(field);
    }
    Ok(out)
}

/// `--every 5m`: a bucket width (s, m, h, d, w) in microseconds.
pub fn parse_every(text: &str) -> Result<i64> {
    super::duration(text)
        .and_then(|d| d.num_microseconds())
        .filter(|&micros| micros > 0)
        .ok_or_else(|| {
            Error::Usage(format!(
                "--every {text:?}: expected a duration such as 30s, 5m, 1h, 1d or 1w"
            ))
        })
}

/// The bucket of a time: the multiple of `width` at or before it.
pub fn bucket_of(micros: i64, width: i64) -> i64 {
    micros.div_euclid(width) * width
}

impl Engine {
    /// The matching requests of `search` counted by `spec`.
    pub fn counts(&self, search: &Search, spec: &Spec) -> Result<Counts> {
        let schema = self.store.index.schema();
        let sources = spec
            .fields
            .iter()
            .map(|&f| {
                source(&schema, &self.store.fields, f)
                    .ok_or_else(|| Error::Usage(format!("{} cannot be counted", f.name())))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut totals = Totals::default();
        let mut segment: Option<SegmentTally> = None;
        self.scan(search, &mut |reader, docs| {
            let id = reader.segment_id();
            if segment.as_ref().is_none_or(|s| s.id != id) {
                if let Some(done) = segment.take() {
                    totals.merge(done);
                }
                segment = Some(SegmentTally::open(reader, &sources, spec.every)?);
            }
            let tally = segment.as_mut().expect("opened above");
            for &doc in docs {
                tally.add(doc);
            }
            Ok(())
        })?;
        if let Some(done) = segment {
            totals.merge(done);
        }
        Ok(totals.finish(spec))
    }
}

/// One field's column in one segment.
enum Values {
    Str(StrValues),
    Number(Option<Column<u64>>),
}

impl Values {
    /// The document's distinct values (ordinals or numbers) into `out`; None if it has none.
    fn read(&self, doc: DocId, out: &mut Vec<Option<u64>>) {
        out.clear();
        match self {
            Values::Str(column) => out.extend(column.ords(doc).map(Some)),
            Values::Number(column) => {
                if let Some(column) = column {
                    out.extend(column.values_for_doc(doc).map(Some));
                }
            }
        }
        if out.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
        if out.is_empty() {
            out.push(None);
        }
    }

    fn key(&self, raw: Option<u64>) -> Option<Key> {
        let raw = raw?;
        Some(match self {
            Values::Str(column) => Key::Text(column.text(raw)),
            Values::Number(_) => Key::Number(raw),
        })
    }
}

/// Counts of one segment by raw key: each field's ordinal or number, then the bucket.
struct SegmentTally {
    id: tantivy::index::SegmentId,
    columns: Vec<Values>,
    time: Option<Column<tantivy::DateTime>>,
    every: Option<i64>,
    counts: HashMap<Vec<Option<u64>>, u64>,
    requests: u64,
    cut: u64,
    /// Reused per document: each field's values, the combination being counted.
    values: Vec<Vec<Option<u64>>>,
    at: Vec<usize>,
    key: Vec<Option<u64>>,
}

impl SegmentTally {
    fn open(reader: &SegmentReader, sources: &[Source], every: Option<i64>) -> Result<Self> {
        let columns = sources
            .iter()
            .map(|s| {
                Ok(if s.numeric {
                    Values::Number(super::scan::u64_values(reader, &s.column)?)
                } else {
                    Values::Str(StrValues::open(reader, &s.column)?)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SegmentTally {
            id: reader.segment_id(),
            time: match every {
                Some(_) => time_values(reader)?,
                None => None,
            },
            every,
            counts: HashMap::new(),
            requests: 0,
            cut: 0,
            values: vec![Vec::new(); columns.len()],
            at: vec![0; columns.len()],
            key: Vec::with_capacity(columns.len() + 1),
            columns,
        })
    }

    fn add(&mut self, doc: DocId) {
        self.requests += 1;
        for (column, values) in self.columns.iter().zip(&mut self.values) {
            column.read(doc, values);
        }
        let bucket = self.every.map(|width| {
            let time = self.time.as_ref().and_then(|c| c.first(doc));
            // Stored as u64 bits in the raw key; read back as i64.
            time.map(|t| bucket_of(t.into_timestamp_micros(), width) as u64)
        });
        // Every combination of the fields' values, like an odometer.
        self.at.fill(0);
        let mut counted = 0;
        loop {
            if counted == MAX_COMBINATIONS {
                self.cut += 1;
                break;
            }
            self.key.clear();
            self.key
                .extend(self.at.iter().zip(&self.values).map(|(&i, v)| v[i]));
            if let Some(bucket) = bucket {
                self.key.push(bucket);
            }
            match self.counts.get_mut(self.key.as_slice()) {
                Some(n) => *n += 1,
                None => {
                    self.counts.insert(self.key.clone(), 1);
                }
            }
            counted += 1;
            let Some(next) = (0..self.at.len()).find(|&i| self.at[i] + 1 < self.values[i].len())
            else {
                break;
            };
            self.at[..next].fill(0);
            self.at[next] += 1;
        }
    }
}

/// Counts across segments, by decoded key and bucket.
#[derive(Default)]
struct Totals {
    counts: HashMap<(Vec<Option<Key>>, Option<i64>), u64>,
    requests: u64,
    cut: u64,
}

impl Totals {
    fn merge(&mut self, segment: SegmentTally) {
        let fields = segment.columns.len();
        self.requests += segment.requests;
        self.cut += segment.cut;
        for (raw, n) in segment.counts {
            let values = raw[..fields]
                .iter()
                .zip(&segment.columns)
                .map(|(&v, column)| column.key(v))
                .collect();
            let bucket = raw.get(fields).copied().flatten().map(|b| b as i64);
            *self.counts.entry((values, bucket)).or_default() += n;
        }
    }

    fn finish(self, spec: &Spec) -> Counts {
        let min = spec.min.max(1);
        let mut rows: Vec<Row> = self
            .counts
            .into_iter()
            .filter(|&(_, count)| count >= min)
            .map(|((values, bucket), count)| Row {
                values,
                bucket,
                count,
            })
            .collect();
        // Each key's largest row ranks it.
        let mut best: HashMap<&[Option<Key>], u64> = HashMap::new();
        for row in &rows {
            let n = best.entry(&row.values).or_default();
            *n = (*n).max(row.count);
        }
        let mut ranked: Vec<(&[Option<Key>], u64)> = best.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| value_order(a.0, b.0)));
        let keys = ranked.len();
        ranked.truncate(spec.top.unwrap_or(usize::MAX));
        let shown = ranked.len();
        let kept: HashSet<Vec<Option<Key>>> = ranked.into_iter().map(|(k, _)| k.to_vec()).collect();
        rows.retain(|r| kept.contains(&r.values));
        rows.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| value_order(&a.values, &b.values))
                .then_with(|| bucket_order(a.bucket, b.bucket))
        });
        Counts {
            rows,
            keys,
            shown,
            requests: self.requests,
            cut: self.cut,
        }
    }
}

/// Values in order, field by field; an absent value after every value.
fn value_order(a: &[Option<Key>], b: &[Option<Key>]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Oldest first; requests without a time last.
fn bucket_order(a: Option<i64>, b: Option<i64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (a, b) => a.is_none().cmp(&b.is_none()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::query::parse_query;
    use crate::testing::ingest_lines;

    /// 2026-11-20T10:00:00Z.
    const T0: i64 = 1_795_168_800_000_000;
    const SECOND: i64 = 1_000_000;
    const MINUTE: i64 = 60 * SECOND;
    const HOUR: i64 = 60 * MINUTE;

    /// A finished request `n` received at `t`, with `fields` replacing the defaults (a
    /// null removes a key).
    fn event(n: usize, t: i64, fields: serde_json::Value) -> String {
        let at = chrono::DateTime::from_timestamp_micros(t)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        let mut event = json!({
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": format!("00000000-0000-4000-8000-{n:012}"),
            "stage": "ResponseComplete",
            "requestURI": "/api/v1/namespaces/default/pods",
            "verb": "get",
            "user": {"username": "alice", "groups": ["system:authenticated"]},
            "sourceIPs": ["10.0.0.1"],
            "objectRef": {"resource": "pods", "namespace": "default"},
            "responseStatus": {"code": 200},
            "requestReceivedTimestamp": at,
            "stageTimestamp": at,
        });
        let object = event.as_object_mut().unwrap();
        for (k, v) in fields.as_object().unwrap() {
            match v {
                serde_json::Value::Null => object.remove(k),
                _ => object.insert(k.clone(), v.clone()),
            };
        }
        event.to_string()
    }

    /// An index of `events` (each: time, fields), numbered in order.
    fn index(events: &[(i64, serde_json::Value)]) -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let lines: Vec<String> = events
            .iter()
            .enumerate()
            .map(|(n, (t, fields))| event(n, *t, fields.clone()))
            .collect();
        let engine = ingest_lines(dir.path(), "audit.log", &lines);
        (dir, engine)
    }

    fn search(query: &str) -> Search {
        Search {
            expr: parse_query(query, &[]).unwrap(),
            since: None,
            until: None,
        }
    }

    fn by(fields: &[Field]) -> Spec {
        Spec {
            fields: fields.to_vec(),
            every: None,
            min: 1,
            top: None,
        }
    }

    fn text(s: &str) -> Option<Key> {
        Some(Key::Text(s.into()))
    }

    /// Rows as (values, count), values as text or "-" when absent.
    fn table(counts: &Counts) -> Vec<(Vec<String>, u64)> {
        counts
            .rows
            .iter()
            .map(|r| {
                let values = r
                    .values
                    .iter()
                    .map(|v| v.as_ref().map_or("-".into(), Key::to_string))
                    .collect();
                (values, r.count)
            })
            .collect()
    }

    fn row(values: &[&str], count: u64) -> (Vec<String>, u64) {
        (values.iter().map(|v| v.to_string()).collect(), count)
    }

    fn user(name: &str) -> serde_json::Value {
        json!({"user": {"username": name}})
    }

    #[test]
    fn one_field_largest_first_ties_in_value_order() {
        let (_dir, engine) = index(&[
            (T0, user("carol")),
            (T0, user("bob")),
            (T0, user("alice")),
            (T0, user("bob")),
            (T0, user("carol")),
            (T0, user("dave")),
        ]);
        let counts = engine.counts(&search(""), &by(&[Field::User])).unwrap();
        assert_eq!(
            table(&counts),
            [
                row(&["bob"], 2),
                row(&["carol"], 2),
                row(&["alice"], 1),
                row(&["dave"], 1)
            ]
        );
        assert_eq!((counts.keys, counts.shown, counts.requests), (4, 4, 6));
        assert!(counts.rows.iter().all(|r| r.bucket.is_none()));
        // The query narrows what is counted.
        let counts = engine
            .counts(&search("-user:bob"), &by(&[Field::User]))
            .unwrap();
        assert_eq!(counts.requests, 4);
        assert_eq!(counts.rows[0].values, [text("carol")]);
    }

    #[test]
    fn a_tuple_of_two_fields_and_numbers_and_whole_user_agents() {
        let get = |name: &str, code: u64| {
            json!({"user": {"username": name}, "responseStatus": {"code": code},
                   "userAgent": "kubectl/v1.31.0 (linux/amd64) kubernetes/abc"})
        };
        let (_dir, engine) = index(&[
            (T0, get("alice", 200)),
            (T0, get("alice", 403)),
            (T0, get("bob", 403)),
            (T0, get("alice", 200)),
            (
                T0,
                json!({"verb": "list", "responseStatus": null, "userAgent": null}),
            ),
        ]);
        let counts = engine
            .counts(&search(""), &by(&[Field::User, Field::Code]))
            .unwrap();
        assert_eq!(
            table(&counts),
            [
                row(&["alice", "200"], 2),
                row(&["alice", "403"], 1),
                row(&["alice", "-"], 1),
                row(&["bob", "403"], 1)
            ]
        );
        assert_eq!(counts.rows[0].values[1], Some(Key::Number(200)));
        // ua is the whole agent, not its words.
        let counts = engine
            .counts(&search(""), &by(&[Field::UserAgent]))
            .unwrap();
        assert_eq!(
            table(&counts),
            [
                row(&["kubectl/v1.31.0 (linux/amd64) kubernetes/abc"], 4),
                row(&["-"], 1)
            ]
        );
    }

    #[test]
    fn several_values_count_the_request_once_under_each() {
        let groups = |g: &[&str]| json!({"user": {"username": "u", "groups": g}});
        let (_dir, engine) = index(&[
            (T0, groups(&["a", "b"])),
            // The same group twice is one value.
            (T0, groups(&["a", "a"])),
            (T0, groups(&[])),
            (
                T0,
                json!({"sourceIPs": ["203.0.113.9", "10.0.0.1"], "user": {"username": "u", "groups": ["b"]}}),
            ),
        ]);
        let counts = engine.counts(&search(""), &by(&[Field::Group])).unwrap();
        assert_eq!(
            table(&counts),
            [row(&["a"], 2), row(&["b"], 2), row(&["-"], 1)]
        );
        assert_eq!(counts.requests, 4);
        let counts = engine
            .counts(&search(""), &by(&[Field::SourceIp, Field::Group]))
            .unwrap();
        assert_eq!(
            table(&counts),
            [
                row(&["10.0.0.1", "a"], 2),
                row(&["10.0.0.1", "b"], 2),
                row(&["10.0.0.1", "-"], 1),
                row(&["203.0.113.9", "b"], 1)
            ]
        );
    }

    #[test]
    fn absent_values_are_a_key_of_their_own_after_the_values() {
        let (_dir, engine) = index(&[
            (
                T0,
                json!({"objectRef": {"resource": "pods", "namespace": "b"}}),
            ),
            (T0, json!({"objectRef": {"resource": "nodes"}})),
            (
                T0,
                json!({"objectRef": {"resource": "pods", "namespace": "a"}}),
            ),
            (T0, json!({"objectRef": null, "requestURI": "/healthz"})),
        ]);
        let counts = engine
            .counts(&search(""), &by(&[Field::Namespace]))
            .unwrap();
        assert_eq!(
            table(&counts),
            [row(&["-"], 2), row(&["a"], 1), row(&["b"], 1)]
        );
        assert_eq!(counts.rows[0].values, [None]);
        // Every format's key, and the query that finds these requests.
        assert_eq!(Key::term(Field::Namespace, None).to_string(), "-ns:*");
        assert_eq!(
            engine
                .count(&search(&Key::term(Field::Namespace, None).to_string()))
                .unwrap(),
            2
        );
    }

    #[test]
    fn terms_quote_what_they_need_and_parse_back() {
        let cases = [
            (Field::User, text("system:serviceaccount:ci:deployer")),
            (Field::Name, text("a b\"c) OR x")),
            (Field::Namespace, text("")),
            (Field::Code, Some(Key::Number(403))),
            (Field::SourceIp, None),
        ];
        for (field, key) in cases {
            let term = Key::term(field, key.as_ref());
            let printed = term.to_string();
            assert_eq!(parse_query(&printed, &[]).unwrap(), term, "{printed}");
        }
        assert_eq!(
            Key::term(Field::Code, Some(&Key::Number(403))).to_string(),
            "code:403"
        );
    }

    #[test]
    fn buckets_start_at_utc_multiples_of_the_width() {
        let at = |m: i64, s: i64| T0 + m * MINUTE + s * SECOND;
        let (_dir, engine) = index(&[
            (at(4, 59) + 999_999, user("alice")),
            (at(5, 0), user("alice")),
            (at(9, 59), user("alice")),
            (at(0, 0), user("bob")),
        ]);
        let spec = Spec {
            every: Some(parse_every("5m").unwrap()),
            ..by(&[Field::User])
        };
        let counts = engine.counts(&search(""), &spec).unwrap();
        let rows: Vec<(Option<Key>, Option<i64>, u64)> = counts
            .rows
            .iter()
            .map(|r| (r.values[0].clone(), r.bucket, r.count))
            .collect();
        assert_eq!(
            rows,
            [
                (text("alice"), Some(T0 + 5 * MINUTE), 2),
                (text("alice"), Some(T0), 1),
                (text("bob"), Some(T0), 1),
            ]
        );
        assert_eq!(
            crate::output::counts::bucket_text(T0 + 5 * MINUTE),
            "2026-11-20T10:05:00Z"
        );
        // Days start at midnight UTC; other widths parse, nonsense does not.
        assert_eq!(
            bucket_of(at(4, 59), parse_every("1d").unwrap()),
            T0 - 10 * HOUR
        );
        assert_eq!(bucket_of(at(4, 59), parse_every("1h").unwrap()), T0);
        assert_eq!(parse_every("30s").unwrap(), 30 * SECOND);
        assert_eq!(parse_every("1w").unwrap(), 7 * 24 * 60 * MINUTE);
        for bad in ["0m", "5", "m", "5min", "-5m", "", "99999999999999w"] {
            assert!(parse_every(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn min_keeps_rows_reaching_it_in_a_bucket_not_summed_over_buckets() {
        let mut events = Vec::new();
        // 10.0.0.9: three forbidden requests within one 5m bucket.
        for s in [0, 10, 20] {
            events.push((T0 + s * SECOND, json!({"sourceIPs": ["10.0.0.9"]})));
        }
        // 10.0.0.7: four, but two in each of two buckets.
        for m in [1, 2, 6, 7] {
            events.push((T0 + m * MINUTE, json!({"sourceIPs": ["10.0.0.7"]})));
        }
        events.push((T0 + 8 * MINUTE, json!({"sourceIPs": ["10.0.0.9"]})));
        let (_dir, engine) = index(&events);
        let spec = Spec {
            every: Some(5 * MINUTE),
            min: 3,
            ..by(&[Field::SourceIp])
        };
        let counts = engine.counts(&search(""), &spec).unwrap();
        // Only the bucket that reached 3 is shown, not 10.0.0.9's later one.
        assert_eq!(
            counts.rows,
            [Row {
                values: vec![text("10.0.0.9")],
                bucket: Some(T0),
                count: 3
            }]
        );
        assert_eq!((counts.keys, counts.shown), (1, 1));
        // In total, both reach 3.
        let total = Spec {
            every: None,
            ..spec.clone()
        };
        let counts = engine.counts(&search(""), &total).unwrap();
        assert_eq!(
            table(&counts),
            [row(&["10.0.0.7"], 4), row(&["10.0.0.9"], 4)]
        );
        // Nothing reaches 5: no rows, but the requests matched.
        let none = Spec {
            min: 5,
            ..spec.clone()
        };
        let counts = engine.counts(&search(""), &none).unwrap();
        assert!(counts.rows.is_empty());
        assert_eq!((counts.keys, counts.requests), (0, 8));
    }

    #[test]
    fn top_keeps_the_keys_with_the_largest_rows_and_all_their_buckets() {
        let mut events = Vec::new();
        for n in 0..25 {
            for _ in 0..=n {
                events.push((T0, user(&format!("user-{n:02}"))));
            }
        }
        let (_dir, engine) = index(&events);
        let top = |n| Spec {
            top: n,
            ..by(&[Field::User])
        };
        let counts = engine.counts(&search(""), &top(Some(20))).unwrap();
        assert_eq!(counts.rows.len(), 20);
        assert_eq!((counts.keys, counts.shown), (25, 20));
        assert_eq!(table(&counts)[0], row(&["user-24"], 25));
        assert_eq!(table(&counts)[19], row(&["user-05"], 6));
        let all = engine.counts(&search(""), &top(None)).unwrap();
        assert_eq!((all.rows.len(), all.keys, all.shown), (25, 25, 25));

        // With buckets: the keys of the largest buckets, with each of their buckets.
        let (_dir, engine) = index(&[
            (T0, user("a")),
            (T0, user("a")),
            (T0 + 10 * MINUTE, user("a")),
            (T0, user("b")),
            (T0 + 10 * MINUTE, user("b")),
            (T0 + 20 * MINUTE, user("b")),
            (T0, user("c")),
        ]);
        let spec = Spec {
            every: Some(5 * MINUTE),
            top: Some(1),
            ..by(&[Field::User])
        };
        let counts = engine.counts(&search(""), &spec).unwrap();
        let rows: Vec<(Option<Key>, Option<i64>, u64)> = counts
            .rows
            .iter()
            .map(|r| (r.values[0].clone(), r.bucket, r.count))
            .collect();
        assert_eq!(
            rows,
            [
                (text("a"), Some(T0), 2),
                (text("a"), Some(T0 + 10 * MINUTE), 1)
            ]
        );
        assert_eq!((counts.keys, counts.shown), (3, 1));
    }

    #[test]
    fn since_and_until_bound_what_is_counted() {
        let (_dir, engine) = index(&[
            (T0, user("early")),
            (T0 + MINUTE, user("inside")),
            (T0 + 2 * MINUTE, user("late")),
        ]);
        let bounded = Search {
            since: Some(T0 + MINUTE),
            until: Some(T0 + 2 * MINUTE),
            ..search("")
        };
        let counts = engine.counts(&bounded, &by(&[Field::User])).unwrap();
        assert_eq!(table(&counts), [row(&["inside"], 1)]);
    }

    #[test]
    fn a_request_rewritten_by_a_later_stage_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        // Two requests: a segment whose every document is deleted is dropped whole.
        let complete = [event(0, T0, user("alice")), event(1, T0, user("bob"))];
        ingest_lines(dir.path(), "audit.log", &complete);
        // Its RequestReceived arriving after the commit rewrites the document: the old
        // one stays in its segment, deleted.
        let received = event(
            0,
            T0,
            json!({"user": {"username": "alice"}, "stage": "RequestReceived", "responseStatus": null}),
        );
        let engine = ingest_lines(dir.path(), "late.log", &[received]);
        let searcher = engine.reader.searcher();
        let deleted: u32 = searcher
            .segment_readers()
            .iter()
            .map(|s| s.num_deleted_docs())
            .sum();
        assert_eq!(deleted, 1);
        let counts = engine.counts(&search(""), &by(&[Field::User])).unwrap();
        assert_eq!(table(&counts), [row(&["alice"], 1), row(&["bob"], 1)]);
        let counts = engine.counts(&search(""), &by(&[Field::Stage])).unwrap();
        assert_eq!(table(&counts), [row(&["ResponseComplete"], 2)]);
    }

    #[test]
    fn a_request_with_too_many_combinations_is_cut_and_said_to_be() {
        let groups: Vec<String> = (0..400).map(|i| format!("g{i}")).collect();
        let ips: Vec<String> = (0..400)
            .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
            .collect();
        let (_dir, engine) = index(&[
            (
                T0,
                json!({"user": {"username": "u", "groups": groups}, "sourceIPs": ips}),
            ),
            (T0, user("v")),
        ]);
        let spec = by(&[Field::Group, Field::SourceIp]);
        let counts = engine.counts(&search(""), &spec).unwrap();
        assert_eq!(counts.cut, 1);
        let counted: u64 = counts.rows.iter().map(|r| r.count).sum();
        assert_eq!(counted, MAX_COMBINATIONS as u64 + 1);
        // One field alone is not cut.
        let counts = engine.counts(&search(""), &by(&[Field::Group])).unwrap();
        assert_eq!((counts.cut, counts.keys), (0, 401));
    }

    #[test]
    fn fields_are_checked_and_named_once() {
        assert_eq!(
            parse_fields("ip, User,namespace").unwrap(),
            [Field::SourceIp, Field::User, Field::Namespace]
        );
        let allowed = countable();
        for f in Field::ALL {
            let expected =
                f.kind() == FieldKind::Exact || matches!(f, Field::Code | Field::UserAgent);
            assert_eq!(allowed.contains(f), expected, "{f:?}");
        }
        for (bad, says) in [
            ("uri", "uri is matched by words"),
            ("nope", "\"nope\": unknown field"),
            ("user,,verb", "a field is empty"),
            ("user,user", "user is named twice"),
        ] {
            let e = parse_fields(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(e.contains("fields: verb, user, group"), "{e}");
        }
    }
}
