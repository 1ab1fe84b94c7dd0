//! What Redis 7.0.15's own test suite found about blocked clients and a
//! connection's state (issue 16), each checked the same way against respd
//! and, when installed, a real redis-server:
//! - INFO's `blocked_clients` no longer counts a blocked client that hung
//!   up, and CLIENT UNBLOCK reaches every client INFO counts (the suite's
//!   "client unblock tests" hung when INFO still counted a client that had
//!   just closed its connection);
//! - a blocked command answered with an error (XGROUP DESTROY's NOGROUP)
//!   is a failed call in INFO's errorstats and commandstats;
//! - no key is expired while clients are paused, and a read after the
//!   pause deletes (and counts) the keys it finds expired;
//! - RESET logs the connection back in as the default user.
//!
//! Every read has a timeout: a client that is never answered fails its test
//! with "no reply" instead of hanging it. Nothing is timed.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::start;

use common::conn::Conn;
use common::differential;

/// Polls INFO until `blocked_clients` is not 0, as the suite's
/// `wait_for_blocked_client` does (bounded).
fn wait_some_blocked(probe: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while probe.info_field("clients", "blocked_clients") == "0" {
        assert!(Instant::now() < deadline, "no client ever blocked");
        thread::sleep(Duration::from_millis(2));
    }
}

// ----- blocked clients -----------------------------------------------------------------------

/// respd only: Redis may still count the client in an INFO that arrives
/// just after the hang-up (its event loop can take the INFO first), but
/// then serves the next client's command before a later INFO, in arrival
/// order. respd's connections run in parallel and cannot promise that
/// order, so it must not count a client that is gone: the suite's "client
/// unblock tests" hung on that stale count.
#[test]
fn a_blocked_client_that_hangs_up_is_no_longer_counted() {
    let server = start();
    let addr = server.local_addr();
    let mut admin = Conn::new(addr);
    for _ in 0..20 {
        let mut gone = Conn::new(addr);
        // On two keys, counted once.
        gone.send(&["BLPOP", "q", "other", "0"]);
        wait_some_blocked(&mut admin);
        assert_eq!(admin.info_field("clients", "blocked_clients"), "1");
        // The close reaches the server before the INFO that follows it.
        drop(gone);
        assert_eq!(admin.info_field("clients", "blocked_clients"), "0");
    }
    // Nothing popped on the gone clients' behalf.
    assert_eq!(admin.call(&["RPUSH", "q", "kept"]), ":1\r\n");
    assert_eq!(
        admin.call(&["LRANGE", "q", "0", "-1"]),
        "*1\r\n$4\r\nkept\r\n"
    );
}

/// The suite's "client unblock tests" right after a test that left a
/// client blocked and closed it: once INFO counts a blocked client, CLIENT
/// UNBLOCK of the one just sent must reach it (it used to answer 0, and the
/// client waited for ever, when INFO still counted the closed one).
#[test]
fn client_unblock_reaches_the_client_info_counts() {
    differential(|addr| {
        let mut admin = Conn::new(addr);
        for round in 0..30 {
            let mut previous = Conn::new(addr);
            previous.send(&["BRPOPLPUSH", "a", "b", "0"]);
            wait_some_blocked(&mut admin);
            drop(previous);
            let mut client = Conn::new(addr);
            let id = client.call(&["CLIENT", "ID"]);
            let id = id.trim_start_matches(':').trim_end().to_string();
            client.send(&["BLPOP", "l", "0"]);
            wait_some_blocked(&mut admin);
            assert_eq!(
                admin.call(&["CLIENT", "UNBLOCK", &id]),
                ":1\r\n",
                "round {round}: the blocked client was not reached"
            );
            assert_eq!(client.frame(), "*-1\r\n", "round {round}");
            // Let the server see the hang-up before the next round counts.
            let deadline = Instant::now() + Duration::from_secs(10);
            while admin.info_field("clients", "blocked_clients") != "0" {
                assert!(Instant::now() < deadline, "still counted as blocked");
                thread::sleep(Duration::from_millis(2));
            }
        }
        Vec::new()
    });
}

#[test]
fn xgroup_destroy_fails_the_blocked_xreadgroup_in_the_statistics() {
    let story = differential(|addr| {
        let mut admin = Conn::new(addr);
        let mut reader = Conn::new(addr);
        let mut log = vec![
            admin.call(&["CONFIG", "RESETSTAT"]),
            admin.call(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]),
        ];
        reader.send(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ]);
        wait_some_blocked(&mut admin);
        log.push(admin.call(&["XGROUP", "DESTROY", "s", "g"]));
        log.push(reader.frame());
        log.push(admin.info_field("errorstats", "errorstat_NOGROUP"));
        let stats = admin.info_field("commandstats", "cmdstat_xreadgroup");
        // calls=1,usec=..,usec_per_call=..,rejected_calls=0,failed_calls=1
        let counts: Vec<&str> = stats
            .split(',')
            .filter(|part| !part.starts_with("usec"))
            .collect();
        log.push(counts.join(","));
        log.push(admin.info_field("stats", "total_error_replies"));
        log
    });
    assert_eq!(
        story[3],
        "-NOGROUP the consumer group this client was blocked on no longer exists\r\n"
    );
    assert_eq!(story[4], "count=1");
    assert_eq!(story[5], "calls=1,rejected_calls=0,failed_calls=1");
    assert_eq!(story[6], "1");
}

// ----- expiry while clients are paused ------------------------------------------------------

#[test]
fn keys_do_not_expire_during_a_pause_and_a_later_read_deletes_them() {
    let story = differential(|addr| {
        let mut c = Conn::new(addr);
        let before: u64 = c.info_field("stats", "expired_keys").parse().unwrap();
        let mut log = vec![
            c.call(&["MULTI"]),
            c.call(&["SET", "foo", "bar", "PX", "10"]),
            c.call(&["SET", "bar", "foo", "PX", "10"]),
            c.call(&["CLIENT", "PAUSE", "50000", "WRITE"]),
            c.call(&["EXEC"]),
        ];
        // The keys read as gone once their time has passed...
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.call(&["GET", "foo"]) != "$-1\r\n" {
            assert!(Instant::now() < deadline, "foo never expired");
            thread::sleep(Duration::from_millis(5));
        }
        // (bar's time may end a millisecond after foo's: past it too.)
        thread::sleep(Duration::from_millis(50));
        log.push(c.call(&["GET", "bar"]));
        // ... but nothing deleted them, neither reads nor active expiry.
        log.push(c.info_field("keyspace", "db0"));
        let during: u64 = c.info_field("stats", "expired_keys").parse().unwrap();
        log.push((during - before).to_string());
        log.push(c.call(&["CLIENT", "UNPAUSE"]));
        log.push(c.call(&["GET", "foo"]));
        log.push(c.call(&["GET", "bar"]));
        let after: u64 = c.info_field("stats", "expired_keys").parse().unwrap();
        log.push((after - before).to_string());
        log.push(c.call(&["DBSIZE"]));
        log
    });
    assert_eq!(story[5], "$-1\r\n");
    assert!(story[6].starts_with("keys=2,expires=2,"), "{story:?}");
    assert_eq!(story[7], "0");
    assert_eq!(story[11], "2");
    assert_eq!(story[12], ":0\r\n");
}

// ----- RESET ---------------------------------------------------------------------------------

#[test]
fn reset_logs_back_in_as_the_default_user() {
    if common::as_test_user() {
        eprintln!("skipped as the test user: RESET logs in as the default user, which is off");
        return;
    }
    let story = differential(|addr| {
        let mut c = Conn::new(addr);
        let mut log = vec![
            c.call(&["ACL", "SETUSER", "user1", "on", ">secret", "+@all"]),
            c.call(&["AUTH", "user1", "secret"]),
            c.call(&["ACL", "WHOAMI"]),
            c.call(&["RESET"]),
            c.call(&["ACL", "WHOAMI"]),
        ];
        // With a password on the default user, RESET leaves the
        // connection unauthenticated.
        log.push(c.call(&["CONFIG", "SET", "requirepass", "pw"]));
        log.push(c.call(&["AUTH", "user1", "secret"]));
        log.push(c.call(&["RESET"]));
        log.push(c.call(&["ACL", "WHOAMI"]));
        log.push(c.call(&["AUTH", "pw"]));
        log.push(c.call(&["CONFIG", "SET", "requirepass", ""]));
        log.push(c.call(&["ACL", "DELUSER", "user1"]));
        log
    });
    assert_eq!(story[4], "$7\r\ndefault\r\n");
    assert_eq!(story[7], "+RESET\r\n");
    assert!(story[8].starts_with("-NOAUTH"), "{story:?}");
}
