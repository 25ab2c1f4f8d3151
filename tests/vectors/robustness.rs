//! Bad input never panics: the token decoder and the Go JSON writer over 100k
//! generated cases each (run with `cargo test --test vectors robustness`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use intentgate::domain::gojson::{go_lossy_utf8, write_bytes_as_str, write_str};
use intentgate::domain::time::Timestamp;
use intentgate::domain::token::{check_claims, check_structure, decode, verify_signature};
use proptest::prelude::*;

use super::token::key;

const CASES: u32 = 100_000;

/// JSON-shaped text that often parses and often hits type errors.
fn tokenish_json() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("v"),
        Just("jti"),
        Just("root_jti"),
        Just("iss"),
        Just("TENANT"),
        Just("sub"),
        Just("iat"),
        Just("nbf"),
        Just("cav"),
        Just("sig"),
        Just("x"),
    ];
    let scalar = prop_oneof![
        Just("3".to_owned()),
        Just("null".to_owned()),
        Just("1.5".to_owned()),
        Just("-9223372036854775809".to_owned()),
        "\"[a-z<>&\\\\\u{e9}]{0,6}\"",
        Just("[{\"t\":\"exp\",\"exp\":1},null]".to_owned()),
        Just("{}".to_owned()),
        Just("[\"a\",null]".to_owned()),
    ];
    prop::collection::vec((key, scalar), 0..10).prop_map(|members| {
        let body: Vec<String> = members
            .iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        format!("{{{}}}", body.join(","))
    })
}

fn run_all_checks(encoded: &str) {
    if let Ok(token) = decode(encoded) {
        let _ = check_structure(&token);
        let _ = verify_signature(&token, &key());
        let _ = check_claims(&token, Timestamp::from_unix_seconds(1_747_001_000), "t");
        let _ = token.encode();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn decoder_survives_arbitrary_text(s in "\\PC{0,64}") {
        run_all_checks(&s);
    }

    #[test]
    fn decoder_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        run_all_checks(&URL_SAFE_NO_PAD.encode(bytes));
    }

    #[test]
    fn decoder_survives_tokenish_json(json in tokenish_json()) {
        run_all_checks(&URL_SAFE_NO_PAD.encode(json));
    }

    #[test]
    fn string_writer_round_trips_and_escapes_html(s in "\\PC{0,48}|[\u{0}-\u{1f}<>&\u{2028}\u{2029}\"\\\\]{0,16}") {
        let mut out = String::new();
        write_str(&mut out, &s);
        prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        let unescaped = out.chars().any(|c| matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') || (c as u32) < 0x20);
        prop_assert!(!unescaped, "unescaped character in {}", out);
    }

    #[test]
    fn byte_writer_replaces_invalid_utf8(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut out = String::new();
        write_bytes_as_str(&mut out, &bytes);
        let parsed: String = serde_json::from_str(&out).unwrap();
        prop_assert_eq!(parsed, go_lossy_utf8(&bytes).into_owned());
    }
}
