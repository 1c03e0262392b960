//! The small sorted vectors a row's counters are made of: [`Histogram`] (response-time bucket ->
//! count) and [`PerSecond`] (unix second -> count). Latencies fall into few distinct buckets and a
//! delta spans ~3 s, so short vectors are smaller and faster than maps or fixed tables per user.
//! Counts saturate instead of overflowing.

use std::collections::BTreeMap;

/// Bucketed response times -> counts, sorted by bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram(Vec<(u64, u64)>);

impl Histogram {
    pub fn add(&mut self, bucket: u64, n: u64) {
        match self.0.binary_search_by_key(&bucket, |(b, _)| *b) {
            Ok(i) => self.0[i].1 = self.0[i].1.saturating_add(n),
            Err(i) => self.0.insert(i, (bucket, n)),
        }
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (bucket, n) in &other.0 {
            self.add(*bucket, *n);
        }
    }

    pub fn to_map(&self) -> BTreeMap<u64, u64> {
        self.0.iter().copied().collect()
    }

    pub fn buckets(&self) -> &[(u64, u64)] {
        &self.0
    }
}

/// Per-second counters, in the order the seconds were first seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerSecond(Vec<(i64, u64)>);

impl PerSecond {
    pub fn add(&mut self, sec: i64, n: u64) {
        if let Some(last) = self.0.last_mut().filter(|(s, _)| *s == sec) {
            last.1 = last.1.saturating_add(n);
        } else if let Some(slot) = self.0.iter_mut().find(|(s, _)| *s == sec) {
            slot.1 = slot.1.saturating_add(n);
        } else {
            self.0.push((sec, n));
        }
    }

    pub fn merge(&mut self, other: &PerSecond) {
        for (s, n) in &other.0 {
            self.add(*s, *n);
        }
    }

    pub fn to_map(&self) -> BTreeMap<i64, u64> {
        let mut out = BTreeMap::new();
        for (s, n) in &self.0 {
            let slot: &mut u64 = out.entry(*s).or_default();
            *slot = slot.saturating_add(*n);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_stay_sorted_and_merge() {
        let mut a = Histogram::default();
        for b in [30, 10, 30, 20, 10000] {
            a.add(b, 1);
        }
        let mut b = Histogram::default();
        b.add(20, 5);
        b.add(5, 1);
        a.merge(&b);
        assert_eq!(a.buckets(), [(5, 1), (10, 1), (20, 6), (30, 2), (10000, 1)]);
    }

    #[test]
    fn per_second_counts_merge_by_second_and_saturate() {
        let mut a = PerSecond::default();
        a.add(10, 1);
        a.add(11, 2);
        a.add(10, 1);
        let mut b = PerSecond::default();
        b.add(11, u64::MAX);
        a.merge(&b);
        assert_eq!(a.to_map(), BTreeMap::from([(10, 2), (11, u64::MAX)]));
    }
}
