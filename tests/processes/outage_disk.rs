//! sled on a full disk, against the real binary: a small tmpfs the test mounts and
//! fills. Calls are refused while nothing can be written, the chain stays intact, and
//! the gateway serves again by itself once there is space.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::client::{ADMIN_TOKEN, admin_get, audit_events, call};
use super::{Gateway, token};

/// A 16 MiB tmpfs, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` when this process may not mount (not root): the test skips, or fails
    /// under `CI`, whose machines run it as root.
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|out| out.status.success());
        if !mounted {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs as root and mounts a tmpfs for the full-disk test"
            );
            eprintln!("SKIPPED: cannot mount a tmpfs (not root)");
            return None;
        }
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk is full.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        while file.write_all(&block[..512]).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sled_on_a_full_disk_fails_closed_and_serves_again_when_space_returns() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let data_dir = disk.path().join("data").display().to_string();
    let gateway = Gateway::start(&[
        ("INTENTGATE_DATA_DIR", data_dir.as_str()),
        ("INTENTGATE_ADMIN_TOKEN", ADMIN_TOKEN),
        ("INTENTGATE_AUDIT_PERSIST_ARG_VALUES", "raw"),
    ])
    .await;
    let client = reqwest::Client::new();
    let token = token(1_000_000);
    let mut acknowledged = Vec::new();
    for n in 0..20 {
        assert_eq!(call(&client, &gateway.url, &token, n).await, Some(true));
        acknowledged.push(n);
    }

    let filler = disk.fill();
    let mut refused = 0;
    for n in 100..400 {
        match call(&client, &gateway.url, &token, n).await {
            Some(true) => acknowledged.push(n),
            Some(false) => refused += 1,
            None => panic!("call {n} got no answer"),
        }
        if refused >= 10 {
            break;
        }
    }
    assert!(refused >= 10, "calls are refused once the disk is full");
    let ready = client
        .get(format!("{}/readyz", gateway.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let why = ready.text().await.unwrap();
    assert!(why.contains("I/O error"), "readiness says why: {why}");

    std::fs::remove_file(filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 1_000;
    while call(&client, &gateway.url, &token, n).await != Some(true) {
        assert!(Instant::now() < deadline, "no recovery within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        n += 1;
    }
    acknowledged.push(n);
    for n in 2_000..2_020 {
        assert_eq!(call(&client, &gateway.url, &token, n).await, Some(true));
        acknowledged.push(n);
    }
    let ready = client.get(format!("{}/readyz", gateway.url)).send().await;
    assert_eq!(ready.unwrap().status().as_u16(), 200);

    let verified = admin_get(&gateway, "/v1/admin/audit/verify?tenant=acme").await;
    assert_eq!(verified["ok"], true, "{verified}");
    let recorded: Vec<u64> = audit_events(&gateway)
        .await
        .iter()
        .filter(|e| e["decision"] == "allow")
        .filter_map(|e| e["arg_values"]["n"].as_u64())
        .collect();
    for n in acknowledged {
        assert!(recorded.contains(&n), "acknowledged call {n} is recorded");
    }
}
