//! Without the scripting feature, a dump holding function libraries is
//! refused with the reason and the rebuild flag (as a Redis without the
//! engine refuses it), rather than loaded with its libraries dropped.
#![cfg(not(feature = "scripting"))]

mod common;

use std::process::Command;

use common::process::free_port;

#[test]
fn a_dump_with_libraries_is_refused_naming_the_feature() {
    let dir = common::process::temp_dir("funcpersist-off", "refused");
    let code = b"#!lua name=lib\nredis.register_function('f', function() return 1 end)";
    // A version-9 dump: one library (opcode 245), no keys, checksum 0.
    let mut file = b"REDIS0009\xf5".to_vec();
    file.extend_from_slice(&[0x40, code.len() as u8]);
    file.extend_from_slice(code);
    file.push(0xff);
    file.extend_from_slice(&[0; 8]);
    std::fs::write(dir.join("dump.rdb"), &file).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_respd"))
        .args(["--dir", dir.to_str().unwrap(), "--bind", "127.0.0.1"])
        .args(["--port", &free_port().to_string()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("dump.rdb")
            && stderr.contains("1 function libraries (FUNCTION LOAD)")
            && stderr.contains("rebuild with --features scripting"),
        "{stderr}"
    );
}
