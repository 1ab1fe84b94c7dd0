//! The latency monitor: for each event class Redis names ("command",
//! "fast-command", "expire-cycle", ...), the latest 160 spikes at or above
//! `latency-monitor-threshold` milliseconds, one per second at most, and
//! the worst ever (LATENCY LATEST / HISTORY / GRAPH / DOCTOR / RESET).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Redis's LATENCY_TS_LEN.
const HISTORY_LEN: usize = 160;

/// One spike: Unix time in seconds and milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub time: u64,
    pub millis: u64,
}

/// One event's spikes, oldest first.
#[derive(Debug, Default, Clone)]
pub struct Series {
    pub samples: std::collections::VecDeque<Sample>,
    pub max: u64,
}

/// Every event's series.
#[derive(Debug, Default)]
pub struct LatencyMonitor {
    events: Mutex<BTreeMap<String, Series>>,
    /// `latency-monitor-threshold`, milliseconds; 0 turns it off.
    pub threshold_ms: AtomicU64,
}

impl LatencyMonitor {
    fn events(&self) -> MutexGuard<'_, BTreeMap<String, Series>> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `millis` for `event` if the monitor is on and it reaches the
    /// threshold (Redis's latencyAddSampleIfNeeded).
    pub fn add_if_needed(&self, event: &str, millis: u64) {
        let threshold = self.threshold_ms.load(Ordering::Relaxed);
        if threshold == 0 || millis < threshold {
            return;
        }
        let now = crate::util::now_ms() / 1000;
        let mut events = self.events();
        let series = events.entry(event.to_string()).or_default();
        series.max = series.max.max(millis);
        // A second spike in the same second only raises that second's.
        if let Some(last) = series.samples.back_mut() {
            if last.time == now {
                last.millis = last.millis.max(millis);
                return;
            }
        }
        if series.samples.len() == HISTORY_LEN {
            series.samples.pop_front();
        }
        series.samples.push_back(Sample { time: now, millis });
    }

    /// Every event with its series, by name.
    pub fn snapshot(&self) -> Vec<(String, Series)> {
        self.events()
            .iter()
            .map(|(name, series)| (name.clone(), series.clone()))
            .collect()
    }

    /// One event's series.
    pub fn series(&self, event: &[u8]) -> Option<Series> {
        let name = std::str::from_utf8(event).ok()?;
        self.events().get(name).cloned()
    }

    /// Forgets one event (true if it was there), or every event.
    pub fn reset(&self, event: Option<&[u8]>) -> usize {
        let mut events = self.events();
        match event {
            None => {
                let n = events.len();
                events.clear();
                n
            }
            Some(event) => std::str::from_utf8(event)
                .ok()
                .and_then(|name| events.remove(name))
                .map_or(0, |_| 1),
        }
    }
}

/// LATENCY GRAPH's text: a header line, 80 dashes, then a 4-row
/// sparkline with "how long ago" labels, as Redis's sparkline renders it.
pub fn graph(event: &str, series: &Series, now: u64) -> String {
    let values: Vec<u64> = series.samples.iter().map(|s| s.millis).collect();
    let labels: Vec<String> = series
        .samples
        .iter()
        .map(|s| {
            let elapsed = now.saturating_sub(s.time);
            match elapsed {
                0..=59 => format!("{elapsed}s"),
                60..=3599 => format!("{}m", elapsed / 60),
                3600..=86_399 => format!("{}h", elapsed / 3600),
                _ => format!("{}d", elapsed / 86_400),
            }
        })
        .collect();
    let min = values.iter().copied().min().unwrap_or(0);
    let max = values.iter().copied().max().unwrap_or(0);
    let mut out = format!(
        "{event} - high {max} ms, low {min} ms (all time high {} ms)\n",
        series.max
    );
    out.push_str(&"-".repeat(80));
    out.push('\n');
    let mut start = 0;
    while start < values.len() {
        let end = (start + 80).min(values.len());
        if start != 0 {
            out.push('\n');
        }
        render_range(&mut out, &values[start..end], &labels[start..end], min, max);
        start = end;
    }
    out
}

/// Redis's sparklineRenderRange with 4 rows, the filled charset, labels.
fn render_range(out: &mut String, values: &[u64], labels: &[String], min: u64, max: u64) {
    const FILL: &[u8] = b"_o#";
    const ROWS: usize = 4;
    let steps = (FILL.len() * ROWS) as f64;
    let relmax = if max == min { 1.0 } else { (max - min) as f64 };
    let mut row = 0;
    loop {
        let mut line = vec![b' '; values.len()];
        let mut more = false;
        for (j, &value) in values.iter().enumerate() {
            let relval = (value - min) as f64;
            let step = ((relval * steps) as i64 as f64 / relmax) as i64;
            let step = step.clamp(0, steps as i64 - 1);
            if row < ROWS {
                more = true;
                let index = step - ((ROWS - row - 1) * FILL.len()) as i64;
                if (0..FILL.len() as i64).contains(&index) {
                    line[j] = FILL[index as usize];
                } else if index >= FILL.len() as i64 {
                    line[j] = b'|';
                }
            } else {
                // One blank row between the sparkline and the labels.
                if row - ROWS < 1 {
                    more = true;
                    break;
                }
                let label = labels[j].as_bytes();
                let at = row - ROWS - 1;
                if label.len() > at {
                    more = true;
                    line[j] = label[at];
                }
            }
        }
        if !more {
            break;
        }
        row += 1;
        out.push_str(&String::from_utf8_lossy(&line));
        out.push('\n');
    }
}
