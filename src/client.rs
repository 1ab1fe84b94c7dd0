//! A small blocking client: what the tests and `respd-cli` use to talk to a
//! server. It speaks through the same [`resp`](crate::resp) module as the
//! server.

use std::io::{self, BufReader, Write};
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

fn unexpected(frame: Frame) -> io::Error {
    match frame {
        Frame::Error(message) => io::Error::other(message),
        other => io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unexpected reply {other:?}"),
        ),
    }
}
