//! Percent-encoding as Go's `net/url` does it, for the Sentinel token form, URL path
//! segments and igctl's query strings (reqwest is built without its `form` feature, and
//! the `url` crate's form encoding escapes `~`, which Go keeps).

use std::fmt::Write as _;

/// Go's `url.QueryEscape`: letters, digits and `-_.~` stay, a space becomes `+`,
/// every other byte becomes `%XX` (upper-case hex).
pub fn query_escape(text: &str) -> String {
    escape(text, |b| b == b' ', "+", |_| false)
}

/// Go's `url.PathEscape`: like [`query_escape`], but a space is `%20` and the
/// sub-delimiters legal inside a path segment (`$&+:=@`) stay as they are.
pub fn path_escape(text: &str) -> String {
    escape(text, |_| false, "", |b| b"$&+:=@".contains(&b))
}

/// `key=value&key=value` with query-escaped keys and values, in the order given
/// (Go's `url.Values.Encode` sorts by key, so callers pass keys sorted).
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{}={}", query_escape(key), query_escape(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986: everything but the unreserved characters is `%XX`, so the result is safe
/// in a query value and in a path segment alike.
pub fn percent_encode(text: &str) -> String {
    escape(text, |_| false, "", |_| false)
}

fn escape(
    text: &str,
    is_space: impl Fn(u8) -> bool,
    space: &str,
    keep: impl Fn(u8) -> bool,
) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || keep(b) {
            out.push(char::from(b));
        } else if is_space(b) {
            out.push_str(space);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(
            query_escape("https://monitor.azure.com//.default"),
            "https%3A%2F%2Fmonitor.azure.com%2F%2F.default"
        );
        assert_eq!(query_escape("a b+c&d=é~"), "a+b%2Bc%26d%3D%C3%A9~");
    }

    #[test]
    fn path_escape_matches_go() {
        assert_eq!(path_escape("Custom-IG_CL"), "Custom-IG_CL");
        assert_eq!(path_escape("a b/c?d;e,f$g@h"), "a%20b%2Fc%3Fd%3Be%2Cf$g@h");
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(
            percent_encode("2026-05-12T10:00:00+02:00"),
            "2026-05-12T10%3A00%3A00%2B02%3A00"
        );
        assert_eq!(percent_encode("a b&c/é"), "a%20b%26c%2F%C3%A9");
    }

    #[test]
    fn form_joins_pairs_in_order() {
        assert_eq!(form(&[("b", "1 2"), ("a", "&")]), "b=1+2&a=%26");
    }
}
