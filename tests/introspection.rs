//! INFO's sections and per-command/error statistics, CLIENT LIST's fields,
//! CONFIG GET/SET of several parameters and hidden ones, CLIENT PAUSE and
//! WAIT: over real TCP, against a real Redis where replies are
//! deterministic.

mod common;

use std::io::Write;
use std::time::Duration;

use common::*;

fn info(con: &mut redis::Connection, sections: &[&str]) -> String {
    redis::cmd("INFO").arg(sections).query(con).unwrap()
}

fn titles(info: &str) -> Vec<String> {
    info.lines()
        .filter_map(|l| l.strip_prefix("# ").map(str::to_string))
        .collect()
}

/// The `field:value` of INFO, by field.
fn field(info: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

#[test]
fn info_sections_as_redis_picks_them() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let mut mine = redis(server.local_addr());
    let mut theirs = redis(real.addr);
    for asked in [
        &[][..],
        &["default"],
        &["all"],
        &["everything"],
        &["cpu", "sentinel"],
        &["cpu", "all"],
        &["cpu", "default"],
        &["commandSTATS"],
        &["errorstats", "LATENCYSTATS", "keyspace"],
        &["module_list"],
        &["nothing"],
    ] {
        assert_eq!(
            titles(&info(&mut mine, asked)),
            titles(&info(&mut theirs, asked)),
            "INFO {asked:?}"
        );
    }
}

#[test]
fn errorstats_and_commandstats_count_as_redis_does() {
    let setup = [
        cmd(&["CONFIG", "RESETSTAT"]),
        cmd(&["SET", "k"]),
        cmd(&["NOSUCH", "x"]),
        cmd(&["CLIENT", "NOSUCH"]),
        cmd(&["SET", "k", "v"]),
        cmd(&["LPUSH", "k", "v"]),
        cmd(&["MULTI"]),
        cmd(&["SET", "a", "b"]),
        cmd(&["AUTH", "a"]),
        cmd(&["EXEC"]),
        cmd(&["EXEC"]),
        cmd(&["MULTI"]),
        cmd(&["GET"]),
        cmd(&["EXEC"]),
    ];
    let setup: Vec<&[u8]> = setup.iter().map(Vec::as_slice).collect();
    same_as_redis(
        &setup,
        &[
            cmd(&["INFO", "errorstats"]),
            cmd(&["CONFIG", "RESETSTAT"]),
            cmd(&["INFO", "errorstats"]),
        ],
    );
    // Durations vary: compare commandstats without usec.
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let strip = |info: String| -> Vec<String> {
        info.lines()
            .filter(|l| l.starts_with("cmdstat_"))
            .map(|l| {
                let (name, rest) = l.split_once(':').unwrap();
                let kept: Vec<&str> = rest.split(',').filter(|f| !f.starts_with("usec")).collect();
                format!("{name}:{}", kept.join(","))
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let (mine, theirs) = both(
        server.local_addr(),
        real.addr,
        &setup,
        &cmd(&["INFO", "commandstats"]),
    );
    let to_text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    assert_eq!(strip(to_text(mine)), strip(to_text(theirs)));
    // total_error_replies counts every error reply: 8 since the RESETSTAT.
    // (Asked with respd's own client: the redis crate sends CLIENT SETINFO
    // on connect, which 7.0 answers with an error that counts too.)
    let mut con = common::client(server.local_addr());
    let reply = con.command(&["INFO", "stats"]).expect("INFO");
    let stats = match reply {
        respd::resp::Frame::Bulk(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        other => panic!("INFO replied {other:?}"),
    };
    assert_eq!(field(&stats, "total_error_replies").as_deref(), Some("8"));
}

#[test]
fn blocked_command_stats_leave_out_the_wait_and_count_unblock_errors() {
    let server = start();
    let mut con = redis(server.local_addr());
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    let mut blocked = raw(server.local_addr());
    let id = exchange(&mut blocked, &cmd(&["CLIENT", "ID"]), 64);
    let id = String::from_utf8_lossy(&id[1..id.len() - 2]).into_owned();
    blocked.write_all(&cmd(&["BLPOP", "list", "0"])).unwrap();
    // Parked first, then 300 ms of waiting that must not count as its time.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.shared().blocking.blocked_count() != 1 {
        assert!(std::time::Instant::now() < deadline, "BLPOP never blocked");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    let unblocked: i64 = redis::cmd("CLIENT")
        .arg("UNBLOCK")
        .arg(&id)
        .arg("ERROR")
        .query(&mut con)
        .unwrap();
    assert_eq!(unblocked, 1);
    let reply = read_n(&mut blocked, 64);
    assert!(reply.starts_with(b"-UNBLOCKED"));
    let stats = info(&mut con, &["commandstats", "errorstats"]);
    let blpop = field(&stats, "cmdstat_blpop").expect("blpop counted");
    assert!(blpop.starts_with("calls=1,"), "{blpop}");
    assert!(
        blpop.ends_with(",rejected_calls=0,failed_calls=1"),
        "{blpop}"
    );
    // The 300 ms spent blocked are not the command's time.
    let usec: u64 = blpop
        .split(',')
        .find_map(|f| f.strip_prefix("usec="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(usec < 200_000, "{blpop}");
    assert_eq!(
        field(&stats, "errorstat_UNBLOCKED").as_deref(),
        Some("count=1")
    );
}

#[test]
fn client_list_has_redis_fields_in_order() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let names = |line: &str| -> Vec<String> {
        line.split(' ')
            .map(|f| f.split_once('=').map_or(f, |(n, _)| n).to_string())
            .collect()
    };
    for request in [&["CLIENT", "LIST"][..], &["CLIENT", "INFO"]] {
        let mut mine = redis(server.local_addr());
        let mut theirs = redis(real.addr);
        let a: String = redis::cmd(request[0])
            .arg(&request[1..])
            .query(&mut mine)
            .unwrap();
        let b: String = redis::cmd(request[0])
            .arg(&request[1..])
            .query(&mut theirs)
            .unwrap();
        assert_eq!(names(a.trim_end()), names(b.trim_end()));
        // The asking client's own query buffer: 26 bytes of CLIENT LIST.
        assert!(a.contains(" qbuf=26 qbuf-free=20448 argv-mem=10 "), "{a}");
        assert!(a.contains(" flags=N ") && a.contains(" multi=-1 "), "{a}");
    }
    same_as_redis(
        &[],
        &[
            cmd(&["CLIENT", "LIST", "TYPE", "foo"]),
            cmd(&["CLIENT", "LIST", "ID"]),
            cmd(&["CLIENT", "LIST", "ID", "abc"]),
            cmd(&["CLIENT", "LIST", "ID", "0"]),
            cmd(&["CLIENT", "LIST", "foo", "bar"]),
            cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]),
        ],
    );
}

#[test]
fn config_set_several_get_several_and_hidden() {
    same_as_redis(
        &[],
        &[
            cmd(&[
                "CONFIG",
                "SET",
                "maxmemory",
                "10000001",
                "maxmemory",
                "10000002",
            ]),
            cmd(&["CONFIG", "SET", "daemonize", "yes"]),
            cmd(&[
                "CONFIG",
                "SET",
                "slowlog-max-len",
                "5",
                "latency-tracking",
                "maybe",
            ]),
            cmd(&["CONFIG", "GET", "slowlog-max-len"]),
            cmd(&["CONFIG", "SET", "slowlog-max-len", "5", "hz", "20"]),
            cmd(&["CONFIG", "GET", "slowlog-max-len", "slowlog-max-*"]),
            cmd(&["CONFIG", "GET", "key-load-delay"]),
            cmd(&["CONFIG", "GET", "watchdog-period", "watchdog-period"]),
            cmd(&["CONFIG", "GET", "key-load-*"]),
            cmd(&["CONFIG", "GET", "use-exit-on-panic"]),
            cmd(&["CONFIG", "SET", "slowlog-max-len", "-1"]),
            cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "abc"]),
            cmd(&["CONFIG", "SET", "latency-monitor-threshold", "-1"]),
            cmd(&["CONFIG", "SET", "latency-tracking", "maybe"]),
        ],
    );
}

#[test]
fn pause_and_wait_errors_match_redis() {
    same_as_redis(
        &[],
        &[
            cmd(&["CLIENT", "PAUSE", "abc"]),
            cmd(&["CLIENT", "PAUSE", "-1"]),
            cmd(&["CLIENT", "PAUSE", "10", "NOPE"]),
            cmd(&["CLIENT", "PAUSE", "10", "WRITE", "x"]),
            cmd(&["CLIENT", "PAUSE"]),
            cmd(&["CLIENT", "UNPAUSE", "x"]),
            cmd(&["CLIENT", "UNPAUSE"]),
            cmd(&["WAIT", "0", "0"]),
            cmd(&["WAIT", "x", "0"]),
            cmd(&["WAIT", "0", "x"]),
            cmd(&["WAIT", "0", "-1"]),
            cmd(&["WAIT", "1", "10"]),
            cmd(&["WAIT", "0"]),
        ],
    );
}

#[test]
fn pause_write_holds_writes_until_unpause_and_lets_reads_through() {
    let server = start();
    let mut admin = redis(server.local_addr());
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v0")
        .query(&mut admin)
        .unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg("100000")
        .arg("WRITE")
        .query(&mut admin)
        .unwrap();
    // Reads, PING and INFO pass.
    let mut reader = raw(server.local_addr());
    assert_reply(&mut reader, &cmd(&["GET", "k"]), b"$2\r\nv0\r\n");
    assert_reply(&mut reader, &cmd(&["PING"]), b"+PONG\r\n");
    // A write, PUBLISH and a script wait, and count as blocked clients.
    let mut writer = raw(server.local_addr());
    writer.write_all(&cmd(&["SET", "k", "v1"])).unwrap();
    let mut publisher = raw(server.local_addr());
    publisher
        .write_all(&cmd(&["PUBLISH", "ch", "msg"]))
        .unwrap();
    // A syntax error is answered at once.
    assert_reply(
        &mut reader,
        &cmd(&["SET", "k"]),
        b"-ERR wrong number of arguments for 'set' command\r\n",
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let clients = info(&mut admin, &["clients"]);
        if field(&clients, "blocked_clients").as_deref() == Some("2") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{clients}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let value: String = redis::cmd("GET").arg("k").query(&mut admin).unwrap();
    assert_eq!(value, "v0");
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query(&mut admin)
        .unwrap();
    assert_eq!(read_n(&mut writer, 5), b"+OK\r\n");
    assert_eq!(read_n(&mut publisher, 4), b":0\r\n");
    let value: String = redis::cmd("GET").arg("k").query(&mut admin).unwrap();
    assert_eq!(value, "v1");
}

#[test]
fn pause_all_ends_at_its_deadline() {
    let server = start();
    let mut admin = redis(server.local_addr());
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg("300")
        .query(&mut admin)
        .unwrap();
    let mut reader = raw(server.local_addr());
    // Held back, then answered once the pause is over (within the socket's
    // 5 s read timeout).
    assert_reply(&mut reader, &cmd(&["PING"]), b"+PONG\r\n");
    let mut next = raw(server.local_addr());
    assert_reply(&mut next, &cmd(&["SET", "a", "b"]), b"+OK\r\n");
}

#[test]
fn write_transactions_wait_read_ones_do_not() {
    let server = start();
    let mut admin = redis(server.local_addr());
    let mut reader = raw(server.local_addr());
    let mut writer = raw(server.local_addr());
    assert_reply(&mut writer, &cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(&mut writer, &cmd(&["SET", "x", "1"]), b"+QUEUED\r\n");
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg("100000")
        .arg("WRITE")
        .query(&mut admin)
        .unwrap();
    assert_reply(&mut reader, &cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(&mut reader, &cmd(&["GET", "x"]), b"+QUEUED\r\n");
    assert_reply(&mut reader, &cmd(&["EXEC"]), b"*1\r\n$-1\r\n");
    writer.write_all(&cmd(&["EXEC"])).unwrap();
    writer
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert_eq!(read_n(&mut writer, 1), b"", "EXEC of a write must wait");
    writer
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query(&mut admin)
        .unwrap();
    assert_eq!(read_n(&mut writer, 9), b"*1\r\n+OK\r\n");
}

#[test]
fn a_blocked_client_shows_flag_b() {
    let server = start();
    let mut con = redis(server.local_addr());
    let mut blocked = raw(server.local_addr());
    blocked.write_all(&cmd(&["BLPOP", "nothing", "0"])).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
        if list.contains(" flags=b ") && list.contains(" cmd=blpop ") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{list}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_client_in_multi_shows_flag_x_and_its_queue() {
    let server = start();
    let mut con = redis(server.local_addr());
    let mut queuing = raw(server.local_addr());
    assert_reply(&mut queuing, &cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(&mut queuing, &cmd(&["SET", "a", "b"]), b"+QUEUED\r\n");
    assert_reply(&mut queuing, &cmd(&["GET", "a"]), b"+QUEUED\r\n");
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    assert!(
        list.contains(" flags=x db=0 sub=0 psub=0 ssub=0 multi=2 "),
        "{list}"
    );
    assert_reply(&mut queuing, &cmd(&["DISCARD"]), b"+OK\r\n");
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    assert!(!list.contains("flags=x"), "{list}");
}

#[test]
fn replaying_the_aof_leaves_no_statistics() {
    let dir = common::process::temp_dir("introspection", "aof-replay");
    let sub = dir.join("appendonlydir");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    std::fs::write(
        sub.join("appendonly.aof.1.incr.aof"),
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
    )
    .unwrap();
    let server = common::process::respd(
        &dir,
        &[
            "--appendonly",
            "yes",
            "--save",
            "",
            "--slowlog-log-slower-than",
            "0",
        ],
    );
    let mut con = server.conn();
    let value: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(value, "v");
    let stats = info(&mut con, &["commandstats"]);
    assert_eq!(field(&stats, "cmdstat_set"), None, "{stats}");
    assert_eq!(field(&stats, "cmdstat_select"), None, "{stats}");
    let logged: Vec<(i64, i64, i64, Vec<String>, String, String)> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg("-1")
        .query(&mut con)
        .unwrap();
    // What clients sent only (GET k, INFO, the harness's probes).
    assert!(logged
        .iter()
        .all(|entry| entry.3[0] != "SET" && entry.3[0] != "SELECT"));
    assert!(logged.iter().any(|entry| entry.3 == ["GET", "k"]));
}

/// Sends `request` on `stream` and reads one whole reply; returns it as the
/// bytes it came in.
fn reply_bytes(stream: &mut std::net::TcpStream, request: &[u8]) -> Vec<u8> {
    stream.write_all(request).unwrap();
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    let frame = respd::resp::read_frame(&mut reader)
        .unwrap()
        .expect("a reply");
    frame.to_bytes()
}

#[test]
fn every_info_field_of_redis_is_here_in_its_order() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let mut mine = redis(server.local_addr());
    let mut theirs = redis(real.addr);
    // The main thread's CPU: respd runs each client's commands on a
    // thread of its own, and has no main thread to report.
    let not_here = ["used_cpu_sys_main_thread", "used_cpu_user_main_thread"];
    let names = |info: &str| -> Vec<String> {
        info.lines()
            .filter_map(|l| l.split_once(':').map(|(name, _)| name.to_string()))
            .collect()
    };
    for section in [
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
    ] {
        let ours = names(&info(&mut mine, &[section]));
        let redis_names: Vec<String> = names(&info(&mut theirs, &[section]))
            .into_iter()
            .filter(|name| !not_here.contains(&name.as_str()))
            .collect();
        let ours_of_redis: Vec<String> = ours
            .iter()
            .filter(|name| redis_names.contains(name))
            .cloned()
            .collect();
        assert_eq!(ours_of_redis, redis_names, "INFO {section}");
        let extra: Vec<&String> = ours.iter().filter(|n| !redis_names.contains(n)).collect();
        let allowed = ["respd_version"];
        assert!(
            extra.iter().all(|n| allowed.contains(&n.as_str())),
            "INFO {section} has fields Redis lacks: {extra:?}"
        );
    }
}

/// INFO stats' network counters move by each request's bytes, one read and
/// one write apiece, and CONFIG RESETSTAT zeroes them: the same figures on
/// respd and Redis.
#[test]
fn network_counters_move_as_redis_does() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let counters = [
        "total_net_input_bytes",
        "total_net_output_bytes",
        "total_reads_processed",
        "total_writes_processed",
    ];
    let figures = |reply: &[u8]| -> Vec<i64> {
        let text = String::from_utf8_lossy(reply);
        counters
            .iter()
            .map(|name| field(&text, name).expect(name).parse().unwrap())
            .collect()
    };
    let mut checked = 0;
    for addr in [server.local_addr(), real.addr] {
        let mut stream = raw(addr);
        let info_request = cmd(&["INFO", "stats"]);
        let ping = cmd(&["PING"]);
        let first = reply_bytes(&mut stream, &info_request);
        assert_eq!(reply_bytes(&mut stream, &ping), b"+PONG\r\n");
        let second = reply_bytes(&mut stream, &info_request);
        let (before, after) = (figures(&first), figures(&second));
        let moved: Vec<i64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        assert_eq!(
            moved,
            [
                (ping.len() + info_request.len()) as i64,
                (first.len() + b"+PONG\r\n".len()) as i64,
                2,
                2
            ],
            "{addr}"
        );
        // Reset: only the INFO request itself and RESETSTAT's +OK count.
        assert_eq!(
            reply_bytes(&mut stream, &cmd(&["CONFIG", "RESETSTAT"])),
            b"+OK\r\n"
        );
        let reset = figures(&reply_bytes(&mut stream, &info_request));
        assert_eq!(reset, [info_request.len() as i64, 5, 1, 1], "{addr}");
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn instantaneous_rates_follow_the_traffic() {
    let server = start();
    let mut con = redis(server.local_addr());
    let rates = |con: &mut redis::Connection| {
        let stats = info(con, &["stats"]);
        (
            field(&stats, "instantaneous_ops_per_sec").unwrap(),
            field(&stats, "instantaneous_input_kbps").unwrap(),
            field(&stats, "instantaneous_output_kbps").unwrap(),
        )
    };
    // 2,000 commands in well under the 1.6 s the rates average over.
    let mut pipe = redis::pipe();
    for _ in 0..2000 {
        pipe.cmd("SET").arg("key").arg("v".repeat(100)).ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (ops, input, output) = rates(&mut con);
        let ops: u64 = ops.parse().unwrap();
        let input: f64 = input.parse().unwrap();
        let output: f64 = output.parse().unwrap();
        if ops > 0 && input > 0.0 && output > 0.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rates stayed at {ops} ops/s, {input} and {output} kbps"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn active_expiry_reports_what_it_finds() {
    let server = start();
    let mut con = redis(server.local_addr());
    let mut pipe = redis::pipe();
    for i in 0..200 {
        pipe.cmd("SET")
            .arg(format!("k{i}"))
            .arg("v")
            .arg("PX")
            .arg(1)
            .ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    // The cycle finds them expired: the running share moves off zero.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stats = info(&mut con, &["stats"]);
        let stale: f64 = field(&stats, "expired_stale_perc")
            .unwrap()
            .parse()
            .unwrap();
        let expired: u64 = field(&stats, "expired_keys").unwrap().parse().unwrap();
        if stale > 0.0 && expired > 0 {
            assert!(stale <= 100.0, "{stats}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{stats}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Once all are gone, RESETSTAT starts the counts again.
    while redis::cmd("DBSIZE").query::<i64>(&mut con).unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "keys left");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    let stats = info(&mut con, &["stats"]);
    assert_eq!(field(&stats, "expired_keys").as_deref(), Some("0"));
}

#[test]
fn config_get_lists_every_parameter_of_redis() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let names = |addr| -> std::collections::BTreeSet<String> {
        let mut con = redis(addr);
        let pairs: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("*")
            .query(&mut con)
            .unwrap();
        pairs.into_iter().step_by(2).collect()
    };
    let ours = names(server.local_addr());
    // Debian builds Redis with TLS; respd is a Redis built without it.
    let theirs: std::collections::BTreeSet<String> = names(real.addr)
        .into_iter()
        .filter(|name| !name.starts_with("tls-") || name == "tls-port")
        .collect();
    let missing: Vec<&String> = theirs.difference(&ours).collect();
    assert!(missing.is_empty(), "respd lacks {missing:?}");
    let extra: Vec<&String> = ours.difference(&theirs).collect();
    assert_eq!(extra, ["trace"], "only respd's own");
    // Two names, one setting, on both.
    for addr in [server.local_addr(), real.addr] {
        let mut con = redis(addr);
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("slave-priority")
            .arg("42")
            .query(&mut con)
            .unwrap();
        let pair: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("replica-priority")
            .query(&mut con)
            .unwrap();
        assert_eq!(pair, ["replica-priority", "42"], "{addr}");
    }
}
