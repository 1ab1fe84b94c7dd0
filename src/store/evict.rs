//! Eviction under `maxmemory`, as Redis's `evict.c` does it: each round
//! samples `maxmemory-samples` keys of every database into a pool of the
//! 16 best candidates seen so far (the idlest for LRU, the least used for
//! LFU, the nearest expiry for volatile-ttl), then deletes the best one
//! still present; the random policies delete a random key. Evicted keys
//! log an `evicted` event and reach the AOF as DEL, as expired keys do.
//!
//! `maxmemory-eviction-tenacity` bounds the time one command spends
//! evicting (Redis's `evictionTimeLimitUs`), looked at every 16 keys. A
//! command that runs out of time goes ahead (it is not refused), and the
//! next command carries on evicting; Redis also carries on in a timer
//! between commands.

use super::access::{idle_ms, AccessPolicy};
use super::{Key, Store};
use crate::util::Rng;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The candidates kept between rounds (Redis's `EVPOOL_SIZE`).
pub const POOL_SIZE: usize = 16;

/// `maxmemory-policy`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    NoEviction,
    AllKeysLru,
    VolatileLru,
    AllKeysLfu,
    VolatileLfu,
    AllKeysRandom,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    /// The policy named `name` (one of `access::POLICIES`); noeviction
    /// for anything else.
    pub fn parse(name: &str) -> Policy {
        match name {
            "allkeys-lru" => Policy::AllKeysLru,
            "volatile-lru" => Policy::VolatileLru,
            "allkeys-lfu" => Policy::AllKeysLfu,
            "volatile-lfu" => Policy::VolatileLfu,
            "allkeys-random" => Policy::AllKeysRandom,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }

    /// True when only keys with a time to live may go.
    pub fn volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    fn random(self) -> bool {
        matches!(self, Policy::AllKeysRandom | Policy::VolatileRandom)
    }
}

/// One pool entry: the higher `score`, the better a victim.
#[derive(Debug, Clone)]
struct Candidate {
    score: u64,
    db: usize,
    key: Key,
}

/// The best candidates seen, in ascending score (Redis's eviction pool).
#[derive(Debug, Default)]
pub struct Pool {
    entries: Vec<Candidate>,
}

impl Pool {
    fn offer(&mut self, score: u64, db: usize, key: &Key) {
        let full = self.entries.len() >= POOL_SIZE;
        if full
            && self
                .entries
                .first()
                .is_some_and(|worst| score <= worst.score)
        {
            return;
        }
        if self.entries.iter().any(|c| c.db == db && c.key == *key) {
            return;
        }
        let at = self.entries.partition_point(|c| c.score < score);
        self.entries.insert(
            at,
            Candidate {
                score,
                db,
                key: key.clone(),
            },
        );
        if self.entries.len() > POOL_SIZE {
            self.entries.remove(0);
        }
    }
}

/// How a round of eviction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Memory is (now) under the limit; this many keys went.
    Under(u64),
    /// Still over the limit, and nothing more may go.
    Failed(u64),
    /// Still over the limit when the time for this command ran out: the
    /// command goes ahead, the next one evicts more (Redis's
    /// `EVICT_RUNNING`).
    Running(u64),
}

/// How many keys go between looks at the clock (as in Redis).
const KEYS_PER_CLOCK_CHECK: u64 = 16;

/// The time one command may spend evicting at `tenacity` (0..=100), None
/// for no limit (Redis's `evictionTimeLimitUs`): 50 µs a step up to 10,
/// then 15% more a step, about two minutes at 99.
pub fn time_limit(tenacity: u32) -> Option<Duration> {
    match tenacity {
        0..=10 => Some(Duration::from_micros(50 * u64::from(tenacity))),
        11..=99 => {
            let micros = 500.0 * 1.15f64.powi(tenacity as i32 - 10);
            Some(Duration::from_micros(micros as u64))
        }
        _ => None,
    }
}

/// What [`perform`] needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub maxmemory: usize,
    pub policy: Policy,
    pub samples: usize,
    /// The most time one call may spend ([`time_limit`]).
    pub time_limit: Option<Duration>,
}

/// Deletes keys until the data plus `overhead` bytes fit in
/// `limits.maxmemory` (Redis's `performEvictions`).
pub fn perform(store: &Store, limits: Limits, overhead: usize, pool: &mut Pool) -> Outcome {
    let mut used = store.used_memory() + overhead;
    let mut evicted = 0;
    if used <= limits.maxmemory {
        return Outcome::Under(0);
    }
    if limits.policy == Policy::NoEviction {
        return Outcome::Failed(0);
    }
    let mut rng = Rng::new();
    let now = crate::util::now_ms();
    let started = Instant::now();
    while used > limits.maxmemory {
        let Some((db_index, key)) = pick(store, limits, pool, &mut rng, now) else {
            return Outcome::Failed(evicted);
        };
        let mut db = store.write(db_index);
        let before = db.used_memory();
        if db.evict(&key) {
            evicted += 1;
            // The change as measured, either way: a table that shrinks
            // regroups its buckets, which need not cost less.
            used = (used + db.used_memory()).saturating_sub(before);
            let out_of_time = limits
                .time_limit
                .is_some_and(|limit| started.elapsed() >= limit);
            if evicted % KEYS_PER_CLOCK_CHECK == 0 && out_of_time && used > limits.maxmemory {
                return Outcome::Running(evicted);
            }
        }
    }
    Outcome::Under(evicted)
}

/// The next victim, or None when no key may go.
fn pick(
    store: &Store,
    limits: Limits,
    pool: &mut Pool,
    rng: &mut Rng,
    now: u64,
) -> Option<(usize, Key)> {
    let volatile = limits.policy.volatile();
    if limits.policy.random() {
        // Every database in turn from a random one, a random key of each.
        let count = store.len();
        let start = rng.below(count);
        for step in 0..count {
            let index = (start + step) % count;
            let db = store.read(index);
            if let Some(key) = db
                .sample_keys(volatile, 1, rng.next_u64())
                .into_iter()
                .next()
            {
                return Some((index, key));
            }
        }
        return None;
    }
    let access = store.access_handle();
    // A couple of rounds: a pool of stale names refills from fresh samples.
    for _ in 0..2 {
        let mut any = false;
        for index in 0..store.len() {
            let db = store.read(index);
            let sampled = db.sample_keys(volatile, limits.samples, rng.next_u64());
            any |= !sampled.is_empty();
            for key in sampled {
                if let Some(score) = score(&db, &access, limits.policy, &key, now) {
                    pool.offer(score, index, &key);
                }
            }
        }
        if !any {
            return None;
        }
        while let Some(best) = pool.entries.pop() {
            let db = store.read(best.db);
            let present = if volatile {
                db.expire_at(&best.key).is_some()
            } else {
                db.keys().contains_key(&best.key[..])
            };
            if present {
                return Some((best.db, best.key));
            }
        }
    }
    None
}

/// How good a victim `key` is under `policy`: higher goes first.
fn score(
    db: &super::Db,
    access: &AccessPolicy,
    policy: Policy,
    key: &Key,
    now: u64,
) -> Option<u64> {
    let entry = db.keys().get(&key[..])?;
    Some(match policy {
        Policy::AllKeysLfu | Policy::VolatileLfu => {
            255 - u64::from(access.frequency(entry.clock.get(), now))
        }
        Policy::VolatileTtl => u64::MAX - db.expire_at(&key[..]).unwrap_or(u64::MAX),
        _ => idle_ms(entry.clock.get(), now),
    })
}

/// The live `maxmemory` settings and the eviction pool, shared by every
/// connection (set from the configuration at startup and CONFIG SET).
#[derive(Debug, Default)]
pub struct Governor {
    maxmemory: AtomicUsize,
    policy: std::sync::Mutex<Option<Policy>>,
    samples: AtomicUsize,
    /// `maxmemory-eviction-tenacity`.
    tenacity: AtomicU32,
    /// The pool and the spell over the limit, whose lock also keeps
    /// evictions one at a time.
    evicting: Mutex<Evicting>,
    /// The most memory used seen (INFO's `used_memory_peak`).
    peak: AtomicUsize,
}

/// What evictions share from one to the next.
#[derive(Debug, Default)]
struct Evicting {
    pool: Pool,
    /// Since when eviction has not got memory under the limit.
    over_since: Option<Instant>,
    /// The time all earlier such spells took (INFO's
    /// `total_eviction_exceeded_time`, with the current one).
    over_before: Duration,
}

impl Evicting {
    /// Ends the spell over the limit, if one is under way.
    fn end_spell(&mut self) {
        if let Some(since) = self.over_since.take() {
            self.over_before += since.elapsed();
        }
    }
}

impl Governor {
    /// Takes `maxmemory`, the policy's name, `maxmemory-samples` and
    /// `maxmemory-eviction-tenacity`.
    pub fn configure(&self, maxmemory: usize, policy: &str, samples: usize, tenacity: u32) {
        self.maxmemory.store(maxmemory, Ordering::Relaxed);
        self.samples.store(samples.max(1), Ordering::Relaxed);
        self.tenacity.store(tenacity, Ordering::Relaxed);
        *self.policy.lock().unwrap_or_else(PoisonError::into_inner) = Some(Policy::parse(policy));
        if maxmemory == 0 {
            // No limit: a spell over it is over.
            self.evicting().end_spell();
        }
    }

    /// `maxmemory` in bytes (0: no limit).
    pub fn maxmemory(&self) -> usize {
        self.maxmemory.load(Ordering::Relaxed)
    }

    /// Remembers `used` if it is the most yet; returns the peak.
    pub fn note_used(&self, used: usize) -> usize {
        self.peak.fetch_max(used, Ordering::Relaxed).max(used)
    }

    /// Evicts as the settings say until memory (data plus `overhead`) is
    /// under `maxmemory`. Free when there is no limit.
    pub fn enforce(&self, store: &Store, overhead: usize) -> Outcome {
        let maxmemory = self.maxmemory();
        if maxmemory == 0 {
            return Outcome::Under(0);
        }
        let policy = self
            .policy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .unwrap_or(Policy::NoEviction);
        let limits = Limits {
            maxmemory,
            policy,
            samples: self.samples.load(Ordering::Relaxed),
            time_limit: time_limit(self.tenacity.load(Ordering::Relaxed)),
        };
        let mut evicting = self.evicting();
        let outcome = perform(store, limits, overhead, &mut evicting.pool);
        match outcome {
            Outcome::Under(_) => evicting.end_spell(),
            Outcome::Running(_) | Outcome::Failed(_) => {
                evicting.over_since.get_or_insert_with(Instant::now);
            }
        }
        outcome
    }

    /// INFO's `total_eviction_exceeded_time` and
    /// `current_eviction_exceeded_time`.
    pub fn exceeded_times(&self) -> (Duration, Duration) {
        let evicting = self.evicting();
        let current = evicting
            .over_since
            .map_or(Duration::ZERO, |since| since.elapsed());
        (evicting.over_before + current, current)
    }

    /// CONFIG RESETSTAT: a spell still under way counts from now.
    pub fn reset_exceeded(&self) {
        let mut evicting = self.evicting();
        evicting.over_before = Duration::ZERO;
        if evicting.over_since.is_some() {
            evicting.over_since = Some(Instant::now());
        }
    }

    fn evicting(&self) -> std::sync::MutexGuard<'_, Evicting> {
        self.evicting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::time_limit;
    use std::time::Duration;

    #[test]
    fn tenacity_gives_redis_time_limits() {
        assert_eq!(time_limit(0), Some(Duration::ZERO));
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(time_limit(11), Some(Duration::from_micros(575)));
        assert!(time_limit(99) > Some(Duration::from_secs(100)));
        assert_eq!(time_limit(100), None);
    }
}
