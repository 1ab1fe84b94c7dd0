//! One logical database (SELECT 0..15): the keyspace and its expiry times.

use std::collections::HashMap;
use std::sync::Arc;

use super::dict::{Dict, Key};
use super::events::{class, EventLog};
use super::value::Value;

/// Keys, their values and, for volatile keys only, their expiry times.
///
/// Expiry is lazy and active, as in Redis: a read never returns a key whose
/// time has passed, and [`Db::expire_some`] (called by a background thread)
/// samples volatile keys so memory comes back even for keys nobody reads.
#[derive(Debug, Default)]
pub struct Db {
    keys: Dict<Value>,
    /// Unix time in milliseconds at which each volatile key expires.
    expires: Dict<u64>,
    /// Where the active expiry cycle resumes its walk of `expires`.
    expire_cursor: u64,
    /// Keys removed because their time had come (INFO's `expired_keys`).
    pub expired_count: u64,
    /// Keys some client WATCHes, each with a version that every change to
    /// the key bumps. Empty unless someone watches, so writes pay one
    /// `is_empty` test for WATCH.
    watched: HashMap<Key, Watched>,
    /// Changes so far (never decreases): the save points and INFO's
    /// `rdb_changes_since_last_save` count from it. Bumped where WATCH
    /// versions are, so every write through these methods counts.
    changes: u64,
    /// This database's number, for the events it logs.
    index: usize,
    /// Where keys created and expired are logged, while someone listens.
    events: Arc<EventLog>,
}

/// A watched key's version and how many clients watch it.
#[derive(Debug, Default)]
struct Watched {
    version: u64,
    watchers: u32,
}

impl Db {
    /// An empty database, number `index`, logging its events to `events`.
    pub fn new(index: usize, events: Arc<EventLog>) -> Self {
        Db {
            index,
            events,
            ..Db::default()
        }
    }

    /// Logs a keyspace event about `key` of this database (see
    /// [`EventLog::record`]): for code that has the database, not a command
    /// context (blocked clients being served).
    pub fn notify(&self, class: u32, name: &'static str, key: &[u8]) {
        self.events.record(self.index, class, name, key);
    }

    /// Inserts or replaces `key`, logging `new` when it did not exist (the
    /// clone of the key is paid only while someone listens).
    fn insert(&mut self, key: Key, value: Value) {
        if !self.events.wants(class::NEW) {
            self.keys.insert(key, value);
        } else if self.keys.insert(key.clone(), value).is_none() {
            self.events.record(self.index, class::NEW, "new", &key);
        }
    }

    /// Number of keys, counting expired ones not yet reclaimed (as DBSIZE).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the database holds no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of keys with an expiry time.
    pub fn volatile_len(&self) -> usize {
        self.expires.len()
    }

    /// Records a change to `key` for WATCH.
    fn touch(&mut self, key: &[u8]) {
        self.changes += 1;
        if !self.watched.is_empty() {
            if let Some(watched) = self.watched.get_mut(key) {
                watched.version += 1;
            }
        }
    }

    /// Records a change to every watched key (FLUSHDB, SWAPDB).
    pub fn touch_all(&mut self) {
        self.changes += 1;
        self.watched.values_mut().for_each(|w| w.version += 1);
    }

    /// How many changes this database has seen (see `changes`).
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// A copy of the keys, values and expiry times (no watches), for a
    /// background save.
    pub fn snapshot(&self) -> Db {
        Db {
            keys: self.keys.clone(),
            expires: self.expires.clone(),
            ..Db::default()
        }
    }

    /// Starts watching `key`; returns its current version.
    pub fn watch(&mut self, key: &[u8]) -> u64 {
        let watched = self.watched.entry(key.into()).or_default();
        watched.watchers += 1;
        watched.version
    }

    /// Stops one watch of `key`.
    pub fn unwatch(&mut self, key: &[u8]) {
        if let Some(watched) = self.watched.get_mut(key) {
            watched.watchers -= 1;
            if watched.watchers == 0 {
                self.watched.remove(key);
            }
        }
    }

    /// The version of a watched key.
    pub fn watch_version(&self, key: &[u8]) -> Option<u64> {
        self.watched.get(key).map(|w| w.version)
    }

    /// Swaps the data of two databases (SWAPDB). The watches stay where
    /// they are (they are about names in a database number) and count as
    /// changed.
    pub fn swap_data(&mut self, other: &mut Db) {
        std::mem::swap(&mut self.keys, &mut other.keys);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.expire_cursor, &mut other.expire_cursor);
        self.touch_all();
        other.touch_all();
    }

    fn is_expired(&self, key: &[u8], now: u64) -> bool {
        !self.expires.is_empty() && self.expires.get(key).is_some_and(|&at| at <= now)
    }

    /// The live value under `key`. An expired key reads as missing; it is
    /// reclaimed by the next write or by active expiry.
    pub fn get(&self, key: &[u8], now: u64) -> Option<&Value> {
        if self.is_expired(key, now) {
            self.events.expired_seen(self.index, key);
            return None;
        }
        self.keys.get(key)
    }

    /// The live value under `key`, to change in place; an expired key is
    /// deleted first.
    pub fn get_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Value> {
        self.purge_if_expired(key, now);
        // A missing key is not changed (WATCH on it survives, as in Redis).
        if self.keys.get(key).is_some() {
            self.touch(key);
        }
        self.keys.get_mut(key)
    }

    /// True when `key` holds a live value.
    pub fn contains(&self, key: &[u8], now: u64) -> bool {
        self.get(key, now).is_some()
    }

    /// Deletes `key` when its time has passed; true if it did.
    pub fn purge_if_expired(&mut self, key: &[u8], now: u64) -> bool {
        if self.is_expired(key, now) {
            self.keys.remove(key);
            self.expires.remove(key);
            self.expired_count += 1;
            self.touch(key);
            self.events.expired_purged(self.index, key);
            return true;
        }
        false
    }

    /// Deletes `key` if it has expired, before it is overwritten: its
    /// `expired` event comes first, then `new` (the clock is read only for
    /// a key with a time to live).
    fn purge_before_overwrite(&mut self, key: &[u8]) {
        if !self.expires.is_empty() && self.expires.get(key).is_some() {
            self.purge_if_expired(key, crate::util::now_ms());
        }
    }

    /// Stores `value` under `key` and clears any expiry (what SET does).
    pub fn set(&mut self, key: Key, value: Value) {
        self.touch(&key);
        if !self.expires.is_empty() {
            self.purge_before_overwrite(&key);
            self.expires.remove(&key[..]);
        }
        self.insert(key, value);
    }

    /// Stores `value` under `key`, keeping a live key's expiry (SET KEEPTTL,
    /// and every command that modifies a value in place).
    pub fn set_keep_ttl(&mut self, key: Key, value: Value, now: u64) {
        self.purge_if_expired(&key, now);
        self.touch(&key);
        self.insert(key, value);
    }

    /// The value under `key`, created with `make()` when missing.
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        now: u64,
        make: impl FnOnce() -> Value,
    ) -> &mut Value {
        self.purge_if_expired(key, now);
        self.touch(key);
        let mut made = false;
        let value = self.keys.get_or_insert_with(key, || {
            made = true;
            make()
        });
        if made {
            self.events.record(self.index, class::NEW, "new", key);
        }
        value
    }

    /// Removes `key` and returns its live value.
    pub fn remove(&mut self, key: &[u8], now: u64) -> Option<Value> {
        if self.purge_if_expired(key, now) {
            return None;
        }
        let removed = self.keys.remove(key)?;
        if !self.expires.is_empty() {
            self.expires.remove(key);
        }
        self.touch(key);
        Some(removed)
    }

    /// Removes `key`, returning its value and expiry time (RENAME, MOVE).
    pub fn take(&mut self, key: &[u8], now: u64) -> Option<(Value, Option<u64>)> {
        if self.purge_if_expired(key, now) {
            return None;
        }
        let value = self.keys.remove(key)?;
        let expire = self.expires.remove(key);
        self.touch(key);
        Some((value, expire))
    }

    /// Stores a value with an expiry time (or none), replacing the key.
    pub fn put(&mut self, key: Key, value: Value, expire_at: Option<u64>) {
        self.purge_before_overwrite(&key);
        self.touch(&key);
        match expire_at {
            Some(at) => {
                self.expires.insert(key.clone(), at);
            }
            None => {
                self.expires.remove(&key[..]);
            }
        }
        self.insert(key, value);
    }

    /// A live key's expiry time, if it has one.
    pub fn expire_at(&self, key: &[u8]) -> Option<u64> {
        self.expires.get(key).copied()
    }

    /// Sets the expiry time of an existing key.
    pub fn set_expire(&mut self, key: &[u8], at: u64) {
        self.touch(key);
        if let Some(slot) = self.expires.get_mut(key) {
            *slot = at;
        } else {
            self.expires.insert(key.into(), at);
        }
    }

    /// Removes a key's expiry time; true when it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        let had_expiry = self.expires.remove(key).is_some();
        if had_expiry {
            self.touch(key);
        }
        had_expiry
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.expires.clear();
        self.expire_cursor = 0;
        self.touch_all();
    }

    /// The keyspace, for walks (KEYS, SCAN). Callers skip expired keys with
    /// [`Db::is_live`].
    pub fn keys(&self) -> &Dict<Value> {
        &self.keys
    }

    /// True when `key` (known to be present) has not expired.
    pub fn is_live(&self, key: &[u8], now: u64) -> bool {
        !self.is_expired(key, now)
    }

    /// A random live key, every key about equally likely, or None when
    /// there is none. Fair draws first; when they keep landing on expired
    /// keys, a walk from a random cursor finds any live one.
    pub fn random_key(&self, now: u64, seed: u64) -> Option<&Key> {
        if self.keys.is_empty() {
            return None;
        }
        let mut rng = crate::util::Rng::seeded(seed);
        for _ in 0..100 {
            match self.keys.random_entry(&mut rng) {
                Some((key, _)) if self.is_live(key, now) => return Some(key),
                Some(_) => continue,
                None => return None,
            }
        }
        let mut cursor = seed;
        for _ in 0..2 {
            let start = cursor;
            loop {
                let mut found = None;
                cursor = self.keys.scan_bucket(cursor, |k, _| {
                    if found.is_none() && self.is_live(k, now) {
                        found = Some(k);
                    }
                });
                if found.is_some() {
                    return found;
                }
                if cursor == 0 || cursor == start {
                    break;
                }
            }
        }
        None
    }

    /// Active expiry: checks up to `budget` volatile keys, resuming where the
    /// last call stopped, and deletes those whose time has passed. Returns
    /// (checked, deleted) so the caller can repeat while many are expiring.
    pub fn expire_some(&mut self, now: u64, budget: usize) -> (usize, usize) {
        let mut due = Vec::new();
        let mut checked = 0;
        let mut cursor = self.expire_cursor;
        while checked < budget && !self.expires.is_empty() {
            cursor = self.expires.scan_bucket(cursor, |key, &at| {
                checked += 1;
                if at <= now {
                    due.push(key.clone());
                }
            });
            if cursor == 0 {
                break;
            }
        }
        self.expire_cursor = cursor;
        for key in &due {
            self.keys.remove(&key[..]);
            self.expires.remove(&key[..]);
            self.touch(key);
            self.events.expired_purged(self.index, key);
        }
        self.expired_count += due.len() as u64;
        (checked, due.len())
    }
}
