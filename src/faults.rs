//! Test controls a server applies to every command: injected failures
//! (DEBUG FAIL-NEXT, [`crate::testing`]), delayed replies, refused
//! connections, and the record of what clients sent (DEBUG RECORD).
//!
//! One relaxed atomic is read per command while nothing is armed, so a
//! server not under test pays nothing more.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// One command as a client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The database selected when it ran.
    pub db: usize,
    /// The client's name (CLIENT SETNAME), empty when it has none.
    pub client_name: String,
    /// The name and the arguments, as sent.
    pub args: Vec<Vec<u8>>,
}

#[derive(Debug, Default)]
struct State {
    /// The next this many commands fail with this error.
    fail_next: Option<(u64, String)>,
    /// Commands by lowercase name that fail with an error, for ever.
    fail_matching: HashMap<String, String>,
    /// Every reply waits this long first.
    delay: Duration,
    /// New connections are closed at once until then.
    refuse_until: Option<Instant>,
    recording: bool,
    record: Vec<Recorded>,
}

/// The test controls of one server.
#[derive(Debug, Default)]
pub struct Faults {
    /// True when anything above is set: the cheap test every command makes.
    armed: AtomicBool,
    state: Mutex<State>,
}

/// DEBUG subcommands that steer the test controls: never failed, delayed
/// or recorded, so a test can always take its server back.
const CONTROLS: &[&[u8]] = &[b"clock", b"seed", b"fail-next", b"record"];

fn is_control(args: &[Vec<u8>]) -> bool {
    args.len() >= 2
        && args[0].eq_ignore_ascii_case(b"debug")
        && CONTROLS.iter().any(|c| args[1].eq_ignore_ascii_case(c))
}

impl Faults {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn rearm(&self, state: &State) {
        let armed = state.fail_next.is_some()
            || !state.fail_matching.is_empty()
            || !state.delay.is_zero()
            || state.refuse_until.is_some()
            || state.recording;
        self.armed.store(armed, Ordering::Release);
    }

    /// True when any control is set (the only test a command pays for).
    pub fn armed(&self) -> bool {
        self.armed.load(Ordering::Relaxed)
    }

    /// Called before each command: records it, waits the delay, and says
    /// which error it must fail with, if any.
    pub fn intercept(&self, args: &[Vec<u8>], db: usize, client_name: &str) -> Option<String> {
        if !self.armed.load(Ordering::Acquire) || args.is_empty() || is_control(args) {
            return None;
        }
        let mut state = self.state();
        if state.recording {
            state.record.push(Recorded {
                db,
                client_name: client_name.to_owned(),
                args: args.to_vec(),
            });
        }
        let delay = state.delay;
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let mut error = state.fail_matching.get(&name).cloned();
        if error.is_none() {
            if let Some((left, text)) = state.fail_next.as_mut() {
                error = Some(text.clone());
                *left -= 1;
                if *left == 0 {
                    state.fail_next = None;
                }
            }
        }
        self.rearm(&state);
        drop(state);
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        error
    }

    /// The next `count` commands (of any client) fail with `error` (the
    /// whole error line, e.g. `ERR boom`); 0 cancels.
    pub fn fail_next(&self, count: u64, error: &str) {
        let mut state = self.state();
        state.fail_next = (count > 0).then(|| (count, error.to_owned()));
        self.rearm(&state);
    }

    /// Every command named `name` fails with `error` until
    /// [`Faults::clear`]; `None` stops failing it.
    pub fn fail_command(&self, name: &str, error: Option<&str>) {
        let mut state = self.state();
        let name = name.to_ascii_lowercase();
        match error {
            Some(error) => state.fail_matching.insert(name, error.to_owned()),
            None => state.fail_matching.remove(&name),
        };
        self.rearm(&state);
    }

    /// Every reply waits `delay` first (zero for none).
    pub fn delay_replies(&self, delay: Duration) {
        let mut state = self.state();
        state.delay = delay;
        self.rearm(&state);
    }

    /// New connections are closed at once for `period`.
    pub fn refuse_connections_for(&self, period: Duration) {
        let mut state = self.state();
        state.refuse_until = Instant::now().checked_add(period);
        self.rearm(&state);
    }

    /// True when a new connection must be closed at once.
    pub fn refusing(&self) -> bool {
        if !self.armed.load(Ordering::Acquire) {
            return false;
        }
        let mut state = self.state();
        match state.refuse_until {
            Some(until) if Instant::now() < until => true,
            Some(_) => {
                state.refuse_until = None;
                self.rearm(&state);
                false
            }
            None => false,
        }
    }

    /// Starts or stops recording (what was recorded stays).
    pub fn record(&self, on: bool) {
        let mut state = self.state();
        state.recording = on;
        self.rearm(&state);
    }

    /// The commands recorded so far.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.state().record.clone()
    }

    /// Forgets what was recorded (recording goes on if it was on).
    pub fn reset_record(&self) {
        self.state().record.clear();
    }

    /// Every control off, the record emptied.
    pub fn clear(&self) {
        let mut state = self.state();
        *state = State::default();
        self.rearm(&state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn fail_next_counts_down_and_skips_controls() {
        let faults = Faults::default();
        faults.fail_next(2, "ERR boom");
        assert_eq!(faults.intercept(&args(&["DEBUG", "CLOCK"]), 0, ""), None);
        assert_eq!(
            faults.intercept(&args(&["GET", "k"]), 0, ""),
            Some("ERR boom".into())
        );
        assert_eq!(
            faults.intercept(&args(&["GET", "k"]), 0, ""),
            Some("ERR boom".into())
        );
        assert_eq!(faults.intercept(&args(&["GET", "k"]), 0, ""), None);
    }

    #[test]
    fn record_keeps_db_and_name() {
        let faults = Faults::default();
        faults.record(true);
        faults.intercept(&args(&["SET", "k", "v"]), 3, "app");
        faults.record(false);
        faults.intercept(&args(&["GET", "k"]), 3, "app");
        assert_eq!(
            faults.recorded(),
            vec![Recorded {
                db: 3,
                client_name: "app".into(),
                args: args(&["SET", "k", "v"])
            }]
        );
    }
}
