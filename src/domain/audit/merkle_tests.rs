//! RFC 6962 test vectors (the eight leaves of certificate-transparency's
//! `merkle_tree_test.cc`, also in Trillian and Go's sumdb tests) and growth in every
//! batch shape.

use super::*;

fn leaves() -> Vec<Hash> {
    let data: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    data.iter().map(|d| tlog_tiles::record_hash(d)).collect()
}

const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn h(hex_text: &str) -> Hash {
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&hex::decode(hex_text).unwrap());
    Hash(bytes)
}

/// An in-memory stored-hash list, grown in batches of `batch` leaves.
fn stored(leaves: &[Hash], batch: usize) -> Vec<Hash> {
    let mut stored: Vec<Hash> = Vec::new();
    let mut size = 0u64;
    for chunk in leaves.chunks(batch) {
        let frontier: Vec<Hash> = frontier_indexes(size)
            .iter()
            .map(|&i| stored[i as usize])
            .collect();
        let growth = grow(size, &frontier, chunk).unwrap();
        assert_eq!(growth.first_index, stored.len() as u64);
        stored.extend(growth.hashes);
        size = growth.to_size;
        assert_eq!(stored.len() as u64, stored_hash_count(size));
    }
    stored
}

fn ask(stored: &[Hash], question: Question) -> Result<Vec<Hash>, TreeError> {
    let indexes = question.indexes()?;
    let hashes: Vec<Hash> = indexes.iter().map(|&i| stored[i as usize]).collect();
    question.answer(&indexes, &hashes)
}

#[test]
fn roots_match_the_rfc_6962_vectors_whatever_the_batch_size() {
    for batch in 1..=8 {
        let stored = stored(&leaves(), batch);
        for (size, want) in (1u64..).zip(ROOTS) {
            let root = ask(&stored, Question::Root { size }).unwrap();
            assert_eq!(root, vec![h(want)], "batch {batch}, size {size}");
        }
    }
}

#[test]
fn a_root_built_leaf_by_leaf_matches_the_rfc_6962_vectors() {
    let mut builder = RootBuilder::default();
    assert_eq!(builder.root(), None);
    for (leaf, want) in leaves().into_iter().zip(ROOTS) {
        builder.push(leaf);
        assert_eq!(builder.root(), Some(h(want)), "size {}", builder.size());
    }
}

#[test]
fn the_empty_tree_has_the_empty_hash() {
    assert_eq!(
        ask(&[], Question::Root { size: 0 }).unwrap(),
        vec![EMPTY_HASH]
    );
}

#[test]
fn inclusion_proofs_match_the_vectors_and_check() {
    let stored = stored(&leaves(), 3);
    let proof = ask(&stored, Question::Inclusion { size: 8, leaf: 0 }).unwrap();
    let want = [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ];
    assert_eq!(proof, want.map(h).to_vec());
    for size in 1..=8u64 {
        let root = h(ROOTS[size as usize - 1]);
        for leaf in 0..size {
            let proof = ask(&stored, Question::Inclusion { size, leaf }).unwrap();
            let leaf_hash = leaves()[leaf as usize];
            assert!(check_inclusion(&proof, size, root, leaf, leaf_hash));
            let other = leaves()[((leaf + 1) % 8) as usize];
            assert!(!check_inclusion(&proof, size, root, leaf, other));
        }
    }
}

#[test]
fn consistency_proofs_match_the_vectors_and_check() {
    let stored = stored(&leaves(), 5);
    let proof = ask(&stored, Question::Consistency { old: 6, size: 8 }).unwrap();
    let want = [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ];
    assert_eq!(proof, want.map(h).to_vec());
    let proof = ask(&stored, Question::Consistency { old: 2, size: 5 }).unwrap();
    let want = [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ];
    assert_eq!(proof, want.map(h).to_vec());
    for size in 1..=8u64 {
        for old in 1..=size {
            let proof = ask(&stored, Question::Consistency { old, size }).unwrap();
            let (old_root, root) = (h(ROOTS[old as usize - 1]), h(ROOTS[size as usize - 1]));
            assert!(check_consistency(&proof, old, old_root, size, root));
            if old < size {
                assert!(!check_consistency(&proof, old, root, size, root));
            }
        }
    }
}

#[test]
fn questions_outside_the_tree_are_refused_not_answered() {
    let stored = stored(&leaves(), 8);
    for question in [
        Question::Inclusion { size: 4, leaf: 4 },
        Question::Consistency { old: 0, size: 4 },
        Question::Consistency { old: 5, size: 4 },
    ] {
        assert!(
            matches!(ask(&stored, question), Err(TreeError::OutOfRange(_))),
            "{question:?}"
        );
    }
}

#[test]
fn missing_or_short_hashes_are_an_error() {
    let question = Question::Root { size: 7 };
    let indexes = question.indexes().unwrap();
    assert!(indexes.len() > 1);
    let short = vec![EMPTY_HASH; indexes.len() - 1];
    assert!(matches!(
        question.answer(&indexes, &short),
        Err(TreeError::Inconsistent(_))
    ));
    assert!(matches!(
        grow(7, &[EMPTY_HASH], &leaves()),
        Err(TreeError::Inconsistent(_))
    ));
}

#[test]
fn a_leaf_is_the_record_hash_of_the_raw_chain_hash() {
    let chain_hash = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a";
    // SHA-256(0x00 ‖ bytes), computed independently (Python hashlib).
    assert_eq!(
        leaf_hash(chain_hash),
        h("cf14c49780559d6afe85c795acb3fc3f118cc64c0d52ec22d955456edc2bf3db")
    );
    assert_eq!(leaf_hash(""), tlog_tiles::record_hash(b""));
}
