//! The append-only file against a real redis-server 7.0: an AOF directory
//! respd wrote (base and increment, every type) loads in redis-server with
//! the same contents and the other way round; BGREWRITEAOF with the AOF
//! off writes what Redis writes; a failed `CONFIG SET appendonly yes`
//! replies Redis's error and leaves the AOF off; the AOF is rewritten
//! automatically when it grows (auto-aof-rewrite-percentage / min-size).

mod common;

use common::process::{info_field, installed, respd, run, run_err, spawn, wait_loaded, Process};
use std::path::Path;
use std::time::{Duration, Instant};

use redis::Value;

fn temp_dir(name: &str) -> common::process::TempDir {
    common::process::temp_dir("aofinterop", name)
}

/// Starts a rewrite and waits for it to end; returns the status.
fn rewrite(conn: &mut redis::Connection) -> String {
    // The one that turned the AOF on at start may still run.
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(conn, "aof_rewrite_in_progress") != "0" {
        assert!(Instant::now() < deadline, "a rewrite never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = info_field(conn, "aof_rewrites");
    let reply: String = redis::cmd("BGREWRITEAOF").query(conn).unwrap();
    assert_eq!(reply, "Background append only file rewriting started");
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(conn, "aof_rewrite_in_progress") != "0"
        || (info_field(conn, "aof_rewrites") == before
            && info_field(conn, "aof_last_bgrewrite_status") == "ok")
    {
        assert!(Instant::now() < deadline, "the rewrite never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    info_field(conn, "aof_last_bgrewrite_status")
}

/// Writes of every type in two databases, with the commands the AOF
/// translates (relative TTLs, INCRBYFLOAT, SPOP, a blocking pop, stream
/// IDs from the clock, group reads) and some that change nothing.
fn writes(conn: &mut redis::Connection, round: &str) {
    let key = |name: &str| format!("{name}{round}");
    let script: Vec<Vec<String>> = [
        vec!["SET", &key("s"), "hello"],
        vec!["SET", &key("int"), "12345"],
        vec!["SET", &key("ttl"), "v", "EX", "100000"],
        vec!["SET", &key("gone"), "v", "PX", "1"],
        vec!["INCRBYFLOAT", &key("float"), "1.5"],
        vec!["APPEND", &key("s"), " world"],
        vec!["RPUSH", &key("list"), "a", "b", "1", "300", "-70000"],
        vec!["BLPOP", &key("list"), "0"],
        vec!["LPUSH", &key("big"), &"x".repeat(5000)],
        vec!["SADD", &key("set"), "a", "b", "c", "1", "2"],
        vec!["SPOP", &key("set")],
        vec!["HSET", &key("hash"), "f1", "v1", "f2", "2"],
        vec!["HINCRBYFLOAT", &key("hash"), "f3", "0.25"],
        vec!["HDEL", &key("hash"), "nofield"],
        vec!["ZADD", &key("zset"), "1", "a", "2.5", "b", "-inf", "c"],
        vec!["ZINCRBY", &key("zset"), "2", "a"],
        vec!["EXPIRE", &key("zset"), "50000"],
        vec!["DEL", &key("missing")],
        vec!["XADD", &key("stream"), "*", "f", "v"],
        vec!["XADD", &key("stream"), "MAXLEN", "~", "10", "*", "f", "w"],
        vec!["XGROUP", "CREATE", &key("stream"), "g", "0"],
        vec![
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "COUNT",
            "1",
            "STREAMS",
            &key("stream"),
            ">",
        ],
        vec!["SELECT", "3"],
        vec!["SET", &key("other"), "db3"],
        vec!["SELECT", "0"],
    ]
    .iter()
    .map(|args| args.iter().map(|a| a.to_string()).collect())
    .collect();
    for args in script {
        let args: Vec<&str> = args.iter().map(|a| a.as_str()).collect();
        run(conn, &args);
    }
}

/// Everything in databases 0..16, as sorted text: key, type, value and
/// TTL in seconds rounded to tens; streams with their groups (without
/// clock-dependent fields).
fn contents(conn: &mut redis::Connection) -> Vec<String> {
    wait_loaded(conn);
    let mut out = Vec::new();
    for db in 0..16 {
        run(conn, &["SELECT", &db.to_string()]);
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(conn).unwrap();
        for key in keys {
            let kind: String = redis::cmd("TYPE").arg(&key).query(conn).unwrap();
            let mut value = match kind.as_str() {
                "string" => vec![format!("{:?}", run(conn, &["GET", &key]))],
                "list" => vec![format!("{:?}", run(conn, &["LRANGE", &key, "0", "-1"]))],
                "set" => {
                    let members: Vec<String> =
                        redis::cmd("SMEMBERS").arg(&key).query(conn).unwrap();
                    members
                }
                "hash" => {
                    let pairs: Vec<String> = redis::cmd("HGETALL").arg(&key).query(conn).unwrap();
                    pairs
                        .chunks(2)
                        .map(|p| format!("{}={}", p[0], p[1]))
                        .collect()
                }
                "zset" => vec![format!(
                    "{:?}",
                    run(conn, &["ZRANGE", &key, "0", "-1", "WITHSCORES"])
                )],
                "stream" => vec![
                    format!("{:?}", run(conn, &["XRANGE", &key, "-", "+"])),
                    format!("{:?}", run(conn, &["XINFO", "GROUPS", &key])),
                    format!("{:?}", run(conn, &["XPENDING", &key, "g"])),
                ],
                // Expired between KEYS and TYPE.
                "none" => continue,
                other => panic!("type {other}"),
            };
            if matches!(kind.as_str(), "set" | "hash") {
                value.sort();
            }
            let ttl: i64 = redis::cmd("TTL").arg(&key).query(conn).unwrap();
            let ttl = if ttl > 0 { (ttl + 5) / 10 } else { ttl };
            out.push(format!("{db} {key} {kind} ttl={ttl} {}", value.join(",")));
        }
    }
    run(conn, &["SELECT", "0"]);
    out.sort();
    out
}

/// Equal contents, or a panic showing the lines that differ.
fn assert_same(got: &[String], expected: &[String]) {
    let short = |line: &String| line.chars().take(300).collect::<String>();
    let missing: Vec<_> = expected
        .iter()
        .filter(|l| !got.contains(l))
        .map(short)
        .collect();
    let extra: Vec<_> = got
        .iter()
        .filter(|l| !expected.contains(l))
        .map(short)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nextra: {extra:#?}"
    );
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap_or_default()
}

fn redis_aof(dir: &Path, extra: &[&str]) -> Process {
    let mut args = vec![
        "--dir",
        dir.to_str().unwrap(),
        "--save",
        "",
        "--appendonly",
        "yes",
    ];
    args.extend_from_slice(extra);
    spawn("redis-server", &args)
}

/// Copies `from` (an AOF directory's parent) to a fresh `to`.
fn copy_aof(from: &Path, to: &Path) {
    let sub = to.join("appendonlydir");
    std::fs::create_dir_all(&sub).unwrap();
    for entry in std::fs::read_dir(from.join("appendonlydir")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), sub.join(entry.file_name())).unwrap();
    }
}

#[test]
fn respd_aof_loads_in_redis_with_the_same_contents() {
    let dir = temp_dir("from-respd");
    let server = respd(&dir, &["--save", "", "--appendonly", "yes"]);
    let mut conn = server.conn();
    writes(&mut conn, "1");
    assert_eq!(rewrite(&mut conn), "ok");
    writes(&mut conn, "2");
    let expected = contents(&mut conn);
    drop(server);
    let text = manifest(&dir);
    assert!(text.contains("type b") && text.contains("type i"), "{text}");
    // Writes that changed nothing are not in the increment.
    let incr = text
        .lines()
        .find(|l| l.ends_with("type i"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap();
    let log = std::fs::read(dir.join("appendonlydir").join(incr)).unwrap();
    let log = String::from_utf8_lossy(&log);
    assert!(
        !log.contains("missing") && !log.contains("nofield"),
        "{log}"
    );

    // respd reads it back, and so does redis-server 7.0.
    let copy = temp_dir("from-respd-copy");
    copy_aof(&dir, &copy);
    let server = respd(&dir, &["--save", "", "--appendonly", "yes"]);
    assert_same(&contents(&mut server.conn()), &expected);
    drop(server);
    if common::as_test_user() {
        // redis-server 7.0.15 replays an AOF's MULTI/EXEC as the default
        // user, which is off here: it would drop XREADGROUP's transaction.
        eprintln!("skipped as the test user: redis-server loads MULTI/EXEC as the default user");
        return;
    }
    if installed("redis-server") {
        let redis = redis_aof(&copy, &[]);
        assert_same(&contents(&mut redis.conn()), &expected);
    }
}

#[test]
fn redis_aof_loads_in_respd_with_the_same_contents() {
    if !installed("redis-server") {
        return;
    }
    let dir = temp_dir("from-redis");
    let redis = redis_aof(&dir, &[]);
    let mut conn = redis.conn();
    writes(&mut conn, "1");
    assert_eq!(rewrite(&mut conn), "ok");
    writes(&mut conn, "2");
    // Redis logs trimming with LIMIT kept after `=`: respd obeys it.
    run(
        &mut conn,
        &[
            "XADD", "stream2", "MAXLEN", "~", "1", "LIMIT", "5", "*", "f", "x",
        ],
    );
    drop(redis);
    let text = manifest(&dir);
    assert!(text.contains("type b") && text.contains("type i"), "{text}");
    // What Redis itself loads from the directory (its log does not keep
    // everything: a group's entries-read is lost, for one).
    let copy = temp_dir("from-redis-copy");
    copy_aof(&dir, &copy);
    let redis = redis_aof(&copy, &[]);
    let expected = contents(&mut redis.conn());
    drop(redis);
    let server = respd(&dir, &["--save", "", "--appendonly", "yes"]);
    assert_same(&contents(&mut server.conn()), &expected);
}

#[test]
fn bgrewriteaof_with_the_aof_off_writes_a_base_as_redis() {
    let dir = temp_dir("off");
    let server = respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    writes(&mut conn, "1");
    let expected = contents(&mut conn);
    assert_eq!(rewrite(&mut conn), "ok");
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.1.base.rdb seq 1 type b\n"
    );
    assert_eq!(rewrite(&mut conn), "ok");
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.2.base.rdb seq 2 type b\n"
    );
    let files = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .count();
    assert_eq!(files, 2, "the first base is deleted");
    assert_eq!(info_field(&mut conn, "aof_enabled"), "0");
    drop(server);
    if installed("redis-server") {
        let redis_dir = temp_dir("off-redis");
        let redis = spawn(
            "redis-server",
            &["--dir", redis_dir.to_str().unwrap(), "--save", ""],
        );
        let mut conn = redis.conn();
        writes(&mut conn, "1");
        assert_eq!(rewrite(&mut conn), "ok");
        assert_eq!(rewrite(&mut conn), "ok");
        assert_eq!(manifest(&redis_dir), manifest(&dir));
    }
    // The base is a whole AOF: a start with appendonly yes loads it.
    let server = respd(&dir, &["--save", "", "--appendonly", "yes"]);
    assert_same(&contents(&mut server.conn()), &expected);
}

#[test]
fn a_failed_config_set_appendonly_leaves_the_aof_off() {
    // The AOF directory's name is taken by a file.
    let dir = temp_dir("enable-fails");
    std::fs::write(dir.join("aofdir"), "not a directory").unwrap();
    let args = ["--save", "", "--appenddirname", "aofdir"];
    let server = respd(&dir, &args);
    let mut conn = server.conn();
    let error = run_err(&mut conn, &["CONFIG", "SET", "appendonly", "yes"]);
    assert_eq!(
        error,
        "ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs."
    );
    let value: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut conn)
        .unwrap();
    assert_eq!(value, ["appendonly", "no"]);
    assert_eq!(info_field(&mut conn, "aof_enabled"), "0");
    assert_eq!(
        run_err(&mut conn, &["BGREWRITEAOF"]),
        "ERR Can't execute an AOF background rewriting. Please check the server logs for more information."
    );
    run(&mut conn, &["SET", "k", "v"]);
    if installed("redis-server") {
        let redis = spawn(
            "redis-server",
            &[&["--dir", dir.to_str().unwrap()][..], &args[..]].concat(),
        );
        let mut theirs = redis.conn();
        assert_eq!(
            run_err(&mut theirs, &["CONFIG", "SET", "appendonly", "yes"]),
            error
        );
        let value: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("appendonly")
            .query(&mut theirs)
            .unwrap();
        assert_eq!(value, ["appendonly", "no"]);
    }
}

#[test]
fn a_rewrite_failing_in_the_background_turns_the_aof_back_off() {
    let dir = temp_dir("enable-fails-late");
    let server = respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    run(&mut conn, &["SET", "k", "v"]);
    // The base's temporary file cannot be created: a directory has its name.
    let text: String = redis::cmd("INFO").arg("server").query(&mut conn).unwrap();
    let pid = text
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .unwrap()
        .trim()
        .to_string();
    let blocker = dir
        .join("appendonlydir")
        .join(format!("temp-rewriteaof-bg-{pid}.aof"));
    std::fs::create_dir_all(&blocker).unwrap();
    assert_eq!(
        run(&mut conn, &["CONFIG", "SET", "appendonly", "yes"]),
        Value::Okay
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(&mut conn, "aof_enabled") != "0" {
        assert!(Instant::now() < deadline, "logging stayed on");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(info_field(&mut conn, "aof_last_bgrewrite_status"), "err");
    let value: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut conn)
        .unwrap();
    assert_eq!(value, ["appendonly", "no"]);
    // No increment is left that no manifest names.
    let left: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.iter().all(|name| !name.ends_with(".incr.aof")),
        "{left:?}"
    );
    // Once the way is clear, turning it on works.
    std::fs::remove_dir(&blocker).unwrap();
    assert_eq!(
        run(&mut conn, &["CONFIG", "SET", "appendonly", "yes"]),
        Value::Okay
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !manifest(&dir).contains("type b") {
        assert!(Instant::now() < deadline, "no base");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_aof_is_rewritten_when_it_has_grown() {
    let dir = temp_dir("auto");
    let server = respd(
        &dir,
        &[
            "--save",
            "",
            "--appendonly",
            "yes",
            "--auto-aof-rewrite-percentage",
            "100",
            "--auto-aof-rewrite-min-size",
            "20000",
        ],
    );
    let mut conn = server.conn();
    let value = "v".repeat(1000);
    // Under the minimum size: no rewrite.
    for i in 0..10 {
        run(&mut conn, &["SET", &format!("k{i}"), &value]);
    }
    std::thread::sleep(Duration::from_millis(400));
    let first = info_field(&mut conn, "aof_rewrites");
    let base: u64 = info_field(&mut conn, "aof_base_size").parse().unwrap();
    let current: u64 = info_field(&mut conn, "aof_current_size").parse().unwrap();
    assert!(current > base + 10_000, "{base} {current}");
    for i in 0..30 {
        run(&mut conn, &["SET", &format!("k{i}"), &value]);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(&mut conn, "aof_rewrites") == first {
        assert!(Instant::now() < deadline, "no automatic rewrite");
        std::thread::sleep(Duration::from_millis(20));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(&mut conn, "aof_rewrite_in_progress") != "0" {
        assert!(Instant::now() < deadline, "the rewrite never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A new base holds the 30 keys once (compressed); the log starts over.
    let text = manifest(&dir);
    assert!(
        text.contains("appendonly.aof.2.base.rdb seq 2 type b"),
        "{text}"
    );
    let base: u64 = info_field(&mut conn, "aof_base_size").parse().unwrap();
    assert!(base < current, "{base} {current}");
}

/// The increment's commands, one `A B C` line each.
fn incr_commands(dir: &Path) -> Vec<String> {
    let text = manifest(dir);
    let incr = text
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_string();
    let bytes = std::fs::read(dir.join("appendonlydir").join(incr)).unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut commands = Vec::new();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    while let Some(header) = lines.next() {
        let count: usize = header.trim_start_matches('*').parse().unwrap();
        let words: Vec<&str> = (0..count)
            .map(|_| {
                lines.next();
                lines.next().unwrap()
            })
            .collect();
        commands.push(words.join(" "));
    }
    commands
}

#[test]
fn keys_deleted_by_expiry_are_logged_as_del() {
    let script = |conn: &mut redis::Connection| {
        run(conn, &["SET", "lazy", "v", "PX", "30"]);
        run(conn, &["SET", "active", "v", "PX", "30"]);
        std::thread::sleep(Duration::from_millis(100));
        // A write finds "lazy" expired: its DEL comes first.
        run(conn, &["SET", "lazy", "new"]);
        // Active expiry deletes "active" by itself.
        let deadline = Instant::now() + Duration::from_secs(20);
        while run(conn, &["DBSIZE"]) != Value::Int(1) {
            assert!(Instant::now() < deadline, "active expiry never ran");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(1500));
    };
    let dir = temp_dir("expiry");
    let server = respd(&dir, &["--save", "", "--appendonly", "yes"]);
    script(&mut server.conn());
    let ours = incr_commands(&dir);
    let at = |commands: &[String], wanted: &str| {
        commands
            .iter()
            .position(|c| c == wanted)
            .unwrap_or_else(|| panic!("{wanted} not in {commands:?}"))
    };
    assert!(
        at(&ours, "DEL lazy") < at(&ours, "SET lazy new"),
        "{ours:?}"
    );
    at(&ours, "DEL active");
    if installed("redis-server") {
        let redis_dir = temp_dir("expiry-redis");
        let redis = redis_aof(&redis_dir, &[]);
        script(&mut redis.conn());
        let theirs = incr_commands(&redis_dir);
        assert!(
            at(&theirs, "DEL lazy") < at(&theirs, "SET lazy new"),
            "{theirs:?}"
        );
        at(&theirs, "DEL active");
    }
}
