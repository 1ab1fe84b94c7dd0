//! OBJECT: what Redis would say about a key's internals. ENCODING names
//! the representation Redis 7.0 would give the value under the same
//! configuration; IDLETIME and FREQ read the key's access clock
//! (`store::access`), which OBJECT itself does not touch.

use super::flags::*;
use super::server::help_reply;
use super::{Args, CmdResult, Command, Context, KeySpec, NO_KEYS};
use crate::config::Config;
use crate::store::{access, Entry, Value};
use crate::util::{now_ms, parse_i64};

const IDLE_NOT_TRACKED: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
const FREQ_NOT_TRACKED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// Redis shares one object for each of the integers 0..9999: its refcount
/// reads as `INT_MAX` (with `maxmemory` 0, respd's only setting).
const SHARED_INTEGERS: i64 = 10_000;
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// The longest string Redis keeps in one allocation with its header.
const EMBSTR_MAX: usize = 44;

/// OBJECT's key: the argument after the subcommand.
const SECOND_ARG: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[Command] = &[Command::container("object", "generic", SUBCOMMANDS)];

static SUBCOMMANDS: &[Command] = &[
    Command::new("encoding", 3, READONLY, SECOND_ARG, "generic", encoding),
    Command::new("refcount", 3, READONLY, SECOND_ARG, "generic", refcount),
    Command::new("idletime", 3, READONLY, SECOND_ARG, "generic", idletime),
    Command::new("freq", 3, READONLY, SECOND_ARG, "generic", freq),
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "generic", help),
];

/// Runs `answer` on the key's entry, or replies null for a missing key.
/// OBJECT's lookup counts as a hit or miss, but is no access and fires
/// no `keymiss` (Redis's `LOOKUP_NOTOUCH | LOOKUP_NONOTIFY`).
fn with_entry(
    cx: &mut Context<'_>,
    key: &[u8],
    answer: impl FnOnce(&Entry, &Context<'_>) -> Result<i64, &'static str>,
) -> CmdResult {
    let db = cx.db();
    let Some(entry) = db.peek_entry(key, now_ms()) else {
        drop(db);
        cx.count_stats(false);
        cx.out.null();
        return Ok(());
    };
    let result = answer(entry, cx);
    drop(db);
    cx.count_stats(true);
    cx.out.int(result?);
    Ok(())
}

/// The encoding Redis 7.0 would give the entry's value.
fn encoding_of(entry: &Entry, config: &Config) -> &'static str {
    let outgrown = entry.clock.has(access::flags::OUTGREW_COMPACT);
    match &entry.value {
        Value::Str(_) if entry.clock.has(access::flags::RAW_STRING) => "raw",
        Value::Hash(_) | Value::Set(_) if outgrown => "hashtable",
        Value::ZSet(_) if outgrown => "skiplist",
        value => encoding_name(value, config),
    }
}

/// The refcount Redis would show: shared small integers have `INT_MAX`.
fn refcount_of(entry: &Entry) -> i64 {
    let raw = entry.clock.has(access::flags::RAW_STRING);
    match &entry.value {
        Value::Str(bytes) if !raw && shared_integer(bytes) => SHARED_REFCOUNT,
        _ => 1,
    }
}

// OBJECT ENCODING key
fn encoding(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let name = {
        let db = cx.db();
        db.peek_entry(&args[2], now_ms())
            .map(|entry| encoding_of(entry, &cx.shared.config()))
    };
    cx.count_stats(name.is_some());
    match name {
        Some(name) => cx.out.bulk(name.as_bytes()),
        None => cx.out.null(),
    }
    Ok(())
}

// OBJECT REFCOUNT key
fn refcount(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    with_entry(cx, &args[2], |entry, _| Ok(refcount_of(entry)))
}

// OBJECT IDLETIME key
fn idletime(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    with_entry(cx, &args[2], |entry, cx| {
        if cx.shared.store.access().is_lfu() {
            return Err(IDLE_NOT_TRACKED);
        }
        Ok((access::idle_ms(entry.clock.get(), now_ms()) / 1000) as i64)
    })
}

// OBJECT FREQ key
fn freq(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    with_entry(cx, &args[2], |entry, cx| {
        let policy = cx.shared.store.access();
        if !policy.is_lfu() {
            return Err(FREQ_NOT_TRACKED);
        }
        Ok(i64::from(policy.frequency(entry.clock.get(), now_ms())))
    })
}

// DEBUG OBJECT key
/// One line about the value, as Redis's: where it lives in memory, its
/// refcount and encoding, the bytes it takes serialized (as respd writes
/// it in an RDB), its access clock and idle seconds.
pub(super) fn debug_object(cx: &mut Context<'_>, key: &[u8]) -> CmdResult {
    let now = now_ms();
    let line = {
        let db = cx.db();
        let entry = db.peek_entry(key, now).ok_or("ERR no such key")?;
        // The value's own heap block where it has one (a string's bytes),
        // else its slot in the keyspace: the same while it changes in place.
        let address = match &entry.value {
            Value::Str(bytes) => bytes.as_ptr() as usize,
            value => value as *const Value as usize,
        };
        // DUMP's payload less its type byte, RDB version and checksum.
        let serialized = crate::persistence::dump::serialize(&entry.value).len() - 11;
        let clock = entry.clock.get();
        format!(
            "Value at:0x{address:x} refcount:{} encoding:{} serializedlength:{serialized} lru:{clock} lru_seconds_idle:{}",
            refcount_of(entry),
            encoding_of(entry, &cx.shared.config()),
            access::idle_ms(clock, now) / 1000
        )
    };
    cx.out.simple(&line);
    Ok(())
}

// OBJECT HELP
fn help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    help_reply(
        cx.out,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}

/// True for the strings Redis stores as a shared integer object.
fn shared_integer(bytes: &[u8]) -> bool {
    string_integer(bytes).is_some_and(|n| (0..SHARED_INTEGERS).contains(&n))
}

/// The integer a string holds when Redis would encode it as one: at most
/// 20 characters in canonical form.
fn string_integer(bytes: &[u8]) -> Option<i64> {
    if bytes.len() > 20 {
        return None;
    }
    parse_i64(bytes)
}

/// The encoding Redis 7.0 gives `value` under `config`'s thresholds.
///
/// Where respd has a compact form of its own (hashes, sets of integers)
/// a value in the table form is a `hashtable`, as in Redis, where the
/// conversion is one-way too. Strings are named by their contents (Redis
/// also leaves a string that APPEND or SETRANGE grew `raw`; the value alone does not
/// tell those apart: the caller checks the key's flag), sorted sets by
/// their size and longest member.
pub fn encoding_name(value: &Value, config: &Config) -> &'static str {
    let limit = |name: &str| {
        config
            .get(name)
            .and_then(|text| text.parse::<usize>().ok())
            .unwrap_or(0)
    };
    match value {
        Value::Str(bytes) => {
            if string_integer(bytes).is_some() {
                "int"
            } else if bytes.len() <= EMBSTR_MAX {
                "embstr"
            } else {
                "raw"
            }
        }
        // Redis 7.0 keeps every list in a quicklist (of listpacks).
        Value::List(_) => "quicklist",
        Value::Hash(hash) => {
            let fits = || {
                let max_len = limit("hash-max-listpack-value");
                hash.len() <= limit("hash-max-listpack-entries")
                    && hash
                        .iter()
                        .all(|(field, value)| field.len() <= max_len && value.len() <= max_len)
            };
            if hash.encoding() == "listpack" && fits() {
                "listpack"
            } else {
                "hashtable"
            }
        }
        Value::Set(set) => {
            if set.encoding() == "intset" && set.len() <= limit("set-max-intset-entries") {
                "intset"
            } else {
                "hashtable"
            }
        }
        Value::ZSet(zset) => {
            let max_len = limit("zset-max-listpack-value");
            if zset.len() <= limit("zset-max-listpack-entries")
                && zset.iter().all(|(member, _)| member.len() <= max_len)
            {
                "listpack"
            } else {
                "skiplist"
            }
        }
        Value::Stream(_) => "stream",
    }
}
