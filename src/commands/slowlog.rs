//! SLOWLOG: the commands that ran longer than `slowlog-log-slower-than`
//! (the log itself is `crate::slowlog`).

use super::flags::*;
use super::server::help_reply;
use super::{Args, CmdResult, Command, Context, NO_KEYS};

const BAD_COUNT: &str = "ERR count should be greater than or equal to -1";

pub static COMMANDS: &[Command] = &[Command::container("slowlog", "server", SUBCOMMANDS)];

static SUBCOMMANDS: &[Command] = &[
    Command::new("get", -2, ADMIN | LOADING | STALE, NO_KEYS, "server", get),
    Command::new("len", 2, ADMIN | LOADING | STALE, NO_KEYS, "server", len),
    Command::new(
        "reset",
        2,
        ADMIN | LOADING | STALE,
        NO_KEYS,
        "server",
        reset,
    ),
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "server", help),
];

// SLOWLOG GET [count]
fn get(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(super::errors::subcommand_syntax("slowlog", &args[1]));
    }
    let count = match args.get(2) {
        None => 10,
        Some(arg) => match crate::util::parse_i64(arg) {
            Some(-1) => usize::MAX,
            Some(n) if n >= 0 => n as usize,
            _ => return Err(BAD_COUNT.into()),
        },
    };
    let entries = cx.shared.slowlog.newest(count);
    cx.out.array(entries.len());
    for entry in entries {
        cx.out.array(6);
        cx.out.int(entry.id as i64);
        cx.out.int(entry.time as i64);
        cx.out.int(entry.micros as i64);
        cx.out.array(entry.args.len());
        for arg in &entry.args {
            cx.out.bulk(arg);
        }
        cx.out.bulk(entry.addr.as_bytes());
        cx.out.bulk(entry.name.as_bytes());
    }
    Ok(())
}

// SLOWLOG LEN
fn len(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    cx.out.int(cx.shared.slowlog.len() as i64);
    Ok(())
}

// SLOWLOG RESET
fn reset(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    cx.shared.slowlog.reset();
    cx.out.ok();
    Ok(())
}

// SLOWLOG HELP
fn help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    help_reply(
        cx.out,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}
