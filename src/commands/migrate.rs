//! Moving values between servers: DUMP, RESTORE and MIGRATE, in Redis's
//! serialization format (see `persistence::dump`), so values travel
//! between respd and redis-server in both directions. This is how a
//! respd's data moves into a Redis Cluster with `redis-cli --cluster
//! import`, which sends MIGRATE for every key.
//!
//! MIGRATE connects to the target as an ordinary client and sends RESTORE
//! (plain RESTORE: respd is never a cluster node, so never RESTORE-ASKING).
//! It reads the values under the database lock, lets go of it for the
//! network round trip, and takes it again to delete what the target
//! acknowledged, unless a write changed it meanwhile (then the newer value
//! stays). Redis blocks the whole server during the round trip; respd
//! keeps serving reads, but the command holds the shared side of the EXEC
//! gate and, with the AOF on, the AOF's order lock, so EXEC, scripts and
//! (with the AOF on) writes wait for it, up to its timeout.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::errors::{self, Error};
use super::flags::*;
use super::{int_arg, is, Args, CmdResult, Command, Context, KeySpec, ONE_KEY};
use crate::notify::class::GENERIC;
use crate::persistence::dump;
use crate::resp::{self, Frame};
use crate::util::now_ms;

const BUSYKEY: &str = "BUSYKEY Target key name already exists.";
const INVALID_TTL: &str = "ERR Invalid TTL value, must be >= 0";
const INVALID_IDLETIME: &str = "ERR Invalid IDLETIME value, must be >= 0";
const INVALID_FREQ: &str = "ERR Invalid FREQ value, must be >= 0 and <= 255";
const KEYS_NEED_EMPTY_KEY: &str =
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string";
const CANNOT_CONNECT: &str = "IOERR error or timeout connecting to the client";

/// MIGRATE's key: the third argument, or none (the KEYS form).
const MIGRATE_KEY: KeySpec = KeySpec {
    first: 3,
    last: 3,
    step: 1,
};

pub static COMMANDS: &[Command] = &[
    Command::new("dump", 2, READONLY, ONE_KEY, "generic", dump_),
    Command::new("restore", -4, WRITE | DENYOOM, ONE_KEY, "generic", restore),
    // What a cluster node sends after an ASK redirection; RESTORE here.
    Command::new(
        "restore-asking",
        -4,
        WRITE | DENYOOM,
        ONE_KEY,
        "server",
        restore,
    ),
    Command::new("migrate", -6, WRITE, MIGRATE_KEY, "generic", migrate),
];

// DUMP key
fn dump_(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let value = db.get(&args[1], now_ms());
    cx.count_lookup(&args[1], value.is_some());
    match value {
        None => cx.out.null(),
        Some(value) => {
            let payload = dump::serialize(value);
            drop(db);
            cx.out.bulk(&payload);
        }
    }
    Ok(())
}

// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
fn restore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let (mut replace, mut absolute) = (false, false);
    // The key's access clock, idle seconds or LFU counter: either one,
    // not both; each applies only under its kind of maxmemory-policy.
    let (mut idle, mut freq): (Option<u64>, Option<u8>) = (None, None);
    let mut i = 4;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if is(&args[i], "replace") {
            replace = true;
        } else if is(&args[i], "absttl") {
            absolute = true;
        } else if is(&args[i], "idletime") && has_value && freq.is_none() {
            let seconds = int_arg(&args[i + 1])?;
            if seconds < 0 {
                return Err(INVALID_IDLETIME.into());
            }
            idle = Some(seconds as u64);
            i += 1;
        } else if is(&args[i], "freq") && has_value && idle.is_none() {
            let counter = int_arg(&args[i + 1])?;
            if !(0..=255).contains(&counter) {
                return Err(INVALID_FREQ.into());
            }
            freq = Some(counter as u8);
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    // Decoding a big payload happens before the lock; its errors come after
    // BUSYKEY, as in Redis.
    let ttl = int_arg(&args[2]);
    let value = dump::deserialize(&args[3]);
    let key = &args[1];
    let now = now_ms();
    let mut db = cx.db_mut();
    if !replace && db.contains(key, now) {
        return Err(BUSYKEY.into());
    }
    let ttl = ttl?;
    if ttl < 0 {
        return Err(INVALID_TTL.into());
    }
    let value = value?;
    let replaced = replace && db.remove(key, now).is_some();
    let expire_at = match ttl as u64 {
        0 => None,
        at if absolute => Some(at),
        ttl => Some(now.saturating_add(ttl)),
    };
    if expire_at.is_some_and(|at| at <= now) {
        // Already expired: the key is gone (and the old one deleted).
        if replaced {
            db.notify(GENERIC, "del", key);
        }
    } else {
        db.put(key.as_slice().into(), value, expire_at);
        if let Some(clock) = db.access_policy().restored(idle, freq, now) {
            db.set_clock(key, clock);
        }
        db.notify(GENERIC, "restore", key);
        drop(db);
        cx.key_ready(cx.session.db, key);
    }
    cx.out.ok();
    Ok(())
}

/// MIGRATE's options, after host, port, key, db and timeout.
#[derive(Default)]
struct MigrateOptions {
    copy: bool,
    replace: bool,
    username: Option<Vec<u8>>,
    password: Option<Vec<u8>>,
    /// Where the keys start in the arguments (3 without KEYS).
    first_key: usize,
}

fn migrate_options(args: &Args) -> Result<MigrateOptions, Error> {
    let mut options = MigrateOptions {
        first_key: 3,
        ..Default::default()
    };
    let mut i = 6;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is(&args[i], "copy") {
            options.copy = true;
        } else if is(&args[i], "replace") {
            options.replace = true;
        } else if is(&args[i], "auth") && more >= 1 {
            options.password = Some(args[i + 1].clone());
            i += 1;
        } else if is(&args[i], "auth2") && more >= 2 {
            options.username = Some(args[i + 1].clone());
            options.password = Some(args[i + 2].clone());
            i += 2;
        } else if is(&args[i], "keys") {
            if !args[3].is_empty() {
                return Err(KEYS_NEED_EMPTY_KEY.into());
            }
            options.first_key = i + 1;
            break;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    Ok(options)
}

/// The keys a MIGRATE command names (for the append-only file, which logs
/// a MIGRATE as the DEL of the keys it moved).
pub(crate) fn migrate_keys(args: &Args) -> &[Vec<u8>] {
    match migrate_options(args) {
        Ok(options) if options.first_key == 3 => &args[3..4],
        Ok(options) => &args[options.first_key.min(args.len())..],
        Err(_) => &[],
    }
}

// MIGRATE host port <key | ""> destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 username password] [KEYS key [key ...]]
fn migrate(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let options = migrate_options(args)?;
    let timeout = int_arg(&args[5])?;
    let target_db = int_arg(&args[4])?;
    let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    let keys = if options.first_key == 3 {
        &args[3..4]
    } else {
        &args[options.first_key..]
    };
    // The values as they are now, with their time to live (at least 1 ms,
    // so that the target does not take 0 for "never").
    let now = now_ms();
    let db = cx.db();
    let mut moving: Vec<(&[u8], u64, Vec<u8>)> = Vec::new();
    for key in keys {
        if let Some(value) = db.get(key, now) {
            let payload = dump::serialize(value);
            let ttl = db
                .expire_at(key)
                .map_or(0, |at| at.saturating_sub(now).max(1));
            moving.push((key, ttl, payload));
        }
    }
    drop(db);
    if moving.is_empty() {
        cx.out.simple("NOKEY");
        return Ok(());
    }
    let target = Target {
        host: String::from_utf8_lossy(&args[1]).into_owned(),
        port: String::from_utf8_lossy(&args[2]).into_owned(),
    };
    let outcome = send_restores(
        &cx.shared.migrate_links,
        &target,
        target_db,
        timeout,
        &options,
        &moving,
    )?;
    if !options.copy && !outcome.stored.is_empty() {
        let now = now_ms();
        let mut db = cx.db_mut();
        for &index in &outcome.stored {
            let (key, _, ref sent) = moving[index];
            // A key written meanwhile keeps its newer value (the target
            // has the one sent): no write is lost with the move.
            let unchanged = db
                .get(key, now)
                .is_some_and(|v| dump::serialize(v) == *sent);
            if unchanged && db.remove(key, now).is_some() {
                db.notify(GENERIC, "del", key);
            }
        }
    }
    match outcome.error {
        None => cx.out.ok(),
        Some(error) => return Err(error),
    }
    Ok(())
}

/// How a batch of RESTOREs went: which keys the target stored (indices),
/// and the error to reply with, if any.
struct Outcome {
    stored: Vec<usize>,
    error: Option<Error>,
}

/// Where MIGRATE sends the keys.
struct Target {
    host: String,
    port: String,
}

impl Target {
    /// The name of its cached link.
    fn name(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// An open connection to a MIGRATE target, and the database it has selected.
#[derive(Debug)]
struct Link {
    reader: BufReader<TcpStream>,
    selected: Option<i64>,
    last_used: Instant,
}

/// Open connections by target, as Redis's `migrateCachedSocket`: a
/// `redis-cli --cluster import` sends one MIGRATE per key, and a new
/// connection each time would soon run out of local ports. A link is taken
/// out while in use, so concurrent MIGRATEs never share one. Each server
/// has its own (in `Shared`).
#[derive(Debug, Default)]
pub(crate) struct Links(Mutex<HashMap<String, Link>>);

/// As Redis: at most 64 cached links, each closed after 10 s unused.
const MAX_LINKS: usize = 64;
const LINK_IDLE_LIMIT: Duration = Duration::from_secs(10);

impl Links {
    /// A cached link to `target`, or a new connection.
    fn open(&self, target: &Target, timeout: Duration) -> io::Result<Link> {
        // The lock is released before connecting: a slow or unreachable
        // target must not hold up MIGRATEs to the others.
        let cached = {
            let mut links = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            links.retain(|_, link| link.last_used.elapsed() < LINK_IDLE_LIMIT);
            links.remove(&target.name())
        };
        match cached {
            Some(link) => Ok(link),
            None => connect(target, timeout),
        }
    }

    /// INFO's `migrate_cached_sockets`: the links not yet idle too long
    /// (Redis closes those in its cron).
    pub(crate) fn cached(&self) -> usize {
        let mut links = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        links.retain(|_, link| link.last_used.elapsed() < LINK_IDLE_LIMIT);
        links.len()
    }

    fn keep(&self, target: &Target, mut link: Link) {
        let mut links = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if links.len() < MAX_LINKS {
            link.last_used = Instant::now();
            links.insert(target.name(), link);
        }
    }
}

fn connect(target: &Target, timeout: Duration) -> io::Result<Link> {
    let port: u16 = target
        .port
        .parse()
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut last_error = io::Error::from(io::ErrorKind::AddrNotAvailable);
    for addr in (target.host.as_str(), port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(Link {
                    reader: BufReader::new(stream),
                    selected: None,
                    last_used: Instant::now(),
                });
            }
            Err(error) => last_error = error,
        }
    }
    Err(last_error)
}

/// The most a reply may take: AUTH, SELECT and RESTORE answer one line.
const MAX_REPLY_BYTES: u64 = 64 * 1024;

/// Reads one reply: `Err(message)` for an error reply. Aggregates are
/// refused unread: the frame reader recurses into them, and a target
/// nesting arrays deeply would overflow the worker's stack.
fn read_reply(reader: &mut BufReader<TcpStream>) -> io::Result<Result<(), String>> {
    if let Some(b'*' | b'~' | b'>' | b'%' | b'|') = reader.fill_buf()?.first() {
        return Err(io::ErrorKind::InvalidData.into());
    }
    match resp::read_frame(&mut reader.by_ref().take(MAX_REPLY_BYTES))? {
        Some(Frame::Error(message)) => Ok(Err(message)),
        Some(_) => Ok(Ok(())),
        None => Err(io::ErrorKind::UnexpectedEof.into()),
    }
}

/// Where a transfer failed on the socket.
enum SocketError {
    Writing(io::Error),
    /// Reading, after the target stored the keys `stored` (indices) out
    /// of the replies read.
    Reading(io::Error, Vec<usize>, usize),
}

/// Sends AUTH, SELECT and one RESTORE per key to `target`, over a cached
/// link or a new one. As Redis, a failure before any reply on a link that
/// is not timing out is retried once on a fresh connection (the cached one
/// may have been closed by the target).
fn send_restores(
    links: &Links,
    target: &Target,
    db: i64,
    timeout: Duration,
    options: &MigrateOptions,
    keys: &[(&[u8], u64, Vec<u8>)],
) -> Result<Outcome, Error> {
    let mut may_retry = true;
    loop {
        let attempt = match links.open(target, timeout) {
            Ok(mut link) => exchange(&mut link, db, timeout, options, keys).map(|o| (o, link)),
            // Redis's connect only waits for the socket to be writable, so
            // it fails (to connect) on a timeout or a bad address only; a
            // refused connection shows when it writes.
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                Err(SocketError::Writing(error))
            }
            Err(_) => return Err(CANNOT_CONNECT.into()),
        };
        match attempt {
            Ok((outcome, mut link)) => {
                if outcome.error.is_some() {
                    // Whatever the target replied, it may not have our db selected.
                    link.selected = None;
                } else {
                    link.selected = Some(db);
                }
                links.keep(target, link);
                return Ok(outcome);
            }
            Err(failure) => {
                let (error, stored, replies, writing) = match failure {
                    SocketError::Writing(error) => (error, Vec::new(), 0, true),
                    SocketError::Reading(error, stored, replies) => (error, stored, replies, false),
                };
                let timed_out = matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                );
                if replies == 0 && may_retry && !timed_out {
                    may_retry = false;
                    continue;
                }
                let what = if writing { "writing" } else { "reading" };
                return Ok(Outcome {
                    stored,
                    error: Some(Error::new(format!(
                        "IOERR error or timeout {what} to target instance"
                    ))),
                });
            }
        }
    }
}

/// One round trip: every command written at once, then the replies read.
fn exchange(
    link: &mut Link,
    db: i64,
    timeout: Duration,
    options: &MigrateOptions,
    keys: &[(&[u8], u64, Vec<u8>)],
) -> Result<Outcome, SocketError> {
    let mut request = Vec::new();
    if let Some(password) = &options.password {
        match &options.username {
            Some(user) => resp::encode_command(&mut request, &[&b"AUTH"[..], user, password]),
            None => resp::encode_command(&mut request, &[&b"AUTH"[..], password]),
        }
    }
    let select = link.selected != Some(db);
    if select {
        resp::encode_command(&mut request, &[b"SELECT", db.to_string().as_bytes()]);
    }
    for (key, ttl, payload) in keys {
        let ttl = ttl.to_string();
        let mut restore: Vec<&[u8]> = vec![b"RESTORE", key, ttl.as_bytes(), payload];
        if options.replace {
            restore.push(b"REPLACE");
        }
        resp::encode_command(&mut request, &restore);
    }
    let stream = link.reader.get_mut();
    let setup = stream
        .set_write_timeout(Some(timeout))
        .and_then(|_| stream.set_read_timeout(Some(timeout)));
    setup
        .and_then(|_| stream.write_all(&request))
        .map_err(SocketError::Writing)?;
    let reading = |error| SocketError::Reading(error, Vec::new(), 0);
    let auth_reply = match options.password {
        Some(_) => Some(read_reply(&mut link.reader).map_err(reading)?),
        None => None,
    };
    let select_reply = match select {
        true => Some(read_reply(&mut link.reader).map_err(reading)?),
        false => None,
    };
    // A refused AUTH or SELECT fails every key; otherwise each key's reply
    // decides. The first error is the one reported, as Redis does.
    let setup_error = [auth_reply, select_reply]
        .into_iter()
        .flatten()
        .find_map(Result::err);
    let mut outcome = Outcome {
        stored: Vec::new(),
        error: None,
    };
    for index in 0..keys.len() {
        let reply = match read_reply(&mut link.reader) {
            Ok(reply) => reply,
            Err(error) => return Err(SocketError::Reading(error, outcome.stored, index)),
        };
        match setup_error.as_ref().or(reply.as_ref().err()) {
            Some(error) if outcome.error.is_none() => {
                outcome.error = Some(Error::new(format!(
                    "ERR Target instance replied with error: {error}"
                )));
            }
            Some(_) => {}
            None => outcome.stored.push(index),
        }
    }
    Ok(outcome)
}
