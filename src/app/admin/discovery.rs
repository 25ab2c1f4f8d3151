//! Agent discovery over the audit port: read the window's newest events, fold them.

use super::AuditPages;
use crate::domain::audit::{AuditEvent, AuditQuery};
use crate::domain::discovery::{ObservedAgent, observe_agents};
use crate::ports::{AuditChainStore, StoreResult};

/// The most events one discovery reads (the reference's bound): a busy log cannot turn
/// one page view into a full scan.
pub const DISCOVERY_SCAN_CAP: u64 = 10_000;

/// The agents seen in a window and how many events that rests on.
#[derive(Debug)]
pub struct Discovery {
    pub agents: Vec<ObservedAgent>,
    pub events_scanned: u64,
}

/// The agents in the newest [`DISCOVERY_SCAN_CAP`] events matching `query`'s tenant and
/// time bounds (its other filters are honoured too; the route sets none).
pub async fn discover_agents(
    store: &dyn AuditChainStore,
    query: AuditQuery,
) -> StoreResult<Discovery> {
    let mut pages = AuditPages::new(query, DISCOVERY_SCAN_CAP);
    let mut events: Vec<AuditEvent> = Vec::new();
    loop {
        let page = pages.next(store).await?;
        if page.is_empty() {
            break;
        }
        events.extend(page.into_iter().map(|r| r.event));
    }
    Ok(Discovery {
        agents: observe_agents(&events),
        events_scanned: events.len() as u64,
    })
}
