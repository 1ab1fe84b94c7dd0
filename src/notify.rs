//! Keyspace notifications, as Redis 7.0: every change to a key is an event
//! (`set`, `lpush`, `del`, `expired`...) published on two channels through
//! the Pub/Sub hub, `__keyspace@<db>__:<key>` with the event as payload and
//! `__keyevent@<db>__:<event>` with the key as payload, for the classes
//! `notify-keyspace-events` switches on.
//!
//! Commands log their events with `Context::notify` while they hold a
//! database lock; the databases log `new` and `expired` themselves. The
//! log ([`EventLog`]) is published after each command, after blocked
//! clients are served, and by the expiry thread, never under a database
//! lock: publishing takes the hub's locks, and nothing takes a database
//! lock while holding those.

use std::sync::{Mutex, PoisonError};

use crate::pubsub::Space;
use crate::shared::Shared;
pub use crate::store::class;
use crate::store::EventLog;

/// The classes in the order `notify-keyspace-events` shows them.
const LETTERS: [(char, u32); 11] = [
    ('g', class::GENERIC),
    ('$', class::STRING),
    ('l', class::LIST),
    ('s', class::SET),
    ('h', class::HASH),
    ('z', class::ZSET),
    ('x', class::EXPIRED),
    ('e', class::EVICTED),
    ('t', class::STREAM),
    ('d', class::MODULE),
    ('n', class::NEW),
];

/// Redis's reason for a letter it does not know.
pub const BAD_CLASS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// Reads class letters (Redis's `keyspaceEventsStringToFlags`); None for
/// an unknown letter.
pub fn parse_classes(value: &str) -> Option<u32> {
    value.chars().try_fold(0, |classes, letter| {
        let bit = match letter {
            'A' => class::ALL,
            'K' => class::KEYSPACE,
            'E' => class::KEYEVENT,
            'm' => class::KEY_MISS,
            _ => LETTERS.iter().find(|(l, _)| *l == letter)?.1,
        };
        Some(classes | bit)
    })
}

/// The letters CONFIG GET shows (Redis's `keyspaceEventsFlagsToString`):
/// `A` stands for all its classes and then hides `n`; K, E, m come last.
pub fn show_classes(classes: u32) -> String {
    let mut shown = String::new();
    if classes & class::ALL == class::ALL {
        shown.push('A');
    } else {
        for (letter, bit) in LETTERS {
            if classes & bit != 0 {
                shown.push(letter);
            }
        }
    }
    for (letter, bit) in [
        ('K', class::KEYSPACE),
        ('E', class::KEYEVENT),
        ('m', class::KEY_MISS),
    ] {
        if classes & bit != 0 {
            shown.push(letter);
        }
    }
    shown
}

/// Makes the log follow the configuration (at startup and after CONFIG SET).
pub fn configure(shared: &Shared) {
    let config = shared.config();
    shared.store.events().set_classes(config.keyspace_events());
    // The access clocks follow the configuration at the same moments.
    let (policy, log_factor, decay) = config.access_settings();
    shared.store.access().configure(policy, log_factor, decay);
    shared
        .store
        .access()
        .configure_compact(config.compact_limits());
    let (maxmemory, policy, samples, tenacity) = config.memory_settings();
    shared
        .store
        .governor
        .configure(maxmemory, policy, samples, tenacity);
}

/// Deletes the expired keys readers found (counted in `expired_keys`, as
/// Redis's lookups delete them), unless clients are paused or this server
/// is a replica: then the keys stay, as in Redis, until a read after the
/// pause, active expiry, or the master's DEL.
fn purge_seen_expired(shared: &Shared, log: &EventLog) {
    let seen = log.take_seen_expired();
    if seen.is_empty() {
        return;
    }
    let keep = (shared.pause.engaged() && shared.pause.current().is_some())
        || shared.replication.replica.is_replica();
    let now = crate::util::now_ms();
    for (db, key) in seen {
        if !keep {
            shared.store.write(db).purge_if_expired(&key, now);
        }
        log.forget_unpurged(db, &key);
    }
}

/// Publishes the events logged so far. First deletes the expired keys that
/// readers found (they logged `expired` already). Cheap when nobody
/// listens and no reader found an expired key: two atomic loads.
pub fn publish_pending(shared: &Shared) {
    let log: &EventLog = shared.store.events();
    purge_seen_expired(shared, log);
    let classes = log.classes();
    if classes == 0 {
        return;
    }
    // One publisher at a time, so events go out in the order they were
    // logged even when two threads drain the log.
    static PUBLISHING: Mutex<()> = Mutex::new(());
    let _turn = PUBLISHING.lock().unwrap_or_else(PoisonError::into_inner);
    let events = log.take();
    if events.is_empty() {
        return;
    }
    let limit = shared.pubsub.output_limits(shared).pubsub;
    let mut channel = Vec::new();
    for event in events {
        if classes & class::KEYSPACE != 0 {
            channel.clear();
            channel.extend_from_slice(format!("__keyspace@{}__:", event.db).as_bytes());
            channel.extend_from_slice(&event.key);
            shared
                .pubsub
                .publish(Space::Channels, &channel, event.name.as_bytes(), limit);
        }
        if classes & class::KEYEVENT != 0 {
            let channel = format!("__keyevent@{}__:{}", event.db, event.name);
            shared
                .pubsub
                .publish(Space::Channels, channel.as_bytes(), &event.key, limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_letters_read_and_show_as_redis() {
        let show = |v: &str| parse_classes(v).map(show_classes);
        assert_eq!(show("KEA").as_deref(), Some("AKE"));
        assert_eq!(show("KEAmn").as_deref(), Some("AKEm"));
        assert_eq!(show("EnK$z").as_deref(), Some("$znKE"));
        assert_eq!(show("g$lshzxetd").as_deref(), Some("A"));
        assert_eq!(show("").as_deref(), Some(""));
        assert_eq!(show("gq"), None);
        assert_eq!(parse_classes("An"), Some(class::ALL | class::NEW));
    }
}
