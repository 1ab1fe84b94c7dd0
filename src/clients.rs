//! The registry of connected clients: what CLIENT LIST shows and CLIENT KILL
//! acts on. Each connection registers a [`ClientInfo`] and keeps updating it;
//! other connections only read it, or ask it to close.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::blocking::{Outcome, Waiter};

/// The parts of a client that change rarely, behind one lock.
#[derive(Debug, Default, Clone)]
pub struct ClientMeta {
    pub name: String,
    pub lib_name: String,
    pub lib_ver: String,
    /// 2 or 3.
    pub resp: u8,
    /// CLIENT NO-EVICT / NO-TOUCH, reported in `flags=`.
    pub no_evict: bool,
    pub no_touch: bool,
    /// CLIENT TRACKING as CLIENT LIST shows it: its flags (`t`, then `R`
    /// for a broken redirect, `B` for BCAST) and `redir=` (-1 when off).
    pub tracking_flags: &'static str,
    pub tracking_redirect: i64,
    /// The ACL user it is authenticated as; empty means `default`.
    pub user: String,
}

/// One connected client, as others see it.
pub struct ClientInfo {
    pub id: u64,
    /// Connected through the unix socket (`flags=U`).
    pub unix_socket: bool,
    pub addr: String,
    pub laddr: String,
    pub fd: i64,
    pub connected_at: Instant,
    /// Milliseconds since `connected_at` at the last command.
    last_active_ms: AtomicU64,
    /// The selected database.
    pub db: AtomicUsize,
    /// The last command's name and subcommand (`cmd=` in CLIENT LIST).
    last_command: Mutex<(&'static str, Option<&'static str>)>,
    pub meta: Mutex<ClientMeta>,
    /// Set by CLIENT KILL: the connection closes as soon as it can.
    pub killed: AtomicBool,
    /// While the client is blocked (BLPOP...), what it waits on.
    pub blocked_on: Mutex<Option<Arc<Waiter>>>,
    /// Pub/Sub subscriptions: channels, patterns, shard channels (CLIENT
    /// LIST's sub=, psub=, ssub=).
    pub pubsub: [AtomicUsize; 3],
    /// In MONITOR mode (flag O).
    pub monitor: AtomicBool,
    /// Commands queued since MULTI, or -1 outside a transaction (CLIENT
    /// LIST's multi= and flag x).
    pub multi: AtomicI64,
    /// A replication link: [`LINK_REPLICA`] (flag S) or [`LINK_MASTER`]
    /// (flag M), 0 for other clients.
    pub link: AtomicU8,
    /// Closes the socket, waking the connection's worker if it is reading.
    closer: Box<dyn Fn() + Send + Sync>,
    /// The connection's outbox, its writer thread started on first use:
    /// by the connection itself (it subscribes...) or by another thread
    /// with a push for it (client-side caching's invalidations to a RESP3
    /// redirect target that never subscribed). `None` for the server's own
    /// clients, which have no socket.
    pub push_outbox: Option<PushOutbox>,
}

/// A replica's connection to this server (after its SYNC/PSYNC).
pub const LINK_REPLICA: u8 = 1;
/// This replica's connection to its master.
pub const LINK_MASTER: u8 = 2;

/// See [`ClientInfo::push_outbox`]: given the client and whether it speaks
/// RESP3 now, its outbox (the same one every time), or `None` once the
/// connection has ended.
pub type PushOutbox =
    Box<dyn Fn(&Arc<ClientInfo>, bool) -> Option<Arc<crate::pubsub::Outbox>> + Send + Sync>;

impl std::fmt::Debug for ClientInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInfo")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .finish()
    }
}

impl ClientInfo {
    /// A new client's record; `closer` shuts its socket down.
    pub fn new(
        id: u64,
        addr: String,
        laddr: String,
        fd: i64,
        closer: Box<dyn Fn() + Send + Sync>,
    ) -> Self {
        ClientInfo {
            id,
            unix_socket: false,
            addr,
            laddr,
            fd,
            connected_at: Instant::now(),
            last_active_ms: AtomicU64::new(0),
            db: AtomicUsize::new(0),
            last_command: Mutex::new(("NULL", None)),
            meta: Mutex::new(ClientMeta {
                resp: 2,
                tracking_redirect: -1,
                ..ClientMeta::default()
            }),
            killed: AtomicBool::new(false),
            blocked_on: Mutex::new(None),
            pubsub: Default::default(),
            monitor: AtomicBool::new(false),
            multi: AtomicI64::new(-1),
            link: AtomicU8::new(0),
            closer,
            push_outbox: None,
        }
    }

    /// The rarely changing fields, to read or change.
    pub fn meta(&self) -> MutexGuard<'_, ClientMeta> {
        self.meta.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that the client ran `command` (and `subcommand`) at `now`.
    pub fn touch(
        &self,
        command: &'static str,
        subcommand: Option<&'static str>,
        now: std::time::Instant,
    ) {
        self.last_active_ms.store(
            now.saturating_duration_since(self.connected_at).as_millis() as u64,
            Ordering::Relaxed,
        );
        *self
            .last_command
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = (command, subcommand);
    }

    /// Seconds since the client last ran a command (or connected).
    pub fn idle_secs(&self) -> u64 {
        let now = self.connected_at.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_active_ms.load(Ordering::Relaxed)) / 1000
    }

    /// Asks the connection to close, now.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        (self.closer)();
        self.unblock(Outcome::Closed);
    }

    /// Ends the client's blocking wait, if it is blocked; true if it was
    /// (CLIENT UNBLOCK).
    pub fn unblock(&self, outcome: Outcome) -> bool {
        let waiter = self
            .blocked_on
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        waiter.is_some_and(|w| w.finish(outcome))
    }

    /// One line of CLIENT LIST / CLIENT INFO, with Redis 7.0.15's fields
    /// in its order. respd does not track buffer sizes: the figures are
    /// what Redis shows for a client in the same state (idle, or running
    /// `current`, the command asking, whose arguments are given).
    pub fn list_line(&self, current: Option<&[Vec<u8>]>) -> String {
        let meta = self.meta();
        let mut flags = String::new();
        let [sub, psub, ssub] = self.pubsub.each_ref().map(|n| n.load(Ordering::Relaxed));
        if self.monitor.load(Ordering::Relaxed) {
            flags.push('O');
        }
        match self.link.load(Ordering::Relaxed) {
            LINK_REPLICA => flags.push('S'),
            LINK_MASTER => flags.push('M'),
            _ => {}
        }
        if sub + psub + ssub > 0 {
            flags.push('P');
        }
        let multi = self.multi.load(Ordering::Relaxed);
        if multi >= 0 {
            flags.push('x');
        }
        let blocked = self
            .blocked_on
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        if blocked {
            flags.push('b');
        }
        flags.push_str(meta.tracking_flags);
        if self.unix_socket {
            flags.push('U');
        }
        if meta.no_evict {
            flags.push('e');
        }
        if meta.no_touch {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let command = match *self
            .last_command
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            (name, None) => name.to_string(),
            (name, Some(sub)) => format!("{name}|{sub}"),
        };
        // Redis's 16 KB reply buffer and 20 KB query buffer, and the
        // query buffer freed when idle.
        let buffers = match current {
            Some(args) => {
                let qbuf = crate::util::command_len(args);
                let argv: usize = args.iter().map(Vec::len).sum();
                format!(
                    "qbuf={qbuf} qbuf-free={} argv-mem={argv} multi-mem=0 rbs=16384 rbp=16384 obl=0 oll=0 omem=0 tot-mem={}",
                    20474usize.saturating_sub(qbuf),
                    37632 + qbuf
                )
            }
            None => "qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1800".to_string(),
        };
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={sub} psub={psub} ssub={ssub} multi={multi} {buffers} events=r cmd={} user={} redir={} resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            meta.name,
            self.connected_at.elapsed().as_secs(),
            self.idle_secs(),
            flags,
            self.db.load(Ordering::Relaxed),
            command,
            if meta.user.is_empty() {
                "default"
            } else {
                &meta.user
            },
            meta.tracking_redirect,
            meta.resp,
        )
    }
}

/// Every connected client, by id.
#[derive(Debug, Default)]
pub struct Clients {
    by_id: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: AtomicU64,
}

impl Clients {
    /// An empty registry; ids start at 1.
    pub fn new() -> Self {
        Clients {
            by_id: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
        }
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<u64, Arc<ClientInfo>>> {
        self.by_id.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next client id (ids are never reused).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a client.
    pub fn register(&self, info: Arc<ClientInfo>) {
        self.map().insert(info.id, info);
    }

    /// Removes a client that has disconnected.
    pub fn unregister(&self, id: u64) {
        self.map().remove(&id);
    }

    /// How many clients are connected.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// True when nobody is connected.
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }

    /// A snapshot of every client, in id order.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        // A killed client is gone at once, as in Redis, even if its thread
        // has not yet noticed and unregistered it.
        self.map()
            .values()
            .filter(|c| !c.killed.load(Ordering::Relaxed))
            .cloned()
            .collect()
    }

    /// The client with this id.
    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.map().get(&id).cloned()
    }
}
