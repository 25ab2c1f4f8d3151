//! Proof bundles: what an NDJSON export (`proofs=true`) adds after its records so an
//! auditor can check, offline and with the log's verifier key only, that the exported
//! records are the ones the gateway's signed checkpoint commits to.
//!
//! One line per chain in the export:
//! `{"bundle":"checkpoint","chain","tree_size","checkpoint","inclusions":[{"leaf_index",
//! "chain_hash","proof"}]}` — the chain's checkpoint (a C2SP signed note) and the RFC
//! 6962 inclusion proof of the chain's newest exported record (hashes base64, as Go's
//! `sumdb/tlog` reads them). One proof is enough: every record's hash commits to the
//! one before it, so once the chain walk links the exported records to the newest one
//! and the newest one is in the signed tree, all of them are.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::ChainedEvent;
use super::checkpoint::{CheckpointError, OpenedCheckpoint, SignedCheckpoint, open_for_chain};
use super::merkle::{Hash, check_inclusion, leaf_hash};

/// The value of the `bundle` key that marks a bundle line.
pub const BUNDLE_KIND: &str = "checkpoint";
/// How every bundle line starts, so a reader tells it from a record without parsing.
pub const BUNDLE_PREFIX: &str = "{\"bundle\":";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofBundle {
    /// Always [`BUNDLE_KIND`]; first, so the line starts with [`BUNDLE_PREFIX`].
    pub bundle: String,
    pub chain: String,
    pub tree_size: u64,
    /// The signed note.
    pub checkpoint: String,
    pub inclusions: Vec<Inclusion>,
}

/// One record's audit path in the checkpoint's tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inclusion {
    /// The record's `seq - 1`.
    pub leaf_index: u64,
    /// The record's chain hash (hex).
    pub chain_hash: String,
    /// Sibling hashes from the leaf up (base64).
    pub proof: Vec<String>,
}

/// Why a bundle does not vouch for a chain's records.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("bundle has no inclusion proof for seq {0}")]
    NoProof(u64),
    #[error("bundle's proof is for chain hash {proved}, but record {seq} has {record}")]
    OtherRecord {
        seq: u64,
        proved: String,
        record: String,
    },
    #[error("inclusion proof of seq {0} does not check against the checkpoint")]
    ProofFails(u64),
    #[error("bundle line is malformed: {0}")]
    Malformed(String),
}

impl ProofBundle {
    /// The bundle for `checkpoint`, proving the record `newest` (of `newest_hash`)
    /// with `proof`.
    pub fn new(
        checkpoint: &SignedCheckpoint,
        newest: u64,
        newest_hash: &str,
        proof: &[Hash],
    ) -> Self {
        Self {
            bundle: BUNDLE_KIND.to_owned(),
            chain: checkpoint.chain.clone(),
            tree_size: checkpoint.size,
            checkpoint: checkpoint.note.clone(),
            inclusions: vec![Inclusion {
                leaf_index: newest.saturating_sub(1),
                chain_hash: newest_hash.to_owned(),
                proof: proof.iter().map(|h| STANDARD.encode(h.0)).collect(),
            }],
        }
    }

    /// The line, newline included.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }

    pub fn parse(line: &str) -> Result<Self, BundleError> {
        let bundle: Self =
            serde_json::from_str(line).map_err(|e| BundleError::Malformed(e.to_string()))?;
        match bundle.bundle == BUNDLE_KIND {
            true => Ok(bundle),
            false => Err(BundleError::Malformed(format!(
                "unknown bundle kind {:?}",
                bundle.bundle
            ))),
        }
    }

    /// Checks that the checkpoint opens with `verifier_key` as one of this bundle's
    /// chain, and that `newest` (the chain's newest exported record) is in its tree.
    pub fn check(
        &self,
        verifier_key: &str,
        newest: &ChainedEvent,
    ) -> Result<OpenedCheckpoint, BundleError> {
        let opened = open_for_chain(&self.checkpoint, verifier_key, &self.chain)?;
        let leaf = newest.seq.saturating_sub(1);
        let inclusion = self
            .inclusions
            .iter()
            .find(|i| i.leaf_index == leaf)
            .ok_or(BundleError::NoProof(newest.seq))?;
        if inclusion.chain_hash != newest.hash {
            return Err(BundleError::OtherRecord {
                seq: newest.seq,
                proved: inclusion.chain_hash.clone(),
                record: newest.hash.clone(),
            });
        }
        let proof = decode(&inclusion.proof).ok_or(BundleError::ProofFails(newest.seq))?;
        match check_inclusion(
            &proof,
            opened.size,
            opened.root,
            leaf,
            leaf_hash(&newest.hash),
        ) {
            true => Ok(opened),
            false => Err(BundleError::ProofFails(newest.seq)),
        }
    }
}

fn decode(proof: &[String]) -> Option<Vec<Hash>> {
    proof
        .iter()
        .map(|b64| {
            let bytes = STANDARD.decode(b64).ok()?;
            Some(Hash(bytes.try_into().ok()?))
        })
        .collect()
}

#[cfg(test)]
#[path = "bundle_tests.rs"]
mod tests;
