//! The one way a server stops: SHUTDOWN, SIGTERM and SIGINT all come here
//! (Redis's `prepareForShutdown` and `finishShutdown`).
//!
//! In order: new commands wait (they are refused for good if the server
//! stops, and run if it goes on), the command in flight finishes (the
//! exclusive side of the EXEC gate), the AOF is written and fsynced, the
//! RDB is saved if save points are set (or the caller says SAVE), the
//! pidfile and the unix socket are removed, every client is closed and the
//! listeners stop. A save that fails cancels the whole thing, unless FORCE:
//! the server goes on running, as Redis's does.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

use crate::log::{self, log};
use crate::persistence;
use crate::shared::Shared;

/// The words of SHUTDOWN and of `shutdown-on-sigint` / `shutdown-on-sigterm`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    pub save: bool,
    pub nosave: bool,
    /// Do not wait for replicas (respd has none: no effect).
    pub now: bool,
    /// Exit even if the final save fails.
    pub force: bool,
}

impl Flags {
    /// The flags a `shutdown-on-sigint` / `shutdown-on-sigterm` value names
    /// (`default` names none).
    pub fn from_words(value: &str) -> Flags {
        let mut flags = Flags::default();
        for word in value.split_whitespace() {
            match word.to_ascii_lowercase().as_str() {
                "save" => flags.save = true,
                "nosave" => flags.nosave = true,
                "now" => flags.now = true,
                "force" => flags.force = true,
                _ => {}
            }
        }
        flags
    }
}

/// Where a shutdown stands, for commands that arrive meanwhile.
#[derive(Debug, Default)]
pub struct State {
    /// True from the start of a shutdown until it fails: commands wait.
    closing: AtomicBool,
    /// A signal asked for a shutdown that has not failed yet: a second
    /// SIGINT then exits at once (Redis's `shutdown_asap`).
    pub(crate) signalled: AtomicBool,
    /// Guards nothing but the wait below: commands sleep on `settled`
    /// until the shutdown has either stopped the server or failed.
    settle: Mutex<()>,
    settled: Condvar,
}

impl State {
    /// True while a shutdown is under way (or done).
    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }
}

/// What a command that arrived during a shutdown should do.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival {
    /// The shutdown failed: run as usual.
    Proceed,
    /// The server stops: close the connection without a reply (the client
    /// sees what a client of Redis sees, the connection closing).
    Close,
}

/// Waits until the running shutdown settles. The caller holds no gate.
pub fn wait_for_outcome(shared: &Shared) -> Arrival {
    let state = &shared.shutdown;
    let mut guard = state.settle.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if shared.shutting_down.load(Ordering::SeqCst) {
            return Arrival::Close;
        }
        if !state.closing() {
            return Arrival::Proceed;
        }
        guard = state
            .settled
            .wait(guard)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// Why a shutdown did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Another shutdown is under way.
    InProgress,
    /// The final save failed (the log says why); the server goes on.
    SaveFailed,
}

/// Shuts the server down: see the module notes. The caller must not hold
/// the shared side of the EXEC gate; `in_exec` says it holds the exclusive
/// side already (SHUTDOWN inside a transaction).
pub fn shut_down(shared: &Shared, flags: Flags, in_exec: bool) -> Result<(), Refused> {
    let state = &shared.shutdown;
    if state.closing.swap(true, Ordering::AcqRel) {
        return Err(Refused::InProgress);
    }
    log(shared, log::WARNING, "User requested shutdown...");
    // A script would hold the gate until it ends; without a save to spoil,
    // it is stopped (SHUTDOWN NOSAVE is the way out of a slow script).
    #[cfg(feature = "scripting")]
    if flags.nosave {
        shared.scripting.abort();
    }
    // Every command in flight finishes first; new ones wait in `dispatch`.
    let gate = (!in_exec).then(|| {
        shared
            .exec_gate
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    });
    if shared.persistence.aof.enabled() {
        log(shared, log::NOTICE, "Calling fsync() on the AOF file.");
        persistence::aof::sync(shared);
    }
    if flags.save || (!flags.nosave && persistence::saves_on_shutdown(shared)) {
        log(
            shared,
            log::NOTICE,
            "Saving the final RDB snapshot before exiting.",
        );
        if persistence::save(shared).is_err() {
            if flags.force {
                log(
                    shared,
                    log::WARNING,
                    "Error trying to save the DB. Exit anyway.",
                );
            } else {
                log(
                    shared,
                    log::WARNING,
                    "Error trying to save the DB, can't exit.",
                );
                log(
                    shared,
                    log::WARNING,
                    "Errors trying to shut down the server. Check the logs for more information.",
                );
                state.signalled.store(false, Ordering::Release);
                settle(shared, false);
                drop(gate);
                return Err(Refused::SaveFailed);
            }
        }
    }
    // No reply leaves after this: the listeners stop (woken while their
    // socket file still exists), every client closes, and commands that
    // waited are refused.
    shared.request_shutdown();
    for client in shared.clients.all() {
        client.kill();
    }
    let (pidfile, unixsocket) = {
        let config = shared.config();
        (
            config.get("pidfile").unwrap_or("").to_string(),
            config.get("unixsocket").unwrap_or("").to_string(),
        )
    };
    if !pidfile.is_empty() {
        log(shared, log::NOTICE, "Removing the pid file.");
        let _ = std::fs::remove_file(&pidfile);
    }
    if !unixsocket.is_empty() {
        log(shared, log::NOTICE, "Removing the unix socket file.");
        let _ = std::fs::remove_file(&unixsocket);
    }
    log(
        shared,
        log::WARNING,
        "Redis is now ready to exit, bye bye...",
    );
    settle(shared, true);
    drop(gate);
    Ok(())
}

/// Ends the wait of the commands that arrived during the shutdown.
fn settle(shared: &Shared, stopped: bool) {
    let state = &shared.shutdown;
    let _guard = state.settle.lock().unwrap_or_else(PoisonError::into_inner);
    if !stopped {
        state.closing.store(false, Ordering::Release);
    }
    state.settled.notify_all();
}

/// The pidfile, written at start as redis-server writes it (best effort:
/// a pidfile that cannot be written is logged, not fatal).
pub fn write_pidfile(shared: &Shared) {
    let path = shared.config().get("pidfile").unwrap_or("").to_string();
    if path.is_empty() {
        return;
    }
    if let Err(err) = std::fs::write(&path, format!("{}\n", std::process::id())) {
        log(
            shared,
            log::WARNING,
            &format!("Failed to write PID file {path}: {err}"),
        );
    }
}
