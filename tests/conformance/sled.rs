//! The sled backend under the conformance suite: a fresh database directory per test.

use crate::suite::Fixture;

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let stores = intentgate::adapters::sled::open(dir.path()).unwrap();
    Fixture::new(stores, dir)
}

conformance_tests!(fixture);
