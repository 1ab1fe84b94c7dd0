//! Server commands: CONFIG, DBSIZE, TIME, SAVE, BGSAVE,
//! LASTSAVE, SHUTDOWN, and the little of DEBUG that tests need.

use super::errors::{self, Error};
use super::flags::*;
use super::{is, Args, CmdResult, Command, Context, NO_KEYS};
use crate::persistence::aof::Rewrite;
use crate::persistence::{self, Bgsave};
use crate::resp::Reply;

const NO_CONFIG_FILE: &str = "ERR The server is running without a config file";
const NO_SHUTDOWN: &str = "ERR No shutdown in progress.";
const BGSAVE_RUNNING: &str = "ERR Background save already in progress";
const SHUTDOWN_FAILED: &str = "ERR Errors trying to SHUTDOWN. Check logs.";
const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// The flags Redis gives most administrative subcommands.
const ADMIN_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Command] = &[
    Command::new("dbsize", 1, READONLY | FAST, NO_KEYS, "server", dbsize),
    Command::new("time", 1, LOADING | STALE | FAST, NO_KEYS, "server", time),
    Command::new(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        NO_KEYS,
        "server",
        lastsave,
    ),
    Command::new(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_MULTI,
        NO_KEYS,
        "server",
        save,
    ),
    Command::new("bgsave", -1, ADMIN | NOSCRIPT, NO_KEYS, "server", bgsave),
    Command::new(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT,
        NO_KEYS,
        "server",
        bgrewriteaof,
    ),
    Command::new(
        "shutdown",
        -1,
        ADMIN_FLAGS | NO_MULTI | ALLOW_BUSY,
        NO_KEYS,
        "server",
        shutdown,
    ),
    Command::container("config", "server", CONFIG),
    Command::new("debug", -2, ADMIN_FLAGS, NO_KEYS, "server", debug),
];

static CONFIG: &[Command] = &[
    Command::new("get", -3, ADMIN_FLAGS, NO_KEYS, "server", config_get),
    Command::new("set", -4, ADMIN_FLAGS, NO_KEYS, "server", config_set),
    Command::new(
        "resetstat",
        2,
        ADMIN_FLAGS,
        NO_KEYS,
        "server",
        config_resetstat,
    ),
    Command::new("rewrite", 2, ADMIN_FLAGS, NO_KEYS, "server", config_rewrite),
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "server", config_help),
];

/// Writes a HELP reply as Redis does: a usage line, the entries, then HELP.
pub(super) fn help_reply(out: &mut Reply, command: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        out.simple(line);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

// DEBUG subcommand [argument [argument ...]]
fn debug(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let allowed = match cx.shared.config().get("enable-debug-command") {
        Some("yes") => true,
        Some("local") => cx
            .session
            .info
            .addr
            .parse()
            .is_ok_and(|peer| crate::server::is_local_peer(&peer)),
        _ => false,
    };
    if !allowed {
        return Err(DEBUG_NOT_ALLOWED.into());
    }
    if let Some(result) = super::testing::debug(cx, args) {
        return result;
    }
    let sub = &args[1];
    match args.len() {
        2 if is(sub, "help") => help_reply(
            cx.out,
            "DEBUG",
            &[
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
                "RELOAD",
                "    Save the RDB on disk and reload it back to memory.",
                "ERROR <string>",
                "    Return a Redis protocol error with <string> as message. Useful for clients",
                "    unit tests to simulate Redis errors.",
                "OBJECT <key>",
                "    Show low level info about `key` and associated value.",
                "PROTOCOL <type>",
                "    Reply with a test value of the specified type. <type> can be: string,",
                "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
                "    true, false.",
                "PANIC",
                "    respd only: panic while holding the selected database's write lock.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not",
                "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                "    default.",
                "CLOCK [ADVANCE <ms> | SET <unix-ms> | REAL | FREEZE]",
                "    respd only: read or move this server's clock.",
                "SEED <n>",
                "    respd only: make random replies reproducible.",
                "FAIL-NEXT <n> <error>",
                "    respd only: the next <n> commands of any client fail with -<error>.",
                "RECORD ON|OFF|RESET|GET [WITHMETA]",
                "    respd only: record the commands clients send.",
            ],
        ),
        3 if is(sub, "set-active-expire") => {
            let on = strtod(&args[2]) != 0.0;
            cx.shared
                .active_expire
                .store(on, std::sync::atomic::Ordering::Relaxed);
            cx.out.ok();
        }
        3 if is(sub, "sleep") => {
            // This client's worker sleeps; Redis's whole event loop would.
            let seconds = strtod(&args[2]);
            if seconds > 0.0 {
                std::thread::sleep(std::time::Duration::from_secs_f64(seconds.min(1e9)));
            }
            cx.out.ok();
        }
        3 if is(sub, "object") => super::object::debug_object(cx, &args[2])?,
        // The error as given, for client libraries' tests; written as a
        // reply, not raised, so it counts as no error reply (as Redis).
        3 if is(sub, "error") => cx.out.error(&String::from_utf8_lossy(&args[2])),
        3 if is(sub, "protocol") => debug_protocol(cx, &args[2])?,
        2 if is(sub, "reload") => {
            // Save the dump, empty the store and load it back (a round
            // trip through the RDB format).
            persistence::save(cx.shared).map_err(|e| Error::new(format!("ERR {e}")))?;
            persistence::load(cx.shared).map_err(|e| Error::new(format!("ERR {e}")))?;
            cx.out.ok();
        }
        2 if is(sub, "panic") => {
            // Panic containment under test: the dispatcher must turn this
            // into an error reply and the lock must stay usable.
            let _db = cx.db_mut();
            panic!("DEBUG PANIC");
        }
        _ => {
            return Err(Error::new(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                String::from_utf8_lossy(sub)
            )))
        }
    }
    Ok(())
}

/// DEBUG PROTOCOL <type>: one reply of the given RESP type (what client
/// libraries test their parsers with), as Redis sends it.
fn debug_protocol(cx: &mut Context<'_>, kind: &[u8]) -> CmdResult {
    let out = &mut *cx.out;
    match kind.to_ascii_lowercase().as_slice() {
        b"string" => out.bulk(b"Hello World"),
        b"integer" => out.int(12345),
        // Redis's own test value, not pi.
        #[allow(clippy::approx_constant)]
        b"double" => out.double(3.141),
        b"bignum" => out.big_number(b"1234567999999999999999999999999999999"),
        b"null" => out.null(),
        b"array" => {
            out.array(3);
            (0..3).for_each(|j| out.int(j));
        }
        b"set" => {
            out.set(3);
            (0..3).for_each(|j| out.int(j));
        }
        b"map" => {
            out.map(3);
            for j in 0..3 {
                out.int(j);
                out.boolean(j == 1);
            }
        }
        b"attrib" => {
            // RESP2 has no attributes: the reply alone.
            if out.resp3 {
                out.attribute(1);
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !out.resp3 {
                return Err("ERR RESP2 is not supported by this command".into());
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        b"true" => out.boolean(true),
        b"false" => out.boolean(false),
        b"verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        _ => return Err("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false".into()),
    }
    Ok(())
}

/// C's `strtod` as Redis uses it: the longest numeric prefix, 0 if none.
fn strtod(arg: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(&arg[..arg.len().min(64)]);
    let text = text.trim_start();
    (1..=text.len())
        .rev()
        .filter(|&end| text.is_char_boundary(end))
        .find_map(|end| text[..end].parse::<f64>().ok())
        .filter(|value| value.is_finite())
        .unwrap_or(0.0)
}

// DBSIZE
fn dbsize(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let len = cx.db().len();
    cx.out.int(len as i64);
    Ok(())
}

// TIME
fn time(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let now = std::time::Duration::from_micros(super::info::now_micros() as u64);
    cx.out.array(2);
    cx.out.bulk_int(now.as_secs() as i64);
    cx.out.bulk_int(i64::from(now.subsec_micros()));
    Ok(())
}

// LASTSAVE
fn lastsave(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    // Before the first save, the start of the server (as Redis).
    cx.out.int(cx.shared.persistence.last_save_unix() as i64);
    Ok(())
}

// SAVE
fn save(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    if cx.shared.persistence.bgsave_running() {
        return Err(BGSAVE_RUNNING.into());
    }
    // The reason is in the log; Redis replies a bare -ERR.
    persistence::save(cx.shared).map_err(|_| Error::from("ERR"))?;
    cx.out.ok();
    Ok(())
}

// BGSAVE [SCHEDULE]
fn bgsave(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let schedule = match &args[1..] {
        [] => false,
        [word] if is(word, "schedule") => true,
        _ => return Err(errors::SYNTAX.into()),
    };
    match persistence::bgsave(cx.shared, schedule) {
        Ok(Bgsave::Started) => cx.out.simple("Background saving started"),
        Ok(Bgsave::Scheduled) => cx.out.simple("Background saving scheduled"),
        Ok(Bgsave::AlreadyRunning) => return Err(BGSAVE_RUNNING.into()),
        Err(err) => return Err(Error::new(format!("ERR Can't save in background: {err}"))),
    }
    Ok(())
}

// BGREWRITEAOF
fn bgrewriteaof(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    match persistence::aof::rewrite(cx.shared, false) {
        Ok(Rewrite::Started) => {
            cx.out
                .simple("Background append only file rewriting started");
            Ok(())
        }
        Ok(Rewrite::AlreadyRunning) => Err(persistence::aof::REWRITE_RUNNING.into()),
        Err(err) => {
            let message = format!("Can't rewrite the append only file in background: {err}");
            crate::log::log(cx.shared, crate::log::WARNING, &message);
            Err(Error::new("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.".to_string()))
        }
    }
}

// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]
fn shutdown(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    // Past a slow script only `SHUTDOWN N...` gets through (Redis tests
    // the first letter): saving now would save half a script.
    #[cfg(feature = "scripting")]
    if !(args.len() == 2
        && args[1]
            .first()
            .is_some_and(|b| b.eq_ignore_ascii_case(&b'n')))
    {
        if let Some(busy) = crate::scripting::busy(cx.shared) {
            return Err(busy);
        }
    }
    let (mut save, mut nosave, mut other, mut abort) = (false, false, false, false);
    for arg in &args[1..] {
        match () {
            _ if is(arg, "nosave") => nosave = true,
            _ if is(arg, "save") => save = true,
            _ if is(arg, "now") || is(arg, "force") => other = true,
            _ if is(arg, "abort") => abort = true,
            _ => return Err(errors::SYNTAX.into()),
        }
    }
    if (abort && (save || nosave || other)) || (save && nosave) {
        return Err(errors::SYNTAX.into());
    }
    if abort {
        // A shutdown here is immediate: there is never one to abort.
        return Err(NO_SHUTDOWN.into());
    }
    let flags = crate::shutdown::Flags {
        save,
        nosave,
        now: args[1..].iter().any(|a| is(a, "now")),
        force: args[1..].iter().any(|a| is(a, "force")),
    };
    // The shutdown waits for every other command to finish: this one must
    // not hold the gate meanwhile.
    cx.release_gate();
    if crate::shutdown::shut_down(cx.shared, flags, cx.session.in_exec).is_err() {
        return Err(SHUTDOWN_FAILED.into());
    }
    // Redis exits without replying; the client sees the connection close.
    cx.session.close_after_reply = true;
    Ok(())
}

// ----- CONFIG --------------------------------------------------------------

// CONFIG GET parameter [parameter ...]
fn config_get(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let config = cx.shared.config();
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for pattern in &args[2..] {
        for (name, value) in config.matching(pattern) {
            if !pairs.iter().any(|(n, _)| *n == name) {
                let value = match name {
                    // Redis chdirs to `dir` and reports getcwd(): the
                    // absolute path, never "".
                    "dir" => absolute_dir(value),
                    _ => value.to_string(),
                };
                pairs.push((name, value));
            }
        }
    }
    drop(config);
    cx.out.map(pairs.len());
    for (name, value) in pairs {
        cx.out.bulk(name.as_bytes());
        cx.out.bulk(value.as_bytes());
    }
    Ok(())
}

/// `dir` as an absolute path (respd does not chdir, because servers
/// started inside one test process share the working directory).
fn absolute_dir(dir: &str) -> String {
    let path = std::path::Path::new(if dir.is_empty() { "." } else { dir });
    std::fs::canonicalize(path)
        .map(|path| path.to_string_lossy().into_owned())
        .unwrap_or_else(|_| dir.to_string())
}

// CONFIG SET parameter value [parameter value ...]
fn config_set(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args.len() % 2 != 0 {
        return Err(errors::SYNTAX.into());
    }
    let pairs: Vec<(String, String)> = args[2..]
        .chunks(2)
        .map(|pair| {
            (
                String::from_utf8_lossy(&pair[0]).into_owned(),
                String::from_utf8_lossy(&pair[1]).into_owned(),
            )
        })
        .collect();
    // All or nothing: the changes go to a copy that replaces the
    // configuration only if every one of them is accepted.
    let previous = cx.shared.config().clone();
    let mut updated = previous.clone();
    updated
        .set_many(&pairs)
        .map_err(|failure| Error::new(failure.to_string()))?;
    let new_password = updated.requirepass().map(str::to_string);
    let password_set = pairs
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("requirepass"));
    let listen = |c: &crate::config::Config| (c.get("bind").unwrap_or("").to_string(), c.port());
    let (old_listen, new_listen) = (listen(&previous), listen(&updated));
    *cx.shared.config_mut() = updated;
    crate::notify::configure(cx.shared);
    // port / bind: the TCP listeners move now, as Redis 7.0's do; if the
    // new addresses cannot be bound, the old ones stay and so does the
    // configuration.
    if new_listen != old_listen {
        if let Some(listening) = cx.shared.listening() {
            let (bind, port) = &new_listen;
            if let Err(err) = listening.rebind(bind, *port, &old_listen.0, old_listen.1) {
                crate::log::log(
                    cx.shared,
                    crate::log::WARNING,
                    &format!(
                        "Can't listen on the new addresses: {err}. Restoring previous settings."
                    ),
                );
                *cx.shared.config_mut() = previous;
                crate::notify::configure(cx.shared);
                return Err(Error::new(if new_listen.0 != old_listen.0 {
                    "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.".to_string()
                } else {
                    "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.".to_string()
                }));
            }
            cx.shared
                .port
                .store(*port, std::sync::atomic::Ordering::Relaxed);
        }
    }
    cx.shared.configure_introspection();
    // requirepass is the default user's password.
    if password_set {
        cx.shared.acl.set_default_password(new_password.as_deref());
        cx.shared.users_changed();
    }
    // appendonly yes starts the AOF with a rewrite; no stops it. If that
    // fails, every change is undone, as Redis does.
    if let Err(err) = persistence::aof::apply_config(cx.shared) {
        crate::log::log(
            cx.shared,
            crate::log::WARNING,
            &format!("Can't turn the AOF on: {err}. Restoring previous settings."),
        );
        *cx.shared.config_mut() = previous;
        crate::notify::configure(cx.shared);
        cx.shared.configure_introspection();
        return Err(Error::new(
            "ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs."
                .to_string(),
        ));
    }
    // A lower maxmemory evicts at once, as Redis's CONFIG SET does.
    if pairs
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("maxmemory"))
    {
        let overhead = super::memory::overhead(cx.shared);
        let _ = cx.shared.store.governor.enforce(&cx.shared.store, overhead);
    }
    cx.out.ok();
    Ok(())
}

// CONFIG RESETSTAT
fn config_resetstat(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let shared = cx.shared;
    shared.stats.reset();
    shared.command_stats.reset();
    shared.persistence.reset_stats();
    shared.store.governor.reset_exceeded();
    let syncs = &shared.replication.syncs;
    for counter in [&syncs.full, &syncs.partial_ok, &syncs.partial_err] {
        counter.store(0, std::sync::atomic::Ordering::Relaxed);
    }
    for index in 0..cx.shared.store.len() {
        let mut db = cx.shared.store.write(index);
        db.expired_count = 0;
        db.evicted_count = 0;
    }
    cx.out.ok();
    Ok(())
}

// CONFIG REWRITE
fn config_rewrite(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let config = cx.shared.config();
    if config.file.is_none() {
        return Err(NO_CONFIG_FILE.into());
    }
    // The users are written as `user` lines, unless an ACL file keeps them.
    let users = match config.get("aclfile") {
        Some(path) if !path.is_empty() => Vec::new(),
        _ => cx
            .shared
            .acl
            .users()
            .iter()
            .map(|user| {
                format!(
                    "user {} {}",
                    String::from_utf8_lossy(&user.name),
                    user.describe()
                )
            })
            .collect(),
    };
    config
        .rewrite(&users)
        .map_err(|e| Error::new(format!("ERR Rewriting config file: {e}")))?;
    drop(config);
    cx.out.ok();
    Ok(())
}

// CONFIG HELP
fn config_help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    help_reply(
        cx.out,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}
