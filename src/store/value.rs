//! What a key can hold.

use std::collections::VecDeque;

use super::bytes::Bytes;
use super::hash::Hash;
use super::set::Set;
use super::stream::Stream;
use super::zset::ZSet;

/// A stored value. The aggregate types are boxed so that a string key, the
/// common case, pays only for a string.
#[derive(Debug, Clone)]
pub enum Value {
    /// A binary-safe string (also integers and floats, as text).
    Str(Bytes),
    /// A list of strings, pushed and popped at both ends.
    List(Box<VecDeque<Vec<u8>>>),
    /// Field → value.
    Hash(Box<Hash>),
    /// Unique members.
    Set(Box<Set>),
    /// Members ordered by score.
    ZSet(Box<ZSet>),
    /// Entries by ID, with consumer groups.
    Stream(Box<Stream>),
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }
}
