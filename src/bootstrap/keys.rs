//! The keys the gateway keeps in its data directory when none is configured: the
//! master key (capability tokens) and the log key (signed audit checkpoints). Each is
//! created once, readable by the owner only, and never logged.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use super::StartError;
use crate::config::CheckpointSettings;
use crate::domain::audit::checkpoint::LogSigner;
use crate::domain::token::MasterKey;

/// `INTENTGATE_LOG_KEY`, or `log.key` in `dir` (created on first start).
pub(super) fn log_signer(
    settings: &CheckpointSettings,
    dir: &Path,
) -> Result<LogSigner, StartError> {
    let seed = match &settings.log_key {
        Some(text) => parse_seed(text.expose())
            .map_err(|e| StartError::LogKey(format!("INTENTGATE_LOG_KEY: {e}")))?,
        None => load_or_create_seed(&dir.join("log.key"))?,
    };
    LogSigner::new(&settings.log_name, &seed).map_err(|e| StartError::LogKey(e.to_string()))
}

/// The log key the gateway would use, without creating one: `INTENTGATE_LOG_KEY`, or
/// an existing `log.key` in `dir` (`igctl audit log-key`).
pub fn existing_log_signer(settings: &CheckpointSettings, dir: &Path) -> Result<LogSigner, String> {
    let seed = match &settings.log_key {
        Some(text) => parse_seed(text.expose()).map_err(|e| format!("INTENTGATE_LOG_KEY: {e}"))?,
        None => {
            let path = dir.join("log.key");
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "{}: {e} (set INTENTGATE_DATA_DIR or INTENTGATE_LOG_KEY)",
                    path.display()
                )
            })?;
            parse_seed(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
    };
    LogSigner::new(&settings.log_name, &seed).map_err(|e| e.to_string())
}

/// 32 bytes in any base64 alphabet, padded or not.
fn parse_seed(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    [URL_SAFE_NO_PAD, URL_SAFE, STANDARD, STANDARD_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| "not base64".to_owned())?
        .try_into()
        .map_err(|bytes: Vec<u8>| format!("decodes to {} bytes, not 32", bytes.len()))
}

fn load_or_create_seed(path: &Path) -> Result<[u8; 32], StartError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        StartError::LogKey(format!("{what} {}: {e}", path.display()))
    };
    if let Ok(text) = std::fs::read_to_string(path) {
        return parse_seed(&text).map_err(|e| fail("parse", &e));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail("create directory for", &e))?;
    }
    let seed = crate::app::random_bytes::<32>().map_err(|e| fail("generate", &e))?;
    write_private(path, URL_SAFE_NO_PAD.encode(seed).as_bytes()).map_err(|e| fail("write", &e))?;
    tracing::warn!(path = %path.display(), "generated a new log key for audit checkpoints; publish its verifier key (igctl audit log-key)");
    Ok(seed)
}

pub(super) fn load_or_create_master_key(dir: &Path) -> Result<MasterKey, StartError> {
    let path = dir.join("master.key");
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        StartError::MasterKey(format!("{what} {}: {e}", path.display()))
    };
    if let Ok(text) = std::fs::read_to_string(&path) {
        return MasterKey::parse(&text).map_err(|e| fail("parse", &e));
    }
    std::fs::create_dir_all(dir).map_err(|e| fail("create directory for", &e))?;
    let bytes = crate::app::random_bytes::<32>().map_err(|e| fail("generate", &e))?;
    let key = MasterKey::from_bytes(bytes.to_vec()).map_err(|e| fail("generate", &e))?;
    write_private(&path, key.to_base64url().as_bytes()).map_err(|e| fail("write", &e))?;
    tracing::warn!(path = %path.display(), "generated a new master key; tokens minted elsewhere will not verify");
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::credentials::Secret;

    fn settings(key: Option<&str>) -> CheckpointSettings {
        CheckpointSettings {
            log_name: "gw".into(),
            log_key: key.map(Secret::new),
            interval: None,
            entries: 0,
        }
    }

    #[test]
    fn the_log_key_file_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = log_signer(&settings(None), dir.path()).unwrap();
        let again = log_signer(&settings(None), dir.path()).unwrap();
        assert_eq!(first.verifier_key(), again.verifier_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("log.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_configured_key_wins_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let seed = URL_SAFE_NO_PAD.encode([5u8; 32]);
        let configured = log_signer(&settings(Some(&seed)), dir.path()).unwrap();
        let direct = LogSigner::new("gw", &[5u8; 32]).unwrap();
        assert_eq!(configured.verifier_key(), direct.verifier_key());
        assert!(!dir.path().join("log.key").exists());
        let short = log_signer(&settings(Some("AAAA")), dir.path()).unwrap_err();
        assert!(
            short
                .to_string()
                .contains("INTENTGATE_LOG_KEY: decodes to 3 bytes"),
            "{short}"
        );
    }
}
