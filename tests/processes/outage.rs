//! Dependency outages against the real binary: the gateway's Postgres stopped in the
//! middle of traffic and started again. The cluster is a private one this test creates
//! with `initdb` on a free port (never the machine's shared server), so stopping it
//! harms nobody.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use intentgate::config::DatabaseUrl;

use super::client::{call, tools_call};
use super::{Gateway, token, verify_acme};

/// A throwaway Postgres cluster in a temp dir. The server refuses to run as root, so
/// under root its commands run as the `postgres` user.
struct PrivateCluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivateCluster {
    /// `None` when no PostgreSQL server binaries are installed (then the test skips;
    /// under `CI` it fails, since the CI machine has them).
    fn start() -> Option<Self> {
        let Some(bin) = server_binaries() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs the PostgreSQL server binaries (initdb) for the outage test"
            );
            eprintln!("SKIPPED: no initdb under /usr/lib/postgresql");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if as_root() {
            run(
                "chown",
                &["-R", "postgres:postgres", &dir.path().display().to_string()],
            );
        }
        let cluster = Self {
            bin,
            data,
            port,
            _dir: dir,
        };
        let data = cluster.data.display().to_string();
        cluster.pg(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.up();
        Some(cluster)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.data.display()
        );
        let data = self.data.display().to_string();
        let log = self.data.join("server.log").display().to_string();
        self.pg(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-o", &options, "-w", "start"],
        );
    }

    /// Stops the server at once, as a crash or a failover would.
    fn down(&self) {
        let data = self.data.display().to_string();
        self.pg("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    fn pg(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program).display().to_string();
        match as_root() {
            true => {
                let mut all = vec!["-u", "postgres", "--", program.as_str()];
                all.extend_from_slice(args);
                run("runuser", &all);
            }
            false => run(&program, args),
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        let program = self.bin.join("pg_ctl").display().to_string();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = match as_root() {
            true => Command::new("runuser")
                .args(["-u", "postgres", "--", &program])
                .args(args)
                .output(),
            false => Command::new(&program).args(args).output(),
        };
    }
}

fn server_binaries() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn readyz(client: &reqwest::Client, url: &str) -> (u16, String) {
    let resp = client.get(format!("{url}/readyz")).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The answer to one call, as text (the error included), or the transport's failure.
async fn answer(client: &reqwest::Client, url: &str, token: &str, n: u64) -> String {
    match tools_call(client, url, token, "read_invoice", n)
        .send()
        .await
    {
        Ok(resp) => resp.text().await.unwrap_or_default(),
        Err(e) => format!("transport: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_under_traffic_fails_closed_and_the_gateway_recovers() {
    let Some(cluster) = PrivateCluster::start() else {
        return;
    };
    let url = cluster.url();
    let env = [
        ("INTENTGATE_POSTGRES_URL", url.as_str()),
        ("INTENTGATE_AUDIT_PERSIST_ARG_VALUES", "raw"),
    ];
    let gateway = Gateway::start(&env).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let token = token(1_000_000);
    let mut acknowledged = Vec::new();
    for n in 0..20 {
        assert_eq!(call(&client, &gateway.url, &token, n).await, Some(true));
        acknowledged.push(n);
    }

    cluster.down();
    for n in 100..105 {
        let text = answer(&client, &gateway.url, &token, n).await;
        assert!(
            text.contains("\"error\""),
            "a call without its database is refused: {text}"
        );
        assert!(!text.contains("\"result\""), "{text}");
    }
    let (status, body) = readyz(&client, &gateway.url).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"error\""), "readiness says why: {body}");

    cluster.up();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 1000;
    loop {
        if call(&client, &gateway.url, &token, n).await == Some(true) {
            acknowledged.push(n);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not recover within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        n += 1;
    }
    for n in 2000..2020 {
        assert_eq!(call(&client, &gateway.url, &token, n).await, Some(true));
        acknowledged.push(n);
    }
    assert_eq!(readyz(&client, &gateway.url).await.0, 200);

    let stores = intentgate::adapters::postgres::open(&DatabaseUrl::new(&url))
        .await
        .unwrap();
    let (_, stored) = verify_acme(&stores).await;
    for n in acknowledged {
        assert!(
            stored.contains(&n),
            "acknowledged call {n} has its committed event"
        );
    }
    assert!(
        !stored.iter().any(|n| (100..105).contains(n)),
        "no call refused during the outage is recorded as allowed"
    );
}
