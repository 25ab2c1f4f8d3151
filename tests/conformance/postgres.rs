//! The Postgres backend under the conformance suite: each test gets a fresh database,
//! created on the server and dropped afterwards, so migrations always run on an empty
//! one.
//!
//! The server comes from `INTENTGATE_TEST_POSTGRES_URL` when set, otherwise from
//! testcontainers (`postgres:16-alpine`) when a Docker engine answers. With neither, the
//! tests skip with a loud message, except under `CI`, where they fail.

use intentgate::config::DatabaseUrl;
use sqlx::Connection;
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};
use tokio::sync::OnceCell;

use crate::suite::Fixture;

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
                    Some((
                        format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres"),
                        Some(c),
                    ))
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

/// Drops the per-test database when the scenario ends.
struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_TEST_DB").is_some() {
            return;
        }
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any runtime we may block; use a short-lived one.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&url).await.ok()?;
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

pub async fn fixture() -> Option<Fixture> {
    let Some(admin_url) = server_url().await else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs Postgres: set INTENTGATE_TEST_POSTGRES_URL"
        );
        eprintln!("SKIPPED: no Postgres (set INTENTGATE_TEST_POSTGRES_URL or start Docker)");
        return None;
    };
    let name = format!(
        "ig_test_{}",
        hex::encode(intentgate::app::random_bytes::<6>())
    );
    let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .unwrap();
    let url = DatabaseUrl::new(with_database(&admin_url, &name));
    let stores = intentgate::adapters::postgres::open(&url).await.unwrap();
    Some(Fixture::new(stores, DropDatabase { admin_url, name }))
}

conformance_tests!(fixture);
