//! One connection kept aside for a writer whose statements follow one another: the
//! audit writer's appends and the budget counter's counts (each runs one round at a
//! time). A pool checkout costs a task hand-off each way, about 100 µs a statement on
//! two cores (`guides/deps-and-floor.md`), and every call waits for two or three such
//! statements.

use std::sync::{Mutex, PoisonError};

use sqlx::{Connection, PgConnection, PgPool};

pub(super) struct Dedicated {
    /// Where the connection's settings come from.
    pool: PgPool,
    /// The connection between statements; `None` before the first, while one is
    /// running, and after one that left the connection unusable.
    idle: Mutex<Option<PgConnection>>,
}

impl Dedicated {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            idle: Mutex::new(None),
        }
    }

    /// Runs `statement` on the kept connection (opening one when there is none) and
    /// keeps the connection for the next one if the statement succeeded. Two
    /// overlapping callers each get a connection; one is kept.
    pub async fn run<T>(
        &self,
        statement: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let kept = self.lock().take();
        let mut conn = match kept {
            Some(conn) => conn,
            None => PgConnection::connect_with(&self.pool.connect_options()).await?,
        };
        let result = statement(&mut conn).await;
        // Not after an error, even one the database reported: a terminated backend
        // says so as a database error (57P01) and then closes the connection.
        if result.is_ok() {
            *self.lock() = Some(conn);
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<PgConnection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
