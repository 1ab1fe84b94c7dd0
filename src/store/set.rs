//! The set type: unique members.

use super::dict::Dict;

/// A set. Commands use only these methods, so the representation can
/// change (a compact encoding for small sets, say) without touching them.
#[derive(Debug, Clone, Default)]
pub struct Set {
    members: Dict<()>,
}

impl Set {
    /// An empty set.
    pub fn new() -> Self {
        Set::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when there are no members (the key is then deleted).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}
