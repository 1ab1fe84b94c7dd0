//! `bit`: LuaBitOp 1.0.2. Every operation works on 32-bit integers taken
//! from Lua doubles by LuaBitOp's rounding trick and returns a signed
//! 32-bit result as a double.

use super::{type_error, Args, Fail, Libs, Outcome};
use mlua::{Lua, MultiValue, Table, Value};

/// LuaBitOp's `barg`: add 2^52+2^51 so the low 32 bits of the double's
/// mantissa hold the number rounded to an integer (mod 2^32).
fn bits(lua: &Lua, args: &Args, n: usize) -> Result<u32, Fail> {
    let number = args.to_number(lua, n)?;
    let b = (number.unwrap_or(0.0) + 6_755_399_441_055_744.0).to_bits() as u32;
    if b == 0 && number.is_none() {
        return Err(type_error(args, n, "number"));
    }
    Ok(b)
}

fn result(b: u32) -> Outcome {
    Ok(MultiValue::from_vec(vec![Value::Number(b as i32 as f64)]))
}

/// `band`, `bor`, `bxor`: the first argument combined with the others,
/// read from the last one down as the C code does (it decides which bad
/// argument is reported).
fn fold(lua: &Lua, args: &Args, op: fn(u32, u32) -> u32) -> Outcome {
    let mut b = bits(lua, args, 1)?;
    for n in (2..=args.count()).rev() {
        b = op(b, bits(lua, args, n)?);
    }
    result(b)
}

fn shift(lua: &Lua, args: &Args, op: fn(u32, u32) -> u32) -> Outcome {
    let b = bits(lua, args, 1)?;
    let n = bits(lua, args, 2)? & 31;
    result(op(b, n))
}

fn tohex(lua: &Lua, args: &Args) -> Outcome {
    let mut b = bits(lua, args, 1)?;
    let mut n = if args.get(2).is_none() {
        8
    } else {
        bits(lua, args, 2)? as i32
    };
    // Redis's copy turns -2^31 (whose negation overflows) into -(2^31 - 1).
    if n == i32::MIN {
        n += 1;
    }
    let digits: &[u8; 16] = if n < 0 {
        n = -n;
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let n = n.min(8) as usize;
    let mut hex = vec![0u8; n];
    for slot in hex.iter_mut().rev() {
        *slot = digits[(b & 15) as usize];
        b >>= 4;
    }
    Ok(MultiValue::from_vec(vec![Value::String(
        lua.create_string(hex)?,
    )]))
}

pub(crate) fn module(lua: &Lua, libs: &Libs) -> mlua::Result<Table> {
    let bit = lua.create_table()?;
    libs.add(lua, &bit, "tobit", |lua, args| result(bits(lua, args, 1)?))?;
    libs.add(lua, &bit, "bnot", |lua, args| result(!bits(lua, args, 1)?))?;
    libs.add(lua, &bit, "band", |lua, args| fold(lua, args, |a, b| a & b))?;
    libs.add(lua, &bit, "bor", |lua, args| fold(lua, args, |a, b| a | b))?;
    libs.add(lua, &bit, "bxor", |lua, args| fold(lua, args, |a, b| a ^ b))?;
    libs.add(lua, &bit, "lshift", |lua, args| {
        shift(lua, args, |b, n| b << n)
    })?;
    libs.add(lua, &bit, "rshift", |lua, args| {
        shift(lua, args, |b, n| b >> n)
    })?;
    libs.add(lua, &bit, "arshift", |lua, args| {
        shift(lua, args, |b, n| ((b as i32) >> n) as u32)
    })?;
    libs.add(lua, &bit, "rol", |lua, args| {
        shift(lua, args, |b, n| b.rotate_left(n))
    })?;
    libs.add(lua, &bit, "ror", |lua, args| {
        shift(lua, args, |b, n| b.rotate_right(n))
    })?;
    libs.add(lua, &bit, "bswap", |lua, args| {
        result(bits(lua, args, 1)?.swap_bytes())
    })?;
    libs.add(lua, &bit, "tohex", tohex)?;
    Ok(bit)
}

#[cfg(test)]
mod tests {
    use super::super::testing::eval;

    #[test]
    fn operations() {
        assert_eq!(eval("return bit.tobit(0xffffffff)"), "-1");
        assert_eq!(eval("return bit.tobit(2^32 + 5)"), "5");
        assert_eq!(eval("return bit.tobit(1.5)"), "2");
        assert_eq!(eval("return bit.tobit(2.5)"), "2");
        assert_eq!(eval("return bit.bnot(0)"), "-1");
        assert_eq!(eval("return bit.band(0xff, 0x0f, 0x3)"), "3");
        assert_eq!(eval("return bit.bor(1, 2, 4)"), "7");
        assert_eq!(eval("return bit.bxor(5, 3)"), "6");
        assert_eq!(eval("return bit.lshift(1, 31)"), "-2147483648");
        assert_eq!(eval("return bit.lshift(1, 33)"), "2");
        assert_eq!(eval("return bit.rshift(-1, 28)"), "15");
        assert_eq!(eval("return bit.arshift(-256, 4)"), "-16");
        assert_eq!(eval("return bit.rol(0x12345678, 8)"), "878082066");
        assert_eq!(eval("return bit.ror(0x12345678, 8)"), "2014458966");
        assert_eq!(eval("return bit.bswap(0x12345678)"), "2018915346");
        assert_eq!(eval("return bit.tohex(255)"), "000000ff");
        assert_eq!(eval("return bit.tohex(255, -4)"), "00FF");
        assert_eq!(eval("return bit.tohex(-1, 12)"), "ffffffff");
        assert_eq!(eval("return bit.tohex(255, 2^31)"), "000000FF");
        assert_eq!(eval("return bit.band('0x10', 16)"), "16");
    }

    #[test]
    fn argument_errors() {
        assert_eq!(
            eval("local ok, e = pcall(bit.band, 1, 'x', {}) return e"),
            "bad argument #3 to '?' (number expected, got table)"
        );
        assert_eq!(
            eval("local ok, e = pcall(bit.lshift, 1) return e"),
            "bad argument #2 to '?' (number expected, got no value)"
        );
        assert_eq!(
            eval("local ok, e = pcall(bit.tohex, 1, nil) return e"),
            "bad argument #2 to '?' (number expected, got nil)"
        );
    }
}
