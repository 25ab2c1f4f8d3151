//! §14.2 Capability.

use crate::support::Backend;
use intentgate::domain::revocation::Revocation;
use intentgate::domain::time::Timestamp;
use intentgate::domain::token::{Caveat, MasterKey, decode};
use serde_json::{Value, json};

use crate::support::{TestGateway, mint};

/// The vector 1 token of §2.10 (agent-x, read_invoice/record_in_ledger, max 5, expired
/// in wall-clock time since 2025).
const V1: &str = "eyJ2IjozLCJqdGkiOiJhQ0Vhd0FFQ0F3UUZCZ2NJQ1FvTERBIiwicm9vdF9qdGkiOiJhQ0Vhd0FFQ0F3UUZCZ2NJQ1FvTERBIiwiaXNzIjoiaW50ZW50Z2F0ZSIsInRlbmFudCI6ImRlZmF1bHQiLCJzdWIiOiJhZ2VudC14IiwiaWF0IjoxNzQ3MDAwMDAwLCJjYXYiOlt7InQiOiJhZ2VudF9sb2NrIiwiYWdlbnQiOiJhZ2VudC14In0seyJ0IjoiZXhwIiwiZXhwIjoxNzQ3MDAzNjAwfSx7InQiOiJ0b29sX2FsbG93IiwidG9vbHMiOlsicmVhZF9pbnZvaWNlIiwicmVjb3JkX2luX2xlZGdlciJdfSx7InQiOiJtYXhfY2FsbHMiLCJtYXhfY2FsbHMiOjV9XSwic2lnIjoicW1VQVlwUVhMMzZlNEZ1MVkyZE9NRzBJV0Fjd0FKNE9URC1qYU9CV2FNVSJ9";

fn data(v: &Value) -> &str {
    v["error"]["data"].as_str().unwrap_or_default()
}

pub async fn s18_dev_mode_without_token_reaches_the_stub(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let r = gw.call("read_invoice", json!({"id":"123"}), None).await;
    assert_eq!(r["result"]["_intentgate"]["decision"], "allow");
    let events = gw.audit("").await;
    assert_eq!(events.len(), 1);
    let e = &events[0].event;
    assert_eq!((e.decision.as_str(), e.check.as_str()), ("allow", ""));
    assert_eq!(e.reason, "all four checks passed (stub upstream)");
    assert_eq!(e.arg_keys, ["id"]);
    assert_eq!((e.tenant.as_str(), e.agent_id.as_str()), ("", ""));
}

pub async fn s19_to_s22_header_handling(backend: Backend) {
    let strict = TestGateway::start(backend, &[("INTENTGATE_REQUIRE_CAPABILITY", "true")]).await;
    let r = strict.call("read_invoice", json!({}), None).await;
    assert_eq!(r["error"]["code"], -32010);
    assert_eq!(r["error"]["message"], "capability check failed");
    assert_eq!(
        data(&r),
        "capability token required (INTENTGATE_REQUIRE_CAPABILITY=true)"
    );

    let gw = TestGateway::start(backend, &[]).await;
    let body = crate::support::tool_call("read_invoice", json!({}));
    let basic = gw.rpc(&body, &[("Authorization", "Basic abc")]).await;
    assert_eq!(
        data(&basic),
        "expected \"Bearer <token>\" Authorization header"
    );
    let (_, text) = gw
        .post_raw(body.to_string(), &[("Authorization", "Basic abc")])
        .await;
    assert!(
        text.contains(r#"expected \"Bearer \u003ctoken\u003e\" Authorization header"#),
        "{text}"
    );
    let token = mint("agent-x", "acme", vec![]);
    let spaced = format!("Bearer   {token}  ");
    let ok = gw.rpc(&body, &[("Authorization", spaced.as_str())]).await;
    assert!(ok.get("result").is_some(), "{ok}");
    let garbage = gw.call("read_invoice", json!({}), Some("%%%")).await;
    assert_eq!(data(&garbage), "token is not valid base64url");
    let not_token = gw.call("read_invoice", json!({}), Some("aGVsbG8")).await;
    assert_eq!(data(&not_token), "token JSON is malformed");
    // A credential whose bytes are not text is a bad token, never a missing one.
    for raw in [
        &b"Bearer \xff\xfe"[..],
        b"Bearer t\xc3\xb6ken",
        b"\xffBearer x",
    ] {
        let r = post_with_raw_authorization(&gw, &body, raw).await;
        assert_eq!(r["error"]["code"], -32010, "{raw:?}: {r}");
    }
    assert_eq!(
        gw.audit("").await.last().unwrap().event.decision,
        "block",
        "the refusal is audited"
    );
}

async fn post_with_raw_authorization(gw: &TestGateway, body: &Value, raw: &[u8]) -> Value {
    let value = reqwest::header::HeaderValue::from_bytes(raw).unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/mcp", gw.url))
        .header("Authorization", value)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    serde_json::from_str(&resp.text().await.unwrap()).unwrap()
}

pub async fn s23_s24_tampering_and_wrong_key(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let token = decode(&mint("agent-x", "acme", vec![])).unwrap();
    let mut widened = token.clone();
    widened.sub = "agent-y".into();
    let r = gw
        .call("read_invoice", json!({}), Some(&widened.encode()))
        .await;
    assert_eq!(data(&r), "signature mismatch");
    let mut appended = token.clone();
    appended
        .cav
        .push(Caveat::tool_allow(vec!["read_invoice".into()]));
    assert_eq!(
        data(
            &gw.call("read_invoice", json!({}), Some(&appended.encode()))
                .await
        ),
        "signature mismatch"
    );
    let mut truncated = token.clone();
    truncated.sig.truncate(10);
    truncated.sig.push('=');
    assert_eq!(
        data(
            &gw.call("read_invoice", json!({}), Some(&truncated.encode()))
                .await
        ),
        "signature is not valid base64url"
    );
    let other = MasterKey::from_bytes(vec![3; 32]).unwrap();
    let foreign = intentgate::domain::token::mint(
        &other,
        Default::default(),
        "x".into(),
        Timestamp::from_unix_seconds(1),
    );
    let mut foreign = foreign;
    foreign.sub = "a".into();
    foreign.tenant = "default".into();
    assert_eq!(
        data(
            &gw.call("read_invoice", json!({}), Some(&foreign.encode()))
                .await
        ),
        "signature mismatch"
    );
}

pub async fn s25_s26_tool_lists(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let allow = mint(
        "agent-x",
        "acme",
        vec![Caveat::tool_allow(vec!["read_invoice".into()])],
    );
    assert!(
        gw.call("read_invoice", json!({}), Some(&allow))
            .await
            .get("result")
            .is_some()
    );
    let denied = gw.call("send_email", json!({}), Some(&allow)).await;
    assert_eq!(
        data(&denied),
        "caveat 2 (tool_allow): tool \"send_email\" not in allowed set"
    );
    let deny = mint(
        "agent-x",
        "acme",
        vec![Caveat::tool_deny(vec!["transfer_funds".into()])],
    );
    assert!(
        gw.call("read_invoice", json!({}), Some(&deny))
            .await
            .get("result")
            .is_some()
    );
    let forbidden = gw
        .call("transfer_funds", json!({"amount_eur": 1}), Some(&deny))
        .await;
    assert_eq!(
        data(&forbidden),
        "caveat 2 (tool_deny): tool \"transfer_funds\" is forbidden"
    );
}

pub async fn s27_s28_s33_time_caveats_and_vector_tokens(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    // Vector 1 expired on 2025-05-11: the reference's listed check result at that time.
    let r = gw.call("read_invoice", json!({}), Some(V1)).await;
    assert_eq!(data(&r), "caveat 1 (exp): expired");
    let mut future = decode(&mint("agent-x", "acme", vec![])).unwrap();
    future.nbf = future.iat + 3600;
    let resigned = resign(&future);
    assert_eq!(
        data(&gw.call("read_invoice", json!({}), Some(&resigned)).await),
        "token not yet valid (nbf in future)"
    );
}

pub async fn s29_to_s31_unknown_max_calls_and_step_up_caveats(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let unknown = mint(
        "agent-x",
        "acme",
        vec![Caveat {
            t: "geo_fence".into(),
            ..Caveat::default()
        }],
    );
    assert_eq!(
        data(&gw.call("read_invoice", json!({}), Some(&unknown)).await),
        "caveat 2 (geo_fence): unknown caveat type \"geo_fence\" (deny by default)"
    );
    let budgeted = mint("agent-x", "acme", vec![Caveat::max_calls(100)]);
    assert!(
        gw.call("read_invoice", json!({}), Some(&budgeted))
            .await
            .get("result")
            .is_some()
    );
    let negative = mint("agent-x", "acme", vec![Caveat::step_up(-5)]);
    assert_eq!(
        data(&gw.call("read_invoice", json!({}), Some(&negative)).await),
        "caveat 2 (step_up): step_up caveat has negative step_up_at value"
    );
}

pub async fn s34_s36_revocation_is_tenant_scoped_and_audited(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    let acme = mint("agent-x", "acme", vec![]);
    let globex = mint("agent-x", "globex", vec![]);
    let (acme_jti, globex_jti) = (decode(&acme).unwrap().jti, decode(&globex).unwrap().jti);
    let revocations = &gw.gateway.stores.revocations;
    let revoke = |jti: &str, tenant: &str| Revocation {
        jti: jti.into(),
        tenant: tenant.into(),
        reason: "test".into(),
        revoked_at: Timestamp::from_unix_seconds(1),
    };
    revocations
        .revoke(&revoke(&acme_jti, "globex"))
        .await
        .unwrap();
    assert!(
        gw.call("read_invoice", json!({}), Some(&acme))
            .await
            .get("result")
            .is_some(),
        "another tenant's row does not bind"
    );
    revocations
        .revoke(&revoke(&acme_jti, "acme"))
        .await
        .unwrap();
    revocations.revoke(&revoke(&globex_jti, "")).await.unwrap();
    assert_eq!(
        data(&gw.call("read_invoice", json!({}), Some(&acme)).await),
        "token revoked"
    );
    assert_eq!(
        data(&gw.call("read_invoice", json!({}), Some(&globex)).await),
        "token revoked",
        "a global row binds every tenant"
    );
    let events = gw.audit("acme").await;
    let last = &events.last().unwrap().event;
    assert_eq!(
        (
            last.decision.as_str(),
            last.check.as_str(),
            last.reason.as_str()
        ),
        ("block", "capability", "token revoked")
    );
    assert_eq!(
        (
            last.tenant.as_str(),
            last.agent_id.as_str(),
            last.capability_token_id.as_str()
        ),
        ("acme", "agent-x", acme_jti.as_str())
    );
}

/// Re-signs a token under the vector key.
fn resign(token: &intentgate::domain::token::Token) -> String {
    let key = MasterKey::parse(crate::support::KEY_B64).unwrap();
    let mut token = token.clone();
    intentgate::domain::token::sign(&key, &mut token);
    token.encode()
}

/// A token remembered as verified (`app::VerifiedTokens`) is still checked on every
/// call: once its expiry passes, the same text is refused.
pub async fn a_remembered_token_still_expires(backend: Backend) {
    use intentgate::adapters::clock::SystemClock;
    use intentgate::ports::Clock;
    let gw = TestGateway::start(backend, &[]).await;
    let exp = SystemClock.now().unix_nanos() / 1_000_000_000 + 2;
    let short = mint("agent-x", "acme", vec![Caveat::expires_at(exp)]);
    let first = gw.call("read_invoice", json!({}), Some(&short)).await;
    assert!(first.get("result").is_some(), "{first}");
    while SystemClock.now().unix_nanos() / 1_000_000_000 <= exp {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let later = gw.call("read_invoice", json!({}), Some(&short)).await;
    assert_eq!(data(&later), "caveat 2 (exp): expired");
}
