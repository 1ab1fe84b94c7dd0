//! What Redis 7.0 publishes about each command (COMMAND INFO, COMMAND DOCS,
//! COMMAND GETKEYS, ACL categories): the types here, the data in
//! `meta_table.rs`, generated from Redis's own per-command JSON by
//! `scripts/gen-command-meta.py` and never edited by hand.
//!
//! The table covers every Redis 7.0 command, so a command gets its
//! metadata the moment its row joins the dispatch table; COMMAND shows
//! only the commands respd has. `tests/command_info.rs` checks that each
//! dispatch row's arity, flags, key range and group agree with it.

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

    /// Every category's name (without `@`); bit `i` is `NAMES[i]`.
    pub const NAMES: &[&str] = &[
        "keyspace",
        "read",
        "write",
        "set",
        "sortedset",
        "list",
        "hash",
        "string",
        "bitmap",
        "hyperloglog",
        "geo",
        "stream",
        "pubsub",
        "admin",
        "fast",
        "slow",
        "blocking",
        "dangerous",
        "connection",
        "transaction",
        "scripting",
    ];

    /// The bit of a category named without `@`, in any case.
    pub fn by_name(name: &[u8]) -> Option<u32> {
        NAMES
            .iter()
            .position(|n| n.as_bytes().eq_ignore_ascii_case(name))
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

/// Documentation flags of a command (COMMAND DOCS's `doc_flags`).
pub mod doc {
    pub const DEPRECATED: u8 = 1;
    pub const SYSCMD: u8 = 1 << 1;

    pub const NAMES: &[(u8, &str)] = &[(DEPRECATED, "deprecated"), (SYSCMD, "syscmd")];
}

/// Flags of a documented argument.
pub mod arg {
    pub const OPTIONAL: u8 = 1;
    pub const MULTIPLE: u8 = 1 << 1;
    pub const MULTIPLE_TOKEN: u8 = 1 << 2;

    pub const NAMES: &[(u8, &str)] = &[
        (OPTIONAL, "optional"),
        (MULTIPLE, "multiple"),
        (MULTIPLE_TOKEN, "multiple_token"),
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
    pub summary: &'static str,
    pub since: &'static str,
    pub group: &'static str,
    pub complexity: &'static str,
    /// [`doc`] bits.
    pub doc_flags: u8,
    pub deprecated_since: &'static str,
    pub replaced_by: &'static str,
    /// (version, change).
    pub history: &'static [(&'static str, &'static str)],
    pub args: &'static [Arg],
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
    Range { lastkey: i32, step: i32, limit: i32 },
    /// The argument at `keynumidx` counts the keys, which start at `firstkey`.
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
    UnknownFind,
}

/// A documented argument (COMMAND DOCS's `arguments`).
#[derive(Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgType,
    /// The key spec it belongs to, or -1.
    pub key_spec: i8,
    /// Present but empty for MIGRATE's empty-string key.
    pub token: Option<&'static str>,
    pub since: &'static str,
    pub deprecated_since: &'static str,
    /// [`arg`] bits.
    pub flags: u8,
    /// The parts of a `oneof` or `block`.
    pub args: &'static [Arg],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    Str,
    Integer,
    Double,
    Key,
    Pattern,
    UnixTime,
    PureToken,
    OneOf,
    Block,
}

impl ArgType {
    pub fn name(self) -> &'static str {
        match self {
            ArgType::Str => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Key => "key",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::OneOf => "oneof",
            ArgType::Block => "block",
        }
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

/// Every ACL category's name (ACL CAT).
pub fn category_names() -> &'static [&'static str] {
    acl::NAMES
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

    pub fn has_flag(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// The command's ACL categories with their `@`, in Redis's order.
    pub fn categories(&self) -> Vec<&'static str> {
        const AT_NAMES: [&str; 21] = [
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
        (0..AT_NAMES.len())
            .filter(|i| self.acl & (1 << i) != 0)
            .map(|i| AT_NAMES[i])
            .collect()
    }

    /// True when some of its arguments can be keys (Redis's
    /// `doesCommandHaveKeys`).
    pub fn has_keys(&self) -> bool {
        self.getkeys.is_some() || self.key_specs.iter().any(|s| s.flags & key::NOT_KEY == 0)
    }

    /// The keys in a call of this command, `args[0]` being its name, as
    /// Redis's `getKeysFromCommandWithSpecs`: the key specs when they can
    /// tell, else the command's own finder. `None` when the arguments
    /// name no keys the specs can find (a syntax error to come).
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
            b'0'..=b'9' => {
                value = value
                    .saturating_mul(10)
                    .saturating_add(i64::from(b - b'0'))
            }
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
fn counted_keys(args: &[Vec<u8>], dest: Option<usize>, count_at: usize, first: usize) -> Vec<KeyRef> {
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
pub fn flag_names<T: Copy + Into<u32>>(flags: T, names: &'static [(T, &'static str)]) -> impl Iterator<Item = &'static str> {
    let flags: u32 = flags.into();
    names
        .iter()
        .filter(move |(bit, _)| flags & (*bit).into() != 0)
        .map(|(_, name)| *name)
}
