//! Bodies of the checkpoint and proof routes (tag `Audit`). Hashes are base64, as in
//! the C2SP formats and Go's `tlog.Hash`; chain hashes stay hex, as everywhere else.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use poem_openapi::Object;
use serde::Serialize;

use crate::domain::audit::checkpoint::SignedCheckpoint;
use crate::domain::audit::merkle::Hash;

/// A signed checkpoint of one tenant's chain.
#[derive(Object, Serialize)]
pub struct CheckpointResponse {
    pub tenant: String,
    /// Records the checkpoint covers: the chain's `seq` 1 to `tree_size`.
    pub tree_size: u64,
    /// RFC 6962 root of those records' tree (base64).
    pub root_hash: String,
    /// The C2SP signed note: checkpoint text, blank line, Ed25519 signature line.
    pub checkpoint: String,
    pub issued_at: String,
    /// The key that opens `checkpoint` (`name+id+base64`, as Go's `note.NewVerifier` reads).
    pub verifier_key: String,
}

impl CheckpointResponse {
    pub fn new(tenant: String, c: &SignedCheckpoint, verifier_key: &str) -> Self {
        Self {
            tenant,
            tree_size: c.size,
            root_hash: base64(c.root),
            checkpoint: c.note.clone(),
            issued_at: c.issued_at.to_rfc3339_nano(),
            verifier_key: verifier_key.to_owned(),
        }
    }
}

/// The audit path of one record in the tree of `tree_size` records.
#[derive(Object, Serialize)]
pub struct InclusionProofResponse {
    pub tenant: String,
    pub seq: u64,
    /// `seq - 1`: the record's leaf in the tree.
    pub leaf_index: u64,
    pub tree_size: u64,
    /// The record's chain hash (hex); the leaf hash is SHA-256(0x00 ‖ its bytes).
    pub chain_hash: String,
    pub leaf_hash: String,
    /// Sibling hashes from the leaf up (base64).
    pub proof: Vec<String>,
}

/// The proof that the tree of `to_size` records extends the one of `from_size`.
#[derive(Object, Serialize)]
pub struct ConsistencyProofResponse {
    pub tenant: String,
    pub from_size: u64,
    pub to_size: u64,
    /// RFC 6962 consistency proof (base64 hashes).
    pub proof: Vec<String>,
}

pub fn base64(hash: Hash) -> String {
    STANDARD.encode(hash.0)
}
