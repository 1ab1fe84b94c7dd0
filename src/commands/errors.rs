//! Redis's error replies, word for word, in one place. Handlers return them;
//! tests compare against them.

use std::borrow::Cow;

/// An error reply: the text after the `-`, starting with its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub Cow<'static, str>);

impl Error {
    /// An error whose text is built at run time.
    pub fn new(text: String) -> Self {
        Error(Cow::Owned(text))
    }
}

impl From<&'static str> for Error {
    fn from(text: &'static str) -> Self {
        Error(Cow::Borrowed(text))
    }
}

/// What a handler returns: the reply is already written, or an error to send.
pub type CmdResult = Result<(), Error>;

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const INCR_NAN_OR_INF: &str = "ERR increment would produce NaN or Infinity";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";
pub const INVALID_EXPIRE: &str = "ERR invalid expire time in '{}' command";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const OFFSET_OUT_OF_RANGE: &str = "ERR offset is out of range";
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const NOT_IN_MULTI: &str = "ERR Command not allowed inside a transaction";
pub const NOPERM_KEY: &str =
    "NOPERM this user has no permissions to access one of the keys used as arguments";
pub const NOPERM_CHANNEL: &str =
    "NOPERM this user has no permissions to access one of the channels used as arguments";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const NOPROTO: &str = "NOPROTO unsupported protocol version";
pub const AUTH_NOT_CONFIGURED: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
pub const BAD_CLIENT_NAME: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const UNBLOCKED: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub const MAX_CLIENTS: &str = "ERR max number of clients reached";

/// `ERR wrong number of arguments for 'get' command`
pub fn wrong_arity(full_name: &str) -> Error {
    Error::new(format!(
        "ERR wrong number of arguments for '{full_name}' command"
    ))
}

/// `ERR unknown command 'x', with args beginning with: 'a' 'b' `
pub fn unknown_command(args: &[Vec<u8>]) -> Error {
    // Redis prints C strings: each argument stops at its first NUL.
    let c_str = |arg: &[u8]| {
        String::from_utf8_lossy(arg.split(|&b| b == 0).next().unwrap_or_default()).into_owned()
    };
    let mut listed = String::new();
    for arg in &args[1..] {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        let text = c_str(arg);
        listed.push('\'');
        listed.extend(text.chars().take(room));
        listed.push_str("' ");
    }
    let name: String = c_str(&args[0]).chars().take(128).collect();
    Error::new(format!(
        "ERR unknown command '{name}', with args beginning with: {listed}"
    ))
}

/// `ERR unknown subcommand 'x'. Try CLIENT HELP.`
pub fn unknown_subcommand(command: &str, sub: &[u8]) -> Error {
    let sub: String = String::from_utf8_lossy(sub).chars().take(128).collect();
    Error::new(format!(
        "ERR unknown subcommand '{sub}'. Try {} HELP.",
        command.to_ascii_uppercase()
    ))
}

/// Redis's addReplySubcommandSyntaxError: a known subcommand given the
/// wrong arguments, worded as `sub` was typed.
pub fn subcommand_syntax(command: &str, sub: &[u8]) -> Error {
    let sub: String = String::from_utf8_lossy(sub).chars().take(128).collect();
    Error::new(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {} HELP.",
        command.to_ascii_uppercase()
    ))
}

/// `ERR invalid expire time in 'set' command`
pub fn invalid_expire(command: &str) -> Error {
    Error::new(INVALID_EXPIRE.replace("{}", command))
}
