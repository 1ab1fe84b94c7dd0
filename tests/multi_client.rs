//! Many clients at once: concurrent writers and readers get exact results,
//! a stalled client stalls no one else, and `maxclients` is enforced as
//! Redis does.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::{assert_reply, auth_request, cmd, raw, raw_anonymous, read_n, start, start_with};
use respd::resp::Frame;
use respd::Client;

const CLIENTS: usize = 300;
const ROUNDS: usize = 40;

fn client(addr: std::net::SocketAddr) -> Client {
    let client = common::client(addr);
    client
        .stream()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    client
}

/// Runs `work(client_index, client)` on `CLIENTS` threads that start
/// together.
fn on_many_clients(addr: std::net::SocketAddr, work: fn(usize, &mut Client)) {
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let barrier = barrier.clone();
            thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let mut client = client(addr);
                    barrier.wait();
                    work(i, &mut client);
                })
                .unwrap()
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn hundreds_of_clients_interleave_writes_and_reads_exactly() {
    let server = start();
    on_many_clients(server.local_addr(), |i, client| {
        for round in 0..ROUNDS {
            let key = format!("mc:{i}:{round}");
            client.set(&key, format!("{i}/{round}")).unwrap();
            // Read back this round's key and the previous one.
            assert_eq!(
                client.get(&key).unwrap(),
                Some(format!("{i}/{round}").into_bytes())
            );
            if round > 0 {
                let previous = format!("mc:{i}:{}", round - 1);
                assert_eq!(
                    client.get(previous).unwrap(),
                    Some(format!("{i}/{}", round - 1).into_bytes())
                );
            }
            // A key another client writes: whatever is there is its own.
            let neighbour = format!("mc:{}:0", (i + 1) % CLIENTS);
            if let Some(value) = client.get(neighbour).unwrap() {
                assert_eq!(value, format!("{}/0", (i + 1) % CLIENTS).into_bytes());
            }
        }
    });
    let mut check = client(server.local_addr());
    for i in 0..CLIENTS {
        for round in 0..ROUNDS {
            assert_eq!(
                check.get(format!("mc:{i}:{round}")).unwrap(),
                Some(format!("{i}/{round}").into_bytes())
            );
        }
    }
    assert_eq!(
        check.command(&["DBSIZE"]).unwrap(),
        Frame::Integer((CLIENTS * ROUNDS) as i64)
    );
}

#[test]
fn a_shared_counter_counts_every_incr() {
    let server = start();
    on_many_clients(server.local_addr(), |_, client| {
        let mut last = 0;
        for _ in 0..ROUNDS {
            match client.command(&["INCR", "mc:counter"]).unwrap() {
                // Each client sees the counter only go up.
                Frame::Integer(n) => {
                    assert!(n > last, "INCR went from {last} to {n}");
                    last = n;
                }
                other => panic!("INCR replied {other:?}"),
            }
        }
    });
    let mut check = client(server.local_addr());
    assert_eq!(
        check.get("mc:counter").unwrap(),
        Some((CLIENTS * ROUNDS).to_string().into_bytes())
    );
}

#[test]
fn a_stalled_client_does_not_stall_the_others() {
    let server = start();
    let addr = server.local_addr();
    let mut stalled = raw(addr);
    stalled
        .write_all(b"*3\r\n$3\r\nSET\r\n$7\r\nstalled\r\n$5\r\nva")
        .unwrap();
    let mut half_inline = raw(addr);
    half_inline.write_all(b"SET inline hal").unwrap();
    let others: Vec<_> = (0..20)
        .map(|i| {
            thread::spawn(move || {
                let mut client = client(addr);
                for round in 0..20 {
                    client.set(format!("other:{i}"), round.to_string()).unwrap();
                    assert_eq!(
                        client.get(format!("other:{i}")).unwrap(),
                        Some(round.to_string().into_bytes())
                    );
                }
            })
        })
        .collect();
    for other in others {
        other.join().unwrap();
    }
    // The stalled commands finish when their bytes do.
    assert_reply(&mut stalled, b"lue\r\n", b"+OK\r\n");
    assert_reply(&mut half_inline, b"f\r\n", b"+OK\r\n");
    assert_reply(&mut stalled, &cmd(&["GET", "inline"]), b"$4\r\nhalf\r\n");
}

const MAX_CLIENTS_REPLY: &[u8] = b"-ERR max number of clients reached\r\n";

/// Reads until the server closes the connection.
fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    read_n(stream, usize::MAX)
}

#[test]
fn maxclients_refuses_the_extra_client_then_admits_one_after_a_leave() {
    let server = start_with("maxclients 5");
    let addr = server.local_addr();
    let mut admitted: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut stream = raw(addr);
            assert_reply(&mut stream, &cmd(&["PING"]), b"+PONG\r\n");
            stream
        })
        .collect();
    let mut sixth = raw_anonymous(addr);
    assert_eq!(
        String::from_utf8_lossy(&read_to_close(&mut sixth)),
        String::from_utf8_lossy(MAX_CLIENTS_REPLY)
    );
    // One leaves; the server notices soon, then a newcomer is served.
    drop(admitted.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut newcomer = loop {
        let mut stream = raw_anonymous(addr);
        let mut request = auth_request().unwrap_or_default();
        request.extend(cmd(&["PING"]));
        stream.write_all(&request).unwrap();
        let admitted: &[u8] = if auth_request().is_some() {
            b"+OK\r\n+PONG\r\n"
        } else {
            b"+PONG\r\n"
        };
        let reply = read_n(&mut stream, admitted.len());
        if reply == admitted {
            break stream;
        }
        assert!(reply.starts_with(b"-ERR max"), "unexpected {reply:?}");
        assert!(Instant::now() < deadline, "no room after a client left");
        thread::sleep(Duration::from_millis(20));
    };
    assert_reply(&mut newcomer, &cmd(&["ECHO", "in"]), b"$2\r\nin\r\n");
    for stream in &mut admitted {
        assert_reply(stream, &cmd(&["PING"]), b"+PONG\r\n");
    }
    // Full again.
    let mut seventh = raw_anonymous(addr);
    assert_eq!(read_to_close(&mut seventh), MAX_CLIENTS_REPLY);
}

#[test]
fn two_thousand_connections_are_served_at_once() {
    let server = start();
    let addr = server.local_addr();
    let mut streams: Vec<TcpStream> = (0..2000).map(|_| raw(addr)).collect();
    for stream in &mut streams {
        stream.write_all(&cmd(&["PING"])).unwrap();
    }
    for (i, stream) in streams.iter_mut().enumerate() {
        assert_eq!(read_n(stream, 7), b"+PONG\r\n", "connection {i}");
    }
    // All of them are still open and served.
    for stream in &mut streams {
        assert_reply(stream, &cmd(&["ECHO", "x"]), b"$1\r\nx\r\n");
    }
}
