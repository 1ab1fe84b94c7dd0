//! Replication, respd as a replica of a Redis master (REPLICAOF host
//! port): one link thread connects, handshakes (PING, AUTH, REPLCONF
//! listening-port, REPLCONF capa, PSYNC), loads the master's RDB on a full
//! resync, then runs the master's stream as commands without replies,
//! counting its offset. A second thread sends `REPLCONF ACK <offset>` every
//! second. On a broken link it reconnects and asks for a partial resync
//! with the replid and offset it has.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::clients::ClientInfo;
use crate::commands::{self, Context, Session};
use crate::log::{self, log};
use crate::resp::{CommandBuf, Limits, Reply};
use crate::shared::{Shared, Stats};

/// Redis's reply to a write on a read-only replica.
pub const READONLY: &str = "READONLY You can't write against a read only replica.";

/// The replica side's state, part of [`super::Replication`].
#[derive(Debug, Default)]
pub struct ReplicaSide {
    state: Mutex<Option<Master>>,
    /// Bumped at every REPLICAOF: a link thread of an older one ends.
    generation: AtomicU64,
    /// The stream offset applied so far (`slave_repl_offset`).
    pub offset: AtomicU64,
    /// A replica whose link is not up: every command's stale-data check
    /// reads this instead of the state's lock.
    link_down: AtomicBool,
    /// True while this server follows a master (every write's propagation
    /// reads it).
    following: AtomicBool,
    /// Held while one command of the master's stream is applied and fed
    /// to this server's replicas: a replica's full resync takes it, so
    /// its snapshot and its stream start at the same point.
    pub apply_lock: Mutex<()>,
    /// The database the master's stream has selected (`repl-stream-db`
    /// of a snapshot for this server's replicas).
    pub stream_db: AtomicUsize,
}

/// The master this server replicates, and the link's state.
#[derive(Debug, Clone)]
pub struct Master {
    pub host: String,
    pub port: u16,
    pub link: LinkState,
    /// The master's replication id, once synced.
    pub replid: Option<String>,
    pub last_io: Instant,
    stream: Option<Arc<TcpStream>>,
}

/// ROLE's and INFO's words for the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Handshake,
    Sync,
    Connected,
}

impl LinkState {
    pub fn word(self) -> &'static str {
        match self {
            LinkState::Connecting => "connect",
            LinkState::Handshake => "handshake",
            LinkState::Sync => "sync",
            LinkState::Connected => "connected",
        }
    }
}

impl ReplicaSide {
    fn state(&self) -> MutexGuard<'_, Option<Master>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The master, when this server is a replica.
    pub fn master(&self) -> Option<Master> {
        self.state().clone()
    }

    pub fn is_replica(&self) -> bool {
        self.state().is_some()
    }

    pub fn following(&self) -> bool {
        self.following.load(Ordering::Acquire)
    }

    /// Keeps `link_down` and `following` true to the state (called with
    /// it locked).
    fn note_link(&self, state: &Option<Master>) {
        self.following.store(state.is_some(), Ordering::Release);
        let down = state
            .as_ref()
            .is_some_and(|m| m.link != LinkState::Connected);
        self.link_down.store(down, Ordering::Release);
    }
}

/// True when a client write must be refused (`replica-read-only yes`).
pub fn read_only(shared: &Shared) -> bool {
    // The atomic first: a master's writes take no lock here.
    shared.replication.replica.following() && shared.config().get("replica-read-only") != Some("no")
}

/// Redis's refusal of a command while the master's link is down and
/// `replica-serve-stale-data` is `no`.
pub const MASTERDOWN: &str =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

/// Refuses a command not flagged `stale` (an EXEC with one queued) while
/// the link is down and `replica-serve-stale-data no`.
pub fn check_stale(
    cx: &crate::commands::Context<'_>,
    command: &crate::commands::Command,
    resolved: crate::commands::Resolved,
) -> Result<(), crate::commands::errors::Error> {
    let shared = cx.shared;
    if !shared.replication.replica.link_down.load(Ordering::Acquire)
        || cx.session.replication.is_master
        || shared.config().get("replica-serve-stale-data") != Some("no")
    {
        return Ok(());
    }
    let stale_ok = |c: &crate::commands::Command| c.flags & crate::commands::flags::STALE != 0;
    let denied = if resolved.parent == "exec" {
        cx.session
            .multi
            .as_ref()
            .is_some_and(|t| t.queued.iter().any(|(queued, _)| !stale_ok(queued.command)))
    } else {
        !stale_ok(command)
    };
    if denied {
        return Err(MASTERDOWN.into());
    }
    Ok(())
}

/// REPLICAOF host port: follow a new master (a new link thread). Returns
/// false when already following that one.
pub fn follow(shared: &Shared, host: &str, port: u16) -> bool {
    let side = &shared.replication.replica;
    let mut state = side.state();
    if let Some(master) = state.as_ref() {
        if master.host.eq_ignore_ascii_case(host) && master.port == port {
            return false;
        }
        if let Some(stream) = &master.stream {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
    let replid = state.as_ref().and_then(|m| m.replid.clone());
    if state.is_none() {
        // A master that turns replica offers its own history for a
        // partial resync (Redis's cached master "using myself").
        let offset = shared.replication.backlog().offset();
        side.offset.store(offset, Ordering::SeqCst);
    }
    *state = Some(Master {
        host: host.to_string(),
        port,
        link: LinkState::Connecting,
        replid,
        last_io: Instant::now(),
        stream: None,
    });
    side.note_link(&state);
    let generation = side.generation.fetch_add(1, Ordering::SeqCst) + 1;
    drop(state);
    log(
        shared,
        log::NOTICE,
        &format!("REPLICAOF {host}:{port} enabled"),
    );
    if let Some(owner) = shared.arc() {
        let spawned = std::thread::Builder::new()
            .name("respd-replica-link".into())
            .spawn(move || link_loop(&owner, generation));
        if spawned.is_err() {
            log(shared, log::WARNING, "Can't start the replication link");
        }
    }
    true
}

/// REPLICAOF NO ONE: stop following; the data stays.
pub fn unfollow(shared: &Shared) {
    let side = &shared.replication.replica;
    let mut state = side.state();
    if let Some(master) = state.take() {
        side.note_link(&state);
        side.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(stream) = &master.stream {
            let _ = stream.shutdown(Shutdown::Both);
        }
        drop(state);
        shift_history(shared);
        log(shared, log::NOTICE, "MASTER MODE enabled");
    }
}

/// A replica turned master starts a new history that continues its
/// master's: a new replid, the old one as replid2 up to the offset reached
/// (so replicas of the old master, the old master itself after FAILOVER,
/// resync partially), and the backlog counting on from that offset. Its
/// own replicas are cut off to learn the new id (Redis's
/// shiftReplicationId and disconnectSlaves).
fn shift_history(shared: &Shared) {
    let replication = &shared.replication;
    let offset = replication.replica.offset.load(Ordering::SeqCst);
    let old = replication.ids(&shared.run_id);
    replication.set_ids(super::Ids {
        replid: crate::shared::random_hex(40),
        replid2: old.replid,
        second_offset: offset as i64 + 1,
    });
    replication.restart_backlog(shared, offset, true);
    // Its expiries are its own now, and go to the stream as DELs.
    shared.store.events().keep_expired_for_log(true);
}

/// `replicaof host port` in the configuration, at start.
pub fn start_from_config(shared: &Shared) {
    let setting = {
        let config = shared.config();
        // (`slaveof` is the same setting under its other name.)
        config.get("replicaof").unwrap_or("").to_string()
    };
    let mut words = setting.split_whitespace();
    if let (Some(host), Some(port)) = (words.next(), words.next()) {
        if let Ok(port) = port.parse() {
            follow(shared, host, port);
        }
    }
}

fn current(shared: &Shared, generation: u64) -> bool {
    shared.replication.replica.generation.load(Ordering::SeqCst) == generation
        && !shared.shutting_down.load(Ordering::SeqCst)
}

fn update(shared: &Shared, generation: u64, change: impl FnOnce(&mut Master)) {
    let side = &shared.replication.replica;
    let mut state = side.state();
    if side.generation.load(Ordering::SeqCst) == generation {
        if let Some(master) = state.as_mut() {
            change(master);
        }
        side.note_link(&state);
    }
}

/// Connects, syncs and applies the stream, again after each failure, until
/// REPLICAOF changes or the server stops.
fn link_loop(shared: &Arc<Shared>, generation: u64) {
    while current(shared, generation) {
        let Some(master) = shared.replication.replica.master() else {
            return;
        };
        if let Err(err) = run_link(shared, generation, &master) {
            if shared.replication.failover.phase() == super::failover::Phase::InProgress {
                super::failover::abort(shared, &format!("link to the target failed: {err}"));
            }
            if current(shared, generation) {
                log(
                    shared,
                    log::WARNING,
                    &format!(
                        "Replication link with {}:{} lost: {err}",
                        master.host, master.port
                    ),
                );
            }
        }
        update(shared, generation, |m| {
            m.link = LinkState::Connecting;
            m.stream = None;
        });
        // Retried once a second, as Redis's replicationCron.
        for _ in 0..10 {
            if !current(shared, generation) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A `Read` that counts the bytes it hands out (the stream's offset, and
/// INFO's `total_net_repl_input_bytes`).
struct Counting {
    stream: Arc<TcpStream>,
    total: u64,
    shared: Arc<Shared>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (&*self.stream).read(buf)?;
        self.total += n as u64;
        Stats::add(&self.shared.stats.net_repl_input_bytes, n);
        Ok(n)
    }
}

/// The link's sending side (the stream applier's GETACK answers and the
/// ACK thread share it) and its name in the trace.
struct Wire {
    stream: Mutex<Arc<TcpStream>>,
    shared: Arc<Shared>,
    /// `id=<the link's client id> <master address>`.
    label: String,
}

impl Wire {
    fn trace(&self) -> super::LinkTrace<'_> {
        super::LinkTrace {
            shared: &self.shared,
            label: self.label.clone(),
        }
    }
}

fn send(wire: &Wire, args: &[&[u8]]) -> io::Result<()> {
    let mut bytes = Vec::new();
    crate::resp::encode_command(&mut bytes, args);
    if wire.shared.config().trace() {
        wire.trace().requests("->", &bytes);
    }
    let stream = wire.stream.lock().unwrap_or_else(PoisonError::into_inner);
    (&**stream).write_all(&bytes)
}

/// One line of the handshake (the master may send bare newlines first
/// while it prepares the snapshot).
fn read_line(wire: &Wire, reader: &mut impl BufRead) -> io::Result<String> {
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if !trimmed.is_empty() {
            if wire.shared.config().trace() {
                let trace = wire.trace();
                if trimmed.starts_with('$') {
                    trace.snapshot("<-", &line, 0);
                } else {
                    trace.replies("<-", line.as_bytes());
                }
            }
            return Ok(trimmed.to_string());
        }
    }
}

fn run_link(shared: &Arc<Shared>, generation: u64, master: &Master) -> io::Result<()> {
    let addr = (master.host.as_str(), master.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other("no address for the master"))?;
    let stream = Arc::new(TcpStream::connect_timeout(&addr, Duration::from_secs(10))?);
    let _ = stream.set_nodelay(true);
    let timeout = shared
        .config()
        .get("repl-timeout")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(60);
    stream.set_read_timeout(Some(Duration::from_secs(timeout)))?;
    update(shared, generation, |m| {
        m.link = LinkState::Handshake;
        m.stream = Some(stream.clone());
    });
    if !current(shared, generation) {
        let _ = stream.shutdown(Shutdown::Both);
        return Ok(());
    }
    let link_id = shared.clients.next_id();
    let writer = Arc::new(Wire {
        stream: Mutex::new(stream.clone()),
        shared: shared.clone(),
        label: format!(
            "id={link_id} {}",
            stream.peer_addr().map_or_else(
                |_| format!("{}:{}", master.host, master.port),
                |a| a.to_string()
            )
        ),
    });
    let mut reader = BufReader::with_capacity(
        64 * 1024,
        Counting {
            stream: stream.clone(),
            total: 0,
            shared: shared.clone(),
        },
    );
    let (auth, user, port) = {
        let config = shared.config();
        (
            config.get("masterauth").unwrap_or("").to_string(),
            config.get("masteruser").unwrap_or("").to_string(),
            shared
                .port
                .load(std::sync::atomic::Ordering::Relaxed)
                .to_string(),
        )
    };
    send(&writer, &[b"PING"])?;
    let pong = read_line(&writer, &mut reader)?;
    if pong.starts_with('-') && !pong.starts_with("-NOAUTH") && !pong.starts_with("-NOPERM") {
        return Err(io::Error::other(format!("error reply to PING: {pong}")));
    }
    if !auth.is_empty() {
        if user.is_empty() {
            send(&writer, &[b"AUTH", auth.as_bytes()])?;
        } else {
            send(&writer, &[b"AUTH", user.as_bytes(), auth.as_bytes()])?;
        }
        let reply = read_line(&writer, &mut reader)?;
        if reply.starts_with('-') {
            return Err(io::Error::other(format!("AUTH: {reply}")));
        }
    }
    send(&writer, &[b"REPLCONF", b"listening-port", port.as_bytes()])?;
    read_line(&writer, &mut reader)?;
    send(&writer, &[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])?;
    read_line(&writer, &mut reader)?;
    let side = &shared.replication.replica;
    // The history this server has (its master's, or its own as a master
    // turned replica): the master continues it when it can.
    let id = shared.replication.ids(&shared.run_id).replid;
    let from = (side.offset.load(Ordering::SeqCst) + 1).to_string();
    let failing_over = shared.replication.failover.phase() == super::failover::Phase::InProgress;
    let mut psync: Vec<&[u8]> = vec![b"PSYNC", id.as_bytes(), from.as_bytes()];
    if failing_over {
        psync.push(b"FAILOVER");
    }
    send(&writer, &psync)?;
    update(shared, generation, |m| m.link = LinkState::Sync);
    let answer = read_line(&writer, &mut reader)?;
    let words: Vec<&str> = answer.split(' ').collect();
    if failing_over {
        if matches!(words.first(), Some(&"+CONTINUE" | &"+FULLRESYNC")) {
            shared.replication.failover.clear(shared);
        } else {
            super::failover::abort(shared, "Failover target rejected psync request");
            return Ok(());
        }
    }
    match words.as_slice() {
        ["+FULLRESYNC", replid, offset] => {
            let offset: u64 = offset.parse().map_err(io::Error::other)?;
            update(shared, generation, |m| m.link = LinkState::Sync);
            let rdb = read_snapshot(&writer, &mut reader)?;
            let _applying = side
                .apply_lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let stream_db =
                crate::persistence::load_rdb_bytes(shared, &rdb).map_err(io::Error::other)?;
            side.stream_db
                .store(stream_db.unwrap_or(0), Ordering::SeqCst);
            side.offset.store(offset, Ordering::SeqCst);
            // A new history: this server's replicas start over from it.
            shared.replication.restart_backlog(shared, offset, true);
            let replid = replid.to_string();
            shared.replication.set_ids(super::Ids {
                replid: replid.clone(),
                replid2: "0".repeat(40),
                second_offset: -1,
            });
            update(shared, generation, |m| m.replid = Some(replid));
            log(
                shared,
                log::NOTICE,
                "MASTER <-> REPLICA sync: Finished with success",
            );
        }
        ["+CONTINUE", rest @ ..] => {
            if let Some(replid) = rest.first() {
                let replid = replid.to_string();
                let old = shared.replication.ids(&shared.run_id);
                let changed = old.replid != replid;
                if changed {
                    // The master's history goes on under a new id.
                    shared.replication.set_ids(super::Ids {
                        replid: replid.clone(),
                        replid2: old.replid,
                        second_offset: side.offset.load(Ordering::SeqCst) as i64 + 1,
                    });
                }
                // This server's replicas must learn a new id.
                let offset = side.offset.load(Ordering::SeqCst);
                shared.replication.restart_backlog(shared, offset, changed);
                update(shared, generation, |m| m.replid = Some(replid));
            }
            log(
                shared,
                log::NOTICE,
                "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.",
            );
        }
        _ => return Err(io::Error::other(format!("PSYNC: {answer}"))),
    }
    update(shared, generation, |m| {
        m.link = LinkState::Connected;
        m.last_io = Instant::now();
    });
    spawn_acks(shared.clone(), generation, writer.clone(), stream.clone());
    apply_stream(shared, generation, &mut reader, &writer, link_id)
}

/// The RDB after `+FULLRESYNC`: `$<length>` then the bytes, or the
/// diskless form `$EOF:<40-byte mark>`, the bytes, then the mark again.
fn read_snapshot(wire: &Wire, reader: &mut BufReader<Counting>) -> io::Result<Vec<u8>> {
    let header = read_line(wire, reader)?;
    let Some(size) = header.strip_prefix('$') else {
        return Err(io::Error::other(format!("bad bulk header: {header}")));
    };
    if let Some(mark) = size.strip_prefix("EOF:") {
        let mark = mark.as_bytes().to_vec();
        let mut data = Vec::new();
        let mut chunk = [0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut chunk)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            data.extend_from_slice(&chunk[..n]);
            if data.len() >= mark.len() && data.ends_with(&mark) {
                data.truncate(data.len() - mark.len());
                return Ok(data);
            }
        }
    }
    let len: usize = size.parse().map_err(io::Error::other)?;
    let mut data = vec![0u8; len];
    reader.read_exact(&mut data)?;
    Ok(data)
}

/// Runs the master's commands as they come, replies discarded.
fn apply_stream(
    shared: &Arc<Shared>,
    generation: u64,
    reader: &mut BufReader<Counting>,
    writer: &Wire,
    link_id: u64,
) -> io::Result<()> {
    // The link is a client like any (CLIENT LIST's flag M, CLIENT KILL
    // TYPE master), listed while it applies the stream.
    let stream = reader.get_ref().stream.clone();
    let address =
        |a: io::Result<std::net::SocketAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    let closer = stream.clone();
    let info = ClientInfo::new(
        link_id,
        address(stream.peer_addr()),
        address(stream.local_addr()),
        -1,
        Box::new(move || {
            let _ = closer.shutdown(Shutdown::Both);
        }),
    );
    info.link
        .store(crate::clients::LINK_MASTER, Ordering::Relaxed);
    let info = Arc::new(info);
    shared.clients.register(info.clone());
    let id = info.id;
    let result = apply_loop(shared, generation, reader, writer, info);
    shared.clients.unregister(id);
    result
}

/// The loop of [`apply_stream`], as the client `info`.
fn apply_loop(
    shared: &Arc<Shared>,
    generation: u64,
    reader: &mut BufReader<Counting>,
    writer: &Wire,
    info: Arc<ClientInfo>,
) -> io::Result<()> {
    let side = &shared.replication.replica;
    let mut session = Session::new(info, shared);
    session.run_unrestricted();
    session.replication.is_master = true;
    // Where the stream left off (a partial resync does not select again).
    session.db = side.stream_db.load(Ordering::SeqCst);
    // The master's commands, fed on to this server's replicas in batches
    // (what one read brought), a whole transaction at a time: a replica's
    // snapshot, which waits for `apply_lock`, never falls inside one.
    let mut pending = Vec::new();
    let mut applying = None;
    let mut reply = Reply::new();
    let mut command = CommandBuf::new();
    let limits = Limits {
        authenticated: true,
        ..Limits::default()
    };
    // `trace`, read again only after a configuration change.
    let mut config_epoch = u64::MAX;
    let mut tracing = false;
    // The stream's offset at the reader's first byte.
    let consumed_before = reader.get_ref().total - reader.buffer().len() as u64;
    let base = side
        .offset
        .load(Ordering::SeqCst)
        .wrapping_sub(consumed_before);
    loop {
        if reader.buffer().is_empty() {
            // The next read may wait: pass on what was applied, let a
            // replica's full resync in, and note the link is alive.
            if session.multi.is_none() {
                pass_on(shared, &mut pending, session.db);
            }
            applying = None;
            update(shared, generation, |m| m.last_io = Instant::now());
        }
        let read = command.read(reader, &limits);
        if !matches!(read, Ok(true)) && session.multi.is_none() {
            // The link ends: what was applied still goes on.
            pass_on(shared, &mut pending, session.db);
        }
        if !current(shared, generation) {
            return Ok(());
        }
        match read {
            Ok(true) => {}
            Ok(false) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Err(err) => return Err(io::Error::other(format!("{err:?}"))),
        }
        let args = command.args();
        let epoch = shared.config_epoch.load(Ordering::Acquire);
        if epoch != config_epoch {
            config_epoch = epoch;
            tracing = shared.config().trace();
        }
        if tracing {
            let mut bytes = Vec::new();
            crate::resp::encode_command(&mut bytes, args);
            writer.trace().requests("<-", &bytes);
        }
        let consumed = reader.get_ref().total - reader.buffer().len() as u64;
        if applying.is_none() {
            applying = Some(
                side.apply_lock
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            );
        }
        let is_getack = args.len() >= 2
            && args[0].eq_ignore_ascii_case(b"replconf")
            && args[1].eq_ignore_ascii_case(b"getack");
        if is_getack {
            let offset = side.offset.load(Ordering::SeqCst).to_string();
            send(writer, &[b"REPLCONF", b"ACK", offset.as_bytes()])?;
        } else {
            commands::execute(&mut Context::new(shared, &mut session, &mut reply), args);
            reply.buf.clear();
        }
        if shared.replication.active() {
            crate::resp::encode_command(&mut pending, args);
            if pending.len() >= 64 * 1024 && session.multi.is_none() {
                pass_on(shared, &mut pending, session.db);
            }
        }
        // Inside the master's MULTI the offset stays before it (as Redis's
        // reploff): a broken link resumes with the whole transaction.
        if session.multi.is_none() {
            side.offset
                .store(base.wrapping_add(consumed), Ordering::SeqCst);
        }
    }
}

/// Feeds the master's commands applied so far to this server's replicas;
/// `db` is the database the stream has selected after them.
fn pass_on(shared: &Shared, pending: &mut Vec<u8>, db: usize) {
    let side = &shared.replication.replica;
    if !pending.is_empty() {
        shared.replication.feed_from_master(pending);
        pending.clear();
    }
    side.stream_db.store(db, Ordering::SeqCst);
}

/// `REPLCONF ACK <offset>` every second while the link lives.
fn spawn_acks(shared: Arc<Shared>, generation: u64, writer: Arc<Wire>, stream: Arc<TcpStream>) {
    let _ = std::thread::Builder::new()
        .name("respd-replica-ack".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            while current(&shared, generation) {
                let offset = shared
                    .replication
                    .replica
                    .offset
                    .load(Ordering::SeqCst)
                    .to_string();
                if send(&writer, &[b"REPLCONF", b"ACK", offset.as_bytes()]).is_err() {
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
}
