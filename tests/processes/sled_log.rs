//! The patched sled (`vendor/sled/PATCHED.md`): a flush writes the log on the thread
//! that flushes, without handing the write to sled's I/O thread pool.

use super::client::call;
use super::{Gateway, token};

/// Voluntary context switches so far of the process's sled I/O pool threads: each
/// task handed to the pool wakes every idle one of them.
fn sled_pool_wake_ups(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .filter_map(|task| {
            let task = task.ok()?.path();
            let name = std::fs::read_to_string(task.join("comm")).ok()?;
            if !name.starts_with("sled-io") {
                return None;
            }
            let status = std::fs::read_to_string(task.join("status")).ok()?;
            status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|n| n.trim().parse::<u64>().ok())
        })
        .sum()
}

/// Every call's audit round is flushed before it is answered. Unpatched, each flush
/// woke the pool's seven idle threads (1,618 wake-ups for 200 calls, measured). What
/// is left grows with time, not calls: each thread's idle timeout (once a second) and
/// sled's background flusher (every 500 ms, seven wake-ups when it has a buffer to
/// write), so the allowance grows with the time the calls took.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sled_flush_writes_the_log_without_waking_sleds_thread_pool() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let gateway = Gateway::start(&[("INTENTGATE_DATA_DIR", data.as_str())]).await;
    let (client, token) = (reqwest::Client::new(), token(1_000));
    assert_eq!(call(&client, &gateway.url, &token, 0).await, Some(true));
    assert!(dir.path().join("sled").is_dir(), "the gateway runs on sled");
    let pid = gateway.child.id();
    let (before, started) = (sled_pool_wake_ups(pid), std::time::Instant::now());
    for n in 1..=200 {
        assert_eq!(call(&client, &gateway.url, &token, n).await, Some(true));
    }
    let woken = sled_pool_wake_ups(pid).saturating_sub(before);
    let allowed = 200 + 21 * (started.elapsed().as_secs() + 1);
    assert!(
        woken < allowed,
        "sled's I/O pool woke {woken} times for 200 calls (allowed {allowed})"
    );
}
