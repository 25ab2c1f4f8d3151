//! Capability tokens, schema v3, byte-compatible with the reference gateway and its SDKs.
//!
//! A token is `base64url_nopad(JSON)` of a fixed-order object whose `sig` is an HMAC
//! chain: the master key MACs the header fields, then each caveat is MACed with the
//! previous link as key. Holders can therefore append caveats (attenuate) offline,
//! but never remove one.

mod decode;
mod key;
mod mint;
mod verify;

pub use decode::decode;
pub use key::{MasterKey, MasterKeyError};
pub use mint::{AttenuateError, TokenClaims, attenuate, mint, new_token_id, sign};
pub use verify::{
    CapabilityError, CaveatFailure, allows_tool, check_claims, check_structure, check_validity,
    verify_offline, verify_signature,
};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::gojson::ObjectWriter;

/// The only token schema this gateway accepts.
pub const SCHEMA_VERSION: i64 = 3;

type HmacSha256 = Hmac<Sha256>;

/// base64url without padding; tolerant of non-zero trailing bits like Go's decoder.
pub(crate) const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// A decoded token. Fields keep the exact values that were signed: verification
/// re-serializes them, so nothing here is normalised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Token {
    pub v: i64,
    pub jti: String,
    pub root_jti: String,
    pub iss: String,
    pub tenant: String,
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub cav: Vec<Caveat>,
    pub sig: String,
}

/// One caveat as it travels: a tagged union flattened into one struct, because the MAC
/// covers whichever members are present, whatever the tag says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caveat {
    pub t: String,
    pub tools: Vec<String>,
    pub agent: String,
    pub exp: i64,
    pub max_calls: i64,
    pub step_up_at: i64,
}

impl Caveat {
    pub fn agent_lock(agent: &str) -> Self {
        Self {
            t: "agent_lock".into(),
            agent: agent.into(),
            ..Self::default()
        }
    }

    pub fn expires_at(exp_unix: i64) -> Self {
        Self {
            t: "exp".into(),
            exp: exp_unix,
            ..Self::default()
        }
    }

    pub fn tool_allow(tools: Vec<String>) -> Self {
        Self {
            t: "tool_allow".into(),
            tools,
            ..Self::default()
        }
    }

    pub fn tool_deny(tools: Vec<String>) -> Self {
        Self {
            t: "tool_deny".into(),
            tools,
            ..Self::default()
        }
    }

    pub fn max_calls(limit: i64) -> Self {
        Self {
            t: "max_calls".into(),
            max_calls: limit,
            ..Self::default()
        }
    }

    pub fn step_up(at_unix: i64) -> Self {
        Self {
            t: "step_up".into(),
            step_up_at: at_unix,
            ..Self::default()
        }
    }

    /// Go JSON of the caveat: `t` always, every other member only when non-empty.
    pub fn canonical_json(&self) -> String {
        let mut out = String::with_capacity(64);
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        let mut w = ObjectWriter::new(out);
        w.str("t", &self.t)
            .strs_opt("tools", &self.tools)
            .str_opt("agent", &self.agent);
        w.int_opt("exp", self.exp)
            .int_opt("max_calls", self.max_calls);
        w.int_opt("step_up_at", self.step_up_at);
        w.finish();
    }
}

impl Token {
    /// The MAC input for the chain's first link: the header fields in schema order.
    pub fn canonical_payload(&self) -> String {
        let mut out = String::with_capacity(256);
        let mut w = ObjectWriter::new(&mut out);
        self.write_header(&mut w);
        w.finish();
        out
    }

    fn write_header(&self, w: &mut ObjectWriter<'_>) {
        w.int("v", self.v)
            .str("jti", &self.jti)
            .str("root_jti", &self.root_jti);
        w.str("iss", &self.iss)
            .str("tenant", &self.tenant)
            .str("sub", &self.sub);
        w.int("iat", self.iat).int_opt("nbf", self.nbf);
    }

    /// The token object exactly as the reference serializes it.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        let mut w = ObjectWriter::new(&mut out);
        self.write_header(&mut w);
        if !self.cav.is_empty() {
            let mut list = String::with_capacity(64 * self.cav.len());
            list.push('[');
            for (i, caveat) in self.cav.iter().enumerate() {
                if i > 0 {
                    list.push(',');
                }
                caveat.write_json(&mut list);
            }
            list.push(']');
            w.raw("cav", &list);
        }
        w.str("sig", &self.sig);
        w.finish();
        out
    }

    /// The wire form: base64url without padding of [`Token::to_json`].
    pub fn encode(&self) -> String {
        B64.encode(self.to_json())
    }

    /// The positive `max_calls` limits in chain order (the budget reason names the first
    /// exceeded one, so order matters; zero and negative limits are ignored).
    pub fn call_limits(&self) -> Vec<u64> {
        self.cav
            .iter()
            .filter(|c| c.t == "max_calls" && c.max_calls > 0)
            .filter_map(|c| u64::try_from(c.max_calls).ok())
            .collect()
    }

    /// The latest `step_up` timestamp, surfaced to policy as `capability.step_up_at`.
    pub fn step_up_at(&self) -> Option<i64> {
        self.cav
            .iter()
            .filter(|c| c.t == "step_up")
            .map(|c| c.step_up_at)
            .max()
    }
}

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so construction cannot fail.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        unreachable!("HMAC-SHA256 takes keys of any length")
    };
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// The full chain value for a token under `key`: payload first, then every caveat.
fn signature_bytes(key: &[u8], token: &Token) -> [u8; 32] {
    let mut link = hmac(key, token.canonical_payload().as_bytes());
    for caveat in &token.cav {
        link = hmac(&link, caveat.canonical_json().as_bytes());
    }
    link
}
