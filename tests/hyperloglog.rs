//! HyperLogLog against a real redis-server 7.0: random PFADD streams up to
//! 100,000 elements per key compared by PFCOUNT and by the raw bytes (GET)
//! across the sparse to dense promotion, PFMERGE of sparse and dense
//! HLLs, multi-key PFCOUNT, PFDEBUG, corrupted and foreign strings, and
//! HLLs made by redis-server loaded into respd (DUMP/RESTORE and RDB).
//! Seeds are fixed, so a failure reproduces.

mod common;

use std::collections::BTreeMap;

use common::pipeline::{assert_same, command, run, tally, XorShift};
use common::RealRedis;

/// A random element: mostly unique bytes of random length (empty and
/// binary included), sometimes one of a few repeated ones (a no-op add).
fn element(rng: &mut XorShift) -> Vec<u8> {
    match rng.below(10) {
        0 => format!("dup:{}", rng.below(20)).into_bytes(),
        1 => rng.next().to_string().into_bytes(),
        _ => {
            let len = rng.below(25) as usize;
            (0..len).map(|_| rng.next() as u8).collect()
        }
    }
}

/// PFADDs to `key` until about `target` elements went in, with PFCOUNT
/// and GET along the way and at the end.
fn stream(rng: &mut XorShift, key: &str, target: usize, commands: &mut Vec<Vec<Vec<u8>>>) {
    let mut added = 0;
    let mut step = 0;
    let widest = if target > 10_000 { 24 } else { 4 };
    while added < target {
        let batch = 1 + rng.below(widest) as usize;
        let mut pfadd = command(&["PFADD", key]);
        pfadd.extend((0..batch).map(|_| element(rng)));
        commands.push(pfadd);
        added += batch;
        step += 1;
        if step % 40 == 0 {
            commands.push(command(&["PFCOUNT", key]));
        }
        if step % 150 == 0 {
            commands.push(command(&["GET", key]));
        }
    }
    for args in [
        &["GET", key][..],
        &["PFCOUNT", key],
        &["GET", key],
        &["PFDEBUG", "ENCODING", key],
    ] {
        commands.push(command(args));
    }
}

#[test]
fn random_pfadd_streams_match_redis_byte_for_byte() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut commands = Vec::new();
    let sizes = [0, 1, 7, 60, 300, 900, 1500, 2600, 6000, 30_000, 100_000];
    for (n, &size) in sizes.iter().enumerate() {
        stream(&mut rng, &format!("hll:{n}"), size, &mut commands);
    }
    let cases = assert_same(server.local_addr(), redis.addr, &commands, false);
    let mut counts = BTreeMap::new();
    tally(&commands, &mut counts);
    eprintln!("PFADD/PFCOUNT/GET streams: {cases} pipelined cases ({counts:?})");
}

#[test]
fn mixed_random_hll_operations_match_redis() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut rng = XorShift(0x7777_1234_abcd_0042);
    let keys = ["a", "b", "c", "d", "e", "f"];
    let mut commands = Vec::new();
    for _ in 0..6000 {
        let pick = |rng: &mut XorShift| {
            keys[rng.below(keys.len() as u64) as usize]
                .as_bytes()
                .to_vec()
        };
        let chosen = match rng.below(100) {
            0..=59 => {
                let mut pfadd = vec![b"PFADD".to_vec(), pick(&mut rng)];
                let widest = if rng.below(10) == 0 { 400 } else { 6 };
                let batch = rng.below(widest);
                pfadd.extend((0..batch).map(|_| element(&mut rng)));
                pfadd
            }
            60..=74 => vec![b"PFCOUNT".to_vec(), pick(&mut rng)],
            75..=82 => {
                let mut pfcount = vec![b"PFCOUNT".to_vec()];
                pfcount.extend((0..2 + rng.below(3)).map(|_| pick(&mut rng)));
                pfcount
            }
            83..=90 => {
                let mut pfmerge = vec![b"PFMERGE".to_vec()];
                pfmerge.extend((0..1 + rng.below(3)).map(|_| pick(&mut rng)));
                pfmerge
            }
            91..=95 => vec![b"GET".to_vec(), pick(&mut rng)],
            96 => vec![b"PFDEBUG".to_vec(), b"TODENSE".to_vec(), pick(&mut rng)],
            97 => vec![b"PFDEBUG".to_vec(), b"DECODE".to_vec(), pick(&mut rng)],
            98 => vec![b"DEL".to_vec(), pick(&mut rng)],
            _ => vec![b"PFDEBUG".to_vec(), b"ENCODING".to_vec(), pick(&mut rng)],
        };
        commands.push(chosen);
    }
    for key in keys {
        commands.push(command(&["GET", key]));
    }
    let mut cases = assert_same(server.local_addr(), redis.addr, &commands, false);
    let mut resp3 = vec![command(&["FLUSHALL"])];
    resp3.extend(commands.iter().cloned());
    cases += assert_same(server.local_addr(), redis.addr, &resp3, true);
    let mut counts = BTreeMap::new();
    tally(&commands, &mut counts);
    tally(&commands, &mut counts);
    eprintln!("mixed HLL operations: {cases} pipelined cases ({counts:?})");
}

#[test]
fn sparse_limit_moves_the_promotion_as_in_redis() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let mut commands = vec![command(&["CONFIG", "GET", "hll-sparse-max-bytes"])];
    for limit in ["0", "40", "500", "4000", "20000"] {
        commands.push(command(&["CONFIG", "SET", "hll-sparse-max-bytes", limit]));
        commands.push(command(&["CONFIG", "GET", "hll-sparse-max-bytes"]));
        for size in [10, 200, 3000] {
            stream(
                &mut rng,
                &format!("limit:{limit}:{size}"),
                size,
                &mut commands,
            );
        }
    }
    commands.push(command(&["CONFIG", "SET", "hll-sparse-max-bytes", "3000"]));
    let cases = assert_same(server.local_addr(), redis.addr, &commands, false);
    let mut counts = BTreeMap::new();
    tally(&commands, &mut counts);
    eprintln!("hll-sparse-max-bytes: {cases} pipelined cases ({counts:?})");
}

/// Keys in both encodings: small sparse, large sparse, dense.
fn fill(rng: &mut XorShift, commands: &mut Vec<Vec<Vec<u8>>>) {
    for (key, size) in [("small", 20), ("mid", 600), ("big", 8000), ("huge", 40_000)] {
        stream(rng, key, size, commands);
    }
}

#[test]
fn pfmerge_and_multi_key_pfcount_match_redis() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut rng = XorShift(0xdead_beef_cafe_f00d);
    let mut commands = Vec::new();
    fill(&mut rng, &mut commands);
    let merges: &[&[&str]] = &[
        &["PFMERGE", "m1", "small", "mid"],
        &["PFMERGE", "m2", "small", "big"],
        &["PFMERGE", "m3", "mid", "huge", "missing"],
        &["PFMERGE", "m4"],
        &["PFMERGE", "small2", "small"],
        &["PFMERGE", "mid", "small"],
        &["PFMERGE", "small", "big"],
        &["PFMERGE", "m1", "m1"],
    ];
    for merge in merges {
        commands.push(command(merge));
        commands.push(command(&["GET", merge[1]]));
        commands.push(command(&["PFCOUNT", merge[1]]));
        commands.push(command(&["GET", merge[1]]));
        commands.push(command(&["PFDEBUG", "ENCODING", merge[1]]));
    }
    for keys in [
        &["small", "mid"][..],
        &["small", "missing"],
        &["missing", "other"],
        &["big", "huge", "mid", "small"],
        &["m1", "m2", "m3", "m4"],
    ] {
        let mut pfcount = command(&["PFCOUNT"]);
        pfcount.extend(keys.iter().map(|k| k.as_bytes().to_vec()));
        commands.push(pfcount);
    }
    let mut cases = assert_same(server.local_addr(), redis.addr, &commands, false);
    // The same reads in RESP3 (the merges again are no-ops but rewrite).
    cases += assert_same(server.local_addr(), redis.addr, &commands, true);
    let mut counts = BTreeMap::new();
    tally(&commands, &mut counts);
    tally(&commands, &mut counts);
    eprintln!("PFMERGE / multi-key PFCOUNT: {cases} pipelined cases ({counts:?})");
}

#[test]
fn errors_debug_and_corrupt_hlls_match_redis() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let header: &[u8] = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80";
    let raw = |args: &[&[u8]]| args.iter().map(|a| a.to_vec()).collect::<Vec<_>>();
    let mut commands = vec![
        raw(&[b"SET", b"bad-xzero", &[header, b"\x7f\xfe"].concat()]),
        raw(&[b"SET", b"long", &[header, b"\x7f\xff\x00"].concat()]),
        raw(&[b"SET", b"cut", &[header, b"\x7f"].concat()]),
        raw(&[b"SET", b"bare", header]),
        raw(&[
            b"SET",
            b"dense-short",
            &[b"HYLL\x00".as_slice(), &[0; 11]].concat(),
        ]),
        raw(&[
            b"SET",
            b"encoding-2",
            &[b"HYLL\x02".as_slice(), &[0; 13]].concat(),
        ]),
        raw(&[b"SET", b"overflow", &[header, b"\x7f\xff\x80"].concat()]),
        command(&["SET", "plain", "hello world, not an hll"]),
        command(&["SET", "short", "HYLL"]),
        command(&["SET", "number", "12345678901234567"]),
        command(&["LPUSH", "list", "x"]),
    ];
    for key in [
        "bad-xzero",
        "long",
        "cut",
        "bare",
        "dense-short",
        "encoding-2",
        "overflow",
        "plain",
        "short",
        "number",
        "list",
    ] {
        for args in [
            &["PFCOUNT", key][..],
            &["PFCOUNT", key, "other"],
            &["PFMERGE", "dest", key],
            &["PFDEBUG", "ENCODING", key],
            &["PFDEBUG", "DECODE", key],
            &["PFDEBUG", "TODENSE", key],
            &["PFADD", key, "a", "b", "c"],
            &["GET", key],
        ] {
            commands.push(command(args));
        }
    }
    commands.extend(
        [
            &["PFADD", "h", "a", "b"][..],
            &["PFADD", "h", "a", "b"],
            &["PFADD", "h"],
            &["PFADD", "fresh"],
            &["GET", "fresh"],
            &["PFCOUNT", "fresh"],
            &["GET", "fresh"],
            &["PFDEBUG", "DECODE", "h"],
            &["PFDEBUG", "ENCODING", "h"],
            &["PFDEBUG", "GETREG", "h"],
            &["PFDEBUG", "ENCODING", "h"],
            &["PFDEBUG", "DECODE", "h"],
            &["PFDEBUG", "TODENSE", "h"],
            &["PFDEBUG", "getreg", "nokey"],
            &["PFDEBUG", "nope", "h"],
            &["PFDEBUG", "nope", "nokey"],
            &["PFDEBUG", "getreg", "h", "x"],
            &["PFDEBUG", "getreg"],
            &["PFADD"],
            &["PFCOUNT"],
            &["PFMERGE"],
            &["PFSELFTEST", "x"],
            &["MULTI"],
            &["PFADD", "tx", "1"],
            &["PFCOUNT", "tx"],
            &["EXEC"],
        ]
        .iter()
        .map(|args| command(args)),
    );
    let mut cases = assert_same(server.local_addr(), redis.addr, &commands, false);
    cases += assert_same(server.local_addr(), redis.addr, &commands, true);
    let mut counts = BTreeMap::new();
    tally(&commands, &mut counts);
    tally(&commands, &mut counts);
    eprintln!("HLL errors and PFDEBUG: {cases} pipelined cases ({counts:?})");
}

#[test]
fn hlls_made_by_redis_restore_and_count_the_same() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut rng = XorShift(0x0bad_5eed_0bad_5eed);
    let mut commands = Vec::new();
    fill(&mut rng, &mut commands);
    run(redis.addr, &commands, false);
    let keys = ["small", "mid", "big", "huge"];
    let dumps = run(
        redis.addr,
        &keys
            .iter()
            .map(|k| command(&["DUMP", k]))
            .collect::<Vec<_>>(),
        false,
    );
    let mut restores = Vec::new();
    for (key, dump) in keys.iter().zip(&dumps) {
        // The bulk's body: after "$len\r\n", before the final "\r\n".
        let start = dump.iter().position(|&b| b == b'\n').unwrap() + 1;
        let payload = dump[start..dump.len() - 2].to_vec();
        restores.push(vec![
            b"RESTORE".to_vec(),
            key.as_bytes().to_vec(),
            b"0".to_vec(),
            payload,
        ]);
    }
    let replies = run(server.local_addr(), &restores, false);
    assert!(replies.iter().all(|r| r == b"+OK\r\n"), "{replies:?}");
    let reads: Vec<_> = keys
        .iter()
        .flat_map(|k| {
            [
                command(&["GET", k]),
                command(&["PFCOUNT", k]),
                command(&["GET", k]),
            ]
        })
        .chain([command(&["PFCOUNT", "small", "mid", "big", "huge"])])
        .collect();
    assert_same(server.local_addr(), redis.addr, &reads, false);
}

#[test]
fn hlls_in_a_redis_rdb_load_into_respd() {
    use common::process::{installed, respd, spawn};
    if !installed("redis-server") {
        return;
    }
    let dir = common::process::temp_dir("hll", "rdb");
    let dir_text = dir.to_str().unwrap().to_string();
    let redis = spawn(
        "redis-server",
        &["--dir", &dir_text, "--dbfilename", "dump.rdb", "--save", ""],
    );
    let mut rng = XorShift(0x5151_5151_7777_0001);
    let mut commands = Vec::new();
    fill(&mut rng, &mut commands);
    commands.push(command(&["SAVE"]));
    run(redis.addr, &commands, false);
    let server = respd(&dir, &["--save", ""]);
    let reads: Vec<_> = ["small", "mid", "big", "huge"]
        .iter()
        .flat_map(|k| [command(&["GET", k]), command(&["PFCOUNT", k])])
        .collect();
    assert_same(server.addr, redis.addr, &reads, false);
}

#[test]
fn hll_keyspace_events_match_redis() {
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let server = common::start();
    let script: Vec<_> = [
        &["PFADD", "h", "a", "b"][..],
        &["PFADD", "h", "a"],
        &["PFADD", "fresh"],
        &["PFCOUNT", "h"],
        &["PFMERGE", "m", "h"],
        &["PFMERGE", "m", "h"],
        &["PFMERGE", "empty"],
        &["PFDEBUG", "TODENSE", "h"],
        &["SET", "s", "x"],
        &["PFADD", "s", "x"],
    ]
    .iter()
    .map(|args| command(args))
    .collect();
    let ours = common::pipeline::events(server.local_addr(), &script);
    let theirs = common::pipeline::events(redis.addr, &script);
    assert_eq!(
        ours.iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect::<Vec<_>>(),
        theirs
            .iter()
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect::<Vec<_>>()
    );
}

/// The commands logged to the append-only file's increment, with CRLF as
/// spaces.
fn aof_increment(dir: &std::path::Path) -> String {
    let manifest =
        std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    let incr = manifest
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_string();
    let bytes = std::fs::read(dir.join("appendonlydir").join(incr)).unwrap();
    String::from_utf8_lossy(&bytes).replace("\r\n", " ")
}

#[test]
fn the_append_only_file_logs_hll_and_geo_writes_as_redis() {
    use common::process::{installed, respd, spawn, temp_dir};
    if !installed("redis-server") {
        return;
    }
    let args = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
    ];
    let redis_dir = temp_dir("hll", "aof-redis");
    let mut redis_args = vec!["--dir", redis_dir.to_str().unwrap()];
    redis_args.extend(args);
    let redis = spawn("redis-server", &redis_args);
    let ours_dir = temp_dir("hll", "aof-respd");
    let server = respd(&ours_dir, &args);
    let script: Vec<_> = [
        // Logged only when a register changed; PFCOUNT is logged when it
        // caches a fresh count in the string.
        &["PFADD", "h", "a", "b"][..],
        &["PFADD", "h", "a"],
        &["PFCOUNT", "h"],
        &["PFCOUNT", "h"],
        &["PFMERGE", "m", "h"],
        &["PFDEBUG", "GETREG", "m"],
        &["PFDEBUG", "TODENSE", "h"],
        // GEOADD is logged as the ZADD it runs.
        &["GEOADD", "g", "CH", "13.361389", "38.115556", "Palermo"],
        &["GEOADD", "g", "NX", "15.087269", "37.502669", "Catania"],
        &["GEORADIUS_RO", "g", "15", "37", "200", "km"],
        &["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "near"],
        &[
            "GEOSEARCHSTORE",
            "far",
            "g",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "1",
            "m",
        ],
        &[
            "GEOSEARCHSTORE",
            "near2",
            "g",
            "FROMLONLAT",
            "15",
            "37",
            "BYRADIUS",
            "200",
            "km",
            "STOREDIST",
        ],
    ]
    .iter()
    .map(|args| command(args))
    .collect();
    let ours = run(server.addr, &script, false);
    let theirs = run(redis.addr, &script, false);
    assert_eq!(ours, theirs);
    assert_eq!(aof_increment(&ours_dir), aof_increment(&redis_dir));
}

#[test]
fn pfselftest_passes() {
    let server = common::start();
    let replies = run(server.local_addr(), &[command(&["PFSELFTEST"])], false);
    assert_eq!(replies, vec![b"+OK\r\n".to_vec()]);
}
