//! The set type: unique members. Also home of the random picks that sets
//! and hashes share (SPOP, SRANDMEMBER, HRANDFIELD).

use crate::util::Rng;
use std::collections::HashSet;

use super::dict::{Dict, Key};

/// A set. Commands use only these methods, so the representation can
/// change (a compact encoding for small sets, say) without touching them.
///
/// A member costs its boxed bytes (16 bytes of pointer and length) plus the
/// hash table's slot; the unit value takes no room.
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

    /// True when `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        self.members.contains_key(member)
    }

    /// Adds `member`; true when it was not there yet.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if self.contains(member) {
            return false;
        }
        self.members.insert(member.into(), ());
        true
    }

    /// Removes `member`; true when it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        self.members.remove(member).is_some()
    }

    /// Every member, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.members.keys().map(|member| &member[..])
    }

    /// One SSCAN step: visits members from `cursor` and returns the next
    /// cursor (0 when the walk is over). Members present for the whole walk
    /// are visited at least once.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut visit: impl FnMut(&'a [u8])) -> u64 {
        self.members.scan(cursor, count, |member, _| visit(member))
    }

    /// `count` random members: all different (at most the whole set) when
    /// `distinct`, else drawn independently and possibly repeated.
    pub fn random_members(&self, count: usize, distinct: bool) -> Vec<&[u8]> {
        sample(&self.members, count, distinct)
            .into_iter()
            .map(|(member, _)| &member[..])
            .collect()
    }

    /// Removes and returns a random member.
    pub fn pop_random(&mut self) -> Option<Key> {
        let member = random_entry(&self.members, &mut Rng::new())?.0.clone();
        self.members.remove(&member[..]);
        Some(member)
    }
}

impl<'a> FromIterator<&'a [u8]> for Set {
    fn from_iter<I: IntoIterator<Item = &'a [u8]>>(members: I) -> Self {
        let mut set = Set::new();
        for member in members {
            set.insert(member);
        }
        set
    }
}

/// A random entry: a random bucket, then a random entry in it (buckets hold
/// a handful of entries, and the map shrinks before most are empty).
pub(super) fn random_entry<'a, V>(dict: &'a Dict<V>, rng: &mut Rng) -> Option<(&'a Key, &'a V)> {
    if dict.is_empty() {
        return None;
    }
    loop {
        let cursor = rng.next_u64();
        let mut in_bucket = 0;
        dict.scan_bucket(cursor, |_, _| in_bucket += 1);
        if in_bucket == 0 {
            continue;
        }
        let mut wanted = rng.below(in_bucket);
        let mut found = None;
        dict.scan_bucket(cursor, |key, value| {
            if wanted == 0 && found.is_none() {
                found = Some((key, value));
            }
            wanted = wanted.wrapping_sub(1);
        });
        return found;
    }
}

/// `count` random entries, as Redis picks them for SRANDMEMBER and
/// HRANDFIELD: with repeats when not `distinct`; otherwise the whole map
/// when it is no larger than `count`, a partial shuffle when `count` is a
/// large share of it, and random draws skipping duplicates when small.
pub(super) fn sample<V>(dict: &Dict<V>, count: usize, distinct: bool) -> Vec<(&Key, &V)> {
    let mut rng = Rng::new();
    if !distinct {
        return (0..count)
            .filter_map(|_| random_entry(dict, &mut rng))
            .collect();
    }
    if count >= dict.len() {
        return dict.iter().collect();
    }
    if count.saturating_mul(3) > dict.len() {
        let mut all: Vec<_> = dict.iter().collect();
        for i in 0..count {
            let j = i + rng.below(all.len() - i);
            all.swap(i, j);
        }
        all.truncate(count);
        return all;
    }
    let mut seen = HashSet::with_capacity(count);
    let mut picked = Vec::with_capacity(count);
    while picked.len() < count {
        if let Some((key, value)) = random_entry(dict, &mut rng) {
            if seen.insert(&key[..]) {
                picked.push((key, value));
            }
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(n: usize) -> Set {
        let members: Vec<Vec<u8>> = (0..n).map(|i| i.to_string().into_bytes()).collect();
        members.iter().map(|m| &m[..]).collect()
    }

    #[test]
    fn distinct_samples_have_no_repeats_and_belong_to_the_set() {
        let set = numbers(100);
        for count in [0, 1, 10, 40, 99, 100, 150] {
            let picked = set.random_members(count, true);
            assert_eq!(picked.len(), count.min(100));
            let unique: HashSet<&[u8]> = picked.iter().copied().collect();
            assert_eq!(unique.len(), picked.len());
            assert!(picked.iter().all(|m| set.contains(m)));
        }
    }

    #[test]
    fn samples_with_repeats_have_the_asked_length() {
        let set = numbers(3);
        let picked = set.random_members(50, false);
        assert_eq!(picked.len(), 50);
        assert!(picked.iter().all(|m| set.contains(m)));
        // 50 draws from 3 members: every member shows up, in practice.
        let unique: HashSet<&[u8]> = picked.into_iter().collect();
        assert_eq!(unique.len(), 3);
    }

    #[test]
    fn popping_empties_the_set() {
        let mut set = numbers(20);
        let mut popped = HashSet::new();
        while let Some(member) = set.pop_random() {
            assert!(popped.insert(member));
        }
        assert_eq!(popped.len(), 20);
        assert!(set.is_empty());
    }
}
