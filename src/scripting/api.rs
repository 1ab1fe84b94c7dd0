//! The `redis` table scripts see, the error handler that gives errors
//! their place (`script: <sha>, on @user_script:<line>.`), and
//! `redis.call` itself: a command from a script goes through the command
//! table and [`crate::commands::run`], with Redis's checks for scripts.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use mlua::{Lua, Table, Value, Variadic};

use super::{convert, sha1_hex, RunState};
use crate::commands::{flags, Command, Context, Error, NotFound, Session};
use crate::resp::Reply;
use crate::shared::Shared;

const NO_ARGUMENTS: &str = "Please specify at least one argument for this redis lib call";
const BAD_ARGUMENT: &str = "Lua redis lib command arguments must be strings or integers";
const UNKNOWN_COMMAND: &str = "Unknown Redis command called from script";
const WRONG_ARITY: &str = "Wrong number of args calling Redis command from script";
const NOT_ALLOWED: &str = "This Redis command is not allowed from script";
const READ_ONLY: &str = "Write commands are not allowed from read-only scripts.";
const WRONG_ARGS: &str = "ERR wrong number or type of arguments";
/// The Rust error by which `redis.call` raises the error table it leaves
/// in `hidden.pending` (mlua raises Rust errors, not Lua tables).
pub(super) const CALL_FAILED: &str = "respd: redis.call failed";

/// Redis 7.0.15 as `redis.REDIS_VERSION_NUM` gives it: 0x00MMmmpp.
const VERSION_NUM: u32 = 0x07_00_0f;

fn runtime(message: &str) -> mlua::Error {
    mlua::Error::RuntimeError(message.to_string())
}

/// The `redis` table with everything that needs no running script;
/// `call`, `pcall` and `log` are added by `sandbox.lua`.
pub(super) fn redis_table(lua: &Lua) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    redis.set("REDIS_VERSION", crate::REDIS_VERSION)?;
    redis.set("REDIS_VERSION_NUM", VERSION_NUM)?;
    for (name, value) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.set(name, value)?;
    }
    redis.set(
        "sha1hex",
        lua.create_function(|_, args: Variadic<Value>| match args.as_slice() {
            [Value::String(text)] => Ok(sha1_hex(&text.as_bytes())),
            // A number is hashed as Lua writes it.
            [value] => number(value)
                .map(|n| sha1_hex(format_number(n).as_bytes()))
                .ok_or_else(|| runtime("ERR wrong number of arguments")),
            _ => Err(runtime("ERR wrong number of arguments")),
        })?,
    )?;
    redis.set(
        "error_reply",
        lua.create_function(|lua, args: Variadic<Value>| match args.as_slice() {
            [Value::String(text)] => {
                let text = text.to_string_lossy();
                let text = text.strip_prefix('-').unwrap_or(&text);
                error_table(lua, &error_code_text(&format!("-{text}")))
            }
            _ => error_table(lua, WRONG_ARGS),
        })?,
    )?;
    redis.set(
        "status_reply",
        lua.create_function(|lua, args: Variadic<Value>| match args.as_slice() {
            [Value::String(text)] => {
                let table = lua.create_table()?;
                table.raw_set("ok", text.clone())?;
                Ok(table)
            }
            _ => error_table(lua, WRONG_ARGS),
        })?,
    )?;
    redis.set(
        "setresp",
        lua.create_function(|lua, args: Variadic<Value>| {
            let [version] = args.as_slice() else {
                return Err(runtime("ERR redis.setresp() requires one argument."));
            };
            let resp3 = match number(version) {
                Some(n) if n as i64 == 2 => false,
                Some(n) if n as i64 == 3 => true,
                _ => return Err(runtime("ERR RESP version must be 2 or 3.")),
            };
            if let Some(run) = lua.app_data_ref::<std::sync::Arc<RunState>>() {
                run.resp3.store(resp3, Ordering::Release);
            }
            Ok(())
        })?,
    )?;
    redis.set(
        "set_repl",
        lua.create_function(|_, args: Variadic<Value>| {
            let [flags] = args.as_slice() else {
                return Err(runtime("ERR redis.set_repl() requires two arguments."));
            };
            match number(flags) {
                Some(n) if (0.0..=3.0).contains(&n) => Ok(()),
                _ => Err(runtime(
                    "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                )),
            }
        })?,
    )?;
    redis.set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    redis.set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    redis.set(
        "debug",
        lua.create_function(|_, _: Variadic<Value>| Ok(()))?,
    )?;
    redis.set(
        "acl_check_cmd",
        lua.create_function(|lua, args: Variadic<Value>| {
            if args.is_empty() {
                return Err(runtime(
                    "ERR Please specify at least one argument for this redis lib call",
                ));
            }
            let mut command = Vec::with_capacity(args.len());
            for arg in args {
                command.push(match arg {
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Number(n) => crate::util::format_double(n).into_bytes(),
                    Value::Integer(i) => i.to_string().into_bytes(),
                    _ => {
                        return Err(runtime(&format!("ERR {BAD_ARGUMENT}")));
                    }
                });
            }
            // Found as Redis's lookupCommand finds it: arity is not checked.
            let resolved = match crate::commands::find(&command) {
                Ok(resolved) | Err(NotFound::WrongArity(resolved)) => resolved,
                Err(_) => {
                    return Err(runtime(
                        "ERR Invalid command passed to redis.acl_check_cmd()",
                    ))
                }
            };
            let user = lua
                .app_data_ref::<std::sync::Arc<RunState>>()
                .and_then(|run| run.user.lock().ok().and_then(|user| user.clone()));
            Ok(user.map_or(true, |user| {
                user.check(&resolved.full_name(), &command).is_ok()
            }))
        })?,
    )?;
    Ok(redis)
}

/// A Lua number (mlua gives integral ones as `Integer`).
pub(super) fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => Some(*n),
        Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// A number as Lua 5.1's `tostring` writes it (`%.14g`).
fn format_number(n: f64) -> String {
    crate::util::format_g(n, 14)
}

/// `{err = message}`, the form of an error reply in Lua.
pub(super) fn error_table(lua: &Lua, message: &str) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    table.raw_set("err", message)?;
    Ok(table)
}

/// Redis's `luaPushErrorBuff`: `-CODE msg` → `CODE msg`, `msg` → `ERR msg`.
fn error_code_text(message: &str) -> String {
    let text = match message.strip_prefix('-') {
        Some(rest) => match rest.split_once(' ') {
            Some((code, msg)) => format!("{code} {msg}"),
            None => format!("ERR {rest}"),
        },
        None => format!("ERR {message}"),
    };
    text.trim_end_matches(['\r', '\n']).to_string()
}

/// The xpcall message handler: turns any error into Redis's error table
/// `{err=..., source=..., line=...}`, the place being the innermost frame
/// of the script (not of respd's own Lua or of a C function).
pub(super) fn error_handler(lua: &Lua, hidden: &Table, error: Value) -> mlua::Result<Table> {
    let place = script_place(lua);
    let table = match error {
        Value::Table(table) => table,
        // redis.call failed: its error table waits in `hidden.pending`.
        Value::Error(error) if lua_error_text(&error) == CALL_FAILED => {
            let pending: Option<Table> = hidden.raw_get("pending")?;
            hidden.raw_set("pending", Value::Nil)?;
            match pending {
                Some(table) => table,
                None => error_table(lua, "ERR unknown error")?,
            }
        }
        // A Rust function's error: `ERR ...` is Redis's error table;
        // anything else stands for C's luaL_error, which names the place.
        Value::Error(error) => {
            let text = lua_error_text(&error);
            let text = match &place {
                _ if text.starts_with("ERR ") => text,
                Some((source, Some(line))) => {
                    format!("ERR {}:{line}: {text}", source.trim_start_matches('@'))
                }
                _ => format!("ERR {text}"),
            };
            error_table(lua, &text)?
        }
        Value::String(text) => {
            let text = text.to_string_lossy();
            // The sandbox's wrappers stand where Redis has C functions, whose
            // errors name the calling script's line, not the wrapper's.
            let text = match (sandbox_place_len(&text), &place) {
                (Some(len), Some((source, Some(line)))) => {
                    format!(
                        "{}:{line}: {}",
                        source.trim_start_matches('@'),
                        &text[len..]
                    )
                }
                (Some(len), _) => text[len..].to_string(),
                (None, _) => text,
            };
            error_table(lua, &format!("ERR {text}"))?
        }
        other => {
            let tostring: mlua::Function = lua.globals().raw_get("tostring")?;
            let text: String = tostring.call(other).unwrap_or_else(|_| "?".into());
            error_table(lua, &format!("ERR {text}"))?
        }
    };
    if let Some((source, line)) = place {
        table.raw_set("source", source)?;
        if let Some(line) = line {
            table.raw_set("line", line)?;
        }
    }
    Ok(table)
}

/// The length of a `respd:<line>: ` prefix (an error raised in the
/// sandbox's own Lua), if `text` starts with one.
fn sandbox_place_len(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("respd:")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || !rest[digits..].starts_with(": ") {
        return None;
    }
    Some("respd:".len() + digits + 2)
}

/// The innermost frame of the script's own code: (source, line).
fn script_place(lua: &Lua) -> Option<(String, Option<usize>)> {
    for level in 1..32 {
        let (what, source, line) = lua.inspect_stack(level, |debug| {
            let source = debug.source();
            let name = source.source.as_deref().unwrap_or("").to_string();
            (source.what, name, debug.current_line())
        })?;
        // Frames that stand where Redis has C: respd's sandbox and the Lua
        // wrappers of the libraries.
        if what == "C" || what == "tail" || source == "=respd" || source == super::libs::LIBS_CHUNK
        {
            continue;
        }
        return Some((source, line));
    }
    None
}

/// The text of an mlua error without mlua's decorations.
pub(super) fn lua_error_text(error: &mlua::Error) -> String {
    match error {
        mlua::Error::RuntimeError(text) => text.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_error_text(cause),
        mlua::Error::MemoryError(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The error reply of a failed script, from the handler's table:
/// `<err> script: <name>, on <source>:<line>.`
pub(super) fn error_reply_text(error: &Value, name: &str) -> String {
    let Value::Table(table) = error else {
        return format!("ERR Error running script {name}, execution failure");
    };
    let message: String = table
        .raw_get::<Option<mlua::LuaString>>("err")
        .ok()
        .flatten()
        .map(|s| s.to_string_lossy())
        .unwrap_or_else(|| "ERR unknown error".into());
    let source: Option<String> = table.raw_get("source").ok().flatten();
    let line: Option<i64> = table.raw_get("line").ok().flatten();
    match (source, line) {
        (Some(source), Some(line)) => format!("{message} script: {name}, on {source}:{line}."),
        _ => message,
    }
}

/// `redis.log(level, message, ...)`.
pub(super) fn redis_log(shared: &Shared, args: Variadic<Value>) -> mlua::Result<()> {
    if args.len() < 2 {
        return Err(runtime("ERR redis.log() requires two arguments or more."));
    }
    let level = match number(&args[0]) {
        Some(n) if (0.0..4.0).contains(&n) => n as u8,
        _ => return Err(runtime("ERR Invalid debug level.")),
    };
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .filter_map(|v| match v {
            Value::String(s) => Some(s.to_string_lossy()),
            Value::Number(n) => Some(format_number(*n)),
            Value::Integer(i) => Some(i.to_string()),
            _ => None,
        })
        .collect();
    crate::log::log(shared, level, &words.join(" "));
    Ok(())
}

/// The client a running script's `redis.call` serves: its session, lent
/// for the run (see `Lent` in the parent module), and the server.
pub(crate) struct Caller {
    pub(crate) shared: Arc<Shared>,
    pub(crate) session: Session,
}

/// What `redis.call` reaches between runs and during one.
#[derive(Default)]
pub(crate) struct CallerSlot {
    /// Set while a script runs.
    pub(crate) caller: Option<Caller>,
    scratch: Scratch,
}

impl std::fmt::Debug for CallerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallerSlot")
    }
}

/// The one `redis.call` function: redis.log passes the hidden table (out
/// of scripts' reach) first.
pub(super) fn call_function(
    lua: &Lua,
    slot: &Arc<Mutex<CallerSlot>>,
    run: &Arc<RunState>,
    hidden: &Table,
) -> mlua::Result<mlua::Function> {
    let (slot, run, hidden) = (slot.clone(), run.clone(), hidden.clone());
    lua.create_function(move |lua, args: Variadic<Value>| {
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let CallerSlot { caller, scratch } = &mut *slot;
        let Some(caller) = caller.as_mut() else {
            return Err(runtime(
                "ERR redis.call is only available while a script runs",
            ));
        };
        if matches!(args.first(), Some(Value::Table(first)) if *first == hidden) {
            redis_log(&caller.shared, args.into_iter().skip(1).collect())?;
            return Ok(Value::Nil);
        }
        let result = redis_call(lua, caller, &run, &hidden, scratch, args);
        scratch.trim();
        result
    })
}

/// `redis.call`: the reply, or it raises the error table (see
/// [`CALL_FAILED`]; `redis.pcall` turns that back into the table).
fn redis_call(
    lua: &Lua,
    caller: &mut Caller,
    run: &RunState,
    hidden: &Table,
    scratch: &mut Scratch,
    args: Variadic<Value>,
) -> mlua::Result<Value> {
    match command(lua, &caller.shared, &mut caller.session, run, scratch, args)? {
        Ok(reply) => Ok(reply),
        Err(error) => {
            hidden.raw_set("pending", error)?;
            Err(runtime(CALL_FAILED))
        }
    }
}

/// Argument and reply buffers `redis.call` reuses from call to call, so
/// that a call allocates nothing on the Rust side once they have grown.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    args: Vec<Vec<u8>>,
    reply: Vec<u8>,
}

impl Scratch {
    /// What a call may leave behind: a few short arguments and a small
    /// reply (a script that moved a large value gives its buffers back).
    const KEEP_ARGS: usize = 16;
    const KEEP_BYTES: usize = 4096;

    fn trim(&mut self) {
        self.args.truncate(Self::KEEP_ARGS);
        self.args.retain(|arg| arg.capacity() <= Self::KEEP_BYTES);
        if self.reply.capacity() > Self::KEEP_BYTES {
            self.reply = Vec::new();
        }
    }
}

/// Runs a command for a script: Ok(reply) or Err(error table).
fn command(
    lua: &Lua,
    shared: &Shared,
    session: &mut Session,
    run: &RunState,
    scratch: &mut Scratch,
    args: Variadic<Value>,
) -> mlua::Result<Result<Value, Table>> {
    let failed = |message: &str| -> mlua::Result<Result<Value, Table>> {
        Ok(Err(error_table(lua, message)?))
    };
    if args.is_empty() {
        return failed(&format!("ERR {NO_ARGUMENTS}"));
    }
    let count = args.len();
    if scratch.args.len() < count {
        scratch.args.resize_with(count, Vec::new);
    }
    for (arg, bytes) in args.into_iter().zip(scratch.args.iter_mut()) {
        bytes.clear();
        match arg {
            Value::String(s) => bytes.extend_from_slice(&s.as_bytes()),
            // Redis writes numbers with %.17g here (Lua's own tostring
            // uses %.14g).
            Value::Number(n) => bytes.extend_from_slice(crate::util::format_double(n).as_bytes()),
            Value::Integer(i) => bytes.extend_from_slice(i.to_string().as_bytes()),
            _ => return failed(&format!("ERR {BAD_ARGUMENT}")),
        }
    }
    // A call refused before it runs counts as an error reply, and as a
    // rejected call of its command (Redis's scriptCall).
    let rejected = |session: &mut Session, row: Option<&Command>, message: &str| {
        let stats = &shared.command_stats;
        if let Some(row) = row {
            stats.record_rejected(row);
        }
        stats.record_error(message);
        session.errors_counted += 1;
        failed(message)
    };
    let command = &scratch.args[..count];
    let resolved = match crate::commands::find(command) {
        Ok(resolved) => resolved,
        Err(NotFound::WrongArity(resolved)) => {
            return rejected(
                session,
                Some(resolved.command),
                &format!("ERR {WRONG_ARITY}"),
            )
        }
        Err(_) => return rejected(session, None, &format!("ERR {UNKNOWN_COMMAND}")),
    };
    let command_flags = resolved.command.flags;
    let row = Some(resolved.command);
    if command_flags & flags::NOSCRIPT != 0 {
        return rejected(session, row, &format!("ERR {NOT_ALLOWED}"));
    }
    // The script runs with its caller's permissions.
    if !session.user.unrestricted {
        let mut unused = Reply::default();
        let checked = crate::commands::acl_check(
            &Context::new(shared, session, &mut unused),
            &resolved,
            command,
        );
        if let Err(denied) = checked {
            let why = match denied {
                crate::acl::Denied::Key => {
                    "can't access at least one of the keys mentioned in the command arguments"
                }
                crate::acl::Denied::Channel => {
                    "can't publish to the channel mentioned in the command"
                }
                _ => "can't run this command or subcommand",
            };
            return rejected(
                session,
                row,
                &format!("ERR The user executing the script {why}"),
            );
        }
    }
    // Commands that may replicate (PUBLISH...) are writes to a read-only
    // script, as in Redis.
    let may_replicate = matches!(resolved.parent, "publish" | "spublish" | "pfcount");
    if may_replicate && command_flags & flags::WRITE == 0 && run.read_only.load(Ordering::Acquire) {
        return rejected(session, row, &format!("ERR {READ_ONLY}"));
    }
    if command_flags & flags::WRITE != 0 {
        if run.read_only.load(Ordering::Acquire) {
            return rejected(session, row, &format!("ERR {READ_ONLY}"));
        }
        // Once the script has written, the server's state can no longer
        // fail it halfway (Redis's SCRIPT_WRITE_DIRTY).
        if !run.wrote.load(Ordering::Acquire) {
            // A read-only replica takes writes from its master only: a
            // script without a shebang is refused here, at its first write.
            if !session.replication.is_master && crate::replication::replica::read_only(shared) {
                return rejected(session, row, crate::replication::replica::READONLY);
            }
            if crate::persistence::writes_refused(shared) {
                return rejected(session, row, crate::persistence::MISCONF);
            }
            let wanted = session.replication.min_replicas;
            if !crate::replication::enough_good_replicas(shared, wanted) {
                return rejected(session, row, crate::replication::NOREPLICAS);
            }
        }
    }
    // Over maxmemory when the script began, its first write that may use
    // memory is refused (later ones go on: a script never stops halfway).
    if command_flags & flags::DENYOOM != 0
        && session.oom_before_command
        && !run.wrote.load(Ordering::Acquire)
        && !run.allow_oom.load(Ordering::Acquire)
        && shared.store.governor.maxmemory() > 0
    {
        return rejected(session, row, crate::commands::memory::OOM);
    }
    if command_flags & flags::WRITE != 0 {
        run.wrote.store(true, Ordering::Release);
    }
    let mut buf = std::mem::take(&mut scratch.reply);
    buf.clear();
    let mut out = Reply {
        buf,
        resp3: run.resp3.load(Ordering::Acquire),
        ..Reply::default()
    };
    let mut inner = Context::new(shared, session, &mut out);
    inner.session.in_script = true;
    let result = crate::commands::run(&mut inner, resolved, command);
    crate::persistence::aof::release(&mut inner.aof);
    inner.session.in_script = false;
    drop(inner);
    scratch.reply = out.buf;
    if let Err(Error(message)) = result {
        return failed(&error_code_text(&format!("-{message}")));
    }
    // The usual one-line and bulk replies go straight to Lua values.
    if let Some(value) = convert::simple_reply_to_lua(lua, &scratch.reply) {
        return Ok(Ok(value?));
    }
    let frame = crate::resp::read_frame(&mut &scratch.reply[..])
        .ok()
        .flatten()
        .unwrap_or(crate::resp::Frame::Null);
    if let crate::resp::Frame::Error(message) = &frame {
        return failed(&error_code_text(&format!("-{message}")));
    }
    Ok(Ok(convert::frame_to_lua(lua, frame)?))
}
