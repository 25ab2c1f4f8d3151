//! Go `encoding/json`-compatible output.
//!
//! Token MACs and audit hashes are computed over JSON bytes that the reference gateway
//! produces with Go's encoder, so every byte matters: compact separators, fixed field
//! order, and Go's string escaping (HTML characters, U+2028/U+2029, control characters,
//! invalid UTF-8). serde_json escapes differently, hence this small writer.

mod compact;
mod errors;
mod surrogates;

pub use compact::compact_html;
pub use errors::{kind_name, syntax_error};
pub use surrogates::go_surrogates;

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a Go-escaped JSON string literal, quotes included.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    // Most strings (ids, hashes, tool names) need no escape: copy them in one go.
    if !s.bytes().any(may_need_escape) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut run_start = 0;
    for (i, c) in s.char_indices() {
        let escape: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            c if (c as u32) < 0x20 => Some(""),
            c => html_escape(c),
        };
        let Some(escape) = escape else { continue };
        out.push_str(&s[run_start..i]);
        if escape.is_empty() {
            let b = c as u8;
            out.push_str("\\u00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        } else {
            out.push_str(escape);
        }
        run_start = i + c.len_utf8();
    }
    out.push_str(&s[run_start..]);
    out.push('"');
}

/// Whether a byte can start something Go escapes: a control character, `"`, `\`, an
/// HTML character, or 0xE2, the lead byte of U+2028 and U+2029 (and of characters that
/// need nothing, which the full walk then copies).
/// Go's HTML-safe escapes (`SetEscapeHTML(true)`, its default): the one table the
/// gateway's JSON writers share.
pub fn html_escape(c: char) -> Option<&'static str> {
    match c {
        '<' => Some("\\u003c"),
        '>' => Some("\\u003e"),
        '&' => Some("\\u0026"),
        '\u{2028}' => Some("\\u2028"),
        '\u{2029}' => Some("\\u2029"),
        _ => None,
    }
}

fn may_need_escape(b: u8) -> bool {
    b < 0x20 || matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&' | 0xE2)
}

/// Appends raw bytes as a Go-escaped JSON string: each byte that is not part of valid
/// UTF-8 becomes the escape `\ufffd`, exactly as Go's encoder writes it.
pub fn write_bytes_as_str(out: &mut String, bytes: &[u8]) {
    let mut inner = String::with_capacity(bytes.len());
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        inner.clear();
        write_str(&mut inner, chunk.valid());
        out.push_str(&inner[1..inner.len() - 1]);
        for _ in chunk.invalid() {
            out.push_str("\\ufffd");
        }
    }
    out.push('"');
}

/// Replaces each byte of invalid UTF-8 with U+FFFD, one replacement per byte, which is
/// what Go's decoder does inside JSON strings (std's lossy conversion folds a whole
/// invalid sequence into one replacement, so it would change MAC inputs).
pub fn go_lossy_utf8(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push('\u{fffd}');
        }
    }
    Cow::Owned(out)
}

/// The text Go's JSON decoder reads from `bytes`: invalid UTF-8 (per byte) and lone
/// UTF-16 surrogate escapes both read as U+FFFD.
pub fn go_json_text(bytes: &[u8]) -> Cow<'_, str> {
    go_surrogates(go_lossy_utf8(bytes))
}

/// Appends a float the way Go's encoder formats a `float64`: shortest round-trip digits,
/// plain decimal for 1e-6 <= |v| < 1e21, otherwise exponent form like `1e+21`, `1.5e-7`.
pub fn write_f64(out: &mut String, v: f64) {
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let formatted = format!("{v:e}");
        match formatted.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => {
                let _ = write!(out, "{mantissa}e+{exp:0>2}");
            }
            _ => out.push_str(&formatted),
        }
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Appends any JSON value in Go's output form. Object keys come out sorted (Go sorts map
/// keys; `serde_json::Map` is ordered by key), strings are Go-escaped.
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => {
                let _ = write!(out, "{i}");
            }
            (None, Some(u), _) => {
                let _ = write!(out, "{u}");
            }
            (None, None, Some(f)) => write_f64(out, f),
            _ => out.push_str("null"),
        },
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// Go's `strconv.Quote` (the `%q` verb), used inside reason strings such as
/// `tool "x" not in allowed set`. Printable characters stay raw; the rest are escaped
/// as Go does. Printability is approximated without Unicode tables: controls, non-ASCII
/// whitespace and the common invisible format characters are escaped.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

fn is_go_printable(c: char) -> bool {
    let invisible_format = matches!(
        c,
        '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}'
    );
    c == ' ' || !(c.is_control() || c.is_whitespace() || invisible_format)
}

/// Re-indents compact JSON the way Go's `json.MarshalIndent(v, "", indent)` lays it
/// out: one member per line, `": "` after keys, empty objects and arrays kept as `{}`
/// and `[]`.
pub fn indent(compact: &str, indent: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&indent.repeat(depth));
    };
    let mut chars = compact.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' if matches!(chars.peek(), Some('}' | ']')) => {
                out.push(c);
                out.extend(chars.next());
            }
            '{' | '[' => {
                out.push(c);
                depth += 1;
                newline(&mut out, depth);
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c => out.push(c),
        }
    }
    out
}

/// Folds an object key the way Go's case-insensitive field match does (simple case
/// folding, so `SUB`, `Sub` and `ſub` all name `sub`).
pub fn fold_key(key: &str) -> String {
    if key.is_ascii() {
        return key.to_ascii_lowercase();
    }
    key.chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

/// Writes one JSON object field by field, in the caller's order, with Go's
/// `omitempty` rules available per field.
pub struct ObjectWriter<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> ObjectWriter<'a> {
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, empty: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        write_str(self.out, key);
        self.out.push(':');
        self.out
    }

    pub fn str(&mut self, key: &str, v: &str) -> &mut Self {
        write_str(self.key(key), v);
        self
    }

    /// `omitempty` string.
    pub fn str_opt(&mut self, key: &str, v: &str) -> &mut Self {
        if !v.is_empty() {
            self.str(key, v);
        }
        self
    }

    pub fn int(&mut self, key: &str, v: i64) -> &mut Self {
        let _ = write!(self.key(key), "{v}");
        self
    }

    /// `omitempty` integer.
    pub fn int_opt(&mut self, key: &str, v: i64) -> &mut Self {
        if v != 0 {
            self.int(key, v);
        }
        self
    }

    /// `omitempty` bool: only `true` is written.
    pub fn true_opt(&mut self, key: &str, v: bool) -> &mut Self {
        if v {
            self.key(key).push_str("true");
        }
        self
    }

    /// `omitempty` string array.
    pub fn strs_opt(&mut self, key: &str, items: &[String]) -> &mut Self {
        if items.is_empty() {
            return self;
        }
        let out = self.key(key);
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(out, item);
        }
        out.push(']');
        self
    }

    /// A field whose value is already encoded JSON.
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    /// `omitempty` JSON value: absent, `null`, and empty objects/arrays are skipped.
    pub fn value_opt(&mut self, key: &str, v: Option<&Value>) -> &mut Self {
        let skip = match v {
            None | Some(Value::Null) => true,
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        if let (false, Some(v)) = (skip, v) {
            write_value(self.key(key), v);
        }
        self
    }

    pub fn finish(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        let mut out = String::new();
        write_str(&mut out, s);
        out
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(enc("a<b>&c"), r#""a\u003cb\u003e\u0026c""#);
        assert_eq!(enc("q\"b\\"), r#""q\"b\\""#);
        assert_eq!(enc("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(enc("\u{0}\u{1f}"), r#""\u0000\u001f""#);
        assert_eq!(enc("\u{2028}x\u{2029}"), r#""\u2028x\u2029""#);
        assert_eq!(enc("/\u{7f}é€😀"), "\"/\u{7f}é€😀\"");
    }

    #[test]
    fn invalid_utf8_becomes_escaped_replacement_per_byte() {
        let mut out = String::new();
        write_bytes_as_str(&mut out, b"a\xe2\x82b\xff<");
        assert_eq!(out, r#""a\ufffd\ufffdb\ufffd\u003c""#);
        assert_eq!(go_lossy_utf8(b"a\xe2\x82b"), "a\u{fffd}\u{fffd}b");
    }

    #[test]
    fn floats_follow_go_format() {
        let cases = [
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (1e-10, "1e-10"),
            (1e100, "1e+100"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (2.5, "2.5"),
            (50000.0, "50000"),
        ];
        for (v, want) in cases {
            let mut out = String::new();
            write_f64(&mut out, v);
            assert_eq!(out, want, "{v}");
        }
    }

    #[test]
    fn values_sort_keys_and_escape() {
        let v: Value =
            serde_json::from_str(r#"{"b":[1,"<",null],"a":{"z":true,"y":1.5}}"#).unwrap();
        let mut out = String::new();
        write_value(&mut out, &v);
        assert_eq!(out, r#"{"a":{"y":1.5,"z":true},"b":[1,"\u003c",null]}"#);
    }

    #[test]
    fn object_writer_omits_empty_fields() {
        let mut out = String::new();
        let mut w = ObjectWriter::new(&mut out);
        w.str("t", "x").str_opt("e", "").int_opt("n", 0).int("z", 0);
        w.true_opt("f", false)
            .strs_opt("l", &[])
            .value_opt("v", None);
        w.finish();
        assert_eq!(out, r#"{"t":"x","z":0}"#);
    }
    #[test]
    fn quotes_like_go_strconv() {
        assert_eq!(go_quote("send_email"), r#""send_email""#);
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("x\ny\u{1}\u{7f}"), r#""x\ny\x01\x7f""#);
        assert_eq!(go_quote("é<&>\u{a0}\u{200b}"), "\"é<&>\\u00a0\\u200b\"");
    }
    #[test]
    fn indents_like_go_marshal_indent() {
        let got = indent(r#"{"a":[1,{"b":"x,{y}:\\\"z"}],"c":{},"d":[]}"#, "  ");
        let want = "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"x,{y}:\\\\\\\"z\"\n    }\n  ],\n  \"c\": {},\n  \"d\": []\n}";
        assert_eq!(got, want);
    }
}
