//! respd as a twemproxy backend: scripts/twemproxy.sh starts respd shards
//! and nutcracker; clients (redis-rs in RESP2 without CLIENT SETINFO, and
//! redis-benchmark) talk to the proxy. Skipped when nutcracker is not
//! installed (CI installs it).

mod common;

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use redis::{IntoConnectionInfo, Value};

fn installed(program: &str) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok();
    if !found {
        eprintln!("{program} is not installed: skipping");
    }
    found
}

/// A proxy and its shards started by the script, stopped (by the script's
/// `stop`, which kills exactly what it started) when dropped.
struct Proxy {
    /// One proxy at a time: tests pick free ports, and two at once could
    /// pick overlapping blocks.
    _serial: std::sync::MutexGuard<'static, ()>,
    state: common::process::TempDir,
    addr: SocketAddr,
    shards: Vec<SocketAddr>,
}

impl Proxy {
    fn start(name: &str, shards: u16, extra: &[&str]) -> Proxy {
        static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let state = common::process::temp_dir("twemproxy", name);
        let port = free_block(shards + 2);
        let mut args = vec![shards.to_string(), "--port".into(), port.to_string()];
        args.extend(extra.iter().map(|a| a.to_string()));
        let proxy = Proxy {
            _serial: serial,
            addr: ([127, 0, 0, 1], port).into(),
            shards: (1..=shards)
                .map(|i| ([127, 0, 0, 1], port + i).into())
                .collect(),
            state,
        };
        let out = proxy.script(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.lines().last(), Some(&*format!("127.0.0.1:{port}")));
        proxy
    }

    fn script<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/twemproxy.sh"))
            .args(args)
            .env("TWEMPROXY_DIR", &*self.state)
            .env("RESPD_BIN", env!("CARGO_BIN_EXE_respd"))
            .output()
            .expect("run scripts/twemproxy.sh")
    }

    /// Kills shard `i` (from 1), as a crash would.
    fn kill_shard(&self, i: usize) {
        let pid = std::fs::read_to_string(self.state.join(format!("shard-{i}.pid"))).unwrap();
        let status = Command::new("kill")
            .args(["-9", pid.trim()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let out = self.script(&["stop"]);
        if !std::thread::panicking() {
            assert!(out.status.success());
            assert!(!self.state.exists(), "stop leaves no state behind");
        }
    }
}

/// A base port with `n` free ports from it (proxy, shards, stats).
fn free_block(n: u16) -> u16 {
    for _ in 0..100 {
        let base = common::process::free_port();
        if base.checked_add(n).is_none() {
            continue;
        }
        let free = (base..base + n).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no block of {n} free ports");
}

/// A redis-rs connection as twemproxy needs it: RESP2 and no CLIENT
/// SETINFO (twemproxy closes the connection on any CLIENT command).
fn connect(addr: SocketAddr, password: Option<&str>) -> redis::RedisResult<redis::Connection> {
    let info = format!("redis://{addr}/").into_connection_info()?;
    let mut settings = info.redis_settings().clone().set_skip_set_lib_name();
    if let Some(password) = password {
        settings = settings.set_password(password);
    }
    let client = redis::Client::open(info.set_redis_settings(settings))?;
    client.get_connection_with_timeout(Duration::from_secs(5))
}

fn run(conn: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<Value> {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query(conn)
}

fn text(value: Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Value::SimpleString(s) => s,
        Value::Okay => "OK".into(),
        Value::Int(n) => n.to_string(),
        Value::Nil => "nil".into(),
        Value::Array(items) => {
            let items: Vec<String> = items.into_iter().map(text).collect();
            format!("[{}]", items.join(","))
        }
        other => format!("{other:?}"),
    }
}

fn q(conn: &mut redis::Connection, args: &[&str]) -> String {
    text(run(conn, args).unwrap_or_else(|e| panic!("{args:?}: {e}")))
}

#[test]
fn commands_through_the_proxy_spread_over_the_shards() {
    if !installed("nutcracker") {
        return;
    }
    let proxy = Proxy::start("commands", 3, &[]);
    let mut c = connect(proxy.addr, None).unwrap();
    let keys: Vec<String> = (0..60).map(|i| format!("key:{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(q(&mut c, &["SET", key, &i.to_string()]), "OK");
    }
    assert_eq!(q(&mut c, &["GET", "key:7"]), "7");
    assert_eq!(
        q(&mut c, &["MGET", "key:1", "key:2", "nope", "key:3"]),
        "[1,2,nil,3]"
    );
    assert_eq!(q(&mut c, &["INCR", "key:10"]), "11");
    assert_eq!(q(&mut c, &["INCRBY", "counter", "5"]), "5");
    assert_eq!(q(&mut c, &["DEL", "key:1", "key:2", "nope"]), "2");
    // twemproxy 0.5 splits DEL and MGET by shard, but sends a multi-key
    // EXISTS whole to the first key's shard: one key at a time.
    assert_eq!(q(&mut c, &["EXISTS", "key:1"]), "0");
    assert_eq!(q(&mut c, &["EXISTS", "key:3"]), "1");
    assert_eq!(q(&mut c, &["HSET", "h", "a", "1", "b", "2"]), "2");
    assert_eq!(q(&mut c, &["HGET", "h", "b"]), "2");
    assert_eq!(q(&mut c, &["HINCRBY", "h", "a", "10"]), "11");
    assert_eq!(q(&mut c, &["RPUSH", "l", "x", "y", "z"]), "3");
    assert_eq!(q(&mut c, &["LRANGE", "l", "0", "-1"]), "[x,y,z]");
    assert_eq!(q(&mut c, &["LPOP", "l"]), "x");
    assert_eq!(q(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]), "3");
    assert_eq!(q(&mut c, &["ZRANGE", "z", "0", "1"]), "[a,b]");
    assert_eq!(q(&mut c, &["ZSCORE", "z", "c"]), "3");
    assert_eq!(q(&mut c, &["SADD", "s", "m"]), "1");
    assert_eq!(q(&mut c, &["EXPIRE", "key:3", "100"]), "1");
    assert_eq!(q(&mut c, &["TTL", "key:3"]), "100");
    assert_eq!(q(&mut c, &["PING"]), "PONG");
    // Every shard holds a part of the keys, and together all of them.
    let mut total = 0;
    for shard in &proxy.shards {
        let mut direct = connect(*shard, None).unwrap();
        let held = keys
            .iter()
            .filter(|k| q(&mut direct, &["EXISTS", k]) == "1")
            .count();
        assert!(held > 0, "shard {shard} holds no key");
        total += held;
    }
    assert_eq!(total, keys.len() - 2);
    // What twemproxy refuses, it refuses by closing the connection.
    assert!(run(&mut c, &["KEYS", "*"]).is_err());
}

#[test]
fn a_dead_shard_is_ejected_and_the_others_keep_serving() {
    if !installed("nutcracker") {
        return;
    }
    let proxy = Proxy::start("eject", 3, &[]);
    let mut c = connect(proxy.addr, None).unwrap();
    let keys: Vec<String> = (0..90).map(|i| format!("k{i}")).collect();
    for key in &keys {
        assert_eq!(q(&mut c, &["SET", key, key]), "OK");
    }
    // Keys on shards 2 and 3.
    let mut survivors = Vec::new();
    for shard in &proxy.shards[1..] {
        let mut direct = connect(*shard, None).unwrap();
        survivors.extend(
            keys.iter()
                .filter(|k| q(&mut direct, &["EXISTS", k]) == "1")
                .cloned(),
        );
    }
    assert!(!survivors.is_empty() && survivors.len() < keys.len());
    proxy.kill_shard(1);
    // Requests for the dead shard fail until it is ejected (after one
    // failure); then every key has a live home again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut c = match connect(proxy.addr, None) {
            Ok(c) => c,
            Err(_) => continue,
        };
        let all_ok = keys.iter().all(|k| {
            matches!(
                run(&mut c, &["SET", &format!("new:{k}"), "v"]),
                Ok(Value::Okay)
            )
        });
        if all_ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dead shard was never ejected"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut c = connect(proxy.addr, None).unwrap();
    for key in &survivors {
        assert_eq!(q(&mut c, &["GET", key]), *key, "a live shard's key");
    }
}

#[test]
fn redis_auth_authenticates_the_proxy_to_shards_with_requirepass() {
    if !installed("nutcracker") {
        return;
    }
    let proxy = Proxy::start("auth", 3, &["--auth", "sesame"]);
    // The shards refuse strangers; the proxy asks its clients for the password.
    let mut direct = connect(proxy.shards[0], None).unwrap();
    let refused = run(&mut direct, &["GET", "a"]).unwrap_err();
    assert_eq!(refused.code(), Some("NOAUTH"));
    let mut stranger = connect(proxy.addr, None).unwrap();
    assert!(run(&mut stranger, &["GET", "a"]).is_err());
    let mut c = connect(proxy.addr, Some("sesame")).unwrap();
    for i in 0..30 {
        assert_eq!(q(&mut c, &["SET", &format!("a{i}"), "1"]), "OK");
    }
    assert_eq!(q(&mut c, &["MGET", "a0", "a29"]), "[1,1]");
}

#[test]
fn redis_benchmark_through_the_proxy_has_no_errors() {
    if !installed("nutcracker") || !installed("redis-benchmark") {
        return;
    }
    let proxy = Proxy::start("benchmark", 3, &[]);
    let port = proxy.addr.port().to_string();
    let out = Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "set,get",
            "-n",
            "10000",
        ])
        .args(["-c", "20", "-r", "100000", "-q"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    // The last progress line of each test is its summary.
    let summaries: Vec<&str> = stdout
        .split(['\r', '\n'])
        .filter(|l| l.contains("requests per second"))
        .collect();
    assert_eq!(summaries.len(), 2, "{stdout}");
    assert!(!stdout.to_lowercase().contains("error"), "{stdout}{stderr}");
    // The random keys of the SETs landed on every shard.
    for shard in &proxy.shards {
        let mut direct = connect(*shard, None).unwrap();
        let keys: i64 = q(&mut direct, &["DBSIZE"]).parse().unwrap();
        assert!(keys > 0, "shard {shard} got no key");
    }
}
