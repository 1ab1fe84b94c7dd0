//! Commands: the table that describes them and the dispatcher that runs
//! them. Each family lives in its own file and exports its rows in a
//! `COMMANDS` table; adding a command means one handler and one row there.
//!
//! The path of a command through [`execute`]: find its row by name (any
//! case), find the subcommand row for container commands (CLIENT, CONFIG),
//! check the arity, authentication and the user's permissions (ACL), then
//! call the handler under `catch_unwind`, so a bug in one command costs one
//! error reply, not the server.

mod acl;
pub mod errors;

mod accounting;
mod bitmaps;
mod client;
mod command;
mod connection;
mod geo;
mod hashes;
mod hyperloglog;
mod info;
#[cfg(feature = "scripting")]
pub(crate) use info::MemoryFigures;
mod keys;
mod latency;
mod lists;
pub mod memory;
pub mod meta;
pub(crate) mod migrate;
mod object;
mod pubsub;
mod replication;
mod scan;
mod scripting;
mod server;
mod sets;
mod slowlog;
mod sort;
mod standalone;
mod streams;
mod strings;
mod testing;
mod tracking;
mod transactions;
mod zsets;

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, OnceLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

use crate::blocking::{Attempt, DbKey, Outcome, Waiter};
use crate::clients::ClientInfo;
use crate::resp::{Limits, Reply};
use crate::shared::{Shared, Stats};
use crate::store::{Db, Key};
pub use errors::{CmdResult, Error};

/// A command's arguments, the name first: binary-safe byte strings. Handlers
/// borrow them from the connection, which reuses their buffers for the next
/// command: a value to keep is copied out (`args[2].to_vec()`), which also
/// stores it without spare capacity.
pub type Args = [Vec<u8>];
/// A command's implementation: it writes its reply into `cx.out`, or
/// returns an error reply.
pub type Handler = fn(&mut Context<'_>, &Args) -> CmdResult;

/// Command flags: the bits of Redis's metadata (`meta::cmd`, COMMAND's
/// flags), one set for the dispatch rows and the metadata alike.
pub use meta::cmd as flags;

/// The flags a dispatch row carries (the server acts on them); its other
/// flags are the metadata's alone. `tests/command_info.rs` checks that each
/// row has these exactly when Redis 7.0's metadata does.
pub const ROW_FLAGS: &[u32] = &[
    flags::WRITE,
    flags::READONLY,
    flags::DENYOOM,
    flags::ADMIN,
    flags::PUBSUB,
    flags::NOSCRIPT,
    flags::BLOCKING,
    flags::LOADING,
    flags::STALE,
    flags::NO_AUTH,
    flags::FAST,
    flags::NO_MULTI,
    flags::ALLOW_BUSY,
];

/// Where a command's key arguments are (COMMAND's first key, last key,
/// step): 1-based positions, last negative counts from the end.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub first: i32,
    pub last: i32,
    pub step: i32,
}

/// No key arguments.
pub const NO_KEYS: KeySpec = KeySpec {
    first: 0,
    last: 0,
    step: 0,
};
/// One key, the first argument.
pub const ONE_KEY: KeySpec = KeySpec {
    first: 1,
    last: 1,
    step: 1,
};
/// Every argument is a key.
pub const ALL_KEYS: KeySpec = KeySpec {
    first: 1,
    last: -1,
    step: 1,
};

/// One row of the command table.
#[derive(Debug)]
pub struct Command {
    /// Lower case, as COMMAND reports it.
    pub name: &'static str,
    /// Redis's convention: `n` means exactly n arguments (the name
    /// included), `-n` means at least n.
    pub arity: i32,
    pub flags: u32,
    pub keys: KeySpec,
    /// The command family, as COMMAND DOCS's `group`.
    pub group: &'static str,
    pub handler: Handler,
    /// For container commands (CLIENT, CONFIG...): their subcommands.
    pub subcommands: &'static [Command],
}

impl Command {
    /// A row with no subcommands.
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: KeySpec,
        group: &'static str,
        handler: Handler,
    ) -> Self {
        Command {
            name,
            arity,
            flags,
            keys,
            group,
            handler,
            subcommands: &[],
        }
    }

    /// A container command whose second argument picks a row of `subcommands`.
    pub const fn container(
        name: &'static str,
        group: &'static str,
        subcommands: &'static [Command],
    ) -> Self {
        Command {
            name,
            arity: -2,
            flags: 0,
            keys: NO_KEYS,
            group,
            handler: container_handler,
            subcommands,
        }
    }

    fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }
}

fn container_handler(_: &mut Context<'_>, _: &Args) -> CmdResult {
    Err(Error::from(
        "ERR container command called without a subcommand",
    ))
}

/// Every family's rows.
fn families() -> [&'static [Command]; 27] {
    [
        acl::COMMANDS,
        connection::COMMANDS,
        strings::COMMANDS,
        keys::COMMANDS,
        server::COMMANDS,
        command::COMMANDS,
        client::COMMANDS,
        lists::COMMANDS,
        hashes::COMMANDS,
        sets::COMMANDS,
        zsets::COMMANDS,
        bitmaps::COMMANDS,
        transactions::COMMANDS,
        pubsub::COMMANDS,
        streams::COMMANDS,
        scripting::COMMANDS,
        migrate::COMMANDS,
        hyperloglog::COMMANDS,
        geo::COMMANDS,
        standalone::COMMANDS,
        object::COMMANDS,
        sort::COMMANDS,
        info::COMMANDS,
        slowlog::COMMANDS,
        latency::COMMANDS,
        replication::COMMANDS,
        memory::COMMANDS,
    ]
}

/// The command table's hash: FNV-1a. Its keys are fixed, so it needs no
/// defence against chosen collisions, and a name hashes in a few
/// instructions instead of SipHash's few hundred (a lookup per command).
pub struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        NameHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for NameHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The command table's type: rows by lower-case name.
pub type Table = HashMap<&'static [u8], &'static Command, BuildHasherDefault<NameHasher>>;

/// Every command, by lower-case name.
pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        families()
            .into_iter()
            .flatten()
            .map(|c| (c.name.as_bytes(), c))
            .collect()
    })
}

/// Finds a command by name, in any case.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    table().get(&lower[..name.len()]).copied()
}

/// What CLIENT REPLY asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    Skip,
    /// The command after CLIENT REPLY SKIP: its reply is dropped.
    Skipping,
}

/// One connection's state, owned by its worker thread.
#[derive(Debug)]
pub struct Session {
    pub id: u64,
    /// The selected database.
    pub db: usize,
    pub authenticated: bool,
    /// The user it runs as (the default user until AUTH); re-read after
    /// every ACL change.
    pub user: Arc<crate::acl::User>,
    /// The client's entry in the registry (CLIENT LIST sees it).
    pub info: Arc<ClientInfo>,
    /// Set by QUIT, protocol errors and kills: close once the reply is out.
    pub close_after_reply: bool,
    pub reply_mode: ReplyMode,
    /// Set by a command whose reply is Pub/Sub frames (SUBSCRIBE's
    /// confirmations): they go out whatever CLIENT REPLY says, as Redis's
    /// CLIENT_PUSHING.
    pub pushing: bool,
    /// The parser's limits, refreshed when the configuration changes.
    pub limits: Limits,
    /// `hash-max-listpack-entries` / `-value`, for the commands adding
    /// fields to a hash.
    pub hash_limits: crate::store::HashLimits,
    /// Seconds of idleness before the server closes the client (`timeout`).
    pub idle_timeout: u64,
    config_epoch: u64,
    /// Keys this command may have made ready for blocked clients.
    pub ready_keys: Vec<DbKey>,
    /// The transaction being queued, between MULTI and EXEC.
    pub multi: Option<Transaction>,
    /// True while EXEC runs the queued commands (and while a script runs:
    /// blocking commands then act as their non-blocking twins).
    pub in_exec: bool,
    /// True while a command called by a script runs (MONITOR shows `lua`).
    pub in_script: bool,
    /// The keys the running script declared, kept while a tracking client
    /// runs one: its reads remember these, not the inner commands' keys.
    pub script_keys: Vec<Vec<u8>>,
    /// Memory was over `maxmemory` when the current command began (a
    /// script's first write is then refused, as Redis's
    /// `pre_command_oom_state`).
    pub oom_before_command: bool,
    /// Keys under WATCH: (database, key, version seen, alive then).
    pub watched: Vec<(usize, Key, u64, bool)>,
    /// Tells whether the client has hung up; asked while it is blocked,
    /// since its worker is not reading then.
    pub peer_closed: PeerProbe,
    /// Subscriptions, MONITOR mode and the outbox that serves them.
    pub pubsub: crate::pubsub::ClientPubsub,
    /// Time the running command spent blocked on keys, which its
    /// statistics leave out (as Redis's do).
    pub blocked_time: std::time::Duration,
    /// Error replies this connection's commands counted (so a script's
    /// error is not counted twice).
    pub errors_counted: u64,
    /// Replaying the append-only file: commands leave no statistics, slow
    /// log entries or latency spikes (Redis's CMD_CALL_NONE).
    pub replaying: bool,
    /// Driven by the server itself (see [`Session::run_unrestricted`]): its
    /// user is never re-read.
    unrestricted: bool,
    /// What REPLCONF said, and the hand-over SYNC/PSYNC asks for.
    pub replication: crate::replication::master::Link,
    /// CLIENT TRACKING's mode, while it is on.
    pub tracking: Option<crate::tracking::Mode>,
    /// CLIENT CACHING was given for the next command (or transaction).
    pub caching_given: bool,
}

/// Commands queued by MULTI, and whether one of them was refused.
#[derive(Debug, Default)]
pub struct Transaction {
    /// Each with its own copy of its arguments.
    pub queued: Vec<(Resolved, Vec<Vec<u8>>)>,
    pub failed: bool,
}

impl Transaction {
    /// True when a queued command writes (EXEC is then a write).
    pub fn writes(&self) -> bool {
        self.queued
            .iter()
            .any(|(resolved, _)| resolved.command.flags & flags::WRITE != 0)
    }
}

/// Clears what a connection leaves behind in shared state when it closes
/// (its WATCHes, its client-side caching).
pub fn disconnect(shared: &Shared, session: &mut Session) {
    transactions::unwatch_all(shared, session);
    shared.tracking.disable(session.id);
    session.tracking = None;
    session.caching_given = false;
}

/// A check that the client is still there (set by the server; commands
/// know nothing of sockets).
pub struct PeerProbe(pub crate::blocking::PeerClosed);

impl std::fmt::Debug for PeerProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerProbe")
    }
}

impl Session {
    /// The state of a new connection.
    pub fn new(info: Arc<ClientInfo>, shared: &Shared) -> Self {
        let mut session = Session {
            id: info.id,
            db: 0,
            authenticated: false,
            user: shared
                .acl
                .get(b"default")
                .unwrap_or_else(|| Arc::new(crate::acl::User::default_user())),
            info,
            close_after_reply: false,
            reply_mode: ReplyMode::On,
            pushing: false,
            limits: Limits::default(),
            hash_limits: Default::default(),
            idle_timeout: 0,
            config_epoch: u64::MAX,
            ready_keys: Vec::new(),
            multi: None,
            in_exec: false,
            in_script: false,
            script_keys: Vec::new(),
            watched: Vec::new(),
            peer_closed: PeerProbe(Arc::new(|| false)),
            pubsub: Default::default(),
            oom_before_command: false,
            blocked_time: std::time::Duration::ZERO,
            errors_counted: 0,
            replaying: false,
            unrestricted: false,
            replication: Default::default(),
            tracking: None,
            caching_given: false,
        };
        session.refresh_config(shared);
        session
    }

    /// Re-reads the settings a connection caches, if CONFIG SET changed any.
    pub fn refresh_config(&mut self, shared: &Shared) {
        let epoch = shared
            .config_epoch
            .load(std::sync::atomic::Ordering::Acquire);
        if epoch == self.config_epoch {
            return;
        }
        self.config_epoch = epoch;
        // The user may have changed (ACL SETUSER) or gone (ACL DELUSER:
        // the connection closes, as Redis closes its clients).
        if !self.unrestricted {
            match shared.acl.get(&self.user.name) {
                Some(user) => self.user = user,
                None => {
                    self.close_after_reply = true;
                    self.info.kill();
                }
            }
        }
        if shared.acl.default_needs_no_auth() && self.user.name == b"default" {
            self.authenticated = true;
        }
        let config = shared.config();
        self.limits = Limits {
            max_bulk_len: config.proto_max_bulk_len(),
            max_query_len: config.client_query_buffer_limit(),
            authenticated: self.authenticated,
        };
        self.idle_timeout = config.timeout();
        self.hash_limits = config.hash_limits();
        self.replication.min_replicas = crate::replication::min_replicas(&config);
    }

    /// Marks the client authenticated (AUTH, HELLO AUTH).
    pub fn set_authenticated(&mut self, yes: bool) {
        self.authenticated = yes;
        self.limits.authenticated = yes;
    }

    /// Runs with every permission, whatever the default user may do, and
    /// keeps it across ACL changes: a client the server drives itself (the
    /// AOF's replay, the master's link, a test's own commands), as Redis's
    /// clients without a user.
    pub fn run_unrestricted(&mut self) {
        self.set_authenticated(true);
        self.user = Arc::new(crate::acl::User::default_user());
        self.unrestricted = true;
    }
}

/// What a handler works with: the server's shared state, its own
/// connection's state and its reply buffer.
pub struct Context<'a> {
    pub shared: &'a Shared,
    pub session: &'a mut Session,
    pub out: &'a mut Reply,
    /// The shared side of the EXEC gate, held while a command runs (see
    /// [`execute`]); a blocking command lets go of it while it waits.
    gate: Option<RwLockReadGuard<'a, ()>>,
    /// The append-only file's hold on this command (see `persistence::aof`).
    pub(crate) aof: crate::persistence::aof::Slot<'a>,
    /// The connection's hold on the gate's exclusive side, kept from one
    /// buffered script to the next (see [`HeldGate`]); none for the
    /// clients the server drives itself.
    script_gate: Option<&'a mut dyn HeldGate>,
}

/// The EXEC gate's exclusive side as a connection may keep it across the
/// scripts already in its input buffer (`crate::scripting::ScriptGate`).
/// Whoever runs anything but a script, or waits, lets go of it first.
pub trait HeldGate {
    fn held(&self) -> bool;
    /// Takes the exclusive side unless held: waits for it, or `-BUSY` when
    /// a slow script has it.
    fn take(&mut self) -> Result<(), Error>;
    fn release(&mut self);
}

impl<'a> Context<'a> {
    /// The context for running commands of one connection.
    pub fn new(shared: &'a Shared, session: &'a mut Session, out: &'a mut Reply) -> Self {
        Context {
            shared,
            session,
            out,
            gate: None,
            aof: Default::default(),
            script_gate: None,
        }
    }

    /// Lets scripts keep `gate` (the connection's) from one to the next.
    pub fn with_script_gate(mut self, gate: &'a mut dyn HeldGate) -> Self {
        self.script_gate = Some(gate);
        self
    }

    /// The connection's hold on the gate for scripts, if it keeps one.
    #[cfg(feature = "scripting")]
    pub(crate) fn script_gate(&mut self) -> Option<&mut (dyn HeldGate + 'a)> {
        self.script_gate.as_deref_mut()
    }

    /// Lets go of the gate kept for scripts, before something else runs or
    /// the client waits.
    fn release_script_gate(&mut self) {
        if let Some(gate) = self.script_gate.as_deref_mut() {
            gate.release();
        }
    }

    /// The selected database, to read. The guard borrows the server, not
    /// the context, so a handler can write its reply while holding it.
    #[inline]
    pub fn db(&self) -> RwLockReadGuard<'a, Db> {
        self.shared.store.read(self.session.db)
    }

    /// The selected database, to change.
    #[inline]
    pub fn db_mut(&self) -> RwLockWriteGuard<'a, Db> {
        self.shared.store.write(self.session.db)
    }

    /// Reports that `key` of database `db` may now hold what blocked
    /// clients wait for (a push, a ZADD, a key renamed into place). They are
    /// served right after this command. Free when nobody is blocked.
    pub fn key_ready(&mut self, db: usize, key: &[u8]) {
        if self.shared.blocking.blocked_count() > 0 {
            self.session.ready_keys.push((db, key.into()));
        }
    }

    /// Blocks the client on `keys` until `attempt` can serve it, the timeout
    /// passes (a null array reply), or it is unblocked. The caller passes
    /// the database guard under which it just found nothing, so no push can
    /// slip in between its check and the registration.
    pub fn block(
        &mut self,
        db: RwLockWriteGuard<'a, Db>,
        keys: &[Vec<u8>],
        timeout: Option<std::time::Duration>,
        attempt: Attempt,
    ) -> CmdResult {
        if self.session.in_exec {
            // Inside MULTI a blocking command acts as its non-blocking twin.
            drop(db);
            self.out.null_array();
            return Ok(());
        }
        let attempt = crate::persistence::aof::blocking(self, attempt);
        let keys = keys.iter().map(|key| Key::from(key.as_slice())).collect();
        let waiter = Waiter::new(
            self.session.db,
            keys,
            attempt,
            self.session.peer_closed.0.clone(),
        );
        // Reachable by CLIENT UNBLOCK before it counts as blocked (INFO
        // blocked_clients), so an unblock can never miss it.
        *self
            .session
            .info
            .blocked_on
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(waiter.clone());
        self.shared.blocking.register(&waiter);
        drop(db);
        self.gate = None;
        // A deadline too far to represent means "for ever". It is read by
        // the server's clock (DEBUG CLOCK ADVANCE ends a wait).
        let deadline = timeout.and_then(|t| {
            u64::try_from(t.as_millis())
                .ok()
                .and_then(|ms| crate::util::now_ms().checked_add(ms))
        });
        let blocked_at = std::time::Instant::now();
        let outcome = self.shared.blocking.wait(&waiter, deadline);
        crate::store::changed::restore(waiter.take_changed());
        self.session.blocked_time += blocked_at.elapsed();
        *self
            .session
            .info
            .blocked_on
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        match outcome {
            // Served with an error (WRONGTYPE, NOGROUP): the command
            // failed, and counts so (errorstats, failed_calls) as in Redis.
            Outcome::Served(reply) => match served_error(&reply) {
                Some(error) => return Err(error),
                None => self.out.buf.extend_from_slice(&reply),
            },
            Outcome::TimedOut | Outcome::Waiting => self.out.null_array(),
            Outcome::Unblocked => return Err(errors::UNBLOCKED.into()),
            Outcome::Closed => self.session.close_after_reply = true,
        }
        Ok(())
    }

    /// Lets go of the shared side of the EXEC gate before the command ends
    /// (SHUTDOWN, which then waits for every other command) or before a
    /// long wait that touches no data (WAIT), so transactions and scripts
    /// elsewhere can run.
    pub fn release_gate(&mut self) {
        self.gate = None;
        self.release_script_gate();
    }

    /// Logs keyspace event `name` (`set`, `lpush`...) of `class` about `key`
    /// of the selected database; it is published after the command. One
    /// atomic load when nobody listens to `class`.
    pub fn notify(&self, class: u32, name: &'static str, key: &[u8]) {
        self.notify_db(self.session.db, class, name, key);
    }

    /// [`Context::notify`] for a key of database `db` (MOVE, COPY ... DB).
    pub fn notify_db(&self, db: usize, class: u32, name: &'static str, key: &[u8]) {
        self.shared.store.events().record(db, class, name, key);
    }

    /// A read command's lookup of `key` (Redis's `lookupKeyRead`): counted
    /// for INFO's keyspace_hits / keyspace_misses, and a miss publishes
    /// `keymiss` (class `m`).
    pub fn count_lookup(&self, key: &[u8], hit: bool) {
        self.count_stats(hit);
        if !hit {
            self.notify(crate::store::class::KEY_MISS, "keymiss", key);
        }
    }

    /// Counts a lookup as a hit or miss without any event (OBJECT's
    /// `LOOKUP_NONOTIFY`).
    pub fn count_stats(&self, hit: bool) {
        let stats = &self.shared.stats;
        Stats::bump(if hit {
            &stats.keyspace_hits
        } else {
            &stats.keyspace_misses
        });
    }
}

/// Runs one command and writes its reply into `cx.out`.
pub fn execute(cx: &mut Context<'_>, args: &Args) {
    cx.session.refresh_config(cx.shared);
    // Its user was deleted: the connection closes without running more.
    if cx.session.close_after_reply
        && cx
            .session
            .info
            .killed
            .load(std::sync::atomic::Ordering::Relaxed)
    {
        return;
    }
    // Only a script keeps the gate its predecessor in the buffer held.
    if cx.script_gate.as_ref().is_some_and(|gate| gate.held())
        && !scripting::RUNS_SCRIPTS
            .iter()
            .any(|name| name.as_bytes().eq_ignore_ascii_case(&args[0]))
    {
        cx.release_script_gate();
    }
    let reply_start = cx.out.buf.len();
    let result = dispatch(cx, args);
    if let Err(error) = result {
        cx.out.error(&error.0);
    }
    Stats::bump(&cx.shared.stats.commands_processed);
    // Streams this command deleted or replaced: their XREADGROUP clients
    // are answered (Redis signals such keys as ready).
    for (db, key) in cx.shared.store.take_gone_streams() {
        cx.key_ready(db, &key);
    }
    let queued = cx
        .session
        .multi
        .as_ref()
        .map_or(-1, |t| t.queued.len() as i64);
    cx.session
        .info
        .multi
        .store(queued, std::sync::atomic::Ordering::Relaxed);
    if !cx.session.ready_keys.is_empty() {
        let ready = std::mem::take(&mut cx.session.ready_keys);
        cx.shared.blocking.serve(&cx.shared.store, ready);
        crate::notify::publish_pending(cx.shared);
    }
    cx.gate = None;
    // With appendfsync always, the reply waits here for the fsync.
    crate::persistence::aof::finish(cx.shared, &mut cx.aof, cx.out);
    let pushed = std::mem::take(&mut cx.session.pushing);
    match cx.session.reply_mode {
        ReplyMode::On => {}
        ReplyMode::Off if !pushed => cx.out.buf.truncate(reply_start),
        ReplyMode::Off => {}
        ReplyMode::Skip => cx.session.reply_mode = ReplyMode::Skipping,
        ReplyMode::Skipping => {
            if !pushed {
                cx.out.buf.truncate(reply_start);
            }
            cx.session.reply_mode = ReplyMode::On;
        }
    }
    // Invalidations for the keys this command changed: after its reply.
    tracking::after_command(cx, args);
}

/// A command found in the table: the row to run and the names it goes by.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    pub command: &'static Command,
    /// The top-level name (`client` for CLIENT LIST).
    pub parent: &'static str,
    /// The subcommand's name, for containers.
    pub sub: Option<&'static str>,
}

impl Resolved {
    /// Redis's full name: `get`, or `client|list`.
    pub fn full_name(&self) -> std::borrow::Cow<'static, str> {
        match self.sub {
            Some(sub) => format!("{}|{sub}", self.parent).into(),
            None => self.parent.into(),
        }
    }
}

/// Commands that run at once inside MULTI instead of being queued.
const NOT_QUEUED: &[&str] = &["exec", "discard", "multi", "watch", "quit", "reset"];

fn dispatch(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let resolved = match resolve(cx, args) {
        Ok(resolved) => resolved,
        Err((command, error)) => {
            // A refused EXEC discards the transaction, saying why (as
            // Redis's execCommandAbort); any other refused command dooms it.
            let error = if args[0].eq_ignore_ascii_case(b"exec") {
                transactions::abort(cx, error)
            } else {
                if let Some(transaction) = cx.session.multi.as_mut() {
                    transaction.failed = true;
                }
                error
            };
            // Counted as rejected (when the command is known) and as an
            // error reply, as Redis's rejectCommand.
            let stats = &cx.shared.command_stats;
            if let Some(command) = command {
                stats.record_rejected(command);
            }
            stats.record_error(&error.0);
            return Err(error);
        }
    };
    // CLIENT PAUSE holds the command back (before MULTI queues it, as in
    // Redis's processCommand).
    if cx.shared.pause.engaged() || cx.session.multi.is_some() {
        cx.release_script_gate();
    }
    client::wait_while_paused(cx, resolved, args)?;
    if let Some(transaction) = cx.session.multi.as_mut() {
        if !NOT_QUEUED.contains(&resolved.parent) {
            transaction.queued.push((resolved, args.to_vec()));
            cx.out.simple("QUEUED");
            return Ok(());
        }
    }
    // Every command but EXEC and scripts runs on the shared side of the
    // gate; they take the exclusive side, so no one sees them half done.
    if resolved.parent != "exec" && !scripting::RUNS_SCRIPTS.contains(&resolved.parent) {
        cx.gate = shared_gate(cx.shared, resolved.command).inspect_err(|busy| {
            cx.shared.command_stats.record_rejected(resolved.command);
            cx.shared.command_stats.record_error(&busy.0);
        })?;
    }
    // A shutdown under way: wait to see whether the server stops (then no
    // reply) or goes on (then run as usual). SHUTDOWN inside EXEC runs on.
    if cx.shared.shutdown.closing() && !cx.session.in_exec {
        cx.gate = None;
        cx.release_script_gate();
        return match crate::shutdown::wait_for_outcome(cx.shared) {
            crate::shutdown::Arrival::Proceed => dispatch(cx, args),
            crate::shutdown::Arrival::Close => {
                cx.session.close_after_reply = true;
                Ok(())
            }
        };
    }
    run(cx, resolved, args)
}

/// The shared side of the EXEC gate. While a script holds the exclusive
/// side, a command waits for it, or gets -BUSY once the script is slow;
/// then a command allowed beside it (SCRIPT KILL) gets `None` and runs
/// without the gate.
fn shared_gate<'a>(
    shared: &'a Shared,
    command: &Command,
) -> Result<Option<RwLockReadGuard<'a, ()>>, Error> {
    match shared.exec_gate.try_read() {
        Ok(gate) => return Ok(Some(gate)),
        Err(TryLockError::Poisoned(poisoned)) => return Ok(Some(poisoned.into_inner())),
        Err(TryLockError::WouldBlock) => {}
    }
    #[cfg(feature = "scripting")]
    return crate::scripting::wait_for_gate(shared, command.flags & flags::ALLOW_BUSY != 0);
    #[cfg(not(feature = "scripting"))]
    {
        let _ = command;
        Ok(Some(
            shared
                .exec_gate
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ))
    }
}

/// Why [`find`] found no row for a command.
pub(crate) enum NotFound {
    UnknownCommand,
    /// The container's subcommand is unknown.
    UnknownSubcommand(&'static Command),
    /// The row found (or the container, lacking a subcommand) takes another
    /// number of arguments.
    WrongArity(Resolved),
}

/// The row `args` names, a container's subcommand's for a container, with
/// its arity checked: the one place a command name becomes a row (clients
/// and scripts word the failures differently).
pub(crate) fn find(args: &Args) -> Result<Resolved, NotFound> {
    let command = lookup(&args[0]).ok_or(NotFound::UnknownCommand)?;
    let mut resolved = Resolved {
        command,
        parent: command.name,
        sub: None,
    };
    // A container needs a subcommand, unless it also runs alone (COMMAND).
    if !command.subcommands.is_empty() && (args.len() > 1 || !command.arity_ok(1)) {
        let sub_name = args.get(1).ok_or(NotFound::WrongArity(resolved))?;
        let sub = command
            .subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(sub_name))
            .ok_or(NotFound::UnknownSubcommand(command))?;
        resolved.command = sub;
        resolved.sub = Some(sub.name);
    }
    if !resolved.command.arity_ok(args.len()) {
        return Err(NotFound::WrongArity(resolved));
    }
    Ok(resolved)
}

/// Finds the row for `args` and checks arity and authentication.
/// A refusal names the command's row when it was found (Redis counts it
/// in the command's `rejected_calls`).
fn resolve(
    cx: &mut Context<'_>,
    args: &Args,
) -> Result<Resolved, (Option<&'static Command>, Error)> {
    let resolved = find(args).map_err(|not_found| match not_found {
        NotFound::UnknownCommand => (None, errors::unknown_command(args)),
        NotFound::UnknownSubcommand(container) => {
            (None, errors::unknown_subcommand(container.name, &args[1]))
        }
        NotFound::WrongArity(resolved) => (
            Some(resolved.command),
            errors::wrong_arity(&resolved.full_name()),
        ),
    })?;
    let command = resolved.command;
    check(cx, resolved, args).map_err(|error| (Some(command), error))?;
    Ok(resolved)
}

/// The checks after the row is found: authentication, Pub/Sub context,
/// maxmemory, MISCONF, a busy script.
fn check(cx: &mut Context<'_>, resolved: Resolved, args: &Args) -> CmdResult {
    let command = resolved.command;
    if !cx.session.authenticated && command.flags & flags::NO_AUTH == 0 {
        return Err(errors::NOAUTH.into());
    }
    // SAVE, SHUTDOWN, SYNC and PSYNC are refused in MULTI (dooming it).
    if cx.session.multi.is_some() && command.flags & flags::NO_MULTI != 0 {
        return Err(errors::NOT_IN_MULTI.into());
    }
    // The user's permissions (one flag for a user allowed everything).
    if !cx.session.user.unrestricted {
        let context = if cx.session.multi.is_some() {
            crate::acl::Context::Multi
        } else {
            crate::acl::Context::TopLevel
        };
        acl::check(cx, &resolved.full_name(), args, context).map_err(|denied| match denied {
            crate::acl::Denied::Key => Error::from(errors::NOPERM_KEY),
            crate::acl::Denied::Channel => Error::from(errors::NOPERM_CHANNEL),
            _ => Error::new(format!(
                "NOPERM this user has no permissions to run the '{}' command",
                resolved.full_name()
            )),
        })?;
    }
    // Over maxmemory: evict, or refuse what would use more.
    let room = memory::check_oom(cx, resolved, args);
    tracking::before_command(cx);
    room?;
    // In RESP2 a subscribed client may only (un)subscribe, ping, quit or
    // reset; a monitor keeps off the keyspace.
    pubsub::check_context(cx, command, &resolved.full_name())?;
    // After a failed background save, writes (and PING, and an EXEC with
    // writes queued) are refused.
    let client_writes = command.flags & flags::WRITE != 0
        || (resolved.parent == "exec" && cx.session.multi.as_ref().is_some_and(|t| t.writes()));
    // A script whose shebang lets it write counts as a write command
    // (Redis's evalGetCommandFlags); looked up only when it would matter.
    let may_write = |cx: &Context<'_>| client_writes || script_may_write(cx, resolved, args);
    if crate::persistence::writes_refused(cx.shared) && (resolved.parent == "ping" || may_write(cx))
    {
        return Err(crate::persistence::MISCONF.into());
    }
    // `min-replicas-to-write`: not enough replicas acknowledged lately.
    if !crate::replication::enough_good_replicas(cx.shared, cx.session.replication.min_replicas)
        && may_write(cx)
    {
        return Err(crate::replication::NOREPLICAS.into());
    }
    // A read-only replica takes writes from its master only.
    if !cx.session.replication.is_master
        && crate::replication::replica::read_only(cx.shared)
        && may_write(cx)
    {
        return Err(crate::replication::replica::READONLY.into());
    }
    // `replica-serve-stale-data no`: with the master's link down, only
    // the commands flagged `stale` run.
    if command.flags & flags::STALE == 0 || resolved.parent == "exec" {
        crate::replication::replica::check_stale(cx, command, resolved)?;
    }
    // While a script is slow, only the commands allowed beside it run.
    #[cfg(feature = "scripting")]
    if command.flags & flags::ALLOW_BUSY == 0 {
        if let Some(busy) = crate::scripting::busy(cx.shared) {
            return Err(busy);
        }
    }
    Ok(())
}

/// True for EVAL, EVALSHA or FCALL of a script with a shebang (or a
/// function) not declaring `no-writes`.
fn script_may_write(cx: &Context<'_>, resolved: Resolved, args: &Args) -> bool {
    #[cfg(feature = "scripting")]
    return crate::scripting::may_write(cx, resolved, args);
    #[cfg(not(feature = "scripting"))]
    {
        let _ = (cx, resolved, args);
        false
    }
}

/// The permission check of a call made by a script (ACL LOG context `lua`).
pub fn acl_check(
    cx: &Context<'_>,
    resolved: &Resolved,
    args: &Args,
) -> Result<(), crate::acl::Denied> {
    acl::check(cx, &resolved.full_name(), args, crate::acl::Context::Lua)
}

/// Runs a resolved command's handler. A panic in it costs the client one
/// error reply: whatever the handler half wrote is dropped, and the locks
/// it held are released (their poison is ignored). MONITOR clients see the
/// command once it has run.
pub fn run(cx: &mut Context<'_>, resolved: Resolved, args: &Args) -> CmdResult {
    let monitored = pubsub::monitor_before(cx, resolved.command, args);
    let reply_start = cx.out.buf.len();
    crate::persistence::aof::before(cx, resolved, args);
    let blocked_before = cx.session.blocked_time;
    let errors_before = cx.session.errors_counted;
    let started = std::time::Instant::now();
    // One clock read serves the client's last activity and the timing.
    cx.session
        .info
        .touch(resolved.parent, resolved.sub, started);
    let result = match catch_unwind(AssertUnwindSafe(|| (resolved.command.handler)(cx, args))) {
        Ok(result) => result,
        Err(_) => {
            crate::log::log(
                cx.shared,
                crate::log::WARNING,
                &format!(
                    "Command '{}' panicked; the client gets an error and the server goes on",
                    resolved.full_name()
                ),
            );
            cx.out.buf.truncate(reply_start);
            Err(Error::new(format!(
                "ERR internal error while running '{}'",
                resolved.full_name()
            )))
        }
    };
    let blocked = cx.session.blocked_time.saturating_sub(blocked_before);
    let elapsed = started.elapsed().saturating_sub(blocked);
    crate::persistence::aof::after(cx, resolved, reply_start);
    tracking::remember_keys(cx, resolved, args);
    pubsub::monitor_after(cx, monitored);
    // Its keyspace events (inside EXEC too, command by command).
    crate::notify::publish_pending(cx.shared);
    accounting::record_call(cx, resolved, args, elapsed, &result, errors_before);
    result
}

/// The error a blocked client was served (`-NOGROUP ...\r\n`), when its
/// reply is one.
fn served_error(reply: &[u8]) -> Option<Error> {
    let message = reply.strip_prefix(b"-")?.strip_suffix(b"\r\n")?;
    Some(Error::new(String::from_utf8_lossy(message).into_owned()))
}

/// Reads an integer argument (Redis's `getLongLongFromObjectOrReply`).
pub fn int_arg(arg: &[u8]) -> Result<i64, Error> {
    crate::util::parse_i64(arg).ok_or_else(|| errors::NOT_INTEGER.into())
}

/// Reads a float argument (Redis's `getLongDoubleFromObjectOrReply`).
pub fn float_arg(arg: &[u8]) -> Result<f64, Error> {
    crate::util::parse_f64(arg).ok_or_else(|| errors::NOT_FLOAT.into())
}

/// Reads a blocking timeout in seconds (a double; 0 waits for ever), as
/// Redis's `getTimeoutFromObjectOrReply`.
pub fn timeout_arg(arg: &[u8]) -> Result<Option<std::time::Duration>, Error> {
    // Redis reads a long double: what overflows a double is finite there
    // (and overflows the millisecond count below), what underflows is a
    // tiny number that still rounds up to 1 ms.
    let seconds = match crate::util::strtod(arg) {
        _ if arg.first().map_or(true, crate::util::is_c_space) => None,
        Some((value, _)) if value.is_nan() => None,
        Some((value, true)) if value == 0.0 => Some(f64::MIN_POSITIVE.copysign(value)),
        Some((value, _)) => Some(value),
        None => None,
    };
    let seconds = seconds.ok_or(Error::from(errors::TIMEOUT_NOT_FLOAT))?;
    let millis = (seconds * 1000.0).ceil();
    // Redis 7.0 converts to a 64-bit count of milliseconds without a range
    // check, so an overflowing timeout (1e300, inf) comes out negative.
    if millis.is_nan() || millis < 0.0 || millis >= i64::MAX as f64 {
        return Err(errors::TIMEOUT_NEGATIVE.into());
    }
    Ok((millis > 0.0).then(|| std::time::Duration::from_millis(millis as u64)))
}

/// True when `arg` equals `word`, ignoring ASCII case (option names).
#[inline]
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}
