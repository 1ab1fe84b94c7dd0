//! INFO: the server's sections in Redis 7.0's order and format, and which
//! of them `default`, `all` and `everything` bring.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::flags::*;
use super::{Args, CmdResult, Command, Context, NO_KEYS};
use crate::persistence;

pub static COMMANDS: &[Command] = &[Command::new(
    "info",
    -1,
    LOADING | STALE,
    NO_KEYS,
    "server",
    info,
)];

// INFO [section [section ...]]
fn info(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let asked = Asked::new(&args[1..]);
    let mut text = String::new();
    for &name in SECTIONS {
        if !asked.wants(name) {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        let mut title = name.to_string();
        title[..1].make_ascii_uppercase();
        if name == "cpu" {
            title = "CPU".into();
        }
        let _ = write!(text, "# {title}\r\n");
        if name == "replication" {
            for (field, value) in super::replication::info(cx.shared) {
                let _ = write!(text, "{field}:{value}\r\n");
            }
        }
        for (field, value) in section(cx, name) {
            if field.is_empty() {
                let _ = write!(text, "{value}\r\n");
            } else {
                let _ = write!(text, "{field}:{value}\r\n");
            }
        }
    }
    cx.out.verbatim(text.as_bytes());
    Ok(())
}

/// INFO's sections, in the order Redis prints them.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// The sections `default` (and INFO without arguments) brings.
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

/// The sections INFO's arguments ask for (Redis's genInfoSectionDict):
/// names in any case, `default`, `all` (every section) and `everything`
/// (all, and the modules' own).
struct Asked {
    all: bool,
    names: Vec<String>,
}

impl Asked {
    fn new(args: &[Vec<u8>]) -> Self {
        let mut asked = Asked {
            all: false,
            names: Vec::new(),
        };
        if args.is_empty() {
            asked.names = DEFAULT_SECTIONS.iter().map(|s| s.to_string()).collect();
        }
        for arg in args {
            let name = String::from_utf8_lossy(arg).to_ascii_lowercase();
            match name.as_str() {
                "default" => asked
                    .names
                    .extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string())),
                "all" | "everything" => asked.all = true,
                _ => asked.names.push(name),
            }
        }
        asked
    }

    fn wants(&self, section: &str) -> bool {
        let named = |name: &str| self.names.iter().any(|n| n == name);
        self.all || named(section) || (section == "modules" && named("module_list"))
    }
}

/// The `field:value` lines of one INFO section.
fn section(cx: &Context<'_>, name: &str) -> Vec<(&'static str, String)> {
    let shared = cx.shared;
    let config = shared.config();
    let uptime = shared.started.elapsed().as_secs();
    let stat = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed).to_string();
    match name {
        "server" => vec![
            ("redis_version", crate::REDIS_VERSION.into()),
            ("respd_version", env!("CARGO_PKG_VERSION").into()),
            ("redis_git_sha1", "00000000".into()),
            ("redis_git_dirty", "0".into()),
            ("redis_build_id", "0".into()),
            ("redis_mode", "standalone".into()),
            ("os", os_name()),
            ("arch_bits", usize::BITS.to_string()),
            // std's Instant reads CLOCK_MONOTONIC.
            ("monotonic_clock", "POSIX clock_gettime".into()),
            ("multiplexing_api", "threads".into()),
            // std's atomics are C11's.
            ("atomicvar_api", "c11-builtin".into()),
            // What Redis prints when GCC did not build it.
            ("gcc_version", "0.0.0".into()),
            ("process_id", std::process::id().to_string()),
            ("process_supervised", "no".into()),
            ("run_id", shared.run_id.clone()),
            ("tcp_port", shared.port.load(Ordering::Relaxed).to_string()),
            ("server_time_usec", (now_micros()).to_string()),
            ("uptime_in_seconds", uptime.to_string()),
            ("uptime_in_days", (uptime / 86_400).to_string()),
            ("hz", config.hz().to_string()),
            ("configured_hz", config.hz().to_string()),
            // Redis's LRU clock: seconds, wrapping at 24 bits.
            (
                "lru_clock",
                ((now_micros() / 1_000_000) & 0xFF_FFFF).to_string(),
            ),
            (
                "executable",
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            ("config_file", config.file.clone().unwrap_or_default()),
            ("io_threads_active", "0".into()),
        ],
        "clients" => vec![
            // Replicas' links are not counted, as in Redis. The two counts
            // are read apart, so a replica can be in one and not yet (or no
            // longer) in the other: never below zero.
            (
                "connected_clients",
                shared
                    .clients
                    .len()
                    .saturating_sub(shared.replication.backlog().replicas.len())
                    .to_string(),
            ),
            ("cluster_connections", "0".into()),
            ("maxclients", config.maxclients().to_string()),
            ("client_recent_max_input_buffer", "0".into()),
            ("client_recent_max_output_buffer", "0".into()),
            (
                "blocked_clients",
                // Clients held back by CLIENT PAUSE count as blocked.
                (cx.shared.blocking.blocked_clients()
                    + cx.shared.pause.waiting.load(Ordering::Relaxed))
                .to_string(),
            ),
            (
                "tracking_clients",
                shared.tracking.totals().clients.to_string(),
            ),
            ("clients_in_timeout_table", "0".into()),
        ],
        "memory" => {
            // used_memory is the data's running count plus the server's
            // and connections' allowance (see `commands::memory`).
            let used = super::memory::used_memory(shared) as u64;
            let peak = shared.store.governor.note_used(used as usize) as u64;
            let startup = super::memory::STARTUP_BYTES as u64;
            let clients = super::memory::overhead(shared) as u64 - startup;
            let tables: u64 = (0..shared.store.len())
                .map(|i| shared.store.read(i).table_overhead() as u64)
                .sum();
            let overhead = startup + clients + tables;
            let dataset = used.saturating_sub(overhead);
            let rss = resident_bytes();
            let maxmemory = config.get("maxmemory").unwrap_or("0").to_string();
            let max = maxmemory.parse().unwrap_or(0);
            let total = total_system_memory();
            let percent = |a: u64, b: u64| {
                let ratio = if b == 0 {
                    0.0
                } else {
                    a as f64 * 100.0 / b as f64
                };
                format!("{ratio:.2}%")
            };
            let ratio =
                |a: u64, b: u64| format!("{:.2}", if b == 0 { 0.0 } else { a as f64 / b as f64 });
            #[allow(unused_mut)]
            let mut lines = vec![
                ("used_memory", used.to_string()),
                ("used_memory_human", bytes_to_human(used)),
                ("used_memory_rss", rss.to_string()),
                ("used_memory_rss_human", bytes_to_human(rss)),
                ("used_memory_peak", peak.to_string()),
                ("used_memory_peak_human", bytes_to_human(peak)),
                ("used_memory_peak_perc", percent(used, peak)),
                ("used_memory_overhead", overhead.to_string()),
                ("used_memory_startup", startup.to_string()),
                ("used_memory_dataset", dataset.to_string()),
                (
                    "used_memory_dataset_perc",
                    percent(dataset, used.saturating_sub(startup)),
                ),
                ("allocator_allocated", used.to_string()),
                ("allocator_active", used.to_string()),
                ("allocator_resident", rss.to_string()),
                ("total_system_memory", total.to_string()),
                ("total_system_memory_human", bytes_to_human(total)),
                ("maxmemory", maxmemory),
                ("maxmemory_human", bytes_to_human(max)),
                (
                    "maxmemory_policy",
                    config.get("maxmemory-policy").unwrap_or("").into(),
                ),
                ("allocator_frag_ratio", "1.00".into()),
                ("allocator_frag_bytes", "0".into()),
                ("allocator_rss_ratio", ratio(rss, used)),
                ("allocator_rss_bytes", rss.saturating_sub(used).to_string()),
                ("rss_overhead_ratio", "1.00".into()),
                ("rss_overhead_bytes", "0".into()),
                ("mem_fragmentation_ratio", ratio(rss, used)),
                (
                    "mem_fragmentation_bytes",
                    (rss as i64 - used as i64).to_string(),
                ),
                ("mem_not_counted_for_evict", "0".into()),
                ("mem_replication_backlog", "0".into()),
                ("mem_total_replication_buffers", "0".into()),
                ("mem_clients_slaves", "0".into()),
                ("mem_clients_normal", clients.to_string()),
                ("mem_cluster_links", "0".into()),
                ("mem_aof_buffer", "0".into()),
                ("mem_allocator", "libc".into()),
                ("active_defrag_running", "0".into()),
                ("lazyfree_pending_objects", "0".into()),
                ("lazyfreed_objects", "0".into()),
            ];
            // The scripting lines go before maxmemory, where Redis has them
            // (without Lua, those of a VM never used).
            #[cfg(feature = "scripting")]
            let scripting = shared.scripting.memory_figures();
            #[cfg(not(feature = "scripting"))]
            let scripting = MemoryFigures::default();
            let at = lines.iter().position(|(name, _)| *name == "maxmemory");
            let at = at.unwrap_or(lines.len());
            lines.splice(at..at, scripting_memory(scripting));
            lines
        }
        "persistence" => {
            drop(config);
            let mut lines = persistence::info(shared);
            lines.extend(persistence::aof::info(shared));
            lines
        }
        "stats" => {
            let stats = &shared.stats;
            use crate::pubsub::Space;
            let pubsub_count = |space| shared.pubsub.registry().len(space).to_string();
            let expired: u64 = (0..shared.store.len())
                .map(|i| shared.store.read(i).expired_count)
                .sum();
            let evicted: u64 = (0..shared.store.len())
                .map(|i| shared.store.read(i).evicted_count)
                .sum();
            let tracking = shared.tracking.totals();
            use crate::shared::Rate;
            let kbps = |rate| format!("{:.2}", stats.rate(rate) as f64 / 1024.0);
            let (exceeded_total, exceeded_now) = shared.store.governor.exceeded_times();
            vec![
                (
                    "total_connections_received",
                    stat(&stats.connections_received),
                ),
                ("total_commands_processed", stat(&stats.commands_processed)),
                (
                    "instantaneous_ops_per_sec",
                    stats.rate(Rate::Commands).to_string(),
                ),
                ("total_net_input_bytes", stat(&stats.net_input_bytes)),
                ("total_net_output_bytes", stat(&stats.net_output_bytes)),
                (
                    "total_net_repl_input_bytes",
                    stat(&stats.net_repl_input_bytes),
                ),
                (
                    "total_net_repl_output_bytes",
                    stat(&stats.net_repl_output_bytes),
                ),
                ("instantaneous_input_kbps", kbps(Rate::NetInput)),
                ("instantaneous_output_kbps", kbps(Rate::NetOutput)),
                ("instantaneous_input_repl_kbps", kbps(Rate::ReplInput)),
                ("instantaneous_output_repl_kbps", kbps(Rate::ReplOutput)),
                ("rejected_connections", stat(&stats.rejected_connections)),
                ("sync_full", stat(&shared.replication.syncs.full)),
                (
                    "sync_partial_ok",
                    stat(&shared.replication.syncs.partial_ok),
                ),
                (
                    "sync_partial_err",
                    stat(&shared.replication.syncs.partial_err),
                ),
                ("expired_keys", expired.to_string()),
                (
                    "expired_stale_perc",
                    format!("{:.2}", stats.expired_stale_ratio() * 100.0),
                ),
                (
                    "expired_time_cap_reached_count",
                    stat(&stats.expire_cycles_capped),
                ),
                (
                    "expire_cycle_cpu_milliseconds",
                    (stats.expire_cycle_micros.load(Ordering::Relaxed) / 1000).to_string(),
                ),
                ("evicted_keys", evicted.to_string()),
                ("evicted_clients", "0".into()),
                (
                    "total_eviction_exceeded_time",
                    exceeded_total.as_millis().to_string(),
                ),
                (
                    "current_eviction_exceeded_time",
                    exceeded_now.as_millis().to_string(),
                ),
                ("keyspace_hits", stat(&stats.keyspace_hits)),
                ("keyspace_misses", stat(&stats.keyspace_misses)),
                ("pubsub_channels", pubsub_count(Space::Channels)),
                ("pubsub_patterns", pubsub_count(Space::Patterns)),
                ("pubsubshard_channels", pubsub_count(Space::ShardChannels)),
                ("latest_fork_usec", "0".into()),
                ("total_forks", "0".into()),
                (
                    "migrate_cached_sockets",
                    shared.migrate_links.cached().to_string(),
                ),
                // A replica's keys are the master's: none of its own expire.
                ("slave_expires_tracked_keys", "0".into()),
                // No active defragmentation (Redis's needs its own jemalloc).
                ("active_defrag_hits", "0".into()),
                ("active_defrag_misses", "0".into()),
                ("active_defrag_key_hits", "0".into()),
                ("active_defrag_key_misses", "0".into()),
                ("total_active_defrag_time", "0".into()),
                ("current_active_defrag_time", "0".into()),
                ("tracking_total_keys", tracking.keys.to_string()),
                ("tracking_total_items", tracking.items.to_string()),
                ("tracking_total_prefixes", tracking.prefixes.to_string()),
                ("unexpected_error_replies", "0".into()),
                (
                    "total_error_replies",
                    stat(&shared.command_stats.total_error_replies),
                ),
                // Every payload is checked whole; Redis counts its optional
                // deep checks here.
                ("dump_payload_sanitizations", "0".into()),
                ("total_reads_processed", stat(&stats.reads_processed)),
                ("total_writes_processed", stat(&stats.writes_processed)),
                // No I/O threads: the connection's own thread reads and writes.
                ("io_threaded_reads_processed", "0".into()),
                ("io_threaded_writes_processed", "0".into()),
                // Reply buffers are not resized by a timer.
                ("reply_buffer_shrinks", "0".into()),
                ("reply_buffer_expands", "0".into()),
            ]
        }
        // Written by `replication::info`, which knows the links.
        "replication" => Vec::new(),
        "cpu" => {
            let (user, system) = cpu_seconds();
            vec![
                ("used_cpu_sys", format!("{system:.6}")),
                ("used_cpu_user", format!("{user:.6}")),
                ("used_cpu_sys_children", "0.000000".into()),
                ("used_cpu_user_children", "0.000000".into()),
            ]
        }
        "cluster" => vec![("cluster_enabled", "0".into())],
        "keyspace" => {
            drop(config);
            (0..shared.store.len())
                .filter_map(|i| {
                    let db = shared.store.read(i);
                    (!db.is_empty()).then(|| {
                        (
                            DB_NAMES.get(i).copied().unwrap_or("db?"),
                            format!("keys={},expires={},avg_ttl=0", db.len(), db.volatile_len()),
                        )
                    })
                })
                .collect()
        }
        "commandstats" | "errorstats" | "latencystats" => {
            drop(config);
            per_command(cx, name)
        }
        // modules: nothing to show.
        _ => Vec::new(),
    }
}

/// The lines of `commandstats`, `errorstats` or `latencystats`; their
/// names are built at run time, hence owned.
fn per_command(cx: &Context<'_>, name: &str) -> Vec<(&'static str, String)> {
    let stats = &cx.shared.command_stats;
    let mut lines = Vec::new();
    match name {
        "commandstats" => {
            for (_, command, slot) in stats.all() {
                let calls = slot.calls.load(Ordering::Relaxed);
                let usec = slot.usec.load(Ordering::Relaxed);
                let rejected = slot.rejected.load(Ordering::Relaxed);
                let failed = slot.failed.load(Ordering::Relaxed);
                if calls + rejected + failed == 0 {
                    continue;
                }
                let per_call = if calls == 0 {
                    0.0
                } else {
                    usec as f32 / calls as f32
                };
                lines.push(format!(
                    "cmdstat_{command}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}"
                ));
            }
        }
        "errorstats" => {
            for (prefix, count) in stats.errors() {
                lines.push(format!("errorstat_{prefix}:count={count}"));
            }
        }
        _ => {
            if !stats.tracking.load(Ordering::Relaxed) {
                return Vec::new();
            }
            let percentiles: Vec<f64> = cx
                .shared
                .config()
                .get("latency-tracking-info-percentiles")
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            for (_, command, slot) in stats.all() {
                let Some(histogram) = slot.latency() else {
                    continue;
                };
                let values: Vec<String> = percentiles
                    .iter()
                    .map(|&p| {
                        let value = histogram.value_at_percentile(p) as f64 / 1000.0;
                        format!("p{}={value:.3}", crate::util::format_percentile(p))
                    })
                    .collect();
                lines.push(format!(
                    "latency_percentiles_usec_{command}:{}",
                    values.join(",")
                ));
            }
        }
    }
    // Each line is whole: an empty field name writes it as it is.
    lines.into_iter().map(|line| ("", line)).collect()
}

/// Keyspace line names (`databases` is at most what this table holds when
/// it matters: beyond it the line says `db?`).
const DB_NAMES: &[&str] = &[
    "db0", "db1", "db2", "db3", "db4", "db5", "db6", "db7", "db8", "db9", "db10", "db11", "db12",
    "db13", "db14", "db15",
];

/// Microseconds since the epoch by the server's clock (DEBUG CLOCK).
pub(super) fn now_micros() -> u128 {
    crate::clock::current_us() as u128
}

/// `Linux 6.1.0 x86_64`, as uname reports it.
fn os_name() -> String {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let (kind, release) = (
        read("/proc/sys/kernel/ostype"),
        read("/proc/sys/kernel/osrelease"),
    );
    if kind.is_empty() {
        format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)
    } else {
        format!("{kind} {release} {}", std::env::consts::ARCH)
    }
}

/// Resident memory, from /proc/self/statm (assuming 4 KiB pages); 0 where
/// there is no /proc.
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// User and system CPU seconds, from /proc/self/stat (clock ticks of 1/100 s).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which may hold spaces: ") S ppid ...".
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let field = |n: usize| {
        rest.split_whitespace()
            .nth(n)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    (field(11), field(12))
}

/// Redis's `bytesToHuman`: `895.33K`, `1.00G`, `512B`.
fn bytes_to_human(n: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if n < 1024 {
        return format!("{n}B");
    }
    let mut value = n as f64 / 1024.0;
    for unit in UNITS {
        if value < 1024.0 || unit == "P" {
            return format!("{value:.2}{unit}");
        }
        value /= 1024.0;
    }
    unreachable!("the loop returns at P")
}

/// What INFO memory reports of the Lua VM, its scripts and libraries.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryFigures {
    pub lua_bytes: usize,
    pub scripts: usize,
    pub script_bytes: usize,
    pub libraries: usize,
    pub functions: usize,
    pub function_bytes: usize,
}

/// INFO memory's scripting lines, as Redis 7.0 lists them.
fn scripting_memory(figures: MemoryFigures) -> Vec<(&'static str, String)> {
    let MemoryFigures {
        lua_bytes,
        scripts,
        script_bytes,
        libraries,
        functions,
        function_bytes,
    } = figures;
    let human = |bytes: usize| bytes_to_human(bytes as u64);
    vec![
        ("used_memory_lua", lua_bytes.to_string()),
        ("used_memory_vm_eval", lua_bytes.to_string()),
        ("used_memory_lua_human", human(lua_bytes)),
        ("used_memory_scripts_eval", script_bytes.to_string()),
        ("number_of_cached_scripts", scripts.to_string()),
        ("number_of_functions", functions.to_string()),
        ("number_of_libraries", libraries.to_string()),
        ("used_memory_vm_functions", "0".into()),
        ("used_memory_vm_total", lua_bytes.to_string()),
        ("used_memory_vm_total_human", human(lua_bytes)),
        ("used_memory_functions", function_bytes.to_string()),
        (
            "used_memory_scripts",
            (script_bytes + function_bytes).to_string(),
        ),
        (
            "used_memory_scripts_human",
            human(script_bytes + function_bytes),
        ),
    ]
}
