//! The per-tenant hash chain: `hash = hex(SHA-256(prev_hash || canonical_json))`, with
//! `prev_hash = ""` for the first event, and its verification walk.
//!
//! Sealing happens here, in the domain, never in a store: stores only persist what they
//! are given and guarantee that an append lands on the head it was sealed against.

use sha2::{Digest, Sha256};

use super::AuditEvent;
use super::merkle::Hash;
use super::tree_check::{CheckpointCheck, TreeCheck};
use crate::domain::time::Timestamp;

/// The chain an event belongs to: its tenant, or `default` when it has none.
pub fn chain_key(tenant: &str) -> &str {
    if tenant.is_empty() { "default" } else { tenant }
}

/// One chain step, as lowercase hex.
pub fn chain_hash(prev_hash: &str, canonical_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical_json.as_bytes());
    hex::encode(h.finalize())
}

/// The last link of a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// Position of the last event, counting from 1.
    pub seq: u64,
    pub hash: String,
    /// Timestamp of the last event: when the head last moved.
    pub ts: Timestamp,
}

/// An event as stored in its chain.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainedEvent {
    /// Chain key ([`chain_key`] of the event's tenant).
    pub chain: String,
    pub seq: u64,
    /// Empty for the first event of a chain.
    pub prev_hash: String,
    /// Empty marks a pre-chain row, which verification skips.
    pub hash: String,
    pub event: AuditEvent,
}

impl ChainedEvent {
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash.clone(),
            ts: self.event.ts,
        }
    }
}

/// Links `events` (all of one chain) onto `head`. Timestamps are truncated to
/// microseconds first, so every backend stores and re-hashes the same text.
pub fn seal(chain: &str, head: Option<&ChainHead>, events: Vec<AuditEvent>) -> Vec<ChainedEvent> {
    let (mut seq, mut prev) = head.map_or((0, String::new()), |h| (h.seq, h.hash.clone()));
    events
        .into_iter()
        .map(|mut event| {
            event.ts = event.ts.truncate_to_micros();
            seq += 1;
            let hash = chain_hash(&prev, &event.canonical_json());
            let prev_hash = std::mem::replace(&mut prev, hash.clone());
            ChainedEvent {
                chain: chain.to_owned(),
                seq,
                prev_hash,
                hash,
                event,
            }
        })
        .collect()
}

/// Why verification stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakReason {
    HashMismatch,
    PrevHashMismatch,
    /// The records up to the checkpoint the walk was checked against do not have the
    /// root it signed (or one of them is missing).
    CheckpointMismatch,
}

impl BreakReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HashMismatch => "hash mismatch (row body tampered)",
            Self::PrevHashMismatch => {
                "prev_hash mismatch (chain link broken \u{2014} row inserted/deleted)"
            }
            Self::CheckpointMismatch => {
                "checkpoint mismatch (records differ from the signed tree head)"
            }
        }
    }
}

/// The first broken link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: u64,
    pub ts: Timestamp,
    pub stored_hash: String,
    pub expected_hash: String,
    pub reason: BreakReason,
}

/// The verdict of a walk; `head` is reported only when nothing broke (as the reference).
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyReport {
    pub ok: bool,
    pub verified: u64,
    pub skipped: u64,
    pub broken_at: Option<ChainBreak>,
    pub head: Option<ChainHead>,
    /// The checkpoint the walk was checked against, if it was given one.
    pub checkpoint: Option<CheckpointCheck>,
}

/// Walks a chain in `seq` order, one event at a time, so callers can stream pages.
/// Events outside the optional `[from, to]` window are ignored; the first event inside
/// it is trusted to carry the right `prev_hash` (its predecessor may lie outside).
#[derive(Debug, Default)]
pub struct ChainVerifier {
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    tree: Option<TreeCheck>,
    verified: u64,
    skipped: u64,
    link: String,
    broken: Option<ChainBreak>,
    /// The canonical JSON of the event being checked, reused from event to event.
    canonical: String,
}

impl ChainVerifier {
    pub fn new(from: Option<Timestamp>, to: Option<Timestamp>) -> Self {
        Self {
            from,
            to,
            ..Self::default()
        }
    }

    /// Also checks the walk against a checkpoint of `size` records with `root`. The
    /// walk must then start at `seq` 1; the window does not narrow this check.
    pub fn against(mut self, size: u64, root: Hash) -> Self {
        self.tree = Some(TreeCheck::new(size, root));
        self
    }

    /// Checks one event; returns `false` once the chain is broken (stop feeding).
    pub fn feed(&mut self, rec: &ChainedEvent) -> bool {
        if self.broken.is_some() {
            return false;
        }
        if let Some(Err(m)) = self.tree.as_mut().map(|tree| tree.feed(rec)) {
            let hex = |h: Hash| hex::encode(h.0);
            self.broken = Some(ChainBreak {
                seq: rec.seq,
                ts: rec.event.ts,
                stored_hash: m.found.map(hex).unwrap_or_default(),
                expected_hash: hex(m.signed),
                reason: BreakReason::CheckpointMismatch,
            });
            return false;
        }
        let ts = rec.event.ts;
        if self.from.is_some_and(|f| ts < f) || self.to.is_some_and(|t| ts > t) {
            return true;
        }
        if rec.hash.is_empty() {
            self.skipped += 1;
            return true;
        }
        if self.verified > 0 && rec.prev_hash != self.link {
            let expected = self.link.clone();
            return self.break_at(rec, expected, BreakReason::PrevHashMismatch);
        }
        self.canonical.clear();
        rec.event.write_canonical(&mut self.canonical);
        let expected = chain_hash(&rec.prev_hash, &self.canonical);
        if expected != rec.hash {
            return self.break_at(rec, expected, BreakReason::HashMismatch);
        }
        self.verified += 1;
        self.link.clone_from(&rec.hash);
        true
    }

    fn break_at(&mut self, rec: &ChainedEvent, expected: String, reason: BreakReason) -> bool {
        self.broken = Some(ChainBreak {
            seq: rec.seq,
            ts: rec.event.ts,
            stored_hash: rec.hash.clone(),
            expected_hash: expected,
            reason,
        });
        false
    }

    /// The verdict; `head` is the chain's current head as the store reports it.
    pub fn finish(self, head: Option<ChainHead>) -> VerifyReport {
        let ok = self.broken.is_none();
        VerifyReport {
            ok,
            verified: self.verified,
            skipped: self.skipped,
            head: if ok { head } else { None },
            broken_at: self.broken,
            checkpoint: self.tree.map(TreeCheck::finish),
        }
    }
}

/// A run that `AuditChainStore::append` must refuse before touching the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRun {
    #[error("empty audit append")]
    Empty,
    #[error("audit append must be one contiguous run of one chain")]
    NotContiguous,
}

/// The shape every appended run must have: not empty, one chain, consecutive positions
/// from 1 on, each event linked to the one before.
pub fn check_run(records: &[ChainedEvent]) -> Result<(), InvalidRun> {
    let Some(first) = records.first() else {
        return Err(InvalidRun::Empty);
    };
    let contiguous = records.windows(2).all(|w| {
        w[1].chain == first.chain && w[1].seq == w[0].seq + 1 && w[1].prev_hash == w[0].hash
    });
    if first.seq == 0 || !contiguous {
        return Err(InvalidRun::NotContiguous);
    }
    Ok(())
}

/// Whether `head` is the head `first` was sealed against.
pub fn extends(head: Option<&ChainHead>, first: &ChainedEvent) -> bool {
    match head {
        None => first.seq == 1 && first.prev_hash.is_empty(),
        Some(h) => first.seq == h.seq + 1 && first.prev_hash == h.hash,
    }
}
