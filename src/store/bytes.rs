//! Byte strings that keep short contents inline.
//!
//! Most keys and many values are short (`user:1042`, `42`, `ok`). A
//! `Vec<u8>` or `Box<[u8]>` spends a heap block on each, 32 bytes with the
//! allocator's bookkeeping for a 10-byte string. [`Bytes`] stores up to 22
//! bytes in its own 24 bytes and only longer strings on the heap, which
//! saves about a third of the memory of a small key-value pair.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use super::access::AccessClock;

/// The most bytes kept inline.
const INLINE: usize = 22;
/// The most bytes kept inline beside an access clock.
const SHORT: usize = 18;

/// A binary-safe byte string, inline when short.
///
/// Keys of the keyspace carry their access clock (`store::access`) in the
/// same 24 bytes: a short or heap string has 4 spare bytes for it, so the
/// clock costs a key nothing. Only a key of 19 to 22 bytes, which fills
/// the inline room, moves to the heap to make space ([`Bytes::with_clock`]).
#[derive(Clone)]
pub enum Bytes {
    /// Up to 18 bytes, and room for a clock.
    Short {
        len: u8,
        data: [u8; SHORT],
        clock: AccessClock,
    },
    /// 19 to 22 bytes (no clock).
    Inline { len: u8, data: [u8; INLINE] },
    /// Longer ones, and room for a clock.
    Heap { clock: AccessClock, data: Box<[u8]> },
}

impl Bytes {
    /// The empty string.
    pub const fn new() -> Self {
        Bytes::Short {
            len: 0,
            data: [0; SHORT],
            clock: AccessClock::new(0),
        }
    }

    /// The contents.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Short { len, data, .. } => &data[..usize::from(*len)],
            Bytes::Inline { len, data } => &data[..usize::from(*len)],
            Bytes::Heap { data, .. } => data,
        }
    }

    /// The contents as a vector (free for heap strings).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Bytes::Heap { data, .. } => data.into_vec(),
            _ => self.as_slice().to_vec(),
        }
    }

    /// The access clock a keyspace key carries (None for a 19-22 byte
    /// string that has no room for one).
    pub fn clock(&self) -> Option<&AccessClock> {
        match self {
            Bytes::Short { clock, .. } | Bytes::Heap { clock, .. } => Some(clock),
            Bytes::Inline { .. } => None,
        }
    }

    /// The same string with room for a clock: a 19-22 byte one moves to
    /// the heap (what a keyspace key needs).
    pub fn with_clock(self) -> Bytes {
        match self {
            Bytes::Inline { .. } => Bytes::Heap {
                clock: AccessClock::default(),
                data: self.as_slice().into(),
            },
            other => other,
        }
    }

    /// Changes the contents in place (APPEND, SETRANGE, SETBIT).
    pub fn edit<R>(&mut self, change: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut bytes = std::mem::take(self).into_vec();
        let result = change(&mut bytes);
        *self = Bytes::from(bytes);
        result
    }
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes::new()
    }
}

impl From<&[u8]> for Bytes {
    fn from(bytes: &[u8]) -> Self {
        if bytes.len() <= SHORT {
            let mut data = [0; SHORT];
            data[..bytes.len()].copy_from_slice(bytes);
            Bytes::Short {
                len: bytes.len() as u8,
                data,
                clock: AccessClock::default(),
            }
        } else if bytes.len() <= INLINE {
            let mut data = [0; INLINE];
            data[..bytes.len()].copy_from_slice(bytes);
            Bytes::Inline {
                len: bytes.len() as u8,
                data,
            }
        } else {
            Bytes::Heap {
                clock: AccessClock::default(),
                data: bytes.into(),
            }
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.len() <= INLINE {
            Bytes::from(bytes.as_slice())
        } else {
            Bytes::Heap {
                clock: AccessClock::default(),
                data: bytes.into_boxed_slice(),
            }
        }
    }
}

impl From<&Vec<u8>> for Bytes {
    fn from(bytes: &Vec<u8>) -> Self {
        Bytes::from(bytes.as_slice())
    }
}

impl<const N: usize> From<&[u8; N]> for Bytes {
    fn from(bytes: &[u8; N]) -> Self {
        Bytes::from(&bytes[..])
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Lets maps keyed by `Bytes` be searched with a `&[u8]`.
impl Borrow<[u8]> for Bytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Hashes exactly as `[u8]` does, as `Borrow` requires.
impl Hash for Bytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Bytes {}

impl PartialEq<[u8]> for Bytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialOrd for Bytes {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bytes {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_slice().escape_ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_inline_long_heap_same_behaviour() {
        assert_eq!(std::mem::size_of::<Bytes>(), 24);
        for len in [0usize, 1, 18, 19, 22, 23, 100] {
            let source: Vec<u8> = (0..len as u8).collect();
            let bytes = Bytes::from(source.clone());
            assert_eq!(bytes.as_slice(), &source[..]);
            let inline = matches!(bytes, Bytes::Inline { .. } | Bytes::Short { .. });
            assert_eq!(inline, len <= INLINE);
            assert_eq!(bytes.clock().is_some(), !(19..=22).contains(&len));
            assert!(bytes.clone().with_clock().clock().is_some());
            assert_eq!(bytes.clone().with_clock().as_slice(), &source[..]);
            let mut grown = bytes.clone();
            grown.edit(|v| v.extend_from_slice(b"xyz"));
            assert_eq!(grown.len(), len + 3);
            let mut map = std::collections::HashMap::new();
            map.insert(bytes, 1);
            assert_eq!(map.get(&source[..]), Some(&1));
        }
    }
}
