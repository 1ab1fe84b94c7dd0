//! A raw client connection that reads replies frame by frame (any RESP2
//! or RESP3 type), for tests that must see every byte and must fail, not
//! hang, when a reply never comes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::cmd;

/// One client connection, reading replies frame by frame (raw bytes).
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut conn = Conn {
            reader: BufReader::new(stream),
        };
        if super::as_test_user() {
            let (user, password) = super::TEST_USER;
            assert_eq!(
                conn.call(&["AUTH", user, password]),
                "+OK\r\n",
                "AUTH as the test user"
            );
        }
        conn
    }

    /// Sends a command without waiting for its reply.
    pub fn send(&mut self, args: &[&str]) {
        self.reader.get_mut().write_all(&cmd(args)).expect("write");
    }

    /// Sends a command and returns its reply.
    pub fn call(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.frame()
    }

    /// Reads one whole frame (of any RESP2/RESP3 type) as text; panics
    /// when none comes within the timeout: the client was left hanging.
    pub fn frame(&mut self) -> String {
        let mut out = Vec::new();
        self.frame_into(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn line(&mut self, out: &mut Vec<u8>) -> Vec<u8> {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(n) if n > 0 && line.ends_with(b"\r\n") => {}
            other => panic!(
                "no reply (the client hangs?): {other:?}, got so far {:?}",
                String::from_utf8_lossy(out)
            ),
        }
        out.extend_from_slice(&line);
        line.truncate(line.len() - 2);
        line
    }

    fn frame_into(&mut self, out: &mut Vec<u8>) {
        let line = self.line(out);
        let count = || -> i64 {
            std::str::from_utf8(&line[1..])
                .ok()
                .and_then(|n| n.parse().ok())
                .expect("length")
        };
        match line.first() {
            Some(b'$' | b'=' | b'!') if count() >= 0 => {
                let mut body = vec![0u8; count() as usize + 2];
                self.reader.read_exact(&mut body).expect("bulk body");
                out.extend_from_slice(&body);
            }
            Some(b'*' | b'>' | b'~') => (0..count().max(0)).for_each(|_| self.frame_into(out)),
            Some(b'%') => (0..2 * count()).for_each(|_| self.frame_into(out)),
            _ => {}
        }
    }

    /// Asserts nothing arrives within a short while (replies switched off).
    pub fn silent(&mut self) -> String {
        let stream = self.reader.get_mut();
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let mut got = self.reader.buffer().to_vec();
        let mut buf = [0u8; 4096];
        if let Ok(n) = self.reader.get_mut().read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        self.reader
            .get_mut()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        String::from_utf8_lossy(&got).into_owned()
    }

    /// One `field:value` line of INFO `section`.
    pub fn info_field(&mut self, section: &str, field: &str) -> String {
        let info = self.call(&["INFO", section]);
        let prefix = format!("{field}:");
        info.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or("")
            .to_string()
    }
}
