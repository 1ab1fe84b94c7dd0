//! List commands: pushes, pops, ranges, LPOS, LMOVE and LMPOP.
//!
//! The operations that change a list's ends ([`push`], [`pop_from`],
//! [`move_element`], [`mpop`]) are plain functions over a [`Db`], so the
//! blocking variants (BLPOP, BLMOVE, BLMPOP...) run the very same code once
//! a key is ready. A list whose last element goes is deleted.

use std::collections::VecDeque;

use super::errors::{self, Error};
use super::flags::*;
use super::{
    int_arg, is, timeout_arg, Args, CmdResult, Command, Context, KeySpec, NO_KEYS, ONE_KEY,
};
use crate::blocking::DbKey;
use crate::notify::class::{GENERIC, LIST};
use crate::resp::Reply;
use crate::store::{Db, Value};
use crate::util::now_ms;

const INDEX_OUT_OF_RANGE: &str = "ERR index out of range";
const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
const RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
const COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
const MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
const COUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";

/// LMOVE and RPOPLPUSH: a source and a destination key.
const TWO_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[Command] = &[
    Command::new("lpush", -3, WRITE | DENYOOM | FAST, ONE_KEY, "list", lpush),
    Command::new("rpush", -3, WRITE | DENYOOM | FAST, ONE_KEY, "list", rpush),
    Command::new(
        "lpushx",
        -3,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "list",
        lpushx,
    ),
    Command::new(
        "rpushx",
        -3,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "list",
        rpushx,
    ),
    Command::new("lpop", -2, WRITE | FAST, ONE_KEY, "list", lpop),
    Command::new("rpop", -2, WRITE | FAST, ONE_KEY, "list", rpop),
    Command::new("llen", 2, READONLY | FAST, ONE_KEY, "list", llen),
    Command::new("lrange", 4, READONLY, ONE_KEY, "list", lrange),
    Command::new("lindex", 3, READONLY, ONE_KEY, "list", lindex),
    Command::new("lset", 4, WRITE | DENYOOM, ONE_KEY, "list", lset),
    Command::new("linsert", 5, WRITE | DENYOOM, ONE_KEY, "list", linsert),
    Command::new("lrem", 4, WRITE, ONE_KEY, "list", lrem),
    Command::new("ltrim", 4, WRITE, ONE_KEY, "list", ltrim),
    Command::new("lpos", -3, READONLY, ONE_KEY, "list", lpos),
    Command::new("lmove", 5, WRITE | DENYOOM, TWO_KEYS, "list", lmove),
    Command::new("rpoplpush", 3, WRITE | DENYOOM, TWO_KEYS, "list", rpoplpush),
    // Redis marks LMPOP `movablekeys` (its keys follow numkeys); the table
    // has no way to say so, hence no fixed key positions.
    Command::new("lmpop", -4, WRITE, NO_KEYS, "list", lmpop),
    Command::new(
        "blpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        KEYS_BEFORE_TIMEOUT,
        "list",
        blpop,
    ),
    Command::new(
        "brpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        KEYS_BEFORE_TIMEOUT,
        "list",
        brpop,
    ),
    Command::new(
        "blmove",
        6,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        TWO_KEYS,
        "list",
        blmove,
    ),
    Command::new(
        "brpoplpush",
        4,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        TWO_KEYS,
        "list",
        brpoplpush,
    ),
    Command::new("blmpop", -5, WRITE | BLOCKING, NO_KEYS, "list", blmpop),
];

/// BLPOP and BRPOP: every argument but the last (the timeout) is a key.
const KEYS_BEFORE_TIMEOUT: KeySpec = KeySpec {
    first: 1,
    last: -2,
    step: 1,
};

type List = VecDeque<Vec<u8>>;

/// What LMPOP pops: the key it popped from and the elements.
pub(super) type KeyAndElements<'k> = (&'k [u8], Vec<Vec<u8>>);

/// An end of a list: LEFT is the head, RIGHT the tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    Left,
    Right,
}

impl End {
    /// The keyspace events of a push and a pop at this end.
    fn push_event(self) -> &'static str {
        match self {
            End::Left => "lpush",
            End::Right => "rpush",
        }
    }

    fn pop_event(self) -> &'static str {
        match self {
            End::Left => "lpop",
            End::Right => "rpop",
        }
    }

    /// `LEFT` or `RIGHT` in any case; anything else is a syntax error.
    pub(super) fn parse(arg: &[u8]) -> Result<End, Error> {
        if is(arg, "left") {
            Ok(End::Left)
        } else if is(arg, "right") {
            Ok(End::Right)
        } else {
            Err(errors::SYNTAX.into())
        }
    }
}

fn push_at(list: &mut List, end: End, element: Vec<u8>) {
    match end {
        End::Left => list.push_front(element),
        End::Right => list.push_back(element),
    }
}

fn pop_at(list: &mut List, end: End) -> Option<Vec<u8>> {
    match end {
        End::Left => list.pop_front(),
        End::Right => list.pop_back(),
    }
}

/// The list under `key`: None when missing, WRONGTYPE for other types.
fn list_at<'d>(db: &'d Db, key: &[u8], now: u64) -> Result<Option<&'d List>, Error> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::List(list)) => Ok(Some(list)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The list under `key`, to change in place.
fn list_at_mut<'d>(db: &'d mut Db, key: &[u8], now: u64) -> Result<Option<&'d mut List>, Error> {
    match db.get_mut(key, now) {
        None => Ok(None),
        Some(Value::List(list)) => Ok(Some(list)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// Looks a list up for a read command, counting the hit or miss as Redis
/// does (writes are not counted).
fn read_list<'d>(
    cx: &Context<'_>,
    db: &'d Db,
    key: &[u8],
    now: u64,
) -> Result<Option<&'d List>, Error> {
    cx.count_lookup(key, db.contains(key, now));
    list_at(db, key, now)
}

/// Deletes `key` if its list has become empty; true if it did (the `del`
/// event is the caller's, after its own).
fn delete_if_empty(db: &mut Db, key: &[u8], now: u64) -> bool {
    let empty = matches!(db.get(key, now), Some(Value::List(list)) if list.is_empty());
    if empty {
        db.remove(key, now);
    }
    empty
}

/// Logs `event` about a list, then `del` if that emptied it.
fn notify_change(db: &Db, key: &[u8], event: &'static str, deleted: bool) {
    db.notify(LIST, event, key);
    if deleted {
        db.notify(GENERIC, "del", key);
    }
}

/// Pushes copies of `elements` one after the other at `end` (so LPUSH a b c
/// leaves c first), creating the list unless `only_existing` (LPUSHX, RPUSHX).
/// Returns the new length: 0 when the key was missing and not created.
pub(super) fn push(
    db: &mut Db,
    key: &[u8],
    end: End,
    elements: &[Vec<u8>],
    only_existing: bool,
    now: u64,
) -> Result<usize, Error> {
    push_owned(db, key, end, elements.iter().cloned(), only_existing, now)
}

/// [`push`] of elements already copied (one copied before the database
/// was locked keeps its allocation out of the lock's hold).
fn push_owned(
    db: &mut Db,
    key: &[u8],
    end: End,
    elements: impl ExactSizeIterator<Item = Vec<u8>>,
    only_existing: bool,
    now: u64,
) -> Result<usize, Error> {
    if let Some(list) = list_at_mut(db, key, now)? {
        elements.for_each(|e| push_at(list, end, e));
        let len = list.len();
        db.modified(key);
        db.notify(LIST, end.push_event(), key);
        return Ok(len);
    }
    if only_existing || elements.len() == 0 {
        return Ok(0);
    }
    let mut list = List::with_capacity(elements.len());
    elements.for_each(|e| push_at(&mut list, end, e));
    let len = list.len();
    db.set(key.into(), Value::List(Box::new(list)));
    db.notify(LIST, end.push_event(), key);
    Ok(len)
}

/// Pops up to `count` elements from `end` of the list under `key`, in the
/// order they come off. None when the key is missing; the key is deleted
/// when its last element goes.
pub(super) fn pop_from(
    db: &mut Db,
    key: &[u8],
    end: End,
    count: usize,
    now: u64,
) -> Result<Option<Vec<Vec<u8>>>, Error> {
    let popped = pop_quietly(db, key, end, count, now)?;
    if let Some((elements, deleted)) = &popped {
        if !elements.is_empty() {
            notify_change(db, key, end.pop_event(), *deleted);
        }
    }
    Ok(popped.map(|(elements, _)| elements))
}

/// Popped elements, and whether the list went with them.
type PoppedAndDeleted = (Vec<Vec<u8>>, bool);

/// [`pop_from`] without its events; also tells whether the list went.
fn pop_quietly(
    db: &mut Db,
    key: &[u8],
    end: End,
    count: usize,
    now: u64,
) -> Result<Option<PoppedAndDeleted>, Error> {
    let Some(list) = list_at_mut(db, key, now)? else {
        return Ok(None);
    };
    let popped: Vec<Vec<u8>> = (0..count.min(list.len()))
        .filter_map(|_| pop_at(list, end))
        .collect();
    // Known here, without looking the key up again.
    let emptied = list.is_empty();
    if !popped.is_empty() {
        db.modified(key);
    }
    if emptied {
        db.remove(key, now);
    }
    Ok(Some((popped, emptied)))
}

/// Moves one element from `from` of `src` to `to` of `dst` (LMOVE) and
/// returns it; None when `src` is missing. A destination of another type
/// is refused before anything moves. With `src == dst` the list rotates in
/// place, keeping its key (and expiry).
pub(super) fn move_element(
    db: &mut Db,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
    now: u64,
) -> Result<Option<Vec<u8>>, Error> {
    if src == dst {
        let element = list_at_mut(db, src, now)?.and_then(|list| {
            let element = pop_at(list, from)?;
            push_at(list, to, element.clone());
            Some(element)
        });
        if element.is_some() {
            db.modified(src);
            db.notify(LIST, to.push_event(), dst);
            db.notify(LIST, from.pop_event(), src);
        }
        return Ok(element);
    }
    if list_at(db, src, now)?.is_none() {
        return Ok(None);
    }
    list_at(db, dst, now)?;
    // Redis reports the push before the pop.
    let Some((mut popped, deleted)) = pop_quietly(db, src, from, 1, now)? else {
        return Ok(None);
    };
    let Some(element) = popped.pop() else {
        return Ok(None);
    };
    push(db, dst, to, std::slice::from_ref(&element), false, now)?;
    notify_change(db, src, from.pop_event(), deleted);
    Ok(Some(element))
}

/// Pops up to `count` elements from `end` of the first non-empty list
/// among `keys` (LMPOP): that key and the elements, or None when every key
/// is missing. A key of another type met on the way is WRONGTYPE.
pub(super) fn mpop<'k>(
    db: &mut Db,
    keys: &'k [Vec<u8>],
    end: End,
    count: usize,
    now: u64,
) -> Result<Option<KeyAndElements<'k>>, Error> {
    for key in keys {
        if let Some(popped) = pop_from(db, key, end, count, now)? {
            if !popped.is_empty() {
                return Ok(Some((key, popped)));
            }
        }
    }
    Ok(None)
}

/// What `LMPOP`/`BLMPOP` asked for, once parsed.
#[derive(Debug)]
pub(super) struct MpopArgs {
    /// Where the keys are in the arguments.
    pub keys: std::ops::Range<usize>,
    pub end: End,
    pub count: usize,
}

/// Parses `numkeys key [key ...] LEFT | RIGHT [COUNT count]` with numkeys
/// at `args[numkeys_at]` (1 for LMPOP, 2 for BLMPOP).
pub(super) fn parse_mpop(args: &[Vec<u8>], numkeys_at: usize) -> Result<MpopArgs, Error> {
    let numkeys = ranged_arg(&args[numkeys_at], 1, NUMKEYS_NOT_POSITIVE)? as usize;
    let keys = numkeys_at + 1..numkeys_at.saturating_add(1).saturating_add(numkeys);
    let Some(end) = args.get(keys.end) else {
        return Err(errors::SYNTAX.into());
    };
    let end = End::parse(end)?;
    let mut count = None;
    let mut options = args[keys.end + 1..].iter();
    while let Some(option) = options.next() {
        match options.as_slice().first() {
            Some(value) if count.is_none() && is(option, "count") => {
                count = Some(ranged_arg(value, 1, COUNT_NOT_POSITIVE)? as usize);
                options.next();
            }
            _ => return Err(errors::SYNTAX.into()),
        }
    }
    Ok(MpopArgs {
        keys,
        end,
        count: count.unwrap_or(1),
    })
}

/// The reply of LMPOP and BLMPOP: `[key, [element ...]]`, or a null array.
pub(super) fn reply_mpop(out: &mut Reply, popped: Option<KeyAndElements<'_>>) {
    match popped {
        Some((key, elements)) => {
            out.array(2);
            out.bulk(key);
            out.bulks(elements.iter().map(Vec::as_slice));
        }
        None => out.null_array(),
    }
}

/// An integer argument of at least `min`; `message` when it is not one
/// (Redis's `getRangeLongFromObjectOrReply` with a custom message).
fn ranged_arg(arg: &[u8], min: i64, message: &'static str) -> Result<i64, Error> {
    match crate::util::parse_i64(arg) {
        Some(n) if n >= min => Ok(n),
        _ => Err(message.into()),
    }
}

/// An index counted from the end when negative, as a position if it falls
/// inside a list of `len` elements.
fn position(index: i64, len: usize) -> Option<usize> {
    let index = if index < 0 { index + len as i64 } else { index };
    (0..len as i64).contains(&index).then_some(index as usize)
}

/// The inclusive range `start..=end` of LRANGE and LTRIM clamped to a list
/// of `len` elements (negative counts from the end), or None when empty.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

// ---- pushes ----

fn push_command(cx: &mut Context<'_>, args: &Args, end: End, only_existing: bool) -> CmdResult {
    // The clock is read, and a lone element copied, before the database is
    // locked: every other writer waits while it is held.
    let now = now_ms();
    let len = match &args[2..] {
        [element] => {
            let element = std::iter::once(element.clone());
            push_owned(&mut cx.db_mut(), &args[1], end, element, only_existing, now)?
        }
        elements => push(
            &mut cx.db_mut(),
            &args[1],
            end,
            elements,
            only_existing,
            now,
        )?,
    };
    if len > 0 {
        cx.key_ready(cx.session.db, &args[1]);
    }
    cx.out.int(len as i64);
    Ok(())
}

// LPUSH key element [element ...]
fn lpush(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    push_command(cx, args, End::Left, false)
}

// RPUSH key element [element ...]
fn rpush(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    push_command(cx, args, End::Right, false)
}

// LPUSHX key element [element ...]
fn lpushx(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    push_command(cx, args, End::Left, true)
}

// RPUSHX key element [element ...]
fn rpushx(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    push_command(cx, args, End::Right, true)
}

// ---- pops ----

/// LPOP and RPOP: one element as a bulk string, or with a count, an array
/// (a null array when the key is missing, even for a count of 0).
fn pop_command(cx: &mut Context<'_>, args: &Args, end: End, name: &str) -> CmdResult {
    if args.len() > 3 {
        return Err(errors::wrong_arity(name));
    }
    let count = match args.get(2) {
        Some(arg) => Some(ranged_arg(arg, 0, NOT_POSITIVE)? as usize),
        None => None,
    };
    let now = now_ms();
    let popped = pop_from(&mut cx.db_mut(), &args[1], end, count.unwrap_or(1), now)?;
    match (popped, count) {
        (None, None) => cx.out.null(),
        (None, Some(_)) => cx.out.null_array(),
        (Some(popped), None) => match popped.first() {
            Some(element) => cx.out.bulk(element),
            None => cx.out.null(),
        },
        (Some(popped), Some(_)) => cx.out.bulks(popped.iter().map(Vec::as_slice)),
    }
    Ok(())
}

// LPOP key [count]
fn lpop(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    pop_command(cx, args, End::Left, "lpop")
}

// RPOP key [count]
fn rpop(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    pop_command(cx, args, End::Right, "rpop")
}

// LMOVE source destination LEFT | RIGHT LEFT | RIGHT
fn lmove(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let from = End::parse(&args[3])?;
    let to = End::parse(&args[4])?;
    move_command(cx, args, from, to)
}

// RPOPLPUSH source destination
fn rpoplpush(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    move_command(cx, args, End::Right, End::Left)
}

fn move_command(cx: &mut Context<'_>, args: &[Vec<u8>], from: End, to: End) -> CmdResult {
    let moved = move_element(&mut cx.db_mut(), &args[1], &args[2], from, to, now_ms())?;
    match moved {
        Some(element) => {
            cx.key_ready(cx.session.db, &args[2]);
            cx.out.bulk(&element);
        }
        None => cx.out.null(),
    }
    Ok(())
}

// LMPOP numkeys key [key ...] LEFT | RIGHT [COUNT count]
fn lmpop(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let parsed = parse_mpop(args, 1)?;
    let mut db = cx.db_mut();
    let popped = mpop(
        &mut db,
        &args[parsed.keys],
        parsed.end,
        parsed.count,
        now_ms(),
    )?;
    drop(db);
    reply_mpop(cx.out, popped);
    Ok(())
}

// ---- blocking pops ----
//
// Each blocking command first tries what its non-blocking twin does, under
// the database lock. If there is nothing to take, it blocks with an
// `attempt` that runs the same operation again when a key becomes ready and
// encodes the reply in the client's protocol.

/// BLPOP and BRPOP: `[key, element]` from the first non-empty list.
fn blocking_pop(cx: &mut Context<'_>, args: &Args, end: End) -> CmdResult {
    let timeout = timeout_arg(&args[args.len() - 1])?;
    let wait_on = &args[1..args.len() - 1];
    let mut db = cx.db_mut();
    let now = now_ms();
    for key in wait_on {
        if let Some(element) = pop_from(&mut db, key, end, 1, now)?.and_then(|mut p| p.pop()) {
            drop(db);
            cx.out.array(2);
            cx.out.bulk(key);
            cx.out.bulk(&element);
            return Ok(());
        }
    }
    let (resp3, keys) = (cx.out.resp3, wait_on.to_vec());
    let attempt = move |db: &mut Db, now: u64, _: &mut Vec<DbKey>| {
        keys.iter().find_map(|key| {
            let element = pop_from(db, key, end, 1, now).ok()??.pop()?;
            Some(Reply::encoded(resp3, |r| {
                r.array(2);
                r.bulk(key);
                r.bulk(&element);
            }))
        })
    };
    cx.block(db, wait_on, timeout, Box::new(attempt))
}

// BLPOP key [key ...] timeout
fn blpop(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    blocking_pop(cx, args, End::Left)
}

// BRPOP key [key ...] timeout
fn brpop(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    blocking_pop(cx, args, End::Right)
}

/// BLMOVE and BRPOPLPUSH: the moved element, once the source has one.
fn blocking_move(
    cx: &mut Context<'_>,
    args: &[Vec<u8>],
    from: End,
    to: End,
    timeout: &[u8],
) -> CmdResult {
    let timeout = timeout_arg(timeout)?;
    let (src, dst) = (args[1].clone(), args[2].clone());
    let db_index = cx.session.db;
    let mut db = cx.db_mut();
    if let Some(element) = move_element(&mut db, &src, &dst, from, to, now_ms())? {
        drop(db);
        cx.key_ready(db_index, &dst);
        cx.out.bulk(&element);
        return Ok(());
    }
    let resp3 = cx.out.resp3;
    let attempt = move |db: &mut Db, now: u64, filled: &mut Vec<DbKey>| {
        // A source that is no list (yet) keeps the client waiting.
        if !matches!(list_at(db, &src, now), Ok(Some(_))) {
            return None;
        }
        // A destination of another type ends the wait with WRONGTYPE, the
        // source untouched (Redis's serveClientBlockedOnList).
        match move_element(db, &src, &dst, from, to, now) {
            Ok(element) => {
                let element = element?;
                filled.push((db_index, dst.as_slice().into()));
                Some(Reply::encoded(resp3, |r| r.bulk(&element)))
            }
            Err(error) => Some(Reply::encoded(resp3, |r| r.error(&error.0))),
        }
    };
    cx.block(db, &args[1..2], timeout, Box::new(attempt))
}

// BLMOVE source destination LEFT | RIGHT LEFT | RIGHT timeout
fn blmove(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let from = End::parse(&args[3])?;
    let to = End::parse(&args[4])?;
    blocking_move(cx, args, from, to, &args[5])
}

// BRPOPLPUSH source destination timeout
fn brpoplpush(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    blocking_move(cx, args, End::Right, End::Left, &args[3])
}

// BLMPOP timeout numkeys key [key ...] LEFT | RIGHT [COUNT count]
fn blmpop(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let timeout = timeout_arg(&args[1])?;
    let parsed = parse_mpop(args, 2)?;
    let wait_on = &args[parsed.keys];
    let (end, count) = (parsed.end, parsed.count);
    let mut db = cx.db_mut();
    if let Some(popped) = mpop(&mut db, wait_on, end, count, now_ms())? {
        drop(db);
        reply_mpop(cx.out, Some(popped));
        return Ok(());
    }
    let (resp3, keys) = (cx.out.resp3, wait_on.to_vec());
    let attempt = move |db: &mut Db, now: u64, _: &mut Vec<DbKey>| {
        let popped = mpop(db, &keys, end, count, now).ok()??;
        Some(Reply::encoded(resp3, |r| reply_mpop(r, Some(popped))))
    };
    cx.block(db, wait_on, timeout, Box::new(attempt))
}

// ---- reads ----

// LLEN key
fn llen(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let db = cx.db();
    let len = read_list(cx, &db, &args[1], now)?.map_or(0, List::len);
    cx.out.int(len as i64);
    Ok(())
}

// LRANGE key start stop
fn lrange(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let start = int_arg(&args[2])?;
    let end = int_arg(&args[3])?;
    let now = now_ms();
    let db = cx.db();
    let list = read_list(cx, &db, &args[1], now)?;
    match list.and_then(|list| Some((list, clamp_range(start, end, list.len())?))) {
        Some((list, (start, end))) => cx.out.bulks(list.range(start..=end).map(Vec::as_slice)),
        None => cx.out.array(0),
    }
    Ok(())
}

// LINDEX key index
fn lindex(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let db = cx.db();
    let Some(list) = read_list(cx, &db, &args[1], now)? else {
        cx.out.null();
        return Ok(());
    };
    let index = int_arg(&args[2])?;
    match position(index, list.len()).and_then(|i| list.get(i)) {
        Some(element) => cx.out.bulk(element),
        None => cx.out.null(),
    }
    Ok(())
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut rank = 1;
    let mut count = None;
    let mut maxlen = 0;
    let mut options = args[3..].iter();
    while let Some(option) = options.next() {
        let Some(value) = options.as_slice().first() else {
            return Err(errors::SYNTAX.into());
        };
        if is(option, "rank") {
            rank = int_arg(value)?;
            if rank == 0 {
                return Err(RANK_ZERO.into());
            }
        } else if is(option, "count") {
            count = Some(ranged_arg(value, 0, COUNT_NEGATIVE)?);
        } else if is(option, "maxlen") {
            maxlen = ranged_arg(value, 0, MAXLEN_NEGATIVE)?;
        } else {
            return Err(errors::SYNTAX.into());
        }
        options.next();
    }
    let now = now_ms();
    let db = cx.db();
    let Some(list) = read_list(cx, &db, &args[1], now)? else {
        match count {
            Some(_) => cx.out.array(0),
            None => cx.out.null(),
        }
        return Ok(());
    };
    let element = &args[2];
    let len = list.len();
    let from_tail = rank < 0;
    // Redis negates RANK in a C long: -i64::MIN wraps and then matches at
    // the first hit, as RANK -1 does.
    let first_match = rank.checked_abs().unwrap_or(1) as u64;
    let wanted = match count {
        None => 1,
        Some(0) => u64::MAX,
        Some(n) => n as u64,
    };
    let scan = if maxlen == 0 {
        len
    } else {
        len.min(maxlen as usize)
    };
    let mut matches = 0;
    let mut found = Vec::new();
    for step in 0..scan {
        let index = if from_tail { len - 1 - step } else { step };
        if list[index] == *element {
            matches += 1;
            if matches >= first_match {
                found.push(index as i64);
                if found.len() as u64 == wanted {
                    break;
                }
            }
        }
    }
    drop(db);
    match (count, found.first()) {
        (Some(_), _) => {
            cx.out.array(found.len());
            found.iter().for_each(|&index| cx.out.int(index));
        }
        (None, Some(&index)) => cx.out.int(index),
        (None, None) => cx.out.null(),
    }
    Ok(())
}

// ---- changes in place ----

// LSET key index element
fn lset(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut db = cx.db_mut();
    let Some(list) = list_at_mut(&mut db, &args[1], now_ms())? else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    let index = int_arg(&args[2])?;
    let slot = position(index, list.len()).and_then(|i| list.get_mut(i));
    let Some(slot) = slot else {
        return Err(INDEX_OUT_OF_RANGE.into());
    };
    *slot = args[3].clone();
    db.modified(&args[1]);
    cx.notify(LIST, "lset", &args[1]);
    drop(db);
    cx.out.ok();
    Ok(())
}

// LINSERT key BEFORE | AFTER pivot element
fn linsert(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let after = if is(&args[2], "after") {
        true
    } else if is(&args[2], "before") {
        false
    } else {
        return Err(errors::SYNTAX.into());
    };
    let element = args[4].clone();
    let mut db = cx.db_mut();
    let reply = match list_at_mut(&mut db, &args[1], now_ms())? {
        None => 0,
        Some(list) => match list.iter().position(|e| *e == args[3]) {
            Some(pivot) => {
                list.insert(pivot + usize::from(after), element);
                cx.notify(LIST, "linsert", &args[1]);
                list.len() as i64
            }
            None => -1,
        },
    };
    if reply > 0 {
        db.modified(&args[1]);
    }
    drop(db);
    cx.out.int(reply);
    Ok(())
}

// LREM key count element
fn lrem(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let count = int_arg(&args[2])?;
    let element = &args[3];
    let now = now_ms();
    let mut db = cx.db_mut();
    let Some(list) = list_at_mut(&mut db, &args[1], now)? else {
        drop(db);
        cx.out.int(0);
        return Ok(());
    };
    let limit = match count {
        0 => usize::MAX,
        n => usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX),
    };
    // A negative count removes from the tail: walk the list reversed.
    let from_tail = count < 0;
    if from_tail {
        list.make_contiguous().reverse();
    }
    let mut removed = 0;
    list.retain(|e| {
        let hit = removed < limit && e == element;
        removed += usize::from(hit);
        !hit
    });
    if from_tail {
        list.make_contiguous().reverse();
    }
    let deleted = delete_if_empty(&mut db, &args[1], now);
    if removed > 0 {
        db.modified(&args[1]);
        notify_change(&db, &args[1], "lrem", deleted);
    }
    drop(db);
    cx.out.int(removed as i64);
    Ok(())
}

// LTRIM key start stop
fn ltrim(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let start = int_arg(&args[2])?;
    let end = int_arg(&args[3])?;
    let now = now_ms();
    let mut db = cx.db_mut();
    if let Some(list) = list_at_mut(&mut db, &args[1], now)? {
        match clamp_range(start, end, list.len()) {
            Some((start, end)) => {
                list.truncate(end + 1);
                list.drain(..start);
            }
            None => list.clear(),
        }
        db.modified(&args[1]);
        let deleted = delete_if_empty(&mut db, &args[1], now);
        notify_change(&db, &args[1], "ltrim", deleted);
    }
    drop(db);
    cx.out.ok();
    Ok(())
}
