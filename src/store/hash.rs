//! The hash type: field → value.
//!
//! Most hashes are small (an object's few attributes), and a hash table
//! spends far more on its slots than on the bytes they hold. So, like
//! Redis's listpack encoding, a small hash is one byte vector of
//! length-prefixed field/value pairs, searched by a linear walk; it turns
//! into a [`Dict`] for good once it has too many fields or a long one.
//!
//! Memory per field, 100 fields of ~8 bytes with ~10-byte values: the
//! table costs ~90 bytes (two 24-byte [`Bytes`] plus the slot), a
//! `Vec<(Bytes, Bytes)>` 48, the byte vector 20 (Redis's listpack 22).

use super::bytes::Bytes;
use super::dict::Dict;
use super::set::{sample, sample_in_order};

/// Redis 7.0's defaults for `hash-max-listpack-entries` and
/// `hash-max-listpack-value`: above them a hash is a table.
const COMPACT_MAX_FIELDS: usize = 512;
const COMPACT_MAX_LEN: usize = 64;

/// When a compact hash turns into a table (`hash-max-listpack-entries`
/// and `hash-max-listpack-value`): the server's settings, given by the
/// commands that add fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactLimits {
    pub max_fields: usize,
    pub max_len: usize,
}

impl Default for CompactLimits {
    fn default() -> Self {
        CompactLimits {
            max_fields: COMPACT_MAX_FIELDS,
            max_len: COMPACT_MAX_LEN,
        }
    }
}

/// A hash. Commands use only these methods, so the representation can
/// change without touching them.
#[derive(Debug, Clone)]
pub struct Hash {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    /// Field, value, field, value..., each after its length (LEB128: one
    /// byte up to 127), in insertion order as Redis's listpack.
    Compact { bytes: Vec<u8>, len: usize },
    /// Fields and values are [`Bytes`]: short ones live inline.
    Table(Dict<Bytes>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash {
            repr: Repr::Compact {
                bytes: Vec::new(),
                len: 0,
            },
        }
    }
}

/// Where a pair sits in the compact bytes: the field's length starts the
/// pair at `start`, the value's length starts at `value_head`, the value
/// itself is `value`.
struct Found {
    start: usize,
    value_head: usize,
    value: std::ops::Range<usize>,
}

/// Appends `len` as LEB128 (7 bits a byte, low bits first).
fn put_len(bytes: &mut Vec<u8>, mut len: usize) {
    while len >= 0x80 {
        bytes.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    bytes.push(len as u8);
}

/// The LEB128 length at `at` and where what it measures starts.
fn read_len(bytes: &[u8], mut at: usize) -> (usize, usize) {
    let mut len = 0;
    let mut shift = 0;
    while let Some(&byte) = bytes.get(at) {
        at += 1;
        len |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (len, at)
}

/// Bytes of a length's LEB128 form.
fn len_size(len: usize) -> usize {
    let mut size = 1;
    let mut rest = len >> 7;
    while rest > 0 {
        size += 1;
        rest >>= 7;
    }
    size
}

/// The pairs of compact `bytes`, each with where it sits.
fn pairs(bytes: &[u8]) -> impl Iterator<Item = (Found, &[u8], &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= bytes.len() {
            return None;
        }
        let start = at;
        let (field_len, field_at) = read_len(bytes, at);
        let field = &bytes[field_at..field_at + field_len];
        let value_head = field_at + field_len;
        let (value_len, value_at) = read_len(bytes, value_head);
        let value = value_at..value_at + value_len;
        at = value.end;
        Some((
            Found {
                start,
                value_head,
                value: value.clone(),
            },
            field,
            &bytes[value],
        ))
    })
}

fn find(bytes: &[u8], field: &[u8]) -> Option<Found> {
    pairs(bytes)
        .find(|(_, f, _)| *f == field)
        .map(|(at, _, _)| at)
}

/// Makes room for `more` bytes, growing by at least an eighth: few
/// reallocations, and at most an eighth of the vector unused (doubling
/// would leave up to half).
pub(super) fn reserve(bytes: &mut Vec<u8>, more: usize) {
    if bytes.capacity() - bytes.len() < more {
        bytes.reserve_exact(more.max(bytes.len() / 8));
    }
}

impl Hash {
    /// What the hash's buffers cost on the heap (see `store::memory`).
    pub fn heap_bytes(&self, samples: usize) -> usize {
        use super::memory::{block, bytes, sampled};
        match &self.repr {
            Repr::Compact { bytes, .. } => block(bytes.capacity()),
            Repr::Table(dict) => {
                let values = dict.values().map(|value| bytes(value.len()));
                dict.table_bytes() + dict.key_bytes(samples) + sampled(dict.len(), samples, values)
            }
        }
    }

    /// An empty hash.
    pub fn new() -> Self {
        Hash::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Compact { len, .. } => *len,
            Repr::Table(table) => table.len(),
        }
    }

    /// True when there are no fields (the key is then deleted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING gives the representation, as Redis does.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Compact { .. } => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Compact { bytes, .. } => find(bytes, field).map(|at| &bytes[at.value]),
            Repr::Table(table) => table.get(field).map(|value| &value[..]),
        }
    }

    /// True when `field` is present.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value`; true when the field is new. Redis's
    /// default limits apply (see [`Hash::insert_within`]).
    pub fn insert(&mut self, field: &[u8], value: Vec<u8>) -> bool {
        self.insert_within(field, value, CompactLimits::default())
    }

    /// Sets `field` to `value`; true when the field is new. A compact hash
    /// becomes a table when the field or value is longer than `limits`
    /// allow, or when the new field would be one too many.
    pub fn insert_within(&mut self, field: &[u8], value: Vec<u8>, limits: CompactLimits) -> bool {
        let too_long = field.len() > limits.max_len || value.len() > limits.max_len;
        if too_long || (self.len() >= limits.max_fields && !self.contains(field)) {
            self.make_table();
        }
        let (bytes, len) = match &mut self.repr {
            Repr::Compact { bytes, len } => (bytes, len),
            Repr::Table(table) => {
                let value = Bytes::from(value);
                return match table.get_mut(field) {
                    Some(slot) => {
                        *slot = value;
                        false
                    }
                    None => table.insert(field.into(), value).is_none(),
                };
            }
        };
        if let Some(at) = find(bytes, field) {
            // In place, as a listpack keeps a field where it is.
            let mut head = Vec::with_capacity(len_size(value.len()));
            put_len(&mut head, value.len());
            bytes.splice(at.value_head..at.value.end, head.into_iter().chain(value));
            return false;
        }
        reserve(
            bytes,
            len_size(field.len()) + field.len() + len_size(value.len()) + value.len(),
        );
        put_len(bytes, field.len());
        bytes.extend_from_slice(field);
        put_len(bytes, value.len());
        bytes.extend_from_slice(&value);
        *len += 1;
        true
    }

    /// Turns a compact hash into a table (for good, as in Redis).
    fn make_table(&mut self) {
        if let Repr::Compact { bytes, .. } = &self.repr {
            let mut table = Dict::new();
            for (_, field, value) in pairs(bytes) {
                table.insert(field.into(), value.into());
            }
            self.repr = Repr::Table(table);
        }
    }

    /// Removes `field`; true when it was present.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Compact { bytes, len } => match find(bytes, field) {
                Some(at) => {
                    bytes.drain(at.start..at.value.end);
                    *len -= 1;
                    true
                }
                None => false,
            },
            Repr::Table(table) => table.remove(field).is_some(),
        }
    }

    /// Every (field, value): in insertion order while compact, else in no
    /// particular order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match &self.repr {
            Repr::Compact { bytes, .. } => Box::new(pairs(bytes).map(|(_, f, v)| (f, v))),
            Repr::Table(table) => {
                Box::new(table.iter().map(|(field, value)| (&field[..], &value[..])))
            }
        }
    }

    /// One HSCAN step: visits fields from `cursor` and returns the next
    /// cursor (0 when the walk is over). Fields present for the whole walk
    /// are visited at least once. A compact hash is visited whole in one
    /// step, whatever the cursor, as Redis does with a listpack.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], &'a [u8]),
    ) -> u64 {
        match &self.repr {
            Repr::Compact { bytes, .. } => {
                pairs(bytes).for_each(|(_, field, value)| visit(field, value));
                0
            }
            Repr::Table(table) => table.scan(cursor, count, |field, value| visit(field, value)),
        }
    }

    /// `count` random (field, value) pairs: all different (at most the
    /// whole hash) when `distinct`, else drawn independently.
    pub fn random_fields(&self, count: usize, distinct: bool) -> Vec<(&[u8], &[u8])> {
        let bytes = match &self.repr {
            Repr::Table(table) => {
                return sample(table, count, distinct)
                    .into_iter()
                    .map(|(field, value)| (&field[..], &value[..]))
                    .collect()
            }
            Repr::Compact { bytes, .. } => bytes,
        };
        let all: Vec<(&[u8], &[u8])> = pairs(bytes).map(|(_, f, v)| (f, v)).collect();
        sample_in_order(&all, count, distinct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(i: usize) -> Vec<u8> {
        format!("field:{i}").into_bytes()
    }

    #[test]
    fn compact_until_a_limit_then_a_table_with_the_same_contents() {
        let mut hash = Hash::new();
        for i in 0..COMPACT_MAX_FIELDS {
            assert!(hash.insert(&field(i), i.to_string().into_bytes()));
        }
        assert_eq!(hash.encoding(), "listpack");
        // Replacing keeps the place; removing closes the gap.
        assert!(!hash.insert(&field(3), b"a longer value than before".to_vec()));
        assert!(!hash.insert(&field(4), Vec::new()));
        assert!(hash.remove(&field(0)));
        assert!(!hash.remove(&field(0)));
        assert_eq!(
            hash.get(&field(3)),
            Some(&b"a longer value than before"[..])
        );
        assert_eq!(hash.get(&field(4)), Some(&b""[..]));
        assert_eq!(hash.iter().next().map(|(f, _)| f.to_vec()), Some(field(1)));
        assert_eq!(hash.len(), COMPACT_MAX_FIELDS - 1);
        let before: Vec<(Vec<u8>, Vec<u8>)> =
            hash.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        hash.insert(&field(0), b"x".to_vec());
        hash.insert(&field(COMPACT_MAX_FIELDS), b"y".to_vec());
        assert_eq!(hash.encoding(), "hashtable");
        assert_eq!(hash.len(), COMPACT_MAX_FIELDS + 1);
        for (f, v) in &before {
            assert_eq!(hash.get(f), Some(&v[..]));
        }
    }

    #[test]
    fn a_long_field_or_value_makes_a_table() {
        let long = vec![b'x'; COMPACT_MAX_LEN + 1];
        let mut hash = Hash::new();
        hash.insert(b"a", vec![b'v'; COMPACT_MAX_LEN]);
        assert_eq!(hash.encoding(), "listpack");
        hash.insert(b"b", long.clone());
        assert_eq!(hash.encoding(), "hashtable");
        assert_eq!(hash.get(b"b"), Some(&long[..]));
        let mut hash = Hash::new();
        hash.insert(&long, b"v".to_vec());
        assert_eq!(hash.encoding(), "hashtable");
    }

    #[test]
    fn limits_from_the_configuration_keep_long_values_compact() {
        let limits = CompactLimits {
            max_fields: 1000,
            max_len: 100_000,
        };
        let mut hash = Hash::new();
        let long = vec![b'x'; 65_535];
        hash.insert_within(b"a", b"1".to_vec(), limits);
        hash.insert_within(b"b", long.clone(), limits);
        hash.insert_within(b"c", vec![b'y'; 200], limits);
        assert_eq!(hash.encoding(), "listpack");
        // Replacing a long value by a short one, in place.
        assert!(!hash.insert_within(b"c", b"z".to_vec(), limits));
        let order: Vec<(&[u8], &[u8])> = hash.iter().collect();
        assert_eq!(
            order,
            vec![(&b"a"[..], &b"1"[..]), (b"b", &long[..]), (b"c", b"z")]
        );
        assert!(hash.remove(b"b"));
        assert_eq!(hash.get(b"c"), Some(&b"z"[..]));
        let small = CompactLimits {
            max_fields: 3,
            max_len: 64,
        };
        hash.insert_within(b"d", b"4".to_vec(), small);
        assert_eq!(hash.encoding(), "listpack");
        hash.insert_within(b"e", b"5".to_vec(), small);
        assert_eq!(hash.encoding(), "hashtable");
        assert_eq!(hash.len(), 4);
    }

    #[test]
    fn compact_scan_and_samples() {
        let mut hash = Hash::new();
        for i in 0..10 {
            hash.insert(&field(i), b"v".to_vec());
        }
        let mut seen = 0;
        assert_eq!(hash.scan(17, 2, |_, _| seen += 1), 0);
        assert_eq!(seen, 10);
        for count in [0, 1, 5, 9, 10, 20] {
            let picked = hash.random_fields(count, true);
            assert_eq!(picked.len(), count.min(10));
            let mut unique: Vec<_> = picked.iter().map(|(f, _)| f.to_vec()).collect();
            unique.dedup();
            assert_eq!(unique.len(), picked.len());
        }
        assert_eq!(hash.random_fields(30, false).len(), 30);
        assert!(Hash::new().random_fields(3, false).is_empty());
    }
}
