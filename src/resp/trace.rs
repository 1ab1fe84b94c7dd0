//! Frames made visible, for people: the exact bytes with `\r\n` written out,
//! and a one-line reading of each frame.
//!
//! ```text
//! *2\r\n$3\r\nGET\r\n$1\r\nk\r\n   array(2): bulk "GET", bulk "k"
//! $-1\r\n   null bulk (RESP2)
//! ```
//!
//! The server's wire trace (`respd --trace`) and `respd-cli --resp` both
//! print this notation, and `docs/PROTOCOL.md` writes its examples in it.
//! Escapes: `\r`, `\n`, `\t`, `\\`, and `\xHH` for any other byte that is
//! not printable ASCII; [`unescape`] reads them back.

use super::frame::{read_frame, Frame};
use crate::util::split_args;

/// Bulk strings longer than this are cut in the middle.
const BULK_SHOWN_MAX: usize = 64;
/// What is kept of a cut bulk string: its first and last bytes.
const CUT_HEAD: usize = 24;
const CUT_TAIL: usize = 8;
/// An aggregate's reading lists this many elements, then says how many more.
const ELEMENTS_SHOWN_MAX: usize = 16;
/// Between a frame's bytes and its reading.
const GAP: &str = "   ";

/// The bytes as text: `\r\n` written out, unprintable bytes as `\xHH`, and
/// the payload of a long bulk (or verbatim) string cut in the middle with
/// its length shown: `$1000\r\nxxxx...(1000 bytes)...xxxx\r\n`.
pub fn visible(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let line_len = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let (line, after) = rest.split_at(line_len);
        escape_into(&mut out, line);
        rest = after;
        if let Some(len) = bulk_length(line).filter(|&len| rest.len() >= len + 2) {
            let (payload, after) = rest.split_at(len);
            shorten_into(&mut out, payload, escape_into);
            let (crlf, after) = after.split_at(2);
            escape_into(&mut out, crlf);
            rest = after;
        }
    }
    out
}

/// The length in a `$<len>\r\n` or `=<len>\r\n` header line.
fn bulk_length(line: &[u8]) -> Option<usize> {
    let digits = line.strip_suffix(b"\r\n")?;
    let digits = digits
        .strip_prefix(b"$")
        .or_else(|| digits.strip_prefix(b"="))?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Writes `bytes` with `write`, or, when longer than [`BULK_SHOWN_MAX`],
/// their head, `...(N bytes)...` and their tail.
fn shorten_into(out: &mut String, bytes: &[u8], write: fn(&mut String, &[u8])) {
    if bytes.len() <= BULK_SHOWN_MAX {
        write(out, bytes);
        return;
    }
    write(out, &bytes[..CUT_HEAD]);
    out.push_str(&format!("...({} bytes)...", bytes.len()));
    write(out, &bytes[bytes.len() - CUT_TAIL..]);
}

fn escape_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b' '..=b'~' => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
}

/// Reads the notation of [`visible`] back into bytes (without cuts):
/// `\r`, `\n`, `\t`, `\\`, `\xHH`. Anything else after a backslash is an
/// error.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex = [bytes.next(), bytes.next()];
                let [Some(high), Some(low)] = hex else {
                    return Err(format!("incomplete \\x escape in {text:?}"));
                };
                let digits = std::str::from_utf8(&[high, low])
                    .ok()
                    .and_then(|d| u8::from_str_radix(d, 16).ok());
                out.push(digits.ok_or_else(|| format!("bad \\x escape in {text:?}"))?);
            }
            other => {
                let shown = other.map_or(String::new(), |c| (c as char).to_string());
                return Err(format!("unknown escape \\{shown} in {text:?}"));
            }
        }
    }
    Ok(out)
}

/// A one-line reading of a frame: its type and contents, nested aggregates
/// in brackets, e.g. `array(2): bulk "GET", bulk "k"` or
/// `push(3): bulk "message", bulk "news", bulk "hi"`.
pub fn describe(frame: &Frame) -> String {
    let mut out = String::new();
    describe_into(&mut out, frame);
    out
}

fn describe_into(out: &mut String, frame: &Frame) {
    match frame {
        // Lines are shown whole; only bulk payloads are cut.
        Frame::Simple(text) => out.push_str(&format!("simple {}", quote(text.as_bytes()))),
        Frame::Error(text) => out.push_str(&format!("error {}", quote(text.as_bytes()))),
        Frame::Integer(n) => out.push_str(&format!("integer {n}")),
        Frame::Bulk(bytes) => quoted(out, "bulk ", bytes),
        Frame::NullBulk => out.push_str("null bulk (RESP2)"),
        Frame::NullArray => out.push_str("null array (RESP2)"),
        Frame::Null => out.push_str("null (RESP3)"),
        Frame::Double(d) => out.push_str(&format!("double {}", crate::util::format_double(*d))),
        Frame::Boolean(b) => out.push_str(&format!("boolean {b}")),
        Frame::BigNumber(digits) => out.push_str(&format!("big number {digits}")),
        Frame::Verbatim(format, text) => quoted(out, &format!("verbatim {format} "), text),
        Frame::Array(items) => list(out, "array", items),
        Frame::Set(items) => list(out, "set", items),
        Frame::Push(items) => list(out, "push", items),
        Frame::Map(pairs) => pairs_into(out, "map", pairs),
        Frame::Attribute(pairs, inner) => {
            pairs_into(out, "attribute", pairs);
            out.push_str(", then ");
            describe_into(out, inner);
        }
    }
}

/// `"text"`, escaped as redis-cli quotes strings.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::from('"');
    quote_into(&mut out, bytes);
    out.push('"');
    out
}

/// `prefix"text"`, escaped as redis-cli quotes strings and cut if long.
fn quoted(out: &mut String, prefix: &str, bytes: &[u8]) {
    out.push_str(prefix);
    out.push('"');
    shorten_into(out, bytes, quote_into);
    out.push('"');
}

fn quote_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b' '..=b'~' => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
}

/// An element of an aggregate: nested aggregates go in brackets, so the
/// reading stays unambiguous on one line.
fn element(out: &mut String, frame: &Frame) {
    let nested = matches!(
        frame,
        Frame::Array(_) | Frame::Set(_) | Frame::Push(_) | Frame::Map(_) | Frame::Attribute(..)
    );
    if nested {
        out.push('[');
    }
    describe_into(out, frame);
    if nested {
        out.push(']');
    }
}

fn list(out: &mut String, kind: &str, items: &[Frame]) {
    out.push_str(&format!("{kind}({})", items.len()));
    for (i, item) in items.iter().take(ELEMENTS_SHOWN_MAX).enumerate() {
        out.push_str(if i == 0 { ": " } else { ", " });
        element(out, item);
    }
    more(out, items.len());
}

fn pairs_into(out: &mut String, kind: &str, pairs: &[(Frame, Frame)]) {
    out.push_str(&format!("{kind}({})", pairs.len()));
    for (i, (key, value)) in pairs.iter().take(ELEMENTS_SHOWN_MAX).enumerate() {
        out.push_str(if i == 0 { ": " } else { ", " });
        element(out, key);
        out.push_str(" => ");
        element(out, value);
    }
    more(out, pairs.len());
}

fn more(out: &mut String, len: usize) {
    if len > ELEMENTS_SHOWN_MAX {
        out.push_str(&format!(", ... ({} more)", len - ELEMENTS_SHOWN_MAX));
    }
}

/// Replies as a server sends them: one line per frame, its bytes then its
/// reading. Bytes that do not end a frame are shown as they are.
pub fn trace_replies(bytes: &[u8]) -> Vec<String> {
    trace(bytes, |_| false)
}

/// Commands as a client sends them: `*`-arrays are frames; any other line
/// is an inline command (`PING\r\n`), read as the server splits it.
pub fn trace_requests(bytes: &[u8]) -> Vec<String> {
    trace(bytes, |first| first != b'*')
}

fn trace(bytes: &[u8], is_inline: impl Fn(u8) -> bool) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = bytes;
    while let Some(&first) = rest.first() {
        let (used, reading) = if is_inline(first) {
            inline(rest)
        } else {
            let mut cursor = rest;
            match read_frame(&mut cursor) {
                Ok(Some(frame)) => (rest.len() - cursor.len(), describe(&frame)),
                _ => (rest.len(), "(incomplete or malformed frame)".to_string()),
            }
        };
        let (frame, after) = rest.split_at(used);
        lines.push(format!("{}{GAP}{reading}", visible(frame)));
        rest = after;
    }
    lines
}

/// One inline command line: how many bytes it takes and its reading.
fn inline(bytes: &[u8]) -> (usize, String) {
    let Some(end) = bytes.iter().position(|&b| b == b'\n') else {
        return (bytes.len(), "(incomplete inline command)".into());
    };
    let line = &bytes[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let reading = match split_args(line) {
        Ok(args) if args.is_empty() => "inline: empty line (skipped)".to_string(),
        Ok(args) => {
            let mut out = String::from("inline:");
            for arg in &args {
                quoted(&mut out, " ", arg);
            }
            out
        }
        Err(_) => "inline: unbalanced quotes".to_string(),
    };
    (end + 1, reading)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_read_as_documented() {
        assert_eq!(
            trace_requests(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n"),
            [
                "*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\nk\\r\\n   array(2): bulk \"GET\", bulk \"k\"",
                "PING\\r\\n   inline: \"PING\"",
            ]
        );
        assert_eq!(
            trace_replies(b"$-1\r\n%1\r\n+a\r\n*1\r\n,1.5\r\n>2\r\n#t\r\n_\r\n"),
            [
                "$-1\\r\\n   null bulk (RESP2)",
                "%1\\r\\n+a\\r\\n*1\\r\\n,1.5\\r\\n   map(1): simple \"a\" => [array(1): double 1.5]",
                ">2\\r\\n#t\\r\\n_\\r\\n   push(2): boolean true, null (RESP3)",
            ]
        );
        assert_eq!(
            trace_replies(b"$3\r\nab"),
            ["$3\\r\\nab   (incomplete or malformed frame)"]
        );
    }

    #[test]
    fn every_type_has_a_reading() {
        let readings = [
            (Frame::Simple("OK".into()), "simple \"OK\""),
            (Frame::Error("ERR x".into()), "error \"ERR x\""),
            (Frame::Integer(-1), "integer -1"),
            (Frame::Bulk(b"a\"\n".to_vec()), "bulk \"a\\\"\\n\""),
            (Frame::NullBulk, "null bulk (RESP2)"),
            (Frame::NullArray, "null array (RESP2)"),
            (Frame::Null, "null (RESP3)"),
            (Frame::Array(vec![]), "array(0)"),
            (Frame::Set(vec![Frame::Integer(1)]), "set(1): integer 1"),
            (Frame::Double(f64::INFINITY), "double inf"),
            (Frame::Boolean(false), "boolean false"),
            (Frame::BigNumber("123".into()), "big number 123"),
            (
                Frame::Verbatim("txt".into(), b"hi".to_vec()),
                "verbatim txt \"hi\"",
            ),
            (
                Frame::Push(vec![Frame::Bulk(b"message".to_vec())]),
                "push(1): bulk \"message\"",
            ),
            (
                Frame::Attribute(
                    vec![(Frame::Simple("ttl".into()), Frame::Integer(3))],
                    Box::new(Frame::Integer(1)),
                ),
                "attribute(1): simple \"ttl\" => integer 3, then integer 1",
            ),
        ];
        for (frame, reading) in readings {
            let bytes = frame.to_bytes();
            assert_eq!(
                trace_replies(&bytes),
                [format!("{}{GAP}{reading}", visible(&bytes))]
            );
        }
        let many = Frame::Array((0..20).map(Frame::Integer).collect());
        assert!(describe(&many).ends_with("integer 15, ... (4 more)"));
    }

    #[test]
    fn long_bulk_strings_are_cut_in_the_middle() {
        let mut value = vec![b'a'; 24];
        value.extend(vec![b'-'; 52]);
        value.extend(b"zzzzzzzz");
        let bytes = Frame::Bulk(value).to_bytes();
        let cut = format!("{}...(84 bytes)...zzzzzzzz", "a".repeat(24));
        assert_eq!(
            trace_replies(&bytes),
            [format!("$84\\r\\n{cut}\\r\\n   bulk \"{cut}\"")]
        );
    }

    #[test]
    fn escapes_round_trip() {
        let bytes = b"a\\b\r\n\t\x00\xff\"";
        assert_eq!(visible(bytes), "a\\\\b\\r\\n\\t\\x00\\xff\"");
        assert_eq!(unescape(&visible(bytes)).unwrap(), bytes);
        assert!(unescape("\\q").is_err());
    }
}
