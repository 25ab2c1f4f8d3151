//! Authorization server metadata and JWKS over HTTP (RFC 8414, OpenID Connect
//! Discovery 1.0, RFC 7517).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::outbound::{error_chain, read_capped};
use crate::domain::oauth::{self, IssuerKeys};
use crate::ports::IssuerKeysSource;

/// How long one metadata or JWKS request may take.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest metadata or JWKS document read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

pub struct HttpIssuerKeys {
    client: reqwest::Client,
}

impl HttpIssuerKeys {
    pub fn new() -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(DISCOVERY_TIMEOUT)
            // A redirect could point discovery at another host; issuers serve in place.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { client })
    }

    async fn document(&self, url: &str) -> Result<Value, String> {
        let response = self
            .client
            .get(url)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("GET {url}: HTTP {}", status.as_u16()));
        }
        let body = read_capped(
            http::Response::from(response).into_body(),
            MAX_DOCUMENT_BYTES,
        )
        .await
        .map_err(|e| format!("GET {url}: {}", error_chain(&e)))?
        .ok_or_else(|| format!("GET {url}: document larger than {MAX_DOCUMENT_BYTES} bytes"))?;
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not JSON: {e}"))
    }

    /// The issuer's metadata: RFC 8414 first, then OpenID Connect discovery.
    async fn metadata(&self, issuer: &str) -> Result<Value, String> {
        let mut failures = Vec::with_capacity(2);
        for url in metadata_urls(issuer) {
            match self.document(&url).await {
                Ok(doc) => return Ok(doc),
                Err(why) => failures.push(why),
            }
        }
        Err(failures.join("; "))
    }
}

#[async_trait]
impl IssuerKeysSource for HttpIssuerKeys {
    async fn fetch(&self, issuer: &str) -> Result<IssuerKeys, String> {
        let metadata = self.metadata(issuer).await?;
        let stated = metadata.get("issuer").and_then(Value::as_str);
        if stated != Some(issuer) {
            return Err(format!(
                "metadata names issuer {stated:?}, not {issuer:?} (RFC 8414 §3.3)"
            ));
        }
        let jwks_uri = metadata
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or("metadata has no jwks_uri")?;
        if !oauth::fetchable(jwks_uri) {
            return Err(format!(
                "jwks_uri {jwks_uri:?} is neither https nor on this machine; keys are not fetched over plain HTTP"
            ));
        }
        let jwks = self.document(jwks_uri).await?;
        IssuerKeys::from_jwks(&jwks).map_err(|why| format!("{jwks_uri}: {why}"))
    }
}

/// Where an issuer's metadata may be: the well-known suffix inserted between host and
/// path (RFC 8414 §3.1), then appended to the issuer (OpenID Connect Discovery §4).
pub fn metadata_urls(issuer: &str) -> [String; 2] {
    let trimmed = issuer.trim_end_matches('/');
    [
        oauth::well_known(trimmed, "oauth-authorization-server"),
        format!("{trimmed}/.well-known/openid-configuration"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_looked_for_where_both_standards_put_it() {
        assert_eq!(
            metadata_urls("https://as.example"),
            [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            metadata_urls("https://as.example/realms/agents/"),
            [
                "https://as.example/.well-known/oauth-authorization-server/realms/agents",
                "https://as.example/realms/agents/.well-known/openid-configuration"
            ]
        );
    }
}
