//! The default build (without the `scripting` feature): the scripting
//! commands are in the table, and each says how to get them.

#![cfg(not(feature = "scripting"))]

mod common;

use common::{assert_reply, cmd, raw, start};

const NOT_BUILT: &[u8] =
    b"-ERR respd was built without scripting; rebuild with --features scripting\r\n";

#[test]
fn scripting_commands_say_how_to_get_them() {
    let server = start();
    let mut stream = raw(server.local_addr());
    for command in [
        &["EVAL", "return 1", "0"][..],
        &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
        &["EVAL_RO", "return 1", "0"],
        &[
            "EVALSHA_RO",
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
            "0",
        ],
        &["SCRIPT", "LOAD", "return 1"],
        &["SCRIPT", "FLUSH"],
        &["FUNCTION", "LIST"],
        &["FCALL", "f", "0"],
        &["FCALL_RO", "f", "0"],
    ] {
        assert_reply(&mut stream, &cmd(command), NOT_BUILT);
    }
    // COMMAND still lists them (clients probe for EVAL).
    let info = common::exchange(&mut stream, &cmd(&["COMMAND", "INFO", "eval"]), 4);
    assert!(
        info.starts_with(b"*1\r\n*"),
        "{}",
        String::from_utf8_lossy(&info)
    );
}
