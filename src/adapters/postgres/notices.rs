//! LISTEN/NOTIFY: writes announce policy and approval changes; one listener connection
//! per process turns them into [`Change`]s.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use crate::ports::{Change, ChangeFeed};

pub(super) const POLICY_CHANNEL: &str = "intentgate_policy_active_changed";
pub(super) const APPROVAL_CHANNEL: &str = "intentgate_approvals";

pub(super) struct PgChanges {
    tx: broadcast::Sender<Change>,
}

impl ChangeFeed for PgChanges {
    fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }
}

impl PgChanges {
    /// Starts the listener task; it reconnects after errors.
    pub(super) fn start(pool: PgPool) -> Self {
        let (tx, _) = broadcast::channel(256);
        let sender = tx.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = listen(&pool, &sender).await {
                    tracing::warn!(error = %e, "postgres change listener failed; reconnecting");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        Self { tx }
    }
}

async fn listen(pool: &PgPool, tx: &broadcast::Sender<Change>) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all([POLICY_CHANNEL, APPROVAL_CHANNEL])
        .await?;
    loop {
        let notice = listener.recv().await?;
        let payload = notice.payload().to_owned();
        let change = match notice.channel() {
            POLICY_CHANNEL => Change::PolicySlot { tenant: payload },
            _ => Change::ApprovalDecided {
                pending_id: payload,
            },
        };
        // No receiver yet is fine: consumers poll as well.
        let _ = tx.send(change);
    }
}
