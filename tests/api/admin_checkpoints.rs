//! Signed checkpoints and Merkle proofs, checked by Go's own `sumdb/note` and
//! `sumdb/tlog` (`tests/transparency/verify.go`, built against Debian's
//! `golang-golang-x-mod-dev` with no network), not by our code.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use intentgate::app::CheckpointSchedule;
use serde_json::{Value, json};

use crate::support::{ADMIN_ENV, Backend, TestGateway, event};

/// A fixed log key, so two gateways sign as the same log.
pub const LOG_KEY: &str = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY";

pub async fn start(backend: Backend) -> TestGateway {
    let mut env = ADMIN_ENV.to_vec();
    env.extend([
        ("INTENTGATE_CHECKPOINT_ENTRIES", "0"),
        ("INTENTGATE_LOG_KEY", LOG_KEY),
        ("INTENTGATE_LOG_NAME", "gateway.test"),
    ]);
    TestGateway::start(backend, &env).await
}

pub async fn seed(gw: &TestGateway, tenant: &str, n: usize, decision: &str) {
    let events = (0..n)
        .map(|i| {
            let ts = format!("2026-05-12T10:{:02}:{:02}Z", i / 60, i % 60);
            event(&ts, tenant, "agent-a", "read_invoice", decision)
        })
        .collect();
    gw.seed(events).await;
}

pub async fn admin(gw: &TestGateway, method: &str, path: &str) -> (u16, Value) {
    let answer = gw.admin(method, path, Some("super"), None).await;
    (answer.status, answer.json())
}

pub async fn issue(gw: &TestGateway, tenant: &str) -> Value {
    let (status, body) = admin(
        gw,
        "POST",
        &format!("/v1/admin/audit/checkpoint?tenant={tenant}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn inclusion(gw: &TestGateway, seq: u64) -> Value {
    let path = format!("/v1/admin/audit/proof/inclusion?tenant=acme&seq={seq}");
    let (status, body) = admin(gw, "GET", &path).await;
    assert_eq!(status, 200, "{body}");
    json!({"leaf_index": body["leaf_index"], "chain_hash": body["chain_hash"], "proof": body["proof"]})
}

async fn consistency(gw: &TestGateway, from: u64) -> Value {
    let path = format!("/v1/admin/audit/proof/consistency?tenant=acme&from_size={from}");
    let (status, body) = admin(gw, "GET", &path).await;
    assert_eq!(status, 200, "{body}");
    body["proof"].clone()
}

pub async fn checkpoints_and_proofs_check_with_go_sumdb(backend: Backend) {
    let gw = start(backend).await;
    seed(&gw, "acme", 5, "allow").await;
    let old = issue(&gw, "acme").await;
    assert_eq!(old["tree_size"], 5);
    assert!(
        old["checkpoint"]
            .as_str()
            .unwrap()
            .starts_with("gateway.test/acme\n5\n")
    );
    seed(&gw, "acme", 8, "block").await;
    let new = issue(&gw, "acme").await;
    assert_eq!(new["tree_size"], 13);
    let (status, latest) = admin(&gw, "GET", "/v1/admin/audit/checkpoint?tenant=acme").await;
    assert_eq!((status, &latest), (200, &new));
    let mut inclusions = Vec::new();
    for seq in [1, 5, 6, 13] {
        inclusions.push(inclusion(&gw, seq).await);
    }
    let bundle = json!({
        "verifier_key": new["verifier_key"],
        "checkpoint": new["checkpoint"],
        "inclusions": inclusions,
        "old_checkpoint": old["checkpoint"],
        "consistency_proof": consistency(&gw, 5).await,
    });
    let Some((ok, out)) = go_verify(&bundle) else {
        return;
    };
    assert!(ok, "{out}");
    assert!(
        out.contains("ok inclusion leaf 12") && out.contains("ok consistency 5 -> 13"),
        "{out}"
    );

    // The same checks fail on a changed proof or a changed checkpoint.
    let mut tampered = bundle.clone();
    tampered["inclusions"][1]["proof"][0] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let (ok, out) = go_verify(&tampered).unwrap();
    assert!(!ok && out.contains("FAIL inclusion of leaf 4"), "{out}");
    let mut forged = bundle;
    let note = forged["checkpoint"]
        .as_str()
        .unwrap()
        .replace("\n13\n", "\n14\n");
    forged["checkpoint"] = json!(note);
    let (ok, out) = go_verify(&forged).unwrap();
    assert!(!ok && out.contains("FAIL note.Open"), "{out}");
}

pub async fn proof_requests_are_checked_and_tenant_scoped(backend: Backend) {
    let gw = start(backend).await;
    let (status, _) = admin(&gw, "GET", "/v1/admin/audit/checkpoint?tenant=acme").await;
    assert_eq!(status, 404, "no checkpoint before the first records");
    seed(&gw, "acme", 3, "allow").await;
    issue(&gw, "acme").await;
    for (path, want) in [
        ("/v1/admin/audit/proof/inclusion?tenant=acme&seq=0", 400),
        ("/v1/admin/audit/proof/inclusion?tenant=acme&seq=4", 404),
        ("/v1/admin/audit/proof/inclusion?tenant=acme", 400),
        ("/v1/admin/audit/proof/inclusion?tenant=acme&seq=x", 400),
        (
            "/v1/admin/audit/proof/inclusion?tenant=acme&seq=2&tree_size=9",
            404,
        ),
        (
            "/v1/admin/audit/proof/consistency?tenant=acme&from_size=0",
            400,
        ),
        (
            "/v1/admin/audit/proof/consistency?tenant=acme&from_size=4",
            404,
        ),
        (
            "/v1/admin/audit/proof/consistency?tenant=acme&from_size=3",
            200,
        ),
    ] {
        let (status, body) = admin(&gw, "GET", path).await;
        assert_eq!(status, want, "{path}: {body}");
    }
    let other = gw
        .admin(
            "GET",
            "/v1/admin/audit/checkpoint?tenant=acme",
            Some("tok-globex"),
            None,
        )
        .await;
    assert_eq!(other.status, 403);
    let own = gw
        .admin("GET", "/v1/admin/audit/checkpoint", Some("tok-acme"), None)
        .await;
    assert_eq!(
        (own.status, own.json()["tree_size"].as_u64()),
        (200, Some(3))
    );
}

/// The background task's rule, one round at a time: a chain without a checkpoint is due
/// at once, then after `entries` new records or at `interval` age, never without news.
pub async fn checkpoints_are_issued_when_a_chain_is_due(backend: Backend) {
    let gw = start(backend).await;
    let t = &gw.gateway.transparency;
    let every_three = CheckpointSchedule {
        interval: None,
        entries: 3,
    };
    assert_eq!(t.issue_due(every_three).await.unwrap(), 0, "no chain yet");
    seed(&gw, "acme", 1, "allow").await;
    seed(&gw, "globex", 2, "allow").await;
    assert_eq!(
        t.issue_due(every_three).await.unwrap(),
        2,
        "first ones at once"
    );
    seed(&gw, "acme", 2, "allow").await;
    assert_eq!(t.issue_due(every_three).await.unwrap(), 0, "2 new < 3");
    seed(&gw, "acme", 1, "allow").await;
    assert_eq!(t.issue_due(every_three).await.unwrap(), 1);
    assert_eq!(t.latest("acme").await.unwrap().unwrap().size, 4);
    let any_age = CheckpointSchedule {
        interval: Some(std::time::Duration::ZERO),
        entries: 1000,
    };
    assert_eq!(
        t.issue_due(any_age).await.unwrap(),
        0,
        "no news, no checkpoint"
    );
    seed(&gw, "globex", 1, "allow").await;
    assert_eq!(
        t.issue_due(any_age).await.unwrap(),
        1,
        "only globex has news"
    );
    assert_eq!(t.latest("globex").await.unwrap().unwrap().size, 3);
}

/// Whoever controls the host can rewrite a whole chain, recompute every hash and sign a
/// new checkpoint with the log key. A second store written from scratch is exactly
/// what such a rewrite leaves behind: it verifies, its checkpoints open with the key,
/// and only an auditor's copy of an old checkpoint shows that it is not the same log.
pub async fn an_old_checkpoint_catches_a_rewritten_chain(backend: Backend) {
    let honest = start(backend).await;
    seed(&honest, "acme", 6, "allow").await;
    let kept = issue(&honest, "acme").await;

    let rewritten = start(backend).await;
    seed(&rewritten, "acme", 6, "block").await;
    seed(&rewritten, "acme", 1, "allow").await;
    let (status, verify) = admin(&rewritten, "GET", "/v1/admin/audit/verify?tenant=acme").await;
    assert_eq!(
        (status, verify["ok"].as_bool()),
        (200, Some(true)),
        "{verify}"
    );
    let forged = issue(&rewritten, "acme").await;
    let forged_bundle = json!({
        "verifier_key": forged["verifier_key"],
        "checkpoint": forged["checkpoint"],
        "inclusions": [],
        "old_checkpoint": kept["checkpoint"],
        "consistency_proof": consistency(&rewritten, 6).await,
    });
    let Some((ok, out)) = go_verify(&forged_bundle) else {
        return;
    };
    assert!(!ok && out.contains("FAIL consistency 6 -> 7"), "{out}");

    seed(&honest, "acme", 1, "allow").await;
    let extended = issue(&honest, "acme").await;
    let honest_bundle = json!({
        "verifier_key": extended["verifier_key"],
        "checkpoint": extended["checkpoint"],
        "inclusions": [],
        "old_checkpoint": kept["checkpoint"],
        "consistency_proof": consistency(&honest, 6).await,
    });
    let (ok, out) = go_verify(&honest_bundle).unwrap();
    assert!(ok && out.contains("ok consistency 6 -> 7"), "{out}");
}

/// Runs the Go verifier on `bundle`: `Some((passed, output))`, or `None` (announced)
/// when Go or its x/mod sources are missing outside CI. Under CI that fails.
pub fn go_verify(bundle: &Value) -> Option<(bool, String)> {
    let binary = verifier()?;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bundle.to_string()).unwrap();
    let out = Command::new(binary).arg(file.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some((out.status.success(), text))
}

/// Builds `tests/transparency/verify.go` once per test process.
fn verifier() -> Option<&'static PathBuf> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            let target = root.join("target").join("go-verify");
            std::fs::create_dir_all(&target).ok()?;
            let binary = target.join("igverify");
            let built = Command::new("go")
                .current_dir(root.join("tests/transparency"))
                .args(["build", "-o"])
                .arg(&binary)
                .arg("verify.go")
                .env("GO111MODULE", "off")
                .env("GOPATH", "/usr/share/gocode")
                .env("GOCACHE", target.join("cache"))
                .env("GOFLAGS", "")
                .output();
            match built {
                Ok(out) if out.status.success() => Some(binary),
                other => {
                    let why = match other {
                        Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
                        Err(e) => e.to_string(),
                    };
                    assert!(
                        std::env::var_os("CI").is_none(),
                        "the Go verifier must run under CI (apt-get install golang-go \
                         golang-golang-x-mod-dev): {why}"
                    );
                    eprintln!("SKIPPED: Go checkpoint verifier not built: {why}");
                    None
                }
            }
        })
        .as_ref()
}
