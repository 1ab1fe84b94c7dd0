//! Replication, respd as the master: the backlog of the write stream, the
//! replicas reading it, and their acknowledgements.
//!
//! **One stream.** Every write reaches the replicas through the AOF's
//! propagation step (`persistence::aof::propagate`): the same translated
//! commands, the same SELECTs, the same MULTI/EXEC wrapping. That step feeds
//! [`Replication::feed`], which appends to the backlog and wakes the
//! replicas' threads.
//!
//! **The backlog** holds the stream's most recent bytes: at least
//! `repl-backlog-size` of them (so a replica that reconnects gets
//! `+CONTINUE` and only what it missed), and everything some connected
//! replica has not been sent yet (as Redis 7.0's shared replication
//! buffer). A replica further behind than its output-buffer limit is
//! disconnected.
//!
//! **A replica** is a connection that ran SYNC or PSYNC. Its worker thread
//! sends the snapshot, then waits on [`Replication::fed`] for new bytes and
//! writes them; a small reader thread takes its `REPLCONF ACK`s.

pub mod failover;
pub mod master;
pub mod replica;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::clients::ClientInfo;
use std::time::Instant;

/// A replica further behind than this is disconnected (the hard limit of
/// Redis's `client-output-buffer-limit replica 256mb 64mb 60`).
pub const REPLICA_OUTPUT_LIMIT: u64 = 256 * 1024 * 1024;

/// How far the backlog may grow past `repl-backlog-size` before it is
/// trimmed (and a replica too far behind cut off).
const TRIM_SLACK: u64 = 64 * 1024;

/// Redis's reply to a write when `min-replicas-to-write` is not met.
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";

/// `min-replicas-to-write` and `min-replicas-max-lag`, as a connection
/// caches them (read again after CONFIG SET).
pub fn min_replicas(config: &crate::config::Config) -> (u64, u64) {
    let number = |name: &str| {
        config
            .get(name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (
        number("min-replicas-to-write"),
        number("min-replicas-max-lag"),
    )
}

/// False when fewer than `wanted` replicas acknowledged in the last
/// `max_lag` seconds (a replica itself never refuses).
pub fn enough_good_replicas(shared: &crate::shared::Shared, (wanted, max_lag): (u64, u64)) -> bool {
    if wanted == 0 || max_lag == 0 || shared.replication.replica.is_replica() {
        return true;
    }
    let good = shared
        .replication
        .backlog()
        .replicas
        .iter()
        .filter(|r| {
            !r.dropped
                && r.state == ReplicaState::Online
                && r.acked_at.elapsed().as_secs() <= max_lag
        })
        .count() as u64;
    good >= wanted
}

/// `trace yes` on a replication link, logged as any connection's trace:
/// `[label] <- ...` for what arrived, `[label] -> ...` for what was sent.
pub(crate) struct LinkTrace<'a> {
    pub shared: &'a crate::shared::Shared,
    pub label: String,
}

impl LinkTrace<'_> {
    pub fn on(&self) -> bool {
        self.shared.config().trace()
    }

    /// Commands (the stream, ACKs, the handshake's requests).
    pub fn requests(&self, arrow: &str, bytes: &[u8]) {
        if self.on() {
            self.lines(arrow, crate::resp::trace::trace_requests(bytes));
        }
    }

    /// Replies (the handshake's answers).
    pub fn replies(&self, arrow: &str, bytes: &[u8]) {
        if self.on() {
            self.lines(arrow, crate::resp::trace::trace_replies(bytes));
        }
    }

    /// The snapshot: its bulk header as bytes, the RDB by its size.
    pub fn snapshot(&self, arrow: &str, header: &str, len: usize) {
        if self.on() {
            let header = crate::resp::trace::visible(header.as_bytes());
            self.lines(arrow, vec![format!("{header}   RDB snapshot, {len} bytes")]);
        }
    }

    fn lines(&self, arrow: &str, lines: Vec<String>) {
        for line in lines {
            crate::log::log(
                self.shared,
                crate::log::WARNING,
                &format!("[{}] {arrow} {line}", self.label),
            );
        }
    }
}

/// The replication state, part of [`crate::shared::Shared`].
#[derive(Debug, Default)]
pub struct Replication {
    /// True once a replica has connected: from then on writes are
    /// propagated to the backlog (Redis creates it with the first replica).
    active: AtomicBool,
    backlog: Mutex<Backlog>,
    /// Signalled when bytes are appended, or a replica is dropped.
    pub fed: Condvar,
    /// Signalled when a replica acknowledges an offset (WAIT).
    pub acked: Condvar,
    /// This server as a replica: its master and link.
    pub replica: replica::ReplicaSide,
    /// FAILOVER, while one is under way.
    pub failover: failover::Failover,
    /// The replication ids, once one changed (until then the run id).
    ids: Mutex<Option<Ids>>,
    /// INFO's sync_full, sync_partial_ok and sync_partial_err.
    pub syncs: SyncStats,
}

/// How replicas' SYNC/PSYNC went.
#[derive(Debug, Default)]
pub struct SyncStats {
    pub full: std::sync::atomic::AtomicU64,
    pub partial_ok: std::sync::atomic::AtomicU64,
    /// PSYNCs that named a history but got a full resync.
    pub partial_err: std::sync::atomic::AtomicU64,
}

/// `master_replid`, `master_replid2` and `second_repl_offset`: a master
/// that was a replica answers PSYNCs for its old master's history too.
#[derive(Debug, Clone)]
pub struct Ids {
    pub replid: String,
    pub replid2: String,
    /// The first offset the old id does not cover (-1: none).
    pub second_offset: i64,
}

/// The stream's recent bytes and the replicas reading them.
#[derive(Debug, Default)]
pub struct Backlog {
    /// The offset of the byte just before `bytes[0]`: byte `i` of the
    /// buffer is stream offset `base + i + 1`, as Redis counts.
    pub base: u64,
    pub bytes: VecDeque<u8>,
    /// `repl-backlog-size`, refreshed by the cron.
    pub size: u64,
    pub replicas: Vec<Replica>,
    /// Replica threads waiting on [`Replication::fed`]: a write wakes
    /// them only when some are (a wake-up costs a system call).
    pub waiting: usize,
    /// When the last replica left (`repl-backlog-ttl` counts from there).
    pub no_replicas_since: Option<Instant>,
}

impl Backlog {
    /// `master_repl_offset`: the offset of the last byte of the stream.
    pub fn offset(&self) -> u64 {
        self.base + self.bytes.len() as u64
    }

    /// The bytes after offset `from`, if the backlog still holds them.
    pub fn since(&self, from: u64) -> Option<Vec<u8>> {
        if from < self.base || from > self.offset() {
            return None;
        }
        let skip = (from - self.base) as usize;
        // The ring's two halves, copied whole (not byte by byte).
        let (front, back) = self.bytes.as_slices();
        let mut out = Vec::with_capacity(self.bytes.len() - skip);
        if skip < front.len() {
            out.extend_from_slice(&front[skip..]);
            out.extend_from_slice(back);
        } else {
            out.extend_from_slice(&back[skip - front.len()..]);
        }
        Some(out)
    }

    /// Drops the bytes no one needs any more: those older than the backlog
    /// size and already sent to every replica. A replica too far behind is
    /// cut off first.
    fn trim(&mut self) {
        let end = self.offset();
        for replica in &mut self.replicas {
            if !replica.dropped && end - replica.sent.min(end) > REPLICA_OUTPUT_LIMIT {
                replica.drop_link();
            }
        }
        let keep_from = self
            .replicas
            .iter()
            .filter(|r| !r.dropped)
            .map(|r| r.sent)
            .fold(end.saturating_sub(self.size), u64::min);
        let excess = keep_from.saturating_sub(self.base) as usize;
        if excess > 0 {
            self.bytes.drain(..excess.min(self.bytes.len()));
            self.base = keep_from;
        }
    }
}

/// Where a replica's full resync stands (INFO's `state=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// The snapshot is being written or sent.
    SendBulk,
    Online,
}

/// One connected replica.
#[derive(Debug)]
pub struct Replica {
    pub client_id: u64,
    pub ip: String,
    /// The port it listens on (`REPLCONF listening-port`).
    pub port: u16,
    pub state: ReplicaState,
    /// The stream offset it has been sent up to.
    pub sent: u64,
    /// The offset it last acknowledged, and when.
    pub acked: u64,
    pub acked_at: Instant,
    /// It has sent an ACK since its link began (after a diskless
    /// snapshot, the stream waits for the first one).
    pub ack_seen: bool,
    /// Cut off (output limit, or its link closed): its thread ends.
    pub dropped: bool,
    /// Its connection, to cut off.
    pub client: Arc<ClientInfo>,
}

impl Replica {
    pub(crate) fn drop_link(&mut self) {
        self.dropped = true;
        self.client.kill();
    }
}

impl Replication {
    /// The ids; `run_id` stands for the first replid.
    pub fn ids(&self, run_id: &str) -> Ids {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| Ids {
                replid: run_id.to_string(),
                replid2: "0".repeat(40),
                second_offset: -1,
            })
    }

    /// A new history begins: `replid` continues `old`'s up to offset
    /// `upto` (Redis's shiftReplicationId, and a FULLRESYNC's adoption).
    pub fn set_ids(&self, ids: Ids) {
        *self.ids.lock().unwrap_or_else(PoisonError::into_inner) = Some(ids);
    }

    /// True while the backlog exists (`repl_backlog_active`).
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// True while this server's own writes go to the backlog: it has one,
    /// and follows no master (a replica passes its master's stream on).
    pub fn propagating(&self) -> bool {
        self.active() && !self.replica.following()
    }

    /// The backlog, locked.
    pub fn backlog(&self) -> MutexGuard<'_, Backlog> {
        self.backlog.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates the backlog (first replica). The caller holds the AOF's
    /// order lock, so no write is half propagated.
    pub fn activate(&self, size: u64) {
        if !self.active() {
            let mut backlog = self.backlog();
            backlog.size = size;
            self.active.store(true, Ordering::Release);
        }
    }

    /// Appends bytes of the stream and wakes the replicas. A replica's
    /// own propagation goes nowhere: its replicas get its master's stream
    /// as it came ([`Replication::feed_from_master`]).
    pub fn feed(&self, bytes: &[u8]) {
        if self.replica.following() {
            return;
        }
        self.feed_from_master(bytes);
    }

    /// Appends bytes of the stream (on a replica, the master's, proxied
    /// to its own replicas as Redis's chained replication does).
    pub fn feed_from_master(&self, bytes: &[u8]) {
        let mut backlog = self.backlog();
        backlog.bytes.extend(bytes);
        // Trimmed a batch at a time, not at every write.
        if backlog.bytes.len() as u64 >= backlog.size + TRIM_SLACK {
            backlog.trim();
        }
        let wake = backlog.waiting > 0;
        drop(backlog);
        if wake {
            self.fed.notify_all();
        }
    }

    /// Starts the backlog afresh at stream offset `offset`, empty (a
    /// replica that synced with its master, a replica turned master).
    /// With `drop_replicas` this server's replicas are cut off, to resync
    /// with the new history.
    pub fn restart_backlog(
        &self,
        shared: &crate::shared::Shared,
        offset: u64,
        drop_replicas: bool,
    ) {
        let size = shared
            .config()
            .get("repl-backlog-size")
            .and_then(crate::config::parse_memory)
            .unwrap_or(1024 * 1024);
        let mut backlog = self.backlog();
        if backlog.offset() != offset {
            backlog.base = offset;
            backlog.bytes.clear();
        }
        if drop_replicas {
            for replica in &mut backlog.replicas {
                replica.drop_link();
            }
        }
        backlog.size = size;
        self.active.store(true, Ordering::Release);
        drop(backlog);
        self.fed.notify_all();
    }

    /// The number of replicas that acknowledged `offset` or later.
    pub fn acked_at_least(&self, offset: u64) -> usize {
        self.backlog()
            .replicas
            .iter()
            .filter(|r| !r.dropped && r.state == ReplicaState::Online && r.acked >= offset)
            .count()
    }

    /// Forgets a replica whose connection ended.
    pub fn remove(&self, client_id: u64) {
        let mut backlog = self.backlog();
        backlog.replicas.retain(|r| r.client_id != client_id);
        if backlog.replicas.is_empty() {
            backlog.no_replicas_since = Some(Instant::now());
        }
        backlog.trim();
    }

    /// `repl-backlog-ttl`: a master without replicas for `ttl` seconds
    /// frees its backlog, and starts a new history (no one can continue
    /// the old one any more), as Redis's replicationCron.
    pub fn expire_backlog(&self, shared: &crate::shared::Shared, ttl: u64) {
        if ttl == 0 || !self.active() || self.replica.is_replica() {
            return;
        }
        let mut backlog = self.backlog();
        let idle = backlog.replicas.is_empty()
            && backlog
                .no_replicas_since
                .is_some_and(|since| since.elapsed().as_secs() >= ttl);
        if !idle {
            return;
        }
        self.active.store(false, Ordering::Release);
        backlog.base = backlog.offset();
        backlog.bytes = VecDeque::new();
        drop(backlog);
        self.set_ids(Ids {
            replid: crate::shared::random_hex(40),
            replid2: "0".repeat(40),
            second_offset: -1,
        });
        crate::log::log(
            shared,
            crate::log::NOTICE,
            &format!("Replication backlog freed after {ttl} seconds without connected replicas."),
        );
    }
}
