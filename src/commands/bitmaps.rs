//! Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD and BITFIELD_RO.
//!
//! Bits are numbered from the most significant bit of the first byte: bit 0
//! is `0x80` of byte 0, bit 8 is `0x80` of byte 1. A missing key reads as
//! an empty string, and bits past the end of a string read as 0.

use super::errors::{self, Error};
use super::flags::*;
use super::{int_arg, is, Args, CmdResult, Command, Context, KeySpec, ONE_KEY};
use crate::notify::class::{GENERIC, STRING};
use crate::store::{Bytes, Db, Value};
use crate::util::now_ms;

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_BIT: &str = "ERR bit is not an integer or out of range";
const BITPOS_BAD_BIT: &str = "ERR The bit argument must be 1 or 0.";
const NOT_SINGLE_SOURCE: &str = "ERR BITOP NOT must be called with a single source key.";
const BAD_FIELD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const BAD_OVERFLOW: &str = "ERR Invalid OVERFLOW type specified";
const RO_ONLY_GET: &str = "ERR BITFIELD_RO only supports the GET subcommand";

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
    Command::new("bitfield", -2, WRITE | DENYOOM, ONE_KEY, "bitmap", bitfield),
    Command::new(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        ONE_KEY,
        "bitmap",
        bitfield_ro,
    ),
];

/// A bit offset argument (Redis's `getBitOffsetFromArgument`): not
/// negative, and inside the longest string a client may build
/// (proto-max-bulk-len bytes), so nothing is allocated for a refused one.
/// BITFIELD also takes `#n`, the n-th field of `field_bits` bits.
fn bit_offset(cx: &Context<'_>, arg: &[u8], field_bits: Option<u32>) -> Result<u64, Error> {
    let (digits, unit) = match (arg, field_bits) {
        ([b'#', digits @ ..], Some(bits)) if !digits.is_empty() => (digits, i64::from(bits)),
        _ => (arg, 1),
    };
    // Redis multiplies in C, wrapping: a huge #n comes out negative.
    let offset = int_arg(digits)
        .map_err(|_| Error::from(BAD_OFFSET))?
        .wrapping_mul(unit);
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
    cx.count_lookup(key, value.is_some());
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
fn setbit(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let offset = bit_offset(cx, &args[2], None)?;
    let on = match int_arg(&args[3]) {
        Ok(0) => false,
        Ok(1) => true,
        _ => return Err(BAD_BIT.into()),
    };
    let now = now_ms();
    let mut db = cx.db_mut();
    // Creating the key already counts as its one change.
    let existed = db.contains(&args[1], now);
    let Value::Str(bytes) = db.get_or_insert_with(&args[1], now, || Value::Str(Bytes::new()))
    else {
        return Err(errors::WRONGTYPE.into());
    };
    // Setting a bit to 0 grows the string too, as in Redis.
    let byte = (offset >> 3) as usize;
    let mut grown = false;
    let old = bytes.edit(|bytes| {
        if bytes.len() <= byte {
            bytes.resize(byte + 1, 0);
            grown = true;
        }
        let old = bit_at(bytes, offset);
        let mask = 0x80u8 >> (offset & 7);
        if on {
            bytes[byte] |= mask;
        } else {
            bytes[byte] &= !mask;
        }
        old
    });
    db.mark_raw(&args[1]);
    // An event only for a real change, as Redis.
    if grown || old != u8::from(on) {
        if existed {
            db.modified(&args[1]);
        }
        cx.notify(STRING, "setbit", &args[1]);
    }
    drop(db);
    cx.out.int(i64::from(old));
    Ok(())
}

// GETBIT key offset
fn getbit(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let offset = bit_offset(cx, &args[2], None)?;
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
fn bitcount(cx: &mut Context<'_>, args: &Args) -> CmdResult {
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
fn bitpos(cx: &mut Context<'_>, args: &Args) -> CmdResult {
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
fn bitop(cx: &mut Context<'_>, args: &Args) -> CmdResult {
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
        if db.remove(dest, now).is_some() {
            cx.notify(GENERIC, "del", dest);
        }
    } else {
        db.set(dest[..].into(), Value::Str(result.into()));
        db.mark_raw(dest);
        cx.notify(STRING, "set", dest);
    }
    drop(db);
    cx.out.int(len as i64);
    Ok(())
}

/// What BITFIELD does when a SET or INCRBY leaves the field's range.
#[derive(Debug, Clone, Copy)]
enum Overflow {
    Wrap,
    Saturate,
    /// Leave the field alone and reply nil.
    Fail,
}

#[derive(Debug, Clone, Copy)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One BITFIELD operation: an integer of `bits` bits at bit `offset`.
#[derive(Debug, Clone, Copy)]
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// Reads a field type: `i1`..`i64` or `u1`..`u63`, lower case only. Like Redis (a C
/// string), it stops at a NUL byte.
fn field_type(arg: &[u8]) -> Result<(bool, u32), Error> {
    let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
    let (signed, max) = match arg.first() {
        Some(b'i') => (true, 64),
        Some(b'u') => (false, 63),
        _ => return Err(BAD_FIELD_TYPE.into()),
    };
    match int_arg(&arg[1..]) {
        Ok(bits) if (1..=max).contains(&bits) => Ok((signed, bits as u32)),
        _ => Err(BAD_FIELD_TYPE.into()),
    }
}

/// Parses BITFIELD's operations, in order; OVERFLOW applies to those after it.
fn parse_fields(cx: &Context<'_>, args: &[Vec<u8>]) -> Result<Vec<Field>, Error> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 0;
    while i < args.len() {
        let left = args.len() - i - 1;
        let name = &args[i];
        let takes_value = if is(name, "get") && left >= 2 {
            false
        } else if (is(name, "set") || is(name, "incrby")) && left >= 3 {
            true
        } else if is(name, "overflow") && left >= 1 {
            overflow = match &args[i + 1] {
                mode if is(mode, "wrap") => Overflow::Wrap,
                mode if is(mode, "sat") => Overflow::Saturate,
                mode if is(mode, "fail") => Overflow::Fail,
                _ => return Err(BAD_OVERFLOW.into()),
            };
            i += 2;
            continue;
        } else {
            return Err(errors::SYNTAX.into());
        };
        let (signed, bits) = field_type(&args[i + 1])?;
        let offset = bit_offset(cx, &args[i + 2], Some(bits))?;
        let op = match takes_value {
            false => FieldOp::Get,
            true if is(name, "set") => FieldOp::Set(int_arg(&args[i + 3])?),
            true => FieldOp::IncrBy(int_arg(&args[i + 3])?),
        };
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            overflow,
        });
        i += if takes_value { 4 } else { 3 };
    }
    Ok(fields)
}

/// The `bits` bits at `offset` as an unsigned integer; bits past the end
/// of the string read as 0.
fn get_bits(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    (offset..offset + u64::from(bits))
        .fold(0, |value, at| value << 1 | u64::from(bit_at(bytes, at)))
}

/// Writes the low `bits` bits of `value` at `offset` (the string is long enough).
fn set_bits(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..u64::from(bits) {
        let at = offset + i;
        let mask = 0x80u8 >> (at & 7);
        let byte = &mut bytes[(at >> 3) as usize];
        if value >> (u64::from(bits) - 1 - i) & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// Sign-extends a `bits`-bit two's complement integer.
fn sign_extend(raw: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((raw << shift) as i64) >> shift
}

/// Redis's `checkUnsignedBitfieldOverflow` applied: the value to store
/// for `value + incr`, None when it overflows under FAIL.
fn unsigned_result(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let sum = value.wrapping_add(incr as u64);
    let limit = if value > max || (incr > 0 && incr > max_incr) {
        max
    } else if incr < 0 && incr < min_incr {
        0
    } else {
        return Some(sum);
    };
    match overflow {
        Overflow::Wrap => Some(sum & max),
        Overflow::Saturate => Some(limit),
        Overflow::Fail => None,
    }
}

/// Redis's `checkSignedBitfieldOverflow` applied, down to its wrapping
/// arithmetic (so SAT of a SET far below the minimum gives the maximum,
/// as in Redis 7.0).
fn signed_result(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let narrow = bits != 64;
    let limit = if value > max || (narrow && incr > max_incr) || (value >= 0 && incr > max_incr) {
        max
    } else if value < min || (narrow && incr < min_incr) || (value < 0 && incr < min_incr) {
        min
    } else {
        return Some(value.wrapping_add(incr));
    };
    match overflow {
        Overflow::Wrap => Some(sign_extend(value.wrapping_add(incr) as u64, bits)),
        Overflow::Saturate => Some(limit),
        Overflow::Fail => None,
    }
}

impl Field {
    fn read(&self, bytes: &[u8]) -> i64 {
        let raw = get_bits(bytes, self.offset, self.bits);
        if self.signed {
            sign_extend(raw, self.bits)
        } else {
            raw as i64
        }
    }

    /// Runs the operation: its reply, None (nil) when it failed on overflow.
    /// Counts the writes that change the field (or, when `grown`, any write)
    /// in `changes`.
    fn apply(&self, bytes: &mut [u8], grown: bool, changes: &mut usize) -> Option<i64> {
        let old = self.read(bytes);
        let (value, incr) = match self.op {
            FieldOp::Get => return Some(old),
            FieldOp::Set(value) => (value, 0),
            FieldOp::IncrBy(incr) => (old, incr),
        };
        let new = if self.signed {
            signed_result(value, incr, self.bits, self.overflow)?
        } else {
            unsigned_result(value as u64, incr, self.bits, self.overflow)? as i64
        };
        set_bits(bytes, self.offset, self.bits, new as u64);
        if grown || new != old {
            *changes += 1;
        }
        Some(match self.op {
            FieldOp::Set(_) => old,
            _ => new,
        })
    }
}

// BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>]
//   <SET encoding offset value | INCRBY encoding offset increment>
//   [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>]
//   <SET encoding offset value | INCRBY encoding offset increment> ...]]
fn bitfield(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    run_bitfield(cx, args, false)
}

// BITFIELD_RO key [GET encoding offset [GET encoding offset ...]]
fn bitfield_ro(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    run_bitfield(cx, args, true)
}

fn run_bitfield(cx: &mut Context<'_>, args: &Args, read_only: bool) -> CmdResult {
    let fields = parse_fields(cx, &args[2..])?;
    let now = now_ms();
    // The highest bit a SET or INCRBY touches: the string grows to it.
    let highest_write = fields
        .iter()
        .filter(|f| !matches!(f.op, FieldOp::Get))
        .map(|f| f.offset + u64::from(f.bits) - 1)
        .max();
    let replies: Vec<Option<i64>> = match highest_write {
        None => {
            let db = cx.db();
            let bytes = read_string(cx, &db, &args[1], now)?.unwrap_or_default();
            fields.iter().map(|f| Some(f.read(bytes))).collect()
        }
        Some(_) if read_only => return Err(RO_ONLY_GET.into()),
        Some(highest) => {
            let mut db = cx.db_mut();
            let existed = db.contains(&args[1], now);
            let value = db.get_or_insert_with(&args[1], now, || Value::Str(Bytes::new()));
            let Value::Str(bytes) = value else {
                return Err(errors::WRONGTYPE.into());
            };
            let len = (highest >> 3) as usize + 1;
            let mut changes = 0;
            let replies = bytes.edit(|bytes| {
                let grown = bytes.len() < len;
                if grown {
                    bytes.resize(len, 0);
                }
                fields
                    .iter()
                    .map(|f| f.apply(bytes, grown, &mut changes))
                    .collect()
            });
            db.mark_raw(&args[1]);
            // Redis counts one change per SET/INCRBY that wrote something
            // (all of them when the string was created or grew); creating
            // the key already counted one.
            if changes > 0 {
                if existed {
                    db.modified(&args[1]);
                }
                for _ in 1..changes {
                    db.dirty();
                }
                cx.notify(STRING, "setbit", &args[1]);
            }
            replies
        }
    };
    cx.out.array(replies.len());
    for reply in replies {
        match reply {
            Some(n) => cx.out.int(n),
            None => cx.out.null(),
        }
    }
    Ok(())
}
