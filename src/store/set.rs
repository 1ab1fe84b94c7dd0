//! The set type: unique members. Also home of the random picks that sets
//! and hashes share (SPOP, SRANDMEMBER, HRANDFIELD).

use crate::util::{parse_i64, Rng};
use std::collections::HashSet;

use super::dict::{Dict, Key};
use super::hash::reserve;

/// Redis 7.0's default `set-max-intset-entries`: a set of integers up to
/// this size is compact. (The set does not see the server's configuration;
/// changing the setting does not change respd's encoding.)
const COMPACT_MAX_MEMBERS: usize = 512;

/// A set. Commands use only these methods, so the representation can
/// change without touching them.
#[derive(Debug, Clone)]
pub struct Set {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    /// Integers only, as Redis's intset: each member's decimal text after a
    /// one-byte length, sorted by value (so SMEMBERS lists them in order,
    /// as Redis does). A member costs 1 + its digits instead of ~40 bytes
    /// of table slot and inline string.
    Ints { text: Vec<u8>, len: usize },
    /// Members as keys with no value: the unit value takes no room.
    Table(Dict<()>),
}

impl Default for Set {
    fn default() -> Self {
        Set {
            repr: Repr::Ints {
                text: Vec::new(),
                len: 0,
            },
        }
    }
}

/// The members of an integer set's text, each with the offset where its
/// length byte sits.
fn ints(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let start = at;
        let len = usize::from(*text.get(at)?);
        at += 1 + len;
        Some((start, &text[start + 1..at]))
    })
}

impl Set {
    /// What the set's buffers cost on the heap (see `store::memory`).
    pub fn heap_bytes(&self, samples: usize) -> usize {
        match &self.repr {
            Repr::Ints { text, .. } => super::memory::block(text.capacity()),
            Repr::Table(dict) => dict.table_bytes() + dict.key_bytes(samples),
        }
    }

    /// An empty set.
    pub fn new() -> Self {
        Set::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints { len, .. } => *len,
            Repr::Table(table) => table.len(),
        }
    }

    /// True when there are no members (the key is then deleted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING gives the representation, as Redis 7.0 does.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Ints { .. } => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// True when `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            // Stored text is canonical, so equal numbers are equal bytes.
            Repr::Ints { text, .. } => ints(text).any(|(_, m)| m == member),
            Repr::Table(table) => table.contains_key(member),
        }
    }

    /// Adds `member`; true when it was not there yet.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if self.contains(member) {
            return false;
        }
        if let (Repr::Ints { text, len }, Some(value)) = (&mut self.repr, parse_i64(member)) {
            if *len < COMPACT_MAX_MEMBERS {
                let at = ints(text)
                    .find(|(_, m)| parse_i64(m).is_some_and(|m| m > value))
                    .map_or(text.len(), |(at, _)| at);
                let entry = std::iter::once(member.len() as u8).chain(member.iter().copied());
                reserve(text, 1 + member.len());
                text.splice(at..at, entry);
                *len += 1;
                return true;
            }
        }
        // Not an integer, or one too many: a table from now on.
        self.make_table();
        if let Repr::Table(table) = &mut self.repr {
            table.insert(member.into(), ());
        }
        true
    }

    /// Turns an integer set into a table (for good, as in Redis).
    fn make_table(&mut self) {
        if let Repr::Ints { text, .. } = &self.repr {
            let mut table = Dict::new();
            for (_, member) in ints(text) {
                table.insert(member.into(), ());
            }
            self.repr = Repr::Table(table);
        }
    }

    /// Removes `member`; true when it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints { text, len } => {
                let Some((at, _)) = ints(text).find(|(_, m)| *m == member) else {
                    return false;
                };
                text.drain(at..at + 1 + member.len());
                *len -= 1;
                true
            }
            Repr::Table(table) => table.remove(member).is_some(),
        }
    }

    /// Every member: in numeric order for a set of integers, else in no
    /// particular order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = &[u8]> + '_> {
        match &self.repr {
            Repr::Ints { text, .. } => Box::new(ints(text).map(|(_, member)| member)),
            Repr::Table(table) => Box::new(table.keys().map(|member| &member[..])),
        }
    }

    /// One SSCAN step: visits members from `cursor` and returns the next
    /// cursor (0 when the walk is over). Members present for the whole walk
    /// are visited at least once. A set of integers is visited whole in one
    /// step, whatever the cursor, as Redis does with an intset.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut visit: impl FnMut(&'a [u8])) -> u64 {
        match &self.repr {
            Repr::Ints { text, .. } => {
                ints(text).for_each(|(_, member)| visit(member));
                0
            }
            Repr::Table(table) => table.scan(cursor, count, |member, _| visit(member)),
        }
    }

    /// `count` random members: all different (at most the set) when
    /// `distinct`, else drawn independently and possibly repeated.
    pub fn random_members(&self, count: usize, distinct: bool) -> Vec<&[u8]> {
        match &self.repr {
            Repr::Ints { text, .. } => {
                let all: Vec<&[u8]> = ints(text).map(|(_, member)| member).collect();
                sample_in_order(&all, count, distinct)
            }
            Repr::Table(table) => sample(table, count, distinct)
                .into_iter()
                .map(|(member, _)| &member[..])
                .collect(),
        }
    }

    /// Removes and returns a random member.
    pub fn pop_random(&mut self) -> Option<Key> {
        let member = match &self.repr {
            Repr::Ints { text, len } if *len > 0 => {
                let index = Rng::new().below(*len);
                ints(text).nth(index).map(|(_, member)| Key::from(member))
            }
            Repr::Ints { .. } => None,
            Repr::Table(table) => random_entry(table, &mut Rng::new()).map(|(m, _)| m.clone()),
        }?;
        self.remove(&member);
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

/// `count` random items of a compact encoding: drawn independently when
/// not `distinct`; otherwise by selection sampling, each item kept with
/// probability wanted/left, so the picks keep the encoding's order (the
/// whole of it when `count` is at least its size), as Redis's do.
pub(super) fn sample_in_order<T: Copy>(all: &[T], count: usize, distinct: bool) -> Vec<T> {
    let mut rng = Rng::new();
    if all.is_empty() {
        return Vec::new();
    }
    if !distinct {
        return (0..count).map(|_| all[rng.below(all.len())]).collect();
    }
    let mut wanted = count.min(all.len());
    let mut picked = Vec::with_capacity(wanted);
    for (i, item) in all.iter().enumerate() {
        if rng.below(all.len() - i) < wanted {
            picked.push(*item);
            wanted -= 1;
        }
    }
    picked
}

/// A random entry, each equally likely (see [`Dict::random_entry`]).
pub(super) fn random_entry<'a, V>(dict: &'a Dict<V>, rng: &mut Rng) -> Option<(&'a Key, &'a V)> {
    dict.random_entry(rng)
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
