//! Re-emitting raw JSON the way Go passes `json.RawMessage` through its encoder:
//! insignificant whitespace removed and HTML characters escaped, literals untouched
//! (so large numbers keep every digit).

/// Compacts valid JSON text and escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings.
pub fn compact_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in raw.chars() {
        if in_string {
            match c {
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                c => out.push(c),
            }
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_and_escapes_only_inside_strings() {
        let raw = "{ \"q\" : \"<x> & \\\"y\\\"\",\n \"n\": 12345678901234567890 , \"a\":[ 1 , 2 ]}";
        assert_eq!(
            compact_html(raw),
            r#"{"q":"\u003cx\u003e \u0026 \"y\"","n":12345678901234567890,"a":[1,2]}"#
        );
        assert_eq!(compact_html(" \"a b\" "), "\"a b\"");
    }
}
