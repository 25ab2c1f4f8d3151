//! OAuth sign-in scenarios against an in-test issuer (fixture keys, a JWKS the test
//! changes): scopes → tools, claims in the policy input, per-subject budgets, the
//! challenges, rotation and failing closed. The proof against a real authorization
//! server is `tests/oauth_interop`.

use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::{
    Answer, Backend, FakeServer, Reply, TestGateway, mint, policy_file, tool_call, with_upstream,
};

const RSA: &[u8] = include_bytes!("../fixtures/oauth/rsa.der");
const RSA_JWK: &str = include_str!("../fixtures/oauth/rsa.jwk.json");
const EC: &[u8] = include_bytes!("../fixtures/oauth/ec256.der");
const EC_JWK: &str = include_str!("../fixtures/oauth/ec256.jwk.json");
const RESOURCE: &str = "https://gw.test/v1/mcp";
const ADMIN: &str = "admin-secret-oauth";

/// An authorization server's metadata and JWKS, served from a loopback port.
struct Issuer {
    server: FakeServer,
    jwks: Arc<Mutex<Vec<Value>>>,
}

impl Issuer {
    /// Publishes the RSA fixture key as `rsa-1`. Its RFC 8414 metadata is missing, so
    /// the gateway falls back to OpenID Connect discovery.
    async fn start() -> Self {
        let jwks = Arc::new(Mutex::new(vec![jwk(RSA_JWK, "rsa-1")]));
        let own_url: Arc<Mutex<String>> = Arc::default();
        let (keys, url) = (Arc::clone(&jwks), Arc::clone(&own_url));
        let server = FakeServer::start(move |seen| {
            let issuer = url.lock().unwrap().clone();
            match seen.path.as_str() {
                "/.well-known/openid-configuration" => Reply::json(
                    &json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")}).to_string(),
                ),
                "/jwks" => Reply::json(&json!({"keys": *keys.lock().unwrap()}).to_string()),
                _ => Reply::new(404, "{}"),
            }
        })
        .await;
        *own_url.lock().unwrap() = server.url.clone();
        Self { server, jwks }
    }

    fn url(&self) -> &str {
        &self.server.url
    }

    /// A token of this issuer for the gateway, signed by `rsa-1`, with `extra` claims.
    fn token(&self, sub: &str, scope: &str, extra: Value) -> String {
        let mut claims = json!({
            "iss": self.url(), "sub": sub, "aud": RESOURCE, "client_id": format!("{sub}-client"),
            "scope": scope, "iat": now(), "exp": now() + 300, "jti": format!("jti-{sub}-{}", now_nanos()),
        });
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        sign(&claims, &rsa(), Algorithm::RS256, "rsa-1")
    }
}

fn jwk(text: &str, kid: &str) -> Value {
    let mut key: Value = serde_json::from_str(text).unwrap();
    key["kid"] = json!(kid);
    key
}

fn rsa() -> EncodingKey {
    EncodingKey::from_rsa_der(RSA)
}

fn sign(claims: &Value, key: &EncodingKey, alg: Algorithm, kid: &str) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    header.typ = Some("at+jwt".into());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn now() -> i64 {
    now_nanos() / 1_000_000_000
}

fn now_nanos() -> i64 {
    use intentgate::ports::Clock as _;
    intentgate::adapters::clock::SystemClock.now().unix_nanos()
}

fn oauth_env<'a>(issuer: &'a Issuer, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("INTENTGATE_OAUTH_ISSUERS", issuer.url()),
        ("INTENTGATE_OAUTH_RESOURCE", RESOURCE),
        ("INTENTGATE_OAUTH_TENANT_CLAIM", "org"),
        ("INTENTGATE_OAUTH_KEYS_MIN_INTERVAL_S", "1"),
        ("INTENTGATE_REQUIRE_CAPABILITY", "true"),
        ("INTENTGATE_ADMIN_TOKEN", ADMIN),
    ];
    env.extend_from_slice(extra);
    env
}

/// POSTs a call with `Authorization: Bearer <token>` (none when empty); the whole answer.
async fn call(gw: &TestGateway, tool: &str, token: &str) -> Answer {
    let body = tool_call(tool, json!({"n": 1})).to_string();
    let token = Some(token).filter(|t| !t.is_empty());
    gw.admin("POST", "/v1/mcp", token, Some(&body)).await
}

fn allowed(answer: &Answer) -> bool {
    answer.status == 200 && answer.json().get("result").is_some()
}

pub async fn a_token_for_this_gateway_calls_tools_and_is_audited(backend: Backend) {
    let issuer = Issuer::start().await;
    let gw = TestGateway::start(backend, &oauth_env(&issuer, &[])).await;
    let token = issuer.token("agent-7", "tools:read_invoice", json!({"org": "acme"}));
    let answer = call(&gw, "read_invoice", &token).await;
    assert!(allowed(&answer), "{}", answer.text);
    let event = gw.audit("acme").await.pop().unwrap().event;
    assert_eq!(event.decision, "allow");
    assert_eq!(event.agent_id, "agent-7");
    assert_eq!(event.token_issuer, issuer.url());
    assert_eq!(event.client_id, "agent-7-client");
    assert!(event.capability_token_id.starts_with("jti-agent-7-"));
    // The stored record keeps the OAuth fields and still verifies; the query shows them.
    let verify = gw
        .admin(
            "GET",
            "/v1/admin/audit/verify?tenant=acme",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(verify.json()["ok"], true, "{}", verify.text);
    let page = gw
        .admin("GET", "/v1/admin/audit?tenant=acme", Some(ADMIN), None)
        .await;
    assert_eq!(page.json()["events"][0]["token_issuer"], issuer.url());
    assert_eq!(page.json()["events"][0]["client_id"], "agent-7-client");
    // Capability tokens keep working beside OAuth, with the reference's answers.
    let capability = mint("agent-x", "acme", vec![]);
    assert!(allowed(&call(&gw, "read_invoice", &capability).await));
    let revoked = gw
        .admin(
            "POST",
            "/v1/admin/revoke",
            Some(ADMIN),
            Some(&json!({"jti": event.capability_token_id}).to_string()),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    let after = call(&gw, "read_invoice", &token).await;
    assert_eq!(after.status, 401, "{}", after.text);
    assert!(after.header("www-authenticate").contains("token revoked"));
    assert_eq!(after.json()["error"]["data"], "token revoked");
}

pub async fn missing_and_bad_tokens_are_challenged(backend: Backend) {
    let issuer = Issuer::start().await;
    let gw = TestGateway::start(backend, &oauth_env(&issuer, &[])).await;
    let metadata =
        "resource_metadata=\"https://gw.test/.well-known/oauth-protected-resource/v1/mcp\"";
    let missing = call(&gw, "read_invoice", "").await;
    assert_eq!(missing.status, 401);
    let challenge = missing.header("www-authenticate");
    assert_eq!(challenge, format!("Bearer {metadata}, scope=\"tools:*\""));
    let other = |claims: Value| issuer.token("agent-7", "tools:*", claims);
    let ec = EncodingKey::from_ec_der(EC);
    let forged_hs256 = {
        let n = jwk(RSA_JWK, "rsa-1")["n"].as_str().unwrap().to_owned();
        let claims = json!({"iss": issuer.url(), "sub": "x", "aud": RESOURCE, "exp": now() + 60});
        sign(
            &claims,
            &EncodingKey::from_secret(n.as_bytes()),
            Algorithm::HS256,
            "rsa-1",
        )
    };
    let untrusted = sign(
        &json!({"iss": "https://evil.test", "sub": "x", "aud": RESOURCE, "exp": now() + 60}),
        &rsa(),
        Algorithm::RS256,
        "rsa-1",
    );
    let unpublished = sign(
        &json!({"iss": issuer.url(), "sub": "x", "aud": RESOURCE, "exp": now() + 60}),
        &ec,
        Algorithm::ES256,
        "ec-unpublished",
    );
    let good = other(json!({}));
    let (head, rest) = good.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let swapped = format!(
        "{head}.{}.{signature}",
        other(json!({"sub": "root"})).split('.').nth(1).unwrap()
    );
    for (token, why) in [
        (
            other(json!({"aud": "https://other.test/mcp"})),
            "audience is not this gateway",
        ),
        (other(json!({"exp": now() - 120})), "token expired"),
        (other(json!({"nbf": now() + 600})), "not yet valid"),
        (untrusted, "is not trusted"),
        (forged_hs256, "signature algorithm HS256 is not accepted"),
        (unpublished, "no signing key 'ec-unpublished'"),
        (swapped, "signature does not verify"),
    ] {
        let answer = call(&gw, "read_invoice", &token).await;
        assert_eq!(answer.status, 401, "{why}: {}", answer.text);
        let challenge = answer.header("www-authenticate");
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{challenge}"
        );
        assert!(challenge.contains(why), "{why}: {challenge}");
        assert!(challenge.contains(metadata), "{challenge}");
    }
    // Every refusal of a call is audited, anonymous ones included.
    assert!(gw.audit("").await.len() >= 8);
}

pub async fn scopes_open_tools_and_list_only_those(backend: Backend) {
    let issuer = Issuer::start().await;
    let (gw, _up) = with_upstream(
        backend,
        |seen| match seen.body.contains("tools/list") {
            true => Reply::json(
                r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"read_invoice"},{"name":"read_payroll"}]}}"#,
            ),
            false => Reply::json(r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#),
        },
        &oauth_env(&issuer, &[]),
    )
    .await;
    let token = issuer.token(
        "agent-7",
        "openid tools:read_invoice",
        json!({"org": "acme"}),
    );
    assert!(allowed(&call(&gw, "read_invoice", &token).await));
    let refused = call(&gw, "read_payroll", &token).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(
        refused
            .header("www-authenticate")
            .starts_with("Bearer error=\"insufficient_scope\", scope=\"tools:read_payroll\""),
        "{}",
        refused.header("www-authenticate")
    );
    let event = gw.audit("acme").await.pop().unwrap().event;
    assert_eq!(
        (event.decision.as_str(), event.check.as_str()),
        ("block", "capability")
    );
    assert_eq!(
        event.reason,
        "access token lacks scope \"tools:read_payroll\""
    );
    let list = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}).to_string();
    let listed = gw.admin("POST", "/v1/mcp", Some(&token), Some(&list)).await;
    assert_eq!(
        listed.json()["result"]["tools"],
        json!([{"name": "read_invoice"}])
    );
    let everything = issuer.token("agent-7", "tools:*", json!({"org": "acme"}));
    let paid = call(&gw, "read_payroll", &everything).await;
    assert!(allowed(&paid), "{}", paid.text);
}

pub async fn the_policy_sees_the_verified_claims(backend: Backend) {
    let src = r#"package intentgate.policy
import rego.v1
default decision := {"allow": false, "reason": "finance only"}
decision := {"allow": true, "reason": "finance client"} if {
	input.oauth.claims.department == "finance"
	input.oauth.client_id == "agent-7-client"
	input.oauth.tenant == "acme"
	"tools:*" in input.oauth.scopes
	input.agent_id == "agent-7"
	not input.capability
}
"#;
    let (_f, path) = policy_file(src);
    let issuer = Issuer::start().await;
    let env = oauth_env(&issuer, &[("INTENTGATE_POLICY_FILE", &path)]);
    let gw = TestGateway::start(backend, &env).await;
    let finance = issuer.token(
        "agent-7",
        "tools:*",
        json!({"org": "acme", "department": "finance"}),
    );
    let sales = issuer.token(
        "agent-7",
        "tools:*",
        json!({"org": "acme", "department": "sales"}),
    );
    assert!(allowed(&call(&gw, "read_invoice", &finance).await));
    let denied = call(&gw, "read_invoice", &sales).await;
    assert_eq!(denied.json()["error"]["data"], "finance only");
}

pub async fn budgets_count_per_subject_across_tokens(backend: Backend) {
    let issuer = Issuer::start().await;
    let env = oauth_env(&issuer, &[("INTENTGATE_OAUTH_MAX_CALLS", "2")]);
    let gw = TestGateway::start(backend, &env).await;
    let first = issuer.token("agent-7", "tools:*", json!({"org": "acme"}));
    let second = issuer.token("agent-7", "tools:*", json!({"org": "acme"}));
    assert_ne!(first, second);
    assert!(allowed(&call(&gw, "read_invoice", &first).await));
    assert!(allowed(&call(&gw, "read_invoice", &second).await));
    let third = call(&gw, "read_invoice", &first).await;
    assert_eq!(third.json()["error"]["data"], "max_calls exceeded (3 > 2)");
    let other = issuer.token("agent-8", "tools:*", json!({"org": "acme"}));
    assert!(allowed(&call(&gw, "read_invoice", &other).await));
}

pub async fn metadata_readiness_and_key_rotation(backend: Backend) {
    let issuer = Issuer::start().await;
    let gw = TestGateway::start(backend, &oauth_env(&issuer, &[])).await;
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/v1/mcp",
    ] {
        let doc = gw.admin("GET", path, None, None).await;
        assert_eq!(doc.status, 200);
        assert_eq!(doc.json()["resource"], RESOURCE);
        assert_eq!(doc.json()["authorization_servers"], json!([issuer.url()]));
        assert_eq!(doc.json()["bearer_methods_supported"], json!(["header"]));
    }
    let token = issuer.token("agent-7", "tools:*", json!({}));
    assert!(allowed(&call(&gw, "read_invoice", &token).await));
    let ready = gw.admin("GET", "/readyz", None, None).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.json()["oauth_issuers"][0]["status"], "ready");
    assert_eq!(ready.json()["oauth_issuers"][0]["keys"], 1);
    // The issuer rotates to an EC key: the unknown kid makes the gateway fetch again,
    // once INTENTGATE_OAUTH_KEYS_MIN_INTERVAL_S (at least a second) has passed.
    issuer.jwks.lock().unwrap().push(jwk(EC_JWK, "ec-2"));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let ec = EncodingKey::from_ec_der(EC);
    let claims = json!({"iss": issuer.url(), "sub": "agent-7", "aud": RESOURCE, "exp": now() + 60, "scope": "tools:*"});
    let rotated = sign(&claims, &ec, Algorithm::ES256, "ec-2");
    assert!(allowed(&call(&gw, "read_invoice", &rotated).await));
    let anonymous = gw
        .admin("GET", "/.well-known/oauth-protected-resource", None, None)
        .await;
    assert_eq!(anonymous.json()["scopes_supported"], json!(["tools:*"]));
}

pub async fn an_unreachable_issuer_fails_closed(backend: Backend) {
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", gone.local_addr().unwrap());
    drop(gone);
    let env = [
        ("INTENTGATE_OAUTH_ISSUERS", url.as_str()),
        ("INTENTGATE_OAUTH_RESOURCE", RESOURCE),
        ("INTENTGATE_OAUTH_KEYS_MIN_INTERVAL_S", "1"),
    ];
    let gw = TestGateway::start(backend, &env).await;
    let claims =
        json!({"iss": url, "sub": "x", "aud": RESOURCE, "exp": now() + 60, "scope": "tools:*"});
    let token = sign(&claims, &rsa(), Algorithm::RS256, "rsa-1");
    // Without INTENTGATE_REQUIRE_CAPABILITY a call may come without a token; one that
    // brings a token nobody can check is still refused.
    let answer = call(&gw, "read_invoice", &token).await;
    assert_eq!(answer.status, 401, "{}", answer.text);
    let challenge = answer.header("www-authenticate");
    assert!(
        challenge.contains("signing keys of http://127.0.0.1:"),
        "{challenge}"
    );
    assert!(
        !challenge.contains("refused"),
        "fetch details stay in the log: {challenge}"
    );
    // Reported, not unready: capability tokens and anonymous calls are still served.
    let ready = gw.admin("GET", "/readyz", None, None).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.json()["oauth_issuers"][0]["status"], "unavailable");
    assert!(ready.json()["oauth_issuers"][0]["error"].is_string());
    let off = TestGateway::start(backend, &[]).await;
    let none = off
        .admin("GET", "/.well-known/oauth-protected-resource", None, None)
        .await;
    assert_eq!(none.status, 404);
}
