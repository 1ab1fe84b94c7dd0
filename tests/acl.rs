//! Users and permissions (ACL) compared with a real redis-server 7.0:
//! every ACL subcommand and its errors, GETUSER and LIST for rules in every
//! form, -NOPERM for commands, keys and channels (at the top level, queued
//! in MULTI, rechecked at EXEC, in scripts), AUTH and HELLO AUTH, ACL LOG
//! entries (variable fields compared by shape), in RESP2 and RESP3.

mod common;

use common::RealRedis;
use redis::Value;
use respd::resp::Frame;
use respd::Client;
use std::net::SocketAddr;
use std::time::Duration;

use common::script::client;

/// Rule strings list single commands in Redis's hash-table order, which
/// changes from run to run: those tokens (always last) are sorted.
fn sort_single_commands(text: &str) -> String {
    let mut tokens: Vec<&str> = text.split(' ').collect();
    let singles: Vec<usize> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            (t.starts_with('+') || t.starts_with('-')) && !t[1..].starts_with('@') && t.len() > 1
        })
        .map(|(i, _)| i)
        .collect();
    let mut sorted: Vec<&str> = singles.iter().map(|&i| tokens[i]).collect();
    sorted.sort_unstable();
    for (slot, token) in singles.into_iter().zip(sorted) {
        tokens[slot] = token;
    }
    tokens.join(" ")
}

/// A frame with what legitimately differs between two servers replaced:
/// rule strings' single commands sorted; ACL LOG's age and client-info
/// reduced to their shape (client-info keeps its field names and user=).
fn normalize(frame: Frame) -> Frame {
    match frame {
        Frame::Bulk(bytes) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if text.starts_with("id=") && text.contains(" addr=") {
                let shape: Vec<String> = text
                    .split(' ')
                    .map(|field| match field.split_once('=') {
                        Some(("user", _)) => field.to_string(),
                        Some((name, _)) => format!("{name}="),
                        None => field.to_string(),
                    })
                    .collect();
                Frame::Bulk(shape.join(" ").into_bytes())
            } else {
                Frame::Bulk(sort_single_commands(&text).into_bytes())
            }
        }
        Frame::Array(items) => Frame::Array(items.into_iter().map(normalize).collect()),
        Frame::Set(items) => Frame::Set(items.into_iter().map(normalize).collect()),
        Frame::Map(pairs) => Frame::Map(
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let age = matches!(&k, Frame::Bulk(b) if b == b"age-seconds" || b == b"id");
                    let v = if age { Frame::Null } else { normalize(v) };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// RESP2 maps arrive as flat arrays: ACL LOG's age is the value after
/// `age-seconds` there.
fn blank_resp2_ages(frame: Frame) -> Frame {
    match frame {
        Frame::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut blank_next = false;
            for item in items {
                if blank_next {
                    out.push(Frame::Null);
                    blank_next = false;
                    continue;
                }
                blank_next = matches!(&item, Frame::Bulk(b) if b == b"age-seconds" || b == b"id");
                out.push(blank_resp2_ages(item));
            }
            Frame::Array(out)
        }
        other => other,
    }
}

/// A frame as short text, for failure messages.
fn show(frame: &Frame) -> String {
    match frame {
        Frame::Bulk(b) => format!("{:?}", String::from_utf8_lossy(b)),
        Frame::Array(items) | Frame::Set(items) => {
            format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(" "))
        }
        Frame::Map(pairs) => format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", show(k), show(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

struct Pair {
    respd: Client,
    redis: Client,
    cases: usize,
}

impl Pair {
    fn new(respd: SocketAddr, redis: SocketAddr, protocol: u8) -> Pair {
        Pair {
            respd: client(respd, protocol),
            redis: client(redis, protocol),
            cases: 0,
        }
    }

    /// Sends `args` to both and checks the replies agree.
    fn same(&mut self, args: &[&str]) -> Frame {
        let ours = self.respd.command(args).expect("respd reply");
        let theirs = self.redis.command(args).expect("redis reply");
        let ours = normalize(blank_resp2_ages(ours));
        let theirs = normalize(blank_resp2_ages(theirs));
        assert!(
            ours == theirs,
            "{args:?}\n respd: {}\n redis: {}",
            show(&ours),
            show(&theirs)
        );
        self.cases += 1;
        ours
    }

    /// Both sides' connections close after `args` (or right away).
    fn both_closed(&mut self, args: &[&str]) {
        for client in [&mut self.respd, &mut self.redis] {
            let _ = client.send(args);
            assert!(
                client.read_reply().is_err(),
                "{args:?} left the connection open"
            );
        }
        self.cases += 1;
    }
}

fn servers() -> Option<(respd::ServerHandle, RealRedis)> {
    let redis = RealRedis::start()?;
    Some((common::start(), redis))
}

/// Runs `script` in RESP2 and in RESP3, each on fresh servers.
fn in_both_protocols(script: impl Fn(&mut Pair, SocketAddr, SocketAddr)) {
    let mut total = 0;
    for protocol in [2, 3] {
        let Some((respd, redis)) = servers() else {
            return;
        };
        let mut pair = Pair::new(respd.local_addr(), redis.addr, protocol);
        script(&mut pair, respd.local_addr(), redis.addr);
        total += pair.cases;
    }
    eprintln!("{total} differential cases");
}

#[test]
fn getuser_and_list_for_rules_in_every_form() {
    in_both_protocols(|p, _, _| {
        p.same(&["ACL", "GETUSER", "default"]);
        p.same(&["ACL", "GETUSER", "nobody"]);
        let rule_sets: &[&[&str]] = &[
            &[],
            &["on"],
            &["on", ">secret", ">other", "<other"],
            &["#ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
            &["!ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
            &["nopass"],
            &["resetpass"],
            &["~foo*", "%R~bar", "%W~baz", "%RW~qux", "~foo*"],
            &["%R~same", "%W~same"],
            &["resetkeys", "allkeys"],
            &["&news.*", "&alerts", "resetchannels", "&only"],
            &["allchannels"],
            &["+get", "+set", "+@hash", "-hset"],
            &["+@all", "-@dangerous", "-flushall"],
            &["allcommands", "-@write", "+set"],
            &["nocommands", "+client|list", "+config|get", "+select|0"],
            &["-@all", "+@read", "+@write", "-@admin"],
            &["+client", "-client|kill"],
            &["skip-sanitize-payload"],
            &["sanitize-payload"],
            &["(~sel* +get)", "(%R~r* &c +@read)"],
            &["(~a", "+set", "~b)"],
            &["clearselectors"],
            &["reset"],
            &["off", "+@all", "~*", "&*"],
        ];
        for (i, rules) in rule_sets.iter().enumerate() {
            let name = format!("user{i}");
            let mut setuser = vec!["ACL", "SETUSER", name.as_str()];
            setuser.extend_from_slice(rules);
            p.same(&setuser);
            p.same(&["ACL", "GETUSER", &name]);
            // The same user, built up rule after rule.
            let mut again = vec!["ACL", "SETUSER", "cumulative"];
            again.extend_from_slice(rules);
            p.same(&again);
            p.same(&["ACL", "GETUSER", "cumulative"]);
        }
        p.same(&["ACL", "LIST"]);
        p.same(&["ACL", "USERS"]);
        p.same(&["ACL", "WHOAMI"]);
        p.same(&["ACL", "DELUSER", "user1", "user2", "nobody"]);
        p.same(&["ACL", "USERS"]);
    });
}

#[test]
fn acl_errors() {
    in_both_protocols(|p, _, _| {
        for rules in [
            &["+nosuch"][..],
            &["+@nosuch"],
            &["-@nosuch"],
            &["foo"],
            &["%X~a"],
            &["%~a"],
            &["allkeys", "~a"],
            &["allchannels", "&a"],
            &["<notthere"],
            &["#abc"],
            &["!ABC"],
            &["+config|get|x"],
            &["+client|list|x"],
            &["+get|"],
            &["(~a", "+get"],
            &["(+nosuch)"],
            &["on", "+get", "+nosuch"],
        ] {
            let mut setuser = vec!["ACL", "SETUSER", "bad"];
            setuser.extend_from_slice(rules);
            p.same(&setuser);
        }
        // A refused SETUSER changes nothing.
        p.same(&["ACL", "GETUSER", "bad"]);
        p.same(&["ACL", "SETUSER", "a b"]);
        p.same(&["ACL", "SETUSER"]);
        p.same(&["ACL", "GETUSER"]);
        p.same(&["ACL", "DELUSER", "default"]);
        p.same(&["ACL", "DELUSER", "nobody", "default"]);
        p.same(&["ACL", "CAT"]);
        p.same(&["ACL", "CAT", "nosuch"]);
        p.same(&["ACL", "CAT", "a", "b"]);
        p.same(&["ACL", "GENPASS", "0"]);
        p.same(&["ACL", "GENPASS", "4097"]);
        p.same(&["ACL", "GENPASS", "abc"]);
        p.same(&["ACL", "GENPASS", "1", "2"]);
        p.same(&["ACL", "LOG", "abc"]);
        p.same(&["ACL", "LOG", "1", "2"]);
        p.same(&["ACL", "LOG", "-5"]);
        p.same(&["ACL", "LOG", "RESET"]);
        p.same(&["ACL", "HELP"]);
        p.same(&["ACL", "SAVE"]);
        p.same(&["ACL", "LOAD"]);
        p.same(&["ACL", "NOSUCH"]);
        p.same(&["ACL"]);
        p.same(&["ACL", "WHOAMI", "x"]);
        p.same(&["ACL", "DRYRUN", "nobody", "get", "a"]);
        p.same(&["ACL", "DRYRUN", "default", "nosuch"]);
        p.same(&["ACL", "DRYRUN", "default", "get"]);
        p.same(&["ACL", "DRYRUN", "default", "get", "a"]);
        p.same(&[
            "ACL",
            "SETUSER",
            "dry",
            "on",
            "~k*",
            "&c*",
            "+get",
            "+publish",
            "+client|id",
        ]);
        p.same(&["ACL", "DRYRUN", "dry", "get", "k1"]);
        p.same(&["ACL", "DRYRUN", "dry", "get", "z"]);
        p.same(&["ACL", "DRYRUN", "dry", "set", "k1", "v"]);
        p.same(&["ACL", "DRYRUN", "dry", "publish", "c1", "m"]);
        p.same(&["ACL", "DRYRUN", "dry", "publish", "z", "m"]);
        p.same(&["ACL", "DRYRUN", "dry", "client", "id"]);
        p.same(&["ACL", "DRYRUN", "dry", "client", "list"]);
    });
}

#[test]
fn genpass_lengths_and_cat_contents() {
    let Some((respd, _redis)) = servers() else {
        return;
    };
    let mut c = client(respd.local_addr(), 2);
    for (bits, chars) in [
        (None, 64),
        (Some("1"), 1),
        (Some("5"), 2),
        (Some("4096"), 1024),
    ] {
        let mut args = vec!["ACL", "GENPASS"];
        args.extend(bits);
        match c.command(&args).expect("reply") {
            Frame::Bulk(pass) => {
                assert_eq!(pass.len(), chars, "{args:?}");
                assert!(pass.iter().all(u8::is_ascii_hexdigit));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn cat_lists_the_categories_commands() {
    let Some((respd, redis)) = servers() else {
        return;
    };
    let mut ours = client(respd.local_addr(), 2);
    let mut theirs = client(redis.addr, 2);
    let categories = match theirs.command(&["ACL", "CAT"]).expect("cat") {
        Frame::Array(items) => items,
        other => panic!("{other:?}"),
    };
    for category in categories {
        let Frame::Bulk(name) = category else {
            panic!()
        };
        let sorted = |client: &mut Client| -> Vec<Frame> {
            let args: [&[u8]; 3] = [b"ACL", b"CAT", &name];
            match client.command(&args).expect("cat") {
                Frame::Array(mut items) => {
                    items.sort_by_key(|f| format!("{f:?}"));
                    items
                }
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(sorted(&mut ours), sorted(&mut theirs), "{name:?}");
    }
}

#[test]
fn noperm_for_commands_keys_and_channels() {
    in_both_protocols(|p, respd, redis| {
        p.same(&[
            "ACL",
            "SETUSER",
            "app",
            "on",
            ">pw",
            "~k*",
            "%R~ro*",
            "%W~wo*",
            "&c*",
            "+get",
            "+set",
            "+publish",
            "+subscribe",
            "+psubscribe",
            "+multi",
            "+exec",
            "+discard",
            "+ping",
            "+client|id",
            "+acl|whoami",
            "+copy",
        ]);
        p.same(&["AUTH", "app", "pw"]);
        p.same(&["ACL", "WHOAMI"]);
        p.same(&["GET", "k1"]);
        p.same(&["SET", "k1", "v"]);
        p.same(&["GET", "z"]);
        p.same(&["SET", "z", "v"]);
        p.same(&["GET", "ro1"]);
        p.same(&["SET", "ro1", "v"]);
        p.same(&["GET", "wo1"]);
        p.same(&["SET", "wo1", "v"]);
        p.same(&["COPY", "k1", "wo2"]);
        p.same(&["COPY", "k1", "ro2"]);
        p.same(&["HSET", "k1", "f", "v"]);
        p.same(&["CLIENT", "ID", "extra"]);
        p.same(&["CLIENT", "LIST"]);
        p.same(&["CONFIG", "GET", "port"]);
        p.same(&["PUBLISH", "c1", "m"]);
        p.same(&["PUBLISH", "z", "m"]);
        p.same(&["NOSUCH"]);
        p.same(&["GET"]);
        // Inside MULTI: refused at queue time (the transaction is doomed).
        p.same(&["MULTI"]);
        p.same(&["GET", "z"]);
        p.same(&["HGET", "k1", "f"]);
        p.same(&["GET", "k1"]);
        p.same(&["EXEC"]);
        p.same(&["MULTI"]);
        p.same(&["GET", "k1"]);
        p.same(&["EXEC"]);
        p.same(&["SUBSCRIBE", "c1", "z"]);
        p.same(&["PSUBSCRIBE", "c*"]);
        p.same(&["PSUBSCRIBE", "c1*"]);
        // Rules changed between MULTI and EXEC.
        let mut admin = Pair::new(respd, redis, 2);
        let _ = admin;
        admin = Pair::new(respd, redis, 2);
        let mut q = Pair::new(respd, redis, 2);
        q.same(&["AUTH", "app", "pw"]);
        q.same(&["MULTI"]);
        q.same(&["GET", "k1"]);
        q.same(&["SET", "k2", "v"]);
        q.same(&["PING"]);
        admin.same(&["ACL", "SETUSER", "app", "-get", "resetkeys", "~k1"]);
        q.same(&["EXEC"]);
        admin.same(&["ACL", "LOG"]);
        admin.same(&["ACL", "LOG", "2"]);
        admin.same(&["ACL", "LOG", "RESET"]);
        admin.same(&["ACL", "LOG"]);
        p.cases += admin.cases + q.cases;
    });
}

#[test]
fn auth_hello_and_the_default_users_password() {
    in_both_protocols(|p, respd, redis| {
        p.same(&["AUTH", "pw"]);
        p.same(&["AUTH", "a", "b", "c"]);
        p.same(&["AUTH", "nobody", "pw"]);
        p.same(&["ACL", "SETUSER", "app", "on", ">pw", "+@all", "~*"]);
        p.same(&["ACL", "SETUSER", "shut", "off", ">pw", "+@all"]);
        p.same(&["ACL", "SETUSER", "open", "on", "nopass", "+acl|whoami"]);
        p.same(&["AUTH", "app", "wrong"]);
        p.same(&["AUTH", "shut", "pw"]);
        p.same(&["AUTH", "open", "anything"]);
        p.same(&["ACL", "WHOAMI"]);
        p.same(&["HELLO", "2", "AUTH", "app", "wrong"]);
        p.same(&["HELLO", "2", "AUTH", "app"]);
        p.same(&["ACL", "WHOAMI"]);
        p.same(&["AUTH", "app", "pw"]);
        p.same(&["ACL", "WHOAMI"]);
        p.same(&["ACL", "LOG"]);
        p.same(&["CONFIG", "SET", "requirepass", "s3cret"]);
        p.same(&["ACL", "GETUSER", "default"]);
        let mut fresh = Pair::new(respd, redis, 2);
        fresh.same(&["PING"]);
        fresh.same(&["AUTH", "wrong"]);
        fresh.same(&["AUTH", "s3cret"]);
        fresh.same(&["ACL", "WHOAMI"]);
        let mut hello = Pair::new(respd, redis, 2);
        hello.same(&["HELLO", "3"]);
        hello.same(&["HELLO", "3", "AUTH", "default", "s3cret"]);
        hello.same(&["ACL", "WHOAMI"]);
        hello.same(&["RESET"]);
        hello.same(&["PING"]);
        p.same(&["CONFIG", "SET", "requirepass", ""]);
        p.same(&["ACL", "GETUSER", "default"]);
        p.same(&["AUTH", "x"]);
        p.same(&["ACL", "SETUSER", "default", ">viaacl"]);
        let mut later = Pair::new(respd, redis, 2);
        later.same(&["PING"]);
        later.same(&["AUTH", "viaacl"]);
        later.same(&["PING"]);
        p.same(&["ACL", "SETUSER", "default", "nopass"]);
        p.cases += fresh.cases + hello.cases + later.cases;
    });
}

#[test]
fn a_deleted_users_clients_are_disconnected() {
    in_both_protocols(|p, respd, redis| {
        p.same(&["ACL", "SETUSER", "gone", "on", ">pw", "+@all", "~*"]);
        let mut victim = Pair::new(respd, redis, 2);
        victim.same(&["AUTH", "gone", "pw"]);
        victim.same(&["PING"]);
        let mut bystander = Pair::new(respd, redis, 2);
        p.same(&["ACL", "DELUSER", "gone"]);
        victim.both_closed(&["PING"]);
        bystander.same(&["PING"]);
        // Deleting the user one is logged in as closes after the reply.
        p.same(&["ACL", "SETUSER", "self", "on", ">pw", "+@all", "~*"]);
        let mut own = Pair::new(respd, redis, 2);
        own.same(&["AUTH", "self", "pw"]);
        own.same(&["ACL", "DELUSER", "self"]);
        own.both_closed(&["PING"]);
        p.cases += victim.cases + bystander.cases + own.cases;
    });
}

#[cfg(feature = "scripting")]
#[test]
fn scripts_run_with_the_callers_permissions() {
    in_both_protocols(|p, _, _| {
        p.same(&[
            "ACL", "SETUSER", "lua", "on", ">pw", "~k*", "+get", "+eval", "+acl|log",
        ]);
        p.same(&["AUTH", "lua", "pw"]);
        p.same(&["EVAL", "return redis.call('get','k1')", "0"]);
        p.same(&["EVAL", "return redis.call('get','z')", "0"]);
        p.same(&["EVAL", "return redis.call('hset','k1','f','v')", "0"]);
        p.same(&["EVAL", "return redis.pcall('get','z')", "0"]);
        p.same(&["EVAL", "return redis.pcall('hset','k1','f','v')", "0"]);
        p.same(&["ACL", "LOG"]);
    });
}

fn bulk_text(frame: Frame) -> String {
    match frame {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("{other:?}"),
    }
}

fn list_lines(c: &mut Client) -> Vec<String> {
    match c.command(&["ACL", "LIST"]).expect("list") {
        Frame::Array(items) => items.into_iter().map(bulk_text).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn user_lines_in_the_config_file() {
    if common::as_test_user() {
        eprintln!(
            "skipped as the test user: its subject is requirepass and the default user's line"
        );
        return;
    }
    let server = common::start_with(
        "requirepass topsecret\nuser alice on >pw ~app:* +@read\nuser bob off nopass\n",
    );
    let mut c = client(server.local_addr(), 2);
    assert_eq!(
        c.command(&["PING"]).expect("ping"),
        Frame::Error("NOAUTH Authentication required.".into())
    );
    assert_eq!(
        c.command(&["AUTH", "alice", "pw"]).expect("auth"),
        Frame::Simple("OK".into())
    );
    assert_eq!(
        c.command(&["SET", "app:1", "v"]).expect("set"),
        Frame::Error("NOPERM this user has no permissions to run the 'set' command".into())
    );
    assert_eq!(
        c.command(&["AUTH", "topsecret"]).expect("auth"),
        Frame::Simple("OK".into())
    );
    let lines = list_lines(&mut c);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("user alice on #"), "{lines:?}");
    assert!(
        lines[0].ends_with(" ~app:* resetchannels -@all +@read"),
        "{lines:?}"
    );
    assert_eq!(lines[1], "user bob off nopass resetchannels -@all");
    assert_eq!(
        lines[2],
        format!(
            "user default on #{} ~* &* +@all",
            respd::acl::sha256::sha256_hex(b"topsecret")
        )
    );
    // A bad rule stops the configuration from loading.
    let mut config = respd::Config::default();
    let error = config.load("user carol +nosuch\n").expect_err("bad rule");
    assert!(
        error
            .to_string()
            .contains("Unknown command or category name in ACL"),
        "{error}"
    );
}

#[test]
fn acl_save_and_load_with_an_aclfile() {
    let dir = common::process::temp_dir("acl", "aclfile");
    let path = dir.join("users.acl");
    // As the test user, the file holds it too (not the config: Redis
    // refuses users in both places).
    let tester = common::test_user_acl_line();
    std::fs::write(&path, format!("user alice on >pw ~* +get\n{tester}")).expect("write");
    let mut config = respd::Config::default();
    config
        .load(&format!("aclfile {}\n", path.display()))
        .expect("config");
    let server = respd::Server::bind_with("127.0.0.1:0", config)
        .expect("bind")
        .spawn();
    let mut c = client(server.local_addr(), 2);
    let lines = list_lines(&mut c);
    let test_users = usize::from(common::as_test_user());
    assert_eq!(lines.len(), 2 + test_users, "{lines:?}");
    assert!(lines[0].starts_with("user alice on #"), "{lines:?}");
    assert_eq!(lines[1], "user default on nopass ~* &* +@all");
    let ok = Frame::Simple("OK".into());
    assert_eq!(
        c.command(&["ACL", "SETUSER", "bob", "on", "nopass", "+@all", "~*"])
            .expect("setuser"),
        ok
    );
    assert_eq!(c.command(&["ACL", "SAVE"]).expect("save"), ok);
    let saved = std::fs::read_to_string(&path).expect("read");
    assert_eq!(saved, lines_after(&mut c));
    // An edited file is loaded whole; a bad one changes nothing.
    std::fs::write(&path, format!("user carol on nopass +@all ~*\n{tester}")).expect("write");
    assert_eq!(c.command(&["ACL", "LOAD"]).expect("load"), ok);
    if common::as_test_user() {
        // A load replaces the users, closing their clients (as Redis).
        c = client(server.local_addr(), 2);
    }
    let mut users = vec![
        Frame::Bulk(b"carol".to_vec()),
        Frame::Bulk(b"default".to_vec()),
    ];
    if common::as_test_user() {
        users.push(Frame::Bulk(common::TEST_USER.0.as_bytes().to_vec()));
    }
    assert_eq!(
        c.command(&["ACL", "USERS"]).expect("users"),
        Frame::Array(users.clone())
    );
    std::fs::write(&path, format!("user dave on +nosuch\n{tester}")).expect("write");
    assert!(matches!(
        c.command(&["ACL", "LOAD"]).expect("load"),
        Frame::Error(_)
    ));
    assert_eq!(
        c.command(&["ACL", "USERS"]).expect("users"),
        Frame::Array(users)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn lines_after(c: &mut Client) -> String {
    list_lines(c).into_iter().map(|line| line + "\n").collect()
}

#[test]
fn selectors_grant_what_the_root_does_not() {
    in_both_protocols(|p, _, _| {
        p.same(&[
            "ACL",
            "SETUSER",
            "sel",
            "on",
            "nopass",
            "~root*",
            "+get",
            "(~w* +set)",
            "(%R~r* +@read &news)",
        ]);
        p.same(&["ACL", "GETUSER", "sel"]);
        for call in [
            &["get", "root1"][..],
            &["get", "w1"],
            &["set", "w1", "v"],
            &["set", "root1", "v"],
            &["get", "r1"],
            &["hget", "r1", "f"],
            &["hset", "r1", "f", "v"],
            &["mget", "root1", "r1", "w1"],
            &["publish", "news", "m"],
            &["subscribe", "news"],
            &["lpush", "w1", "a"],
        ] {
            let mut args = vec!["ACL", "DRYRUN", "sel"];
            args.extend_from_slice(call);
            p.same(&args);
        }
        p.same(&["ACL", "SETUSER", "sel", "clearselectors"]);
        p.same(&["ACL", "DRYRUN", "sel", "set", "w1", "v"]);
        p.same(&["ACL", "LIST"]);
        // The log keeps acllog-max-len entries.
        p.same(&["CONFIG", "SET", "acllog-max-len", "2"]);
        p.same(&["ACL", "SETUSER", "tiny", "on", "nopass"]);
        p.same(&["AUTH", "tiny", "x"]);
        p.same(&["GET", "a"]);
        p.same(&["SET", "a", "b"]);
        p.same(&["DEL", "a"]);
        p.same(&["AUTH", "default", "x"]);
        p.same(&["ACL", "LOG"]);
        p.same(&["ACL", "LOG", "0"]);
    });
}

#[test]
fn subscribers_losing_their_channels_are_disconnected() {
    in_both_protocols(|p, respd, redis| {
        p.same(&[
            "ACL", "SETUSER", "sub", "on", "nopass", "+@all", "&news*", "&alerts",
        ]);
        let mut keeps = Pair::new(respd, redis, 2);
        keeps.same(&["AUTH", "sub", "x"]);
        keeps.same(&["SUBSCRIBE", "alerts"]);
        let mut loses = Pair::new(respd, redis, 2);
        loses.same(&["AUTH", "sub", "x"]);
        loses.same(&["PSUBSCRIBE", "news*"]);
        let mut default_user = Pair::new(respd, redis, 2);
        default_user.same(&["PSUBSCRIBE", "news*"]);
        p.same(&["ACL", "SETUSER", "sub", "resetchannels", "&alerts"]);
        loses.both_closed(&["PING"]);
        keeps.same(&["PING"]);
        default_user.same(&["PING"]);
        p.cases += keeps.cases + loses.cases + default_user.cases;
    });
}

/// The programs to compare: respd, and redis-server when installed.
fn programs() -> Vec<&'static str> {
    let mut programs = vec![env!("CARGO_BIN_EXE_respd")];
    if common::process::installed("redis-server") {
        programs.push("redis-server");
    }
    programs
}

/// `program`'s output and success when started with `args` (it must stop
/// by itself: a server that starts is killed and counts as success).
fn start_outcome(program: &str, args: &[&str]) -> (bool, String) {
    let port = common::process::free_port().to_string();
    let mut child = std::process::Command::new(program)
        .args(args)
        .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let output = child.wait_with_output().expect("output");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            return (status.success(), text);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (true, String::new());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `program` as `common::process::spawn` does, but without the
/// test user's arguments: a server with an aclfile refuses users on its
/// command line, so there the test user comes from the file.
fn spawn_with_aclfile(program: &str, args: &[&str]) -> common::process::Process {
    let port = common::process::free_port();
    let child = std::process::Command::new(program)
        .args(args)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let server = common::process::Process {
        child,
        addr: ([127, 0, 0, 1], port).into(),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pong = redis::Client::open(common::url(server.addr))
            .and_then(|client| client.get_connection())
            .and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn));
        if pong.is_ok() {
            return server;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{program} did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_bad_aclfile_stops_the_server_with_redis_message() {
    let dir = common::process::temp_dir("acl", "badfile");
    let path = dir.join("users.acl");
    let path_text = path.display().to_string();
    let conf = dir.join("both.conf");
    std::fs::write(&path, "user alice on >pw ~* +get\nuser bob bogus\n").expect("write");
    std::fs::write(&conf, format!("aclfile {path_text}\nuser carol on\n")).expect("write");
    let missing = dir.join("missing.acl").display().to_string();
    let dir_text = dir.display().to_string();
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--dir", &dir_text, "--aclfile", &path_text],
            format!("Aborting Redis startup because of ACL errors: {path_text}:2: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"),
        ),
        (
            vec!["--dir", &dir_text, "--aclfile", &missing],
            format!("Aborting Redis startup because of ACL errors: Error loading ACLs, opening file '{missing}': No such file or directory"),
        ),
        (
            vec![conf.to_str().expect("path"), "--dir", &dir_text],
            "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid.".to_string(),
        ),
    ];
    for program in programs() {
        for (args, message) in &cases {
            let (success, output) = start_outcome(program, args);
            assert!(!success, "{program} {args:?} started");
            assert!(
                output.contains(message.as_str()),
                "{program} {args:?}: {output}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn acl_load_reports_every_bad_line_as_redis() {
    let dir = common::process::temp_dir("acl", "loaderrors");
    let path = dir.join("users.acl");
    let path_text = path.display().to_string();
    // As the test user, every file ends with its line (line numbers of
    // the errors stay the same).
    let tester = common::test_user_acl_line();
    std::fs::write(
        &path,
        format!("user default on nopass ~* &* +@all\n{tester}"),
    )
    .expect("write");
    let dir_text = dir.to_str().expect("dir");
    let mut servers: Vec<common::process::Process> = vec![spawn_with_aclfile(
        env!("CARGO_BIN_EXE_respd"),
        &["--dir", dir_text, "--aclfile", &path_text, "--save", ""],
    )];
    if common::process::installed("redis-server") {
        servers.push(spawn_with_aclfile(
            "redis-server",
            &[
                "--dir",
                dir.to_str().expect("dir"),
                "--aclfile",
                &path_text,
                "--save",
                "",
            ],
        ));
    }
    let files = [
        "user default on nopass ~* &* +@all\nuser bob bogus\n",
        "# a comment\nuser alice on\n",
        "user a on +nosuch -alsonot\nuser b on >x <y\nuser a off\n",
        // (An unmatched parenthesis crashes redis-server 7.0.15.)
        "user d on bogus1 bogus2\n",
        "\n  user e on  nopass\t\n\nuser e off\n",
        "user f on %X~k ~k allkeys ~j\nuser g on #abc\n",
    ];
    let mut cases = 0;
    for text in files {
        std::fs::write(&path, format!("{text}{tester}")).expect("write");
        let replies: Vec<String> = servers
            .iter()
            .map(|server| {
                let mut conn = server.conn();
                match redis::cmd("ACL")
                    .arg("LOAD")
                    .query::<redis::Value>(&mut conn)
                {
                    Ok(value) => format!("{value:?}"),
                    Err(err) => format!(
                        "{} {}",
                        err.code().unwrap_or(""),
                        err.detail().unwrap_or("")
                    ),
                }
            })
            .collect();
        if let [respd, redis] = replies.as_slice() {
            assert_eq!(respd, redis, "{text:?}");
            cases += 1;
        }
    }
    // The file gone.
    std::fs::remove_file(&path).expect("remove");
    let replies: Vec<String> = servers
        .iter()
        .map(|server| common::process::run_err(&mut server.conn(), &["ACL", "LOAD"]))
        .collect();
    assert!(
        replies[0].contains("No such file or directory'")
            || replies[0].ends_with("No such file or directory"),
        "{replies:?}"
    );
    if let [respd, redis] = replies.as_slice() {
        assert_eq!(respd, redis);
        cases += 1;
    }
    eprintln!("{cases} differential cases");
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_rewrite_writes_the_users_as_redis() {
    let mut cases = 0;
    let mut rewritten: Vec<Vec<String>> = Vec::new();
    for program in programs() {
        let dir = common::process::temp_dir("acl", &format!("rewrite-{}", rewritten.len()));
        let conf = dir.join("r.conf");
        std::fs::write(
            &conf,
            "user alice on >pw ~k* +get\n# between\nuser bob off\n",
        )
        .expect("write");
        let server = common::process::spawn(
            program,
            &[
                conf.to_str().expect("conf"),
                "--dir",
                dir.to_str().expect("dir"),
                "--save",
                "",
            ],
        );
        let mut conn = server.conn();
        for args in [
            vec![
                "ACL",
                "SETUSER",
                "carol",
                "on",
                "nopass",
                "%R~r*",
                "(+set ~s*)",
                "&ch*",
            ],
            vec!["ACL", "DELUSER", "bob"],
            vec![
                "ACL",
                "SETUSER",
                "zed",
                "on",
                ">a",
                ">b",
                "-@all",
                "+client|id",
                "+@hash",
            ],
            vec!["CONFIG", "REWRITE"],
        ] {
            common::process::run(&mut conn, &args);
        }
        let text = std::fs::read_to_string(&conf).expect("read");
        // The user lines, and what stands between them.
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("user ") || l.starts_with("# between"))
            .map(str::to_string)
            .collect();
        rewritten.push(lines);
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
    // (As the test user, its line is among them.)
    let test_users = usize::from(common::as_test_user());
    assert_eq!(rewritten[0].len(), 5 + test_users, "{:?}", rewritten[0]);
    assert!(rewritten[0][0].starts_with("user alice on #"));
    if let [respd, redis] = rewritten.as_slice() {
        assert_eq!(respd, redis);
        cases += 1;
    }
    eprintln!("{cases} differential cases");
}

#[test]
fn config_rewrite_leaves_the_users_to_the_aclfile() {
    let dir = common::process::temp_dir("acl", "rewrite-aclfile");
    let conf = dir.join("r.conf");
    let acl = dir.join("users.acl");
    let tester = common::test_user_acl_line();
    std::fs::write(
        &acl,
        format!("user default on nopass ~* &* +@all\n{tester}"),
    )
    .expect("write");
    std::fs::write(&conf, format!("aclfile {}\n", acl.display())).expect("write");
    let server = spawn_with_aclfile(
        env!("CARGO_BIN_EXE_respd"),
        &[
            conf.to_str().expect("conf"),
            "--dir",
            dir.to_str().expect("dir"),
        ],
    );
    let mut conn = server.conn();
    common::process::run(&mut conn, &["ACL", "SETUSER", "dave", "on"]);
    common::process::run(&mut conn, &["CONFIG", "REWRITE"]);
    let text = std::fs::read_to_string(&conf).expect("read");
    assert!(!text.contains("user "), "{text}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reset_logs_back_in_as_the_default_user() {
    use std::io::Write as _;
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let respd = common::start();
    let mut replies = Vec::new();
    for addr in [respd.local_addr(), redis.addr] {
        let mut s = common::raw(addr);
        let mut request = common::cmd(&["ACL", "SETUSER", "user1", "on", ">secret", "+@all"]);
        request.extend(common::cmd(&["AUTH", "user1", "secret"]));
        request.extend(common::cmd(&["ACL", "WHOAMI"]));
        request.extend(common::cmd(&["RESET"]));
        request.extend(common::cmd(&["ACL", "WHOAMI"]));
        // With a password on the default user, RESET leaves the client
        // logged out.
        request.extend(common::cmd(&["ACL", "SETUSER", "default", ">pw"]));
        request.extend(common::cmd(&["AUTH", "user1", "secret"]));
        request.extend(common::cmd(&["RESET"]));
        request.extend(common::cmd(&["PING"]));
        request.extend(common::cmd(&["AUTH", "pw"]));
        request.extend(common::cmd(&["ACL", "SETUSER", "default", "nopass"]));
        s.write_all(&request).expect("write");
        replies.push(common::read_until_quiet(&mut s, Duration::from_millis(200)));
    }
    assert_eq!(
        String::from_utf8_lossy(&replies[0]),
        String::from_utf8_lossy(&replies[1])
    );
    assert!(String::from_utf8_lossy(&replies[0]).contains("-NOAUTH"));
}

/// A `user default` line describes the default user afresh: the server
/// resets it first (so `&*`, the password and `sanitize-payload` are what
/// the line says), as Redis does at start.
#[test]
fn a_default_user_line_resets_the_default_user() {
    if common::as_test_user() {
        eprintln!("skipped as the test user: it sets the default user itself");
        return;
    }
    let dir = common::process::temp_dir("acl", "default-line");
    let dir_text = dir.display().to_string();
    let args = [
        "--dir", &dir_text, "--save", "", "--user", "default", "on", "nopass", "~*", "+@all",
    ];
    let lists: Vec<Value> = programs()
        .into_iter()
        .map(|program| {
            let server = common::process::spawn(program, &args);
            common::process::run(&mut server.conn(), &["ACL", "LIST"])
        })
        .collect();
    let expected = Value::Array(vec![Value::BulkString(
        b"user default on nopass sanitize-payload ~* resetchannels +@all".to_vec(),
    )]);
    for list in lists {
        assert_eq!(list, expected);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// ACL LOAD replaces every user but the default one, and closes their
/// connections (the caller's after its reply), as Redis frees the old
/// users with their clients; the default user's connections stay.
#[test]
fn acl_load_closes_the_connections_of_the_replaced_users() {
    use std::io::Write as _;
    let dir = common::process::temp_dir("acl", "load-closes");
    let path = dir.join("users.acl");
    let path_text = path.display().to_string();
    let file = format!(
        "user alice on >pw ~* &* +@all\nuser default on nopass ~* &* +@all\n{}",
        common::test_user_acl_line()
    );
    std::fs::write(&path, &file).expect("write");
    let dir_text = dir.to_str().expect("dir");
    let args = ["--dir", dir_text, "--aclfile", &path_text, "--save", ""];
    let mut outcomes = Vec::new();
    for program in programs() {
        let server = spawn_with_aclfile(program, &args);
        let login = || {
            let mut s = common::raw_anonymous(server.addr);
            common::assert_reply(&mut s, &common::cmd(&["AUTH", "alice", "pw"]), b"+OK\r\n");
            s
        };
        let (mut caller, mut idle) = (login(), login());
        let mut default = common::raw_anonymous(server.addr);
        common::assert_reply(&mut default, &common::cmd(&["PING"]), b"+PONG\r\n");
        let mut request = common::cmd(&["ACL", "LOAD"]);
        request.extend(common::cmd(&["PING"]));
        caller.write_all(&request).expect("write");
        let reply = common::read_until_quiet(&mut caller, Duration::from_millis(300));
        let idle_closed = common::is_closed(&mut idle);
        let mut pong = common::cmd(&["PING"]);
        pong.extend(common::cmd(&["ACL", "WHOAMI"]));
        let default_reply = common::exchange(&mut default, &pong, 20);
        outcomes.push((
            String::from_utf8_lossy(&reply).into_owned(),
            idle_closed,
            default_reply,
        ));
    }
    let expected = (
        "+OK\r\n".to_string(),
        true,
        b"+PONG\r\n$7\r\ndefault\r\n".to_vec(),
    );
    for outcome in outcomes {
        assert_eq!(outcome, expected);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
