//! The test toolkit (issue 22) through real clients: the server's clock,
//! its seed, injected failures, the command record, direct access and
//! reset, both from Rust (`respd::testing`) and over RESP (DEBUG ...).

mod common;

use std::io::Write;
use std::time::Duration;

use redis::Commands;
use respd::resp::Frame;
use respd::testing::TestServer;

/// `TestServer::start()`, with the test user when the tests run as it.
fn start() -> TestServer {
    let server = respd::Server::bind_with("127.0.0.1:0", common::config_with("")).expect("bind");
    TestServer::from_server(server)
}

fn client(server: &TestServer) -> redis::Connection {
    let connection = redis::Client::open(common::url(server.addr()))
        .expect("client")
        .get_connection()
        .expect("connect");
    connection
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    connection
}

fn debug<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd("DEBUG");
    for arg in args {
        cmd.arg(*arg);
    }
    cmd.query(con).expect("DEBUG")
}

#[test]
fn url_is_a_redis_url_any_client_takes() {
    let server = start();
    assert_eq!(server.url(), format!("redis://{}/", server.addr()));
    let mut con = client(&server);
    let _: () = con.set("k", "v").unwrap();
    assert_eq!(server.get("k"), Some(b"v".to_vec()));
}

#[test]
fn a_key_with_ex_3600_is_gone_an_hour_later_with_its_expired_event() {
    let server = start();
    let mut con = client(&server);
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "notify-keyspace-events", "Ex"])
        .query(&mut con)
        .unwrap();
    let mut subscriber = common::raw(server.addr());
    let subscribed = b"*3\r\n$9\r\nsubscribe\r\n$22\r\n__keyevent@0__:expired\r\n:1\r\n";
    let got = common::exchange(
        &mut subscriber,
        b"SUBSCRIBE __keyevent@0__:expired\r\n",
        subscribed.len(),
    );
    assert_eq!(got, subscribed);

    let _: () = redis::cmd("SET")
        .arg(&["session", "x", "EX", "3600"])
        .query(&mut con)
        .unwrap();
    let _: () = debug(&mut con, &["CLOCK", "ADVANCE", "3599000"]);
    let exists: i64 = con.exists("session").unwrap();
    assert_eq!(exists, 1, "still there a second before its hour");

    // With the active-expiry cycle off, only ADVANCE itself can delete it.
    let _: () = debug(&mut con, &["SET-ACTIVE-EXPIRE", "0"]);
    let _: () = debug(&mut con, &["CLOCK", "ADVANCE", "1000"]);
    let keys: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(keys, 0, "DBSIZE counts expired keys not yet deleted");
    // Nobody reads the key: ADVANCE deleted it and the event is on its way
    // (the socket's read timeout fails a missing one).
    let event = b"*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:expired\r\n$7\r\nsession\r\n";
    assert_eq!(common::read_n(&mut subscriber, event.len()), event);
    let exists: i64 = con.exists("session").unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn ttl_shrinks_as_the_clock_moves() {
    let server = start();
    let mut con = client(&server);
    let _: () = redis::cmd("SET")
        .arg(&["k", "v", "EX", "3600"])
        .query(&mut con)
        .unwrap();
    let _: () = debug(&mut con, &["CLOCK", "ADVANCE", "600000"]);
    let ttl: i64 = con.ttl("k").unwrap();
    assert_eq!(ttl, 3000);
    server.advance(Duration::from_secs(1000));
    let ttl: i64 = con.ttl("k").unwrap();
    assert_eq!(ttl, 2000);
    let left = server.ttl("k").expect("a ttl");
    assert!(left <= Duration::from_secs(2000) && left > Duration::from_secs(1990));
    // Frozen, PTTL reads exactly and moves only when told.
    let _: () = debug(&mut con, &["CLOCK", "FREEZE"]);
    let before: i64 = con.pttl("k").unwrap();
    server.advance(Duration::from_millis(1234));
    let after: i64 = con.pttl("k").unwrap();
    assert_eq!(before - after, 1234);
    // Back to real time: the full hour again (minus the little that passed).
    let _: () = debug(&mut con, &["CLOCK", "REAL"]);
    let ttl: i64 = con.ttl("k").unwrap();
    assert_eq!(ttl, 3600);
}

#[test]
fn debug_clock_reads_and_sets_the_servers_time_and_time_follows() {
    let server = start();
    let mut con = client(&server);
    let _: () = debug(&mut con, &["CLOCK", "SET", "1000000000000"]);
    let now: i64 = debug(&mut con, &["CLOCK"]);
    assert!(
        (1_000_000_000_000..1_000_000_060_000).contains(&now),
        "{now}"
    );
    let (secs, _micros): (i64, i64) = redis::cmd("TIME").query(&mut con).unwrap();
    assert!((1_000_000_000..1_000_000_060).contains(&secs), "{secs}");
    // PEXPIREAT in the server's past: the key is gone at once.
    let _: () = con.set("k", "v").unwrap();
    let _: i64 = redis::cmd("PEXPIREAT")
        .arg(&["k", "999999999999"])
        .query(&mut con)
        .unwrap();
    let exists: i64 = con.exists("k").unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn two_servers_in_one_process_keep_separate_clocks() {
    let (moved, still) = (start(), start());
    let (mut a, mut b) = (client(&moved), client(&still));
    for con in [&mut a, &mut b] {
        let _: () = redis::cmd("SET")
            .arg(&["k", "v", "EX", "100"])
            .query(con)
            .unwrap();
    }
    moved.advance(Duration::from_secs(3600));
    let gone: i64 = a.exists("k").unwrap();
    let kept: i64 = b.exists("k").unwrap();
    assert_eq!((gone, kept), (0, 1));
    let ttl: i64 = b.ttl("k").unwrap();
    assert_eq!(ttl, 100);
}

#[test]
fn a_blocked_blpop_times_out_when_the_clock_passes_its_timeout() {
    let server = start();
    let mut blocked = common::raw(server.addr());
    blocked.write_all(b"BLPOP nothing 3600\r\n").unwrap();
    // Wait until the server counts it blocked (bounded).
    let mut con = client(&server);
    for _ in 0..500 {
        let info: String = redis::cmd("INFO").arg("clients").query(&mut con).unwrap();
        if info.contains("blocked_clients:1") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    server.advance(Duration::from_secs(3600));
    assert_eq!(common::read_n(&mut blocked, 5), b"*-1\r\n");
}

#[test]
fn the_same_seed_gives_the_same_random_replies() {
    fn run(seed: &str) -> Vec<Vec<String>> {
        let server = start();
        let mut con = client(&server);
        let _: () = debug(&mut con, &["SEED", seed]);
        // Hash-table sets, hashes, sorted sets and keyspace.
        let members: Vec<String> = (0..300).map(|i| format!("member:{i}")).collect();
        let _: () = con.sadd("s", &members).unwrap();
        let pairs: Vec<(String, i64)> = (0..300).map(|i| (format!("f{i}"), i)).collect();
        let _: () = con.hset_multiple("h", &pairs).unwrap();
        let scores: Vec<(i64, String)> = (0..300).map(|i| (i, format!("z{i}"))).collect();
        let _: () = con.zadd_multiple("z", &scores).unwrap();
        for i in 0..50 {
            let _: () = con.set(format!("key:{i}"), i).unwrap();
        }
        let mut replies = Vec::new();
        for _ in 0..3 {
            replies.push(redis::cmd("SPOP").arg(&["s", "5"]).query(&mut con).unwrap());
            replies.push(
                redis::cmd("SRANDMEMBER")
                    .arg(&["s", "-4"])
                    .query(&mut con)
                    .unwrap(),
            );
            replies.push(
                redis::cmd("HRANDFIELD")
                    .arg(&["h", "3"])
                    .query(&mut con)
                    .unwrap(),
            );
            replies.push(
                redis::cmd("ZRANDMEMBER")
                    .arg(&["z", "3"])
                    .query(&mut con)
                    .unwrap(),
            );
            let key: String = redis::cmd("RANDOMKEY").query(&mut con).unwrap();
            replies.push(vec![key]);
        }
        replies
    }
    let first = run("42");
    assert_eq!(first, run("42"));
    assert_ne!(first, run("43"));
}

/// LFU counters rise by chance (Redis's `LFULogIncr`); DEBUG SEED fixes
/// that chance too, so OBJECT FREQ after each read repeats with the seed.
#[test]
fn the_same_seed_gives_the_same_lfu_counters() {
    fn run(seed: &str) -> Vec<i64> {
        let server = start();
        let mut con = client(&server);
        let _: () = redis::cmd("CONFIG")
            .arg(&[
                "SET",
                "maxmemory-policy",
                "allkeys-lfu",
                "lfu-log-factor",
                "1",
            ])
            .query(&mut con)
            .unwrap();
        let _: () = debug(&mut con, &["SEED", seed]);
        let _: () = con.set("k", "v").unwrap();
        (0..400)
            .map(|_| {
                let _: String = con.get("k").unwrap();
                redis::cmd("OBJECT")
                    .arg(&["FREQ", "k"])
                    .query(&mut con)
                    .unwrap()
            })
            .collect()
    }
    let first = run("42");
    // The counter moved by chance, not on every read.
    assert!(first.windows(2).any(|pair| pair[0] == pair[1]), "{first:?}");
    assert!(first.last() > first.first(), "{first:?}");
    assert_eq!(first, run("42"));
    assert_ne!(first, run("43"));
}

#[test]
fn an_injected_error_reaches_the_client_as_a_redis_error() {
    let server = start();
    // Connected first: a client's handshake (redis-rs sends CLIENT
    // SETINFO) is commands too, and would take the failures.
    let mut con = client(&server);
    let mut raw = common::raw(server.addr());
    let ok = common::exchange(
        &mut raw,
        b"DEBUG FAIL-NEXT 2 \"LOADING Redis is loading the dataset in memory\"\r\n",
        5,
    );
    assert_eq!(ok, b"+OK\r\n");
    let error = b"-LOADING Redis is loading the dataset in memory\r\n";
    assert_eq!(common::exchange(&mut raw, b"PING\r\n", error.len()), error);

    let failed: redis::RedisResult<Option<String>> = con.get("k");
    let failed = failed.expect_err("the second command fails");
    assert_eq!(failed.code(), Some("LOADING"));
    assert_eq!(
        failed.detail(),
        Some("Redis is loading the dataset in memory")
    );
    // The third goes through.
    let got: Option<String> = con.get("k").unwrap();
    assert_eq!(got, None);

    // From Rust: every GET fails until told otherwise; SET does not.
    server.fail_command("get", Some("ERR injected"));
    let _: () = con.set("k", "v").unwrap();
    let failed: redis::RedisResult<String> = con.get("k");
    assert_eq!(failed.unwrap_err().detail(), Some("injected"));
    server.fail_command("get", None);
    let got: String = con.get("k").unwrap();
    assert_eq!(got, "v");
}

#[test]
fn recorded_commands_match_what_was_sent() {
    let server = start();
    let mut con = client(&server);
    let _: () = debug(&mut con, &["RECORD", "ON"]);
    let _: () = con.set("k", "v").unwrap();
    let _: Vec<String> = con.lrange("list", 0, -1).unwrap();
    let _: () = redis::cmd("SELECT").arg(2).query(&mut con).unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg(&["SETNAME", "app"])
        .query(&mut con)
        .unwrap();
    let _: i64 = con.incr("n", 1).unwrap();
    let recorded: Vec<Vec<String>> = debug(&mut con, &["RECORD", "GET"]);
    let expected: Vec<Vec<&str>> = vec![
        vec!["SET", "k", "v"],
        vec!["LRANGE", "list", "0", "-1"],
        vec!["SELECT", "2"],
        vec!["CLIENT", "SETNAME", "app"],
        vec!["INCRBY", "n", "1"],
    ];
    assert_eq!(recorded, expected);
    assert_eq!(server.recorded_commands(), expected);
    let last = server.recorded().pop().expect("entries");
    assert_eq!((last.db, last.client_name.as_str()), (2, "app"));
    let with_meta: Vec<(i64, String, Vec<String>)> =
        debug(&mut con, &["RECORD", "GET", "WITHMETA"]);
    assert_eq!(
        with_meta[0],
        (0, String::new(), vec!["SET".into(), "k".into(), "v".into()])
    );
    assert_eq!(with_meta[4].0, 2);
    let _: () = debug(&mut con, &["RECORD", "RESET"]);
    let _: () = debug(&mut con, &["RECORD", "OFF"]);
    let _: () = con.set("k", "w").unwrap();
    let recorded: Vec<Vec<String>> = debug(&mut con, &["RECORD", "GET"]);
    assert!(recorded.is_empty());
}

#[test]
fn the_controls_are_refused_unless_debug_is_enabled() {
    let server = common::start();
    let mut raw = common::raw(server.local_addr());
    let refused = b"-ERR DEBUG command not allowed.";
    let got = common::exchange(&mut raw, b"DEBUG CLOCK ADVANCE 1000\r\n", refused.len());
    assert!(
        got.starts_with(refused),
        "{}",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn direct_access_dump_and_reset() {
    let server = start();
    server.freeze_time();
    server.set("s", "v", Some(Duration::from_secs(60)));
    server.run(&["RPUSH", "l", "a", "b"]);
    server.run(&["HSET", "h", "f", "1"]);
    server.run(&["SADD", "set", "y", "x"]);
    server.run(&["ZADD", "z", "2", "m"]);
    server.run_in(1, &["SET", "other", "1"]);
    assert_eq!(server.keys(0), vec!["h", "l", "s", "set", "z"]);
    assert_eq!(server.keys(1), vec!["other"]);
    assert_eq!(
        server.dump(0),
        "h hash [\"f\" \"1\"]\nl list [\"a\" \"b\"]\ns string \"v\" ttl=60000\n\
         set set [\"x\" \"y\"]\nz zset [\"m\" \"2\"]\n"
    );
    assert_eq!(server.run(&["LLEN", "l"]), Frame::Integer(2));

    let mut con = client(&server);
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "notify-keyspace-events", "KEA"])
        .query(&mut con)
        .unwrap();
    server.advance(Duration::from_secs(10));
    server.fail_next(1, "ERR x");
    server.reset();
    assert!(server.keys(0).is_empty() && server.keys(1).is_empty());
    let mut con = client(&server);
    let events: Vec<String> = redis::cmd("CONFIG")
        .arg(&["GET", "notify-keyspace-events"])
        .query(&mut con)
        .unwrap();
    assert_eq!(events, vec!["notify-keyspace-events", ""]);
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn closing_clients_and_refusing_connections() {
    let server = start();
    let mut raw = common::raw(server.addr());
    assert_eq!(common::exchange(&mut raw, b"PING\r\n", 7), b"+PONG\r\n");
    server.close_all_clients();
    // The connection ends: a read returns end of stream.
    assert!(common::read_n(&mut raw, 7).is_empty());

    server.refuse_connections_for(Duration::from_secs(3600));
    let mut refused = common::raw_anonymous(server.addr());
    assert!(common::read_n(&mut refused, 7).is_empty());
    server.reset();
    let mut again = common::raw(server.addr());
    assert_eq!(common::exchange(&mut again, b"PING\r\n", 7), b"+PONG\r\n");
}

/// The README's Python example (tests/python/test_toolkit_redis_py.py)
/// against the respd binary, when python3 has redis-py and pytest
/// (`RESPD_PYTHON` names another interpreter); skipped, saying so, when not.
#[test]
fn the_resp_controls_through_redis_py() {
    use std::process::{Command, Stdio};
    let python = std::env::var("RESPD_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_modules = Command::new(&python)
        .args(["-c", "import redis, pytest"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_modules {
        // CI installs both (.ci/run): there a missing module is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "{python} lacks redis-py or pytest"
        );
        eprintln!("skipped: {python} lacks redis-py or pytest");
        return;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/test_toolkit_redis_py.py"
    );
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_respd"));
    let path = format!(
        "{}:{}",
        binary.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let scratch = std::env::temp_dir().join(format!("respd-redis-py-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    // pytest has its own timeouts per command (redis-py's socket timeout)
    // and the fixture's bounded wait; nothing is written outside `scratch`.
    let output = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", script])
        .current_dir(&scratch)
        .env("PATH", path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("TMPDIR", &scratch)
        .output()
        .expect("pytest");
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The README's Rust example, and the other readers of the clock: OBJECT
/// IDLETIME and XADD's `*` ids.
#[test]
fn the_readme_example_and_other_clock_readers() {
    let server = start();
    let mut con = redis::Client::open(common::url(server.addr()))
        .unwrap()
        .get_connection()
        .unwrap();
    server.freeze_time();
    let _: () = redis::cmd("SET")
        .arg(&["session", "x", "EX", "3600"])
        .query(&mut con)
        .unwrap();
    server.advance(Duration::from_secs(3599));
    assert_eq!(con.ttl::<_, i64>("session").unwrap(), 1);
    let idle: i64 = redis::cmd("OBJECT")
        .arg(&["IDLETIME", "session"])
        .query(&mut con)
        .unwrap();
    assert_eq!(idle, 3599);
    server.advance(Duration::from_secs(1));
    assert_eq!(server.get("session"), None);

    server.set_time(std::time::UNIX_EPOCH + Duration::from_millis(1_700_000_000_000));
    let id: String = redis::cmd("XADD")
        .arg(&["stream", "*", "f", "v"])
        .query(&mut con)
        .unwrap();
    assert_eq!(id, "1700000000000-0");
    let now: i64 = debug(&mut con, &["CLOCK"]);
    assert_eq!(now, 1_700_000_000_000);
}

/// Slow-log entries are stamped with the server's clock, not the machine's.
#[test]
fn slowlog_entries_carry_the_servers_time() {
    let server = start();
    let mut con = client(&server);
    server.freeze_time();
    server.set_time(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "slowlog-log-slower-than", "0"])
        .query(&mut con)
        .unwrap();
    let _: () = con.set("k", "v").unwrap();
    let entries: Vec<(i64, i64, i64, Vec<String>, String, String)> = redis::cmd("SLOWLOG")
        .arg(&["GET", "1"])
        .query(&mut con)
        .unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].1, 1_700_000_000, "{entries:?}");
    assert_eq!(entries[0].3, ["SET", "k", "v"], "{entries:?}");
}

/// Delayed replies: a client with a short read timeout sees Redis as too
/// slow, then gets its answers once the delay is lifted.
#[test]
fn delayed_replies_time_out_a_client_that_will_not_wait() {
    let server = start();
    server.set("k", "v", None);
    let mut patient = client(&server);
    let mut impatient = redis::Client::open(common::url(server.addr()))
        .expect("client")
        .get_connection_with_timeout(Duration::from_secs(10))
        .expect("connect");
    impatient
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    server.delay_replies(Duration::from_secs(2));
    let started = std::time::Instant::now();
    let err = impatient.get::<_, String>("k").unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // A client that waits gets the reply, no sooner than the delay.
    let value: String = patient.get("k").unwrap();
    assert_eq!(value, "v");
    assert!(started.elapsed() >= Duration::from_secs(2));
    server.delay_replies(Duration::ZERO);
    let value: String = patient.get("k").unwrap();
    assert_eq!(value, "v");
}
