//! §14.4 Policy.

use crate::support::Backend;
use intentgate::domain::token::Caveat;
use serde_json::{Value, json};

use crate::support::{TestGateway, mint, policy_file};

fn verdict(r: &Value) -> (bool, String) {
    match r.get("error") {
        Some(e) => (false, e["data"].as_str().unwrap_or_default().to_owned()),
        None => (true, String::new()),
    }
}

pub async fn s42_to_s46_default_policy(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    for tool in [
        "read_invoice",
        "read_ledger",
        "read_anything_at_all",
        "record_in_ledger",
        "verify_vendor",
        "fetch_company_data",
        "web_search",
    ] {
        assert!(verdict(&gw.call(tool, json!({}), None).await).0, "{tool}");
    }
    let unknown = gw.call("send_carrier_pigeon", json!({}), None).await;
    assert_eq!(unknown["error"]["code"], -32012);
    assert_eq!(unknown["error"]["message"], "policy check failed");
    assert_eq!(verdict(&unknown).1, "no policy rule matched (default deny)");
    for tool in ["delete", "drop_table", "factory_reset", "purge_audit"] {
        assert_eq!(
            verdict(&gw.call(tool, json!({}), None).await).1,
            "destructive tool blocked by policy"
        );
    }
    assert!(
        verdict(
            &gw.call("transfer_funds", json!({"amount_eur": 1240}), None)
                .await
        )
        .0
    );
    assert!(
        verdict(
            &gw.call("transfer_funds", json!({"amount_eur": 10000}), None)
                .await
        )
        .0
    );
    let over = gw
        .call("transfer_funds", json!({"amount_eur": 10001}), None)
        .await;
    assert_eq!(verdict(&over).1, "transfer above 10000 EUR threshold");
}

pub async fn s47_requires_step_up_is_audited(backend: Backend) {
    let (_f, path) = policy_file(
        "package intentgate.policy\nimport rego.v1\ndecision := {\"allow\": true, \"reason\": \"observed\", \"requires_step_up\": true}\n",
    );
    let gw = TestGateway::start(backend, &[("INTENTGATE_POLICY_FILE", &path)]).await;
    assert!(verdict(&gw.call("anything", json!({}), None).await).0);
    assert!(gw.audit("").await[0].event.requires_step_up);
}

pub async fn s48_policy_sees_step_up_and_identity(backend: Backend) {
    let src = r#"package intentgate.policy
import rego.v1
default decision := {"allow": false, "reason": "step-up required", "requires_step_up": true}
decision := {"allow": true, "reason": "fresh step-up"} if {
	input.capability.step_up_at > 0
	input.agent_id == "agent-x"
	input.capability.tenant == "acme"
	input.args.n == 1
}
"#;
    let (_f, path) = policy_file(src);
    let gw = TestGateway::start(backend, &[("INTENTGATE_POLICY_FILE", &path)]).await;
    let plain = mint("agent-x", "acme", vec![]);
    let denied = gw.call("t", json!({"n": 1}), Some(&plain)).await;
    assert_eq!(verdict(&denied).1, "step-up required");
    assert!(gw.audit("acme").await[0].event.requires_step_up);
    let stepped = mint("agent-x", "acme", vec![Caveat::step_up(1_747_000_000)]);
    assert!(verdict(&gw.call("t", json!({"n": 1}), Some(&stepped)).await).0);
}

pub async fn s49_s51_undefined_and_empty_reasons(backend: Backend) {
    let (_f, path) = policy_file(
        "package intentgate.policy\nimport rego.v1\ndecision := {\"allow\": false} if input.tool == \"quiet\"\n",
    );
    let gw = TestGateway::start(backend, &[("INTENTGATE_POLICY_FILE", &path)]).await;
    let undefined = gw.call("other", json!({}), None).await;
    assert_eq!(
        verdict(&undefined).1,
        "policy: no decision returned (missing default rule?)"
    );
    let (_, text) = gw
        .post_raw(
            crate::support::tool_call("quiet", json!({})).to_string(),
            &[],
        )
        .await;
    assert!(
        text.contains(r#""message":"policy check failed","data":"""#),
        "{text}"
    );
    let events = gw.audit("").await;
    assert_eq!(events[1].event.reason, "");
    assert!(!events[1].event.canonical_json().contains("\"reason\""));
}

pub async fn s50_per_tenant_policies_dispatch_and_fall_back(backend: Backend) {
    let gw = TestGateway::start(backend, &[]).await;
    gw.gateway.policy.install("acme", "package intentgate.policy\nimport rego.v1\ndefault decision := {\"allow\": false, \"reason\": \"acme deny-all\"}\n").unwrap();
    let acme = mint("agent-x", "acme", vec![]);
    let globex = mint("agent-x", "globex", vec![]);
    assert_eq!(
        verdict(&gw.call("read_invoice", json!({}), Some(&acme)).await).1,
        "acme deny-all"
    );
    assert!(verdict(&gw.call("read_invoice", json!({}), Some(&globex)).await).0);
    assert!(verdict(&gw.call("read_invoice", json!({}), None).await).0);
    gw.gateway.policy.remove("acme");
    assert!(verdict(&gw.call("read_invoice", json!({}), Some(&acme)).await).0);
}
