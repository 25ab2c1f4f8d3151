//! Who is calling: the bearer capability token read, its signature checked, and its
//! revocation looked up. The `tools/call` pipeline and the other MCP messages share
//! these steps; what each then requires of the token differs.

use std::time::Instant;

use super::Gateway;
use crate::domain::decision::Denial;
use crate::domain::token::{self, CapabilityError, Token};
use crate::instruments as metrics;

impl Gateway {
    /// Decodes and verifies the signature of the bearer token, if any (`Ok(None)` for
    /// no `Authorization`). No store is asked: this names the caller, it authorizes
    /// nothing.
    pub fn identify(&self, header: Option<&str>) -> Result<Option<Token>, CapabilityError> {
        let Some(header) = header.filter(|h| !h.is_empty()) else {
            return Ok(None);
        };
        let encoded = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(CapabilityError::BadScheme)?;
        let token = token::decode(encoded)?;
        token::check_structure(&token)?;
        token::verify_signature(&token, &self.key)?;
        Ok(Some(token))
    }

    /// Whether the token is revoked, as the reason a check refuses it (fail closed: a
    /// store that cannot answer refuses too). Timed and counted.
    pub(super) async fn revocation(&self, token: &Token) -> Result<(), CapabilityError> {
        let lookup = Instant::now();
        let revoked = self
            .stores
            .revocations
            .is_revoked(&token.jti, &token.tenant)
            .await;
        let result = match &revoked {
            Ok(true) => "revoked",
            Ok(false) => "not_revoked",
            Err(_) => "error",
        };
        metrics::revocation_lookup(result, lookup.elapsed());
        match revoked {
            Ok(false) => Ok(()),
            Ok(true) => Err(CapabilityError::Revoked),
            Err(e) => {
                tracing::error!(error = %e, "revocation lookup failed");
                metrics::store_error("revocations");
                Err(CapabilityError::RevocationUnavailable)
            }
        }
    }

    /// [`Gateway::identify`] plus revocation and the token's validity at this moment
    /// (every caveat but the tool lists, which `tools/list` applies by filtering):
    /// what an MCP message other than a call needs. `required`: a token must be sent.
    pub async fn authenticate(
        &self,
        header: Option<&str>,
        required: bool,
    ) -> Result<Option<Token>, Denial> {
        let deny = |e: CapabilityError| Denial::capability(&e);
        let Some(token) = self.identify(header).map_err(deny)? else {
            return match required {
                true => Err(deny(CapabilityError::Required)),
                false => Ok(None),
            };
        };
        self.revocation(&token).await.map_err(deny)?;
        token::check_validity(&token, self.clock.now()).map_err(deny)?;
        Ok(Some(token))
    }
}
