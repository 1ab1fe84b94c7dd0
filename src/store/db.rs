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
    /// Keys some client WATCHes, each with a version that every real
    /// change to the key bumps ([`Db::modified`]). Empty unless someone
    /// watches, so writes pay one `is_empty` test for WATCH.
    watched: HashMap<Key, Watched>,
    /// Changes so far (never decreases): the save points and INFO's
    /// `rdb_changes_since_last_save` count from it. Bumped with WATCH
    /// versions, and by expiry.
    changes: u64,
    /// This database's number, for the events it logs.
    index: usize,
    /// Where keys created and expired are logged, while someone listens.
    events: Arc<EventLog>,
    /// Where stream keys that go away are noted (blocked XREADGROUP).
    pub(super) gone_streams: Arc<super::GoneStreams>,
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
    /// clone of the key is paid only while someone listens), and noting a
    /// stream it replaces.
    fn insert(&mut self, key: Key, value: Value) {
        let is_stream = |old: &Value| matches!(old, Value::Stream(_));
        if !self.events.wants(class::NEW) {
            if let (_, Some(key)) = self.keys.insert_noting(key, value, is_stream) {
                self.gone_streams.record(self.index, &key);
            }
        } else {
            let (old, _) = self.keys.insert_noting(key.clone(), value, |_| false);
            match old {
                None => self.events.record(self.index, class::NEW, "new", &key),
                Some(old) => self.note_if_stream(&key, Some(&old)),
            }
        }
    }

    /// Notes that a stream left `key` (deleted, or replaced by any value:
    /// Redis wakes the key's XREADGROUP clients then).
    fn note_if_stream(&self, key: &[u8], gone: Option<&Value>) {
        if let Some(Value::Stream(_)) = gone {
            self.gone_streams.record(self.index, key);
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

    /// Signals that `key` really changed (Redis's `signalModifiedKey`):
    /// its WATCHes fail and the change counter moves. The methods that
    /// replace or delete a whole value call it themselves; a handler that
    /// changes a value in place (through [`Db::get_mut`]) calls it when it
    /// changed something, never for a no-op or a failed write.
    pub fn modified(&mut self, key: &[u8]) {
        self.changes += 1;
        if !self.watched.is_empty() {
            if let Some(watched) = self.watched.get_mut(key) {
                watched.version += 1;
            }
        }
    }

    /// Counts a change that is no key modification for WATCH (a stream's
    /// consumer groups: Redis's `server.dirty` without `signalModifiedKey`),
    /// so the save points and the AOF still see it.
    pub fn dirty(&mut self) {
        self.changes += 1;
    }

    /// Before a flush or a swap: the watched keys that hold a live value
    /// in this database or will in `replaced_with` (SWAPDB) count as
    /// changed; a key missing (or expired) on both sides did not change,
    /// as Redis's `touchAllWatchedKeysInDb`.
    fn touch_watched_live(&mut self, replaced_with: Option<&Db>) {
        self.changes += 1;
        if self.watched.is_empty() {
            return;
        }
        let now = crate::util::now_ms();
        let live_here: Vec<bool> = self
            .watched
            .keys()
            .map(|key| {
                self.contains(key, now) || replaced_with.is_some_and(|db| db.contains(key, now))
            })
            .collect();
        for (watched, live) in self.watched.values_mut().zip(live_here) {
            if live {
                watched.version += 1;
            }
        }
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
        self.touch_watched_live(Some(other));
        other.touch_watched_live(Some(self));
        std::mem::swap(&mut self.keys, &mut other.keys);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.expire_cursor, &mut other.expire_cursor);
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
    /// deleted first. The caller signals [`Db::modified`] if it changes it.
    pub fn get_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Value> {
        self.purge_if_expired(key, now);
        self.keys.get_mut(key)
    }

    /// The live value under `key`, handed to `change`, which says whether it
    /// really changed it: only then do WATCH versions and the change counter
    /// move (Redis signals a modified key after a real change, not on every
    /// write lookup). None when the key is missing.
    pub fn modify<R>(
        &mut self,
        key: &[u8],
        now: u64,
        change: impl FnOnce(&mut Value) -> (R, bool),
    ) -> Option<R> {
        self.purge_if_expired(key, now);
        let (result, changed) = change(self.keys.get_mut(key)?);
        if changed {
            self.modified(key);
        }
        Some(result)
    }

    /// True when `key` holds a live value.
    pub fn contains(&self, key: &[u8], now: u64) -> bool {
        self.get(key, now).is_some()
    }

    /// Deletes `key` when its time has passed; true if it did.
    pub fn purge_if_expired(&mut self, key: &[u8], now: u64) -> bool {
        if self.is_expired(key, now) {
            let gone = self.keys.remove(key);
            self.note_if_stream(key, gone.as_ref());
            self.expires.remove(key);
            self.expired_count += 1;
            // Not a change for WATCH: EXEC compares liveness itself, and a
            // key already expired when watched did not change by going.
            self.changes += 1;
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
        self.modified(&key);
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
        self.modified(&key);
        self.insert(key, value);
    }

    /// The value under `key`, created with `make()` when missing (a
    /// change); the caller signals [`Db::modified`] if it changes a value
    /// that was there.
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        now: u64,
        make: impl FnOnce() -> Value,
    ) -> &mut Value {
        self.purge_if_expired(key, now);
        if !self.keys.contains_key(key) {
            self.modified(key);
            self.events.record(self.index, class::NEW, "new", key);
        }
        self.keys.get_or_insert_with(key, make)
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
        self.modified(key);
        self.note_if_stream(key, Some(&removed));
        Some(removed)
    }

    /// Removes `key`, returning its value and expiry time (RENAME, MOVE).
    pub fn take(&mut self, key: &[u8], now: u64) -> Option<(Value, Option<u64>)> {
        if self.purge_if_expired(key, now) {
            return None;
        }
        let value = self.keys.remove(key)?;
        let expire = self.expires.remove(key);
        self.modified(key);
        self.note_if_stream(key, Some(&value));
        Some((value, expire))
    }

    /// Stores a value with an expiry time (or none), replacing the key.
    pub fn put(&mut self, key: Key, value: Value, expire_at: Option<u64>) {
        self.purge_before_overwrite(&key);
        self.modified(&key);
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
        self.modified(key);
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
            self.modified(key);
        }
        had_expiry
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.touch_watched_live(None);
        self.keys.clear();
        self.expires.clear();
        self.expire_cursor = 0;
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

    /// A random live key, or None when there is none.
    pub fn random_key(&self, now: u64, seed: u64) -> Option<&Key> {
        if self.keys.is_empty() {
            return None;
        }
        // Start the walk at a random cursor and take the first live key; a
        // few rounds cover databases where most keys have expired.
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
            let gone = self.keys.remove(&key[..]);
            self.note_if_stream(key, gone.as_ref());
            self.expires.remove(&key[..]);
            self.changes += 1;
            self.events.expired_purged(self.index, key);
        }
        self.expired_count += due.len() as u64;
        (checked, due.len())
    }
}
