//! String commands: GET, SET and the rest of the family.

use super::errors::{self, Error};
use super::flags::*;
use super::{int_arg, is, Args, CmdResult, Command, Context, KeySpec, ONE_KEY};
use crate::notify::class::{GENERIC, STRING};
use crate::store::{incr_by_float, Bytes, Db, IncrFloatError, Value};
use crate::util::{now_ms, parse_i64};

const DECREMENT_OVERFLOW: &str = "ERR decrement would overflow";
const LCS_NOT_STRINGS: &str = "ERR The specified keys must contain string values";
const LCS_LEN_AND_IDX: &str = "ERR If you want both the length and indexes, please just use IDX.";
const LCS_TOO_BIG: &str =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";

/// LCS's two keys.
const TWO_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

/// MSET and MSETNX: keys at 1, 3, 5...
const PAIRS: KeySpec = KeySpec {
    first: 1,
    last: -1,
    step: 2,
};

pub static COMMANDS: &[Command] = &[
    Command::new("get", 2, READONLY | FAST, ONE_KEY, "string", get),
    Command::new("set", -3, WRITE | DENYOOM, ONE_KEY, "string", set),
    Command::new(
        "getset",
        3,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "string",
        getset,
    ),
    Command::new("getdel", 2, WRITE | FAST, ONE_KEY, "string", getdel),
    Command::new("getex", -2, WRITE | FAST, ONE_KEY, "string", getex),
    Command::new("setnx", 3, WRITE | DENYOOM | FAST, ONE_KEY, "string", setnx),
    Command::new("setex", 4, WRITE | DENYOOM, ONE_KEY, "string", setex),
    Command::new("psetex", 4, WRITE | DENYOOM, ONE_KEY, "string", psetex),
    Command::new("mset", -3, WRITE | DENYOOM, PAIRS, "string", mset),
    Command::new("msetnx", -3, WRITE | DENYOOM, PAIRS, "string", msetnx),
    Command::new("mget", -2, READONLY | FAST, super::ALL_KEYS, "string", mget),
    Command::new(
        "append",
        3,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "string",
        append,
    ),
    Command::new("strlen", 2, READONLY | FAST, ONE_KEY, "string", strlen),
    Command::new("lcs", -3, READONLY, TWO_KEYS, "string", lcs),
    Command::new("incr", 2, WRITE | DENYOOM | FAST, ONE_KEY, "string", incr),
    Command::new("decr", 2, WRITE | DENYOOM | FAST, ONE_KEY, "string", decr),
    Command::new(
        "incrby",
        3,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "string",
        incrby,
    ),
    Command::new(
        "decrby",
        3,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "string",
        decrby,
    ),
    Command::new(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "string",
        incrbyfloat,
    ),
    Command::new("getrange", 4, READONLY, ONE_KEY, "string", getrange),
    Command::new("substr", 4, READONLY, ONE_KEY, "string", getrange),
    Command::new("setrange", 4, WRITE | DENYOOM, ONE_KEY, "string", setrange),
];

/// The string under `key`: None when missing, WRONGTYPE for other types.
#[inline]
fn string_at<'d>(db: &'d Db, key: &[u8], now: u64) -> Result<Option<&'d [u8]>, Error> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::Str(bytes)) => Ok(Some(bytes.as_slice())),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// Looks a string up for a read, counting the hit or miss as Redis does.
#[inline]
fn read_string<'d>(
    cx: &Context<'_>,
    db: &'d Db,
    key: &[u8],
    now: u64,
) -> Result<Option<&'d [u8]>, Error> {
    cx.count_lookup(key, db.contains(key, now));
    string_at(db, key, now)
}

/// Writes a string or a null reply.
#[inline]
fn reply_string(cx: &mut Context<'_>, value: Option<&[u8]>) {
    match value {
        Some(bytes) => cx.out.bulk(bytes),
        None => cx.out.null(),
    }
}

// ---- expiry options (SET, GETEX, SETEX, PSETEX) ----

/// How an expiry argument is read: seconds or milliseconds, and relative
/// to now (EX, PX) or a Unix time (EXAT, PXAT).
#[derive(Debug, Clone, Copy)]
struct ExpireUnit {
    seconds: bool,
    relative: bool,
}

const EX: ExpireUnit = ExpireUnit {
    seconds: true,
    relative: true,
};
const PX: ExpireUnit = ExpireUnit {
    seconds: false,
    relative: true,
};

/// Redis's `getExpireMillisecondsOrReply`: the absolute expiry time in
/// milliseconds, refusing zero, negative and overflowing values.
fn expire_at(command: &str, arg: &[u8], unit: ExpireUnit, now: u64) -> Result<u64, Error> {
    let n = int_arg(arg)?;
    let invalid = || errors::invalid_expire(command);
    if n <= 0 {
        return Err(invalid());
    }
    let ms = if unit.seconds {
        n.checked_mul(1000).ok_or_else(invalid)?
    } else {
        n
    };
    let at = if unit.relative {
        ms.checked_add(now as i64).ok_or_else(invalid)?
    } else {
        ms
    };
    Ok(at as u64)
}

// Option flags of SET and GETEX, as in Redis's parseExtendedStringArguments.
const OPT_NX: u16 = 1;
const OPT_XX: u16 = 1 << 1;
const OPT_GET: u16 = 1 << 2;
const OPT_KEEPTTL: u16 = 1 << 3;
const OPT_PERSIST: u16 = 1 << 4;
const OPT_EX: u16 = 1 << 5;
const OPT_PX: u16 = 1 << 6;
const OPT_EXAT: u16 = 1 << 7;
const OPT_PXAT: u16 = 1 << 8;
const OPT_TIMES: u16 = OPT_EX | OPT_PX | OPT_EXAT | OPT_PXAT;

/// One option: its name, its flag, the flags it cannot be combined with,
/// whether SET / GETEX accept it, and the unit of its value if it takes one.
struct StringOption {
    name: &'static str,
    flag: u16,
    conflicts: u16,
    in_set: bool,
    in_getex: bool,
    unit: Option<ExpireUnit>,
}

const fn time_option(name: &'static str, flag: u16, seconds: bool, relative: bool) -> StringOption {
    StringOption {
        name,
        flag,
        conflicts: (OPT_TIMES & !flag) | OPT_KEEPTTL | OPT_PERSIST,
        in_set: true,
        in_getex: true,
        unit: Some(ExpireUnit { seconds, relative }),
    }
}

static STRING_OPTIONS: &[StringOption] = &[
    StringOption {
        name: "nx",
        flag: OPT_NX,
        conflicts: OPT_XX,
        in_set: true,
        in_getex: false,
        unit: None,
    },
    StringOption {
        name: "xx",
        flag: OPT_XX,
        conflicts: OPT_NX,
        in_set: true,
        in_getex: false,
        unit: None,
    },
    StringOption {
        name: "get",
        flag: OPT_GET,
        conflicts: 0,
        in_set: true,
        in_getex: false,
        unit: None,
    },
    StringOption {
        name: "keepttl",
        flag: OPT_KEEPTTL,
        conflicts: OPT_TIMES | OPT_PERSIST,
        in_set: true,
        in_getex: false,
        unit: None,
    },
    StringOption {
        name: "persist",
        flag: OPT_PERSIST,
        conflicts: OPT_TIMES | OPT_KEEPTTL,
        in_set: false,
        in_getex: true,
        unit: None,
    },
    time_option("ex", OPT_EX, true, true),
    time_option("px", OPT_PX, false, true),
    time_option("exat", OPT_EXAT, true, false),
    time_option("pxat", OPT_PXAT, false, false),
];

/// Parsed options of SET or GETEX; `expire` is the last time option given.
struct StringOptions<'a> {
    flags: u16,
    expire: Option<(&'a [u8], ExpireUnit)>,
}

impl StringOptions<'_> {
    fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

/// Parses SET's (`getex == false`) or GETEX's options; any unknown,
/// misplaced or conflicting option is a syntax error.
fn parse_options(options: &[Vec<u8>], getex: bool) -> Result<StringOptions<'_>, Error> {
    let mut parsed = StringOptions {
        flags: 0,
        expire: None,
    };
    let mut i = 0;
    while i < options.len() {
        let option = STRING_OPTIONS
            .iter()
            .find(|o| is(&options[i], o.name))
            .filter(|o| if getex { o.in_getex } else { o.in_set })
            .filter(|o| parsed.flags & o.conflicts == 0)
            .ok_or(Error::from(errors::SYNTAX))?;
        if let Some(unit) = option.unit {
            let value = options.get(i + 1).ok_or(Error::from(errors::SYNTAX))?;
            parsed.expire = Some((value, unit));
            i += 1;
        }
        parsed.flags |= option.flag;
        i += 1;
    }
    Ok(parsed)
}

// ---- commands ----

// GET key
fn get(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let value = read_string(cx, &db, &args[1], now_ms())?;
    reply_string(cx, value);
    Ok(())
}

// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]
fn set(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let value = args[2].as_slice();
    let options = parse_options(&args[3..], false)?;
    let now = now_ms();
    let expire = match options.expire {
        Some((arg, unit)) => Some(expire_at("set", arg, unit, now)?),
        None => None,
    };
    let key = &args[1];
    // Copied before the database is locked: its other writers wait while
    // it is held.
    let stored_key = Bytes::from(key.as_slice());
    let stored_value = Value::Str(value.into());
    let mut db = cx.db_mut();
    if options.has(OPT_GET) {
        let old = read_string(cx, &db, key, now)?;
        reply_string(cx, old);
    }
    // Only NX and XX need to know; but the lookup also notes an expired
    // key it meets (its event comes first), so it is skipped only when no
    // key can have expired.
    let conditional = options.has(OPT_NX) || options.has(OPT_XX);
    let found = (conditional || db.volatile_len() > 0) && db.contains(key, now);
    if (options.has(OPT_NX) && found) || (options.has(OPT_XX) && !found) {
        if !options.has(OPT_GET) {
            cx.out.null();
        }
        return Ok(());
    }
    if options.has(OPT_KEEPTTL) {
        db.set_keep_ttl(stored_key, stored_value, now);
    } else {
        db.put(stored_key, stored_value, expire);
    }
    cx.notify(STRING, "set", key);
    if expire.is_some() {
        cx.notify(GENERIC, "expire", key);
    }
    if !options.has(OPT_GET) {
        cx.out.ok();
    }
    Ok(())
}

// GETSET key value
fn getset(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let (key, value) = (&args[1], args[2].as_slice());
    let mut db = cx.db_mut();
    let old = read_string(cx, &db, key, now_ms())?;
    reply_string(cx, old);
    db.set(key.as_slice().into(), Value::Str(value.into()));
    cx.notify(STRING, "set", key);
    Ok(())
}

// GETDEL key
fn getdel(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    let old = read_string(cx, &db, &args[1], now)?;
    reply_string(cx, old);
    if old.is_some() {
        db.remove(&args[1], now);
        cx.notify(GENERIC, "del", &args[1]);
    }
    Ok(())
}

// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]
fn getex(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let options = parse_options(&args[2..], true)?;
    let now = now_ms();
    let key = &args[1];
    let mut db = cx.db_mut();
    let Some(value) = read_string(cx, &db, key, now)? else {
        cx.out.null();
        return Ok(());
    };
    let expire = match options.expire {
        Some((arg, unit)) => Some((expire_at("getex", arg, unit, now)?, unit)),
        None => None,
    };
    cx.out.bulk(value);
    match expire {
        Some((at, unit)) if !unit.relative && at <= now => {
            db.remove(key, now);
            cx.notify(GENERIC, "del", key);
        }
        Some((at, _)) => {
            db.set_expire(key, at);
            cx.notify(GENERIC, "expire", key);
        }
        None if options.has(OPT_PERSIST) && db.persist(key) => {
            cx.notify(GENERIC, "persist", key);
        }
        None => {}
    }
    Ok(())
}

// SETNX key value
fn setnx(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    let created = !db.contains(&args[1], now);
    if created {
        db.set(
            args[1].as_slice().into(),
            Value::Str(args[2].as_slice().into()),
        );
        cx.notify(STRING, "set", &args[1]);
    }
    drop(db);
    cx.out.int(i64::from(created));
    Ok(())
}

/// SETEX and PSETEX: set with a relative expiry.
fn set_expiring(cx: &mut Context<'_>, args: &Args, command: &str, unit: ExpireUnit) -> CmdResult {
    let now = now_ms();
    let at = expire_at(command, &args[2], unit, now)?;
    cx.db_mut().put(
        args[1].as_slice().into(),
        Value::Str(args[3].as_slice().into()),
        Some(at),
    );
    cx.notify(STRING, "set", &args[1]);
    cx.notify(GENERIC, "expire", &args[1]);
    cx.out.ok();
    Ok(())
}

// SETEX key seconds value
fn setex(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    set_expiring(cx, args, "setex", EX)
}

// PSETEX key milliseconds value
fn psetex(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    set_expiring(cx, args, "psetex", PX)
}

/// Stores MSET's pairs, dropping any expiry of the keys.
fn set_pairs(db: &mut Db, args: &[Vec<u8>]) {
    for pair in args.chunks_exact(2) {
        db.set(
            pair[0].as_slice().into(),
            Value::Str(pair[1].as_slice().into()),
        );
        db.notify(STRING, "set", &pair[0]);
    }
}

// MSET key value [key value ...]
fn mset(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(errors::wrong_arity("mset"));
    }
    set_pairs(&mut cx.db_mut(), &args[1..]);
    cx.out.ok();
    Ok(())
}

// MSETNX key value [key value ...]
fn msetnx(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(errors::wrong_arity("msetnx"));
    }
    let now = now_ms();
    let mut db = cx.db_mut();
    let any_exists = args[1..].iter().step_by(2).any(|key| db.contains(key, now));
    if !any_exists {
        set_pairs(&mut db, &args[1..]);
    }
    drop(db);
    cx.out.int(i64::from(!any_exists));
    Ok(())
}

// MGET key [key ...]
fn mget(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let db = cx.db();
    cx.out.array(args.len() - 1);
    for key in &args[1..] {
        let value = db.get(key, now);
        cx.count_lookup(key, value.is_some());
        match value {
            Some(Value::Str(bytes)) => cx.out.bulk(bytes),
            _ => cx.out.null(),
        }
    }
    Ok(())
}

/// Refuses a string that would grow past proto-max-bulk-len, before
/// anything is allocated (Redis's `checkStringLength`).
fn check_length(cx: &Context<'_>, size: u64, append: u64) -> CmdResult {
    let limit = cx.shared.config().proto_max_bulk_len() as u64;
    match size.checked_add(append) {
        Some(total) if total <= limit => Ok(()),
        _ => Err(errors::STRING_TOO_LONG.into()),
    }
}

// APPEND key value
fn append(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    let len = match db.get_mut(&args[1], now) {
        Some(Value::Str(bytes)) => {
            check_length(cx, bytes.len() as u64, args[2].len() as u64)?;
            bytes.edit(|b| b.extend_from_slice(&args[2]));
            let len = bytes.len();
            db.mark_raw(&args[1]);
            len
        }
        Some(_) => return Err(errors::WRONGTYPE.into()),
        None => {
            db.set(
                args[1].as_slice().into(),
                Value::Str(args[2].as_slice().into()),
            );
            args[2].len()
        }
    };
    db.modified(&args[1]);
    cx.notify(STRING, "append", &args[1]);
    drop(db);
    cx.out.int(len as i64);
    Ok(())
}

// STRLEN key
fn strlen(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let len = read_string(cx, &db, &args[1], now_ms())?.map_or(0, <[u8]>::len);
    drop(db);
    cx.out.int(len as i64);
    Ok(())
}

/// INCR, DECR, INCRBY, DECRBY: adds `delta` to the integer under `key`
/// (missing counts as 0), keeping the key's expiry.
fn incr_by(cx: &mut Context<'_>, key: &[u8], delta: i64) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    let add = |bytes: &[u8]| {
        let current = parse_i64(bytes).ok_or(Error::from(errors::NOT_INTEGER))?;
        current
            .checked_add(delta)
            .ok_or(Error::from(errors::OVERFLOW))
    };
    let mut digits = [0u8; 20];
    // A live string (the common case) is found and changed with one lookup;
    // a missing or expired key takes the general path.
    let new = match db.get_live_mut(key, now) {
        Some(Value::Str(bytes)) => {
            let new = add(bytes.as_slice())?;
            *bytes = crate::util::i64_text(new, &mut digits).into();
            new
        }
        Some(_) => return Err(errors::WRONGTYPE.into()),
        None => {
            let new = add(string_at(&db, key, now)?.unwrap_or(b"0"))?;
            *db.get_or_insert_with(key, now, || Value::Str(Bytes::new())) =
                Value::Str(crate::util::i64_text(new, &mut digits).into());
            new
        }
    };
    db.modified(key);
    cx.notify(STRING, "incrby", key);
    drop(db);
    cx.out.int(new);
    Ok(())
}

// INCR key
fn incr(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    incr_by(cx, &args[1], 1)
}

// DECR key
fn decr(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    incr_by(cx, &args[1], -1)
}

// INCRBY key increment
fn incrby(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let delta = int_arg(&args[2])?;
    incr_by(cx, &args[1], delta)
}

// DECRBY key decrement
fn decrby(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let delta = int_arg(&args[2])?;
    let delta = delta.checked_neg().ok_or(Error::from(DECREMENT_OVERFLOW))?;
    incr_by(cx, &args[1], delta)
}

// INCRBYFLOAT key increment
fn incrbyfloat(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    let current = string_at(&db, &args[1], now)?;
    let sum = incr_by_float(current, &args[2]).map_err(|e| match e {
        IncrFloatError::NotFloat => Error::from(errors::NOT_FLOAT),
        IncrFloatError::NanOrInfinity => Error::from(errors::INCR_NAN_OR_INF),
    })?;
    *db.get_or_insert_with(&args[1], now, || Value::Str(Bytes::new())) =
        Value::Str(sum.as_slice().into());
    db.modified(&args[1]);
    cx.notify(STRING, "incrbyfloat", &args[1]);
    drop(db);
    cx.out.bulk(&sum);
    Ok(())
}

// GETRANGE key start end
fn getrange(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let start = int_arg(&args[2])?;
    let end = int_arg(&args[3])?;
    let db = cx.db();
    let bytes = read_string(cx, &db, &args[1], now_ms())?.unwrap_or_default();
    let len = bytes.len() as i64;
    // Redis's index arithmetic, corner cases included.
    if start < 0 && end < 0 && start > end {
        cx.out.bulk(b"");
        return Ok(());
    }
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end }.max(0).min(len - 1);
    if start > end || len == 0 {
        cx.out.bulk(b"");
    } else {
        cx.out.bulk(&bytes[start as usize..=end as usize]);
    }
    Ok(())
}

// SETRANGE key offset value
fn setrange(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let offset = int_arg(&args[2])?;
    if offset < 0 {
        return Err(errors::OFFSET_OUT_OF_RANGE.into());
    }
    let offset = offset as u64;
    let patch = &args[3];
    let now = now_ms();
    let mut db = cx.db_mut();
    let existing_len = string_at(&db, &args[1], now)?.map(<[u8]>::len);
    if patch.is_empty() {
        cx.out.int(existing_len.unwrap_or(0) as i64);
        return Ok(());
    }
    check_length(cx, offset, patch.len() as u64)?;
    let Value::Str(bytes) = db.get_or_insert_with(&args[1], now, || Value::Str(Bytes::new()))
    else {
        return Err(errors::WRONGTYPE.into());
    };
    let offset = offset as usize;
    let end = offset + patch.len();
    let len = bytes.edit(|bytes| {
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[offset..end].copy_from_slice(patch);
        bytes.len()
    });
    db.modified(&args[1]);
    db.mark_raw(&args[1]);
    cx.notify(STRING, "setrange", &args[1]);
    drop(db);
    cx.out.int(len as i64);
    Ok(())
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]
fn lcs(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let db = cx.db();
    // Both keys are looked up before either's type is checked.
    let (a, b) = (db.get(&args[1], now), db.get(&args[2], now));
    cx.count_lookup(&args[1], a.is_some());
    cx.count_lookup(&args[2], b.is_some());
    let string = |value: Option<&Value>| match value {
        None => Ok(Vec::new()),
        Some(Value::Str(bytes)) => Ok(bytes.to_vec()),
        Some(_) => Err(Error::from(LCS_NOT_STRINGS)),
    };
    let (a, b) = (string(a)?, string(b)?);
    drop(db);
    let (mut len_only, mut with_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len = 0;
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(&args[i], "idx") {
            with_idx = true;
        } else if is(&args[i], "len") {
            len_only = true;
        } else if is(&args[i], "withmatchlen") {
            with_match_len = true;
        } else if is(&args[i], "minmatchlen") && more {
            min_match_len = int_arg(&args[i + 1])?.max(0) as u64;
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if len_only && with_idx {
        return Err(LCS_LEN_AND_IDX.into());
    }
    // The table of u32 lengths, bounded as Redis bounds it.
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    let max = u64::try_from(cx.shared.config().proto_max_bulk_len()).unwrap_or(0);
    if cells.saturating_mul(4) > max {
        return Err(LCS_TOO_BIG.into());
    }
    let width = b.len() + 1;
    // lengths[i * width + j]: the LCS length of a[..i] and b[..j].
    let mut lengths = vec![0u32; (a.len() + 1) * width];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            lengths[i * width + j] = if a[i - 1] == b[j - 1] {
                lengths[(i - 1) * width + j - 1] + 1
            } else {
                lengths[(i - 1) * width + j].max(lengths[i * width + j - 1])
            };
        }
    }
    let total = lengths[a.len() * width + b.len()];
    if len_only {
        cx.out.int(i64::from(total));
        return Ok(());
    }
    // Walk back from the end, spelling the subsequence and collecting the
    // matching ranges (last first), as Redis does.
    let mut common = vec![0u8; total as usize];
    let mut left = total as usize;
    let mut ranges: Vec<[u64; 4]> = Vec::new();
    let (mut i, mut j) = (a.len(), b.len());
    // The range being grown: a's start and end, b's start and end.
    let mut range: Option<[usize; 4]> = None;
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            common[left - 1] = a[i - 1];
            match &mut range {
                None => range = Some([i - 1, i - 1, j - 1, j - 1]),
                Some(r) if r[0] == i && r[2] == j => {
                    r[0] -= 1;
                    r[2] -= 1;
                }
                Some(_) => emit = true,
            }
            if range.is_some_and(|r| r[0] == 0 || r[2] == 0) {
                emit = true;
            }
            left -= 1;
            i -= 1;
            j -= 1;
        } else {
            if lengths[(i - 1) * width + j] > lengths[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = range.is_some();
        }
        if emit {
            if let Some(r) = range.take() {
                let match_len = (r[1] - r[0] + 1) as u64;
                if match_len >= min_match_len {
                    ranges.push([r[0] as u64, r[1] as u64, r[2] as u64, r[3] as u64]);
                }
            }
        }
    }
    if !with_idx {
        cx.out.bulk(&common);
        return Ok(());
    }
    cx.out.map(2);
    cx.out.bulk(b"matches");
    cx.out.array(ranges.len());
    for [a_start, a_end, b_start, b_end] in ranges {
        cx.out.array(2 + usize::from(with_match_len));
        cx.out.array(2);
        cx.out.int(a_start as i64);
        cx.out.int(a_end as i64);
        cx.out.array(2);
        cx.out.int(b_start as i64);
        cx.out.int(b_end as i64);
        if with_match_len {
            cx.out.int((a_end - a_start + 1) as i64);
        }
    }
    cx.out.bulk(b"len");
    cx.out.int(i64::from(total));
    Ok(())
}
