//! What Redis 7.0 publishes about each command (COMMAND INFO, COMMAND DOCS,
//! COMMAND GETKEYS, ACL categories). The types and look-ups are here; the
//! data is in `table.rs`, generated from Redis's own per-command JSON by
//! `scripts/gen-command-meta.py` and never edited by hand; `keys.rs` finds
//! a call's keys as Redis does and `reply.rs` writes COMMAND's entries.
//!
//! The table covers every Redis 7.0 command, so a command gets its
//! metadata the moment its row joins the dispatch table; COMMAND shows
//! only the commands respd has. `tests/command_info.rs` checks that each
//! dispatch row's arity, flags, key range and group agree with it.

mod keys;
mod reply;
#[rustfmt::skip]
mod table;

pub use keys::{keys_of_call, KeyRef, INVALID_ARGUMENTS, INVALID_ARGUMENT_COUNT, NO_KEY_ARGUMENTS};

/// Command flags (COMMAND INFO's third field), in the order Redis lists
/// them; the hidden ones last.
pub mod cmd {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const MODULE: u32 = 1 << 3;
    pub const ADMIN: u32 = 1 << 4;
    pub const PUBSUB: u32 = 1 << 5;
    pub const NOSCRIPT: u32 = 1 << 6;
    pub const BLOCKING: u32 = 1 << 7;
    pub const LOADING: u32 = 1 << 8;
    pub const STALE: u32 = 1 << 9;
    pub const SKIP_MONITOR: u32 = 1 << 10;
    pub const SKIP_SLOWLOG: u32 = 1 << 11;
    pub const ASKING: u32 = 1 << 12;
    pub const FAST: u32 = 1 << 13;
    pub const NO_AUTH: u32 = 1 << 14;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 15;
    pub const NO_ASYNC_LOADING: u32 = 1 << 16;
    pub const NO_MULTI: u32 = 1 << 17;
    pub const MOVABLE_KEYS: u32 = 1 << 18;
    pub const ALLOW_BUSY: u32 = 1 << 19;
    // Not shown by COMMAND.
    pub const MAY_REPLICATE: u32 = 1 << 20;
    pub const SENTINEL: u32 = 1 << 21;
    pub const PROTECTED: u32 = 1 << 22;
    pub const TOUCHES_ARBITRARY_KEYS: u32 = 1 << 23;

    /// The flags COMMAND shows, with their names, in its order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (MODULE, "module"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ASKING, "asking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];

    /// A flag by its lower-case name, the hidden ones included.
    pub fn by_name(name: &str) -> Option<u32> {
        let hidden = [
            (MAY_REPLICATE, "may_replicate"),
            (SENTINEL, "sentinel"),
            (PROTECTED, "protected"),
            (TOUCHES_ARBITRARY_KEYS, "touches_arbitrary_keys"),
        ];
        NAMES
            .iter()
            .chain(&hidden)
            .find(|(_, n)| *n == name)
            .map(|(bit, _)| *bit)
    }
}

/// ACL categories, in the order Redis lists them (ACL CAT, COMMAND INFO).
pub mod acl {
    pub const KEYSPACE: u32 = 1;
    pub const READ: u32 = 1 << 1;
    pub const WRITE: u32 = 1 << 2;
    pub const SET: u32 = 1 << 3;
    pub const SORTEDSET: u32 = 1 << 4;
    pub const LIST: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const STRING: u32 = 1 << 7;
    pub const BITMAP: u32 = 1 << 8;
    pub const HYPERLOGLOG: u32 = 1 << 9;
    pub const GEO: u32 = 1 << 10;
    pub const STREAM: u32 = 1 << 11;
    pub const PUBSUB: u32 = 1 << 12;
    pub const ADMIN: u32 = 1 << 13;
    pub const FAST: u32 = 1 << 14;
    pub const SLOW: u32 = 1 << 15;
    pub const BLOCKING: u32 = 1 << 16;
    pub const DANGEROUS: u32 = 1 << 17;
    pub const CONNECTION: u32 = 1 << 18;
    pub const TRANSACTION: u32 = 1 << 19;
    pub const SCRIPTING: u32 = 1 << 20;

    /// Every category's name with its `@`; bit `i` is `NAMES[i]`.
    pub const NAMES: &[&str] = &[
        "@keyspace",
        "@read",
        "@write",
        "@set",
        "@sortedset",
        "@list",
        "@hash",
        "@string",
        "@bitmap",
        "@hyperloglog",
        "@geo",
        "@stream",
        "@pubsub",
        "@admin",
        "@fast",
        "@slow",
        "@blocking",
        "@dangerous",
        "@connection",
        "@transaction",
        "@scripting",
    ];

    /// The bit of a category named without `@`, in any case.
    pub fn by_name(name: &[u8]) -> Option<u32> {
        NAMES
            .iter()
            .position(|n| n.as_bytes()[1..].eq_ignore_ascii_case(name))
            .map(|i| 1 << i)
    }
}

/// Key spec flags, in the order Redis lists them.
pub mod key {
    pub const RO: u32 = 1;
    pub const RW: u32 = 1 << 1;
    pub const OW: u32 = 1 << 2;
    pub const RM: u32 = 1 << 3;
    pub const ACCESS: u32 = 1 << 4;
    pub const UPDATE: u32 = 1 << 5;
    pub const INSERT: u32 = 1 << 6;
    pub const DELETE: u32 = 1 << 7;
    pub const NOT_KEY: u32 = 1 << 8;
    pub const INCOMPLETE: u32 = 1 << 9;
    pub const VARIABLE_FLAGS: u32 = 1 << 10;

    pub const NAMES: &[(u32, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

/// One command or subcommand as Redis 7.0 describes it. Empty strings
/// stand for fields Redis leaves out.
#[derive(Debug)]
pub struct CommandMeta {
    /// Lower case; a subcommand's own name (`list`, not `client|list`).
    pub name: &'static str,
    pub arity: i32,
    /// [`cmd`] bits, `movablekeys` included.
    pub flags: u32,
    /// [`acl`] bits, the implicit ones (`@write`, `@slow`...) included.
    pub acl: u32,
    /// COMMAND INFO's legacy first key, last key, step.
    pub range: (i32, i32, i32),
    pub tips: &'static [&'static str],
    pub key_specs: &'static [KeySpec],
    /// The extra key finder Redis falls back to when the specs cannot say.
    pub getkeys: Option<GetKeys>,
    /// COMMAND DOCS's fields, compactly: see [`Docs`].
    pub docs: &'static str,
    pub subcommands: &'static [CommandMeta],
}

/// Where a command's keys are, as a Redis 7.0 key specification.
#[derive(Debug)]
pub struct KeySpec {
    pub notes: &'static str,
    /// [`key`] bits.
    pub flags: u32,
    pub begin: BeginSearch,
    pub find: FindKeys,
}

/// Where the search for a spec's keys starts.
#[derive(Debug)]
pub enum BeginSearch {
    /// At this argument.
    Index(i32),
    /// After this keyword, searched from `startfrom` (negative: from the end, backwards).
    Keyword(&'static str, i32),
    UnknownBegin,
}

/// Which arguments from the start are keys.
#[derive(Debug)]
pub enum FindKeys {
    /// Up to `lastkey` (relative to the start; negative counts from the
    /// end), every `step`; `limit` n stops at 1/n of the remaining arguments.
    Range {
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    /// The argument at `keynumidx` counts the keys, which start at `firstkey`.
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
    UnknownFind,
}

/// COMMAND DOCS's fields of one command, read from its `docs` string:
/// one line each for summary, since, group, complexity, doc flags
/// (space-separated), deprecated_since and replaced_by; then a line per
/// history entry (`H`, version, change) and per argument (`A`, then
/// [`ArgDoc`]'s fields), tab-separated. One string per command instead of
/// a pointer per field keeps the binary small. Empty means absent.
#[derive(Debug, Default)]
pub struct Docs {
    pub summary: &'static str,
    pub since: &'static str,
    pub group: &'static str,
    pub complexity: &'static str,
    pub doc_flags: Vec<&'static str>,
    pub deprecated_since: &'static str,
    pub replaced_by: &'static str,
    /// (version, change).
    pub history: Vec<(&'static str, &'static str)>,
    /// In order, nested arguments right after their `oneof` or `block`.
    pub args: Vec<ArgDoc>,
}

/// One documented argument (COMMAND DOCS's `arguments`).
#[derive(Debug, Default, Clone)]
pub struct ArgDoc {
    /// 0 for the command's own arguments, 1 for the parts of one of them...
    pub depth: usize,
    pub name: &'static str,
    /// `string`, `key`, `oneof`...
    pub kind: &'static str,
    /// The key spec it belongs to, or -1.
    pub key_spec: i64,
    /// `optional`, `multiple`, `multiple_token`, in that order.
    pub flags: Vec<&'static str>,
    /// Present but empty for MIGRATE's empty-string key.
    pub token: Option<&'static str>,
    pub since: &'static str,
    pub deprecated_since: &'static str,
}

impl Docs {
    fn parse(text: &'static str) -> Docs {
        let mut lines = text.split('\n');
        let mut next = || lines.next().unwrap_or("");
        let mut docs = Docs {
            summary: next(),
            since: next(),
            group: next(),
            complexity: next(),
            doc_flags: next().split_whitespace().collect(),
            deprecated_since: next(),
            replaced_by: next(),
            ..Docs::default()
        };
        for line in lines {
            let mut fields = line.split('\t');
            match fields.next() {
                Some("H") => {
                    let since = fields.next().unwrap_or("");
                    docs.history.push((since, fields.next().unwrap_or("")));
                }
                Some("A") => {
                    let mut field = || fields.next().unwrap_or("");
                    let depth = field().parse().unwrap_or(0);
                    let name = field();
                    let kind = field();
                    let key_spec = field().parse().unwrap_or(-1);
                    let flags = field()
                        .chars()
                        .filter_map(|letter| match letter {
                            'o' => Some("optional"),
                            'm' => Some("multiple"),
                            't' => Some("multiple_token"),
                            _ => None,
                        })
                        .collect();
                    let token = field().strip_prefix('=');
                    docs.args.push(ArgDoc {
                        depth,
                        name,
                        kind,
                        key_spec,
                        flags,
                        token,
                        since: field(),
                        deprecated_since: field(),
                    });
                }
                _ => {}
            }
        }
        docs
    }
}

/// Redis's hand-written key finders (db.c's `*GetKeys`), for commands
/// whose key specs are incomplete or whose flags vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetKeys {
    Bitfield,
    Blmpop,
    Bzmpop,
    Eval,
    Function,
    Georadius,
    Lmpop,
    Migrate,
    Set,
    Sintercard,
    Sort,
    SortRO,
    Xread,
    Zmpop,
    ZunionInterDiff,
    ZunionInterDiffStore,
}

/// Every Redis 7.0 command (sentinel's aside), sorted by name.
pub fn all() -> &'static [CommandMeta] {
    table::COMMANDS
}

/// A top-level command's metadata by name, in any case.
pub fn command(name: &[u8]) -> Option<&'static CommandMeta> {
    search(table::COMMANDS, name)
}

/// A command's or subcommand's metadata by its full name, in any case:
/// `get`, `client|list`.
pub fn find(full_name: &[u8]) -> Option<&'static CommandMeta> {
    let mut parts = full_name.split(|&b| b == b'|');
    let parent = command(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(parent),
        (Some(sub), None) => parent.subcommand(sub),
        _ => None,
    }
}

fn search(rows: &'static [CommandMeta], name: &[u8]) -> Option<&'static CommandMeta> {
    let lower = name.to_ascii_lowercase();
    rows.binary_search_by(|row| row.name.as_bytes().cmp(&lower))
        .ok()
        .map(|i| &rows[i])
}

/// The ACL categories of a command or subcommand by full name, with their
/// `@`, in Redis's order (empty for an unknown name).
pub fn categories(full_name: &[u8]) -> Vec<&'static str> {
    find(full_name).map_or_else(Vec::new, CommandMeta::categories)
}

/// Every ACL category's name without its `@`, in Redis's order (ACL CAT).
pub fn category_names() -> impl Iterator<Item = &'static str> {
    acl::NAMES.iter().map(|name| &name[1..])
}

/// The row Redis runs for a call (`lookupCommand`): the command, or its
/// subcommand when it has subcommands and the call names one.
pub fn resolve(call: &[Vec<u8>]) -> Option<&'static CommandMeta> {
    let top = command(call.first()?)?;
    match call.get(1) {
        Some(sub) if !top.subcommands.is_empty() => top.subcommand(sub),
        _ => Some(top),
    }
}

impl CommandMeta {
    /// A subcommand by name, in any case.
    pub fn subcommand(&self, name: &[u8]) -> Option<&'static CommandMeta> {
        search(self.subcommands, name)
    }

    /// Its COMMAND DOCS fields.
    pub fn docs(&self) -> Docs {
        Docs::parse(self.docs)
    }

    pub fn has_flag(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// The command's ACL categories with their `@`, in Redis's order.
    pub fn categories(&self) -> Vec<&'static str> {
        (0..acl::NAMES.len())
            .filter(|i| self.acl & (1 << i) != 0)
            .map(|i| acl::NAMES[i])
            .collect()
    }
}

/// The names of the bits set in `flags`, in the table's order.
pub fn flag_names(
    flags: u32,
    names: &'static [(u32, &'static str)],
) -> impl Iterator<Item = &'static str> {
    names
        .iter()
        .filter(move |(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
}
