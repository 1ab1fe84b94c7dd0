//! The wire trace (`trace yes`): every frame a connection receives and
//! sends is logged as its exact bytes, `\r\n` made visible, and a reading,
//! including Pub/Sub pushes written by the subscriber's writer thread.

mod common;

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::process::TempDir;
use common::{assert_reply, cmd, raw, start_with};
use respd::resp::Frame;
use respd::ServerHandle;

/// A respd logging to `respd.log` in a directory of its own (returned),
/// with `extra` config lines.
fn traced_server(extra: &str) -> (ServerHandle, TempDir) {
    static SERVERS: AtomicUsize = AtomicUsize::new(0);
    let dir = TempDir::new(&format!("trace-{}", SERVERS.fetch_add(1, Ordering::SeqCst)));
    let log = dir.join("respd.log");
    let server = start_with(&format!("logfile {}\n{extra}", log.display()));
    (server, dir)
}

/// The trace lines of one client, without the log's timestamp prefix:
/// `<- ...` and `-> ...`; as the test user, without its login (the AUTH
/// and its `+OK`).
fn traced(dir: &Path, client: &TcpStream) -> Vec<String> {
    let peer = format!(" {}] ", client.local_addr().unwrap());
    let mut lines: Vec<String> = std::fs::read_to_string(dir.join("respd.log"))
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(" [id=") && line.contains(&peer))
        .map(|line| line.split_once(&peer).unwrap().1.to_string())
        .collect();
    let login = r#"<- *3\r\n$4\r\nAUTH\r\n"#;
    if common::as_test_user() && lines.first().is_some_and(|line| line.starts_with(login)) {
        lines.drain(..2);
    }
    lines
}

/// Switches to RESP3 and reads HELLO's whole reply.
fn hello3(client: &mut TcpStream) {
    client.write_all(&cmd(&["HELLO", "3"])).unwrap();
    let reply = respd::resp::read_frame(&mut BufReader::new(&mut *client)).unwrap();
    assert!(matches!(reply, Some(Frame::Map(_))), "{reply:?}");
}

#[test]
fn off_by_default_and_switched_by_config_set() {
    let (server, log) = traced_server("");
    let mut client = raw(server.local_addr());
    assert_reply(&mut client, &cmd(&["GET", "k"]), b"$-1\r\n");
    assert!(traced(&log, &client).is_empty());

    assert_reply(
        &mut client,
        &cmd(&["CONFIG", "SET", "trace", "yes"]),
        b"+OK\r\n",
    );
    assert_reply(&mut client, &cmd(&["GET", "k"]), b"$-1\r\n");
    assert_reply(
        &mut client,
        &cmd(&["CONFIG", "SET", "trace", "no"]),
        b"+OK\r\n",
    );
    assert_reply(&mut client, b"PING\r\n", b"+PONG\r\n");
    assert_eq!(
        traced(&log, &client),
        [
            // The reply to the CONFIG SET that switched it on.
            r#"-> +OK\r\n   simple "OK""#,
            r#"<- *2\r\n$3\r\nGET\r\n$1\r\nk\r\n   array(2): bulk "GET", bulk "k""#,
            r#"-> $-1\r\n   null bulk (RESP2)"#,
            r#"<- *4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$5\r\ntrace\r\n$2\r\nno\r\n   array(4): bulk "CONFIG", bulk "SET", bulk "trace", bulk "no""#,
        ]
    );
    assert_eq!(
        server.shared().config().get("trace"),
        Some("no"),
        "CONFIG GET shows the setting"
    );
}

#[test]
fn every_type_the_server_sends_is_traced_in_resp2_and_resp3() {
    let (server, log) = traced_server("trace yes");
    let mut client = raw(server.local_addr());
    let steps: &[(&[&str], &[u8])] = &[
        (&["SET", "k", "v"], b"+OK\r\n"),
        (
            &["LPUSH", "k", "x"],
            b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        ),
        (&["STRLEN", "k"], b":1\r\n"),
        (&["GET", "k"], b"$1\r\nv\r\n"),
        (&["GET", "none"], b"$-1\r\n"),
        (&["MGET", "k"], b"*1\r\n$1\r\nv\r\n"),
        (&["LPOP", "none", "2"], b"*-1\r\n"),
        (&["HSET", "h", "f", "v"], b":1\r\n"),
        (&["SADD", "s", "a"], b":1\r\n"),
        (&["ZADD", "z", "1.5", "m"], b":1\r\n"),
    ];
    for (request, reply) in steps {
        assert_reply(&mut client, &cmd(request), reply);
    }
    hello3(&mut client);
    let resp3: &[(&[&str], &[u8])] = &[
        (&["GET", "none"], b"_\r\n"),
        (&["HGETALL", "h"], b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n"),
        (&["SMEMBERS", "s"], b"~1\r\n$1\r\na\r\n"),
        (&["ZSCORE", "z", "m"], b",1.5\r\n"),
        (&["INFO", "keyspace"], b"="),
    ];
    for (request, reply) in resp3 {
        client.write_all(&cmd(request)).unwrap();
        assert!(common::read_n(&mut client, reply.len()).starts_with(reply));
    }
    let lines = traced(&log, &client);
    for reading in [
        r#"-> +OK\r\n   simple "OK""#,
        r#"   error "WRONGTYPE Operation against a key holding the wrong kind of value""#,
        r#"-> :1\r\n   integer 1"#,
        r#"-> $1\r\nv\r\n   bulk "v""#,
        r#"-> $-1\r\n   null bulk (RESP2)"#,
        r#"-> *1\r\n$1\r\nv\r\n   array(1): bulk "v""#,
        r#"-> *-1\r\n   null array (RESP2)"#,
        r#"   map(7): bulk "server" => bulk "redis", "#,
        r#"-> _\r\n   null (RESP3)"#,
        r#"-> %1\r\n$1\r\nf\r\n$1\r\nv\r\n   map(1): bulk "f" => bulk "v""#,
        r#"-> ~1\r\n$1\r\na\r\n   set(1): bulk "a""#,
        r#"-> ,1.5\r\n   double 1.5"#,
        r##"   verbatim txt "# Keyspace"##,
    ] {
        assert!(
            lines.iter().any(|line| line.contains(reading)),
            "{reading} not in\n{}",
            lines.join("\n")
        );
    }
}

#[test]
fn pushes_from_the_writer_thread_are_traced() {
    let (server, log) = traced_server("trace yes");
    let mut resp2 = raw(server.local_addr());
    let mut resp3 = raw(server.local_addr());
    let mut publisher = raw(server.local_addr());
    assert_reply(
        &mut resp2,
        &cmd(&["SUBSCRIBE", "news"]),
        b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
    );
    hello3(&mut resp3);
    assert_reply(
        &mut resp3,
        &cmd(&["SUBSCRIBE", "news"]),
        b">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
    );
    assert_reply(&mut publisher, &cmd(&["PUBLISH", "news", "hi"]), b":2\r\n");
    let message = b"$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n";
    assert_reply(&mut resp2, b"", &[b"*3\r\n".as_slice(), message].concat());
    assert_reply(&mut resp3, b"", &[b">3\r\n".as_slice(), message].concat());

    assert_eq!(
        traced(&log, &resp2),
        [
            r#"<- *2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nnews\r\n   array(2): bulk "SUBSCRIBE", bulk "news""#,
            r#"-> *3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n   array(3): bulk "subscribe", bulk "news", integer 1"#,
            r#"-> *3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n   array(3): bulk "message", bulk "news", bulk "hi""#,
        ]
    );
    let lines = traced(&log, &resp3);
    assert_eq!(
        lines.last().map(String::as_str),
        Some(
            r#"-> >3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n   push(3): bulk "message", bulk "news", bulk "hi""#
        ),
        "{lines:?}"
    );
    assert!(lines
        .iter()
        .any(|line| line.contains(r#"push(3): bulk "subscribe""#)));
}

#[test]
fn pipelines_inline_commands_protocol_errors_and_long_strings() {
    let (server, log) = traced_server("trace yes");
    let mut client = raw(server.local_addr());
    let long = "x".repeat(100);
    assert_reply(&mut client, &cmd(&["SET", "long", &long]), b"+OK\r\n");
    assert_reply(
        &mut client,
        b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n:1\r\n",
        b"+PONG\r\n+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n",
    );
    assert!(common::is_closed(&mut client));
    let cut = format!("{}...(100 bytes)...xxxxxxxx", "x".repeat(24));
    assert_eq!(
        traced(&log, &client),
        [
            format!(
                r#"<- *3\r\n$3\r\nSET\r\n$4\r\nlong\r\n$100\r\n{cut}\r\n   array(3): bulk "SET", bulk "long", bulk "{cut}""#
            ),
            r#"-> +OK\r\n   simple "OK""#.into(),
            // The pipeline: three requests in, then the replies out together.
            r#"<- PING\r\n   inline: "PING""#.into(),
            r#"<- *1\r\n$4\r\nPING\r\n   array(1): bulk "PING""#.into(),
            r#"<- *1\r\n:1\r\n   array(1): integer 1"#.into(),
            r#"-> +PONG\r\n   simple "PONG""#.into(),
            r#"-> +PONG\r\n   simple "PONG""#.into(),
            r#"-> -ERR Protocol error: expected '$', got ':'\r\n   error "ERR Protocol error: expected '$', got ':'""#.into(),
        ]
    );
}
