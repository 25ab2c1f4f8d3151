//! Token decoding and verification: any text an `Authorization` header can carry.
//! Whatever decodes must re-encode to a token that decodes to the same claims, and
//! verification must answer (never panic) under the reference key.
#![no_main]

use intentgate::domain::token::{MasterKey, check_structure, decode, verify_signature};
use libfuzzer_sys::fuzz_target;

const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(token) = decode(text) else {
        return;
    };
    let again = decode(&token.encode()).expect("a decoded token re-encodes to a decodable one");
    assert_eq!(again, token, "decode(encode(t)) == t");
    if check_structure(&token).is_ok() {
        let key = MasterKey::parse(KEY_B64).expect("the reference key parses");
        let _ = verify_signature(&token, &key);
    }
});
