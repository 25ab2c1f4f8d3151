//! A fresh Postgres database per test, shared by every test binary that needs one
//! (included with `#[path]`).
//!
//! The server comes from `INTENTGATE_TEST_POSTGRES_URL` when set, otherwise from
//! testcontainers (`postgres:16-alpine`) when a Docker engine answers. With neither,
//! `TestDatabase::create` returns `None` (the test skips with a loud message), except
//! under `CI`, where it fails.

use sqlx::Connection;
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};
use tokio::sync::OnceCell;

/// The server URL for the whole test binary (and the container that backs it, if any).
static SERVER: OnceCell<Option<(String, Option<ContainerAsync<Postgres>>)>> = OnceCell::const_new();

async fn server_url() -> Option<String> {
    let server = SERVER
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("INTENTGATE_TEST_POSTGRES_URL") {
                return Some((url, None));
            }
            let start = Postgres::default().with_tag("16-alpine").start();
            match tokio::time::timeout(std::time::Duration::from_secs(120), start).await {
                Ok(Ok(c)) => {
                    let port = c.get_host_port_ipv4(5432).await.ok()?;
                    let url = format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres");
                    Some((url, Some(c)))
                }
                Ok(Err(e)) => {
                    eprintln!("testcontainers unavailable: {e}");
                    None
                }
                Err(_) => None,
            }
        })
        .await;
    server.as_ref().map(|(url, _)| url.clone())
}

/// `url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// A database created for one test and dropped when this value is (unless
/// `KEEP_TEST_DB` is set).
pub struct TestDatabase {
    admin: String,
    name: String,
    pub url: String,
}

/// Whether a Postgres server is available; `false` (skip) is announced on the terminal,
/// and fails under `CI`.
#[allow(dead_code)] // not every test binary asks before creating a database
pub async fn server_available() -> bool {
    if server_url().await.is_some() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI needs Postgres: set INTENTGATE_TEST_POSTGRES_URL"
    );
    announce_skip();
    false
}

/// Says once per test binary, past libtest's output capture (which hides what passing
/// tests print), that its Postgres suites did not run.
fn announce_skip() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write as _;
        let binary = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .map(|stem| {
                stem.rsplit_once('-')
                    .map_or(stem.clone(), |(name, _)| name.to_owned())
            })
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "\nSKIPPED: the Postgres suites of `{binary}` (no server: set \
             INTENTGATE_TEST_POSTGRES_URL or start Docker); their tests pass without running\n"
        );
    });
}

impl TestDatabase {
    pub async fn create() -> Option<Self> {
        if !server_available().await {
            return None;
        }
        let admin = server_url().await?;
        let name = format!(
            "ig_test_{}",
            hex::encode(intentgate::app::random_bytes::<6>().unwrap())
        );
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        let sql = format!("CREATE DATABASE \"{name}\"");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
        Some(Self {
            url: with_database(&admin, &name),
            admin,
            name,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_TEST_DB").is_some() {
            return;
        }
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop may run inside a runtime we must not block; use a short-lived one.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}
