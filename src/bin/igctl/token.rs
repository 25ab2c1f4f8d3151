//! Offline token commands: `gen-key`, `mint` and `decode`. No network, no audit event.

use intentgate::adapters::clock::SystemClock;
use intentgate::domain::gojson::indent;
use intentgate::domain::time::parse_go_duration;
use intentgate::domain::token::{Caveat, MasterKey, TokenClaims, decode, mint, new_token_id};
use intentgate::ports::Clock;

#[derive(clap::Args)]
pub struct MintArgs {
    /// Master key (base64 or base64url).
    // base64url keys start with `-` one time in 64 (`gen-key` prints such keys).
    #[arg(
        long,
        env = "INTENTGATE_MASTER_KEY",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    master_key: Option<String>,
    /// Agent id the token is bound to (`sub` and `agent_lock`).
    #[arg(long)]
    subject: String,
    /// Comma-separated tools the token may call (`tool_allow`).
    #[arg(long, default_value = "")]
    tools: String,
    /// Comma-separated tools the token may never call (`tool_deny`).
    #[arg(long, default_value = "")]
    forbidden: String,
    /// Call budget (`max_calls`); 0 means unlimited (no caveat).
    #[arg(long)]
    max_calls: Option<i64>,
    /// Lifetime as a Go duration (`1h`, `30m`, `1h30m`); 0 means no expiry.
    #[arg(long)]
    ttl: Option<String>,
    /// Issuer (`iss`); default `intentgate`.
    #[arg(long, default_value = "")]
    issuer: String,
    /// Tenant the token belongs to; default `default`.
    #[arg(long, default_value = "")]
    tenant: String,
    /// Also print the token JSON, indented, on stderr.
    #[arg(long)]
    pretty: bool,
}

fn random<const N: usize>() -> Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness available: {e}"))?;
    Ok(bytes)
}

pub fn gen_key() -> Result<String, String> {
    let key = MasterKey::from_bytes(random::<32>()?.to_vec()).map_err(|e| e.to_string())?;
    Ok(key.to_base64url())
}

/// Comma-separated items, trimmed, empty ones dropped.
fn csv(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn mint_token(args: MintArgs) -> Result<String, String> {
    let key_text = args
        .master_key
        .filter(|k| !k.is_empty())
        .ok_or("--master-key or INTENTGATE_MASTER_KEY is required")?;
    let key = MasterKey::parse(&key_text).map_err(|e| e.to_string())?;
    if args.subject.trim().is_empty() {
        return Err("--subject is required".into());
    }
    let now = SystemClock.now();
    let mut caveats = Vec::new();
    let (tools, forbidden) = (csv(&args.tools), csv(&args.forbidden));
    if !tools.is_empty() {
        caveats.push(Caveat::tool_allow(tools));
    }
    if !forbidden.is_empty() {
        caveats.push(Caveat::tool_deny(forbidden));
    }
    match args.max_calls {
        Some(n) if n < 0 => return Err("--max-calls must be >= 0".into()),
        Some(n) if n > 0 => caveats.push(Caveat::max_calls(n)),
        _ => {}
    }
    let expires_at = match args.ttl.as_deref().map(parse_go_duration).transpose() {
        Err(e) => return Err(format!("--ttl: {e}")),
        Ok(Some(nanos)) if nanos < 0 => return Err("--ttl must be >= 0".into()),
        Ok(ttl) => ttl.filter(|n| *n > 0).map(|nanos| now.plus_nanos(nanos)),
    };
    let request = TokenClaims {
        subject: args.subject,
        issuer: args.issuer,
        tenant: args.tenant,
        not_before: None,
        expires_at,
        caveats,
    };
    let token = mint(&key, request, new_token_id(now, random::<12>()?), now);
    if args.pretty {
        eprintln!("{}", indent(&token.to_json(), "  "));
    }
    Ok(token.encode())
}

pub fn decode_token(encoded: &str) -> Result<String, String> {
    let token = decode(encoded.trim()).map_err(|e| e.to_string())?;
    Ok(indent(&token.to_json(), "  "))
}
