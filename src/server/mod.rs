//! The server: listeners (see `listeners`), the pool of connection
//! workers, and the background expiry and save-point threads.
//!
//! One thread serves one connection, for as long as it stays connected.
//! The pool grows with the number of live connections, up to `maxclients`;
//! past that a client is told `-ERR max number of clients reached` and
//! closed, as Redis does, instead of waiting unseen in a queue. After a
//! burst, the idle workers go (`Acceptors::trim_pool`).
//!
//! Protected mode is checked at accept too: while no password is set, a
//! client that does not come from the loopback interface (or the unix
//! socket) is told why and closed before a worker is spent on it.

mod connection;
mod listeners;
mod signals;
pub(crate) mod stream;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::shared::{Listening, Shared};
use crate::util::now_ms;

use listeners::{Acceptors, Listener};

/// Stack size of a connection worker. Only the pages a worker touches cost
/// memory, and handlers do not recurse, so a small stack keeps thousands of
/// idle clients cheap.
const WORKER_STACK_BYTES: usize = 256 * 1024;
/// Workers started with the server, and added at a time when all are busy.
const POOL_STEP: usize = 16;
/// Redis 7.0's answer to a remote client in protected mode (networking.c).
const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// True for a client Redis calls local: exactly 127.0.0.1 or ::1 (not the
/// rest of 127/8), also when an IPv6 listener shows it IPv4-mapped.
pub fn is_local_peer(peer: &SocketAddr) -> bool {
    match peer.ip().to_canonical() {
        IpAddr::V4(ip) => ip == Ipv4Addr::LOCALHOST,
        IpAddr::V6(ip) => ip == Ipv6Addr::LOCALHOST,
    }
}

/// A bound, not yet running server.
pub struct Server {
    shared: Arc<Shared>,
    listeners: Vec<Listener>,
}

impl Server {
    /// Binds to `addr` with the default configuration: the way tests and
    /// embedding programs start respd (`"127.0.0.1:0"` picks a free port).
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Server> {
        Server::bind_with(addr, Config::default())
    }

    /// Binds to `addr` with the given configuration (its `bind` and `port`
    /// are ignored).
    pub fn bind_with(addr: impl ToSocketAddrs, config: Config) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let port = listener.local_addr()?.port();
        Ok(Server::assemble(
            config,
            port,
            vec![Listener::Tcp(listener)],
        ))
    }

    /// Binds to every address of the configuration's `bind` on its `port`,
    /// and to its `unixsocket`. Addresses written with a leading `-` in
    /// redis.conf are optional: if they cannot be bound (no IPv6, say),
    /// they are skipped.
    pub fn from_config(config: Config) -> io::Result<Server> {
        let bind = config.get("bind").unwrap_or("").to_string();
        let tcp = listeners::bind_tcp(&bind, config.port())?;
        let port = tcp
            .first()
            .and_then(|l| l.local_addr().ok())
            .map_or(config.port(), |a| a.port());
        let mut all: Vec<Listener> = tcp.into_iter().map(Listener::Tcp).collect();
        if let Some(path) = config.get("unixsocket").filter(|p| !p.is_empty()) {
            all.push(listeners::bind_unix(path, config.unixsocketperm())?);
        }
        if all.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no address to listen on (bind)",
            ));
        }
        Server::assemble(config, port, all).persistent()
    }

    /// What redis-server does with its dump (`dir`/`dbfilename`): load it
    /// now, before any client is accepted, then save at the save points
    /// and on SHUTDOWN. [`Server::from_config`] does this; a server made
    /// with [`Server::bind`] or [`Server::bind_with`] stays off disk
    /// unless this is called. A dump that cannot be read is an error (the
    /// message names the file and the offset); nothing is served then.
    pub fn persistent(self) -> io::Result<Server> {
        let dir = self.shared.config().get("dir").unwrap_or("").to_string();
        if !dir.is_empty() && !std::path::Path::new(&dir).is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("Can't chdir to '{dir}': No such file or directory"),
            ));
        }
        // With appendonly yes the AOF is the data, as in Redis: the dump is
        // not read.
        if self.shared.config().get("appendonly") == Some("yes") {
            crate::persistence::aof::load_at_start(&self.shared).map_err(io::Error::other)?;
        } else {
            crate::persistence::load(&self.shared).map_err(io::Error::other)?;
        }
        self.shared
            .persistence
            .automatic
            .store(true, Ordering::Relaxed);
        Ok(self)
    }

    fn assemble(config: Config, port: u16, listeners: Vec<Listener>) -> Server {
        let shared = Shared::new(config, port).into_arc();
        *shared
            .listen_addrs
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            listeners.iter().filter_map(Listener::tcp_addr).collect();
        Server { shared, listeners }
    }

    /// The address of the first TCP listener.
    pub fn local_addr(&self) -> SocketAddr {
        self.listeners
            .iter()
            .find_map(Listener::tcp_addr)
            .unwrap_or_else(|| {
                SocketAddr::from(([127, 0, 0, 1], self.shared.port.load(Ordering::Relaxed)))
            })
    }

    /// The shared state (for embedding programs and tests).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// What the `respd` binary adds to a server: SIGTERM and SIGINT shut
    /// it down (see `crate::shutdown`), SIGHUP is ignored, and the pidfile
    /// is written. Not for embedding programs: signals belong to the
    /// process.
    pub fn own_process(&self) -> io::Result<()> {
        signals::install(&self.shared)?;
        crate::shutdown::write_pidfile(&self.shared);
        Ok(())
    }

    /// Serves clients until SHUTDOWN.
    pub fn run(self) -> io::Result<()> {
        let Server { shared, listeners } = self;
        let acceptors = Arc::new(Acceptors::new(shared.clone()));
        let as_listening: Arc<dyn Listening> = acceptors.clone();
        let _ = shared.listening.set(Arc::downgrade(&as_listening));
        drop(as_listening);
        let expiry = spawn_expiry_thread(shared.clone())?;
        let saver = spawn_save_points_thread(shared.clone())?;
        crate::replication::replica::start_from_config(&shared);
        for listener in listeners {
            acceptors.start(listener)?;
        }
        acceptors.serve_until_stopped();
        // Stopped: close every client, wait for the workers, stop expiry.
        for client in shared.clients.all() {
            client.kill();
        }
        acceptors.wait_for_connections();
        let _ = expiry.join();
        let _ = saver.join();
        crate::persistence::aof::sync(&shared);
        Ok(())
    }

    /// Runs the server on a background thread: the handle knows the address
    /// and stops the server when asked (or when dropped).
    pub fn spawn(self) -> ServerHandle {
        let addr = self.local_addr();
        let shared = self.shared.clone();
        let thread = thread::spawn(move || {
            let _ = self.run();
        });
        ServerHandle {
            addr,
            shared,
            thread: Some(thread),
        }
    }
}

/// A server running on a background thread.
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// Where clients connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The running server's shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops the server and waits until every connection has closed.
    pub fn shutdown(&mut self) {
        self.shared.request_shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Active expiry: `hz` times a second, sample the volatile keys of every
/// database and delete the expired ones; keep going on a database while
/// more than a quarter of the sample had expired (as Redis does).
fn spawn_expiry_thread(shared: Arc<Shared>) -> io::Result<JoinHandle<()>> {
    const SAMPLE: usize = 20;
    const BUDGET: Duration = Duration::from_millis(25);
    thread::Builder::new()
        .name("respd-expiry".into())
        .spawn(move || {
            let _clock = crate::clock::enter(&shared.ambient);
            while !shared.shutting_down.load(Ordering::SeqCst) {
                let started = Instant::now();
                // No key is deleted while clients are paused (Redis keeps
                // the dataset still so a failover sees it as it was), nor by
                // a replica (it hides expired keys; the master's DEL removes
                // them).
                let active = shared.active_expire.load(Ordering::Relaxed)
                    && !shared.replication.replica.is_replica()
                    && (!shared.pause.engaged() || shared.pause.current().is_none());
                let (mut sampled, mut expired, mut capped) = (0, 0, false);
                for index in (0..shared.store.len()).filter(|_| active) {
                    loop {
                        // Each step waits for the shared side of the EXEC
                        // gate: never in the middle of a script or an EXEC,
                        // which see keys expire by their own clock (Redis's
                        // cycle never runs inside either).
                        let gate = shared
                            .exec_gate
                            .read()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        let (checked, deleted) =
                            shared.store.write(index).expire_some(now_ms(), SAMPLE);
                        // Expired streams end their XREADGROUP clients' wait.
                        let gone = shared.store.take_gone_streams();
                        if !gone.is_empty() && shared.blocking.blocked_count() > 0 {
                            shared.blocking.serve(&shared.store, gone);
                        }
                        drop(gate);
                        let changed = crate::store::changed::take();
                        if !changed.is_empty() {
                            let limit = shared.pubsub.output_limits(&shared).pubsub;
                            shared.tracking.deliver(&shared.clients, 0, changed, limit);
                        }
                        // Their `expired` events, once the lock is let go.
                        crate::notify::publish_pending(&shared);
                        sampled += checked;
                        expired += deleted;
                        capped = started.elapsed() > BUDGET;
                        if checked == 0 || deleted * 4 <= checked || capped {
                            break;
                        }
                    }
                }
                if active {
                    shared
                        .stats
                        .note_expire_cycle(sampled, expired, started.elapsed(), capped);
                }
                // A slow cycle is a latency spike of its own (LATENCY).
                let cycle_ms = started.elapsed().as_millis() as u64;
                shared.latency.add_if_needed("expire-cycle", cycle_ms);
                let period = Duration::from_millis(1000 / shared.config().hz());
                thread::sleep(period.saturating_sub(started.elapsed()));
            }
        })
}

/// Save points: once a second (their unit), start a background save when
/// one is due. Ten times a second, the AOF's buffer goes to the file (and
/// once a second to the disk, with `appendfsync everysec`).
fn spawn_save_points_thread(shared: Arc<Shared>) -> io::Result<JoinHandle<()>> {
    const PERIOD: Duration = Duration::from_millis(100);
    thread::Builder::new()
        .name("respd-savepoints".into())
        .spawn(move || {
            let mut last_check = Instant::now();
            let mut last_ping = Instant::now();
            while !shared.shutting_down.load(Ordering::SeqCst) {
                // Sleep in short steps so a shutdown is not held up.
                thread::sleep(PERIOD);
                shared.stats.sample_rates();
                crate::persistence::aof::cron(&shared);
                crate::replication::master::cron(&shared, &mut last_ping);
                crate::replication::failover::cron(&shared);
                if last_check.elapsed() >= Duration::from_secs(1) {
                    last_check = Instant::now();
                    crate::persistence::check_save_points(&shared);
                }
            }
        })
}
