//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Between MULTI and EXEC the dispatcher queues commands instead of running
//! them (see `dispatch` in mod.rs). EXEC runs them one after the other on
//! the exclusive side of the server's EXEC gate, so no other client sees a
//! state between two of them. WATCH notes a version of each key, which
//! every real change to the key bumps (`Db::modified`); EXEC refuses to run if
//! any version moved, or a key alive at WATCH time has expired since.

use super::errors::Error;
use super::flags::*;
use super::{run, Args, CmdResult, Command, Context, KeySpec, Session, Transaction, NO_KEYS};
use crate::shared::Shared;
use crate::util::now_ms;

const EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
const DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
const NESTED_MULTI: &str = "ERR MULTI calls can not be nested";
const WATCH_INSIDE_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

pub static COMMANDS: &[Command] = &[
    Command::new(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        NO_KEYS,
        "transactions",
        multi,
    ),
    Command::new(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "transactions",
        exec,
    ),
    Command::new(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        NO_KEYS,
        "transactions",
        discard,
    ),
    Command::new(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        KeySpec {
            first: 1,
            last: -1,
            step: 1,
        },
        "transactions",
        watch,
    ),
    Command::new(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        NO_KEYS,
        "transactions",
        unwatch,
    ),
];

// MULTI
fn multi(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    if cx.session.multi.is_some() {
        return Err(NESTED_MULTI.into());
    }
    cx.session.multi = Some(Transaction::default());
    cx.out.ok();
    Ok(())
}

// EXEC
fn exec(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let Some(transaction) = cx.session.multi.take() else {
        return Err(EXEC_WITHOUT_MULTI.into());
    };
    if transaction.failed {
        unwatch_all(cx.shared, cx.session);
        return Err(EXECABORT.into());
    }
    let shared = cx.shared;
    let _exclusive = shared
        .exec_gate
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let intact = watched_keys_intact(shared, cx.session);
    unwatch_all(shared, cx.session);
    if !intact {
        cx.out.null_array();
        return Ok(());
    }
    cx.out.array(transaction.queued.len());
    cx.session.in_exec = true;
    for (resolved, args) in transaction.queued {
        // Permissions are checked again: they may have changed since MULTI.
        if !cx.session.user.unrestricted {
            let full_name = resolved.full_name();
            if let Err(denied) =
                super::acl::check(cx, &full_name, &args, crate::acl::Context::Multi)
            {
                let reason = match denied {
                    crate::acl::Denied::Key => "no permission to touch the specified keys",
                    crate::acl::Denied::Channel => {
                        "no permission to access one of the channels used as arguments"
                    }
                    _ => "no permission to execute the command or subcommand",
                };
                cx.out.error(&format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"));
                continue;
            }
        }
        if let Err(Error(message)) = run(cx, resolved, &args) {
            cx.out.error(&message);
        }
    }
    cx.session.in_exec = false;
    Ok(())
}

/// EXEC refused before it ran (arity, NOAUTH, MISCONF, BUSY): the
/// transaction is discarded and the reply says why, without the refusal's
/// `ERR ` (Redis's execCommandAbort).
pub(super) fn abort(cx: &mut Context<'_>, refusal: Error) -> Error {
    cx.session.multi = None;
    unwatch_all(cx.shared, cx.session);
    let reason = refusal.0.strip_prefix("ERR ").unwrap_or(&refusal.0);
    Error::new(format!(
        "EXECABORT Transaction discarded because of: {reason}"
    ))
}

// DISCARD
fn discard(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    if cx.session.multi.take().is_none() {
        return Err(DISCARD_WITHOUT_MULTI.into());
    }
    unwatch_all(cx.shared, cx.session);
    cx.out.ok();
    Ok(())
}

// WATCH key [key ...]
fn watch(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if cx.session.multi.is_some() {
        return Err(WATCH_INSIDE_MULTI.into());
    }
    let db_index = cx.session.db;
    let now = now_ms();
    let mut db = cx.db_mut();
    for key in &args[1..] {
        let already = cx
            .session
            .watched
            .iter()
            .any(|(d, k, _, _)| *d == db_index && &k[..] == key.as_slice());
        if !already {
            let version = db.watch(key);
            let alive = db.contains(key, now);
            cx.session
                .watched
                .push((db_index, key.as_slice().into(), version, alive));
        }
    }
    drop(db);
    cx.out.ok();
    Ok(())
}

// UNWATCH
fn unwatch(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    unwatch_all(cx.shared, cx.session);
    cx.out.ok();
    Ok(())
}

/// True when no watched key changed, and none alive at WATCH has expired.
fn watched_keys_intact(shared: &Shared, session: &Session) -> bool {
    let now = now_ms();
    session
        .watched
        .iter()
        .all(|(db_index, key, version, alive)| {
            let db = shared.store.read(*db_index);
            db.watch_version(key) == Some(*version) && (!alive || db.contains(key, now))
        })
}

/// Drops every WATCH of the session (EXEC, DISCARD, UNWATCH, RESET and
/// disconnection).
pub(super) fn unwatch_all(shared: &Shared, session: &mut Session) {
    for (db_index, key, _, _) in session.watched.drain(..) {
        shared.store.write(db_index).unwatch(&key);
    }
}
