//! respd-only DEBUG subcommands for test suites in any language (guarded
//! by `enable-debug-command`, as all of DEBUG): the server's clock, its
//! random seed, injected failures and the command record. The same
//! controls in Rust are on [`crate::testing::TestServer`].

use super::errors::{self, Error};
use super::{is, Args, CmdResult, Context};
use crate::util::parse_i64;

/// DEBUG CLOCK, DEBUG SEED, DEBUG FAIL-NEXT, DEBUG RECORD; `None` for any
/// other subcommand (the caller answers it).
pub(super) fn debug(cx: &mut Context<'_>, args: &Args) -> Option<CmdResult> {
    let sub = &args[1];
    let result = if is(sub, "clock") {
        clock(cx, &args[2..])
    } else if is(sub, "seed") {
        seed(cx, &args[2..])
    } else if is(sub, "fail-next") {
        fail_next(cx, &args[2..])
    } else if is(sub, "record") {
        record(cx, &args[2..])
    } else {
        return None;
    };
    Some(result)
}

fn integer(arg: &[u8]) -> Result<i64, Error> {
    parse_i64(arg).ok_or_else(|| errors::NOT_INTEGER.into())
}

fn wrong_arguments(sub: &str) -> Error {
    Error::new(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try DEBUG HELP."
    ))
}

// DEBUG CLOCK [ADVANCE <ms> | SET <unix-ms> | REAL | FREEZE]
fn clock(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let clock = &cx.shared.ambient.clock;
    match args {
        [] => {
            cx.out.int(crate::util::now_ms() as i64);
            return Ok(());
        }
        [verb, ms] if is(verb, "advance") => clock.advance(integer(ms)?),
        [verb, ms] if is(verb, "set") => {
            let ms = integer(ms)?;
            clock.set(u64::try_from(ms).map_err(|_| Error::from(errors::NOT_INTEGER))?);
        }
        [verb] if is(verb, "real") => clock.real(),
        [verb] if is(verb, "freeze") => clock.freeze(),
        _ => return Err(wrong_arguments("clock")),
    }
    expire_due(cx);
    cx.out.ok();
    Ok(())
}

/// Deletes every key whose time has passed by the clock just moved, with
/// its `expired` event, before the reply: a test sees them gone (and its
/// subscriber told) without waiting for the active-expiry cycle.
fn expire_due(cx: &mut Context<'_>) {
    let now = crate::util::now_ms();
    let shared = cx.shared;
    for index in 0..shared.store.len() {
        let mut db = shared.store.write(index);
        // From where the cycle stopped to the end, then the whole table.
        db.expire_some(now, usize::MAX);
        db.expire_some(now, usize::MAX);
    }
    for (db, key) in shared.store.take_gone_streams() {
        cx.key_ready(db, &key);
    }
    crate::notify::publish_pending(shared);
}

// DEBUG SEED <n>
fn seed(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let [seed] = args else {
        return Err(wrong_arguments("seed"));
    };
    let seed = integer(seed)? as u64;
    cx.shared.ambient.chance.seed(seed);
    cx.shared.store.access().seed(seed);
    // Empty databases are laid out anew from the seed, so RANDOMKEY on a
    // fresh server repeats too (a map's layout is fixed when it is made).
    for index in 0..cx.shared.store.len() {
        let mut db = cx.shared.store.write(index);
        if db.is_empty() {
            db.clear();
        }
    }
    cx.out.ok();
    Ok(())
}

// DEBUG FAIL-NEXT <n> <error text>
fn fail_next(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let [count, text] = args else {
        return Err(wrong_arguments("fail-next"));
    };
    let count = u64::try_from(integer(count)?).map_err(|_| Error::from(errors::NOT_INTEGER))?;
    cx.shared
        .faults
        .fail_next(count, &String::from_utf8_lossy(text));
    cx.out.ok();
    Ok(())
}

// DEBUG RECORD ON|OFF|RESET|GET [WITHMETA]
fn record(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let faults = &cx.shared.faults;
    match args {
        [verb] if is(verb, "on") => faults.record(true),
        [verb] if is(verb, "off") => faults.record(false),
        [verb] if is(verb, "reset") => faults.reset_record(),
        [verb] if is(verb, "get") => {
            // Each entry: the command as sent, name first.
            let recorded = faults.recorded();
            cx.out.array(recorded.len());
            for entry in &recorded {
                cx.out.bulks(entry.args.iter().map(Vec::as_slice));
            }
            return Ok(());
        }
        [verb, meta] if is(verb, "get") && is(meta, "withmeta") => {
            // Each entry: [db, client name, [name, args...]].
            let recorded = faults.recorded();
            cx.out.array(recorded.len());
            for entry in &recorded {
                cx.out.array(3);
                cx.out.int(entry.db as i64);
                cx.out.bulk(entry.client_name.as_bytes());
                cx.out.bulks(entry.args.iter().map(Vec::as_slice));
            }
            return Ok(());
        }
        _ => return Err(wrong_arguments("record")),
    }
    cx.out.ok();
    Ok(())
}
