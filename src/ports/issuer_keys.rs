//! Where an authorization server's signing keys come from.

use async_trait::async_trait;

use crate::domain::oauth::IssuerKeys;

#[async_trait]
pub trait IssuerKeysSource: Send + Sync {
    /// The signing keys `issuer` publishes now: its metadata is read (RFC 8414
    /// `/.well-known/oauth-authorization-server`, else OpenID Connect discovery), the
    /// metadata's `issuer` must equal `issuer` exactly, and the `jwks_uri` it names is
    /// fetched. `Err` says what failed, for the operator; callers keep the keys they
    /// had, or refuse tokens if they had none.
    async fn fetch(&self, issuer: &str) -> Result<IssuerKeys, String>;
}
