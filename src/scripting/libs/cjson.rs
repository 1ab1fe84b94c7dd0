//! `cjson`: lua-cjson 2.1.0 as Redis 7.0 ships it.
//!
//! Encoding: a table whose keys are all positive whole numbers is an array
//! (holes become `null`) unless it is excessively sparse; anything else is
//! an object in `next` order. Numbers print with `%.14g`; `/` is escaped.
//! Decoding: numbers become doubles, `null` becomes `cjson.null` (the NULL
//! light userdata, as in C). The configuration functions and the error
//! messages are those of the C library.

use super::{as_number, type_error, type_name, Args, Fail, Libs, Outcome, Parked, MAX_C_STACK};
use mlua::{Function, Lua, MultiValue, Table, Value};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The settings one cjson module instance keeps (`cjson.new()` makes
/// another).
#[derive(Clone, Copy)]
struct Config {
    sparse_convert: i32,
    sparse_ratio: i32,
    sparse_safe: i32,
    encode_max_depth: i32,
    decode_max_depth: i32,
    /// 0 refuse, 1 allow (`nan`, `inf`), 2 encode as `null`.
    encode_invalid_numbers: i32,
    decode_invalid_numbers: i32,
    encode_keep_buffer: i32,
    precision: i32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: 0,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            decode_invalid_numbers: 1,
            encode_keep_buffer: 1,
            precision: 14,
        }
    }
}

type Shared = Arc<Mutex<Config>>;

fn lock(config: &Shared) -> MutexGuard<'_, Config> {
    config.lock().unwrap_or_else(PoisonError::into_inner)
}

fn one(value: Value) -> Outcome {
    Ok(MultiValue::from_vec(vec![value]))
}

// ===== Configuration =====

/// `json_arg_init`: at most `max` arguments.
fn check_arg_count(args: &Args, max: usize) -> Result<(), Fail> {
    if args.count() > max {
        return Err(Fail::Arg(max + 1, "found too many arguments".into()));
    }
    Ok(())
}

/// `json_integer_option`. The range error names argument 1 whatever the
/// option's position, as the C code does.
fn integer_option(
    lua: &Lua,
    args: &Args,
    n: usize,
    setting: &mut i32,
    min: i32,
    max: i32,
) -> Result<Value, Fail> {
    if !args.is_none_or_nil(n) {
        let value = args.integer(lua, n)? as i32;
        if !(min..=max).contains(&value) {
            return Err(Fail::Arg(
                1,
                format!("expected integer between {min} and {max}"),
            ));
        }
        *setting = value;
    }
    Ok(Value::Integer(*setting as i64))
}

/// `json_enum_option` with `true` meaning option 1.
fn enum_option(
    lua: &Lua,
    args: &Args,
    n: usize,
    setting: &mut i32,
    options: &[&str],
) -> Result<Value, Fail> {
    match args.get(n) {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => *setting = *b as i32,
        Some(_) => {
            let name = args.bytes(lua, n)?;
            match options.iter().position(|o| o.as_bytes() == name.as_slice()) {
                Some(i) => *setting = i as i32,
                None => {
                    let name = String::from_utf8_lossy(&name);
                    return Err(Fail::Arg(n, format!("invalid option '{name}'")));
                }
            }
        }
    }
    Ok(match *setting {
        0 | 1 => Value::Boolean(*setting == 1),
        i => Value::String(lua.create_string(options[i as usize])?),
    })
}

const ON_OFF: &[&str] = &["off", "on"];

fn configuration(lua: &Lua, libs: &Libs, table: &Table, config: &Shared) -> mlua::Result<()> {
    let c = config.clone();
    libs.add(lua, table, "encode_sparse_array", move |lua, args| {
        check_arg_count(args, 3)?;
        let mut c = lock(&c);
        let convert = enum_option(lua, args, 1, &mut c.sparse_convert, ON_OFF)?;
        let ratio = integer_option(lua, args, 2, &mut c.sparse_ratio, 0, i32::MAX)?;
        let safe = integer_option(lua, args, 3, &mut c.sparse_safe, 0, i32::MAX)?;
        Ok(MultiValue::from_vec(vec![convert, ratio, safe]))
    })?;
    type Field = fn(&mut Config) -> &mut i32;
    let integers: [(&'static str, Field, i32, i32); 3] = [
        ("encode_max_depth", |c| &mut c.encode_max_depth, 1, i32::MAX),
        ("decode_max_depth", |c| &mut c.decode_max_depth, 1, i32::MAX),
        ("encode_number_precision", |c| &mut c.precision, 1, 14),
    ];
    for (name, field, min, max) in integers {
        let c = config.clone();
        libs.add(lua, table, name, move |lua, args| {
            check_arg_count(args, 1)?;
            one(integer_option(
                lua,
                args,
                1,
                field(&mut lock(&c)),
                min,
                max,
            )?)
        })?;
    }
    let enums: [(&'static str, Field, &'static [&'static str]); 3] = [
        ("encode_keep_buffer", |c| &mut c.encode_keep_buffer, ON_OFF),
        (
            "encode_invalid_numbers",
            |c| &mut c.encode_invalid_numbers,
            &["off", "on", "null"],
        ),
        (
            "decode_invalid_numbers",
            |c| &mut c.decode_invalid_numbers,
            ON_OFF,
        ),
    ];
    for (name, field, options) in enums {
        let c = config.clone();
        libs.add(lua, table, name, move |lua, args| {
            check_arg_count(args, 1)?;
            one(enum_option(lua, args, 1, field(&mut lock(&c)), options)?)
        })?;
    }
    Ok(())
}

// ===== Encoding =====

fn escape_into(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn append_number(out: &mut Vec<u8>, config: &Config, x: f64) -> Result<(), Fail> {
    let invalid = x.is_nan() || x.is_infinite();
    let text = match config.encode_invalid_numbers {
        0 if invalid => {
            return Err(Fail::Error(
                "Cannot serialise number: must not be NaN or Inf".into(),
            ))
        }
        1 if x.is_nan() => "nan".to_string(),
        2 if invalid => "null".to_string(),
        _ => crate::util::format_g(x, config.precision as usize),
    };
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// `(int)x` on x86-64: out of range and NaN give `INT_MIN`.
fn c_double_to_i32(x: f64) -> i32 {
    if x.is_nan() || !(-2_147_483_648.0..2_147_483_648.0).contains(&x) {
        i32::MIN
    } else {
        x as i32
    }
}

/// Objects up to this size, up to this depth, are read in one pass; others
/// key by key with Lua's `next`, which keeps the number of live mlua
/// references small however wide or deep the data is.
const SMALL_OBJECT: usize = 32;
const SMALL_DEPTH: usize = 16;

type Pairs = Vec<(Value, Value)>;

/// `lua_array_length`: `Some(max index)` when every key is a positive whole
/// number (`None`: encode as an object), with the sparse-array rule; and,
/// when `collect` is set and the table is small, its pairs in `next` order.
fn shape(
    config: &Config,
    table: &Table,
    collect: bool,
) -> Result<(Option<i32>, Option<Pairs>), Fail> {
    let (mut max, mut items, mut array) = (0i32, 0i32, true);
    let mut pairs = Vec::new();
    let mut small = collect;
    table.for_each(|key: Value, value: Value| {
        match as_number(&key) {
            Some(k) if array && k != 0.0 && k.floor() == k && k >= 1.0 => {
                if k > max as f64 {
                    max = c_double_to_i32(k);
                }
                items += 1;
            }
            _ => array = false,
        }
        if small && pairs.len() < SMALL_OBJECT {
            pairs.push((key, value));
        } else {
            small = false;
            pairs.clear();
        }
        Ok(())
    })?;
    let pairs = small.then_some(pairs);
    if !array {
        return Ok((None, pairs));
    }
    if config.sparse_ratio > 0
        && max > items.wrapping_mul(config.sparse_ratio)
        && max > config.sparse_safe
    {
        if config.sparse_convert == 0 {
            return Err(Fail::Error(
                "Cannot serialise table: excessively sparse array".into(),
            ));
        }
        return Ok((None, pairs));
    }
    Ok((Some(max), pairs))
}

/// Where an open array or object stands.
enum Frame {
    Array {
        next: i32,
        len: i32,
    },
    /// A small object, read in one pass.
    Pairs {
        pairs: Pairs,
        next: usize,
    },
    /// A large or deep object, read with `next` (its key is parked).
    Object {
        started: bool,
    },
}

impl Frame {
    /// The Lua stack slots the C encoder holds while inside this frame.
    fn slots(&self) -> usize {
        match self {
            Frame::Array { .. } => 1,
            _ => 2,
        }
    }
}

fn append_key(out: &mut Vec<u8>, config: &Config, key: &Value) -> Result<(), Fail> {
    match key {
        Value::String(s) => {
            escape_into(out, &s.as_bytes());
            out.push(b':');
        }
        Value::Integer(_) | Value::Number(_) => {
            out.push(b'"');
            append_number(out, config, as_number(key).unwrap_or(0.0))?;
            out.extend_from_slice(b"\":");
        }
        other => {
            let kind = type_name(other);
            return Err(Fail::Error(format!(
                "Cannot serialise {kind}: table key must be a number or string"
            )));
        }
    }
    Ok(())
}

/// `json_append_data` without recursion: nesting can go thousands deep when
/// `encode_max_depth` is raised. `next` is Lua's, for large objects.
fn encode_value(
    lua: &Lua,
    config: &Config,
    next: &Function,
    value: Value,
) -> Result<Vec<u8>, Fail> {
    let mut out = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut parked = Parked { lua, table: None };
    let mut current: Option<Table> = None;
    let mut used = 1;
    let mut pending = Some(value);
    loop {
        if let Some(value) = pending.take() {
            match value {
                Value::String(s) => escape_into(&mut out, &s.as_bytes()),
                Value::Integer(_) | Value::Number(_) => {
                    append_number(&mut out, config, as_number(&value).unwrap_or(0.0))?
                }
                Value::Boolean(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
                Value::Nil => out.extend_from_slice(b"null"),
                Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
                Value::Table(table) => {
                    let depth = frames.len() + 1;
                    if depth > config.encode_max_depth as usize || used + 3 > MAX_C_STACK {
                        return Err(Fail::Error(format!(
                            "Cannot serialise, excessive nesting ({depth})"
                        )));
                    }
                    let frame = match shape(config, &table, depth <= SMALL_DEPTH)? {
                        (Some(len), _) if len > 0 => {
                            out.push(b'[');
                            Frame::Array { next: 1, len }
                        }
                        (_, Some(pairs)) => {
                            out.push(b'{');
                            Frame::Pairs { pairs, next: 0 }
                        }
                        _ => {
                            out.push(b'{');
                            Frame::Object { started: false }
                        }
                    };
                    used += frame.slots();
                    if let Some(outer) = current.replace(table) {
                        parked.put(2 * depth - 3, Value::Table(outer))?;
                    }
                    frames.push(frame);
                }
                other => {
                    return Err(Fail::Error(format!(
                        "Cannot serialise {}: type not supported",
                        type_name(&other)
                    )));
                }
            }
        }
        let depth = frames.len();
        let (Some(frame), Some(table)) = (frames.last_mut(), current.as_ref()) else {
            break;
        };
        match frame {
            Frame::Array { next, len } if *next <= *len => {
                if *next > 1 {
                    out.push(b',');
                }
                pending = Some(table.raw_get(*next)?);
                *next += 1;
                continue;
            }
            Frame::Array { .. } => out.push(b']'),
            Frame::Pairs { pairs, next } => {
                if let Some((key, value)) = pairs.get(*next) {
                    if *next > 0 {
                        out.push(b',');
                    }
                    append_key(&mut out, config, key)?;
                    pending = Some(value.clone());
                    *next += 1;
                    continue;
                }
                out.push(b'}');
            }
            Frame::Object { started } => {
                let key = parked.take(2 * depth)?;
                let (key, value): (Value, Value) = next.call((table, key))?;
                if !key.is_nil() {
                    if *started {
                        out.push(b',');
                    }
                    *started = true;
                    append_key(&mut out, config, &key)?;
                    parked.put(2 * depth, key)?;
                    pending = Some(value);
                    continue;
                }
                out.push(b'}');
            }
        }
        if let Some(done) = frames.pop() {
            used -= done.slots();
        }
        current = match frames.len() {
            0 => None,
            outer => parked.take_table(2 * outer - 1)?,
        };
    }
    Ok(out)
}

fn encode(lua: &Lua, args: &Args, config: &Shared, next: &Function) -> Outcome {
    if args.count() != 1 {
        return Err(Fail::Arg(1, "expected 1 argument".into()));
    }
    // A copy: the lock is not held while Lua code (a finaliser) might run.
    let settings = *lock(config);
    let json = encode_value(lua, &settings, next, args.0[0].clone())?;
    one(Value::String(lua.create_string(json)?))
}

// ===== Decoding =====

#[derive(Debug, PartialEq)]
enum Token {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Token {
    fn name(&self) -> &'static str {
        match self {
            Token::ObjBegin => "T_OBJ_BEGIN",
            Token::ObjEnd => "T_OBJ_END",
            Token::ArrBegin => "T_ARR_BEGIN",
            Token::ArrEnd => "T_ARR_END",
            Token::Str(_) => "T_STRING",
            Token::Number(_) => "T_NUMBER",
            Token::Boolean(_) => "T_BOOLEAN",
            Token::Null => "T_NULL",
            Token::Colon => "T_COLON",
            Token::Comma => "T_COMMA",
            Token::End => "T_END",
            Token::Error(what) => what,
        }
    }
}

/// The parser reads the text as the C code does: as a NUL-terminated
/// string, so input stops at the first NUL byte.
struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    invalid_numbers: bool,
}

fn hex_digit(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn starts_with(&self, i: usize, word: &[u8]) -> bool {
        word.iter().enumerate().all(|(k, &c)| self.at(i + k) == c)
    }

    fn starts_with_nocase(&self, i: usize, word: &[u8]) -> bool {
        word.iter()
            .enumerate()
            .all(|(k, &c)| self.at(i + k).to_ascii_lowercase() == c)
    }

    /// Returns the token and the index where it starts.
    fn next_token(&mut self) -> (Token, usize) {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let start = self.pos;
        let single = match self.at(start) {
            b'{' => Some(Token::ObjBegin),
            b'}' => Some(Token::ObjEnd),
            b'[' => Some(Token::ArrBegin),
            b']' => Some(Token::ArrEnd),
            b',' => Some(Token::Comma),
            b':' => Some(Token::Colon),
            _ => None,
        };
        if let Some(token) = single {
            self.pos += 1;
            return (token, start);
        }
        let token = match self.at(start) {
            0 => Token::End,
            b'"' => self.string_token(),
            b'-' | b'0'..=b'9' => {
                if !self.invalid_numbers && self.is_invalid_number() {
                    Token::Error("invalid number")
                } else {
                    self.number_token()
                }
            }
            b't' | b'f' | b'n' | b'i' | b'I' | b'N' | b'+' => {
                if self.starts_with(start, b"true") {
                    self.pos += 4;
                    Token::Boolean(true)
                } else if self.starts_with(start, b"false") {
                    self.pos += 5;
                    Token::Boolean(false)
                } else if self.starts_with(start, b"null") {
                    self.pos += 4;
                    Token::Null
                } else if self.invalid_numbers && self.is_invalid_number() {
                    self.number_token()
                } else {
                    Token::Error("invalid token")
                }
            }
            _ => Token::Error("invalid token"),
        };
        // An error token reports where the parser stopped.
        let index = if matches!(token, Token::Error(_)) {
            self.pos
        } else {
            start
        };
        (token, index)
    }

    /// `json_is_invalid_number`: forms strtod accepts but JSON does not.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.pos;
        match self.at(p) {
            b'+' => return true,
            b'-' => p += 1,
            _ => {}
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return c2 | 0x20 == b'x' || c2.is_ascii_digit();
        }
        // `*p <= '9'` on a signed char: bytes from 0x80 count as small.
        if (c as i8) <= b'9' as i8 {
            return false;
        }
        self.starts_with_nocase(p, b"inf") || self.starts_with_nocase(p, b"nan")
    }

    fn number_token(&mut self) -> Token {
        match strtod(self, self.pos) {
            Some((value, end)) => {
                self.pos = end;
                Token::Number(value)
            }
            None => Token::Error("invalid number"),
        }
    }

    fn string_token(&mut self) -> Token {
        self.pos += 1;
        let mut s = Vec::new();
        loop {
            let ch = self.at(self.pos);
            match ch {
                b'"' => break,
                0 => return Token::Error("unexpected end of string"),
                b'\\' => {
                    let translated = match self.at(self.pos + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => 12,
                        b'r' => b'\r',
                        b'u' => {
                            if !self.unicode_escape(&mut s) {
                                return Token::Error("invalid unicode escape code");
                            }
                            continue;
                        }
                        _ => return Token::Error("invalid escape code"),
                    };
                    s.push(translated);
                    self.pos += 2;
                }
                _ => {
                    s.push(ch);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        Token::Str(s)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        (0..4).try_fold(0, |acc, k| Some((acc << 4) | hex_digit(self.at(at + k))?))
    }

    /// `\uXXXX` (and a following low surrogate) appended as UTF-8.
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(mut code) = self.hex4(self.pos + 2) else {
            return false;
        };
        let mut len = 6;
        if code & 0xF800 == 0xD800 {
            if code & 0x400 != 0 || self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u'
            {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            code = (((code & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        match code {
            0..=0x7F => out.push(code as u8),
            0x80..=0x7FF => {
                out.extend_from_slice(&[(code >> 6) as u8 | 0xC0, (code & 0x3F) as u8 | 0x80])
            }
            0x800..=0xFFFF => out.extend_from_slice(&[
                (code >> 12) as u8 | 0xE0,
                ((code >> 6) & 0x3F) as u8 | 0x80,
                (code & 0x3F) as u8 | 0x80,
            ]),
            _ => out.extend_from_slice(&[
                (code >> 18) as u8 | 0xF0,
                ((code >> 12) & 0x3F) as u8 | 0x80,
                ((code >> 6) & 0x3F) as u8 | 0x80,
                (code & 0x3F) as u8 | 0x80,
            ]),
        }
        self.pos += len;
        true
    }
}

/// glibc's `strtod` in the C locale: the longest prefix at `start` that is
/// a number (decimal, hexadecimal, `inf`/`infinity`, `nan[(...)]`), with
/// the index after it; `None` when there is none.
fn strtod(p: &Parser<'_>, start: usize) -> Option<(f64, usize)> {
    let mut i = start;
    while matches!(p.at(i), b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = p.at(i) == b'-';
    if matches!(p.at(i), b'+' | b'-') {
        i += 1;
    }
    // Negation, not multiplication: it sets the sign of a NaN too.
    let sign = |v: f64| if negative { -v } else { v };
    if p.starts_with_nocase(i, b"inf") {
        i += 3;
        if p.starts_with_nocase(i, b"inity") {
            i += 5;
        }
        return Some((sign(f64::INFINITY), i));
    }
    if p.starts_with_nocase(i, b"nan") {
        i += 3;
        if p.at(i) == b'(' {
            let mut j = i + 1;
            while p.at(j).is_ascii_alphanumeric() || p.at(j) == b'_' {
                j += 1;
            }
            if p.at(j) == b')' {
                i = j + 1;
            }
        }
        return Some((sign(f64::NAN), i));
    }
    if p.at(i) == b'0' && p.at(i + 1) | 0x20 == b'x' {
        if let Some((value, end)) = hex_float(p, i + 2) {
            return Some((sign(value), end));
        }
    }
    let digits_start = i;
    let mut digits = 0;
    while p.at(i).is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if p.at(i) == b'.' {
        i += 1;
        while p.at(i).is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if p.at(i) | 0x20 == b'e' {
        let mut j = i + 1;
        if matches!(p.at(j), b'+' | b'-') {
            j += 1;
        }
        if p.at(j).is_ascii_digit() {
            while p.at(j).is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    let text = std::str::from_utf8(&p.data[digits_start..i]).ok()?;
    let value: f64 = text.parse().ok()?;
    Some((sign(value), i))
}

/// The digits of a hexadecimal float after `0x` (none: `None`, and strtod
/// reads just the `0`).
fn hex_float(p: &Parser<'_>, mut i: usize) -> Option<(f64, usize)> {
    let (mut mantissa, mut exponent, mut digits) = (0u64, 0i32, 0);
    let take = |d: u32, fraction: bool, mantissa: &mut u64, exponent: &mut i32| {
        if *mantissa >> 56 == 0 {
            *mantissa = (*mantissa << 4) | d as u64;
            if fraction {
                *exponent -= 4;
            }
        } else if !fraction {
            *exponent += 4;
        }
    };
    while let Some(d) = hex_digit(p.at(i)) {
        take(d, false, &mut mantissa, &mut exponent);
        digits += 1;
        i += 1;
    }
    if p.at(i) == b'.' {
        let mut j = i + 1;
        while let Some(d) = hex_digit(p.at(j)) {
            take(d, true, &mut mantissa, &mut exponent);
            digits += 1;
            j += 1;
        }
        if digits > 0 {
            i = j;
        }
    }
    if digits == 0 {
        return None;
    }
    if p.at(i) | 0x20 == b'p' {
        let mut j = i + 1;
        let negative = p.at(j) == b'-';
        if matches!(p.at(j), b'+' | b'-') {
            j += 1;
        }
        if p.at(j).is_ascii_digit() {
            let mut e: i32 = 0;
            while p.at(j).is_ascii_digit() {
                e = e.saturating_mul(10).saturating_add((p.at(j) - b'0') as i32);
                j += 1;
            }
            exponent = exponent.saturating_add(if negative { -e } else { e });
            i = j;
        }
    }
    Some((mantissa as f64 * 2f64.powi(exponent), i))
}

/// A container being filled while decoding. The innermost one and its
/// pending key are held in Rust, the enclosing ones are parked.
enum Open {
    Array(i64),
    Object,
}

impl Open {
    fn slots(&self) -> usize {
        match self {
            Open::Array(..) => 1,
            Open::Object => 2,
        }
    }
}

fn parse_error(expected: &str, token: &Token, index: usize) -> Fail {
    Fail::Error(format!(
        "Expected {expected} but found {} at character {}",
        token.name(),
        index + 1
    ))
}

/// `json_decode` without recursion (the depth limit can be raised).
fn decode_text(lua: &Lua, config: &Config, data: &[u8]) -> Result<Value, Fail> {
    let mut parser = Parser {
        data,
        pos: 0,
        invalid_numbers: config.decode_invalid_numbers != 0,
    };
    let mut kinds: Vec<Open> = Vec::new();
    let mut parked = Parked { lua, table: None };
    let mut current: Option<Table> = None;
    let mut key = Value::Nil;
    let mut used = 1;
    let (mut token, mut index) = parser.next_token();
    loop {
        // `token` starts a value.
        let mut value = match token {
            Token::Str(s) => Value::String(lua.create_string(s)?),
            Token::Number(n) => Value::Number(n),
            Token::Boolean(b) => Value::Boolean(b),
            Token::Null => Value::NULL,
            Token::ObjBegin | Token::ArrBegin => {
                let object = token == Token::ObjBegin;
                let depth = kinds.len() + 1;
                let slots = if object { 3 } else { 2 };
                if depth > config.decode_max_depth as usize || used + slots > MAX_C_STACK {
                    return Err(Fail::Error(format!(
                        "Found too many nested data structures ({depth}) at character {}",
                        parser.pos
                    )));
                }
                let table = lua.create_table()?;
                let (next, at) = parser.next_token();
                let empty = if object { Token::ObjEnd } else { Token::ArrEnd };
                if next == empty {
                    Value::Table(table)
                } else {
                    if let Some(outer) = current.replace(table) {
                        parked.put(2 * depth - 3, Value::Table(outer))?;
                        parked.put(2 * depth - 2, std::mem::replace(&mut key, Value::Nil))?;
                    }
                    let kind = if object {
                        key = object_key(lua, &mut parser, next, at)?;
                        (token, index) = parser.next_token();
                        Open::Object
                    } else {
                        (token, index) = (next, at);
                        Open::Array(1)
                    };
                    used += kind.slots();
                    kinds.push(kind);
                    continue;
                }
            }
            other => return Err(parse_error("value", &other, index)),
        };
        // Store the finished value and move to the next one.
        loop {
            let (Some(kind), Some(table)) = (kinds.last_mut(), current.as_ref()) else {
                let (end, at) = parser.next_token();
                if end != Token::End {
                    return Err(parse_error("the end", &end, at));
                }
                return Ok(value);
            };
            let (close, what) = match kind {
                Open::Array(i) => {
                    table.raw_set(*i, value)?;
                    *i += 1;
                    (Token::ArrEnd, "comma or array end")
                }
                Open::Object => {
                    table.raw_set(std::mem::replace(&mut key, Value::Nil), value)?;
                    (Token::ObjEnd, "comma or object end")
                }
            };
            let (next, at) = parser.next_token();
            if next == close {
                if let Some(done) = kinds.pop() {
                    used -= done.slots();
                }
                let outer = kinds.len();
                let finished = if outer == 0 {
                    current.take()
                } else {
                    key = parked.take(2 * outer)?;
                    std::mem::replace(&mut current, parked.take_table(2 * outer - 1)?)
                };
                value = finished.map_or(Value::Nil, Value::Table);
                continue;
            }
            if next != Token::Comma {
                return Err(parse_error(what, &next, at));
            }
            (token, index) = parser.next_token();
            if let Some(Open::Object) = kinds.last() {
                key = object_key(
                    lua,
                    &mut parser,
                    std::mem::replace(&mut token, Token::End),
                    index,
                )?;
                (token, index) = parser.next_token();
            }
            break;
        }
    }
}

/// An object key and the colon after it.
fn object_key(
    lua: &Lua,
    parser: &mut Parser<'_>,
    token: Token,
    index: usize,
) -> Result<Value, Fail> {
    let Token::Str(key) = token else {
        return Err(parse_error("object key string", &token, index));
    };
    let (colon, at) = parser.next_token();
    if colon != Token::Colon {
        return Err(parse_error("colon", &colon, at));
    }
    Ok(Value::String(lua.create_string(key)?))
}

fn decode(lua: &Lua, args: &Args, config: &Shared) -> Outcome {
    if args.count() != 1 {
        return Err(Fail::Arg(1, "expected 1 argument".into()));
    }
    let text = match args.get(1) {
        Some(Value::String(_) | Value::Integer(_) | Value::Number(_)) => args.bytes(lua, 1)?,
        _ => return Err(type_error(args, 1, "string")),
    };
    if text.len() >= 2 && (text[0] == 0 || text[1] == 0) {
        return Err(Fail::Error(
            "JSON parser does not support UTF-16 or UTF-32".into(),
        ));
    }
    let settings = *lock(config);
    one(decode_text(lua, &settings, &text)?)
}

/// A cjson module table with its own configuration.
pub(crate) fn module(lua: &Lua, libs: &Libs) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    let config: Shared = Arc::new(Mutex::new(Config::default()));
    let c = config.clone();
    let next: Function = lua.globals().raw_get("next")?;
    libs.add(lua, &table, "encode", move |lua, args| {
        encode(lua, args, &c, &next)
    })?;
    let c = config.clone();
    libs.add(lua, &table, "decode", move |lua, args| {
        decode(lua, args, &c)
    })?;
    configuration(lua, libs, &table, &config)?;
    let factory = libs.clone();
    libs.add(lua, &table, "new", move |lua, _| {
        one(Value::Table(module(lua, &factory)?))
    })?;
    table.raw_set("null", Value::NULL)?;
    table.raw_set("_NAME", "cjson")?;
    table.raw_set("_VERSION", "2.1.0")?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::super::testing::eval;

    #[test]
    fn encode_values() {
        assert_eq!(
            eval("return cjson.encode({1, 2, 'a/b', true, cjson.null})"),
            r#"[1,2,"a\/b",true,null]"#
        );
        assert_eq!(
            eval("return cjson.encode({a = {b = 0.1}})"),
            r#"{"a":{"b":0.1}}"#
        );
        assert_eq!(
            eval("return cjson.encode({[1] = 1, [3] = 3})"),
            "[1,null,3]"
        );
        assert_eq!(eval("return cjson.encode({})"), "{}");
        assert_eq!(
            eval("return cjson.encode('\\1\\127\"')"),
            r#""\u0001\u007f\"""#
        );
        assert_eq!(
            eval("local ok, e = pcall(cjson.encode, {[20] = 1}) return e"),
            "Cannot serialise table: excessively sparse array"
        );
        assert_eq!(
            eval("local ok, e = pcall(cjson.encode, print) return e"),
            "Cannot serialise function: type not supported"
        );
        assert_eq!(
            eval("local ok, e = pcall(cjson.encode, 1/0) return e"),
            "Cannot serialise number: must not be NaN or Inf"
        );
        assert_eq!(
            eval("local t = {} t[1] = t local ok, e = pcall(cjson.encode, t) return e"),
            "Cannot serialise, excessive nesting (1001)"
        );
    }

    #[test]
    fn decode_values() {
        assert_eq!(eval("return cjson.decode('[1, 2.5, \"x\"]')[2]"), "2.5");
        assert_eq!(
            eval("return tostring(cjson.decode('{\"a\": {\"b\": [true]}}').a.b[1])"),
            "true"
        );
        assert_eq!(
            eval("return tostring(cjson.decode('null') == cjson.null)"),
            "true"
        );
        assert_eq!(
            eval("return cjson.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\"')"),
            "é😀"
        );
        assert_eq!(
            eval("local ok, e = pcall(cjson.decode, '[1,]') return e"),
            "Expected value but found T_ARR_END at character 4"
        );
        assert_eq!(
            eval("local ok, e = pcall(cjson.decode, '{\"a\":1,}') return e"),
            "Expected object key string but found T_OBJ_END at character 8"
        );
        assert_eq!(
            eval("local ok, e = pcall(cjson.decode, '') return e"),
            "Expected value but found T_END at character 1"
        );
        assert_eq!(
            eval("local ok, e = pcall(cjson.decode, '[1] x') return e"),
            "Expected the end but found invalid token at character 5"
        );
        assert_eq!(
            eval("local ok, e = pcall(cjson.decode, string.rep('[', 1001)) return e"),
            "Found too many nested data structures (1001) at character 1001"
        );
        assert_eq!(eval("return cjson.decode('0x10')"), "16");
    }

    #[test]
    fn deep_and_wide_data() {
        // Redis's limits come from Lua's C stack (8000 slots), not from Rust's.
        assert_eq!(
            eval("cjson.decode_max_depth(100000) local ok, e = pcall(cjson.decode, string.rep('[', 10000)) return e"),
            "Found too many nested data structures (7999) at character 7999"
        );
        assert_eq!(
            eval("cjson.encode_max_depth(100000) local t = {} t.a = t local ok, e = pcall(cjson.encode, t) return e"),
            "Cannot serialise, excessive nesting (4000)"
        );
        // More values than mlua has reference slots.
        assert_eq!(
            eval("local t = {} for i = 1, 20000 do t['k' .. i] = {i} end local d = cjson.decode(cjson.encode(t)) return d.k19999[1]"),
            "19999"
        );
    }

    #[test]
    fn configuration() {
        assert_eq!(
            eval("return table.concat({tostring(cjson.encode_sparse_array())}, ',')"),
            "false"
        );
        assert_eq!(eval("local a, b, c = cjson.encode_sparse_array(true, 3, 5) return tostring(a) .. b .. c"), "true35");
        assert_eq!(
            eval("cjson.encode_number_precision(3) return cjson.encode(1/3)"),
            "0.333"
        );
        assert_eq!(eval("return cjson.encode_invalid_numbers('null')"), "null");
        assert_eq!(
            eval("cjson.encode_invalid_numbers(true) return cjson.encode({1/0, 0/0})"),
            "[inf,nan]"
        );
        assert_eq!(
            eval("local ok, e = pcall(cjson.encode_number_precision, 15) return e"),
            "bad argument #1 to '?' (expected integer between 1 and 14)"
        );
        assert_eq!(
            eval("local ok, e = pcall(cjson.encode_keep_buffer, 'x') return e"),
            "bad argument #1 to '?' (invalid option 'x')"
        );
        assert_eq!(eval("return cjson.new().encode({1})"), "[1]");
    }
}
