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
/// `hash-max-listpack-value`: above them a hash is a table. (The hash does
/// not see the server's configuration; changing those settings does not
/// change respd's encoding.)
const COMPACT_MAX_FIELDS: usize = 512;
const COMPACT_MAX_LEN: usize = 64;

/// A hash. Commands use only these methods, so the representation can
/// change without touching them.
#[derive(Debug, Clone)]
pub struct Hash {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    /// Field, value, field, value..., each after a one-byte length (at
    /// most [`COMPACT_MAX_LEN`]), in insertion order as Redis's listpack.
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

/// Where a pair sits in the compact bytes: the field's length byte starts
/// the pair at `start`, the value (without its length byte) is `value`.
struct Found {
    start: usize,
    value: std::ops::Range<usize>,
}

/// The pairs of compact `bytes`, each with where it sits.
fn pairs(bytes: &[u8]) -> impl Iterator<Item = (Found, &[u8], &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= bytes.len() {
            return None;
        }
        let start = at;
        let field_len = usize::from(bytes[at]);
        let field = &bytes[at + 1..at + 1 + field_len];
        at += 1 + field_len;
        let value_len = usize::from(bytes[at]);
        let value = at + 1..at + 1 + value_len;
        at = value.end;
        Some((
            Found {
                start,
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

    /// Sets `field` to `value`; true when the field is new.
    pub fn insert(&mut self, field: &[u8], value: Vec<u8>) -> bool {
        let too_long = field.len() > COMPACT_MAX_LEN || value.len() > COMPACT_MAX_LEN;
        if too_long || (self.len() == COMPACT_MAX_FIELDS && !self.contains(field)) {
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
            bytes[at.value.start - 1] = value.len() as u8;
            bytes.splice(at.value, value);
            return false;
        }
        reserve(bytes, 2 + field.len() + value.len());
        bytes.push(field.len() as u8);
        bytes.extend_from_slice(field);
        bytes.push(value.len() as u8);
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
