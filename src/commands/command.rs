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
const INVALID_ARGUMENT_COUNT: &str = "ERR Invalid number of arguments specified for command";
const NO_KEY_ARGUMENTS: &str = "ERR The command has no key arguments";
const INVALID_ARGUMENTS: &str = "ERR Invalid arguments specified for command";

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
        args[2..].iter().filter_map(|n| find_by_full_name(n)).collect()
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

/// GETKEYS and GETKEYSANDFLAGS, checking in Redis's order: the command
/// exists, it takes keys, its arity fits, its arguments name keys.
fn write_keys(cx: &mut Context<'_>, call: &Args, with_flags: bool) -> CmdResult {
    let (resolved, arity_ok) = match super::find(call) {
        Ok(resolved) => (resolved, true),
        Err(NotFound::WrongArity(resolved)) => (resolved, false),
        Err(_) => return Err(INVALID_COMMAND.into()),
    };
    let meta = meta::command(resolved.parent.as_bytes())
        .and_then(|m| match resolved.sub {
            Some(sub) => m.subcommand(sub.as_bytes()),
            None => Some(m),
        })
        .filter(|m| m.has_keys())
        .ok_or(NO_KEY_ARGUMENTS)?;
    if !arity_ok {
        return Err(INVALID_ARGUMENT_COUNT.into());
    }
    let keys = meta.keys(call);
    if keys.is_empty() && !meta.has_flag(meta::cmd::NO_MANDATORY_KEYS) {
        return Err(INVALID_ARGUMENTS.into());
    }
    cx.out.array(keys.len());
    for key in keys {
        let name = &call[key.pos];
        if with_flags {
            cx.out.array(2);
            cx.out.bulk(name);
            write_flags(cx.out, key.flags, meta::key::NAMES);
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

/// A set of status replies: the names of the bits set in `flags`.
fn write_flags<T: Copy + Into<u32>>(out: &mut Reply, flags: T, names: &'static [(T, &'static str)]) {
    let names: Vec<&str> = meta::flag_names(flags, names).collect();
    out.set(names.len());
    names.iter().for_each(|name| out.simple(name));
}

/// One 10-field entry of COMMAND / COMMAND INFO.
fn write_info(out: &mut Reply, known: Known) {
    let Some(m) = known.meta else {
        return write_info_from_row(out, known);
    };
    out.array(10);
    out.bulk(known.full_name().as_bytes());
    out.int(i64::from(m.arity));
    write_flags(out, m.flags, meta::cmd::NAMES);
    out.int(i64::from(m.range.0));
    out.int(i64::from(m.range.1));
    out.int(i64::from(m.range.2));
    let categories = m.categories();
    out.set(categories.len());
    categories.iter().for_each(|c| out.simple(c));
    out.set(m.tips.len());
    m.tips.iter().for_each(|t| out.bulk(t.as_bytes()));
    write_key_specs(out, m);
    write_subcommands(out, known, write_info, false);
}

/// A command Redis 7.0 does not have: what its row says.
fn write_info_from_row(out: &mut Reply, known: Known) {
    let row = known.row;
    out.array(10);
    out.bulk(known.full_name().as_bytes());
    out.int(i64::from(row.arity));
    write_flags(out, row.flags, super::flags::NAMES);
    out.int(i64::from(row.keys.first));
    out.int(i64::from(row.keys.last));
    out.int(i64::from(row.keys.step));
    out.set(0);
    out.set(0);
    out.set(0);
    write_subcommands(out, known, write_info, false);
}

/// A command's subcommands that respd has: an empty set when it has none,
/// else an array (COMMAND INFO) or a map by full name (COMMAND DOCS).
fn write_subcommands(out: &mut Reply, known: Known, write: fn(&mut Reply, Known), as_map: bool) {
    if known.row.subcommands.is_empty() {
        out.set(0);
        return;
    }
    let subs = known.subcommands();
    if as_map {
        out.map(subs.len());
    } else {
        out.array(subs.len());
    }
    for sub in subs {
        if as_map {
            out.bulk(sub.full_name().as_bytes());
        }
        write(out, sub);
    }
}

fn write_key_specs(out: &mut Reply, m: &CommandMeta) {
    out.set(m.key_specs.len());
    for spec in m.key_specs {
        out.map(if spec.notes.is_empty() { 3 } else { 4 });
        if !spec.notes.is_empty() {
            out.bulk(b"notes");
            out.bulk(spec.notes.as_bytes());
        }
        out.bulk(b"flags");
        write_flags(out, spec.flags, meta::key::NAMES);
        out.bulk(b"begin_search");
        out.map(2);
        out.bulk(b"type");
        match spec.begin {
            meta::BeginSearch::Index(index) => {
                out.bulk(b"index");
                out.bulk(b"spec");
                out.map(1);
                out.bulk(b"index");
                out.int(i64::from(index));
            }
            meta::BeginSearch::Keyword(keyword, startfrom) => {
                out.bulk(b"keyword");
                out.bulk(b"spec");
                out.map(2);
                out.bulk(b"keyword");
                out.bulk(keyword.as_bytes());
                out.bulk(b"startfrom");
                out.int(i64::from(startfrom));
            }
            meta::BeginSearch::UnknownBegin => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
            }
        }
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        match spec.find {
            meta::FindKeys::Range {
                lastkey,
                step,
                limit,
            } => write_int_spec(out, "range", [("lastkey", lastkey), ("keystep", step), ("limit", limit)]),
            meta::FindKeys::Keynum {
                keynumidx,
                firstkey,
                step,
            } => write_int_spec(
                out,
                "keynum",
                [("keynumidx", keynumidx), ("firstkey", firstkey), ("keystep", step)],
            ),
            meta::FindKeys::UnknownFind => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
            }
        }
    }
}

/// The rest of a find_keys map: its type's name and three numbers.
fn write_int_spec(out: &mut Reply, kind: &str, fields: [(&str, i32); 3]) {
    out.bulk(kind.as_bytes());
    out.bulk(b"spec");
    out.map(3);
    for (name, value) in fields {
        out.bulk(name.as_bytes());
        out.int(i64::from(value));
    }
}

/// One command's COMMAND DOCS map.
fn write_docs(out: &mut Reply, known: Known) {
    let Some(m) = known.meta else {
        // Not a Redis 7.0 command: only its group.
        out.map(1);
        out.bulk(b"group");
        out.bulk(known.row.group.as_bytes());
        return;
    };
    let texts = [
        ("summary", m.summary),
        ("since", m.since),
        ("group", m.group),
        ("complexity", m.complexity),
    ];
    let later = [
        ("deprecated_since", m.deprecated_since),
        ("replaced_by", m.replaced_by),
    ];
    let has_subcommands = !known.row.subcommands.is_empty();
    let len = texts.iter().chain(&later).filter(|(_, v)| !v.is_empty()).count()
        + usize::from(m.doc_flags != 0)
        + usize::from(!m.history.is_empty())
        + usize::from(!m.args.is_empty())
        + usize::from(has_subcommands);
    out.map(len);
    for (name, value) in texts.iter().filter(|(_, v)| !v.is_empty()) {
        out.bulk(name.as_bytes());
        out.bulk(value.as_bytes());
    }
    if m.doc_flags != 0 {
        out.bulk(b"doc_flags");
        write_flags(out, m.doc_flags, meta::doc::NAMES);
    }
    for (name, value) in later.iter().filter(|(_, v)| !v.is_empty()) {
        out.bulk(name.as_bytes());
        out.bulk(value.as_bytes());
    }
    if !m.history.is_empty() {
        out.bulk(b"history");
        out.set(m.history.len());
        for (since, change) in m.history {
            out.array(2);
            out.bulk(since.as_bytes());
            out.bulk(change.as_bytes());
        }
    }
    if !m.args.is_empty() {
        out.bulk(b"arguments");
        write_args(out, m.args);
    }
    if has_subcommands {
        out.bulk(b"subcommands");
        write_subcommands(out, known, write_docs, true);
    }
}

fn write_args(out: &mut Reply, args: &[meta::Arg]) {
    out.array(args.len());
    for arg in args {
        let nested = matches!(arg.kind, meta::ArgType::OneOf | meta::ArgType::Block);
        let texts = [
            ("since", arg.since),
            ("deprecated_since", arg.deprecated_since),
        ];
        let len = 2
            + usize::from(arg.key_spec >= 0)
            + usize::from(arg.token.is_some())
            + texts.iter().filter(|(_, v)| !v.is_empty()).count()
            + usize::from(arg.flags != 0)
            + usize::from(nested);
        out.map(len);
        out.bulk(b"name");
        out.bulk(arg.name.as_bytes());
        out.bulk(b"type");
        out.bulk(arg.kind.name().as_bytes());
        if arg.key_spec >= 0 {
            out.bulk(b"key_spec_index");
            out.int(i64::from(arg.key_spec));
        }
        if let Some(token) = arg.token {
            out.bulk(b"token");
            out.bulk(token.as_bytes());
        }
        for (name, value) in texts.iter().filter(|(_, v)| !v.is_empty()) {
            out.bulk(name.as_bytes());
            out.bulk(value.as_bytes());
        }
        if arg.flags != 0 {
            out.bulk(b"flags");
            write_flags(out, arg.flags, meta::arg::NAMES);
        }
        if nested {
            out.bulk(b"arguments");
            write_args(out, arg.args);
        }
    }
}
