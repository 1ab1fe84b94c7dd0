//! Each key's access clock: when it was last used (LRU) or how often (LFU),
//! packed into one `u32` next to the value, as Redis packs it into the 24
//! `lru` bits of its objects. OBJECT IDLETIME and OBJECT FREQ read it;
//! eviction (maxmemory) will pick its victims by it.
//!
//! Which of the two the clock holds follows `maxmemory-policy`:
//! * LRU (every policy but the `*-lfu` ones): the time of the last access,
//!   in seconds, modulo 2^24;
//! * LFU: the minute of the last decrement in the high 16 bits, and a
//!   logarithmic access counter in the low 8 bits. A new key starts at 5;
//!   an access first lets the counter decay by one per `lfu-decay-time`
//!   minutes since, then raises it with probability
//!   `1 / ((counter - 5) * lfu-log-factor + 1)`.
//!
//! Lookups touch the clock (Redis's `lookupKey`), except those Redis makes
//! with `LOOKUP_NOTOUCH`: OBJECT, TYPE, EXISTS, TTL and its kin (see
//! [`super::Db::peek`]). Switching policy at run time does not convert
//! the clocks: they take a while to mean the new thing, as in Redis.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// The LRU clock's bits: 24, so it wraps after 194 days.
const LRU_MAX: u32 = (1 << 24) - 1;
/// A new key's LFU counter (Redis's `LFU_INIT_VAL`): a key gets a few
/// accesses' head start so it is not evicted before it is used.
pub const LFU_INIT: u8 = 5;

/// The maxmemory policies Redis 7.0 accepts (CONFIG SET checks against
/// these names).
pub const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// True for the policies that count frequencies (`*-lfu`).
pub fn is_lfu_policy(policy: &str) -> bool {
    policy.ends_with("-lfu")
}

/// The server-wide settings the clocks follow, shared by every database and
/// set from the configuration.
#[derive(Debug)]
pub struct AccessPolicy {
    lfu: AtomicBool,
    /// An LRU policy: RDB files then carry each key's idle time.
    lru: AtomicBool,
    log_factor: AtomicU32,
    /// Minutes per decrement of an idle key's counter (0: never decays).
    decay_minutes: AtomicU32,
    /// The most entries of a compact hash, set of integers and sorted set
    /// (`hash-max-listpack-entries`, `set-max-intset-entries`,
    /// `zset-max-listpack-entries`), for the [`flags::OUTGREW_COMPACT`]
    /// flag.
    compact_limits: [AtomicU32; 3],
    /// The LFU counters' source of chance: a Weyl sequence run through
    /// splitmix, one step per draw. One per server (not per thread), so
    /// DEBUG SEED makes LFU counters repeat like every other random reply.
    lfu_chance: AtomicU64,
}

/// Which of [`AccessPolicy`]'s compact limits.
#[derive(Debug, Clone, Copy)]
pub enum Compact {
    Hash = 0,
    Set = 1,
    ZSet = 2,
}

impl Default for AccessPolicy {
    /// Redis's defaults: `noeviction` (LRU clocks), factor 10, 1 minute.
    fn default() -> Self {
        AccessPolicy {
            lfu: AtomicBool::new(false),
            lru: AtomicBool::new(false),
            log_factor: AtomicU32::new(10),
            decay_minutes: AtomicU32::new(1),
            compact_limits: [
                AtomicU32::new(512),
                AtomicU32::new(512),
                AtomicU32::new(128),
            ],
            lfu_chance: AtomicU64::new(crate::util::Rng::new().next_u64()),
        }
    }
}

impl AccessPolicy {
    /// Follows `maxmemory-policy`, `lfu-log-factor` and `lfu-decay-time`.
    pub fn configure(&self, policy: &str, log_factor: u32, decay_minutes: u32) {
        self.lfu.store(is_lfu_policy(policy), Ordering::Relaxed);
        self.lru.store(policy.ends_with("-lru"), Ordering::Relaxed);
        self.log_factor.store(log_factor, Ordering::Relaxed);
        self.decay_minutes.store(decay_minutes, Ordering::Relaxed);
    }

    /// Follows the compact encodings' entry limits (hash, set, zset).
    pub fn configure_compact(&self, limits: [u32; 3]) {
        for (slot, limit) in self.compact_limits.iter().zip(limits) {
            slot.store(limit, Ordering::Relaxed);
        }
    }

    /// Marks `clock` when a collection of `kind` with `len` entries is
    /// beyond its compact limit. Called at every lookup, so the flag is set
    /// before any later command can shrink the collection again.
    pub fn note_size(&self, clock: &AccessClock, kind: Compact, len: usize) {
        let limit = self.compact_limits[kind as usize].load(Ordering::Relaxed);
        if len > limit as usize && !clock.has(flags::OUTGREW_COMPACT) {
            clock.mark(flags::OUTGREW_COMPACT);
        }
    }

    /// True while an LRU policy (`*-lru`) is selected.
    pub fn is_lru(&self) -> bool {
        self.lru.load(Ordering::Relaxed)
    }

    /// The clock a value gets from a saved idle time or counter (RESTORE's
    /// IDLETIME and FREQ, an RDB file's): the one the policy uses, or None
    /// (Redis's `objectSetLRUOrLFU`).
    pub fn restored(&self, idle: Option<u64>, frequency: Option<u8>, now_ms: u64) -> Option<u32> {
        match (self.is_lfu(), frequency, idle) {
            (true, Some(counter), _) => Some(lfu_with(counter, now_ms)),
            (false, _, Some(seconds)) => Some(lru_idle_for(seconds, now_ms)),
            _ => None,
        }
    }

    /// True while an LFU policy is selected.
    pub fn is_lfu(&self) -> bool {
        self.lfu.load(Ordering::Relaxed)
    }

    /// The clock of a value created now (Redis's `createObject`).
    pub fn fresh(&self, now_ms: u64) -> u32 {
        if self.is_lfu() {
            (lfu_minutes(now_ms) << 8) | u32::from(LFU_INIT)
        } else {
            lru_clock(now_ms)
        }
    }

    /// The clock after an access at `now_ms` (Redis's `lookupKey`).
    #[inline]
    pub fn touched(&self, clock: u32, now_ms: u64) -> u32 {
        if !self.is_lfu() {
            return lru_clock(now_ms);
        }
        let counter = self.frequency(clock, now_ms);
        let counter = log_increment(
            counter,
            self.log_factor.load(Ordering::Relaxed),
            self.random_unit(),
        );
        (lfu_minutes(now_ms) << 8) | u32::from(counter)
    }

    /// Records an access in a key's clock. Readers share the database
    /// lock, so the clock is atomic; a lost race loses one access, which
    /// an approximation can afford.
    #[inline]
    pub fn touch(&self, clock: &AccessClock, now_ms: u64) {
        let before = clock.0.load(Ordering::Relaxed);
        let after = self.touched(before & CLOCK_BITS, now_ms) | (before & !CLOCK_BITS);
        clock.0.store(after, Ordering::Relaxed);
    }

    /// Fixes the LFU counters' sequence of chances (DEBUG SEED).
    pub fn seed(&self, seed: u64) {
        self.lfu_chance.store(seed, Ordering::Relaxed);
    }

    /// A random number in [0, 1): one atomic add, no lock.
    fn random_unit(&self) -> f64 {
        const WEYL_STEP: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut z = self
            .lfu_chance
            .fetch_add(WEYL_STEP, Ordering::Relaxed)
            .wrapping_add(WEYL_STEP);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / 2f64.powi(64)
    }

    /// An LFU clock's counter once decayed to `now_ms` (Redis's
    /// `LFUDecrAndReturn`): OBJECT FREQ's answer.
    pub fn frequency(&self, clock: u32, now_ms: u64) -> u8 {
        let counter = (clock & 0xff) as u8;
        let decay = self.decay_minutes.load(Ordering::Relaxed);
        if decay == 0 {
            return counter;
        }
        let last = clock >> 8;
        let now = lfu_minutes(now_ms);
        // The 16-bit minute clock wraps; Redis counts across the wrap so.
        let elapsed = if now >= last {
            now - last
        } else {
            65535 - last + now
        };
        let periods = elapsed / decay;
        counter.saturating_sub(u8::try_from(periods).unwrap_or(u8::MAX))
    }
}

/// The clock's 24 bits in its `u32`; the 8 above are [`flags`].
const CLOCK_BITS: u32 = LRU_MAX;

/// What the 8 bits above the clock remember about the value.
pub mod flags {
    /// A string changed in place (APPEND, SETRANGE, SETBIT...): Redis
    /// keeps it `raw` whatever its length.
    pub const RAW_STRING: u32 = 1 << 24;
    /// A hash, set or sorted set that once had more entries than its
    /// compact encoding allows: Redis converted it for good.
    pub const OUTGREW_COMPACT: u32 = 1 << 25;
}

/// The access clock stored with each key, and a few flags.
#[derive(Debug, Default)]
pub struct AccessClock(AtomicU32);

impl AccessClock {
    /// A clock holding `value` (from [`AccessPolicy::fresh`]), no flags.
    pub const fn new(value: u32) -> Self {
        AccessClock(AtomicU32::new(value & CLOCK_BITS))
    }

    /// The whole word, clock and flags (to carry them to another key).
    pub fn raw(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Replaces the whole word, clock and flags.
    pub fn set_raw(&self, word: u32) {
        self.0.store(word, Ordering::Relaxed);
    }

    /// The clock's packed value (without the flags).
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed) & CLOCK_BITS
    }

    /// Replaces the clock's value, keeping the flags (RESTORE's IDLETIME
    /// and FREQ).
    pub fn set(&self, value: u32) {
        let flags = self.0.load(Ordering::Relaxed) & !CLOCK_BITS;
        self.0
            .store((value & CLOCK_BITS) | flags, Ordering::Relaxed);
    }

    /// Every flag set (of [`flags`]).
    pub fn flags(&self) -> u32 {
        self.0.load(Ordering::Relaxed) & !CLOCK_BITS
    }

    /// True when `flag` (of [`flags`]) is set.
    pub fn has(&self, flag: u32) -> bool {
        self.0.load(Ordering::Relaxed) & flag != 0
    }

    /// Sets `flag` (of [`flags`]).
    pub fn mark(&self, flag: u32) {
        self.0.fetch_or(flag, Ordering::Relaxed);
    }
}

impl Clone for AccessClock {
    fn clone(&self) -> Self {
        AccessClock::new(self.get())
    }
}

/// The LRU clock at `now_ms`: seconds modulo 2^24.
pub fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / 1000) & u64::from(LRU_MAX)) as u32
}

/// Milliseconds since an LRU clock's last access (Redis's
/// `estimateObjectIdleTime`), counting across the clock's wrap.
pub fn idle_ms(clock: u32, now_ms: u64) -> u64 {
    let now = lru_clock(now_ms);
    let seconds = if now >= clock {
        now - clock
    } else {
        now + (LRU_MAX - clock)
    };
    u64::from(seconds) * 1000
}

/// The LRU clock of a key idle for `seconds` (RESTORE ... IDLETIME).
/// Before the clock's zero it wraps as Redis's `objectSetLRUOrLFU` wraps
/// it: by `LRU_MAX`, and into 24 bits.
pub fn lru_idle_for(seconds: u64, now_ms: u64) -> u32 {
    let mut clock = i64::from(lru_clock(now_ms)) - seconds.min(i64::MAX as u64 / 2) as i64;
    if clock < 0 {
        clock += i64::from(LRU_MAX);
    }
    (clock & i64::from(LRU_MAX)) as u32
}

/// The LFU clock of a key with counter `frequency` (RESTORE ... FREQ).
pub fn lfu_with(frequency: u8, now_ms: u64) -> u32 {
    (lfu_minutes(now_ms) << 8) | u32::from(frequency)
}

/// Minutes since the epoch, modulo 2^16 (the LFU clock's high bits).
fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

/// Raises an LFU counter, less likely the higher it is (Redis's
/// `LFULogIncr`).
fn log_increment(counter: u8, log_factor: u32, chance: f64) -> u8 {
    if counter == u8::MAX {
        return counter;
    }
    let base = f64::from(counter.saturating_sub(LFU_INIT));
    if chance < 1.0 / (base * f64::from(log_factor) + 1.0) {
        counter + 1
    } else {
        counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_time_counts_across_the_wrap() {
        let now = 1_000_000_000_000;
        assert_eq!(idle_ms(lru_clock(now - 5_000), now), 5_000);
        assert_eq!(idle_ms(lru_idle_for(100, now), now), 100_000);
        assert_eq!(lru_idle_for(0, now), lru_clock(now));
    }

    #[test]
    fn a_fresh_lfu_key_reaches_six_on_its_first_access() {
        let policy = AccessPolicy::default();
        policy.configure("allkeys-lfu", 10, 1);
        let now = 1_000_000_000_000;
        let clock = policy.fresh(now);
        assert_eq!(policy.frequency(clock, now), LFU_INIT);
        assert_eq!(policy.frequency(policy.touched(clock, now), now), 6);
        // Two idle minutes, one decrement each.
        assert_eq!(policy.frequency(clock, now + 120_000), 3);
    }
}
