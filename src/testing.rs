//! A Redis to test your code against, inside your test: start one on a
//! free port, hand its URL to any client crate, and steer it from the
//! test: move its clock, seed its random picks, read and write keys
//! without a socket, inject failures, see what your code sent.
//!
//! ```no_run
//! use std::time::Duration;
//! let server = respd::testing::TestServer::start();
//! let url = server.url(); // "redis://127.0.0.1:PORT/" for redis-rs, fred...
//! server.run(&["SET", "session", "x", "EX", "3600"]);
//! server.advance(Duration::from_secs(3600));
//! assert_eq!(server.run(&["EXISTS", "session"]), respd::resp::Frame::Integer(0));
//! ```
//!
//! Each `TestServer` has its own clock and its own seed: two in one
//! process do not see each other's time. The server stops when dropped.
//! The same controls are DEBUG subcommands for other languages (see
//! `commands/testing.rs` and the README).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::clients::ClientInfo;
use crate::commands::{self, Context, Session};
use crate::faults::Recorded;
use crate::resp::{Frame, Reply};
use crate::server::{Server, ServerHandle};
use crate::shared::Shared;

/// A server running for one test; stopped when dropped.
pub struct TestServer {
    handle: ServerHandle,
    /// Every parameter's value at the start, for [`TestServer::reset`].
    initial_config: Vec<(String, String)>,
}

impl TestServer {
    /// A fresh server on a free loopback port (DEBUG allowed, nothing on
    /// disk). Panics if no port can be had: a test cannot go on then.
    pub fn start() -> TestServer {
        let server = Server::bind("127.0.0.1:0").expect("respd test server: cannot bind");
        TestServer::from_server(server)
    }

    /// A test server from a server built as you need it (a config...).
    pub fn from_server(server: Server) -> TestServer {
        {
            let mut config = server.shared().config_mut();
            let _ = config.set("enable-debug-command", "yes", true);
        }
        let initial_config = snapshot_config(server.shared());
        TestServer {
            handle: server.spawn(),
            initial_config,
        }
    }

    /// `redis://127.0.0.1:PORT/`, for any client crate.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.handle.local_addr())
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    /// The server's state, for what this module does not cover.
    pub fn shared(&self) -> &Arc<Shared> {
        self.handle.shared()
    }

    // --- time ---

    /// Moves the server's clock forward: keys whose time passes are
    /// deleted before this returns, their `expired` events sent.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.run(&["DEBUG", "CLOCK", "ADVANCE", &ms.to_string()]);
    }

    /// Sets the server's clock to `at`; it runs on from there.
    pub fn set_time(&self, at: SystemTime) {
        let ms = at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.run(&["DEBUG", "CLOCK", "SET", &ms.to_string()]);
    }

    /// Stops the server's clock: it moves only by [`TestServer::advance`]
    /// and [`TestServer::set_time`] (TTLs read exactly).
    pub fn freeze_time(&self) {
        self.shared().ambient.clock.freeze();
    }

    /// Back to the machine's clock.
    pub fn real_time(&self) {
        self.shared().ambient.clock.real();
    }

    /// The server's time.
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.shared().ambient.clock.now_ms())
    }

    // --- randomness ---

    /// From now on, the same seed and the same commands give the same
    /// random replies (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER,
    /// RANDOMKEY, eviction's samples).
    /// Seed a fresh (or [`reset`](TestServer::reset)) server: maps made
    /// before the seed keep their random layout.
    pub fn seed(&self, seed: u64) {
        self.run(&["DEBUG", "SEED", &(seed as i64).to_string()]);
    }

    // --- direct access ---

    /// Runs one command in the server without a socket (database 0) and
    /// returns its RESP2 reply: seed fixtures of any type, with their TTLs,
    /// and read results. Not failed, delayed or recorded by the controls.
    pub fn run(&self, args: &[&str]) -> Frame {
        self.run_in(0, args)
    }

    /// [`TestServer::run`] in database `db`.
    pub fn run_in(&self, db: usize, args: &[&str]) -> Frame {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        run_command(self.shared(), db, &args)
    }

    /// Sets a string key, with a time to live if given.
    pub fn set(&self, key: &str, value: &str, ttl: Option<Duration>) {
        match ttl {
            Some(ttl) => {
                let ms = ttl.as_millis().max(1).to_string();
                self.run(&["SET", key, value, "PX", &ms])
            }
            None => self.run(&["SET", key, value]),
        };
    }

    /// A string key's value.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        match self.run(&["GET", key]) {
            Frame::Bulk(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// A key's time to live (None: no key or no expiry).
    pub fn ttl(&self, key: &str) -> Option<Duration> {
        match self.run(&["PTTL", key]) {
            Frame::Integer(ms) if ms >= 0 => Some(Duration::from_millis(ms as u64)),
            _ => None,
        }
    }

    /// Every key of database `db`, sorted.
    pub fn keys(&self, db: usize) -> Vec<String> {
        let mut keys = match self.run_in(db, &["KEYS", "*"]) {
            Frame::Array(items) => items
                .into_iter()
                .filter_map(|f| match f {
                    Frame::Bulk(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        keys.sort();
        keys
    }

    /// A readable dump of database `db`: one line per key, sorted,
    /// `key type value [ttl=ms]`, the value as Redis would list it.
    pub fn dump(&self, db: usize) -> String {
        let mut out = String::new();
        for key in self.keys(db) {
            let kind = match self.run_in(db, &["TYPE", &key]) {
                Frame::Simple(kind) => kind,
                _ => continue,
            };
            let value = match kind.as_str() {
                "string" => self.run_in(db, &["GET", &key]),
                "list" => self.run_in(db, &["LRANGE", &key, "0", "-1"]),
                "set" => sorted(self.run_in(db, &["SMEMBERS", &key])),
                "zset" => self.run_in(db, &["ZRANGE", &key, "0", "-1", "WITHSCORES"]),
                "hash" => self.run_in(db, &["HGETALL", &key]),
                "stream" => self.run_in(db, &["XRANGE", &key, "-", "+"]),
                _ => Frame::Null,
            };
            out.push_str(&format!("{key} {kind} {}", readable(&value)));
            if let Frame::Integer(ms) = self.run_in(db, &["PTTL", &key]) {
                if ms >= 0 {
                    out.push_str(&format!(" ttl={ms}"));
                }
            }
            out.push('\n');
        }
        out
    }

    // --- fault injection ---

    /// The next `count` commands of any client fail with `error` (the
    /// whole line, e.g. `"ERR boom"` or `"LOADING not yet"`).
    pub fn fail_next(&self, count: u64, error: &str) {
        self.shared().faults.fail_next(count, error);
    }

    /// Every command named `name` fails with `error` (None: no longer).
    pub fn fail_command(&self, name: &str, error: Option<&str>) {
        self.shared().faults.fail_command(name, error);
    }

    /// Every reply waits `delay` (zero: none).
    pub fn delay_replies(&self, delay: Duration) {
        self.shared().faults.delay_replies(delay);
    }

    /// Closes every client connection (as a restarted server would).
    pub fn close_all_clients(&self) {
        for client in self.shared().clients.all() {
            client.kill();
        }
    }

    /// New connections are closed at once for `period`.
    pub fn refuse_connections_for(&self, period: Duration) {
        self.shared().faults.refuse_connections_for(period);
    }

    // --- the record ---

    /// Starts (or stops) recording what clients send.
    pub fn record(&self, on: bool) {
        self.shared().faults.record(on);
    }

    /// The commands recorded so far.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.shared().faults.recorded()
    }

    /// Just the commands, as strings: `[["SET", "k", "v"], ...]`.
    pub fn recorded_commands(&self) -> Vec<Vec<String>> {
        self.recorded()
            .into_iter()
            .map(|r| {
                r.args
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .collect()
    }

    // --- isolation ---

    /// Back to the start, cheaply: every database emptied, scripts and
    /// functions flushed, clients (and so their subscriptions) closed,
    /// the configuration as it was, real time, no seed, no fault, no record.
    pub fn reset(&self) {
        let shared = self.shared();
        shared.faults.clear();
        shared.ambient.clock.real();
        shared.ambient.chance.unseed();
        self.close_all_clients();
        self.run(&["FLUSHALL"]);
        self.run(&["SCRIPT", "FLUSH"]);
        self.run(&["FUNCTION", "FLUSH"]);
        let now = snapshot_config(shared);
        for ((name, start), (_, current)) in self.initial_config.iter().zip(now.iter()) {
            if start != current {
                self.run(&["CONFIG", "SET", name, start]);
            }
        }
    }
}

fn snapshot_config(shared: &Shared) -> Vec<(String, String)> {
    let config = shared.config();
    crate::config::PARAMS
        .iter()
        .filter(|p| !p.immutable && !p.protected)
        .map(|p| {
            (
                p.name.to_owned(),
                config.get(p.name).unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// One command through the dispatcher, as a client that is already
/// authenticated would send it; the reply parsed back.
fn run_command(shared: &Shared, db: usize, args: &[Vec<u8>]) -> Frame {
    let _clock = crate::clock::enter(&shared.ambient);
    let info = Arc::new(ClientInfo::new(
        0,
        "in-process".into(),
        String::new(),
        -1,
        Box::new(|| {}),
    ));
    let mut session = Session::new(info, shared);
    session.run_unrestricted();
    session.db = db;
    let mut reply = Reply::new();
    commands::execute(&mut Context::new(shared, &mut session, &mut reply), args);
    let mut bytes = reply.buf.as_slice();
    crate::resp::read_frame(&mut bytes)
        .ok()
        .flatten()
        .unwrap_or(Frame::Null)
}

fn sorted(frame: Frame) -> Frame {
    match frame {
        Frame::Array(mut items) => {
            items.sort_by_key(readable);
            Frame::Array(items)
        }
        other => other,
    }
}

/// A frame in a few readable words: `"v"`, `[a b]`, `(nil)`, `5`.
fn readable(frame: &Frame) -> String {
    match frame {
        Frame::Bulk(bytes) => format!("{:?}", String::from_utf8_lossy(bytes)),
        Frame::Simple(text) => text.clone(),
        Frame::Error(text) => format!("(error {text})"),
        Frame::Integer(n) => n.to_string(),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => format!(
            "[{}]",
            items.iter().map(readable).collect::<Vec<_>>().join(" ")
        ),
        Frame::Double(d) => d.to_string(),
        _ => "(nil)".into(),
    }
}
