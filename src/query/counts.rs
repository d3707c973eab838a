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

mod tally;

use std::cmp::Ordering;
use std::fmt;

use tantivy::schema::{FieldType, Schema};

use super::build::index_field;
use super::parse::{CmpOp, Expr, Field, FieldKind, Value};
use super::{Engine, Search};
use crate::error::{Error, Result};
use crate::index::schema::Fields;
use crate::podspec::Severity;
use tally::{SegmentTally, Totals};

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
            Some(Key::Text(s)) if field == Field::Severity => match Severity::parse(s) {
                Some(severity) => Expr::Field(field, Value::Compare(CmpOp::Eq, severity.rank())),
                None => Expr::Field(field, Value::Exact(s.clone())),
            },
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
        // A column (it is queried from one), but of one value per request.
        Field::AuditId => return None,
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
                    _ if f == Field::AuditId => "is one value per request: nothing to count",
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
        Ok(finish(totals, spec))
    }
}

/// The rows reaching `min`, the `top` keys' rows, in order.
fn finish(totals: Totals, spec: &Spec) -> Counts {
    let (requests, cut) = (totals.requests, totals.cut);
    let min = spec.min.max(1);
    // In key order: a key's rows (its buckets) are next to each other.
    let mut rows: Vec<Row> = totals
        .into_counts()
        .into_iter()
        .filter(|&(_, count)| count >= min)
        .map(|((values, bucket), count)| Row {
            values,
            bucket,
            count,
        })
        .collect();
    let top = spec.top.unwrap_or(usize::MAX);
    // Each key, ranked by its largest row, as (largest, its rows).
    let mut ranked: Vec<(u64, std::ops::Range<usize>)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match ranked.last_mut() {
            Some((best, range)) if rows[range.start].values == row.values => {
                *best = (*best).max(row.count);
                range.end = i + 1;
            }
            _ => ranked.push((row.count, i..i + 1)),
        }
    }
    let keys = ranked.len();
    if top < keys {
        ranked.select_nth_unstable_by(top, |(a, ra), (b, rb)| {
            b.cmp(a)
                .then_with(|| value_order(&rows[ra.start].values, &rows[rb.start].values))
        });
        ranked.truncate(top);
        let mut kept = vec![false; rows.len()];
        for (_, range) in &ranked {
            kept[range.clone()].fill(true);
        }
        let mut kept = kept.into_iter();
        rows.retain(|_| kept.next().unwrap_or(false));
    }
    rows.sort_by(row_order);
    // Severities are kept as ranks in their column; shown by name, as queries write them.
    for (i, _) in spec
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| **f == Field::Severity)
    {
        for row in &mut rows {
            if let Some(Key::Number(rank)) = row.values[i] {
                if let Some(severity) = crate::podspec::Severity::from_rank(rank) {
                    row.values[i] = Some(Key::Text(severity.as_str().to_string()));
                }
            }
        }
    }
    Counts {
        rows,
        keys,
        shown: keys.min(top),
        requests,
        cut,
    }
}

/// Largest first, then values in order, then oldest bucket first.
fn row_order(a: &Row, b: &Row) -> Ordering {
    b.count
        .cmp(&a.count)
        .then_with(|| value_order(&a.values, &b.values))
        .then_with(|| bucket_order(a.bucket, b.bucket))
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
mod tests;
