//! Signals, for the `respd` binary (an embedding program keeps its own):
//! SIGTERM and SIGINT shut the server down as SHUTDOWN does, with the
//! flags of `shutdown-on-sigterm` / `shutdown-on-sigint`; a second SIGINT
//! during that shutdown exits at once. SIGHUP is ignored, as Redis does;
//! SIGPIPE is already ignored by every Rust program.
//!
//! `signal-hook` runs the only unsafe part (the handler, which just wakes a
//! pipe); everything here runs on an ordinary thread.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::log::log_signal;
use crate::shared::Shared;
use crate::shutdown::{self, Flags};

/// Starts the thread that turns signals into shutdowns.
pub fn install(shared: &Arc<Shared>) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let shared = shared.clone();
    thread::Builder::new()
        .name("respd-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if signal == SIGINT || signal == SIGTERM {
                    on_shutdown_signal(&shared, signal);
                }
            }
        })?;
    Ok(())
}

fn on_shutdown_signal(shared: &Arc<Shared>, signal: i32) {
    let (name, setting) = if signal == SIGINT {
        ("SIGINT", "shutdown-on-sigint")
    } else {
        ("SIGTERM", "shutdown-on-sigterm")
    };
    let state = &shared.shutdown;
    // Ctrl-C twice: the user wants out now, saved or not (exit status 1:
    // not a clean shutdown).
    if signal == SIGINT && state.signalled.load(Ordering::Acquire) {
        log_signal(shared, "You insist... exiting now.");
        std::process::exit(1);
    }
    log_signal(shared, &format!("Received {name} scheduling shutdown..."));
    if state.signalled.swap(true, Ordering::AcqRel) {
        return;
    }
    let flags = Flags::from_words(shared.config().get(setting).unwrap_or("default"));
    // On a thread of its own, so that a second SIGINT is heard meanwhile.
    let runner = shared.clone();
    let started = thread::Builder::new()
        .name("respd-shutdown".into())
        .spawn(move || {
            if shutdown::shut_down(&runner, flags, false).is_err() {
                runner.shutdown.signalled.store(false, Ordering::Release);
            }
        });
    if started.is_err() {
        state.signalled.store(false, Ordering::Release);
    }
}
