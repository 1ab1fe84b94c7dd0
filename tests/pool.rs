//! The worker pool gives its threads back after a burst of clients: one
//! worker serves one client, so a burst grows the pool, and once the
//! clients leave the idle workers end.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::process::{self, temp_dir};

/// The process's thread count, from /proc.
fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn idle_workers_go_back_after_a_burst_of_clients() {
    let dir = temp_dir("pool", "burst");
    let server = process::respd(&dir, &["--save", ""]);
    let pid = server.child.id();
    let before = threads(pid);
    let mut clients: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut stream = common::raw(server.addr);
            stream.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
            stream
        })
        .collect();
    // Every client answered: each has its worker.
    for stream in &mut clients {
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"+PONG\r\n");
    }
    let during = threads(pid);
    assert!(during >= 300, "{before} -> {during}");
    drop(clients);
    // The pool is checked once a second; wait (bounded) for it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = threads(pid);
        if now <= before + 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{before} threads before, {during} during, still {now} after"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // And it still serves, growing again when needed.
    let mut conn = server.conn();
    assert_eq!(
        process::run(&mut conn, &["PING"]),
        redis::Value::SimpleString("PONG".into())
    );
    let _ = std::fs::remove_dir_all(&dir);
}
