//! Persistence: RDB snapshots on disk (SAVE, BGSAVE, save points, load at
//! start). The format lives in [`rdb`]; this module decides when to save,
//! takes the point-in-time copy and writes files atomically. No sockets
//! here: commands and the server call in.
//!
//! **The consistent copy, without fork.** Redis forks and lets the kernel
//! copy pages on write. respd, with `unsafe` forbidden and threads sharing
//! one address space, copies the data itself: BGSAVE takes the read lock
//! of every database at once (in index order, as every multi-database
//! command does, so no deadlock), clones each one, lets go, and hands the
//! clones to a background thread that serializes them. Because the caller
//! also holds the shared side of the EXEC gate, no transaction is half
//! applied in the copy. The cost: writers pause for as long as the clone
//! takes (roughly 0.1-0.2 s per million small keys; readers are not
//! stopped), and memory briefly holds the data twice. SAVE (foreground)
//! skips the copy and serializes straight from the read-locked databases:
//! writers wait for the whole save, as every client waits in Redis.
//!
//! **Atomic files.** A save writes `temp-<pid>-<n>.rdb` next to the dump,
//! fsyncs it, renames it over the dump and fsyncs the directory, so a
//! crash at any point leaves either the old dump or the new one whole.

pub mod aof;
mod aof_stream;
mod compact;
mod crc64;
pub mod dump;
mod lzf;
pub mod rdb;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::config::Config;
use crate::log::{self, log};
use crate::shared::Shared;
use crate::store::Db;
use crate::util::now_ms;

/// Redis's error for writes while the last background save failed.
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
/// After a failed background save, save points wait this long to retry.
const RETRY_DELAY_SECS: u64 = 5;

/// What the server knows about its saves (INFO persistence).
#[derive(Debug)]
pub struct Persistence {
    /// What redis-server does with its dump: load it at start, save at
    /// the save points, save on SHUTDOWN. Off for servers embedded in a
    /// program or a test (they never touch disk unless told to SAVE).
    pub automatic: AtomicBool,
    /// True from a failed background save until a save succeeds: the
    /// fast check behind MISCONF.
    bgsave_failed: AtomicBool,
    /// Numbers successive snapshots, so an older one never replaces a
    /// newer one on disk.
    next_snapshot: AtomicU64,
    state: Mutex<State>,
    /// The append-only file.
    pub aof: aof::Aof,
    /// Changes outside the databases (FUNCTION LOAD, DELETE, ...), which
    /// count for save points and the AOF as Redis's `server.dirty` does.
    other_changes: AtomicU64,
}

#[derive(Debug)]
struct State {
    /// When the running background save started.
    running_since: Option<Instant>,
    /// BGSAVE SCHEDULE asked for another one after the running one.
    scheduled: bool,
    last_save_unix: u64,
    last_bgsave_ok: bool,
    last_bgsave_secs: i64,
    last_attempt_unix: u64,
    saves: u64,
    /// The change counter as of the last successful save's copy.
    changes_at_last_save: u64,
    /// The snapshot number of the file on disk.
    on_disk: u64,
    keys_loaded: u64,
    keys_expired_at_load: u64,
}

impl Persistence {
    /// The state of a server started at `started_unix` (LASTSAVE reports
    /// the start until a save happens, as Redis).
    pub fn new(started_unix: u64) -> Self {
        Persistence {
            automatic: AtomicBool::new(false),
            bgsave_failed: AtomicBool::new(false),
            next_snapshot: AtomicU64::new(1),
            state: Mutex::new(State {
                running_since: None,
                scheduled: false,
                last_save_unix: started_unix,
                last_bgsave_ok: true,
                last_bgsave_secs: -1,
                last_attempt_unix: 0,
                saves: 0,
                changes_at_last_save: 0,
                on_disk: 0,
                keys_loaded: 0,
                keys_expired_at_load: 0,
            }),
            aof: aof::Aof::default(),
            other_changes: AtomicU64::new(0),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// CONFIG RESETSTAT: the counts of saves and AOF rewrites.
    pub fn reset_stats(&self) {
        self.state().saves = 0;
        self.aof.reset_stats();
    }

    /// Unix time of the last successful save (LASTSAVE).
    pub fn last_save_unix(&self) -> u64 {
        self.state().last_save_unix
    }

    /// True while a background save runs.
    pub fn bgsave_running(&self) -> bool {
        self.state().running_since.is_some()
    }
}

/// The dump's path: `dir` (the working directory when empty) and
/// `dbfilename`.
pub fn dump_path(config: &Config) -> PathBuf {
    let dir = config.get("dir").unwrap_or("");
    let name = config.get("dbfilename").unwrap_or("dump.rdb");
    if dir.is_empty() {
        PathBuf::from(name)
    } else {
        Path::new(dir).join(name)
    }
}

/// The configured save points, as (seconds, changes).
fn save_points(config: &Config) -> Vec<(u64, u64)> {
    let numbers: Vec<u64> = config
        .get("save")
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect()
}

/// Changes to the data since the server started (never decreases).
fn total_changes(shared: &Shared) -> u64 {
    (0..shared.store.len())
        .map(|i| shared.store.read(i).changes())
        .sum::<u64>()
        + other_changes(shared)
}

fn other_changes(shared: &Shared) -> u64 {
    shared.persistence.other_changes.load(Ordering::Acquire)
}

/// Records a change outside the databases (a FUNCTION command that did
/// something): it counts for the save points, and the AOF logs it.
pub fn count_change(shared: &Shared) {
    shared
        .persistence
        .other_changes
        .fetch_add(1, Ordering::AcqRel);
}

/// The code of every function library, to save with the data.
pub(crate) fn library_codes(shared: &Shared) -> Vec<Vec<u8>> {
    #[cfg(feature = "scripting")]
    return shared.scripting.library_codes();
    #[cfg(not(feature = "scripting"))]
    {
        let _ = shared;
        Vec::new()
    }
}

/// Replaces the function libraries with those of a file being loaded (all
/// or none); without the scripting engine a file with libraries is refused,
/// as a Redis without the engine refuses it, rather than dropping them.
fn install_libraries(shared: &Shared, codes: &[Vec<u8>]) -> Result<(), String> {
    #[cfg(feature = "scripting")]
    return crate::scripting::replace_libraries(shared, codes)
        .map_err(|e| format!("Failed loading library, {e}"));
    #[cfg(not(feature = "scripting"))]
    {
        let _ = shared;
        if codes.is_empty() {
            return Ok(());
        }
        Err(format!(
            "it holds {} function libraries (FUNCTION LOAD), but respd was built without scripting; rebuild with --features scripting",
            codes.len()
        ))
    }
}

/// INFO's `rdb_changes_since_last_save`.
pub fn changes_since_save(shared: &Shared) -> u64 {
    let base = shared.persistence.state().changes_at_last_save;
    total_changes(shared).saturating_sub(base)
}

/// The MISCONF check, for commands that may change data: refused while
/// the last background save failed, save points are configured and
/// `stop-writes-on-bgsave-error` is on. Free when no save has failed.
pub fn writes_refused(shared: &Shared) -> bool {
    if !shared.persistence.bgsave_failed.load(Ordering::Relaxed) {
        return false;
    }
    let config = shared.config();
    config.get("stop-writes-on-bgsave-error") == Some("yes") && !save_points(&config).is_empty()
}

/// Writes `dbs` to `path` atomically (see the module notes), unless a
/// newer snapshot than `snapshot` has reached the file meanwhile.
fn write_file(
    shared: &Shared,
    path: &Path,
    dbs: &[(usize, &Db)],
    libraries: &[Vec<u8>],
    snapshot: u64,
) -> io::Result<u64> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(format!("temp-{}-{snapshot}.rdb", std::process::id()));
    let result = (|| {
        let file = File::create(&temp)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let compress = shared.config().get("rdbcompression") == Some("yes");
        let keys = rdb::write_with(&mut out, dbs, libraries, now_ms(), compress)?;
        out.flush()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let mut state = shared.persistence.state();
        if state.on_disk > snapshot {
            // A newer save got there first (SHUTDOWN during a BGSAVE).
            drop(state);
            let _ = std::fs::remove_file(&temp);
            return Ok(keys);
        }
        std::fs::rename(&temp, path)?;
        state.on_disk = snapshot;
        drop(state);
        // The rename itself must reach the disk.
        File::open(&dir)?.sync_all()?;
        Ok(keys)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Records a successful save whose copy was taken at `changes`.
fn record_success(shared: &Shared, changes: u64) {
    let mut state = shared.persistence.state();
    state.last_save_unix = now_ms() / 1000;
    state.last_bgsave_ok = true;
    state.changes_at_last_save = state.changes_at_last_save.max(changes);
    shared
        .persistence
        .bgsave_failed
        .store(false, Ordering::Relaxed);
}

/// SAVE: writes the dump on the calling thread, from the databases
/// themselves under their read locks (writers wait, readers do not).
pub fn save(shared: &Shared) -> Result<(), String> {
    let path = dump_path(&shared.config());
    let snapshot = shared
        .persistence
        .next_snapshot
        .fetch_add(1, Ordering::Relaxed);
    let libraries = library_codes(shared);
    let guards: Vec<_> = (0..shared.store.len())
        .map(|i| shared.store.read(i))
        .collect();
    let changes = guards.iter().map(|db| db.changes()).sum::<u64>() + other_changes(shared);
    let dbs: Vec<(usize, &Db)> = guards.iter().map(|g| &**g).enumerate().collect();
    let result = write_file(shared, &path, &dbs, &libraries, snapshot);
    drop(dbs);
    drop(guards);
    match result {
        Ok(_) => {
            log(shared, log::NOTICE, "DB saved on disk");
            shared.persistence.state().saves += 1;
            record_success(shared, changes);
            Ok(())
        }
        Err(err) => {
            let message = format!("Failed saving the DB to {}: {err}", path.display());
            log(shared, log::WARNING, &message);
            Err(message)
        }
    }
}

/// What BGSAVE did.
#[derive(Debug, PartialEq, Eq)]
pub enum Bgsave {
    Started,
    /// One runs already; another will follow it (BGSAVE SCHEDULE).
    Scheduled,
    /// One runs already (plain BGSAVE: an error for the client).
    AlreadyRunning,
}

/// BGSAVE: copies every database now (see the module notes) and writes
/// the copy on a background thread. The caller must hold the shared side
/// of the EXEC gate (every command does).
pub fn bgsave(shared: &Shared, schedule: bool) -> io::Result<Bgsave> {
    {
        let mut state = shared.persistence.state();
        if state.running_since.is_some() {
            if schedule {
                state.scheduled = true;
                return Ok(Bgsave::Scheduled);
            }
            return Ok(Bgsave::AlreadyRunning);
        }
        state.running_since = Some(Instant::now());
        state.last_attempt_unix = now_ms() / 1000;
        // Redis counts a save when it starts.
        state.saves += 1;
    }
    let Some(owner) = shared.arc() else {
        shared.persistence.state().running_since = None;
        return Err(io::Error::other("the server is not running"));
    };
    let snapshot = shared
        .persistence
        .next_snapshot
        .fetch_add(1, Ordering::Relaxed);
    let libraries = library_codes(shared);
    let (copies, changes) = {
        let guards: Vec<_> = (0..shared.store.len())
            .map(|i| shared.store.read(i))
            .collect();
        let changes = guards.iter().map(|db| db.changes()).sum::<u64>() + other_changes(shared);
        let copies: Vec<Db> = guards.iter().map(|db| db.snapshot()).collect();
        (copies, changes)
    };
    let path = dump_path(&shared.config());
    log(shared, log::NOTICE, "Background saving started");
    let spawned = std::thread::Builder::new()
        .name("respd-bgsave".into())
        .spawn(move || {
            let dbs: Vec<(usize, &Db)> = copies.iter().enumerate().collect();
            let result = write_file(&owner, &path, &dbs, &libraries, snapshot);
            drop(dbs);
            drop(copies);
            finish_bgsave(&owner, result, changes, &path);
        });
    if let Err(err) = spawned {
        shared.persistence.state().running_since = None;
        return Err(err);
    }
    Ok(Bgsave::Started)
}

fn finish_bgsave(shared: &Arc<Shared>, result: io::Result<u64>, changes: u64, path: &Path) {
    let scheduled = {
        let mut state = shared.persistence.state();
        let started = state.running_since.take();
        state.last_bgsave_secs = started.map_or(0, |s| s.elapsed().as_secs() as i64);
        if result.is_err() {
            state.last_bgsave_ok = false;
        }
        std::mem::take(&mut state.scheduled)
    };
    match result {
        Ok(_) => {
            record_success(shared, changes);
            log(
                shared,
                log::NOTICE,
                "Background saving terminated with success",
            );
        }
        Err(err) => {
            shared
                .persistence
                .bgsave_failed
                .store(true, Ordering::Relaxed);
            log(
                shared,
                log::WARNING,
                &format!("Background saving error: writing {}: {err}", path.display()),
            );
        }
    }
    if scheduled {
        let _gate = shared
            .exec_gate
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let _ = bgsave(shared, false);
    }
}

/// The save points, checked about once a second by the server: starts a
/// background save when one is due (after a failure, retries wait
/// `RETRY_DELAY_SECS`), as Redis's serverCron.
pub fn check_save_points(shared: &Shared) {
    if !shared.persistence.automatic.load(Ordering::Relaxed) {
        return;
    }
    let points = save_points(&shared.config());
    if points.is_empty() {
        return;
    }
    let changes = changes_since_save(shared);
    let now = now_ms() / 1000;
    let (since_save, may_try) = {
        let state = shared.persistence.state();
        if state.running_since.is_some() {
            return;
        }
        let may_try =
            state.last_bgsave_ok || now.saturating_sub(state.last_attempt_unix) > RETRY_DELAY_SECS;
        (now.saturating_sub(state.last_save_unix), may_try)
    };
    let due = points
        .iter()
        .find(|&&(seconds, needed)| changes >= needed && since_save > seconds);
    let Some(&(seconds, _)) = due.filter(|_| may_try) else {
        return;
    };
    log(
        shared,
        log::NOTICE,
        &format!("{changes} changes in {seconds} seconds. Saving..."),
    );
    let _gate = shared
        .exec_gate
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    if let Err(err) = bgsave(shared, false) {
        log(
            shared,
            log::WARNING,
            &format!("Can't save in background: {err}"),
        );
    }
}

/// Save on SHUTDOWN unless told otherwise: when save points are set (and
/// the server is a redis-server, not an embedded one), as Redis.
pub fn saves_on_shutdown(shared: &Shared) -> bool {
    shared.persistence.automatic.load(Ordering::Relaxed)
        && !save_points(&shared.config()).is_empty()
}

/// Loads the dump into the store, replacing its contents; `Ok(false)` when
/// there is no dump. On error nothing is replaced; the message names the
/// file and the offset.
pub fn load(shared: &Shared) -> Result<bool, String> {
    let path = dump_path(&shared.config());
    load_rdb_file(shared, &path)
}

/// Loads the RDB file at `path` (a dump, or an AOF base) as [`load`] does.
fn load_rdb_file(shared: &Shared, path: &Path) -> Result<bool, String> {
    let started = Instant::now();
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(format!("can't read {}: {err}", path.display())),
    };
    let loaded = rdb::read(
        &data,
        shared.store.len(),
        now_ms(),
        shared.store.access_handle(),
    )
    .map_err(|err| format!("bad RDB file {} {err}", path.display()))?;
    drop(data);
    install_libraries(shared, &loaded.libraries)
        .map_err(|err| format!("can't load {}: {err}", path.display()))?;
    install(shared, loaded, started);
    Ok(true)
}

/// Replaces the store's contents with an RDB received from a master.
/// Returns the snapshot's `repl-stream-db`, if it names one.
pub fn load_rdb_bytes(shared: &Shared, data: &[u8]) -> Result<Option<usize>, String> {
    let started = Instant::now();
    let loaded = rdb::read(
        data,
        shared.store.len(),
        now_ms(),
        shared.store.access_handle(),
    )
    .map_err(|err| format!("bad RDB from the master {err}"))?;
    install_libraries(shared, &loaded.libraries)
        .map_err(|err| format!("can't load the master's RDB: {err}"))?;
    let stream_db = loaded.stream_db;
    install(shared, loaded, started);
    Ok(stream_db)
}

/// Puts loaded databases in place of the store's.
fn install(shared: &Shared, loaded: rdb::Loaded, started: Instant) {
    let mut dbs = loaded.dbs;
    let mut guards = shared.store.write_all();
    for (guard, db) in guards.iter_mut().zip(dbs.iter_mut()) {
        guard.swap_data(db);
    }
    let changes = guards.iter().map(|db| db.changes()).sum::<u64>() + other_changes(shared);
    drop(guards);
    drop(dbs);
    {
        let mut state = shared.persistence.state();
        state.keys_loaded = loaded.keys_loaded;
        state.keys_expired_at_load = loaded.keys_expired;
        // Loading is not a change that needs saving.
        state.changes_at_last_save = changes;
    }
    log(
        shared,
        log::NOTICE,
        &format!(
            "DB loaded from disk: {:.3} seconds ({} keys, {} expired keys skipped, RDB version {})",
            started.elapsed().as_secs_f64(),
            loaded.keys_loaded,
            loaded.keys_expired,
            loaded.version
        ),
    );
}

/// INFO's persistence lines about RDB.
pub fn info(shared: &Shared) -> Vec<(&'static str, String)> {
    let changes = changes_since_save(shared);
    let state = shared.persistence.state();
    let current = state
        .running_since
        .map_or(-1, |s| s.elapsed().as_secs() as i64);
    vec![
        ("loading", "0".into()),
        ("async_loading", "0".into()),
        ("current_cow_peak", "0".into()),
        ("current_cow_size", "0".into()),
        ("current_cow_size_age", "0".into()),
        ("current_fork_perc", "0.00".into()),
        ("current_save_keys_processed", "0".into()),
        ("current_save_keys_total", "0".into()),
        ("rdb_changes_since_last_save", changes.to_string()),
        (
            "rdb_bgsave_in_progress",
            u8::from(state.running_since.is_some()).to_string(),
        ),
        ("rdb_last_save_time", state.last_save_unix.to_string()),
        (
            "rdb_last_bgsave_status",
            if state.last_bgsave_ok { "ok" } else { "err" }.into(),
        ),
        (
            "rdb_last_bgsave_time_sec",
            state.last_bgsave_secs.to_string(),
        ),
        ("rdb_current_bgsave_time_sec", current.to_string()),
        ("rdb_saves", state.saves.to_string()),
        ("rdb_last_cow_size", "0".into()),
        (
            "rdb_last_load_keys_expired",
            state.keys_expired_at_load.to_string(),
        ),
        ("rdb_last_load_keys_loaded", state.keys_loaded.to_string()),
    ]
}
