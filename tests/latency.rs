//! LATENCY and INFO latencystats over real TCP: the latency monitor's
//! events, the per-command histograms and their percentiles, with exact
//! bytes against a real Redis where the reply does not depend on timing.

mod common;

use std::time::Duration;

use common::*;
use redis::Value;

#[test]
fn replies_without_timing_match_redis() {
    same_as_redis(
        &[],
        &[
            cmd(&["LATENCY", "HELP"]),
            cmd(&["LATENCY", "HELP", "xxx"]),
            cmd(&["LATENCY", "LATEST"]),
            cmd(&["LATENCY", "HISTORY", "blabla"]),
            cmd(&["LATENCY", "RESET", "blabla"]),
            cmd(&["LATENCY", "RESET"]),
            cmd(&["LATENCY", "GRAPH", "blabla"]),
            cmd(&["LATENCY", "DOCTOR"]),
            cmd(&["LATENCY", "HISTOGRAM", "blabla"]),
            cmd(&["LATENCY", "NOPE"]),
            cmd(&["LATENCY"]),
        ],
    );
}

#[test]
fn doctor_without_spikes_matches_redis() {
    same_as_redis(
        &[&cmd(&["CONFIG", "SET", "latency-monitor-threshold", "200"])],
        &[cmd(&["LATENCY", "DOCTOR"])],
    );
}

#[test]
fn percentile_settings_and_their_errors_match_redis() {
    same_as_redis(
        &[],
        &[
            cmd(&["CONFIG", "GET", "latency-tracking-info-percentiles"]),
            cmd(&[
                "CONFIG",
                "SET",
                "latency-tracking-info-percentiles",
                "10.0 50.0 a",
            ]),
            cmd(&[
                "CONFIG",
                "SET",
                "latency-tracking-info-percentiles",
                "10.0 50.0 101.0",
            ]),
            cmd(&[
                "CONFIG",
                "SET",
                "latency-tracking-info-percentiles",
                "0.0 50.5 100.0",
            ]),
            cmd(&["CONFIG", "GET", "latency-tracking-info-percentiles"]),
            cmd(&["INFO", "errorstats"]),
        ],
    );
}

/// The `latency_percentiles_usec_<name>` line of INFO latencystats.
fn percentiles_line(con: &mut redis::Connection, name: &str) -> Option<String> {
    let info: String = redis::cmd("INFO").arg("latencystats").query(con).unwrap();
    let prefix = format!("latency_percentiles_usec_{name}:");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix).map(str::to_string))
}

#[test]
fn latencystats_follow_tracking_and_the_percentiles_asked() {
    let server = start();
    let mut con = redis(server.local_addr());
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("latency-tracking")
        .arg("no")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET").arg("a").arg("b").query(&mut con).unwrap();
    assert_eq!(percentiles_line(&mut con, "set"), None);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("latency-tracking")
        .arg("yes")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET").arg("a").arg("b").query(&mut con).unwrap();
    let line = percentiles_line(&mut con, "set").expect("a line for set");
    let fields: Vec<&str> = line.split(',').collect();
    assert_eq!(fields.len(), 3, "{line}");
    for (field, name) in fields.iter().zip(["p50=", "p99=", "p99.9="]) {
        let value = field.strip_prefix(name).expect(name);
        let (_, decimals) = value.split_once('.').expect("a decimal point");
        assert_eq!(decimals.len(), 3, "{line}");
    }
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("latency-tracking-info-percentiles")
        .arg("0.0 50.0 100.0")
        .query(&mut con)
        .unwrap();
    let _: Option<String> = redis::cmd("GET").arg("a").query(&mut con).unwrap();
    let line = percentiles_line(&mut con, "get").expect("a line for get");
    assert!(line.starts_with("p0=") && line.contains(",p50=") && line.contains(",p100="));
    // Subcommands are tracked under their full names.
    let _: i64 = redis::cmd("CLIENT").arg("ID").query(&mut con).unwrap();
    assert!(percentiles_line(&mut con, "client|id").is_some());
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    assert_eq!(percentiles_line(&mut con, "set"), None);
}

/// One command of LATENCY HISTOGRAM: name, calls, (usec, cumulative count).
type CommandHistogram = (String, i64, Vec<(i64, i64)>);

/// LATENCY HISTOGRAM, command by command.
fn histogram(con: &mut redis::Connection, names: &[&str]) -> Vec<CommandHistogram> {
    let reply: Value = redis::cmd("LATENCY")
        .arg("HISTOGRAM")
        .arg(names)
        .query(con)
        .unwrap();
    let Value::Array(items) = reply else {
        panic!("a RESP2 map is an array: {reply:?}");
    };
    items
        .chunks(2)
        .map(|pair| {
            let Value::BulkString(name) = &pair[0] else {
                panic!("a name");
            };
            let Value::Array(fields) = &pair[1] else {
                panic!("a map");
            };
            assert_eq!(fields[0], Value::BulkString(b"calls".to_vec()));
            assert_eq!(fields[2], Value::BulkString(b"histogram_usec".to_vec()));
            let Value::Int(calls) = fields[1] else {
                panic!("calls");
            };
            let Value::Array(buckets) = &fields[3] else {
                panic!("buckets");
            };
            let buckets = buckets
                .chunks(2)
                .map(|b| match (&b[0], &b[1]) {
                    (Value::Int(usec), Value::Int(count)) => (*usec, *count),
                    other => panic!("bucket {other:?}"),
                })
                .collect();
            (String::from_utf8_lossy(name).into_owned(), calls, buckets)
        })
        .collect()
}

#[test]
fn histogram_lists_commands_and_subcommands_with_cumulative_buckets() {
    let server = start();
    let mut con = redis(server.local_addr());
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    let all = histogram(&mut con, &[]);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].0, "config|resetstat");
    for _ in 0..2 {
        let _: () = redis::cmd("SET").arg("a").arg("b").query(&mut con).unwrap();
    }
    let _: i64 = redis::cmd("CLIENT").arg("ID").query(&mut con).unwrap();
    let _: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    let found = histogram(&mut con, &["blabla", "set", "client"]);
    let names: Vec<&str> = found.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["set", "client|id", "client|list"]);
    let (_, calls, buckets) = &found[0];
    assert_eq!(*calls, 2);
    // Bounds are 1, 2, 4, 8... microseconds (Redis prints the highest value
    // of each power-of-two bucket), counts cumulative, ending at the calls.
    assert_eq!(buckets.last().map(|b| b.1), Some(2));
    assert!(buckets
        .windows(2)
        .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
    let only = histogram(&mut con, &["client|id"]);
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].1, 1);
}

#[test]
fn slow_commands_become_latency_events() {
    let server = start_with("enable-debug-command yes\n");
    let mut con = redis(server.local_addr());
    // A threshold far above a loaded machine's stalls: only the sleep
    // crosses it.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("latency-monitor-threshold")
        .arg("300")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("DEBUG")
        .arg("SLEEP")
        .arg("0.5")
        .query(&mut con)
        .unwrap();
    let latest: Value = redis::cmd("LATENCY").arg("LATEST").query(&mut con).unwrap();
    let Value::Array(events) = latest else {
        panic!("an array");
    };
    assert_eq!(events.len(), 1);
    let Value::Array(event) = &events[0] else {
        panic!("an event");
    };
    assert_eq!(event[0], Value::BulkString(b"command".to_vec()));
    let (Value::Int(latest_ms), Value::Int(max_ms)) = (&event[2], &event[3]) else {
        panic!("latencies");
    };
    assert!(*latest_ms >= 500 && max_ms == latest_ms);
    let history: Vec<(i64, i64)> = redis::cmd("LATENCY")
        .arg("HISTORY")
        .arg("command")
        .query(&mut con)
        .unwrap();
    assert_eq!(history.len(), 1);
    let graph: String = redis::cmd("LATENCY")
        .arg("GRAPH")
        .arg("command")
        .query(&mut con)
        .unwrap();
    assert!(graph.starts_with(&format!(
        "command - high {latest_ms} ms, low {latest_ms} ms (all time high {latest_ms} ms)\n{}\n",
        "-".repeat(80)
    )));
    let doctor: String = redis::cmd("LATENCY").arg("DOCTOR").query(&mut con).unwrap();
    assert!(doctor.starts_with("Dave, I have observed latency spikes"));
    assert!(doctor.contains("1. command: 1 latency spikes"));
    let reset: i64 = redis::cmd("LATENCY").arg("RESET").query(&mut con).unwrap();
    assert_eq!(reset, 1);
    let latest: Vec<Value> = redis::cmd("LATENCY").arg("LATEST").query(&mut con).unwrap();
    assert!(latest.is_empty());
    std::thread::sleep(Duration::from_millis(1));
}
