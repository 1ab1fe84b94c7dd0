//! One clock and one source of chance per server, so a test can move one
//! server's time (or fix its random picks) without touching another's in
//! the same process.
//!
//! Code reads time through [`crate::util::now_ms`] and draws randomness
//! through [`crate::util::Rng::new`], as it always did; those two ask the
//! server the calling thread works for. A thread says which server that is
//! with [`enter`] (every connection, the active-expiry thread); a thread
//! that never entered one reads the real clock and unseeded chance.

use std::cell::RefCell;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

const REAL: u8 = 0;
const SHIFTED: u8 = 1;
/// Stopped: `offset_ms` holds the time itself.
const FROZEN: u8 = 2;

/// A server's clock: the real one, the real one shifted by an offset
/// (DEBUG CLOCK ADVANCE / SET), or a stopped one that moves only when told
/// (DEBUG CLOCK FREEZE). Two atomics, no lock: every command reads it.
#[derive(Debug, Default)]
pub struct Clock {
    mode: AtomicU8,
    offset_ms: AtomicI64,
}

/// Milliseconds since the Unix epoch by the machine's clock.
#[inline]
pub fn real_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Clock {
    /// The real clock.
    pub fn new() -> Self {
        Clock::default()
    }

    /// The server's time, ms since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        match self.mode.load(Ordering::Acquire) {
            REAL => real_ms(),
            FROZEN => self.offset_ms.load(Ordering::Acquire).max(0) as u64,
            _ => real_ms().saturating_add_signed(self.offset_ms.load(Ordering::Acquire)),
        }
    }

    /// Moves the server's time forward (or back, with a negative `ms`).
    pub fn advance(&self, ms: i64) {
        if self.mode.load(Ordering::Acquire) == FROZEN {
            self.offset_ms.fetch_add(ms, Ordering::AcqRel);
            return;
        }
        let base = self.offset();
        self.offset_ms
            .store(base.saturating_add(ms), Ordering::Release);
        self.mode.store(SHIFTED, Ordering::Release);
    }

    /// Stops the clock where it is: from now on it moves only by
    /// [`Clock::advance`] (exact TTLs in assertions).
    pub fn freeze(&self) {
        let now = self.now_ms();
        self.offset_ms
            .store(i64::try_from(now).unwrap_or(i64::MAX), Ordering::Release);
        self.mode.store(FROZEN, Ordering::Release);
    }

    /// Sets the server's time to `unix_ms`; it runs on from there (or
    /// stays there, when frozen).
    pub fn set(&self, unix_ms: u64) {
        if self.mode.load(Ordering::Acquire) == FROZEN {
            self.offset_ms.store(
                i64::try_from(unix_ms).unwrap_or(i64::MAX),
                Ordering::Release,
            );
            return;
        }
        let offset =
            (unix_ms as i128 - real_ms() as i128).clamp(i64::MIN as i128, i64::MAX as i128);
        self.offset_ms.store(offset as i64, Ordering::Release);
        self.mode.store(SHIFTED, Ordering::Release);
    }

    /// Back to the machine's clock.
    pub fn real(&self) {
        self.mode.store(REAL, Ordering::Release);
        self.offset_ms.store(0, Ordering::Release);
    }

    /// True while the clock is moved away from real time.
    pub fn is_shifted(&self) -> bool {
        self.mode.load(Ordering::Acquire) != REAL
    }

    /// How far the server's time is from the real time, in ms.
    fn offset(&self) -> i64 {
        match self.mode.load(Ordering::Acquire) {
            REAL => 0,
            FROZEN => self
                .offset_ms
                .load(Ordering::Acquire)
                .saturating_sub(real_ms() as i64),
            _ => self.offset_ms.load(Ordering::Acquire),
        }
    }
}

/// A server's source of chance: unseeded (each generator seeded afresh
/// from std's random keys) until DEBUG SEED, then a fixed sequence of
/// generator seeds, so the same seed and the same commands give the same
/// random replies.
#[derive(Debug, Default)]
pub struct Chance {
    /// 0 while unseeded; otherwise the state the next generator's seed is
    /// derived from.
    state: AtomicU64,
}

impl Chance {
    /// Unseeded.
    pub fn new() -> Self {
        Chance::default()
    }

    /// Fixes the sequence (DEBUG SEED n).
    pub fn seed(&self, seed: u64) {
        // Never 0: 0 means unseeded.
        self.state
            .store(splitmix(seed) | 1 << 63 | 1, Ordering::Release);
    }

    /// Back to unseeded.
    pub fn unseed(&self) {
        self.state.store(0, Ordering::Release);
    }

    /// The seed for the next generator, when seeded.
    pub fn next_seed(&self) -> Option<u64> {
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            if current == 0 {
                return None;
            }
            let next = splitmix(current) | 1;
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(next),
                Err(seen) => current = seen,
            }
        }
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a thread working for one server reads time and chance from.
#[derive(Debug, Clone)]
pub struct Ambient {
    pub clock: Arc<Clock>,
    pub chance: Arc<Chance>,
}

thread_local! {
    static CURRENT: RefCell<Option<Ambient>> = const { RefCell::new(None) };
}

/// From now until the guard drops, this thread reads `ambient`'s clock and
/// chance.
pub fn enter(ambient: &Ambient) -> Entered {
    let previous = CURRENT.with(|c| c.replace(Some(ambient.clone())));
    Entered(previous)
}

/// Restores the thread's previous server when dropped.
pub struct Entered(Option<Ambient>);

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// The time by this thread's server's clock (real time outside a server).
pub fn current_ms() -> u64 {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(|a| a.clock.now_ms()))
        .ok()
        .flatten()
        .unwrap_or_else(real_ms)
}

/// Microseconds since the epoch by this thread's server's clock (TIME).
pub fn current_us() -> u64 {
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    let offset_ms = CURRENT
        .try_with(|c| c.borrow().as_ref().map(|a| a.clock.offset()))
        .ok()
        .flatten()
        .unwrap_or(0);
    real.saturating_add_signed(offset_ms.saturating_mul(1000))
}

/// The next generator seed from this thread's server, when it is seeded.
pub fn current_seed() -> Option<u64> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().and_then(|a| a.chance.next_seed()))
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_and_real() {
        let clock = Clock::new();
        let before = clock.now_ms();
        clock.advance(3_600_000);
        assert!(clock.now_ms() >= before + 3_600_000);
        clock.real();
        assert!(clock.now_ms() < before + 3_600_000);
        clock.set(1_000);
        assert!(clock.now_ms() < 100_000);
        clock.freeze();
        clock.set(5_000);
        clock.advance(1);
        assert_eq!(clock.now_ms(), 5_001);
    }

    #[test]
    fn same_seed_same_sequence() {
        let (a, b) = (Chance::new(), Chance::new());
        assert_eq!(a.next_seed(), None);
        a.seed(7);
        b.seed(7);
        for _ in 0..5 {
            assert_eq!(a.next_seed(), b.next_seed());
        }
    }
}
