//! Function libraries persist as in Redis 7.0: in the RDB (opcode 245,
//! before the databases) both ways with redis-server, in the AOF (FUNCTION
//! LOAD / DELETE / FLUSH / RESTORE logged and replayed, the rewrite base
//! carrying them), through DEBUG RELOAD and SHUTDOWN SAVE; FUNCTION DUMP /
//! RESTORE byte-compatible with redis-server; and keys expire by the
//! script's start time while a script runs.
#![cfg(feature = "scripting")]

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::process::{failed_start, installed, redis_check_rdb, respd, spawn, Process};
use redis::Value;

const LIB_A: &str = "#!lua name=liba\nredis.register_function('fa', function(keys, args) return 'a:' .. (args[1] or '') end)";
const LIB_B: &str = "#!lua name=libb\nredis.register_function{function_name='fb', callback=function() return 'b' end, flags={'no-writes'}, description='bee'}";
const LIB_B2: &str = "#!lua name=libb\nredis.register_function('fb', function() return 'b2' end)";
/// Long enough that Redis LZF-compresses it in its dump.
const LIB_C: &str = "#!lua name=libc\n-- a comment that repeats, a comment that repeats, a comment that repeats\nredis.register_function('fc', function() return 'c' end)";

fn temp_dir(name: &str) -> common::process::TempDir {
    common::process::temp_dir("funcpersist", name)
}

fn run(conn: &mut redis::Connection, args: &[&[u8]]) -> redis::RedisResult<Value> {
    let mut command = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query(conn)
}

fn ok(conn: &mut redis::Connection, args: &[&str]) -> Value {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    run(conn, &args).unwrap_or_else(|e| panic!("{:?}: {e}", args))
}

fn text(value: &Value) -> String {
    match value {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".into(),
        Value::Int(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// FUNCTION LIST WITHCODE as (name, code) pairs, by name (Redis keeps
/// libraries in a dict: its order is unspecified).
fn libraries(conn: &mut redis::Connection) -> Vec<(String, String)> {
    let Value::Array(list) = ok(conn, &["FUNCTION", "LIST", "WITHCODE"]) else {
        panic!("FUNCTION LIST is not an array");
    };
    let mut found: Vec<(String, String)> = list
        .iter()
        .map(|library| {
            let Value::Array(fields) = library else {
                panic!("{library:?}")
            };
            let field = |name: &str| {
                let at = fields.iter().position(|f| text(f) == name).unwrap();
                text(&fields[at + 1])
            };
            (field("library_name"), field("library_code"))
        })
        .collect();
    found.sort();
    found
}

fn expected(codes: &[&str]) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = codes
        .iter()
        .map(|code| {
            let name = code.split("name=").nth(1).unwrap().split('\n').next();
            (name.unwrap().to_string(), code.to_string())
        })
        .collect();
    list.sort();
    list
}

fn fcall(conn: &mut redis::Connection, name: &str) -> String {
    text(&ok(conn, &["FCALL", name, "0", "x"]))
}

fn info_field(conn: &mut redis::Connection, section: &str, field: &str) -> String {
    let info = text(&ok(conn, &["INFO", section]));
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO"))
        .to_string()
}

fn redis_server(dir: &Path, extra: &[&str]) -> Process {
    let mut args = vec!["--dir", dir.to_str().unwrap(), "--save", ""];
    args.extend_from_slice(extra);
    spawn("redis-server", &args)
}

/// A version-9 dump holding one library and nothing else (checksum 0:
/// not checked, as Redis's `rdbchecksum no`).
fn dump_with_library(code: &[u8]) -> Vec<u8> {
    let mut file = b"REDIS0009\xf5".to_vec();
    assert!(code.len() < 1 << 14);
    file.extend_from_slice(&[0x40 | (code.len() >> 8) as u8, code.len() as u8]);
    file.extend_from_slice(code);
    file.push(0xff);
    file.extend_from_slice(&[0; 8]);
    file
}

#[test]
fn rdb_carries_libraries_both_ways_with_redis_server() {
    let dir = temp_dir("rdb");
    let server = respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    ok(&mut conn, &["FUNCTION", "LOAD", LIB_A]);
    ok(&mut conn, &["FUNCTION", "LOAD", LIB_B]);
    ok(&mut conn, &["SET", "k", "v"]);
    ok(&mut conn, &["SAVE"]);
    drop(server);
    let file = std::fs::read(dir.join("dump.rdb")).unwrap();
    // The libraries come before the first database, as Redis writes them.
    let library_at = file.windows(2).position(|w| w == b"\xf5\x40").unwrap();
    let db_at = file.iter().rposition(|&b| b == 0xfe).unwrap();
    assert!(library_at < db_at);

    let server = respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    assert_eq!(libraries(&mut conn), expected(&[LIB_A, LIB_B]));
    assert_eq!(fcall(&mut conn, "fa"), "a:x");
    assert_eq!(
        ok(&mut conn, &["FCALL_RO", "fb", "0"]),
        Value::BulkString(b"b".to_vec())
    );
    drop(server);

    redis_check_rdb(&dir.join("dump.rdb"));
    if !installed("redis-server") {
        return;
    }
    // redis-server loads respd's dump, and respd loads redis-server's
    // (version 10, the long library LZF-compressed).
    let redis = redis_server(&dir, &["--dbfilename", "dump.rdb"]);
    let mut conn = redis.conn();
    assert_eq!(libraries(&mut conn), expected(&[LIB_A, LIB_B]));
    assert_eq!(fcall(&mut conn, "fa"), "a:x");
    ok(&mut conn, &["FUNCTION", "LOAD", LIB_C]);
    ok(&mut conn, &["SAVE"]);
    drop(redis);
    assert_eq!(
        &std::fs::read(dir.join("dump.rdb")).unwrap()[..9],
        b"REDIS0010"
    );
    let server = respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    assert_eq!(libraries(&mut conn), expected(&[LIB_A, LIB_B, LIB_C]));
    assert_eq!(fcall(&mut conn, "fc"), "c");
    assert_eq!(text(&ok(&mut conn, &["GET", "k"])), "v");
}

#[test]
fn a_library_that_fails_to_load_stops_the_start_as_in_redis() {
    let dir = temp_dir("badlib");
    std::fs::write(
        dir.join("dump.rdb"),
        dump_with_library(b"#!lua name=broken\nreturn 1"),
    )
    .unwrap();
    let output = failed_start(env!("CARGO_BIN_EXE_respd"), &dir);
    assert!(
        output.contains("Failed loading library, No functions registered"),
        "{output}"
    );
    assert!(output.contains("dump.rdb"), "{output}");
    if installed("redis-server") {
        let output = failed_start("redis-server", &dir);
        assert!(
            output.contains("Failed loading library, No functions registered")
                && output.contains("Unrecoverable error"),
            "{output}"
        );
    }
    // The release candidates' opcode (246) loads: name, engine, no
    // description, body.
    let body = b"redis.register_function('old', function() return 'rc' end)";
    let mut file = b"REDIS0010\xf6\x03old\x03LUA\x00".to_vec();
    file.extend_from_slice(&[0x40, body.len() as u8]);
    file.extend_from_slice(body);
    file.push(0xff);
    file.extend_from_slice(&[0; 8]);
    std::fs::write(dir.join("dump.rdb"), file).unwrap();
    let server = respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    assert_eq!(fcall(&mut conn, "old"), "rc");
    let code = format!("#!LUA name=old\n{}", String::from_utf8_lossy(body));
    assert_eq!(libraries(&mut conn), vec![("old".to_string(), code)]);
}

#[test]
fn shutdown_save_and_debug_reload_keep_libraries() {
    let dir = temp_dir("shutdown");
    let args = ["--save", "", "--enable-debug-command", "yes"];
    let server = respd(&dir, &args);
    let mut conn = server.conn();
    ok(&mut conn, &["FUNCTION", "LOAD", LIB_A]);
    ok(&mut conn, &["FUNCTION", "LOAD", LIB_B]);
    // Each FUNCTION command that did something is a change, as in Redis.
    assert_eq!(
        info_field(&mut conn, "persistence", "rdb_changes_since_last_save"),
        "2"
    );
    assert_eq!(ok(&mut conn, &["DEBUG", "RELOAD"]), Value::Okay);
    assert_eq!(libraries(&mut conn), expected(&[LIB_A, LIB_B]));
    assert_eq!(
        info_field(&mut conn, "persistence", "rdb_changes_since_last_save"),
        "0"
    );
    // DEBUG RELOAD replaces the libraries with the file's.
    ok(&mut conn, &["SAVE"]);
    ok(&mut conn, &["FUNCTION", "DELETE", "liba"]);
    ok(&mut conn, &["FUNCTION", "LOAD", LIB_C]);
    assert_eq!(
        info_field(&mut conn, "persistence", "rdb_changes_since_last_save"),
        "2"
    );
    let _ = redis::cmd("SHUTDOWN").arg("SAVE").query::<()>(&mut conn);
    assert!(server.wait_exit());
    let server = respd(&dir, &args);
    let mut conn = server.conn();
    assert_eq!(libraries(&mut conn), expected(&[LIB_B, LIB_C]));
    assert_eq!(fcall(&mut conn, "fc"), "c");
    let err = run(&mut conn, &[b"FCALL", b"fa", b"0"]).unwrap_err();
    assert_eq!(err.detail(), Some("Function not found"));
}

/// Waits for a running BGREWRITEAOF to end.
fn wait_for_rewrite(conn: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_field(conn, "persistence", "aof_rewrite_in_progress") != "0" {
        assert!(Instant::now() < deadline, "the rewrite never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn aof_logs_function_commands_and_its_base_carries_libraries() {
    let dir = temp_dir("aof");
    let args = ["--appendonly", "yes", "--save", ""];
    let server = respd(&dir, &args);
    let mut conn = server.conn();
    ok(&mut conn, &["FUNCTION", "LOAD", LIB_A]);
    ok(&mut conn, &["FUNCTION", "LOAD", LIB_B]);
    let payload = ok(&mut conn, &["FUNCTION", "DUMP"]);
    ok(&mut conn, &["FUNCTION", "FLUSH"]);
    ok(&mut conn, &["FUNCTION", "LOAD", LIB_C]);
    let Value::BulkString(payload) = payload else {
        panic!("{payload:?}")
    };
    run(&mut conn, &[b"FUNCTION", b"RESTORE", &payload]).unwrap();
    ok(&mut conn, &["FUNCTION", "DELETE", "liba"]);
    ok(&mut conn, &["FUNCTION", "LOAD", "REPLACE", LIB_B2]);
    // Failures change nothing and are not logged.
    assert!(run(&mut conn, &[b"FUNCTION", b"DELETE", b"nosuch"]).is_err());
    assert!(run(&mut conn, &[b"FUNCTION", b"LOAD", LIB_C.as_bytes()]).is_err());
    let want = expected(&[LIB_B2, LIB_C]);
    assert_eq!(libraries(&mut conn), want);
    drop(server);

    let incr = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .unwrap();
    let log = String::from_utf8_lossy(&std::fs::read(incr).unwrap()).into_owned();
    assert_eq!(log.matches("FUNCTION").count(), 7, "{log}");
    assert!(!log.contains("nosuch"));

    // Replayed at start; then a rewrite puts them in the base.
    let server = respd(&dir, &args);
    let mut conn = server.conn();
    assert_eq!(libraries(&mut conn), want);
    assert_eq!(fcall(&mut conn, "fb"), "b2");
    ok(&mut conn, &["BGREWRITEAOF"]);
    wait_for_rewrite(&mut conn);
    drop(server);
    let server = respd(&dir, &args);
    let mut conn = server.conn();
    assert_eq!(libraries(&mut conn), want);
    drop(server);
    // redis-server reads the same directory.
    if installed("redis-server") {
        let redis = redis_server(&dir, &["--appendonly", "yes"]);
        assert_eq!(libraries(&mut redis.conn()), want);
    }
}

/// Sends one command and reads its whole reply (a line, or a bulk string).
fn raw_reply(addr: std::net::SocketAddr, args: &[&[u8]]) -> Vec<u8> {
    let mut request = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        request.extend_from_slice(arg);
        request.extend_from_slice(b"\r\n");
    }
    let mut stream = common::raw(addr);
    stream.write_all(&request).unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        if let Some(end) = reply.windows(2).position(|w| w == b"\r\n") {
            if reply[0] != b'$' {
                return reply;
            }
            let len: i64 = std::str::from_utf8(&reply[1..end])
                .unwrap()
                .parse()
                .unwrap();
            if len < 0 || reply.len() >= end + 2 + len as usize + 2 {
                return reply;
            }
        }
        let n = std::io::Read::read(&mut stream, &mut buf).unwrap();
        assert!(n > 0, "connection closed mid-reply");
        reply.extend_from_slice(&buf[..n]);
    }
}

fn bulk_body(reply: &[u8]) -> Vec<u8> {
    let header_end = reply.windows(2).position(|w| w == b"\r\n").unwrap();
    let len: usize = std::str::from_utf8(&reply[1..header_end])
        .unwrap()
        .parse()
        .unwrap();
    reply[header_end + 2..header_end + 2 + len].to_vec()
}

fn library_entry(code: &str) -> Vec<u8> {
    let mut entry = vec![0xf5, 0x40 | (code.len() >> 8) as u8, code.len() as u8];
    entry.extend_from_slice(code.as_bytes());
    entry
}

#[test]
fn function_dump_and_restore_match_redis_both_ways() {
    let Some(real) = common::RealRedis::start() else {
        return;
    };
    let server = common::start();
    let addrs = [server.local_addr(), real.addr];
    let send = |i: usize, args: &[&[u8]]| raw_reply(addrs[i], args);
    // Without libraries, and with one too short for Redis to compress,
    // FUNCTION DUMP is the same bytes.
    for code in [
        None,
        Some("#!lua name=s\nredis.register_function('s', function() end)"),
    ] {
        let dumps = [0, 1].map(|i| {
            send(i, &[b"FUNCTION", b"FLUSH"]);
            if let Some(code) = code {
                let mut conn = common::redis(addrs[i]);
                ok(&mut conn, &["CONFIG", "SET", "rdbcompression", "no"]);
                ok(&mut conn, &["FUNCTION", "LOAD", code]);
            }
            send(i, &[b"FUNCTION", b"DUMP"])
        });
        assert_eq!(dumps[0], dumps[1]);
    }
    send(1, &[b"CONFIG", b"SET", b"rdbcompression", b"yes"]);
    send(1, &[b"FUNCTION", b"FLUSH"]);
    // Payloads of each server, and hand-made ones.
    for i in 0..2 {
        send(i, &[b"FUNCTION", b"LOAD", LIB_A.as_bytes()]);
        send(i, &[b"FUNCTION", b"LOAD", LIB_C.as_bytes()]);
        send(i, &[b"SET", b"str", b"value"]);
    }
    let dumps = [0, 1].map(|i| bulk_body(&send(i, &[b"FUNCTION", b"DUMP"])));
    let string_payload = bulk_body(&send(1, &[b"DUMP", b"str"]));
    let clash = "#!lua name=other\nredis.register_function('fa', function() return 0 end)";
    let mut two = library_entry(LIB_B);
    two.extend(library_entry(LIB_B));
    let mut damaged = dumps[1].clone();
    damaged[5] ^= 1;
    let policies: [&[u8]; 5] = [b"", b"APPEND", b"replace", b"FLUSH", b"bogus"];
    let payloads: Vec<Vec<u8>> = vec![
        dumps[0].clone(),
        dumps[1].clone(),
        common::forge_payload(&library_entry(LIB_B), 10),
        common::forge_payload(&library_entry(clash), 10),
        common::forge_payload(&two, 10),
        common::forge_payload(&library_entry("#!lua name=x\nreturn 1"), 10),
        common::forge_payload(&library_entry("#!lua name=x\nsyntax error here"), 10),
        common::forge_payload(b"", 10),
        common::forge_payload(b"\xf5\x7f", 10),
        string_payload,
        damaged,
        b"short".to_vec(),
    ];
    let mut cases = 0;
    let mut distinct = std::collections::BTreeSet::new();
    for payload in &payloads {
        for policy in policies {
            let replies = [0, 1].map(|i| {
                send(i, &[b"FUNCTION", b"FLUSH"]);
                send(i, &[b"FUNCTION", b"LOAD", LIB_A.as_bytes()]);
                let mut args: Vec<&[u8]> = vec![b"FUNCTION", b"RESTORE", payload];
                if !policy.is_empty() {
                    args.push(policy);
                }
                let reply = send(i, &args);
                let mut conn = common::redis(addrs[i]);
                (reply, libraries(&mut conn))
            });
            assert_eq!(
                replies[0],
                replies[1],
                "RESTORE {} {}",
                payload.escape_ascii(),
                policy.escape_ascii()
            );
            distinct.insert(replies[0].0.clone());
            cases += 1;
        }
    }
    let arity = [0, 1].map(|i| send(i, &[b"FUNCTION", b"RESTORE", &dumps[0], b"FLUSH", b"x"]));
    assert_eq!(arity[0], arity[1]);
    let arity = [0, 1].map(|i| send(i, &[b"FUNCTION", b"DUMP", b"x"]));
    assert_eq!(arity[0], arity[1]);
    // Successes and each kind of error were met.
    assert!(distinct.len() >= 8, "{distinct:?}");
    println!(
        "{} FUNCTION RESTORE cases identical to redis-server",
        cases + 2
    );
}

#[test]
fn keys_expire_by_the_script_start_time_while_it_runs() {
    // A key the script sets to expire in 50 ms is still there after the
    // script has busy-waited 120 ms by TIME (Redis 7.0's keyIsExpired uses
    // the script's start time), and gone for the next command.
    let script = "redis.call('SET', KEYS[1], 'v', 'PX', 50) \
        local function ms() local t = redis.call('TIME') return t[1] * 1000 + t[2] / 1000 end \
        local start = ms() \
        repeat until ms() > start + 120 \
        return {redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[1])}";
    let server = common::start();
    let real = common::RealRedis::start();
    let addrs = std::iter::once(server.local_addr()).chain(real.as_ref().map(|r| r.addr));
    for addr in addrs {
        let mut conn = common::redis(addr);
        let reply = ok(&mut conn, &["EVAL", script, "1", "k"]);
        let want = vec![Value::BulkString(b"v".to_vec()), Value::Int(1)];
        assert_eq!(reply, Value::Array(want), "{addr}");
        assert_eq!(ok(&mut conn, &["EXISTS", "k"]), Value::Int(0), "{addr}");
    }
}
