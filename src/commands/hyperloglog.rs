//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG and PFSELFTEST.
//!
//! An HLL is an ordinary string value in Redis's exact layout (see
//! `store::hyperloglog`), so GET, DUMP, RDB and the AOF carry it as is.

use super::errors::{self, Error};
use super::flags::*;
use super::{is, Args, CmdResult, Command, Context, KeySpec, ALL_KEYS, NO_KEYS, ONE_KEY};
use crate::notify::class::STRING;
use crate::store::hyperloglog::{self as hll, Encoding, REGISTERS};
use crate::store::{Bytes, Db, Value};
use crate::util::now_ms;

const INVALID: &str = "INVALIDOBJ Corrupted HLL object detected";
const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const NO_SUCH_KEY: &str = "ERR The specified key does not exist";
const NOT_SPARSE: &str = "ERR HLL encoding is not sparse";

/// PFDEBUG's key: the third argument.
const DEBUG_KEY: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[Command] = &[
    Command::new(
        "pfadd",
        -2,
        WRITE | DENYOOM | FAST,
        ONE_KEY,
        "hyperloglog",
        pfadd,
    ),
    Command::new("pfcount", -2, READONLY, ALL_KEYS, "hyperloglog", pfcount),
    Command::new(
        "pfmerge",
        -2,
        WRITE | DENYOOM,
        ALL_KEYS,
        "hyperloglog",
        pfmerge,
    ),
    Command::new(
        "pfdebug",
        3,
        WRITE | DENYOOM | ADMIN,
        DEBUG_KEY,
        "hyperloglog",
        pfdebug,
    ),
    Command::new("pfselftest", 1, ADMIN, NO_KEYS, "hyperloglog", pfselftest),
];

/// The HLL under `key` for a read: None when missing, WRONGTYPE for other
/// types and for strings that are not HLLs.
fn read_hll<'d>(db: &'d Db, key: &[u8], now: u64) -> Result<Option<&'d [u8]>, Error> {
    match db.get(key, now) {
        None => Ok(None),
        Some(Value::Str(bytes)) if hll::is_hll(bytes) => Ok(Some(bytes)),
        Some(Value::Str(_)) => Err(NOT_HLL.into()),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

fn corrupt(_: hll::Corrupt) -> Error {
    INVALID.into()
}

// PFADD key [element [element ...]]
fn pfadd(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let key = &args[1];
    let max_bytes = cx.shared.config().hll_sparse_max_bytes();
    let now = now_ms();
    let mut db = cx.db_mut();
    let exists = read_hll(&db, key, now)?.is_some();
    let outcome = if exists {
        db.modify(key, now, |value| {
            let Value::Str(bytes) = value else {
                return (Ok(false), false);
            };
            let outcome = bytes.edit(|hll| add_all(hll, &args[2..], max_bytes));
            let changed = outcome == Ok(true);
            (outcome, changed)
        })
        .unwrap_or(Ok(false))
    } else {
        // A new key counts as an update even with no elements.
        let mut new = hll::new_sparse();
        let outcome = add_all(&mut new, &args[2..], max_bytes).map(|_| true);
        if outcome.is_ok() {
            hll::invalidate_cache(&mut new);
            db.set(key.as_slice().into(), Value::Str(Bytes::from(new)));
        }
        outcome
    };
    drop(db);
    let updated = outcome.map_err(corrupt)?;
    if updated {
        cx.notify(STRING, "pfadd", key);
    }
    cx.out.int(i64::from(updated));
    Ok(())
}

/// Adds every element; Ok(true) if a register changed (the cached
/// cardinality is then marked stale).
fn add_all(
    hll: &mut Vec<u8>,
    elements: &[Vec<u8>],
    max_bytes: usize,
) -> Result<bool, hll::Corrupt> {
    let mut updated = false;
    for element in elements {
        updated |= hll::add(hll, element, max_bytes)?;
    }
    if updated {
        hll::invalidate_cache(hll);
    }
    Ok(updated)
}

// PFCOUNT key [key ...]
fn pfcount(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let now = now_ms();
    if args.len() > 2 {
        // The union's cardinality; nothing is written.
        let mut registers = vec![0u8; REGISTERS];
        let db = cx.db();
        for key in &args[1..] {
            let found = read_hll(&db, key, now);
            cx.count_lookup(key, matches!(found, Ok(Some(_)) | Err(_)));
            if let Some(hll) = found? {
                hll::merge_into(&mut registers, hll).map_err(corrupt)?;
            }
        }
        drop(db);
        cx.out.int(hll::count_registers(&registers) as i64);
        return Ok(());
    }
    let key = &args[1];
    // Most often the cached cardinality answers, under the read lock.
    {
        let db = cx.db();
        let found = read_hll(&db, key, now);
        cx.count_lookup(key, !matches!(found, Ok(None)));
        match found? {
            None => {
                drop(db);
                cx.out.int(0);
                return Ok(());
            }
            Some(hll) => {
                if let Some(count) = hll::cached_count(hll) {
                    drop(db);
                    cx.out.int(count as i64);
                    return Ok(());
                }
            }
        }
    }
    // Stale: count, and cache the count in the value (a change that is
    // propagated, as in Redis).
    let mut db = cx.db_mut();
    let count = db
        .modify(key, now, |value| match value {
            Value::Str(bytes) if hll::is_hll(bytes) => {
                if let Some(count) = hll::cached_count(bytes) {
                    return (Ok(count), false);
                }
                match hll::count(bytes) {
                    Ok(count) => {
                        bytes.edit(|hll| hll::set_cached_count(hll, count));
                        (Ok(count), true)
                    }
                    Err(_) => (Err(Error::from(INVALID)), false),
                }
            }
            Value::Str(_) => (Err(NOT_HLL.into()), false),
            _ => (Err(errors::WRONGTYPE.into()), false),
        })
        .unwrap_or(Ok(0))?;
    drop(db);
    cx.out.int(count as i64);
    Ok(())
}

// PFMERGE destkey [sourcekey [sourcekey ...]]
fn pfmerge(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let key = &args[1];
    let now = now_ms();
    let max_bytes = cx.shared.config().hll_sparse_max_bytes();
    let mut registers = vec![0u8; REGISTERS];
    let mut use_dense = false;
    let mut db = cx.db_mut();
    // The destination is merged too: it is the first of the keys.
    for source in &args[1..] {
        let found = read_hll(&db, source, now);
        cx.count_lookup(source, !matches!(found, Ok(None)));
        if let Some(hll) = found? {
            use_dense |= hll::encoding(hll) == Encoding::Dense;
            hll::merge_into(&mut registers, hll).map_err(corrupt)?;
        }
    }
    let write = |hll: &mut Vec<u8>| -> Result<(), hll::Corrupt> {
        if use_dense {
            hll::to_dense(hll)?;
        }
        for (index, &value) in registers.iter().enumerate() {
            if value != 0 {
                // Redis ignores a failure here: the sources were checked.
                let _ = hll::raise(hll, index, value, max_bytes);
            }
        }
        hll::invalidate_cache(hll);
        Ok(())
    };
    let outcome = if db.contains(key, now) {
        db.modify(key, now, |value| match value {
            Value::Str(bytes) => (bytes.edit(write), true),
            _ => (Ok(()), false),
        })
        .unwrap_or(Ok(()))
    } else {
        let mut new = hll::new_sparse();
        let outcome = write(&mut new);
        db.set(key.as_slice().into(), Value::Str(Bytes::from(new)));
        outcome
    };
    drop(db);
    outcome.map_err(corrupt)?;
    // Redis logs PFMERGE as a PFADD: in effect, a mass add.
    cx.notify(STRING, "pfadd", key);
    cx.out.ok();
    Ok(())
}

// PFDEBUG subcommand key
fn pfdebug(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let (sub, key) = (&args[1], &args[2]);
    let now = now_ms();
    let mut db = cx.db_mut();
    let Some(found) = read_hll(&db, key, now)? else {
        return Err(NO_SUCH_KEY.into());
    };
    let encoding = hll::encoding(found);
    if is(sub, "getreg") || is(sub, "todense") {
        let converted = db
            .modify(key, now, |value| match value {
                Value::Str(bytes) => {
                    let converted = bytes.edit(hll::to_dense);
                    let changed = converted == Ok(true);
                    (converted, changed)
                }
                _ => (Ok(false), false),
            })
            .unwrap_or(Ok(false))
            .map_err(corrupt)?;
        if is(sub, "todense") {
            drop(db);
            cx.out.int(i64::from(converted));
            return Ok(());
        }
        let registers = match db.get(key, now) {
            Some(Value::Str(bytes)) => hll::dense_registers(bytes),
            _ => Vec::new(),
        };
        drop(db);
        cx.out.array(registers.len());
        for value in registers {
            cx.out.int(i64::from(value));
        }
    } else if is(sub, "decode") {
        if encoding != Encoding::Sparse {
            return Err(NOT_SPARSE.into());
        }
        let text = hll::decode_sparse(found);
        drop(db);
        cx.out.bulk(text.as_bytes());
    } else if is(sub, "encoding") {
        drop(db);
        cx.out.simple(match encoding {
            Encoding::Dense => "dense",
            Encoding::Sparse => "sparse",
        });
    } else {
        return Err(Error::new(format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(sub)
        )));
    }
    Ok(())
}

// PFSELFTEST
fn pfselftest(cx: &mut Context<'_>, _args: &Args) -> CmdResult {
    let max_bytes = cx.shared.config().hll_sparse_max_bytes();
    hll::self_test(max_bytes, crate::util::Rng::new().next_u64()).map_err(Error::new)?;
    cx.out.ok();
    Ok(())
}
