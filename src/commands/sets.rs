//! Set commands: SADD, SMEMBERS, SINTER and the rest of the family.

use super::Command;

pub static COMMANDS: &[Command] = &[];
