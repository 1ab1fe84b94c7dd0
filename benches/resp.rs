//! `cargo bench --bench resp`: the parser's throughput on a pipelined
//! buffer, the reply writer, and GET/SET through the dispatcher with no
//! socket in the way. Short measurement times: this is a quick check, not a
//! lab measurement.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use respd::clients::ClientInfo;
use respd::commands::{execute, Context, Session};
use respd::resp::{read_command, Frame, Limits, Reply};
use respd::shared::Shared;
use respd::Config;

/// 1,000 pipelined commands, SET and GET alternating, as a client sends them.
fn pipeline() -> Vec<u8> {
    let mut buf = Vec::new();
    for i in 0..500 {
        let key = format!("key:{i:06}");
        buf.extend(
            Frame::command(&["SET", key.as_str(), "some-value-of-32-bytes-more-or-less"])
                .to_bytes(),
        );
        buf.extend(Frame::command(&["GET", key.as_str()]).to_bytes());
    }
    buf
}

fn parser(c: &mut Criterion) {
    let buf = pipeline();
    let mut group = c.benchmark_group("parser");
    group.throughput(Throughput::Bytes(buf.len() as u64));
    group.bench_function("1000 pipelined GET/SET", |b| {
        b.iter(|| {
            let mut reader = &buf[..];
            let mut count = 0;
            while let Ok(Some(args)) = read_command(&mut reader, &Limits::default()) {
                count += args.len();
            }
            black_box(count)
        })
    });
    // The floor under the parser: the same allocations it must make (one
    // Vec per argument, one list per command, as `Args` is), with no
    // parsing at all. The parser cannot beat this line's throughput.
    group.bench_function("1000 GET/SET, allocations only", |b| {
        let key = b"key:000001".to_vec();
        let value = b"some-value-of-32-bytes-more-or-less".to_vec();
        b.iter(|| {
            let mut count = 0;
            for _ in 0..500 {
                count += black_box(vec![b"SET".to_vec(), key.clone(), value.clone()]).len();
                count += black_box(vec![b"GET".to_vec(), key.clone()]).len();
            }
            black_box(count)
        })
    });
    let inline: Vec<u8> = (0..1000)
        .flat_map(|i| format!("SET key:{i:06} \"a value\"\r\n").into_bytes())
        .collect();
    group.throughput(Throughput::Bytes(inline.len() as u64));
    group.bench_function("1000 inline SET", |b| {
        b.iter(|| {
            let mut reader = &inline[..];
            let mut count = 0;
            while let Ok(Some(args)) = read_command(&mut reader, &Limits::default()) {
                count += args.len();
            }
            black_box(count)
        })
    });
    group.finish();
}

fn writer(c: &mut Criterion) {
    let mut group = c.benchmark_group("writer");
    group.bench_function("1000 mixed replies", |b| {
        let mut reply = Reply::new();
        b.iter(|| {
            reply.buf.clear();
            for i in 0..250 {
                reply.ok();
                reply.int(i);
                reply.bulk(b"some-value-of-32-bytes-more-or-less");
                reply.null();
            }
            black_box(reply.buf.len())
        })
    });
    group.bench_function("map of 100 pairs, RESP3", |b| {
        let mut reply = Reply {
            resp3: true,
            ..Reply::new()
        };
        b.iter(|| {
            reply.buf.clear();
            reply.map(100);
            for i in 0..100 {
                reply.bulk_int(i);
                reply.double(i as f64 / 3.0);
            }
            black_box(reply.buf.len())
        })
    });
    group.finish();
}

fn dispatcher(c: &mut Criterion) {
    let shared = Shared::new(Config::default(), 0);
    let info = Arc::new(ClientInfo::new(
        1,
        "127.0.0.1:1".into(),
        "127.0.0.1:6379".into(),
        -1,
        Box::new(|| {}),
    ));
    let mut session = Session::new(info, &shared);
    let mut out = Reply::new();
    let args =
        |list: &[&str]| -> Vec<Vec<u8>> { list.iter().map(|a| a.as_bytes().to_vec()).collect() };
    let mut group = c.benchmark_group("dispatcher");
    group.bench_function("SET", |b| {
        b.iter_batched(
            || args(&["SET", "bench:key", "some-value-of-32-bytes-more-or-less"]),
            |command| {
                out.buf.clear();
                let mut cx = Context::new(&shared, &mut session, &mut out);
                execute(&mut cx, command);
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("GET", |b| {
        b.iter_batched(
            || args(&["GET", "bench:key"]),
            |command| {
                out.buf.clear();
                let mut cx = Context::new(&shared, &mut session, &mut out);
                execute(&mut cx, command);
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    assert!(out.buf.starts_with(b"$35\r\n"), "GET did not find the key");
}

fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = quick();
    targets = parser, writer, dispatcher
}
criterion_main!(benches);
