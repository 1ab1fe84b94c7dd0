//! The command parser: the bytes a client sends → one command's arguments.
//!
//! It reads from any [`BufRead`], so it works the same on a socket, a file
//! or a byte slice, and it is incremental: it never needs the whole command
//! in memory before it starts, and it never allocates what a length header
//! claims before the bytes have arrived. The rules and error texts are
//! Redis 7.0's (`processMultibulkBuffer` and `processInlineBuffer`).

use std::io::{self, BufRead, Read};

use crate::util::{parse_i64, split_args_into};

/// The longest inline command, or header line, without a newline (64 KB).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;
/// Bulk strings up to this size are allocated in one go; larger ones grow as
/// their bytes arrive, so a lying header costs nothing.
const EAGER_ALLOC_MAX: usize = 64 * 1024;
/// Before AUTH, Redis refuses commands with more arguments than this...
const UNAUTHENTICATED_MAX_ARGS: i64 = 10;
/// ...or with a bulk string longer than this.
const UNAUTHENTICATED_MAX_BULK: i64 = 16 * 1024;

/// The limits a parse obeys: they come from the server's configuration and
/// the client's authentication state.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `proto-max-bulk-len` (512 MB by default).
    pub max_bulk_len: i64,
    /// `client-query-buffer-limit` (1 GB): the most one command may carry.
    pub max_query_len: u64,
    /// False while a password is required and the client has not given it.
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_query_len: 1 << 30,
            authenticated: true,
        }
    }
}

/// Why no command could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The bytes break the protocol. The text follows `ERR Protocol error: `
    /// and the server closes the connection after sending it.
    Protocol(String),
    /// One command carries more than `client-query-buffer-limit`: Redis
    /// closes such a client without a reply.
    QueryBufferLimit,
    /// The socket failed or closed in the middle of a command.
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(err: io::Error) -> Self {
        ReadError::Io(err)
    }
}

fn protocol(message: &str) -> ReadError {
    ReadError::Protocol(message.to_string())
}

/// A list of arguments longer than this is cut back after its command...
const KEPT_ARGS_MAX: usize = 64;
/// ...and the buffers kept hold this many bytes in all (the first ones
/// kept, the rest let go), so an idle connection does not hold on to its
/// biggest command.
const KEPT_BYTES_MAX: usize = 16 * 1024;

/// One connection's command: the arguments of the last command read, in
/// buffers kept from one command to the next. Reading a command refills
/// them in place, so a steady stream of commands allocates nothing here
/// beyond the first few.
#[derive(Debug, Default)]
pub struct CommandBuf {
    /// Argument buffers; the first `len` hold the current command.
    args: Vec<Vec<u8>>,
    len: usize,
}

impl CommandBuf {
    /// No buffers yet: they come with the first commands.
    pub fn new() -> Self {
        Self::default()
    }

    /// The last command read, its name first.
    pub fn args(&self) -> &[Vec<u8>] {
        &self.args[..self.len]
    }

    /// Reads the next command. `Ok(false)` means the client closed the
    /// connection cleanly between commands. Empty commands (`*0`, `*-1`,
    /// blank inline lines) are skipped, as Redis does.
    pub fn read<R: BufRead>(&mut self, reader: &mut R, limits: &Limits) -> Result<bool, ReadError> {
        // Before waiting for the next command: drop what the last one left
        // beyond the bounds.
        self.trim();
        loop {
            let buffered = reader.fill_buf()?;
            let first = match buffered.first() {
                None => return Ok(false),
                Some(&byte) => byte,
            };
            if first == b'*' {
                if let Some(used) = self.parse_buffered(buffered, limits) {
                    reader.consume(used);
                    return Ok(true);
                }
                self.read_multibulk(reader, limits)?;
            } else {
                self.read_inline(reader)?;
            }
            if self.len > 0 {
                return Ok(true);
            }
        }
    }

    /// Cuts the list back to [`KEPT_ARGS_MAX`] and keeps buffers only up to
    /// [`KEPT_BYTES_MAX`] bytes in all: a bound per buffer would still let
    /// 64 buffers just under it stay (1 MiB per idle connection).
    fn trim(&mut self) {
        if self.args.len() > KEPT_ARGS_MAX {
            self.args.truncate(KEPT_ARGS_MAX);
            self.args.shrink_to(KEPT_ARGS_MAX);
        }
        let mut budget = KEPT_BYTES_MAX;
        for arg in &mut self.args {
            match budget.checked_sub(arg.capacity()) {
                Some(left) => budget = left,
                None => *arg = Vec::new(),
            }
        }
        self.len = 0;
    }

    /// The buffer for argument `index` (the next one), emptied.
    #[inline]
    fn slot(&mut self, index: usize) -> &mut Vec<u8> {
        if index == self.args.len() {
            self.args.push(Vec::new());
        }
        let slot = &mut self.args[index];
        slot.clear();
        slot
    }

    /// The fast path: a whole command already buffered and written the way
    /// clients write it (plain digits, `\r\n` after each header). It scans
    /// the slice once and copies the arguments' bytes into their buffers,
    /// nothing else. None sends the caller down the general path, which
    /// reads across buffer refills and knows every error's text; it starts
    /// again from the same bytes, as nothing is consumed here.
    fn parse_buffered(&mut self, buf: &[u8], limits: &Limits) -> Option<usize> {
        let (count, mut rest) = header_number(buf.get(1..)?)?;
        // Each argument takes at least 6 bytes (`$0\r\n\r\n`): a count the
        // buffer cannot hold is incomplete (or a lie), and no buffer is
        // made for it.
        if count == 0 || !limits.authenticated || count > rest.len() / 6 {
            return None;
        }
        let mut total: u64 = 0;
        for index in 0..count {
            let (b'$', after) = rest.split_first()? else {
                return None;
            };
            let (len, after) = header_number(after)?;
            total += len as u64;
            // The two bytes after the data are skipped unread, as Redis does.
            if after.len() < len + 2 || len as i64 > limits.max_bulk_len {
                return None;
            }
            self.slot(index).extend_from_slice(&after[..len]);
            rest = &after[len + 2..];
        }
        if total > limits.max_query_len {
            return None;
        }
        self.len = count;
        Some(buf.len() - rest.len())
    }

    /// `*<count>\r\n` then `count` times `$<len>\r\n<bytes>\r\n`.
    fn read_multibulk<R: BufRead>(
        &mut self,
        reader: &mut R,
        limits: &Limits,
    ) -> Result<(), ReadError> {
        let count = with_line(reader, b'\r', "too big mbulk count string", |line| {
            parse_i64(&line[1..])
        })?;
        let count = match count {
            Some(n) if n <= i64::from(i32::MAX) => n,
            _ => return Err(protocol("invalid multibulk length")),
        };
        if !limits.authenticated && count > UNAUTHENTICATED_MAX_ARGS {
            return Err(protocol("unauthenticated multibulk length"));
        }
        // The count is a claim, not a fact: buffers are added one by one,
        // as their arguments arrive.
        let count = count.max(0) as usize;
        let mut total: u64 = 0;
        for index in 0..count {
            let header = with_line(
                reader,
                b'\r',
                "too big bulk count string",
                |line| match line.first() {
                    Some(b'$') => Ok(parse_i64(&line[1..])),
                    Some(&other) if other != b'\n' => Err(other),
                    _ => Err(b' '),
                },
            )?;
            let len = match header {
                Err(got) => {
                    return Err(ReadError::Protocol(format!(
                        "expected '$', got '{}'",
                        got as char
                    )))
                }
                Ok(Some(len)) if len >= 0 && len <= limits.max_bulk_len => len,
                Ok(_) => return Err(protocol("invalid bulk length")),
            };
            if !limits.authenticated && len > UNAUTHENTICATED_MAX_BULK {
                return Err(protocol("unauthenticated bulk length"));
            }
            total += len as u64;
            if total > limits.max_query_len {
                return Err(ReadError::QueryBufferLimit);
            }
            read_bulk(reader, len as usize, self.slot(index))?;
        }
        self.len = count;
        Ok(())
    }

    /// A line of text, as telnet or `redis-cli` in inline mode sends it.
    fn read_inline<R: BufRead>(&mut self, reader: &mut R) -> Result<(), ReadError> {
        let args = &mut self.args;
        self.len = with_line(reader, b'\n', "too big inline request", |line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            split_args_into(line, args).map_err(|_| protocol("unbalanced quotes in request"))
        })??;
        Ok(())
    }
}

/// The number a header line starts with, and the bytes after its `\r\n`:
/// None for anything but 1 to 15 digits without a leading zero.
#[inline]
fn header_number(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut value = 0usize;
    for (i, &byte) in bytes.iter().enumerate() {
        let digit = byte.wrapping_sub(b'0');
        if digit < 10 {
            value = value.wrapping_mul(10).wrapping_add(usize::from(digit));
            continue;
        }
        let plain = (1..=15).contains(&i) && (i == 1 || bytes[0] != b'0');
        if byte != b'\r' || !plain || bytes.get(i + 1) != Some(&b'\n') {
            return None;
        }
        return Some((value, &bytes[i + 2..]));
    }
    None
}

/// Reads `len` bytes into `data` and skips the two bytes after them, which
/// Redis skips without looking (they should be `\r\n`).
fn read_bulk<R: BufRead>(reader: &mut R, len: usize, data: &mut Vec<u8>) -> Result<(), ReadError> {
    let buffered = reader.fill_buf()?;
    if buffered.len() >= len + 2 {
        data.extend_from_slice(&buffered[..len]);
        reader.consume(len + 2);
        return Ok(());
    }
    // Only what has arrived grows the buffer beyond this.
    data.reserve_exact(len.min(EAGER_ALLOC_MAX));
    if reader.take(len as u64).read_to_end(data)? < len {
        return Err(eof());
    }
    let mut crlf = [0u8; 2];
    reader.read_exact(&mut crlf)?;
    Ok(())
}

/// Finds the next `delim` and hands `f` the bytes before it, without copying
/// when the whole line is already buffered (the common case). After a `\r`,
/// one more byte (the `\n`) is skipped, as Redis does.
///
/// Redis looks for the delimiter with `strchr`, which stops at a NUL byte:
/// a NUL before the delimiter hides it, and Redis waits for more bytes
/// until the line is too big. So does this.
fn with_line<R: BufRead, T>(
    reader: &mut R,
    delim: u8,
    too_big: &str,
    f: impl FnOnce(&[u8]) -> T,
) -> Result<T, ReadError> {
    let skip_after = usize::from(delim == b'\r');
    let is_end = |b: &u8| *b == delim || *b == 0;
    let buffered = reader.fill_buf()?;
    if let Some(end) = buffered.iter().position(is_end) {
        if buffered[end] == delim && buffered.len() > end + skip_after {
            let value = f(&buffered[..end]);
            reader.consume(end + 1 + skip_after);
            return Ok(value);
        }
    }
    // Slow path: the line spans several reads.
    let mut line = Vec::new();
    let mut seen = 0;
    // Once a NUL has hidden the delimiter, only the size counts.
    let mut hidden = false;
    loop {
        let buffered = reader.fill_buf()?;
        if buffered.is_empty() {
            return Err(eof());
        }
        let end = if hidden {
            None
        } else {
            buffered.iter().position(is_end)
        };
        if let Some(end) = end.filter(|&end| buffered[end] == delim) {
            line.extend_from_slice(&buffered[..end]);
            reader.consume(end + 1);
            break;
        }
        hidden |= end.is_some();
        if !hidden {
            line.extend_from_slice(buffered);
        }
        let n = buffered.len();
        seen += n;
        reader.consume(n);
        if seen > INLINE_MAX_SIZE {
            return Err(protocol(too_big));
        }
    }
    if skip_after == 1 {
        let mut newline = [0u8; 1];
        reader.read_exact(&mut newline)?;
    }
    Ok(f(&line))
}

fn eof() -> ReadError {
    ReadError::Io(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed in the middle of a command",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next command as an owned list, None at the end.
    fn read_command(
        reader: &mut impl BufRead,
        limits: &Limits,
    ) -> Result<Option<Vec<Vec<u8>>>, ReadError> {
        let mut command = CommandBuf::new();
        Ok(command
            .read(reader, limits)?
            .then(|| command.args().to_vec()))
    }

    fn parse(bytes: &[u8]) -> Result<Option<Vec<Vec<u8>>>, String> {
        read_command(&mut &bytes[..], &Limits::default()).map_err(|e| match e {
            ReadError::Protocol(m) => m,
            other => format!("{other:?}"),
        })
    }

    fn args(list: &[&str]) -> Option<Vec<Vec<u8>>> {
        Some(list.iter().map(|s| s.as_bytes().to_vec()).collect())
    }

    #[test]
    fn multibulk_and_inline() {
        assert_eq!(
            parse(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
            Ok(args(&["GET", "k"]))
        );
        assert_eq!(
            parse(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n"),
            Ok(args(&["PING"]))
        );
        assert_eq!(parse(b"SET a \"b c\"\n"), Ok(args(&["SET", "a", "b c"])));
        assert_eq!(parse(b"\r\n\nPING\r\n"), Ok(args(&["PING"])));
        assert_eq!(parse(b""), Ok(None));
    }

    #[test]
    fn protocol_errors_read_as_redis() {
        assert_eq!(parse(b"*x\r\n").unwrap_err(), "invalid multibulk length");
        assert_eq!(
            parse(b"*2147483648\r\n").unwrap_err(),
            "invalid multibulk length"
        );
        assert_eq!(parse(b"*1\r\n:1\r\n").unwrap_err(), "expected '$', got ':'");
        assert_eq!(parse(b"*1\r\n$-1\r\n").unwrap_err(), "invalid bulk length");
        assert_eq!(
            parse(b"*1\r\n$536870913\r\n").unwrap_err(),
            "invalid bulk length"
        );
        assert_eq!(
            parse(b"SET \"a\n").unwrap_err(),
            "unbalanced quotes in request"
        );
        let long = vec![b'a'; INLINE_MAX_SIZE + 10];
        assert_eq!(parse(&long).unwrap_err(), "too big inline request");
    }

    #[test]
    fn a_nul_hides_the_end_of_a_line_as_in_redis() {
        // Redis finds line ends with strchr, which stops at a NUL.
        assert!(parse(b"SET a\0b\r\nPING\r\n")
            .unwrap_err()
            .contains("UnexpectedEof"));
        assert!(parse(b"*1\0\r\n").unwrap_err().contains("UnexpectedEof"));
        let mut hidden = b"PING\0\r\n".to_vec();
        hidden.resize(INLINE_MAX_SIZE + 1, b'a');
        assert_eq!(parse(&hidden).unwrap_err(), "too big inline request");
    }

    /// Every command until the end or the first error.
    fn read_all(mut reader: impl BufRead) -> Vec<Result<Vec<Vec<u8>>, String>> {
        let mut commands = Vec::new();
        // One buffer for all, as a connection reads them.
        let mut command = CommandBuf::new();
        loop {
            match command.read(&mut reader, &Limits::default()) {
                Ok(true) => commands.push(Ok(command.args().to_vec())),
                Ok(false) => return commands,
                Err(e) => {
                    commands.push(Err(format!("{e:?}")));
                    return commands;
                }
            }
        }
    }

    #[test]
    fn the_fast_path_reads_as_the_general_one() {
        // Through a 1-byte buffer no command is ever whole, so only the
        // general path runs; from a slice, the fast one takes what it can.
        let general = |bytes| read_all(std::io::BufReader::with_capacity(1, bytes));
        let fast = |bytes| read_all(bytes);
        for input in [
            &b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n"[..],
            b"*1\r\n$0\r\n\r\n",
            b"*1\r\n$03\r\nabc\r\n",
            b"*01\r\n$3\r\nabc\r\n",
            b"*1\r\n$+3\r\nabc\r\n",
            b"*1\r\n$-1\r\n",
            b"*1\r\n$3\r\nabcXY*1\r\n$1\r\nx\r\n",
            b"*1\r\n$3\rXabc\r\n",
            b"*1\n$3\r\nabc\r\n",
            b"*2\r\n$1\r\na\r\n",
            b"*9\r\n$1\r\na\r\n",
            b"*1\r\n$1\0\r\na\r\n",
            b"*1\r\n$99999999999999999999\r\n",
            b"*1\r\n:3\r\n",
        ] {
            assert_eq!(fast(input), general(input), "{}", input.escape_ascii());
        }
    }

    #[test]
    fn lying_headers_allocate_nothing_up_front() {
        let limits = Limits::default();
        let mut reader = std::io::BufReader::new(&b"*1\r\n$536870912\r\nabc"[..]);
        assert!(matches!(
            read_command(&mut reader, &limits),
            Err(ReadError::Io(_))
        ));
    }

    #[test]
    fn a_reused_buffer_holds_only_the_current_command() {
        let input = b"*4\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$9\r\nlong-long\r\n$2\r\nNX\r\n\
            *2\r\n$3\r\nGET\r\n$1\r\nk\r\n\
            SET a 'b c'\r\n\
            *3\r\n$4\r\nECHO\r\n$0\r\n\r\n$1\r\nz\r\n\
            *1\r\n$4\r\nPING\r\n";
        let expected = [
            &["SET", "key:1", "long-long", "NX"][..],
            &["GET", "k"],
            &["SET", "a", "b c"],
            &["ECHO", "", "z"],
            &["PING"],
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|list| Ok(args(list).unwrap()))
            .collect();
        assert_eq!(read_all(&input[..]), expected);
        assert_eq!(
            read_all(std::io::BufReader::with_capacity(1, &input[..])),
            expected
        );
    }

    #[test]
    fn the_same_command_again_reuses_the_same_buffers() {
        let mut command = CommandBuf::new();
        let mut reader = &b"*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n*2\r\n$3\r\nGET\r\n$2\r\nk2\r\n"[..];
        let addresses = |command: &CommandBuf| -> Vec<_> {
            command.args().iter().map(|arg| arg.as_ptr()).collect()
        };
        assert!(command.read(&mut reader, &Limits::default()).unwrap());
        let first = addresses(&command);
        assert!(command.read(&mut reader, &Limits::default()).unwrap());
        assert_eq!(command.args()[1], b"k2");
        assert_eq!(addresses(&command), first);
    }

    #[test]
    fn many_arguments_just_under_a_buffer_bound_are_not_all_kept() {
        // 63 keys of 16000 bytes: each under any per-buffer bound.
        let keys: Vec<String> = (0..63).map(|i| format!("{i:016000}")).collect();
        let mut del = vec!["DEL"];
        del.extend(keys.iter().map(String::as_str));
        let input = crate::resp::Frame::command(&del).to_bytes();
        let mut reader = &input[..];
        let mut command = CommandBuf::new();
        assert!(command.read(&mut reader, &Limits::default()).unwrap());
        assert!(!command.read(&mut reader, &Limits::default()).unwrap());
        let kept: usize = command.args.iter().map(Vec::capacity).sum();
        assert!(kept <= KEPT_BYTES_MAX, "{kept} bytes kept");
    }

    #[test]
    fn a_big_command_leaves_no_big_buffers_behind() {
        let many: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        let mut big: Vec<&str> = vec!["RPUSH", "list"];
        big.extend(many.iter().map(String::as_str));
        let value = "v".repeat(100_000);
        let mut input = crate::resp::Frame::command(&big).to_bytes();
        input.extend(crate::resp::Frame::command(&["SET", "k", value.as_str()]).to_bytes());
        let mut reader = &input[..];
        let mut command = CommandBuf::new();
        assert!(command.read(&mut reader, &Limits::default()).unwrap());
        assert_eq!(command.args().len(), 1002);
        assert!(command.read(&mut reader, &Limits::default()).unwrap());
        assert_eq!(command.args()[2].len(), 100_000);
        // Waiting for the next command, the connection keeps little.
        assert!(!command.read(&mut reader, &Limits::default()).unwrap());
        assert!(command.args().is_empty());
        assert!(command.args.capacity() <= KEPT_ARGS_MAX);
        assert!(command.args.iter().map(Vec::capacity).sum::<usize>() <= KEPT_BYTES_MAX);
    }
}
