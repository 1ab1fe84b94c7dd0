//! Values of every type for the DUMP/RESTORE, MIGRATE and cluster import
//! tests, and a way to read a key back that ignores any order the server
//! leaves unspecified.
#![allow(dead_code)]

use respd::resp::Frame;
use respd::Client;

pub fn call<A: AsRef<[u8]>>(c: &mut Client, args: &[A]) -> Frame {
    c.command(args).expect("reply")
}

pub fn ok<A: AsRef<[u8]>>(c: &mut Client, args: &[A]) {
    let reply = call(c, args);
    assert!(
        matches!(reply, Frame::Simple(_) | Frame::Integer(_)),
        "{reply:?}"
    );
}

pub fn bulk(frame: Frame) -> Vec<u8> {
    match frame {
        Frame::Bulk(bytes) => bytes,
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

pub fn error(frame: Frame) -> String {
    match frame {
        Frame::Error(text) => text,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// The contents of `key` in a form that does not depend on any order the
/// server leaves unspecified (sets, hash fields).
pub fn contents(c: &mut Client, key: &[u8]) -> Vec<Vec<u8>> {
    let kind = match call(c, &[&b"TYPE"[..], key]) {
        Frame::Simple(kind) => kind,
        other => panic!("TYPE: {other:?}"),
    };
    let items = |frame: Frame| match frame {
        Frame::Array(items) => items.into_iter().map(bulk).collect::<Vec<_>>(),
        other => panic!("expected an array, got {other:?}"),
    };
    let mut out = match kind.as_str() {
        "string" => vec![bulk(call(c, &[&b"GET"[..], key]))],
        "list" => items(call(c, &[&b"LRANGE"[..], key, b"0", b"-1"])),
        "zset" => items(call(c, &[&b"ZRANGE"[..], key, b"0", b"-1", b"WITHSCORES"])),
        "set" => {
            let mut members = items(call(c, &[&b"SMEMBERS"[..], key]));
            members.sort();
            members
        }
        "hash" => {
            let flat = items(call(c, &[&b"HGETALL"[..], key]));
            let mut pairs: Vec<Vec<u8>> = flat.chunks(2).map(|p| p.concat()).collect();
            pairs.sort();
            pairs
        }
        other => panic!("unexpected type {other}"),
    };
    out.insert(0, kind.into_bytes());
    out
}

/// Commands that build one key of every type, small (listpack, intset and
/// integer encodings on Redis's side) and large (plain encodings, LZF).
pub fn fixtures() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let words = |prefix: &str, n: usize| -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("{prefix}{i}").into_bytes())
            .collect()
    };
    let with = |head: &[&str], tail: Vec<Vec<u8>>| -> Vec<Vec<u8>> {
        let mut args: Vec<Vec<u8>> = head.iter().map(|a| a.as_bytes().to_vec()).collect();
        args.extend(tail);
        args
    };
    let pairs = |n: usize, value_len: usize| -> Vec<Vec<u8>> {
        (0..n)
            .flat_map(|i| [format!("f{i}").into_bytes(), vec![b'v'; value_len]])
            .collect()
    };
    let scored = |n: usize| -> Vec<Vec<u8>> {
        (0..n)
            .flat_map(|i| {
                [
                    format!("{}.5", i as i64 - 50).into_bytes(),
                    format!("m{i}").into_bytes(),
                ]
            })
            .collect()
    };
    let mut binary = vec![0u8, 255, b'\r', b'\n'];
    binary.extend((0..=255u8).cycle().take(700));
    vec![
        (
            "str:int",
            with(&["SET", "str:int"], vec![b"-12345".to_vec()]),
        ),
        (
            "str:bigint",
            with(&["SET", "str:bigint"], vec![b"12345678901".to_vec()]),
        ),
        (
            "str:short",
            with(&["SET", "str:short"], vec![b"hello".to_vec()]),
        ),
        (
            "str:long",
            with(&["SET", "str:long"], vec![vec![b'a'; 5000]]),
        ),
        ("str:binary", with(&["SET", "str:binary"], vec![binary])),
        ("str:empty", with(&["SET", "str:empty"], vec![Vec::new()])),
        ("list:small", with(&["RPUSH", "list:small"], words("", 5))),
        (
            "list:large",
            with(&["RPUSH", "list:large"], words("item-", 3000)),
        ),
        (
            "list:big-item",
            with(
                &["RPUSH", "list:big-item"],
                vec![vec![b'x'; 20000], b"y".to_vec()],
            ),
        ),
        ("set:ints", with(&["SADD", "set:ints"], words("", 50))),
        (
            "set:many-ints",
            with(&["SADD", "set:many-ints"], words("", 1000)),
        ),
        ("set:small", with(&["SADD", "set:small"], words("s", 10))),
        (
            "set:large",
            with(&["SADD", "set:large"], words("member-", 1000)),
        ),
        ("hash:small", with(&["HSET", "hash:small"], pairs(5, 3))),
        ("hash:large", with(&["HSET", "hash:large"], pairs(1000, 3))),
        (
            "hash:long-value",
            with(&["HSET", "hash:long-value"], pairs(2, 100)),
        ),
        ("zset:small", with(&["ZADD", "zset:small"], scored(5))),
        ("zset:large", with(&["ZADD", "zset:large"], scored(500))),
        (
            "zset:special",
            with(
                &[
                    "ZADD",
                    "zset:special",
                    "-inf",
                    "a",
                    "+inf",
                    "b",
                    "0",
                    "c",
                    "1e300",
                    "d",
                ],
                vec![],
            ),
        ),
    ]
}

pub fn load(c: &mut Client) {
    for (_, args) in fixtures() {
        ok(c, &args);
    }
}
