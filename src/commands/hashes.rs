//! Hash commands: HSET, HGET, HGETALL and the rest of the family.

use super::Command;

pub static COMMANDS: &[Command] = &[];
