//! A corpus of malformed and hostile input, with the exact bytes Redis 7.0.15
//! answered to each and whether it closed the connection. The expected
//! replies were recorded from a real redis-server, not written by hand; when
//! one is installed the test replays the corpus against it too.
//!
//! Each case is sent on a fresh connection in one write; the reply is read
//! until the server closes or stays quiet for a moment.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use common::{start, RealRedis};

const CLOSES: bool = true;
const STAYS: bool = false;
/// How long a server that keeps the connection open must stay silent.
const QUIET: Duration = Duration::from_millis(300);

/// `prefix` followed by `count` copies of `fill`.
fn big(prefix: &[u8], fill: u8, count: usize) -> Vec<u8> {
    let mut bytes = prefix.to_vec();
    bytes.resize(prefix.len() + count, fill);
    bytes
}

/// (request, Redis's reply, whether Redis closed the connection).
fn corpus() -> Vec<(Vec<u8>, &'static [u8], bool)> {
    let cases: Vec<(Vec<u8>, &'static [u8], bool)> = vec![
        // truncated
        (b"*".to_vec(), b"", STAYS),
        (b"*1".to_vec(), b"", STAYS),
        (b"*1\r".to_vec(), b"", STAYS),
        (b"*1\r\n".to_vec(), b"", STAYS),
        (b"*1\r\n$".to_vec(), b"", STAYS),
        (b"*1\r\n$4".to_vec(), b"", STAYS),
        (b"*1\r\n$4\r".to_vec(), b"", STAYS),
        (b"*1\r\n$4\r\n".to_vec(), b"", STAYS),
        (b"*1\r\n$4\r\nPI".to_vec(), b"", STAYS),
        (b"*1\r\n$4\r\nPING".to_vec(), b"", STAYS),
        (b"*1\r\n$4\r\nPING\r".to_vec(), b"", STAYS),
        (b"*2\r\n$4\r\nECHO\r\n".to_vec(), b"", STAYS),
        (b"*2\r\n$4\r\nECHO\r\n$".to_vec(), b"", STAYS),
        (b"PING".to_vec(), b"", STAYS),
        (b"PING\r".to_vec(), b"", STAYS),
        (b"*1\r\n$4\r\nPING\r\n*1".to_vec(), b"+PONG\r\n", STAYS),
        // C strings: an unknown command's name and arguments stop at a NUL;
        // a vertical tab is a space to inline commands.
        (b"*2\r\n$4\r\nPI\0G\r\n$3\r\na\0b\r\n".to_vec(), b"-ERR unknown command 'PI', with args beginning with: 'a' \r\n", STAYS),
        (b"\x0bPING\r\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi".to_vec(), b"+PONG\r\n", STAYS),
        // length
        (b"*-1\r\nPING\r\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"*0\r\nPING\r\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"*-2\r\nPING\r\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"*-1000000\r\nPING\r\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"*2147483647\r\n".to_vec(), b"", STAYS),
        (b"*2147483648\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*9223372036854775807\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*9223372036854775808\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*-9223372036854775808\r\nPING\r\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"*-9223372036854775809\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*1\r\n$-1\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*1\r\n$-2\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*1\r\n$-0\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*-0\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*1\r\n$01\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*01\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*1\r\n$536870912\r\n".to_vec(), b"", STAYS),
        (b"*1\r\n$536870913\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*1\r\n$99999999999999999999\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*1\r\n$2147483648\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-1\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*00\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        // bulk
        (b"*1\r\n$3\r\nPING\r\n".to_vec(), b"-ERR unknown command 'PIN', with args beginning with: \r\n", STAYS),
        (b"*1\r\n$5\r\nPING\r\n".to_vec(), b"", STAYS),
        (b"*1\r\n$5\r\nPING\r\n\r\n".to_vec(), b"-ERR unknown command 'PING ', with args beginning with: \r\n", STAYS),
        (b"*1\r\n$4\r\nPINGxx".to_vec(), b"+PONG\r\n", STAYS),
        (b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n".to_vec(), b"+PONG\r\n+PONG\r\n", STAYS),
        (b"*2\r\n$4\r\nECHO\r\n$1\r\nhello\r\n".to_vec(), b"$1\r\nh\r\n-ERR unknown command 'lo', with args beginning with: \r\n", STAYS),
        (b"*2\r\n$4\r\nECHO\r\n$10\r\nhi\r\n".to_vec(), b"", STAYS),
        (b"*1\r\n$4\r\nPING\n\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"*1\r\n$0\r\n\r\n".to_vec(), b"-ERR unknown command '', with args beginning with: \r\n", STAYS),
        (b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n".to_vec(), b"$0\r\n\r\n", STAYS),
        (b"*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\n".to_vec(), b"$3\r\na\r\n\r\n", STAYS),
        (b"*1\r\n$4\r\nPING\r\n\r\n\r\n".to_vec(), b"+PONG\r\n", STAYS),
        // type
        (b"*1\r\n:1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got ':'\r\n", CLOSES),
        (b"*1\r\n+1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '+'\r\n", CLOSES),
        (b"*1\r\n-1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '-'\r\n", CLOSES),
        (b"*1\r\n*1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '*'\r\n", CLOSES),
        (b"*1\r\n%1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '%'\r\n", CLOSES),
        (b"*1\r\n_1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '_'\r\n", CLOSES),
        (b"*1\r\n#1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '#'\r\n", CLOSES),
        (b"*1\r\n,1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got ','\r\n", CLOSES),
        (b"*1\r\n(1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '('\r\n", CLOSES),
        (b"*1\r\n=1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '='\r\n", CLOSES),
        (b"*1\r\n~1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '~'\r\n", CLOSES),
        (b"*1\r\n>1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '>'\r\n", CLOSES),
        (b"*1\r\n|1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '|'\r\n", CLOSES),
        (b"*1\r\n!1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '!'\r\n", CLOSES),
        (b"*1\r\nx1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got 'x'\r\n", CLOSES),
        (b"*1\r\n 1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got ' '\r\n", CLOSES),
        (b"*1\r\n\t1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '\t'\r\n", CLOSES),
        (b"*1\r\n01\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '0'\r\n", CLOSES),
        (b"*1\r\n\r\n".to_vec(), b"-ERR Protocol error: expected '$', got ' '\r\n", CLOSES),
        (b"*1\r\n\n\n".to_vec(), b"", STAYS),
        (b"*2\r\n$4\r\nECHO\r\n:1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got ':'\r\n", CLOSES),
        // resp3
        (b"%1\r\n".to_vec(), b"-ERR unknown command '%1', with args beginning with: \r\n", STAYS),
        (b"~1\r\n".to_vec(), b"-ERR unknown command '~1', with args beginning with: \r\n", STAYS),
        (b">1\r\n".to_vec(), b"-ERR unknown command '>1', with args beginning with: \r\n", STAYS),
        (b"_\r\n".to_vec(), b"-ERR unknown command '_', with args beginning with: \r\n", STAYS),
        (b"#t\r\n".to_vec(), b"-ERR unknown command '#t', with args beginning with: \r\n", STAYS),
        (b",1.5\r\n".to_vec(), b"-ERR unknown command ',1.5', with args beginning with: \r\n", STAYS),
        (b"(123\r\n".to_vec(), b"-ERR unknown command '(123', with args beginning with: \r\n", STAYS),
        (b"=5\r\ntxt:a\r\n".to_vec(), b"-ERR unknown command '=5', with args beginning with: \r\n-ERR unknown command 'txt:a', with args beginning with: \r\n", STAYS),
        (b"|1\r\n".to_vec(), b"-ERR unknown command '|1', with args beginning with: \r\n", STAYS),
        (b"!3\r\nerr\r\n".to_vec(), b"-ERR unknown command '!3', with args beginning with: \r\n-ERR unknown command 'err', with args beginning with: \r\n", STAYS),
        (b"$4\r\nPING\r\n".to_vec(), b"-ERR unknown command '$4', with args beginning with: \r\n+PONG\r\n", STAYS),
        (b"+PING\r\n".to_vec(), b"-ERR unknown command '+PING', with args beginning with: \r\n", STAYS),
        (b"-ERR x\r\n".to_vec(), b"-ERR unknown command '-ERR', with args beginning with: 'x' \r\n", STAYS),
        (b":1\r\n".to_vec(), b"-ERR unknown command ':1', with args beginning with: \r\n", STAYS),
        (b"*1\r\n%1\r\n".to_vec(), b"-ERR Protocol error: expected '$', got '%'\r\n", CLOSES),
        // inline
        (b"PING\0\r\n".to_vec(), b"", STAYS),
        (b"SET a\0b\r\n".to_vec(), b"", STAYS),
        (b"ECHO a\0b\r\n".to_vec(), b"", STAYS),
        (b"\0\r\n".to_vec(), b"", STAYS),
        (b"ECHO a\rb\r\n".to_vec(), b"-ERR wrong number of arguments for 'echo' command\r\n", STAYS),
        (b"ECHO \"a\\x41\"\r\n".to_vec(), b"$2\r\naA\r\n", STAYS),
        (b"ECHO 'a b'\r\n".to_vec(), b"$3\r\na b\r\n", STAYS),
        (b"ECHO \"a\"b\r\n".to_vec(), b"-ERR Protocol error: unbalanced quotes in request\r\n", CLOSES),
        (b"ECHO 'a\r\n".to_vec(), b"-ERR Protocol error: unbalanced quotes in request\r\n", CLOSES),
        (b"ECHO \"\\x4\"\r\n".to_vec(), b"$2\r\nx4\r\n", STAYS),
        (b"ECHO \"\\x4g\"\r\n".to_vec(), b"$3\r\nx4g\r\n", STAYS),
        (b"   PING   \r\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"\tPING\r\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"PING\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"PING\r\r\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"\r\n\n\n".to_vec(), b"", STAYS),
        (b"ECHO a\x0bb\r\n".to_vec(), b"$3\r\na\x0bb\r\n", STAYS),
        (b"ECHO a\x0cb\r\n".to_vec(), b"$3\r\na\x0cb\r\n", STAYS),
        (b"\x0cPING\r\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"ECHO \"a\\0b\"\r\n".to_vec(), b"$3\r\na0b\r\n", STAYS),
        (b"ECHO \"\"\r\n".to_vec(), b"$0\r\n\r\n", STAYS),
        (b"ECHO ''\r\n".to_vec(), b"$0\r\n\r\n", STAYS),
        (b"ECHO \"a\\nb\"\r\n".to_vec(), b"$3\r\na\nb\r\n", STAYS),
        (b"ECHO 'a\\'b'\r\n".to_vec(), b"$3\r\na'b\r\n", STAYS),
        (b"ECHO 'a\\nb'\r\n".to_vec(), b"$4\r\na\\nb\r\n", STAYS),
        (b"ECHO \"\\\"\"\r\n".to_vec(), b"$1\r\n\"\r\n", STAYS),
        (b"ECHO a\"b\"\r\n".to_vec(), b"$2\r\nab\r\n", STAYS),
        (b"ECHO \"a\" \"b\"\r\n".to_vec(), b"-ERR wrong number of arguments for 'echo' command\r\n", STAYS),
        (b"ECHO\r\n".to_vec(), b"-ERR wrong number of arguments for 'echo' command\r\n", STAYS),
        (b"PING a b\r\n".to_vec(), b"-ERR wrong number of arguments for 'ping' command\r\n", STAYS),
        (b"ping\r\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"PiNg\r\n".to_vec(), b"+PONG\r\n", STAYS),
        (b"ECHO \"unterminated\r\nPING\r\n".to_vec(), b"-ERR Protocol error: unbalanced quotes in request\r\n", CLOSES),
        (b"\r\r\r\n".to_vec(), b"", STAYS),
        (b"PING\r\nPING\nPING\r\n".to_vec(), b"+PONG\r\n+PONG\r\n+PONG\r\n", STAYS),
        // nul
        (b"*1\0\r\n".to_vec(), b"", STAYS),
        (b"*1\r\n$4\0\r\nPING\r\n".to_vec(), b"", STAYS),
        (b"*1\r\n\0\r\n".to_vec(), b"", STAYS),
        (b"\0".to_vec(), b"", STAYS),
        (b"*\0\r\n".to_vec(), b"", STAYS),
        (b"ECHO \"a\0b\"\r\n".to_vec(), b"", STAYS),
        (b"*2\r\n$4\r\nECHO\r\n$3\r\na\0b\r\n".to_vec(), b"$3\r\na\0b\r\n", STAYS),
        (big(b"PING\0", b'a', 70000), b"-ERR Protocol error: too big inline request\r\n", CLOSES),
        (big(b"*1\0", b'1', 70000), b"-ERR Protocol error: too big mbulk count string\r\n", CLOSES),
        (big(b"*1\r\n$1\0", b'1', 70000), b"-ERR Protocol error: too big bulk count string\r\n", CLOSES),
        // number
        (b"*a\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*1\r\n$a\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*1\r\n$\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*1\r\n$ 3\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*1\r\n$3 \r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*1.0\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*1e3\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*0x10\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"* 1\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*1 \r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*+1\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*1\r\n$+4\r\nPING\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*1\r\n$4.0\r\n".to_vec(), b"-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"*\xff\r\n".to_vec(), b"-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        // pipeline
        (b"PING\r\n*x\r\n".to_vec(), b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n", CLOSES),
        (b"*1\r\n$4\r\nPING\r\n*1\r\n$x\r\nPING\r\n".to_vec(), b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n", CLOSES),
        (b"PING\r\nECHO \"x\r\nPING\r\n".to_vec(), b"+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n", CLOSES),
        (b"*1\r\n$4\r\nPING\r\n*1\r\n:1\r\n".to_vec(), b"+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n", CLOSES),
        // size
        (big(b"", b'a', 65537), b"-ERR Protocol error: too big inline request\r\n", CLOSES),
        (big(b"", b'a', 65536), b"", STAYS),
        (big(b"*", b'1', 65537), b"-ERR Protocol error: too big mbulk count string\r\n", CLOSES),
        (big(b"*1\r\n$", b'1', 65537), b"-ERR Protocol error: too big bulk count string\r\n", CLOSES),
        (big(b"*", b'1', 65536), b"-ERR Protocol error: too big mbulk count string\r\n", CLOSES),
    ];
    cases
}

/// Sends `request` on a new connection; returns the reply and whether the
/// server closed the connection.
fn send(addr: SocketAddr, request: &[u8]) -> (Vec<u8>, bool) {
    let mut stream = common::raw(addr);
    stream.set_nodelay(true).expect("nodelay");
    stream.set_read_timeout(Some(QUIET)).expect("timeout");
    stream.write_all(request).expect("write");
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (reply, true),
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (reply, true),
            Err(_) => return (reply, false),
        }
    }
}

/// Runs every case against `addr`, a few at a time, and returns the cases
/// whose outcome differs from the recorded one.
fn mismatches(addr: SocketAddr) -> Vec<String> {
    let cases = corpus();
    let mut failures = Vec::new();
    for chunk in cases.chunks(16) {
        let outcomes: Vec<(Vec<u8>, bool)> = thread::scope(|scope| {
            let running: Vec<_> = chunk
                .iter()
                .map(|(request, _, _)| scope.spawn(move || send(addr, request)))
                .collect();
            running.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for ((request, reply, closes), (got, closed)) in chunk.iter().zip(outcomes) {
            if got != *reply || closed != *closes {
                failures.push(format!(
                    "request {:?}: expected {:?} ({}), got {:?} ({})",
                    String::from_utf8_lossy(&request[..request.len().min(60)]),
                    String::from_utf8_lossy(reply),
                    if *closes { "closed" } else { "open" },
                    String::from_utf8_lossy(&got),
                    if closed { "closed" } else { "open" },
                ));
            }
        }
    }
    failures
}

#[test]
fn the_corpus_is_large_enough() {
    let cases = corpus();
    println!("{} hostile inputs in the corpus", cases.len());
    assert!(cases.len() >= 100);
    assert!(cases.iter().any(|c| c.2 == CLOSES) && cases.iter().any(|c| c.2 == STAYS));
}

#[test]
fn respd_answers_the_corpus_as_redis_does() {
    let server = start();
    let failures = mismatches(server.local_addr());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Whatever it was sent, the server still serves.
    let mut stream = common::raw(server.local_addr());
    common::assert_reply(&mut stream, b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn the_recorded_replies_are_what_redis_says() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let failures = mismatches(redis.addr);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
