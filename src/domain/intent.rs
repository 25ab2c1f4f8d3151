//! The intent check: does the tool fit what the user asked for?

use serde::Deserialize;

/// What the extractor understood from the user's prompt. Missing members are empty,
/// so an empty reply allows every tool (the reference's behaviour).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Intent {
    pub summary: String,
    pub allowed_tools: Vec<String>,
    pub forbidden_tools: Vec<String>,
    pub confidence: f64,
    pub rationale: String,
}

/// A tool the intent does not cover; `Display` is the reference reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IntentMismatch {
    #[error("tool is in intent.forbidden_tools")]
    Forbidden,
    #[error("tool not in intent.allowed_tools")]
    NotAllowed,
}

/// Forbidden wins over allowed; an empty allow list enforces only the forbidden one.
/// On success returns the reason for logs.
pub fn check(intent: &Intent, tool: &str) -> Result<&'static str, IntentMismatch> {
    let listed = |list: &[String]| list.iter().any(|t| t == tool);
    if listed(&intent.forbidden_tools) {
        Err(IntentMismatch::Forbidden)
    } else if intent.allowed_tools.is_empty() {
        Ok("no allowed_tools specified, only forbidden enforced")
    } else if listed(&intent.allowed_tools) {
        Ok("tool is in intent.allowed_tools")
    } else {
        Err(IntentMismatch::NotAllowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(allowed: &[&str], forbidden: &[&str]) -> Intent {
        Intent {
            allowed_tools: allowed.iter().map(|s| (*s).to_owned()).collect(),
            forbidden_tools: forbidden.iter().map(|s| (*s).to_owned()).collect(),
            ..Intent::default()
        }
    }

    #[test]
    fn forbidden_beats_allowed() {
        let i = intent(&["a", "b"], &["b"]);
        assert_eq!(check(&i, "a"), Ok("tool is in intent.allowed_tools"));
        assert_eq!(check(&i, "b"), Err(IntentMismatch::Forbidden));
        assert_eq!(
            check(&i, "c").unwrap_err().to_string(),
            "tool not in intent.allowed_tools"
        );
    }

    #[test]
    fn empty_allow_list_enforces_only_forbidden() {
        let i = intent(&[], &["x"]);
        assert!(check(&i, "anything").is_ok());
        assert_eq!(
            check(&i, "x").unwrap_err().to_string(),
            "tool is in intent.forbidden_tools"
        );
        assert!(check(&Intent::default(), "t").is_ok());
    }
}
