//! CLIENT PAUSE: until a deadline (or CLIENT UNPAUSE), commands of the
//! paused kind wait before they run: every command (`ALL`), or those that
//! write or may replicate (`WRITE`). Waiting clients sleep on one Condvar
//! that UNPAUSE, a new pause and the deadline wake; they count in INFO's
//! `blocked_clients`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What a pause holds back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseKind {
    /// Commands that write or may replicate (EVAL, PUBLISH, PFCOUNT...).
    Write,
    All,
}

#[derive(Debug, Default)]
struct State {
    kind: Option<PauseKind>,
    until: Option<Instant>,
}

/// The server's pause.
#[derive(Debug, Default)]
pub struct Pause {
    state: Mutex<State>,
    changed: Condvar,
    /// Clients waiting for the pause to end.
    pub waiting: AtomicUsize,
    /// Set by a pause, cleared by UNPAUSE: spares every command the lock
    /// when nobody ever paused.
    engaged: AtomicBool,
    /// FAILOVER holds writes back until it ends (apart from CLIENT PAUSE,
    /// which CLIENT UNPAUSE lifts without touching it).
    failover: AtomicBool,
}

impl Pause {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// CLIENT PAUSE: a pause of `kind` until `until`. As in Redis, a later
    /// pause never shortens one in force nor turns its ALL into WRITE.
    pub fn pause(&self, kind: PauseKind, until: Instant) {
        let mut state = self.state();
        let active = state.until.is_some_and(|t| t > Instant::now());
        if active {
            if state.kind != Some(PauseKind::All) {
                state.kind = Some(kind);
            }
            state.until = state.until.max(Some(until));
        } else {
            state.kind = Some(kind);
            state.until = Some(until);
        }
        self.engaged.store(true, Ordering::Release);
        drop(state);
        self.changed.notify_all();
    }

    /// True once a pause was asked for and not lifted (it may have
    /// expired meanwhile).
    pub fn engaged(&self) -> bool {
        self.engaged.load(Ordering::Acquire) || self.failover.load(Ordering::Acquire)
    }

    /// FAILOVER's pause of writes, on or off.
    pub fn hold_writes_for_failover(&self, hold: bool) {
        let state = self.state();
        self.failover.store(hold, Ordering::Release);
        drop(state);
        self.changed.notify_all();
    }

    /// CLIENT UNPAUSE.
    pub fn unpause(&self) {
        let mut state = self.state();
        state.kind = None;
        state.until = None;
        self.engaged.store(false, Ordering::Release);
        drop(state);
        self.changed.notify_all();
    }

    /// The pause in force now, if any.
    pub fn current(&self) -> Option<PauseKind> {
        let state = self.state();
        state
            .until
            .filter(|until| *until > Instant::now())
            .and(state.kind)
    }

    /// Waits while a pause holds back a command that `writes` (or may
    /// replicate); `gone` tells whether the client hung up meanwhile (then
    /// false is returned and the command must not run).
    pub fn wait_if_paused(&self, writes: bool, gone: &dyn Fn() -> bool) -> bool {
        let holds = |state: &State| {
            (writes && self.failover.load(Ordering::Acquire))
                || state.until.is_some_and(|until| until > Instant::now())
                    && match state.kind {
                        Some(PauseKind::All) => true,
                        Some(PauseKind::Write) => writes,
                        None => false,
                    }
        };
        let mut state = self.state();
        if !holds(&state) {
            return true;
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let mut alive = true;
        while holds(&state) {
            if gone() {
                alive = false;
                break;
            }
            let left = state
                .until
                .filter(|_| !self.failover.load(Ordering::Acquire))
                .map_or(Duration::from_millis(100), |until| {
                    until.saturating_duration_since(Instant::now())
                })
                // Wake now and then to notice a client that hung up.
                .min(Duration::from_millis(100));
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        alive
    }
}
