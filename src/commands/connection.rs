//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, SWAPDB, HELLO, AUTH.

use super::errors::{self, Error};
use super::flags::*;
use super::{int_arg, is, Args, CmdResult, Command, Context, ReplyMode, NO_KEYS};

pub static COMMANDS: &[Command] = &[
    Command::new("ping", -1, FAST, NO_KEYS, "connection", ping),
    Command::new(
        "echo",
        2,
        LOADING | STALE | FAST,
        NO_KEYS,
        "connection",
        echo,
    ),
    Command::new(
        "quit",
        -1,
        NO_AUTH | NOSCRIPT | STALE | LOADING | FAST | ALLOW_BUSY,
        NO_KEYS,
        "connection",
        quit,
    ),
    Command::new(
        "reset",
        1,
        NO_AUTH | STALE | LOADING | FAST | NOSCRIPT | ALLOW_BUSY,
        NO_KEYS,
        "connection",
        reset,
    ),
    Command::new(
        "select",
        2,
        LOADING | STALE | FAST,
        NO_KEYS,
        "connection",
        select,
    ),
    Command::new("swapdb", 3, WRITE | FAST, NO_KEYS, "server", swapdb),
    Command::new(
        "hello",
        -1,
        NO_AUTH | NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        NO_KEYS,
        "connection",
        hello,
    ),
    Command::new(
        "auth",
        -2,
        NO_AUTH | NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        NO_KEYS,
        "connection",
        auth,
    ),
];

// PING [message]
fn ping(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    match args.get(1) {
        _ if args.len() > 2 => return Err(errors::wrong_arity("ping")),
        // A subscribed RESP2 client gets a frame like the messages it reads.
        message if super::pubsub::resp2_subscribed(cx) => {
            cx.out.array(2);
            cx.out.bulk(b"pong");
            cx.out.bulk(message.map_or(&b""[..], Vec::as_slice));
        }
        Some(message) => cx.out.bulk(message),
        None => cx.out.simple("PONG"),
    }
    Ok(())
}

// ECHO message
fn echo(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    cx.out.bulk(&args[1]);
    Ok(())
}

// QUIT
fn quit(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    cx.out.ok();
    cx.session.close_after_reply = true;
    Ok(())
}

// RESET
fn reset(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    cx.session.multi = None;
    super::disconnect(cx.shared, cx.session);
    cx.session.db = 0;
    cx.session
        .info
        .db
        .store(0, std::sync::atomic::Ordering::Relaxed);
    cx.session.reply_mode = ReplyMode::On;
    super::pubsub::reset(cx);
    cx.out.resp3 = false;
    {
        let mut meta = cx.session.info.meta();
        meta.resp = 2;
        meta.name.clear();
        // The library name and version stay: the same library is behind
        // the connection.
        meta.no_evict = false;
        meta.no_touch = false;
        meta.user.clear();
    }
    // Back to the default user, authenticated only when it needs no
    // password (Redis's clientSetDefaultAuth).
    let default = cx
        .shared
        .acl
        .get(b"default")
        .unwrap_or_else(|| std::sync::Arc::new(crate::acl::User::default_user()));
    cx.session.info.meta().user = "default".into();
    cx.session.user = default;
    cx.session
        .set_authenticated(cx.shared.acl.default_needs_no_auth());
    cx.out.simple("RESET");
    Ok(())
}

/// Parses a database index argument against the number of databases.
fn db_index(cx: &Context<'_>, arg: &[u8], not_integer: &'static str) -> Result<usize, Error> {
    let index = crate::util::parse_i64(arg).ok_or(Error::from(not_integer))?;
    if index < 0 || index as usize >= cx.shared.store.len() {
        return Err(errors::DB_OUT_OF_RANGE.into());
    }
    Ok(index as usize)
}

// SELECT index
fn select(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let index = db_index(cx, &args[1], errors::NOT_INTEGER)?;
    cx.session.db = index;
    cx.session
        .info
        .db
        .store(index, std::sync::atomic::Ordering::Relaxed);
    cx.out.ok();
    Ok(())
}

// SWAPDB index1 index2
fn swapdb(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let a = db_index(cx, &args[1], "ERR invalid first DB index")?;
    let b = db_index(cx, &args[2], "ERR invalid second DB index")?;
    if a != b {
        let (mut first, mut second) = cx.shared.store.write_pair(a, b);
        first.swap_data(&mut second);
        drop((first, second));
        // Clients blocked in either database may find their keys now.
        for db in [a, b] {
            for key in cx.shared.blocking.waited_keys(db) {
                cx.key_ready(db, &key);
            }
        }
    }
    cx.out.ok();
    Ok(())
}

/// Logs in as `user` with `password` (Redis's `ACLAuthenticateUser`): a
/// refusal is logged (ACL LOG, reason `auth`) and answered -WRONGPASS.
fn authenticate(cx: &mut Context<'_>, user: &[u8], password: &[u8], command: &[u8]) -> CmdResult {
    match cx.shared.acl.get(user) {
        Some(found) if found.accepts(password) => {
            super::acl::log_in(cx, found);
            Ok(())
        }
        _ => {
            let context = if cx.session.multi.is_some() {
                crate::acl::Context::Multi
            } else {
                crate::acl::Context::TopLevel
            };
            super::acl::log_refusal(
                cx,
                crate::acl::Denied::Auth,
                context,
                command.to_vec(),
                user.to_vec(),
            );
            Err(errors::WRONGPASS.into())
        }
    }
}

// AUTH [username] password
fn auth(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let (user, password) = match args.len() {
        2 => (&b"default"[..], &args[1]),
        3 => (&args[1][..], &args[2]),
        _ => return Err(errors::SYNTAX.into()),
    };
    let default_nopass = cx.shared.acl.get(b"default").is_some_and(|u| u.nopass);
    if args.len() == 2 && default_nopass {
        return Err(errors::AUTH_NOT_CONFIGURED.into());
    }
    authenticate(cx, user, password, &args[0])?;
    cx.out.ok();
    Ok(())
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
fn hello(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut protocol = if cx.out.resp3 { 3 } else { 2 };
    if let Some(version) = args.get(1) {
        let version = int_arg(version)
            .map_err(|_| Error::from("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&version) {
            return Err(errors::NOPROTO.into());
        }
        protocol = version as u8;
    }
    // Options take effect as they are read, as in Redis 7.0: a good AUTH
    // or SETNAME before a bad option still counts.
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - i - 1;
        if is(&args[i], "auth") && more >= 2 {
            let (user, password) = (args[i + 1].clone(), args[i + 2].clone());
            authenticate(cx, &user, &password, &args[0])?;
            i += 3;
        } else if is(&args[i], "setname") && more >= 1 {
            super::client::set_name(cx, &args[i + 1])?;
            i += 2;
        } else {
            return Err(Error::new(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            )));
        }
    }
    if !cx.session.authenticated {
        return Err(Error::from(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    cx.out.resp3 = protocol == 3;
    cx.session.info.meta().resp = protocol;
    let out = &mut *cx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(i64::from(protocol));
    out.bulk(b"id");
    out.int(cx.session.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}
