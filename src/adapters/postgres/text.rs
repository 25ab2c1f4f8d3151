//! Audited text as Postgres can hold it. `text` and `jsonb` refuse U+0000, which an
//! agent may put in any string it sends; the audit must keep such an event exactly, or
//! its hash no longer verifies. So the few strings that contain U+0000 are stored
//! escaped with U+FFFF (a noncharacter, which Postgres accepts): U+0000 becomes
//! U+FFFF `0` and U+FFFF itself doubles. Every other string is stored as it is, so the
//! encoding is invisible to SQL readers and filters bind the same encoded form.

use std::borrow::Cow;

use serde_json::Value;

const ESCAPE: char = '\u{FFFF}';

/// The stored form of `s`.
pub fn to_db(s: &str) -> Cow<'_, str> {
    if !s.contains(['\0', ESCAPE]) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\0' => {
                out.push(ESCAPE);
                out.push('0');
            }
            ESCAPE => {
                out.push(ESCAPE);
                out.push(ESCAPE);
            }
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// The text `to_db` stored. An escape followed by anything else is kept as it is.
pub fn from_db(s: String) -> String {
    if !s.contains(ESCAPE) {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            (ESCAPE, Some('0')) => {
                out.push('\0');
                chars.next();
            }
            (ESCAPE, Some(&ESCAPE)) => {
                out.push(ESCAPE);
                chars.next();
            }
            (other, _) => out.push(other),
        }
    }
    out
}

/// [`to_db`] applied to every string and object key of a JSON value.
pub fn json_to_db(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(to_db(s).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(json_to_db).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (to_db(k).into_owned(), json_to_db(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// [`from_db`] applied to every string and object key of a JSON value.
pub fn json_from_db(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(from_db(s)),
        Value::Array(items) => Value::Array(items.into_iter().map(json_from_db).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (from_db(k), json_from_db(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_and_only_odd_ones_change() {
        for s in [
            "",
            "read_invoice",
            "a\0b",
            "\0",
            "\u{FFFF}",
            "\u{FFFF}0",
            "\u{FFFF}\u{FFFF}",
            "x\0\u{FFFF}\0",
            "emoji 🦀 and ünïcödé",
        ] {
            let stored = to_db(s);
            assert!(!stored.contains('\0'), "{s:?}");
            assert_eq!(from_db(stored.into_owned()), s, "{s:?}");
        }
        assert!(matches!(to_db("plain"), Cow::Borrowed("plain")));
        assert_eq!(to_db("a\0b"), "a\u{FFFF}0b");
    }

    #[test]
    fn a_lone_escape_from_before_the_encoding_reads_as_it_was() {
        assert_eq!(from_db("a\u{FFFF}b".into()), "a\u{FFFF}b");
        assert_eq!(from_db("end\u{FFFF}".into()), "end\u{FFFF}");
    }

    #[test]
    fn json_strings_and_keys_round_trip() {
        let v = serde_json::json!({"k\u{0}": ["v\u{0}", 1, {"\u{FFFF}": null}], "n": 2.5});
        let stored = json_to_db(&v);
        assert!(!stored.to_string().contains("\\u0000"));
        assert_eq!(json_from_db(stored), v);
    }
}
