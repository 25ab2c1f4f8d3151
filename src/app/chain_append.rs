//! Appending one chain's run for the audit writer: sealed onto the head it knows,
//! re-sealed when another writer moved it, and — when the store refuses the run for
//! what it holds rather than because it is down — retried one event at a time, so one
//! event the store cannot take fails only its own call.

use std::collections::HashMap;

use crate::domain::audit::{AuditEvent, ChainHead, ChainedEvent, seal};
use crate::ports::{AppendOutcome, AuditChainStore, StoreError};

/// The event could not be committed; the call must fail closed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit: {0}")]
pub struct AuditFailure(pub String);

/// Re-seal attempts when other writers (replicas) keep moving the head.
const MAX_HEAD_RETRIES: usize = 32;

/// Each event's fate, in the order given, and the records that were committed.
pub(super) struct RunResult {
    pub committed: Vec<ChainedEvent>,
    pub outcomes: Vec<Result<(), AuditFailure>>,
}

/// Appends `events` to `chain` as one run; if the store refuses it for its content,
/// appends them one by one instead.
pub(super) async fn append_run(
    store: &dyn AuditChainStore,
    heads: &mut HashMap<String, Option<ChainHead>>,
    chain: &str,
    events: Vec<AuditEvent>,
) -> RunResult {
    let count = events.len();
    let refused = match append(store, heads, chain, events).await {
        Ok(committed) => {
            return RunResult {
                committed,
                outcomes: vec![Ok(()); count],
            };
        }
        Err(refused) => refused,
    };
    if count == 1 || !refused.retry_alone {
        return RunResult {
            committed: Vec::new(),
            outcomes: vec![Err(refused.failure); count],
        };
    }
    tracing::warn!(chain, events = count, error = %refused.failure,
        "audit run refused; appending its events one by one");
    let mut result = RunResult {
        committed: Vec::new(),
        outcomes: Vec::with_capacity(count),
    };
    for event in refused.events {
        match append(store, heads, chain, vec![event]).await {
            Ok(records) => {
                result.committed.extend(records);
                result.outcomes.push(Ok(()));
            }
            Err(alone) => result.outcomes.push(Err(alone.failure)),
        }
    }
    result
}

/// Why a run was not appended, with its events for a retry.
struct Refused {
    failure: AuditFailure,
    /// The store answered but refused the content: another grouping may succeed.
    retry_alone: bool,
    events: Vec<AuditEvent>,
}

/// Seals and appends one run, re-sealing on the head another writer moved.
async fn append(
    store: &dyn AuditChainStore,
    heads: &mut HashMap<String, Option<ChainHead>>,
    chain: &str,
    mut events: Vec<AuditEvent>,
) -> Result<Vec<ChainedEvent>, Refused> {
    let mut head = match heads.remove(chain) {
        Some(cached) => cached,
        None => match store.head(chain).await {
            Ok(head) => head,
            Err(e) => return Err(refused(&e, events)),
        },
    };
    for _ in 0..MAX_HEAD_RETRIES {
        let run = seal(chain, head.as_ref(), events);
        match store.append(&run).await {
            Ok(AppendOutcome::Appended(new_head)) => {
                heads.insert(chain.to_owned(), Some(new_head));
                return Ok(run);
            }
            Ok(AppendOutcome::HeadMoved { current }) => head = current,
            Err(e) => return Err(refused(&e, unsealed(run))),
        }
        // Re-seal the same events (their timestamps are already truncated).
        events = unsealed(run);
    }
    Err(Refused {
        failure: AuditFailure(format!(
            "chain {chain} head kept moving; gave up after retries"
        )),
        retry_alone: false,
        events,
    })
}

fn refused(e: &StoreError, events: Vec<AuditEvent>) -> Refused {
    Refused {
        failure: AuditFailure(e.to_string()),
        retry_alone: !matches!(e, StoreError::Unavailable { .. }),
        events,
    }
}

fn unsealed(run: Vec<ChainedEvent>) -> Vec<AuditEvent> {
    run.into_iter().map(|r| r.event).collect()
}
