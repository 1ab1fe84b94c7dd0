//! The respd binary started as redis-server is: a redis.conf path, then
//! `--name value` flags that override it.

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::process::TempDir;
use common::*;

/// A typical Redis 7.0 redis.conf: the upstream default directives, with
/// daemonize no and logging to stderr. `{port}` and `{dir}` are filled in.
const UPSTREAM_CONF: &str = r#"# Redis configuration file example.
bind 127.0.0.1 -::1
protected-mode yes
port {port}
tcp-backlog 511
timeout 0
tcp-keepalive 300
daemonize no
pidfile ""
loglevel notice
logfile ""
databases 16
always-show-logo no
set-proc-title yes
proc-title-template "{title} {listen-addr} {server-mode}"
save 3600 1
save 300 100
save 60 10000
stop-writes-on-bgsave-error yes
rdbcompression yes
rdbchecksum yes
dbfilename dump.rdb
rdb-del-sync-files no
dir {dir}
replica-serve-stale-data yes
replica-read-only yes
repl-diskless-sync yes
repl-diskless-sync-delay 5
repl-diskless-sync-max-replicas 0
repl-diskless-load disabled
repl-disable-tcp-nodelay no
replica-priority 100
acllog-max-len 128
lazyfree-lazy-eviction no
lazyfree-lazy-expire no
lazyfree-lazy-server-del no
replica-lazy-flush no
lazyfree-lazy-user-del no
lazyfree-lazy-user-flush no
oom-score-adj no
oom-score-adj-values 0 200 800
disable-thp yes
appendonly no
appendfilename "appendonly.aof"
appenddirname "appendonlydir"
appendfsync everysec
no-appendfsync-on-rewrite no
auto-aof-rewrite-percentage 100
auto-aof-rewrite-min-size 64mb
aof-load-truncated yes
aof-use-rdb-preamble yes
aof-timestamp-enabled no

slowlog-log-slower-than 10000
slowlog-max-len 128
latency-monitor-threshold 0
notify-keyspace-events ""
hash-max-listpack-entries 512
hash-max-listpack-value 64
list-max-listpack-size -2
list-compress-depth 0
set-max-intset-entries 512
zset-max-listpack-entries 128
zset-max-listpack-value 64
hll-sparse-max-bytes 3000
stream-node-max-bytes 4096
stream-node-max-entries 100
activerehashing yes
client-output-buffer-limit normal 0 0 0
client-output-buffer-limit replica 256mb 64mb 60
client-output-buffer-limit pubsub 32mb 8mb 60
hz 10
dynamic-hz yes
aof-rewrite-incremental-fsync yes
rdb-save-incremental-fsync yes
jemalloc-bg-thread yes
"#;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A respd process, killed when dropped. It runs in a scratch directory,
/// so what it writes with the default `dir` stays out of the repository.
struct Respd {
    child: Child,
    _cwd: TempDir,
}

impl Respd {
    fn spawn(args: &[&str]) -> Respd {
        static SPAWNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let spawn = SPAWNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cwd = TempDir::new(&format!("spawned-{spawn}"));
        let child = Command::new(env!("CARGO_BIN_EXE_respd"))
            .args(args)
            .args(common::test_user_args())
            .current_dir(&*cwd)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Respd { child, _cwd: cwd }
    }
}

impl Drop for Respd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connects to the port once the server listens (within 10 s).
fn connect(port: u16) -> redis::Connection {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "respd never listened on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    redis(format!("127.0.0.1:{port}").parse().unwrap())
}

fn config_get(con: &mut redis::Connection, name: &str) -> String {
    let pair: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(name)
        .query(con)
        .unwrap();
    pair[1].clone()
}

/// Runs respd to completion (it is expected to refuse to start).
fn run_to_exit(args: &[&str]) -> Output {
    // A respd that unexpectedly starts serving must fail the test, not hang it.
    // In a directory of its own: a respd that did start must not leave its
    // dump or AOF in the repository.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cwd = TempDir::new(&format!("run-to-exit-{run}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_respd"))
        .args(args)
        .current_dir(&*cwd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("respd {args:?} kept running instead of exiting");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn serves_on_the_configured_port_with_the_upstream_redis_conf() {
    let dir = TempDir::new("upstream");
    let port = free_port();
    let conf = UPSTREAM_CONF
        .replace("{port}", &port.to_string())
        .replace("{dir}", &dir.display().to_string());
    let path = dir.write("redis.conf", &conf);
    let _respd = Respd::spawn(&[path.to_str().unwrap()]);
    let mut con = connect(port);
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    assert_eq!(config_get(&mut con, "save"), "3600 1 300 100 60 10000");
    assert_eq!(
        config_get(&mut con, "auto-aof-rewrite-min-size"),
        "67108864"
    );
    let info: String = redis::cmd("INFO").arg("server").query(&mut con).unwrap();
    let canonical = std::fs::canonicalize(&path).unwrap();
    assert!(
        info.contains(&format!("\r\nconfig_file:{}\r\n", canonical.display())),
        "{info}"
    );
    assert!(info.contains(&format!("\r\ntcp_port:{port}\r\n")), "{info}");
}

#[test]
fn flags_override_the_file() {
    let dir = TempDir::new("flags");
    let file_port = free_port();
    let port = free_port();
    let path = dir.write(
        "redis.conf",
        &format!("port {file_port}\ntimeout 5\nhz 10\n"),
    );
    let _respd = Respd::spawn(&[
        path.to_str().unwrap(),
        "--port",
        &port.to_string(),
        "--hz",
        "20",
        "--save",
        "",
        "--requirepass",
        "pass word",
    ]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "respd never listened on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // (As the test user, whose line resets the default user's password.)
    let url = if common::as_test_user() {
        common::url(([127, 0, 0, 1], port).into())
    } else {
        format!("redis://:pass%20word@127.0.0.1:{port}/")
    };
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_connection().unwrap();
    assert_eq!(config_get(&mut con, "hz"), "20");
    assert_eq!(config_get(&mut con, "timeout"), "5");
    assert_eq!(config_get(&mut con, "save"), "");
    assert!(TcpStream::connect(("127.0.0.1", file_port)).is_err());
}

#[test]
fn flags_alone_without_a_file() {
    let port = free_port();
    let _respd = Respd::spawn(&["--port", &port.to_string(), "--databases", "4"]);
    let mut con = connect(port);
    assert_eq!(config_get(&mut con, "databases"), "4");
    let info: String = redis::cmd("INFO").arg("server").query(&mut con).unwrap();
    assert!(info.contains("\r\nconfig_file:\r\n"), "{info}");
    let err = redis::cmd("CONFIG")
        .arg("REWRITE")
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("The server is running without a config file"),
        "{err}"
    );
}

#[test]
fn a_bad_line_names_the_line_and_exits_non_zero() {
    let dir = TempDir::new("bad-line");
    let path = dir.write("redis.conf", "port 7000\n# fine\nno-such-directive yes\n");
    let output = run_to_exit(&[path.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at line 3"), "{stderr}");
    assert!(stderr.contains(">>> 'no-such-directive yes'"), "{stderr}");
    assert!(
        stderr.contains("Bad directive or wrong number of arguments"),
        "{stderr}"
    );
}

#[test]
fn unsupported_behaviours_and_bad_values_are_refused() {
    let dir = TempDir::new("unsupported");
    for (line, reason) in [
        ("daemonize yes", "does not support 'daemonize yes'"),
        (
            "cluster-enabled yes",
            "does not support 'cluster-enabled yes'",
        ),
        (
            "include /etc/other.conf",
            "does not support the 'include' directive",
        ),
        (
            "maxclients many",
            "argument couldn't be parsed into an integer",
        ),
        ("bind \"127.0.0.1", "Unbalanced quotes"),
    ] {
        let path = dir.write("redis.conf", &format!("port 0\n{line}\n"));
        let output = run_to_exit(&[path.to_str().unwrap()]);
        assert!(!output.status.success(), "{line}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("at line 2") && stderr.contains(reason),
            "{line}: {stderr}"
        );
    }
}

#[test]
fn an_unknown_flag_or_missing_file_exits_non_zero() {
    let output = run_to_exit(&["--port", "0", "--no-such-flag", "1"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("'--no-such-flag \"1\"'"), "{stderr}");
    assert!(
        stderr.contains("Bad directive or wrong number of arguments"),
        "{stderr}"
    );

    let output = run_to_exit(&["/no/such/redis.conf"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("can't open config file '/no/such/redis.conf'"),
        "{stderr}"
    );
}

#[test]
fn config_rewrite_updates_the_file() {
    let dir = TempDir::new("rewrite");
    let port = free_port();
    let path = dir.write(
        "redis.conf",
        &format!("# my settings\nport {port}\ntimeout 0\nsave 900 1\nsave 300 10\n"),
    );
    let _respd = Respd::spawn(&[path.to_str().unwrap()]);
    let mut con = connect(port);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("timeout")
        .arg("30")
        .arg("hz")
        .arg("15")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("CONFIG").arg("REWRITE").query(&mut con).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    // The users are written too, as Redis writes them: ACL LIST's lines.
    let users = if common::as_test_user() {
        let lines: Vec<String> = redis::cmd("ACL").arg("LIST").query(&mut con).unwrap();
        lines.join("\n")
    } else {
        "user default on nopass ~* &* +@all".to_string()
    };
    assert_eq!(
        text,
        format!(
            "# my settings\nport {port}\ntimeout 30\nsave 900 1\nsave 300 10\n# Generated by CONFIG REWRITE\nhz 15\n{users}\n"
        )
    );
}

#[test]
fn a_parameter_with_two_names_is_one_and_rewritten_with_its_first() {
    let dir = TempDir::new("aliases");
    let port = free_port();
    let path = dir.write(
        "redis.conf",
        &format!("port {port}\nsave \"\"\nslave-priority 5\nmin-slaves-max-lag 7\n"),
    );
    let _respd = Respd::spawn(&[path.to_str().unwrap()]);
    let mut con = connect(port);
    assert_eq!(config_get(&mut con, "replica-priority"), "5");
    assert_eq!(config_get(&mut con, "min-replicas-max-lag"), "7");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slave-announce-port")
        .arg("7")
        .query(&mut con)
        .unwrap();
    assert_eq!(config_get(&mut con, "replica-announce-port"), "7");
    let _: () = redis::cmd("CONFIG").arg("REWRITE").query(&mut con).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    // As Redis 7.0.15 rewrites it: the first names, each once.
    for line in [
        "replica-priority 5",
        "min-replicas-max-lag 7",
        "replica-announce-port 7",
    ] {
        assert_eq!(text.lines().filter(|l| *l == line).count(), 1, "{text}");
    }
    assert!(!text.contains("slave"), "{text}");
}
