//! INFO, COMMAND, CONFIG, TIME, LASTSAVE, DBSIZE and SHUTDOWN over real TCP,
//! byte for byte, and against a real Redis where the replies are
//! deterministic.

mod common;

use common::*;

const HELLO3: &[u8] = b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n";

/// Sends one command and reads everything until the server goes quiet.
fn ask(addr: std::net::SocketAddr, setup: &[&[u8]], request: &[u8]) -> Vec<u8> {
    let (mine, _) = both(addr, addr, setup, request);
    mine
}

/// Asserts that respd and a real Redis answer `request` (after `setup`) with
/// the same bytes. Skips when redis-server is not installed.
fn same_as_redis(setup: &[&[u8]], request: &[u8]) {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let (mine, theirs) = both(server.local_addr(), real.addr, setup, request);
    assert_eq!(
        String::from_utf8_lossy(&mine),
        String::from_utf8_lossy(&theirs),
        "request {:?}",
        String::from_utf8_lossy(request)
    );
}

/// Sends HELLO 3 and reads its whole reply.
fn switch_to_resp3(s: &mut std::net::TcpStream) {
    use std::io::Write;
    s.write_all(HELLO3).unwrap();
    let mut got = Vec::new();
    while !got.ends_with(b"$7\r\nmodules\r\n*0\r\n") {
        let more = read_n(s, 1);
        assert!(!more.is_empty(), "HELLO reply cut short: {}", text(&got));
        got.extend(more);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn info_is_a_bulk_string_in_resp2_and_verbatim_in_resp3() {
    let server = start();
    let two = text(&ask(server.local_addr(), &[], &cmd(&["INFO", "server"])));
    assert!(two.starts_with("$"), "{two}");
    assert!(
        two.contains("\r\n# Server\r\nredis_version:7.0.15\r\n"),
        "{two}"
    );
    let three = text(&ask(
        server.local_addr(),
        &[HELLO3],
        &cmd(&["INFO", "server"]),
    ));
    assert!(three.starts_with("="), "{three}");
    assert!(three.contains("\r\ntxt:# Server\r\n"), "{three}");
}

#[test]
fn info_default_has_the_fields_tools_read() {
    let server = start();
    let mut con = redis(server.local_addr());
    let info: String = redis::cmd("INFO").query(&mut con).unwrap();
    for field in [
        "redis_version:7.0.15",
        "respd_version:",
        "redis_mode:standalone",
        "os:",
        "arch_bits:",
        "process_id:",
        &format!("tcp_port:{}", server.local_addr().port()),
        "uptime_in_seconds:",
        "uptime_in_days:0",
        "executable:",
        "config_file:",
        "connected_clients:1",
        "maxclients:10000",
        "blocked_clients:0",
        "used_memory:",
        "used_memory_human:",
        "used_memory_rss:",
        "maxmemory:0",
        "maxmemory_policy:noeviction",
        "loading:0",
        "rdb_changes_since_last_save:",
        "rdb_bgsave_in_progress:0",
        "aof_enabled:0",
        "total_connections_received:",
        "total_commands_processed:",
        "rejected_connections:0",
        "expired_keys:0",
        "keyspace_hits:",
        "keyspace_misses:",
        "role:master",
        "connected_slaves:0",
        "used_cpu_sys:",
        "cluster_enabled:0",
    ] {
        assert!(info.contains(&format!("\r\n{field}")), "missing {field}");
    }
    let sections: Vec<&str> = info.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        sections,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace"
        ]
    );
    let everything: String = redis::cmd("INFO")
        .arg("everything")
        .query(&mut con)
        .unwrap();
    assert!(everything.contains("# Commandstats\r\n"));
    assert!(!info.contains("# Commandstats"));
}

#[test]
fn info_keyspace_lists_non_empty_databases_only() {
    let server = start();
    let mut con = redis(server.local_addr());
    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut con).unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let _: () = redis::cmd("SET").arg("b").arg("1").query(&mut con).unwrap();
    let info: String = redis::cmd("INFO").arg("KEYSPACE").query(&mut con).unwrap();
    assert_eq!(
        info,
        "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n"
    );
}

#[test]
fn info_matches_redis_for_section_selection() {
    let set = cmd(&["SET", "k", "v"]);
    same_as_redis(&[&set], &cmd(&["INFO", "keyspace"]));
    same_as_redis(&[&set], &cmd(&["INFO", "cluster", "keyspace"]));
    same_as_redis(&[], &cmd(&["INFO", "nosuchsection"]));
    same_as_redis(&[], &cmd(&["INFO", "modules"]));
    same_as_redis(&[HELLO3, &set], &cmd(&["INFO", "keyspace"]));
}

#[test]
fn command_info_matches_redis() {
    same_as_redis(&[], &cmd(&["COMMAND", "INFO", "get"]));
    same_as_redis(&[], &cmd(&["COMMAND", "INFO", "ping", "nosuch", "dbsize"]));
    same_as_redis(&[], &cmd(&["COMMAND", "INFO", "config|get"]));
    same_as_redis(&[HELLO3], &cmd(&["COMMAND", "INFO", "get", "ping"]));
    same_as_redis(&[HELLO3], &cmd(&["COMMAND", "INFO", "nosuch"]));
}

#[test]
fn command_errors_match_redis() {
    for request in [
        cmd(&["COMMAND", "GETKEYS", "get", "a"]),
        cmd(&["COMMAND", "GETKEYS", "nosuch", "a"]),
        cmd(&["COMMAND", "GETKEYS", "get", "a", "b"]),
        cmd(&["COMMAND", "GETKEYS", "ping", "a"]),
        cmd(&["COMMAND", "GETKEYS", "get"]),
        cmd(&["COMMAND", "GETKEYS", "client", "kill"]),
        cmd(&["COMMAND", "GETKEYS", "client", "nosuch"]),
        cmd(&["COMMAND", "GETKEYS", "xinfo", "stream"]),
        cmd(&["COMMAND", "GETKEYS", "XINFO", "STREAM", "s"]),
        cmd(&["COMMAND", "GETKEYS", "config", "get", "x", "y"]),
        cmd(&["COMMAND", "COUNT", "x"]),
        cmd(&["COMMAND", "LIST", "x"]),
        cmd(&["COMMAND", "LIST", "FILTERBY", "nosuch", "x"]),
        cmd(&["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]),
        cmd(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "pin*"]),
        cmd(&["COMMAND", "DOCS", "nosuch"]),
        cmd(&["COMMAND", "NOSUCH"]),
        cmd(&["COMMAND", "HELP"]),
    ] {
        same_as_redis(&[], &request);
    }
}

#[test]
fn command_lists_every_command_with_ten_fields() {
    let server = start();
    let mut con = redis(server.local_addr());
    let count: usize = redis::cmd("COMMAND").arg("COUNT").query(&mut con).unwrap();
    assert_eq!(count, respd::commands::table().len());
    let all: Vec<redis::Value> = redis::cmd("COMMAND").query(&mut con).unwrap();
    assert_eq!(all.len(), count);
    for entry in &all {
        let redis::Value::Array(fields) = entry else {
            panic!("{entry:?}")
        };
        assert_eq!(fields.len(), 10);
    }
    let names: Vec<String> = redis::cmd("COMMAND").arg("LIST").query(&mut con).unwrap();
    assert!(names.contains(&"config|get".to_string()));
    assert!(names.contains(&"client|kill".to_string()));
    let keys: Vec<String> = redis::cmd("COMMAND")
        .arg("GETKEYS")
        .arg("set")
        .arg("k")
        .arg("v")
        .query(&mut con)
        .unwrap();
    assert_eq!(keys, ["k"]);
    let connection: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("ACLCAT")
        .arg("connection")
        .query(&mut con)
        .unwrap();
    assert!(connection.contains(&"ping".to_string()) && !connection.contains(&"get".to_string()));
}

#[test]
fn command_docs_is_a_map() {
    let server = start();
    let mut s = raw(server.local_addr());
    let get_docs =
        "$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n\
        $5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n";
    let key_arg =
        "$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n";
    assert_reply(
        &mut s,
        &cmd(&["COMMAND", "DOCS", "get"]),
        format!("*2\r\n$3\r\nget\r\n*10\r\n{get_docs}*1\r\n*6\r\n{key_arg}").as_bytes(),
    );
    switch_to_resp3(&mut s);
    assert_reply(
        &mut s,
        &cmd(&["COMMAND", "DOCS", "get"]),
        format!("%1\r\n$3\r\nget\r\n%5\r\n{get_docs}*1\r\n%3\r\n{key_arg}").as_bytes(),
    );
}

#[test]
fn config_errors_match_redis() {
    for request in [
        cmd(&["CONFIG", "SET", "foo", "bar"]),
        cmd(&["CONFIG", "SET", "maxclients", "abc"]),
        cmd(&["CONFIG", "SET", "MAXCLIENTS", "0"]),
        cmd(&["CONFIG", "SET", "maxclients", "10", "timeout"]),
        cmd(&["CONFIG", "SET", "timeout", "-1"]),
        cmd(&["CONFIG", "SET", "databases", "3"]),
        cmd(&["CONFIG", "SET", "timeout", "5", "TIMEOUT", "6"]),
        cmd(&["CONFIG", "SET", "timeout", "5", "foo", "6"]),
        cmd(&["CONFIG", "SET", "loglevel", "loud"]),
        cmd(&["CONFIG", "SET", "appendonly", "maybe"]),
        cmd(&["CONFIG", "SET", "proto-max-bulk-len", "10"]),
        cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "1x"]),
        cmd(&["CONFIG", "SET", "save", "1 2 3"]),
        cmd(&["CONFIG", "SET", "dir", "/tmp"]),
        cmd(&["CONFIG", "SET", "timeout"]),
        cmd(&["CONFIG", "GET"]),
        cmd(&["CONFIG", "REWRITE"]),
        cmd(&["CONFIG", "HELP"]),
        cmd(&["CONFIG", "NOSUCH"]),
    ] {
        same_as_redis(&[], &request);
    }
}

#[test]
fn config_set_changes_values_together_and_get_reads_them() {
    let set = cmd(&[
        "CONFIG", "SET", "timeout", "7", "hz", "1000", "loglevel", "WARNING",
    ]);
    let get = cmd(&["CONFIG", "GET", "timeout", "hz", "loglevel"]);
    let server = start();
    let mut s = raw(server.local_addr());
    assert_reply(&mut s, &set, b"+OK\r\n");
    assert_reply(
        &mut s,
        &cmd(&["CONFIG", "GET", "timeout"]),
        b"*2\r\n$7\r\ntimeout\r\n$1\r\n7\r\n",
    );
    // hz is clamped to 500, as Redis does; a failed SET changes nothing.
    assert_reply(
        &mut s,
        &cmd(&["CONFIG", "SET", "timeout", "9", "maxclients", "x"]),
        b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer\r\n",
    );
    switch_to_resp3(&mut s);
    assert_reply(
        &mut s,
        &get,
        b"%3\r\n$7\r\ntimeout\r\n$1\r\n7\r\n$2\r\nhz\r\n$3\r\n500\r\n$8\r\nloglevel\r\n$7\r\nwarning\r\n",
    );
    let mut con = redis(server.local_addr());
    let pairs: Vec<(String, String)> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("max*")
        .query(&mut con)
        .unwrap();
    assert!(pairs.contains(&("maxclients".into(), "10000".into())));
    assert!(pairs.contains(&("maxmemory-policy".into(), "noeviction".into())));
}

#[test]
fn config_set_takes_effect_at_once() {
    let server = start();
    let mut admin = raw(server.local_addr());
    assert_reply(
        &mut admin,
        &cmd(&["CONFIG", "SET", "requirepass", "pw"]),
        b"+OK\r\n",
    );
    // The admin connection stays authenticated, as in Redis; new ones are not.
    assert_reply(&mut admin, &cmd(&["PING"]), b"+PONG\r\n");
    let mut other = common::raw_anonymous(server.local_addr());
    assert_reply(
        &mut other,
        &cmd(&["PING"]),
        b"-NOAUTH Authentication required.\r\n",
    );
    // (The test user's login does not depend on requirepass.)
    let login = common::auth_request().unwrap_or_else(|| cmd(&["AUTH", "pw"]));
    assert_reply(&mut other, &login, b"+OK\r\n");
    assert_reply(
        &mut admin,
        &cmd(&["CONFIG", "SET", "maxclients", "2"]),
        b"+OK\r\n",
    );
    let mut third = common::raw_anonymous(server.local_addr());
    assert_eq!(
        text(&read_n(&mut third, 36)),
        "-ERR max number of clients reached\r\n"
    );
}

#[test]
fn config_resetstat_zeroes_the_counters() {
    let server = start();
    let mut con = redis(server.local_addr());
    for _ in 0..5 {
        let _: String = redis::cmd("PING").query(&mut con).unwrap();
    }
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    let info: String = redis::cmd("INFO").arg("stats").query(&mut con).unwrap();
    // RESETSTAT itself is counted after the reset, as in Redis.
    assert!(
        info.contains("\r\ntotal_commands_processed:1\r\n"),
        "{info}"
    );
    assert!(
        info.contains("\r\ntotal_connections_received:0\r\n"),
        "{info}"
    );
}

#[test]
fn time_lastsave_and_dbsize() {
    let server = start();
    let mut con = redis(server.local_addr());
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query(&mut con).unwrap();
    let now = respd::util::now_ms() / 1000;
    assert!(secs.abs_diff(now) <= 5 && micros < 1_000_000);
    let lastsave: u64 = redis::cmd("LASTSAVE").query(&mut con).unwrap();
    assert!(lastsave <= secs && secs - lastsave < 600);
    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut con).unwrap();
    let size: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 1);
    same_as_redis(&[], &cmd(&["TIME", "x"]));
    same_as_redis(&[], &cmd(&["DBSIZE"]));
}

#[test]
fn shutdown_errors_match_redis() {
    for request in [
        cmd(&["SHUTDOWN", "ABORT"]),
        cmd(&["SHUTDOWN", "NOSUCH"]),
        cmd(&["SHUTDOWN", "SAVE", "NOSAVE"]),
        cmd(&["SHUTDOWN", "ABORT", "NOW"]),
    ] {
        same_as_redis(&[], &request);
    }
}

#[test]
fn shutdown_closes_without_a_reply_and_stops_the_server() {
    let mut server = start();
    let addr = server.local_addr();
    let mut bystander = raw(addr);
    assert_reply(&mut bystander, &cmd(&["PING"]), b"+PONG\r\n");
    let mut s = raw(addr);
    let got = exchange(&mut s, &cmd(&["SHUTDOWN", "NOSAVE"]), 1);
    assert_eq!(got, b"");
    assert!(is_closed(&mut bystander));
    server.shutdown();
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn config_get_dir_is_the_absolute_working_directory_as_redis_reports_it() {
    let server = start();
    let mut s = raw(server.local_addr());
    let cwd = std::env::current_dir().unwrap();
    let cwd = cwd.to_str().unwrap();
    let expected = format!("*2\r\n$3\r\ndir\r\n${}\r\n{}\r\n", cwd.len(), cwd);
    assert_reply(&mut s, &cmd(&["CONFIG", "GET", "dir"]), expected.as_bytes());
}

/// MEMORY USAGE: Redis's errors and null; for present keys an estimate
/// (respd counts no allocations), positive and growing with the value.
#[test]
fn memory_usage_errors_match_redis_and_sizes_grow() {
    let setup: &[&[u8]] = &[&cmd(&["SET", "foo", "bar"])];
    for request in [
        cmd(&["MEMORY", "USAGE", "nokey"]),
        cmd(&["MEMORY", "USAGE", "foo", "SAMPLES", "x"]),
        cmd(&["MEMORY", "USAGE", "foo", "SAMPLES", "-1"]),
        cmd(&["MEMORY", "USAGE", "foo", "SAMPLES"]),
        cmd(&["MEMORY", "USAGE", "foo", "bogus"]),
        cmd(&["MEMORY", "USAGE"]),
        cmd(&["MEMORY", "bogus"]),
        cmd(&["MEMORY", "HELP", "x"]),
        cmd(&["COMMAND", "GETKEYS", "MEMORY", "USAGE", "foo"]),
    ] {
        same_as_redis(setup, &request);
    }
    let server = start();
    let mut con = redis(server.local_addr());
    let big = "x".repeat(1000);
    let items: Vec<String> = (0..1000).map(|i| format!("item:{i}")).collect();
    let _: () = redis::pipe()
        .cmd("SET")
        .arg("small")
        .arg("v")
        .ignore()
        .cmd("SET")
        .arg("big")
        .arg(&big)
        .ignore()
        .cmd("RPUSH")
        .arg("list")
        .arg(&items[..10])
        .ignore()
        .cmd("RPUSH")
        .arg("longlist")
        .arg(&items)
        .ignore()
        .cmd("HSET")
        .arg("hash")
        .arg("f")
        .arg("v")
        .ignore()
        .cmd("SADD")
        .arg("set")
        .arg(&items)
        .ignore()
        .cmd("ZADD")
        .arg("zset")
        .arg(1)
        .arg("m")
        .ignore()
        .cmd("XADD")
        .arg("stream")
        .arg("*")
        .arg("f")
        .arg("v")
        .ignore()
        .query(&mut con)
        .unwrap();
    let usage = |con: &mut redis::Connection, key: &str, samples: i64| -> i64 {
        redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(samples)
            .query(con)
            .unwrap()
    };
    for key in [
        "small", "big", "list", "longlist", "hash", "set", "zset", "stream",
    ] {
        assert!(usage(&mut con, key, 5) > key.len() as i64, "{key}");
    }
    assert!(usage(&mut con, "big", 5) > usage(&mut con, "small", 5) + 900);
    assert!(usage(&mut con, "longlist", 0) > usage(&mut con, "list", 0) * 50);
}

/// DEBUG PROTOCOL, which client libraries test their parsers with: every
/// type, in RESP3 and RESP2, the same bytes as redis-server's.
#[test]
fn debug_protocol_replies_as_redis() {
    if !common::process::installed("redis-server") {
        return;
    }
    let redis = common::process::spawn(
        "redis-server",
        &["--save", "", "--enable-debug-command", "yes"],
    );
    let server = start_with("enable-debug-command yes");
    let kinds = [
        "string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push",
        "verbatim", "true", "false", "nope",
    ];
    // All of them in one pipeline, after HELLO 3 and after HELLO 2.
    let request: Vec<u8> = kinds
        .iter()
        .flat_map(|kind| cmd(&["DEBUG", "PROTOCOL", kind]))
        .collect();
    for hello in [&cmd(&["HELLO", "3"])[..], &cmd(&["HELLO", "2"])[..]] {
        let (mine, theirs) = both(server.local_addr(), redis.addr, &[hello], &request);
        assert!(mine.ends_with(b"-ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false\r\n"));
        assert_eq!(
            String::from_utf8_lossy(&mine),
            String::from_utf8_lossy(&theirs)
        );
    }
    // DEBUG ERROR: the error as given, line breaks made spaces, and not
    // counted as an error reply.
    let request: Vec<u8> = [
        cmd(&["CONFIG", "RESETSTAT"]),
        cmd(&["DEBUG", "ERROR", "WRONGTYPE made\r\nup"]),
        cmd(&["DEBUG", "ERROR", "x"]),
        cmd(&["INFO", "errorstats"]),
    ]
    .concat();
    let (mine, theirs) = both(server.local_addr(), redis.addr, &[], &request);
    assert!(mine.starts_with(b"+OK\r\n-WRONGTYPE made  up\r\n-x\r\n"));
    assert_eq!(
        String::from_utf8_lossy(&mine),
        String::from_utf8_lossy(&theirs)
    );
}

/// DEBUG OBJECT: Redis's fields, in its order; the encoding, refcount and
/// serialized length as Redis's for strings; no such key is an error.
#[test]
fn debug_object_describes_the_value() {
    let server = start_with("enable-debug-command yes");
    let mut s = raw(server.local_addr());
    assert_reply(&mut s, &cmd(&["SET", "foo", "bar"]), b"+OK\r\n");
    assert_reply(&mut s, &cmd(&["SET", "n", "20000"]), b"+OK\r\n");
    let describe = |s: &mut std::net::TcpStream, key: &str| -> String {
        let reply = read_until_quiet_after(s, &cmd(&["DEBUG", "OBJECT", key]));
        String::from_utf8_lossy(&reply).into_owned()
    };
    let line = describe(&mut s, "foo");
    let fields: Vec<&str> = line
        .trim_start_matches('+')
        .trim_end()
        .split(' ')
        .map(|f| f.split(':').next().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "Value",
            "at",
            "refcount",
            "encoding",
            "serializedlength",
            "lru",
            "lru_seconds_idle"
        ]
    );
    assert!(
        line.contains(" refcount:1 encoding:embstr serializedlength:4 "),
        "{line}"
    );
    // INCR changes the integer in place: the same address (Redis's test).
    assert_reply(&mut s, &cmd(&["INCR", "n"]), b":20001\r\n");
    let before = describe(&mut s, "n");
    assert_reply(&mut s, &cmd(&["INCR", "n"]), b":20002\r\n");
    let after = describe(&mut s, "n");
    let address = |line: &str| line.split(' ').nth(1).map(str::to_string);
    assert!(address(&before).is_some_and(|a| a.starts_with("at:0x")));
    assert_eq!(address(&before), address(&after));
    assert!(
        after.contains("encoding:int serializedlength:3 "),
        "{after}"
    );
    assert_eq!(describe(&mut s, "nokey"), "-ERR no such key\r\n");
}

fn read_until_quiet_after(s: &mut std::net::TcpStream, request: &[u8]) -> Vec<u8> {
    use std::io::Write;
    s.write_all(request).unwrap();
    read_until_quiet(s, std::time::Duration::from_millis(100))
}
