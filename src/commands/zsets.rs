//! Sorted set commands: ZADD, ZRANGE, ZRANK and the rest of the family.

use super::Command;

pub static COMMANDS: &[Command] = &[];
