//! Each chain's Merkle tree: RFC 6962 hashing, stored as Go's `sumdb/tlog` lays it out,
//! so that proofs made here check with any RFC 6962 / C2SP verifier.
//!
//! **Leaf encoding.** Leaf `i` of a chain's tree is the record with `seq = i + 1`. Its
//! data is the record's chain hash as 32 raw bytes (the hex in the `hash` field,
//! decoded), so the leaf hash is `SHA-256(0x00 ‖ chain hash)`; a pre-chain row (empty
//! `hash`) is the empty record, which the tree places but does not vouch for, as
//! verify skips it. The chain hash already commits to the event and to every record
//! before it; the tree adds what the chain cannot: a short, signed root that pins the
//! whole chain, and proofs against it.
//!
//! **Storage.** A tree of `n` leaves is `stored_hash_count(n)` hashes, appended in order
//! as leaves arrive (at most `1 + log₂ n` per leaf, just under two on average). Growing
//! the tree needs only the roots of its complete subtrees (the frontier); a root or a
//! proof needs `O(log n)` stored hashes, asked for in one read.

use std::collections::BTreeMap;

pub use tlog_tiles::{EMPTY_HASH, Hash};
use tlog_tiles::{Error as TlogError, HashReader};

/// Why a tree operation could not be done.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// A size, leaf index or hash count that the tree cannot have.
    #[error("{0}")]
    OutOfRange(String),
    /// The stored hashes do not match what the request needs.
    #[error("stored tree hashes are inconsistent: {0}")]
    Inconsistent(String),
}

/// The hash of a leaf: `SHA-256(0x00 ‖ chain hash bytes)` (see the module docs).
pub fn leaf_hash(chain_hash_hex: &str) -> Hash {
    let data = hex::decode(chain_hash_hex).unwrap_or_else(|_| chain_hash_hex.as_bytes().to_vec());
    tlog_tiles::record_hash(&data)
}

/// Stored hashes a tree of `size` leaves holds.
pub fn stored_hash_count(size: u64) -> u64 {
    tlog_tiles::stored_hash_count(size)
}

/// What a tree of `from_size` leaves must store to hold `to_size`: `hashes` go at
/// `first_index..` (which is `stored_hash_count(from_size)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Growth {
    pub from_size: u64,
    pub to_size: u64,
    pub first_index: u64,
    pub hashes: Vec<Hash>,
}

impl Growth {
    /// A growth as [`grow`] makes it: more leaves, and exactly the hashes that the new
    /// leaves add, starting where the smaller tree's hashes end.
    pub fn check(&self) -> Result<(), TreeError> {
        let consistent = self.to_size > self.from_size
            && self.first_index == stored_hash_count(self.from_size)
            && self.first_index + self.hashes.len() as u64 == stored_hash_count(self.to_size);
        if consistent {
            Ok(())
        } else {
            Err(TreeError::Inconsistent(format!(
                "growth from {} to {} leaves with {} hashes at {}",
                self.from_size,
                self.to_size,
                self.hashes.len(),
                self.first_index
            )))
        }
    }
}

/// The stored indexes of the roots of a tree's complete subtrees, largest first:
/// everything [`grow`] needs from the store.
pub fn frontier_indexes(size: u64) -> Vec<u64> {
    (0..u64::BITS as u8)
        .rev()
        .filter(|level| size & (1 << level) != 0)
        .map(|level| tlog_tiles::stored_hash_index(level, (size >> level) - 1))
        .collect()
}

/// Appends `leaves` to a tree of `size` leaves whose frontier
/// ([`frontier_indexes`]) holds `frontier`.
pub fn grow(size: u64, frontier: &[Hash], leaves: &[Hash]) -> Result<Growth, TreeError> {
    let indexes = frontier_indexes(size);
    if indexes.len() != frontier.len() {
        return Err(TreeError::Inconsistent(format!(
            "a tree of {size} needs {} frontier hashes, got {}",
            indexes.len(),
            frontier.len()
        )));
    }
    let first_index = stored_hash_count(size);
    let mut known = Known(indexes.into_iter().zip(frontier.iter().copied()).collect());
    let mut hashes = Vec::with_capacity(leaves.len() * 2);
    for (n, leaf) in (size..).zip(leaves) {
        let new = tlog_tiles::stored_hashes_for_record_hash(n, *leaf, &known).map_err(missing)?;
        let at = first_index + hashes.len() as u64;
        known.0.extend((at..).zip(new.iter().copied()));
        hashes.extend(new);
    }
    let to_size = size + leaves.len() as u64;
    Ok(Growth {
        from_size: size,
        to_size,
        first_index,
        hashes,
    })
}

/// A question about a tree that stored hashes answer: which to read, then the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Question {
    /// The root hash of the tree of `size` leaves.
    Root { size: u64 },
    /// The RFC 6962 audit path for `leaf` in the tree of `size` leaves.
    Inclusion { size: u64, leaf: u64 },
    /// The RFC 6962 consistency proof from the tree of `old` leaves to that of `size`.
    Consistency { old: u64, size: u64 },
}

impl Question {
    /// The largest tree the question is about: every index it reads lies in it.
    pub fn size(self) -> u64 {
        match self {
            Self::Root { size } | Self::Inclusion { size, .. } | Self::Consistency { size, .. } => {
                size
            }
        }
    }

    /// The stored hashes the answer needs, in one read.
    pub fn indexes(self) -> Result<Vec<u64>, TreeError> {
        let recorder = Recorder::default();
        let asked = self.ask(&recorder);
        match recorder.0.into_inner() {
            Some(indexes) => Ok(indexes),
            // Nothing read: the answer needs no stored hash, or the question is invalid.
            None => asked.map(|_| Vec::new()),
        }
    }

    /// The answer (one hash for [`Question::Root`], the proof's hashes otherwise), from
    /// the hashes at [`Question::indexes`], in that order.
    pub fn answer(self, indexes: &[u64], hashes: &[Hash]) -> Result<Vec<Hash>, TreeError> {
        if indexes.len() != hashes.len() {
            return Err(TreeError::Inconsistent(format!(
                "asked for {} hashes, got {}",
                indexes.len(),
                hashes.len()
            )));
        }
        let known = Known(
            indexes
                .iter()
                .copied()
                .zip(hashes.iter().copied())
                .collect(),
        );
        self.ask(&known)
    }

    fn ask(self, reader: &impl HashReader) -> Result<Vec<Hash>, TreeError> {
        match self {
            Self::Root { size } => tlog_tiles::tree_hash(size, reader).map(|h| vec![h]),
            Self::Inclusion { size, leaf } => {
                if leaf >= size {
                    return Err(out_of_range(format!(
                        "leaf {leaf} is not in a tree of {size}"
                    )));
                }
                tlog_tiles::prove_record(size, leaf, reader)
            }
            Self::Consistency { old, size } => {
                if old == 0 || old > size {
                    return Err(out_of_range(format!(
                        "no consistency proof from a tree of {old} to one of {size}"
                    )));
                }
                tlog_tiles::prove_tree(size, old, reader)
            }
        }
        .map_err(missing)
    }
}

/// The root of a tree built leaf by leaf in `O(log n)` memory, without stored
/// hashes: the roots of its complete subtrees, largest (leftmost) first, as RFC 6962
/// splits a tree. Lets a walk over a chain's records compute the root a checkpoint
/// signed, from the records alone.
#[derive(Clone, Debug, Default)]
pub struct RootBuilder {
    size: u64,
    /// `(leaves, root)` of each complete subtree, left to right.
    subtrees: Vec<(u64, Hash)>,
}

impl RootBuilder {
    /// Adds the next leaf.
    pub fn push(&mut self, leaf: Hash) {
        self.size += 1;
        let (mut leaves, mut root) = (1, leaf);
        while let Some(&(left_leaves, left)) = self.subtrees.last() {
            if left_leaves != leaves {
                break;
            }
            self.subtrees.pop();
            (leaves, root) = (leaves * 2, tlog_tiles::node_hash(left, root));
        }
        self.subtrees.push((leaves, root));
    }

    /// Leaves pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the leaves pushed so far; `None` before the first.
    pub fn root(&self) -> Option<Hash> {
        let mut right_to_left = self.subtrees.iter().rev();
        let &(_, mut root) = right_to_left.next()?;
        for &(_, left) in right_to_left {
            root = tlog_tiles::node_hash(left, root);
        }
        Some(root)
    }
}

/// Checks an inclusion proof: leaf `leaf` with hash `leaf_hash` is in the tree of
/// `size` leaves with root `root`.
pub fn check_inclusion(proof: &[Hash], size: u64, root: Hash, leaf: u64, leaf_hash: Hash) -> bool {
    leaf < size && tlog_tiles::check_record(&proof.to_vec(), size, root, leaf, leaf_hash).is_ok()
}

/// Checks a consistency proof: the tree of `size` leaves with root `root` extends the
/// tree of `old` leaves with root `old_root`.
pub fn check_consistency(proof: &[Hash], old: u64, old_root: Hash, size: u64, root: Hash) -> bool {
    (1..=size).contains(&old)
        && tlog_tiles::check_tree(&proof.to_vec(), size, root, old, old_root).is_ok()
}

fn out_of_range(message: String) -> TreeError {
    TreeError::OutOfRange(message)
}

fn missing(e: TlogError) -> TreeError {
    match e {
        TlogError::InvalidInput(message) => TreeError::OutOfRange(message),
        other => TreeError::Inconsistent(other.to_string()),
    }
}

/// Serves hashes already in hand; a miss is an error, never a guess.
struct Known(BTreeMap<u64, Hash>);

impl HashReader for Known {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TlogError> {
        indexes
            .iter()
            .map(|i| self.0.get(i).copied().ok_or(TlogError::IndexesNotInTree))
            .collect()
    }
}

/// Notes which hashes a question reads, and stops it there.
#[derive(Default)]
struct Recorder(std::cell::RefCell<Option<Vec<u64>>>);

impl HashReader for Recorder {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TlogError> {
        *self.0.borrow_mut() = Some(indexes.to_vec());
        Err(TlogError::IndexesNotInTree)
    }
}

#[cfg(test)]
#[path = "merkle_tests.rs"]
mod tests;
