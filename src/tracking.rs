//! Client-side caching (CLIENT TRACKING), as Redis 7.0's tracking.c: the
//! table of keys each tracking client has read, the BCAST prefixes, and
//! the `invalidate` messages sent when those keys change.
//!
//! The store signals changes without knowing about clients: `Db::modified`
//! (and expiry, and flushes) note the key in a per-thread list
//! (`store::changed`), and whoever ran the change (a command, after its
//! reply; the active expiry thread) hands the list to
//! [`Tracking::deliver`], which sends the messages through the clients'
//! Pub/Sub outboxes. Invalidations for the client that made the change go
//! out after that command's reply, as in Redis.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use crate::clients::{ClientInfo, Clients};
use crate::pubsub::{Limit, Outbox};
use crate::resp::Reply;

/// The channel RESP2 clients receive invalidations on, through a redirect.
pub const INVALIDATE_CHANNEL: &[u8] = b"__redis__:invalidate";

/// One client's tracking mode (CLIENT TRACKING ON's options).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mode {
    /// The client that receives the messages (0: this one).
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// BCAST prefixes, sorted as Redis's radix tree lists them.
    pub prefixes: BTreeSet<Vec<u8>>,
}

/// A tracking client, as the server keeps it.
#[derive(Debug)]
struct Tracker {
    mode: Mode,
    /// The redirect target was gone when a message was due.
    broken_redirect: bool,
    /// The client's entry in the registry, where CLIENT LIST reads the mode.
    info: Arc<ClientInfo>,
}

/// Shows the tracking mode in CLIENT LIST (flags and `redir=`).
fn show(info: &ClientInfo, mode: Option<&Mode>, broken_redirect: bool) {
    let mut meta = info.meta();
    meta.tracking_flags = match mode {
        None => "",
        Some(mode) => match (broken_redirect, mode.bcast) {
            (false, false) => "t",
            (false, true) => "tB",
            (true, false) => "tR",
            (true, true) => "tRB",
        },
    };
    meta.tracking_redirect = mode.map_or(-1, |m| m.redirect as i64);
}

#[derive(Debug, Default)]
struct State {
    trackers: HashMap<u64, Tracker>,
    /// Key → the clients that may cache it (Redis's TrackingTable).
    table: HashMap<Vec<u8>, HashSet<u64>>,
    /// Entries of `table`, summed (INFO's `tracking_total_items`).
    items: u64,
    /// BCAST prefix → its clients.
    prefixes: BTreeMap<Vec<u8>, BTreeSet<u64>>,
    /// The outbox of each client that has one: where its messages go.
    outboxes: HashMap<u64, Weak<Outbox>>,
    /// How many outboxes were left after the last sweep.
    outboxes_swept_at: usize,
}

/// What one client will be sent.
enum Message {
    Keys(Vec<Vec<u8>>),
    /// After a flush: a null instead of the array of keys.
    Flush,
}

/// The server's tracking table and tracking clients.
#[derive(Debug, Default)]
pub struct Tracking {
    state: Mutex<State>,
    /// `tracking-table-max-keys`, copied here at start and on CONFIG SET
    /// (see `Shared::configure_introspection`): read after every command.
    max_keys: AtomicUsize,
}

/// A snapshot for INFO.
#[derive(Debug, Clone, Copy)]
pub struct Totals {
    pub clients: usize,
    pub keys: usize,
    pub items: u64,
    pub prefixes: usize,
}

impl Tracking {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets `tracking-table-max-keys` (0: no limit).
    pub fn set_max_keys(&self, max_keys: usize) {
        self.max_keys.store(max_keys, Ordering::Relaxed);
    }

    /// `tracking-table-max-keys` (0: no limit).
    pub fn max_keys(&self) -> usize {
        self.max_keys.load(Ordering::Relaxed)
    }

    /// Remembers `id`'s outbox, for messages to it (own or redirected).
    /// An outbox lives as long as its connection (RESET keeps it), so the
    /// entries of closed connections are swept here, once they are as many
    /// as the live ones.
    pub fn note_outbox(&self, id: u64, outbox: &Arc<Outbox>) {
        let mut state = self.state();
        if state.outboxes.len() >= state.outboxes_swept_at * 2 + 64 {
            state.outboxes.retain(|_, outbox| outbox.strong_count() > 0);
            state.outboxes_swept_at = state.outboxes.len();
        }
        state.outboxes.insert(id, Arc::downgrade(outbox));
    }

    /// Turns tracking on for `id` (again: the prefixes add up, as Redis).
    pub fn enable(&self, info: &Arc<ClientInfo>, mode: Mode) {
        let id = info.id;
        show(info, Some(&mode), false);
        let mut state = self.state();
        for prefix in &mode.prefixes {
            state.prefixes.entry(prefix.clone()).or_default().insert(id);
        }
        let mut prefixes = mode.prefixes.clone();
        let tracker = Tracker {
            mode,
            broken_redirect: false,
            info: info.clone(),
        };
        match state.trackers.insert(id, tracker) {
            Some(old) => {
                prefixes.extend(old.mode.prefixes);
                if let Some(tracker) = state.trackers.get_mut(&id) {
                    tracker.mode.prefixes = prefixes;
                }
            }
            None => {
                crate::store::changed::listen();
            }
        }
    }

    /// Turns tracking off for `id`; its keys stay in the table until they
    /// change (as in Redis), but it gets no more messages.
    pub fn disable(&self, id: u64) {
        let mut state = self.state();
        if let Some(tracker) = state.trackers.remove(&id) {
            crate::store::changed::unlisten();
            show(&tracker.info, None, false);
            for prefix in tracker.mode.prefixes {
                if let Some(clients) = state.prefixes.get_mut(&prefix) {
                    clients.remove(&id);
                    if clients.is_empty() {
                        state.prefixes.remove(&prefix);
                    }
                }
            }
        }
    }

    /// CLIENT TRACKINGINFO's view of `id`: mode and broken redirect.
    pub fn info(&self, id: u64) -> Option<(Mode, bool)> {
        let state = self.state();
        let tracker = state.trackers.get(&id)?;
        Some((tracker.mode.clone(), tracker.broken_redirect))
    }

    /// Remembers that `id` read `keys` and may cache them.
    pub fn remember(&self, id: u64, keys: &[&[u8]]) {
        let mut state = self.state();
        for &key in keys {
            let ids = state.table.entry(key.to_vec()).or_default();
            if ids.insert(id) {
                state.items += 1;
            }
        }
    }

    /// True when the table holds more than `max_keys` keys (0: no limit).
    pub fn over_limit(&self, max_keys: usize) -> bool {
        max_keys > 0 && self.state().table.len() > max_keys
    }

    /// Invalidates keys until the table holds `max_keys` at most
    /// (`tracking-table-max-keys`; Redis picks them at random).
    pub fn enforce_limit(&self, clients: &Clients, max_keys: usize, limit: Limit) {
        let mut state = self.state();
        let mut batches: HashMap<u64, Vec<Vec<u8>>> = HashMap::new();
        while state.table.len() > max_keys {
            let Some(key) = state.table.keys().next().cloned() else {
                break;
            };
            invalidate_key(&mut state, &key, 0, &mut batches);
        }
        send_batches(&mut state, clients, batches, limit);
    }

    /// Sends what the `changes` (from `store::changed::take`) call for; `writer`
    /// is the client that made them (0: the server, by expiry).
    pub fn deliver(
        &self,
        clients: &Clients,
        writer: u64,
        changes: Vec<Option<Vec<u8>>>,
        limit: Limit,
    ) {
        let mut state = self.state();
        let state = &mut *state;
        let mut batches: HashMap<u64, Vec<Vec<u8>>> = HashMap::new();
        // BCAST: per prefix, the keys changed, each with its writer.
        let mut bcast: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> = BTreeMap::new();
        for change in changes {
            let Some(key) = change else {
                send_batches(state, clients, std::mem::take(&mut batches), limit);
                let ids: Vec<u64> = state.trackers.keys().copied().collect();
                for id in ids {
                    send(state, clients, id, &Message::Flush, limit);
                }
                state.table.clear();
                state.items = 0;
                continue;
            };
            for prefix in state.prefixes.keys() {
                if key.starts_with(prefix) {
                    bcast.entry(prefix.clone()).or_default().insert(key.clone());
                }
            }
            invalidate_key(state, &key, writer, &mut batches);
        }
        send_batches(state, clients, batches, limit);
        for (prefix, keys) in bcast {
            let listeners: Vec<u64> = state
                .prefixes
                .get(&prefix)
                .map(|c| c.iter().copied().collect())
                .unwrap_or_default();
            for id in listeners {
                let noloop = state.trackers.get(&id).is_some_and(|t| t.mode.noloop);
                if noloop && id == writer {
                    continue;
                }
                let keys = keys.iter().cloned().collect();
                send(state, clients, id, &Message::Keys(keys), limit);
            }
        }
    }

    /// INFO's figures.
    pub fn totals(&self) -> Totals {
        let state = self.state();
        Totals {
            clients: state.trackers.len(),
            keys: state.table.len(),
            items: state.items,
            prefixes: state.prefixes.len(),
        }
    }
}

/// Drops `key` from the table, noting a message for each client that
/// cached it (not in BCAST mode, nor the writer itself under NOLOOP).
fn invalidate_key(
    state: &mut State,
    key: &[u8],
    writer: u64,
    batches: &mut HashMap<u64, Vec<Vec<u8>>>,
) {
    let Some(ids) = state.table.remove(key) else {
        return;
    };
    state.items -= ids.len() as u64;
    for id in ids {
        let Some(tracker) = state.trackers.get(&id) else {
            continue;
        };
        if tracker.mode.bcast || (tracker.mode.noloop && id == writer) {
            continue;
        }
        batches.entry(id).or_default().push(key.to_vec());
    }
}

/// One `invalidate` message per key, as Redis sends them.
fn send_batches(
    state: &mut State,
    clients: &Clients,
    batches: HashMap<u64, Vec<Vec<u8>>>,
    limit: Limit,
) {
    for (id, keys) in batches {
        for key in keys {
            send(state, clients, id, &Message::Keys(vec![key]), limit);
        }
    }
}

/// Redis's `sendTrackingMessage`: to the client, or to its redirect
/// target (a RESP2 target only while it is subscribed, as a message on
/// `__redis__:invalidate`).
fn send(state: &mut State, clients: &Clients, id: u64, message: &Message, limit: Limit) {
    let Some(tracker) = state.trackers.get_mut(&id) else {
        return;
    };
    let redirect = tracker.mode.redirect;
    // An outbox writes in its client's latest protocol: a RESP2 client
    // without a redirect gets nothing.
    let outbox_of = |id: u64| state.outboxes.get(&id).and_then(Weak::upgrade);
    if redirect == 0 {
        if let Some(outbox) = outbox_of(id) {
            outbox.push_frame(limit, |out| encode(out, false, message));
        }
        return;
    }
    let target = clients
        .get(redirect)
        .filter(|c| !c.killed.load(Ordering::Relaxed));
    let Some(target) = target else {
        if !tracker.broken_redirect {
            tracker.broken_redirect = true;
            show(&tracker.info, Some(&tracker.mode), true);
        }
        if let Some(outbox) = outbox_of(id) {
            outbox.push_frame(limit, |out| {
                if out.resp3 {
                    out.push(2);
                    out.bulk(b"tracking-redir-broken");
                    out.int(redirect as i64);
                }
            });
        }
        return;
    };
    let outbox = match outbox_of(redirect) {
        Some(outbox) => outbox,
        // A target with no outbox never subscribed: in RESP2 nothing can
        // reach it; in RESP3 it gets a writer for the pushes.
        None => {
            let resp3 = target.meta().resp == 3;
            let Some(outbox) = target
                .push_outbox
                .as_ref()
                .filter(|_| resp3)
                .and_then(|start| start(&target, true))
            else {
                return;
            };
            state.outboxes.insert(redirect, Arc::downgrade(&outbox));
            outbox
        }
    };
    let subscribed = outbox.client_subscribed();
    outbox.push_frame(limit, |out| encode(out, subscribed, message));
}

/// The message: a push in RESP3; in RESP2 a Pub/Sub message on the
/// invalidation channel, if the target is subscribed (else nothing).
fn encode(out: &mut Reply, subscribed: bool, message: &Message) {
    if out.resp3 {
        out.push(2);
        out.bulk(b"invalidate");
    } else if subscribed {
        out.push(3);
        out.bulk(b"message");
        out.bulk(INVALIDATE_CHANNEL);
    } else {
        return;
    }
    match message {
        Message::Keys(keys) => {
            out.array(keys.len());
            for key in keys {
                out.bulk(key);
            }
        }
        Message::Flush => out.null(),
    }
}
