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
/// woke the pool's seven idle threads (1,626 wake-ups for 200 calls, measured); what
/// is left is their idle timeout, once a second each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sled_flush_writes_the_log_without_waking_sleds_thread_pool() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let gateway = Gateway::start(&[("INTENTGATE_DATA_DIR", data.as_str())]).await;
    let (client, token) = (reqwest::Client::new(), token(1_000));
    assert_eq!(call(&client, &gateway.url, &token, 0).await, Some(true));
    let pid = gateway.child.id();
    let before = sled_pool_wake_ups(pid);
    for n in 1..=200 {
        assert_eq!(call(&client, &gateway.url, &token, n).await, Some(true));
    }
    let woken = sled_pool_wake_ups(pid) - before;
    assert!(
        woken < 200,
        "sled's I/O pool woke {woken} times for 200 calls"
    );
}
