//! Webhook payloads: which audit events become which webhook event (the reference's
//! filter, plus `intentgate.approval_timeout`; and `intentgate.audit_checkpoint` for
//! each checkpoint the log signs), the payload bytes, and the signatures
//! (`X-IntentGate-Signature` as the reference, plus Standard Webhooks headers).

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::audit::AuditEvent;
use super::audit::checkpoint::{CHECKPOINT_EVENT, SignedCheckpoint};
use super::gojson::ObjectWriter;

pub const DENY: &str = "intentgate.deny";
pub const ESCALATE: &str = "intentgate.escalate";
pub const STEP_UP_REQUIRED: &str = "intentgate.step_up_required";
pub const APPROVAL_TIMEOUT: &str = "intentgate.approval_timeout";

/// The reason prefix of a block caused by an expired approval window.
const EXPIRED: &str = "approval window expired";

/// One webhook delivery's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    pub event_type: &'static str,
    /// The JSON body, exactly as signed and sent.
    pub body: String,
}

/// The webhook events an audit event produces: none for routine allows and for
/// `admin/mint` / `admin/revoke`; one otherwise; an expired approval produces the
/// reference's `intentgate.deny` and also `intentgate.approval_timeout`.
pub fn project(e: &AuditEvent) -> Vec<Payload> {
    if e.tool == "admin/mint" || e.tool == "admin/revoke" {
        return Vec::new();
    }
    let kinds: Vec<(&'static str, &'static str)> = match e.decision.as_str() {
        "block" => {
            let severity = match e.check.as_str() {
                "capability" | "budget" | "upstream" => "critical",
                _ => "warning",
            };
            let mut kinds = vec![(DENY, severity)];
            if !e.pending_id.is_empty() && e.reason.starts_with(EXPIRED) {
                kinds.push((APPROVAL_TIMEOUT, "warning"));
            }
            kinds
        }
        "escalate" => vec![(ESCALATE, "warning")],
        "allow" if e.requires_step_up => vec![(STEP_UP_REQUIRED, "info")],
        _ => Vec::new(),
    };
    kinds
        .into_iter()
        .map(|(event_type, severity)| Payload {
            event_type,
            body: body(e, event_type, severity),
        })
        .collect()
}

/// The payload announcing a new checkpoint (see [`SignedCheckpoint::to_event_json`]).
pub fn checkpoint_payload(checkpoint: &SignedCheckpoint) -> Payload {
    Payload {
        event_type: CHECKPOINT_EVENT,
        body: checkpoint.to_event_json(),
    }
}

/// The reference's payload, field order and omit rules included, plus who issued an
/// OAuth caller's token.
fn body(e: &AuditEvent, event_type: &str, severity: &str) -> String {
    let mut out = String::with_capacity(320);
    let mut w = ObjectWriter::new(&mut out);
    w.str("event", event_type).str("schema_version", "1");
    w.str("timestamp", &e.ts.to_rfc3339_nano())
        .str("severity", severity);
    w.str_opt("tenant", &e.tenant).str("decision", &e.decision);
    w.str_opt("check", &e.check).str("tool", &e.tool);
    w.str_opt("agent_id", &e.agent_id)
        .str_opt("reason", &e.reason);
    w.true_opt("requires_step_up", e.requires_step_up);
    w.str_opt("capability_token_id", &e.capability_token_id)
        .str_opt("pending_id", &e.pending_id);
    // OAuth callers only (absent for capability tokens, as in the reference).
    w.str_opt("token_issuer", &e.token_issuer)
        .str_opt("client_id", &e.client_id);
    w.finish();
    out
}

/// `INTENTGATE_WEBHOOK_SECRET` as key bytes: 64 hex characters decode to 32 bytes,
/// anything else is used as its raw bytes.
pub fn secret_key(secret: &str) -> Vec<u8> {
    match hex::decode(secret) {
        Ok(bytes) if secret.len() == 64 => bytes,
        _ => secret.as_bytes().to_vec(),
    }
}

/// The Standard Webhooks key: a `whsec_<base64>` secret (the format its libraries
/// generate) is its decoded bytes; any other secret is keyed as [`secret_key`] does.
pub fn standard_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .unwrap_or_else(|| secret_key(secret))
}

fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail; an empty MAC would only
    // make receivers reject the delivery.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `X-IntentGate-Signature`: `sha256=<hex HMAC-SHA256(key, body)>`.
pub fn reference_signature(key: &[u8], body: &str) -> String {
    format!("sha256={}", hex::encode(mac(key, &[body.as_bytes()])))
}

/// Standard Webhooks `webhook-signature`: `v1,<base64 HMAC-SHA256(key, "id.ts.body")>`.
/// Binding the message id and timestamp into the MAC lets receivers reject replays.
pub fn standard_signature(key: &[u8], msg_id: &str, unix_ts: i64, body: &str) -> String {
    let ts = unix_ts.to_string();
    let sig = mac(
        key,
        &[
            msg_id.as_bytes(),
            b".",
            ts.as_bytes(),
            b".",
            body.as_bytes(),
        ],
    );
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(sig)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Timestamp;

    fn block(check: &str) -> AuditEvent {
        let mut e = AuditEvent::new(
            Timestamp::parse_rfc3339("2026-05-12T10:00:01.5Z").unwrap(),
            "block",
            "transfer_funds",
        );
        e.check = check.into();
        e.tenant = "acme".into();
        e.agent_id = "finance-bot".into();
        e.reason = "above threshold".into();
        e.capability_token_id = "cap-1".into();
        e
    }

    /// The reference vector (reference-admin-audit §8).
    #[test]
    fn reference_body_and_signature() {
        let p = project(&block("policy"));
        assert_eq!(p.len(), 1);
        assert_eq!(
            p[0].body,
            r#"{"event":"intentgate.deny","schema_version":"1","timestamp":"2026-05-12T10:00:01.5Z","severity":"warning","tenant":"acme","decision":"block","check":"policy","tool":"transfer_funds","agent_id":"finance-bot","reason":"above threshold","capability_token_id":"cap-1"}"#
        );
        assert_eq!(
            reference_signature(&secret_key("test-secret"), &p[0].body),
            "sha256=8688c62b1b86e4ca328fc94ef0e23607927998fac176463246cd54aad453a42e"
        );
    }

    #[test]
    fn the_reference_filter() {
        for check in ["capability", "budget", "upstream"] {
            assert!(
                project(&block(check))[0]
                    .body
                    .contains("\"severity\":\"critical\"")
            );
        }
        let mut esc = block("policy");
        esc.decision = "escalate".into();
        esc.pending_id = "p1".into();
        let p = project(&esc);
        assert_eq!(
            (p[0].event_type, p[0].body.contains("\"pending_id\":\"p1\"")),
            (ESCALATE, true)
        );
        let mut allow = block("");
        allow.decision = "allow".into();
        assert!(project(&allow).is_empty());
        allow.requires_step_up = true;
        assert_eq!(project(&allow)[0].event_type, STEP_UP_REQUIRED);
        let mut mint = block("capability");
        mint.tool = "admin/mint".into();
        assert!(project(&mint).is_empty());
    }

    #[test]
    fn expired_approvals_also_send_approval_timeout() {
        let mut e = block("policy");
        e.pending_id = "p1".into();
        e.reason = "approval window expired (5m0s)".into();
        let types: Vec<&str> = project(&e).iter().map(|p| p.event_type).collect();
        assert_eq!(types, [DENY, APPROVAL_TIMEOUT]);
    }

    #[test]
    fn whsec_secrets_key_standard_signatures_by_their_decoded_bytes() {
        assert_eq!(standard_key("whsec_aGVsbG8="), b"hello");
        assert_eq!(standard_key("plain"), b"plain");
        assert_eq!(
            secret_key("whsec_aGVsbG8="),
            b"whsec_aGVsbG8=",
            "reference key unchanged"
        );
    }

    #[test]
    fn hex_secrets_decode_and_standard_signatures_bind_id_and_time() {
        assert_eq!(secret_key(&"ab".repeat(32)).len(), 32);
        assert_eq!(secret_key("short"), b"short");
        let a = standard_signature(b"k", "msg_1", 10, "{}");
        assert!(a.starts_with("v1,"));
        assert_ne!(a, standard_signature(b"k", "msg_2", 10, "{}"));
        assert_ne!(a, standard_signature(b"k", "msg_1", 11, "{}"));
    }

    #[test]
    fn oauth_callers_are_named_by_issuer_and_client() {
        let mut e = block("capability");
        e.token_issuer = "https://login.example".into();
        e.client_id = "cli-1".into();
        let body = &project(&e)[0].body;
        assert!(
            body.ends_with(r#""capability_token_id":"cap-1","token_issuer":"https://login.example","client_id":"cli-1"}"#),
            "{body}"
        );
    }
}
