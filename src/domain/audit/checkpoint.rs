//! Checkpoints: a chain's tree size and root in the C2SP `tlog-checkpoint` format,
//! signed as a C2SP `signed-note` with Ed25519, so Go's `sumdb/note` (and any other
//! implementation of the two specs) opens and checks them.
//!
//! The key is named after the gateway (`INTENTGATE_LOG_NAME`); each chain's origin
//! line is `<log name>/<chain, percent-encoded>`, so one key signs every tenant's
//! checkpoints and no two tenants' checkpoints can be mistaken for each other.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::Checkpoint;

use super::merkle::Hash;
use crate::domain::gojson::ObjectWriter;
use crate::domain::time::Timestamp;
use crate::domain::urlencode::percent_encode;

/// The signature algorithm byte of an Ed25519 signed-note key.
const ALG_ED25519: u8 = 1;

/// Why a checkpoint could not be made or opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// A log name a signed note cannot carry (empty, spaces or `+`).
    #[error("log name {0:?} is not a valid signed-note key name (no spaces or '+')")]
    BadName(String),
    #[error("verifier key is malformed: {0}")]
    BadVerifierKey(String),
    /// The note is not a well-formed checkpoint signed by the given key.
    #[error("checkpoint does not verify: {0}")]
    Unverified(String),
    #[error("checkpoint text is malformed")]
    Malformed,
    /// A good signature over another chain's (or another log's) checkpoint.
    #[error("checkpoint is for {found:?}, not {want:?}")]
    WrongOrigin { found: String, want: String },
}

/// A checkpoint as issued and kept in a chain's history.
#[derive(Clone, Debug, PartialEq)]
pub struct SignedCheckpoint {
    pub chain: String,
    /// Leaves (records) the tree had.
    pub size: u64,
    pub root: Hash,
    /// The whole signed note: checkpoint text, blank line, signature line.
    pub note: String,
    pub issued_at: Timestamp,
}

/// The webhook and SIEM event type of a newly issued checkpoint.
pub const CHECKPOINT_EVENT: &str = "intentgate.audit_checkpoint";

impl SignedCheckpoint {
    /// The event the webhook and SIEM sinks deliver when this checkpoint is issued, so
    /// copies of every checkpoint live outside the gateway's control (witnessing):
    /// `{"event","schema_version","timestamp","severity","chain","tree_size",
    /// "root_hash" (base64),"checkpoint" (the signed note)}`.
    pub fn to_event_json(&self) -> String {
        let mut out = String::with_capacity(self.note.len() + 256);
        let mut w = ObjectWriter::new(&mut out);
        w.str("event", CHECKPOINT_EVENT).str("schema_version", "1");
        w.str("timestamp", &self.issued_at.to_rfc3339_nano())
            .str("severity", "info");
        w.str("chain", &self.chain)
            .int("tree_size", i64::try_from(self.size).unwrap_or(i64::MAX));
        w.str("root_hash", &STANDARD.encode(self.root.0))
            .str("checkpoint", &self.note);
        w.finish();
        out
    }
}

/// What an opened, verified checkpoint commits to.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenedCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

/// Signs checkpoints with the gateway's log key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct LogSigner {
    name: String,
    signer: StandardSigner,
    verifier_key: String,
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSigner")
            .field("verifier_key", &self.verifier_key)
            .finish_non_exhaustive()
    }
}

impl LogSigner {
    /// The signer named `name` whose Ed25519 key is made from `seed`.
    pub fn new(name: &str, seed: &[u8; 32]) -> Result<Self, CheckpointError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(CheckpointError::BadName(name.to_owned()));
        }
        let signing = ed25519_dalek::SigningKey::from_bytes(seed);
        let public = [&[ALG_ED25519][..], signing.verifying_key().as_bytes()].concat();
        let private = [&[ALG_ED25519][..], seed].concat();
        let id = signed_note::key_id(name, &public);
        let skey = format!("PRIVATE+KEY+{name}+{id:08x}+{}", STANDARD.encode(private));
        let signer =
            StandardSigner::new(&skey).map_err(|_| CheckpointError::BadName(name.to_owned()))?;
        Ok(Self {
            name: name.to_owned(),
            signer,
            verifier_key: signed_note::new_ed25519_verifier_key(name, &signing.verifying_key()),
        })
    }

    /// The public verifier key (`name+id+base64`), for auditors and `igctl`.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    /// The origin line of `chain`'s checkpoints.
    pub fn origin(&self, chain: &str) -> String {
        origin(&self.name, chain)
    }

    /// The signed checkpoint for `chain`'s tree of `size` leaves with `root`.
    pub fn sign(
        &self,
        chain: &str,
        size: u64,
        root: Hash,
        issued_at: Timestamp,
    ) -> Result<SignedCheckpoint, CheckpointError> {
        let text = Checkpoint::new(&self.origin(chain), size, root, "")
            .map_err(|_| CheckpointError::Malformed)?
            .to_bytes();
        let mut note = Note::new(&text, &[]).map_err(|_| CheckpointError::Malformed)?;
        note.add_sigs(&[&self.signer])
            .map_err(|_| CheckpointError::BadName(self.name.clone()))?;
        let note = String::from_utf8(note.to_bytes()).map_err(|_| CheckpointError::Malformed)?;
        Ok(SignedCheckpoint {
            chain: chain.to_owned(),
            size,
            root,
            note,
            issued_at,
        })
    }
}

/// The origin line of `chain`'s checkpoints in the log named `log_name`.
pub fn origin(log_name: &str, chain: &str) -> String {
    format!("{log_name}/{}", percent_encode(chain))
}

/// Opens `note` as a checkpoint of `chain`: signed with `verifier_key`, and naming the
/// origin that key's log gives `chain`, so one tenant's checkpoint cannot stand in for
/// another's.
pub fn open_for_chain(
    note: &str,
    verifier_key: &str,
    chain: &str,
) -> Result<OpenedCheckpoint, CheckpointError> {
    let opened = open(note, verifier_key)?;
    let log_name = verifier_key.trim().split('+').next().unwrap_or_default();
    let want = origin(log_name, chain);
    if opened.origin != want {
        return Err(CheckpointError::WrongOrigin {
            found: opened.origin,
            want,
        });
    }
    Ok(opened)
}

/// Opens `note` with `verifier_key`: the checkpoint it carries, if that key signed it.
pub fn open(note: &str, verifier_key: &str) -> Result<OpenedCheckpoint, CheckpointError> {
    let verifier = StandardVerifier::new(verifier_key.trim())
        .map_err(|e| CheckpointError::BadVerifierKey(e.to_string()))?;
    let note = Note::from_bytes(note.as_bytes())
        .map_err(|e| CheckpointError::Unverified(e.to_string()))?;
    note.verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| CheckpointError::Unverified(e.to_string()))?;
    let checkpoint = Checkpoint::from_bytes(note.text()).map_err(|_| CheckpointError::Malformed)?;
    Ok(OpenedCheckpoint {
        origin: checkpoint.origin().to_owned(),
        size: checkpoint.size(),
        root: *checkpoint.hash(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> LogSigner {
        LogSigner::new("gateway.example", &[7u8; 32]).unwrap()
    }

    #[test]
    fn a_signed_checkpoint_has_the_c2sp_layout_and_opens_with_the_verifier_key() {
        let signer = signer();
        let root = Hash([9u8; 32]);
        let issued = signer
            .sign("acme corp", 42, root, Timestamp::from_unix_seconds(0))
            .unwrap();
        let (text, signature) = issued.note.split_once("\n\n").unwrap();
        assert_eq!(
            text,
            format!(
                "gateway.example/acme%20corp\n42\n{}",
                STANDARD.encode([9u8; 32])
            )
        );
        assert!(
            signature.starts_with("\u{2014} gateway.example "),
            "{signature}"
        );
        let opened = open(&issued.note, signer.verifier_key()).unwrap();
        assert_eq!((opened.size, opened.root), (42, root));
        assert_eq!(opened.origin, "gateway.example/acme%20corp");
    }

    #[test]
    fn a_changed_checkpoint_or_another_key_does_not_open() {
        let signer = signer();
        let issued = signer
            .sign("t", 42, Hash([9u8; 32]), Timestamp::from_unix_seconds(0))
            .unwrap();
        let forged = issued.note.replacen("\n42\n", "\n43\n", 1);
        assert!(matches!(
            open(&forged, signer.verifier_key()),
            Err(CheckpointError::Unverified(_))
        ));
        let other = LogSigner::new("gateway.example", &[8u8; 32]).unwrap();
        assert!(open(&issued.note, other.verifier_key()).is_err());
    }

    #[test]
    fn a_checkpoint_opens_only_for_its_own_chain() {
        let signer = signer();
        let issued = signer
            .sign(
                "acme corp",
                3,
                Hash([9u8; 32]),
                Timestamp::from_unix_seconds(0),
            )
            .unwrap();
        let key = signer.verifier_key();
        assert_eq!(
            open_for_chain(&issued.note, key, "acme corp").unwrap().size,
            3
        );
        assert_eq!(
            open_for_chain(&issued.note, key, "globex"),
            Err(CheckpointError::WrongOrigin {
                found: "gateway.example/acme%20corp".into(),
                want: "gateway.example/globex".into(),
            })
        );
    }

    #[test]
    fn the_sink_event_carries_the_whole_note() {
        let issued = signer()
            .sign("acme", 3, Hash([9u8; 32]), Timestamp::from_unix_seconds(1))
            .unwrap();
        let event: serde_json::Value = serde_json::from_str(&issued.to_event_json()).unwrap();
        assert_eq!(event["event"], "intentgate.audit_checkpoint");
        assert_eq!(event["timestamp"], "1970-01-01T00:00:01Z");
        assert_eq!(
            (event["chain"].as_str(), event["tree_size"].as_u64()),
            (Some("acme"), Some(3))
        );
        assert_eq!(event["root_hash"], STANDARD.encode([9u8; 32]));
        assert_eq!(event["checkpoint"], issued.note.as_str());
    }

    #[test]
    fn names_a_note_cannot_carry_are_refused() {
        for name in ["", "has space", "a+b"] {
            assert!(matches!(
                LogSigner::new(name, &[1u8; 32]),
                Err(CheckpointError::BadName(_))
            ));
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let text = format!("{:?}", signer());
        assert!(text.contains("verifier_key") && !text.contains("PRIVATE"));
    }
}
