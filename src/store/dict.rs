//! A hash map that can be scanned with a cursor, the way Redis scans its
//! dictionaries: SCAN, HSCAN, SSCAN and ZSCAN (and active expiry) walk it a
//! few entries at a time, and every entry present for the whole walk is seen
//! at least once, however much the map grows or shrinks in between.
//!
//! It is a power-of-two number of small `HashMap`s ("buckets"); a key's
//! bucket is the low bits of its hash. When the map doubles, bucket `i`
//! splits into `i` and `i + old_len`, which is what lets Redis's
//! reverse-binary cursor stay valid: the cursor advances the *high* bits
//! first, so the buckets already visited stay visited after a resize.

use std::borrow::Borrow;
use std::collections::hash_map::{Entry, HashMap, RandomState};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

/// Average entries per bucket before the bucket count doubles.
const GROW_AT: usize = 8;
/// Below one entry per bucket on average, the bucket count halves.
const SHRINK_AT: usize = 1;

/// The key type of every map in the store: binary-safe bytes, inline when
/// short.
pub type Key = super::bytes::Bytes;

/// A scannable hash map from byte-string keys to `V`.
#[derive(Debug, Clone)]
pub struct Dict<V> {
    /// Picks a key's bucket: SipHash with a per-map random key, so no
    /// client can aim many keys at one bucket.
    hasher: BucketPicker,
    /// A boxed slice, not a `Vec`: its length never changes in place, and
    /// the 8 bytes of capacity saved keep the map (which a small hash, set
    /// or sorted set holds in a box of its own) at 56 bytes.
    buckets: Box<[HashMap<Key, V, BuildHasherDefault<BucketHasher>>]>,
    len: usize,
    /// What the tables cost on the heap ([`Dict::table_bytes`]), kept up
    /// to date as each table changes size, so that reading it is free.
    table_bytes: usize,
}

/// A key's keyed hash in one [`Dict`] ([`Dict::hash_key`]).
#[derive(Debug, Clone, Copy)]
pub struct KeyHash(u64);

/// The hash inside one bucket. The keyed SipHash above already spread the
/// keys, and a bucket holds a handful of them, so this one only needs to be
/// quick: a folded multiply over 8-byte words (as foldhash). Being a
/// zero-sized hasher also saves each bucket the 16 bytes of a
/// `RandomState`, which is about 2 bytes per key.
#[derive(Default, Clone, Copy)]
pub struct BucketHasher(u64);

impl BucketHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        // A folded multiply (both halves of the 128-bit product): a plain
        // multiply only carries a difference upwards, so keys differing in
        // one word's top byte and the next word's first byte (`key:000090`
        // and `key:000860`) would hash alike.
        let product = u128::from(self.0 ^ word) * 0xf135_7aea_2e62_a9c5;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for BucketHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut array = [0u8; 8];
            array.copy_from_slice(word);
            self.add(u64::from_le_bytes(array));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut array = [0u8; 8];
            array[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(array));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    /// The map takes its slot from the low bits and its tag from the top
    /// 7: the folded product mixes both.
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The keyed hash that picks a bucket. `Seeded` when the server was given
/// a seed (DEBUG SEED): the same seed lays a map out the same way, so its
/// random picks repeat; the secret still comes from the server's chance.
#[derive(Debug, Clone)]
enum BucketPicker {
    /// SipHash-1-3 under two secret keys (std's `RandomState` hash).
    Random(u64, u64),
    Seeded(u64, u64),
}

impl BucketPicker {
    fn new() -> Self {
        match crate::clock::current_seed() {
            Some(seed) => BucketPicker::Seeded(seed, crate::clock::current_seed().unwrap_or(seed)),
            None => {
                // Two secret keys from std's per-process randomness.
                let state = RandomState::new();
                BucketPicker::Random(state.hash_one(0u64), state.hash_one(1u64))
            }
        }
    }

    #[inline]
    fn hash_one<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        let (keys, prefix) = match *self {
            BucketPicker::Random(k0, k1) => ((k0, k1), None),
            // SipHash-1-3 with zero keys, keyed by a secret prefix.
            BucketPicker::Seeded(k0, k1) => ((0, 0), Some((k0, k1))),
        };
        let mut hasher = Sip13::new(keys.0, keys.1);
        if let Some((k0, k1)) = prefix {
            hasher.write_u64(k0);
            hasher.write_u64(k1);
        }
        key.hash(&mut hasher);
        hasher.finish()
    }
}

/// SipHash-1-3, word for word std's `DefaultHasher` (a test holds them
/// equal), written out here with `#[inline]` so that the size-optimized
/// release build still inlines it: every keyspace, set, hash and sorted
/// set lookup runs it once.
struct Sip13 {
    v0: u64,
    v1: u64,
    v2: u64,
    v3: u64,
    /// Bytes not yet compressed (little-endian, `pending` of them).
    tail: u64,
    pending: usize,
    length: usize,
}

impl Sip13 {
    #[inline]
    fn new(k0: u64, k1: u64) -> Self {
        Sip13 {
            v0: k0 ^ 0x736f_6d65_7073_6575,
            v1: k1 ^ 0x646f_7261_6e64_6f6d,
            v2: k0 ^ 0x6c79_6765_6e65_7261,
            v3: k1 ^ 0x7465_6462_7974_6573,
            tail: 0,
            pending: 0,
            length: 0,
        }
    }

    #[inline(always)]
    fn compress(&mut self, word: u64) {
        let mut v = [self.v0, self.v1, self.v2, self.v3];
        v[3] ^= word;
        sip_round(&mut v);
        v[0] ^= word;
        [self.v0, self.v1, self.v2, self.v3] = v;
    }
}

#[inline(always)]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

impl Hasher for Sip13 {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.length += bytes.len();
        let mut rest = bytes;
        if self.pending != 0 {
            // Top up the word a shorter write left.
            let take = rest.len().min(8 - self.pending);
            for (at, &byte) in rest[..take].iter().enumerate() {
                self.tail |= u64::from(byte) << (8 * (self.pending + at));
            }
            self.pending += take;
            rest = &rest[take..];
            if self.pending < 8 {
                return;
            }
            let word = self.tail;
            self.compress(word);
            self.tail = 0;
            self.pending = 0;
        }
        let mut words = rest.chunks_exact(8);
        for word in &mut words {
            let mut array = [0u8; 8];
            array.copy_from_slice(word);
            self.compress(u64::from_le_bytes(array));
        }
        let remainder = words.remainder();
        let mut array = [0u8; 8];
        array[..remainder.len()].copy_from_slice(remainder);
        self.tail = u64::from_le_bytes(array);
        self.pending = remainder.len();
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        if self.pending == 0 {
            self.length += 8;
            self.compress(n.to_le());
        } else {
            self.write(&n.to_le_bytes());
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Four words in registers, not a copy of the hasher (which a
        // size-optimized build makes with a call to memcpy).
        let last = ((self.length as u64 & 0xff) << 56) | self.tail;
        let mut v = [self.v0, self.v1, self.v2, self.v3 ^ last];
        sip_round(&mut v);
        v[0] ^= last;
        v[2] ^= 0xff;
        sip_round(&mut v);
        sip_round(&mut v);
        sip_round(&mut v);
        v[0] ^ v[1] ^ v[2] ^ v[3]
    }
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> Dict<V> {
    /// An empty map with one bucket.
    pub fn new() -> Self {
        let mut dict = Dict {
            buckets: Box::new([HashMap::default()]),
            hasher: BucketPicker::new(),
            len: 0,
            table_bytes: 0,
        };
        dict.table_bytes = dict.measure_tables();
        dict
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn bucket_of<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        (self.hasher.hash_one(key) as usize) & (self.buckets.len() - 1)
    }

    /// `key`'s keyed hash in this map, for several lookups of the same key
    /// at the price of one hash ([`Dict::get_hashed`],
    /// [`Dict::get_mut_hashed`]). It stays valid while the map grows or
    /// shrinks (a bucket is the hash's low bits), but only for this map.
    #[inline]
    pub fn hash_key(&self, key: &[u8]) -> KeyHash {
        KeyHash(self.hasher.hash_one(key))
    }

    #[inline]
    fn bucket_at(&self, hash: KeyHash) -> usize {
        (hash.0 as usize) & (self.buckets.len() - 1)
    }

    /// [`Dict::get`] with the key's hash already known.
    #[inline]
    pub fn get_hashed(&self, hash: KeyHash, key: &[u8]) -> Option<&V> {
        self.buckets[self.bucket_at(hash)].get(key)
    }

    /// [`Dict::get_mut`] with the key's hash already known.
    #[inline]
    pub fn get_mut_hashed(&mut self, hash: KeyHash, key: &[u8]) -> Option<&mut V> {
        let bucket = self.bucket_at(hash);
        self.buckets[bucket].get_mut(key)
    }

    /// The value stored under `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.buckets[self.bucket_of(key)].get(key)
    }

    /// The stored key and value under `key` (the keyspace's keys carry
    /// their access clocks).
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&Key, &V)>
    where
        Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.buckets[self.bucket_of(key)].get_key_value(key)
    }

    /// The value stored under `key`, to change in place.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let bucket = self.bucket_of(key);
        self.buckets[bucket].get_mut(key)
    }

    /// True when `key` is present.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Stores `value` under `key`, returning the value it replaces.
    pub fn insert(&mut self, key: Key, value: V) -> Option<V> {
        let bucket = self.bucket_of(&key[..]);
        let capacity = self.buckets[bucket].capacity();
        let old = self.buckets[bucket].insert(key, value);
        if old.is_none() {
            self.note_capacity(bucket, capacity);
            self.len += 1;
            if self.len > self.buckets.len() * GROW_AT {
                self.resize(self.buckets.len() * 2);
            }
        }
        old
    }

    /// [`Dict::insert`], also handing back a copy of the key when the value
    /// it replaces passes `wanted` (the rare replacement that must be noted
    /// by name), for the price of one lookup.
    pub fn insert_noting(
        &mut self,
        key: Key,
        value: V,
        wanted: impl FnOnce(&V) -> bool,
    ) -> (Option<V>, Option<Key>) {
        let bucket = self.bucket_of(&key[..]);
        let capacity = self.buckets[bucket].capacity();
        match self.buckets[bucket].entry(key) {
            Entry::Occupied(mut slot) => {
                let old = slot.insert(value);
                let noted = wanted(&old).then(|| slot.key().clone());
                (Some(old), noted)
            }
            Entry::Vacant(slot) => {
                slot.insert(value);
                self.note_capacity(bucket, capacity);
                self.len += 1;
                if self.len > self.buckets.len() * GROW_AT {
                    self.resize(self.buckets.len() * 2);
                }
                (None, None)
            }
        }
    }

    /// The value under `key`, inserting `make()` first if it is missing.
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        let hash = self.hash_key(key);
        self.get_or_insert_hashed(hash, key, make)
    }

    /// [`Dict::get_or_insert_with`] with the key's hash already known.
    pub fn get_or_insert_hashed(
        &mut self,
        hash: KeyHash,
        key: &[u8],
        make: impl FnOnce() -> V,
    ) -> &mut V {
        let bucket = self.bucket_at(hash);
        if !self.buckets[bucket].contains_key(key) {
            let capacity = self.buckets[bucket].capacity();
            self.buckets[bucket].insert(key.into(), make());
            self.note_capacity(bucket, capacity);
            self.len += 1;
            if self.len > self.buckets.len() * GROW_AT {
                self.resize(self.buckets.len() * 2);
            }
        }
        // The map may have grown: the key's bucket is found again.
        let bucket = self.bucket_at(hash);
        match self.buckets[bucket].get_mut(key) {
            Some(value) => value,
            None => unreachable!("the key was inserted above"),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        Key: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        // Spares the keyed hash when there is nothing to find (every SET
        // clears its key's expiry, in a usually empty expiry map).
        if self.len == 0 {
            return None;
        }
        let bucket = self.bucket_of(key);
        let capacity = self.buckets[bucket].capacity();
        let old = self.buckets[bucket].remove(key);
        if old.is_some() {
            self.note_capacity(bucket, capacity);
            self.len -= 1;
            if self.buckets.len() > 1 && self.len < self.buckets.len() * SHRINK_AT {
                self.resize(self.buckets.len() / 2);
            }
        }
        old
    }

    /// Removes `key`, returning the stored key and value.
    pub fn remove_entry(&mut self, key: &[u8]) -> Option<(Key, V)> {
        let bucket = self.bucket_of(key);
        let capacity = self.buckets[bucket].capacity();
        let old = self.buckets[bucket].remove_entry(key);
        if old.is_some() {
            self.note_capacity(bucket, capacity);
            self.len -= 1;
            if self.buckets.len() > 1 && self.len < self.buckets.len() * SHRINK_AT {
                self.resize(self.buckets.len() / 2);
            }
        }
        old
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &V)> {
        self.buckets.iter().flat_map(|bucket| bucket.iter())
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.iter().map(|(k, _)| k)
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// What the tables cost on the heap (the buckets' slots and their
    /// list), not counting what keys and values own beyond their slots.
    pub fn table_bytes(&self) -> usize {
        self.table_bytes
    }

    /// [`Dict::table_bytes`] counted afresh, bucket by bucket.
    fn measure_tables(&self) -> usize {
        let list = self.buckets.len()
            * std::mem::size_of::<HashMap<Key, V, BuildHasherDefault<BucketHasher>>>();
        super::memory::block(list)
            + self
                .buckets
                .iter()
                .map(|bucket| Self::table_cost(bucket.capacity()))
                .sum::<usize>()
    }

    /// What a bucket's table with room for `capacity` entries costs.
    fn table_cost(capacity: usize) -> usize {
        super::memory::table(capacity, std::mem::size_of::<(Key, V)>())
    }

    /// Keeps [`Dict::table_bytes`] true after a change to `bucket`, whose
    /// table had room for `capacity` entries before it.
    #[inline]
    fn note_capacity(&mut self, bucket: usize, capacity: usize) {
        let now = self.buckets[bucket].capacity();
        if now != capacity {
            self.table_bytes = (self.table_bytes + Self::table_cost(now))
                .saturating_sub(Self::table_cost(capacity));
        }
    }

    /// The heap cost of the keys held (long ones only: short keys are
    /// inline in their slots), sampling `samples` of them (0: all).
    pub fn key_bytes(&self, samples: usize) -> usize {
        super::memory::sampled(
            self.len,
            samples,
            self.keys().map(|key| super::memory::bytes(key.len())),
        )
    }

    /// Up to `count` keys picked at random (a random bucket, a random
    /// entry of it), for eviction's samples (Redis's `dictGetSomeKeys`).
    /// The same key may come twice; an empty map gives none.
    pub fn sample_keys(&self, seed: u64, count: usize) -> Vec<Key> {
        let mut picked = Vec::with_capacity(count);
        if self.len == 0 {
            return picked;
        }
        let mut state = seed | 1;
        let mut next = move || {
            // xorshift64*: the caller's seed spread over each pick.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let mask = self.buckets.len() - 1;
        for _ in 0..count {
            // From a random bucket on to the first that holds a key (there
            // is one): a bounded number of random tries could all land on
            // empty buckets, and eviction would wrongly find nothing.
            let start = next() as usize;
            let Some(bucket) = (0..=mask)
                .map(|step| &self.buckets[start.wrapping_add(step) & mask])
                .find(|bucket| !bucket.is_empty())
            else {
                break;
            };
            let at = (next() % bucket.len() as u64) as usize;
            if let Some(key) = bucket.keys().nth(at) {
                picked.push(key.clone());
            }
        }
        picked
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        *self = Dict::new();
    }

    /// Visits the bucket the cursor names and returns the next cursor, 0 when
    /// the walk is complete (Redis's `dictScan` for one table).
    pub fn scan_bucket<'a>(&'a self, cursor: u64, mut visit: impl FnMut(&'a Key, &'a V)) -> u64 {
        let mask = (self.buckets.len() - 1) as u64;
        for (key, value) in &self.buckets[(cursor & mask) as usize] {
            visit(key, value);
        }
        // Increment the reversed cursor: the high bits advance first.
        let mut next = cursor | !mask;
        next = next.reverse_bits().wrapping_add(1).reverse_bits();
        next
    }

    /// A random entry, every entry about equally likely (Redis's SRANDMEMBER
    /// and RANDOMKEY are fair). A bucket then an entry in it would favour
    /// entries of sparse buckets, so a bucket is given `FAIR_SLOTS` slots
    /// and a draw landing on an empty slot is drawn again: exact as long as
    /// no bucket holds more entries than that (about 1e-10 of them at the
    /// densest load), and cheap since the load stays between 1 and 8.
    pub fn random_entry(&self, rng: &mut crate::util::Rng) -> Option<(&Key, &V)> {
        const FAIR_SLOTS: usize = 32;
        if self.is_empty() {
            return None;
        }
        loop {
            let bucket = &self.buckets[rng.below(self.buckets.len())];
            let slot = rng.below(FAIR_SLOTS.max(bucket.len()));
            if let Some(entry) = bucket.iter().nth(slot) {
                return Some(entry);
            }
        }
    }

    /// Visits buckets from `cursor` until `visit` has seen at least `count`
    /// entries or the walk ends; returns the next cursor. Like Redis, it
    /// gives up after `10 * count` empty buckets so one call stays short.
    pub fn scan<'a>(
        &'a self,
        mut cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a Key, &'a V),
    ) -> u64 {
        let mut seen = 0;
        let mut budget = count.saturating_mul(10).max(1);
        loop {
            cursor = self.scan_bucket(cursor, |k, v| {
                seen += 1;
                visit(k, v)
            });
            budget -= 1;
            if cursor == 0 || seen >= count || budget == 0 {
                return cursor;
            }
        }
    }

    /// Moves every entry into `bucket_count` buckets. All the old tables
    /// are emptied (and freed) before any new one is made, each at the
    /// size it needs: the new tables then fill the space the old ones
    /// left, instead of growing step by step beside them (with glibc that
    /// left about 2 MB of free holes per million string keys).
    ///
    /// The new tables are made in order of size, so that tables of one
    /// size lie side by side: as the map fills and they outgrow their
    /// blocks one by one, the blocks they free merge with their
    /// neighbours' into space that later, bigger tables take. Made in
    /// bucket order, each freed block sat alone between live ones, too
    /// small for any later request of the growing map (a million string
    /// keys left 10 MB free in 82 MB; in order of size, 7.5 MB in 79.5).
    fn resize(&mut self, bucket_count: usize) {
        let old = std::mem::take(&mut self.buckets);
        let mask = bucket_count - 1;
        let mut moved = Vec::with_capacity(self.len);
        for bucket in old.into_vec() {
            for (key, value) in bucket {
                let at = (self.hasher.hash_one(&key[..]) as usize) & mask;
                moved.push((at, key, value));
            }
        }
        let mut counts = vec![0usize; bucket_count];
        for (at, _, _) in &moved {
            counts[*at] += 1;
        }
        self.buckets = (0..bucket_count).map(|_| HashMap::default()).collect();
        let mut by_size: Vec<usize> = (0..bucket_count).filter(|&at| counts[at] > 0).collect();
        by_size.sort_unstable_by_key(|&at| counts[at]);
        for at in by_size {
            self.buckets[at].reserve(counts[at]);
        }
        for (at, key, value) in moved {
            self.buckets[at].insert(key, value);
        }
        self.table_bytes = self.measure_tables();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_bucket_picker_hashes_as_std_siphash() {
        let mut writes: Vec<Vec<u8>> = Vec::new();
        for len in 0..40u8 {
            writes.push((0..len).map(|b| b.wrapping_mul(37) ^ len).collect());
        }
        for (at, bytes) in writes.iter().enumerate() {
            let mut ours = Sip13::new(0, 0);
            let mut std_hasher = std::collections::hash_map::DefaultHasher::new();
            // Aligned and unaligned streams: a word, some bytes, a slice.
            ours.write_u64(at as u64);
            std_hasher.write_u64(at as u64);
            ours.write(&bytes[..at % 5 % (bytes.len() + 1)]);
            std_hasher.write(&bytes[..at % 5 % (bytes.len() + 1)]);
            ours.write_u64(0x0123_4567_89ab_cdef);
            std_hasher.write_u64(0x0123_4567_89ab_cdef);
            bytes[..].hash(&mut ours);
            bytes[..].hash(&mut std_hasher);
            assert_eq!(ours.finish(), std_hasher.finish(), "write {at}");
            let seeded = BucketPicker::Seeded(at as u64, 7);
            let mut std_seeded = std::collections::hash_map::DefaultHasher::new();
            std_seeded.write_u64(at as u64);
            std_seeded.write_u64(7);
            bytes[..].hash(&mut std_seeded);
            assert_eq!(seeded.hash_one(&bytes[..]), std_seeded.finish());
            assert_eq!(seeded.hash_one(&Key::from(&bytes[..])), std_seeded.finish());
        }
    }

    #[test]
    fn the_bucket_hash_tells_numbered_keys_apart() {
        let hash = |key: &[u8]| BuildHasherDefault::<BucketHasher>::default().hash_one(key);
        assert_ne!(hash(b"key:000090"), hash(b"key:000860"));
        let hashes: HashSet<u64> = (0..100_000)
            .map(|i| hash(format!("key:{i:06}").as_bytes()))
            .collect();
        assert_eq!(hashes.len(), 100_000);
    }

    #[test]
    fn a_map_fits_its_box() {
        // Small hashes, sets and sorted sets box their map: at 64 bytes it
        // would cost them 16 bytes more each (glibc's blocks go by 16).
        assert_eq!(std::mem::size_of::<Dict<()>>(), 56);
    }

    #[test]
    fn table_bytes_stay_what_a_recount_finds() {
        let mut dict = Dict::new();
        assert_eq!(dict.table_bytes(), dict.measure_tables());
        for i in 0..5000u32 {
            dict.insert(format!("key:{i}").into_bytes().into(), i);
            if i % 7 == 0 {
                dict.insert_noting(format!("other:{i}").into_bytes().into(), i, |_| false);
            }
            assert_eq!(
                dict.table_bytes(),
                dict.measure_tables(),
                "after insert {i}"
            );
        }
        for i in (0..5000u32).step_by(2) {
            dict.remove(&format!("key:{i}").into_bytes()[..]);
            if i % 3 == 0 {
                dict.remove_entry(format!("other:{i}").as_bytes());
            }
            assert_eq!(
                dict.table_bytes(),
                dict.measure_tables(),
                "after remove {i}"
            );
        }
        assert!(dict.table_bytes() > 0);
        dict.clear();
        assert_eq!(dict.table_bytes(), dict.measure_tables());
    }

    #[test]
    fn a_sample_always_finds_a_key_when_there_is_one() {
        // Deleting the keys samples pick (as allkeys-random eviction does)
        // empties the sparse buckets first: down to a few keys per bucket,
        // most buckets are empty, and every pick must still find a key.
        let mut seeds = crate::util::Rng::seeded(7);
        for round in 0..40u32 {
            let mut dict = Dict::new();
            for i in 0..400u32 {
                dict.insert(format!("{round}:{i}").into_bytes().into(), i);
            }
            while !dict.is_empty() {
                let picked = dict.sample_keys(seeds.next_u64(), 1);
                assert_eq!(picked.len(), 1, "round {round}, {} keys", dict.len());
                dict.remove(&picked[0][..]);
            }
            assert!(dict.sample_keys(seeds.next_u64(), 3).is_empty());
        }
    }

    #[test]
    fn scan_sees_every_stable_key_across_growth_and_shrink() {
        let mut dict = Dict::new();
        for i in 0..1000u32 {
            dict.insert(i.to_string().into_bytes().into(), i);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0u32;
        loop {
            cursor = dict.scan(cursor, 10, |k, _| {
                seen.insert(k.clone());
            });
            // Churn between calls: add many keys, then remove them again.
            for j in 0..200u32 {
                let key = format!("extra-{round}-{j}").into_bytes();
                if round % 2 == 0 {
                    dict.insert(key.into(), 0);
                } else {
                    dict.remove(&format!("extra-{}-{j}", round - 1).into_bytes()[..]);
                }
            }
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000u32 {
            assert!(
                seen.contains(i.to_string().as_bytes()),
                "key {i} was never returned"
            );
        }
    }
}
