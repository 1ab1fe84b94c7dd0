//! Servers run as separate processes (the `respd` binary or redis-server),
//! for the persistence tests that restart or kill them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use redis::Value;

/// A server process (respd or redis-server), killed when dropped.
pub struct Process {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(super::url(self.addr))
            .unwrap()
            .get_connection()
            .unwrap()
    }

    /// Waits for the process to exit by itself (after SHUTDOWN).
    pub fn wait_exit(mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the server did not exit");
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `program` with `args` plus a free port, and waits until it
/// accepts connections. The port was free when picked; should another
/// test take it first, the program exits and starts again on another.
pub fn spawn(program: &str, args: &[&str]) -> Process {
    let deadline = Instant::now() + Duration::from_secs(20);
    'start: for _ in 0..5 {
        let port = free_port();
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(super::test_user_args());
        all.extend([
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
        ]);
        let mut child = Command::new(program)
            .args(&all)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        // Up when it answers PING with anything but -LOADING (redis-server
        // listens before it has loaded its AOF or dump), and still running
        // (what answered is then ours).
        loop {
            if child.try_wait().unwrap().is_some() {
                continue 'start;
            }
            if answers_loaded(addr) && child.try_wait().unwrap().is_none() {
                return Process { child, addr };
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                panic!("{program} did not start");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("{program} exited at once, five times");
}

/// True when the server at `addr` answers PING and is not loading.
fn answers_loaded(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    // As the test user, log in first: a server checks AUTH before LOADING.
    if let Some(auth) = super::auth_request() {
        let mut ok = [0u8; 5];
        if stream.write_all(&auth).is_err() || stream.read_exact(&mut ok).is_err() {
            return false;
        }
    }
    if stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 8];
    match stream.read(&mut reply) {
        Ok(n) if n > 0 => !reply[..n].starts_with(b"-LOADING"),
        _ => false,
    }
}

pub fn respd(dir: &Path, extra: &[&str]) -> Process {
    let mut args = vec!["--dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    spawn(env!("CARGO_BIN_EXE_respd"), &args)
}

/// Runs `program` on `dir` until it exits, refusing to start; returns its
/// output, stdout then stderr (redis-server logs to stdout).
pub fn failed_start(program: &str, dir: &Path) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(program)
        .args([
            "--dir",
            dir.to_str().unwrap(),
            "--port",
            &free_port().to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    // redis-server then runs its RDB check, which may exit 0.
    assert!(!status.success() || program == "redis-server");
    format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    )
}

/// A fresh, empty directory under the system's temp dir.
pub fn temp_dir(prefix: &str, name: &str) -> TempDir {
    TempDir::new(&format!("{prefix}-{name}"))
}

/// A test's own directory under the system's temp dir, removed when the
/// test is done with it (kept when the test fails, to look into).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// `respd-{name}-{pid}`, emptied first.
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("respd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Writes `text` to `file` in the directory; returns its path.
    pub fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.0.join(file);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// True when `program` runs; says so and skips otherwise.
pub fn installed(program: &str) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok();
    if !found {
        eprintln!("{program} not installed: skipping");
    }
    found
}

/// Asserts that `redis-check-rdb` accepts the dump at `path` (skipped when
/// it is not installed).
pub fn redis_check_rdb(path: &Path) {
    if !installed("redis-check-rdb") {
        return;
    }
    let check = Command::new("redis-check-rdb").arg(path).output().unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && report.contains("RDB looks OK"),
        "{report}"
    );
}

/// Runs a command through redis-rs; panics with the command on an error.
pub fn run(conn: &mut redis::Connection, args: &[&str]) -> Value {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command
        .query(conn)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// The error text (code and detail) of a command that must fail.
pub fn run_err(conn: &mut redis::Connection, args: &[&str]) -> String {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    match command.query::<Value>(conn) {
        Ok(value) => panic!("{args:?} succeeded: {value:?}"),
        Err(err) => format!(
            "{} {}",
            err.code().unwrap_or(""),
            err.detail().unwrap_or("")
        ),
    }
}

/// One field of INFO persistence.
pub fn info_field(conn: &mut redis::Connection, field: &str) -> String {
    let text: String = redis::cmd("INFO").arg("persistence").query(conn).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO"))
        .to_string()
}

/// Waits until INFO persistence says `loading:0`.
pub fn wait_loaded(conn: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info: String = redis::cmd("INFO").arg("persistence").query(conn).unwrap();
        if info.lines().any(|line| line.trim() == "loading:0") {
            return;
        }
        assert!(Instant::now() < deadline, "still loading");
        std::thread::sleep(Duration::from_millis(20));
    }
}
