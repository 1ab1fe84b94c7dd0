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
    let mut client = Client::connect(addr).expect("connect");
    script
        .iter()
        .map(|(compare, args)| normalize(*compare, client.command(args).expect("reply")))
        .collect()
}
