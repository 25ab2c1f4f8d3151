//! What a configuration enforces, in one line for the startup log, and what makes it a
//! development setup, so a newcomer can tell from the log what is checked.

use super::{AuditDurability, Config, StoreConfig};

impl Config {
    /// `store=… upstream=… capability=… intent=… budget=… approvals=… admin_api=…
    /// audit=… oauth=…`. Never names a secret: the upstream is shown as its origin only.
    pub fn posture(&self) -> String {
        let store = match &self.store {
            StoreConfig::Memory { .. } => "memory",
            StoreConfig::Sled { .. } => "sled",
            StoreConfig::Postgres { .. } => "postgres",
        };
        let upstream = self
            .upstream_url
            .as_deref()
            .map_or_else(|| "stub".to_owned(), origin);
        let required = |on: bool| if on { "required" } else { "optional" };
        let admin = match (self.admin_token.is_some(), self.tenant_admins.0.len()) {
            (false, 0) => "off".to_owned(),
            (superadmin, tenants) => format!(
                "on({}{tenants} tenant admins)",
                if superadmin { "superadmin, " } else { "" }
            ),
        };
        let durability = match self.audit_durability {
            AuditDurability::Sync => "sync",
            AuditDurability::Async => "async",
        };
        let oauth = match &self.oauth {
            None => "off".to_owned(),
            Some(o) => format!(
                "on(issuers={} resource={})",
                o.rules.issuers.len(),
                o.rules.resource
            ),
        };
        format!(
            "store={store} upstream={upstream} capability={} intent={} budget={} \
             approvals={} admin_api={admin} audit={durability} oauth={oauth}",
            required(self.require_capability),
            required(self.require_intent),
            required(self.require_budget),
            if self.approvals_enabled { "on" } else { "off" },
        )
    }

    /// Why this is a development setup, or `None` when it is not: calls without a
    /// capability token are let through, no tool server is behind the gateway, or it
    /// listens on every interface with tokens optional.
    pub fn development_warning(&self) -> Option<String> {
        let mut why = Vec::new();
        if !self.require_capability {
            why.push("calls without a capability token are allowed (INTENTGATE_REQUIRE_CAPABILITY=false)".to_owned());
            if every_interface(&self.addr) {
                why.push(format!("listening on every interface ({})", self.addr));
            }
        }
        if self.upstream_url.is_none() {
            why.push(
                "no tool server: allowed calls get a stub answer (INTENTGATE_UPSTREAM_URL unset)"
                    .to_owned(),
            );
        }
        (!why.is_empty()).then(|| format!("development mode: {}", why.join("; ")))
    }
}

/// Scheme, host and port: a URL's path and query can carry credentials.
fn origin(url: &str) -> String {
    reqwest::Url::parse(url).map_or_else(
        |_| "(invalid URL)".to_owned(),
        |u| u.origin().ascii_serialization(),
    )
}

fn every_interface(addr: &str) -> bool {
    addr.starts_with(':') || addr.starts_with("0.0.0.0") || addr.starts_with("[::]")
}

#[cfg(test)]
mod tests {
    use super::super::tests::load;

    #[test]
    fn the_default_setup_says_it_is_for_development() {
        let c = load(&[]).unwrap();
        assert_eq!(
            c.posture(),
            "store=sled upstream=stub capability=optional intent=optional budget=optional \
             approvals=on admin_api=off audit=sync oauth=off"
        );
        let warning = c.development_warning().unwrap();
        for part in ["capability token", "every interface (:8080)", "stub answer"] {
            assert!(warning.contains(part), "{part}: {warning}");
        }
    }

    #[test]
    fn a_production_setup_is_stated_without_secrets() {
        let c = load(&[
            ("INTENTGATE_REQUIRE_CAPABILITY", "true"),
            (
                "INTENTGATE_UPSTREAM_URL",
                "https://user:pw@tools.internal:8443/mcp?key=k",
            ),
            ("INTENTGATE_ADMIN_TOKEN", "s3cret"),
            ("INTENTGATE_TENANT_ADMINS", "acme:tok-a"),
            ("INTENTGATE_AUDIT_DURABILITY", "async"),
            ("INTENTGATE_APPROVALS_BACKEND", "off"),
            ("INTENTGATE_POSTGRES_URL", "postgres://ig:pw@db/ig"),
            ("INTENTGATE_OAUTH_ISSUERS", "https://login.example"),
            ("INTENTGATE_OAUTH_RESOURCE", "https://gw.example/v1/mcp"),
        ])
        .unwrap();
        let line = c.posture();
        assert_eq!(
            line,
            "store=postgres upstream=https://tools.internal:8443 capability=required \
             intent=optional budget=optional approvals=off \
             admin_api=on(superadmin, 1 tenant admins) audit=async \
             oauth=on(issuers=1 resource=https://gw.example/v1/mcp)"
        );
        assert_eq!(c.development_warning(), None);
    }
}
