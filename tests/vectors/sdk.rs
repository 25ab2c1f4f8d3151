//! Tokens attenuated by the Python SDK's algorithm (an independent implementation in
//! `tests/fixtures/sdk_attenuate.py`) verify here.

use std::process::Command;

use intentgate::domain::time::Timestamp;
use intentgate::domain::token::{Caveat, MasterKey, TokenClaims, decode, mint, verify_offline};

use super::token::{JTI, V1_ENCODED, key};

fn sdk_attenuate(token: &str, caveat_json: &str) -> String {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sdk_attenuate.py"
    );
    let out = Command::new("python3")
        .args([script, token, caveat_json])
        .output()
        .expect("python3 is needed for the SDK cross-check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn sdk_child_of_vector1_is_vector2_and_verifies() {
    let child = sdk_attenuate(
        V1_ENCODED,
        r#"{"t":"tool_deny","tools":["record_in_ledger"]}"#,
    );
    let decoded = decode(&child).unwrap();
    assert_eq!(decoded.sig, "0NTJCEjp1UKiP2R9-TkK2CrGTrohkh1K6RI67iMYY4s");
    let now = Timestamp::from_unix_seconds(1_747_001_000);
    assert!(verify_offline(&child, &key(), now, "read_invoice").is_ok());
    let denied = verify_offline(&child, &key(), now, "record_in_ledger").unwrap_err();
    assert_eq!(
        denied.to_string(),
        r#"caveat 4 (tool_deny): tool "record_in_ledger" is forbidden"#
    );
}

#[test]
fn sdk_chain_of_two_hops_with_unicode_and_html_characters() {
    let now = Timestamp::from_unix_seconds(1_747_001_000);
    let req = TokenClaims {
        subject: "agent <é>".into(),
        tenant: "acme".into(),
        caveats: vec![Caveat::tool_allow(vec![
            "café".into(),
            "a&b".into(),
            "x".into(),
        ])],
        ..TokenClaims::default()
    };
    let root = mint(
        &key(),
        req,
        JTI.into(),
        Timestamp::from_unix_seconds(1_747_000_000),
    );
    let hop1 = sdk_attenuate(&root.encode(), r#"{"t":"tool_deny","tools":["x"]}"#);
    let hop2 = sdk_attenuate(&hop1, r#"{"t":"exp","exp":1747003600}"#);
    let token = verify_offline(&hop2, &key(), now, "café").unwrap();
    assert_eq!(token.cav.len(), 4);
    assert!(verify_offline(&hop2, &key(), now, "a&b").is_ok());
    assert!(verify_offline(&hop2, &key(), now, "x").is_err());
    let later = Timestamp::from_unix_seconds(1_747_003_600);
    assert_eq!(
        verify_offline(&hop2, &key(), later, "café")
            .unwrap_err()
            .to_string(),
        "caveat 3 (exp): expired"
    );
    let other = MasterKey::from_bytes(vec![9; 32]).unwrap();
    assert!(verify_offline(&hop2, &other, now, "café").is_err());
}
