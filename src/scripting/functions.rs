//! FUNCTION libraries: `#!lua name=<lib>` code that registers functions
//! with `redis.register_function` when FUNCTION LOAD runs it; FCALL then
//! calls them by name with (keys, args).

use std::sync::atomic::Ordering;

use mlua::{Function, Lua, Table, Value, Variadic};

use super::{api, Vm};
use crate::commands::Error;
use crate::resp::Reply;
use crate::shared::Shared;

pub(crate) const NOT_FOUND: &str = "ERR Function not found";
pub(crate) const WRITE_FLAG_RO: &str =
    "ERR Can not execute a script with write flag using *_ro command.";
const MISSING_METADATA: &str = "ERR Missing library metadata";
const INVALID_METADATA: &str = "ERR Invalid library metadata";
const NO_NAME: &str = "ERR Library name was not given";
const BAD_NAME: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
const NO_FUNCTIONS: &str = "ERR No functions registered";
/// Raised by the VM's hook when a library's top level runs too long.
pub(crate) const LOAD_TIMEOUT: &str = "ERR FUNCTION LOAD timeout";
/// How long FUNCTION LOAD may run a library's top level, as Redis.
const LOAD_TIMEOUT_MS: u64 = 500;
const LIBRARY_NOT_FOUND: &str = "ERR Library not found";

/// The flags a function may declare, as FUNCTION LIST shows them.
const FLAGS: &[&str] = &[
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

/// One registered function.
#[derive(Debug, Clone)]
pub(crate) struct FunctionDef {
    pub name: String,
    pub function: Function,
    pub description: Option<String>,
    pub flags: Vec<&'static str>,
    pub no_writes: bool,
}

/// A loaded library: its code and its functions, in registration order.
#[derive(Debug)]
pub(crate) struct Library {
    name: String,
    code: Vec<u8>,
    functions: Vec<FunctionDef>,
}

/// Every library, in load order.
#[derive(Debug, Default)]
pub(crate) struct Libraries {
    libraries: Vec<Library>,
}

impl Libraries {
    pub fn len(&self) -> usize {
        self.libraries.len()
    }

    pub fn function_count(&self) -> usize {
        self.libraries.iter().map(|l| l.functions.len()).sum()
    }

    pub fn code_bytes(&self) -> usize {
        self.libraries.iter().map(|l| l.code.len()).sum()
    }

    /// The code of every library, in load order (saved with the data).
    pub fn codes(&self) -> Vec<Vec<u8>> {
        self.libraries.iter().map(|l| l.code.clone()).collect()
    }

    /// The function called `name` (FCALL).
    pub fn find(&self, name: &[u8]) -> Option<&FunctionDef> {
        self.libraries
            .iter()
            .flat_map(|l| &l.functions)
            .find(|f| f.name.as_bytes().eq_ignore_ascii_case(name))
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Reads the `#!<engine> name=<lib>` line: the library's name. Redis
/// reads the options first, then the name, then the engine.
fn library_name(code: &[u8]) -> Result<String, Error> {
    if !code.starts_with(b"#!") {
        return Err(MISSING_METADATA.into());
    }
    let end = code
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(Error::from(INVALID_METADATA))?;
    // Split as Redis's sdssplitargs does (quotes included).
    let parts: Vec<String> = crate::util::split_args(&code[..end])
        .ok()
        .filter(|parts| !parts.is_empty())
        .ok_or(Error::from(INVALID_METADATA))?
        .iter()
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect();
    let engine = parts[0].get(2..).unwrap_or("").to_string();
    let mut name = None;
    for part in &parts[1..] {
        let value = part
            .get(..5)
            .filter(|prefix| prefix.eq_ignore_ascii_case("name="))
            .map(|_| &part[5..]);
        match value {
            Some(_) if name.is_some() => {
                return Err(
                    "ERR Invalid metadata value, name argument was given multiple times".into(),
                )
            }
            Some(value) => name = Some(value.to_string()),
            None => {
                return Err(Error::new(format!(
                    "ERR Invalid metadata value given: {part}"
                )))
            }
        }
    }
    let name = name.ok_or(Error::from(NO_NAME))?;
    if !valid_name(&name) {
        return Err(BAD_NAME.into());
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(Error::new(format!("ERR Engine '{engine}' not found")));
    }
    Ok(name)
}

/// FUNCTION LOAD [REPLACE] code: returns the library's name.
pub(crate) fn load(
    vm: &mut Vm,
    shared: &Shared,
    code: &[u8],
    replace: bool,
) -> Result<String, Error> {
    let mut libraries = std::mem::take(&mut vm.libraries);
    let result = load_into(vm, &mut libraries, shared, code, replace);
    vm.libraries = libraries;
    // A load leaves a compiled chunk (and maybe a replaced library) behind:
    // collected at once, so that used_memory_lua stays what scripts hold
    // (Redis keeps functions in a VM of their own).
    let _ = vm.lua.gc_collect();
    result
}

/// Compiles `code` and adds its library to `libraries`.
fn load_into(
    vm: &Vm,
    libraries: &mut Libraries,
    shared: &Shared,
    code: &[u8],
    replace: bool,
) -> Result<String, Error> {
    let name = library_name(code)?;
    let existing = libraries.libraries.iter().position(|l| l.name == name);
    if existing.is_some() && !replace {
        return Err(Error::new(format!("ERR Library '{name}' already exists")));
    }
    let mut lua_code = b"--".to_vec();
    lua_code.extend_from_slice(&code[2..]);
    let chunk = vm
        .lua
        .load(lua_code)
        .set_name("@user_function")
        .set_environment(vm.library_env.clone())
        .into_function()
        .map_err(|e| {
            Error::new(format!(
                "ERR Error compiling function: {}",
                api::lua_error_text(&e)
            ))
        })?;
    let registered = std::cell::RefCell::new(Vec::<FunctionDef>::new());
    let deadline = &shared.scripting.run.load_deadline_ms;
    deadline.store(crate::util::now_ms() + LOAD_TIMEOUT_MS, Ordering::Release);
    let outcome = vm.lua.scope(|scope| {
        let api_table = loading_api(&vm.lua)?;
        api_table.raw_set(
            "log",
            scope.create_function(|_, args: Variadic<Value>| api::redis_log(shared, args))?,
        )?;
        api_table.raw_set(
            "register_function",
            scope.create_function(|_, args: Variadic<Value>| {
                let function = register_args(args)?;
                let mut registered = registered.borrow_mut();
                if registered.iter().any(|f| f.name == function.name) {
                    return Err(mlua::Error::RuntimeError(
                        "ERR Function already exists in the library".into(),
                    ));
                }
                registered.push(function);
                Ok(())
            })?,
        )?;
        let (ok, error): (bool, Value) = vm.library_loader.call((chunk, api_table))?;
        Ok((ok, error))
    });
    deadline.store(0, Ordering::Release);
    let (ok, error) = outcome.map_err(|e| {
        Error::new(format!(
            "ERR Error registering functions: {}",
            api::lua_error_text(&e)
        ))
    })?;
    if !ok {
        let message = match &error {
            Value::Table(t) => t
                .raw_get::<Option<String>>("err")
                .ok()
                .flatten()
                .unwrap_or_default(),
            _ => String::new(),
        };
        return Err(Error::new(format!(
            "ERR Error registering functions: {message}"
        )));
    }
    let functions = registered.into_inner();
    if functions.is_empty() {
        return Err(NO_FUNCTIONS.into());
    }
    for function in &functions {
        let taken = libraries
            .libraries
            .iter()
            .filter(|l| l.name != name)
            .flat_map(|l| &l.functions)
            .any(|f| f.name.eq_ignore_ascii_case(&function.name));
        if taken {
            return Err(Error::new(format!(
                "ERR Function {} already exists",
                function.name
            )));
        }
    }
    let library = Library {
        name: name.clone(),
        code: code.to_vec(),
        functions,
    };
    match existing {
        Some(i) => libraries.libraries[i] = library,
        None => libraries.libraries.push(library),
    }
    Ok(name)
}

/// What FUNCTION RESTORE does with the libraries there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RestorePolicy {
    /// Delete them all first.
    Flush,
    /// Keep them; a library of the same name is an error.
    Append,
    /// Keep them; a library of the same name is replaced.
    Replace,
}

/// FUNCTION RESTORE (and the load of a file, with `Flush`): compiles every
/// library of `codes`, then joins them to the loaded ones as `policy` says,
/// all or nothing (Redis's `libraryJoin`).
pub(crate) fn restore(
    vm: &mut Vm,
    shared: &Shared,
    codes: &[Vec<u8>],
    policy: RestorePolicy,
) -> Result<(), Error> {
    let mut restored = Libraries::default();
    for code in codes {
        load_into(vm, &mut restored, shared, code, false)?;
    }
    if policy == RestorePolicy::Flush {
        vm.libraries = restored;
        return Ok(());
    }
    let current = &vm.libraries.libraries;
    if policy == RestorePolicy::Append {
        if let Some(clash) = restored
            .libraries
            .iter()
            .find(|new| current.iter().any(|old| old.name == new.name))
        {
            return Err(Error::new(format!(
                "ERR Library {} already exists",
                clash.name
            )));
        }
    }
    // What stays: the libraries not replaced; their functions must not
    // clash with the restored ones.
    let kept = current
        .iter()
        .filter(|old| !restored.libraries.iter().any(|new| new.name == old.name));
    for old in kept {
        for function in &old.functions {
            if restored.find(function.name.as_bytes()).is_some() {
                return Err(Error::new(format!(
                    "ERR Function {} already exists",
                    function.name
                )));
            }
        }
    }
    for library in restored.libraries {
        let libraries = &mut vm.libraries.libraries;
        match libraries.iter().position(|l| l.name == library.name) {
            Some(i) => libraries[i] = library,
            None => libraries.push(library),
        }
    }
    Ok(())
}

/// The `redis` table a library sees while it loads.
fn loading_api(lua: &Lua) -> mlua::Result<Table> {
    let api = lua.create_table()?;
    let redis: Table = lua.globals().raw_get("redis")?;
    for name in [
        "LOG_DEBUG",
        "LOG_VERBOSE",
        "LOG_NOTICE",
        "LOG_WARNING",
        "REDIS_VERSION",
        "REDIS_VERSION_NUM",
    ] {
        api.raw_set(name, redis.get::<Value>(name)?)?;
    }
    Ok(api)
}

fn runtime(message: &str) -> mlua::Error {
    mlua::Error::RuntimeError(message.to_string())
}

/// `redis.register_function(name, callback)` or
/// `redis.register_function{function_name=, callback=, flags=, description=}`.
fn register_args(args: Variadic<Value>) -> mlua::Result<FunctionDef> {
    let (name, callback, flags, description) = match args.as_slice() {
        [Value::Table(options)] => {
            let mut name = None;
            let mut callback = None;
            let mut flags = Vec::new();
            let mut description = None;
            for pair in options.pairs::<Value, Value>() {
                let (key, value) = pair?;
                let key = match &key {
                    Value::String(s) => s.to_string_lossy(),
                    _ => String::new(),
                };
                match (key.as_str(), value) {
                    ("function_name", Value::String(s)) => name = Some(s.to_string_lossy()),
                    ("function_name", _) => {
                        return Err(runtime("ERR function_name argument given to redis.register_function must be a string"))
                    }
                    ("callback", Value::Function(f)) => callback = Some(f),
                    ("callback", _) => {
                        return Err(runtime("ERR callback argument given to redis.register_function must be a function"))
                    }
                    ("description", Value::String(s)) => description = Some(s.to_string_lossy()),
                    ("description", _) => {
                        return Err(runtime("ERR description argument given to redis.register_function must be a string"))
                    }
                    ("flags", Value::Table(list)) => {
                        for flag in list.sequence_values::<Value>() {
                            let flag = match flag? {
                                Value::String(s) => s.to_string_lossy(),
                                _ => return Err(runtime("ERR unknown flag given")),
                            };
                            let known = FLAGS
                                .iter()
                                .find(|f| **f == flag)
                                .ok_or_else(|| runtime("ERR unknown flag given"))?;
                            if !flags.contains(known) {
                                flags.push(*known);
                            }
                        }
                    }
                    ("flags", _) => return Err(runtime("ERR flags argument to redis.register_function must be a table representing function flags")),
                    _ => {
                        return Err(runtime(
                            "ERR unknown argument given to redis.register_function",
                        ))
                    }
                }
            }
            let name = name.ok_or_else(|| {
                runtime("ERR redis.register_function must get a function name argument")
            })?;
            let callback = callback.ok_or_else(|| {
                runtime("ERR redis.register_function must get a callback argument")
            })?;
            (name, callback, flags, description)
        }
        [_] => {
            return Err(runtime("ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."))
        }
        [name, callback] => {
            let Value::String(name) = name else {
                return Err(runtime(
                    "ERR first argument to redis.register_function must be a string",
                ));
            };
            let Value::Function(callback) = callback else {
                return Err(runtime(
                    "ERR second argument to redis.register_function must be a function",
                ));
            };
            (name.to_string_lossy(), callback.clone(), Vec::new(), None)
        }
        _ => {
            return Err(runtime(
                "ERR wrong number of arguments to redis.register_function",
            ))
        }
    };
    if !valid_name(&name) {
        return Err(runtime(BAD_NAME));
    }
    Ok(FunctionDef {
        no_writes: flags.contains(&"no-writes"),
        name,
        function: callback,
        description,
        flags,
    })
}

/// FUNCTION DELETE.
pub(crate) fn delete(vm: &mut Vm, name: &[u8]) -> Result<(), Error> {
    let libraries = &mut vm.libraries.libraries;
    let index = libraries
        .iter()
        .position(|l| l.name.as_bytes() == name)
        .ok_or(Error::from(LIBRARY_NOT_FOUND))?;
    libraries.remove(index);
    Ok(())
}

/// FUNCTION FLUSH.
pub(crate) fn flush(vm: &mut Vm) {
    vm.libraries.libraries.clear();
    let _ = vm.lua.gc_collect();
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
pub(crate) fn list(vm: &Vm, out: &mut Reply, pattern: Option<&[u8]>, with_code: bool) {
    let libraries: Vec<&Library> = vm
        .libraries
        .libraries
        .iter()
        .filter(|l| {
            pattern.map_or(true, |p| {
                crate::store::glob_match(p, l.name.as_bytes(), true)
            })
        })
        .collect();
    out.array(libraries.len());
    for library in libraries {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(library.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(library.functions.len());
        for function in &library.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(function.name.as_bytes());
            out.bulk(b"description");
            match &function.description {
                Some(text) => out.bulk(text.as_bytes()),
                None => out.null(),
            }
            out.bulk(b"flags");
            out.set(function.flags.len());
            for flag in &function.flags {
                out.simple(flag);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&library.code);
        }
    }
}
