//! The Postgres backend under the conformance suite: each test gets a fresh database
//! (see `tests/common/pg.rs`), so migrations always run on an empty one.

use intentgate::config::DatabaseUrl;

use crate::pg::TestDatabase;
use crate::suite::Fixture;

pub async fn fixture() -> Option<Fixture> {
    let db = TestDatabase::create().await?;
    let stores = intentgate::adapters::postgres::open(&DatabaseUrl::new(&db.url))
        .await
        .unwrap();
    Some(Fixture::new(stores, db))
}

conformance_tests!(fixture);
