//! Users and their permissions (Redis 7.0's ACL): the rule language of
//! ACL SETUSER, the check run before every command of a restricted user,
//! and the log of refusals (ACL LOG).
//!
//! Every command and subcommand of Redis 7.0 (the generated metadata,
//! [`crate::commands::meta`]) has an id; a selector allows a set of ids,
//! key patterns and channel patterns. A user passes when one of its
//! selectors (the root one first) allows the call.

pub mod sha256;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use crate::commands::meta::{self, cmd, key, CommandMeta};
use crate::store::glob_match;

/// A key pattern's permissions (`%R~`, `%W~`, `~`).
pub const READ: u8 = 1;
pub const WRITE: u8 = 2;

/// Why a call was refused (also ACL LOG's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    Command,
    Key,
    Channel,
    Auth,
}

impl Denied {
    fn name(self) -> &'static str {
        match self {
            Denied::Command => "command",
            Denied::Key => "key",
            Denied::Channel => "channel",
            Denied::Auth => "auth",
        }
    }
}

/// Where a refused call came from (ACL LOG's `context`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    TopLevel,
    Multi,
    Lua,
}

impl Context {
    fn name(self) -> &'static str {
        match self {
            Context::TopLevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

/// One command or subcommand of the universe the permissions speak of.
struct Entry {
    meta: &'static CommandMeta,
    full_name: String,
    /// Its subcommands' ids, for a container.
    subs: std::ops::Range<usize>,
    is_sub: bool,
}

/// Every command and subcommand of Redis 7.0, in table order, each a
/// container followed by its subcommands.
struct Universe {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
}

fn universe() -> &'static Universe {
    static UNIVERSE: OnceLock<Universe> = OnceLock::new();
    UNIVERSE.get_or_init(|| {
        let mut entries = Vec::new();
        for command in meta::all() {
            let start = entries.len() + 1;
            let end = start + command.subcommands.len();
            entries.push(Entry {
                meta: command,
                full_name: command.name.to_string(),
                subs: start..end,
                is_sub: false,
            });
            for sub in command.subcommands {
                entries.push(Entry {
                    meta: sub,
                    full_name: format!("{}|{}", command.name, sub.name),
                    subs: 0..0,
                    is_sub: true,
                });
            }
        }
        let by_name = entries
            .iter()
            .enumerate()
            .map(|(id, e)| (e.full_name.clone(), id))
            .collect();
        Universe { entries, by_name }
    })
}

impl Universe {
    fn id(&self, full_name: &[u8]) -> Option<usize> {
        let lower = String::from_utf8_lossy(full_name).to_ascii_lowercase();
        self.by_name.get(&lower).copied()
    }
}

/// The id of the command or subcommand a call runs, by its full name.
pub fn command_id(full_name: &str) -> Option<usize> {
    universe().by_name.get(full_name).copied()
}

/// Why a rule of ACL SETUSER was refused, in Redis's words.
#[derive(Debug, Clone, Copy)]
pub enum RuleError {
    UnknownCommand,
    Syntax,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSubcommand,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// What one selector allows: commands, keys, channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    allowed: Vec<bool>,
    /// Redis's reserved bit: set by `+@all` only, it says "start from
    /// +@all" when the rules are written back.
    future: bool,
    all_commands: bool,
    all_keys: bool,
    all_channels: bool,
    /// Key patterns with their [`READ`]/[`WRITE`] permissions.
    patterns: Vec<(Vec<u8>, u8)>,
    channels: Vec<Vec<u8>>,
    /// First arguments allowed for an otherwise refused command (`+select|0`).
    first_args: BTreeMap<usize, Vec<Vec<u8>>>,
}

impl Selector {
    fn new(all_channels: bool) -> Self {
        Selector {
            allowed: vec![false; universe().entries.len()],
            future: false,
            all_commands: false,
            all_keys: false,
            all_channels,
            patterns: Vec::new(),
            channels: Vec::new(),
            first_args: BTreeMap::new(),
        }
    }

    fn set_bit(&mut self, id: usize, value: bool) {
        self.allowed[id] = value;
        if !value {
            self.all_commands = false;
        }
    }

    /// Allows or refuses a command, with its subcommands.
    fn change(&mut self, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.first_args.remove(&id);
        for sub in universe().entries[id].subs.clone() {
            self.set_bit(sub, allow);
        }
    }

    fn change_category(&mut self, category: u32, allow: bool) {
        for (id, entry) in universe().entries.iter().enumerate() {
            if entry.meta.acl & category != 0 {
                self.change(id, allow);
            }
        }
    }

    fn set_all(&mut self, allow: bool) {
        self.allowed.iter_mut().for_each(|bit| *bit = allow);
        self.future = allow;
        self.all_commands = allow;
        self.first_args.clear();
    }

    /// Applies one rule of the selector part of the language.
    fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("allkeys") || op == b"~*" {
            self.all_keys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.patterns.clear();
        } else if is("allchannels") || op == b"&*" {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.set_all(true);
        } else if is("nocommands") || is("-@all") {
            self.set_all(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.all_keys {
                return Err(RuleError::KeyAfterAll);
            }
            let (flags, offset) = if op[0] == b'%' {
                let mut flags = 0;
                let mut offset = 1;
                let mut ok = true;
                while offset < op.len() {
                    let c = op[offset].to_ascii_uppercase();
                    if c == b'R' && flags & READ == 0 {
                        flags |= READ;
                    } else if c == b'W' && flags & WRITE == 0 {
                        flags |= WRITE;
                    } else if op[offset] == b'~' {
                        offset += 1;
                        break;
                    } else {
                        ok = false;
                        break;
                    }
                    offset += 1;
                }
                if flags == 0 || !ok {
                    return Err(RuleError::Syntax);
                }
                (flags, offset)
            } else {
                (READ | WRITE, 1)
            };
            let pattern = &op[offset.min(op.len())..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            match self.patterns.iter_mut().find(|(p, _)| p == pattern) {
                Some((_, existing)) => *existing |= flags,
                None => self.patterns.push((pattern.to_vec(), flags)),
            }
            self.all_keys = false;
        } else if op[0] == b'&' {
            if self.all_channels {
                return Err(RuleError::ChannelAfterAll);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
            self.all_channels = false;
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let category = meta::acl::by_name(&op[2..]).ok_or(RuleError::UnknownCommand)?;
            self.change_category(category, op[0] == b'+');
        } else if op[0] == b'+' {
            self.allow_command(&op[1..])?;
        } else if op[0] == b'-' {
            let id = universe().id(&op[1..]).ok_or(RuleError::UnknownCommand)?;
            self.change(id, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// `+name`, `+container|sub` or `+command|first-arg`.
    fn allow_command(&mut self, name: &[u8]) -> Result<(), RuleError> {
        let universe = universe();
        let Some(bar) = name.iter().rposition(|&b| b == b'|') else {
            let id = universe.id(name).ok_or(RuleError::UnknownCommand)?;
            self.change(id, true);
            return Ok(());
        };
        let (command, sub) = (&name[..bar], &name[bar + 1..]);
        let id = universe.id(command).ok_or(RuleError::UnknownCommand)?;
        if universe.entries[id].is_sub {
            return Err(RuleError::FirstArgOfSubcommand);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !universe.entries[id].subs.is_empty() {
            let sub_id = universe.id(name).ok_or(RuleError::UnknownCommand)?;
            self.change(sub_id, true);
        } else {
            let list = self.first_args.entry(id).or_default();
            if !list.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                list.push(sub.to_vec());
            }
        }
        Ok(())
    }

    fn count(&self, category: u32) -> (usize, usize) {
        let mut on_off = (0, 0);
        for (id, entry) in universe().entries.iter().enumerate() {
            if entry.meta.acl & category != 0 {
                if self.allowed[id] {
                    on_off.0 += 1;
                } else {
                    on_off.1 += 1;
                }
            }
        }
        on_off
    }

    /// The command rules that rebuild this selector, as Redis writes them:
    /// `+@all` or `-@all`, the categories that fit best, then single
    /// commands.
    pub fn describe_commands(&self) -> String {
        let mut rules = String::new();
        let additive = !self.future;
        let mut fake = Selector::new(false);
        if additive {
            rules.push_str("-@all ");
        } else {
            rules.push_str("+@all ");
            fake.set_all(true);
        }
        let mut temp = self.clone();
        let mut applied = [false; 32];
        loop {
            let mut best = None;
            let (mut min_diff, mut max_same) = (usize::MAX, 0);
            for (i, _) in meta::acl::NAMES.iter().enumerate() {
                if applied[i] {
                    continue;
                }
                let (on, off) = temp.count(1 << i);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                    best = Some(i);
                    min_diff = diff;
                    max_same = same;
                }
            }
            let Some(best) = best else { break };
            fake.change_category(1 << best, additive);
            temp.change_category(1 << best, !additive);
            rules.push(if additive { '+' } else { '-' });
            rules.push_str(meta::acl::NAMES[best]);
            rules.push(' ');
            applied[best] = true;
        }
        for (id, entry) in universe().entries.iter().enumerate() {
            let user_bit = self.allowed[id];
            if user_bit != fake.allowed[id] {
                rules.push(if user_bit { '+' } else { '-' });
                rules.push_str(&entry.full_name);
                rules.push(' ');
                fake.change(id, user_bit);
            }
            if !user_bit {
                for arg in self.first_args.get(&id).into_iter().flatten() {
                    rules.push('+');
                    rules.push_str(&entry.full_name);
                    rules.push('|');
                    rules.push_str(&String::from_utf8_lossy(arg));
                    rules.push(' ');
                }
            }
        }
        rules.pop();
        rules
    }

    /// ACL GETUSER's `keys`.
    pub fn describe_keys(&self) -> String {
        if self.all_keys {
            return "~*".into();
        }
        let patterns: Vec<String> = self.patterns.iter().map(pattern_string).collect();
        patterns.join(" ")
    }

    /// ACL GETUSER's `channels`.
    pub fn describe_channels(&self) -> String {
        if self.all_channels {
            return "&*".into();
        }
        let channels: Vec<String> = self
            .channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect();
        channels.join(" ")
    }

    /// The selector in ACL LIST's form.
    fn describe(&self) -> String {
        let mut out = String::new();
        if self.all_keys {
            out.push_str("~* ");
        } else {
            for pattern in &self.patterns {
                out.push_str(&pattern_string(pattern));
                out.push(' ');
            }
        }
        if self.all_channels {
            out.push_str("&* ");
        } else {
            out.push_str("resetchannels ");
            for channel in &self.channels {
                out.push('&');
                out.push_str(&String::from_utf8_lossy(channel));
                out.push(' ');
            }
        }
        out.push_str(&self.describe_commands());
        out
    }

    fn unrestricted(&self) -> bool {
        self.all_commands && self.all_keys && self.all_channels
    }

    /// Redis's `ACLSelectorCheckCmd`: Ok, or the refusal and the position
    /// of the key or channel refused.
    fn check(
        &self,
        id: Option<usize>,
        command: Option<&'static CommandMeta>,
        args: &[Vec<u8>],
    ) -> Result<(), (Denied, usize)> {
        let no_auth = command.is_some_and(|m| m.flags & cmd::NO_AUTH != 0);
        if !self.all_commands && !no_auth {
            let Some(id) = id else {
                return Err((Denied::Command, 0));
            };
            if !self.allowed[id] {
                let index = if universe().entries[id].is_sub { 2 } else { 1 };
                let first_arg_ok = args.get(index).is_some_and(|arg| {
                    self.first_args
                        .get(&id)
                        .is_some_and(|list| list.iter().any(|a| a.eq_ignore_ascii_case(arg)))
                });
                if args.len() < 2 || !first_arg_ok {
                    return Err((Denied::Command, 0));
                }
            }
        }
        if let Some(command) = command {
            if !self.all_keys && command.has_keys() {
                for found in command.keys(args) {
                    if !self.key_allowed(&args[found.pos], found.flags) {
                        return Err((Denied::Key, found.pos));
                    }
                }
            }
        }
        if !self.all_channels {
            for (pos, is_pattern) in channels_of_call(args) {
                if !self.channel_allowed(&args[pos], is_pattern) {
                    return Err((Denied::Channel, pos));
                }
            }
        }
        Ok(())
    }

    fn key_allowed(&self, name: &[u8], spec_flags: u32) -> bool {
        if self.all_keys {
            return true;
        }
        let mut needed = 0;
        if spec_flags & key::ACCESS != 0 {
            needed |= READ;
        }
        if spec_flags & (key::INSERT | key::DELETE | key::UPDATE) != 0 {
            needed |= WRITE;
        }
        self.patterns
            .iter()
            .any(|(pattern, flags)| flags & needed == needed && glob_match(pattern, name, false))
    }

    fn channel_allowed(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.all_channels
            || self.channels.iter().any(|allowed| {
                if is_pattern {
                    allowed == channel
                } else {
                    glob_match(allowed, channel, false)
                }
            })
    }
}

/// The channels a call publishes or subscribes to, with whether each is
/// a pattern (Redis's `getChannelsFromCommand`, checked kinds only).
fn channels_of_call(args: &[Vec<u8>]) -> Vec<(usize, bool)> {
    let Some(name) = args.first() else {
        return Vec::new();
    };
    let lower = name.to_ascii_lowercase();
    match lower.as_slice() {
        b"publish" | b"spublish" if args.len() > 1 => vec![(1, false)],
        b"subscribe" | b"ssubscribe" => (1..args.len()).map(|i| (i, false)).collect(),
        b"psubscribe" => (1..args.len()).map(|i| (i, true)).collect(),
        _ => Vec::new(),
    }
}

fn pattern_string((pattern, flags): &(Vec<u8>, u8)) -> String {
    let prefix = match *flags {
        READ => "%R~",
        WRITE => "%W~",
        _ => "~",
    };
    format!("{prefix}{}", String::from_utf8_lossy(pattern))
}

fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&b| b.is_ascii_whitespace() || b == 0)
}

fn valid_hash(hash: &[u8]) -> bool {
    hash.len() == 64
        && hash
            .iter()
            .all(|&b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One user: its flags, passwords (SHA-256 hex digests) and selectors,
/// the root selector first.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: Vec<u8>,
    pub enabled: bool,
    pub nopass: bool,
    /// None until `sanitize-payload` or `skip-sanitize-payload` is said.
    sanitize: Option<bool>,
    passwords: Vec<String>,
    selectors: Vec<Selector>,
    /// True when its root selector allows everything: the check is skipped.
    pub unrestricted: bool,
}

impl User {
    /// A new user: off, no password, no permissions.
    pub fn new(name: &[u8], pubsub_all: bool) -> Self {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(pubsub_all)],
            unrestricted: false,
        }
    }

    /// The default user: on, nopass, everything allowed.
    pub fn default_user() -> Self {
        let mut user = User::new(b"default", false);
        for rule in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = user.apply(rule.as_bytes(), false);
        }
        user
    }

    /// Applies one rule (Redis's `ACLSetUser`).
    pub fn apply(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        let result = self.apply_inner(op, pubsub_all);
        self.unrestricted = self.selectors[0].unrestricted();
        result
    }

    fn apply_inner(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                sha256::sha256_hex(&op[1..])
            } else if valid_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                sha256::sha256_hex(&op[1..])
            } else if valid_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            let index = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(index);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut selector = Selector::new(pubsub_all);
            let inner = String::from_utf8_lossy(&op[1..op.len() - 1]).into_owned();
            for rule in inner.split_ascii_whitespace() {
                selector.apply(rule.as_bytes())?;
            }
            self.selectors.push(selector);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.nopass = false;
            self.passwords.clear();
            let root = &mut self.selectors[0];
            root.all_keys = false;
            root.patterns.clear();
            root.all_channels = pubsub_all;
            root.channels.clear();
            self.enabled = false;
            self.sanitize = Some(true);
            self.selectors.truncate(1);
            self.selectors[0].set_all(false);
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    /// GETUSER's `flags`.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        match self.sanitize {
            Some(false) => flags.push("skip-sanitize-payload"),
            Some(true) => flags.push("sanitize-payload"),
            None => {}
        }
        flags
    }

    pub fn passwords(&self) -> &[String] {
        &self.passwords
    }

    pub fn selectors(&self) -> &[Selector] {
        &self.selectors
    }

    /// The user in ACL LIST's and the ACL file's form (without `user name`).
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for flag in self.flags() {
            out.push_str(flag);
            out.push(' ');
        }
        for password in &self.passwords {
            out.push('#');
            out.push_str(password);
            out.push(' ');
        }
        out.push_str(&self.selectors[0].describe());
        for selector in &self.selectors[1..] {
            out.push_str(&format!(" ({})", selector.describe()));
        }
        out
    }

    /// True when `password` opens this user (on, and nopass or a match).
    pub fn accepts(&self, password: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hash = sha256::sha256_hex(password);
        let mut found = false;
        for known in &self.passwords {
            found |= constant_time_eq(known.as_bytes(), hash.as_bytes());
        }
        found
    }

    /// True when one of its selectors lets it subscribe to `channel`
    /// (a pattern, as PSUBSCRIBE's, must be allowed literally).
    pub fn may_subscribe(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.selectors
            .iter()
            .any(|selector| selector.channel_allowed(channel, is_pattern))
    }

    /// Redis's `ACLCheckAllUserCommandPerm`: whether the user may run
    /// `args` (full name `full_name`), and if not, why and at which
    /// argument.
    pub fn check(&self, full_name: &str, args: &[Vec<u8>]) -> Result<(), (Denied, usize)> {
        if self.unrestricted {
            return Ok(());
        }
        let id = command_id(full_name);
        let command = id.map(|id| universe().entries[id].meta);
        let mut relevant = (Denied::Command, 0);
        for selector in &self.selectors {
            match selector.check(id, command, args) {
                Ok(()) => return Ok(()),
                Err(denied) => {
                    if denied.0 > relevant.0 || (denied.0 == relevant.0 && denied.1 > relevant.1) {
                        relevant = denied;
                    }
                }
            }
        }
        Err(relevant)
    }
}

/// Compares in a time that depends on the lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        difference |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(difference) == 0
}

/// Splits ACL SETUSER's arguments, joining a selector `(...)` spread over
/// several; Err names the argument whose parenthesis stays open.
pub fn merge_selector_args(args: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, Vec<u8>> {
    let mut merged = Vec::new();
    let mut open: Option<(Vec<u8>, usize)> = None;
    for (i, op) in args.iter().enumerate() {
        if let Some((selector, _)) = open.as_mut() {
            selector.push(b' ');
            selector.extend_from_slice(op);
            if op.last() == Some(&b')') {
                if let Some((done, _)) = open.take() {
                    merged.push(done);
                }
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((op.clone(), i));
            continue;
        }
        merged.push(op.clone());
    }
    match open {
        Some((_, i)) => Err(args[i].clone()),
        None => Ok(merged),
    }
}

/// One entry of ACL LOG.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub count: u64,
    pub reason: Denied,
    pub context: Context,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    /// Unix milliseconds of the last time.
    pub created_ms: u64,
    pub client_info: String,
}

impl LogEntry {
    pub fn reason_name(&self) -> &'static str {
        self.reason.name()
    }
    pub fn context_name(&self) -> &'static str {
        self.context.name()
    }
}

/// Entries within this many milliseconds of each other count as one.
const LOG_GROUPING_MS: u64 = 60_000;

/// The users and the log of refusals.
#[derive(Debug)]
pub struct Acl {
    users: RwLock<BTreeMap<Vec<u8>, Arc<User>>>,
    log: Mutex<VecDeque<LogEntry>>,
}

impl Acl {
    /// The users of a configuration: its `user` lines, or its `aclfile`,
    /// and the default user with `requirepass` as its password.
    pub fn from_config(config: &crate::config::Config) -> Self {
        let acl = Acl::new(config.requirepass());
        let pubsub_all = config.get("acl-pubsub-default") == Some("allchannels");
        for line in &config.users {
            let Some((name, rules)) = line.split_first() else {
                continue;
            };
            let existing = acl.get(name);
            // A `user default` line describes the default user afresh, as
            // Redis resets it before applying the line.
            let mut rules = rules.to_vec();
            if name == b"default" {
                rules.insert(0, b"reset".to_vec());
            }
            if let Ok(user) = set_user(existing.as_deref(), name, &rules, pubsub_all) {
                acl.put(user);
            }
        }
        if let Some(path) = config.get("aclfile").filter(|p| !p.is_empty()) {
            // (A file that does not load stopped the server at start, see
            // `check_at_start`.)
            let loaded = load_file(path, pubsub_all);
            match loaded {
                Ok(users) => acl.replace_all(users),
                Err(err) => eprintln!("Error loading the ACL file {path}: {err}"),
            }
        }
        acl
    }

    /// The default user alone; with `requirepass` as its password.
    pub fn new(requirepass: Option<&str>) -> Self {
        let acl = Acl {
            users: RwLock::new(BTreeMap::new()),
            log: Mutex::new(VecDeque::new()),
        };
        acl.put(User::default_user());
        acl.set_default_password(requirepass);
        acl
    }

    pub fn get(&self, name: &[u8]) -> Option<Arc<User>> {
        self.users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    pub fn put(&self, user: User) {
        self.users
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user.name.clone(), Arc::new(user));
    }

    /// Removes a user; true if it existed.
    pub fn remove(&self, name: &[u8]) -> bool {
        self.users
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name)
            .is_some()
    }

    /// Every user, by name.
    pub fn users(&self) -> Vec<Arc<User>> {
        self.users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Replaces every user at once (ACL LOAD).
    pub fn replace_all(&self, users: Vec<User>) {
        let mut map = self.users.write().unwrap_or_else(PoisonError::into_inner);
        map.clear();
        for user in users {
            map.insert(user.name.clone(), Arc::new(user));
        }
    }

    /// `requirepass`: the default user's only password, or nopass.
    pub fn set_default_password(&self, password: Option<&str>) {
        let mut user = self
            .get(b"default")
            .map_or_else(User::default_user, |u| (*u).clone());
        let _ = user.apply(b"resetpass", false);
        match password {
            Some(password) => {
                let mut rule = b">".to_vec();
                rule.extend_from_slice(password.as_bytes());
                let _ = user.apply(&rule, false);
            }
            None => {
                let _ = user.apply(b"nopass", false);
            }
        }
        self.put(user);
    }

    /// True when a new connection is the default user without AUTH.
    pub fn default_needs_no_auth(&self) -> bool {
        self.get(b"default").is_some_and(|u| u.nopass && u.enabled)
    }

    /// Records a refusal, grouped with a like one of the last minute.
    pub fn log(&self, entry: LogEntry, max_len: usize) {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let like = log.iter().take(10).position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && e.created_ms.abs_diff(entry.created_ms) <= LOG_GROUPING_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        if let Some(index) = like {
            if let Some(mut existing) = log.remove(index) {
                existing.count += 1;
                existing.created_ms = entry.created_ms;
                existing.client_info = entry.client_info;
                log.push_front(existing);
            }
            return;
        }
        log.push_front(entry);
        log.truncate(max_len);
    }

    /// The newest `count` entries.
    pub fn log_entries(&self, count: usize) -> Vec<LogEntry> {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.iter().take(count).cloned().collect()
    }

    pub fn log_reset(&self) {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// Applies ACL SETUSER's rules to a copy of `user` (or a new user):
/// all or nothing, with Redis's error text.
pub fn set_user(
    existing: Option<&User>,
    name: &[u8],
    rules: &[Vec<u8>],
    pubsub_all: bool,
) -> Result<User, String> {
    let merged = merge_selector_args(rules).map_err(|open| {
        format!(
            "ERR Unmatched parenthesis in acl selector starting at '{}'.",
            String::from_utf8_lossy(&open)
        )
    })?;
    let mut user = existing
        .cloned()
        .unwrap_or_else(|| User::new(name, pubsub_all));
    for rule in &merged {
        user.apply(rule, pubsub_all).map_err(|error| {
            format!(
                "ERR Error in ACL SETUSER modifier '{}': {}",
                String::from_utf8_lossy(rule),
                error.message()
            )
        })?;
    }
    Ok(user)
}

/// Every command and subcommand of a category (ACL CAT category).
pub fn commands_in(category: u32) -> Vec<&'static str> {
    universe()
        .entries
        .iter()
        .filter(|e| e.meta.acl & category != 0)
        .map(|e| e.full_name.as_str())
        .collect()
}

/// Reads the ACL file at `path` (ACL LOAD, and `aclfile` at start): the
/// users of its `user name rules...` lines, the default user added
/// (everything allowed) if the file does not name it. An error is Redis's
/// text, which lists every line that failed.
pub fn load_file(path: &str, pubsub_all: bool) -> Result<Vec<User>, String> {
    let text = std::fs::read(path).map_err(|err| {
        format!(
            "Error loading ACLs, opening file '{path}': {}",
            strerror(&err)
        )
    })?;
    parse_file(path, &String::from_utf8_lossy(&text), pubsub_all)
}

/// An I/O error as C's `strerror` words it (without Rust's "(os error N)").
fn strerror(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The users of an ACL file's text, as Redis's `ACLLoadFromFile` reads
/// them: a line is split at single spaces, and every bad line is reported.
pub fn parse_file(path: &str, text: &str, pubsub_all: bool) -> Result<Vec<User>, String> {
    let mut users: Vec<User> = Vec::new();
    let mut errors = String::new();
    for (number, line) in text.split('\n').enumerate() {
        let line_no = number + 1;
        let line = line.trim_matches([' ', '\t', '\r', '\n']);
        let words: Vec<Vec<u8>> = line
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(|w| w.as_bytes().to_vec())
            .collect();
        if words.is_empty() {
            continue;
        }
        if words[0] != b"user" || words.len() < 2 {
            errors += &format!(
                "{path}:{line_no} should start with user keyword followed by the username. "
            );
            continue;
        }
        let name = &words[1];
        if name.iter().any(u8::is_ascii_whitespace) {
            errors += &format!(
                "'{path}:{line_no}: username '{}' contains invalid characters. ",
                String::from_utf8_lossy(name)
            );
            continue;
        }
        if users.iter().any(|u| &u.name == name) {
            errors += &format!(
                "WARNING: Duplicate user '{}' found on line {line_no}. ",
                String::from_utf8_lossy(name)
            );
            continue;
        }
        let mut user = User::new(name, pubsub_all);
        let rules = match merge_selector_args(&words[2..]) {
            Ok(rules) => rules,
            Err(_) => {
                errors +=
                    &format!("{path}:{line_no}: Unmatched parenthesis in selector definition.");
                Vec::new()
            }
        };
        let mut syntax_error = false;
        for rule in &rules {
            let rule: &[u8] = rule.trim_ascii();
            match user.apply(rule, pubsub_all) {
                Ok(()) => {}
                // Unknown commands are named: no secret is in them.
                Err(RuleError::UnknownCommand) => {
                    errors += &format!(
                        "{path}:{line_no}: Error in applying operation '{}': {}. ",
                        String::from_utf8_lossy(rule),
                        RuleError::UnknownCommand.message()
                    );
                }
                Err(error) if !syntax_error => {
                    errors += &format!("{path}:{line_no}: {}. ", error.message());
                    syntax_error = true;
                }
                Err(_) => {}
            }
        }
        users.push(user);
    }
    if !errors.is_empty() {
        errors += "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";
        return Err(errors);
    }
    if !users.iter().any(|u| u.name == b"default") {
        users.push(User::default_user());
    }
    Ok(users)
}

/// Redis's checks of the users at start: `user` lines and an `aclfile`
/// together, or an ACL file that does not load, stop the server with
/// these messages.
pub fn check_at_start(config: &crate::config::Config) -> Result<(), String> {
    let Some(path) = config.get("aclfile").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    if !config.users.is_empty() {
        return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
    }
    let pubsub_all = config.get("acl-pubsub-default") == Some("allchannels");
    load_file(path, pubsub_all)
        .map(drop)
        .map_err(|errors| format!("Aborting Redis startup because of ACL errors: {errors}"))
}
