//! String commands: GET, SET and the rest of the family.

use super::errors;
use super::flags::*;
use super::{Args, CmdResult, Command, Context, ONE_KEY};
use crate::store::Value;
use crate::util::now_ms;

pub static COMMANDS: &[Command] = &[
    Command::new("get", 2, READONLY | FAST, ONE_KEY, "string", get),
    Command::new("set", -3, WRITE | DENYOOM, ONE_KEY, "string", set),
];

// GET key
fn get(cx: &mut Context<'_>, args: Args) -> CmdResult {
    let db = cx.db();
    match db.get(&args[1], now_ms()) {
        Some(Value::Str(value)) => {
            cx.out.bulk(value);
            cx.count_lookup(true);
        }
        Some(_) => return Err(errors::WRONGTYPE.into()),
        None => {
            cx.out.null();
            cx.count_lookup(false);
        }
    }
    Ok(())
}

// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]
fn set(cx: &mut Context<'_>, mut args: Args) -> CmdResult {
    let value = std::mem::take(&mut args[2]);
    let key = std::mem::take(&mut args[1]);
    cx.db_mut().set(key.into_boxed_slice(), Value::Str(value));
    cx.out.ok();
    Ok(())
}
