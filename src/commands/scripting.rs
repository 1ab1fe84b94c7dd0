//! Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO, SCRIPT
//! and FUNCTION. The Lua side lives in `crate::scripting` (built with the
//! `scripting` feature); without it the rows stay in the table, so COMMAND
//! lists them, and each answers that scripting is not built in.
//!
//! A script takes the exclusive side of the EXEC gate itself, so the
//! dispatcher does not give these commands the shared side (see
//! `dispatch` in mod.rs).

use super::flags::*;
use super::{Args, CmdResult, Command, Context, NO_KEYS};

#[cfg(not(feature = "scripting"))]
const NOT_BUILT: &str = "ERR respd was built without scripting; rebuild with --features scripting";

/// The commands that run a script (and take the EXEC gate's exclusive side).
pub(super) const RUNS_SCRIPTS: &[&str] = &[
    "eval",
    "evalsha",
    "eval_ro",
    "evalsha_ro",
    "fcall",
    "fcall_ro",
];

const SCRIPT_FLAGS: u32 = NOSCRIPT | STALE;

pub static COMMANDS: &[Command] = &[
    Command::new("eval", -3, SCRIPT_FLAGS, NO_KEYS, "scripting", eval),
    Command::new("evalsha", -3, SCRIPT_FLAGS, NO_KEYS, "scripting", evalsha),
    Command::new(
        "eval_ro",
        -3,
        SCRIPT_FLAGS | READONLY,
        NO_KEYS,
        "scripting",
        eval_ro,
    ),
    Command::new(
        "evalsha_ro",
        -3,
        SCRIPT_FLAGS | READONLY,
        NO_KEYS,
        "scripting",
        evalsha_ro,
    ),
    Command::new("fcall", -3, SCRIPT_FLAGS, NO_KEYS, "scripting", fcall),
    Command::new(
        "fcall_ro",
        -3,
        SCRIPT_FLAGS | READONLY,
        NO_KEYS,
        "scripting",
        fcall_ro,
    ),
    Command::container("script", "scripting", SCRIPT),
    Command::container("function", "scripting", FUNCTION),
];

static SCRIPT: &[Command] = &[
    Command::new(
        "load",
        3,
        NOSCRIPT | STALE,
        NO_KEYS,
        "scripting",
        script_load,
    ),
    Command::new("exists", -3, NOSCRIPT, NO_KEYS, "scripting", script_exists),
    Command::new("flush", -2, NOSCRIPT, NO_KEYS, "scripting", script_flush),
    Command::new(
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        NO_KEYS,
        "scripting",
        script_kill,
    ),
    Command::new(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "scripting",
        script_help,
    ),
];

static FUNCTION: &[Command] = &[
    Command::new(
        "load",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        NO_KEYS,
        "scripting",
        function_load,
    ),
    Command::new("list", -2, NOSCRIPT, NO_KEYS, "scripting", function_list),
    Command::new(
        "delete",
        3,
        WRITE | NOSCRIPT,
        NO_KEYS,
        "scripting",
        function_delete,
    ),
    Command::new(
        "flush",
        -2,
        WRITE | NOSCRIPT,
        NO_KEYS,
        "scripting",
        function_flush,
    ),
    Command::new(
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        NO_KEYS,
        "scripting",
        function_kill,
    ),
    Command::new(
        "stats",
        2,
        NOSCRIPT | ALLOW_BUSY,
        NO_KEYS,
        "scripting",
        function_stats,
    ),
    Command::new("dump", 2, NOSCRIPT, NO_KEYS, "scripting", function_dump),
    Command::new(
        "restore",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        NO_KEYS,
        "scripting",
        function_restore,
    ),
    Command::new(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "scripting",
        function_help,
    ),
];

// SCRIPT HELP
#[cfg(feature = "scripting")]
fn script_help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    super::server::help_reply(
        cx.out,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

// FUNCTION HELP
#[cfg(feature = "scripting")]
fn function_help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    super::server::help_reply(
        cx.out,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}

#[cfg(feature = "scripting")]
mod enabled {
    use super::super::{errors::Error, is, Args, CmdResult, Context};
    use crate::persistence::{self, dump};
    use crate::scripting::{self, functions, Target};

    const FLUSH_SCRIPT_SYNTAX: &str = "ERR SCRIPT FLUSH only support SYNC|ASYNC option";
    const FLUSH_FUNCTION_SYNTAX: &str = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option";

    /// `[ASYNC|SYNC]` of SCRIPT FLUSH and FUNCTION FLUSH.
    fn flush_mode_ok(args: &Args) -> bool {
        match args.len() {
            2 => true,
            3 => is(&args[2], "async") || is(&args[2], "sync"),
            _ => false,
        }
    }

    /// EVAL and its three variants: the script's body or its SHA1, run
    /// read-write or read-only.
    fn run_eval(cx: &mut Context<'_>, args: &Args, by_sha: bool, read_only: bool) -> CmdResult {
        let target = Target::Eval {
            body: &args[1],
            by_sha,
        };
        scripting::run_script(cx, args, target, read_only)
    }

    // EVAL script numkeys [key [key ...]] [arg [arg ...]]
    pub fn eval(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        run_eval(cx, args, false, false)
    }

    // EVALSHA sha1 numkeys [key [key ...]] [arg [arg ...]]
    pub fn evalsha(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        run_eval(cx, args, true, false)
    }

    // EVAL_RO script numkeys [key [key ...]] [arg [arg ...]]
    pub fn eval_ro(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        run_eval(cx, args, false, true)
    }

    // EVALSHA_RO sha1 numkeys [key [key ...]] [arg [arg ...]]
    pub fn evalsha_ro(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        run_eval(cx, args, true, true)
    }

    // FCALL function numkeys [key [key ...]] [arg [arg ...]]
    pub fn fcall(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        scripting::run_script(cx, args, Target::Function(&args[1]), false)
    }

    // FCALL_RO function numkeys [key [key ...]] [arg [arg ...]]
    pub fn fcall_ro(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        scripting::run_script(cx, args, Target::Function(&args[1]), true)
    }

    // SCRIPT LOAD script
    pub fn script_load(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        let sha = scripting::load(cx.shared, &args[2])?;
        cx.out.bulk(sha.as_bytes());
        Ok(())
    }

    // SCRIPT EXISTS sha1 [sha1 ...]
    pub fn script_exists(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        let found = scripting::exists(cx.shared, &args[2..]);
        cx.out.array(found.len());
        for yes in found {
            cx.out.int(i64::from(yes));
        }
        Ok(())
    }

    // SCRIPT FLUSH [ASYNC | SYNC]
    pub fn script_flush(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        if !flush_mode_ok(args) {
            return Err(FLUSH_SCRIPT_SYNTAX.into());
        }
        scripting::flush(cx.shared);
        cx.out.ok();
        Ok(())
    }

    // SCRIPT KILL
    pub fn script_kill(cx: &mut Context<'_>, _: &Args) -> CmdResult {
        scripting::kill(cx.shared, false)?;
        cx.out.ok();
        Ok(())
    }

    // FUNCTION KILL
    pub fn function_kill(cx: &mut Context<'_>, _: &Args) -> CmdResult {
        scripting::kill(cx.shared, true)?;
        cx.out.ok();
        Ok(())
    }

    // FUNCTION LOAD [REPLACE] function-code
    pub fn function_load(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        let (replace, code) = match args.len() {
            3 => (false, &args[2]),
            4 if is(&args[2], "replace") => (true, &args[3]),
            _ => {
                return Err(Error::new(format!(
                    "ERR Unknown option given: {}",
                    String::from_utf8_lossy(&args[2])
                )))
            }
        };
        let name = scripting::with_vm(cx.shared, |vm| {
            functions::load(vm, cx.shared, code, replace)
        })?;
        persistence::count_change(cx.shared);
        cx.out.bulk(name.as_bytes());
        Ok(())
    }

    // FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
    pub fn function_list(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        let mut pattern = None;
        let mut with_code = false;
        let mut i = 2;
        while i < args.len() {
            // Each option once: a second one is an unknown argument.
            if !with_code && is(&args[i], "withcode") {
                with_code = true;
            } else if pattern.is_none() && is(&args[i], "libraryname") {
                i += 1;
                let name = args
                    .get(i)
                    .ok_or(Error::from("ERR library name argument was not given"))?;
                pattern = Some(name.as_slice());
            } else {
                return Err(Error::new(format!(
                    "ERR Unknown argument {}",
                    String::from_utf8_lossy(&args[i])
                )));
            }
            i += 1;
        }
        let out = &mut *cx.out;
        scripting::with_vm(cx.shared, |vm| {
            functions::list(vm, out, pattern, with_code);
            Ok(())
        })
    }

    // FUNCTION DELETE library-name
    pub fn function_delete(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        scripting::with_vm(cx.shared, |vm| functions::delete(vm, &args[2]))?;
        persistence::count_change(cx.shared);
        cx.out.ok();
        Ok(())
    }

    // FUNCTION FLUSH [ASYNC | SYNC]
    pub fn function_flush(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        if args.len() > 3 {
            return Err(Error::new(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
                String::from_utf8_lossy(&args[1])
            )));
        }
        if !flush_mode_ok(args) {
            return Err(FLUSH_FUNCTION_SYNTAX.into());
        }
        scripting::with_vm(cx.shared, |vm| {
            functions::flush(vm);
            Ok(())
        })?;
        persistence::count_change(cx.shared);
        cx.out.ok();
        Ok(())
    }

    // FUNCTION DUMP
    pub fn function_dump(cx: &mut Context<'_>, _: &Args) -> CmdResult {
        let codes = scripting::with_vm(cx.shared, |vm| Ok(vm.libraries.codes()))?;
        cx.out.bulk(&dump::serialize_libraries(&codes));
        Ok(())
    }

    // FUNCTION RESTORE serialized-value [FLUSH | APPEND | REPLACE]
    pub fn function_restore(cx: &mut Context<'_>, args: &Args) -> CmdResult {
        use functions::RestorePolicy;
        let policy = match args.get(3) {
            _ if args.len() > 4 => {
                return Err(Error::new(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
                String::from_utf8_lossy(&args[1])
            )))
            }
            None => RestorePolicy::Append,
            Some(word) if is(word, "append") => RestorePolicy::Append,
            Some(word) if is(word, "replace") => RestorePolicy::Replace,
            Some(word) if is(word, "flush") => RestorePolicy::Flush,
            Some(_) => return Err(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."
                    .into(),
            ),
        };
        let codes = dump::deserialize_libraries(&args[2])?;
        scripting::with_vm(cx.shared, |vm| {
            functions::restore(vm, cx.shared, &codes, policy)
        })?;
        persistence::count_change(cx.shared);
        cx.out.ok();
        Ok(())
    }

    // FUNCTION STATS
    pub fn function_stats(cx: &mut Context<'_>, _: &Args) -> CmdResult {
        scripting::refuse_during_eval(cx.shared)?;
        let (libraries, functions) = cx.shared.scripting.library_counts();
        let out = &mut *cx.out;
        out.map(2);
        out.bulk(b"running_script");
        match scripting::running_function(cx.shared) {
            Some((name, command, millis)) => {
                out.map(3);
                out.bulk(b"name");
                out.bulk(name.as_bytes());
                out.bulk(b"command");
                out.bulks(command.iter().map(Vec::as_slice));
                out.bulk(b"duration_ms");
                out.int(millis as i64);
            }
            None => out.null(),
        }
        out.bulk(b"engines");
        out.map(1);
        out.bulk(b"LUA");
        out.map(2);
        out.bulk(b"libraries_count");
        out.int(libraries as i64);
        out.bulk(b"functions_count");
        out.int(functions as i64);
        Ok(())
    }
}

#[cfg(feature = "scripting")]
use enabled::*;

/// Without the feature every scripting command gives the same answer.
#[cfg(not(feature = "scripting"))]
fn not_built(_: &mut Context<'_>, _: &Args) -> CmdResult {
    Err(NOT_BUILT.into())
}

#[cfg(not(feature = "scripting"))]
use self::{
    not_built as eval, not_built as evalsha, not_built as eval_ro, not_built as evalsha_ro,
    not_built as fcall, not_built as fcall_ro, not_built as script_load,
    not_built as script_exists, not_built as script_kill, not_built as function_load,
    not_built as function_list, not_built as function_delete, not_built as function_flush,
    not_built as function_kill, not_built as function_stats, not_built as function_dump,
    not_built as function_restore, not_built as script_flush, not_built as script_help,
    not_built as function_help,
};
