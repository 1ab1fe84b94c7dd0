//! Replication with real redis-server 7.0 processes on loopback: a
//! redis-server replica of a respd master gets every write (of every
//! type, with expiries, translated commands and transactions) made before
//! and during its sync; after WAIT both hold the same data; a cut link
//! resumes with a partial resync; the promoted replica keeps every
//! acknowledged write. `redis-cli --rdb` fetches a dump redis-check-rdb
//! accepts. The replication commands answer as Redis's do.

mod common;

use common::process::{installed, run, temp_dir, Process};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use redis::Value;

/// A replica's login on its master: the test user's when the tests run as
/// it (any server here may become a replica, after a FAILOVER).
fn master_auth() -> Vec<&'static str> {
    if common::as_test_user() {
        let (user, pass) = common::TEST_USER;
        vec!["--masteruser", user, "--masterauth", pass]
    } else {
        Vec::new()
    }
}

/// [`master_auth`] as configuration lines, for an in-process respd.
fn master_auth_conf() -> String {
    master_auth()
        .chunks(2)
        .map(|pair| format!("{} {}\n", pair[0].trim_start_matches("--"), pair[1]))
        .collect()
}

/// A respd process that logs in on its masters (see [`master_auth`]).
fn respd(dir: &Path, extra: &[&str]) -> Process {
    let mut args = extra.to_vec();
    args.extend(master_auth());
    common::process::respd(dir, &args)
}

/// A server process that logs in on its masters (see [`master_auth`]).
fn spawn(program: &str, args: &[&str]) -> Process {
    let mut args = args.to_vec();
    args.extend(master_auth());
    common::process::spawn(program, &args)
}

fn dir(name: &str) -> common::process::TempDir {
    temp_dir("replication", name)
}

fn conn(process: &Process) -> redis::Connection {
    let conn = process.conn();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn.set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn
}

fn text(value: &Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(text).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Nil => "nil".into(),
        other => format!("{other:?}"),
    }
}

/// Every key of databases 0-3: type, contents (sets and hashes sorted) and
/// absolute expiry time, in one comparable map.
fn canonical(conn: &mut redis::Connection) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for db in 0..4 {
        run(conn, &["SELECT", &db.to_string()]);
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(conn).unwrap();
        for key in keys {
            let kind = text(&run(conn, &["TYPE", &key]));
            let contents = match kind.as_str() {
                "string" => text(&run(conn, &["GET", &key])),
                "list" => text(&run(conn, &["LRANGE", &key, "0", "-1"])),
                "set" => {
                    let mut members: Vec<String> =
                        redis::cmd("SMEMBERS").arg(&key).query(conn).unwrap();
                    members.sort();
                    members.join(",")
                }
                "zset" => text(&run(conn, &["ZRANGE", &key, "0", "-1", "WITHSCORES"])),
                "hash" => {
                    let map: BTreeMap<String, String> =
                        redis::cmd("HGETALL").arg(&key).query(conn).unwrap();
                    format!("{map:?}")
                }
                // entries-read and lag are not replicated by Redis 7.0
                // either (a redis-server replica shows nil): left out.
                "stream" => {
                    let groups = text(&run(conn, &["XINFO", "GROUPS", &key]));
                    let groups = match groups.find(",entries-read,") {
                        Some(at) => groups[..at].to_string(),
                        None => groups,
                    };
                    format!(
                        "{} groups={groups}",
                        text(&run(conn, &["XRANGE", &key, "-", "+"]))
                    )
                }
                other => other.to_string(),
            };
            let expires = text(&run(conn, &["PEXPIRETIME", &key]));
            all.insert(
                format!("{db}:{key}"),
                format!("{kind} {contents} expires={expires}"),
            );
        }
    }
    run(conn, &["SELECT", "0"]);
    all
}

/// Fails listing only the keys that differ.
fn assert_same(got: &BTreeMap<String, String>, expected: &BTreeMap<String, String>) {
    let mut differences = Vec::new();
    for key in got.keys().chain(expected.keys()) {
        if got.get(key) != expected.get(key) && !differences.iter().any(|(k, _, _)| k == key) {
            differences.push((key.clone(), got.get(key), expected.get(key)));
        }
    }
    assert!(
        differences.is_empty(),
        "{} keys differ (replica, master): {:#?}",
        differences.len(),
        &differences[..differences.len().min(10)]
    );
}

/// Writes of every type, with the commands the stream must translate.
fn write_everything(conn: &mut redis::Connection, tag: &str) {
    let k = |name: &str| format!("{tag}:{name}");
    for args in [
        vec!["SET", &k("gone"), "v", "PX", "1"],
        vec!["SET", &k("s"), "v"],
        vec!["SET", &k("ex"), "v", "EX", "1000"],
        vec!["SETEX", &k("setex"), "500", "v"],
        vec!["SET", &k("f"), "1.5"],
        vec!["INCRBYFLOAT", &k("f"), "0.25"],
        vec!["APPEND", &k("s"), "w"],
        vec!["RPUSH", &k("l"), "a", "b", "c", "d"],
        vec!["LPOP", &k("l")],
        vec!["SADD", &k("set"), "1", "2", "3", "4", "5"],
        vec!["SPOP", &k("set")],
        vec!["SPOP", &k("set"), "2"],
        vec!["ZADD", &k("z"), "1", "a", "2.5", "b", "3", "c"],
        vec!["ZINCRBY", &k("z"), "0.5", "a"],
        vec!["ZPOPMIN", &k("z")],
        vec!["HSET", &k("h"), "f1", "v1", "f2", "2"],
        vec!["HINCRBYFLOAT", &k("h"), "f2", "0.5"],
        vec!["XADD", &k("x"), "1-1", "a", "1"],
        vec!["XADD", &k("x"), "*", "b", "2"],
        vec!["XGROUP", "CREATE", &k("x"), "g", "0"],
        vec!["EXPIRE", &k("l"), "900"],
        vec!["PFADD", &k("hll"), "a", "b", "c"],
        vec!["SETBIT", &k("bits"), "7", "1"],
        vec!["SET", &k("deleted"), "v"],
        vec!["DEL", &k("deleted"), &k("never")],
    ] {
        run(conn, &args);
    }
    redis::cmd("XREADGROUP")
        .arg(&["GROUP", "g", "c1", "COUNT", "1", "STREAMS", &k("x"), ">"])
        .query::<Value>(conn)
        .unwrap();
    // A transaction, and a write in another database.
    redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg(k("counter"))
        .cmd("RPUSH")
        .arg(k("l"))
        .arg("e")
        .cmd("PEXPIRE")
        .arg(k("s"))
        .arg(800_000)
        .query::<Value>(conn)
        .unwrap();
    run(conn, &["SELECT", "2"]);
    run(conn, &["SET", &k("db2"), "two"]);
    run(conn, &["SELECT", "0"]);
    #[cfg(feature = "scripting")]
    {
        let script = "redis.call('SET', KEYS[1], 'lua'); redis.call('SPOP', KEYS[2]); return 1";
        run(
            conn,
            &["EVAL", script, "2", &k("script"), &format!("{tag}:set")],
        );
    }
    // `gone` has expired by the time anyone looks.
    std::thread::sleep(Duration::from_millis(5));
}

/// Waits for `done` to hold, up to 30 seconds.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn info(conn: &mut redis::Connection, section: &str) -> String {
    redis::cmd("INFO").arg(section).query(conn).unwrap()
}

fn field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

fn wait_synced(replica: &mut redis::Connection) {
    wait_for("the replica's link", || {
        let text = info(replica, "replication");
        field(&text, "master_link_status").as_deref() == Some("up")
            && field(&text, "master_sync_in_progress").as_deref() == Some("0")
    });
}

fn start_replica(master: &Process, dir: &Path) -> Process {
    let master_port = master.addr.port().to_string();
    spawn(
        "redis-server",
        &[
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir.to_str().unwrap(),
            "--logfile",
            "replica.log",
            "--enable-debug-command",
            "yes",
            "--replicaof",
            "127.0.0.1",
            &master_port,
        ],
    )
}

#[test]
fn redis_replica_follows_respd_master() {
    if !installed("redis-server") {
        return;
    }
    let master_dir = dir("master");
    let replica_dir = dir("replica");
    // Diskless (Redis's default), without its wait for more replicas.
    let master = respd(&master_dir, &["--repl-diskless-sync-delay", "0"]);
    let mut m = conn(&master);
    write_everything(&mut m, "before");
    // Enough keys that the sync takes a moment while writes go on.
    for chunk in 0..20 {
        let mut pipe = redis::pipe();
        for i in 0..500 {
            pipe.cmd("SET")
                .arg(format!("bulk:{chunk}:{i}"))
                .arg(i)
                .ignore();
        }
        pipe.query::<()>(&mut m).unwrap();
    }
    let addr = master.addr;
    let writer = std::thread::spawn(move || {
        let mut c = redis::Client::open(common::url(addr))
            .unwrap()
            .get_connection()
            .unwrap();
        for i in 0..300 {
            run(&mut c, &["RPUSH", "during", &i.to_string()]);
            run(&mut c, &["INCR", "during:n"]);
        }
    });
    let replica = start_replica(&master, &replica_dir);
    writer.join().unwrap();
    let mut r = conn(&replica);
    wait_synced(&mut r);
    let log = std::fs::read_to_string(replica_dir.join("replica.log")).unwrap();
    assert!(
        log.contains("receiving streamed RDB from master with EOF"),
        "the snapshot came in the diskless form: {log}"
    );
    write_everything(&mut m, "after");
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(10_000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    let expected = canonical(&mut m);
    assert_eq!(
        expected.get("0:during:n").map(String::as_str),
        Some("string 300 expires=-1")
    );
    assert!(!expected.contains_key("0:before:gone"));
    assert_same(&canonical(&mut r), &expected);

    // INFO and ROLE name the replica, online.
    let text = info(&mut m, "replication");
    assert_eq!(field(&text, "connected_slaves").as_deref(), Some("1"));
    let slave0 = field(&text, "slave0").unwrap();
    let replica_port = replica.addr.port();
    assert!(
        slave0.starts_with(&format!(
            "ip=127.0.0.1,port={replica_port},state=online,offset="
        )),
        "{slave0}"
    );
    let role = run(&mut m, &["ROLE"]);
    let Value::Array(role) = role else {
        panic!("ROLE: {role:?}")
    };
    assert_eq!(text_of(&role[0]), "master");
    assert_eq!(
        text_of(&role[2]).split(',').nth(1),
        Some(replica_port.to_string().as_str())
    );

    // The replica's link is flagged S, and not counted as a client.
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("replica")
        .query(&mut m)
        .unwrap();
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(list.contains(" flags=S "), "{list}");
    assert_eq!(
        field(&info(&mut m, "clients"), "connected_clients").as_deref(),
        Some("1")
    );
    // Cut the link: the replica comes back with a partial resync.
    assert_eq!(
        run(&mut m, &["CLIENT", "KILL", "TYPE", "slave"]),
        Value::Int(1)
    );
    run(&mut m, &["SET", "while-cut", "1"]);
    write_everything(&mut m, "reconnected");
    wait_for("the partial resync", || {
        std::fs::read_to_string(replica_dir.join("replica.log"))
            .is_ok_and(|log| log.contains("Successful partial resynchronization"))
    });
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(10_000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    let expected = canonical(&mut m);
    assert_same(&canonical(&mut r), &expected);

    // Promote it: every acknowledged write is there.
    run(&mut r, &["REPLICAOF", "NO", "ONE"]);
    assert_same(&canonical(&mut r), &expected);
    run(&mut r, &["SET", "writable", "yes"]);
}

fn text_of(value: &Value) -> String {
    text(value)
}

#[test]
fn redis_cli_rdb_fetches_a_dump() {
    if !installed("redis-cli") {
        return;
    }
    let dir = dir("rdbcli");
    let master = respd(&dir, &["--repl-diskless-sync-delay", "0"]);
    let mut m = conn(&master);
    write_everything(&mut m, "k");
    let out = dir.join("fetched.rdb");
    let status = Command::new("timeout")
        .args(["20", "redis-cli", "-p", &master.addr.port().to_string()])
        .args(common::cli_auth_args())
        .arg("--rdb")
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    common::process::redis_check_rdb(&out);
    // The connection that fetched it is gone, and no replica stays listed.
    wait_for("the rdb-only link to close", || {
        field(&info(&mut m, "replication"), "connected_slaves").as_deref() == Some("0")
    });
}

/// The replies of the replication commands, as Redis's bytes.
#[test]
fn replication_commands_answer_as_redis() {
    let Some(real) = common::RealRedis::start() else {
        return;
    };
    let server = common::start();
    for request in [
        common::cmd(&["ROLE"]),
        common::cmd(&["WAIT", "0", "0"]),
        common::cmd(&["WAIT", "1", "-1"]),
        common::cmd(&["WAIT", "1", "x"]),
        common::cmd(&["WAIT", "x", "1"]),
        common::cmd(&["WAIT", "1", "10"]),
        common::cmd(&["REPLCONF", "listening-port"]),
        common::cmd(&["REPLCONF", "listening-port", "x"]),
        common::cmd(&["REPLCONF", "listening-port", "6380", "capa", "eof"]),
        common::cmd(&["REPLCONF", "nonsense", "1"]),
        common::cmd(&["REPLCONF", "rdb-only", "2"]),
        common::cmd(&["REPLCONF"]),
        common::cmd(&["REPLCONF", "ACK", "10"]),
    ] {
        let (ours, theirs) = common::both(server.local_addr(), real.addr, &[], &request);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "{}",
            String::from_utf8_lossy(&request)
        );
    }
}

fn start_redis_master(dir: &Path, diskless: &str) -> Process {
    spawn(
        "redis-server",
        &[
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir.to_str().unwrap(),
            "--repl-diskless-sync",
            diskless,
            "--repl-diskless-sync-delay",
            "0",
        ],
    )
}

fn stat(conn: &mut redis::Connection, name: &str) -> String {
    field(&info(conn, "stats"), name).unwrap_or_default()
}

/// respd follows a redis-server master, with the RDB sent as `$<length>`
/// (disk) or `$EOF:` (diskless).
fn respd_follows_redis_master(diskless: &str) {
    if !installed("redis-server") {
        return;
    }
    let master_dir = dir(&format!("redis-master-{diskless}"));
    let replica_dir = dir(&format!("respd-replica-{diskless}"));
    let master = start_redis_master(&master_dir, diskless);
    let mut m = conn(&master);
    write_everything(&mut m, "before");
    for i in 0..2000 {
        run(&mut m, &["SET", &format!("bulk:{i}"), &i.to_string()]);
    }
    let replicaof = format!("127.0.0.1 {}", master.addr.port());
    let replica = respd(&replica_dir, &["--replicaof", &replicaof]);
    let mut r = conn(&replica);
    for i in 0..200 {
        run(&mut m, &["RPUSH", "during", &i.to_string()]);
    }
    wait_for("respd's link", || {
        let text = info(&mut r, "replication");
        field(&text, "master_link_status").as_deref() == Some("up")
    });
    write_everything(&mut m, "after");
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(10_000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    let expected = canonical(&mut m);
    assert_same(&canonical(&mut r), &expected);

    // A read-only replica refuses writes, in and out of MULTI.
    let err = common::process::run_err(&mut r, &["SET", "k", "v"]);
    assert_eq!(err, "READONLY You can't write against a read only replica.");
    let role = run(&mut r, &["ROLE"]);
    assert_eq!(
        text(&role),
        format!("[slave,127.0.0.1,{},connected,{}]", master.addr.port(), {
            let text = info(&mut r, "replication");
            field(&text, "slave_repl_offset").unwrap()
        })
    );
    assert_eq!(
        common::process::run_err(&mut r, &["WAIT", "1", "1"]),
        "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."
    );

    // Its link to the master is a client flagged M.
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("master")
        .query(&mut r)
        .unwrap();
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(
        list.contains(&format!(" addr={} ", master.addr)) && list.contains(" flags=M "),
        "{list}"
    );

    // Cut the link (from either side): respd comes back with a partial
    // resync.
    assert_eq!(stat(&mut m, "sync_partial_ok"), "0");
    assert_eq!(
        run(&mut r, &["CLIENT", "KILL", "TYPE", "master"]),
        Value::Int(1)
    );
    wait_for("the first partial resync", || {
        stat(&mut m, "sync_partial_ok") == "1"
    });
    run(&mut m, &["CLIENT", "KILL", "TYPE", "replica"]);
    write_everything(&mut m, "reconnected");
    wait_for("the partial resync", || {
        stat(&mut m, "sync_partial_ok") == "2"
    });
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(10_000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    let expected = canonical(&mut m);
    assert_same(&canonical(&mut r), &expected);
    assert_eq!(stat(&mut m, "sync_full"), "1");

    // Promoted, it keeps everything and takes writes.
    run(&mut r, &["REPLICAOF", "NO", "ONE"]);
    assert_same(&canonical(&mut r), &expected);
    run(&mut r, &["SET", "writable", "yes"]);
    assert_eq!(
        text(&run(&mut r, &["ROLE"])).split(',').next(),
        Some("[master")
    );
}

#[test]
fn respd_replica_of_redis_master_disk() {
    respd_follows_redis_master("no");
}

#[test]
fn respd_replica_of_redis_master_diskless() {
    respd_follows_redis_master("yes");
}

/// `min-replicas-to-write` without replicas: writes get `-NOREPLICAS`
/// (reads do not), as from Redis.
#[test]
fn min_replicas_to_write_refuses_writes() {
    let Some(real) = common::RealRedis::start() else {
        return;
    };
    let server = common::start();
    let setup = common::cmd(&["CONFIG", "SET", "min-replicas-to-write", "1"]);
    for request in [
        common::cmd(&["SET", "k", "v"]),
        common::cmd(&["GET", "k"]),
        [
            common::cmd(&["MULTI"]),
            common::cmd(&["SET", "k", "v"]),
            common::cmd(&["EXEC"]),
        ]
        .concat(),
    ] {
        let (ours, theirs) = common::both(server.local_addr(), real.addr, &[&setup], &request);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }
    let (ours, _) = common::both(
        server.local_addr(),
        real.addr,
        &[&setup],
        &common::cmd(&["SET", "k", "v"]),
    );
    assert_eq!(ours, b"-NOREPLICAS Not enough good replicas to write.\r\n");
}

/// FAILOVER's refusals, byte for byte as Redis's, on a master without
/// replicas.
#[test]
fn failover_errors_answer_as_redis() {
    let Some(real) = common::RealRedis::start() else {
        return;
    };
    let server = common::start();
    for request in [
        common::cmd(&["FAILOVER", "ABORT"]),
        common::cmd(&["FAILOVER"]),
        common::cmd(&["FAILOVER", "FORCE"]),
        common::cmd(&["FAILOVER", "TIMEOUT", "0"]),
        common::cmd(&["FAILOVER", "TIMEOUT", "-5"]),
        common::cmd(&["FAILOVER", "TIMEOUT", "x"]),
        common::cmd(&["FAILOVER", "TIMEOUT", "10", "TIMEOUT", "10"]),
        common::cmd(&["FAILOVER", "TO", "127.0.0.1"]),
        common::cmd(&["FAILOVER", "TO", "127.0.0.1", "x"]),
        common::cmd(&["FAILOVER", "TO", "127.0.0.1", "1", "FORCE", "FORCE"]),
        common::cmd(&["FAILOVER", "ABORT", "TIMEOUT", "10"]),
        common::cmd(&["FAILOVER", "bogus"]),
        common::cmd(&["FAILOVER", "TO", "127.0.0.1", "6379", "FORCE"]),
        common::cmd(&["PSYNC", "x", "1", "FAILOVER"]),
    ] {
        let (ours, theirs) = common::both(server.local_addr(), real.addr, &[], &request);
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "{}",
            String::from_utf8_lossy(&request)
        );
    }
    let mut ours = redis::Client::open(common::url(server.local_addr()))
        .unwrap()
        .get_connection()
        .unwrap();
    assert_eq!(
        field(&info(&mut ours, "replication"), "master_failover_state").as_deref(),
        Some("no-failover")
    );
}

/// A respd master hands over to its redis-server replica with FAILOVER:
/// writes pause until the replica has everything, respd follows it and
/// the replica continues respd's history (a partial resync both ways), a
/// write held by the pause meets a read-only replica, and the new master's
/// writes reach respd.
#[test]
fn failover_to_redis_replica() {
    if !installed("redis-server") {
        return;
    }
    let master_dir = dir("failover-master");
    let replica_dir = dir("failover-replica");
    let master = respd(&master_dir, &["--repl-diskless-sync", "no"]);
    let mut m = conn(&master);
    write_everything(&mut m, "before");
    let replica = start_replica(&master, &replica_dir);
    let mut r = conn(&replica);
    wait_synced(&mut r);
    let log = std::fs::read_to_string(replica_dir.join("replica.log")).unwrap();
    assert!(
        log.contains("MASTER <-> REPLICA sync: receiving ") && log.contains(" bytes from master"),
        "the snapshot came as a `$<length>` bulk: {log}"
    );
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(10_000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    let replica_port = replica.addr.port().to_string();

    // Refusals that need a replica.
    for (args, error) in [
        (
            vec!["FAILOVER", "TO", "127.0.0.1", "1"],
            "ERR FAILOVER target HOST and PORT is not a replica.",
        ),
        (
            vec!["FAILOVER", "TO", "127.0.0.1", &replica_port, "FORCE"],
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
        ),
        (
            vec!["FAILOVER", "FORCE", "TIMEOUT", "100"],
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
        ),
    ] {
        assert_eq!(common::process::run_err(&mut m, &args), error);
    }

    // A replica that cannot acknowledge keeps the failover waiting; ABORT
    // ends it and writes flow again. The paused replica holds its master's
    // SET back (Redis pauses the master's link too), so its ACKs stay
    // behind for as long as the pause lasts: no timing involved.
    run(&mut r, &["CLIENT", "PAUSE", "60000", "WRITE"]);
    run(&mut m, &["SET", "unacknowledged", "1"]);
    run(&mut m, &["FAILOVER"]);
    assert_eq!(
        field(&info(&mut m, "replication"), "master_failover_state").as_deref(),
        Some("waiting-for-sync")
    );
    assert_eq!(
        common::process::run_err(&mut m, &["FAILOVER"]),
        "ERR FAILOVER already in progress."
    );
    assert_eq!(
        common::process::run_err(&mut m, &["REPLICAOF", "127.0.0.1", "1"]),
        "ERR REPLICAOF not allowed while failing over."
    );
    run(&mut m, &["FAILOVER", "ABORT"]);
    assert_eq!(
        field(&info(&mut m, "replication"), "master_failover_state").as_deref(),
        Some("no-failover")
    );
    run(&mut m, &["SET", "after-abort", "1"]);
    run(&mut r, &["CLIENT", "UNPAUSE"]);

    // The real hand-over, to the named replica.
    write_everything(&mut m, "last");
    run(
        &mut m,
        &[
            "FAILOVER",
            "TO",
            "127.0.0.1",
            &replica_port,
            "TIMEOUT",
            "20000",
        ],
    );
    // A write sent now waits for the end of the failover, then finds a
    // read-only replica.
    assert_eq!(
        common::process::run_err(&mut m, &["SET", "held", "1"]),
        "READONLY You can't write against a read only replica."
    );
    wait_for("respd to follow its old replica", || {
        let text = info(&mut m, "replication");
        field(&text, "master_link_status").as_deref() == Some("up")
            && field(&text, "master_failover_state").as_deref() == Some("no-failover")
    });
    let text = info(&mut r, "replication");
    assert_eq!(field(&text, "role").as_deref(), Some("master"));
    assert_eq!(
        stat(&mut r, "sync_full"),
        "0",
        "respd continued, not resynced"
    );
    assert_eq!(stat(&mut r, "sync_partial_ok"), "1");
    // The new master's writes reach respd.
    run(&mut r, &["SET", "from-new-master", "1"]);
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(10_000).query(&mut r).unwrap();
    assert_eq!(acked, 1);
    assert_same(&canonical(&mut m), &canonical(&mut r));
    assert!(canonical(&mut m).contains_key("0:from-new-master"));
}

/// `replica-serve-stale-data no` on a replica whose master is unreachable:
/// the commands Redis refuses get `-MASTERDOWN`, the `stale` ones run,
/// byte for byte as Redis.
#[test]
fn stale_data_refused_as_redis() {
    let Some(real) = common::RealRedis::start() else {
        return;
    };
    let server = common::start();
    // A port nothing listens on: the link stays down.
    let closed = common::process::free_port().to_string();
    let setup = [
        common::cmd(&["CONFIG", "SET", "replica-serve-stale-data", "no"]),
        common::cmd(&["REPLICAOF", "127.0.0.1", &closed]),
    ]
    .concat();
    common::both(server.local_addr(), real.addr, &[], &setup);
    // One pipeline, so the comparison waits for quiet once.
    let requests = [
        common::cmd(&["GET", "k"]),
        common::cmd(&["PING"]),
        common::cmd(&["ECHO", "x"]),
        common::cmd(&["SET", "k", "v"]),
        common::cmd(&["CONFIG", "GET", "replica-serve-stale-data"]),
        common::cmd(&["ROLE"]),
        common::cmd(&["MULTI"]),
        common::cmd(&["GET", "k"]),
        common::cmd(&["EXEC"]),
        common::cmd(&["MULTI"]),
        common::cmd(&["CONFIG", "GET", "maxmemory"]),
        common::cmd(&["EXEC"]),
        common::cmd(&["CONFIG", "SET", "replica-serve-stale-data", "yes"]),
        common::cmd(&["GET", "k"]),
    ]
    .concat();
    let (ours, theirs) = common::both(server.local_addr(), real.addr, &[], &requests);
    let ours = String::from_utf8_lossy(&ours).replace(&closed, "PORT");
    let theirs = String::from_utf8_lossy(&theirs).replace(&closed, "PORT");
    assert_eq!(ours, theirs);
    assert!(
        ours.starts_with(
            "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
        ),
        "{ours}"
    );
}

/// A read-only replica refuses a script's writes (one without a shebang
/// gets past the command checks; its first write is refused inside), byte
/// for byte as Redis, and nothing is written.
#[cfg(feature = "scripting")]
#[test]
fn scripts_cannot_write_on_a_read_only_replica() {
    let Some(real) = common::RealRedis::start() else {
        return;
    };
    let server = common::start();
    // A port nothing listens on: a replica whose link stays down.
    let closed = common::process::free_port().to_string();
    let setup = common::cmd(&["REPLICAOF", "127.0.0.1", &closed]);
    common::both(server.local_addr(), real.addr, &[], &setup);
    let requests = [
        common::cmd(&["EVAL", "return redis.call('set','k','v')", "0"]),
        common::cmd(&["EVAL", "return redis.pcall('set','k','v')", "0"]),
        common::cmd(&["EVAL", "#!lua\nreturn redis.call('set','k','v')", "0"]),
        common::cmd(&["EVAL", "return redis.call('get','k')", "0"]),
        common::cmd(&["EXISTS", "k"]),
    ]
    .concat();
    let (ours, theirs) = common::both(server.local_addr(), real.addr, &[], &requests);
    let ours = String::from_utf8_lossy(&ours).into_owned();
    assert_eq!(ours, String::from_utf8_lossy(&theirs));
    assert!(
        ours.starts_with("-READONLY You can't write against a read only replica. script: "),
        "{ours}"
    );
    assert!(ours.ends_with("$-1\r\n:0\r\n"), "{ours}");
}

/// On a read-only replica, EVALSHA's write check looks up the script's
/// flags: while another script is busy it must answer -BUSY, not wait for
/// the busy script to end (it hung until SCRIPT KILL).
#[cfg(feature = "scripting")]
#[test]
fn evalsha_on_a_read_only_replica_meets_busy_without_waiting() {
    use std::io::{Read, Write};
    let server = common::start();
    let connect = || {
        let stream = common::raw(server.local_addr());
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
    };
    let reply = |stream: &mut std::net::TcpStream, args: &[&str]| {
        stream.write_all(&common::cmd(args)).unwrap();
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).expect("a reply, not a hang");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let mut admin = connect();
    let closed = common::process::free_port().to_string();
    assert_eq!(
        reply(&mut admin, &["REPLICAOF", "127.0.0.1", &closed]),
        "+OK\r\n"
    );
    assert_eq!(
        reply(&mut admin, &["CONFIG", "SET", "busy-reply-threshold", "10"]),
        "+OK\r\n"
    );
    let sha = reply(&mut admin, &["SCRIPT", "LOAD", "return 1"]);
    let sha = sha.lines().nth(1).unwrap().to_string();
    let mut busy = connect();
    busy.write_all(&common::cmd(&["EVAL", "while true do end", "0"]))
        .unwrap();
    const BUSY: &str =
        "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
    let deadline = Instant::now() + Duration::from_secs(10);
    while reply(&mut admin, &["PING"]) != BUSY {
        assert!(Instant::now() < deadline, "the script never became busy");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(reply(&mut admin, &["EVALSHA", &sha, "0"]), BUSY);
    assert_eq!(reply(&mut admin, &["SCRIPT", "KILL"]), "+OK\r\n");
    let mut buf = [0u8; 256];
    let n = busy.read(&mut buf).unwrap();
    assert!(
        buf[..n].starts_with(b"-ERR Script killed by user"),
        "{:?}",
        &buf[..n]
    );
}

/// `repl-backlog-ttl`: once the last replica has been gone that long, the
/// backlog is freed (`repl_backlog_active:0`) and a new replication id
/// starts; the offset stays.
#[test]
fn backlog_freed_after_ttl_without_replicas() {
    use std::io::{Read, Write};
    let server = common::start_with("repl-backlog-ttl 1\nrepl-diskless-sync no\n");
    let mut c = redis::Client::open(common::url(server.local_addr()))
        .unwrap()
        .get_connection()
        .unwrap();
    run(&mut c, &["SET", "k", "v"]);
    let before = info(&mut c, "replication");
    assert_eq!(field(&before, "repl_backlog_active").as_deref(), Some("0"));
    // A replica that syncs, then leaves.
    {
        let mut replica = common::raw(server.local_addr());
        replica
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        replica.write_all(b"SYNC\r\n").unwrap();
        let mut got = [0u8; 64];
        let n = replica.read(&mut got).unwrap();
        assert!(got[..n].starts_with(b"$"), "{:?}", &got[..n]);
    }
    run(&mut c, &["SET", "k", "w"]);
    let during = info(&mut c, "replication");
    let replid = field(&during, "master_replid").unwrap();
    let offset = field(&during, "master_repl_offset").unwrap();
    assert_ne!(offset, "0");
    wait_for("the backlog to be freed", || {
        field(&info(&mut c, "replication"), "repl_backlog_active").as_deref() == Some("0")
    });
    let after = info(&mut c, "replication");
    assert_ne!(field(&after, "master_replid").unwrap(), replid);
    assert_eq!(field(&after, "master_repl_offset").unwrap(), offset);
    assert_eq!(field(&after, "repl_backlog_histlen").as_deref(), Some("0"));
}

/// `trace yes` shows the replication link like any connection, on both
/// ends: the handshake, the snapshot (its header and size), the stream and
/// the acknowledgements.
#[test]
fn trace_shows_the_replication_link() {
    let dir = dir("trace");
    let master_log = dir.join("master.log");
    let replica_log = dir.join("replica.log");
    let master = common::start_with(&format!(
        "logfile {}\ntrace yes\nrepl-diskless-sync no\n",
        master_log.display()
    ));
    let replica = common::start_with(&format!(
        "logfile {}\ntrace yes\n{}",
        replica_log.display(),
        master_auth_conf()
    ));
    let client = |addr| {
        redis::Client::open(common::url(addr))
            .unwrap()
            .get_connection()
            .unwrap()
    };
    let mut m = client(master.local_addr());
    let mut r = client(replica.local_addr());
    run(&mut m, &["SET", "before", "1"]);
    run(
        &mut r,
        &[
            "REPLICAOF",
            "127.0.0.1",
            &master.local_addr().port().to_string(),
        ],
    );
    wait_synced(&mut r);
    run(&mut m, &["SET", "streamed", "1"]);
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(10_000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    wait_for("the replica's trace of the stream", || {
        read(&replica_log).contains("<- *3\\r\\n$3\\r\\nSET\\r\\n$8\\r\\nstreamed")
    });
    let master_trace = read(&master_log);
    let pong = if common::as_test_user() {
        "<- -NOAUTH Authentication required.\\r\\n"
    } else {
        "<- +PONG\\r\\n"
    };
    let replica_trace = read(&replica_log);
    for (log, wanted) in [
        (&master_trace, "<- *1\\r\\n$4\\r\\nPING\\r\\n"),
        (&master_trace, "   RDB snapshot, "),
        (
            &master_trace,
            "-> *3\\r\\n$3\\r\\nSET\\r\\n$8\\r\\nstreamed",
        ),
        (
            &master_trace,
            "<- *3\\r\\n$8\\r\\nREPLCONF\\r\\n$3\\r\\nACK\\r\\n",
        ),
        (&replica_trace, "-> *1\\r\\n$4\\r\\nPING\\r\\n"),
        // (Before the replica's AUTH, a master with the default user off
        // answers its PING with -NOAUTH, which Redis's replica accepts.)
        (&replica_trace, pong),
        (&replica_trace, "<- +FULLRESYNC "),
        (
            &replica_trace,
            "-> *3\\r\\n$8\\r\\nREPLCONF\\r\\n$3\\r\\nACK\\r\\n",
        ),
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains(" [id=") && l.contains(wanted)),
            "no {wanted:?} in\n{log}"
        );
    }
}

/// A respd replica serves its own replicas as Redis does: a redis-server
/// master, a respd replica, and a redis-server replica of the respd one.
/// The chained replica gets the master's own stream (same replication id,
/// same offsets) and the same data, including writes to a database other
/// than 0 made before and after it joined.
#[test]
fn chained_replica_of_a_respd_replica() {
    if !installed("redis-server") {
        return;
    }
    let master_dir = dir("chain-master");
    let middle_dir = dir("chain-middle");
    let leaf_dir = dir("chain-leaf");
    let master = start_redis_master(&master_dir, "yes");
    let mut m = conn(&master);
    write_everything(&mut m, "before");
    // The master's stream has database 2 selected when the leaf syncs.
    run(&mut m, &["SELECT", "2"]);
    run(&mut m, &["SET", "in-db-2", "1"]);
    let replicaof = format!("127.0.0.1 {}", master.addr.port());
    let middle = respd(
        &middle_dir,
        &["--replicaof", &replicaof, "--repl-diskless-sync-delay", "0"],
    );
    let mut r = conn(&middle);
    wait_for("respd's link", || {
        field(&info(&mut r, "replication"), "master_link_status").as_deref() == Some("up")
    });
    run(&mut m, &["SET", "in-db-2-again", "1"]);
    let leaf = start_replica(&middle, &leaf_dir);
    let mut l = conn(&leaf);
    wait_synced(&mut l);
    // Writes after the leaf joined, in the database the stream had.
    run(&mut m, &["SET", "in-db-2-later", "1"]);
    run(&mut m, &["SELECT", "0"]);
    write_everything(&mut m, "after");
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(10_000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    let master_info = info(&mut m, "replication");
    let offset = field(&master_info, "master_repl_offset").unwrap();
    let offset: i64 = offset.parse().unwrap();
    wait_for("the leaf to reach the master's offset", || {
        field(&info(&mut l, "replication"), "slave_repl_offset")
            .and_then(|o| o.parse::<i64>().ok())
            .is_some_and(|o| o >= offset)
    });
    let expected = canonical(&mut m);
    assert!(expected.contains_key("2:in-db-2-later"));
    assert_same(&canonical(&mut r), &expected);
    assert_same(&canonical(&mut l), &expected);
    // The same history everywhere: the master's id and offset (read
    // again together: the master's pings and GETACKs move it on).
    let replid = field(&master_info, "master_replid").unwrap();
    for conn in [&mut r, &mut l] {
        let text = info(conn, "replication");
        assert_eq!(
            field(&text, "master_replid").as_deref(),
            Some(replid.as_str())
        );
    }
    wait_for("the same offset on all three", || {
        let offsets: Vec<Option<String>> = [&mut m, &mut r, &mut l]
            .into_iter()
            .map(|conn| field(&info(conn, "replication"), "master_repl_offset"))
            .collect();
        offsets[0].is_some() && offsets.iter().all(|o| *o == offsets[0])
    });
    // respd lists the leaf as its replica.
    let text = info(&mut r, "replication");
    assert_eq!(field(&text, "connected_slaves").as_deref(), Some("1"));
}

/// The other way: a redis-server master fails over to its respd replica.
/// respd takes `PSYNC <replid> <offset> FAILOVER`, becomes a master that
/// continues the old master's history (`master_replid2`), and the old
/// master follows it with a partial resync.
#[test]
fn redis_master_fails_over_to_respd() {
    if !installed("redis-server") {
        return;
    }
    let master_dir = dir("failover-redis-master");
    let replica_dir = dir("failover-respd-replica");
    let master = start_redis_master(&master_dir, "yes");
    let mut m = conn(&master);
    write_everything(&mut m, "before");
    let replicaof = format!("127.0.0.1 {}", master.addr.port());
    let replica = respd(&replica_dir, &["--replicaof", &replicaof]);
    let mut r = conn(&replica);
    wait_for("respd's link", || {
        field(&info(&mut r, "replication"), "master_link_status").as_deref() == Some("up")
    });
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(10_000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    let old_replid = field(&info(&mut m, "replication"), "master_replid").unwrap();
    let respd_port = replica.addr.port().to_string();
    run(
        &mut m,
        &[
            "FAILOVER",
            "TO",
            "127.0.0.1",
            &respd_port,
            "TIMEOUT",
            "20000",
        ],
    );
    wait_for("redis to follow respd", || {
        let text = info(&mut m, "replication");
        field(&text, "role").as_deref() == Some("slave")
            && field(&text, "master_link_status").as_deref() == Some("up")
            && field(&text, "master_failover_state").as_deref() == Some("no-failover")
    });
    let text = info(&mut r, "replication");
    assert_eq!(field(&text, "role").as_deref(), Some("master"));
    assert_eq!(field(&text, "master_replid2"), Some(old_replid));
    assert_eq!(stat(&mut r, "sync_full"), "0");
    assert_eq!(stat(&mut r, "sync_partial_ok"), "1");
    // respd takes writes now, and its new replica gets them.
    write_everything(&mut r, "after");
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(10_000).query(&mut r).unwrap();
    assert_eq!(acked, 1);
    assert_same(&canonical(&mut m), &canonical(&mut r));
}

/// After a diskless snapshot the stream waits for the replica's first
/// ACK: a replica finds the end of `$EOF:` by the mark being the last
/// bytes it read, so stream bytes right behind it would hide it.
#[test]
fn diskless_snapshot_then_stream_after_first_ack() {
    use std::io::{Read, Write};
    let server = common::start_with("repl-diskless-sync yes\nrepl-diskless-sync-delay 0\n");
    let mut writer = redis::Client::open(common::url(server.local_addr()))
        .unwrap()
        .get_connection()
        .unwrap();
    run(&mut writer, &["SET", "before", "1"]);
    let mut replica = common::raw(server.local_addr());
    replica
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    replica
        .write_all(&common::cmd(&["REPLCONF", "capa", "eof", "capa", "psync2"]))
        .unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    let mut read_until = |replica: &mut std::net::TcpStream, got: &mut Vec<u8>, end: &[u8]| {
        while !got.ends_with(end) {
            replica.read_exact(&mut byte).unwrap();
            got.push(byte[0]);
        }
    };
    read_until(&mut replica, &mut got, b"+OK\r\n");
    replica
        .write_all(&common::cmd(&["PSYNC", "?", "-1"]))
        .unwrap();
    got.clear();
    read_until(&mut replica, &mut got, b"$EOF:");
    assert!(got.starts_with(b"+FULLRESYNC "), "{got:?}");
    got.clear();
    read_until(&mut replica, &mut got, b"\r\n");
    let mark = got[..40].to_vec();
    // A write while the snapshot is on its way.
    run(&mut writer, &["SET", "during", "1"]);
    got.clear();
    read_until(&mut replica, &mut got, &mark);
    // Nothing more until the replica acknowledges.
    replica
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut more = [0u8; 64];
    assert!(
        replica.read(&mut more).is_err(),
        "stream bytes right after the mark"
    );
    replica
        .write_all(&common::cmd(&["REPLCONF", "ACK", "0"]))
        .unwrap();
    replica
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    got.clear();
    read_until(&mut replica, &mut got, b"during\r\n$1\r\n1\r\n");
    assert!(got.starts_with(b"*2\r\n$6\r\nSELECT\r\n"), "{got:?}");
}

/// A replica whose default user may do nothing still applies everything
/// its master streams (Redis's master client has no user), also after an
/// ACL change on the replica and inside the master's transactions.
#[test]
fn the_masters_stream_runs_whatever_the_replicas_default_user_may_do() {
    let master = common::start();
    let replica = common::start_with(&format!(
        "user admin on >admin-pw +@all ~* &*\nuser default off\n{}",
        master_auth_conf()
    ));
    let admin = format!("redis://admin:admin-pw@{}/", replica.local_addr());
    let mut r = redis::Client::open(admin)
        .unwrap()
        .get_connection()
        .unwrap();
    let mut m = redis::Client::open(common::url(master.local_addr()))
        .unwrap()
        .get_connection()
        .unwrap();
    run(&mut m, &["SET", "before", "1"]);
    let port = master.local_addr().port().to_string();
    run(&mut r, &["REPLICAOF", "127.0.0.1", &port]);
    wait_synced(&mut r);
    run(&mut m, &["SET", "streamed", "1"]);
    // An ACL change on the replica re-reads its clients' users.
    run(&mut r, &["ACL", "SETUSER", "default", "off", "-@all"]);
    run(&mut m, &["SET", "after-acl-change", "1"]);
    let queued = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("in-multi")
        .arg("1")
        .cmd("INCR")
        .arg("counter")
        .query::<Value>(&mut m);
    assert!(queued.is_ok(), "{queued:?}");
    let acked: i64 = redis::cmd("WAIT").arg(1).arg(10_000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    for key in [
        "before",
        "streamed",
        "after-acl-change",
        "in-multi",
        "counter",
    ] {
        assert_eq!(
            run(&mut r, &["GET", key]),
            Value::BulkString(b"1".to_vec()),
            "{key}"
        );
    }
}
