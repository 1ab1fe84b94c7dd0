//! `cargo bench --bench resp`: the parser's throughput on a pipelined
//! buffer, the reply writer, and GET/SET through the dispatcher with no
//! socket in the way. Short measurement times: this is a quick check, not a
//! lab measurement.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use respd::clients::ClientInfo;
use respd::commands::{execute, Context, Session};
use respd::resp::{CommandBuf, Frame, Limits, Reply};
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
    // As a connection reads: one CommandBuf, its buffers reused by every
    // command, so the steady state allocates nothing.
    group.bench_function("1000 pipelined GET/SET", |b| {
        let mut command = CommandBuf::new();
        b.iter(|| {
            let mut reader = &buf[..];
            let mut count = 0;
            while let Ok(true) = command.read(&mut reader, &Limits::default()) {
                count += command.args().len();
            }
            black_box(count)
        })
    });
    // The floor under the parser: the one copy of each argument into its
    // reused buffer that it must make, with no parsing at all.
    group.bench_function("1000 GET/SET, copies only", |b| {
        let key = b"key:000001".to_vec();
        let value = b"some-value-of-32-bytes-more-or-less".to_vec();
        let set = [&b"SET"[..], &key, &value];
        let get = [&b"GET"[..], &key];
        let mut buffers = vec![Vec::new(); 3];
        b.iter(|| {
            let mut count = 0;
            for _ in 0..500 {
                for command in [&set[..], &get[..]] {
                    for (buffer, arg) in buffers.iter_mut().zip(command) {
                        buffer.clear();
                        buffer.extend_from_slice(black_box(arg));
                    }
                    count += black_box(&buffers).len();
                }
            }
            black_box(count)
        })
    });
    let inline: Vec<u8> = (0..1000)
        .flat_map(|i| format!("SET key:{i:06} \"a value\"\r\n").into_bytes())
        .collect();
    group.throughput(Throughput::Bytes(inline.len() as u64));
    group.bench_function("1000 inline SET", |b| {
        let mut command = CommandBuf::new();
        b.iter(|| {
            let mut reader = &inline[..];
            let mut count = 0;
            while let Ok(true) = command.read(&mut reader, &Limits::default()) {
                count += command.args().len();
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
    // Handlers borrow the arguments, as from a connection's CommandBuf.
    group.bench_function("SET", |b| {
        let command = args(&["SET", "bench:key", "some-value-of-32-bytes-more-or-less"]);
        b.iter(|| {
            out.buf.clear();
            let mut cx = Context::new(&shared, &mut session, &mut out);
            execute(&mut cx, &command);
        })
    });
    group.bench_function("GET", |b| {
        let command = args(&["GET", "bench:key"]);
        b.iter(|| {
            out.buf.clear();
            let mut cx = Context::new(&shared, &mut session, &mut out);
            execute(&mut cx, &command);
        })
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
