//! MCP sessions issued by the gateway, shared by every replica on the same store.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::mcp::{McpSession, SessionOwner};
use crate::domain::time::Timestamp;

/// Whether `create` stored the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionCreated {
    Created,
    /// A session with this id exists; nothing was written.
    AlreadyExists,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session under its id.
    async fn create(&self, session: &McpSession) -> StoreResult<SessionCreated>;

    /// The session with `id` if it exists and is live at `now` (`now < expires_at`);
    /// `Ok(None)` when unknown or expired. Not owner-scoped: the caller checks the owner.
    async fn get(&self, id: &str, now: Timestamp) -> StoreResult<Option<McpSession>>;

    /// Moves a live session's expiry to `expires_at`, never backwards. `false` when the
    /// session is unknown or already expired at `now` (an expired session stays gone).
    async fn renew(&self, id: &str, now: Timestamp, expires_at: Timestamp) -> StoreResult<bool>;

    /// Removes the session. `true` for exactly one of any number of concurrent calls
    /// for a session that existed; `false` when there was none.
    async fn delete(&self, id: &str) -> StoreResult<bool>;

    /// Keeps the `keep` most recently created live sessions of `owner` (ties broken by
    /// id) and removes the others, returning them, so one caller cannot fill the store
    /// by opening sessions it never ends. Other owners' sessions are untouched.
    async fn evict_beyond(
        &self,
        owner: &SessionOwner,
        keep: usize,
        now: Timestamp,
    ) -> StoreResult<Vec<McpSession>>;

    /// Removes every session expired at `now`; returns how many.
    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64>;
}
