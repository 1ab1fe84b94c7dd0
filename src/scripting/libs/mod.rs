//! The C libraries Redis 7.0 links into its Lua VM, rewritten in Rust for
//! mlua's Lua 5.1: `cjson` (lua-cjson 2.1.0), `cmsgpack` (lua-cmsgpack
//! 0.4.0), `bit` (LuaBitOp 1.0.2) and `struct` (Roberto's struct 0.2 with
//! Redis's bounds checks). Outputs and error texts match Redis byte for byte.
//!
//! ## How errors reach Lua as plain strings
//!
//! An error returned by an mlua callback reaches Lua as a userdata, yet a
//! script's `pcall(cjson.decode, s)` must see a string, exactly as the C
//! library's `luaL_error` produces. So each library function is a Rust
//! callback (`raw`) that *returns* a failure marker with the message, and a
//! small Lua wrapper turns the marker into a real `error(msg, level)`:
//! level 3 points at the wrapper's caller, which is where `luaL_error` in the
//! C function would have pointed (`user_script:1: ...`). Functions with many
//! results (`cmsgpack.unpack`, `struct.unpack`) hand them over in a Lua
//! table that the wrapper unpacks, so that they need no mlua reference each.
//!
//! What a script can still tell apart from Redis:
//! - when it tail-calls a library function (`return cjson.decode(s)`), Lua
//!   5.1 drops the caller's frame for a Lua callee, so the `user_script:N: `
//!   prefix is missing from the error message;
//! - `debug.getinfo(cjson.encode).what` is `"Lua"`, and tracebacks show the
//!   wrapper (chunk [`LIBS_CHUNK`]) where Redis shows `[C]`.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod structlib;

use mlua::{Function, Lua, MaybeSend, MultiValue, Table, Value};

/// The chunk name of the Lua wrappers around the library functions. An
/// error handler that looks up the script's line with `debug.getinfo` (as
/// Redis's `__redis__err__handler` does, skipping one C level) must also
/// skip the frames whose `source` is this: they stand where Redis has the
/// C function.
pub const LIBS_CHUNK: &str = "=[respd lualibs]";

/// The `LUAI_MAXCSTACK` of Lua 5.1: how many slots one C function may use.
/// The C libraries fail (`lua_checkstack`) when they would go past it.
pub(crate) const MAX_C_STACK: usize = 8000;

/// Opens `cjson`, `cmsgpack`, `bit` and `struct` as globals, as Redis's
/// `luaLoadLibraries` does. `bit` and `struct` also land in the registry's
/// `_LOADED` (Redis opens them with `luaL_register`); `cjson` and `cmsgpack`
/// only set their global.
pub fn open_all(lua: &Lua) -> mlua::Result<()> {
    let libs = Libs::new(lua)?;
    let globals = lua.globals();
    globals.raw_set("cjson", cjson::module(lua, &libs)?)?;
    globals.raw_set("cmsgpack", cmsgpack::module(lua, &libs)?)?;
    let bit = bit::module(lua, &libs)?;
    let structlib = structlib::module(lua, &libs)?;
    globals.raw_set("bit", bit.clone())?;
    globals.raw_set("struct", structlib.clone())?;
    if let Ok(Value::Table(loaded)) = lua.named_registry_value::<Value>("_LOADED") {
        loaded.raw_set("bit", bit)?;
        loaded.raw_set("struct", structlib)?;
    }
    Ok(())
}

/// Why a library function failed, in the terms of the Lua C API it mirrors.
#[derive(Debug)]
pub(crate) enum Fail {
    /// `luaL_error`: the message gets the caller's `source:line: ` prefix.
    Error(String),
    /// `luaL_argerror(narg, msg)`: `bad argument #narg to 'name' (msg)`.
    Arg(usize, String),
    /// An error the Lua core raises without position (`table index is nil`).
    Bare(String),
    /// A failure of mlua itself (memory): passed on unchanged.
    Lua(mlua::Error),
}

impl From<mlua::Error> for Fail {
    fn from(e: mlua::Error) -> Self {
        Fail::Lua(e)
    }
}

pub(crate) type Outcome = Result<MultiValue, Fail>;

/// Containers waiting for their inner ones: only the innermost is held in
/// Rust; at depth d the enclosing ones wait in a Lua table (created on
/// first use) at `2d - 1`, with their pending key at `2d`.
pub(crate) struct Parked<'a> {
    pub(crate) lua: &'a Lua,
    pub(crate) table: Option<Table>,
}

impl Parked<'_> {
    pub(crate) fn put(&mut self, slot: usize, value: Value) -> mlua::Result<()> {
        if self.table.is_none() && !value.is_nil() {
            self.table = Some(self.lua.create_table()?);
        }
        match &self.table {
            Some(table) => table.raw_set(slot, value),
            None => Ok(()),
        }
    }

    pub(crate) fn take(&mut self, slot: usize) -> mlua::Result<Value> {
        let Some(table) = &self.table else {
            return Ok(Value::Nil);
        };
        let value: Value = table.raw_get(slot)?;
        table.raw_set(slot, Value::Nil)?;
        Ok(value)
    }

    pub(crate) fn take_table(&mut self, slot: usize) -> mlua::Result<Option<Table>> {
        Ok(match self.take(slot)? {
            Value::Table(table) => Some(table),
            _ => None,
        })
    }
}

/// `luaL_typerror`: `bad argument #n to 'f' (number expected, got nil)`.
pub(crate) fn type_error(args: &Args, n: usize, expected: &str) -> Fail {
    Fail::Arg(n, format!("{expected} expected, got {}", args.type_name(n)))
}

/// What every library needs to build its functions: the failure marker and
/// the Lua wrapper factory.
#[derive(Clone)]
pub(crate) struct Libs {
    fail: Table,
    packed: Table,
    wrap: Function,
}

const WRAPPER: &str = r#"
local FAIL, PACKED, error, rawequal, unpack = ...
return function(raw)
  local function finish(...)
    local first, second, third = ...
    if rawequal(first, FAIL) then error(second, third) end
    if rawequal(first, PACKED) then
      -- unpack(t) leaves one more stack slot for results than unpack(t, 1, n)
      if #second == third then return unpack(second) end
      return unpack(second, 1, third)
    end
    return ...
  end
  return function(...) return finish(raw(...)) end
end
"#;

impl Libs {
    fn new(lua: &Lua) -> mlua::Result<Libs> {
        let fail = lua.create_table()?;
        let packed = lua.create_table()?;
        let globals = lua.globals();
        let error: Function = globals.raw_get("error")?;
        let rawequal: Function = globals.raw_get("rawequal")?;
        let unpack: Function = globals.raw_get("unpack")?;
        let wrap = lua.load(WRAPPER).set_name(LIBS_CHUNK).call::<Function>((
            fail.clone(),
            packed.clone(),
            error,
            rawequal,
            unpack,
        ))?;
        Ok(Libs { fail, packed, wrap })
    }

    /// Results gathered in a Lua table `values[1..=n]`, returned as `n`
    /// values by the wrapper: many results then need no mlua reference each.
    pub(crate) fn packed(&self, values: Table, n: usize) -> Outcome {
        Ok(MultiValue::from_vec(vec![
            Value::Table(self.packed.clone()),
            Value::Table(values),
            Value::Integer(n as i64),
        ]))
    }

    /// A Lua function named `name` (the name used when a tail call hides the
    /// caller's) that runs `body` on its arguments.
    pub(crate) fn function<F>(
        &self,
        lua: &Lua,
        name: &'static str,
        body: F,
    ) -> mlua::Result<Function>
    where
        F: Fn(&Lua, &Args) -> Outcome + MaybeSend + 'static,
    {
        let fail = self.fail.clone();
        let raw = lua.create_function(move |lua, values: MultiValue| {
            let args = Args(values.into_vec());
            let (msg, level) = match body(lua, &args) {
                Ok(results) => return Ok(results),
                Err(Fail::Lua(e)) => return Err(e),
                Err(Fail::Error(msg)) => (msg, 3),
                Err(Fail::Bare(msg)) => (msg, 0),
                Err(Fail::Arg(n, msg)) => (arg_error_text(lua, name, n, &msg), 3),
            };
            Ok(MultiValue::from_vec(vec![
                Value::Table(fail.clone()),
                Value::String(lua.create_string(msg)?),
                Value::Integer(level),
            ]))
        })?;
        self.wrap.call(raw)
    }

    /// Sets `table[name]` to a library function.
    pub(crate) fn add<F>(
        &self,
        lua: &Lua,
        table: &Table,
        name: &'static str,
        body: F,
    ) -> mlua::Result<()>
    where
        F: Fn(&Lua, &Args) -> Outcome + MaybeSend + 'static,
    {
        table.raw_set(name, self.function(lua, name, body)?)
    }
}

/// `luaL_argerror`'s text. The name is the one the caller used for the Lua
/// wrapper (level 1 seen from the raw callback), as `lua_getinfo("n")` gives
/// it for the C function in Redis.
fn arg_error_text(lua: &Lua, field: &str, n: usize, msg: &str) -> String {
    let named = lua
        .inspect_stack(1, |frame| {
            let names = frame.names();
            (names.name.map(|s| s.into_owned()), names.name_what)
        })
        .unwrap_or((None, None));
    let (name, what) = named;
    let name = match name {
        Some(name) => name,
        // A tail call (not pcall) lost the caller: Redis would know the name.
        None if lua.inspect_stack(2, |f| f.source().what == "tail") == Some(true) => {
            field.to_string()
        }
        None => "?".to_string(),
    };
    if what == Some("method") {
        if n == 1 {
            return format!("calling '{name}' on bad self ({msg})");
        }
        return format!("bad argument #{} to '{name}' ({msg})", n - 1);
    }
    format!("bad argument #{n} to '{name}' ({msg})")
}

/// A library function's arguments, read the way the Lua C API reads them.
pub(crate) struct Args(pub(crate) Vec<Value>);

impl Args {
    /// `lua_gettop`.
    pub(crate) fn count(&self) -> usize {
        self.0.len()
    }

    /// Argument `n` (1-based); `None` when absent ("no value").
    pub(crate) fn get(&self, n: usize) -> Option<&Value> {
        n.checked_sub(1).and_then(|i| self.0.get(i))
    }

    pub(crate) fn is_none_or_nil(&self, n: usize) -> bool {
        matches!(self.get(n), None | Some(Value::Nil))
    }

    /// `luaL_typename`.
    pub(crate) fn type_name(&self, n: usize) -> &'static str {
        self.get(n).map_or("no value", type_name)
    }

    /// `lua_tonumber` + `lua_isnumber`: numbers and numeric strings.
    pub(crate) fn to_number(&self, lua: &Lua, n: usize) -> Result<Option<f64>, Fail> {
        Ok(match self.get(n) {
            Some(Value::Integer(i)) => Some(*i as f64),
            Some(Value::Number(x)) => Some(*x),
            Some(v @ Value::String(_)) => lua.coerce_number(v.clone())?,
            _ => None,
        })
    }

    /// `luaL_checknumber`.
    pub(crate) fn number(&self, lua: &Lua, n: usize) -> Result<f64, Fail> {
        self.to_number(lua, n)?
            .ok_or_else(|| type_error(self, n, "number"))
    }

    /// `luaL_checkinteger`: the number cast to `lua_Integer` as C casts it.
    pub(crate) fn integer(&self, lua: &Lua, n: usize) -> Result<i64, Fail> {
        self.number(lua, n).map(c_double_to_i64)
    }

    /// `luaL_optinteger`.
    pub(crate) fn opt_integer(&self, lua: &Lua, n: usize, default: i64) -> Result<i64, Fail> {
        if self.is_none_or_nil(n) {
            return Ok(default);
        }
        self.integer(lua, n)
    }

    /// `luaL_checklstring`: strings, and numbers converted as Lua does.
    pub(crate) fn bytes(&self, lua: &Lua, n: usize) -> Result<Vec<u8>, Fail> {
        match self.get(n) {
            Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
            Some(v @ (Value::Integer(_) | Value::Number(_))) => {
                match lua.coerce_string(v.clone())? {
                    Some(s) => Ok(s.as_bytes().to_vec()),
                    None => Err(type_error(self, n, "string")),
                }
            }
            _ => Err(type_error(self, n, "string")),
        }
    }
}

/// `lua_typename` of a value.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// A Lua number as a double.
pub(crate) fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(x) => Some(*x),
        _ => None,
    }
}

/// `(int64_t)x` on x86-64: out of range and NaN give `INT64_MIN`
/// (`cvttsd2si`), where Rust's `as` would saturate.
pub(crate) fn c_double_to_i64(x: f64) -> i64 {
    if x.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&x) {
        i64::MIN
    } else {
        x as i64
    }
}

/// `(uint64_t)x` as gcc compiles it on x86-64: values from 2^63 on go
/// through a subtraction (2^64 and more give 0), NaN gives 2^63.
pub(crate) fn c_double_to_u64(x: f64) -> u64 {
    const TWO_63: f64 = 9.223_372_036_854_776e18;
    // NaN fails the comparison and takes the signed conversion, as in gcc's code.
    if x.is_nan() || x < TWO_63 {
        c_double_to_i64(x) as u64
    } else {
        (c_double_to_i64(x - TWO_63) as u64) ^ (1 << 63)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use mlua::Lua;

    /// A bare VM with the libraries open; runs `code` and returns its
    /// first result converted to a string by Lua's `tostring`.
    pub(crate) fn eval(code: &str) -> String {
        let lua = Lua::new();
        super::open_all(&lua).unwrap();
        lua.load(code)
            .set_name("@user_script")
            .call::<mlua::Value>(())
            .map(|v| {
                lua.coerce_string(v)
                    .ok()
                    .flatten()
                    .map(|s| s.to_string_lossy())
                    .unwrap_or_default()
            })
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    /// [`eval`] with a Lua function `hex(s)` in scope, to show packed bytes.
    pub(crate) fn hex(code: &str) -> String {
        const HEX: &str = "local function hex(s) return (s:gsub('.', function(c) \
                           return string.format('%02x', c:byte()) end)) end ";
        eval(&format!("{HEX}{code}"))
    }

    #[test]
    fn errors_are_strings_with_the_callers_position() {
        assert_eq!(
            eval("local ok, e = pcall(cjson.decode, 'x') return type(e) .. ' ' .. e"),
            "string Expected value but found invalid token at character 1"
        );
        assert_eq!(
            eval(
                "local ok, e = pcall(function() local v = cjson.decode('x') return v end) return e"
            ),
            "user_script:1: Expected value but found invalid token at character 1"
        );
        assert_eq!(
            eval("local ok, e = pcall(function() local v = bit.band('x') return v end) return e"),
            "user_script:1: bad argument #1 to 'band' (number expected, got string)"
        );
        assert_eq!(
            eval("local ok, e = pcall(bit.band, 'x') return e"),
            "bad argument #1 to '?' (number expected, got string)"
        );
    }
}
