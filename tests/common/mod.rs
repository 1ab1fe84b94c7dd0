//! Helpers shared by the integration tests: an in-process respd on a free
//! port, raw sockets for byte-exact checks, and a real redis-server (when
//! installed) to compare against.
#![allow(dead_code)]

pub mod conn;
pub mod pipeline;
pub mod process;
pub mod script;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use respd::{Config, Server, ServerHandle};

/// With `RESPD_TEST_USER` set in the environment (CI runs a few test
/// binaries so), the servers these helpers start (respd and the real
/// redis-server alike) have their default user off and this user instead,
/// allowed everything through a selector, so that every command goes
/// through the whole permission check; the helpers' connections log in
/// as it.
pub const TEST_USER: (&str, &str) = ("tester", "tester-pw");

/// The test user's rules, as `user` line words.
const TEST_USER_RULES: &[&str] = &[
    "on",
    ">tester-pw",
    "-@all",
    "resetchannels",
    "(+@all",
    "~*",
    "&*)",
];

/// True when the tests run as [`TEST_USER`].
pub fn as_test_user() -> bool {
    // Set and not empty: `RESPD_TEST_USER=` turns it off like unsetting it.
    std::env::var_os("RESPD_TEST_USER").is_some_and(|value| !value.is_empty())
}

/// `AUTH tester tester-pw`, when the tests run as the test user.
pub fn auth_request() -> Option<Vec<u8>> {
    as_test_user().then(|| cmd(&["AUTH", TEST_USER.0, TEST_USER.1]))
}

/// A respd with the default configuration on 127.0.0.1 and a free port.
pub fn start() -> ServerHandle {
    if as_test_user() {
        return start_with("");
    }
    Server::bind("127.0.0.1:0").expect("bind").spawn()
}

/// A respd with configuration lines (redis.conf syntax) applied.
pub fn start_with(conf: &str) -> ServerHandle {
    Server::bind_with("127.0.0.1:0", config_with(conf))
        .expect("bind")
        .spawn()
}

/// The configuration of [`start_with`]: `conf`'s lines, and the test user
/// when the tests run as it.
pub fn config_with(conf: &str) -> Config {
    let mut config = Config::default();
    config.load(conf).expect("config");
    if as_test_user() {
        let user = format!(
            "user {} {}\nuser default off\n",
            TEST_USER.0,
            TEST_USER_RULES.join(" ")
        );
        config.load(&user).expect("test user");
    }
    config
}

/// A redis-rs connection to `addr`.
pub fn redis(addr: SocketAddr) -> redis::Connection {
    redis::Client::open(url(addr))
        .expect("client")
        .get_connection()
        .expect("connect")
}

/// A `respd::Client` to `addr`, logged in as the test user when the tests
/// run as one.
pub fn client(addr: SocketAddr) -> respd::Client {
    let mut client = respd::Client::connect(addr).expect("connect");
    if as_test_user() {
        let reply = client
            .command(&["AUTH", TEST_USER.0, TEST_USER.1])
            .expect("auth");
        assert_eq!(
            reply,
            respd::resp::Frame::Simple("OK".into()),
            "AUTH as the test user"
        );
    }
    client
}

/// The redis-rs URL of `addr`, with the test user's credentials when the
/// tests run as it.
pub fn url(addr: SocketAddr) -> String {
    if as_test_user() {
        format!("redis://{}:{}@{addr}/", TEST_USER.0, TEST_USER.1)
    } else {
        format!("redis://{addr}/")
    }
}

/// A raw connection to `addr` that has not logged in (5 s read timeout).
pub fn raw_anonymous(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// A raw socket with a read timeout, for byte-exact exchanges.
pub fn raw(addr: SocketAddr) -> TcpStream {
    let mut stream = raw_anonymous(addr);
    if let Some(auth) = auth_request() {
        stream.write_all(&auth).expect("write");
        assert_eq!(read_n(&mut stream, 5), b"+OK\r\n", "AUTH as the test user");
    }
    stream
}

/// Sends `request` and reads until `expected.len()` bytes have arrived (or
/// the connection closes or times out); returns what arrived.
pub fn exchange(stream: &mut TcpStream, request: &[u8], expected_len: usize) -> Vec<u8> {
    stream.write_all(request).expect("write");
    read_n(stream, expected_len)
}

/// Reads up to `n` bytes, stopping early at end of stream or timeout.
pub fn read_n(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while got.len() < n {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => got.extend_from_slice(&buf[..k]),
        }
    }
    got
}

/// Reads a reply of unknown length: waits up to 5 s for its first bytes
/// (a loaded machine may be slow to answer), then reads until the server
/// has been quiet for `quiet`.
pub fn read_until_quiet(stream: &mut TcpStream, quiet: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    match stream.read(&mut buf) {
        Ok(0) | Err(_) => return got,
        Ok(k) => got.extend_from_slice(&buf[..k]),
    }
    stream.set_read_timeout(Some(quiet)).ok();
    got.extend(read_n(stream, usize::MAX));
    got
}

/// Sends `request` and asserts the reply is exactly `expected`.
pub fn assert_reply(stream: &mut TcpStream, request: &[u8], expected: &[u8]) {
    let got = exchange(stream, request, expected.len());
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected),
        "request {:?}",
        String::from_utf8_lossy(request)
    );
}

/// True when the server closed the connection (reads EOF within 5 s).
pub fn is_closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(stream.read(&mut buf), Ok(0))
        || matches!(stream.read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
}

/// Encodes a command as a RESP array of bulk strings.
pub fn cmd(args: &[&str]) -> Vec<u8> {
    respd::resp::Frame::command(args).to_bytes()
}

/// A real redis-server on a free loopback port, stopped on drop. `None`
/// (with a message) when redis-server is not installed; CI installs it.
pub struct RealRedis {
    child: Child,
    pub addr: SocketAddr,
}

impl RealRedis {
    pub fn start() -> Option<RealRedis> {
        // Two tests may be handed the same free port at once; the loser's
        // redis-server fails to bind, so each instance carries a unique
        // dbfilename and we check that the server we reach is ours.
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        for _ in 0..10 {
            let port = TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            let tag = format!(
                "respd-oracle-{}-{}.rdb",
                std::process::id(),
                STARTED.fetch_add(1, Ordering::SeqCst)
            );
            let child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .args(["--dbfilename", &tag])
                .args(test_user_args())
                // SHUTDOWN SAVE in a test must not leave a dump in the checkout.
                .arg("--dir")
                .arg(std::env::temp_dir())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let Ok(mut child) = child else {
                eprintln!(
                    "redis-server is not installed: skipping the comparison with a real Redis"
                );
                return None;
            };
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().ok()?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && child.try_wait().ok().flatten().is_none() {
                if let Ok(mut probe) = TcpStream::connect(addr) {
                    probe
                        .set_read_timeout(Some(Duration::from_millis(100)))
                        .ok();
                    // A reset here is a server still starting, or another
                    // test's that is going away: not ours yet, so try again.
                    let mut request = auth_request().unwrap_or_default();
                    request.extend(cmd(&["CONFIG", "GET", "dbfilename"]));
                    if probe.write_all(&request).is_ok() {
                        let reply = read_n(&mut probe, 64);
                        if String::from_utf8_lossy(&reply).contains(&tag) {
                            return Some(RealRedis { child, addr });
                        }
                        if !reply.is_empty() {
                            break; // another test's server holds the port
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("could not start a redis-server of our own");
    }
}

/// Command-line arguments that give a server (redis-server or the respd
/// binary) the test user (see [`TEST_USER`]); none otherwise.
pub fn test_user_args() -> Vec<String> {
    if !as_test_user() {
        return Vec::new();
    }
    let mut args = vec!["--user".to_string(), TEST_USER.0.to_string()];
    args.extend(TEST_USER_RULES.iter().map(|r| r.to_string()));
    args.extend(["--user", "default", "off"].map(String::from));
    args
}

/// The AUTH2 arguments MIGRATE needs to log in to a target the tests
/// started, when they run as the test user (whose servers have the default
/// user off); none otherwise.
pub fn migrate_auth() -> Vec<&'static str> {
    if as_test_user() {
        vec!["AUTH2", TEST_USER.0, TEST_USER.1]
    } else {
        Vec::new()
    }
}

/// Arguments that make redis-cli (or respd-cli) log in as the test user
/// when the tests run as it; none otherwise.
pub fn cli_auth_args() -> Vec<String> {
    if !as_test_user() {
        return Vec::new();
    }
    [
        "--user",
        TEST_USER.0,
        "--pass",
        TEST_USER.1,
        "--no-auth-warning",
    ]
    .map(String::from)
    .to_vec()
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        record_oracle_calls(self.addr);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// With `RESPD_CASES_FILE` set, appends `lines` to that file: the
/// differential cases a test run compared, to count them per command.
pub fn record_cases(lines: &str) {
    let Some(path) = std::env::var_os("RESPD_CASES_FILE") else {
        return;
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("RESPD_CASES_FILE");
    file.write_all(lines.as_bytes()).expect("RESPD_CASES_FILE");
}

/// With `RESPD_CASES_FILE` set, records what this redis-server answered
/// (its `INFO commandstats` lines, as `oracle cmdstat_...`): whatever
/// helper a test compared through, every command it compared went here.
fn record_oracle_calls(addr: SocketAddr) {
    if std::env::var_os("RESPD_CASES_FILE").is_none() {
        return;
    }
    let Ok(stream) = TcpStream::connect(addr) else {
        return;
    };
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let auth = auth_request();
    let mut request = auth.clone().unwrap_or_default();
    request.extend(cmd(&["INFO", "commandstats"]));
    if (&stream).write_all(&request).is_err() {
        return;
    }
    let mut reader = std::io::BufReader::new(stream);
    if auth.is_some() && pipeline::read_reply(&mut reader).is_err() {
        return;
    }
    let Ok(reply) = pipeline::read_reply(&mut reader) else {
        return;
    };
    let lines: String = String::from_utf8_lossy(&reply)
        .lines()
        .filter(|line| line.starts_with("cmdstat_"))
        .map(|line| format!("oracle {line}\n"))
        .collect();
    record_cases(&lines);
}

/// Sends the same raw request to both servers and returns both replies,
/// read until each has been quiet for `quiet` (for unknown-length replies).
pub fn both(
    respd: SocketAddr,
    redis: SocketAddr,
    setup: &[&[u8]],
    request: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let run = |addr: SocketAddr| {
        let mut s = raw(addr);
        for step in setup {
            s.write_all(step).expect("write");
            read_until_quiet(&mut s, Duration::from_millis(200));
        }
        s.write_all(request).expect("write");
        read_until_quiet(&mut s, Duration::from_millis(300))
    };
    (run(respd), run(redis))
}

/// A DUMP payload around `body`: the RDB `version` and a CRC-64 (Jones,
/// reflected) footer, computed here on its own rather than with respd's
/// code, so tests can forge payloads the server has to check.
pub fn forge_payload(body: &[u8], version: u16) -> Vec<u8> {
    let mut payload = body.to_vec();
    payload.extend_from_slice(&version.to_le_bytes());
    let mut crc = 0u64;
    for &byte in &payload {
        crc ^= u64::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    payload.extend_from_slice(&crc.to_le_bytes());
    payload
}

/// Sends each raw request, after the raw `setup`, to a fresh respd and a
/// real Redis (when installed) and asserts the replies are the same bytes.
pub fn same_as_redis(setup: &[&[u8]], requests: &[Vec<u8>]) {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    for request in requests {
        let (mine, theirs) = both(server.local_addr(), real.addr, setup, request);
        assert_eq!(
            String::from_utf8_lossy(&mine),
            String::from_utf8_lossy(&theirs),
            "request {:?}",
            String::from_utf8_lossy(request)
        );
    }
}

/// Runs `scenario` against respd, then against a real redis-server when
/// there is one, and asserts both told the same story; returns respd's.
pub fn differential(scenario: impl Fn(SocketAddr) -> Vec<String>) -> Vec<String> {
    let server = start();
    let ours = scenario(server.local_addr());
    if let Some(redis) = RealRedis::start() {
        let theirs = scenario(redis.addr);
        assert_eq!(ours, theirs, "respd (left) and redis-server (right) differ");
    }
    ours
}

/// The test user's line for an ACL file, when the tests run as it (else
/// nothing): a server with an aclfile takes no users from its config, so
/// a test that gives it one writes the test user there.
pub fn test_user_acl_line() -> String {
    if !as_test_user() {
        return String::new();
    }
    format!("user {} {}\n", TEST_USER.0, TEST_USER_RULES.join(" "))
}
