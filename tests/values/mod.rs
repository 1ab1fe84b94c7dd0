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
        matches!(reply, Frame::Simple(_) | Frame::Integer(_) | Frame::Bulk(_)),
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
        "stream" => {
            // Entries as id + fields, then the groups and their pending
            // summaries (no clock-dependent fields in either).
            let mut out = Vec::new();
            if let Frame::Array(entries) = call(c, &[&b"XRANGE"[..], key, b"-", b"+"]) {
                for entry in entries {
                    out.push(format!("{entry:?}").into_bytes());
                }
            }
            out.push(format!("{:?}", call(c, &[&b"XINFO"[..], b"GROUPS", key])).into_bytes());
            out.push(format!("{:?}", call(c, &[&b"XPENDING"[..], key, b"g"])).into_bytes());
            out.push(format!("{:?}", call(c, &[&b"XLEN"[..], key])).into_bytes());
            out
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
            "stream:small",
            with(
                &["XADD", "stream:small", "1-1", "name", "ann", "age", "30"],
                vec![],
            ),
        ),
        (
            "stream:large",
            with(&["XADD", "stream:large", "1-1", "field", "first"], vec![]),
        ),
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

/// Commands run after [`fixtures`] that give the streams more entries,
/// a deleted entry, a consumer group and pending entries.
pub fn stream_history() -> Vec<Vec<String>> {
    let mut commands: Vec<Vec<String>> = Vec::new();
    let mut command = |args: &[&str]| commands.push(args.iter().map(|a| a.to_string()).collect());
    command(&["XADD", "stream:small", "2-0", "name", "bob"]);
    command(&["XADD", "stream:small", "3-5", "name", "cy", "age", "4"]);
    command(&["XDEL", "stream:small", "2-0"]);
    command(&["XGROUP", "CREATE", "stream:small", "g", "0"]);
    command(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "COUNT",
        "1",
        "STREAMS",
        "stream:small",
        ">",
    ]);
    for i in 2..=350 {
        let value = "v".repeat(i % 40);
        command(&[
            "XADD",
            "stream:large",
            &format!("{i}-1"),
            "field",
            &value,
            "n",
            &i.to_string(),
        ]);
    }
    command(&["XGROUP", "CREATE", "stream:large", "g", "$"]);
    command(&["XGROUP", "CREATE", "stream:large", "h", "0"]);
    command(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "bob",
        "STREAMS",
        "stream:large",
        "0",
    ]);
    command(&[
        "XREADGROUP",
        "GROUP",
        "h",
        "bob",
        "COUNT",
        "120",
        "STREAMS",
        "stream:large",
        ">",
    ]);
    command(&["XACK", "stream:large", "h", "5-1", "6-1"]);
    commands
}

pub fn load(c: &mut Client) {
    for (_, args) in fixtures() {
        ok(c, &args);
    }
    for args in stream_history() {
        let reply = call(c, &args);
        assert!(!matches!(reply, Frame::Error(_)), "{args:?}: {reply:?}");
    }
}
