//! MEMORY, the OOM step of `execute`, and what INFO memory reports.
//!
//! respd has no allocator statistics (no hook: the crate forbids unsafe);
//! the data's cost is the running count the databases keep (see
//! `store::memory`), plus an allowance for the server itself and each
//! connection's buffers. RSS comes from /proc/self/statm.

use super::errors;
use super::flags::*;
use super::server::help_reply;
use super::{Args, CmdResult, Command, Context, Error, KeySpec, Resolved, NO_KEYS};
use crate::shared::Shared;
use crate::store::evict::Outcome;
use crate::store::memory;

/// Redis's reply when a command would use memory over `maxmemory`.
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// What an idle respd takes before any data (tables, the command table,
/// the worker pool's stacks in use), as Redis's `used_memory_startup`.
pub const STARTUP_BYTES: usize = 900 * 1024;
/// One connection's buffers: the 8 KB reader, the reply buffer and the
/// parsed arguments.
pub const CLIENT_BYTES: usize = 20 * 1024;

/// MEMORY USAGE's key: the argument after the subcommand.
const SECOND_ARG: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[Command] = &[Command::container("memory", "server", SUBCOMMANDS)];

static SUBCOMMANDS: &[Command] = &[
    Command::new("usage", -3, READONLY, SECOND_ARG, "server", usage),
    Command::new("stats", 2, 0, NO_KEYS, "server", stats),
    Command::new("doctor", 2, 0, NO_KEYS, "server", doctor),
    Command::new("malloc-stats", 2, 0, NO_KEYS, "server", malloc_stats),
    Command::new("purge", 2, 0, NO_KEYS, "server", purge),
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "server", help),
];

/// Bytes outside the data: the server's own and the connections'.
pub fn overhead(shared: &Shared) -> usize {
    STARTUP_BYTES + shared.clients.len() * CLIENT_BYTES
}

/// INFO's `used_memory`: the data plus [`overhead`]. Also moves the peak.
pub fn used_memory(shared: &Shared) -> usize {
    let used = shared.store.used_memory() + overhead(shared);
    shared.store.governor.note_used(used);
    used
}

/// The process's resident set size, from /proc/self/statm.
pub fn resident_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Commands that pass the OOM step inside MULTI (Redis's exceptions).
const NOT_REFUSED_IN_MULTI: &[&str] = &["exec", "discard", "quit", "reset"];

/// The OOM step (Redis's `processCommand`): with `maxmemory` set, evict
/// until under it; when that fails, refuse a command that may grow memory
/// (`denyoom`, an EXEC with one queued, anything queued into MULTI).
pub fn check_oom(cx: &mut Context<'_>, resolved: Resolved, args: &Args) -> Result<(), Error> {
    let governor = &cx.shared.store.governor;
    if governor.maxmemory() == 0 {
        cx.session.oom_before_command = false;
        return Ok(());
    }
    let outcome = governor.enforce(&cx.shared.store, overhead(cx.shared));
    let out_of_memory = matches!(outcome, Outcome::Failed(_));
    cx.session.oom_before_command = out_of_memory;
    if !out_of_memory {
        return Ok(());
    }
    let denyoom = resolved.command.flags & DENYOOM != 0
        || (resolved.parent == "exec"
            && cx
                .session
                .multi
                .as_ref()
                .is_some_and(|t| t.queued.iter().any(|(r, _)| r.command.flags & DENYOOM != 0)))
        || scripted_denyoom(cx, resolved, args);
    let queuing = cx.session.multi.is_some() && !NOT_REFUSED_IN_MULTI.contains(&resolved.parent);
    if denyoom || queuing {
        return Err(OOM.into());
    }
    Ok(())
}

/// A script or function whose flags say it may write and may not run out
/// of memory is `denyoom` as a whole (Redis's `scriptFlagsToCmdFlags`).
fn scripted_denyoom(cx: &Context<'_>, resolved: Resolved, args: &Args) -> bool {
    #[cfg(feature = "scripting")]
    {
        crate::scripting::denies_oom(cx, resolved, args)
    }
    #[cfg(not(feature = "scripting"))]
    {
        let _ = (cx, resolved, args);
        false
    }
}

/// MEMORY USAGE key [SAMPLES count]
fn usage(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut samples = 5usize;
    let mut at = 3;
    while at < args.len() {
        if args[at].eq_ignore_ascii_case(b"samples") && at + 1 < args.len() {
            let count = super::int_arg(&args[at + 1])?;
            if count < 0 {
                return Err(errors::SYNTAX.into());
            }
            // 0 samples everything.
            samples = usize::try_from(count).unwrap_or(usize::MAX);
            at += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let db = cx.db();
    let Some(entry) = db.keys().get(&args[2][..]) else {
        drop(db);
        cx.out.null();
        return Ok(());
    };
    // A table slot: the key, the entry, its control byte, at the load the
    // tables keep on average.
    let slot = std::mem::size_of::<(crate::store::Key, crate::store::Entry)>() * 3 / 2;
    let value = match samples {
        0 => memory::value(&entry.value, 0),
        n => memory::value(&entry.value, n.max(1)),
    };
    let cost = slot + memory::bytes(args[2].len()) + value;
    drop(db);
    cx.out.int(i64::try_from(cost).unwrap_or(i64::MAX));
    Ok(())
}

/// MEMORY STATS
fn stats(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let shared = cx.shared;
    let used = used_memory(shared);
    let peak = shared.store.governor.note_used(used);
    let rss = resident_bytes();
    let mut dbs = Vec::new();
    let mut keys = 0usize;
    let mut tables = 0usize;
    for index in 0..shared.store.len() {
        let db = shared.store.read(index);
        if db.is_empty() {
            continue;
        }
        keys += db.len();
        let main = db.keys().table_bytes();
        let expires = db.expires_overhead();
        tables += main + expires;
        dbs.push((index, main, expires));
    }
    let clients = shared.clients.len() * CLIENT_BYTES;
    let overhead_total = STARTUP_BYTES + clients + tables;
    let dataset = used.saturating_sub(overhead_total);
    let net = used.saturating_sub(STARTUP_BYTES).max(1);
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let out = &mut *cx.out;
    out.map(27 + dbs.len());
    let int = |out: &mut crate::resp::Reply, name: &str, value: usize| {
        out.bulk(name.as_bytes());
        out.int(i64::try_from(value).unwrap_or(i64::MAX));
    };
    let float = |out: &mut crate::resp::Reply, name: &str, value: f64| {
        out.bulk(name.as_bytes());
        out.double(value);
    };
    int(out, "peak.allocated", peak);
    int(out, "total.allocated", used);
    int(out, "startup.allocated", STARTUP_BYTES);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", clients);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", 0);
    int(out, "functions.caches", 0);
    for (index, main, expires) in dbs {
        out.bulk(format!("db.{index}").as_bytes());
        out.map(3);
        int(out, "overhead.hashtable.main", main);
        int(out, "overhead.hashtable.expires", expires);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", overhead_total);
    int(out, "keys.count", keys);
    int(
        out,
        "keys.bytes-per-key",
        net.checked_div(keys).unwrap_or(0),
    );
    int(out, "dataset.bytes", dataset);
    float(out, "dataset.percentage", 100.0 * ratio(dataset, net));
    float(out, "peak.percentage", 100.0 * ratio(used, peak));
    int(out, "allocator.allocated", used);
    int(out, "allocator.active", used);
    int(out, "allocator.resident", rss);
    float(out, "allocator-fragmentation.ratio", 1.0);
    int(out, "allocator-fragmentation.bytes", 0);
    float(out, "allocator-rss.ratio", ratio(rss, used));
    int(out, "allocator-rss.bytes", rss.saturating_sub(used));
    float(out, "rss-overhead.ratio", 1.0);
    int(out, "rss-overhead.bytes", 0);
    float(out, "fragmentation", ratio(rss, used));
    int(out, "fragmentation.bytes", rss.saturating_sub(used));
    Ok(())
}

/// MEMORY DOCTOR
fn doctor(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let used = used_memory(cx.shared);
    let peak = cx.shared.store.governor.note_used(used);
    let text = if used < 5 * 1024 * 1024 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_string()
    } else if peak > used / 2 * 3 {
        "Sam, I detected a few issues in this Redis instance memory implants:\n\n * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\nI'm here to keep you safe, Sam. I want to help you.\n".to_string()
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_string()
    };
    cx.out.verbatim(text.as_bytes());
    Ok(())
}

/// MEMORY MALLOC-STATS
fn malloc_stats(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    // What Redis answers when its allocator is libc's.
    cx.out
        .bulk(b"Stats not supported for the current allocator");
    Ok(())
}

/// MEMORY PURGE
fn purge(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    cx.out.ok();
    Ok(())
}

/// MEMORY HELP
fn help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    help_reply(
        cx.out,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}
