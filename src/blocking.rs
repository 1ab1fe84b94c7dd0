//! Clients waiting for keys: BLPOP, BLMOVE, BZPOPMIN and friends.
//!
//! A command that finds nothing to pop registers a [`Waiter`] on its keys,
//! releases the store lock and parks its worker on the waiter's `Condvar`.
//! A command that makes a key ready (a push, a ZADD, a RENAME into place)
//! reports it, and after that command the server calls [`Blocking::serve`]:
//! under the database's lock it walks the waiters of each ready key in the
//! order they blocked and runs each one's `attempt`, which pops on the
//! waiter's behalf and encodes its reply. The served client only has to
//! wake up and send the bytes. So blocked clients are served first come,
//! first served, as in Redis, and none of them holds a lock while it waits.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::store::{Db, Key, Store};
use crate::util::now_ms;

/// A key in a database: what waiters wait on.
pub type DbKey = (usize, Key);

/// Tries to serve a waiter from the database: pops what it waits for and
/// returns its encoded reply, or `None` when the key holds nothing for it.
/// Keys it fills in turn (BLMOVE's destination) go into the vector.
pub type Attempt = Box<dyn FnMut(&mut Db, u64, &mut Vec<DbKey>) -> Option<Vec<u8>> + Send>;

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Still waiting.
    Waiting,
    /// Served: the reply to send.
    Served(Vec<u8>),
    /// The timeout passed, or CLIENT UNBLOCK ... TIMEOUT.
    TimedOut,
    /// CLIENT UNBLOCK ... ERROR.
    Unblocked,
    /// The client was killed, disconnected, or the server is stopping.
    Closed,
}

/// Tells whether a blocked client has hung up (its socket, probed).
pub type PeerClosed = Arc<dyn Fn() -> bool + Send + Sync>;

/// One blocked client.
pub struct Waiter {
    db: usize,
    keys: Vec<Key>,
    attempt: Mutex<Attempt>,
    outcome: Mutex<Outcome>,
    wake: Condvar,
    /// The keys serving this client changed (BLMOVE's destination...):
    /// its own worker invalidates them after its reply, as Redis does,
    /// not the thread that happened to serve it.
    changed: Mutex<Vec<Option<Vec<u8>>>>,
    /// Probed only under `outcome`'s lock while the outcome is `Waiting`:
    /// the client's worker is parked then (it does not read its socket),
    /// and two probes never overlap (a probe flips the socket to
    /// non-blocking for a moment).
    peer_closed: PeerClosed,
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter")
            .field("db", &self.db)
            .field("keys", &self.keys)
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Waiter {
    /// What serving this client changed, for its own worker to invalidate.
    pub fn take_changed(&self) -> Vec<Option<Vec<u8>>> {
        std::mem::take(&mut *lock(&self.changed))
    }

    /// A client about to wait on `keys` of database `db`; it waits once
    /// [`Blocking::register`] has queued it.
    pub fn new(db: usize, keys: Vec<Key>, attempt: Attempt, peer_closed: PeerClosed) -> Arc<Self> {
        Arc::new(Waiter {
            db,
            keys,
            attempt: Mutex::new(attempt),
            outcome: Mutex::new(Outcome::Waiting),
            wake: Condvar::new(),
            changed: Mutex::new(Vec::new()),
            peer_closed,
        })
    }

    /// True while the client waits with its connection open. A client
    /// that has hung up is let go here and now (its worker notices only
    /// at its next probe), so whoever asks sees what Redis would: a closed
    /// connection is no longer a blocked client.
    fn still_waiting(&self) -> bool {
        let mut outcome = lock(&self.outcome);
        if *outcome != Outcome::Waiting {
            return false;
        }
        if (self.peer_closed)() {
            *outcome = Outcome::Closed;
            self.wake.notify_one();
            return false;
        }
        true
    }

    /// Ends the wait from outside (CLIENT UNBLOCK, CLIENT KILL), unless it
    /// has already ended. True when this call ended it.
    pub fn finish(&self, outcome: Outcome) -> bool {
        let mut current = lock(&self.outcome);
        if *current != Outcome::Waiting {
            return false;
        }
        *current = outcome;
        self.wake.notify_one();
        true
    }

    /// Parks the calling worker until the waiter is served, the deadline
    /// passes, or something ends the wait. The peer is probed now and
    /// then, so a client that hangs up while blocked is noticed.
    fn wait(&self, deadline: Option<u64>) -> Outcome {
        const PROBE_EVERY: Duration = Duration::from_millis(100);
        let mut outcome = lock(&self.outcome);
        loop {
            if *outcome != Outcome::Waiting {
                return outcome.clone();
            }
            let mut slice = PROBE_EVERY;
            if let Some(deadline) = deadline {
                // By the server's clock, so DEBUG CLOCK ADVANCE ends the
                // wait at the next probe.
                let left = Duration::from_millis(deadline.saturating_sub(now_ms()));
                if left.is_zero() {
                    *outcome = Outcome::TimedOut;
                    continue;
                }
                slice = slice.min(left);
            }
            outcome = self
                .wake
                .wait_timeout(outcome, slice)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if *outcome == Outcome::Waiting && (self.peer_closed)() {
                *outcome = Outcome::Closed;
            }
        }
    }
}

/// Every blocked client, by the keys it waits on.
#[derive(Debug, Default)]
pub struct Blocking {
    by_key: Mutex<HashMap<DbKey, VecDeque<Arc<Waiter>>>>,
    /// How many clients are blocked (INFO's blocked_clients); also a cheap
    /// test that lets writers skip all this when nobody waits.
    blocked: AtomicUsize,
}

impl Blocking {
    /// No one waiting.
    pub fn new() -> Self {
        Blocking::default()
    }

    /// Number of blocked clients.
    pub fn blocked_count(&self) -> usize {
        self.blocked.load(Ordering::Relaxed)
    }

    /// The keys of database `db` that someone waits on (SWAPDB serves them).
    pub fn waited_keys(&self, db: usize) -> Vec<Key> {
        lock(&self.by_key)
            .keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Clients blocked right now with their connection open (INFO's
    /// `blocked_clients`). Exact when asked: a waiter already served,
    /// unblocked or timed out is not counted, and neither is one whose
    /// client has hung up, though its worker has not noticed yet.
    pub fn blocked_clients(&self) -> usize {
        if self.blocked_count() == 0 {
            return 0;
        }
        // A waiter on several keys is in several queues: counted once.
        let mut seen = HashSet::new();
        let waiters: Vec<Arc<Waiter>> = lock(&self.by_key)
            .values()
            .flatten()
            .filter(|waiter| seen.insert(Arc::as_ptr(waiter)))
            .cloned()
            .collect();
        // Probed without `by_key`, so serving is not held up.
        waiters.iter().filter(|w| w.still_waiting()).count()
    }

    /// Queues a waiter on its keys: from here on it counts as blocked and
    /// pushes serve it. The caller must still hold the database's write
    /// lock, having just found nothing, so a push that follows sees it;
    /// and must have made the waiter reachable (CLIENT UNBLOCK) before.
    pub fn register(&self, waiter: &Arc<Waiter>) {
        let mut by_key = lock(&self.by_key);
        for key in &waiter.keys {
            let queue = by_key.entry((waiter.db, key.clone())).or_default();
            if !queue.iter().any(|w| Arc::ptr_eq(w, waiter)) {
                queue.push_back(waiter.clone());
            }
        }
        self.blocked.fetch_add(1, Ordering::Relaxed);
    }

    /// Waits (see `Waiter::wait`), then removes the waiter from every
    /// queue. The outcome is final: a waiter served at the last moment
    /// reports `Served`, never a timeout.
    pub fn wait(&self, waiter: &Arc<Waiter>, deadline: Option<u64>) -> Outcome {
        let mut outcome = waiter.wait(deadline);
        let mut by_key = lock(&self.by_key);
        // Serving happens under `by_key`: look again now that we hold it.
        let served = lock(&waiter.outcome).clone();
        if let Outcome::Served(_) = served {
            outcome = served;
        }
        self.forget(&mut by_key, waiter);
        outcome
    }

    fn forget(&self, by_key: &mut HashMap<DbKey, VecDeque<Arc<Waiter>>>, waiter: &Arc<Waiter>) {
        let mut removed = false;
        for key in &waiter.keys {
            let entry = (waiter.db, key.clone());
            if let Some(queue) = by_key.get_mut(&entry) {
                let before = queue.len();
                queue.retain(|w| !Arc::ptr_eq(w, waiter));
                removed |= queue.len() != before;
                if queue.is_empty() {
                    by_key.remove(&entry);
                }
            }
        }
        if removed {
            self.blocked.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Serves the waiters of keys that may have become ready, oldest waiter
    /// first, for as long as each key has something to give. Keys that
    /// serving fills in turn (BLMOVE) are served too.
    pub fn serve(&self, store: &Store, ready: Vec<DbKey>) {
        let mut pending: VecDeque<DbKey> = ready.into();
        while let Some((db_index, key)) = pending.pop_front() {
            let mut db = store.write(db_index);
            let mut by_key = lock(&self.by_key);
            let Some(queue) = by_key.get(&(db_index, key.clone())) else {
                continue;
            };
            let candidates: Vec<Arc<Waiter>> = queue.iter().cloned().collect();
            let now = now_ms();
            // A key that is gone (a deleted stream) is reported to every
            // waiter; one that is there is served until it runs dry.
            let present = db.contains(&key, now);
            for waiter in candidates {
                // Holding the outcome from the check to the hand-over means
                // a waiter cannot time out with its element already popped.
                let mut outcome = lock(&waiter.outcome);
                if *outcome != Outcome::Waiting {
                    continue;
                }
                let mut filled = Vec::new();
                let servers_own = crate::store::changed::take();
                let reply = (lock(&waiter.attempt))(&mut db, now, &mut filled);
                let waiters_own = crate::store::changed::take();
                crate::store::changed::restore(servers_own);
                if let Some(reply) = reply {
                    *lock(&waiter.changed) = waiters_own;
                    *outcome = Outcome::Served(reply);
                    waiter.wake.notify_one();
                    drop(outcome);
                    self.forget(&mut by_key, &waiter);
                    pending.extend(filled);
                } else {
                    crate::store::changed::restore(waiters_own);
                }
                if present && !db.contains(&key, now) {
                    break;
                }
            }
        }
    }
}
