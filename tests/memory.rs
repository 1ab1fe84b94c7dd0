//! MEMORY compared with a real Redis (skipped when redis-server is not
//! installed): the shapes of STATS, DOCTOR, HELP, MALLOC-STATS and PURGE,
//! USAGE's errors; and, on respd alone, that USAGE and INFO's used_memory
//! follow the data as it is created, grown, shrunk and dropped.

mod common;

use common::script::{compare_with_redis as compare, Compare};
use common::{start, RealRedis};
use respd::resp::Frame;
use respd::Client;

use Compare::Exact;

#[test]
fn replies_and_errors_match_redis() {
    compare(&[
        (Exact, &["MEMORY", "HELP"]),
        (Exact, &["MEMORY", "USAGE", "missing"]),
        (Exact, &["SET", "k", "v"]),
        (Exact, &["MEMORY", "USAGE", "k", "SAMPLES"]),
        (Exact, &["MEMORY", "USAGE", "k", "SAMPLES", "-1"]),
        (Exact, &["MEMORY", "USAGE", "k", "SAMPLES", "x"]),
        (Exact, &["MEMORY", "USAGE", "k", "NOPE", "1"]),
        (Exact, &["MEMORY", "USAGE"]),
        (Exact, &["MEMORY", "STATS", "x"]),
        (Exact, &["MEMORY", "NOPE"]),
        (Exact, &["MEMORY"]),
        (Exact, &["MEMORY", "PURGE"]),
        (Exact, &["MEMORY", "DOCTOR"]),
    ]);
}

/// A reply's shape: the types, with every number and text blanked, and
/// map keys kept.
fn shape(frame: &Frame) -> String {
    match frame {
        Frame::Integer(_) => "int".into(),
        Frame::Double(_) => "double".into(),
        Frame::Bulk(text) => format!("bulk:{}", String::from_utf8_lossy(text)),
        Frame::Map(pairs) => {
            let inner: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", shape(k), shape(v)))
                .collect();
            format!("map{{{}}}", inner.join(","))
        }
        Frame::Array(items) => {
            // RESP2 maps: name, value, name, value...
            let inner: Vec<String> = items
                .chunks(2)
                .map(|pair| match pair {
                    [k, v] => format!("{}={}", shape(k), shape(v)),
                    [k] => shape(k),
                    _ => unreachable!(),
                })
                .collect();
            format!("array[{}]", inner.join(","))
        }
        other => format!("{other:?}"),
    }
}

#[test]
fn stats_has_redis_shape_in_resp2_and_resp3() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    for resp3 in [false, true] {
        let stats = |addr| {
            let mut client = common::client(addr);
            if resp3 {
                client.command(&["HELLO", "3"]).expect("hello");
            }
            client.command(&["SET", "k", "v"]).expect("set");
            client.command(&["SELECT", "3"]).expect("select");
            client.command(&["SET", "k", "v"]).expect("set");
            let reply = client.command(&["MEMORY", "STATS"]).expect("stats");
            client.command(&["FLUSHALL"]).expect("flush");
            shape(&reply)
                .replace("bulk:", "")
                .replace("double", "num")
                .replace("int", "num")
        };
        let ours = stats(server.local_addr());
        let theirs = stats(real.addr);
        // RESP2 writes Redis's doubles as bulk strings; keep the names.
        let names = |s: &str| {
            s.split(',')
                .map(|item| item.split('=').next().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&ours), names(&theirs), "resp3 {resp3}");
    }
}

#[test]
fn malloc_stats_is_text() {
    let server = start();
    let mut client = common::client(server.local_addr());
    assert!(matches!(
        client.command(&["MEMORY", "MALLOC-STATS"]).expect("reply"),
        Frame::Bulk(_)
    ));
}

fn int(frame: Frame) -> i64 {
    match frame {
        Frame::Integer(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn used_memory(client: &mut Client) -> i64 {
    let Frame::Bulk(text) = client.command(&["INFO", "memory"]).expect("info") else {
        panic!("INFO is a bulk string");
    };
    String::from_utf8_lossy(&text)
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory")
}

#[test]
fn usage_and_used_memory_follow_the_data() {
    let server = start();
    let mut client = common::client(server.local_addr());
    let empty = used_memory(&mut client);
    // Short strings live in the slot; long ones cost their heap block.
    client.command(&["SET", "short", "v"]).expect("set");
    let short = int(client
        .command(&["MEMORY", "USAGE", "short"])
        .expect("usage"));
    client
        .command(&["SET", "long", &"x".repeat(1000)])
        .expect("set");
    let long = int(client.command(&["MEMORY", "USAGE", "long"]).expect("usage"));
    assert!(short > 0 && long >= short + 1000, "{short} {long}");
    // A list grown in place costs more, and less once shrunk.
    for i in 0..100 {
        client
            .command(&["RPUSH", "list", &format!("element-number-{i:04}")])
            .expect("rpush");
    }
    let grown = int(client.command(&["MEMORY", "USAGE", "list"]).expect("usage"));
    client.command(&["LTRIM", "list", "0", "9"]).expect("ltrim");
    let trimmed = int(client.command(&["MEMORY", "USAGE", "list"]).expect("usage"));
    assert!(grown >= trimmed + 90 * 32, "{grown} {trimmed}");
    // APPEND grows a string in place: the count follows.
    let before = used_memory(&mut client);
    client
        .command(&["APPEND", "long", &"y".repeat(10_000)])
        .expect("append");
    let after = used_memory(&mut client);
    assert!(after - before >= 10_000, "{before} -> {after}");
    // Everything dropped: back to where it started (the tables may keep
    // their slots).
    client.command(&["FLUSHALL"]).expect("flush");
    let flushed = used_memory(&mut client);
    assert!(flushed <= empty + 4096, "{empty} -> {flushed}");
    // Hashes, sets, sorted sets and expiry entries count too, and DEL gives
    // their bytes back.
    let base = used_memory(&mut client);
    for i in 0..200 {
        let key = format!("key-with-a-long-enough-name-{i}");
        client
            .command(&["HSET", &format!("h{key}"), "field", "value"])
            .expect("hset");
        client
            .command(&["SADD", &format!("s{key}"), "m"])
            .expect("sadd");
        client
            .command(&["ZADD", &format!("z{key}"), "1", "m"])
            .expect("zadd");
        client
            .command(&["EXPIRE", &format!("h{key}"), "1000"])
            .expect("expire");
    }
    let loaded = used_memory(&mut client);
    assert!(loaded - base > 200 * 3 * 64, "{base} -> {loaded}");
    for i in 0..200 {
        let key = format!("key-with-a-long-enough-name-{i}");
        client
            .command(&[
                "DEL",
                &format!("h{key}"),
                &format!("s{key}"),
                &format!("z{key}"),
            ])
            .expect("del");
    }
    let deleted = used_memory(&mut client);
    assert!(
        deleted <= base + 32 * 1024,
        "{base} -> {loaded} -> {deleted}"
    );
}
