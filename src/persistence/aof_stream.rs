//! How stream commands go into the append-only file: as Redis 7.0
//! propagates them, so that replaying the log rebuilds the same streams.
//! A command whose effect depends on the clock or on the node layout is
//! logged as one that does not:
//!
//! - XADD with `*` or `ms-*` carries the ID it generated; approximate
//!   trimming (`~`) of XADD and XTRIM becomes exact (`=`) to the length or
//!   first ID it left.
//! - XREADGROUP `>`, XCLAIM and XAUTOCLAIM become one `XCLAIM key group
//!   consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID id` per entry
//!   handed out, with the delivery time and count the entry now has; a
//!   read also sets the group's position and `entries-read` (XGROUP SETID
//!   ... ENTRIESREAD, which Redis 7.0 logs only for NOACK reads, so that
//!   its lag survives a restart). Re-reading history is not logged, as in
//!   Redis.

use crate::commands::is;
use crate::resp::{read_frame, Frame};
use crate::store::{Db, Group, Stream, StreamId, Value};

/// One logged command.
type Entry = Vec<Vec<u8>>;

/// The commands to log for the stream command `name` (lowercase) that
/// changed something, read from `db` after it ran; None for commands
/// logged as they came.
pub(super) fn translate(
    name: &str,
    args: &[Vec<u8>],
    reply: &[u8],
    db: &Db,
    now: u64,
) -> Option<Vec<Entry>> {
    let key = args.get(1)?;
    let stream = || match db.get(key, now) {
        Some(Value::Stream(stream)) => Some(&**stream),
        _ => None,
    };
    let reply = read_frame(&mut &reply[..]).ok().flatten()?;
    Some(match name {
        "xadd" | "xtrim" => vec![add_or_trim(name == "xadd", args, &reply, stream())],
        "xreadgroup" => read_group(args, &reply, db, now),
        "xclaim" | "xautoclaim" => {
            let (group_name, consumer) = (args.get(2)?, args.get(3)?);
            let group = stream()?.groups.get(&group_name[..])?;
            let (claimed, deleted) = match (name, &reply) {
                ("xclaim", Frame::Array(items)) => {
                    // Asked-for entries gone from the stream left the
                    // pending list too.
                    let gone = args
                        .get(5..)
                        .unwrap_or_default()
                        .iter()
                        .map_while(|arg| parse_id(arg))
                        .filter(|id| !group.pel.contains_key(id))
                        .collect();
                    (items.iter().filter_map(entry_id).collect(), gone)
                }
                ("xautoclaim", Frame::Array(parts)) => {
                    let ids = |part: Option<&Frame>| match part {
                        Some(Frame::Array(items)) => items.iter().filter_map(entry_id).collect(),
                        _ => Vec::new(),
                    };
                    (ids(parts.get(1)), ids(parts.get(2)))
                }
                _ => return None,
            };
            let mut entries = claims(key, group_name, consumer, group, &claimed, false);
            if !deleted.is_empty() {
                let mut ack = vec![b"XACK".to_vec(), key.clone(), group_name.clone()];
                ack.extend(deleted.iter().map(|id| id.to_bytes()));
                entries.push(ack);
            }
            entries
        }
        _ => return None,
    })
}

/// XADD with the ID it generated; XADD or XTRIM with `~` trimming made
/// exact (Redis's `streamRewriteApproxSpecifier` and
/// `streamRewriteTrimArgument`).
fn add_or_trim(xadd: bool, args: &[Vec<u8>], reply: &Frame, stream: Option<&Stream>) -> Entry {
    let mut entry = args.to_vec();
    let mut i = 2;
    while i < entry.len() {
        if is(&entry[i], "maxlen") || is(&entry[i], "minid") {
            let maxlen = is(&entry[i], "maxlen");
            i += 1;
            let approx = entry[i] == b"~";
            if approx || entry[i] == b"=" {
                entry[i] = b"=".to_vec();
                i += 1;
            }
            if let (true, Some(stream), Some(threshold)) = (approx, stream, entry.get_mut(i)) {
                *threshold = if maxlen {
                    stream.len().to_string().into_bytes()
                } else {
                    first_id(stream).to_bytes()
                };
            }
            i += 1;
        } else if is(&entry[i], "limit") {
            i += 2;
        } else if xadd && is(&entry[i], "nomkstream") {
            i += 1;
        } else {
            if let (true, Frame::Bulk(id)) = (xadd, reply) {
                entry[i] = id.clone();
            }
            break;
        }
    }
    entry
}

/// The ID of the first entry of the first node, deleted or not (what
/// Redis's `streamGetEdgeID` finds without skipping tombstones).
fn first_id(stream: &Stream) -> StreamId {
    let first_node = stream.node_images().next();
    first_node
        .and_then(|node| node.entries.first().map(|(id, _)| *id))
        .unwrap_or(stream.first_id)
}

/// XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS
/// key... id...: the new entries it handed out, per stream.
fn read_group(args: &[Vec<u8>], reply: &Frame, db: &Db, now: u64) -> Vec<Entry> {
    let (Some(group_name), Some(consumer)) = (args.get(2), args.get(3)) else {
        return Vec::new();
    };
    let mut noack = false;
    let mut i = 4;
    while i < args.len() && !is(&args[i], "streams") {
        noack |= is(&args[i], "noack");
        i += if is(&args[i], "noack") { 1 } else { 2 };
    }
    let streams = args.get(i + 1..).unwrap_or_default();
    let (keys, ids) = streams.split_at(streams.len() / 2);
    let served: Vec<(&[u8], &[Frame])> = match reply {
        Frame::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Frame::Array(pair) => match &pair[..] {
                    [Frame::Bulk(key), Frame::Array(entries)] => Some((&key[..], &entries[..])),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        Frame::Map(pairs) => pairs
            .iter()
            .filter_map(|pair| match pair {
                (Frame::Bulk(key), Frame::Array(entries)) => Some((&key[..], &entries[..])),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for (key, entries) in served {
        let new_entries = keys.iter().zip(ids).any(|(k, id)| k == key && id == b">");
        let stream = match db.get(key, now) {
            Some(Value::Stream(stream)) => stream,
            _ => continue,
        };
        let Some(group) = stream.groups.get(&group_name[..]) else {
            continue;
        };
        if !new_entries || entries.is_empty() {
            continue;
        }
        let key = key.to_vec();
        if noack {
            out.push(vec![
                b"XGROUP".to_vec(),
                b"CREATECONSUMER".to_vec(),
                key.clone(),
                group_name.clone(),
                consumer.clone(),
            ]);
        } else {
            let delivered: Vec<StreamId> = entries.iter().filter_map(entry_id).collect();
            out.extend(claims(&key, group_name, consumer, group, &delivered, true));
        }
        let entries_read = group.entries_read.map_or(-1, |n| n as i64);
        out.push(vec![
            b"XGROUP".to_vec(),
            b"SETID".to_vec(),
            key,
            group_name.clone(),
            group.last_id.to_bytes(),
            b"ENTRIESREAD".to_vec(),
            entries_read.to_string().into_bytes(),
        ]);
    }
    out
}

/// One forced XCLAIM per pending entry, with its delivery time and count;
/// LASTID is the entry itself for a read (`last_is_entry`), else the
/// group's position.
fn claims(
    key: &[u8],
    group_name: &[u8],
    consumer: &[u8],
    group: &Group,
    ids: &[StreamId],
    last_is_entry: bool,
) -> Vec<Entry> {
    let word = |s: &str| s.as_bytes().to_vec();
    ids.iter()
        .filter_map(|id| {
            let nack = group.pel.get(id)?;
            let last = if last_is_entry { *id } else { group.last_id };
            Some(vec![
                word("XCLAIM"),
                key.to_vec(),
                group_name.to_vec(),
                consumer.to_vec(),
                word("0"),
                id.to_bytes(),
                word("TIME"),
                nack.delivery_time.to_string().into_bytes(),
                word("RETRYCOUNT"),
                nack.delivery_count.to_string().into_bytes(),
                word("FORCE"),
                word("JUSTID"),
                word("LASTID"),
                last.to_bytes(),
            ])
        })
        .collect()
}

/// The ID of a reply's entry: `[id, fields]`, or a bare ID (JUSTID).
fn entry_id(frame: &Frame) -> Option<StreamId> {
    let text = match frame {
        Frame::Bulk(id) => id,
        Frame::Array(pair) => match pair.first() {
            Some(Frame::Bulk(id)) => id,
            _ => return None,
        },
        _ => return None,
    };
    parse_id(text)
}

/// A full `ms-seq` ID.
fn parse_id(text: &[u8]) -> Option<StreamId> {
    let text = std::str::from_utf8(text).ok()?;
    let (ms, seq) = text.split_once('-')?;
    Some(StreamId::new(ms.parse().ok()?, seq.parse().ok()?))
}
