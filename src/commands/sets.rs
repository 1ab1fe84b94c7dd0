//! Set commands: SADD, SMEMBERS, SINTER and the rest of the family.

use std::collections::HashSet;

use super::errors::{self, Error};
use super::flags::*;
use super::hashes::{empty_scan, random_count};
use super::{
    int_arg, is, scan, Args, CmdResult, Command, Context, KeySpec, ALL_KEYS, NO_KEYS, ONE_KEY,
};
use crate::notify::class::{GENERIC, SET};
use crate::store::{glob_match, Db, Key, Set, Value};
use crate::util::now_ms;

const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";
const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
const TOO_MANY_KEYS: &str = "ERR Number of keys can't be greater than number of args";
const NEGATIVE_LIMIT: &str = "ERR LIMIT can't be negative";

/// SMOVE: the source and the destination.
const TWO_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[Command] = &[
    Command::new("sadd", -3, WRITE | DENYOOM | FAST, ONE_KEY, "set", sadd),
    Command::new("srem", -3, WRITE | FAST, ONE_KEY, "set", srem),
    Command::new("sismember", 3, READONLY | FAST, ONE_KEY, "set", sismember),
    Command::new(
        "smismember",
        -3,
        READONLY | FAST,
        ONE_KEY,
        "set",
        smismember,
    ),
    Command::new("smembers", 2, READONLY, ONE_KEY, "set", smembers),
    Command::new("scard", 2, READONLY | FAST, ONE_KEY, "set", scard),
    Command::new("spop", -2, WRITE | FAST, ONE_KEY, "set", spop),
    Command::new("srandmember", -2, READONLY, ONE_KEY, "set", srandmember),
    Command::new("smove", 4, WRITE | FAST, TWO_KEYS, "set", smove),
    Command::new("sinter", -2, READONLY, ALL_KEYS, "set", sinter),
    Command::new("sunion", -2, READONLY, ALL_KEYS, "set", sunion),
    Command::new("sdiff", -2, READONLY, ALL_KEYS, "set", sdiff),
    Command::new(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        ALL_KEYS,
        "set",
        sinterstore,
    ),
    Command::new(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        ALL_KEYS,
        "set",
        sunionstore,
    ),
    Command::new(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        ALL_KEYS,
        "set",
        sdiffstore,
    ),
    // Its keys follow a count (movablekeys): COMMAND reports 0 0 0.
    Command::new("sintercard", -3, READONLY, NO_KEYS, "set", sintercard),
    Command::new("sscan", -3, READONLY, ONE_KEY, "set", sscan),
];

/// The set under `key`: None when missing, WRONGTYPE for other types.
fn set_at<'d>(db: &'d Db, key: &[u8], now: u64) -> Result<Option<&'d Set>, Error> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::Set(set)) => Ok(Some(set)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The set under `key` for a read command, counted as a keyspace hit or miss.
fn read_set<'d>(cx: &Context<'_>, db: &'d Db, key: &[u8]) -> Result<Option<&'d Set>, Error> {
    let set = set_at(db, key, now_ms());
    cx.count_lookup(key, !matches!(set, Ok(None)));
    set
}

/// The set under `key`, to change: None when missing.
fn set_mut<'d>(db: &'d mut Db, key: &[u8], now: u64) -> Result<Option<&'d mut Set>, Error> {
    match db.get_mut(key, now) {
        None => Ok(None),
        Some(Value::Set(set)) => Ok(Some(set)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The set under `key`, created empty when missing (callers add to it).
fn set_or_create<'d>(db: &'d mut Db, key: &[u8], now: u64) -> Result<&'d mut Set, Error> {
    match db.get_or_insert_with(key, now, || Value::Set(Box::default())) {
        Value::Set(set) => Ok(set),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

/// Writes members as a set reply (`~` in RESP3, an array in RESP2).
fn reply_set<'a>(cx: &mut Context<'_>, members: impl ExactSizeIterator<Item = &'a [u8]>) {
    cx.out.set(members.len());
    members.for_each(|member| cx.out.bulk(member));
}

/// Logs `event` (`srem`, `spop`), then `del` when the set went with it.
fn notify_removal(db: &Db, key: &[u8], event: &'static str, deleted: bool) {
    db.notify(SET, event, key);
    if deleted {
        db.notify(GENERIC, "del", key);
    }
}

// SADD key member [member ...]
fn sadd(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    let set = set_or_create(&mut db, &args[1], now)?;
    let added = args[2..].iter().filter(|m| set.insert(m)).count();
    if added > 0 {
        db.modified(&args[1]);
        db.notify(SET, "sadd", &args[1]);
    }
    drop(db);
    cx.out.int(added as i64);
    Ok(())
}

// SREM key member [member ...]
fn srem(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    let mut removed = 0;
    if let Some(set) = set_mut(&mut db, &args[1], now)? {
        removed = args[2..].iter().filter(|m| set.remove(m)).count();
        let emptied = set.is_empty();
        if emptied {
            db.remove(&args[1], now);
        }
        if removed > 0 {
            db.modified(&args[1]);
            notify_removal(&db, &args[1], "srem", emptied);
        }
    }
    drop(db);
    cx.out.int(removed as i64);
    Ok(())
}

// SISMEMBER key member
fn sismember(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let found = read_set(cx, &db, &args[1])?.is_some_and(|set| set.contains(&args[2]));
    cx.out.int(i64::from(found));
    Ok(())
}

// SMISMEMBER key member [member ...]
fn smismember(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let set = read_set(cx, &db, &args[1])?;
    cx.out.array(args.len() - 2);
    for member in &args[2..] {
        let found = set.is_some_and(|set| set.contains(member));
        cx.out.int(i64::from(found));
    }
    Ok(())
}

// SMEMBERS key
fn smembers(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let members: Vec<&[u8]> = read_set(cx, &db, &args[1])?
        .map(|set| set.iter().collect())
        .unwrap_or_default();
    reply_set(cx, members.into_iter());
    Ok(())
}

// SCARD key
fn scard(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let len = read_set(cx, &db, &args[1])?.map_or(0, Set::len);
    cx.out.int(len as i64);
    Ok(())
}

// SPOP key [count]
fn spop(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let count = match &args[2..] {
        [] => None,
        [count] => match int_arg(count) {
            Ok(n) if n >= 0 => Some(n as usize),
            _ => return Err(MUST_BE_POSITIVE.into()),
        },
        _ => return Err(errors::SYNTAX.into()),
    };
    let now = now_ms();
    let key = &args[1];
    let mut db = cx.db_mut();
    let Some(set) = set_mut(&mut db, key, now)? else {
        drop(db);
        match count {
            None => cx.out.null(),
            Some(_) => cx.out.set(0),
        }
        return Ok(());
    };
    let Some(count) = count else {
        let member = set.pop_random();
        let emptied = set.is_empty();
        if emptied {
            db.remove(key, now);
        }
        if member.is_some() {
            db.modified(key);
            notify_removal(&db, key, "spop", emptied);
        }
        drop(db);
        match member {
            Some(member) => cx.out.bulk(&member),
            None => cx.out.null(),
        }
        return Ok(());
    };
    let emptied = count >= set.len();
    let popped: Vec<Key> = if emptied {
        let all = set.iter().map(Key::from).collect();
        db.remove(key, now);
        all
    } else {
        (0..count).filter_map(|_| set.pop_random()).collect()
    };
    if count > 0 {
        db.modified(key);
        notify_removal(&db, key, "spop", emptied);
    }
    drop(db);
    reply_set(cx, popped.iter().map(|member| &member[..]));
    Ok(())
}

// SRANDMEMBER key [count]
fn srandmember(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let count = match &args[2..] {
        [] => None,
        [count] => Some(random_count(count)?),
        _ => return Err(errors::SYNTAX.into()),
    };
    let db = cx.db();
    let set = read_set(cx, &db, &args[1])?;
    match (count, set) {
        (None, set) => match set.and_then(|set| set.random_members(1, true).pop()) {
            Some(member) => cx.out.bulk(member),
            None => cx.out.null(),
        },
        (Some(_), None) => cx.out.array(0),
        (Some(count), Some(set)) => {
            let picked = set.random_members(count.unsigned_abs() as usize, count >= 0);
            cx.out.bulks(picked.into_iter());
        }
    }
    Ok(())
}

// SMOVE source destination member
fn smove(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let (source, destination, member) = (&args[1], &args[2], &args[3]);
    let now = now_ms();
    let mut db = cx.db_mut();
    // A missing source answers 0 before the destination's type is looked at.
    let Some(from) = set_at(&db, source, now)? else {
        drop(db);
        cx.out.int(0);
        return Ok(());
    };
    let in_source = from.contains(member);
    set_at(&db, destination, now)?;
    let moved = if source == destination {
        in_source
    } else if in_source {
        if let Some(from) = set_mut(&mut db, source, now)? {
            from.remove(member);
            let emptied = from.is_empty();
            if emptied {
                db.remove(source, now);
            }
            db.modified(source);
            notify_removal(&db, source, "srem", emptied);
        }
        // Only a member new to the destination changes it.
        if set_or_create(&mut db, destination, now)?.insert(member) {
            db.modified(destination);
            db.notify(SET, "sadd", destination);
        }
        true
    } else {
        false
    };
    drop(db);
    cx.out.int(i64::from(moved));
    Ok(())
}

/// The sets under `keys`, None for missing ones; WRONGTYPE when any key
/// holds another type (every key is checked, even after a missing one).
/// Each is a read lookup, for the STORE variants too, as in Redis.
fn sets_at<'d>(
    cx: &Context<'_>,
    db: &'d Db,
    keys: &[Vec<u8>],
) -> Result<Vec<Option<&'d Set>>, Error> {
    keys.iter().map(|key| read_set(cx, db, key)).collect()
}

/// Members of every set, stopping at `limit` (0: no limit). A missing key
/// is an empty set, so it empties the intersection.
fn intersection<'d>(sets: &[Option<&'d Set>], limit: usize) -> Vec<&'d [u8]> {
    let Some(mut sets) = sets.iter().copied().collect::<Option<Vec<&Set>>>() else {
        return Vec::new();
    };
    // Walk the smallest set; test the others, smallest first.
    sets.sort_by_key(|set| set.len());
    let Some((smallest, others)) = sets.split_first() else {
        return Vec::new();
    };
    let common = smallest
        .iter()
        .filter(|member| others.iter().all(|set| set.contains(member)));
    if limit == 0 {
        common.collect()
    } else {
        common.take(limit).collect()
    }
}

/// Members of any set, each once.
fn union<'d>(sets: &[Option<&'d Set>]) -> Vec<&'d [u8]> {
    let mut seen = HashSet::new();
    sets.iter()
        .flatten()
        .flat_map(|set| set.iter())
        .filter(|member| seen.insert(*member))
        .collect()
}

/// Members of the first set that are in none of the others.
fn difference<'d>(sets: &[Option<&'d Set>]) -> Vec<&'d [u8]> {
    let Some((Some(first), others)) = sets.split_first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter(|member| others.iter().flatten().all(|set| !set.contains(member)))
        .collect()
}

/// Which set operation SINTER/SUNION/SDIFF and their STORE forms run.
#[derive(Clone, Copy)]
enum Operation {
    Inter,
    Union,
    Diff,
}

impl Operation {
    fn apply<'d>(self, sets: &[Option<&'d Set>]) -> Vec<&'d [u8]> {
        match self {
            Operation::Inter => intersection(sets, 0),
            Operation::Union => union(sets),
            Operation::Diff => difference(sets),
        }
    }
}

/// SINTER, SUNION, SDIFF: the result as a set reply.
fn combine(cx: &mut Context<'_>, keys: &[Vec<u8>], operation: Operation) -> CmdResult {
    let db = cx.db();
    let sets = sets_at(cx, &db, keys)?;
    let members = operation.apply(&sets);
    reply_set(cx, members.into_iter());
    Ok(())
}

/// SINTERSTORE, SUNIONSTORE, SDIFFSTORE: the result replaces `args[1]`
/// (whatever it held); an empty result deletes it.
fn combine_store(
    cx: &mut Context<'_>,
    args: &[Vec<u8>],
    operation: Operation,
    event: &'static str,
) -> CmdResult {
    let now = now_ms();
    let destination = &args[1];
    let mut db = cx.db_mut();
    let sets = sets_at(cx, &db, &args[2..])?;
    let result: Set = operation.apply(&sets).into_iter().collect();
    let len = result.len();
    if result.is_empty() {
        if db.remove(destination, now).is_some() {
            db.notify(GENERIC, "del", destination);
        }
    } else {
        db.set(destination.as_slice().into(), Value::Set(Box::new(result)));
        db.notify(SET, event, destination);
    }
    drop(db);
    cx.out.int(len as i64);
    Ok(())
}

// SINTER key [key ...]
fn sinter(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    combine(cx, &args[1..], Operation::Inter)
}

// SUNION key [key ...]
fn sunion(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    combine(cx, &args[1..], Operation::Union)
}

// SDIFF key [key ...]
fn sdiff(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    combine(cx, &args[1..], Operation::Diff)
}

// SINTERSTORE destination key [key ...]
fn sinterstore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    combine_store(cx, args, Operation::Inter, "sinterstore")
}

// SUNIONSTORE destination key [key ...]
fn sunionstore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    combine_store(cx, args, Operation::Union, "sunionstore")
}

// SDIFFSTORE destination key [key ...]
fn sdiffstore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    combine_store(cx, args, Operation::Diff, "sdiffstore")
}

// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let numkeys = match int_arg(&args[1]) {
        Ok(n) if n > 0 => n as u64,
        _ => return Err(NUMKEYS_NOT_POSITIVE.into()),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Err(TOO_MANY_KEYS.into());
    }
    let (keys, options) = args[2..].split_at(numkeys as usize);
    let mut limit = 0;
    let mut rest = options.iter();
    while let Some(option) = rest.next() {
        match rest.next() {
            Some(value) if is(option, "limit") => {
                limit = match int_arg(value) {
                    Ok(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                    _ => return Err(NEGATIVE_LIMIT.into()),
                };
            }
            _ => return Err(errors::SYNTAX.into()),
        }
    }
    let db = cx.db();
    let sets = sets_at(cx, &db, keys)?;
    let len = intersection(&sets, limit).len();
    drop(db);
    cx.out.int(len as i64);
    Ok(())
}

// SSCAN key cursor [MATCH pattern] [COUNT count]
fn sscan(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let cursor = scan::cursor(&args[2])?;
    let db = cx.db();
    let Some(set) = read_set(cx, &db, &args[1])? else {
        return empty_scan(cx);
    };
    let scan::Options { pattern, count, .. } = scan::options(&args[3..], false)?;
    let mut found = Vec::new();
    let next = set.scan(cursor, count, |member| {
        if pattern.map_or(true, |p| glob_match(p, member, false)) {
            found.push(member);
        }
    });
    cx.out.array(2);
    cx.out.bulk(next.to_string().as_bytes());
    cx.out.bulks(found.into_iter());
    Ok(())
}
