//! Opening, resolving and closing the MCP sessions the gateway issues.

use std::sync::Arc;

use crate::app::random_bytes;
use crate::domain::mcp::{
    McpSession, SessionOwner, SessionRefused, new_session_id, plausible_session_id,
};
use crate::ports::{Clock, SessionCreated, SessionStore, StoreError};

/// Why a presented session cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Unknown, expired or someone else's: HTTP 404, the client re-initialises.
    #[error(transparent)]
    Refused(#[from] SessionRefused),
    /// The store could not answer: the request is refused (fail closed).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many live sessions one caller (tenant, subject, root token) may hold; opening
/// another ends the oldest, so clients that never send DELETE cannot fill the store.
pub const MAX_SESSIONS_PER_CALLER: usize = 64;

pub struct Sessions {
    store: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
    ttl_secs: i64,
}

impl Sessions {
    pub fn new(store: Arc<dyn SessionStore>, clock: Arc<dyn Clock>, ttl_secs: i64) -> Self {
        Self {
            store,
            clock,
            ttl_secs,
        }
    }

    /// A new session for `owner`, stored before its id is handed out, and the
    /// caller's oldest sessions beyond [`MAX_SESSIONS_PER_CALLER`], now ended (their
    /// upstream sessions are the caller's to end).
    pub async fn open(
        &self,
        owner: SessionOwner,
        upstream_id: Option<String>,
        protocol_version: String,
    ) -> Result<(McpSession, Vec<McpSession>), StoreError> {
        let session = self.create(owner, upstream_id, protocol_version).await?;
        let now = self.clock.now();
        let evicted = self
            .store
            .evict_beyond(&session.owner, MAX_SESSIONS_PER_CALLER, now)
            .await
            .unwrap_or_else(|e| {
                // The new session stands; the cap applies at the next open.
                tracing::warn!(error = %e, "evicting a caller's oldest MCP sessions failed");
                Vec::new()
            });
        Ok((session, evicted))
    }

    async fn create(
        &self,
        owner: SessionOwner,
        upstream_id: Option<String>,
        protocol_version: String,
    ) -> Result<McpSession, StoreError> {
        // 32 random bytes do not collide; a second try covers a broken generator
        // without ever handing out an id that someone else holds.
        for _ in 0..2 {
            let bytes = random_bytes().map_err(|e| StoreError::Backend {
                backend: "sessions",
                source: Box::new(e),
            })?;
            let session = McpSession::open(
                new_session_id(bytes),
                owner.clone(),
                upstream_id.clone(),
                protocol_version.clone(),
                self.clock.now(),
                self.ttl_secs,
            );
            if self.store.create(&session).await? == SessionCreated::Created {
                return Ok(session);
            }
        }
        Err(StoreError::InvalidRequest(
            "session id collision twice in a row; is the random generator broken?".into(),
        ))
    }

    /// The session `id` if `owner` may use it now; renewed when half its idle
    /// lifetime has passed.
    pub async fn resolve(
        &self,
        id: &str,
        owner: &SessionOwner,
    ) -> Result<McpSession, ResolveError> {
        if !plausible_session_id(id) {
            return Err(SessionRefused::Unknown.into()); // never one of ours: no store trip
        }
        let now = self.clock.now();
        let Some(session) = self.store.get(id, now).await? else {
            return Err(SessionRefused::Unknown.into());
        };
        session.admit(owner, now)?;
        if let Some(until) = session.renewal(now, self.ttl_secs) {
            // A failed renewal only shortens the session; the request goes on.
            if let Err(e) = self.store.renew(id, now, until).await {
                tracing::warn!(error = %e, "MCP session renewal failed");
            }
        }
        Ok(session)
    }

    /// Ends a session; `true` when it existed.
    pub async fn close(&self, id: &str) -> Result<bool, StoreError> {
        self.store.delete(id).await
    }

    /// Removes expired sessions every `every`, for as long as the process runs.
    pub fn spawn_purge(self: &Arc<Self>, every: std::time::Duration) {
        let sessions = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                match sessions.store.purge_expired(sessions.clock.now()).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::debug!(purged, "expired MCP sessions removed"),
                    Err(e) => tracing::warn!(error = %e, "purging expired MCP sessions failed"),
                }
            }
        });
    }
}
