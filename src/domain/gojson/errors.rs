//! Go `encoding/json` error texts, which the reference returns in JSON-RPC `data`.

use serde_json::Value;
use serde_json::error::Category;

/// The Go decoder's message for a syntax error that serde_json reported in `input`.
pub fn syntax_error(input: &str, err: &serde_json::Error) -> String {
    if err.classify() == Category::Eof {
        return "unexpected end of JSON input".into();
    }
    let offending = char_at(input, err.line(), err.column());
    let context = match err.to_string() {
        m if m.starts_with("expected value") => "looking for beginning of value",
        m if m.starts_with("trailing characters") => "after top-level value",
        m if m.starts_with("expected `:`") => "after object key",
        m if m.starts_with("expected `,` or `}`") => "after object key:value pair",
        m if m.starts_with("expected `,` or `]`") => "after array element",
        m if m.starts_with("key must be a string") => "looking for beginning of object key string",
        m if m.starts_with("control character") => "in string literal",
        m if m.starts_with("invalid escape") => "in string escape code",
        _ => return err.to_string(),
    };
    match offending {
        Some(c) => format!("invalid character {} {context}", go_char(c)),
        None => "unexpected end of JSON input".into(),
    }
}

/// Go's `%q` of a rune as its decoder prints it: `'x'`, `'\n'`, `'"'`.
fn go_char(c: char) -> String {
    match c {
        '\n' => "'\\n'".into(),
        '\r' => "'\\r'".into(),
        '\t' => "'\\t'".into(),
        '\'' => "'\\''".into(),
        c if (c as u32) < 0x20 => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

/// The character serde_json pointed at (1-based line and column; column counts bytes).
fn char_at(input: &str, line: usize, column: usize) -> Option<char> {
    let text = input.lines().nth(line.checked_sub(1)?)?;
    let index = column.checked_sub(1)?;
    text.get(index..)
        .and_then(|s| s.chars().next())
        .or_else(|| text[..].chars().last())
}

/// The JSON kind Go names in "cannot unmarshal X into ..." messages.
pub fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_for(input: &str) -> String {
        let e = serde_json::from_str::<Value>(input).unwrap_err();
        syntax_error(input, &e)
    }

    #[test]
    fn mirrors_go_scanner_messages() {
        assert_eq!(
            err_for("xx"),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(err_for(""), "unexpected end of JSON input");
        assert_eq!(err_for("{\"a\":1"), "unexpected end of JSON input");
        assert_eq!(
            err_for("{} x"),
            "invalid character 'x' after top-level value"
        );
        assert_eq!(
            err_for("{\"a\" 1}"),
            "invalid character '1' after object key"
        );
        assert_eq!(
            err_for("{\"a\":1 \"b\"}"),
            "invalid character '\"' after object key:value pair"
        );
        assert_eq!(
            err_for("{1:2}"),
            "invalid character '1' looking for beginning of object key string"
        );
        assert_eq!(
            err_for("hello"),
            "invalid character 'h' looking for beginning of value"
        );
    }
}
