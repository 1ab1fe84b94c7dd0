//! Hash commands: HSET, HGET, HGETALL and the rest of the family. Also the
//! cursor and option parsing that HSCAN shares with SSCAN.

use super::errors::{self, Error};
use super::flags::*;
use super::{int_arg, is, scan, Args, CmdResult, Command, Context, ONE_KEY};
use crate::notify::class::{GENERIC, HASH};
use crate::store::{glob_match, incr_by_float, Db, Hash, IncrFloatError, Value};
use crate::util::{now_ms, parse_i64};

const HASH_NOT_INTEGER: &str = "ERR hash value is not an integer";
const HASH_NOT_FLOAT: &str = "ERR hash value is not a float";
const NAN_OR_INFINITY: &str = "ERR value is NaN or Infinity";
/// Redis's wording, "must between" included.
const COUNT_OUT_OF_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
const OUT_OF_RANGE: &str = "ERR value is out of range";

pub static COMMANDS: &[Command] = &[
    Command::new("hset", -4, WRITE | DENYOOM | FAST, ONE_KEY, "hash", hset),
    Command::new("hmset", -4, WRITE | DENYOOM | FAST, ONE_KEY, "hash", hmset),
    Command::new("hsetnx", 4, WRITE | DENYOOM | FAST, ONE_KEY, "hash", hsetnx),
    Command::new("hget", 3, READONLY | FAST, ONE_KEY, "hash", hget),
    Command::new("hmget", -3, READONLY | FAST, ONE_KEY, "hash", hmget),
    Command::new("hdel", -3, WRITE | FAST, ONE_KEY, "hash", hdel),
    Command::new("hexists", 3, READONLY | FAST, ONE_KEY, "hash", hexists),
    Command::new("hlen", 2, READONLY | FAST, ONE_KEY, "hash", hlen),
    Command::new("hstrlen", 3, READONLY | FAST, ONE_KEY, "hash", hstrlen),
    Command::new("hkeys", 2, READONLY, ONE_KEY, "hash", hkeys),
    Command::new("hvals", 2, READONLY, ONE_KEY, "hash", hvals),
    Command::new("hgetall", 2, READONLY, ONE_KEY, "hash", hgetall),
    Command::new(
        "hincrby",
        4,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "hash",
        hincrby,
    ),
    Command::new(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "hash",
        hincrbyfloat,
    ),
    Command::new("hrandfield", -2, READONLY, ONE_KEY, "hash", hrandfield),
    Command::new("hscan", -3, READONLY, ONE_KEY, "hash", hscan),
];

/// The hash under `key` for a read command (counted as a keyspace hit or
/// miss): None when missing, WRONGTYPE for other types.
fn read_hash<'d>(cx: &Context<'_>, db: &'d Db, key: &[u8]) -> Result<Option<&'d Hash>, Error> {
    let value = db.get(key, now_ms());
    cx.count_lookup(key, value.is_some());
    match value {
        None => Ok(None),
        Some(Value::Hash(hash)) => Ok(Some(hash)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The hash under `key`, to change: None when missing.
fn hash_mut<'d>(db: &'d mut Db, key: &[u8], now: u64) -> Result<Option<&'d mut Hash>, Error> {
    match db.get_mut(key, now) {
        None => Ok(None),
        Some(Value::Hash(hash)) => Ok(Some(hash)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The hash under `key`, created empty when missing. Callers add a field
/// before they can fail, so no empty hash is left behind.
fn hash_or_create<'d>(db: &'d mut Db, key: &[u8], now: u64) -> Result<&'d mut Hash, Error> {
    match db.get_or_insert_with(key, now, || Value::Hash(Box::default())) {
        Value::Hash(hash) => Ok(hash),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

/// HSET and HMSET: stores the field/value pairs after the key and returns
/// how many fields are new.
fn set_pairs(cx: &mut Context<'_>, args: &Args, name: &str) -> Result<i64, Error> {
    if args.len() % 2 != 0 {
        return Err(errors::wrong_arity(name));
    }
    let key = &args[1];
    let limits = cx.session.hash_limits;
    let now = now_ms();
    let mut db = cx.db_mut();
    let hash = hash_or_create(&mut db, key, now)?;
    let mut added = 0;
    for pair in args[2..].chunks_exact(2) {
        added += i64::from(hash.insert_within(&pair[0], pair[1].to_vec(), limits));
    }
    db.modified(key);
    db.notify(HASH, "hset", key);
    Ok(added)
}

// HSET key field value [field value ...]
fn hset(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let added = set_pairs(cx, args, "hset")?;
    cx.out.int(added);
    Ok(())
}

// HMSET key field value [field value ...]
fn hmset(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    set_pairs(cx, args, "hmset")?;
    cx.out.ok();
    Ok(())
}

// HSETNX key field value
fn hsetnx(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let limits = cx.session.hash_limits;
    let mut db = cx.db_mut();
    let hash = hash_or_create(&mut db, &args[1], now_ms())?;
    let added = !hash.contains(&args[2]) && hash.insert_within(&args[2], args[3].to_vec(), limits);
    if added {
        db.modified(&args[1]);
        db.notify(HASH, "hset", &args[1]);
    }
    drop(db);
    cx.out.int(i64::from(added));
    Ok(())
}

// HGET key field
fn hget(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    match read_hash(cx, &db, &args[1])?.and_then(|hash| hash.get(&args[2])) {
        Some(value) => cx.out.bulk(value),
        None => cx.out.null(),
    }
    Ok(())
}

// HMGET key field [field ...]
fn hmget(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let hash = read_hash(cx, &db, &args[1])?;
    let fields = &args[2..];
    cx.out.array(fields.len());
    for field in fields {
        match hash.and_then(|hash| hash.get(field)) {
            Some(value) => cx.out.bulk(value),
            None => cx.out.null(),
        }
    }
    Ok(())
}

// HDEL key field [field ...]
fn hdel(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    let mut removed = 0;
    if let Some(hash) = hash_mut(&mut db, &args[1], now)? {
        removed = args[2..].iter().filter(|f| hash.remove(f)).count();
        let emptied = hash.is_empty();
        if emptied {
            db.remove(&args[1], now);
        }
        if removed > 0 {
            db.modified(&args[1]);
            db.notify(HASH, "hdel", &args[1]);
        }
        if emptied {
            db.notify(GENERIC, "del", &args[1]);
        }
    }
    drop(db);
    cx.out.int(removed as i64);
    Ok(())
}

// HEXISTS key field
fn hexists(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let found = read_hash(cx, &db, &args[1])?.is_some_and(|hash| hash.contains(&args[2]));
    cx.out.int(i64::from(found));
    Ok(())
}

// HLEN key
fn hlen(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let len = read_hash(cx, &db, &args[1])?.map_or(0, Hash::len);
    cx.out.int(len as i64);
    Ok(())
}

// HSTRLEN key field
fn hstrlen(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let value = read_hash(cx, &db, &args[1])?.and_then(|hash| hash.get(&args[2]));
    cx.out.int(value.map_or(0, <[u8]>::len) as i64);
    Ok(())
}

// HKEYS key
fn hkeys(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let hash = read_hash(cx, &db, &args[1])?;
    cx.out.array(hash.map_or(0, Hash::len));
    for (field, _) in hash.iter().flat_map(|hash| hash.iter()) {
        cx.out.bulk(field);
    }
    Ok(())
}

// HVALS key
fn hvals(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let hash = read_hash(cx, &db, &args[1])?;
    cx.out.array(hash.map_or(0, Hash::len));
    for (_, value) in hash.iter().flat_map(|hash| hash.iter()) {
        cx.out.bulk(value);
    }
    Ok(())
}

// HGETALL key
fn hgetall(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let hash = read_hash(cx, &db, &args[1])?;
    cx.out.map(hash.map_or(0, Hash::len));
    for (field, value) in hash.iter().flat_map(|hash| hash.iter()) {
        cx.out.bulk(field);
        cx.out.bulk(value);
    }
    Ok(())
}

// HINCRBY key field increment
fn hincrby(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let increment = int_arg(&args[3])?;
    let field = &args[2];
    let limits = cx.session.hash_limits;
    let mut db = cx.db_mut();
    let hash = hash_or_create(&mut db, &args[1], now_ms())?;
    let current = match hash.get(field) {
        Some(text) => parse_i64(text).ok_or(Error::from(HASH_NOT_INTEGER))?,
        None => 0,
    };
    let sum = current
        .checked_add(increment)
        .ok_or(Error::from(errors::OVERFLOW))?;
    hash.insert_within(field, sum.to_string().into_bytes(), limits);
    db.modified(&args[1]);
    db.notify(HASH, "hincrby", &args[1]);
    drop(db);
    cx.out.int(sum);
    Ok(())
}

// HINCRBYFLOAT key field increment
fn hincrbyfloat(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    // The increment alone first: its errors come before the key's.
    match incr_by_float(None, &args[3]) {
        Err(IncrFloatError::NotFloat) => return Err(errors::NOT_FLOAT.into()),
        Err(IncrFloatError::NanOrInfinity) => return Err(NAN_OR_INFINITY.into()),
        Ok(_) => {}
    }
    let limits = cx.session.hash_limits;
    let mut db = cx.db_mut();
    let hash = hash_or_create(&mut db, &args[1], now_ms())?;
    let sum = incr_by_float(hash.get(&args[2]), &args[3]).map_err(|error| match error {
        IncrFloatError::NotFloat => Error::from(HASH_NOT_FLOAT),
        IncrFloatError::NanOrInfinity => Error::from(errors::INCR_NAN_OR_INF),
    })?;
    hash.insert_within(&args[2], sum.clone(), limits);
    db.modified(&args[1]);
    db.notify(HASH, "hincrbyfloat", &args[1]);
    drop(db);
    cx.out.bulk(&sum);
    Ok(())
}

// HRANDFIELD key [count [WITHVALUES]]
fn hrandfield(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let Some(count_arg) = args.get(2) else {
        let db = cx.db();
        let hash = read_hash(cx, &db, &args[1])?;
        match hash.and_then(|hash| hash.random_fields(1, true).pop()) {
            Some((field, _)) => cx.out.bulk(field),
            None => cx.out.null(),
        }
        return Ok(());
    };
    let count = random_count(count_arg)?;
    let with_values = match &args[3..] {
        [] => false,
        [word] if is(word, "withvalues") => true,
        _ => return Err(errors::SYNTAX.into()),
    };
    // Redis bounds the count so that twice it still fits the reply length.
    if with_values && count.unsigned_abs() > i64::MAX as u64 / 2 {
        return Err(OUT_OF_RANGE.into());
    }
    let db = cx.db();
    let Some(hash) = read_hash(cx, &db, &args[1])? else {
        cx.out.array(0);
        return Ok(());
    };
    let picked = hash.random_fields(count.unsigned_abs() as usize, count >= 0);
    if !with_values {
        cx.out.array(picked.len());
        picked.iter().for_each(|(field, _)| cx.out.bulk(field));
        return Ok(());
    }
    // RESP3 pairs each field with its value; RESP2 flattens them.
    let resp3 = cx.out.resp3;
    cx.out.array(if resp3 {
        picked.len()
    } else {
        2 * picked.len()
    });
    for (field, value) in picked {
        if resp3 {
            cx.out.array(2);
        }
        cx.out.bulk(field);
        cx.out.bulk(value);
    }
    Ok(())
}

// HSCAN key cursor [MATCH pattern] [COUNT count]
fn hscan(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let cursor = scan::cursor(&args[2])?;
    let db = cx.db();
    let Some(hash) = read_hash(cx, &db, &args[1])? else {
        return empty_scan(cx);
    };
    let scan::Options { pattern, count, .. } = scan::options(&args[3..], false)?;
    let mut found = Vec::new();
    let next = hash.scan(cursor, count, |field, value| {
        if pattern.map_or(true, |p| glob_match(p, field, false)) {
            found.push((field, value));
        }
    });
    cx.out.array(2);
    cx.out.bulk(next.to_string().as_bytes());
    cx.out.array(2 * found.len());
    for (field, value) in found {
        cx.out.bulk(field);
        cx.out.bulk(value);
    }
    Ok(())
}

/// The count of HRANDFIELD and SRANDMEMBER: negative means repeats are
/// allowed, so its size must also fit in the positive range.
pub(super) fn random_count(arg: &[u8]) -> Result<i64, Error> {
    match int_arg(arg)? {
        i64::MIN => Err(COUNT_OUT_OF_RANGE.into()),
        count => Ok(count),
    }
}

/// The reply of HSCAN/SSCAN on a missing key: cursor 0, nothing found.
pub(super) fn empty_scan(cx: &mut Context<'_>) -> CmdResult {
    cx.out.array(2);
    cx.out.bulk(b"0");
    cx.out.array(0);
    Ok(())
}
