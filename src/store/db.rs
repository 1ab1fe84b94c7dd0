//! One logical database (SELECT 0..15): the keyspace and its expiry times.

use std::collections::HashMap;
use std::sync::Arc;

use super::access::{AccessClock, AccessPolicy, Compact};
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
    /// Each key carries its access clock inside its own bytes
    /// ([`Bytes::clock`](super::Bytes::clock)).
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
    /// What the keys' access clocks hold (LRU or LFU), server-wide.
    access: Arc<AccessPolicy>,
}

/// A live key's value and access clock (see `store::access`).
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub value: &'a Value,
    pub clock: &'a AccessClock,
}

/// A watched key's version and how many clients watch it.
#[derive(Debug, Default)]
struct Watched {
    version: u64,
    watchers: u32,
}

/// The clock of a key that has none (never in the keyspace, whose keys all
/// get room for one): always zero.
static NO_CLOCK: AccessClock = AccessClock::new(0);

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

    /// The access clock of `key`, if present.
    fn clock_of(&self, key: &[u8]) -> Option<&AccessClock> {
        self.keys
            .get_key_value(key)
            .and_then(|(name, _)| name.clock())
    }

    /// Remembers that the string under `key` was changed in place: Redis
    /// keeps such a string `raw` (OBJECT ENCODING).
    pub fn mark_raw(&self, key: &[u8]) {
        if let Some(clock) = self.clock_of(key) {
            clock.mark(super::access::flags::RAW_STRING);
        }
    }

    /// Sets the access clock of `key` (RESTORE's IDLETIME and FREQ).
    pub fn set_clock(&self, key: &[u8], clock: u32) {
        if let Some(slot) = self.clock_of(key) {
            slot.set(clock);
        }
    }

    /// What the key's flags say about its encoding (see
    /// `store::access::flags`), for a copy to keep.
    pub fn shape_flags(&self, key: &[u8]) -> u32 {
        self.clock_of(key).map_or(0, AccessClock::flags)
    }

    /// Gives `key` the encoding flags of the value it was copied from.
    pub fn set_shape_flags(&self, key: &[u8], flags: u32) {
        if let Some(clock) = self.clock_of(key) {
            clock.mark(flags);
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
    /// The value's clock starts now, except that an overwritten key's LFU
    /// counter carries over, as Redis's `dbOverwrite` keeps it.
    fn insert(&mut self, key: Key, value: Value) {
        let fresh = self.access.fresh(crate::util::now_ms());
        let word = match self.clock_of(&key) {
            Some(old) if self.access.is_lfu() => old.get(),
            _ => fresh,
        };
        self.insert_with_clock(key, value, word);
    }

    /// Inserts or replaces `key` with its clock word (clock and flags).
    fn insert_with_clock(&mut self, key: Key, value: Value, word: u32) {
        // std's map keeps the old key object when a key is overwritten:
        // its clock is the one that must change.
        if let Some(old) = self.clock_of(&key) {
            old.set_raw(word);
        }
        let key = key.with_clock();
        if let Some(clock) = key.clock() {
            clock.set_raw(word);
        }
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
    ///
    /// This is an access: the key's clock records it.
    pub fn get(&self, key: &[u8], now: u64) -> Option<&Value> {
        let entry = self.peek_entry(key, now)?;
        accessed(&self.access, entry, now);
        Some(entry.value)
    }

    /// The live value under `key` without counting an access (Redis's
    /// `LOOKUP_NOTOUCH`: TYPE, EXISTS, TTL).
    pub fn peek(&self, key: &[u8], now: u64) -> Option<&Value> {
        self.peek_entry(key, now).map(|entry| entry.value)
    }

    /// The live entry under `key`, value and clock, untouched (OBJECT).
    pub fn peek_entry(&self, key: &[u8], now: u64) -> Option<Entry<'_>> {
        if self.is_expired(key, now) {
            self.events.expired_seen(self.index, key);
            return None;
        }
        let (name, value) = self.keys.get_key_value(key)?;
        Some(Entry {
            value,
            clock: name.clock().unwrap_or(&NO_CLOCK),
        })
    }

    /// The live value under `key`, to change in place; an expired key is
    /// deleted first. This is an access; the caller signals [`Db::modified`]
    /// if it changes it.
    pub fn get_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Value> {
        self.purge_if_expired(key, now);
        self.accessed_in_place(key, now)?;
        self.keys.get_mut(key)
    }

    /// Counts an access to the live `key` on its clock (the clock is in the
    /// key: one look for it, one for the value). None when it is missing.
    fn accessed_in_place(&self, key: &[u8], now: u64) -> Option<()> {
        let (name, value) = self.keys.get_key_value(key)?;
        accessed(
            &self.access,
            Entry {
                value,
                clock: name.clock().unwrap_or(&NO_CLOCK),
            },
            now,
        );
        Some(())
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
        let (result, changed) = change(self.get_mut(key, now)?);
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
            let gone = self.keys.remove(key);
            self.note_if_stream(key, gone.as_ref());
            self.expires.remove(key);
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
        if self.accessed_in_place(key, now).is_none() {
            let name = Key::from(key).with_clock();
            if let Some(clock) = name.clock() {
                clock.set_raw(self.access.fresh(now));
            }
            self.keys.insert(name, make());
            self.modified(key);
            self.events.record(self.index, class::NEW, "new", key);
        }
        match self.keys.get_mut(key) {
            Some(value) => value,
            None => unreachable!("the key is present or was inserted above"),
        }
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

    /// Removes `key`, returning its value and expiry time.
    pub fn take(&mut self, key: &[u8], now: u64) -> Option<(Value, Option<u64>)> {
        self.take_entry(key, now)
            .map(|(value, _, expire)| (value, expire))
    }

    /// Removes `key`, returning its value, its clock word (clock and flags)
    /// and its expiry time (RENAME, MOVE: the value keeps its clock and
    /// flags, as Redis's object does; the lookup that finds it is an
    /// access).
    pub fn take_entry(&mut self, key: &[u8], now: u64) -> Option<(Value, u32, Option<u64>)> {
        if self.purge_if_expired(key, now) {
            return None;
        }
        let (name, value) = self.keys.remove_entry(key)?;
        let clock = name.clock().unwrap_or(&NO_CLOCK);
        accessed(
            &self.access,
            Entry {
                value: &value,
                clock,
            },
            now,
        );
        let word = clock.raw();
        let expire = self.expires.remove(key);
        self.modified(key);
        self.note_if_stream(key, Some(&value));
        Some((value, word, expire))
    }

    /// Stores what [`Db::take_entry`] took under `key`, with an expiry time
    /// (or none), replacing the key.
    pub fn put_entry(&mut self, key: Key, value: Value, word: u32, expire_at: Option<u64>) {
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
        self.insert_with_clock(key, value, word);
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
            let gone = self.keys.remove(&key[..]);
            self.note_if_stream(key, gone.as_ref());
            self.expires.remove(&key[..]);
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
fn accessed(access: &AccessPolicy, entry: Entry<'_>, now: u64) {
    access.touch(entry.clock, now);
    let size = match entry.value {
        Value::Hash(hash) => Some((Compact::Hash, hash.len())),
        Value::Set(set) => Some((Compact::Set, set.len())),
        Value::ZSet(zset) => Some((Compact::ZSet, zset.len())),
        _ => None,
    };
    if let Some((kind, len)) = size {
        access.note_size(entry.clock, kind, len);
    }
}

#[cfg(test)]
mod entry_size {
    #[test]
    fn the_access_clock_costs_a_key_nothing() {
        // It lives in the key's own 24 bytes.
        assert_eq!(std::mem::size_of::<super::Key>(), 24);
        assert_eq!(std::mem::size_of::<super::Value>(), 24);
    }
}
