//! Verifying one tenant's chain through the audit port, page by page.

use crate::domain::audit::{ChainVerifier, VerifyReport};
use crate::domain::time::Timestamp;
use crate::ports::{AuditChainStore, StoreResult};

const VERIFY_PAGE: u32 = 5000;

/// Walks `chain` from its first record to the head it had when the walk began, so a
/// busy chain gives a consistent verdict; the head is reported when nothing broke.
pub async fn verify_chain(
    store: &dyn AuditChainStore,
    chain: &str,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> StoreResult<VerifyReport> {
    let head = store.head(chain).await?;
    let mut verifier = ChainVerifier::new(from, to);
    let last = head.as_ref().map_or(0, |h| h.seq);
    let mut next = 1;
    'walk: while next <= last {
        let page = store.range(chain, next, VERIFY_PAGE).await?;
        let Some(tail) = page.last() else { break };
        next = tail.seq + 1;
        for rec in page.iter().take_while(|r| r.seq <= last) {
            if !verifier.feed(rec) {
                break 'walk;
            }
        }
        if page.len() < VERIFY_PAGE as usize {
            break;
        }
        // Hashing is CPU work: let request handling run between pages.
        tokio::task::yield_now().await;
    }
    Ok(verifier.finish(head))
}
