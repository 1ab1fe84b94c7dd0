//! RESP, the Redis serialization protocol: frames, the parsers and the reply
//! writer. Nothing here knows about the server; the client uses it too.
//!
//! * [`Frame`] is every RESP2 and RESP3 type as a value, with its exact
//!   encoding ([`Frame::encode`]) and a parser ([`read_frame`]) for replies.
//! * [`read_command`] turns the bytes a client sends (multibulk or inline)
//!   into one command's arguments, or a protocol error worded as Redis's.
//! * [`Reply`] writes a server's replies, choosing RESP2 or RESP3 shapes.

mod frame;
mod parse;
mod reply;

pub use frame::{read_frame, Frame};
pub use parse::{read_command, Limits, ReadError, INLINE_MAX_SIZE};
pub use reply::Reply;
