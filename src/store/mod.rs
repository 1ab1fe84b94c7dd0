//! The data: databases of keys, values and expiry times. Nothing here knows
//! about sockets or RESP; commands reach it through [`Store`].

pub mod access;
mod bytes;
pub mod changed;
mod db;
mod dict;
pub mod events;
pub mod evict;
pub mod geohash;
mod glob;
mod hash;
pub mod hyperloglog;
mod long_double;
pub mod memory;
mod ranked_tree;
mod set;
mod stream;
mod value;
mod zset;

pub use bytes::Bytes;
pub use db::{Db, Entry};
pub use dict::{Dict, Key};
pub use events::{class, Event, EventLog};
pub use glob::glob_match;
pub use hash::{CompactLimits as HashLimits, Hash};
pub use long_double::{incr_by_float, IncrFloatError};
pub use set::Set;
pub use stream::{
    Consumer, Fields, Group, Nack, NodeImage, NodeLimitSettings, NodeLimits, Stream, StreamId, Trim,
};
pub use value::Value;
pub use zset::{LexBound, ScoreBound, ZSet};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Stream keys deleted or overwritten by another type since they were last
/// taken: XREADGROUP clients blocked on them must be told (Redis signals a
/// deleted stream as "ready"). Streams rarely go, so recording costs
/// nothing in the common case, and taking is one atomic load.
#[derive(Debug, Default)]
pub struct GoneStreams {
    any: AtomicBool,
    keys: Mutex<Vec<(usize, Key)>>,
}

impl GoneStreams {
    fn record(&self, db: usize, key: &[u8]) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.push((db, key.into()));
        self.any.store(true, Ordering::Release);
    }

    /// The keys recorded so far, forgetting them. A plain load when there
    /// are none (every command asks).
    #[inline]
    pub fn take(&self) -> Vec<(usize, Key)> {
        if !self.any.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        self.any.store(false, Ordering::Release);
        std::mem::take(&mut *keys)
    }
}

/// Every database, each behind its own lock. A command takes the lock of
/// the database it works on once; a panic while holding it does not make
/// the data unreachable (poisoning is ignored: the data is still there).
#[derive(Debug)]
pub struct Store {
    dbs: Vec<RwLock<Db>>,
    /// Keyspace events of every database, in the order they happened.
    events: Arc<EventLog>,
    /// Streams of every database that went away.
    gone_streams: Arc<GoneStreams>,
    /// What the keys' access clocks hold (LRU or LFU).
    access: Arc<access::AccessPolicy>,
    /// maxmemory and eviction.
    pub governor: evict::Governor,
}

impl Store {
    /// `count` empty databases.
    pub fn new(count: usize) -> Self {
        let events = Arc::new(EventLog::default());
        let gone_streams = Arc::new(GoneStreams::default());
        let access = Arc::new(access::AccessPolicy::default());
        Store {
            dbs: (0..count.max(1))
                .map(|index| {
                    let mut db = Db::new(index, events.clone(), access.clone());
                    db.gone_streams = gone_streams.clone();
                    RwLock::new(db)
                })
                .collect(),
            events,
            gone_streams,
            access,
            governor: evict::Governor::default(),
        }
    }

    /// Stream keys deleted or overwritten since the last call (see
    /// [`GoneStreams`]).
    #[inline]
    pub fn take_gone_streams(&self) -> Vec<(usize, Key)> {
        self.gone_streams.take()
    }

    /// The access clocks' policy (LRU or LFU), set from the configuration.
    pub fn access(&self) -> &access::AccessPolicy {
        &self.access
    }

    /// The same policy, to share with databases being loaded.
    pub fn access_handle(&self) -> Arc<access::AccessPolicy> {
        self.access.clone()
    }

    /// The keyspace event log.
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// How many databases there are.
    pub fn len(&self) -> usize {
        self.dbs.len()
    }

    /// True never: a store has at least one database.
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }

    /// Shared access to database `index`.
    #[inline]
    pub fn read(&self, index: usize) -> RwLockReadGuard<'_, Db> {
        self.dbs[index]
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Exclusive access to database `index`.
    pub fn write(&self, index: usize) -> RwLockWriteGuard<'_, Db> {
        let mut db = self.dbs[index]
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // The last writer's in-place changes are measured now (see
        // `Db::settle`): the count is exact whenever someone looks.
        db.settle();
        db
    }

    /// Bytes all databases' data cost (see `store::memory`). Each is
    /// locked to write for a moment, which measures what the last command
    /// changed in place.
    pub fn used_memory(&self) -> usize {
        (0..self.dbs.len())
            .map(|i| self.write(i).used_memory())
            .sum()
    }

    /// Exclusive access to two different databases, locked in index order
    /// so that two clients doing the opposite never deadlock.
    pub fn write_pair(
        &self,
        a: usize,
        b: usize,
    ) -> (RwLockWriteGuard<'_, Db>, RwLockWriteGuard<'_, Db>) {
        if a < b {
            let first = self.write(a);
            (first, self.write(b))
        } else {
            let second = self.write(b);
            (self.write(a), second)
        }
    }

    /// Exclusive access to every database, in index order (FLUSHALL, SWAPDB).
    pub fn write_all(&self) -> Vec<RwLockWriteGuard<'_, Db>> {
        (0..self.dbs.len()).map(|i| self.write(i)).collect()
    }
}
