//! The keys that really changed, noted for client-side caching
//! (`crate::tracking`), which the store knows nothing about: `Db::modified`,
//! expiry and flushes note them in a list of the thread that made the
//! change, and whoever ran it (a command, after its reply; the expiry
//! thread) takes the list.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Listeners (tracking clients) in the whole process, every server in it:
/// while there are none, a change costs one relaxed load.
static LISTENERS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Keys changed by what this thread is running; `None` is a flush.
    static CHANGED: RefCell<Vec<Option<Vec<u8>>>> = const { RefCell::new(Vec::new()) };
}

/// One more listener: changes are noted from now on.
pub fn listen() {
    LISTENERS.fetch_add(1, Ordering::Relaxed);
}

/// One listener less.
pub fn unlisten() {
    LISTENERS.fetch_sub(1, Ordering::Relaxed);
}

/// True while some client tracks keys (anywhere in the process).
pub fn listening() -> bool {
    LISTENERS.load(Ordering::Relaxed) > 0
}

/// Notes that `key` really changed.
pub fn key_changed(key: &[u8]) {
    if LISTENERS.load(Ordering::Relaxed) > 0 {
        CHANGED.with(|changed| changed.borrow_mut().push(Some(key.to_vec())));
    }
}

/// Notes that a database (or all) was flushed. Noted even with no one
/// tracking: a flush empties the tracking table, which keeps the keys of
/// clients that turned tracking off (as Redis's does).
pub fn flushed() {
    CHANGED.with(|changed| changed.borrow_mut().push(None));
}

/// The changes this thread noted since it last asked.
#[inline]
pub fn take() -> Vec<Option<Vec<u8>>> {
    CHANGED.with(|changed| std::mem::take(&mut *changed.borrow_mut()))
}

/// Notes `changes` (taken elsewhere) as this thread's, after the ones it
/// has: a blocked client's worker takes over what serving it changed.
pub fn restore(changes: Vec<Option<Vec<u8>>>) {
    if !changes.is_empty() {
        CHANGED.with(|changed| changed.borrow_mut().extend(changes));
    }
}
