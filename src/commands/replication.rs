//! Replication commands. respd has no replicas yet: WAIT answers as a
//! Redis 7.0 master without replicas does.

use super::client::millis_timeout;
use super::flags::*;
use super::{int_arg, Args, CmdResult, Command, Context, NO_KEYS};

pub static COMMANDS: &[Command] = &[Command::new("wait", 3, NOSCRIPT, NO_KEYS, "generic", wait)];

// WAIT numreplicas timeout
fn wait(cx: &mut Context<'_>, args: &Args) -> CmdResult {
    let wanted = int_arg(&args[1])?;
    let until = millis_timeout(&args[2])?;
    let forever = crate::util::parse_i64(&args[2]) == Some(0);
    // No replica ever acknowledges: asked for none (or inside MULTI) the
    // answer is 0 at once; otherwise 0 once the timeout has passed.
    if wanted > 0 && !cx.session.in_exec {
        cx.release_gate();
        let probe = &cx.session.peer_closed.0;
        loop {
            let now = std::time::Instant::now();
            if (!forever && now >= until)
                || probe()
                || cx
                    .session
                    .info
                    .killed
                    .load(std::sync::atomic::Ordering::Relaxed)
            {
                break;
            }
            let left = until.saturating_duration_since(now);
            std::thread::sleep(left.min(std::time::Duration::from_millis(100)));
        }
    }
    cx.out.int(0);
    Ok(())
}
