//! What Redis 7.0.15's own test suite found (issue 16), each checked the
//! same way against respd and, when installed, a real redis-server:
//! clients left blocked for ever (BLMOVE into a key of another type,
//! XREADGROUP on a stream that goes away, Pub/Sub under CLIENT REPLY OFF),
//! WATCH invalidated by writes that changed nothing, XADD's ID overflow and
//! the unknown subcommands an unauthenticated client sends.
//!
//! Every read has a timeout: a client that is never answered fails its test
//! with "no reply" instead of hanging it.

mod common;

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use common::conn::Conn;
use common::differential;

/// Waits until the server counts `n` blocked clients (INFO clients), so
/// what follows happens while they wait.
fn wait_blocked(addr: SocketAddr, n: usize) {
    let mut probe = Conn::new(addr);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = probe.call(&["INFO", "clients"]);
        if info.contains(&format!("blocked_clients:{n}\r\n")) {
            return;
        }
        assert!(Instant::now() < deadline, "expected {n} blocked clients");
        thread::sleep(Duration::from_millis(10));
    }
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

// ----- 1. BLMOVE / BRPOPLPUSH into a key of another type ------------------------------------

#[test]
fn blocked_move_into_a_key_of_another_type_gets_wrongtype_and_leaves_the_source() {
    let story = differential(|addr| {
        let mut c = Conn::new(addr);
        let mut wrong = Conn::new(addr);
        let mut fine = Conn::new(addr);
        let mut log = vec![c.call(&["SET", "dst", "string"])];
        wrong.send(&["BRPOPLPUSH", "src", "dst", "0"]);
        wait_blocked(addr, 1);
        fine.send(&["BLMOVE", "src", "ok", "LEFT", "RIGHT", "0"]);
        wait_blocked(addr, 2);
        log.push(c.call(&["RPUSH", "src", "a", "b", "c"]));
        log.push(wrong.frame());
        log.push(fine.frame());
        log.push(c.call(&["LRANGE", "src", "0", "-1"]));
        log.push(c.call(&["LRANGE", "ok", "0", "-1"]));
        log.push(c.call(&["GET", "dst"]));
        // The same in RESP3, with BLMOVE, alone.
        wrong.call(&["HELLO", "3"]);
        log.push(c.call(&["DEL", "src"]));
        wrong.send(&["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"]);
        wait_blocked(addr, 1);
        log.push(c.call(&["LPUSH", "src", "x", "y"]));
        log.push(wrong.frame());
        log.push(c.call(&["LRANGE", "src", "0", "-1"]));
        log
    });
    assert_eq!(story[2], WRONGTYPE);
    assert_eq!(story[3], "$1\r\na\r\n");
    assert_eq!(story[4], "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    assert_eq!(story[9], WRONGTYPE);
    assert_eq!(story[10], "*2\r\n$1\r\ny\r\n$1\r\nx\r\n");
}

// ----- 2. Pub/Sub under CLIENT REPLY OFF / SKIP ---------------------------------------------

#[test]
fn pubsub_frames_go_out_whatever_client_reply_says() {
    for protocol in ["2", "3"] {
        let story = differential(|addr| {
            let mut sub = Conn::new(addr);
            let mut c = Conn::new(addr);
            let mut log = vec![sub.call(&["HELLO", protocol]).len().to_string()];
            c.call(&["CONFIG", "SET", "notify-keyspace-events", "KA"]);
            sub.send(&["CLIENT", "REPLY", "OFF"]);
            sub.send(&["SUBSCRIBE", "a", "b"]);
            log.push(sub.frame());
            log.push(sub.frame());
            sub.send(&["PSUBSCRIBE", "__keyspace@0__:*"]);
            log.push(sub.frame());
            sub.send(&["SSUBSCRIBE", "s"]);
            log.push(sub.frame());
            log.push(c.call(&["PUBLISH", "a", "hello"]));
            log.push(sub.frame());
            log.push(c.call(&["SET", "k", "v"]));
            log.push(sub.frame());
            log.push(c.call(&["SPUBLISH", "s", "shard"]));
            log.push(sub.frame());
            sub.send(&["UNSUBSCRIBE", "b"]);
            log.push(sub.frame());
            sub.send(&["UNSUBSCRIBE"]);
            log.push(sub.frame());
            sub.send(&["PUNSUBSCRIBE"]);
            log.push(sub.frame());
            sub.send(&["SUNSUBSCRIBE"]);
            log.push(sub.frame());
            // Any other reply stays off.
            sub.send(&["PING"]);
            sub.send(&["UNSUBSCRIBE"]);
            log.push(sub.frame());
            // SKIP: the next command's reply is dropped, not its frames.
            sub.send(&["CLIENT", "REPLY", "ON"]);
            log.push(sub.frame());
            sub.send(&["CLIENT", "REPLY", "SKIP"]);
            sub.send(&["SUBSCRIBE", "c"]);
            log.push(sub.frame());
            log.push(c.call(&["PUBLISH", "c", "after skip"]));
            log.push(sub.frame());
            log.push(sub.silent());
            c.call(&["CONFIG", "SET", "notify-keyspace-events", ""]);
            log
        });
        let push = if protocol == "3" { '>' } else { '*' };
        assert_eq!(
            story[1],
            format!("{push}3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n")
        );
        assert!(story[6].contains("hello"), "{story:?}");
        assert!(story[8].contains("__keyspace@0__:k"), "{story:?}");
        assert!(story[10].contains("shard"), "{story:?}");
        assert!(story[15].contains("unsubscribe"), "{story:?}");
        assert_eq!(story[16], "+OK\r\n");
        assert!(story[17].contains("subscribe"), "{story:?}");
        assert!(story[19].contains("after skip"), "{story:?}");
        assert_eq!(story[20], "");
    }
}

// ----- 3. XREADGROUP on a stream that goes away ---------------------------------------------

/// Blocks a reader with `block` (after `setup`), runs `actions` on another
/// connection, and returns the actions' replies and what the reader got.
fn wake_story(
    addr: SocketAddr,
    setup: &[&[&str]],
    block: &[&str],
    actions: &[&[&str]],
) -> Vec<String> {
    let mut c = Conn::new(addr);
    let mut reader = Conn::new(addr);
    let mut log: Vec<String> = setup.iter().map(|step| c.call(step)).collect();
    reader.send(block);
    wait_blocked(addr, 1);
    log.extend(actions.iter().map(|step| c.call(step)));
    log.push(reader.frame());
    log.push(reader.call(&["PING"]));
    log
}

const GROUP_SETUP: &[&[&str]] = &[
    &["XADD", "s", "1-1", "f", "v"],
    &["XGROUP", "CREATE", "s", "g", "$"],
];
const READ_GROUP: &[&str] = &[
    "XREADGROUP",
    "GROUP",
    "g",
    "c",
    "BLOCK",
    "0",
    "STREAMS",
    "s",
    ">",
];

#[test]
fn blocked_xreadgroup_is_told_when_its_stream_goes_away() {
    let unblocked = "-UNBLOCKED the stream key no longer exists\r\n";
    let cases: &[&[&[&str]]] = &[
        &[&["DEL", "s"]],
        &[&["UNLINK", "s"]],
        &[&["SET", "s", "string"]],
        &[&["MULTI"], &["DEL", "s"], &["SADD", "s", "e"], &["EXEC"]],
        &[&["RENAME", "s", "elsewhere"]],
        &[&["MOVE", "s", "1"]],
        &[&["FLUSHDB"]],
        &[&["FLUSHALL"]],
        &[&["SWAPDB", "0", "1"]],
        &[&["PEXPIRE", "s", "1"]],
    ];
    for actions in cases {
        eprintln!("case {actions:?}");
        let story = differential(|addr| wake_story(addr, GROUP_SETUP, READ_GROUP, actions));
        assert_eq!(story[story.len() - 2], unblocked, "{actions:?}: {story:?}");
    }
}

#[test]
fn every_xreadgroup_blocked_on_a_deleted_stream_is_told() {
    let story = differential(|addr| {
        let mut c = Conn::new(addr);
        let mut readers: Vec<Conn> = (0..3).map(|_| Conn::new(addr)).collect();
        let mut log: Vec<String> = GROUP_SETUP.iter().map(|step| c.call(step)).collect();
        // One plain XREAD among them: it waits on.
        readers[1].send(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
        wait_blocked(addr, 1);
        readers[0].send(READ_GROUP);
        wait_blocked(addr, 2);
        readers[2].send(READ_GROUP);
        wait_blocked(addr, 3);
        log.push(c.call(&["DEL", "s"]));
        log.push(readers[0].frame());
        log.push(readers[2].frame());
        wait_blocked(addr, 1);
        log.push(c.call(&["XADD", "s", "7-7", "f", "v"]));
        log.push(readers[1].frame());
        log
    });
    assert_eq!(story[3], "-UNBLOCKED the stream key no longer exists\r\n");
    assert_eq!(story[4], "-UNBLOCKED the stream key no longer exists\r\n");
    assert!(story[6].contains("7-7"), "{story:?}");
}

#[test]
fn blocked_xreadgroup_after_swapdb_meets_the_other_databases_stream() {
    // The other database has a stream under the same name, without the
    // group: NOGROUP.
    let story = differential(|addr| {
        let mut other = Conn::new(addr);
        other.call(&["SELECT", "1"]);
        other.call(&["XADD", "s", "5-1", "x", "y"]);
        wake_story(addr, GROUP_SETUP, READ_GROUP, &[&["SWAPDB", "0", "1"]])
    });
    assert_eq!(
        story[story.len() - 2],
        "-NOGROUP the consumer group this client was blocked on no longer exists\r\n"
    );
    // With the group and a new entry there: the reader is served from it.
    let story = differential(|addr| {
        let mut other = Conn::new(addr);
        other.call(&["SELECT", "1"]);
        other.call(&["XADD", "s", "5-1", "x", "y"]);
        other.call(&["XGROUP", "CREATE", "s", "g", "0"]);
        wake_story(addr, GROUP_SETUP, READ_GROUP, &[&["SWAPDB", "0", "1"]])
    });
    assert!(story[story.len() - 2].contains("5-1"), "{story:?}");
}

#[test]
fn blocked_xread_and_blpop_keep_waiting_when_their_key_goes_away() {
    // XREAD waits on through DEL and a key of another type, then is served
    // by the new stream.
    let story = differential(|addr| {
        wake_story(
            addr,
            &[&["XADD", "s", "1-1", "f", "v"]],
            &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"],
            &[
                &["DEL", "s"],
                &["SET", "s", "string"],
                &["FLUSHDB"],
                &["SWAPDB", "0", "1"],
                &["XADD", "s", "9-1", "a", "b"],
            ],
        )
    });
    assert!(story[story.len() - 2].contains("9-1"), "{story:?}");
    let story = differential(|addr| {
        wake_story(
            addr,
            &[],
            &["BLPOP", "l", "0"],
            &[
                &["SET", "l", "string"],
                &["DEL", "l"],
                &["FLUSHALL"],
                &["RPUSH", "l", "x"],
            ],
        )
    });
    assert_eq!(story[story.len() - 2], "*2\r\n$1\r\nl\r\n$1\r\nx\r\n");
}

// ----- 5. XADD's ID overflow -----------------------------------------------------------------

#[test]
fn xadd_refuses_ids_past_the_last_sequence() {
    let story = differential(|addr| {
        let mut c = Conn::new(addr);
        [
            &["XADD", "s", "5-18446744073709551615", "f", "v"][..],
            &["XADD", "s", "5-*", "f", "v"],
            &["XADD", "s", "4-*", "f", "v"],
            &["XADD", "s", "6-*", "f", "v"],
            &["XADD", "s", "6-*", "f", "v"],
            &["XLEN", "s"],
            &[
                "XADD",
                "m",
                "18446744073709551615-18446744073709551614",
                "f",
                "v",
            ],
            &["XADD", "m", "18446744073709551615-*", "f", "v"],
            &["XADD", "m", "18446744073709551615-*", "f", "v"],
            &["XADD", "m", "*", "f", "v"],
            &[
                "XADD",
                "m",
                "18446744073709551615-18446744073709551615",
                "f",
                "v",
            ],
            &["XADD", "e", "18446744073709551615-*", "f", "v"],
            &["XADD", "z", "0-*", "f", "v"],
            &["XADD", "z", "0-0", "f", "v"],
            &["XADD", "z", "18446744073709551616-*", "f", "v"],
            &["XADD", "z", "1-18446744073709551616", "f", "v"],
            &["XADD", "z", "MAXLEN", "1", "1-*", "f", "v"],
            &["XRANGE", "z", "-", "+"],
        ]
        .iter()
        .map(|args| c.call(args))
        .collect()
    });
    assert_eq!(story[1], "-ERR Elements are too large to be stored\r\n");
    assert_eq!(story[3], "$3\r\n6-0\r\n");
    assert_eq!(story[5], ":3\r\n");
    assert_eq!(
        story[8],
        "-ERR The stream has exhausted the last possible ID, unable to add more items\r\n"
    );
}

// ----- 6. Subcommands 7.0 lacks, before AUTH --------------------------------------------------

#[test]
fn an_unauthenticated_client_hears_unknown_where_7_0_knows_nothing() {
    if common::as_test_user() {
        eprintln!("skipped as the test user: its client is unauthenticated under the default user's requirepass");
        return;
    }
    let story = differential(|addr| {
        let mut admin = Conn::new(addr);
        admin.call(&["CONFIG", "SET", "requirepass", "secret"]);
        let mut c = Conn::new(addr);
        let log = [
            // What redis-py 5+ sends on connect, before AUTH.
            &["CLIENT", "SETINFO", "LIB-NAME", "redis-py"][..],
            &["CLIENT", "SETINFO", "LIB-VER", "6.0.0"],
            &["CLIENT", "NO-TOUCH", "ON"],
            &["CLIENT", "NOSUCH"],
            &["NOSUCH", "a"],
            &["CLIENT"],
            &["GET"],
            &["GET", "a"],
            &["CLIENT", "ID"],
            &["AUTH", "wrong"],
            &["AUTH", "secret"],
            &["CLIENT", "SETINFO", "LIB-NAME", "redis-py"],
            &["SET", "a", "1"],
        ]
        .iter()
        .map(|args| c.call(args))
        .collect();
        admin.call(&["AUTH", "secret"]);
        admin.call(&["CONFIG", "SET", "requirepass", ""]);
        log
    });
    assert_eq!(
        story[0],
        "-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.\r\n"
    );
    assert_eq!(story[7], "-NOAUTH Authentication required.\r\n");
    assert_eq!(story[12], "+OK\r\n");
}

// ----- 4. WATCH: only real modifications abort EXEC ------------------------------------------

/// One WATCH case: the keys set up, then `WATCH k`, then another client's
/// `writes`, then MULTI / PING / EXEC: true when EXEC was aborted.
struct WatchCase {
    setup: &'static [&'static [&'static str]],
    writes: &'static [&'static [&'static str]],
    aborts: bool,
}

const fn case(
    setup: &'static [&'static [&'static str]],
    writes: &'static [&'static [&'static str]],
    aborts: bool,
) -> WatchCase {
    WatchCase {
        setup,
        writes,
        aborts,
    }
}

const WATCH_CASES: &[WatchCase] = &[
    // Strings.
    case(&[&["SET", "k", "v"]], &[&["SET", "k", "v"]], true),
    case(&[&["SET", "k", "v"]], &[&["SETNX", "k", "w"]], false),
    case(&[&["SET", "k", "v"]], &[&["SET", "k", "w", "NX"]], false),
    case(&[], &[&["SET", "k", "w", "XX"]], false),
    case(&[&["SET", "k", "v"]], &[&["INCR", "k"]], false),
    case(&[&["SET", "k", "1"]], &[&["INCRBY", "k", "0"]], true),
    case(&[&["SET", "k", "1"]], &[&["INCRBYFLOAT", "k", "x"]], false),
    case(&[&["SET", "k", "v"]], &[&["APPEND", "k", ""]], true),
    case(&[&["SET", "k", "v"]], &[&["SETRANGE", "k", "0", ""]], false),
    case(&[&["SET", "k", "v"]], &[&["SETRANGE", "k", "0", "v"]], true),
    case(&[&["SET", "k", "v"]], &[&["GETEX", "k"]], false),
    case(&[&["SET", "k", "v"]], &[&["GETEX", "k", "PERSIST"]], false),
    case(&[&["SET", "k", "v"]], &[&["GETEX", "k", "EX", "100"]], true),
    case(&[&["SET", "k", "v"]], &[&["GETDEL", "k"]], true),
    case(&[], &[&["GETDEL", "k"]], false),
    case(
        &[&["SET", "k", "v"]],
        &[&["GET", "k"], &["STRLEN", "k"]],
        false,
    ),
    // Bitmaps.
    case(
        &[&["SETBIT", "k", "3", "1"]],
        &[&["SETBIT", "k", "3", "1"]],
        false,
    ),
    case(
        &[&["SETBIT", "k", "3", "1"]],
        &[&["SETBIT", "k", "3", "0"]],
        true,
    ),
    case(
        &[&["SETBIT", "k", "3", "1"]],
        &[&["SETBIT", "k", "100", "0"]],
        true,
    ),
    case(
        &[&["SET", "k", "v"]],
        &[&["BITFIELD", "k", "GET", "u8", "0"]],
        false,
    ),
    case(
        &[&["SET", "k", "v"]],
        &[&["BITFIELD", "k", "SET", "u8", "0", "118"]],
        false,
    ),
    case(
        &[&["SET", "k", "v"]],
        &[&["BITFIELD", "k", "SET", "u8", "0", "1"]],
        true,
    ),
    case(&[&["SADD", "k", "a"]], &[&["SETBIT", "k", "1", "1"]], false),
    // Lists.
    case(&[&["SET", "k", "v"]], &[&["LPUSH", "k", "x"]], false),
    case(&[&["RPUSH", "k", "a"]], &[&["RPUSH", "k", "x"]], true),
    case(&[], &[&["LPUSHX", "k", "x"]], false),
    case(&[&["RPUSH", "k", "a"]], &[&["LREM", "k", "0", "zz"]], false),
    case(&[&["RPUSH", "k", "a"]], &[&["LREM", "k", "0", "a"]], true),
    case(
        &[&["RPUSH", "k", "a", "b"]],
        &[&["LTRIM", "k", "0", "-1"]],
        true,
    ),
    case(&[&["RPUSH", "k", "a"]], &[&["LSET", "k", "0", "a"]], true),
    case(&[&["RPUSH", "k", "a"]], &[&["LSET", "k", "5", "a"]], false),
    case(
        &[&["RPUSH", "k", "a"]],
        &[&["LINSERT", "k", "BEFORE", "zz", "x"]],
        false,
    ),
    case(
        &[&["RPUSH", "k", "a"]],
        &[&["LINSERT", "k", "BEFORE", "a", "x"]],
        true,
    ),
    case(&[&["RPUSH", "k", "a"]], &[&["LPOP", "k", "0"]], false),
    case(&[&["RPUSH", "k", "a", "b"]], &[&["RPOP", "k"]], true),
    case(
        &[&["SET", "k", "v"]],
        &[&["RPOPLPUSH", "nothing", "k"]],
        false,
    ),
    case(
        &[&["SET", "k", "v"], &["RPUSH", "src", "a"]],
        &[&["LMOVE", "src", "k", "LEFT", "LEFT"]],
        false,
    ),
    case(
        &[&["RPUSH", "k", "a"]],
        &[&["LMOVE", "k", "k", "LEFT", "RIGHT"]],
        true,
    ),
    case(
        &[&["RPUSH", "k", "a"], &["RPUSH", "src", "x"]],
        &[&["LMOVE", "src", "k", "LEFT", "LEFT"]],
        true,
    ),
    // Hashes.
    case(
        &[&["HSET", "k", "f", "v"]],
        &[&["HSET", "k", "f", "v"]],
        true,
    ),
    case(
        &[&["HSET", "k", "f", "v"]],
        &[&["HSET", "k", "f", "w"]],
        true,
    ),
    case(
        &[&["HSET", "k", "f", "v"]],
        &[&["HSETNX", "k", "f", "w"]],
        false,
    ),
    case(
        &[&["HSET", "k", "f", "v"]],
        &[&["HSETNX", "k", "g", "w"]],
        true,
    ),
    case(&[&["HSET", "k", "f", "v"]], &[&["HDEL", "k", "zz"]], false),
    case(&[&["HSET", "k", "f", "v"]], &[&["HDEL", "k", "f"]], true),
    case(
        &[&["HSET", "k", "f", "v"]],
        &[&["HINCRBY", "k", "f", "1"]],
        false,
    ),
    case(
        &[&["HSET", "k", "f", "1"]],
        &[&["HINCRBY", "k", "f", "0"]],
        true,
    ),
    case(
        &[&["HSET", "k", "f", "v"]],
        &[&["HINCRBYFLOAT", "k", "f", "1"]],
        false,
    ),
    case(&[&["SET", "k", "v"]], &[&["HSET", "k", "f", "v"]], false),
    // Sets.
    case(&[&["SADD", "k", "a"]], &[&["SADD", "k", "a"]], false),
    case(&[&["SADD", "k", "a"]], &[&["SADD", "k", "b"]], true),
    case(&[&["SADD", "k", "a"]], &[&["SREM", "k", "zz"]], false),
    case(&[&["SADD", "k", "a", "b"]], &[&["SREM", "k", "a"]], true),
    case(
        &[&["SADD", "k", "a"], &["SADD", "s", "a"]],
        &[&["SMOVE", "s", "k", "a"]],
        false,
    ),
    case(
        &[&["SADD", "k", "a"], &["SADD", "s", "b"]],
        &[&["SMOVE", "s", "k", "zz"]],
        false,
    ),
    case(
        &[&["SADD", "k", "a"], &["SADD", "s", "b"]],
        &[&["SMOVE", "s", "k", "b"]],
        true,
    ),
    case(
        &[&["SADD", "k", "a"], &["SADD", "d", "a"]],
        &[&["SMOVE", "k", "d", "a"]],
        true,
    ),
    case(&[&["SADD", "k", "a"]], &[&["SMOVE", "k", "k", "a"]], false),
    case(&[&["SADD", "k", "a"]], &[&["SPOP", "k", "0"]], false),
    case(&[&["SADD", "k", "a"]], &[&["SPOP", "k"]], true),
    case(&[], &[&["SINTERSTORE", "k", "nothing", "none"]], false),
    case(
        &[&["SADD", "k", "a"]],
        &[&["SINTERSTORE", "k", "nothing"]],
        true,
    ),
    // Sorted sets.
    case(
        &[&["ZADD", "k", "1", "a"]],
        &[&["ZADD", "k", "1", "a"]],
        false,
    ),
    case(
        &[&["ZADD", "k", "1", "a"]],
        &[&["ZADD", "k", "2", "a"]],
        true,
    ),
    case(
        &[&["ZADD", "k", "1", "a"]],
        &[&["ZADD", "k", "XX", "1", "b"]],
        false,
    ),
    case(
        &[&["ZADD", "k", "1", "a"]],
        &[&["ZADD", "k", "NX", "5", "a"]],
        false,
    ),
    case(
        &[&["ZADD", "k", "1", "a"]],
        &[&["ZADD", "k", "GT", "0", "a"]],
        false,
    ),
    case(
        &[&["ZADD", "k", "1", "a"]],
        &[&["ZINCRBY", "k", "0", "a"]],
        false,
    ),
    case(
        &[&["ZADD", "k", "1", "a"]],
        &[&["ZINCRBY", "k", "1", "a"]],
        true,
    ),
    case(&[&["ZADD", "k", "1", "a"]], &[&["ZREM", "k", "zz"]], false),
    case(
        &[&["ZADD", "k", "1", "a", "2", "b"]],
        &[&["ZREM", "k", "a"]],
        true,
    ),
    case(
        &[&["ZADD", "k", "1", "a"]],
        &[&["ZREMRANGEBYSCORE", "k", "5", "6"]],
        false,
    ),
    case(
        &[&["ZADD", "k", "1", "a", "2", "b"]],
        &[&["ZPOPMIN", "k"]],
        true,
    ),
    case(
        &[&["ZADD", "k", "1", "a"]],
        &[&["ZPOPMIN", "k", "0"]],
        false,
    ),
    case(&[&["SET", "k", "v"]], &[&["ZADD", "k", "1", "a"]], false),
    // Streams.
    case(
        &[&["XADD", "k", "1-1", "f", "v"]],
        &[&["XADD", "k", "2-1", "f", "v"]],
        true,
    ),
    case(
        &[&["XADD", "k", "1-1", "f", "v"]],
        &[&["XADD", "k", "1-1", "f", "v"]],
        false,
    ),
    case(
        &[&["XADD", "k", "1-1", "f", "v"]],
        &[&["XDEL", "k", "9-9"]],
        false,
    ),
    case(
        &[&["XADD", "k", "1-1", "f", "v"]],
        &[&["XDEL", "k", "1-1"]],
        true,
    ),
    case(
        &[&["XADD", "k", "1-1", "f", "v"]],
        &[&["XTRIM", "k", "MAXLEN", "5"]],
        false,
    ),
    case(
        &[
            &["XADD", "k", "1-1", "f", "v"],
            &["XADD", "k", "2-1", "f", "v"],
        ],
        &[&["XTRIM", "k", "MAXLEN", "1"]],
        true,
    ),
    case(
        &[&["XADD", "k", "1-1", "f", "v"]],
        &[&["XGROUP", "CREATE", "k", "g", "0"]],
        false,
    ),
    case(
        &[],
        &[&["XGROUP", "CREATE", "k", "g", "0", "MKSTREAM"]],
        true,
    ),
    case(
        &[&["XADD", "k", "1-1", "f", "v"]],
        &[&["XSETID", "k", "5-5"]],
        false,
    ),
    case(
        &[
            &["XADD", "k", "1-1", "f", "v"],
            &["XGROUP", "CREATE", "k", "g", "0"],
        ],
        &[
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "k", ">"],
            &["XACK", "k", "g", "1-1"],
        ],
        false,
    ),
    // Keys.
    case(&[], &[&["DEL", "k"]], false),
    case(&[&["SET", "k", "v"]], &[&["DEL", "k"]], true),
    case(&[&["SET", "k", "v"]], &[&["RENAME", "k", "k"]], false),
    case(&[&["SET", "k", "v"]], &[&["EXPIRE", "k", "100"]], true),
    case(
        &[&["SET", "k", "v", "EX", "100"]],
        &[&["EXPIRE", "k", "200", "NX"]],
        false,
    ),
    case(&[&["SET", "k", "v"]], &[&["PERSIST", "k"]], false),
    case(
        &[&["SET", "k", "v", "EX", "100"]],
        &[&["PERSIST", "k"]],
        true,
    ),
    case(
        &[&["SET", "k", "v"]],
        &[&["TOUCH", "k"], &["EXISTS", "k"], &["TYPE", "k"]],
        false,
    ),
    case(&[&["SET", "k", "v"]], &[&["MOVE", "k", "1"]], true),
    case(&[&["SET", "k", "v"]], &[&["COPY", "k", "other"]], false),
    case(&[&["SET", "other", "v"]], &[&["COPY", "other", "k"]], true),
    case(&[&["SET", "k", "v"]], &[&["FLUSHDB"]], true),
    case(&[&["SET", "x", "v"]], &[&["FLUSHDB"]], false),
    case(&[&["SET", "x", "v"]], &[&["FLUSHALL"]], false),
    case(&[&["SET", "x", "v"]], &[&["SWAPDB", "0", "1"]], false),
    case(&[], &[&["UNLINK", "k"], &["EXPIRE", "k", "100"]], false),
    case(&[&["SET", "k", "v"]], &[&["EXPIRE", "k", "-1"]], true),
    case(&[&["SET", "k", "v"]], &[&["SET", "k", "v", "GET"]], true),
    case(
        &[&["SET", "k", "v"]],
        &[&["MSETNX", "k", "w", "z", "1"]],
        false,
    ),
    case(
        &[&["SET", "k", "v"]],
        &[&["MSET", "z", "1", "k", "v"]],
        true,
    ),
    case(
        &[&["SET", "k", "v"], &["SET", "o", "v"]],
        &[&["RENAMENX", "o", "k"]],
        false,
    ),
    case(&[&["SET", "o", "v"]], &[&["RENAME", "o", "k"]], true),
    case(&[], &[&["ZUNIONSTORE", "k", "1", "nothing"]], false),
    case(
        &[&["SET", "k", "v"]],
        &[&["ZUNIONSTORE", "k", "1", "nothing"]],
        true,
    ),
    case(&[], &[&["BITOP", "AND", "k", "nothing"]], false),
    case(
        &[&["SET", "k", "v"]],
        &[&["BITOP", "AND", "k", "nothing"]],
        true,
    ),
    case(
        &[],
        &[&["LMPOP", "1", "k", "LEFT"], &["ZMPOP", "1", "k", "MIN"]],
        false,
    ),
    case(
        &[&["ZADD", "k", "1", "a"]],
        &[&["ZREMRANGEBYRANK", "k", "5", "6"]],
        false,
    ),
    case(
        &[
            &["XADD", "k", "1-1", "f", "v"],
            &["XGROUP", "CREATE", "k", "g", "0"],
        ],
        &[
            &["XGROUP", "CREATECONSUMER", "k", "g", "c"],
            &["XGROUP", "SETID", "k", "g", "0"],
            &["XGROUP", "DELCONSUMER", "k", "g", "c"],
            &["XGROUP", "DESTROY", "k", "g"],
        ],
        false,
    ),
    case(&[&["SET", "k", "v"]], &[&["SWAPDB", "0", "1"]], true),
];

/// Runs every case on `addr`: for each, whether EXEC was aborted (`*-1`).
fn watch_story(addr: SocketAddr) -> Vec<String> {
    let mut watcher = Conn::new(addr);
    let mut writer = Conn::new(addr);
    WATCH_CASES
        .iter()
        .map(|case| {
            watcher.call(&["FLUSHALL"]);
            for step in case.setup {
                writer.call(step);
            }
            watcher.call(&["WATCH", "k"]);
            let writes: Vec<String> = case.writes.iter().map(|w| writer.call(w)).collect();
            watcher.call(&["MULTI"]);
            watcher.call(&["PING"]);
            let exec = watcher.call(&["EXEC"]);
            format!(
                "{:?} then {:?} -> {writes:?} EXEC {exec:?}",
                case.setup, case.writes
            )
        })
        .collect()
}

#[test]
fn watch_is_broken_only_by_real_modifications() {
    let story = differential(watch_story);
    for (line, case) in story.iter().zip(WATCH_CASES) {
        let aborted = line.ends_with("EXEC \"*-1\\r\\n\"");
        assert_eq!(aborted, case.aborts, "{line}");
    }
}

#[test]
fn watch_and_expiry() {
    let story = differential(|addr| {
        let mut watcher = Conn::new(addr);
        let mut log = Vec::new();
        // Alive when watched, expired by EXEC: aborted.
        watcher.call(&["SET", "k", "v", "PX", "1000"]);
        watcher.call(&["WATCH", "k"]);
        thread::sleep(Duration::from_millis(1200));
        watcher.call(&["MULTI"]);
        watcher.call(&["PING"]);
        log.push(watcher.call(&["EXEC"]));
        // Already expired when watched (Redis's `expired` flag): its going
        // (lazily or by the active cycle) is no change.
        watcher.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        watcher.call(&["SET", "k", "v", "PX", "1"]);
        thread::sleep(Duration::from_millis(50));
        watcher.call(&["WATCH", "k"]);
        watcher.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
        thread::sleep(Duration::from_millis(300));
        watcher.call(&["MULTI"]);
        watcher.call(&["PING"]);
        log.push(watcher.call(&["EXEC"]));
        // Already expired when watched, then written: aborted.
        watcher.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        watcher.call(&["SET", "k", "v", "PX", "1"]);
        thread::sleep(Duration::from_millis(50));
        watcher.call(&["WATCH", "k"]);
        Conn::new(addr).call(&["SET", "k", "new"]);
        watcher.call(&["MULTI"]);
        watcher.call(&["PING"]);
        log.push(watcher.call(&["EXEC"]));
        watcher.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
        log
    });
    assert_eq!(story, ["*-1\r\n", "*1\r\n+PONG\r\n", "*-1\r\n"]);
}

#[test]
fn watch_sees_what_a_served_blocked_client_pushes() {
    let story = differential(|addr| {
        let mut watcher = Conn::new(addr);
        let mut blocked = Conn::new(addr);
        let mut writer = Conn::new(addr);
        watcher.call(&["WATCH", "k"]);
        blocked.send(&["BLMOVE", "src", "k", "LEFT", "LEFT", "0"]);
        wait_blocked(addr, 1);
        let mut log = vec![writer.call(&["RPUSH", "src", "x"]), blocked.frame()];
        watcher.call(&["MULTI"]);
        watcher.call(&["PING"]);
        log.push(watcher.call(&["EXEC"]));
        log
    });
    assert_eq!(story[2], "*-1\r\n");
}
