//! The stream family over TCP: a command-by-command comparison with a real
//! Redis (every command and its errors, RESP2 and RESP3), approximate
//! trimming compared with Redis's node-based trimming, blocking XREAD and
//! XREADGROUP with several clients, and typed replies through redis-rs.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{redis, start, RealRedis};
use respd::resp::Frame;
use respd::{Client, ServerHandle};

/// How a reply is compared with Redis's.
#[derive(Clone, Copy, PartialEq)]
enum Compare {
    /// Byte for byte.
    Exact,
    /// Times masked: idle times, seen and delivery times.
    Timed,
    /// The same kind of reply (IDs made of the clock).
    Shape,
    /// A SCAN reply: the keys in any order.
    Scan,
}

/// A frame with what depends on the clock replaced by `T`.
fn masked(frame: &Frame) -> String {
    fn walk(frame: &Frame, out: &mut String) {
        match frame {
            Frame::Integer(n) if *n >= 1_000_000_000_000 => out.push_str("T "),
            Frame::Array(items) => {
                // An XPENDING row: id, consumer, idle, deliveries.
                let row = items.len() == 4
                    && matches!(items[0], Frame::Bulk(_))
                    && matches!(items[1], Frame::Bulk(_))
                    && matches!(items[2], Frame::Integer(_));
                out.push('[');
                let mut after_idle = false;
                for (i, item) in items.iter().enumerate() {
                    if (row && i == 2) || after_idle {
                        out.push_str("T ");
                    } else {
                        walk(item, out);
                    }
                    after_idle = matches!(item, Frame::Bulk(b) if b == b"idle");
                }
                out.push_str("] ");
            }
            Frame::Map(pairs) => {
                out.push('{');
                for (key, value) in pairs {
                    walk(key, out);
                    if matches!(key, Frame::Bulk(b) if b == b"idle") {
                        out.push_str("T ");
                    } else {
                        walk(value, out);
                    }
                }
                out.push_str("} ");
            }
            other => out.push_str(&format!("{other:?} ")),
        }
    }
    let mut out = String::new();
    walk(frame, &mut out);
    out
}

fn normalized(frame: &Frame, compare: Compare) -> String {
    match compare {
        Compare::Exact => String::from_utf8_lossy(&frame.to_bytes()).into_owned(),
        Compare::Timed => masked(frame),
        Compare::Scan => match frame {
            Frame::Array(parts) if parts.len() == 2 => {
                let mut keys = format!("{:?}", parts[1]).into_bytes();
                keys.sort_unstable();
                format!("{:?} {}", parts[0], String::from_utf8_lossy(&keys))
            }
            other => format!("{other:?}"),
        },
        Compare::Shape => match frame {
            Frame::Bulk(_) => "a bulk string".into(),
            Frame::Array(items) => format!("array of {}", items.len()),
            other => format!("{other:?}"),
        },
    }
}

/// The comparison script: one command a line, arguments separated by
/// spaces. `t ` marks replies with times in them, `? ` replies made of the
/// clock (IDs from `*`), `~ ` SCAN replies (in hash order).
const SCRIPT: &str = "
XADD s 1-1 f v
XADD s 1-1 f v
XADD s 1-0 f v
XADD s 0-0 f v
XADD s 0 f v
XADD s 0-* f v
XADD s 1-* a b c d
XADD s 1 f v
XADD s 5 f v
XADD s 5-* f v
XADD s 7-3 f v
XADD s f v
XADD s 8-1 f
XADD s 8-1 f v g
XADD s
XADD s 8-x f v
XADD s x-1 f v
XADD s -1-1 f v
XADD s 8--1 f v
XADD s 8-1-1 f v
XADD s + f v
XADD s - f v
XADD s 18446744073709551616-1 f v
XADD s 18446744073709551615-18446744073709551616 f v
XADD s ' 9-1' f v
XADD s MAXLEN f v
XADD s MAXLEN 1
XADD s MAXLEN -1 10-1 f v
XADD s MAXLEN x 10-1 f v
XADD s MAXLEN 1 MINID 1 10-1 f v
XADD s MINID x 10-1 f v
XADD s LIMIT 5 10-1 f v
XADD s MAXLEN 5 LIMIT 5 10-1 f v
XADD s MAXLEN = 5 LIMIT 5 10-1 f v
XADD s MAXLEN ~ 5 LIMIT -1 10-1 f v
XADD s MAXLEN ~ 5 LIMIT x 10-1 f v
XADD s NOMKSTREAM 10-1 f v
XADD nokey NOMKSTREAM 1-1 f v
EXISTS nokey
XADD s 10-1 field value
XLEN s
XLEN nokey
XRANGE s - +
XRANGE s - + COUNT 2
XRANGE s - + COUNT 0
XRANGE s - + COUNT -1
XRANGE s - + COUNT x
XRANGE s - + COUNT
XRANGE s - + FOO 1
XRANGE s 1 1
XRANGE s 1-1 5
XRANGE s (1-1 +
XRANGE s (1-2 (10-1
XRANGE s (1 +
XRANGE s - (1
XRANGE s ( +
XRANGE s (- +
XRANGE s - (+
XRANGE s (18446744073709551615-18446744073709551615 +
XRANGE s - (0-0
XRANGE s - (0
XRANGE s 10 1
XRANGE s x +
XRANGE s - x
XRANGE s + -
XRANGE nokey - +
XREVRANGE s + -
XREVRANGE s + - COUNT 2
XREVRANGE s + - COUNT 0
XREVRANGE s (10-1 (1-1
XREVRANGE s 5 1
XREVRANGE s - +
XREVRANGE s (+ -
XREVRANGE nokey + -
XDEL s 1-2 1-2 99-1
XDEL s bad
XDEL s 1-1 bad
XDEL nokey 1-1
XDEL nokey bad
XLEN s
XRANGE s - +
XINFO STREAM s
XTRIM s MAXLEN 3
XRANGE s - +
XTRIM s MINID 7
XRANGE s - +
XTRIM s MINID = 7-3
XTRIM s MAXLEN ~ 0
XTRIM s
XTRIM s FOO 1
XTRIM s MAXLEN
XTRIM s MAXLEN 1 FOO
XTRIM s MAXLEN -1
XTRIM s MINID -
XTRIM s LIMIT 1
XTRIM s MAXLEN 1 LIMIT 1
XTRIM s MAXLEN ~ 1 LIMIT 1
XTRIM s MAXLEN ~ 1 LIMIT 0
XTRIM s MAXLEN 1 MINID 1
XTRIM nokey MAXLEN 1
XTRIM nokey FOO
XLEN s
XINFO STREAM s
XADD t MAXLEN 2 1-1 a 1
XADD t MAXLEN 2 2-1 a 2
XADD t MAXLEN 2 3-1 a 3
XADD t MINID 3 4-1 a 4
XADD t MAXLEN 0 5-1 a 5
XLEN t
EXISTS t
XRANGE t - +
XINFO STREAM t
XADD t MAXLEN ~ 1 6-1 a 6
XLEN t
XSETID t 7-1
XINFO STREAM t
XSETID t 6-1
XSETID t 5-1
XSETID t 8-1 ENTRIESADDED 0
XSETID t 8-1 ENTRIESADDED 10 MAXDELETEDID 2-2
XINFO STREAM t
XSETID t 8-1 MAXDELETEDID 9-1
XSETID t 8-1 MAXDELETEDID 1-1
XSETID t 8-1 ENTRIESADDED -1
XSETID t 8-1 ENTRIESADDED x
XSETID t 8-1 FOO
XSETID t 8-1 ENTRIESADDED
XSETID t bad
XSETID nokey 1-1
XSETID t 18446744073709551615-18446744073709551615
XADD t 1-1 f v
XADD t * f v
XADD t 18446744073709551615-* f v
XADD seqmax 1-18446744073709551615 a b
XADD seqmax 1-* c d
XADD seqmax 1-* c d
XADD seqmax 2-* c d
XLEN seqmax
SET str x
XADD str 1-1 f v
XLEN str
XRANGE str - +
XREVRANGE str + -
XDEL str 1-1
XTRIM str MAXLEN 1
XSETID str 1-1
XREAD STREAMS str 0
XREADGROUP GROUP g c STREAMS str >
XGROUP CREATE str g $
XINFO STREAM str
XINFO GROUPS str
XACK str g 1-1
XPENDING str g
XCLAIM str g c 0 1-1
XAUTOCLAIM str g c 0 0
TYPE s
TYPE str
? XADD clock * f v
? XADD clock 5-* f v
XADD clock 5-1 f v
XLEN clock
XREAD STREAMS s 0
XREAD COUNT 1 STREAMS s 0
XREAD COUNT 1 STREAMS s nokey 0 0
XREAD STREAMS nokey 0
XREAD STREAMS s $
XREAD STREAMS s 8
XREAD STREAMS s 7-2
XREAD STREAMS s 0 t 0
XREAD STREAMS s
XREAD STREAMS s t 0
XREAD STREAMS s >
XREAD STREAMS s bad
XREAD STREAMS s -
XREAD COUNT x STREAMS s 0
XREAD COUNT -5 STREAMS s 0
XREAD BLOCK x STREAMS s 0
XREAD BLOCK -1 STREAMS s 0
XREAD BLOCK 1.5 STREAMS s 0
XREAD BLOCK 10 STREAMS s 0
XREAD GROUP g c STREAMS s 0
XREAD NOACK STREAMS s 0
XREAD FOO STREAMS s 0
XREAD COUNT 1 s 0
XADD g 1-1 a 1
XADD g 2-1 b 2
XADD g 3-1 c 3
XGROUP CREATE g grp 0
XGROUP CREATE g grp 0
XGROUP CREATE g grp2 $
XGROUP CREATE g grp3 2-1 ENTRIESREAD 2
XGROUP CREATE g grp4 0 ENTRIESREAD -2
XGROUP CREATE g grp4 0 ENTRIESREAD x
XGROUP CREATE g grp4 0 ENTRIESREAD
XGROUP CREATE g grp4 0 FOO
XGROUP CREATE g grp4 bad
XGROUP CREATE g grp4 -
XGROUP CREATE g grp4 0 MKSTREAM ENTRIESREAD 1 MKSTREAM
XGROUP CREATE g grp4
XGROUP CREATE nokey grp 0
XGROUP CREATE nokey grp $ MKSTREAM
XINFO STREAM nokey
XGROUP DESTROY nokey grp
XGROUP DESTROY nokey2 grp
XGROUP CREATECONSUMER nokey2 grp c
XGROUP FOO g grp
XGROUP HELP
XGROUP HELP x
XGROUP DESTROY g
XGROUP CREATECONSUMER g nogroup c
XGROUP DELCONSUMER g nogroup c
XGROUP SETID g nogroup 0
XINFO GROUPS g
XREADGROUP GROUP grp alice COUNT 1 STREAMS g >
XREADGROUP GROUP grp bob STREAMS g >
XREADGROUP GROUP grp bob STREAMS g >
XREADGROUP GROUP grp alice STREAMS g 0
XREADGROUP GROUP grp bob STREAMS g 0
XREADGROUP GROUP grp bob COUNT 1 STREAMS g 0
XREADGROUP GROUP grp bob STREAMS g 2-1
XREADGROUP GROUP grp carol STREAMS g 0
XREADGROUP GROUP nogrp alice STREAMS g >
XREADGROUP GROUP grp alice STREAMS nokey >
XREADGROUP GROUP grp alice STREAMS g $
XREADGROUP GROUP grp alice STREAMS g bad
XREADGROUP GROUP grp alice STREAMS g
XREADGROUP GROUP grp alice STREAMS g g >
XREADGROUP COUNT 1 STREAMS g >
XREADGROUP GROUP grp alice FOO STREAMS g >
XREADGROUP GROUP grp alice COUNT x STREAMS g >
XREADGROUP GROUP grp alice BLOCK x STREAMS g >
XREADGROUP GROUP grp alice BLOCK 10 STREAMS g >
t XINFO GROUPS g
t XINFO CONSUMERS g grp
t XINFO CONSUMERS g nogroup
XINFO CONSUMERS nokey2 grp
XPENDING g grp
t XPENDING g grp - + 10
t XPENDING g grp - + 1
t XPENDING g grp (1-1 + 10
t XPENDING g grp - + 10 bob
t XPENDING g grp - + 10 nobody
t XPENDING g grp IDLE 0 - + 10
t XPENDING g grp IDLE 100000 - + 10
XPENDING g grp - +
XPENDING g grp - + x
XPENDING g grp x + 10
XPENDING g grp - x 10
XPENDING g grp IDLE x - + 10
XPENDING g grp IDLE 1 - +
XPENDING g grp - + 10 bob extra extra extra
XPENDING g nogroup
XPENDING nokey grp
XPENDING g grp2
XACK g grp 1-1
XACK g grp 1-1
XACK g grp 9-9 bad
XACK g nogroup 1-1
XACK nokey grp 1-1
XACK g grp bad
XPENDING g grp
XADD g 4-1 d 4
XADD g 5-1 e 5
XREADGROUP GROUP grp alice NOACK STREAMS g >
XPENDING g grp
t XINFO GROUPS g
XDEL g 2-1
XREADGROUP GROUP grp bob STREAMS g 0
t XINFO STREAM g FULL
t XCLAIM g grp alice 0 2-1 3-1
XPENDING g grp
t XCLAIM g grp alice 0 3-1 JUSTID
t XCLAIM g grp carol 0 3-1 RETRYCOUNT 7
t XCLAIM g grp carol 0 3-1 IDLE 5000 JUSTID
t XPENDING g grp - + 10
t XCLAIM g grp carol 100000 3-1
t XCLAIM g grp dave 0 4-1
t XCLAIM g grp dave 0 4-1 FORCE
t XPENDING g grp - + 10
t XCLAIM g grp dave 0 5-1 FORCE JUSTID
t XCLAIM g grp dave 0 9-1 FORCE
t XCLAIM g grp dave 0 5-1 TIME 1000
t XCLAIM g grp dave 0 5-1 LASTID 7-1
t XINFO GROUPS g
XCLAIM g grp dave x 5-1
XCLAIM g grp dave 0 5-1 IDLE x
XCLAIM g grp dave 0 5-1 TIME x
XCLAIM g grp dave 0 5-1 RETRYCOUNT x
XCLAIM g grp dave 0 5-1 LASTID x
XCLAIM g grp dave 0 5-1 FOO
XCLAIM g grp dave 0 5-1 IDLE
XCLAIM g grp dave 0 bad
XCLAIM g nogroup dave 0 5-1
XCLAIM nokey grp dave 0 5-1
t XAUTOCLAIM g grp erin 0 0
t XAUTOCLAIM g grp erin 0 0 COUNT 1
t XAUTOCLAIM g grp erin 0 (3-1 COUNT 1 JUSTID
t XAUTOCLAIM g grp erin 100000 0
XAUTOCLAIM g grp erin 0 0 COUNT 0
XAUTOCLAIM g grp erin 0 0 COUNT x
XAUTOCLAIM g grp erin 0 0 COUNT
XAUTOCLAIM g grp erin 0 0 FOO
XAUTOCLAIM g grp erin x 0
XAUTOCLAIM g grp erin 0 bad
XAUTOCLAIM g grp erin 0 (18446744073709551615-18446744073709551615
XAUTOCLAIM g nogroup erin 0 0
XAUTOCLAIM nokey grp erin 0 0
XPENDING g grp
XADD g 6-1 f 6
XDEL g 6-1
t XAUTOCLAIM g grp erin 0 0
XREADGROUP GROUP grp erin STREAMS g 0
t XINFO CONSUMERS g grp
XGROUP CREATECONSUMER g grp frank
XGROUP CREATECONSUMER g grp frank
XGROUP DELCONSUMER g grp erin
XGROUP DELCONSUMER g grp nobody
XPENDING g grp
XGROUP SETID g grp 0
XGROUP SETID g grp $
XGROUP SETID g grp 2 ENTRIESREAD 1
XGROUP SETID g grp - ENTRIESREAD 0
XGROUP SETID g grp bad
XGROUP SETID g grp 0 MKSTREAM
XGROUP SETID g grp 0 ENTRIESREAD -3
XGROUP SETID g grp 0 ENTRIESREAD 1 ENTRIESREAD 1
t XINFO GROUPS g
XREADGROUP GROUP grp frank STREAMS g >
t XINFO GROUPS g
XGROUP DESTROY g grp2
XGROUP DESTROY g grp2
t XINFO GROUPS g
XINFO STREAM g
t XINFO STREAM g FULL COUNT 1
t XINFO STREAM g FULL COUNT 0
t XINFO STREAM g FULL COUNT -1
XINFO STREAM g FULL COUNT x
XINFO STREAM g FULL x
XINFO STREAM g x
XINFO STREAM g FULL COUNT 1 x
XINFO STREAM nokey2
XINFO GROUPS nokey2
XINFO HELP
XINFO HELP x
XINFO FOO g
XINFO STREAM
XINFO GROUPS g x
XINFO CONSUMERS g
XADD e 1-1 f v
XDEL e 1-1
XINFO STREAM e
XADD e 2-1 f v
XGROUP CREATE e eg 0
XINFO GROUPS e
XREADGROUP GROUP eg c STREAMS e >
XINFO GROUPS e
XADD e 3-1 f v
XADD e 4-1 f v
XDEL e 3-1
XINFO GROUPS e
XREADGROUP GROUP eg c STREAMS e >
XINFO GROUPS e
COPY e e2
XRANGE e2 - +
XINFO GROUPS e2
RENAME e2 e3
TYPE e3
XLEN e3
DEL e3
TYPE e3
~ SCAN 0 TYPE stream
~ SCAN 0 TYPE string
HELLO 3
XRANGE s - +
XRANGE s - + COUNT 0
XREAD STREAMS s 0
XREAD STREAMS s g 0 0
XREAD STREAMS s $
XREADGROUP GROUP eg c STREAMS e 0
XINFO STREAM s
t XINFO STREAM e FULL
XINFO GROUPS e
t XINFO CONSUMERS e eg
XPENDING e eg
t XPENDING e eg - + 10
XPENDING g grp2
XINFO STREAM nokey
XAUTOCLAIM e eg c 0 0 JUSTID
t XCLAIM e eg c 0 2-1
XADD nokey NOMKSTREAM 1-1 f v
";

/// Runs SCRIPT against respd and a real Redis (skipped when redis-server is
/// not installed), comparing every reply.
#[test]
fn same_replies_as_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let mut ours = common::client(server.local_addr());
    let mut theirs = common::client(real.addr);
    let (mut cases, mut differences) = (0, Vec::new());
    for line in SCRIPT.lines().filter(|l| !l.trim().is_empty()) {
        let (compare, line) = match line.split_at(2) {
            ("t ", rest) => (Compare::Timed, rest),
            ("? ", rest) => (Compare::Shape, rest),
            ("~ ", rest) => (Compare::Scan, rest),
            _ => (Compare::Exact, line),
        };
        let args: Vec<String> = split(line);
        let mine = ours.command(&args).unwrap();
        let real_reply = theirs.command(&args).unwrap();
        if args[0] == "HELLO" {
            continue; // the servers describe themselves differently
        }
        let (mine, real_reply) = (normalized(&mine, compare), normalized(&real_reply, compare));
        if mine != real_reply {
            differences.push(format!("{line}\n  respd: {mine}\n  redis: {real_reply}"));
        }
        cases += 1;
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    println!("{cases} cases agree with Redis");
    assert!(cases > 300);
}

/// XREAD counts a hit or a miss per key twice (looked up, then served) as
/// Redis does, whether it finds entries, none, an error, or must block.
#[test]
fn xread_counts_keyspace_hits_and_misses_as_redis_does() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let stats = |client: &mut Client| -> (i64, i64) {
        let Frame::Bulk(info) = client.command(&["INFO", "stats"]).unwrap() else {
            panic!("INFO is a bulk string");
        };
        let info = String::from_utf8_lossy(&info).into_owned();
        let field = |name: &str| {
            info.lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or_else(|| panic!("{name} in {info}"))
        };
        (field("keyspace_hits:"), field("keyspace_misses:"))
    };
    let script: &[&[&str]] = &[
        &["XADD", "s1", "1-1", "f", "v"],
        &["XADD", "s1", "2-1", "f", "v"],
        &["XADD", "s2", "5-1", "g", "w"],
        &["SET", "str", "x"],
        &["XREAD", "STREAMS", "s1", "0"],
        &[
            "XREAD", "COUNT", "1", "STREAMS", "s1", "s2", "nope", "0", "0", "0",
        ],
        &["XREAD", "STREAMS", "s1", "s2", "$", "$"],
        &["XREAD", "STREAMS", "nope", "0"],
        &["XREAD", "STREAMS", "s1", "str", "0", "0"],
        &["XREAD", "STREAMS", "s1", ">"],
        &["XREAD", "STREAMS", "s1", "bad-id"],
        &["XREAD", "BLOCK", "10", "STREAMS", "s1", "s2", "0", "0"],
        &["XREAD", "BLOCK", "10", "STREAMS", "s1", "nope", "$", "$"],
    ];
    let mut deltas = Vec::new();
    for addr in [server.local_addr(), real.addr] {
        let mut client = common::client(addr);
        let mut seen = Vec::new();
        for args in script {
            let before = stats(&mut client);
            let reply = client.command(args).unwrap();
            let after = stats(&mut client);
            seen.push((
                args.join(" "),
                masked(&reply),
                after.0 - before.0,
                after.1 - before.1,
            ));
        }
        deltas.push(seen);
    }
    assert_eq!(deltas[0], deltas[1], "respd, then redis");
}

/// Splits a script line on spaces; `'...'` keeps spaces in an argument.
fn split(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted.find('\'').unwrap();
            args.push(quoted[..end].to_string());
            rest = quoted[end + 1..].trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            args.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    args
}

fn send(client: &mut Client, args: &[&str]) -> Frame {
    client.command(args).unwrap()
}

/// XADD with approximate (and exact, and limited) trimming leaves as many
/// entries as Redis, whose `~` removes whole nodes of 100 entries or 4096
/// bytes; XINFO's node counts agree too.
#[test]
fn approximate_trimming_matches_redis_nodes() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let mut ours = common::client(server.local_addr());
    let mut theirs = common::client(real.addr);
    let big = "x".repeat(300);
    let mut cases = 0;
    for (round, value) in ["v", "12345", big.as_str()].iter().enumerate() {
        for i in 1..=700u64 {
            let id = format!("{}-{}", i, round);
            let maxlen = if i % 7 == 0 { "=" } else { "~" };
            let add = ["XADD", "k", "MAXLEN", maxlen, "150", &id, "field", value];
            let (a, b) = (send(&mut ours, &add), send(&mut theirs, &add));
            assert_eq!(a, b, "{add:?}");
            if i % 50 == 0 {
                send(&mut ours, &["XDEL", "k", &format!("{}-{}", i - 3, round)]);
                send(&mut theirs, &["XDEL", "k", &format!("{}-{}", i - 3, round)]);
            }
            for probe in [vec!["XLEN", "k"], vec!["XINFO", "STREAM", "k"]] {
                let (a, b) = (send(&mut ours, &probe), send(&mut theirs, &probe));
                assert_eq!(a, b, "after {add:?}: {probe:?}");
                cases += 1;
            }
        }
        for trim in [
            vec!["XTRIM", "k", "MAXLEN", "~", "10"],
            vec!["XTRIM", "k", "MINID", "~", "650"],
            vec!["XTRIM", "k", "MAXLEN", "~", "0", "LIMIT", "30"],
            vec!["XTRIM", "k", "MAXLEN", "0"],
        ] {
            let (a, b) = (send(&mut ours, &trim), send(&mut theirs, &trim));
            assert_eq!(a, b, "{trim:?}");
            cases += 1;
        }
        send(&mut ours, &["DEL", "k"]);
        send(&mut theirs, &["DEL", "k"]);
    }
    println!("{cases} trimming cases agree with Redis");
}

/// XADD caches the node sizes: a CONFIG SET must still reach the next XADD
/// (nodes of 3 entries, then of 50 bytes), as Redis's nodes show it.
#[test]
fn config_set_node_sizes_reaches_the_next_xadd() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let mut ours = common::client(server.local_addr());
    let mut theirs = common::client(real.addr);
    let steps: [&[&str]; 6] = [
        &["CONFIG", "SET", "stream-node-max-entries", "3"],
        &["XADD", "k", "MAXLEN", "~", "4", "*", "f", "v"],
        &["XINFO", "STREAM", "k"],
        &[
            "CONFIG",
            "SET",
            "stream-node-max-entries",
            "100",
            "stream-node-max-bytes",
            "50",
        ],
        &["XADD", "k", "MAXLEN", "~", "4", "*", "field", "a value"],
        &["XINFO", "STREAM", "k"],
    ];
    for (step, args) in steps.iter().enumerate() {
        // Each XADD and XINFO runs a few times so that several nodes fill.
        let times = if step % 3 == 0 { 1 } else { 12 };
        for _ in 0..times {
            let (a, b) = (send(&mut ours, args), send(&mut theirs, args));
            if args[0] == "XINFO" {
                // length and radix-tree-keys (one per listpack node). The
                // radix tree's own node count depends on the IDs' bytes,
                // which differ between the two servers' clocks.
                let head = |frame: &Frame| match frame {
                    Frame::Array(items) => format!("{:?}", &items[..4.min(items.len())]),
                    other => format!("{other:?}"),
                };
                assert_eq!(head(&a), head(&b), "{args:?}");
            } else if args[0] == "CONFIG" {
                assert_eq!(a, b, "{args:?}");
            }
        }
        let probe = ["XLEN", "k"];
        assert_eq!(
            send(&mut ours, &probe),
            send(&mut theirs, &probe),
            "after {args:?}"
        );
    }
}

/// Waits until `n` clients are blocked on the server.
fn wait_blocked(server: &ServerHandle, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.shared().blocking.blocked_count() != n {
        assert!(Instant::now() < deadline, "expected {n} blocked clients");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `args` on a new connection in the background; the thread returns
/// the reply.
fn in_background(server: &ServerHandle, args: &[&str]) -> thread::JoinHandle<Frame> {
    let mut client = common::client(server.local_addr());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    thread::spawn(move || client.command(&args).unwrap())
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(text.as_bytes().to_vec())
}

/// `[[key, [[id, [f, v]]]]]`: one stream with one entry, RESP2.
fn one_entry(key: &str, id: &str, field: &str, value: &str) -> Frame {
    Frame::Array(vec![Frame::Array(vec![
        bulk(key),
        Frame::Array(vec![Frame::Array(vec![
            bulk(id),
            Frame::Array(vec![bulk(field), bulk(value)]),
        ])]),
    ])])
}

#[test]
fn xread_block_is_woken_by_xadd_on_any_of_its_streams() {
    let server = start();
    let mut c = common::client(server.local_addr());
    send(&mut c, &["XADD", "a", "1-1", "old", "x"]);
    // `$` means entries after the last one at the time of blocking.
    let reader = in_background(
        &server,
        &["XREAD", "BLOCK", "0", "STREAMS", "a", "b", "$", "$"],
    );
    wait_blocked(&server, 1);
    send(&mut c, &["XADD", "b", "5-1", "f", "v"]);
    assert_eq!(reader.join().unwrap(), one_entry("b", "5-1", "f", "v"));
    assert_eq!(server.shared().blocking.blocked_count(), 0);
}

#[test]
fn several_readers_are_all_woken_and_a_timeout_gives_a_null_array() {
    let server = start();
    let mut c = common::client(server.local_addr());
    send(&mut c, &["XADD", "s", "1-1", "f", "v"]);
    let readers: Vec<_> = (0..3)
        .map(|_| in_background(&server, &["XREAD", "BLOCK", "0", "STREAMS", "s", "1-1"]))
        .collect();
    wait_blocked(&server, 3);
    send(&mut c, &["XADD", "s", "2-1", "g", "w"]);
    for reader in readers {
        assert_eq!(reader.join().unwrap(), one_entry("s", "2-1", "g", "w"));
    }
    let timed_out = send(&mut c, &["XREAD", "BLOCK", "50", "STREAMS", "s", "$"]);
    assert_eq!(timed_out, Frame::NullArray);
    // Inside MULTI a blocking read does not wait.
    send(&mut c, &["MULTI"]);
    send(&mut c, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    assert_eq!(
        send(&mut c, &["EXEC"]),
        Frame::Array(vec![Frame::NullArray])
    );
}

#[test]
fn xreadgroup_block_delivers_each_entry_to_exactly_one_consumer() {
    let server = start();
    let mut c = common::client(server.local_addr());
    send(
        &mut c,
        &["XGROUP", "CREATE", "jobs", "workers", "$", "MKSTREAM"],
    );
    let consumers: Vec<_> = ["w1", "w2", "w3"]
        .iter()
        .map(|name| {
            in_background(
                &server,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "workers",
                    name,
                    "COUNT",
                    "1",
                    "BLOCK",
                    "0",
                    "STREAMS",
                    "jobs",
                    ">",
                ],
            )
        })
        .collect();
    wait_blocked(&server, 3);
    for i in 1..=3 {
        send(
            &mut c,
            &["XADD", "jobs", &format!("{i}-1"), "job", &i.to_string()],
        );
    }
    let mut delivered: Vec<String> = consumers
        .into_iter()
        .map(|h| match h.join().unwrap() {
            Frame::Array(streams) => format!("{:?}", streams[0]),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    delivered.sort();
    delivered.dedup();
    assert_eq!(
        delivered.len(),
        3,
        "each job went to one worker: {delivered:?}"
    );
    let pending = send(&mut c, &["XPENDING", "jobs", "workers"]);
    let Frame::Array(summary) = pending else {
        panic!("{pending:?}")
    };
    assert_eq!(summary[0], Frame::Integer(3));
    assert_eq!(
        summary[3],
        Frame::Array(
            ["w1", "w2", "w3"]
                .iter()
                .map(|w| Frame::Array(vec![bulk(w), bulk("1")]))
                .collect()
        )
    );
}

/// As in Redis, a reader woken by an entry that is trimmed away at once
/// still gets a reply: its stream with no entries.
#[test]
fn an_entry_trimmed_at_once_still_wakes_readers() {
    let server = start();
    let mut c = common::client(server.local_addr());
    send(&mut c, &["XGROUP", "CREATE", "g", "grp", "$", "MKSTREAM"]);
    let reader = in_background(&server, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    let consumer = in_background(
        &server,
        &[
            "XREADGROUP",
            "GROUP",
            "grp",
            "c",
            "BLOCK",
            "0",
            "STREAMS",
            "g",
            ">",
        ],
    );
    wait_blocked(&server, 2);
    send(&mut c, &["XADD", "s", "MAXLEN", "0", "1-1", "f", "v"]);
    send(&mut c, &["XADD", "g", "MAXLEN", "0", "1-1", "f", "v"]);
    let empty = |key: &str| Frame::Array(vec![Frame::Array(vec![bulk(key), Frame::Array(vec![])])]);
    assert_eq!(reader.join().unwrap(), empty("s"));
    assert_eq!(consumer.join().unwrap(), empty("g"));
}

#[test]
fn a_destroyed_group_ends_the_wait_with_nogroup() {
    let server = start();
    let mut c = common::client(server.local_addr());
    send(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let reader = in_background(
        &server,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
    );
    wait_blocked(&server, 1);
    send(&mut c, &["XGROUP", "DESTROY", "s", "g"]);
    assert_eq!(
        reader.join().unwrap(),
        Frame::Error(
            "NOGROUP the consumer group this client was blocked on no longer exists".into()
        )
    );
}

#[test]
fn resp3_xread_reply_is_a_map_when_woken() {
    let server = start();
    let mut c = common::client(server.local_addr());
    let mut reader = common::client(server.local_addr());
    send(&mut reader, &["HELLO", "3"]);
    let handle = thread::spawn(move || {
        reader
            .command(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"])
            .unwrap()
    });
    wait_blocked(&server, 1);
    send(&mut c, &["XADD", "s", "1-1", "f", "v"]);
    assert_eq!(
        handle.join().unwrap(),
        Frame::Map(vec![(
            bulk("s"),
            Frame::Array(vec![Frame::Array(vec![
                bulk("1-1"),
                Frame::Array(vec![bulk("f"), bulk("v")]),
            ])]),
        )])
    );
}

/// An entry as redis-rs reads it: its ID and its fields and values.
type Entry = (String, Vec<String>);

#[test]
fn typed_replies_through_redis_rs() {
    let server = start();
    let mut con = redis(server.local_addr());
    let id: String = redis::cmd("XADD")
        .arg("s")
        .arg("*")
        .arg("f")
        .arg("v")
        .query(&mut con)
        .unwrap();
    assert!(id.ends_with("-0"), "{id}");
    let _: String = redis::cmd("XADD")
        .arg("s")
        .arg("MAXLEN")
        .arg("~")
        .arg(1000)
        .arg("*")
        .arg("g")
        .arg("w")
        .query(&mut con)
        .unwrap();
    let len: i64 = redis::cmd("XLEN").arg("s").query(&mut con).unwrap();
    assert_eq!(len, 2);
    let entries: Vec<Entry> = redis::cmd("XRANGE")
        .arg("s")
        .arg("-")
        .arg("+")
        .query(&mut con)
        .unwrap();
    assert_eq!(entries[0].0, id);
    assert_eq!(entries[1].1, vec!["g".to_string(), "w".to_string()]);
    let kind: String = redis::cmd("TYPE").arg("s").query(&mut con).unwrap();
    assert_eq!(kind, "stream");
    let ok: String = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg("s")
        .arg("g")
        .arg("0")
        .query(&mut con)
        .unwrap();
    assert_eq!(ok, "OK");
    let read: Vec<(String, Vec<Entry>)> = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("g")
        .arg("c")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg("s")
        .arg(">")
        .query(&mut con)
        .unwrap();
    assert_eq!(read[0].1[0].0, id);
    let acked: i64 = redis::cmd("XACK")
        .arg("s")
        .arg("g")
        .arg(&id)
        .query(&mut con)
        .unwrap();
    assert_eq!(acked, 1);
    let wrong = redis::cmd("LPUSH")
        .arg("s")
        .arg("x")
        .query::<i64>(&mut con)
        .unwrap_err();
    assert_eq!(wrong.code(), Some("WRONGTYPE"));
    // Expiry applies to streams like any key.
    let set: i64 = redis::cmd("PEXPIRE")
        .arg("s")
        .arg(1)
        .query(&mut con)
        .unwrap();
    assert_eq!(set, 1);
    thread::sleep(Duration::from_millis(20));
    let len: i64 = redis::cmd("XLEN").arg("s").query(&mut con).unwrap();
    assert_eq!(len, 0);
}
