//! The listening sockets, TCP (`bind`, `port`) and unix (`unixsocket`),
//! each with its accept thread; and their replacement while the server
//! runs (CONFIG SET port / bind, as Redis 7.0's `changeListenPort` and
//! `changeBindAddr`).
//!
//! An accept thread blocks in `accept`. To stop one, its flag is set and
//! the listener is woken by a connection of our own, which it drops.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use threadpool::ThreadPool;

use super::stream::Stream;
use super::{connection, is_local_peer, PROTECTED_MODE_DENIED};
use crate::commands::errors;
use crate::log::{self, log};
use crate::shared::{Listening, Shared, Stats};

/// How often the pool is checked for idle workers.
const TRIM_PERIOD: Duration = Duration::from_secs(1);
/// More idle workers than this, and the pool is retired (see
/// `Acceptors::trim_pool`).
const RETIRE_IDLE_WORKERS: usize = 4 * super::POOL_STEP;

/// One listening socket.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    Unix {
        listener: UnixListener,
        path: String,
    },
}

/// A connection just accepted.
struct Accepted {
    stream: Stream,
    peer: String,
    laddr: String,
    /// From this host (loopback, or the unix socket): protected mode lets
    /// it in.
    local: bool,
}

impl Listener {
    fn accept(&self) -> io::Result<Accepted> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, peer) = listener.accept()?;
                let laddr = stream
                    .local_addr()
                    .or_else(|_| listener.local_addr())
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                Ok(Accepted {
                    stream: Stream::Tcp(stream),
                    peer: peer.to_string(),
                    laddr,
                    local: is_local_peer(&peer),
                })
            }
            // Redis names both ends of a unix connection `path:0`.
            Listener::Unix { listener, path } => Ok(Accepted {
                stream: Stream::Unix(listener.accept()?.0),
                peer: format!("{path}:0"),
                laddr: format!("{path}:0"),
                local: true,
            }),
        }
    }

    /// Makes a blocked `accept` return.
    fn wake(&self) {
        match self {
            Listener::Tcp(listener) => {
                let Ok(mut addr) = listener.local_addr() else {
                    return;
                };
                if addr.ip().is_unspecified() {
                    addr.set_ip(if addr.is_ipv4() {
                        [127, 0, 0, 1].into()
                    } else {
                        std::net::Ipv6Addr::LOCALHOST.into()
                    });
                }
                let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
            }
            Listener::Unix { path, .. } => {
                let _ = UnixStream::connect(path);
            }
        }
    }

    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        match self {
            Listener::Tcp(listener) => listener.local_addr().ok(),
            Listener::Unix { .. } => None,
        }
    }

    fn ready_line(&self) -> String {
        match self {
            Listener::Tcp(listener) => format!(
                "respd {} ready to accept connections on {}",
                env!("CARGO_PKG_VERSION"),
                listener
                    .local_addr()
                    .map_or_else(|_| "?".into(), |a| a.to_string())
            ),
            Listener::Unix { path, .. } => {
                format!("The server is now ready to accept connections at {path}")
            }
        }
    }
}

/// Binds every address of `bind` (redis.conf's syntax: `*`, `::*`, and a
/// leading `-` for an address that may be missing) on `port`; port 0
/// picks a free port, the same for every address.
pub fn bind_tcp(bind: &str, port: u16) -> io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let mut bound_port = port;
    for entry in bind.split_whitespace() {
        let optional = entry.starts_with('-');
        let host = match entry.trim_start_matches('-') {
            "*" => "0.0.0.0",
            "::*" => "::",
            host => host,
        };
        let addr = if host.contains(':') {
            format!("[{host}]:{bound_port}")
        } else {
            format!("{host}:{bound_port}")
        };
        match TcpListener::bind(&addr) {
            Ok(listener) => {
                bound_port = listener.local_addr()?.port();
                listeners.push(listener);
            }
            Err(_) if optional => {}
            Err(err) => {
                return Err(io::Error::new(
                    err.kind(),
                    format!("could not bind {addr}: {err}"),
                ))
            }
        }
    }
    Ok(listeners)
}

/// The unix socket at `path`, with permissions `perm` (octal, 0 leaves the
/// umask's). A stale socket file is replaced, as Redis does.
pub fn bind_unix(path: &str, perm: u32) -> io::Result<Listener> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)
        .map_err(|err| io::Error::new(err.kind(), format!("Failed opening Unix socket: {err}")))?;
    if perm != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
    }
    Ok(Listener::Unix {
        listener,
        path: path.to_string(),
    })
}

/// A listener and its accept thread.
struct Running {
    listener: Arc<Listener>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// Every accept thread of a running server, and the pool of connection
/// workers they hand clients to.
pub struct Acceptors {
    shared: Arc<Shared>,
    pool: Arc<Mutex<ThreadPool>>,
    /// Connections being served, in the current pool or a retired one.
    live: Arc<AtomicUsize>,
    running: Mutex<Vec<Running>>,
    /// Signalled when the server stops.
    stopped: Condvar,
}

impl Acceptors {
    pub fn new(shared: Arc<Shared>) -> Self {
        Acceptors {
            shared,
            pool: Arc::new(Mutex::new(new_pool())),
            live: Arc::new(AtomicUsize::new(0)),
            running: Mutex::new(Vec::new()),
            stopped: Condvar::new(),
        }
    }

    fn running(&self) -> MutexGuard<'_, Vec<Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts accepting on `listener`.
    pub fn start(&self, listener: Listener) -> io::Result<()> {
        log(&self.shared, log::NOTICE, &listener.ready_line());
        let listener = Arc::new(listener);
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, pool, live) = (self.shared.clone(), self.pool.clone(), self.live.clone());
        let (accepting, stopping) = (listener.clone(), stop.clone());
        let thread = thread::Builder::new()
            .name("respd-accept".into())
            .spawn(move || accept_loop(&accepting, &stopping, &shared, pool, &live))?;
        self.running().push(Running {
            listener,
            stop,
            thread,
        });
        self.publish_addrs();
        Ok(())
    }

    /// Keeps `Shared::listen_addrs` (INFO, embedding programs) current.
    fn publish_addrs(&self) {
        let addrs = self
            .running()
            .iter()
            .filter_map(|r| r.listener.tcp_addr())
            .collect();
        *self
            .shared
            .listen_addrs
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = addrs;
    }

    /// Stops the accept threads of the listeners `which` picks, and waits
    /// for them: their sockets are closed when this returns.
    fn stop(&self, which: impl Fn(&Listener) -> bool) {
        let stopping: Vec<Running> = {
            let mut running = self.running();
            let (stopping, keeping) = running.drain(..).partition(|r| which(&r.listener));
            *running = keeping;
            stopping
        };
        for entry in &stopping {
            entry.stop.store(true, Ordering::SeqCst);
            entry.listener.wake();
        }
        for entry in stopping {
            let _ = entry.thread.join();
            // A closed unix socket leaves its file behind.
            if let Listener::Unix { path, .. } = &*entry.listener {
                let _ = std::fs::remove_file(path);
            }
        }
        self.publish_addrs();
    }

    /// Blocks until the server stops, giving idle workers back once a
    /// second; then stops every accept thread and waits for every
    /// connection to end (the caller has closed them).
    pub fn serve_until_stopped(&self) {
        let mut running = self.running();
        while !self.shared.shutting_down.load(Ordering::SeqCst) {
            running = self
                .stopped
                .wait_timeout(running, TRIM_PERIOD)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            self.trim_pool();
        }
        drop(running);
        self.stop(|_| true);
    }

    /// Waits until every connection has ended.
    pub fn wait_for_connections(&self) {
        while self.live.load(Ordering::SeqCst) > 0 {
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// After a burst of clients, the pool holds many idle workers (each
    /// with its stack). threadpool cannot stop an idle worker, so the pool
    /// is retired instead: new clients go to a fresh pool of `POOL_STEP`
    /// workers; the old pool's idle workers end at once (their job queue
    /// closes), its busy ones when their client leaves.
    fn trim_pool(&self) {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        let busy = pool.active_count() + pool.queued_count();
        if pool.max_count().saturating_sub(busy) > RETIRE_IDLE_WORKERS {
            *pool = new_pool();
        }
    }
}

impl Listening for Acceptors {
    /// CONFIG SET port / bind: the TCP listeners close, and new ones open
    /// on the new addresses; if those cannot be bound, the old ones come
    /// back (as Redis restores its previous configuration).
    fn rebind(&self, bind: &str, port: u16, old_bind: &str, old_port: u16) -> Result<(), String> {
        self.stop(|l| matches!(l, Listener::Tcp(_)));
        // Redis's port 0 means no TCP at all.
        let bound = if port == 0 {
            Ok(Vec::new())
        } else {
            bind_tcp(bind, port)
        };
        match bound {
            Ok(listeners) => {
                for listener in listeners {
                    self.start(Listener::Tcp(listener))
                        .map_err(|err| err.to_string())?;
                }
                Ok(())
            }
            Err(err) => {
                log(
                    &self.shared,
                    log::WARNING,
                    &format!("Failed to bind: {err}"),
                );
                let restored = if old_port == 0 {
                    Ok(Vec::new())
                } else {
                    bind_tcp(old_bind, old_port)
                };
                match restored {
                    Ok(listeners) => {
                        for listener in listeners {
                            let _ = self.start(Listener::Tcp(listener));
                        }
                    }
                    Err(err) => log(
                        &self.shared,
                        log::WARNING,
                        &format!("Could not listen again on the previous addresses: {err}"),
                    ),
                }
                Err(err.to_string())
            }
        }
    }

    /// Wakes every accept thread, and the server's main thread, to see that
    /// the server stops.
    fn wake_all(&self) {
        let running = self.running();
        for entry in running.iter() {
            entry.listener.wake();
        }
        self.stopped.notify_all();
    }
}

/// Counts a live connection for as long as it exists, even if its worker
/// panics.
struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A pool of `POOL_STEP` connection workers.
fn new_pool() -> ThreadPool {
    threadpool::Builder::new()
        .thread_name("respd-client".into())
        .thread_stack_size(super::WORKER_STACK_BYTES)
        .num_threads(super::POOL_STEP)
        .build()
}

fn accept_loop(
    listener: &Listener,
    stop: &AtomicBool,
    shared: &Arc<Shared>,
    pool: Arc<Mutex<ThreadPool>>,
    live: &Arc<AtomicUsize>,
) {
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) || shared.shutting_down.load(Ordering::SeqCst) {
            break;
        }
        let Ok(accepted) = accepted else {
            // Out of file descriptors, usually: back off a little.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        Stats::bump(&shared.stats.connections_received);
        let (maxclients, protected) = {
            let config = shared.config();
            let protected = config.protected_mode() && config.requirepass().is_none();
            (config.maxclients(), protected)
        };
        let refusal = if live.load(Ordering::SeqCst) >= maxclients {
            Some(format!("-{}\r\n", errors::MAX_CLIENTS))
        } else if protected && !accepted.local {
            Some(PROTECTED_MODE_DENIED.to_string())
        } else {
            None
        };
        // A test asked for refused connections (testing::TestServer):
        // closed without a word, as a server that is down.
        if shared.faults.refusing() {
            let _ = accepted.stream.shutdown(Shutdown::Both);
            continue;
        }
        if let Some(refusal) = refusal {
            Stats::bump(&shared.stats.rejected_connections);
            let _ = (&accepted.stream).write_all(refusal.as_bytes());
            let _ = accepted.stream.shutdown(Shutdown::Both);
            continue;
        }
        live.fetch_add(1, Ordering::SeqCst);
        let (shared, guard) = (shared.clone(), LiveGuard(live.clone()));
        let mut pool = pool.lock().unwrap_or_else(PoisonError::into_inner);
        // Every worker busy: grow by a step (one worker serves one client).
        let busy = pool.active_count() + pool.queued_count();
        if busy >= pool.max_count() {
            pool.set_num_threads(busy + super::POOL_STEP);
        }
        pool.execute(move || {
            let _guard = guard;
            connection::serve(&shared, accepted.stream, accepted.peer, accepted.laddr);
        });
    }
}
