//! One client's connection: read a command, run it, write the reply, until
//! the client leaves.
//!
//! Replies are not sent one by one. They collect in the [`Socket`]'s
//! buffer, and the socket sends them just before it would block waiting for
//! more input, that is, when no further command is already buffered: a
//! pipeline of 10,000 commands is answered in a few large writes, and a
//! lone command is answered at once.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::clients::ClientInfo;
use crate::commands::{self, Context, PeerProbe, Session};
use crate::log::{self, log};
use crate::resp::{read_command, ReadError, Reply};
use crate::shared::Shared;

/// Room for incoming bytes. std's BufReader zeroes its whole buffer on the
/// first read (stable Rust cannot hand it uninitialised memory), so every
/// connection pays for all of it: 4 KiB keeps idle clients cheap, and large
/// bulk strings bypass the buffer anyway.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// After a reply larger than this, the output buffer is given back, so an
/// idle client does not keep a large allocation.
const KEEP_OUTPUT_BYTES: usize = 64 * 1024;

/// The socket as the parser sees it: reading first sends whatever replies
/// are pending, because a read may block.
struct Socket {
    /// Shared with the client registry, which may shut it down (CLIENT KILL)
    /// from another thread. One file descriptor per client, as in Redis.
    stream: Arc<TcpStream>,
    reply: Reply,
    /// The idle timeout currently set on the socket (`timeout`).
    idle_timeout: Option<Duration>,
}

impl Socket {
    fn send_pending(&mut self) -> io::Result<()> {
        if !self.reply.buf.is_empty() {
            let result = (&*self.stream).write_all(&self.reply.buf);
            self.reply.buf.clear();
            if self.reply.buf.capacity() > KEEP_OUTPUT_BYTES {
                self.reply.buf = Vec::new();
            }
            result?;
        }
        Ok(())
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.send_pending()?;
        (&*self.stream).read(buf)
    }
}

/// Serves one client until it disconnects, is killed, or the server stops.
pub fn serve(shared: &Arc<Shared>, stream: TcpStream, local: Option<SocketAddr>) {
    // Without TCP_NODELAY, pipelined clients stall on Nagle's algorithm and
    // delayed ACKs.
    let _ = stream.set_nodelay(true);
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let laddr = stream
        .local_addr()
        .ok()
        .or(local)
        .map(|a| a.to_string())
        .unwrap_or_default();
    let stream = Arc::new(stream);
    let closer = stream.clone();
    let id = shared.clients.next_id();
    let info = Arc::new(ClientInfo::new(
        id,
        peer,
        laddr,
        raw_fd(&stream),
        Box::new(move || {
            let _ = closer.shutdown(Shutdown::Both);
        }),
    ));
    shared.clients.register(info.clone());
    let _registration = Registration { shared, id };
    let mut session = Session::new(info, shared);
    let probe = stream.clone();
    session.peer_closed = PeerProbe(Box::new(move || peer_closed(&probe)));
    let socket = Socket {
        stream,
        reply: Reply::new(),
        idle_timeout: None,
    };
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, socket);
    loop {
        session.refresh_config(shared);
        apply_idle_timeout(reader.get_mut(), session.idle_timeout);
        match read_command(&mut reader, &session.limits) {
            Ok(Some(args)) => {
                let socket = reader.get_mut();
                commands::execute(
                    &mut Context::new(shared, &mut session, &mut socket.reply),
                    args,
                );
                if session.close_after_reply
                    || session
                        .info
                        .killed
                        .load(std::sync::atomic::Ordering::Relaxed)
                {
                    break;
                }
            }
            Ok(None) => break,
            Err(ReadError::Protocol(message)) => {
                log(
                    shared,
                    log::VERBOSE,
                    &format!("Protocol error ({message}) from client id={id}"),
                );
                reader
                    .get_mut()
                    .reply
                    .error(&format!("ERR Protocol error: {message}"));
                break;
            }
            Err(ReadError::QueryBufferLimit) => {
                log(
                    shared,
                    log::WARNING,
                    &format!("Closing client id={id} that reached max query buffer length"),
                );
                break;
            }
            Err(ReadError::Io(_)) => break,
        }
    }
    commands::disconnect(shared, &mut session);
    let socket = reader.get_mut();
    let _ = socket.send_pending();
    let _ = socket.stream.shutdown(Shutdown::Both);
}

/// True when the client has closed its end: asked while its worker is busy
/// with a blocking command and so not reading. Bytes the client sent in the
/// meantime stay in the socket for later.
fn peer_closed(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    let closed = match stream.peek(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock && e.kind() != io::ErrorKind::Interrupted,
    };
    let _ = stream.set_nonblocking(false);
    closed
}

/// Applies `timeout` (seconds of idleness before the server closes a
/// client) when it has changed.
fn apply_idle_timeout(socket: &mut Socket, seconds: u64) {
    let wanted = (seconds > 0).then(|| Duration::from_secs(seconds));
    if wanted != socket.idle_timeout {
        let _ = socket.stream.set_read_timeout(wanted);
        socket.idle_timeout = wanted;
    }
}

/// Removes the client from the registry however the connection ends.
struct Registration<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.shared.clients.unregister(self.id);
    }
}

#[cfg(unix)]
fn raw_fd(stream: &TcpStream) -> i64 {
    use std::os::fd::AsRawFd;
    i64::from(stream.as_raw_fd())
}

#[cfg(not(unix))]
fn raw_fd(_: &TcpStream) -> i64 {
    -1
}
