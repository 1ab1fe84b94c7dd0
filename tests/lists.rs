//! The list family over TCP: pushes and pops (with counts), ranges and
//! indexes, LSET/LINSERT/LREM/LTRIM, LPOS and its options, LMOVE,
//! RPOPLPUSH, LMPOP, RESP3 shapes, and a reply-by-reply comparison with a
//! real Redis.

mod common;

use std::net::TcpStream;

use common::{assert_reply, cmd, raw, redis, start, RealRedis};
use redis::Commands;

/// Sends one command (text arguments) and asserts the exact reply bytes.
fn check(stream: &mut TcpStream, args: &[&str], expected: &str) {
    assert_reply(stream, &cmd(args), expected.as_bytes());
}

/// The RESP2 reply of an array of bulk strings.
fn bulks(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for item in items {
        out.push_str(&format!("${}\r\n{item}\r\n", item.len()));
    }
    out
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INTEGER: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_POSITIVE: &str = "-ERR value is out of range, must be positive\r\n";

#[test]
fn pushes_and_pops() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["LPUSH", "l", "a", "b", "c"], ":3\r\n");
    check(&mut s, &["RPUSH", "l", "x", "y"], ":5\r\n");
    check(
        &mut s,
        &["LRANGE", "l", "0", "-1"],
        &bulks(&["c", "b", "a", "x", "y"]),
    );
    check(&mut s, &["LPUSHX", "nope", "a"], ":0\r\n");
    check(&mut s, &["RPUSHX", "nope", "a", "b"], ":0\r\n");
    check(&mut s, &["EXISTS", "nope"], ":0\r\n");
    check(&mut s, &["LPUSHX", "l", "p"], ":6\r\n");
    check(&mut s, &["RPUSHX", "l", "q", "r"], ":8\r\n");
    check(&mut s, &["LPOP", "l"], "$1\r\np\r\n");
    check(&mut s, &["RPOP", "l"], "$1\r\nr\r\n");
    check(&mut s, &["LPOP", "l", "2"], &bulks(&["c", "b"]));
    check(&mut s, &["RPOP", "l", "2"], &bulks(&["q", "y"]));
    check(&mut s, &["LPOP", "l", "0"], "*0\r\n");
    check(&mut s, &["RPOP", "l", "100"], &bulks(&["x", "a"]));
    // The last element gone, the key is gone.
    check(&mut s, &["EXISTS", "l"], ":0\r\n");
    check(&mut s, &["LPOP", "l"], "$-1\r\n");
    check(&mut s, &["RPOP", "l", "1"], "*-1\r\n");
    check(&mut s, &["LPOP", "l", "0"], "*-1\r\n");
    check(&mut s, &["LPOP", "l", "-1"], NOT_POSITIVE);
    check(&mut s, &["RPOP", "l", "x"], NOT_POSITIVE);
    check(
        &mut s,
        &["LPOP", "l", "1", "1"],
        "-ERR wrong number of arguments for 'lpop' command\r\n",
    );
    check(
        &mut s,
        &["RPUSH", "l"],
        "-ERR wrong number of arguments for 'rpush' command\r\n",
    );
}

#[test]
fn ranges_and_indexes() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["RPUSH", "l", "a", "b", "c", "d"], ":4\r\n");
    check(&mut s, &["LLEN", "l"], ":4\r\n");
    check(&mut s, &["LLEN", "nope"], ":0\r\n");
    check(&mut s, &["LRANGE", "l", "1", "2"], &bulks(&["b", "c"]));
    check(&mut s, &["LRANGE", "l", "-2", "100"], &bulks(&["c", "d"]));
    check(&mut s, &["LRANGE", "l", "-100", "1"], &bulks(&["a", "b"]));
    check(&mut s, &["LRANGE", "l", "3", "1"], "*0\r\n");
    check(&mut s, &["LRANGE", "l", "4", "10"], "*0\r\n");
    check(&mut s, &["LRANGE", "l", "0", "-5"], "*0\r\n");
    check(&mut s, &["LRANGE", "nope", "0", "-1"], "*0\r\n");
    check(&mut s, &["LRANGE", "nope", "x", "-1"], NOT_INTEGER);
    check(&mut s, &["LINDEX", "l", "0"], "$1\r\na\r\n");
    check(&mut s, &["LINDEX", "l", "-1"], "$1\r\nd\r\n");
    check(&mut s, &["LINDEX", "l", "4"], "$-1\r\n");
    check(&mut s, &["LINDEX", "l", "-5"], "$-1\r\n");
    check(&mut s, &["LINDEX", "l", "x"], NOT_INTEGER);
    // The key is looked up before the index is read.
    check(&mut s, &["LINDEX", "nope", "x"], "$-1\r\n");
}

#[test]
fn lset_linsert_lrem_ltrim() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["LSET", "nope", "0", "x"], "-ERR no such key\r\n");
    check(&mut s, &["LSET", "nope", "x", "x"], "-ERR no such key\r\n");
    check(&mut s, &["RPUSH", "l", "a", "b", "c"], ":3\r\n");
    check(&mut s, &["LSET", "l", "-1", "z"], "+OK\r\n");
    check(
        &mut s,
        &["LSET", "l", "3", "z"],
        "-ERR index out of range\r\n",
    );
    check(
        &mut s,
        &["LSET", "l", "-4", "z"],
        "-ERR index out of range\r\n",
    );
    check(&mut s, &["LSET", "l", "x", "z"], NOT_INTEGER);
    check(&mut s, &["LINSERT", "l", "BEFORE", "a", "0"], ":4\r\n");
    check(&mut s, &["LINSERT", "l", "after", "z", "9"], ":5\r\n");
    check(&mut s, &["LINSERT", "l", "after", "nope", "9"], ":-1\r\n");
    check(&mut s, &["LINSERT", "l", "middle", "a", "9"], SYNTAX);
    check(&mut s, &["LINSERT", "nope", "before", "a", "9"], ":0\r\n");
    check(
        &mut s,
        &["LRANGE", "l", "0", "-1"],
        &bulks(&["0", "a", "b", "z", "9"]),
    );
    check(&mut s, &["DEL", "l"], ":1\r\n");
    check(
        &mut s,
        &["RPUSH", "l", "x", "a", "x", "b", "x", "c", "x"],
        ":7\r\n",
    );
    check(&mut s, &["LREM", "l", "2", "x"], ":2\r\n");
    check(
        &mut s,
        &["LRANGE", "l", "0", "-1"],
        &bulks(&["a", "b", "x", "c", "x"]),
    );
    check(&mut s, &["LREM", "l", "-1", "x"], ":1\r\n");
    check(
        &mut s,
        &["LRANGE", "l", "0", "-1"],
        &bulks(&["a", "b", "x", "c"]),
    );
    check(&mut s, &["LREM", "l", "0", "x"], ":1\r\n");
    check(&mut s, &["LREM", "l", "0", "nope"], ":0\r\n");
    check(&mut s, &["LREM", "nope", "0", "x"], ":0\r\n");
    check(&mut s, &["LREM", "nope", "x", "x"], NOT_INTEGER);
    check(&mut s, &["LTRIM", "l", "1", "-1"], "+OK\r\n");
    check(&mut s, &["LRANGE", "l", "0", "-1"], &bulks(&["b", "c"]));
    check(&mut s, &["LTRIM", "l", "-1", "100"], "+OK\r\n");
    check(&mut s, &["LRANGE", "l", "0", "-1"], &bulks(&["c"]));
    check(&mut s, &["LTRIM", "nope", "0", "1"], "+OK\r\n");
    check(&mut s, &["LTRIM", "nope", "x", "1"], NOT_INTEGER);
    // Trimming or removing everything deletes the key.
    check(&mut s, &["LTRIM", "l", "5", "1"], "+OK\r\n");
    check(&mut s, &["EXISTS", "l"], ":0\r\n");
    check(&mut s, &["RPUSH", "l", "a", "a"], ":2\r\n");
    check(&mut s, &["LREM", "l", "0", "a"], ":2\r\n");
    check(&mut s, &["EXISTS", "l"], ":0\r\n");
}

#[test]
fn lpos_and_its_options() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(
        &mut s,
        &["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"],
        ":8\r\n",
    );
    check(&mut s, &["LPOS", "l", "c"], ":2\r\n");
    check(&mut s, &["LPOS", "l", "nope"], "$-1\r\n");
    check(&mut s, &["LPOS", "l", "c", "RANK", "2"], ":6\r\n");
    check(&mut s, &["LPOS", "l", "c", "RANK", "-1"], ":7\r\n");
    check(&mut s, &["LPOS", "l", "c", "RANK", "4"], "$-1\r\n");
    check(
        &mut s,
        &["LPOS", "l", "c", "COUNT", "2"],
        "*2\r\n:2\r\n:6\r\n",
    );
    check(
        &mut s,
        &["LPOS", "l", "c", "COUNT", "0"],
        "*3\r\n:2\r\n:6\r\n:7\r\n",
    );
    check(
        &mut s,
        &["LPOS", "l", "c", "RANK", "-2", "COUNT", "0"],
        "*2\r\n:6\r\n:2\r\n",
    );
    check(
        &mut s,
        &["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"],
        "*2\r\n:2\r\n:6\r\n",
    );
    check(&mut s, &["LPOS", "l", "c", "MAXLEN", "2"], "$-1\r\n");
    check(&mut s, &["LPOS", "l", "nope", "COUNT", "1"], "*0\r\n");
    // -RANK of the smallest long wraps in Redis and acts as RANK -1.
    check(
        &mut s,
        &["LPOS", "l", "c", "RANK", "-9223372036854775808"],
        ":7\r\n",
    );
    check(&mut s, &["LPOS", "nope", "c"], "$-1\r\n");
    check(&mut s, &["LPOS", "nope", "c", "COUNT", "0"], "*0\r\n");
    check(
        &mut s,
        &["LPOS", "nope", "c", "RANK", "0"],
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n",
    );
    check(&mut s, &["LPOS", "l", "c", "RANK", "x"], NOT_INTEGER);
    check(
        &mut s,
        &["LPOS", "l", "c", "COUNT", "-1"],
        "-ERR COUNT can't be negative\r\n",
    );
    check(
        &mut s,
        &["LPOS", "l", "c", "COUNT", "x"],
        "-ERR COUNT can't be negative\r\n",
    );
    check(
        &mut s,
        &["LPOS", "l", "c", "MAXLEN", "-1"],
        "-ERR MAXLEN can't be negative\r\n",
    );
    check(&mut s, &["LPOS", "l", "c", "COUNT"], SYNTAX);
    check(&mut s, &["LPOS", "l", "c", "FOO", "1"], SYNTAX);
}

#[test]
fn lmove_and_rpoplpush() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["RPUSH", "src", "a", "b", "c"], ":3\r\n");
    check(
        &mut s,
        &["LMOVE", "src", "dst", "LEFT", "RIGHT"],
        "$1\r\na\r\n",
    );
    check(
        &mut s,
        &["LMOVE", "src", "dst", "right", "left"],
        "$1\r\nc\r\n",
    );
    check(&mut s, &["LRANGE", "dst", "0", "-1"], &bulks(&["c", "a"]));
    check(&mut s, &["RPOPLPUSH", "src", "dst"], "$1\r\nb\r\n");
    check(&mut s, &["EXISTS", "src"], ":0\r\n");
    check(&mut s, &["RPOPLPUSH", "src", "dst"], "$-1\r\n");
    check(
        &mut s,
        &["LRANGE", "dst", "0", "-1"],
        &bulks(&["b", "c", "a"]),
    );
    // Same source and destination: the list rotates and keeps its expiry.
    check(&mut s, &["EXPIRE", "dst", "100"], ":1\r\n");
    check(&mut s, &["RPOPLPUSH", "dst", "dst"], "$1\r\na\r\n");
    check(
        &mut s,
        &["LMOVE", "dst", "dst", "LEFT", "RIGHT"],
        "$1\r\na\r\n",
    );
    check(
        &mut s,
        &["LRANGE", "dst", "0", "-1"],
        &bulks(&["b", "c", "a"]),
    );
    check(&mut s, &["TTL", "dst"], ":100\r\n");
    check(&mut s, &["RPUSH", "one", "x"], ":1\r\n");
    check(
        &mut s,
        &["LMOVE", "one", "one", "LEFT", "LEFT"],
        "$1\r\nx\r\n",
    );
    check(&mut s, &["LRANGE", "one", "0", "-1"], &bulks(&["x"]));
    // A wrong destination type is refused before anything moves.
    check(&mut s, &["SET", "str", "v"], "+OK\r\n");
    check(&mut s, &["LMOVE", "one", "str", "LEFT", "LEFT"], WRONGTYPE);
    check(&mut s, &["LLEN", "one"], ":1\r\n");
    check(&mut s, &["LMOVE", "nope", "str", "LEFT", "LEFT"], "$-1\r\n");
    check(&mut s, &["LMOVE", "str", "one", "LEFT", "LEFT"], WRONGTYPE);
    check(&mut s, &["LMOVE", "one", "dst", "UP", "LEFT"], SYNTAX);
    check(&mut s, &["LMOVE", "one", "dst", "LEFT", "DOWN"], SYNTAX);
}

#[test]
fn lmpop_pops_from_the_first_non_empty_list() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["RPUSH", "b", "1", "2", "3"], ":3\r\n");
    check(
        &mut s,
        &["LMPOP", "2", "a", "b", "LEFT"],
        "*2\r\n$1\r\nb\r\n*1\r\n$1\r\n1\r\n",
    );
    check(
        &mut s,
        &["LMPOP", "2", "a", "b", "right", "COUNT", "5"],
        "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n",
    );
    check(&mut s, &["EXISTS", "b"], ":0\r\n");
    check(&mut s, &["LMPOP", "2", "a", "b", "LEFT"], "*-1\r\n");
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    let count = "-ERR count should be greater than 0\r\n";
    check(&mut s, &["LMPOP", "0", "a", "LEFT"], numkeys);
    check(&mut s, &["LMPOP", "x", "a", "LEFT"], numkeys);
    check(&mut s, &["LMPOP", "2", "a", "LEFT"], SYNTAX);
    check(
        &mut s,
        &["LMPOP", "9223372036854775807", "a", "LEFT"],
        SYNTAX,
    );
    check(&mut s, &["LMPOP", "1", "a", "MIDDLE"], SYNTAX);
    check(&mut s, &["LMPOP", "1", "a", "LEFT", "COUNT", "0"], count);
    check(&mut s, &["LMPOP", "1", "a", "LEFT", "COUNT", "x"], count);
    check(&mut s, &["LMPOP", "1", "a", "LEFT", "COUNT"], SYNTAX);
    check(
        &mut s,
        &["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"],
        SYNTAX,
    );
    check(&mut s, &["SET", "str", "v"], "+OK\r\n");
    check(&mut s, &["LMPOP", "2", "a", "str", "LEFT"], WRONGTYPE);
    check(&mut s, &["RPUSH", "a", "x"], ":1\r\n");
    // The first non-empty list wins before a later key's type is checked.
    check(
        &mut s,
        &["LMPOP", "2", "a", "str", "LEFT"],
        "*2\r\n$1\r\na\r\n*1\r\n$1\r\nx\r\n",
    );
}

#[test]
fn other_types_are_refused() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["SET", "s", "v"], "+OK\r\n");
    for args in [
        &["LPUSH", "s", "a"][..],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "0"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "1"],
        &["LINDEX", "s", "x"],
        &["LSET", "s", "0", "a"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a", "COUNT", "0"],
        &["LMOVE", "s", "d", "LEFT", "LEFT"],
        &["RPOPLPUSH", "s", "d"],
        &["LMPOP", "1", "s", "LEFT"],
    ] {
        check(&mut s, args, WRONGTYPE);
    }
    check(&mut s, &["GET", "s"], "$1\r\nv\r\n");
}

#[test]
fn resp3_shapes() {
    let server = start();
    let mut client = common::client(server.local_addr());
    client.command(&["HELLO", "3"]).unwrap();
    let mut check3 = |args: &[&str], expected: &str| {
        client.send(args).unwrap();
        let (_, bytes) = client.read_reply_with_bytes().unwrap();
        assert_eq!(String::from_utf8_lossy(&bytes), expected, "{args:?}");
    };
    check3(&["LPOP", "nope"], "_\r\n");
    check3(&["LPOP", "nope", "0"], "_\r\n");
    check3(&["LINDEX", "nope", "0"], "_\r\n");
    check3(&["LPOS", "nope", "a"], "_\r\n");
    check3(&["LMOVE", "nope", "d", "LEFT", "LEFT"], "_\r\n");
    check3(&["LMPOP", "1", "nope", "LEFT"], "_\r\n");
    check3(&["RPUSH", "l", "a", "b"], ":2\r\n");
    check3(&["LPOP", "l", "0"], "*0\r\n");
    check3(
        &["LMPOP", "1", "l", "LEFT"],
        "*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n",
    );
}

#[test]
fn through_redis_rs() {
    let server = start();
    let mut con = redis(server.local_addr());
    let len: usize = con.rpush("l", &["a", "b", "c"]).unwrap();
    assert_eq!(len, 3);
    let len: usize = con.lpush("l", "z").unwrap();
    assert_eq!(len, 4);
    let all: Vec<String> = con.lrange("l", 0, -1).unwrap();
    assert_eq!(all, ["z", "a", "b", "c"]);
    let first: Option<String> = con.lpop("l", None).unwrap();
    assert_eq!(first.as_deref(), Some("z"));
    let two: Vec<String> = con.rpop("l", std::num::NonZeroUsize::new(2)).unwrap();
    assert_eq!(two, ["c", "b"]);
    let moved: Option<String> = con
        .lmove("l", "m", redis::Direction::Left, redis::Direction::Right)
        .unwrap();
    assert_eq!(moved.as_deref(), Some("a"));
    let exists: bool = con.exists("l").unwrap();
    assert!(!exists);
    let missing: Option<String> = con.lindex("l", 0).unwrap();
    assert_eq!(missing, None);
    let popped: Option<(String, Vec<String>)> = redis::cmd("LMPOP")
        .arg(2)
        .arg("l")
        .arg("m")
        .arg("LEFT")
        .query(&mut con)
        .unwrap();
    assert_eq!(popped, Some(("m".to_string(), vec!["a".to_string()])));
    let _: () = con.rpush("p", &["x", "y", "x"]).unwrap();
    let pos: Vec<usize> = redis::cmd("LPOS")
        .arg("p")
        .arg("x")
        .arg("COUNT")
        .arg(0)
        .query(&mut con)
        .unwrap();
    assert_eq!(pos, [0, 2]);
    let err = con.lset::<_, _, ()>("nope", 0, "v").unwrap_err();
    assert_eq!(err.code(), Some("ERR"));
    assert_eq!(err.detail(), Some("no such key"));
}

/// Every list command, error cases and RESP3 included, against respd and a
/// real Redis, comparing each reply's bytes (skipped when redis-server is
/// not installed).
#[test]
fn same_replies_as_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let script: &[&[&str]] = &[
        &["LPUSH", "l", "a", "b", "c"],
        &["RPUSH", "l", "d", "e", "a"],
        &["LPUSH", "l"],
        &["LPUSHX", "nope", "a"],
        &["RPUSHX", "nope", "a"],
        &["LPUSHX", "l", "x"],
        &["RPUSHX", "l", "y", "z"],
        &["LLEN", "l"],
        &["LLEN", "nope"],
        &["LLEN", "l", "x"],
        &["LRANGE", "l", "0", "-1"],
        &["LRANGE", "l", "2", "4"],
        &["LRANGE", "l", "-3", "-1"],
        &["LRANGE", "l", "-100", "100"],
        &["LRANGE", "l", "5", "2"],
        &["LRANGE", "l", "100", "200"],
        &["LRANGE", "l", "x", "1"],
        &["LRANGE", "l", "0", "9223372036854775808"],
        &["LRANGE", "nope", "0", "-1"],
        &["LINDEX", "l", "0"],
        &["LINDEX", "l", "-1"],
        &["LINDEX", "l", "-100"],
        &["LINDEX", "l", "100"],
        &["LINDEX", "l", "x"],
        &["LINDEX", "nope", "x"],
        &["LSET", "l", "0", "X"],
        &["LSET", "l", "-1", "Z"],
        &["LSET", "l", "100", "v"],
        &["LSET", "l", "-100", "v"],
        &["LSET", "l", "x", "v"],
        &["LSET", "nope", "0", "v"],
        &["LINSERT", "l", "BEFORE", "a", "before-a"],
        &["LINSERT", "l", "after", "a", "after-a"],
        &["LINSERT", "l", "after", "nope", "v"],
        &["LINSERT", "l", "between", "a", "v"],
        &["LINSERT", "nope", "before", "a", "v"],
        &["LRANGE", "l", "0", "-1"],
        &["LPOS", "l", "a"],
        &["LPOS", "l", "a", "RANK", "2"],
        &["LPOS", "l", "a", "RANK", "-1"],
        &["LPOS", "l", "a", "RANK", "-2"],
        &["LPOS", "l", "a", "RANK", "3"],
        &["LPOS", "l", "a", "COUNT", "0"],
        &["LPOS", "l", "a", "COUNT", "1"],
        &["LPOS", "l", "a", "RANK", "-1", "COUNT", "0"],
        &["LPOS", "l", "a", "MAXLEN", "3"],
        &["LPOS", "l", "a", "MAXLEN", "3", "COUNT", "0"],
        &["LPOS", "l", "a", "RANK", "-1", "MAXLEN", "1", "COUNT", "5"],
        &["LPOS", "l", "a", "RANK", "-9223372036854775808"],
        &["LPOS", "l", "a", "RANK", "9223372036854775807"],
        &["LPOS", "l", "nope"],
        &["LPOS", "l", "nope", "COUNT", "2"],
        &["LPOS", "nope", "a"],
        &["LPOS", "nope", "a", "COUNT", "0"],
        &["LPOS", "l", "a", "RANK", "0"],
        &["LPOS", "l", "a", "RANK", "x"],
        &["LPOS", "l", "a", "COUNT", "-1"],
        &["LPOS", "l", "a", "COUNT", "x"],
        &["LPOS", "l", "a", "MAXLEN", "-1"],
        &["LPOS", "l", "a", "MAXLEN", "x"],
        &["LPOS", "l", "a", "COUNT"],
        &["LPOS", "l", "a", "BOGUS", "1"],
        &["LPOS", "nope", "a", "RANK", "0"],
        &["LPOS", "l"],
        &["RPUSH", "r", "1", "x", "2", "x", "3", "x", "4", "x"],
        &["LREM", "r", "1", "x"],
        &["LREM", "r", "-2", "x"],
        &["LRANGE", "r", "0", "-1"],
        &["LREM", "r", "0", "x"],
        &["LREM", "r", "0", "nope"],
        &["LREM", "r", "x", "x"],
        &["LREM", "nope", "1", "x"],
        &["LTRIM", "r", "1", "-2"],
        &["LRANGE", "r", "0", "-1"],
        &["LTRIM", "r", "-100", "100"],
        &["LTRIM", "r", "x", "1"],
        &["LTRIM", "nope", "0", "1"],
        &["LTRIM", "r", "2", "1"],
        &["EXISTS", "r"],
        &["LPOP", "l"],
        &["RPOP", "l"],
        &["LPOP", "l", "2"],
        &["RPOP", "l", "2"],
        &["LPOP", "l", "0"],
        &["LPOP", "l", "-1"],
        &["LPOP", "l", "x"],
        &["LPOP", "l", "1", "2"],
        &["LPOP", "nope"],
        &["LPOP", "nope", "0"],
        &["RPOP", "nope", "3"],
        &["RPOP", "l", "100"],
        &["EXISTS", "l"],
        &["RPUSH", "src", "a", "b", "c"],
        &["LMOVE", "src", "dst", "LEFT", "RIGHT"],
        &["LMOVE", "src", "dst", "RIGHT", "LEFT"],
        &["LMOVE", "src", "dst", "left", "left"],
        &["LMOVE", "src", "dst", "LEFT", "RIGHT"],
        &["LMOVE", "src", "dst", "UP", "RIGHT"],
        &["LMOVE", "src", "dst", "LEFT", "DOWN"],
        &["LRANGE", "dst", "0", "-1"],
        &["LMOVE", "dst", "dst", "LEFT", "RIGHT"],
        &["LMOVE", "dst", "dst", "RIGHT", "RIGHT"],
        &["RPOPLPUSH", "dst", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        &["RPOPLPUSH", "dst", "src"],
        &["RPOPLPUSH", "nope", "src"],
        &["LRANGE", "src", "0", "-1"],
        &["SET", "str", "v"],
        &["LMOVE", "src", "str", "LEFT", "LEFT"],
        &["LMOVE", "str", "src", "LEFT", "LEFT"],
        &["LMOVE", "nope", "str", "LEFT", "LEFT"],
        &["RPOPLPUSH", "src", "str"],
        &["RPOPLPUSH", "str", "src"],
        &["LLEN", "src"],
        &["RPUSH", "m2", "1", "2", "3", "4"],
        &["LMPOP", "3", "nope", "m1", "m2", "LEFT"],
        &["LMPOP", "3", "nope", "m1", "m2", "RIGHT", "COUNT", "2"],
        &["LMPOP", "1", "m2", "left", "count", "10"],
        &["LMPOP", "1", "m2", "LEFT"],
        &["LMPOP", "2", "nope", "str", "LEFT"],
        &["LMPOP", "0", "m2", "LEFT"],
        &["LMPOP", "-1", "m2", "LEFT"],
        &["LMPOP", "x", "m2", "LEFT"],
        &["LMPOP", "2", "m2", "LEFT"],
        &["LMPOP", "9223372036854775807", "m2", "LEFT"],
        &["LMPOP", "1", "m2", "UP"],
        &["LMPOP", "1", "m2", "LEFT", "COUNT", "0"],
        &["LMPOP", "1", "m2", "LEFT", "COUNT", "-1"],
        &["LMPOP", "1", "m2", "LEFT", "COUNT", "x"],
        &["LMPOP", "1", "m2", "LEFT", "COUNT"],
        &["LMPOP", "1", "m2", "LEFT", "COUNT", "1", "COUNT", "1"],
        &["LMPOP", "1", "m2", "LEFT", "EXTRA"],
        &["LMPOP", "1", "m2"],
        &["LPUSH", "str", "a"],
        &["RPUSH", "str", "a"],
        &["LPUSHX", "str", "a"],
        &["RPUSHX", "str", "a"],
        &["LPOP", "str"],
        &["RPOP", "str", "1"],
        &["LLEN", "str"],
        &["LRANGE", "str", "0", "1"],
        &["LINDEX", "str", "0"],
        &["LSET", "str", "0", "v"],
        &["LINSERT", "str", "BEFORE", "a", "b"],
        &["LREM", "str", "0", "a"],
        &["LTRIM", "str", "0", "1"],
        &["LPOS", "str", "a"],
        &["HELLO", "3"],
        &["RPUSH", "t", "a", "b", "c", "a"],
        &["LPOP", "nope"],
        &["LPOP", "nope", "1"],
        &["LPOP", "t", "0"],
        &["RPOP", "t", "2"],
        &["LRANGE", "t", "0", "-1"],
        &["LRANGE", "nope", "0", "-1"],
        &["LINDEX", "t", "9"],
        &["LPOS", "t", "nope"],
        &["LPOS", "t", "a", "COUNT", "0"],
        &["LPOS", "nope", "a", "COUNT", "0"],
        &["LMOVE", "nope", "t", "LEFT", "LEFT"],
        &["RPOPLPUSH", "t", "t"],
        &["LMPOP", "2", "nope", "t", "LEFT", "COUNT", "3"],
        &["LMPOP", "1", "nope", "LEFT"],
        &["LSET", "nope", "0", "v"],
        &["LPOS", "t", "a", "RANK", "0"],
        &["EXISTS", "t"],
    ];
    let mut ours = common::client(server.local_addr());
    let mut theirs = common::client(real.addr);
    let mut compared = 0;
    for args in script {
        ours.send(args).unwrap();
        theirs.send(args).unwrap();
        let (_, our_bytes) = ours.read_reply_with_bytes().unwrap();
        let (_, their_bytes) = theirs.read_reply_with_bytes().unwrap();
        // HELLO names the server and the connection: not comparable.
        if args[0] == "HELLO" {
            continue;
        }
        assert_eq!(
            String::from_utf8_lossy(&our_bytes),
            String::from_utf8_lossy(&their_bytes),
            "{args:?}"
        );
        compared += 1;
    }
    println!("{compared} list cases compared with a real Redis");
    assert_eq!(compared, script.len() - 1);
}
