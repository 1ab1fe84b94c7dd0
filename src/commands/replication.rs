//! Replication commands: SYNC, PSYNC, REPLCONF, WAIT, ROLE. The machinery
//! (backlog, a replica's link) lives in `crate::replication`.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use super::errors::{self, Error};
use super::flags::*;
use super::{int_arg, is, Args, CmdResult, Command, Context, NO_KEYS};
use crate::replication::failover::{self, Phase};
use crate::replication::master::{self, Handover};
use crate::replication::replica;
use crate::replication::ReplicaState;

pub static COMMANDS: &[Command] = &[
    Command::new(
        "sync",
        1,
        ADMIN | NO_MULTI | NOSCRIPT,
        NO_KEYS,
        "server",
        sync,
    ),
    Command::new(
        "psync",
        -3,
        ADMIN | NO_MULTI | NOSCRIPT,
        NO_KEYS,
        "server",
        psync,
    ),
    Command::new(
        "replconf",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        NO_KEYS,
        "server",
        replconf,
    ),
    Command::new("wait", 3, NOSCRIPT, NO_KEYS, "generic", wait),
    Command::new(
        "replicaof",
        3,
        ADMIN | NOSCRIPT | STALE,
        NO_KEYS,
        "server",
        replicaof,
    ),
    Command::new(
        "slaveof",
        3,
        ADMIN | NOSCRIPT | STALE,
        NO_KEYS,
        "server",
        replicaof,
    ),
    Command::new(
        "failover",
        -1,
        ADMIN | NOSCRIPT | STALE,
        NO_KEYS,
        "server",
        failover,
    ),
    Command::new(
        "role",
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        NO_KEYS,
        "server",
        role,
    ),
];

/// SYNC: a full resync without the `+FULLRESYNC` line (old replicas,
/// `redis-cli --rdb`).
fn sync(cx: &mut Context<'_>, _args: &Args) -> CmdResult {
    may_sync(cx)?;
    full_resync(cx, false)
}

/// Redis's refusals of a SYNC/PSYNC: during a failover, and on a replica
/// whose own link is down.
fn may_sync(cx: &Context<'_>) -> CmdResult {
    let shared = cx.shared;
    if shared.replication.failover.phase() != Phase::None {
        return Err("NOMASTERLINK Can't SYNC while failing over".into());
    }
    if shared
        .replication
        .replica
        .master()
        .is_some_and(|m| m.link != replica::LinkState::Connected)
    {
        return Err("NOMASTERLINK Can't SYNC while not connected with my master".into());
    }
    Ok(())
}

/// PSYNC replicationid offset [FAILOVER]
fn psync(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let shared = cx.shared;
    // Sent by a master handing over to this replica (its FAILOVER).
    if args.len() > 3 && is(&args[3], "failover") {
        crate::log::log(
            shared,
            crate::log::WARNING,
            &format!(
                "Failover request received for replid {}.",
                String::from_utf8_lossy(&args[1])
            ),
        );
        if !shared.replication.replica.is_replica() {
            return Err("ERR PSYNC FAILOVER can't be sent to a master.".into());
        }
        if args[1] != shared.replication.ids(&shared.run_id).replid.as_bytes() {
            return Err("ERR PSYNC FAILOVER replid must match my replid.".into());
        }
        replica::unfollow(shared);
        crate::log::log(
            shared,
            crate::log::NOTICE,
            &format!(
                "MASTER MODE enabled (failover request from '{}')",
                cx.session.info.addr
            ),
        );
    }
    may_sync(cx)?;
    cx.session.replication.psync = true;
    let ids = shared.replication.ids(&shared.run_id);
    if let Some(wanted) = crate::util::parse_i64(&args[2]) {
        // Our history, or the one we continue up to where we took over.
        let ours = args[1] == ids.replid.as_bytes()
            || args[1] == ids.replid2.as_bytes() && wanted <= ids.second_offset;
        if ours && try_continue(cx, wanted) {
            shared.replication.syncs.partial_ok.fetch_add(1, Relaxed);
            cx.out.simple(&format!("CONTINUE {}", ids.replid));
            cx.session.replication.handover = Some(Handover::Continue);
            return Ok(());
        }
    }
    if args[1].as_slice() != b"?" {
        shared.replication.syncs.partial_err.fetch_add(1, Relaxed);
    }
    full_resync(cx, true)
}

/// A partial resync from byte `wanted` (the replica's offset + 1), if
/// the backlog still holds everything from there.
fn try_continue(cx: &mut Context<'_>, wanted: i64) -> bool {
    let shared = cx.shared;
    if !shared.replication.active() || wanted < 1 {
        return false;
    }
    let from = wanted as u64 - 1;
    // Checked and registered under one lock: from then on the bytes it
    // needs are kept.
    let mut backlog = shared.replication.backlog();
    if from < backlog.base || from > backlog.offset() {
        return false;
    }
    master::register(
        &mut backlog,
        &cx.session.info,
        &cx.session.replication,
        from,
        false,
    );
    true
}

/// Copies the databases at a point of the stream (no command runs
/// meanwhile: the exclusive side of the EXEC gate, as EXEC), registers the
/// replica at that point, and hands the connection over.
fn full_resync(cx: &mut Context<'_>, psync: bool) -> CmdResult {
    let shared = cx.shared;
    shared.replication.syncs.full.fetch_add(1, Relaxed);
    // The shared side this command holds, traded for the exclusive one.
    cx.gate = None;
    // On a replica, no command of its master's stream is half applied.
    let side = &shared.replication.replica;
    let applying = side.following().then(|| {
        side.apply_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    });
    let stream_db = applying
        .as_ref()
        .map(|_| side.stream_db.load(std::sync::atomic::Ordering::SeqCst));
    let gate = shared
        .exec_gate
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    let session = &*cx.session;
    let offset = crate::persistence::aof::start_full_resync(shared, |offset| {
        let mut backlog = shared.replication.backlog();
        master::register(
            &mut backlog,
            &session.info,
            &session.replication,
            offset,
            true,
        );
    });
    let dbs = (0..shared.store.len())
        .map(|i| shared.store.read(i).snapshot())
        .collect();
    let libraries = crate::persistence::library_codes(shared);
    drop(gate);
    drop(applying);
    if psync {
        let replid = shared.replication.ids(&shared.run_id).replid;
        cx.out.simple(&format!("FULLRESYNC {replid} {offset}"));
    }
    cx.session.replication.handover = Some(Handover::Full {
        dbs,
        libraries,
        stream_db,
    });
    Ok(())
}

/// REPLCONF option value [option value ...]
fn replconf(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(errors::SYNTAX.into());
    }
    for pair in args[1..].chunks(2) {
        let (option, value) = (&pair[0], &pair[1]);
        if is(option, "listening-port") {
            let port = int_arg(value)?;
            cx.session.replication.listening_port = u16::try_from(port).unwrap_or(0);
        } else if is(option, "ip-address") {
            if value.len() >= 46 {
                return Err(Error::new(format!(
                    "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                    value.len()
                )));
            }
            cx.session.replication.ip_address = Some(String::from_utf8_lossy(value).into());
        } else if is(option, "capa") {
            // `eof` allows the diskless form; `psync2` is assumed (every
            // Redis since 4.0 sends it).
            if is(value, "eof") {
                cx.session.replication.capa_eof = true;
            }
        } else if is(option, "ack") || is(option, "getack") {
            // From a replica these arrive on its link's reader; from
            // anyone else they are ignored, without a reply (as Redis).
            return Ok(());
        } else if is(option, "rdb-only") {
            match int_arg(value)? {
                0 => cx.session.replication.rdb_only = false,
                1 => cx.session.replication.rdb_only = true,
                _ => return Err("ERR value is out of range, value must between 0 and 1".into()),
            }
        } else {
            return Err(Error::new(format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(option)
            )));
        }
    }
    cx.out.ok();
    Ok(())
}

/// WAIT numreplicas timeout
fn wait(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let wanted = int_arg(&args[1])?;
    let timeout = crate::util::parse_i64(&args[2])
        .ok_or(Error::from("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(errors::TIMEOUT_NEGATIVE.into());
    }
    let shared = cx.shared;
    let replication = &shared.replication;
    if replication.replica.is_replica() {
        return Err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.".into());
    }
    let target = replication.backlog().offset();
    let count = replication.acked_at_least(target);
    if count as i64 >= wanted || cx.session.in_exec || !replication.active() && timeout == 0 {
        cx.out.int(count as i64);
        return Ok(());
    }
    // Nothing else of this server waits for the replicas.
    cx.gate = None;
    crate::persistence::aof::propagate_to_replicas(
        shared,
        &[b"REPLCONF".to_vec(), b"GETACK".to_vec(), b"*".to_vec()],
    );
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64));
    let mut backlog = replication.backlog();
    let count = loop {
        let count = backlog
            .replicas
            .iter()
            .filter(|r| !r.dropped && r.state == ReplicaState::Online && r.acked >= target)
            .count();
        let now = Instant::now();
        let expired = deadline.is_some_and(|d| now >= d);
        if count as i64 >= wanted
            || expired
            || (cx.session.peer_closed.0)()
            || shared
                .shutting_down
                .load(std::sync::atomic::Ordering::SeqCst)
        {
            break count;
        }
        let step = deadline.map_or(Duration::from_millis(100), |d| {
            (d - now).min(Duration::from_millis(100))
        });
        backlog = replication
            .acked
            .wait_timeout(backlog, step)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    };
    drop(backlog);
    cx.out.int(count as i64);
    Ok(())
}

/// REPLICAOF host port | REPLICAOF NO ONE (SLAVEOF is the old name)
fn replicaof(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if cx.shared.replication.failover.phase() != Phase::None {
        return Err("ERR REPLICAOF not allowed while failing over.".into());
    }
    if is(&args[1], "no") && is(&args[2], "one") {
        replica::unfollow(cx.shared);
        cx.out.ok();
        return Ok(());
    }
    let port = crate::util::parse_i64(&args[2])
        .filter(|p| (0..=65535).contains(p))
        .ok_or(Error::from("ERR Invalid master port"))?;
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    if replica::follow(cx.shared, &host, port as u16) {
        cx.out.ok();
    } else {
        cx.out.simple("OK Already connected to specified master");
    }
    Ok(())
}

/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]
fn failover(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let shared = cx.shared;
    if args.len() == 2 && is(&args[1], "abort") {
        if shared.replication.failover.phase() == Phase::None {
            return Err("ERR No failover in progress.".into());
        }
        failover::abort(shared, "Failover manually aborted");
        cx.out.ok();
        return Ok(());
    }
    let mut timeout_ms = 0;
    let mut force = false;
    let mut target: Option<(String, i64)> = None;
    let mut j = 1;
    while j < args.len() {
        if is(&args[j], "timeout") && j + 1 < args.len() && timeout_ms == 0 {
            timeout_ms = int_arg(&args[j + 1])?;
            if timeout_ms <= 0 {
                return Err("ERR FAILOVER timeout must be greater than 0".into());
            }
            j += 2;
        } else if is(&args[j], "to") && j + 2 < args.len() && target.is_none() {
            let port = int_arg(&args[j + 2])?;
            target = Some((String::from_utf8_lossy(&args[j + 1]).into_owned(), port));
            j += 3;
        } else if is(&args[j], "force") && !force {
            force = true;
            j += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    if shared.replication.failover.phase() != Phase::None {
        return Err("ERR FAILOVER already in progress.".into());
    }
    if shared.replication.replica.is_replica() {
        return Err("ERR FAILOVER is not valid when server is a replica.".into());
    }
    if shared.replication.backlog().replicas.is_empty() {
        return Err("ERR FAILOVER requires connected replicas.".into());
    }
    if force && (timeout_ms == 0 || target.is_none()) {
        return Err(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.".into(),
        );
    }
    let target = match target {
        Some((host, port)) => {
            let port = u16::try_from(port).ok();
            match port.and_then(|p| failover::replica_online(shared, &host, p)) {
                None => return Err("ERR FAILOVER target HOST and PORT is not a replica.".into()),
                Some(false) => return Err("ERR FAILOVER target replica is not online.".into()),
                Some(true) => port.map(|p| (host, p)),
            }
        }
        None => None,
    };
    shared.replication.failover.start(
        shared,
        failover::Request {
            target,
            deadline: (timeout_ms > 0)
                .then(|| Instant::now() + Duration::from_millis(timeout_ms as u64)),
            force,
        },
    );
    cx.out.ok();
    Ok(())
}

/// ROLE
fn role(cx: &mut Context<'_>, _args: &Args) -> CmdResult {
    if let Some(master) = cx.shared.replication.replica.master() {
        let offset = cx
            .shared
            .replication
            .replica
            .offset
            .load(std::sync::atomic::Ordering::SeqCst);
        let out = &mut *cx.out;
        out.array(5);
        out.bulk(b"slave");
        out.bulk(master.host.as_bytes());
        out.int(i64::from(master.port));
        out.bulk(master.link.word().as_bytes());
        out.int(if master.link == replica::LinkState::Connected {
            offset as i64
        } else {
            -1
        });
        return Ok(());
    }
    let backlog = cx.shared.replication.backlog();
    let offset = backlog.offset();
    let replicas: Vec<_> = backlog
        .replicas
        .iter()
        .filter(|r| r.state == ReplicaState::Online && !r.dropped)
        .map(|r| (r.ip.clone(), r.port, r.acked))
        .collect();
    drop(backlog);
    let out = &mut *cx.out;
    out.array(3);
    out.bulk(b"master");
    out.int(offset as i64);
    out.array(replicas.len());
    for (ip, port, acked) in replicas {
        out.array(3);
        out.bulk(ip.as_bytes());
        out.bulk(port.to_string().as_bytes());
        out.bulk(acked.to_string().as_bytes());
    }
    Ok(())
}

/// INFO's replication section, for a master.
pub fn info(cx_shared: &crate::shared::Shared) -> Vec<(String, String)> {
    let shared = cx_shared;
    let active = shared.replication.active();
    // Every other lock first: the backlog's is taken last and alone, as
    // REPLICAOF (the replica's state, then the backlog) and FAILOVER's
    // cron (its state, then the backlog) take them in that order.
    let ids = shared.replication.ids(&shared.run_id);
    let side = &shared.replication.replica;
    let master = side.master();
    let read_only = replica::read_only(shared);
    let failover_phase = shared.replication.failover.phase();
    let backlog_size = shared
        .config()
        .get("repl-backlog-size")
        .unwrap_or("0")
        .to_string();
    let backlog = shared.replication.backlog();
    // Kept across a freed backlog, as Redis's master_repl_offset.
    let mut offset = backlog.offset();
    let online: Vec<_> = backlog.replicas.iter().filter(|r| !r.dropped).collect();
    let mut fields = vec![("role".to_string(), "master".to_string())];
    let replica_offset = side.offset.load(std::sync::atomic::Ordering::SeqCst);
    if let Some(master) = master {
        let up = master.link == replica::LinkState::Connected;
        offset = replica_offset;
        fields = vec![
            ("role".into(), "slave".into()),
            ("master_host".into(), master.host.clone()),
            ("master_port".into(), master.port.to_string()),
            (
                "master_link_status".into(),
                if up { "up" } else { "down" }.into(),
            ),
            (
                "master_last_io_seconds_ago".into(),
                if up {
                    master.last_io.elapsed().as_secs().to_string()
                } else {
                    "-1".into()
                },
            ),
            (
                "master_sync_in_progress".into(),
                u8::from(master.link == replica::LinkState::Sync).to_string(),
            ),
            ("slave_read_repl_offset".into(), replica_offset.to_string()),
            ("slave_repl_offset".into(), replica_offset.to_string()),
            ("slave_priority".into(), "100".into()),
            ("slave_read_only".into(), u8::from(read_only).to_string()),
            ("replica_announced".into(), "1".into()),
        ];
    }
    fields.push(("connected_slaves".into(), online.len().to_string()));
    for (n, r) in online.iter().enumerate() {
        let state = match r.state {
            ReplicaState::SendBulk => "wait_bgsave",
            ReplicaState::Online => "online",
        };
        fields.push((
            format!("slave{n}"),
            format!(
                "ip={},port={},state={state},offset={},lag={}",
                r.ip,
                r.port,
                r.acked,
                r.acked_at.elapsed().as_secs()
            ),
        ));
    }
    fields.extend([
        ("master_failover_state".into(), failover_phase.word().into()),
        ("master_replid".into(), ids.replid),
        ("master_replid2".into(), ids.replid2),
        ("master_repl_offset".into(), offset.to_string()),
        ("second_repl_offset".into(), ids.second_offset.to_string()),
        ("repl_backlog_active".into(), u8::from(active).to_string()),
        ("repl_backlog_size".into(), backlog_size),
        (
            "repl_backlog_first_byte_offset".into(),
            if active { backlog.base + 1 } else { 0 }.to_string(),
        ),
        (
            "repl_backlog_histlen".into(),
            if active { backlog.bytes.len() } else { 0 }.to_string(),
        ),
    ]);
    fields
}
