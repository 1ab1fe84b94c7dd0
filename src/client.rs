//! A small blocking client: what the tests and `respd-cli` use to talk to a
//! server. It speaks through the same [`resp`](crate::resp) module as the
//! server.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};

use crate::resp::{read_frame, Frame};

/// One connection to a Redis-compatible server.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    /// Connects (TCP_NODELAY on).
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Client {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
        })
    }

    /// Sends a command and reads its reply.
    pub fn command<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Frame> {
        self.send(args)?;
        self.read_reply()
    }

    /// Sends a command without waiting for the reply (pipelining).
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<()> {
        self.writer.write_all(&Frame::command(args).to_bytes())
    }

    /// Sends raw bytes, as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// Reads the next reply (or pushed message).
    pub fn read_reply(&mut self) -> io::Result<Frame> {
        read_frame(&mut self.reader)?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection")
        })
    }

    /// Reads the next reply together with the exact bytes it arrived as
    /// (`respd-cli --resp` shows them).
    pub fn read_reply_with_bytes(&mut self) -> io::Result<(Frame, Vec<u8>)> {
        let mut recorder = Recorder {
            inner: &mut self.reader,
            seen: Vec::new(),
        };
        let frame = read_frame(&mut recorder)?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection")
        })?;
        Ok((frame, recorder.seen))
    }

    /// SET key value.
    pub fn set(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> io::Result<()> {
        match self.command(&[b"SET".as_ref(), key.as_ref(), value.as_ref()])? {
            Frame::Simple(_) => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// GET key.
    pub fn get(&mut self, key: impl AsRef<[u8]>) -> io::Result<Option<Vec<u8>>> {
        match self.command(&[b"GET".as_ref(), key.as_ref()])? {
            Frame::Bulk(value) => Ok(Some(value)),
            Frame::NullBulk | Frame::Null => Ok(None),
            other => Err(unexpected(other)),
        }
    }

    /// The underlying socket (to set timeouts, or shut it down).
    pub fn stream(&self) -> &TcpStream {
        &self.writer
    }
}

/// A reader that remembers every byte its user consumed.
struct Recorder<'a, R> {
    inner: &'a mut R,
    seen: Vec<u8>,
}

impl<R: BufRead> Read for Recorder<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Recorder<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Ok(buffered) = self.inner.fill_buf() {
            let n = amount.min(buffered.len());
            self.seen.extend_from_slice(&buffered[..n]);
        }
        self.inner.consume(amount);
    }
}

fn unexpected(frame: Frame) -> io::Error {
    match frame {
        Frame::Error(message) => io::Error::other(message),
        other => io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unexpected reply {other:?}"),
        ),
    }
}
