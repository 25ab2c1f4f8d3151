use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::domain::mcp::{McpSession, SessionOwner, beyond_newest};
use crate::domain::time::Timestamp;
use crate::ports::{SessionCreated, SessionStore, StoreResult};

#[derive(Default)]
pub struct MemorySessions {
    sessions: Mutex<HashMap<String, McpSession>>,
}

#[async_trait]
impl SessionStore for MemorySessions {
    async fn create(&self, session: &McpSession) -> StoreResult<SessionCreated> {
        let mut sessions = lock(&self.sessions);
        if sessions.contains_key(&session.id) {
            return Ok(SessionCreated::AlreadyExists);
        }
        sessions.insert(session.id.clone(), session.clone());
        Ok(SessionCreated::Created)
    }

    async fn get(&self, id: &str, now: Timestamp) -> StoreResult<Option<McpSession>> {
        let sessions = lock(&self.sessions);
        Ok(sessions.get(id).filter(|s| s.is_live(now)).cloned())
    }

    async fn renew(&self, id: &str, now: Timestamp, expires_at: Timestamp) -> StoreResult<bool> {
        let mut sessions = lock(&self.sessions);
        match sessions.get_mut(id).filter(|s| s.is_live(now)) {
            Some(s) => {
                s.expires_at = s.expires_at.max(expires_at);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn delete(&self, id: &str) -> StoreResult<bool> {
        Ok(lock(&self.sessions).remove(id).is_some())
    }

    async fn evict_beyond(
        &self,
        owner: &SessionOwner,
        keep: usize,
        now: Timestamp,
    ) -> StoreResult<Vec<McpSession>> {
        let mut sessions = lock(&self.sessions);
        let owned = sessions
            .values()
            .filter(|s| &s.owner == owner && s.is_live(now))
            .cloned()
            .collect();
        let evicted = beyond_newest(owned, keep);
        for s in &evicted {
            sessions.remove(&s.id);
        }
        Ok(evicted)
    }

    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64> {
        let mut sessions = lock(&self.sessions);
        let before = sessions.len();
        sessions.retain(|_, s| s.is_live(now));
        Ok((before - sessions.len()) as u64)
    }
}
