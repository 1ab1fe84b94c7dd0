//! Pipelined differential runs: many commands sent at once (a writer
//! thread, so neither side blocks on a full socket), each reply read back
//! as its raw bytes, to compare two servers byte for byte.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One reply, exactly as it came (nested replies included).
pub fn read_reply(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    read_into(reader, &mut out)?;
    Ok(out)
}

fn read_into(reader: &mut impl BufRead, out: &mut Vec<u8>) -> io::Result<()> {
    let start = out.len();
    reader.read_until(b'\n', out)?;
    let line = &out[start..];
    if line.len() < 3 || !line.ends_with(b"\r\n") {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short reply"));
    }
    let kind = line[0];
    let count: i64 = std::str::from_utf8(&line[1..line.len() - 2])
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    match kind {
        b'$' | b'=' | b'!' if count >= 0 => {
            let mut body = vec![0u8; count as usize + 2];
            reader.read_exact(&mut body)?;
            out.extend_from_slice(&body);
        }
        b'*' | b'~' | b'>' if count > 0 => {
            for _ in 0..count {
                read_into(reader, out)?;
            }
        }
        b'%' if count > 0 => {
            for _ in 0..2 * count {
                read_into(reader, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Sends every command to `addr` on one connection (after `HELLO 3` when
/// `resp3`, whose reply is dropped) and returns the raw replies, in order.
pub fn run(addr: SocketAddr, commands: &[Vec<Vec<u8>>], resp3: bool) -> Vec<Vec<u8>> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let auth = super::auth_request();
    let mut request = auth.clone().unwrap_or_default();
    if resp3 {
        respd::resp::encode_command(&mut request, &[b"HELLO".as_slice(), b"3"]);
    }
    for command in commands {
        respd::resp::encode_command(&mut request, command);
    }
    let mut writer = stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || writer.write_all(&request));
    let mut reader = BufReader::with_capacity(1 << 16, stream);
    if auth.is_some() {
        read_reply(&mut reader).expect("AUTH reply");
    }
    if resp3 {
        read_reply(&mut reader).expect("HELLO reply");
    }
    let replies = commands
        .iter()
        .map(|command| {
            read_reply(&mut reader).unwrap_or_else(|e| {
                panic!(
                    "no reply to {:?}: {e}",
                    String::from_utf8_lossy(&command[0])
                )
            })
        })
        .collect();
    sender.join().expect("writer").expect("write");
    replies
}

/// Runs the same commands on both servers and asserts the replies are
/// identical, naming the first command that differs. Returns how many.
pub fn assert_same(
    respd: SocketAddr,
    redis: SocketAddr,
    commands: &[Vec<Vec<u8>>],
    resp3: bool,
) -> usize {
    let ours = run(respd, commands, resp3);
    let theirs = run(redis, commands, resp3);
    let protocol = if resp3 { 3 } else { 2 };
    let cases: String = commands
        .iter()
        .map(|command| {
            let name = String::from_utf8_lossy(&command[0]).to_ascii_uppercase();
            format!("case RESP{protocol} {name}\n")
        })
        .collect();
    super::record_cases(&cases);
    for ((command, ours), theirs) in commands.iter().zip(&ours).zip(&theirs) {
        if ours != theirs {
            let shown: Vec<String> = command
                .iter()
                .take(16)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            panic!(
                "{shown:?} (RESP{}):\n respd: {:?}\n redis: {:?}",
                if resp3 { 3 } else { 2 },
                String::from_utf8_lossy(ours),
                String::from_utf8_lossy(theirs)
            );
        }
    }
    commands.len()
}

/// A small xorshift generator: fixed seeds make failures reproduce.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    /// A float in `[min, max)`.
    pub fn between(&mut self, min: f64, max: f64) -> f64 {
        min + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (max - min)
    }
}

/// Counts the commands of a workload by name (upper case).
pub fn tally(commands: &[Vec<Vec<u8>>], into: &mut std::collections::BTreeMap<String, usize>) {
    for command in commands {
        *into
            .entry(String::from_utf8_lossy(&command[0]).to_ascii_uppercase())
            .or_default() += 1;
    }
}

/// A command from string arguments.
pub fn command(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

/// The keyspace events `commands` cause on `addr` (every class on), as the
/// raw `pmessage` frames a pattern subscriber receives, in order.
pub fn events(addr: SocketAddr, commands: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    let setup = [command(&["CONFIG", "SET", "notify-keyspace-events", "KEA"])];
    run(addr, &setup, false);
    let subscriber = TcpStream::connect(addr).expect("connect");
    subscriber
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let auth = super::auth_request();
    let mut request = auth.clone().unwrap_or_default();
    respd::resp::encode_command(&mut request, &[b"PSUBSCRIBE".as_slice(), b"__key*__:*"]);
    (&subscriber).write_all(&request).expect("write");
    let mut reader = BufReader::new(subscriber);
    if auth.is_some() {
        read_reply(&mut reader).expect("AUTH reply");
    }
    read_reply(&mut reader).expect("psubscribe reply");
    let mut all = commands.to_vec();
    all.push(command(&["PUBLISH", "__keyspace@0__:sync", "done"]));
    run(addr, &all, false);
    let mut seen = Vec::new();
    loop {
        let message = read_reply(&mut reader).expect("event");
        if message.ends_with(b"$4\r\ndone\r\n") {
            return seen;
        }
        seen.push(message);
    }
}
