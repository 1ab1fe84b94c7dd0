//! What every connection shares: the store, the configuration, the client
//! registry and the counters INFO reports. The server builds one `Shared`;
//! commands read and change it through their [`Context`](crate::commands::Context).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{
    Arc, Mutex, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak,
};
use std::time::{Duration, Instant};

use crate::blocking::Blocking;
use crate::clients::Clients;
use crate::config::Config;
use crate::persistence::Persistence;
use crate::pubsub::Hub;
use crate::store::Store;

/// Server-wide counters (INFO stats). Relaxed atomics: they are statistics.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    /// Bytes read from clients and sent to them (replication links apart).
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    /// The replication stream's bytes: read from a master, sent to replicas
    /// (snapshots included).
    pub net_repl_input_bytes: AtomicU64,
    pub net_repl_output_bytes: AtomicU64,
    /// Socket reads that brought a client's bytes, and batches of replies
    /// written (Redis's read and write events).
    pub reads_processed: AtomicU64,
    pub writes_processed: AtomicU64,
    /// Active expiry: the cycles its time budget cut short, and the time
    /// all cycles took, in microseconds.
    pub expire_cycles_capped: AtomicU64,
    pub expire_cycle_micros: AtomicU64,
    /// The share of sampled volatile keys found expired, averaged over the
    /// cycles (each weighs 5%, as in Redis); an f64's bits.
    expired_stale: AtomicU64,
    /// The last samples of the instantaneous_* rates.
    rates: Mutex<Rates>,
}

/// Samples kept per rate (Redis's `STATS_METRIC_SAMPLES`).
const RATE_SAMPLES: usize = 16;

/// What `instantaneous_*` report: per-second rates sampled every 100 ms
/// ([`Stats::sample_rates`]), averaged over the last [`RATE_SAMPLES`].
#[derive(Debug, Default)]
struct Rates {
    last_at: Option<Instant>,
    /// Per rate (indexed by [`Rate`]): the counter at the last sample.
    last: [u64; Rate::ALL.len()],
    samples: [[u64; RATE_SAMPLES]; Rate::ALL.len()],
    next: usize,
}

/// The rates INFO reports.
#[derive(Debug, Clone, Copy)]
pub enum Rate {
    Commands,
    NetInput,
    NetOutput,
    ReplInput,
    ReplOutput,
}

impl Rate {
    const ALL: [Rate; 5] = [
        Rate::Commands,
        Rate::NetInput,
        Rate::NetOutput,
        Rate::ReplInput,
        Rate::ReplOutput,
    ];
}

impl Stats {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// A read of `bytes` from a client.
    pub fn note_read(&self, bytes: usize) {
        Stats::add(&self.net_input_bytes, bytes);
        Stats::bump(&self.reads_processed);
    }

    /// A write of `bytes` to a client.
    pub fn note_write(&self, bytes: usize) {
        Stats::add(&self.net_output_bytes, bytes);
        Stats::bump(&self.writes_processed);
    }

    /// The counter a rate follows.
    fn counter(&self, rate: Rate) -> &AtomicU64 {
        match rate {
            Rate::Commands => &self.commands_processed,
            Rate::NetInput => &self.net_input_bytes,
            Rate::NetOutput => &self.net_output_bytes,
            Rate::ReplInput => &self.net_repl_input_bytes,
            Rate::ReplOutput => &self.net_repl_output_bytes,
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for counter in [
            &self.connections_received,
            &self.commands_processed,
            &self.rejected_connections,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.net_repl_input_bytes,
            &self.net_repl_output_bytes,
            &self.reads_processed,
            &self.writes_processed,
            &self.expire_cycles_capped,
            &self.expire_cycle_micros,
            &self.expired_stale,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        *self.rates.lock().unwrap_or_else(PoisonError::into_inner) = Rates::default();
    }

    /// One active expiry cycle: `sampled` volatile keys looked at, of which
    /// `expired` had expired; `capped` when its time budget ended it.
    pub fn note_expire_cycle(&self, sampled: usize, expired: usize, took: Duration, capped: bool) {
        let current = if sampled == 0 {
            0.0
        } else {
            expired as f64 / sampled as f64
        };
        let average = current * 0.05 + self.expired_stale_ratio() * 0.95;
        self.expired_stale
            .store(average.to_bits(), Ordering::Relaxed);
        Stats::add(&self.expire_cycle_micros, took.as_micros() as usize);
        if capped {
            Stats::bump(&self.expire_cycles_capped);
        }
    }

    /// INFO's `expired_stale_perc`, as a ratio.
    pub fn expired_stale_ratio(&self) -> f64 {
        f64::from_bits(self.expired_stale.load(Ordering::Relaxed))
    }

    /// Takes one sample of every rate (Redis's `trackInstantaneousMetric`,
    /// every 100 ms).
    pub fn sample_rates(&self) {
        let counters = Rate::ALL.map(|rate| self.counter(rate).load(Ordering::Relaxed));
        let now = Instant::now();
        let mut rates = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
        let elapsed_ms = rates
            .last_at
            .map_or(0, |at| now.duration_since(at).as_millis() as u64);
        let slot = rates.next;
        for (rate, &counter) in counters.iter().enumerate() {
            let delta = counter.saturating_sub(rates.last[rate]);
            rates.samples[rate][slot] = (delta * 1000).checked_div(elapsed_ms).unwrap_or(0);
            rates.last[rate] = counter;
        }
        rates.next = (slot + 1) % RATE_SAMPLES;
        rates.last_at = Some(now);
    }

    /// A rate per second, the mean of its last samples.
    pub fn rate(&self, rate: Rate) -> u64 {
        let rates = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
        rates.samples[rate as usize].iter().sum::<u64>() / RATE_SAMPLES as u64
    }
}

/// What the server lets others do with its listening sockets: replace
/// the TCP ones (CONFIG SET port / bind), and wake every accept thread
/// (a shutdown).
pub trait Listening: Send + Sync {
    /// Listens on `bind` / `port` instead; on failure the old addresses
    /// are listened on again and the error says why.
    fn rebind(&self, bind: &str, port: u16, old_bind: &str, old_port: u16) -> Result<(), String>;
    fn wake_all(&self);
}

/// The state of one running server. Not `Debug`: nothing prints it, and
/// the derived one (through the whole store) cost the binary 100 KB.
pub struct Shared {
    pub store: Store,
    config: RwLock<Config>,
    /// Bumped on every CONFIG SET, so connections know to re-read the
    /// settings they cache (limits, timeout, password).
    pub config_epoch: AtomicU64,
    pub clients: Clients,
    /// Clients blocked on keys (BLPOP...).
    pub blocking: Blocking,
    /// Every command holds the shared side while it runs; EXEC holds the
    /// exclusive side, which makes a transaction atomic.
    pub exec_gate: RwLock<()>,
    /// Pub/Sub subscribers and MONITOR clients.
    pub pubsub: Hub,
    /// Client-side caching: tracking clients and the keys they cache.
    pub tracking: crate::tracking::Tracking,
    pub stats: Stats,
    pub started: Instant,
    /// Unix time of the start, in seconds.
    pub started_unix: u64,
    /// Saves, their status and the save points' bookkeeping.
    pub persistence: Persistence,
    /// The replication backlog and the replicas reading it.
    pub replication: crate::replication::Replication,
    /// The `Arc` this state lives in, for threads that outlive a command
    /// (a background save). Set by the server; empty for a bare `Shared`.
    this: OnceLock<Weak<Shared>>,
    /// 40 random hex digits naming this run (INFO run_id, master_replid).
    pub run_id: String,
    /// Set once the server stops: the accept loops end, connections close.
    pub shutting_down: AtomicBool,
    /// A shutdown under way (see `crate::shutdown`): commands wait for it.
    pub shutdown: crate::shutdown::State,
    /// False after DEBUG SET-ACTIVE-EXPIRE 0: keys expire only when found.
    pub active_expire: AtomicBool,
    /// The port the TCP listeners are bound to (INFO tcp_port).
    pub port: AtomicU16,
    /// Every TCP listener's address.
    pub listen_addrs: Mutex<Vec<SocketAddr>>,
    /// The running server's listeners (set by `Server::run`).
    pub listening: OnceLock<Weak<dyn Listening>>,
    /// Per-command and per-error counters (INFO commandstats, errorstats).
    pub command_stats: crate::cmdstats::CommandStats,
    /// SLOWLOG's entries.
    pub slowlog: crate::slowlog::SlowLog,
    /// LATENCY's spikes per event.
    pub latency: crate::latency::LatencyMonitor,
    /// CLIENT PAUSE.
    pub pause: crate::pause::Pause,
    /// `stream-node-max-entries` / `-bytes`, read by every XADD.
    pub stream_node_limits: crate::store::NodeLimitSettings,
    /// MIGRATE's cached connections to its targets.
    pub(crate) migrate_links: crate::commands::migrate::Links,
    /// Users, their permissions and the log of refusals.
    pub acl: crate::acl::Acl,
    /// This server's clock and source of chance (DEBUG CLOCK, DEBUG SEED);
    /// threads working for it [`enter`](crate::clock::enter) them.
    pub ambient: crate::clock::Ambient,
    /// Test controls: injected failures, the command record (DEBUG
    /// FAIL-NEXT, DEBUG RECORD).
    pub faults: crate::faults::Faults,
    /// The Lua VM, the script cache and the running script's state.
    #[cfg(feature = "scripting")]
    pub scripting: crate::scripting::Scripting,
}

impl Shared {
    /// State for a server with this configuration.
    pub fn new(config: Config, port: u16) -> Self {
        let store = Store::new(config.databases());
        store.events().set_classes(config.keyspace_events());
        let acl = crate::acl::Acl::from_config(&config);
        let (policy, log_factor, decay) = config.access_settings();
        store.access().configure(policy, log_factor, decay);
        store.access().configure_compact(config.compact_limits());
        let (maxmemory, policy, samples, tenacity) = config.memory_settings();
        store
            .governor
            .configure(maxmemory, policy, samples, tenacity);
        let shared = Shared {
            store,
            config: RwLock::new(config),
            config_epoch: AtomicU64::new(0),
            clients: Clients::new(),
            blocking: Blocking::new(),
            exec_gate: RwLock::new(()),
            pubsub: Hub::new(),
            tracking: Default::default(),
            stats: Stats::default(),
            started: Instant::now(),
            started_unix: crate::util::now_ms() / 1000,
            persistence: Persistence::new(crate::util::now_ms() / 1000),
            replication: Default::default(),
            this: OnceLock::new(),
            run_id: random_hex(40),
            shutting_down: AtomicBool::new(false),
            shutdown: Default::default(),
            active_expire: AtomicBool::new(true),
            port: AtomicU16::new(port),
            listening: OnceLock::new(),
            listen_addrs: Mutex::new(Vec::new()),
            command_stats: Default::default(),
            slowlog: Default::default(),
            latency: Default::default(),
            pause: Default::default(),
            stream_node_limits: Default::default(),
            migrate_links: Default::default(),
            acl,
            ambient: crate::clock::Ambient {
                clock: Default::default(),
                chance: Default::default(),
            },
            faults: Default::default(),
            #[cfg(feature = "scripting")]
            scripting: Default::default(),
        };
        shared.configure_introspection();
        shared
    }

    /// Copies the settings read on every command (slow log, latency
    /// monitor and tracking, stream node sizes) into atomics, after a
    /// start or CONFIG SET.
    pub fn configure_introspection(&self) {
        let config = self.config();
        let number = |name: &str| {
            config
                .get(name)
                .and_then(|v| crate::util::parse_i64(v.as_bytes()))
                .unwrap_or(0)
        };
        self.slowlog
            .slower_than
            .store(number("slowlog-log-slower-than"), Ordering::Relaxed);
        self.slowlog
            .set_max_len(number("slowlog-max-len").max(0) as u64);
        self.latency.threshold_ms.store(
            number("latency-monitor-threshold").max(0) as u64,
            Ordering::Relaxed,
        );
        self.command_stats.tracking.store(
            config.get("latency-tracking") == Some("yes"),
            Ordering::Relaxed,
        );
        let size = |name: &str, default: u64| {
            config
                .get(name)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(default)
        };
        self.tracking
            .set_max_keys(size("tracking-table-max-keys", 1_000_000) as usize);
        self.stream_node_limits.set(crate::store::NodeLimits {
            max_entries: size("stream-node-max-entries", 100),
            max_bytes: size("stream-node-max-bytes", 4096),
        });
    }

    /// Wraps the state in an `Arc` that it knows (see [`Shared::arc`]).
    pub fn into_arc(self) -> Arc<Shared> {
        let shared = Arc::new(self);
        let _ = shared.this.set(Arc::downgrade(&shared));
        shared
    }

    /// The `Arc` this state lives in, when built by [`Shared::into_arc`].
    pub fn arc(&self) -> Option<Arc<Shared>> {
        self.this.get().and_then(Weak::upgrade)
    }

    /// The configuration, to read.
    pub fn config(&self) -> RwLockReadGuard<'_, Config> {
        self.config.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells every connection to re-read its user (after an ACL change).
    pub fn users_changed(&self) {
        self.config_epoch.fetch_add(1, Ordering::Release);
    }

    /// The configuration, to change; connections see the change at their
    /// next command.
    pub fn config_mut(&self) -> RwLockWriteGuard<'_, Config> {
        self.config_epoch.fetch_add(1, Ordering::Release);
        self.config.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the server (the end of a shutdown, or the embedding program):
    /// the accept loops are woken, see the flag and stop; the server then
    /// closes every client.
    pub fn request_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        // A running script stops, written or not (SHUTDOWN NOSAVE).
        #[cfg(feature = "scripting")]
        self.scripting.abort();
        if let Some(listening) = self.listening.get().and_then(Weak::upgrade) {
            listening.wake_all();
        }
    }

    /// The running server's listeners, if it runs.
    pub fn listening(&self) -> Option<std::sync::Arc<dyn Listening>> {
        self.listening.get().and_then(Weak::upgrade)
    }
}

/// `len` random hex digits, from the standard library's per-process random
/// hash keys (no dependency needed for an id nobody has to guess).
pub(crate) fn random_hex(len: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut out = String::with_capacity(len + 16);
    let mut round = 0u64;
    while out.len() < len {
        let mut hasher = state.build_hasher();
        hasher.write_u64(round);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        out.push_str(&format!("{:016x}", hasher.finish()));
        round += 1;
    }
    out.truncate(len);
    out
}
