//! `struct`: Roberto Ierusalimschy's struct library (2012) with Redis's
//! patches (size overflow, offset and bounds checks). Sizes are those of
//! x86-64 C: `h` 2, `i` 4, `l`/`T`/`d` 8, native order little-endian,
//! maximum alignment 8.
//!
//! Formats: `>` `<` big/little endian, `![n]` alignment, `x` padding,
//! `b/B h/H l/L T i[n]/I[n]` integers, `f` `d` floats, `c[n]` fixed string
//! (`c0`: whole string when packing, previous number when unpacking), `s`
//! zero-terminated string, space ignored.

use super::{as_number, c_double_to_i64, c_double_to_u64, Args, Fail, Libs, Outcome, MAX_C_STACK};
use mlua::{Lua, MultiValue, Table, Value};

const MAX_INT_SIZE: usize = 32;
const MAX_ALIGN: usize = 8;

struct Header {
    little: bool,
    align: usize,
}

impl Header {
    fn new() -> Header {
        Header {
            little: true,
            align: 1,
        }
    }
}

/// A format string read one option at a time; like the C code it stops at
/// the first NUL byte.
struct Format<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Format<'_> {
    fn next(&mut self) -> Option<u8> {
        let c = *self.bytes.get(self.pos)?;
        if c == 0 {
            return None;
        }
        self.pos += 1;
        Some(c)
    }

    /// `getnum`: an optional decimal count, with Redis's overflow check.
    fn number(&mut self, default: usize) -> Result<usize, Fail> {
        let digit = |f: &Self| {
            f.bytes
                .get(f.pos)
                .filter(|c| c.is_ascii_digit())
                .map(|c| (c - b'0') as i32)
        };
        if digit(self).is_none() {
            return Ok(default);
        }
        let mut a: i32 = 0;
        while let Some(d) = digit(self) {
            if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
                return Err(Fail::Error("integral size overflow".into()));
            }
            a = a * 10 + d;
            self.pos += 1;
        }
        Ok(a as usize)
    }

    /// `optsize`: the size of option `opt`, reading its count.
    fn size(&mut self, opt: u8) -> Result<usize, Fail> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let size = self.number(4)?;
                if size > MAX_INT_SIZE {
                    return Err(Fail::Error(format!(
                        "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                size
            }
            _ => 0,
        })
    }

    /// `controloptions`: endianness, alignment, spaces; anything else is
    /// an invalid option.
    fn control(&mut self, opt: u8, header: &mut Header) -> Result<(), Fail> {
        match opt {
            b' ' => {}
            b'>' => header.little = false,
            b'<' => header.little = true,
            b'!' => {
                let align = self.number(MAX_ALIGN)?;
                if !align.is_power_of_two() {
                    return Err(Fail::Error(format!(
                        "alignment {align} is not a power of 2"
                    )));
                }
                header.align = align;
            }
            _ => {
                return Err(Fail::Arg(
                    1,
                    format!("invalid format option '{}'", opt as char),
                ))
            }
        }
        Ok(())
    }
}

/// `gettoalign`: padding before an item of `size` bytes at offset `len`.
fn padding(len: usize, header: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(header.align);
    (size.wrapping_sub(len & size.wrapping_sub(1))) & size.wrapping_sub(1)
}

fn pack(lua: &Lua, args: &Args) -> Outcome {
    let fmt = args.bytes(lua, 1)?;
    // Then the C code pushes a nil after the arguments: a missing one reads as nil.
    let args = &Args(args.0.iter().cloned().chain([Value::Nil]).collect());
    let mut fmt = Format {
        bytes: &fmt,
        pos: 0,
    };
    let mut header = Header::new();
    let mut arg = 2;
    let mut out: Vec<u8> = Vec::new();
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(opt)?;
        let pad = padding(out.len(), &header, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = args.number(lua, arg)?;
                arg += 1;
                let mut value = if n < 0.0 {
                    c_double_to_i64(n) as u64
                } else {
                    c_double_to_u64(n)
                };
                let mut bytes = vec![0u8; size];
                for byte in bytes.iter_mut() {
                    *byte = (value & 0xff) as u8;
                    value >>= 8;
                }
                if !header.little {
                    bytes.reverse();
                }
                out.extend_from_slice(&bytes);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = args.number(lua, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if header.little {
                    f.to_le_bytes()
                } else {
                    f.to_be_bytes()
                });
            }
            b'd' => {
                let d = args.number(lua, arg)?;
                arg += 1;
                out.extend_from_slice(&if header.little {
                    d.to_le_bytes()
                } else {
                    d.to_be_bytes()
                });
            }
            b'c' | b's' => {
                let s = args.bytes(lua, arg)?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // The C code checks after moving to the next argument.
                    return Err(Fail::Arg(arg, "string too short".into()));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => fmt.control(opt, &mut header)?,
        }
    }
    Ok(MultiValue::from_vec(vec![Value::String(
        lua.create_string(out)?,
    )]))
}

/// `getinteger`: the low 64 bits of the number, sign-extended from
/// `size * 8` bits as the C shifts do (shift counts wrap at 64).
fn read_integer(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut push = |b: &u8| l = (l << 8) | *b as u64;
    if little {
        bytes.iter().rev().for_each(&mut push);
    } else {
        bytes.iter().for_each(&mut push);
    }
    if !signed {
        return l as f64;
    }
    let mask = u64::MAX.wrapping_shl((bytes.len() * 8).wrapping_sub(1) as u32);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn unpack(lua: &Lua, libs: &Libs, args: &Args) -> Outcome {
    let fmt = args.bytes(lua, 1)?;
    let data = args.bytes(lua, 2)?;
    let start = args.opt_integer(lua, 3, 1)?;
    if start as u64 == 0 {
        return Err(Fail::Arg(3, "offset must be 1 or greater".into()));
    }
    // size_t arithmetic: a negative offset wraps to a huge position.
    let mut pos = (start as u64 as usize).wrapping_sub(1);
    let mut fmt = Format {
        bytes: &fmt,
        pos: 0,
    };
    let mut header = Header::new();
    // The results, `n` of them (kept in a Lua table); on the C stack they
    // sit above the arguments.
    let results = lua.create_table()?;
    let mut n = 0;
    let too_short = || Fail::Arg(2, "data string too short".into());
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(opt)?;
        pos = pos.wrapping_add(padding(pos, &header, opt, size));
        if size > data.len() || pos > data.len() - size {
            return Err(too_short());
        }
        if args.count() + n + 2 > MAX_C_STACK {
            return Err(Fail::Error("stack overflow (too many results)".into()));
        }
        let value = match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                Some(Value::Number(read_integer(
                    &data[pos..pos + size],
                    header.little,
                    opt.is_ascii_lowercase(),
                )))
            }
            b'x' => None,
            b'f' => {
                let raw: [u8; 4] = data[pos..pos + 4].try_into().unwrap_or_default();
                let f = if header.little {
                    f32::from_le_bytes(raw)
                } else {
                    f32::from_be_bytes(raw)
                };
                Some(Value::Number(f as f64))
            }
            b'd' => {
                let raw: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or_default();
                Some(Value::Number(if header.little {
                    f64::from_le_bytes(raw)
                } else {
                    f64::from_be_bytes(raw)
                }))
            }
            b'c' => {
                if size == 0 {
                    // The size is the previous result, which is popped.
                    let previous = if n == 0 {
                        Value::Nil
                    } else {
                        results.raw_get(n)?
                    };
                    let previous = match &previous {
                        Value::String(_) => lua.coerce_number(previous.clone())?,
                        v => as_number(v),
                    };
                    let Some(previous) = previous else {
                        return Err(Fail::Error("format 'c0' needs a previous size".into()));
                    };
                    size = c_double_to_u64(previous) as usize;
                    results.raw_set(n, Value::Nil)?;
                    n -= 1;
                    if size > data.len() || pos > data.len() - size {
                        return Err(too_short());
                    }
                }
                Some(Value::String(lua.create_string(&data[pos..pos + size])?))
            }
            b's' => {
                let Some(end) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(Fail::Error("unfinished string in data".into()));
                };
                size = end + 1;
                Some(Value::String(lua.create_string(&data[pos..pos + end])?))
            }
            _ => {
                fmt.control(opt, &mut header)?;
                None
            }
        };
        if let Some(value) = value {
            n += 1;
            results.raw_set(n, value)?;
        }
        pos = pos.wrapping_add(size);
    }
    results.raw_set(n + 1, Value::Number(pos.wrapping_add(1) as i64 as f64))?;
    libs.packed(results, n + 1)
}

fn size(lua: &Lua, args: &Args) -> Outcome {
    let fmt = args.bytes(lua, 1)?;
    let mut fmt = Format {
        bytes: &fmt,
        pos: 0,
    };
    let mut header = Header::new();
    let mut pos: usize = 0;
    while let Some(opt) = fmt.next() {
        let size = fmt.size(opt)?;
        pos = pos.wrapping_add(padding(pos, &header, opt, size));
        if opt == b's' {
            return Err(Fail::Arg(1, "option 's' has no fixed size".into()));
        } else if opt == b'c' && size == 0 {
            return Err(Fail::Arg(1, "option 'c0' has no fixed size".into()));
        }
        if !opt.is_ascii_alphanumeric() {
            fmt.control(opt, &mut header)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(MultiValue::from_vec(vec![Value::Number(pos as i64 as f64)]))
}

pub(crate) fn module(lua: &Lua, libs: &Libs) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    libs.add(lua, &table, "pack", pack)?;
    let l = libs.clone();
    libs.add(lua, &table, "unpack", move |lua, args| {
        unpack(lua, &l, args)
    })?;
    libs.add(lua, &table, "size", size)?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{eval, hex};

    #[test]
    fn pack_layouts() {
        assert_eq!(hex("return hex(struct.pack('>i', 1))"), "00000001");
        assert_eq!(hex("return hex(struct.pack('<h', -2))"), "feff");
        assert_eq!(
            hex("return hex(struct.pack('!4bi', 1, 2))"),
            "0100000002000000"
        );
        assert_eq!(
            hex("return hex(struct.pack('>d', 1.5))"),
            "3ff8000000000000"
        );
        assert_eq!(hex("return hex(struct.pack('s', 'ab'))"), "616200");
        assert_eq!(hex("return hex(struct.pack('c0', 'abc'))"), "616263");
        assert_eq!(hex("return hex(struct.pack('>i3', 0x010203))"), "010203");
        assert_eq!(
            hex("return hex(struct.pack('<i10', -1))"),
            "ffffffffffffffff0000"
        );
    }

    #[test]
    fn unpack_and_size() {
        assert_eq!(eval("return table.concat({struct.unpack('>ihc0', struct.pack('>ihc0', 7, 3, 'abc'))}, ',')"), "7,abc,10");
        assert_eq!(
            eval("return table.concat({struct.unpack('b', 'xyz', 2)}, ',')"),
            "121,3"
        );
        assert_eq!(
            eval("return table.concat({struct.unpack('<i10', struct.pack('<i10', -1))}, ',')"),
            "-1,11"
        );
        assert_eq!(eval("return struct.size('!8bd')"), "16");
        assert_eq!(
            eval("local ok, e = pcall(struct.size, 's') return e"),
            "bad argument #1 to '?' (option 's' has no fixed size)"
        );
        assert_eq!(
            eval("local ok, e = pcall(struct.unpack, 'b', 'x', 0) return e"),
            "bad argument #3 to '?' (offset must be 1 or greater)"
        );
        assert_eq!(
            eval("local ok, e = pcall(struct.pack, 'c5', 'ab') return e"),
            "bad argument #3 to '?' (string too short)"
        );
        assert_eq!(
            eval("local ok, e = pcall(struct.pack, 'i99999999999', 1) return e"),
            "integral size overflow"
        );
    }
}
