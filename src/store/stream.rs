//! The stream type: entries ordered by ID, and consumer groups.
//!
//! Entries live in a `BTreeMap` keyed by ID, so appending and reading a
//! range by ID are O(log n). Redis stores them in listpack "nodes" of up to
//! `stream-node-max-entries` entries (and `stream-node-max-bytes` bytes),
//! and approximate trimming (`MAXLEN ~`, `MINID ~`) removes only whole
//! nodes. To give the same observable results (XLEN after `XADD ... MAXLEN ~
//! n`, XINFO's radix-tree counts), the stream keeps a light shadow of those
//! nodes: where each starts and ends, how many live and deleted entries it
//! holds and roughly how many bytes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A stream entry ID: milliseconds and a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const ZERO: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The next ID, or None after the last possible one.
    pub fn next(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId::new(ms + 1, 0)),
            (ms, seq) => Some(StreamId::new(ms, seq + 1)),
        }
    }

    /// The previous ID, or None before 0-0.
    pub fn prev(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId::new(ms - 1, u64::MAX)),
            (ms, seq) => Some(StreamId::new(ms, seq - 1)),
        }
    }

    /// The ID as `ms-seq` text.
    pub fn to_bytes(self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Field-value pairs of one entry, flattened: field, value, field, value...
pub type Fields = Vec<Vec<u8>>;

/// How to trim a stream (XADD's and XTRIM's MAXLEN / MINID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries with a smaller ID.
    MinId(StreamId),
}

/// Redis's listpack node sizes: `stream-node-max-entries` (0 = no limit)
/// and `stream-node-max-bytes` (0 = the listpack maximum).
#[derive(Debug, Clone, Copy)]
pub struct NodeLimits {
    pub max_entries: u64,
    pub max_bytes: u64,
}

/// The node sizes kept in atomics, copied from the configuration at the
/// start and on CONFIG SET: XADD reads them on every call, and reading
/// the configuration itself (a lock and two string parses) cost more than
/// the append.
#[derive(Debug)]
pub struct NodeLimitSettings {
    max_entries: AtomicU64,
    max_bytes: AtomicU64,
}

impl Default for NodeLimitSettings {
    /// Redis's defaults.
    fn default() -> Self {
        NodeLimitSettings {
            max_entries: AtomicU64::new(100),
            max_bytes: AtomicU64::new(4096),
        }
    }
}

impl NodeLimitSettings {
    pub fn get(&self) -> NodeLimits {
        NodeLimits {
            max_entries: self.max_entries.load(Ordering::Relaxed),
            max_bytes: self.max_bytes.load(Ordering::Relaxed),
        }
    }

    pub fn set(&self, limits: NodeLimits) {
        self.max_entries
            .store(limits.max_entries, Ordering::Relaxed);
        self.max_bytes.store(limits.max_bytes, Ordering::Relaxed);
    }
}

/// One of Redis's listpack nodes, as far as its observable effects go.
#[derive(Debug, Clone)]
struct Node {
    /// The node's key in Redis's radix tree: the first ID appended to it.
    master: StreamId,
    /// The last ID appended (deleted or not).
    last: StreamId,
    /// The fields of the first entry; later entries with the same fields
    /// take less room.
    master_fields: Vec<Vec<u8>>,
    live: u64,
    /// The IDs of its deleted entries, in order: Redis keeps them in the
    /// listpack, flagged, until the node goes, and the RDB format carries
    /// them.
    tombstones: Vec<StreamId>,
    /// An estimate of the listpack's size.
    bytes: u64,
}

impl Node {
    /// Records the deleted entry `id`, keeping the tombstones in order.
    fn bury(&mut self, id: StreamId) {
        let at = self.tombstones.partition_point(|t| *t < id);
        self.tombstones.insert(at, id);
    }
}

/// A listpack node as Redis lays it out, for the RDB format: the master
/// entry's ID (the node's key) and fields, and every entry in ID order,
/// `None` for a deleted one.
pub struct NodeImage<'a> {
    pub master: StreamId,
    pub master_fields: &'a [Vec<u8>],
    pub entries: Vec<(StreamId, Option<&'a Fields>)>,
}

/// A pending (delivered, not yet acknowledged) entry of a group.
#[derive(Debug, Clone)]
pub struct Nack {
    pub consumer: Vec<u8>,
    /// Unix time in ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, Default)]
pub struct Consumer {
    /// Unix time in ms it was last seen (XINFO's idle).
    pub seen_time: u64,
    /// The IDs pending for it (the group's PEL holds the details).
    pub pending: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone)]
pub struct Group {
    pub last_id: StreamId,
    /// Entries the group has read (its logical position), when known.
    pub entries_read: Option<u64>,
    /// The pending entries list.
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

impl Group {
    /// The consumer named `name`, created if missing, seen at `now`.
    /// True in the second field when it was created.
    pub fn consumer(&mut self, name: &[u8], now: u64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        let consumer = self.consumers.entry(name.to_vec()).or_default();
        consumer.seen_time = now;
        (consumer, created)
    }

    /// Hands the pending entry `id` to consumer `to` (which must exist).
    pub fn reassign(&mut self, id: StreamId, to: &[u8]) {
        let Some(nack) = self.pel.get_mut(&id) else {
            return;
        };
        if nack.consumer != to {
            if let Some(old) = self.consumers.get_mut(&nack.consumer) {
                old.pending.remove(&id);
            }
            nack.consumer = to.to_vec();
        }
        if let Some(consumer) = self.consumers.get_mut(to) {
            consumer.pending.insert(id);
        }
    }

    /// Drops the pending entry `id`; true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(nack) = self.pel.remove(&id) else {
            return false;
        };
        if let Some(consumer) = self.consumers.get_mut(&nack.consumer) {
            consumer.pending.remove(&id);
        }
        true
    }

    /// Removes a consumer and its pending entries; returns how many it had.
    pub fn remove_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pending {
            self.pel.remove(id);
        }
        Some(consumer.pending.len())
    }
}

/// A stream.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    entries: BTreeMap<StreamId, Fields>,
    nodes: VecDeque<Node>,
    pub last_id: StreamId,
    /// The first live entry's ID (0-0 when empty), XINFO's
    /// recorded-first-entry-id.
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Groups by name (Redis keeps them sorted too).
    pub groups: BTreeMap<Vec<u8>, Group>,
}

impl Stream {
    /// What the stream costs on the heap, about: entries in their tree
    /// (a node per entry, with its fields), the listpack nodes, and groups
    /// at a flat rate per pending entry.
    pub fn heap_bytes(&self, samples: usize) -> usize {
        use super::memory::{block, sampled};
        let per_entry = |fields: &Fields| {
            64 + block(fields.capacity() * 24)
                + fields.iter().map(|f| block(f.capacity())).sum::<usize>()
        };
        let entries = sampled(
            self.entries.len(),
            samples,
            self.entries.values().map(per_entry),
        );
        let nodes = self.nodes.capacity() * std::mem::size_of::<Node>();
        let groups: usize = self.groups.values().map(|_| 256).sum();
        entries + block(nodes) + groups
    }

    pub fn new() -> Self {
        Stream::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry `id`'s fields.
    pub fn get(&self, id: StreamId) -> Option<&Fields> {
        self.entries.get(&id)
    }

    /// The first and last live entries.
    pub fn first(&self) -> Option<(StreamId, &Fields)> {
        self.entries.first_key_value().map(|(id, f)| (*id, f))
    }
    pub fn last(&self) -> Option<(StreamId, &Fields)> {
        self.entries.last_key_value().map(|(id, f)| (*id, f))
    }

    /// Entries with `start <= id <= end`, in order or reversed.
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
    ) -> Box<dyn Iterator<Item = (StreamId, &Fields)> + '_> {
        if start > end {
            return Box::new(std::iter::empty());
        }
        let range = self.entries.range(start..=end).map(|(id, f)| (*id, f));
        if rev {
            Box::new(range.rev())
        } else {
            Box::new(range)
        }
    }

    /// The ID XADD gives an entry: `wanted` with its sequence (`ms-seq`),
    /// `ms-*` (sequence `None`), or the time `now` for `*`. None when it would
    /// not be greater than the last ID.
    pub fn next_id(&self, wanted: Option<(u64, Option<u64>)>, now: u64) -> Option<StreamId> {
        let id = match wanted {
            Some((ms, Some(seq))) => StreamId::new(ms, seq),
            // The sequence never rolls over into the next millisecond.
            Some((ms, None)) if ms == self.last_id.ms => {
                StreamId::new(ms, self.last_id.seq.checked_add(1)?)
            }
            Some((ms, None)) => StreamId::new(ms, 0),
            None if now > self.last_id.ms => StreamId::new(now, 0),
            None => self.last_id.next()?,
        };
        (id > self.last_id).then_some(id)
    }

    /// Appends an entry; `id` must be greater than the last ID.
    pub fn append(&mut self, id: StreamId, fields: Fields, limits: NodeLimits) {
        let raw_len: u64 = fields.iter().map(|f| f.len() as u64).sum();
        let max_bytes = match limits.max_bytes {
            0 => u32::MAX as u64,
            n => n.min(u32::MAX as u64),
        };
        let need_node = match self.nodes.back() {
            Some(node) => {
                node.bytes + raw_len >= max_bytes
                    || (limits.max_entries > 0
                        && node.live + node.tombstones.len() as u64 >= limits.max_entries)
            }
            None => true,
        };
        if need_node {
            let mut bytes = 7; // listpack header and end
            bytes += lp_int(1) + lp_int(0) + lp_int((fields.len() / 2) as i64);
            bytes += fields.iter().step_by(2).map(|f| lp_str(f)).sum::<u64>() + lp_int(0);
            self.nodes.push_back(Node {
                master: id,
                last: id,
                master_fields: fields.iter().step_by(2).cloned().collect(),
                live: 0,
                tombstones: Vec::new(),
                bytes,
            });
        }
        if let Some(node) = self.nodes.back_mut() {
            node.bytes += entry_bytes(node, id, &fields);
            node.live += 1;
            node.last = id;
        }
        self.entries.insert(id, fields);
        self.entries_added += 1;
        self.last_id = id;
        if self.entries.len() == 1 {
            self.first_id = id;
        }
    }

    /// XDEL of one ID; true when it was there.
    pub fn delete(&mut self, id: StreamId) -> bool {
        if self.entries.remove(&id).is_none() {
            return false;
        }
        let at = self.nodes.partition_point(|n| n.master <= id);
        if let Some(index) = at.checked_sub(1) {
            let node = &mut self.nodes[index];
            node.live -= 1;
            node.bury(id);
            // Redis frees a node whose last live entry goes.
            if node.live == 0 {
                self.nodes.remove(index);
            }
        }
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        self.refresh_first_id();
        true
    }

    fn refresh_first_id(&mut self) {
        self.first_id = self.first().map_or(StreamId::ZERO, |(id, _)| id);
    }

    /// Trims as Redis's `streamTrim`: whole nodes from the head, then (when
    /// not approximate) entries within the next node. `limit` caps the
    /// entries removed (0 = none). Returns how many entries went.
    pub fn trim(&mut self, trim: Trim, approx: bool, limit: u64) -> u64 {
        let mut removed = 0;
        while let Some(node) = self.nodes.front() {
            let len = self.entries.len() as u64;
            if let Trim::MaxLen(max) = trim {
                if len <= max {
                    break;
                }
            }
            if limit > 0 && removed + node.live > limit {
                break;
            }
            let whole = match trim {
                Trim::MaxLen(max) => len - node.live >= max,
                Trim::MinId(min) => node.last < min,
            };
            if whole {
                let last = node.last;
                removed += node.live;
                while self
                    .entries
                    .first_key_value()
                    .is_some_and(|(id, _)| *id <= last)
                {
                    self.entries.pop_first();
                }
                self.nodes.pop_front();
                continue;
            }
            if approx {
                break;
            }
            // Within the node: its live entries are the stream's first ones.
            let mut within = Vec::new();
            while let Some((&id, _)) = self.entries.first_key_value() {
                let stop = match trim {
                    Trim::MaxLen(max) => self.entries.len() as u64 <= max,
                    Trim::MinId(min) => id >= min,
                };
                if stop || id > node.last {
                    break;
                }
                self.entries.pop_first();
                within.push(id);
            }
            removed += within.len() as u64;
            if let Some(node) = self.nodes.front_mut() {
                node.live -= within.len() as u64;
                within.into_iter().for_each(|id| node.bury(id));
            }
            break;
        }
        self.refresh_first_id();
        removed
    }

    /// The listpack nodes, in order (writing an RDB file).
    pub fn node_images(&self) -> impl Iterator<Item = NodeImage<'_>> + '_ {
        self.nodes.iter().map(|node| {
            let mut live = self.entries.range(node.master..=node.last).peekable();
            let mut dead = node.tombstones.iter().copied().peekable();
            let mut entries = Vec::with_capacity(node.live as usize + node.tombstones.len());
            loop {
                let take_live = match (live.peek(), dead.peek()) {
                    (Some((id, _)), Some(dead_id)) => *id < dead_id,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => break,
                };
                if take_live {
                    entries.extend(live.next().map(|(id, fields)| (*id, Some(fields))));
                } else {
                    entries.extend(dead.next().map(|id| (id, None)));
                }
            }
            NodeImage {
                master: node.master,
                master_fields: &node.master_fields,
                entries,
            }
        })
    }

    /// Adds a node read from an RDB file after the ones already there:
    /// `entries` in increasing ID order, `None` for a deleted one, `bytes`
    /// its listpack's size. The caller sets the stream's IDs and counters.
    pub fn push_node(
        &mut self,
        master: StreamId,
        master_fields: Vec<Vec<u8>>,
        entries: Vec<(StreamId, Option<Fields>)>,
        bytes: u64,
    ) -> Result<(), &'static str> {
        let floor = self.nodes.back().map(|n| n.last);
        if floor.is_some_and(|last| master <= last) {
            return Err("stream nodes out of order");
        }
        let mut node = Node {
            master,
            last: master,
            master_fields,
            live: 0,
            tombstones: Vec::new(),
            bytes,
        };
        for (index, (id, fields)) in entries.into_iter().enumerate() {
            if id < master || (index > 0 && id <= node.last) {
                return Err("stream entries out of order");
            }
            node.last = id;
            match fields {
                Some(fields) => {
                    self.entries.insert(id, fields);
                    node.live += 1;
                }
                None => node.tombstones.push(id),
            }
        }
        // Redis drops a node with its last live entry; one without any
        // would throw the entry counts off.
        if node.live == 0 {
            return Err("stream node without live entries");
        }
        self.nodes.push_back(node);
        Ok(())
    }

    /// Number of listpack nodes (XINFO's radix-tree-keys).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Nodes of Redis's radix tree over the node keys (XINFO's
    /// radix-tree-nodes): a compressed node per shared run of key bytes, a
    /// branching node where keys part, and a leaf per key.
    pub fn radix_tree_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self
            .nodes
            .iter()
            .map(|n| {
                let mut key = [0u8; 16];
                key[..8].copy_from_slice(&n.master.ms.to_be_bytes());
                key[8..].copy_from_slice(&n.master.seq.to_be_bytes());
                key
            })
            .collect();
        fn count(keys: &[[u8; 16]], depth: usize) -> usize {
            if keys.is_empty() || depth == 16 {
                return 1;
            }
            let (first, last) = (&keys[0], &keys[keys.len() - 1]);
            let common = (depth..16).take_while(|&i| first[i] == last[i]).count();
            if common > 0 {
                return 1 + count(keys, depth + common);
            }
            let mut total = 1;
            let mut start = 0;
            while start < keys.len() {
                let byte = keys[start][depth];
                let end = start + keys[start..].partition_point(|k| k[depth] == byte);
                total += count(&keys[start..end], depth + 1);
                start = end;
            }
            total
        }
        count(&keys, 0)
    }

    /// The number of entries before and including `id` since the stream
    /// began, when it can be known (Redis's
    /// `streamEstimateDistanceFromFirstEverEntry`).
    pub fn entries_before(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.is_empty() && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted_id == StreamId::ZERO || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added - self.len() as u64);
            }
            if id == self.first_id {
                return Some(self.entries_added - self.len() as u64 + 1);
            }
        }
        None
    }

    /// True when an entry at or after `start` may have been deleted.
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.is_empty() || self.max_deleted_id == StreamId::ZERO {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id
    }

    /// A group's lag (XINFO GROUPS), when it can be known.
    pub fn lag(&self, group: &Group) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if let Some(read) = group.entries_read {
            if !self.has_tombstones_from(group.last_id) {
                return Some(self.entries_added.saturating_sub(read));
            }
        }
        let read = self.entries_before(group.last_id)?;
        Some(self.entries_added.saturating_sub(read))
    }

    /// Moves a group's position to `id`, delivered now (new entries read
    /// through XREADGROUP `>`).
    pub fn advance_group(&mut self, name: &[u8], id: StreamId) {
        let tombstones = self.has_tombstones_from(id);
        let estimate = self.entries_before(id);
        let entries_added = self.entries_added;
        let Some(group) = self.groups.get_mut(name) else {
            return;
        };
        if id <= group.last_id {
            return;
        }
        match group.entries_read {
            Some(read) if !tombstones => group.entries_read = Some(read + 1),
            _ if entries_added > 0 => group.entries_read = estimate,
            _ => {}
        }
        group.last_id = id;
    }
}

/// Bytes of a listpack integer element (with its back-length byte).
fn lp_int(n: i64) -> u64 {
    1 + match n {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    }
}

/// Bytes of a listpack string element; integers in text are stored as such.
fn lp_str(s: &[u8]) -> u64 {
    if let Some(n) = crate::util::parse_i64(s) {
        return lp_int(n);
    }
    let len = s.len() as u64;
    let encoded = len
        + match len {
            0..=63 => 1,
            64..=4095 => 2,
            _ => 5,
        };
    encoded
        + match encoded {
            0..=127 => 1,
            128..=16382 => 2,
            _ => 3,
        }
}

/// Bytes an entry adds to its node: flags, ID deltas, fields (unless the
/// same as the master entry's), values and the entry's element count.
fn entry_bytes(node: &Node, id: StreamId, fields: &Fields) -> u64 {
    let same_fields = fields.len() / 2 == node.master_fields.len()
        && fields
            .iter()
            .step_by(2)
            .zip(&node.master_fields)
            .all(|(a, b)| a == b);
    let ms_delta = id.ms.wrapping_sub(node.master.ms) as i64;
    let seq_delta = id.seq.wrapping_sub(node.master.seq) as i64;
    let mut bytes = lp_int(0) + lp_int(ms_delta) + lp_int(seq_delta);
    let values: u64 = fields.iter().skip(1).step_by(2).map(|v| lp_str(v)).sum();
    if same_fields {
        bytes += values + lp_int(3 + fields.len() as i64 / 2);
    } else {
        let names: u64 = fields.iter().step_by(2).map(|f| lp_str(f)).sum();
        bytes += lp_int(fields.len() as i64 / 2) + names + values;
        bytes += lp_int(4 + fields.len() as i64);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: NodeLimits = NodeLimits {
        max_entries: 100,
        max_bytes: 4096,
    };

    fn filled(n: u64) -> Stream {
        let mut s = Stream::new();
        for i in 1..=n {
            s.append(
                StreamId::new(i, 0),
                vec![b"f".to_vec(), b"v".to_vec()],
                LIMITS,
            );
        }
        s
    }

    #[test]
    fn approximate_trimming_removes_whole_nodes_only() {
        let mut s = filled(250);
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.trim(Trim::MaxLen(120), true, 10_000), 100);
        assert_eq!(s.len(), 150);
        assert_eq!(s.trim(Trim::MaxLen(120), false, 0), 30);
        assert_eq!(s.first().map(|(id, _)| id), Some(StreamId::new(131, 0)));
    }

    #[test]
    fn radix_tree_node_counts_match_redis() {
        assert_eq!(Stream::new().radix_tree_nodes(), 1);
        assert_eq!(filled(1).radix_tree_nodes(), 2);
        // Redis 7.0 reports 8 for keys 1-0, 101-0, 201-0.
        assert_eq!(filled(250).radix_tree_nodes(), 8);
    }
}
