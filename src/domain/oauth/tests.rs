use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::claims::verify;
use super::*;
use crate::domain::time::Timestamp;

const RSA: &[u8] = include_bytes!("../../../tests/fixtures/oauth/rsa.der");
const EC: &[u8] = include_bytes!("../../../tests/fixtures/oauth/ec256.der");
const ED: &[u8] = include_bytes!("../../../tests/fixtures/oauth/ed25519.der");
const EC_JWK: &str = include_str!("../../../tests/fixtures/oauth/ec256.jwk.json");
const ED_JWK: &str = include_str!("../../../tests/fixtures/oauth/ed25519.jwk.json");
const ISS: &str = "https://as.example";
const RESOURCE: &str = "https://gw.example/v1/mcp";
const NOW: i64 = 1_800_000_000;

fn rules() -> AccessRules {
    AccessRules {
        resource: RESOURCE.into(),
        issuers: vec![TrustedIssuer {
            issuer: ISS.into(),
            tenant: None,
        }],
        tenant_claim: Some("tenant".into()),
        default_tenant: "default".into(),
        tool_scopes: true,
        algorithms: DEFAULT_ALGORITHMS.to_vec(),
        leeway_secs: 0,
        max_calls: Some(7),
    }
}

fn rsa() -> EncodingKey {
    EncodingKey::from_rsa_der(RSA)
}

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    serde_json::to_value(jwk).unwrap()
}

/// A public JWK written by Node's crypto from the same PEM (jsonwebtoken derives RSA
/// ones only).
fn fixture_jwk(text: &str, kid: &str) -> Value {
    let mut jwk: Value = serde_json::from_str(text).unwrap();
    jwk["kid"] = json!(kid);
    jwk
}

fn keys(entries: Vec<Value>) -> IssuerKeys {
    IssuerKeys::from_jwks(&json!({ "keys": entries })).unwrap()
}

fn claims() -> Value {
    json!({
        "iss": ISS, "sub": "agent-7", "aud": RESOURCE, "client_id": "cli-1",
        "exp": NOW + 60, "iat": NOW - 1, "jti": "tok-1", "scope": "openid tools:echo tools:add",
        "tenant": "acme"
    })
}

fn sign(claims: &Value, key: &EncodingKey, alg: Algorithm, kid: Option<&str>) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn check(jwt: &str, keys: &IssuerKeys) -> Result<AccessToken, AccessTokenError> {
    verify(jwt, keys, &rules(), Timestamp::from_unix_seconds(NOW))
}

#[test]
fn a_token_for_this_resource_names_its_caller_and_tools() {
    let set = keys(vec![jwk(&rsa(), Algorithm::RS256, "k1")]);
    let token = check(&sign(&claims(), &rsa(), Algorithm::RS256, Some("k1")), &set).unwrap();
    assert_eq!(token.issuer, ISS);
    assert_eq!(token.subject, "agent-7");
    assert_eq!(token.client_id, "cli-1");
    assert_eq!(token.tenant, "acme");
    assert_eq!(token.token_id, "tok-1");
    assert_eq!(token.max_calls, Some(7));
    assert!(token.allows_tool("echo") && token.allows_tool("add"));
    assert!(!token.allows_tool("delete"));
    assert_eq!(token.claims["scope"], "openid tools:echo tools:add");
}

#[test]
fn ec_and_eddsa_keys_verify_too() {
    let ec = EncodingKey::from_ec_der(EC);
    let ed = EncodingKey::from_ed_der(ED);
    let set = keys(vec![fixture_jwk(EC_JWK, "ec"), fixture_jwk(ED_JWK, "ed")]);
    check(&sign(&claims(), &ec, Algorithm::ES256, Some("ec")), &set).unwrap();
    check(&sign(&claims(), &ed, Algorithm::EdDSA, Some("ed")), &set).unwrap();
}

#[test]
fn another_audience_is_refused() {
    let set = keys(vec![jwk(&rsa(), Algorithm::RS256, "k1")]);
    for aud in [json!("https://other.example/mcp"), json!(["a", "b"])] {
        let mut c = claims();
        c["aud"] = aud;
        let err = check(&sign(&c, &rsa(), Algorithm::RS256, Some("k1")), &set).unwrap_err();
        assert_eq!(err, AccessTokenError::Audience(RESOURCE.into()));
    }
    let mut c = claims();
    c["aud"] = json!(["https://other.example", RESOURCE]);
    check(&sign(&c, &rsa(), Algorithm::RS256, Some("k1")), &set).unwrap();
    c.as_object_mut().unwrap().remove("aud");
    let err = check(&sign(&c, &rsa(), Algorithm::RS256, Some("k1")), &set).unwrap_err();
    assert_eq!(err, AccessTokenError::Claim("aud"));
}

#[test]
fn time_claims_are_checked_against_the_time_given() {
    let set = keys(vec![jwk(&rsa(), Algorithm::RS256, "k1")]);
    let mut c = claims();
    c["exp"] = json!(NOW - 1);
    let jwt = sign(&c, &rsa(), Algorithm::RS256, Some("k1"));
    assert_eq!(check(&jwt, &set).unwrap_err(), AccessTokenError::Expired);
    let earlier = Timestamp::from_unix_seconds(NOW - 2);
    assert!(verify(&jwt, &set, &rules(), earlier).is_ok());
    let mut c = claims();
    c["nbf"] = json!(NOW + 5);
    let jwt = sign(&c, &rsa(), Algorithm::RS256, Some("k1"));
    assert_eq!(
        check(&jwt, &set).unwrap_err(),
        AccessTokenError::NotYetValid
    );
    c.as_object_mut().unwrap().remove("nbf");
    c.as_object_mut().unwrap().remove("exp");
    let jwt = sign(&c, &rsa(), Algorithm::RS256, Some("k1"));
    assert_eq!(
        check(&jwt, &set).unwrap_err(),
        AccessTokenError::Claim("exp")
    );
}

#[test]
fn untrusted_issuers_unknown_keys_and_tampering_are_refused() {
    let set = keys(vec![jwk(&rsa(), Algorithm::RS256, "k1")]);
    let mut c = claims();
    c["iss"] = json!("https://evil.example");
    let err = check(&sign(&c, &rsa(), Algorithm::RS256, Some("k1")), &set).unwrap_err();
    assert_eq!(
        err,
        AccessTokenError::UntrustedIssuer("https://evil.example".into())
    );
    let err = check(&sign(&claims(), &rsa(), Algorithm::RS256, Some("k2")), &set).unwrap_err();
    assert!(matches!(err, AccessTokenError::UnknownKey { kid, .. } if kid == "k2"));
    // Another subject spliced into a signed token.
    let jwt = sign(&claims(), &rsa(), Algorithm::RS256, Some("k1"));
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let mut forged = claims();
    forged["sub"] = json!("root");
    parts[1] = sign(&forged, &rsa(), Algorithm::RS256, Some("k1"))
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let err = check(&parts.join("."), &set).unwrap_err();
    assert_eq!(err, AccessTokenError::Signature);
}

#[test]
fn hmac_and_none_are_never_accepted() {
    // The classic confusion: HS256 keyed with the issuer's public key material.
    let public = jwk(&rsa(), Algorithm::RS256, "k1");
    let set = keys(vec![public.clone()]);
    let n = public["n"].as_str().unwrap().as_bytes().to_vec();
    let forged = sign(
        &claims(),
        &EncodingKey::from_secret(&n),
        Algorithm::HS256,
        Some("k1"),
    );
    assert_eq!(
        check(&forged, &set).unwrap_err(),
        AccessTokenError::Algorithm("HS256".into())
    );
    // A symmetric key in the JWKS is never used, even if HS256 were allowed.
    let oct = json!({"kty": "oct", "kid": "s", "k": "c2VjcmV0"});
    let with_oct = keys(vec![oct]);
    assert!(with_oct.is_empty());
    assert_eq!(with_oct.skipped, 1);
    let header = r#"{"alg":"none","typ":"JWT"}"#;
    let b64 =
        |s: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s);
    let none = format!("{}.{}.", b64(header), b64(&claims().to_string()));
    assert!(check(&none, &set).is_err());
    assert!(parse_algorithm("HS256").is_err());
    assert!(parse_algorithm("none").is_err());
    assert_eq!(parse_algorithm("ES256"), Ok(Algorithm::ES256));
}

#[test]
fn a_key_published_for_one_algorithm_verifies_no_other() {
    let mut entry = jwk(&rsa(), Algorithm::RS256, "k1");
    entry["alg"] = json!("PS256");
    let set = keys(vec![entry]);
    let err = check(&sign(&claims(), &rsa(), Algorithm::RS256, Some("k1")), &set).unwrap_err();
    assert!(matches!(err, AccessTokenError::UnknownKey { .. }));
}

#[test]
fn tenants_come_from_the_issuer_then_the_claim_then_the_default() {
    let set = keys(vec![jwk(&rsa(), Algorithm::RS256, "k1")]);
    let mut c = claims();
    c.as_object_mut().unwrap().remove("tenant");
    let jwt = sign(&c, &rsa(), Algorithm::RS256, Some("k1"));
    assert_eq!(check(&jwt, &set).unwrap().tenant, "default");
    let mut pinned = rules();
    pinned.issuers[0].tenant = Some("pinned".into());
    let jwt = sign(&claims(), &rsa(), Algorithm::RS256, Some("k1"));
    let now = Timestamp::from_unix_seconds(NOW);
    assert_eq!(verify(&jwt, &set, &pinned, now).unwrap().tenant, "pinned");
    for bad in [
        json!(42),
        json!(""),
        json!("acme\u{0}x"),
        json!("a/b"),
        json!("x".repeat(65)),
    ] {
        let mut c = claims();
        c["tenant"] = bad;
        let jwt = sign(&c, &rsa(), Algorithm::RS256, Some("k1"));
        assert_eq!(
            check(&jwt, &set).unwrap_err(),
            AccessTokenError::Claim("tenant")
        );
    }
}

#[test]
fn scopes_open_tools_unless_the_policy_decides() {
    let set = keys(vec![jwk(&rsa(), Algorithm::RS256, "k1")]);
    let mut c = claims();
    c["scope"] = json!("tools:*");
    let all = check(&sign(&c, &rsa(), Algorithm::RS256, Some("k1")), &set).unwrap();
    assert!(all.allows_tool("anything"));
    c.as_object_mut().unwrap().remove("scope");
    c["scp"] = json!(["tools:echo"]);
    let listed = check(&sign(&c, &rsa(), Algorithm::RS256, Some("k1")), &set).unwrap();
    assert!(listed.allows_tool("echo") && !listed.allows_tool("add"));
    let mut by_policy = rules();
    by_policy.tool_scopes = false;
    c.as_object_mut().unwrap().remove("scp");
    let jwt = sign(&c, &rsa(), Algorithm::RS256, Some("k1"));
    let now = Timestamp::from_unix_seconds(NOW);
    let token = verify(&jwt, &set, &by_policy, now).unwrap();
    assert_eq!(token.tools, ToolGrant::ByPolicy);
    assert!(token.allows_tool("add"));
}

#[test]
fn jwks_without_kid_serve_a_token_without_kid_only_when_one_key_fits() {
    let mut entry = jwk(&rsa(), Algorithm::RS256, "k1");
    entry.as_object_mut().unwrap().remove("kid");
    let set = keys(vec![entry.clone()]);
    check(&sign(&claims(), &rsa(), Algorithm::RS256, None), &set).unwrap();
    let two = keys(vec![entry.clone(), entry]);
    let err = check(&sign(&claims(), &rsa(), Algorithm::RS256, None), &two).unwrap_err();
    assert!(matches!(err, AccessTokenError::UnknownKey { .. }));
    let parsed: JwkSet = serde_json::from_value(json!({"keys": []})).unwrap();
    assert!(parsed.keys.is_empty());
    assert!(IssuerKeys::from_jwks(&json!({"nokeys": 1})).is_err());
}

#[test]
fn challenges_name_the_metadata_and_the_scope() {
    let resource = ProtectedResource::of(&rules());
    assert_eq!(
        metadata_url(RESOURCE),
        "https://gw.example/.well-known/oauth-protected-resource/v1/mcp"
    );
    assert_eq!(
        metadata_url("http://127.0.0.1:8080"),
        "http://127.0.0.1:8080/.well-known/oauth-protected-resource"
    );
    assert_eq!(
        resource.challenge_header(&Challenge::Missing),
        "Bearer resource_metadata=\"https://gw.example/.well-known/oauth-protected-resource/v1/mcp\", scope=\"tools:*\""
    );
    let invalid = resource.challenge_header(&Challenge::InvalidToken("bad \"sig\"\n".into()));
    assert!(
        invalid.starts_with("Bearer error=\"invalid_token\", error_description=\"bad 'sig'?\"")
    );
    let scope = resource.challenge_header(&Challenge::InsufficientScope("tools:rm".into()));
    assert!(scope.starts_with("Bearer error=\"insufficient_scope\", scope=\"tools:rm\""));
    let doc = resource.to_json();
    assert_eq!(doc["resource"], RESOURCE);
    assert_eq!(doc["authorization_servers"], json!([ISS]));
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    assert_eq!(doc["scopes_supported"], json!(["tools:*"]));
}

#[test]
fn jwts_and_capability_tokens_are_told_apart() {
    assert!(looks_like_jwt("a.b.c"));
    assert!(!looks_like_jwt("eyJ2IjozfQ"));
    assert!(!looks_like_jwt("a.b"));
}

#[test]
fn keys_come_over_tls_or_from_this_machine() {
    for ok in [
        "https://login.example/realms/a",
        "http://127.0.0.1:4100",
        "http://localhost:8080/jwks",
        "http://[::1]:9000/keys",
    ] {
        assert!(fetchable(ok), "{ok}");
    }
    for bad in [
        "http://login.example",
        "http://127.0.0.1.evil.example/jwks",
        "http://10.0.0.1/keys",
        "ftp://127.0.0.1/keys",
    ] {
        assert!(!fetchable(bad), "{bad}");
    }
}

#[test]
fn sender_constrained_tokens_are_refused() {
    let set = keys(vec![jwk(&rsa(), Algorithm::RS256, "k1")]);
    let mut c = claims();
    c["cnf"] = json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"});
    let err = check(&sign(&c, &rsa(), Algorithm::RS256, Some("k1")), &set).unwrap_err();
    assert_eq!(err, AccessTokenError::SenderConstrained);
}

#[test]
fn values_the_token_chose_are_clipped_in_refusals() {
    let set = keys(vec![jwk(&rsa(), Algorithm::RS256, "k1")]);
    let long = "k".repeat(500);
    let err = check(
        &sign(&claims(), &rsa(), Algorithm::RS256, Some(&long)),
        &set,
    )
    .unwrap_err();
    assert!(
        matches!(&err, AccessTokenError::UnknownKey { kid, .. } if kid.len() == 64),
        "{err}"
    );
}
