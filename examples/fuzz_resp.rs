//! A deterministic fuzzer for the command parser, on stable Rust.
//!
//! `cargo run --release --example fuzz_resp -- --iterations N --seed S`
//!
//! Each iteration builds an input (valid RESP2 commands, inline commands,
//! RESP3 frames, random bytes, or a mutation of one of those), feeds it to
//! `respd::resp::CommandBuf` (one for the whole input, reused from command
//! to command as a connection does) through a reader that hands out random-sized
//! chunks, and checks that the parser
//! * never panics;
//! * never loops: it finishes in a bounded number of reads and commands;
//! * never holds more memory than a bounded multiple of its input (a
//!   counting global allocator measures the peak, per thread);
//! * agrees with the simple whole-buffer decoder below, written from
//!   Redis 7.0's `processMultibulkBuffer` and `processInlineBuffer`.
//!
//! A parser that allocates without bound makes the run abort for lack of
//! memory (that is how the NUL-byte bug in inline commands showed): rerun
//! with the same seed and fewer iterations to find the input. An input
//! that fails a check is written to `tests/regressions/`, which
//! `tests/hardening.rs` replays on every `cargo test`, as it runs a short
//! fixed-seed fuzz (it includes this file).
//!
//! The library forbids unsafe code. This example is its own crate: a
//! `GlobalAlloc` cannot be written without `unsafe impl`, so the one
//! wrapper below is allowed it, and nothing else is.
#![deny(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, BufReader, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

use respd::resp::{CommandBuf, Limits, ReadError, INLINE_MAX_SIZE};

// ---------------------------------------------------------------- memory

thread_local! {
    /// Bytes this thread holds, and the most it held since the last reset.
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, counting per thread (so parallel tests do not
/// disturb each other's figures).
struct Counting;

fn count(grow: usize, shrink: usize) {
    let _ = LIVE.try_with(|live| {
        let now = (live.get() + grow).saturating_sub(shrink);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

#[allow(unsafe_code)]
// SAFETY: every call is passed on unchanged to the system allocator; the
// counting touches only const-initialised thread-locals, which never
// allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), 0);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), 0);
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(0, layout.size());
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size, layout.size());
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Starts measuring; returns the bytes held now.
fn reset_peak() -> usize {
    let live = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(live));
    live
}

fn peak() -> usize {
    PEAK.with(Cell::get)
}

// ------------------------------------------------------------- randomness

/// splitmix64: small, fast, and the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------- inputs

type Command = Vec<Vec<u8>>;

/// Bytes the protocol gives meaning to, which mutations like to use.
const SPECIAL: &[u8] = b"\r\n\0*$:+-%~>_#,(=|!\"' \t\\0123456789";
const TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"*",
    b"$",
    b"-1",
    b"0",
    b"2147483648",
    b"536870912",
    b"99999999999999999999",
    b"*1\r\n$4\r\nPING\r\n",
    b"\"",
    b"\\x4",
];

/// A bulk length: mostly short, sometimes past the parser's buffers.
fn arg_len(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=79 => rng.below(12),
        80..=97 => rng.below(300),
        _ => rng.below(70_000),
    }
}

fn multibulk(rng: &mut Rng, out: &mut Vec<u8>, commands: &mut Vec<Command>) {
    let args: Command = (0..1 + rng.below(5))
        .map(|_| (0..arg_len(rng)).map(|_| rng.next() as u8).collect())
        .collect();
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in &args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    commands.push(args);
}

fn inline(rng: &mut Rng, out: &mut Vec<u8>, commands: &mut Vec<Command>) {
    const WORD: &[u8] = b"abcXYZ019_:.-@{}";
    let args: Command = (0..1 + rng.below(4))
        .map(|_| (0..1 + rng.below(8)).map(|_| *rng.pick(WORD)).collect())
        .collect();
    for arg in &args {
        out.extend_from_slice(rng.pick::<&[u8]>(&[b" ", b"\t", b"  "]));
        out.extend_from_slice(arg);
    }
    out.extend_from_slice(rng.pick::<&[u8]>(&[b"\r\n", b"\n", b" \r\n"]));
    commands.push(args);
}

/// A RESP3 frame of any type, nested up to `depth` (a server reads these
/// as inline commands, or refuses them).
fn resp3(rng: &mut Rng, out: &mut Vec<u8>, depth: usize) {
    let kind = rng.below(if depth == 0 { 9 } else { 13 });
    let text = format!("{}", rng.next() % 1000);
    match kind {
        0 => out.extend_from_slice(format!("+{text}\r\n").as_bytes()),
        1 => out.extend_from_slice(format!("-ERR {text}\r\n").as_bytes()),
        2 => out.extend_from_slice(format!(":{text}\r\n").as_bytes()),
        3 => out.extend_from_slice(format!("${}\r\n{text}\r\n", text.len()).as_bytes()),
        4 => out.extend_from_slice(b"_\r\n"),
        5 => out.extend_from_slice(rng.pick::<&[u8]>(&[b"#t\r\n", b"#f\r\n"])),
        6 => out.extend_from_slice(format!(",{text}.5\r\n").as_bytes()),
        7 => out.extend_from_slice(format!("({text}{text}\r\n").as_bytes()),
        8 => out.extend_from_slice(format!("={}\r\ntxt:{text}\r\n", text.len() + 4).as_bytes()),
        _ => {
            let (kind, n) = (*rng.pick(b"*%~>|"), rng.below(4));
            out.extend_from_slice(format!("{}{n}\r\n", kind as char).as_bytes());
            let items = if kind == b'%' || kind == b'|' {
                2 * n
            } else {
                n
            };
            for _ in 0..items {
                resp3(rng, out, depth - 1);
            }
        }
    }
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(7) {
            0 if at < input.len() => input[at] = rng.next() as u8,
            1 if at < input.len() => input[at] = *rng.pick(SPECIAL),
            2 => {
                let token = rng.pick(TOKENS);
                input.splice(at..at, token.iter().copied());
            }
            3 => {
                let end = (at + 1 + rng.below(8)).min(input.len());
                input.drain(at.min(end)..end);
            }
            4 => input.truncate(at),
            5 if at < input.len() => {
                let end = (at + 1 + rng.below(16)).min(input.len());
                let copy = input[at..end].to_vec();
                input.splice(at..at, copy);
            }
            _ => input.insert(at, *rng.pick(SPECIAL)),
        }
    }
}

/// One input, with the commands it holds when it was built valid.
fn generate(rng: &mut Rng) -> (Vec<u8>, Option<Vec<Command>>) {
    let mut input = Vec::new();
    let mut commands = Vec::new();
    let mut frames = false;
    for _ in 0..1 + rng.below(4) {
        match rng.below(10) {
            0..=5 => multibulk(rng, &mut input, &mut commands),
            6 | 7 => inline(rng, &mut input, &mut commands),
            8 => {
                input.extend_from_slice(rng.pick::<&[u8]>(&[b"*0\r\n", b"*-1\r\n", b"\r\n", b"\n"]))
            }
            _ => {
                resp3(rng, &mut input, 2);
                frames = true;
            }
        }
    }
    let garbage = rng.chance(3);
    if garbage {
        input = (0..rng.below(64)).map(|_| *rng.pick(SPECIAL)).collect();
    }
    if garbage || rng.chance(60) {
        mutate(rng, &mut input);
        return (input, None);
    }
    (input, (!frames).then_some(commands))
}

fn limits(rng: &mut Rng) -> Limits {
    let mut limits = Limits::default();
    match rng.below(10) {
        0 => limits.authenticated = false,
        1 => limits.max_bulk_len = rng.below(2000) as i64,
        2 => limits.max_query_len = rng.below(5000) as u64,
        _ => {}
    }
    limits
}

fn is_default(limits: &Limits) -> bool {
    let default = Limits::default();
    limits.authenticated
        && limits.max_bulk_len == default.max_bulk_len
        && limits.max_query_len == default.max_query_len
}

// ---------------------------------------------------------- the reference

/// How a decoding ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Every byte was used.
    Clean,
    /// More bytes were needed.
    Incomplete,
    Protocol(String),
    QueryBufferLimit,
    /// Beyond what this decoder models (quoting, over-long lines...): the
    /// commands before it are still compared.
    Unsure,
}

/// Redis's `string2ll`: no sign but `-`, no leading zeros, no spaces.
fn string2ll(text: &[u8]) -> Option<i64> {
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 19 || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(d - b'0');
    }
    if negative {
        (value <= 1 << 63).then(|| (value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

/// Where the line starting at `pos` ends: the index of `delim`, or what
/// stops the search (Redis's `strchr` also stops at a NUL).
fn line_end(input: &[u8], pos: usize, delim: u8, too_big: &str) -> Result<usize, End> {
    match input[pos..].iter().position(|&b| b == delim || b == 0) {
        Some(n) if input[pos + n] == delim && n <= INLINE_MAX_SIZE => Ok(pos + n),
        // Past 64 KB the outcome depends on how the bytes arrive.
        Some(_) if input[pos..].iter().position(|&b| b == 0).is_none() => Err(End::Unsure),
        _ if input.len() - pos > INLINE_MAX_SIZE => Err(End::Protocol(too_big.into())),
        _ => Err(End::Incomplete),
    }
}

/// Decodes a whole buffer the way Redis 7.0 does.
pub fn reference(input: &[u8], limits: &Limits) -> (Vec<Command>, End) {
    let mut commands = Vec::new();
    let mut pos = 0;
    macro_rules! end {
        ($end:expr) => {
            return (commands, $end)
        };
    }
    macro_rules! protocol {
        ($text:expr) => {
            end!(End::Protocol($text.into()))
        };
    }
    while pos < input.len() {
        if input[pos] != b'*' {
            let nl = match line_end(input, pos, b'\n', "too big inline request") {
                Ok(nl) => nl,
                Err(end) => end!(end),
            };
            let line = &input[pos..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().any(|&b| b"\"'\\\x0b\x0c".contains(&b)) {
                end!(End::Unsure);
            }
            let args: Command = line
                .split(|b| b" \t\r".contains(b))
                .filter(|word| !word.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
            if !args.is_empty() {
                commands.push(args);
            }
            pos = nl + 1;
            continue;
        }
        let cr = match line_end(input, pos, b'\r', "too big mbulk count string") {
            Ok(cr) if cr + 1 < input.len() => cr,
            Ok(_) => end!(End::Incomplete),
            Err(end) => end!(end),
        };
        let count = match string2ll(&input[pos + 1..cr]) {
            Some(n) if n <= i64::from(i32::MAX) => n,
            _ => protocol!("invalid multibulk length"),
        };
        if !limits.authenticated && count > 10 {
            protocol!("unauthenticated multibulk length");
        }
        pos = cr + 2;
        let mut args = Vec::new();
        let mut total = 0u64;
        for _ in 0..count.max(0) {
            let cr = match line_end(input, pos, b'\r', "too big bulk count string") {
                Ok(cr) if cr + 1 < input.len() => cr,
                Ok(_) => end!(End::Incomplete),
                Err(end) => end!(end),
            };
            match input[pos] {
                b'$' => {}
                b'\r' | b'\n' => protocol!("expected '$', got ' '"),
                other if other.is_ascii() => {
                    protocol!(format!("expected '$', got '{}'", other as char))
                }
                _ => end!(End::Unsure),
            }
            let len = match string2ll(&input[pos + 1..cr]) {
                Some(n) if n >= 0 && n <= limits.max_bulk_len => n as usize,
                _ => protocol!("invalid bulk length"),
            };
            if !limits.authenticated && len > 16384 {
                protocol!("unauthenticated bulk length");
            }
            total += len as u64;
            if total > limits.max_query_len {
                end!(End::QueryBufferLimit);
            }
            pos = cr + 2;
            if input.len() - pos < len + 2 {
                end!(End::Incomplete);
            }
            args.push(input[pos..pos + len].to_vec());
            pos += len + 2;
        }
        if !args.is_empty() {
            commands.push(args);
        }
    }
    (commands, End::Clean)
}

// ------------------------------------------------------------- the check

/// Hands out the input in random-sized pieces, and counts the reads made
/// after the end: a parser that keeps asking there is looping.
struct Chunks<'a> {
    input: &'a [u8],
    rng: Rng,
    reads_at_end: usize,
}

const MAX_READS_AT_END: usize = 16;

impl Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.input.is_empty() {
            self.reads_at_end += 1;
            if self.reads_at_end > MAX_READS_AT_END {
                return Err(io::Error::other("the parser keeps reading at the end"));
            }
            return Ok(0);
        }
        let n = (1 + self.rng.below(64.min(self.input.len()))).min(buf.len());
        let n = if self.rng.chance(10) {
            self.input.len().min(buf.len())
        } else {
            n
        };
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

/// What the parser made of an input.
fn parse_all(input: &[u8], limits: &Limits, rng: &mut Rng) -> Result<(Vec<Command>, End), String> {
    let capacity = *rng.pick(&[1, 7, 16, 4096, 65536]);
    let chunks = Chunks {
        input,
        rng: Rng::new(rng.next()),
        reads_at_end: 0,
    };
    let mut reader = BufReader::with_capacity(capacity, chunks);
    let mut commands = Vec::new();
    let mut command = CommandBuf::new();
    // Every command uses at least one byte.
    for _ in 0..=input.len() + 1 {
        match command.read(&mut reader, limits) {
            Ok(true) => commands.push(command.args().to_vec()),
            Ok(false) => return Ok((commands, End::Clean)),
            Err(ReadError::Protocol(message)) => return Ok((commands, End::Protocol(message))),
            Err(ReadError::QueryBufferLimit) => return Ok((commands, End::QueryBufferLimit)),
            Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Ok((commands, End::Incomplete))
            }
            Err(ReadError::Io(e)) => return Err(e.to_string()),
        }
    }
    Err("more commands than bytes".into())
}

/// Checks one input; the error says what went wrong.
pub fn check(
    input: &[u8],
    limits: &Limits,
    expected: Option<&[Command]>,
    rng: &mut Rng,
) -> Result<(), String> {
    let base = reset_peak();
    let parsed = catch_unwind(AssertUnwindSafe(|| parse_all(input, limits, rng)));
    let held = peak().saturating_sub(base);
    let (commands, end) = match parsed {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(loop_or_io)) => return Err(loop_or_io),
        Err(_) => return Err("the parser panicked".into()),
    };
    // The parsed arguments themselves, the read buffer, and at most 64 KB
    // reserved ahead for a bulk string whose bytes have not all arrived.
    let bound = 4 * input.len() + 2 * 65536 + 128 * 1024;
    if held > bound {
        return Err(format!(
            "held {held} bytes for a {}-byte input",
            input.len()
        ));
    }
    let (want, want_end) = reference(input, limits);
    if let Some(expected) = expected {
        if want != expected || want_end != End::Clean {
            return Err(format!(
                "the reference decoder disagrees with the generator: {want_end:?}"
            ));
        }
    }
    if want_end == End::Unsure {
        if commands.len() < want.len() || commands[..want.len()] != want[..] {
            return Err("commands differ from the reference".into());
        }
    } else if commands != want || end != want_end {
        return Err(format!(
            "parser: {} commands then {end:?}; reference: {} commands then {want_end:?}",
            commands.len(),
            want.len()
        ));
    }
    Ok(())
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    pub iterations: u64,
    pub bytes: u64,
    pub valid: u64,
    pub failures: Vec<(u64, Vec<u8>, String)>,
}

/// Runs `iterations` checks from `seed`; stops collecting after 10 failures.
pub fn fuzz(iterations: u64, seed: u64) -> Summary {
    let mut summary = Summary::default();
    for i in 0..iterations {
        let mut rng = Rng::new(seed ^ i.wrapping_mul(0xA076_1D64_78BD_642F));
        let limits = limits(&mut rng);
        let (input, valid) = generate(&mut rng);
        // Tight limits make some valid commands too big.
        let valid = valid.filter(|_| is_default(&limits));
        summary.iterations += 1;
        summary.bytes += input.len() as u64;
        summary.valid += u64::from(valid.is_some());
        if let Err(why) = check(&input, &limits, valid.as_deref(), &mut rng) {
            summary.failures.push((i, input, why));
            if summary.failures.len() >= 10 {
                break;
            }
        }
    }
    summary
}

/// Replays a regression file: the input, checked with default limits.
pub fn replay(path: &Path) -> Result<(), String> {
    let input = std::fs::read(path).map_err(|e| e.to_string())?;
    for seed in 0..8 {
        check(&input, &Limits::default(), None, &mut Rng::new(seed))?;
    }
    Ok(())
}

#[allow(dead_code)]
fn main() {
    let mut iterations = 1_000_000u64;
    let mut seed = 1u64;
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok());
        match (pair[0].as_str(), value) {
            ("--iterations", Some(n)) => iterations = n,
            ("--seed", Some(s)) => seed = s,
            _ => {
                eprintln!("usage: fuzz_resp [--iterations N] [--seed S]");
                std::process::exit(2);
            }
        }
    }
    // A panic is a finding, reported below; its message is noise.
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let summary = fuzz(iterations, seed);
    let elapsed = started.elapsed();
    println!(
        "{} iterations ({} valid inputs, {} MB of input) from seed {seed} in {:.1} s: {} failures",
        summary.iterations,
        summary.valid,
        summary.bytes / 1_000_000,
        elapsed.as_secs_f64(),
        summary.failures.len()
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    for (i, input, why) in &summary.failures {
        let path = dir.join(format!("fuzz-seed{seed}-iter{i}.bin"));
        let saved = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, input));
        println!(
            "iteration {i}: {why} (input saved: {}: {saved:?})",
            path.display()
        );
    }
    if !summary.failures.is_empty() {
        std::process::exit(1);
    }
}
