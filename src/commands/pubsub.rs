//! Pub/Sub commands: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNs,
//! PUBLISH, SPUBLISH, PUBSUB, and MONITOR. The hub and the outboxes they
//! use are in `crate::pubsub`.
//!
//! Shard channels (SSUBSCRIBE, SPUBLISH) behave as channels in their own
//! namespace, with their own counts, as on a single Redis node.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::errors::Error;
use super::flags::*;
use super::{Args, CmdResult, Command, Context, KeySpec, ReplyMode, ALL_KEYS, NO_KEYS, ONE_KEY};
use crate::pubsub::{monitor_args, monitor_line, Limit, Outbox, Space};

const SUBSCRIBE_FLAGS: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
const PUBLISH_FLAGS: u32 = PUBSUB | LOADING | STALE | FAST;
const INTROSPECTION_FLAGS: u32 = PUBSUB | LOADING | STALE;
/// SSUBSCRIBE and SUNSUBSCRIBE name shard channels as keys (for cluster
/// routing), from the first argument to the last.
const SHARD_CHANNELS: KeySpec = ALL_KEYS;

const NOT_IN_MONITOR: &str = "ERR Replica can't interact with the keyspace";

pub static COMMANDS: &[Command] = &[
    Command::new(
        "subscribe",
        -2,
        SUBSCRIBE_FLAGS,
        NO_KEYS,
        "pubsub",
        subscribe,
    ),
    Command::new(
        "psubscribe",
        -2,
        SUBSCRIBE_FLAGS,
        NO_KEYS,
        "pubsub",
        psubscribe,
    ),
    Command::new(
        "ssubscribe",
        -2,
        SUBSCRIBE_FLAGS,
        SHARD_CHANNELS,
        "pubsub",
        ssubscribe,
    ),
    Command::new(
        "unsubscribe",
        -1,
        SUBSCRIBE_FLAGS,
        NO_KEYS,
        "pubsub",
        unsubscribe,
    ),
    Command::new(
        "punsubscribe",
        -1,
        SUBSCRIBE_FLAGS,
        NO_KEYS,
        "pubsub",
        punsubscribe,
    ),
    Command::new(
        "sunsubscribe",
        -1,
        SUBSCRIBE_FLAGS,
        SHARD_CHANNELS,
        "pubsub",
        sunsubscribe,
    ),
    Command::new("publish", 3, PUBLISH_FLAGS, NO_KEYS, "pubsub", publish),
    Command::new("spublish", 3, PUBLISH_FLAGS, ONE_KEY, "pubsub", spublish),
    Command::container("pubsub", "pubsub", PUBSUB_SUBCOMMANDS),
    Command::new(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NO_KEYS,
        "server",
        monitor,
    ),
];

static PUBSUB_SUBCOMMANDS: &[Command] = &[
    Command::new(
        "channels",
        -2,
        INTROSPECTION_FLAGS,
        NO_KEYS,
        "pubsub",
        channels,
    ),
    Command::new("numsub", -2, INTROSPECTION_FLAGS, NO_KEYS, "pubsub", numsub),
    Command::new("numpat", 2, INTROSPECTION_FLAGS, NO_KEYS, "pubsub", numpat),
    Command::new(
        "shardchannels",
        -2,
        INTROSPECTION_FLAGS,
        NO_KEYS,
        "pubsub",
        shardchannels,
    ),
    Command::new(
        "shardnumsub",
        -2,
        INTROSPECTION_FLAGS,
        NO_KEYS,
        "pubsub",
        shardnumsub,
    ),
    Command::new("help", 2, LOADING | STALE, NO_KEYS, "pubsub", help),
];

// ----- Subscribing ----------------------------------------------------------------

// SUBSCRIBE channel [channel ...]
fn subscribe(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    subscribe_in(cx, Space::Channels, &args[1..])
}

// PSUBSCRIBE pattern [pattern ...]
fn psubscribe(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    subscribe_in(cx, Space::Patterns, &args[1..])
}

// SSUBSCRIBE shardchannel [shardchannel ...]
fn ssubscribe(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    subscribe_in(cx, Space::ShardChannels, &args[1..])
}

// UNSUBSCRIBE [channel [channel ...]]
fn unsubscribe(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    unsubscribe_in(cx, Space::Channels, &args[1..])
}

// PUNSUBSCRIBE [pattern [pattern ...]]
fn punsubscribe(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    unsubscribe_in(cx, Space::Patterns, &args[1..])
}

// SUNSUBSCRIBE [shardchannel [shardchannel ...]]
fn sunsubscribe(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    unsubscribe_in(cx, Space::ShardChannels, &args[1..])
}

/// The confirmation frames' kinds: (subscribe, unsubscribe).
fn confirmation_kinds(space: Space) -> (&'static [u8], &'static [u8]) {
    match space {
        Space::Channels => (b"subscribe", b"unsubscribe"),
        Space::Patterns => (b"psubscribe", b"punsubscribe"),
        Space::ShardChannels => (b"ssubscribe", b"sunsubscribe"),
    }
}

/// The count a confirmation reports: channels and patterns together, shard
/// channels on their own (as Redis 7.0).
fn subscription_count(cx: &Context<'_>, space: Space) -> usize {
    let own = &cx.session.pubsub;
    match space {
        Space::ShardChannels => own.shard_channels.len(),
        _ => own.channels.len() + own.patterns.len(),
    }
}

/// One confirmation: `kind name count`, a push in RESP3; `name` is null
/// when an UNSUBSCRIBE found nothing to leave.
fn confirm(cx: &mut Context<'_>, kind: &[u8], name: Option<&[u8]>, count: usize) {
    cx.session.pushing = true;
    cx.out.push(3);
    cx.out.bulk(kind);
    match name {
        Some(name) => cx.out.bulk(name),
        None => cx.out.null(),
    }
    cx.out.int(count as i64);
}

fn subscribe_in(cx: &mut Context<'_>, space: Space, names: &[Vec<u8>]) -> CmdResult {
    let outbox = outbox(cx);
    let limit = cx.shared.pubsub.output_limits(cx.shared).pubsub;
    let shared = cx.shared;
    // Under the registry lock, publishers wait: the confirmations are in
    // the outbox before the first message to these channels can be.
    let mut registry = shared.pubsub.registry();
    for name in names {
        if cx.session.pubsub.set(space).insert(name.clone()) {
            registry.add(space, name, &outbox);
        }
        let count = subscription_count(cx, space);
        confirm(cx, confirmation_kinds(space).0, Some(name), count);
    }
    show_counts(cx);
    send_replies_now(cx, &outbox, limit);
    Ok(())
}

fn unsubscribe_in(cx: &mut Context<'_>, space: Space, names: &[Vec<u8>]) -> CmdResult {
    let kind = confirmation_kinds(space).1;
    let names: Vec<Vec<u8>> = if names.is_empty() {
        cx.session.pubsub.set(space).iter().cloned().collect()
    } else {
        names.to_vec()
    };
    if names.is_empty() {
        let count = subscription_count(cx, space);
        confirm(cx, kind, None, count);
        return Ok(());
    }
    let shared = cx.shared;
    let mut registry = shared.pubsub.registry();
    for name in names {
        if cx.session.pubsub.set(space).remove(&name) {
            if let Some(outbox) = &cx.session.pubsub.outbox {
                registry.remove(space, &name, outbox);
            }
        }
        let count = subscription_count(cx, space);
        confirm(cx, kind, Some(&name), count);
    }
    show_counts(cx);
    Ok(())
}

/// The client's outbox, created on its first subscription (or MONITOR);
/// the connection starts the writer thread after this command.
pub(super) fn outbox(cx: &mut Context<'_>) -> Arc<Outbox> {
    let resp3 = cx.out.resp3;
    if let Some(outbox) = &cx.session.pubsub.outbox {
        return outbox.clone();
    }
    // The connection's writer thread starts with it (if another thread
    // has not started it already, for a push).
    let info = &cx.session.info;
    let outbox = match &info.push_outbox {
        Some(start) => start(info, resp3).unwrap_or_else(|| Outbox::new(info.clone(), resp3)),
        None => Outbox::new(info.clone(), resp3),
    };
    // Client-side caching finds a client's outbox by its id.
    cx.shared.tracking.note_outbox(cx.session.id, &outbox);
    cx.session.pubsub.outbox = Some(outbox.clone());
    outbox
}

/// Moves the replies written so far into the outbox, so they go out before
/// anything published from now on. Under CLIENT REPLY OFF the buffer holds
/// only what must go out anyway (earlier replies were dropped command by
/// command), unless this command's own reply is to be dropped (MONITOR).
fn send_replies_now(cx: &mut Context<'_>, outbox: &Outbox, limit: Limit) {
    if cx.session.reply_mode != ReplyMode::On && !cx.session.pushing {
        return;
    }
    let delivery = outbox.push_replies(&cx.out.buf, cx.out.resp3, limit);
    cx.shared.pubsub.note(delivery);
    cx.out.buf.clear();
}

/// Updates what CLIENT LIST shows (sub=, psub=, ssub=, flags P and O).
fn show_counts(cx: &Context<'_>) {
    let own = &cx.session.pubsub;
    let shown = &cx.session.info.pubsub;
    shown[0].store(own.channels.len(), Ordering::Relaxed);
    shown[1].store(own.patterns.len(), Ordering::Relaxed);
    shown[2].store(own.shard_channels.len(), Ordering::Relaxed);
    cx.session
        .info
        .monitor
        .store(own.monitor, Ordering::Relaxed);
}

/// RESET: leaves every subscription and MONITOR mode, without
/// confirmations.
pub(super) fn reset(cx: &mut Context<'_>) {
    cx.shared.pubsub.forget(&mut cx.session.pubsub);
    show_counts(cx);
}

/// True for a RESP2 client with subscriptions: PING answers differently,
/// and only a few commands are allowed.
pub(super) fn resp2_subscribed(cx: &Context<'_>) -> bool {
    !cx.out.resp3 && cx.session.pubsub.subscribed()
}

/// What a monitor and a subscribed RESP2 client may not run, checked by
/// the dispatcher before the command (`full_name` is `parent|sub`).
pub(super) fn check_context(cx: &Context<'_>, command: &Command, full_name: &str) -> CmdResult {
    // A monitor is a replica to Redis, and replicas keep off the keyspace.
    let touches_keyspace =
        command.flags & (READONLY | WRITE) != 0 || matches!(full_name, "publish" | "spublish");
    if cx.session.pubsub.monitor && touches_keyspace {
        return Err(NOT_IN_MONITOR.into());
    }
    const ALLOWED: &[&str] = &[
        "ping",
        "subscribe",
        "ssubscribe",
        "psubscribe",
        "unsubscribe",
        "sunsubscribe",
        "punsubscribe",
        "quit",
        "reset",
    ];
    if resp2_subscribed(cx) && !ALLOWED.contains(&full_name) {
        return Err(Error::new(format!(
            "ERR Can't execute '{full_name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        )));
    }
    Ok(())
}

// ----- Publishing -------------------------------------------------------------------

// PUBLISH channel message
fn publish(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    publish_in(cx, Space::Channels, args)
}

// SPUBLISH shardchannel message
fn spublish(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    publish_in(cx, Space::ShardChannels, args)
}

fn publish_in(cx: &mut Context<'_>, space: Space, args: &Args) -> CmdResult {
    let limit = cx.shared.pubsub.output_limits(cx.shared).pubsub;
    let receivers = cx.shared.pubsub.publish(space, &args[1], &args[2], limit);
    cx.out.int(receivers as i64);
    Ok(())
}

// ----- Introspection ------------------------------------------------------------------

// PUBSUB CHANNELS [pattern]
fn channels(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    list_channels(cx, Space::Channels, args)
}

// PUBSUB SHARDCHANNELS [pattern]
fn shardchannels(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    list_channels(cx, Space::ShardChannels, args)
}

fn list_channels(cx: &mut Context<'_>, space: Space, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(Error::new(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(&args[1])
        )));
    }
    let names = cx
        .shared
        .pubsub
        .registry()
        .names(space, args.get(2).map(Vec::as_slice));
    cx.out.bulks(names.iter().map(Vec::as_slice));
    Ok(())
}

// PUBSUB NUMSUB [channel [channel ...]]
fn numsub(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    count_subscribers(cx, Space::Channels, &args[2..]);
    Ok(())
}

// PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]
fn shardnumsub(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    count_subscribers(cx, Space::ShardChannels, &args[2..]);
    Ok(())
}

/// `channel count` pairs, as a flat array in both protocols (as Redis).
fn count_subscribers(cx: &mut Context<'_>, space: Space, names: &[Vec<u8>]) {
    let counts: Vec<usize> = {
        let mut registry = cx.shared.pubsub.registry();
        names
            .iter()
            .map(|name| registry.subscriber_count(space, name))
            .collect()
    };
    cx.out.array(2 * names.len());
    for (name, count) in names.iter().zip(counts) {
        cx.out.bulk(name);
        cx.out.int(count as i64);
    }
}

// PUBSUB NUMPAT
fn numpat(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let patterns = cx.shared.pubsub.registry().len(Space::Patterns);
    cx.out.int(patterns as i64);
    Ok(())
}

// PUBSUB HELP
fn help(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    super::server::help_reply(
        cx.out,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}

// ----- MONITOR ----------------------------------------------------------------------------

// MONITOR
fn monitor(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    // A second MONITOR is ignored, without a reply, as in Redis.
    if cx.session.pubsub.monitor {
        return Ok(());
    }
    let outbox = outbox(cx);
    cx.out.ok();
    // The +OK goes into the outbox before the first line can.
    let limit = cx.shared.pubsub.output_limits(cx.shared).normal;
    send_replies_now(cx, &outbox, limit);
    cx.session.pubsub.monitor = true;
    cx.shared.pubsub.add_monitor(&outbox);
    show_counts(cx);
    Ok(())
}

/// Called by the dispatcher before a command runs: when someone monitors
/// and the command is one MONITOR shows (admin commands are not), returns
/// its quoted arguments for [`monitor_after`]. A blocking command is shown
/// at once, as Redis shows it when it blocks.
pub(super) fn monitor_before(cx: &Context<'_>, command: &Command, args: &Args) -> Option<Vec<u8>> {
    if !cx.shared.pubsub.has_monitors() || command.flags & ADMIN != 0 {
        return None;
    }
    let shown = monitor_args(args);
    // A blocking command, or a script (whose commands follow it), is shown
    // before it runs.
    if command.flags & BLOCKING != 0 || super::scripting::RUNS_SCRIPTS.contains(&command.name) {
        feed_monitors(cx, &shown);
        return None;
    }
    Some(shown)
}

/// Called by the dispatcher after the command ran: shows it to monitors
/// (with the database selected after it, as Redis).
pub(super) fn monitor_after(cx: &mut Context<'_>, shown: Option<Vec<u8>>) {
    let Some(shown) = shown else {
        return;
    };
    // A monitor sees its own commands too, after their replies.
    if let (true, Some(outbox)) = (cx.session.pubsub.monitor, cx.session.pubsub.outbox.clone()) {
        let limit = cx.shared.pubsub.output_limits(cx.shared).normal;
        send_replies_now(cx, &outbox, limit);
    }
    feed_monitors(cx, &shown);
}

fn feed_monitors(cx: &Context<'_>, shown: &[u8]) {
    let addr = if cx.session.in_script {
        "lua"
    } else {
        &cx.session.info.addr
    };
    let line = monitor_line(cx.session.db, addr, shown);
    let limit = cx.shared.pubsub.output_limits(cx.shared).normal;
    cx.shared.pubsub.feed_monitors(&line, limit);
}
