//! Counting one segment, and adding segments up. A segment counts by raw key (each
//! field's dictionary ordinal or number, then the bucket); its keys are decoded into
//! values once, when it is done, each field's distinct ordinals in one walk through the
//! dictionary.

use std::collections::HashMap;

use tantivy::columnar::Column;
use tantivy::{DocId, SegmentReader};

use super::{Key, MAX_COMBINATIONS, Source, bucket_of};
use crate::error::Result;
use crate::query::scan::{StrValues, time_values, u64_values_named};

/// Keys come from the log, so the hasher is seeded per process (as std's is); foldhash
/// is that and faster than std's SipHash on small integer keys.
pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A decoded key: each field's value (None: absent), and the bucket's start.
pub type FullKey = (Vec<Option<Key>>, Option<i64>);

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

    /// The keys of `raw` values (sorted, distinct), in their order.
    fn keys(&self, raw: &[u64]) -> Vec<Key> {
        match self {
            Values::Str(column) => column.texts(raw).into_iter().map(Key::Text).collect(),
            Values::Number(_) => raw.iter().map(|&n| Key::Number(n)).collect(),
        }
    }
}

/// Counts of one segment.
enum Counted {
    /// One string field without buckets: an array indexed by ordinal, not a hash map
    /// entry per distinct value (a million auditIDs).
    ByOrd { counts: Vec<u64>, absent: u64 },
    /// Anything else, by raw key.
    ByKey(Map<Vec<Option<u64>>, u64>),
}

pub struct SegmentTally {
    pub id: tantivy::index::SegmentId,
    columns: Vec<Values>,
    time: Option<Column<tantivy::DateTime>>,
    every: Option<i64>,
    counted: Counted,
    requests: u64,
    cut: u64,
    /// Reused per document: each field's values, the combination being counted.
    values: Vec<Vec<Option<u64>>>,
    at: Vec<usize>,
    key: Vec<Option<u64>>,
}

impl SegmentTally {
    pub fn open(reader: &SegmentReader, sources: &[Source], every: Option<i64>) -> Result<Self> {
        let columns = sources
            .iter()
            .map(|s| {
                Ok(if s.numeric {
                    Values::Number(u64_values_named(reader, &s.column)?)
                } else {
                    Values::Str(StrValues::open_named(reader, &s.column)?)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let counted = match (&columns[..], every) {
            ([Values::Str(column)], None) => Counted::ByOrd {
                counts: vec![0; column.distinct()],
                absent: 0,
            },
            _ => Counted::ByKey(Map::default()),
        };
        Ok(SegmentTally {
            id: reader.segment_id(),
            time: match every {
                Some(_) => time_values(reader)?,
                None => None,
            },
            every,
            counted,
            requests: 0,
            cut: 0,
            values: vec![Vec::new(); columns.len()],
            at: vec![0; columns.len()],
            key: Vec::with_capacity(columns.len() + 1),
            columns,
        })
    }

    /// Counts one matching document: reads its values of each counted field from the
    /// columns and adds one to each distinct combination (a tuple of one value per field,
    /// absent values a key of their own), capped at `MAX_COMBINATIONS` per document.
    pub fn add(&mut self, doc: DocId) {
        self.requests += 1;
        for (column, values) in self.columns.iter().zip(&mut self.values) {
            column.read(doc, values);
        }
        let map = match &mut self.counted {
            Counted::ByOrd { counts, absent } => {
                let values = &self.values[0];
                if values.len() > MAX_COMBINATIONS {
                    self.cut += 1;
                }
                for value in values.iter().take(MAX_COMBINATIONS) {
                    match value {
                        Some(ord) => counts[*ord as usize] += 1,
                        None => *absent += 1,
                    }
                }
                return;
            }
            Counted::ByKey(map) => map,
        };
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
            match map.get_mut(self.key.as_slice()) {
                Some(n) => *n += 1,
                None => {
                    map.insert(self.key.clone(), 1);
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

/// Counts across segments: each segment's counts by decoded key, in key order, added up
/// by sorting (runs already in order merge in linear time) rather than hashed: a
/// million distinct auditIDs hash slower than they merge.
#[derive(Default)]
pub struct Totals {
    entries: Vec<(FullKey, u64)>,
    /// How many entries the last `compact` left.
    compacted: usize,
    pub requests: u64,
    pub cut: u64,
}

impl Totals {
    /// Adds one segment's counts, turning its column ordinals into values (ordinals are
    /// per segment: only values can be merged across segments).
    pub fn merge(&mut self, segment: SegmentTally) {
        self.requests += segment.requests;
        self.cut += segment.cut;
        let start = self.entries.len();
        let columns = segment.columns;
        match segment.counted {
            Counted::ByOrd { counts, absent } => {
                // Ordinal order is the values' order.
                let ords: Vec<u64> = (0..counts.len() as u64)
                    .filter(|&o| counts[o as usize] > 0)
                    .collect();
                let keys = columns[0].keys(&ords);
                self.entries.reserve(keys.len() + 1);
                if absent > 0 {
                    self.entries.push(((vec![None], None), absent));
                }
                for (key, ord) in keys.into_iter().zip(ords) {
                    self.entries
                        .push(((vec![Some(key)], None), counts[ord as usize]));
                }
            }
            Counted::ByKey(map) => {
                let fields = columns.len();
                // Each field's distinct values in the segment, decoded in one pass.
                let decoded: Vec<(Vec<u64>, Vec<Key>)> = (0..fields)
                    .map(|i| {
                        let mut raw: Vec<u64> = map.keys().filter_map(|k| k[i]).collect();
                        raw.sort_unstable();
                        raw.dedup();
                        let keys = columns[i].keys(&raw);
                        (raw, keys)
                    })
                    .collect();
                let key = |(raw, keys): &(Vec<u64>, Vec<Key>), value: u64| {
                    let at = raw.binary_search(&value).expect("decoded above");
                    keys[at].clone()
                };
                // Ordinal order is the values' order (and buckets sort as their
                // starts but before 1970): sorting the integers sorts the keys, which
                // comparing strings would do many times slower.
                let mut map: Vec<(Vec<Option<u64>>, u64)> = map.into_iter().collect();
                map.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                self.entries.reserve(map.len());
                for (raw, n) in map {
                    let values = raw[..fields]
                        .iter()
                        .zip(&decoded)
                        .map(|(&v, field)| v.map(|v| key(field, v)))
                        .collect();
                    let bucket = raw.get(fields).copied().flatten().map(|b| b as i64);
                    self.entries.push(((values, bucket), n));
                }
            }
        }
        // Whatever the decoding did (a value cut at 64 KiB, a bucket before 1970), the
        // segment's run must be in key order; it nearly always is already.
        let run = &mut self.entries[start..];
        if !run.is_sorted_by(|a, b| a.0 <= b.0) {
            run.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        // Keys seen in many segments (users, verbs) are added up as they repeat, so
        // memory stays within a few times the distinct keys.
        if self.entries.len() > 2 * self.compacted + 4096 {
            self.compact();
        }
    }

    /// Sorts the entries by key and adds up those of the same key.
    fn compact(&mut self) {
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        self.entries.dedup_by(|next, kept| {
            let same = next.0 == kept.0;
            if same {
                kept.1 += next.1;
            }
            same
        });
        self.compacted = self.entries.len();
    }

    /// Every distinct key with its count, in key order.
    pub fn into_counts(mut self) -> Vec<(FullKey, u64)> {
        self.compact();
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacting_adds_up_each_key_once_in_key_order() {
        let key = |v: Option<&str>, bucket| (vec![v.map(|v| Key::Text(v.into()))], bucket);
        let mut totals = Totals::default();
        // Three segments' runs, each in key order, sharing keys.
        for run in [
            vec![(key(None, None), 1), (key(Some("a"), None), 2)],
            vec![(key(Some("a"), None), 3), (key(Some("b"), Some(5)), 1)],
            vec![(key(None, None), 4), (key(Some("b"), Some(5)), 1)],
        ] {
            totals.entries.extend(run);
        }
        totals.compact();
        assert_eq!(totals.compacted, 3);
        assert_eq!(
            totals.into_counts(),
            [
                (key(None, None), 5),
                (key(Some("a"), None), 5),
                (key(Some("b"), Some(5)), 2)
            ]
        );
    }
}
