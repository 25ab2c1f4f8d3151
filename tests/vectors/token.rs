//! Capability token vectors, `reference-data-plane.md` §2.10.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use intentgate::domain::time::Timestamp;
use intentgate::domain::token::{
    CapabilityError, Caveat, MasterKey, Token, TokenClaims, attenuate, check_claims,
    check_structure, decode, mint, new_token_id, verify_offline, verify_signature,
};
use sha2::Sha256;

pub const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
pub const JTI: &str = "aCEawAECAwQFBgcICQoLDA";
pub const IAT: i64 = 1_747_000_000;

pub const V1_PAYLOAD: &str = r#"{"v":3,"jti":"aCEawAECAwQFBgcICQoLDA","root_jti":"aCEawAECAwQFBgcICQoLDA","iss":"intentgate","tenant":"default","sub":"agent-x","iat":1747000000}"#;
pub const V1_JSON: &str = r#"{"v":3,"jti":"aCEawAECAwQFBgcICQoLDA","root_jti":"aCEawAECAwQFBgcICQoLDA","iss":"intentgate","tenant":"default","sub":"agent-x","iat":1747000000,"cav":[{"t":"agent_lock","agent":"agent-x"},{"t":"exp","exp":1747003600},{"t":"tool_allow","tools":["read_invoice","record_in_ledger"]},{"t":"max_calls","max_calls":5}],"sig":"qmUAYpQXL36e4Fu1Y2dOMG0IWAcwAJ4OTD-jaOBWaMU"}"#;
pub const V1_ENCODED: &str = "eyJ2IjozLCJqdGkiOiJhQ0Vhd0FFQ0F3UUZCZ2NJQ1FvTERBIiwicm9vdF9qdGkiOiJhQ0Vhd0FFQ0F3UUZCZ2NJQ1FvTERBIiwiaXNzIjoiaW50ZW50Z2F0ZSIsInRlbmFudCI6ImRlZmF1bHQiLCJzdWIiOiJhZ2VudC14IiwiaWF0IjoxNzQ3MDAwMDAwLCJjYXYiOlt7InQiOiJhZ2VudF9sb2NrIiwiYWdlbnQiOiJhZ2VudC14In0seyJ0IjoiZXhwIiwiZXhwIjoxNzQ3MDAzNjAwfSx7InQiOiJ0b29sX2FsbG93IiwidG9vbHMiOlsicmVhZF9pbnZvaWNlIiwicmVjb3JkX2luX2xlZGdlciJdfSx7InQiOiJtYXhfY2FsbHMiLCJtYXhfY2FsbHMiOjV9XSwic2lnIjoicW1VQVlwUVhMMzZlNEZ1MVkyZE9NRzBJV0Fjd0FKNE9URC1qYU9CV2FNVSJ9";
pub const V2_ENCODED: &str = "eyJ2IjozLCJqdGkiOiJhQ0Vhd0FFQ0F3UUZCZ2NJQ1FvTERBIiwicm9vdF9qdGkiOiJhQ0Vhd0FFQ0F3UUZCZ2NJQ1FvTERBIiwiaXNzIjoiaW50ZW50Z2F0ZSIsInRlbmFudCI6ImRlZmF1bHQiLCJzdWIiOiJhZ2VudC14IiwiaWF0IjoxNzQ3MDAwMDAwLCJjYXYiOlt7InQiOiJhZ2VudF9sb2NrIiwiYWdlbnQiOiJhZ2VudC14In0seyJ0IjoiZXhwIiwiZXhwIjoxNzQ3MDAzNjAwfSx7InQiOiJ0b29sX2FsbG93IiwidG9vbHMiOlsicmVhZF9pbnZvaWNlIiwicmVjb3JkX2luX2xlZGdlciJdfSx7InQiOiJtYXhfY2FsbHMiLCJtYXhfY2FsbHMiOjV9LHsidCI6InRvb2xfZGVueSIsInRvb2xzIjpbInJlY29yZF9pbl9sZWRnZXIiXX1dLCJzaWciOiIwTlRKQ0VqcDFVS2lQMlI5LVRrSzJDckdUcm9oa2gxSzZSSTY3aU1ZWTRzIn0";
const V3_JSON: &str = r#"{"v":3,"jti":"aCEawAECAwQFBgcICQoLDA","root_jti":"aCEawAECAwQFBgcICQoLDA","iss":"intentgate","tenant":"acme","sub":"a\u003cb\u003e\u0026c","iat":1747000000,"nbf":1747000100,"cav":[{"t":"agent_lock","agent":"a\u003cb\u003e\u0026c"},{"t":"step_up","step_up_at":1747000050},{"t":"tool_allow"}],"sig":"2g7TZXM9y0e-539d7QZUuLiISeZ9UUKZ3NXZEnLMk6c"}"#;

pub fn key() -> MasterKey {
    MasterKey::parse(KEY_B64).unwrap()
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(secs)
}

fn hmac_hex(key: &[u8], msg: &str) -> (String, Vec<u8>) {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(msg.as_bytes());
    let out = mac.finalize().into_bytes().to_vec();
    (hex::encode(&out), out)
}

fn tools(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

pub fn vector1() -> Token {
    let req = TokenClaims {
        subject: "agent-x".into(),
        expires_at: Some(at(1_747_003_600)),
        caveats: vec![
            Caveat::tool_allow(tools(&["read_invoice", "record_in_ledger"])),
            Caveat::max_calls(5),
        ],
        ..TokenClaims::default()
    };
    mint(&key(), req, JTI.into(), at(IAT))
}

#[test]
fn jti_layout_matches_vector() {
    let random: [u8; 12] = std::array::from_fn(|i| i as u8 + 1);
    assert_eq!(new_token_id(at(IAT), random), JTI);
}

#[test]
fn vector1_chain_links_match() {
    let token = vector1();
    assert_eq!(token.canonical_payload(), V1_PAYLOAD);
    let cavs = [
        r#"{"t":"agent_lock","agent":"agent-x"}"#,
        r#"{"t":"exp","exp":1747003600}"#,
        r#"{"t":"tool_allow","tools":["read_invoice","record_in_ledger"]}"#,
        r#"{"t":"max_calls","max_calls":5}"#,
    ];
    let links = [
        "1df58460a61828f8afcfd59cacecaa70c8ca637671b83753ab5adbe8e4c74f2a",
        "b4032679377fc83c72607536c910a3c91e196b6f570950c3bbec747d4e1bc254",
        "972da21f9cb0bd811ddbd1437aa702726d7d36cb5ba2f8f1da8627c188b94f6d",
        "23e21f6195f2c373ee1ce4f0206a7c105dba5baaf7a28c2f1e27fceaa2eb850e",
        "aa65006294172f7e9ee05bb563674e306d08580730009e0e4c3fa368e05668c5",
    ];
    let (hex0, mut link) = hmac_hex(key().as_bytes(), V1_PAYLOAD);
    assert_eq!(hex0, links[0]);
    for (i, cav) in cavs.iter().enumerate() {
        assert_eq!(token.cav[i].canonical_json(), *cav);
        let (h, next) = hmac_hex(&link, cav);
        assert_eq!(h, links[i + 1], "s{}", i + 1);
        link = next;
    }
    assert_eq!(token.sig, "qmUAYpQXL36e4Fu1Y2dOMG0IWAcwAJ4OTD-jaOBWaMU");
}

#[test]
fn vector1_encodes_byte_for_byte() {
    let token = vector1();
    assert_eq!(token.to_json(), V1_JSON);
    assert_eq!(token.encode(), V1_ENCODED);
    assert_eq!(V1_ENCODED.len(), 488);
    assert_eq!(decode(V1_ENCODED).unwrap(), token);
}

#[test]
fn vector1_checks() {
    let ok = verify_offline(V1_ENCODED, &key(), at(1_747_001_000), "read_invoice");
    assert_eq!(ok.map(|t| t.sub), Ok("agent-x".to_owned()));
    let denied = verify_offline(V1_ENCODED, &key(), at(1_747_001_000), "send_email");
    assert_eq!(
        denied.unwrap_err().to_string(),
        r#"caveat 2 (tool_allow): tool "send_email" not in allowed set"#
    );
    let expired = verify_offline(V1_ENCODED, &key(), at(1_747_003_600), "read_invoice");
    assert_eq!(expired.unwrap_err().to_string(), "caveat 1 (exp): expired");
    let just_before = verify_offline(V1_ENCODED, &key(), at(1_747_003_599), "read_invoice");
    assert!(just_before.is_ok());
}

#[test]
fn vector2_attenuated_child() {
    let child = attenuate(&vector1(), Caveat::tool_deny(tools(&["record_in_ledger"]))).unwrap();
    assert_eq!(child.sig, "0NTJCEjp1UKiP2R9-TkK2CrGTrohkh1K6RI67iMYY4s");
    assert_eq!((child.jti.as_str(), child.root_jti.as_str()), (JTI, JTI));
    assert_eq!(child.encode(), V2_ENCODED);
    assert_eq!(V2_ENCODED.len(), 551);
    let denied = verify_offline(V2_ENCODED, &key(), at(1_747_001_000), "record_in_ledger");
    assert_eq!(
        denied.unwrap_err().to_string(),
        r#"caveat 4 (tool_deny): tool "record_in_ledger" is forbidden"#
    );
    assert!(verify_offline(V2_ENCODED, &key(), at(1_747_001_000), "read_invoice").is_ok());
}

#[test]
fn vector3_escaping_nbf_step_up_and_empty_tool_list() {
    let req = TokenClaims {
        subject: "a<b>&c".into(),
        tenant: "acme".into(),
        not_before: Some(at(1_747_000_100)),
        caveats: vec![Caveat::step_up(1_747_000_050), Caveat::tool_allow(vec![])],
        ..TokenClaims::default()
    };
    let token = mint(&key(), req, JTI.into(), at(IAT));
    assert_eq!(token.to_json(), V3_JSON);
    assert_eq!(token.step_up_at(), Some(1_747_000_050));
    let encoded = token.encode();
    let early = verify_offline(&encoded, &key(), at(1_747_000_099), "read_invoice");
    assert_eq!(early, Err(CapabilityError::NotYetValid));
    let denied = verify_offline(&encoded, &key(), at(1_747_000_100), "read_invoice");
    assert_eq!(
        denied.unwrap_err().to_string(),
        r#"caveat 2 (tool_allow): tool "read_invoice" not in allowed set"#
    );
}

/// Vector 1 with one change, re-signed under the vector key.
fn resigned(change: impl FnOnce(&mut Token)) -> Token {
    let mut token = vector1();
    change(&mut token);
    let cavs = std::mem::take(&mut token.cav);
    let (_, mut link) = hmac_hex(key().as_bytes(), &token.canonical_payload());
    for cav in &cavs {
        link = hmac_hex(&link, &cav.canonical_json()).1;
    }
    token.cav = cavs;
    token.sig = URL_SAFE_NO_PAD.encode(link);
    token
}

fn structure_error(change: impl FnOnce(&mut Token)) -> String {
    let token = decode(&resigned(change).encode()).unwrap();
    check_structure(&token).unwrap_err().to_string()
}

#[test]
fn negative_structure_vectors() {
    assert_eq!(structure_error(|t| t.v = 2), "unknown token schema version");
    assert_eq!(
        structure_error(|t| t.root_jti.clear()),
        "token root id (root_jti) is required"
    );
    assert_eq!(
        structure_error(|t| t.tenant.clear()),
        "token tenant is required"
    );
    assert_eq!(
        structure_error(|t| t.sub.clear()),
        "token subject (sub) is required"
    );
    assert_eq!(
        structure_error(|t| t.iat = 0),
        "token issued-at (iat) is required"
    );
    assert_eq!(
        structure_error(|t| t.jti.clear()),
        "token id (jti) is required"
    );
}

#[test]
fn negative_signature_vectors() {
    let mut padded = vector1();
    padded.sig.push('=');
    assert_eq!(
        verify_signature(&decode(&padded.encode()).unwrap(), &key()),
        Err(CapabilityError::SignatureNotBase64)
    );
    let mut zeros = vector1();
    zeros.sig = URL_SAFE_NO_PAD.encode([0u8; 32]);
    assert_eq!(
        verify_signature(&decode(&zeros.encode()).unwrap(), &key()),
        Err(CapabilityError::SignatureMismatch)
    );
    let resigned_ok = resigned(|_| {});
    assert_eq!(resigned_ok.sig, vector1().sig);
}

#[test]
fn negative_encoding_vectors() {
    let now = at(1_747_001_000);
    let check = |s: &str| {
        verify_offline(s, &key(), now, "read_invoice")
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        check(&format!("{V1_ENCODED}X")),
        "token is not valid base64url"
    );
    let padded = format!("{V2_ENCODED}=");
    assert_eq!(padded.len() % 4, 0, "a correctly padded encoding");
    assert_eq!(check(&padded), "token is not valid base64url");
    assert_eq!(check(""), "token JSON is malformed");
}

#[test]
fn lenient_wire_form_still_verifies() {
    // Reordered members, an unknown member and an upper-case key: the MAC covers the
    // re-serialized fields, so this is still vector 1.
    let json = r#"{"SIG":"qmUAYpQXL36e4Fu1Y2dOMG0IWAcwAJ4OTD-jaOBWaMU","cav":[{"agent":"agent-x","t":"agent_lock","x":1},{"t":"exp","exp":1747003600},{"t":"tool_allow","tools":["read_invoice","record_in_ledger"]},{"t":"max_calls","max_calls":5}],"iat":1747000000,"sub":"agent-x","tenant":"default","iss":"intentgate","root_jti":"aCEawAECAwQFBgcICQoLDA","jti":"aCEawAECAwQFBgcICQoLDA","v":3,"extra":{"a":[1,2]}}"#;
    let encoded = URL_SAFE_NO_PAD.encode(json);
    assert!(verify_offline(&encoded, &key(), at(1_747_001_000), "read_invoice").is_ok());
}

#[test]
fn wrong_key_is_a_mismatch_and_claims_need_a_valid_token() {
    let other = MasterKey::from_bytes(vec![7; 32]).unwrap();
    assert_eq!(
        verify_offline(V1_ENCODED, &other, at(1_747_001_000), "read_invoice"),
        Err(CapabilityError::SignatureMismatch)
    );
    let token = decode(V1_ENCODED).unwrap();
    assert!(check_claims(&token, at(1_747_001_000), "read_invoice").is_ok());
}

#[test]
fn agent_lock_and_unknown_caveats() {
    let mut locked = vector1();
    locked.cav[0].agent = "someone-else".into();
    let err = check_claims(&locked, at(1_747_001_000), "read_invoice").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"caveat 0 (agent_lock): token bound to "someone-else", request from "agent-x""#
    );
    let mut unknown = vector1();
    unknown.cav.push(Caveat {
        t: "nbf".into(),
        ..Caveat::default()
    });
    let err = check_claims(&unknown, at(1_747_001_000), "read_invoice").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"caveat 4 (nbf): unknown caveat type "nbf" (deny by default)"#
    );
    let mut neg = vector1();
    neg.cav.push(Caveat::step_up(-1));
    let err = check_claims(&neg, at(1_747_001_000), "read_invoice").unwrap_err();
    assert_eq!(
        err.to_string(),
        "caveat 4 (step_up): step_up caveat has negative step_up_at value"
    );
    let mut no_exp = vector1();
    no_exp.cav[1].exp = 0;
    let err = check_claims(&no_exp, at(1_747_001_000), "read_invoice").unwrap_err();
    assert_eq!(
        err.to_string(),
        "caveat 1 (exp): expiry caveat missing exp value"
    );
}

#[test]
fn call_limits_keep_chain_order() {
    let mut token = vector1();
    token.cav.push(Caveat::max_calls(1));
    token.cav.push(Caveat::max_calls(0));
    assert_eq!(token.call_limits(), vec![5, 1]);
}
