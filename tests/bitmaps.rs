//! The bitmap family over TCP: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD and BITFIELD_RO,
//! their errors and limits, through redis-rs and raw bytes, and a
//! comparison with a real Redis over a large generated script.

mod common;

use std::collections::VecDeque;
use std::io::Write;
use std::net::TcpStream;

use common::{assert_reply, raw, redis, start, start_with, RealRedis};
use respd::store::Value;

/// Encodes a command of binary-safe arguments as a RESP array.
fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Sends one command of text arguments and asserts the exact reply bytes.
fn check(stream: &mut TcpStream, args: &[&str], expected: &str) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    assert_reply(stream, &resp(&args), expected.as_bytes());
}

/// Stores raw bytes under `key`.
fn set_bytes(stream: &mut TcpStream, key: &str, value: &[u8]) {
    assert_reply(stream, &resp(&[b"SET", key.as_bytes(), value]), b"+OK\r\n");
}

/// Plants a list under `key` in database 0, so WRONGTYPE paths can be
/// exercised whether or not the list commands exist yet.
fn plant_list(server: &respd::ServerHandle, key: &str) {
    let list = VecDeque::from([b"a".to_vec()]);
    server
        .shared()
        .store
        .write(0)
        .set(key.as_bytes().into(), Value::List(Box::new(list)));
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INTEGER: &str = "-ERR value is not an integer or out of range\r\n";
const BAD_OFFSET: &str = "-ERR bit offset is not an integer or out of range\r\n";
const BAD_BIT: &str = "-ERR bit is not an integer or out of range\r\n";

#[test]
fn setbit_and_getbit_through_redis_rs() {
    let server = start();
    let mut con = redis(server.local_addr());
    let setbit = |con: &mut redis::Connection, offset: u64, on: u8| -> i64 {
        redis::cmd("SETBIT")
            .arg("k")
            .arg(offset)
            .arg(on)
            .query(con)
            .unwrap()
    };
    assert_eq!(setbit(&mut con, 7, 1), 0);
    assert_eq!(setbit(&mut con, 7, 1), 1);
    assert_eq!(setbit(&mut con, 0, 1), 0);
    let value: Vec<u8> = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(value, vec![0x81]);
    // Clearing a bit past the end grows the string with zero bytes.
    assert_eq!(setbit(&mut con, 23, 0), 0);
    let value: Vec<u8> = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(value, vec![0x81, 0, 0]);
    assert_eq!(setbit(&mut con, 7, 0), 1);
    for (offset, expected) in [(0, 1), (1, 0), (7, 0), (23, 0), (1_000_000, 0)] {
        let bit: i64 = redis::cmd("GETBIT")
            .arg("k")
            .arg(offset)
            .query(&mut con)
            .unwrap();
        assert_eq!(bit, expected, "offset {offset}");
    }
    let missing: i64 = redis::cmd("GETBIT")
        .arg("nope")
        .arg(5)
        .query(&mut con)
        .unwrap();
    assert_eq!(missing, 0);
    let err = redis::cmd("SETBIT")
        .arg("k")
        .arg(-1)
        .arg(1)
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("bit offset is not an integer or out of range"));
}

#[test]
fn setbit_getbit_errors_and_limits() {
    let server = start();
    let mut s = raw(server.local_addr());
    for offset in ["-1", "x", "4294967296", "1.5", "99999999999999999999"] {
        check(&mut s, &["SETBIT", "k", offset, "1"], BAD_OFFSET);
        check(&mut s, &["GETBIT", "k", offset], BAD_OFFSET);
    }
    for bit in ["2", "-1", "x", "01x"] {
        check(&mut s, &["SETBIT", "k", "0", bit], BAD_BIT);
    }
    // The offset is checked first, then the bit, then the type.
    check(&mut s, &["SETBIT", "k", "x", "x"], BAD_OFFSET);
    plant_list(&server, "l");
    check(&mut s, &["SETBIT", "l", "0", "x"], BAD_BIT);
    check(&mut s, &["SETBIT", "l", "0", "1"], WRONGTYPE);
    check(&mut s, &["GETBIT", "l", "x"], BAD_OFFSET);
    check(&mut s, &["GETBIT", "l", "0"], WRONGTYPE);
    check(
        &mut s,
        &["SETBIT", "k", "1"],
        "-ERR wrong number of arguments for 'setbit' command\r\n",
    );
    check(
        &mut s,
        &["GETBIT", "k"],
        "-ERR wrong number of arguments for 'getbit' command\r\n",
    );
    // A refused offset leaves no key behind.
    check(&mut s, &["EXISTS", "k"], ":0\r\n");
    // SETBIT keeps the key's time to live.
    check(&mut s, &["SET", "t", "a", "EX", "100"], "+OK\r\n");
    check(&mut s, &["SETBIT", "t", "100", "1"], ":0\r\n");
    check(&mut s, &["STRLEN", "t"], ":13\r\n");
    check(&mut s, &["TTL", "t"], ":100\r\n");
}

#[test]
fn offsets_are_limited_by_proto_max_bulk_len() {
    let server = start_with("proto-max-bulk-len 1mb");
    let mut s = raw(server.local_addr());
    let last = (1024 * 1024 * 8 - 1).to_string();
    let past = (1024 * 1024 * 8).to_string();
    check(&mut s, &["SETBIT", "k", &past, "1"], BAD_OFFSET);
    check(&mut s, &["GETBIT", "k", &past], BAD_OFFSET);
    check(&mut s, &["SETBIT", "k", &last, "1"], ":0\r\n");
    check(&mut s, &["STRLEN", "k"], ":1048576\r\n");
    check(&mut s, &["GETBIT", "k", &last], ":1\r\n");
    check(&mut s, &["BITCOUNT", "k"], ":1\r\n");
    check(&mut s, &["BITPOS", "k", "1"], &format!(":{last}\r\n"));
}

#[test]
fn bitcount_ranges_units_and_errors() {
    let server = start();
    let mut con = redis(server.local_addr());
    redis::cmd("SET")
        .arg("k")
        .arg(b"\xff\xf0\x00\x01".as_slice())
        .query::<()>(&mut con)
        .unwrap();
    let count = |con: &mut redis::Connection, range: &[&str]| -> i64 {
        redis::cmd("BITCOUNT")
            .arg("k")
            .arg(range)
            .query(con)
            .unwrap()
    };
    assert_eq!(count(&mut con, &[]), 13);
    assert_eq!(count(&mut con, &["1", "1"]), 4);
    assert_eq!(count(&mut con, &["-1", "-1"]), 1);
    assert_eq!(count(&mut con, &["0", "-3", "BYTE"]), 12);
    assert_eq!(count(&mut con, &["4", "11", "bit"]), 8);
    assert_eq!(count(&mut con, &["-1", "-1", "BIT"]), 1);
    assert_eq!(count(&mut con, &["-2", "-1", "BIT"]), 1);
    assert_eq!(count(&mut con, &["5", "100"]), 0);
    assert_eq!(count(&mut con, &["2", "1"]), 0);
    // Both from the end and crossed is empty, though clamping would land
    // both on the first byte.
    assert_eq!(count(&mut con, &["-4", "-5"]), 0);
    assert_eq!(count(&mut con, &["-100", "-99"]), 8);

    let mut s = raw(server.local_addr());
    check(&mut s, &["BITCOUNT", "k", "0"], SYNTAX);
    check(&mut s, &["BITCOUNT", "k", "0", "1", "BITS"], SYNTAX);
    check(&mut s, &["BITCOUNT", "k", "0", "1", "BIT", "x"], SYNTAX);
    check(&mut s, &["BITCOUNT", "k", "a", "1"], NOT_INTEGER);
    check(&mut s, &["BITCOUNT", "k", "0", "b", "BIT"], NOT_INTEGER);
    // A missing key counts 0 before its arguments are even looked at.
    check(&mut s, &["BITCOUNT", "nope", "x"], ":0\r\n");
    check(&mut s, &["BITCOUNT", "nope"], ":0\r\n");
    check(&mut s, &["SET", "empty", ""], "+OK\r\n");
    check(&mut s, &["BITCOUNT", "empty", "0", "-1"], ":0\r\n");
    plant_list(&server, "l");
    check(&mut s, &["BITCOUNT", "l", "x"], WRONGTYPE);
    check(
        &mut s,
        &["BITCOUNT"],
        "-ERR wrong number of arguments for 'bitcount' command\r\n",
    );
}

#[test]
fn bitpos_padding_and_explicit_ends() {
    let server = start();
    let mut s = raw(server.local_addr());
    set_bytes(&mut s, "ones", b"\xff\xff\xff");
    // Without an end, the string is followed by 0 bits.
    check(&mut s, &["BITPOS", "ones", "0"], ":24\r\n");
    check(&mut s, &["BITPOS", "ones", "0", "1"], ":24\r\n");
    check(&mut s, &["BITPOS", "ones", "0", "3"], ":-1\r\n");
    // With an explicit end, only the range counts.
    check(&mut s, &["BITPOS", "ones", "0", "0", "-1"], ":-1\r\n");
    check(&mut s, &["BITPOS", "ones", "0", "0", "100"], ":-1\r\n");
    check(
        &mut s,
        &["BITPOS", "ones", "0", "3", "20", "BIT"],
        ":-1\r\n",
    );
    check(&mut s, &["BITPOS", "ones", "1", "3", "20", "bit"], ":3\r\n");
    set_bytes(&mut s, "k", b"\x00\x0f\x80");
    check(&mut s, &["BITPOS", "k", "1"], ":12\r\n");
    check(&mut s, &["BITPOS", "k", "1", "2"], ":16\r\n");
    check(&mut s, &["BITPOS", "k", "1", "13", "-1", "BIT"], ":13\r\n");
    check(&mut s, &["BITPOS", "k", "1", "17", "-1", "BIT"], ":-1\r\n");
    check(&mut s, &["BITPOS", "k", "0", "12", "15", "BIT"], ":-1\r\n");
    check(&mut s, &["BITPOS", "k", "0", "12", "16", "BIT"], ":-1\r\n");
    check(&mut s, &["BITPOS", "k", "0", "12", "17", "BIT"], ":17\r\n");
    check(&mut s, &["BITPOS", "k", "0", "-1"], ":17\r\n");
    // Negative bounds clamp to the start (no crossed-range shortcut).
    check(&mut s, &["BITPOS", "k", "1", "-3", "-4"], ":-1\r\n");
    check(&mut s, &["BITPOS", "k", "0", "-3", "-4"], ":0\r\n");
    check(&mut s, &["BITPOS", "k", "0", "2", "1"], ":-1\r\n");
    // A missing key is all 0 bits, whatever follows.
    check(&mut s, &["BITPOS", "nope", "0", "5", "x", "y"], ":0\r\n");
    check(&mut s, &["BITPOS", "nope", "1"], ":-1\r\n");
    check(&mut s, &["SET", "empty", ""], "+OK\r\n");
    check(&mut s, &["BITPOS", "empty", "0"], ":-1\r\n");
    check(&mut s, &["BITPOS", "empty", "1"], ":-1\r\n");
    // Errors, in Redis's order: bit, type, start, unit, end.
    let bad_bit = "-ERR The bit argument must be 1 or 0.\r\n";
    check(&mut s, &["BITPOS", "k", "2"], bad_bit);
    check(&mut s, &["BITPOS", "nope", "-1"], bad_bit);
    check(&mut s, &["BITPOS", "k", "x"], NOT_INTEGER);
    plant_list(&server, "l");
    check(&mut s, &["BITPOS", "l", "1", "x"], WRONGTYPE);
    check(&mut s, &["BITPOS", "k", "1", "x", "y", "z"], NOT_INTEGER);
    check(&mut s, &["BITPOS", "k", "1", "0", "y", "z"], SYNTAX);
    check(&mut s, &["BITPOS", "k", "1", "0", "y", "BIT"], NOT_INTEGER);
    check(&mut s, &["BITPOS", "k", "1", "0", "1", "BIT", "x"], SYNTAX);

    let mut con = redis(server.local_addr());
    let position: i64 = redis::cmd("BITPOS")
        .arg("k")
        .arg(1)
        .arg(1)
        .query(&mut con)
        .unwrap();
    assert_eq!(position, 12);
}

#[test]
fn bitop_operations_and_destination() {
    let server = start();
    let mut con = redis(server.local_addr());
    redis::cmd("SET")
        .arg("a")
        .arg(b"\xf0\x0f\xaa".as_slice())
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("SET")
        .arg("b")
        .arg(b"\xff\x01".as_slice())
        .query::<()>(&mut con)
        .unwrap();
    let mut bitop = |op: &str, sources: &[&str]| -> (i64, Option<Vec<u8>>) {
        let len: i64 = redis::cmd("BITOP")
            .arg(op)
            .arg("d")
            .arg(sources)
            .query(&mut con)
            .unwrap();
        let value: Option<Vec<u8>> = redis::cmd("GET").arg("d").query(&mut con).unwrap();
        (len, value)
    };
    assert_eq!(bitop("AND", &["a", "b"]), (3, Some(vec![0xf0, 0x01, 0x00])));
    assert_eq!(bitop("or", &["a", "b"]), (3, Some(vec![0xff, 0x0f, 0xaa])));
    assert_eq!(bitop("Xor", &["a", "b"]), (3, Some(vec![0x0f, 0x0e, 0xaa])));
    assert_eq!(bitop("NOT", &["b"]), (2, Some(vec![0x00, 0xfe])));
    assert_eq!(bitop("AND", &["a", "nope"]), (3, Some(vec![0, 0, 0])));
    assert_eq!(bitop("OR", &["nope", "b"]), (2, Some(vec![0xff, 0x01])));
    assert_eq!(bitop("AND", &["a"]), (3, Some(vec![0xf0, 0x0f, 0xaa])));
    // An empty result deletes the destination.
    assert_eq!(bitop("OR", &["nope", "nada"]), (0, None));
    assert_eq!(bitop("NOT", &["nope"]), (0, None));

    let mut s = raw(server.local_addr());
    let not_single = "-ERR BITOP NOT must be called with a single source key.\r\n";
    check(&mut s, &["BITOP", "NOT", "d", "a", "b"], not_single);
    check(&mut s, &["BITOP", "NAND", "d", "a"], SYNTAX);
    check(&mut s, &["BITOP", "NAND", "d", "a", "b"], SYNTAX);
    check(
        &mut s,
        &["BITOP", "AND", "d"],
        "-ERR wrong number of arguments for 'bitop' command\r\n",
    );
    plant_list(&server, "l");
    check(&mut s, &["BITOP", "AND", "d", "a", "l"], WRONGTYPE);
    // The destination may hold any type, and loses its time to live.
    check(&mut s, &["BITOP", "OR", "l", "b"], ":2\r\n");
    check(&mut s, &["TYPE", "l"], "+string\r\n");
    check(&mut s, &["EXPIRE", "l", "100"], ":1\r\n");
    check(&mut s, &["BITOP", "OR", "l", "l", "a"], ":3\r\n");
    check(&mut s, &["TTL", "l"], ":-1\r\n");
    check(&mut s, &["BITOP", "XOR", "a", "a"], ":3\r\n");
    check(&mut s, &["BITOP", "XOR", "a", "a", "a"], ":3\r\n");
    check(&mut s, &["BITCOUNT", "a"], ":0\r\n");
}

#[test]
fn bitfield_operations_and_overflow() {
    let server = start();
    let mut con = redis(server.local_addr());
    let mut bitfield = |args: &[&str]| -> Vec<Option<i64>> {
        redis::cmd("BITFIELD")
            .arg("f")
            .arg(args)
            .query(&mut con)
            .unwrap()
    };
    assert_eq!(bitfield(&[]), vec![]);
    assert_eq!(
        bitfield(&["SET", "u8", "0", "200", "GET", "u8", "0", "GET", "i8", "0"]),
        vec![Some(0), Some(200), Some(-56)]
    );
    assert_eq!(
        bitfield(&["INCRBY", "u8", "0", "100", "INCRBY", "i8", "0", "-1"]),
        vec![Some(44), Some(43)]
    );
    // `#n` is the n-th field of the type's width.
    assert_eq!(
        bitfield(&["SET", "i16", "#1", "-2", "GET", "u16", "16", "GET", "u4", "#7"]),
        vec![Some(0), Some(65534), Some(14)]
    );
    assert_eq!(
        bitfield(&[
            "OVERFLOW", "SAT", "INCRBY", "u8", "0", "1000", "INCRBY", "i8", "8", "-1000",
            "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1", "overflow", "wrap", "INCRBY", "u8", "0",
            "2"
        ]),
        vec![Some(255), Some(-128), None, Some(1)]
    );
    assert_eq!(
        bitfield(&["SET", "i64", "0", "-1", "GET", "i64", "0", "GET", "u63", "0"]),
        vec![Some(0x0180_fffe_0000_0000), Some(-1), Some(i64::MAX)]
    );
}

#[test]
fn bitfield_raw_replies_and_errors() {
    let server = start();
    let mut s = raw(server.local_addr());
    check(&mut s, &["BITFIELD", "nope"], "*0\r\n");
    check(
        &mut s,
        &["BITFIELD", "nope", "GET", "u8", "0"],
        "*1\r\n:0\r\n",
    );
    check(&mut s, &["EXISTS", "nope"], ":0\r\n");
    // FAIL still creates the key, grown to the field, as Redis does.
    check(
        &mut s,
        &[
            "BITFIELD", "b", "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "5",
        ],
        "*1\r\n$-1\r\n",
    );
    check(&mut s, &["STRLEN", "b"], ":13\r\n");
    check(
        &mut s,
        &["BITFIELD_RO", "b", "GET", "u2", "100"],
        "*1\r\n:0\r\n",
    );
    let bad_type = "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";
    for ty in ["u64", "i65", "i0", "x8", "", "u", "i-1", "I8", "U8"] {
        check(&mut s, &["BITFIELD", "b", "GET", ty, "0"], bad_type);
    }
    for offset in [
        "-1",
        "#-1",
        "#",
        "x",
        "4294967296",
        "#536870912",
        "#1152921504606846976",
    ] {
        check(&mut s, &["BITFIELD", "b", "GET", "i8", offset], BAD_OFFSET);
    }
    check(
        &mut s,
        &["BITFIELD", "b", "GET", "i8", "#536870911"],
        "*1\r\n:0\r\n",
    );
    check(
        &mut s,
        &["BITFIELD", "b", "OVERFLOW", "foo"],
        "-ERR Invalid OVERFLOW type specified\r\n",
    );
    for bad in [
        &["BITFIELD", "b", "GET", "i8"][..],
        &["BITFIELD", "b", "SET", "i8", "0"],
        &["BITFIELD", "b", "OVERFLOW"],
        &["BITFIELD", "b", "FOO", "i8", "0"],
    ] {
        check(&mut s, bad, SYNTAX);
    }
    check(
        &mut s,
        &["BITFIELD", "b", "SET", "i8", "0", "x"],
        NOT_INTEGER,
    );
    let ro = "-ERR BITFIELD_RO only supports the GET subcommand\r\n";
    check(&mut s, &["BITFIELD_RO", "b", "SET", "i8", "0", "1"], ro);
    check(
        &mut s,
        &[
            "BITFIELD_RO",
            "b",
            "GET",
            "i8",
            "0",
            "INCRBY",
            "i8",
            "x",
            "1",
        ],
        BAD_OFFSET,
    );
    plant_list(&server, "l");
    check(&mut s, &["BITFIELD", "l", "GET", "i8", "0"], WRONGTYPE);
    check(&mut s, &["BITFIELD", "l", "SET", "i8", "0", "1"], WRONGTYPE);
    check(&mut s, &["BITFIELD", "l"], WRONGTYPE);
    check(&mut s, &["BITFIELD_RO", "l", "SET", "i8", "0", "1"], ro);
    check(&mut s, &["BITFIELD", "l", "GET", "i8", "x"], BAD_OFFSET);
    // In RESP3 a failed operation is a null.
    let mut s = raw(server.local_addr());
    s.write_all(&resp(&[b"HELLO", b"3"])).unwrap();
    let hello = common::read_until_quiet(&mut s, std::time::Duration::from_millis(300));
    assert!(hello.starts_with(b"%"));
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    check(
        &mut s,
        &[
            "BITFIELD", "b", "OVERFLOW", "FAIL", "SET", "u2", "0", "4", "GET", "u2", "0",
        ],
        "*2\r\n_\r\n:0\r\n",
    );
}

#[test]
fn command_info_rows_match_redis() {
    let server = start();
    let mut con = redis(server.local_addr());
    let expected: &[(&str, i64, &[&str], [i64; 3])] = &[
        ("setbit", 4, &["write", "denyoom"], [1, 1, 1]),
        ("getbit", 3, &["readonly", "fast"], [1, 1, 1]),
        ("bitcount", -2, &["readonly"], [1, 1, 1]),
        ("bitpos", -3, &["readonly"], [1, 1, 1]),
        ("bitop", -4, &["write", "denyoom"], [2, -1, 1]),
        ("bitfield", -2, &["write", "denyoom"], [1, 1, 1]),
        ("bitfield_ro", -2, &["readonly", "fast"], [1, 1, 1]),
    ];
    for &(name, arity, flags, keys) in expected {
        let info: Vec<redis::Value> = redis::cmd("COMMAND")
            .arg("INFO")
            .arg(name)
            .query(&mut con)
            .unwrap();
        let redis::Value::Array(row) = &info[0] else {
            panic!("no row for {name}: {info:?}");
        };
        let row = &row[..6];
        let text = |v: &redis::Value| -> String { redis::from_redis_value_ref(v).unwrap() };
        let int = |v: &redis::Value| -> i64 { redis::from_redis_value_ref(v).unwrap() };
        let got_flags: Vec<String> = redis::from_redis_value_ref(&row[2]).unwrap();
        assert_eq!(text(&row[0]), name);
        assert_eq!(int(&row[1]), arity, "{name}");
        assert_eq!(got_flags, flags, "{name}");
        assert_eq!([int(&row[3]), int(&row[4]), int(&row[5])], keys, "{name}");
    }
}

/// The values the generated BITCOUNT / BITPOS cases run on.
const SAMPLES: &[(&str, &[u8])] = &[
    ("mixed", b"\xff\xf0\x00\x0f\x81"),
    ("zeros", b"\x00\x00\x00"),
    ("ones", b"\xff\xff\xff"),
    ("one", b"\x10"),
    ("empty", b""),
    ("nope", b"-"),
];

/// Every BITCOUNT and BITPOS range shape over [`SAMPLES`]: with and
/// without ends and units, negative, crossed and out-of-range bounds.
fn generated_range_cases() -> Vec<Vec<Vec<u8>>> {
    let bounds = [
        "-100", "-41", "-17", "-9", "-8", "-5", "-3", "-2", "-1", "0", "1", "2", "3", "4", "7",
        "8", "9", "15", "16", "23", "24", "39", "40", "100",
    ];
    let mut cases = Vec::new();
    let words = |parts: &[&str]| parts.iter().map(|p| p.as_bytes().to_vec()).collect();
    for (key, _) in SAMPLES {
        cases.push(words(&["BITCOUNT", key]));
        for bit in ["0", "1"] {
            cases.push(words(&["BITPOS", key, bit]));
            for start in bounds {
                cases.push(words(&["BITPOS", key, bit, start]));
                for end in bounds {
                    cases.push(words(&["BITPOS", key, bit, start, end]));
                    cases.push(words(&["BITPOS", key, bit, start, end, "BIT"]));
                    if bit == "0" {
                        cases.push(words(&["BITCOUNT", key, start, end]));
                        cases.push(words(&["BITCOUNT", key, start, end, "bit"]));
                        cases.push(words(&["BITPOS", key, bit, start, end, "byte"]));
                    }
                }
            }
        }
    }
    cases
}

/// BITFIELD's arithmetic at the edges: every overflow mode, widths from 1
/// to 64 bits, values around each limit, aligned and unaligned offsets.
fn generated_bitfield_cases() -> Vec<Vec<Vec<u8>>> {
    let types = [
        "i1", "u1", "i5", "u5", "i8", "u8", "i16", "u32", "i63", "u63", "i64",
    ];
    let values = [
        "0",
        "1",
        "-1",
        "2",
        "15",
        "-16",
        "16",
        "127",
        "128",
        "-129",
        "255",
        "256",
        "4294967295",
        "9223372036854775807",
        "-9223372036854775808",
        "-9223372036854775807",
        "-9223372036854775680",
    ];
    let mut cases = Vec::new();
    for ty in types {
        for mode in ["WRAP", "SAT", "FAIL"] {
            for offset in ["0", "3", "#1"] {
                for value in values {
                    let parts = [
                        "BITFIELD", "g", "OVERFLOW", mode, "SET", ty, offset, value, "GET", ty,
                        offset, "INCRBY", ty, offset, value, "INCRBY", ty, offset, "-1",
                    ];
                    cases.push(parts.iter().map(|p| p.as_bytes().to_vec()).collect());
                }
            }
        }
    }
    cases.push(vec![b"GET".to_vec(), b"g".to_vec()]);
    cases
}

/// Hand-written cases: every command, its errors and its writes.
fn scripted_cases() -> Vec<Vec<Vec<u8>>> {
    let script: &[&[&str]] = &[
        &["SETBIT", "s", "7", "1"],
        &["SETBIT", "s", "7", "1"],
        &["SETBIT", "s", "100", "0"],
        &["GET", "s"],
        &["SETBIT", "s", "-1", "1"],
        &["SETBIT", "s", "4294967296", "1"],
        &["SETBIT", "s", "x", "1"],
        &["SETBIT", "s", "1", "2"],
        &["SETBIT", "s", "1", "-1"],
        &["SETBIT", "s", "1", "y"],
        &["SETBIT", "s", "1"],
        &["SETBIT", "l", "0", "1"],
        &["SETBIT", "l", "0", "5"],
        &["GETBIT", "s", "7"],
        &["GETBIT", "s", "6"],
        &["GETBIT", "s", "99999"],
        &["GETBIT", "s", "4294967296"],
        &["GETBIT", "s", "-1"],
        &["GETBIT", "nope", "3"],
        &["GETBIT", "l", "0"],
        &["GETBIT", "l", "x"],
        &["GETBIT", "s"],
        &["SET", "t", "a", "EX", "100"],
        &["SETBIT", "t", "9", "1"],
        &["TTL", "t"],
        &["GET", "t"],
        &["CONFIG", "SET", "proto-max-bulk-len", "1048576"],
        &["SETBIT", "big", "8388608", "1"],
        &["GETBIT", "big", "8388608"],
        &["SETBIT", "big", "8388607", "1"],
        &["STRLEN", "big"],
        &["BITCOUNT", "big"],
        &["BITPOS", "big", "1"],
        &["BITPOS", "big", "0", "-1"],
        &["BITCOUNT", "big", "-1", "-1"],
        &["DEL", "big"],
        &[
            "BITFIELD", "f", "SET", "i8", "#1048575", "-3", "GET", "u8", "#1048575",
        ],
        &["STRLEN", "f"],
        &["BITFIELD", "f", "SET", "i8", "#1048576", "1"],
        &["BITFIELD", "f", "INCRBY", "i64", "8388607", "1"],
        &["STRLEN", "f"],
        &["DEL", "f"],
        &["CONFIG", "SET", "proto-max-bulk-len", "536870912"],
        &["BITCOUNT", "mixed", "0"],
        &["BITCOUNT", "mixed", "0", "1", "2"],
        &["BITCOUNT", "mixed", "0", "1", "BIT", "x"],
        &["BITCOUNT", "mixed", "x", "1"],
        &["BITCOUNT", "mixed", "1", "x"],
        &["BITCOUNT", "mixed", "x", "1", "bits"],
        &["BITCOUNT", "mixed", "1", "2", "bits"],
        &["BITCOUNT", "nope", "x"],
        &["BITCOUNT", "nope", "1", "2", "3", "4"],
        &["BITCOUNT", "l"],
        &["BITCOUNT", "l", "x"],
        &["BITCOUNT"],
        &["BITPOS", "mixed", "2"],
        &["BITPOS", "mixed", "-1"],
        &["BITPOS", "mixed", "x"],
        &["BITPOS", "mixed", "1", "x"],
        &["BITPOS", "mixed", "1", "0", "x"],
        &["BITPOS", "mixed", "1", "0", "x", "y"],
        &["BITPOS", "mixed", "1", "x", "y", "z"],
        &["BITPOS", "mixed", "1", "0", "x", "bit"],
        &["BITPOS", "mixed", "1", "0", "1", "bit", "z"],
        &["BITPOS", "nope", "1", "x", "y", "z", "w"],
        &["BITPOS", "nope", "0", "x"],
        &["BITPOS", "nope", "2"],
        &["BITPOS", "l", "1"],
        &["BITPOS", "l", "3"],
        &["BITPOS", "mixed"],
        &["BITOP", "AND", "d", "mixed", "one"],
        &["GET", "d"],
        &["BITOP", "or", "d", "mixed", "one", "zeros"],
        &["GET", "d"],
        &["BITOP", "XOR", "d", "mixed", "ones", "nope"],
        &["GET", "d"],
        &["BITOP", "NOT", "d", "one"],
        &["GET", "d"],
        &["BITOP", "AND", "d", "nope", "mixed"],
        &["GET", "d"],
        &["BITOP", "AND", "d", "empty"],
        &["EXISTS", "d"],
        &["BITOP", "NOT", "d", "nope"],
        &["BITOP", "NOT", "d", "a", "b"],
        &["BITOP", "NOT", "d"],
        &["BITOP", "NAND", "d", "a"],
        &["BITOP", "AND", "d", "mixed", "l"],
        &["BITOP", "AND", "d", "l"],
        &["SET", "e", "x", "EX", "100"],
        &["BITOP", "OR", "e", "e", "one"],
        &["TTL", "e"],
        &["GET", "e"],
        &["BITOP", "XOR", "e", "e"],
        &["GET", "e"],
        &["BITOP", "AND", "d"],
        &["BITFIELD", "nope"],
        &["BITFIELD", "nope", "GET", "u8", "0", "GET", "i4", "#3"],
        &[
            "BITFIELD", "mixed", "GET", "u8", "0", "GET", "i4", "#3", "GET", "i64", "3",
        ],
        &[
            "BITFIELD", "mixed", "GET", "u63", "#1", "get", "U7", "33", "GET", "I2", "#19",
        ],
        &["BITFIELD_RO", "mixed", "GET", "u8", "0", "GET", "i4", "#3"],
        &["BITFIELD_RO", "nope", "GET", "u8", "0"],
        &["BITFIELD_RO", "nope"],
        &[
            "BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "5",
        ],
        &["STRLEN", "f"],
        &[
            "BITFIELD",
            "f",
            "SET",
            "i8",
            "#536870911",
            "-3",
            "GET",
            "u8",
            "0",
        ],
        &["STRLEN", "f"],
        &["DEL", "f"],
        &["BITFIELD", "f", "SET", "i8", "#536870912", "1"],
        &["BITFIELD", "f", "GET", "u64", "0"],
        &["BITFIELD", "f", "GET", "i65", "0"],
        &["BITFIELD", "f", "GET", "i0", "0"],
        &["BITFIELD", "f", "GET", "x8", "0"],
        &["BITFIELD", "f", "GET", "", "0"],
        &["BITFIELD", "f", "GET", "i", "0"],
        &["BITFIELD", "f", "GET", "i+8", "0"],
        &["BITFIELD", "f", "GET", "i08", "0"],
        &["BITFIELD", "f", "GET", "I8", "0"],
        &["BITFIELD", "f", "GET", "U8", "0"],
        &["BITFIELD", "f", "GET", "i8", "-1"],
        &["BITFIELD", "f", "GET", "i8", "#-1"],
        &["BITFIELD", "f", "GET", "i8", "#"],
        &["BITFIELD", "f", "GET", "i8", "##1"],
        &["BITFIELD", "f", "GET", "i8", "#1152921504606846976"],
        &["BITFIELD", "f", "GET", "i8", "4294967296"],
        &["BITFIELD", "f", "OVERFLOW", "foo", "GET", "i8", "0"],
        &["BITFIELD", "f", "OVERFLOW"],
        &["BITFIELD", "f", "GET", "i8"],
        &["BITFIELD", "f", "SET", "i8", "0"],
        &["BITFIELD", "f", "INCRBY", "i8", "0", "x"],
        &["BITFIELD", "f", "GET", "i8", "0", "FOO"],
        &["BITFIELD", "f", "SET", "i8", "0", "1", "GET", "u8", "x"],
        &["EXISTS", "f"],
        &["BITFIELD_RO", "f", "SET", "i8", "0", "1"],
        &[
            "BITFIELD_RO",
            "f",
            "GET",
            "i8",
            "0",
            "INCRBY",
            "i8",
            "x",
            "1",
        ],
        &["BITFIELD_RO", "f", "OVERFLOW", "SAT", "GET", "i8", "0"],
        &["BITFIELD_RO", "l", "GET", "i8", "0"],
        &["BITFIELD_RO", "l", "INCRBY", "i8", "0", "1"],
        &["BITFIELD", "l", "SET", "i8", "0", "1"],
        &["BITFIELD", "l", "GET", "i8", "0"],
        &["BITFIELD", "l"],
        &["BITFIELD"],
        &["BITFIELD_RO"],
        &["BITOP", "AND", "l", "mixed"],
        &["TYPE", "l"],
        &["GET", "l"],
    ];
    script
        .iter()
        .map(|c| c.iter().map(|p| p.as_bytes().to_vec()).collect())
        .collect()
}

/// Gives both servers the same data: [`SAMPLES`] and a list under `l`
/// (planted directly in respd, whose list commands may not exist yet).
fn prepare(server: &respd::ServerHandle, real: std::net::SocketAddr) {
    for addr in [server.local_addr(), real] {
        let mut s = raw(addr);
        assert_reply(&mut s, &resp(&[b"FLUSHALL"]), b"+OK\r\n");
        for (key, value) in SAMPLES.iter().filter(|(key, _)| *key != "nope") {
            set_bytes(&mut s, key, value);
        }
    }
    plant_list(server, "l");
    assert_reply(&mut raw(real), &resp(&[b"RPUSH", b"l", b"a"]), b":1\r\n");
}

/// Sends `setup` (replies dropped) then `request` on a new connection and
/// returns the replies to `request`. Each part ends with an ECHO of a
/// marker, so reading stops at the marker, not after a quiet time.
fn run_script(addr: std::net::SocketAddr, setup: &[&[u8]], request: &[u8]) -> Vec<u8> {
    let mut stream = raw(addr);
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let marker = |name: &str| {
        let echo = resp(&[b"ECHO", name.as_bytes()]);
        let reply = format!("${}\r\n{name}\r\n", name.len()).into_bytes();
        (echo, reply)
    };
    let (setup_echo, setup_end) = marker("end-of-setup");
    let (echo, end) = marker("end-of-script");
    let mut all: Vec<u8> = setup.concat();
    all.extend(setup_echo);
    all.extend_from_slice(request);
    all.extend(echo);
    // Write from another thread: the replies must be read meanwhile.
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || writer.write_all(&all).unwrap());
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    while !got.ends_with(&end) {
        let n = std::io::Read::read(&mut stream, &mut buf).unwrap();
        assert!(n > 0, "{addr} closed the connection");
        got.extend_from_slice(&buf[..n]);
    }
    sender.join().unwrap();
    let start = got
        .windows(setup_end.len())
        .position(|w| w == setup_end)
        .unwrap()
        + setup_end.len();
    got[start..got.len() - end.len()].to_vec()
}

/// Runs the whole script on both servers, in RESP2 then in RESP3, and
/// compares every reply line.
#[test]
fn same_replies_as_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let mut cases = scripted_cases();
    cases.extend(generated_range_cases());
    cases.extend(generated_bitfield_cases());
    let mut request = Vec::new();
    for case in &cases {
        let args: Vec<&[u8]> = case.iter().map(Vec::as_slice).collect();
        request.extend(resp(&args));
    }
    let hello3 = resp(&[b"HELLO", b"3"]);
    for protocol in [&[][..], &[hello3.as_slice()]] {
        prepare(&server, real.addr);
        let ours = run_script(server.local_addr(), protocol, &request);
        let theirs = run_script(real.addr, protocol, &request);
        let ours = String::from_utf8_lossy(&ours);
        let theirs = String::from_utf8_lossy(&theirs);
        let (ours, theirs): (Vec<&str>, Vec<&str>) =
            (ours.split("\r\n").collect(), theirs.split("\r\n").collect());
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(
                a,
                b,
                "reply line {i} differs, after {:?}",
                &theirs[i.saturating_sub(4)..i]
            );
        }
        assert_eq!(ours.len(), theirs.len());
    }
    println!(
        "bitmaps: {} cases, each in RESP2 and RESP3, match a real Redis",
        cases.len()
    );
}
