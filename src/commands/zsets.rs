//! Sorted set commands: ZADD, ZRANGE, ZRANK and the rest of the family.
//!
//! Every range command (ZRANGE and its older spellings, ZRANGESTORE, ZCOUNT,
//! ZREMRANGEBY*) turns its arguments into a [`RangeBy`], which the sorted set
//! answers as a span of ranks; LIMIT and REV then pick from that span.

use std::collections::hash_map::HashMap;
use std::collections::HashSet;
use std::ops::Range;

use super::errors::{self, Error};
use super::flags::*;
use super::{
    float_arg, int_arg, is, scan, timeout_arg, Args, CmdResult, Command, Context, KeySpec, NO_KEYS,
    ONE_KEY,
};
use crate::blocking::DbKey;
use crate::notify::class::{GENERIC, ZSET};
use crate::resp::Reply;
use crate::store::{glob_match, Db, Key, LexBound, ScoreBound, Set, Value, ZSet};
use crate::util::{now_ms, parse_f64, strtod, Rng};

const XX_AND_NX: &str = "ERR XX and NX options at the same time are not compatible";
const GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
const INCR_ONE_PAIR: &str = "ERR INCR option supports a single increment-element pair";
const SCORE_NAN: &str = "ERR resulting score is not a number (NaN)";
const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";
const LIMIT_NEEDS_BY: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
const WITHSCORES_BYLEX: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";
const NUMKEYS_POSITIVE: &str = "ERR numkeys should be greater than 0";
const COUNT_POSITIVE: &str = "ERR count should be greater than 0";
const WEIGHT_NOT_FLOAT: &str = "ERR weight value is not a float";
const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
const OUT_OF_RANGE: &str = "ERR value is out of range";
const RANDMEMBER_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";

/// ZRANGESTORE: destination and source.
const TWO_KEYS: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

/// Redis answers ZSCAN on a set this small (a listpack there) in one reply.
const SMALL_SCAN: usize = 128;

/// BZPOPMIN and BZPOPMAX: every argument but the last (the timeout) is a key.
const KEYS_BEFORE_TIMEOUT: KeySpec = KeySpec {
    first: 1,
    last: -2,
    step: 1,
};

pub static COMMANDS: &[Command] = &[
    Command::new(
        "zadd",
        -4,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "sorted-set",
        zadd,
    ),
    Command::new(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "sorted-set",
        zincrby,
    ),
    Command::new("zscore", 3, READONLY | FAST, ONE_KEY, "sorted-set", zscore),
    Command::new(
        "zmscore",
        -3,
        READONLY | FAST,
        ONE_KEY,
        "sorted-set",
        zmscore,
    ),
    Command::new("zcard", 2, READONLY | FAST, ONE_KEY, "sorted-set", zcard),
    Command::new("zcount", 4, READONLY | FAST, ONE_KEY, "sorted-set", zcount),
    Command::new(
        "zlexcount",
        4,
        READONLY | FAST,
        ONE_KEY,
        "sorted-set",
        zlexcount,
    ),
    Command::new("zrank", 3, READONLY | FAST, ONE_KEY, "sorted-set", zrank),
    Command::new(
        "zrevrank",
        3,
        READONLY | FAST,
        ONE_KEY,
        "sorted-set",
        zrevrank,
    ),
    Command::new("zrange", -4, READONLY, ONE_KEY, "sorted-set", zrange),
    Command::new(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        TWO_KEYS,
        "sorted-set",
        zrangestore,
    ),
    Command::new(
        "zrangebyscore",
        -4,
        READONLY,
        ONE_KEY,
        "sorted-set",
        zrangebyscore,
    ),
    Command::new(
        "zrevrangebyscore",
        -4,
        READONLY,
        ONE_KEY,
        "sorted-set",
        zrevrangebyscore,
    ),
    Command::new(
        "zrangebylex",
        -4,
        READONLY,
        ONE_KEY,
        "sorted-set",
        zrangebylex,
    ),
    Command::new(
        "zrevrangebylex",
        -4,
        READONLY,
        ONE_KEY,
        "sorted-set",
        zrevrangebylex,
    ),
    Command::new("zrevrange", -4, READONLY, ONE_KEY, "sorted-set", zrevrange),
    Command::new("zrem", -3, WRITE | FAST, ONE_KEY, "sorted-set", zrem),
    Command::new(
        "zremrangebyrank",
        4,
        WRITE,
        ONE_KEY,
        "sorted-set",
        zremrangebyrank,
    ),
    Command::new(
        "zremrangebyscore",
        4,
        WRITE,
        ONE_KEY,
        "sorted-set",
        zremrangebyscore,
    ),
    Command::new(
        "zremrangebylex",
        4,
        WRITE,
        ONE_KEY,
        "sorted-set",
        zremrangebylex,
    ),
    Command::new("zpopmin", -2, WRITE | FAST, ONE_KEY, "sorted-set", zpopmin),
    Command::new("zpopmax", -2, WRITE | FAST, ONE_KEY, "sorted-set", zpopmax),
    Command::new("zmpop", -4, WRITE, NO_KEYS, "sorted-set", zmpop),
    Command::new(
        "bzpopmin",
        -3,
        WRITE | NOSCRIPT | FAST | BLOCKING,
        KEYS_BEFORE_TIMEOUT,
        "sorted-set",
        bzpopmin,
    ),
    Command::new(
        "bzpopmax",
        -3,
        WRITE | NOSCRIPT | FAST | BLOCKING,
        KEYS_BEFORE_TIMEOUT,
        "sorted-set",
        bzpopmax,
    ),
    Command::new(
        "bzmpop",
        -5,
        WRITE | BLOCKING,
        NO_KEYS,
        "sorted-set",
        bzmpop,
    ),
    Command::new(
        "zrandmember",
        -2,
        READONLY,
        ONE_KEY,
        "sorted-set",
        zrandmember,
    ),
    Command::new("zunion", -3, READONLY, NO_KEYS, "sorted-set", zunion),
    Command::new("zinter", -3, READONLY, NO_KEYS, "sorted-set", zinter),
    Command::new("zdiff", -3, READONLY, NO_KEYS, "sorted-set", zdiff),
    Command::new(
        "zunionstore",
        -4,
        WRITE | DENYOOM,
        ONE_KEY,
        "sorted-set",
        zunionstore,
    ),
    Command::new(
        "zinterstore",
        -4,
        WRITE | DENYOOM,
        ONE_KEY,
        "sorted-set",
        zinterstore,
    ),
    Command::new(
        "zdiffstore",
        -4,
        WRITE | DENYOOM,
        ONE_KEY,
        "sorted-set",
        zdiffstore,
    ),
    Command::new(
        "zintercard",
        -3,
        READONLY,
        NO_KEYS,
        "sorted-set",
        zintercard,
    ),
    Command::new("zscan", -3, READONLY, ONE_KEY, "sorted-set", zscan),
];

// ---- lookups and replies ----

/// The sorted set under `key`: None when missing, WRONGTYPE for other types.
fn zset_at<'d>(db: &'d Db, key: &[u8], now: u64) -> Result<Option<&'d ZSet>, Error> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// Looks a sorted set up for a read, counting the hit or miss.
fn read_zset<'d>(
    cx: &Context<'_>,
    db: &'d Db,
    key: &[u8],
    now: u64,
) -> Result<Option<&'d ZSet>, Error> {
    cx.count_lookup(key, db.contains(key, now));
    zset_at(db, key, now)
}

/// The sorted set under `key`, to change in place.
fn zset_mut<'d>(db: &'d mut Db, key: &[u8], now: u64) -> Result<Option<&'d mut ZSet>, Error> {
    match db.get_mut(key, now) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// Deletes `key` if its sorted set has become empty; true if it did.
fn drop_if_empty(db: &mut Db, key: &[u8], now: u64) -> bool {
    let empty = matches!(db.get(key, now), Some(Value::ZSet(z)) if z.is_empty());
    if empty {
        db.remove(key, now);
    }
    empty
}

/// Logs `event` about a sorted set, then `del` when that emptied it.
fn notify_change(db: &Db, key: &[u8], event: &'static str, deleted: bool) {
    db.notify(ZSET, event, key);
    if deleted {
        db.notify(GENERIC, "del", key);
    }
}

/// Stores `z` under `dst` (clearing any expiry), or deletes `dst` when `z` is
/// empty, as the *STORE commands do (logging `event` or `del`); returns the
/// size.
pub(super) fn store_result(
    db: &mut Db,
    dst: &[u8],
    z: ZSet,
    now: u64,
    event: &'static str,
) -> usize {
    let len = z.len();
    if z.is_empty() {
        if db.remove(dst, now).is_some() {
            db.notify(GENERIC, "del", dst);
        }
    } else {
        db.set(dst.into(), Value::ZSet(Box::new(z)));
        db.notify(ZSET, event, dst);
    }
    len
}

/// Members, with their scores when asked: RESP2 flattens them into
/// `[m1, s1, m2, s2]`, RESP3 nests `[[m1, s1], [m2, s2]]`.
fn reply_members(out: &mut Reply, entries: &[(&[u8], f64)], withscores: bool) {
    let len = entries.len();
    let flat = withscores && !out.resp3;
    out.array(if flat { 2 * len } else { len });
    for &(member, score) in entries {
        if withscores && out.resp3 {
            out.array(2);
        }
        out.bulk(member);
        if withscores {
            out.double(score);
        }
    }
}

fn reply_score(out: &mut Reply, score: Option<f64>) {
    match score {
        Some(score) => out.double(score),
        None => out.null(),
    }
}

fn as_refs(entries: &[(Key, f64)]) -> Vec<(&[u8], f64)> {
    entries.iter().map(|(m, s)| (&m[..], *s)).collect()
}

// ---- ZADD, ZINCRBY ----

/// What ZADD's flags ask for.
#[derive(Debug, Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What one ZADD element did.
enum Added {
    New(f64),
    Updated(f64),
    Unchanged(f64),
    /// Refused by NX, XX, GT or LT.
    Skipped,
}

/// Redis's `zsetAdd`: applies one (score, member) under the flags.
fn add_one(z: &mut ZSet, member: &[u8], score: f64, flags: AddFlags) -> Result<Added, Error> {
    let Some(current) = z.score(member) else {
        if flags.xx {
            return Ok(Added::Skipped);
        }
        z.insert(member, score);
        // ZINCRBY/ZADD INCR reply with the increment itself: `-0` stays.
        return Ok(Added::New(score));
    };
    if flags.nx {
        return Ok(Added::Skipped);
    }
    // + 0.0 turns -0 into 0, as the store keeps it.
    let score = if flags.incr { current + score } else { score } + 0.0;
    if score.is_nan() {
        return Err(SCORE_NAN.into());
    }
    if (flags.lt && score >= current) || (flags.gt && score <= current) {
        return Ok(Added::Skipped);
    }
    if score == current {
        return Ok(Added::Unchanged(score));
    }
    z.insert(member, score);
    Ok(Added::Updated(score))
}

// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
pub(super) fn zadd(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut flags = AddFlags::default();
    let mut first = 2;
    while let Some(arg) = args.get(first) {
        match arg.to_ascii_lowercase().as_slice() {
            b"nx" => flags.nx = true,
            b"xx" => flags.xx = true,
            b"gt" => flags.gt = true,
            b"lt" => flags.lt = true,
            b"ch" => flags.ch = true,
            b"incr" => flags.incr = true,
            _ => break,
        }
        first += 1;
    }
    let pairs = &args[first..];
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return Err(errors::SYNTAX.into());
    }
    if flags.nx && flags.xx {
        return Err(XX_AND_NX.into());
    }
    if [flags.gt, flags.lt, flags.nx]
        .iter()
        .filter(|&&f| f)
        .count()
        > 1
    {
        return Err(GT_LT_NX.into());
    }
    if flags.incr && pairs.len() > 2 {
        return Err(INCR_ONE_PAIR.into());
    }
    // Every score is checked before anything changes: all or nothing.
    let scores = pairs
        .chunks(2)
        .map(|pair| float_arg(&pair[0]))
        .collect::<Result<Vec<f64>, Error>>()?;
    add_generic(cx, &args[1], pairs, &scores, flags)
}

// ZINCRBY key increment member
fn zincrby(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let increment = float_arg(&args[2])?;
    let flags = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    add_generic(cx, &args[1], &args[2..], &[increment], flags)
}

fn add_generic(
    cx: &mut Context<'_>,
    key: &[u8],
    pairs: &[Vec<u8>],
    scores: &[f64],
    flags: AddFlags,
) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    // Only XX needs to know beforehand (a wrong type is refused below
    // too); but the lookup also notes an expired key it meets, so it is
    // skipped only when no key can have expired.
    let exists = (flags.xx || db.volatile_len() > 0) && zset_at(&db, key, now)?.is_some();
    let (mut added, mut changed, mut last_score) = (0, 0, None);
    if exists || !flags.xx {
        let z = match db.get_or_insert_with(key, now, || Value::ZSet(Box::default())) {
            Value::ZSet(z) => z,
            _ => return Err(errors::WRONGTYPE.into()),
        };
        for (pair, &score) in pairs.chunks(2).zip(scores) {
            match add_one(z, &pair[1], score, flags)? {
                Added::New(s) => {
                    added += 1;
                    last_score = Some(s);
                }
                Added::Updated(s) => {
                    changed += 1;
                    last_score = Some(s);
                }
                Added::Unchanged(s) => last_score = Some(s),
                Added::Skipped => last_score = None,
            }
        }
        // Known here, without looking the key up again.
        if z.is_empty() {
            drop_if_empty(&mut db, key, now);
        }
        if added + changed > 0 {
            db.modified(key);
            db.notify(ZSET, if flags.incr { "zincr" } else { "zadd" }, key);
        }
    }
    drop(db);
    if added > 0 {
        cx.key_ready(cx.session.db, key);
    }
    if flags.incr {
        reply_score(cx.out, last_score);
    } else {
        cx.out.int(if flags.ch { added + changed } else { added });
    }
    Ok(())
}

// ---- single-member reads ----

// ZSCORE key member
fn zscore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let z = read_zset(cx, &db, &args[1], now_ms())?;
    reply_score(cx.out, z.and_then(|z| z.score(&args[2])));
    Ok(())
}

// ZMSCORE key member [member ...]
fn zmscore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let z = read_zset(cx, &db, &args[1], now_ms())?;
    cx.out.array(args.len() - 2);
    for member in &args[2..] {
        reply_score(cx.out, z.and_then(|z| z.score(member)));
    }
    Ok(())
}

// ZCARD key
fn zcard(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let z = read_zset(cx, &db, &args[1], now_ms())?;
    cx.out.int(z.map_or(0, |z| z.len() as i64));
    Ok(())
}

fn rank_generic(cx: &mut Context<'_>, args: &Args, reverse: bool) -> CmdResult {
    let db = cx.db();
    let z = read_zset(cx, &db, &args[1], now_ms())?;
    match z.and_then(|z| Some((z.rank(&args[2])?, z.len()))) {
        Some((rank, len)) => {
            let rank = if reverse { len - 1 - rank } else { rank };
            cx.out.int(rank as i64);
        }
        None => cx.out.null(),
    }
    Ok(())
}

// ZRANK key member
fn zrank(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    rank_generic(cx, args, false)
}

// ZREVRANK key member
fn zrevrank(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    rank_generic(cx, args, true)
}

// ---- ranges ----

/// A score bound as Redis writes it: `1.5`, `(1.5`, `-inf`, `+inf`. Redis
/// reads it with a bare `strtod`: leading spaces pass, an empty number is 0
/// and one out of range is an infinity (or 0); only NaN and text after the
/// number are refused.
fn score_bound(arg: &[u8]) -> Result<ScoreBound, Error> {
    let (exclusive, text) = match arg {
        [b'(', rest @ ..] => (true, rest),
        _ => (false, arg),
    };
    let value = match strtod(text) {
        _ if text.is_empty() => 0.0,
        Some((value, _)) if !value.is_nan() => value,
        _ => return Err(NOT_FLOAT_RANGE.into()),
    };
    Ok(ScoreBound { value, exclusive })
}

/// A lexicographic bound: `-`, `+`, `[member` or `(member`.
fn lex_bound(arg: &[u8]) -> Result<LexBound, Error> {
    match arg {
        b"-" => Ok(LexBound::NegInf),
        b"+" => Ok(LexBound::PosInf),
        [b'[', rest @ ..] => Ok(LexBound::Inclusive(rest.to_vec())),
        [b'(', rest @ ..] => Ok(LexBound::Exclusive(rest.to_vec())),
        _ => Err(NOT_LEX_RANGE.into()),
    }
}

/// How a range names its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// A parsed range, in ascending terms (REV has already swapped the ends).
enum RangeBy {
    /// Ranks as given: negative counts from the end, in REV from the top.
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

impl RangeBy {
    fn parse(by: By, min: &[u8], max: &[u8]) -> Result<RangeBy, Error> {
        Ok(match by {
            By::Rank => RangeBy::Rank(int_arg(min)?, int_arg(max)?),
            By::Score => RangeBy::Score(score_bound(min)?, score_bound(max)?),
            By::Lex => RangeBy::Lex(lex_bound(min)?, lex_bound(max)?),
        })
    }

    /// The ascending ranks the range covers in `z`.
    fn ranks(&self, z: &ZSet, reverse: bool) -> Range<usize> {
        match self {
            RangeBy::Rank(start, end) => {
                let ranks = clamp_ranks(*start, *end, z.len());
                if reverse {
                    z.len() - ranks.end..z.len() - ranks.start
                } else {
                    ranks
                }
            }
            RangeBy::Score(min, max) => z.score_ranks(*min, *max),
            RangeBy::Lex(min, max) => z.lex_ranks(min, max, reverse),
        }
    }
}

/// Redis's rank arithmetic: negative ranks count from the end, then the
/// range is clipped to the set; an empty range when nothing is left.
fn clamp_ranks(start: i64, end: i64, len: usize) -> Range<usize> {
    let len = len as i64;
    let start = if start < 0 {
        (start + len).max(0)
    } else {
        start
    };
    let end = if end < 0 { end + len } else { end };
    if start > end || start >= len {
        return 0..0;
    }
    start as usize..(end.min(len - 1) + 1) as usize
}

/// Everything a ZRANGE-like command asked for.
struct RangeQuery {
    by: RangeBy,
    reverse: bool,
    offset: i64,
    /// Negative: no limit.
    limit: i64,
    withscores: bool,
}

impl RangeQuery {
    /// Parses `<min> <max> [options]` starting at `args[at]` as Redis's
    /// `zrangeGenericCommand` does. `by` and `reverse` are fixed by the
    /// older commands (ZRANGEBYSCORE...), None lets options choose.
    fn parse(
        args: &[Vec<u8>],
        at: usize,
        mut by: Option<By>,
        mut reverse: Option<bool>,
        store: bool,
    ) -> Result<RangeQuery, Error> {
        let (mut offset, mut limit, mut withscores) = (0, -1, false);
        let mut i = at + 2;
        while i < args.len() {
            let arg = &args[i];
            let left = args.len() - i - 1;
            if !store && is(arg, "withscores") {
                withscores = true;
            } else if is(arg, "limit") && left >= 2 {
                offset = int_arg(&args[i + 1])?;
                limit = int_arg(&args[i + 2])?;
                i += 2;
            } else if reverse.is_none() && is(arg, "rev") {
                reverse = Some(true);
            } else if by.is_none() && is(arg, "bylex") {
                by = Some(By::Lex);
            } else if by.is_none() && is(arg, "byscore") {
                by = Some(By::Score);
            } else {
                return Err(errors::SYNTAX.into());
            }
            i += 1;
        }
        let by = by.unwrap_or(By::Rank);
        let reverse = reverse.unwrap_or(false);
        if limit != -1 && by == By::Rank {
            return Err(LIMIT_NEEDS_BY.into());
        }
        if withscores && by == By::Lex {
            return Err(WITHSCORES_BYLEX.into());
        }
        // REV BYSCORE and REV BYLEX take the range as <max> <min>.
        let (min, max) = if reverse && by != By::Rank {
            (&args[at + 1], &args[at])
        } else {
            (&args[at], &args[at + 1])
        };
        Ok(RangeQuery {
            by: RangeBy::parse(by, min, max)?,
            reverse,
            offset,
            limit,
            withscores,
        })
    }

    /// The selected entries, in reply order.
    fn select<'z>(&self, z: &'z ZSet) -> Vec<(&'z [u8], f64)> {
        let ranks = self.by.ranks(z, self.reverse);
        let Ok(skip) = usize::try_from(self.offset) else {
            return Vec::new();
        };
        let take = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let count = ranks.len().saturating_sub(skip).min(take);
        if count == 0 {
            return Vec::new();
        }
        if self.reverse {
            z.iter_rev_from(ranks.end - 1 - skip).take(count).collect()
        } else {
            z.iter_from(ranks.start + skip).take(count).collect()
        }
    }
}

fn range_generic(
    cx: &mut Context<'_>,
    args: &Args,
    by: Option<By>,
    reverse: Option<bool>,
) -> CmdResult {
    let query = RangeQuery::parse(args, 2, by, reverse, false)?;
    let db = cx.db();
    let z = read_zset(cx, &db, &args[1], now_ms())?;
    let selected = z.map(|z| query.select(z)).unwrap_or_default();
    reply_members(cx.out, &selected, query.withscores);
    Ok(())
}

// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
fn zrange(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    range_generic(cx, args, None, None)
}

// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
fn zrangebyscore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    range_generic(cx, args, Some(By::Score), Some(false))
}

// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
fn zrevrangebyscore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    range_generic(cx, args, Some(By::Score), Some(true))
}

// ZRANGEBYLEX key min max [LIMIT offset count]
fn zrangebylex(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    range_generic(cx, args, Some(By::Lex), Some(false))
}

// ZREVRANGEBYLEX key max min [LIMIT offset count]
fn zrevrangebylex(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    range_generic(cx, args, Some(By::Lex), Some(true))
}

// ZREVRANGE key start stop [WITHSCORES]
fn zrevrange(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    range_generic(cx, args, Some(By::Rank), Some(true))
}

// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]
fn zrangestore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let query = RangeQuery::parse(args, 3, None, None, true)?;
    let now = now_ms();
    let mut db = cx.db_mut();
    let mut result = ZSet::new();
    if let Some(z) = read_zset(cx, &db, &args[2], now)? {
        for (member, score) in query.select(z) {
            result.insert(member, score);
        }
    }
    let len = store_result(&mut db, &args[1], result, now, "zrangestore");
    drop(db);
    if len > 0 {
        cx.key_ready(cx.session.db, &args[1]);
    }
    cx.out.int(len as i64);
    Ok(())
}

fn count_generic(cx: &mut Context<'_>, args: &Args, by: By) -> CmdResult {
    let range = RangeBy::parse(by, &args[2], &args[3])?;
    let db = cx.db();
    let z = read_zset(cx, &db, &args[1], now_ms())?;
    cx.out
        .int(z.map_or(0, |z| range.ranks(z, false).len() as i64));
    Ok(())
}

// ZCOUNT key min max
fn zcount(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    count_generic(cx, args, By::Score)
}

// ZLEXCOUNT key min max
fn zlexcount(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    count_generic(cx, args, By::Lex)
}

// ---- removal ----

// ZREM key member [member ...]
fn zrem(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    let mut removed = 0;
    if let Some(z) = zset_mut(&mut db, &args[1], now)? {
        removed = args[2..].iter().filter(|m| z.remove(m).is_some()).count();
        let deleted = drop_if_empty(&mut db, &args[1], now);
        if removed > 0 {
            db.modified(&args[1]);
            notify_change(&db, &args[1], "zrem", deleted);
        }
    }
    drop(db);
    cx.out.int(removed as i64);
    Ok(())
}

fn remrange_generic(cx: &mut Context<'_>, args: &Args, by: By, event: &'static str) -> CmdResult {
    let range = RangeBy::parse(by, &args[2], &args[3])?;
    let now = now_ms();
    let mut db = cx.db_mut();
    let mut removed = 0;
    if let Some(z) = zset_mut(&mut db, &args[1], now)? {
        removed = z.remove_ranks(range.ranks(z, false)).len();
        let deleted = drop_if_empty(&mut db, &args[1], now);
        if removed > 0 {
            db.modified(&args[1]);
            notify_change(&db, &args[1], event, deleted);
        }
    }
    drop(db);
    cx.out.int(removed as i64);
    Ok(())
}

// ZREMRANGEBYRANK key start stop
fn zremrangebyrank(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    remrange_generic(cx, args, By::Rank, "zremrangebyrank")
}

// ZREMRANGEBYSCORE key min max
fn zremrangebyscore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    remrange_generic(cx, args, By::Score, "zremrangebyscore")
}

// ZREMRANGEBYLEX key min max
fn zremrangebylex(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    remrange_generic(cx, args, By::Lex, "zremrangebylex")
}

// ---- popping (the blocking variants reuse these) ----

/// What ZMPOP pops: the key and its (member, score) pairs.
pub(super) type Popped = (Vec<u8>, Vec<(Key, f64)>);

/// Pops up to `count` lowest (or highest, `max`) members of `key`, deleting
/// the key when it empties. None when the key is missing.
pub(super) fn pop(
    db: &mut Db,
    key: &[u8],
    count: usize,
    max: bool,
    now: u64,
) -> Result<Option<Vec<(Key, f64)>>, Error> {
    let Some(z) = zset_mut(db, key, now)? else {
        return Ok(None);
    };
    let count = count.min(z.len());
    let ranks = if max {
        z.len() - count..z.len()
    } else {
        0..count
    };
    let mut popped = z.remove_ranks(ranks);
    if max {
        popped.reverse();
    }
    let deleted = drop_if_empty(db, key, now);
    if !popped.is_empty() {
        db.modified(key);
        notify_change(db, key, if max { "zpopmax" } else { "zpopmin" }, deleted);
    }
    Ok(Some(popped))
}

/// ZMPOP's core: pops from the first of `keys` that holds a sorted set.
/// WRONGTYPE stops the search at the key that has it.
pub(super) fn mpop(
    db: &mut Db,
    keys: &[Vec<u8>],
    count: usize,
    max: bool,
    now: u64,
) -> Result<Option<Popped>, Error> {
    for key in keys {
        if let Some(popped) = pop(db, key, count, max, now)? {
            return Ok(Some((key.clone(), popped)));
        }
    }
    Ok(None)
}

/// ZMPOP's reply: `[key, [[member, score], ...]]` in both protocols.
pub(super) fn reply_mpop(out: &mut Reply, result: Option<Popped>) {
    let Some((key, popped)) = result else {
        out.null_array();
        return;
    };
    out.array(2);
    out.bulk(&key);
    out.array(popped.len());
    for (member, score) in &popped {
        out.array(2);
        out.bulk(member);
        out.double(*score);
    }
}

fn pop_generic(cx: &mut Context<'_>, args: &Args, max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(errors::SYNTAX.into());
    }
    let count = match args.get(2) {
        Some(arg) => {
            let n = int_arg(arg).map_err(|_| MUST_BE_POSITIVE)?;
            Some(usize::try_from(n).map_err(|_| MUST_BE_POSITIVE)?)
        }
        None => None,
    };
    let now = now_ms();
    let mut db = cx.db_mut();
    let popped = pop(&mut db, &args[1], count.unwrap_or(1), max, now)?.unwrap_or_default();
    drop(db);
    if count.is_some() {
        reply_members(cx.out, &as_refs(&popped), true);
    } else {
        // Without a count the pair stays flat, in RESP3 too.
        cx.out.array(2 * popped.len());
        for (member, score) in &popped {
            cx.out.bulk(member);
            cx.out.double(*score);
        }
    }
    Ok(())
}

// ZPOPMIN key [count]
fn zpopmin(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    pop_generic(cx, args, false)
}

// ZPOPMAX key [count]
fn zpopmax(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    pop_generic(cx, args, true)
}

/// Reads `numkeys key [key ...]` at `args[at]`: the keys and the index of
/// the first argument after them.
fn numkeys_and_keys(
    args: &[Vec<u8>],
    at: usize,
    too_few: impl Fn() -> Error,
) -> Result<(Range<usize>, usize), Error> {
    let numkeys = int_arg(&args[at])?;
    if numkeys < 1 {
        return Err(too_few());
    }
    let first = at + 1;
    let numkeys = numkeys as usize;
    if numkeys > args.len() - first {
        return Err(errors::SYNTAX.into());
    }
    Ok((first..first + numkeys, first + numkeys))
}

/// Parses `numkeys key [key ...] MIN | MAX [COUNT count]` with numkeys at
/// `args[at]` (1 for ZMPOP, 2 for BZMPOP): the keys, MAX or not, the count.
fn parse_zmpop(args: &[Vec<u8>], at: usize) -> Result<(Range<usize>, bool, usize), Error> {
    let numkeys = int_arg(&args[at]).map_err(|_| NUMKEYS_POSITIVE)?;
    let keys = usize::try_from(numkeys)
        .ok()
        .filter(|&n| n > 0)
        .ok_or(Error::from(NUMKEYS_POSITIVE))?;
    if keys > args.len() - at - 1 {
        return Err(errors::SYNTAX.into());
    }
    let keys = at + 1..at + 1 + keys;
    let mut rest = args[keys.end..].iter();
    let max = match rest.next() {
        Some(arg) if is(arg, "min") => false,
        Some(arg) if is(arg, "max") => true,
        _ => return Err(errors::SYNTAX.into()),
    };
    let mut count = None;
    while let Some(arg) = rest.next() {
        match rest.next() {
            Some(value) if count.is_none() && is(arg, "count") => {
                let n = int_arg(value)
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(Error::from(COUNT_POSITIVE))?;
                count = Some(n as usize);
            }
            _ => return Err(errors::SYNTAX.into()),
        }
    }
    Ok((keys, max, count.unwrap_or(1)))
}

// ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]
fn zmpop(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let (keys, max, count) = parse_zmpop(args, 1)?;
    let now = now_ms();
    let mut db = cx.db_mut();
    let result = mpop(&mut db, &args[keys], count, max, now)?;
    drop(db);
    reply_mpop(cx.out, result);
    Ok(())
}

// ---- blocking pops ----

/// BZPOPMIN and BZPOPMAX's reply: `[key, member, score]`.
fn reply_key_member_score(out: &mut Reply, key: &[u8], member: &[u8], score: f64) {
    out.array(3);
    out.bulk(key);
    out.bulk(member);
    out.double(score);
}

/// BZPOPMIN and BZPOPMAX: the lowest (highest) member of the first
/// non-empty sorted set, waiting for one if there is none.
fn blocking_pop(cx: &mut Context<'_>, args: &Args, max: bool) -> CmdResult {
    let timeout = timeout_arg(&args[args.len() - 1])?;
    let wait_on = &args[1..args.len() - 1];
    let mut db = cx.db_mut();
    let now = now_ms();
    for key in wait_on {
        if let Some((member, score)) = pop(&mut db, key, 1, max, now)?.and_then(|mut p| p.pop()) {
            drop(db);
            reply_key_member_score(cx.out, key, &member, score);
            return Ok(());
        }
    }
    let (resp3, keys) = (cx.out.resp3, wait_on.to_vec());
    let attempt = move |db: &mut Db, now: u64, _: &mut Vec<DbKey>| {
        keys.iter().find_map(|key| {
            let (member, score) = pop(db, key, 1, max, now).ok()??.pop()?;
            Some(Reply::encoded(resp3, |r| {
                reply_key_member_score(r, key, &member, score)
            }))
        })
    };
    cx.block(db, wait_on, timeout, Box::new(attempt))
}

// BZPOPMIN key [key ...] timeout
fn bzpopmin(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    blocking_pop(cx, args, false)
}

// BZPOPMAX key [key ...] timeout
fn bzpopmax(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    blocking_pop(cx, args, true)
}

// BZMPOP timeout numkeys key [key ...] MIN | MAX [COUNT count]
fn bzmpop(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let timeout = timeout_arg(&args[1])?;
    let (keys, max, count) = parse_zmpop(args, 2)?;
    let wait_on = &args[keys];
    let mut db = cx.db_mut();
    if let Some(popped) = mpop(&mut db, wait_on, count, max, now_ms())? {
        drop(db);
        reply_mpop(cx.out, Some(popped));
        return Ok(());
    }
    let (resp3, keys) = (cx.out.resp3, wait_on.to_vec());
    let attempt = move |db: &mut Db, now: u64, _: &mut Vec<DbKey>| {
        let popped = mpop(db, &keys, count, max, now).ok()??;
        Some(Reply::encoded(resp3, |r| reply_mpop(r, Some(popped))))
    };
    cx.block(db, wait_on, timeout, Box::new(attempt))
}

// ---- ZRANDMEMBER ----

// ZRANDMEMBER key [count [WITHSCORES]]
fn zrandmember(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let withscores = args.len() == 4;
    let count = match args.get(2) {
        None => None,
        Some(arg) => {
            let n = int_arg(arg)?;
            if n == i64::MIN {
                return Err(RANDMEMBER_RANGE.into());
            }
            if args.len() > 4 || (withscores && !is(&args[3], "withscores")) {
                return Err(errors::SYNTAX.into());
            }
            if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&n) {
                return Err(OUT_OF_RANGE.into());
            }
            Some(n)
        }
    };
    let db = cx.db();
    let z = read_zset(cx, &db, &args[1], now_ms())?;
    let mut rng = Rng::new();
    let Some(count) = count else {
        match z.and_then(|z| z.get(rng.below(z.len()))) {
            Some((member, _)) => cx.out.bulk(member),
            None => cx.out.null(),
        }
        return Ok(());
    };
    let Some(z) = z else {
        cx.out.array(0);
        return Ok(());
    };
    let len = z.len();
    let ranks: Vec<usize> = if count < 0 {
        // Repetitions allowed: independent picks.
        (0..count.unsigned_abs()).map(|_| rng.below(len)).collect()
    } else if count as usize >= len {
        (0..len).collect()
    } else {
        // Floyd's algorithm: `count` distinct ranks in O(count).
        let mut chosen = HashSet::new();
        let mut picks = Vec::new();
        for top in len - count as usize..len {
            let pick = rng.below(top + 1);
            let pick = if chosen.insert(pick) { pick } else { top };
            chosen.insert(pick);
            picks.push(pick);
        }
        picks
    };
    let entries: Vec<(&[u8], f64)> = ranks.into_iter().filter_map(|r| z.get(r)).collect();
    reply_members(cx.out, &entries, withscores);
    Ok(())
}

// ---- ZUNION, ZINTER, ZDIFF and their STORE forms, ZINTERCARD ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Combines two scores; NaN (inf + -inf) becomes 0 as in Redis.
    fn apply(self, a: f64, b: f64) -> f64 {
        let r = match self {
            Aggregate::Sum => a + b,
            Aggregate::Min => a.min(b),
            Aggregate::Max => a.max(b),
        };
        if r.is_nan() {
            0.0
        } else {
            r
        }
    }
}

/// One input of a set operation: a sorted set, or a plain set whose
/// members all score 1.
#[derive(Clone, Copy)]
enum Input<'d> {
    Missing,
    Sorted(&'d ZSet),
    Plain(&'d Set),
}

impl<'d> Input<'d> {
    fn len(&self) -> usize {
        match self {
            Input::Missing => 0,
            Input::Sorted(z) => z.len(),
            Input::Plain(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Missing => None,
            Input::Sorted(z) => z.score(member),
            Input::Plain(s) => set_contains(s, member).then_some(1.0),
        }
    }

    fn entries(&self) -> Vec<(&'d [u8], f64)> {
        match *self {
            Input::Missing => Vec::new(),
            Input::Sorted(z) => z.iter().collect(),
            Input::Plain(s) => set_members(s).into_iter().map(|m| (m, 1.0)).collect(),
        }
    }
}

// Plain sets as inputs: each member counts with a score of 1.
fn set_members(set: &Set) -> Vec<&[u8]> {
    set.iter().collect()
}

fn set_contains(set: &Set, member: &[u8]) -> bool {
    set.contains(member)
}

fn lookup_inputs<'d>(
    cx: &Context<'_>,
    db: &'d Db,
    keys: &[Vec<u8>],
    now: u64,
) -> Result<Vec<Input<'d>>, Error> {
    keys.iter()
        .map(|key| {
            let value = db.get(key, now);
            cx.count_lookup(key, value.is_some());
            value
        })
        .map(|value| match value {
            None => Ok(Input::Missing),
            Some(Value::ZSet(z)) => Ok(Input::Sorted(z)),
            Some(Value::Set(s)) => Ok(Input::Plain(s)),
            Some(_) => Err(errors::WRONGTYPE.into()),
        })
        .collect()
}

/// The options after the keys.
struct OpOptions {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT; 0 means none.
    limit: usize,
}

fn parse_op_options(
    args: &[Vec<u8>],
    numkeys: usize,
    op: SetOp,
    store: bool,
    card_only: bool,
) -> Result<OpOptions, Error> {
    let mut options = OpOptions {
        weights: vec![1.0; numkeys],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let mut i = 0;
    while i < args.len() {
        let left = args.len() - i - 1;
        let arg = &args[i];
        if op != SetOp::Diff && !card_only && is(arg, "weights") && left >= numkeys {
            for (slot, text) in options.weights.iter_mut().zip(&args[i + 1..]) {
                *slot = parse_f64(text).ok_or(Error::from(WEIGHT_NOT_FLOAT))?;
            }
            i += numkeys;
        } else if op != SetOp::Diff && !card_only && is(arg, "aggregate") && left >= 1 {
            let name = &args[i + 1];
            options.aggregate = if is(name, "sum") {
                Aggregate::Sum
            } else if is(name, "min") {
                Aggregate::Min
            } else if is(name, "max") {
                Aggregate::Max
            } else {
                return Err(errors::SYNTAX.into());
            };
            i += 1;
        } else if !store && !card_only && is(arg, "withscores") {
            options.withscores = true;
        } else if card_only && is(arg, "limit") && left >= 1 {
            let n = int_arg(&args[i + 1]).map_err(|_| LIMIT_NEGATIVE)?;
            options.limit = usize::try_from(n).map_err(|_| LIMIT_NEGATIVE)?;
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    Ok(options)
}

/// Computes a union, intersection or difference as a new sorted set.
fn combine(inputs: &[Input<'_>], op: SetOp, options: &OpOptions) -> ZSet {
    let weighted = |score: f64, weight: f64| {
        let w = score * weight;
        if w.is_nan() {
            0.0
        } else {
            w
        }
    };
    let mut result = ZSet::new();
    match op {
        SetOp::Union => {
            let mut scores: HashMap<&[u8], f64> = HashMap::new();
            for (input, &weight) in inputs.iter().zip(&options.weights) {
                for (member, score) in input.entries() {
                    let score = weighted(score, weight);
                    scores
                        .entry(member)
                        .and_modify(|s| *s = options.aggregate.apply(*s, score))
                        .or_insert(score);
                }
            }
            for (member, score) in scores {
                result.insert(member, score);
            }
        }
        SetOp::Inter => {
            // Walk the smallest input, probe the others (as Redis does).
            let mut order: Vec<usize> = (0..inputs.len()).collect();
            order.sort_by_key(|&i| inputs[i].len());
            let (smallest, others) = (order[0], &order[1..]);
            'members: for (member, score) in inputs[smallest].entries() {
                let mut total = weighted(score, options.weights[smallest]);
                for &i in others {
                    let Some(score) = inputs[i].score(member) else {
                        continue 'members;
                    };
                    total = options
                        .aggregate
                        .apply(total, weighted(score, options.weights[i]));
                }
                result.insert(member, total);
            }
        }
        SetOp::Diff => {
            for (member, score) in inputs[0].entries() {
                if inputs[1..]
                    .iter()
                    .all(|input| input.score(member).is_none())
                {
                    result.insert(member, score);
                }
            }
        }
    }
    result
}

/// ZUNION/ZINTER/ZDIFF (`store` false), their STORE forms and ZINTERCARD.
fn setop_generic(
    cx: &mut Context<'_>,
    args: &Args,
    op: SetOp,
    store: bool,
    card_only: bool,
) -> CmdResult {
    let event = match op {
        SetOp::Union => "zunionstore",
        SetOp::Inter => "zinterstore",
        SetOp::Diff => "zdiffstore",
    };
    let numkeys_at = if store { 2 } else { 1 };
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let (keys, after) = numkeys_and_keys(args, numkeys_at, || {
        Error::new(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        ))
    })?;
    let now = now_ms();
    let compute = |db: &Db| -> Result<(ZSet, OpOptions), Error> {
        let inputs = lookup_inputs(cx, db, &args[keys.clone()], now)?;
        let options = parse_op_options(&args[after..], keys.len(), op, store, card_only)?;
        Ok((combine(&inputs, op, &options), options))
    };
    if store {
        let mut db = cx.db_mut();
        let (result, _) = compute(&db)?;
        let len = store_result(&mut db, &args[1], result, now, event);
        drop(db);
        if len > 0 {
            cx.key_ready(cx.session.db, &args[1]);
        }
        cx.out.int(len as i64);
        return Ok(());
    }
    let (result, options) = compute(&cx.db())?;
    if card_only {
        let card = match options.limit {
            0 => result.len(),
            limit => result.len().min(limit),
        };
        cx.out.int(card as i64);
    } else {
        let entries: Vec<(&[u8], f64)> = result.iter_from(0).collect();
        reply_members(cx.out, &entries, options.withscores);
    }
    Ok(())
}

// ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]
fn zunion(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    setop_generic(cx, args, SetOp::Union, false, false)
}

// ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]
fn zinter(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    setop_generic(cx, args, SetOp::Inter, false, false)
}

// ZDIFF numkeys key [key ...] [WITHSCORES]
fn zdiff(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    setop_generic(cx, args, SetOp::Diff, false, false)
}

// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX]
fn zunionstore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    setop_generic(cx, args, SetOp::Union, true, false)
}

// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX]
fn zinterstore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    setop_generic(cx, args, SetOp::Inter, true, false)
}

// ZDIFFSTORE destination numkeys key [key ...]
fn zdiffstore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    setop_generic(cx, args, SetOp::Diff, true, false)
}

// ZINTERCARD numkeys key [key ...] [LIMIT limit]
fn zintercard(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    setop_generic(cx, args, SetOp::Inter, false, true)
}

// ---- ZSCAN ----

// ZSCAN key cursor [MATCH pattern] [COUNT count]
fn zscan(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let cursor = scan::cursor(&args[2])?;
    let db = cx.db();
    let Some(z) = read_zset(cx, &db, &args[1], now_ms())? else {
        drop(db);
        cx.out.array(2);
        cx.out.bulk(b"0");
        cx.out.array(0);
        return Ok(());
    };
    let scan::Options { pattern, count, .. } = scan::options(&args[3..], false)?;
    let wanted = |member: &[u8]| pattern.map_or(true, |p| glob_match(p, member, false));
    let mut found: Vec<(&[u8], f64)> = Vec::new();
    let next = if z.len() <= SMALL_SCAN {
        // Small sets come back whole, in order, with cursor 0, as Redis's
        // listpack encoding answers.
        found.extend(z.iter_from(0).filter(|(m, _)| wanted(m)));
        0
    } else {
        z.scan(cursor, count, |m, s| {
            if wanted(m) {
                found.push((m, s));
            }
        })
    };
    cx.out.array(2);
    cx.out.bulk(next.to_string().as_bytes());
    cx.out.array(2 * found.len());
    for (member, score) in found {
        cx.out.bulk(member);
        cx.out.bulk(crate::util::format_double(score).as_bytes());
    }
    Ok(())
}
