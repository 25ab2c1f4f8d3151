use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{lock, page};
use crate::domain::audit::{AuditQuery, ChainHead, ChainedEvent, newest_first};
use crate::ports::{AppendOutcome, AuditChainStore, StoreResult, check_run, extends};

/// Chains by key, each a vector indexed by `seq - 1`.
#[derive(Default)]
pub struct MemoryAudit {
    chains: Mutex<BTreeMap<String, Vec<ChainedEvent>>>,
}

#[async_trait]
impl AuditChainStore for MemoryAudit {
    async fn head(&self, chain: &str) -> StoreResult<Option<ChainHead>> {
        Ok(lock(&self.chains)
            .get(chain)
            .and_then(|c| c.last())
            .map(ChainedEvent::head))
    }

    async fn append(&self, records: &[ChainedEvent]) -> StoreResult<AppendOutcome> {
        check_run(records)?;
        let first = &records[0];
        let mut chains = lock(&self.chains);
        let chain = chains.entry(first.chain.clone()).or_default();
        let head = chain.last().map(ChainedEvent::head);
        if !extends(head.as_ref(), first) {
            return Ok(AppendOutcome::HeadMoved { current: head });
        }
        chain.extend_from_slice(records);
        Ok(AppendOutcome::Appended(records[records.len() - 1].head()))
    }

    async fn range(
        &self,
        chain: &str,
        from_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<ChainedEvent>> {
        let chains = lock(&self.chains);
        let Some(records) = chains.get(chain) else {
            return Ok(Vec::new());
        };
        let start = from_seq.saturating_sub(1);
        Ok(page(records.iter().cloned(), limit, start))
    }

    async fn query(&self, query: &AuditQuery) -> StoreResult<Vec<ChainedEvent>> {
        let chains = lock(&self.chains);
        let mut hits: Vec<&ChainedEvent> = chains
            .values()
            .flatten()
            .filter(|r| query.matches(&r.event) && query.continues(r))
            .collect();
        // Only the first offset+limit in order matter: select them, sort just those,
        // and clone only the page (exports page through large chains).
        let end = usize::try_from(query.offset)
            .unwrap_or(usize::MAX)
            .saturating_add(query.effective_limit() as usize);
        if end < hits.len() {
            hits.select_nth_unstable_by(end, |a, b| newest_first(a, b));
            hits.truncate(end);
        }
        hits.sort_by(|a, b| newest_first(a, b));
        Ok(page(
            hits.into_iter().cloned(),
            query.effective_limit(),
            query.offset,
        ))
    }

    async fn count(&self, query: &AuditQuery) -> StoreResult<u64> {
        let chains = lock(&self.chains);
        let n = chains
            .values()
            .flatten()
            .filter(|r| query.matches(&r.event) && query.continues(r))
            .count();
        Ok(n as u64)
    }
}
