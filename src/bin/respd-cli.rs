//! `respd-cli [-h host] [-p port] [-n db] [-3] [-a password] [--user name] [--resp] [cmd arg ...]`
//!
//! A small redis-cli: it prints replies as redis-cli does in a terminal
//! (`"v"`, `(nil)`, `(integer) 1`, `1) ...`), whether or not stdout is one.
//! Without a command it reads commands line by line from a prompt.
//! `--resp` also shows the bytes that went over the wire, `\r\n` and all,
//! one frame per line with its reading, in the notation of the server's
//! wire trace (`respd::resp::trace`): `->` what was sent, `<-` what came
//! back.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use respd::resp::{trace_replies, trace_requests, Frame};
use respd::util::{format_double, split_args};
use respd::Client;

const USAGE: &str =
    "Usage: respd-cli [-h host] [-p port] [-n db] [-3] [-a password] [--user name] [--resp] [cmd [arg ...]]";

struct Options {
    host: String,
    port: u16,
    db: i64,
    resp3: bool,
    password: Option<String>,
    user: Option<String>,
    auth_warning: bool,
    show_wire: bool,
    command: Vec<String>,
}

fn main() -> ExitCode {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let mut session = match Session::open(&options) {
        Ok(session) => session,
        Err(err) => {
            eprintln!(
                "Could not connect to Redis at {}:{}: {err}",
                options.host, options.port
            );
            return ExitCode::FAILURE;
        }
    };
    let result = if options.command.is_empty() {
        session.interactive(&options)
    } else {
        let args: Vec<Vec<u8>> = options.command.iter().map(|a| a.clone().into()).collect();
        session.run(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("Error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn parse_options(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        host: "127.0.0.1".into(),
        port: 6379,
        db: 0,
        resp3: false,
        password: None,
        user: None,
        auth_warning: true,
        show_wire: false,
        command: Vec::new(),
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("option {name} needs a value"));
        match arg.as_str() {
            "-h" => options.host = value("-h")?,
            "-p" => options.port = value("-p")?.parse().map_err(|_| "bad port")?,
            "-n" => options.db = value("-n")?.parse().map_err(|_| "bad database number")?,
            "-a" | "--pass" => options.password = Some(value(&arg)?),
            "--user" => options.user = Some(value("--user")?),
            "--no-auth-warning" => options.auth_warning = false,
            "-3" => options.resp3 = true,
            "-2" => options.resp3 = false,
            "--resp" => options.show_wire = true,
            "--help" => return Err("respd-cli: a small redis-cli for respd".into()),
            _ => {
                options.command.push(arg);
                options.command.extend(args);
                break;
            }
        }
    }
    Ok(options)
}

/// A connection and what the prompt shows.
struct Session {
    client: Client,
    show_wire: bool,
    db: i64,
}

impl Session {
    /// Connects, then authenticates, switches protocol and selects the
    /// database as asked, the way redis-cli does before the first command.
    fn open(options: &Options) -> io::Result<Session> {
        let client = Client::connect((options.host.as_str(), options.port))?;
        let mut session = Session {
            client,
            show_wire: options.show_wire,
            db: 0,
        };
        if let Some(password) = &options.password {
            if options.auth_warning {
                eprintln!("Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.");
            }
            match &options.user {
                Some(user) => session.setup(&["AUTH", user, password])?,
                None => session.setup(&["AUTH", password])?,
            }
        }
        if options.resp3 {
            session.setup(&["HELLO", "3"])?;
        }
        if options.db != 0 {
            session.setup(&["SELECT", &options.db.to_string()])?;
            session.db = options.db;
        }
        Ok(session)
    }

    /// A command sent before the user's: only an error is shown.
    fn setup(&mut self, args: &[&str]) -> io::Result<()> {
        if let Frame::Error(message) = self.client.command(args)? {
            eprintln!("{}", render(&Frame::Error(message), ""));
        }
        Ok(())
    }

    /// Sends one command and prints its reply.
    fn run(&mut self, args: &[Vec<u8>]) -> io::Result<()> {
        let request = Frame::command(args).to_bytes();
        if self.show_wire {
            print!("{}", wire("->", trace_requests(&request)));
        }
        self.client.send_raw(&request)?;
        let (reply, bytes) = self.client.read_reply_with_bytes()?;
        if self.show_wire {
            print!("{}", wire("<-", trace_replies(&bytes)));
        }
        print!("{}", render(&reply, ""));
        let selected = args[0].eq_ignore_ascii_case(b"select") && matches!(reply, Frame::Simple(_));
        if selected {
            if let Some(db) = args.get(1).and_then(|a| respd::util::parse_i64(a)) {
                self.db = db;
            }
        }
        io::stdout().flush()
    }

    /// The prompt: one command per line until `quit`, `exit` or the end of
    /// input.
    fn interactive(&mut self, options: &Options) -> io::Result<()> {
        let stdin = io::stdin();
        let mut lines = stdin.lock();
        let mut line = Vec::new();
        loop {
            let db = if self.db == 0 {
                String::new()
            } else {
                format!("[{}]", self.db)
            };
            print!("{}:{}{db}> ", options.host, options.port);
            io::stdout().flush()?;
            line.clear();
            if lines.read_until(b'\n', &mut line)? == 0 {
                println!();
                return Ok(());
            }
            let args = match split_args(&line) {
                Ok(args) if args.is_empty() => continue,
                Ok(args) => args,
                Err(_) => {
                    println!("Invalid argument(s)");
                    continue;
                }
            };
            if args[0].eq_ignore_ascii_case(b"quit") || args[0].eq_ignore_ascii_case(b"exit") {
                return Ok(());
            }
            self.run(&args)?;
        }
    }
}

/// A reply as redis-cli prints it in a terminal (`cliFormatReplyTTY`):
/// nested aggregates are indented under their parent's index.
fn render(frame: &Frame, prefix: &str) -> String {
    match frame {
        Frame::Error(message) => format!("(error) {message}\n"),
        Frame::Simple(text) => format!("{text}\n"),
        Frame::Integer(n) => format!("(integer) {n}\n"),
        Frame::Double(d) => format!("(double) {}\n", format_double(*d)),
        Frame::BigNumber(n) => format!("(big number) {n}\n"),
        Frame::Bulk(bytes) => format!("{}\n", quote(bytes)),
        Frame::Verbatim(_, text) => format!("{}\n", String::from_utf8_lossy(text)),
        Frame::NullBulk | Frame::NullArray | Frame::Null => "(nil)\n".into(),
        Frame::Boolean(b) => format!("({b})\n"),
        Frame::Attribute(_, inner) => render(inner, prefix),
        Frame::Array(items) | Frame::Push(items) => render_list(items, ')', prefix),
        Frame::Set(items) => render_list(items, '~', prefix),
        Frame::Map(pairs) => render_map(pairs, prefix),
    }
}

fn render_list(items: &[Frame], separator: char, prefix: &str) -> String {
    if items.is_empty() {
        return if separator == '~' {
            "(empty set)\n".into()
        } else {
            "(empty array)\n".into()
        };
    }
    let width = items.len().to_string().len();
    let inner_prefix = format!("{prefix}{}", " ".repeat(width + 2));
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        // The first line follows the parent's index, on the same line.
        let lead = if i == 0 { "" } else { prefix };
        out += &format!("{lead}{:>width$}{separator} ", i + 1);
        out += &render(item, &inner_prefix);
    }
    out
}

fn render_map(pairs: &[(Frame, Frame)], prefix: &str) -> String {
    if pairs.is_empty() {
        return "(empty hash)\n".into();
    }
    let width = pairs.len().to_string().len();
    let inner_prefix = format!("{prefix}{}", " ".repeat(width + 2));
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        let lead = if i == 0 { "" } else { prefix };
        out += &format!("{lead}{:>width$}# ", i + 1);
        out += render(key, &inner_prefix).trim_end_matches('\n');
        out += " => ";
        if is_multiline(value) {
            out += "\n";
            out += &inner_prefix;
        }
        out += &render(value, &inner_prefix);
    }
    out
}

/// True when [`render`] needs more than one line for this value.
fn is_multiline(frame: &Frame) -> bool {
    match frame {
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            items.len() > 1 || items.first().is_some_and(is_multiline)
        }
        Frame::Map(pairs) => pairs.len() > 1 || pairs.first().is_some_and(|(_, v)| is_multiline(v)),
        _ => false,
    }
}

/// A bulk string in double quotes, escaped as redis-cli's `sdscatrepr`.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\\' => out += "\\\\",
            b'"' => out += "\\\"",
            b'\n' => out += "\\n",
            b'\r' => out += "\\r",
            b'\t' => out += "\\t",
            7 => out += "\\a",
            8 => out += "\\b",
            b' '..=b'~' => out.push(b as char),
            _ => out += &format!("\\x{b:02x}"),
        }
    }
    out.push('"');
    out
}

/// Traced frames, each on its own line after the direction arrow.
fn wire(direction: &str, frames: Vec<String>) -> String {
    frames
        .iter()
        .map(|frame| format!("{direction} {frame}\n"))
        .collect()
}
