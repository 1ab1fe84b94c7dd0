//! LCS compared with a real Redis (skipped when redis-server is not
//! installed): the subsequence, LEN, IDX with MINMATCHLEN and WITHMATCHLEN
//! in RESP2 (an array) and RESP3 (a map), and the errors.

mod common;

use common::script::{run_script, Compare};
use common::{start, RealRedis};

use Compare::{Exact, Skip};

#[test]
fn lcs_replies_as_redis_in_both_protocols() {
    let Some(real) = RealRedis::start() else {
        return;
    };
    let server = start();
    let steps: &[(Compare, &[&str])] = &[
        (Exact, &["MSET", "a", "ohmytext", "b", "mynewtext"]),
        (Exact, &["MSET", "x", "abcbdab", "y", "bdcaba", "n", "12345", "m", "2a4b5"]),
        (Exact, &["SET", "rna1", "CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG"]),
        (Exact, &["SET", "rna2", "ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT"]),
        (Exact, &["SET", "str", "x"]),
        (Exact, &["RPUSH", "list", "x"]),
        (Exact, &["LCS", "a", "b"]),
        (Exact, &["LCS", "x", "y"]),
        (Exact, &["LCS", "n", "m"]),
        (Exact, &["LCS", "rna1", "rna2"]),
        (Exact, &["LCS", "a", "b", "LEN"]),
        (Exact, &["LCS", "rna1", "rna2", "LEN"]),
        (Exact, &["LCS", "a", "missing"]),
        (Exact, &["LCS", "missing", "missing2", "LEN"]),
        (Exact, &["LCS", "a", "b", "IDX"]),
        (Exact, &["LCS", "x", "y", "IDX", "WITHMATCHLEN"]),
        (Exact, &["LCS", "a", "b", "IDX", "MINMATCHLEN", "4"]),
        (Exact, &["LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
        (Exact, &["LCS", "a", "b", "IDX", "MINMATCHLEN", "-3", "withmatchlen"]),
        (Exact, &["LCS", "rna1", "rna2", "IDX", "MINMATCHLEN", "5", "WITHMATCHLEN"]),
        (Exact, &["LCS", "a", "missing", "IDX"]),
        (Exact, &["LCS", "a", "b", "MINMATCHLEN", "2"]),
        (Exact, &["LCS", "a", "b", "WITHMATCHLEN"]),
        (Exact, &["LCS", "a", "b", "LEN", "IDX"]),
        (Exact, &["LCS", "a", "b", "IDX", "LEN"]),
        (Exact, &["LCS", "a", "b", "MINMATCHLEN"]),
        (Exact, &["LCS", "a", "b", "MINMATCHLEN", "x"]),
        (Exact, &["LCS", "a", "b", "FOO"]),
        (Exact, &["LCS", "a", "list"]),
        (Exact, &["LCS", "list", "a", "FOO"]),
        (Exact, &["LCS", "str", "missing", "LEN"]),
        (Exact, &["LCS", "a"]),
        (Exact, &["CONFIG", "SET", "proto-max-bulk-len", "1048576"]),
        (Exact, &["LCS", "rna1", "rna2", "LEN"]),
        (Exact, &["SET", "big1", &"a".repeat(600)]),
        (Exact, &["SET", "big2", &"b".repeat(600)]),
        (Exact, &["LCS", "big1", "big2", "LEN"]),
        (Exact, &["CONFIG", "SET", "proto-max-bulk-len", "536870912"]),
        (Skip, &["HELLO", "3"]),
        (Exact, &["LCS", "a", "b", "IDX"]),
        (Exact, &["LCS", "x", "y", "IDX", "WITHMATCHLEN"]),
        (Exact, &["LCS", "a", "missing", "IDX"]),
        (Exact, &["LCS", "a", "b", "LEN"]),
    ];
    let ours = run_script(server.local_addr(), steps);
    let theirs = run_script(real.addr, steps);
    for (i, ((_, command), (a, b))) in steps.iter().zip(ours.iter().zip(&theirs)).enumerate() {
        assert_eq!(a, b, "step {i}: {command:?}");
    }
}
