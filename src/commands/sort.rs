//! SORT and SORT_RO.

use super::Command;

pub static COMMANDS: &[Command] = &[];
