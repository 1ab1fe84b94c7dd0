//! Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP.

use super::Command;

pub static COMMANDS: &[Command] = &[];
