//! OBJECT compared with a real Redis (skipped when redis-server is not
//! installed): ENCODING for every type on both sides of each threshold,
//! strings changed in place, REFCOUNT of shared integers, IDLETIME and FREQ
//! under LRU and LFU policies (set exactly through RESTORE), HELP and the
//! errors, in RESP2 and RESP3.

mod common;

use common::script::{compare_with_redis as compare, run_script, Compare};
use common::{start, RealRedis};
use respd::resp::Frame;
use respd::Client;

use Compare::{Exact, Skip};

/// A step's arguments, kept for the whole test.
fn args(list: &[&'static str]) -> &'static [&'static str] {
    Box::leak(list.to_vec().into_boxed_slice())
}

/// `prefix0 prefix1 ...`: `count` words for a multi-value command.
fn words(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn encodings_follow_the_values_and_the_thresholds() {
    // The script borrows for the whole test: its long arguments are leaked.
    let leak = |text: String| -> &'static str { Box::leak(text.into_boxed_str()) };
    let long = leak("x".repeat(45));
    let edge = leak("x".repeat(44));
    let long_field = leak("f".repeat(65));
    let mut sadd_many = vec!["SADD", "bigints"];
    sadd_many.extend((0..513).map(|i| leak(i.to_string())));
    let mut zadd_many = vec!["ZADD", "bigz"];
    for field in words("f", 129) {
        zadd_many.extend(["1", leak(field)]);
    }
    let mut hset_many = vec!["HSET", "bigh"];
    for field in words("f", 513) {
        hset_many.extend([leak(field), "v"]);
    }
    let script: Vec<(Compare, &[&str])> = vec![
        (Exact, &["SET", "int", "12345"]),
        (Exact, &["SET", "neg", "-7"]),
        (Exact, &["SET", "lead0", "0123"]),
        (Exact, &["SET", "plus", "+1"]),
        (Exact, &["SET", "float", "1.5"]),
        (Exact, &["SET", "min", "-9223372036854775808"]),
        (Exact, &["SET", "huge", "9223372036854775808"]),
        (Exact, args(&["SET", "edge", edge])),
        (Exact, args(&["SET", "long", long])),
        (Exact, &["SET", "empty", ""]),
        (Exact, &["INCR", "counter"]),
        (Exact, &["INCRBYFLOAT", "fl", "2.5"]),
        (Exact, &["OBJECT", "ENCODING", "int"]),
        (Exact, &["OBJECT", "ENCODING", "neg"]),
        (Exact, &["OBJECT", "ENCODING", "lead0"]),
        (Exact, &["OBJECT", "ENCODING", "plus"]),
        (Exact, &["OBJECT", "ENCODING", "float"]),
        (Exact, &["OBJECT", "ENCODING", "min"]),
        (Exact, &["OBJECT", "ENCODING", "huge"]),
        (Exact, &["OBJECT", "ENCODING", "edge"]),
        (Exact, &["OBJECT", "ENCODING", "long"]),
        (Exact, &["OBJECT", "ENCODING", "empty"]),
        (Exact, &["OBJECT", "ENCODING", "counter"]),
        (Exact, &["OBJECT", "ENCODING", "fl"]),
        // Changed in place: raw, whatever the contents.
        (Exact, &["SET", "app", "12"]),
        (Exact, &["APPEND", "app", "3"]),
        (Exact, &["OBJECT", "ENCODING", "app"]),
        (Exact, &["OBJECT", "REFCOUNT", "app"]),
        // The value keeps what it is under a new name or in another db.
        (Exact, &["RENAME", "app", "app2"]),
        (Exact, &["OBJECT", "ENCODING", "app2"]),
        (Exact, &["MOVE", "app2", "1"]),
        (Exact, &["SELECT", "1"]),
        (Exact, &["OBJECT", "ENCODING", "app2"]),
        (Exact, &["COPY", "app2", "app3"]),
        (Exact, &["OBJECT", "ENCODING", "app3"]),
        (Exact, &["SELECT", "0"]),
        (Exact, &["APPEND", "newapp", "12"]),
        (Exact, &["OBJECT", "ENCODING", "newapp"]),
        (Exact, &["SET", "sr", "1234"]),
        (Exact, &["SETRANGE", "sr", "0", ""]),
        (Exact, &["OBJECT", "ENCODING", "sr"]),
        (Exact, &["SETRANGE", "sr", "1", "3"]),
        (Exact, &["OBJECT", "ENCODING", "sr"]),
        (Exact, &["SET", "sr", "1234"]),
        (Exact, &["OBJECT", "ENCODING", "sr"]),
        (Exact, &["SETBIT", "bits", "3", "1"]),
        (Exact, &["OBJECT", "ENCODING", "bits"]),
        (Exact, &["BITOP", "NOT", "notbits", "bits"]),
        (Exact, &["OBJECT", "ENCODING", "notbits"]),
        (Exact, &["BITFIELD", "bf", "SET", "u8", "0", "1"]),
        (Exact, &["OBJECT", "ENCODING", "bf"]),
        // Shared integers.
        (Exact, &["SET", "shared", "9999"]),
        (Exact, &["SET", "unshared", "10000"]),
        (Exact, &["OBJECT", "REFCOUNT", "shared"]),
        (Exact, &["OBJECT", "REFCOUNT", "unshared"]),
        (Exact, &["OBJECT", "REFCOUNT", "neg"]),
        (Exact, &["OBJECT", "REFCOUNT", "long"]),
        (Exact, &["OBJECT", "REFCOUNT", "counter"]),
        // Collections.
        (Exact, &["RPUSH", "list", "a", "1"]),
        (Exact, &["OBJECT", "ENCODING", "list"]),
        (Exact, &["OBJECT", "REFCOUNT", "list"]),
        (Exact, &["HSET", "hash", "a", "1"]),
        (Exact, &["OBJECT", "ENCODING", "hash"]),
        (Exact, args(&["HSET", "longh", long_field, "1"])),
        (Exact, &["OBJECT", "ENCODING", "longh"]),
        (Exact, &hset_many),
        (Exact, &["OBJECT", "ENCODING", "bigh"]),
        (Exact, &["SADD", "ints", "1", "2", "-3"]),
        (Exact, &["OBJECT", "ENCODING", "ints"]),
        (Exact, &["SADD", "strs", "1", "a"]),
        (Exact, &["OBJECT", "ENCODING", "strs"]),
        (Exact, &sadd_many),
        (Exact, &["OBJECT", "ENCODING", "bigints"]),
        (Exact, &["ZADD", "z", "1", "a"]),
        (Exact, &["OBJECT", "ENCODING", "z"]),
        (Exact, &zadd_many),
        (Exact, &["OBJECT", "ENCODING", "bigz"]),
        (Exact, args(&["ZADD", "longz", "1", long_field])),
        (Exact, &["OBJECT", "ENCODING", "longz"]),
        (Exact, &["XADD", "stream", "1-1", "f", "v"]),
        (Exact, &["OBJECT", "ENCODING", "stream"]),
        // Thresholds from the configuration.
        (Exact, &["CONFIG", "SET", "hash-max-listpack-entries", "2"]),
        (Exact, &["CONFIG", "SET", "set-max-intset-entries", "2"]),
        (Exact, &["CONFIG", "SET", "zset-max-listpack-entries", "2"]),
        (Exact, &["CONFIG", "SET", "zset-max-listpack-value", "3"]),
        (Exact, &["HSET", "h3", "a", "1", "b", "2", "c", "3"]),
        (Exact, &["OBJECT", "ENCODING", "h3"]),
        (Exact, &["SADD", "s3", "1", "2", "3"]),
        (Exact, &["OBJECT", "ENCODING", "s3"]),
        (Exact, &["ZADD", "z3", "1", "a", "2", "b", "3", "c"]),
        (Exact, &["OBJECT", "ENCODING", "z3"]),
        (Exact, &["ZADD", "zlong", "1", "abcd"]),
        (Exact, &["OBJECT", "ENCODING", "zlong"]),
        // Conversions are one-way: shrinking does not bring listpacks back.
        (Exact, &["HDEL", "h3", "a", "b"]),
        (Exact, &["OBJECT", "ENCODING", "h3"]),
        (Exact, &["SREM", "s3", "1", "2"]),
        (Exact, &["OBJECT", "ENCODING", "s3"]),
        (Exact, &["ZREM", "z3", "a", "b"]),
        (Exact, &["OBJECT", "ENCODING", "z3"]),
        (Exact, &["HSET", "h2", "a", "1", "b", "2"]),
        (Exact, &["OBJECT", "ENCODING", "h2"]),
        (Exact, &["HDEL", "h2", "a"]),
        (Exact, &["OBJECT", "ENCODING", "h2"]),
        // Errors and missing keys.
        (Exact, &["OBJECT", "ENCODING", "missing"]),
        (Exact, &["OBJECT", "REFCOUNT", "missing"]),
        (Exact, &["OBJECT", "IDLETIME", "missing"]),
        (Exact, &["OBJECT", "FREQ", "missing"]),
        (Exact, &["OBJECT", "FREQ", "int"]),
        (Exact, &["OBJECT", "ENCODING"]),
        (Exact, &["OBJECT", "ENCODING", "a", "b"]),
        (Exact, &["OBJECT", "NOPE", "a"]),
        (Exact, &["OBJECT"]),
        (Exact, &["OBJECT", "HELP"]),
        (Exact, &["OBJECT", "help", "extra"]),
        (Skip, &["HELLO", "3"]),
        (Exact, &["OBJECT", "ENCODING", "missing"]),
        (Exact, &["OBJECT", "REFCOUNT", "missing"]),
        (Exact, &["OBJECT", "HELP"]),
    ];
    compare(&script);
}

#[test]
fn idle_time_and_frequency_follow_the_policy() {
    // A DUMP payload made by the server itself, restored with a set idle
    // time or counter, reads back exactly (a second boundary may pass:
    // IDLETIME is compared after both servers answered).
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    for addr in [server.local_addr(), real.addr] {
        let mut client = common::client(addr);
        let run = |client: &mut Client, args: &[&str]| client.command(args).expect("reply");
        run(&mut client, &["SET", "k", "v"]);
        let restore = |client: &mut Client, key: &str, option: &str, value: &str| {
            let mut args: Vec<Vec<u8>> =
                vec![b"RESTORE".to_vec(), key.as_bytes().to_vec(), b"0".to_vec()];
            let Frame::Bulk(bytes) = client.command(&["DUMP", "k"]).expect("dump") else {
                panic!("no payload");
            };
            args.push(bytes);
            args.push(option.as_bytes().to_vec());
            args.push(value.as_bytes().to_vec());
            client.command(&args).expect("restore")
        };
        assert_eq!(
            restore(&mut client, "idle", "IDLETIME", "1000"),
            Frame::Simple("OK".into())
        );
        let Frame::Integer(idle) = run(&mut client, &["OBJECT", "IDLETIME", "idle"]) else {
            panic!("IDLETIME is not an integer");
        };
        assert!((1000..=1001).contains(&idle), "{addr}: idle {idle}");
        // Keys of every length keep a clock (19-22 bytes is a corner for
        // respd, whose short keys carry it inline).
        for key in [
            "k19-123456789012345",
            "k22-123456789012345678",
            "k40".repeat(10).as_str(),
        ] {
            assert_eq!(
                restore(&mut client, key, "IDLETIME", "2000"),
                Frame::Simple("OK".into())
            );
            let Frame::Integer(idle) = run(&mut client, &["OBJECT", "IDLETIME", key]) else {
                panic!("IDLETIME is not an integer");
            };
            assert!((2000..=2001).contains(&idle), "{addr} {key}: idle {idle}");
            run(&mut client, &["RENAME", key, "renamed-to-twenty-b"]);
            let Frame::Integer(idle) =
                run(&mut client, &["OBJECT", "IDLETIME", "renamed-to-twenty-b"])
            else {
                panic!("IDLETIME is not an integer");
            };
            assert!(
                idle <= 1,
                "{addr} {key}: RENAME's lookup touches, idle {idle}"
            );
        }
        // OBJECT, TYPE, EXISTS and TTL do not touch it; GET does.
        run(&mut client, &["TYPE", "idle"]);
        run(&mut client, &["EXISTS", "idle"]);
        run(&mut client, &["TTL", "idle"]);
        run(&mut client, &["OBJECT", "ENCODING", "idle"]);
        let Frame::Integer(idle) = run(&mut client, &["OBJECT", "IDLETIME", "idle"]) else {
            panic!("IDLETIME is not an integer");
        };
        assert!(idle >= 1000, "{addr}: a look touched the key");
        run(&mut client, &["GET", "idle"]);
        let Frame::Integer(idle) = run(&mut client, &["OBJECT", "IDLETIME", "idle"]) else {
            panic!("IDLETIME is not an integer");
        };
        assert!(idle <= 1, "{addr}: GET did not touch the key");
        // FREQ is refused under LRU, IDLETIME under LFU.
        let lfu_error = run(&mut client, &["OBJECT", "FREQ", "idle"]);
        assert!(matches!(lfu_error, Frame::Error(_)));
        assert_eq!(
            run(
                &mut client,
                &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]
            ),
            Frame::Simple("OK".into())
        );
        // No decay: a minute turning between two commands would take one.
        assert_eq!(
            run(&mut client, &["CONFIG", "SET", "lfu-decay-time", "0"]),
            Frame::Simple("OK".into())
        );
        let lru_error = run(&mut client, &["OBJECT", "IDLETIME", "idle"]);
        assert_eq!(
            lru_error,
            Frame::Error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.".into())
        );
        assert_eq!(
            restore(&mut client, "hot", "FREQ", "100"),
            Frame::Simple("OK".into())
        );
        assert_eq!(
            run(&mut client, &["OBJECT", "FREQ", "hot"]),
            Frame::Integer(100)
        );
        // A new key starts at 5; its first access always counts.
        run(&mut client, &["SET", "new", "v"]);
        assert_eq!(
            run(&mut client, &["OBJECT", "FREQ", "new"]),
            Frame::Integer(5)
        );
        run(&mut client, &["GET", "new"]);
        assert_eq!(
            run(&mut client, &["OBJECT", "FREQ", "new"]),
            Frame::Integer(6)
        );
        // Overwriting keeps the counter (and its write lookup counts).
        run(&mut client, &["SET", "new", "w"]);
        let Frame::Integer(freq) = run(&mut client, &["OBJECT", "FREQ", "new"]) else {
            panic!("FREQ is not an integer");
        };
        assert!((6..=7).contains(&freq), "{addr}: freq {freq}");
        // A counter at 255 stays there.
        assert_eq!(
            restore(&mut client, "max", "FREQ", "255"),
            Frame::Simple("OK".into())
        );
        run(&mut client, &["GET", "max"]);
        assert_eq!(
            run(&mut client, &["OBJECT", "FREQ", "max"]),
            Frame::Integer(255)
        );
        // The policy names Redis accepts, and the one it refuses.
        let refused = run(&mut client, &["CONFIG", "SET", "maxmemory-policy", "lru"]);
        assert_eq!(refused, Frame::Error("ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction".into()), "{addr}");
        for setting in [
            ["lfu-log-factor", "0"],
            ["lfu-decay-time", "0"],
            ["maxmemory-policy", "volatile-ttl"],
        ] {
            let mut args = vec!["CONFIG", "SET"];
            args.extend(setting);
            assert_eq!(
                run(&mut client, &args),
                Frame::Simple("OK".into()),
                "{setting:?}"
            );
        }
        let shown = run(&mut client, &["CONFIG", "GET", "lfu-decay-time"]);
        let expected = ["lfu-decay-time", "0"].map(|s| Frame::Bulk(s.as_bytes().to_vec()));
        assert_eq!(shown, Frame::Array(expected.to_vec()), "{addr}");
    }
}

/// `redis-cli <mode>` (`--bigkeys` or `--memkeys`) against `port`, without
/// the progress lines (they follow the SCAN order, which is each server's
/// own), or None when redis-cli is not installed.
fn cli_scan(port: u16, mode: &str) -> Option<Vec<String>> {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let mut child = Command::new("redis-cli")
        .args(["-p", &port.to_string(), mode])
        .args(common::cli_auth_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("redis-cli {mode} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    Some(
        text.lines()
            .filter(|line| !line.starts_with('[') && !line.starts_with('#'))
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn redis_cli_bigkeys_finds_the_same_keys() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let data: &[(Compare, &[&str])] = &[
        (
            Exact,
            &["MSET", "s1", "hello", "s2", "a longer string value"],
        ),
        (Exact, &["RPUSH", "l1", "a", "b", "c", "d"]),
        (Exact, &["RPUSH", "l2", "a"]),
        (Exact, &["HSET", "h1", "a", "1", "b", "2"]),
        (Exact, &["SADD", "set1", "x", "y", "z", "w", "v"]),
        (Exact, &["ZADD", "z1", "1", "a", "2", "b"]),
        (Exact, &["XADD", "x1", "1-1", "f", "v"]),
    ];
    run_script(server.local_addr(), data);
    run_script(real.addr, data);
    let Some(ours) = cli_scan(server.local_addr().port(), "--bigkeys") else {
        return;
    };
    assert!(ours
        .iter()
        .any(|line| line.contains("Biggest   list found '\"l1\"' has 4 items")));
    assert_eq!(Some(ours), cli_scan(real.addr.port(), "--bigkeys"));
}

/// `--memkeys` line by line with the byte counts taken out: MEMORY USAGE
/// measures each server's own layout, but the biggest key of each type
/// and the number of keys of each type are the same.
fn without_sizes(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|line| {
            if let Some(at) = line.find(" has ") {
                line[..at].to_string()
            } else if let Some(at) = line.find(" with ") {
                line[..at].to_string()
            } else {
                line
            }
        })
        .collect()
}

#[test]
fn redis_cli_memkeys_finds_the_same_keys() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    // Two keys of each type, one far bigger than the other, so that the
    // biggest is the same whatever each server's per-entry overhead.
    let leak = |text: String| -> &'static str { Box::leak(text.into_boxed_str()) };
    let long = leak("v".repeat(2000));
    let mut rpush = vec!["RPUSH", "bigl"];
    let mut hset = vec!["HSET", "bigh"];
    let mut sadd = vec!["SADD", "bigset"];
    let mut zadd = vec!["ZADD", "bigz"];
    // One entry far over the 4096 bytes a new stream node is preallocated
    // with: below that, every small stream reports the same size.
    let mut xadd = vec!["XADD", "bigx", "1-1"];
    for word in words("member-with-some-length-", 300) {
        let word = leak(word);
        rpush.push(word);
        hset.extend([word, word]);
        sadd.push(word);
        zadd.extend(["1", word]);
        xadd.extend([word, word]);
    }
    let rpush = args(&rpush);
    let hset = args(&hset);
    let sadd = args(&sadd);
    let zadd = args(&zadd);
    let xadd = args(&xadd);
    let mset = args(&["MSET", "smalls", "x", "bigs", long]);
    let data: &[(Compare, &[&str])] = &[
        (Exact, mset),
        (Exact, &["RPUSH", "smalll", "a"]),
        (Exact, rpush),
        (Exact, &["HSET", "smallh", "a", "1"]),
        (Exact, hset),
        (Exact, &["SADD", "smallset", "1"]),
        (Exact, sadd),
        (Exact, &["ZADD", "smallz", "1", "a"]),
        (Exact, zadd),
        (Exact, &["XADD", "smallx", "1-1", "f", "v"]),
        (Exact, xadd),
    ];
    run_script(server.local_addr(), data);
    run_script(real.addr, data);
    let Some(ours) = cli_scan(server.local_addr().port(), "--memkeys") else {
        return;
    };
    let ours = without_sizes(ours);
    for kind in ["list", "hash", "string", "set", "zset", "stream"] {
        assert!(
            ours.iter().any(|line| line.starts_with("Biggest")
                && line.contains(&format!(" {kind} found '\"big"))),
            "{kind}: {ours:?}"
        );
    }
    let theirs = cli_scan(real.addr.port(), "--memkeys").map(without_sizes);
    assert_eq!(Some(ours), theirs);
}
