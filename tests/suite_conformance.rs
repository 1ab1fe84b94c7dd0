//! Behaviours Redis 7.0.15's own Tcl suite checks (unit/multi, bitops,
//! dump, introspection, type/hash, scripting), each compared byte for byte
//! with a real redis-server doing the same: SAVE/SHUTDOWN refused inside
//! MULTI, the change counter of no-op SETBIT/BITFIELD, INFO's
//! `migrate_cached_sockets`, CONFIG SET's rollback on a bad percentage,
//! hashes kept in insertion order under raised listpack limits, and the
//! scripting checks (`redis.acl_check_cmd`, NOREPLICAS, error statistics).

mod common;

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{cmd, start, RealRedis};
use respd::resp::read_frame;

/// A connection that sends one command at a time and reads its whole
/// reply as bytes.
struct Conn(BufReader<TcpStream>);

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let stream = common::raw(addr);
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Conn(BufReader::new(stream))
    }

    /// The reply to `args`, as the bytes of one RESP frame.
    fn call(&mut self, args: &[&str]) -> Vec<u8> {
        self.0.get_mut().write_all(&cmd(args)).expect("write");
        read_frame(&mut self.0)
            .expect("read")
            .expect("a reply")
            .to_bytes()
    }

    /// One INFO field as a number.
    fn info_number(&mut self, section: &str, field: &str) -> i64 {
        let reply = self.call(&["INFO", section]);
        let text = String::from_utf8_lossy(&reply);
        let prefix = format!("{field}:");
        text.lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in INFO {section}: {text}"))
    }
}

/// Runs `steps` on a fresh connection to each server and compares the
/// replies step by step (the command is named on a mismatch).
fn same_replies(respd: SocketAddr, redis: SocketAddr, steps: &[&[&str]]) {
    let mut ours = Conn::open(respd);
    let mut theirs = Conn::open(redis);
    for step in steps {
        let (got, want) = (ours.call(step), theirs.call(step));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "reply to {step:?}"
        );
    }
}

#[test]
fn save_and_shutdown_are_refused_inside_multi() {
    let server = start();
    let mut conn = Conn::open(server.local_addr());
    for command in ["SAVE", "SHUTDOWN"] {
        conn.call(&["DEL", "foo"]);
        assert_eq!(conn.call(&["MULTI"]), b"+OK\r\n");
        assert_eq!(conn.call(&["SET", "foo", "bar"]), b"+QUEUED\r\n");
        assert_eq!(
            conn.call(&[command]),
            b"-ERR Command not allowed inside a transaction\r\n"
        );
        assert_eq!(
            conn.call(&["EXEC"]),
            b"-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
        assert_eq!(conn.call(&["GET", "foo"]), b"$-1\r\n");
    }
    // The server is still there, and counted the refusals as rejected.
    let stats = conn.call(&["INFO", "commandstats"]);
    let stats = String::from_utf8_lossy(&stats);
    assert!(
        stats.contains("cmdstat_save:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,"),
        "{stats}"
    );
}

#[test]
fn multi_refusals_and_config_errors_match_redis() {
    let server = start();
    let Some(redis) = RealRedis::start() else {
        return;
    };
    same_replies(
        server.local_addr(),
        redis.addr,
        &[
            &["MULTI"],
            &["SET", "foo", "bar"],
            &["SAVE"],
            &["EXEC"],
            &["MULTI"],
            &["SET", "foo", "bar"],
            &["SHUTDOWN", "NOSAVE"],
            &["EXEC"],
            &["GET", "foo"],
            // A CONFIG SET failing inside EXEC is one error among the replies.
            &["MULTI"],
            &["SET", "foo", "bar"],
            &["CONFIG", "SET", "maxmemory", "bla"],
            &["EXEC"],
            // FLUSHALL while one client watches several keys.
            &["FLUSHALL"],
            &["MSET", "a", "a", "b", "b"],
            &["WATCH", "b", "a"],
            &["FLUSHALL"],
            &["PING"],
            &["MULTI"],
            &["EXEC"],
        ],
    );
}

/// The change counter's moves over the suite's SETBIT/BITFIELD steps.
fn bit_dirty_steps(addr: SocketAddr) -> Vec<i64> {
    let mut conn = Conn::open(addr);
    conn.call(&["DEL", "foo", "foo2", "foo3", "foo4"]);
    let groups: &[&[&[&str]]] = &[
        // New keys: one change each, whatever the bit.
        &[
            &["SETBIT", "foo", "0", "0"],
            &["BITFIELD", "foo2", "SET", "i5", "0", "0"],
        ],
        // No change.
        &[
            &["SETBIT", "foo", "0", "0"],
            &["BITFIELD", "foo2", "SET", "i5", "0", "0"],
        ],
        // A change and a no-change each.
        &[
            &["SETBIT", "foo", "0", "1"],
            &["SETBIT", "foo", "0", "1"],
            &["SETBIT", "foo", "0", "0"],
            &["SETBIT", "foo", "0", "0"],
            &["BITFIELD", "foo2", "SET", "i5", "0", "1"],
            &["BITFIELD", "foo2", "SET", "i5", "0", "1"],
            &["BITFIELD", "foo2", "SET", "i5", "0", "0"],
            &["BITFIELD", "foo2", "SET", "i5", "0", "0"],
        ],
        // INCRBY always changes.
        &[
            &["BITFIELD", "foo3", "INCRBY", "i5", "0", "1"],
            &["BITFIELD", "foo3", "INCRBY", "i5", "0", "1"],
        ],
        // Growing the string only.
        &[
            &["SETBIT", "foo", "90", "0"],
            &["BITFIELD", "foo2", "SET", "i5", "90", "0"],
        ],
        // One change per operation that wrote: on a new key, then on an
        // existing one with one no-op among them.
        &[&[
            "BITFIELD", "foo4", "SET", "u8", "0", "1", "SET", "u8", "8", "0",
        ]],
        &[&[
            "BITFIELD", "foo4", "SET", "u8", "0", "2", "SET", "u8", "8", "0", "INCRBY", "u8", "8",
            "3",
        ]],
    ];
    let mut moves = Vec::new();
    for group in groups {
        let before = conn.info_number("persistence", "rdb_changes_since_last_save");
        for step in *group {
            conn.call(step);
        }
        let after = conn.info_number("persistence", "rdb_changes_since_last_save");
        moves.push(after - before);
    }
    moves
}

#[test]
fn setbit_and_bitfield_count_changes_as_redis() {
    let server = start();
    let ours = bit_dirty_steps(server.local_addr());
    assert_eq!(ours, vec![2, 0, 4, 2, 2, 2, 2]);
    if let Some(redis) = RealRedis::start() {
        assert_eq!(ours, bit_dirty_steps(redis.addr));
    }
}

#[test]
fn info_counts_migrate_cached_sockets() {
    let source = start();
    let target = start();
    let mut conn = Conn::open(source.local_addr());
    assert_eq!(conn.info_number("stats", "migrate_cached_sockets"), 0);
    conn.call(&["SET", "key", "value"]);
    let port = target.local_addr().port().to_string();
    let mut migrate = vec!["MIGRATE", "127.0.0.1", &port, "key", "0", "1000"];
    migrate.extend(common::migrate_auth());
    assert_eq!(conn.call(&migrate), b"+OK\r\n");
    assert_eq!(conn.info_number("stats", "migrate_cached_sockets"), 1);
    // Redis's field order: after total_forks.
    let stats = conn.call(&["INFO", "stats"]);
    let stats = String::from_utf8_lossy(&stats);
    assert!(
        stats.contains("total_forks:0\r\nmigrate_cached_sockets:1\r\n"),
        "{stats}"
    );
}

#[test]
fn config_set_rolls_back_on_a_bad_percentage() {
    let server = start();
    let Some(redis) = RealRedis::start() else {
        return;
    };
    same_replies(
        server.local_addr(),
        redis.addr,
        &[
            &["CONFIG", "SET", "maxmemory", "10000002"],
            &[
                "CONFIG",
                "SET",
                "maxmemory",
                "10000001",
                "maxmemory-clients",
                "200%",
                "client-query-buffer-limit",
                "invalid",
            ],
            &["CONFIG", "GET", "maxmemory"],
            &["CONFIG", "GET", "maxmemory-clients"],
            &["CONFIG", "GET", "client-query-buffer-limit"],
            &["CONFIG", "SET", "maxmemory-clients", "x%"],
            &["CONFIG", "SET", "maxmemory-clients", "abc"],
            &["CONFIG", "SET", "maxmemory-clients", "0"],
            &["CONFIG", "SET", "maxmemory", "0"],
        ],
    );
}

#[test]
fn hashes_follow_the_listpack_limits_and_their_ziplist_names() {
    let server = start();
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let str_14 = "x".repeat(8191);
    let str_32 = "x".repeat(65535);
    let str_06 = "x".repeat(31);
    same_replies(
        server.local_addr(),
        redis.addr,
        &[
            &["CONFIG", "SET", "hash-max-ziplist-entries", "1000000000"],
            &["CONFIG", "SET", "hash-max-ziplist-value", "1000000000"],
            &["CONFIG", "GET", "hash-max-listpack-entries"],
            &["CONFIG", "GET", "hash-max-listpack-value"],
            &["HSET", "k", "ZIP_INT_8B", "127"],
            &["HSET", "k", "ZIP_INT_16B", "32767"],
            &["HSET", "k", "ZIP_INT_32B", "2147483647"],
            &["HSET", "k", "ZIP_INT_64B", "9223372036854775808"],
            &["HSET", "k", "ZIP_INT_IMM_MIN", "0"],
            &["HSET", "k", "ZIP_INT_IMM_MAX", "12"],
            &["HSET", "k", "ZIP_STR_06B", &str_06],
            &["HSET", "k", "ZIP_STR_14B", &str_14],
            &["HSET", "k", "ZIP_STR_32B", &str_32],
            // Replacing a long value in place keeps the order.
            &["HSET", "k", "ZIP_STR_14B", "short"],
            &["HSET", "k", "ZIP_INT_8B", &str_14],
            &["HDEL", "k", "ZIP_INT_16B"],
            &["HGETALL", "k"],
            &["OBJECT", "ENCODING", "k"],
            // Lower limits: the next field makes a table.
            &["CONFIG", "SET", "hash-max-listpack-entries", "2"],
            &["CONFIG", "GET", "hash-max-ziplist-entries"],
            &["HSET", "small", "a", "1", "b", "2"],
            &["OBJECT", "ENCODING", "small"],
            &["HSET", "small", "c", "3"],
            &["OBJECT", "ENCODING", "small"],
            &["CONFIG", "SET", "zset-max-ziplist-entries", "7"],
            &["CONFIG", "GET", "zset-max-listpack-entries"],
            &["CONFIG", "SET", "list-max-listpack-size", "5"],
            &["CONFIG", "GET", "list-max-ziplist-size"],
        ],
    );
}

#[cfg(feature = "scripting")]
#[test]
fn acl_check_cmd_checks_the_callers_permissions() {
    let server = start();
    let Some(redis) = RealRedis::start() else {
        return;
    };
    same_replies(
        server.local_addr(),
        redis.addr,
        &[
            &[
                "ACL",
                "SETUSER",
                "bob",
                "on",
                ">123",
                "+@scripting",
                "+set",
                "~x*",
            ],
            &["AUTH", "bob", "123"],
            &[
                "EVAL",
                "return redis.acl_check_cmd('set','xx',1)",
                "1",
                "xx",
            ],
            &[
                "EVAL",
                "return redis.acl_check_cmd('hset','xx','f',1)",
                "1",
                "xx",
            ],
            &["EVAL", "return redis.acl_check_cmd('set','yy',1)", "0"],
            &["EVAL", "return redis.acl_check_cmd('get')", "0"],
            &[
                "EVAL",
                "return redis.acl_check_cmd('invalid-cmd','arg')",
                "0",
            ],
            &["EVAL", "return redis.acl_check_cmd('client','nosuch')", "0"],
        ],
    );
}

#[cfg(feature = "scripting")]
#[test]
fn scripts_that_may_write_need_enough_good_replicas() {
    let server = start();
    let Some(redis) = RealRedis::start() else {
        return;
    };
    same_replies(
        server.local_addr(),
        redis.addr,
        &[
            &["SET", "x", "some value"],
            &["CONFIG", "SET", "min-replicas-to-write", "1"],
            &[
                "EVAL",
                "#!lua flags=no-writes\nreturn redis.call('get','x')",
                "1",
                "x",
            ],
            &["EVAL", "return redis.call('get','x')", "1", "x"],
            &["EVAL", "#!lua\nreturn redis.call('get','x')", "1", "x"],
            &["EVAL", "return redis.call('set','x', 1)", "1", "x"],
            &["EVAL", "return redis.pcall('set','x', 1)", "1", "x"],
            &[
                "FUNCTION",
                "LOAD",
                "#!lua name=lib\nredis.register_function('f', function() return 1 end)",
            ],
            &["FCALL", "f", "0"],
            // Refused when queued, so EXEC aborts.
            &["MULTI"],
            &["EVAL", "#!lua\nreturn 1", "0"],
            &["EVAL", "return 1", "0"],
            &["EXEC"],
            &["CONFIG", "SET", "min-replicas-to-write", "0"],
            &["EVAL", "#!lua\nreturn redis.call('get','x')", "1", "x"],
            &["FCALL", "f", "0"],
        ],
    );
}

#[cfg(feature = "scripting")]
#[test]
fn script_errors_count_once_in_the_error_statistics() {
    let server = start();
    let Some(redis) = RealRedis::start() else {
        return;
    };
    // Each case from a reset: the script, then the error statistics.
    let cases: &[&[&str]] = &[
        &[
            "EVAL",
            "return redis.error_reply('MY_ERR_CODE custom msg')",
            "0",
        ],
        &["EVAL", "return redis.error_reply('')", "0"],
        &["EVAL", "return redis.call('set','x','y')", "1", "x"],
        &["EVAL", "return redis.pcall('set','x','y')", "1", "x"],
        &[
            "EVAL",
            "local t = redis.pcall('set','x','y') return 1",
            "1",
            "x",
        ],
        &["EVAL", "return redis.call('select',99)", "0"],
        &["EVAL_RO", "return redis.call('set','x','y')", "1", "x"],
        &["EVAL", "return redis.call('nosuch')", "0"],
    ];
    for (oom, case) in [(true, &cases[2..5]), (false, cases)]
        .into_iter()
        .flat_map(|(oom, cases)| cases.iter().map(move |case| (oom, case)))
    {
        let mut steps: Vec<&[&str]> = vec![&["CONFIG", "RESETSTAT"]];
        if oom {
            steps.push(&["CONFIG", "SET", "maxmemory", "1"]);
        }
        steps.push(case);
        steps.push(&["CONFIG", "SET", "maxmemory", "0"]);
        steps.push(&["INFO", "errorstats"]);
        same_replies(server.local_addr(), redis.addr, &steps);
        // The calls' counters (times differ; the counts must not).
        let counts = |addr| {
            let mut conn = Conn::open(addr);
            let stats = conn.call(&["INFO", "commandstats"]);
            let mut lines: Vec<String> = String::from_utf8_lossy(&stats)
                .lines()
                .filter(|line| {
                    !line.starts_with("cmdstat_config") && !line.starts_with("cmdstat_info")
                })
                .filter_map(|line| {
                    let (name, rest) = line.split_once(':')?;
                    let calls = rest.split(',').next()?;
                    let tail = rest.split_once(",rejected_calls")?.1;
                    Some(format!("{name}:{calls},rejected_calls{tail}"))
                })
                .collect();
            lines.sort();
            (lines, conn.info_number("stats", "total_error_replies"))
        };
        assert_eq!(
            counts(server.local_addr()),
            counts(redis.addr),
            "after {case:?}"
        );
    }
}
