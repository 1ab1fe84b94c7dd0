//! `respd-cli`: replies printed as redis-cli prints them in a terminal, the
//! prompt, and the `--resp` wire view. Where redis-cli and `script` exist,
//! their terminal output is compared with respd-cli's.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::start;

/// Runs respd-cli against `port` with `args`, feeding `input` on stdin.
fn respd_cli(port: u16, args: &[&str], input: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_respd-cli"))
        .args(["-p", &port.to_string()])
        .args(common::cli_auth_args())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn replies_render_as_redis_cli_renders_them() {
    let server = start();
    let port = server.local_addr().port();
    let cli = |args: &[&str]| respd_cli(port, args, "");
    assert_eq!(cli(&["set", "k", "v"]), "OK\n");
    assert_eq!(cli(&["get", "k"]), "\"v\"\n");
    assert_eq!(cli(&["set", "bin", "a\"\\\n\t\u{1}é"]), "OK\n");
    assert_eq!(cli(&["get", "bin"]), "\"a\\\"\\\\\\n\\t\\x01\\xc3\\xa9\"\n");
    assert_eq!(cli(&["get", "missing"]), "(nil)\n");
    assert_eq!(cli(&["-3", "get", "missing"]), "(nil)\n");
    assert_eq!(cli(&["del", "k", "bin"]), "(integer) 2\n");
    assert_eq!(cli(&["ping"]), "PONG\n");
    assert_eq!(
        cli(&["nosuch", "x"]),
        "(error) ERR unknown command 'nosuch', with args beginning with: 'x' \n"
    );
    assert_eq!(
        cli(&["config", "get", "databases"]),
        "1) \"databases\"\n2) \"16\"\n"
    );
    assert_eq!(
        cli(&["-3", "config", "get", "databases"]),
        "1# \"databases\" => \"16\"\n"
    );
    assert_eq!(cli(&["-3", "config", "get", "nosuch"]), "(empty hash)\n");
    assert_eq!(cli(&["config", "get", "nosuch"]), "(empty array)\n");
    let hello = cli(&["-3", "hello", "3"]);
    assert!(hello.starts_with(
        "1# \"server\" => \"redis\"\n2# \"version\" => \"7.0.15\"\n3# \"proto\" => (integer) 3\n"
    ));
    assert!(hello.ends_with("7# \"modules\" => (empty array)\n"));
}

#[test]
fn the_prompt_reads_commands_until_quit() {
    let server = start();
    let port = server.local_addr().port();
    let input = "set greeting \"hello world\"\nget greeting\n\nselect 1\nget greeting\nget \"oops\nquit\nping\n";
    let prompt = format!("127.0.0.1:{port}");
    let expected = format!(
        "{prompt}> OK\n{prompt}> \"hello world\"\n{prompt}> {prompt}> OK\n\
         {prompt}[1]> (nil)\n{prompt}[1]> Invalid argument(s)\n{prompt}[1]> "
    );
    assert_eq!(respd_cli(port, &[], input), expected);
    // The end of input ends the prompt, too.
    assert_eq!(
        respd_cli(port, &[], "ping\n"),
        format!("{prompt}> PONG\n{prompt}> \n")
    );
}

#[test]
fn resp_shows_the_bytes_on_the_wire() {
    let server = start();
    let port = server.local_addr().port();
    assert_eq!(
        respd_cli(port, &["--resp", "echo", "a b"], ""),
        "-> *2\\r\\n$4\\r\\necho\\r\\n$3\\r\\na b\\r\\n   array(2): bulk \"echo\", bulk \"a b\"\n\
         <- $3\\r\\na b\\r\\n   bulk \"a b\"\n\
         \"a b\"\n"
    );
}

#[test]
fn output_matches_redis_cli_on_a_terminal() {
    let has = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if !has("redis-cli") || !has("script") {
        eprintln!("redis-cli or script is not installed: skipping the comparison");
        return;
    }
    let server = start();
    let port = server.local_addr().port();
    let commands: &[&[&str]] = &[
        &["set", "k", "v"],
        &["get", "k"],
        &["get", "missing"],
        &["del", "missing", "missing2"],
        &["nosuch", "a", "b"],
        &["config", "get", "databases"],
        &["-3", "config", "get", "databases"],
        &["-3", "config", "get", "nosuch"],
        &["-3", "get", "missing"],
        &["get"],
    ];
    for args in commands {
        // `script` gives redis-cli a terminal, so it prints what a person sees.
        let line = format!(
            "redis-cli -p {port} {} {}",
            common::cli_auth_args().join(" "),
            args.join(" ")
        );
        let output = Command::new("script")
            .args(["-qc", &line, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let redis_cli = String::from_utf8_lossy(&output.stdout).replace('\r', "");
        assert_eq!(respd_cli(port, args, ""), redis_cli, "{line}");
    }
}
