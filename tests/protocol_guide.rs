//! docs/PROTOCOL.md's examples are real: every ```resp block of the guide
//! is replayed against a fresh in-process respd, and each reply must match
//! the guide byte for byte. Blocks not tagged `respd-only` are replayed
//! against a real Redis 7.0 too, when redis-server is installed.
//!
//! The block convention (also described in the guide itself):
//!
//! * `C: bytes` sends bytes from the client; consecutive `C:` lines go out
//!   in one write, so a pipeline is several `C:` lines in a row.
//! * `S: bytes` is what the server must answer; consecutive `S:` lines are
//!   joined and compared as one, byte for byte.
//! * `S: <closed>`: the server must have closed the connection.
//! * `C2:` / `S2:` (any digit) speak on a second connection, opened on
//!   first use; `C:` / `S:` are connection 1.
//! * Bytes are written visibly: `\r`, `\n`, `\t`, `\\` and `\xHH`
//!   (`respd::resp::trace::unescape`). Blank lines are ignored; any other
//!   line is an error, so a typo cannot silently skip a check.
//!
//! Each block gets a new server (respd) or an emptied one (Redis, after
//! FLUSHALL), and new connections.

mod common;

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{cmd, exchange, RealRedis};
use respd::resp::trace::{unescape, visible};

const GUIDE: &str = include_str!("../docs/PROTOCOL.md");
/// After a block, a connection is given this long to show stray bytes.
const QUIET: Duration = Duration::from_millis(30);

#[derive(Debug, PartialEq)]
enum Step {
    Send(usize, Vec<u8>),
    Expect(usize, Vec<u8>),
    Closed(usize),
}

/// One ```resp block: where it starts in the guide, and its steps.
#[derive(Debug)]
struct Block {
    line: usize,
    respd_only: bool,
    steps: Vec<Step>,
}

fn blocks(guide: &str) -> Vec<Block> {
    parse_blocks(guide).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_blocks(guide: &str) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (index, line) in guide.lines().enumerate() {
        let number = index + 1;
        if let Some(block) = &mut current {
            if line.trim_start().starts_with("```") {
                blocks.extend(current.take());
            } else {
                block
                    .add(line)
                    .map_err(|e| format!("PROTOCOL.md:{number}: {e}"))?;
            }
        } else if let Some(info) = line.trim_start().strip_prefix("```resp") {
            let tags: Vec<&str> = info.split_whitespace().collect();
            if tags.iter().any(|t| *t != "respd-only") {
                return Err(format!(
                    "PROTOCOL.md:{number}: unknown block tag in {info:?}"
                ));
            }
            current = Some(Block {
                line: number,
                respd_only: !tags.is_empty(),
                steps: Vec::new(),
            });
        }
    }
    match current {
        Some(block) => Err(format!("PROTOCOL.md:{}: block not closed", block.line)),
        None => Ok(blocks),
    }
}

impl Block {
    fn add(&mut self, line: &str) -> Result<(), String> {
        let line = line.trim_start();
        if line.is_empty() {
            return Ok(());
        }
        let (tag, text) = line
            .split_once(':')
            .ok_or_else(|| format!("not a C: or S: line: {line:?}"))?;
        let text = text
            .strip_prefix(' ')
            .ok_or_else(|| format!("a space must follow {tag}:"))?;
        let (side, digits) = tag.split_at(1);
        let conn = match digits {
            "" => 1,
            d => d.parse().map_err(|_| format!("bad line tag {tag:?}"))?,
        };
        let step = match (side, text) {
            ("S", "<closed>") => Step::Closed(conn),
            ("C", _) => Step::Send(conn, unescape(text)?),
            ("S", _) => Step::Expect(conn, unescape(text)?),
            _ => return Err(format!("bad line tag {tag:?}")),
        };
        // Consecutive lines of one kind and connection are one step.
        match (self.steps.last_mut(), &step) {
            (Some(Step::Send(c, bytes)), Step::Send(d, more))
            | (Some(Step::Expect(c, bytes)), Step::Expect(d, more))
                if c == d =>
            {
                bytes.extend_from_slice(more);
            }
            _ => self.steps.push(step),
        }
        Ok(())
    }

    /// Replays the block against `addr`; the error says what differed.
    fn run(&self, addr: SocketAddr) -> Result<(), String> {
        let mut conns: BTreeMap<usize, TcpStream> = BTreeMap::new();
        for step in &self.steps {
            let (Step::Send(conn, _) | Step::Expect(conn, _) | Step::Closed(conn)) = step;
            let stream = conns.entry(*conn).or_insert_with(|| common::raw(addr));
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            match step {
                Step::Send(_, bytes) => stream.write_all(bytes).map_err(|e| e.to_string())?,
                Step::Expect(conn, expected) => {
                    let got = read_up_to(stream, expected.len());
                    if &got != expected {
                        return Err(format!(
                            "connection {conn}:\n  expected {}\n  got      {}",
                            visible(expected),
                            visible(&got)
                        ));
                    }
                }
                Step::Closed(conn) => {
                    let got = read_up_to(stream, 1);
                    if !got.is_empty() {
                        return Err(format!(
                            "connection {conn}: expected it closed, got {}",
                            visible(&got)
                        ));
                    }
                }
            }
        }
        for (conn, stream) in &mut conns {
            stream.set_read_timeout(Some(QUIET)).expect("timeout");
            let stray = read_up_to(stream, 4096);
            if !stray.is_empty() {
                return Err(format!(
                    "connection {conn}: bytes the guide does not show: {}",
                    visible(&stray)
                ));
            }
        }
        Ok(())
    }
}

/// Reads until `n` bytes, the end of the stream or the read timeout.
fn read_up_to(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut got = vec![0; n];
    let mut filled = 0;
    while filled < n {
        match stream.read(&mut got[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    got.truncate(filled);
    got
}

#[test]
fn every_example_of_the_guide_is_what_respd_sends() {
    if common::as_test_user() {
        eprintln!("skipped as the test user: the guide's sessions are the default user's");
        return;
    }
    let blocks = blocks(GUIDE);
    assert!(blocks.len() >= 20, "only {} blocks found", blocks.len());
    let mut failures = Vec::new();
    for block in &blocks {
        let server = respd::Server::bind("127.0.0.1:0").expect("bind").spawn();
        if let Err(e) = block.run(server.local_addr()) {
            failures.push(format!("PROTOCOL.md:{}: {e}", block.line));
        }
    }
    println!(
        "{} blocks of PROTOCOL.md replayed against respd",
        blocks.len()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_guide_holds_for_redis_too() {
    if common::as_test_user() {
        eprintln!("skipped as the test user: the guide's sessions are the default user's");
        return;
    }
    let Some(redis) = RealRedis::start() else {
        return;
    };
    let mut admin = common::raw(redis.addr);
    let mut failures = Vec::new();
    let mut checked = 0;
    for block in blocks(GUIDE).iter().filter(|b| !b.respd_only) {
        assert_eq!(exchange(&mut admin, &cmd(&["FLUSHALL"]), 5), b"+OK\r\n");
        if let Err(e) = block.run(redis.addr) {
            failures.push(format!("PROTOCOL.md:{}: {e}", block.line));
        }
        checked += 1;
    }
    println!("{checked} blocks of PROTOCOL.md replayed against Redis");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_block_convention_reads_as_documented() {
    let guide = "text\n```resp\nC: PING\\r\\n\nC: PING\\r\\n\n\nS: +PONG\\r\\n\nS: +PONG\\r\\n\nC2: X\nS2: <closed>\n```\n";
    let blocks = blocks(guide);
    assert_eq!(blocks.len(), 1);
    assert_eq!(
        blocks[0].steps,
        [
            Step::Send(1, b"PING\r\nPING\r\n".to_vec()),
            Step::Expect(1, b"+PONG\r\n+PONG\r\n".to_vec()),
            Step::Send(2, b"X".to_vec()),
            Step::Closed(2),
        ]
    );
    for bad in [
        "```resp\nX: PING\n```\n",
        "```resp\nC:PING\n```\n",
        "```resp\nC: \\q\n```\n",
        "```resp typo\n```\n",
        "```resp\nC: PING\n",
    ] {
        assert!(parse_blocks(bad).is_err(), "{bad:?}");
    }
}
