//! `process_*` metrics from `/proc/self` (Linux), in the names Prometheus client
//! libraries use, so standard dashboards and alerts work.

use std::fmt::Write as _;

/// Clock ticks per second; 100 on every Linux platform we run on.
const TICKS_PER_SEC: f64 = 100.0;
const PAGE_SIZE: f64 = 4096.0;

pub fn append(out: &mut String) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14, 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    let (Some(utime), Some(stime), Some(threads), Some(rss)) = (num(11), num(12), num(17), num(21))
    else {
        return;
    };
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
    let metrics = [
        (
            "process_cpu_seconds_total",
            "counter",
            (utime + stime) / TICKS_PER_SEC,
        ),
        ("process_resident_memory_bytes", "gauge", rss * PAGE_SIZE),
        ("process_threads", "gauge", threads),
        ("process_open_fds", "gauge", fds as f64),
    ];
    for (name, kind, value) in metrics {
        let _ = write!(out, "# TYPE {name} {kind}\n{name} {value}\n");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_the_four_process_metrics() {
        let mut out = String::new();
        super::append(&mut out);
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_threads",
            "process_open_fds",
        ] {
            assert!(
                out.contains(&format!("\n{name} ")),
                "{name} missing:\n{out}"
            );
        }
    }
}
