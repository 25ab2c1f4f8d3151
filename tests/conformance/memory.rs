//! The memory backend under the conformance suite.

use crate::suite::Fixture;

async fn fixture() -> Option<Fixture> {
    Some(Fixture::new(intentgate::adapters::memory::open(), ()))
}

conformance_tests!(fixture);
