//! The sorted set type: members ordered by score, then by member.

/// A sorted set. Commands use only these methods.
#[derive(Debug, Clone, Default)]
pub struct ZSet {
    len: usize,
}

impl ZSet {
    /// An empty sorted set.
    pub fn new() -> Self {
        ZSet::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no members (the key is then deleted).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
