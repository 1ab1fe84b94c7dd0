//! MULTI / EXEC / DISCARD / WATCH / UNWATCH: queuing, errors, atomicity and
//! optimistic locking, through raw bytes and the redis crate.

mod common;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use common::{assert_reply, both, cmd, raw, read_n, redis, start, RealRedis};

#[test]
fn queuing_and_errors_read_as_redis() {
    let server = start();
    let mut c = raw(server.local_addr());
    assert_reply(&mut c, &cmd(&["EXEC"]), b"-ERR EXEC without MULTI\r\n");
    assert_reply(
        &mut c,
        &cmd(&["DISCARD"]),
        b"-ERR DISCARD without MULTI\r\n",
    );
    assert_reply(&mut c, &cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(
        &mut c,
        &cmd(&["MULTI"]),
        b"-ERR MULTI calls can not be nested\r\n",
    );
    assert_reply(
        &mut c,
        &cmd(&["WATCH", "x"]),
        b"-ERR WATCH inside MULTI is not allowed\r\n",
    );
    assert_reply(&mut c, &cmd(&["SET", "a", "1"]), b"+QUEUED\r\n");
    assert_reply(&mut c, &cmd(&["INCR", "a"]), b"+QUEUED\r\n");
    assert_reply(&mut c, &cmd(&["LPUSH", "a", "x"]), b"+QUEUED\r\n");
    assert_reply(&mut c, &cmd(&["GET", "a"]), b"+QUEUED\r\n");
    assert_reply(
        &mut c,
        &cmd(&["EXEC"]),
        b"*4\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n$1\r\n2\r\n",
    );
    // A command refused while queuing dooms the transaction.
    assert_reply(&mut c, &cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(&mut c, &cmd(&["SET", "a", "3"]), b"+QUEUED\r\n");
    assert_reply(
        &mut c,
        &cmd(&["GET"]),
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    assert_reply(
        &mut c,
        &cmd(&["NOPE"]),
        b"-ERR unknown command 'NOPE', with args beginning with: \r\n",
    );
    assert_reply(
        &mut c,
        &cmd(&["EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    assert_reply(&mut c, &cmd(&["GET", "a"]), b"$1\r\n2\r\n");
    // DISCARD drops the queue; an empty transaction is an empty array.
    assert_reply(&mut c, &cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(&mut c, &cmd(&["SET", "a", "4"]), b"+QUEUED\r\n");
    assert_reply(&mut c, &cmd(&["DISCARD"]), b"+OK\r\n");
    assert_reply(&mut c, &cmd(&["GET", "a"]), b"$1\r\n2\r\n");
    assert_reply(&mut c, &cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(&mut c, &cmd(&["EXEC"]), b"*0\r\n");
}

#[test]
fn same_bytes_as_real_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let script: Vec<u8> = [
        &["EXEC"][..],
        &["DISCARD"],
        &["WATCH"],
        &["UNWATCH"],
        &["WATCH", "w1", "w2"],
        &["MULTI"],
        &["MULTI"],
        &["WATCH", "x"],
        &["SET", "a", "1"],
        &["INCR", "a"],
        &["HSET", "a", "f", "v"],
        &["EXEC"],
        &["MULTI"],
        &["SET", "a", "1"],
        &["FOO", "bar"],
        &["GET"],
        &["CLIENT", "NOSUCH"],
        &["EXEC"],
        &["MULTI"],
        &["BLPOP", "nothing", "0"],
        &["EXEC"],
        // A refused EXEC discards the transaction and says why.
        &["MULTI"],
        &["SET", "a", "5"],
        &["EXEC", "x"],
        &["EXEC"],
        &["EXEC", "x"],
        &["MULTI"],
        &["DISCARD"],
        &["DISCARD"],
        &["SET", "w", "1"],
        &["WATCH", "w"],
        &["SET", "w", "2"],
        &["MULTI"],
        &["GET", "w"],
        &["EXEC"],
        &["HELLO", "2"],
    ]
    .iter()
    .flat_map(|c| cmd(c))
    .collect();
    let (ours, theirs) = both(server.local_addr(), real.addr, &[], &script);
    assert_eq!(
        String::from_utf8_lossy(&ours).split("$6\r\nserver").next(),
        String::from_utf8_lossy(&theirs)
            .split("$6\r\nserver")
            .next()
    );
}

#[test]
fn watch_aborts_only_when_a_watched_key_changes() {
    let server = start();
    let mut c = raw(server.local_addr());
    let mut other = raw(server.local_addr());
    let exec_with = |c: &mut std::net::TcpStream,
                     other: &mut std::net::TcpStream,
                     watch: &str,
                     meddle: &[&str],
                     expected: &[u8]| {
        assert_reply(c, &cmd(&["WATCH", watch]), b"+OK\r\n");
        if !meddle.is_empty() {
            other.write_all(&cmd(meddle)).unwrap();
            read_n(other, 1);
            other
                .set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            read_n(other, 1 << 16);
            other
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
        }
        assert_reply(c, &cmd(&["MULTI"]), b"+OK\r\n");
        assert_reply(c, &cmd(&["INCR", "counter"]), b"+QUEUED\r\n");
        let got = common::exchange(c, &cmd(&["EXEC"]), expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "watch {watch}, meddle {meddle:?}"
        );
    };
    assert_reply(&mut c, &cmd(&["SET", "k", "v"]), b"+OK\r\n");
    exec_with(&mut c, &mut other, "k", &[], b"*1\r\n:1\r\n");
    exec_with(&mut c, &mut other, "k", &["GET", "k"], b"*1\r\n:2\r\n");
    exec_with(
        &mut c,
        &mut other,
        "k",
        &["SET", "unrelated", "x"],
        b"*1\r\n:3\r\n",
    );
    // Writes that change nothing do not count, as in Redis.
    exec_with(
        &mut c,
        &mut other,
        "nope",
        &["DEL", "nope"],
        b"*1\r\n:4\r\n",
    );
    exec_with(
        &mut c,
        &mut other,
        "nope",
        &["HDEL", "nope", "f"],
        b"*1\r\n:5\r\n",
    );
    exec_with(&mut c, &mut other, "k", &["PERSIST", "k"], b"*1\r\n:6\r\n");
    exec_with(&mut c, &mut other, "k", &["SET", "k", "w"], b"*-1\r\n");
    exec_with(&mut c, &mut other, "k", &["APPEND", "k", "w"], b"*-1\r\n");
    exec_with(&mut c, &mut other, "k", &["EXPIRE", "k", "100"], b"*-1\r\n");
    exec_with(&mut c, &mut other, "k", &["DEL", "k"], b"*-1\r\n");
    exec_with(
        &mut c,
        &mut other,
        "missing",
        &["LPUSH", "missing", "x"],
        b"*-1\r\n",
    );
    exec_with(
        &mut c,
        &mut other,
        "h",
        &["HSET", "h", "f", "v"],
        b"*-1\r\n",
    );
    exec_with(&mut c, &mut other, "h", &["FLUSHDB"], b"*-1\r\n");
    // A flush or a swap changes only keys that exist (on either side).
    exec_with(
        &mut c,
        &mut other,
        "h",
        &["SWAPDB", "0", "1"],
        b"*1\r\n:1\r\n",
    );
    assert_reply(&mut c, &cmd(&["SET", "h", "x"]), b"+OK\r\n");
    exec_with(&mut c, &mut other, "h", &["SWAPDB", "0", "1"], b"*-1\r\n");
    // A key that expires between WATCH and EXEC counts as changed.
    // (Long enough to outlast a stalled machine between SET and WATCH.)
    assert_reply(
        &mut c,
        &cmd(&["SET", "soon", "v", "PX", "1000"]),
        b"+OK\r\n",
    );
    assert_reply(&mut c, &cmd(&["WATCH", "soon"]), b"+OK\r\n");
    thread::sleep(Duration::from_millis(1200));
    assert_reply(&mut c, &cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(&mut c, &cmd(&["PING"]), b"+QUEUED\r\n");
    assert_reply(&mut c, &cmd(&["EXEC"]), b"*-1\r\n");
    // UNWATCH forgets; in RESP3 an aborted EXEC is a null.
    assert_reply(&mut c, &cmd(&["WATCH", "k"]), b"+OK\r\n");
    assert_reply(&mut other, &cmd(&["SET", "k", "again"]), b"+OK\r\n");
    assert_reply(&mut c, &cmd(&["UNWATCH"]), b"+OK\r\n");
    assert_reply(&mut c, &cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(&mut c, &cmd(&["PING"]), b"+QUEUED\r\n");
    assert_reply(&mut c, &cmd(&["EXEC"]), b"*1\r\n+PONG\r\n");
    let mut three = common::client(server.local_addr());
    three.command(&["HELLO", "3"]).unwrap();
    three.command(&["WATCH", "k"]).unwrap();
    three.command(&["MULTI"]).unwrap();
    assert_reply(&mut other, &cmd(&["SET", "k", "changed"]), b"+OK\r\n");
    three.command(&["PING"]).unwrap();
    three.send(&["EXEC"]).unwrap();
    assert_eq!(three.read_reply_with_bytes().unwrap().1, b"_\r\n");
}

#[test]
fn watch_retries_under_contention_count_exactly() {
    let server = start();
    let addr = server.local_addr();
    let workers: Vec<_> = (0..8)
        .map(|_| {
            thread::spawn(move || {
                let mut con = redis(addr);
                for _ in 0..100 {
                    let _: () = redis::transaction(&mut con, &["counter"], |con, pipe| {
                        let value: i64 = redis::cmd("GET")
                            .arg("counter")
                            .query::<Option<i64>>(con)?
                            .unwrap_or(0);
                        pipe.cmd("SET")
                            .arg("counter")
                            .arg(value + 1)
                            .ignore()
                            .query(con)
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let mut con = redis(addr);
    let total: i64 = redis::cmd("GET").arg("counter").query(&mut con).unwrap();
    assert_eq!(total, 800);
}

#[test]
fn no_client_sees_a_transaction_half_done() {
    let server = start();
    let addr = server.local_addr();
    let writer = thread::spawn(move || {
        let mut con = redis(addr);
        for _ in 0..300 {
            let _: () = redis::pipe()
                .atomic()
                .cmd("INCR")
                .arg("x")
                .ignore()
                .cmd("INCR")
                .arg("y")
                .ignore()
                .query(&mut con)
                .unwrap();
        }
    });
    let mut con = redis(addr);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !writer.is_finished() && Instant::now() < deadline {
        let (x, y): (Option<i64>, Option<i64>) = redis::cmd("MGET")
            .arg("x")
            .arg("y")
            .query(&mut con)
            .unwrap();
        assert_eq!(x, y, "a reader saw x and y between the two INCRs");
    }
    writer.join().unwrap();
    let (x, y): (i64, i64) = redis::cmd("MGET")
        .arg("x")
        .arg("y")
        .query(&mut con)
        .unwrap();
    assert_eq!((x, y), (300, 300));
}

#[test]
fn blocking_commands_do_not_block_inside_multi_and_pushes_wake_after_exec() {
    let server = start();
    let mut c = raw(server.local_addr());
    assert_reply(&mut c, &cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(&mut c, &cmd(&["BLPOP", "q", "0"]), b"+QUEUED\r\n");
    assert_reply(&mut c, &cmd(&["EXEC"]), b"*1\r\n*-1\r\n");

    let mut waiter = raw(server.local_addr());
    waiter.write_all(&cmd(&["BLPOP", "q", "0"])).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.shared().blocking.blocked_count() != 1 {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(5));
    }
    assert_reply(&mut c, &cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(&mut c, &cmd(&["RPUSH", "q", "a", "b"]), b"+QUEUED\r\n");
    assert_reply(&mut c, &cmd(&["LLEN", "q"]), b"+QUEUED\r\n");
    // Inside the transaction the list still holds both elements.
    assert_reply(&mut c, &cmd(&["EXEC"]), b"*2\r\n:2\r\n:2\r\n");
    let served = read_n(&mut waiter, b"*2\r\n$1\r\nq\r\n$1\r\na\r\n".len());
    assert_eq!(served, b"*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    assert_reply(
        &mut c,
        &cmd(&["LRANGE", "q", "0", "-1"]),
        b"*1\r\n$1\r\nb\r\n",
    );
}
