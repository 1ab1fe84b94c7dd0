//! Where respd listens: a unix socket (`unixsocket`, `unixsocketperm`)
//! beside TCP, and CONFIG SET port / bind moving the TCP listeners at run
//! time, with redis-server's replies.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::process::{self, free_port, run, run_err, temp_dir};
use redis::Value;

/// Sends `request` over the unix socket at `path`, reads `len` bytes.
fn unix_exchange(path: &Path, request: &[u8], len: usize) -> Vec<u8> {
    let mut stream = UnixStream::connect(path).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    if let Some(auth) = common::auth_request() {
        stream.write_all(&auth).unwrap();
        let mut ok = [0u8; 5];
        stream.read_exact(&mut ok).unwrap();
        assert_eq!(&ok, b"+OK\r\n", "AUTH as the test user");
    }
    stream.write_all(request).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < len {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

fn connects(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Waits (bounded) until `path` no longer exists.
fn gone(path: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while path.exists() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn the_unix_socket_serves_and_goes_away_at_shutdown() {
    let dir = temp_dir("listeners", "unix");
    let socket = dir.join("respd.sock");
    // A stale file where the socket goes is replaced, as Redis does.
    std::fs::write(&socket, b"stale").unwrap();
    let mut server = process::respd(
        &dir,
        &[
            "--save",
            "",
            "--unixsocket",
            socket.to_str().unwrap(),
            "--unixsocketperm",
            "700",
        ],
    );
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(
        unix_exchange(&socket, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n", 5),
        b"+OK\r\n"
    );
    // The same data over TCP, and the client shows as Redis shows it.
    let mut conn = server.conn();
    assert_eq!(
        run(&mut conn, &["GET", "k"]),
        Value::BulkString(b"v1".to_vec())
    );
    let info = unix_exchange(&socket, b"CLIENT INFO\r\n", 60);
    let text = String::from_utf8_lossy(&info);
    let name = socket.display();
    assert!(
        text.contains(&format!(" addr={name}:0 laddr={name}:0 ")) && text.contains(" flags=U "),
        "{text}"
    );
    assert_eq!(
        run(&mut conn, &["CONFIG", "GET", "unixsocketperm"]),
        Value::Array(vec![
            Value::BulkString(b"unixsocketperm".to_vec()),
            Value::BulkString(b"700".to_vec())
        ])
    );
    assert_eq!(
        run_err(&mut conn, &["CONFIG", "SET", "unixsocket", "/tmp/x"]),
        "ERR CONFIG SET failed (possibly related to argument 'unixsocket') - can't set immutable config"
    );
    // redis-cli -s works too.
    if process::installed("redis-cli") {
        let out = Command::new("redis-cli")
            .args(["-s", socket.to_str().unwrap()])
            .args(common::cli_auth_args())
            .args(["GET", "k"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "v1\n");
    }
    // SHUTDOWN over the unix socket: exit 0 and the file is gone.
    let _ = unix_exchange(&socket, b"SHUTDOWN NOSAVE\r\n", 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "respd did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    assert!(gone(&socket));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_unix_socket_that_cannot_be_made_stops_the_start() {
    let dir = temp_dir("listeners", "unix-bad");
    let output = Command::new(env!("CARGO_BIN_EXE_respd"))
        .args([
            "--dir",
            dir.to_str().unwrap(),
            "--port",
            &free_port().to_string(),
            "--bind",
            "127.0.0.1",
            "--unixsocket",
            dir.join("missing/respd.sock").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Failed opening Unix socket"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_set_port_and_bind_move_the_listeners() {
    let dir = temp_dir("listeners", "rebind");
    let server = process::respd(&dir, &["--save", ""]);
    let old_port = server.addr.port();
    let mut conn = server.conn();
    let new_port = free_port();
    assert_eq!(
        run(&mut conn, &["CONFIG", "SET", "port", &new_port.to_string()]),
        Value::Okay
    );
    // The connection that asked stays; new ones go to the new port only.
    assert!(connects(new_port));
    assert!(!connects(old_port));
    let info: String = redis::cmd("INFO").arg("server").query(&mut conn).unwrap();
    assert!(info.contains(&format!("tcp_port:{new_port}\r\n")), "{info}");
    // A port in use: Redis's error, and the listener stays where it was.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    assert_eq!(
        run_err(&mut conn, &["CONFIG", "SET", "port", &taken_port.to_string()]),
        "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs."
    );
    assert!(connects(new_port));
    assert_eq!(
        run(&mut conn, &["CONFIG", "GET", "port"]),
        Value::Array(vec![
            Value::BulkString(b"port".to_vec()),
            Value::BulkString(new_port.to_string().into_bytes())
        ])
    );
    // An address this host does not have: the same for bind.
    assert_eq!(
        run_err(&mut conn, &["CONFIG", "SET", "bind", "127.0.0.1 192.0.2.1"]),
        "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses."
    );
    assert!(connects(new_port));
    assert_eq!(
        run(&mut conn, &["CONFIG", "SET", "bind", "-::1 127.0.0.1"]),
        Value::Okay
    );
    assert!(connects(new_port));
    drop(taken);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same errors, byte for byte, from a real redis-server.
#[test]
fn rebind_errors_match_redis() {
    if !process::installed("redis-server") {
        return;
    }
    let dir = temp_dir("listeners", "redis");
    let redis = process::spawn(
        "redis-server",
        &["--save", "", "--dir", dir.to_str().unwrap()],
    );
    let mut conn = redis.conn();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    assert_eq!(
        run_err(&mut conn, &["CONFIG", "SET", "port", &taken_port.to_string()]),
        "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs."
    );
    assert_eq!(
        run_err(&mut conn, &["CONFIG", "SET", "bind", "127.0.0.1 192.0.2.1"]),
        "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses."
    );
    assert_eq!(
        run_err(&mut conn, &["CONFIG", "SET", "unixsocket", "/tmp/x"]),
        "ERR CONFIG SET failed (possibly related to argument 'unixsocket') - can't set immutable config"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
