//! The reply writer: what a handler says, in the bytes of the protocol the
//! client chose with HELLO. Every RESP2-versus-RESP3 difference lives here.

use crate::util::{format_double, push_i64};

/// A connection's pending output and its protocol version. Handlers append
/// replies; the connection sends them when it runs out of input to process.
#[derive(Debug, Default)]
pub struct Reply {
    /// The encoded bytes not yet sent.
    pub buf: Vec<u8>,
    /// True once the client has switched to RESP3 with `HELLO 3`.
    pub resp3: bool,
    /// Set by a connection that sends its replies in batches: the append-
    /// only file is then brought to disk once per batch, before it is sent
    /// (up to `log_upto`), instead of once per command.
    pub defer_log: bool,
    /// The end of the log entries the replies in `buf` depend on.
    pub log_upto: u64,
}

impl Reply {
    /// An empty buffer speaking RESP2, as every connection starts.
    pub fn new() -> Self {
        Reply::default()
    }

    /// Encodes a reply ahead of time, for a client that is not the one
    /// running the current command (a blocked client served by a push).
    pub fn encoded(resp3: bool, write: impl FnOnce(&mut Reply)) -> Vec<u8> {
        let mut reply = Reply {
            resp3,
            ..Reply::default()
        };
        write(&mut reply);
        reply.buf
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string: `+text`.
    pub fn simple(&mut self, text: &str) {
        self.line(b'+', text.as_bytes());
    }

    /// An error: `-CODE message`. Line breaks would end the frame early, so
    /// they become spaces, as Redis does.
    pub fn error(&mut self, message: &str) {
        self.buf.push(b'-');
        self.buf.extend(
            message
                .bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `:n`
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    /// A bulk string: `$len` and the bytes.
    pub fn bulk(&mut self, bytes: &[u8]) {
        self.header(b'$', bytes.len() as i64);
        self.buf.extend_from_slice(bytes);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding a number's decimal digits.
    pub fn bulk_int(&mut self, n: i64) {
        let mut digits = Vec::with_capacity(20);
        push_i64(&mut digits, n);
        self.bulk(&digits);
    }

    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        self.buf
            .extend_from_slice(if self.resp3 { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// A missing array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        self.buf
            .extend_from_slice(if self.resp3 { b"_\r\n" } else { b"*-1\r\n" });
    }

    /// The header of an array of `len` replies, which follow.
    pub fn array(&mut self, len: usize) {
        self.header(b'*', len as i64);
    }

    /// The header of a map of `len` pairs: `%len` in RESP3, a flat array of
    /// `2 * len` items in RESP2. Keys and values follow, alternating.
    pub fn map(&mut self, len: usize) {
        if self.resp3 {
            self.header(b'%', len as i64);
        } else {
            self.header(b'*', 2 * len as i64);
        }
    }

    /// The header of a set: `~len` in RESP3, an array in RESP2.
    pub fn set(&mut self, len: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, len as i64);
    }

    /// The header of out-of-band data (Pub/Sub): `>len` in RESP3, an array in
    /// RESP2.
    pub fn push(&mut self, len: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, len as i64);
    }

    /// A double: `,1.5` in RESP3, a bulk string in RESP2.
    pub fn double(&mut self, value: f64) {
        let text = format_double(value);
        if self.resp3 {
            self.line(b',', text.as_bytes());
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// A number too big for an integer: `(digits` in RESP3, a bulk string
    /// in RESP2.
    pub fn big_number(&mut self, digits: &[u8]) {
        if self.resp3 {
            self.line(b'(', digits);
        } else {
            self.bulk(digits);
        }
    }

    /// The header of an attribute (RESP3 only): `|len`, then `len` pairs
    /// of data about the reply that follows it.
    pub fn attribute(&mut self, len: usize) {
        self.header(b'|', len as i64);
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, value: bool) {
        if self.resp3 {
            self.buf
                .extend_from_slice(if value { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(i64::from(value));
        }
    }

    /// Text meant for people (INFO, CLIENT LIST): `=len txt:...` in RESP3,
    /// a bulk string in RESP2.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.header(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Several bulk strings as an array.
    pub fn bulks<'a, I: ExactSizeIterator<Item = &'a [u8]>>(&mut self, items: I) {
        self.array(items.len());
        items.for_each(|item| self.bulk(item));
    }

    fn line(&mut self, kind: u8, text: &[u8]) {
        self.buf.push(kind);
        self.buf.extend_from_slice(text);
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    fn header(&mut self, kind: u8, n: i64) {
        self.buf.push(kind);
        push_i64(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_protocol_version() {
        let mut two = Reply::new();
        let mut three = Reply {
            resp3: true,
            ..Reply::new()
        };
        for r in [&mut two, &mut three] {
            r.null();
            r.map(1);
            r.double(1.5);
            r.boolean(true);
        }
        assert_eq!(two.buf, b"$-1\r\n*2\r\n$3\r\n1.5\r\n:1\r\n");
        assert_eq!(three.buf, b"_\r\n%1\r\n,1.5\r\n#t\r\n");
    }
}
