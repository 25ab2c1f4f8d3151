//! Appending one chain's run for the audit writer: sealed onto the head it knows,
//! appended in turn with the chain's other writers when one of them moved it, and —
//! when the store refuses the run for what it holds rather than because it is down —
//! retried one event at a time, so one event the store cannot take fails only its own
//! call.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::domain::audit::{AuditEvent, ChainHead, ChainedEvent, seal};
use crate::ports::{AppendOutcome, AuditChainStore, StoreError};

/// How long after losing a race for a chain's head the writer appends to it in turn
/// straight away, without trying its known head first.
const IN_TURN_FOR: Duration = Duration::from_secs(1);

/// What the writer knows of a chain.
pub(super) enum Chain {
    /// Its head as this writer last wrote it; no other writer seen since.
    Head(Option<ChainHead>),
    /// Another writer (a replica) extends it too, as seen at this instant: each run
    /// is appended in turn with it.
    Shared(Instant),
}

/// What the writer knows of each chain it writes.
pub(super) type Chains = HashMap<String, Chain>;

/// The event could not be committed; the call must fail closed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit: {0}")]
pub struct AuditFailure(pub String);

/// Each event's fate, in the order given, and the records that were committed.
pub(super) struct RunResult {
    pub committed: Vec<ChainedEvent>,
    pub outcomes: Vec<Result<(), AuditFailure>>,
}

/// Appends `events` to `chain` as one run; if the store refuses it for its content,
/// appends them one by one instead.
pub(super) async fn append_run(
    store: &dyn AuditChainStore,
    chains: &mut Chains,
    chain: &str,
    events: Vec<AuditEvent>,
) -> RunResult {
    let count = events.len();
    let refused = match append(store, chains, chain, events).await {
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
        match append(store, chains, chain, vec![event]).await {
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

/// Seals and appends one run on the head this writer knows; when another writer
/// moved it first, and for a while after, appends runs in turn with the chain's other
/// writers.
async fn append(
    store: &dyn AuditChainStore,
    chains: &mut Chains,
    chain: &str,
    events: Vec<AuditEvent>,
) -> Result<Vec<ChainedEvent>, Refused> {
    let head = match chains.remove(chain) {
        Some(Chain::Head(known)) => known,
        Some(Chain::Shared(seen)) if seen.elapsed() < IN_TURN_FOR => {
            let written = in_turn(store, chain, events).await?;
            chains.insert(chain.to_owned(), Chain::Shared(seen));
            return Ok(written);
        }
        _ => match store.head(chain).await {
            Ok(head) => head,
            Err(e) => return Err(refused(&e, events)),
        },
    };
    let run = seal(chain, head.as_ref(), events);
    match store.append(&run).await {
        Ok(AppendOutcome::Appended(_)) => {
            let head = run.last().map(ChainedEvent::head);
            chains.insert(chain.to_owned(), Chain::Head(head));
            Ok(run)
        }
        Ok(AppendOutcome::HeadMoved { .. }) => {
            // Timestamps are truncated already: sealing them again changes nothing.
            let written = in_turn(store, chain, unsealed(run)).await?;
            chains.insert(chain.to_owned(), Chain::Shared(Instant::now()));
            Ok(written)
        }
        Err(e) => Err(refused(&e, unsealed(run))),
    }
}

/// [`AuditChainStore::append_exclusive`], refused as [`append`] refuses.
async fn in_turn(
    store: &dyn AuditChainStore,
    chain: &str,
    events: Vec<AuditEvent>,
) -> Result<Vec<ChainedEvent>, Refused> {
    store
        .append_exclusive(chain, &events)
        .await
        .map_err(|e| refused(&e, events))
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
