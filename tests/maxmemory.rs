//! maxmemory and eviction: the OOM replies, CONFIG GET/SET of every
//! setting and OBJECT's clock errors compared with a real Redis (skipped
//! when redis-server is not installed), and each policy's choice of
//! victims, on respd alone.

mod common;

use common::script::{compare_with_redis as compare, Compare};
use common::{start, RealRedis};
use respd::resp::Frame;
use respd::Client;

use Compare::{Exact, Skip};

#[test]
fn settings_read_and_write_as_in_redis() {
    let mut script: Vec<(Compare, &[&str])> = vec![
        (Exact, &["CONFIG", "SET", "maxmemory", "100mb"]),
        (Exact, &["CONFIG", "GET", "maxmemory"]),
        (Exact, &["CONFIG", "SET", "maxmemory", "1gb"]),
        (Exact, &["CONFIG", "GET", "maxmemory"]),
        (Exact, &["CONFIG", "SET", "maxmemory", "12345"]),
        (Exact, &["CONFIG", "GET", "maxmemory"]),
        (Exact, &["CONFIG", "SET", "maxmemory", "lots"]),
        (Exact, &["CONFIG", "SET", "maxmemory", "-1"]),
        (Exact, &["CONFIG", "SET", "maxmemory", "0"]),
        (Exact, &["CONFIG", "SET", "maxmemory-policy", "nonsense"]),
        (Exact, &["CONFIG", "SET", "maxmemory-samples", "0"]),
        (Exact, &["CONFIG", "SET", "maxmemory-samples", "10"]),
        (Exact, &["CONFIG", "GET", "maxmemory-samples"]),
        (
            Exact,
            &["CONFIG", "SET", "maxmemory-eviction-tenacity", "101"],
        ),
        (
            Exact,
            &["CONFIG", "SET", "maxmemory-eviction-tenacity", "50"],
        ),
        (Exact, &["CONFIG", "GET", "maxmemory-eviction-tenacity"]),
        (Exact, &["CONFIG", "SET", "lfu-log-factor", "-1"]),
        (Exact, &["CONFIG", "SET", "lfu-log-factor", "20"]),
        (Exact, &["CONFIG", "GET", "lfu-log-factor"]),
        (Exact, &["CONFIG", "SET", "lfu-decay-time", "5"]),
        (Exact, &["CONFIG", "GET", "lfu-decay-time"]),
        (Compare::Pairs, &["CONFIG", "GET", "maxmemory*"]),
        (Exact, &["CLIENT", "NO-EVICT", "on"]),
        (Exact, &["CLIENT", "NO-EVICT", "off"]),
        (Exact, &["CLIENT", "NO-EVICT", "maybe"]),
    ];
    for policy in respd::store::access::POLICIES {
        let set: &'static [&'static str] =
            Box::leak(Box::new(["CONFIG", "SET", "maxmemory-policy", policy]));
        script.push((Exact, set));
        script.push((Exact, &["CONFIG", "GET", "maxmemory-policy"]));
    }
    script.push((Exact, &["CONFIG", "SET", "maxmemory-policy", "noeviction"]));
    compare(&script);
}

#[test]
fn out_of_memory_refuses_writes_as_redis_does() {
    compare(&[
        (Exact, &["SET", "kept", "value"]),
        (Exact, &["CONFIG", "SET", "maxmemory", "1"]),
        (Exact, &["SET", "x", "1"]),
        (Exact, &["LPUSH", "l", "a"]),
        (Exact, &["APPEND", "kept", "more"]),
        (Exact, &["GET", "kept"]),
        (Exact, &["STRLEN", "kept"]),
        (Exact, &["INCR", "counter"]),
        // DEL and other commands that free memory still run.
        (Exact, &["EXPIRE", "kept", "100"]),
        (Exact, &["PING"]),
        // MULTI: anything queued is refused, EXEC aborts, DISCARD works.
        (Exact, &["MULTI"]),
        (Exact, &["GET", "kept"]),
        (Exact, &["EXEC"]),
        (Exact, &["MULTI"]),
        (Exact, &["SET", "y", "1"]),
        (Exact, &["DISCARD"]),
        (Exact, &["DEL", "kept"]),
        (Exact, &["CONFIG", "SET", "maxmemory", "0"]),
        (Exact, &["SET", "x", "1"]),
        (Skip, &["FLUSHALL"]),
    ]);
}

#[test]
fn exec_with_a_denyoom_command_queued_aborts_over_the_limit() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    for addr in [server.local_addr(), real.addr] {
        let mut client = common::client(addr);
        let mut admin = common::client(addr);
        client.command(&["MULTI"]).expect("multi");
        client.command(&["SET", "x", "1"]).expect("queued");
        client.command(&["GET", "x"]).expect("queued");
        admin
            .command(&["CONFIG", "SET", "maxmemory", "1"])
            .expect("config");
        let reply = client.command(&["EXEC"]).expect("exec");
        admin
            .command(&["CONFIG", "SET", "maxmemory", "0"])
            .expect("config");
        assert_eq!(
            reply,
            Frame::Error(
                "EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.".into()
            ),
            "{addr}"
        );
        // Only reads queued: EXEC runs.
        client.command(&["MULTI"]).expect("multi");
        client.command(&["GET", "x"]).expect("queued");
        admin
            .command(&["CONFIG", "SET", "maxmemory", "1"])
            .expect("config");
        let reply = client.command(&["EXEC"]).expect("exec");
        admin
            .command(&["CONFIG", "SET", "maxmemory", "0"])
            .expect("config");
        assert_eq!(reply, Frame::Array(vec![Frame::NullBulk]), "{addr}");
    }
}

#[test]
fn object_clock_errors_follow_the_policy() {
    compare(&[
        (Exact, &["SET", "k", "v"]),
        (Exact, &["OBJECT", "FREQ", "k"]),
        (Exact, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]),
        (Exact, &["OBJECT", "IDLETIME", "k"]),
        (
            Exact,
            &["CONFIG", "SET", "maxmemory-policy", "volatile-lfu"],
        ),
        (Exact, &["OBJECT", "IDLETIME", "k"]),
        (Exact, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
        (Exact, &["OBJECT", "FREQ", "k"]),
        (Exact, &["CONFIG", "SET", "maxmemory-policy", "noeviction"]),
        (Skip, &["FLUSHALL"]),
    ]);
}

#[test]
fn info_has_redis_memory_fields() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let fields = |addr| {
        let mut client = common::client(addr);
        let Frame::Bulk(text) = client.command(&["INFO", "memory"]).expect("info") else {
            panic!("INFO is a bulk string");
        };
        String::from_utf8_lossy(&text)
            .lines()
            .filter_map(|line| line.split_once(':').map(|(name, _)| name.to_string()))
            .collect::<Vec<_>>()
    };
    let ours = fields(server.local_addr());
    let theirs = fields(real.addr);
    for name in [
        "used_memory",
        "used_memory_human",
        "used_memory_rss",
        "used_memory_peak",
        "used_memory_peak_human",
        "used_memory_dataset",
        "maxmemory",
        "maxmemory_human",
        "maxmemory_policy",
        "mem_fragmentation_ratio",
        "mem_allocator",
    ] {
        assert!(theirs.iter().any(|f| f == name), "Redis lacks {name}");
        assert!(ours.iter().any(|f| f == name), "respd lacks {name}");
    }
    // Every field respd has, Redis has too, in the same order.
    let common: Vec<_> = theirs.iter().filter(|f| ours.contains(f)).collect();
    let ours_common: Vec<_> = ours.iter().filter(|f| theirs.contains(f)).collect();
    assert_eq!(common, ours_common);
    let mut client = common::client(server.local_addr());
    let Frame::Bulk(stats) = client.command(&["INFO", "stats"]).expect("info") else {
        panic!("INFO is a bulk string");
    };
    assert!(String::from_utf8_lossy(&stats).contains("evicted_keys:0"));
}

// ----- eviction, on respd alone --------------------------------------------

fn int(frame: Frame) -> i64 {
    match frame {
        Frame::Integer(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn info_field(client: &mut Client, section: &str, name: &str) -> i64 {
    let Frame::Bulk(text) = client.command(&["INFO", section]).expect("info") else {
        panic!("INFO is a bulk string");
    };
    let text = String::from_utf8_lossy(&text).into_owned();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// A server with `count` keys of 1 KB each, `volatile` of which have a
/// time to live (the first ones), and maxmemory set so that about half of
/// them fit, under `policy`.
fn crowded(policy: &str, count: usize, volatile: usize) -> (respd::ServerHandle, Client) {
    let server = start();
    let mut client = common::client(server.local_addr());
    let value = "v".repeat(1000);
    for i in 0..count {
        let key = format!("key:{i:05}");
        if i < volatile {
            // Later keys expire later: volatile-ttl takes the first ones.
            let ttl = (10_000 + i).to_string();
            client
                .command(&["SET", &key, &value, "EX", &ttl])
                .expect("set");
        } else {
            client.command(&["SET", &key, &value]).expect("set");
        }
    }
    let used = info_field(&mut client, "memory", "used_memory");
    let data = used - respd::commands::memory::STARTUP_BYTES as i64;
    let limit = (used - data / 2).to_string();
    // No time limit on evicting: what one command evicts must not depend
    // on the machine's speed.
    client
        .command(&["CONFIG", "SET", "maxmemory-eviction-tenacity", "100"])
        .expect("tenacity");
    client
        .command(&["CONFIG", "SET", "maxmemory-policy", policy])
        .expect("policy");
    client
        .command(&["CONFIG", "SET", "maxmemory", &limit])
        .expect("maxmemory");
    (server, client)
}

fn exists(client: &mut Client, key: &str) -> bool {
    int(client.command(&["EXISTS", key]).expect("exists")) == 1
}

#[test]
fn volatile_policies_never_evict_a_key_without_ttl() {
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let (_server, mut client) = crowded(policy, 400, 100);
        // A write triggers eviction: the 100 volatile keys may go, not
        // enough to get under the limit, so the write is refused.
        let reply = client.command(&["SET", "new", "value"]).expect("set");
        assert_eq!(
            reply,
            Frame::Error("OOM command not allowed when used memory > 'maxmemory'.".into()),
            "{policy}"
        );
        for i in 100..400 {
            assert!(
                exists(&mut client, &format!("key:{i:05}")),
                "{policy}: key {i}"
            );
        }
        for i in 0..100 {
            assert!(
                !exists(&mut client, &format!("key:{i:05}")),
                "{policy}: key {i}"
            );
        }
        assert_eq!(
            info_field(&mut client, "stats", "evicted_keys"),
            100,
            "{policy}"
        );
    }
}

#[test]
fn volatile_ttl_evicts_the_nearest_expiry_first() {
    let (_server, mut client) = crowded("volatile-ttl", 400, 400);
    // More samples per round: fewer keys that are never looked at.
    client
        .command(&["CONFIG", "SET", "maxmemory-samples", "10"])
        .expect("config");
    client.command(&["SET", "new", "value"]).expect("set");
    let evicted = info_field(&mut client, "stats", "evicted_keys") as usize;
    assert!(evicted > 0 && evicted < 400);
    // The survivors are mostly the latest to expire: the pool picks the
    // best of samples, and a key never sampled survives (as in Redis).
    let survivors: Vec<usize> = (0..400)
        .filter(|i| exists(&mut client, &format!("key:{i:05}")))
        .collect();
    // Sampling is random: a few early keys are never sampled and survive
    // (the bound leaves room for that, not for a policy that ignores TTLs).
    let early = survivors.iter().filter(|&&i| i < evicted / 2).count();
    assert!(
        early <= survivors.len() / 5,
        "keys expiring soonest survived: {survivors:?}"
    );
    let late = (400 - survivors.len()..400)
        .filter(|i| survivors.contains(i))
        .count();
    assert!(
        late * 10 >= survivors.len() * 8,
        "keys expiring last went: {survivors:?}"
    );
}

#[test]
fn allkeys_policies_get_under_the_limit() {
    for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random"] {
        let (_server, mut client) = crowded(policy, 400, 0);
        assert_eq!(
            client.command(&["SET", "new", "value"]).expect("set"),
            Frame::Simple("OK".into()),
            "{policy}"
        );
        let used = info_field(&mut client, "memory", "used_memory");
        let max = info_field(&mut client, "memory", "maxmemory");
        assert!(used <= max, "{policy}: {used} > {max}");
        // The SET itself may tip memory over again, and the next command
        // then evicts: a random pick may be the new key (as in Redis).
        if policy != "allkeys-random" {
            assert!(exists(&mut client, "new"), "{policy}");
        }
        let evicted = info_field(&mut client, "stats", "evicted_keys");
        assert!((150..=260).contains(&evicted), "{policy}: {evicted}");
    }
}

#[test]
fn allkeys_lru_keeps_the_keys_in_use() {
    // Filled without a limit (with one, every command evicts first).
    let (_server, mut client) = crowded("allkeys-lru", 400, 0);
    client
        .command(&["CONFIG", "SET", "maxmemory", "0"])
        .expect("config");
    client.command(&["FLUSHALL"]).expect("flush");
    let value = "v".repeat(1000);
    for i in 0..400 {
        client
            .command(&["SET", &format!("key:{i:05}"), &value])
            .expect("set");
    }
    // The last 100 keys are read now; the rest are two seconds older (the
    // LRU clock counts seconds).
    std::thread::sleep(std::time::Duration::from_millis(2100));
    for i in 300..400 {
        client
            .command(&["GET", &format!("key:{i:05}")])
            .expect("get");
    }
    let used = info_field(&mut client, "memory", "used_memory");
    client
        .command(&[
            "CONFIG",
            "SET",
            "maxmemory",
            &(used - 100 * 1100).to_string(),
        ])
        .expect("config");
    client.command(&["SET", "new", "value"]).expect("set");
    let gone: Vec<usize> = (300..400)
        .filter(|i| !exists(&mut client, &format!("key:{i:05}")))
        .collect();
    assert!(gone.is_empty(), "keys in use were evicted: {gone:?}");
}

#[test]
fn tenacity_bounds_the_keys_one_command_evicts() {
    // Tenacity 0 gives each command no time: it evicts one batch of 16
    // keys (the clock is read every 16), then goes ahead over the limit,
    // as Redis's EVICT_RUNNING; the next command evicts the next batch.
    let (_server, mut client) = crowded("allkeys-random", 400, 0);
    client
        .command(&["CONFIG", "SET", "maxmemory-eviction-tenacity", "0"])
        .expect("tenacity");
    // Half the keys still there must go now.
    let max = info_field(&mut client, "memory", "maxmemory");
    let used = info_field(&mut client, "memory", "used_memory");
    let limit = (max - (used - respd::commands::memory::STARTUP_BYTES as i64) / 2).to_string();
    client
        .command(&["CONFIG", "SET", "maxmemory", &limit])
        .expect("maxmemory");
    // Every command evicts first, INFO too: each takes 16 keys.
    let before = info_field(&mut client, "stats", "evicted_keys");
    let ok = Frame::Simple("OK".into());
    assert_eq!(client.command(&["SET", "new", "value"]).expect("set"), ok);
    assert_eq!(
        info_field(&mut client, "stats", "evicted_keys"),
        before + 32
    );
    // Still over the limit: the spell over it is timed (INFO stats).
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(info_field(&mut client, "stats", "current_eviction_exceeded_time") >= 50);
    // No limit: one command gets all the way under.
    client
        .command(&["CONFIG", "SET", "maxmemory-eviction-tenacity", "100"])
        .expect("tenacity");
    let used = info_field(&mut client, "memory", "used_memory");
    let max = info_field(&mut client, "memory", "maxmemory");
    assert!(used <= max, "{used} > {max}");
    assert!(info_field(&mut client, "stats", "evicted_keys") > before + 60);
    assert_eq!(
        info_field(&mut client, "stats", "current_eviction_exceeded_time"),
        0
    );
    assert!(info_field(&mut client, "stats", "total_eviction_exceeded_time") >= 50);
}

#[test]
fn noeviction_refuses_writes_and_serves_reads_and_del() {
    let (_server, mut client) = crowded("noeviction", 100, 0);
    let oom = Frame::Error("OOM command not allowed when used memory > 'maxmemory'.".into());
    assert_eq!(client.command(&["SET", "new", "v"]).expect("set"), oom);
    assert_eq!(client.command(&["RPUSH", "list", "v"]).expect("rpush"), oom);
    assert!(matches!(
        client.command(&["GET", "key:00001"]).expect("get"),
        Frame::Bulk(_)
    ));
    assert_eq!(int(client.command(&["DEL", "key:00001"]).expect("del")), 1);
    assert_eq!(info_field(&mut client, "stats", "evicted_keys"), 0);
    // Deleting enough frees room for writes again.
    for i in 2..80 {
        client
            .command(&["DEL", &format!("key:{i:05}")])
            .expect("del");
    }
    assert_eq!(
        client.command(&["SET", "new", "v"]).expect("set"),
        Frame::Simple("OK".into())
    );
}

#[test]
fn evicted_keys_are_announced_and_logged_as_del() {
    let dir = tempdir();
    let conf = format!(
        "dir {}\nappendonly yes\nnotify-keyspace-events Ee\n",
        dir.display()
    );
    let server = common::start_with(&conf);
    let mut client = common::client(server.local_addr());
    let mut listener = common::client(server.local_addr());
    listener
        .command(&["SUBSCRIBE", "__keyevent@0__:evicted"])
        .expect("subscribe");
    let value = "v".repeat(1000);
    for i in 0..50 {
        client
            .command(&["SET", &format!("k{i}"), &value])
            .expect("set");
    }
    client
        .command(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"])
        .expect("policy");
    let used = info_field(&mut client, "memory", "used_memory");
    client
        .command(&["CONFIG", "SET", "maxmemory", &(used - 5_000).to_string()])
        .expect("maxmemory");
    client.command(&["SET", "trigger", "1"]).expect("set");
    let evicted = info_field(&mut client, "stats", "evicted_keys");
    assert!(evicted >= 4);
    listener
        .stream()
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let (Frame::Push(message) | Frame::Array(message)) = listener.read_reply().expect("event")
    else {
        panic!("expected a message");
    };
    assert_eq!(message[0], Frame::Bulk(b"message".to_vec()));
    assert_eq!(message[1], Frame::Bulk(b"__keyevent@0__:evicted".to_vec()));
    let Frame::Bulk(key) = &message[2] else {
        panic!("key");
    };
    // The AOF holds a DEL for the evicted key.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let needle = format!(
        "DEL\r\n${}\r\n{}\r\n",
        key.len(),
        String::from_utf8_lossy(key)
    );
    loop {
        let mut text = String::new();
        for entry in std::fs::read_dir(dir.join("appendonlydir"))
            .expect("aof dir")
            .flatten()
        {
            text.push_str(&String::from_utf8_lossy(
                &std::fs::read(entry.path()).unwrap_or_default(),
            ));
        }
        if text.contains(&needle) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no DEL in the AOF:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn tempdir() -> common::process::TempDir {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    common::process::TempDir::new(&format!("maxmemory-{}", N.fetch_add(1, Ordering::SeqCst)))
}

#[test]
fn a_cache_holds_under_a_write_load_bigger_than_its_limit() {
    let server = start();
    let mut client = common::client(server.local_addr());
    client
        .command(&["CONFIG", "SET", "maxmemory", "4mb"])
        .expect("config");
    client
        .command(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"])
        .expect("config");
    // 40 MB of writes through a 4 MB cache.
    let value = "x".repeat(1000);
    for i in 0..40_000 {
        let reply = client
            .command(&["SET", &format!("cache:{i}"), &value])
            .expect("set");
        assert_eq!(reply, Frame::Simple("OK".into()), "write {i}");
    }
    let used = info_field(&mut client, "memory", "used_memory");
    assert!(used <= 4 * 1024 * 1024, "used_memory {used}");
    let keys = int(client.command(&["DBSIZE"]).expect("dbsize"));
    assert!((1_000..4_000).contains(&keys), "{keys} keys");
    assert!(exists(&mut client, "cache:39999"));
}

/// Scripts over maxmemory, as Redis 7.0 treats them: without a shebang
/// the first command that may use memory is refused; with flags the
/// whole script is, unless it says `allow-oom` or `no-writes`.
#[cfg(feature = "scripting")]
#[test]
fn scripts_over_the_limit_follow_redis() {
    compare(&[
        (Exact, &["SET", "x", "123"]),
        (Exact, &["CONFIG", "SET", "maxmemory", "1"]),
        (Exact, &["EVAL", "redis.call('set','x',1) return 1", "1", "x"]),
        (Exact, &["EVAL", "return redis.pcall('set','x','y')", "1", "x"]),
        (Exact, &["EVAL", "return redis.call('get','x')", "1", "x"]),
        (Exact, &["EVAL", "#!lua flags=\nreturn 1", "0"]),
        (Exact, &["EVAL", "#!lua flags=allow-oom\nredis.call('set','x',1)\nreturn 1", "1", "x"]),
        (Exact, &["EVAL", "#!lua flags=no-writes\nreturn redis.call('get','x')", "0"]),
        (Exact, &["EVAL_RO", "return redis.call('get','x')", "1", "x"]),
        (Exact, &["CONFIG", "SET", "maxmemory", "0"]),
        (Exact, &["FUNCTION", "LOAD", "#!lua name=oomlib\nredis.register_function('f', function() return 1 end)\nredis.register_function{function_name='g', callback=function() return 2 end, flags={'no-writes'}}"]),
        (Exact, &["CONFIG", "SET", "maxmemory", "1"]),
        (Exact, &["FCALL", "f", "0"]),
        (Exact, &["FCALL", "g", "0"]),
        (Exact, &["FUNCTION", "DELETE", "oomlib"]),
        (Exact, &["CONFIG", "SET", "maxmemory", "0"]),
        (Exact, &["FUNCTION", "FLUSH"]),
        (Skip, &["FLUSHALL"]),
    ]);
}
