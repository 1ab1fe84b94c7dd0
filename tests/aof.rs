//! The append-only file over real processes: acknowledged writes survive
//! SIGKILL with appendfsync always, the logged commands are Redis's
//! translations, a truncated tail is cut off and a damaged middle stops the
//! start, BGREWRITEAOF loses no write made while it runs.

mod common;

use common::process::{free_port, respd, Process};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> common::process::TempDir {
    common::process::temp_dir("aof", name)
}

fn aof(dir: &Path, fsync: &str) -> Process {
    respd(
        dir,
        &["--appendonly", "yes", "--appendfsync", fsync, "--save", ""],
    )
}

/// The increment's text, with CRLF shown as spaces.
fn incr_text(dir: &Path) -> String {
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    let incr = manifest
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let bytes = std::fs::read(dir.join("appendonlydir").join(incr)).unwrap();
    String::from_utf8_lossy(&bytes).replace("\r\n", " ")
}

#[test]
fn acknowledged_writes_survive_sigkill_with_fsync_always() {
    let dir = temp_dir("sigkill");
    let mut server = aof(&dir, "always");
    let addr = server.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acked_total = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|client| {
            let stop = stop.clone();
            let acked_total = acked_total.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let Ok(mut conn) = redis::Client::open(common::url(addr))
                    .unwrap()
                    .get_connection()
                else {
                    return acked;
                };
                for n in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) && n > 50 {
                        break;
                    }
                    let key = format!("c{client}:{n}");
                    let done: redis::RedisResult<()> =
                        redis::cmd("SET").arg(&key).arg(n).query(&mut conn);
                    if done.is_err() {
                        break;
                    }
                    acked.push(key);
                    acked_total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                acked
            })
        })
        .collect();
    // Killed in the middle of the writes, once enough are acknowledged
    // (fsync on a loaded machine can be slow).
    std::thread::sleep(Duration::from_millis(700));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while acked_total.load(std::sync::atomic::Ordering::Relaxed) <= 50
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.child.kill().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let _ = server.child.wait();
    drop(server);
    assert!(acked.len() > 50, "too few writes: {}", acked.len());
    let restarted = aof(&dir, "always");
    let mut conn = restarted.conn();
    for key in &acked {
        let value: Option<String> = redis::cmd("GET").arg(key).query(&mut conn).unwrap();
        assert!(value.is_some(), "acknowledged write {key} lost");
    }
    eprintln!("{} acknowledged writes survived SIGKILL", acked.len());
}

/// Many clients writing at once with appendfsync always, some of them in
/// pipelines (the log is brought to disk once per batch of replies), and a
/// blocked BLPOP served by another client's push (its reply waits for the
/// pop's entry): after SIGKILL, everything a reply acknowledged is there.
#[test]
fn acknowledged_writes_of_many_clients_survive_sigkill_with_fsync_always() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    const WRITERS: usize = 24;
    let dir = temp_dir("sigkill-many");
    let mut server = aof(&dir, "always");
    let addr = server.addr;
    let acked_total = Arc::new(AtomicUsize::new(0));
    let connect = move || {
        redis::Client::open(common::url(addr))
            .unwrap()
            .get_connection()
    };
    // Each writer: pipelines of 1 to 4 SETs and an INCR of its counter.
    // Returns the keys acknowledged and the counter's last acknowledged value.
    let writers: Vec<_> = (0..WRITERS)
        .map(|client| {
            let acked_total = acked_total.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut counter = 0i64;
                let Ok(mut conn) = connect() else {
                    return (acked, counter);
                };
                for round in 0.. {
                    let mut pipe = redis::pipe();
                    let keys: Vec<String> = (0..=(round % 4))
                        .map(|i| format!("w{client}:{round}:{i}"))
                        .collect();
                    for key in &keys {
                        pipe.cmd("SET").arg(key).arg(round).ignore();
                    }
                    pipe.cmd("INCR").arg(format!("counter:{client}"));
                    let done: redis::RedisResult<(i64,)> = pipe.query(&mut conn);
                    let Ok((value,)) = done else {
                        break;
                    };
                    counter = value;
                    acked_total.fetch_add(keys.len(), Ordering::Relaxed);
                    acked.extend(keys);
                }
                (acked, counter)
            })
        })
        .collect();
    // A popper blocked on `queue`, served by a pusher's RPUSH.
    let popped = Arc::new(AtomicUsize::new(0));
    let popper = {
        let popped = popped.clone();
        std::thread::spawn(move || {
            let mut values = Vec::new();
            let Ok(mut conn) = connect() else {
                return values;
            };
            loop {
                let reply: redis::RedisResult<(String, String)> =
                    redis::cmd("BLPOP").arg("queue").arg(0).query(&mut conn);
                let Ok((_, value)) = reply else {
                    break;
                };
                values.push(value);
                popped.fetch_add(1, Ordering::Relaxed);
            }
            values
        })
    };
    let pushing = Arc::new(AtomicBool::new(true));
    let pusher = {
        let pushing = pushing.clone();
        let popped = popped.clone();
        std::thread::spawn(move || {
            let Ok(mut conn) = connect() else {
                return;
            };
            for n in 0.. {
                // One element at a time, so the popper is blocked when it comes.
                while pushing.load(Ordering::Relaxed) && popped.load(Ordering::Relaxed) < n {
                    std::thread::yield_now();
                }
                if !pushing.load(Ordering::Relaxed) {
                    return;
                }
                let pushed: redis::RedisResult<i64> = redis::cmd("RPUSH")
                    .arg("queue")
                    .arg(format!("v{n}"))
                    .query(&mut conn);
                if pushed.is_err() {
                    return;
                }
            }
        })
    };
    // Hang guard only: the kill comes once enough was acknowledged.
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked_total.load(Ordering::Relaxed) < 3000 || popped.load(Ordering::Relaxed) < 100 {
        assert!(Instant::now() < deadline, "the clients made no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    server.child.kill().unwrap();
    let _ = server.child.wait();
    pushing.store(false, Ordering::Relaxed);
    let results: Vec<(Vec<String>, i64)> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let popped_values = popper.join().unwrap();
    pusher.join().unwrap();
    drop(server);

    let restarted = aof(&dir, "always");
    let mut conn = restarted.conn();
    for (client, (keys, counter)) in results.iter().enumerate() {
        for key in keys {
            let value: Option<String> = redis::cmd("GET").arg(key).query(&mut conn).unwrap();
            assert!(value.is_some(), "acknowledged write {key} lost");
        }
        let value: Option<i64> = redis::cmd("GET")
            .arg(format!("counter:{client}"))
            .query(&mut conn)
            .unwrap();
        assert!(
            value.unwrap_or(0) >= *counter,
            "counter:{client} is {value:?}, {counter} was acknowledged"
        );
    }
    // Every acknowledged pop is logged: the element is gone from the list.
    let left: Vec<String> = redis::cmd("LRANGE")
        .arg("queue")
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    for value in &popped_values {
        assert!(!left.contains(value), "popped {value} is back in the list");
    }
    eprintln!(
        "{} acknowledged writes and {} pops survived SIGKILL",
        acked_total.load(Ordering::Relaxed),
        popped_values.len()
    );
}

#[test]
fn logs_redis_translations() {
    let dir = temp_dir("translate");
    let server = aof(&dir, "everysec");
    let mut conn = server.conn();
    let q = |conn: &mut redis::Connection, args: &[&str]| {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query::<redis::Value>(conn).unwrap();
    };
    q(&mut conn, &["SET", "a", "1"]);
    q(&mut conn, &["GET", "a"]);
    q(&mut conn, &["SETNX", "a", "2"]);
    q(&mut conn, &["SETEX", "b", "100", "x"]);
    q(&mut conn, &["SELECT", "3"]);
    q(&mut conn, &["INCRBYFLOAT", "f", "1.5"]);
    q(&mut conn, &["SADD", "s", "m"]);
    q(&mut conn, &["SPOP", "s"]);
    q(&mut conn, &["RPUSH", "l", "x"]);
    q(&mut conn, &["BLPOP", "nothing", "l", "0"]);
    q(&mut conn, &["EXPIRE", "f", "100"]);
    q(&mut conn, &["DEL", "missing"]);
    q(&mut conn, &["MULTI"]);
    q(&mut conn, &["SET", "t", "1"]);
    q(&mut conn, &["EXEC"]);
    let pttl: i64 = redis::cmd("PTTL").arg("f").query(&mut conn).unwrap();
    assert!(pttl > 0);
    drop(server);
    let text = incr_text(&dir);
    let expected_start = "*2 $6 SELECT $1 0 *3 $3 SET $1 a $1 1 *5 $3 SET $1 b $1 x $4 PXAT $13 ";
    assert!(text.starts_with(expected_start), "{text}");
    let rest = &text[expected_start.len() + 14..];
    let at = |s: &str| {
        rest.find(s)
            .unwrap_or_else(|| panic!("{s:?} not in {rest}"))
    };
    let expected = [
        "*2 $6 SELECT $1 3 *4 $3 SET $1 f $3 1.5 $7 KEEPTTL ",
        "*3 $4 SADD $1 s $1 m *3 $4 SREM $1 s $1 m ",
        "*3 $5 RPUSH $1 l $1 x *2 $4 LPOP $1 l *3 $9 PEXPIREAT $1 f $13 ",
        "*1 $5 MULTI *3 $3 SET $1 t $1 1 *1 $4 EXEC ",
    ];
    let positions: Vec<usize> = expected.iter().map(|e| at(e)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{rest}");
    assert!(!text.contains("GET") && !text.contains("SETNX"), "{text}");
}

/// Writes an AOF directory by hand: an empty base-less manifest and `incr`.
fn hand_made(dir: &Path, incr: &[u8]) {
    let sub = dir.join("appendonlydir");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    std::fs::write(sub.join("appendonly.aof.1.incr.aof"), incr).unwrap();
}

#[test]
fn truncated_tail_is_cut_off_and_damaged_middle_stops_the_start() {
    let dir = temp_dir("truncated");
    let whole = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    let mut data = whole.to_vec();
    data.extend_from_slice(
        b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nt\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nu",
    );
    hand_made(&dir, &data);
    let server = aof(&dir, "always");
    let mut conn = server.conn();
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut conn).unwrap();
    let t: Option<String> = redis::cmd("GET").arg("t").query(&mut conn).unwrap();
    assert_eq!((v.as_deref(), t), (Some("v"), None));
    let () = redis::cmd("SET")
        .arg("after")
        .arg("1")
        .query(&mut conn)
        .unwrap();
    drop(server);
    let incr = std::fs::read(dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    assert!(
        incr.starts_with(whole)
            && incr[whole.len()..]
                .starts_with(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter")
    );
    let server = aof(&dir, "always");
    let after: Option<String> = redis::cmd("GET")
        .arg("after")
        .query(&mut server.conn())
        .unwrap();
    assert_eq!(after.as_deref(), Some("1"));
    drop(server);

    let dir = temp_dir("damaged");
    let mut data = whole.to_vec();
    data.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nvX\r\n*1\r\n$4\r\nPING\r\n");
    hand_made(&dir, &data);
    let output = Command::new(env!("CARGO_BIN_EXE_respd"))
        .args([
            "--dir",
            dir.to_str().unwrap(),
            "--appendonly",
            "yes",
            "--port",
            &free_port().to_string(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("appendonly.aof.1.incr.aof")
            && stderr.contains(&format!("offset {}", whole.len())),
        "{stderr}"
    );
}

#[test]
fn bgrewriteaof_loses_no_write_made_while_it_runs() {
    let dir = temp_dir("rewrite");
    let server = aof(&dir, "everysec");
    let mut conn = server.conn();
    for n in 0..20_000 {
        let () = redis::cmd("SET")
            .arg(format!("pre:{n}"))
            .arg(n)
            .query(&mut conn)
            .unwrap();
    }
    let addr = server.addr;
    let writer = std::thread::spawn(move || {
        let mut conn = redis::Client::open(common::url(addr))
            .unwrap()
            .get_connection()
            .unwrap();
        for n in 0..3000 {
            let () = redis::cmd("INCR").arg("counter").query(&mut conn).unwrap();
            let () = redis::cmd("SET")
                .arg(format!("during:{n}"))
                .arg(n)
                .query(&mut conn)
                .unwrap();
        }
    });
    let reply: String = redis::cmd("BGREWRITEAOF").query(&mut conn).unwrap();
    assert_eq!(reply, "Background append only file rewriting started");
    let again: redis::RedisResult<String> = redis::cmd("BGREWRITEAOF").query(&mut conn);
    if let Err(err) = again {
        assert!(err.to_string().contains("already in progress"), "{err}");
    }
    writer.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info: String = redis::cmd("INFO")
            .arg("persistence")
            .query(&mut conn)
            .unwrap();
        if info.contains("aof_rewrite_in_progress:0") {
            assert!(
                info.contains("aof_last_bgrewrite_status:ok") && info.contains("aof_enabled:1")
            );
            break;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let () = redis::cmd("SET")
        .arg("last")
        .arg("1")
        .query(&mut conn)
        .unwrap();
    let () = redis::cmd("SHUTDOWN")
        .arg("NOSAVE")
        .query(&mut conn)
        .unwrap_or(());
    assert!(server.wait_exit());
    let files: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    let server = aof(&dir, "everysec");
    let mut conn = server.conn();
    let size: i64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
    let counter: i64 = redis::cmd("GET").arg("counter").query(&mut conn).unwrap();
    assert_eq!((size, counter), (20_000 + 3000 + 2, 3000));
}
