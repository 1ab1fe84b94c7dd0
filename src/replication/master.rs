//! A replica's connection, from SYNC/PSYNC on: the snapshot, then the
//! stream, on the connection's own worker thread.

use crate::server::stream::Stream;
use std::io::{self, BufReader, Cursor, Read, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use super::{Backlog, Replica, ReplicaState};
use crate::clients::ClientInfo;
use crate::persistence::rdb;
use crate::resp::{CommandBuf, Limits};
use crate::shared::{Shared, Stats};
use crate::store::Db;
use crate::util::{now_ms, parse_i64};

/// What a connection learnt from `REPLCONF` before its SYNC/PSYNC, and the
/// hand-over its SYNC/PSYNC asks of the connection loop.
#[derive(Debug, Default)]
pub struct Link {
    /// `REPLCONF listening-port`.
    pub listening_port: u16,
    /// `REPLCONF ip-address`.
    pub ip_address: Option<String>,
    /// `REPLCONF rdb-only 1` (`redis-cli --rdb`): the snapshot, no stream.
    pub rdb_only: bool,
    /// `REPLCONF capa eof`: it reads the diskless `$EOF:<mark>` form.
    pub capa_eof: bool,
    /// Set by SYNC/PSYNC: the connection becomes a replica's.
    pub handover: Option<Handover>,
    /// The link came by PSYNC (the replica ACKs), not SYNC.
    pub psync: bool,
    /// This is the link to our master: its writes pass the read-only check.
    pub is_master: bool,
    /// `min-replicas-to-write` and `min-replicas-max-lag` (cached).
    pub min_replicas: (u64, u64),
}

/// How a replica's stream starts.
#[derive(Debug)]
pub enum Handover {
    /// The snapshot (the databases as they were at stream offset `offset`,
    /// and the function libraries), then the stream from there.
    Full {
        dbs: Vec<Db>,
        libraries: Vec<Vec<u8>>,
        /// On a replica, the database its master's stream has selected.
        stream_db: Option<usize>,
    },
    /// The stream from where the replica stopped (`+CONTINUE`).
    Continue,
}

/// Registers a replica of the connection `client`, sent up to `offset`.
pub fn register(
    backlog: &mut Backlog,
    client: &Arc<ClientInfo>,
    link: &Link,
    offset: u64,
    full: bool,
) {
    let ip = link.ip_address.clone().unwrap_or_else(|| {
        client
            .addr
            .rsplit_once(':')
            .map(|(ip, _)| ip.trim_matches(['[', ']']).to_string())
            .unwrap_or_default()
    });
    client
        .link
        .store(crate::clients::LINK_REPLICA, Ordering::Relaxed);
    backlog.replicas.retain(|r| r.client_id != client.id);
    backlog.replicas.push(Replica {
        client_id: client.id,
        ip,
        port: link.listening_port,
        state: if full {
            ReplicaState::SendBulk
        } else {
            ReplicaState::Online
        },
        sent: offset,
        acked: 0,
        acked_at: Instant::now(),
        ack_seen: false,
        dropped: false,
        client: client.clone(),
    });
}

/// Serves a replica until its link ends: the snapshot (for a full
/// resync), then the stream. `buffered` holds bytes the connection had
/// read past the SYNC/PSYNC.
pub fn serve(
    shared: &Arc<Shared>,
    stream: &Arc<Stream>,
    buffered: Vec<u8>,
    client: &Arc<ClientInfo>,
    link: Link,
) {
    let id = client.id;
    let trace = super::LinkTrace {
        shared,
        label: format!("id={id} {}", client.addr),
    };
    let result = (|| -> io::Result<()> {
        let mut await_ack = false;
        if let Some(Handover::Full {
            dbs,
            libraries,
            stream_db,
        }) = link.handover
        {
            let diskless =
                link.capa_eof && shared.config().get("repl-diskless-sync") == Some("yes");
            if diskless {
                diskless_delay(shared, stream)?;
            }
            let snapshot = Snapshot {
                dbs: &dbs,
                libraries: &libraries,
                stream_db,
            };
            send_snapshot(shared, stream, &snapshot, diskless, &trace)?;
            drop(dbs);
            if link.rdb_only {
                return Ok(());
            }
            // After `$EOF:` the replica finds the end by the mark being
            // the last bytes it read: stream bytes in the same read would
            // hide it. So, as Redis, the stream starts at its first ACK.
            await_ack = diskless;
            if !diskless {
                put_online(shared, id);
            }
        }
        let _ = stream.set_read_timeout(None);
        spawn_ack_reader(
            shared.clone(),
            stream.clone(),
            buffered,
            id,
            trace.label.clone(),
        );
        if await_ack {
            wait_first_ack(shared, id)?;
            put_online(shared, id);
        }
        send_stream(shared, stream, id, link.psync, &trace)
    })();
    if let Err(err) = result {
        crate::log::log(
            shared,
            crate::log::NOTICE,
            &format!("Connection with replica id={id} lost: {err}"),
        );
    }
    shared.replication.remove(id);
    shared.replication.acked.notify_all();
}

/// With `repl-diskless-sync`, Redis waits `repl-diskless-sync-delay`
/// seconds for more replicas to share one transfer (less once
/// `repl-diskless-sync-max-replicas` are waiting). Each replica gets its
/// own copy here, so the wait only keeps Redis's timing; a newline a
/// second tells the replica the master is alive meanwhile.
fn diskless_delay(shared: &Shared, stream: &Stream) -> io::Result<()> {
    let setting = |name: &str| {
        shared
            .config()
            .get(name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let delay = Duration::from_secs(setting("repl-diskless-sync-delay"));
    let max_replicas = setting("repl-diskless-sync-max-replicas") as usize;
    let start = Instant::now();
    let mut last_newline = Instant::now();
    while start.elapsed() < delay && !shared.shutting_down.load(Ordering::SeqCst) {
        let waiting = shared
            .replication
            .backlog()
            .replicas
            .iter()
            .filter(|r| !r.dropped && r.state == ReplicaState::SendBulk)
            .count();
        if max_replicas > 0 && waiting >= max_replicas {
            break;
        }
        if last_newline.elapsed() >= Duration::from_secs(1) {
            last_newline = Instant::now();
            let mut out = stream;
            out.write_all(b"\n")?;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The snapshot as an RDB bulk string: `$<length>\r\n<bytes>`, or, for a
/// diskless transfer, `$EOF:<40 random hex digits>\r\n<bytes><the same 40>`
/// (the length unknown in advance, as Redis streams it from a child).
/// What a full resync sends: the databases and libraries as they were at
/// the stream's starting point.
struct Snapshot<'a> {
    dbs: &'a [Db],
    libraries: &'a [Vec<u8>],
    stream_db: Option<usize>,
}

fn send_snapshot(
    shared: &Shared,
    stream: &Stream,
    snapshot: &Snapshot<'_>,
    diskless: bool,
    trace: &super::LinkTrace<'_>,
) -> io::Result<()> {
    let compress = shared.config().get("rdbcompression") == Some("yes");
    let numbered: Vec<(usize, &Db)> = snapshot.dbs.iter().enumerate().collect();
    let mut payload = Vec::new();
    rdb::write_for_replica(
        &mut payload,
        &numbered,
        snapshot.libraries,
        now_ms(),
        compress,
        snapshot.stream_db,
    )?;
    let mut out = stream;
    if diskless {
        let mark = crate::shared::random_hex(40);
        let header = format!("$EOF:{mark}\r\n");
        trace.snapshot("->", &format!("{header}...{mark}"), payload.len());
        out.write_all(header.as_bytes())?;
        out.write_all(&payload)?;
        out.write_all(mark.as_bytes())?;
        Stats::add(
            &shared.stats.net_repl_output_bytes,
            header.len() + payload.len() + mark.len(),
        );
    } else {
        let header = format!("${}\r\n", payload.len());
        trace.snapshot("->", &header, payload.len());
        out.write_all(header.as_bytes())?;
        out.write_all(&payload)?;
        Stats::add(
            &shared.stats.net_repl_output_bytes,
            header.len() + payload.len(),
        );
    }
    out.flush()
}

/// Waits for the replica's first `REPLCONF ACK` (it has loaded the
/// snapshot), up to `repl-timeout`.
fn wait_first_ack(shared: &Shared, id: u64) -> io::Result<()> {
    let timeout = shared
        .config()
        .get("repl-timeout")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(60);
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let replication = &shared.replication;
    let mut backlog = replication.backlog();
    loop {
        let Some(replica) = backlog.replicas.iter().find(|r| r.client_id == id) else {
            return Err(io::Error::other("gone before its first ACK"));
        };
        if replica.dropped {
            return Err(io::Error::other("link closed before its first ACK"));
        }
        if replica.ack_seen || shared.shutting_down.load(Ordering::SeqCst) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(io::Error::other("timeout: no ACK after the snapshot"));
        }
        backlog = replication
            .acked
            .wait_timeout(backlog, Duration::from_millis(100))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

fn put_online(shared: &Shared, id: u64) {
    let mut backlog = shared.replication.backlog();
    if let Some(replica) = backlog.replicas.iter_mut().find(|r| r.client_id == id) {
        replica.state = ReplicaState::Online;
        replica.acked_at = Instant::now();
    }
}

/// Waits for stream bytes the replica has not been sent, and sends them,
/// until the replica is dropped or the server stops.
fn send_stream(
    shared: &Shared,
    stream: &Stream,
    id: u64,
    acks: bool,
    trace: &super::LinkTrace<'_>,
) -> io::Result<()> {
    let replication = &shared.replication;
    let timeout = shared
        .config()
        .get("repl-timeout")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(60);
    loop {
        let bytes = {
            let mut backlog = replication.backlog();
            loop {
                if shared.shutting_down.load(Ordering::SeqCst) {
                    return Ok(());
                }
                let end = backlog.offset();
                let Some(replica) = backlog.replicas.iter().find(|r| r.client_id == id) else {
                    return Ok(());
                };
                if replica.dropped {
                    return Err(io::Error::other("dropped (output buffer limit)"));
                }
                // A PSYNC replica ACKs every second; silence means it is gone
                // (SYNC clients never ACK, as Redis's pre-PSYNC replicas).
                if acks && replica.acked_at.elapsed().as_secs() > timeout {
                    return Err(io::Error::other("timeout: no ACK within repl-timeout"));
                }
                let sent = replica.sent;
                if sent < end {
                    let Some(bytes) = backlog.since(sent) else {
                        return Err(io::Error::other("fell out of the backlog"));
                    };
                    if let Some(replica) = backlog.replicas.iter_mut().find(|r| r.client_id == id) {
                        replica.sent = end;
                    }
                    break bytes;
                }
                backlog.waiting += 1;
                backlog = replication
                    .fed
                    .wait_timeout(backlog, Duration::from_millis(500))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                backlog.waiting -= 1;
            }
        };
        trace.requests("->", &bytes);
        let mut out = stream;
        out.write_all(&bytes)?;
        Stats::add(&shared.stats.net_repl_output_bytes, bytes.len());
    }
}

/// A `Read` over the shared socket, for the acknowledgement reader.
struct SharedStream(Arc<Stream>);

impl Read for SharedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

/// Reads the replica's `REPLCONF ACK <offset>` until the link ends; then
/// marks the replica dropped, which ends its writer.
fn spawn_ack_reader(
    shared: Arc<Shared>,
    stream: Arc<Stream>,
    buffered: Vec<u8>,
    id: u64,
    label: String,
) {
    let reader = Cursor::new(buffered).chain(SharedStream(stream));
    let owner = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("respd-replica-acks".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            let mut reader = BufReader::new(reader);
            let mut command = CommandBuf::new();
            let limits = Limits {
                authenticated: true,
                ..Limits::default()
            };
            let trace = super::LinkTrace {
                shared: &shared,
                label,
            };
            while let Ok(true) = command.read(&mut reader, &limits) {
                let args = command.args();
                if trace.on() {
                    let mut bytes = Vec::new();
                    crate::resp::encode_command(&mut bytes, args);
                    trace.requests("<-", &bytes);
                }
                let is_ack = args.len() == 3
                    && args[0].eq_ignore_ascii_case(b"replconf")
                    && args[1].eq_ignore_ascii_case(b"ack");
                let Some(offset) = is_ack.then(|| parse_i64(&args[2])).flatten() else {
                    continue;
                };
                let mut backlog = shared.replication.backlog();
                if let Some(replica) = backlog.replicas.iter_mut().find(|r| r.client_id == id) {
                    replica.acked = replica.acked.max(offset.max(0) as u64);
                    replica.acked_at = Instant::now();
                    replica.ack_seen = true;
                }
                drop(backlog);
                shared.replication.acked.notify_all();
            }
            let mut backlog = shared.replication.backlog();
            if let Some(replica) = backlog.replicas.iter_mut().find(|r| r.client_id == id) {
                replica.dropped = true;
            }
            drop(backlog);
            shared.replication.fed.notify_all();
        });
    if spawned.is_err() {
        let mut backlog = owner.replication.backlog();
        if let Some(replica) = backlog.replicas.iter_mut().find(|r| r.client_id == id) {
            replica.drop_link();
        }
    }
}

/// About ten times a second: PING the replicas every
/// `repl-ping-replica-period` seconds, through the stream.
pub fn cron(shared: &Shared, last_ping: &mut Instant) {
    if !shared.replication.active() {
        return;
    }
    let period = shared
        .config()
        .get("repl-ping-replica-period")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(10);
    let size = shared
        .config()
        .get("repl-backlog-size")
        .and_then(crate::config::parse_memory)
        .unwrap_or(1024 * 1024);
    let ttl = shared
        .config()
        .get("repl-backlog-ttl")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(3600);
    shared.replication.expire_backlog(shared, ttl);
    let has_replicas = {
        let mut backlog = shared.replication.backlog();
        backlog.size = size;
        !backlog.replicas.is_empty()
    };
    // No PING while a failover waits for a replica to match our offset.
    let failing_over = shared.replication.failover.phase() != super::failover::Phase::None;
    if has_replicas && !failing_over && last_ping.elapsed() >= Duration::from_secs(period) {
        *last_ping = Instant::now();
        crate::persistence::aof::propagate_to_replicas(shared, &[b"PING".to_vec()]);
    }
}
