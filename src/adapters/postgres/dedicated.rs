//! One connection kept aside for a writer whose statements follow one another: the
//! audit writer's appends and the budget counter's counts (each runs one round at a
//! time). A pool checkout costs a task hand-off each way, about 100 µs a statement on
//! two cores (`guides/deps-and-floor.md`), and every call waits for two or three such
//! statements. Each writer's connection is one beyond the pool's 32.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgDatabaseError, PgSeverity};
use sqlx::{Connection, PgConnection, PgPool};

use crate::ports::StoreError;

/// How long opening a connection may take, as long as the pool waits for one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection idle this long is replaced rather than trusted: a firewall or NAT may
/// have dropped it silently, and a write on it would hang until TCP gives up.
const MAX_IDLE: Duration = Duration::from_secs(60);

pub(super) struct Dedicated {
    /// Where the connection's settings come from.
    pool: PgPool,
    /// The connection between statements and when it was last used; `None` before the
    /// first, while one is running, and after one that left the connection unusable.
    idle: Mutex<Option<(PgConnection, Instant)>>,
    /// How long the kept connection may sit idle and still be used.
    max_idle: Duration,
}

/// Why a statement on a [`Dedicated`] connection did not run to the end.
#[derive(Debug)]
pub(super) enum RunError {
    /// No connection could be opened in time: the store is unavailable.
    Connect(String),
    /// The statement failed.
    Statement(sqlx::Error),
}

impl RunError {
    pub fn into_store_error(self) -> StoreError {
        match self {
            Self::Connect(message) => StoreError::Unavailable {
                backend: super::BACKEND,
                message,
            },
            Self::Statement(e) => super::db_error(e),
        }
    }
}

impl Dedicated {
    pub fn new(pool: PgPool) -> Self {
        Self::with_max_idle(pool, MAX_IDLE)
    }

    fn with_max_idle(pool: PgPool, max_idle: Duration) -> Self {
        Self {
            pool,
            idle: Mutex::new(None),
            max_idle,
        }
    }

    /// Runs `statement` on the kept connection (opening one when there is none, or the
    /// kept one sat idle too long) and keeps the connection for the next statement
    /// unless the failure may have left it unusable. Two overlapping callers each get
    /// a connection; one is kept.
    pub async fn run<T>(
        &self,
        statement: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, RunError> {
        let kept = self.lock().take();
        let mut conn = match kept {
            Some((conn, used)) if used.elapsed() < self.max_idle => conn,
            _ => self.connect().await?,
        };
        let result = statement(&mut conn).await;
        if result.as_ref().map_or_else(still_connected, |_| true) {
            *self.lock() = Some((conn, Instant::now()));
        }
        result.map_err(RunError::Statement)
    }

    async fn connect(&self) -> Result<PgConnection, RunError> {
        let options = self.pool.connect_options();
        match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(RunError::Connect(format!("connect: {e}"))),
            Err(_) => Err(RunError::Connect(format!(
                "connect: no connection within {} s",
                CONNECT_TIMEOUT.as_secs()
            ))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(PgConnection, Instant)>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether the server refused a statement while staying connected (a unique violation
/// when two replicas race for a chain's head, a bad value): then a statement run on
/// its own wrote nothing. A fatal error (a terminated backend says 57P01, then
/// closes), an I/O or protocol error may have left the connection unusable, and the
/// statement may have been committed before it.
pub(super) fn still_connected(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<PgDatabaseError>()
            .is_some_and(|e| !matches!(e.severity(), PgSeverity::Fatal | PgSeverity::Panic)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool for the test server; `None` (skipped) without one.
    fn test_pool() -> Option<PgPool> {
        let url = super::super::test_server_url()?;
        Some(PgPool::connect_lazy(&url).unwrap())
    }

    async fn backend_pid(dedicated: &Dedicated) -> i32 {
        let pid = dedicated
            .run(async |conn| {
                sqlx::query_scalar("SELECT pg_backend_pid()")
                    .fetch_one(conn)
                    .await
            })
            .await;
        pid.unwrap()
    }

    /// A statement whose caller goes away mid-flight (a round's future dropped) takes
    /// its connection with it: the next statement runs at once on a new connection, not
    /// on one whose answer to the abandoned statement is still on its way.
    #[tokio::test]
    async fn a_cancelled_statement_does_not_leave_its_connection_to_the_next() {
        let Some(pool) = test_pool() else { return };
        let dedicated = Dedicated::new(pool);
        let first = backend_pid(&dedicated).await;
        assert_eq!(
            backend_pid(&dedicated).await,
            first,
            "kept between statements"
        );
        let slow =
            dedicated.run(async |conn| sqlx::query("SELECT pg_sleep(5)").execute(conn).await);
        assert!(
            tokio::time::timeout(Duration::from_millis(200), slow)
                .await
                .is_err()
        );
        let started = Instant::now();
        assert_ne!(backend_pid(&dedicated).await, first, "a new connection");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the next statement waited for the abandoned one"
        );
    }

    /// A connection kept longer than the idle limit is not trusted: the next statement
    /// opens a new one (and keeps that). Within the limit the kept one is used.
    #[tokio::test]
    async fn a_connection_idle_past_the_limit_is_replaced() {
        let Some(pool) = test_pool() else { return };
        let dedicated = Dedicated::with_max_idle(pool, Duration::from_secs(2));
        let first = backend_pid(&dedicated).await;
        assert_eq!(
            backend_pid(&dedicated).await,
            first,
            "used within the limit"
        );
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let second = backend_pid(&dedicated).await;
        assert_ne!(second, first, "replaced after the limit");
        assert_eq!(backend_pid(&dedicated).await, second, "the new one is kept");
    }
}
