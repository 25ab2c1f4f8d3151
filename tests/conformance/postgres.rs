//! The Postgres backend under the conformance suite: each test gets a fresh database
//! (see `tests/common/pg.rs`), so migrations always run on an empty one.

use intentgate::config::DatabaseUrl;

use crate::pg::TestDatabase;
use crate::suite::Fixture;

pub async fn fixture() -> Option<Fixture> {
    let db = TestDatabase::create().await?;
    // As the gateway opens it in its default (sync) audit durability.
    let commits = intentgate::adapters::postgres::CountCommits::FlushedByAudit;
    let stores = intentgate::adapters::postgres::open_counting(&DatabaseUrl::new(&db.url), commits)
        .await
        .unwrap();
    Some(Fixture::new(stores, db))
}

conformance_tests!(fixture);
