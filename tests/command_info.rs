//! COMMAND as routers and redis-cli read it: COMMAND INFO, DOCS, COUNT,
//! LIST and GETKEYS / GETKEYSANDFLAGS compared with a real redis-server,
//! in RESP2 and RESP3, for every command in respd's table; and the
//! dispatch rows checked against the generated metadata.

mod common;

use respd::commands::{self, meta, Command};
use respd::resp::Frame;
use respd::Client;
use std::collections::BTreeSet;

use common::script::client;

fn ask(client: &mut Client, args: &[&[u8]]) -> Frame {
    client.command(args).expect("reply")
}

/// respd's top-level command names, sorted.
fn respd_commands() -> Vec<&'static str> {
    let mut names: Vec<&str> = commands::table().values().map(|c| c.name).collect();
    names.sort_unstable();
    names
}

/// A frame as short text, for failure messages.
fn show(frame: &Frame) -> String {
    match frame {
        Frame::Bulk(b) => format!("{:?}", String::from_utf8_lossy(b)),
        Frame::Simple(s) => format!("+{s}"),
        Frame::Error(e) => format!("-{e}"),
        Frame::Integer(i) => format!(":{i}"),
        Frame::Array(items) => {
            format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(" "))
        }
        Frame::Set(items) => format!(
            "~{{{}}}",
            items.iter().map(show).collect::<Vec<_>>().join(" ")
        ),
        Frame::Map(pairs) => format!(
            "%{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", show(k), show(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

fn bulk_text(frame: &Frame) -> String {
    match frame {
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Simple(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// The elements of an array or set.
fn items(frame: &Frame) -> &[Frame] {
    match frame {
        Frame::Array(items) | Frame::Set(items) => items,
        other => panic!("not a list: {other:?}"),
    }
}

/// COMMAND INFO's subcommand list (field 9) sorted by name and cut to the
/// names `keep` has (respd shows only its own subcommands; Redis's order
/// is its hash table's).
fn normalize_info(entry: &Frame, keep: Option<&BTreeSet<String>>) -> Frame {
    let Frame::Array(fields) = entry else {
        return entry.clone();
    };
    let mut fields = fields.clone();
    if let Some(Frame::Array(subs)) = fields.get(9) {
        let mut subs: Vec<Frame> = subs
            .iter()
            .filter(|s| keep.map_or(true, |k| k.contains(&bulk_text(&items(s)[0]))))
            .map(|s| normalize_info(s, None))
            .collect();
        subs.sort_by_key(|s| bulk_text(&items(s)[0]));
        fields[9] = Frame::Array(subs);
    }
    Frame::Array(fields)
}

/// The subcommand names in a COMMAND INFO entry.
fn info_subcommands(entry: &Frame) -> BTreeSet<String> {
    match entry {
        Frame::Array(fields) => match fields.get(9) {
            Some(Frame::Array(subs)) => subs.iter().map(|s| bulk_text(&items(s)[0])).collect(),
            _ => BTreeSet::new(),
        },
        _ => BTreeSet::new(),
    }
}

/// Key/value pairs of a map (RESP3) or flat array (RESP2).
fn pairs(frame: &Frame) -> Vec<(Frame, Frame)> {
    match frame {
        Frame::Map(pairs) => pairs.clone(),
        Frame::Array(flat) => flat
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect(),
        other => panic!("not a map: {other:?}"),
    }
}

fn rebuild(like: &Frame, pairs: Vec<(Frame, Frame)>) -> Frame {
    match like {
        Frame::Map(_) => Frame::Map(pairs),
        _ => Frame::Array(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()),
    }
}

/// One command's DOCS map with its `subcommands` map sorted by name and
/// cut to the names `keep` has.
fn normalize_docs(docs: &Frame, keep: Option<&BTreeSet<String>>) -> Frame {
    let fields = pairs(docs)
        .into_iter()
        .map(|(k, v)| {
            if bulk_text(&k) != "subcommands" {
                return (k, v);
            }
            let mut subs: Vec<(Frame, Frame)> = pairs(&v)
                .into_iter()
                .filter(|(name, _)| keep.map_or(true, |k| k.contains(&bulk_text(name))))
                .map(|(name, d)| (name, normalize_docs(&d, None)))
                .collect();
            subs.sort_by_key(|(name, _)| bulk_text(name));
            (k, rebuild(&v, subs))
        })
        .collect();
    rebuild(docs, fields)
}

/// Every dispatch row agrees with Redis 7.0's metadata: arity, the flags
/// respd knows, the legacy key range and the group. A row whose numbers
/// drift from Redis's would make COMMAND lie about what the server does.
#[test]
fn dispatch_rows_agree_with_the_metadata() {
    fn check(
        row: &Command,
        meta: Option<&meta::CommandMeta>,
        name: &str,
        problems: &mut Vec<String>,
    ) {
        let Some(meta) = meta else {
            problems.push(format!("{name}: not a Redis 7.0 command"));
            return;
        };
        if row.arity != meta.arity {
            problems.push(format!(
                "{name}: arity {} vs Redis {}",
                row.arity, meta.arity
            ));
        }
        for &bit in commands::ROW_FLAGS {
            let flag = meta::flag_names(bit, meta::cmd::NAMES)
                .next()
                .unwrap_or("?");
            let redis_has = meta.flags & bit != 0;
            if (row.flags & bit != 0) != redis_has {
                problems.push(format!("{name}: flag {flag} (Redis has it: {redis_has})"));
            }
        }
        let keys = (row.keys.first, row.keys.last, row.keys.step);
        if keys != meta.range {
            problems.push(format!("{name}: keys {keys:?} vs Redis {:?}", meta.range));
        }
        let group = meta.docs().group;
        if row.group != group {
            problems.push(format!("{name}: group {} vs Redis {group}", row.group));
        }
        for sub in row.subcommands {
            let sub_meta = meta.subcommand(sub.name.as_bytes());
            check(sub, sub_meta, &format!("{name}|{}", sub.name), problems);
        }
    }
    let mut problems = Vec::new();
    for name in respd_commands() {
        let row = commands::lookup(name.as_bytes()).expect("row");
        check(row, meta::command(name.as_bytes()), name, &mut problems);
    }
    assert!(
        problems.is_empty(),
        "rows differing from Redis 7.0:\n{}",
        problems.join("\n")
    );
}

/// The generated table has what Redis 7.0.15 has: 240 commands.
#[test]
fn metadata_covers_redis_7_0() {
    assert_eq!(meta::all().len(), 240);
    let sorted = meta::all().windows(2).all(|w| w[0].name < w[1].name);
    assert!(sorted, "the table must stay sorted for its binary search");
    assert_eq!(meta::categories(b"GET"), ["@read", "@string", "@fast"]);
    assert_eq!(
        meta::categories(b"client|kill"),
        ["@admin", "@slow", "@dangerous", "@connection"]
    );
    assert!(meta::categories(b"nosuch").is_empty());
    let names: Vec<&str> = meta::category_names().collect();
    assert_eq!(names.len(), 21);
    assert_eq!((names[0], names[20]), ("keyspace", "scripting"));
}

#[test]
fn command_count_is_respd_table() {
    let server = common::start();
    let mut respd = client(server.local_addr(), 2);
    let count = ask(&mut respd, &[b"COMMAND", b"COUNT"]);
    assert_eq!(count, Frame::Integer(commands::table().len() as i64));
    let all = ask(&mut respd, &[b"COMMAND"]);
    assert_eq!(items(&all).len(), commands::table().len());
    let docs = ask(&mut respd, &[b"COMMAND", b"DOCS"]);
    assert_eq!(pairs(&docs).len(), commands::table().len());
    let missing: Vec<&str> = meta::all()
        .iter()
        .map(|m| m.name)
        .filter(|name| commands::lookup(name.as_bytes()).is_none())
        .collect();
    eprintln!(
        "respd has {} of Redis 7.0's {} commands; missing: {}",
        commands::table().len(),
        meta::all().len(),
        missing.join(" ")
    );
}

fn compare_info(protocol: u8) {
    let Some(redis) = common::RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut ours = client(server.local_addr(), protocol);
    let mut theirs = client(redis.addr, protocol);
    let mut differences = Vec::new();
    let mut missing_subcommands = Vec::new();
    for name in respd_commands() {
        let ask_both = |ours: &mut Client, theirs: &mut Client| {
            let args: [&[u8]; 3] = [b"COMMAND", b"INFO", name.as_bytes()];
            (ask(ours, &args), ask(theirs, &args))
        };
        let (mine, real) = ask_both(&mut ours, &mut theirs);
        let (mine, real) = (&items(&mine)[0], &items(&real)[0]);
        let have = info_subcommands(mine);
        missing_subcommands.extend(
            info_subcommands(real)
                .difference(&have)
                .map(|s| s.to_string()),
        );
        let (mine, real) = (
            normalize_info(mine, None),
            normalize_info(real, Some(&have)),
        );
        if mine != real {
            differences.push(format!(
                "{name}:\n  respd {}\n  redis {}",
                show(&mine),
                show(&real)
            ));
        }
    }
    // COMMAND with no argument lists the same entries.
    let all = ask(&mut ours, &[b"COMMAND"]);
    assert_eq!(items(&all).len(), respd_commands().len());
    eprintln!("subcommands respd lacks: {}", missing_subcommands.join(" "));
    assert!(
        differences.is_empty(),
        "COMMAND INFO differs:\n{}",
        differences.join("\n")
    );
}

#[test]
fn command_info_matches_redis_resp2() {
    compare_info(2);
}

#[test]
fn command_info_matches_redis_resp3() {
    compare_info(3);
}

fn compare_docs(protocol: u8) {
    let Some(redis) = common::RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut ours = client(server.local_addr(), protocol);
    let mut theirs = client(redis.addr, protocol);
    let mut differences = Vec::new();
    for name in respd_commands() {
        let args: [&[u8]; 3] = [b"COMMAND", b"DOCS", name.as_bytes()];
        let (mine, real) = (ask(&mut ours, &args), ask(&mut theirs, &args));
        let (mine, real) = (pairs(&mine), pairs(&real));
        assert_eq!(mine.len(), 1, "{name}: {mine:?}");
        assert_eq!(mine[0].0, real[0].0);
        let subs: BTreeSet<String> = commands::lookup(name.as_bytes())
            .expect("row")
            .subcommands
            .iter()
            .map(|s| format!("{name}|{}", s.name))
            .collect();
        let mine = normalize_docs(&mine[0].1, None);
        let real = normalize_docs(&real[0].1, Some(&subs));
        if mine != real {
            differences.push(format!(
                "{name}:\n  respd {}\n  redis {}",
                show(&mine),
                show(&real)
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "COMMAND DOCS differs:\n{}",
        differences.join("\n")
    );
    // Unknown names are left out; subcommands are found by full name.
    let args: [&[u8]; 5] = [b"COMMAND", b"DOCS", b"nosuch", b"GET", b"config|GET"];
    let (mine, real) = (ask(&mut ours, &args), ask(&mut theirs, &args));
    assert_eq!(mine, real);
}

#[test]
fn command_docs_matches_redis_resp2() {
    compare_docs(2);
}

#[test]
fn command_docs_matches_redis_resp3() {
    compare_docs(3);
}

/// COMMAND INFO's lookups by full name, unknown names and odd spellings.
#[test]
fn command_info_lookups_match_redis() {
    let Some(redis) = common::RealRedis::start() else {
        return;
    };
    let server = common::start();
    for protocol in [2, 3] {
        let mut ours = client(server.local_addr(), protocol);
        let mut theirs = client(redis.addr, protocol);
        for names in [
            &[&b"nosuch"[..], b"get"][..],
            &[
                b"GeT",
                b"CONFIG|get",
                b"config|nosuch",
                b"get|x",
                b"config|get|x",
                b"",
            ],
            &[b"client|"],
        ] {
            let mut args: Vec<&[u8]> = vec![b"COMMAND", b"INFO"];
            args.extend_from_slice(names);
            assert_eq!(ask(&mut ours, &args), ask(&mut theirs, &args), "{names:?}");
        }
    }
}

/// Invocations whose keys only Redis's key specs and key finders can tell.
const GETKEYS_CASES: &[&[&str]] = &[
    &["GET", "k"],
    &["SET", "k", "v"],
    &["SET", "k", "v", "GET"],
    &["SET", "k", "v", "EX", "10", "get"],
    &["MSET", "a", "1", "b", "2"],
    &["MSETNX", "a", "1", "b", "2"],
    &["MGET", "a", "b", "c"],
    &["DEL", "a", "b"],
    &["SMOVE", "a", "b", "m"],
    &["RENAME", "a", "b"],
    &["COPY", "a", "b", "DB", "1"],
    &["LMOVE", "a", "b", "LEFT", "RIGHT"],
    &["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"],
    &["BLPOP", "a", "b", "0"],
    &["BZPOPMIN", "a", "b", "0"],
    &["EVAL", "return 1", "2", "a", "b", "c"],
    &["EVAL", "return 1", "0"],
    &["EVAL", "return 1", "3", "a"],
    &["EVAL", "return 1", "-1", "a"],
    &["EVAL", "return 1", "x", "a"],
    &["EVAL", "return 1", " 1", "a"],
    &["EVAL", "return 1", "+1", "a"],
    &["EVAL", "return 1", "1abc", "a"],
    &["EVAL", "return 1", "01", "a"],
    &["EVAL", "return 1", "4294967297", "a", "b"],
    &["EVAL", "return 1", "99999999999999999999", "a"],
    &["EVAL", "return 1", "-0", "a"],
    &["ZUNIONSTORE", "d", " 2", "a", "b"],
    &["ZUNION", "2", "a"],
    &["LMPOP", "0", "a", "LEFT"],
    &["XREAD", "STREAMS"],
    &["XREAD", "COUNT", "STREAMS", "a", "0"],
    &["XREAD", "GROUP", "STREAMS", "a", "0"],
    &["XREADGROUP", "STREAMS", "a", "0"],
    &["EVALSHA", "abc", "1", "a", "b"],
    &["EVAL_RO", "return 1", "1", "a"],
    &["FCALL", "f", "2", "a", "b", "c"],
    &["FCALL_RO", "f", "1", "a"],
    &["FCALL", "f", "0"],
    &["XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"],
    &["XREAD", "BLOCK", "0", "STREAMS", "a", "0"],
    &["XREAD", "STREAMS", "a", "b", "0"],
    &["XREAD", "STREAMS", "streams", "streams", "0", "0"],
    &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "0"],
    &[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "COUNT",
        "1",
        "NOACK",
        "STREAMS",
        "a",
        "b",
        ">",
        ">",
    ],
    &[
        "XREADGROUP",
        "GROUP",
        "streams",
        "streams",
        "STREAMS",
        "streams",
        ">",
    ],
    &["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
    &["ZUNIONSTORE", "d", "3", "a", "b"],
    &["ZUNIONSTORE", "d", "0", "a"],
    &["ZINTERSTORE", "d", "1", "a"],
    &["ZDIFFSTORE", "d", "2", "a", "b"],
    &["ZUNION", "2", "a", "b", "WITHSCORES"],
    &["ZINTER", "1", "a"],
    &["ZDIFF", "2", "a"],
    &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"],
    &["SINTERCARD", "2", "a", "b"],
    &["SINTERCARD", "5", "a", "b"],
    &["LMPOP", "2", "a", "b", "LEFT"],
    &["LMPOP", "3", "a", "b", "LEFT"],
    &["BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "2"],
    &["ZMPOP", "1", "a", "MIN"],
    &["BZMPOP", "1.5", "2", "a", "b", "MAX"],
    &["MIGRATE", "h", "6379", "k", "0", "5000"],
    &["MIGRATE", "h", "6379", "", "0", "5000", "KEYS", "a", "b"],
    &[
        "MIGRATE", "h", "6379", "", "0", "5000", "COPY", "REPLACE", "AUTH", "pw", "KEYS", "a",
    ],
    &[
        "MIGRATE", "h", "6379", "", "0", "5000", "AUTH2", "u", "keys", "KEYS", "a",
    ],
    &["MIGRATE", "h", "6379", "k", "0", "5000", "KEYS", "a", "b"],
    &["SORT", "k"],
    &["SORT", "k", "BY", "w_*", "GET", "#", "STORE", "d"],
    &["SORT", "k", "LIMIT", "0", "1", "STORE", "d1", "STORE", "d2"],
    &["SORT", "k", "GET", "store", "STORE"],
    &["SORT_RO", "k", "BY", "x"],
    &["GEORADIUS", "k", "0", "0", "1", "km", "STORE", "d"],
    &[
        "GEORADIUS",
        "k",
        "0",
        "0",
        "1",
        "km",
        "STOREDIST",
        "d",
        "STORE",
        "e",
    ],
    &["GEORADIUSBYMEMBER", "k", "m", "1", "km", "STORE", "d"],
    &["GEORADIUS_RO", "k", "0", "0", "1", "km"],
    &[
        "GEOSEARCHSTORE",
        "d",
        "s",
        "FROMMEMBER",
        "m",
        "BYRADIUS",
        "1",
        "km",
    ],
    &["BITFIELD", "k", "GET", "u8", "0"],
    &["BITFIELD", "k", "SET", "u8", "0", "1"],
    &["BITFIELD", "k", "GET", "u8"],
    &["BITFIELD_RO", "k", "GET", "u8", "0"],
    &["BITOP", "AND", "d", "a", "b"],
    &["PFCOUNT", "a", "b"],
    &["PFMERGE", "d", "a"],
    &["OBJECT", "ENCODING", "k"],
    &["MEMORY", "USAGE", "k"],
    &["XINFO", "STREAM", "s"],
    &["XGROUP", "CREATE", "s", "g", "$"],
    &["LCS", "a", "b"],
    &["WATCH", "a", "b"],
    &["EXISTS", "a", "a"],
    &["RESTORE", "k", "0", "x"],
    &["DUMP", "k"],
    &["LPOS", "k", "e"],
    &["GETEX", "k"],
    &["SINTERSTORE", "d", "a", "b"],
    &["SUBSCRIBE", "c"],
    &["PUBLISH", "c", "m"],
    &["PING"],
    &["CLIENT", "KILL", "x"],
    &["CONFIG", "GET", "x"],
    &["CONFIG"],
    &["CONFIG", "NOSUCH"],
    &["NOSUCH", "a"],
    &["GET"],
    &["GET", "a", "b"],
    &["SET", "k"],
    &["EVAL", "x"],
];

/// GETKEYS and GETKEYSANDFLAGS answer as Redis for each case whose
/// command respd has (a command respd lacks is "Invalid command" here,
/// and joins the comparison as soon as its row exists).
#[test]
fn getkeys_matches_redis() {
    let Some(redis) = common::RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut compared = 0;
    let mut differences = Vec::new();
    for protocol in [2, 3] {
        let mut ours = client(server.local_addr(), protocol);
        let mut theirs = client(redis.addr, protocol);
        for case in GETKEYS_CASES {
            let has_it = commands::lookup(case[0].as_bytes()).is_some();
            if !has_it && case[0] != "NOSUCH" {
                continue;
            }
            for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
                let mut args: Vec<&[u8]> = vec![b"COMMAND", sub.as_bytes()];
                args.extend(case.iter().map(|a| a.as_bytes()));
                let (mine, real) = (ask(&mut ours, &args), ask(&mut theirs, &args));
                compared += 1;
                if mine != real {
                    differences.push(format!(
                        "{sub} {case:?}:\n  respd {}\n  redis {}",
                        show(&mine),
                        show(&real)
                    ));
                }
            }
        }
    }
    assert!(compared > 100, "only {compared} cases compared");
    assert!(
        differences.is_empty(),
        "GETKEYS differs:\n{}",
        differences.join("\n")
    );
    // Too few arguments for COMMAND GETKEYS itself.
    let mut ours = client(server.local_addr(), 2);
    let mut theirs = client(redis.addr, 2);
    let args: [&[u8]; 2] = [b"COMMAND", b"GETKEYS"];
    assert_eq!(ask(&mut ours, &args), ask(&mut theirs, &args));
}

/// The key finding of every case, for commands respd lacks too, answers
/// as Redis's COMMAND GETKEYSANDFLAGS: ready for the rows to come.
#[test]
fn key_finding_of_every_case_matches_redis() {
    let Some(redis) = common::RealRedis::start() else {
        return;
    };
    let mut theirs = client(redis.addr, 2);
    let mut differences = Vec::new();
    for case in GETKEYS_CASES.iter().filter(|case| case.len() >= 2) {
        // (Shorter calls fail COMMAND GETKEYS's own arity first.)
        let call: Vec<Vec<u8>> = case.iter().map(|a| a.as_bytes().to_vec()).collect();
        let mine = match meta::resolve(&call) {
            None => Frame::Error("ERR Invalid command specified".into()),
            Some(m) => match meta::keys_of_call(m, &call) {
                Err(error) => Frame::Error(error.into()),
                Ok(keys) => Frame::Array(
                    keys.iter()
                        .map(|k| {
                            let flags = meta::flag_names(k.flags, meta::key::NAMES)
                                .map(|f| Frame::Simple(f.into()))
                                .collect();
                            Frame::Array(vec![
                                Frame::Bulk(call[k.pos].clone()),
                                Frame::Array(flags),
                            ])
                        })
                        .collect(),
                ),
            },
        };
        let mut args: Vec<&[u8]> = vec![b"COMMAND", b"GETKEYSANDFLAGS"];
        args.extend(case.iter().map(|a| a.as_bytes()));
        let real = ask(&mut theirs, &args);
        if mine != real {
            differences.push(format!(
                "{case:?}:\n  ours  {}\n  redis {}",
                show(&mine),
                show(&real)
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// COMMAND LIST, whole and filtered, names what Redis names among the
/// commands respd has; bad filters fail as Redis's do.
#[test]
fn command_list_filters_match_redis() {
    let Some(redis) = common::RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut ours = client(server.local_addr(), 2);
    let mut theirs = client(redis.addr, 2);
    let names =
        |frame: Frame| -> BTreeSet<String> { items(&frame).iter().map(bulk_text).collect() };
    let everything = names(ask(&mut ours, &[b"COMMAND", b"LIST"]));
    let expected_len: usize = commands::table()
        .values()
        .map(|c| 1 + c.subcommands.len())
        .sum::<usize>();
    assert_eq!(everything.len(), expected_len);
    let redis_all = names(ask(&mut theirs, &[b"COMMAND", b"LIST"]));
    let extra: Vec<&String> = everything.difference(&redis_all).collect();
    assert!(extra.is_empty(), "not Redis commands: {extra:?}");
    let filters: &[&[&[u8]]] = &[
        &[b"FILTERBY", b"ACLCAT", b"read"],
        &[b"FILTERBY", b"aclcat", b"WRITE"],
        &[b"FILTERBY", b"ACLCAT", b"dangerous"],
        &[b"FILTERBY", b"ACLCAT", b"slow"],
        &[b"FILTERBY", b"ACLCAT", b"keyspace"],
        &[b"FILTERBY", b"ACLCAT", b"scripting"],
        &[b"FILTERBY", b"ACLCAT", b"nosuch"],
        &[b"FILTERBY", b"PATTERN", b"z*"],
        &[b"FILTERBY", b"PATTERN", b"client|*"],
        &[b"FILTERBY", b"PATTERN", b"*|*"],
        &[b"FILTERBY", b"MODULE", b"x"],
    ];
    for filter in filters {
        let mut args: Vec<&[u8]> = vec![b"COMMAND", b"LIST"];
        args.extend_from_slice(filter);
        let mine = names(ask(&mut ours, &args));
        let real: BTreeSet<String> = names(ask(&mut theirs, &args))
            .intersection(&everything)
            .cloned()
            .collect();
        assert_eq!(mine, real, "{filter:?}");
    }
    for bad in [
        &[&b"FILTERBY"[..], b"ACLCAT"][..],
        &[b"FILTERBY", b"NOSUCH", b"x"],
        &[b"FILTERBY", b"ACLCAT", b"read", b"extra"],
        &[b"NOSUCH"],
    ] {
        let mut args: Vec<&[u8]> = vec![b"COMMAND", b"LIST"];
        args.extend_from_slice(bad);
        assert_eq!(ask(&mut ours, &args), ask(&mut theirs, &args), "{bad:?}");
    }
}

/// COMMAND HELP and the arity errors of COMMAND's subcommands.
#[test]
fn command_help_and_arity_match_redis() {
    let Some(redis) = common::RealRedis::start() else {
        return;
    };
    let server = common::start();
    let mut ours = client(server.local_addr(), 2);
    let mut theirs = client(redis.addr, 2);
    for args in [
        &[&b"COMMAND"[..], b"HELP"][..],
        &[b"COMMAND", b"COUNT", b"x"],
        &[b"COMMAND", b"NOSUCH"],
        &[b"COMMAND", b"GETKEYSANDFLAGS"],
        &[b"COMMAND", b"GETKEYSANDFLAGS", b"GET"],
    ] {
        assert_eq!(ask(&mut ours, args), ask(&mut theirs, args), "{args:?}");
    }
}

/// The metadata of every Redis 7.0 command, those respd lacks included,
/// reads as Redis's own COMMAND INFO and COMMAND DOCS: a command gets
/// the right entry the moment its row joins the table.
#[test]
fn metadata_of_every_redis_command_matches_redis() {
    let Some(redis) = common::RealRedis::start() else {
        return;
    };
    let mut differences = Vec::new();
    for resp3 in [false, true] {
        let mut theirs = client(redis.addr, if resp3 { 3 } else { 2 });
        let decode = |bytes: Vec<u8>| {
            respd::resp::read_frame(&mut &bytes[..])
                .expect("frame")
                .expect("complete")
        };
        for m in meta::all() {
            let subs: Vec<&meta::CommandMeta> = m.subcommands.iter().collect();
            let info = decode(respd::resp::Reply::encoded(resp3, |out| {
                m.write_info(out, m.name, &subs)
            }));
            let real = ask(&mut theirs, &[b"COMMAND", b"INFO", m.name.as_bytes()]);
            let (mine, real) = (
                normalize_info(&info, None),
                normalize_info(&items(&real)[0], None),
            );
            if mine != real {
                differences.push(format!(
                    "INFO {}:\n  ours  {}\n  redis {}",
                    m.name,
                    show(&mine),
                    show(&real)
                ));
            }
            let docs = decode(respd::resp::Reply::encoded(resp3, |out| {
                m.write_docs(out, m.name, &subs)
            }));
            let real = ask(&mut theirs, &[b"COMMAND", b"DOCS", m.name.as_bytes()]);
            let (mine, real) = (
                normalize_docs(&docs, None),
                normalize_docs(&pairs(&real)[0].1, None),
            );
            if mine != real {
                differences.push(format!(
                    "DOCS {}:\n  ours  {}\n  redis {}",
                    m.name,
                    show(&mine),
                    show(&real)
                ));
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// `meta/table.rs` is what the generator writes from Redis 7.0.15's JSON
/// (where the Redis source and python3 are at hand): nobody edited it by
/// hand, and the generator still reproduces it.
#[test]
fn generated_table_is_up_to_date() {
    let source =
        std::env::var("REDIS_SRC").unwrap_or_else(|_| "/work/redis-src/redis-7.0.15".into());
    if !std::path::Path::new(&source)
        .join("src/commands/get.json")
        .exists()
    {
        eprintln!("no Redis source at {source}: skipping the generator check");
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let output = std::process::Command::new("python3")
        .arg(format!("{root}/scripts/gen-command-meta.py"))
        .arg(&source)
        .output();
    let Ok(output) = output else {
        eprintln!("no python3: skipping the generator check");
        return;
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let committed = std::fs::read(format!("{root}/src/commands/meta/table.rs")).expect("table");
    assert!(
        output.stdout == committed,
        "src/commands/meta/table.rs differs from scripts/gen-command-meta.py's output: regenerate it"
    );
}

/// Key finding never points past the arguments, even for calls shorter
/// than the command's arity (callers other than GETKEYS may not check it).
#[test]
fn key_positions_stay_inside_the_call() {
    for m in meta::all() {
        for sub in std::iter::once(m).chain(m.subcommands) {
            for argc in 0..8 {
                let call: Vec<Vec<u8>> = (0..argc).map(|i| format!("{i}").into_bytes()).collect();
                for key in sub.keys(&call) {
                    assert!(key.pos < call.len(), "{} with {argc} arguments", sub.name);
                }
            }
        }
    }
}
