//! The protocol, byte for byte: every reply type in RESP2 and RESP3, inline
//! commands, pipelining, commands split at every possible place, and every
//! malformed input with its exact error. Where a real Redis is installed,
//! each exchange is replayed against it and must give the same bytes.

mod common;

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{cmd, raw, start, start_with, RealRedis};
use respd::resp::{read_frame, CommandBuf, Frame, Limits};

/// Redis's reply to an unknown command.
fn unknown(name: &str, args: &str) -> String {
    format!("-ERR unknown command '{name}', with args beginning with: {args}\r\n")
}

/// HELLO's `id` differs from server to server: replace its digits with `N`.
fn mask_client_id(bytes: &[u8]) -> Vec<u8> {
    let marker = b"$2\r\nid\r\n:";
    let Some(start) = bytes.windows(marker.len()).position(|w| w == marker) else {
        return bytes.to_vec();
    };
    let digits = start + marker.len();
    let end = digits + bytes[digits..].iter().position(|&b| b == b'\r').unwrap();
    [&bytes[..digits], b"N", &bytes[end..]].concat()
}

/// Sends each request on one connection and checks that the next reply is
/// exactly the expected bytes.
fn check_exchanges(addr: SocketAddr, exchanges: &[(Vec<u8>, Vec<u8>)]) {
    let mut client = common::client(addr);
    client
        .stream()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    for (request, expected) in exchanges {
        client.send_raw(request).unwrap();
        let (_, got) = client.read_reply_with_bytes().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&mask_client_id(&got)),
            String::from_utf8_lossy(expected),
            "{addr}: request {:?}",
            String::from_utf8_lossy(request)
        );
    }
}

/// Runs the exchanges against a real Redis if there is one (which checks
/// the expectations themselves), then against respd.
fn check_both(exchanges: &[(Vec<u8>, Vec<u8>)]) {
    if let Some(redis) = RealRedis::start() {
        check_exchanges(redis.addr, exchanges);
    }
    let server = start();
    check_exchanges(server.local_addr(), exchanges);
}

fn pair(request: impl AsRef<[u8]>, expected: impl AsRef<[u8]>) -> (Vec<u8>, Vec<u8>) {
    (request.as_ref().to_vec(), expected.as_ref().to_vec())
}

const HELLO_FIELDS: &str = "$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n\
$5\r\nproto\r\n:{P}\r\n$2\r\nid\r\n:N\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";

#[test]
fn every_reply_type_in_resp2_and_resp3() {
    let mut exchanges = vec![
        // RESP2
        pair(cmd(&["PING"]), "+PONG\r\n"),
        pair(cmd(&["PING", "hi"]), "$2\r\nhi\r\n"),
        pair(cmd(&["ECHO", ""]), "$0\r\n\r\n"),
        pair(cmd(&["ECHO", "a\r\nb"]), "$4\r\na\r\nb\r\n"),
        pair(cmd(&["DEL", "rf:k", "rf:n"]), ":0\r\n"),
        pair(cmd(&["SET", "rf:k", "v"]), "+OK\r\n"),
        pair(cmd(&["GET", "rf:k"]), "$1\r\nv\r\n"),
        pair(cmd(&["GET", "rf:missing"]), "$-1\r\n"),
        pair(cmd(&["EXISTS", "rf:k", "rf:k", "rf:missing"]), ":2\r\n"),
        pair(cmd(&["INCR", "rf:n"]), ":1\r\n"),
        pair(cmd(&["INCR", "rf:n"]), ":2\r\n"),
        pair(
            cmd(&["INCR", "rf:k"]),
            "-ERR value is not an integer or out of range\r\n",
        ),
        pair(cmd(&["DEL", "rf:k", "rf:n", "rf:missing"]), ":2\r\n"),
        pair(
            cmd(&["GET"]),
            "-ERR wrong number of arguments for 'get' command\r\n",
        ),
        pair(cmd(&["foo", "a", "b"]), unknown("foo", "'a' 'b' ")),
        pair(cmd(&["FOO"]), unknown("FOO", "")),
        pair(
            cmd(&["CONFIG", "GET", "databases"]),
            "*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n",
        ),
        pair(cmd(&["CONFIG", "GET", "no-such-parameter"]), "*0\r\n"),
        pair(
            cmd(&["HELLO", "2"]),
            format!("*14\r\n{}", HELLO_FIELDS.replace("{P}", "2")),
        ),
        // RESP3
        pair(
            cmd(&["HELLO", "3"]),
            format!("%7\r\n{}", HELLO_FIELDS.replace("{P}", "3")),
        ),
        pair(cmd(&["PING"]), "+PONG\r\n"),
        pair(cmd(&["SET", "rf:k", "v"]), "+OK\r\n"),
        pair(cmd(&["GET", "rf:k"]), "$1\r\nv\r\n"),
        pair(cmd(&["GET", "rf:missing"]), "_\r\n"),
        pair(cmd(&["DEL", "rf:k"]), ":1\r\n"),
        pair(
            cmd(&["CONFIG", "GET", "databases"]),
            "%1\r\n$9\r\ndatabases\r\n$2\r\n16\r\n",
        ),
        pair(cmd(&["CONFIG", "GET", "no-such-parameter"]), "%0\r\n"),
        pair(
            cmd(&["SET", "rf:k"]),
            "-ERR wrong number of arguments for 'set' command\r\n",
        ),
        pair(
            cmd(&["HELLO", "4"]),
            "-NOPROTO unsupported protocol version\r\n",
        ),
        // And back.
        pair(
            cmd(&["HELLO", "2"]),
            format!("*14\r\n{}", HELLO_FIELDS.replace("{P}", "2")),
        ),
        pair(cmd(&["GET", "rf:missing"]), "$-1\r\n"),
    ];
    // The same through inline commands, as telnet sends them.
    exchanges.extend([
        pair("PING\r\n", "+PONG\r\n"),
        pair("PING\n", "+PONG\r\n"),
        pair("SET rf:a b\n", "+OK\r\n"),
        pair("GET rf:a\r\n", "$1\r\nb\r\n"),
        pair("SET rf:q \"x y\\n\\x41\"\r\n", "+OK\r\n"),
        pair("GET   rf:q  \r\n", "$5\r\nx y\nA\r\n"),
        pair("ECHO 'it\\'s'\r\n", "$4\r\nit's\r\n"),
        pair("\r\n\nPING\r\n", "+PONG\r\n"),
        pair("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", "+PONG\r\n"),
        pair("DEL rf:a rf:q\r\n", ":2\r\n"),
        pair("nosuch x\r\n", unknown("nosuch", "'x' ")),
    ]);
    check_both(&exchanges);
}

#[test]
fn ten_thousand_pipelined_commands_in_one_write() {
    let server = start();
    let stream = raw(server.local_addr());
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for i in 0..5_000 {
        let (key, value) = (format!("pipe:{i}"), format!("value-{i}"));
        request.extend(cmd(&["SET", &key, &value]));
        request.extend(cmd(&["GET", &key]));
        expected.push(Frame::Simple("OK".into()));
        expected.push(Frame::Bulk(value.into_bytes()));
    }
    // Write from another thread, so neither side waits on a full socket.
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || writer.write_all(&request).unwrap());
    let mut reader = BufReader::new(stream);
    for (i, want) in expected.iter().enumerate() {
        let got = read_frame(&mut reader).unwrap().unwrap();
        assert_eq!(&got, want, "reply {i}");
    }
    sender.join().unwrap();
}

/// A tiny deterministic PRNG (xorshift64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A mixed script whose replies do not depend on what ran before.
fn split_script() -> Vec<u8> {
    let mut script = Vec::new();
    script.extend(cmd(&["SET", "split:k", "hello\r\nworld"]));
    script.extend(b"GET split:k\r\n");
    script.extend(cmd(&["ECHO", &"x".repeat(3000)]));
    script.extend(b"*0\r\n");
    script.extend(b"SET split:q \"a b\"\n");
    script.extend(cmd(&["GET", "split:q"]));
    script.extend(b"PING\r\n");
    script.extend(cmd(&["DEL", "split:k", "split:q"]));
    script.extend(cmd(&["GET", "split:k"]));
    script
}

/// A reader that hands out its bytes in chunks of random sizes.
struct Chunked {
    data: Vec<u8>,
    at: usize,
    rng: Rng,
    max_chunk: usize,
}

impl Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (1 + self.rng.below(self.max_chunk))
            .min(buf.len())
            .min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn parse_all(reader: &mut impl std::io::BufRead) -> Vec<Vec<Vec<u8>>> {
    let mut commands = Vec::new();
    let mut command = CommandBuf::new();
    while command.read(reader, &Limits::default()).unwrap() {
        commands.push(command.args().to_vec());
    }
    commands
}

#[test]
fn the_parser_gives_the_same_commands_however_the_bytes_are_split() {
    let script = split_script();
    let whole = parse_all(&mut &script[..]);
    assert_eq!(whole.len(), 8);
    for seed in 1..=200u64 {
        let max_chunk = [1, 2, 3, 7, 64, 4096][seed as usize % 6];
        let chunked = Chunked {
            data: script.clone(),
            at: 0,
            rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            max_chunk,
        };
        let capacity = 1 + Rng(seed).below(100);
        let mut reader = BufReader::with_capacity(capacity, chunked);
        assert_eq!(parse_all(&mut reader), whole, "seed {seed}");
    }
}

/// Sends `script` in pieces (one write each, a pause between them) and
/// returns the first `len` bytes of replies.
fn send_in_pieces(addr: SocketAddr, script: &[u8], cuts: &[usize], len: usize) -> Vec<u8> {
    let mut stream = raw(addr);
    let mut from = 0;
    for &to in cuts.iter().chain([script.len()].iter()) {
        stream.write_all(&script[from..to]).unwrap();
        from = to;
        thread::sleep(Duration::from_micros(200));
    }
    common::read_n(&mut stream, len)
}

#[test]
fn the_server_answers_the_same_however_the_bytes_are_split() {
    let server = start();
    let addr = server.local_addr();
    let script = split_script();
    let whole = [
        "+OK\r\n$12\r\nhello\r\nworld\r\n".to_string(),
        format!("$3000\r\n{}\r\n", "x".repeat(3000)),
        "+OK\r\n$3\r\na b\r\n+PONG\r\n:2\r\n$-1\r\n".to_string(),
    ]
    .concat()
    .into_bytes();
    assert_eq!(send_in_pieces(addr, &script, &[], whole.len()), whole);
    let byte_by_byte: Vec<usize> = (1..script.len()).collect();
    assert_eq!(
        send_in_pieces(addr, &script, &byte_by_byte, whole.len()),
        whole
    );
    let mut rng = Rng(42);
    for _ in 0..5 {
        let mut cuts: Vec<usize> = (0..30).map(|_| 1 + rng.below(script.len() - 1)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        assert_eq!(send_in_pieces(addr, &script, &cuts, whole.len()), whole);
    }
}

/// Sends `request`, reads until the server closes the connection, and
/// returns what arrived (panics if the server keeps it open).
fn reply_then_close(addr: SocketAddr, setup: &[u8], request: &[u8]) -> Vec<u8> {
    let mut stream = raw(addr);
    if !setup.is_empty() {
        stream.write_all(setup).unwrap();
        let mut frame_reader = BufReader::new(stream.try_clone().unwrap());
        read_frame(&mut frame_reader).unwrap();
    }
    let _ = stream.write_all(request);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(err) => panic!(
                "{addr}: the connection stayed open after {:?} (got {:?}): {err}",
                String::from_utf8_lossy(&request[..request.len().min(40)]),
                String::from_utf8_lossy(&got)
            ),
        }
    }
}

fn protocol_error(message: &str) -> Vec<u8> {
    format!("-ERR Protocol error: {message}\r\n").into_bytes()
}

/// Malformed inputs and the exact bytes a client gets before the server
/// hangs up.
fn malformed_cases() -> Vec<(Vec<u8>, Vec<u8>)> {
    let too_long = |prefix: &[u8]| [prefix, &vec![b'1'; 64 * 1024]].concat();
    vec![
        (
            b"*x\r\n".to_vec(),
            protocol_error("invalid multibulk length"),
        ),
        (
            b"*3000000000\r\n".to_vec(),
            protocol_error("invalid multibulk length"),
        ),
        (
            b"*1\r\n$x\r\n".to_vec(),
            protocol_error("invalid bulk length"),
        ),
        (
            b"*1\r\n$-1\r\n".to_vec(),
            protocol_error("invalid bulk length"),
        ),
        (
            b"*1\r\n:1\r\n".to_vec(),
            protocol_error("expected '$', got ':'"),
        ),
        (
            b"*1\r\n\r\n".to_vec(),
            protocol_error("expected '$', got ' '"),
        ),
        // proto-max-bulk-len is 512 MB.
        (
            b"*1\r\n$536870913\r\n".to_vec(),
            protocol_error("invalid bulk length"),
        ),
        (
            b"SET \"a b\r\n".to_vec(),
            protocol_error("unbalanced quotes in request"),
        ),
        (
            b"GET \"a\"b\r\n".to_vec(),
            protocol_error("unbalanced quotes in request"),
        ),
        // Commands before the bad one are answered first.
        (
            b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n".to_vec(),
            [
                b"+PONG\r\n+PONG\r\n".as_slice(),
                &protocol_error("invalid multibulk length"),
            ]
            .concat(),
        ),
        (
            vec![b'a'; 64 * 1024 + 1],
            protocol_error("too big inline request"),
        ),
        (too_long(b"*"), protocol_error("too big mbulk count string")),
        (
            too_long(b"*1\r\n$"),
            protocol_error("too big bulk count string"),
        ),
    ]
}

#[test]
fn malformed_input_gets_the_exact_error_and_a_closed_connection() {
    let server = start();
    let redis = RealRedis::start();
    for (request, expected) in malformed_cases() {
        let got = reply_then_close(server.local_addr(), b"", &request);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "request {:?}",
            String::from_utf8_lossy(&request[..request.len().min(40)])
        );
        if let Some(redis) = &redis {
            let real = reply_then_close(redis.addr, b"", &request);
            assert_eq!(
                String::from_utf8_lossy(&real),
                String::from_utf8_lossy(&got),
                "real Redis differs on {:?}",
                String::from_utf8_lossy(&request[..request.len().min(40)])
            );
        }
    }
}

#[test]
fn before_auth_large_commands_are_refused() {
    if common::as_test_user() {
        eprintln!("skipped as the test user: requirepass is the default user's password");
        return;
    }
    let server = start_with("requirepass secret");
    let redis = RealRedis::start();
    if let Some(redis) = &redis {
        let mut admin = common::client(redis.addr);
        let reply = admin
            .command(&["CONFIG", "SET", "requirepass", "secret"])
            .unwrap();
        assert_eq!(reply, Frame::Simple("OK".into()));
    }
    let big = "a".repeat(16385);
    let cases: [(Vec<u8>, Vec<u8>, Vec<u8>); 3] = [
        (
            vec![],
            b"*11\r\n".to_vec(),
            protocol_error("unauthenticated multibulk length"),
        ),
        (
            vec![],
            b"*1\r\n$16385\r\n".to_vec(),
            protocol_error("unauthenticated bulk length"),
        ),
        // Once authenticated, the same sizes are fine.
        (
            cmd(&["AUTH", "secret"]),
            [cmd(&["ECHO", &big]), b"*x\r\n".to_vec()].concat(),
            [
                format!("${}\r\n{big}\r\n", big.len()).into_bytes(),
                protocol_error("invalid multibulk length"),
            ]
            .concat(),
        ),
    ];
    for (setup, request, expected) in cases {
        let got = reply_then_close(server.local_addr(), &setup, &request);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected)
        );
        if let Some(redis) = &redis {
            assert_eq!(reply_then_close(redis.addr, &setup, &request), got);
        }
    }
    // Small commands still get NOAUTH, and the connection stays open.
    let mut stream = raw(server.local_addr());
    common::assert_reply(
        &mut stream,
        &cmd(&["GET", "k"]),
        b"-NOAUTH Authentication required.\r\n",
    );
    common::assert_reply(&mut stream, &cmd(&["AUTH", "secret"]), b"+OK\r\n");
}

/// The test process's resident memory, in KB (Linux only).
fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_huge_bulk_header_costs_nothing_until_its_bytes_arrive() {
    let server = start();
    let addr = server.local_addr();
    let before = rss_kb();
    let mut liars: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut stream = raw(addr);
            stream
                .write_all(b"*3\r\n$3\r\nSET\r\n$4\r\nhuge\r\n$524288000\r\n")
                .unwrap();
            stream.write_all(&[b'x'; 1000]).unwrap();
            stream
        })
        .collect();
    // The server is busy with nothing: another client is served at once.
    let mut other = raw(addr);
    common::assert_reply(&mut other, &cmd(&["PING"]), b"+PONG\r\n");
    // Every liar's 1000 bytes have been read by now or soon: ask each
    // connection something that needs its worker to have run.
    for liar in &mut liars {
        liar.write_all(&[b'y'; 1000]).unwrap();
    }
    common::assert_reply(&mut other, &cmd(&["PING"]), b"+PONG\r\n");
    if let (Some(before), Some(after)) = (before, rss_kb()) {
        let grown_mb = after.saturating_sub(before) / 1024;
        assert!(
            grown_mb < 50,
            "20 clients announcing 500 MB each grew the process by {grown_mb} MB"
        );
    }
    drop(liars);
    common::assert_reply(&mut other, &cmd(&["GET", "huge"]), b"$-1\r\n");
}
