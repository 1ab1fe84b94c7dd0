//! Hostile and broken clients: protected mode, authentication, idle and
//! slow clients, clients that lie about sizes, a command that panics, and
//! the parser under a fuzzer (a short fixed-seed run of
//! `examples/fuzz_resp.rs`, plus every input that once failed).

mod common;

#[path = "../examples/fuzz_resp.rs"]
#[allow(dead_code)]
mod fuzz;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{assert_reply, cmd, is_closed, raw, start_with, RealRedis};
use respd::{Config, Server};

const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";
const NOAUTH: &[u8] = b"-NOAUTH Authentication required.\r\n";
const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";
const DEBUG_REFUSED: &[u8] = b"-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n";

// ------------------------------------------------------------------ parser

#[test]
fn the_parser_survives_a_short_fixed_seed_fuzz() {
    let summary = fuzz::fuzz(20_000, 0x5EED);
    println!(
        "{} fuzz iterations, {} valid inputs",
        summary.iterations, summary.valid
    );
    let failures: Vec<String> = summary
        .failures
        .iter()
        .map(|(i, input, why)| {
            format!("iteration {i}: {why}: {:?}", String::from_utf8_lossy(input))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(summary.valid > 1000);
}

#[test]
fn inputs_that_once_failed_are_handled() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).expect("tests/regressions") {
        let path = entry.expect("entry").path();
        if let Err(why) = fuzz::replay(&path) {
            panic!("{}: {why}", path.display());
        }
        replayed += 1;
    }
    assert!(replayed > 0);
}

// ---------------------------------------------------------- protected mode

/// This machine's own non-loopback address: the one a UDP socket would send
/// from (connecting a UDP socket sends nothing).
fn own_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Reads until the server closes the connection (or 5 s pass).
fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    got
}

#[test]
fn protected_mode_refuses_remote_clients_until_a_password_or_no() {
    if common::as_test_user() {
        eprintln!("skipped as the test user: protected mode follows the default user's password");
        return;
    }
    let Some(ip) = own_address() else {
        eprintln!("no non-loopback address on this machine: skipping the protected mode test");
        return;
    };
    let server = Server::bind_with("0.0.0.0:0", Config::default())
        .expect("bind")
        .spawn();
    let port = server.local_addr().port();
    let remote = SocketAddr::new(ip, port);
    let local = SocketAddr::from(([127, 0, 0, 1], port));

    let mut stranger = raw(remote);
    assert_eq!(
        String::from_utf8_lossy(&read_to_close(&mut stranger)),
        DENIED
    );
    let mut admin = raw(local);
    assert_reply(&mut admin, &cmd(&["PING"]), b"+PONG\r\n");

    // protected-mode no: everyone is served, at once.
    assert_reply(
        &mut admin,
        &cmd(&["CONFIG", "SET", "protected-mode", "no"]),
        b"+OK\r\n",
    );
    let mut stranger = raw(remote);
    assert_reply(&mut stranger, &cmd(&["PING"]), b"+PONG\r\n");

    // Back on, with a password: remote clients may authenticate.
    assert_reply(
        &mut admin,
        &cmd(&[
            "CONFIG",
            "SET",
            "protected-mode",
            "yes",
            "requirepass",
            "pw",
        ]),
        b"+OK\r\n",
    );
    let mut stranger = raw(remote);
    assert_reply(&mut stranger, &cmd(&["PING"]), NOAUTH);
    assert_reply(&mut stranger, &cmd(&["AUTH", "pw"]), b"+OK\r\n");
    assert_reply(&mut stranger, &cmd(&["PING"]), b"+PONG\r\n");

    // No password again: refused again; the refusals are counted.
    assert_reply(&mut admin, &cmd(&["AUTH", "pw"]), b"+OK\r\n");
    assert_reply(
        &mut admin,
        &cmd(&["CONFIG", "SET", "requirepass", ""]),
        b"+OK\r\n",
    );
    let mut stranger = raw(remote);
    assert_eq!(
        String::from_utf8_lossy(&read_to_close(&mut stranger)),
        DENIED
    );
    admin.write_all(&cmd(&["INFO", "stats"])).unwrap();
    let info = String::from_utf8_lossy(&common::read_until_quiet(
        &mut admin,
        Duration::from_millis(300),
    ))
    .into_owned();
    assert!(info.contains("rejected_connections:2\r\n"), "{info}");
}

// ---------------------------------------------------------- authentication

#[test]
fn with_a_password_only_auth_hello_quit_and_reset_pass() {
    if common::as_test_user() {
        eprintln!("skipped as the test user: requirepass is the default user's password");
        return;
    }
    let script: Vec<(Vec<u8>, &[u8])> = vec![
        (cmd(&["GET", "k"]), NOAUTH),
        (cmd(&["PING"]), NOAUTH),
        (cmd(&["SELECT", "1"]), NOAUTH),
        (cmd(&["CONFIG", "GET", "requirepass"]), NOAUTH),
        (cmd(&["NOSUCHCOMMAND"]), b"-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: \r\n"),
        (cmd(&["HELLO", "3"]), b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"),
        (cmd(&["HELLO", "2", "AUTH", "default", "nope"]), WRONGPASS),
        (cmd(&["AUTH", "nope"]), WRONGPASS),
        (cmd(&["AUTH", "secret2"]), WRONGPASS),
        (cmd(&["AUTH", "secre"]), WRONGPASS),
        (cmd(&["AUTH", "someone", "secret"]), WRONGPASS),
        (cmd(&["RESET"]), b"+RESET\r\n"),
        (cmd(&["GET", "k"]), NOAUTH),
        (cmd(&["AUTH", "default", "secret"]), b"+OK\r\n"),
        (cmd(&["GET", "k"]), b"$-1\r\n"),
        (cmd(&["RESET"]), b"+RESET\r\n"),
        (cmd(&["GET", "k"]), NOAUTH),
        (cmd(&["QUIT"]), b"+OK\r\n"),
    ];
    let server = start_with("requirepass secret");
    let redis = RealRedis::start();
    let mut targets = vec![server.local_addr()];
    if let Some(redis) = &redis {
        let mut admin = raw(redis.addr);
        assert_reply(
            &mut admin,
            &cmd(&["CONFIG", "SET", "requirepass", "secret"]),
            b"+OK\r\n",
        );
        targets.push(redis.addr);
    }
    for addr in targets {
        let mut s = raw(addr);
        for (request, expected) in &script {
            assert_reply(&mut s, request, expected);
        }
        assert!(is_closed(&mut s), "{addr}: QUIT closes");
    }
}

// ------------------------------------------------------------- idle clients

#[test]
fn timeout_closes_idle_clients_only() {
    let server = start_with("timeout 1");
    let mut idle = raw(server.local_addr());
    assert_reply(&mut idle, &cmd(&["PING"]), b"+PONG\r\n");
    let mut busy = raw(server.local_addr());
    // An active client outlives the idle one.
    for _ in 0..8 {
        thread::sleep(Duration::from_millis(300));
        assert_reply(&mut busy, &cmd(&["PING"]), b"+PONG\r\n");
    }
    assert!(is_closed(&mut idle), "the idle client was closed");
    // CONFIG SET timeout 0 applies to the next idle wait.
    assert_reply(
        &mut busy,
        &cmd(&["CONFIG", "SET", "timeout", "0"]),
        b"+OK\r\n",
    );
    let mut patient = raw(server.local_addr());
    assert_reply(&mut patient, &cmd(&["PING"]), b"+PONG\r\n");
    thread::sleep(Duration::from_millis(2500));
    assert_reply(&mut patient, &cmd(&["PING"]), b"+PONG\r\n");
}

// ------------------------------------------------------------- slow clients

/// Percentiles of a list of durations, in microseconds.
fn percentiles(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |p: usize| samples[(samples.len() - 1) * p / 100].as_micros();
    format!(
        "p50 {} us, p99 {} us, max {} us over {} PINGs",
        at(50),
        at(99),
        at(100),
        samples.len()
    )
}

#[test]
fn slowloris_clients_hold_only_their_own_worker() {
    let server = start_with("");
    let addr = server.local_addr();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // 50 clients each trickle a SET, a byte every 50 ms.
    let trickling: Vec<_> = (0..50)
        .map(|i| {
            let stop = stop.clone();
            thread::spawn(move || {
                let mut stream = raw(addr);
                let value = "v".repeat(400);
                let request = cmd(&["SET", &format!("slow:{i}"), &value]);
                for byte in request.iter().cycle() {
                    if stop.load(std::sync::atomic::Ordering::Relaxed)
                        || stream.write_all(&[*byte]).is_err()
                    {
                        break;
                    }
                    thread::sleep(Duration::from_millis(50));
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    let mut fast = raw(addr);
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let sent = Instant::now();
        assert_reply(&mut fast, &cmd(&["PING"]), b"+PONG\r\n");
        latencies.push(sent.elapsed());
        thread::sleep(Duration::from_millis(5));
    }
    println!(
        "PING under 50 slowloris clients: {}",
        percentiles(latencies)
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in trickling {
        t.join().unwrap();
    }
    // Their commands were still being read, not refused.
    assert_reply(&mut fast, &cmd(&["EXISTS", "slow:0"]), b":0\r\n");
}

// ------------------------------------------------------------ DEBUG, panics

#[test]
fn debug_is_refused_unless_enabled() {
    let server = common::start();
    let redis = RealRedis::start();
    for addr in std::iter::once(server.local_addr()).chain(redis.as_ref().map(|r| r.addr)) {
        let mut s = raw(addr);
        assert_reply(&mut s, &cmd(&["DEBUG", "SLEEP", "0"]), DEBUG_REFUSED);
        assert_reply(
            &mut s,
            &cmd(&["DEBUG"]),
            b"-ERR wrong number of arguments for 'debug' command\r\n",
        );
    }
    for setting in ["yes", "local"] {
        let server = start_with(&format!("enable-debug-command {setting}"));
        let mut s = raw(server.local_addr());
        assert_reply(&mut s, &cmd(&["DEBUG", "SLEEP", "0"]), b"+OK\r\n");
        assert_reply(&mut s, &cmd(&["DEBUG", "sleep", "0.01"]), b"+OK\r\n");
        assert_reply(
            &mut s,
            &cmd(&["DEBUG", "SLEEP"]),
            b"-ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.\r\n",
        );
        assert_reply(
            &mut s,
            &cmd(&["DEBUG", "nope", "1"]),
            b"-ERR unknown subcommand or wrong number of arguments for 'nope'. Try DEBUG HELP.\r\n",
        );
    }
}

#[test]
fn a_panicking_command_costs_one_error_reply() {
    let server = start_with("enable-debug-command yes");
    let addr = server.local_addr();
    let mut writer = raw(addr);
    assert_reply(&mut writer, &cmd(&["SET", "before", "intact"]), b"+OK\r\n");
    assert_reply(&mut writer, &cmd(&["RPUSH", "list", "a", "b"]), b":2\r\n");
    let mut other = raw(addr);
    assert_reply(&mut other, &cmd(&["SELECT", "0"]), b"+OK\r\n");

    // The panic happens while the write lock of db 0 is held.
    assert_reply(
        &mut writer,
        &cmd(&["DEBUG", "PANIC"]),
        b"-ERR internal error while running 'debug'\r\n",
    );
    // The client that saw it goes on, and so does everyone else; the lock
    // is usable for reading and writing, the data is whole.
    assert_reply(&mut writer, &cmd(&["GET", "before"]), b"$6\r\nintact\r\n");
    assert_reply(
        &mut other,
        &cmd(&["LRANGE", "list", "0", "-1"]),
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    );
    assert_reply(&mut other, &cmd(&["SET", "after", "x"]), b"+OK\r\n");
    assert_reply(&mut writer, &cmd(&["DBSIZE"]), b":3\r\n");
    let mut newcomer = raw(addr);
    assert_reply(&mut newcomer, &cmd(&["GET", "after"]), b"$1\r\nx\r\n");
    // Inside MULTI the panic is one failed command of the EXEC.
    assert_reply(&mut newcomer, &cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(&mut newcomer, &cmd(&["DEBUG", "PANIC"]), b"+QUEUED\r\n");
    assert_reply(&mut newcomer, &cmd(&["INCR", "n"]), b"+QUEUED\r\n");
    assert_reply(
        &mut newcomer,
        &cmd(&["EXEC"]),
        b"*2\r\n-ERR internal error while running 'debug'\r\n:1\r\n",
    );
}

#[test]
fn debug_sleep_holds_only_its_own_client() {
    let server = start_with("enable-debug-command yes");
    let addr = server.local_addr();
    let sleeper = thread::spawn(move || {
        let mut s = raw(addr);
        assert_reply(&mut s, &cmd(&["DEBUG", "SLEEP", "1"]), b"+OK\r\n");
    });
    thread::sleep(Duration::from_millis(100));
    let mut s = raw(addr);
    assert_reply(&mut s, &cmd(&["SET", "k", "v"]), b"+OK\r\n");
    sleeper.join().unwrap();
}

// -------------------------------------------- lying clients, as a process

/// Resident memory of a process, in KB (Linux only).
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_server(program: &str, port: u16) -> Option<Process> {
    let child = Command::new(program)
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--bind",
            "127.0.0.1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let process = Process(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..100 {
        if let Ok(mut s) = TcpStream::connect(addr) {
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            if common::exchange(&mut s, &cmd(&["PING"]), 7) == b"+PONG\r\n" {
                return Some(process);
            }
        }
        thread::sleep(Duration::from_millis(50));
    }
    None
}

/// 200 clients each announce a 512 MB argument and send 8 KB of it: how
/// much does the server grow? Prints the figures for respd (the binary of
/// the profile under test: run with `--release`) and for redis-server.
#[test]
#[ignore = "a measurement: cargo test --release --test hardening -- --ignored --nocapture"]
fn measure_200_lying_clients() {
    for program in [env!("CARGO_BIN_EXE_respd"), "redis-server"] {
        let port = free_port();
        let Some(server) = spawn_server(program, port) else {
            println!("{program}: could not start");
            continue;
        };
        let pid = server.0.id();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        thread::sleep(Duration::from_millis(300));
        let before = rss_kb(pid).unwrap_or(0);
        let mut liars: Vec<TcpStream> = (0..200)
            .map(|_| {
                let mut s = raw(addr);
                s.write_all(b"*3\r\n$3\r\nSET\r\n$4\r\nhuge\r\n$536870912\r\n")
                    .unwrap();
                s.write_all(&[b'x'; 8192]).unwrap();
                s
            })
            .collect();
        // Every liar has been read once a PING on each other connection
        // has been answered and a moment has passed.
        let mut probe = raw(addr);
        assert_reply(&mut probe, &cmd(&["PING"]), b"+PONG\r\n");
        thread::sleep(Duration::from_millis(1000));
        let during = rss_kb(pid).unwrap_or(0);
        println!(
            "{program}: RSS {before} KB idle, {during} KB with 200 lying clients (+{} KB, {} KB sent)",
            during.saturating_sub(before),
            200 * 8
        );
        liars.clear();
        drop(server);
    }
}
