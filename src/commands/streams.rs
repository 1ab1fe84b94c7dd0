//! Stream commands: XADD and the range reads, trimming, XREAD (blocking),
//! consumer groups (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM,
//! XAUTOCLAIM) and XINFO.
//!
//! The group operations that blocked readers repeat ([`read_new`],
//! [`read_history`]) are plain functions over a [`Stream`], so a reader
//! woken by an XADD runs the very same code as one served at once.

use super::errors::{self, Error};
use super::flags::*;
use super::server::help_reply;
use super::{int_arg, is, Args, CmdResult, Command, Context, KeySpec, NO_KEYS, ONE_KEY};
use crate::blocking::DbKey;
use crate::resp::Reply;
use crate::store::{class, Db, Fields, Group, Nack, NodeLimits, Stream, StreamId, Trim, Value};
use crate::util::now_ms;

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
const ID_TOO_SMALL: &str =
    "ERR The ID specified in XADD is equal or smaller than the target stream top item";
const ID_ZERO: &str = "ERR The ID specified in XADD must be greater than 0-0";
/// `ms-*` when the last ID is `ms-18446744073709551615`: Redis refuses to
/// roll over into the next millisecond, and (errno not being EDOM there)
/// answers with its other XADD error.
const SEQUENCE_EXHAUSTED: &str = "ERR Elements are too large to be stored";
const EXHAUSTED: &str =
    "ERR The stream has exhausted the last possible ID, unable to add more items";
const MAXLEN_AND_MINID: &str =
    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
const MAXLEN_NEGATIVE: &str = "ERR The MAXLEN argument must be >= 0.";
const LIMIT_NEGATIVE: &str = "ERR The LIMIT argument must be >= 0.";
const LIMIT_WITHOUT_TRIM: &str =
    "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy";
const LIMIT_WITHOUT_TILDE: &str =
    "ERR syntax error, LIMIT cannot be used without the special ~ option";
const XTRIM_WITHOUT_TRIM: &str = "ERR syntax error, XTRIM must be called with a trimming strategy";
const BAD_START: &str = "ERR invalid start ID for the interval";
const BAD_END: &str = "ERR invalid end ID for the interval";
const TIMEOUT_NOT_INTEGER: &str = "ERR timeout is not an integer or out of range";
const GROUP_ONLY_XREADGROUP: &str =
    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.";
const NOACK_ONLY_XREADGROUP: &str =
    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.";
const UNBALANCED: &str =
    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.";
const MISSING_GROUP: &str = "ERR Missing GROUP option for XREADGROUP";
const DOLLAR_IN_XREADGROUP: &str = "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.";
const GT_IN_XREAD: &str = "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.";
const STREAM_GONE: &str = "UNBLOCKED the stream key no longer exists";
const GROUP_GONE: &str = "NOGROUP the consumer group this client was blocked on no longer exists";
const KEY_MUST_EXIST: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";
const BUSYGROUP: &str = "BUSYGROUP Consumer Group name already exists";
const ENTRIESREAD_NEGATIVE: &str = "ERR value for ENTRIESREAD must be positive or -1";
const ENTRIES_ADDED_NEGATIVE: &str = "ERR entries_added must be positive";
const SETID_BELOW_MAX_DELETED_ARG: &str =
    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id";
const SETID_BELOW_MAX_DELETED: &str =
    "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id";
const SETID_BELOW_TOP: &str =
    "ERR The ID specified in XSETID is smaller than the target stream top item";
const SETID_ENTRIES_ADDED_SMALL: &str =
    "ERR The entries_added specified in XSETID is smaller than the target stream length";
const AUTOCLAIM_COUNT: &str = "ERR COUNT must be > 0";

/// A blocked XREAD without COUNT gets at most this many entries per wake-up.
const BLOCKED_DEFAULT_COUNT: usize = 1000;

/// XGROUP and XINFO subcommands: the key is the third argument.
const KEY_AFTER_SUB: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[Command] = &[
    Command::new("xadd", -5, WRITE | DENYOOM | FAST, ONE_KEY, "stream", xadd),
    Command::new("xlen", 2, READONLY | FAST, ONE_KEY, "stream", xlen),
    Command::new("xrange", -4, READONLY, ONE_KEY, "stream", xrange),
    Command::new("xrevrange", -4, READONLY, ONE_KEY, "stream", xrevrange),
    Command::new("xdel", -3, WRITE | FAST, ONE_KEY, "stream", xdel),
    Command::new("xtrim", -4, WRITE, ONE_KEY, "stream", xtrim),
    Command::new(
        "xsetid",
        -3,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "stream",
        xsetid,
    ),
    // XREAD and XREADGROUP are `movablekeys` in Redis (keys follow STREAMS).
    Command::new("xread", -4, READONLY | BLOCKING, NO_KEYS, "stream", xread),
    Command::new(
        "xreadgroup",
        -7,
        WRITE | BLOCKING,
        NO_KEYS,
        "stream",
        xreadgroup,
    ),
    Command::new("xack", -4, WRITE | FAST, ONE_KEY, "stream", xack),
    Command::new("xpending", -3, READONLY, ONE_KEY, "stream", xpending),
    Command::new("xclaim", -6, WRITE | FAST, ONE_KEY, "stream", xclaim),
    Command::new(
        "xautoclaim",
        -6,
        WRITE | FAST,
        ONE_KEY,
        "stream",
        xautoclaim,
    ),
    Command::container("xgroup", "stream", XGROUP),
    Command::container("xinfo", "stream", XINFO),
];

static XGROUP: &[Command] = &[
    Command::new(
        "create",
        -5,
        WRITE | DENYOOM,
        KEY_AFTER_SUB,
        "stream",
        xgroup,
    ),
    Command::new("setid", -5, WRITE, KEY_AFTER_SUB, "stream", xgroup),
    Command::new("destroy", 4, WRITE, KEY_AFTER_SUB, "stream", xgroup),
    Command::new(
        "createconsumer",
        5,
        WRITE | DENYOOM,
        KEY_AFTER_SUB,
        "stream",
        xgroup,
    ),
    Command::new("delconsumer", 5, WRITE, KEY_AFTER_SUB, "stream", xgroup),
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "stream", xgroup_help),
];

static XINFO: &[Command] = &[
    Command::new(
        "stream",
        -3,
        READONLY,
        KEY_AFTER_SUB,
        "stream",
        xinfo_stream,
    ),
    Command::new("groups", 3, READONLY, KEY_AFTER_SUB, "stream", xinfo_groups),
    Command::new(
        "consumers",
        4,
        READONLY,
        KEY_AFTER_SUB,
        "stream",
        xinfo_consumers,
    ),
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "stream", xinfo_help),
];

// ---- parsing ----

/// C's `strtoull` in base 10 after Redis's `string2ll` failed: leading
/// spaces and a sign are accepted, `-n` wraps around.
fn parse_ull(text: &[u8]) -> Option<u64> {
    if let Some(n) = crate::util::parse_i64(text) {
        return u64::try_from(n).ok();
    }
    let start = text
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let mut rest = &text[start..];
    let negative = rest.first() == Some(&b'-');
    if matches!(rest.first(), Some(b'+' | b'-')) {
        rest = &rest[1..];
    }
    if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: u64 = 0;
    for digit in rest {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// An ID as typed: `ms-seq`, `ms` (the sequence missing) or `ms-*`.
enum IdText {
    Full(StreamId),
    MsOnly(u64),
    AutoSeq(u64),
}

/// Redis's `streamGenericParseIDOrReply`: `-` and `+` unless `strict`.
fn parse_id_text(arg: &[u8], strict: bool, allow_auto_seq: bool) -> Result<IdText, Error> {
    if arg.len() > 127 {
        return Err(INVALID_ID.into());
    }
    // The argument is read as a C string.
    let text = &arg[..arg.iter().position(|&c| c == 0).unwrap_or(arg.len())];
    match text {
        b"-" | b"+" if strict => Err(INVALID_ID.into()),
        b"-" => Ok(IdText::Full(StreamId::ZERO)),
        b"+" => Ok(IdText::Full(StreamId::MAX)),
        _ => {
            let (ms, seq) = match text.iter().position(|&c| c == b'-') {
                Some(dash) => (&text[..dash], Some(&text[dash + 1..])),
                None => (text, None),
            };
            let ms = parse_ull(ms).ok_or(Error::from(INVALID_ID))?;
            match seq {
                None => Ok(IdText::MsOnly(ms)),
                Some(b"*") if allow_auto_seq => Ok(IdText::AutoSeq(ms)),
                Some(seq) => Ok(IdText::Full(StreamId::new(
                    ms,
                    parse_ull(seq).ok_or(Error::from(INVALID_ID))?,
                ))),
            }
        }
    }
}

/// An ID argument; a missing sequence reads as `missing_seq`.
fn parse_id(arg: &[u8], missing_seq: u64, strict: bool) -> Result<StreamId, Error> {
    match parse_id_text(arg, strict, false)? {
        IdText::Full(id) => Ok(id),
        IdText::MsOnly(ms) | IdText::AutoSeq(ms) => Ok(StreamId::new(ms, missing_seq)),
    }
}

/// A strict ID (no `-` / `+`), sequence 0 when missing.
fn strict_id(arg: &[u8]) -> Result<StreamId, Error> {
    parse_id(arg, 0, true)
}

/// One end of a range: an ID, `-`, `+`, or `(id` (exclusive).
fn range_start(arg: &[u8]) -> Result<StreamId, Error> {
    match arg.strip_prefix(b"(") {
        Some(id) if arg.len() > 1 => parse_id(id, 0, true)?.next().ok_or(Error::from(BAD_START)),
        _ => parse_id(arg, 0, false),
    }
}

fn range_end(arg: &[u8]) -> Result<StreamId, Error> {
    match arg.strip_prefix(b"(") {
        Some(id) if arg.len() > 1 => parse_id(id, u64::MAX, true)?
            .prev()
            .ok_or(Error::from(BAD_END)),
        _ => parse_id(arg, u64::MAX, false),
    }
}

/// A BLOCK argument: milliseconds, 0 for ever.
fn ms_timeout_arg(arg: &[u8]) -> Result<Option<std::time::Duration>, Error> {
    let ms = crate::util::parse_i64(arg).ok_or(Error::from(TIMEOUT_NOT_INTEGER))?;
    if ms < 0 {
        return Err(errors::TIMEOUT_NEGATIVE.into());
    }
    Ok((ms > 0).then(|| std::time::Duration::from_millis(ms as u64)))
}

/// XADD's and XTRIM's options.
#[derive(Default)]
struct AddArgs {
    trim: Option<Trim>,
    approx: bool,
    limit: u64,
    no_mkstream: bool,
    /// XADD's ID: None for `*`, else milliseconds and the sequence, if given.
    id: Option<(u64, Option<u64>)>,
    /// Where the options ended (XADD: the ID's position).
    end: usize,
}

/// Redis's `streamParseAddOrTrimArgsOrReply`.
/// `obey`: the command comes from the AOF, whose trims Redis already made
/// exact; its LIMIT is ignored rather than refused (Redis's
/// `mustObeyClient`).
fn parse_add_args(
    args: &Args,
    xadd: bool,
    node_max_entries: u64,
    obey: bool,
) -> Result<AddArgs, Error> {
    let mut parsed = AddArgs::default();
    let mut limit_given = false;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i][..];
        if xadd && opt == b"*" {
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if parsed.trim.is_some() {
                return Err(MAXLEN_AND_MINID.into());
            }
            parsed.approx = false;
            let next = &args[i + 1][..];
            if more >= 2 && (next == b"~" || next == b"=") {
                parsed.approx = next == b"~";
                i += 1;
            }
            let value = &args[i + 1];
            parsed.trim = Some(if is(opt, "maxlen") {
                let max = int_arg(value)?;
                if max < 0 {
                    return Err(MAXLEN_NEGATIVE.into());
                }
                Trim::MaxLen(max as u64)
            } else {
                Trim::MinId(strict_id(value)?)
            });
            i += 1;
        } else if is(opt, "limit") && more > 0 {
            let limit = int_arg(&args[i + 1])?;
            if limit < 0 {
                return Err(LIMIT_NEGATIVE.into());
            }
            parsed.limit = limit as u64;
            limit_given = true;
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            parsed.no_mkstream = true;
        } else if xadd {
            parsed.id = Some(match parse_id_text(opt, true, true)? {
                IdText::Full(id) => (id.ms, Some(id.seq)),
                IdText::MsOnly(ms) => (ms, Some(0)),
                IdText::AutoSeq(ms) => (ms, None),
            });
            break;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if parsed.limit > 0 && parsed.trim.is_none() {
        return Err(LIMIT_WITHOUT_TRIM.into());
    }
    if !xadd && parsed.trim.is_none() {
        return Err(XTRIM_WITHOUT_TRIM.into());
    }
    if obey {
        parsed.limit = 0;
    } else if limit_given && !parsed.approx {
        return Err(LIMIT_WITHOUT_TILDE.into());
    } else if !limit_given {
        parsed.limit = if parsed.approx {
            match 100u64.saturating_mul(node_max_entries) {
                0 => 10_000,
                n if n > u32::MAX as u64 => 10_000,
                n => n,
            }
        } else {
            0
        };
    }
    parsed.end = i;
    Ok(parsed)
}

/// The listpack node sizes (cached from the configuration, see
/// `Shared::configure_introspection`).
fn node_limits(cx: &Context<'_>) -> NodeLimits {
    cx.shared.stream_node_limits.get()
}

// ---- lookups ----

fn stream_at<'d>(db: &'d Db, key: &[u8], now: u64) -> Result<Option<&'d Stream>, Error> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::Stream(stream)) => Ok(Some(stream)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

fn stream_at_mut<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: u64,
) -> Result<Option<&'d mut Stream>, Error> {
    if !db.contains(key, now) {
        return Ok(None);
    }
    // Group and consumer changes count for the AOF and the save points
    // (Redis's `server.dirty`), not for WATCH: no `signalModifiedKey`.
    if matches!(db.get(key, now), Some(Value::Stream(_))) {
        db.dirty();
    }
    match db.get_mut(key, now) {
        None => Ok(None),
        Some(Value::Stream(stream)) => Ok(Some(stream)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `NOGROUP No such key 'k' or consumer group 'g'`
fn no_key_or_group(key: &[u8], group: &[u8], suffix: &str) -> Error {
    Error::new(format!(
        "NOGROUP No such key '{}' or consumer group '{}'{suffix}",
        text(key),
        text(group)
    ))
}

/// `NOGROUP No such consumer group 'g' for key name 'k'`
fn no_group(key: &[u8], group: &[u8]) -> Error {
    Error::new(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        text(group),
        text(key)
    ))
}

// ---- replies ----

fn write_id(out: &mut Reply, id: StreamId) {
    // By hand: `to_string` went through `fmt` into a heap string, a sixth
    // of XADD's instructions.
    let mut text = [0u8; 41];
    let mut len = put_u64(&mut text, 0, id.ms);
    text[len] = b'-';
    len = put_u64(&mut text, len + 1, id.seq);
    out.bulk(&text[..len]);
}

/// Writes `value`'s digits into `buf` at `at`; returns the end.
fn put_u64(buf: &mut [u8; 41], at: usize, value: u64) -> usize {
    let mut digits = [0u8; 20];
    let digits = crate::util::u64_text(value, &mut digits);
    let end = at + digits.len();
    buf[at..end].copy_from_slice(digits);
    end
}

/// `[id, [field, value, ...]]`
fn write_entry(out: &mut Reply, id: StreamId, fields: &Fields) {
    out.array(2);
    write_id(out, id);
    out.bulks(fields.iter().map(Vec::as_slice));
}

/// Entries read for a client; a pending entry since deleted has no fields.
type Read = Vec<(StreamId, Option<Fields>)>;

fn write_read(out: &mut Reply, entries: &Read) {
    out.array(entries.len());
    for (id, fields) in entries {
        match fields {
            Some(fields) => write_entry(out, *id, fields),
            None => {
                out.array(2);
                write_id(out, *id);
                out.null_array();
            }
        }
    }
}

/// XREAD's reply: per stream, its name and entries (a map in RESP3).
fn write_streams(out: &mut Reply, streams: &[(Vec<u8>, Read)]) {
    if out.resp3 {
        out.map(streams.len());
    } else {
        out.array(streams.len());
    }
    for (key, entries) in streams {
        if !out.resp3 {
            out.array(2);
        }
        out.bulk(key);
        write_read(out, entries);
    }
}

// ---- XADD, XLEN, XRANGE, XDEL, XTRIM, XSETID ----

/// True while the AOF is replayed.
fn from_aof(cx: &Context<'_>) -> bool {
    cx.session.id == crate::persistence::aof::CLIENT_ID
}

// XADD key [NOMKSTREAM] [<MAXLEN | MINID> [= | ~] threshold [LIMIT count]]
//   <* | id> field value [field value ...]
fn xadd(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let limits = node_limits(cx);
    let parsed = parse_add_args(args, true, limits.max_entries, from_aof(cx))?;
    let fields_at = parsed.end + 1;
    if args.len() < fields_at + 2 || (args.len() - fields_at) % 2 == 1 {
        return Err(errors::wrong_arity("xadd"));
    }
    if parsed.id == Some((0, Some(0))) {
        return Err(ID_ZERO.into());
    }
    let fields: Fields = args[fields_at..].to_vec();
    let key = &args[1];
    let db_index = cx.session.db;
    let mut db = cx.db_mut();
    let now = now_ms();
    let id = match stream_at(&db, key, now)? {
        None if parsed.no_mkstream => {
            drop(db);
            cx.out.null();
            return Ok(());
        }
        None => Stream::new().next_id(parsed.id, now),
        Some(stream) if stream.last_id == StreamId::MAX => return Err(EXHAUSTED.into()),
        // `ms-*` whose sequence is used up: Redis 7.0 fails without setting
        // errno, so the reply is its fallback "too large" error.
        Some(stream)
            if parsed.id == Some((stream.last_id.ms, None)) && stream.last_id.seq == u64::MAX =>
        {
            return Err(SEQUENCE_EXHAUSTED.into())
        }
        Some(stream) => stream.next_id(parsed.id, now),
    };
    let id = id.ok_or(Error::from(ID_TOO_SMALL))?;
    let Value::Stream(stream) = db.get_or_insert_with(key, now, || Value::Stream(Box::default()))
    else {
        return Err(errors::WRONGTYPE.into());
    };
    stream.append(id, fields, limits);
    let trimmed = parsed
        .trim
        .map_or(0, |trim| stream.trim(trim, parsed.approx, parsed.limit));
    db.modified(key);
    drop(db);
    cx.notify(class::STREAM, "xadd", key);
    if trimmed > 0 {
        cx.notify(class::STREAM, "xtrim", key);
    }
    cx.key_ready(db_index, key);
    write_id(cx.out, id);
    Ok(())
}

// XLEN key
fn xlen(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let now = now_ms();
    cx.count_lookup(&args[1], db.contains(&args[1], now));
    let len = stream_at(&db, &args[1], now)?.map_or(0, Stream::len);
    cx.out.int(len as i64);
    Ok(())
}

/// XRANGE and XREVRANGE.
fn range(cx: &mut Context<'_>, args: &Args, rev: bool) -> CmdResult {
    let (low, high) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let start = range_start(low)?;
    let end = range_end(high)?;
    let mut count = None;
    let mut i = 4;
    while i < args.len() {
        if is(&args[i], "count") && i + 1 < args.len() {
            count = Some(int_arg(&args[i + 1])?.max(0) as usize);
            i += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let db = cx.db();
    let now = now_ms();
    cx.count_lookup(&args[1], db.contains(&args[1], now));
    let Some(stream) = stream_at(&db, &args[1], now)? else {
        cx.out.array(0);
        return Ok(());
    };
    if count == Some(0) {
        cx.out.null_array();
        return Ok(());
    }
    let entries: Vec<_> = stream
        .range(start, end, rev)
        .take(count.unwrap_or(usize::MAX))
        .collect();
    cx.out.array(entries.len());
    for (id, fields) in entries {
        write_entry(cx.out, id, fields);
    }
    Ok(())
}

// XRANGE key start end [COUNT count]
fn xrange(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    range(cx, args, false)
}

// XREVRANGE key end start [COUNT count]
fn xrevrange(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    range(cx, args, true)
}

// XDEL key id [id ...]
fn xdel(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut db = cx.db_mut();
    let Some(stream) = stream_at_mut(&mut db, &args[1], now_ms())? else {
        drop(db);
        cx.out.int(0);
        return Ok(());
    };
    let ids = args[2..]
        .iter()
        .map(|a| strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let deleted = ids.into_iter().filter(|&id| stream.delete(id)).count();
    if deleted > 0 {
        db.modified(&args[1]);
    }
    drop(db);
    if deleted > 0 {
        cx.notify(class::STREAM, "xdel", &args[1]);
    }
    cx.out.int(deleted as i64);
    Ok(())
}

// XTRIM key <MAXLEN | MINID> [= | ~] threshold [LIMIT count]
fn xtrim(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let limits = node_limits(cx);
    let mut db = cx.db_mut();
    let now = now_ms();
    if stream_at(&db, &args[1], now)?.is_none() {
        drop(db);
        cx.out.int(0);
        return Ok(());
    }
    let parsed = parse_add_args(args, false, limits.max_entries, from_aof(cx))?;
    let removed = match (stream_at_mut(&mut db, &args[1], now)?, parsed.trim) {
        (Some(stream), Some(trim)) => stream.trim(trim, parsed.approx, parsed.limit),
        _ => 0,
    };
    if removed > 0 {
        db.modified(&args[1]);
    }
    drop(db);
    if removed > 0 {
        cx.notify(class::STREAM, "xtrim", &args[1]);
    }
    cx.out.int(removed as i64);
    Ok(())
}

// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
fn xsetid(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let id = strict_id(&args[2])?;
    let mut entries_added = None;
    let mut max_deleted = StreamId::ZERO;
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(&args[i], "entriesadded") && more {
            let n = int_arg(&args[i + 1])?;
            if n < 0 {
                return Err(ENTRIES_ADDED_NEGATIVE.into());
            }
            entries_added = Some(n as u64);
        } else if is(&args[i], "maxdeletedid") && more {
            max_deleted = strict_id(&args[i + 1])?;
            if id < max_deleted {
                return Err(SETID_BELOW_MAX_DELETED_ARG.into());
            }
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    let mut db = cx.db_mut();
    let stream =
        stream_at_mut(&mut db, &args[1], now_ms())?.ok_or(Error::from(errors::NO_SUCH_KEY))?;
    if id < stream.max_deleted_id {
        return Err(SETID_BELOW_MAX_DELETED.into());
    }
    if let Some((top, _)) = stream.last() {
        if id < top {
            return Err(SETID_BELOW_TOP.into());
        }
        if entries_added.is_some_and(|n| (stream.len() as u64) > n) {
            return Err(SETID_ENTRIES_ADDED_SMALL.into());
        }
    }
    stream.last_id = id;
    if let Some(n) = entries_added {
        stream.entries_added = n;
    }
    if max_deleted != StreamId::ZERO {
        stream.max_deleted_id = max_deleted;
    }
    drop(db);
    cx.notify(class::STREAM, "xsetid", &args[1]);
    cx.out.ok();
    Ok(())
}

// ---- reading: XREAD, XREADGROUP ----

/// New entries for a group consumer: those after the group's last ID, up
/// to `count` (0 = all), which become pending unless `noack`.
fn read_new(
    stream: &mut Stream,
    group: &[u8],
    consumer: &[u8],
    count: usize,
    noack: bool,
    now: u64,
) -> Read {
    let Some(last) = stream.groups.get(group).map(|g| g.last_id) else {
        return Vec::new();
    };
    let limit = if count == 0 { usize::MAX } else { count };
    let entries: Read = match last.next() {
        Some(start) => stream
            .range(start, StreamId::MAX, false)
            .take(limit)
            .map(|(id, fields)| (id, Some(fields.clone())))
            .collect(),
        None => Vec::new(),
    };
    for (id, _) in &entries {
        stream.advance_group(group, *id);
    }
    if let Some(group) = stream.groups.get_mut(group) {
        group.consumer(consumer, now);
        if !noack {
            for (id, _) in &entries {
                let nack = Nack {
                    consumer: consumer.to_vec(),
                    delivery_time: now,
                    delivery_count: 1,
                };
                // An ID still pending for another consumer moves to this one.
                if let Some(old) = group.pel.insert(*id, nack) {
                    if let Some(other) = group.consumers.get_mut(&old.consumer) {
                        other.pending.remove(id);
                    }
                }
                if let Some(me) = group.consumers.get_mut(consumer) {
                    me.pending.insert(*id);
                }
            }
        }
    }
    entries
}

/// A consumer's pending entries from `start`, delivered again.
fn read_history(
    stream: &mut Stream,
    group: &[u8],
    consumer: &[u8],
    start: StreamId,
    count: usize,
    now: u64,
) -> Read {
    let limit = if count == 0 { usize::MAX } else { count };
    let Some(found) = stream.groups.get_mut(group) else {
        return Vec::new();
    };
    let (found, _) = found.consumer(consumer, now);
    let ids: Vec<StreamId> = found.pending.range(start..).take(limit).copied().collect();
    let read: Read = ids
        .into_iter()
        .map(|id| (id, stream.get(id).cloned()))
        .collect();
    if let Some(group) = stream.groups.get_mut(group) {
        for (id, fields) in &read {
            if let (Some(_), Some(nack)) = (fields, group.pel.get_mut(id)) {
                nack.delivery_time = now;
                nack.delivery_count += 1;
            }
        }
    }
    read
}

/// Where a reader starts in one stream.
#[derive(Clone, Copy)]
enum Position {
    /// XREAD: entries after this ID.
    After(StreamId),
    /// XREADGROUP `>`: entries the group has not delivered yet.
    New,
    /// XREADGROUP with an ID: the consumer's pending entries after it.
    History(StreamId),
}

/// XREAD's and XREADGROUP's options.
struct ReadArgs {
    block: Option<Option<std::time::Duration>>,
    count: usize,
    /// Group and consumer.
    group: Option<(Vec<u8>, Vec<u8>)>,
    noack: bool,
    keys: Vec<Vec<u8>>,
    ids: Vec<Vec<u8>>,
}

/// `from_script`: scripts may not use BLOCK (Redis refuses it there even
/// though blocking commands in scripts otherwise just do not block).
fn parse_read_args(args: &Args, xreadgroup: bool, from_script: bool) -> Result<ReadArgs, Error> {
    let mut parsed = ReadArgs {
        block: None,
        count: 0,
        group: None,
        noack: false,
        keys: Vec::new(),
        ids: Vec::new(),
    };
    let mut streams_at = None;
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i];
        if is(opt, "block") && more > 0 {
            if from_script {
                return Err(Error::new(format!(
                    "ERR {} command is not allowed with BLOCK option from scripts",
                    String::from_utf8_lossy(&args[0])
                )));
            }
            parsed.block = Some(ms_timeout_arg(&args[i + 1])?);
            i += 1;
        } else if is(opt, "count") && more > 0 {
            parsed.count = int_arg(&args[i + 1])?.max(0) as usize;
            i += 1;
        } else if is(opt, "streams") && more > 0 {
            if more % 2 != 0 {
                // Redis 7.0 names XREAD and `$` for both commands.
                return Err(UNBALANCED.into());
            }
            streams_at = Some(i + 1);
            break;
        } else if is(opt, "group") && more >= 2 {
            if !xreadgroup {
                return Err(GROUP_ONLY_XREADGROUP.into());
            }
            parsed.group = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 2;
        } else if is(opt, "noack") {
            if !xreadgroup {
                return Err(NOACK_ONLY_XREADGROUP.into());
            }
            parsed.noack = true;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    let Some(streams_at) = streams_at else {
        return Err(errors::SYNTAX.into());
    };
    if xreadgroup && parsed.group.is_none() {
        return Err(MISSING_GROUP.into());
    }
    let half = (args.len() - streams_at) / 2;
    parsed.keys = args[streams_at..streams_at + half].to_vec();
    parsed.ids = args[streams_at + half..].to_vec();
    Ok(parsed)
}

/// XREAD and XREADGROUP: serve what is there, else block if asked.
fn read_streams(cx: &mut Context<'_>, args: &Args, xreadgroup: bool) -> CmdResult {
    let parsed = parse_read_args(args, xreadgroup, cx.session.in_script)?;
    // XREAD changes nothing: it reads under the shared lock, and takes the
    // exclusive one only to block (its lookups are counted by then).
    if !xreadgroup && read_at_once(cx, &parsed)? {
        return Ok(());
    }
    let counted = !xreadgroup;
    let mut db = cx.db_mut();
    let now = now_ms();
    let mut positions = Vec::with_capacity(parsed.keys.len());
    for (key, id) in parsed.keys.iter().zip(&parsed.ids) {
        // Each key is looked up twice, here and to serve it, as in Redis.
        if !counted {
            cx.count_lookup(key, db.contains(key, now));
        }
        let stream = stream_at(&db, key, now)?;
        if let Some((group, _)) = &parsed.group {
            if !stream.is_some_and(|s| s.groups.contains_key(group)) {
                return Err(no_key_or_group(
                    key,
                    group,
                    " in XREADGROUP with GROUP option",
                ));
            }
        }
        positions.push(match &id[..] {
            b"$" if xreadgroup => return Err(DOLLAR_IN_XREADGROUP.into()),
            b"$" => Position::After(stream.map_or(StreamId::ZERO, |s| s.last_id)),
            b">" if !xreadgroup => return Err(GT_IN_XREAD.into()),
            b">" => Position::New,
            _ => match strict_id(id)? {
                // Redis stores `>` as the last possible ID.
                StreamId::MAX if xreadgroup => Position::New,
                id if xreadgroup => Position::History(id),
                id => Position::After(id),
            },
        });
    }
    let mut served = Vec::new();
    for (key, position) in parsed.keys.iter().zip(&positions) {
        if !counted {
            cx.count_lookup(key, db.contains(key, now));
        }
        let had = has_reader(&db, key, &parsed, now);
        if let Some(read) = read_one(&mut db, key, *position, &parsed, parsed.count, now) {
            served.push((key.clone(), read));
        }
        announce_reader(&db, key, &parsed, had, now);
    }
    if !served.is_empty() {
        drop(db);
        write_streams(cx.out, &served);
        return Ok(());
    }
    let Some(timeout) = parsed.block else {
        drop(db);
        cx.out.null_array();
        return Ok(());
    };
    let resp3 = cx.out.resp3;
    let wait_on = parsed.keys.clone();
    let count = match parsed.count {
        0 => BLOCKED_DEFAULT_COUNT,
        n => n,
    };
    let attempt = move |db: &mut Db, now: u64, _: &mut Vec<DbKey>| {
        for (key, position) in parsed.keys.iter().zip(&positions) {
            let Ok(Some(stream)) = stream_at(db, key, now) else {
                // The stream was deleted or replaced: XREADGROUP's group
                // went with it, so Redis ends the wait; XREAD waits on.
                if parsed.group.is_some() {
                    return Some(Reply::encoded(resp3, |r| r.error(STREAM_GONE)));
                }
                continue;
            };
            let after = match (&parsed.group, position) {
                (Some((group, _)), _) => match stream.groups.get(group) {
                    Some(group) => group.last_id,
                    None => return Some(Reply::encoded(resp3, |r| r.error(GROUP_GONE))),
                },
                (None, Position::After(id)) => *id,
                (None, _) => continue,
            };
            if stream.last_id <= after {
                continue;
            }
            // Redis answers even if the new entries are already trimmed away.
            let had = has_reader(db, key, &parsed, now);
            let read = match &parsed.group {
                Some((group, consumer)) => match stream_at_mut(db, key, now) {
                    Ok(Some(stream)) => read_new(stream, group, consumer, count, parsed.noack, now),
                    _ => continue,
                },
                None => entries_after(stream, after, count),
            };
            announce_reader(db, key, &parsed, had, now);
            return Some(Reply::encoded(resp3, |r| {
                write_streams(r, &[(key.clone(), read)])
            }));
        }
        None
    };
    cx.block(db, &wait_on, timeout, Box::new(attempt))
}

/// XREAD under the shared lock: replies (entries, or a null array when
/// there are none and it may not block) and says true, or says false when
/// it finds nothing and must block. Errors as the exclusive path gives
/// them, after the same lookups.
fn read_at_once(cx: &mut Context<'_>, parsed: &ReadArgs) -> Result<bool, Error> {
    let db = cx.db();
    let now = now_ms();
    let mut afters = Vec::with_capacity(parsed.keys.len());
    for (key, id) in parsed.keys.iter().zip(&parsed.ids) {
        // Each key is looked up twice, here and to serve it, as in Redis.
        cx.count_lookup(key, db.contains(key, now));
        let stream = stream_at(&db, key, now)?;
        afters.push(match &id[..] {
            b"$" => stream.map_or(StreamId::ZERO, |s| s.last_id),
            b">" => return Err(GT_IN_XREAD.into()),
            _ => strict_id(id)?,
        });
    }
    let mut served = Vec::new();
    for (key, after) in parsed.keys.iter().zip(afters) {
        cx.count_lookup(key, db.contains(key, now));
        if let Ok(Some(stream)) = stream_at(&db, key, now) {
            if stream.last().is_some_and(|(top, _)| top > after) {
                served.push((key, stream, after));
            }
        }
    }
    if served.is_empty() {
        if parsed.block.is_some() {
            return Ok(false);
        }
        cx.out.null_array();
        return Ok(true);
    }
    // Written from the stream itself: no entry is copied.
    let out = &mut *cx.out;
    if out.resp3 {
        out.map(served.len());
    } else {
        out.array(served.len());
    }
    let limit = if parsed.count == 0 {
        usize::MAX
    } else {
        parsed.count
    };
    for (key, stream, after) in served {
        if !out.resp3 {
            out.array(2);
        }
        out.bulk(key);
        let entries: Vec<_> = match after.next() {
            Some(start) => stream
                .range(start, StreamId::MAX, false)
                .take(limit)
                .collect(),
            None => Vec::new(),
        };
        out.array(entries.len());
        for (id, fields) in entries {
            write_entry(out, id, fields);
        }
    }
    Ok(true)
}

/// False when XREADGROUP's consumer is not (yet) in its group at `key`.
fn has_reader(db: &Db, key: &[u8], parsed: &ReadArgs, now: u64) -> bool {
    let Some((group, consumer)) = &parsed.group else {
        return true;
    };
    matches!(stream_at(db, key, now), Ok(Some(stream))
        if stream.groups.get(group).is_some_and(|g| g.consumers.contains_key(consumer)))
}

/// Redis's `xgroup-createconsumer` event when a read created its consumer.
fn announce_reader(db: &Db, key: &[u8], parsed: &ReadArgs, had: bool, now: u64) {
    if !had && has_reader(db, key, parsed, now) {
        db.notify(class::STREAM, "xgroup-createconsumer", key);
    }
}

/// Up to `count` entries (0 = all) after `after`.
fn entries_after(stream: &Stream, after: StreamId, count: usize) -> Read {
    let limit = if count == 0 { usize::MAX } else { count };
    let Some(start) = after.next() else {
        return Vec::new();
    };
    stream
        .range(start, StreamId::MAX, false)
        .take(limit)
        .map(|(id, fields)| (id, Some(fields.clone())))
        .collect()
}

/// What a reader is served at once from one stream, if anything.
fn read_one(
    db: &mut Db,
    key: &[u8],
    position: Position,
    parsed: &ReadArgs,
    count: usize,
    now: u64,
) -> Option<Read> {
    match position {
        Position::After(after) => {
            let stream = stream_at(db, key, now).ok()??;
            let (top, _) = stream.last()?;
            if top <= after {
                return None;
            }
            Some(entries_after(stream, after, count))
        }
        Position::New => {
            let (group, consumer) = parsed.group.as_ref()?;
            let stream = stream_at_mut(db, key, now).ok()??;
            let (top, _) = stream.last()?;
            if top <= stream.groups.get(group)?.last_id {
                return None;
            }
            Some(read_new(stream, group, consumer, count, parsed.noack, now))
        }
        Position::History(after) => {
            let (group, consumer) = parsed.group.as_ref()?;
            let stream = stream_at_mut(db, key, now).ok()??;
            let start = after.next().unwrap_or(StreamId::ZERO);
            Some(read_history(stream, group, consumer, start, count, now))
        }
    }
}

// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
fn xread(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    read_streams(cx, args, false)
}

// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds]
//   [NOACK] STREAMS key [key ...] id [id ...]
fn xreadgroup(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    read_streams(cx, args, true)
}

// ---- consumer groups ----

/// The group `name` of the stream at `key`, or Redis's NOGROUP error.
fn group_mut<'d>(
    db: &'d mut Db,
    key: &[u8],
    name: &[u8],
    now: u64,
) -> Result<&'d mut Stream, Error> {
    match stream_at_mut(db, key, now)? {
        Some(stream) if stream.groups.contains_key(name) => Ok(stream),
        _ => Err(no_key_or_group(key, name, "")),
    }
}

// XACK key group id [id ...]
fn xack(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut db = cx.db_mut();
    let now = now_ms();
    let group = match stream_at_mut(&mut db, &args[1], now)? {
        Some(stream) => stream.groups.get_mut(&args[2]),
        None => None,
    };
    let Some(group) = group else {
        drop(db);
        cx.out.int(0);
        return Ok(());
    };
    let ids = args[3..]
        .iter()
        .map(|a| strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let acked = ids.into_iter().filter(|&id| group.ack(id)).count();
    drop(db);
    cx.out.int(acked as i64);
    Ok(())
}

// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
fn xpending(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args.len() != 3 && !(6..=9).contains(&args.len()) {
        return Err(errors::SYNTAX.into());
    }
    let mut range = None;
    if args.len() >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if is(&args[3], "idle") {
            min_idle = int_arg(&args[4])?;
            if args.len() < 8 {
                return Err(errors::SYNTAX.into());
            }
            at += 2;
        }
        let count = int_arg(&args[at + 2])?.max(0) as usize;
        let start = range_start(&args[at])?;
        let end = range_end(&args[at + 1])?;
        range = Some((start, end, count, min_idle, args.get(at + 3).cloned()));
    }
    let db = cx.db();
    let now = now_ms();
    cx.count_lookup(&args[1], db.contains(&args[1], now));
    let group = stream_at(&db, &args[1], now)?.and_then(|s| s.groups.get(&args[2]));
    let Some(group) = group else {
        return Err(no_key_or_group(&args[1], &args[2], ""));
    };
    let Some((start, end, count, min_idle, consumer)) = range else {
        cx.out.array(4);
        cx.out.int(group.pel.len() as i64);
        match (group.pel.first_key_value(), group.pel.last_key_value()) {
            (Some((first, _)), Some((last, _))) => {
                write_id(cx.out, *first);
                write_id(cx.out, *last);
                let busy: Vec<_> = group
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pending.is_empty())
                    .collect();
                cx.out.array(busy.len());
                for (name, consumer) in busy {
                    cx.out.array(2);
                    cx.out.bulk(name);
                    cx.out.bulk(consumer.pending.len().to_string().as_bytes());
                }
            }
            _ => {
                cx.out.null();
                cx.out.null();
                cx.out.null_array();
            }
        }
        return Ok(());
    };
    let ids: Box<dyn Iterator<Item = StreamId>> = match &consumer {
        Some(name) => match group.consumers.get(name) {
            Some(consumer) if start <= end => {
                Box::new(consumer.pending.range(start..=end).copied())
            }
            Some(_) => Box::new(std::iter::empty()),
            None => {
                cx.out.array(0);
                return Ok(());
            }
        },
        None if start <= end => Box::new(group.pel.range(start..=end).map(|(id, _)| *id)),
        None => Box::new(std::iter::empty()),
    };
    let idle_of = |nack: &Nack| (now as i64 - nack.delivery_time as i64).max(0);
    let rows: Vec<(StreamId, &Nack)> = ids
        .filter_map(|id| group.pel.get(&id).map(|nack| (id, nack)))
        .filter(|(_, nack)| min_idle == 0 || idle_of(nack) >= min_idle)
        .take(count)
        .collect();
    cx.out.array(rows.len());
    for (id, nack) in rows {
        cx.out.array(4);
        write_id(cx.out, id);
        cx.out.bulk(&nack.consumer);
        cx.out.int(idle_of(nack));
        cx.out.int(nack.delivery_count as i64);
    }
    Ok(())
}

/// An integer argument with a command-specific error text.
fn int_or(arg: &[u8], error: &'static str) -> Result<i64, Error> {
    crate::util::parse_i64(arg).ok_or(Error::from(error))
}

/// Claimed entries: an ID alone (JUSTID) or the entry.
fn write_claimed(out: &mut Reply, claimed: &[(StreamId, Option<Fields>)], justid: bool) {
    out.array(claimed.len());
    for (id, fields) in claimed {
        match fields {
            _ if justid => write_id(out, *id),
            Some(fields) => write_entry(out, *id, fields),
            None => out.null(),
        }
    }
}

// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms]
//   [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID]
//   [LASTID lastid]
fn xclaim(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut db = cx.db_mut();
    let now = now_ms();
    let stream = group_mut(&mut db, &args[1], &args[2], now)?;
    let min_idle = int_or(&args[4], "ERR Invalid min-idle-time argument for XCLAIM")?.max(0);
    let mut ids = Vec::new();
    let mut i = 5;
    while let Some(id) = args.get(i).and_then(|a| strict_id(a).ok()) {
        ids.push(id);
        i += 1;
    }
    let (mut force, mut justid) = (false, false);
    let (mut delivery, mut retry_count, mut last_id) = (None, None, StreamId::ZERO);
    while i < args.len() {
        let more = i + 1 < args.len();
        let opt = &args[i];
        if is(opt, "force") {
            force = true;
        } else if is(opt, "justid") {
            justid = true;
        } else if is(opt, "idle") && more {
            i += 1;
            let idle = int_or(&args[i], "ERR Invalid IDLE option argument for XCLAIM")?;
            delivery = Some(now as i64 - idle);
        } else if is(opt, "time") && more {
            i += 1;
            delivery = Some(int_or(
                &args[i],
                "ERR Invalid TIME option argument for XCLAIM",
            )?);
        } else if is(opt, "retrycount") && more {
            i += 1;
            retry_count = Some(int_or(
                &args[i],
                "ERR Invalid RETRYCOUNT option argument for XCLAIM",
            )?);
        } else if is(opt, "lastid") && more {
            i += 1;
            last_id = strict_id(&args[i])?;
        } else {
            return Err(Error::new(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                text(opt)
            )));
        }
        i += 1;
    }
    // A bogus time (negative, in the future) means now.
    let delivery = match delivery {
        Some(t) if t >= 0 && t <= now as i64 => t as u64,
        _ => now,
    };
    let existing: Vec<Option<Fields>> = ids.iter().map(|id| stream.get(*id).cloned()).collect();
    let Some(group) = stream.groups.get_mut(&args[2]) else {
        return Err(no_key_or_group(&args[1], &args[2], ""));
    };
    if last_id > group.last_id {
        group.last_id = last_id;
    }
    let consumer = &args[3];
    let mut created = false;
    let mut claimed = Vec::new();
    for (id, fields) in ids.into_iter().zip(existing) {
        if fields.is_none() {
            // The entry is gone: so is its pending record.
            group.ack(id);
            continue;
        }
        let forced = force && !group.pel.contains_key(&id);
        if forced {
            let nack = Nack {
                consumer: Vec::new(),
                delivery_time: now,
                delivery_count: 1,
            };
            group.pel.insert(id, nack);
        }
        let Some(nack) = group.pel.get(&id) else {
            continue;
        };
        if !forced && min_idle > 0 && (now as i64 - nack.delivery_time as i64) < min_idle {
            continue;
        }
        created |= group.consumer(consumer, now).1;
        group.reassign(id, consumer);
        if let Some(nack) = group.pel.get_mut(&id) {
            nack.delivery_time = delivery;
            match retry_count {
                Some(n) => nack.delivery_count = n as u64,
                None if !justid => nack.delivery_count += 1,
                None => {}
            }
        }
        claimed.push((id, fields));
    }
    drop(db);
    if created {
        cx.notify(class::STREAM, "xgroup-createconsumer", &args[1]);
    }
    write_claimed(cx.out, &claimed, justid);
    Ok(())
}

// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
fn xautoclaim(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let min_idle = int_or(
        &args[4],
        "ERR Invalid min-idle-time argument for XAUTOCLAIM",
    )?
    .max(0);
    let start = range_start(&args[5])?;
    let (mut count, mut justid) = (100usize, false);
    let mut i = 6;
    while i < args.len() {
        if is(&args[i], "count") && i + 1 < args.len() {
            let max = i64::MAX / 16;
            count = match crate::util::parse_i64(&args[i + 1]) {
                Some(n) if (1..=max).contains(&n) => n as usize,
                _ => return Err(AUTOCLAIM_COUNT.into()),
            };
            i += 1;
        } else if is(&args[i], "justid") {
            justid = true;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    let mut db = cx.db_mut();
    let now = now_ms();
    let stream = group_mut(&mut db, &args[1], &args[2], now)?;
    let pending: Vec<StreamId> = stream.groups[&args[2]]
        .pel
        .range(start..)
        .map(|(id, _)| *id)
        .take(count.saturating_mul(10))
        .collect();
    let existing: Vec<Option<Fields>> = pending.iter().map(|id| stream.get(*id).cloned()).collect();
    let Some(group) = stream.groups.get_mut(&args[2]) else {
        return Err(no_key_or_group(&args[1], &args[2], ""));
    };
    let consumer = &args[3];
    let mut created = false;
    let (mut claimed, mut deleted) = (Vec::new(), Vec::new());
    let mut last_seen = None;
    for (id, fields) in pending.into_iter().zip(existing) {
        if count == 0 {
            break;
        }
        last_seen = Some(id);
        if fields.is_none() {
            group.ack(id);
            deleted.push(id);
            count -= 1;
            continue;
        }
        let idle = group
            .pel
            .get(&id)
            .map_or(0, |n| now as i64 - n.delivery_time as i64);
        if min_idle > 0 && idle < min_idle {
            continue;
        }
        created |= group.consumer(consumer, now).1;
        group.reassign(id, consumer);
        if let Some(nack) = group.pel.get_mut(&id) {
            nack.delivery_time = now;
            if !justid {
                nack.delivery_count += 1;
            }
        }
        claimed.push((id, fields));
        count -= 1;
    }
    // The cursor: the next pending ID after the last one looked at.
    let cursor = match last_seen {
        Some(last) => last
            .next()
            .and_then(|after| group.pel.range(after..).next().map(|(id, _)| *id)),
        None => None,
    }
    .unwrap_or(StreamId::ZERO);
    drop(db);
    if created {
        cx.notify(class::STREAM, "xgroup-createconsumer", &args[1]);
    }
    cx.out.array(3);
    write_id(cx.out, cursor);
    write_claimed(cx.out, &claimed, justid);
    cx.out.array(deleted.len());
    for id in deleted {
        write_id(cx.out, id);
    }
    Ok(())
}

fn subcommand_syntax(sub: &[u8], command: &str) -> Error {
    Error::new(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {command} HELP.",
        text(sub)
    ))
}

// XGROUP CREATE key group <id | $> [MKSTREAM] [ENTRIESREAD entries-read]
// XGROUP SETID key group <id | $> [ENTRIESREAD entries-read]
// XGROUP DESTROY key group
// XGROUP CREATECONSUMER key group consumer
// XGROUP DELCONSUMER key group consumer
fn xgroup(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    let (create, setid) = (sub == b"create", sub == b"setid");
    let (mut mkstream, mut entries_read) = (false, None);
    if create || setid {
        let mut i = 5;
        while i < args.len() {
            if create && is(&args[i], "mkstream") {
                mkstream = true;
                i += 1;
            } else if is(&args[i], "entriesread") && i + 1 < args.len() {
                let n = int_arg(&args[i + 1])?;
                if n < -1 {
                    return Err(ENTRIESREAD_NEGATIVE.into());
                }
                entries_read = u64::try_from(n).ok();
                i += 2;
            } else {
                return Err(subcommand_syntax(&args[1], "XGROUP"));
            }
        }
    }
    let (key, name) = (&args[2], &args[3]);
    let db_index = cx.session.db;
    let mut db = cx.db_mut();
    let now = now_ms();
    let stream = stream_at(&db, key, now)?;
    if stream.is_none() && !mkstream {
        return Err(KEY_MUST_EXIST.into());
    }
    let has_group = stream.is_some_and(|s| s.groups.contains_key(name));
    if !has_group && (setid || sub == b"createconsumer" || sub == b"delconsumer") {
        return Err(no_group(key, name));
    }
    let last_id = stream.map_or(StreamId::ZERO, |s| s.last_id);
    let id_arg = |arg: &[u8], strict: bool| match arg {
        b"$" => Ok(last_id),
        _ if strict => strict_id(arg),
        _ => parse_id(arg, 0, false),
    };
    match &sub[..] {
        b"create" if args.len() <= 8 => {
            let id = id_arg(&args[4], true)?;
            let Value::Stream(stream) =
                db.get_or_insert_with(key, now, || Value::Stream(Box::default()))
            else {
                return Err(errors::WRONGTYPE.into());
            };
            if stream.groups.contains_key(name) {
                return Err(BUSYGROUP.into());
            }
            let group = Group {
                last_id: id,
                entries_read,
                pel: Default::default(),
                consumers: Default::default(),
            };
            stream.groups.insert(name.clone(), group);
            db.dirty();
            drop(db);
            cx.notify(class::STREAM, "xgroup-create", key);
            cx.out.ok();
        }
        b"setid" if args.len() == 5 || args.len() == 7 => {
            let id = id_arg(&args[4], false)?;
            if let Some(group) =
                stream_at_mut(&mut db, key, now)?.and_then(|s| s.groups.get_mut(name))
            {
                group.last_id = id;
                group.entries_read = entries_read;
                drop(db);
                cx.notify(class::STREAM, "xgroup-setid", key);
            }
            cx.out.ok();
        }
        b"destroy" => {
            let removed = stream_at_mut(&mut db, key, now)?
                .and_then(|s| s.groups.remove(&name[..]))
                .is_some();
            drop(db);
            if removed {
                cx.notify(class::STREAM, "xgroup-destroy", key);
                // Readers blocked on the group get their NOGROUP error.
                cx.key_ready(db_index, key);
            }
            cx.out.int(i64::from(removed));
        }
        b"createconsumer" => {
            let created = stream_at_mut(&mut db, key, now)?
                .and_then(|s| s.groups.get_mut(name))
                .is_some_and(|g| {
                    !g.consumers.contains_key(&args[4]) && g.consumer(&args[4], now).1
                });
            drop(db);
            if created {
                cx.notify(class::STREAM, "xgroup-createconsumer", key);
            }
            cx.out.int(i64::from(created));
        }
        b"delconsumer" => {
            let pending = stream_at_mut(&mut db, key, now)?
                .and_then(|s| s.groups.get_mut(name))
                .and_then(|g| g.remove_consumer(&args[4]));
            drop(db);
            if pending.is_some() {
                cx.notify(class::STREAM, "xgroup-delconsumer", key);
            }
            cx.out.int(pending.unwrap_or(0) as i64);
        }
        _ => return Err(subcommand_syntax(&args[1], "XGROUP")),
    }
    Ok(())
}

// XGROUP HELP
fn xgroup_help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    help_reply(
        cx.out,
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
    Ok(())
}

// ---- XINFO ----

/// The stream XINFO describes, or `ERR no such key`.
fn info_stream<'d>(cx: &Context<'_>, db: &'d Db, key: &[u8]) -> Result<&'d Stream, Error> {
    let now = now_ms();
    cx.count_lookup(key, db.contains(key, now));
    stream_at(db, key, now)?.ok_or(Error::from(errors::NO_SUCH_KEY))
}

fn write_int_or_null(out: &mut Reply, value: Option<u64>) {
    match value {
        Some(n) => out.int(n as i64),
        None => out.null(),
    }
}

/// The fields XINFO STREAM starts with, in both forms.
fn write_stream_header(out: &mut Reply, stream: &Stream) {
    out.bulk(b"length");
    out.int(stream.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(stream.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(stream.radix_tree_nodes() as i64);
    out.bulk(b"last-generated-id");
    write_id(out, stream.last_id);
    out.bulk(b"max-deleted-entry-id");
    write_id(out, stream.max_deleted_id);
    out.bulk(b"entries-added");
    out.int(stream.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    write_id(out, stream.first_id);
}

// XINFO STREAM key [FULL [COUNT count]]
fn xinfo_stream(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let stream = info_stream(cx, &db, &args[2])?;
    let mut count = 10;
    let full = args.len() > 3;
    if full {
        if !is(&args[3], "full") {
            return Err(subcommand_syntax(&args[1], "XINFO"));
        }
        if args.len() == 6 && is(&args[4], "count") {
            count = int_arg(&args[5])?;
            if count < 0 {
                count = 10;
            }
        } else if args.len() > 4 {
            return Err(subcommand_syntax(&args[1], "XINFO"));
        }
    }
    let out = &mut *cx.out;
    if !full {
        out.map(10);
        write_stream_header(out, stream);
        out.bulk(b"groups");
        out.int(stream.groups.len() as i64);
        for (name, entry) in [
            ("first-entry", stream.first()),
            ("last-entry", stream.last()),
        ] {
            out.bulk(name.as_bytes());
            match entry {
                Some((id, fields)) => write_entry(out, id, fields),
                None => out.null(),
            }
        }
        return Ok(());
    }
    let limit = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    out.map(9);
    write_stream_header(out, stream);
    out.bulk(b"entries");
    let entries: Vec<_> = stream
        .range(StreamId::ZERO, StreamId::MAX, false)
        .take(limit)
        .collect();
    out.array(entries.len());
    for (id, fields) in entries {
        write_entry(out, id, fields);
    }
    out.bulk(b"groups");
    out.array(stream.groups.len());
    for (name, group) in &stream.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        write_id(out, group.last_id);
        out.bulk(b"entries-read");
        write_int_or_null(out, group.entries_read);
        out.bulk(b"lag");
        write_int_or_null(out, stream.lag(group));
        out.bulk(b"pel-count");
        out.int(group.pel.len() as i64);
        out.bulk(b"pending");
        let pending: Vec<_> = group.pel.iter().take(limit).collect();
        out.array(pending.len());
        for (id, nack) in pending {
            out.array(4);
            write_id(out, *id);
            out.bulk(&nack.consumer);
            out.int(nack.delivery_time as i64);
            out.int(nack.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(group.consumers.len());
        for (name, consumer) in &group.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(name);
            out.bulk(b"seen-time");
            out.int(consumer.seen_time as i64);
            out.bulk(b"pel-count");
            out.int(consumer.pending.len() as i64);
            out.bulk(b"pending");
            let pending: Vec<_> = consumer.pending.iter().take(limit).collect();
            out.array(pending.len());
            for id in pending {
                let nack = group.pel.get(id);
                out.array(3);
                write_id(out, *id);
                out.int(nack.map_or(0, |n| n.delivery_time as i64));
                out.int(nack.map_or(0, |n| n.delivery_count as i64));
            }
        }
    }
    Ok(())
}

// XINFO GROUPS key
fn xinfo_groups(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let stream = info_stream(cx, &db, &args[2])?;
    let out = &mut *cx.out;
    out.array(stream.groups.len());
    for (name, group) in &stream.groups {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(group.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(group.pel.len() as i64);
        out.bulk(b"last-delivered-id");
        write_id(out, group.last_id);
        out.bulk(b"entries-read");
        write_int_or_null(out, group.entries_read);
        out.bulk(b"lag");
        write_int_or_null(out, stream.lag(group));
    }
    Ok(())
}

// XINFO CONSUMERS key group
fn xinfo_consumers(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let db = cx.db();
    let stream = info_stream(cx, &db, &args[2])?;
    let group = stream
        .groups
        .get(&args[3])
        .ok_or_else(|| no_group(&args[2], &args[3]))?;
    let now = now_ms();
    let out = &mut *cx.out;
    out.array(group.consumers.len());
    for (name, consumer) in &group.consumers {
        out.map(3);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"pending");
        out.int(consumer.pending.len() as i64);
        out.bulk(b"idle");
        out.int((now as i64 - consumer.seen_time as i64).max(0));
    }
    Ok(())
}

// XINFO HELP
fn xinfo_help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    help_reply(
        cx.out,
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
    Ok(())
}
