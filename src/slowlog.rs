//! The slow log: the most recent commands that ran longer than
//! `slowlog-log-slower-than` microseconds, at most `slowlog-max-len` of
//! them, newest first (SLOWLOG GET). Arguments are trimmed as Redis trims
//! them: 32 at most, the last saying how many more there were, and 128
//! bytes of each at most.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Redis's SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING.
const MAX_ARGS: usize = 32;
const MAX_ARG_BYTES: usize = 128;

/// One logged command.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: u64,
    /// Unix time, seconds.
    pub time: u64,
    pub micros: u64,
    pub args: Vec<Vec<u8>>,
    /// `ip:port` of the client.
    pub addr: String,
    pub name: String,
}

/// The log and its two settings.
#[derive(Debug)]
pub struct SlowLog {
    entries: Mutex<VecDeque<Entry>>,
    next_id: AtomicU64,
    /// Microseconds; negative turns the log off.
    pub slower_than: AtomicI64,
    pub max_len: AtomicU64,
}

impl Default for SlowLog {
    fn default() -> Self {
        SlowLog {
            entries: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(0),
            slower_than: AtomicI64::new(10_000),
            max_len: AtomicU64::new(128),
        }
    }
}

impl SlowLog {
    fn entries(&self) -> MutexGuard<'_, VecDeque<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True when a command that ran `micros` belongs in the log.
    pub fn wants(&self, micros: u64) -> bool {
        let threshold = self.slower_than.load(Ordering::Relaxed);
        threshold >= 0 && micros >= threshold as u64
    }

    /// Logs a command (the caller checked [`SlowLog::wants`]); `args` as
    /// the client sent them, with secrets already redacted.
    pub fn push(&self, args: &[Vec<u8>], micros: u64, addr: &str, name: &str) {
        let entry = Entry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            time: crate::util::now_ms() / 1000,
            micros,
            args: trim(args),
            addr: addr.to_string(),
            name: name.to_string(),
        };
        let max_len = self.max_len.load(Ordering::Relaxed) as usize;
        let mut entries = self.entries();
        entries.push_front(entry);
        entries.truncate(max_len);
    }

    /// Applies a new `slowlog-max-len` at once, as Redis does at the next
    /// push (the next SLOWLOG LEN is then right too).
    pub fn set_max_len(&self, max_len: u64) {
        self.max_len.store(max_len, Ordering::Relaxed);
        self.entries().truncate(max_len as usize);
    }

    /// The newest `count` entries.
    pub fn newest(&self, count: usize) -> Vec<Entry> {
        self.entries().iter().take(count).cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    pub fn reset(&self) {
        self.entries().clear();
    }
}

/// Redis's trimming of a logged command's arguments.
fn trim(args: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let kept = args.len().min(MAX_ARGS);
    (0..kept)
        .map(|j| {
            if kept != args.len() && j == kept - 1 {
                format!("... ({} more arguments)", args.len() - kept + 1).into_bytes()
            } else if args[j].len() > MAX_ARG_BYTES {
                let mut arg = args[j][..MAX_ARG_BYTES].to_vec();
                arg.extend_from_slice(
                    format!("... ({} more bytes)", args[j].len() - MAX_ARG_BYTES).as_bytes(),
                );
                arg
            } else {
                args[j].clone()
            }
        })
        .collect()
}

/// The arguments as the slow log shows them: passwords replaced by
/// `(redacted)` where Redis redacts them (AUTH, HELLO ... AUTH, MIGRATE
/// ... AUTH/AUTH2, CONFIG SET of requirepass/masterauth/masteruser).
/// `full_name` is the command's (`config|set`).
pub fn redacted(full_name: &str, args: &[Vec<u8>]) -> Vec<Vec<u8>> {
    const REDACTED: &[u8] = b"(redacted)";
    let mut out = args.to_vec();
    let is = |arg: &[u8], word: &str| arg.eq_ignore_ascii_case(word.as_bytes());
    match full_name {
        "auth" => {
            for arg in out.iter_mut().skip(1) {
                *arg = REDACTED.to_vec();
            }
        }
        "hello" => {
            let mut j = 2;
            while j < out.len() {
                if is(&out[j], "auth") && j + 2 < out.len() {
                    out[j + 1] = REDACTED.to_vec();
                    out[j + 2] = REDACTED.to_vec();
                    j += 3;
                } else if is(&out[j], "setname") {
                    j += 2;
                } else {
                    j += 1;
                }
            }
        }
        "migrate" => {
            let mut j = 6;
            while j < out.len() {
                if is(&out[j], "auth") && j + 1 < out.len() {
                    out[j + 1] = REDACTED.to_vec();
                    j += 2;
                } else if is(&out[j], "auth2") && j + 2 < out.len() {
                    out[j + 1] = REDACTED.to_vec();
                    out[j + 2] = REDACTED.to_vec();
                    j += 3;
                } else if is(&out[j], "keys") {
                    break;
                } else {
                    j += 1;
                }
            }
        }
        "config|set" => {
            for j in (2..out.len()).step_by(2) {
                let sensitive = ["requirepass", "masterauth", "masteruser"]
                    .iter()
                    .any(|name| is(&out[j], name));
                if sensitive && j + 1 < out.len() {
                    out[j + 1] = REDACTED.to_vec();
                }
            }
        }
        "acl|setuser" => {
            for arg in out.iter_mut().skip(3) {
                *arg = REDACTED.to_vec();
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_as_redis() {
        let args: Vec<Vec<u8>> = (0..35).map(|i| i.to_string().into_bytes()).collect();
        let trimmed = trim(&args);
        assert_eq!(trimmed.len(), 32);
        assert_eq!(trimmed[31], b"... (4 more arguments)");
        let long = trim(&[vec![b'A'; 129]]);
        assert!(long[0].ends_with(b"A... (1 more bytes)"));
    }
}
