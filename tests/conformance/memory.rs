//! The memory backend under the conformance suite.

use crate::suite::Fixture;

async fn fixture() -> Fixture {
    Fixture::new(intentgate::adapters::memory::open(), ())
}

conformance_tests!(fixture);
