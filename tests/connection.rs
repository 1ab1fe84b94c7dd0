//! Connection and CLIENT commands over real TCP: PING, ECHO, SELECT, HELLO,
//! AUTH, RESET and CLIENT ..., byte for byte and against a real Redis.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};

use common::*;

const HELLO3: &[u8] = b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Replaces the value after `id` in a HELLO reply, which differs between
/// servers.
fn without_client_id(reply: &[u8]) -> String {
    let reply = text(reply);
    match reply.split_once("$2\r\nid\r\n:") {
        Some((head, tail)) => {
            let rest = tail.split_once("\r\n").map_or("", |(_, r)| r);
            format!("{head}$2\r\nid\r\n:N\r\n{rest}")
        }
        None => reply,
    }
}

/// Asserts respd and a real Redis (both configured with `config`, a list of
/// CONFIG SET pairs) answer `request` after `setup` alike, client ids aside.
fn same_as_redis_with(config: &[&str], setup: &[&[u8]], request: &[u8]) {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    for addr in [server.local_addr(), real.addr] {
        if !config.is_empty() {
            let mut args = vec!["CONFIG", "SET"];
            args.extend_from_slice(config);
            let mut s = raw(addr);
            assert_reply(&mut s, &cmd(&args), b"+OK\r\n");
        }
    }
    let (mine, theirs) = both(server.local_addr(), real.addr, setup, request);
    assert_eq!(
        without_client_id(&mine),
        without_client_id(&theirs),
        "request {:?}",
        text(request)
    );
}

fn same_as_redis(setup: &[&[u8]], request: &[u8]) {
    same_as_redis_with(&[], setup, request);
}

/// Sends one command on an open connection and returns the reply, read
/// until the server goes quiet.
fn roundtrip(s: &mut TcpStream, request: &[u8]) -> String {
    s.write_all(request).unwrap();
    text(&common::read_until_quiet(
        s,
        std::time::Duration::from_millis(300),
    ))
}

#[test]
fn ping_echo_select_swapdb_match_redis() {
    for request in [
        cmd(&["PING"]),
        cmd(&["PING", "hi"]),
        cmd(&["PING", "a", "b"]),
        cmd(&["ECHO", "x"]),
        cmd(&["ECHO"]),
        cmd(&["SELECT", "16"]),
        cmd(&["SELECT", "-1"]),
        cmd(&["SELECT", "x"]),
        cmd(&["SELECT", "3"]),
        cmd(&["SWAPDB", "x", "1"]),
        cmd(&["SWAPDB", "0", "x"]),
        cmd(&["SWAPDB", "0", "99"]),
        cmd(&["SWAPDB", "0", "1"]),
        cmd(&["QUIT", "extra"]),
    ] {
        same_as_redis(&[], &request);
        same_as_redis(&[HELLO3], &request);
    }
}

#[test]
fn hello_matches_redis() {
    for request in [
        cmd(&["HELLO"]),
        cmd(&["HELLO", "2"]),
        cmd(&["HELLO", "3"]),
        cmd(&["HELLO", "4"]),
        cmd(&["HELLO", "x"]),
        cmd(&["HELLO", "3", "AUTH"]),
        cmd(&["HELLO", "3", "AUTH", "a", "b"]),
        cmd(&["HELLO", "3", "AUTH", "default", "anything"]),
        cmd(&["HELLO", "3", "SETNAME", "a b"]),
        cmd(&["HELLO", "3", "AUTH", "nobody", "x", "SETNAME", "a b"]),
        cmd(&["HELLO", "2", "SETNAME", "me"]),
        cmd(&["HELLO", "3", "BOGUS"]),
        // Options take effect as they are read.
        cmd(&["HELLO", "3", "AUTH", "x", "y", "bogus"]),
        cmd(&["HELLO", "3", "AUTH", "default", "y", "SETNAME", "a b"]),
    ] {
        same_as_redis(&[], &request);
    }
    // A SETNAME before a bad option still names the client, as in Redis.
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let script = [
        cmd(&["HELLO", "3", "SETNAME", "early", "bogus"]),
        cmd(&["CLIENT", "GETNAME"]),
    ]
    .concat();
    let (ours, theirs) = both(server.local_addr(), real.addr, &[], &script);
    assert_eq!(text(&ours), text(&theirs));
    assert!(text(&ours).ends_with("$5\r\nearly\r\n"), "{}", text(&ours));
}

#[test]
fn hello_switches_protocol_and_names_the_client() {
    let server = start();
    let mut s = raw(server.local_addr());
    let reply = roundtrip(&mut s, &cmd(&["HELLO", "3", "SETNAME", "me"]));
    assert!(
        reply.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
        "{reply}"
    );
    assert_eq!(
        roundtrip(&mut s, &cmd(&["CLIENT", "GETNAME"])),
        "$2\r\nme\r\n"
    );
    assert_eq!(roundtrip(&mut s, &cmd(&["GET", "missing"])), "_\r\n");
    assert_eq!(roundtrip(&mut s, &cmd(&["RESET"])), "+RESET\r\n");
    // RESET logs back in as the default user, off for the test user.
    if let Some(auth) = common::auth_request() {
        assert_eq!(roundtrip(&mut s, &auth), "+OK\r\n");
    }
    assert_eq!(roundtrip(&mut s, &cmd(&["GET", "missing"])), "$-1\r\n");
    assert_eq!(roundtrip(&mut s, &cmd(&["CLIENT", "GETNAME"])), "$-1\r\n");
}

#[test]
fn auth_and_noauth_match_redis() {
    let password = ["requirepass", "secret"];
    for request in [
        cmd(&["PING"]),
        cmd(&["GET"]),
        cmd(&["NOSUCH"]),
        cmd(&["HELLO", "3"]),
        cmd(&["HELLO"]),
        cmd(&["AUTH", "wrong"]),
        cmd(&["AUTH", "default", "wrong"]),
        cmd(&["AUTH", "a", "b", "c"]),
        cmd(&["AUTH", "secret"]),
        cmd(&["HELLO", "2", "AUTH", "default", "secret"]),
        cmd(&["HELLO", "2", "AUTH", "default", "wrong"]),
        cmd(&["QUIT"]),
        cmd(&["RESET"]),
    ] {
        same_as_redis_with(&password, &[], &request);
    }
    same_as_redis_with(&password, &[&cmd(&["AUTH", "secret"])], &cmd(&["PING"]));
    same_as_redis_with(&password, &[&cmd(&["AUTH", "wrong"])], &cmd(&["PING"]));
    // RESET forgets the authentication.
    same_as_redis_with(
        &password,
        &[&cmd(&["AUTH", "secret"]), &cmd(&["RESET"])],
        &cmd(&["PING"]),
    );
    // Without a password.
    same_as_redis(&[], &cmd(&["AUTH", "x"]));
    same_as_redis(&[], &cmd(&["AUTH", "default", "x"]));
    same_as_redis(&[], &cmd(&["AUTH", "other", "x"]));
}

#[test]
fn requirepass_from_the_configuration() {
    if common::as_test_user() {
        eprintln!("skipped as the test user: requirepass is the default user's password");
        return;
    }
    let server = start_with("requirepass s3cret\n");
    let mut con = redis::Client::open(format!("redis://:s3cret@{}/", server.local_addr()))
        .unwrap()
        .get_connection()
        .unwrap();
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    let mut s = raw(server.local_addr());
    assert_reply(
        &mut s,
        &cmd(&["GET", "k"]),
        b"-NOAUTH Authentication required.\r\n",
    );
    assert_reply(
        &mut s,
        &cmd(&["AUTH", "nope"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    assert_reply(&mut s, &cmd(&["AUTH", "default", "s3cret"]), b"+OK\r\n");
    assert_reply(&mut s, &cmd(&["GET", "k"]), b"$-1\r\n");
}

#[test]
fn client_errors_match_redis() {
    for request in [
        cmd(&["CLIENT", "LIST", "TYPE", "foo"]),
        cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]),
        cmd(&["CLIENT", "LIST", "ID", "x"]),
        cmd(&["CLIENT", "LIST", "ID", "999999"]),
        cmd(&["CLIENT", "LIST", "foo"]),
        cmd(&["CLIENT", "LIST", "TYPE", "normal", "extra"]),
        cmd(&["CLIENT", "KILL", "1.2.3.4:5"]),
        cmd(&["CLIENT", "KILL", "ID", "999999"]),
        cmd(&["CLIENT", "KILL", "ID", "x"]),
        cmd(&["CLIENT", "KILL", "ID", "0"]),
        cmd(&["CLIENT", "KILL", "ADDR", "1.2.3.4:5"]),
        cmd(&["CLIENT", "KILL", "TYPE", "foo"]),
        cmd(&["CLIENT", "KILL", "TYPE", "master"]),
        cmd(&["CLIENT", "KILL", "USER", "nobody"]),
        cmd(&["CLIENT", "KILL", "SKIPME", "maybe"]),
        cmd(&["CLIENT", "KILL", "foo", "bar"]),
        cmd(&["CLIENT", "KILL", "ID", "1", "ADDR"]),
        cmd(&["CLIENT", "KILL"]),
        cmd(&["CLIENT", "UNBLOCK", "5"]),
        cmd(&["CLIENT", "UNBLOCK", "x"]),
        cmd(&["CLIENT", "UNBLOCK", "5", "foo"]),
        cmd(&["CLIENT", "UNBLOCK", "x", "ERROR"]),
        cmd(&["CLIENT", "REPLY", "foo"]),
        cmd(&["CLIENT", "REPLY", "ON"]),
        cmd(&["CLIENT", "NO-EVICT", "maybe"]),
        cmd(&["CLIENT", "NO-EVICT", "on"]),
        cmd(&["CLIENT", "SETNAME", "a b"]),
        cmd(&["CLIENT", "SETNAME", "ok"]),
        cmd(&["CLIENT", "GETNAME"]),
        cmd(&["CLIENT", "ID", "x"]),
        cmd(&["CLIENT", "NOSUCH"]),
        cmd(&["CLIENT"]),
        cmd(&["CLIENT", "HELP"]),
    ] {
        same_as_redis(&[], &request);
    }
}

/// The field names of a CLIENT LIST / INFO line, in order.
fn field_names(line: &str) -> Vec<String> {
    line.split_whitespace()
        .filter_map(|f| f.split_once('=').map(|(k, _)| k.to_string()))
        .collect()
}

#[test]
fn client_list_and_info_have_redis_fields_in_order() {
    let server = start();
    let mut con = redis(server.local_addr());
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("lister")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(2).query(&mut con).unwrap();
    let info: String = redis::cmd("CLIENT").arg("INFO").query(&mut con).unwrap();
    assert!(
        info.ends_with('\n') && info.lines().count() == 1,
        "{info:?}"
    );
    assert!(
        info.contains(" name=lister ") && info.contains(" db=2 "),
        "{info}"
    );
    assert!(info.contains(" cmd=client|info "), "{info}");
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut con).unwrap();
    assert!(
        info.starts_with(&format!("id={id} addr=127.0.0.1:")),
        "{info}"
    );
    let mut other = raw(server.local_addr());
    assert_reply(&mut other, &cmd(&["PING"]), b"+PONG\r\n");
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    assert_eq!(list.lines().count(), 2, "{list}");
    let only_me: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("ID")
        .arg(id)
        .query(&mut con)
        .unwrap();
    assert_eq!(only_me.lines().count(), 1);
    assert!(only_me.contains(" cmd=client|list "), "{only_me}");

    if let Some(real) = RealRedis::start() {
        let mut theirs = redis(real.addr);
        let real_info: String = redis::cmd("CLIENT").arg("INFO").query(&mut theirs).unwrap();
        assert_eq!(field_names(&info), field_names(&real_info));
    }
    // RESP3: a verbatim string.
    let mut s = raw(server.local_addr());
    let reply = roundtrip(&mut s, &[HELLO3, &cmd(&["CLIENT", "INFO"])[..]].concat());
    let verbatim = reply.split_once("*0\r\n").map_or("", |(_, r)| r);
    assert!(
        verbatim.starts_with('=') && verbatim.contains("\r\ntxt:id="),
        "{reply}"
    );
}

#[test]
fn client_kill_closes_the_victim() {
    let server = start();
    let addr: SocketAddr = server.local_addr();
    let mut killer = raw(addr);
    let mut victim = raw(addr);
    let victim_id = roundtrip(&mut victim, &cmd(&["CLIENT", "ID"]));
    let victim_id = victim_id.trim_start_matches(':').trim();
    assert_eq!(
        roundtrip(&mut killer, &cmd(&["CLIENT", "KILL", "ID", victim_id])),
        ":1\r\n"
    );
    assert!(is_closed(&mut victim));

    // The old form, by address.
    let mut second = raw(addr);
    let second_addr = second.local_addr().unwrap().to_string();
    assert_reply(&mut second, &cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(
        roundtrip(&mut killer, &cmd(&["CLIENT", "KILL", &second_addr])),
        "+OK\r\n"
    );
    assert!(is_closed(&mut second));

    // SKIPME (default yes) spares the caller; SKIPME no does not.
    let mine = killer.local_addr().unwrap().to_string();
    assert_eq!(
        roundtrip(&mut killer, &cmd(&["CLIENT", "KILL", "ADDR", &mine])),
        ":0\r\n"
    );
    assert_eq!(
        roundtrip(
            &mut killer,
            &cmd(&["CLIENT", "KILL", "ADDR", &mine, "SKIPME", "no"])
        ),
        ":1\r\n"
    );
    assert!(is_closed(&mut killer));
}

#[test]
fn client_reply_off_skip_on() {
    let server = start();
    let mut s = raw(server.local_addr());
    let script = [
        cmd(&["CLIENT", "REPLY", "SKIP"]),
        cmd(&["ECHO", "skipped"]),
        cmd(&["ECHO", "one"]),
        cmd(&["CLIENT", "REPLY", "OFF"]),
        cmd(&["ECHO", "silent"]),
        cmd(&["CLIENT", "REPLY", "SKIP"]),
        cmd(&["ECHO", "still silent"]),
        cmd(&["CLIENT", "REPLY", "ON"]),
        cmd(&["ECHO", "two"]),
    ]
    .concat();
    assert_reply(&mut s, &script, b"$3\r\none\r\n+OK\r\n$3\r\ntwo\r\n");
}

#[test]
fn client_no_evict_and_the_subcommands_7_0_lacks() {
    let server = start();
    let mut s = raw(server.local_addr());
    // SETINFO and NO-TOUCH came with Redis 7.2: 7.0 knows neither.
    assert_reply(
        &mut s,
        &cmd(&["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]),
        b"-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.\r\n",
    );
    assert_reply(
        &mut s,
        &cmd(&["CLIENT", "NO-TOUCH", "ON"]),
        b"-ERR unknown subcommand 'NO-TOUCH'. Try CLIENT HELP.\r\n",
    );
    assert_reply(&mut s, &cmd(&["CLIENT", "NO-EVICT", "on"]), b"+OK\r\n");
    assert_reply(
        &mut s,
        &cmd(&["CLIENT", "NO-EVICT", "x"]),
        b"-ERR syntax error\r\n",
    );
    let info = roundtrip(&mut s, &cmd(&["CLIENT", "INFO"]));
    assert!(info.contains(" flags=e "), "{info}");
    assert_reply(
        &mut s,
        &cmd(&["CLIENT", "UNBLOCK", "1", "TIMEOUT"]),
        b":0\r\n",
    );
}
