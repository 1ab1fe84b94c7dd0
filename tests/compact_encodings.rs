//! Small hashes and sets of integers are kept compact, as Redis keeps them
//! in a listpack or an intset, and that shows: hash fields come back in
//! insertion order, integer members in numeric order, HSCAN and SSCAN
//! return them all at once with cursor 0, and a random pick of at least the
//! size returns them in that order. Compared with a real Redis (skipped when
//! redis-server is not installed), including where each side switches to a
//! hash table: above 512 fields or members, a field or value over 64 bytes,
//! a member that is not an integer.

mod common;

use std::net::SocketAddr;

use common::script::{run_script, Compare};
use common::{start, RealRedis};
use respd::resp::Frame;
use respd::Client;

#[test]
fn small_hashes_keep_insertion_order_like_a_listpack() {
    use Compare::{Exact, Skip};
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let script: &[(Compare, &[&str])] = &[
        (
            Exact,
            &["HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"],
        ),
        (Exact, &["HSET", "h", "b", "a longer value", "e", "5"]),
        (Exact, &["HDEL", "h", "a", "zz"]),
        (Exact, &["HSET", "h", "a", "again"]),
        (Exact, &["HINCRBY", "h", "d", "10"]),
        (Exact, &["HINCRBYFLOAT", "h", "c", "0.5"]),
        (Exact, &["HSETNX", "h", "f", ""]),
        (Exact, &["HGETALL", "h"]),
        (Exact, &["HKEYS", "h"]),
        (Exact, &["HVALS", "h"]),
        (Exact, &["HSCAN", "h", "0", "COUNT", "1"]),
        // A listpack ignores the cursor: everything, then 0.
        (Exact, &["HSCAN", "h", "7", "MATCH", "[a-c]"]),
        (Exact, &["HRANDFIELD", "h", "6", "WITHVALUES"]),
        (Exact, &["HRANDFIELD", "h", "100"]),
        (
            Exact,
            &["HSET", "bin", "\0\r\n", "\u{ff}", "", "empty field"],
        ),
        (Exact, &["HGETALL", "bin"]),
        // HELLO's reply names the server.
        (Skip, &["HELLO", "3"]),
        (Exact, &["HGETALL", "h"]),
        (Exact, &["HRANDFIELD", "h", "10", "WITHVALUES"]),
    ];
    assert_eq!(
        run_script(server.local_addr(), script),
        run_script(real.addr, script)
    );
    println!("{} commands compared", script.len() - 1);
}

/// Fields of a hash, HSET in one command: `f0 v0 f1 v1 ...`.
fn fill(client: &mut Client, key: &str, fields: usize, value: &str) {
    let mut args = vec!["HSET".to_string(), key.to_string()];
    for i in 0..fields {
        args.push(format!("f{i}"));
        args.push(format!("{value}{i}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(
        client.command(&args).unwrap(),
        Frame::Integer(fields as i64)
    );
}

/// Whether HSCAN's first step, COUNT 1, returns cursor 0 (the whole hash):
/// a compact hash always does, a table of more than a few fields (almost)
/// never, whatever its hash seed. (With a larger COUNT, a table of 20 fields
/// in respd's few buckets would sometimes be walked whole in one step.)
fn scanned_whole(client: &mut Client, key: &str) -> bool {
    match client.command(&["HSCAN", key, "0", "COUNT", "1"]).unwrap() {
        Frame::Array(items) => items[0] == Frame::Bulk(b"0".to_vec()),
        other => panic!("HSCAN replied {other:?}"),
    }
}

/// Where the compact form ends: (hash, whole after one HSCAN step) on one
/// server.
fn boundaries(addr: SocketAddr) -> Vec<(&'static str, bool)> {
    let mut client = common::client(addr);
    fill(&mut client, "at-limit", 512, "v");
    fill(&mut client, "over-limit", 513, "v");
    fill(&mut client, "long-value-64", 20, &"x".repeat(60));
    fill(&mut client, "long-value-65", 20, &"x".repeat(63));
    let long_field = "y".repeat(65);
    fill(&mut client, "long-field", 19, "v");
    client
        .command(&["HSET", "long-field", &long_field, "v"])
        .unwrap();
    // Growing past the limit one field at a time converts as well.
    fill(&mut client, "grown", 512, "v");
    client.command(&["HSET", "grown", "one-more", "v"]).unwrap();
    // A table never goes back, however small it gets.
    for i in 0..500 {
        let field = format!("f{i}");
        client.command(&["HDEL", "over-limit", &field]).unwrap();
    }
    [
        "at-limit",
        "over-limit",
        "long-value-64",
        "long-value-65",
        "long-field",
        "grown",
    ]
    .into_iter()
    .map(|key| (key, scanned_whole(&mut client, key)))
    .collect()
}

#[test]
fn the_compact_form_ends_where_redis_listpack_does() {
    let server = start();
    let mine = boundaries(server.local_addr());
    assert_eq!(
        mine,
        [
            ("at-limit", true),
            ("over-limit", false),
            ("long-value-64", true),
            ("long-value-65", false),
            ("long-field", false),
            ("grown", false),
        ]
    );
    if let Some(real) = RealRedis::start() {
        assert_eq!(mine, boundaries(real.addr));
    }
}

#[test]
fn sets_of_integers_keep_numeric_order_like_an_intset() {
    use Compare::{Exact, Unordered};
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let script: &[(Compare, &[&str])] = &[
        (
            Exact,
            &[
                "SADD",
                "s",
                "10",
                "-3",
                "7",
                "0",
                "10",
                "9223372036854775807",
            ],
        ),
        (Exact, &["SADD", "s", "-9223372036854775808", "42"]),
        (Exact, &["SREM", "s", "7", "8"]),
        (Exact, &["SMEMBERS", "s"]),
        (Exact, &["SSCAN", "s", "5", "COUNT", "1"]),
        (Exact, &["SRANDMEMBER", "s", "50"]),
        (Exact, &["SISMEMBER", "s", "42"]),
        // Not integers as Redis reads them: they make the set a table.
        (Exact, &["SADD", "t", "1", "2", "03"]),
        (Unordered, &["SMEMBERS", "t"]),
        (Exact, &["SADD", "u", "5", "+6", "-0", " 7"]),
        (Unordered, &["SMEMBERS", "u"]),
        (Exact, &["SINTERSTORE", "d", "s", "s"]),
        (Exact, &["SMEMBERS", "d"]),
        (Exact, &["SPOP", "d", "100"]),
        (Exact, &["EXISTS", "d"]),
    ];
    assert_eq!(
        run_script(server.local_addr(), script),
        run_script(real.addr, script)
    );
    println!("{} commands compared", script.len());
}

/// Whether SSCAN's first step, COUNT 1, returns cursor 0 (the whole set);
/// see `scanned_whole`.
fn set_scanned_whole(client: &mut Client, key: &str) -> bool {
    match client.command(&["SSCAN", key, "0", "COUNT", "1"]).unwrap() {
        Frame::Array(items) => items[0] == Frame::Bulk(b"0".to_vec()),
        other => panic!("SSCAN replied {other:?}"),
    }
}

/// (set, whole after one SSCAN step) for sets around the intset limits.
fn set_boundaries(addr: SocketAddr) -> Vec<(&'static str, bool)> {
    let mut client = common::client(addr);
    let add = |client: &mut Client, key: &str, members: Vec<String>| {
        let mut args = vec!["SADD".to_string(), key.to_string()];
        args.extend(members);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        client.command(&args).unwrap();
    };
    add(
        &mut client,
        "at-limit",
        (0..512).map(|i| i.to_string()).collect(),
    );
    add(
        &mut client,
        "over-limit",
        (0..513).map(|i| i.to_string()).collect(),
    );
    let mut mixed: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    mixed.push("x".into());
    add(&mut client, "mixed", mixed);
    ["at-limit", "over-limit", "mixed"]
        .into_iter()
        .map(|key| (key, set_scanned_whole(&mut client, key)))
        .collect()
}

#[test]
fn the_intset_form_ends_where_redis_does() {
    let server = start();
    let mine = set_boundaries(server.local_addr());
    assert_eq!(
        mine,
        [("at-limit", true), ("over-limit", false), ("mixed", false)]
    );
    if let Some(real) = RealRedis::start() {
        assert_eq!(mine, set_boundaries(real.addr));
    }
}
