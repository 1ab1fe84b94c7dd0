//! Geospatial commands (placeholder).
use super::Command;
pub static COMMANDS: &[Command] = &[];
