//! Finding a call's keys as Redis 7.0 does (db.c): the key specs first,
//! then the command's own finder when the specs cannot tell.

use super::{cmd, key, BeginSearch, CommandMeta, FindKeys, GetKeys};

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
    /// True when some of its arguments can be keys (Redis's
    /// `doesCommandHaveKeys`).
    pub fn has_keys(&self) -> bool {
        self.getkeys.is_some() || self.key_specs.iter().any(|s| s.flags & key::NOT_KEY == 0)
    }

    /// The keys in a call of this command, `args[0]` being its name, as
    /// Redis's `getKeysFromCommandWithSpecs`: the key specs when they can
    /// tell, else the command's own finder. Empty when the arguments name
    /// no keys (often a syntax error the command itself will report).
    /// Every position is inside `args`, whatever its length.
    pub fn keys(&self, args: &[Vec<u8>]) -> Vec<KeyRef> {
        let all_flags = self.key_specs.iter().fold(0, |acc, s| acc | s.flags);
        let has_real_spec = self.key_specs.iter().any(|s| s.flags & key::NOT_KEY == 0);
        if has_real_spec && all_flags & key::VARIABLE_FLAGS == 0 {
            if let Some(keys) = self.keys_from_specs(args) {
                return keys;
            }
        }
        match self.getkeys {
            // Some finders name fixed positions; a call too short for the
            // command's arity must not get positions past its end.
            Some(finder) => finder
                .keys(args)
                .into_iter()
                .filter(|key| key.pos < args.len())
                .collect(),
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
