//! Verifying one tenant's chain through the audit port, page by page.

use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::audit::{ChainVerifier, ChainedEvent, VerifyReport};
use crate::domain::time::Timestamp;
use crate::ports::{AuditChainStore, StoreResult};

const VERIFY_PAGE: u32 = 2000;

/// Walks `chain` from its first record to the head it had when the walk began, so a
/// busy chain gives a consistent verdict; the head is reported when nothing broke.
///
/// The next page is read while the current one is hashed: a store that reads on another
/// thread (sled's blocking pool) or over the network (Postgres) overlaps the two.
pub async fn verify_chain(
    store: &dyn AuditChainStore,
    chain: &str,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> StoreResult<VerifyReport> {
    walk(store, chain, ChainVerifier::new(from, to)).await
}

/// As [`verify_chain`], and also checks that the records up to `checkpoint` have the
/// root it signed (see [`ChainVerifier::against`]).
pub async fn verify_against(
    store: &dyn AuditChainStore,
    chain: &str,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    checkpoint: &SignedCheckpoint,
) -> StoreResult<VerifyReport> {
    let verifier = ChainVerifier::new(from, to).against(checkpoint.size, checkpoint.root);
    walk(store, chain, verifier).await
}

async fn walk(
    store: &dyn AuditChainStore,
    chain: &str,
    mut verifier: ChainVerifier,
) -> StoreResult<VerifyReport> {
    let head = store.head(chain).await?;
    let last = head.as_ref().map_or(0, |h| h.seq);
    let mut page = if last == 0 {
        Vec::new()
    } else {
        store.range(chain, 1, VERIFY_PAGE).await?
    };
    while !page.is_empty() {
        let next = page.last().map_or(u64::MAX, |r| r.seq.saturating_add(1));
        let more = page.len() == VERIFY_PAGE as usize && next <= last;
        let (following, intact) = tokio::join!(
            async {
                match more {
                    true => store.range(chain, next, VERIFY_PAGE).await,
                    false => Ok(Vec::new()),
                }
            },
            async { feed(&mut verifier, &page, last) },
        );
        if !intact {
            break;
        }
        page = following?;
        // Hashing is CPU work: let request handling run between pages.
        tokio::task::yield_now().await;
    }
    Ok(verifier.finish(head))
}

/// Feeds the page's records up to `last`; `false` once the chain is broken.
fn feed(verifier: &mut ChainVerifier, page: &[ChainedEvent], last: u64) -> bool {
    page.iter()
        .take_while(|r| r.seq <= last)
        .all(|r| verifier.feed(r))
}
