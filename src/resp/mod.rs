//! RESP, the Redis serialization protocol: frames, the parsers and the reply
//! writer. Nothing here knows about the server; the client uses it too.
//!
//! * [`Frame`] is every RESP2 and RESP3 type as a value, with its exact
//!   encoding ([`Frame::encode`]) and a parser ([`read_frame`]) for replies;
//!   [`encode_command`] writes a command without building its frame.
//! * [`CommandBuf`] turns the bytes a client sends (multibulk or inline)
//!   into one command's arguments, or a protocol error worded as Redis's,
//!   reusing its buffers from one command to the next.
//! * [`Reply`] writes a server's replies, choosing RESP2 or RESP3 shapes.
//! * [`trace`] makes bytes visible for people (`\r\n` written out) and
//!   reads each frame in one line: the server's wire trace and
//!   `respd-cli --resp` print it.

mod frame;
mod parse;
mod reply;
pub mod trace;

pub use frame::{encode_command, read_frame, Frame};
pub use parse::{CommandBuf, Limits, ReadError, INLINE_MAX_SIZE};
pub use reply::Reply;
pub use trace::{describe, trace_replies, trace_requests, visible};
