//! Per-command statistics (INFO `commandstats`, `latencystats`, LATENCY
//! HISTOGRAM) and error statistics (INFO `errorstats`,
//! `total_error_replies`), counted as Redis's `call()` and
//! `afterErrorReply()` count them.
//!
//! Every row of the command table, subcommands included, has a slot of
//! atomics, found by the row's address: recording a call takes no lock.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::commands::Command;
use crate::histogram::Histogram;

/// One command's counters.
#[derive(Debug, Default)]
pub struct Slot {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    /// Refused before running (arity, NOAUTH, MISCONF, BUSY...).
    pub rejected: AtomicU64,
    /// Ran and replied with an error.
    pub failed: AtomicU64,
    /// Made on the first call, as Redis allocates its HDR histogram.
    latency: OnceLock<Histogram>,
}

impl Slot {
    /// The latency histogram, if the command has been timed since start.
    pub fn latency(&self) -> Option<&Histogram> {
        self.latency.get().filter(|h| h.total() > 0)
    }
}

/// Slots by row address, hashed with the command table's cheap hash.
type SlotIndex = HashMap<usize, usize, BuildHasherDefault<crate::commands::NameHasher>>;

/// Every row of the table (subcommands after their container), with its
/// full name, in a fixed order; a row's index is its slot.
fn rows() -> &'static (Vec<(&'static Command, String)>, SlotIndex) {
    static ROWS: OnceLock<(Vec<(&'static Command, String)>, SlotIndex)> = OnceLock::new();
    ROWS.get_or_init(|| {
        let mut rows = Vec::new();
        let mut parents: Vec<&'static Command> =
            crate::commands::table().values().copied().collect();
        parents.sort_by_key(|c| c.name);
        for parent in parents {
            rows.push((parent, parent.name.to_string()));
            for sub in parent.subcommands {
                rows.push((sub, format!("{}|{}", parent.name, sub.name)));
            }
        }
        let index = rows
            .iter()
            .enumerate()
            .map(|(i, (command, _))| (*command as *const Command as usize, i))
            .collect();
        (rows, index)
    })
}

/// Every command's counters and the error counts.
#[derive(Debug)]
pub struct CommandStats {
    slots: Vec<Slot>,
    errors: Mutex<BTreeMap<String, u64>>,
    pub total_error_replies: AtomicU64,
    /// `latency-tracking`.
    pub tracking: AtomicBool,
}

impl Default for CommandStats {
    fn default() -> Self {
        CommandStats {
            slots: (0..rows().0.len()).map(|_| Slot::default()).collect(),
            errors: Mutex::new(BTreeMap::new()),
            total_error_replies: AtomicU64::new(0),
            tracking: AtomicBool::new(true),
        }
    }
}

impl CommandStats {
    /// The slot of a row of the command table.
    #[inline]
    pub fn slot(&self, command: &Command) -> Option<&Slot> {
        let index = rows().1.get(&(command as *const Command as usize))?;
        self.slots.get(*index)
    }

    /// Every row with its full name and slot, containers before their
    /// subcommands, by name.
    pub fn all(&self) -> impl Iterator<Item = (&'static Command, &str, &Slot)> {
        rows()
            .0
            .iter()
            .zip(&self.slots)
            .map(|((command, name), slot)| (*command, name.as_str(), slot))
    }

    /// A command ran for `duration` (its wait for keys not included).
    pub fn record_call(&self, command: &Command, duration: Duration, failed: bool) {
        let Some(slot) = self.slot(command) else {
            return;
        };
        let micros = duration.as_micros() as u64;
        slot.calls.fetch_add(1, Ordering::Relaxed);
        slot.usec.fetch_add(micros, Ordering::Relaxed);
        if failed {
            slot.failed.fetch_add(1, Ordering::Relaxed);
        }
        if self.tracking.load(Ordering::Relaxed) {
            // Redis records whole microseconds, in nanoseconds.
            slot.latency
                .get_or_init(Histogram::default)
                .record(micros.saturating_mul(1000));
        }
    }

    /// A command was refused before it ran.
    pub fn record_rejected(&self, command: &Command) {
        if let Some(slot) = self.slot(command) {
            slot.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An error reply went out: counted under its prefix (the first word,
    /// looked for in the first 31 bytes; `ERR` when there is none).
    pub fn record_error(&self, message: &str) {
        self.total_error_replies.fetch_add(1, Ordering::Relaxed);
        let head = &message.as_bytes()[..message.len().min(31)];
        let prefix = match head.iter().position(|&b| b == b' ') {
            Some(end) if end > 0 => &message[..end],
            _ => "ERR",
        };
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        match errors.get_mut(prefix) {
            Some(count) => *count += 1,
            None => {
                errors.insert(prefix.to_string(), 1);
            }
        }
    }

    /// `errorstat_<PREFIX>:count=<n>` lines' data, in byte order.
    pub fn errors(&self) -> Vec<(String, u64)> {
        let errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        errors.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for slot in &self.slots {
            slot.calls.store(0, Ordering::Relaxed);
            slot.usec.store(0, Ordering::Relaxed);
            slot.rejected.store(0, Ordering::Relaxed);
            slot.failed.store(0, Ordering::Relaxed);
            if let Some(histogram) = slot.latency.get() {
                histogram.clear();
            }
        }
        self.errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.total_error_replies.store(0, Ordering::Relaxed);
    }
}
