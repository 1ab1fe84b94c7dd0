//! SLOWLOG over real TCP: what is logged (and what is not), the trimming
//! and redaction of arguments, the settings that drive it, and the exact
//! bytes of its errors and HELP against a real Redis.

mod common;

use common::*;
use redis::Value;

/// One SLOWLOG GET entry, as redis-rs reads it.
struct Entry {
    id: i64,
    time: i64,
    micros: i64,
    args: Vec<String>,
    addr: String,
    name: String,
}

fn text(value: &Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

fn int(value: &Value) -> i64 {
    match value {
        Value::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn slowlog_get(con: &mut redis::Connection, count: Option<i64>) -> Vec<Entry> {
    let mut command = redis::cmd("SLOWLOG");
    command.arg("GET");
    if let Some(count) = count {
        command.arg(count);
    }
    let Value::Array(entries) = command.query::<Value>(con).unwrap() else {
        panic!("SLOWLOG GET is an array");
    };
    entries
        .iter()
        .map(|entry| {
            let Value::Array(fields) = entry else {
                panic!("an entry is an array");
            };
            assert_eq!(fields.len(), 6);
            let Value::Array(args) = &fields[3] else {
                panic!("arguments are an array");
            };
            Entry {
                id: int(&fields[0]),
                time: int(&fields[1]),
                micros: int(&fields[2]),
                args: args.iter().map(text).collect(),
                addr: text(&fields[4]),
                name: text(&fields[5]),
            }
        })
        .collect()
}

fn config_set(con: &mut redis::Connection, name: &str, value: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(con)
        .unwrap();
}

#[test]
fn logs_every_command_at_threshold_zero_newest_first() {
    let server = start();
    let mut con = redis(server.local_addr());
    config_set(&mut con, "slowlog-log-slower-than", "0");
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(&mut con).unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("logger")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let entries = slowlog_get(&mut con, None);
    // SET, CLIENT SETNAME, SLOWLOG RESET.
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].args, ["SET", "k", "v"]);
    assert_eq!(entries[1].args, ["CLIENT", "SETNAME", "logger"]);
    assert_eq!(entries[2].args, ["SLOWLOG", "RESET"]);
    assert!(entries[0].id > entries[1].id && entries[1].id > entries[2].id);
    assert_eq!(entries[0].name, "logger");
    assert_eq!(entries[2].name, "");
    assert!(entries[0].addr.starts_with("127.0.0.1:"));
    assert!(entries[0].micros >= 0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - entries[0].time).abs() < 60);
    let len: i64 = redis::cmd("SLOWLOG").arg("LEN").query(&mut con).unwrap();
    // The SLOWLOG GET itself joined the log.
    assert_eq!(len, 4);
    assert_eq!(slowlog_get(&mut con, Some(0)).len(), 0);
    assert_eq!(slowlog_get(&mut con, Some(2)).len(), 2);
    assert_eq!(slowlog_get(&mut con, Some(-1)).len(), 7);
}

#[test]
fn max_len_keeps_the_newest_and_negative_threshold_turns_it_off() {
    let server = start();
    let mut con = redis(server.local_addr());
    config_set(&mut con, "slowlog-log-slower-than", "0");
    config_set(&mut con, "slowlog-max-len", "10");
    for _ in 0..30 {
        let _: String = redis::cmd("PING").query(&mut con).unwrap();
    }
    let len: i64 = redis::cmd("SLOWLOG").arg("LEN").query(&mut con).unwrap();
    assert_eq!(len, 10);
    config_set(&mut con, "slowlog-max-len", "1");
    let len: i64 = redis::cmd("SLOWLOG").arg("LEN").query(&mut con).unwrap();
    assert_eq!(len, 1);
    config_set(&mut con, "slowlog-log-slower-than", "-1");
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(&mut con).unwrap();
    let _: String = redis::cmd("PING").query(&mut con).unwrap();
    let len: i64 = redis::cmd("SLOWLOG").arg("LEN").query(&mut con).unwrap();
    assert_eq!(len, 0);
    // A high threshold logs nothing fast.
    config_set(&mut con, "slowlog-log-slower-than", "10000000");
    let _: String = redis::cmd("PING").query(&mut con).unwrap();
    let len: i64 = redis::cmd("SLOWLOG").arg("LEN").query(&mut con).unwrap();
    assert_eq!(len, 0);
}

#[test]
fn arguments_are_trimmed_as_redis_trims_them() {
    let server = start();
    let mut con = redis(server.local_addr());
    config_set(&mut con, "slowlog-log-slower-than", "0");
    let members: Vec<String> = (3..=33).map(|n| n.to_string()).collect();
    let _: i64 = redis::cmd("SADD")
        .arg("set")
        .arg(&members)
        .query(&mut con)
        .unwrap();
    let long = "A".repeat(129);
    let _: i64 = redis::cmd("SADD")
        .arg("set")
        .arg("foo")
        .arg(&long)
        .query(&mut con)
        .unwrap();
    let entries = slowlog_get(&mut con, Some(2));
    let mut expected: Vec<String> = vec!["SADD".into(), "set".into()];
    expected.extend((3..=31).map(|n| n.to_string()));
    expected.push("... (2 more arguments)".into());
    assert_eq!(entries[1].args, expected);
    assert_eq!(
        entries[0].args,
        [
            "SADD".to_string(),
            "set".into(),
            "foo".into(),
            format!("{}... (1 more bytes)", "A".repeat(128))
        ]
    );
}

#[test]
fn secrets_are_redacted_and_exec_is_not_logged() {
    let server = start();
    let mut con = redis(server.local_addr());
    config_set(&mut con, "slowlog-log-slower-than", "0");
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(&mut con).unwrap();
    let _ = redis::cmd("AUTH").arg("secret").query::<Value>(&mut con);
    let _ = redis::cmd("AUTH")
        .arg("user")
        .arg("secret")
        .query::<Value>(&mut con);
    let _ = redis::cmd("HELLO")
        .arg("2")
        .arg("AUTH")
        .arg("default")
        .arg("secret")
        .query::<Value>(&mut con);
    config_set(&mut con, "masterauth", "");
    let _: () = redis::cmd("MULTI").query(&mut con).unwrap();
    let _: String = redis::cmd("PING").query(&mut con).unwrap();
    let _: Value = redis::cmd("EXEC").query(&mut con).unwrap();
    let entries = slowlog_get(&mut con, Some(-1));
    let args: Vec<Vec<String>> = entries.into_iter().map(|e| e.args).collect();
    let strings = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    assert_eq!(
        args,
        vec![
            strings(&["PING"]),
            strings(&["MULTI"]),
            strings(&["CONFIG", "SET", "masterauth", "(redacted)"]),
            strings(&["HELLO", "2", "AUTH", "(redacted)", "(redacted)"]),
            strings(&["AUTH", "(redacted)", "(redacted)"]),
            strings(&["AUTH", "(redacted)"]),
            strings(&["SLOWLOG", "RESET"]),
        ]
    );
}

#[test]
fn migrate_auth_is_redacted() {
    let server = start();
    let mut con = redis(server.local_addr());
    config_set(&mut con, "slowlog-log-slower-than", "0");
    let port = server.local_addr().port().to_string();
    let _ = redis::cmd("MIGRATE")
        .arg("127.0.0.1")
        .arg(&port)
        .arg("key")
        .arg("9")
        .arg("5000")
        .arg("AUTH2")
        .arg("user")
        .arg("password")
        .query::<Value>(&mut con);
    let entry = &slowlog_get(&mut con, Some(1))[0];
    assert_eq!(
        entry.args[5..],
        ["5000", "AUTH2", "(redacted)", "(redacted)"]
    );
}

#[test]
fn errors_and_help_match_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    for request in [
        cmd(&["SLOWLOG", "GET", "-2"]),
        cmd(&["SLOWLOG", "GET", "abc"]),
        cmd(&["SLOWLOG", "GET", "1", "2"]),
        cmd(&["SLOWLOG", "LEN", "x"]),
        cmd(&["SLOWLOG", "RESET", "x"]),
        cmd(&["SLOWLOG", "NOPE"]),
        cmd(&["SLOWLOG"]),
        cmd(&["SLOWLOG", "HELP"]),
        cmd(&["SLOWLOG", "RESET"]),
    ] {
        let (mine, theirs) = both(server.local_addr(), real.addr, &[], &request);
        assert_eq!(
            String::from_utf8_lossy(&mine),
            String::from_utf8_lossy(&theirs),
            "request {:?}",
            String::from_utf8_lossy(&request)
        );
    }
}

#[cfg(feature = "scripting")]
#[test]
fn a_script_s_calls_are_logged_as_the_lua_client() {
    let server = start();
    let mut con = redis(server.local_addr());
    config_set(&mut con, "slowlog-log-slower-than", "0");
    let _: () = redis::cmd("EVAL")
        .arg("redis.call('set','x','y')")
        .arg(0)
        .query(&mut con)
        .unwrap();
    let entries = slowlog_get(&mut con, Some(2));
    assert_eq!(entries[0].args, ["EVAL", "redis.call('set','x','y')", "0"]);
    assert!(entries[0].addr.starts_with("127.0.0.1:"));
    assert_eq!(entries[1].args, ["set", "x", "y"]);
    assert_eq!(entries[1].addr, "?:0");
    assert_eq!(entries[1].name, "");
}
