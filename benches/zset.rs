//! `cargo bench --bench zset`: a sorted set of 1,000,000 members answers
//! ZRANK and ZRANGE 0 10 in O(log n), measured on the store type directly;
//! plus ZADD throughput. Also prints the resident memory per member (Linux).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use respd::store::ZSet;

const MEMBERS: usize = 1_000_000;

/// Member i scores a scrambled value, so insertion order is not score order.
fn score(i: usize) -> f64 {
    ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f64
}

fn member(i: usize) -> Vec<u8> {
    format!("member:{i}").into_bytes()
}

/// Resident set size in bytes, from /proc (0 elsewhere).
fn resident_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn big_set() -> ZSet {
    let before = resident_bytes();
    let mut z = ZSet::new();
    for i in 0..MEMBERS {
        z.insert(&member(i), score(i));
    }
    let after = resident_bytes();
    if before > 0 {
        println!(
            "memory: about {} bytes per member ({} members like \"member:123456\")",
            (after - before) / MEMBERS,
            MEMBERS
        );
    }
    z
}

fn queries(c: &mut Criterion) {
    let z = big_set();
    let mut group = c.benchmark_group("zset 1M");
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_millis(500));
    let mut i = 0;
    group.bench_function("ZRANK", |b| {
        b.iter(|| {
            i = (i + 7919) % MEMBERS;
            black_box(z.rank(&member(i)))
        })
    });
    group.bench_function("ZRANGE 0 10", |b| {
        b.iter(|| black_box(z.iter_from(0).take(11).count()))
    });
    group.bench_function("ZRANGE 500000 500010", |b| {
        b.iter(|| black_box(z.iter_from(500_000).take(11).count()))
    });
    group.finish();
}

fn zadd(c: &mut Criterion) {
    let members: Vec<Vec<u8>> = (0..10_000).map(member).collect();
    let mut group = c.benchmark_group("zadd");
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_millis(500));
    group.throughput(Throughput::Elements(members.len() as u64));
    group.bench_function("10k new members", |b| {
        b.iter_batched(
            ZSet::new,
            |mut z| {
                for (i, m) in members.iter().enumerate() {
                    z.insert(m, score(i));
                }
                z
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, queries, zadd);
criterion_main!(benches);
