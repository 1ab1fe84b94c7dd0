//! Byte strings that keep short contents inline, in 16 bytes.
//!
//! Most keys and many values are short (`user:1042`, `42`, `ok`). A
//! `Vec<u8>` or `Box<[u8]>` spends a heap block on each, 32 bytes with the
//! allocator's bookkeeping for a 10-byte string. [`Bytes`] stores up to 15
//! bytes in its own 16 bytes, and a longer string in one heap block
//! reached by a thin pointer, so that a keyspace slot (key, value, access
//! clock) takes 40 bytes rather than 56.
//!
//! A thin pointer to a block of any length needs `unsafe`; instead a
//! string of up to [`CLASS_MAX`] bytes goes in a boxed array of one of a
//! few capacities, each a whole malloc chunk with its length in its first
//! byte, so it costs the same block a `Box<[u8]>` of its length would
//! (16 bytes more at each class's last length). A longer string is a
//! `Box<Box<[u8]>>`: one 32-byte block more than a `Box<[u8]>`, for
//! strings where that is under an eighth.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The most bytes kept inline.
pub(super) const INLINE: usize = 15;

/// The longest string kept in a boxed array (a class); longer ones are
/// boxed slices.
pub(super) const CLASS_MAX: usize = 247;

/// An inline string's length: an enum rather than a `u8`, so that its
/// unused values tell the other representations apart (and `Value`'s
/// variants after them) without a separate tag byte.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum InlineLen {
    L0,
    L1,
    L2,
    L3,
    L4,
    L5,
    L6,
    L7,
    L8,
    L9,
    L10,
    L11,
    L12,
    L13,
    L14,
    L15,
}

impl InlineLen {
    const ALL: [InlineLen; INLINE + 1] = [
        InlineLen::L0,
        InlineLen::L1,
        InlineLen::L2,
        InlineLen::L3,
        InlineLen::L4,
        InlineLen::L5,
        InlineLen::L6,
        InlineLen::L7,
        InlineLen::L8,
        InlineLen::L9,
        InlineLen::L10,
        InlineLen::L11,
        InlineLen::L12,
        InlineLen::L13,
        InlineLen::L14,
        InlineLen::L15,
    ];
}

/// A string in a heap block of `N + 1` bytes: its length, then its bytes.
/// `N + 1` is 8 short of a multiple of 16, so with malloc's 8-byte header
/// the block fills its chunk exactly.
#[derive(Clone)]
pub struct Class<const N: usize> {
    len: u8,
    data: [u8; N],
}

impl<const N: usize> Class<N> {
    fn boxed(bytes: &[u8]) -> Box<Self> {
        let mut class = Box::new(Class {
            len: bytes.len() as u8,
            data: [0; N],
        });
        class.data[..bytes.len()].copy_from_slice(bytes);
        class
    }

    fn as_slice(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }
}

/// Declares the representations and the code that picks and reads them,
/// one line per class.
macro_rules! representations {
    ($($class:ident = $cap:literal),*) => {
        /// A binary-safe byte string, inline when short.
        #[derive(Clone)]
        pub struct Bytes(Repr);

        #[derive(Clone)]
        enum Repr {
            Inline { len: InlineLen, data: [u8; INLINE] },
            $($class(Box<Class<$cap>>),)*
            Long(Box<Box<[u8]>>),
        }

        impl Bytes {
            /// The contents. Inline strings, the common case, are tested
            /// first: every hash and comparison of a key comes here.
            #[inline]
            pub fn as_slice(&self) -> &[u8] {
                if let Repr::Inline { len, data } = &self.0 {
                    return &data[..*len as usize];
                }
                self.heap_slice()
            }

            fn heap_slice(&self) -> &[u8] {
                match &self.0 {
                    Repr::Inline { len, data } => &data[..*len as usize],
                    $(Repr::$class(class) => class.as_slice(),)*
                    Repr::Long(bytes) => bytes,
                }
            }

            fn short(bytes: &[u8]) -> Self {
                let len = bytes.len();
                if len <= INLINE {
                    let mut data = [0; INLINE];
                    data[..len].copy_from_slice(bytes);
                    return Bytes(Repr::Inline { len: InlineLen::ALL[len], data });
                }
                $(if len <= $cap {
                    return Bytes(Repr::$class(Class::<$cap>::boxed(bytes)));
                })*
                Bytes(Repr::Long(Box::new(bytes.into())))
            }
        }

        /// The bytes a string of `len` bytes asks the allocator for, one
        /// request per item (`store::memory` adds malloc's rounding).
        #[inline]
        pub(super) fn heap_requests(len: usize) -> [usize; 2] {
            if len <= INLINE {
                return [0, 0];
            }
            $(if len <= $cap {
                return [std::mem::size_of::<Class<$cap>>(), 0];
            })*
            [std::mem::size_of::<Box<[u8]>>(), len]
        }
    };
}

representations!(
    C23 = 23,
    C39 = 39,
    C55 = 55,
    C71 = 71,
    C87 = 87,
    C103 = 103,
    C119 = 119,
    C135 = 135,
    C151 = 151,
    C167 = 167,
    C183 = 183,
    C199 = 199,
    C215 = 215,
    C231 = 231,
    C247 = 247
);

impl Bytes {
    /// The empty string.
    pub const fn new() -> Self {
        Bytes(Repr::Inline {
            len: InlineLen::L0,
            data: [0; INLINE],
        })
    }

    /// The contents as a vector (free for long strings).
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Long(bytes) => bytes.into_vec(),
            _ => self.as_slice().to_vec(),
        }
    }

    /// Changes the contents in place (APPEND, SETRANGE, SETBIT).
    pub fn edit<R>(&mut self, change: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut bytes = std::mem::take(self).into_vec();
        let result = change(&mut bytes);
        *self = Bytes::from(bytes);
        result
    }

    /// True when the contents live in the handle itself.
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes::new()
    }
}

impl From<&[u8]> for Bytes {
    fn from(bytes: &[u8]) -> Self {
        Bytes::short(bytes)
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        if bytes.len() <= CLASS_MAX {
            Bytes::short(&bytes)
        } else {
            Bytes(Repr::Long(Box::new(bytes.into_boxed_slice())))
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
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Bytes {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Lets maps keyed by `Bytes` be searched with a `&[u8]`.
impl Borrow<[u8]> for Bytes {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Hashes exactly as `[u8]` does, as `Borrow` requires.
impl Hash for Bytes {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl PartialEq for Bytes {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Bytes {}

impl PartialEq<[u8]> for Bytes {
    #[inline]
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
        assert_eq!(std::mem::size_of::<Bytes>(), 16);
        // The string's unused tag values carry Value's variants too.
        assert_eq!(std::mem::size_of::<crate::store::Value>(), 16);
        for len in [0usize, 1, 15, 16, 23, 24, 100, 247, 248, 1000] {
            let source: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let bytes = Bytes::from(source.clone());
            assert_eq!(bytes.as_slice(), &source[..]);
            assert_eq!(Bytes::from(&source[..]).as_slice(), &source[..]);
            assert_eq!(bytes.is_inline(), len <= INLINE);
            let mut grown = bytes.clone();
            grown.edit(|v| v.extend_from_slice(b"xyz"));
            assert_eq!(grown.len(), len + 3);
            assert_eq!(&grown[..len], &source[..]);
            let mut map = std::collections::HashMap::new();
            map.insert(bytes, 1);
            assert_eq!(map.get(&source[..]), Some(&1));
        }
    }

    #[test]
    fn each_class_fills_its_malloc_chunk() {
        for len in 16..=CLASS_MAX {
            let [request, rest] = heap_requests(len);
            assert_eq!(rest, 0);
            assert!(request > len && (request + 8) % 16 == 0, "{len}: {request}");
        }
        assert_eq!(heap_requests(CLASS_MAX + 1), [16, CLASS_MAX + 1]);
    }
}
