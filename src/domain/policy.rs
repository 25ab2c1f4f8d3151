//! Policy drafts and the per-tenant active pointer (current + one step of history).

use super::gojson::ObjectWriter;
use super::time::Timestamp;

/// A stored Rego module that can be promoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyDraft {
    /// 16 lowercase hex characters.
    pub id: String,
    pub name: String,
    pub description: String,
    pub rego_source: String,
    /// Owner tenant; empty for superadmin drafts.
    pub tenant: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: String,
}

/// The editable part of a draft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftUpdate {
    pub name: String,
    pub description: String,
    pub rego_source: String,
    pub at: Timestamp,
}

/// The active pointer of one tenant slot (`""` is the default-fallback slot).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivePolicy {
    pub tenant: String,
    pub current_draft_id: String,
    pub previous_draft_id: String,
    pub promoted_at: Option<Timestamp>,
    pub promoted_by: String,
}

/// Lowercase hex of 8 random bytes, supplied by the caller.
pub fn new_draft_id(random: [u8; 8]) -> String {
    hex::encode(random)
}

impl PolicyDraft {
    pub fn apply(&self, update: &DraftUpdate) -> PolicyDraft {
        PolicyDraft {
            name: update.name.clone(),
            description: update.description.clone(),
            rego_source: update.rego_source.clone(),
            updated_at: update.at,
            ..self.clone()
        }
    }

    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256 + self.rego_source.len());
        let mut w = ObjectWriter::new(&mut out);
        w.str("id", &self.id)
            .str("name", &self.name)
            .str_opt("description", &self.description);
        w.str("rego_source", &self.rego_source)
            .str_opt("tenant", &self.tenant);
        w.str("created_at", &self.created_at.to_rfc3339_nano());
        w.str("updated_at", &self.updated_at.to_rfc3339_nano());
        w.str_opt("created_by", &self.created_by);
        w.finish();
        out
    }
}

impl ActivePolicy {
    /// The empty slot of a tenant that never promoted anything.
    pub fn empty(tenant: &str) -> Self {
        Self {
            tenant: tenant.to_owned(),
            ..Self::default()
        }
    }

    pub fn references(&self, draft_id: &str) -> bool {
        self.current_draft_id == draft_id || self.previous_draft_id == draft_id
    }

    /// Makes `draft_id` current and remembers the old one. Re-promoting the current
    /// draft changes nothing (`None`), as in the reference.
    pub fn promote(&self, draft_id: &str, by: &str, at: Timestamp) -> Option<ActivePolicy> {
        (self.current_draft_id != draft_id).then(|| ActivePolicy {
            tenant: self.tenant.clone(),
            previous_draft_id: self.current_draft_id.clone(),
            current_draft_id: draft_id.to_owned(),
            promoted_at: Some(at),
            promoted_by: by.to_owned(),
        })
    }

    /// One step back: previous becomes current, and there is no previous any more.
    /// `None` when there is nothing to roll back to.
    pub fn rollback(&self, by: &str, at: Timestamp) -> Option<ActivePolicy> {
        (!self.previous_draft_id.is_empty()).then(|| ActivePolicy {
            tenant: self.tenant.clone(),
            current_draft_id: self.previous_draft_id.clone(),
            previous_draft_id: String::new(),
            promoted_at: Some(at),
            promoted_by: by.to_owned(),
        })
    }

    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(160);
        let mut w = ObjectWriter::new(&mut out);
        w.str_opt("tenant", &self.tenant)
            .str_opt("current_draft_id", &self.current_draft_id);
        w.str_opt("previous_draft_id", &self.previous_draft_id);
        if let Some(at) = self.promoted_at {
            w.str("promoted_at", &at.to_rfc3339_nano());
        }
        w.str_opt("promoted_by", &self.promoted_by);
        w.finish();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promote_then_rollback_is_one_step() {
        let t = Timestamp::from_unix_seconds(10);
        let a = ActivePolicy::empty("acme").promote("d1", "ops", t).unwrap();
        let b = a.promote("d2", "ops", t).unwrap();
        assert_eq!(
            (b.current_draft_id.as_str(), b.previous_draft_id.as_str()),
            ("d2", "d1")
        );
        assert_eq!(b.promote("d2", "x", t), None);
        let c = b.rollback("ops", t).unwrap();
        assert_eq!(
            (c.current_draft_id.as_str(), c.previous_draft_id.as_str()),
            ("d1", "")
        );
        assert_eq!(c.rollback("ops", t), None);
    }

    #[test]
    fn active_json_omits_empty_fields() {
        assert_eq!(
            ActivePolicy::empty("acme").to_json(),
            r#"{"tenant":"acme"}"#
        );
    }
}

/// What a Rego policy decided for one call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyDecision {
    pub allow: bool,
    pub reason: String,
    /// Ask a human; wins over `allow`.
    pub escalate: bool,
    /// Advisory: copied onto audit events and approval rows.
    pub requires_step_up: bool,
}

impl PolicyDecision {
    /// Reads `data.intentgate.policy.decision` with the reference's rules: `allow` must
    /// be a boolean, `reason` a string (else empty), `escalate` and `requires_step_up`
    /// booleans (else false); `None` means the decision was undefined.
    pub fn from_value(value: Option<&serde_json::Value>) -> Result<Self, String> {
        use serde_json::Value;
        let Some(value) = value else {
            return Err("policy: no decision returned (missing default rule?)".into());
        };
        let Value::Object(map) = value else {
            return Err(format!(
                "policy: decision is {}, want map[string]any",
                go_type(value)
            ));
        };
        let Some(Value::Bool(allow)) = map.get("allow") else {
            return Err("policy: decision missing \"allow\" boolean".into());
        };
        let flag = |key: &str| matches!(map.get(key), Some(Value::Bool(true)));
        Ok(Self {
            allow: *allow,
            reason: map
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            escalate: flag("escalate"),
            requires_step_up: flag("requires_step_up"),
        })
    }
}

/// The Go type name a JSON value decodes to, for error texts.
fn go_type(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "json.Number",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod decision_tests {
    use serde_json::json;

    use super::PolicyDecision;

    #[test]
    fn reads_the_reference_shape() {
        let d = PolicyDecision::from_value(Some(
            &json!({"allow": true, "reason": 5, "escalate": "yes", "requires_step_up": true}),
        ));
        let want = PolicyDecision {
            allow: true,
            reason: String::new(),
            escalate: false,
            requires_step_up: true,
        };
        assert_eq!(d, Ok(want));
    }

    #[test]
    fn rejects_undefined_non_objects_and_missing_allow() {
        assert_eq!(
            PolicyDecision::from_value(None).unwrap_err(),
            "policy: no decision returned (missing default rule?)"
        );
        assert_eq!(
            PolicyDecision::from_value(Some(&json!({"allow": "true"}))).unwrap_err(),
            "policy: decision missing \"allow\" boolean"
        );
        assert!(
            PolicyDecision::from_value(Some(&json!([1])))
                .unwrap_err()
                .starts_with("policy: decision is")
        );
    }
}
