//! RDB persistence over real processes: respd's dumps load in redis-server
//! 7.0 and pass redis-check-rdb, redis-server's dumps (compact and plain
//! encodings) load in respd, damaged dumps stop the start, BGSAVE copies a
//! consistent point in time while clients write, MISCONF after a failed
//! background save, SHUTDOWN saves and a restart loads.

mod common;

use common::process::{
    failed_start, info_field, installed, redis_check_rdb, respd, run, run_err, spawn, Process,
};
use std::path::Path;
use std::time::{Duration, Instant};

use redis::Value;

fn redis_server(dir: &Path, dbfilename: &str) -> Process {
    let dir = dir.to_str().unwrap();
    spawn(
        "redis-server",
        &["--dir", dir, "--dbfilename", dbfilename, "--save", ""],
    )
}

/// A fresh, empty directory for one test.
fn temp_dir(name: &str) -> common::process::TempDir {
    common::process::temp_dir("rdb", name)
}

fn wait_for_bgsave(conn: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_field(conn, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every type, small and large (so Redis picks compact and plain
/// encodings), integers, long strings, TTLs and a second database.
fn fill(conn: &mut redis::Connection) {
    let long = "x".repeat(3000);
    let mut pipe = redis::pipe();
    pipe.cmd("SET")
        .arg("s")
        .arg("hello")
        .cmd("SET")
        .arg("int")
        .arg("12345")
        .cmd("SET")
        .arg("neg")
        .arg("-7")
        .cmd("SET")
        .arg("wide")
        .arg("3000000000")
        .cmd("SET")
        .arg("padded")
        .arg("007")
        .cmd("SET")
        .arg("long")
        .arg(&long)
        .cmd("SET")
        .arg("binary")
        .arg(&b"a\x00b\xffc"[..])
        .cmd("SET")
        .arg("ttl")
        .arg("v")
        .arg("PX")
        .arg(100_000_000)
        .cmd("RPUSH")
        .arg("list")
        .arg(&["a", "b", "1", "300", "-70000"])
        .cmd("SADD")
        .arg("intset")
        .arg(&["1", "2", "-5", "100000", "99999999999"])
        .cmd("SADD")
        .arg("set")
        .arg(&["a", "b", "c"])
        .cmd("HSET")
        .arg("hash")
        .arg(&["f1", "v1", "f2", "2"])
        .cmd("HSET")
        .arg("hash-long-value")
        .arg("f")
        .arg(&long[..100])
        .cmd("ZADD")
        .arg("zset")
        .arg(&["1", "a", "2.5", "b", "-3", "c", "inf", "d"])
        .cmd("EXPIRE")
        .arg("zset")
        .arg(50_000);
    for i in 0..700 {
        pipe.cmd("RPUSH")
            .arg("biglist")
            .arg(format!("item{i}-{}", &long[..i % 200]));
        pipe.cmd("SADD").arg("bigset").arg(format!("m{i}"));
        pipe.cmd("SADD").arg("bigintset").arg(i * 1000);
        pipe.cmd("HSET").arg("bighash").arg(format!("f{i}")).arg(i);
        pipe.cmd("ZADD")
            .arg("bigzset")
            .arg(i as f64 / 3.0)
            .arg(format!("m{i}"));
    }
    pipe.cmd("SELECT")
        .arg(3)
        .cmd("SET")
        .arg("in-db-3")
        .arg("x")
        .cmd("SELECT")
        .arg(0);
    pipe.query::<()>(conn).unwrap();
}

/// Everything in databases 0..16, as sorted text: key, type, value, TTL
/// in seconds (rounded to tens, so a second passing does not matter).
fn contents(conn: &mut redis::Connection) -> Vec<String> {
    let mut out = Vec::new();
    for db in 0..16 {
        run(conn, &["SELECT", &db.to_string()]);
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(conn).unwrap();
        for key in keys {
            let kind: String = redis::cmd("TYPE").arg(&key).query(conn).unwrap();
            let mut value: Vec<String> = match kind.as_str() {
                "string" => vec![redis::cmd("GET").arg(&key).query::<Vec<u8>>(conn).unwrap()],
                "list" => redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query(conn)
                    .unwrap(),
                "set" => redis::cmd("SMEMBERS").arg(&key).query(conn).unwrap(),
                "hash" => redis::cmd("HGETALL")
                    .arg(&key)
                    .query::<Vec<Vec<u8>>>(conn)
                    .unwrap()
                    .chunks(2)
                    .map(|p| [p[0].clone(), b"=".to_vec(), p[1].clone()].concat())
                    .collect(),
                "zset" => redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(conn)
                    .unwrap(),
                other => panic!("type {other}"),
            }
            .into_iter()
            .map(|v: Vec<u8>| v.escape_ascii().to_string())
            .collect();
            if matches!(kind.as_str(), "set" | "hash") {
                value.sort();
            }
            let ttl: i64 = redis::cmd("TTL").arg(&key).query(conn).unwrap();
            let ttl = if ttl > 0 { (ttl + 5) / 10 } else { ttl };
            out.push(format!(
                "{db} {} {kind} ttl={ttl} {}",
                key.escape_ascii(),
                value.join(",")
            ));
        }
    }
    run(conn, &["SELECT", "0"]);
    out.sort();
    out
}

#[test]
fn redis_dump_loads_in_respd_with_identical_contents() {
    if !installed("redis-server") {
        return;
    }
    let dir = temp_dir("from-redis");
    let redis = redis_server(&dir, "dump.rdb");
    let mut conn = redis.conn();
    fill(&mut conn);
    // Both kinds of encodings are in the file.
    for (key, encoding) in [
        ("list", "quicklist"),
        ("intset", "intset"),
        ("hash", "listpack"),
        ("zset", "listpack"),
        ("bighash", "hashtable"),
        ("bigzset", "skiplist"),
        ("bigset", "hashtable"),
    ] {
        let got: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(key)
            .query(&mut conn)
            .unwrap();
        assert_eq!(got, encoding, "{key}");
    }
    let expected = contents(&mut conn);
    run(&mut conn, &["SAVE"]);
    let server = respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    assert_eq!(contents(&mut conn), expected);
    assert_eq!(info_field(&mut conn, "loading"), "0");
    assert_eq!(
        info_field(&mut conn, "rdb_last_load_keys_loaded"),
        expected.len().to_string()
    );
    assert_eq!(info_field(&mut conn, "rdb_changes_since_last_save"), "0");
}

#[test]
fn respd_dump_loads_in_redis_and_passes_redis_check_rdb() {
    let dir = temp_dir("to-redis");
    let server = respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    fill(&mut conn);
    let expected = contents(&mut conn);
    let before: i64 = redis::cmd("LASTSAVE").query(&mut conn).unwrap();
    assert_eq!(run(&mut conn, &["SAVE"]), Value::Okay);
    let after: i64 = redis::cmd("LASTSAVE").query(&mut conn).unwrap();
    assert!(after >= before);
    assert_eq!(info_field(&mut conn, "rdb_changes_since_last_save"), "0");
    let file = std::fs::read(dir.join("dump.rdb")).unwrap();
    assert_eq!(&file[..9], b"REDIS0009");
    redis_check_rdb(&dir.join("dump.rdb"));
    if installed("redis-server") {
        let redis = redis_server(&dir, "dump.rdb");
        assert_eq!(contents(&mut redis.conn()), expected);
    }
}

#[test]
fn damaged_dumps_stop_the_start_with_the_file_and_offset() {
    let dir = temp_dir("damaged");
    {
        let server = respd(&dir, &["--save", ""]);
        let mut conn = server.conn();
        fill(&mut conn);
        run(&mut conn, &["SAVE"]);
    }
    let path = dir.join("dump.rdb");
    let good = std::fs::read(&path).unwrap();
    let name = path.display().to_string();

    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let message = failed_start(env!("CARGO_BIN_EXE_respd"), &dir);
    assert!(
        message.contains(&name) && message.contains("offset") && message.contains("end of file"),
        "{message}"
    );

    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x20;
    std::fs::write(&path, &flipped).unwrap();
    let message = failed_start(env!("CARGO_BIN_EXE_respd"), &dir);
    assert!(
        message.contains(&name) && message.contains("offset"),
        "{message}"
    );

    let mut newer = good.clone();
    newer[5..9].copy_from_slice(b"0011");
    std::fs::write(&path, &newer).unwrap();
    let message = failed_start(env!("CARGO_BIN_EXE_respd"), &dir);
    assert!(message.contains("RDB format version 11"), "{message}");

    // The intact file still loads.
    std::fs::write(&path, &good).unwrap();
    let server = respd(&dir, &["--save", ""]);
    let count: i64 = redis::cmd("DBSIZE").query(&mut server.conn()).unwrap();
    assert!(count > 10);
}

#[test]
fn bgsave_copies_one_point_in_time_while_clients_write() {
    let dir = temp_dir("bgsave");
    let server = respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    let mut pipe = redis::pipe();
    for i in 0..100_000 {
        pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
    }
    pipe.query::<()>(&mut conn).unwrap();
    // A writer sets seq:0, seq:1, ... in order while the save runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, mut conn) = (stop.clone(), server.conn());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                redis::cmd("SET")
                    .arg(format!("seq:{n}"))
                    .arg(n)
                    .query::<()>(&mut conn)
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        run(&mut conn, &["BGSAVE"]),
        Value::SimpleString("Background saving started".into())
    );
    // A second one while it runs: Redis's error, or it had already ended.
    match redis::cmd("BGSAVE").query::<Value>(&mut conn) {
        Err(err) => assert_eq!(err.detail(), Some("Background save already in progress")),
        Ok(value) => assert_eq!(
            value,
            Value::SimpleString("Background saving started".into())
        ),
    }
    wait_for_bgsave(&mut conn);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert_eq!(info_field(&mut conn, "rdb_last_bgsave_status"), "ok");
    assert_eq!(run_err(&mut conn, &["BGSAVE", "NOW"]), "ERR syntax error");
    drop(server);

    let server = respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    let seq: Vec<String> = redis::cmd("KEYS").arg("seq:*").query(&mut conn).unwrap();
    let mut numbers: Vec<u64> = seq.iter().map(|k| k[4..].parse().unwrap()).collect();
    numbers.sort_unstable();
    // A point in time: a prefix of the writer's keys, no holes.
    assert!(
        numbers.iter().enumerate().all(|(i, &n)| i as u64 == n),
        "holes in {numbers:?}"
    );
    assert!(numbers.len() as u64 <= written);
    let count: i64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
    assert_eq!(count as usize, 100_000 + numbers.len());
}

#[test]
fn a_failed_background_save_refuses_writes_with_misconf() {
    let dir = temp_dir("misconf");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Save points set (MISCONF needs them), far from due.
    let server = respd(&data, &["--save", "3600 1000000"]);
    let mut conn = server.conn();
    run(&mut conn, &["SET", "k", "v"]);
    // A vanished directory defeats root too.
    std::fs::remove_dir_all(&data).unwrap();
    run(&mut conn, &["BGSAVE"]);
    wait_for_bgsave(&mut conn);
    assert_eq!(info_field(&mut conn, "rdb_last_bgsave_status"), "err");
    let misconf = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
    assert_eq!(run_err(&mut conn, &["SET", "k", "w"]), misconf);
    assert_eq!(run_err(&mut conn, &["PING"]), misconf);
    assert_eq!(
        run(&mut conn, &["GET", "k"]),
        Value::BulkString(b"v".to_vec())
    );
    // SAVE fails too, with Redis's bare error.
    assert_eq!(run_err(&mut conn, &["SAVE"]), "ERR ");
    // Turning the check off lets writes through; so does a good save.
    run(
        &mut conn,
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"],
    );
    run(&mut conn, &["SET", "k", "w"]);
    run(
        &mut conn,
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"],
    );
    assert_eq!(run_err(&mut conn, &["SET", "k", "x"]), misconf);
    std::fs::create_dir_all(&data).unwrap();
    run(&mut conn, &["BGSAVE"]);
    wait_for_bgsave(&mut conn);
    assert_eq!(info_field(&mut conn, "rdb_last_bgsave_status"), "ok");
    run(&mut conn, &["SET", "k", "x"]);
}

#[test]
fn shutdown_saves_and_a_restart_loads() {
    let dir = temp_dir("shutdown");
    let server = respd(&dir, &["--save", "3600 1"]);
    let mut conn = server.conn();
    run(&mut conn, &["SET", "kept", "1"]);
    run(&mut conn, &["SET", "volatile", "1", "EX", "1000"]);
    assert_eq!(info_field(&mut conn, "rdb_changes_since_last_save"), "2");
    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut conn);
    assert!(server.wait_exit());

    let server = respd(&dir, &["--save", "3600 1"]);
    let mut conn = server.conn();
    assert_eq!(
        run(&mut conn, &["GET", "kept"]),
        Value::BulkString(b"1".to_vec())
    );
    let ttl: i64 = redis::cmd("TTL").arg("volatile").query(&mut conn).unwrap();
    assert!((900..=1000).contains(&ttl), "{ttl}");
    // NOSAVE leaves the dump as it was.
    run(&mut conn, &["SET", "lost", "1"]);
    let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut conn);
    assert!(server.wait_exit());

    // No save points: SHUTDOWN does not save, SHUTDOWN SAVE does.
    let server = respd(&dir, &["--save", ""]);
    let mut conn = server.conn();
    assert_eq!(run(&mut conn, &["EXISTS", "lost"]), Value::Int(0));
    run(&mut conn, &["SET", "forced", "1"]);
    let _ = redis::cmd("SHUTDOWN").arg("SAVE").query::<()>(&mut conn);
    assert!(server.wait_exit());
    let server = respd(&dir, &["--save", ""]);
    assert_eq!(
        run(&mut server.conn(), &["EXISTS", "forced", "kept"]),
        Value::Int(2)
    );
}

#[test]
fn save_points_start_a_background_save() {
    let dir = temp_dir("savepoints");
    let server = respd(&dir, &["--save", "1 2"]);
    let mut conn = server.conn();
    run(&mut conn, &["SET", "a", "1"]);
    run(&mut conn, &["SET", "b", "2"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut conn, "rdb_saves") == "0" {
        assert!(Instant::now() < deadline, "no save happened");
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_for_bgsave(&mut conn);
    assert!(dir.join("dump.rdb").exists());
    assert_eq!(info_field(&mut conn, "rdb_changes_since_last_save"), "0");
}

#[test]
fn debug_reload_round_trips_through_the_format() {
    let dir = temp_dir("reload");
    let server = respd(&dir, &["--save", "", "--enable-debug-command", "yes"]);
    let mut conn = server.conn();
    fill(&mut conn);
    let expected = contents(&mut conn);
    assert_eq!(run(&mut conn, &["DEBUG", "RELOAD"]), Value::Okay);
    assert_eq!(contents(&mut conn), expected);
}

/// OBJECT IDLETIME / FREQ of `key` on `conn`.
fn object_int(conn: &mut redis::Connection, what: &str, key: &str) -> i64 {
    redis::cmd("OBJECT").arg(what).arg(key).query(conn).unwrap()
}

#[test]
fn idle_times_and_counters_travel_in_dumps_both_ways() {
    // Under an LRU policy a dump carries each key's idle seconds, under an
    // LFU one its counter, as Redis writes and reads them.
    if !installed("redis-server") {
        return;
    }
    for (policy, what, option, value) in [
        ("allkeys-lru", "IDLETIME", "IDLETIME", 5000),
        ("volatile-lfu", "FREQ", "FREQ", 77),
    ] {
        let dir = temp_dir(&format!("clock-{policy}"));
        // respd writes, Redis reads.
        let server = respd(&dir, &["--save", "", "--maxmemory-policy", policy]);
        let mut conn = server.conn();
        run(&mut conn, &["SET", "k", "v"]);
        let payload: Vec<u8> = redis::cmd("DUMP").arg("k").query(&mut conn).unwrap();
        let restored: String = redis::cmd("RESTORE")
            .arg("r")
            .arg(0)
            .arg(payload)
            .arg(option)
            .arg(value)
            .query(&mut conn)
            .unwrap();
        assert_eq!(restored, "OK");
        assert_eq!(run(&mut conn, &["SAVE"]), Value::Okay);
        drop(conn);
        drop(server);
        let dir_text = dir.to_str().unwrap();
        let redis = spawn(
            "redis-server",
            &[
                "--dir",
                dir_text,
                "--save",
                "",
                "--maxmemory-policy",
                policy,
            ],
        );
        let mut conn = redis.conn();
        let read = object_int(&mut conn, what, "r");
        assert!(
            (value..=value + 2).contains(&read),
            "Redis read {read} ({policy})"
        );
        // Redis writes, respd reads.
        assert_eq!(run(&mut conn, &["SAVE"]), Value::Okay);
        drop(conn);
        drop(redis);
        let server = respd(&dir, &["--save", "", "--maxmemory-policy", policy]);
        let mut conn = server.conn();
        let read = object_int(&mut conn, what, "r");
        assert!(
            (value..=value + 4).contains(&read),
            "respd read {read} ({policy})"
        );
    }
}
