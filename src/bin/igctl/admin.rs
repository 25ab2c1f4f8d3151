//! Admin API commands: thin wrappers over the gateway's `/v1/admin/*` routes. Each
//! prints the gateway's JSON answer on 200 and otherwise fails with
//! `gateway returned HTTP <code>: <body>`, as the reference's `igctl revoke`.

use std::error::Error as _;

use clap::Args;
use intentgate::domain::urlencode::percent_encode;
use reqwest::{Method, Response};

/// Where the gateway is and how to authenticate; shared by every admin command.
#[derive(Args)]
pub struct GatewayArgs {
    /// Gateway base URL, e.g. `http://localhost:8080`.
    #[arg(long, env = "INTENTGATE_GATEWAY_URL")]
    gateway: Option<String>,
    /// Admin bearer token (the superadmin's or a tenant admin's).
    #[arg(long, env = "INTENTGATE_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

/// `limit` / `offset`; the gateway clamps them and echoes what it used.
#[derive(Args)]
pub struct Page {
    /// Page size (default 100, at most 1000).
    #[arg(long)]
    limit: Option<u32>,
    /// Rows to skip.
    #[arg(long)]
    offset: Option<u32>,
}

impl Page {
    fn add_to(&self, q: &mut QueryString) {
        q.add("limit", self.limit.map(|n| n.to_string()).as_deref());
        q.add("offset", self.offset.map(|n| n.to_string()).as_deref());
    }
}

/// Which tenant's events and which time window; shared by the audit commands and
/// `agents`.
#[derive(Args)]
pub struct Window {
    /// Tenant (superadmin: any, empty = all tenants; tenant admins: their own).
    #[arg(long)]
    tenant: Option<String>,
    /// Inclusive lower bound, RFC 3339.
    #[arg(long)]
    from: Option<String>,
    /// Inclusive upper bound, RFC 3339.
    #[arg(long)]
    to: Option<String>,
}

impl Window {
    fn add_to(&self, q: &mut QueryString) {
        q.add("tenant", self.tenant.as_deref());
        q.add("from", self.from.as_deref());
        q.add("to", self.to.as_deref());
    }
}

/// The audit filters shared by query and export; string filters match exactly.
#[derive(Args)]
pub struct AuditFilters {
    #[command(flatten)]
    window: Window,
    #[arg(long)]
    agent_id: Option<String>,
    #[arg(long)]
    tool: Option<String>,
    /// `allow`, `block` or `escalate`.
    #[arg(long)]
    decision: Option<String>,
    /// `capability`, `intent`, `policy`, `budget` or `upstream`.
    #[arg(long)]
    check: Option<String>,
    /// Capability token id.
    #[arg(long)]
    jti: Option<String>,
    #[arg(long)]
    elevation_id: Option<String>,
}

impl AuditFilters {
    pub fn add_to(&self, q: &mut QueryString) {
        self.window.add_to(q);
        let filters = [
            ("agent_id", &self.agent_id),
            ("tool", &self.tool),
            ("decision", &self.decision),
            ("check", &self.check),
            ("jti", &self.jti),
            ("elevation_id", &self.elevation_id),
        ];
        for (key, value) in filters {
            q.add(key, value.as_deref());
        }
    }
}

#[derive(Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
    /// Token id to revoke.
    #[arg(long)]
    jti: String,
    /// Why, stored with the revocation.
    #[arg(long, default_value = "")]
    reason: String,
}

#[derive(Args)]
pub struct RevocationsArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
    #[command(flatten)]
    page: Page,
}

#[derive(Args)]
pub struct QueryArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
    #[command(flatten)]
    filters: AuditFilters,
    #[command(flatten)]
    page: Page,
    /// Also report the unpaged match count (`total`).
    #[arg(long)]
    count: bool,
}

#[derive(Args)]
pub struct AgentsArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
    #[command(flatten)]
    window: Window,
}

#[derive(Args)]
pub struct ApprovalListArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
    /// `pending`, `approved`, `rejected` or `timeout`; all when absent.
    #[arg(long)]
    status: Option<String>,
    #[command(flatten)]
    page: Page,
}

#[derive(Args)]
pub struct DecideArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
    /// The pending call's id.
    pending_id: String,
    #[command(flatten)]
    verdict: VerdictFlags,
    /// Who decides (`decided_by`).
    #[arg(long, default_value = "")]
    by: String,
    /// A note kept with the decision.
    #[arg(long, default_value = "")]
    note: String,
}

/// Exactly one of `--approve` and `--reject`.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct VerdictFlags {
    /// Let the call through.
    #[arg(long)]
    approve: bool,
    /// Deny the call.
    #[arg(long)]
    reject: bool,
}

pub async fn revoke(args: RevokeArgs) -> Result<String, String> {
    let body = serde_json::json!({"jti": args.jti, "reason": args.reason}).to_string();
    let admin = Admin::new(args.gateway)?;
    admin
        .call(Method::POST, "/v1/admin/revoke", Some(body))
        .await
}

pub async fn revocations(args: RevocationsArgs) -> Result<String, String> {
    let mut q = QueryString::default();
    args.page.add_to(&mut q);
    let path = format!("/v1/admin/revocations{}", q.as_str());
    Admin::new(args.gateway)?
        .call(Method::GET, &path, None)
        .await
}

pub async fn query(args: QueryArgs) -> Result<String, String> {
    let mut q = QueryString::default();
    args.filters.add_to(&mut q);
    args.page.add_to(&mut q);
    q.add("count", args.count.then_some("true"));
    let path = format!("/v1/admin/audit{}", q.as_str());
    Admin::new(args.gateway)?
        .call(Method::GET, &path, None)
        .await
}

pub async fn agents(args: AgentsArgs) -> Result<String, String> {
    let mut q = QueryString::default();
    args.window.add_to(&mut q);
    let path = format!("/v1/admin/agents{}", q.as_str());
    Admin::new(args.gateway)?
        .call(Method::GET, &path, None)
        .await
}

pub async fn approvals(args: ApprovalListArgs) -> Result<String, String> {
    let mut q = QueryString::default();
    q.add("status", args.status.as_deref());
    args.page.add_to(&mut q);
    let path = format!("/v1/admin/approvals{}", q.as_str());
    Admin::new(args.gateway)?
        .call(Method::GET, &path, None)
        .await
}

pub async fn decide(args: DecideArgs) -> Result<String, String> {
    let decision = if args.verdict.approve {
        "approve"
    } else {
        "reject"
    };
    let body = serde_json::json!({"decision": decision, "decided_by": args.by, "note": args.note})
        .to_string();
    let path = format!(
        "/v1/admin/approvals/{}/decide",
        percent_encode(&args.pending_id)
    );
    let admin = Admin::new(args.gateway)?;
    admin.call(Method::POST, &path, Some(body)).await
}

/// A client bound to one gateway and admin token.
pub struct Admin {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Admin {
    pub fn new(args: GatewayArgs) -> Result<Self, String> {
        let base =
            non_empty(args.gateway).ok_or("--gateway or INTENTGATE_GATEWAY_URL is required")?;
        let token = non_empty(args.admin_token)
            .ok_or("--admin-token or INTENTGATE_ADMIN_TOKEN is required")?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            client: reqwest::Client::new(),
        })
    }

    /// Sends one request; any status but 200 becomes an error carrying the body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Response, String> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .client
            .request(method, url.as_str())
            .header("Authorization", format!("Bearer {}", self.token));
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let response = request.send().await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        if status == 200 {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        Err(format!(
            "gateway returned HTTP {status}: {}",
            text.trim_end()
        ))
    }

    /// [`Admin::send`], answering the body without the encoder's trailing newline.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<String, String> {
        let response = self.send(method, path, body).await?;
        let text = response
            .text()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
        Ok(text.trim_end().to_owned())
    }
}

/// An error with its causes (`… : connection refused`), which reqwest's own message omits.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// A URL query string of the parameters that are present, percent-encoded.
#[derive(Default)]
pub struct QueryString(String);

impl QueryString {
    pub fn add(&mut self, key: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        self.0.push(if self.0.is_empty() { '?' } else { '&' });
        self.0.push_str(&percent_encode(key));
        self.0.push('=');
        self.0.push_str(&percent_encode(value));
    }

    /// `""` when no parameter is present, otherwise `?k=v&…`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_skip_absent_parameters() {
        let mut q = QueryString::default();
        assert_eq!(q.as_str(), "");
        q.add("tenant", Some("acme corp"));
        q.add("tool", None);
        q.add("count", Some("true"));
        assert_eq!(q.as_str(), "?tenant=acme%20corp&count=true");
    }
}
