//! # respd
//!
//! A Redis-compatible server that a person can read in an afternoon:
//! blocking threads, the standard library and two small dependencies
//! (`threadpool`; `signal-hook`, which catches SIGTERM and SIGINT).
//!
//! Two guides come with the source: `docs/PROTOCOL.md` (RESP2 and RESP3
//! byte by byte, every example checked by `tests/protocol_guide.rs`) and
//! `docs/TOUR.md` (the path of a command through the code, and how to add
//! one).
//!
//! ## The rooms
//!
//! | module | holds | uses |
//! |---|---|---|
//! | [`resp`] | RESP2/RESP3 frames, the command parser, the reply writer, the wire-trace notation | nothing of respd |
//! | [`store`] | databases, values, expiry, each key's access clock, memory accounting and eviction, the glob matcher, HyperLogLog and geohash arithmetic | nothing of sockets or RESP |
//! | [`commands`] | the command table, one file per family, and Redis 7.0's command metadata (`commands::meta`, generated) | `store`, `resp::Reply` |
//! | [`server`] | listeners (TCP and unix), the worker pool, the connection loop, signals | `commands`, `resp` |
//! | [`shutdown`] | the one way a server stops (SHUTDOWN, SIGTERM, SIGINT): drain, save, clean up | `persistence`, `shared` |
//! | [`config`], [`clients`], [`shared`], [`blocking`], [`pubsub`], [`log`] | settings, the client registry, what connections share, clients blocked on keys, Pub/Sub subscribers and their outboxes, the log | `store` |
//! | [`persistence`] | RDB snapshots (file format, SAVE/BGSAVE, save points, loading) and the append-only file, whose propagation step also feeds the replicas | `store` |
//! | [`replication`] | as a master: the backlog, a replica's link (snapshot then stream), ACKs; as a replica: the link to a master (handshake, RDB load, applying the stream, passing it on to chained replicas); FAILOVER | `persistence`, `commands` |
//! | [`notify`] | keyspace notifications: which classes are on, publishing the event log | `store`, `pubsub` |
//! | [`cmdstats`], [`histogram`], [`slowlog`], [`latency`], [`pause`] | what `commands::run` records after each command (INFO commandstats/errorstats/latencystats, SLOWLOG, LATENCY) and CLIENT PAUSE's state | `commands` (row addresses) |
//! | [`tracking`] | client-side caching: the tracking table, BCAST prefixes, `invalidate` messages | `store::changed`, `pubsub`, `clients` |
//! | [`acl`] | users, their rules and permission checks, ACL LOG, SHA-256 | `commands::meta`, `store` |
//! | [`client`] | a blocking client (tests, `respd-cli`) | `resp` |
//! | [`clock`] | each server's clock and seeded randomness, read by `util::now_ms` and `util::Rng` | nothing |
//! | [`faults`], [`testing`] | test controls (injected failures, the command record); `TestServer`, a server to test your code against | `server`, `commands` |
//! | `scripting` (feature `scripting`) | Lua: EVAL's VM, script cache, FUNCTION libraries | `commands` |
//!
//! Doors point one way: `server → commands → store`, and
//! `server`/`client → resp`.
//!
//! ## The path of one `SET k v`
//!
//! 1. A worker of the pool owns the connection
//!    (`serve` in `server/connection.rs`) and reads through a buffer on
//!    its stack (`StackReader`).
//! 2. The connection's [`resp::CommandBuf`] parses
//!    `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n` into `[b"SET", b"k", b"v"]`,
//!    in buffers it reuses for every command.
//! 3. [`commands::execute`] finds the `set` row of the table
//!    ([`commands::lookup`]), checks its arity, the client's
//!    authentication and its user's permissions, and calls the handler.
//! 4. The handler (in `commands/strings.rs`) takes the database's write lock
//!    once ([`commands::Context::db_mut`]), stores the value
//!    ([`store::Db::put`]; the value is copied out of the borrowed
//!    arguments), and writes `+OK\r\n` with [`resp::Reply`].
//! 5. The reply waits in the connection's buffer until no further command
//!    is buffered, then goes out in one write.
//!
//! `respd --trace` (or `CONFIG SET trace yes`) logs every frame of every
//! connection as it crosses the socket, in the notation of [`resp::trace`].
//!
//! ## Embedding
//!
//! ```no_run
//! let server = respd::Server::bind("127.0.0.1:0").unwrap().spawn();
//! let mut client = respd::Client::connect(server.local_addr()).unwrap();
//! client.set("greeting", "hello").unwrap();
//! assert_eq!(client.get("greeting").unwrap(), Some(b"hello".to_vec()));
//! ```

#![forbid(unsafe_code)]

pub mod acl;
pub mod blocking;
pub mod client;
pub mod clients;
pub mod clock;
pub mod cmdstats;
pub mod commands;
pub mod config;
pub mod faults;
pub mod histogram;
pub mod latency;
pub mod log;
pub mod notify;
pub mod pause;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod resp;
#[cfg(feature = "scripting")]
pub mod scripting;
pub mod server;
pub mod shared;
pub mod shutdown;
pub mod slowlog;
pub mod store;
pub mod testing;
pub mod tracking;
pub mod util;

pub use client::Client;
pub use config::Config;
pub use server::{Server, ServerHandle};

/// The Redis version respd answers as (HELLO, INFO): clients pick features
/// by it, and respd behaves as this version does.
pub const REDIS_VERSION: &str = "7.0.15";
