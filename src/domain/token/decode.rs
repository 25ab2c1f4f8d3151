//! Token decoding with the reference's tolerance (Go `encoding/json` into a struct):
//! keys match case-insensitively, unknown members are ignored, a later duplicate key
//! wins, `null` leaves a field as it was, integers reject fractions and exponents.
//! Members are applied in wire order, as Go's decoder does.

use std::fmt;

use base64::Engine as _;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::{B64, CapabilityError, Caveat, Token};
use crate::domain::gojson::{fold_key, go_json_text};

/// Decodes the wire form. Only the encoding is checked here; see
/// [`super::check_structure`] and [`super::verify_signature`] for the rest.
pub fn decode(encoded: &str) -> Result<Token, CapabilityError> {
    // Go's base64 decoder skips CR and LF anywhere in the input.
    let bytes = if encoded.contains(['\r', '\n']) {
        let cleaned: String = encoded
            .chars()
            .filter(|c| *c != '\r' && *c != '\n')
            .collect();
        B64.decode(cleaned.as_bytes())
    } else {
        B64.decode(encoded.as_bytes())
    };
    let bytes = bytes.map_err(|_| CapabilityError::NotBase64)?;
    let text = go_json_text(&bytes);
    serde_json::from_str::<GoToken>(&text)
        .map(|t| t.0)
        .map_err(|_| CapabilityError::MalformedJson)
}

/// Reads the next value as `Option<T>` and assigns it unless it was `null`.
fn set<'de, A: MapAccess<'de>, T: de::Deserialize<'de>>(
    map: &mut A,
    slot: &mut T,
) -> Result<(), A::Error> {
    if let Some(v) = map.next_value::<Option<T>>()? {
        *slot = v;
    }
    Ok(())
}

struct GoToken(Token);

impl<'de> de::Deserialize<'de> for GoToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TokenVisitor).map(GoToken)
    }
}

struct TokenVisitor;

impl<'de> Visitor<'de> for TokenVisitor {
    type Value = Token;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a token object")
    }

    /// Go unmarshals `null` into a struct as a no-op: all fields stay zero.
    fn visit_unit<E: de::Error>(self) -> Result<Token, E> {
        Ok(Token::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Token, A::Error> {
        let mut t = Token::default();
        while let Some(key) = map.next_key::<String>()? {
            match fold_key(&key).as_str() {
                "v" => set(&mut map, &mut t.v)?,
                "jti" => set(&mut map, &mut t.jti)?,
                "root_jti" => set(&mut map, &mut t.root_jti)?,
                "iss" => set(&mut map, &mut t.iss)?,
                "tenant" => set(&mut map, &mut t.tenant)?,
                "sub" => set(&mut map, &mut t.sub)?,
                "iat" => set(&mut map, &mut t.iat)?,
                "nbf" => set(&mut map, &mut t.nbf)?,
                "cav" => {
                    if let Some(list) = map.next_value::<Option<Vec<GoCaveat>>>()? {
                        t.cav = list.into_iter().map(|c| c.0).collect();
                    }
                }
                "sig" => set(&mut map, &mut t.sig)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(t)
    }
}

struct GoCaveat(Caveat);

impl<'de> de::Deserialize<'de> for GoCaveat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CaveatVisitor).map(GoCaveat)
    }
}

struct CaveatVisitor;

impl<'de> Visitor<'de> for CaveatVisitor {
    type Value = Caveat;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a caveat object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Caveat, E> {
        Ok(Caveat::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Caveat, A::Error> {
        let mut c = Caveat::default();
        while let Some(key) = map.next_key::<String>()? {
            match fold_key(&key).as_str() {
                "t" => set(&mut map, &mut c.t)?,
                "tools" => {
                    // A `null` inside the list decodes to Go's zero string.
                    if let Some(tools) = map.next_value::<Option<Vec<Option<String>>>>()? {
                        c.tools = tools.into_iter().map(Option::unwrap_or_default).collect();
                    }
                }
                "agent" => set(&mut map, &mut c.agent)?,
                "exp" => set(&mut map, &mut c.exp)?,
                "max_calls" => set(&mut map, &mut c.max_calls)?,
                "step_up_at" => set(&mut map, &mut c.step_up_at)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(json: &str) -> String {
        B64.encode(json)
    }

    #[test]
    fn keys_fold_and_last_duplicate_wins() {
        let t = decode(&enc(
            r#"{"SUB":"a","Sub":"b","ſub":"c","extra":[1,{"x":2}],"v":3}"#,
        ))
        .unwrap();
        assert_eq!(t.sub, "c");
        assert_eq!(t.v, 3);
    }

    #[test]
    fn null_leaves_previous_value() {
        let t = decode(&enc(
            r#"{"sub":"a","sub":null,"cav":[null,{"T":"exp","EXP":5}]}"#,
        ))
        .unwrap();
        assert_eq!(t.sub, "a");
        assert_eq!(t.cav, vec![Caveat::default(), Caveat::expires_at(5)]);
    }

    #[test]
    fn top_level_null_is_an_empty_token() {
        assert_eq!(decode(&enc("null")).unwrap(), Token::default());
    }

    #[test]
    fn integers_reject_fractions_exponents_and_strings() {
        for bad in [
            r#"{"iat":1.5}"#,
            r#"{"iat":1e3}"#,
            r#"{"v":"3"}"#,
            r#"{"iat":1.0}"#,
        ] {
            assert_eq!(
                decode(&enc(bad)),
                Err(CapabilityError::MalformedJson),
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_trailing_garbage_and_non_objects() {
        for bad in [r#"{"v":3} x"#, "[]", r#""s""#, ""] {
            assert_eq!(
                decode(&enc(bad)),
                Err(CapabilityError::MalformedJson),
                "{bad}"
            );
        }
    }

    #[test]
    fn invalid_utf8_in_strings_becomes_replacement_chars() {
        let mut raw = br#"{"sub":"a"#.to_vec();
        raw.extend_from_slice(b"\xff\xfe\"}");
        let t = decode(&B64.encode(raw)).unwrap();
        assert_eq!(t.sub, "a\u{fffd}\u{fffd}");
    }

    #[test]
    fn lone_surrogate_escapes_become_replacement_chars() {
        let t = decode(&enc(r#"{"sub":"a\uDEEE\uD83D\uDE00","tenant":"b\ud800"}"#)).unwrap();
        assert_eq!(
            (t.sub.as_str(), t.tenant.as_str()),
            ("a\u{fffd}😀", "b\u{fffd}")
        );
    }

    #[test]
    fn base64_must_be_unpadded_url_alphabet() {
        assert_eq!(decode("eyJ2IjozfQ=="), Err(CapabilityError::NotBase64));
        assert_eq!(decode("+/"), Err(CapabilityError::NotBase64));
        assert_eq!(decode("eyJ2Ijoz\r\nfQ").map(|t| t.v), Ok(3));
    }
}
