//! Lua scripting (built with the `scripting` feature): EVAL and its
//! family, and FUNCTION libraries, on one Lua 5.1 VM for the whole server.
//!
//! * A script runs as one step: it holds the exclusive side of the EXEC
//!   gate (as EXEC does), so no other client sees the keyspace between two
//!   of its commands. The VM sits behind its own mutex, taken after the gate.
//! * While a script runs, [`RunState`] says since when. Past
//!   `busy-reply-threshold` the dispatcher answers other clients `-BUSY`
//!   at once ([`wait_for_gate`]) and lets SCRIPT KILL through; a Lua hook
//!   sees the kill flag and raises an error the script cannot swallow.
//! * The commands a script calls go through the normal table and
//!   [`crate::commands::run`], so WATCH, keyspace events, MONITOR and the
//!   AOF see them as they see EXEC's.
//!
//! The files: `convert.rs` (Lua values to replies and back), `api.rs` (the
//! `redis` table), `functions.rs` (FUNCTION libraries), `sha1.rs`,
//! `sandbox.lua` (read-only globals, Redis 7.0's error handling) and
//! `libs/` (cjson, cmsgpack, bit, struct).

mod api;
mod convert;
pub(crate) mod functions;
pub mod libs;
mod sha1;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{
    Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLockReadGuard, RwLockWriteGuard, TryLockError,
};

use mlua::{Function, Lua, LuaOptions, StdLib, Table, Value};

use crate::commands::{Args, CmdResult, Context, Error, Resolved};
use crate::shared::Shared;

pub use sha1::sha1_hex;

const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
/// Raised by the hook in a script that SCRIPT KILL stopped.
const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";
const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
const NEGATIVE_KEYS: &str = "ERR Number of keys can't be negative";
const TOO_MANY_KEYS: &str = "ERR Number of keys can't be greater than number of args";
const BAD_NUMKEYS: &str = "ERR Bad number of keys provided";
const VM_FAILED: &str = "ERR the Lua VM could not be started";

/// Every GC_PERIOD scripts, at most GC_STEPS steps of the Lua collector
/// (each ~2 KB of work). Ten keep used_memory_lua at its resting size
/// under a steady stream of small scripts (67 KB after 10,000 INCRs, as
/// with 25); 25 cost a one-command EVALSHA 1.6k more instructions, the
/// live heap every cycle marks being twice Redis's (sandbox and libraries).
const GC_PERIOD: u32 = 50;
const GC_STEPS: u32 = 10;

/// How often (in VM instructions) the hook looks at the kill flag.
const HOOK_EVERY: u32 = 10_000;

/// What other threads may know about the script running now.
#[derive(Debug, Default)]
pub struct RunState {
    /// Unix milliseconds of the start; 0 when no script runs.
    since_ms: AtomicU64,
    /// Set by SCRIPT KILL / FUNCTION KILL; seen by the hook.
    kill: AtomicBool,
    /// Set by SHUTDOWN: the hook stops any script, even one that wrote.
    abort: AtomicBool,
    /// Scripts waiting for or holding the EXEC gate's exclusive side.
    entering: AtomicUsize,
    /// The script ran a write command: it can no longer be killed.
    wrote: AtomicBool,
    /// The script's flags allow it to write over maxmemory.
    pub(crate) allow_oom: AtomicBool,
    /// The script is a function (FCALL), not an EVAL.
    function: AtomicBool,
    /// `redis.setresp(3)` was called.
    resp3: AtomicBool,
    /// The function running and the FCALL that called it (FUNCTION STATS).
    current: Mutex<Option<(String, Vec<Vec<u8>>)>>,
    /// EVAL_RO, FCALL_RO or a `no-writes` script: write commands refused.
    read_only: AtomicBool,
    /// The user of the client running the script (`redis.acl_check_cmd`).
    user: Mutex<Option<Arc<crate::acl::User>>>,
    /// While FUNCTION LOAD runs a library's top level: when it must end
    /// (Unix ms; 0 = no load running). Redis allows 500 ms.
    load_deadline_ms: AtomicU64,
}

impl RunState {
    fn running(&self) -> bool {
        self.since_ms.load(Ordering::Acquire) != 0
    }
}

/// The server's scripting state: the VM and the run state.
#[derive(Debug, Default)]
pub struct Scripting {
    vm: Mutex<Option<Vm>>,
    run: Arc<RunState>,
    /// Libraries and functions loaded (FUNCTION STATS answers while a
    /// function holds the VM).
    counts: Mutex<(usize, usize)>,
    /// The libraries' code, kept beside the VM so that a save never waits
    /// for a running script.
    codes: Mutex<Vec<Vec<u8>>>,
    /// Scripts ended so far and commands sleeping on `script_ended`, the
    /// signal they wait for (see [`wait_for_gate`]).
    ended: Mutex<(u64, usize)>,
    script_ended: Condvar,
    /// INFO memory's figures as last read from the VM: INFO answers with
    /// them while a script holds the VM (INFO called by that very script
    /// included, which would otherwise wait for itself).
    memory: Mutex<MemoryFigures>,
}

use crate::commands::MemoryFigures;

/// A script in the cache: its compiled function and shebang flags.
#[derive(Debug)]
struct Script {
    function: Function,
    flags: ShebangFlags,
}

/// The Lua state and what lives in it.
#[derive(Debug)]
pub(crate) struct Vm {
    lua: Lua,
    /// The real globals table (scripts see a read-only proxy of it).
    globals: Table,
    /// The environment of EVAL scripts.
    env: Table,
    /// The environment of function libraries while they load.
    library_env: Table,
    /// Runs a function under xpcall with Redis's error handler.
    runner: Function,
    /// Runs a library's code with the loading-time `redis` table.
    library_loader: Function,
    /// respd's own values the sandbox uses (the error handler, the error
    /// `redis.call` raised).
    hidden: Table,
    /// The real `redis` table (scripts see a read-only proxy).
    redis: Table,
    scripts: HashMap<String, Script>,
    /// Bytes of script bodies in the cache (INFO used_memory_scripts_eval).
    script_bytes: usize,
    /// Scripts run since the last garbage-collection step (see `call`).
    runs: u32,
    /// `redis.call`, made once: it serves the client of the run under
    /// way through `caller` (a scoped function per run cost more than the
    /// command it called).
    call: Function,
    caller: Arc<Mutex<api::CallerSlot>>,
    /// The session the running client's takes the place of (see
    /// [`Lent`]), kept from run to run.
    spare_session: Option<crate::commands::Session>,
    pub(crate) libraries: functions::Libraries,
    /// `err` and `ok`, the fields of a returned error or status table.
    err_key: mlua::LuaString,
    ok_key: mlua::LuaString,
}

impl Vm {
    fn new(run: Arc<RunState>) -> mlua::Result<Vm> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::default(),
        )?;
        lua.set_app_data(run.clone());
        let run_for_call = run.clone();
        let globals = lua.globals();
        let hidden = lua.create_table()?;
        let pending = hidden.clone();
        hidden.raw_set(
            "handler",
            lua.create_function(move |lua, error| api::error_handler(lua, &pending, error))?,
        )?;
        let redis = api::redis_table(&lua)?;
        // redis.call is one Rust function (made below), which the runner
        // installs for each run and which serves the client whose session
        // is lent to it (see `call`), so that `return redis.call(...)`
        // keeps the script's frame (and errors its line). redis.pcall and
        // redis.log, less used, pass through it.
        let pcall_hidden = hidden.clone();
        let pcall = lua.create_function(move |_, args: mlua::MultiValue| {
            let call: Function = pcall_hidden.raw_get("call")?;
            match call.call::<Value>(args) {
                Err(error) if api::lua_error_text(&error) == api::CALL_FAILED => {
                    let pending: Value = pcall_hidden.raw_get("pending")?;
                    pcall_hidden.raw_set("pending", Value::Nil)?;
                    Ok(pending)
                }
                result => result,
            }
        })?;
        redis.raw_set("pcall", pcall)?;
        let log_hidden = hidden.clone();
        let log = lua.create_function(move |_, args: mlua::MultiValue| {
            let call: Function = log_hidden.raw_get("call")?;
            call.call::<()>((log_hidden.clone(), args))
        })?;
        redis.raw_set("log", log)?;
        // The sandbox's pcall, xpcall, coroutine.resume and load call this
        // when they caught an error: once the script is killed, no error
        // handling may keep it running (Redis re-raises the kill from its
        // hook on every line for the same reason).
        let killed = run.clone();
        hidden.raw_set(
            "check_kill",
            lua.create_function(move |_, ()| {
                if killed.kill.load(Ordering::Acquire) || killed.abort.load(Ordering::Acquire) {
                    return Err(mlua::Error::RuntimeError(KILLED.into()));
                }
                Ok(())
            })?,
        )?;
        globals.raw_set("redis", redis.clone())?;
        math_random(&lua, &globals)?;
        libs::open_all(&lua)?;
        let (env, library_env, runner, library_loader): (Table, Table, Function, Function) = lua
            .load(include_str!("sandbox.lua"))
            .set_name("=respd")
            .call((globals.clone(), hidden.clone()))?;
        // A global hook: coroutines a script creates run under it too.
        lua.set_global_hook(
            mlua::HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_, _| {
                if run.kill.load(Ordering::Acquire) || run.abort.load(Ordering::Acquire) {
                    return Err(mlua::Error::RuntimeError(KILLED.into()));
                }
                let deadline = run.load_deadline_ms.load(Ordering::Acquire);
                if deadline != 0 && crate::util::now_ms() > deadline {
                    return Err(mlua::Error::RuntimeError(functions::LOAD_TIMEOUT.into()));
                }
                Ok(mlua::VmState::Continue)
            },
        )?;
        // The start leaves garbage behind: INFO's used_memory_lua starts
        // from what is live, as Redis's does.
        lua.gc_collect()?;
        let caller = Arc::new(Mutex::new(api::CallerSlot::default()));
        let call = api::call_function(&lua, &caller, &run_for_call, &hidden)?;
        Ok(Vm {
            err_key: lua.create_string("err")?,
            ok_key: lua.create_string("ok")?,
            runs: 0,
            call,
            caller,
            spare_session: None,
            lua,
            globals,
            env,
            library_env,
            runner,
            library_loader,
            hidden,
            redis,
            scripts: HashMap::new(),
            script_bytes: 0,
            libraries: Default::default(),
        })
    }

    /// As Redis: a few collector steps every 50 scripts (and library
    /// loads), so that garbage never piles up to a long full collection.
    pub(crate) fn gc_tick(&mut self) {
        self.runs += 1;
        if self.runs >= GC_PERIOD {
            self.runs = 0;
            for _ in 0..GC_STEPS {
                if self.lua.gc_step().unwrap_or(true) {
                    break;
                }
            }
        }
    }

    /// Compiles `body` as an EVAL script (not cached).
    fn compile(&self, body: &[u8]) -> Result<(Function, ShebangFlags), Error> {
        let (flags, code) = parse_shebang(body)?;
        // Redis's Lua reads every chunk as text: a precompiled one fails on
        // its first byte (see `binary_refused` in sandbox.lua).
        if code.first() == Some(&0x1b) {
            return Err(Error::new(
                "ERR Error compiling script (new function): user_script:1: unexpected symbol near 'char(27)'".to_string(),
            ));
        }
        let function = self
            .lua
            .load(code)
            .set_name("@user_script")
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| {
                Error::new(format!(
                    "ERR Error compiling script (new function): {}",
                    api::lua_error_text(&e)
                ))
            })?;
        Ok((function, flags))
    }

    /// The cached script named `sha`, compiling and caching `body` if new.
    fn cache(&mut self, sha: &str, body: &[u8]) -> Result<&Script, Error> {
        if !self.scripts.contains_key(sha) {
            let (function, flags) = self.compile(body)?;
            self.script_bytes += body.len();
            self.scripts
                .insert(sha.to_string(), Script { function, flags });
        }
        self.scripts.get(sha).ok_or_else(|| NOSCRIPT.into())
    }
}

/// Redis's `math.random` and `math.randomseed`: the rand48 generator of
/// Redis's rand.c, one sequence for the server's life (as in 7.0, which no
/// longer reseeds it for each script).
fn math_random(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    let math: Table = globals.get("math")?;
    // rand.c's initial state: Redis 7.0 never seeds it before scripts run.
    let state = Arc::new(Mutex::new(0x1234_ABCD_330Eu64));
    let seed = state.clone();
    math.set(
        "randomseed",
        lua.create_function(move |_, n: f64| {
            *lock(&seed) = rand48_seed(n as i64 as i32);
            Ok(())
        })?,
    )?;
    math.set(
        "random",
        lua.create_function(move |_, args: mlua::Variadic<f64>| {
            let mut x = lock(&state);
            *x = x.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & 0xFFFF_FFFF_FFFF;
            // Redis: lrand48() % REDIS_LRAND48_MAX / REDIS_LRAND48_MAX.
            let r = ((*x >> 17) as i64 % i32::MAX as i64) as f64 / i32::MAX as f64;
            match args.len() {
                0 => Ok(r),
                1 => {
                    let upper = args[0].trunc();
                    if upper < 1.0 {
                        return Err(mlua::Error::RuntimeError(
                            "bad argument #1 to 'random' (interval is empty)".into(),
                        ));
                    }
                    Ok((r * upper).floor() + 1.0)
                }
                2 => {
                    let (lower, upper) = (args[0].trunc(), args[1].trunc());
                    if lower > upper {
                        return Err(mlua::Error::RuntimeError(
                            "bad argument #2 to 'random' (interval is empty)".into(),
                        ));
                    }
                    Ok((r * (upper - lower + 1.0)).floor() + lower)
                }
                _ => Err(mlua::Error::RuntimeError(
                    "wrong number of arguments".into(),
                )),
            }
        })?,
    )?;
    globals.raw_set("math", math)
}

fn rand48_seed(seed: i32) -> u64 {
    ((seed as u32 as u64) << 16) | 0x330E
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Flags of an EVAL script's `#!lua flags=...` line.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ShebangFlags {
    /// The script has a `#!lua` line: it may write unless it says
    /// `no-writes`, so EVAL_RO refuses it.
    pub shebang: bool,
    pub no_writes: bool,
    /// `allow-oom`: it may write over maxmemory.
    pub allow_oom: bool,
}

impl ShebangFlags {
    /// Whether the script as a whole is refused over maxmemory (Redis's
    /// `scriptFlagsToCmdFlags`): one with flags that may write and does
    /// not allow OOM. Scripts without a shebang are checked per command.
    fn denies_oom(&self) -> bool {
        self.shebang && !self.no_writes && !self.allow_oom
    }
}

/// Reads an EVAL body's shebang line, if any; returns its flags and the
/// code Lua compiles (the shebang line blanked, so line numbers hold).
fn parse_shebang(body: &[u8]) -> Result<(ShebangFlags, Vec<u8>), Error> {
    let mut flags = ShebangFlags::default();
    if !body.starts_with(b"#!") {
        return Ok((flags, body.to_vec()));
    }
    flags.shebang = true;
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[..end]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("#!");
    if engine != "#!lua" {
        return Err(Error::new(format!(
            "ERR Unexpected engine in script shebang: {engine}"
        )));
    }
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(Error::new(format!(
                "ERR Unknown lua shebang option: {part}"
            )));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match flag {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                _ => {
                    return Err(Error::new(format!(
                        "ERR Unexpected flag in script shebang: {flag}"
                    )))
                }
            }
        }
    }
    let mut code = vec![b'-', b'-'];
    code.extend_from_slice(&body[2..]);
    Ok((flags, code))
}

impl Scripting {
    /// The VM, started on first use.
    fn vm(&self) -> Result<MutexGuard<'_, Option<Vm>>, Error> {
        let mut vm = lock(&self.vm);
        if vm.is_none() {
            let started = Vm::new(self.run.clone())
                .map_err(|e| Error::new(format!("{VM_FAILED}: {}", api::lua_error_text(&e))))?;
            *vm = Some(started);
        }
        Ok(vm)
    }

    /// The flags of the script or function a command would run, if it
    /// has them (EVAL's body, EVALSHA's cached script, FCALL's function).
    /// None too while the VM is busy: the command's checks must not wait
    /// for a running script (the command then meets -BUSY, and a script
    /// that writes is refused at its first write instead).
    fn flags_of(&self, resolved: Resolved, args: &Args) -> Option<ShebangFlags> {
        let arg = args.get(1)?;
        let vm = || match self.vm.try_lock() {
            Ok(vm) => Some(vm),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        match resolved.parent {
            "eval" | "eval_ro" => parse_shebang(arg).ok().map(|(flags, _)| flags),
            "evalsha" | "evalsha_ro" => {
                let sha = String::from_utf8_lossy(arg).to_ascii_lowercase();
                let vm = vm()?;
                vm.as_ref()?.scripts.get(&sha).map(|script| script.flags)
            }
            "fcall" | "fcall_ro" => {
                let vm = vm()?;
                let function = vm.as_ref()?.libraries.find(arg)?;
                Some(ShebangFlags {
                    shebang: true,
                    no_writes: function.no_writes,
                    allow_oom: function.flags.contains(&"allow-oom"),
                })
            }
            _ => None,
        }
    }

    /// Stops the running script and any later one (the server is going down).
    pub fn abort(&self) {
        self.run.abort.store(true, Ordering::Release);
    }

    /// (libraries, functions) loaded.
    pub fn library_counts(&self) -> (usize, usize) {
        *lock(&self.counts)
    }

    /// The code of every library, in load order (saves write it).
    pub fn library_codes(&self) -> Vec<Vec<u8>> {
        lock(&self.codes).clone()
    }

    /// What INFO memory reports of the VM (the figures of the last look
    /// while a script runs).
    pub fn memory_figures(&self) -> MemoryFigures {
        match self.vm.try_lock() {
            Ok(vm) => {
                let figures = vm
                    .as_ref()
                    .map_or_else(MemoryFigures::default, |vm| MemoryFigures {
                        lua_bytes: vm.lua.used_memory(),
                        scripts: vm.scripts.len(),
                        script_bytes: vm.script_bytes + vm.scripts.len() * 64,
                        libraries: vm.libraries.len(),
                        functions: vm.libraries.function_count(),
                        function_bytes: vm.libraries.code_bytes(),
                    });
                *lock(&self.memory) = figures;
                figures
            }
            // Busy (a script runs, maybe the caller itself) or poisoned.
            Err(_) => *lock(&self.memory),
        }
    }
}

/// The -BUSY error once the running script has passed
/// `busy-reply-threshold`.
pub(crate) fn busy(shared: &Shared) -> Option<Error> {
    let run = &shared.scripting.run;
    let since = run.since_ms.load(Ordering::Acquire);
    if since == 0 {
        return None;
    }
    let threshold = shared.config().busy_reply_threshold();
    if crate::util::now_ms().saturating_sub(since) < threshold {
        return None;
    }
    let function = run.function.load(Ordering::Acquire);
    Some(if function { BUSY_FUNCTION } else { BUSY_EVAL }.into())
}

/// Called by the dispatcher when the EXEC gate's shared side is not free.
/// While no script holds or awaits the gate (an EXEC does), it simply
/// waits. Otherwise it sleeps until a script ends or the running one
/// could have become slow, so that it can then answer `-BUSY`, or
/// `Ok(None)` for an `allow_busy` command, which runs beside the script
/// without the gate.
pub fn wait_for_gate(
    shared: &Shared,
    allow_busy: bool,
) -> Result<Option<RwLockReadGuard<'_, ()>>, Error> {
    let scripting = &shared.scripting;
    loop {
        let ended = lock(&scripting.ended).0;
        if scripting.run.entering.load(Ordering::Acquire) == 0 {
            return Ok(Some(
                shared
                    .exec_gate
                    .read()
                    .unwrap_or_else(PoisonError::into_inner),
            ));
        }
        if let Some(error) = busy(shared) {
            return if allow_busy { Ok(None) } else { Err(error) };
        }
        match shared.exec_gate.try_read() {
            Ok(gate) => return Ok(Some(gate)),
            Err(TryLockError::Poisoned(poisoned)) => return Ok(Some(poisoned.into_inner())),
            Err(TryLockError::WouldBlock) => {}
        }
        // Until the threshold (or a moment, while the script starts).
        let since = scripting.run.since_ms.load(Ordering::Acquire);
        let threshold = shared.config().busy_reply_threshold();
        let millis = match since {
            0 => 1,
            _ => (since + threshold)
                .saturating_sub(crate::util::now_ms())
                .max(1),
        };
        let mut state = lock(&scripting.ended);
        if state.0 == ended {
            state.1 += 1;
            let (mut state, _) = scripting
                .script_ended
                .wait_timeout(state, std::time::Duration::from_millis(millis))
                .unwrap_or_else(PoisonError::into_inner);
            state.1 -= 1;
        }
    }
}

/// The exclusive side of the EXEC gate for a script; `-BUSY` if another
/// script holds it and is slow.
fn exclusive_gate(shared: &Shared) -> Result<RwLockWriteGuard<'_, ()>, Error> {
    if let Some(error) = busy(shared) {
        return Err(error);
    }
    Ok(shared
        .exec_gate
        .write()
        .unwrap_or_else(PoisonError::into_inner))
}

/// The exclusive side of the EXEC gate as a connection keeps it across the
/// scripts already in its input buffer, as Redis runs a client's whole
/// query buffer in one go: with a pipeline, the next script's thread is
/// woken once per batch, not once per script only to find the gate retaken.
/// The connection lets go before it reads from its socket (so never while
/// it waits for input or sends replies), and the dispatcher before any
/// other command and before anything that waits (CLIENT PAUSE, a shutdown
/// under way). Each script still counts as running on its own (`-BUSY`,
/// SCRIPT KILL, the time limit): between two, none runs.
pub struct ScriptGate<'s> {
    shared: &'s Shared,
    /// The gate, then the count that makes other commands poll for it
    /// (dropped in this order: the gate is free when they are woken).
    held: Option<(RwLockWriteGuard<'s, ()>, Entering<'s>)>,
}

impl<'s> ScriptGate<'s> {
    pub fn new(shared: &'s Shared) -> Self {
        ScriptGate { shared, held: None }
    }
}

impl crate::commands::HeldGate for ScriptGate<'_> {
    fn held(&self) -> bool {
        self.held.is_some()
    }

    fn take(&mut self) -> Result<(), Error> {
        if self.held.is_none() {
            let entering = Entering::new(&self.shared.scripting);
            let gate = exclusive_gate(self.shared)?;
            self.held = Some((gate, entering));
        }
        Ok(())
    }

    fn release(&mut self) {
        self.held = None;
    }
}

/// Counts a script that waits for or holds the gate, until dropped; then
/// wakes the commands waiting for the gate.
struct Entering<'a>(&'a Scripting);

impl<'a> Entering<'a> {
    fn new(scripting: &'a Scripting) -> Self {
        scripting.run.entering.fetch_add(1, Ordering::AcqRel);
        Entering(scripting)
    }
}

impl Drop for Entering<'_> {
    fn drop(&mut self) {
        self.0.run.entering.fetch_sub(1, Ordering::AcqRel);
        let mut state = lock(&self.0.ended);
        state.0 += 1;
        if state.1 > 0 {
            self.0.script_ended.notify_all();
        }
    }
}

/// SCRIPT KILL (`function` false) and FUNCTION KILL (true).
pub fn kill(shared: &Shared, function: bool) -> CmdResult {
    let run = &shared.scripting.run;
    if !run.running() {
        return Err(NOTBUSY.into());
    }
    if run.wrote.load(Ordering::Acquire) {
        return Err(UNKILLABLE.into());
    }
    match (function, run.function.load(Ordering::Acquire)) {
        (false, true) => return Err(BUSY_FUNCTION.into()),
        (true, false) => return Err(BUSY_EVAL.into()),
        _ => {}
    }
    run.kill.store(true, Ordering::Release);
    Ok(())
}

/// What to run: an EVAL script or a function.
pub(crate) enum Target<'a> {
    Eval { body: &'a [u8], by_sha: bool },
    Function(&'a [u8]),
}

/// Keys and arguments of a script call.
type KeysAndArgs<'a> = (&'a [Vec<u8>], &'a [Vec<u8>]);

/// Splits `numkeys key... arg...` (args[2..]) into keys and arguments.
pub(crate) fn split_keys(args: &[Vec<u8>]) -> Result<KeysAndArgs<'_>, Error> {
    let count = crate::commands::int_arg(&args[2])?;
    if count < 0 {
        return Err(NEGATIVE_KEYS.into());
    }
    let rest = &args[3..];
    if count as u64 > rest.len() as u64 {
        return Err(TOO_MANY_KEYS.into());
    }
    Ok(rest.split_at(count as usize))
}

/// EVAL, EVALSHA, FCALL and their _RO twins: runs the script atomically
/// and writes its reply.
pub(crate) fn run_script(
    cx: &mut Context<'_>,
    args: &[Vec<u8>],
    target: Target<'_>,
    read_only: bool,
) -> CmdResult {
    // EVAL checks its key count first; FCALL finds its function first.
    let eval_keys = match target {
        Target::Eval { .. } => Some(split_keys(args)?),
        Target::Function(_) => None,
    };
    let shared = cx.shared;
    // Commands arriving meanwhile poll rather than queue behind us (see
    // `wait_for_gate`). Inside EXEC the gate is already ours.
    // A connection's batch keeps the gate from one script to the next.
    let mut _entering = None;
    let mut _exclusive = None;
    if !cx.session.in_exec {
        match cx.script_gate() {
            Some(batch) => batch.take()?,
            None => {
                _entering = Some(Entering::new(&shared.scripting));
                _exclusive = Some(exclusive_gate(shared)?);
            }
        }
    }
    let mut guard = shared.scripting.vm()?;
    let Some(vm) = guard.as_mut() else {
        return Err(VM_FAILED.into());
    };
    let (function, name, read_only, is_function, ro_refused) = match target {
        Target::Eval { body, by_sha } => {
            // Looked up as given when already lower case (no copy per call).
            let sha: Cow<'_, str> = if !by_sha {
                Cow::Owned(sha1_hex(body))
            } else {
                match std::str::from_utf8(body) {
                    Ok(text) if !text.bytes().any(|b| b.is_ascii_uppercase()) => {
                        Cow::Borrowed(text)
                    }
                    _ => Cow::Owned(String::from_utf8_lossy(body).to_ascii_lowercase()),
                }
            };
            let script = if by_sha {
                vm.scripts.get(sha.as_ref()).ok_or(Error::from(NOSCRIPT))?
            } else {
                vm.cache(&sha, body)?
            };
            let flags = script.flags;
            if read_only && flags.shebang && !flags.no_writes {
                return Err(functions::WRITE_FLAG_RO.into());
            }
            shared
                .scripting
                .run
                .allow_oom
                .store(flags.allow_oom, Ordering::Release);
            (
                script.function.clone(),
                sha,
                read_only || flags.no_writes,
                false,
                false,
            )
        }
        Target::Function(name) => {
            let function = vm
                .libraries
                .find(name)
                .ok_or(Error::from(functions::NOT_FOUND))?;
            // (FCALL_RO of a writing function is refused after the key
            // count is read, below.)
            let allow_oom = function.flags.contains(&"allow-oom");
            shared
                .scripting
                .run
                .allow_oom
                .store(allow_oom, Ordering::Release);
            (
                function.function.clone(),
                Cow::Owned(function.name.clone()),
                read_only || function.no_writes,
                true,
                read_only && !function.no_writes,
            )
        }
    };
    let (keys, argv) = match eval_keys {
        Some(split) => split,
        None => split_keys(args).map_err(|error| {
            // Redis words a key count that is not a number this way here.
            if error.0 == crate::commands::errors::NOT_INTEGER {
                Error::from(BAD_NUMKEYS)
            } else {
                error
            }
        })?,
    };
    if ro_refused {
        return Err(functions::WRITE_FLAG_RO.into());
    }
    let run = shared.scripting.run.clone();
    run.kill.store(false, Ordering::Release);
    run.wrote.store(false, Ordering::Release);
    run.resp3.store(false, Ordering::Release);
    run.read_only.store(read_only, Ordering::Release);
    run.function.store(is_function, Ordering::Release);
    if is_function {
        // Copied into the last call's buffers (FUNCTION STATS reads them
        // only while `since_ms` says a function runs).
        let mut current = lock(&run.current);
        let (saved_name, saved_args) = current.get_or_insert_with(Default::default);
        saved_name.clear();
        saved_name.push_str(&name);
        saved_args.resize_with(args.len(), Vec::new);
        for (saved, arg) in saved_args.iter_mut().zip(args) {
            saved.clear();
            saved.extend_from_slice(arg);
        }
    }
    *lock(&run.user) = Some(cx.session.user.clone());
    let started = crate::util::now_ms().max(1);
    run.since_ms.store(started, Ordering::Release);
    let was_in_exec = std::mem::replace(&mut cx.session.in_exec, true);
    // A tracking client's script reads remember its declared keys (Redis's
    // `script_caller`).
    if cx.session.tracking.is_some() {
        cx.session.script_keys = keys.to_vec();
    }
    let db = cx.session.db;
    let frozen = crate::util::FrozenTime::new(started);
    // A panic below must not leave the script marked running (-BUSY for
    // everyone) nor this client in EXEC mode: clean up, then let it go on
    // to the dispatcher's catch_unwind.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        call(vm, cx, &function, keys, argv, is_function)
    }));
    vm.gc_tick();
    drop(frozen);
    if !was_in_exec {
        crate::persistence::aof::close_script(shared);
    }
    cx.session.in_exec = was_in_exec;
    cx.session.script_keys.clear();
    cx.session.db = db;
    run.since_ms.store(0, Ordering::Release);
    run.kill.store(false, Ordering::Release);
    *lock(&run.user) = None;
    {
        // Kept for the next FCALL, unless large.
        let mut current = lock(&run.current);
        let kept: usize = current
            .as_ref()
            .map_or(0, |(_, args)| args.iter().map(Vec::capacity).sum());
        if kept > 4096 {
            *current = None;
        }
    }
    let outcome = outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    match outcome {
        Ok(Ok(value)) => {
            if let Value::Table(table) = &value {
                // A returned error table is the command's error reply: it
                // counts as a failed call and in the error statistics.
                if let Ok(Value::String(err)) = table.raw_get::<Value>(&vm.err_key) {
                    return Err(Error::new(err.to_string_lossy()));
                }
                // The usual reply of a short script: one more field read
                // with the key made once (a key given as text is interned
                // anew by each read), not write_reply's three.
                if let Ok(Value::String(status)) = table.raw_get::<Value>(&vm.ok_key) {
                    convert::write_status(&status.as_bytes(), cx.out);
                    return Ok(());
                }
            }
            let resp3 = run.resp3.load(Ordering::Acquire);
            convert::write_reply(&value, cx.out, resp3);
            Ok(())
        }
        Ok(Err(error)) => Err(Error::new(api::error_reply_text(&error, &name))),
        Err(error) => Err(Error::new(format!(
            "ERR Error running script {name}, {:.100}",
            api::lua_error_text(&error)
        ))),
    }
}

/// Runs `function` with KEYS/ARGV (EVAL) or (keys, args) (FCALL), with
/// `redis.call` serving this client. The outer result is a failure of the
/// VM itself; the inner one the script's own error (a table or value from
/// xpcall).
fn call(
    vm: &mut Vm,
    cx: &mut Context<'_>,
    function: &Function,
    keys: &[Vec<u8>],
    argv: &[Vec<u8>],
    is_function: bool,
) -> mlua::Result<Result<Value, Value>> {
    let lua = &vm.lua;
    let strings = |items: &[Vec<u8>]| -> mlua::Result<Table> {
        let table = lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            table.raw_seti(i + 1, lua.create_string(item)?)?;
        }
        Ok(table)
    };
    let (keys, argv) = (strings(keys)?, strings(argv)?);
    let Some(shared) = cx.shared.arc() else {
        return Err(mlua::Error::RuntimeError(VM_FAILED.into()));
    };
    let placeholder = match vm.spare_session.take() {
        Some(spare) => spare,
        None => crate::commands::Session::new(cx.session.info.clone(), cx.shared),
    };
    let lent = Lent::new(cx.session, placeholder, shared, &vm.caller);
    let result =
        vm.runner
            .call::<(bool, Value)>((vm.call.clone(), function, keys, argv, !is_function));
    vm.spare_session = lent.give_back();
    let (ok, value) = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            // The runner did not get to clean up.
            for name in ["call", "pending"] {
                vm.hidden.raw_set(name, Value::Nil)?;
            }
            vm.redis.raw_set("call", Value::Nil)?;
            for name in ["KEYS", "ARGV"] {
                vm.globals.raw_set(name, Value::Nil)?;
            }
            return Err(error);
        }
    };
    Ok(if ok { Ok(value) } else { Err(value) })
}

/// The client's session, lent to `redis.call` for one run: a placeholder
/// takes its place meanwhile, and it comes back when the run ends, or when
/// a panic unwinds through (the connection must go on with its own).
struct Lent<'a> {
    session: &'a mut crate::commands::Session,
    slot: &'a Mutex<api::CallerSlot>,
    returned: bool,
}

impl<'a> Lent<'a> {
    fn new(
        session: &'a mut crate::commands::Session,
        placeholder: crate::commands::Session,
        shared: Arc<Shared>,
        slot: &'a Mutex<api::CallerSlot>,
    ) -> Self {
        let client = std::mem::replace(session, placeholder);
        lock(slot).caller = Some(api::Caller {
            shared,
            session: client,
        });
        Lent {
            session,
            slot,
            returned: false,
        }
    }

    /// Puts the client's session back; returns the placeholder.
    fn give_back(mut self) -> Option<crate::commands::Session> {
        self.returned = true;
        self.swap_back()
    }

    fn swap_back(&mut self) -> Option<crate::commands::Session> {
        let caller = lock(self.slot).caller.take()?;
        Some(std::mem::replace(self.session, caller.session))
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if !self.returned {
            self.swap_back();
        }
    }
}

/// SCRIPT LOAD: compiles and caches `body`; returns its SHA-1.
pub(crate) fn load(shared: &Shared, body: &[u8]) -> Result<String, Error> {
    let mut guard = shared.scripting.vm()?;
    let vm = guard.as_mut().ok_or(Error::from(VM_FAILED))?;
    let sha = sha1_hex(body);
    vm.cache(&sha, body)?;
    Ok(sha)
}

/// SCRIPT EXISTS: which of `shas` are cached.
pub(crate) fn exists(shared: &Shared, shas: &[Vec<u8>]) -> Vec<bool> {
    let guard = lock(&shared.scripting.vm);
    shas.iter()
        .map(|sha| {
            guard.as_ref().is_some_and(|vm| {
                vm.scripts
                    .contains_key(&String::from_utf8_lossy(sha).to_ascii_lowercase())
            })
        })
        .collect()
}

/// SCRIPT FLUSH: empties the script cache.
pub(crate) fn flush(shared: &Shared) {
    if let Some(vm) = lock(&shared.scripting.vm).as_mut() {
        vm.scripts.clear();
        vm.script_bytes = 0;
        let _ = vm.lua.gc_collect();
    }
}

/// Runs `f` with the VM (FUNCTION commands).
pub(crate) fn with_vm<R>(
    shared: &Shared,
    f: impl FnOnce(&mut Vm) -> Result<R, Error>,
) -> Result<R, Error> {
    let mut guard = shared.scripting.vm()?;
    let vm = guard.as_mut().ok_or(Error::from(VM_FAILED))?;
    let result = f(vm);
    *lock(&shared.scripting.counts) = (vm.libraries.len(), vm.libraries.function_count());
    *lock(&shared.scripting.codes) = vm.libraries.codes();
    result
}

/// The libraries of a file being loaded replace the loaded ones (all or
/// none); the error is Redis's text without the `ERR ` of a reply.
pub fn replace_libraries(shared: &Shared, codes: &[Vec<u8>]) -> Result<(), String> {
    if codes.is_empty() && lock(&shared.scripting.vm).is_none() {
        return Ok(());
    }
    with_vm(shared, |vm| {
        functions::restore(vm, shared, codes, functions::RestorePolicy::Flush)
    })
    .map_err(|e| e.0.strip_prefix("ERR ").unwrap_or(&e.0).to_string())
}

/// FUNCTION STATS answers -BUSY while an EVAL script runs, as Redis does.
pub(crate) fn refuse_during_eval(shared: &Shared) -> Result<(), Error> {
    let run = &shared.scripting.run;
    if run.running() && !run.function.load(Ordering::Acquire) {
        return Err(BUSY_EVAL.into());
    }
    Ok(())
}

/// FUNCTION STATS' running function: (name, command, milliseconds).
pub(crate) fn running_function(shared: &Shared) -> Option<(String, Vec<Vec<u8>>, u64)> {
    let run = &shared.scripting.run;
    let since = run.since_ms.load(Ordering::Acquire);
    if since == 0 || !run.function.load(Ordering::Acquire) {
        return None;
    }
    let (name, command) = lock(&run.current).clone()?;
    Some((name, command, crate::util::now_ms().saturating_sub(since)))
}

/// Whether a script command is refused as a whole over maxmemory (see
/// [`ShebangFlags::denies_oom`]).
pub fn denies_oom(cx: &Context<'_>, resolved: Resolved, args: &Args) -> bool {
    cx.shared
        .scripting
        .flags_of(resolved, args)
        .is_some_and(|flags| flags.denies_oom())
}

/// Whether a script command counts as a write command as a whole: a
/// shebang script or function without `no-writes` (Redis's
/// `scriptFlagsToCmdFlags`). Scripts without a shebang are checked per
/// command they call.
pub fn may_write(cx: &Context<'_>, resolved: Resolved, args: &Args) -> bool {
    cx.shared
        .scripting
        .flags_of(resolved, args)
        .is_some_and(|flags| flags.shebang && !flags.no_writes)
}

/// True when the script EVAL, EVALSHA or FCALL would run declares
/// `no-writes` (CLIENT PAUSE WRITE lets it through). A script not known
/// yet, or a VM busy running one, counts as one that may write.
pub(crate) fn declares_no_writes(shared: &Shared, command: &str, args: &[Vec<u8>]) -> bool {
    let Some(first) = args.get(1) else {
        return false;
    };
    if command == "eval" {
        return parse_shebang(first).is_ok_and(|(flags, _)| flags.no_writes);
    }
    let Ok(guard) = shared.scripting.vm.try_lock() else {
        return false;
    };
    let Some(vm) = guard.as_ref() else {
        return false;
    };
    match command {
        "evalsha" => {
            let sha = String::from_utf8_lossy(first).to_ascii_lowercase();
            vm.scripts.get(&sha).is_some_and(|s| s.flags.no_writes)
        }
        "fcall" => vm.libraries.find(first).is_some_and(|f| f.no_writes),
        _ => false,
    }
}
