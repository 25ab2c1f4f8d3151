//! The request metadata headers of the 2026-07-28 protocol (`MCP-Protocol-Version`,
//! `Mcp-Method`, `Mcp-Name`), checked against the body.
//!
//! The gateway authorizes what the body says and the tool server may route or log by
//! what the headers say, so a request whose headers disagree with its body is refused
//! (HTTP 400, -32020) and never forwarded: the decision must be about the call the
//! tool server will execute.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The server capabilities the gateway relays; `initialize` and `server/discover`
/// advertise no others.
pub const RELAYED_CAPABILITIES: [&str; 5] =
    ["tools", "resources", "prompts", "completions", "logging"];

/// What the body says that the headers must repeat.
#[derive(Clone, Copy, Debug, Default)]
pub struct BodyFacts<'a> {
    pub method: &'a str,
    /// `params.name` (`tools/call`, `prompts/get`) or `params.uri` (`resources/read`).
    pub name: Option<&'a str>,
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]`.
    pub meta_version: Option<&'a str>,
}

/// The metadata headers of one request, as received.
#[derive(Clone, Copy, Debug, Default)]
pub struct MetadataHeaders<'a> {
    pub protocol_version: Option<&'a str>,
    pub method: Option<&'a str>,
    pub name: Option<&'a str>,
}

/// Why the headers and the body disagree (-32020 HeaderMismatch).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Header mismatch: {0}")]
pub struct HeaderMismatch(pub String);

/// Which methods name their target in `Mcp-Name`.
fn names_target(method: &str) -> bool {
    matches!(method, "tools/call" | "prompts/get" | "resources/read")
}

/// Checks the headers against the body. `required`: the request is in the stateless
/// era, where every header is mandatory; otherwise only headers that are present are
/// checked.
pub fn check_request_metadata(
    body: &BodyFacts<'_>,
    headers: &MetadataHeaders<'_>,
    required: bool,
) -> Result<(), HeaderMismatch> {
    let missing = |name: &str| HeaderMismatch(format!("missing {name} header"));
    match (headers.protocol_version, body.meta_version) {
        (Some(h), Some(b)) if h != b => {
            return Err(HeaderMismatch(format!(
                "MCP-Protocol-Version header value '{h}' does not match body value '{b}'"
            )));
        }
        (None, Some(_)) if required => return Err(missing("MCP-Protocol-Version")),
        _ => {}
    }
    match headers.method {
        Some(h) if h != body.method => {
            return Err(HeaderMismatch(format!(
                "Mcp-Method header value '{h}' does not match body value '{}'",
                body.method
            )));
        }
        None if required => return Err(missing("Mcp-Method")),
        _ => {}
    }
    if !names_target(body.method) {
        return Ok(());
    }
    match headers.name {
        Some(raw) => {
            let decoded = decode_header_value(raw).map_err(|_| {
                HeaderMismatch(format!("Mcp-Name header value '{raw}' is not valid"))
            })?;
            let body_name = body.name.unwrap_or_default();
            if decoded != body_name {
                return Err(HeaderMismatch(format!(
                    "Mcp-Name header value '{decoded}' does not match body value '{body_name}'"
                )));
            }
            Ok(())
        }
        None if required => Err(missing("Mcp-Name")),
        None => Ok(()),
    }
}

/// A `=?base64?…?=` header value that is not base64 of UTF-8 text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("header value is marked base64 but is not base64 of UTF-8 text")]
pub struct BadEncoding;

/// A header value as the client meant it: `=?base64?…?=` decoded (the markers are
/// case-sensitive; a value without both markers is literal).
pub fn decode_header_value(value: &str) -> Result<String, BadEncoding> {
    let Some(inner) = value
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    else {
        return Ok(value.to_owned());
    };
    let bytes = STANDARD.decode(inner).map_err(|_| BadEncoding)?;
    String::from_utf8(bytes).map_err(|_| BadEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(name: &'a str) -> BodyFacts<'a> {
        BodyFacts {
            method: "tools/call",
            name: Some(name),
            meta_version: Some("2026-07-28"),
        }
    }

    fn headers<'a>(method: &'a str, name: Option<&'a str>) -> MetadataHeaders<'a> {
        MetadataHeaders {
            protocol_version: Some("2026-07-28"),
            method: Some(method),
            name,
        }
    }

    #[test]
    fn matching_headers_pass() {
        let body = call("read_invoice");
        assert_eq!(
            check_request_metadata(&body, &headers("tools/call", Some("read_invoice")), true),
            Ok(())
        );
    }

    #[test]
    fn a_name_header_naming_another_tool_is_refused() {
        let err = check_request_metadata(
            &call("send_email"),
            &headers("tools/call", Some("read_invoice")),
            true,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Header mismatch: Mcp-Name header value 'read_invoice' does not match body value 'send_email'"
        );
    }

    #[test]
    fn method_and_version_must_match_too() {
        let body = call("x");
        assert!(check_request_metadata(&body, &headers("tools/list", Some("x")), true).is_err());
        let mut h = headers("tools/call", Some("x"));
        h.protocol_version = Some("2025-11-25");
        assert!(check_request_metadata(&body, &h, true).is_err());
    }

    #[test]
    fn missing_headers_fail_only_when_required() {
        let body = call("x");
        let none = MetadataHeaders::default();
        assert!(check_request_metadata(&body, &none, true).is_err());
        assert_eq!(check_request_metadata(&body, &none, false), Ok(()));
        let no_name = headers("tools/call", None);
        assert_eq!(
            check_request_metadata(&body, &no_name, true),
            Err(HeaderMismatch("missing Mcp-Name header".into()))
        );
        let list = BodyFacts {
            method: "tools/list",
            name: None,
            meta_version: None,
        };
        assert_eq!(
            check_request_metadata(&list, &headers("tools/list", None), true),
            Ok(())
        );
    }

    #[test]
    fn base64_values_are_decoded_before_comparing() {
        // The spec's vectors.
        assert_eq!(
            decode_header_value("=?base64?SGVsbG8sIOS4lueVjA==?=").unwrap(),
            "Hello, 世界"
        );
        assert_eq!(
            decode_header_value("=?base64?IHBhZGRlZCA=?=").unwrap(),
            " padded "
        );
        assert_eq!(
            decode_header_value("=?base64?bGluZTEKbGluZTI=?=").unwrap(),
            "line1\nline2"
        );
        assert_eq!(
            decode_header_value("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=").unwrap(),
            "=?base64?literal?="
        );
        assert_eq!(decode_header_value("us west 1").unwrap(), "us west 1");
        assert_eq!(
            decode_header_value("=?BASE64?abc?=").unwrap(),
            "=?BASE64?abc?="
        );
        assert_eq!(
            decode_header_value("=?base64?not base64!?="),
            Err(BadEncoding)
        );
        let body = call("Hello, 世界");
        let h = headers("tools/call", Some("=?base64?SGVsbG8sIOS4lueVjA==?="));
        assert_eq!(check_request_metadata(&body, &h, true), Ok(()));
    }
}
