//! CLIENT subcommands: what a connection says about itself, and what it can
//! see of and do to the others.

use std::sync::Arc;

use super::errors::{self, Error};
use super::flags::*;
use super::server::help_reply;
use super::tracking::{caching, getredir, tracking, trackinginfo};
use super::{int_arg, is, Args, CmdResult, Command, Context, ReplyMode, Resolved, NO_KEYS};
use crate::blocking::Outcome;
use crate::clients::ClientInfo;
use crate::pause::PauseKind;
use crate::shared::Shared;

const INVALID_CLIENT_ID: &str = "ERR Invalid client ID";
const CLIENT_ID_RANGE: &str = "ERR client-id should be greater than 0";
const NO_SUCH_CLIENT: &str = "ERR No such client";
const UNBLOCK_REASON: &str = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR";

/// The flags Redis gives the subcommands that concern only the caller.
const OWN: u32 = NOSCRIPT | LOADING | STALE;
/// The flags of the subcommands that act on other clients.
const OTHERS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Command] = &[Command::container("client", "connection", SUBCOMMANDS)];

static SUBCOMMANDS: &[Command] = &[
    Command::new("id", 2, OWN, NO_KEYS, "connection", id),
    Command::new("setname", 3, OWN, NO_KEYS, "connection", setname),
    Command::new("getname", 2, OWN, NO_KEYS, "connection", getname),
    Command::new("list", -2, OTHERS, NO_KEYS, "connection", list),
    Command::new("info", 2, OWN, NO_KEYS, "connection", info),
    Command::new("kill", -3, OTHERS, NO_KEYS, "connection", kill),
    Command::new("reply", 3, OWN, NO_KEYS, "connection", reply),
    Command::new("no-evict", 3, OTHERS, NO_KEYS, "connection", no_evict),
    Command::new("unblock", -3, OTHERS, NO_KEYS, "connection", unblock),
    Command::new("pause", -3, OTHERS, NO_KEYS, "connection", pause),
    Command::new("unpause", 2, OTHERS, NO_KEYS, "connection", unpause),
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "connection", help),
    Command::new("tracking", -3, OWN, NO_KEYS, "connection", tracking),
    Command::new("caching", 3, OWN, NO_KEYS, "connection", caching),
    Command::new("getredir", 2, OWN, NO_KEYS, "connection", getredir),
    Command::new("trackinginfo", 2, OWN, NO_KEYS, "connection", trackinginfo),
];

// CLIENT PAUSE timeout [WRITE | ALL]
fn pause(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args.len() > 4 {
        return Err(errors::subcommand_syntax("client", &args[1]));
    }
    let kind = match args.get(3) {
        None => PauseKind::All,
        Some(mode) if is(mode, "write") => PauseKind::Write,
        Some(mode) if is(mode, "all") => PauseKind::All,
        Some(_) => return Err(Error::from("ERR CLIENT PAUSE mode must be WRITE or ALL")),
    };
    let until = millis_timeout(&args[2])?;
    cx.shared.pause.pause(kind, until);
    cx.out.ok();
    Ok(())
}

/// A timeout in milliseconds from now, as Redis's
/// getTimeoutFromObjectOrReply with UNIT_MILLISECONDS reads it.
pub(super) fn millis_timeout(arg: &[u8]) -> Result<std::time::Instant, Error> {
    let millis = crate::util::parse_i64(arg)
        .ok_or(Error::from("ERR timeout is not an integer or out of range"))?;
    if millis < 0 {
        return Err(Error::from("ERR timeout is negative"));
    }
    let now = std::time::Instant::now();
    // Far beyond any real pause: a year stands for "for ever".
    let far = std::time::Duration::from_secs(365 * 86_400);
    Ok(now + std::time::Duration::from_millis(millis as u64).min(far))
}

// CLIENT UNPAUSE
fn unpause(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    cx.shared.pause.unpause();
    cx.out.ok();
    Ok(())
}

// CLIENT ID
fn id(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    cx.out.int(cx.session.id as i64);
    Ok(())
}

/// Checks a client name or library attribute: printable ASCII, no spaces.
fn printable(value: &[u8]) -> bool {
    value.iter().all(|b| (b'!'..=b'~').contains(b))
}

/// Validates a client name (CLIENT SETNAME, HELLO SETNAME).
pub fn check_name(name: &[u8]) -> CmdResult {
    if printable(name) {
        Ok(())
    } else {
        Err(Error::from(errors::BAD_CLIENT_NAME))
    }
}

/// Validates and stores a client name; empty clears it.
pub fn set_name(cx: &mut Context<'_>, name: &[u8]) -> CmdResult {
    check_name(name)?;
    cx.session.info.meta().name = String::from_utf8_lossy(name).into_owned();
    Ok(())
}

// CLIENT SETNAME connection-name
fn setname(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    set_name(cx, &args[2])?;
    cx.out.ok();
    Ok(())
}

// CLIENT GETNAME
fn getname(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let name = cx.session.info.meta().name.clone();
    if name.is_empty() {
        cx.out.null();
    } else {
        cx.out.bulk(name.as_bytes());
    }
    Ok(())
}

/// A client type as CLIENT LIST TYPE and CLIENT KILL TYPE name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    /// Subscribed to at least one channel, pattern or shard channel.
    Pubsub,
    /// A replica's link to this server (`replica`, or `slave`).
    Replica,
    /// This replica's link to its master.
    Master,
}

fn parse_client_type(name: &[u8]) -> Result<ClientType, Error> {
    if is(name, "normal") {
        Ok(ClientType::Normal)
    } else if is(name, "pubsub") {
        Ok(ClientType::Pubsub)
    } else if is(name, "master") {
        Ok(ClientType::Master)
    } else if is(name, "replica") || is(name, "slave") {
        Ok(ClientType::Replica)
    } else {
        Err(Error::new(format!(
            "ERR Unknown client type '{}'",
            String::from_utf8_lossy(name)
        )))
    }
}

/// A client's type, as Redis's `getClientType` tells it.
fn client_type(client: &ClientInfo) -> ClientType {
    use std::sync::atomic::Ordering::Relaxed;
    match client.link.load(Relaxed) {
        crate::clients::LINK_MASTER => return ClientType::Master,
        crate::clients::LINK_REPLICA => return ClientType::Replica,
        _ => {}
    }
    if client.pubsub.iter().any(|count| count.load(Relaxed) > 0) {
        ClientType::Pubsub
    } else {
        ClientType::Normal
    }
}

// CLIENT LIST [TYPE <NORMAL | MASTER | REPLICA | PUBSUB>] [ID client-id [client-id ...]]
fn list(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let clients: Vec<Arc<ClientInfo>> = match args.len() {
        2 => cx.shared.clients.all(),
        4 if is(&args[2], "type") => {
            let wanted = parse_client_type(&args[3])?;
            let mut all = cx.shared.clients.all();
            all.retain(|client| client_type(client) == wanted);
            all
        }
        n if n > 3 && is(&args[2], "id") => {
            let mut found = Vec::new();
            for arg in &args[3..] {
                let id = int_arg(arg).map_err(|_| Error::from(INVALID_CLIENT_ID))?;
                found.extend(
                    u64::try_from(id)
                        .ok()
                        .and_then(|id| cx.shared.clients.get(id)),
                );
            }
            found
        }
        _ => return Err(errors::SYNTAX.into()),
    };
    let mut text = String::new();
    for client in clients {
        let current = (client.id == cx.session.id).then_some(args);
        text.push_str(&client.list_line(current));
        text.push('\n');
    }
    cx.out.verbatim(text.as_bytes());
    Ok(())
}

// CLIENT INFO
fn info(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut line = cx.session.info.list_line(Some(args));
    line.push('\n');
    cx.out.verbatim(line.as_bytes());
    Ok(())
}

/// What CLIENT KILL's filters select.
#[derive(Default)]
struct KillFilter {
    addr: Option<String>,
    laddr: Option<String>,
    id: Option<u64>,
    /// TYPE given: the type it selects.
    client_type: Option<ClientType>,
    skip_me: bool,
}

impl KillFilter {
    fn parse(args: &[Vec<u8>]) -> Result<Self, Error> {
        let mut filter = KillFilter {
            skip_me: true,
            ..KillFilter::default()
        };
        for pair in args.chunks(2) {
            let [option, value] = pair else {
                return Err(errors::SYNTAX.into());
            };
            let text = || String::from_utf8_lossy(value).into_owned();
            if is(option, "id") {
                let id = int_arg(value)
                    .ok()
                    .filter(|&id| id > 0)
                    .ok_or(Error::from(CLIENT_ID_RANGE))?;
                filter.id = Some(id as u64);
            } else if is(option, "type") {
                filter.client_type = Some(parse_client_type(value)?);
            } else if is(option, "addr") {
                filter.addr = Some(text());
            } else if is(option, "laddr") {
                filter.laddr = Some(text());
            } else if is(option, "user") {
                // Only the default user exists.
                if value != b"default" {
                    return Err(Error::new(format!("ERR No such user '{}'", text())));
                }
            } else if is(option, "skipme") {
                filter.skip_me = match () {
                    _ if is(value, "yes") => true,
                    _ if is(value, "no") => false,
                    _ => return Err(errors::SYNTAX.into()),
                };
            } else {
                return Err(errors::SYNTAX.into());
            }
        }
        Ok(filter)
    }

    fn selects(&self, client: &ClientInfo, me: u64) -> bool {
        self.addr.as_ref().map_or(true, |a| *a == client.addr)
            && self.laddr.as_ref().map_or(true, |a| *a == client.laddr)
            && self.id.map_or(true, |id| id == client.id)
            && self.client_type.map_or(true, |t| t == client_type(client))
            && !(self.skip_me && client.id == me)
    }
}

// CLIENT KILL <ip:port | <[ID client-id] | [TYPE <NORMAL | MASTER | SLAVE | REPLICA | PUBSUB>] | [USER username] | [ADDR ip:port] | [LADDR ip:port] | [SKIPME <YES | NO>]> [...]>
fn kill(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    // The old form, CLIENT KILL addr, may kill the caller itself.
    let old_form = args.len() == 3;
    let filter = if old_form {
        KillFilter {
            addr: Some(String::from_utf8_lossy(&args[2]).into_owned()),
            ..KillFilter::default()
        }
    } else {
        KillFilter::parse(&args[2..])?
    };
    let me = cx.session.id;
    let mut killed = 0;
    for client in cx.shared.clients.all() {
        if !filter.selects(&client, me) {
            continue;
        }
        if client.id == me {
            // Closed after this reply is out.
            cx.session.close_after_reply = true;
        } else {
            client.kill();
        }
        killed += 1;
    }
    match (old_form, killed) {
        (true, 0) => return Err(NO_SUCH_CLIENT.into()),
        (true, _) => cx.out.ok(),
        (false, n) => cx.out.int(n),
    }
    Ok(())
}

// CLIENT REPLY <ON | OFF | SKIP>
fn reply(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mode = &mut cx.session.reply_mode;
    if is(&args[2], "on") {
        *mode = ReplyMode::On;
        cx.out.ok();
    } else if is(&args[2], "off") {
        *mode = ReplyMode::Off;
    } else if is(&args[2], "skip") {
        // SKIP means nothing while replies are off.
        if *mode != ReplyMode::Off {
            *mode = ReplyMode::Skip;
        }
    } else {
        return Err(errors::SYNTAX.into());
    }
    Ok(())
}

/// Reads an `ON | OFF` argument.
fn on_off(arg: &[u8]) -> Result<bool, Error> {
    match () {
        _ if is(arg, "on") => Ok(true),
        _ if is(arg, "off") => Ok(false),
        _ => Err(errors::SYNTAX.into()),
    }
}

// CLIENT NO-EVICT <ON | OFF>
fn no_evict(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    cx.session.info.meta().no_evict = on_off(&args[2])?;
    cx.out.ok();
    Ok(())
}

// CLIENT UNBLOCK client-id [TIMEOUT | ERROR]
fn unblock(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args.len() > 4 {
        return Err(Error::from(
            "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.",
        ));
    }
    let outcome = match args.get(3) {
        None => Outcome::TimedOut,
        Some(reason) if is(reason, "timeout") => Outcome::TimedOut,
        Some(reason) if is(reason, "error") => Outcome::Unblocked,
        Some(_) => return Err(UNBLOCK_REASON.into()),
    };
    let id = int_arg(&args[2])?;
    let unblocked = u64::try_from(id)
        .ok()
        .and_then(|id| cx.shared.clients.get(id))
        .is_some_and(|client| client.unblock(outcome));
    cx.out.int(i64::from(unblocked));
    Ok(())
}

// CLIENT HELP
fn help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    help_reply(
        cx.out,
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
        ],
    );
    Ok(())
}

/// Waits while CLIENT PAUSE holds this command back: any command under
/// `ALL`, one that writes or may replicate under `WRITE`.
pub(super) fn wait_while_paused(
    cx: &mut Context<'_>,
    resolved: Resolved,
    args: &Args,
) -> CmdResult {
    let pause = &cx.shared.pause;
    if !pause.engaged() {
        return Ok(());
    }
    let writes = match cx.session.multi.as_ref() {
        Some(transaction) if resolved.parent == "exec" => transaction
            .queued
            .iter()
            .any(|(queued, queued_args)| may_replicate(cx.shared, *queued, queued_args)),
        _ => may_replicate(cx.shared, resolved, args),
    };
    if !pause.wait_if_paused(writes, &*cx.session.peer_closed.0) {
        cx.session.close_after_reply = true;
    }
    // A FAILOVER that ended the pause made this server a read-only
    // replica: the held write meets it (Redis runs it from the start).
    if writes
        && !cx.session.replication.is_master
        && crate::replication::replica::read_only(cx.shared)
    {
        return Err(crate::replication::replica::READONLY.into());
    }
    Ok(())
}

/// Redis's "write or may-replicate" test for CLIENT PAUSE WRITE: writes,
/// PUBLISH, PFCOUNT, and scripts that do not declare `no-writes`.
fn may_replicate(shared: &Shared, resolved: Resolved, args: &Args) -> bool {
    if resolved.command.flags & WRITE != 0 {
        return true;
    }
    match resolved.parent {
        "publish" | "spublish" | "pfcount" => true,
        "eval" | "evalsha" | "fcall" => {
            #[cfg(feature = "scripting")]
            return !crate::scripting::declares_no_writes(shared, resolved.parent, args);
            #[cfg(not(feature = "scripting"))]
            {
                let _ = (shared, args);
                true
            }
        }
        _ => false,
    }
}
