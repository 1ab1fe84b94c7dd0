//! What the SCAN family (SCAN, HSCAN, SSCAN, ZSCAN) shares: reading the
//! cursor and the MATCH / COUNT (/ TYPE) options, as Redis does.

use super::errors::{self, Error};
use super::{int_arg, is};

/// A cursor as Redis's `parseScanCursorOrReply` reads it (`strtoul`): an
/// empty string is 0, a sign is allowed and `-1` wraps around.
pub(super) fn cursor(arg: &[u8]) -> Result<u64, Error> {
    let invalid = || Error::from(errors::INVALID_CURSOR);
    let (negative, digits) = match arg {
        [] => return Ok(0),
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut value: u64 = 0;
    for &digit in digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// The options after the cursor.
pub(super) struct Options<'a> {
    /// None matches everything (also for `MATCH *`).
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    /// SCAN's TYPE filter.
    pub type_name: Option<&'a [u8]>,
}

/// Reads `[MATCH pattern] [COUNT count]`, and `[TYPE type]` when
/// `allow_type` (SCAN only).
pub(super) fn options(args: &[Vec<u8>], allow_type: bool) -> Result<Options<'_>, Error> {
    let mut options = Options {
        pattern: None,
        count: 10,
        type_name: None,
    };
    for option in args.chunks(2) {
        let [name, value] = option else {
            return Err(errors::SYNTAX.into());
        };
        if is(name, "count") {
            let n = int_arg(value)?;
            if n < 1 {
                return Err(errors::SYNTAX.into());
            }
            options.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if is(name, "match") {
            options.pattern = (value.as_slice() != b"*").then_some(value.as_slice());
        } else if allow_type && is(name, "type") {
            options.type_name = Some(value);
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    Ok(options)
}
