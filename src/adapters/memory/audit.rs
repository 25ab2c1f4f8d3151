use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::blocks::Blocks;
use super::{lock, page};
use crate::domain::audit::{AuditQuery, ChainHead, ChainedEvent, newest_first};
use crate::domain::audit::{check_run, extends};
use crate::ports::{AppendOutcome, AuditChainStore, StoreResult};

/// Chains by key, each the newest records in `seq` order. Past `retain` records in all,
/// an append drops the oldest records of its own chain (never the ones it adds), so a
/// long-running process stays bounded and a busy tenant cannot push out a quiet one's
/// records. What is kept still verifies: a chain's records read from its oldest kept
/// one, and verification links each to the one before it.
pub struct MemoryAudit {
    chains: Mutex<Chains>,
}

struct Chains {
    by_key: BTreeMap<String, Blocks<ChainedEvent>>,
    total: usize,
    retain: usize,
}

impl Default for MemoryAudit {
    fn default() -> Self {
        Self::retaining(crate::config::DEFAULT_MEMORY_AUDIT_RETAIN)
    }
}

impl MemoryAudit {
    /// A store that keeps about `retain` records (at least each chain's last run).
    pub fn retaining(retain: usize) -> Self {
        Self {
            chains: Mutex::new(Chains {
                by_key: BTreeMap::new(),
                total: 0,
                retain: retain.max(1),
            }),
        }
    }
}

impl Chains {
    fn records(&self) -> impl Iterator<Item = &ChainedEvent> {
        self.by_key.values().flat_map(Blocks::iter)
    }
}

#[async_trait]
impl AuditChainStore for MemoryAudit {
    async fn head(&self, chain: &str) -> StoreResult<Option<ChainHead>> {
        Ok(lock(&self.chains)
            .by_key
            .get(chain)
            .and_then(|c| c.back())
            .map(ChainedEvent::head))
    }

    async fn append(&self, records: &[ChainedEvent]) -> StoreResult<AppendOutcome> {
        check_run(records)?;
        let first = &records[0];
        let mut guard = lock(&self.chains);
        let chains = &mut *guard;
        let chain = chains.by_key.entry(first.chain.clone()).or_default();
        let head = chain.back().map(ChainedEvent::head);
        if !extends(head.as_ref(), first) {
            return Ok(AppendOutcome::HeadMoved { current: head });
        }
        records.iter().for_each(|r| chain.push_back(r.clone()));
        chains.total += records.len();
        while chains.total > chains.retain && chain.len() > records.len() {
            chain.drop_front();
            chains.total -= 1;
        }
        Ok(AppendOutcome::Appended(records[records.len() - 1].head()))
    }

    async fn range(
        &self,
        chain: &str,
        from_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<ChainedEvent>> {
        let chains = lock(&self.chains);
        let Some(records) = chains.by_key.get(chain) else {
            return Ok(Vec::new());
        };
        let start = position(records, from_seq);
        Ok(page(records.iter_from(start).cloned(), limit, 0))
    }

    async fn hashes(
        &self,
        chain: &str,
        from_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<(u64, String)>> {
        let chains = lock(&self.chains);
        let Some(records) = chains.by_key.get(chain) else {
            return Ok(Vec::new());
        };
        let start = position(records, from_seq);
        let hashes = records.iter_from(start).map(|r| (r.seq, r.hash.clone()));
        Ok(page(hashes, limit, 0))
    }

    async fn query(&self, query: &AuditQuery) -> StoreResult<Vec<ChainedEvent>> {
        let chains = lock(&self.chains);
        let mut hits: Vec<&ChainedEvent> = chains
            .records()
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
            .records()
            .filter(|r| query.matches(&r.event) && query.continues(r))
            .count();
        Ok(n as u64)
    }

    async fn chains(&self) -> StoreResult<Vec<String>> {
        Ok(lock(&self.chains).by_key.keys().cloned().collect())
    }
}

/// Where record `seq` is among a chain's kept records (they are contiguous).
fn position(records: &Blocks<ChainedEvent>, seq: u64) -> usize {
    let oldest = records.front().map_or(1, |r| r.seq);
    usize::try_from(seq.saturating_sub(oldest)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::audit::{AuditEvent, ChainVerifier, seal};
    use crate::domain::time::Timestamp;

    /// Appends `runs` runs of two events to chain `acme`.
    async fn fill(store: &MemoryAudit, runs: i64) {
        for i in 0..runs {
            let head = store.head("acme").await.unwrap();
            let events = (0..2)
                .map(|j| {
                    let ts = Timestamp::from_unix_seconds(1_700_000_000 + i * 2 + j);
                    let mut e = AuditEvent::new(ts, "allow", "read_invoice");
                    e.tenant = "acme".into();
                    e
                })
                .collect();
            let run = seal("acme", head.as_ref(), events);
            assert!(matches!(
                store.append(&run).await.unwrap(),
                AppendOutcome::Appended(_)
            ));
        }
    }

    #[tokio::test]
    async fn past_its_bound_the_store_keeps_the_newest_records_and_they_verify() {
        let store = MemoryAudit::retaining(5);
        fill(&store, 10).await;
        let kept = store.range("acme", 1, 100).await.unwrap();
        let seqs: Vec<u64> = kept.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![16, 17, 18, 19, 20]);
        assert_eq!(store.head("acme").await.unwrap().unwrap().seq, 20);
        assert_eq!(store.range("acme", 18, 100).await.unwrap()[0].seq, 18);
        let mut verifier = ChainVerifier::new(None, None);
        assert!(kept.iter().all(|r| verifier.feed(r)));
        let report = verifier.finish(store.head("acme").await.unwrap());
        assert!(report.ok, "{report:?}");
        assert_eq!(report.verified, 5);
    }

    /// Hundreds of records, so the chain spans several blocks and its first block is
    /// partly trimmed: reads from any position still start at that record.
    #[tokio::test]
    async fn reads_from_a_position_across_blocks_after_trimming() {
        let store = MemoryAudit::retaining(600);
        fill(&store, 400).await; // records 1..=800, the newest 600 kept
        let seqs = |records: Vec<ChainedEvent>| records.iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(store.range("acme", 1, 2).await.unwrap()),
            vec![201, 202]
        );
        for from in [201, 256, 257, 300, 512, 513, 799] {
            let got = seqs(store.range("acme", from, 3).await.unwrap());
            let want: Vec<u64> = (from..(from + 3).min(801)).collect();
            assert_eq!(got, want, "range from {from}");
            let hashes = store.hashes("acme", from, 3).await.unwrap();
            assert_eq!(
                hashes.iter().map(|h| h.0).collect::<Vec<_>>(),
                want,
                "hashes from {from}"
            );
        }
        assert!(store.range("acme", 801, 3).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_quiet_chain_keeps_its_records_while_a_busy_one_trims_its_own() {
        let store = MemoryAudit::retaining(4);
        let quiet = seal(
            "globex",
            None,
            vec![AuditEvent::new(
                Timestamp::from_unix_seconds(1),
                "allow",
                "t",
            )],
        );
        store.append(&quiet).await.unwrap();
        fill(&store, 5).await;
        assert_eq!(store.range("globex", 1, 10).await.unwrap().len(), 1);
        assert_eq!(store.range("acme", 1, 10).await.unwrap().len(), 3);
    }
}
