//! The string family over TCP: SET and its options, GET/GETSET/GETDEL/GETEX,
//! the counters, ranges, limits, RESP3 shapes, and a byte-for-byte
//! comparison with a real Redis.

mod common;

use std::net::TcpStream;
use std::thread::sleep;
use std::time::Duration;

use common::{assert_reply, cmd, raw, redis, start, start_with, RealRedis};

/// Sends one command (text arguments) and asserts the exact reply bytes.
fn check(stream: &mut TcpStream, args: &[&str], expected: &str) {
    assert_reply(stream, &cmd(args), expected.as_bytes());
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INTEGER: &str = "-ERR value is not an integer or out of range\r\n";

#[test]
fn set_options_and_their_conflicts() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["SET", "k", "v"], "+OK\r\n");
    check(&mut s, &["SET", "k", "w", "NX"], "$-1\r\n");
    check(&mut s, &["SET", "k", "w", "xx"], "+OK\r\n");
    check(&mut s, &["SET", "new", "w", "XX"], "$-1\r\n");
    check(&mut s, &["SET", "new", "a", "NX", "GET"], "$-1\r\n");
    check(&mut s, &["SET", "new", "b", "NX", "GET"], "$1\r\na\r\n");
    check(&mut s, &["GET", "new"], "$1\r\na\r\n");
    check(
        &mut s,
        &["SET", "new", "c", "XX", "GET", "GET"],
        "$1\r\na\r\n",
    );
    check(&mut s, &["SET", "gone", "c", "GET"], "$-1\r\n");
    check(&mut s, &["GET", "gone"], "$1\r\nc\r\n");
    for bad in [
        &["SET", "k", "v", "NX", "XX"][..],
        &["SET", "k", "v", "XX", "NX"],
        &["SET", "k", "v", "EX", "10", "PX", "10"],
        &["SET", "k", "v", "KEEPTTL", "EX", "10"],
        &["SET", "k", "v", "PXAT", "10", "KEEPTTL"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "PERSIST"],
        &["SET", "k", "v", "FOO"],
    ] {
        check(&mut s, bad, SYNTAX);
    }
    check(&mut s, &["SET", "k", "v", "EX", "abc"], NOT_INTEGER);
    let invalid = "-ERR invalid expire time in 'set' command\r\n";
    for (option, n) in [
        ("EX", "0"),
        ("EX", "-1"),
        ("PX", "0"),
        ("EXAT", "-5"),
        ("EX", "9223372036854775807"),
        ("PX", "9223372036854775807"),
        ("EX", "9223372036854776"),
    ] {
        check(&mut s, &["SET", "k", "v", option, n], invalid);
    }
    // The last of several time options of one kind wins.
    check(
        &mut s,
        &["SET", "k", "v", "EX", "10", "EX", "1000"],
        "+OK\r\n",
    );
    let mut con = redis(server.local_addr());
    let ttl: i64 = redis::cmd("TTL").arg("k").query(&mut con).unwrap();
    assert!(ttl > 10 && ttl <= 1000, "{ttl}");
    // KEEPTTL keeps it; a plain SET drops it.
    check(&mut s, &["SET", "k", "w", "KEEPTTL"], "+OK\r\n");
    let ttl: i64 = redis::cmd("TTL").arg("k").query(&mut con).unwrap();
    assert!(ttl > 10, "{ttl}");
    check(&mut s, &["SET", "k", "w"], "+OK\r\n");
    check(&mut s, &["TTL", "k"], ":-1\r\n");
    // Absolute times: far future lives, the past is gone.
    check(
        &mut s,
        &["SET", "k", "v", "EXAT", "9223372036854775"],
        "+OK\r\n",
    );
    check(
        &mut s,
        &["SET", "k", "v", "PXAT", "4102444800000"],
        "+OK\r\n",
    );
    check(&mut s, &["PEXPIRETIME", "k"], ":4102444800000\r\n");
    check(&mut s, &["SET", "k", "v", "PXAT", "1"], "+OK\r\n");
    check(&mut s, &["GET", "k"], "$-1\r\n");
}

#[test]
fn wrong_types_are_refused() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["RPUSH", "l", "a"], ":1\r\n");
    for command in [
        &["GET", "l"][..],
        &["SET", "l", "v", "GET"],
        &["SET", "l", "v", "NX", "GET"],
        &["GETSET", "l", "v"],
        &["GETDEL", "l"],
        &["GETEX", "l"],
        &["APPEND", "l", "x"],
        &["STRLEN", "l"],
        &["INCR", "l"],
        &["INCRBYFLOAT", "l", "abc"],
        &["GETRANGE", "l", "0", "1"],
        &["SETRANGE", "l", "0", "x"],
    ] {
        check(&mut s, command, WRONGTYPE);
    }
    // A non-string reads as nil in MGET; SET without GET overwrites.
    check(&mut s, &["MGET", "l", "nope"], "*2\r\n$-1\r\n$-1\r\n");
    check(&mut s, &["SETRANGE", "l", "0", ""], WRONGTYPE);
    check(&mut s, &["SET", "l", "v"], "+OK\r\n");
    check(&mut s, &["GET", "l"], "$1\r\nv\r\n");
}

#[test]
fn get_family() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["GETSET", "k", "a"], "$-1\r\n");
    check(&mut s, &["GETSET", "k", "b"], "$1\r\na\r\n");
    check(&mut s, &["SETEX", "k", "100", "c"], "+OK\r\n");
    check(&mut s, &["GETSET", "k", "d"], "$1\r\nc\r\n");
    check(&mut s, &["TTL", "k"], ":-1\r\n");
    check(&mut s, &["GETDEL", "k"], "$1\r\nd\r\n");
    check(&mut s, &["GETDEL", "k"], "$-1\r\n");
    check(&mut s, &["EXISTS", "k"], ":0\r\n");

    // GETEX: a missing key answers nil before its options are checked.
    check(&mut s, &["GETEX", "nope", "EX", "0"], "$-1\r\n");
    check(&mut s, &["SET", "k", "v"], "+OK\r\n");
    check(&mut s, &["GETEX", "k"], "$1\r\nv\r\n");
    check(
        &mut s,
        &["GETEX", "k", "EX", "0"],
        "-ERR invalid expire time in 'getex' command\r\n",
    );
    check(&mut s, &["GETEX", "k", "NX"], SYNTAX);
    check(&mut s, &["GETEX", "k", "KEEPTTL"], SYNTAX);
    check(&mut s, &["GETEX", "k", "PERSIST", "EX", "10"], SYNTAX);
    check(&mut s, &["GETEX", "k", "EX", "100"], "$1\r\nv\r\n");
    check(&mut s, &["TTL", "k"], ":100\r\n");
    check(
        &mut s,
        &["GETEX", "k", "PXAT", "4102444800000"],
        "$1\r\nv\r\n",
    );
    check(&mut s, &["PEXPIRETIME", "k"], ":4102444800000\r\n");
    check(&mut s, &["GETEX", "k", "PERSIST"], "$1\r\nv\r\n");
    check(&mut s, &["TTL", "k"], ":-1\r\n");
    check(&mut s, &["GETEX", "k", "EXAT", "1"], "$1\r\nv\r\n");
    check(&mut s, &["EXISTS", "k"], ":0\r\n");

    check(&mut s, &["SETNX", "n", "1"], ":1\r\n");
    check(&mut s, &["SETNX", "n", "2"], ":0\r\n");
    check(&mut s, &["GET", "n"], "$1\r\n1\r\n");
    check(
        &mut s,
        &["SETEX", "k", "0", "v"],
        "-ERR invalid expire time in 'setex' command\r\n",
    );
    check(
        &mut s,
        &["PSETEX", "k", "-1", "v"],
        "-ERR invalid expire time in 'psetex' command\r\n",
    );
    check(&mut s, &["SETEX", "k", "x", "v"], NOT_INTEGER);
    check(&mut s, &["PSETEX", "k", "100000", "v"], "+OK\r\n");
    check(&mut s, &["TTL", "k"], ":100\r\n");
}

#[test]
fn multi_key_commands() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(
        &mut s,
        &["MSET", "a"],
        "-ERR wrong number of arguments for 'mset' command\r\n",
    );
    check(
        &mut s,
        &["MSET", "a", "1", "b"],
        "-ERR wrong number of arguments for 'mset' command\r\n",
    );
    check(
        &mut s,
        &["MSETNX", "a", "1", "b"],
        "-ERR wrong number of arguments for 'msetnx' command\r\n",
    );
    check(&mut s, &["SETEX", "a", "100", "old"], "+OK\r\n");
    check(&mut s, &["MSET", "a", "1", "b", "2"], "+OK\r\n");
    check(&mut s, &["TTL", "a"], ":-1\r\n");
    check(&mut s, &["MSETNX", "b", "x", "c", "3"], ":0\r\n");
    check(&mut s, &["EXISTS", "c"], ":0\r\n");
    check(&mut s, &["MSETNX", "c", "3", "d", "4"], ":1\r\n");
    check(
        &mut s,
        &["MGET", "a", "nope", "d", "a"],
        "*4\r\n$1\r\n1\r\n$-1\r\n$1\r\n4\r\n$1\r\n1\r\n",
    );
}

#[test]
fn append_strlen_and_ranges() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["APPEND", "k", "Hello"], ":5\r\n");
    check(&mut s, &["APPEND", "k", " World"], ":11\r\n");
    check(&mut s, &["STRLEN", "k"], ":11\r\n");
    check(&mut s, &["STRLEN", "nope"], ":0\r\n");
    check(&mut s, &["GETRANGE", "k", "0", "4"], "$5\r\nHello\r\n");
    check(&mut s, &["GETRANGE", "k", "-5", "-1"], "$5\r\nWorld\r\n");
    check(&mut s, &["GETRANGE", "k", "-1", "-5"], "$0\r\n\r\n");
    check(&mut s, &["GETRANGE", "k", "5", "2"], "$0\r\n\r\n");
    check(
        &mut s,
        &["GETRANGE", "k", "-100", "100"],
        "$11\r\nHello World\r\n",
    );
    check(&mut s, &["GETRANGE", "k", "0", "-100"], "$1\r\nH\r\n");
    check(&mut s, &["GETRANGE", "nope", "0", "1"], "$0\r\n\r\n");
    check(&mut s, &["GETRANGE", "k", "a", "1"], NOT_INTEGER);
    check(&mut s, &["SUBSTR", "k", "6", "-1"], "$5\r\nWorld\r\n");
    check(&mut s, &["SETRANGE", "k", "6", "Redis"], ":11\r\n");
    check(&mut s, &["GET", "k"], "$11\r\nHello Redis\r\n");
    check(&mut s, &["SETRANGE", "k", "0", ""], ":11\r\n");
    check(&mut s, &["SETRANGE", "nope", "0", ""], ":0\r\n");
    check(&mut s, &["EXISTS", "nope"], ":0\r\n");
    check(&mut s, &["SETRANGE", "pad", "3", "x"], ":4\r\n");
    check(&mut s, &["GET", "pad"], "$4\r\n\0\0\0x\r\n");
    check(
        &mut s,
        &["SETRANGE", "k", "-1", "x"],
        "-ERR offset is out of range\r\n",
    );
    check(&mut s, &["SETRANGE", "k", "x", "x"], NOT_INTEGER);
}

#[test]
fn strings_cannot_outgrow_proto_max_bulk_len() {
    let server = start_with("proto-max-bulk-len 1048576");
    let mut s = raw(server.local_addr());
    let too_long = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    check(&mut s, &["SETRANGE", "k", "1048576", "x"], too_long);
    check(
        &mut s,
        &["SETRANGE", "k", "9223372036854775807", "x"],
        too_long,
    );
    check(&mut s, &["EXISTS", "k"], ":0\r\n");
    check(&mut s, &["SETRANGE", "k", "1048575", "x"], ":1048576\r\n");
    check(&mut s, &["APPEND", "k", "y"], too_long);
    check(&mut s, &["STRLEN", "k"], ":1048576\r\n");
    // Redis's default limit (512 MB) is refused without allocating.
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["SETRANGE", "k", "536870912", "x"], too_long);
}

#[test]
fn binary_safe_and_large_values() {
    let server = start();
    let mut con = redis(server.local_addr());
    let key: Vec<u8> = vec![0, 13, 10, 255, b' '];
    let value: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(&value)
        .query(&mut con)
        .unwrap();
    let got: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut con).unwrap();
    assert_eq!(got, value);
    let len: usize = redis::cmd("APPEND")
        .arg(&key)
        .arg(&b"\r\n\0"[..])
        .query(&mut con)
        .unwrap();
    assert_eq!(len, value.len() + 3);
    let tail: Vec<u8> = redis::cmd("GETRANGE")
        .arg(&key)
        .arg(-4)
        .arg(-1)
        .query(&mut con)
        .unwrap();
    assert_eq!(tail, vec![255, b'\r', b'\n', 0]);
    let got: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
        .arg(&key)
        .arg("nope")
        .query(&mut con)
        .unwrap();
    assert_eq!(got[0].as_ref().map(Vec::len), Some(value.len() + 3));
    assert_eq!(got[1], None);
}

#[test]
fn integer_counters() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["INCR", "n"], ":1\r\n");
    check(&mut s, &["INCRBY", "n", "41"], ":42\r\n");
    check(&mut s, &["DECR", "n"], ":41\r\n");
    check(&mut s, &["DECRBY", "n", "50"], ":-9\r\n");
    check(&mut s, &["GET", "n"], "$2\r\n-9\r\n");
    check(&mut s, &["INCRBY", "n", "abc"], NOT_INTEGER);
    check(
        &mut s,
        &["DECRBY", "n", "-9223372036854775808"],
        "-ERR decrement would overflow\r\n",
    );
    check(&mut s, &["SET", "n", "9223372036854775806"], "+OK\r\n");
    check(&mut s, &["INCR", "n"], ":9223372036854775807\r\n");
    check(
        &mut s,
        &["INCR", "n"],
        "-ERR increment or decrement would overflow\r\n",
    );
    check(&mut s, &["SET", "n", "-9223372036854775807"], "+OK\r\n");
    check(&mut s, &["DECR", "n"], ":-9223372036854775808\r\n");
    check(
        &mut s,
        &["DECR", "n"],
        "-ERR increment or decrement would overflow\r\n",
    );
    for text in [" 1", "1 ", "0x10", "01", "+1", "1.0", ""] {
        check(&mut s, &["SET", "n", text], "+OK\r\n");
        check(&mut s, &["INCR", "n"], NOT_INTEGER);
    }
    // Counting keeps the key's expiry.
    check(&mut s, &["SETEX", "t", "100", "5"], "+OK\r\n");
    check(&mut s, &["INCR", "t"], ":6\r\n");
    check(&mut s, &["TTL", "t"], ":100\r\n");
}

#[test]
fn incrbyfloat_prints_like_redis_long_double() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["SET", "f", "10.50"], "+OK\r\n");
    check(&mut s, &["INCRBYFLOAT", "f", "0.1"], "$4\r\n10.6\r\n");
    check(
        &mut s,
        &["INCRBYFLOAT", "f", "5.0e3"],
        "$22\r\n5010.60000000000000009\r\n",
    );
    check(&mut s, &["INCRBYFLOAT", "new", "-3"], "$2\r\n-3\r\n");
    check(&mut s, &["INCRBYFLOAT", "new", "3"], "$1\r\n0\r\n");
    check(
        &mut s,
        &["INCRBYFLOAT", "new", "abc"],
        "-ERR value is not a valid float\r\n",
    );
    check(
        &mut s,
        &["INCRBYFLOAT", "new", "inf"],
        "-ERR increment would produce NaN or Infinity\r\n",
    );
    check(&mut s, &["SET", "f", "abc"], "+OK\r\n");
    check(
        &mut s,
        &["INCRBYFLOAT", "f", "1"],
        "-ERR value is not a valid float\r\n",
    );
}

#[test]
fn resp3_shapes() {
    let server = start();
    let mut s = raw(server.local_addr());
    let hello = common::exchange(&mut s, &cmd(&["HELLO", "3"]), 1);
    assert_eq!(hello.first(), Some(&b'%'));
    // Drain the rest of HELLO's map.
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    common::read_n(&mut s, usize::MAX);
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    check(&mut s, &["GET", "nope"], "_\r\n");
    check(&mut s, &["SET", "k", "v", "XX"], "_\r\n");
    check(&mut s, &["SET", "k", "1.5", "GET"], "_\r\n");
    check(&mut s, &["MGET", "k", "nope"], "*2\r\n$3\r\n1.5\r\n_\r\n");
    check(&mut s, &["GETEX", "nope"], "_\r\n");
    check(&mut s, &["INCRBYFLOAT", "k", "1"], "$3\r\n2.5\r\n");
    check(&mut s, &["INCR", "n"], ":1\r\n");
}

#[test]
fn expiry_seen_from_a_client() {
    let server = start();
    let mut con = redis(server.local_addr());
    let _: () = redis::cmd("SET")
        .arg("short")
        .arg("v")
        .arg("PX")
        .arg(30)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("PSETEX")
        .arg("short2")
        .arg(30)
        .arg("v")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("long")
        .arg("v")
        .arg("EX")
        .arg(100)
        .query(&mut con)
        .unwrap();
    sleep(Duration::from_millis(120));
    let got: Vec<Option<String>> = redis::cmd("MGET")
        .arg("short")
        .arg("short2")
        .arg("long")
        .query(&mut con)
        .unwrap();
    assert_eq!(got, vec![None, None, Some("v".to_string())]);
    // An expired key is a new key for SET NX, APPEND, INCR and SETRANGE.
    for command in [
        redis::cmd("SET")
            .arg("x")
            .arg("old")
            .arg("PX")
            .arg(20)
            .clone(),
        redis::cmd("SET")
            .arg("y")
            .arg("old")
            .arg("PX")
            .arg(20)
            .clone(),
        redis::cmd("SET")
            .arg("z")
            .arg("7")
            .arg("PX")
            .arg(20)
            .clone(),
    ] {
        let _: () = command.query(&mut con).unwrap();
    }
    sleep(Duration::from_millis(80));
    let set: Option<String> = redis::cmd("SET")
        .arg("x")
        .arg("new")
        .arg("NX")
        .query(&mut con)
        .unwrap();
    assert_eq!(set.as_deref(), Some("OK"));
    let len: i64 = redis::cmd("APPEND")
        .arg("y")
        .arg("ab")
        .query(&mut con)
        .unwrap();
    assert_eq!(len, 2);
    let n: i64 = redis::cmd("INCR").arg("z").query(&mut con).unwrap();
    assert_eq!(n, 1);
    let ttl: i64 = redis::cmd("TTL").arg("z").query(&mut con).unwrap();
    assert_eq!(ttl, -1);
}

#[test]
fn keyspace_hits_and_misses() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["SET", "k", "v"], "+OK\r\n");
    let stats = &server.shared().stats;
    let read = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    let before = (read(&stats.keyspace_hits), read(&stats.keyspace_misses));
    check(&mut s, &["GET", "k"], "$1\r\nv\r\n");
    check(&mut s, &["GET", "nope"], "$-1\r\n");
    check(
        &mut s,
        &["MGET", "k", "nope", "k"],
        "*3\r\n$1\r\nv\r\n$-1\r\n$1\r\nv\r\n",
    );
    check(&mut s, &["STRLEN", "k"], ":1\r\n");
    check(&mut s, &["APPEND", "k", "w"], ":2\r\n"); // a write: not counted
    check(&mut s, &["INCR", "n"], ":1\r\n"); // a write: not counted
    let after = (read(&stats.keyspace_hits), read(&stats.keyspace_misses));
    assert_eq!((after.0 - before.0, after.1 - before.1), (4, 2));
}

/// The same requests against respd and a real Redis must give the same
/// bytes (skipped when redis-server is not installed).
#[test]
fn same_bytes_as_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let commands: &[&[&str]] = &[
        &["SET", "k", "v", "NX", "XX"],
        &["SET", "k", "v", "EX", "0"],
        &["SET", "k", "v", "PX", "9223372036854775807"],
        &["SET", "k", "v", "KEEPTTL", "PX", "5"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "EX", "x"],
        &["SET", "k", "v", "GET", "GET"],
        &["SET", "k", "w", "NX", "GET"],
        &["SET", "k", "x", "XX"],
        &["SET", "k"],
        &["GET", "k"],
        &["GET", "nope"],
        &["GETSET", "k", "y"],
        &["GETDEL", "k"],
        &["GETDEL", "k"],
        &["GETEX", "nope", "EX", "0"],
        &["SET", "k", "v"],
        &["GETEX", "k", "EX", "-1"],
        &["GETEX", "k", "NX"],
        &["GETEX", "k", "PERSIST"],
        &["SETNX", "k", "v"],
        &["SETEX", "s", "0", "v"],
        &["PSETEX", "s", "x", "v"],
        &["MSET", "a", "1", "b"],
        &["MSET", "a", "1", "b", "2"],
        &["MSETNX", "a", "1", "c", "3"],
        &["MGET", "a", "b", "c"],
        &["APPEND", "a", "23"],
        &["STRLEN", "a"],
        &["INCR", "a"],
        &["INCRBY", "a", "-200"],
        &["DECR", "a"],
        &["DECRBY", "a", "9223372036854775807"],
        &["DECRBY", "a", "-9223372036854775808"],
        &["DECRBY", "a", "10"],
        &["INCRBY", "a", "1.5"],
        &["INCR", "k"],
        &["SET", "f", "10.50"],
        &["INCRBYFLOAT", "f", "0.1"],
        &["INCRBYFLOAT", "f", "5.0e3"],
        &["INCRBYFLOAT", "f", "-5010.6"],
        &["INCRBYFLOAT", "f", "1e308"],
        &["INCRBYFLOAT", "f", "0x1p-2"],
        &["INCRBYFLOAT", "f", " 1"],
        &["INCRBYFLOAT", "f", "nan"],
        &["INCRBYFLOAT", "f", "-inf"],
        &["INCRBYFLOAT", "g", "3.0000000000000000001"],
        &["SET", "r", "Hello World"],
        &["GETRANGE", "r", "0", "-1"],
        &["GETRANGE", "r", "-3", "-8"],
        &["GETRANGE", "r", "3", "1"],
        &["GETRANGE", "r", "-100", "2"],
        &["SUBSTR", "r", "4", "100"],
        &["GETRANGE", "nope", "0", "0"],
        &["SETRANGE", "r", "6", "Redis!!"],
        &["SETRANGE", "r", "-1", "x"],
        &["SETRANGE", "r", "536870911", "xy"],
        &["SETRANGE", "none", "2", ""],
        &["SETRANGE", "none", "2", "ab"],
        &["GET", "none"],
        &["GET", "r"],
    ];
    let request: Vec<u8> = commands.iter().flat_map(|c| cmd(c)).collect();
    let (ours, theirs) = common::both(server.local_addr(), real.addr, &[], &request);
    assert!(!theirs.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
}
