//! The sled backend under the conformance suite: a fresh database directory per test.

use crate::suite::Fixture;

async fn fixture() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let stores = intentgate::adapters::sled::open(dir.path()).unwrap();
    Some(Fixture::new(stores, dir))
}

conformance_tests!(fixture);
