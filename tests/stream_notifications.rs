//! Keyspace notifications of the stream commands (class `t`), compared
//! message by message with a real Redis 7.0 in RESP2 and RESP3: xadd,
//! xtrim (also from XADD's trimming), xdel, xsetid, the xgroup-* events
//! (consumers created by XREADGROUP, XCLAIM and XAUTOCLAIM too), and
//! nothing for commands that change nothing.

mod common;

use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use common::{start, RealRedis};
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
        let mut commands = Client::connect(addr).expect("connect");
        commands.command(&["FLUSHALL"]).expect("flushall");
        if let Some(classes) = classes {
            let reply = commands
                .command(&["CONFIG", "SET", "notify-keyspace-events", classes])
                .expect("config set");
            assert_eq!(reply, Frame::Simple("OK".into()));
        }
        let mut events = Client::connect(addr).expect("connect");
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
    for resp3 in [false, true] {
        let ours = script_events(server.local_addr(), script, resp3);
        let theirs = script_events(real.addr, script, resp3);
        assert_eq!(ours, theirs);
        println!(
            "{} commands, {} messages identical to Redis (RESP{})",
            script.len(),
            ours.len(),
            if resp3 { 3 } else { 2 }
        );
    }
}

/// The events of a blocked XREADGROUP served by an XADD: the consumer is
/// created when the read is served.
fn blocked_read_events(addr: SocketAddr) -> Vec<String> {
    let mut listener = Listener::new(addr, Some("KEA"), false);
    listener.run(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let mut reader = Client::connect(addr).expect("connect");
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
