use std::sync::Arc;

use async_trait::async_trait;

use super::codec::{SessionRecord, decode, encode};
use super::{Database, backend};
use crate::domain::mcp::{McpSession, SessionOwner, beyond_newest};
use crate::domain::time::Timestamp;
use crate::ports::{SessionCreated, SessionStore, StoreResult};

/// Sessions under their id, JSON records. Creation is a compare-and-swap from absent,
/// renewal an `update_and_fetch`, so concurrent writers never lose each other's work.
pub(super) struct SledSessions(pub Arc<Database>);

fn read(bytes: &[u8]) -> StoreResult<McpSession> {
    decode::<SessionRecord>(bytes, "MCP session").map(McpSession::from)
}

#[async_trait]
impl SessionStore for SledSessions {
    async fn create(&self, session: &McpSession) -> StoreResult<SessionCreated> {
        let id = session.id.clone();
        let bytes = encode(&SessionRecord::from(session))?;
        self.0
            .run(move |db| {
                let swapped = db
                    .sessions
                    .compare_and_swap(id.as_bytes(), None::<&[u8]>, Some(bytes))
                    .map_err(backend)?;
                Ok(match swapped {
                    Ok(()) => SessionCreated::Created,
                    Err(_) => SessionCreated::AlreadyExists,
                })
            })
            .await
    }

    async fn get(&self, id: &str, now: Timestamp) -> StoreResult<Option<McpSession>> {
        let id = id.to_owned();
        self.0
            .run(
                move |db| match db.sessions.get(id.as_bytes()).map_err(backend)? {
                    Some(bytes) => Ok(Some(read(&bytes)?).filter(|s| s.is_live(now))),
                    None => Ok(None),
                },
            )
            .await
    }

    async fn renew(&self, id: &str, now: Timestamp, expires_at: Timestamp) -> StoreResult<bool> {
        let id = id.to_owned();
        self.0
            .run(move |db| {
                let mut renewed = false;
                let mut corrupt = None;
                db.sessions
                    .update_and_fetch(id.as_bytes(), |old| {
                        renewed = false;
                        let old = old?;
                        let mut session = match read(old) {
                            Ok(s) => s,
                            Err(e) => {
                                corrupt = Some(e);
                                return Some(old.to_vec());
                            }
                        };
                        if !session.is_live(now) {
                            return Some(old.to_vec());
                        }
                        session.expires_at = session.expires_at.max(expires_at);
                        renewed = true;
                        encode(&SessionRecord::from(&session))
                            .ok()
                            .or_else(|| Some(old.to_vec()))
                    })
                    .map_err(backend)?;
                match corrupt {
                    Some(e) => Err(e),
                    None => Ok(renewed),
                }
            })
            .await
    }

    async fn delete(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.0
            .run(move |db| {
                Ok(db
                    .sessions
                    .remove(id.as_bytes())
                    .map_err(backend)?
                    .is_some())
            })
            .await
    }

    async fn evict_beyond(
        &self,
        owner: &SessionOwner,
        keep: usize,
        now: Timestamp,
    ) -> StoreResult<Vec<McpSession>> {
        let owner = owner.clone();
        self.0
            .run(move |db| {
                let mut owned = Vec::new();
                for entry in db.sessions.iter() {
                    let (_, value) = entry.map_err(backend)?;
                    let session = read(&value)?;
                    if session.owner == owner && session.is_live(now) {
                        owned.push(session);
                    }
                }
                let mut evicted = Vec::new();
                for session in beyond_newest(owned, keep) {
                    // Removed only if no one removed it first.
                    if db
                        .sessions
                        .remove(session.id.as_bytes())
                        .map_err(backend)?
                        .is_some()
                    {
                        evicted.push(session);
                    }
                }
                Ok(evicted)
            })
            .await
    }

    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64> {
        self.0
            .run(move |db| {
                let mut purged = 0;
                for entry in db.sessions.iter() {
                    let (key, value) = entry.map_err(backend)?;
                    if read(&value)?.is_live(now) {
                        continue;
                    }
                    // Only the version read is removed: a renewal in between keeps it.
                    let removed = db
                        .sessions
                        .compare_and_swap(&key, Some(&value), None::<&[u8]>)
                        .map_err(backend)?;
                    purged += u64::from(removed.is_ok());
                }
                Ok(purged)
            })
            .await
    }
}
