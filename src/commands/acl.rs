//! ACL subcommands: users and their permissions, the log of refusals, and
//! the permission check [`super::execute`] runs for restricted users.

use std::sync::Arc;

use super::errors::{self, Error};
use super::flags::*;
use super::server::help_reply;
use super::{is, Args, CmdResult, Command, Context, NO_KEYS};
use crate::acl::{self, Denied, LogEntry, User};

const ADMIN_ACL: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const OWN: u32 = NOSCRIPT | LOADING | STALE;
const NO_ACL_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

pub static COMMANDS: &[Command] = &[Command::container("acl", "server", SUBCOMMANDS)];

static SUBCOMMANDS: &[Command] = &[
    Command::new("cat", -2, OWN, NO_KEYS, "server", cat),
    Command::new("deluser", -3, ADMIN_ACL, NO_KEYS, "server", deluser),
    Command::new("dryrun", -4, ADMIN_ACL, NO_KEYS, "server", dryrun),
    Command::new("genpass", -2, OWN, NO_KEYS, "server", genpass),
    Command::new("getuser", 3, ADMIN_ACL, NO_KEYS, "server", getuser),
    Command::new("list", 2, ADMIN_ACL, NO_KEYS, "server", list),
    Command::new("load", 2, ADMIN_ACL, NO_KEYS, "server", load),
    Command::new("log", -2, ADMIN_ACL, NO_KEYS, "server", log),
    Command::new("save", 2, ADMIN_ACL, NO_KEYS, "server", save),
    Command::new("setuser", -3, ADMIN_ACL, NO_KEYS, "server", setuser),
    Command::new("users", 2, ADMIN_ACL, NO_KEYS, "server", users),
    Command::new("whoami", 2, OWN, NO_KEYS, "server", whoami),
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "server", help),
];

/// The step of [`super::execute`] for a restricted user: refuses the call
/// (and logs why) when no selector of the user allows it.
pub(super) fn check(
    cx: &Context<'_>,
    full_name: &str,
    args: &Args,
    context: acl::Context,
) -> Result<(), Denied> {
    cx.session
        .user
        .check(full_name, args)
        .map_err(|(denied, pos)| {
            let object = match denied {
                Denied::Command => full_name.as_bytes().to_vec(),
                _ => args[pos].clone(),
            };
            let user = cx.session.user.name.clone();
            log_refusal(cx, denied, context, object, user);
            denied
        })
}

/// Adds an entry to ACL LOG.
pub(crate) fn log_refusal(
    cx: &Context<'_>,
    reason: Denied,
    context: acl::Context,
    object: Vec<u8>,
    username: Vec<u8>,
) {
    let max_len = cx
        .shared
        .config()
        .get("acllog-max-len")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(128);
    cx.shared.acl.log(
        LogEntry {
            count: 1,
            reason,
            context,
            object,
            username,
            created_ms: crate::util::now_ms(),
            client_info: cx.session.info.list_line(None),
        },
        max_len,
    );
}

/// True when new users and `reset` start with every channel
/// (`acl-pubsub-default allchannels`).
fn pubsub_all(cx: &Context<'_>) -> bool {
    cx.shared.config().get("acl-pubsub-default") == Some("allchannels")
}

fn has_spaces(name: &[u8]) -> bool {
    name.iter().any(|&b| b.is_ascii_whitespace() || b == 0)
}

// ACL SETUSER username [rule [rule ...]]
fn setuser(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let name = &args[2];
    if has_spaces(name) {
        return Err(Error::from(
            "ERR Usernames can't contain spaces or null characters",
        ));
    }
    let existing = cx.shared.acl.get(name);
    let user =
        acl::set_user(existing.as_deref(), name, &args[3..], pubsub_all(cx)).map_err(Error::new)?;
    if existing.is_some() {
        disconnect_lost_subscribers(cx, &user);
    }
    cx.shared.acl.put(user);
    cx.shared.users_changed();
    cx.out.ok();
    Ok(())
}

/// Closes the connections of `user` subscribed to a channel or pattern
/// its new rules no longer allow (Redis's `ACLKillPubsubClientsIfNeeded`).
fn disconnect_lost_subscribers(cx: &mut Context<'_>, user: &User) {
    let name = String::from_utf8_lossy(&user.name);
    let is_theirs = |client: &crate::clients::ClientInfo| {
        let meta = client.meta();
        meta.user == name || (meta.user.is_empty() && name == "default")
    };
    let subscriptions = cx.shared.pubsub.registry().subscriptions();
    let mut doomed: Vec<Arc<crate::clients::ClientInfo>> = Vec::new();
    for (space, channel, client) in subscriptions {
        let is_pattern = matches!(space, crate::pubsub::Space::Patterns);
        if is_theirs(&client)
            && !user.may_subscribe(&channel, is_pattern)
            && !doomed.iter().any(|c| c.id == client.id)
        {
            doomed.push(client);
        }
    }
    for client in doomed {
        if client.id == cx.session.id {
            cx.session.close_after_reply = true;
        } else {
            client.kill();
        }
    }
}

// ACL DELUSER username [username ...]
fn deluser(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args[2..].iter().any(|name| name == b"default") {
        return Err(Error::from("ERR The 'default' user cannot be removed"));
    }
    let mut deleted = 0;
    for name in &args[2..] {
        if cx.shared.acl.remove(name) {
            deleted += 1;
            disconnect_clients_of(cx, name);
        }
    }
    if deleted > 0 {
        cx.shared.users_changed();
    }
    cx.out.int(deleted);
    Ok(())
}

/// Closes every connection authenticated as `name`; the caller's own
/// closes after its reply.
fn disconnect_clients_of(cx: &mut Context<'_>, name: &[u8]) {
    let name = String::from_utf8_lossy(name);
    for client in cx.shared.clients.all() {
        if client.meta().user == name {
            if client.id == cx.session.id {
                cx.session.close_after_reply = true;
            } else {
                client.kill();
            }
        }
    }
}

// ACL GETUSER username
fn getuser(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let Some(user) = cx.shared.acl.get(&args[2]) else {
        cx.out.null();
        return Ok(());
    };
    let out = &mut *cx.out;
    out.map(6);
    out.bulk(b"flags");
    let flags = user.flags();
    out.set(flags.len());
    for flag in flags {
        out.bulk(flag.as_bytes());
    }
    out.bulk(b"passwords");
    out.array(user.passwords().len());
    for password in user.passwords() {
        out.bulk(password.as_bytes());
    }
    let selectors = user.selectors();
    describe_selector(out, &selectors[0]);
    out.bulk(b"selectors");
    out.array(selectors.len() - 1);
    for selector in &selectors[1..] {
        out.map(3);
        describe_selector(out, selector);
    }
    Ok(())
}

fn describe_selector(out: &mut crate::resp::Reply, selector: &acl::Selector) {
    out.bulk(b"commands");
    out.bulk(selector.describe_commands().as_bytes());
    out.bulk(b"keys");
    out.bulk(selector.describe_keys().as_bytes());
    out.bulk(b"channels");
    out.bulk(selector.describe_channels().as_bytes());
}

// ACL LIST
fn list(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let users = cx.shared.acl.users();
    cx.out.array(users.len());
    for user in users {
        let line = format!(
            "user {} {}",
            String::from_utf8_lossy(&user.name),
            user.describe()
        );
        cx.out.bulk(line.as_bytes());
    }
    Ok(())
}

// ACL USERS
fn users(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let users = cx.shared.acl.users();
    cx.out.array(users.len());
    for user in users {
        cx.out.bulk(&user.name);
    }
    Ok(())
}

// ACL WHOAMI
fn whoami(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let name = cx.session.user.name.clone();
    cx.out.bulk(&name);
    Ok(())
}

// ACL CAT [category]
fn cat(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    match args.len() {
        2 => {
            let names: Vec<&str> = super::meta::category_names().collect();
            cx.out.array(names.len());
            for name in names {
                cx.out.bulk(name.as_bytes());
            }
        }
        3 => {
            let Some(category) = super::meta::acl::by_name(&args[2]) else {
                let name = String::from_utf8_lossy(&args[2]);
                let shown: String = name.chars().take(128).collect();
                return Err(Error::new(format!("ERR Unknown category '{shown}'")));
            };
            let commands = acl::commands_in(category);
            cx.out.array(commands.len());
            for name in commands {
                cx.out.bulk(name.as_bytes());
            }
        }
        _ => return Err(syntax(args)),
    }
    Ok(())
}

/// Redis's reply for a subcommand called with too many arguments (it
/// names the subcommand as typed).
fn syntax(args: &Args) -> Error {
    Error::new(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
        String::from_utf8_lossy(&args[1])
    ))
}

// ACL GENPASS [bits]
fn genpass(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(syntax(args));
    }
    let bits = match args.get(2) {
        Some(arg) => super::int_arg(arg)?,
        None => 256,
    };
    if bits <= 0 || bits > 4096 {
        return Err(Error::from(
            "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
        ));
    }
    let chars = ((bits + 3) / 4) as usize;
    cx.out.bulk(crate::shared::random_hex(chars).as_bytes());
    Ok(())
}

// ACL LOG [count | RESET]
fn log(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(syntax(args));
    }
    let mut count = 10;
    if let Some(arg) = args.get(2) {
        if is(arg, "reset") {
            cx.shared.acl.log_reset();
            cx.out.ok();
            return Ok(());
        }
        count = super::int_arg(arg)?.max(0);
    }
    let entries = cx.shared.acl.log_entries(count as usize);
    let now = crate::util::now_ms();
    let out = &mut *cx.out;
    out.array(entries.len());
    for entry in entries {
        out.map(7);
        out.bulk(b"count");
        out.int(entry.count as i64);
        out.bulk(b"reason");
        out.bulk(entry.reason_name().as_bytes());
        out.bulk(b"context");
        out.bulk(entry.context_name().as_bytes());
        out.bulk(b"object");
        out.bulk(&entry.object);
        out.bulk(b"username");
        out.bulk(&entry.username);
        out.bulk(b"age-seconds");
        out.double(now.saturating_sub(entry.created_ms) as f64 / 1000.0);
        out.bulk(b"client-info");
        out.bulk(entry.client_info.as_bytes());
    }
    Ok(())
}

// ACL DRYRUN username command [arg ...]
fn dryrun(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let Some(user) = cx.shared.acl.get(&args[2]) else {
        return Err(Error::new(format!(
            "ERR User '{}' not found",
            String::from_utf8_lossy(&args[2])
        )));
    };
    let call = &args[3..];
    let resolved = match super::find(call) {
        Ok(resolved) => resolved,
        Err(super::NotFound::WrongArity(resolved)) => {
            return Err(errors::wrong_arity(&resolved.full_name()))
        }
        Err(_) => {
            return Err(Error::new(format!(
                "ERR Command '{}' not found",
                String::from_utf8_lossy(&args[3])
            )))
        }
    };
    let full_name = resolved.full_name();
    match user.check(&full_name, call) {
        Ok(()) => cx.out.ok(),
        Err((denied, pos)) => {
            let text = match denied {
                Denied::Key => format!(
                    "This user has no permissions to access the '{}' key",
                    String::from_utf8_lossy(&call[pos])
                ),
                Denied::Channel => format!(
                    "This user has no permissions to access the '{}' channel",
                    String::from_utf8_lossy(&call[pos])
                ),
                _ => format!("This user has no permissions to run the '{full_name}' command"),
            };
            cx.out.bulk(text.as_bytes());
        }
    }
    Ok(())
}

// ACL LOAD
fn load(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let path = acl_file(cx)?;
    let users = acl::load_file(&path, pubsub_all(cx))
        .map_err(|errors| Error::new(format!("ERR {errors}")))?;
    // Every user but the default one is replaced: their connections
    // close, as Redis frees the old users with their clients.
    let replaced: Vec<Vec<u8>> = cx
        .shared
        .acl
        .users()
        .iter()
        .map(|user| user.name.clone())
        .filter(|name| name != b"default")
        .collect();
    cx.shared.acl.replace_all(users);
    for name in &replaced {
        disconnect_clients_of(cx, name);
    }
    cx.shared.users_changed();
    cx.out.ok();
    Ok(())
}

// ACL SAVE
fn save(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let path = acl_file(cx)?;
    let mut text = String::new();
    for user in cx.shared.acl.users() {
        text.push_str(&format!(
            "user {} {}\n",
            String::from_utf8_lossy(&user.name),
            user.describe()
        ));
    }
    let temp = format!("{path}.tmp-{}", std::process::id());
    std::fs::write(&temp, text)
        .and_then(|()| std::fs::rename(&temp, &path))
        .map_err(|_| {
            Error::from("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
        })?;
    cx.out.ok();
    Ok(())
}

fn acl_file(cx: &Context<'_>) -> Result<String, Error> {
    match cx.shared.config().get("aclfile") {
        Some(path) if !path.is_empty() => Ok(path.to_string()),
        _ => Err(NO_ACL_FILE.into()),
    }
}

// ACL HELP
fn help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    help_reply(
        cx.out,
        "ACL",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
    Ok(())
}

/// Switches the connection to `user` (AUTH, HELLO AUTH).
pub(super) fn log_in(cx: &mut Context<'_>, user: Arc<User>) {
    cx.session.info.meta().user = String::from_utf8_lossy(&user.name).into_owned();
    cx.session.user = user;
    cx.session.set_authenticated(true);
}
