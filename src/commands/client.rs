//! CLIENT subcommands: what a connection says about itself, and what it can
//! see of and do to the others.

use super::errors::{self, Error};
use super::flags::*;
use super::{Args, CmdResult, Command, Context, NO_KEYS};

pub static COMMANDS: &[Command] = &[Command::container("client", "connection", SUBCOMMANDS)];

static SUBCOMMANDS: &[Command] = &[
    Command::new(
        "id",
        2,
        NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "connection",
        id,
    ),
    Command::new(
        "setname",
        3,
        NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "connection",
        setname,
    ),
    Command::new(
        "getname",
        2,
        NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "connection",
        getname,
    ),
];

// CLIENT ID
fn id(cx: &mut Context<'_>, _: Args) -> CmdResult {
    cx.out.int(cx.session.id as i64);
    Ok(())
}

/// Validates and stores a client name (CLIENT SETNAME, HELLO SETNAME):
/// printable ASCII without spaces; empty clears it.
pub fn set_name(cx: &mut Context<'_>, name: &[u8]) -> CmdResult {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(Error::from(errors::BAD_CLIENT_NAME));
    }
    cx.session.info.meta().name = String::from_utf8_lossy(name).into_owned();
    Ok(())
}

// CLIENT SETNAME connection-name
fn setname(cx: &mut Context<'_>, args: Args) -> CmdResult {
    set_name(cx, &args[2])?;
    cx.out.ok();
    Ok(())
}

// CLIENT GETNAME
fn getname(cx: &mut Context<'_>, _: Args) -> CmdResult {
    let name = cx.session.info.meta().name.clone();
    if name.is_empty() {
        cx.out.null();
    } else {
        cx.out.bulk(name.as_bytes());
    }
    Ok(())
}
