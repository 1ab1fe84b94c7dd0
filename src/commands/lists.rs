//! List commands: LPUSH, LPOP, LRANGE and the rest, blocking pops included.

use super::Command;

pub static COMMANDS: &[Command] = &[];
