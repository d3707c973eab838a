//! Small accumulators shared by the reports.

use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Distinct values kept per row (source IPs, user agents): a client chooses its
/// userAgent, so an unbounded set would let one client grow a report without limit.
const DISTINCT_CAP: usize = 20;
/// Values past the cap are counted by hash, up to this many; past it, "or more".
const OVERFLOW_CAP: usize = 10_000;

/// A set of distinct strings that keeps the smallest `DISTINCT_CAP` (so the same index
/// always shows the same values, whatever order they were read in) and counts the rest.
#[derive(Debug, Default, Clone)]
pub struct Distinct {
    values: BTreeSet<String>,
    more: HashSet<u64>,
    /// More values were seen than are counted.
    saturated: bool,
}

impl Distinct {
    pub fn add(&mut self, value: &str) {
        if value.is_empty() || self.values.contains(value) {
            return;
        }
        self.values.insert(value.to_string());
        if self.values.len() > DISTINCT_CAP
            && let Some(largest) = self.values.pop_last()
        {
            self.count_more(&largest);
        }
    }

    fn count_more(&mut self, value: &str) {
        if self.more.len() < OVERFLOW_CAP {
            self.more
                .insert(xxhash_rust::xxh3::xxh3_64(value.as_bytes()));
        } else {
            self.saturated = true;
        }
    }

    /// Adds every value of `other`, and what it counted beyond them.
    pub fn merge(&mut self, other: Distinct) {
        for value in other.values {
            self.add(&value);
        }
        for hash in other.more {
            if self.more.len() < OVERFLOW_CAP {
                self.more.insert(hash);
            } else {
                self.saturated = true;
            }
        }
        self.saturated |= other.saturated;
    }

    /// Says that values were left out before they reached this set.
    pub fn mark_saturated(&mut self) {
        self.saturated = true;
    }

    /// The values in order, and `(+N more)` when some were not kept.
    pub fn list(&self) -> Vec<String> {
        let mut out: Vec<String> = self.values.iter().cloned().collect();
        match (self.more.len(), self.saturated) {
            (0, false) => {}
            (n, false) => out.push(format!("(+{n} more)")),
            (n, true) => out.push(format!("(+{n} or more)")),
        }
        out
    }
}

/// First and last time seen, microseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Span {
    pub first: Option<i64>,
    pub last: Option<i64>,
}

impl Span {
    pub fn add(&mut self, t: Option<i64>) {
        if let Some(t) = t {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }
}

/// Counts per name.
#[derive(Debug, Default, Clone)]
pub struct Counter(BTreeMap<String, u64>);

impl Counter {
    pub fn add(&mut self, name: &str, n: u64) {
        match self.0.get_mut(name) {
            Some(count) => *count += n,
            None => {
                self.0.insert(name.to_string(), n);
            }
        }
    }

    /// The `n` largest counts (all with `usize::MAX`), largest first, ties by name.
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self.0.iter().map(|(k, v)| (k.clone(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }
}

/// A refused request: the authorizer said `forbid`, or the answer was 403 (which is
/// also how admission, PodSecurity say, refuses a request the authorizer allowed).
pub fn is_forbidden(code: Option<u64>, decision: Option<&str>) -> bool {
    decision == Some("forbid") || code == Some(403)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_is_capped_and_counts_the_rest() {
        let mut d = Distinct::default();
        for i in 0..25 {
            d.add(&format!("ua-{i:02}"));
            d.add(&format!("ua-{i:02}"));
        }
        let list = d.list();
        assert_eq!(list.len(), DISTINCT_CAP + 1);
        assert_eq!(list.last().unwrap(), "(+5 more)");
        // The smallest are kept, whatever the order they came in.
        let mut reversed = Distinct::default();
        for i in (0..25).rev() {
            reversed.add(&format!("ua-{i:02}"));
        }
        assert_eq!(reversed.list(), list);
        assert_eq!(list[0], "ua-00");
    }

    #[test]
    fn counter_orders_by_count_then_name() {
        let mut c = Counter::default();
        c.add("list", 2);
        c.add("get", 2);
        c.add("watch", 5);
        assert_eq!(
            c.top(2),
            vec![("watch".to_string(), 5), ("get".to_string(), 2)]
        );
    }

    #[test]
    fn forbidden_by_decision_or_status() {
        assert!(is_forbidden(Some(403), None));
        assert!(is_forbidden(None, Some("forbid")));
        assert!(is_forbidden(Some(403), Some("allow")));
        assert!(!is_forbidden(Some(404), Some("allow")));
        assert!(!is_forbidden(None, None));
    }
}
