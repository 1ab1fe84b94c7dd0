//! Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP.
//!
//! Bits are numbered from the most significant bit of the first byte: bit 0
//! is `0x80` of byte 0, bit 8 is `0x80` of byte 1. A missing key reads as
//! an empty string, and bits past the end of a string read as 0.

use super::errors::{self, Error};
use super::flags::*;
use super::{int_arg, is, Args, CmdResult, Command, Context, KeySpec, ONE_KEY};
use crate::store::{Db, Value};
use crate::util::now_ms;

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_BIT: &str = "ERR bit is not an integer or out of range";
const BITPOS_BAD_BIT: &str = "ERR The bit argument must be 1 or 0.";
const NOT_SINGLE_SOURCE: &str = "ERR BITOP NOT must be called with a single source key.";

/// BITOP: the destination, then every source, is a key.
const DEST_AND_SOURCES: KeySpec = KeySpec {
    first: 2,
    last: -1,
    step: 1,
};

pub static COMMANDS: &[Command] = &[
    Command::new("setbit", 4, WRITE | DENYOOM, ONE_KEY, "bitmap", setbit),
    Command::new("getbit", 3, READONLY | FAST, ONE_KEY, "bitmap", getbit),
    Command::new("bitcount", -2, READONLY, ONE_KEY, "bitmap", bitcount),
    Command::new("bitpos", -3, READONLY, ONE_KEY, "bitmap", bitpos),
    Command::new(
        "bitop",
        -4,
        WRITE | DENYOOM,
        DEST_AND_SOURCES,
        "bitmap",
        bitop,
    ),
];

/// A bit offset argument (Redis's `getBitOffsetFromArgument`): not
/// negative, and inside the longest string a client may build
/// (proto-max-bulk-len bytes), so nothing is allocated for a refused one.
fn bit_offset(cx: &Context<'_>, arg: &[u8]) -> Result<u64, Error> {
    let offset = int_arg(arg).map_err(|_| Error::from(BAD_OFFSET))?;
    let max_bytes = cx.shared.config().proto_max_bulk_len();
    if offset < 0 || offset >> 3 >= max_bytes {
        return Err(BAD_OFFSET.into());
    }
    Ok(offset as u64)
}

/// The string under `key` for a read (a missing key is None), counting the
/// lookup as a hit or miss; WRONGTYPE for other types.
fn read_string<'d>(
    cx: &Context<'_>,
    db: &'d Db,
    key: &[u8],
    now: u64,
) -> Result<Option<&'d [u8]>, Error> {
    let value = db.get(key, now);
    cx.count_lookup(value.is_some());
    match value {
        None => Ok(None),
        Some(Value::Str(bytes)) => Ok(Some(bytes)),
        Some(_) => Err(errors::WRONGTYPE.into()),
    }
}

/// The value (0 or 1) of bit `offset` of `bytes`.
fn bit_at(bytes: &[u8], offset: u64) -> u8 {
    let byte = bytes.get((offset >> 3) as usize).copied().unwrap_or(0);
    (byte >> (7 - (offset & 7))) & 1
}

// SETBIT key offset value
fn setbit(cx: &mut Context<'_>, args: Args) -> CmdResult {
    let offset = bit_offset(cx, &args[2])?;
    let on = match int_arg(&args[3]) {
        Ok(0) => false,
        Ok(1) => true,
        _ => return Err(BAD_BIT.into()),
    };
    let now = now_ms();
    let mut db = cx.db_mut();
    let Value::Str(bytes) = db.get_or_insert_with(&args[1], now, || Value::Str(Vec::new())) else {
        return Err(errors::WRONGTYPE.into());
    };
    // Setting a bit to 0 grows the string too, as in Redis.
    let byte = (offset >> 3) as usize;
    if bytes.len() <= byte {
        bytes.resize(byte + 1, 0);
    }
    let old = bit_at(bytes, offset);
    let mask = 0x80u8 >> (offset & 7);
    if on {
        bytes[byte] |= mask;
    } else {
        bytes[byte] &= !mask;
    }
    drop(db);
    cx.out.int(i64::from(old));
    Ok(())
}

// GETBIT key offset
fn getbit(cx: &mut Context<'_>, args: Args) -> CmdResult {
    let offset = bit_offset(cx, &args[2])?;
    let db = cx.db();
    let bytes = read_string(cx, &db, &args[1], now_ms())?.unwrap_or_default();
    let bit = bit_at(bytes, offset);
    drop(db);
    cx.out.int(i64::from(bit));
    Ok(())
}

/// A range of whole bits, `first..=last`, inside the string.
#[derive(Debug, Clone, Copy)]
struct BitRange {
    first: u64,
    last: u64,
}

/// Resolves `start..=end` (in bytes, or bits when `in_bits`; negative
/// counts from the end) against a string of `len` bytes, clamping it to the
/// string as Redis does. None when nothing is left.
fn bit_range(len: usize, start: i64, end: i64, in_bits: bool) -> Option<BitRange> {
    let unit = if in_bits { 1 } else { 8 };
    let total = len as i64 * 8 / unit;
    let resolve = |index: i64| if index < 0 { total + index } else { index }.max(0);
    let start = resolve(start);
    let end = resolve(end).min(total - 1);
    if start > end {
        return None;
    }
    Some(BitRange {
        first: (start * unit) as u64,
        last: (end * unit + unit - 1) as u64,
    })
}

/// The whole string as a range (None when it is empty).
fn whole(len: usize) -> Option<BitRange> {
    bit_range(len, 0, -1, false)
}

/// Reads the optional `BYTE | BIT` unit argument.
fn unit_arg(arg: Option<&Vec<u8>>) -> Result<bool, Error> {
    match arg {
        None => Ok(false),
        Some(arg) if is(arg, "byte") => Ok(false),
        Some(arg) if is(arg, "bit") => Ok(true),
        Some(_) => Err(errors::SYNTAX.into()),
    }
}

/// The bits of the first and last bytes of `range` that lie inside it.
fn edge_masks(range: BitRange) -> (u8, u8) {
    (0xFF >> (range.first & 7), 0xFF << (7 - (range.last & 7)))
}

/// The number of 1 bits of `bytes` inside `range`.
fn count_ones(bytes: &[u8], range: BitRange) -> u64 {
    let (first, last) = ((range.first >> 3) as usize, (range.last >> 3) as usize);
    let (head, tail) = edge_masks(range);
    if first == last {
        return u64::from((bytes[first] & head & tail).count_ones());
    }
    let middle = &bytes[first + 1..last];
    let mut chunks = middle.chunks_exact(8);
    let mut count: u64 = chunks
        .by_ref()
        .map(|c| {
            u64::from(
                u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]).count_ones(),
            )
        })
        .sum();
    count += chunks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>();
    count + u64::from((bytes[first] & head).count_ones() + (bytes[last] & tail).count_ones())
}

/// The position of the first bit equal to `bit` inside `range`.
fn find_bit(bytes: &[u8], bit: bool, range: BitRange) -> Option<u64> {
    let (first, last) = ((range.first >> 3) as usize, (range.last >> 3) as usize);
    let (head, tail) = edge_masks(range);
    (first..=last).find_map(|i| {
        // Turn the bits we look for into 1s, then keep those in range.
        let mut byte = if bit { bytes[i] } else { !bytes[i] };
        if i == first {
            byte &= head;
        }
        if i == last {
            byte &= tail;
        }
        (byte != 0).then(|| i as u64 * 8 + u64::from(byte.leading_zeros()))
    })
}

// BITCOUNT key [start end [BYTE | BIT]]
fn bitcount(cx: &mut Context<'_>, args: Args) -> CmdResult {
    let db = cx.db();
    let Some(bytes) = read_string(cx, &db, &args[1], now_ms())? else {
        drop(db);
        cx.out.int(0);
        return Ok(());
    };
    let range = match args.len() {
        2 => whole(bytes.len()),
        4 | 5 => {
            let start = int_arg(&args[2])?;
            let end = int_arg(&args[3])?;
            let in_bits = unit_arg(args.get(4))?;
            // Both from the end and crossed: empty, even where clamping
            // would bring them together on the first byte.
            if start < 0 && end < 0 && start > end {
                None
            } else {
                bit_range(bytes.len(), start, end, in_bits)
            }
        }
        _ => return Err(errors::SYNTAX.into()),
    };
    let count = range.map_or(0, |range| count_ones(bytes, range));
    drop(db);
    cx.out.int(count as i64);
    Ok(())
}

// BITPOS key bit [start [end [BYTE | BIT]]]
fn bitpos(cx: &mut Context<'_>, args: Args) -> CmdResult {
    let bit = match int_arg(&args[2])? {
        0 => false,
        1 => true,
        _ => return Err(BITPOS_BAD_BIT.into()),
    };
    let db = cx.db();
    // A missing key is an endless run of 0 bits, whatever the range.
    let Some(bytes) = read_string(cx, &db, &args[1], now_ms())? else {
        drop(db);
        cx.out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let end_given = args.len() >= 5;
    let range = match args.len() {
        3 => whole(bytes.len()),
        4..=6 => {
            let start = int_arg(&args[3])?;
            let in_bits = unit_arg(args.get(5))?;
            let end = match args.get(4) {
                Some(end) => int_arg(end)?,
                None => -1,
            };
            bit_range(bytes.len(), start, end, in_bits)
        }
        _ => return Err(errors::SYNTAX.into()),
    };
    let position = match range {
        None => -1,
        Some(range) => match find_bit(bytes, bit, range) {
            Some(position) => position as i64,
            // Without an explicit end, the string is padded with 0 bits on
            // the right: the first one is just past the range.
            None if !bit && !end_given => range.last as i64 + 1,
            None => -1,
        },
    };
    drop(db);
    cx.out.int(position);
    Ok(())
}

// BITOP <AND | OR | XOR | NOT> destkey key [key ...]
fn bitop(cx: &mut Context<'_>, args: Args) -> CmdResult {
    // None is NOT, the one operation on a single source.
    let combine: Option<fn(u8, u8) -> u8> = match &args[1] {
        name if is(name, "and") => Some(|a, b| a & b),
        name if is(name, "or") => Some(|a, b| a | b),
        name if is(name, "xor") => Some(|a, b| a ^ b),
        name if is(name, "not") => None,
        _ => return Err(errors::SYNTAX.into()),
    };
    if combine.is_none() && args.len() != 4 {
        return Err(NOT_SINGLE_SOURCE.into());
    }
    let now = now_ms();
    let mut db = cx.db_mut();
    let mut sources = Vec::with_capacity(args.len() - 3);
    for key in &args[3..] {
        sources.push(read_string(cx, &db, key, now)?.unwrap_or_default());
    }
    let result: Vec<u8> = match combine {
        None => sources[0].iter().map(|b| !b).collect(),
        Some(op) => {
            // Short and missing sources are padded with zero bytes.
            let len = sources.iter().map(|s| s.len()).max().unwrap_or(0);
            let byte = |source: &[u8], i: usize| source.get(i).copied().unwrap_or(0);
            (0..len)
                .map(|i| {
                    let first = byte(sources[0], i);
                    sources[1..]
                        .iter()
                        .fold(first, |acc, s| op(acc, byte(s, i)))
                })
                .collect()
        }
    };
    let len = result.len();
    let dest = &args[2];
    if result.is_empty() {
        db.remove(dest, now);
    } else {
        db.set(dest[..].into(), Value::Str(result));
    }
    drop(db);
    cx.out.int(len as i64);
    Ok(())
}
