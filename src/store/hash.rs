//! The hash type: field → value.

use super::dict::Dict;

/// A hash. Commands use only these methods, so the representation can
/// change (a compact encoding for small hashes, say) without touching them.
#[derive(Debug, Clone, Default)]
pub struct Hash {
    fields: Dict<Vec<u8>>,
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
}
