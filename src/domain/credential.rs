//! Who is calling: a capability token or an OAuth access token, each verified. The
//! pipeline asks both the same questions; each answers from its own claims.

use serde_json::{Map, Value};

use crate::domain::audit::AuditEvent;
use crate::domain::budget::BudgetKey;
use crate::domain::mcp::SessionOwner;
use crate::domain::oauth::{AccessToken, AccessTokenError, tool_scope};
use crate::domain::time::Timestamp;
use crate::domain::token::{self, CapabilityError, Token};

#[derive(Clone, Debug)]
pub enum Credential {
    Capability(Token),
    Access(AccessToken),
}

/// Marks budget counters and session owners of OAuth callers, apart from capability
/// tokens' (whose `jti`s are gateway-made base64url and never start so).
const OAUTH_KEY_PREFIX: &str = "oauth:";

impl Credential {
    pub fn tenant(&self) -> &str {
        match self {
            Self::Capability(t) => &t.tenant,
            Self::Access(a) => &a.tenant,
        }
    }

    pub fn subject(&self) -> &str {
        match self {
            Self::Capability(t) => &t.sub,
            Self::Access(a) => &a.subject,
        }
    }

    /// The id revocations are looked up by; empty for an access token without `jti`.
    pub fn token_id(&self) -> &str {
        match self {
            Self::Capability(t) => &t.jti,
            Self::Access(a) => &a.token_id,
        }
    }

    /// The root token an approval row names (none for access tokens).
    pub fn root_token_id(&self) -> &str {
        match self {
            Self::Capability(t) => &t.root_jti,
            Self::Access(_) => "",
        }
    }

    /// Everything the audit event records about the caller.
    pub fn stamp(&self, e: &mut AuditEvent) {
        e.tenant = self.tenant().to_owned();
        e.agent_id = self.subject().to_owned();
        e.capability_token_id = self.token_id().to_owned();
        match self {
            Self::Capability(t) => {
                e.root_capability_token_id.clone_from(&t.root_jti);
                e.caveat_count = i64::try_from(t.cav.len()).unwrap_or(i64::MAX);
            }
            Self::Access(a) => {
                e.token_issuer.clone_from(&a.issuer);
                e.client_id.clone_from(&a.client_id);
            }
        }
    }

    /// Whom a session opened by `caller` belongs to (anonymous callers share one).
    pub fn owner_of(caller: Option<&Self>) -> SessionOwner {
        caller.map_or_else(SessionOwner::default, Self::session_owner)
    }

    /// Whom a session opened with this credential belongs to: the same subject of the
    /// same token lineage (capability) or the same issuer and client (OAuth).
    pub fn session_owner(&self) -> SessionOwner {
        SessionOwner {
            tenant: self.tenant().to_owned(),
            subject: self.subject().to_owned(),
            root_jti: match self {
                Self::Capability(t) => t.root_jti.clone(),
                Self::Access(a) => format!("{OAUTH_KEY_PREFIX}{} {}", a.issuer, a.client_id),
            },
        }
    }

    /// Whether the credential opens `tool` (what `tools/list` shows).
    pub fn allows_tool(&self, tool: &str) -> bool {
        match self {
            Self::Capability(t) => token::allows_tool(t, tool),
            Self::Access(a) => a.allows_tool(tool),
        }
    }

    /// Everything a call to `tool` needs of the credential at `now`. An access token's
    /// times were checked when it was verified, in this same request.
    pub fn check_call(&self, now: Timestamp, tool: &str) -> Result<(), CapabilityError> {
        match self {
            Self::Capability(t) => token::check_claims(t, now, tool),
            Self::Access(a) => match a.allows_tool(tool) {
                true => Ok(()),
                false => Err(CapabilityError::InsufficientScope(tool_scope(tool))),
            },
        }
    }

    /// Whether the credential is good at `now` at all (MCP methods other than a call).
    pub fn check_validity(&self, now: Timestamp) -> Result<(), CapabilityError> {
        match self {
            Self::Capability(t) => token::check_validity(t, now),
            Self::Access(_) => Ok(()),
        }
    }

    /// The limits on the caller's calls: the token's `max_calls` caveats, or the
    /// configured per-subject limit of OAuth callers. Empty: no budget applies.
    pub fn call_limits(&self) -> Vec<u64> {
        match self {
            Self::Capability(t) => t.call_limits(),
            Self::Access(a) => a.max_calls.into_iter().collect(),
        }
    }

    /// The counter the caller's calls are counted on: the token's `jti` (attenuated
    /// children share it), or one per issuer and subject for OAuth callers, whatever
    /// token they present.
    pub fn budget_key(&self) -> BudgetKey {
        match self {
            Self::Capability(t) => BudgetKey {
                tenant: t.tenant.clone(),
                jti: t.jti.clone(),
            },
            Self::Access(a) => BudgetKey {
                tenant: a.tenant.clone(),
                jti: format!("{OAUTH_KEY_PREFIX}{} {}", a.issuer, a.subject),
            },
        }
    }

    /// Adds the caller to the policy input: `agent_id`, and `capability` for a
    /// capability token (as the reference) or `oauth` with the verified claims.
    pub fn describe_to_policy(&self, input: &mut Map<String, Value>) {
        input.insert("agent_id".into(), Value::String(self.subject().to_owned()));
        match self {
            Self::Capability(t) => {
                let mut cap = Map::new();
                cap.insert("subject".into(), Value::String(t.sub.clone()));
                cap.insert("tenant".into(), Value::String(t.tenant.clone()));
                if let Some(at) = t.step_up_at().filter(|at| *at != 0) {
                    cap.insert("step_up_at".into(), Value::from(at));
                }
                input.insert("capability".into(), Value::Object(cap));
            }
            Self::Access(a) => {
                let strings = |v: &[String]| v.iter().cloned().map(Value::String).collect();
                let mut oauth = Map::new();
                oauth.insert("issuer".into(), Value::String(a.issuer.clone()));
                oauth.insert("subject".into(), Value::String(a.subject.clone()));
                oauth.insert("client_id".into(), Value::String(a.client_id.clone()));
                oauth.insert("tenant".into(), Value::String(a.tenant.clone()));
                oauth.insert("scopes".into(), Value::Array(strings(&a.scopes)));
                oauth.insert("claims".into(), Value::Object(a.claims.clone()));
                input.insert("oauth".into(), Value::Object(oauth));
            }
        }
    }
}

impl From<AccessTokenError> for CapabilityError {
    fn from(e: AccessTokenError) -> Self {
        Self::AccessToken(e)
    }
}
