//! A latency histogram laid out as Redis's HDR histogram is (lowest value
//! 1 ns, highest 1 s, 2 significant digits), so the percentiles INFO
//! `latencystats` prints and the buckets LATENCY HISTOGRAM lists come out
//! as Redis's would for the same samples. Counts are atomics: every
//! connection records into the same histogram without a lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// Redis's bounds, in nanoseconds.
const LOWEST: u64 = 1;
const HIGHEST: u64 = 1_000_000_000;
/// 2 significant digits: 2 * 10^2 values per half bucket, rounded up to a
/// power of two (256 sub-buckets).
const SUB_BUCKET_COUNT_MAGNITUDE: u32 = 8;
const SUB_BUCKET_HALF_COUNT_MAGNITUDE: u32 = SUB_BUCKET_COUNT_MAGNITUDE - 1;
const SUB_BUCKET_COUNT: u64 = 1 << SUB_BUCKET_COUNT_MAGNITUDE;
const SUB_BUCKET_HALF_COUNT: u64 = SUB_BUCKET_COUNT / 2;
/// log2 of the lowest value: 0.
const UNIT_MAGNITUDE: u32 = 0;
const SUB_BUCKET_MASK: u64 = (SUB_BUCKET_COUNT - 1) << UNIT_MAGNITUDE;

/// How many buckets cover LOWEST..=HIGHEST.
const fn bucket_count() -> u32 {
    let mut smallest_untrackable = SUB_BUCKET_COUNT << UNIT_MAGNITUDE;
    let mut buckets = 1;
    while smallest_untrackable <= HIGHEST {
        smallest_untrackable <<= 1;
        buckets += 1;
    }
    buckets
}

/// The number of counters.
const COUNTS_LEN: usize = ((bucket_count() + 1) as usize) << SUB_BUCKET_HALF_COUNT_MAGNITUDE;

fn bucket_index(value: u64) -> u32 {
    let pow2ceiling = 64 - (value | SUB_BUCKET_MASK).leading_zeros();
    pow2ceiling - UNIT_MAGNITUDE - (SUB_BUCKET_HALF_COUNT_MAGNITUDE + 1)
}

fn sub_bucket_index(value: u64, bucket: u32) -> u64 {
    value >> (bucket + UNIT_MAGNITUDE)
}

fn counts_index(value: u64) -> usize {
    let bucket = bucket_index(value);
    let sub = sub_bucket_index(value, bucket);
    let base = ((bucket + 1) as usize) << SUB_BUCKET_HALF_COUNT_MAGNITUDE;
    base + sub as usize - SUB_BUCKET_HALF_COUNT as usize
}

fn value_at_index(index: usize) -> u64 {
    let mut bucket = (index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) as i64 - 1;
    let mut sub = (index as u64 & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    if bucket < 0 {
        sub -= SUB_BUCKET_HALF_COUNT;
        bucket = 0;
    }
    sub << (bucket as u32 + UNIT_MAGNITUDE)
}

fn equivalent_range(value: u64) -> u64 {
    let bucket = bucket_index(value);
    let sub = sub_bucket_index(value, bucket);
    let adjusted = if sub >= SUB_BUCKET_COUNT {
        bucket + 1
    } else {
        bucket
    };
    1 << (UNIT_MAGNITUDE + adjusted)
}

fn lowest_equivalent(value: u64) -> u64 {
    let bucket = bucket_index(value);
    let sub = sub_bucket_index(value, bucket);
    sub << (bucket + UNIT_MAGNITUDE)
}

fn highest_equivalent(value: u64) -> u64 {
    lowest_equivalent(value) + equivalent_range(value) - 1
}

/// Samples in nanoseconds.
#[derive(Debug)]
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    total: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..COUNTS_LEN).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one sample, clamped to the tracked range as Redis does.
    pub fn record(&self, nanos: u64) {
        let value = nanos.clamp(LOWEST, HIGHEST);
        self.counts[counts_index(value)].fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    /// How many samples were recorded.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Forgets every sample (CONFIG RESETSTAT).
    pub fn clear(&self) {
        for count in self.counts.iter() {
            count.store(0, Ordering::Relaxed);
        }
        self.total.store(0, Ordering::Relaxed);
    }

    fn count(&self, index: usize) -> u64 {
        self.counts[index].load(Ordering::Relaxed)
    }

    /// The value below which `percentile` % of the samples fall
    /// (`hdr_value_at_percentile`), in nanoseconds.
    pub fn value_at_percentile(&self, percentile: f64) -> u64 {
        let requested = percentile.min(100.0);
        let wanted = ((requested / 100.0) * self.total() as f64 + 0.5) as u64;
        let wanted = wanted.max(1);
        let mut seen = 0;
        let mut found = 0;
        for index in 0..COUNTS_LEN {
            seen += self.count(index);
            if seen >= wanted {
                found = value_at_index(index);
                break;
            }
        }
        if percentile == 0.0 {
            lowest_equivalent(found)
        } else {
            highest_equivalent(found)
        }
    }

    /// LATENCY HISTOGRAM's buckets: (upper bound in microseconds,
    /// cumulative count) at powers of two from 1024 ns, each listed only
    /// when it adds samples (Redis's logarithmic iteration).
    pub fn cumulative_usec(&self) -> Vec<(u64, u64)> {
        let total = self.total();
        let mut out = Vec::new();
        let mut cumulative = 0;
        let mut previous = 0;
        let mut index = 0;
        let mut level: u64 = 1024;
        while cumulative < total && level <= HIGHEST * 2 {
            let last = counts_index(lowest_equivalent(level.min(HIGHEST)));
            while index <= last && index < COUNTS_LEN {
                cumulative += self.count(index);
                index += 1;
            }
            if cumulative > previous {
                out.push((highest_equivalent(level.min(HIGHEST)) / 1000, cumulative));
            }
            previous = cumulative;
            level *= 2;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_redis_for_one_sample() {
        // Redis prints p50=8.031 for one 8 µs call, 18.047 for 18 µs.
        let h = Histogram::default();
        h.record(8_000);
        assert_eq!(h.value_at_percentile(50.0), 8_031);
        let h = Histogram::default();
        h.record(18_000);
        assert_eq!(h.value_at_percentile(99.9), 18_047);
        assert_eq!(h.cumulative_usec(), vec![(33, 1)]);
    }
}
