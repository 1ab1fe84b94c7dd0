//! An order-statistics tree: (score, member) entries kept in Redis's sorted
//! set order, where finding the k-th entry, an entry's rank, or how many
//! entries come before a bound all take O(log n).
//!
//! It is a treap: a binary search tree by key that is also a heap by a random
//! priority, which keeps it balanced in expectation without any rebalancing
//! rules. Every node knows the size of its subtree, which is what turns "find
//! the k-th" and "count what comes before" into a single walk from the root.
//! Insertion and removal are built from two primitives, `split` and `merge`.
//!
//! Nodes live in one `Vec` and point to each other by index (no `unsafe`, no
//! `Rc`). A removed node's slot is filled by the last node of the `Vec`, so
//! the arena never has holes.

use super::dict::Key;
use std::cmp::Ordering;

/// "No node": the link of an empty subtree.
const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    score: f64,
    member: Key,
    left: u32,
    right: u32,
    /// Number of nodes in the subtree rooted here, this one included.
    size: u32,
    /// Heap priority: a parent's is never below its children's.
    priority: u32,
}

/// Redis's order: by score, then by member bytes. Scores are never NaN.
pub fn compare(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

/// Entries ordered by (score, member), each key present at most once.
#[derive(Debug, Clone)]
pub struct RankedTree {
    nodes: Vec<Node>,
    root: u32,
    /// The state of the xorshift generator that draws priorities.
    seed: u32,
}

impl Default for RankedTree {
    fn default() -> Self {
        RankedTree {
            nodes: Vec::new(),
            root: NIL,
            seed: 0x9E37_79B9,
        }
    }
}

impl RankedTree {
    /// The heap block of the nodes (members' own heap blocks are counted
    /// by the caller).
    pub fn heap_bytes(&self) -> usize {
        super::memory::block(self.nodes.capacity() * std::mem::size_of::<Node>())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    fn size(&self, node: u32) -> usize {
        if node == NIL {
            0
        } else {
            self.nodes[node as usize].size as usize
        }
    }

    fn update_size(&mut self, node: u32) {
        let n = &self.nodes[node as usize];
        let size = 1 + self.size(n.left) + self.size(n.right);
        self.nodes[node as usize].size = size as u32;
    }

    fn next_priority(&mut self) -> u32 {
        let mut x = self.seed;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.seed = x;
        x
    }

    /// Splits the subtree `node` into the entries for which `goes_left`
    /// holds and the rest; `goes_left` must hold for a prefix of the order.
    fn split(&mut self, node: u32, goes_left: &impl Fn(&Node, usize) -> bool) -> (u32, u32) {
        self.split_with_offset(node, 0, goes_left)
    }

    /// `offset` is the rank of the subtree's first entry, so predicates can
    /// split by position too.
    fn split_with_offset(
        &mut self,
        node: u32,
        offset: usize,
        goes_left: &impl Fn(&Node, usize) -> bool,
    ) -> (u32, u32) {
        if node == NIL {
            return (NIL, NIL);
        }
        let (left, right) = (
            self.nodes[node as usize].left,
            self.nodes[node as usize].right,
        );
        let rank = offset + self.size(left);
        if goes_left(&self.nodes[node as usize], rank) {
            let (l, r) = self.split_with_offset(right, rank + 1, goes_left);
            self.nodes[node as usize].right = l;
            self.update_size(node);
            (node, r)
        } else {
            let (l, r) = self.split_with_offset(left, offset, goes_left);
            self.nodes[node as usize].left = r;
            self.update_size(node);
            (l, node)
        }
    }

    /// Joins two subtrees where every entry of `a` comes before every entry
    /// of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].priority >= self.nodes[b as usize].priority {
            let joined = self.merge(self.nodes[a as usize].right, b);
            self.nodes[a as usize].right = joined;
            self.update_size(a);
            a
        } else {
            let joined = self.merge(a, self.nodes[b as usize].left);
            self.nodes[b as usize].left = joined;
            self.update_size(b);
            b
        }
    }

    /// Adds an entry; the caller guarantees the member is not present.
    pub fn insert(&mut self, score: f64, member: Key) {
        let priority = self.next_priority();
        let (left, right) = {
            let member = &member;
            self.split(self.root, &|n: &Node, _| {
                compare(n.score, &n.member, score, member) == Ordering::Less
            })
        };
        let index = self.nodes.len() as u32;
        self.nodes.push(Node {
            score,
            member,
            left: NIL,
            right: NIL,
            size: 1,
            priority,
        });
        let left = self.merge(left, index);
        self.root = self.merge(left, right);
    }

    /// Removes the entry (score, member); returns false when it is absent.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let (before, rest) = self.split(self.root, &|n: &Node, _| {
            compare(n.score, &n.member, score, member) == Ordering::Less
        });
        let (found, after) = self.split(rest, &|_, rank| rank < 1);
        let matches = found != NIL && {
            let n = &self.nodes[found as usize];
            compare(n.score, &n.member, score, member) == Ordering::Equal
        };
        let rest = if matches {
            after
        } else {
            self.merge(found, after)
        };
        self.root = self.merge(before, rest);
        if matches {
            self.free(found);
        }
        matches
    }

    /// Drops the detached node `index`: the last node of the arena moves
    /// into its slot, and the link that pointed to it is redirected.
    fn free(&mut self, index: u32) {
        let last = (self.nodes.len() - 1) as u32;
        if index != last {
            let (score, member) = (
                self.nodes[last as usize].score,
                &self.nodes[last as usize].member,
            );
            // Walk from the root to the link that holds `last`.
            let mut parent = NIL;
            let mut node = self.root;
            while node != last {
                parent = node;
                let n = &self.nodes[node as usize];
                node = match compare(score, member, n.score, &n.member) {
                    Ordering::Less => n.left,
                    _ => n.right,
                };
            }
            if parent == NIL {
                self.root = index;
            } else if self.nodes[parent as usize].left == last {
                self.nodes[parent as usize].left = index;
            } else {
                self.nodes[parent as usize].right = index;
            }
        }
        self.nodes.swap_remove(index as usize);
        if self.nodes.capacity() > 64 && self.nodes.len() < self.nodes.capacity() / 4 {
            self.nodes.shrink_to(self.nodes.len() * 2);
        }
    }

    /// How many entries satisfy `before`, which must hold for a prefix of
    /// the order (e.g. "score below 3"). This is a rank: O(log n).
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut count = 0;
        let mut node = self.root;
        while node != NIL {
            let n = &self.nodes[node as usize];
            if before(n.score, &n.member) {
                count += self.size(n.left) + 1;
                node = n.right;
            } else {
                node = n.left;
            }
        }
        count
    }

    /// The 0-based rank of (score, member), which must be present.
    pub fn rank(&self, score: f64, member: &[u8]) -> usize {
        self.count_before(|s, m| compare(s, m, score, member) == Ordering::Less)
    }

    /// The entry at `rank` (0 is the lowest).
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.iter_from(rank).next()
    }

    /// Entries in ascending order, starting at `rank`.
    pub fn iter_from(&self, rank: usize) -> Iter<'_> {
        self.iter_at(rank, false)
    }

    /// Entries in descending order, starting at `rank` (counted from the
    /// lowest) and going down.
    pub fn iter_rev_from(&self, rank: usize) -> Iter<'_> {
        self.iter_at(rank, true)
    }

    /// The walk to `rank` leaves on the stack exactly the ancestors an
    /// in-order iterator still has to visit in that direction.
    fn iter_at(&self, rank: usize, reverse: bool) -> Iter<'_> {
        let mut stack = Vec::new();
        let mut node = self.root;
        let mut rank = rank;
        while node != NIL {
            let n = &self.nodes[node as usize];
            let left = self.size(n.left);
            match rank.cmp(&left) {
                Ordering::Less => {
                    if !reverse {
                        stack.push(node);
                    }
                    node = n.left;
                }
                Ordering::Equal => {
                    stack.push(node);
                    break;
                }
                Ordering::Greater => {
                    if reverse {
                        stack.push(node);
                    }
                    rank -= left + 1;
                    node = n.right;
                }
            }
        }
        Iter {
            tree: self,
            stack,
            reverse,
        }
    }
}

/// An in-order walk in either direction; each step is O(1) amortized.
pub struct Iter<'a> {
    tree: &'a RankedTree,
    /// Nodes still to yield, the next on top; each one's subtree on the far
    /// side of the walk is still unvisited.
    stack: Vec<u32>,
    reverse: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        let nodes = &self.tree.nodes;
        let node = &nodes[self.stack.pop()? as usize];
        // Descend into the subtree that comes next, as far as it goes.
        let mut next = if self.reverse { node.left } else { node.right };
        while next != NIL {
            self.stack.push(next);
            let n = &nodes[next as usize];
            next = if self.reverse { n.right } else { n.left };
        }
        Some((&node.member, node.score))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic xorshift64 so failures replay.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn model_sort(model: &mut [(f64, Vec<u8>)]) {
        model.sort_by(|a, b| compare(a.0, &a.1, b.0, &b.1));
    }

    fn check_against(tree: &RankedTree, model: &[(f64, Vec<u8>)], rng: &mut Rng) {
        assert_eq!(tree.len(), model.len());
        let all: Vec<(Vec<u8>, f64)> = tree.iter_from(0).map(|(m, s)| (m.to_vec(), s)).collect();
        let expected: Vec<(Vec<u8>, f64)> = model.iter().map(|(s, m)| (m.clone(), *s)).collect();
        assert_eq!(all, expected);
        if model.is_empty() {
            assert!(tree.get(0).is_none());
            return;
        }
        for _ in 0..5 {
            let k = rng.below(model.len() as u64) as usize;
            let (score, member) = &model[k];
            assert_eq!(tree.rank(*score, member), k);
            assert_eq!(tree.get(k), Some((&member[..], *score)));
            let forward: Vec<_> = tree.iter_from(k).take(3).map(|(m, _)| m.to_vec()).collect();
            let want: Vec<_> = model[k..].iter().take(3).map(|(_, m)| m.clone()).collect();
            assert_eq!(forward, want);
            let back: Vec<_> = tree
                .iter_rev_from(k)
                .take(3)
                .map(|(m, _)| m.to_vec())
                .collect();
            let want: Vec<_> = model[..=k]
                .iter()
                .rev()
                .take(3)
                .map(|(_, m)| m.clone())
                .collect();
            assert_eq!(back, want);
            let bound = *score;
            assert_eq!(
                tree.count_before(|s, _| s < bound),
                model.iter().filter(|(s, _)| *s < bound).count()
            );
        }
    }

    #[test]
    fn random_operations_match_a_sorted_vec() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let mut tree = RankedTree::default();
        let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
        for step in 0..20_000 {
            let member = format!("m{}", rng.below(500)).into_bytes();
            // Few distinct scores, so ties by member are common.
            let score = (rng.below(40) as f64 - 20.0) / 4.0;
            let present = model.iter().position(|(_, m)| *m == member);
            match (rng.below(3), present) {
                (0 | 1, None) => {
                    tree.insert(score, member.clone().into());
                    model.push((score, member));
                    model_sort(&mut model);
                }
                (_, Some(i)) => {
                    let (old, _) = model.remove(i);
                    assert!(tree.remove(old, &member));
                    assert!(!tree.remove(old, &member));
                }
                (_, None) => assert!(!tree.remove(score, &member)),
            }
            if step % 97 == 0 {
                check_against(&tree, &model, &mut rng);
            }
        }
        check_against(&tree, &model, &mut rng);
        while let Some((score, member)) = model.pop() {
            assert!(tree.remove(score, &member));
        }
        assert_eq!(tree.len(), 0);
        assert!(tree.iter_from(0).next().is_none());
    }

    #[test]
    fn iterators_past_the_ends_are_empty() {
        let mut tree = RankedTree::default();
        for i in 0..10 {
            tree.insert(f64::from(i), vec![b'a' + i as u8].into());
        }
        assert!(tree.iter_from(10).next().is_none());
        assert_eq!(tree.iter_rev_from(9).count(), 10);
        assert_eq!(tree.iter_rev_from(0).count(), 1);
        assert_eq!(tree.get(3), Some((&b"d"[..], 3.0)));
    }

    #[test]
    fn a_large_tree_stays_shallow() {
        let mut tree = RankedTree::default();
        for i in 0..100_000u32 {
            tree.insert(f64::from(i % 7), i.to_be_bytes().to_vec().into());
        }
        fn depth(t: &RankedTree, n: u32) -> usize {
            if n == NIL {
                0
            } else {
                let node = &t.nodes[n as usize];
                1 + depth(t, node.left).max(depth(t, node.right))
            }
        }
        // Expected depth is about 2.99 log2(n) = 50 for a random treap.
        assert!(depth(&tree, tree.root) < 100);
        assert_eq!(tree.rank(0.0, &7u32.to_be_bytes()), 1);
    }
}
