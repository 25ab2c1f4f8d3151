//! The tags that group the API's operations in the OpenAPI document: one per `*Api`.

use poem_openapi::Tags;

#[derive(Tags)]
pub enum ApiTags {
    /// Agent traffic: MCP JSON-RPC and the legacy tool-call endpoint.
    DataPlane,
    /// Minting and revoking capability tokens.
    Tokens,
    /// Tenants known to the gateway.
    Tenants,
    /// The SIEM forwarders and their delivery state.
    Integrations,
    /// Querying, verifying and exporting the hash-chained audit log.
    Audit,
    /// Human decisions on escalated calls.
    Approvals,
    /// The agents the audit log has seen: discovery without integration.
    Agents,
    /// Liveness, readiness and metrics.
    Operations,
    /// Rego policy drafts, promotion, rollback and dry-runs.
    Policies,
}
