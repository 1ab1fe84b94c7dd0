//! One logical database (SELECT 0..15): the keyspace and its expiry times.

use std::collections::HashMap;
use std::sync::Arc;

use super::access::{AccessClock, AccessPolicy, Compact};
use super::dict::{Dict, Key, KeyHash};
use super::events::{class, EventLog};
use super::memory;
use super::value::Value;

/// Keys, their values and, for volatile keys only, their expiry times.
///
/// Expiry is lazy and active, as in Redis: a read never returns a key whose
/// time has passed, and [`Db::expire_some`] (called by a background thread)
/// samples volatile keys so memory comes back even for keys nobody reads.
#[derive(Debug, Default)]
pub struct Db {
    keys: Dict<Entry>,
    /// Unix time in milliseconds at which each volatile key expires.
    expires: Dict<u64>,
    /// Where the active expiry cycle resumes its walk of `expires`.
    expire_cursor: u64,
    /// Keys removed because their time had come (INFO's `expired_keys`).
    pub expired_count: u64,
    /// Keys deleted to free memory (INFO's `evicted_keys`).
    pub evicted_count: u64,
    /// Keys some client WATCHes, each with a version that every real
    /// change to the key bumps ([`Db::modified`]). Empty unless someone
    /// watches, so writes pay one `is_empty` test for WATCH.
    watched: HashMap<Key, Watched>,
    /// Changes so far (never decreases): the save points and INFO's
    /// `rdb_changes_since_last_save` count from it. Bumped with WATCH
    /// versions, and by expiry and eviction.
    changes: u64,
    /// This database's number, for the events it logs.
    index: usize,
    /// Where keys created and expired are logged, while someone listens.
    events: Arc<EventLog>,
    /// Where stream keys that go away are noted (blocked XREADGROUP).
    pub(super) gone_streams: Arc<super::GoneStreams>,
    /// What the keys' access clocks hold (LRU or LFU), server-wide.
    access: Arc<AccessPolicy>,
    /// Bytes the keys, their values and expiry entries cost (see
    /// `store::memory`), without the tables' slots.
    used: usize,
    /// Keys handed out to be changed in place, with their length then:
    /// their cost is measured again by [`Db::settle`].
    stale: Vec<(Key, KeyHash, usize)>,
}

/// A value in the keyspace with its access clock (see `store::access`).
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    pub clock: AccessClock,
    /// What the value costs on the heap, as last measured (it fits in the
    /// padding beside the clock).
    cost: u32,
}

impl Entry {
    /// What the value cost when last measured (MEMORY USAGE).
    pub fn cost(&self) -> usize {
        self.cost as usize
    }
}

/// A value's length, for scaling the cost of big collections.
fn value_len(value: &Value) -> usize {
    match value {
        Value::Str(text) => text.len(),
        Value::List(list) => list.len(),
        Value::Hash(hash) => hash.len(),
        Value::Set(set) => set.len(),
        Value::ZSet(zset) => zset.len(),
        Value::Stream(stream) => stream.len(),
    }
}

fn clamp(cost: usize) -> u32 {
    u32::try_from(cost).unwrap_or(u32::MAX)
}

/// A watched key's version and how many clients watch it.
#[derive(Debug, Default)]
struct Watched {
    version: u64,
    watchers: u32,
}

impl Db {
    /// An empty database, number `index`, logging its events to `events`.
    pub fn new(index: usize, events: Arc<EventLog>, access: Arc<AccessPolicy>) -> Self {
        Db {
            index,
            events,
            access,
            ..Db::default()
        }
    }

    /// A new entry for `value`, its clock started now.
    fn entry(&self, value: Value) -> Entry {
        Entry {
            cost: clamp(memory::value(&value, 0)),
            value,
            clock: AccessClock::new(self.access.fresh(crate::util::now_ms())),
        }
    }

    /// Bytes this database's keys, values and expiry entries cost, with
    /// the tables holding them.
    pub fn used_memory(&self) -> usize {
        self.used + self.table_overhead()
    }

    /// Bytes both tables' slots cost (INFO's overhead), which the tables
    /// keep exact.
    pub fn table_overhead(&self) -> usize {
        self.keys.table_bytes() + self.expires.table_bytes()
    }

    /// Bytes the expiry table costs (MEMORY STATS' overhead lines).
    pub fn expires_overhead(&self) -> usize {
        self.expires.table_bytes()
    }

    /// Measures again the values changed in place since the last call. The
    /// store calls it whenever it hands out the database to change.
    pub fn settle(&mut self) {
        if self.stale.is_empty() {
            return;
        }
        let mut stale = std::mem::take(&mut self.stale);
        for (key, hash, len_before) in stale.drain(..) {
            let Some(entry) = self.keys.get_mut_hashed(hash, &key) else {
                continue;
            };
            let len = value_len(&entry.value);
            let cost = if len <= memory::EXACT_UP_TO || matches!(entry.value, Value::Str(_)) {
                memory::value(&entry.value, 0)
            } else if len == len_before || len_before == 0 {
                entry.cost as usize
            } else {
                // Walking a big collection on every write would make each
                // write O(n): its cost scales with its length instead.
                (entry.cost as u128 * len as u128 / len_before as u128) as usize
            };
            self.used = (self.used + cost).saturating_sub(entry.cost as usize);
            entry.cost = clamp(cost);
        }
        // The list keeps its buffer: the next write marks a key again.
        self.stale = stale;
    }

    /// The live entry under `key`, noted as handed out to change in place
    /// (its cost is measured again by [`Db::settle`]) and accessed: one
    /// keyed hash serves the lookup and the later measure.
    fn entry_to_change(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let hash = self.keys.hash_key(key);
        let entry = self.keys.get_mut_hashed(hash, key)?;
        self.stale.push((key.into(), hash, value_len(&entry.value)));
        accessed(&self.access, entry, now);
        Some(entry)
    }

    /// Counts a key's slot contents leaving (`sign` false) or arriving.
    #[inline]
    fn count_entry(&mut self, key_len: usize, cost: u32, arriving: bool) {
        let bytes = memory::bytes(key_len) + cost as usize;
        if arriving {
            self.used += bytes;
        } else {
            self.used = self.used.saturating_sub(bytes);
        }
    }

    /// Counts an expiry entry (its copy of the key) leaving or arriving.
    fn count_expire(&mut self, key_len: usize, arriving: bool) {
        let bytes = memory::bytes(key_len);
        if arriving {
            self.used += bytes;
        } else {
            self.used = self.used.saturating_sub(bytes);
        }
    }

    /// Remembers that the string under `key` was changed in place: Redis
    /// keeps such a string `raw` (OBJECT ENCODING).
    pub fn mark_raw(&self, key: &[u8]) {
        if let Some(entry) = self.keys.get(key) {
            entry.clock.mark(super::access::flags::RAW_STRING);
        }
    }

    /// Sets the access clock of `key` (RESTORE's IDLETIME and FREQ).
    pub fn set_clock(&self, key: &[u8], clock: u32) {
        if let Some(entry) = self.keys.get(key) {
            entry.clock.set(clock);
        }
    }

    /// What the key's flags say about its encoding (see
    /// `store::access::flags`), for a copy to keep.
    pub fn shape_flags(&self, key: &[u8]) -> u32 {
        self.keys.get(key).map_or(0, |entry| entry.clock.flags())
    }

    /// Gives `key` the encoding flags of the value it was copied from.
    pub fn set_shape_flags(&self, key: &[u8], flags: u32) {
        if let Some(entry) = self.keys.get(key) {
            entry.clock.mark(flags);
        }
    }

    /// The server-wide access policy the clocks follow.
    pub fn access_policy(&self) -> &AccessPolicy {
        &self.access
    }

    /// An empty database whose clocks follow `access` (files being loaded).
    pub fn with_access(access: Arc<AccessPolicy>) -> Self {
        Db {
            access,
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
    ///
    /// An overwritten key's LFU counter carries over to the new value, as
    /// Redis's `dbOverwrite` keeps it; an LRU clock starts again.
    fn insert(&mut self, key: Key, value: Value) {
        let mut entry = self.entry(value);
        if self.access.is_lfu() {
            if let Some(old) = self.keys.get(&key[..]) {
                entry.clock = AccessClock::new(old.clock.get());
            }
        }
        self.insert_entry(key, entry);
    }

    /// Inserts or replaces `key` with `entry` as it is (its clock too).
    fn insert_entry(&mut self, key: Key, entry: Entry) {
        let (key_len, cost) = (key.len(), entry.cost);
        self.count_entry(key_len, cost, true);
        let is_stream = |old: &Entry| matches!(old.value, Value::Stream(_));
        if !self.events.wants(class::NEW) {
            let (old, noted) = self.keys.insert_noting(key, entry, is_stream);
            if let Some(old) = old {
                self.count_entry(key_len, old.cost, false);
            }
            if let Some(key) = noted {
                self.gone_streams.record(self.index, &key);
            }
        } else {
            let (old, _) = self.keys.insert_noting(key.clone(), entry, |_| false);
            match old {
                Some(old) => {
                    self.count_entry(key_len, old.cost, false);
                    self.note_if_stream(&key, Some(&old.value));
                }
                None => self.events.record(self.index, class::NEW, "new", &key),
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
        super::changed::key_changed(key);
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
            access: self.access.clone(),
            used: self.used,
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
        // In-place changes are measured against the keys they were made to.
        self.settle();
        other.settle();
        std::mem::swap(&mut self.keys, &mut other.keys);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.expire_cursor, &mut other.expire_cursor);
        std::mem::swap(&mut self.used, &mut other.used);
    }

    fn is_expired(&self, key: &[u8], now: u64) -> bool {
        !self.expires.is_empty() && self.expires.get(key).is_some_and(|&at| at <= now)
    }

    /// The live value under `key`. An expired key reads as missing; it is
    /// noted for the server to delete after the command (see
    /// `notify::publish_pending`).
    ///
    /// This is an access: the key's clock records it.
    #[inline]
    pub fn get(&self, key: &[u8], now: u64) -> Option<&Value> {
        let entry = self.peek_entry(key, now)?;
        accessed(&self.access, entry, now);
        Some(&entry.value)
    }

    /// The live value under `key` without counting an access (Redis's
    /// `LOOKUP_NOTOUCH`: TYPE, EXISTS, TTL).
    pub fn peek(&self, key: &[u8], now: u64) -> Option<&Value> {
        self.peek_entry(key, now).map(|entry| &entry.value)
    }

    /// The live entry under `key`, value and clock, untouched (OBJECT).
    pub fn peek_entry(&self, key: &[u8], now: u64) -> Option<&Entry> {
        if self.is_expired(key, now) {
            self.events.expired_seen(self.index, key);
            return None;
        }
        self.keys.get(key)
    }

    /// The live value under `key`, to change in place; an expired key is
    /// deleted first. This is an access; the caller signals [`Db::modified`]
    /// if it changes it (its cost is measured again either way).
    pub fn get_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Value> {
        self.purge_if_expired(key, now);
        self.entry_to_change(key, now).map(|entry| &mut entry.value)
    }

    /// [`Db::get_mut`] for a key that has not expired; an expired key is
    /// left as it is (None), for the caller's path for missing keys.
    pub fn get_live_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Value> {
        if self.is_expired(key, now) {
            return None;
        }
        self.entry_to_change(key, now).map(|entry| &mut entry.value)
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
        let entry = self.entry_to_change(key, now)?;
        let (result, changed) = change(&mut entry.value);
        if changed {
            self.modified(key);
        }
        Some(result)
    }

    /// True when `key` holds a live value. Not an access (as EXISTS).
    pub fn contains(&self, key: &[u8], now: u64) -> bool {
        self.peek(key, now).is_some()
    }

    /// Deletes `key` when its time has passed; true if it did.
    pub fn purge_if_expired(&mut self, key: &[u8], now: u64) -> bool {
        if self.is_expired(key, now) {
            let gone = self.forget(key);
            self.note_if_stream(key, gone.as_ref().map(|entry| &entry.value));
            self.expired_count += 1;
            // Not a change for WATCH: EXEC compares liveness itself, and a
            // key already expired when watched did not change by going.
            self.changes += 1;
            super::changed::key_changed(key);
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
            if self.expires.remove(&key[..]).is_some() {
                self.count_expire(key.len(), false);
            }
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
        let hash = self.keys.hash_key(key);
        let len_before = self
            .keys
            .get_hashed(hash, key)
            .map(|entry| value_len(&entry.value));
        self.stale.push((key.into(), hash, len_before.unwrap_or(0)));
        if len_before.is_none() {
            self.count_entry(key.len(), 0, true);
        }
        let mut made = false;
        let fresh = self.access.fresh(now);
        let entry = self.keys.get_or_insert_hashed(hash, key, || {
            made = true;
            Entry {
                value: make(),
                clock: AccessClock::new(fresh),
                cost: 0,
            }
        });
        if !made {
            accessed(&self.access, entry, now);
        } else {
            self.modified(key);
            self.events.record(self.index, class::NEW, "new", key);
        }
        match self.keys.get_mut_hashed(hash, key) {
            Some(entry) => &mut entry.value,
            None => unreachable!("the key is present or was inserted above"),
        }
    }

    /// Removes `key` and returns its live value.
    pub fn remove(&mut self, key: &[u8], now: u64) -> Option<Value> {
        if self.purge_if_expired(key, now) {
            return None;
        }
        let removed = self.forget(key)?;
        self.modified(key);
        self.note_if_stream(key, Some(&removed.value));
        Some(removed.value)
    }

    /// Removes `key`, returning its value and expiry time.
    pub fn take(&mut self, key: &[u8], now: u64) -> Option<(Value, Option<u64>)> {
        self.take_entry(key, now)
            .map(|(entry, expire)| (entry.value, expire))
    }

    /// Removes `key`, returning its entry (value and access clock) and
    /// expiry time (RENAME, MOVE: the value keeps its clock and flags, as
    /// Redis's object does; the lookup that finds it is an access).
    pub fn take_entry(&mut self, key: &[u8], now: u64) -> Option<(Entry, Option<u64>)> {
        if self.purge_if_expired(key, now) {
            return None;
        }
        let expire = self.expires.get(key).copied();
        let entry = self.forget(key)?;
        accessed(&self.access, &entry, now);
        self.modified(key);
        self.note_if_stream(key, Some(&entry.value));
        Some((entry, expire))
    }

    /// Stores an entry taken with [`Db::take_entry`] under `key`, with an
    /// expiry time (or none), replacing the key.
    pub fn put_entry(&mut self, key: Key, entry: Entry, expire_at: Option<u64>) {
        self.purge_before_overwrite(&key);
        self.modified(&key);
        self.store_expire(&key, expire_at);
        self.insert_entry(key, entry);
    }

    /// Stores a value with an expiry time (or none), replacing the key.
    pub fn put(&mut self, key: Key, value: Value, expire_at: Option<u64>) {
        self.purge_before_overwrite(&key);
        self.modified(&key);
        self.store_expire(&key, expire_at);
        self.insert(key, value);
    }

    /// Sets or clears `key`'s expiry entry, counting its bytes.
    fn store_expire(&mut self, key: &Key, expire_at: Option<u64>) {
        match expire_at {
            Some(at) => {
                if self.expires.insert(key.clone(), at).is_none() {
                    self.count_expire(key.len(), true);
                }
            }
            None => {
                if self.expires.remove(&key[..]).is_some() {
                    self.count_expire(key.len(), false);
                }
            }
        }
    }

    /// Removes `key` and its expiry entry, uncounting their bytes.
    fn forget(&mut self, key: &[u8]) -> Option<Entry> {
        let entry = self.keys.remove(key)?;
        self.count_entry(key.len(), entry.cost, false);
        if !self.expires.is_empty() && self.expires.remove(key).is_some() {
            self.count_expire(key.len(), false);
        }
        Some(entry)
    }

    /// Up to `count` keys sampled for eviction, from the keys with a time
    /// to live only when `volatile`.
    pub fn sample_keys(&self, volatile: bool, count: usize, seed: u64) -> Vec<Key> {
        if volatile {
            self.expires.sample_keys(seed, count)
        } else {
            self.keys.sample_keys(seed, count)
        }
    }

    /// Deletes `key` to free memory (maxmemory): logged as `evicted` and
    /// to the AOF as DEL. True when it was there.
    pub fn evict(&mut self, key: &[u8]) -> bool {
        let Some(gone) = self.forget(key) else {
            return false;
        };
        self.modified(key);
        self.note_if_stream(key, Some(&gone.value));
        self.evicted_count += 1;
        self.events.evicted(self.index, key);
        true
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
            self.count_expire(key.len(), true);
        }
    }

    /// Removes a key's expiry time; true when it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        let had_expiry = self.expires.remove(key).is_some();
        if had_expiry {
            self.count_expire(key.len(), false);
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
        self.used = 0;
        self.stale.clear();
    }

    /// The keyspace, for walks (KEYS, SCAN). Callers skip expired keys with
    /// [`Db::is_live`].
    pub fn keys(&self) -> &Dict<Entry> {
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
            let gone = self.forget(key);
            self.note_if_stream(key, gone.as_ref().map(|entry| &entry.value));
            self.changes += 1;
            super::changed::key_changed(key);
            self.events.expired_purged(self.index, key);
        }
        self.expired_count += due.len() as u64;
        (checked, due.len())
    }
}

/// Records an access to `entry`, and whether its collection has outgrown
/// its compact encoding: checked at every lookup, so before any later
/// command can shrink it, which keeps the conversion one-way as Redis's.
#[inline]
fn accessed(access: &AccessPolicy, entry: &Entry, now: u64) {
    access.touch(&entry.clock, now);
    let size = match &entry.value {
        Value::Hash(hash) => Some((Compact::Hash, hash.len())),
        Value::Set(set) => Some((Compact::Set, set.len())),
        Value::ZSet(zset) => Some((Compact::ZSet, zset.len())),
        _ => None,
    };
    if let Some((kind, len)) = size {
        access.note_size(&entry.clock, kind, len);
    }
}

#[cfg(test)]
mod entry_size {
    #[test]
    fn the_access_clock_costs_one_word_per_key_at_most() {
        let value = std::mem::size_of::<super::Value>();
        let entry = std::mem::size_of::<super::Entry>();
        println!("Value {value} bytes, Entry {entry} bytes");
        assert!(entry <= value + 8);
    }
}
