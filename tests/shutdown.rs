//! Stopping like redis-server: SIGTERM and SIGINT run the same shutdown as
//! SHUTDOWN (save when save points are set, fsync the AOF, remove the
//! pidfile, log Redis's lines, exit 0), a failed save keeps the server
//! running, a second SIGINT exits at once, SIGHUP does not stop it.
//! Real processes only: signals go to the whole process.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::process::{self, run, temp_dir, Process};
use redis::Value;

fn signal(server: &Process, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The exit code, once the process exits by itself (bounded wait).
fn exit_code(server: &mut Process) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status.code();
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("the server did not exit");
}

/// Polls the log until it holds `line` (bounded wait), returns the log.
fn wait_for_log(log: &Path, line: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(line) {
            return text;
        }
        assert!(Instant::now() < deadline, "no {line:?} in the log:\n{text}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that `lines` appear in the log in this order.
fn assert_in_order(log: &str, lines: &[&str]) {
    let mut from = 0;
    for line in lines {
        match log[from..].find(line) {
            Some(at) => from += at + line.len(),
            None => panic!("{line:?} missing or out of order in:\n{log}"),
        }
    }
}

/// Keys of every type (and one with a TTL); returns their names.
fn write_every_type(conn: &mut redis::Connection) -> Vec<&'static str> {
    run(conn, &["SET", "string", "hello"]);
    run(conn, &["SET", "ttl", "soon", "EX", "1000"]);
    run(conn, &["RPUSH", "list", "a", "b", "c"]);
    run(conn, &["HSET", "hash", "f1", "v1", "f2", "v2"]);
    run(conn, &["SADD", "set", "x", "y", "z"]);
    run(conn, &["SADD", "intset", "1", "2", "3"]);
    run(conn, &["ZADD", "zset", "1", "one", "2.5", "two"]);
    run(conn, &["XADD", "stream", "1-1", "field", "value"]);
    run(conn, &["SETBIT", "bits", "100", "1"]);
    vec![
        "string", "ttl", "list", "hash", "set", "intset", "zset", "stream", "bits",
    ]
}

/// Every key's DUMP (a hashed set's members sorted instead: their order
/// may change with a reload).
fn dumps(conn: &mut redis::Connection, keys: &[&str]) -> Vec<Value> {
    keys.iter()
        .map(|&k| match k {
            "set" => match run(conn, &["SMEMBERS", k]) {
                Value::Array(mut members) | Value::Set(mut members) => {
                    members.sort_by_key(|m| format!("{m:?}"));
                    Value::Array(members)
                }
                other => other,
            },
            _ => run(conn, &["DUMP", k]),
        })
        .collect()
}

/// Save points set, keys written, `signal` sent: exit 0, Redis's lines in
/// Redis's order, the pidfile gone, and every key back after a restart.
fn signal_saves_and_exits(name: &str) {
    let dir = temp_dir("shutdown", name);
    let log = dir.join("respd.log");
    let pidfile = dir.join("respd.pid");
    let args = [
        "--save",
        "3600 1",
        "--logfile",
        log.to_str().unwrap(),
        "--pidfile",
        pidfile.to_str().unwrap(),
    ];
    let mut server = process::respd(&dir, &args);
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap(),
        format!("{}\n", server.child.id())
    );
    let mut conn = server.conn();
    let keys = write_every_type(&mut conn);
    let before = dumps(&mut conn, &keys);
    signal(&server, name);
    assert_eq!(exit_code(&mut server), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert_in_order(
        &text,
        &[
            "signal-handler (",
            &format!(") Received SIG{name} scheduling shutdown..."),
            "# User requested shutdown...",
            "* Saving the final RDB snapshot before exiting.",
            "* DB saved on disk",
            "* Removing the pid file.",
            "# Redis is now ready to exit, bye bye...",
        ],
    );
    assert!(!pidfile.exists());
    drop(server);
    let server = process::respd(&dir, &args);
    let mut conn = server.conn();
    assert_eq!(dumps(&mut conn, &keys), before);
    let ttl = run(&mut conn, &["TTL", "ttl"]);
    assert!(matches!(ttl, Value::Int(t) if t > 900), "{ttl:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_saves_and_exits_zero() {
    signal_saves_and_exits("TERM");
}

#[test]
fn sigint_saves_and_exits_zero() {
    signal_saves_and_exits("INT");
}

#[test]
fn sigterm_under_write_load_keeps_every_acknowledged_write_in_the_aof() {
    let dir = temp_dir("shutdown", "aof-load");
    let log = dir.join("respd.log");
    let args = [
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--logfile",
        log.to_str().unwrap(),
    ];
    let mut server = process::respd(&dir, &args);
    let stop = Arc::new(AtomicBool::new(false));
    // Each writer counts its own key up and remembers the last value the
    // server acknowledged.
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let mut conn = server.conn();
            conn.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let stop = stop.clone();
            thread::spawn(move || {
                let key = format!("counter:{i}");
                let mut acknowledged = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    match redis::cmd("INCR").arg(&key).query::<i64>(&mut conn) {
                        Ok(value) => {
                            assert_eq!(value, acknowledged + 1);
                            acknowledged = value;
                        }
                        Err(_) => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    // Let the load run until every writer has been answered many times.
    let mut probe = server.conn();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counts: Vec<i64> = (0..4)
            .map(|i| {
                redis::cmd("GET")
                    .arg(format!("counter:{i}"))
                    .query::<Option<i64>>(&mut probe)
                    .unwrap()
                    .unwrap_or(0)
            })
            .collect();
        if counts.iter().all(|&c| c >= 200) {
            break;
        }
        assert!(Instant::now() < deadline, "the writers did not get going");
        thread::sleep(Duration::from_millis(10));
    }
    signal(&server, "TERM");
    assert_eq!(exit_code(&mut server), Some(0));
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<i64> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_in_order(
        &text,
        &[
            "Received SIGTERM scheduling shutdown...",
            "# User requested shutdown...",
            "* Calling fsync() on the AOF file.",
            "# Redis is now ready to exit, bye bye...",
        ],
    );
    assert!(!text.contains("Saving the final RDB snapshot"));
    drop(server);
    let server = process::respd(&dir, &args);
    let mut conn = server.conn();
    for (i, acked) in acknowledged.iter().enumerate() {
        let kept: i64 = redis::cmd("GET")
            .arg(format!("counter:{i}"))
            .query(&mut conn)
            .unwrap();
        // The command in flight may have run without its reply getting out.
        assert!(
            kept == *acked || kept == acked + 1,
            "counter:{i}: {kept} kept, {acked} acknowledged"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_save_keeps_the_server_running() {
    let dir = temp_dir("shutdown", "failed-save");
    let log_dir = temp_dir("shutdown", "failed-save-log");
    let log = log_dir.join("respd.log");
    let pidfile = log_dir.join("respd.pid");
    let args = [
        "--save",
        "3600 1",
        "--logfile",
        log.to_str().unwrap(),
        "--pidfile",
        pidfile.to_str().unwrap(),
    ];
    let mut server = process::respd(&dir, &args);
    let mut conn = server.conn();
    run(&mut conn, &["SET", "k", "v"]);
    // A directory where the dump goes: the save's rename fails, even for
    // root (CI), where a read-only directory would not stop it.
    std::fs::create_dir(dir.join("dump.rdb")).unwrap();
    std::fs::write(dir.join("dump.rdb").join("keep"), b"x").unwrap();
    signal(&server, "TERM");
    let text = wait_for_log(
        &log,
        "Errors trying to shut down the server. Check the logs for more information.",
    );
    assert_in_order(
        &text,
        &[
            "Received SIGTERM scheduling shutdown...",
            "# User requested shutdown...",
            "* Saving the final RDB snapshot before exiting.",
            "# Error trying to save the DB, can't exit.",
            "# Errors trying to shut down the server.",
        ],
    );
    assert!(!text.contains("bye bye"));
    // Still serving, writes included, and the pidfile is still there.
    assert_eq!(run(&mut conn, &["SET", "k2", "v2"]), Value::Okay);
    assert_eq!(
        run(&mut conn, &["GET", "k"]),
        Value::BulkString(b"v".to_vec())
    );
    assert!(server.child.try_wait().unwrap().is_none());
    assert!(pidfile.exists());
    // SHUTDOWN says so too, as Redis does.
    assert_eq!(
        process::run_err(&mut conn, &["SHUTDOWN"]),
        "ERR Errors trying to SHUTDOWN. Check logs."
    );
    // Once the dump can be written, the next SIGTERM stops it.
    std::fs::remove_dir_all(dir.join("dump.rdb")).unwrap();
    signal(&server, "TERM");
    assert_eq!(exit_code(&mut server), Some(0));
    assert!(!pidfile.exists());
    drop(server);
    let server = process::respd(&dir, &args);
    let mut conn = server.conn();
    assert_eq!(
        run(&mut conn, &["GET", "k2"]),
        Value::BulkString(b"v2".to_vec())
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&log_dir);
}

#[test]
fn a_second_sigint_exits_at_once() {
    let dir = temp_dir("shutdown", "insist");
    let log = dir.join("respd.log");
    let args = [
        "--save",
        "3600 1",
        "--enable-debug-command",
        "yes",
        "--logfile",
        log.to_str().unwrap(),
    ];
    let mut server = process::respd(&dir, &args);
    let mut conn = server.conn();
    run(&mut conn, &["SET", "k", "v"]);
    // A command in flight that the shutdown waits for.
    let addr = server.addr;
    let sleeper = thread::spawn(move || {
        let mut conn = redis::Client::open(common::url(addr))
            .unwrap()
            .get_connection()
            .unwrap();
        let _ = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg("30")
            .query::<Value>(&mut conn);
    });
    // Wait until the sleep runs (CLIENT LIST shows it).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut conn).unwrap();
        if list.contains("cmd=debug") {
            break;
        }
        assert!(Instant::now() < deadline, "DEBUG SLEEP did not start");
        thread::sleep(Duration::from_millis(10));
    }
    signal(&server, "INT");
    wait_for_log(&log, "User requested shutdown...");
    signal(&server, "INT");
    // Redis exits with 1: not a clean shutdown.
    assert_eq!(exit_code(&mut server), Some(1));
    let text = std::fs::read_to_string(&log).unwrap();
    assert_in_order(
        &text,
        &[
            "Received SIGINT scheduling shutdown...",
            "# User requested shutdown...",
            "You insist... exiting now.",
        ],
    );
    assert!(!text.contains("DB saved on disk"));
    let _ = sleeper.join();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_on_sigterm_and_sigint_choose_the_save() {
    // nosave: save points set, yet no dump.
    let dir = temp_dir("shutdown", "nosave");
    let mut server = process::respd(
        &dir,
        &["--save", "3600 1", "--shutdown-on-sigterm", "nosave"],
    );
    run(&mut server.conn(), &["SET", "k", "v"]);
    signal(&server, "TERM");
    assert_eq!(exit_code(&mut server), Some(0));
    assert!(!dir.join("dump.rdb").exists());
    // save: no save points, yet a dump; set at run time.
    let mut server = process::respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    run(&mut conn, &["SET", "k", "v"]);
    run(&mut conn, &["CONFIG", "SET", "shutdown-on-sigint", "save"]);
    signal(&server, "INT");
    assert_eq!(exit_code(&mut server), Some(0));
    assert!(dir.join("dump.rdb").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sighup_and_sigpipe_do_not_stop_the_server() {
    let dir = temp_dir("shutdown", "hup");
    let mut server = process::respd(&dir, &["--save", ""]);
    signal(&server, "HUP");
    signal(&server, "PIPE");
    let mut conn = server.conn();
    assert_eq!(
        run(&mut conn, &["PING"]),
        Value::SimpleString("PONG".into())
    );
    assert!(server.child.try_wait().unwrap().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_on_signal_settings_read_as_redis() {
    let dir = temp_dir("shutdown", "settings");
    let server = process::respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    let get = |conn: &mut redis::Connection, name: &str| match run(conn, &["CONFIG", "GET", name]) {
        Value::Array(items) => items[1].clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        get(&mut conn, "shutdown-on-sigterm"),
        Value::BulkString(b"default".to_vec())
    );
    run(
        &mut conn,
        &["CONFIG", "SET", "shutdown-on-sigint", "now nosave"],
    );
    assert_eq!(
        get(&mut conn, "shutdown-on-sigint"),
        Value::BulkString(b"nosave now".to_vec())
    );
    run(
        &mut conn,
        &["CONFIG", "SET", "shutdown-on-sigint", "force save now"],
    );
    assert_eq!(
        get(&mut conn, "shutdown-on-sigint"),
        Value::BulkString(b"save now force".to_vec())
    );
    assert_eq!(
        process::run_err(&mut conn, &["CONFIG", "SET", "shutdown-on-sigint", "save nosave"]),
        "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - shutdown options SAVE and NOSAVE can't be used simultaneously"
    );
    assert_eq!(
        process::run_err(&mut conn, &["CONFIG", "SET", "shutdown-on-sigterm", "bad"]),
        "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigterm') - argument(s) must be one of the following: default, save, nosave, now, force"
    );
    run(
        &mut conn,
        &["CONFIG", "SET", "shutdown-on-sigint", "default"],
    );
    assert_eq!(
        get(&mut conn, "shutdown-on-sigint"),
        Value::BulkString(b"default".to_vec())
    );
    assert_eq!(
        process::run_err(&mut conn, &["CONFIG", "SET", "pidfile", "/tmp/x"]),
        "ERR CONFIG SET failed (possibly related to argument 'pidfile') - can't set immutable config"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
