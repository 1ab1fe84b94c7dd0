//! Client-side caching (CLIENT TRACKING): invalidation pushes in RESP3, the
//! RESP2 redirect to a `__redis__:invalidate` subscriber, BCAST prefixes,
//! OPTIN/OPTOUT with CLIENT CACHING, NOLOOP, flushes, broken redirects and
//! the option errors. Each scenario runs against respd and, when it is
//! installed, a real redis-server, and must produce the same bytes on both.
//!
//! No timing: where a test checks that nothing arrived, it sends PING and
//! expects its reply first (a message queued earlier would come before it).

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use common::{assert_reply, cmd, exchange, raw, read_n, read_until_quiet, start, RealRedis};

/// `>2 invalidate [keys]`, as Redis pushes it in RESP3.
fn push(keys: &[&str]) -> Vec<u8> {
    let mut out = format!(">2\r\n$10\r\ninvalidate\r\n*{}\r\n", keys.len());
    for key in keys {
        out += &format!("${}\r\n{key}\r\n", key.len());
    }
    out.into_bytes()
}

/// The same keys as a RESP2 Pub/Sub message on `__redis__:invalidate`.
fn message(keys: &[&str]) -> Vec<u8> {
    let mut out = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n".to_vec();
    out.extend_from_slice(&push(keys)[b">2\r\n$10\r\ninvalidate\r\n".len()..]);
    out
}

const NULL_PUSH: &[u8] = b">2\r\n$10\r\ninvalidate\r\n_\r\n";
const PONG: &[u8] = b"+PONG\r\n";
const OK: &[u8] = b"+OK\r\n";

/// A connection switched to RESP3 (HELLO's reply read and dropped).
fn resp3(addr: SocketAddr) -> TcpStream {
    let mut stream = raw(addr);
    stream.write_all(&cmd(&["HELLO", "3"])).expect("write");
    let hello = read_until_quiet(&mut stream, Duration::from_millis(100));
    assert!(hello.starts_with(b"%7\r\n"), "{hello:?}");
    patient(&mut stream);
    stream
}

/// Back to waiting up to 5 s for what a test expects (a quiet read leaves
/// its short timeout behind, and a push may take longer on a busy machine).
fn patient(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
}

/// The connection's client id (CLIENT ID).
fn client_id(stream: &mut TcpStream) -> i64 {
    stream.write_all(&cmd(&["CLIENT", "ID"])).expect("write");
    let reply = read_until_quiet(stream, Duration::from_millis(50));
    patient(stream);
    let text = String::from_utf8_lossy(&reply);
    text.trim()
        .trim_start_matches(':')
        .parse()
        .unwrap_or_else(|_| panic!("CLIENT ID: {text:?}"))
}

/// CLIENT INFO's `flags=` and `redir=` fields for the connection.
fn listed(stream: &mut TcpStream) -> String {
    stream.write_all(&cmd(&["CLIENT", "INFO"])).expect("write");
    let reply = read_until_quiet(stream, Duration::from_millis(50));
    patient(stream);
    let text = String::from_utf8_lossy(&reply).into_owned();
    text.split_whitespace()
        .filter(|field| field.starts_with("flags=") || field.starts_with("redir="))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `scenario` against respd, then against a real Redis if there is one.
fn on_both(scenario: impl Fn(SocketAddr)) {
    let server = start();
    scenario(server.local_addr());
    if let Some(redis) = RealRedis::start() {
        scenario(redis.addr);
    }
}

#[test]
fn a_resp3_client_is_told_when_a_key_it_read_changes() {
    on_both(|addr| {
        let mut reader = resp3(addr);
        let mut writer = raw(addr);
        assert_reply(&mut writer, &cmd(&["SET", "k", "v1"]), OK);
        assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "ON"]), OK);
        assert_reply(&mut reader, &cmd(&["GET", "k"]), b"$2\r\nv1\r\n");
        assert_reply(&mut writer, &cmd(&["SET", "k", "v2"]), OK);
        assert_eq!(read_n(&mut reader, push(&["k"]).len()), push(&["k"]));
        // Invalidated once: the key must be read again to be tracked again.
        assert_reply(&mut writer, &cmd(&["SET", "k", "v3"]), OK);
        assert_reply(&mut reader, &cmd(&["PING"]), PONG);
        // A change the client makes itself comes after its own reply.
        assert_reply(&mut reader, &cmd(&["GET", "k"]), b"$2\r\nv3\r\n");
        let mut expected = b":1\r\n".to_vec();
        expected.extend(push(&["k"]));
        assert_reply(&mut reader, &cmd(&["DEL", "k"]), &expected);
        // A failed or no-op write changes nothing: no message.
        assert_reply(&mut reader, &cmd(&["GET", "k"]), b"_\r\n");
        assert_reply(&mut writer, &cmd(&["DEL", "k"]), b":0\r\n");
        assert_reply(&mut reader, &cmd(&["PING"]), PONG);
        // Every key a read-only command reads is tracked.
        assert_reply(&mut writer, &cmd(&["MSET", "a", "1", "b", "2"]), OK);
        assert_reply(
            &mut reader,
            &cmd(&["MGET", "a", "b"]),
            b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n",
        );
        assert_reply(&mut writer, &cmd(&["APPEND", "b", "x"]), b":2\r\n");
        assert_eq!(read_n(&mut reader, push(&["b"]).len()), push(&["b"]));
        assert_reply(&mut writer, &cmd(&["INCR", "a"]), b":2\r\n");
        assert_eq!(read_n(&mut reader, push(&["a"]).len()), push(&["a"]));
        // Off: no more messages.
        assert_reply(&mut reader, &cmd(&["GET", "a"]), b"$1\r\n2\r\n");
        assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "OFF"]), OK);
        assert_reply(&mut writer, &cmd(&["INCR", "a"]), b":3\r\n");
        assert_reply(&mut reader, &cmd(&["PING"]), PONG);
    });
}

#[test]
fn a_resp2_client_redirects_to_an_invalidate_subscriber() {
    on_both(|addr| {
        let mut listener = raw(addr);
        let id = client_id(&mut listener);
        assert_reply(
            &mut listener,
            &cmd(&["SUBSCRIBE", "__redis__:invalidate"]),
            b"*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n",
        );
        let mut reader = raw(addr);
        let mut writer = raw(addr);
        assert_reply(
            &mut reader,
            &cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &id.to_string()]),
            OK,
        );
        assert_reply(
            &mut reader,
            &cmd(&["CLIENT", "GETREDIR"]),
            format!(":{id}\r\n").as_bytes(),
        );
        assert_reply(&mut reader, &cmd(&["GET", "user:1"]), b"$-1\r\n");
        assert_reply(&mut writer, &cmd(&["SET", "user:1", "ann"]), OK);
        assert_eq!(
            read_n(&mut listener, message(&["user:1"]).len()),
            message(&["user:1"])
        );
        // A flush: a null in place of the keys.
        assert_reply(&mut writer, &cmd(&["FLUSHALL"]), OK);
        let null = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n";
        assert_eq!(read_n(&mut listener, null.len()), null.to_vec());
        // The reader itself, in RESP2, gets nothing.
        assert_reply(&mut reader, &cmd(&["PING"]), PONG);
    });
}

#[test]
fn flushes_send_the_null_invalidation_to_every_tracking_client() {
    on_both(|addr| {
        let mut reader = resp3(addr);
        let mut writer = raw(addr);
        assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "ON"]), OK);
        assert_reply(&mut writer, &cmd(&["FLUSHDB"]), OK);
        assert_eq!(read_n(&mut reader, NULL_PUSH.len()), NULL_PUSH);
        // The flushing client's own null comes after its +OK.
        let mut expected = OK.to_vec();
        expected.extend_from_slice(NULL_PUSH);
        assert_reply(&mut reader, &cmd(&["FLUSHALL"]), &expected);
    });
}

#[test]
fn bcast_sends_every_change_under_the_prefixes() {
    on_both(|addr| {
        let mut reader = resp3(addr);
        let mut writer = raw(addr);
        assert_reply(
            &mut reader,
            &cmd(&[
                "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a:", "PREFIX", "b:",
            ]),
            OK,
        );
        // Nothing read, yet told: one message per prefix.
        assert_reply(
            &mut writer,
            &cmd(&["MSET", "b:2", "y", "a:1", "x", "c:3", "z"]),
            OK,
        );
        let mut expected = push(&["a:1"]);
        expected.extend(push(&["b:2"]));
        assert_eq!(read_n(&mut reader, expected.len()), expected);
        assert_reply(&mut writer, &cmd(&["SET", "c:4", "z"]), OK);
        assert_reply(&mut reader, &cmd(&["PING"]), PONG);
        assert_reply(
            &mut reader,
            &cmd(&["CLIENT", "TRACKINGINFO"]),
            b"%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*2\r\n$2\r\na:\r\n$2\r\nb:\r\n",
        );
        assert_eq!(listed(&mut reader), "flags=tB redir=0");
        assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "OFF"]), OK);
        assert_eq!(listed(&mut reader), "flags=N redir=-1");
        // Without PREFIX: every key.
        let mut all = resp3(addr);
        assert_reply(&mut all, &cmd(&["CLIENT", "TRACKING", "on", "BCAST"]), OK);
        assert_reply(&mut writer, &cmd(&["SET", "zz", "1"]), OK);
        assert_eq!(read_n(&mut all, push(&["zz"]).len()), push(&["zz"]));
    });
}

#[test]
fn optin_tracks_only_after_caching_yes_and_optout_skips_after_caching_no() {
    on_both(|addr| {
        let mut reader = resp3(addr);
        let mut writer = raw(addr);
        assert_reply(
            &mut reader,
            &cmd(&["CLIENT", "TRACKING", "on", "OPTIN"]),
            OK,
        );
        assert_reply(&mut reader, &cmd(&["GET", "skipped"]), b"_\r\n");
        assert_reply(&mut reader, &cmd(&["CLIENT", "CACHING", "yes"]), OK);
        assert_reply(&mut reader, &cmd(&["GET", "cached"]), b"_\r\n");
        // CACHING applied to one command only.
        assert_reply(&mut reader, &cmd(&["GET", "later"]), b"_\r\n");
        assert_reply(
            &mut writer,
            &cmd(&["MSET", "skipped", "1", "cached", "2", "later", "3"]),
            OK,
        );
        assert_eq!(
            read_n(&mut reader, push(&["cached"]).len()),
            push(&["cached"])
        );
        assert_reply(&mut reader, &cmd(&["PING"]), PONG);

        let mut other = resp3(addr);
        assert_reply(
            &mut other,
            &cmd(&["CLIENT", "TRACKING", "on", "OPTOUT"]),
            OK,
        );
        assert_reply(&mut other, &cmd(&["CLIENT", "CACHING", "no"]), OK);
        assert_reply(&mut other, &cmd(&["GET", "skipped"]), b"$1\r\n1\r\n");
        assert_reply(&mut other, &cmd(&["GET", "cached"]), b"$1\r\n2\r\n");
        assert_reply(
            &mut writer,
            &cmd(&["MSET", "skipped", "4", "cached", "5"]),
            OK,
        );
        assert_eq!(
            read_n(&mut other, push(&["cached"]).len()),
            push(&["cached"])
        );
        assert_reply(&mut other, &cmd(&["PING"]), PONG);
    });
}

#[test]
fn noloop_keeps_a_clients_own_changes_from_it() {
    on_both(|addr| {
        let mut reader = resp3(addr);
        let mut writer = raw(addr);
        assert_reply(
            &mut reader,
            &cmd(&["CLIENT", "TRACKING", "on", "NOLOOP"]),
            OK,
        );
        assert_reply(&mut reader, &cmd(&["GET", "k"]), b"_\r\n");
        assert_reply(&mut reader, &cmd(&["SET", "k", "mine"]), OK);
        assert_reply(&mut reader, &cmd(&["PING"]), PONG);
        assert_reply(&mut reader, &cmd(&["GET", "k"]), b"$4\r\nmine\r\n");
        assert_reply(&mut writer, &cmd(&["SET", "k", "theirs"]), OK);
        assert_eq!(read_n(&mut reader, push(&["k"]).len()), push(&["k"]));
        // In BCAST mode too.
        let mut bcast = resp3(addr);
        assert_reply(
            &mut bcast,
            &cmd(&["CLIENT", "TRACKING", "on", "BCAST", "NOLOOP"]),
            OK,
        );
        assert_reply(&mut bcast, &cmd(&["SET", "k", "mine"]), OK);
        assert_reply(&mut bcast, &cmd(&["PING"]), PONG);
        assert_reply(&mut writer, &cmd(&["SET", "k", "theirs"]), OK);
        assert_eq!(read_n(&mut bcast, push(&["k"]).len()), push(&["k"]));
    });
}

#[test]
fn a_redirect_to_a_closed_client_is_reported_as_broken() {
    on_both(|addr| {
        let mut target = raw(addr);
        let id = client_id(&mut target);
        let mut reader = resp3(addr);
        let mut writer = raw(addr);
        assert_reply(
            &mut reader,
            &cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &id.to_string()]),
            OK,
        );
        assert_reply(&mut reader, &cmd(&["GET", "k"]), b"_\r\n");
        assert_eq!(listed(&mut reader), format!("flags=t redir={id}"));
        drop(target);
        // The server notices the close in its own time: ask until it has.
        let mut gone = false;
        for _ in 0..100 {
            writer
                .write_all(&cmd(&["CLIENT", "LIST", "ID", &id.to_string()]))
                .expect("write");
            let reply = read_until_quiet(&mut writer, Duration::from_millis(20));
            if reply.starts_with(b"$0\r\n") {
                gone = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(gone, "the closed client is still listed");
        assert_reply(&mut writer, &cmd(&["SET", "k", "v"]), OK);
        let broken = format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{id}\r\n");
        assert_eq!(
            String::from_utf8_lossy(&read_n(&mut reader, broken.len())),
            broken
        );
        assert_eq!(listed(&mut reader), format!("flags=tR redir={id}"));
        let info = b"%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$15\r\nbroken_redirect\r\n";
        assert_eq!(
            &exchange_prefix(&mut reader, &cmd(&["CLIENT", "TRACKINGINFO"]), info.len()),
            info
        );
    });
}

/// Sends `request` and returns its first `n` bytes, dropping the rest.
fn exchange_prefix(stream: &mut TcpStream, request: &[u8], n: usize) -> Vec<u8> {
    stream.write_all(request).expect("write");
    let got = read_until_quiet(stream, Duration::from_millis(100));
    got[..n.min(got.len())].to_vec()
}

#[test]
fn option_errors_and_introspection_match_redis() {
    let script: &[&[&str]] = &[
        &["CLIENT", "GETREDIR"],
        &["CLIENT", "TRACKINGINFO"],
        &["CLIENT", "CACHING", "yes"],
        &["CLIENT", "TRACKING", "maybe"],
        &["CLIENT", "TRACKING", "on", "BOGUS"],
        &["CLIENT", "TRACKING", "on", "REDIRECT"],
        &["CLIENT", "TRACKING", "on", "REDIRECT", "x"],
        &["CLIENT", "TRACKING", "on", "REDIRECT", "999999"],
        &["CLIENT", "TRACKING", "on", "PREFIX", "a"],
        &["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"],
        &["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"],
        &[
            "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab", "PREFIX", "a",
        ],
        &["CLIENT", "TRACKING", "on", "OPTIN"],
        &["CLIENT", "CACHING", "no"],
        &["CLIENT", "CACHING", "maybe"],
        &["CLIENT", "TRACKING", "on", "OPTOUT"],
        &["CLIENT", "TRACKING", "on", "BCAST"],
        &["CLIENT", "CACHING", "yes"],
        &["CLIENT", "TRACKINGINFO"],
        &["CLIENT", "GETREDIR"],
        &["CLIENT", "TRACKING", "off"],
        &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x"],
        &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "xy"],
        &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "y"],
        &["CLIENT", "TRACKINGINFO"],
        &["CLIENT", "TRACKING", "on"],
        &["CLIENT", "TRACKING", "off"],
        &["CLIENT", "TRACKINGINFO"],
    ];
    let run = |addr: SocketAddr, hello3: bool| {
        let mut stream = if hello3 { resp3(addr) } else { raw(addr) };
        let mut transcript = Vec::new();
        for command in script {
            stream.write_all(&cmd(command)).expect("write");
            transcript.extend(read_until_quiet(&mut stream, Duration::from_millis(30)));
        }
        transcript
    };
    let server = start();
    let ours2 = run(server.local_addr(), false);
    let ours3 = run(server.local_addr(), true);
    let text = String::from_utf8_lossy(&ours2);
    assert!(text.contains("-ERR PREFIX option requires BCAST mode to be enabled\r\n"));
    assert!(text.contains("-ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap.\r\n"));
    assert!(text.contains("-ERR Prefix 'xy' overlaps with an existing prefix 'x'."));
    if let Some(redis) = RealRedis::start() {
        assert_eq!(
            String::from_utf8_lossy(&ours2),
            String::from_utf8_lossy(&run(redis.addr, false))
        );
        assert_eq!(
            String::from_utf8_lossy(&ours3),
            String::from_utf8_lossy(&run(redis.addr, true))
        );
    }
}

#[test]
fn info_counts_tracking_clients_keys_and_prefixes() {
    let server = start();
    let mut reader = resp3(server.local_addr());
    let mut bcast = resp3(server.local_addr());
    assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "ON"]), OK);
    assert_reply(&mut reader, &cmd(&["MGET", "a", "b"]), b"*2\r\n_\r\n_\r\n");
    assert_reply(
        &mut bcast,
        &cmd(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p"]),
        OK,
    );
    let mut probe = raw(server.local_addr());
    probe.write_all(&cmd(&["INFO"])).expect("write");
    let info = String::from_utf8_lossy(&read_until_quiet(&mut probe, Duration::from_millis(100)))
        .into_owned();
    for line in [
        "tracking_clients:2\r\n",
        "tracking_total_keys:2\r\n",
        "tracking_total_items:2\r\n",
        "tracking_total_prefixes:1\r\n",
    ] {
        assert!(info.contains(line), "{line} missing in {info}");
    }
}

#[test]
fn the_table_keeps_within_tracking_table_max_keys() {
    on_both(|addr| {
        let mut reader = resp3(addr);
        let mut admin = raw(addr);
        assert_reply(
            &mut admin,
            &cmd(&["CONFIG", "SET", "tracking-table-max-keys", "1"]),
            OK,
        );
        assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "ON"]), OK);
        assert_reply(&mut reader, &cmd(&["GET", "one"]), b"_\r\n");
        // Reading a second key pushes the first out: it is invalidated.
        reader.write_all(&cmd(&["GET", "two"])).expect("write");
        reader.write_all(&cmd(&["PING"])).expect("write");
        let got = read_until_quiet(&mut reader, Duration::from_millis(200));
        // Which key goes is Redis's random pick.
        let expected = |key: &str| {
            let mut bytes = b"_\r\n".to_vec();
            bytes.extend(push(&[key]));
            bytes.extend_from_slice(PONG);
            bytes
        };
        assert!(
            got == expected("one") || got == expected("two"),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
        assert_reply(
            &mut admin,
            &cmd(&["CONFIG", "SET", "tracking-table-max-keys", "0"]),
            OK,
        );
    });
}

#[test]
fn the_redis_crate_receives_invalidate_pushes() {
    on_both(|addr| {
        let client =
            redis::Client::open(format!("{}?protocol=resp3", common::url(addr))).expect("client");
        let mut conn = client.get_connection().expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let (sender, pushes) = mpsc::channel();
        conn.set_push_sender(sender);
        let mut writer = common::redis(addr);
        let _: () = redis::cmd("SET")
            .arg("cached")
            .arg("1")
            .query(&mut writer)
            .expect("set");
        let _: () = redis::cmd("CLIENT")
            .arg("TRACKING")
            .arg("ON")
            .query(&mut conn)
            .expect("tracking");
        let value: String = redis::cmd("GET")
            .arg("cached")
            .query(&mut conn)
            .expect("get");
        assert_eq!(value, "1");
        let _: () = redis::cmd("SET")
            .arg("cached")
            .arg("2")
            .query(&mut writer)
            .expect("set");
        // The push is read with the next reply.
        let _: String = redis::cmd("PING").query(&mut conn).expect("ping");
        let push = pushes.try_recv().expect("an invalidate push");
        assert_eq!(push.kind, redis::PushKind::Invalidate);
        assert_eq!(
            push.data,
            vec![redis::Value::Array(vec![redis::Value::BulkString(
                b"cached".to_vec()
            )])]
        );
    });
}

#[test]
fn expiry_and_transactions_invalidate_and_reset_stops_tracking() {
    on_both(|addr| {
        let mut reader = resp3(addr);
        let mut writer = raw(addr);
        assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "ON"]), OK);
        // Setting a time to live is a change; the key going is another.
        assert_reply(&mut writer, &cmd(&["SET", "brief", "1"]), OK);
        assert_reply(&mut reader, &cmd(&["GET", "brief"]), b"$1\r\n1\r\n");
        // Long enough that the GET below still finds it on a loaded machine;
        // the reads below wait up to 5 s for the pushes.
        reader
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        assert_reply(&mut writer, &cmd(&["PEXPIRE", "brief", "1000"]), b":1\r\n");
        assert_eq!(
            read_n(&mut reader, push(&["brief"]).len()),
            push(&["brief"])
        );
        assert_reply(&mut reader, &cmd(&["GET", "brief"]), b"$1\r\n1\r\n");
        // The active expiry cycle removes it.
        assert_eq!(
            read_n(&mut reader, push(&["brief"]).len()),
            push(&["brief"])
        );
        // A transaction's changes come after EXEC's reply, in order.
        assert_reply(&mut reader, &cmd(&["MGET", "a", "b"]), b"*2\r\n_\r\n_\r\n");
        let mut request = cmd(&["MULTI"]);
        request.extend(cmd(&["SET", "b", "1"]));
        request.extend(cmd(&["SET", "a", "2"]));
        request.extend(cmd(&["EXEC"]));
        let mut expected = b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n+OK\r\n".to_vec();
        expected.extend(push(&["b"]));
        expected.extend(push(&["a"]));
        assert_reply(&mut reader, &request, &expected);
        // RESET turns tracking off.
        assert_reply(&mut reader, &cmd(&["GET", "a"]), b"$1\r\n2\r\n");
        assert_reply(&mut reader, &cmd(&["RESET"]), b"+RESET\r\n");
        // RESET logs the connection back in as the default user.
        if let Some(auth) = common::auth_request() {
            assert_reply(&mut reader, &auth, OK);
        }
        assert_reply(
            &mut reader,
            &cmd(&["CLIENT", "TRACKINGINFO"]),
            b"*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n",
        );
        assert_reply(&mut writer, &cmd(&["SET", "a", "3"]), OK);
        assert_reply(&mut reader, &cmd(&["PING"]), PONG);
    });
}

#[test]
fn redis_py_client_tracking_on_with_a_redirect() {
    // Outside CI, no redis-py skips it; in CI (.ci/run installs it with
    // python-redis-lock) it must run.
    let apps = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps");
    let probe = std::process::Command::new("python3")
        .args(["-c", "import redis"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-py is not installed (see .ci/run)"
        );
        eprintln!("redis-py is not installed: skipping");
        return;
    }
    on_both(|addr| {
        let output = std::process::Command::new("python3")
            .current_dir(&apps)
            .args(["tracking_app.py", &addr.port().to_string()])
            .args(
                common::as_test_user()
                    .then_some([common::TEST_USER.0, common::TEST_USER.1])
                    .into_iter()
                    .flatten(),
            )
            .output()
            .expect("python3");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains(", 0 failed"),
            "tracking_app.py against {addr}:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

#[cfg(feature = "scripting")]
#[test]
fn keys_read_by_a_script_are_tracked_for_its_caller() {
    on_both(|addr| {
        let mut reader = resp3(addr);
        let mut writer = raw(addr);
        assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "ON"]), OK);
        let get = "return redis.call('get', KEYS[1])";
        assert_reply(&mut reader, &cmd(&["EVAL", get, "1", "s1"]), b"_\r\n");
        assert_reply(&mut reader, &cmd(&["EVAL_RO", get, "1", "s2"]), b"_\r\n");
        assert_reply(&mut writer, &cmd(&["MSET", "s1", "1", "s2", "2"]), OK);
        let mut expected = push(&["s1"]);
        expected.extend(push(&["s2"]));
        assert_eq!(read_n(&mut reader, expected.len()), expected);
        // A script's own writes come after its reply.
        let set = "return redis.call('set', KEYS[1], 'x')";
        assert_reply(&mut reader, &cmd(&["GET", "s1"]), b"$1\r\n1\r\n");
        let mut expected = OK.to_vec();
        expected.extend(push(&["s1"]));
        assert_reply(&mut reader, &cmd(&["EVAL", set, "1", "s1"]), &expected);
    });
}

#[cfg(feature = "scripting")]
#[test]
fn a_script_remembers_its_declared_keys_not_the_ones_it_reads() {
    on_both(|addr| {
        let mut reader = resp3(addr);
        let mut writer = raw(addr);
        assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "ON"]), OK);
        // Reads `inner`, declares `declared`: Redis tracks the declared key.
        let read_other = "return redis.call('get', 'inner')";
        assert_reply(
            &mut reader,
            &cmd(&["EVAL", read_other, "1", "declared"]),
            b"_\r\n",
        );
        // No read command ran: nothing is tracked.
        let no_read = "return redis.call('ping')";
        assert_reply(
            &mut reader,
            &cmd(&["EVAL", no_read, "1", "unread"]),
            b"+PONG\r\n",
        );
        assert_reply(
            &mut writer,
            &cmd(&["MSET", "inner", "1", "unread", "2", "declared", "3"]),
            OK,
        );
        let mut expected = push(&["declared"]);
        expected.extend_from_slice(PONG);
        assert_reply(&mut reader, &cmd(&["PING"]), &expected);
    });
}

#[test]
fn a_redirect_to_a_client_that_quit_is_broken_at_once() {
    on_both(|addr| {
        let mut target = raw(addr);
        let id = client_id(&mut target);
        let mut reader = resp3(addr);
        let mut writer = raw(addr);
        assert_reply(
            &mut reader,
            &cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &id.to_string()]),
            OK,
        );
        assert_reply(&mut reader, &cmd(&["GET", "k"]), b"_\r\n");
        // QUIT's reply comes once the client is gone for everyone.
        assert_reply(&mut target, &cmd(&["QUIT"]), OK);
        assert_reply(&mut writer, &cmd(&["SET", "k", "v"]), OK);
        let mut expected = format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{id}\r\n").into_bytes();
        expected.extend_from_slice(PONG);
        assert_reply(&mut reader, &cmd(&["PING"]), &expected);
    });
}

#[test]
fn a_resp3_redirect_target_gets_pushes_without_subscribing() {
    on_both(|addr| {
        let mut target = resp3(addr);
        let id = client_id(&mut target);
        let mut reader = raw(addr);
        let mut writer = raw(addr);
        assert_reply(
            &mut reader,
            &cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &id.to_string()]),
            OK,
        );
        assert_reply(&mut reader, &cmd(&["GET", "k"]), b"$-1\r\n");
        assert_reply(&mut writer, &cmd(&["SET", "k", "v"]), OK);
        // The target sent nothing: the push arrives by itself.
        assert_eq!(read_n(&mut target, push(&["k"]).len()), push(&["k"]));
        assert_reply(&mut target, &cmd(&["PING"]), PONG);
        assert_reply(&mut writer, &cmd(&["SET", "k", "w"]), OK);
        assert_reply(&mut reader, &cmd(&["GET", "k"]), b"$1\r\nw\r\n");
        assert_reply(&mut writer, &cmd(&["SET", "k", "x"]), OK);
        let mut expected = push(&["k"]);
        expected.extend_from_slice(PONG);
        assert_reply(&mut target, &cmd(&["PING"]), &expected);
    });
}

#[test]
fn a_flush_empties_the_table_even_when_no_one_tracks() {
    on_both(|addr| {
        let mut reader = resp3(addr);
        assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "ON"]), OK);
        assert_reply(&mut reader, &cmd(&["GET", "k"]), b"_\r\n");
        assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "OFF"]), OK);
        let keys = |stream: &mut TcpStream| {
            stream.write_all(&cmd(&["INFO", "stats"])).expect("write");
            let info =
                String::from_utf8_lossy(&read_until_quiet(stream, Duration::from_millis(50)))
                    .into_owned();
            info.lines()
                .find(|l| l.starts_with("tracking_total_keys:"))
                .map(str::to_string)
        };
        // Tracking off leaves the key in the table, as in Redis...
        assert_eq!(keys(&mut reader).as_deref(), Some("tracking_total_keys:1"));
        assert_reply(&mut reader, &cmd(&["FLUSHALL"]), OK);
        // ...until a flush.
        assert_eq!(keys(&mut reader).as_deref(), Some("tracking_total_keys:0"));
    });
}

#[test]
fn lowering_the_table_limit_invalidates_even_from_a_client_not_tracking() {
    on_both(|addr| {
        let mut reader = resp3(addr);
        let mut admin = raw(addr);
        assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "ON"]), OK);
        assert_reply(&mut reader, &cmd(&["GET", "one"]), b"_\r\n");
        assert_reply(&mut reader, &cmd(&["GET", "two"]), b"_\r\n");
        // Redis keeps the table within the limit before anyone's next
        // command: the admin's own CONFIG SET is enough.
        assert_reply(
            &mut admin,
            &cmd(&["CONFIG", "SET", "tracking-table-max-keys", "1"]),
            OK,
        );
        assert_reply(&mut admin, &cmd(&["PING"]), PONG);
        let expected = |key: &str| {
            let mut bytes = push(&[key]);
            bytes.extend_from_slice(PONG);
            bytes
        };
        let got = exchange(&mut reader, &cmd(&["PING"]), expected("one").len());
        assert!(
            got == expected("one") || got == expected("two"),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
        assert_reply(
            &mut admin,
            &cmd(&["CONFIG", "SET", "tracking-table-max-keys", "1000000"]),
            OK,
        );
    });
}

#[test]
fn a_served_blmove_gets_its_reply_before_its_own_invalidation() {
    on_both(|addr| {
        let mut reader = resp3(addr);
        let mut writer = raw(addr);
        assert_reply(&mut writer, &cmd(&["RPUSH", "list2", "a"]), b":1\r\n");
        assert_reply(&mut reader, &cmd(&["CLIENT", "TRACKING", "ON"]), OK);
        assert_reply(
            &mut reader,
            &cmd(&["LRANGE", "list2", "0", "-1"]),
            b"*1\r\n$1\r\na\r\n",
        );
        reader
            .write_all(&cmd(&["BLMOVE", "list1", "list2", "LEFT", "LEFT", "0"]))
            .expect("write");
        // Bounded wait until the server counts the client as blocked.
        let mut blocked = false;
        for _ in 0..500 {
            writer.write_all(&cmd(&["INFO", "clients"])).expect("write");
            let info = read_until_quiet(&mut writer, Duration::from_millis(20));
            if String::from_utf8_lossy(&info).contains("blocked_clients:1") {
                blocked = true;
                break;
            }
        }
        assert!(blocked, "BLMOVE never blocked");
        // Serving the BLMOVE changes list2, which the reader tracks: the
        // move's reply comes first, then the invalidation (as Redis does).
        assert_reply(&mut writer, &cmd(&["RPUSH", "list1", "foo"]), b":1\r\n");
        reader
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut expected = b"$3\r\nfoo\r\n".to_vec();
        expected.extend(push(&["list2"]));
        assert_eq!(
            String::from_utf8_lossy(&read_n(&mut reader, expected.len())),
            String::from_utf8_lossy(&expected)
        );
    });
}
