//! The hash family over TCP: every command in RESP2 and RESP3 bytes, through
//! redis-rs, its errors, WRONGTYPE, empty hashes disappearing, random picks,
//! HSCAN's guarantee, and a command-by-command comparison with a real Redis.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, TcpStream};

use common::script::{run_script, Compare};
use common::{assert_reply, cmd, raw, redis, start, RealRedis};
use respd::resp::Frame;
use respd::Client;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INTEGER: &str = "-ERR value is not an integer or out of range\r\n";

/// Sends one command (text arguments) and asserts the exact reply bytes.
fn check(stream: &mut TcpStream, args: &[&str], expected: &str) {
    assert_reply(stream, &cmd(args), expected.as_bytes());
}

/// A connection switched to RESP3 (HELLO's own reply is skipped).
fn resp3(addr: SocketAddr) -> Client {
    let mut client = common::client(addr);
    client.command(&["HELLO", "3"]).expect("hello");
    client
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(text.as_bytes().to_vec())
}

#[test]
fn set_get_and_delete_fields() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["HSET", "h", "a", "1", "b", "2"], ":2\r\n");
    check(&mut s, &["HSET", "h", "a", "x", "c", "3"], ":1\r\n");
    check(
        &mut s,
        &["HSET", "h", "a", "1", "b"],
        "-ERR wrong number of arguments for 'hset' command\r\n",
    );
    check(
        &mut s,
        &["HSET", "h", "a"],
        "-ERR wrong number of arguments for 'hset' command\r\n",
    );
    check(&mut s, &["HMSET", "h", "d", "4"], "+OK\r\n");
    check(
        &mut s,
        &["HMSET", "h", "d", "4", "e"],
        "-ERR wrong number of arguments for 'hmset' command\r\n",
    );
    check(&mut s, &["HSETNX", "h", "a", "no"], ":0\r\n");
    check(&mut s, &["HSETNX", "h", "f", "6"], ":1\r\n");
    check(&mut s, &["HSETNX", "new", "f", "6"], ":1\r\n");
    check(&mut s, &["HGET", "h", "a"], "$1\r\nx\r\n");
    check(&mut s, &["HGET", "h", "zz"], "$-1\r\n");
    check(&mut s, &["HGET", "nope", "a"], "$-1\r\n");
    check(
        &mut s,
        &["HMGET", "h", "a", "zz", "c"],
        "*3\r\n$1\r\nx\r\n$-1\r\n$1\r\n3\r\n",
    );
    check(&mut s, &["HMGET", "nope", "a", "b"], "*2\r\n$-1\r\n$-1\r\n");
    check(&mut s, &["HEXISTS", "h", "a"], ":1\r\n");
    check(&mut s, &["HEXISTS", "h", "zz"], ":0\r\n");
    check(&mut s, &["HEXISTS", "nope", "a"], ":0\r\n");
    check(&mut s, &["HLEN", "h"], ":5\r\n");
    check(&mut s, &["HLEN", "nope"], ":0\r\n");
    check(&mut s, &["HSTRLEN", "h", "a"], ":1\r\n");
    check(&mut s, &["HSTRLEN", "h", "zz"], ":0\r\n");
    check(&mut s, &["HSTRLEN", "nope", "a"], ":0\r\n");
    check(&mut s, &["HDEL", "h", "a", "a", "zz", "b"], ":2\r\n");
    check(&mut s, &["HDEL", "nope", "a"], ":0\r\n");
    check(&mut s, &["HDEL", "h", "c", "d", "f"], ":3\r\n");
    // The last field gone, the key goes too.
    check(&mut s, &["EXISTS", "h"], ":0\r\n");
    check(&mut s, &["HKEYS", "h"], "*0\r\n");
    check(&mut s, &["HVALS", "h"], "*0\r\n");
    check(&mut s, &["HGETALL", "h"], "*0\r\n");
    check(&mut s, &["HSET", "one", "f", "v"], ":1\r\n");
    check(&mut s, &["HKEYS", "one"], "*1\r\n$1\r\nf\r\n");
    check(&mut s, &["HVALS", "one"], "*1\r\n$1\r\nv\r\n");
    check(&mut s, &["HGETALL", "one"], "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    check(&mut s, &["TYPE", "one"], "+hash\r\n");
}

#[test]
fn binary_fields_and_values_survive() {
    let server = start();
    let mut con = redis(server.local_addr());
    let field: &[u8] = b"f\r\n\0\xff";
    let value: &[u8] = b"\0\r\nv\xfe";
    let added: i64 = redis::cmd("HSET")
        .arg("h")
        .arg(field)
        .arg(value)
        .query(&mut con)
        .unwrap();
    assert_eq!(added, 1);
    let got: Vec<u8> = redis::cmd("HGET")
        .arg("h")
        .arg(field)
        .query(&mut con)
        .unwrap();
    assert_eq!(got, value);
    let len: i64 = redis::cmd("HSTRLEN")
        .arg("h")
        .arg(field)
        .query(&mut con)
        .unwrap();
    assert_eq!(len, 5);
}

#[test]
fn through_redis_rs() {
    let server = start();
    let mut con = redis(server.local_addr());
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg(&["a", "1", "b", "2", "c", "3"])
        .query(&mut con)
        .unwrap();
    let all: HashMap<String, String> = redis::cmd("HGETALL").arg("h").query(&mut con).unwrap();
    let expected: HashMap<String, String> = [("a", "1"), ("b", "2"), ("c", "3")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(all, expected);
    let mut keys: Vec<String> = redis::cmd("HKEYS").arg("h").query(&mut con).unwrap();
    keys.sort();
    assert_eq!(keys, ["a", "b", "c"]);
    let mut values: Vec<i64> = redis::cmd("HVALS").arg("h").query(&mut con).unwrap();
    values.sort();
    assert_eq!(values, [1, 2, 3]);
    let got: Vec<Option<String>> = redis::cmd("HMGET")
        .arg("h")
        .arg(&["c", "x", "a"])
        .query(&mut con)
        .unwrap();
    assert_eq!(got, [Some("3".into()), None, Some("1".into())]);
    let n: i64 = redis::cmd("HINCRBY")
        .arg("h")
        .arg("a")
        .arg(41)
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 42);
    let f: String = redis::cmd("HINCRBYFLOAT")
        .arg("h")
        .arg("b")
        .arg("0.5")
        .query(&mut con)
        .unwrap();
    assert_eq!(f, "2.5");
    let exists: bool = redis::cmd("HEXISTS")
        .arg("h")
        .arg("c")
        .query(&mut con)
        .unwrap();
    assert!(exists);
    let len: i64 = redis::cmd("HLEN").arg("h").query(&mut con).unwrap();
    assert_eq!(len, 3);
    let set: bool = redis::cmd("HSETNX")
        .arg("h")
        .arg("c")
        .arg("9")
        .query(&mut con)
        .unwrap();
    assert!(!set);
    let _: () = redis::cmd("HMSET")
        .arg("h")
        .arg(&["d", "4"])
        .query(&mut con)
        .unwrap();
    let deleted: i64 = redis::cmd("HDEL")
        .arg("h")
        .arg(&["a", "b", "c", "d"])
        .query(&mut con)
        .unwrap();
    assert_eq!(deleted, 4);
    let exists: bool = redis::cmd("EXISTS").arg("h").query(&mut con).unwrap();
    assert!(!exists);
    let err = redis::cmd("HINCRBY")
        .arg("h")
        .arg("a")
        .arg("x")
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("not an integer"), "{err}");
}

#[test]
fn counters_and_their_errors() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["HINCRBY", "h", "n", "5"], ":5\r\n");
    check(&mut s, &["HINCRBY", "h", "n", "-7"], ":-2\r\n");
    check(&mut s, &["HINCRBY", "h", "n", "x"], NOT_INTEGER);
    check(
        &mut s,
        &["HINCRBY", "h", "big", "9223372036854775807"],
        ":9223372036854775807\r\n",
    );
    check(
        &mut s,
        &["HINCRBY", "h", "big", "1"],
        "-ERR increment or decrement would overflow\r\n",
    );
    check(
        &mut s,
        &["HSET", "h", "s", "abc", "sp", " 1", "e", ""],
        ":3\r\n",
    );
    check(
        &mut s,
        &["HINCRBY", "h", "s", "1"],
        "-ERR hash value is not an integer\r\n",
    );
    check(
        &mut s,
        &["HINCRBY", "h", "sp", "1"],
        "-ERR hash value is not an integer\r\n",
    );
    check(
        &mut s,
        &["HINCRBY", "h", "e", "1"],
        "-ERR hash value is not an integer\r\n",
    );
    check(
        &mut s,
        &["HINCRBYFLOAT", "h", "s", "1"],
        "-ERR hash value is not a float\r\n",
    );
    check(
        &mut s,
        &["HINCRBYFLOAT", "h", "e", "1"],
        "-ERR hash value is not a float\r\n",
    );
    check(
        &mut s,
        &["HINCRBYFLOAT", "h", "n", "x"],
        "-ERR value is not a valid float\r\n",
    );
    check(
        &mut s,
        &["HINCRBYFLOAT", "h", "n", "nan"],
        "-ERR value is not a valid float\r\n",
    );
    check(
        &mut s,
        &["HINCRBYFLOAT", "h", "n", "inf"],
        "-ERR value is NaN or Infinity\r\n",
    );
    check(&mut s, &["HINCRBYFLOAT", "h", "n", "0.5"], "$4\r\n-1.5\r\n");
    // Long-double arithmetic, printed as Redis prints it.
    check(&mut s, &["HSET", "h", "f", "10.50"], ":1\r\n");
    check(&mut s, &["HINCRBYFLOAT", "h", "f", "0.1"], "$4\r\n10.6\r\n");
    check(
        &mut s,
        &["HINCRBYFLOAT", "h", "f", "5.0e3"],
        "$22\r\n5010.60000000000000009\r\n",
    );
    check(
        &mut s,
        &["HINCRBYFLOAT", "h", "f", "-5010.6"],
        "$1\r\n0\r\n",
    );
    check(&mut s, &["HSET", "h", "i", "inf"], ":1\r\n");
    check(
        &mut s,
        &["HINCRBYFLOAT", "h", "i", "1"],
        "-ERR increment would produce NaN or Infinity\r\n",
    );
    // A bad increment never creates the key.
    check(&mut s, &["HINCRBY", "nope", "f", "x"], NOT_INTEGER);
    check(
        &mut s,
        &["HINCRBYFLOAT", "nope", "f", "x"],
        "-ERR value is not a valid float\r\n",
    );
    check(&mut s, &["EXISTS", "nope"], ":0\r\n");
    check(
        &mut s,
        &["HINCRBYFLOAT", "nope", "f", "1.5"],
        "$3\r\n1.5\r\n",
    );
}

#[test]
fn wrong_type_is_refused_by_every_command() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["SET", "str", "x"], "+OK\r\n");
    let commands: &[&[&str]] = &[
        &["HSET", "str", "f", "v"],
        &["HMSET", "str", "f", "v"],
        &["HSETNX", "str", "f", "v"],
        &["HGET", "str", "f"],
        &["HMGET", "str", "f"],
        &["HDEL", "str", "f"],
        &["HEXISTS", "str", "f"],
        &["HLEN", "str"],
        &["HSTRLEN", "str", "f"],
        &["HKEYS", "str"],
        &["HVALS", "str"],
        &["HGETALL", "str"],
        &["HINCRBY", "str", "f", "1"],
        &["HINCRBYFLOAT", "str", "f", "1"],
        &["HRANDFIELD", "str"],
        &["HRANDFIELD", "str", "2", "WITHVALUES"],
        &["HSCAN", "str", "0"],
    ];
    for args in commands {
        check(&mut s, args, WRONGTYPE);
    }
    check(&mut s, &["GET", "str"], "$1\r\nx\r\n");
}

#[test]
fn resp3_shapes() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["HSET", "h", "f", "v"], ":1\r\n");
    let mut client = resp3(server.local_addr());
    let mut run = |args: &[&str]| client.command(args).unwrap();
    assert_eq!(
        run(&["HGETALL", "h"]),
        Frame::Map(vec![(bulk("f"), bulk("v"))])
    );
    assert_eq!(run(&["HGETALL", "nope"]), Frame::Map(vec![]));
    assert_eq!(run(&["HGET", "h", "x"]), Frame::Null);
    assert_eq!(
        run(&["HMGET", "h", "x", "f"]),
        Frame::Array(vec![Frame::Null, bulk("v")])
    );
    assert_eq!(run(&["HRANDFIELD", "nope"]), Frame::Null);
    assert_eq!(
        run(&["HRANDFIELD", "h", "-2", "WITHVALUES"]),
        Frame::Array(vec![
            Frame::Array(vec![bulk("f"), bulk("v")]),
            Frame::Array(vec![bulk("f"), bulk("v")]),
        ])
    );
    assert_eq!(
        run(&["HRANDFIELD", "h", "-2"]),
        Frame::Array(vec![bulk("f"), bulk("f")])
    );
    assert_eq!(run(&["HEXISTS", "h", "f"]), Frame::Integer(1));
    assert_eq!(
        run(&["HSCAN", "h", "0"]),
        Frame::Array(vec![bulk("0"), Frame::Array(vec![bulk("f"), bulk("v")])])
    );
}

#[test]
fn resp3_bytes() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["HSET", "h", "f", "v"], ":1\r\n");
    // HELLO 3's reply is long; send it with the first exact check and
    // expect its exact bytes through a client instead.
    let mut client = resp3(server.local_addr());
    let (_, bytes) = {
        client.send(&["HGETALL", "h"]).unwrap();
        client.read_reply_with_bytes().unwrap()
    };
    assert_eq!(bytes, b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    for (args, expected) in [
        (&["HGETALL", "nope"][..], &b"%0\r\n"[..]),
        (&["HGET", "h", "x"], b"_\r\n"),
        (&["HRANDFIELD", "nope"], b"_\r\n"),
        (&["HRANDFIELD", "nope", "3", "WITHVALUES"], b"*0\r\n"),
        (
            &["HRANDFIELD", "h", "1", "WITHVALUES"],
            b"*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
        ),
    ] {
        client.send(args).unwrap();
        let (_, bytes) = client.read_reply_with_bytes().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(expected),
            "{args:?}"
        );
    }
    // RESP2 flattens the pairs.
    check(
        &mut s,
        &["HRANDFIELD", "h", "-2", "WITHVALUES"],
        "*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nf\r\n$1\r\nv\r\n",
    );
}

#[test]
fn hrandfield_counts() {
    let server = start();
    let mut s = raw(server.local_addr());
    let mut con = redis(server.local_addr());
    let pairs: Vec<String> = (0..50)
        .flat_map(|i| [format!("f{i}"), format!("v{i}")])
        .collect();
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg(&pairs)
        .query(&mut con)
        .unwrap();
    for count in [1usize, 5, 20, 49, 50, 80] {
        let got: Vec<String> = redis::cmd("HRANDFIELD")
            .arg("h")
            .arg(count)
            .query(&mut con)
            .unwrap();
        let unique: HashSet<&String> = got.iter().collect();
        assert_eq!(got.len(), count.min(50), "count {count}");
        assert_eq!(unique.len(), got.len(), "no repeats for count {count}");
        assert!(got.iter().all(|f| f.starts_with('f')));
    }
    let got: Vec<String> = redis::cmd("HRANDFIELD")
        .arg("h")
        .arg(-200)
        .query(&mut con)
        .unwrap();
    assert_eq!(got.len(), 200);
    let got: Vec<String> = redis::cmd("HRANDFIELD")
        .arg("h")
        .arg(-7)
        .arg("WITHVALUES")
        .query(&mut con)
        .unwrap();
    assert_eq!(got.len(), 14);
    for pair in got.chunks(2) {
        assert_eq!(pair[0][1..], pair[1][1..], "value belongs to its field");
    }
    let one: String = redis::cmd("HRANDFIELD").arg("h").query(&mut con).unwrap();
    assert!(one.starts_with('f'));
    check(&mut s, &["HRANDFIELD", "h", "0"], "*0\r\n");
    check(&mut s, &["HRANDFIELD", "nope", "3"], "*0\r\n");
    check(&mut s, &["HRANDFIELD", "nope"], "$-1\r\n");
    check(&mut s, &["HRANDFIELD", "h", "x"], NOT_INTEGER);
    check(&mut s, &["HRANDFIELD", "h", "1", "WITHVALUE"], SYNTAX);
    check(&mut s, &["HRANDFIELD", "h", "1", "WITHVALUES", "x"], SYNTAX);
    check(
        &mut s,
        &["HRANDFIELD", "h", "-9223372036854775808"],
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
    );
    check(
        &mut s,
        &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
        "-ERR value is out of range\r\n",
    );
    check(
        &mut s,
        &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"],
        "-ERR value is out of range\r\n",
    );
}

#[test]
fn hscan_sees_every_field_and_filters() {
    let server = start();
    let mut con = redis(server.local_addr());
    let pairs: Vec<String> = (0..1000)
        .flat_map(|i| [format!("f{i}"), format!("{i}")])
        .collect();
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg(&pairs)
        .query(&mut con)
        .unwrap();
    let mut seen = HashMap::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, items): (String, Vec<String>) = redis::cmd("HSCAN")
            .arg("h")
            .arg(&cursor)
            .arg("COUNT")
            .arg(50)
            .query(&mut con)
            .unwrap();
        calls += 1;
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone(), pair[1].clone());
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert!(
        calls > 1,
        "a COUNT of 50 over 1000 fields takes several calls"
    );
    assert_eq!(seen.len(), 1000);
    assert!(seen.iter().all(|(f, v)| f[1..] == *v));

    let mut matched = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, items): (String, Vec<String>) = redis::cmd("HSCAN")
            .arg("h")
            .arg(&cursor)
            .arg("MATCH")
            .arg("f99*")
            .query(&mut con)
            .unwrap();
        matched.extend(items.chunks(2).map(|p| p[0].clone()));
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    matched.sort();
    assert_eq!(
        matched,
        ["f99", "f990", "f991", "f992", "f993", "f994", "f995", "f996", "f997", "f998", "f999"]
    );

    let mut s = raw(server.local_addr());
    check(&mut s, &["HSCAN", "nope", "0"], "*2\r\n$1\r\n0\r\n*0\r\n");
    // Options are read only once the key exists, as in Redis.
    check(
        &mut s,
        &["HSCAN", "nope", "0", "FOO"],
        "*2\r\n$1\r\n0\r\n*0\r\n",
    );
    check(&mut s, &["HSCAN", "h", "x"], "-ERR invalid cursor\r\n");
    check(
        &mut s,
        &["HSCAN", "h", "18446744073709551616"],
        "-ERR invalid cursor\r\n",
    );
    check(&mut s, &["HSCAN", "h", "0", "COUNT", "0"], SYNTAX);
    check(&mut s, &["HSCAN", "h", "0", "COUNT"], SYNTAX);
    check(&mut s, &["HSCAN", "h", "0", "COUNT", "x"], NOT_INTEGER);
    check(&mut s, &["HSCAN", "h", "0", "NOVALUES"], SYNTAX);
}

#[test]
fn expired_hash_reads_as_missing() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["HSET", "h", "f", "v"], ":1\r\n");
    check(&mut s, &["PEXPIRE", "h", "1"], ":1\r\n");
    std::thread::sleep(std::time::Duration::from_millis(20));
    check(&mut s, &["HGET", "h", "f"], "$-1\r\n");
    check(&mut s, &["HLEN", "h"], ":0\r\n");
    // A write after expiry starts a fresh hash without the old TTL.
    check(&mut s, &["HSET", "h", "g", "w"], ":1\r\n");
    check(&mut s, &["HGETALL", "h"], "*2\r\n$1\r\ng\r\n$1\r\nw\r\n");
    check(&mut s, &["TTL", "h"], ":-1\r\n");
    // HSET keeps an existing TTL.
    check(&mut s, &["EXPIRE", "h", "100"], ":1\r\n");
    check(&mut s, &["HSET", "h", "x", "y"], ":1\r\n");
    check(&mut s, &["TTL", "h"], ":100\r\n");
}

/// Every hash command, its errors and its RESP3 shapes, against a real
/// Redis (skipped when redis-server is not installed).
#[test]
fn same_replies_as_real_redis() {
    use Compare::*;
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let script: &[(Compare, &[&str])] = &[
        (Exact, &["SET", "str", "x"]),
        (Exact, &["HSET", "h", "a", "1", "b", "2", "c", "3"]),
        (Exact, &["HSET", "h", "a", "10", "d", "4"]),
        (Exact, &["HSET", "h", "a", "1", "b"]),
        (Exact, &["HSET", "h", "a"]),
        (Exact, &["HSET", "str", "a", "1"]),
        (Exact, &["HMSET", "h", "e", "5"]),
        (Exact, &["HMSET", "h", "e", "5", "f"]),
        (Exact, &["HMSET", "str", "e", "5"]),
        (Exact, &["HSETNX", "h", "a", "x"]),
        (Exact, &["HSETNX", "h", "n", "x"]),
        (Exact, &["HSETNX", "str", "n", "x"]),
        (Exact, &["HSETNX", "h", "n"]),
        (Exact, &["HGET", "h", "a"]),
        (Exact, &["HGET", "h", "zz"]),
        (Exact, &["HGET", "nope", "a"]),
        (Exact, &["HGET", "str", "a"]),
        (Exact, &["HGET", "h"]),
        (Exact, &["HMGET", "h", "a", "zz", "b"]),
        (Exact, &["HMGET", "nope", "a"]),
        (Exact, &["HMGET", "str", "a"]),
        (Exact, &["HMGET", "h"]),
        (Exact, &["HEXISTS", "h", "a"]),
        (Exact, &["HEXISTS", "h", "zz"]),
        (Exact, &["HEXISTS", "nope", "a"]),
        (Exact, &["HEXISTS", "str", "a"]),
        (Exact, &["HLEN", "h"]),
        (Exact, &["HLEN", "nope"]),
        (Exact, &["HLEN", "str"]),
        (Exact, &["HLEN", "h", "x"]),
        (Exact, &["HSTRLEN", "h", "a"]),
        (Exact, &["HSTRLEN", "h", "zz"]),
        (Exact, &["HSTRLEN", "nope", "a"]),
        (Exact, &["HSTRLEN", "str", "a"]),
        (Unordered, &["HKEYS", "h"]),
        (Exact, &["HKEYS", "nope"]),
        (Exact, &["HKEYS", "str"]),
        (Unordered, &["HVALS", "h"]),
        (Exact, &["HVALS", "nope"]),
        (Exact, &["HVALS", "str"]),
        (Pairs, &["HGETALL", "h"]),
        (Exact, &["HGETALL", "nope"]),
        (Exact, &["HGETALL", "str"]),
        (Exact, &["HINCRBY", "h", "a", "5"]),
        (Exact, &["HINCRBY", "h", "new", "-5"]),
        (Exact, &["HINCRBY", "h", "a", "x"]),
        (Exact, &["HINCRBY", "h", "a", "9223372036854775807"]),
        (Exact, &["HINCRBY", "h", "m", "-9223372036854775808"]),
        (Exact, &["HINCRBY", "h", "m", "-1"]),
        (Exact, &["HSET", "h", "s", "abc", "sp", " 1", "e", ""]),
        (Exact, &["HINCRBY", "h", "s", "1"]),
        (Exact, &["HINCRBY", "h", "sp", "1"]),
        (Exact, &["HINCRBY", "h", "e", "1"]),
        (Exact, &["HINCRBY", "str", "a", "1"]),
        (Exact, &["HINCRBY", "nope2", "a", "x"]),
        (Exact, &["EXISTS", "nope2"]),
        (Exact, &["HINCRBYFLOAT", "h", "a", "1.5"]),
        (Exact, &["HINCRBYFLOAT", "h", "fl", "10.50"]),
        (Exact, &["HINCRBYFLOAT", "h", "fl", "0.1"]),
        (Exact, &["HINCRBYFLOAT", "h", "fl", "5.0e3"]),
        (Exact, &["HINCRBYFLOAT", "h", "fl", "-5010.6"]),
        (Exact, &["HINCRBYFLOAT", "h", "fl", "1e308"]),
        (Exact, &["HINCRBYFLOAT", "h", "fl", "3.0000000000000000001"]),
        (Exact, &["HINCRBYFLOAT", "h", "s", "1"]),
        (Exact, &["HINCRBYFLOAT", "h", "e", "1"]),
        (Exact, &["HINCRBYFLOAT", "h", "a", "x"]),
        (Exact, &["HINCRBYFLOAT", "h", "a", "nan"]),
        (Exact, &["HINCRBYFLOAT", "h", "a", "inf"]),
        (Exact, &["HINCRBYFLOAT", "h", "a", "-inf"]),
        (Exact, &["HINCRBYFLOAT", "h", "a", " 1"]),
        (Exact, &["HSET", "h", "i", "inf"]),
        (Exact, &["HINCRBYFLOAT", "h", "i", "1"]),
        (Exact, &["HINCRBYFLOAT", "str", "a", "1"]),
        (Exact, &["HINCRBYFLOAT", "nope2", "a", "x"]),
        (Exact, &["HINCRBYFLOAT", "nope2", "a", "2.5"]),
        (Exact, &["HDEL", "h", "a", "zz", "b"]),
        (Exact, &["HDEL", "nope", "a"]),
        (Exact, &["HDEL", "str", "a"]),
        (Exact, &["HDEL", "nope2", "a"]),
        (Exact, &["EXISTS", "nope2"]),
        (Exact, &["HSET", "one", "f", "v"]),
        (Exact, &["HRANDFIELD", "one"]),
        (Exact, &["HRANDFIELD", "one", "3"]),
        (Exact, &["HRANDFIELD", "one", "-3"]),
        (Exact, &["HRANDFIELD", "one", "-3", "WITHVALUES"]),
        (Exact, &["HRANDFIELD", "one", "1", "withvalues"]),
        (Unordered, &["HRANDFIELD", "h", "100"]),
        (Pairs, &["HRANDFIELD", "h", "100", "WITHVALUES"]),
        (Exact, &["HRANDFIELD", "h", "0"]),
        (Exact, &["HRANDFIELD", "h", "0", "WITHVALUES"]),
        (Exact, &["HRANDFIELD", "nope"]),
        (Exact, &["HRANDFIELD", "nope", "3"]),
        (Exact, &["HRANDFIELD", "nope", "-3", "WITHVALUES"]),
        (Exact, &["HRANDFIELD", "str"]),
        (Exact, &["HRANDFIELD", "str", "1"]),
        (Exact, &["HRANDFIELD", "h", "x"]),
        (Exact, &["HRANDFIELD", "h", "1", "WITHVALUE"]),
        (Exact, &["HRANDFIELD", "h", "1", "WITHVALUES", "x"]),
        (Exact, &["HRANDFIELD", "h", "x", "WITHVALUES", "x"]),
        (Exact, &["HRANDFIELD", "h", "-9223372036854775808"]),
        (
            Exact,
            &["HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"],
        ),
        (
            Exact,
            &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"],
        ),
        (
            Exact,
            &["HRANDFIELD", "nope", "-4611686018427387904", "WITHVALUES"],
        ),
        // Small hashes are scanned in one call (Redis: a listpack).
        (
            Exact,
            &["HSET", "sm", "a", "1", "b", "2", "ab", "3", "c", "4"],
        ),
        (ScanPairs, &["HSCAN", "sm", "0"]),
        (ScanPairs, &["HSCAN", "sm", "0", "MATCH", "a*"]),
        (
            ScanPairs,
            &["HSCAN", "sm", "0", "match", "*", "count", "100"],
        ),
        (ScanPairs, &["HSCAN", "sm", "0", "COUNT", "1"]),
        (Exact, &["HSCAN", "nope", "0"]),
        (Exact, &["HSCAN", "nope", "0", "FOO"]),
        (Exact, &["HSCAN", "nope", "x"]),
        (Exact, &["HSCAN", "str", "0"]),
        (Exact, &["HSCAN", "str", "0", "FOO"]),
        (Exact, &["HSCAN", "h", "x"]),
        (Exact, &["HSCAN", "h", "-"]),
        (Exact, &["HSCAN", "h", "18446744073709551616"]),
        (Exact, &["HSCAN", "h", "0", "COUNT", "0"]),
        (Exact, &["HSCAN", "h", "0", "COUNT", "x"]),
        (Exact, &["HSCAN", "h", "0", "COUNT"]),
        (Exact, &["HSCAN", "h", "0", "NOVALUES"]),
        (Exact, &["HSCAN", "h"]),
        (Exact, &["HDEL", "one", "f"]),
        (Exact, &["EXISTS", "one"]),
        (Exact, &["HSET", "one", "f", "v"]),
        // RESP3 from here.
        (Skip, &["HELLO", "3"]),
        (Unordered, &["HGETALL", "h"]),
        (Exact, &["HGETALL", "one"]),
        (Exact, &["HGETALL", "nope"]),
        (Exact, &["HGET", "h", "zz"]),
        (Exact, &["HMGET", "h", "zz", "c"]),
        (Exact, &["HEXISTS", "h", "c"]),
        (Unordered, &["HKEYS", "h"]),
        (Exact, &["HVALS", "one"]),
        (Exact, &["HINCRBYFLOAT", "h", "c", "0.5"]),
        (Exact, &["HRANDFIELD", "nope"]),
        (Exact, &["HRANDFIELD", "one"]),
        (Exact, &["HRANDFIELD", "one", "-2", "WITHVALUES"]),
        (Exact, &["HRANDFIELD", "one", "2", "WITHVALUES"]),
        (Unordered, &["HRANDFIELD", "h", "100", "WITHVALUES"]),
        (Exact, &["HRANDFIELD", "nope", "2", "WITHVALUES"]),
        (Exact, &["HSCAN", "one", "0"]),
        (Exact, &["HSCAN", "nope", "0"]),
        (Exact, &["HSET", "h", "a"]),
    ];
    let ours = run_script(server.local_addr(), script);
    let theirs = run_script(real.addr, script);
    for (((compare, args), ours), theirs) in script.iter().zip(&ours).zip(&theirs) {
        assert_eq!(
            String::from_utf8_lossy(&ours.to_bytes()),
            String::from_utf8_lossy(&theirs.to_bytes()),
            "{args:?} compared {compare:?}"
        );
    }
    println!("hash differential cases: {}", script.len());
}
