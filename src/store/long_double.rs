//! The arithmetic of INCRBYFLOAT (and HINCRBYFLOAT): Redis adds in the C
//! `long double` of x86-64, the x87 80-bit format with a 64-bit mantissa,
//! and prints the sum with `%.17Lf`. Doubles would answer `5010.6` where
//! Redis answers `5010.60000000000000009`, so this module does what the
//! hardware does, in software: correctly rounded parsing (`strtold`),
//! addition rounded to nearest-even, and exact decimal printing.

use std::cmp::Ordering;

/// Redis's buffer for a long double's text (MAX_LONG_DOUBLE_CHARS): longer
/// inputs are not floats, longer outputs come out empty.
const MAX_CHARS: usize = 5 * 1024;
/// Largest exponent of a finite value `mantissa × 2^exponent` (the largest
/// x87 value is just under 2^16384).
const MAX_EXPONENT: i64 = 16383 - 63;
/// Smallest exponent of a normal value (2^-16382); smaller results flush to
/// zero here (x87 subnormals are left out).
const MIN_EXPONENT: i64 = -16382 - 63;

/// Why INCRBYFLOAT refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrFloatError {
    /// The stored value or the increment is not a float.
    NotFloat,
    /// The sum is infinite or not a number.
    NanOrInfinity,
}

/// `current + increment` as Redis's INCRBYFLOAT computes and prints it;
/// a missing value counts as 0.
pub fn incr_by_float(current: Option<&[u8]>, increment: &[u8]) -> Result<Vec<u8>, IncrFloatError> {
    let value = match current {
        Some(text) => parse(text).ok_or(IncrFloatError::NotFloat)?,
        None => Some(Extended::ZERO),
    };
    let increment = parse(increment).ok_or(IncrFloatError::NotFloat)?;
    match (value, increment) {
        (Some(a), Some(b)) => a.add(b).map(format).ok_or(IncrFloatError::NanOrInfinity),
        _ => Err(IncrFloatError::NanOrInfinity),
    }
}

/// A finite value: `(-1)^negative × mantissa × 2^exponent`, the mantissa's
/// top bit set (or zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Extended {
    negative: bool,
    mantissa: u64,
    exponent: i64,
}

impl Extended {
    const ZERO: Extended = Extended {
        negative: false,
        mantissa: 0,
        exponent: 0,
    };

    /// Rounds `bits × 2^exponent` (plus a sticky nonzero remainder below
    /// its last bit) to 64 bits, nearest-even. None when it overflows.
    fn round(negative: bool, bits: u128, exponent: i64, sticky: bool) -> Option<Extended> {
        if bits == 0 {
            return Some(Extended {
                negative,
                ..Extended::ZERO
            });
        }
        let width = 128 - i64::from(bits.leading_zeros());
        let (mantissa, exponent) = if width <= 64 {
            ((bits << (64 - width)) as u64, exponent - (64 - width))
        } else {
            let shift = (width - 64) as u32;
            let half = 1u128 << (shift - 1);
            let rest = bits & ((half << 1) - 1);
            let mut top = (bits >> shift) as u64;
            let above_half = rest > half || (rest == half && sticky);
            if above_half || (rest == half && top & 1 == 1) {
                top = top.wrapping_add(1);
            }
            if top == 0 {
                (1 << 63, exponent + i64::from(shift) + 1)
            } else {
                (top, exponent + i64::from(shift))
            }
        };
        if exponent > MAX_EXPONENT {
            return None;
        }
        if exponent < MIN_EXPONENT {
            // Subnormal: kept as zero (too small to show in 17 decimals).
            return Some(Extended {
                negative,
                ..Extended::ZERO
            });
        }
        Some(Extended {
            negative,
            mantissa,
            exponent,
        })
    }

    /// The rounded sum; None when it overflows.
    fn add(self, other: Extended) -> Option<Extended> {
        if other.mantissa == 0 {
            let negative = self.negative && (self.mantissa != 0 || other.negative);
            return Some(Extended { negative, ..self });
        }
        if self.mantissa == 0 {
            return Some(other);
        }
        let (big, small) = if self.exponent >= other.exponent {
            (self, other)
        } else {
            (other, self)
        };
        // 62 spare low bits; the smaller operand's shifted-out bits survive
        // as a sticky lowest bit, which is enough to round correctly.
        let a = u128::from(big.mantissa) << 62;
        let distance = (big.exponent - small.exponent) as u32;
        let b = u128::from(small.mantissa) << 62;
        let b = if distance >= 127 {
            1
        } else {
            (b >> distance) | u128::from(b & ((1u128 << distance) - 1) != 0)
        };
        let exponent = big.exponent - 62;
        if big.negative == small.negative {
            return Extended::round(big.negative, a + b, exponent, false);
        }
        match a.cmp(&b) {
            Ordering::Equal => Some(Extended::ZERO),
            Ordering::Greater => Extended::round(big.negative, a - b, exponent, false),
            Ordering::Less => Extended::round(small.negative, b - a, exponent, false),
        }
    }
}

/// Parses like Redis's `string2ld`: `strtold` syntax (decimal, hex, `inf`),
/// no leading space, nothing after the number, no NaN, no overflow and no
/// nonzero value that underflows to zero. `Some(None)` is an infinity.
fn parse(text: &[u8]) -> Option<Option<Extended>> {
    if text.is_empty() || text.len() >= MAX_CHARS {
        return None;
    }
    let (negative, body) = match text[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    if lower == b"inf" || lower == b"infinity" {
        return Some(None);
    }
    let number = if lower.starts_with(b"0x") {
        parse_hex(&lower[2..])?
    } else {
        parse_decimal(&lower)?
    };
    if number.is_zero() {
        return Some(Some(Extended {
            negative,
            ..Extended::ZERO
        }));
    }
    number.to_extended(negative).map(Some)
}

/// A number as `digits × 10^exp10` (or `× 2^exp2`), still exact.
enum Scale {
    Ten(i64),
    Two(i64),
}

/// An exact parsed number before rounding.
struct Parsed {
    digits: Big,
    scale: Scale,
}

impl Parsed {
    fn is_zero(&self) -> bool {
        self.digits.is_zero()
    }

    /// Rounds to the nearest long double; None when out of range.
    fn to_extended(&self, negative: bool) -> Option<Extended> {
        let (mut num, mut den) = (self.digits.clone(), Big::from(1));
        match self.scale {
            Scale::Ten(exp10) => {
                // Beyond these, the value is certainly out of range (the
                // input has fewer than MAX_CHARS digits).
                if exp10 > 5000 || exp10 < -(2 * MAX_CHARS as i64 + 5000) {
                    return None;
                }
                let power = Big::pow10(exp10.unsigned_abs());
                if exp10 >= 0 {
                    num = num.mul(&power);
                } else {
                    den = power;
                }
            }
            Scale::Two(exp2) => {
                if exp2.abs() > 40_000 {
                    return None;
                }
                if exp2 >= 0 {
                    num = num.shl(exp2 as usize);
                } else {
                    den = den.shl(exp2.unsigned_abs() as usize);
                }
            }
        }
        // Scale so the quotient has 66 or 67 bits, then divide exactly.
        let scale = num.bits() as i64 - den.bits() as i64 - 66;
        if scale >= 0 {
            den = den.shl(scale as usize);
        } else {
            num = num.shl(scale.unsigned_abs() as usize);
        }
        let (quotient, remainder) = num.div_small_quotient(&den);
        // Below the smallest subnormal (2^-16445) strtold gives 0 and ERANGE.
        let top_bit = scale + 128 - i64::from(quotient.leading_zeros());
        if top_bit < -16445 {
            return None;
        }
        Extended::round(negative, quotient, scale, !remainder.is_zero())
    }
}

fn parse_decimal(text: &[u8]) -> Option<Parsed> {
    let mut digits = Big::from(0);
    let mut exp10: i64 = 0;
    let mut seen_digit = false;
    let mut seen_point = false;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'0'..=b'9' => {
                digits.mul_add(10, u32::from(text[i] - b'0'));
                seen_digit = true;
                if seen_point {
                    exp10 -= 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if !seen_digit {
        return None;
    }
    if i < text.len() {
        // Only an exponent may follow, with at least one digit.
        if text[i] != b'e' {
            return None;
        }
        exp10 += parse_exponent(&text[i + 1..])?;
    }
    Some(Parsed {
        digits,
        scale: Scale::Ten(exp10),
    })
}

fn parse_hex(text: &[u8]) -> Option<Parsed> {
    let mut digits = Big::from(0);
    let mut exp2: i64 = 0;
    let mut seen_digit = false;
    let mut seen_point = false;
    let mut i = 0;
    while i < text.len() {
        match (text[i] as char).to_digit(16) {
            Some(d) => {
                digits.mul_add(16, d);
                seen_digit = true;
                if seen_point {
                    exp2 -= 4;
                }
            }
            None if text[i] == b'.' && !seen_point => seen_point = true,
            None => break,
        }
        i += 1;
    }
    if !seen_digit {
        return None;
    }
    if i < text.len() {
        if text[i] != b'p' {
            return None;
        }
        exp2 += parse_exponent(&text[i + 1..])?;
    }
    Some(Parsed {
        digits,
        scale: Scale::Two(exp2),
    })
}

/// An exponent: optional sign, at least one digit, saturating when huge.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().fold(0i64, |acc, d| {
        acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    Some(if negative { -value } else { value })
}

/// `%.17Lf` with trailing zeros (and a bare point) removed, `-0` as `0`,
/// and an empty string when the text would not fit Redis's buffer.
fn format(value: Extended) -> Vec<u8> {
    let sign = if value.negative { "-" } else { "" };
    let text = if value.exponent >= 0 {
        let integer = Big::from_u64(value.mantissa).shl(value.exponent as usize);
        // log10(2) ≈ 0.30103: skip printing what cannot fit anyway.
        if integer.bits() * 30103 / 100_000 > MAX_CHARS as u64 {
            return Vec::new();
        }
        format!("{sign}{}", integer.to_decimal())
    } else {
        // value × 10^17 fits 121 bits; round it to an integer, half to even.
        let scaled = u128::from(value.mantissa) * 100_000_000_000_000_000;
        let shift = value.exponent.unsigned_abs();
        let rounded = if shift >= 128 {
            0
        } else {
            let shift = shift as u32;
            let quotient = scaled >> shift;
            let rest = scaled & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            quotient + u128::from(rest > half || (rest == half && quotient & 1 == 1))
        };
        let fraction = rounded % 100_000_000_000_000_000;
        let fraction = format!("{fraction:017}");
        let fraction = fraction.trim_end_matches('0');
        let integer = rounded / 100_000_000_000_000_000;
        if fraction.is_empty() {
            format!("{sign}{integer}")
        } else {
            format!("{sign}{integer}.{fraction}")
        }
    };
    if text.len() + 18 + 1 > MAX_CHARS {
        return Vec::new();
    }
    if text == "-0" {
        return b"0".to_vec();
    }
    text.into_bytes()
}

/// A small unsigned big integer: 32-bit limbs, least significant first.
#[derive(Debug, Clone)]
struct Big(Vec<u32>);

impl Big {
    fn from(n: u32) -> Big {
        let mut big = Big(vec![n]);
        big.trim();
        big
    }

    fn from_u64(n: u64) -> Big {
        let mut big = Big(vec![n as u32, (n >> 32) as u32]);
        big.trim();
        big
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(top) => self.0.len() as u64 * 32 - u64::from(top.leading_zeros()),
        }
    }

    /// `self = self × factor + add`.
    fn mul_add(&mut self, factor: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.0 {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn pow10(mut exp: u64) -> Big {
        let mut big = Big::from(1);
        while exp > 0 {
            let step = exp.min(9);
            big.mul_add(10u32.pow(step as u32), 0);
            exp -= step;
        }
        big
    }

    fn mul(&self, other: &Big) -> Big {
        let mut out = vec![0u32; self.0.len() + other.0.len()];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &b) in other.0.iter().enumerate() {
                let t = u64::from(out[i + j]) + u64::from(a) * u64::from(b) + carry;
                out[i + j] = t as u32;
                carry = t >> 32;
            }
            out[i + other.0.len()] = carry as u32;
        }
        let mut big = Big(out);
        big.trim();
        big
    }

    fn shl(&self, bits: usize) -> Big {
        let (words, bits) = (bits / 32, (bits % 32) as u32);
        let mut out = vec![0u32; words];
        let mut carry = 0u32;
        for &limb in &self.0 {
            out.push((limb << bits) | carry);
            carry = if bits == 0 { 0 } else { limb >> (32 - bits) };
        }
        out.push(carry);
        let mut big = Big(out);
        big.trim();
        big
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    /// `self -= other`, for `self >= other`.
    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let t = i64::from(*limb) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = i64::from(t < 0);
            *limb = (t + (borrow << 32)) as u32;
        }
        self.trim();
    }

    /// Long division when the quotient fits 128 bits: (quotient, remainder).
    fn div_small_quotient(&self, den: &Big) -> (u128, Big) {
        let mut rest = self.clone();
        let mut quotient = 0u128;
        let top = self.bits().saturating_sub(den.bits()).min(127);
        for i in (0..=top).rev() {
            let shifted = den.shl(i as usize);
            if rest.cmp(&shifted) != Ordering::Less {
                rest.sub_assign(&shifted);
                quotient |= 1 << i;
            }
        }
        (quotient, rest)
    }

    /// `self / divisor`, returning the remainder.
    fn div_rem_small(&mut self, divisor: u32) -> u32 {
        let mut rest = 0u64;
        for limb in self.0.iter_mut().rev() {
            let t = (rest << 32) | u64::from(*limb);
            *limb = (t / u64::from(divisor)) as u32;
            rest = t % u64::from(divisor);
        }
        self.trim();
        rest as u32
    }

    fn to_decimal(&self) -> String {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_rem_small(1_000_000_000));
        }
        let mut text = chunks.pop().map_or("0".to_string(), |c| c.to_string());
        for chunk in chunks.iter().rev() {
            text.push_str(&format!("{chunk:09}"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(current: &str, by: &str) -> String {
        let sum = incr_by_float(Some(current.as_bytes()), by.as_bytes()).unwrap();
        String::from_utf8(sum).unwrap()
    }

    #[test]
    fn matches_redis_long_double_output() {
        // Expected strings are Redis 7.0's replies on x86-64.
        assert_eq!(incr("10.50", "0.1"), "10.6");
        assert_eq!(incr("10.6", "5.0e3"), "5010.60000000000000009");
        assert_eq!(incr("0", "0.1"), "0.1");
        assert_eq!(incr("1", "-1"), "0");
        assert_eq!(incr("-0.0", "0"), "0");
        assert_eq!(incr("0x10", "1"), "17");
        assert_eq!(incr("3", "1e20"), "100000000000000000000");
        assert_eq!(incr("5", "-10.25"), "-5.25");
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("1.5", "1e-20"), "1.5");
        assert_eq!(incr("1e-4950", "0"), "0");
        assert_eq!(
            incr("123456789.123456789", "0.000000001"),
            "123456789.12345678999554366"
        );
        assert_eq!(incr("1", "0x1p-3"), "1.125");
        assert_eq!(incr("0", "3.814697265625e-6"), "0.00000381469726562");
        assert_eq!(incr("0", "-1e-18"), "0");
        assert_eq!(
            incr("99999999999999999999999", "1"),
            "100000000000000000000000"
        );
        let huge = incr("1e4000", "1");
        assert_eq!(huge.len(), 4000);
        assert!(huge.starts_with("99999999999999999999654638730996237849324925835"));
        assert!(huge.ends_with("206648276349901340672"));
        let big = incr("1e4930", "0");
        assert_eq!(big.len(), 4931);
        assert!(big.starts_with("100000000000000000002617378488703793057208195075512250134639"));
    }

    #[test]
    fn refuses_what_string2ld_refuses() {
        for bad in [
            "", " 1", "1 ", "abc", "nan", "1e", "1e+", ".", "1e5000", "1e-5000", "0x", "1e-4951",
        ] {
            assert_eq!(
                incr_by_float(Some(bad.as_bytes()), b"1"),
                Err(IncrFloatError::NotFloat),
                "{bad:?}"
            );
        }
        assert_eq!(
            incr_by_float(None, b"inf"),
            Err(IncrFloatError::NanOrInfinity)
        );
        assert_eq!(incr_by_float(Some(b"0e-9999"), b"1"), Ok(b"1".to_vec()));
    }
}
