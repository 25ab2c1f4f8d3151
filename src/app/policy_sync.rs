//! Keeps this process's compiled policies in step with the policy store, so a draft
//! promoted, rolled back or cleared through any replica is enforced by every replica.
//! Polling is the portable mechanism (every backend); where the store announces changes
//! (Postgres LISTEN/NOTIFY) a notice triggers a sync at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::ports::{PolicyEngine, PolicyStore};

/// Held while a policy slot is written and its policy installed: by the admin
/// use-cases (promote, rollback, clear) and by every sync. Without it a sync that read
/// the store just before a promotion could install the older policy just after the
/// promotion installed the new one, and calls would run the old policy until the next
/// sync.
pub type PolicyWrites = Arc<tokio::sync::Mutex<()>>;

pub struct PolicySync {
    store: Arc<dyn PolicyStore>,
    engine: Arc<dyn PolicyEngine>,
    writes: PolicyWrites,
    /// Slot → draft id currently installed from the store.
    applied: HashMap<String, String>,
}

impl PolicySync {
    pub fn new(
        store: Arc<dyn PolicyStore>,
        engine: Arc<dyn PolicyEngine>,
        writes: PolicyWrites,
    ) -> Self {
        Self {
            store,
            engine,
            writes,
            applied: HashMap::new(),
        }
    }

    /// Installs every slot whose current draft changed and drops tenant slots that were
    /// cleared. A draft that fails to compile is an error at startup (`strict`, as the
    /// reference); later it is logged and the old policy keeps serving. (The default
    /// slot, once cleared, keeps its last policy until restart.)
    pub async fn sync_once(&mut self, strict: bool) -> Result<(), String> {
        let writes = Arc::clone(&self.writes);
        let _writing = writes.lock().await;
        let slots = self.store.list_active().await.map_err(|e| e.to_string())?;
        let mut seen = HashMap::new();
        for slot in slots.into_iter().filter(|s| !s.current_draft_id.is_empty()) {
            seen.insert(slot.tenant.clone(), slot.current_draft_id.clone());
            if self.applied.get(&slot.tenant) == Some(&slot.current_draft_id) {
                continue;
            }
            let draft = self.store.get_draft(&slot.current_draft_id).await;
            let Some(draft) = draft.map_err(|e| e.to_string())? else {
                continue;
            };
            match self.engine.install(&slot.tenant, &draft.rego_source) {
                Ok(()) => {
                    tracing::info!(tenant = %slot.tenant, draft = %draft.id, "policy installed")
                }
                Err(e) if strict => {
                    return Err(format!(
                        "draft {} of tenant {:?}: {e}",
                        draft.id, slot.tenant
                    ));
                }
                Err(e) => {
                    tracing::error!(tenant = %slot.tenant, draft = %draft.id, error = %e, "policy did not compile; keeping the previous one");
                }
            }
        }
        for tenant in self.applied.keys().filter(|t| !seen.contains_key(*t)) {
            self.engine.remove(tenant);
        }
        self.applied = seen;
        Ok(())
    }

    /// Syncs every `interval`, and at once whenever `poke` is notified (a change
    /// notice from another replica), until the process ends.
    pub fn spawn(mut self, interval: Duration, poke: Arc<Notify>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = poke.notified() => {}
                }
                if let Err(e) = self.sync_once(false).await {
                    tracing::warn!(error = %e, "policy sync failed; retrying");
                }
            }
        })
    }
}
