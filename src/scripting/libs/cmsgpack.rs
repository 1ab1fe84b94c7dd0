//! `cmsgpack`: lua-cmsgpack 0.4.0 as Redis ships it.
//!
//! Packing: a table whose keys are exactly 1..n is an array, anything else
//! a map (in `next` order); numbers that are whole 64-bit integers pack as
//! the smallest integer format, others as float 32 when that loses nothing,
//! else float 64; tables nested 16 deep, and values Lua cannot express
//! (functions, `cjson.null`...), pack as nil. Unpacking knows the formats
//! lua-cmsgpack 0.4.0 knows (no bin/ext) and returns every value.

use super::{as_number, c_double_to_i64, Args, Fail, Libs, Outcome, Parked, MAX_C_STACK};
use mlua::{Lua, MultiValue, Table, Value};

const MAX_NESTING: usize = 16;

fn header(out: &mut Vec<u8>, fixed: u8, small: u8, n: usize) {
    if n <= 15 {
        out.push(fixed | n as u8);
    } else if n <= 0xffff {
        out.push(small);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(small + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn encode_bytes(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn encode_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(out: &mut Vec<u8>, x: f64) {
    let as_int = c_double_to_i64(x);
    if !x.is_infinite() && as_int as f64 == x {
        encode_int(out, as_int);
    } else if (x as f32) as f64 == x {
        out.push(0xca);
        out.extend_from_slice(&(x as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&x.to_be_bytes());
    }
}

/// `table_is_an_array`: number keys only, each a positive C `int`, as
/// many as the largest.
fn is_array(table: &Table) -> mlua::Result<bool> {
    let (mut count, mut max, mut array) = (0i64, 0i64, true);
    table.for_each(|key: Value, _: Value| {
        match as_number(&key) {
            Some(n) if array && n > 0.0 && (n as i32) as f64 == n => {
                max = max.max(n as i64);
                count += 1;
            }
            _ => array = false,
        }
        Ok(())
    })?;
    Ok(array && max == count)
}

fn encode(out: &mut Vec<u8>, value: &Value, level: usize) -> mlua::Result<()> {
    match value {
        Value::String(s) => encode_bytes(out, &s.as_bytes()),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(_) | Value::Number(_) => encode_number(out, as_number(value).unwrap_or(0.0)),
        Value::Table(table) if level < MAX_NESTING => {
            if is_array(table)? {
                let len = table.raw_len();
                header(out, 0x90, 0xdc, len);
                for i in 1..=len {
                    // lua_gettable: metamethods apply, as in the C code.
                    encode(out, &table.get::<Value>(i)?, level + 1)?;
                }
            } else {
                let mut count = 0;
                table.for_each(|_: Value, _: Value| {
                    count += 1;
                    Ok(())
                })?;
                header(out, 0x80, 0xde, count);
                table.for_each(|k: Value, v: Value| {
                    encode(out, &k, level + 1)?;
                    encode(out, &v, level + 1)
                })?;
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

fn pack(lua: &Lua, args: &Args) -> Outcome {
    if args.count() == 0 {
        return Err(Fail::Arg(0, "MessagePack pack needs input.".into()));
    }
    // lua_checkstack(L, nargs) with the nargs arguments already there.
    if 2 * args.count() > MAX_C_STACK {
        return Err(Fail::Arg(
            0,
            "Too many arguments for MessagePack pack.".into(),
        ));
    }
    let mut out = Vec::new();
    for value in &args.0 {
        encode(&mut out, value, 0)?;
    }
    Ok(MultiValue::from_vec(vec![Value::String(
        lua.create_string(out)?,
    )]))
}

const ARRAY_STACK_FULL: &str = "stack overflow (in function mp_decode_to_lua_array)";
const STACK_FULL: &str =
    "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)";

enum DecodeError {
    Eof,
    BadFormat,
    Fail(Fail),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Fail(Fail::Lua(e))
    }
}

enum Item {
    Value(Value),
    Array(usize),
    Map(usize),
}

/// A container being filled while decoding. The innermost one (and a map's
/// pending key) are held in Rust, the enclosing ones are parked, so that
/// deep data holds only a few mlua references at a time.
enum Open {
    Array { index: usize, left: usize },
    Map { left: usize, has_key: bool },
}

/// A cursor over the input, tracking the Lua stack slots the C decoder
/// would hold (so that it fails where `luaL_checkstack` fails).
struct Decoder<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
    slots: usize,
}

impl Decoder<'_> {
    fn need(&self, n: usize) -> Result<&[u8], DecodeError> {
        self.data
            .get(self.pos..self.pos.saturating_add(n))
            .ok_or(DecodeError::Eof)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let start = self.pos;
        self.need(n)?;
        self.pos += n;
        Ok(&self.data[start..start + n])
    }

    fn uint(&mut self, at: usize, n: usize) -> Result<u64, DecodeError> {
        let bytes = self.need(at + n)?;
        Ok(bytes[at..]
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | *b as u64))
    }

    fn string(&mut self, skip: usize, len: usize) -> Result<Value, DecodeError> {
        let lua = self.lua;
        let bytes = &self.take(skip.saturating_add(len))?[skip..];
        Ok(Value::String(lua.create_string(bytes)?))
    }

    /// One top-level value, containers included; iterative, since
    /// nesting can go thousands deep.
    fn value(&mut self) -> Result<Value, DecodeError> {
        let mut stack: Vec<Open> = Vec::new();
        let mut parked = Parked {
            lua: self.lua,
            table: None,
        };
        let mut current: Option<Table> = None;
        let mut key = Value::Nil;
        loop {
            let (table, open) = match self.item()? {
                Item::Value(value) => (value, None),
                Item::Array(len) => {
                    let table = self.lua.create_table()?;
                    // The table sits on the C stack, which is checked for one more slot.
                    if self.slots + 2 > MAX_C_STACK {
                        return Err(DecodeError::Fail(Fail::Error(ARRAY_STACK_FULL.into())));
                    }
                    // The table and the pending index.
                    let open = (len > 0).then_some((
                        Open::Array {
                            index: 1,
                            left: len,
                        },
                        2,
                    ));
                    (Value::Table(table), open)
                }
                Item::Map(len) => {
                    let table = self.lua.create_table()?;
                    let open = (len > 0).then_some((
                        Open::Map {
                            left: len,
                            has_key: false,
                        },
                        1,
                    ));
                    (Value::Table(table), open)
                }
            };
            let mut value = table;
            if let (Some((open, slots)), Value::Table(table)) = (open, &value) {
                self.slots += slots;
                let depth = stack.len() + 1;
                if let Some(outer) = current.replace(table.clone()) {
                    parked.put(2 * depth - 3, Value::Table(outer))?;
                    parked.put(2 * depth - 2, std::mem::replace(&mut key, Value::Nil))?;
                }
                stack.push(open);
                continue;
            }
            // Store the value in its container; close the full ones.
            loop {
                let (Some(top), Some(table)) = (stack.last_mut(), current.as_ref()) else {
                    return Ok(value);
                };
                match top {
                    Open::Array { index, left } => {
                        table.raw_set(*index, value)?;
                        *index += 1;
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        self.slots -= 2;
                    }
                    Open::Map { left, has_key } => {
                        if !*has_key {
                            key = value;
                            *has_key = true;
                            self.slots += 1;
                            break;
                        }
                        *has_key = false;
                        self.slots -= 1;
                        match std::mem::replace(&mut key, Value::Nil) {
                            Value::Nil => {
                                return Err(DecodeError::Fail(Fail::Bare(
                                    "table index is nil".into(),
                                )))
                            }
                            Value::Number(n) if n.is_nan() => {
                                return Err(DecodeError::Fail(Fail::Bare(
                                    "table index is NaN".into(),
                                )))
                            }
                            k => table.raw_set(k, value)?,
                        }
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        self.slots -= 1;
                    }
                }
                stack.pop();
                let outer = stack.len();
                let finished = if outer == 0 {
                    current.take()
                } else {
                    key = parked.take(2 * outer)?;
                    std::mem::replace(&mut current, parked.take_table(2 * outer - 1)?)
                };
                value = finished.map_or(Value::Nil, Value::Table);
            }
        }
    }

    /// `mp_decode_to_lua_type` for one item: a value, or the header of a
    /// container.
    fn item(&mut self) -> Result<Item, DecodeError> {
        let first = *self.need(1)?.first().ok_or(DecodeError::Eof)?;
        if self.slots + 1 > MAX_C_STACK {
            return Err(DecodeError::Fail(Fail::Error(STACK_FULL.into())));
        }
        let number = |n: f64| Ok(Item::Value(Value::Number(n)));
        match first {
            0xcc => number(self.uint(1, 1).map(|n| (self.pos += 2, n).1)? as f64),
            0xd0 => number(self.take(2)?[1] as i8 as f64),
            0xcd => number(self.uint(1, 2).map(|n| (self.pos += 3, n).1)? as f64),
            0xd1 => number(self.uint(1, 2).map(|n| (self.pos += 3, n).1)? as u16 as i16 as f64),
            0xce => number(self.uint(1, 4).map(|n| (self.pos += 5, n).1)? as f64),
            0xd2 => number(self.uint(1, 4).map(|n| (self.pos += 5, n).1)? as u32 as i32 as f64),
            // lua_pushinteger of a uint64: the C cast makes it signed.
            0xcf | 0xd3 => number(self.uint(1, 8).map(|n| (self.pos += 9, n).1)? as i64 as f64),
            0xc0 => Ok(Item::Value((self.pos += 1, Value::Nil).1)),
            0xc3 => Ok(Item::Value((self.pos += 1, Value::Boolean(true)).1)),
            0xc2 => Ok(Item::Value((self.pos += 1, Value::Boolean(false)).1)),
            0xca => {
                let raw = self.uint(1, 4)? as u32;
                self.pos += 5;
                number(f32::from_bits(raw) as f64)
            }
            0xcb => {
                let raw = self.uint(1, 8)?;
                self.pos += 9;
                number(f64::from_bits(raw))
            }
            0xd9 => {
                let len = self.uint(1, 1)? as usize;
                self.string(2, len).map(Item::Value)
            }
            0xda => {
                let len = self.uint(1, 2)? as usize;
                self.string(3, len).map(Item::Value)
            }
            0xdb => {
                let len = self.uint(1, 4)? as usize;
                self.pos += 5;
                self.string(0, len).map(Item::Value)
            }
            0xdc..=0xdf => {
                let width = if first & 1 == 0 { 2 } else { 4 };
                let len = self.uint(1, width)? as usize;
                self.pos += 1 + width;
                Ok(if first < 0xde {
                    Item::Array(len)
                } else {
                    Item::Map(len)
                })
            }
            _ if first & 0x80 == 0 => number((self.pos += 1, first).1 as f64),
            _ if first & 0xe0 == 0xe0 => number((self.pos += 1, first).1 as i8 as f64),
            _ if first & 0xe0 == 0xa0 => self.string(1, (first & 0x1f) as usize).map(Item::Value),
            _ if first & 0xf0 == 0x90 => {
                self.pos += 1;
                Ok(Item::Array((first & 0xf) as usize))
            }
            _ if first & 0xf0 == 0x80 => {
                self.pos += 1;
                Ok(Item::Map((first & 0xf) as usize))
            }
            _ => Err(DecodeError::BadFormat),
        }
    }
}

/// `mp_unpack_full`: `limit` values from `offset` (both 0: all of them,
/// without the next-offset result).
fn unpack_full(lua: &Lua, libs: &Libs, args: &Args, limit: i64, offset: i64) -> Outcome {
    let data = args.bytes(lua, 1)?;
    let len = data.len();
    if offset < 0 || limit < 0 {
        return Err(Fail::Error(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        )));
    }
    if offset as u64 > len as u64 {
        return Err(Fail::Error(format!(
            "Start offset {} greater than input length {}.",
            offset as i32, len as i32
        )));
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all { i32::MAX as i64 } else { limit };
    let mut decoder = Decoder {
        lua,
        data: &data,
        pos: offset as usize,
        slots: 1,
    };
    let results = lua.create_table()?;
    let mut count = 0;
    if !decode_all {
        count += 1;
    }
    while decoder.pos < len && ((count - usize::from(!decode_all)) as i64) < limit {
        match decoder.value() {
            Ok(value) => {
                count += 1;
                results.raw_set(count, value)?;
            }
            Err(DecodeError::Eof) => return Err(Fail::Error("Missing bytes in input.".into())),
            Err(DecodeError::BadFormat) => {
                return Err(Fail::Error("Bad data format in input.".into()))
            }
            Err(DecodeError::Fail(fail)) => return Err(fail),
        }
        decoder.slots += 1;
    }
    if !decode_all {
        let next = if decoder.pos == len {
            -1.0
        } else {
            decoder.pos as f64
        };
        results.raw_set(1, next)?;
    }
    libs.packed(results, count)
}

pub(crate) fn module(lua: &Lua, libs: &Libs) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    libs.add(lua, &table, "pack", pack)?;
    let l = libs.clone();
    libs.add(lua, &table, "unpack", move |lua, args| {
        unpack_full(lua, &l, args, 0, 0)
    })?;
    let l = libs.clone();
    libs.add(lua, &table, "unpack_one", move |lua, args| {
        let offset = args.opt_integer(lua, 2, 0)?;
        unpack_full(lua, &l, args, 1, offset)
    })?;
    let l = libs.clone();
    libs.add(lua, &table, "unpack_limit", move |lua, args| {
        let limit = args.integer(lua, 2)?;
        let offset = args.opt_integer(lua, 3, 0)?;
        unpack_full(lua, &l, args, limit, offset)
    })?;
    table.raw_set("_NAME", "cmsgpack")?;
    table.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    table.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    table.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{eval, hex};

    #[test]
    fn pack_bytes() {
        assert_eq!(
            hex("return hex(cmsgpack.pack(1, -1, 200, -200, 70000, 2^40))"),
            "01ffccc8d1ff38ce00011170cf0000010000000000"
        );
        assert_eq!(
            hex("return hex(cmsgpack.pack(0.5, 0.1))"),
            "ca3f000000cb3fb999999999999a"
        );
        assert_eq!(
            hex("return hex(cmsgpack.pack({1, 2}, {a = true}, {}))"),
            "92010281a161c390"
        );
        assert_eq!(
            hex("return hex(cmsgpack.pack(nil, print, cjson.null))"),
            "c0c0c0"
        );
        assert_eq!(
            hex("return hex(cmsgpack.pack(string.rep('x', 40)))"),
            format!("d928{}", "78".repeat(40))
        );
    }

    #[test]
    fn deep_and_wide_data() {
        assert_eq!(
            eval(
                "local ok, e = pcall(cmsgpack.unpack, string.rep('\\145', 5000) .. '\\1') return e"
            ),
            "stack overflow (in function mp_decode_to_lua_array)"
        );
        assert_eq!(
            eval("local t = {} for i = 1, 20000 do t['k' .. i] = 's' .. i end return cmsgpack.unpack(cmsgpack.pack(t)).k20000"),
            "s20000"
        );
        assert_eq!(
            eval("local t = {} for i = 1, 7000 do t[i] = cmsgpack.pack('s' .. i) end return select('#', cmsgpack.unpack(table.concat(t)))"),
            "7000"
        );
    }

    #[test]
    fn unpack_values() {
        assert_eq!(
            eval("return table.concat({cmsgpack.unpack(cmsgpack.pack(1, 'a', 2.5))}, ',')"),
            "1,a,2.5"
        );
        assert_eq!(
            eval("return table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2))}, ',')"),
            "1,1"
        );
        assert_eq!(
            eval("return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}, ',')"),
            "-1,2,3"
        );
        assert_eq!(
            eval("return cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255')"),
            "-1"
        );
        assert_eq!(
            eval("local ok, e = pcall(cmsgpack.unpack, '\\146\\1') return e"),
            "Missing bytes in input."
        );
        assert_eq!(
            eval("local ok, e = pcall(cmsgpack.unpack, '\\193') return e"),
            "Bad data format in input."
        );
        assert_eq!(
            eval("local ok, e = pcall(cmsgpack.pack) return e"),
            "bad argument #0 to '?' (MessagePack pack needs input.)"
        );
    }
}
