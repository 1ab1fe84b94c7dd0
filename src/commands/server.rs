//! Server commands: INFO, CONFIG, COMMAND, DBSIZE, FLUSHDB, TIME, SHUTDOWN...

use super::flags::*;
use super::{Args, CmdResult, Command, Context, NO_KEYS};

pub static COMMANDS: &[Command] = &[
    Command::new("dbsize", 1, READONLY | FAST, NO_KEYS, "server", dbsize),
    Command::container("config", "server", CONFIG),
];

static CONFIG: &[Command] = &[Command::new(
    "get",
    -3,
    ADMIN | NOSCRIPT | LOADING | STALE,
    NO_KEYS,
    "server",
    config_get,
)];

// DBSIZE
fn dbsize(cx: &mut Context<'_>, _: Args) -> CmdResult {
    let len = cx.db().len();
    cx.out.int(len as i64);
    Ok(())
}

// CONFIG GET parameter [parameter ...]
fn config_get(cx: &mut Context<'_>, args: Args) -> CmdResult {
    let config = cx.shared.config();
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for pattern in &args[2..] {
        for (name, value) in config.matching(pattern) {
            if !pairs.iter().any(|(n, _)| *n == name) {
                pairs.push((name, value.to_string()));
            }
        }
    }
    drop(config);
    cx.out.map(pairs.len());
    for (name, value) in pairs {
        cx.out.bulk(name.as_bytes());
        cx.out.bulk(value.as_bytes());
    }
    Ok(())
}
