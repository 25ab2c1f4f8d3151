//! An issuer's signing keys, read from its JWKS.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::Value;

/// The usable public keys of one issuer.
#[derive(Clone, Default)]
pub struct IssuerKeys {
    keys: Vec<Key>,
    /// Keys the set held that cannot verify a token (symmetric, encryption-only, or
    /// unreadable), for the operator's log.
    pub skipped: usize,
}

#[derive(Clone)]
struct Key {
    kid: Option<String>,
    alg: Option<Algorithm>,
    family: AlgorithmFamily,
    key: DecodingKey,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        f.debug_struct("IssuerKeys")
            .field("kids", &kids)
            .field("skipped", &self.skipped)
            .finish()
    }
}

impl IssuerKeys {
    /// Reads a JWKS document (`{"keys":[…]}`) key by key: a key this gateway cannot use
    /// is skipped, not a reason to distrust the others. Symmetric (`oct`) keys are never
    /// used: a published key must not become an HMAC secret.
    pub fn from_jwks(document: &Value) -> Result<Self, String> {
        let list = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| "JWKS has no \"keys\" array".to_owned())?;
        let mut keys = Self::default();
        for entry in list {
            match usable(entry) {
                Some(key) => keys.keys.push(key),
                None => keys.skipped += 1,
            }
        }
        Ok(keys)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key named `kid` that can verify `alg`; without a `kid`, the only such key.
    pub fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<&DecodingKey> {
        let fits = |k: &&Key| k.family == family(alg) && k.alg.is_none_or(|a| a == alg);
        let mut candidates = self.keys.iter().filter(fits);
        let found = match kid {
            Some(kid) => candidates.find(|k| k.kid.as_deref() == Some(kid)),
            None => match (candidates.next(), candidates.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            },
        };
        found.map(|k| &k.key)
    }
}

fn usable(entry: &Value) -> Option<Key> {
    let jwk: Jwk = serde_json::from_value(entry.clone()).ok()?;
    if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
        return None;
    }
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
        AlgorithmParameters::EllipticCurve(_) => AlgorithmFamily::Ec,
        AlgorithmParameters::OctetKeyPair(_) => AlgorithmFamily::Ed,
        AlgorithmParameters::OctetKey(_) => return None,
    };
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(a) => Some(signing_algorithm(a)?),
    };
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        family,
        key: DecodingKey::from_jwk(&jwk).ok()?,
    })
}

/// A JWK `alg` that names a signature algorithm; `None` for encryption ones.
fn signing_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// The key family `alg` needs. HMAC keys are never held, so anything else falls there.
fn family(alg: Algorithm) -> AlgorithmFamily {
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => AlgorithmFamily::Rsa,
        Algorithm::ES256 | Algorithm::ES384 => AlgorithmFamily::Ec,
        Algorithm::EdDSA => AlgorithmFamily::Ed,
        _ => AlgorithmFamily::Hmac,
    }
}
