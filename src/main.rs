//! `respd [/path/to/redis.conf] [--name value ...]`: the server, started as
//! redis-server is.

use std::process::ExitCode;

use respd::config::Config;
use respd::Server;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // `--trace` alone means `--trace yes` (the wire trace).
    if let Some(at) = args.iter().position(|a| a == "--trace") {
        if args.get(at + 1).map_or(true, |next| next.starts_with("--")) {
            args.insert(at + 1, "yes".into());
        }
    }
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!(
            "respd v={} (Redis {} compatible)",
            env!("CARGO_PKG_VERSION"),
            respd::REDIS_VERSION
        );
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("Usage: respd [/path/to/redis.conf] [--port 6379] [--bind 127.0.0.1] [--maxclients 10000] [--trace] [--option value ...]");
        return ExitCode::SUCCESS;
    }
    let config = match load_config(&args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let server = match Server::from_config(config) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("respd: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(err) = server.own_process() {
        eprintln!("respd: can't handle signals: {err}");
        return ExitCode::FAILURE;
    }
    respd::log::log(
        server.shared(),
        respd::log::NOTICE,
        &format!(
            "respd {} (Redis {} compatible) started, pid={}, address={}",
            env!("CARGO_PKG_VERSION"),
            respd::REDIS_VERSION,
            std::process::id(),
            server.local_addr()
        ),
    );
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("respd: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The config file (if the first argument is not a flag), then the flags,
/// which override it.
fn load_config(args: &[String]) -> Result<Config, String> {
    let mut config = Config::default();
    let (file, flags) = match args.first() {
        Some(first) if !first.starts_with("--") => (Some(first), &args[1..]),
        _ => (None, args),
    };
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("Fatal error, can't open config file '{path}': {e}"))?;
        config.load(&text)?;
        let absolute =
            std::fs::canonicalize(path).map_or_else(|_| path.clone(), |p| p.display().to_string());
        config.file = Some(absolute);
    }
    config.load_args(flags)?;
    respd::acl::check_at_start(&config)?;
    Ok(config)
}
