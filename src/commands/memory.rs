//! MEMORY USAGE: an estimate of the bytes a key and its value hold.
//!
//! respd does not count its allocations (no allocator hook), so the figure
//! is computed from the value's shape: fixed per-key and per-element
//! overheads of the order of Redis's (64-bit, jemalloc), plus the bytes of
//! the elements. As in Redis, a collection's element size is averaged
//! over `SAMPLES` elements (5 by default, 0 for all) and scaled to its
//! length, so the cost stays small for big keys. The other MEMORY
//! subcommands (DOCTOR, STATS, MALLOC-STATS, PURGE) wait for memory
//! accounting.

use super::{errors, int_arg, is, Args, CmdResult, Command, Context, KeySpec};
use crate::store::Value;
use crate::util::now_ms;

use super::flags::{LOADING, READONLY, STALE};

/// The key is the third argument (MEMORY USAGE key).
const KEY_AFTER_SUB: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[Command] = &[Command::container("memory", "server", SUBCOMMANDS)];

static SUBCOMMANDS: &[Command] = &[
    Command::new("usage", -3, READONLY, KEY_AFTER_SUB, "server", usage),
    Command::new("help", 2, LOADING | STALE, super::NO_KEYS, "server", help),
];

/// Redis's default number of sampled elements.
const DEFAULT_SAMPLES: usize = 5;
/// The key's object header, dictionary entry and string headers.
const KEY_OVERHEAD: usize = 48;
/// One element's node or listpack entry header, roughly.
const ELEMENT_OVERHEAD: usize = 16;

// MEMORY USAGE key [SAMPLES count]
fn usage(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut samples = DEFAULT_SAMPLES;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "samples") && i + 1 < args.len() {
            samples = match int_arg(&args[i + 1])? {
                n if n < 0 => return Err(errors::SYNTAX.into()),
                0 => usize::MAX,
                n => n as usize,
            };
            i += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let key = &args[2];
    let db = cx.db();
    let bytes = db
        .get(key, now_ms())
        .map(|value| KEY_OVERHEAD + key.len() + value_bytes(value, samples));
    drop(db);
    match bytes {
        Some(bytes) => cx.out.int(bytes as i64),
        None => cx.out.null(),
    }
    Ok(())
}

/// The estimated bytes of a value, sampling `samples` elements.
fn value_bytes(value: &Value, samples: usize) -> usize {
    match value {
        Value::Str(s) => s.len(),
        Value::List(list) => scaled(list.iter().map(Vec::len), list.len(), samples),
        Value::Hash(hash) => scaled(
            hash.iter().map(|(field, value)| field.len() + value.len()),
            hash.len(),
            samples,
        ),
        Value::Set(set) => scaled(set.iter().map(<[u8]>::len), set.len(), samples),
        // A member and its 8-byte score.
        Value::ZSet(zset) => scaled(
            zset.iter().map(|(member, _)| member.len() + 8),
            zset.len(),
            samples,
        ),
        Value::Stream(stream) => crate::persistence::dump::serialize(value)
            .len()
            .max(stream.len()),
    }
}

/// `len` elements whose sizes are estimated from the first `samples` of
/// `sizes`, each with its overhead.
fn scaled(sizes: impl Iterator<Item = usize>, len: usize, samples: usize) -> usize {
    let (mut seen, mut total) = (0usize, 0usize);
    for size in sizes.take(samples) {
        seen += 1;
        total += size + ELEMENT_OVERHEAD;
    }
    if seen == 0 {
        return 0;
    }
    total / seen * len
}

// MEMORY HELP
fn help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    super::server::help_reply(
        cx.out,
        "MEMORY",
        &[
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}
