//! The hash type: field → value.

use super::bytes::Bytes;
use super::dict::Dict;
use super::set::sample;

/// A hash. Commands use only these methods, so the representation can
/// change (a compact encoding for small hashes, say) without touching them.
///
/// Fields and values are [`Bytes`]: short ones (most) live inline, with no
/// heap block of their own.
#[derive(Debug, Clone, Default)]
pub struct Hash {
    fields: Dict<Bytes>,
}

impl Hash {
    /// An empty hash.
    pub fn new() -> Self {
        Hash::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are no fields (the key is then deleted).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.fields.get(field).map(|value| &value[..])
    }

    /// True when `field` is present.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.fields.contains_key(field)
    }

    /// Sets `field` to `value`; true when the field is new.
    pub fn insert(&mut self, field: &[u8], value: Vec<u8>) -> bool {
        let value = Bytes::from(value);
        match self.fields.get_mut(field) {
            Some(slot) => {
                *slot = value;
                false
            }
            None => {
                self.fields.insert(field.into(), value);
                true
            }
        }
    }

    /// Removes `field`; true when it was present.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        self.fields.remove(field).is_some()
    }

    /// Every (field, value), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|(field, value)| (&field[..], &value[..]))
    }

    /// One HSCAN step: visits fields from `cursor` and returns the next
    /// cursor (0 when the walk is over). Fields present for the whole walk
    /// are visited at least once.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], &'a [u8]),
    ) -> u64 {
        self.fields
            .scan(cursor, count, |field, value| visit(field, value))
    }

    /// `count` random (field, value) pairs: all different (at most the
    /// whole hash) when `distinct`, else drawn independently.
    pub fn random_fields(&self, count: usize, distinct: bool) -> Vec<(&[u8], &[u8])> {
        sample(&self.fields, count, distinct)
            .into_iter()
            .map(|(field, value)| (&field[..], &value[..]))
            .collect()
    }
}
