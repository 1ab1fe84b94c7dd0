//! FAILOVER: a coordinated hand-over from this master to one of its
//! replicas, as Redis 7.0 does it. Writes are paused; the cron waits for a
//! replica (the named one, or any) to acknowledge the whole stream; then
//! this server follows that replica and sends it `PSYNC <replid> <offset>
//! FAILOVER`, which makes the replica a master that continues our stream.
//! Once the new master answers the PSYNC, the pause ends (the paused
//! writes then meet a read-only replica).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::log::{self, log};
use crate::shared::Shared;

/// Where a failover stands (INFO's `master_failover_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    #[default]
    None,
    /// Writes paused, waiting for a replica to catch up.
    WaitForSync,
    /// Following the target, waiting for its answer to PSYNC FAILOVER.
    InProgress,
}

impl Phase {
    pub fn word(self) -> &'static str {
        match self {
            Phase::None => "no-failover",
            Phase::WaitForSync => "waiting-for-sync",
            Phase::InProgress => "failover-in-progress",
        }
    }
}

/// The failover under way, part of [`super::Replication`].
#[derive(Debug, Default)]
pub struct Failover {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    phase: Phase,
    /// The replica named by `TO host port`, or the one found caught up.
    target: Option<(String, u16)>,
    /// `TIMEOUT`: when waiting stops (or, with FORCE, fails over anyway).
    deadline: Option<Instant>,
    force: bool,
}

/// What FAILOVER asked for.
pub struct Request {
    pub target: Option<(String, u16)>,
    pub deadline: Option<Instant>,
    pub force: bool,
}

impl Failover {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn phase(&self) -> Phase {
        self.state().phase
    }

    /// Starts waiting for a replica, writes paused.
    pub fn start(&self, shared: &Shared, request: Request) {
        match &request.target {
            Some((host, port)) => log(
                shared,
                log::NOTICE,
                &format!("FAILOVER requested to {host}:{port}."),
            ),
            None => log(shared, log::NOTICE, "FAILOVER requested to any replica."),
        }
        *self.state() = State {
            phase: Phase::WaitForSync,
            target: request.target,
            deadline: request.deadline,
            force: request.force,
        };
        shared.pause.hold_writes_for_failover(true);
    }

    /// Ends the failover, done or not: writes flow again.
    pub fn clear(&self, shared: &Shared) {
        *self.state() = State::default();
        shared.pause.hold_writes_for_failover(false);
    }
}

/// Gives the failover up: a server already following its target becomes a
/// master again.
pub fn abort(shared: &Shared, why: &str) {
    let failover = &shared.replication.failover;
    let (phase, target) = {
        let state = failover.state();
        (state.phase, state.target.clone())
    };
    if phase == Phase::None {
        return;
    }
    let whom = target.map_or("any replica".to_string(), |(h, p)| format!("{h}:{p}"));
    log(
        shared,
        log::NOTICE,
        &format!("FAILOVER to {whom} aborted: {why}"),
    );
    if phase == Phase::InProgress {
        super::replica::unfollow(shared);
    }
    failover.clear(shared);
}

/// The replica at `host:port` (its announced address, or its peer's IP,
/// and its listening port), as Redis's findReplica.
fn find<'a>(replicas: &'a [super::Replica], host: &str, port: u16) -> Option<&'a super::Replica> {
    replicas
        .iter()
        .find(|r| !r.dropped && r.ip.eq_ignore_ascii_case(host) && r.port == port)
}

/// True when `host:port` is a connected replica; `Some(online)`.
pub fn replica_online(shared: &Shared, host: &str, port: u16) -> Option<bool> {
    let backlog = shared.replication.backlog();
    find(&backlog.replicas, host, port).map(|r| r.state == super::ReplicaState::Online)
}

/// Ten times a second: time out, or fail over to a replica that has
/// acknowledged the whole stream.
pub fn cron(shared: &Shared) {
    let failover = &shared.replication.failover;
    let mut state = failover.state();
    if state.phase != Phase::WaitForSync {
        return;
    }
    if state.deadline.is_some_and(|d| d <= Instant::now()) {
        if let (true, Some((host, port))) = (state.force, state.target.clone()) {
            log(
                shared,
                log::NOTICE,
                &format!("FAILOVER to {host}:{port} time out exceeded, failing over."),
            );
            state.phase = Phase::InProgress;
            drop(state);
            super::replica::follow(shared, &host, port);
        } else {
            drop(state);
            abort(shared, "Replica never caught up before timeout");
        }
        return;
    }
    let caught_up = {
        let backlog = shared.replication.backlog();
        let end = backlog.offset();
        let candidate = match &state.target {
            Some((host, port)) => find(&backlog.replicas, host, *port),
            None => backlog
                .replicas
                .iter()
                .find(|r| !r.dropped && r.acked == end),
        };
        candidate
            .filter(|r| r.acked == end)
            .map(|r| (r.ip.clone(), r.port))
    };
    if let Some((host, port)) = caught_up {
        log(
            shared,
            log::NOTICE,
            &format!("Failover target {host}:{port} is synced, failing over."),
        );
        state.phase = Phase::InProgress;
        state.target = Some((host.clone(), port));
        drop(state);
        super::replica::follow(shared, &host, port);
    }
}
