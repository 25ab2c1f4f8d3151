//! Lone UTF-16 surrogate escapes, read as Go reads them.

use std::borrow::Cow;

/// Replaces every `\uXXXX` escape of a UTF-16 surrogate that is not half of a valid
/// pair with `\ufffd`, which is what Go's decoder reads it as. serde_json refuses such
/// escapes, so without this a name Go reads as `a\u{fffd}b` would fail the call. The
/// replacement has the escape's length, so error offsets stay where Go reports them;
/// and since the text itself changes, what is forwarded is what was checked.
pub fn go_surrogates(text: Cow<'_, str>) -> Cow<'_, str> {
    let Some(first) = find_lone(text.as_bytes(), 0) else {
        return text;
    };
    let mut bytes = text.into_owned().into_bytes();
    let mut at = Some(first);
    while let Some(escape) = at {
        bytes[escape + 2..escape + 6].copy_from_slice(b"fffd");
        at = find_lone(&bytes, escape + 6);
    }
    // Only ASCII hex digits were overwritten with ASCII, so the bytes are still UTF-8.
    Cow::Owned(
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

/// The offset of the next lone surrogate escape at or after `from`. Escapes are read
/// in order from `from`, which must not be inside one, so `\\uD800` (an escaped
/// backslash, then text) is not taken for an escape.
fn find_lone(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        if bytes[i + 1] != b'u' {
            i += 2;
            continue;
        }
        let Some(unit) = hex4(bytes, i + 2) else {
            i += 2;
            continue;
        };
        match unit {
            0xD800..=0xDBFF if low_follows(bytes, i + 6) => i += 12,
            0xD800..=0xDFFF => return Some(i),
            _ => i += 6,
        }
    }
    None
}

fn low_follows(bytes: &[u8], at: usize) -> bool {
    bytes.get(at..at + 2) == Some(b"\\u")
        && hex4(bytes, at + 2).is_some_and(|unit| (0xDC00..=0xDFFF).contains(&unit))
}

fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
    u16::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> String {
        go_surrogates(Cow::Borrowed(text)).into_owned()
    }

    #[test]
    fn lone_surrogates_become_replacement_characters_as_go_reads_them() {
        assert_eq!(read(r#""a\uDEEEb""#), r#""a\ufffdb""#);
        assert_eq!(read(r#""\uD800""#), r#""\ufffd""#);
        assert_eq!(read(r#""\udc00x""#), r#""\ufffdx""#);
        // A high surrogate followed by another high one: both are lone.
        assert_eq!(read(r#""\uD800\uD800""#), r#""\ufffd\ufffd""#);
        // A low one first, then a valid pair.
        assert_eq!(read(r#""\uDC00\uD83D\uDE00""#), r#""\ufffd\uD83D\uDE00""#);
        let value: serde_json::Value = serde_json::from_str(&read(r#"{"n":"a\uDEEEb"}"#)).unwrap();
        assert_eq!(value["n"], "a\u{fffd}b");
    }

    #[test]
    fn pairs_other_escapes_and_escaped_backslashes_are_left_alone() {
        for text in [
            r#""\uD83D\uDE00""#,
            r#""\ud83d\ude00 \u00e9 \n \" \\""#,
            r#""\\uD800""#,
            r#""\\\\uDEEE""#,
            r#""\u12""#,
            r#"plain"#,
        ] {
            assert_eq!(read(text), text);
            assert!(matches!(
                go_surrogates(Cow::Borrowed(text)),
                Cow::Borrowed(_)
            ));
        }
        assert_eq!(read(r#""\\\uDEEE""#), r#""\\\ufffd""#);
    }
}
