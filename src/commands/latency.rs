//! LATENCY: the latency monitor's spikes per event (`crate::latency`) and
//! the per-command latency histograms (`crate::cmdstats`).

use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::errors::Error;
use super::flags::*;
use super::server::help_reply;
use super::{Args, CmdResult, Command, Context, NO_KEYS};
use crate::histogram::Histogram;
use crate::latency::Series;

const ADMIN_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Command] = &[Command::container("latency", "server", SUBCOMMANDS)];

static SUBCOMMANDS: &[Command] = &[
    Command::new("doctor", 2, ADMIN_FLAGS, NO_KEYS, "server", doctor),
    Command::new("graph", 3, ADMIN_FLAGS, NO_KEYS, "server", graph),
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "server", help),
    Command::new("histogram", -2, ADMIN_FLAGS, NO_KEYS, "server", histogram),
    Command::new("history", 3, ADMIN_FLAGS, NO_KEYS, "server", history),
    Command::new("latest", 2, ADMIN_FLAGS, NO_KEYS, "server", latest),
    Command::new("reset", -2, ADMIN_FLAGS, NO_KEYS, "server", reset),
];

// LATENCY LATEST
fn latest(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let events = cx.shared.latency.snapshot();
    cx.out.array(events.len());
    for (name, series) in events {
        let last = series.samples.back().copied().unwrap_or_default();
        cx.out.array(4);
        cx.out.bulk(name.as_bytes());
        cx.out.int(last.time as i64);
        cx.out.int(last.millis as i64);
        cx.out.int(series.max as i64);
    }
    Ok(())
}

// LATENCY HISTORY event
fn history(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let samples = cx
        .shared
        .latency
        .series(&args[2])
        .map(|series| series.samples)
        .unwrap_or_default();
    cx.out.array(samples.len());
    for sample in samples {
        cx.out.array(2);
        cx.out.int(sample.time as i64);
        cx.out.int(sample.millis as i64);
    }
    Ok(())
}

// LATENCY RESET [event [event ...]]
fn reset(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let latency = &cx.shared.latency;
    let resets = if args.len() == 2 {
        latency.reset(None)
    } else {
        args[2..]
            .iter()
            .map(|event| latency.reset(Some(event)))
            .sum()
    };
    cx.out.int(resets as i64);
    Ok(())
}

// LATENCY GRAPH event
fn graph(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let Some(series) = cx.shared.latency.series(&args[2]) else {
        return Err(Error::new(format!(
            "ERR No samples available for event '{}'",
            String::from_utf8_lossy(&args[2])
        )));
    };
    let name = String::from_utf8_lossy(&args[2]);
    let now = crate::util::now_ms() / 1000;
    cx.out
        .verbatim(crate::latency::graph(&name, &series, now).as_bytes());
    Ok(())
}

// LATENCY HISTOGRAM [command [command ...]]
fn histogram(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let stats = &cx.shared.command_stats;
    let mut found: Vec<(String, &Histogram)> = Vec::new();
    if args.len() == 2 {
        for (_, name, slot) in stats.all() {
            if let Some(histogram) = slot.latency() {
                found.push((name.to_string(), histogram));
            }
        }
    } else {
        for wanted in &args[2..] {
            let wanted = String::from_utf8_lossy(wanted).to_ascii_lowercase();
            // A container's name brings its subcommands; `parent|sub` one.
            for (_, name, slot) in stats.all() {
                let matches = name == wanted
                    || (!wanted.contains('|')
                        && name
                            .split_once('|')
                            .is_some_and(|(parent, _)| parent == wanted));
                if let Some(histogram) = slot.latency().filter(|_| matches) {
                    found.push((name.to_string(), histogram));
                }
            }
        }
    }
    cx.out.map(found.len());
    for (name, histogram) in found {
        cx.out.bulk(name.as_bytes());
        cx.out.map(2);
        cx.out.bulk(b"calls");
        cx.out.int(histogram.total() as i64);
        cx.out.bulk(b"histogram_usec");
        let buckets = histogram.cumulative_usec();
        cx.out.map(buckets.len());
        for (micros, count) in buckets {
            cx.out.int(micros as i64);
            cx.out.int(count as i64);
        }
    }
    Ok(())
}

// LATENCY DOCTOR
fn doctor(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let report = doctor_report(cx);
    cx.out.verbatim(report.as_bytes());
    Ok(())
}

/// Redis's latency report, with the advice that applies to the events
/// respd records (command, fast-command, expire-cycle).
fn doctor_report(cx: &Context<'_>) -> String {
    let shared = cx.shared;
    let events = shared.latency.snapshot();
    let threshold = shared.latency.threshold_ms.load(Ordering::Relaxed);
    if events.is_empty() && threshold == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
    }
    let slower_than = shared.slowlog.slower_than.load(Ordering::Relaxed);
    let now = crate::util::now_ms() / 1000;
    let mut report = String::new();
    let mut advices = 0;
    let (mut slowlog_enabled, mut slowlog_tuning, mut slowlog_inspect) = (false, false, false);
    let (mut scheduler, mut hz, mut large_objects) = (false, false, false);
    for (number, (event, series)) in events.iter().enumerate() {
        if number == 0 {
            report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let stats = analyze(series, now);
        let _ = write!(
            report,
            "{}. {event}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            number + 1,
            stats.samples,
            stats.avg,
            stats.mad,
            stats.period as f64 / stats.samples.max(1) as f64,
            series.max
        );
        match event.as_str() {
            "command" => {
                if slower_than < 0 {
                    slowlog_enabled = true;
                    advices += 1;
                } else if (slower_than / 1000) as u64 > threshold {
                    slowlog_tuning = true;
                    advices += 1;
                }
                slowlog_inspect = true;
                large_objects = true;
                advices += 2;
            }
            "fast-command" => {
                scheduler = true;
                advices += 1;
            }
            "expire-cycle" => {
                hz = true;
                large_objects = true;
                advices += 2;
            }
            _ => {}
        }
        report.push('\n');
    }
    if events.is_empty() && advices == 0 {
        report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        return report;
    }
    if advices == 0 {
        report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        return report;
    }
    report.push_str("\nI have a few advices for you:\n\n");
    if slowlog_enabled {
        let _ = writeln!(report, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.", threshold * 1000);
    }
    if slowlog_tuning {
        let _ = writeln!(report, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {}'.", threshold * 1000);
    }
    if slowlog_inspect {
        report.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
    }
    if scheduler {
        report.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
    }
    if hz && shared.config().hz() < 100 {
        report.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
    }
    if large_objects {
        report.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    }
    report
}

/// Redis's analyzeLatencyForEvent: count, average, mean absolute
/// deviation and the seconds since the oldest spike.
struct EventStats {
    samples: u64,
    avg: u64,
    mad: u64,
    period: u64,
}

fn analyze(series: &Series, now: u64) -> EventStats {
    let samples = series.samples.len() as u64;
    if samples == 0 {
        return EventStats {
            samples: 0,
            avg: 0,
            mad: 0,
            period: 0,
        };
    }
    let sum: u64 = series.samples.iter().map(|s| s.millis).sum();
    let avg = sum / samples;
    let oldest = series.samples.iter().map(|s| s.time).min().unwrap_or(now);
    let period = now.saturating_sub(oldest).max(1);
    let deviation: u64 = series.samples.iter().map(|s| s.millis.abs_diff(avg)).sum();
    EventStats {
        samples,
        avg,
        mad: deviation / samples,
        period,
    }
}

// LATENCY HELP
fn help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    help_reply(
        cx.out,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
    Ok(())
}
