use super::*;
use crate::domain::audit::checkpoint::LogSigner;
use crate::domain::audit::merkle::{Question, grow};
use crate::domain::audit::{AuditEvent, seal};
use crate::domain::time::Timestamp;

/// Six sealed records and a bundle proving the newest in a checkpoint of all six.
fn exported() -> (Vec<ChainedEvent>, ProofBundle, LogSigner) {
    let events = (0..6)
        .map(|i| AuditEvent::new(Timestamp::from_unix_seconds(i), "allow", "read"))
        .collect();
    let records = seal("acme", None, events);
    let leaves: Vec<Hash> = records.iter().map(|r| leaf_hash(&r.hash)).collect();
    let stored = grow(0, &[], &leaves).unwrap().hashes;
    let ask = |q: Question| {
        let indexes = q.indexes().unwrap();
        let hashes: Vec<Hash> = indexes.iter().map(|&i| stored[i as usize]).collect();
        q.answer(&indexes, &hashes).unwrap()
    };
    let root = ask(Question::Root { size: 6 })[0];
    let signer = LogSigner::new("gw.test", &[3u8; 32]).unwrap();
    let checkpoint = signer
        .sign("acme", 6, root, Timestamp::from_unix_seconds(9))
        .unwrap();
    let proof = ask(Question::Inclusion { size: 6, leaf: 5 });
    let bundle = ProofBundle::new(&checkpoint, 6, &records[5].hash, &proof);
    (records, bundle, signer)
}

#[test]
fn a_bundle_line_reads_back_and_vouches_for_the_newest_record() {
    let (records, bundle, signer) = exported();
    let line = bundle.to_line();
    assert!(
        line.starts_with(BUNDLE_PREFIX) && line.ends_with('\n'),
        "{line}"
    );
    let parsed = ProofBundle::parse(line.trim_end()).unwrap();
    assert_eq!(parsed, bundle);
    let opened = parsed.check(signer.verifier_key(), &records[5]).unwrap();
    assert_eq!(opened.size, 6);
}

#[test]
fn a_changed_proof_record_key_or_chain_is_refused() {
    let (records, bundle, signer) = exported();
    let key = signer.verifier_key();
    let mut tampered = bundle.clone();
    tampered.inclusions[0].proof[0] = STANDARD.encode([0u8; 32]);
    assert_eq!(
        tampered.check(key, &records[5]),
        Err(BundleError::ProofFails(6))
    );
    assert_eq!(bundle.check(key, &records[4]), Err(BundleError::NoProof(5)));
    let mut rewritten = records[5].clone();
    rewritten.hash = records[4].hash.clone();
    assert!(matches!(
        bundle.check(key, &rewritten),
        Err(BundleError::OtherRecord { seq: 6, .. })
    ));
    let other = LogSigner::new("gw.test", &[4u8; 32]).unwrap();
    assert!(matches!(
        bundle.check(other.verifier_key(), &records[5]),
        Err(BundleError::Checkpoint(_))
    ));
    let mut moved = bundle;
    moved.chain = "globex".into();
    assert!(matches!(
        moved.check(key, &records[5]),
        Err(BundleError::Checkpoint(CheckpointError::WrongOrigin { .. }))
    ));
}

#[test]
fn lines_that_are_not_bundles_are_refused() {
    assert!(matches!(
        ProofBundle::parse(
            "{\"bundle\":\"other\",\"chain\":\"a\",\"tree_size\":1,\"checkpoint\":\"\",\"inclusions\":[]}"
        ),
        Err(BundleError::Malformed(_))
    ));
    assert!(ProofBundle::parse("{\"ts\":\"x\"}").is_err());
}
