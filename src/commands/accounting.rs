//! What Redis's `call()` does after a command has run, besides the
//! reply: per-command and error statistics (`crate::cmdstats`), a latency
//! spike (`crate::latency`), a slow log entry (`crate::slowlog`).

use super::{flags, scripting, Args, CmdResult, Context, Resolved};

/// What Redis's `call()` records after a command: its statistics, a
/// latency spike, a slow log entry. An error is counted once: a script
/// failing with the error of a command it called (already counted) only
/// counts as failed.
pub(super) fn record_call(
    cx: &mut Context<'_>,
    resolved: Resolved,
    args: &Args,
    elapsed: std::time::Duration,
    result: &CmdResult,
    errors_before: u64,
) {
    let shared = cx.shared;
    if cx.session.replaying {
        return;
    }
    if let Err(error) = result {
        let counted_inside = scripting::RUNS_SCRIPTS.contains(&resolved.parent)
            && cx.session.errors_counted > errors_before;
        if !counted_inside {
            shared.command_stats.record_error(&error.0);
            cx.session.errors_counted += 1;
        }
    }
    shared
        .command_stats
        .record_call(resolved.command, elapsed, result.is_err());
    let micros = elapsed.as_micros() as u64;
    let event = if resolved.command.flags & flags::FAST != 0 {
        "fast-command"
    } else {
        "command"
    };
    shared.latency.add_if_needed(event, micros / 1000);
    // EXEC is not logged (its commands are). A script's calls are logged
    // as made by Redis's Lua client: no address, no name.
    if resolved.parent != "exec" && shared.slowlog.wants(micros) {
        let args = crate::slowlog::redacted(&resolved.full_name(), args);
        let info = &cx.session.info;
        let (addr, name) = match cx.session.in_script {
            true => ("?:0".to_string(), String::new()),
            false => (info.addr.clone(), info.meta().name.clone()),
        };
        shared.slowlog.push(&args, micros, &addr, &name);
    }
}
