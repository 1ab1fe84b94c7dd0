//! COMMAND and its subcommands: what respd's commands are, as Redis 7.0
//! publishes them. The facts come from the generated metadata
//! ([`super::meta`]); the dispatch table decides which commands exist.

use super::errors;
use super::flags::{LOADING, STALE};
use super::meta::{self, CommandMeta};
use super::{is, lookup, table, Args, CmdResult, Command, Context, NotFound, NO_KEYS};
use crate::resp::Reply;
use crate::store::glob_match;

const INVALID_COMMAND: &str = "ERR Invalid command specified";

pub static COMMANDS: &[Command] = &[
    // COMMAND runs alone (the whole table) as well as with a subcommand.
    Command {
        name: "command",
        arity: -1,
        flags: LOADING | STALE,
        keys: NO_KEYS,
        group: "server",
        handler: command_all,
        subcommands: SUBCOMMANDS,
    },
];

static SUBCOMMANDS: &[Command] = &[
    Command::new("count", 2, LOADING | STALE, NO_KEYS, "server", count),
    Command::new("list", -2, LOADING | STALE, NO_KEYS, "server", list),
    Command::new("info", -2, LOADING | STALE, NO_KEYS, "server", info),
    Command::new("docs", -2, LOADING | STALE, NO_KEYS, "server", docs),
    Command::new("getkeys", -4, LOADING | STALE, NO_KEYS, "server", getkeys),
    Command::new(
        "getkeysandflags",
        -4,
        LOADING | STALE,
        NO_KEYS,
        "server",
        getkeys_and_flags,
    ),
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "server", help),
];

/// A command respd has, with the subcommands it has, and what Redis says
/// of it.
#[derive(Clone, Copy)]
struct Known {
    row: &'static Command,
    meta: Option<&'static CommandMeta>,
    /// `client|list` for a subcommand.
    parent: Option<&'static str>,
}

impl Known {
    fn top(row: &'static Command) -> Self {
        Known {
            row,
            meta: meta::command(row.name.as_bytes()),
            parent: None,
        }
    }

    fn full_name(&self) -> String {
        match self.parent {
            Some(parent) => format!("{parent}|{}", self.row.name),
            None => self.row.name.to_string(),
        }
    }

    /// Its subcommands respd has, by name. Those Redis 7.0 lacks (later
    /// versions' CLIENT SETINFO) stay out of COMMAND, which describes
    /// the 7.0 that respd answers as.
    fn subcommands(&self) -> Vec<Known> {
        let mut subs: Vec<Known> = self
            .row
            .subcommands
            .iter()
            .map(|sub| Known {
                row: sub,
                meta: self.meta.and_then(|m| m.subcommand(sub.name.as_bytes())),
                parent: Some(self.row.name),
            })
            .filter(|sub| sub.meta.is_some() || self.meta.is_none())
            .collect();
        subs.sort_by_key(|k| k.row.name);
        subs
    }
}

/// Every top-level command, by name (Redis's order is its hash table's;
/// sorted is as good and easier to read).
fn all_commands() -> Vec<Known> {
    let mut commands: Vec<Known> = table().values().map(|row| Known::top(row)).collect();
    commands.sort_by_key(|k| k.row.name);
    commands
}

/// A command or subcommand by Redis's full name (`config|get`), in any
/// case, as Redis's `lookupCommandBySds`.
fn find_by_full_name(name: &[u8]) -> Option<Known> {
    let mut parts = name.split(|&b| b == b'|');
    let top = Known::top(lookup(parts.next()?)?);
    match (parts.next(), parts.next()) {
        (None, _) => Some(top),
        (Some(sub), None) => top
            .subcommands()
            .into_iter()
            .find(|k| k.row.name.as_bytes().eq_ignore_ascii_case(sub)),
        _ => None,
    }
}

// COMMAND
fn command_all(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let commands = all_commands();
    cx.out.array(commands.len());
    for known in commands {
        write_info(cx.out, known);
    }
    Ok(())
}

// COMMAND COUNT
fn count(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    cx.out.int(table().len() as i64);
    Ok(())
}

// COMMAND INFO [command-name [command-name ...]]
fn info(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args.len() == 2 {
        return command_all(cx, args);
    }
    cx.out.array(args.len() - 2);
    for name in &args[2..] {
        match find_by_full_name(name) {
            Some(known) => write_info(cx.out, known),
            None => cx.out.null(),
        }
    }
    Ok(())
}

// COMMAND DOCS [command-name [command-name ...]]
fn docs(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let commands: Vec<Known> = if args.len() == 2 {
        all_commands()
    } else {
        args[2..]
            .iter()
            .filter_map(|n| find_by_full_name(n))
            .collect()
    };
    cx.out.map(commands.len());
    for known in commands {
        cx.out.bulk(known.full_name().as_bytes());
        write_docs(cx.out, known);
    }
    Ok(())
}

/// What COMMAND LIST keeps.
enum Filter<'a> {
    All,
    Module,
    Category(Option<u32>),
    Pattern(&'a [u8]),
}

// COMMAND LIST [FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>]
fn list(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut filter = Filter::All;
    let mut i = 2;
    while i < args.len() {
        if !(is(&args[i], "filterby") && args.len() - 1 - i == 2) {
            return Err(errors::SYNTAX.into());
        }
        let value = &args[i + 2];
        filter = match &args[i + 1] {
            kind if is(kind, "module") => Filter::Module,
            kind if is(kind, "aclcat") => Filter::Category(meta::acl::by_name(value)),
            kind if is(kind, "pattern") => Filter::Pattern(value),
            _ => return Err(errors::SYNTAX.into()),
        };
        i += 3;
    }
    let mut names = Vec::new();
    for known in all_commands() {
        for k in std::iter::once(known).chain(known.subcommands()) {
            let name = k.full_name();
            let keep = match filter {
                Filter::All => true,
                Filter::Module => false,
                Filter::Category(None) => false,
                Filter::Category(Some(bit)) => k.meta.is_some_and(|m| m.acl & bit != 0),
                Filter::Pattern(pattern) => glob_match(pattern, name.as_bytes(), true),
            };
            if keep {
                names.push(name);
            }
        }
    }
    cx.out.bulks(names.iter().map(|n| n.as_bytes()));
    Ok(())
}

// COMMAND GETKEYS command [arg [arg ...]]
fn getkeys(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    write_keys(cx, &args[2..], false)
}

// COMMAND GETKEYSANDFLAGS command [arg [arg ...]]
fn getkeys_and_flags(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    write_keys(cx, &args[2..], true)
}

/// GETKEYS and GETKEYSANDFLAGS, for the commands respd has.
fn write_keys(cx: &mut Context<'_>, call: &Args, with_flags: bool) -> CmdResult {
    let known = matches!(super::find(call), Ok(_) | Err(NotFound::WrongArity(_)));
    let m = meta::resolve(call)
        .filter(|_| known)
        .ok_or(INVALID_COMMAND)?;
    let keys = meta::keys_of_call(m, call)?;
    cx.out.array(keys.len());
    for key in keys {
        let name = &call[key.pos];
        if with_flags {
            cx.out.array(2);
            cx.out.bulk(name);
            let flags: Vec<&str> = meta::flag_names(key.flags, meta::key::NAMES).collect();
            cx.out.set(flags.len());
            flags.iter().for_each(|f| cx.out.simple(f));
        } else {
            cx.out.bulk(name);
        }
    }
    Ok(())
}

// COMMAND HELP
fn help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    super::server::help_reply(
        cx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

/// One 10-field entry of COMMAND / COMMAND INFO.
fn write_info(out: &mut Reply, known: Known) {
    let subs = known.subcommands();
    match known.meta {
        Some(m) => {
            let sub_metas: Vec<&CommandMeta> = subs.iter().filter_map(|s| s.meta).collect();
            m.write_info(out, &known.full_name(), &sub_metas);
        }
        None => {
            // Not a Redis 7.0 command: what its row says.
            let row = known.row;
            out.array(10);
            out.bulk(known.full_name().as_bytes());
            out.int(i64::from(row.arity));
            let flags: Vec<&str> = meta::flag_names(row.flags, super::flags::NAMES).collect();
            out.set(flags.len());
            flags.iter().for_each(|f| out.simple(f));
            out.int(i64::from(row.keys.first));
            out.int(i64::from(row.keys.last));
            out.int(i64::from(row.keys.step));
            out.set(0);
            out.set(0);
            out.set(0);
            if row.subcommands.is_empty() {
                out.set(0);
            } else {
                out.array(subs.len());
                subs.into_iter().for_each(|sub| write_info(out, sub));
            }
        }
    }
}

/// One command's COMMAND DOCS map.
fn write_docs(out: &mut Reply, known: Known) {
    match known.meta {
        Some(m) => {
            let subs: Vec<&CommandMeta> =
                known.subcommands().iter().filter_map(|s| s.meta).collect();
            m.write_docs(out, &known.full_name(), &subs);
        }
        None => {
            // Not a Redis 7.0 command: only its group.
            out.map(1);
            out.bulk(b"group");
            out.bulk(known.row.group.as_bytes());
        }
    }
}
