//! SORT and SORT_RO compared with a real Redis (skipped when redis-server
//! is not installed): lists, sets and sorted sets, every option, weights
//! and values from other keys and hash fields, the errors, STORE and its
//! keyspace events, RESP2 and RESP3.

mod common;

use common::script::{compare_with_redis as compare, Compare};
use common::start;

use Compare::{Exact, Skip, Unordered};

/// Weights `w_<n>`, values `v_<n>` and hashes `h_<n>` for elements 1..=5.
const DATA: &[(Compare, &[&str])] = &[
    (Exact, &["RPUSH", "l", "3", "1", "5", "2", "4", "1"]),
    (Exact, &["SADD", "s", "3", "1", "5", "2", "4"]),
    (
        Exact,
        &["SADD", "words", "pear", "apple", "fig", "Banana", "kiwi"],
    ),
    (
        Exact,
        &[
            "ZADD", "z", "5", "a", "1", "b", "3", "c", "2", "d", "4", "e",
        ],
    ),
    (Exact, &["RPUSH", "names", "c", "a", "b", "e", "d"]),
    (
        Exact,
        &[
            "MSET", "w_1", "50", "w_2", "40", "w_3", "40", "w_4", "10", "w_5", "-1.5e1",
        ],
    ),
    (
        Exact,
        &[
            "MSET", "v_1", "one", "v_2", "two", "v_3", "three", "v_4", "four", "v_5", "five",
        ],
    ),
    (Exact, &["HSET", "h_1", "rank", "9", "name", "uno"]),
    (Exact, &["HSET", "h_2", "rank", "8", "name", "dos"]),
    (Exact, &["HSET", "h_3", "rank", "9"]),
    (
        Exact,
        &["MSET", "w_a", "3", "w_b", "2", "w_c", "2", "w_d", "1"],
    ),
    (Exact, &["MSET", "x_a", "zz", "x_b", "yy", "x_c", "yy"]),
    (
        Exact,
        &[
            "MSET", "y_a", "zz", "y_b", "yy", "y_c", "xa", "y_d", "ww", "y_e", "ab",
        ],
    ),
];

#[test]
fn sort_lists_sets_and_sorted_sets_with_every_option() {
    let script: &[(Compare, &[&str])] = &[
        (Exact, &["SORT", "l"]),
        (Exact, &["SORT", "l", "DESC"]),
        (Exact, &["SORT", "l", "ALPHA", "DESC"]),
        (Exact, &["SORT", "s"]),
        (Exact, &["SORT", "s", "DESC", "LIMIT", "1", "2"]),
        (Exact, &["SORT", "words", "ALPHA"]),
        (
            Exact,
            &["SORT", "words", "ALPHA", "DESC", "LIMIT", "0", "3"],
        ),
        (Exact, &["SORT", "z"]),
        (Exact, &["SORT", "z", "ALPHA"]),
        (Exact, &["SORT", "names", "ALPHA"]),
        // LIMIT's corners.
        (Exact, &["SORT", "l", "LIMIT", "0", "0"]),
        (Exact, &["SORT", "l", "LIMIT", "-5", "2"]),
        (Exact, &["SORT", "l", "LIMIT", "4", "-1"]),
        (Exact, &["SORT", "l", "LIMIT", "10", "3"]),
        (Exact, &["SORT", "l", "LIMIT", "5", "100"]),
        (Exact, &["SORT", "l", "LIMIT", "6", "1"]),
        (Exact, &["SORT", "missing"]),
        (Exact, &["SORT", "missing", "LIMIT", "0", "1", "GET", "#"]),
        // BY a pattern: numeric weights, ties by the element's bytes.
        (Exact, &["SORT", "s", "BY", "w_*"]),
        (Exact, &["SORT", "s", "BY", "w_*", "DESC"]),
        (Exact, &["SORT", "s", "BY", "w_*", "LIMIT", "1", "3"]),
        (Exact, &["SORT", "s", "BY", "h_*->rank"]),
        (Exact, &["SORT", "s", "BY", "h_*->rank", "DESC"]),
        (Exact, &["SORT", "z", "BY", "w_*"]),
        (Exact, &["SORT", "z", "BY", "w_*", "DESC"]),
        // (A sorted set's elements come in its hash table's order, so only
        // distinct weights give one answer.)
        (Exact, &["SORT", "z", "BY", "y_*", "ALPHA"]),
        (Exact, &["SORT", "z", "BY", "y_*", "ALPHA", "DESC"]),
        (Exact, &["SORT", "names", "BY", "w_*", "ALPHA"]),
        (Exact, &["SORT", "names", "BY", "x_*", "ALPHA"]),
        (Exact, &["SORT", "names", "BY", "x_*", "ALPHA", "DESC"]),
        // BY a constant: no sorting; a list and a sorted set keep their order.
        (Exact, &["SORT", "l", "BY", "nosort"]),
        (Exact, &["SORT", "l", "BY", "nosort", "DESC"]),
        (Exact, &["SORT", "l", "BY", "nosort", "LIMIT", "1", "3"]),
        (
            Exact,
            &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "3"],
        ),
        (Exact, &["SORT", "l", "BY", "nosort", "LIMIT", "9", "3"]),
        (Exact, &["SORT", "z", "BY", "nosort"]),
        (Exact, &["SORT", "z", "BY", "nosort", "DESC"]),
        (Exact, &["SORT", "z", "BY", "nosort", "LIMIT", "1", "2"]),
        (
            Exact,
            &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
        ),
        (Exact, &["SORT", "z", "BY", "nosort", "LIMIT", "3", "-1"]),
        (Exact, &["SORT", "s", "BY", "nosort"]),
        (Unordered, &["SORT", "words", "BY", "nosort"]),
        // GET: the element, string keys, hash fields; missing ones are nil.
        (Exact, &["SORT", "l", "GET", "#", "GET", "v_*"]),
        (Exact, &["SORT", "s", "GET", "h_*->name", "GET", "#"]),
        (Exact, &["SORT", "s", "GET", "nostar", "GET", "h_*->"]),
        (
            Exact,
            &["SORT", "s", "BY", "w_*", "GET", "v_*", "LIMIT", "0", "2"],
        ),
        (Exact, &["SORT", "s", "GET", "h_*->rank", "GET", "w_*->x"]),
        (Exact, &["SORT", "s", "BY", "nosort", "GET", "v_*"]),
        // Option words in any case, repeated, the last one winning.
        (
            Exact,
            &[
                "sort", "l", "desc", "asc", "limit", "0", "2", "limit", "1", "2",
            ],
        ),
        (Skip, &["HELLO", "3"]),
        (Exact, &["SORT", "s", "GET", "h_*->name"]),
        (Exact, &["SORT_RO", "s", "GET", "#", "GET", "missing_*"]),
        (Skip, &["HELLO", "2"]),
        // SORT_RO takes everything but STORE.
        (
            Exact,
            &["SORT_RO", "l", "BY", "w_*", "GET", "#", "LIMIT", "0", "3"],
        ),
        (Exact, &["SORT_RO", "l", "STORE", "dst"]),
    ];
    compare(&[DATA, script].concat());
}

#[test]
fn sort_weights_and_errors_as_redis_reads_them() {
    let script: &[(Compare, &[&str])] = &[
        (
            Exact,
            &[
                "RPUSH", "nums", "10", "9", "1e1", " 2", "0x10", "-inf", "", "3.0",
            ],
        ),
        (Exact, &["SORT", "nums"]),
        (Exact, &["SORT", "nums", "DESC"]),
        (Exact, &["RPUSH", "bad", "1", "abc", "2"]),
        (Exact, &["SORT", "bad"]),
        (Exact, &["SORT", "bad", "ALPHA"]),
        (Exact, &["SORT", "bad", "LIMIT", "0", "1"]),
        (Exact, &["RPUSH", "nan", "nan"]),
        (Exact, &["SORT", "nan"]),
        (Exact, &["RPUSH", "big", "1e400"]),
        (Exact, &["SORT", "big"]),
        (Exact, &["RPUSH", "tiny", "1e-400"]),
        (Exact, &["SORT", "tiny"]),
        (Exact, &["RPUSH", "spaced", "1 "]),
        (Exact, &["SORT", "spaced"]),
        (Exact, &["RPUSH", "nul", "b\0z", "b", "a\0y", "a"]),
        (Exact, &["SORT", "nul", "ALPHA"]),
        (Exact, &["SORT", "nul", "ALPHA", "STORE", "nul_sorted"]),
        (Exact, &["LRANGE", "nul_sorted", "0", "-1"]),
        (Exact, &["SET", "str", "x"]),
        (Exact, &["SORT", "str"]),
        (Exact, &["HSET", "hash", "f", "v"]),
        (Exact, &["SORT", "hash"]),
        (Exact, &["SORT", "str", "foo"]),
        (Exact, &["SORT", "nums", "LIMIT", "0"]),
        (Exact, &["SORT", "nums", "LIMIT", "x", "1"]),
        (Exact, &["SORT", "nums", "LIMIT", "0", "y"]),
        (Exact, &["SORT", "nums", "BY"]),
        (Exact, &["SORT", "nums", "GET"]),
        (Exact, &["SORT", "nums", "STORE"]),
        (Exact, &["SORT_RO", "nums", "STORE", "x"]),
        (Exact, &["SORT"]),
        (Exact, &["SORT_RO"]),
        // A weight key of the wrong type weighs 0.
        (Exact, &["RPUSH", "abc", "a", "b", "c"]),
        (Exact, &["SORT", "abc", "BY", "hash"]),
        (Exact, &["SORT", "abc", "BY", "*", "ALPHA"]),
        (Exact, &["SET", "a", "2"]),
        (Exact, &["SET", "c", "1"]),
        (Exact, &["SORT", "abc", "BY", "*"]),
        (Exact, &["SORT", "abc", "BY", "*", "DESC"]),
    ];
    compare(script);
}

#[test]
fn sort_store_writes_a_list_or_deletes() {
    let script: &[(Compare, &[&str])] = &[
        (Exact, &["SORT", "s", "STORE", "dst"]),
        (Exact, &["TYPE", "dst"]),
        (Exact, &["LRANGE", "dst", "0", "-1"]),
        (
            Exact,
            &[
                "SORT", "s", "BY", "w_*", "GET", "#", "GET", "v_*", "GET", "nope_*", "STORE", "dst",
            ],
        ),
        (Exact, &["LRANGE", "dst", "0", "-1"]),
        // A set left unsorted is sorted ALPHA when stored.
        (Exact, &["SORT", "words", "BY", "nosort", "STORE", "dst"]),
        (Exact, &["LRANGE", "dst", "0", "-1"]),
        (
            Exact,
            &["SORT", "z", "BY", "nosort", "DESC", "STORE", "dst"],
        ),
        (Exact, &["LRANGE", "dst", "0", "-1"]),
        // It replaces any type and clears a time to live.
        (Exact, &["SET", "str", "x", "EX", "100"]),
        (Exact, &["SORT", "l", "STORE", "str"]),
        (Exact, &["TTL", "str"]),
        (Exact, &["LRANGE", "str", "0", "-1"]),
        // Nothing to store: the destination goes.
        (Exact, &["SORT", "missing", "STORE", "dst"]),
        (Exact, &["EXISTS", "dst"]),
        (Exact, &["SORT", "l", "LIMIT", "0", "0", "STORE", "str"]),
        (Exact, &["EXISTS", "str"]),
        (Exact, &["SORT", "l", "STORE", "l"]),
        (Exact, &["LRANGE", "l", "0", "-1"]),
    ];
    compare(&[DATA, script].concat());
}

#[test]
fn sort_store_is_a_change_for_watch_and_a_missing_result_is_not() {
    use respd::resp::Frame;
    let server = start();
    let mut watcher = common::client(server.local_addr());
    let mut other = common::client(server.local_addr());
    let ok = Frame::Simple("OK".into());
    other.command(&["RPUSH", "l", "2", "1"]).expect("rpush");
    for (store, changes) in [
        (&["SORT", "missing", "STORE", "dst"][..], false),
        (&["SORT", "l", "STORE", "dst"][..], true),
        (&["SORT", "l", "STORE", "dst"][..], true),
        (&["SORT", "missing", "STORE", "dst"][..], true),
    ] {
        assert_eq!(watcher.command(&["WATCH", "dst"]).expect("watch"), ok);
        other.command(store).expect("sort");
        assert_eq!(watcher.command(&["MULTI"]).expect("multi"), ok);
        watcher.command(&["PING"]).expect("queued");
        let exec = watcher.command(&["EXEC"]).expect("exec");
        assert_eq!(
            exec == Frame::Null || exec == Frame::NullArray,
            changes,
            "{store:?}: {exec:?}"
        );
    }
}

#[test]
fn equal_alpha_weights_under_limit_come_out_in_redis_order() {
    // With BY and a LIMIT, Redis sorts with its own partial quicksort,
    // which does not keep equal weights in order: 60 elements (its
    // median-of-nine path) with 4 distinct weights and missing ones.
    let mut steps: Vec<(Compare, Vec<String>)> = Vec::new();
    let mut push = vec!["RPUSH".to_string(), "many".to_string()];
    let mut weights = vec!["MSET".to_string()];
    for i in 0..60 {
        push.push(format!("e{i}"));
        if i % 5 != 0 {
            weights.push(format!("wt_e{i}"));
            weights.push(["b", "a", "c", "b"][i % 4].to_string());
        }
    }
    steps.push((Exact, push));
    steps.push((Exact, weights));
    steps.push((
        Exact,
        "RPUSH few c a b e d f g h"
            .split(' ')
            .map(String::from)
            .collect(),
    ));
    steps.push((
        Exact,
        "MSET wt_a zz wt_b yy wt_c yy wt_f yy"
            .split(' ')
            .map(String::from)
            .collect(),
    ));
    for key in ["many", "few"] {
        for (start, count) in [
            (0, 3),
            (1, 3),
            (2, 4),
            (0, 8),
            (3, 2),
            (10, 20),
            (0, -1),
            (55, 10),
        ] {
            for order in ["ASC", "DESC"] {
                let command = format!("SORT {key} BY wt_* ALPHA {order} LIMIT {start} {count}");
                steps.push((Exact, command.split(' ').map(String::from).collect()));
            }
        }
    }
    let script: Vec<(Compare, Vec<&str>)> = steps
        .iter()
        .map(|(compare, args)| (*compare, args.iter().map(String::as_str).collect()))
        .collect();
    let script: Vec<(Compare, &[&str])> = script.iter().map(|(c, a)| (*c, &a[..])).collect();
    compare(&script);
}
