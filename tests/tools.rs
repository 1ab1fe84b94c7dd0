//! The real Redis tools against respd: `redis-cli` and `redis-benchmark`
//! must work unchanged. Skipped, with a message, when they are not installed.

mod common;

use std::process::{Command, Output};

use common::start;

/// Runs `program args...`, or `None` (with a message) when it is missing.
fn run(program: &str, args: &[&str]) -> Option<Output> {
    match Command::new(program).args(args).output() {
        Ok(output) => Some(output),
        Err(_) => {
            eprintln!("{program} is not installed: skipping this test");
            None
        }
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn redis_cli_talks_to_respd() {
    let server = start();
    let port = server.local_addr().port().to_string();
    let cli = |args: &[&str]| {
        let auth = common::cli_auth_args();
        let all: Vec<&str> = ["-p", port.as_str()]
            .into_iter()
            .chain(auth.iter().map(String::as_str))
            .chain(args.iter().copied())
            .collect();
        run("redis-cli", &all)
    };
    let Some(set) = cli(&["set", "k", "v"]) else {
        return;
    };
    assert!(set.status.success());
    assert_eq!(stdout(&set), "OK\n");
    // Not on a terminal, redis-cli prints raw values...
    assert_eq!(stdout(&cli(&["get", "k"]).unwrap()), "v\n");
    assert_eq!(stdout(&cli(&["get", "missing"]).unwrap()), "\n");
    // ...unless told otherwise.
    assert_eq!(stdout(&cli(&["--no-raw", "get", "k"]).unwrap()), "\"v\"\n");
    assert_eq!(
        stdout(&cli(&["--no-raw", "get", "missing"]).unwrap()),
        "(nil)\n"
    );
    assert_eq!(
        stdout(&cli(&["--no-raw", "config", "get", "databases"]).unwrap()),
        "1) \"databases\"\n2) \"16\"\n"
    );
    assert_eq!(
        stdout(&cli(&["-3", "--no-raw", "config", "get", "databases"]).unwrap()),
        "1# \"databases\" => \"16\"\n"
    );
    let unknown = cli(&["--no-raw", "nosuch"]).unwrap();
    assert_eq!(
        stdout(&unknown),
        "(error) ERR unknown command 'nosuch', with args beginning with: \n"
    );
    // Commands read from stdin, one per line.
    let piped = Command::new("redis-cli")
        .args(["-p", &port])
        .args(common::cli_auth_args())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"set a 1\nget a\nping\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(stdout(&piped), "OK\n1\nPONG\n");
}

#[test]
fn redis_benchmark_runs_without_errors() {
    let server = start();
    let port = server.local_addr().port().to_string();
    let args = [
        "-p",
        &port,
        "-q",
        "-t",
        "set,get,incr,mset",
        "-n",
        "20000",
        "-c",
        "50",
    ];
    // (redis-benchmark takes --user and -a, not --no-auth-warning.)
    let (user, password) = common::TEST_USER;
    let mut args = args.to_vec();
    if common::as_test_user() {
        args.extend(["--user", user, "-a", password]);
    }
    let Some(output) = run("redis-benchmark", &args) else {
        return;
    };
    let text = format!(
        "{}{}",
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "redis-benchmark failed:\n{text}");
    for test in ["SET", "GET", "INCR", "MSET"] {
        assert!(
            text.contains(&format!("{test}: ")) || text.contains(&format!("{test} (")),
            "no result for {test}:\n{text}"
        );
    }
    assert!(
        !text.contains("ERR") && !text.contains("rror"),
        "redis-benchmark reported errors:\n{text}"
    );
}
