//! The server log, in Redis's format: `pid:M 25 Nov 2026 19:36:25.123 * text`.

use std::io::Write;

use crate::shared::Shared;

pub const DEBUG: u8 = 0;
pub const VERBOSE: u8 = 1;
pub const NOTICE: u8 = 2;
pub const WARNING: u8 = 3;

/// Writes one line to the log file (or stderr) if `level` passes `loglevel`.
pub fn log(shared: &Shared, level: u8, message: &str) {
    let config = shared.config();
    let threshold = match config.get("loglevel") {
        Some("debug") => DEBUG,
        Some("verbose") => VERBOSE,
        Some("warning") => WARNING,
        _ => NOTICE,
    };
    if level < threshold {
        return;
    }
    let mark = ['.', '-', '*', '#'][usize::from(level.min(3))];
    let line = format!(
        "{}:M {} {mark} {message}\n",
        std::process::id(),
        timestamp()
    );
    drop(config);
    write_line(shared, &line);
}

/// A line about a signal, in the form Redis's signal handler writes
/// (`pid:signal-handler (unix-seconds) text`), whatever `loglevel` says.
pub fn log_signal(shared: &Shared, message: &str) {
    let line = format!(
        "{}:signal-handler ({}) {message}\n",
        std::process::id(),
        crate::clock::real_ms() / 1000
    );
    write_line(shared, &line);
}

fn write_line(shared: &Shared, line: &str) {
    let file = shared.config().get("logfile").unwrap_or("").to_string();
    if file.is_empty() {
        // eprint! rather than a raw write: tests capture it.
        eprint!("{line}");
    } else if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// `25 Nov 2026 19:36:25.123`, in UTC.
fn timestamp() -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // The machine's time: a test moving the server's clock (DEBUG CLOCK)
    // leaves the log's timestamps true.
    let ms = crate::clock::real_ms();
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{day:02} {} {year} {:02}:{:02}:{:02}.{:03}",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}
