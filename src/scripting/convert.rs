//! Conversions between Lua values and replies, as Redis's documentation
//! tables give them: a script's return value becomes the client's reply
//! (in the client's protocol), and a command's reply becomes the value
//! `redis.call` returns (RESP2 forms, or RESP3 forms after
//! `redis.setresp(3)`).

use mlua::{Lua, Table, Value};

use crate::resp::{Frame, Reply};

/// Redis converts a script's reply recursively on the Lua stack and stops
/// with this error where the next value would not fit under Lua's limit of
/// 8000 slots (`lua_checkstack(lua, 4)` fails): a level of array costs one
/// slot, a map value three (its key four), a set member three, and the
/// script's value starts at height 2. respd counts the same heights, so a
/// self-referencing table gives the same 7995 levels, without recursing.
const LUA_STACK_LIMIT: usize = 8000;
const REPLY_BASE_HEIGHT: usize = 2;
const TOO_DEEP: &str = "ERR reached lua stack limit";

/// Writes a script's return value as a reply. `resp3` is the script's
/// protocol (`redis.setresp`), which decides how booleans come out; `out`
/// writes in the client's. Nested tables are walked with an explicit stack:
/// the connection's worker thread has a small one.
pub(super) fn write_reply(value: &Value, out: &mut Reply, resp3: bool) {
    // (The usual reply, a status or a single value, needs no stack.)
    let mut pending = Vec::new();
    write_value(value, REPLY_BASE_HEIGHT, out, resp3, &mut pending);
    while let Some((value, height)) = pending.pop() {
        write_value(&value, height, out, resp3, &mut pending);
    }
}

/// Writes one value of a reply; a table's elements still to write go onto
/// `pending`, last first (the stack pops them in order).
fn write_value(
    value: &Value,
    height: usize,
    out: &mut Reply,
    resp3: bool,
    pending: &mut Vec<(Value, usize)>,
) {
    if height + 4 > LUA_STACK_LIMIT {
        out.error(TOO_DEEP);
        return;
    }
    match value {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) if resp3 => out.boolean(*b),
        Value::Boolean(true) => out.int(1),
        Value::Number(n) => out.int(truncate(*n)),
        Value::Integer(i) => out.int(*i),
        Value::Table(table) => {
            let children = write_table(table, out, height);
            pending.extend(children.into_iter().rev());
        }
        _ => out.null(),
    }
}

/// A Lua number as Redis replies it: truncated toward zero; what does not
/// fit comes out as the smallest integer (the x86 conversion Redis's C
/// cast compiles to).
fn truncate(n: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if n.is_nan() || !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn field(table: &Table, name: &str) -> Value {
    table.raw_get(name).unwrap_or(Value::Nil)
}

/// A status reply (`{ok = ...}`): its text on one line.
pub(super) fn write_status(text: &[u8], out: &mut Reply) {
    out.simple(&String::from_utf8_lossy(&one_line(text)));
}

/// Text for a one-line reply: line breaks become spaces, as Redis does.
fn one_line(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !bytes.iter().any(|&b| b == b'\r' || b == b'\n') {
        return bytes.into();
    }
    bytes
        .iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
        .collect::<Vec<u8>>()
        .into()
}

/// Writes a table's reply header (or the whole reply, for the one-value
/// forms) and returns the values still to write, each with its height on
/// Redis's Lua stack.
fn write_table(table: &Table, out: &mut Reply, height: usize) -> Vec<(Value, usize)> {
    if let Value::String(err) = field(table, "err") {
        out.error(&err.to_string_lossy());
        return Vec::new();
    }
    if let Value::String(ok) = field(table, "ok") {
        write_status(&ok.as_bytes(), out);
        return Vec::new();
    }
    if let Some(n) = super::api::number(&field(table, "double")) {
        out.double(n);
        return Vec::new();
    }
    if let Value::String(big) = field(table, "big_number") {
        let big = big.as_bytes();
        let text = one_line(&big);
        if out.resp3 {
            out.buf.push(b'(');
            out.buf.extend_from_slice(&text);
            out.buf.extend_from_slice(b"\r\n");
        } else {
            out.bulk(&text);
        }
        return Vec::new();
    }
    if let Value::Table(map) = field(table, "map") {
        let pairs: Vec<(Value, Value)> = map.pairs().filter_map(Result::ok).collect();
        out.map(pairs.len());
        return pairs
            .into_iter()
            .flat_map(|(key, value)| [(key, height + 4), (value, height + 3)])
            .collect();
    }
    if let Value::Table(set) = field(table, "set") {
        let members: Vec<Value> = set
            .pairs::<Value, Value>()
            .filter_map(|pair| pair.ok().map(|(k, _)| k))
            .collect();
        out.set(members.len());
        return members.into_iter().map(|m| (m, height + 3)).collect();
    }
    if let Value::Table(verbatim) = field(table, "verbatim_string") {
        if let (Value::String(format), Value::String(text)) =
            (field(&verbatim, "format"), field(&verbatim, "string"))
        {
            let (format, text) = (format.as_bytes(), text.as_bytes());
            if out.resp3 {
                out.buf
                    .extend_from_slice(format!("={}\r\n", text.len() + 4).as_bytes());
                // Always three bytes, as the header counts them (Redis
                // copies three from a NUL-terminated string: pad with NUL).
                let mut kind = [0u8; 3];
                let n = format.len().min(3);
                kind[..n].copy_from_slice(&format[..n]);
                out.buf.extend_from_slice(&kind);
                out.buf.push(b':');
                out.buf.extend_from_slice(&text);
                out.buf.extend_from_slice(b"\r\n");
            } else {
                out.bulk(&text);
            }
            return Vec::new();
        }
    }
    // An array: up to the first nil.
    let items: Vec<Value> = (1..)
        .map(|i| table.raw_get::<Value>(i).unwrap_or(Value::Nil))
        .take_while(|v| !v.is_nil())
        .collect();
    out.array(items.len());
    items.into_iter().map(|item| (item, height + 1)).collect()
}

/// `{name = value}`, sized for its one field.
fn table_with(lua: &Lua, name: &str, value: Value) -> mlua::Result<Value> {
    let table = lua.create_table_with_capacity(0, 1)?;
    table.raw_set(name, value)?;
    Ok(Value::Table(table))
}

/// [`frame_to_lua`] for the replies most calls get (a status line, an
/// integer, a bulk string or its null), read from the reply's bytes
/// without building a frame; None for any other reply.
pub(super) fn simple_reply_to_lua(lua: &Lua, reply: &[u8]) -> Option<mlua::Result<Value>> {
    let line_end = reply.windows(2).position(|pair| pair == b"\r\n")?;
    let (kind, body) = (*reply.first()?, reply.get(1..line_end)?);
    match kind {
        b'+' => {
            let text = std::str::from_utf8(body).ok()?;
            Some(
                lua.create_string(text)
                    .and_then(|s| table_with(lua, "ok", Value::String(s))),
            )
        }
        b':' => Some(Ok(Value::Number(crate::util::parse_i64(body)? as f64))),
        b'$' => {
            let len = crate::util::parse_i64(body)?;
            if len < 0 {
                return Some(Ok(Value::Boolean(false)));
            }
            let start = line_end + 2;
            let data = reply.get(start..start.checked_add(usize::try_from(len).ok()?)?)?;
            Some(lua.create_string(data).map(Value::String))
        }
        _ => None,
    }
}

/// A command's reply as `redis.call` returns it.
pub(super) fn frame_to_lua(lua: &Lua, frame: Frame) -> mlua::Result<Value> {
    let table_with = |name: &str, value: Value| table_with(lua, name, value);
    Ok(match frame {
        Frame::Simple(text) => table_with("ok", Value::String(lua.create_string(text)?))?,
        Frame::Error(text) => table_with("err", Value::String(lua.create_string(text)?))?,
        Frame::Integer(n) => Value::Number(n as f64),
        Frame::Bulk(bytes) => Value::String(lua.create_string(bytes)?),
        Frame::NullBulk | Frame::NullArray => Value::Boolean(false),
        Frame::Null => Value::Nil,
        Frame::Array(items) | Frame::Push(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.into_iter().enumerate() {
                table.raw_set(i + 1, frame_to_lua(lua, item)?)?;
            }
            Value::Table(table)
        }
        Frame::Map(pairs) => {
            let map = lua.create_table()?;
            for (key, value) in pairs {
                map.raw_set(frame_to_lua(lua, key)?, frame_to_lua(lua, value)?)?;
            }
            table_with("map", Value::Table(map))?
        }
        Frame::Set(members) => {
            let set = lua.create_table()?;
            for member in members {
                set.raw_set(frame_to_lua(lua, member)?, true)?;
            }
            table_with("set", Value::Table(set))?
        }
        Frame::Double(n) => table_with("double", Value::Number(n))?,
        Frame::Boolean(b) => Value::Boolean(b),
        Frame::BigNumber(text) => {
            table_with("big_number", Value::String(lua.create_string(text)?))?
        }
        Frame::Verbatim(format, text) => {
            let verbatim = lua.create_table()?;
            verbatim.raw_set("format", format)?;
            verbatim.raw_set("string", lua.create_string(text)?)?;
            table_with("verbatim_string", Value::Table(verbatim))?
        }
        Frame::Attribute(_, inner) => frame_to_lua(lua, *inner)?,
    })
}

#[cfg(test)]
mod tests {
    use super::simple_reply_to_lua;
    use mlua::{Lua, Value};

    #[test]
    fn odd_replies_are_left_to_the_frame_reader() {
        let lua = Lua::new();
        // A line end first, nothing, a bulk shorter than it says: no panic,
        // no value (the frame reader decides).
        for reply in [&b"\r\n"[..], b"", b"$5\r\nab\r\n", b"*1\r\n:1\r\n"] {
            assert!(simple_reply_to_lua(&lua, reply).is_none(), "{reply:?}");
        }
        match simple_reply_to_lua(&lua, b":42\r\n") {
            Some(Ok(Value::Number(n))) => assert_eq!(n, 42.0),
            other => panic!("{other:?}"),
        }
        match simple_reply_to_lua(&lua, b"$2\r\nok\r\n") {
            Some(Ok(Value::String(s))) => assert_eq!(&s.as_bytes()[..], b"ok"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            simple_reply_to_lua(&lua, b"$-1\r\n"),
            Some(Ok(Value::Boolean(false)))
        ));
    }
}
