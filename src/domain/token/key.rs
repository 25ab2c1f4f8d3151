//! The master key: the raw HMAC key for every token chain (no KDF, as the reference).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Shortest key the reference accepts.
pub const MIN_KEY_BYTES: usize = 16;

/// Secret key bytes. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey(Vec<u8>);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MasterKeyError {
    #[error("master key is not valid base64")]
    NotBase64,
    #[error("master key must decode to at least 16 bytes")]
    TooShort,
}

impl MasterKey {
    /// Decodes the configured text by trying base64url-nopad, base64url-padded,
    /// std-padded and std-nopad in that order (the first that decodes wins).
    pub fn parse(text: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        let decoded = [URL_SAFE_NO_PAD, URL_SAFE, STANDARD, STANDARD_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or(MasterKeyError::NotBase64)?;
        Self::from_bytes(decoded)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, MasterKeyError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(MasterKeyError::TooShort);
        }
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The canonical text form (base64url without padding), as `igctl gen-key` prints.
    pub fn to_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(<{} bytes redacted>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_reference_encoding() {
        let want: Vec<u8> = (0u8..32).collect();
        for text in [
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ] {
            assert_eq!(MasterKey::parse(text).unwrap().as_bytes(), want.as_slice());
        }
        let std_chars = STANDARD.encode([0xfbu8; 20]);
        assert_eq!(MasterKey::parse(&std_chars).unwrap().as_bytes(), [0xfb; 20]);
    }

    #[test]
    fn rejects_short_and_garbage_keys() {
        assert_eq!(MasterKey::parse("AAEC"), Err(MasterKeyError::TooShort));
        assert_eq!(
            MasterKey::parse("not base64!"),
            Err(MasterKeyError::NotBase64)
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let key = MasterKey::from_bytes(vec![0x41; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "MasterKey(<32 bytes redacted>)");
    }
}
