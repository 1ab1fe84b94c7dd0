//! The configuration: redis.conf files, `--name value` flags and CONFIG
//! GET/SET, all driven by one table of parameters.
//!
//! Every parameter of Redis 7.0 that a redis.conf may hold has a row, with
//! what respd does with it:
//! * [`Kind::Live`]: respd honours it (port, maxclients, requirepass, ...);
//! * [`Kind::Tuning`]: it only tunes Redis internals (encodings, lazyfree,
//!   jemalloc, hz...): accepted, stored and reported, with no effect here;
//! * [`Kind::DefaultOnly`]: it would switch on a behaviour respd does not
//!   have (daemonize, cluster, replication, TLS ports...): only its default
//!   value is accepted, anything else is a clear error.

use std::collections::BTreeMap;

use crate::store::glob_match;
use crate::util::{parse_i64, split_args};

/// What respd does with a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Live,
    Tuning,
    DefaultOnly,
}

/// The values a parameter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Bool,
    Int(i64, i64),
    /// A byte count with Redis's units (`1gb`, `512mb`, `100k`), at least
    /// this many bytes.
    Memory(u64),
    /// A byte count as [`Check::Memory`], or a percentage up to 100
    /// (`maxmemory-clients`: `10%`).
    MemoryOrPercent,
    /// `save`: pairs of `<seconds> <changes>`, or nothing.
    SavePoints,
    OneOf(&'static [&'static str]),
    /// `notify-keyspace-events`: class letters (see `crate::notify`).
    EventClasses,
    /// `shutdown-on-sigint` / `-sigterm`: `default`, or some of `save`,
    /// `nosave`, `now`, `force` (see `crate::shutdown::Flags`).
    ShutdownFlags,
    /// An octal number up to this (`unixsocketperm`), shown in octal.
    Octal(u32),
    /// `latency-tracking-info-percentiles`: numbers from 0 to 100.
    Percentiles,
    Text,
}

/// One row of the parameter table.
#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub default: &'static str,
    pub kind: Kind,
    pub check: Check,
    /// Only settable at startup (CONFIG SET refuses it).
    pub immutable: bool,
    /// A path on disk: Redis refuses it to CONFIG SET unless
    /// `enable-protected-configs` allows (respd never does).
    pub protected: bool,
    /// Left out of CONFIG GET patterns; shown only when asked by name
    /// (Redis's HIDDEN_CONFIG: test and debugging knobs).
    pub hidden: bool,
}

const fn p(name: &'static str, default: &'static str, kind: Kind, check: Check) -> Param {
    Param {
        name,
        default,
        kind,
        check,
        immutable: false,
        protected: false,
        hidden: false,
    }
}
const fn fixed(name: &'static str, default: &'static str, kind: Kind, check: Check) -> Param {
    Param {
        name,
        default,
        kind,
        check,
        immutable: true,
        protected: false,
        hidden: false,
    }
}
const fn guarded(name: &'static str, default: &'static str, kind: Kind, check: Check) -> Param {
    Param {
        name,
        default,
        kind,
        check,
        immutable: false,
        protected: true,
        hidden: false,
    }
}
const fn hidden(name: &'static str, default: &'static str, immutable: bool, check: Check) -> Param {
    Param {
        name,
        default,
        kind: Tuning,
        check,
        immutable,
        protected: false,
        hidden: true,
    }
}

use Check::{
    Bool, EventClasses, Int, Memory, MemoryOrPercent, Octal, OneOf, Percentiles, SavePoints,
    ShutdownFlags, Text,
};
use Kind::{DefaultOnly, Live, Tuning};

const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];
const I32: i64 = i32::MAX as i64;
const MB: u64 = 1024 * 1024;
const U32: i64 = u32::MAX as i64;

/// Every parameter, in the order CONFIG GET * lists them.
pub static PARAMS: &[Param] = &[
    // What respd honours.
    p("bind", "127.0.0.1 -::1", Live, Text),
    p("port", "6379", Live, Int(0, 65535)),
    p("maxclients", "10000", Live, Int(1, U32)),
    p("timeout", "0", Live, Int(0, I32)),
    fixed("databases", "16", Live, Int(1, I32)),
    p("loglevel", "notice", Live, OneOf(LOGLEVELS)),
    fixed("logfile", "", Live, Text),
    p("requirepass", "", Live, Text),
    p("protected-mode", "yes", Live, Bool),
    p("proto-max-bulk-len", "536870912", Live, Memory(MB)),
    p("client-query-buffer-limit", "1073741824", Live, Memory(MB)),
    guarded("dir", "", Live, Text),
    guarded("dbfilename", "dump.rdb", Live, Text),
    fixed("pidfile", "", Live, Text),
    p("save", "3600 1 300 100 60 10000", Live, SavePoints),
    p("stop-writes-on-bgsave-error", "yes", Live, Bool),
    p("appendonly", "no", Live, Bool),
    fixed("appendfilename", "appendonly.aof", Live, Text),
    fixed("appenddirname", "appendonlydir", Live, Text),
    p(
        "appendfsync",
        "everysec",
        Live,
        OneOf(&["always", "everysec", "no"]),
    ),
    // Any value is accepted and then clamped to 1..=500, as Redis does.
    p("hz", "10", Live, Int(0, I32)),
    p("notify-keyspace-events", "", Live, EventClasses),
    p(
        "client-output-buffer-limit",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        Live,
        Text,
    ),
    // respd's own: log every frame each connection sends and receives.
    p("trace", "no", Live, Bool),
    // Two names for one setting (Redis 7 renamed it): setting either sets both.
    p("busy-reply-threshold", "5000", Live, Int(0, i64::MAX)),
    p("lua-time-limit", "5000", Live, Int(0, i64::MAX)),
    // Behaviours respd does not have: only the default is accepted.
    fixed("daemonize", "no", DefaultOnly, Bool),
    fixed(
        "supervised",
        "no",
        DefaultOnly,
        OneOf(&["no", "upstart", "systemd", "auto"]),
    ),
    fixed("cluster-enabled", "no", DefaultOnly, Bool),
    p("replicaof", "", Live, Text),
    p("slaveof", "", Live, Text),
    p("masterauth", "", Live, Text),
    p("masteruser", "", Live, Text),
    p("maxmemory", "0", Live, Memory(0)),
    p("maxmemory-clients", "0", DefaultOnly, MemoryOrPercent),
    fixed("unixsocket", "", Live, Text),
    fixed("unixsocketperm", "0", Live, Octal(0o777)),
    fixed("tls-port", "0", DefaultOnly, Int(0, 65535)),
    fixed("syslog-enabled", "no", DefaultOnly, Bool),
    fixed("aclfile", "", Live, Text),
    p("min-replicas-to-write", "0", Live, Int(0, I32)),
    p("min-slaves-to-write", "0", Live, Int(0, I32)),
    p("min-replicas-max-lag", "10", Live, Int(0, I32)),
    p("min-slaves-max-lag", "10", Live, Int(0, I32)),
    p("io-threads", "1", DefaultOnly, Int(1, 128)),
    // Tuning of Redis internals: stored and reported only.
    p("tcp-backlog", "511", Tuning, Int(0, I32)),
    p("tcp-keepalive", "300", Tuning, Int(0, I32)),
    p("always-show-logo", "no", Tuning, Bool),
    p("set-proc-title", "yes", Tuning, Bool),
    p(
        "proc-title-template",
        "{title} {listen-addr} {server-mode}",
        Tuning,
        Text,
    ),
    p("rdbcompression", "yes", Tuning, Bool),
    p("rdbchecksum", "yes", Tuning, Bool),
    p("rdb-del-sync-files", "no", Tuning, Bool),
    p("rdb-save-incremental-fsync", "yes", Tuning, Bool),
    p("replica-serve-stale-data", "yes", Tuning, Bool),
    p("slave-serve-stale-data", "yes", Tuning, Bool),
    p("replica-read-only", "yes", Tuning, Bool),
    p("slave-read-only", "yes", Tuning, Bool),
    p("repl-diskless-sync", "yes", Tuning, Bool),
    p("repl-diskless-sync-delay", "5", Tuning, Int(0, I32)),
    p("repl-diskless-sync-max-replicas", "0", Tuning, Int(0, I32)),
    p(
        "repl-diskless-load",
        "disabled",
        Tuning,
        OneOf(&["disabled", "on-empty-db", "swapdb"]),
    ),
    p("repl-disable-tcp-nodelay", "no", Tuning, Bool),
    p("repl-backlog-size", "1048576", Tuning, Memory(0)),
    p("repl-backlog-ttl", "3600", Tuning, Int(0, I32)),
    p("repl-timeout", "60", Tuning, Int(1, I32)),
    p("repl-ping-replica-period", "10", Tuning, Int(1, I32)),
    p("repl-ping-slave-period", "10", Tuning, Int(1, I32)),
    p("replica-priority", "100", Tuning, Int(0, I32)),
    p("slave-priority", "100", Tuning, Int(0, I32)),
    p("replica-lazy-flush", "no", Tuning, Bool),
    p("slave-lazy-flush", "no", Tuning, Bool),
    p("replica-announce-ip", "", Tuning, Text),
    p("slave-announce-ip", "", Tuning, Text),
    p("replica-announce-port", "0", Tuning, Int(0, 65535)),
    p("slave-announce-port", "0", Tuning, Int(0, 65535)),
    p("replica-ignore-maxmemory", "yes", Tuning, Bool),
    p("slave-ignore-maxmemory", "yes", Tuning, Bool),
    p("replica-ignore-disk-write-errors", "no", Tuning, Bool),
    p("bind-source-addr", "", Tuning, Text),
    p(
        "propagation-error-behavior",
        "ignore",
        Tuning,
        OneOf(&["ignore", "panic", "panic-on-replicas"]),
    ),
    p("ignore-warnings", "", Tuning, Text),
    fixed("socket-mark-id", "0", Tuning, Int(0, U32)),
    fixed("server_cpulist", "", Tuning, Text),
    fixed("bio_cpulist", "", Tuning, Text),
    fixed("aof_rewrite_cpulist", "", Tuning, Text),
    fixed("bgsave_cpulist", "", Tuning, Text),
    p("aof-disable-auto-gc", "no", Tuning, Bool),
    p("active-defrag-cycle-min", "1", Tuning, Int(1, 99)),
    p("active-defrag-cycle-max", "25", Tuning, Int(1, 99)),
    p("active-defrag-ignore-bytes", "104857600", Tuning, Memory(1)),
    p(
        "active-defrag-max-scan-fields",
        "1000",
        Tuning,
        Int(1, i64::MAX),
    ),
    p("active-defrag-threshold-lower", "10", Tuning, Int(0, 1000)),
    p("active-defrag-threshold-upper", "100", Tuning, Int(0, 1000)),
    p("replica-announced", "yes", Tuning, Bool),
    p("acllog-max-len", "128", Tuning, Int(0, I32)),
    p("lazyfree-lazy-eviction", "no", Tuning, Bool),
    p("lazyfree-lazy-expire", "no", Tuning, Bool),
    p("lazyfree-lazy-server-del", "no", Tuning, Bool),
    p("lazyfree-lazy-user-del", "no", Tuning, Bool),
    p("lazyfree-lazy-user-flush", "no", Tuning, Bool),
    p(
        "oom-score-adj",
        "no",
        Tuning,
        OneOf(&["no", "yes", "relative", "absolute"]),
    ),
    p("oom-score-adj-values", "0 200 800", Tuning, Text),
    p("disable-thp", "yes", Tuning, Bool),
    p("no-appendfsync-on-rewrite", "no", Tuning, Bool),
    p("auto-aof-rewrite-percentage", "100", Tuning, Int(0, I32)),
    p("auto-aof-rewrite-min-size", "67108864", Tuning, Memory(0)),
    p("aof-load-truncated", "yes", Tuning, Bool),
    p("aof-use-rdb-preamble", "yes", Tuning, Bool),
    p("aof-timestamp-enabled", "no", Tuning, Bool),
    p("aof-rewrite-incremental-fsync", "yes", Tuning, Bool),
    p(
        "slowlog-log-slower-than",
        "10000",
        Live,
        Int(i64::MIN, i64::MAX),
    ),
    p("slowlog-max-len", "128", Live, Int(0, i64::MAX)),
    p("latency-monitor-threshold", "0", Live, Int(0, i64::MAX)),
    p("latency-tracking", "yes", Live, Bool),
    p(
        "latency-tracking-info-percentiles",
        "50 99 99.9",
        Live,
        Percentiles,
    ),
    p("hash-max-listpack-entries", "512", Tuning, Int(0, i64::MAX)),
    p("hash-max-listpack-value", "64", Tuning, Int(0, i64::MAX)),
    p("hash-max-ziplist-entries", "512", Tuning, Int(0, i64::MAX)),
    p("hash-max-ziplist-value", "64", Tuning, Int(0, i64::MAX)),
    p(
        "list-max-listpack-size",
        "-2",
        Tuning,
        Int(i32::MIN as i64, I32),
    ),
    p(
        "list-max-ziplist-size",
        "-2",
        Tuning,
        Int(i32::MIN as i64, I32),
    ),
    p("list-compress-depth", "0", Tuning, Int(0, I32)),
    p("set-max-intset-entries", "512", Tuning, Int(0, i64::MAX)),
    p("zset-max-listpack-entries", "128", Tuning, Int(0, i64::MAX)),
    p("zset-max-listpack-value", "64", Tuning, Int(0, i64::MAX)),
    p("zset-max-ziplist-entries", "128", Tuning, Int(0, i64::MAX)),
    p("zset-max-ziplist-value", "64", Tuning, Int(0, i64::MAX)),
    p("hll-sparse-max-bytes", "3000", Live, Memory(0)),
    p("stream-node-max-bytes", "4096", Tuning, Memory(0)),
    p("stream-node-max-entries", "100", Tuning, Int(0, i64::MAX)),
    p("activerehashing", "yes", Tuning, Bool),
    p("activedefrag", "no", Tuning, Bool),
    p("dynamic-hz", "yes", Tuning, Bool),
    p("jemalloc-bg-thread", "yes", Tuning, Bool),
    p(
        "maxmemory-policy",
        "noeviction",
        Live,
        OneOf(crate::store::access::POLICIES),
    ),
    p("lfu-log-factor", "10", Live, Int(0, I32)),
    p("lfu-decay-time", "1", Live, Int(0, I32)),
    p("maxmemory-samples", "5", Tuning, Int(1, I32)),
    p("maxmemory-eviction-tenacity", "10", Tuning, Int(0, 100)),
    p("active-expire-effort", "1", Tuning, Int(1, 10)),
    p("io-threads-do-reads", "no", Tuning, Bool),
    // Seconds to wait for replicas at shutdown: respd has none to wait for.
    p("shutdown-timeout", "10", Tuning, Int(0, I32)),
    p("shutdown-on-sigint", "default", Live, ShutdownFlags),
    p("shutdown-on-sigterm", "default", Live, ShutdownFlags),
    p(
        "tracking-table-max-keys",
        "1000000",
        Tuning,
        Int(0, i64::MAX),
    ),
    p("crash-log-enabled", "yes", Tuning, Bool),
    p("crash-memcheck-enabled", "yes", Tuning, Bool),
    p(
        "sanitize-dump-payload",
        "no",
        Tuning,
        OneOf(&["no", "yes", "clients"]),
    ),
    p(
        "acl-pubsub-default",
        "resetchannels",
        Tuning,
        OneOf(&["resetchannels", "allchannels"]),
    ),
    fixed(
        "enable-debug-command",
        "no",
        Tuning,
        OneOf(&["no", "yes", "local"]),
    ),
    fixed(
        "enable-module-command",
        "no",
        Tuning,
        OneOf(&["no", "yes", "local"]),
    ),
    fixed(
        "enable-protected-configs",
        "no",
        Tuning,
        OneOf(&["no", "yes", "local"]),
    ),
    p("syslog-ident", "redis", Tuning, Text),
    p("syslog-facility", "local0", Tuning, Text),
    p("cluster-config-file", "nodes.conf", Tuning, Text),
    p("cluster-node-timeout", "15000", Tuning, Int(0, i64::MAX)),
    fixed("cluster-port", "0", Tuning, Int(0, 65535)),
    p("cluster-announce-ip", "", Tuning, Text),
    p("cluster-announce-hostname", "", Tuning, Text),
    p("cluster-announce-port", "0", Tuning, Int(0, 65535)),
    p("cluster-announce-bus-port", "0", Tuning, Int(0, 65535)),
    p("cluster-announce-tls-port", "0", Tuning, Int(0, 65535)),
    p(
        "cluster-preferred-endpoint-type",
        "ip",
        Tuning,
        OneOf(&["ip", "hostname", "unknown-endpoint"]),
    ),
    p("cluster-link-sendbuf-limit", "0", Tuning, Memory(0)),
    p("cluster-migration-barrier", "1", Tuning, Int(0, I32)),
    p("cluster-replica-no-failover", "no", Tuning, Bool),
    p("cluster-slave-no-failover", "no", Tuning, Bool),
    p("cluster-replica-validity-factor", "10", Tuning, Int(0, I32)),
    p("cluster-slave-validity-factor", "10", Tuning, Int(0, I32)),
    p("cluster-require-full-coverage", "yes", Tuning, Bool),
    p("cluster-allow-reads-when-down", "no", Tuning, Bool),
    p("cluster-allow-pubsubshard-when-down", "yes", Tuning, Bool),
    p("cluster-allow-replica-migration", "yes", Tuning, Bool),
    hidden("use-exit-on-panic", "no", false, Bool),
    hidden("lua-enable-deprecated-api", "no", true, Bool),
    hidden("rdb-key-save-delay", "0", false, Int(i32::MIN as i64, I32)),
    hidden("key-load-delay", "0", false, Int(i32::MIN as i64, I32)),
    hidden("watchdog-period", "0", false, Int(0, I32)),
    hidden(
        "loading-process-events-interval-bytes",
        "2097152",
        false,
        Int(1024, I32),
    ),
];

/// Looks a parameter up by name, case-insensitively.
pub fn param(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Parameters with two names (Redis's aliases), the name CONFIG REWRITE
/// writes first. Setting either sets both.
const ALIASES: &[(&str, &str)] = &[
    ("busy-reply-threshold", "lua-time-limit"),
    // Redis 7.0's listpack settings keep their ziplist names.
    ("hash-max-listpack-entries", "hash-max-ziplist-entries"),
    ("hash-max-listpack-value", "hash-max-ziplist-value"),
    ("zset-max-listpack-entries", "zset-max-ziplist-entries"),
    ("zset-max-listpack-value", "zset-max-ziplist-value"),
    ("list-max-listpack-size", "list-max-ziplist-size"),
    // And the replication settings their `slave` names.
    ("replicaof", "slaveof"),
    ("min-replicas-to-write", "min-slaves-to-write"),
    ("min-replicas-max-lag", "min-slaves-max-lag"),
    ("replica-serve-stale-data", "slave-serve-stale-data"),
    ("replica-read-only", "slave-read-only"),
    ("replica-priority", "slave-priority"),
    ("replica-lazy-flush", "slave-lazy-flush"),
    ("replica-announce-ip", "slave-announce-ip"),
    ("replica-announce-port", "slave-announce-port"),
    ("replica-ignore-maxmemory", "slave-ignore-maxmemory"),
    ("repl-ping-replica-period", "repl-ping-slave-period"),
    ("cluster-replica-no-failover", "cluster-slave-no-failover"),
    (
        "cluster-replica-validity-factor",
        "cluster-slave-validity-factor",
    ),
];

/// The row of a parameter's first name (itself, unless it is the second
/// name of one that has two).
fn canonical(row: &'static Param) -> &'static Param {
    ALIASES
        .iter()
        .find(|&&(_, second)| second == row.name)
        .and_then(|&(first, _)| param(first))
        .unwrap_or(row)
}

/// The other name of a parameter that has two.
fn alias_of(name: &str) -> Option<&'static str> {
    ALIASES.iter().find_map(|&(first, second)| match name {
        _ if name == first => Some(second),
        _ if name == second => Some(first),
        _ => None,
    })
}

/// The current value of every parameter.
#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    /// The config file the server started with (INFO config_file, CONFIG
    /// REWRITE), as an absolute path.
    pub file: Option<String>,
    /// `notify-keyspace-events` as set: its shown value hides `n` behind
    /// `A`, as Redis's does, but the class stays on.
    keyspace_events: u32,
    /// `user name rules...` lines, each without its `user` (ACL users).
    pub users: Vec<Vec<Vec<u8>>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            values: PARAMS
                .iter()
                .map(|p| (p.name, p.default.to_string()))
                .collect(),
            file: None,
            keyspace_events: 0,
            users: Vec::new(),
        }
    }
}

impl Config {
    /// The value of `name` as CONFIG GET shows it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(param(name)?.name).map(String::as_str)
    }

    /// Every (name, value) whose name matches the glob `pattern`, in table
    /// order. A pattern without glob characters is a name, which finds
    /// hidden parameters too.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, &str)> {
        let exact = !pattern.iter().any(|b| b"[*?".contains(b));
        PARAMS
            .iter()
            .filter(|p| !p.hidden || exact)
            .filter(|p| glob_match(pattern, p.name.as_bytes(), true))
            .map(|p| {
                (
                    p.name,
                    self.values.get(p.name).map(String::as_str).unwrap_or(""),
                )
            })
            .collect()
    }

    /// Checks and stores a value. `at_startup` allows immutable and
    /// protected parameters. The error is the reason Redis gives (after
    /// `- ` in its messages).
    pub fn set(&mut self, name: &str, value: &str, at_startup: bool) -> Result<(), String> {
        let param = param(name).ok_or_else(|| "unknown parameter".to_string())?;
        if !at_startup {
            refusal(param)?;
        }
        let value = if param.check == EventClasses {
            let classes = crate::notify::parse_classes(value).ok_or(crate::notify::BAD_CLASS)?;
            self.keyspace_events = classes;
            crate::notify::show_classes(classes)
        } else {
            normalize(param, value)?
        };
        if param.kind == DefaultOnly && value != normalize(param, param.default)? {
            // A daemon is what a supervisor makes of a foreground process.
            let hint = if param.name == "daemonize" {
                ": respd stays in the foreground; run it under a supervisor (systemd, runit) or with `nohup respd &`, and use `pidfile` and `logfile`"
            } else {
                ""
            };
            return Err(format!(
                "respd does not support '{} {}' (only '{}'){hint}",
                param.name, value, param.default
            ));
        }
        if let Some(twin) = alias_of(param.name) {
            self.values.insert(twin, value.clone());
        }
        self.values.insert(param.name, value);
        Ok(())
    }

    /// CONFIG SET's pairs, checked as Redis does: every name first (unknown,
    /// immutable, protected, repeated), then every value. The error is the
    /// whole reply text; on error some values may be set, so callers apply
    /// this to a copy.
    pub fn set_many(&mut self, pairs: &[(String, String)]) -> Result<(), String> {
        let mut seen: Vec<&str> = Vec::new();
        for (name, _) in pairs {
            let Some(param) = param(name) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            let problem = refusal(param).err().or_else(|| {
                seen.contains(&param.name)
                    .then(|| "duplicate parameter".to_string())
            });
            if let Some(reason) = problem {
                return Err(set_failed(name, &reason));
            }
            seen.push(param.name);
        }
        for (name, value) in pairs {
            let canonical = param(name).map_or(name.as_str(), |p| p.name);
            self.set(name, value, false)
                .map_err(|reason| set_failed(canonical, &reason))?;
        }
        Ok(())
    }
    fn number(&self, name: &str) -> i64 {
        self.get(name)
            .and_then(|v| parse_i64(v.as_bytes()))
            .unwrap_or(0)
    }

    fn flag(&self, name: &str) -> bool {
        self.get(name) == Some("yes")
    }

    pub fn port(&self) -> u16 {
        self.number("port") as u16
    }
    /// The addresses to listen on (`bind`), with Redis's `-` prefix
    /// ("optional address") removed.
    pub fn bind(&self) -> Vec<String> {
        self.get("bind")
            .unwrap_or("")
            .split_whitespace()
            .map(|a| a.trim_start_matches('-').to_string())
            .collect()
    }
    /// The unix socket's permissions (`unixsocketperm`); 0 leaves them
    /// to the umask.
    pub fn unixsocketperm(&self) -> u32 {
        self.get("unixsocketperm")
            .and_then(|v| u32::from_str_radix(v, 8).ok())
            .unwrap_or(0)
    }
    pub fn maxclients(&self) -> usize {
        self.number("maxclients") as usize
    }
    /// Milliseconds a script runs before other clients get -BUSY.
    pub fn busy_reply_threshold(&self) -> u64 {
        self.number("busy-reply-threshold").max(0) as u64
    }
    /// Seconds a client may stay idle; 0 for ever.
    pub fn timeout(&self) -> u64 {
        self.number("timeout") as u64
    }
    pub fn databases(&self) -> usize {
        self.number("databases") as usize
    }
    /// The password, if one is required.
    pub fn requirepass(&self) -> Option<&str> {
        self.get("requirepass").filter(|p| !p.is_empty())
    }
    pub fn protected_mode(&self) -> bool {
        self.flag("protected-mode")
    }
    pub fn proto_max_bulk_len(&self) -> i64 {
        self.number("proto-max-bulk-len")
    }
    pub fn client_query_buffer_limit(&self) -> u64 {
        self.number("client-query-buffer-limit") as u64
    }
    /// The longest a sparse HyperLogLog may grow before it turns dense.
    pub fn hll_sparse_max_bytes(&self) -> usize {
        self.number("hll-sparse-max-bytes").max(0) as usize
    }
    /// `trace`: the wire trace of every connection is on.
    pub fn trace(&self) -> bool {
        self.flag("trace")
    }

    /// The keyspace event classes to publish (`notify-keyspace-events`).
    pub fn keyspace_events(&self) -> u32 {
        self.keyspace_events
    }
    /// What the keys' access clocks count: (`maxmemory-policy`,
    /// `lfu-log-factor`, `lfu-decay-time`).
    pub fn access_settings(&self) -> (&str, u32, u32) {
        let policy = self.get("maxmemory-policy").unwrap_or("noeviction");
        let number = |name| u32::try_from(self.number(name)).unwrap_or(u32::MAX);
        (policy, number("lfu-log-factor"), number("lfu-decay-time"))
    }
    /// What eviction follows: (`maxmemory` in bytes, `maxmemory-policy`,
    /// `maxmemory-samples`, `maxmemory-eviction-tenacity`).
    pub fn memory_settings(&self) -> (usize, &str, usize, u32) {
        let policy = self.get("maxmemory-policy").unwrap_or("noeviction");
        let number = |name| usize::try_from(self.number(name)).unwrap_or(0);
        (
            number("maxmemory"),
            policy,
            number("maxmemory-samples").max(1),
            number("maxmemory-eviction-tenacity").min(100) as u32,
        )
    }

    /// The compact encodings' entry limits: hash, set of integers, sorted
    /// set (see `store::access::Compact`).
    pub fn compact_limits(&self) -> [u32; 3] {
        [
            "hash-max-listpack-entries",
            "set-max-intset-entries",
            "zset-max-listpack-entries",
        ]
        .map(|name| u32::try_from(self.number(name)).unwrap_or(u32::MAX))
    }
    /// When a compact hash becomes a table.
    pub fn hash_limits(&self) -> crate::store::HashLimits {
        let number = |name| usize::try_from(self.number(name)).unwrap_or(usize::MAX);
        crate::store::HashLimits {
            max_fields: number("hash-max-listpack-entries"),
            max_len: number("hash-max-listpack-value"),
        }
    }
    pub fn hz(&self) -> u64 {
        self.number("hz").max(1) as u64
    }

    /// Reads redis.conf text. The error names the line, in Redis's words.
    pub fn load(&mut self, text: &str) -> Result<(), String> {
        let mut seen_save = false;
        for (number, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            self.apply_line(line, &mut seen_save).map_err(|reason| {
                fatal(
                    &format!("Reading the configuration file, at line {}", number + 1),
                    line,
                    &reason,
                )
            })?;
        }
        Ok(())
    }

    /// Applies redis-server style flags (`--port 7000 --save ""`) after the
    /// file, as redis-server does. The error names the flag.
    pub fn load_args(&mut self, args: &[String]) -> Result<(), String> {
        let mut seen_save = false;
        for line in args_to_lines(args)?.lines() {
            self.apply_line(line, &mut seen_save).map_err(|reason| {
                fatal(
                    "Reading the command line arguments",
                    &format!("--{line}"),
                    &reason,
                )
            })?;
        }
        Ok(())
    }

    /// One `name value...` line of a config file or the command line.
    fn apply_line(&mut self, line: &str, seen_save: &mut bool) -> Result<(), String> {
        let args = split_args(line.as_bytes())
            .map_err(|_| "Unbalanced quotes in configuration line".to_string())?;
        let args: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let name = args
            .first()
            .map(|a| a.to_ascii_lowercase())
            .unwrap_or_default();
        if matches!(name.as_str(), "include" | "rename-command" | "loadmodule") {
            return Err(format!("respd does not support the '{name}' directive"));
        }
        if name == "user" && args.len() >= 2 {
            // Checked now, applied when the server starts (as Redis).
            let line: Vec<Vec<u8>> = args[1..].iter().map(|a| a.as_bytes().to_vec()).collect();
            crate::acl::set_user(None, &line[0], &line[1..], false)
                .map_err(|err| err.trim_start_matches("ERR ").to_string())?;
            self.users.push(line);
            return Ok(());
        }
        if param(&name).is_none() || args.len() < 2 {
            return Err("Bad directive or wrong number of arguments".into());
        }
        let mut value = args[1..].join(" ");
        // Several `save` lines add up; the first replaces the default.
        if name == "save" && !value.is_empty() {
            if *seen_save {
                value = format!("{} {}", self.get("save").unwrap_or(""), value);
            }
            *seen_save = true;
        }
        self.set(&name, &value, true)
    }

    /// CONFIG REWRITE: the config file, with each directive respd knows
    /// set to its current value, and changed parameters the file lacks
    /// appended. Comments and unknown lines stay as they were. `users`
    /// (whole `user` lines) take the places of the file's `user` lines in
    /// turn, the rest appended, as Redis rewrites them.
    pub fn rewrite(&self, users: &[String]) -> std::io::Result<()> {
        let path = self
            .file
            .as_deref()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no config file"))?;
        let old = std::fs::read_to_string(path).unwrap_or_default();
        let mut written: Vec<&str> = Vec::new();
        let mut text = String::new();
        let mut users = users.iter();
        for line in old.lines() {
            let trimmed = line.trim();
            let first = trimmed.split_whitespace().next().unwrap_or("");
            if first.eq_ignore_ascii_case("user") {
                if let Some(user) = users.next() {
                    text.push_str(user);
                    text.push('\n');
                }
                continue;
            }
            let known = (!trimmed.starts_with('#'))
                .then(|| trimmed.split_whitespace().next().and_then(param))
                .flatten();
            // A parameter with two names is written with its first.
            match known.map(canonical) {
                Some(param) if written.contains(&param.name) => {}
                Some(param) => {
                    written.push(param.name);
                    text.push_str(&self.directive(param));
                }
                None => {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        let mut header = false;
        for param in PARAMS {
            let value = self.get(param.name).unwrap_or("");
            let default = normalize(param, param.default).unwrap_or_default();
            let second_name = canonical(param).name != param.name;
            if written.contains(&param.name) || value == default || second_name {
                continue;
            }
            if !header {
                text.push_str("# Generated by CONFIG REWRITE\n");
                header = true;
            }
            text.push_str(&self.directive(param));
        }
        for user in users {
            if !header {
                text.push_str("# Generated by CONFIG REWRITE\n");
                header = true;
            }
            text.push_str(user);
            text.push('\n');
        }
        let temporary = format!("{path}.respd-tmp");
        std::fs::write(&temporary, text)?;
        std::fs::rename(&temporary, path)
    }

    /// A parameter's current value as config file lines.
    fn directive(&self, param: &Param) -> String {
        let value = self.get(param.name).unwrap_or("");
        let words: Vec<&str> = value.split_whitespace().collect();
        if param.name == "save" && !words.is_empty() {
            return words
                .chunks(2)
                .map(|pair| format!("save {}\n", pair.join(" ")))
                .collect();
        }
        // Lists are written as words, anything else as one argument.
        let is_list = matches!(
            param.name,
            "bind" | "client-output-buffer-limit" | "oom-score-adj-values"
        );
        if value.is_empty() || (!is_list && value.contains([' ', '"', '\'', '\\'])) {
            format!("{} {}\n", param.name, quote(value))
        } else {
            format!("{} {value}\n", param.name)
        }
    }
}

/// Why CONFIG SET may not change a parameter at all, whatever the value.
fn refusal(param: &Param) -> Result<(), String> {
    if param.immutable {
        Err("can't set immutable config".into())
    } else if param.protected {
        Err("can't set protected config".into())
    } else {
        Ok(())
    }
}

/// `ERR CONFIG SET failed (possibly related to argument 'x') - reason`
fn set_failed(name: &str, reason: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")
}

/// redis-server's message for a configuration it cannot start with.
fn fatal(place: &str, line: &str, reason: &str) -> String {
    format!(
        "\n*** FATAL CONFIG FILE ERROR (respd {}) ***\n{place}\n>>> '{line}'\n{reason}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Checks `value` against the parameter's rule and returns it as CONFIG
/// GET will show it (memory sizes in bytes, booleans lower-case).
fn normalize(param: &Param, value: &str) -> Result<String, String> {
    match param.check {
        Bool => match value.to_ascii_lowercase().as_str() {
            v @ ("yes" | "no") => Ok(v.to_string()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Int(min, max) => {
            let n =
                parse_i64(value.as_bytes()).ok_or("argument couldn't be parsed into an integer")?;
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            // hz takes any value and keeps it within what Redis allows.
            let n = if param.name == "hz" {
                n.clamp(1, 500)
            } else {
                n
            };
            Ok(n.to_string())
        }
        Memory(min) => {
            let n = parse_memory(value).ok_or("argument must be a memory value")?;
            if n < min || n > i64::MAX as u64 {
                return Err(format!(
                    "argument must be between {min} and {} inclusive",
                    i64::MAX
                ));
            }
            Ok(n.to_string())
        }
        MemoryOrPercent => {
            if let Some(n) = parse_memory(value).filter(|&n| n <= i64::MAX as u64) {
                return Ok(n.to_string());
            }
            let percent = value
                .strip_suffix('%')
                .and_then(|digits| parse_i64(digits.as_bytes()))
                .filter(|&n| n >= 0)
                .ok_or("argument must be a memory or percent value")?;
            if percent > 100 {
                return Err("percentage argument must be less or equal to 100".into());
            }
            Ok(format!("{percent}%"))
        }
        EventClasses => crate::notify::parse_classes(value)
            .map(crate::notify::show_classes)
            .ok_or_else(|| crate::notify::BAD_CLASS.to_string()),
        SavePoints => {
            let words: Vec<&str> = value.split_whitespace().collect();
            let numbers = words
                .iter()
                .all(|w| parse_i64(w.as_bytes()).is_some_and(|n| n >= 0));
            if words.len() % 2 != 0 || !numbers {
                return Err("Invalid save parameters".into());
            }
            Ok(words.join(" "))
        }
        OneOf(options) => {
            let lower = value.to_ascii_lowercase();
            if options.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    options.join(", ")
                ))
            }
        }
        ShutdownFlags => {
            const WORDS: [&str; 5] = ["default", "save", "nosave", "now", "force"];
            let given: Vec<String> = value
                .split_whitespace()
                .map(str::to_ascii_lowercase)
                .collect();
            if given.is_empty() || given.iter().any(|w| !WORDS.contains(&w.as_str())) {
                return Err(format!(
                    "argument(s) must be one of the following: {}",
                    WORDS.join(", ")
                ));
            }
            if given.iter().any(|w| w == "save") && given.iter().any(|w| w == "nosave") {
                return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
            }
            // Shown in the table's order, as Redis shows its flags.
            let shown: Vec<&str> = WORDS[1..]
                .iter()
                .copied()
                .filter(|w| given.iter().any(|g| g == w))
                .collect();
            Ok(if shown.is_empty() {
                "default".into()
            } else {
                shown.join(" ")
            })
        }
        Octal(max) => {
            let n = u32::from_str_radix(value, 8)
                .map_err(|_| "argument couldn't be parsed as an octal number")?;
            if n > max {
                return Err(format!("argument must be between 0 and {max:o} inclusive"));
            }
            Ok(format!("{n:o}"))
        }
        Percentiles => {
            let mut shown = Vec::new();
            for word in value.split_whitespace() {
                let n = crate::util::parse_f64(word.as_bytes())
                    .filter(|n| n.is_finite())
                    .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                if !(0.0..=100.0).contains(&n) {
                    return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
                }
                shown.push(crate::util::format_percentile(n));
            }
            Ok(shown.join(" "))
        }
        Text => Ok(value.to_string()),
    }
}

/// Redis's `memtoull`: `1k` = 1000, `1kb` = 1024, and so on for m and g.
pub fn parse_memory(value: &str) -> Option<u64> {
    let lower = value.to_ascii_lowercase();
    let units: [(&str, u64); 6] = [
        ("kb", 1 << 10),
        ("mb", 1 << 20),
        ("gb", 1 << 30),
        ("k", 1000),
        ("m", 1_000_000),
        ("g", 1_000_000_000),
    ];
    let (digits, multiplier) = units
        .iter()
        .find_map(|(suffix, m)| lower.strip_suffix(suffix).map(|d| (d, *m)))
        .unwrap_or((lower.as_str(), 1));
    let digits = digits.strip_suffix('b').unwrap_or(digits);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}

/// Turns redis-server style arguments (`[file] --port 7000 --save ""`) into
/// config lines, appended after the file's own text.
pub fn args_to_lines(args: &[String]) -> Result<String, String> {
    let mut lines = String::new();
    for arg in args {
        if let Some(name) = arg.strip_prefix("--") {
            if !lines.is_empty() {
                lines.push('\n');
            }
            lines.push_str(name);
        } else if lines.is_empty() {
            return Err(format!(
                "Unexpected argument '{arg}': options start with --"
            ));
        } else {
            lines.push(' ');
            lines.push_str(&quote(arg));
        }
    }
    Ok(lines)
}

/// Quotes a value so that [`split_args`] reads it back as one argument.
fn quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_redis_conf_lines_and_reports_bad_ones() {
        let mut config = Config::default();
        config
            .load("# comment\nport 7000\nsave 900 1\nsave 300 10\nhash-max-listpack-entries 64\n")
            .unwrap();
        assert_eq!(config.port(), 7000);
        assert_eq!(config.get("save"), Some("900 1 300 10"));
        assert_eq!(config.get("hash-max-listpack-entries"), Some("64"));
        let err = Config::default().load("port 1\nbogus yes\n").unwrap_err();
        assert!(
            err.contains("at line 2") && err.contains("'bogus yes'"),
            "{err}"
        );
        let err = Config::default().load("daemonize yes\n").unwrap_err();
        assert!(
            err.contains("does not support") && err.contains("supervisor"),
            "{err}"
        );
        assert!(Config::default()
            .load("daemonize no\nappendonly no\n")
            .is_ok());
    }

    #[test]
    fn memory_units_and_flags() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1g"), Some(1_000_000_000));
        assert_eq!(parse_memory("512"), Some(512));
        assert_eq!(parse_memory("1x"), None);
        assert_eq!(
            args_to_lines(&["--port".into(), "7000".into(), "--save".into(), "".into()]).unwrap(),
            "port \"7000\"\nsave \"\""
        );
    }
}
