//! The sled backend under the conformance suite: a fresh database directory per test.

use crate::suite::Fixture;

async fn fixture() -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let stores = intentgate::adapters::sled::open(dir.path()).unwrap();
    Some(Fixture::new(stores, dir))
}

conformance_tests!(fixture);

/// A directory written by another layout is refused, naming both versions, and left as
/// it was rather than read as if it matched.
#[test]
fn a_database_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.insert("schema_version", "1").unwrap();
        db.flush().unwrap();
    }
    let err = intentgate::adapters::sled::open(dir.path())
        .err()
        .expect("an old layout must not open");
    let message = err.to_string();
    assert!(message.contains(r#"schema version "1""#), "{message}");
    assert!(message.contains("reads version 2"), "{message}");
    let db = sled::open(dir.path()).unwrap();
    assert_eq!(db.get("schema_version").unwrap().unwrap().as_ref(), b"1");
}
