//! The append-only file: every change, as the command that made it, in
//! Redis 7.0's multi-part layout.
//!
//! `<appenddirname>/` holds a base (`<appendfilename>.<n>.base.rdb`, an
//! RDB snapshot), the increments written since (`<appendfilename>.<n>.incr.aof`,
//! RESP commands) and `<appendfilename>.manifest`, which names them:
//! redis-server 7.0 and respd read each other's directories.
//!
//! **Order.** Write commands run in parallel on different databases, but
//! the log must list changes in the order they were made. While the AOF is
//! on, a write command holds `Aof::order` from before its handler until
//! its reply has been decided (and blocked clients it woke were served), and
//! adds its entry to an in-memory buffer under it. The buffer reaches the
//! file after the lock is released, so with `appendfsync always` one fsync
//! covers the entries of every client that wrote meanwhile (group commit:
//! one leader writes and fsyncs, the others wait on a condition variable
//! for their bytes), and no reply is sent before the fsync of its entry.
//! A connection brings the log to disk once per batch of replies (a
//! pipeline), just before it sends them, not once per command.
//!
//! **What is logged** is the command as executed, when it changed
//! something (the store's change counter moved, or a FUNCTION command
//! counted a change with [`super::count_change`]), with Redis's translations
//! where replaying the original would not give the same result: relative
//! expiry times become absolute (`PEXPIREAT`, `SET .. PXAT`), INCRBYFLOAT
//! becomes a SET of the result, SPOP an SREM of what was popped, a blocking
//! pop its non-blocking form on the key it popped from, stream commands as
//! `aof_stream.rs` says. A command whose reply says it changed nothing
//! (`:0` from DEL, HDEL, ...) is not logged, even if the counter moved. Keys
//! deleted by expiry are logged as DEL ahead of the next entry. SELECT
//! comes before an entry for another database; commands run by EXEC, and
//! a command logged as several, are wrapped in MULTI/EXEC.
//!
//! **One stream for the log and the replicas.** Every entry goes through
//! `propagate` (Redis's `propagate()`), which appends it to the AOF's
//! buffer when the AOF is on and to the replication backlog once a replica
//! has connected (`crate::replication`). So everything above (the order
//! lock, the translations, SELECT, MULTI/EXEC, expired keys as DEL) holds
//! for the replicas too, and runs whenever either is on.
//!
//! **Rewrite** (BGREWRITEAOF, and turning the AOF on): under the order lock
//! the databases are cloned and appending moves to a new increment; a
//! background thread writes the clone as the new base, then a new manifest
//! replaces the old one in one rename and the old files are deleted. What
//! is written during the rewrite is in the new increment: nothing is lost,
//! and a crash at any point leaves a manifest naming a complete set. With
//! the AOF off, BGREWRITEAOF only writes a base and a manifest naming it
//! (as Redis 7.0); `auto-aof-rewrite-percentage` starts rewrites from the
//! cron.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::{library_codes, load_rdb_file, rdb, total_changes};
use crate::blocking::Attempt;
use crate::commands::{self, flags, Args, Context, Resolved, Session};
use crate::log::{self, log};
use crate::resp::Reply;
use crate::shared::Shared;
use crate::store::Db;
use crate::util::{now_ms, parse_i64};

/// Redis's reply when a rewrite runs already.
pub const REWRITE_RUNNING: &str = "ERR Background append only file rewriting already in progress";

/// The client ID of the replay of the log (Redis's `CLIENT_ID_AOF`):
/// commands that must obey the log, as Redis's do, check it.
pub const CLIENT_ID: u64 = u64::MAX;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The AOF's state, part of [`super::Persistence`].
#[derive(Debug, Default)]
pub struct Aof {
    /// True while changes are logged.
    enabled: AtomicBool,
    /// Held by write commands while they run and log (see the module notes).
    order: Mutex<()>,
    /// Bytes added to the buffer so far, bytes written to the file and
    /// bytes fsynced: a cheap "is my entry on disk yet?".
    appended: AtomicU64,
    written: AtomicU64,
    synced: AtomicU64,
    buffer: Mutex<Buffer>,
    /// True while one thread (the leader) writes the buffer out; the others
    /// wait on `flush_done` for the leader's write or fsync to cover them.
    flushing: Mutex<bool>,
    flush_done: Condvar,
    /// The open increment; held while writing to it.
    sink: Mutex<Option<Sink>>,
    status: Mutex<Status>,
}

/// Entries not yet written, and what the next one must be preceded by.
#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    /// The database the log has last selected.
    selected: Option<usize>,
    /// A MULTI was logged for the running EXEC.
    in_multi: bool,
}

/// The files in use.
#[derive(Debug)]
struct Sink {
    file: File,
    manifest: Manifest,
    /// Offsets (in [`Aof::appended`] terms) written and fsynced.
    written: u64,
    synced: u64,
    last_fsync: Instant,
}

/// INFO's rewrite fields.
#[derive(Debug)]
struct Status {
    rewrite_since: Option<Instant>,
    last_rewrite_ok: bool,
    last_rewrite_secs: i64,
    last_write_ok: bool,
    rewrites: u64,
    /// When a rewrite last failed: automatic rewrites wait a minute.
    failed_at: Option<Instant>,
    /// The files' size at log offset `size_mark` ([`Aof::appended`]): the
    /// current size is that plus what was appended since.
    size_base: u64,
    size_mark: u64,
    /// The size right after the last rewrite (or load), which
    /// `auto-aof-rewrite-percentage` measures growth against.
    rewrite_base_size: u64,
}

impl Status {
    fn current_size(&self, aof: &Aof) -> u64 {
        self.size_base
            + aof
                .appended
                .load(Ordering::Acquire)
                .saturating_sub(self.size_mark)
    }

    /// The files measure `size` at log offset `mark`, as after a rewrite.
    fn measured(&mut self, aof: &Aof, size: u64, mark: u64) {
        self.size_base = size;
        self.size_mark = mark;
        self.rewrite_base_size = self.current_size(aof);
    }
}

impl Default for Status {
    fn default() -> Self {
        Status {
            rewrite_since: None,
            last_rewrite_ok: true,
            last_rewrite_secs: -1,
            last_write_ok: true,
            rewrites: 0,
            failed_at: None,
            size_base: 0,
            size_mark: 0,
            rewrite_base_size: 0,
        }
    }
}

/// The manifest: the base (name, sequence, RDB or AOF) and increments.
#[derive(Debug, Clone, Default)]
struct Manifest {
    base: Option<(String, u64, bool)>,
    incrs: Vec<(String, u64)>,
}

impl Manifest {
    fn parse(text: &str) -> Result<Manifest, String> {
        let mut manifest = Manifest::default();
        for line in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let words: Vec<&str> = line.split_whitespace().collect();
            let field = |name: &str| {
                words
                    .chunks(2)
                    .find(|pair| pair[0] == name)
                    .and_then(|pair| pair.get(1).copied())
            };
            let (Some(file), Some(seq), Some(kind)) = (
                field("file"),
                field("seq").and_then(|s| s.parse().ok()),
                field("type"),
            ) else {
                return Err(format!("Invalid AOF manifest line: {line}"));
            };
            match kind {
                "b" => manifest.base = Some((file.into(), seq, file.ends_with(".rdb"))),
                "i" => manifest.incrs.push((file.into(), seq)),
                "h" => {}
                _ => return Err(format!("Invalid AOF manifest line: {line}")),
            }
        }
        Ok(manifest)
    }

    fn text(&self) -> String {
        let mut text = String::new();
        if let Some((file, seq, _)) = &self.base {
            text.push_str(&format!("file {file} seq {seq} type b\n"));
        }
        for (file, seq) in &self.incrs {
            text.push_str(&format!("file {file} seq {seq} type i\n"));
        }
        text
    }

    fn next_incr(&self) -> u64 {
        self.incrs.last().map_or(1, |(_, seq)| seq + 1)
    }
}

/// `appenddirname` under `dir`, and `appendfilename`.
fn names(shared: &Shared) -> (PathBuf, String) {
    let config = shared.config();
    let dir = config.get("dir").unwrap_or("");
    let sub = config.get("appenddirname").unwrap_or("appendonlydir");
    let name = config.get("appendfilename").unwrap_or("appendonly.aof");
    let dir = if dir.is_empty() {
        PathBuf::from(sub)
    } else {
        Path::new(dir).join(sub)
    };
    (dir, name.to_string())
}

fn manifest_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.manifest"))
}

/// Writes `text` to `path` atomically (temp file, fsync, rename, fsync dir).
fn write_atomically(dir: &Path, path: &Path, text: &[u8]) -> io::Result<()> {
    let temp = dir.join(format!("temp-{}.manifest", std::process::id()));
    let mut file = File::create(&temp)?;
    file.write_all(text)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)?;
    File::open(dir)?.sync_all()
}

fn fsync_always(shared: &Shared) -> bool {
    shared.config().get("appendfsync") == Some("always")
}

impl Aof {
    /// CONFIG RESETSTAT: the count of rewrites.
    pub fn reset_stats(&self) {
        lock(&self.status).rewrites = 0;
    }

    /// True while changes are logged.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }
}

/// What a running command carries for the log (see [`before`]).
#[derive(Default)]
pub struct Slot<'a> {
    order: Option<MutexGuard<'a, ()>>,
    /// The command took the order lock: its reply waits for the log.
    wrote: bool,
    args: Option<Vec<Vec<u8>>>,
    changes_before: u64,
}

/// Before a handler: a write command takes the order lock (once per
/// connection turn) and keeps a copy of its arguments for the log.
pub fn before(cx: &mut Context<'_>, resolved: Resolved, args: &Args) {
    let may_write =
        resolved.command.flags & flags::WRITE != 0 || MAY_REPLICATE.contains(&resolved.parent);
    if !propagating(cx.shared) || !may_write {
        return;
    }
    if cx.aof.order.is_none() {
        cx.aof.order = Some(lock(&cx.shared.persistence.aof.order));
    }
    cx.aof.wrote = true;
    cx.aof.args = Some(args.to_vec());
    cx.aof.changes_before = total_changes(cx.shared);
}

/// Makes the command log as `args` instead of what the client sent, as
/// Redis's `replaceClientCommandVector` (GEOADD is logged as the ZADD it
/// runs).
pub fn replace_args(cx: &mut Context<'_>, args: Vec<Vec<u8>>) {
    if cx.aof.args.is_some() {
        cx.aof.args = Some(args);
    }
}

/// After a handler: logs the command if it changed something; closes the
/// MULTI of an EXEC.
pub fn after(cx: &mut Context<'_>, resolved: Resolved, reply_start: usize) {
    let shared = cx.shared;
    if !propagating(shared) {
        return;
    }
    if resolved.parent == "exec" {
        let mut buffer = lock(&shared.persistence.aof.buffer);
        if std::mem::take(&mut buffer.in_multi) {
            propagate(shared, &mut buffer, &[b"EXEC".to_vec()]);
        }
        return;
    }
    // No arguments left: not a write, or it blocked (then whoever served
    // it logged the pop).
    let Some(args) = cx.aof.args.take() else {
        return;
    };
    if cx.aof.order.is_none() || total_changes(shared) == cx.aof.changes_before {
        return;
    }
    let reply = cx.out.buf.get(reply_start..).unwrap_or_default();
    if changed_nothing(resolved.parent, reply) {
        return;
    }
    let db = cx.session.db;
    let entries = translate(shared, db, resolved.parent, args, reply);
    append(shared, db, cx.session.in_exec, &entries);
}

/// After a script outside EXEC, still under the EXEC gate: closes the
/// MULTI its writes opened and, with `appendfsync always`, brings it to
/// disk before the reply.
pub fn close_script(shared: &Shared) {
    let aof = &shared.persistence.aof;
    if !propagating(shared) {
        return;
    }
    let mut buffer = lock(&aof.buffer);
    if std::mem::take(&mut buffer.in_multi) {
        propagate(shared, &mut buffer, &[b"EXEC".to_vec()]);
        drop(buffer);
        // Once for the whole script (its commands only let go of the
        // order lock): written, and on disk with appendfsync always.
        flush_to(
            shared,
            fsync_always(shared),
            aof.appended.load(Ordering::Acquire),
        );
    }
}

/// Lets go of the order lock without bringing the log to disk: for the
/// commands a script runs ([`close_script`] flushes once at its end).
pub fn release(slot: &mut Slot<'_>) {
    slot.order = None;
    slot.wrote = false;
    slot.args = None;
}

/// Read-only commands that may still change a value, and are then logged
/// (PFCOUNT caches the cardinality it computed in the string).
const MAY_REPLICATE: &[&str] = &["pfcount"];

/// Commands whose reply `:0` says they changed nothing (DEL of a missing
/// key, HDEL of a missing field...). The change counter moves for every
/// key a write looks up, but Redis logs only what changed.
const NOTHING_ON_ZERO: &[&str] = &[
    "del",
    "unlink",
    "hdel",
    "srem",
    "zrem",
    "lrem",
    "xdel",
    "xack",
    "xtrim",
    "setnx",
    "hsetnx",
    "msetnx",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "persist",
    "renamenx",
    "move",
    "smove",
    "lpushx",
    "rpushx",
    "linsert",
    "zremrangebyscore",
    "zremrangebyrank",
    "zremrangebylex",
    "copy",
];

fn changed_nothing(name: &str, reply: &[u8]) -> bool {
    // The reply first: most writes do not answer :0.
    (reply == b":0\r\n" || (reply == b":-1\r\n" && name == "linsert"))
        && NOTHING_ON_ZERO.contains(&name)
}

/// A command about to block lets go of the order lock; if it is served
/// later, the serving command logs the pop on its behalf, in its place.
pub fn blocking(cx: &mut Context<'_>, attempt: Attempt) -> Attempt {
    cx.aof.order = None;
    let Some(args) = cx.aof.args.take() else {
        return attempt;
    };
    let Some(shared) = cx.shared.arc() else {
        return attempt;
    };
    let db_index = cx.session.db;
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let mut attempt = attempt;
    Box::new(move |db: &mut Db, now, filled| {
        let reply = attempt(db, now, filled)?;
        // An error reply (WRONGTYPE, UNBLOCKED) changed nothing to log.
        if propagating(&shared) && !reply.starts_with(b"-") {
            let entries = translate_pop(&name, &args, &reply)
                .or_else(|| super::aof_stream::translate(&name, &args, &reply, db, now))
                .unwrap_or_default();
            append(&shared, db_index, false, &entries);
        }
        Some(reply)
    })
}

/// After the command (and the blocked clients it served): lets go of the
/// order lock, then brings the log to disk as the policy asks, before the
/// reply can be sent: here, or (`out.defer_log`, a client connection) once
/// for the batch of replies, by [`before_reply`].
pub fn finish(shared: &Shared, slot: &mut Slot<'_>, out: &mut Reply) {
    let aof = &shared.persistence.aof;
    // Only a write command can have logged anything (a blocked one was
    // logged by whoever served it, maybe on another thread), and all it
    // logged lies below the end of the log as it is now. A command that
    // logged nothing (a read) waits for no one's disk.
    let logged_up_to =
        std::mem::take(&mut slot.wrote).then(|| aof.appended.load(Ordering::Acquire));
    slot.order = None;
    slot.args = None;
    if let Some(upto) = logged_up_to {
        if out.defer_log {
            out.log_upto = out.log_upto.max(upto);
        } else {
            flush_to(shared, fsync_always(shared), upto);
        }
    }
}

/// Before a connection sends a batch of replies: the log entries they
/// depend on are written (and fsynced with `appendfsync always`).
pub fn before_reply(shared: &Shared, out: &mut Reply) {
    let upto = std::mem::take(&mut out.log_upto);
    if upto > 0 {
        flush_to(shared, fsync_always(shared), upto);
    }
}

/// Adds entries to the buffer, preceded by SELECT (and MULTI in EXEC) as
/// needed. The caller holds the order lock.
fn append(shared: &Shared, db: usize, in_exec: bool, entries: &[Vec<Vec<u8>>]) {
    if entries.is_empty() {
        return;
    }
    let mut buffer = lock(&shared.persistence.aof.buffer);
    log_expired(shared, &mut buffer);
    if buffer.selected != Some(db) {
        propagate(
            shared,
            &mut buffer,
            &[b"SELECT".to_vec(), db.to_string().into_bytes()],
        );
        buffer.selected = Some(db);
    }
    if in_exec && !buffer.in_multi {
        propagate(shared, &mut buffer, &[b"MULTI".to_vec()]);
        buffer.in_multi = true;
    }
    // A command logged as several (a stream read as XCLAIMs) is a
    // transaction, as Redis writes it: a torn log never holds half of it.
    let wrap = !in_exec && entries.len() > 1;
    if wrap {
        propagate(shared, &mut buffer, &[b"MULTI".to_vec()]);
    }
    for entry in entries {
        propagate(shared, &mut buffer, entry);
    }
    if wrap {
        propagate(shared, &mut buffer, &[b"EXEC".to_vec()]);
    }
}

/// Keys deleted by expiry since the last entry, as DEL (what Redis logs),
/// ahead of whatever comes next. The caller holds the order lock.
fn log_expired(shared: &Shared, buffer: &mut Buffer) {
    for (db, key) in shared.store.events().take_deleted_by_expiry() {
        if buffer.selected != Some(db) {
            let select = [b"SELECT".to_vec(), db.to_string().into_bytes()];
            propagate(shared, buffer, &select);
            buffer.selected = Some(db);
        }
        propagate(shared, buffer, &[b"DEL".to_vec(), key.to_vec()]);
    }
}

/// Redis's `propagate`: one entry of the write stream, to the AOF (when
/// on) and to the replication backlog (once a replica has connected). The
/// one place both learn of a change, so they always carry the same bytes.
fn propagate(shared: &Shared, buffer: &mut Buffer, args: &[Vec<u8>]) {
    let start = buffer.bytes.len();
    crate::resp::encode_command(&mut buffer.bytes, args);
    if shared.replication.propagating() {
        shared.replication.feed(&buffer.bytes[start..]);
    }
    if !shared.persistence.aof.enabled() {
        buffer.bytes.truncate(start);
        return;
    }
    let added = (buffer.bytes.len() - start) as u64;
    shared
        .persistence
        .aof
        .appended
        .fetch_add(added, Ordering::AcqRel);
}

/// True while writes are propagated anywhere: to the AOF, or to replicas.
pub fn propagating(shared: &Shared) -> bool {
    shared.persistence.aof.enabled() || shared.replication.propagating()
}

/// Sends `args` to the replicas only (PING, REPLCONF GETACK), between two
/// entries of the stream: never inside a transaction or a script.
pub fn propagate_to_replicas(shared: &Shared, args: &[Vec<u8>]) {
    if !shared.replication.propagating() {
        return;
    }
    let _gate = shared
        .exec_gate
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    let _order = lock(&shared.persistence.aof.order);
    let _buffer = lock(&shared.persistence.aof.buffer);
    let mut bytes = Vec::new();
    crate::resp::encode_command(&mut bytes, args);
    shared.replication.feed(&bytes);
}

/// Starts a full resync (the caller holds the exclusive side of the EXEC
/// gate, so no command runs): turns propagation to replicas on, and makes
/// the stream select its database again before the next entry. Returns the
/// stream's offset, the point the snapshot taken now stands for, after
/// `register` has run at that point.
pub fn start_full_resync(shared: &Shared, register: impl FnOnce(u64)) -> u64 {
    let aof = &shared.persistence.aof;
    let _order = lock(&aof.order);
    let size = shared
        .config()
        .get("repl-backlog-size")
        .and_then(crate::config::parse_memory)
        .unwrap_or(1024 * 1024);
    shared.replication.activate(size);
    shared.store.events().keep_expired_for_log(true);
    let mut buffer = lock(&aof.buffer);
    // Keys that expired before the snapshot: their DELs go first.
    log_expired(shared, &mut buffer);
    buffer.selected = None;
    let offset = shared.replication.backlog().offset();
    register(offset);
    offset
}

/// Writes the buffer to the increment, and fsyncs it if asked. Whoever
/// holds the sink writes what every client buffered meanwhile.
fn flush(shared: &Shared, fsync: bool) {
    flush_to(shared, fsync, u64::MAX);
}

/// Brings the log to disk at least up to byte `upto` (in [`Aof::appended`]
/// terms): written, and fsynced if `fsync`. Group commit: one thread at a
/// time (the leader) writes and fsyncs everything buffered so far, with no
/// lock held that appenders need; the others wait on a condition variable
/// and go as soon as the leader's write covers their bytes, so one fsync
/// serves every client that wrote meanwhile, and nobody waits for a sync
/// that does not carry its entry.
fn flush_to(shared: &Shared, fsync: bool, upto: u64) {
    let aof = &shared.persistence.aof;
    let done = if fsync { &aof.synced } else { &aof.written };
    if done.load(Ordering::Acquire) >= upto {
        return;
    }
    if !fsync {
        // A write to the page cache is quicker than a wait for a leader
        // (who may lose its core meanwhile): whoever holds the sink writes
        // what is buffered, the others find their bytes written.
        write_out(shared, false, upto);
        return;
    }
    {
        let mut flushing = lock(&aof.flushing);
        loop {
            if done.load(Ordering::Acquire) >= upto {
                return;
            }
            if !*flushing {
                *flushing = true;
                break;
            }
            flushing = aof
                .flush_done
                .wait(flushing)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
    // Lets the others in (one becomes the next leader) however this ends.
    struct Leading<'a>(&'a Aof);
    impl Drop for Leading<'_> {
        fn drop(&mut self) {
            *lock(&self.0.flushing) = false;
            self.0.flush_done.notify_all();
        }
    }
    let _leading = Leading(aof);
    write_out(shared, true, upto);
}

/// Writes the buffer to the increment, and fsyncs it if asked, unless that
/// was done up to `upto` meanwhile.
fn write_out(shared: &Shared, fsync: bool, upto: u64) {
    let aof = &shared.persistence.aof;
    let mut sink = lock(&aof.sink);
    let done = if fsync { &aof.synced } else { &aof.written };
    if done.load(Ordering::Acquire) >= upto {
        return;
    }
    let Some(sink) = sink.as_mut() else {
        return;
    };
    let (bytes, upto) = {
        let mut buffer = lock(&aof.buffer);
        (
            std::mem::take(&mut buffer.bytes),
            aof.appended.load(Ordering::Acquire),
        )
    };
    let mut result = Ok(());
    if !bytes.is_empty() {
        result = sink.file.write_all(&bytes);
        if result.is_ok() {
            sink.written = upto;
            aof.written.fetch_max(upto, Ordering::AcqRel);
        }
    }
    if result.is_ok() && fsync && sink.synced < sink.written {
        result = sink.file.sync_data();
        if result.is_ok() {
            sink.synced = sink.written;
            sink.last_fsync = Instant::now();
            aof.synced.fetch_max(sink.synced, Ordering::AcqRel);
        }
    }
    match result {
        Ok(()) => {
            if fsync {
                // Nothing was left to sync: what is written is on disk.
                aof.synced.fetch_max(sink.synced, Ordering::AcqRel);
            }
            let mut status = lock(&aof.status);
            if !status.last_write_ok {
                status.last_write_ok = true;
            }
        }
        Err(err) => {
            if fsync {
                // A reply may not claim what is not on disk (Redis exits too).
                log(
                    shared,
                    log::WARNING,
                    &format!("Can't persist the AOF with appendfsync always: {err}. Exiting..."),
                );
                std::process::exit(1);
            }
            log(
                shared,
                log::WARNING,
                &format!("Error writing to the AOF: {err}"),
            );
            lock(&aof.status).last_write_ok = false;
            // Keep the entries for the next try, ahead of newer ones.
            let mut buffer = lock(&aof.buffer);
            let newer = std::mem::replace(&mut buffer.bytes, bytes);
            buffer.bytes.extend_from_slice(&newer);
        }
    }
}

/// About ten times a second: write what is buffered; with `everysec`,
/// fsync once a second, outside the sink lock so writers do not wait.
pub fn cron(shared: &Shared) {
    let aof = &shared.persistence.aof;
    if !propagating(shared) {
        return;
    }
    // Keys active expiry deleted (no command logs them otherwise).
    {
        let _order = lock(&aof.order);
        log_expired(shared, &mut lock(&aof.buffer));
    }
    if !aof.enabled() {
        return;
    }
    flush(shared, false);
    auto_rewrite(shared);
    if shared.config().get("appendfsync") != Some("everysec") {
        return;
    }
    let (file, upto) = {
        let sink = lock(&aof.sink);
        match sink.as_ref() {
            Some(s) if s.synced < s.written && s.last_fsync.elapsed().as_secs() >= 1 => {
                (s.file.try_clone(), s.written)
            }
            _ => return,
        }
    };
    if let Ok(file) = file {
        if file.sync_data().is_ok() {
            if let Some(sink) = lock(&aof.sink).as_mut() {
                sink.synced = sink.synced.max(upto);
                sink.last_fsync = Instant::now();
                aof.synced.fetch_max(sink.synced, Ordering::AcqRel);
            }
        }
    }
}

/// `auto-aof-rewrite-percentage` and `-min-size`: a rewrite once the files
/// are over the minimum size and have grown by the percentage since the
/// last rewrite (Redis's `serverCron`). Not while a save or rewrite runs,
/// nor within a minute of a failed rewrite.
fn auto_rewrite(shared: &Shared) {
    let config = shared.config();
    let percent: u64 = config
        .get("auto-aof-rewrite-percentage")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let min_size = config
        .get("auto-aof-rewrite-min-size")
        .and_then(crate::config::parse_memory)
        .unwrap_or(0);
    drop(config);
    if percent == 0 || shared.persistence.bgsave_running() {
        return;
    }
    let aof = &shared.persistence.aof;
    let (current, base) = {
        let status = lock(&aof.status);
        let failed_lately = status
            .failed_at
            .is_some_and(|at| at.elapsed().as_secs() < 60);
        if status.rewrite_since.is_some() || failed_lately {
            return;
        }
        (status.current_size(aof), status.rewrite_base_size.max(1))
    };
    let growth = (current.saturating_mul(100) / base).saturating_sub(100);
    if current <= min_size || growth < percent {
        return;
    }
    log(
        shared,
        log::NOTICE,
        &format!("Starting automatic rewriting of AOF on {growth}% growth"),
    );
    let _gate = shared
        .exec_gate
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    let _ = rewrite(shared, false);
}

/// The commands to log for a command that changed something.
fn translate(
    shared: &Shared,
    db_index: usize,
    name: &str,
    mut args: Vec<Vec<u8>>,
    reply: &[u8],
) -> Vec<Vec<Vec<u8>>> {
    let word = |s: &str| s.as_bytes().to_vec();
    if let Some(pops) = translate_pop(name, &args, reply) {
        return pops;
    }
    let db = shared.store.read(db_index);
    if let Some(entries) = super::aof_stream::translate(name, &args, reply, &db, now_ms()) {
        return entries;
    }
    drop(db);
    let key = args.get(1).cloned().unwrap_or_default();
    let expire = || shared.store.read(db_index).expire_at(&key);
    let alive = || shared.store.read(db_index).contains(&key, now_ms());
    match name {
        "expire" | "pexpire" | "expireat" | "pexpireat" | "getex" => match expire() {
            Some(at) => vec![vec![word("PEXPIREAT"), key, at.to_string().into_bytes()]],
            None if alive() => vec![vec![word("PERSIST"), key]],
            None => vec![vec![word("DEL"), key]],
        },
        // A plain `SET k v` clears any TTL: no lookup needed.
        "setex" | "psetex" | "set" if (name != "set" || args.len() > 3) && expire().is_some() => {
            let value = if name == "set" {
                std::mem::take(&mut args[2])
            } else {
                std::mem::take(&mut args[3])
            };
            let at = expire().unwrap_or_default().to_string().into_bytes();
            vec![vec![word("SET"), key, value, word("PXAT"), at]]
        }
        "incrbyfloat" => match bulks(reply).into_iter().next() {
            Some(value) => vec![vec![word("SET"), key, value, word("KEEPTTL")]],
            None => vec![args],
        },
        "hincrbyfloat" => match bulks(reply).into_iter().next() {
            Some(value) => vec![vec![word("HSET"), key, std::mem::take(&mut args[2]), value]],
            None => vec![args],
        },
        // A relative TTL would restart at every load: log the deadline.
        "restore" => match expire() {
            Some(at) => {
                args[2] = at.to_string().into_bytes();
                if !args[4..].iter().any(|a| a.eq_ignore_ascii_case(b"absttl")) {
                    args.push(word("ABSTTL"));
                }
                vec![args]
            }
            None if alive() => vec![args],
            None => vec![vec![word("DEL"), key]],
        },
        // What a MIGRATE changed here: the keys it moved away are gone.
        "migrate" => {
            let now = now_ms();
            let db = shared.store.read(db_index);
            let mut del = vec![word("DEL")];
            let keys = commands::migrate::migrate_keys(&args);
            del.extend(keys.iter().filter(|k| !db.contains(k, now)).cloned());
            // Nothing moved (COPY, or every RESTORE failed): nothing to log.
            if del.len() == 1 {
                return Vec::new();
            }
            vec![del]
        }
        "spop" => {
            let mut srem = vec![word("SREM"), key];
            srem.extend(bulks(reply));
            vec![srem]
        }
        _ => vec![args],
    }
}

/// A blocking pop (served now or later), as the non-blocking command that
/// pops the same thing: the key it popped from is the reply's first item.
fn translate_pop(name: &str, args: &Args, reply: &[u8]) -> Option<Vec<Vec<Vec<u8>>>> {
    let word = |s: &str| s.as_bytes().to_vec();
    let items = bulks(reply);
    let key = || items.first().cloned().unwrap_or_default();
    // How many came out of a multi-pop: the nested array's length.
    let count = || reply_count(reply).to_string().into_bytes();
    let numkeys = |at: usize| {
        args.get(at)
            .and_then(|n| parse_i64(n))
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0)
    };
    let entry = match name {
        "blpop" => vec![word("LPOP"), key()],
        "brpop" => vec![word("RPOP"), key()],
        "bzpopmin" => vec![word("ZPOPMIN"), key()],
        "bzpopmax" => vec![word("ZPOPMAX"), key()],
        "brpoplpush" => vec![word("RPOPLPUSH"), args[1].clone(), args[2].clone()],
        "blmove" => {
            let mut lmove = args[..5].to_vec();
            lmove[0] = word("LMOVE");
            lmove
        }
        "blmpop" | "bzmpop" => {
            let side = args.get(3 + numkeys(2)).cloned().unwrap_or_default();
            let command = if name == "blmpop" { "LMPOP" } else { "ZMPOP" };
            vec![
                word(command),
                word("1"),
                key(),
                side,
                word("COUNT"),
                count(),
            ]
        }
        _ => return None,
    };
    Some(vec![entry])
}

/// The bulk strings of a reply, in order, at any depth.
fn bulks(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut items = Vec::new();
    let mut at = 0;
    while let Some(end) = find_crlf(reply, at) {
        let kind = reply[at];
        let line = &reply[at + 1..end];
        at = end + 2;
        if matches!(kind, b'$' | b'=') {
            let Some(len) = parse_i64(line).and_then(|n| usize::try_from(n).ok()) else {
                continue;
            };
            let Some(bytes) = reply.get(at..at + len) else {
                break;
            };
            items.push(bytes.to_vec());
            at += len + 2;
        }
    }
    items
}

/// The length of the second aggregate header of a reply (`*2 key *N`).
fn reply_count(reply: &[u8]) -> usize {
    let mut headers = 0;
    let mut at = 0;
    while let Some(end) = find_crlf(reply, at) {
        let kind = reply[at];
        let line = &reply[at + 1..end];
        at = end + 2;
        match kind {
            b'*' | b'~' | b'%' => {
                headers += 1;
                if headers == 2 {
                    return parse_i64(line).unwrap_or(0).max(0) as usize;
                }
            }
            b'$' => at += parse_i64(line).unwrap_or(0).max(0) as usize + 2,
            _ => {}
        }
    }
    0
}

fn find_crlf(data: &[u8], from: usize) -> Option<usize> {
    data.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

/// What BGREWRITEAOF did.
#[derive(Debug, PartialEq, Eq)]
pub enum Rewrite {
    Started,
    AlreadyRunning,
}

/// Starts a rewrite (see the module notes). The caller holds the shared
/// side of the EXEC gate and not the order lock. With `enable`, the AOF is
/// turned on by it (CONFIG SET appendonly yes, or a start without an AOF).
pub fn rewrite(shared: &Shared, enable: bool) -> io::Result<Rewrite> {
    let aof = &shared.persistence.aof;
    {
        let mut status = lock(&aof.status);
        if status.rewrite_since.is_some() {
            return Ok(Rewrite::AlreadyRunning);
        }
        status.rewrite_since = Some(Instant::now());
    }
    // With the AOF off, Redis 7.0 still writes a base (and a manifest that
    // names only it).
    let result = if enable || aof.enabled() {
        start_rewrite(shared, enable)
    } else {
        start_offline_rewrite(shared)
    };
    if result.is_err() {
        let mut status = lock(&aof.status);
        status.rewrite_since = None;
        status.last_rewrite_ok = false;
        status.failed_at = Some(Instant::now());
    }
    result.map(|()| Rewrite::Started)
}

fn start_rewrite(shared: &Shared, enable: bool) -> io::Result<()> {
    let aof = &shared.persistence.aof;
    let Some(owner) = shared.arc() else {
        return Err(io::Error::other("the server is not running"));
    };
    let (dir, name) = names(shared);
    std::fs::create_dir_all(&dir)?;
    // No write runs while the order lock is held: the copy and the switch
    // to a new increment happen at the same point of the log.
    let _order = lock(&aof.order);
    // Under the order lock, as the copy: a FUNCTION LOAD is in the base
    // or in the new increment, never in neither.
    let libraries = library_codes(shared);
    let copies: Vec<Db> = {
        let guards: Vec<_> = (0..shared.store.len())
            .map(|i| shared.store.read(i))
            .collect();
        guards.iter().map(|db| db.snapshot()).collect()
    };
    let mut sink_guard = lock(&aof.sink);
    // Turning the AOF on, the old files (if any) hold nothing current:
    // they are only numbered past, and deleted at the end.
    let manifest = match sink_guard.as_ref() {
        Some(sink) => sink.manifest.clone(),
        None => read_manifest(&dir, &name)?.unwrap_or_default(),
    };
    let seq = manifest.next_incr();
    let incr_name = format!("{name}.{seq}.incr.aof");
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(&incr_name))?;
    if !enable {
        // Write what is buffered to the old increment first.
        drop(sink_guard);
        flush(shared, true);
        sink_guard = lock(&aof.sink);
    }
    let mut interim = manifest.clone();
    interim.incrs.push((incr_name.clone(), seq));
    if !enable {
        write_atomically(&dir, &manifest_path(&dir, &name), interim.text().as_bytes())?;
    }
    let appended = aof.appended.load(Ordering::Acquire);
    *sink_guard = Some(Sink {
        file,
        manifest: interim,
        written: appended,
        synced: appended,
        last_fsync: Instant::now(),
    });
    lock(&aof.buffer).selected = None;
    aof.written.fetch_max(appended, Ordering::AcqRel);
    aof.synced.fetch_max(appended, Ordering::AcqRel);
    shared.store.events().keep_expired_for_log(true);
    aof.enabled.store(true, Ordering::Release);
    drop(sink_guard);
    drop(_order);
    let base_seq = manifest.base.as_ref().map_or(1, |(_, s, _)| s + 1);
    let opened = Opened {
        incr: seq,
        enable,
        mark: appended,
    };
    let spawned = std::thread::Builder::new()
        .name("respd-aofrw".into())
        .spawn(move || {
            let result = write_base(&owner, &dir, &name, base_seq, &copies, &libraries);
            drop(copies);
            finish_rewrite(
                &owner,
                result,
                &dir,
                &name,
                base_seq,
                Some(opened),
                &manifest,
            );
        });
    spawned.map(|_| ())
}

/// BGREWRITEAOF with the AOF off: a base of the data as it is, and a
/// manifest naming only it (the files of before are deleted).
fn start_offline_rewrite(shared: &Shared) -> io::Result<()> {
    let Some(owner) = shared.arc() else {
        return Err(io::Error::other("the server is not running"));
    };
    let (dir, name) = names(shared);
    std::fs::create_dir_all(&dir)?;
    let old = read_manifest(&dir, &name)?.unwrap_or_default();
    let libraries = library_codes(shared);
    let copies: Vec<Db> = {
        let guards: Vec<_> = (0..shared.store.len())
            .map(|i| shared.store.read(i))
            .collect();
        guards.iter().map(|db| db.snapshot()).collect()
    };
    let base_seq = old.base.as_ref().map_or(1, |(_, s, _)| s + 1);
    let spawned = std::thread::Builder::new()
        .name("respd-aofrw".into())
        .spawn(move || {
            let result = write_base(&owner, &dir, &name, base_seq, &copies, &libraries);
            drop(copies);
            finish_rewrite(&owner, result, &dir, &name, base_seq, None, &old);
        });
    spawned.map(|_| ())
}

/// The increment a rewrite of a logging AOF opened, and whether the
/// rewrite turned logging on.
struct Opened {
    incr: u64,
    enable: bool,
    /// The log offset ([`Aof::appended`]) where the new increment starts.
    mark: u64,
}

/// Writes the clone (and the function libraries) as
/// `<name>.<seq>.base.rdb`, fsynced.
fn write_base(
    shared: &Shared,
    dir: &Path,
    name: &str,
    seq: u64,
    dbs: &[Db],
    libraries: &[Vec<u8>],
) -> io::Result<()> {
    let temp = dir.join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
    let result = (|| {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&temp)?);
        let dbs: Vec<(usize, &Db)> = dbs.iter().enumerate().collect();
        let compress = shared.config().get("rdbcompression") == Some("yes");
        rdb::write_with(&mut out, &dbs, libraries, now_ms(), compress)?;
        out.flush()?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&temp, dir.join(format!("{name}.{seq}.base.rdb")))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Puts the new base in the manifest, with the increments from the one
/// the rewrite opened on (none with the AOF off), and deletes what it
/// replaces.
fn finish_rewrite(
    shared: &Arc<Shared>,
    result: io::Result<()>,
    dir: &Path,
    name: &str,
    base_seq: u64,
    opened: Option<Opened>,
    old: &Manifest,
) {
    let aof = &shared.persistence.aof;
    let base = (format!("{name}.{base_seq}.base.rdb"), base_seq, true);
    let result = result.and_then(|()| {
        let Some(Opened {
            incr: first_incr, ..
        }) = opened
        else {
            let manifest = Manifest {
                base: Some(base.clone()),
                incrs: Vec::new(),
            };
            return write_atomically(dir, &manifest_path(dir, name), manifest.text().as_bytes());
        };
        let mut sink = lock(&aof.sink);
        let Some(sink) = sink.as_mut() else {
            return Err(io::Error::other(
                "the AOF was turned off during the rewrite",
            ));
        };
        let mut manifest = sink.manifest.clone();
        manifest.base = Some(base.clone());
        manifest.incrs.retain(|(_, seq)| *seq >= first_incr);
        write_atomically(dir, &manifest_path(dir, name), manifest.text().as_bytes())?;
        sink.manifest = manifest;
        Ok(())
    });
    let mut status = lock(&aof.status);
    let started = status.rewrite_since.take();
    status.last_rewrite_secs = started.map_or(0, |s| s.elapsed().as_secs() as i64);
    status.last_rewrite_ok = result.is_ok();
    if result.is_err() {
        status.failed_at = Some(Instant::now());
    }
    if let (Ok(()), Some(opened)) = (&result, &opened) {
        let base_size = std::fs::metadata(dir.join(&base.0)).map_or(0, |m| m.len());
        status.measured(aof, base_size, opened.mark);
    }
    drop(status);
    match result {
        Ok(()) => {
            lock(&aof.status).rewrites += 1;
            let old_files = old
                .base
                .iter()
                .map(|(f, _, _)| f)
                .chain(old.incrs.iter().map(|(f, _)| f));
            for file in old_files {
                let _ = std::fs::remove_file(dir.join(file));
            }
            log(
                shared,
                log::NOTICE,
                "Background AOF rewrite finished successfully",
            );
        }
        Err(err) => {
            log(
                shared,
                log::WARNING,
                &format!("Background AOF rewrite failed: {err}"),
            );
            if let Some(Opened {
                incr, enable: true, ..
            }) = opened
            {
                abandon(shared, &dir.join(format!("{name}.{incr}.incr.aof")));
            }
        }
    }
}

/// A rewrite that was turning the AOF on failed: logging started into an
/// increment no manifest names, so it stops, the increment goes and
/// `appendonly` reads `no` again.
fn abandon(shared: &Shared, incr: &Path) {
    let aof = &shared.persistence.aof;
    let order = lock(&aof.order);
    aof.enabled.store(false, Ordering::Release);
    // Replicas still need the keys that expire.
    shared
        .store
        .events()
        .keep_expired_for_log(shared.replication.propagating());
    *lock(&aof.sink) = None;
    let mut buffer = lock(&aof.buffer);
    buffer.bytes.clear();
    buffer.selected = None;
    drop(buffer);
    drop(order);
    let _ = std::fs::remove_file(incr);
    let _ = shared
        .config_mut()
        .set_many(&[("appendonly".into(), "no".into())]);
    log(
        shared,
        log::WARNING,
        "The AOF could not be turned on: appendonly is no again",
    );
}

/// CONFIG SET appendonly no (and SHUTDOWN): writes and fsyncs what is
/// buffered and stops logging.
pub fn disable(shared: &Shared) {
    let aof = &shared.persistence.aof;
    let _order = lock(&aof.order);
    flush(shared, true);
    aof.enabled.store(false, Ordering::Release);
    // Replicas still need the keys that expire.
    shared
        .store
        .events()
        .keep_expired_for_log(shared.replication.propagating());
    *lock(&aof.sink) = None;
    let mut buffer = lock(&aof.buffer);
    buffer.bytes.clear();
    buffer.selected = None;
}

/// Brings the log to disk (SHUTDOWN).
pub fn sync(shared: &Shared) {
    if shared.persistence.aof.enabled() {
        flush(shared, true);
    }
}

/// CONFIG SET appendonly: starts or stops logging to match the setting.
pub fn apply_config(shared: &Shared) -> io::Result<()> {
    let wanted = shared.config().get("appendonly") == Some("yes");
    let aof = &shared.persistence.aof;
    if wanted && !aof.enabled() {
        if rewrite(shared, true)? == Rewrite::AlreadyRunning {
            return Err(io::Error::other(
                "a rewrite of the AOF (made while it was off) is running",
            ));
        }
    } else if !wanted && aof.enabled() {
        disable(shared);
    }
    Ok(())
}

fn read_manifest(dir: &Path, name: &str) -> io::Result<Option<Manifest>> {
    match std::fs::read_to_string(manifest_path(dir, name)) {
        Ok(text) => Manifest::parse(&text).map(Some).map_err(io::Error::other),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// At start with `appendonly yes`: loads the AOF (base, then increments)
/// and opens the last increment for appending. Without an AOF, starts
/// empty and creates one, as Redis 7.0. A truncated last command is
/// dropped with a warning (`aof-load-truncated yes`); anything else wrong
/// is an error naming the file and the offset.
pub fn load_at_start(shared: &Shared) -> Result<(), String> {
    let (dir, name) = names(shared);
    let manifest = read_manifest(&dir, &name)
        .map_err(|e| format!("Bad AOF manifest in {}: {e}", dir.display()))?;
    // No AOF yet: a base (of the empty data set) and its manifest now, as
    // Redis 7.0 creates them on server start, so that the increment opened
    // below is named by a manifest before any write is logged to it.
    let manifest = match manifest {
        Some(manifest) => manifest,
        None => create_base_at_start(shared, &dir, &name)
            .map_err(|e| format!("Can't create the AOF in {}: {e}", dir.display()))?,
    };
    let started = Instant::now();
    if let Some((file, _, is_rdb)) = &manifest.base {
        let path = dir.join(file);
        if *is_rdb {
            load_rdb_file(shared, &path)?;
        } else {
            replay(shared, &path, manifest.incrs.is_empty())?;
        }
    }
    for (index, (file, _)) in manifest.incrs.iter().enumerate() {
        replay(shared, &dir.join(file), index + 1 == manifest.incrs.len())?;
    }
    // Keep appending to the last increment.
    let (last, _) = manifest
        .incrs
        .last()
        .cloned()
        .unwrap_or_else(|| (format!("{name}.1.incr.aof"), 1));
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(&last))
        .map_err(|e| format!("Can't open the AOF {}: {e}", dir.join(&last).display()))?;
    let mut manifest = manifest;
    if manifest.incrs.is_empty() {
        manifest.incrs.push((last, 1));
        write_atomically(
            &dir,
            &manifest_path(&dir, &name),
            manifest.text().as_bytes(),
        )
        .map_err(|e| format!("Can't write the AOF manifest: {e}"))?;
    }
    let aof = &shared.persistence.aof;
    let size: u64 = manifest
        .base
        .iter()
        .map(|(f, _, _)| f)
        .chain(manifest.incrs.iter().map(|(f, _)| f))
        .filter_map(|file| std::fs::metadata(dir.join(file)).ok())
        .map(|m| m.len())
        .sum();
    let mark = aof.appended.load(Ordering::Acquire);
    lock(&aof.status).measured(aof, size, mark);
    *lock(&aof.sink) = Some(Sink {
        file,
        manifest,
        written: mark,
        synced: mark,
        last_fsync: Instant::now(),
    });
    aof.written.fetch_max(mark, Ordering::AcqRel);
    aof.synced.fetch_max(mark, Ordering::AcqRel);
    shared.store.events().keep_expired_for_log(true);
    aof.enabled.store(true, Ordering::Release);
    log(
        shared,
        log::NOTICE,
        &format!(
            "DB loaded from append only file: {:.3} seconds",
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(())
}

fn create_base_at_start(shared: &Shared, dir: &Path, name: &str) -> io::Result<Manifest> {
    let base = format!("{name}.1.base.rdb");
    log(
        shared,
        log::NOTICE,
        &format!("Creating AOF base file {base} on server start"),
    );
    std::fs::create_dir_all(dir)?;
    let data: Vec<Db> = (0..shared.store.len())
        .map(|i| shared.store.read(i).snapshot())
        .collect();
    write_base(shared, dir, name, 1, &data, &library_codes(shared))?;
    let manifest = Manifest {
        base: Some((base, 1, true)),
        incrs: Vec::new(),
    };
    write_atomically(dir, &manifest_path(dir, name), manifest.text().as_bytes())?;
    Ok(manifest)
}

/// Runs the commands of one AOF file. `last`: a truncated tail is cut off
/// (with an open MULTI) instead of being an error.
fn replay(shared: &Shared, path: &Path, last: bool) -> Result<(), String> {
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(err) if err.kind() == io::ErrorKind::NotFound && last => return Ok(()),
        Err(err) => return Err(format!("Can't read the AOF {}: {err}", path.display())),
    };
    let info = crate::clients::ClientInfo::new(
        CLIENT_ID,
        String::new(),
        String::new(),
        -1,
        Box::new(|| {}),
    );
    let mut session = Session::new(Arc::new(info), shared);
    session.run_unrestricted();
    session.replaying = true;
    let mut out = Reply::new();
    let mut at = 0;
    let mut multi_at = None;
    while at < data.len() {
        let args = match parse_command(&data[at..]) {
            Parsed::Command(args, used) => {
                let start = at;
                at += used;
                if commands::is(&args[0], "multi") {
                    multi_at = Some(start);
                } else if commands::is(&args[0], "exec") {
                    multi_at = None;
                }
                args
            }
            Parsed::Incomplete if last => break,
            Parsed::Incomplete | Parsed::Bad => {
                return Err(format!(
                    "Bad file format reading the append only file {} at offset {at}",
                    path.display()
                ))
            }
        };
        if commands::lookup(&args[0]).is_none() {
            return Err(format!(
                "Unknown command '{}' reading the append only file {} at offset {at}",
                String::from_utf8_lossy(&args[0]),
                path.display()
            ));
        }
        let mut cx = Context::new(shared, &mut session, &mut out);
        commands::execute(&mut cx, &args);
        drop(cx);
        out.buf.clear();
    }
    // A transaction the file does not finish was never acknowledged.
    let keep = multi_at.unwrap_or(at);
    if keep < data.len() {
        log(
            shared,
            log::WARNING,
            &format!(
                "!!! Warning: short read while loading the AOF file {}!!! Truncating the AOF at offset {keep} (of {})",
                path.display(),
                data.len()
            ),
        );
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| format!("Can't truncate the AOF {}: {e}", path.display()))?;
        file.set_len(keep as u64)
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("Can't truncate the AOF {}: {e}", path.display()))?;
    }
    session.multi = None;
    Ok(())
}

enum Parsed {
    Command(Vec<Vec<u8>>, usize),
    Incomplete,
    Bad,
}

/// One `*N` multibulk from the start of `data`.
fn parse_command(data: &[u8]) -> Parsed {
    fn line(data: &[u8], at: usize, kind: u8) -> Result<(i64, usize), bool> {
        let Some(end) = find_crlf(data, at) else {
            // A header is short; no CRLF within it means damage.
            return Err(data.len() - at > 32);
        };
        if data[at] != kind {
            return Err(true);
        }
        match parse_i64(&data[at + 1..end]) {
            Some(n) if n >= 0 => Ok((n, end + 2)),
            _ => Err(true),
        }
    }
    let fail = |bad: bool| if bad { Parsed::Bad } else { Parsed::Incomplete };
    let (count, mut at) = match line(data, 0, b'*') {
        Ok(found) => found,
        Err(bad) => return fail(bad),
    };
    if count == 0 {
        return Parsed::Bad;
    }
    let mut args = Vec::with_capacity(count.min(1024) as usize);
    for _ in 0..count {
        if at >= data.len() {
            return Parsed::Incomplete;
        }
        let (len, start) = match line(data, at, b'$') {
            Ok(found) => found,
            Err(bad) => return fail(bad),
        };
        let end = start + len as usize;
        if data.len() < end + 2 {
            return Parsed::Incomplete;
        }
        if &data[end..end + 2] != b"\r\n" {
            return Parsed::Bad;
        }
        args.push(data[start..end].to_vec());
        at = end + 2;
    }
    Parsed::Command(args, at)
}

/// INFO persistence's AOF lines.
pub fn info(shared: &Shared) -> Vec<(&'static str, String)> {
    let aof = &shared.persistence.aof;
    let buffered = lock(&aof.buffer).bytes.len();
    let status = lock(&aof.status);
    let current = status
        .rewrite_since
        .map_or(-1, |s| s.elapsed().as_secs() as i64);
    let ok = |yes: bool| if yes { "ok" } else { "err" }.to_string();
    let mut fields = vec![
        ("aof_enabled", u8::from(aof.enabled()).to_string()),
        (
            "aof_rewrite_in_progress",
            u8::from(status.rewrite_since.is_some()).to_string(),
        ),
        ("aof_rewrite_scheduled", "0".into()),
        (
            "aof_last_rewrite_time_sec",
            status.last_rewrite_secs.to_string(),
        ),
        ("aof_current_rewrite_time_sec", current.to_string()),
        ("aof_last_bgrewrite_status", ok(status.last_rewrite_ok)),
        ("aof_rewrites", status.rewrites.to_string()),
        ("aof_rewrites_consecutive_failures", "0".into()),
        ("aof_last_write_status", ok(status.last_write_ok)),
        ("aof_last_cow_size", "0".into()),
        ("module_fork_in_progress", "0".into()),
        ("module_fork_last_cow_size", "0".into()),
    ];
    if aof.enabled() {
        let current = status.current_size(aof);
        fields.extend([
            ("aof_current_size", current.to_string()),
            ("aof_base_size", status.rewrite_base_size.to_string()),
            ("aof_pending_rewrite", "0".into()),
            ("aof_buffer_length", buffered.to_string()),
            ("aof_pending_bio_fsync", "0".into()),
            ("aof_delayed_fsync", "0".into()),
        ]);
    }
    fields
}
