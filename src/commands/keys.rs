//! Keyspace commands: DEL, EXISTS, EXPIRE, SCAN and the rest of the family.

use super::errors::{self, Error};
use super::flags::*;
use super::{
    int_arg, is, scan, Args, CmdResult, Command, Context, KeySpec, ALL_KEYS, NO_KEYS, ONE_KEY,
};
use crate::notify::class::GENERIC;
use crate::store::{glob_match, Db, Value};
use crate::util::now_ms;

const BOTH_CONDITIONS: &str = "ERR NX and XX, GT or LT options at the same time are not compatible";
const GT_AND_LT: &str = "ERR GT and LT options at the same time are not compatible";
const NOT_INT32: &str = "ERR value is out of range, value must between -2147483648 and 2147483647";

/// RENAME, COPY: source and destination.
const TWO_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[Command] = &[
    Command::new("del", -2, WRITE, ALL_KEYS, "generic", del),
    Command::new("unlink", -2, WRITE | FAST, ALL_KEYS, "generic", del),
    Command::new("exists", -2, READONLY | FAST, ALL_KEYS, "generic", exists),
    Command::new("touch", -2, READONLY | FAST, ALL_KEYS, "generic", touch),
    Command::new("type", 2, READONLY | FAST, ONE_KEY, "generic", type_),
    Command::new("keys", 2, READONLY, NO_KEYS, "generic", keys),
    Command::new("scan", -2, READONLY, NO_KEYS, "generic", scan),
    Command::new("randomkey", 1, READONLY, NO_KEYS, "generic", randomkey),
    Command::new("rename", 3, WRITE, TWO_KEYS, "generic", rename),
    Command::new("renamenx", 3, WRITE | FAST, TWO_KEYS, "generic", renamenx),
    Command::new("copy", -3, WRITE | DENYOOM, TWO_KEYS, "generic", copy),
    Command::new("move", 3, WRITE | FAST, ONE_KEY, "generic", move_),
    Command::new("expire", -3, WRITE | FAST, ONE_KEY, "generic", expire),
    Command::new("pexpire", -3, WRITE | FAST, ONE_KEY, "generic", pexpire),
    Command::new("expireat", -3, WRITE | FAST, ONE_KEY, "generic", expireat),
    Command::new("pexpireat", -3, WRITE | FAST, ONE_KEY, "generic", pexpireat),
    Command::new("ttl", 2, READONLY | FAST, ONE_KEY, "generic", ttl),
    Command::new("pttl", 2, READONLY | FAST, ONE_KEY, "generic", pttl),
    Command::new(
        "expiretime",
        2,
        READONLY | FAST,
        ONE_KEY,
        "generic",
        expiretime,
    ),
    Command::new(
        "pexpiretime",
        2,
        READONLY | FAST,
        ONE_KEY,
        "generic",
        pexpiretime,
    ),
    Command::new("persist", 2, WRITE | FAST, ONE_KEY, "generic", persist),
    Command::new("flushdb", -1, WRITE, NO_KEYS, "server", flushdb),
    Command::new("flushall", -1, WRITE, NO_KEYS, "server", flushall),
];

// DEL key [key ...]
// UNLINK key [key ...]
fn del(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    let mut removed = 0;
    for key in &args[1..] {
        if db.remove(key, now).is_some() {
            db.notify(GENERIC, "del", key);
            removed += 1;
        }
    }
    drop(db);
    cx.out.int(removed as i64);
    Ok(())
}

/// EXISTS and TOUCH: how many of the keys (repeats counted) exist. Only
/// TOUCH counts as an access.
fn count_existing(cx: &mut Context<'_>, keys: &[Vec<u8>], access: bool) -> CmdResult {
    let now = now_ms();
    let db = cx.db();
    let mut found = 0;
    for key in keys {
        let hit = if access {
            db.get(key, now).is_some()
        } else {
            db.contains(key, now)
        };
        cx.count_lookup(key, hit);
        found += i64::from(hit);
    }
    drop(db);
    cx.out.int(found);
    Ok(())
}

// EXISTS key [key ...]
fn exists(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    count_existing(cx, &args[1..], false)
}

// TOUCH key [key ...]
fn touch(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    count_existing(cx, &args[1..], true)
}

// TYPE key
fn type_(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let value = db.peek(&args[1], now_ms());
    cx.count_lookup(&args[1], value.is_some());
    cx.out.simple(value.map_or("none", Value::type_name));
    Ok(())
}

// KEYS pattern
fn keys(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let db = cx.db();
    let pattern = &args[1];
    let every = pattern.as_slice() == b"*";
    let found: Vec<&[u8]> = db
        .keys()
        .keys()
        .filter(|key| (every || glob_match(pattern, key, false)) && db.is_live(key, now))
        .map(|key| &key[..])
        .collect();
    cx.out.bulks(found.into_iter());
    Ok(())
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
fn scan(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let cursor = scan::cursor(&args[1])?;
    let scan::Options {
        pattern,
        count,
        type_name,
    } = scan::options(&args[2..], true)?;
    let now = now_ms();
    let db = cx.db();
    let mut found: Vec<&[u8]> = Vec::new();
    let next = db.keys().scan(cursor, count, |key, entry| {
        let wanted = pattern.map_or(true, |p| glob_match(p, key, false))
            && type_name.map_or(true, |t| entry.value.type_name().as_bytes() == t)
            && db.is_live(key, now);
        if wanted {
            found.push(key);
        }
    });
    cx.out.array(2);
    cx.out.bulk(next.to_string().as_bytes());
    cx.out.bulks(found.into_iter());
    Ok(())
}

// RANDOMKEY
fn randomkey(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let seed = crate::util::Rng::new().next_u64();
    let db = cx.db();
    match db.random_key(now_ms(), seed) {
        Some(key) => cx.out.bulk(key),
        None => cx.out.null(),
    }
    Ok(())
}

/// RENAME and RENAMENX: moves the value and its expiry to the new name.
fn rename_key(cx: &mut Context<'_>, args: &Args, only_new: bool) -> CmdResult {
    let now = now_ms();
    let (from, to) = (&args[1], &args[2]);
    let mut db = cx.db_mut();
    if !db.contains(from, now) {
        return Err(errors::NO_SUCH_KEY.into());
    }
    let renamed = from != to && !(only_new && db.contains(to, now));
    if renamed {
        if let Some((entry, expire)) = db.take_entry(from, now) {
            // The old value under the new name goes first (Redis then
            // adds the key anew: a `new` event). The value keeps its
            // access clock.
            db.remove(to, now);
            db.put_entry(to.as_slice().into(), entry, expire);
            db.notify(GENERIC, "rename_from", from);
            db.notify(GENERIC, "rename_to", to);
        }
    }
    drop(db);
    if renamed {
        cx.key_ready(cx.session.db, to);
    }
    if only_new {
        cx.out.int(i64::from(renamed));
    } else {
        cx.out.ok();
    }
    Ok(())
}

// RENAME key newkey
fn rename(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    rename_key(cx, args, false)
}

// RENAMENX key newkey
fn renamenx(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    rename_key(cx, args, true)
}

/// A database index argument (COPY DB, MOVE): an int, and a database that exists.
fn db_index(cx: &Context<'_>, arg: &[u8]) -> Result<usize, Error> {
    let index = int_arg(arg)?;
    if i32::try_from(index).is_err() {
        return Err(NOT_INT32.into());
    }
    usize::try_from(index)
        .ok()
        .filter(|&i| i < cx.shared.store.len())
        .ok_or(Error::from(errors::DB_OUT_OF_RANGE))
}

/// Runs `f` with the selected database and, when `other` differs from it,
/// that database too (both locked in index order).
fn with_two_dbs<R>(
    cx: &Context<'_>,
    other: usize,
    f: impl FnOnce(&mut Db, Option<&mut Db>) -> R,
) -> R {
    let selected = cx.session.db;
    if other == selected {
        f(&mut cx.shared.store.write(selected), None)
    } else {
        let (mut a, mut b) = cx.shared.store.write_pair(selected, other);
        f(&mut a, Some(&mut b))
    }
}

// COPY source destination [DB destination-db] [REPLACE]
fn copy(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut target = cx.session.db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "replace") {
            replace = true;
        } else if is(&args[i], "db") && i + 1 < args.len() {
            target = db_index(cx, &args[i + 1])?;
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    let (from, to) = (&args[1], &args[2]);
    if target == cx.session.db && from == to {
        return Err(errors::SAME_OBJECT.into());
    }
    let now = now_ms();
    let copied = with_two_dbs(cx, target, |src, other| {
        let found = src.get(from, now).is_some();
        cx.count_lookup(from, found);
        let Some(value) = src.get(from, now).cloned() else {
            return false;
        };
        let expire = src.expire_at(from);
        // The copy is a new object with the same encoding (raw stays raw).
        let shape = src.shape_flags(from);
        let dst = other.unwrap_or(src);
        if dst.contains(to, now) && !replace {
            return false;
        }
        dst.remove(to, now);
        dst.put(to.as_slice().into(), value, expire);
        dst.set_shape_flags(to, shape);
        dst.notify(GENERIC, "copy_to", to);
        true
    });
    if copied {
        cx.key_ready(target, to);
    }
    cx.out.int(i64::from(copied));
    Ok(())
}

// MOVE key db
fn move_(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let target = db_index(cx, &args[2])?;
    if target == cx.session.db {
        return Err(errors::SAME_OBJECT.into());
    }
    let key = &args[1];
    let now = now_ms();
    let moved = with_two_dbs(cx, target, |src, dst| {
        let Some(dst) = dst else { return false };
        if !src.contains(key, now) || dst.contains(key, now) {
            return false;
        }
        match src.take_entry(key, now) {
            Some((entry, expire)) => {
                dst.put_entry(key.as_slice().into(), entry, expire);
                src.notify(GENERIC, "move_from", key);
                dst.notify(GENERIC, "move_to", key);
                true
            }
            None => false,
        }
    });
    if moved {
        cx.key_ready(target, key);
    }
    cx.out.int(i64::from(moved));
    Ok(())
}

/// EXPIRE and friends: the unit of the time argument and what it counts from.
#[derive(Clone, Copy)]
struct ExpireCommand {
    name: &'static str,
    seconds: bool,
    relative: bool,
}

/// Redis's `expireGenericCommand`, options NX, XX, GT and LT included.
fn expire_generic(cx: &mut Context<'_>, args: &Args, command: ExpireCommand) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for option in &args[3..] {
        if is(option, "nx") {
            nx = true;
        } else if is(option, "xx") {
            xx = true;
        } else if is(option, "gt") {
            gt = true;
        } else if is(option, "lt") {
            lt = true;
        } else {
            return Err(Error::new(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(option)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(BOTH_CONDITIONS.into());
    }
    if gt && lt {
        return Err(GT_AND_LT.into());
    }
    let mut when = int_arg(&args[2])?;
    let invalid = || errors::invalid_expire(command.name);
    if command.seconds {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    let now = now_ms();
    if command.relative {
        when = when.checked_add(now as i64).ok_or_else(invalid)?;
    }
    let key = &args[1];
    let mut db = cx.db_mut();
    if !db.contains(key, now) {
        drop(db);
        cx.out.int(0);
        return Ok(());
    }
    // A key without an expiry counts as expiring never (infinitely late).
    let current = db.expire_at(key).map(|at| at as i64);
    let refused = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.map_or(true, |at| when <= at))
        || (lt && current.is_some_and(|at| when >= at));
    if !refused {
        if when <= now as i64 {
            db.remove(key, now);
            db.notify(GENERIC, "del", key);
        } else {
            db.set_expire(key, when as u64);
            db.notify(GENERIC, "expire", key);
        }
    }
    drop(db);
    cx.out.int(i64::from(!refused));
    Ok(())
}

// EXPIRE key seconds [NX | XX | GT | LT]
fn expire(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let command = ExpireCommand {
        name: "expire",
        seconds: true,
        relative: true,
    };
    expire_generic(cx, args, command)
}

// PEXPIRE key milliseconds [NX | XX | GT | LT]
fn pexpire(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let command = ExpireCommand {
        name: "pexpire",
        seconds: false,
        relative: true,
    };
    expire_generic(cx, args, command)
}

// EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
fn expireat(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let command = ExpireCommand {
        name: "expireat",
        seconds: true,
        relative: false,
    };
    expire_generic(cx, args, command)
}

// PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
fn pexpireat(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let command = ExpireCommand {
        name: "pexpireat",
        seconds: false,
        relative: false,
    };
    expire_generic(cx, args, command)
}

/// TTL and friends: -2 for a missing key, -1 for a key without expiry,
/// otherwise `show(expire_at, now)`.
fn time_to_live(cx: &mut Context<'_>, key: &[u8], show: fn(u64, u64) -> i64) -> CmdResult {
    let now = now_ms();
    let db = cx.db();
    let found = db.contains(key, now);
    cx.count_lookup(key, found);
    let reply = match (found, db.expire_at(key)) {
        (false, _) => -2,
        (true, None) => -1,
        (true, Some(at)) => show(at, now),
    };
    drop(db);
    cx.out.int(reply);
    Ok(())
}

// TTL key
fn ttl(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    time_to_live(cx, &args[1], |at, now| {
        (at.saturating_sub(now) as i64 + 500) / 1000
    })
}

// PTTL key
fn pttl(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    time_to_live(cx, &args[1], |at, now| at.saturating_sub(now) as i64)
}

// EXPIRETIME key
fn expiretime(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    time_to_live(cx, &args[1], |at, _| (at / 1000) as i64)
}

// PEXPIRETIME key
fn pexpiretime(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    time_to_live(cx, &args[1], |at, _| at as i64)
}

// PERSIST key
fn persist(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    let removed = db.contains(&args[1], now) && db.persist(&args[1]);
    if removed {
        db.notify(GENERIC, "persist", &args[1]);
    }
    drop(db);
    cx.out.int(i64::from(removed));
    Ok(())
}

/// FLUSHDB and FLUSHALL take an optional ASYNC or SYNC; both free at once.
fn flush_mode_ok(args: &Args) -> CmdResult {
    match args.len() {
        1 => Ok(()),
        2 if is(&args[1], "async") || is(&args[1], "sync") => Ok(()),
        _ => Err(errors::SYNTAX.into()),
    }
}

// FLUSHDB [ASYNC | SYNC]
fn flushdb(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    flush_mode_ok(args)?;
    cx.db_mut().clear();
    crate::store::changed::flushed();
    let db = cx.session.db;
    wake_waiters_of(cx, db);
    cx.out.ok();
    Ok(())
}

// FLUSHALL [ASYNC | SYNC]
fn flushall(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    flush_mode_ok(args)?;
    for mut db in cx.shared.store.write_all() {
        db.clear();
    }
    crate::store::changed::flushed();
    for db in 0..cx.shared.store.len() {
        wake_waiters_of(cx, db);
    }
    cx.out.ok();
    Ok(())
}

/// After a flush: every key someone blocks on in database `db` is looked
/// at again (XREADGROUP clients learn that their stream is gone).
fn wake_waiters_of(cx: &mut Context<'_>, db: usize) {
    if cx.shared.blocking.blocked_count() > 0 {
        for key in cx.shared.blocking.waited_keys(db) {
            cx.key_ready(db, &key);
        }
    }
}
