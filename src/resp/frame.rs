//! One RESP value of any type, as it travels on the wire.

use std::io::{self, BufRead, Read};

use crate::util::{parse_i64, push_i64};

/// A RESP2 or RESP3 value. The null variants stay apart because their bytes
/// differ: `$-1` and `*-1` are RESP2's nulls, `_` is RESP3's.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK`
    Simple(String),
    /// `-ERR message`: the text includes the error code.
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$3\r\nfoo`
    Bulk(Vec<u8>),
    /// `$-1` (RESP2)
    NullBulk,
    /// `*2 ...`
    Array(Vec<Frame>),
    /// `*-1` (RESP2)
    NullArray,
    /// `_` (RESP3)
    Null,
    /// `%2 k v k v` (RESP3)
    Map(Vec<(Frame, Frame)>),
    /// `~2 a b` (RESP3)
    Set(Vec<Frame>),
    /// `,3.14` (RESP3)
    Double(f64),
    /// `#t` / `#f` (RESP3)
    Boolean(bool),
    /// `(123456789012345678901234567890` (RESP3)
    BigNumber(String),
    /// `=15\r\ntxt:Some string` (RESP3): a three-letter format and the text.
    Verbatim(String, Vec<u8>),
    /// `>3 message channel payload` (RESP3 out-of-band data)
    Push(Vec<Frame>),
    /// `|1 key value`: metadata that precedes the frame it describes (RESP3).
    Attribute(Vec<(Frame, Frame)>, Box<Frame>),
}

impl Frame {
    /// Appends this frame's exact wire bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Simple(s) => line(out, b'+', s.as_bytes()),
            Frame::Error(s) => line(out, b'-', s.as_bytes()),
            Frame::Integer(n) => header(out, b':', *n),
            Frame::Bulk(b) => {
                header(out, b'$', b.len() as i64);
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Frame::NullBulk => out.extend_from_slice(b"$-1\r\n"),
            Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Frame::Null => out.extend_from_slice(b"_\r\n"),
            Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
                let kind = match self {
                    Frame::Array(_) => b'*',
                    Frame::Set(_) => b'~',
                    _ => b'>',
                };
                header(out, kind, items.len() as i64);
                items.iter().for_each(|item| item.encode(out));
            }
            Frame::Map(pairs) => {
                header(out, b'%', pairs.len() as i64);
                encode_pairs(pairs, out);
            }
            Frame::Attribute(pairs, inner) => {
                header(out, b'|', pairs.len() as i64);
                encode_pairs(pairs, out);
                inner.encode(out);
            }
            Frame::Double(d) => line(out, b',', crate::util::format_double(*d).as_bytes()),
            Frame::Boolean(b) => line(out, b'#', if *b { b"t" } else { b"f" }),
            Frame::BigNumber(n) => line(out, b'(', n.as_bytes()),
            Frame::Verbatim(format, text) => {
                header(out, b'=', (text.len() + 4) as i64);
                out.extend_from_slice(format.as_bytes());
                out.push(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// The frame's wire bytes as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// A command as clients send it: an array of bulk strings.
    pub fn command<A: AsRef<[u8]>>(args: &[A]) -> Frame {
        Frame::Array(
            args.iter()
                .map(|a| Frame::Bulk(a.as_ref().to_vec()))
                .collect(),
        )
    }
}

/// Appends a command as clients send it (an array of bulk strings) to
/// `out`: the bytes of `Frame::command(args).encode(out)`, without building
/// the frame.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    header(out, b'*', args.len() as i64);
    for arg in args {
        let arg = arg.as_ref();
        header(out, b'$', arg.len() as i64);
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn encode_pairs(pairs: &[(Frame, Frame)], out: &mut Vec<u8>) {
    for (key, value) in pairs {
        key.encode(out);
        value.encode(out);
    }
}

fn line(out: &mut Vec<u8>, kind: u8, text: &[u8]) {
    out.push(kind);
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}

fn header(out: &mut Vec<u8>, kind: u8, n: i64) {
    out.push(kind);
    push_i64(out, n);
    out.extend_from_slice(b"\r\n");
}

/// Reads one complete frame (a reply, as a client sees it). `Ok(None)` is a
/// clean end of stream before the first byte.
pub fn read_frame<R: BufRead>(reader: &mut R) -> io::Result<Option<Frame>> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    parse_after_line(reader, line).map(Some)
}

fn read_frame_required<R: BufRead>(reader: &mut R) -> io::Result<Frame> {
    read_frame(reader)?.ok_or_else(|| invalid("connection closed in the middle of a frame"))
}

fn parse_after_line<R: BufRead>(reader: &mut R, mut line: Vec<u8>) -> io::Result<Frame> {
    if line.len() < 3 || !line.ends_with(b"\r\n") {
        return Err(invalid("frame line does not end with CRLF"));
    }
    line.truncate(line.len() - 2);
    let kind = line[0];
    let body = &line[1..];
    let text = || String::from_utf8_lossy(body).into_owned();
    let number = || parse_i64(body).ok_or_else(|| invalid("bad length or integer"));
    Ok(match kind {
        b'+' => Frame::Simple(text()),
        b'-' => Frame::Error(text()),
        b':' => Frame::Integer(number()?),
        b'(' => Frame::BigNumber(text()),
        b'#' => match body {
            b"t" => Frame::Boolean(true),
            b"f" => Frame::Boolean(false),
            _ => return Err(invalid("bad boolean")),
        },
        b',' => Frame::Double(parse_double(body).ok_or_else(|| invalid("bad double"))?),
        b'_' => Frame::Null,
        b'$' | b'=' => {
            let len = number()?;
            if len < 0 {
                return Ok(Frame::NullBulk);
            }
            let mut data = Vec::with_capacity((len as usize).min(1 << 20));
            reader.take(len as u64 + 2).read_to_end(&mut data)?;
            if data.len() != len as usize + 2 || !data.ends_with(b"\r\n") {
                return Err(invalid("bulk string not followed by CRLF"));
            }
            data.truncate(len as usize);
            if kind == b'=' {
                if data.len() < 4 || data[3] != b':' {
                    return Err(invalid("bad verbatim string"));
                }
                let format = String::from_utf8_lossy(&data[..3]).into_owned();
                return Ok(Frame::Verbatim(format, data[4..].to_vec()));
            }
            Frame::Bulk(data)
        }
        b'*' | b'~' | b'>' => {
            let len = number()?;
            if len < 0 {
                return Ok(Frame::NullArray);
            }
            let mut items = Vec::with_capacity((len as usize).min(1024));
            for _ in 0..len {
                items.push(read_frame_required(reader)?);
            }
            match kind {
                b'*' => Frame::Array(items),
                b'~' => Frame::Set(items),
                _ => Frame::Push(items),
            }
        }
        b'%' | b'|' => {
            let len = number()?;
            let mut pairs = Vec::with_capacity((len.max(0) as usize).min(1024));
            for _ in 0..len {
                let key = read_frame_required(reader)?;
                pairs.push((key, read_frame_required(reader)?));
            }
            if kind == b'|' {
                return Ok(Frame::Attribute(
                    pairs,
                    Box::new(read_frame_required(reader)?),
                ));
            }
            Frame::Map(pairs)
        }
        _ => return Err(invalid("unknown frame type")),
    })
}

/// A RESP3 double's text: a number, `inf`/`-inf`, or the `nan`/`-nan`
/// that Redis prints for a script's NaN.
fn parse_double(body: &[u8]) -> Option<f64> {
    match body {
        b"nan" => Some(f64::NAN),
        b"-nan" => Some(-f64::NAN),
        _ => crate::util::parse_f64(body),
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_encode_as_arrays_of_bulks() {
        let args: [&[u8]; 3] = [b"SET", b"k", b"a\r\nb"];
        let mut out = Vec::new();
        encode_command(&mut out, &args);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n");
        assert_eq!(out, Frame::command(&args).to_bytes());
    }

    #[test]
    fn every_type_round_trips() {
        let frames = vec![
            Frame::Simple("OK".into()),
            Frame::Error("ERR bad".into()),
            Frame::Integer(-7),
            Frame::Bulk(b"a\r\nb".to_vec()),
            Frame::NullBulk,
            Frame::NullArray,
            Frame::Null,
            Frame::Array(vec![Frame::Integer(1), Frame::Bulk(vec![])]),
            Frame::Map(vec![(Frame::Bulk(b"k".to_vec()), Frame::Double(1.5))]),
            Frame::Set(vec![Frame::Boolean(true), Frame::Boolean(false)]),
            Frame::BigNumber("12345678901234567890".into()),
            Frame::Verbatim("txt".into(), b"hello".to_vec()),
            Frame::Push(vec![Frame::Bulk(b"message".to_vec())]),
            Frame::Attribute(
                vec![(Frame::Simple("ttl".into()), Frame::Integer(3))],
                Box::new(Frame::Integer(1)),
            ),
        ];
        for frame in frames {
            let bytes = frame.to_bytes();
            let parsed = read_frame(&mut &bytes[..]).unwrap().unwrap();
            assert_eq!(parsed, frame);
        }
        assert_eq!(
            Frame::Verbatim("txt".into(), b"hi".to_vec()).to_bytes(),
            b"=6\r\ntxt:hi\r\n"
        );
    }
}
