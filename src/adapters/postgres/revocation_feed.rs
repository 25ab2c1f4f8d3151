//! The revoked pairs in memory, kept current by LISTEN/NOTIFY, so the hot-path lookup
//! costs no round trip.
//!
//! A trigger on `revoked_tokens` notifies every insert and update (whoever writes the
//! row: this replica, another one, or an operator's SQL). The listener loads the table
//! once it is listening, then applies each notice. It also pings its own channel every
//! [`HEARTBEAT`]: the set counts as current only while a notice arrived within
//! [`CURRENT_FOR`], so a dropped or silently stalled listener sends lookups back to the
//! database (fail closed) until it has listened and reloaded again. The window in which
//! another replica's revocation is not yet seen here is the notice's delivery time.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::domain::revocation::RevokedSet;

pub(super) const REVOCATION_CHANNEL: &str = "intentgate_revocations";
/// How often the listener pings its own channel.
const HEARTBEAT: Duration = Duration::from_millis(500);
/// How long after the last notice the set is still trusted.
const CURRENT_FOR: Duration = Duration::from_secs(2);
/// The pause before listening again after the connection failed.
const RETRY_AFTER: Duration = Duration::from_millis(500);

pub(super) struct RevocationFeed {
    revoked: RwLock<RevokedSet>,
    /// Milliseconds since `epoch` at the last notice heard; 0 while not listening.
    heard_at_ms: AtomicU64,
    epoch: Instant,
}

impl RevocationFeed {
    /// Starts following the table; until the first load, lookups go to the database.
    pub(super) fn start(pool: PgPool) -> Arc<Self> {
        let feed = Arc::new(Self {
            revoked: RwLock::new(RevokedSet::default()),
            heard_at_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        });
        let follower = Arc::downgrade(&feed);
        let heartbeat_pool = pool.clone();
        tokio::spawn(async move {
            while let Some(feed) = follower.upgrade() {
                let Err(e) = follow(&pool, &feed).await;
                tracing::warn!(error = %e, "revocation feed lost; lookups go to the database until it is back");
                feed.heard_at_ms.store(0, Ordering::Relaxed);
                drop(feed);
                tokio::time::sleep(RETRY_AFTER).await;
            }
        });
        tokio::spawn(heartbeat(heartbeat_pool, Arc::downgrade(&feed)));
        feed
    }

    /// Whether a row revokes `jti` for `tenant`, when the set is current; `None` when
    /// the caller must ask the database.
    pub(super) fn covers(&self, jti: &str, tenant: &str) -> Option<bool> {
        let heard = self.heard_at_ms.load(Ordering::Relaxed);
        let now = self.millis();
        if heard == 0 || now.saturating_sub(heard) > CURRENT_FOR.as_millis() as u64 {
            return None;
        }
        Some(self.set().covers(jti, tenant))
    }

    /// Adds a pair this replica just stored (its own notice may still be on its way).
    pub(super) fn insert(&self, jti: &str, tenant: &str) {
        self.revoked
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(jti, tenant);
    }

    fn set(&self) -> std::sync::RwLockReadGuard<'_, RevokedSet> {
        self.revoked.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn millis(&self) -> u64 {
        // +1 so that a notice in the first millisecond is not read as "never".
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    fn heard(&self) {
        self.heard_at_ms.store(self.millis(), Ordering::Relaxed);
    }
}

/// Listens, loads the table, then applies notices until the connection fails.
async fn follow(pool: &PgPool, feed: &RevocationFeed) -> Result<Infallible, FeedError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(REVOCATION_CHANNEL).await?;
    // Loaded after LISTEN: a revocation committed in between is in the rows or in a
    // notice, and applying it twice is harmless.
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT jti, tenant FROM revoked_tokens")
        .fetch_all(pool)
        .await?;
    let mut loaded = RevokedSet::default();
    for (jti, tenant) in &rows {
        loaded.insert(jti, tenant);
    }
    *feed.revoked.write().unwrap_or_else(PoisonError::into_inner) = loaded;
    feed.heard();
    loop {
        let Some(notice) = listener.try_recv().await? else {
            return Err(FeedError::ConnectionLost);
        };
        if !notice.payload().is_empty() {
            let (jti, tenant): (String, String) = serde_json::from_str(notice.payload())
                .map_err(|e| FeedError::Payload(e.to_string()))?;
            feed.insert(&jti, &tenant);
        }
        feed.heard();
    }
}

/// Pings the channel so a quiet feed still proves it is alive.
async fn heartbeat(pool: PgPool, feed: std::sync::Weak<RevocationFeed>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while feed.strong_count() > 0 {
        tick.tick().await;
        let ping = sqlx::query("SELECT pg_notify($1, '')")
            .bind(REVOCATION_CHANNEL)
            .execute(&pool)
            .await;
        if let Err(e) = ping {
            tracing::debug!(error = %e, "revocation feed heartbeat failed");
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum FeedError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the listening connection was lost")]
    ConnectionLost,
    #[error("unreadable revocation notice: {0}")]
    Payload(String),
}
