//! Keyspace commands: DEL, EXISTS, EXPIRE and the rest of the family.

use super::flags::*;
use super::{Args, CmdResult, Command, Context, ALL_KEYS};
use crate::util::now_ms;

pub static COMMANDS: &[Command] = &[Command::new("del", -2, WRITE, ALL_KEYS, "generic", del)];

// DEL key [key ...]
fn del(cx: &mut Context<'_>, args: Args) -> CmdResult {
    let now = now_ms();
    let mut db = cx.db_mut();
    let removed = args[1..]
        .iter()
        .filter(|key| db.remove(key, now).is_some())
        .count();
    drop(db);
    cx.out.int(removed as i64);
    Ok(())
}
