//! Small helpers shared by the protocol, the store and the commands: Redis's
//! strict number parsing and printing, and its quoted-argument splitter.

/// Parses a signed 64-bit integer exactly as Redis's `string2ll` does: an
/// optional `-`, then digits with no leading zero (except `0` itself), no
/// spaces, no `+`, and no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s {
        [] => return None,
        [b'0'] => return Some(0),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        if value > i64::MAX as u64 + 1 {
            return None;
        }
        Some((value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

/// Parses an unsigned 64-bit integer as a SCAN cursor (decimal digits only).
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// Parses a double as Redis's `getDoubleFromObject` does: C's `strtod`
/// syntax (decimal, hex such as `0x10` or `0x1p-3`, `inf`, `infinity`),
/// no leading space, nothing after the number, no NaN, and no value out of
/// range (overflowing to an infinity, or nonzero rounding to zero).
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.first().map_or(true, is_c_space) {
        return None;
    }
    match strtod(s)? {
        (_, true) => None,
        (value, false) if value.is_nan() => None,
        (value, false) => Some(value),
    }
}

/// C's `isspace` in the C locale.
pub fn is_c_space(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// C's `strtod` (glibc) when it must read all of `text`: the value and
/// whether it is out of range (ERANGE: an overflow to an infinity, or a
/// nonzero number that rounds to zero). Leading white space is skipped, as
/// `strtod` does. None when `text` is not a number from start to end.
pub fn strtod(text: &[u8]) -> Option<(f64, bool)> {
    let start = text.iter().take_while(|b| is_c_space(b)).count();
    let (negative, body) = match text.get(start) {
        Some(b'-') => (true, &text[start + 1..]),
        Some(b'+') => (false, &text[start + 1..]),
        _ => (false, &text[start..]),
    };
    let lower = body.to_ascii_lowercase();
    let (magnitude, out_of_range) = if lower == b"inf" || lower == b"infinity" {
        (f64::INFINITY, false)
    } else if lower.starts_with(b"nan") {
        // `nan` or `nan(chars)`.
        let rest = &lower[3..];
        let chars = rest.strip_prefix(b"(").and_then(|r| r.strip_suffix(b")"));
        let valid = rest.is_empty()
            || chars.is_some_and(|c| c.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_'));
        if !valid {
            return None;
        }
        (f64::NAN, false)
    } else if let Some(hex) = lower.strip_prefix(b"0x") {
        strtod_hex(hex)?
    } else {
        strtod_decimal(&lower)?
    };
    Some((if negative { -magnitude } else { magnitude }, out_of_range))
}

/// `digits[.digits][e[+-]digits]`, correctly rounded by Rust's parser.
fn strtod_decimal(text: &[u8]) -> Option<(f64, bool)> {
    let mantissa_end = text
        .iter()
        .position(|b| !b.is_ascii_digit() && *b != b'.')
        .unwrap_or(text.len());
    let mantissa = &text[..mantissa_end];
    let points = mantissa.iter().filter(|b| **b == b'.').count();
    if points > 1 || !mantissa.iter().any(u8::is_ascii_digit) {
        return None;
    }
    if mantissa_end < text.len() {
        let rest = text[mantissa_end..].strip_prefix(b"e")?;
        let digits = rest
            .strip_prefix(b"+")
            .or_else(|| rest.strip_prefix(b"-"))
            .unwrap_or(rest);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
    }
    let value: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    let nonzero = mantissa.iter().any(|b| (b'1'..=b'9').contains(b));
    Some((value, value.is_infinite() || (value == 0.0 && nonzero)))
}

/// Hex digits with an optional point, then an optional `p[+-]digits`
/// (a power of two), rounded to nearest even as glibc does.
fn strtod_hex(text: &[u8]) -> Option<(f64, bool)> {
    let (mut mantissa, mut exponent, mut sticky) = (0u64, 0i64, false);
    let (mut digits, mut seen_point, mut i) = (0, false, 0);
    while i < text.len() {
        match (text[i] as char).to_digit(16) {
            Some(d) => {
                digits += 1;
                if mantissa >> 60 == 0 {
                    mantissa = mantissa << 4 | u64::from(d);
                    if seen_point {
                        exponent -= 4;
                    }
                } else {
                    // Past 60 bits only whether anything is left matters.
                    sticky |= d != 0;
                    if !seen_point {
                        exponent += 4;
                    }
                }
            }
            None if text[i] == b'.' && !seen_point => seen_point = true,
            None => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < text.len() {
        let rest = text[i..].strip_prefix(b"p")?;
        let (sign, power) = match rest.first() {
            Some(b'-') => (-1, &rest[1..]),
            Some(b'+') => (1, &rest[1..]),
            _ => (1, rest),
        };
        if power.is_empty() || !power.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let power = power.iter().fold(0i64, |acc, d| {
            acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
        exponent = exponent.saturating_add(sign * power.min(1 << 40));
    }
    if mantissa == 0 {
        return Some((0.0, false));
    }
    // value = mantissa × 2^exponent (+ a bit of sticky): keep 53 bits, or
    // fewer for a subnormal, rounding half to even.
    let bits = 64 - i64::from(mantissa.leading_zeros());
    let top = bits - 1 + exponent;
    if top > 1023 {
        return Some((f64::INFINITY, true));
    }
    let precision = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    let shift = bits - precision;
    let kept = if shift <= 0 {
        mantissa
    } else if shift > 64 {
        0
    } else {
        let kept = if shift == 64 { 0 } else { mantissa >> shift };
        let rest = if shift == 64 {
            mantissa
        } else {
            mantissa & ((1u64 << shift) - 1)
        };
        let half = 1u64 << (shift - 1);
        let up = rest > half || (rest == half && (sticky || kept & 1 == 1));
        kept + u64::from(up)
    };
    if kept == 0 {
        return Some((0.0, true));
    }
    let value = times_power_of_two(kept as f64, exponent + shift.max(0));
    Some((value, value.is_infinite()))
}

/// `x × 2^power` in exact steps (`x` has at most 53 bits and the result is
/// representable, or infinite).
fn times_power_of_two(mut x: f64, mut power: i64) -> f64 {
    let step = |p: i64| f64::from_bits(((p + 1023) as u64) << 52);
    while power > 1023 {
        x *= step(1023);
        power -= 1023;
    }
    while power < -1022 {
        x *= step(-1022);
        power += 1022;
    }
    x * step(power)
}

/// Appends the decimal form of `value` (what Redis's `ll2string` writes).
pub fn push_i64(out: &mut Vec<u8>, value: i64) {
    let mut text = [0u8; 20];
    out.extend_from_slice(i64_text(value, &mut text));
}

/// `value` in decimal, written at the end of `text` (20 bytes hold
/// `i64::MIN`): the returned slice, without allocating.
pub fn i64_text(value: i64, text: &mut [u8; 20]) -> &[u8] {
    let mut pos = text.len() - u64_text(value.unsigned_abs(), text).len();
    if value < 0 {
        pos -= 1;
        text[pos] = b'-';
    }
    &text[pos..]
}

/// `value` in decimal, written at the end of `text` (20 bytes hold
/// `u64::MAX`): the returned slice, without allocating.
pub fn u64_text(value: u64, text: &mut [u8; 20]) -> &[u8] {
    let mut pos = text.len();
    let mut rest = value;
    loop {
        pos -= 1;
        text[pos] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    &text[pos..]
}

/// Formats a double as Redis replies with it in RESP2 bulk strings and RESP3
/// doubles (`%.17g`: `inf`/`-inf`, and `nan`/`-nan`, which only a script
/// can produce).
pub fn format_double(value: f64) -> String {
    format_g(value, 17)
}

/// Formats like INCRBYFLOAT and HINCRBYFLOAT (`%.17Lf` with trailing zeros
/// removed): never an exponent, shortest exact digits.
pub fn format_incr_float(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    // Rust's Display prints the shortest representation that round-trips,
    // without an exponent, which is what the trimmed %.17Lf amounts to for
    // the values a client sees back.
    let text = format!("{value}");
    if text == "-0" {
        "0".into()
    } else {
        text
    }
}

/// C's `printf("%.<precision>g", value)`: `precision` significant digits
/// (at least 1), trailing zeros removed, exponent form when the exponent is
/// below -4 or at least `precision`; `inf`, `-inf`, `nan`, `-nan`.
pub fn format_g(value: f64, precision: usize) -> String {
    if value.is_nan() {
        return if value.is_sign_negative() {
            "-nan"
        } else {
            "nan"
        }
        .into();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.into();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let precision = precision.max(1);
    // The exponent %e would print, after rounding to `precision` digits.
    let sci = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if exponent < -4 || exponent >= precision as i32 {
        let mantissa = trim_fraction(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
    trim_fraction(&format!("{value:.decimals$}")).to_string()
}

fn trim_fraction(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

/// Why [`split_args`] refused a line.
#[derive(Debug, PartialEq, Eq)]
pub struct UnbalancedQuotes;

/// Splits a line into arguments as Redis's `sdssplitargs` does (inline
/// commands and redis.conf lines): spaces separate, `"..."` understands
/// `\n \r \t \b \a \\ \" \xHH`, `'...'` understands `\'`, and a closing quote
/// must be followed by a space or the end of the line.
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, UnbalancedQuotes> {
    let mut args = Vec::new();
    let count = split_args_into(line, &mut args)?;
    args.truncate(count);
    Ok(args)
}

/// [`split_args`] into buffers kept from line to line: the arguments fill
/// `args[..count]` (cleared first, added when there are too few), and the
/// count is returned; buffers after it are left as they were.
pub fn split_args_into(line: &[u8], args: &mut Vec<Vec<u8>>) -> Result<usize, UnbalancedQuotes> {
    // Redis works on C strings: a NUL ends the line.
    let line = line.split(|&b| b == 0).next().unwrap_or_default();
    let mut count = 0;
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(count);
        }
        if count == args.len() {
            args.push(Vec::new());
        }
        let current = &mut args[count];
        current.clear();
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let c = line.get(i).copied();
            if in_double {
                match c {
                    None => return Err(UnbalancedQuotes),
                    Some(b'\\')
                        if line.get(i + 1) == Some(&b'x')
                            && hex_pair(line.get(i + 2..i + 4)).is_some() =>
                    {
                        current.push(hex_pair(line.get(i + 2..i + 4)).unwrap_or(0));
                        i += 3;
                    }
                    Some(b'\\') if i + 1 < line.len() => {
                        i += 1;
                        current.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|&n| !is_space(n)) {
                            return Err(UnbalancedQuotes);
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                }
            } else if in_single {
                match c {
                    None => return Err(UnbalancedQuotes),
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        current.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|&n| !is_space(n)) {
                            return Err(UnbalancedQuotes);
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => current.push(other),
                }
            } else {
                match c {
                    None => break,
                    Some(b' ' | b'\n' | b'\r' | b'\t' | b'\0') => break,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(other) => current.push(other),
                }
            }
            i += 1;
        }
        count += 1;
    }
}

/// C's `isspace`: std's `is_ascii_whitespace` leaves out the vertical tab.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_pair(pair: Option<&[u8]>) -> Option<u8> {
    let pair = pair?;
    let hi = (pair[0] as char).to_digit(16)?;
    let lo = (pair[1] as char).to_digit(16)?;
    Some((hi * 16 + lo) as u8)
}

/// A small, fast, non-cryptographic generator (xorshift64*) for random
/// picks (RANDOMKEY, SPOP, HRANDFIELD, ZRANDMEMBER...). std has no random
/// numbers, so it is seeded by hashing a counter with std's per-process
/// random keys: two generators made in the same instant still differ.
/// After DEBUG SEED, seeds come from the server's [`crate::clock::Chance`].
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A freshly seeded generator.
    pub fn new() -> Self {
        if let Some(seed) = crate::clock::current_seed() {
            return Rng(seed | 1);
        }
        use std::hash::BuildHasher;
        use std::sync::atomic::{AtomicU64, Ordering};
        static CALLS: AtomicU64 = AtomicU64::new(0);
        let seed = std::collections::hash_map::RandomState::new()
            .hash_one(CALLS.fetch_add(1, Ordering::Relaxed));
        Rng(seed | 1)
    }

    /// A generator started from `seed` (from another generator).
    pub fn seeded(seed: u64) -> Self {
        Rng(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}

impl Default for Rng {
    fn default() -> Self {
        Rng::new()
    }
}

/// Milliseconds since the Unix epoch by the clock of the server this
/// thread works for (see [`crate::clock`]): the clock that expiry times
/// use. While a script runs on this thread, the time it started (see
/// [`FrozenTime`]).
pub fn now_ms() -> u64 {
    let frozen = FROZEN_MS.with(std::cell::Cell::get);
    if frozen != 0 {
        return frozen;
    }
    crate::clock::current_ms()
}

thread_local! {
    /// The time [`now_ms`] gives on this thread; 0 for the clock's.
    static FROZEN_MS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Until dropped, [`now_ms`] on this thread answers `at`: a script sees
/// keys expire by the time it started, as Redis 7.0's `keyIsExpired` does
/// (a key cannot vanish between two of its commands).
pub struct FrozenTime(u64);

impl FrozenTime {
    pub fn new(at: u64) -> Self {
        FrozenTime(FROZEN_MS.with(|f| f.replace(at)))
    }
}

impl Drop for FrozenTime {
    fn drop(&mut self) {
        FROZEN_MS.with(|f| f.set(self.0));
    }
}

/// A number as C's `%f` prints it with trailing zeros (and a bare dot)
/// trimmed: Redis's percentile names (`50`, `99.9`).
pub fn format_percentile(value: f64) -> String {
    let text = format!("{value:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The bytes of `args` sent as a RESP multibulk (`*2\r\n$4\r\nPING...`).
pub fn command_len(args: &[Vec<u8>]) -> usize {
    let digits = |n: usize| n.to_string().len();
    3 + digits(args.len())
        + args
            .iter()
            .map(|arg| 5 + digits(arg.len()) + arg.len())
            .sum::<usize>()
}

/// Redis's `pqsort` (Bentley & McIlroy's quicksort, which leaves alone the
/// parts that lie wholly outside `low..=high`), on indexes instead of
/// pointers. Not stable: followed exactly so that equal elements end up
/// where Redis puts them.
pub fn partial_quicksort<T>(
    v: &mut [T],
    low: usize,
    high: usize,
    compare: &impl Fn(&T, &T) -> std::cmp::Ordering,
) {
    let len = v.len();
    quicksort_part(v, 0, len, low, high, compare);
}

/// One call of Redis's `_pqsort`: `v[a..a + n]`, indexes absolute.
fn quicksort_part<T>(
    v: &mut [T],
    mut a: usize,
    mut n: usize,
    low: usize,
    high: usize,
    compare: &impl Fn(&T, &T) -> std::cmp::Ordering,
) {
    let outside =
        |first: usize, last: usize| (low < first && high < first) || (low > last && high > last);
    let median_of_three = |v: &[T], a: usize, b: usize, c: usize| {
        if compare(&v[a], &v[b]) == std::cmp::Ordering::Less {
            if compare(&v[b], &v[c]) == std::cmp::Ordering::Less {
                b
            } else if compare(&v[a], &v[c]) == std::cmp::Ordering::Less {
                c
            } else {
                a
            }
        } else if compare(&v[b], &v[c]) == std::cmp::Ordering::Greater {
            b
        } else if compare(&v[a], &v[c]) == std::cmp::Ordering::Less {
            a
        } else {
            c
        }
    };
    let swap_blocks = |v: &mut [T], a: usize, b: usize, n: usize| {
        for i in 0..n {
            v.swap(a + i, b + i);
        }
    };
    loop {
        if n < 7 {
            for m in a + 1..a + n {
                let mut l = m;
                while l > a && compare(&v[l - 1], &v[l]) == std::cmp::Ordering::Greater {
                    v.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let mut m = a + n / 2;
        if n > 7 {
            let (mut l, mut last) = (a, a + n - 1);
            if n > 40 {
                let d = n / 8;
                l = median_of_three(v, l, l + d, l + 2 * d);
                m = median_of_three(v, m - d, m, m + d);
                last = median_of_three(v, last - 2 * d, last - d, last);
            }
            m = median_of_three(v, l, m, last);
        }
        v.swap(a, m);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                match compare(&v[pb], &v[a]) {
                    std::cmp::Ordering::Greater => break,
                    std::cmp::Ordering::Equal => {
                        v.swap(pa, pb);
                        pa += 1;
                    }
                    std::cmp::Ordering::Less => {}
                }
                pb += 1;
            }
            while pb <= pc {
                match compare(&v[pc], &v[a]) {
                    std::cmp::Ordering::Less => break,
                    std::cmp::Ordering::Equal => {
                        v.swap(pc, pd);
                        pd -= 1;
                    }
                    std::cmp::Ordering::Greater => {}
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let end = a + n;
        let r = (pa - a).min(pb - pa);
        swap_blocks(v, a, pb - r, r);
        let r = (pd - pc).min(end - pd - 1);
        swap_blocks(v, pb, end - r, r);
        let r = pb - pa;
        if r > 1 && !outside(a, a + r - 1) {
            quicksort_part(v, a, r, low, high, compare);
        }
        let r = pd - pc;
        if r > 1 {
            a = end - r;
            n = r;
            if !outside(a, a + r - 1) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn integers_in_decimal_at_their_extremes() {
        let mut text = [0u8; 20];
        assert_eq!(i64_text(i64::MIN, &mut text), b"-9223372036854775808");
        assert_eq!(i64_text(i64::MAX, &mut text), b"9223372036854775807");
        assert_eq!(i64_text(-7, &mut text), b"-7");
        assert_eq!(i64_text(0, &mut text), b"0");
        assert_eq!(u64_text(u64::MAX, &mut text), b"18446744073709551615");
        assert_eq!(u64_text(0, &mut text), b"0");
    }
    use super::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"007",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn doubles_print_like_percent_17g() {
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(0.1), "0.10000000000000001");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1.0e-5), "1.0000000000000001e-05");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_incr_float(10.5), "10.5");
        assert_eq!(format_incr_float(5.0e3), "5000");
    }

    #[test]
    fn format_g_matches_printf() {
        assert_eq!(format_g(0.1, 14), "0.1");
        assert_eq!(format_g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(format_g(1e300, 14), "1e+300");
        assert_eq!(format_g(123456789012345678.0, 14), "1.2345678901235e+17");
        assert_eq!(format_g(-0.0, 14), "-0");
        assert_eq!(format_g(100.0, 14), "100");
        assert_eq!(format_g(1e-5, 14), "1e-05");
        assert_eq!(format_g(0.0001, 14), "0.0001");
        assert_eq!(format_g(99999.5, 5), "1e+05");
        assert_eq!(format_g(2.5, 1), "2");
    }

    #[test]
    fn numbers_as_lua_prints_them() {
        for (n, text) in [
            (1.5, "1.5"),
            (3.0, "3"),
            (-2.0, "-2"),
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (123456789012345.0, "1.2345678901234e+14"),
            (12345678901234.0, "12345678901234"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.0 / 3.0, "0.33333333333333"),
        ] {
            assert_eq!(format_g(n, 14), text, "{n}");
        }
    }

    #[test]
    fn splits_like_sdssplitargs() {
        assert_eq!(
            split_args(b"set a b").unwrap(),
            vec![b"set".to_vec(), b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(
            split_args(b"  \"a b\" 'c\\'d' \"\\x41\\n\"").unwrap(),
            vec![b"a b".to_vec(), b"c'd".to_vec(), b"A\n".to_vec()]
        );
        assert_eq!(split_args(b"\"abc"), Err(UnbalancedQuotes));
        assert_eq!(split_args(b"\"abc\"def"), Err(UnbalancedQuotes));
        assert_eq!(split_args(b"").unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(split_args(b"\x0bPING").unwrap(), vec![b"PING".to_vec()]);
        assert_eq!(split_args(b"a\0 b").unwrap(), vec![b"a".to_vec()]);
        assert_eq!(split_args(b"\0").unwrap(), Vec::<Vec<u8>>::new());
    }
}
