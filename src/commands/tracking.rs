//! Client-side caching: CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO,
//! and the two moments a command meets the tracking table: the keys a
//! read-only command read, and the invalidations its changes call for
//! (see `crate::tracking`).

use std::collections::BTreeSet;

use super::errors::{self, Error};
use super::flags;
use super::{int_arg, is, Args, CmdResult, Context, Resolved};
use crate::tracking::Mode;

const CACHING_NEEDS_TRACKING: &str = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled";
const CACHING_YES_NEEDS_OPTIN: &str =
    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.";
const CACHING_NO_NEEDS_OPTOUT: &str =
    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.";
const ONE_REDIRECT: &str = "ERR A client can only redirect to a single other client";
const NO_REDIRECT_TARGET: &str = "ERR The client ID you want redirect to does not exist";
const PREFIX_NEEDS_BCAST: &str = "ERR PREFIX option requires BCAST mode to be enabled";
const BCAST_SWITCH: &str = "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.";
const OPT_WITH_BCAST: &str = "ERR OPTIN and OPTOUT are not compatible with BCAST";
const OPTIN_AND_OPTOUT: &str = "ERR You can't specify both OPTIN mode and OPTOUT mode";
const OPT_SWITCH: &str = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.";

/// CLIENT TRACKING <ON | OFF> [REDIRECT client-id] [PREFIX prefix ...]
/// [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
pub fn tracking(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let mut mode = Mode::default();
    let mut prefixes: Vec<Vec<u8>> = Vec::new();
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        let arg = &args[j];
        if is(arg, "redirect") && more {
            j += 1;
            if mode.redirect != 0 {
                return Err(ONE_REDIRECT.into());
            }
            let id = int_arg(&args[j])?;
            if id <= 0 || cx.shared.clients.get(id as u64).is_none() {
                return Err(NO_REDIRECT_TARGET.into());
            }
            mode.redirect = id as u64;
        } else if is(arg, "bcast") {
            mode.bcast = true;
        } else if is(arg, "optin") {
            mode.optin = true;
        } else if is(arg, "optout") {
            mode.optout = true;
        } else if is(arg, "noloop") {
            mode.noloop = true;
        } else if is(arg, "prefix") && more {
            j += 1;
            prefixes.push(args[j].clone());
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    if is(&args[2], "off") {
        cx.session.tracking = None;
        cx.session.caching_given = false;
        cx.shared.tracking.disable(cx.session.id);
        cx.out.ok();
        return Ok(());
    }
    if !is(&args[2], "on") {
        return Err(errors::SYNTAX.into());
    }
    if !mode.bcast && !prefixes.is_empty() {
        return Err(PREFIX_NEEDS_BCAST.into());
    }
    let old = cx.session.tracking.clone();
    if old.as_ref().is_some_and(|old| old.bcast != mode.bcast) {
        return Err(BCAST_SWITCH.into());
    }
    if mode.bcast && (mode.optin || mode.optout) {
        return Err(OPT_WITH_BCAST.into());
    }
    if mode.optin && mode.optout {
        return Err(OPTIN_AND_OPTOUT.into());
    }
    if let Some(old) = &old {
        if (mode.optin && old.optout) || (mode.optout && old.optin) {
            return Err(OPT_SWITCH.into());
        }
    }
    if mode.bcast {
        check_prefixes(old.as_ref().map(|m| &m.prefixes), &prefixes)?;
        if prefixes.is_empty() {
            prefixes.push(Vec::new());
        }
        mode.prefixes = prefixes.into_iter().collect::<BTreeSet<_>>();
        if let Some(old) = &old {
            mode.prefixes.extend(old.prefixes.iter().cloned());
        }
    }
    // Invalidations reach the client through an outbox, interleaved with
    // its replies.
    super::pubsub::outbox(cx);
    cx.shared.tracking.enable(&cx.session.info, mode.clone());
    cx.session.tracking = Some(mode);
    cx.out.ok();
    Ok(())
}

/// Redis's `checkPrefixCollisionsOrReply`: no prefix may be a prefix of
/// another, among those given and those the client already has.
fn check_prefixes(existing: Option<&BTreeSet<Vec<u8>>>, given: &[Vec<u8>]) -> CmdResult {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, prefix) in given.iter().enumerate() {
        if let Some(old) = existing.and_then(|e| e.iter().find(|old| overlap(old, prefix))) {
            return Err(Error::new(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                text(prefix),
                text(old)
            )));
        }
        if let Some(other) = given[i + 1..].iter().find(|other| overlap(prefix, other)) {
            return Err(Error::new(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                text(prefix),
                text(other)
            )));
        }
    }
    Ok(())
}

/// CLIENT CACHING <YES | NO>
pub fn caching(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let Some(mode) = &cx.session.tracking else {
        return Err(CACHING_NEEDS_TRACKING.into());
    };
    if is(&args[2], "yes") {
        if !mode.optin {
            return Err(CACHING_YES_NEEDS_OPTIN.into());
        }
    } else if is(&args[2], "no") {
        if !mode.optout {
            return Err(CACHING_NO_NEEDS_OPTOUT.into());
        }
    } else {
        return Err(errors::SYNTAX.into());
    }
    cx.session.caching_given = true;
    cx.out.ok();
    Ok(())
}

/// CLIENT GETREDIR
pub fn getredir(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let redirect = cx
        .session
        .tracking
        .as_ref()
        .map_or(-1, |m| m.redirect as i64);
    cx.out.int(redirect);
    Ok(())
}

/// CLIENT TRACKINGINFO
pub fn trackinginfo(cx: &mut Context<'_>, _: &Args) -> CmdResult {
    let mode = cx.session.tracking.clone();
    let broken = mode.is_some()
        && cx
            .shared
            .tracking
            .info(cx.session.id)
            .is_some_and(|(_, broken)| broken);
    let mut names: Vec<&[u8]> = vec![if mode.is_some() { b"on" } else { b"off" }];
    if let Some(mode) = &mode {
        if mode.bcast {
            names.push(b"bcast");
        }
        if mode.optin {
            names.push(b"optin");
            if cx.session.caching_given {
                names.push(b"caching-yes");
            }
        }
        if mode.optout {
            names.push(b"optout");
            if cx.session.caching_given {
                names.push(b"caching-no");
            }
        }
        if mode.noloop {
            names.push(b"noloop");
        }
        if broken {
            names.push(b"broken_redirect");
        }
    }
    cx.out.map(3);
    cx.out.bulk(b"flags");
    cx.out.set(names.len());
    for name in names {
        cx.out.bulk(name);
    }
    cx.out.bulk(b"redirect");
    cx.out.int(mode.as_ref().map_or(-1, |m| m.redirect as i64));
    cx.out.bulk(b"prefixes");
    let prefixes = mode.map(|m| m.prefixes).unwrap_or_default();
    cx.out.array(prefixes.len());
    for prefix in &prefixes {
        cx.out.bulk(prefix);
    }
    Ok(())
}

/// After a command ran: a read-only command of a tracking client (not in
/// BCAST mode) has its keys remembered, as Redis's `call()` does, unless
/// OPTIN/OPTOUT with CLIENT CACHING say otherwise. A read inside a script
/// remembers the keys the script declared (its EVAL's or FCALL's), as
/// Redis remembers them for the script's caller.
pub fn remember_keys(cx: &mut Context<'_>, resolved: Resolved, args: &Args) {
    let Some(mode) = &cx.session.tracking else {
        return;
    };
    let command = resolved.command;
    if mode.bcast
        || command.flags & flags::READONLY == 0
        || matches!(resolved.parent, "eval_ro" | "evalsha_ro" | "fcall_ro")
    {
        return;
    }
    let caching = cx.session.caching_given;
    if (mode.optin && !caching) || (mode.optout && caching) {
        return;
    }
    if cx.session.in_script {
        let keys: Vec<&[u8]> = cx.session.script_keys.iter().map(Vec::as_slice).collect();
        if !keys.is_empty() {
            cx.shared.tracking.remember(cx.session.id, &keys);
        }
        return;
    }
    // Shard channels count as keys but are never tracked.
    if command.flags & flags::PUBSUB != 0 {
        return;
    }
    let Some(meta) = super::meta::resolve(args) else {
        return;
    };
    let keys: Vec<&[u8]> = meta
        .keys(args)
        .iter()
        .map(|k| args[k.pos].as_slice())
        .collect();
    if !keys.is_empty() {
        cx.shared.tracking.remember(cx.session.id, &keys);
    }
}

/// At the end of a command: CLIENT CACHING lapses (outside a transaction,
/// after any command but CLIENT); the keys it changed are invalidated,
/// after its own reply, which goes into the outbox first; and the table is
/// kept within `tracking-table-max-keys` (while anyone tracks, as Redis
/// checks it before every command).
pub fn after_command(cx: &mut Context<'_>, args: &Args) {
    if cx.session.multi.is_none() && !is(&args[0], "client") {
        cx.session.caching_given = false;
    }
    let changed = crate::store::changed::take();
    let max_keys = cx.shared.tracking.max_keys();
    let over = max_keys > 0
        && crate::store::changed::listening()
        && cx.shared.tracking.over_limit(max_keys);
    if changed.is_empty() && !over {
        return;
    }
    let limit = flush_replies(cx);
    let clients = &cx.shared.clients;
    if !changed.is_empty() {
        cx.shared
            .tracking
            .deliver(clients, cx.session.id, changed, limit);
    }
    if over {
        cx.shared.tracking.enforce_limit(clients, max_keys, limit);
    }
}

/// Before a command runs: keys evicted to make room for it are invalidated
/// at once, so the messages come before its reply (as Redis's
/// `performEvictions` sends them).
pub fn before_command(cx: &mut Context<'_>) {
    let changed = crate::store::changed::take();
    if changed.is_empty() {
        return;
    }
    let limit = flush_replies(cx);
    cx.shared
        .tracking
        .deliver(&cx.shared.clients, cx.session.id, changed, limit);
}

/// Moves the replies written so far into the client's outbox, if it has
/// one, so that messages queued next follow them; the Pub/Sub output limit.
fn flush_replies(cx: &mut Context<'_>) -> crate::pubsub::Limit {
    let limit = cx.shared.pubsub.output_limits(cx.shared).pubsub;
    if let Some(outbox) = &cx.session.pubsub.outbox {
        if !cx.out.buf.is_empty() {
            let delivery = outbox.push_replies(&cx.out.buf, cx.out.resp3, limit);
            cx.shared.pubsub.note(delivery);
            cx.out.buf.clear();
        }
    }
    limit
}
