//! The keyspace event log: what changed, in the order it changed, kept only
//! while someone listens (`notify-keyspace-events`). Commands and the
//! databases append to it; the server drains it and publishes the events
//! (see `crate::notify`). Nothing here knows about Pub/Sub.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::dict::Key;

/// The event classes of `notify-keyspace-events`, as Redis's `NOTIFY_*`.
pub mod class {
    /// `K`: publish on `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: publish on `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: DEL, EXPIRE, RENAME... on any type.
    pub const GENERIC: u32 = 1 << 2;
    /// `$`
    pub const STRING: u32 = 1 << 3;
    /// `l`
    pub const LIST: u32 = 1 << 4;
    /// `s`
    pub const SET: u32 = 1 << 5;
    /// `h`
    pub const HASH: u32 = 1 << 6;
    /// `z`
    pub const ZSET: u32 = 1 << 7;
    /// `x`: a key removed because its time had passed.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: a key evicted for memory (respd never evicts).
    pub const EVICTED: u32 = 1 << 9;
    /// `t`
    pub const STREAM: u32 = 1 << 10;
    /// `m`: a read command's lookup that missed (`keymiss`).
    pub const KEY_MISS: u32 = 1 << 11;
    /// `d`: module events (respd has no modules).
    pub const MODULE: u32 = 1 << 12;
    /// `n`: a key created.
    pub const NEW: u32 = 1 << 13;
    /// `A`: `g$lshzxetd` (neither `m` nor `n`).
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// One event: `name` (`set`, `lpush`, `expired`...) happened to `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub db: usize,
    pub name: &'static str,
    pub key: Key,
}

#[derive(Debug, Default)]
struct Pending {
    events: Vec<Event>,
    /// Expired keys a reader found (it could not delete them under its
    /// read lock): their `expired` event is logged already, the server
    /// deletes them after the command.
    unpurged: Vec<(usize, Key)>,
}

/// A key of one database.
type DbKey = (usize, Key);

/// The log shared by every database.
#[derive(Debug, Default)]
pub struct EventLog {
    /// The classes someone listens to; 0 when notifications are off (or
    /// neither K nor E is on), so that a write pays one atomic load.
    classes: AtomicU32,
    pending: Mutex<Pending>,
    /// While the AOF is on: keys deleted for having expired, which it logs
    /// as DEL (before the next entry it logs, so in order).
    expired_for_log: AtomicBool,
    deleted_by_expiry: Mutex<Vec<(usize, Key)>>,
    /// Expired keys readers found, for the server to delete after the
    /// command (Redis deletes an expired key at its lookup, reads too);
    /// `any_seen` spares every command the lock when there are none.
    /// In the order found (the order their DELs are propagated in), with
    /// a set to skip repeats: one MGET may find thousands.
    seen_expired: Mutex<(Vec<DbKey>, std::collections::HashSet<DbKey>)>,
    any_seen: AtomicBool,
}

impl EventLog {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Listens to `classes` from now on (0: to nothing, dropping what is
    /// pending).
    pub fn set_classes(&self, classes: u32) {
        let wanted = if classes & (class::KEYSPACE | class::KEYEVENT) == 0 {
            0
        } else {
            classes
        };
        self.classes.store(wanted, Ordering::Relaxed);
        if wanted == 0 {
            *self.pending() = Pending::default();
        }
    }

    /// The classes listened to: K and E say where to publish.
    pub fn classes(&self) -> u32 {
        self.classes.load(Ordering::Relaxed)
    }

    /// True when events of `class` are wanted.
    pub fn wants(&self, class: u32) -> bool {
        self.classes() & class != 0
    }

    /// Logs an event of `class`, if anyone listens to that class.
    pub fn record(&self, db: usize, class: u32, name: &'static str, key: &[u8]) {
        if self.wants(class) {
            self.pending().events.push(Event {
                db,
                name,
                key: key.into(),
            });
        }
    }

    /// `key` was evicted under maxmemory: an `evicted` event, and a DEL
    /// for the AOF (the path expired keys take).
    pub(super) fn evicted(&self, db: usize, key: &[u8]) {
        if self.expired_for_log.load(Ordering::Acquire) {
            self.deleted_by_expiry
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((db, key.into()));
        }
        self.record(db, class::EVICTED, "evicted", key);
    }

    /// A reader found `key` expired: log `expired` once, and remember to
    /// delete the key after the command.
    pub(super) fn expired_seen(&self, db: usize, key: &[u8]) {
        {
            let mut seen = self
                .seen_expired
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let entry: DbKey = (db, key.into());
            if seen.1.insert(entry.clone()) {
                seen.0.push(entry);
                self.any_seen.store(true, Ordering::Release);
            }
        }
        if !self.wants(class::EXPIRED) {
            return;
        }
        let mut pending = self.pending();
        if pending
            .unpurged
            .iter()
            .any(|(d, k)| *d == db && k[..] == *key)
        {
            return;
        }
        pending.unpurged.push((db, key.into()));
        pending.events.push(Event {
            db,
            name: "expired",
            key: key.into(),
        });
    }

    /// `key` was deleted for having expired: log `expired`, unless a reader
    /// did already.
    pub(super) fn expired_purged(&self, db: usize, key: &[u8]) {
        if self.expired_for_log.load(Ordering::Acquire) {
            self.deleted_by_expiry
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((db, key.into()));
        }
        if !self.wants(class::EXPIRED) {
            return;
        }
        let mut pending = self.pending();
        if let Some(at) = pending
            .unpurged
            .iter()
            .position(|(d, k)| *d == db && k[..] == *key)
        {
            pending.unpurged.swap_remove(at);
            return;
        }
        pending.events.push(Event {
            db,
            name: "expired",
            key: key.into(),
        });
    }

    /// Starts (or stops, forgetting what is queued) keeping the keys
    /// deleted by expiry for the AOF.
    pub fn keep_expired_for_log(&self, on: bool) {
        self.expired_for_log.store(on, Ordering::Release);
        if !on {
            self.take_deleted_by_expiry();
        }
    }

    /// The keys deleted by expiry since the last call, in order.
    pub fn take_deleted_by_expiry(&self) -> Vec<(usize, Key)> {
        std::mem::take(
            &mut *self
                .deleted_by_expiry
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Takes the expired keys readers found since the last call, for the
    /// server to delete. One atomic load when there are none.
    pub fn take_seen_expired(&self) -> Vec<(usize, Key)> {
        if !self.any_seen.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        let mut seen = self
            .seen_expired
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        seen.1 = Default::default();
        std::mem::take(&mut seen.0)
    }

    /// Forgets an expired key readers found (deleted or set again since).
    pub fn forget_unpurged(&self, db: usize, key: &[u8]) {
        self.pending()
            .unpurged
            .retain(|(d, k)| !(*d == db && k[..] == *key));
    }

    /// Takes the events logged so far, oldest first.
    pub fn take(&self) -> Vec<Event> {
        if self.classes() == 0 {
            return Vec::new();
        }
        std::mem::take(&mut self.pending().events)
    }
}

#[cfg(test)]
mod tests {
    use super::EventLog;

    #[test]
    fn expired_keys_seen_are_taken_once_each() {
        let log = EventLog::default();
        assert!(log.take_seen_expired().is_empty());
        // Many keys, each seen twice, in two databases: one entry per key.
        for _ in 0..2 {
            for i in 0..10_000 {
                log.expired_seen(i % 2, format!("k{i}").as_bytes());
            }
        }
        let seen = log.take_seen_expired();
        assert_eq!(seen.len(), 10_000);
        // In the order found.
        assert!(seen
            .iter()
            .enumerate()
            .all(|(i, (_, key))| key[..] == *format!("k{i}").as_bytes()));
        // Each key kept its database (odd numbers in 1).
        let odd = |key: &[u8]| key.last().is_some_and(|digit| digit % 2 == 1);
        assert!(seen.iter().all(|(db, key)| *db == usize::from(odd(key))));
        assert!(log.take_seen_expired().is_empty());
    }
}
