//! Waiting for human decisions on escalated calls.
//!
//! A waiting call re-reads its row when woken (a decision made through this process)
//! and at least every `poll` interval (a decision made by another replica), and
//! expires the row itself when its window ends. If the waiting request goes away (the
//! client disconnected), the row is expired too, as the reference does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use crate::domain::approval::{Approval, ApprovalDecision, ApprovalStatus, ApprovalVerdict};
use crate::ports::{ApprovalStore, Clock, DecideOutcome, StoreError, StoreResult};

pub struct ApprovalGate {
    store: Arc<dyn ApprovalStore>,
    clock: Arc<dyn Clock>,
    poll: Duration,
    waiters: Mutex<HashMap<String, Arc<Notify>>>,
}

impl ApprovalGate {
    pub fn new(store: Arc<dyn ApprovalStore>, clock: Arc<dyn Clock>, poll: Duration) -> Self {
        Self {
            store,
            clock,
            poll,
            waiters: Mutex::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Arc<dyn ApprovalStore> {
        &self.store
    }

    /// Applies a decision and wakes a call waiting on this replica.
    pub async fn decide(
        &self,
        pending_id: &str,
        decision: &ApprovalDecision,
    ) -> StoreResult<DecideOutcome> {
        let outcome = self.store.decide(pending_id, decision).await?;
        if matches!(outcome, DecideOutcome::Decided(_)) {
            self.wake(pending_id);
        }
        Ok(outcome)
    }

    /// Wakes the local waiter of `pending_id`, if any (also used by replica
    /// notifications).
    pub fn wake(&self, pending_id: &str) {
        if let Some(n) = self.lock().get(pending_id) {
            n.notify_one();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until the row leaves `pending` or `window` ends (then expires it).
    /// Returns the decided row.
    pub async fn wait(
        self: &Arc<Self>,
        pending_id: &str,
        window: Duration,
    ) -> StoreResult<Approval> {
        let notify = Arc::new(Notify::new());
        self.lock()
            .insert(pending_id.to_owned(), Arc::clone(&notify));
        let mut guard = ExpireOnDrop {
            gate: Arc::clone(self),
            id: pending_id.to_owned(),
            armed: true,
        };
        let deadline = tokio::time::Instant::now() + window;
        let result = loop {
            let woken = notify.notified();
            match self.store.get(pending_id).await {
                Ok(Some(row)) if row.status != ApprovalStatus::Pending => break Ok(row),
                Ok(Some(_)) => {}
                Ok(None) => {
                    break Err(StoreError::InvalidRequest(format!(
                        "approval {pending_id} vanished"
                    )));
                }
                Err(e) => break Err(e),
            }
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep(self.poll) => {}
                () = tokio::time::sleep_until(deadline) => break self.expire(pending_id).await,
            }
        };
        guard.armed = false;
        self.lock().remove(pending_id);
        result
    }

    /// Moves a still-pending row to `timeout`; a row decided meanwhile is returned as is.
    async fn expire(&self, pending_id: &str) -> StoreResult<Approval> {
        let expiry = ApprovalDecision {
            verdict: ApprovalVerdict::Expire,
            decided_by: String::new(),
            note: String::new(),
            at: self.clock.now(),
        };
        match self.decide(pending_id, &expiry).await? {
            DecideOutcome::Decided(row) | DecideOutcome::AlreadyDecided(row) => Ok(row),
            DecideOutcome::NotFound => Err(StoreError::InvalidRequest(format!(
                "approval {pending_id} vanished"
            ))),
        }
    }
}

/// Expires the row when a wait is abandoned (the request future was dropped).
struct ExpireOnDrop {
    gate: Arc<ApprovalGate>,
    id: String,
    armed: bool,
}

impl Drop for ExpireOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.gate.lock().remove(&self.id);
        let (gate, id) = (Arc::clone(&self.gate), std::mem::take(&mut self.id));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = gate.expire(&id).await;
            });
        }
    }
}
