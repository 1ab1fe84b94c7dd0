//! Pub/Sub and MONITOR: the hub that knows who listens to what, and the
//! outbox through which a listening client receives its bytes.
//!
//! A subscriber's worker thread spends its life blocked reading the
//! client's socket, so it cannot be the one to write a message published by
//! another client. When a client first subscribes (or runs MONITOR), its
//! connection switches to an [`Outbox`]: a byte queue that publishers append
//! to and that a small writer thread (started by the server) drains into
//! the socket. From then on the connection's own replies go through the
//! outbox too, so everything reaches the client in the order it was queued.
//!
//! Publishers never wait for a subscriber: they only append. A subscriber
//! that does not read is disconnected once its queue passes the limits of
//! `client-output-buffer-limit pubsub` (hard: at once; soft: after staying
//! over it for the given seconds), as in Redis.
//!
//! Nothing here touches a socket; the writer thread lives in
//! `server/connection.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::clients::ClientInfo;
use crate::resp::Reply;
use crate::shared::Shared;
use crate::store::glob_match;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ----- Output limits --------------------------------------------------------

/// One class's `client-output-buffer-limit`: bytes pending above `hard`
/// disconnect at once; above `soft` for more than `soft_seconds`, too.
/// Zero means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

/// The limits of the two classes respd has: normal clients (and monitors,
/// which Redis counts as normal) and Pub/Sub subscribers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    pub normal: Limit,
    pub pubsub: Limit,
}

impl OutputLimits {
    /// Parses `client-output-buffer-limit`'s value: groups of
    /// `<class> <hard> <soft> <seconds>`; classes not given keep Redis's
    /// defaults, unreadable groups are skipped.
    pub fn parse(value: &str) -> OutputLimits {
        let mut limits = OutputLimits {
            normal: Limit::default(),
            pubsub: Limit {
                hard: 32 << 20,
                soft: 8 << 20,
                soft_seconds: 60,
            },
        };
        let words: Vec<&str> = value.split_whitespace().collect();
        for group in words.chunks(4) {
            let [class, hard, soft, seconds] = group else {
                continue;
            };
            let (Some(hard), Some(soft), Ok(soft_seconds)) = (
                crate::config::parse_memory(hard),
                crate::config::parse_memory(soft),
                seconds.parse::<u64>(),
            ) else {
                continue;
            };
            let limit = Limit {
                hard,
                soft,
                soft_seconds,
            };
            match class.to_ascii_lowercase().as_str() {
                "normal" => limits.normal = limit,
                "pubsub" => limits.pubsub = limit,
                _ => {}
            }
        }
        limits
    }
}

// ----- The outbox -----------------------------------------------------------

/// What became of bytes handed to an outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Queued,
    /// The outbox is closed: the bytes were dropped.
    Dropped,
    /// The bytes pushed the client past its output limit: it has been
    /// disconnected (this delivery is the one that did it).
    Disconnected,
}

/// The bytes waiting for one client's writer thread.
#[derive(Debug)]
struct Pending {
    queue: Vec<u8>,
    /// Bytes the writer took and is writing now: they still count against
    /// the limit, since the memory is still held.
    writing: usize,
    /// The protocol of the client's latest replies: messages are encoded
    /// in it.
    resp3: bool,
    closed: bool,
    /// True while the writer sleeps on the condvar: only then does a push
    /// need to wake it (a busy writer picks new bytes up by itself).
    writer_waiting: bool,
    /// Since when the client has been over its soft limit.
    over_soft_since: Option<Instant>,
}

/// One client's outgoing byte queue, once it subscribes or monitors.
#[derive(Debug)]
pub struct Outbox {
    pending: Mutex<Pending>,
    ready: Condvar,
    client: Arc<ClientInfo>,
}

/// A writer keeps at most this much capacity between chunks, so a burst
/// does not leave an idle subscriber holding a large allocation.
const KEEP_CHUNK_BYTES: usize = 64 * 1024;

impl Outbox {
    /// An empty outbox for `client`, whose replies are currently in RESP3
    /// or not.
    pub fn new(client: Arc<ClientInfo>, resp3: bool) -> Arc<Outbox> {
        Arc::new(Outbox {
            pending: Mutex::new(Pending {
                queue: Vec::new(),
                writing: 0,
                resp3,
                closed: false,
                writer_waiting: false,
                over_soft_since: None,
            }),
            ready: Condvar::new(),
            client,
        })
    }

    /// Queues the connection's own replies, written in `resp3` or not
    /// (later messages follow that protocol).
    pub fn push_replies(&self, bytes: &[u8], resp3: bool, limit: Limit) -> Delivery {
        self.push(limit, |out| {
            out.resp3 = resp3;
            out.buf.extend_from_slice(bytes);
        })
    }

    /// Queues `encode`'s output, written with a [`Reply`] in the client's
    /// protocol, then applies `limit`.
    fn push(&self, limit: Limit, encode: impl FnOnce(&mut Reply)) -> Delivery {
        let mut pending = lock(&self.pending);
        if pending.closed {
            return Delivery::Dropped;
        }
        let mut out = Reply {
            buf: std::mem::take(&mut pending.queue),
            resp3: pending.resp3,
            ..Reply::default()
        };
        encode(&mut out);
        pending.queue = out.buf;
        pending.resp3 = out.resp3;
        if !over_limit(&mut pending, limit) {
            if pending.writer_waiting {
                self.ready.notify_one();
            }
            return Delivery::Queued;
        }
        drop(pending);
        self.abort();
        self.client.kill();
        Delivery::Disconnected
    }

    /// Queues a frame written by `encode` in the client's protocol (a
    /// client-side caching invalidation), then applies `limit`.
    pub fn push_frame(&self, limit: Limit, encode: impl FnOnce(&mut Reply)) -> Delivery {
        self.push(limit, encode)
    }

    /// True while the client is subscribed to something (Redis's
    /// `CLIENT_PUBSUB`), as CLIENT LIST shows it.
    pub fn client_subscribed(&self) -> bool {
        self.client
            .pubsub
            .iter()
            .any(|count| count.load(Ordering::Relaxed) > 0)
    }

    /// Stops accepting bytes; the writer sends what is queued, then ends.
    pub fn finish(&self) {
        lock(&self.pending).closed = true;
        self.ready.notify_one();
    }

    /// Stops accepting bytes and drops what is queued; the writer ends.
    pub fn abort(&self) {
        let mut pending = lock(&self.pending);
        pending.closed = true;
        pending.queue = Vec::new();
        self.ready.notify_one();
    }

    /// For the writer thread: waits for bytes and moves them all into
    /// `chunk` (whose old capacity the queue reuses). False when the outbox
    /// is closed and drained: the writer should end.
    pub fn next_chunk(&self, chunk: &mut Vec<u8>) -> bool {
        let mut pending = lock(&self.pending);
        loop {
            if !pending.queue.is_empty() {
                chunk.clear();
                std::mem::swap(&mut pending.queue, chunk);
                pending.writing = chunk.len();
                return true;
            }
            if pending.closed {
                return false;
            }
            pending.writer_waiting = true;
            pending = self
                .ready
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
            pending.writer_waiting = false;
            // Woken by a publisher that is likely still publishing: let it
            // go on for a moment, so one write carries several messages
            // (with many subscribers, a wake-up per message is the cost).
            drop(pending);
            std::thread::yield_now();
            pending = lock(&self.pending);
        }
    }

    /// For the writer thread: the chunk it took is written.
    pub fn chunk_written(&self, chunk: &mut Vec<u8>) {
        lock(&self.pending).writing = 0;
        if chunk.capacity() > KEEP_CHUNK_BYTES {
            *chunk = Vec::new();
        }
    }
}

/// Redis's `checkClientOutputBufferLimits`: over the hard limit, or over
/// the soft limit for longer than its seconds.
fn over_limit(pending: &mut Pending, limit: Limit) -> bool {
    let used = (pending.queue.len() + pending.writing) as u64;
    if limit.hard > 0 && used >= limit.hard {
        return true;
    }
    if limit.soft == 0 || used < limit.soft {
        pending.over_soft_since = None;
        return false;
    }
    let since = *pending.over_soft_since.get_or_insert_with(Instant::now);
    since.elapsed().as_secs() > limit.soft_seconds
}

// ----- One client's subscriptions ---------------------------------------------

/// The three namespaces of subscriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    Channels,
    Patterns,
    ShardChannels,
}

impl Space {
    /// The kind of frame a message delivered through this space carries.
    fn message_kind(self) -> &'static [u8] {
        match self {
            Space::Channels => b"message",
            Space::Patterns => b"pmessage",
            Space::ShardChannels => b"smessage",
        }
    }
}

/// One connection's side of Pub/Sub (it lives in the `Session`): what it
/// is subscribed to, whether it monitors, and its outbox once it has one.
#[derive(Debug, Default)]
pub struct ClientPubsub {
    pub channels: HashSet<Vec<u8>>,
    pub patterns: HashSet<Vec<u8>>,
    pub shard_channels: HashSet<Vec<u8>>,
    pub monitor: bool,
    /// Set on the first SUBSCRIBE or MONITOR, and kept for the life of the
    /// connection (switching back could reorder replies).
    pub outbox: Option<Arc<Outbox>>,
}

impl ClientPubsub {
    /// The set of one space.
    pub fn set(&mut self, space: Space) -> &mut HashSet<Vec<u8>> {
        match space {
            Space::Channels => &mut self.channels,
            Space::Patterns => &mut self.patterns,
            Space::ShardChannels => &mut self.shard_channels,
        }
    }

    /// True while subscribed to anything: Redis's `CLIENT_PUBSUB` flag
    /// (the RESP2 restrictions, the `pubsub` output limit, `flags=P`).
    pub fn subscribed(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard_channels.is_empty())
    }
}

// ----- The hub ----------------------------------------------------------------

/// Subscribers of one channel or pattern, in the order they subscribed.
type Subscribers = Vec<Arc<Outbox>>;

/// Every subscription on the server.
#[derive(Debug, Default)]
pub struct Registry {
    channels: HashMap<Vec<u8>, Subscribers>,
    patterns: HashMap<Vec<u8>, Subscribers>,
    shard_channels: HashMap<Vec<u8>, Subscribers>,
}

impl Registry {
    fn map(&mut self, space: Space) -> &mut HashMap<Vec<u8>, Subscribers> {
        match space {
            Space::Channels => &mut self.channels,
            Space::Patterns => &mut self.patterns,
            Space::ShardChannels => &mut self.shard_channels,
        }
    }

    /// Adds a subscriber to a channel or pattern.
    pub fn add(&mut self, space: Space, name: &[u8], outbox: &Arc<Outbox>) {
        self.map(space)
            .entry(name.to_vec())
            .or_default()
            .push(outbox.clone());
    }

    /// Removes a subscriber; a channel or pattern left without any is
    /// forgotten.
    pub fn remove(&mut self, space: Space, name: &[u8], outbox: &Arc<Outbox>) {
        let map = self.map(space);
        if let Some(subscribers) = map.get_mut(name) {
            subscribers.retain(|s| !Arc::ptr_eq(s, outbox));
            if subscribers.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Every subscription: its space, its channel or pattern, its client.
    pub fn subscriptions(&mut self) -> Vec<(Space, Vec<u8>, Arc<ClientInfo>)> {
        let mut all = Vec::new();
        for space in [Space::Channels, Space::Patterns, Space::ShardChannels] {
            for (name, subscribers) in self.map(space).iter() {
                for outbox in subscribers {
                    all.push((space, name.clone(), outbox.client.clone()));
                }
            }
        }
        all
    }

    /// The active channels (or shard channels) matching `pattern`.
    pub fn names(&mut self, space: Space, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        self.map(space)
            .keys()
            .filter(|name| pattern.map_or(true, |p| glob_match(p, name, false)))
            .cloned()
            .collect()
    }

    /// How many clients subscribe to `name` (patterns not counted).
    pub fn subscriber_count(&mut self, space: Space, name: &[u8]) -> usize {
        self.map(space).get(name).map_or(0, Vec::len)
    }

    /// How many channels, or distinct patterns, have subscribers.
    pub fn len(&mut self, space: Space) -> usize {
        self.map(space).len()
    }
}

/// Every subscriber and monitor, and the counters about them.
#[derive(Debug, Default)]
pub struct Hub {
    /// Publishers deliver while holding this lock, and a subscriber queues
    /// its confirmation while holding it, so no message can overtake one.
    registry: Mutex<Registry>,
    monitors: Mutex<Vec<Arc<Outbox>>>,
    /// A cheap test that lets every command skip MONITOR when nobody
    /// monitors.
    monitor_count: AtomicUsize,
    /// Clients disconnected for passing their output limit.
    disconnections: AtomicU64,
    /// `client-output-buffer-limit`, parsed, with the config epoch it was
    /// parsed at.
    limits: Mutex<Option<(u64, OutputLimits)>>,
}

impl Hub {
    /// No subscribers, no monitors.
    pub fn new() -> Self {
        Hub::default()
    }

    /// The registry, locked: subscribing, unsubscribing and introspection
    /// happen under it.
    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        lock(&self.registry)
    }

    /// The output limits, parsed again only after a CONFIG SET.
    pub fn output_limits(&self, shared: &Shared) -> OutputLimits {
        let epoch = shared.config_epoch.load(Ordering::Acquire);
        let mut cached = lock(&self.limits);
        match *cached {
            Some((at, limits)) if at == epoch => limits,
            _ => {
                let value = shared
                    .config()
                    .get("client-output-buffer-limit")
                    .unwrap_or("")
                    .to_string();
                let limits = OutputLimits::parse(&value);
                *cached = Some((epoch, limits));
                limits
            }
        }
    }

    /// Counts a delivery that disconnected its client.
    pub fn note(&self, delivery: Delivery) {
        if delivery == Delivery::Disconnected {
            self.disconnections.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Clients disconnected so far for passing their output limit.
    pub fn disconnections(&self) -> u64 {
        self.disconnections.load(Ordering::Relaxed)
    }

    /// Sends `payload` to the subscribers of `channel` (in `space`
    /// Channels, with pattern subscribers too, or ShardChannels) and
    /// returns how many deliveries were made: a client subscribed to the
    /// channel and to a matching pattern counts twice, as in Redis.
    pub fn publish(&self, space: Space, channel: &[u8], payload: &[u8], limit: Limit) -> usize {
        let registry = lock(&self.registry);
        let mut receivers = 0;
        let direct = match space {
            Space::ShardChannels => &registry.shard_channels,
            _ => &registry.channels,
        };
        if let Some(subscribers) = direct.get(channel) {
            for outbox in subscribers {
                receivers += self.deliver(outbox, limit, |out| {
                    message(out, space.message_kind(), None, channel, payload)
                });
            }
        }
        if space == Space::Channels {
            for (pattern, subscribers) in &registry.patterns {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                for outbox in subscribers {
                    receivers += self.deliver(outbox, limit, |out| {
                        message(out, b"pmessage", Some(pattern), channel, payload)
                    });
                }
            }
        }
        receivers
    }

    /// One delivery: 1 if the client got it, 0 if it is gone.
    fn deliver(&self, outbox: &Outbox, limit: Limit, encode: impl FnOnce(&mut Reply)) -> usize {
        let delivery = outbox.push(limit, encode);
        self.note(delivery);
        usize::from(delivery == Delivery::Queued)
    }

    /// Starts sending every command to `outbox` (MONITOR).
    pub fn add_monitor(&self, outbox: &Arc<Outbox>) {
        lock(&self.monitors).push(outbox.clone());
        self.monitor_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Stops sending commands to `outbox`.
    pub fn remove_monitor(&self, outbox: &Arc<Outbox>) {
        let mut monitors = lock(&self.monitors);
        let before = monitors.len();
        monitors.retain(|m| !Arc::ptr_eq(m, outbox));
        self.monitor_count
            .fetch_sub(before - monitors.len(), Ordering::Relaxed);
    }

    /// True when someone monitors.
    pub fn has_monitors(&self) -> bool {
        self.monitor_count.load(Ordering::Relaxed) > 0
    }

    /// Sends one MONITOR line to every monitor. Monitors are normal
    /// clients for the output limits, as in Redis.
    pub fn feed_monitors(&self, line: &[u8], limit: Limit) {
        for outbox in lock(&self.monitors).iter() {
            self.deliver(outbox, limit, |out| out.buf.extend_from_slice(line));
        }
    }

    /// Drops everything a departing client had: subscriptions, monitor.
    pub fn forget(&self, client: &mut ClientPubsub) {
        let Some(outbox) = client.outbox.clone() else {
            return;
        };
        if client.monitor {
            client.monitor = false;
            self.remove_monitor(&outbox);
        }
        let mut registry = lock(&self.registry);
        for space in [Space::Channels, Space::Patterns, Space::ShardChannels] {
            for name in client.set(space).drain() {
                registry.remove(space, &name, &outbox);
            }
        }
    }
}

/// A message frame: `message channel payload`, `pmessage pattern channel
/// payload` or `smessage channel payload`; a push in RESP3.
fn message(out: &mut Reply, kind: &[u8], pattern: Option<&[u8]>, channel: &[u8], payload: &[u8]) {
    out.push(if pattern.is_some() { 4 } else { 3 });
    out.bulk(kind);
    if let Some(pattern) = pattern {
        out.bulk(pattern);
    }
    out.bulk(channel);
    out.bulk(payload);
}

// ----- MONITOR lines ------------------------------------------------------------

/// A command's arguments as MONITOR shows them: each quoted and escaped
/// like Redis's `sdscatrepr`, secrets redacted as Redis 7.0 does.
pub fn monitor_args(args: &[Vec<u8>]) -> Vec<u8> {
    let redacted = redacted_args(args);
    let mut line = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        if redacted.contains(&i) {
            line.extend_from_slice(b"\"(redacted)\"");
        } else {
            quote(&mut line, arg);
        }
    }
    line
}

/// A full MONITOR line: `+<unix time.micros> [<db> <addr>] <args>`.
pub fn monitor_line(db: usize, addr: &str, args_repr: &[u8]) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut line = format!(
        "+{}.{:06} [{db} {addr}] ",
        now.as_secs(),
        now.subsec_micros()
    )
    .into_bytes();
    line.extend_from_slice(args_repr);
    line.extend_from_slice(b"\r\n");
    line
}

/// Which arguments Redis 7.0 redacts: AUTH's password (and user) when the
/// form is valid; HELLO's AUTH credentials, as far as HELLO parses its
/// options (a bad version or option stops it, and what follows is shown).
fn redacted_args(args: &[Vec<u8>]) -> Vec<usize> {
    let name = args[0].to_ascii_lowercase();
    if name == b"auth" && args.len() <= 3 {
        return (1..args.len()).collect();
    }
    if name != b"hello" {
        return Vec::new();
    }
    let valid_version = args
        .get(1)
        .map_or(true, |v| matches!(v.as_slice(), b"2" | b"3"));
    let mut redacted = Vec::new();
    let mut i = 2;
    while valid_version && i < args.len() {
        let more = args.len() - i - 1;
        if args[i].eq_ignore_ascii_case(b"auth") && more >= 2 {
            redacted.extend([i + 1, i + 2]);
            i += 3;
        } else if args[i].eq_ignore_ascii_case(b"setname") && more >= 1 {
            i += 2;
        } else {
            break;
        }
    }
    redacted
}

/// Appends `bytes` in double quotes, escaped as `sdscatrepr` does.
fn quote(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_output_limits() {
        let limits = OutputLimits::parse(
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        );
        assert_eq!(limits.normal, Limit::default());
        assert_eq!(
            limits.pubsub,
            Limit {
                hard: 32 << 20,
                soft: 8 << 20,
                soft_seconds: 60
            }
        );
        let limits = OutputLimits::parse("pubsub 1mb 512kb 5");
        assert_eq!(limits.pubsub.hard, 1 << 20);
        assert_eq!(limits.pubsub.soft, 512 << 10);
        assert_eq!(limits.pubsub.soft_seconds, 5);
    }

    #[test]
    fn monitor_arguments_are_escaped_and_redacted() {
        let args = |words: &[&[u8]]| words.iter().map(|w| w.to_vec()).collect::<Vec<_>>();
        assert_eq!(
            monitor_args(&args(&[b"set", b"k", b"a\"b\\c\n\r\t\x07\x08\x01\xff"])),
            b"\"set\" \"k\" \"a\\\"b\\\\c\\n\\r\\t\\a\\b\\x01\\xff\"".to_vec()
        );
        assert_eq!(
            monitor_args(&args(&[b"AUTH", b"u", b"p"])),
            b"\"AUTH\" \"(redacted)\" \"(redacted)\"".to_vec()
        );
        assert_eq!(
            monitor_args(&args(&[b"auth", b"a", b"b", b"c"])),
            b"\"auth\" \"a\" \"b\" \"c\"".to_vec()
        );
        assert_eq!(
            monitor_args(&args(&[
                b"hello", b"3", b"auth", b"u", b"p", b"x", b"auth", b"v", b"w"
            ])),
            b"\"hello\" \"3\" \"auth\" \"(redacted)\" \"(redacted)\" \"x\" \"auth\" \"v\" \"w\""
                .to_vec()
        );
        assert_eq!(
            monitor_args(&args(&[b"hello", b"4", b"auth", b"u", b"p"])),
            b"\"hello\" \"4\" \"auth\" \"u\" \"p\"".to_vec()
        );
    }
}
