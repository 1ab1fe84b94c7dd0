//! Differential scripts: run the same commands on respd and a real Redis
//! and compare the replies, ignoring only an order Redis leaves unspecified.

use std::net::SocketAddr;

use respd::resp::Frame;
use respd::Client;

/// How a reply is compared with Redis's.
#[derive(Clone, Copy, Debug)]
pub enum Compare {
    /// Byte for byte.
    Exact,
    /// Same items in any order (members, fields, map entries).
    Unordered,
    /// A flat array of field/value pairs, the pairs in any order.
    Pairs,
    /// A SCAN-family reply: the cursor exactly, the items in any order.
    Scan,
    /// An HSCAN reply: the cursor exactly, the field/value pairs in any order.
    ScanPairs,
    /// Not compared (HELLO's reply names the server).
    Skip,
}

fn sort_frames(items: &mut [Frame]) {
    items.sort_by_key(Frame::to_bytes);
}

/// The reply in a form where an unspecified order no longer matters.
pub fn normalize(compare: Compare, frame: Frame) -> Frame {
    match (compare, frame) {
        (Compare::Unordered, Frame::Array(mut items)) => {
            sort_frames(&mut items);
            Frame::Array(items)
        }
        (Compare::Unordered, Frame::Set(mut items)) => {
            sort_frames(&mut items);
            Frame::Set(items)
        }
        (Compare::Unordered, Frame::Map(mut pairs)) => {
            pairs.sort_by_key(|(k, v)| (k.to_bytes(), v.to_bytes()));
            Frame::Map(pairs)
        }
        (Compare::Pairs, Frame::Array(items)) => {
            let mut pairs: Vec<Frame> = items
                .chunks(2)
                .map(|pair| Frame::Array(pair.to_vec()))
                .collect();
            sort_frames(&mut pairs);
            Frame::Array(pairs)
        }
        (Compare::Scan | Compare::ScanPairs, Frame::Array(mut items)) if items.len() == 2 => {
            let inner_compare = if matches!(compare, Compare::Scan) {
                Compare::Unordered
            } else {
                Compare::Pairs
            };
            let inner = items.pop().map(|f| normalize(inner_compare, f));
            items.extend(inner);
            Frame::Array(items)
        }
        (Compare::Skip, _) => Frame::Null,
        (_, frame) => frame,
    }
}

/// Runs the script on one server, returning the normalized replies.
pub fn run_script(addr: SocketAddr, script: &[(Compare, &[&str])]) -> Vec<Frame> {
    let mut client = super::client(addr);
    script
        .iter()
        .map(|(compare, args)| normalize(*compare, client.command(args).expect("reply")))
        .collect()
}

/// Runs `script` on a fresh respd and a real Redis (when installed) and
/// asserts the replies agree step by step.
pub fn compare_with_redis(script: &[(Compare, &[&str])]) {
    let Some(real) = super::RealRedis::start() else {
        return;
    };
    let server = super::start();
    let ours = run_script(server.local_addr(), script);
    let theirs = run_script(real.addr, script);
    for (i, ((_, command), (a, b))) in script.iter().zip(ours.iter().zip(&theirs)).enumerate() {
        assert_eq!(a, b, "step {i}: {command:?}");
    }
}

/// A client with a 10 s read timeout, switched to RESP3 when `protocol` is 3.
pub fn client(addr: SocketAddr, protocol: u8) -> Client {
    let mut client = super::client(addr);
    client
        .stream()
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    if protocol == 3 {
        let hello = client.command(&["HELLO", "3"]).expect("hello");
        assert!(matches!(hello, Frame::Map(_)), "{hello:?}");
    }
    client
}
