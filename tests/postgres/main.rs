//! Postgres-only checks the shared suite cannot express: migrations on an empty and an
//! already migrated database, and tampering done behind the gateway's back with SQL,
//! which verification must report with the reference's reasons.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail loudly

use intentgate::config::DatabaseUrl;
use intentgate::domain::audit::{
    AuditEvent, BreakReason, ChainHead, ChainVerifier, ChainedEvent, VerifyReport, seal,
};
use intentgate::domain::time::Timestamp;
use intentgate::ports::{AppendOutcome, StoreError, StoreResult, Stores};
use sqlx::Connection;

#[path = "../common/pg.rs"]
mod pg;

use pg::TestDatabase;

/// A fresh database (URL and its guard), or `None` (skip).
async fn fresh_database() -> Option<(String, TestDatabase)> {
    let db = TestDatabase::create().await?;
    Some((db.url.clone(), db))
}

async fn seeded(url: &str) -> Stores {
    let stores = intentgate::adapters::postgres::open(&DatabaseUrl::new(url))
        .await
        .unwrap();
    let events: Vec<AuditEvent> = (0..5)
        .map(|i| {
            let mut e = AuditEvent::new(
                Timestamp::from_unix_nanos(1_778_580_000_123_456_789 + i * 1_000_000_000),
                "allow",
                "read_invoice",
            );
            e.tenant = "acme".into();
            e.reason = format!("event {i}");
            e
        })
        .collect();
    let run = seal("acme", None, events);
    assert!(matches!(
        stores.audit.append(&run).await.unwrap(),
        AppendOutcome::Appended(_)
    ));
    stores
}

async fn verify(stores: &Stores) -> VerifyReport {
    let records = stores.audit.range("acme", 1, 1000).await.unwrap();
    let mut v = ChainVerifier::new(None, None);
    for r in &records {
        if !v.feed(r) {
            break;
        }
    }
    v.finish(stores.audit.head("acme").await.unwrap())
}

async fn exec(url: &str, sql: &str) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_again_idempotently() {
    let Some((url, _cleanup)) = fresh_database().await else {
        return;
    };
    let url = DatabaseUrl::new(url);
    let total = intentgate::adapters::postgres::migrate(&url).await.unwrap();
    assert!(total >= 1);
    assert_eq!(
        intentgate::adapters::postgres::migrate(&url).await.unwrap(),
        total
    );
    // The SQL itself is idempotent too, not only sqlx's bookkeeping.
    let sql = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations/20261125000001_init.sql"
    ))
    .unwrap();
    let mut conn = sqlx::PgConnection::connect(url.expose()).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// An older build started on a database a newer one migrated (a rolled-back upgrade)
/// stops and says so, naming the migration it does not have.
#[tokio::test]
async fn a_database_migrated_by_a_newer_build_is_refused_with_what_to_run() {
    let Some((url, _cleanup)) = fresh_database().await else {
        return;
    };
    let url = DatabaseUrl::new(url);
    intentgate::adapters::postgres::migrate(&url).await.unwrap();
    exec(
        url.expose(),
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (29991231000001, 'from a later build', TRUE, '\\x00', 1)",
    )
    .await;
    let refused = intentgate::adapters::postgres::migrate(&url)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.starts_with("the database was migrated by a newer IntentGate build"),
        "{refused}"
    );
    assert!(refused.contains("migration 29991231000001"), "{refused}");
    assert!(
        refused.contains("run that build or a newer one"),
        "{refused}"
    );
}

#[tokio::test]
async fn an_intact_chain_verifies_after_a_round_trip_with_microsecond_truncation() {
    let Some((url, _cleanup)) = fresh_database().await else {
        return;
    };
    let stores = seeded(&url).await;
    let report = verify(&stores).await;
    assert!(report.ok);
    assert_eq!(report.verified, 5);
    assert_eq!(report.head.map(|h| h.seq), Some(5));
}

#[tokio::test]
async fn an_updated_reason_is_a_hash_mismatch() {
    let Some((url, _cleanup)) = fresh_database().await else {
        return;
    };
    let stores = seeded(&url).await;
    exec(
        &url,
        "UPDATE audit_events SET reason = 'rewritten' WHERE chain = 'acme' AND seq = 1",
    )
    .await;
    let report = verify(&stores).await;
    assert!(!report.ok);
    let broken = report.broken_at.unwrap();
    assert_eq!((broken.seq, broken.reason), (1, BreakReason::HashMismatch));
    assert_eq!(broken.reason.as_str(), "hash mismatch (row body tampered)");
    assert_ne!(broken.stored_hash, broken.expected_hash);
    assert_eq!(report.head, None, "no head telemetry on a broken chain");
}

#[tokio::test]
async fn a_deleted_middle_row_is_a_broken_link() {
    let Some((url, _cleanup)) = fresh_database().await else {
        return;
    };
    let stores = seeded(&url).await;
    let before = stores.audit.range("acme", 1, 10).await.unwrap();
    exec(
        &url,
        "DELETE FROM audit_events WHERE chain = 'acme' AND seq = 3",
    )
    .await;
    let report = verify(&stores).await;
    let broken = report.broken_at.unwrap();
    assert_eq!(
        broken.reason.as_str(),
        "prev_hash mismatch (chain link broken \u{2014} row inserted/deleted)"
    );
    assert_eq!(broken.seq, 4);
    assert_eq!(
        broken.stored_hash, before[3].hash,
        "the row after the gap reports its own hash"
    );
    assert_eq!(
        broken.expected_hash, before[1].hash,
        "and expects the last verified row's hash"
    );
    assert_eq!(report.verified, 2);
}

#[tokio::test]
async fn writes_announce_policy_and_approval_changes_to_other_processes() {
    use intentgate::domain::approval::{
        Approval, ApprovalDecision, ApprovalStatus, ApprovalVerdict,
    };
    use intentgate::domain::policy::PolicyDraft;
    use intentgate::ports::Change;
    let Some((url, _cleanup)) = fresh_database().await else {
        return;
    };
    let listener = intentgate::adapters::postgres::open(&DatabaseUrl::new(&url))
        .await
        .unwrap();
    let writer = intentgate::adapters::postgres::open(&DatabaseUrl::new(&url))
        .await
        .unwrap();
    let mut changes = listener
        .changes
        .as_ref()
        .expect("postgres announces changes")
        .subscribe();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await; // LISTEN is in place
    let at = Timestamp::from_unix_seconds(1_778_580_000);
    let draft = PolicyDraft {
        id: "d1".into(),
        name: String::new(),
        description: String::new(),
        rego_source: "package intentgate.policy".into(),
        tenant: String::new(),
        created_at: at,
        updated_at: at,
        created_by: String::new(),
    };
    writer.policies.create_draft(&draft).await.unwrap();
    writer
        .policies
        .promote("acme", "d1", "ops", at)
        .await
        .unwrap();
    let wait = std::time::Duration::from_secs(2);
    let notice = tokio::time::timeout(wait, changes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        notice,
        Change::PolicySlot {
            tenant: "acme".into()
        }
    );
    let row = Approval {
        pending_id: "p1".into(),
        tenant: "acme".into(),
        capability_token_id: String::new(),
        root_capability_token_id: String::new(),
        agent_id: "a".into(),
        tool: "t".into(),
        args: None,
        intent_summary: String::new(),
        reason: "r".into(),
        status: ApprovalStatus::Pending,
        created_at: at,
        decided_at: None,
        decided_by: String::new(),
        decide_note: String::new(),
        requires_step_up: false,
    };
    writer.approvals.create(&row).await.unwrap();
    let decision = ApprovalDecision {
        verdict: ApprovalVerdict::Approve,
        decided_by: "alice".into(),
        note: String::new(),
        at,
    };
    writer.approvals.decide("p1", &decision).await.unwrap();
    let notice = tokio::time::timeout(wait, changes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        notice,
        Change::ApprovalDecided {
            pending_id: "p1".into()
        }
    );
}

async fn open(url: &str) -> Stores {
    intentgate::adapters::postgres::open(&DatabaseUrl::new(url))
        .await
        .unwrap()
}

/// The database name at the end of a URL.
fn database_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or_default()
}

/// Waits until `check` holds, for at most three seconds.
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..60 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

const REVOKE_SQL: &str = "INSERT INTO revoked_tokens (jti, tenant, reason, revoked_at) \
                          VALUES ('jti-elsewhere', 'acme', 'by SQL', now())";

/// Another replica (here: SQL written behind the gateway's back) revokes a token; the
/// lookups of a gateway answering from its in-memory set learn it from the notice.
#[tokio::test]
async fn a_revocation_written_elsewhere_reaches_the_lookup() {
    let Some((url, _cleanup)) = fresh_database().await else {
        return;
    };
    let replica = open(&url).await;
    let lookup = async || {
        replica
            .revocations
            .is_revoked("jti-elsewhere", "acme")
            .await
            .unwrap()
    };
    assert!(!lookup().await);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await; // the feed is up
    exec(&url, REVOKE_SQL).await;
    assert!(eventually(lookup).await, "the notice never arrived");
}

/// Fail closed: once the feed's connection is gone, lookups go to the database, so a
/// revocation made while nobody listens is enforced at once (not only after the feed
/// has come back and reloaded).
#[tokio::test]
async fn a_lost_revocation_feed_sends_lookups_to_the_database() {
    let Some((url, _cleanup)) = fresh_database().await else {
        return;
    };
    let replica = open(&url).await;
    // A pooled connection to fall back on, and the feed up and current.
    replica
        .revocations
        .list(&intentgate::domain::tenant::TenantScope::All, 1, 0)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut writer = sqlx::PgConnection::connect(&url).await.unwrap();
    let name = database_name(&url);
    const LISTENER: &str = "FROM pg_stat_activity
         WHERE datname = $1 AND query LIKE 'LISTEN%intentgate_revocations%'";
    let terminate = format!("SELECT pg_terminate_backend(pid) {LISTENER}");
    sqlx::query(sqlx::AssertSqlSafe(terminate))
        .bind(name)
        .execute(&mut writer)
        .await
        .unwrap();
    // Termination is asynchronous: revoke only once the listener is gone.
    let count = format!("SELECT count(*) {LISTENER}");
    let mut gone = false;
    for _ in 0..100 {
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count.clone()))
            .bind(name)
            .fetch_one(&mut writer)
            .await
            .unwrap();
        gone = left == 0;
        if gone {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "the listener's backend did not end");
    sqlx::query(sqlx::AssertSqlSafe(REVOKE_SQL))
        .execute(&mut writer)
        .await
        .unwrap();
    // Long enough for the feed to notice, shorter than its pause before listening
    // and reloading again: the answer must come from the database.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let revoked = replica
        .revocations
        .is_revoked("jti-elsewhere", "acme")
        .await;
    assert!(
        revoked.unwrap(),
        "a lost feed must not answer from a stale set"
    );
}

/// An append in turn waits for the writer whose turn it is (the chain's advisory lock)
/// and then seals on the head as that turn left it, even when the head moved while it
/// waited.
#[tokio::test]
async fn an_append_in_turn_waits_for_the_turn_and_seals_on_the_head_it_left() {
    let Some((url, _db)) = fresh_database().await else {
        return;
    };
    let stores = seeded(&url).await;
    let mut turn = hold_turn(&url, "acme").await;
    let waiting = {
        let audit = std::sync::Arc::clone(&stores.audit);
        tokio::spawn(async move { audit.append_exclusive("acme", &[acme_event(2)]).await })
    };
    let moved = move_the_head_then_end_the_turn(&stores, &mut turn, &waiting).await;
    let written = waiting.await.unwrap().unwrap();
    assert_eq!((written[0].seq, &written[0].prev_hash), (7, &moved[0].hash));
    let report = verify(&stores).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.verified, 7);
}

/// The turn's function reads the head once it holds the turn, not as it was when the
/// statement that waited for it began: otherwise every turn taken after a wait would
/// seal on a stale head and lose the race to the primary key (the append above would
/// still succeed, on its next try, so it cannot tell).
#[tokio::test]
async fn taking_the_turn_reads_the_head_the_previous_turn_left() {
    let Some((url, _db)) = fresh_database().await else {
        return;
    };
    let stores = seeded(&url).await;
    let mut turn = hold_turn(&url, "acme").await;
    let waiting = {
        let url = url.clone();
        tokio::spawn(async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let mut tx = conn
                .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
                .await
                .unwrap();
            let seq: i64 = sqlx::query_scalar("SELECT seq FROM intentgate_audit_turn('acme')")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            seq
        })
    };
    move_the_head_then_end_the_turn(&stores, &mut turn, &waiting).await;
    assert_eq!(
        waiting.await.unwrap(),
        6,
        "the head as it is once the turn is held"
    );
}

/// Once `waiting` is seen waiting for the turn `turn` holds on acme's chain: appends
/// one record out of turn (moving the head), then ends the turn. Returns that record.
async fn move_the_head_then_end_the_turn<T>(
    stores: &Stores,
    turn: &mut sqlx::PgConnection,
    waiting: &tokio::task::JoinHandle<T>,
) -> Vec<ChainedEvent> {
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "it waits for the turn");
    let head = stores.audit.head("acme").await.unwrap();
    let moved = seal("acme", head.as_ref(), vec![acme_event(1)]);
    let outcome = stores.audit.append(&moved).await.unwrap();
    assert!(matches!(outcome, AppendOutcome::Appended(_)), "{outcome:?}");
    sqlx::query("COMMIT").execute(turn).await.unwrap();
    moved
}

/// A connection in a transaction holding `chain`'s turn (its advisory lock), as another
/// writer appending in turn would.
async fn hold_turn(url: &str, chain: &str) -> sqlx::PgConnection {
    let mut turn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut turn).await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(chain)
        .execute(&mut turn)
        .await
        .unwrap();
    turn
}

/// An event of `acme` for the in-turn tests.
fn acme_event(i: i64) -> AuditEvent {
    let mut e = AuditEvent::new(
        Timestamp::from_unix_seconds(1_778_590_000 + i),
        "allow",
        "read_invoice",
    );
    e.tenant = "acme".into();
    e
}

/// A turn that does not come within the lock timeout (5 s) is the store being
/// unavailable: the calls fail closed at once, rather than each event retrying alone.
#[tokio::test]
async fn a_turn_held_too_long_is_unavailable() {
    let Some((url, _db)) = fresh_database().await else {
        return;
    };
    let stores = seeded(&url).await;
    let mut turn = hold_turn(&url, "acme").await;
    let outcome = stores
        .audit
        .append_exclusive("acme", &[acme_event(1)])
        .await;
    assert!(
        matches!(outcome, Err(StoreError::Unavailable { .. })),
        "{outcome:?}"
    );
    sqlx::query("ROLLBACK").execute(&mut turn).await.unwrap();
    assert_eq!(verify(&stores).await.verified, 5, "nothing written");
}

/// The `postgres` database on the server of `url`: where statements about the database
/// at `url` run when it takes no connections.
fn admin_url(url: &str) -> String {
    let server = url.rsplit_once('/').map_or(url, |(server, _)| server);
    format!("{server}/postgres")
}

/// Ends every session on the database at `url`, as a restart or an administrator's
/// `pg_terminate_backend` would, waiting (up to 5 s) until they are gone.
async fn terminate_sessions(url: &str) {
    let name = database_name(url);
    exec(
        &admin_url(url),
        &format!(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{name}'"
        ),
    )
    .await;
}

/// Appends `acme_event(i)` sealed on `head`, as a writer that knows only that head.
async fn append_on(
    stores: &Stores,
    head: Option<&ChainHead>,
    i: i64,
) -> StoreResult<AppendOutcome> {
    stores
        .audit
        .append(&seal("acme", head, vec![acme_event(i)]))
        .await
}

/// The audit appends and budget counts keep a connection of their own between
/// statements. When the server ends it, the next statement fails (closed: nothing
/// written, nothing counted) and the one after runs on a new connection.
#[tokio::test]
async fn the_writers_own_connections_are_replaced_after_the_server_ends_them() {
    use intentgate::domain::budget::BudgetKey;
    let Some((url, _db)) = fresh_database().await else {
        return;
    };
    let stores = seeded(&url).await;
    let key = BudgetKey {
        tenant: "acme".into(),
        jti: "j1".into(),
    };
    let now = Timestamp::from_unix_seconds(1_778_590_000);
    let count = async || {
        stores
            .budgets
            .record_calls(&[(key.clone(), 1)], now, 60)
            .await
    };
    assert_eq!(count().await.unwrap(), [1]);
    let head = stores.audit.head("acme").await.unwrap();
    let append = async |i| append_on(&stores, head.as_ref(), i).await;
    terminate_sessions(&url).await;
    // Unavailable, not refused: whether a write on a connection that went committed
    // is unknown, so the writer must not append its events again one by one.
    let ended = append(1).await;
    assert!(
        matches!(ended, Err(StoreError::Unavailable { .. })),
        "{ended:?}"
    );
    assert!(matches!(append(2).await, Ok(AppendOutcome::Appended(_))));
    assert!(count().await.is_err(), "the ended connection fails");
    assert_eq!(count().await.unwrap(), [2]);
    // Read back through a new pool: the old one's idle connections were ended too.
    let report = verify(&open(&url).await).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.verified, 6, "the seeded five and one more");
}

/// A write the server refuses at its commit (here a deferred constraint trigger) is
/// rolled back: the store reports it refused (`Backend`), not unavailable, so the audit
/// writer may retry the events one by one, and nothing of it is written. That holds
/// for the usual append (one statement) and for an append in turn (a transaction).
/// Failures whose outcome is unknown are the ended-connection test's.
#[tokio::test]
async fn a_write_refused_at_its_commit_is_reported_refused_and_writes_nothing() {
    let Some((url, _db)) = fresh_database().await else {
        return;
    };
    let stores = seeded(&url).await;
    exec(
        &url,
        "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql
         AS $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$",
    )
    .await;
    exec(
        &url,
        "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON audit_events
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()",
    )
    .await;
    let head = stores.audit.head("acme").await.unwrap();
    let refused = append_on(&stores, head.as_ref(), 1).await;
    assert!(
        matches!(refused, Err(StoreError::Backend { .. })),
        "{refused:?}"
    );
    let in_turn = stores
        .audit
        .append_exclusive("acme", &[acme_event(2)])
        .await;
    assert!(
        matches!(in_turn, Err(StoreError::Backend { .. })),
        "{in_turn:?}"
    );
    assert_eq!(
        stores.audit.head("acme").await.unwrap(),
        head,
        "nothing written"
    );
}

/// An append in turn that stops once it holds the turn (here a run of no events, found
/// empty after the head is read) ends its transaction before it returns: the writer
/// keeps its connection for the next round, and an open transaction on it would hold
/// the chain's turn until then (other replicas would wait 5 s for it, then fail their
/// calls). A statement the server refuses needs no such care: an aborted transaction
/// has already let its locks go.
#[tokio::test]
async fn an_append_in_turn_that_stops_gives_the_turn_back_at_once() {
    let Some((url, _db)) = fresh_database().await else {
        return;
    };
    let stores = seeded(&url).await;
    let nothing = stores.audit.append_exclusive("acme", &[]).await;
    assert!(
        matches!(nothing, Err(StoreError::InvalidRequest(_))),
        "{nothing:?}"
    );
    let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
    let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended('acme', 0))")
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert!(free, "the chain's turn is free once the append returns");
}

/// When no new connection can be opened, a writer whose connection was ended reports the
/// store unavailable (so the writer does not retry each event alone) and recovers once
/// connections are allowed again.
#[tokio::test]
async fn a_writer_that_cannot_reconnect_reports_the_store_unavailable() {
    let Some((url, _db)) = fresh_database().await else {
        return;
    };
    let stores = seeded(&url).await;
    let head = stores.audit.head("acme").await.unwrap();
    let append = async |i| append_on(&stores, head.as_ref(), i).await;
    let allow_connections = async |allow: bool| {
        let name = database_name(&url);
        let sql = format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}");
        exec(&admin_url(&url), &sql).await;
    };
    allow_connections(false).await;
    terminate_sessions(&url).await;
    assert!(append(1).await.is_err(), "the ended connection fails");
    let refused = append(2).await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable { .. })),
        "{refused:?}"
    );
    allow_connections(true).await;
    assert!(matches!(append(3).await, Ok(AppendOutcome::Appended(_))));
}

/// The backend that last ran an audit insert on the database at `url`.
async fn inserting_backend(url: &str) -> i32 {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'INSERT INTO audit_events%'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

/// A lost race for the head (a unique violation the server reports and survives)
/// keeps the appends' connection: the next append runs on the same backend.
#[tokio::test]
async fn a_lost_race_keeps_the_appends_connection() {
    let Some((url, _db)) = fresh_database().await else {
        return;
    };
    let stores = seeded(&url).await;
    let head = stores.audit.head("acme").await.unwrap();
    assert!(matches!(
        append_on(&stores, head.as_ref(), 1).await.unwrap(),
        AppendOutcome::Appended(_)
    ));
    let before = inserting_backend(&url).await;
    let lost = append_on(&stores, head.as_ref(), 2).await.unwrap();
    assert!(matches!(lost, AppendOutcome::HeadMoved { .. }), "{lost:?}");
    let head = stores.audit.head("acme").await.unwrap();
    assert!(matches!(
        append_on(&stores, head.as_ref(), 3).await.unwrap(),
        AppendOutcome::Appended(_)
    ));
    assert_eq!(inserting_backend(&url).await, before, "the same connection");
}
