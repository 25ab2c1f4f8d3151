//! The log's checkpoints from an auditor's side: `igctl audit log-key` prints the key
//! that opens them, and `igctl audit verify-consistency OLD NEW` checks that a later
//! checkpoint extends an earlier one, which a rewritten log cannot show.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use intentgate::bootstrap::existing_log_signer;
use intentgate::config::CheckpointSettings;
use intentgate::domain::audit::checkpoint::{OpenedCheckpoint, open};
use intentgate::domain::audit::merkle::{Hash, check_consistency};
use reqwest::Method;
use serde_json::{Value, json};

use crate::Done;
use crate::admin::{Admin, GatewayArgs, QueryString};

#[derive(Args)]
pub struct LogKeyArgs {
    /// The gateway's data directory, holding `log.key` (ignored when
    /// `INTENTGATE_LOG_KEY` is set). `INTENTGATE_LOG_NAME` names the key.
    #[arg(long, env = "INTENTGATE_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
}

/// Prints the verifier key (`<name>+<id>+<base64>`) of the gateway's log key.
pub fn log_key(args: &LogKeyArgs) -> Result<String, String> {
    let (settings, errors) = CheckpointSettings::from_lookup(|k| std::env::var(k).ok());
    if let Some(first) = errors.first() {
        return Err(first.clone());
    }
    let signer = existing_log_signer(&settings, &args.data_dir)?;
    Ok(signer.verifier_key().to_owned())
}

#[derive(Args)]
pub struct ConsistencyArgs {
    /// The older checkpoint: a file holding the signed note, or the JSON of
    /// `GET /v1/admin/audit/checkpoint` (or of a checkpoint webhook or SIEM event).
    old: PathBuf,
    /// The newer checkpoint, in the same forms.
    new: PathBuf,
    /// The log's verifier key (`igctl audit log-key`).
    #[arg(long)]
    key: String,
    /// The consistency proof as JSON (`GET /v1/admin/audit/proof/consistency`);
    /// without it the proof is asked of the gateway.
    #[arg(long)]
    proof: Option<PathBuf>,
    #[command(flatten)]
    gateway: GatewayArgs,
}

/// Prints `{"ok","origin","from_size","to_size"}` (and `reason` when not ok); exits 1
/// unless NEW provably extends OLD.
pub async fn verify_consistency(args: ConsistencyArgs) -> Result<Done, String> {
    let old = open_file(&args.old, &args.key)?;
    let new = open_file(&args.new, &args.key)?;
    let verdict = |ok: bool, reason: Option<String>| {
        let mut v =
            json!({"ok": ok, "origin": new.origin, "from_size": old.size, "to_size": new.size});
        if let Some(reason) = reason {
            v["reason"] = json!(reason);
        }
        Done {
            stdout: v.to_string(),
            code: if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            },
        }
    };
    if let Some(reason) = incomparable(&old, &new) {
        return Ok(verdict(false, Some(reason)));
    }
    if old.size == new.size {
        return Ok(verdict(true, None));
    }
    let proof = match &args.proof {
        Some(path) => proof_hashes(&read_json(path)?)?,
        None => ask_proof(args.gateway, &new.origin, old.size, new.size).await?,
    };
    Ok(
        match check_consistency(&proof, old.size, old.root, new.size, new.root) {
            true => verdict(true, None),
            false => verdict(
                false,
                Some("the consistency proof does not check: NEW does not extend OLD".into()),
            ),
        },
    )
}

/// Why two checkpoints cannot be one log's history, if they cannot.
fn incomparable(old: &OpenedCheckpoint, new: &OpenedCheckpoint) -> Option<String> {
    if old.origin != new.origin {
        return Some(format!(
            "the checkpoints are of different logs: {:?} and {:?}",
            old.origin, new.origin
        ));
    }
    if old.size > new.size {
        return Some(format!(
            "OLD ({}) is larger than NEW ({})",
            old.size, new.size
        ));
    }
    (old.size == new.size && old.root != new.root)
        .then(|| "same size, different roots: the log was rewritten".to_owned())
}

/// A checkpoint file opened with `key`: a bare note, or JSON with a `checkpoint` field.
fn open_file(path: &Path, key: &str) -> Result<OpenedCheckpoint, String> {
    let fail = |e: String| format!("{}: {e}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let note = match text.trim_start().starts_with('{') {
        true => serde_json::from_str::<Value>(&text)
            .map_err(|e| fail(e.to_string()))?
            .get("checkpoint")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| fail("no \"checkpoint\" string in the JSON".into()))?,
        false => text,
    };
    open(&note, key).map_err(|e| fail(e.to_string()))
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The `proof` array of base64 hashes.
fn proof_hashes(answer: &Value) -> Result<Vec<Hash>, String> {
    let items = answer
        .get("proof")
        .and_then(Value::as_array)
        .ok_or("the proof JSON has no \"proof\" array")?;
    items
        .iter()
        .map(|item| {
            let bytes = item
                .as_str()
                .and_then(|b64| STANDARD.decode(b64).ok())
                .ok_or("proof hashes must be base64 strings")?;
            Ok(Hash(
                bytes
                    .try_into()
                    .map_err(|_| "proof hashes must be 32 bytes")?,
            ))
        })
        .collect()
}

/// Asks the gateway for the proof between the two sizes of the origin's chain.
async fn ask_proof(
    gateway: GatewayArgs,
    origin: &str,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, String> {
    let encoded = origin.split_once('/').map_or("", |(_, chain)| chain);
    let chain = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .map_err(|e| format!("origin {origin:?}: {e}"))?;
    let mut q = QueryString::default();
    q.add("tenant", Some(&chain));
    q.add("from_size", Some(&from.to_string()));
    q.add("to_size", Some(&to.to_string()));
    let path = format!("/v1/admin/audit/proof/consistency{}", q.as_str());
    let answer = Admin::new(gateway)?.call(Method::GET, &path, None).await?;
    let answer: Value =
        serde_json::from_str(&answer).map_err(|e| format!("the gateway's proof: {e}"))?;
    proof_hashes(&answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use intentgate::domain::audit::merkle::Hash;

    fn at(origin: &str, size: u64, root: u8) -> OpenedCheckpoint {
        OpenedCheckpoint {
            origin: origin.into(),
            size,
            root: Hash([root; 32]),
        }
    }

    #[test]
    fn checkpoints_of_other_logs_shrinking_or_forked_are_incomparable() {
        assert_eq!(incomparable(&at("g/a", 3, 1), &at("g/a", 5, 2)), None);
        assert_eq!(incomparable(&at("g/a", 5, 1), &at("g/a", 5, 1)), None);
        assert!(incomparable(&at("g/a", 3, 1), &at("g/b", 5, 2)).is_some());
        assert!(incomparable(&at("g/a", 6, 1), &at("g/a", 5, 2)).is_some());
        let forked = incomparable(&at("g/a", 5, 1), &at("g/a", 5, 2)).unwrap();
        assert!(forked.contains("rewritten"), "{forked}");
    }

    #[test]
    fn proofs_must_be_base64_hashes_of_32_bytes() {
        let good = json!({"proof": [STANDARD.encode([7u8; 32])]});
        assert_eq!(proof_hashes(&good).unwrap(), vec![Hash([7u8; 32])]);
        assert!(proof_hashes(&json!({"proof": ["AAAA"]})).is_err());
        assert!(proof_hashes(&json!({})).is_err());
    }
}
