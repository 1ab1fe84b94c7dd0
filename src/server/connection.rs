//! One client's connection: read a command, run it, write the reply, until
//! the client leaves.
//!
//! Replies are not sent one by one. They collect in the [`Socket`]'s
//! buffer, and the socket sends them just before it would block waiting for
//! more input, that is, when no further command is already buffered: a
//! pipeline of 10,000 commands is answered in a few large writes, and a
//! lone command is answered at once.
//!
//! A client that subscribes (or runs MONITOR) also receives bytes its worker
//! did not write: messages from publishers. From then on its bytes go
//! through an [`Outbox`], and a writer thread of its own sends them (see
//! `crate::pubsub`).
//!
//! With `trace` on (`respd --trace yes`, `CONFIG SET trace yes`), every
//! frame is logged at the moment it crosses the socket: requests as the
//! parser consumes them, replies (and Pub/Sub messages) as they are
//! written, in the notation of [`crate::resp::trace`]. A pipeline therefore
//! shows all its requests, then all its replies, as they really travel.

use std::io::{self, BufRead, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::clients::ClientInfo;
use crate::commands::{self, Context, PeerProbe, Session};
use crate::log::{self, log};
use crate::pubsub::{Delivery, Limit, Outbox};
use crate::resp::{trace_replies, trace_requests, CommandBuf, ReadError, Reply};
use crate::shared::Shared;

use super::stream::Stream;

/// Room for incoming bytes, on the worker's stack ([`StackReader`]), while
/// a client sends little at a time: zeroing it touches no further stack
/// page, and one request, or a short pipeline, fits.
const FIRST_READ_BUFFER_BYTES: usize = 256;
/// The buffer of a client that filled the first one (pipelines, mass
/// inserts): Redis's read size. Only such clients touch its pages; large
/// bulk strings bypass it anyway.
const READ_BUFFER_BYTES: usize = 16 * 1024;
/// After a reply larger than this, the output buffer is given back, so an
/// idle client does not keep a large allocation.
const KEEP_OUTPUT_BYTES: usize = 64 * 1024;
/// Stack size of a subscriber's writer thread: it only moves bytes.
const WRITER_STACK_BYTES: usize = 64 * 1024;

/// The socket as the parser sees it: reading first lets go of the gate kept
/// for scripts and sends whatever replies are pending, because a read may
/// block.
struct Socket<'s> {
    /// Shared with the client registry, which may shut it down (CLIENT KILL)
    /// from another thread. One file descriptor per client, as in Redis.
    stream: Arc<Stream>,
    /// Held while whole frames are written, by the worker and by writer
    /// threads alike, so that frames written by two threads never mix.
    write_lock: Arc<Mutex<()>>,
    /// Where the connection's outbox and writer appear when they start.
    push_slot: Arc<PushSlot>,
    reply: Reply,
    /// The idle timeout currently set on the socket (`timeout`).
    idle_timeout: Option<Duration>,
    /// Set once the client subscribes or monitors: replies go there.
    outbox: Option<OutboxRoute>,
    tracer: Tracer,
    /// While tracing: the bytes read from the socket whose command has not
    /// been traced yet (the last command's tail, and what is buffered).
    received: Vec<u8>,
    /// The EXEC gate, kept across the scripts already read (see
    /// `crate::scripting::ScriptGate`): held only while the parser finds
    /// whole commands in the buffer, never across a read or a write.
    #[cfg(feature = "scripting")]
    script_gate: crate::scripting::ScriptGate<'s>,
    #[cfg(not(feature = "scripting"))]
    script_gate: std::marker::PhantomData<&'s Shared>,
}

/// Whether `trace` is on, as of the last configuration change seen, and
/// the connection's name in the log: `[id=3 127.0.0.1:50412]`.
#[derive(Clone)]
struct Tracer {
    shared: Arc<Shared>,
    label: String,
    config_epoch: u64,
    on: bool,
}

impl Tracer {
    fn new(shared: &Arc<Shared>, label: String) -> Tracer {
        let config_epoch = shared
            .config_epoch
            .load(std::sync::atomic::Ordering::Acquire);
        Tracer {
            on: shared.config().trace(),
            shared: shared.clone(),
            label,
            config_epoch,
        }
    }

    /// True when tracing is on. Costs one atomic load unless CONFIG SET
    /// changed something since the last call.
    fn refresh(&mut self) -> bool {
        let epoch = self
            .shared
            .config_epoch
            .load(std::sync::atomic::Ordering::Acquire);
        if epoch != self.config_epoch {
            self.config_epoch = epoch;
            self.on = self.shared.config().trace();
        }
        self.on
    }

    /// Logs each line after the connection's name and `arrow`: `<-` for
    /// what the server received, `->` for what it sent. WARNING is the
    /// level every `loglevel` prints.
    fn log(&self, arrow: &str, lines: Vec<String>) {
        for line in lines {
            log(
                &self.shared,
                log::WARNING,
                &format!("[{}] {arrow} {line}", self.label),
            );
        }
    }
}

/// A connection's outbox and the thread that drains it into the socket.
struct OutboxRoute {
    outbox: Arc<Outbox>,
    writer: Option<JoinHandle<()>>,
    /// The output limit of the client's class (normal or pubsub).
    limit: Limit,
    shared: Arc<Shared>,
}

impl Drop for OutboxRoute {
    /// The writer sends what is queued, then ends; waiting for it keeps the
    /// socket open until then.
    fn drop(&mut self) {
        self.outbox.finish();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Socket<'_> {
    /// Lets go of the gate kept for scripts.
    fn release_script_gate(&mut self) {
        #[cfg(feature = "scripting")]
        commands::HeldGate::release(&mut self.script_gate);
    }

    /// Sends the replies written so far. The gate kept for scripts goes
    /// first: a slow client must not hold up the others.
    fn send_pending(&mut self) -> io::Result<()> {
        self.release_script_gate();
        // With appendfsync always, the batch's writes reach the disk first.
        crate::persistence::aof::before_reply(&self.tracer.shared, &mut self.reply);
        // A writer started by another thread (a push to this client): from
        // now on the replies queue behind what it was sent.
        if self.outbox.is_none() && self.push_slot.started.load(Ordering::Acquire) {
            self.outbox = self.push_slot.adopt();
        }
        if self.tracer.on && self.outbox.is_none() && !self.reply.buf.is_empty() {
            // With an outbox, the writer thread traces what it sends.
            self.tracer.log("->", trace_replies(&self.reply.buf));
        }
        if let (Some(route), false) = (&self.outbox, self.reply.buf.is_empty()) {
            let delivery =
                route
                    .outbox
                    .push_replies(&self.reply.buf, self.reply.resp3, route.limit);
            route.shared.pubsub.note(delivery);
            self.reply.buf.clear();
            if delivery != Delivery::Queued {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
        }
        if !self.reply.buf.is_empty() {
            let result = {
                let _writing = self
                    .write_lock
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                (&*self.stream).write_all(&self.reply.buf)
            };
            if result.is_ok() {
                self.tracer.shared.stats.note_write(self.reply.buf.len());
            }
            self.reply.buf.clear();
            if self.reply.buf.capacity() > KEEP_OUTPUT_BYTES {
                self.reply.buf = Vec::new();
            }
            result?;
        }
        Ok(())
    }
}

impl Read for Socket<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tracer.refresh();
        self.send_pending()?;
        let n = (&*self.stream).read(buf)?;
        if n > 0 {
            self.tracer.shared.stats.note_read(n);
        }
        // The trace may have been switched on while this read was waiting.
        if self.tracer.refresh() {
            self.received.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

/// std's `BufReader`, with its buffer borrowed from the worker's stack:
/// a heap buffer per client would stay with the allocator after a burst of
/// clients has gone (glibc keeps freed memory below live blocks), while a
/// thread's stack goes back to the system when the worker ends.
struct StackReader<'a, R> {
    inner: R,
    buf: &'a mut [u8],
    pos: usize,
    filled: usize,
    /// A read has filled the whole buffer.
    filled_whole: bool,
}

impl<'a, R: Read> StackReader<'a, R> {
    fn new(inner: R, buf: &'a mut [u8]) -> Self {
        StackReader {
            inner,
            buf,
            pos: 0,
            filled: 0,
            filled_whole: false,
        }
    }

    fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The bytes read and not yet consumed.
    #[inline]
    fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..self.filled]
    }
}

impl<R: Read> Read for StackReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // A read as big as the buffer skips it, as BufReader's does.
        if self.pos == self.filled && out.len() >= self.buf.len() {
            return self.inner.read(out);
        }
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for StackReader<'_, R> {
    #[inline]
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled {
            let n = self.inner.read(self.buf)?;
            self.pos = 0;
            self.filled = n;
            self.filled_whole |= n == self.buf.len();
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.filled);
    }
}

/// Traces the bytes the parser consumed since the last call: what the
/// socket read, minus what still waits in the reader's buffer.
fn trace_received(reader: &mut StackReader<'_, &mut Socket<'_>>) {
    let buffered = reader.buffer().len();
    let socket = reader.get_mut();
    if !socket.tracer.on {
        socket.received.clear();
        return;
    }
    let consumed = socket.received.len().saturating_sub(buffered);
    if consumed > 0 {
        socket
            .tracer
            .log("<-", trace_requests(&socket.received[..consumed]));
        socket.received.drain(..consumed);
    }
}

/// Serves one client until it disconnects, is killed, or the server stops.
/// `peer` and `laddr` are the addresses CLIENT LIST shows.
///
/// Every page of its stack that a worker ever touches stays with it, and
/// most clients of a busy server sit idle: so the path from accepting a
/// client, through its first small commands, to its wait for more is kept
/// within the first pages of the stack. Setup and teardown run in frames of
/// their own, rare branches are out of line, and the read buffer starts
/// small; a client that fills it moves to a larger one in a deeper frame
/// ([`serve_with_larger_buffer`]).
#[inline(never)]
pub fn serve(shared: &Arc<Shared>, stream: Stream, peer: String, laddr: String) {
    let _clock = crate::clock::enter(&shared.ambient);
    // The thread's hash keys are made on first use, with a getrandom call:
    // here, high on the stack, rather than deep in the session's setup.
    let _ = std::hash::RandomState::new();
    let mut connection = Connection::open(shared, stream, peer, laddr);
    let _registration = Registration {
        shared,
        id: connection.session.id,
    };
    let Connection {
        session,
        socket,
        command,
        push_slot,
    } = &mut connection;
    let mut first_buffer = [0u8; FIRST_READ_BUFFER_BYTES];
    let mut reader = StackReader::new(&mut *socket, &mut first_buffer);
    if serve_commands(shared, session, command, &mut reader, true) == Served::Outgrown {
        serve_with_larger_buffer(shared, session, command, &mut reader);
    }
    close(shared, session, socket, push_slot);
    // Gone before it leaves the registry, as the client was set up after
    // it joined.
    drop(connection);
}

/// What one connection keeps between commands.
struct Connection<'s> {
    session: Session,
    socket: Socket<'s>,
    command: CommandBuf,
    push_slot: Arc<PushSlot>,
}

impl<'s> Connection<'s> {
    /// Registers the client and builds its session and socket. Each step
    /// runs in a frame of its own, so the deepest is no deeper than it.
    #[inline(never)]
    fn open(shared: &'s Arc<Shared>, stream: Stream, peer: String, laddr: String) -> Self {
        let (info, socket, push_slot) = register(shared, stream, peer, laddr);
        let probe = socket.stream.clone();
        Connection {
            session: new_session(shared, info, probe),
            socket,
            command: CommandBuf::new(),
            push_slot,
        }
    }
}

/// The client's entry in the registry, and its socket.
#[inline(never)]
fn register(
    shared: &Arc<Shared>,
    stream: Stream,
    peer: String,
    laddr: String,
) -> (Arc<ClientInfo>, Socket<'_>, Arc<PushSlot>) {
    // Without TCP_NODELAY, pipelined clients stall on Nagle's algorithm
    // and delayed ACKs.
    stream.set_nodelay();
    let id = shared.clients.next_id();
    let tracer = Tracer::new(shared, format!("id={id} {peer}"));
    let stream = Arc::new(stream);
    let closer = stream.clone();
    let mut info = ClientInfo::new(
        id,
        peer,
        laddr,
        stream.raw_fd(),
        Box::new(move || {
            let _ = closer.shutdown(Shutdown::Both);
        }),
    );
    info.unix_socket = stream.is_unix();
    let write_lock: Arc<Mutex<()>> = Default::default();
    let push_slot: Arc<PushSlot> = Default::default();
    info.push_outbox = Some(push_outbox(
        shared,
        &stream,
        &write_lock,
        &tracer,
        &push_slot,
    ));
    let info = Arc::new(info);
    shared.clients.register(info.clone());
    let socket = Socket {
        stream,
        write_lock,
        push_slot: push_slot.clone(),
        reply: Reply {
            defer_log: true,
            ..Reply::new()
        },
        idle_timeout: None,
        outbox: None,
        tracer,
        received: Vec::new(),
        #[cfg(feature = "scripting")]
        script_gate: crate::scripting::ScriptGate::new(shared),
        #[cfg(not(feature = "scripting"))]
        script_gate: std::marker::PhantomData,
    };
    (info, socket, push_slot)
}

/// The client's session; `probe` tells it whether the peer has gone.
#[inline(never)]
fn new_session(shared: &Arc<Shared>, info: Arc<ClientInfo>, probe: Arc<Stream>) -> Session {
    let mut session = Session::new(info, shared);
    session.peer_closed = PeerProbe(Arc::new(move || peer_closed(&probe)));
    session
}

/// How [`serve_commands`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    /// The connection is over.
    Closed,
    /// A read filled the whole buffer: the client sends more at a time than
    /// it holds. Stopped between two commands.
    Outgrown,
}

/// A client that outgrew the first buffer goes on with a larger one, in a
/// frame below: only such clients touch its pages. What the first buffer
/// still holds moves over.
#[inline(never)]
fn serve_with_larger_buffer(
    shared: &Arc<Shared>,
    session: &mut Session,
    command: &mut CommandBuf,
    first: &mut StackReader<'_, &mut Socket<'_>>,
) {
    let mut buffer = [0u8; READ_BUFFER_BYTES];
    let pending = first.buffer().len();
    buffer[..pending].copy_from_slice(first.buffer());
    first.consume(pending);
    let mut reader = StackReader::new(&mut **first.get_mut(), &mut buffer);
    reader.filled = pending;
    serve_commands(shared, session, command, &mut reader, false);
}

/// Reads and runs commands until the connection ends, or (with
/// `may_outgrow`) until the reader's buffer proves too small.
#[inline(never)]
fn serve_commands(
    shared: &Arc<Shared>,
    session: &mut Session,
    command: &mut CommandBuf,
    reader: &mut StackReader<'_, &mut Socket<'_>>,
    may_outgrow: bool,
) -> Served {
    loop {
        session.refresh_config(shared);
        // Subscribers and monitors are never timed out, as in Redis.
        let listening = session.pubsub.subscribed() || session.pubsub.monitor;
        let idle_timeout = if listening { 0 } else { session.idle_timeout };
        apply_idle_timeout(reader.get_mut(), idle_timeout);
        let read = command.read(reader, &session.limits);
        trace_received(reader);
        match read {
            Ok(true) => {
                run_command(shared, session, command, reader.get_mut());
                if session.replication.handover.is_some() {
                    hand_over_to_replica(shared, session, reader);
                    return Served::Closed;
                }
                if session.close_after_reply
                    || session
                        .info
                        .killed
                        .load(std::sync::atomic::Ordering::Relaxed)
                {
                    return Served::Closed;
                }
                if may_outgrow && reader.filled_whole {
                    return Served::Outgrown;
                }
            }
            Ok(false) | Err(ReadError::Io(_)) => return Served::Closed,
            Err(error) => {
                refuse_input(shared, session.id, reader.get_mut(), error);
                return Served::Closed;
            }
        }
    }
}

/// Runs the command just read; its reply waits in the socket's buffer.
fn run_command(
    shared: &Arc<Shared>,
    session: &mut Session,
    command: &CommandBuf,
    socket: &mut Socket<'_>,
) {
    // Test controls (DEBUG FAIL-NEXT, DEBUG RECORD): what clients send,
    // not what the server runs for itself.
    let injected = if shared.faults.armed() {
        injected_fault(shared, session, command)
    } else {
        None
    };
    match injected {
        Some(error) => socket.reply.error(&error),
        None => {
            let cx = Context::new(shared, session, &mut socket.reply);
            #[cfg(feature = "scripting")]
            let cx = cx.with_script_gate(&mut socket.script_gate);
            commands::execute(&mut { cx }, command.args());
        }
    }
    // QUIT: the client is gone for the others before its last reply
    // reaches it, as Redis frees it right after writing.
    if session.close_after_reply {
        shared.clients.unregister(session.id);
    }
    if session.pubsub.outbox.is_some() {
        route_through_outbox(shared, session, socket);
    }
}

#[cold]
#[inline(never)]
fn injected_fault(shared: &Shared, session: &Session, command: &CommandBuf) -> Option<String> {
    let name = session.info.meta().name.clone();
    shared.faults.intercept(command.args(), session.db, &name)
}

/// SYNC/PSYNC: from now on this connection is a replica's.
#[cold]
#[inline(never)]
fn hand_over_to_replica(
    shared: &Arc<Shared>,
    session: &mut Session,
    reader: &mut StackReader<'_, &mut Socket<'_>>,
) {
    let buffered = reader.buffer().to_vec();
    let socket = reader.get_mut();
    if socket.send_pending().is_ok() {
        let link = std::mem::take(&mut session.replication);
        crate::replication::master::serve(shared, &socket.stream, buffered, &session.info, link);
    }
}

/// A protocol error is answered, then the connection closes; a query
/// buffer over the limit closes it without a word, as in Redis.
#[cold]
#[inline(never)]
fn refuse_input(shared: &Shared, id: u64, socket: &mut Socket<'_>, error: ReadError) {
    match error {
        ReadError::Protocol(message) => {
            log(
                shared,
                log::VERBOSE,
                &format!("Protocol error ({message}) from client id={id}"),
            );
            socket
                .reply
                .error(&format!("ERR Protocol error: {message}"));
        }
        ReadError::QueryBufferLimit => log(
            shared,
            log::WARNING,
            &format!("Closing client id={id} that reached max query buffer length"),
        ),
        ReadError::Io(_) => {}
    }
}

/// The connection ends: its last replies go out, its subscriptions and
/// writer threads end, and the socket closes.
#[inline(never)]
fn close(
    shared: &Arc<Shared>,
    session: &mut Session,
    socket: &mut Socket<'_>,
    push_slot: &PushSlot,
) {
    socket.release_script_gate();
    commands::disconnect(shared, session);
    let _ = socket.send_pending();
    shared.pubsub.forget(&mut session.pubsub);
    // Ends the writer threads, once they have sent what is queued.
    socket.outbox = None;
    drop(push_slot.close());
    let _ = socket.stream.shutdown(Shutdown::Both);
}

/// The connection's outbox and its writer thread, started by whichever
/// thread first needs them: the worker (SUBSCRIBE, MONITOR, CLIENT
/// TRACKING) or another client's (an invalidation pushed to this RESP3
/// client). The worker adopts the writer at its next reply.
#[derive(Default)]
struct PushSlot {
    /// Set once the writer has started.
    started: AtomicBool,
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    outbox: Option<Arc<Outbox>>,
    /// The writer, until the worker adopts it.
    route: Option<OutboxRoute>,
    /// The connection has ended: no writer may start any more.
    closed: bool,
}

impl PushSlot {
    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn adopt(&self) -> Option<OutboxRoute> {
        self.state().route.take()
    }

    /// The connection ends: returns the writer if it was never adopted.
    fn close(&self) -> Option<OutboxRoute> {
        let mut state = self.state();
        state.closed = true;
        state.route.take()
    }
}

/// Builds the connection's [`ClientInfo::push_outbox`]: the first call
/// starts a writer thread on a new outbox; its frames and the worker's
/// direct replies take turns on the socket (`write_lock`) until the worker
/// adopts it.
fn push_outbox(
    shared: &Arc<Shared>,
    stream: &Arc<Stream>,
    write_lock: &Arc<Mutex<()>>,
    tracer: &Tracer,
    slot: &Arc<PushSlot>,
) -> crate::clients::PushOutbox {
    let shared = shared.clone();
    let stream = stream.clone();
    let write_lock = write_lock.clone();
    let tracer = tracer.clone();
    let slot = slot.clone();
    Box::new(move |info: &Arc<ClientInfo>, resp3: bool| {
        let mut state = slot.state();
        if state.closed {
            return None;
        }
        if let Some(outbox) = &state.outbox {
            return Some(outbox.clone());
        }
        let outbox = Outbox::new(info.clone(), resp3);
        let writer = spawn_writer(
            stream.clone(),
            write_lock.clone(),
            outbox.clone(),
            tracer.clone(),
        )?;
        state.outbox = Some(outbox.clone());
        state.route = Some(OutboxRoute {
            outbox: outbox.clone(),
            writer: Some(writer),
            limit: shared.pubsub.output_limits(&shared).normal,
            shared: shared.clone(),
        });
        slot.started.store(true, Ordering::Release);
        Some(outbox)
    })
}

/// After a command of a client that has an outbox: starts its writer thread
/// the first time, and keeps its output limit in step with its class.
fn route_through_outbox(shared: &Arc<Shared>, session: &Session, socket: &mut Socket<'_>) {
    let limits = shared.pubsub.output_limits(shared);
    let limit = if session.pubsub.subscribed() {
        limits.pubsub
    } else {
        limits.normal
    };
    if socket.outbox.is_none() {
        socket.outbox = socket.push_slot.adopt();
    }
    match &mut socket.outbox {
        Some(route) => route.limit = limit,
        // Without a writer the client cannot be served.
        None => session.info.kill(),
    }
}

/// The writer thread: sends the outbox's bytes as they come, until the
/// outbox is closed and drained, or the client is gone. A chunk holds whole
/// frames (replies, messages, MONITOR lines), so it traces frame by frame.
fn spawn_writer(
    stream: Arc<Stream>,
    write_lock: Arc<Mutex<()>>,
    outbox: Arc<Outbox>,
    mut tracer: Tracer,
) -> Option<JoinHandle<()>> {
    thread::Builder::new()
        .name("respd-writer".into())
        .stack_size(WRITER_STACK_BYTES)
        .spawn(move || {
            let mut chunk = Vec::new();
            while outbox.next_chunk(&mut chunk) {
                if tracer.refresh() {
                    tracer.log("->", trace_replies(&chunk));
                }
                let written = {
                    let _writing = write_lock.lock().unwrap_or_else(PoisonError::into_inner);
                    write_chunk(&stream, &chunk)
                };
                if written.is_ok() {
                    tracer.shared.stats.note_write(chunk.len());
                }
                outbox.chunk_written(&mut chunk);
                if written.is_err() {
                    // The client is gone: drop what is queued and wake its
                    // worker, which may be waiting for input.
                    outbox.abort();
                    let _ = stream.shutdown(Shutdown::Both);
                    break;
                }
            }
        })
        .ok()
}

/// `write_all` that rides out the moments when the socket is non-blocking
/// (the worker's [`peer_closed`] probe sets that briefly).
fn write_chunk(stream: &Stream, mut bytes: &[u8]) -> io::Result<()> {
    let mut stream = stream;
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// True when the client has closed its end: asked while its worker is busy
/// with a blocking command and so not reading. Bytes the client sent in the
/// meantime stay in the socket for later.
fn peer_closed(stream: &Stream) -> bool {
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
fn apply_idle_timeout(socket: &mut Socket<'_>, seconds: u64) {
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

#[cfg(test)]
mod tests {
    use super::StackReader;
    use std::io::{BufRead, Read};

    #[test]
    fn the_stack_reader_reads_as_a_bufreader() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut buf = [0u8; 8];
        let mut reader = StackReader::new(&data[..], &mut buf);
        assert_eq!(reader.fill_buf().expect("fill"), &data[..8]);
        // The client sent more than the buffer holds: it has outgrown it.
        assert!(reader.filled_whole);
        reader.consume(3);
        assert_eq!(reader.buffer(), &data[3..8]);
        let mut small = [0u8; 4];
        assert_eq!(reader.read(&mut small).expect("read"), 4);
        assert_eq!(small, [3, 4, 5, 6]);
        // What is buffered comes first; a big read then skips the buffer.
        let mut big = [0u8; 50];
        assert_eq!(reader.read(&mut big).expect("read"), 1);
        assert_eq!(big[0], 7);
        assert_eq!(reader.read(&mut big).expect("read"), 50);
        assert_eq!(&big[..], &data[8..58]);
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).expect("rest");
        assert_eq!(rest, &data[58..]);
        assert!(reader.fill_buf().expect("end").is_empty());
    }

    #[test]
    fn a_short_read_does_not_outgrow_the_buffer() {
        let data = b"*1\r\n$4\r\nPING\r\n";
        let mut buf = [0u8; 256];
        let mut reader = StackReader::new(&data[..], &mut buf);
        assert_eq!(reader.fill_buf().expect("fill"), &data[..]);
        assert!(!reader.filled_whole);
    }
}
