//! What Redis 7.0 publishes about each command (COMMAND INFO, COMMAND DOCS,
//! COMMAND GETKEYS, ACL categories): the types and COMMAND's writers here, the data in
//! `meta_table.rs`, generated from Redis's own per-command JSON by
//! `scripts/gen-command-meta.py` and never edited by hand.
//!
//! The table covers every Redis 7.0 command, so a command gets its
//! metadata the moment its row joins the dispatch table; COMMAND shows
//! only the commands respd has. `tests/command_info.rs` checks that each
//! dispatch row's arity, flags, key range and group agree with it.

use crate::resp::Reply;

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

#[rustfmt::skip]
#[path = "meta_table.rs"]
mod table;

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

// Why COMMAND GETKEYS finds no keys, in Redis's words.
pub const NO_KEY_ARGUMENTS: &str = "ERR The command has no key arguments";
pub const INVALID_ARGUMENT_COUNT: &str = "ERR Invalid number of arguments specified for command";
pub const INVALID_ARGUMENTS: &str = "ERR Invalid arguments specified for command";

/// COMMAND GETKEYS's answer for `call` (the command's name first) of the
/// command `m`, checked in Redis's order: it takes keys, its arity fits,
/// its arguments name keys (or need not).
pub fn keys_of_call(m: &CommandMeta, call: &[Vec<u8>]) -> Result<Vec<KeyRef>, &'static str> {
    if !m.has_keys() {
        return Err(NO_KEY_ARGUMENTS);
    }
    let argc = call.len() as i64;
    let arity = i64::from(m.arity);
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(INVALID_ARGUMENT_COUNT);
    }
    let keys = m.keys(call);
    if keys.is_empty() && !m.has_flag(cmd::NO_MANDATORY_KEYS) {
        return Err(INVALID_ARGUMENTS);
    }
    Ok(keys)
}

/// One key found in a command's arguments: its position and [`key`] flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: u32,
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

    /// True when some of its arguments can be keys (Redis's
    /// `doesCommandHaveKeys`).
    pub fn has_keys(&self) -> bool {
        self.getkeys.is_some() || self.key_specs.iter().any(|s| s.flags & key::NOT_KEY == 0)
    }

    /// The keys in a call of this command, `args[0]` being its name, as
    /// Redis's `getKeysFromCommandWithSpecs`: the key specs when they can
    /// tell, else the command's own finder. Empty when the arguments name
    /// no keys (often a syntax error the command itself will report).
    pub fn keys(&self, args: &[Vec<u8>]) -> Vec<KeyRef> {
        let all_flags = self.key_specs.iter().fold(0, |acc, s| acc | s.flags);
        let has_real_spec = self.key_specs.iter().any(|s| s.flags & key::NOT_KEY == 0);
        if has_real_spec && all_flags & key::VARIABLE_FLAGS == 0 {
            if let Some(keys) = self.keys_from_specs(args) {
                return keys;
            }
        }
        match self.getkeys {
            Some(finder) => finder.keys(args),
            None => Vec::new(),
        }
    }

    /// Redis's `getKeysUsingKeySpecs`: `None` when a spec cannot be
    /// followed (unknown, incomplete, out of range).
    fn keys_from_specs(&self, args: &[Vec<u8>]) -> Option<Vec<KeyRef>> {
        let argc = args.len() as i64;
        let mut keys = Vec::new();
        for spec in self.key_specs {
            if spec.flags & key::NOT_KEY != 0 {
                continue;
            }
            let mut first: i64 = match spec.begin {
                BeginSearch::Index(pos) => i64::from(pos),
                BeginSearch::Keyword(word, startfrom) => {
                    match find_keyword(args, word, i64::from(startfrom)) {
                        Some(after) => after,
                        None => continue,
                    }
                }
                BeginSearch::UnknownBegin => return None,
            };
            let (last, step) = match spec.find {
                FindKeys::Range {
                    lastkey,
                    step,
                    limit,
                } => {
                    let last = if lastkey >= 0 {
                        first + i64::from(lastkey)
                    } else if limit == 0 {
                        argc + i64::from(lastkey)
                    } else {
                        first + ((argc - first) / i64::from(limit) + i64::from(lastkey))
                    };
                    (last, i64::from(step))
                }
                FindKeys::Keynum {
                    keynumidx,
                    firstkey,
                    step,
                } => {
                    if i64::from(keynumidx) >= argc {
                        return None;
                    }
                    let count = args
                        .get((first + i64::from(keynumidx)) as usize)
                        .and_then(|arg| crate::util::parse_i64(arg))
                        .filter(|&n| n >= 0)?;
                    first += i64::from(firstkey);
                    // Redis keeps the count in an int.
                    (first + i64::from(count as i32) - 1, i64::from(step))
                }
                FindKeys::UnknownFind => return None,
            };
            if last >= argc || last < first || first >= argc {
                return None;
            }
            let mut pos = first;
            while pos <= last {
                keys.push(KeyRef {
                    pos: pos as usize,
                    flags: spec.flags,
                });
                pos += step.max(1);
            }
            if spec.flags & key::INCOMPLETE != 0 {
                return None;
            }
        }
        Some(keys)
    }
}

/// The position after `word`, searched from `startfrom` (forwards) or
/// from `argc + startfrom` backwards to 1, as Redis's keyword search.
fn find_keyword(args: &[Vec<u8>], word: &str, startfrom: i64) -> Option<i64> {
    let argc = args.len() as i64;
    let (start, end) = if startfrom > 0 {
        (startfrom, argc - 1)
    } else {
        (argc + startfrom, 1)
    };
    let mut i = start;
    while i != end {
        if i >= argc || i < 1 {
            break;
        }
        if args[i as usize].eq_ignore_ascii_case(word.as_bytes()) {
            return Some(i + 1);
        }
        i = if start <= end { i + 1 } else { i - 1 };
    }
    None
}

/// C's `atoi` on an argument (leading blanks, a sign, digits), as
/// Redis's `genericGetKeys` reads a key count.
fn atoi(arg: &[u8]) -> i32 {
    let text = arg
        .iter()
        .skip_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c));
    let mut negative = false;
    let mut value: i64 = 0;
    for (i, &b) in text.enumerate() {
        match b {
            b'-' | b'+' if i == 0 => negative = b == b'-',
            b'0'..=b'9' => value = value.saturating_mul(10).saturating_add(i64::from(b - b'0')),
            _ => break,
        }
    }
    (if negative { -value } else { value }) as i32
}

impl GetKeys {
    fn keys(self, args: &[Vec<u8>]) -> Vec<KeyRef> {
        let argc = args.len();
        let at = |pos: usize, flags: u32| KeyRef { pos, flags };
        let is = |i: usize, word: &str| args[i].eq_ignore_ascii_case(word.as_bytes());
        match self {
            GetKeys::Sintercard | GetKeys::ZunionInterDiff | GetKeys::Lmpop | GetKeys::Zmpop => {
                counted_keys(args, None, 1, 2)
            }
            GetKeys::ZunionInterDiffStore => counted_keys(args, Some(1), 2, 3),
            GetKeys::Eval | GetKeys::Function | GetKeys::Blmpop | GetKeys::Bzmpop => {
                counted_keys(args, None, 2, 3)
            }
            GetKeys::SortRO => vec![at(1, key::RO | key::ACCESS)],
            GetKeys::Sort => {
                let mut keys = vec![at(1, key::RO | key::ACCESS)];
                let mut store = None;
                let mut i = 2;
                while i < argc {
                    if is(i, "limit") {
                        i += 2;
                    } else if is(i, "get") || is(i, "by") {
                        i += 1;
                    } else if is(i, "store") && i + 1 < argc {
                        // The last STORE wins, as in SORT itself.
                        store = Some(at(i + 1, key::OW | key::UPDATE));
                    }
                    i += 1;
                }
                keys.extend(store);
                keys
            }
            GetKeys::Migrate => {
                let (mut first, mut num) = (3, 1);
                let mut i = 6;
                while i < argc {
                    if is(i, "keys") {
                        if args[3].is_empty() {
                            first = i + 1;
                            num = argc - first;
                        } else {
                            // A syntax error MIGRATE itself reports.
                            num = 0;
                        }
                        break;
                    }
                    if is(i, "auth") {
                        i += 1;
                    } else if is(i, "auth2") {
                        i += 2;
                    }
                    i += 1;
                }
                (first..first + num)
                    .map(|pos| at(pos, key::RW | key::ACCESS | key::DELETE))
                    .collect()
            }
            GetKeys::Georadius => {
                let mut keys = vec![at(1, 0)];
                let mut stored = None;
                let mut i = 5;
                while i < argc {
                    if (is(i, "store") || is(i, "storedist")) && i + 1 < argc {
                        stored = Some(at(i + 1, 0));
                        i += 1;
                    }
                    i += 1;
                }
                keys.extend(stored);
                keys
            }
            GetKeys::Xread => {
                let mut streams = None;
                let mut i = 1;
                while i < argc {
                    if is(i, "block") || is(i, "count") {
                        i += 1;
                    } else if is(i, "group") {
                        i += 2;
                    } else if is(i, "streams") {
                        streams = Some(i);
                        break;
                    } else if !is(i, "noack") {
                        break;
                    }
                    i += 1;
                }
                let Some(streams) = streams else {
                    return Vec::new();
                };
                let num = argc - streams - 1;
                if num == 0 || num % 2 != 0 {
                    return Vec::new();
                }
                (streams + 1..streams + 1 + num / 2)
                    .map(|pos| at(pos, 0))
                    .collect()
            }
            GetKeys::Set => {
                let get = (3..argc).any(|i| is(i, "get"));
                let flags = if get {
                    key::RW | key::ACCESS | key::UPDATE
                } else {
                    key::OW | key::UPDATE
                };
                vec![at(1, flags)]
            }
            GetKeys::Bitfield => {
                let mut readonly = true;
                let mut i = 2;
                while i < argc {
                    let remaining = argc - i - 1;
                    if is(i, "get") && remaining >= 2 {
                        i += 2;
                    } else if (is(i, "set") || is(i, "incrby")) && remaining >= 3 {
                        readonly = false;
                        break;
                    } else if is(i, "overflow") && remaining >= 1 {
                        i += 1;
                    } else {
                        // A syntax error: safer to assume a write.
                        readonly = false;
                        break;
                    }
                    i += 1;
                }
                let flags = if readonly {
                    key::RO | key::ACCESS
                } else {
                    key::RW | key::ACCESS | key::UPDATE
                };
                vec![at(1, flags)]
            }
        }
    }
}

/// Redis's `genericGetKeys`: `COMMAND [dest] numkeys key ...`, the count
/// at `count_at` and the keys from `first`; the destination comes last.
fn counted_keys(
    args: &[Vec<u8>],
    dest: Option<usize>,
    count_at: usize,
    first: usize,
) -> Vec<KeyRef> {
    let count = args.get(count_at).map_or(0, |arg| atoi(arg));
    let room = args.len().saturating_sub(first) as i64;
    if count < 1 || i64::from(count) > room {
        return Vec::new();
    }
    let mut keys: Vec<KeyRef> = (0..count as usize)
        .map(|i| KeyRef {
            pos: first + i,
            flags: 0,
        })
        .collect();
    keys.extend(dest.map(|pos| KeyRef { pos, flags: 0 }));
    keys
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

// ----- As COMMAND shows it ----------------------------------------------------

/// A set of status replies.
fn write_names(out: &mut Reply, names: &[&str]) {
    out.set(names.len());
    names.iter().for_each(|name| out.simple(name));
}

fn write_flags(out: &mut Reply, flags: u32, names: &'static [(u32, &'static str)]) {
    write_names(out, &flag_names(flags, names).collect::<Vec<_>>());
}

impl CommandMeta {
    /// Its 10-field COMMAND INFO entry, named `full_name`, listing the
    /// subcommands `subs` (those the server has).
    pub fn write_info(&self, out: &mut Reply, full_name: &str, subs: &[&CommandMeta]) {
        out.array(10);
        out.bulk(full_name.as_bytes());
        out.int(i64::from(self.arity));
        write_flags(out, self.flags, cmd::NAMES);
        out.int(i64::from(self.range.0));
        out.int(i64::from(self.range.1));
        out.int(i64::from(self.range.2));
        write_names(out, &self.categories());
        out.set(self.tips.len());
        self.tips.iter().for_each(|tip| out.bulk(tip.as_bytes()));
        self.write_key_specs(out);
        if self.subcommands.is_empty() {
            out.set(0);
        } else {
            out.array(subs.len());
            for sub in subs {
                sub.write_info(out, &format!("{full_name}|{}", sub.name), &[]);
            }
        }
    }

    fn write_key_specs(&self, out: &mut Reply) {
        out.set(self.key_specs.len());
        for spec in self.key_specs {
            out.map(if spec.notes.is_empty() { 3 } else { 4 });
            if !spec.notes.is_empty() {
                out.bulk(b"notes");
                out.bulk(spec.notes.as_bytes());
            }
            out.bulk(b"flags");
            write_flags(out, spec.flags, key::NAMES);
            out.bulk(b"begin_search");
            out.map(2);
            out.bulk(b"type");
            match spec.begin {
                BeginSearch::Index(index) => {
                    out.bulk(b"index");
                    out.bulk(b"spec");
                    out.map(1);
                    out.bulk(b"index");
                    out.int(i64::from(index));
                }
                BeginSearch::Keyword(keyword, startfrom) => {
                    out.bulk(b"keyword");
                    out.bulk(b"spec");
                    out.map(2);
                    out.bulk(b"keyword");
                    out.bulk(keyword.as_bytes());
                    out.bulk(b"startfrom");
                    out.int(i64::from(startfrom));
                }
                BeginSearch::UnknownBegin => {
                    out.bulk(b"unknown");
                    out.bulk(b"spec");
                    out.map(0);
                }
            }
            out.bulk(b"find_keys");
            out.map(2);
            out.bulk(b"type");
            let (kind, fields) = match spec.find {
                FindKeys::Range {
                    lastkey,
                    step,
                    limit,
                } => (
                    "range",
                    [("lastkey", lastkey), ("keystep", step), ("limit", limit)],
                ),
                FindKeys::Keynum {
                    keynumidx,
                    firstkey,
                    step,
                } => (
                    "keynum",
                    [
                        ("keynumidx", keynumidx),
                        ("firstkey", firstkey),
                        ("keystep", step),
                    ],
                ),
                FindKeys::UnknownFind => {
                    out.bulk(b"unknown");
                    out.bulk(b"spec");
                    out.map(0);
                    continue;
                }
            };
            out.bulk(kind.as_bytes());
            out.bulk(b"spec");
            out.map(3);
            for (name, value) in fields {
                out.bulk(name.as_bytes());
                out.int(i64::from(value));
            }
        }
    }

    /// Its COMMAND DOCS map, listing the subcommands `subs` (those the
    /// server has) under their full names, `full_name|sub`.
    pub fn write_docs(&self, out: &mut Reply, full_name: &str, subs: &[&CommandMeta]) {
        let docs = self.docs();
        let texts = [
            ("summary", docs.summary),
            ("since", docs.since),
            ("group", docs.group),
            ("complexity", docs.complexity),
        ];
        let later = [
            ("deprecated_since", docs.deprecated_since),
            ("replaced_by", docs.replaced_by),
        ];
        let has_subcommands = !self.subcommands.is_empty();
        let len = texts
            .iter()
            .chain(&later)
            .filter(|(_, v)| !v.is_empty())
            .count()
            + usize::from(!docs.doc_flags.is_empty())
            + usize::from(!docs.history.is_empty())
            + usize::from(!docs.args.is_empty())
            + usize::from(has_subcommands);
        out.map(len);
        for (name, value) in texts.iter().filter(|(_, v)| !v.is_empty()) {
            out.bulk(name.as_bytes());
            out.bulk(value.as_bytes());
        }
        if !docs.doc_flags.is_empty() {
            out.bulk(b"doc_flags");
            write_names(out, &docs.doc_flags);
        }
        for (name, value) in later.iter().filter(|(_, v)| !v.is_empty()) {
            out.bulk(name.as_bytes());
            out.bulk(value.as_bytes());
        }
        if !docs.history.is_empty() {
            out.bulk(b"history");
            out.set(docs.history.len());
            for (since, change) in &docs.history {
                out.array(2);
                out.bulk(since.as_bytes());
                out.bulk(change.as_bytes());
            }
        }
        if !docs.args.is_empty() {
            out.bulk(b"arguments");
            write_args(out, &docs.args);
        }
        if has_subcommands {
            out.bulk(b"subcommands");
            out.map(subs.len());
            for sub in subs {
                let name = format!("{full_name}|{}", sub.name);
                out.bulk(name.as_bytes());
                sub.write_docs(out, &name, &[]);
            }
        }
    }
}

/// Arguments at one depth: `args[0]` and its siblings, each followed by
/// its nested arguments.
fn write_args(out: &mut Reply, args: &[ArgDoc]) {
    let Some(depth) = args.first().map(|a| a.depth) else {
        out.array(0);
        return;
    };
    let siblings: Vec<usize> = (0..args.len())
        .filter(|&i| args[i].depth == depth)
        .collect();
    out.array(siblings.len());
    for (n, &i) in siblings.iter().enumerate() {
        let arg = &args[i];
        let children = &args[i + 1..siblings.get(n + 1).copied().unwrap_or(args.len())];
        let nested = matches!(arg.kind, "oneof" | "block");
        let texts = [
            ("since", arg.since),
            ("deprecated_since", arg.deprecated_since),
        ];
        let len = 2
            + usize::from(arg.key_spec >= 0)
            + usize::from(arg.token.is_some())
            + texts.iter().filter(|(_, v)| !v.is_empty()).count()
            + usize::from(!arg.flags.is_empty())
            + usize::from(nested);
        out.map(len);
        out.bulk(b"name");
        out.bulk(arg.name.as_bytes());
        out.bulk(b"type");
        out.bulk(arg.kind.as_bytes());
        if arg.key_spec >= 0 {
            out.bulk(b"key_spec_index");
            out.int(arg.key_spec);
        }
        if let Some(token) = arg.token {
            out.bulk(b"token");
            out.bulk(token.as_bytes());
        }
        for (name, value) in texts.iter().filter(|(_, v)| !v.is_empty()) {
            out.bulk(name.as_bytes());
            out.bulk(value.as_bytes());
        }
        if !arg.flags.is_empty() {
            out.bulk(b"flags");
            write_names(out, &arg.flags);
        }
        if nested {
            out.bulk(b"arguments");
            write_args(out, children);
        }
    }
}
