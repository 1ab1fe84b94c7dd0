//! What respd's data costs in bytes, without an allocator hook (the crate
//! forbids `unsafe`): each type says what its heap blocks take, with the
//! system allocator's rounding ([`block`]). [`super::Db`] keeps a running
//! sum per database, updated where keys are stored, replaced, changed in
//! place and removed; INFO memory, MEMORY USAGE and maxmemory read it.

/// What one heap block of `size` bytes costs from glibc's malloc: an 8-byte
/// header, rounded up to 16, at least 32 (nothing for an empty request).
#[inline]
pub fn block(size: usize) -> usize {
    if size == 0 {
        0
    } else {
        (size + 8).div_ceil(16).max(2) * 16
    }
}

/// The heap cost of a `hashbrown` table holding up to `capacity` entries
/// of `slot` bytes each (the standard `HashMap`): one block of slots plus a
/// control byte per slot and a group's worth more.
pub fn table(capacity: usize, slot: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 4 {
        4
    } else if capacity < 8 {
        8
    } else {
        (capacity * 8 / 7).next_power_of_two()
    };
    block(buckets * slot + buckets + 16)
}

/// The heap cost of a key or string held as [`super::Bytes`]: none when
/// inline, one block up to 247 bytes, two beyond.
#[inline]
pub fn bytes(len: usize) -> usize {
    let [first, second] = super::bytes::heap_requests(len);
    block(first) + block(second)
}

/// Collections up to this many elements are measured whole when they
/// change; bigger ones are re-measured from a sample, scaled to their
/// length (as Redis's MEMORY USAGE samples).
pub const EXACT_UP_TO: usize = 1024;

/// How many elements MEMORY USAGE and the running count sample in a big
/// collection.
pub const SAMPLES: usize = 64;

/// What `value` costs beyond the keyspace slot that holds it: its boxes and
/// buffers. `samples` bounds the elements visited (0: all of them).
pub fn value(value: &super::Value, samples: usize) -> usize {
    use super::Value;
    match value {
        Value::Str(text) => bytes(text.len()),
        Value::List(list) => {
            let boxed = block(std::mem::size_of::<std::collections::VecDeque<Vec<u8>>>());
            let slots = block(list.capacity() * std::mem::size_of::<Vec<u8>>());
            let each = |item: &Vec<u8>| block(item.capacity());
            boxed + slots + sampled(list.len(), samples, list.iter().map(each))
        }
        Value::Hash(hash) => block(std::mem::size_of::<super::Hash>()) + hash.heap_bytes(samples),
        Value::Set(set) => block(std::mem::size_of::<super::Set>()) + set.heap_bytes(samples),
        Value::ZSet(zset) => block(std::mem::size_of::<super::ZSet>()) + zset.heap_bytes(samples),
        Value::Stream(stream) => {
            block(std::mem::size_of::<super::Stream>()) + stream.heap_bytes(samples)
        }
    }
}

/// The sum of `costs` over `len` elements, or, with `samples` below `len`,
/// the first `samples` costs scaled up to `len`.
pub fn sampled(len: usize, samples: usize, costs: impl Iterator<Item = usize>) -> usize {
    if samples == 0 || len <= samples {
        return costs.sum();
    }
    let seen: usize = costs.take(samples).sum();
    seen * len / samples
}

#[cfg(test)]
mod tests {
    #[test]
    fn blocks_round_as_glibc() {
        assert_eq!(super::block(1), 32);
        assert_eq!(super::block(24), 32);
        assert_eq!(super::block(25), 48);
        assert_eq!(super::block(0), 0);
    }
}
