//! Postgres storage (sqlx): several gateway replicas share one database.
//!
//! The audit chain cannot fork: `(chain, seq)` is the primary key, so of two writers
//! extending the same head only one insert succeeds; the other writes nothing and
//! appends in turn (under the chain's advisory lock) from then on, for a while.
//! Revocation lookups are answered from memory, kept current by LISTEN/NOTIFY
//! ([`revocation_feed`]). Budgets are one upsert statement per round of calls; approval
//! decisions one guarded `UPDATE`; policy changes run in transactions. The audit
//! appends and the budget counts, a statement or two on every call's path, each run on
//! a connection of their own rather than through the pool ([`dedicated`]), appends in
//! turn with other replicas too; reading a head back still uses the pool. Migrations in
//! `migrations/` are embedded and applied at open (and by `intentgate migrate`).

mod approval;
mod audit;
mod budget;
mod dedicated;
mod notices;
mod policy;
mod revocation;
mod revocation_feed;
mod session;
mod text;
mod transparency;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use time::OffsetDateTime;

use crate::config::DatabaseUrl;
use crate::domain::time::Timestamp;
use crate::ports::{StoreError, Stores};

/// The embedded migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

const BACKEND: &str = "postgres";

/// Why the Postgres store could not be opened (messages never include the password).
#[derive(Debug, thiserror::Error)]
pub enum PgOpenError {
    #[error("connect to Postgres at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A later build migrated the database (an upgrade rolled back, or a replica older
    /// than the others): this build's queries may not fit the schema, so it stops.
    #[error(
        "the database was migrated by a newer IntentGate build: migration {found} is not one this build has (its last is {last}); run that build or a newer one"
    )]
    NewerSchema { found: i64, last: i64 },
}

/// Applies the embedded migrations, naming the case a newer build caused.
async fn apply_migrations(pool: &PgPool) -> Result<(), PgOpenError> {
    MIGRATOR.run(pool).await.map_err(|e| {
        let last = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        match e {
            sqlx::migrate::MigrateError::VersionMissing(found) if found > last => {
                PgOpenError::NewerSchema { found, last }
            }
            e => PgOpenError::Migrate(e),
        }
    })
}

/// Whether a budget count's commit waits for its own WAL flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountCommits {
    /// Every count is on disk when `record_calls` returns.
    Wait,
    /// Counts are carried to disk by the audit record each counted call commits next
    /// (the gateway in `sync` audit durability): the WAL is one ordered log, so
    /// flushing that record flushes every commit before it. A crash of the database
    /// can then lose only counts of calls that were never forwarded.
    FlushedByAudit,
}

/// Connects, applies pending migrations and returns the stores; every budget count
/// is on disk before it is returned.
pub async fn open(url: &DatabaseUrl) -> Result<Stores, PgOpenError> {
    open_counting(url, CountCommits::Wait).await
}

/// [`open`], with budget commits as `commits` says.
pub async fn open_counting(
    url: &DatabaseUrl,
    commits: CountCommits,
) -> Result<Stores, PgOpenError> {
    let pool = connect(url).await?;
    apply_migrations(&pool).await?;
    Ok(Stores {
        backend: BACKEND,
        audit: Arc::new(audit::PgAudit::new(pool.clone())),
        revocations: Arc::new(revocation::PgRevocations {
            feed: revocation_feed::RevocationFeed::start(pool.clone()),
            pool: pool.clone(),
        }),
        budgets: Arc::new(budget::PgBudgets::new(pool.clone(), commits)),
        approvals: Arc::new(approval::PgApprovals(pool.clone())),
        policies: Arc::new(policy::PgPolicies(pool.clone())),
        sessions: Arc::new(session::PgSessions(pool.clone())),
        transparency: Arc::new(transparency::PgTransparency(pool.clone())),
        changes: Some(Arc::new(notices::PgChanges::start(pool))),
    })
}

/// Applies pending migrations and returns how many migrations the database knows.
pub async fn migrate(url: &DatabaseUrl) -> Result<usize, PgOpenError> {
    let pool = connect(url).await?;
    apply_migrations(&pool).await?;
    Ok(MIGRATOR.iter().count())
}

async fn connect(url: &DatabaseUrl) -> Result<PgPool, PgOpenError> {
    PgPoolOptions::new()
        // Every call does a revocation lookup and a budget upsert; a pool smaller than
        // the concurrent requests queues them (measured in BENCHMARKS.md).
        .max_connections(32)
        // No ping before every checkout: it doubled the round trips per query. A broken
        // connection fails its query, which the caller treats as a store error.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url.expose())
        .await
        .map_err(|source| PgOpenError::Connect {
            url: url.redacted(),
            source,
        })
}

fn db_error(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unavailable {
                backend: BACKEND,
                message: e.to_string(),
            }
        }
        other => StoreError::Backend {
            backend: BACKEND,
            source: Box::new(other),
        },
    }
}

fn to_sql_time(t: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.unix_nanos()))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn from_sql_time(t: OffsetDateTime) -> Timestamp {
    Timestamp::from_unix_nanos(i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The test server's URL; `None` (the test skipped, loudly) without one, except under
/// CI, which always sets it.
#[cfg(test)]
fn test_server_url() -> Option<String> {
    let Ok(url) = std::env::var("INTENTGATE_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI sets INTENTGATE_TEST_POSTGRES_URL"
        );
        eprintln!("skipped: INTENTGATE_TEST_POSTGRES_URL is not set");
        return None;
    };
    Some(url)
}
