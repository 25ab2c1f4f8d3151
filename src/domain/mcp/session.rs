//! MCP sessions the gateway issues (`Mcp-Session-Id`, protocol 2025-03-26 to 2025-11-25).
//!
//! A session id is never proof of identity: each session is bound to the identity the
//! caller's capability token proved when it was opened, and the same id presented with
//! another identity is "not found", exactly like an expired one, so the client opens a
//! new session instead of riding someone else's. The upstream's own session id stays
//! inside the gateway.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::time::Timestamp;

/// Who a session belongs to: tenant, subject and root token id of the caller's token
/// (all empty for a caller without one, in dev mode). Attenuated children of one root
/// token share the owner, as they share a budget.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SessionOwner {
    pub tenant: String,
    pub subject: String,
    pub root_jti: String,
}

/// One session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct McpSession {
    /// The id the client sends (`Mcp-Session-Id`).
    pub id: String,
    pub owner: SessionOwner,
    /// The upstream's `Mcp-Session-Id`, when the upstream keeps sessions.
    pub upstream_id: Option<String>,
    /// The protocol version `initialize` agreed on.
    pub protocol_version: String,
    pub created_at: Timestamp,
    /// The session is gone from this instant on, unless renewed before.
    pub expires_at: Timestamp,
}

/// Why a presented session id is not usable; both answer HTTP 404.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionRefused {
    #[error("session not found or expired")]
    Unknown,
    #[error("session belongs to another identity")]
    OtherOwner,
}

impl McpSession {
    /// A new session for `owner`, living `ttl_secs` unless used.
    pub fn open(
        id: String,
        owner: SessionOwner,
        upstream_id: Option<String>,
        protocol_version: String,
        now: Timestamp,
        ttl_secs: i64,
    ) -> Self {
        Self {
            id,
            owner,
            upstream_id,
            protocol_version,
            created_at: now,
            expires_at: now.plus_seconds(ttl_secs),
        }
    }

    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }

    /// The session, if `owner` may use it at `now`.
    pub fn admit(&self, owner: &SessionOwner, now: Timestamp) -> Result<(), SessionRefused> {
        if !self.is_live(now) {
            return Err(SessionRefused::Unknown);
        }
        if &self.owner != owner {
            return Err(SessionRefused::OtherOwner);
        }
        Ok(())
    }

    /// When a used session should be renewed, and until when: only once less than
    /// half of its idle lifetime is left, so a busy session costs one store write per
    /// half lifetime rather than one per request.
    pub fn renewal(&self, now: Timestamp, ttl_secs: i64) -> Option<Timestamp> {
        let half = now.plus_seconds(ttl_secs / 2);
        (self.expires_at < half).then(|| now.plus_seconds(ttl_secs))
    }
}

/// The sessions beyond the `keep` newest (by creation, then id) of those given.
pub fn beyond_newest(mut sessions: Vec<McpSession>, keep: usize) -> Vec<McpSession> {
    sessions.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    sessions.split_off(keep.min(sessions.len()))
}

/// A session id from 32 random bytes: 43 characters of base64url, which is visible
/// ASCII as the transport requires, and unguessable.
pub fn new_session_id(random: [u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

/// Whether a presented id could be one of ours (visible ASCII, bounded), before any
/// store is asked.
pub fn plausible_session_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| (0x21..=0x7E).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(sub: &str) -> SessionOwner {
        SessionOwner {
            tenant: "acme".into(),
            subject: sub.into(),
            root_jti: "root-1".into(),
        }
    }

    fn session(now: Timestamp) -> McpSession {
        McpSession::open(
            "s1".into(),
            owner("a"),
            None,
            "2025-11-25".into(),
            now,
            3600,
        )
    }

    #[test]
    fn only_the_owner_may_use_a_live_session() {
        let t0 = Timestamp::from_unix_seconds(1_000_000);
        let s = session(t0);
        assert_eq!(s.admit(&owner("a"), t0.plus_seconds(10)), Ok(()));
        assert_eq!(s.admit(&owner("b"), t0), Err(SessionRefused::OtherOwner));
        let mut other_tenant = owner("a");
        other_tenant.tenant = "globex".into();
        assert_eq!(s.admit(&other_tenant, t0), Err(SessionRefused::OtherOwner));
        assert_eq!(
            s.admit(&owner("a"), t0.plus_seconds(3600)),
            Err(SessionRefused::Unknown)
        );
    }

    #[test]
    fn renewal_waits_for_half_the_lifetime() {
        let t0 = Timestamp::from_unix_seconds(1_000_000);
        let s = session(t0);
        assert_eq!(s.renewal(t0.plus_seconds(1000), 3600), None);
        assert_eq!(
            s.renewal(t0.plus_seconds(1801), 3600),
            Some(t0.plus_seconds(5401))
        );
    }

    #[test]
    fn ids_are_visible_ascii_and_distinct() {
        let a = new_session_id([7; 32]);
        let b = new_session_id([8; 32]);
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(plausible_session_id(&a));
        assert!(!plausible_session_id(""));
        assert!(!plausible_session_id("has space"));
        assert!(!plausible_session_id(&"x".repeat(129)));
    }
}
