//! Blocking commands with several clients: wake-ups, order, timeouts, kills
//! and hang-ups. Each blocked client runs on its own thread with a raw socket
//! so the exact reply bytes are checked.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::{assert_reply, cmd, raw, read_n, start};
use respd::ServerHandle;

/// Waits until `n` clients are blocked on the server.
fn wait_blocked(server: &ServerHandle, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.shared().blocking.blocked_count() != n {
        assert!(Instant::now() < deadline, "expected {n} blocked clients");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Sends a blocking command on a new connection, in the background; the
/// thread returns the first `len` bytes of the reply.
fn blocked(server: &ServerHandle, request: Vec<u8>, len: usize) -> (JoinHandle<Vec<u8>>, u64) {
    let mut stream = raw(server.local_addr());
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let id = client_id(&mut stream);
    let handle = thread::spawn(move || {
        stream.write_all(&request).unwrap();
        read_n(&mut stream, len)
    });
    (handle, id)
}

fn client_id(stream: &mut TcpStream) -> u64 {
    stream.write_all(&cmd(&["CLIENT", "ID"])).unwrap();
    let reply = String::from_utf8(read_n(stream, 3)).unwrap();
    let mut rest = reply.clone();
    while !rest.ends_with("\r\n") {
        rest.push_str(&String::from_utf8(read_n(stream, 1)).unwrap());
    }
    rest.trim_start_matches(':').trim_end().parse().unwrap()
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn pops_at_once_when_data_is_there_and_times_out_with_a_null_array() {
    let server = start();
    let mut c = raw(server.local_addr());
    assert_reply(&mut c, &cmd(&["RPUSH", "q", "a"]), b":1\r\n");
    assert_reply(
        &mut c,
        &cmd(&["BLPOP", "empty", "q", "1"]),
        b"*2\r\n$1\r\nq\r\n$1\r\na\r\n",
    );
    assert_reply(&mut c, &cmd(&["BLPOP", "q", "0.05"]), b"*-1\r\n");
    assert_reply(&mut c, &cmd(&["BRPOP", "q", "0.05"]), b"*-1\r\n");
    let mut three = common::client(server.local_addr());
    three.command(&["HELLO", "3"]).unwrap();
    for request in [
        &["BLPOP", "q", "0.05"][..],
        &["BLMOVE", "q", "d", "LEFT", "RIGHT", "0.05"],
    ] {
        three.send(request).unwrap();
        assert_eq!(three.read_reply_with_bytes().unwrap().1, b"_\r\n");
    }
}

#[test]
fn timeout_arguments_are_checked_as_redis_does() {
    let server = start();
    let mut c = raw(server.local_addr());
    assert_reply(
        &mut c,
        &cmd(&["BLPOP", "q", "-1"]),
        b"-ERR timeout is negative\r\n",
    );
    assert_reply(
        &mut c,
        &cmd(&["BLPOP", "q", "abc"]),
        b"-ERR timeout is not a float or out of range\r\n",
    );
    // Redis 7.0's conversion overflows into a negative timeout.
    assert_reply(
        &mut c,
        &cmd(&["BLPOP", "q", "1e300"]),
        b"-ERR timeout is negative\r\n",
    );
    assert_reply(
        &mut c,
        &cmd(&["BLPOP", "q", "inf"]),
        b"-ERR timeout is negative\r\n",
    );
    // A long double in Redis: finite past a double's range (then negative
    // in milliseconds), and a tiny positive number below it (1 ms); hex
    // as strtold reads it.
    for too_big in ["1e400", "-1e400"] {
        assert_reply(
            &mut c,
            &cmd(&["BLPOP", "q", too_big]),
            b"-ERR timeout is negative\r\n",
        );
    }
    for short in ["1e-400", "0x0.01", "1e-310"] {
        assert_reply(&mut c, &cmd(&["BLPOP", "q", short]), b"*-1\r\n");
    }
    assert_reply(&mut c, &cmd(&["SET", "s", "x"]), b"+OK\r\n");
    assert_reply(
        &mut c,
        &cmd(&["BLPOP", "s", "1"]),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
}

#[test]
fn a_push_from_another_client_wakes_the_blocked_one() {
    let server = start();
    let expected = b"*2\r\n$1\r\nq\r\n$5\r\nhello\r\n";
    let (waiter, _) = blocked(&server, cmd(&["BLPOP", "q", "0"]), expected.len());
    wait_blocked(&server, 1);
    let mut pusher = raw(server.local_addr());
    // Other clients are served while one is blocked.
    assert_reply(&mut pusher, &cmd(&["SET", "k", "v"]), b"+OK\r\n");
    assert_reply(&mut pusher, &cmd(&["GET", "k"]), b"$1\r\nv\r\n");
    assert_reply(&mut pusher, &cmd(&["RPUSH", "q", "hello"]), b":1\r\n");
    assert_eq!(text(waiter.join().unwrap()), text(expected.to_vec()));
    assert_reply(&mut pusher, &cmd(&["LLEN", "q"]), b":0\r\n");
    assert_reply(&mut pusher, &cmd(&["EXISTS", "q"]), b":0\r\n");
}

#[test]
fn waiters_are_served_in_the_order_they_blocked() {
    let server = start();
    let reply = |v: &str| format!("*2\r\n$1\r\nq\r\n$1\r\n{v}\r\n");
    let (first, _) = blocked(&server, cmd(&["BLPOP", "q", "0"]), reply("a").len());
    wait_blocked(&server, 1);
    let (second, _) = blocked(&server, cmd(&["BRPOP", "q", "0"]), reply("c").len());
    wait_blocked(&server, 2);
    let (third, _) = blocked(
        &server,
        cmd(&["BLPOP", "other", "q", "0"]),
        reply("b").len(),
    );
    wait_blocked(&server, 3);
    let mut pusher = raw(server.local_addr());
    assert_reply(
        &mut pusher,
        &cmd(&["RPUSH", "q", "a", "b", "c", "d"]),
        b":4\r\n",
    );
    assert_eq!(text(first.join().unwrap()), reply("a"));
    assert_eq!(text(second.join().unwrap()), reply("d"));
    assert_eq!(text(third.join().unwrap()), reply("b"));
    assert_reply(
        &mut pusher,
        &cmd(&["LRANGE", "q", "0", "-1"]),
        b"*1\r\n$1\r\nc\r\n",
    );
}

#[test]
fn blmove_and_brpoplpush_chain_into_other_waiters() {
    let server = start();
    let moved = b"$1\r\nv\r\n";
    let (mover, _) = blocked(
        &server,
        cmd(&["BLMOVE", "src", "mid", "LEFT", "RIGHT", "0"]),
        moved.len(),
    );
    wait_blocked(&server, 1);
    let (relay, _) = blocked(
        &server,
        cmd(&["BRPOPLPUSH", "mid", "dst", "0"]),
        moved.len(),
    );
    wait_blocked(&server, 2);
    let popped = b"*2\r\n$3\r\ndst\r\n$1\r\nv\r\n";
    let (last, _) = blocked(&server, cmd(&["BLPOP", "dst", "0"]), popped.len());
    wait_blocked(&server, 3);
    let mut pusher = raw(server.local_addr());
    assert_reply(&mut pusher, &cmd(&["LPUSH", "src", "v"]), b":1\r\n");
    assert_eq!(text(mover.join().unwrap()), text(moved.to_vec()));
    assert_eq!(text(relay.join().unwrap()), text(moved.to_vec()));
    assert_eq!(text(last.join().unwrap()), text(popped.to_vec()));
    assert_reply(&mut pusher, &cmd(&["DBSIZE"]), b":0\r\n");
}

#[test]
fn blmpop_waits_for_any_of_its_keys() {
    let server = start();
    let expected = b"*2\r\n$1\r\nb\r\n*2\r\n$1\r\nz\r\n$1\r\ny\r\n";
    let (waiter, _) = blocked(
        &server,
        cmd(&["BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2"]),
        expected.len(),
    );
    wait_blocked(&server, 1);
    let mut pusher = raw(server.local_addr());
    assert_reply(&mut pusher, &cmd(&["RPUSH", "b", "x", "y", "z"]), b":3\r\n");
    assert_eq!(text(waiter.join().unwrap()), text(expected.to_vec()));
}

#[test]
fn a_key_renamed_into_place_wakes_its_waiter() {
    let server = start();
    let expected = b"*2\r\n$3\r\ndst\r\n$1\r\nv\r\n";
    let (waiter, _) = blocked(&server, cmd(&["BLPOP", "dst", "0"]), expected.len());
    wait_blocked(&server, 1);
    let mut c = raw(server.local_addr());
    assert_reply(&mut c, &cmd(&["RPUSH", "tmp", "v"]), b":1\r\n");
    assert_reply(&mut c, &cmd(&["RENAME", "tmp", "dst"]), b"+OK\r\n");
    assert_eq!(text(waiter.join().unwrap()), text(expected.to_vec()));
}

#[test]
fn client_unblock_ends_the_wait_with_a_null_or_an_error() {
    let server = start();
    let mut admin = raw(server.local_addr());
    let (waiter, id) = blocked(&server, cmd(&["BLPOP", "q", "0"]), 5);
    wait_blocked(&server, 1);
    assert_reply(
        &mut admin,
        &cmd(&["CLIENT", "UNBLOCK", &id.to_string()]),
        b":1\r\n",
    );
    assert_eq!(text(waiter.join().unwrap()), "*-1\r\n");
    let error = b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n";
    let (waiter, id) = blocked(&server, cmd(&["BRPOP", "q", "0"]), error.len());
    wait_blocked(&server, 1);
    assert_reply(
        &mut admin,
        &cmd(&["CLIENT", "UNBLOCK", &id.to_string(), "ERROR"]),
        b":1\r\n",
    );
    assert_eq!(text(waiter.join().unwrap()), text(error.to_vec()));
    assert_reply(
        &mut admin,
        &cmd(&["CLIENT", "UNBLOCK", &id.to_string()]),
        b":0\r\n",
    );
}

#[test]
fn a_killed_or_vanished_client_never_takes_an_element() {
    let server = start();
    let mut admin = raw(server.local_addr());
    let (waiter, id) = blocked(&server, cmd(&["BLPOP", "q", "0"]), 1);
    wait_blocked(&server, 1);
    assert_reply(
        &mut admin,
        &cmd(&["CLIENT", "KILL", "ID", &id.to_string()]),
        b":1\r\n",
    );
    assert_eq!(waiter.join().unwrap(), b"");
    wait_blocked(&server, 0);

    // A client that hangs up while blocked is noticed too.
    let mut gone = raw(server.local_addr());
    gone.write_all(&cmd(&["BLPOP", "q", "0"])).unwrap();
    wait_blocked(&server, 1);
    drop(gone);
    wait_blocked(&server, 0);

    assert_reply(&mut admin, &cmd(&["RPUSH", "q", "kept"]), b":1\r\n");
    assert_reply(
        &mut admin,
        &cmd(&["LRANGE", "q", "0", "-1"]),
        b"*1\r\n$4\r\nkept\r\n",
    );
}

#[test]
fn blocked_clients_are_counted_in_info() {
    let server = start();
    let (waiter, _) = blocked(&server, cmd(&["BLPOP", "q", "0"]), 20);
    wait_blocked(&server, 1);
    let mut c = raw(server.local_addr());
    c.write_all(&cmd(&["INFO", "clients"])).unwrap();
    let mut info = String::new();
    while !info.contains("blocked_clients") {
        info.push_str(&text(read_n(&mut c, 1)));
    }
    info.push_str(&text(read_n(&mut c, 20)));
    assert!(info.contains("blocked_clients:1\r\n"), "{info}");
    assert_reply(&mut c, &cmd(&["LPUSH", "q", "x"]), b":1\r\n");
    waiter.join().unwrap();
}

#[test]
fn sorted_set_pops_block_until_a_zadd() {
    let server = start();
    let mut c = raw(server.local_addr());
    assert_reply(&mut c, &cmd(&["ZADD", "z", "1", "a", "2", "b"]), b":2\r\n");
    assert_reply(
        &mut c,
        &cmd(&["BZPOPMIN", "z", "0"]),
        b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
    assert_reply(
        &mut c,
        &cmd(&["BZPOPMAX", "z", "0"]),
        b"*3\r\n$1\r\nz\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    assert_reply(&mut c, &cmd(&["BZPOPMIN", "z", "0.05"]), b"*-1\r\n");
    assert_reply(
        &mut c,
        &cmd(&["BZMPOP", "0.05", "1", "z", "MIN"]),
        b"*-1\r\n",
    );
    assert_reply(
        &mut c,
        &cmd(&["BZMPOP", "0", "0", "z", "MIN"]),
        b"-ERR numkeys should be greater than 0\r\n",
    );

    let expected = b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n$3\r\n1.5\r\n";
    let (waiter, _) = blocked(
        &server,
        cmd(&["BZPOPMIN", "other", "z", "0"]),
        expected.len(),
    );
    wait_blocked(&server, 1);
    let nested = b"*2\r\n$1\r\ny\r\n*2\r\n*2\r\n$1\r\nq\r\n$1\r\n9\r\n*2\r\n$1\r\np\r\n$1\r\n8\r\n";
    let (multi, _) = blocked(
        &server,
        cmd(&["BZMPOP", "0", "1", "y", "MAX", "COUNT", "2"]),
        nested.len(),
    );
    wait_blocked(&server, 2);
    assert_reply(&mut c, &cmd(&["ZADD", "z", "1.5", "m"]), b":1\r\n");
    assert_eq!(text(waiter.join().unwrap()), text(expected.to_vec()));
    assert_reply(
        &mut c,
        &cmd(&["ZADD", "src", "8", "p", "9", "q", "1", "r"]),
        b":3\r\n",
    );
    assert_reply(&mut c, &cmd(&["ZUNIONSTORE", "y", "1", "src"]), b":3\r\n");
    assert_eq!(text(multi.join().unwrap()), text(nested.to_vec()));
    assert_reply(
        &mut c,
        &cmd(&["ZRANGE", "y", "0", "-1"]),
        b"*1\r\n$1\r\nr\r\n",
    );

    // In RESP3 the score is a double.
    let mut three = common::client(server.local_addr());
    three.command(&["HELLO", "3"]).unwrap();
    three.command(&["ZADD", "d", "2", "x"]).unwrap();
    three.send(&["BZPOPMIN", "d", "0"]).unwrap();
    assert_eq!(
        three.read_reply_with_bytes().unwrap().1,
        b"*3\r\n$1\r\nd\r\n$1\r\nx\r\n,2\r\n"
    );
}
