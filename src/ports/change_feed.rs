//! Change notices between replicas.

/// Something another process changed in the shared store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A tenant's active policy pointer moved (promote, rollback, clear).
    PolicySlot { tenant: String },
    /// An approval left `pending`.
    ApprovalDecided { pending_id: String },
}

/// A feed of changes made by any process sharing the store. Backends that only one
/// process can open (memory, sled) have none. Delivery is best effort: consumers also
/// poll, so a missed notice only delays a change.
pub trait ChangeFeed: Send + Sync {
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change>;
}
