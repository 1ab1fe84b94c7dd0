//! Keyspace notifications: the `notify-keyspace-events` parameter, the
//! events of every family in Redis 7.0's order (`new`, `del` on an emptied
//! container, `expired` from lazy and active expiry, RENAME, MOVE, SET EX,
//! blocked clients being served, EXEC), their RESP2 and RESP3 frames, and a
//! comparison with a real Redis.

mod common;

use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use common::{start, start_with, RealRedis};
use respd::resp::Frame;
use respd::Client;

/// The channel published after each step, so the listener knows when it
/// has seen everything the step caused (it matches `__key*__:*`).
const SYNC: &str = "__key__:sync";

fn text(frame: &Frame) -> String {
    match frame {
        Frame::Bulk(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => format!("{other:?}"),
    }
}

/// A client that runs commands and a pattern subscriber that hears every
/// keyspace event, as `channel=payload` lines.
struct Listener {
    commands: Client,
    events: Client,
    resp3: bool,
}

impl Listener {
    /// `classes` for CONFIG SET, or None to keep the server's.
    fn new(addr: SocketAddr, classes: Option<&str>, resp3: bool) -> Listener {
        let mut commands = common::client(addr);
        commands.command(&["FLUSHALL"]).expect("flushall");
        if let Some(classes) = classes {
            let reply = commands
                .command(&["CONFIG", "SET", "notify-keyspace-events", classes])
                .expect("config set");
            assert_eq!(reply, Frame::Simple("OK".into()));
        }
        let mut events = common::client(addr);
        if resp3 {
            events.command(&["HELLO", "3"]).expect("hello");
        }
        events
            .command(&["PSUBSCRIBE", "__key*__:*"])
            .expect("psubscribe");
        Listener {
            commands,
            events,
            resp3,
        }
    }

    /// Runs `args` and returns its reply and the events it caused.
    fn run(&mut self, args: &[&str]) -> (Frame, Vec<String>) {
        let reply = self.commands.command(args).expect("command");
        (reply, self.sync())
    }

    /// The events published since the last sync.
    fn sync(&mut self) -> Vec<String> {
        self.commands
            .command(&["PUBLISH", SYNC, "x"])
            .expect("publish");
        let mut seen = Vec::new();
        loop {
            let message = match self.events.read_reply().expect("message") {
                Frame::Push(items) if self.resp3 => items,
                Frame::Array(items) if !self.resp3 => items,
                other => panic!("not a message in this protocol: {other:?}"),
            };
            assert_eq!(text(&message[0]), "pmessage");
            let (channel, payload) = (text(&message[2]), text(&message[3]));
            if channel == SYNC {
                return seen;
            }
            seen.push(format!("{channel}={payload}"));
        }
    }
}

/// `__keyspace@0__:key=event` then `__keyevent@0__:event=key`.
fn both_channels(db: usize, event: &str, key: &str) -> [String; 2] {
    [
        format!("__keyspace@{db}__:{key}={event}"),
        format!("__keyevent@{db}__:{event}={key}"),
    ]
}

/// The events `(event, key)` in database 0, on both channels.
fn expect(events: &[(&str, &str)]) -> Vec<String> {
    events
        .iter()
        .flat_map(|(event, key)| both_channels(0, event, key))
        .collect()
}

#[test]
fn parameter_reads_shows_and_refuses_as_redis() {
    let server = start();
    let mut client = common::client(server.local_addr());
    for (set, shown) in [
        ("KEA", "AKE"),
        ("KEAmn", "AKEm"),
        ("EnK$z", "$znKE"),
        ("g$lshzxetd", "A"),
        ("", ""),
    ] {
        let reply = client
            .command(&["CONFIG", "SET", "notify-keyspace-events", set])
            .expect("set");
        assert_eq!(reply, Frame::Simple("OK".into()));
        let reply = client
            .command(&["CONFIG", "GET", "notify-keyspace-events"])
            .expect("get");
        assert_eq!(
            reply,
            Frame::Array(vec![
                Frame::Bulk(b"notify-keyspace-events".to_vec()),
                Frame::Bulk(shown.as_bytes().to_vec())
            ])
        );
    }
    let reply = client
        .command(&["CONFIG", "SET", "notify-keyspace-events", "Kq"])
        .expect("set");
    assert_eq!(
        reply,
        Frame::Error("ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
    );
    let mut config = respd::Config::default();
    let err = config
        .load_args(&["--notify-keyspace-events".into(), "x?".into()])
        .unwrap_err();
    assert!(err.contains("Invalid event class character"), "{err}");
}

#[test]
fn a_config_file_switches_notifications_on() {
    let server = start_with("notify-keyspace-events Eg$\n");
    let mut listener = Listener::new(server.local_addr(), None, false);
    let (_, events) = listener.run(&["SET", "k", "v", "EX", "100"]);
    assert_eq!(events, ["__keyevent@0__:set=k", "__keyevent@0__:expire=k"]);
    // Only the classes asked for: lists are not.
    let (_, events) = listener.run(&["LPUSH", "l", "a"]);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn nothing_is_published_when_notifications_are_off() {
    let server = start();
    for classes in ["", "A", "K", "E"] {
        let mut listener = Listener::new(server.local_addr(), Some(classes), false);
        for command in [
            &["SET", "k", "v", "EX", "100"][..],
            &["LPUSH", "l", "a"],
            &["DEL", "k", "l"],
            &["HSET", "h", "f", "v"],
        ] {
            let (_, events) = listener.run(command);
            assert!(events.is_empty(), "{classes}: {command:?}: {events:?}");
        }
    }
}

#[test]
fn messages_have_the_exact_frames_of_both_protocols() {
    let server = start();
    for resp3 in [false, true] {
        let mut commands = common::client(server.local_addr());
        commands
            .command(&["CONFIG", "SET", "notify-keyspace-events", "KEg$"])
            .expect("config");
        let mut events = common::client(server.local_addr());
        if resp3 {
            events.command(&["HELLO", "3"]).expect("hello");
        }
        events
            .command(&["SUBSCRIBE", "__keyspace@0__:k"])
            .expect("subscribe");
        events
            .command(&["PSUBSCRIBE", "__keyevent@*"])
            .expect("psubscribe");
        commands.command(&["SET", "k", "v"]).expect("set");
        let head = if resp3 { '>' } else { '*' };
        let (_, bytes) = events.read_reply_with_bytes().expect("message");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            format!("{head}3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:k\r\n$3\r\nset\r\n")
        );
        let (_, bytes) = events.read_reply_with_bytes().expect("message");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            format!("{head}4\r\n$8\r\npmessage\r\n$12\r\n__keyevent@*\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n")
        );
    }
}

/// A command and the `(event, key)` pairs it must publish.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

#[test]
fn every_family_reports_its_events_in_order() {
    let server = start();
    let mut listener = Listener::new(server.local_addr(), Some("KEA"), false);
    let cases: &[Case] = &[
        (
            &["SET", "s", "1", "PX", "100000"],
            &[("set", "s"), ("expire", "s")],
        ),
        (&["INCRBY", "s", "2"], &[("incrby", "s")]),
        (&["INCRBYFLOAT", "s", "0.5"], &[("incrbyfloat", "s")]),
        (&["APPEND", "s", "x"], &[("append", "s")]),
        (&["SETRANGE", "s", "0", "9"], &[("setrange", "s")]),
        (&["PERSIST", "s"], &[("persist", "s")]),
        (&["SETBIT", "b", "7", "1"], &[("setbit", "b")]),
        (&["SETBIT", "b", "7", "1"], &[]),
        (&["RPUSH", "l", "a", "b"], &[("rpush", "l")]),
        (
            &["LMOVE", "l", "m", "LEFT", "RIGHT"],
            &[("rpush", "m"), ("lpop", "l")],
        ),
        (&["LPOP", "l"], &[("lpop", "l"), ("del", "l")]),
        (&["HSET", "h", "f", "1"], &[("hset", "h")]),
        (&["HINCRBY", "h", "f", "1"], &[("hincrby", "h")]),
        (&["HDEL", "h", "f"], &[("hdel", "h"), ("del", "h")]),
        (&["SADD", "t", "a", "b"], &[("sadd", "t")]),
        (&["SMOVE", "t", "u", "a"], &[("srem", "t"), ("sadd", "u")]),
        (&["SINTERSTORE", "v", "t", "u"], &[]),
        (&["SUNIONSTORE", "v", "t", "u"], &[("sunionstore", "v")]),
        (&["ZADD", "z", "1", "a", "2", "b"], &[("zadd", "z")]),
        (&["ZINCRBY", "z", "1", "a"], &[("zincr", "z")]),
        (&["ZPOPMAX", "z", "5"], &[("zpopmax", "z"), ("del", "z")]),
        (&["EXPIRE", "v", "100"], &[("expire", "v")]),
        (
            &["RENAME", "v", "w"],
            &[("rename_from", "v"), ("rename_to", "w")],
        ),
        (&["COPY", "w", "x"], &[("copy_to", "x")]),
        (&["DEL", "w", "x", "nokey"], &[("del", "w"), ("del", "x")]),
        (&["EXPIRE", "m", "0"], &[("del", "m")]),
    ];
    for (command, expected) in cases {
        let (_, events) = listener.run(command);
        assert_eq!(events, expect(expected), "{command:?}");
    }
    // MOVE: the key leaves database 0 and arrives in database 1.
    listener.run(&["SET", "k", "v"]);
    let (_, events) = listener.run(&["MOVE", "k", "1"]);
    let mut expected = both_channels(0, "move_from", "k").to_vec();
    expected.extend(both_channels(1, "move_to", "k"));
    assert_eq!(events, expected);
}

#[test]
fn new_keys_are_reported_with_the_n_class() {
    let server = start();
    let mut listener = Listener::new(server.local_addr(), Some("KEAn"), true);
    let (_, events) = listener.run(&["SET", "a", "1"]);
    assert_eq!(events, expect(&[("new", "a"), ("set", "a")]));
    let (_, events) = listener.run(&["SET", "a", "2"]);
    assert_eq!(events, expect(&[("set", "a")]));
    listener.run(&["SET", "b", "1"]);
    // RENAME onto an existing key adds it anew, before reporting.
    let (_, events) = listener.run(&["RENAME", "a", "b"]);
    assert_eq!(
        events,
        expect(&[("new", "b"), ("rename_from", "a"), ("rename_to", "b")])
    );
}

#[test]
fn expired_keys_are_reported_by_lazy_and_active_expiry() {
    let server = start_with("enable-debug-command yes\n");
    let mut listener = Listener::new(server.local_addr(), Some("KEA"), true);
    // Lazy: with active expiry off, the commands that meet the key do it.
    listener.run(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    listener.run(&["SET", "k", "v", "PX", "1"]);
    listener.run(&["SET", "j", "v"]);
    thread::sleep(Duration::from_millis(20));
    assert!(listener.sync().is_empty());
    let (reply, events) = listener.run(&["GET", "k"]);
    assert_eq!(reply, Frame::NullBulk);
    assert_eq!(events, expect(&[("expired", "k")]));
    // A read finds it only once.
    let (_, events) = listener.run(&["EXISTS", "k"]);
    assert!(events.is_empty(), "{events:?}");
    listener.run(&["SET", "k", "v", "PX", "1"]);
    thread::sleep(Duration::from_millis(20));
    let (_, events) = listener.run(&["DEL", "j", "k"]);
    assert_eq!(events, expect(&[("del", "j"), ("expired", "k")]));
    listener.run(&["SET", "k", "v", "PX", "1"]);
    thread::sleep(Duration::from_millis(20));
    let (_, events) = listener.run(&["LPUSH", "k", "a"]);
    assert_eq!(events, expect(&[("expired", "k"), ("lpush", "k")]));
    // Active: the expiry thread finds it without anyone asking.
    listener.run(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    listener.run(&["SET", "gone", "v", "PX", "1"]);
    let mut events = Vec::new();
    for _ in 0..200 {
        events.extend(listener.sync());
        if !events.is_empty() {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(events, expect(&[("expired", "gone")]));
}

#[test]
fn served_blocked_clients_and_exec_report_as_they_run() {
    let server = start();
    let mut listener = Listener::new(server.local_addr(), Some("KEA"), false);
    let mut blocked = common::client(server.local_addr());
    blocked
        .send(&["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"])
        .expect("send");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.shared().blocking.blocked_count() != 1 {
        assert!(std::time::Instant::now() < deadline, "BLMOVE never blocked");
        thread::sleep(Duration::from_millis(10));
    }
    let (_, events) = listener.run(&["LPUSH", "src", "1", "2"]);
    assert_eq!(
        events,
        expect(&[("lpush", "src"), ("lpush", "dst"), ("rpop", "src")])
    );
    assert_eq!(
        blocked.read_reply().expect("reply"),
        Frame::Bulk(b"1".to_vec())
    );
    listener.commands.command(&["MULTI"]).expect("multi");
    listener
        .commands
        .command(&["SET", "k", "v", "EX", "10"])
        .expect("queue");
    listener.commands.command(&["INCR", "n"]).expect("queue");
    listener.commands.command(&["EXEC"]).expect("exec");
    assert_eq!(
        listener.sync(),
        expect(&[("set", "k"), ("expire", "k"), ("incrby", "n")])
    );
}

/// Runs `script` against respd and Redis in both protocols and asserts
/// they publish the same messages.
fn assert_same_events(ours: SocketAddr, theirs: SocketAddr, script: &[&[&str]]) {
    for resp3 in [false, true] {
        let mine = script_events(ours, script, resp3);
        assert_eq!(mine, script_events(theirs, script, resp3));
        println!(
            "{} commands, {} messages identical to Redis (RESP{})",
            script.len(),
            mine.len(),
            if resp3 { 3 } else { 2 }
        );
    }
}

/// The whole message sequence of one script, in a server.
fn script_events(addr: SocketAddr, script: &[&[&str]], resp3: bool) -> Vec<String> {
    let mut listener = Listener::new(addr, Some("KEAn"), resp3);
    let mut events = Vec::new();
    for command in script {
        if command[0] == "SLEEP" {
            thread::sleep(Duration::from_millis(30));
            continue;
        }
        let (_, seen) = listener.run(command);
        events.extend(seen);
    }
    events
}

#[test]
fn the_same_script_publishes_the_same_messages_as_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let script: &[&[&str]] = &[
        &["SET", "a", "1", "EX", "100"],
        &["SET", "a", "2", "KEEPTTL"],
        &["GETEX", "a", "PERSIST"],
        &["GETEX", "a", "PXAT", "1"],
        &["MSET", "a", "1", "b", "2"],
        &["MSETNX", "c", "1", "a", "2"],
        &["INCR", "c"],
        &["DECRBY", "c", "5"],
        &["GETSET", "c", "x"],
        &["GETDEL", "c"],
        &["SETNX", "c", "1"],
        &["SETEX", "d", "100", "v"],
        &["PSETEX", "d", "100000", "v"],
        &["SETRANGE", "e", "0", ""],
        &["SETRANGE", "e", "2", "x"],
        &["SET", "p", "v", "PX", "1"],
        &["SLEEP"],
        &["SET", "p", "w"],
        &["RPUSH", "l", "a", "b", "c", "d"],
        &["LPUSHX", "nol", "a"],
        &["LSET", "l", "0", "z"],
        &["LINSERT", "l", "AFTER", "z", "y"],
        &["LREM", "l", "0", "y"],
        &["LTRIM", "l", "0", "1"],
        &["RPOPLPUSH", "l", "l"],
        &["LMPOP", "1", "l", "RIGHT", "COUNT", "9"],
        &["HSET", "h", "a", "1", "b", "2"],
        &["HSETNX", "h", "a", "1"],
        &["HINCRBYFLOAT", "h", "c", "1.5"],
        &["HDEL", "h", "a", "b", "c"],
        &["SADD", "s", "a", "b", "c"],
        &["SREM", "s", "a"],
        &["SPOP", "s", "0"],
        &["SADD", "s2", "b"],
        &["SDIFFSTORE", "s3", "s", "s2"],
        &["SINTERSTORE", "s3", "s", "nokey"],
        &["SMOVE", "s", "s2", "b"],
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        &["ZADD", "z", "XX", "CH", "5", "a"],
        &["ZADD", "z", "INCR", "1", "a"],
        &["ZREM", "z", "a"],
        &["ZREMRANGEBYSCORE", "z", "0", "2"],
        &["ZUNIONSTORE", "zu", "2", "z", "nokey"],
        &["ZINTERSTORE", "zi", "2", "z", "zu"],
        &["ZDIFFSTORE", "zd", "2", "z", "zu"],
        &["ZRANGESTORE", "zr", "zu", "0", "-1"],
        &["ZREMRANGEBYRANK", "zu", "0", "-1"],
        &["ZREMRANGEBYLEX", "zr", "-", "+"],
        &["ZMPOP", "1", "z", "MIN"],
        &["BZPOPMIN", "zi", "0"],
        &["SETBIT", "bits", "3", "1"],
        &["BITFIELD", "bits", "SET", "u8", "0", "7", "GET", "u8", "0"],
        &["BITOP", "NOT", "nbits", "bits"],
        &["BITOP", "AND", "nbits", "nokey"],
        &["EXPIRE", "bits", "100", "NX"],
        &["PEXPIREAT", "bits", "1"],
        &["RENAMENX", "a", "b"],
        &["RENAME", "a", "aa"],
        &["COPY", "aa", "b", "REPLACE"],
        &["COPY", "aa", "x", "DB", "3"],
        &["MOVE", "aa", "2"],
        &["UNLINK", "b", "d", "nokey"],
    ];
    assert_same_events(server.local_addr(), real.addr, script);
}

// ----- streams (class t): xadd, xtrim, xdel, xsetid, xgroup-*, also
// consumers created by XREADGROUP, XCLAIM and XAUTOCLAIM; nothing for
// commands that change nothing.

#[test]
fn stream_commands_publish_the_same_messages_as_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let script: &[&[&str]] = &[
        &["XADD", "s", "1-1", "f", "v"],
        &["XADD", "s", "2-1", "f", "v"],
        &["XADD", "s", "MAXLEN", "2", "3-1", "f", "v"],
        &["XADD", "s", "MAXLEN", "~", "1", "3-2", "f", "v"],
        &["XADD", "nos", "NOMKSTREAM", "1-1", "f", "v"],
        &["XADD", "s", "1-1", "f", "v"],
        &["XTRIM", "s", "MAXLEN", "5"],
        &["XTRIM", "s", "MAXLEN", "1"],
        &["XTRIM", "s", "MINID", "9"],
        &["XDEL", "s", "3-2"],
        &["XDEL", "s", "9-9"],
        &["XADD", "s", "4-1", "f", "v"],
        &["XADD", "s", "4-2", "f", "v"],
        &["XSETID", "s", "10-0"],
        &[
            "XSETID",
            "s",
            "10-0",
            "ENTRIESADDED",
            "99",
            "MAXDELETEDID",
            "3-0",
        ],
        &["XGROUP", "CREATE", "s", "g", "0"],
        &["XGROUP", "CREATE", "s", "g", "0"],
        &["XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"],
        &["XGROUP", "CREATECONSUMER", "s", "g", "c1"],
        &["XGROUP", "CREATECONSUMER", "s", "g", "c1"],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c2",
            "COUNT",
            "1",
            "STREAMS",
            "s",
            ">",
        ],
        &["XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", "0"],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c5",
            "NOACK",
            "STREAMS",
            "s",
            ">",
        ],
        &["XREADGROUP", "GROUP", "g", "c6", "STREAMS", "m", ">"],
        &["XCLAIM", "s", "g", "c3", "0", "4-1"],
        &["XCLAIM", "s", "g", "c7", "0", "8-8"],
        &["XAUTOCLAIM", "s", "g", "c4", "0", "0"],
        &["XACK", "s", "g", "4-1"],
        &["XACK", "s", "g", "4-1"],
        &["XGROUP", "SETID", "s", "g", "$"],
        &["XGROUP", "DELCONSUMER", "s", "g", "c1"],
        &["XGROUP", "DELCONSUMER", "s", "g", "nobody"],
        &["XGROUP", "DESTROY", "s", "g"],
        &["XGROUP", "DESTROY", "s", "nog"],
        &["EXPIRE", "m", "100"],
        &["XLEN", "s"],
        &["XRANGE", "s", "-", "+"],
        &["XINFO", "STREAM", "s"],
        &["COPY", "s", "s2"],
        &["RENAME", "s2", "s3"],
        &["DEL", "s", "s3", "m"],
    ];
    assert_same_events(server.local_addr(), real.addr, script);
}

/// The events of a blocked XREADGROUP served by an XADD: the consumer is
/// created when the read is served.
fn blocked_read_events(addr: SocketAddr) -> Vec<String> {
    let mut listener = Listener::new(addr, Some("KEA"), false);
    listener.run(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let mut reader = common::client(addr);
    let blocked = thread::spawn(move || {
        reader
            .command(&[
                "XREADGROUP",
                "GROUP",
                "g",
                "late",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ])
            .expect("xreadgroup")
    });
    // Until the reader is parked.
    loop {
        let (reply, _) = listener.run(&["INFO", "clients"]);
        if text(&reply).contains("blocked_clients:1") {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let (_, mut events) = listener.run(&["XADD", "s", "1-1", "f", "v"]);
    blocked.join().expect("reader");
    events.extend(listener.sync());
    events
}

#[test]
fn a_served_blocked_read_creates_its_consumer_as_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let ours = blocked_read_events(server.local_addr());
    let theirs = blocked_read_events(real.addr);
    assert_eq!(ours, theirs);
    assert!(
        ours.iter().any(|e| e.ends_with("=xgroup-createconsumer")),
        "{ours:?}"
    );
}

/// The messages of `script` with classes `classes`, in one server.
fn script_events_with(addr: SocketAddr, classes: &str, script: &[&[&str]]) -> Vec<String> {
    let mut listener = Listener::new(addr, Some(classes), false);
    let mut events = Vec::new();
    for command in script {
        events.extend(listener.run(command).1);
    }
    events
}

#[test]
fn read_misses_and_sort_store_publish_as_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    // Read commands that miss publish `keymiss`; writes, OBJECT and
    // blocked-client lookups do not.
    let script: &[&[&str]] = &[
        &["GET", "nope"],
        &["MGET", "nope", "nope2"],
        &["STRLEN", "nope"],
        &["GETRANGE", "nope", "0", "1"],
        &["EXISTS", "nope"],
        &["TYPE", "nope"],
        &["TTL", "nope"],
        &["PTTL", "nope"],
        &["TOUCH", "nope"],
        &["DUMP", "nope"],
        &["OBJECT", "ENCODING", "nope"],
        &["LRANGE", "nope", "0", "-1"],
        &["LLEN", "nope"],
        &["LINDEX", "nope", "0"],
        &["HGET", "nope", "f"],
        &["HGETALL", "nope"],
        &["SMEMBERS", "nope"],
        &["SISMEMBER", "nope", "m"],
        &["SINTER", "nope", "nope2"],
        &["ZRANGE", "nope", "0", "-1"],
        &["ZSCORE", "nope", "m"],
        &["ZCARD", "nope"],
        &["XLEN", "nope"],
        &["XRANGE", "nope", "-", "+"],
        &["BITCOUNT", "nope"],
        &["GETBIT", "nope", "1"],
        &["COPY", "nope", "other"],
        &["SUNIONSTORE", "d", "nope", "nope2"],
        &["SINTERSTORE", "d", "nope"],
        &["ZUNION", "2", "nope", "nope2"],
        &["ZINTERSTORE", "d", "1", "nope"],
        &["ZRANGESTORE", "d", "nope", "0", "1"],
        &["ZINTERCARD", "1", "nope"],
        &["XREAD", "STREAMS", "nope", "0"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "nope", ">"],
        &["XPENDING", "nope", "g"],
        &["LCS", "nope", "nope2"],
        &["SORT_RO", "nope", "BY", "w_*"],
        &["SET", "nope", "v"],
        &["LPUSH", "l", "3", "1", "2"],
        &["SORT", "l", "BY", "w_*", "GET", "v_*"],
        &["SORT", "l", "STORE", "dst"],
        &["SORT", "l", "STORE", "dst"],
        &["SORT", "missing", "STORE", "dst"],
        &["SORT", "missing", "STORE", "dst"],
        // (A time to live no expiry cycle reaches while the test runs: an
        // `expired` event would land wherever either server's cycle fell.)
        &["SET", "k", "v", "PX", "100000"],
        &["DEL", "gone"],
    ];
    for classes in ["KEAm", "Em", "Kl", "Eg"] {
        let ours = script_events_with(server.local_addr(), classes, script);
        assert_eq!(
            ours,
            script_events_with(real.addr, classes, script),
            "{classes}"
        );
        println!("{classes}: {} messages identical to Redis", ours.len());
    }
}
