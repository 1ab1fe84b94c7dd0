//! The sorted set type: members ordered by score, then by member.
//!
//! Two structures hold the same entries, as Redis's skiplist encoding does:
//! a [`Dict`] from member to score (ZSCORE in O(1), ZSCAN's cursor) and a
//! [`RankedTree`] in (score, member) order (ranks and ranges in O(log n)).

use std::ops::Range;

use super::dict::{Dict, Key};
use super::ranked_tree::{Iter, RankedTree};

/// One end of a score range: `1.5` includes it, `(1.5` excludes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// Redis's defaults for `zset-max-listpack-entries` and `-value`.
const LISTPACK_MAX_ENTRIES: usize = 128;
const LISTPACK_MAX_VALUE: usize = 64;

/// One end of a lexicographic range: `-`, `+`, `[member` or `(member`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

impl LexBound {
    /// As a range's minimum: `member` is past it (`>=`, or `>` when
    /// exclusive).
    pub fn at_or_below(&self, member: &[u8]) -> bool {
        match self {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Inclusive(b) => member >= &b[..],
            LexBound::Exclusive(b) => member > &b[..],
        }
    }

    /// As a range's maximum: `member` is before it (`<=`, or `<`).
    pub fn at_or_above(&self, member: &[u8]) -> bool {
        match self {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(b) => member <= &b[..],
            LexBound::Exclusive(b) => member < &b[..],
        }
    }

    /// Redis's test for ranges that are always empty: min above max, or
    /// equal with either end exclusive (`-` and `+` count as exclusive).
    fn always_empty(min: &LexBound, max: &LexBound) -> bool {
        let key = |b: &LexBound| -> (u8, Vec<u8>, bool) {
            match b {
                LexBound::NegInf => (0, Vec::new(), true),
                LexBound::Inclusive(v) => (1, v.clone(), false),
                LexBound::Exclusive(v) => (1, v.clone(), true),
                LexBound::PosInf => (2, Vec::new(), true),
            }
        };
        let ((min_rank, min_text, min_ex), (max_rank, max_text, max_ex)) = (key(min), key(max));
        match (min_rank, min_text).cmp(&(max_rank, max_text)) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => min_ex || max_ex,
            std::cmp::Ordering::Less => false,
        }
    }
}

/// A sorted set. Commands use only these methods.
#[derive(Debug, Clone, Default)]
pub struct ZSet {
    scores: Dict<f64>,
    order: RankedTree,
}

impl ZSet {
    /// What the sorted set costs on the heap: its member table, and its
    /// tree, which holds a second copy of each member (see `store::memory`).
    pub fn heap_bytes(&self, samples: usize) -> usize {
        let keys = self.scores.key_bytes(samples);
        self.scores.table_bytes() + keys + self.order.heap_bytes() + keys
    }

    /// An empty sorted set.
    pub fn new() -> Self {
        ZSet::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// True when there are no members (the key is then deleted).
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// Sets the score of `member`, adding it if needed; returns the score
    /// it had. `score` must not be NaN.
    pub fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        // -0 is stored as 0: Redis's compact encoding keeps scores as text
        // and reads "-0" back as 0, so clients never see a negative zero.
        let score = score + 0.0;
        match self.scores.get_mut(member) {
            // Same score, same place: nothing changes (as Redis, -0 == 0
            // keeps the old one).
            Some(slot) if *slot == score => Some(score),
            Some(slot) => {
                let old = std::mem::replace(slot, score);
                self.order.remove(old, member);
                self.order.insert(score, member.into());
                Some(old)
            }
            None => {
                self.scores.insert(member.into(), score);
                self.order.insert(score, member.into());
                debug_assert_eq!(self.scores.len(), self.order.len());
                None
            }
        }
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.scores.remove(member)?;
        self.order.remove(score, member);
        Some(score)
    }

    /// The 0-based rank of `member`, lowest score first.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.order.rank(score, member))
    }

    /// The member and score at `rank` (0 is the lowest).
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.order.get(rank)
    }

    /// Members and scores in ascending order from `rank`.
    pub fn iter_from(&self, rank: usize) -> Iter<'_> {
        self.order.iter_from(rank)
    }

    /// Members and scores in descending order from `rank` (counted from the
    /// lowest) downwards.
    pub fn iter_rev_from(&self, rank: usize) -> Iter<'_> {
        self.order.iter_rev_from(rank)
    }

    /// Every member and score, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> {
        self.scores.iter().map(|(m, &s)| (&m[..], s))
    }

    /// The ranks of the members whose scores lie between `min` and `max`.
    pub fn score_ranks(&self, min: ScoreBound, max: ScoreBound) -> Range<usize> {
        let start = self
            .order
            .count_before(|s, _| s < min.value || (min.exclusive && s == min.value));
        let end = self
            .order
            .count_before(|s, _| s < max.value || (!max.exclusive && s == max.value));
        start..end.max(start)
    }

    /// The ranks of the members between `min` and `max` in byte order, as
    /// Redis finds them (`reverse` when it walks from the highest score).
    ///
    /// With equal scores (what the commands are for) that is a binary
    /// search. A set small enough for Redis's listpack (128 members of up
    /// to 64 bytes, its defaults) is walked as Redis walks the listpack, so
    /// differing scores give Redis's answer too: nothing unless the last
    /// member is `>= min` and the first `<= max`; then the first member
    /// `>= min` (from the top: the first `<= max`) must be in range, and
    /// the run goes on while members stay `<= max` (`>= min`).
    pub fn lex_ranks(&self, min: &LexBound, max: &LexBound, reverse: bool) -> Range<usize> {
        if self.len() <= LISTPACK_MAX_ENTRIES
            && self
                .order
                .iter_from(0)
                .all(|(m, _)| m.len() <= LISTPACK_MAX_VALUE)
        {
            return self.listpack_lex_ranks(min, max, reverse);
        }
        let start = self.order.count_before(|_, m| !min.at_or_below(m));
        let end = self.order.count_before(|_, m| max.at_or_above(m));
        start..end.max(start)
    }

    fn listpack_lex_ranks(&self, min: &LexBound, max: &LexBound, reverse: bool) -> Range<usize> {
        let len = self.len();
        let (Some((first, _)), Some((last, _))) = (self.get(0), self.get(len.saturating_sub(1)))
        else {
            return 0..0;
        };
        if LexBound::always_empty(min, max) || !min.at_or_below(last) || !max.at_or_above(first) {
            return 0..0;
        }
        if reverse {
            let mut walk = self.order.iter_rev_from(len - 1).enumerate();
            let Some((top, _)) = walk.find(|(_, (m, _))| max.at_or_above(m)) else {
                return 0..0;
            };
            let top = len - 1 - top;
            let run = self
                .order
                .iter_rev_from(top)
                .take_while(|(m, _)| min.at_or_below(m))
                .count();
            top + 1 - run..top + 1
        } else {
            let mut walk = self.order.iter_from(0).enumerate();
            let Some((start, _)) = walk.find(|(_, (m, _))| min.at_or_below(m)) else {
                return 0..0;
            };
            let run = self
                .order
                .iter_from(start)
                .take_while(|(m, _)| max.at_or_above(m))
                .count();
            start..start + run
        }
    }

    /// Removes the members whose ranks are in `ranks`; returns them.
    pub fn remove_ranks(&mut self, ranks: Range<usize>) -> Vec<(Key, f64)> {
        let doomed: Vec<(Key, f64)> = self
            .order
            .iter_from(ranks.start)
            .take(ranks.len())
            .map(|(m, s)| (m.into(), s))
            .collect();
        for (member, _) in &doomed {
            self.remove(member);
        }
        doomed
    }

    /// ZSCAN's walk: visits members from `cursor`, returns the next cursor.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], f64),
    ) -> u64 {
        self.scores.scan(cursor, count, |m, &s| visit(m, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(value: f64, exclusive: bool) -> ScoreBound {
        ScoreBound { value, exclusive }
    }

    #[test]
    fn scores_ranks_and_ranges() {
        let mut z = ZSet::new();
        for (m, s) in [("a", 1.0), ("b", 2.0), ("c", 2.0), ("d", 3.0)] {
            assert_eq!(z.insert(m.as_bytes(), s), None);
        }
        assert_eq!(z.insert(b"a", 5.0), Some(1.0));
        assert_eq!(z.rank(b"a"), Some(3));
        assert_eq!(z.rank(b"b"), Some(0));
        assert_eq!(z.score_ranks(bound(2.0, false), bound(3.0, false)), 0..3);
        assert_eq!(z.score_ranks(bound(2.0, true), bound(3.0, false)), 2..3);
        assert_eq!(z.score_ranks(bound(4.0, false), bound(1.0, false)), 3..3);
        let mut same = ZSet::new();
        for m in ["a", "b", "c", "d"] {
            same.insert(m.as_bytes(), 0.0);
        }
        let lex = same.lex_ranks(
            &LexBound::Exclusive(b"b".to_vec()),
            &LexBound::PosInf,
            false,
        );
        assert_eq!(lex, 2..4);
        let lex = same.lex_ranks(
            &LexBound::NegInf,
            &LexBound::Inclusive(b"b".to_vec()),
            false,
        );
        assert_eq!(lex, 0..2);
        let gone = z.remove_ranks(1..3);
        assert_eq!(gone.len(), 2);
        assert_eq!(z.len(), 2);
        assert_eq!(z.remove(b"b"), Some(2.0));
        assert_eq!(z.get(0), Some((&b"a"[..], 5.0)));
        assert_eq!(z.remove(b"zz"), None);
    }
}
