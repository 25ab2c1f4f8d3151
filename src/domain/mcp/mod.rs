//! The MCP rules of the `/v1/mcp` endpoint that do not depend on HTTP machinery: which
//! protocol versions and methods the gateway speaks, the 2026-07-28 request headers
//! checked against the body, what `initialize` and `tools/list` may advertise, the
//! event-stream format and the sessions the gateway issues.

mod filter;
mod metadata;
mod session;
mod sse;

pub use filter::{filter_capabilities, filter_tools};
pub use metadata::{
    BodyFacts, HeaderMismatch, MetadataHeaders, RELAYED_CAPABILITIES, check_request_metadata,
    decode_header_value,
};
pub use session::{
    McpSession, SessionOwner, SessionRefused, beyond_newest, new_session_id, plausible_session_id,
};
pub use sse::{EventTooLarge, KEEP_ALIVE, SseDecoder, SseEvent, encode_event, message_event};

/// The stateless protocol revision: every request carries its version, no sessions.
pub const STATELESS_VERSION: &str = "2026-07-28";

/// Every protocol version the endpoint serves, newest first.
pub const SUPPORTED_VERSIONS: [&str; 5] = [
    STATELESS_VERSION,
    "2025-11-25",
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
];

/// What a missing `MCP-Protocol-Version` means (the transport spec's rule).
pub const DEFAULT_VERSION: &str = "2025-03-26";

pub fn is_supported_version(version: &str) -> bool {
    SUPPORTED_VERSIONS.contains(&version)
}

/// Which protocol era a request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    /// 2024-11-05 … 2025-11-25: `initialize`, sessions, GET streams.
    Legacy,
    /// 2026-07-28: per-request metadata, stateless.
    Stateless,
}

impl Era {
    /// The era of a request: stateless when its header or `_meta` names the stateless
    /// revision (an `initialize` is always legacy).
    pub fn of(method: &str, header_version: Option<&str>, meta_version: Option<&str>) -> Self {
        let stateless = [header_version, meta_version].contains(&Some(STATELESS_VERSION));
        match method != "initialize" && stateless {
            true => Self::Stateless,
            false => Self::Legacy,
        }
    }
}

/// How the gateway handles a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodKind {
    /// The authorization pipeline.
    ToolCall,
    /// Relayed; opens a gateway session.
    Initialize,
    /// Relayed; capabilities cut to what the gateway relays.
    Discover,
    /// Relayed; only the tools the caller's token allows are listed.
    ListTools,
    /// Relayed as is, not audited.
    Ping,
    /// `resources/*`, `prompts/*`, `completion/*`, `logging/*`: relayed and audited.
    Relayed,
    /// Anything else: -32601.
    Unknown,
}

/// The method families relayed (and audited) besides tools.
const RELAYED_PREFIXES: [&str; 4] = ["resources/", "prompts/", "completion/", "logging/"];

pub fn method_kind(method: &str) -> MethodKind {
    match method {
        "tools/call" => MethodKind::ToolCall,
        "initialize" => MethodKind::Initialize,
        "server/discover" => MethodKind::Discover,
        "tools/list" => MethodKind::ListTools,
        "ping" => MethodKind::Ping,
        m if RELAYED_PREFIXES.iter().any(|p| m.starts_with(p)) => MethodKind::Relayed,
        _ => MethodKind::Unknown,
    }
}

/// Whether a notification (a message without `id`) is passed to the tool server:
/// `notifications/*` only. A data method sent without an id would reach the tool
/// server unaudited (it has no answer to record), so it is acknowledged and dropped.
pub fn relays_notification(method: &str) -> bool {
    method.starts_with("notifications/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stateless_era_is_chosen_by_header_or_meta_but_never_for_initialize() {
        assert_eq!(
            Era::of("tools/list", Some(STATELESS_VERSION), None),
            Era::Stateless
        );
        assert_eq!(
            Era::of("tools/list", None, Some(STATELESS_VERSION)),
            Era::Stateless
        );
        assert_eq!(Era::of("tools/list", Some("2025-11-25"), None), Era::Legacy);
        assert_eq!(Era::of("tools/list", None, None), Era::Legacy);
        assert_eq!(
            Era::of("initialize", Some(STATELESS_VERSION), None),
            Era::Legacy
        );
    }

    #[test]
    fn methods_are_classified() {
        assert_eq!(method_kind("tools/call"), MethodKind::ToolCall);
        assert_eq!(method_kind("resources/read"), MethodKind::Relayed);
        assert_eq!(method_kind("resources/templates/list"), MethodKind::Relayed);
        assert_eq!(method_kind("prompts/get"), MethodKind::Relayed);
        assert_eq!(method_kind("completion/complete"), MethodKind::Relayed);
        assert_eq!(method_kind("logging/setLevel"), MethodKind::Relayed);
        assert_eq!(method_kind("server/discover"), MethodKind::Discover);
        assert_eq!(method_kind("tasks/list"), MethodKind::Unknown);
        assert_eq!(method_kind("totally/unknown"), MethodKind::Unknown);
        assert!(relays_notification("notifications/initialized"));
        assert!(relays_notification("notifications/cancelled"));
        assert!(!relays_notification("totally/unknown"));
        assert!(!relays_notification("resources/read"), "no unaudited reads");
    }

    #[test]
    fn versions() {
        assert!(is_supported_version("2025-06-18"));
        assert!(is_supported_version(STATELESS_VERSION));
        assert!(!is_supported_version("1900-01-01"));
        assert!(!is_supported_version(""));
    }
}
