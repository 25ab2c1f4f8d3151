//! `TransparencyStore` contracts, and `AuditChainStore::chains`.

use std::sync::Arc;

use intentgate::domain::audit::checkpoint::SignedCheckpoint;
use intentgate::domain::audit::merkle::{self, Growth, Hash, Question};
use intentgate::domain::audit::{AuditEvent, seal};
use intentgate::ports::{AppendOutcome, StoreError, TransparencyStore};

use super::{Fixture, at};

fn leaves(n: u64, salt: u8) -> Vec<Hash> {
    (0..n)
        .map(|i| merkle::leaf_hash(&hex_of(i, salt)))
        .collect()
}

fn hex_of(i: u64, salt: u8) -> String {
    let mut bytes = [salt; 32];
    bytes[..8].copy_from_slice(&i.to_be_bytes());
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Grows `chain` by `leaves` from whatever it holds, as the application does.
async fn grow(store: &dyn TransparencyStore, chain: &str, leaves: &[Hash]) -> (Growth, bool) {
    let size = store.tree_size(chain).await.unwrap();
    let frontier = store
        .read_hashes(chain, &merkle::frontier_indexes(size))
        .await
        .unwrap();
    let growth = merkle::grow(size, &frontier, leaves).unwrap();
    let landed = store.grow(chain, &growth).await.unwrap();
    (growth, landed)
}

async fn root(store: &dyn TransparencyStore, chain: &str, size: u64) -> Hash {
    let question = Question::Root { size };
    let indexes = question.indexes().unwrap();
    let hashes = store.read_hashes(chain, &indexes).await.unwrap();
    question.answer(&indexes, &hashes).unwrap()[0]
}

/// The root of `leaves` computed in memory, from nothing.
fn expected_root(leaves: &[Hash]) -> Hash {
    let growth = merkle::grow(0, &[], leaves).unwrap();
    let question = Question::Root {
        size: leaves.len() as u64,
    };
    let indexes = question.indexes().unwrap();
    let hashes: Vec<Hash> = indexes.iter().map(|&i| growth.hashes[i as usize]).collect();
    question.answer(&indexes, &hashes).unwrap()[0]
}

fn checkpoint(chain: &str, size: u64, note: &str) -> SignedCheckpoint {
    SignedCheckpoint {
        chain: chain.into(),
        size,
        root: Hash([size as u8; 32]),
        note: note.into(),
        issued_at: at(size as i64).plus_nanos(123_456_000),
    }
}

pub async fn an_unknown_chain_has_an_empty_tree(f: &Fixture) {
    let store = f.stores.transparency.as_ref();
    assert_eq!(store.tree_size("nobody").await.unwrap(), 0);
    assert!(
        store
            .checkpoints("nobody", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.read_hashes("nobody", &[0]).await,
        Err(StoreError::InvalidRequest(_))
    ));
}

pub async fn growths_in_any_batches_give_the_rfc_6962_root(f: &Fixture) {
    let store = f.stores.transparency.as_ref();
    let all = leaves(37, 1);
    let mut size = 0;
    for batch in [1usize, 2, 5, 13, 16] {
        let (growth, landed) = grow(store, "acme", &all[size..size + batch]).await;
        assert!(landed);
        size += batch;
        assert_eq!(growth.to_size, size as u64);
        assert_eq!(store.tree_size("acme").await.unwrap(), size as u64);
        assert_eq!(
            root(store, "acme", size as u64).await,
            expected_root(&all[..size])
        );
    }
}

/// More than a thousand stored hashes, grown in batches that end anywhere, so a
/// store that groups hashes (sled's tiles of 256) fills, crosses and resumes its
/// groups mid-way; every proof against the final tree still checks.
pub async fn a_large_tree_grown_unevenly_answers_every_proof(f: &Fixture) {
    let store = f.stores.transparency.as_ref();
    let all = leaves(700, 3);
    let mut size = 0;
    for batch in [1usize, 300, 99, 200, 100] {
        assert!(grow(store, "acme", &all[size..size + batch]).await.1);
        size += batch;
        assert_eq!(
            root(store, "acme", size as u64).await,
            expected_root(&all[..size])
        );
    }
    let top = expected_root(&all);
    for leaf in [0u64, 127, 255, 256, 511, 699] {
        let question = Question::Inclusion { size: 700, leaf };
        let indexes = question.indexes().unwrap();
        let hashes = store.read_hashes("acme", &indexes).await.unwrap();
        let proof = question.answer(&indexes, &hashes).unwrap();
        assert!(
            merkle::check_inclusion(&proof, 700, top, leaf, all[leaf as usize]),
            "leaf {leaf}"
        );
    }
    for old in [1u64, 300, 400, 699] {
        let question = Question::Consistency { old, size: 700 };
        let indexes = question.indexes().unwrap();
        let hashes = store.read_hashes("acme", &indexes).await.unwrap();
        let proof = question.answer(&indexes, &hashes).unwrap();
        let old_root = expected_root(&all[..old as usize]);
        assert!(
            merkle::check_consistency(&proof, old, old_root, 700, top),
            "from {old}"
        );
    }
}

pub async fn a_stale_growth_writes_nothing(f: &Fixture) {
    let store = f.stores.transparency.as_ref();
    let first = merkle::grow(0, &[], &leaves(3, 1)).unwrap();
    let rival = merkle::grow(0, &[], &leaves(5, 2)).unwrap();
    assert!(store.grow("acme", &first).await.unwrap());
    assert!(!store.grow("acme", &rival).await.unwrap());
    assert_eq!(store.tree_size("acme").await.unwrap(), 3);
    assert_eq!(root(store, "acme", 3).await, expected_root(&leaves(3, 1)));
    let count = merkle::stored_hash_count(3);
    assert!(store.read_hashes("acme", &[count]).await.is_err());
}

pub async fn an_inconsistent_growth_is_refused(f: &Fixture) {
    let store = f.stores.transparency.as_ref();
    let mut growth = merkle::grow(0, &[], &leaves(4, 1)).unwrap();
    growth.hashes.pop();
    assert!(matches!(
        store.grow("acme", &growth).await,
        Err(StoreError::InvalidRequest(_))
    ));
    assert_eq!(store.tree_size("acme").await.unwrap(), 0);
}

pub async fn exactly_one_of_concurrent_growths_of_a_size_lands(f: &Fixture) {
    let store = Arc::clone(&f.stores.transparency);
    let tasks: Vec<_> = (0..16u8)
        .map(|salt| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let growth = merkle::grow(0, &[], &leaves(7, salt)).unwrap();
                (salt, store.grow("acme", &growth).await.unwrap())
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (salt, landed) = task.await.unwrap();
        if landed {
            winners.push(salt);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(
        root(store.as_ref(), "acme", 7).await,
        expected_root(&leaves(7, winners[0]))
    );
}

pub async fn checkpoints_keep_the_first_of_a_size_largest_first(f: &Fixture) {
    let store = f.stores.transparency.as_ref();
    let note = "intentgate/acme\n5\nAAAA\n\n\u{2014} intentgate abc=\n";
    for size in [5, 9, 2] {
        let c = checkpoint("acme", size, note);
        assert!(store.record_checkpoint(&c).await.unwrap());
    }
    assert!(
        !store
            .record_checkpoint(&checkpoint("acme", 9, "other"))
            .await
            .unwrap()
    );
    assert!(
        store
            .record_checkpoint(&checkpoint("other", 9, "x"))
            .await
            .unwrap()
    );
    let all = store.checkpoints("acme", None, 10).await.unwrap();
    let sizes: Vec<u64> = all.iter().map(|c| c.size).collect();
    assert_eq!(sizes, vec![9, 5, 2]);
    assert_eq!(
        all[0],
        checkpoint("acme", 9, note),
        "every field reads back"
    );
    let below: Vec<u64> = store
        .checkpoints("acme", Some(9), 1)
        .await
        .unwrap()
        .iter()
        .map(|c| c.size)
        .collect();
    assert_eq!(below, vec![5]);
}

pub async fn trees_of_chains_are_apart(f: &Fixture) {
    let store = f.stores.transparency.as_ref();
    grow(store, "a", &leaves(3, 1)).await;
    grow(store, "b", &leaves(6, 2)).await;
    assert_eq!(store.tree_size("a").await.unwrap(), 3);
    assert_eq!(root(store, "a", 3).await, expected_root(&leaves(3, 1)));
    assert_eq!(root(store, "b", 6).await, expected_root(&leaves(6, 2)));
    assert_eq!(store.tree_size("b").await.unwrap(), 6);
}

pub async fn the_audit_store_lists_its_chains(f: &Fixture) {
    let audit = f.stores.audit.as_ref();
    assert!(audit.chains().await.unwrap().is_empty());
    for chain in ["zeta", "Alpha", "beta"] {
        let event = AuditEvent {
            tenant: chain.into(),
            ts: at(1),
            ..AuditEvent::default()
        };
        let run = seal(chain, None, vec![event]);
        assert!(matches!(
            audit.append(&run).await.unwrap(),
            AppendOutcome::Appended(_)
        ));
    }
    assert_eq!(audit.chains().await.unwrap(), vec!["Alpha", "beta", "zeta"]);
}

/// A chain named as another plus `0 …` has keys that sort among the other's in a store
/// ordered by bytes: each chain's checkpoints are still its own.
pub async fn checkpoints_of_chains_whose_names_extend_each_other_stay_apart(f: &Fixture) {
    let store = f.stores.transparency.as_ref();
    for (chain, size) in [("ten", 1), ("ten\0", 1000), ("ten\0", 3)] {
        let c = checkpoint(chain, size, "note");
        assert!(store.record_checkpoint(&c).await.unwrap());
    }
    let sizes = |all: Vec<SignedCheckpoint>| {
        all.iter()
            .map(|c| (c.chain.clone(), c.size))
            .collect::<Vec<_>>()
    };
    let ten = store.checkpoints("ten", None, 10).await.unwrap();
    assert_eq!(sizes(ten), [("ten".to_owned(), 1)]);
    let longer = store.checkpoints("ten\0", None, 10).await.unwrap();
    assert_eq!(
        sizes(longer),
        [("ten\0".to_owned(), 1000), ("ten\0".to_owned(), 3)]
    );
}
