//! What a stand-alone Redis 7.0 answers to the commands clients send to
//! learn what they talk to: CLUSTER and its cluster-only companions
//! (READONLY, READWRITE, ASKING) refuse, MODULE lists no modules and loads
//! none, ROLE says master, LOLWUT prints the version.

use super::flags::*;
use super::server::help_reply;
use super::{Args, CmdResult, Command, Context, NO_KEYS};

const CLUSTER_DISABLED: &str = "ERR This instance has cluster support disabled";
const MODULE_NOT_ALLOWED: &str = "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// The flags Redis gives CLUSTER's subcommands that change the cluster.
const CLUSTER_ADMIN: u32 = ADMIN | STALE;

pub static COMMANDS: &[Command] = &[
    Command::container("cluster", "cluster", CLUSTER),
    Command::new(
        "readonly",
        1,
        FAST | LOADING | STALE,
        NO_KEYS,
        "cluster",
        refused,
    ),
    Command::new(
        "readwrite",
        1,
        FAST | LOADING | STALE,
        NO_KEYS,
        "cluster",
        refused,
    ),
    Command::new("asking", 1, FAST, NO_KEYS, "cluster", refused),
    Command::container("module", "server", MODULE),
    Command::new("lolwut", -1, READONLY | FAST, NO_KEYS, "server", lolwut),
];

/// Every CLUSTER subcommand of Redis 7.0, with its arity: a wrong count
/// still gets "wrong number of arguments", the rest the refusal.
static CLUSTER: &[Command] = &[
    Command::new("addslots", -3, CLUSTER_ADMIN, NO_KEYS, "cluster", refused),
    Command::new(
        "addslotsrange",
        -4,
        CLUSTER_ADMIN,
        NO_KEYS,
        "cluster",
        refused,
    ),
    Command::new("bumpepoch", 2, CLUSTER_ADMIN, NO_KEYS, "cluster", refused),
    Command::new(
        "count-failure-reports",
        3,
        CLUSTER_ADMIN,
        NO_KEYS,
        "cluster",
        refused,
    ),
    Command::new("countkeysinslot", 3, STALE, NO_KEYS, "cluster", refused),
    Command::new("delslots", -3, CLUSTER_ADMIN, NO_KEYS, "cluster", refused),
    Command::new(
        "delslotsrange",
        -4,
        CLUSTER_ADMIN,
        NO_KEYS,
        "cluster",
        refused,
    ),
    Command::new("failover", -2, CLUSTER_ADMIN, NO_KEYS, "cluster", refused),
    Command::new("flushslots", 2, CLUSTER_ADMIN, NO_KEYS, "cluster", refused),
    Command::new("forget", 3, CLUSTER_ADMIN, NO_KEYS, "cluster", refused),
    Command::new("getkeysinslot", 4, STALE, NO_KEYS, "cluster", refused),
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "cluster", refused),
    Command::new("info", 2, STALE, NO_KEYS, "cluster", refused),
    Command::new("keyslot", 3, STALE, NO_KEYS, "cluster", refused),
    Command::new("links", 2, STALE, NO_KEYS, "cluster", refused),
    Command::new("meet", -4, CLUSTER_ADMIN, NO_KEYS, "cluster", refused),
    Command::new("myid", 2, STALE, NO_KEYS, "cluster", refused),
    Command::new("nodes", 2, STALE, NO_KEYS, "cluster", refused),
    Command::new("replicas", 3, CLUSTER_ADMIN, NO_KEYS, "cluster", refused),
    Command::new("replicate", 3, CLUSTER_ADMIN, NO_KEYS, "cluster", refused),
    Command::new(
        "reset",
        -2,
        CLUSTER_ADMIN | NOSCRIPT,
        NO_KEYS,
        "cluster",
        refused,
    ),
    Command::new("saveconfig", 2, CLUSTER_ADMIN, NO_KEYS, "cluster", refused),
    Command::new(
        "set-config-epoch",
        3,
        CLUSTER_ADMIN,
        NO_KEYS,
        "cluster",
        refused,
    ),
    Command::new("setslot", -4, CLUSTER_ADMIN, NO_KEYS, "cluster", refused),
    Command::new("shards", 2, STALE, NO_KEYS, "cluster", refused),
    Command::new("slaves", 3, CLUSTER_ADMIN, NO_KEYS, "cluster", refused),
    Command::new("slots", 2, STALE, NO_KEYS, "cluster", refused),
];

/// MODULE's flags for the subcommands that would load or unload code.
const MODULE_ADMIN: u32 = ADMIN | NOSCRIPT;

static MODULE: &[Command] = &[
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "server", module_help),
    Command::new("list", 2, MODULE_ADMIN, NO_KEYS, "server", module_list),
    Command::new("load", -3, MODULE_ADMIN, NO_KEYS, "server", module_refused),
    Command::new(
        "loadex",
        -3,
        MODULE_ADMIN,
        NO_KEYS,
        "server",
        module_refused,
    ),
    Command::new("unload", 3, MODULE_ADMIN, NO_KEYS, "server", module_refused),
];

// CLUSTER subcommand [argument ...], READONLY, READWRITE, ASKING
fn refused(_: &mut Context<'_>, _: &Args) -> CmdResult {
    Err(CLUSTER_DISABLED.into())
}

// MODULE LIST
fn module_list(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    cx.out.array(0);
    Ok(())
}

// MODULE LOAD path [arg ...], MODULE LOADEX path [...], MODULE UNLOAD name
//
// respd loads no native code: it answers as Redis does with
// `enable-module-command no`, its default.
fn module_refused(_: &mut Context<'_>, _: &Args) -> CmdResult {
    Err(MODULE_NOT_ALLOWED.into())
}

// MODULE HELP
fn module_help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    help_reply(
        cx.out,
        "MODULE",
        &[
            "LIST",
            "    Return a list of loaded modules.",
            "LOAD <path> [<arg> ...]",
            "    Load a module library from <path>, passing to it any optional arguments.",
            "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
            "    Load a module library from <path>, while passing it module configurations and optional arguments.",
            "UNLOAD <name>",
            "    Unload a module.",
        ],
    );
    Ok(())
}

// LOLWUT [VERSION version]
//
// Redis 7.0's own LOLWUT (any version but 5 and 6, whose art is drawn at
// random) prints the server's version; so does respd's, for every version.
fn lolwut(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    if args.len() >= 3 && super::is(&args[1], "version") {
        // Redis reads the version as a long before anything else.
        super::int_arg(&args[2])?;
    }
    let text = format!("Redis ver. {}\n", crate::REDIS_VERSION);
    cx.out.verbatim(text.as_bytes());
    Ok(())
}
