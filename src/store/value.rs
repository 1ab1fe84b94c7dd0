//! What a key can hold.

use std::collections::VecDeque;

use super::dict::Dict;

/// A stored value. Strings are the only type the core needs; the others are
/// here so that every command can tell a wrong type apart (WRONGTYPE).
#[derive(Debug, Clone)]
pub enum Value {
    /// A binary-safe string (also integers and floats, as text).
    Str(Vec<u8>),
    /// A list of strings, pushed and popped at both ends.
    List(Box<VecDeque<Vec<u8>>>),
    /// Field → value.
    Hash(Box<Dict<Vec<u8>>>),
    /// Unique members.
    Set(Box<Dict<()>>),
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
        }
    }
}
