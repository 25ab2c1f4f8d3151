//! Who is calling: the bearer credential read and verified (a capability token's
//! signature, or an OAuth access token against its issuer's keys), and its revocation
//! looked up. The `tools/call` pipeline and the other MCP messages share these steps;
//! what each then requires of the caller differs.

use std::time::Instant;

use super::Gateway;
use crate::domain::credential::Credential;
use crate::domain::decision::Denial;
use crate::domain::oauth::{Challenge, looks_like_jwt};
use crate::domain::token::{self, CapabilityError};
use crate::instruments as metrics;

impl Gateway {
    /// Reads and verifies the bearer credential, if any (`Ok(None)` for no
    /// `Authorization`). A JWT is an OAuth access token when issuers are configured;
    /// anything else is a capability token. No store is asked: this names the caller,
    /// it authorizes nothing.
    pub async fn identify(
        &self,
        header: Option<&str>,
    ) -> Result<Option<Credential>, CapabilityError> {
        let Some(header) = header.filter(|h| !h.is_empty()) else {
            return Ok(None);
        };
        let bearer = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(CapabilityError::BadScheme)?;
        if let Some(access) = self
            .access_tokens
            .as_ref()
            .filter(|_| looks_like_jwt(bearer))
        {
            let verified = access.verify(bearer, self.clock.now()).await?;
            return Ok(Some(Credential::Access(verified)));
        }
        if let Some(token) = self.verified_tokens.get(bearer) {
            return Ok(Some(Credential::Capability(token)));
        }
        let token = token::decode(bearer)?;
        token::check_structure(&token)?;
        token::verify_signature(&token, &self.key)?;
        self.verified_tokens.remember(bearer, &token);
        Ok(Some(Credential::Capability(token)))
    }

    /// The denial of a caller that could not be identified. With OAuth sign-in on, it
    /// carries the challenge that sends a client to its authorization server.
    pub(super) fn identification_denial(&self, e: &CapabilityError) -> Denial {
        let mut denial = Denial::capability(e);
        if self.access_tokens.is_some() && denial.challenge.is_none() {
            denial.challenge = Some(match e {
                CapabilityError::Required => Challenge::Missing,
                other => Challenge::InvalidToken(other.to_string()),
            });
        }
        denial
    }

    /// The denial of an identified caller: an OAuth client whose token was revoked is
    /// told to get another (401 `invalid_token`), as for any token that stopped working.
    pub(super) fn caller_denial(&self, caller: &Credential, e: &CapabilityError) -> Denial {
        let mut denial = Denial::capability(e);
        if matches!(caller, Credential::Access(_)) && *e == CapabilityError::Revoked {
            denial.challenge = Some(Challenge::InvalidToken(e.to_string()));
        }
        denial
    }

    /// Whether the credential is revoked, as the reason a check refuses it (fail
    /// closed: a store that cannot answer refuses too). Timed and counted. An access
    /// token without `jti` cannot be revoked here (its issuer's lifetime bounds it).
    pub(super) async fn revocation(&self, caller: &Credential) -> Result<(), CapabilityError> {
        if caller.token_id().is_empty() {
            return Ok(());
        }
        let lookup = Instant::now();
        let revoked = self
            .stores
            .revocations
            .is_revoked(caller.token_id(), caller.tenant())
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

    /// [`Gateway::identify`] plus revocation and the credential's validity at this
    /// moment (every caveat but the tool lists, which `tools/list` applies by
    /// filtering): what an MCP message other than a call needs. `required`: a
    /// credential must be sent.
    pub async fn authenticate(
        &self,
        header: Option<&str>,
        required: bool,
    ) -> Result<Option<Credential>, Denial> {
        let identified = self.identify(header).await;
        let Some(caller) = identified.map_err(|e| self.identification_denial(&e))? else {
            return match required {
                true => Err(self.identification_denial(&CapabilityError::Required)),
                false => Ok(None),
            };
        };
        let deny = |e: CapabilityError| self.caller_denial(&caller, &e);
        self.revocation(&caller).await.map_err(deny)?;
        caller.check_validity(self.clock.now()).map_err(deny)?;
        Ok(Some(caller))
    }
}
