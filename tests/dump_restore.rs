//! DUMP, RESTORE and MIGRATE against a real redis-server 7.0: payloads
//! travel both ways for every type, small (compact encodings on Redis's
//! side) and large; RESTORE's options and errors match Redis's to the
//! byte; MIGRATE moves keys respd → redis, redis → respd and respd →
//! respd, with COPY, REPLACE, KEYS, AUTH, AUTH2 and Redis's error replies;
//! the append-only file logs RESTORE and MIGRATE as their effects.

mod common;
mod values;

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use common::RealRedis;
use respd::resp::Frame;
use respd::Client;
use values::{bulk, call, contents, error, fixtures, load, ok};

fn client(addr: SocketAddr) -> Client {
    common::client(addr)
}

#[test]
fn payloads_restore_both_ways_for_every_type() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let (mut r, mut d) = (client(redis.addr), client(server.local_addr()));
    load(&mut r);
    load(&mut d);
    let mut checked = 0;
    for (key, _) in fixtures() {
        let key = key.as_bytes();
        let expected = contents(&mut r, key);
        assert_eq!(
            contents(&mut d, key),
            expected,
            "{}",
            String::from_utf8_lossy(key)
        );
        // Redis's payload (compact encodings) into respd, and back.
        let from_redis = bulk(call(&mut r, &[&b"DUMP"[..], key]));
        let restored = [b"from-redis:", key].concat();
        ok(&mut d, &[&b"RESTORE"[..], &restored, b"0", &from_redis]);
        assert_eq!(contents(&mut d, &restored)[1..], expected[1..]);
        // respd's payload (plain encodings) into Redis.
        let from_respd = bulk(call(&mut d, &[&b"DUMP"[..], key]));
        let restored = [b"from-respd:", key].concat();
        ok(&mut r, &[&b"RESTORE"[..], &restored, b"0", &from_respd]);
        assert_eq!(contents(&mut r, &restored)[1..], expected[1..]);
        // And respd's payload into respd.
        let restored = [b"from-respd:", key].concat();
        ok(&mut d, &[&b"RESTORE"[..], &restored, b"0", &from_respd]);
        assert_eq!(contents(&mut d, &restored)[1..], expected[1..]);
        checked += 1;
    }
    assert_eq!(checked, fixtures().len());
    println!("{checked} keys restored both ways");
}

/// Runs `script` on both servers and compares the raw replies.
fn same_replies(respd: SocketAddr, redis: SocketAddr, script: &[Vec<Vec<u8>>]) -> usize {
    let (mut d, mut r) = (client(respd), client(redis));
    for args in script {
        let (mine, theirs) = (call(&mut d, args), call(&mut r, args));
        let shown: Vec<_> = args.iter().map(|a| String::from_utf8_lossy(a)).collect();
        assert_eq!(mine, theirs, "{shown:?}");
    }
    script.len()
}

fn args(words: &[&[u8]]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.to_vec()).collect()
}

#[test]
fn restore_options_and_errors_match_redis() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut d = client(server.local_addr());
    ok(&mut d, &["RPUSH", "src", "a", "b"]);
    let good = bulk(call(&mut d, &["DUMP", "src"]));
    let mut bad_crc = good.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 1;
    let too_new = common::forge_payload(&good[..good.len() - 10], 11);
    let version_10 = common::forge_payload(&good[..good.len() - 10], 10);
    let empty_list = common::forge_payload(b"\x01\x00", 9);
    let unknown_type = common::forge_payload(b"\x08\x00", 9);
    let truncated = common::forge_payload(&good[..good.len() - 12], 9);
    let far = b"4102444800000"; // 2100-01-01, in ms
    let g = &good[..];
    let script = vec![
        args(&[b"DUMP", b"nosuchkey"]),
        args(&[b"RESTORE", b"k", b"0", g]),
        args(&[b"RESTORE", b"k", b"0", g]),
        args(&[b"RESTORE", b"k", b"0", g, b"REPLACE"]),
        args(&[b"LRANGE", b"k", b"0", b"-1"]),
        args(&[b"RESTORE", b"k", b"0", b"junk"]),
        args(&[b"RESTORE", b"k", b"-1", g, b"REPLACE"]),
        args(&[b"RESTORE", b"new", b"-1", g]),
        args(&[b"RESTORE", b"new", b"1.5", g]),
        args(&[b"RESTORE", b"new", b"0", b""]),
        args(&[b"RESTORE", b"new", b"0", &bad_crc]),
        args(&[b"RESTORE", b"new", b"0", &too_new]),
        args(&[b"RESTORE", b"new", b"0", &empty_list]),
        args(&[b"RESTORE", b"new", b"0", &unknown_type]),
        args(&[b"RESTORE", b"new", b"0", &truncated]),
        args(&[b"RESTORE", b"new", b"0", g, b"foo"]),
        args(&[b"RESTORE", b"new", b"0", g, b"IDLETIME"]),
        args(&[b"RESTORE", b"new", b"0", g, b"IDLETIME", b"-1"]),
        args(&[b"RESTORE", b"new", b"0", g, b"IDLETIME", b"x"]),
        args(&[b"RESTORE", b"new", b"0", g, b"FREQ", b"256"]),
        args(&[b"RESTORE", b"new", b"0", g, b"FREQ", b"-1"]),
        args(&[
            b"RESTORE",
            b"new",
            b"0",
            g,
            b"IDLETIME",
            b"5",
            b"FREQ",
            b"5",
        ]),
        args(&[
            b"RESTORE",
            b"new",
            b"0",
            g,
            b"FREQ",
            b"5",
            b"IDLETIME",
            b"5",
        ]),
        args(&[b"RESTORE", b"k", b"0", g, b"FREQ", b"999"]),
        args(&[b"RESTORE", b"new", b"0", g, b"IDLETIME", b"100", b"REPLACE"]),
        args(&[b"RESTORE", b"v10", b"0", &version_10, b"FREQ", b"7"]),
        args(&[b"LRANGE", b"v10", b"0", b"-1"]),
        args(&[b"RESTORE", b"abs", far, g, b"ABSTTL"]),
        args(&[b"PEXPIRETIME", b"abs"]),
        args(&[b"RESTORE", b"abs", b"1", g, b"ABSTTL", b"REPLACE"]),
        args(&[b"EXISTS", b"abs"]),
        args(&[b"RESTORE", b"rel", b"100000", g]),
        args(&[b"PERSIST", b"rel"]),
        args(&[b"SET", b"str", b"x"]),
        args(&[b"RESTORE", b"str", b"0", g, b"REPLACE"]),
        args(&[b"TYPE", b"str"]),
        args(&[b"LRANGE", b"str", b"0", b"-1"]),
        args(&[b"RESTORE"]),
        args(&[b"DUMP"]),
    ];
    let cases = same_replies(server.local_addr(), redis.addr, &script);
    // A relative TTL counts from now; the tests do not time it exactly.
    let mut d = client(server.local_addr());
    ok(&mut d, &[&b"RESTORE"[..], b"ttl", b"100000", g]);
    let Frame::Integer(ttl) = call(&mut d, &["PTTL", "ttl"]) else {
        panic!()
    };
    assert!(ttl > 0 && ttl <= 100_000, "{ttl}");
    println!("{cases} RESTORE/DUMP cases identical to Redis");
}

#[test]
fn restore_fires_its_keyspace_event_and_wakes_blocked_clients() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut d = client(server.local_addr());
    ok(&mut d, &["RPUSH", "src", "a"]);
    let payload = bulk(call(&mut d, &["DUMP", "src"]));
    for addr in [server.local_addr(), redis.addr] {
        let mut admin = client(addr);
        ok(
            &mut admin,
            &["CONFIG", "SET", "notify-keyspace-events", "KEA"],
        );
        let mut listener = client(addr);
        call(&mut listener, &["SUBSCRIBE", "__keyevent@0__:restore"]);
        ok(&mut admin, &[&b"RESTORE"[..], b"key", b"0", &payload]);
        let event = listener.read_reply().expect("event");
        assert_eq!(
            event,
            Frame::Array(vec![
                Frame::Bulk(b"message".to_vec()),
                Frame::Bulk(b"__keyevent@0__:restore".to_vec()),
                Frame::Bulk(b"key".to_vec()),
            ])
        );
        // A client blocked on the key is served by the RESTORE.
        let mut blocked = client(addr);
        blocked.send(&["BLPOP", "waiting", "10"]).expect("send");
        std::thread::sleep(Duration::from_millis(100));
        ok(&mut admin, &[&b"RESTORE"[..], b"waiting", b"0", &payload]);
        assert_eq!(
            blocked.read_reply().expect("reply"),
            Frame::Array(vec![
                Frame::Bulk(b"waiting".to_vec()),
                Frame::Bulk(b"a".to_vec())
            ])
        );
    }
}

/// MIGRATE's replies from respd and from a redis-server, both sending the
/// same keys to the same kind of target.
#[test]
fn migrate_replies_match_redis() {
    let (Some(redis_source), Some(target)) = (RealRedis::start(), RealRedis::start()) else {
        return;
    };
    let server = common::start();
    // A target that accepts and never answers; a port nobody listens on.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port().to_string();
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let port = target.addr.port().to_string();
    let run = |source: SocketAddr| {
        let mut s = client(source);
        let mut t = client(target.addr);
        for key in ["a", "b", "c", "d"] {
            ok(&mut s, &["SET", key, "v"]);
        }
        ok(&mut s, &["RPUSH", "list", "x", "y"]);
        ok(&mut t, &["FLUSHALL"]);
        ok(&mut t, &["SET", "b", "old"]);
        let h = "127.0.0.1";
        let script: Vec<Vec<&str>> = vec![
            vec!["MIGRATE", h, &port, "a", "0", "5000"],
            vec!["EXISTS", "a"],
            vec!["MIGRATE", h, &port, "nosuchkey", "0", "5000"],
            vec!["MIGRATE", h, &port, "b", "0", "5000"],
            vec!["EXISTS", "b"],
            vec!["MIGRATE", h, &port, "b", "0", "5000", "COPY", "REPLACE"],
            vec!["EXISTS", "b"],
            vec!["MIGRATE", h, &port, "b", "0", "5000", "REPLACE"],
            vec!["EXISTS", "b"],
            vec!["MIGRATE", h, &port, "c", "3", "5000", "COPY"],
            vec![
                "MIGRATE", h, &port, "", "0", "5000", "KEYS", "c", "list", "nope",
            ],
            vec!["EXISTS", "c", "list"],
            vec!["MIGRATE", h, &port, "", "0", "5000", "KEYS", "nope"],
            vec!["MIGRATE", h, &port, "d", "0", "5000", "KEYS", "d"],
            vec!["MIGRATE", h, &port, "d", "0", "5000", "BOGUS"],
            vec!["MIGRATE", h, &port, "d", "0", "5000", "AUTH"],
            vec!["MIGRATE", h, &port, "d", "0", "5000", "AUTH2", "user"],
            vec!["MIGRATE", h, &port, "d", "zero", "5000"],
            vec!["MIGRATE", h, &port, "d", "0", "soon"],
            vec!["MIGRATE", h, &port, "d", "99", "5000"],
            vec!["MIGRATE", h, &port, "d", "0", "5000", "AUTH", "secret"],
            vec!["MIGRATE", h, &closed_port, "d", "0", "500"],
            vec!["MIGRATE", h, &silent_port, "d", "0", "300"],
            vec!["EXISTS", "d"],
            vec!["MIGRATE", h, &port],
        ];
        let mut replies: Vec<(String, Frame)> = script
            .iter()
            .map(|args| (args.join(" "), call(&mut s, args)))
            .collect();
        // What the target got from the source.
        for args in [
            &["GET", "a"][..],
            &["LRANGE", "list", "0", "-1"],
            &["SELECT", "3"],
            &["GET", "c"],
        ] {
            replies.push((format!("target: {}", args.join(" ")), call(&mut t, args)));
        }
        replies
    };
    let (mine, theirs) = (run(server.local_addr()), run(redis_source.addr));
    for ((command, mine), (_, theirs)) in mine.iter().zip(&theirs) {
        assert_eq!(mine, theirs, "{command}");
    }
    let total = mine.len();
    drop(silent);
    println!("{total} MIGRATE cases identical to Redis");
}

/// A connection that has tried the password the AUTH tests set (the reply
/// is ignored: most servers here have no password).
fn session(addr: SocketAddr) -> Client {
    let mut c = client(addr);
    call(&mut c, &["AUTH", "sesame"]);
    c
}

/// The values of every fixture key, read from `addr`.
fn snapshot(addr: SocketAddr) -> Vec<Vec<Vec<u8>>> {
    let mut c = session(addr);
    fixtures()
        .iter()
        .map(|(key, _)| contents(&mut c, key.as_bytes()))
        .collect()
}

/// MIGRATE of every fixture key (with TTLs on some) from `from` to `to`,
/// with the KEYS form; `from` must then be empty and `to` hold it all.
fn migrate_everything(from: SocketAddr, to: SocketAddr, auth: &[&str]) {
    let mut s = session(from);
    let expected = snapshot(from);
    ok(&mut s, &["PEXPIRE", "list:large", "500000"]);
    ok(&mut s, &["PEXPIREAT", "str:int", "4102444800000"]);
    let mut command: Vec<String> = [
        "MIGRATE",
        "127.0.0.1",
        &to.port().to_string(),
        "",
        "0",
        "5000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    command.extend(auth.iter().map(|a| a.to_string()));
    command.push("KEYS".into());
    command.extend(fixtures().iter().map(|(k, _)| k.to_string()));
    assert_eq!(call(&mut s, &command), Frame::Simple("OK".into()));
    assert_eq!(call(&mut s, &["DBSIZE"]), Frame::Integer(0));
    assert_eq!(snapshot(to), expected);
    let mut t = session(to);
    let Frame::Integer(ttl) = call(&mut t, &["PTTL", "list:large"]) else {
        panic!()
    };
    assert!(ttl > 0 && ttl <= 500_000, "{ttl}");
    // MIGRATE sends the time left, which the target adds to its clock.
    let Frame::Integer(at) = call(&mut t, &["PEXPIRETIME", "str:int"]) else {
        panic!()
    };
    assert!((at - 4102444800000).abs() < 60_000, "{at}");
    assert_eq!(call(&mut t, &["TTL", "str:short"]), Frame::Integer(-1));
}

#[test]
fn migrate_moves_every_type_between_respd_and_redis() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let other = common::start();
    load(&mut client(server.local_addr()));
    // respd → redis-server, then redis-server → respd, then respd → respd.
    let auth = common::migrate_auth();
    migrate_everything(server.local_addr(), redis.addr, &auth);
    migrate_everything(redis.addr, server.local_addr(), &auth);
    migrate_everything(server.local_addr(), other.local_addr(), &auth);
}

#[test]
fn migrate_authenticates_with_auth_and_auth2() {
    if common::as_test_user() {
        eprintln!("skipped as the test user: requirepass is the default user's password");
        return;
    }
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let locked = common::start_with("requirepass sesame");
    load(&mut client(server.local_addr()));
    // Into a respd with requirepass, with AUTH.
    migrate_everything(
        server.local_addr(),
        locked.local_addr(),
        &["AUTH", "sesame"],
    );
    // Into a redis-server with requirepass, with AUTH2 (default user).
    let mut r = client(redis.addr);
    ok(&mut r, &["CONFIG", "SET", "requirepass", "sesame"]);
    let mut l = client(locked.local_addr());
    ok(&mut l, &["AUTH", "sesame"]);
    let port = redis.addr.port().to_string();
    let migrate = |l: &mut Client, extra: &[&str]| {
        let mut command = vec!["MIGRATE", "127.0.0.1", &port, "str:short", "0", "5000"];
        command.extend_from_slice(extra);
        call(l, &command)
    };
    assert_eq!(
        error(migrate(&mut l, &[])),
        "ERR Target instance replied with error: NOAUTH Authentication required."
    );
    assert_eq!(
        error(migrate(&mut l, &["AUTH", "wrong"])),
        "ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(call(&mut l, &["EXISTS", "str:short"]), Frame::Integer(1));
    migrate_everything(
        locked.local_addr(),
        redis.addr,
        &["AUTH2", "default", "sesame"],
    );
}

#[test]
fn the_append_only_file_logs_restore_and_migrate_as_their_effects() {
    let dir = common::process::temp_dir("dump", "aof");
    let target = common::start();
    let conf = ["--appendonly", "yes", "--appendfsync", "always"];
    let first = common::process::respd(&dir, &conf);
    let mut c = client(first.addr);
    ok(&mut c, &["RPUSH", "src", "a", "b"]);
    ok(&mut c, &["SET", "gone", "x"]);
    ok(&mut c, &["SET", "moved", "x"]);
    let payload = bulk(call(&mut c, &["DUMP", "src"]));
    // A relative TTL is logged as a deadline, not restarted at load.
    ok(&mut c, &[&b"RESTORE"[..], b"ttl", b"100000", &payload]);
    let Frame::Integer(deadline) = call(&mut c, &["PEXPIRETIME", "ttl"]) else {
        panic!()
    };
    // A deadline already past deletes the key it replaces.
    ok(
        &mut c,
        &[
            &b"RESTORE"[..],
            b"gone",
            b"1",
            &payload,
            b"ABSTTL",
            b"REPLACE",
        ],
    );
    // MIGRATE is logged as the DEL of what it moved.
    let port = target.local_addr().port().to_string();
    let mut migrate = vec!["MIGRATE", "127.0.0.1", &port, "moved", "0", "5000"];
    migrate.extend(common::migrate_auth());
    ok(&mut c, &migrate);
    drop(c);
    drop(first);
    let second = common::process::respd(&dir, &conf);
    let mut c = client(second.addr);
    assert_eq!(
        call(&mut c, &["PEXPIRETIME", "ttl"]),
        Frame::Integer(deadline)
    );
    assert_eq!(
        call(&mut c, &["EXISTS", "gone", "moved"]),
        Frame::Integer(0)
    );
    assert_eq!(call(&mut c, &["LLEN", "src"]), Frame::Integer(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// MIGRATE k to 127.0.0.1:`port` with COPY REPLACE, which must succeed.
fn migrate_copy(s: &mut Client, port: &str) {
    let mut migrate = vec![
        "MIGRATE",
        "127.0.0.1",
        port,
        "k",
        "0",
        "5000",
        "COPY",
        "REPLACE",
    ];
    migrate.extend(common::migrate_auth());
    assert_eq!(call(s, &migrate), Frame::Simple("OK".into()));
}

/// The ids of the target's connections whose last command was RESTORE.
fn restore_links(t: &mut Client) -> Vec<String> {
    let list = String::from_utf8(bulk(call(t, &["CLIENT", "LIST"]))).unwrap();
    list.lines()
        .filter(|l| l.contains("cmd=restore"))
        .map(|l| {
            l.split(' ')
                .next()
                .unwrap()
                .trim_start_matches("id=")
                .to_string()
        })
        .collect()
}

#[test]
fn migrate_keeps_its_connection_and_reconnects_when_it_is_closed() {
    let (source, target) = (common::start(), common::start());
    let mut s = client(source.local_addr());
    let mut t = client(target.local_addr());
    let port = target.local_addr().port().to_string();
    ok(&mut s, &["SET", "k", "v"]);
    for _ in 0..5 {
        migrate_copy(&mut s, &port);
    }
    let ids = restore_links(&mut t);
    assert_eq!(ids.len(), 1, "one cached connection for five MIGRATEs");
    // The target drops it: the next MIGRATE notices and reconnects once.
    ok(&mut t, &["CLIENT", "KILL", "ID", &ids[0]]);
    migrate_copy(&mut s, &port);
    let again = restore_links(&mut t);
    assert_eq!(again.len(), 1);
    assert_ne!(again, ids);
}

#[test]
fn migrate_refuses_a_target_that_nests_its_reply_and_keeps_serving() {
    use std::io::{Read, Write};
    let server = common::start();
    let mut s = client(server.local_addr());
    ok(&mut s, &["SET", "k", "v"]);
    // A target answering with arrays nested a hundred thousand deep: read
    // recursively, they would overflow the worker's stack.
    let hostile = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hostile.local_addr().unwrap().port().to_string();
    std::thread::spawn(move || {
        for mut conn in hostile.incoming().flatten() {
            let mut request = [0u8; 4096];
            let _ = conn.read(&mut request);
            let _ = conn.write_all(&b"*1\r\n".repeat(100_000));
        }
    });
    let reply = call(&mut s, &["MIGRATE", "127.0.0.1", &port, "k", "0", "2000"]);
    assert_eq!(
        reply,
        Frame::Error("IOERR error or timeout reading to target instance".into())
    );
    assert_eq!(call(&mut s, &["GET", "k"]), Frame::Bulk(b"v".to_vec()));
}

#[test]
fn servers_in_one_process_keep_their_own_migrate_connections() {
    let (first, second, target) = (common::start(), common::start(), common::start());
    let port = target.local_addr().port().to_string();
    for source in [&first, &second] {
        let mut s = client(source.local_addr());
        ok(&mut s, &["SET", "k", "v"]);
        migrate_copy(&mut s, &port);
    }
    let links = restore_links(&mut client(target.local_addr()));
    assert_eq!(links.len(), 2, "one link from each server: {links:?}");
}
