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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    use async_trait::async_trait;
    use serde_json::Value;

    use super::*;
    use crate::adapters::memory::MemoryPolicies;
    use crate::domain::policy::{ActivePolicy, DraftUpdate, PolicyDecision, PolicyDraft};
    use crate::domain::tenant::TenantScope;
    use crate::domain::time::Timestamp;
    use crate::ports::StoreResult;
    use crate::ports::{Candidate, DeleteDraftOutcome, PromoteOutcome, RollbackOutcome};

    /// The memory store, with `list_active` held after it has read the slots (once
    /// `hold` is set) until `release`: a sync stopped between reading the slots and
    /// installing what it read. Everything else goes straight through.
    #[derive(Default)]
    struct HeldReads {
        inner: MemoryPolicies,
        hold: AtomicBool,
        reading: Notify,
        release: Notify,
    }

    #[async_trait]
    impl PolicyStore for HeldReads {
        async fn list_active(&self) -> StoreResult<Vec<ActivePolicy>> {
            let slots = self.inner.list_active().await;
            if self.hold.swap(false, Ordering::SeqCst) {
                self.reading.notify_one();
                self.release.notified().await;
            }
            slots
        }
        async fn create_draft(&self, draft: &PolicyDraft) -> StoreResult<()> {
            self.inner.create_draft(draft).await
        }
        async fn update_draft(
            &self,
            id: &str,
            u: &DraftUpdate,
        ) -> StoreResult<Option<PolicyDraft>> {
            self.inner.update_draft(id, u).await
        }
        async fn get_draft(&self, id: &str) -> StoreResult<Option<PolicyDraft>> {
            self.inner.get_draft(id).await
        }
        async fn list_drafts(
            &self,
            s: &TenantScope,
            l: u32,
            o: u64,
        ) -> StoreResult<Vec<PolicyDraft>> {
            self.inner.list_drafts(s, l, o).await
        }
        async fn delete_draft(&self, id: &str) -> StoreResult<DeleteDraftOutcome> {
            self.inner.delete_draft(id).await
        }
        async fn active(&self, tenant: &str) -> StoreResult<ActivePolicy> {
            self.inner.active(tenant).await
        }
        async fn promote(
            &self,
            tenant: &str,
            draft: &str,
            by: &str,
            at: Timestamp,
        ) -> StoreResult<PromoteOutcome> {
            self.inner.promote(tenant, draft, by, at).await
        }
        async fn rollback(
            &self,
            tenant: &str,
            by: &str,
            at: Timestamp,
        ) -> StoreResult<RollbackOutcome> {
            self.inner.rollback(tenant, by, at).await
        }
        async fn clear_active(&self, tenant: &str) -> StoreResult<ActivePolicy> {
            self.inner.clear_active(tenant).await
        }
    }

    /// Records the source installed in each slot.
    #[derive(Default)]
    struct Installed(Mutex<HashMap<String, String>>);

    impl PolicyEngine for Installed {
        fn compile_check(&self, _: &str) -> Result<(), String> {
            Ok(())
        }
        fn candidate(&self, _: &str) -> Result<Candidate, String> {
            Err("no candidates here".into())
        }
        fn install(&self, slot: &str, source: &str) -> Result<(), String> {
            let mut slots = self.0.lock().unwrap();
            slots.insert(slot.to_owned(), source.to_owned());
            Ok(())
        }
        fn remove(&self, slot: &str) {
            self.0.lock().unwrap().remove(slot);
        }
        fn evaluate(&self, _: &str, _: Value) -> Result<PolicyDecision, String> {
            Err("not evaluated here".into())
        }
    }

    fn draft(id: &str, source: &str) -> PolicyDraft {
        PolicyDraft {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            rego_source: source.into(),
            tenant: String::new(),
            created_at: Timestamp::from_unix_seconds(1),
            updated_at: Timestamp::from_unix_seconds(1),
            created_by: "test".into(),
        }
    }

    /// A promotion that lands while a sync is between reading the slots and installing
    /// what it read waits for the sync, so the promoted policy is the one left running
    /// (without the lock held across both, the sync installed the older policy over it).
    /// The admin use-case's side of the lock: `tests/api/admin_policies.rs`.
    #[tokio::test(start_paused = true)]
    async fn a_promotion_during_a_sync_is_the_policy_left_running() {
        let store = Arc::new(HeldReads::default());
        for (id, source) in [("aaaaaaaaaaaaaaaa", "old"), ("bbbbbbbbbbbbbbbb", "new")] {
            store.create_draft(&draft(id, source)).await.unwrap();
        }
        let at = Timestamp::from_unix_seconds(2);
        store
            .promote("", "aaaaaaaaaaaaaaaa", "t", at)
            .await
            .unwrap();
        let engine = Arc::new(Installed::default());
        let writes = PolicyWrites::default();
        let mut sync = PolicySync::new(store.clone(), engine.clone(), Arc::clone(&writes));

        store.hold.store(true, Ordering::SeqCst);
        let syncing = tokio::spawn(async move { sync.sync_once(false).await });
        store.reading.notified().await;
        // The promotion, as the admin use-cases write a slot: store, then engine.
        let promoting = tokio::spawn({
            let (store, engine) = (store.clone(), engine.clone());
            async move {
                let _writing = writes.lock().await;
                store
                    .promote("", "bbbbbbbbbbbbbbbb", "t", at)
                    .await
                    .unwrap();
                engine.install("", "new").unwrap();
            }
        });
        // Paused time moves on only once no task can run: the promotion has gone as
        // far as it can, which must be no further than the lock.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !promoting.is_finished(),
            "the promotion did not wait for the sync"
        );
        store.release.notify_one();
        syncing.await.unwrap().unwrap();
        promoting.await.unwrap();

        assert_eq!(
            engine.0.lock().unwrap().get("").map(String::as_str),
            Some("new")
        );
    }
}
